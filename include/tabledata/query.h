/*
 * tabledata/query.h - table operations and SQL.
 *
 * Each operation returns a new table (one reference) that shares pages with
 * its source.  When the source is refreshing, the result updates in the same
 * update cycle, right after its source, incrementally: where, view and
 * agg_by process only appended rows; head, tail and sort recompute their
 * (small or ordered) result in each cycle that changes the source.  Listeners
 * of a result hear, per cycle, the positions appended, or `replaced`, and for
 * aggregations the positions of groups whose values changed.
 *
 * Expressions use the language in README.md ("Queries"): column names,
 * literals, = != <> < <= > >=, IN, BETWEEN, IS [NOT] NULL, AND, OR, NOT,
 * + - * /, parentheses; timestamps compare with ISO-8601 strings.  Errors in
 * expression text are TD_EPARSE or TD_ETYPE with err->position at the
 * offending token (a byte offset into that text).
 *
 * Errors common to every operation (not repeated below): TD_EINVAL (NULL
 * source or out-of-range arguments), TD_EFAILED (the source table has
 * failed), TD_ENOMEM, and -- as building a result reads its source's current
 * rows -- the errors of the backend's column_values answers (TD_EBACKEND,
 * TD_ECONTRACT, TD_ETIMEOUT).  On a refreshing source, an error in a later
 * cycle fails the result table instead (its listeners hear it).  *out
 * receives one reference (td_table_release), NULL on failure; the result
 * holds a reference to its source.
 */
