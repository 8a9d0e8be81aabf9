/*
 * tests/query/test_agg_more.c - the aggregates of query/agg_more.c in SQL
 * and the C API: count/sum/avg(DISTINCT), approx_count_distinct (within its
 * error bound), median, quantile_cont/disc, string_agg and FILTER (WHERE),
 * grouped and global, with nulls and empty groups; the same results with 1,
 * 2 and 4 threads; live results after random appends (and removals) equal
 * the static query; error paths name the offending value.  Quantiles of
 * numbers (selected in place from one array per group, column-wise input,
 * partial states concatenated) equal the sort-based rule on random data
 * with nulls, NaN, infinities, -0.0, extremes and ties.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/agg_more.h"
#include "query/vec.h"
#include "tabledata.h"
#include "test.h"

/* Table "t": g (utf8), i (int64), f (float64), s (utf8); rows
 *   a 1 1.0 x | a 2 4.0 y | a 2 2.0 null | a null null x
 *   b 5 -0.0 z | b null 0.0 null | c null null null
 * table "u": one column n (int64), rows 0 .. U_ROWS - 1, and table "w":
 * one column r (int64), the row number. */
enum { U_ROWS = 200000 };

typedef mt_mem env;

static void add(env *e, const char *table, int ncols, const char *const *names, const td_type_id *types,
                struct ArrowArray *cols) {
  mt_mem_add(e, table, true, "all", ncols, names, types, NULL, cols);
}

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
  add(e, "u", 1, &nn, &nt, cols);
  TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &n, &err), &err);
  for (int64_t r = 0; r < U_ROWS; r++) td_builder_append_int(n, r, NULL);
  TD_ASSERT_OK(td_builder_finish(n, &cols[0], &err), &err);
  td_builder_free(n);
  const char *rn = "r";
  add(e, "w", 1, &rn, &nt, cols);
}

static void env_close(env *e) { mt_mem_close(e); }

/* The result of sql as mt_table_text (malloc'd). */
static char *run(env *e, const char *sql, int threads) {
  td_query_options qo = mt_mem_options(e, threads);
  return mt_query_text(sql, &qo);
}

static void expect(env *e, const char *sql, const char *want) {
  td_query_options qo = mt_mem_options(e, 1);
  mt_expect_rows(&qo, sql, false, want);
}

