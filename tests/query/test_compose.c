/*
 * tests/query/test_compose.c - SQL composition (query/compose.c,
 * query/union.c): WITH, subqueries in FROM and JOIN, UNION [ALL], IN /
 * EXISTS / scalar subqueries and SELECT without FROM, against equivalent
 * queries without composition; live results after random appends and new
 * locations against the same query on a static table; error messages at
 * their tokens.
 */
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/expr.h"
#include "tabledata.h"
#include "test.h"

static char *text_of(mt_env *e, const char *sql) {
  td_table *t = mt_run(e, sql, false);
  char *s = mt_table_text(t, true);
  td_table_release(t);
  return s;
}

/* Two queries give the same rows (as multisets unless ordered). */
static void same(mt_env *e, const char *a, const char *b, bool ordered) {
  td_table *x = mt_run(e, a, false), *y = mt_run(e, b, false);
  mt_assert_same_rows(x, y, !ordered);
  td_table_release(x);
  td_table_release(y);
}

static void expect_text(mt_env *e, const char *sql, const char *want) {
  td_query_options o = {.resolver = mt_resolve, .resolver_ctx = e};
  mt_expect_rows(&o, sql, true, want);
}

static void test_with_and_subqueries(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  /* a CTE, referenced by a later CTE and twice in the body */
  same(&e, "WITH t AS (SELECT k, v, s FROM m WHERE v > 100) SELECT k, count(*) AS n, sum(v) AS sv FROM t GROUP BY k",
       "SELECT k, count(*) AS n, sum(v) AS sv FROM m WHERE v > 100 GROUP BY k", false);
  same(&e, "WITH a AS (SELECT k, s FROM m), b AS (SELECT k, s FROM a WHERE s <> 's1') "
           "SELECT x.k, y.s FROM b x JOIN a y USING (k)",
       "SELECT x.k, y.s FROM m x JOIN m y USING (k) WHERE x.s <> 's1'", false);
  /* a CTE shadows a source of the same name */
  same(&e, "WITH m AS (SELECT k FROM m WHERE k = 2) SELECT * FROM m", "SELECT k FROM m WHERE k = 2", false);
  /* FROM and JOIN subqueries, with aliases and qualified columns */
  same(&e, "SELECT t.k, t.n FROM (SELECT k, count(*) AS n FROM m GROUP BY k) AS t WHERE t.n > 2 ORDER BY t.k",
       "SELECT k, count(*) AS n FROM m GROUP BY k HAVING count(*) > 2 ORDER BY k", true);
  /* HAVING names select aliases, also one that is an ungrouped column (v), as in DuckDB */
  same(&e, "SELECT k, count(*) AS n, sum(v) AS v FROM m GROUP BY k HAVING n > 2 AND v > 0 ORDER BY k",
       "SELECT k, count(*) AS n, sum(v) AS v FROM m GROUP BY k HAVING count(*) > 2 AND sum(v) > 0 ORDER BY k", true);
  same(&e, "SELECT a.k, a.v, b.n FROM m a JOIN (SELECT k, count(*) AS n FROM m GROUP BY k) b USING (k)",
       "WITH b AS (SELECT k, count(*) AS n FROM m GROUP BY k) SELECT a.k, a.v, b.n FROM m a JOIN b USING (k)", false);
  same(&e, "SELECT * FROM (SELECT * FROM (SELECT k, v FROM m WHERE v IS NOT NULL) x WHERE k > 1) y",
       "SELECT k, v FROM m WHERE v IS NOT NULL AND k > 1", false);
  /* ORDER BY ALL: every item left to right, after '*' is expanded, over a union too */
  same(&e, "SELECT s, k FROM m ORDER BY ALL", "SELECT s, k FROM m ORDER BY 1, 2", true);
  same(&e, "SELECT * FROM m ORDER BY ALL DESC NULLS FIRST LIMIT 9",
       "SELECT * FROM m ORDER BY 1 DESC NULLS FIRST, 2 DESC NULLS FIRST, 3 DESC NULLS FIRST, 4 DESC NULLS FIRST, "
       "5 DESC NULLS FIRST LIMIT 9", true);
  same(&e, "SELECT k FROM m WHERE k < 2 UNION SELECT k FROM m ORDER BY ALL DESC", "SELECT DISTINCT k FROM m ORDER BY k DESC",
       true);
  /* SELECT without FROM */
  expect_text(&e, "SELECT 1 + 2 AS a, 'a' || 'b' AS b", "3|ab|;");
  expect_text(&e, "SELECT 1 AS a WHERE false", "");
  mt_close(&e);
}

