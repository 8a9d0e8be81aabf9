/*
 * tests/query/test_ops.c - the query operators and SQL planner on static and
 * refreshing tables: results, incremental maintenance (a live result after
 * random appends and new locations equals the same query run from scratch on
 * a static table), partition pruning, reads avoided, and error positions.
 */
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "proxy_backend.h"
#include "table/table.h"
#include "tabledata.h"
#include "test.h"
#include "util/alloc.h"

typedef td_table *(*build_fn)(td_table *src);

static td_table *b_where(td_table *src) {
  td_table *t;
  td_error err;
  TD_ASSERT_OK(td_table_where(src, "v > 300 AND s != 's1' OR v IS NULL", &t, &err), &err);
  return t;
}
static td_table *b_view(td_table *src) {
  td_table *t;
  td_error err;
  const char *cols[4] = {"P", "v * 2 + k AS w", "x / 2", "s"};
  TD_ASSERT_OK(td_table_view(src, cols, 4, &t, &err), &err);
  return t;
}
static td_table *b_agg(td_table *src) {
  td_table *t;
  td_error err;
  const char *aggs[7] = {"count(*) AS n", "count(v)", "sum(v) AS total", "min(s)", "max(x)", "avg(v)", "sum(x * 2)"};
  const char *by[2] = {"k", "s"};
  TD_ASSERT_OK(td_table_agg_by(src, aggs, 7, by, 2, &t, &err), &err);
  return t;
}
static td_table *b_agg_partition(td_table *src) {
  td_table *t;
  td_error err;
  const char *aggs[4] = {"count(*)", "min(P)", "max(P)", "first(P)"};
  const char *by[1] = {"P"};
  TD_ASSERT_OK(td_table_agg_by(src, aggs, 4, by, 1, &t, &err), &err);
  return t;
}
static td_table *b_sort(td_table *src) {
  td_table *t;
  td_error err;
  /* A total order (ties between live and static sources would differ). */
  const char *cols[5] = {"v", "s", "k", "P", "x"};
  bool desc[5] = {true, false, false, true, false};
  TD_ASSERT_OK(td_table_sort(src, cols, desc, 5, &t, &err), &err);
  return t;
}
static td_table *b_sql(td_table *src) {
  (void)src;
  return NULL; /* see test_sql */
}

/* Builds `op` on a live source and on static ones, through random growth. */
static void live_equals_static(build_fn op, bool order_matters) {
  mt_env e;
  mt_open(&e, 8, false);
  td_table *live_src = mt_source(&e, true);
  td_table *live = op(live_src);
  static const char *parts[6] = {"a", "b", "c", "d", "e", "f"};
  for (int step = 0; step < 12; step++) {
    int n_ops = 1 + rand_r(&e.seed) % 4;
    for (int i = 0; i < n_ops; i++) mt_add_rows(&e, parts[rand_r(&e.seed) % 6], rand_r(&e.seed) % 23);
    td_error err;
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    td_table *st_src = mt_source(&e, false);
    td_table *st = op(st_src);
    assert_int_equal(td_table_size(live_src), td_table_size(st_src));
    mt_assert_same_rows(live, st, !order_matters);
    td_table_release(st);
    td_table_release(st_src);
  }
  td_table_release(live);
  td_table_release(live_src);
  mt_close(&e);
}

static void test_live_where(void **s) {
  (void)s;
  live_equals_static(b_where, false);
}
static void test_live_view(void **s) {
  (void)s;
  live_equals_static(b_view, false);
}
static void test_live_agg(void **s) {
  (void)s;
  live_equals_static(b_agg, false);
}
static void test_live_agg_partition(void **s) {
  (void)s;
  live_equals_static(b_agg_partition, false);
}
static void test_live_sort(void **s) {
  (void)s;
  live_equals_static(b_sort, true);
}

/* Live head and tail equal the first and last rows of the live source now. */
static void test_live_head_tail(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  td_error err;
  td_table *src = mt_source(&e, true), *h, *t;
  TD_ASSERT_OK(td_table_head(src, 7, &h, &err), &err);
  TD_ASSERT_OK(td_table_tail(src, 9, &t, &err), &err);
  static const char *parts[4] = {"a", "b", "q", "r"};
  for (int step = 0; step < 8; step++) {
    mt_add_rows(&e, parts[rand_r(&e.seed) % 4], 1 + rand_r(&e.seed) % 9);
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    int64_t n = td_table_size(src);
    mt_rows all = mt_rows_of(src, false), hr = mt_rows_of(h, false), tr = mt_rows_of(t, false);
    assert_int_equal(hr.n, n < 7 ? n : 7);
    assert_int_equal(tr.n, n < 9 ? n : 9);
    for (int64_t i = 0; i < hr.n; i++) assert_string_equal(hr.v[i], all.v[i]);
    for (int64_t i = 0; i < tr.n; i++) assert_string_equal(tr.v[i], all.v[n - tr.n + i]);
    mt_rows_free(&all);
    mt_rows_free(&hr);
    mt_rows_free(&tr);
  }
  td_table_release(h);
  td_table_release(t);
  td_table_release(src);
  mt_close(&e);
}