static void test_values(void **state) {
  (void)state;
  env e;
  env_open(&e);
  expect(&e, "SELECT g, count(DISTINCT i), sum(DISTINCT i), avg(DISTINCT i), count(DISTINCT f), count(DISTINCT s) "
             "FROM t GROUP BY g ORDER BY g",
         "a|2|3|1.5|3|2|;b|1|5|5|1|1|;c|0|null|null|0|0|;");
  expect(&e, "SELECT g, median(i), quantile_disc(i, 0.5), quantile_cont(f, 0.25), quantile_disc(f, 1), median(s), "
             "quantile_disc(s, 0) FROM t GROUP BY g ORDER BY g",
         "a|2|2|1.5|4|x|x|;b|5|5|0|0|z|z|;c|null|null|null|null|null|null|;");
  expect(&e, "SELECT g, string_agg(s, '|'), string_agg(i), approx_count_distinct(s), approx_count_distinct(i) "
             "FROM t GROUP BY g ORDER BY g",
         "a|x|y|x|1,2,2|2|2|;b|z|5|1|1|;c|null|null|0|0|;");
  /* string_agg(DISTINCT): each value once, sorted (integers as their text) */
  expect(&e, "SELECT g, string_agg(DISTINCT s, '|'), string_agg(DISTINCT i), string_agg(DISTINCT s ORDER BY s) "
             "FROM t GROUP BY g ORDER BY g",
         "a|x|y|1,2|x,y|;b|z|5|z|;c|null|null|null|;");
  expect(&e, "SELECT string_agg(DISTINCT g, ''), string_agg(DISTINCT s) FILTER (WHERE g <> 'a') FROM t",
         "abc|z|;");
  /* FILTER on every kind, count(*) included; empty filtered groups */
  expect(&e, "SELECT g, count(*) FILTER (WHERE i > 1), count(DISTINCT s) FILTER (WHERE f > 1), "
             "median(f) FILTER (WHERE s = 'x'), string_agg(s, '') FILTER (WHERE i >= 2), sum(i) FILTER (WHERE s IS NULL), "
             "stddev_pop(f) FILTER (WHERE i IS NOT NULL) FROM t GROUP BY g ORDER BY g",
         "a|2|1|1|y|2|1.2472191289246473|;b|1|0|null|z|null|0|;c|0|0|null|null|null|null|;");
  /* global, over no rows: counts 0, the others null */
  expect(&e, "SELECT count(DISTINCT i), median(f), string_agg(g, ''), approx_count_distinct(g), "
             "quantile_cont(i, 0.5), count(*) FILTER (WHERE i > 0) FROM t WHERE i > 100",
         "0|null|null|0|null|0|;");
  expect(&e, "SELECT count(DISTINCT g), median(i), quantile_cont(i, 0.3), string_agg(g, '') FROM t",
         "3|2|1.9|aaaabbc|;");
  /* keys of other types: numbers, bool, an expression */
  expect(&e, "SELECT i IS NULL AS k, count(DISTINCT g), median(f) FROM t GROUP BY k ORDER BY k",
         "false|2|1.5|;true|3|0|;");
  /* the printed names of the forms */
  td_error err;
  td_table *src, *agg;
  td_query_options qo = mt_mem_options(&e, 0);
  TD_ASSERT_OK(td_query("SELECT count(DISTINCT i), median(f) FILTER (WHERE g <> 'b'), string_agg(DISTINCT s, '-') "
                        "FROM t", &qo, &agg, &err), &err);
  struct ArrowSchema s;
  TD_ASSERT_OK(td_table_schema(agg, &s, &err), &err);
  assert_string_equal(s.children[0]->name, "count(DISTINCT i)");
  assert_string_equal(s.children[2]->name, "string_agg(DISTINCT s, '-')");
  s.release(&s);
  td_table_release(agg);
  /* the C API takes the same forms */
  TD_ASSERT_OK(td_query("SELECT * FROM t", &qo, &src, &err), &err);
  const char *aggs[] = {"count(DISTINCT i) AS cd", "quantile_disc(f, 0.5) AS q", "string_agg(s, '+') AS sa",
                        "string_agg(DISTINCT s, '+') AS sd"};
  const char *by[] = {"g"};
  TD_ASSERT_OK(td_table_agg_by(src, aggs, 4, by, 1, &agg, &err), &err);
  char *text = mt_table_text(agg, false);
  assert_string_equal(text, "a|2|2|x+y+x|x+y|;b|1|0|z|z|;c|0|null|null|null|;");
  free(text);
  td_table_release(agg);
  td_table_release(src);
  env_close(&e);
}

static void test_approx_bound(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* U_ROWS distinct values (7919 is prime to 1000003): a standard error of
   * 1.6 %, checked at 5 % (3 sigma); small sets are exact up to a few */
  char *got = run(&e, "SELECT approx_count_distinct(n), count(DISTINCT n), approx_count_distinct(n % 1000), "
                      "approx_count_distinct(n % 10) FROM u", 1);
  long long approx, exact, a1000, a10;
  assert_int_equal(sscanf(got, "%lld|%lld|%lld|%lld|", &approx, &exact, &a1000, &a10), 4);
  assert_int_equal(exact, U_ROWS);
  if (fabs((double)approx - exact) > 0.05 * exact) fail_msg("approx_count_distinct %lld, exact %lld", approx, exact);
  assert_true(a1000 >= 980 && a1000 <= 1020);
  assert_int_equal(a10, 10);
  free(got);
  env_close(&e);
}

/* The distinct set compares integers and doubles by their hash alone (a
 * bijection) and strings by value: many values, per group, in blocks that
 * cross the set's growth; NaN is one value and -0.0 is 0.0; nothing when
 * the input is empty. */
