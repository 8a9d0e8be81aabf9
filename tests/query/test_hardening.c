/*
 * tests/query/test_hardening.c - the query layer under adversarial input
 * (issue 8, items 20-26): positional ORDER BY / GROUP BY, NaN in min/max,
 * integer overflow, out-of-range timestamp literals, long IN lists and
 * select lists, and error messages that show the user's text.  Each test is
 * named after the item it covers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query/expr.h"
#include "mtable.h"
#include "tabledata.h"
#include "test.h"

/* A memory backend with tables made by add_table (partition P = 'a'; data
 * columns i int64, f float64, s utf8, ts timestamp, one row per entry). */
typedef struct env {
  td_memory_backend *mb;
  td_service *svc;
} env;

typedef struct col_data {
  int64_t n;
  const int64_t *i;  /* NULL: i = row number */
  const double *f;   /* NULL: f = row number; NAN allowed */
  const char *const *s; /* NULL: s = "s<row>"; an entry NULL is a null */
  const bool *f_null;   /* NULL: no nulls in f */
  const bool *i_null;   /* NULL: no nulls in i */
} col_data;

/* column_range of a writer that puts NaN in its statistics: min = max = NaN
 * for column f, whatever the rows hold. */
static bool nan_range(void *self, const td_table_key *table, const td_location_key *location, const char *column,
                      int64_t offset, int64_t n, td_value *min, td_value *max) {
  (void)self, (void)table, (void)location, (void)offset, (void)n;
  if (strcmp(column, "f") != 0) return false;
  *min = td_value_double(TD_TYPE_FLOAT64, NAN);
  *max = td_value_double(TD_TYPE_FLOAT64, NAN);
  return true;
}

static td_backend_vtable g_nan_vtable;

static void env_open_with(env *e, bool nan_stats) {
  td_error err;
  memset(e, 0, sizeof *e);
  TD_ASSERT_OK(td_memory_backend_new(&e->mb, &err), &err);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 4; /* many pages: the fast paths see several batches */
  td_backend b = td_memory_backend_backend(e->mb);
  if (nan_stats) {
    g_nan_vtable = *b.vtable;
    g_nan_vtable.column_range = nan_range;
    b.vtable = &g_nan_vtable;
  }
  TD_ASSERT_OK(td_service_new(b, &o, &e->svc, &err), &err);
}

static void env_open(env *e) { env_open_with(e, false); }

static void env_close(env *e) {
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
}