/* ---- static results checked by hand ---- */

static void test_static_values(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  td_error err;
  td_table *src = mt_source(&e, false);
  int64_t n = td_table_size(src);
  /* Reference: read everything and compute by hand. */
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(src, NULL, 0, 0, n, &a, &err), &err);
  const int64_t *v = (const int64_t *)a.children[2]->buffers[1];
  const uint8_t *valid = a.children[2]->buffers[0];
  int64_t count_v = 0, sum_v = 0, over = 0;
  for (int64_t i = 0; i < n; i++) {
    bool ok = !valid || ((valid[i / 8] >> (i % 8)) & 1);
    if (ok) {
      count_v++;
      sum_v += v[i];
      over += v[i] > 500;
    }
  }
  a.release(&a);
  const char *aggs[3] = {"count(v)", "sum(v)", "count(*)"};
  td_table *g;
  TD_ASSERT_OK(td_table_agg_by(src, aggs, 3, NULL, 0, &g, &err), &err);
  mt_rows r = mt_rows_of(g, false);
  char want[256];
  snprintf(want, sizeof want, "%lld|%lld|%lld|", (long long)count_v, (long long)sum_v, (long long)n);
  assert_string_equal(r.v[0], want);
  mt_rows_free(&r);
  td_table_release(g);
  td_table *w;
  TD_ASSERT_OK(td_table_where(src, "v > 500", &w, &err), &err);
  assert_int_equal(td_table_size(w), over);
  td_table *h, *tl;
  TD_ASSERT_OK(td_table_head(w, 3, &h, &err), &err);
  TD_ASSERT_OK(td_table_tail(w, 2, &tl, &err), &err);
  assert_int_equal(td_table_size(h), over < 3 ? over : 3);
  assert_int_equal(td_table_size(tl), over < 2 ? over : 2);
  td_table_release(h);
  td_table_release(tl);
  td_table_release(w);
  td_table_release(src);
  mt_close(&e);
}

/* ---- pruning and reads avoided ---- */

static void test_pruning(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  td_error err;
  td_table_options live = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(td_make_table_where(e.svc, e.key, "P = 'b' AND v > 100", &live, &t, &err), &err);
  assert_true(td_table_size(t) > 0);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, "P=b#b"), 1);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, "P=a#a"), 0);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, "P=a#a"), 0);
  /* New locations of a live table are pruned the same way. */
  mt_add_rows(&e, "z", 10);
  mt_add_rows(&e, "b", 10);
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, "P=z#z"), 0);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, "P=z#z"), 0);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_TABLE_LOCATION_SIZE, NULL), 0);
  td_table_release(t);
  /* Static: no size call for pruned locations. */
  TD_ASSERT_OK(td_make_table_where(e.svc, e.key, "P IN ('a', 'c')", NULL, &t, &err), &err);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_TABLE_LOCATION_SIZE, "P=b#b"), 0);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_TABLE_LOCATION_SIZE, "P=a#a"), 1);
  td_table_release(t);
  mt_close(&e);
}

static void test_no_data_reads(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  td_error err;
  td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .refreshing = false};
  static const char *queries[] = {
      "SELECT DISTINCT P FROM m",
      "SELECT count(*) FROM m",
      "SELECT P, count(*) AS n, min(P) FROM m WHERE P != 'c' GROUP BY P ORDER BY n DESC",
      "SELECT count(*) FROM m WHERE P = 'a'",
  };
  for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
    td_table *t;
    TD_ASSERT_OK(td_query(queries[i], &qo, &t, &err), &err);
    mt_rows r = mt_rows_of(t, false);
    if (i == 1) {
      char want[32];
      snprintf(want, sizeof want, "%d|", 47);
      assert_string_equal(r.v[0], want);
    }
    if (i == 2) assert_string_equal(r.v[0], "a|30|a|");
    mt_rows_free(&r);
    td_table_release(t);
  }
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL), 0);
  /* A data column does need the data. */
  td_table *t;
  TD_ASSERT_OK(td_query("SELECT sum(v) FROM m", &qo, &t, &err), &err);
  assert_true(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL) > 0);
  td_table_release(t);
  mt_close(&e);
}

/* ---- SQL: results and errors ---- */