static void test_distinct_kinds(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* the expected counts, from u's values (r * 7919 % 1000003) */
  bool *seen = calloc(1000003, 1);
  assert_non_null(seen);
  const int mods[4] = {50000, 30000, 20000, 1000};
  long long want[6] = {0};
  for (int m = 0; m < 4; m++) {
    memset(seen, 0, 1000003);
    for (int64_t r = 0; r < U_ROWS; r++) {
      int64_t n = r * 7919 % 1000003;
      if (m == 3 && n % 7 != 0) continue; /* group 0 of n % 7 */
      if (!seen[n % mods[m]]) seen[n % mods[m]] = true, want[m]++;
    }
  }
  for (int64_t r = 0; r < U_ROWS; r++) want[4] += (r * 7919 % 1000003) % 2 == 0;
  free(seen);
  char *got = run(&e,
                  "SELECT count(DISTINCT n % 50000), count(DISTINCT (n % 30000) * 0.5), "
                  "count(DISTINCT CAST(n % 20000 AS VARCHAR)), count(DISTINCT CASE WHEN n % 3 = 0 THEN CAST('NaN' AS DOUBLE) "
                  "WHEN n % 3 = 1 THEN -0.0 ELSE 0.0 END), count(DISTINCT CASE WHEN n % 2 = 0 THEN n END) FROM u",
                  1);
  char text[200];
  snprintf(text, sizeof text, "%lld|%lld|%lld|2|%lld|;", want[0], want[1], want[2], want[4]);
  assert_string_equal(got, text);
  free(got);
  got = run(&e, "SELECT n % 7 AS g, count(DISTINCT n % 1000), count(DISTINCT CAST(n % 1000 AS VARCHAR)) FROM u "
                "GROUP BY g ORDER BY g LIMIT 1", 1);
  snprintf(text, sizeof text, "0|%lld|%lld|;", want[3], want[3]);
  assert_string_equal(got, text);
  free(got);
  expect(&e, "SELECT count(DISTINCT n), count(DISTINCT n * 0.5), count(DISTINCT CAST(n AS VARCHAR)) FROM u WHERE n < 0",
         "0|0|0|;");
  env_close(&e);
}

static void test_threads(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const qs[] = {
      "SELECT n % 97 AS g, count(DISTINCT n % 1013), sum(DISTINCT n % 50), avg(DISTINCT n % 77), median(n), "
      "quantile_cont(n, 0.9), quantile_disc(n * 0.5, 0.1), approx_count_distinct(n), "
      "length(string_agg(CAST(n % 10 AS VARCHAR), '')), count(*) FILTER (WHERE n % 3 = 0) FROM u GROUP BY g ORDER BY g",
      "SELECT CAST(n % 5 AS VARCHAR) AS g, median(n % 1000), count(DISTINCT CAST(n % 100 AS VARCHAR)), "
      "quantile_disc(CAST(n AS VARCHAR), 0.5), string_agg(DISTINCT CAST(n % 13 AS VARCHAR), '') FROM u GROUP BY g "
      "ORDER BY g",
      "SELECT string_agg(DISTINCT CAST(n % 1009 AS VARCHAR), ';') FROM u",
      "SELECT count(DISTINCT n), median(n), avg(DISTINCT n * 0.25), string_agg(CAST(n AS VARCHAR), ',') FROM u "
      "WHERE n < 5000",
  };
  for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) mt_mem_same_threads(&e, qs[q]);
  env_close(&e);
}

/* Live (append-only and with location removal) equals static. */
static void test_live(void **state) {
  (void)state;
  static const char *const qs[] = {
      "SELECT k, count(DISTINCT v), sum(DISTINCT v), median(x), quantile_disc(v, 0.3), approx_count_distinct(s), "
      "count(*) FILTER (WHERE v > 500), avg(DISTINCT x) FILTER (WHERE s <> 's1') FROM m GROUP BY k",
      "SELECT s, quantile_cont(v, 0.75), count(DISTINCT P), median(s) FROM m GROUP BY s",
      "SELECT count(DISTINCT s), median(v), count(DISTINCT v) FILTER (WHERE k = 2) FROM m",
      "SELECT k, string_agg(s, '') FROM m WHERE P = 'a' GROUP BY k", /* one location: arrival order = file order */
      "SELECT k, string_agg(DISTINCT s, '') FROM m GROUP BY k",
  };
  for (int removal = 0; removal < 2; removal++)
    for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) mt_live_equals_static(qs[q], removal);
}