static void add_table(env *e, const char *name, const col_data *d) {
  td_error err;
  const char *names[4] = {"i", "f", "s", "ts"};
  td_type_id types[4] = {TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8, TD_TYPE_TIMESTAMP};
  const char *tzs[4] = {NULL, NULL, NULL, "UTC"};
  const char *pn = "P";
  td_type_id pt = TD_TYPE_UTF8;
  struct ArrowSchema ds, ps;
  TD_ASSERT_OK(td_schema_make(4, names, types, tzs, &ds, &err), &err);
  TD_ASSERT_OK(td_schema_make(1, &pn, &pt, NULL, &ps, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(e->mb, name, &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  td_builder *b[4];
  for (int c = 0; c < 4; c++) TD_ASSERT_OK(td_builder_new(types[c], &b[c], &err), &err);
  for (int64_t r = 0; r < d->n; r++) {
    if (d->i_null && d->i_null[r]) td_builder_append_null(b[0], NULL);
    else td_builder_append_int(b[0], d->i ? d->i[r] : r, NULL);
    if (d->f_null && d->f_null[r]) td_builder_append_null(b[1], NULL);
    else td_builder_append_double(b[1], d->f ? d->f[r] : (double)r, NULL);
    char s[32];
    snprintf(s, sizeof s, "s%lld", (long long)r);
    if (d->s && !d->s[r]) td_builder_append_null(b[2], NULL);
    else td_builder_append_str(b[2], d->s ? d->s[r] : s, -1, NULL);
    td_builder_append_int(b[3], r * 1000000000LL, NULL);
  }
  struct ArrowArray cols[4], batch;
  for (int c = 0; c < 4; c++) {
    TD_ASSERT_OK(td_builder_finish(b[c], &cols[c], &err), &err);
    td_builder_free(b[c]);
  }
  TD_ASSERT_OK(td_batch_make(4, cols, &batch, &err), &err);
  const char *n = "P";
  td_value v = td_value_str("a");
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_new("a", 1, &n, &v, &k, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_location(e->mb, name, k, &batch, &err), &err);
  td_location_key_release(k);
}

static int resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  env *e = ctx;
  (void)is_path;
  *svc = td_service_retain(e->svc);
  return td_table_key_new(name, key, err);
}

/* Runs a query; its rows as "a|b|;c|d|;" (floats with %.9g). */
static char *run(env *e, const char *sql) {
  td_error err;
  td_query_options qo = {.resolver = resolve, .resolver_ctx = e, .refreshing = false};
  td_table *t;
  TD_ASSERT_OK(td_query(sql, &qo, &t, &err), &err);
  char *out = mt_table_text(t, true);
  td_table_release(t);
  return out;
}

static void expect_rows(env *e, const char *sql, const char *want) {
  char *got = run(e, sql);
  if (strcmp(got, want) != 0) fail_msg("%s\n  got:  %s\n  want: %s", sql, got, want);
  free(got);
}

/* The query fails with `code` at `pos` (or any position when pos < -1) and
 * a message containing `text`; returns nothing. */
static void expect_error(env *e, const char *sql, int code, int64_t pos, const char *text) {
  td_error err;
  td_error_clear(&err);
  td_query_options qo = {.resolver = resolve, .resolver_ctx = e, .refreshing = false};
  td_table *t = NULL;
  int rc = td_query(sql, &qo, &t, &err);
  if (rc != code || (pos >= -1 && err.position != pos) || !strstr(err.message, text))
    fail_msg("'%s': got %s at %lld: %s (wanted %s at %lld: %s)", sql, td_status_name(rc), (long long)err.position,
             err.message, td_status_name(code), (long long)pos, text);
  assert_null(t);
}

/* ---- item 20: positional ORDER BY and GROUP BY ---- */

static void test_item20_order_by_position(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const int64_t iv[5] = {3, 1, 2, 5, 4};
  static const char *const sv[5] = {"c", "a", "b", "a", "b"};
  col_data d = {5, iv, NULL, sv, NULL, NULL};
  add_table(&e, "t", &d);
  expect_rows(&e, "SELECT s, i FROM t ORDER BY 2", "a|1|;b|2|;c|3|;b|4|;a|5|;");
  expect_rows(&e, "SELECT s, i FROM t ORDER BY 2 DESC LIMIT 2", "a|5|;b|4|;");
  expect_rows(&e, "SELECT s, i FROM t ORDER BY 1, 2 DESC", "a|5|;a|1|;b|4|;b|2|;c|3|;");
  /* positions count the columns '*' expands to (P, i, f, s, ts) */
  expect_rows(&e, "SELECT *, i * 2 FROM t ORDER BY 6 DESC LIMIT 1", "a|5|3|a|1970-01-01T00:00:03.000000000Z|10|;");
  /* over an aggregation, and a position naming an aggregate */
  expect_rows(&e, "SELECT s, sum(i) FROM t GROUP BY s ORDER BY 2 DESC", "a|6|;b|6|;c|3|;");
  expect_rows(&e, "SELECT s, max(i) AS m FROM t GROUP BY s ORDER BY 2", "c|3|;b|4|;a|5|;");
  /* a streamed plain query (td_query_stream) sorts too */
  td_error err;
  td_query_options qo = {.resolver = resolve, .resolver_ctx = &e, .refreshing = false};
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_query_stream("SELECT i FROM t ORDER BY 1 DESC", &qo, &st, &err), &err);
  struct ArrowArray b;
  assert_int_equal(st.get_next(&st, &b), 0);
  assert_int_equal(((const int64_t *)b.children[0]->buffers[1])[b.children[0]->offset], 5);
  b.release(&b);
  st.release(&st);
  /* out of range: an error at the number */
  expect_error(&e, "SELECT s, i FROM t ORDER BY 3", TD_ETYPE, 28, "ORDER BY position 3 is not in the select list");
  expect_error(&e, "SELECT s, i FROM t ORDER BY 0", TD_ETYPE, 28, "ORDER BY position 0");
  expect_error(&e, "SELECT s FROM t GROUP BY s ORDER BY 2", TD_ETYPE, 36, "ORDER BY position 2");
  env_close(&e);
}

static void test_item20_group_by_position(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const int64_t iv[5] = {3, 1, 2, 5, 4};
  static const char *const sv[5] = {"c", "a", "b", "a", "b"};
  col_data d = {5, iv, NULL, sv, NULL, NULL};
  add_table(&e, "t", &d);
  expect_rows(&e, "SELECT s, count(*) FROM t GROUP BY 1 ORDER BY 1", "a|2|;b|2|;c|1|;");
  expect_rows(&e, "SELECT i > 2 AS big, count(*) FROM t GROUP BY 1 ORDER BY 1", "false|2|;true|3|;");
  expect_rows(&e, "SELECT count(*), s FROM t GROUP BY 2 ORDER BY 2 DESC", "1|c|;2|b|;2|a|;");
  expect_error(&e, "SELECT s, count(*) FROM t GROUP BY 3", TD_ETYPE, 35, "GROUP BY position 3 is not in the select list");
  expect_error(&e, "SELECT s, count(*) FROM t GROUP BY 2", TD_ETYPE, 35, "refers to an aggregate (count(*))");
  env_close(&e);
}

/* ---- item 21: NaN in min / max ---- */

static void test_item21_nan_min_max(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* NaN at every position of 10 rows (pages of 4): min 1, max NaN always,
   * through the global loops, the fused integer-key loop (i - i), the
   * fused string-key loop (s), the generic multi-key map, with and without
   * nulls in the input. */
  static const char *const same[10] = {"x", "x", "x", "x", "x", "x", "x", "x", "x", "x"};
  static const bool nulls[10] = {false, true, false, false, false, true, false, false, true, false};
  static const char *const queries[] = {
      "SELECT min(f), max(f) FROM %s",
      "SELECT min(f) FROM %s GROUP BY i - i",
      "SELECT max(f) FROM %s GROUP BY i - i",
      "SELECT min(f) FROM %s GROUP BY s",
      "SELECT max(f) FROM %s GROUP BY s",
      "SELECT min(f), max(f) FROM %s GROUP BY s, i - i",
      "SELECT min(f + 0), max(f * 1) FROM %s GROUP BY P",
  };
  static const char *const want[] = {"%d|nan|;", "%d|;", "nan|;", "%d|;", "nan|;", "%d|nan|;", "%d|nan|;"};
  for (int with_nulls = 0; with_nulls < 2; with_nulls++) {
    for (int p = 0; p < 10; p++) {
      if (with_nulls && nulls[p]) continue;
      double f[10];
      int lo = 0;
      for (int r = 0; r < 10; r++) f[r] = r + 1;
      f[p] = NAN;
      for (int r = 9; r >= 0; r--)
        if (r != p && !(with_nulls && nulls[r])) lo = r + 1;
      char name[16];
      snprintf(name, sizeof name, "t%d_%d", with_nulls, p);
      col_data d = {10, NULL, f, same, with_nulls ? nulls : NULL, NULL};
      add_table(&e, name, &d);
      for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        char sql[160], w[32];
        snprintf(sql, sizeof sql, queries[q], name);
        snprintf(w, sizeof w, want[q], lo);
        expect_rows(&e, sql, w);
      }
    }
  }
  /* all NaN: min and max are NaN; ORDER BY agrees (NaN last ascending) */
  double fn[3] = {NAN, NAN, NAN};
  col_data dn = {3, NULL, fn, same, NULL, NULL};
  add_table(&e, "allnan", &dn);
  expect_rows(&e, "SELECT min(f), max(f) FROM allnan", "nan|nan|;");
  expect_rows(&e, "SELECT min(f) FROM allnan GROUP BY s", "nan|;");
  double fo[4] = {2, NAN, -1, 5};
  col_data dord = {4, NULL, fo, same, NULL, NULL};
  add_table(&e, "ord", &dord);
  expect_rows(&e, "SELECT f FROM ord ORDER BY f DESC LIMIT 1", "nan|;");
  expect_rows(&e, "SELECT max(f) FROM ord", "nan|;");
  env_close(&e);
}