static void test_sql(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  td_error err;
  td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .refreshing = false};
  td_table *a, *b;
  /* The same result through SQL and through the operators. */
  TD_ASSERT_OK(td_query("SELECT k, s, count(*) AS n, sum(v) AS total FROM m WHERE v > 100 GROUP BY k, s "
                        "ORDER BY total DESC, k LIMIT 4",
                        &qo, &a, &err),
               &err);
  td_table *src = mt_source(&e, false), *w, *g, *srt, *h;
  const char *aggs[2] = {"count(*) AS n", "sum(v) AS total"};
  const char *by[2] = {"k", "s"};
  const char *cols[2] = {"total", "k"};
  bool desc[2] = {true, false};
  TD_ASSERT_OK(td_table_where(src, "v > 100", &w, &err), &err);
  TD_ASSERT_OK(td_table_agg_by(w, aggs, 2, by, 2, &g, &err), &err);
  TD_ASSERT_OK(td_table_sort(g, cols, desc, 2, &srt, &err), &err);
  TD_ASSERT_OK(td_table_head(srt, 4, &h, &err), &err);
  mt_assert_same_rows(a, h, false);
  td_table_release(a);
  /* Computed items over aggregates, aliases in ORDER BY. */
  TD_ASSERT_OK(td_query("SELECT k + 1 AS k1, sum(v) / count(v) AS mean, max(x) FROM m GROUP BY k ORDER BY k1", &qo,
                        &b, &err),
               &err);
  assert_int_equal(td_table_size(b), 5);
  td_table_release(b);
  /* The fused filter path (column OP constant over null-free 8-byte columns)
   * gives what the general path gives. */
  static const char *fused[3] = {"x < 20", "k >= 2", "x != 12.5"};
  for (int i = 0; i < 3; i++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT k, x FROM m WHERE %s", fused[i]);
    TD_ASSERT_OK(td_query(sql, &qo, &b, &err), &err);
    td_table *base = mt_source(&e, false), *fw, *fv;
    const char *kx[2] = {"k", "x"};
    TD_ASSERT_OK(td_table_where(base, fused[i], &fw, &err), &err);
    TD_ASSERT_OK(td_table_view(fw, kx, 2, &fv, &err), &err);
    assert_true(td_table_size(b) > 0);
    mt_assert_same_rows(b, fv, false);
    td_table_release(fv);
    td_table_release(fw);
    td_table_release(base);
    td_table_release(b);
  }
  /* ORDER BY a column that is not selected. */
  TD_ASSERT_OK(td_query("SELECT k FROM m WHERE x < 20 ORDER BY x DESC, k LIMIT 5", &qo, &b, &err), &err);
  assert_int_equal(td_table_num_columns(b), 1);
  assert_int_equal(td_table_size(b), 5);
  td_table_release(b);
  td_table_release(h);
  td_table_release(srt);
  td_table_release(g);
  td_table_release(w);
  td_table_release(src);
  /* Errors point at the offending token. */
  static const struct {
    const char *sql;
    int code;
    int64_t pos;
    const char *text;
  } bad[] = {
      {"SELECT kk FROM m", TD_ETYPE, 7, "unknown column 'kk'"},
      {"SELECT k FROM m WHERE s > 3", TD_ETYPE, 24, "cannot compare"},
      {"SELECT k, sum(v) FROM m", TD_ETYPE, 7, "must appear in GROUP BY"},
      {"SELECT k FROM m WHERE sum(v) > 1", TD_ETYPE, 22, "WHERE cannot use an aggregate"},
      {"SELECT k FROM m GROUP BY k ORDER BY x", TD_ETYPE, 36, "'x' must appear in GROUP BY"},
      {"SELECT k FROM m WHERE", TD_EPARSE, 21, "expected"},
      {"SELECT k FROM nowhere", TD_ENOTFOUND, 14, "nowhere"},
      {"SELECT k, k FROM m", TD_ETYPE, 10, "two columns named 'k'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    td_table *t = NULL;
    td_error_clear(&err);
    int rc = td_query(bad[i].sql, &qo, &t, &err);
    if (rc != bad[i].code || err.position != bad[i].pos || !strstr(err.message, bad[i].text))
      fail_msg("'%s': got %s at %lld: %s", bad[i].sql, td_status_name(rc), (long long)err.position, err.message);
    assert_null(t);
  }
  mt_close(&e);
}

/* ---- the lazy stream reads only what LIMIT needs ---- */

/* A live SQL query after random appends and new locations equals the same
 * query on a static table: expressions of the function registry in WHERE and
 * SELECT (select operator), HAVING over a live aggregation, the variance
 * rewrites, LIMIT ... OFFSET and NULLS FIRST over a total order. */
