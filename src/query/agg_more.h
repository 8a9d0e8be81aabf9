/*
 * query/agg_more.h - internal: the aggregates whose state is more than a
 * few numbers per group (query/agg.c keeps one td_aggx per such aggregate,
 * indexed by the same group ids):
 *   count/sum/avg(DISTINCT x)   exact: one (group, value) hash set
 *   approx_count_distinct(x)    HyperLogLog, 2^12 one-byte registers per
 *                               group (allocated at its first value);
 *                               standard error 1.04 / 64 = 1.6 %
 *   median, quantile_cont/disc  every non-null value kept per group (numbers:
 *                               one array of each group); a group's result
 *                               is computed (selection of the one or two
 *                               values needed; sort for strings and
 *                               decimals) when it changed since last asked
 *   string_agg(x, sep)          the concatenation, kept per group
 *   mode(x), entropy(x)         the distinct set's entries with a count of
 *                               rows each (entries in first-seen order:
 *                               mode's tie rule, entropy's summation order)
 * Nulls are ignored by all (DuckDB): counts are 0 and the others NULL for a
 * group without values.
 */
#ifndef TD_QUERY_AGG_MORE_H
#define TD_QUERY_AGG_MORE_H

#include <stdatomic.h>

#include "query/expr.h"
#include "query/lex.h"

/* The constant parameter of an aggregate: the quantile (median: 0.5), the
 * separator of string_agg (NULL: ","). */
typedef struct td_agg_param {
  double q;
  const char *sep; /* borrowed by specs; td_agg_create copies it */
  size_t sep_len;
} td_agg_param;

typedef struct td_aggx td_aggx;

/* Whether `kind` is served by a td_aggx. */
bool td__aggx_kind(td_agg_kind kind);

/* A state for aggregate `kind` over input type `type` (groups: none yet). */
int td__aggx_new(td_agg_kind kind, td_type_id type, const td_agg_param *p, td_aggx **out, td_error *err);
void td__aggx_free(td_aggx *x); /* NULL allowed */
/* Sets the parameter (copied). */
int td__aggx_set_param(td_aggx *x, const td_agg_param *p, td_error *err);
/* The scale of a decimal128 input (avg(DISTINCT) divides by 10^scale). */
void td__aggx_set_scale(td_aggx *x, int scale);
/* Room for group ids < cap (new groups empty). */
int td__aggx_grow(td_aggx *x, int64_t cap, td_error *err);
/* Folds value v (of the input type; nulls ignored) into group g; h is the
 * value's hash (query/agg.c's key hash: equal values hash equal; for
 * integers, bools and doubles a bijection of the value, which the distinct
 * set relies on). */
int td__aggx_add(td_aggx *x, uint32_t g, const td_value *v, uint64_t h, td_error *err);
struct td_vec;
/* Whether x is a quantile of integers, bools or doubles, whose values
 * td__aggx_add_vec takes a column at a time. */
bool td__aggx_by_vec(const td_aggx *x);
/* td__aggx_add of rows j0 .. j1-1 of `in` (of x's input phys; not a
 * constant), row j being sel[j] (sel NULL: j), into groups G[j - j0]. */
int td__aggx_add_vec(td_aggx *x, const uint32_t *G, const struct td_vec *in, const uint32_t *sel, int64_t j0,
                     int64_t j1, td_error *err);
/* Whether x is a mode or entropy (a value -> count map per group). */
bool td__aggx_counts(const td_aggx *x);
/* td__aggx_add of m (> 0) rows of value v at once (a mode or entropy). */
int td__aggx_add_count(td_aggx *x, uint32_t g, const td_value *v, uint64_t h, int64_t m, td_error *err);
/* Whether x is a mode or entropy of integers, bools or doubles, whose
 * values td__aggx_count_vec takes a column at a time. */
bool td__aggx_counts_fixed(const td_aggx *x);
/* td__aggx_add of rows j0 .. j1-1 of `in` (of x's input phys; not a
 * constant), row j being sel[j] (sel NULL: j), into groups G[j - j0],
 * H[j - j0] being each row's key hash. */
int td__aggx_count_vec(td_aggx *x, const uint32_t *G, const uint64_t *H, const struct td_vec *in, const uint32_t *sel,
                       int64_t j0, int64_t j1, td_error *err);
/* Whether x is an approx_count_distinct, whose values td__aggx_add_hashes
 * takes by their hashes alone, a block at a time. */
bool td__aggx_sketch(const td_aggx *x);
/* td__aggx_add of n values given by their hashes H[i] into groups G[i],
 * skipping value i when valid (a byte per row) is 0 at row sel[j0 + i]
 * (sel NULL: j0 + i). */
int td__aggx_add_hashes(td_aggx *x, const uint32_t *G, const uint64_t *H, int64_t n, const uint8_t *valid,
                        const uint32_t *sel, int64_t j0, td_error *err);
