/*
 * tests/query/test_agg_fam.c - the everyday aggregates of query/agg.c and
 * query/agg_rewrite.c beyond sum/min/max: arg_max/arg_min (and their
 * aliases, the _null variants), any_value, product, bit_and/bit_or/bit_xor,
 * and the moment statistics (corr, covar_*, regr_*, skewness, kurtosis).
 * Hand-computed answers with nulls, ties, empty and all-null input, several
 * types; FILTER, HAVING, ORDER BY and the aggregates inside expressions;
 * the same results with 1, 2 and 4 threads and equal to a plain C loop over
 * the rows; live results after appends (and location removals) equal the
 * static query; the error paths.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/agg.h"
#include "tabledata.h"
#include "test.h"

/* Table "t": g (utf8), i (int64), f (float64), s (utf8); rows
 *   a 1 1.0 x | a 2 4.0 y | a 2 2.0 null | a null null x
 *   b 5 -0.0 z | b null 0.0 null | c null null null
 * table "u": one column n (int64), n = r * 7919 % 1000003 for row r. */
enum { U_ROWS = 200000 };

typedef mt_mem env;

static void add(env *e, const char *table, int ncols, const char *const *names, const td_type_id *types,
                struct ArrowArray *cols) {
  mt_mem_add(e, table, true, "all", ncols, names, types, NULL, cols);
}

static int64_t u_value(int64_t r) { return r * 7919 % 1000003; }

static void env_open(env *e) {
  td_error err;
  mt_mem_open(e, 0);
  mt_mem_add_t(e);
  struct ArrowArray cols[1];
  td_builder *n;
  TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &n, &err), &err);
  for (int64_t r = 0; r < U_ROWS; r++) td_builder_append_int(n, u_value(r), NULL);
  TD_ASSERT_OK(td_builder_finish(n, &cols[0], &err), &err);
  td_builder_free(n);
  const char *nn = "n";
  const td_type_id nt = TD_TYPE_INT64;
  add(e, "u", 1, &nn, &nt, cols);
}

static char *run(env *e, const char *sql, int threads) {
  td_query_options qo = mt_mem_options(e, threads);
  return mt_query_text(sql, &qo);
}

static void test_arg(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* rows whose arg or value is null are skipped (DuckDB) */
  mt_mem_expect_rows(&e, "SELECT g, arg_max(s, i), arg_min(s, i), arg_max(i, f), max_by(i, s), argmin(f, i), min_by(s, f) "
             "FROM t GROUP BY g ORDER BY g",
         "a|y|x|2|2|1|x|;b|z|z|5|5|-0|z|;c|null|null|null|null|null|null|;");
  /* ties: the first row in row order; the _null variants keep null args */
  mt_mem_expect_rows(&e, "SELECT arg_max(f, i), argmax(s, CASE WHEN s IS NULL THEN 1 ELSE 0 END), "
             "arg_max_null(s, CASE WHEN s IS NULL THEN 1 ELSE 0 END), arg_max(i, CASE WHEN s IS NULL THEN 1 ELSE 0 END), "
             "arg_min_null(g, i), arg_min(g, f) FROM t WHERE g <> 'c'",
         "-0|x|null|2|a|b|;");
  /* types: int32, bool and timestamp args; float32 and string values (decimals: the difftest) */
  mt_mem_expect_rows(&e, "SELECT arg_max(CAST(i AS INTEGER), f), arg_min(i > 1, f), max_by(s, CAST(f AS FLOAT)), "
             "arg_max(CAST('2024-01-01' AS TIMESTAMP), s), max_by(s, CAST('2024-01-01' AS TIMESTAMP)) FROM t",
         "2|true|y|2024-01-01T00:00:00.000000000Z|x|;");
  /* empty and all-null input: NULL */
  mt_mem_expect_rows(&e, "SELECT arg_max(s, i), min_by(i, s), count(*) FROM t WHERE i > 100", "null|null|0|;");
  mt_mem_expect_rows(&e, "SELECT arg_max(s, i), min_by(i, s), count(*) FROM t WHERE g = 'c'", "null|null|1|;");
  /* FILTER (on the value), inside expressions, HAVING and ORDER BY on it */
  mt_mem_expect_rows(&e, "SELECT g, arg_max(s, i) FILTER (WHERE i < 2) AS a, arg_max(i, f) + 1 AS b FROM t GROUP BY g "
             "HAVING arg_max(i, f) >= 2 ORDER BY arg_min(i, f) DESC",
         "b|null|6|;a|x|3|;");
  /* two keys */
  mt_mem_expect_rows(&e, "SELECT g, i > 1 AS k, arg_max(s, f) FROM t WHERE i IS NOT NULL GROUP BY g, k ORDER BY g, k",
         "a|false|x|;a|true|y|;b|true|z|;");
  mt_mem_close(&e);
}