static void test_live_sql_expressions(void **state) {
  (void)state;
  static const struct {
    const char *sql;
    bool ordered;
  } qs[] = {
      {"SELECT k, CASE WHEN v % 2 = 0 THEN 'even' ELSE upper(s) END AS c, coalesce(v, -1) AS v1, round(x) AS r, "
       "s || '-' || P AS sp FROM m WHERE s LIKE 's%' AND v IS DISTINCT FROM 5", false},
      {"SELECT s AS g, count(*) AS n, sum(v) AS total, stddev(x) AS sd FROM m GROUP BY g HAVING count(*) > 3", false},
      {"SELECT k, lower(s) AS ls, count(v) AS n FROM m GROUP BY ALL HAVING max(x) > 10", false},
      {"SELECT v, k, s, P, x FROM m ORDER BY v NULLS FIRST, k, s, P, x LIMIT 7 OFFSET 3", true},
  };
  for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) {
    mt_env e;
    mt_open(&e, 8, false);
    td_error err;
    td_query_options live_o = {.resolver = mt_resolve, .resolver_ctx = &e, .refreshing = true}, static_o = {.resolver = mt_resolve, .resolver_ctx = &e, .refreshing = false};
    mt_add_rows(&e, "a", 5);
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    td_table *live;
    TD_ASSERT_OK(td_query(qs[q].sql, &live_o, &live, &err), &err);
    static const char *parts[4] = {"a", "b", "c", "d"};
    for (int step = 0; step < 8; step++) {
      int n_ops = 1 + rand_r(&e.seed) % 3;
      for (int i = 0; i < n_ops; i++) mt_add_rows(&e, parts[rand_r(&e.seed) % 4], rand_r(&e.seed) % 23);
      TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
      td_table *st;
      TD_ASSERT_OK(td_query(qs[q].sql, &static_o, &st, &err), &err);
      mt_assert_same_rows(live, st, !qs[q].ordered);
      td_table_release(st);
    }
    td_table_release(live);
    mt_close(&e);
  }
}

static void test_stream_limit(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  td_error err;
  td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .refreshing = false};
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_query_stream("SELECT k, v FROM m WHERE v IS NOT NULL LIMIT 3", &qo, &st, &err), &err);
  assert_int_equal(mt_stream_rows(&st), 3);
  assert_int_equal(qo.source_rows, 47);
  /* Only the first page of each column was needed. */
  assert_true(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL) <= 2);
  mt_close(&e);
}

/* The rows of text `t` ("a|b|;c|d|;") from row `from`, at most n. */
static char *rows_slice(const char *t, int64_t from, int64_t n) {
  const char *b = t;
  for (int64_t i = 0; i < from && *b; i++) b = strchr(b, ';') + 1;
  const char *e = b;
  for (int64_t i = 0; i < n && *e; i++) e = strchr(e, ';') + 1;
  char *r = malloc((size_t)(e - b) + 1);
  memcpy(r, b, (size_t)(e - b));
  r[e - b] = '\0';
  return r;
}

/* A LIMIT without ORDER BY made as a table (td_query, not a stream, and
 * a subquery's table) stops its static scan once the first rows are made:
 * the rows are those of the whole result's slice at 1 and 2 threads (pages
 * of 8 rows, filters keeping many, few or no rows, OFFSET), and a LIMIT 3
 * reads few pages. */