/* Whether x is a count(DISTINCT) of integers, bools or doubles, whose
 * values are their hashes: td__aggx_add_hash serves it. */
bool td__aggx_by_hash(const td_aggx *x);
/* td__aggx_add of a non-null value given by its hash h alone
 * (td__aggx_by_hash(x) must hold). */
int td__aggx_add_hash(td_aggx *x, uint32_t g, uint64_t h, td_error *err);
/* A hint that td__aggx_add(x, g, v, h) follows: a distinct set's slot for
 * (g, h) is prefetched (callers add a block of values after hinting each). */
void td__aggx_prefetch(const td_aggx *x, uint32_t g, uint64_t h);
/* Bulk mode of a count(DISTINCT) of integers, bools or doubles (else
 * nothing): added values wait, unchecked, until td__aggx_settle, which must
 * come before any result is read. */
void td__aggx_bulk(td_aggx *x, bool on);
/* Folds the values waiting in x (bulk mode) into its set. */
int td__aggx_settle(td_aggx *x, td_error *err);
/* Waiting values of one state that make td__aggx_add settle it (8M; tests
 * lower it, never while a query runs). */
extern int64_t td__aggx_pend_max;
/* Pairs held and waiting of a compact state (td__aggx_by_hash; else 0). */
int64_t td__aggx_size(const td_aggx *x);
/* Splits a compact state's one table in the parts td__aggx_merge_parts
 * works on (small states have one: few allocations). */
int td__aggx_split(td_aggx *x, td_error *err);
/* One worker of the parallel merge of compact states ys[0..n)
 * (td__aggx_by_hash) into x, each group g of ys[w] into group maps[w][g]
 * (UINT32_MAX: none), x's own waiting values included: the workers take the
 * parts of the sets from the shared counter *next (each part is merged by
 * one worker alone, whichever: the result is the same), each counting the
 * new pairs of each group in its own cnt (x's group capacity entries,
 * zeroed); x and every ys[w] split (td__aggx_split).  Then
 * td__aggx_merge_done adds every worker's cnt. */
int td__aggx_merge_parts(td_aggx *x, const td_aggx *const *ys, const uint32_t *const *maps, int n,
                         _Atomic int *next, int64_t *cnt, td_error *err);
void td__aggx_merge_done(td_aggx *x, const int64_t *cnt);
/* Folds every group g < n of y with map[g] != UINT32_MAX into group map[g]
 * of x (y's rows after x's; x has room for those groups), in one pass over
 * y's values. */
int td__aggx_merge_map(td_aggx *x, const td_aggx *y, const uint32_t *map, int64_t n, td_error *err);
/* Group g's result, of type td_agg_result_type(kind, type); strings point
 * into x and stay valid until the next call on x.  TD_ERANGE when an integer
 * sum of distinct values leaves int64. */
int td__aggx_value(const td_aggx *x, uint32_t g, td_value *out, td_error *err);

/* Binds the parameter of aggregate call e (unbound tree: its second
 * argument, which must be a constant): quantile in [0, 1], separator
 * string.  *p's separator is td_malloc'd (the caller frees it).  TD_ETYPE
 * naming the offending value. */
int td__agg_bind_param(const td_expr *e, td_agg_kind kind, td_agg_param *p, td_error *err);
/* How many arguments aggregate `kind` named `name` takes: [*lo, *hi]. */
void td__agg_arity(td_agg_kind kind, const char *name, int *lo, int *hi);

/* query/agg_sql.c.  At "name(DISTINCT": 1 when the aggregate takes
 * DISTINCT (count, sum, avg are renamed count_distinct ...), 0 when not, -1
 * on allocation failure (err set). */
int td__agg_distinct_name(td_expr *e, td_error *err);
/* At FILTER after aggregate call e: parses "FILTER (WHERE c)" and rewrites
 * e's argument into CASE WHEN c THEN x END. */
int td__parse_agg_filter(td_parser *p, td_expr *e);
/* After the arguments of call e failed to parse with rc: at a '[' (a list,
 * such as quantile_cont(x, [0.25, 0.5])) the error says lists are not
 * supported; else rc as it is. */
int td__agg_list_error(td_parser *p, const td_expr *e, int rc);
/* Binds the input (first argument) of aggregate call e against def;
 * string_agg of a non-string input binds CAST(x AS VARCHAR), a pair
 * statistic's number CAST(x AS DOUBLE). */
int td__agg_bind_input(const td_expr *e, td_agg_kind kind, const td_schema *def, td_expr **out, td_error *err);
/* The same for the second input of a two-input aggregate (td_agg_two_inputs). */
int td__agg_bind_input2(const td_expr *e, td_agg_kind kind, const td_schema *def, td_expr **out, td_error *err);

#endif