static void test_others(void **state) {
  (void)state;
  env e;
  env_open(&e);
  mt_mem_expect_rows(&e, "SELECT g, any_value(s), any_value(i), any_value(f), product(i), product(f + 1), bit_and(i), bit_or(i), "
             "bit_xor(i) FROM t GROUP BY g ORDER BY g",
         "a|x|1|1|4|30|0|3|1|;b|z|5|-0|5|1|5|5|5|;c|null|null|null|null|null|null|null|null|;");
  mt_mem_expect_rows(&e, "SELECT any_value(s), product(i), bit_and(i), bit_or(i), bit_xor(i), count(*) FROM t WHERE i > 100",
         "null|null|null|null|null|0|;");
  mt_mem_expect_rows(&e, "SELECT any_value(s), product(i), bit_and(i), bit_xor(i) FROM t WHERE g = 'c'", "null|null|null|null|;");
  /* the argument's type: int32 stays int32, negatives are two's complement */
  mt_mem_expect_rows(&e, "SELECT bit_and(CAST(-i AS INTEGER)), bit_or(CAST(-i AS INTEGER)), bit_xor(-i), product(-i * 0.5), "
             "any_value(s) FILTER (WHERE i > 1), bit_or(i) + 1 FROM t",
         "-6|-1|4|1.25|y|8|;");
  mt_mem_expect_rows(&e, "SELECT g, bit_xor(i) FROM t GROUP BY g HAVING bit_xor(i) > 1 ORDER BY product(i) DESC", "b|5|;");
  mt_mem_close(&e);
}