static void test_table_head(void **state) {
  (void)state;
  static const char *const wheres[] = {"v IS NOT NULL", "v % 97 = 3", "k = 2 AND x > 60", "v = -1", "true"};
  static const int64_t limits[][2] = {{3, 0}, {1, 0}, {10, 5}, {40, 2}, {1000, 0}, {0, 0}, {2, 30}};
  /* few pages (a fresh page cache each time): the subquery's LIMIT and the
   * outer one both stop early; a second worker may finish the unit it runs
   * (a few pages) before it hears (all of them: 114 pages) */
  for (int threads = 1; threads <= 2; threads++) {
    mt_env f;
    mt_open(&f, 8, false);
    for (int extra = 0; extra < 30; extra++) mt_add_rows(&f, extra % 2 ? "c" : "d", 13);
    td_query_options q2 = {.resolver = mt_resolve, .resolver_ctx = &f, .threads = threads};
    char *few = mt_query_text("SELECT k FROM m WHERE k IN (SELECT k FROM m WHERE v IS NOT NULL LIMIT 3) LIMIT 3", &q2);
    assert_true(strlen(few) > 0);
    free(few);
    int64_t calls = td_proxy_count(&f.proxy, TD_METHOD_COLUMN_VALUES, NULL);
    if (calls > (threads == 1 ? 6 : 60)) fail_msg("a LIMIT 3 read %lld pages at %d threads", (long long)calls, threads);
    mt_close(&f);
  }
  /* a static EXISTS is planned with LIMIT 1 (its own LIMIT and OFFSET kept
   * in the answer): few pages, and every answer right */
  {
    mt_env f;
    mt_open(&f, 8, false);
    for (int extra = 0; extra < 30; extra++) mt_add_rows(&f, extra % 2 ? "c" : "d", 13);
    td_query_options q1 = {.resolver = mt_resolve, .resolver_ctx = &f, .threads = 1};
    mt_expect_rows(&q1, "SELECT EXISTS (SELECT 1 FROM m WHERE v IS NOT NULL) AS a", false, "true|;");
    int64_t calls = td_proxy_count(&f.proxy, TD_METHOD_COLUMN_VALUES, NULL);
    if (calls > 2) fail_msg("EXISTS read %lld pages", (long long)calls);
    mt_expect_rows(&q1, "SELECT EXISTS (SELECT k FROM m WHERE v = -1), EXISTS (SELECT k FROM m LIMIT 0)", false,
                   "false|false|;");
    mt_expect_rows(&q1, "SELECT EXISTS (SELECT k FROM m LIMIT 2 OFFSET 436), EXISTS (SELECT k FROM m OFFSET 437)", false,
                   "true|false|;");
    mt_expect_rows(&q1, "SELECT NOT EXISTS (SELECT k FROM m ORDER BY x DESC LIMIT 5 OFFSET 436)", false, "false|;");
    mt_close(&f);
  }
  mt_env e;
  mt_open(&e, 8, false);
  for (int extra = 0; extra < 30; extra++) mt_add_rows(&e, extra % 2 ? "c" : "d", 13);
  for (int threads = 1; threads <= 2; threads++) {
    td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .threads = threads};
    for (size_t w = 0; w < sizeof wheres / sizeof *wheres; w++) {
      char sql[256];
      snprintf(sql, sizeof sql, "SELECT k, v, x, P FROM m WHERE %s", wheres[w]);
      char *all = mt_query_text(sql, &qo);
      for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
        snprintf(sql, sizeof sql, "SELECT k, v, x, P FROM m WHERE %s LIMIT %lld OFFSET %lld", wheres[w],
                 (long long)limits[l][0], (long long)limits[l][1]);
        char *got = mt_query_text(sql, &qo), *want = rows_slice(all, limits[l][1], limits[l][0]);
        if (strcmp(got, want) != 0) fail_msg("%s (%d threads)\n  got:  %s\n  want: %s", sql, threads, got, want);
        free(got);
        free(want);
      }
      free(all);
    }
  }
  mt_close(&e);
}

/* ---- late materialization: a selective SELECT * reads the filter's
 * column, and the other columns only for pages holding matches ---- */

static void test_late_materialization(void **state) {
  (void)state;
  mt_env e, ref;
  mt_open(&ref, 8, false);
  mt_open(&e, 8, false); /* the same rows (same seed) */
  td_error err;
  /* Pick a value of x from the reference and find the pages holding it. */
  td_table *t = mt_source(&ref, false);
  int64_t xc = td_table_column_index(t, "x");
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(t, &xc, 1, 0, td_table_size(t), &a, &err), &err);
  const double *x = (const double *)a.children[0]->buffers[1] + a.children[0]->offset;
  double want = x[12];
  bool page_hit[8] = {false};
  int64_t matches = 0, lo[8], hi[8]; /* per page: its first and last match (row in its location) */
  for (int64_t r = 0; r < a.length; r++) {
    if (x[r] != want) continue;
    matches++;
    int p = r < 30 ? (int)(r / 8) : 4 + (int)((r - 30) / 8); /* a: 4 pages, b: 3 */
    int64_t row = r < 30 ? r : r - 30;
    if (!page_hit[p]) lo[p] = row;
    hi[p] = row;
    page_hit[p] = true;
  }
  a.release(&a);
  td_table_release(t);
  int64_t hit_pages = 0;
  for (int i = 0; i < 8; i++) hit_pages += page_hit[i];
  assert_true(hit_pages < 7);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT * FROM m WHERE x = %.17g", want);
  /* The reference: every column read (no filter on the scan). */
  td_query_options rqo = {.resolver = mt_resolve, .resolver_ctx = &ref, .refreshing = false};
  TD_ASSERT_OK(td_query("SELECT * FROM m", &rqo, &t, &err), &err);
  td_table_release(t);
  TD_ASSERT_OK(td_query(sql, &rqo, &t, &err), &err);
  mt_rows expect = mt_rows_of(t, false);
  td_table_release(t);
  assert_int_equal(expect.n, matches);
  /* A derived table (select operator), then a lazy stream. */
  td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .refreshing = false};
  TD_ASSERT_OK(td_query(sql, &qo, &t, &err), &err);
  mt_rows got = mt_rows_of(t, false);
  td_table_release(t);
  assert_int_equal(got.n, expect.n);
  for (int64_t i = 0; i < got.n; i++) assert_string_equal(got.v[i], expect.v[i]);
  mt_rows_free(&got);
  /* 7 pages of x, plus k, v and s for the pages with matches: the rows
   * from the first match to the last when they span at most half the page
   * (not cached), else the whole page. */
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL), 7 + 3 * hit_pages);
  int64_t narrow_pages = 0;
  for (int p = 0; p < 8; p++) {
    if (!page_hit[p]) continue;
    int64_t start = p < 4 ? p * 8 : (p - 4) * 8, len = p < 4 ? (p == 3 ? 6 : 8) : (p == 6 ? 1 : 8);
    int64_t span = hi[p] + 1 - lo[p];
    bool narrow = span * 2 <= len;
    narrow_pages += narrow;
    int64_t off = narrow ? lo[p] : start, want_rows = narrow ? span : len, calls = 0;
    for (int64_t i = 0; i < e.proxy.n_log; i++) {
      const td_call_log *l = &e.proxy.log[i];
      if (l->method != TD_METHOD_COLUMN_VALUES || strcmp(l->column, "x") == 0 || l->offset != off ||
          strncmp(l->location, p < 4 ? "P=a" : "P=b", 3) != 0)
        continue;
      assert_int_equal(l->min_rows, want_rows);
      if (narrow) assert_int_equal(l->max_rows, want_rows);
      calls++;
    }
    assert_int_equal(calls, 3);
  }
  assert_true(narrow_pages > 0); /* (the seed's rows: the narrow read is tested) */
  int64_t before = td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL);
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_query_stream(sql, &qo, &st, &err), &err);
  int64_t streamed = 0;
  for (;;) {
    struct ArrowArray b;
    assert_int_equal(st.get_next(&st, &b), 0);
    if (!b.release) break;
    streamed += b.length;
    b.release(&b);
  }
  st.release(&st);
  assert_int_equal(streamed, matches);
  /* Served from the cache (the pages it needed were read before), but for
   * the narrow reads, which are asked again. */
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL), before + 3 * narrow_pages);
  mt_rows_free(&expect);
  mt_close(&e);
  mt_close(&ref);
}

