/*
 * tests/query/test_types.c - the temporal types (date32, date64, timestamps
 * in s/ms/us/ns, time64) end to end through the memory backend: the schema
 * contract, filters against ISO-8601 literals (exact, also when the literal
 * is finer than the unit), min/max/count, GROUP BY, ORDER BY, printing, and
 * the errors (cross-unit comparisons, sums, unsupported Arrow formats);
 * uint8 and uint32 columns (full range) through the same paths; uint64
 * beyond INT64_MAX exact in comparisons, sums, GROUP BY, ORDER BY and text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "tabledata.h"
#include "test.h"

typedef mt_mem env;

enum { NC = 7, NR = 5 };
static const char *const k_names[NC] = {"g", "d", "ts_ms", "ts_s", "tm", "d64", "ts"};
static const td_type_id k_types[NC] = {TD_TYPE_UTF8,     TD_TYPE_DATE32,    TD_TYPE_TIMESTAMP_MS,
                                       TD_TYPE_TIMESTAMP_S, TD_TYPE_TIME64_US, TD_TYPE_DATE64,
                                       TD_TYPE_TIMESTAMP};
static const char *const k_tz[NC] = {NULL, NULL, "UTC", NULL, NULL, NULL, "UTC"};
/* Rows: 0001-01-01 extremes, 9999-12-31 extremes, 2024-02-29 (leap day), all
 * null, the epoch.  Row 3 is null in every temporal column. */
static const char *const k_g[NR] = {"a", "b", "a", "b", "a"};
static const int64_t k_vals[NC][NR] = {
    {0},
    {-719162, 2932896, 19782, 0, 0},
    {-62135596800000LL, 253402300799999LL, 1709164800500LL, 0, 0},
    {-62135596800LL, 253402300799LL, 1709164800LL, 0, 0},
    {0, 86399999999LL, 45296123456LL, 0, 1},
    {0, 1709164800000LL, 1709164800500LL, 0, -86400000},
    {0, 1, 1709164800000000123LL, 0, -1},
};

static void env_open(env *e) {
  td_error err;
  mt_mem_open(e, 2); /* several pages: the paths over batches are used */
  struct ArrowArray cols[NC];
  for (int c = 0; c < NC; c++) {
    td_builder *b;
    TD_ASSERT_OK(td_builder_new(k_types[c], &b, &err), &err);
    for (int r = 0; r < NR; r++) {
      if (c == 0) TD_ASSERT_OK(td_builder_append_str(b, k_g[r], -1, &err), &err);
      else if (r == 3) TD_ASSERT_OK(td_builder_append_null(b, &err), &err);
      else TD_ASSERT_OK(td_builder_append_int(b, k_vals[c][r], &err), &err);
    }
    TD_ASSERT_OK(td_builder_finish(b, &cols[c], &err), &err);
    td_builder_free(b);
  }
  mt_mem_add(e, "t", true, "a", NC, k_names, k_types, k_tz, cols);
}

static void env_close(env *e) { mt_mem_close(e); }

/* Runs a query; its rows as "a|b|;c|d|;". */
static char *run(env *e, const char *sql) { return mt_mem_text(e, sql); }
static void expect_rows(env *e, const char *sql, const char *want) { mt_mem_expect_rows(e, sql, want); }
static void expect_error(env *e, const char *sql, int code, const char *text) {
  mt_mem_expect_error(e, sql, code, text);
}