/* corr & co. against DuckDB's values on small inputs (edge cases included). */
static void test_moments(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* pairs (y=i, x=f) of a: (1,1) (2,4) (2,2); b: (5,-0); DuckDB's values
   * (the same Welford-style updates) */
  mt_mem_expect_rows(&e, "SELECT g, regr_count(i, f), covar_pop(i, f), covar_samp(i, f), regr_avgx(i, f), regr_avgy(i, f), "
             "regr_sxx(i, f), regr_sxy(i, f) FROM t GROUP BY g ORDER BY g",
         "a|3|0.4444444444444445|0.6666666666666667|2.3333333333333335|1.6666666666666667|4.666666666666667|"
         "1.3333333333333335|;b|1|0|null|0|5|0|0|;c|0|null|null|null|null|null|null|;");
  char *got = run(&e, "SELECT corr(i, f), regr_slope(i, f), regr_intercept(i, f), regr_r2(i, f) FROM t WHERE g = 'a'", 1);
  double c, sl, ic, r2;
  assert_int_equal(sscanf(got, "%lf|%lf|%lf|%lf|", &c, &sl, &ic, &r2), 4);
  assert_true(fabs(c - 0.7559289460184545) < 1e-12 && fabs(sl - 0.28571428571428575) < 1e-12);
  assert_true(fabs(ic - 1.0) < 1e-12 && fabs(r2 - 0.5714285714285715) < 1e-12);
  free(got);
  /* one pair: corr and slope NaN, intercept and r2 NULL (no spread in x) */
  mt_mem_expect_rows(&e, "SELECT corr(i, f), regr_slope(i, f), regr_intercept(i, f), regr_r2(i, f) FROM t WHERE g = 'b'",
         "nan|nan|null|null|;");
  /* a constant y: r2 1, slope 0 */
  mt_mem_expect_rows(&e, "SELECT regr_r2(1, f), regr_slope(1, f), regr_intercept(1, f) FROM t WHERE g = 'a' AND i IS NOT NULL",
         "1|0|1|;");
  got = run(&e, "SELECT skewness(n), kurtosis(n), skewness(n % 10), kurtosis(n % 10) FROM u WHERE n < 40000", 1);
  /* from the values themselves */
  double m[4][5] = {{0}};
  for (int64_t r = 0; r < U_ROWS; r++) {
    int64_t n = u_value(r);
    if (n >= 40000) continue;
    double xs[2] = {(double)n, (double)(n % 10)};
    for (int k = 0; k < 2; k++) {
      double p = 1;
      for (int q = 0; q < 5; q++, p *= xs[k]) m[k][q] += p;
    }
  }
  double want[4];
  for (int k = 0; k < 2; k++) {
    double n = m[k][0], mean = m[k][1] / n;
    double m2 = m[k][2] / n - mean * mean;
    double m3 = m[k][3] / n - 3 * mean * m[k][2] / n + 2 * mean * mean * mean;
    double m4 = m[k][4] / n - 4 * mean * m[k][3] / n + 6 * mean * mean * m[k][2] / n - 3 * pow(mean, 4);
    want[2 * k] = sqrt(n * (n - 1)) / (n - 2) * m3 / pow(m2, 1.5);
    want[2 * k + 1] = (n - 1) * ((n + 1) * m4 / (m2 * m2) - 3 * (n - 1)) / ((n - 2) * (n - 3));
  }
  double have[4];
  assert_int_equal(sscanf(got, "%lf|%lf|%lf|%lf|", &have[0], &have[1], &have[2], &have[3]), 4);
  for (int k = 0; k < 4; k++)
    if (fabs(have[k] - want[k]) > 1e-6 * fmax(1, fabs(want[k]))) fail_msg("moment %d: %.17g, want %.17g", k, have[k], want[k]);
  free(got);
  /* below the minimum count (kurtosis of 3 values), and without spread: NULL */
  mt_mem_expect_rows(&e, "SELECT skewness(i), kurtosis(i), skewness(1), kurtosis(f) FROM t WHERE g = 'a'",
         "-1.7320508075688938|null|null|null|;"); /* DuckDB: -1.732050807568877 */
  mt_mem_close(&e);
}

/* The answers do not depend on the thread count, and equal a loop over the rows. */
static void test_threads(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const qs[] = {
      "SELECT n % 97 AS g, arg_max(n, n % 1013), arg_min(CAST(n AS VARCHAR), n % 17), max_by(n, CAST(n % 50 AS VARCHAR)), "
      "any_value(n), bit_xor(n), bit_or(n % 1024), bit_and(n % 1024 + 1024), product(CASE WHEN n % 1000 = 0 THEN 2.0 END) "
      "FROM u GROUP BY g ORDER BY g",
      "SELECT n % 50000 AS g, arg_max(n, n % 3), any_value(n), bit_xor(n) FROM u GROUP BY g ORDER BY g",
      "SELECT arg_max(n, n % 1013), arg_min(n, n % 1013), any_value(n), bit_xor(n), skewness(n % 77) FROM u",
      /* (float sums of integers below 2^53: exact in any grouping) */
  };
  for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) mt_mem_same_threads(&e, qs[q]);
  /* the pair statistics merge per-thread Welford states (as DuckDB): equal
   * to the last bits */
  double one[3], more[3];
  for (int th = 1; th <= 4; th *= 2) {
    char *got = run(&e, "SELECT covar_pop(n % 1000, n % 999), corr(n, n % 1000), regr_slope(n % 7, n) FROM u", th);
    assert_int_equal(sscanf(got, "%lf|%lf|%lf|", &more[0], &more[1], &more[2]), 3);
    free(got);
    if (th == 1) memcpy(one, more, sizeof one);
    for (int k = 0; k < 3; k++)
      if (fabs(one[k] - more[k]) > 1e-9 * fabs(one[k])) fail_msg("%d threads: %.17g vs %.17g", th, more[k], one[k]);
  }
  /* global arg_max/arg_min (first row on ties) and bit_xor from the rows */
  int64_t amax = -1, amin = -1, bmax = -1, bmin = 1 << 30, x = 0;
  for (int64_t r = 0; r < U_ROWS; r++) {
    int64_t n = u_value(r), v = n % 1013;
    if (v > bmax) bmax = v, amax = n;
    if (v < bmin) bmin = v, amin = n;
    x ^= n;
  }
  char want[128];
  snprintf(want, sizeof want, "%lld|%lld|0|%lld|;", (long long)amax, (long long)amin, (long long)x);
  for (int th = 1; th <= 4; th *= 2) {
    char *got = run(&e, "SELECT arg_max(n, n % 1013), arg_min(n, n % 1013), any_value(n), bit_xor(n) FROM u", th);
    assert_string_equal(got, want);
    free(got);
  }
  mt_mem_close(&e);
}

