/*
 * tabledata/join.h - joins of two tables and Deephaven's last_by / first_by.
 *
 * Key lists: each entry is "name" (the same column on both sides) or
 * "left_name=right_name" (spaces allowed around the names).  Key columns
 * must have the same type on both sides, or both be integers (int8 ..
 * int64, uint8 .. uint32: compared as int64), or both be floats.  A null in
 * any key column never matches (SQL's rule); -0.0 equals 0.0 and NaN equals
 * NaN.
 *
 * Result columns: every column of `left`, then (except for semi and anti
 * joins) every column of `right` but its key columns.  A right column whose
 * name is already taken gets the suffix "_right".  Right columns are null
 * where a left row has no match (left, full, natural and as-of joins).
 * Row order: left rows in order, each with its matches in right row order;
 * a full join then lists the right rows no left row matched.  On refreshing
 * inputs "order" is arrival order (rows appended to an early location come
 * after rows that arrived before them), as for a live filter.
 *
 * Live tables.  The result is refreshing when `left` is.  A refreshing
 * `right` must belong to the same service as `left` (its cycles are the same
 * update cycles); a static `right` is read once.  When both sides change in
 * one cycle, the result applies both changes at once, after both sides
 * (listeners are told once; no reader sees one side's change without the
 * other's).  In each cycle:
 *   - rows appended to `left` are joined against the current right side and
 *     appended to the result (listeners hear the positions appended); for a
 *     full join, any change recomputes the result;
 *   - when `right` changes, its new rows are added to the operator's index
 *     (cost: the new rows), then the result is recomputed from the left rows
 *     the operator keeps in memory (cost: left rows + result rows; no left
 *     data is read again); listeners hear `replaced`.  As-of joins (aj, raj)
 *     instead re-evaluate only the left rows the new right rows can affect
 *     and list those whose match changed as changed rows (see td_table_aj);
 *     right rows changed or replaced recompute them too.
 * Both tables' rows are kept in memory by the operator (contiguous copies of
 * every column; as-of joins copy only the left key and on columns), so a
 * result costs about the size of both inputs plus its own rows.  See docs/DESIGN.md, "Derived tables: query operators".
 *
 * Errors common to every function (besides those listed in query.h for
 * every operation: TD_EFAILED, TD_ENOMEM and the backend's read errors):
 * TD_EINVAL (NULL tables, keys or out; n_keys outside 0..64 (1..64 for the
 * hash joins); a malformed key entry; a refreshing right side of another
 * service), TD_ETYPE (an unknown key column, named in the message, or key
 * columns whose types differ: "join key k is int64 on the left but utf8 on
 * the right"; two result columns with one name).  *out receives one
 * reference (td_table_release), NULL on failure; the result holds a
 * reference to both inputs.
 */
#ifndef TABLEDATA_JOIN_H
#define TABLEDATA_JOIN_H

#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/error.h"
#include "tabledata/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum td_join_type {
  TD_JOIN_INNER,   /* one row per matching (left, right) pair */
  TD_JOIN_LEFT,    /* inner, plus each unmatched left row with null right columns */
  TD_JOIN_FULL,    /* left, plus each unmatched right row with null left columns
                      (its key columns take the right row's key values) */
  TD_JOIN_SEMI,    /* the left rows that have a match (left columns only) */
  TD_JOIN_ANTI,    /* the left rows that have none (left columns only) */
  TD_JOIN_NATURAL  /* Deephaven's natural_join: a left join where the right
                      side has at most one row per key */
} td_join_type;

/* Hash join of `left` and `right` on `keys` (n_keys >= 1).  TD_JOIN_FULL
 * needs identical key types on both sides.  TD_JOIN_NATURAL fails with
 * TD_EINVAL and a message naming the key ("natural_join: the right table
 * has more than one row for key (AAPL)") when the right side has two rows
 * with one key; on a refreshing right side that gains such a row the
 * result table fails in that cycle with the same message.  Errors: see
 * above. */
TD_API int td_table_join(td_table *left, td_table *right, td_join_type type, const char *const *keys,
                         int64_t n_keys, td_table **out, td_error *err);

/* td_table_join(left, right, TD_JOIN_NATURAL, keys, n_keys, out, err). */
TD_API int td_table_natural_join(td_table *left, td_table *right, const char *const *keys, int64_t n_keys,
                                 td_table **out, td_error *err);

/* As-of join (Deephaven's aj): for each left row, the right row with equal
 * `keys` (n_keys may be 0) and the greatest `on` value <= the left row's
 * (among right rows with that value, the last in right row order); every
 * left row appears once, with null right columns when there is no such row
 * (no earlier right row, or a null `on` value).  `on` is "ts" or
 * "left_ts>=right_ts" (or "left_ts=right_ts"; "left_ts>right_ts": the
 * greatest value strictly below): a column of an integer, date, time or
 * timestamp type, the same type on both sides.  Right rows with a
 * null `on` value are ignored.  Live: as in td_table_join, appended left
 * rows are looked up incrementally; appended right rows re-evaluate, per
 * key, the left rows whose `on` value lies from the least new right value
 * up to the first older right value above the greatest new one (raj: from
 * the last older right value below the least new one up to the greatest
 * new one), and listeners hear the rows whose match changed as `changed`
 * (right rows appended in `on` order touch only the left rows since the
 * key's previous last right row).
 * Errors: see above; TD_ETYPE also for an `on` column of another type. */
TD_API int td_table_aj(td_table *left, td_table *right, const char *const *keys, int64_t n_keys,
                       const char *on, td_table **out, td_error *err);

/* Reverse as-of join (Deephaven's raj): the right row with the least `on`
 * value >= the left row's (among equal values, the first in right row
 * order).  `on` is "ts" or "left_ts<=right_ts" ("left_ts<right_ts": the
 * least value strictly above).  Otherwise as td_table_aj; an `on` with the
 * other direction (">" for raj, "<" for aj) is TD_EINVAL. */
TD_API int td_table_raj(td_table *left, td_table *right, const char *const *keys, int64_t n_keys,
                        const char *on, td_table **out, td_error *err);

/* Deephaven's last_by: one row per distinct combination of the `keys`
 * columns (n_keys >= 0; 0: one row for the whole table), holding the
 * values of the group's last row (in arrival order on a refreshing source); columns: the keys, then
 * every other column.  Nulls in keys form their own group.  Built on
 * td_table_agg_by (last(x) for each column), so it is incremental on a
 * refreshing source: a cycle folds only the appended rows; a key's new row
 * replaces its row (listeners hear the positions changed) and new keys are
 * appended.  Errors: TD_EINVAL (NULL source, keys with n_keys > 0, or out;
 * n_keys outside 0..64; a table without columns), TD_ETYPE (an unknown
 * key column). */
TD_API int td_table_last_by(td_table *source, const char *const *keys, int64_t n_keys, td_table **out,
                            td_error *err);
/* Deephaven's first_by: as td_table_last_by, with each group's first row
 * (a cycle then changes no existing row, only appends new keys). */
TD_API int td_table_first_by(td_table *source, const char *const *keys, int64_t n_keys, td_table **out,
                             td_error *err);

#ifdef __cplusplus
}
#endif

#endif
