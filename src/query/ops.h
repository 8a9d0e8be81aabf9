/*
 * query/ops.h - the table operators behind tabledata/query.h, as derived
 * tables (table/derived.c), plus the chunk transform shared with lazy query
 * streams.
 */
#ifndef TD_QUERY_OPS_H
#define TD_QUERY_OPS_H

#include "query/agg.h"
#include "query/expr.h"
#include "table/table.h"

/* A filter and/or projection over one source chunk.  `filter` (bound, may be
 * NULL) selects rows; `items` (bound, n_items; NULL: every source column
 * passes through) compute the output columns. */
typedef struct td_select_spec {
  td_expr *filter;
  td_expr **items;
  int64_t n_items;
  int64_t n_fields;   /* source columns */
  int64_t *cols;      /* source columns the scan must read */
  int64_t n_cols;
  /* Without a filter, and items that are plain columns only: dictionary
   * codes pass through to the result chunks (shared with the pages), and
   * td_scan decodes them for readers that do not ask for codes.  The SQL
   * planner's narrowing views of join sides (query/sql_from.c). */
  bool keep_codes;
  /* > 0: only the first `head` result rows are needed (a LIMIT without
   * ORDER BY above): over a static input the scan stops once the units
   * before it hold that many (the result may hold more; a slice cuts it). */
  int64_t head;
} td_select_spec;

/* td_table_view; with keep_codes, a view of plain columns hands on their
 * dictionary codes (td_select_spec.keep_codes) instead of decoding them. */
int td__table_view(td_table *src, const char *const *columns, int64_t n, bool keep_codes, td_table **out,
                   td_error *err);

/* Whether `owner` keeps the dictionary of the code view v alive (a reader's
 * td_dict_export dictionary): only then may a result chunk share v. */
bool td__dict_kept(const td_colview *v, const td_shared_array *owner);

/* Fills spec->cols from the filter and items (all columns when items is NULL). */
int td_select_spec_columns(td_select_spec *spec, td_error *err);
void td_select_spec_reset(td_select_spec *spec); /* frees exprs and cols */

/* Scratch reused across chunks. */
typedef struct td_select_scratch {
  td_colview *cols;
  td_value *consts;
  uint32_t *sel;
  int64_t sel_cap;
} td_select_scratch;
int td_select_scratch_init(td_select_scratch *s, int64_t n_fields, td_error *err);
void td_select_scratch_reset(td_select_scratch *s);

/* Fills a td_batch from a scanned chunk: source column c is s->cols[c], or
 * the constant s->consts[c]. */
void td_batch_of_chunk(td_select_scratch *s, const td_scan *sc, const td_chunk *ch, td_batch *b);

/* Whether e calls random(), whose every row differs, so it is never one
 * value a batch or a location (now() is one value a batch, as DuckDB's is one
 * a query). */
bool td__expr_per_row(const td_expr *e);

/* Whether bound `e` calls a function whose value may differ between calls
 * (random(), now()). */
bool td__expr_volatile(const td_expr *e);

/* Whether every column `e` references is a constant of the batch. */
bool td_expr_all_const(const td_expr *e, const td_batch *b);

/* Late materialization: makes the scan's columns that the filter does not
 * read lazy (td_select_chunk fetches them only for chunks with rows that
 * pass).  No effect without a filter. */
int td_select_defer(const td_select_spec *spec, td_scan *sc, td_error *err);
/* Turns one scanned chunk (scan over spec->cols) into an output chunk, or
 * *out = NULL when the filter keeps no row.  With lazy columns whose kept
 * rows lie within half the chunk, *ch is narrowed to those rows
 * (td_scan_load_rows): its pos only moves forward within the chunk. */
int td_select_chunk(const td_select_spec *spec, td_select_scratch *s, td_scan *sc, td_chunk *ch,
                    td_dchunk **out, td_error *err);

/* A growable list of derived chunks, each held (one reference). */
typedef struct td_chunk_list {
  td_dchunk **v;
  int64_t n, cap;
} td_chunk_list;
/* Appends c (taken: released on failure).  Errors: TD_ENOMEM. */
int td_chunk_list_push(td_chunk_list *l, td_dchunk *c, td_error *err);
/* Releases the chunks (NULL entries allowed) and the list; leaves it empty. */
void td_chunk_list_reset(td_chunk_list *l);

/* Builders of derived tables (they take the spec / expressions). */
int td_op_select(td_table *source, td_select_spec *spec, const td_schema *def, td_table **out,
                 td_error *err);
