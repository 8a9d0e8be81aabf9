/*
 * tests/query/test_setops.c - INTERSECT [ALL] and EXCEPT [ALL]
 * (query/setops.c): results against a naive bag computation over the two
 * sides' rows, precedence and parenthesized terms, live results after
 * random appends and new locations against the same query on a static
 * table, error messages at their tokens, allocation failures; ORDER BY
 * inside string_agg / first / last and the refusal of list aggregates.
 */
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/sql.h"
#include "table/table.h"
#include "tabledata.h"
#include "test.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The rows of `a op b` computed naively from both sides' sorted rows:
 * how often each row occurs on either side decides its count. */
static mt_rows reference(mt_rows *a, mt_rows *b, bool intersect, bool all) {
  mt_rows out = {calloc((size_t)a->n + 1, sizeof(char *)), 0};
  for (int64_t i = 0; i < a->n;) {
    int64_t j = i;
    while (j < a->n && strcmp(a->v[j], a->v[i]) == 0) j++;
    int64_t l = j - i, r = 0;
    for (int64_t k = 0; k < b->n; k++) r += strcmp(b->v[k], a->v[i]) == 0;
    int64_t n = intersect ? (all ? (l < r ? l : r) : (r > 0)) : (all ? (l > r ? l - r : 0) : (r == 0));
    for (int64_t k = 0; k < n; k++) out.v[out.n++] = strdup(a->v[i]);
    i = j;
  }
  qsort(out.v, (size_t)out.n, sizeof *out.v, cmp_str);
  return out;
}

static void assert_rows(mt_rows *got, mt_rows *want, const char *sql) {
  if (got->n != want->n) fail_msg("%s: %lld rows, expected %lld", sql, (long long)got->n, (long long)want->n);
  for (int64_t i = 0; i < got->n; i++)
    if (strcmp(got->v[i], want->v[i]) != 0) fail_msg("%s: row %lld '%s', expected '%s'", sql, (long long)i, got->v[i], want->v[i]);
}

static const char *const LEFT[] = {"SELECT k FROM m WHERE v > 100", "SELECT k, s FROM m", "SELECT v % 3 AS r FROM m",
                                   "SELECT s, P FROM m WHERE k < 3"};
static const char *const RIGHT[] = {"SELECT k FROM m WHERE s <> 's1'", "SELECT k, s FROM m WHERE v IS NULL OR v < 200",
                                    "SELECT v % 4 FROM m WHERE k > 0", "SELECT s, P FROM m WHERE k >= 2"};
static const char *const OPS[] = {"INTERSECT", "INTERSECT ALL", "EXCEPT", "EXCEPT ALL"};

/* Every pair of sides and operation against the naive computation, on `e`
 * as it is; with `live`, also a live query's current result. */
static void check_all(mt_env *e, td_table **live) {
  for (int p = 0; p < 4; p++)
    for (int o = 0; o < 4; o++) {
      char sql[512];
      snprintf(sql, sizeof sql, "%s %s %s", LEFT[p], OPS[o], RIGHT[p]);
      td_table *l = mt_run(e, LEFT[p], false), *r = mt_run(e, RIGHT[p], false), *t = mt_run(e, sql, false);
      mt_rows lr = mt_rows_of(l, true), rr = mt_rows_of(r, true), got = mt_rows_of(t, true);
      mt_rows want = reference(&lr, &rr, o < 2, o % 2 == 1);
      assert_rows(&got, &want, sql);
      if (live) {
        mt_rows lv = mt_rows_of(live[p * 4 + o], true);
        assert_rows(&lv, &want, sql);
        mt_rows_free(&lv);
      }
      mt_rows_free(&lr);
      mt_rows_free(&rr);
      mt_rows_free(&got);
      mt_rows_free(&want);
      td_table_release(l);
      td_table_release(r);
      td_table_release(t);
    }
}

static void test_against_reference(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  check_all(&e, NULL);
  mt_close(&e);
}

static void expect_text(mt_env *e, const char *sql, const char *want) {
  td_query_options o = {.resolver = mt_resolve, .resolver_ctx = e};
  mt_expect_rows(&o, sql, false, want);
}