static void test_item21_nan_statistics(void **state) {
  (void)state;
  env e;
  env_open_with(&e, true);
  double f[8] = {NAN, 10, NAN, 3, 30, NAN, 1, 2};
  col_data d = {8, NULL, f, NULL, NULL, NULL};
  add_table(&e, "t", &d);
  /* Statistics of min = max = NaN must not make the scan skip pages whose
   * other values match. */
  expect_rows(&e, "SELECT f FROM t WHERE f < 20", "10|;3|;1|;2|;");
  expect_rows(&e, "SELECT f FROM t WHERE f > 5", "10|;30|;");
  expect_rows(&e, "SELECT count(*) FROM t WHERE f = 3", "1|;");
  env_close(&e);
}

/* ---- item 22: integer overflow is an error, never a wrapped value ---- */

static void test_item22_sum_overflow(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const same[6] = {"x", "x", "x", "x", "x", "x"};
  static const int64_t big[6] = {INT64_MAX, INT64_MAX, INT64_MAX, 1, 2, 3};
  static const bool inull[6] = {false, false, false, true, false, false};
  col_data d = {6, big, NULL, same, NULL, NULL};
  add_table(&e, "big", &d);
  col_data dn = {6, big, NULL, same, NULL, inull};
  add_table(&e, "bign", &dn);
  static const int64_t neg[3] = {INT64_MIN, -1, 0};
  col_data dneg = {3, neg, NULL, same, NULL, NULL};
  add_table(&e, "neg", &dneg);
  /* every aggregation loop: global, fused int key, fused string key,
   * several aggregates, generic keys, nulls in the input */
  static const char *const queries[] = {
      "SELECT sum(i) FROM %s",
      "SELECT sum(i) FROM %s GROUP BY i - i",
      "SELECT s, sum(i) FROM %s GROUP BY s",
      "SELECT s, count(*), sum(i) FROM %s GROUP BY s",
      "SELECT sum(i), min(i) FROM %s GROUP BY s, P",
      "SELECT sum(i) FROM %s WHERE i > 0",
  };
  static const char *const tables[] = {"big", "bign", "neg"};
  for (size_t t = 0; t < 3; t++)
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
      char sql[160];
      snprintf(sql, sizeof sql, queries[q], tables[t]);
      if (t == 2 && strstr(sql, "i > 0")) continue; /* no positive values */
      expect_error(&e, sql, TD_ERANGE, -2, "integer overflow in sum(i)");
    }
  /* the partial sums of a group that stays in range are fine */
  expect_rows(&e, "SELECT sum(i) FROM big WHERE i < 10", "6|;");
  expect_rows(&e, "SELECT sum(i - 9223372036854775807) FROM big WHERE i > 10", "0|;");
  env_close(&e);
}