/* Rows a fresh service over m receives from the backend for `sql`. */
static int64_t rows_received(const char *sql) {
  mt_env e;
  mt_open(&e, 8, false);
  td_table *t = mt_run(&e, sql, false);
  td_table_release(t);
  td_counters c;
  td_service_counters(e.svc, &c);
  mt_close(&e);
  return c.rows_received;
}

/* A FROM subquery computes only the items its outer statement reads (and
 * those its own ORDER BY names); one that could change rows by an item
 * (DISTINCT, aggregation, a set operation, QUALIFY) or whose ORDER BY names
 * a position keeps them all. */
static void test_subquery_pruning(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  same(&e, "SELECT count(*) AS n FROM (SELECT * FROM m WHERE v > 100) t", "SELECT count(*) AS n FROM m WHERE v > 100",
       false);
  same(&e, "SELECT sum(t.x) AS sx FROM (SELECT *, k + 1 AS k1 FROM m) t WHERE t.k1 > 2",
       "SELECT sum(x) AS sx FROM m WHERE k + 1 > 2", false);
  /* an ORDER BY alias and a top-N inside: the ordering item stays */
  same(&e, "SELECT s FROM (SELECT s, v AS w, x FROM m ORDER BY w DESC NULLS LAST, s LIMIT 5) t",
       "SELECT s FROM (SELECT s, v FROM m ORDER BY v DESC NULLS LAST, s LIMIT 5) t", false);
  same(&e, "SELECT s FROM (SELECT s, v, x FROM m ORDER BY 2 DESC NULLS LAST, 1 LIMIT 5) t",
       "SELECT s FROM (SELECT s, v FROM m ORDER BY v DESC NULLS LAST, s LIMIT 5) t", false);
  /* rows depend on every item: nothing is pruned */
  same(&e, "SELECT count(*) AS n FROM (SELECT DISTINCT k, s FROM m) t",
       "SELECT count(*) AS n FROM (SELECT k, s FROM m GROUP BY k, s) t", false);
  expect_text(&e, "SELECT count(*) AS n FROM (SELECT 'a' AS c, sum(v) AS sv FROM m) t", "1|;");
  same(&e, "SELECT count(*) AS n FROM (SELECT k FROM m UNION SELECT k FROM m) t", "SELECT count(DISTINCT k) AS n FROM m",
       false);
  same(&e, "SELECT count(*) AS n FROM (SELECT k, s, row_number() OVER (PARTITION BY k ORDER BY s) AS r FROM m "
           "QUALIFY r = 1) t",
       "SELECT count(DISTINCT k) AS n FROM m", false);
  /* none read: one item is still computed, and the count is the rows' */
  expect_text(&e, "SELECT count(*) AS n FROM (SELECT k, v FROM m) t", "47|;");
  expect_text(&e, "SELECT 1 AS one FROM (SELECT k FROM m WHERE k = 1) t LIMIT 1", "1|;");
  mt_close(&e);
  /* the backend is asked for the columns read alone */
  int64_t all = rows_received("SELECT count(*) AS n FROM (SELECT k, v, x, s FROM m WHERE x > 0) t WHERE s IS NOT NULL");
  int64_t two = rows_received("SELECT count(*) AS n FROM (SELECT x, s FROM m WHERE x > 0) t WHERE s IS NOT NULL");
  int64_t every = rows_received("SELECT count(*) AS n FROM (SELECT DISTINCT k, v, x, s FROM m WHERE x > 0) t");
  assert_true(two > 0);
  assert_int_equal(all, two);
  assert_true(every > two);
}