static void test_schema_contract(void **state) {
  (void)state;
  env e;
  env_open(&e);
  td_error err;
  td_table *t = mt_mem_table(&e, "t");
  static const char *const formats[NC] = {"u", "tdD", "tsm:UTC", "tss:", "ttu", "tdm", "tsn:UTC"};
  mt_expect_formats(t, NC, formats);
  for (int c = 0; c < NC; c++) assert_int_equal(td_table_column_type(t, c), k_types[c]);
  assert_string_equal(td_table_column_timezone(t, 2), "UTC");
  assert_null(td_table_column_timezone(t, 3));
  td_table_release(t);
  /* Wrong answers: a format tabledata does not carry names the column. */
  struct ArrowSchema bad;
  TD_ASSERT_OK(td_schema_make(1, (const char *const[]){"x"}, (const td_type_id[]){TD_TYPE_DATE32}, NULL,
                              &bad, &err),
               &err);
  bad.children[0]->format = "tiM"; /* an interval of months */
  assert_int_equal(td_memory_backend_add_table(e.mb, "u", &bad, NULL, &err), TD_EUNSUPPORTED);
  TD_ASSERT_CONTAINS(err.message, "'x'");
  TD_ASSERT_CONTAINS(err.message, "tiM");
  bad.children[0]->format = "tdD";
  bad.release(&bad);
  env_close(&e);
}

static void test_printing_exact(void **state) {
  (void)state;
  env e;
  env_open(&e);
  expect_rows(&e, "SELECT d, ts_ms, ts_s, tm, d64 FROM t",
              "0001-01-01|0001-01-01T00:00:00.000Z|0001-01-01T00:00:00Z|00:00:00.000000|1970-01-01|;"
              "9999-12-31|9999-12-31T23:59:59.999Z|9999-12-31T23:59:59Z|23:59:59.999999|2024-02-29|;"
              "2024-02-29|2024-02-29T00:00:00.500Z|2024-02-29T00:00:00Z|12:34:56.123456|2024-02-29T00:00:00.500Z|;"
              "null|null|null|null|null|;"
              "1970-01-01|1970-01-01T00:00:00.000Z|1970-01-01T00:00:00Z|00:00:00.000001|1969-12-31|;");
  char buf[64];
  td_value v = td_value_int(TD_TYPE_TIME32_MS, 1000 * 3600 + 5);
  td_value_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "01:00:00.005");
  v = td_value_int(TD_TYPE_TIMESTAMP_US, -1);
  td_value_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
  v = td_value_int(TD_TYPE_TIME64_NS, 1);
  td_value_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "00:00:00.000000001");
  env_close(&e);
}