static void test_item22_arithmetic_overflow(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const int64_t iv[4] = {1, INT64_MAX, INT64_MIN, -3};
  col_data d = {4, iv, NULL, NULL, NULL, NULL};
  add_table(&e, "t", &d);
  expect_error(&e, "SELECT i + 1 FROM t", TD_ERANGE, 9, "integer overflow in 'i + 1'");
  expect_error(&e, "SELECT i - 1 FROM t", TD_ERANGE, 9, "integer overflow in 'i - 1'");
  expect_error(&e, "SELECT i * 2 FROM t", TD_ERANGE, 9, "integer overflow in 'i * 2'");
  expect_error(&e, "SELECT -i FROM t", TD_ERANGE, 7, "integer overflow in '-i'");
  expect_error(&e, "SELECT sum(i * i) FROM t", TD_ERANGE, 13, "integer overflow in 'i * i'");
  expect_error(&e, "SELECT i FROM t WHERE i * 2 > 0", TD_ERANGE, 24, "integer overflow in 'i * 2'");
  /* constants are folded when the query is bound */
  expect_error(&e, "SELECT 9223372036854775807 + 1 FROM t", TD_ERANGE, 27,
               "integer overflow in '9223372036854775807 + 1'");
  expect_error(&e, "SELECT i FROM t WHERE i > -(-9223372036854775807 - 1)", TD_ERANGE, -2, "integer overflow");
  /* rows a filter dropped cannot overflow: not in the select list, not in
   * aggregate inputs, not in a later conjunct */
  expect_rows(&e, "SELECT i * 2 FROM t WHERE i < 10 AND i > -10", "2|;-6|;");
  expect_rows(&e, "SELECT sum(i * 2) FROM t WHERE i < 10 AND i > -10", "-4|;");
  expect_rows(&e, "SELECT i FROM t WHERE i < 10 AND i > -10 AND i * 2 < 0", "-3|;");
  expect_rows(&e, "SELECT i FROM t WHERE i < 10 AND i > -10 AND (i = 1 OR i * 2 = -6)", "1|;-3|;");
  expect_error(&e, "SELECT i FROM t WHERE i = 1 OR i * 2 = -6", TD_ERANGE, 33, "integer overflow in 'i * 2'");
  /* floats are not integers: no error */
  expect_rows(&e, "SELECT i * 2.0 > 0 FROM t LIMIT 2", "true|;true|;");
  env_close(&e);
}