int td_op_slice(td_table *source, int64_t n, bool tail, td_table **out, td_error *err);
/* Rows [offset, offset + n) of the source (n < 0: to the end): LIMIT n
 * OFFSET m.  Recomputed whenever the source changes, as td_op_slice. */
int td_op_slice_range(td_table *source, int64_t offset, int64_t n, td_table **out, td_error *err);
int td_op_sort(td_table *source, const int64_t *cols, const bool *desc, int64_t n, td_table **out,
               td_error *err);
/* td_op_sort, filled when first read over a static source
 * (td_derived_new_lazy): td_table_sort's, so that a head of it can be a
 * top-N of its source instead (td_op_unsorted_sort). */
int td_op_sort_lazy(td_table *source, const int64_t *cols, const bool *desc, int64_t n, td_table **out,
                    td_error *err);
/* Whether t is a whole-table sort (td_op_sort_lazy) not computed yet; its
 * keys then (valid while t lives). */
bool td_op_unsorted_sort(td_table *t, const int64_t **cols, const bool **desc, int64_t *n);

typedef struct td_agg_plan {
  td_expr *filter;     /* bound, may be NULL */
  td_expr **keys;      /* bound */
  char **key_names;
  int64_t n_keys;
  td_agg_kind *kinds;
  td_expr **inputs;    /* bound; NULL for count(*) */
  td_expr **inputs2;   /* bound: arg_max/arg_min's compared value, else NULL */
  char **agg_names;
  int64_t n_aggs;
  td_agg_param *params; /* per aggregate (query/agg_more.h); separators owned */
  /* The result's group order and the order in which rows reach the
   * aggregates do not matter (plan.c's agg_unordered: a one-shot query
   * sorted by every key, order-insensitive aggregates): parallel workers
   * may fold any units into the states they hold. */
  bool unordered;
} td_agg_plan;
/* Takes the plan's contents (leaves it empty) even on failure. */
int td_op_agg(td_table *source, td_agg_plan *plan, td_table **out, td_error *err);
/* Tests: how many times aggregation t scanned its source to recompute the
 * groups a removal left unknown, and (*fallbacks) recomputed everything
 * because the removed rows could not be read back (-1: not an aggregation). */
int64_t td__agg_retract_stats(const td_table *t, int64_t *fallbacks);
void td_agg_plan_reset(td_agg_plan *p);

/* ORDER BY ... LIMIT k: the first `limit` rows of the sort (the same rows,
 * in the same order, as td_op_sort then td_op_slice) without sorting the
 * whole source: each worker keeps its best rows in a bounded buffer, ties
 * broken by source position, and the buffers are merged. */
int td_op_topn(td_table *source, const int64_t *cols, const bool *desc, int64_t n, int64_t limit,
               td_table **out, td_error *err);
/* The same top-N over the projection `spec` of `source` (what td_op_select
 * with `spec` and `def` would give; cols index def's columns), never
 * materializing the projection: each scanned chunk is projected and fed to
 * the top-N buffers at once, so memory is bounded by the limit and the
 * chunks in flight.  Takes the spec, also on failure.  TD_EINVAL (limit < 0,
 * n outside 1..64), TD_ENOMEM. */
int td_op_select_topn(td_table *source, td_select_spec *spec, const td_schema *def, const int64_t *cols,
                      const bool *desc, int64_t n, int64_t limit, td_table **out, td_error *err);

/* A view of a built (not exported) array; valid until it is appended to. */
td_colview td_builder_view(const td_array *a);
/* Evaluates e, whose columns are all constants of b (td_expr_all_const), as
 * one row: into a (initialized here; the caller resets it) and *out, a value
 * of a's row (valid while a is).  Unlike td_expr_eval_row it writes nothing
 * into the tree (no node scratch), so workers may evaluate one tree at once. */
int td__expr_eval_const(const td_expr *e, const td_batch *b, td_array *a, td_value *out, td_error *err);

/* The column type of a bound expression as a field (name copied).  A bare
 * column of `src` (the schema e was bound against; NULL: none) keeps its
 * declared type: inside expressions large_utf8/large_binary are utf8/binary
 * (their pages have 32-bit offsets), but a column passed through unchanged
 * is handed out as declared. */
int td_expr_field(const td_expr *e, const td_schema *src, const char *name, td_schema *into, td_error *err);

#endif