static void test_errors(void **state) {
  (void)state;
  env e;
  env_open(&e);
  mt_mem_expect_error(&e, "SELECT quantile_cont(f, 1.5) FROM t", TD_ETYPE, "between 0 and 1, found 1.5");
  mt_mem_expect_error(&e, "SELECT quantile_disc(f, -0.25) FROM t", TD_ETYPE, "between 0 and 1, found -0.25");
  mt_mem_expect_error(&e, "SELECT quantile_cont(f, i) FROM t", TD_ETYPE, "quantile of quantile_cont must be a constant");
  mt_mem_expect_error(&e, "SELECT quantile_cont(f, 'x') FROM t", TD_ETYPE, "must be a number, found utf8");
  mt_mem_expect_error(&e, "SELECT quantile_cont(f) FROM t", TD_ETYPE, "quantile_cont takes two arguments");
  mt_mem_expect_error(&e, "SELECT median(f, 0.5) FROM t", TD_ETYPE, "median takes one argument");
  /* only count takes * (sum(*), median(*) ... were answered as count(*)) */
  mt_mem_expect_error(&e, "SELECT sum(*) FROM t", TD_ETYPE, "'sum(*)' is not allowed at offset 7; only count(*)");
  mt_mem_expect_error(&e, "SELECT g, median(*) FROM t GROUP BY g", TD_ETYPE, "'median(*)' is not allowed");
  mt_mem_expect_error(&e, "SELECT mode(*) + 1 FROM t", TD_ETYPE, "'mode(*)' is not allowed");
  mt_mem_expect_error(&e, "SELECT string_agg(s, 1) FROM t", TD_ETYPE, "separator of string_agg must be a string, found int64");
  /* the separator is bound before the input: an input that fails frees it (fuzz_sql, under LeakSanitizer) */
  mt_mem_expect_error(&e, "SELECT string_agg(nosuch, ',') FROM t", TD_ETYPE, "unknown column 'nosuch'");
  mt_mem_expect_error(&e, "SELECT s, string_agg(nosuch, ',' ORDER BY i DESC) FROM t GROUP BY s", TD_ETYPE, "unknown column 'nosuch'");
  mt_mem_expect_error(&e, "SELECT string_agg(s, ',' ORDER BY i NULLS FIRST) FROM t", TD_EPARSE,
               "NULLS FIRST/LAST inside string_agg(... ORDER BY) is not supported");
  mt_mem_expect_error(&e, "SELECT sum(DISTINCT s) FROM t", TD_ETYPE, "found utf8");
  mt_mem_expect_error(&e, "SELECT string_agg(DISTINCT s, 1) FROM t", TD_ETYPE,
                      "separator of string_agg must be a string, found int64");
  mt_mem_expect_error(&e, "SELECT string_agg(DISTINCT s ORDER BY s DESC) FROM t", TD_EPARSE,
                      "string_agg(DISTINCT x ORDER BY ...) is supported only ordered by x ascending");
  mt_mem_expect_error(&e, "SELECT string_agg(DISTINCT s ORDER BY i) FROM t", TD_EPARSE,
                      "only ordered by x ascending");
  mt_mem_expect_error(&e, "SELECT median(DISTINCT f) FROM t", TD_EPARSE, "median(DISTINCT ...) is not supported");
  mt_mem_expect_error(&e, "SELECT count(DISTINCT *) FROM t", TD_EPARSE, "count(DISTINCT *) is not supported");
  mt_mem_expect_error(&e, "SELECT first(f) FILTER (WHERE i > 1) FROM t", TD_EPARSE, "FILTER on first() is not supported");
  mt_mem_expect_error(&e, "SELECT lower(s) FILTER (WHERE i > 1) FROM t", TD_EPARSE, "FILTER applies to aggregates, not to lower()");
  mt_mem_expect_error(&e, "SELECT count(*) FILTER (i > 1) FROM t", TD_EPARSE, "expected WHERE");
  mt_mem_expect_error(&e, "SELECT count(DISTINCT median(i)) FROM t", TD_ETYPE, "nested");
  mt_mem_expect_error(&e, "SELECT quantile_cont(f, [0.25, 0.5]) FROM t", TD_EPARSE, "not supported");
  env_close(&e);
}

/* Allocation failures through a query of distinct aggregates (compact and
 * entry sets, grouped and global): no table, then the unfailed rows. */
/* A global count(DISTINCT) of integers behind its window of seen values
 * (query/agg.c distinct_ints): windows that widen batch after batch, ranges
 * too wide for one (n * 1000, the int64 extremes), values near either end
 * of int64, negatives and nulls; the same at 1, 2 and 4 threads. */
