/*
 * tests/query/test_statements.c - the exploring statements DESCRIBE,
 * SUMMARIZE and EXPLAIN over the memory table "m" (tests/support/mtable.h):
 * their result rows, that EXPLAIN reads no column values, and their errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtable.h"
#include "proxy_backend.h"
#include "tabledata.h"
#include "test.h"

/* Runs sql over m and returns its rows in order. */
static mt_rows run(mt_env *e, const char *sql) {
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = mt_resolve;
  qo.resolver_ctx = e;
  td_error err;
  td_table *t = NULL;
  TD_ASSERT_OK(td_query(sql, &qo, &t, &err), &err);
  mt_rows r = mt_rows_of(t, false);
  td_table_release(t);
  return r;
}

/* The error code of sql over m; its message and position in *err. */
static int fails(mt_env *e, const char *sql, td_error *err) {
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = mt_resolve;
  qo.resolver_ctx = e;
  td_table *t = NULL;
  int rc = td_query(sql, &qo, &t, err);
  assert_null(t);
  return rc;
}

static void test_describe_source(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  mt_rows r = run(&e, "DESCRIBE m");
  assert_int_equal(r.n, 5);
  assert_string_equal(r.v[0], "P|utf8|true|");
  assert_string_equal(r.v[1], "k|int64|false|");
  assert_string_equal(r.v[2], "v|int64|false|");
  assert_string_equal(r.v[3], "x|float64|false|");
  assert_string_equal(r.v[4], "s|utf8|false|");
  mt_rows_free(&r);
  /* lower case, a trailing semicolon */
  r = run(&e, "describe m;");
  assert_int_equal(r.n, 5);
  mt_rows_free(&r);
  /* describing a source reads no column values */
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL), 0);
  mt_close(&e);
}

static void test_describe_select(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  mt_rows r = run(&e, "DESCRIBE SELECT k, sum(v) AS total, s || 'x' AS t, P FROM m GROUP BY k, s, P");
  assert_int_equal(r.n, 4);
  assert_string_equal(r.v[0], "k|int64|false|");
  assert_string_equal(r.v[1], "total|int64|false|");
  assert_string_equal(r.v[2], "t|utf8|false|");
  assert_string_equal(r.v[3], "P|utf8|false|");
  mt_rows_free(&r);
  mt_close(&e);
}

static void test_summarize(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  mt_rows r = run(&e, "SUMMARIZE m");
  assert_int_equal(r.n, 5);
  assert_string_equal(r.v[0], "P|utf8|a|b|0|2|47|");
  assert_string_equal(r.v[1], "k|int64|0|4|0|5|47|");
  /* v's nulls, min, max and distinct count against plain queries */
  mt_rows q = run(&e, "SELECT min(v), max(v), count(*) - count(v) FROM m");
  mt_rows d = run(&e, "SELECT DISTINCT v FROM m WHERE v IS NOT NULL");
  char want[512];
  char mn[64], mx[64], nulls[64];
  assert_int_equal(sscanf(q.v[0], "%63[^|]|%63[^|]|%63[^|]", mn, mx, nulls), 3);
  snprintf(want, sizeof want, "v|int64|%s|%s|%s|%lld|47|", mn, mx, nulls, (long long)d.n);
  mt_rows_free(&d);
  assert_string_equal(r.v[2], want);
  assert_true(atoi(nulls) > 0); /* the fixture has nulls in v */
  mt_rows_free(&q);
  mt_rows_free(&r);
  /* SUMMARIZE of a SELECT, with a filter */
  r = run(&e, "SUMMARIZE SELECT k FROM m WHERE P = 'b' AND k < 2");
  q = run(&e, "SELECT count(*), min(k), max(k) FROM m WHERE P = 'b' AND k < 2");
  d = run(&e, "SELECT DISTINCT k FROM m WHERE P = 'b' AND k < 2");
  long long n = 0, u = d.n, lo = 0, hi = 0;
  mt_rows_free(&d);
  assert_int_equal(sscanf(q.v[0], "%lld|%lld|%lld", &n, &lo, &hi), 3);
  assert_int_equal(r.n, 1);
  snprintf(want, sizeof want, "k|int64|%lld|%lld|0|%lld|%lld|", lo, hi, u, n);
  assert_string_equal(r.v[0], want);
  mt_rows_free(&q);
  mt_rows_free(&r);
  mt_close(&e);
}

static bool has_line(const mt_rows *r, const char *line) {
  for (int64_t i = 0; i < r->n; i++)
    if (strcmp(r->v[i], line) == 0) return true;
  return false;
}