/* ---- item 23: timestamp literals outside the int64 nanosecond range ---- */

static void test_item23_timestamp_range(void **state) {
  (void)state;
  env e;
  env_open(&e);
  col_data d = {3, NULL, NULL, NULL, NULL, NULL};
  add_table(&e, "t", &d); /* ts = 0, 1, 2 seconds after the epoch */
  expect_error(&e, "SELECT ts FROM t WHERE ts < '9999-12-31'", TD_ETYPE, 28, "timestamp '9999-12-31' at offset 28 is out of range");
  expect_error(&e, "SELECT ts FROM t WHERE ts > '0001-01-01'", TD_ETYPE, 28, "out of range");
  expect_error(&e, "SELECT ts FROM t WHERE ts > '1677-09-21'", TD_ETYPE, 28, "out of range");
  expect_error(&e, "SELECT ts FROM t WHERE ts > '2262-04-12'", TD_ETYPE, 28, "out of range");
  expect_error(&e, "SELECT ts FROM t WHERE ts > '1677-09-21T00:12:43.145224191Z'", TD_ETYPE, 28, "out of range");
  expect_error(&e, "SELECT ts FROM t WHERE ts < '2262-04-11T23:47:16.854775808Z'", TD_ETYPE, 28, "out of range");
  expect_error(&e, "SELECT ts FROM t WHERE ts < '2262-04-11T23:47:16.854775807-01:00'", TD_ETYPE, 28, "out of range");
  expect_error(&e, "SELECT ts FROM t WHERE ts IN ('1970-01-01', '3000-01-01')", TD_ETYPE, 44, "out of range");
  expect_error(&e, "SELECT ts FROM t WHERE ts BETWEEN '1970-01-01' AND '9999-12-31'", TD_ETYPE, 51, "out of range");
  /* the extremes themselves are fine, and compare correctly */
  expect_rows(&e, "SELECT count(*) FROM t WHERE ts > '1677-09-21T00:12:43.145224192Z'", "3|;");
  expect_rows(&e, "SELECT count(*) FROM t WHERE ts < '2262-04-11T23:47:16.854775807Z'", "3|;");
  expect_rows(&e, "SELECT count(*) FROM t WHERE ts >= '1970-01-01T00:00:01' AND ts < '2262-04-11T23:47:16+00:00'", "2|;");
  /* functions of INT64_MIN itself: its day starts before INT64_MIN ns, so
   * splitting it into day and time of day must not multiply back (fuzz_sql) */
#define TMIN "TIMESTAMP '1677-09-21 00:12:43.145224192'"
  expect_rows(&e, "SELECT year(" TMIN "), hour(" TMIN "), date_part('second', " TMIN "), epoch_ms(" TMIN "), " TMIN,
              "1677|0|43|-9223372036855|1677-09-21T00:12:43.145224192Z|;");
  expect_rows(&e, "SELECT strftime(" TMIN ", '%Y-%m-%d %H:%M:%S')", "1677-09-21 00:12:43|;");
  expect_error(&e, "SELECT date_trunc('second', " TMIN ")", TD_ERANGE, 7, "timestamp out of range");
  expect_error(&e, "SELECT " TMIN " - INTERVAL 1 MONTH", TD_ERANGE, 49, "does not fit in int64");
#undef TMIN
  expect_rows(&e, "SELECT count(*) FROM t WHERE ts > '1969-12-31T23:59:59.5'", "3|;");
  int64_t ns;
  assert_false(td_parse_timestamp("9999-12-31", 10, &ns));
  assert_true(td_parse_timestamp("1677-09-21T00:12:43.145224192Z", 30, &ns));
  assert_int_equal(ns, INT64_MIN);
  assert_true(td_parse_timestamp("2262-04-11T23:47:16.854775807Z", 30, &ns));
  assert_int_equal(ns, INT64_MAX);
  env_close(&e);
}