static void test_distinct_window(void **state) {
  (void)state;
  env e;
  env_open(&e);
  int64_t even = 0;
  for (int64_t r = 0; r < U_ROWS; r++) even += (r * 7919 % 1000003) % 2 == 0;
  char want[256];
  snprintf(want, sizeof want, "%d|1000|%d|%lld|7|100|100|;", (int)U_ROWS, (int)U_ROWS, (long long)even);
  for (int th = 1; th <= 4; th *= 2) {
    char *got = run(&e,
                    "SELECT count(DISTINCT n), count(DISTINCT n % 1000 - 500), count(DISTINCT n * 1000), "
                    "count(DISTINCT CASE WHEN n % 2 = 0 THEN n END), "
                    "count(DISTINCT CASE WHEN n % 3 = 0 THEN 9223372036854775807 WHEN n % 3 = 1 "
                    "THEN -9223372036854775807 - 1 ELSE n % 5 END), "
                    "count(DISTINCT n % 100 + 9223372036854775700), count(DISTINCT n % 100 - 9223372036854775800) FROM u",
                    th);
    if (strcmp(got, want) != 0) fail_msg("%d threads: %s, want %s", th, got, want);
    free(got);
  }
  expect(&e, "SELECT count(DISTINCT n) FROM u WHERE n < 0", "0|;");
  expect(&e, "SELECT count(DISTINCT i), count(DISTINCT i + 1) FILTER (WHERE g = 'a') FROM t", "3|2|;");
  env_close(&e);
}

/* A global count(DISTINCT) of integers kept as an exact bitmap while the
 * values span at most 2^24 (query/agg.c distinct_ints, merge_exact) equals
 * the count of the same values as strings (the hash set of entries): a
 * window widening row after row (w.r rises), one widening past 2^24 and one
 * turning sparse mid-scan (both spill into the set), negatives, nulls,
 * windows against either end of int64, and at 2, 3 and 7 threads partial
 * states of which some spilled and some did not (the spilled one first,
 * last or in the middle), merged both ways. */
static void test_distinct_exact(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const xs[] = {
      "r", "r % 1000 - 500", "r * 100", "CASE WHEN r < 150000 THEN r % 1000 ELSE r * 1000000000 END",
      "CASE WHEN r % 3 = 0 THEN r END", "CASE WHEN r = 199999 THEN 9223372036854775807 ELSE r % 10 END",
      "-9223372036854775807 - 1 + r % 100", "9223372036854775807 - r % 100",
      "CASE WHEN r % 2 = 0 THEN -9223372036854775807 - 1 + r % 64 ELSE r % 5 END",
      "CASE WHEN r >= 190000 THEN r * 1000000000 ELSE r % 5000 END",
      "CASE WHEN r < 10000 THEN r * 1000000000 ELSE r % 5000 END",
      "CASE WHEN r BETWEEN 90000 AND 100000 THEN r * 1000000000 ELSE r % 70000 END",
      "CASE WHEN r < 100000 THEN r ELSE 20000000 - r END", "CASE WHEN r > 0 THEN NULL END"};
  const int nx = (int)(sizeof xs / sizeof *xs);
  char sql[4096], want[512];
  int len = snprintf(sql, sizeof sql, "SELECT ");
  for (int i = 0; i < nx; i++)
    len += snprintf(sql + len, sizeof sql - (size_t)len, "%scount(DISTINCT CAST(%s AS VARCHAR))", i ? ", " : "", xs[i]);
  snprintf(sql + len, sizeof sql - (size_t)len, " FROM w");
  char *hashed = run(&e, sql, 1);
  snprintf(want, sizeof want, "%s", hashed);
  free(hashed);
  assert_true(strncmp(want, "200000|1000|200000|", 19) == 0);
  len = snprintf(sql, sizeof sql, "SELECT ");
  for (int i = 0; i < nx; i++)
    len += snprintf(sql + len, sizeof sql - (size_t)len, "%scount(DISTINCT %s)", i ? ", " : "", xs[i]);
  snprintf(sql + len, sizeof sql - (size_t)len, " FROM w");
  static const int threads[] = {1, 2, 3, 7};
  for (int t = 0; t < 4; t++) {
    char *got = run(&e, sql, threads[t]);
    if (strcmp(got, want) != 0) fail_msg("%d threads: %s, want %s", threads[t], got, want);
    free(got);
  }
  /* one aggregate per query: no other aggregate's path in between */
  for (int i = 0; i < nx; i++)
    for (int t = 0; t < 4; t += 3) {
      snprintf(sql, sizeof sql, "SELECT count(DISTINCT %s) FROM w", xs[i]);
      char *got = run(&e, sql, threads[t]);
      const char *w = want;
      for (int j = 0; j < i; j++) w = strchr(w, '|') + 1;
      if (strncmp(got, w, strcspn(w, "|") + 1) != 0) fail_msg("%s at %d threads: %s, want %s", sql, threads[t], got, w);
      free(got);
    }
  env_close(&e);
}

