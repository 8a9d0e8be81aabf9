/*
 * tests/query/test_query_mode.c - the mode() and entropy() aggregates
 * (query/agg_more.c's value counts): hand-computed answers with ties (the
 * first value seen wins), NULLs, -0.0 and NaN, every kind of input type,
 * global and grouped, FILTER, expressions over and inside the aggregate,
 * HAVING and ORDER BY on it, empty and all-NULL input (mode NULL, entropy
 * 0, as DuckDB); the same answers at 1, 2 and 4 threads (ties included);
 * live results after appends (and removals) equal the static query; the C
 * state's counted adds; errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/agg_more.h"
#include "tabledata.h"
#include "test.h"

/* Table "t" (mt_mem_add_t): g, i, f, s; rows
 *   a 1 1.0 x | a 2 4.0 y | a 2 2.0 null | a null null x
 *   b 5 -0.0 z | b null 0.0 null | c null null null
 * table "u": one column n (int64), U_ROWS rows r * 7919 % 1000003 (all
 * distinct). */
enum { U_ROWS = 100000 };

typedef mt_mem env;

static void env_open(env *e) {
  td_error err;
  mt_mem_open(e, 0);
  mt_mem_add_t(e);
  struct ArrowArray cols[1];
  td_builder *n;
  TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &n, &err), &err);
  for (int64_t r = 0; r < U_ROWS; r++) td_builder_append_int(n, r * 7919 % 1000003, NULL);
  TD_ASSERT_OK(td_builder_finish(n, &cols[0], &err), &err);
  td_builder_free(n);
  const char *nn = "n";
  const td_type_id nt = TD_TYPE_INT64;
  mt_mem_add(e, "u", true, "all", 1, &nn, &nt, NULL, cols);
}

static void expect(env *e, const char *sql, const char *want) {
  td_query_options qo = mt_mem_options(e, 1);
  mt_expect_rows(&qo, sql, false, want);
}

static void test_values(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* a: i 1,2,2 (2 twice), f 1,4,2 (a tie: the first), s x,y,x; b: one value
   * each (-0.0 and 0.0 are one value, the first seen kept); c: none */
  expect(&e, "SELECT g, mode(i), mode(f), mode(s), entropy(i), entropy(f), entropy(s) FROM t GROUP BY g ORDER BY g",
         "a|2|1|x|0.9182958340544893|1.5849625007211559|0.9182958340544893|;"
         "b|5|-0|z|0|0|0|;c|null|null|null|0|0|0|;");
  /* global: i 1,2,2,5; s x,y,x,z */
  expect(&e, "SELECT mode(i), mode(s), entropy(i), entropy(s), mode(g), entropy(g) FROM t",
         "2|x|1.5|1.5|a|1.3787834934861753|;");
  /* types through expressions: bool, decimal, date, timestamp, int32, utf8 of numbers */
  expect(&e, "SELECT mode(i > 1), mode(CAST(i AS DECIMAL(10,2))), mode(CAST('2024-01-0' || i AS DATE)), "
             "mode(CAST('2024-01-02 03:04:0' || i AS TIMESTAMP)), mode(CAST(i AS INTEGER)), mode(CAST(i AS VARCHAR)), "
             "entropy(i > 1), entropy(CAST(i AS DECIMAL(10,2))) FROM t",
         "true|2.00|2024-01-02|2024-01-02T03:04:02.000000000Z|2|2|0.8112781244591328|1.5|;");
  /* NaN is one value (all NaNs equal), and so are -0.0 and 0.0: 1, NaN
   * twice, 0 twice (NaN first) */
  expect(&e, "SELECT mode(CASE WHEN i = 2 THEN CAST('nan' AS DOUBLE) ELSE f END), "
             "entropy(CASE WHEN i = 2 THEN CAST('nan' AS DOUBLE) ELSE f END) FROM t",
         "nan|1.5219280948873624|;");
  /* FILTER, inside expressions, HAVING and ORDER BY on it */
  expect(&e, "SELECT g, mode(i) FILTER (WHERE i < 2), mode(i) * 10 + 1, entropy(s) FILTER (WHERE s <> 'y') "
             "FROM t GROUP BY g HAVING mode(f) IS NOT NULL ORDER BY mode(i) DESC",
         "b|null|51|0|;a|1|21|0|;");
  /* empty and all-NULL input: mode NULL, entropy 0 (DuckDB) */
  expect(&e, "SELECT mode(i), entropy(i), mode(s), entropy(s) FROM t WHERE i > 100", "null|0|null|0|;");
  expect(&e, "SELECT mode(i), entropy(i) FROM t WHERE g = 'c'", "null|0|;");
  /* several keys */
  expect(&e, "SELECT g, i IS NULL AS k, mode(s), entropy(f) FROM t GROUP BY g, k ORDER BY g, k",
         "a|false|x|1.5849625007211559|;a|true|x|0|;b|false|z|0|;b|true|null|0|;c|true|null|0|;");
  mt_mem_close(&e);
}