static void test_precedence_and_nulls(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  /* INTERSECT binds tighter than UNION and EXCEPT */
  expect_text(&e, "SELECT 1 AS a UNION SELECT 2 INTERSECT SELECT 3", "1|;");
  expect_text(&e, "SELECT 3 AS a INTERSECT SELECT 2 UNION SELECT 1", "1|;");
  expect_text(&e, "(SELECT 1 AS a UNION SELECT 2) INTERSECT SELECT 2", "2|;");
  expect_text(&e, "SELECT 1 AS a UNION ALL SELECT 2 EXCEPT SELECT 2 ORDER BY a", "1|;");
  /* EXCEPT is left-associative */
  expect_text(&e, "SELECT 1 AS a UNION ALL SELECT 2 UNION ALL SELECT 3 EXCEPT SELECT 3 EXCEPT SELECT 1", "2|;");
  /* nulls are equal, ALL counts them */
  expect_text(&e,
              "(SELECT CAST(NULL AS BIGINT) AS a UNION ALL SELECT CAST(NULL AS BIGINT) UNION ALL SELECT CAST(NULL AS BIGINT) UNION ALL SELECT 1) "
              "INTERSECT ALL (SELECT CAST(NULL AS BIGINT) UNION ALL SELECT CAST(NULL AS BIGINT) UNION ALL SELECT 1 UNION ALL SELECT 1) "
              "ORDER BY a",
              "1|;null|;null|;");
  expect_text(&e, "(SELECT 5 AS a UNION ALL SELECT 5 UNION ALL SELECT 5) EXCEPT ALL SELECT 5", "5|;5|;");
  expect_text(&e, "(SELECT 5 AS a UNION ALL SELECT 5) EXCEPT SELECT 6", "5|;");
  /* a leading run of INTERSECTs is left-associative (ALL then DISTINCT: one row) */
  expect_text(&e, "(SELECT 5 AS a UNION ALL SELECT 5) INTERSECT ALL (SELECT 5 UNION ALL SELECT 5) INTERSECT SELECT 5",
              "5|;");
  expect_text(&e, "(SELECT 5 AS a UNION ALL SELECT 5) INTERSECT (SELECT 5 UNION ALL SELECT 5) INTERSECT ALL SELECT 5",
              "5|;");
  /* ORDER BY / LIMIT after a parenthesized last term apply to the whole */
  expect_text(&e, "SELECT k FROM m INTERSECT (SELECT k FROM m) ORDER BY k DESC LIMIT 2", "4|;3|;");
  /* the names are the first term's; numbers widen */
  expect_text(&e, "SELECT CAST(2 AS INTEGER) AS w INTERSECT SELECT 2.0", "2|;");
  /* in a CTE and under an aggregation */
  expect_text(&e, "WITH t AS (SELECT k FROM m EXCEPT SELECT k FROM m WHERE k > 1) SELECT count(*) AS n, sum(k) AS s FROM t",
              "2|1|;");
  mt_close(&e);
}

/* A live set operation after random appends and new locations equals the
 * same query on a static table (and the naive computation). */
static void test_live(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  td_error err;
  mt_add_rows(&e, "a", 5);
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  td_table *live[16];
  for (int p = 0; p < 4; p++)
    for (int o = 0; o < 4; o++) {
      char sql[512];
      snprintf(sql, sizeof sql, "%s %s %s", LEFT[p], OPS[o], RIGHT[p]);
      live[p * 4 + o] = mt_run(&e, sql, true);
      assert_true(td_table_is_refreshing(live[p * 4 + o]));
    }
  static const char *parts[4] = {"a", "b", "c", "d"};
  for (int step = 0; step < 8; step++) {
    int n_ops = 1 + rand_r(&e.seed) % 3;
    for (int i = 0; i < n_ops; i++) mt_add_rows(&e, parts[rand_r(&e.seed) % 4], rand_r(&e.seed) % 23);
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    check_all(&e, live);
  }
  /* a compound with an ORDER BY over the whole, in order */
  static const char *sql = "SELECT k, s FROM m WHERE v > 200 UNION ALL SELECT k, s FROM m INTERSECT ALL "
                           "SELECT k, s FROM m WHERE k < 3 ORDER BY k, s LIMIT 12";
  td_table *lt = mt_run(&e, sql, true);
  for (int step = 0; step < 4; step++) {
    mt_add_rows(&e, parts[rand_r(&e.seed) % 4], 1 + rand_r(&e.seed) % 23);
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    td_table *st = mt_run(&e, sql, false);
    mt_assert_same_rows(lt, st, false);
    td_table_release(st);
  }
  td_table_release(lt);
  for (int i = 0; i < 16; i++) td_table_release(live[i]);
  mt_close(&e);
}