/* ---- td_scan_load_rows: a chunk narrowed to some of its rows, the lazy
 * column fetched for those rows only, the others sliced ---- */

static void test_scan_load_rows(void **state) {
  (void)state;
  mt_env e, ref;
  mt_open(&e, 8, false);
  mt_open(&ref, 8, false); /* the same rows (same seed), read whole */
  td_error err;
  td_table *t = mt_source(&ref, false);
  int64_t cols[2] = {td_table_column_index(t, "k"), td_table_column_index(t, "x")};
  struct ArrowArray all;
  TD_ASSERT_OK(td_table_read(t, cols, 2, 0, td_table_size(t), &all, &err), &err);
  td_table_release(t);
  t = mt_source(&e, false);
  const int64_t *k = (const int64_t *)all.children[0]->buffers[1] + all.children[0]->offset;
  const double *x = (const double *)all.children[1]->buffers[1] + all.children[1]->offset;
  for (int pass = 0; pass < 2; pass++) { /* x not cached, then cached (a whole page read first) */
    td_scan sc;
    TD_ASSERT_OK(td_scan_init(&sc, t, NULL, cols, 2, 8, 16, &err), &err);
    td_scan_defer(&sc, 1);
    td_chunk ch;
    bool done;
    TD_ASSERT_OK(td_scan_next(&sc, &ch, &done, &err), &err);
    assert_false(done);
    assert_int_equal(ch.length, 8);
    int64_t calls = td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL);
    assert_int_equal(td_scan_load_rows(&sc, &ch, 6, 3, &err), TD_EINVAL); /* past the chunk */
    TD_ASSERT_OK(td_scan_load_rows(&sc, &ch, 2, 3, &err), &err);
    assert_int_equal(ch.pos, 10);
    assert_int_equal(ch.row, 10);
    assert_int_equal(ch.length, 3);
    /* the narrow read is not cached; the page is, the second time */
    assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL), calls + (pass == 0));
    for (int64_t i = 0; i < 3; i++) {
      assert_int_equal(ch.views[0].length, 3);
      assert_int_equal(ch.views[1].length, 3);
      assert_int_equal(((const int64_t *)ch.views[0].values)[ch.views[0].offset + i], k[10 + i]);
      assert_true(((const double *)ch.views[1].values)[ch.views[1].offset + i] == x[10 + i]);
    }
    TD_ASSERT_OK(td_scan_next(&sc, &ch, &done, &err), &err);
    assert_true(done);
    td_scan_release(&sc);
    if (pass == 0) { /* page 1 of x into the cache */
      struct ArrowArray p1;
      TD_ASSERT_OK(td_table_read(t, &cols[1], 1, 8, 16, &p1, &err), &err);
      p1.release(&p1);
    }
  }
  all.release(&all);
  td_table_release(t);
  mt_close(&e);
  mt_close(&ref);
}

/* ---- late materialization of a top-N: the scan reads the sort key, the
 * other columns are fetched for the k winners only ---- */