static void test_union(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  same(&e, "SELECT count(*) AS n, sum(k) AS sk FROM (SELECT k FROM m UNION ALL SELECT k FROM m WHERE v > 200)",
       "SELECT (SELECT count(*) FROM m) + (SELECT count(*) FROM m WHERE v > 200) AS n, "
       "(SELECT sum(k) FROM m) + (SELECT sum(k) FROM m WHERE v > 200) AS sk", false);
  same(&e, "SELECT s FROM m UNION SELECT s FROM m WHERE k = 1", "SELECT DISTINCT s FROM m", false);
  /* ORDER BY and LIMIT apply to the whole union; names come from the first SELECT */
  same(&e, "SELECT k AS a, s FROM m WHERE k < 2 UNION ALL SELECT k, s FROM m WHERE k >= 2 ORDER BY a, s LIMIT 5 OFFSET 2",
       "SELECT k AS a, s FROM m ORDER BY a, s LIMIT 5 OFFSET 2", true);
  /* mixed UNION and UNION ALL, left to right */
  expect_text(&e, "SELECT 1 AS x UNION ALL SELECT 1 UNION ALL SELECT 2 ORDER BY x", "1|;1|;2|;");
  expect_text(&e, "SELECT 1 AS x UNION ALL SELECT 1 UNION SELECT 2 ORDER BY x", "1|;2|;");
  /* numeric columns widen */
  td_table *t = mt_run(&e, "SELECT k FROM m UNION ALL SELECT x FROM m", false);
  assert_int_equal(td_table_column_type(t, 0), TD_TYPE_FLOAT64);
  td_table_release(t);
  t = mt_run(&e, "SELECT 1::TINYINT AS a UNION ALL SELECT 2::INTEGER", false);
  assert_int_equal(td_table_column_type(t, 0), TD_TYPE_INT32);
  td_table_release(t);
  /* a union as a CTE and as a join side */
  same(&e, "WITH u AS (SELECT k, s FROM m WHERE k = 0 UNION ALL SELECT k, s FROM m WHERE k = 1) "
           "SELECT u.k, u.s, c.n FROM u JOIN (SELECT k, count(*) AS n FROM m GROUP BY k) c USING (k)",
       "SELECT a.k, a.s, c.n FROM m a JOIN (SELECT k, count(*) AS n FROM m GROUP BY k) c USING (k) WHERE a.k <= 1",
       false);
  mt_close(&e);
}