/* ---- item 24: long IN lists and select lists are near-linear ---- */

/* The result of a query with `x IN (items)` equals the same query with the
 * OR chain of equalities (the definition), NOT IN its negation. */
static void same_as_or_chain(env *e, const char *x, const char *items) {
  char in_sql[1024], or_sql[2048], chain[1400] = "";
  char copy[512];
  snprintf(copy, sizeof copy, "%s", items);
  for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
    size_t n = strlen(chain);
    snprintf(chain + n, sizeof chain - n, "%s%s = %s", n ? " OR " : "", x, tok);
  }
  for (int neg = 0; neg < 2; neg++) {
    snprintf(in_sql, sizeof in_sql, "SELECT i, %s %sIN (%s) FROM t", x, neg ? "NOT " : "", items);
    snprintf(or_sql, sizeof or_sql, "SELECT i, %s(%s) FROM t", neg ? "NOT " : "", chain);
    char *a = run(e, in_sql), *b = run(e, or_sql);
    if (strcmp(a, b) != 0) fail_msg("%s\n  %s\n  vs %s\n  %s", in_sql, a, or_sql, b);
    free(a);
    free(b);
    /* and as a filter */
    snprintf(in_sql, sizeof in_sql, "SELECT i FROM t WHERE %s %sIN (%s)", x, neg ? "NOT " : "", items);
    snprintf(or_sql, sizeof or_sql, "SELECT i FROM t WHERE %s(%s)", neg ? "NOT " : "", chain);
    a = run(e, in_sql);
    b = run(e, or_sql);
    if (strcmp(a, b) != 0) fail_msg("%s\n  %s\n  vs %s\n  %s", in_sql, a, or_sql, b);
    free(a);
    free(b);
  }
}

static void test_item24_in_list_semantics(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const int64_t iv[8] = {0, 1, 2, 3, 9007199254740993LL, -5, 7, 0};
  static const double fv[8] = {0.5, -0.0, 2, NAN, 1e300, -5, 7.25, 0};
  static const char *const sv[8] = {"a", "", "bb", NULL, "a", "zz", "bb", "c"};
  static const bool nulls[8] = {false, false, true, false, false, false, false, true};
  col_data d = {8, iv, fv, sv, nulls, nulls};
  add_table(&e, "t", &d);
  same_as_or_chain(&e, "i", "1, 3, 7, 100");
  same_as_or_chain(&e, "i", "1, NULL, 7");
  same_as_or_chain(&e, "i", "2.0, 3.5, -5, 9007199254740992.0");
  same_as_or_chain(&e, "i", "9007199254740993, 0");
  same_as_or_chain(&e, "f", "0, 2, 7.25, 1e300");
  same_as_or_chain(&e, "f", "0.0, NULL, -5");
  same_as_or_chain(&e, "f", "7, 2");
  same_as_or_chain(&e, "s", "'a', '', 'zz'");
  same_as_or_chain(&e, "s", "'bb', NULL");
  same_as_or_chain(&e, "ts", "'1970-01-01T00:00:01Z', '1970-01-01T00:00:05Z'");
  same_as_or_chain(&e, "(i > 2)", "true");
  same_as_or_chain(&e, "i + 1", "2, 4, i");
  same_as_or_chain(&e, "NULL", "1, 2");
  same_as_or_chain(&e, "3", "1, 3");
  /* a NaN item never matches (NaN = NaN is false) */
  expect_rows(&e, "SELECT count(*) FROM t WHERE f IN (0.0 / 0.0, 7.25)", "1|;");
  env_close(&e);
}