static void test_filters(void **state) {
  (void)state;
  env e;
  env_open(&e);
  expect_rows(&e, "SELECT g FROM t WHERE d >= '2024-01-01' ORDER BY d", "a|;b|;");
  expect_rows(&e, "SELECT g, d FROM t WHERE d = '9999-12-31'", "b|9999-12-31|;");
  expect_rows(&e, "SELECT d FROM t WHERE d < '0001-01-02'", "0001-01-01|;");
  expect_rows(&e, "SELECT d FROM t WHERE '0001-01-01' = d", "0001-01-01|;");
  expect_rows(&e, "SELECT d FROM t WHERE d IN ('1970-01-01', '9999-12-31')", "9999-12-31|;1970-01-01|;");
  expect_rows(&e, "SELECT d FROM t WHERE d BETWEEN '1970-01-01' AND '2024-02-29'", "2024-02-29|;1970-01-01|;");
  expect_rows(&e, "SELECT d FROM t WHERE NOT (d > '1970-01-01')", "0001-01-01|;1970-01-01|;");
  /* a date literal with a time: d > 2024-02-29T12:00 is d > 2024-02-29 */
  expect_rows(&e, "SELECT d FROM t WHERE d > '2024-02-29T12:00:00Z'", "9999-12-31|;");
  expect_rows(&e, "SELECT d FROM t WHERE d >= '2024-02-28T12:00:00Z'", "9999-12-31|;2024-02-29|;");
  expect_rows(&e, "SELECT d FROM t WHERE '2024-02-28T12:00:00Z' < d", "9999-12-31|;2024-02-29|;");
  expect_rows(&e, "SELECT d FROM t WHERE '2024-02-29T12:00:00Z' >= d", "0001-01-01|;2024-02-29|;1970-01-01|;");
  /* timestamps: exact at the extremes and with literals finer than the unit */
  expect_rows(&e, "SELECT g FROM t WHERE ts_ms = '9999-12-31T23:59:59.999Z'", "b|;");
  expect_rows(&e, "SELECT g FROM t WHERE ts_ms < '0001-01-01T00:00:00.001'", "a|;");
  expect_rows(&e, "SELECT ts_ms FROM t WHERE ts_ms > '2024-02-29T00:00:00.4999'",
              "9999-12-31T23:59:59.999Z|;2024-02-29T00:00:00.500Z|;");
  expect_rows(&e, "SELECT ts_ms FROM t WHERE ts_ms >= '2024-02-29T00:00:00.5004'", "9999-12-31T23:59:59.999Z|;");
  expect_rows(&e, "SELECT ts_ms FROM t WHERE ts_ms < '2024-02-29T00:00:00.5004' AND ts_ms > '2000-01-01'",
              "2024-02-29T00:00:00.500Z|;");
  expect_rows(&e, "SELECT ts_s FROM t WHERE ts_s >= '9999-12-31T23:59:59+00:00'", "9999-12-31T23:59:59Z|;");
  expect_rows(&e, "SELECT g FROM t WHERE ts_s = '2024-02-29T01:00:00+01:00'", "a|;");
  /* ns timestamps keep their behaviour */
  expect_rows(&e, "SELECT g FROM t WHERE ts > '2024-02-29T00:00:00.000000122Z'", "a|;");
  /* times of day */
  expect_rows(&e, "SELECT tm FROM t WHERE tm < '00:00:00.000001'", "00:00:00.000000|;");
  expect_rows(&e, "SELECT tm FROM t WHERE tm >= '12:34:56.123456' ORDER BY tm", "12:34:56.123456|;23:59:59.999999|;");
  expect_rows(&e, "SELECT tm FROM t WHERE tm > '12:34:56.1234565'", "23:59:59.999999|;");
  expect_rows(&e, "SELECT count(*) FROM t WHERE d64 = '2024-02-29'", "1|;");
  expect_rows(&e, "SELECT count(*) FROM t WHERE d IS NULL", "1|;");
  env_close(&e);
}

static void test_aggregates_and_order(void **state) {
  (void)state;
  env e;
  env_open(&e);
  expect_rows(&e, "SELECT min(d), max(d), min(ts_ms), max(ts_ms), min(tm), max(tm), count(d) FROM t",
              "0001-01-01|9999-12-31|0001-01-01T00:00:00.000Z|9999-12-31T23:59:59.999Z|00:00:00.000000|"
              "23:59:59.999999|4|;");
  expect_rows(&e, "SELECT g, max(d), min(ts_s) FROM t GROUP BY g ORDER BY g",
              "a|2024-02-29|0001-01-01T00:00:00Z|;b|9999-12-31|9999-12-31T23:59:59Z|;");
  expect_rows(&e, "SELECT d, count(*) FROM t GROUP BY d ORDER BY d DESC LIMIT 2",
              "9999-12-31|1|;2024-02-29|1|;");
  expect_rows(&e, "SELECT ts_s FROM t WHERE ts_s IS NOT NULL ORDER BY ts_s DESC",
              "9999-12-31T23:59:59Z|;2024-02-29T00:00:00Z|;1970-01-01T00:00:00Z|;0001-01-01T00:00:00Z|;");
  expect_rows(&e, "SELECT DISTINCT g FROM t WHERE tm IS NOT NULL ORDER BY g", "a|;b|;");
  env_close(&e);
}