static void test_expression_subqueries(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  same(&e, "SELECT k, v FROM m WHERE k IN (SELECT k FROM m WHERE s = 's1')",
       "SELECT a.k, a.v FROM m a SEMI JOIN (SELECT DISTINCT k FROM m WHERE s = 's1') b USING (k)", false);
  same(&e, "SELECT k, v FROM m WHERE v NOT IN (SELECT v FROM m WHERE k = 3 AND v IS NOT NULL)",
       "SELECT a.k, a.v FROM m a ANTI JOIN (SELECT DISTINCT v FROM m WHERE k = 3 AND v IS NOT NULL) b USING (v) "
       "WHERE a.v IS NOT NULL", false);
  /* the ORDER BY of an IN subquery without LIMIT orders nothing (the list
   * is planned DISTINCT, its ORDER BY dropped: here by a column it does not
   * select); with a LIMIT it picks the rows */
  same(&e, "SELECT k, v FROM m WHERE k IN (SELECT k FROM m WHERE s = 's1' ORDER BY v DESC)",
       "SELECT a.k, a.v FROM m a SEMI JOIN (SELECT DISTINCT k FROM m WHERE s = 's1') b USING (k)", false);
  same(&e, "SELECT k, v FROM m WHERE k IN (SELECT k FROM m WHERE v IS NOT NULL ORDER BY v DESC, k LIMIT 1)",
       "SELECT k, v FROM m WHERE k = (SELECT k FROM m WHERE v IS NOT NULL ORDER BY v DESC, k LIMIT 1)", false);
  same(&e, "SELECT k, v FROM m WHERE v IN (SELECT v FROM m WHERE k < 2 UNION ALL SELECT v FROM m WHERE k = 4)",
       "SELECT a.k, a.v FROM m a SEMI JOIN (SELECT DISTINCT v FROM m WHERE k < 2 OR k = 4) b USING (v)", false);
  /* a window in the subquery keeps its rows (no DISTINCT, which windows do not run under) */
  same(&e, "SELECT k, v FROM m WHERE k IN (SELECT max(k) OVER () FROM m)", "SELECT k, v FROM m WHERE k = 4", false);
  /* the list holds each value once (one NULL), with or without a LIMIT */
  static const struct {
    const char *explain, *count;
  } lists[] = {
      {"EXPLAIN SELECT k FROM m WHERE k IN (SELECT k FROM m)", "SELECT count(DISTINCT k) FROM m"},
      {"EXPLAIN SELECT k FROM m WHERE k IN (SELECT k FROM m LIMIT 40)",
       "SELECT count(DISTINCT k) FROM (SELECT k FROM m LIMIT 40) x"},
      {"EXPLAIN SELECT k FROM m WHERE v IN (SELECT v FROM m WHERE k < 2 ORDER BY k)",
       "SELECT count(*) FROM (SELECT DISTINCT v FROM m WHERE k < 2) x"},
      {"EXPLAIN SELECT k FROM m WHERE k IN (SELECT max(k) FROM m)", "SELECT 1"},
  };
  for (int i = 0; i < 4; i++) {
    char *plan = text_of(&e, lists[i].explain), *want = text_of(&e, lists[i].count);
    const char *f = strstr(plan, "filter: ");
    assert_non_null(f);
    int64_t items = 1;
    for (const char *c = strchr(f, '('); *c && *c != ')'; c++) items += *c == ',';
    if (items != atoll(want) || items < 1) fail_msg("%s: %lld items, want %s", plan, (long long)items, want);
    free(plan);
    free(want);
  }
  /* DISTINCT over aggregates without GROUP BY: their one row */
  expect_text(&e, "SELECT DISTINCT max(k) AS a, min(k) AS b FROM m", "4|0|;");
  expect_text(&e, "SELECT DISTINCT count(*) AS n FROM m WHERE k > 9", "0|;");
  /* scalar subqueries, in WHERE and in the select list */
  char *avg = text_of(&e, "SELECT avg(v) FROM m");
  avg[strlen(avg) - 2] = '\0'; /* "123.4|;" */
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT k, v FROM m WHERE v > %s", avg);
  same(&e, "SELECT k, v FROM m WHERE v > (SELECT avg(v) FROM m)", sql, false);
  free(avg);
  same(&e, "SELECT k, (SELECT max(k) FROM m) - k AS d FROM m", "SELECT k, 4 - k AS d FROM m", false);
  /* SQL's NULL semantics of IN and NOT IN */
  expect_text(&e,
              "SELECT 1 IN (SELECT NULL::INT) AS a, 1 NOT IN (SELECT NULL::INT) AS b, "
              "2 NOT IN (SELECT 1 UNION ALL SELECT NULL::INT) AS c, 1 NOT IN (SELECT 2 WHERE false) AS d, "
              "1 IN (SELECT 1 UNION ALL SELECT NULL::INT) AS e, NULL::INT IN (SELECT 2 WHERE false) AS f",
              "null|null|null|true|true|false|;");
  /* EXISTS, a scalar subquery without rows (NULL) */
  expect_text(&e, "SELECT EXISTS (SELECT 1 FROM m WHERE k = 4) AS a, NOT EXISTS (SELECT 1 FROM m WHERE k > 4) AS b, "
                  "(SELECT v FROM m WHERE k > 4) IS NULL AS c",
              "true|true|true|;");
  /* subqueries inside a CTE and a FROM subquery */
  same(&e, "WITH t AS (SELECT k FROM m WHERE k IN (SELECT max(k) FROM m)) SELECT * FROM (SELECT * FROM t WHERE k = "
           "(SELECT max(k) FROM m)) x",
       "SELECT k FROM m WHERE k = 4", false);
  /* a composed query streams */
  td_query_options o = {.resolver = mt_resolve, .resolver_ctx = &e};
  struct ArrowArrayStream st;
  td_error err;
  TD_ASSERT_OK(td_query_stream("WITH t AS (SELECT k FROM m) SELECT k FROM t UNION ALL SELECT 7", &o, &st, &err), &err);
  assert_int_equal(mt_stream_rows(&st), 48);
  mt_close(&e);
}