/* Live (appends, and location removals) equals static. */
static void test_live(void **state) {
  (void)state;
  static const char *const qs[] = {
      /* one location: arrival order = row order, so ties and any_value agree */
      "SELECT k, arg_max(s, v), arg_min(x, v), max_by(v, s), any_value(v), arg_max_null(s, x) FROM m WHERE P = 'a' GROUP BY k",
      "SELECT k, bit_xor(v), bit_or(v), bit_and(v), product(CASE WHEN v < 30 THEN 2.0 END), corr(v, x), "
      "covar_pop(x, v), skewness(v) FROM m GROUP BY k",
      "SELECT arg_max(v, x * 1000 + v), any_value(s), bit_xor(v), product(CASE WHEN v > 990 THEN 0.5 END) FROM m "
      "WHERE P = 'b'",
  };
  for (int removal = 0; removal < 2; removal++)
    for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) mt_live_equals_static(qs[q], removal);
}

static void test_errors(void **state) {
  (void)state;
  env e;
  env_open(&e);
  mt_mem_expect_error(&e, "SELECT arg_max(s) FROM t", TD_ETYPE, "arg_max takes two arguments");
  mt_mem_expect_error(&e, "SELECT max_by(s, i, f) FROM t", TD_ETYPE, "max_by takes two arguments");
  mt_mem_expect_rows(&e, "SELECT arg_max(s, NULL), any_value(NULL) FROM t", "null|null|;"); /* DuckDB: NULL */
  mt_mem_expect_error(&e, "SELECT arg_max(s, max(i)) FROM t", TD_ETYPE, "nested");
  mt_mem_expect_error(&e, "SELECT bit_and(f) FROM t", TD_ETYPE, "found float64");
  mt_mem_expect_error(&e, "SELECT product(s) FROM t", TD_ETYPE, "found utf8");
  mt_mem_expect_error(&e, "SELECT corr(i) FROM t", TD_ETYPE, "corr takes two arguments");
  mt_mem_expect_error(&e, "SELECT skewness(i, f) FROM t", TD_ETYPE, "skewness takes one argument");
  mt_mem_expect_error(&e, "SELECT g, favg(i) FROM t GROUP BY g", TD_EPARSE, "the aggregate favg() is not supported");
  mt_mem_expect_error(&e, "SELECT kurtosis_pop(i) FROM t", TD_EPARSE, "the aggregate kurtosis_pop() is not supported");
  /* the C API: the value column is set for arg_max / arg_min only, once */
  td_error err;
  td_agg *a;
  const td_agg_spec sp[2] = {{TD_AGG_ARG_MAX, 0, TD_TYPE_UTF8}, {TD_AGG_SUM, 1, TD_TYPE_INT64}};
  TD_ASSERT_OK(td_agg_create(NULL, 0, sp, 2, &a, &err), &err);
  assert_int_equal(td_agg_set_arg_value(a, 1, 1, TD_TYPE_INT64, &err), TD_EINVAL);
  assert_int_equal(td_agg_set_arg_value(a, 0, 1, TD_TYPE_NONE, &err), TD_EINVAL);
  assert_int_equal(td_agg_set_arg_value(a, 2, 1, TD_TYPE_INT64, &err), TD_EINVAL);
  TD_ASSERT_OK(td_agg_set_arg_value(a, 0, 1, TD_TYPE_INT64, &err), &err);
  assert_int_equal(td_agg_set_arg_value(a, 0, 1, TD_TYPE_INT64, &err), TD_EINVAL);
  td_agg_free(a);
  mt_mem_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arg),     cmocka_unit_test(test_others), cmocka_unit_test(test_moments),
      cmocka_unit_test(test_threads), cmocka_unit_test(test_live),   cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