/* Ties broken by the first row: every value of u is distinct, so mode is
 * the group's first value; the same at 1, 2 and 4 threads (partial states
 * merge in row order), grouped (also 20,000 groups) and global. */
static void test_threads(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const qs[] = {
      "SELECT n % 97 AS g, mode(n), mode(n % 13), entropy(n % 13), mode(CAST(n % 7 AS VARCHAR)), mode(n * 0.5), "
      "entropy(CAST(n % 5 AS VARCHAR)) FROM u GROUP BY g ORDER BY g",
      "SELECT n % 20000 AS g, mode(n % 3), entropy(n % 3) FROM u GROUP BY g ORDER BY g",
      "SELECT mode(n), mode(n % 1000), entropy(n % 1000), mode(CAST(n % 333 AS VARCHAR)), entropy(n) FROM u",
  };
  for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) mt_mem_same_threads(&e, qs[q]);
  /* the first row's value: r = 0 gives 0, r = 1 gives 7919 */
  expect(&e, "SELECT mode(n), mode(n % 1000) FROM u", "0|576|;"); /* 576 is the first of the values seen 104 times */
  expect(&e, "SELECT mode(n) FROM u WHERE n > 0", "7919|;");
  td_query_options qo = mt_mem_options(&e, 4);
  mt_expect_rows(&qo, "SELECT mode(n), mode(n % 1000) FROM u WHERE n > 0", false, "7919|576|;");
  /* every value once: entropy log2(rows) */
  char *got = mt_query_text("SELECT entropy(n) FROM u", &qo);
  double h = atof(got);
  if (fabs(h - log2((double)U_ROWS)) > 1e-9) fail_msg("entropy %s, want %.17g", got, log2((double)U_ROWS));
  free(got);
  mt_mem_close(&e);
}

/* Live (append-only and with location removal) equals static; mode over
 * one location (whose rows arrive in file order, so ties break alike). */
static void test_live(void **state) {
  (void)state;
  static const char *const qs[] = {
      "SELECT k, entropy(v), entropy(s), entropy(x) FILTER (WHERE v > 100) FROM m GROUP BY k",
      "SELECT k, mode(v % 7), mode(s), mode(x) FROM m WHERE P = 'a' GROUP BY k",
      "SELECT mode(s), entropy(k), mode(k) FROM m WHERE P = 'a'",
      "SELECT entropy(s), entropy(v % 10) FROM m",
  };
  for (int removal = 0; removal < 2; removal++)
    for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) mt_live_equals_static(qs[q], removal);
}

/* The state through the C calls: counted adds (the dictionary-code path's)
 * equal single adds; merges keep the first-seen order. */