static void test_errors(void **state) {
  (void)state;
  env e;
  env_open(&e);
  expect_error(&e, "SELECT d FROM t WHERE d = ts_ms", TD_ETYPE, "different types or units");
  expect_error(&e, "SELECT d FROM t WHERE ts_s < ts", TD_ETYPE, "cannot compare timestamp_s with timestamp");
  expect_error(&e, "SELECT d FROM t WHERE ts_s = '2024-02-29T00:00:00.5'", TD_ETYPE, "finer than the unit");
  expect_error(&e, "SELECT d FROM t WHERE d IN ('2024-02-29T01:00:00')", TD_ETYPE, "finer than the unit");
  expect_error(&e, "SELECT d FROM t WHERE d = '2024-13-01'", TD_ETYPE, "cannot parse '2024-13-01' as a date32");
  expect_error(&e, "SELECT d FROM t WHERE tm = '25:00:00'", TD_ETYPE, "time of day");
  expect_error(&e, "SELECT sum(d) FROM t", TD_ETYPE, "date32");
  expect_error(&e, "SELECT d + 1 FROM t", TD_ETYPE, "date32");
  expect_error(&e, "SELECT d FROM t WHERE d > 3", TD_ETYPE, "cannot compare date32 with int64");
  env_close(&e);
}

static void test_unsigned(void **state) {
  (void)state;
  env e = {0}; /* opened by hand below: no file backend, no paths */
  td_error err;
  TD_ASSERT_OK(td_memory_backend_new(&e.mb, &err), &err);
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(e.mb), NULL, &e.svc, &err), &err);
  static const char *const names[2] = {"u8", "u32"};
  static const td_type_id types[2] = {TD_TYPE_UINT8, TD_TYPE_UINT32};
  struct ArrowSchema ds;
  TD_ASSERT_OK(td_schema_make(2, names, types, NULL, &ds, &err), &err);
  assert_string_equal(ds.children[0]->format, "C");
  assert_string_equal(ds.children[1]->format, "I");
  TD_ASSERT_OK(td_memory_backend_add_table(e.mb, "t", &ds, NULL, &err), &err);
  ds.release(&ds);
  static const int64_t vals[2][4] = {{255, 0, 7, 0}, {4294967295LL, 0, 5, 0}};
  struct ArrowArray cols[2], batch;
  for (int c = 0; c < 2; c++) {
    td_builder *b;
    TD_ASSERT_OK(td_builder_new(types[c], &b, &err), &err);
    for (int r = 0; r < 4; r++) {
      if (r == 3) TD_ASSERT_OK(td_builder_append_null(b, &err), &err);
      else TD_ASSERT_OK(td_builder_append_int(b, vals[c][r], &err), &err);
    }
    TD_ASSERT_OK(td_builder_finish(b, &cols[c], &err), &err);
    td_builder_free(b);
  }
  TD_ASSERT_OK(td_batch_make(2, cols, &batch, &err), &err);
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_new("a", 0, NULL, NULL, &k, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_location(e.mb, "t", k, &batch, &err), &err);
  td_location_key_release(k);
  expect_rows(&e, "SELECT u8, u32 FROM t ORDER BY u32 DESC", "255|4294967295|;7|5|;0|0|;null|null|;");
  expect_rows(&e, "SELECT sum(u8), max(u8), sum(u32), min(u32), max(u32) FROM t", "262|255|4294967300|0|4294967295|;");
  expect_rows(&e, "SELECT u32 FROM t WHERE u32 >= 4294967295", "4294967295|;");
  expect_rows(&e, "SELECT u8 + 1 FROM t WHERE u8 = 255", "256|;");
  expect_rows(&e, "SELECT u8, count(*) FROM t GROUP BY u8 ORDER BY u8", "0|1|;7|1|;255|1|;null|1|;");
  env_close(&e);
}