static void test_item24_long_lists(void **state) {
  (void)state;
  env e;
  env_open(&e);
  enum { ROWS = 54000, IN_ITEMS = 20000, SELECT_ITEMS = 100000, AGG_ITEMS = 30000 };
  int64_t *iv = malloc(ROWS * sizeof *iv);
  for (int64_t r = 0; r < ROWS; r++) iv[r] = r;
  col_data d = {ROWS, iv, NULL, NULL, NULL, NULL};
  add_table(&e, "big", &d);
  col_data small = {3, NULL, NULL, NULL, NULL, NULL};
  add_table(&e, "small", &small);
  /* 20,000 IN items over 54,000 rows: an OR chain would take minutes */
  size_t cap = (size_t)SELECT_ITEMS * 16 + 256;
  char *sql = malloc(cap);
  size_t n = (size_t)sprintf(sql, "SELECT count(*), sum(i) FROM big WHERE i IN (");
  int64_t want_sum = 0, want_n = 0;
  for (int k = 0; k < IN_ITEMS; k++) {
    int64_t v = (int64_t)k * 7 - 3; /* some negative, some beyond the rows */
    n += (size_t)sprintf(sql + n, "%s%lld", k ? ", " : "", (long long)v);
    if (v >= 0 && v < ROWS) want_sum += v, want_n++;
  }
  sprintf(sql + n, ")");
  char want[64];
  snprintf(want, sizeof want, "%lld|%lld|;", (long long)want_n, (long long)want_sum);
  expect_rows(&e, sql, want);
  /* a select list of 100,000 items binds and runs */
  n = (size_t)sprintf(sql, "SELECT ");
  for (int k = 0; k < SELECT_ITEMS; k++) n += (size_t)sprintf(sql + n, "%si + %d", k ? ", " : "", k);
  sprintf(sql + n, " FROM small LIMIT 1");
  char *got = run(&e, sql);
  TD_ASSERT_CONTAINS(got, "|99999|;");
  assert_int_equal(strncmp(got, "0|1|2|", 6), 0);
  free(got);
  /* and 30,000 distinct aggregates, with an ORDER BY naming one of them */
  n = (size_t)sprintf(sql, "SELECT s, ");
  for (int k = 0; k < AGG_ITEMS; k++) n += (size_t)sprintf(sql + n, "%ssum(i + %d)", k ? ", " : "", k);
  sprintf(sql + n, " FROM small GROUP BY s ORDER BY sum(i + 29999) DESC LIMIT 1");
  got = run(&e, sql);
  assert_int_equal(strncmp(got, "s2|2|3|4|", 9), 0);
  TD_ASSERT_CONTAINS(got, "|30001|;");
  free(got);
  free(sql);
  free(iv);
  env_close(&e);
}

/* ---- item 26: messages show the user's text; UTF-8 identifiers ---- */