static void test_state(void **state) {
  (void)state;
  td_error err;
  td_aggx *x, *y;
  TD_ASSERT_OK(td__aggx_new(TD_AGG_MODE, TD_TYPE_UTF8, NULL, &x, &err), &err);
  TD_ASSERT_OK(td__aggx_new(TD_AGG_MODE, TD_TYPE_UTF8, NULL, &y, &err), &err);
  assert_true(td__aggx_counts(x));
  assert_false(td__aggx_counts_fixed(x));
  TD_ASSERT_OK(td__aggx_grow(x, 2, &err), &err);
  TD_ASSERT_OK(td__aggx_grow(y, 2, &err), &err);
  td_value p = td_value_str("p"), q = td_value_str("q"), nul = td_value_null(TD_TYPE_UTF8);
  TD_ASSERT_OK(td__aggx_add_count(x, 0, &p, 1, 2, &err), &err);
  TD_ASSERT_OK(td__aggx_add_count(x, 0, &nul, 3, 5, &err), &err); /* nulls ignored */
  TD_ASSERT_OK(td__aggx_add_count(x, 0, &q, 2, 0, &err), &err);   /* no rows: nothing */
  TD_ASSERT_OK(td__aggx_add_count(y, 0, &q, 2, 2, &err), &err);
  TD_ASSERT_OK(td__aggx_add_count(y, 1, &q, 2, 1, &err), &err);
  td_value v;
  TD_ASSERT_OK(td__aggx_value(x, 1, &v, &err), &err);
  assert_true(v.is_null);
  uint32_t map[2] = {0, 1};
  TD_ASSERT_OK(td__aggx_merge_map(x, y, map, 2, &err), &err);
  TD_ASSERT_OK(td__aggx_value(x, 0, &v, &err), &err); /* p and q twice each: p came first */
  assert_int_equal(v.v.s.len, 1);
  assert_memory_equal(v.v.s.ptr, "p", 1);
  TD_ASSERT_OK(td__aggx_add(x, 0, &q, 2, &err), &err);
  TD_ASSERT_OK(td__aggx_value(x, 0, &v, &err), &err); /* a cached result is recomputed */
  assert_memory_equal(v.v.s.ptr, "q", 1);
  TD_ASSERT_OK(td__aggx_value(x, 1, &v, &err), &err);
  assert_memory_equal(v.v.s.ptr, "q", 1);
  td__aggx_free(x);
  td__aggx_free(y);
  TD_ASSERT_OK(td__aggx_new(TD_AGG_ENTROPY, TD_TYPE_INT64, NULL, &x, &err), &err);
  assert_true(td__aggx_counts_fixed(x));
  TD_ASSERT_OK(td__aggx_grow(x, 1, &err), &err);
  TD_ASSERT_OK(td__aggx_value(x, 0, &v, &err), &err);
  assert_false(v.is_null);
  assert_true(v.v.f == 0);
  td_value a = td_value_int(TD_TYPE_INT64, INT64_MIN), b = td_value_int(TD_TYPE_INT64, INT64_MAX);
  TD_ASSERT_OK(td__aggx_add_count(x, 0, &a, 11, 3, &err), &err);
  TD_ASSERT_OK(td__aggx_add_count(x, 0, &b, 12, 1, &err), &err);
  TD_ASSERT_OK(td__aggx_value(x, 0, &v, &err), &err);
  assert_true(fabs(v.v.f - (0.75 * log2(4.0 / 3) + 0.25 * 2)) < 1e-15);
  td__aggx_free(x);
}

static void test_errors(void **state) {
  (void)state;
  env e;
  env_open(&e);
  mt_mem_expect_error(&e, "SELECT mode(DISTINCT i) FROM t", TD_EPARSE, "mode(DISTINCT ...) is not supported");
  mt_mem_expect_error(&e, "SELECT entropy(DISTINCT i) FROM t", TD_EPARSE, "entropy(DISTINCT ...) is not supported");
  mt_mem_expect_error(&e, "SELECT mode(i, 2) FROM t", TD_ETYPE, "mode takes one argument");
  mt_mem_expect_error(&e, "SELECT entropy() FROM t", TD_ETYPE, "entropy takes one argument");
  mt_mem_expect_error(&e, "SELECT mode(nosuch) FROM t", TD_ETYPE, "unknown column 'nosuch'");
  mt_mem_expect_error(&e, "SELECT mode(mode(i)) FROM t", TD_ETYPE, "nested");
  mt_mem_close(&e);
}

/* Allocation failures through mode and entropy queries: no table, then the
 * unfailed rows. */
static void test_alloc_failures(void **state) {
  (void)state;
  env e;
  env_open(&e);
  td_query_options qo = mt_mem_options(&e, 1);
  mt_query_alloc_sweep(&qo, "SELECT g, mode(i), mode(f), mode(s), entropy(s) FROM t GROUP BY g ORDER BY g", false);
  mt_query_alloc_sweep(&qo, "SELECT mode(n % 500), entropy(CAST(n % 300 AS VARCHAR)) FROM u WHERE n < 20000", false);
  mt_mem_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values), cmocka_unit_test(test_threads),        cmocka_unit_test(test_live),
      cmocka_unit_test(test_state),  cmocka_unit_test(test_errors),         cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