static void check_error(mt_env *e, const char *sql, int code, int64_t pos, const char *msg) {
  td_query_options o = {.resolver = mt_resolve, .resolver_ctx = e};
  mt_expect_error_at(&o, sql, code, pos, msg);
}

static void test_errors(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  check_error(&e, "SELECT k FROM m ORDER BY k INTERSECT SELECT k FROM m", TD_EPARSE, 25,
              "ORDER BY or LIMIT before INTERSECT is not supported");
  check_error(&e, "SELECT k FROM m LIMIT 3 EXCEPT SELECT k FROM m", TD_EPARSE, 22,
              "ORDER BY or LIMIT before EXCEPT is not supported");
  check_error(&e, "SELECT k FROM m INTERSECT BY NAME SELECT k FROM m", TD_EPARSE, 26, "BY NAME is not supported");
  check_error(&e, "SELECT k, s FROM m EXCEPT SELECT k FROM m", TD_ETYPE, 26,
              "the first SELECT has 2 columns but SELECT 2 has 1");
  check_error(&e, "SELECT k FROM m INTERSECT SELECT s FROM m", TD_ETYPE, 26, "column 1: int64 vs utf8");
  check_error(&e, "SELECT k FROM m EXCEPT", TD_EPARSE, 22, "expected SELECT");
  check_error(&e, "SELECT k FROM m INTERSECT (SELECT k FROM m", TD_EPARSE, 42, "expected ')' after the subquery");
  mt_close(&e);
}

/* ORDER BY inside string_agg / first / last (query/agg_order.c). */
static void test_agg_order(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  static const char *rows = "WITH t AS (SELECT 3 AS o, 'c' AS s, 'p' AS g UNION ALL SELECT 1, 'a', 'p' UNION ALL "
                            "SELECT 2, 'b', 'q' UNION ALL SELECT 5, 'e', 'p' UNION ALL SELECT 4, 'd', 'q') ";
  char sql[512];
  snprintf(sql, sizeof sql, "%sSELECT string_agg(s, ',' ORDER BY o) AS x, first(s ORDER BY o) AS f, "
           "last(s ORDER BY o) AS l, count(*) AS n, sum(o ORDER BY s DESC) AS t FROM t", rows);
  expect_text(&e, sql, "a,b,c,d,e|a|e|5|15|;");
  snprintf(sql, sizeof sql, "%sSELECT g, string_agg(s, '' ORDER BY o DESC) AS x FROM t GROUP BY g ORDER BY g", rows);
  expect_text(&e, sql, "p|eca|;q|db|;");
  snprintf(sql, sizeof sql, "%sSELECT string_agg(s, '' ORDER BY o %% 2, o DESC) AS x FROM t WHERE o > 1", rows);
  expect_text(&e, sql, "dbec|;");
  /* the default name prints the ORDER BY */
  td_query_options o = {.resolver = mt_resolve, .resolver_ctx = &e};
  td_table *t = NULL;
  td_error err;
  TD_ASSERT_OK(td_query("SELECT string_agg(s, ',' ORDER BY k DESC, v) FROM m", &o, &t, &err), &err);
  assert_string_equal(t->def->fields[0].name, "string_agg(s, ',' ORDER BY k DESC, v)");
  td_table_release(t);
  /* against a grouped query over the rows sorted first */
  static const char *q = "SELECT k, string_agg(s, '|' ORDER BY v DESC, x) AS a, first(x ORDER BY v DESC, x) AS f "
                         "FROM m GROUP BY k";
  mt_add_rows(&e, "a", 40);
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  td_table *live = mt_run(&e, q, true);
  static const char *parts[4] = {"a", "b", "c", "d"};
  for (int step = 0; step < 5; step++) {
    td_table *st = mt_run(&e, q, false);
    mt_assert_same_rows(live, st, true);
    td_table_release(st);
    mt_add_rows(&e, parts[rand_r(&e.seed) % 4], 1 + rand_r(&e.seed) % 23);
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  }
  td_table_release(live);
  /* errors at their tokens */
  check_error(&e, "SELECT string_agg(s, ',' ORDER BY k), first(s ORDER BY v) FROM m", TD_EPARSE, 38,
              "aggregates ordered by different ORDER BY lists are not supported");
  check_error(&e, "SELECT lower(s ORDER BY k) FROM m", TD_EPARSE, 15, "ORDER BY inside lower(...) is not supported");
  check_error(&e, "SELECT string_agg(s, ',' ORDER BY k NULLS FIRST) FROM m", TD_EPARSE, 36,
              "NULLS FIRST/LAST inside string_agg(... ORDER BY) is not supported");
  check_error(&e, "SELECT k, array_agg(s) FROM m GROUP BY k", TD_EPARSE, 10, "array_agg(): list results are not supported");
  check_error(&e, "SELECT list(s ORDER BY k) FROM m", TD_EPARSE, 7, "list(): list results are not supported");
  check_error(&e, "SELECT first(s ORDER BY k) OVER (PARTITION BY k) FROM m", TD_EPARSE, 27,
              "ORDER BY inside first(...) with OVER is not supported");
  check_error(&e, "SELECT string_agg(s, ',' ORDER k) FROM m", TD_EPARSE, 31, "expected BY after ORDER");
  mt_close(&e);
}