/* ---- quantiles of numbers against a sort of the values ---- */

enum { QN = 3000, QG = 4 };

static int ref_cmp(const void *a, const void *b) { /* NaN greatest, -0.0 == 0.0 */
  const double x = *(const double *)a, y = *(const double *)b;
  if (isnan(x) || isnan(y)) return (int)isnan(x) - (int)isnan(y);
  return x < y ? -1 : x > y;
}
static int ref_cmp_i(const void *a, const void *b) {
  const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The quantile of sorted values by the documented rules (the code before
 * selection), as the printed value. */
static void ref_quantile(td_agg_kind kind, td_type_id t, double q, const double *f, const int64_t *iv, int64_t n,
                         char *out, size_t cap) {
  if (n == 0) {
    snprintf(out, cap, "null");
    return;
  }
  int64_t lo, hi;
  double d = 0;
  if (kind == TD_AGG_QUANTILE_DISC) {
    double nq = (double)n * q, rn = nearbyint(nq);
    if (fabs(nq - rn) < 1e-9 * (double)n) nq = rn;
    int64_t i = (int64_t)ceil(nq) - 1;
    lo = hi = i < 0 ? 0 : i >= n ? n - 1 : i;
  } else {
    double rn = (double)(n - 1) * q, fl = floor(rn);
    d = rn - fl;
    lo = (int64_t)fl;
    hi = (int64_t)ceil(rn) >= n ? n - 1 : (int64_t)ceil(rn);
  }
  td_value v;
  if (t == TD_TYPE_FLOAT64) {
    v = td_value_double(t, lo == hi || kind == TD_AGG_QUANTILE_DISC ? f[lo] : f[lo] + d * (f[hi] - f[lo]));
  } else if (t == TD_TYPE_BOOL) {
    v = td_value_bool(iv[lo] != 0);
  } else if (kind == TD_AGG_QUANTILE_DISC) {
    v = td_value_int(t, iv[lo]);
  } else if (t == TD_TYPE_INT64) {
    double a = (double)iv[lo], b = (double)iv[hi];
    v = td_value_double(TD_TYPE_FLOAT64, lo == hi ? a : a + d * (b - a));
  } else { /* timestamps: rounded */
    __int128 r = (__int128)iv[lo] + (__int128)round(d * ((double)iv[hi] - (double)iv[lo]));
    v = td_value_int(t, lo == hi ? iv[lo] : r > iv[hi] ? iv[hi] : (int64_t)r);
  }
  td_value_format(&v, out, cap);
}

static void result_text(td_aggx *x, uint32_t g, char *out, size_t cap) {
  td_error err;
  td_value v;
  TD_ASSERT_OK(td__aggx_value(x, g, &v, &err), &err);
  if (v.is_null) snprintf(out, cap, "null");
  else td_value_format(&v, out, cap);
}

/* Random values of one data shape: 0 wide random, 1 few distinct (ties),
 * 2 all equal, 3 specials (NaN, infinities, -0.0, extremes). */
static void gen_values(int shape, unsigned *seed, double *f, int64_t *iv, uint8_t *valid, int64_t n) {
  static const double sp[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 1.5, -1.5, 1e300, -NAN};
  static const int64_t spi[] = {INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MIN + 1, INT64_MAX - 1};
  for (int64_t i = 0; i < n; i++) {
    int r = rand_r(seed);
    valid[i] = r % 7 != 0;
    switch (shape) {
      case 0: f[i] = (double)(r % 2000003) / 7.0 - 1e5; iv[i] = (int64_t)r * (r % 3 - 1) * 4096; break;
      case 1: f[i] = (double)(r % 5) * 0.5; iv[i] = r % 5; break;
      case 2: f[i] = 3.25; iv[i] = -7; break;
      default: f[i] = sp[r % 9]; iv[i] = spi[r % 7]; break;
    }
  }
}

static void test_quantile_select(void **state) {
  (void)state;
  static const td_type_id types[] = {TD_TYPE_FLOAT64, TD_TYPE_INT64, TD_TYPE_BOOL, TD_TYPE_TIMESTAMP};
  static const double qs[] = {0, 0.1, 0.25, 0.3, 0.5, 0.9, 0.999, 1};
  static const int64_t sizes[] = {1, 2, 3, 17, 100, QN};
  static double f[QN], rf[QN];
  static int64_t iv[QN], ri[QN];
  static uint8_t valid[QN], b8[QN];
  static uint32_t gid[QN], map[QG] = {0, 1, 2, 3};
  unsigned seed = 26;
  td_error err;
  for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++)
    for (int shape = 0; shape < 4; shape++)
      for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
        for (int kind = 0; kind < 2; kind++)
          for (size_t qi = 0; qi < sizeof qs / sizeof *qs; qi++) {
            const td_type_id t = types[ti];
            const int64_t n = sizes[si];
            const td_agg_kind k = kind ? TD_AGG_QUANTILE_DISC : TD_AGG_QUANTILE_CONT;
            const td_agg_param p = {.q = qs[qi]};
            gen_values(shape, &seed, f, iv, valid, n);
            for (int64_t i = 0; i < n; i++) {
              b8[i] = (uint8_t)(iv[i] & 1);
              gid[i] = (uint32_t)(rand_r(&seed) % QG);
            }
            /* a: column-wise in two chunks; b: row by row in two partial
             * states merged (concatenated) */
            td_aggx *a, *b, *b2;
            TD_ASSERT_OK(td__aggx_new(k, t, &p, &a, &err), &err);
            TD_ASSERT_OK(td__aggx_new(k, t, &p, &b, &err), &err);
            TD_ASSERT_OK(td__aggx_new(k, t, &p, &b2, &err), &err);
            TD_ASSERT_OK(td__aggx_grow(a, QG, &err), &err);
            TD_ASSERT_OK(td__aggx_grow(b, QG, &err), &err);
            TD_ASSERT_OK(td__aggx_grow(b2, QG, &err), &err);
            assert_true(td__aggx_by_vec(a));
            td_vec v = {.ph = td__phys_of(t), .n = n, .f64 = f, .i64 = iv, .b8 = b8, .valid = valid};
            const int64_t h = n / 2;
            TD_ASSERT_OK(td__aggx_add_vec(a, gid, &v, NULL, 0, h, &err), &err);
            char got[64], want[64];
            if (h) result_text(a, gid[0], got, sizeof got); /* a cached result goes stale */
            TD_ASSERT_OK(td__aggx_add_vec(a, gid + h, &v, NULL, h, n, &err), &err);
            for (int64_t i = 0; i < n; i++) {
              td_value x = !valid[i] ? td_value_null(t)
                           : t == TD_TYPE_FLOAT64 ? td_value_double(t, f[i])
                           : t == TD_TYPE_BOOL    ? td_value_bool(b8[i] != 0)
                                                  : td_value_int(t, iv[i]);
              TD_ASSERT_OK(td__aggx_add(i % 3 ? b : b2, gid[i], &x, 0, &err), &err);
            }
            TD_ASSERT_OK(td__aggx_merge_map(b, b2, map, QG, &err), &err);
            for (uint32_t g = 0; g < QG; g++) {
              int64_t m = 0;
              for (int64_t i = 0; i < n; i++) {
                if (!valid[i] || gid[i] != g) continue;
                rf[m] = f[i] == 0 ? 0.0 : f[i]; /* the state's form of -0.0 */
                ri[m++] = t == TD_TYPE_BOOL ? b8[i] : iv[i];
              }
              qsort(rf, (size_t)m, sizeof *rf, ref_cmp);
              qsort(ri, (size_t)m, sizeof *ri, ref_cmp_i);
              ref_quantile(k, t, qs[qi], rf, ri, m, want, sizeof want);
              result_text(a, g, got, sizeof got);
              if (strcmp(got, want) != 0)
                fail_msg("type %d shape %d n %lld kind %d q %g group %u: %s, want %s", (int)t, shape, (long long)n,
                         kind, qs[qi], g, got, want);
              result_text(b, g, got, sizeof got);
              if (strcmp(got, want) != 0)
                fail_msg("merged: type %d shape %d n %lld kind %d q %g group %u: %s, want %s", (int)t, shape,
                         (long long)n, kind, qs[qi], g, got, want);
            }
            td__aggx_free(a);
            td__aggx_free(b);
            td__aggx_free(b2);
          }
}