/* A live composed query after random appends and new locations equals the
 * same query on a static table. */
static void test_live(void **state) {
  (void)state;
  static const struct {
    const char *sql;
    bool ordered;
  } qs[] = {
      {"WITH t AS (SELECT k, v, s FROM m WHERE v > 100) SELECT k, count(*) AS n, sum(v) AS sv FROM t GROUP BY k", false},
      {"SELECT t.k, t.w FROM (SELECT k, v * 2 AS w FROM m WHERE s <> 's2') t WHERE t.w > 300", false},
      {"SELECT k, s FROM m WHERE v > 300 UNION ALL SELECT k, s FROM m WHERE v < 100", false},
      {"SELECT k, x FROM m WHERE k = 1 UNION ALL SELECT k, v FROM m WHERE k = 2 UNION ALL SELECT k, v FROM m WHERE k = 3",
       false},
      {"SELECT s FROM m UNION SELECT P FROM m", false},
      {"SELECT 7 AS k, 'x' AS s UNION ALL SELECT k, s FROM m WHERE v > 300", false},
      {"SELECT k, count(*) AS n FROM m GROUP BY k UNION ALL SELECT -1, count(*) FROM m", false},
      {"SELECT k, s, P, x FROM m WHERE v > 250 UNION ALL SELECT k, s, P, x FROM m WHERE v <= 250 "
       "ORDER BY x, k, s, P LIMIT 9", true},
      {"SELECT u.k, u.n, c.c FROM (SELECT k, count(*) AS n FROM m GROUP BY k) u JOIN "
       "(SELECT k, count(v) AS c FROM m GROUP BY k) c USING (k)", false},
      {"WITH a AS (SELECT k, v FROM m WHERE v > 200), b AS (SELECT k, v FROM a UNION ALL SELECT k, v FROM m WHERE k = 0) "
       "SELECT k, count(*) AS n FROM b GROUP BY k", false},
  };
  for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) {
    mt_env e;
    mt_open(&e, 8, false);
    td_error err;
    mt_add_rows(&e, "a", 5);
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    td_table *live = mt_run(&e, qs[q].sql, true);
    assert_true(td_table_is_refreshing(live));
    static const char *parts[4] = {"a", "b", "c", "d"};
    for (int step = 0; step < 8; step++) {
      int n_ops = 1 + rand_r(&e.seed) % 3;
      for (int i = 0; i < n_ops; i++) mt_add_rows(&e, parts[rand_r(&e.seed) % 4], rand_r(&e.seed) % 23);
      TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
      td_table *st = mt_run(&e, qs[q].sql, false);
      mt_assert_same_rows(live, st, !qs[q].ordered);
      td_table_release(st);
    }
    td_table_release(live);
    mt_close(&e);
  }
}

static void check_error(mt_env *e, const char *sql, int code, int64_t pos, const char *msg) {
  td_query_options o = {.resolver = mt_resolve, .resolver_ctx = e};
  mt_expect_error_at(&o, sql, code, pos, msg);
}

