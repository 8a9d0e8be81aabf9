/*
 * tests/support/mtable.h - the query tests' memory table "m" and row
 * comparison.  Table "m": partition P (utf8), data columns k (int64, key
 * 0..4), v (int64, with nulls), x (float64), s (utf8), in a memory backend
 * behind a counting proxy (td_proxy), served with cycles only on flush.
 * mt_rows_of turns a table into "a|b|c" row strings (floats to 9 digits)
 * for exact or multiset comparison.  The mt_expect_* helpers run a query
 * with the caller's options (its resolver) and assert its rows or its error.
 */
#ifndef TD_TEST_MTABLE_H
#define TD_TEST_MTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy_backend.h"
#include "tabledata.h"

typedef struct mt_env {
  td_memory_backend *mb;
  td_proxy proxy;
  td_service *svc;
  td_table_key *key;
  unsigned seed;
} mt_env;

/* The location key P=<p> (caller releases). */
td_location_key *mt_pkey(const char *p);
/* Runs sql live over a fresh "m" (mt_open, pages of 8 rows) through ten
 * steps of random appends (and with `removal`, location removals every
 * third step), each step checking it equals the static query (rows
 * sorted). */
void mt_live_equals_static(const char *sql, bool removal);
/* Appends n pseudo-random rows to location P=<part> (adding it when new). */
void mt_add_rows(mt_env *e, const char *part, int64_t n);
/* Finishes and frees builders b[0..n) (n <= 16) and appends them as rows of
 * location P=<part> of a memory table (adding the location when new). */
void mt_put_builders(td_memory_backend *mb, const char *table, const char *part, td_builder **b, int n);
/* Adds to mb a table `name` with m's columns (partition P; k, v, x, s). */
void mt_add_table(td_memory_backend *mb, const char *name);
/* Makes "m" with locations a (30 rows), b (17) and c (0), and a service of
 * `page_size` rows over it; `add_remove` declares the table ADD_REMOVE. */
void mt_open(mt_env *e, int64_t page_size, bool add_remove);
void mt_close(mt_env *e);
/* A table over "m", static or refreshing (caller releases). */
td_table *mt_source(mt_env *e, bool refreshing);
/* A resolver's body: the table `name` of s when it is one of the space-separated
 * `names` (not a path), else TD_ENOTFOUND "no table <name>". */
int mt_resolve_in(td_service *s, const char *names, const char *name, bool is_path, td_service **svc,
                  td_table_key **key, td_error *err);
/* A td_source_resolver over an mt_env (ctx): the name "m", anything else
 * TD_ENOTFOUND. */
int mt_resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err);
/* Runs sql over "m" (mt_resolve), refreshing when live; fails the test on
 * an error (caller releases the table). */
td_table *mt_run(mt_env *e, const char *sql, bool live);
/* mt_run on `threads` workers (0: the default). */
td_table *mt_run_threads(mt_env *e, const char *sql, bool live, int threads);
/* Reads a stream to its end (every get_next must succeed), releases it and
 * returns its rows. */
int64_t mt_stream_rows(struct ArrowArrayStream *st);

typedef struct mt_rows {
  char **v;
  int64_t n;
} mt_rows;

/* The rows of a table as "a|b|c" strings, sorted (a multiset) or not. */
mt_rows mt_rows_of(td_table *t, bool sorted);
void mt_rows_free(mt_rows *r);
/* The rows of a table as one string "a|b|;c|d|;" (malloc'd, caller frees);
 * float64 values with %.9g when float9, else as td_value_format prints them. */
char *mt_table_text(td_table *t, bool float9);
/* Runs sql with qo (failing the test on an error) and returns mt_table_text
 * of the result (malloc'd, caller frees). */
char *mt_query_text(const char *sql, td_query_options *qo);
/* A memory backend and a service over it, for the query tests that build
 * their own tables; with `paths`, quoted paths in queries are read through
 * file backends (fb: the last one, held until mt_mem_close). */
typedef struct mt_mem {
  td_memory_backend *mb;
  td_service *svc;
  bool paths;
  int64_t path_page_size;
  td_file_backend *fb;
} mt_mem;
/* Opens m: an empty memory backend and a service of page_size rows a page
 * (0: the default) over it; paths not resolved. */