static void test_uint64(void **state) {
  (void)state;
  env e = {0}; /* opened by hand below: no file backend, no paths */
  td_error err;
  TD_ASSERT_OK(td_memory_backend_new(&e.mb, &err), &err);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 2; /* several pages */
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(e.mb), &o, &e.svc, &err), &err);
  static const char *const names[2] = {"u", "i"};
  static const td_type_id types[2] = {TD_TYPE_UINT64, TD_TYPE_INT64};
  struct ArrowSchema ds;
  TD_ASSERT_OK(td_schema_make(2, names, types, NULL, &ds, &err), &err);
  assert_string_equal(ds.children[0]->format, "L");
  TD_ASSERT_OK(td_memory_backend_add_table(e.mb, "t", &ds, NULL, &err), &err);
  ds.release(&ds);
  /* 2^64-1, 2^63, null, 5, 0 (bits passed as int64) */
  static const uint64_t uv[5] = {UINT64_MAX, 1ull << 63, 0, 5, 0};
  struct ArrowArray cols[2], batch;
  for (int c = 0; c < 2; c++) {
    td_builder *b;
    TD_ASSERT_OK(td_builder_new(types[c], &b, &err), &err);
    for (int r = 0; r < 5; r++) {
      if (c == 0 && r == 2) TD_ASSERT_OK(td_builder_append_null(b, &err), &err);
      else TD_ASSERT_OK(td_builder_append_int(b, c == 0 ? (int64_t)uv[r] : r - 1, &err), &err);
    }
    TD_ASSERT_OK(td_builder_finish(b, &cols[c], &err), &err);
    td_builder_free(b);
  }
  TD_ASSERT_OK(td_batch_make(2, cols, &batch, &err), &err);
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_new("a", 0, NULL, NULL, &k, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_location(e.mb, "t", k, &batch, &err), &err);
  td_location_key_release(k);
  expect_rows(&e, "SELECT u FROM t ORDER BY u DESC",
              "18446744073709551615|;9223372036854775808|;5|;0|;null|;");
  expect_rows(&e, "SELECT u FROM t WHERE u > 9223372036854775807", "18446744073709551615|;9223372036854775808|;");
  expect_rows(&e, "SELECT u FROM t WHERE u = 18446744073709551615 OR u < 1.5", "18446744073709551615|;0|;");
  expect_rows(&e, "SELECT u FROM t WHERE u >= '9223372036854775808' AND u IN (9223372036854775808, 5)",
              "9223372036854775808|;");
  /* a signed column compared with a uint64: -1 is below every uint64 (not 2^64-1) */
  expect_rows(&e, "SELECT u, i FROM t WHERE i < u", "18446744073709551615|-1|;9223372036854775808|0|;5|2|;");
  /* the sum is exact beyond 64 bits: decimal128(38,0) like DuckDB's HUGEINT */
  expect_rows(&e, "SELECT sum(u), min(u), max(u), count(u) FROM t",
              "27670116110564327428|0|18446744073709551615|4|;");
  expect_rows(&e, "SELECT u, count(*) FROM t GROUP BY u ORDER BY u",
              "0|1|;5|1|;9223372036854775808|1|;18446744073709551615|1|;null|1|;");
  /* a uint64 literal prints (EXPLAIN, the SQL of a view) as the number it is */
  expect_rows(&e, "SELECT count(*) FROM t WHERE u > 18446744073709551000", "1|;");
  char *plan = run(&e, "EXPLAIN SELECT u FROM t WHERE u > 18446744073709551000");
  if (!strstr(plan, "18446744073709551000")) fail_msg("EXPLAIN: %s", plan);
  free(plan);
  expect_error(&e, "SELECT u + 1 FROM t", TD_ETYPE, "uint64");
  expect_error(&e, "SELECT u FROM t WHERE u = 1.5", TD_ETYPE, "more fraction digits");
  expect_error(&e, "SELECT u FROM t WHERE u = 18446744073709551616", TD_EPARSE, "out of range");
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema_contract), cmocka_unit_test(test_printing_exact),
      cmocka_unit_test(test_filters),         cmocka_unit_test(test_aggregates_and_order),
      cmocka_unit_test(test_errors),          cmocka_unit_test(test_unsigned),
      cmocka_unit_test(test_uint64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