static void test_errors(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  check_error(&e, "WITH RECURSIVE t AS (SELECT 1) SELECT 1", TD_EPARSE, 5, "WITH RECURSIVE is not supported");
  check_error(&e, "WITH t(a) AS (SELECT 1) SELECT 1", TD_EPARSE, 6, "a column list after a WITH name is not supported");
  check_error(&e, "SELECT k FROM m UNION BY NAME SELECT k FROM m", TD_EPARSE, 22, "UNION BY NAME is not supported");
  check_error(&e, "SELECT k FROM m ORDER BY k UNION SELECT k FROM m", TD_EPARSE, 25,
              "ORDER BY or LIMIT before UNION is not supported");
  check_error(&e, "SELECT k, s FROM m UNION ALL SELECT k FROM m", TD_ETYPE, 29,
              "UNION: the first SELECT has 2 columns but SELECT 2 has 1");
  check_error(&e, "SELECT k, s FROM m UNION ALL SELECT k, v FROM m", TD_ETYPE, 29, "UNION column 2: utf8 vs int64");
  check_error(&e, "SELECT (SELECT k FROM m)", TD_ETYPE, 7, "a scalar subquery returned 47 rows");
  check_error(&e, "SELECT (SELECT k, v FROM m LIMIT 1)", TD_ETYPE, 7, "a scalar subquery must select one column");
  check_error(&e, "SELECT 1 WHERE 1 IN (SELECT k, v FROM m)", TD_ETYPE, 20, "IN (SELECT ...) must select one column");
  check_error(&e, "SELECT * FROM m a WHERE v > (SELECT avg(v) FROM m b WHERE b.k = a.k)", TD_EPARSE, 64,
              "correlated subqueries are not supported");
  check_error(&e, "SELECT * FROM (SELECT k FROM m) t WHERE nope > 1", TD_ETYPE, 40, "unknown column 'nope'");
  check_error(&e, "SELECT * FROM (SELECT nope FROM m) t", TD_ETYPE, 22, "unknown column 'nope'");
  check_error(&e, "SELECT * FROM (SELECT k FROM m t", TD_EPARSE, 32, "expected ')' after the subquery");
  check_error(&e, "SELECT *", TD_EPARSE, 7, "SELECT * without FROM is not supported");
  /* a qualified column with no FROM, or over an unnamed subquery (no alias to strip; fuzz_sql) */
  check_error(&e, "SELECT t.a", TD_ETYPE, 7, "unknown column 't.a'");
  check_error(&e, "SELECT t.k FROM (SELECT k FROM m)", TD_ETYPE, 7, "unknown column 't.k'");
  check_error(&e, "SELECT a b c", TD_EPARSE, 11, "expected FROM");
  check_error(&e, "WITH t AS (SELECT 1) SELECT * FROM nope", TD_ENOTFOUND, 35, "nope");
  td_error err;
  td_expr *x = NULL;
  assert_int_equal(td_expr_parse("k IN (SELECT 1)", 15, &x, &err), TD_EPARSE);
  TD_ASSERT_CONTAINS(err.message, "a subquery outside a statement is not supported");
  /* a subquery in an expression of a live query is live (test_query_subq_live.c) */
  td_query_options o = {.resolver = mt_resolve, .resolver_ctx = &e, .refreshing = true};
  td_table *t = NULL;
  TD_ASSERT_OK(td_query("SELECT k FROM m WHERE k IN (SELECT k FROM m WHERE v > 1)", &o, &t, &err), &err);
  assert_true(td_table_is_refreshing(t));
  td_table_release(t);
  mt_close(&e);
}

static void test_alloc_failures(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  static const char *sql =
      "WITH t AS (SELECT k, s FROM m WHERE k IN (SELECT k FROM m WHERE v > 100)) "
      "SELECT k, s FROM t UNION SELECT k, s FROM (SELECT k, s FROM m) x ORDER BY k, s";
  td_query_options o = {.resolver = mt_resolve, .resolver_ctx = &e};
  mt_query_alloc_sweep(&o, sql, false);
  /* the list of a LIMIT's rows goes through the set that keeps each once */
  mt_query_alloc_sweep(&o, "SELECT k, v FROM m WHERE k IN (SELECT k FROM m LIMIT 40) ORDER BY k, v", false);
  mt_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_with_and_subqueries), cmocka_unit_test(test_subquery_pruning),
      cmocka_unit_test(test_union),
      cmocka_unit_test(test_expression_subqueries), cmocka_unit_test(test_live),
      cmocka_unit_test(test_errors), cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