static int64_t values_calls(td_proxy *p, const char *column) {
  int64_t n = 0;
  pthread_mutex_lock(&p->lock);
  for (int64_t i = 0; i < p->n_log; i++)
    n += p->log[i].method == TD_METHOD_COLUMN_VALUES && strcmp(p->log[i].column, column) == 0;
  pthread_mutex_unlock(&p->lock);
  return n;
}

static void test_topn_late(void **state) {
  (void)state;
  static const char *const queries[] = {
      "SELECT P, k, v, s, x FROM m ORDER BY x DESC",
      "SELECT k * 2 AS kk, s, x FROM m ORDER BY x, k DESC",
      "SELECT s, P FROM m ORDER BY P DESC, x", /* a partition key first */
      "SELECT x, k, x AS y, s FROM m ORDER BY x DESC", /* a key twice: copied from the keys */
      "SELECT v, s, k FROM m ORDER BY v, k DESC",      /* nullable first key, two keys */
  };
  for (int q = 0; q < 5; q++) {
    for (int threads = 1; threads <= 2; threads++) {
      mt_env e, ref;
      mt_open(&ref, 8, false);
      mt_open(&e, 8, false); /* the same rows (same seed) */
      mt_add_rows(&ref, "d", 2000);
      mt_add_rows(&e, "d", 2000); /* 257 pages of 8 rows */
      td_error err;
      td_table *t;
      td_query_options rqo = {.resolver = mt_resolve, .resolver_ctx = &ref, .threads = 1};
      TD_ASSERT_OK(td_query(queries[q], &rqo, &t, &err), &err);
      mt_rows full = mt_rows_of(t, false);
      td_table_release(t);
      char sql[160];
      snprintf(sql, sizeof sql, "%s LIMIT 3", queries[q]);
      td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .threads = threads};
      TD_ASSERT_OK(td_query(sql, &qo, &t, &err), &err);
      mt_rows got = mt_rows_of(t, false);
      td_table_release(t);
      assert_int_equal(got.n, 3);
      for (int64_t i = 0; i < got.n; i++) assert_string_equal(got.v[i], full.v[i]);
      /* every page of x; s (never a key) only for the winners' pages */
      if (q < 2) assert_int_equal(values_calls(&e.proxy, "x"), 257);
      assert_true(values_calls(&e.proxy, "s") <= 3);
      /* the winners' other columns: one page each, the keys never again */
      if (q == 3) assert_int_equal(values_calls(&e.proxy, "x"), 257);
      if (q == 3) assert_true(values_calls(&e.proxy, "k") <= 3);
      if (q == 4) assert_int_equal(values_calls(&e.proxy, "v"), 257);
      mt_rows_free(&got);
      mt_rows_free(&full);
      mt_close(&e);
      mt_close(&ref);
    }
  }
}

/* The winners' other columns are read a row at a time (td_fetch_rows: a
 * file decodes no more of a page than up to the row), not a page each,
 * when a page holds many rows. */
static void test_topn_winners_rows(void **state) {
  (void)state;
  for (int threads = 1; threads <= 2; threads++) {
    mt_env e, ref;
    mt_open(&ref, 64, false);
    mt_open(&e, 64, false); /* the same rows (same seed) */
    mt_add_rows(&ref, "d", 2000);
    mt_add_rows(&e, "d", 2000);
    td_error err;
    td_table *t;
    td_query_options rqo = {.resolver = mt_resolve, .resolver_ctx = &ref, .threads = 1};
    TD_ASSERT_OK(td_query("SELECT s, k, x FROM m ORDER BY x DESC", &rqo, &t, &err), &err);
    mt_rows full = mt_rows_of(t, false);
    td_table_release(t);
    td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .threads = threads};
    TD_ASSERT_OK(td_query("SELECT s, k, x FROM m ORDER BY x DESC LIMIT 3", &qo, &t, &err), &err);
    mt_rows got = mt_rows_of(t, false);
    td_table_release(t);
    assert_int_equal(got.n, 3);
    for (int64_t i = 0; i < got.n; i++) assert_string_equal(got.v[i], full.v[i]);
    int64_t rows_calls = 0;
    pthread_mutex_lock(&e.proxy.lock);
    for (int64_t i = 0; i < e.proxy.n_log; i++) {
      const td_call_log *c = &e.proxy.log[i];
      if (c->method != TD_METHOD_COLUMN_VALUES || (strcmp(c->column, "s") && strcmp(c->column, "k"))) continue;
      assert_int_equal(c->max_rows, 1); /* one winner's row, not its page */
      rows_calls++;
    }
    pthread_mutex_unlock(&e.proxy.lock);
    assert_int_equal(rows_calls, 6); /* s and k of each winner */
    mt_rows_free(&got);
    mt_rows_free(&full);
    mt_close(&e);
    mt_close(&ref);
  }
}

/* ---- the parallel lazy stream: the rows of the one-thread stream, in
 * its order, at any thread count; released early; failing allocations ---- */