void mt_mem_open(mt_mem *m, int64_t page_size);
/* Makes mt_mem_resolve resolve paths (mt_resolve_path, page_size rows a
 * page, 0: the default). */
void mt_mem_paths(mt_mem *m, int64_t page_size);
/* Adds to m->mb a location `loc` (no partition columns) of `table` holding
 * the columns cols[0..ncols) (moved), adding the table itself first when
 * new_table (names, types and time zones tz as td_schema_make takes them). */
/* Adds table "t" of the aggregate tests: g (utf8), i (int64), f (float64),
 * s (utf8); rows a 1 1.0 x | a 2 4.0 y | a 2 2.0 null | a null null x |
 * b 5 -0.0 z | b null 0.0 null | c null null null. */
void mt_mem_add_t(mt_mem *m);
/* Fails the test unless sql gives the same text with 1, 2 and 4 threads. */
void mt_mem_same_threads(mt_mem *m, const char *sql);
void mt_mem_add(mt_mem *m, const char *table, bool new_table, const char *loc, int ncols, const char *const *names,
                const td_type_id *types, const char *const *tz, struct ArrowArray *cols);
/* The table `name` of m->svc (td_make_table; the caller releases it),
 * failing the test on error. */
td_table *mt_mem_table(mt_mem *m, const char *name);
/* Fails the test unless t's exported schema has the Arrow formats
 * formats[0..n) (the first n columns). */
void mt_expect_formats(td_table *t, int n, const char *const *formats);
/* Frees m->svc and releases m->mb and m->fb. */
void mt_mem_close(mt_mem *m);
/* A td_source_resolver over an mt_mem (ctx): a path through a file backend
 * when m->paths, anything else a table of m->svc. */
int mt_mem_resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err);
/* Query options with mt_mem_resolve over m and `threads` threads. */
td_query_options mt_mem_options(mt_mem *m, int threads);
/* mt_query_text, mt_expect_rows (not float9) and mt_expect_error with
 * mt_mem_options(m, 0). */
char *mt_mem_text(mt_mem *m, const char *sql);
void mt_mem_expect_rows(mt_mem *m, const char *sql, const char *want);
void mt_mem_expect_error(mt_mem *m, const char *sql, int code, const char *text);

/* Fails the test unless a and b hold the same rows (in order unless sorted). */
void mt_assert_same_rows(td_table *a, td_table *b, bool sorted);

/* Runs sql with qo and fails the test (naming sql, the text got and want)
 * unless it succeeds with mt_table_text(result, float9) equal to want. */
void mt_expect_rows(td_query_options *qo, const char *sql, bool float9, const char *want);
/* Runs sql with qo and fails the test unless it fails with `code`, a
 * message containing `text`, no table, and (when pos >= 0) the error at
 * position pos. */
void mt_expect_error_at(td_query_options *qo, const char *sql, int code, int64_t pos, const char *text);
/* mt_expect_error_at without the position check. */
void mt_expect_error(td_query_options *qo, const char *sql, int code, const char *text);
/* Makes the n-th allocation of td_query(sql, qo) fail for n = 0, 1, ...:
 * each failure leaves no table, and the first run that succeeds gives the
 * rows of an unfailed run (as multisets when sorted); every failed run must
 * fail with TD_ENOMEM and a message (or TD_EBACKEND saying "out of memory":
 * a test backend's own allocation failed). */
void mt_query_alloc_sweep(td_query_options *qo, const char *sql, bool sorted);
/* The path half of a resolver: a file backend over `path` (page_size rows a
 * page, 0 for the default) behind a new service (*svc, caller frees) and its
 * table key (*key, caller releases).  The backend replaces *last (released;
 * the caller releases the last one).  Errors: those of td_file_backend_new,
 * td_service_new and td_table_key_new. */
int mt_resolve_path(const char *path, int64_t page_size, td_file_backend **last, td_service **svc,
                    td_table_key **key, td_error *err);
/* Parses `in`, asserts that it prints as `canon` and that `canon` parses
 * and prints back to itself. */
void mt_sql_round_trip(const char *in, const char *canon);

#endif
