/*
 * query/agg.h - incremental hash aggregation (GROUP BY) over batches.
 *
 * An aggregation is created for some key columns and some aggregates, then
 * fed any number of batches (td_batch from query/expr.h, with an optional
 * selection vector; keys and inputs may be constant columns).  At any time
 * the current result can be produced: one row per group, groups in the order
 * they were first seen, columns = keys then aggregates.  It also tracks which
 * groups changed since the caller last asked (for live queries).
 *
 * Semantics:
 *   - Nulls in key columns form their own group; strings group by value;
 *     float keys group by value (all NaNs are one group, -0.0 == 0.0).
 *   - count(*) counts rows; count(x) non-null values.
 *   - sum: integers -> int64, floats -> float64; NULL when the group has no
 *     non-null value.  An integer sum that leaves int64 fails td_agg_update
 *     with TD_ERANGE (never wraps).  avg: float64, NULL likewise.
 *   - min/max: same type as the input (utf8 bytewise), nulls ignored; NaN
 *     is greater than every other float, as in ORDER BY (max is NaN when the
 *     group has one, min is NaN only when every value is NaN).
 *   - first/last: the value (null included) of the first/last row of the
 *     group in input order (batch order, then selection order).
 *   - any_value: the first non-null value in input order.
 *   - arg_max/arg_min(arg, val): the arg of the row with
 *     the greatest/least non-null val (ordered as min/max) among the rows
 *     whose arg is not null (arg_max_null/arg_min_null: all rows, the arg
 *     may be null), the first such row in input order on ties; NULL
 *     without such rows (DuckDB's semantics).
 *   - product: float64 product of the non-null values; bit_and/bit_or/
 *     bit_xor: of integers, the input's type; NULL without values.
 *   - corr, covar_pop/samp, regr_slope/intercept/r2/sxx/syy/sxy (y, x):
 *     float64 inputs (td_agg_set_arg_value gives x), pairs with a null
 *     skipped, DuckDB's updates, combine and results; skewness, kurtosis:
 *     a float64 input, DuckDB's power sums and formulas.
 *   - No keys: one global group that exists even before any row (count 0,
 *     other aggregates NULL), like SQL.
 * After a failed update (TD_ENOMEM) the state is unspecified: free it.
 */
#ifndef TD_QUERY_AGG_H
#define TD_QUERY_AGG_H

#include "query/agg_more.h"
#include "query/expr.h"

typedef struct td_agg_key {
  int64_t column;   /* index into td_batch.cols / consts */
  td_type_id type;  /* the column's type */
} td_agg_key;

typedef struct td_agg_spec {
  td_agg_kind kind;
  int64_t column;   /* input column index; ignored for TD_AGG_COUNT_STAR */
  td_type_id type;  /* input type; ignored for TD_AGG_COUNT_STAR (arg_max /
                       arg_min: the arg's; td_agg_set_arg_value gives the
                       compared value's) */
} td_agg_spec;

typedef struct td_agg td_agg;

/* Creates an aggregation.  TD_ETYPE if an aggregate does not accept its
 * input type (td_agg_result_type() is NONE), TD_EINVAL for bad arguments. */
/* The scale of aggregate k's decimal128 input (0 by default): avg divides
 * the exact sum by 10^scale once, at the end. */
void td_agg_set_decimal_scale(td_agg *a, int64_t k, int scale);

/* The compared value of arg_max / arg_min aggregate k: batch column
 * `column` of type `type` (any type but NONE).  Required for those kinds
 * (an update without it fails with TD_EINVAL); set it before the first
 * update.  Errors: TD_EINVAL (k is not such an aggregate), TD_ENOMEM. */
int td_agg_set_arg_value(td_agg *a, int64_t k, int64_t column, td_type_id type, td_error *err);

/* The parameter of aggregate k (quantile, string_agg separator, see
 * query/agg_more.h; copied).  Without it quantiles are medians and the
 * separator is ",".  Set it before the first update.  TD_ENOMEM. */
int td_agg_set_param(td_agg *a, int64_t k, const td_agg_param *p, td_error *err);

int td_agg_create(const td_agg_key *keys, int64_t n_keys, const td_agg_spec *aggs,
                  int64_t n_aggs, td_agg **out, td_error *err);
void td_agg_free(td_agg *a); /* NULL allowed */

/* Adds the rows of `b` (all rows when sel is NULL, else the n_sel rows listed
 * in sel, increasing or not) to the aggregation. */
int td_agg_update(td_agg *a, const td_batch *b, const uint32_t *sel, int64_t n_sel,
                  td_error *err);

/* Folds the state `b` into `a` (same keys and aggregates), as if the rows
 * fed to `b` had been fed to `a` after its own: b's new groups are appended
 * in b's order, first() keeps a's value, last() takes b's, counts and sums
 * add (an integer sum that leaves int64 is TD_ERANGE, as in an update).
 * Every group b has is marked changed in `a`.  Parallel aggregation builds
 * one state per contiguous range of rows and merges them in range order, so
 * its result equals one state fed everything (float sums may differ in the
 * last bits: the additions are grouped differently).  `b` is unchanged. */
int td_agg_merge(td_agg *a, const td_agg *b, td_error *err);

/* td_agg_merge of bs[0], ..., bs[n-1] in that order, with `threads`
 * workers: the groups of a state of at least 64k groups that `a` already
 * has are merged by all workers at once (each group of `a` by one), the
 * count(DISTINCT) sets of integers, bools and doubles part by part
 * (query/agg_more.h, td__aggx_merge_parts); the result, the changed groups
 * and the error (the first in group order) are td_agg_merge's. */