static void test_explain(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  mt_rows r = run(&e, "EXPLAIN SELECT k, sum(v) AS total FROM m WHERE P = 'a' AND x > 0.5 GROUP BY k "
                      "ORDER BY total DESC LIMIT 3 OFFSET 1");
  /* the statement as parsed comes first */
  assert_string_equal(r.v[0], "statement: SELECT k, sum(v) AS \"total\" FROM m WHERE P = 'a' AND x > 0.5 GROUP BY k "
                              "ORDER BY total DESC LIMIT 3 OFFSET 1|");
  assert_string_equal(r.v[1], "source: m|");
  assert_true(has_line(&r, "locations: 1 kept, 2 pruned by partition filters|"));
  assert_true(has_line(&r, "kept: P=a|"));
  assert_true(has_line(&r, "rows: 30 in the kept locations|"));
  assert_true(has_line(&r, "columns read: \"k\", \"v\", \"x\"|"));
  assert_true(has_line(&r, "partition columns (from location keys): \"P\"|"));
  assert_true(has_line(&r, "filter: P = 'a' AND x > 0.5|"));
  assert_true(has_line(&r, "aggregate: GROUP BY k|"));
  assert_true(has_line(&r, "project: k, total|"));
  assert_true(has_line(&r, "top-N: ORDER BY total DESC (keeps 4 rows)|"));
  assert_true(has_line(&r, "limit: 3 offset 1|"));
  mt_rows_free(&r);
  r = run(&e, "EXPLAIN SELECT * FROM m");
  assert_string_equal(r.v[0], "statement: SELECT * FROM m|");
  assert_true(has_line(&r, "locations: 3 (no partition filter)|"));
  assert_true(has_line(&r, "columns read: \"k\", \"v\", \"x\", \"s\"|"));
  mt_rows_free(&r);
  /* nothing was read: the plan comes from location keys and sizes */
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, NULL), 0);
  /* composition: the text before planning rewrote the subqueries into literals */
  r = run(&e, "EXPLAIN WITH t AS (SELECT k FROM m) SELECT k FROM t WHERE k IN (SELECT k FROM m WHERE v > 9)");
  assert_string_equal(r.v[0], "statement: WITH \"t\" AS (SELECT k FROM m) SELECT k FROM t WHERE k IN (SELECT k "
                              "FROM m WHERE v > 9)|");
  mt_rows_free(&r);
  /* no FROM: the source line says so (fuzz_sql: it printed a NULL source) */
  r = run(&e, "EXPLAIN SELECT 1 + 2 AS x");
  assert_true(has_line(&r, "source: none (SELECT without FROM: one row)|"));
  mt_rows_free(&r);
  mt_close(&e);
}

static void test_errors(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  td_error err;
  assert_int_equal(fails(&e, "DESCRIBE nope", &err), TD_ENOTFOUND);
  assert_int_equal(err.position, 9);
  TD_ASSERT_CONTAINS(err.message, "no table nope");
  assert_int_equal(fails(&e, "SUMMARIZE nope", &err), TD_ENOTFOUND);
  /* DESCRIBE of a bad SELECT: the SELECT's error at its position */
  assert_int_equal(fails(&e, "DESCRIBE SELECT k, nosuch FROM m", &err), TD_ETYPE);
  assert_int_equal(err.position, 19);
  TD_ASSERT_CONTAINS(err.message, "nosuch");
  assert_int_equal(fails(&e, "DESCRIBE SELECT k FROM m WHERE", &err), TD_EPARSE);
  assert_int_equal(err.position, 30);
  assert_int_equal(fails(&e, "DESCRIBE", &err), TD_EPARSE);
  TD_ASSERT_CONTAINS(err.message, "table name");
  /* EXPLAIN takes a SELECT */
  assert_int_equal(fails(&e, "EXPLAIN m", &err), TD_EPARSE);
  TD_ASSERT_CONTAINS(err.message, "SELECT");
  assert_int_equal(err.position, 8);
  /* COPY runs (tests/query/test_copy.c); inside another statement it is refused */
  assert_int_equal(fails(&e, "COPY (SELECT * FROM m)", &err), TD_EPARSE);
  TD_ASSERT_CONTAINS(err.message, "expected TO");
  assert_int_equal(fails(&e, "EXPLAIN COPY m", &err), TD_EPARSE);
  TD_ASSERT_CONTAINS(err.message, "COPY is not supported");
  mt_close(&e);
}

/* The streaming entry point gives the same rows. */
static void test_stream(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = mt_resolve;
  qo.resolver_ctx = &e;
  td_error err;
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_query_stream("DESCRIBE m", &qo, &st, &err), &err);
  assert_int_equal(mt_stream_rows(&st), 5);
  mt_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_describe_source), cmocka_unit_test(test_describe_select),
      cmocka_unit_test(test_summarize),       cmocka_unit_test(test_explain),
      cmocka_unit_test(test_errors),          cmocka_unit_test(test_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