/* approx_count_distinct a block of hashes at a time sets the registers
 * row-by-row adds set: the same estimates, nulls skipped, selections
 * followed. */
static void test_sketch_block(void **state) {
  (void)state;
  enum { N = 50000, G = 5 };
  static uint64_t H[N];
  static uint32_t gid[N], sel[N];
  static uint8_t valid[N];
  unsigned seed = 7;
  td_error err;
  for (int64_t i = 0; i < N; i++) {
    H[i] = ((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 11) ^ (uint64_t)(i % 9000);
    gid[i] = i < N / 2 ? 0 : (uint32_t)(rand_r(&seed) % G); /* a run of one group, then mixed */
    valid[i] = rand_r(&seed) % 5 != 0;
    sel[i] = (uint32_t)(N - 1 - i);
  }
  for (int use_sel = 0; use_sel < 2; use_sel++) {
    td_aggx *a, *b;
    TD_ASSERT_OK(td__aggx_new(TD_AGG_APPROX_DISTINCT, TD_TYPE_INT64, NULL, &a, &err), &err);
    TD_ASSERT_OK(td__aggx_new(TD_AGG_APPROX_DISTINCT, TD_TYPE_INT64, NULL, &b, &err), &err);
    TD_ASSERT_OK(td__aggx_grow(a, G + 1, &err), &err);
    TD_ASSERT_OK(td__aggx_grow(b, G + 1, &err), &err);
    assert_true(td__aggx_sketch(a));
    const uint32_t *s = use_sel ? sel : NULL;
    for (int64_t j0 = 0; j0 < N; j0 += 1000)
      TD_ASSERT_OK(td__aggx_add_hashes(a, gid + j0, H + j0, 1000, valid, s, j0, &err), &err);
    for (int64_t i = 0; i < N; i++) {
      const int64_t r = s ? s[i] : i;
      td_value x = valid[r] ? td_value_int(TD_TYPE_INT64, 1) : td_value_null(TD_TYPE_INT64);
      TD_ASSERT_OK(td__aggx_add(b, gid[i], &x, H[i], &err), &err);
    }
    for (uint32_t g = 0; g <= G; g++) {
      td_value va, vb;
      TD_ASSERT_OK(td__aggx_value(a, g, &va, &err), &err);
      TD_ASSERT_OK(td__aggx_value(b, g, &vb, &err), &err);
      assert_int_equal(va.v.i, vb.v.i);
      if (g < G) assert_true(va.v.i > 100);
    }
    td__aggx_free(a);
    td__aggx_free(b);
  }
}

static void test_alloc_failures(void **state) {
  (void)state;
  env e;
  env_open(&e);
  td_query_options qo = mt_mem_options(&e, 1);
  mt_query_alloc_sweep(&qo, "SELECT g, count(DISTINCT i), count(DISTINCT f), count(DISTINCT s), sum(DISTINCT i) "
                            "FROM t GROUP BY g ORDER BY g", false);
  mt_query_alloc_sweep(&qo, "SELECT count(DISTINCT i), count(DISTINCT f) FROM t", false);
  mt_query_alloc_sweep(&qo, "SELECT count(DISTINCT n % 5000), count(DISTINCT n * 1000) FROM u WHERE n < 30000", false);
  mt_query_alloc_sweep(&qo, "SELECT count(DISTINCT CASE WHEN r < 20000 THEN r % 500 ELSE r * 1000000000 END) "
                            "FROM w WHERE r < 30000", false);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values), cmocka_unit_test(test_approx_bound), cmocka_unit_test(test_distinct_kinds),
      cmocka_unit_test(test_threads), cmocka_unit_test(test_distinct_window),
      cmocka_unit_test(test_distinct_exact),
      cmocka_unit_test(test_live),   cmocka_unit_test(test_errors), cmocka_unit_test(test_quantile_select), cmocka_unit_test(test_sketch_block), cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