int td_agg_merge_all(td_agg *a, td_agg *const *bs, int n, int threads, td_error *err);

/* Tests: td_agg_merge_all merges states of at least min_groups groups on
 * its workers, in chunks of `chunk` groups (0: the defaults, 64k and 8k).
 * Set it before any aggregation runs. */
void td__agg_merge_sizes(int64_t min_groups, int64_t chunk);

/* Tests: batches aggregated so far (by any state) whose keys mixed
 * constants (partition columns) and data columns (the partition-key path). */
int64_t td__agg_part_batches(void);

/* Bulk mode: count(DISTINCT) of integers, bools and doubles only collects
 * its (group, value) pairs, which td_agg_settle (or td_agg_merge_all, for
 * the states merged) folds into the sets part by part.  Nothing may read
 * a result between td_agg_set_bulk(a, true) and td_agg_settle(a), which
 * also ends bulk mode. */
void td_agg_set_bulk(td_agg *a, bool on);
int td_agg_settle(td_agg *a, td_error *err);

/* Retraction (rows leaving the input: a removed location).  `r` is a state
 * of the same shape fed exactly the rows that leave; `rows_k` is a
 * count(*) aggregate of both, and companion[k], for each sum aggregate k, a
 * count(x) of the same input (-1 for other kinds): sums keep only a
 * "has a value" flag, so the companion says when no value is left.
 * Counts, sums and averages subtract r's; a sum left with no value is
 * null; a group left with no row has every aggregate cleared (it stays, with
 * count(*) 0: td_agg_drop_empty removes it).  A min/max the removed rows
 * equalled, a first/last whose value equals the removed rows' own first/
 * last, and a float sum or average that is not finite cannot be known
 * without the remaining rows: *redo lists those groups (increasing, caller
 * frees with td_free, NULL when *n_redo == 0), to be set from a state over
 * the remaining rows with td_agg_reset_groups.  Every group r touches is
 * marked changed.  Errors: TD_EINVAL (shapes differ, rows_k is not a
 * count(*), r has a group `a` lacks or with more rows), TD_ERANGE (an
 * integer sum leaves int64), TD_ENOMEM; the state is then unspecified. */
int td_agg_retract(td_agg *a, const td_agg *r, int64_t rows_k, const int64_t *companion, uint32_t **redo,
                   int64_t *n_redo, td_error *err);

/* Sets every aggregate of the listed groups of `a` to the values of the
 * group of the same key in `full` (cleared when `full` has none), marking
 * them changed.  `full` is looked up, so groups a merge made without their
 * index entries are indexed first.  Errors: TD_EINVAL (shapes differ),
 * TD_ENOMEM. */
int td_agg_reset_groups(td_agg *a, td_agg *full, const uint32_t *groups, int64_t n, td_error *err);

/* Replaces *a by a state without its groups whose count(*) aggregate rows_k
 * is 0 (the others keep their order; the state has no keys: unchanged),
 * handing the old ids of the dropped groups in *dropped (increasing, caller
 * frees with td_free; NULL when none).  On failure *a is unchanged.
 * Errors: TD_ENOMEM. */
int td_agg_drop_empty(td_agg **a, int64_t rows_k, int64_t **dropped, int64_t *n_dropped, td_error *err);

/* After td_agg_update failed with TD_ERANGE: the index of the aggregate
 * whose integer sum overflowed, else -1. */
int64_t td_agg_overflowed(const td_agg *a);

/* Number of groups so far. */
int64_t td_agg_group_count(const td_agg *a);
/* Type of output column i (keys first, then aggregates). */
td_type_id td_agg_output_type(const td_agg *a, int64_t i);

/* Writes the current result for all groups into out[0 .. n_keys+n_aggs-1],
 * which this function initializes (the caller resets them, also on failure). */
int td_agg_result(const td_agg *a, td_array *out, td_error *err);
/* Same for the listed groups only (group ids < td_agg_group_count). */
int td_agg_result_groups(const td_agg *a, const uint32_t *groups, int64_t n, td_array *out,
                         td_error *err);

/* td_agg_result for a state about to be freed: an output column that is
 * the state's own 8-byte array (int64 / timestamp / float64 keys, counts,
 * int64 and float64 sums) is moved out without a copy into moved[c] (a
 * live ArrowArray, its nulls where td_agg_result has them; out[c] then
 * only initialized with the column's type); the others are built in out[c]
 * as td_agg_result builds them (moved[c] zeroed).  `out` and `moved` hold
 * n_keys + n_aggs entries; the caller resets every out[c] and releases
 * every live moved[c], also on failure.  Afterwards the state only gives
 * its counts (td_agg_group_count, td_agg_take_changed) and is freed:
 * updates, merges and results fail with TD_EINVAL.  Errors: TD_ENOMEM,
 * TD_EINVAL (moved already). */
int td_agg_result_move(td_agg *a, td_array *out, struct ArrowArray *moved, td_error *err);

/* Hands over the ids of the groups created or updated since the previous
 * call (increasing order) and resets the set.  *groups is allocated with
 * td_malloc (NULL when *n == 0); the caller frees it with td_free.  With
 * `groups` NULL only their number is given (no list is made). */
int td_agg_take_changed(td_agg *a, uint32_t **groups, int64_t *n, td_error *err);

#endif