/* Reads a stream of (k int64, x float64, ...) batches to its end: an
 * order-sensitive hash of k and x and the row count; false (stream
 * released) when a get_next fails. */
static bool stream_hash(struct ArrowArrayStream *st, uint64_t *hash, int64_t *rows) {
  *hash = 1469598103934665603ull;
  *rows = 0;
  for (;;) {
    struct ArrowArray b;
    if (st->get_next(st, &b) != 0) {
      assert_non_null(st->get_last_error(st));
      st->release(st);
      return false;
    }
    if (!b.release) break;
    const struct ArrowArray *k = b.children[0], *x = b.children[1];
    for (int64_t i = 0; i < b.length; i++) {
      const uint8_t *kv = k->buffers[0], *xv = x->buffers[0];
      int64_t kk = kv && !(kv[(k->offset + i) / 8] >> ((k->offset + i) % 8) & 1) ? -1 : ((const int64_t *)k->buffers[1])[k->offset + i];
      double xx = xv && !(xv[(x->offset + i) / 8] >> ((x->offset + i) % 8) & 1) ? -1 : ((const double *)x->buffers[1])[x->offset + i];
      uint64_t w;
      memcpy(&w, &xx, 8);
      *hash = (*hash ^ (uint64_t)kk) * 1099511628211ull;
      *hash = (*hash ^ w) * 1099511628211ull;
    }
    *rows += b.length;
    b.release(&b);
  }
  st->release(st);
  return true;
}

static void test_stream_parallel(void **state) {
  (void)state;
  static const char *const queries[] = {
      "SELECT k, x, s, P FROM m WHERE v > 0",
      "SELECT k, x FROM m",
      "SELECT k, x * 2 AS y FROM m WHERE s LIKE '%a%' OR k = 3",
  };
  mt_env e;
  mt_open(&e, 8, false);
  mt_add_rows(&e, "d", 2000);
  td_error err;
  for (int q = 0; q < 3; q++) {
    uint64_t want = 0;
    int64_t want_rows = 0;
    for (int threads = 1; threads <= 4; threads *= 2) {
      td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .threads = threads};
      struct ArrowArrayStream st;
      TD_ASSERT_OK(td_query_stream(queries[q], &qo, &st, &err), &err);
      uint64_t h;
      int64_t rows;
      assert_true(stream_hash(&st, &h, &rows));
      if (threads == 1) {
        want = h;
        want_rows = rows;
        assert_true(rows > 0);
      } else {
        assert_int_equal(rows, want_rows);
        assert_true(h == want);
      }
    }
  }
  /* released after one batch, and before any: the workers are joined */
  for (int early = 0; early < 2; early++) {
    td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .threads = 2};
    struct ArrowArrayStream st;
    TD_ASSERT_OK(td_query_stream(queries[1], &qo, &st, &err), &err);
    struct ArrowArray b;
    if (early) {
      assert_int_equal(st.get_next(&st, &b), 0);
      assert_non_null(b.release);
      b.release(&b);
    }
    st.release(&st);
  }
  mt_close(&e);
  /* every allocation failing in turn (workers included): a clean error or
   * the full answer */
  mt_open(&e, 8, false);
  td_query_options qo = {.resolver = mt_resolve, .resolver_ctx = &e, .threads = 2};
  struct ArrowArrayStream st;
  uint64_t want, h;
  int64_t want_rows, rows;
  TD_ASSERT_OK(td_query_stream(queries[0], &qo, &st, &err), &err);
  assert_true(stream_hash(&st, &want, &want_rows));
  for (int64_t n = 0;; n++) {
    td__alloc_fail_after(n);
    bool ok = td_query_stream(queries[0], &qo, &st, &err) == TD_OK && stream_hash(&st, &h, &rows);
    td__alloc_fail_after(-1);
    if (ok) {
      assert_int_equal(rows, want_rows);
      assert_true(h == want);
      break;
    }
  }
  mt_close(&e);
}

int main(void) {
  (void)b_sql;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_values), cmocka_unit_test(test_late_materialization), cmocka_unit_test(test_scan_load_rows), cmocka_unit_test(test_live_where),   cmocka_unit_test(test_live_view),
      cmocka_unit_test(test_live_agg),      cmocka_unit_test(test_live_agg_partition),
      cmocka_unit_test(test_live_sort),     cmocka_unit_test(test_live_head_tail),     cmocka_unit_test(test_pruning),      cmocka_unit_test(test_no_data_reads),
      cmocka_unit_test(test_sql),           cmocka_unit_test(test_stream_limit), cmocka_unit_test(test_table_head),
      cmocka_unit_test(test_live_sql_expressions), cmocka_unit_test(test_topn_late), cmocka_unit_test(test_topn_winners_rows),
      cmocka_unit_test(test_stream_parallel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