static void test_item26_messages(void **state) {
  (void)state;
  env e;
  env_open(&e);
  col_data d = {3, NULL, NULL, NULL, NULL, NULL};
  add_table(&e, "t", &d);
  /* aggregates that do not accept their input name the call as written */
  expect_error(&e, "SELECT sum(s) FROM t", TD_ETYPE, 11, "sum expects a numeric argument, found utf8 in sum(s)");
  expect_error(&e, "SELECT i, avg(i > 1) FROM t GROUP BY i", TD_ETYPE, 16, "avg(i > 1)");
  static const char *const bad[] = {
      "SELECT sum(s) FROM t",         "SELECT s, avg(s) FROM t GROUP BY s", "SELECT s + 1 FROM t GROUP BY s",
      "SELECT max(s) + 1 FROM t",     "SELECT count(*) FROM t ORDER BY sum(s)", "SELECT sum(i * 9223372036854775807) FROM t",
      "SELECT s FROM t GROUP BY s ORDER BY s > 1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    td_error err;
    td_query_options qo = {.resolver = resolve, .resolver_ctx = &e, .refreshing = false};
    td_table *t = NULL;
    assert_int_not_equal(td_query(bad[i], &qo, &t, &err), TD_OK);
    if (strstr(err.message, "__")) fail_msg("'%s': an internal name in: %s", bad[i], err.message);
  }
  env_close(&e);
}

static void test_item26_utf8_identifiers(void **state) {
  (void)state;
  env e;
  env_open(&e);
  col_data d = {3, NULL, NULL, NULL, NULL, NULL};
  add_table(&e, "t", &d);
  /* non-ASCII identifiers are whole characters, unquoted */
  expect_rows(&e, "SELECT i AS Prix€, i + 1 AS 名前 FROM t ORDER BY Prix€ DESC LIMIT 1", "2|3|;");
  expect_error(&e, "SELECT Prix€ FROM t", TD_ETYPE, 7, "unknown column 'Prix€'");
  expect_error(&e, "SELECT i FROM t WHERE é > 1", TD_ETYPE, 22, "unknown column 'é'");
  /* a byte that is not UTF-8 is an error that says so (not a lone byte) */
  expect_error(&e, "SELECT \xff FROM t", TD_EPARSE, 7, "found the byte 0xFF, which is not UTF-8");
  expect_error(&e, "SELECT i\xc3 FROM t", TD_EPARSE, 8, "byte 0xC3");
  expect_error(&e, "SELECT \xed\xa0\x80 FROM t", TD_EPARSE, 7, "byte 0xED"); /* a UTF-16 surrogate */
  /* a long token in a message is cut at a character boundary */
  expect_error(&e, "SELECT i FROM t LIMIT ééééééééééééééééééééééééé", TD_EPARSE, 22, "'éééééééééééééééééééé'");
  /* the canonical text of a UTF-8 column name is unquoted and reads back */
  td_error err;
  td_expr *x;
  char *text;
  TD_ASSERT_OK(td_expr_parse("名前 + été", strlen("名前 + été"), &x, &err), &err);
  TD_ASSERT_OK(td_expr_print(x, &text, &err), &err);
  assert_string_equal(text, "名前 + été");
  free(text);
  td_expr_free(x);
  env_close(&e);
}

/* ---- inputs the SQL fuzzer found (they trip ASan/UBSan in make asan) ---- */

static void test_fuzz_findings(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const empty[4] = {"", "", "", ""};
  col_data d = {4, NULL, NULL, empty, NULL, NULL};
  add_table(&e, "t", &d);
  /* a NULL constant compared in a selection (crashed unifying layouts); a
   * gather of empty strings only (null pointer arithmetic) */
  expect_rows(&e, "SELECT i, s FROM t WHERE s = NULL OR i = 1", "1||;");
  /* printing a huge float folded from constants (float-to-int overflow) */
  expect_rows(&e, "SELECT f * 1e308 * 10 > 0 FROM t WHERE i = 1", "true|;");
  char *name = run(&e, "SELECT 1e308 * 10 FROM t LIMIT 1");
  free(name);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_item20_order_by_position),
      cmocka_unit_test(test_item20_group_by_position),
      cmocka_unit_test(test_item21_nan_min_max),
      cmocka_unit_test(test_item21_nan_statistics),
      cmocka_unit_test(test_item22_sum_overflow),
      cmocka_unit_test(test_item22_arithmetic_overflow),
      cmocka_unit_test(test_item23_timestamp_range),
      cmocka_unit_test(test_item24_in_list_semantics),
      cmocka_unit_test(test_item24_long_lists),
      cmocka_unit_test(test_item26_messages),
      cmocka_unit_test(test_item26_utf8_identifiers),
      cmocka_unit_test(test_fuzz_findings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