/* td_select_print of composed statements: the canonical text, and that it
 * parses back to the same text. */
static void round_trip(const char *in, const char *canon) { mt_sql_round_trip(in, canon); }

static void test_print(void **state) {
  (void)state;
  round_trip("select k from m intersect all select k from m where v > 1 except select 3 order by k limit 2",
             "SELECT k FROM m INTERSECT ALL SELECT k FROM m WHERE v > 1 EXCEPT SELECT 3 ORDER BY k LIMIT 2");
  round_trip("SELECT 1 AS a INTERSECT ALL SELECT 1 INTERSECT SELECT 1 UNION SELECT 2 INTERSECT SELECT 2",
             "SELECT 1 AS \"a\" INTERSECT ALL SELECT 1 INTERSECT SELECT 1 UNION (SELECT 2 INTERSECT SELECT 2)");
  round_trip("SELECT 1 AS a UNION SELECT 2 INTERSECT SELECT 3",
             "SELECT 1 AS \"a\" UNION (SELECT 2 INTERSECT SELECT 3)");
  round_trip("(SELECT k FROM m ORDER BY k LIMIT 1) UNION ALL (SELECT k FROM m) OFFSET 1",
             "(SELECT k FROM m ORDER BY k LIMIT 1) UNION ALL SELECT k FROM m OFFSET 1");
  round_trip("WITH a AS (SELECT k FROM m), b AS (SELECT * FROM a) SELECT * FROM b",
             "WITH \"a\" AS (SELECT k FROM m), \"b\" AS (SELECT * FROM a) SELECT * FROM b");
  round_trip("EXPLAIN SELECT k FROM (SELECT k FROM m) x JOIN (SELECT k FROM m) y USING (k)",
             "EXPLAIN SELECT k FROM (SELECT k FROM m) AS \"x\" JOIN (SELECT k FROM m) AS \"y\" USING (\"k\")");
  round_trip("SELECT k, (SELECT max(v) FROM m) AS mx FROM m WHERE k IN (SELECT k FROM m WHERE EXISTS (SELECT 1 FROM m)) "
             "AND NOT EXISTS (SELECT 2)",
             "SELECT k, (SELECT max(v) FROM m) AS \"mx\" FROM m WHERE k IN (SELECT k FROM m WHERE EXISTS (SELECT 1 "
             "FROM m)) AND NOT EXISTS (SELECT 2)");
  /* a call that looks like a placeholder is printed as written, inside a
   * subquery too (it was expanded with the subquery's text, which held it
   * again: the printer never ended) */
  round_trip("SELECT k IN (SELECT e__in_subquery() FROM m)", "SELECT k IN (SELECT e__in_subquery() FROM m)");
  round_trip("SELECT __exists(x), (SELECT __scalar_subquery(0) FROM m) AS a FROM m",
             "SELECT __exists(x), (SELECT __scalar_subquery(0) FROM m) AS \"a\" FROM m");
  round_trip("SELECT string_agg(s, ',' ORDER BY k DESC, v) AS a FROM m",
             "SELECT string_agg(s, ',' ORDER BY k DESC, v) AS \"a\" FROM m");
}

static void test_alloc_failures(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  static const char *sql = "SELECT k, s FROM m INTERSECT ALL SELECT k, s FROM m WHERE v > 100 EXCEPT SELECT 1, 's1'";
  td_query_options o = {.resolver = mt_resolve, .resolver_ctx = &e};
  mt_query_alloc_sweep(&o, sql, true);
  mt_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_reference), cmocka_unit_test(test_precedence_and_nulls),
      cmocka_unit_test(test_live), cmocka_unit_test(test_errors), cmocka_unit_test(test_agg_order),
      cmocka_unit_test(test_print), cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