#ifndef TABLEDATA_QUERY_H
#define TABLEDATA_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/error.h"
#include "tabledata/service.h"
#include "tabledata/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows of `source` where `filter` is true.  Conjuncts that reference only
 * partition columns are decided per location, before any of its pages is
 * read; the rest is evaluated on pages, a batch at a time.  (To keep pruned
 * locations from being sized or subscribed at all, give the filter to
 * td_make_table_where instead.)  Errors: TD_EPARSE, TD_ETYPE (the filter
 * is not a boolean expression over the source's columns). */
TD_API int td_table_where(td_table *source, const char *filter, td_table **out, td_error *err);

/* Builds a table of `key` (static or refreshing per opts) filtered by
 * `filter`: its partition-only conjuncts become the location predicate (a
 * pruned location is never sized, subscribed or read, now or when it appears
 * later), the rest a where on top.  NULL or "" filter: the plain table.
 * Errors: those of td_make_table and of td_table_where. */
TD_API int td_make_table_where(td_service *service, const td_table_key *key, const char *filter,
                               const td_table_options *opts, td_table **out, td_error *err);

/* A projection: each entry is "expr" or "expr AS name" (default names are
 * the expressions' canonical text).  Errors: TD_EINVAL (n < 1), TD_EPARSE,
 * TD_ETYPE (unknown column, bad operand types, duplicate names). */
TD_API int td_table_view(td_table *source, const char *const *columns, int64_t n, td_table **out,
                         td_error *err);

/* The first / last n rows.  The head of a td_table_sort result over a
 * static table that nothing has read yet is a top-N of the sort's source
 * (the same rows in the same order, without sorting the whole table; see
 * td_table_sort).  Errors: TD_EINVAL (n < 0). */
TD_API int td_table_head(td_table *source, int64_t n, td_table **out, td_error *err);
TD_API int td_table_tail(td_table *source, int64_t n, td_table **out, td_error *err);

/* Sorted by the named columns, each ascending unless descending[i] (NULL: all
 * ascending); stable; nulls last.  Over a static source the sort runs when
 * the table is first read (td_table_status, a scan, a table built on it),
 * not now, so that td_table_head of it can keep only the top rows; an
 * allocation failure then marks the table failed (td_table_status returns
 * TD_EFAILED with the reason) and it reads as empty.  Errors: TD_EINVAL (n
 * outside 1..64, an unknown column). */
TD_API int td_table_sort(td_table *source, const char *const *columns, const bool *descending,
                         int64_t n, td_table **out, td_error *err);

/* Grouped aggregation: `aggs` entries are "count(*)", "count(x)", "sum(x)",
 * "min(x)", "max(x)", "avg(x)", "first(x)", "last(x)" over any expression,
 * optionally "... AS name"; `by` entries are grouping expressions (n_by == 0:
 * one row over the whole table).  Result: the group columns, then the
 * aggregates; groups in first-seen order.  When every referenced column is
 * a partition column, the result is computed from location keys and sizes
 * alone (no column data is read).  Errors: TD_EINVAL (neither aggregates
 * nor group columns), TD_EPARSE, TD_ETYPE (not an aggregate, a nested
 * aggregate, a type the aggregate cannot take). */
TD_API int td_table_agg_by(td_table *source, const char *const *aggs, int64_t n_aggs,
                           const char *const *by, int64_t n_by, td_table **out, td_error *err);

/* The distinct combinations of `columns` (each a column name or an
 * expression, optionally "... AS name"), one row each, in first-seen order:
 * SQL's SELECT DISTINCT.  It is td_table_agg_by with group columns and no
 * aggregates, so on a refreshing source it is live and incremental (a cycle
 * appends the combinations its new rows bring); over partition columns only
 * it reads no column data.  Errors: TD_EINVAL (NULL columns or n < 1),
 * TD_EPARSE, TD_ETYPE (unknown column). */
TD_API int td_table_select_distinct(td_table *source, const char *const *columns, int64_t n,
                                    td_table **out, td_error *err);

/*
 * SQL: SELECT [DISTINCT] items FROM source [WHERE ...] [GROUP BY ...]
 *      [ORDER BY ... [ASC|DESC]] [LIMIT n]
 * The source (a name, or a 'quoted path') is resolved by the caller's
 * resolver into a service and table key: this is how SQL runs over any
 * backend, user backends included (examples/refreshing_backend.c resolves
 * the name "trades" to its own service).  WHERE conjuncts on partition
 * columns prune locations before anything is read.
 * Exploring statements give a static table: DESCRIBE source | SELECT ...
 * (column_name, column_type, is_partition); SUMMARIZE source | SELECT ...
 * (column_name, column_type, min, max as text, null_count, approx_unique
 * -- exact distinct non-null count --, count); EXPLAIN SELECT ... (one utf8
 * column "plan", built from location keys and sizes: no column values are
 * read).
 * COPY (SELECT ...) TO 'path' [(FORMAT parquet|csv|arrow, COMPRESSION
 * snappy|zstd|uncompressed, PARTITION_BY (col, ...), OVERWRITE,
 * OVERWRITE_OR_IGNORE, ROW_GROUP_SIZE n)] and COPY source TO 'path' write
 * the rows (format from the extension when not given: .parquet, .arrow,
 * else CSV) and give a one-row table "Count" (int64 rows written).  The
 * output appears under its name only when complete (written to a temporary
 * name, then renamed; removed on error); an existing target is an error
 * (TD_EINVAL naming it) unless OVERWRITE is given.  With PARTITION_BY the
 * target is a hive directory (col=value/data_0.<ext>, values URL-encoded,
 * nulls __HIVE_DEFAULT_PARTITION__, partition columns not in the files).
 */
/* Resolves the FROM source (`source` is the name, or the path without
 * quotes when is_path).  On success returns TD_OK with a new reference in
 * *service (td_service_retain) and in *key; td_query releases both.  On
 * failure returns an error code (TD_ENOTFOUND for an unknown name, by
 * convention) with a message in err, and sets nothing; td_query returns that
 * error as is. */
typedef int (*td_source_resolver)(void *ctx, const char *source, bool is_path, td_service **service,
                                  td_table_key **key, td_error *err);

/* Fill with td_query_options_init, then set fields by name (fields may be
 * added in later versions, init giving them their defaults). */
typedef struct td_query_options {
  td_source_resolver resolver;
  void *resolver_ctx;
  bool refreshing; /* a live query over a refreshing source */
  int64_t source_rows; /* out: rows of the (pruned) source table */
  /* Worker threads a static query may use (0, the default: one per online
   * core; 1: the calling thread only).  Scans, filters, projections,
   * aggregations and ORDER BY ... LIMIT split their source's pages among
   * the workers; results are the same for every thread count (rows in the
   * same order, groups in first-seen order, first/last by row order), except
   * that float sums and averages may differ in the last bits (additions are
   * grouped differently).  A refreshing query's update cycles use them too
   * for large changes; the update graph stays single-writer (workers finish
   * before the operator returns).  Negative: TD_EINVAL.  Tables made by the
   * other functions of this header take their source's setting; a source
   * table uses every core. */
  int threads;
  /* Refuse statements that write (COPY ... TO) with TD_EUNSUPPORTED, as
   * `tabledata serve` does.  Default false. */
  bool read_only;
} td_query_options;

/* Fills `opts` with the defaults: no resolver, static, every core.  Never
 * fails. */
TD_API void td_query_options_init(td_query_options *opts);

/* Plans and builds the query's result table (refreshing when
 * opts->refreshing, updated in the source's cycles).  The resolver's service
 * and key are released by td_query (it must return new references).
 * Errors: TD_EINVAL (NULL sql, opts or resolver, opts->threads < 0), TD_EPARSE / TD_ETYPE with
 * err->position in `sql`, the resolver's error, those of td_make_table (the
 * source is built, pruned) and of the operations. */
TD_API int td_query(const char *sql, td_query_options *opts, td_table **out, td_error *err);

/* Runs a static query as a stream of result batches.  A query without
 * aggregation, ORDER BY or DISTINCT is evaluated lazily, a source page at a
 * time, so nothing is buffered (LIMIT stops reading early); others are
 * computed first, then streamed.  `out` holds what it needs and is owned by
 * the caller; a failing get_next returns ENOMEM or EIO (get_last_error has
 * the message).  Errors: those of td_query. */
TD_API int td_query_stream(const char *sql, td_query_options *opts, struct ArrowArrayStream *out,
                           td_error *err);

#ifdef __cplusplus
}
#endif

#endif
