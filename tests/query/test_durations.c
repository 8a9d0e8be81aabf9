/*
 * tests/query/test_durations.c - the duration types (Arrow "tDs", "tDm",
 * "tDu", "tDn") end to end: the schema contract of the memory backend,
 * DuckDB's INTERVAL text, span arithmetic (timestamp - timestamp, date -
 * date, timestamp +- duration, duration +- * / and negation, comparisons
 * across units and with INTERVALs), date_part / epoch of spans, min / max,
 * ORDER BY and GROUP BY; the errors (overflow, what is not supported); the
 * Arrow IPC round trip (COPY), a Parquet file pyarrow wrote (INT64 columns
 * its ARROW:schema calls durations) and a live table that ticks.  The
 * expected texts are DuckDB's where it has an answer (its INTERVAL prints
 * the same days and time as these spans).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtable.h"
#include "tabledata.h"
#include "test.h"

typedef mt_mem env;

enum { NC = 8, NR = 5 };
static const char *const k_names[NC] = {"id", "ds", "dms", "dus", "dns", "ts", "ts2", "dt"};
static const td_type_id k_types[NC] = {TD_TYPE_INT64,       TD_TYPE_DURATION_S,   TD_TYPE_DURATION_MS,
                                       TD_TYPE_DURATION_US, TD_TYPE_DURATION_NS,  TD_TYPE_TIMESTAMP_US,
                                       TD_TYPE_TIMESTAMP_MS, TD_TYPE_DATE32};
static const char *const k_tz[NC] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
/* Row 2 is null in every column but id. */
static const int64_t k_vals[NC][NR] = {
    {1, 2, 3, 4, 5},
    {1, -1, 0, 259205, 0},
    {1005, -995, 0, 259205005, 5},
    {1000007, -999993, 0, 259205000007, 7},
    {1000000009, -999999991, 0, 259205000000009, 9},
    /* 2024-01-02 03:04:05.5, 2024-01-01, -, 1969-12-31 23:59:59.999999, 2000-01-01 */
    {1704164645500000, 1704067200000000, 0, -1, 946684800000000},
    /* 2024-01-01 01:02:02, 2024-01-02 03:04:05.123, -, 1970-01-01, 2000-01-01 */
    {1704070922000, 1704164645123, 0, 0, 946684800000},
    {19723, 19722, 0, -1, 10957},
};

static void add_rows(env *e, bool new_table, const char *loc, int64_t id_offset) {
  td_error err;
  struct ArrowArray cols[NC];
  for (int c = 0; c < NC; c++) {
    td_builder *b;
    TD_ASSERT_OK(td_builder_new(k_types[c], &b, &err), &err);
    for (int r = 0; r < NR; r++) {
      if (c > 0 && r == 2) TD_ASSERT_OK(td_builder_append_null(b, &err), &err);
      else TD_ASSERT_OK(td_builder_append_int(b, k_vals[c][r] + (c == 0 ? id_offset : 0), &err), &err);
    }
    TD_ASSERT_OK(td_builder_finish(b, &cols[c], &err), &err);
    td_builder_free(b);
  }
  mt_mem_add(e, "t", new_table, loc, NC, k_names, k_types, k_tz, cols);
}

static void env_open(env *e) {
  mt_mem_open(e, 2); /* several pages: the batch paths are used */
  mt_mem_paths(e, 0);
  add_rows(e, true, "a", 0);
}

static void env_close(env *e) { mt_mem_close(e); }

static void expect_rows(env *e, const char *sql, const char *want) { mt_mem_expect_rows(e, sql, want); }
static void expect_error(env *e, const char *sql, int code, const char *text) {
  mt_mem_expect_error(e, sql, code, text);
}

static void test_schema_and_text(void **state) {
  (void)state;
  env e;
  env_open(&e);
  td_table *t = mt_mem_table(&e, "t");
  static const char *const formats[5] = {"l", "tDs", "tDm", "tDu", "tDn"};
  mt_expect_formats(t, 5, formats);
  for (int c = 1; c <= 4; c++) assert_int_equal(td_table_column_type(t, c), k_types[c]);
  td_table_release(t);
  /* DuckDB's INTERVAL text: days, then the time with the sign of the span */
  expect_rows(&e, "SELECT ds, dms, dus, dns FROM t ORDER BY id",
              "00:00:01|00:00:01.005|00:00:01.000007|00:00:01.000000009|;"
              "-00:00:01|-00:00:00.995|-00:00:00.999993|-00:00:00.999999991|;"
              "null|null|null|null|;"
              "3 days 00:00:05|3 days 00:00:05.005|3 days 00:00:05.000007|3 days 00:00:05.000000009|;"
              "00:00:00|00:00:00.005|00:00:00.000007|00:00:00.000000009|;");
  expect_rows(&e, "SELECT CAST(-ds AS VARCHAR), CAST(dus * -1 AS VARCHAR) || '!' FROM t WHERE id = 4",
              "-3 days -00:00:05|-3 days -00:00:05.000007!|;");
  char buf[64];
  td_value v = td_value_int(TD_TYPE_DURATION_S, 86400);
  td_value_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "1 day");
  v = td_value_int(TD_TYPE_DURATION_NS, INT64_MIN);
  td_value_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "-106751 days -23:47:16.854775808");
  v = td_value_int(TD_TYPE_DURATION_MS, -86400000LL * 2 - 120);
  td_value_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "-2 days -00:00:00.12");
  env_close(&e);
}

static void test_arithmetic(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* timestamp - timestamp: a duration in the finer unit (DuckDB's answers) */
  expect_rows(&e, "SELECT CAST(ts - ts2 AS VARCHAR), CAST(ts2 - ts AS VARCHAR) FROM t ORDER BY id",
              "1 day 02:02:03.5|-1 day -02:02:03.5|;-1 day -03:04:05.123|1 day 03:04:05.123|;null|null|;"
              "-00:00:00.000001|00:00:00.000001|;00:00:00|00:00:00|;");
  expect_rows(&e, "SELECT CAST(max(ts) - min(ts) AS VARCHAR), CAST(max(ts2) - TIMESTAMP '2024-01-01' AS VARCHAR) FROM t",
              "19724 days 03:04:05.500001|1 day 03:04:05.123|;");
  /* date - date is BIGINT days; a date meets a timestamp as midnight */
  expect_rows(&e, "SELECT dt - DATE '2024-01-01', CAST(dt - ts AS VARCHAR) FROM t ORDER BY id",
              "0|-1 day -03:04:05.5|;-1|-1 day|;null|null|;-19724|-23:59:59.999999|;-8766|00:00:00|;");
  /* timestamp +- duration: a timestamp in the finer unit */
  expect_rows(&e, "SELECT ts2 + ds, ts - dus, dt + dms FROM t WHERE id = 4",
              "1970-01-04T00:00:05.000Z|1969-12-28T23:59:54.999992Z|1970-01-03T00:00:05.005Z|;");
  expect_rows(&e, "SELECT ts2 + (ts - ts2) = ts FROM t ORDER BY id", "true|;true|;null|;true|;true|;");
  /* durations: + - across units, * and / by integers (rounded half to even), negation */
  expect_rows(&e, "SELECT dns - dus, dms + ds, dus * 3, 2 * ds, dus / 2, dms / 0, -dns FROM t WHERE id = 2",
              "-00:00:00.000006991|-00:00:01.995|-00:00:02.999979|-00:00:02|-00:00:00.499996|null|"
              "00:00:00.999999991|;");
  expect_rows(&e, "SELECT CAST(INTERVAL 1 DAY - ds AS VARCHAR), ds + INTERVAL 90 MINUTE FROM t WHERE id = 1",
              "23:59:59|01:30:01|;");
  /* comparisons: durations of any unit and fixed-length INTERVALs */
  expect_rows(&e, "SELECT id FROM t WHERE dus > ds ORDER BY id", "1|;2|;4|;5|;");
  expect_rows(&e, "SELECT id FROM t WHERE ds >= INTERVAL 1 SECOND AND ds < INTERVAL 3 DAY ORDER BY id", "1|;");
  expect_rows(&e, "SELECT id FROM t WHERE dms IN (INTERVAL 5 MILLISECOND, INTERVAL 0 SECOND) ORDER BY id", "5|;");
  expect_rows(&e, "SELECT id, dms IN (INTERVAL 5 MILLISECOND, NULL), ds + NULL FROM t ORDER BY id",
              "1|null|null|;2|null|null|;3|null|null|;4|null|null|;5|true|null|;");
  /* spans beyond 2^53 ns compare and match exactly (no detour through doubles, whose spacing is 4 there) */
  expect_rows(&e,
              "SELECT id, dns * 100 > dns * 100 - INTERVAL 1 NANOSECOND, "
              "dns * 100 IN (INTERVAL '25920500000000901 nanosecond', INTERVAL 1 DAY), "
              "dns * 100 IN (INTERVAL '25920500000000900 nanosecond', INTERVAL 1 DAY) FROM t WHERE id IN (3, 4) ORDER BY id",
              "3|null|null|null|;4|true|false|true|;");
  /* durations of several units in one CASE / COALESCE / GREATEST: the finest */
  expect_rows(&e, "SELECT coalesce(ds, dms), greatest(ds, dus, dms), CASE WHEN id = 1 THEN ds ELSE dns END FROM t "
                  "WHERE id IN (1, 2) ORDER BY id",
              "00:00:01|00:00:01.005|00:00:01|;-00:00:01|-00:00:00.995|-00:00:00.999999991|;");
  /* joins and as-of joins on durations of one unit */
  expect_rows(&e, "SELECT a.id, b.id FROM t a ASOF JOIN t b ON a.dus >= b.dus WHERE a.id <> b.id ORDER BY a.id", "");
  expect_rows(&e, "SELECT a.id, b.id AS j FROM t a JOIN t b ON a.ds = b.ds ORDER BY a.id, j", "1|1|;2|2|;4|4|;5|5|;");
  expect_rows(&e, "SELECT id FROM t WHERE ts - ts2 BETWEEN INTERVAL -1 HOUR AND INTERVAL 1 HOUR ORDER BY id", "4|;5|;");
  /* date_part / extract / epoch of a span (DuckDB's INTERVAL parts) */
  expect_rows(&e,
              "SELECT epoch(ts2 - ts), date_part('day', ts2 - ts), extract(hour FROM ts2 - ts), minute(ts2 - ts), "
              "date_part('second', ts2 - ts), date_part('millisecond', ts2 - ts), date_part('microsecond', ts2 - ts), "
              "date_part('month', ts2 - ts), date_part('epoch', ds) FROM t WHERE id = 1",
              "-93723.5|-1|-2|-2|-3|-3500|-3500000|0|1|;");
  /* epoch_ms / _us / _ns of spans (whole units toward zero) and of INTERVALs; to_weeks .. to_microseconds */
  expect_rows(&e, "SELECT epoch_ms(dus), epoch_us(dns), epoch_ns(ds), epoch_ms(INTERVAL 90 MINUTE) FROM t WHERE id = 2",
              "-999|-999999|-1000000000|5400000|;");
  expect_rows(&e,
              "SELECT to_weeks(2), to_days(3), to_hours(-36), to_minutes(90), to_seconds(1.5), to_milliseconds(2.5), "
              "to_microseconds(id), to_seconds(-1.0000005), to_seconds(id) > ds FROM t WHERE id = 1",
              "14 days|3 days|-1 day -12:00:00|01:30:00|00:00:01.5|00:00:00.0025|00:00:00.000001|-00:00:01.000001|false|;");
  /* min / max / GROUP BY / ORDER BY / count DISTINCT of durations */
  expect_rows(&e, "SELECT min(ds), max(dns), count(DISTINCT dms) FROM t", "-00:00:01|3 days 00:00:05.000000009|4|;");
  expect_rows(&e, "SELECT ds, count(*) FROM t GROUP BY ds ORDER BY ds NULLS FIRST",
              "null|1|;-00:00:01|1|;00:00:00|1|;00:00:01|1|;3 days 00:00:05|1|;");
  expect_rows(&e, "SELECT id FROM t ORDER BY ts - ts2 DESC NULLS LAST, id", "1|;5|;4|;2|;3|;");
  env_close(&e);
}

static void test_errors(void **state) {
  (void)state;
  env e;
  env_open(&e);
  expect_error(&e, "SELECT dns * 9223372036854775807 FROM t", TD_ERANGE, "integer overflow in 'dns * 9223372036854775807'");
  /* the least duration_ns (INT64_MIN ns) has no negation */
  expect_rows(&e, "SELECT dns * -1024819115206086200 - INTERVAL 8 NANOSECOND FROM t WHERE id = 5",
              "-106751 days -23:47:16.854775808|;");
  expect_error(&e, "SELECT -(dns * -1024819115206086200 - INTERVAL 8 NANOSECOND) FROM t WHERE id = 5", TD_ERANGE,
               "integer overflow");
  expect_error(&e, "SELECT (dns * -1024819115206086200 - INTERVAL 8 NANOSECOND) / -1 FROM t WHERE id = 5", TD_ERANGE,
               "integer overflow");
  /* a rescale that leaves int64 (seconds to nanoseconds) */
  expect_error(&e, "SELECT ds * 10000000000 + dns FROM t WHERE id = 1", TD_ERANGE, "out of the range of duration_ns");
  expect_error(&e, "SELECT to_hours(9223372036854775807) FROM t", TD_ERANGE, "to_hours: the interval is out of range");
  expect_error(&e, "SELECT to_days(1.5) FROM t", TD_ETYPE, "to_days expects an integer");
  expect_error(&e, "SELECT ds + 5 FROM t", TD_EUNSUPPORTED, "duration_s + int64 is not supported");
  expect_error(&e, "SELECT ds / ds FROM t", TD_EUNSUPPORTED, "duration_s / duration_s is not supported");
  expect_error(&e, "SELECT 5 / ds FROM t", TD_EUNSUPPORTED, "int64 / duration_s is not supported");
  expect_error(&e, "SELECT ds * 1.5 FROM t", TD_EUNSUPPORTED, "duration_s * float64 is not supported");
  expect_error(&e, "SELECT ds - ts FROM t", TD_EUNSUPPORTED, "duration_s - timestamp_us is not supported");
  expect_error(&e, "SELECT ds > INTERVAL 1 MONTH FROM t", TD_EUNSUPPORTED, "INTERVAL of months or years");
  expect_error(&e, "SELECT ds + INTERVAL 1 YEAR FROM t", TD_EUNSUPPORTED, "INTERVAL of months or years");
  expect_error(&e, "SELECT ds > 5 FROM t", TD_ETYPE, "cannot compare duration_s with int64");
  expect_error(&e, "SELECT CAST(ds AS BIGINT) FROM t", TD_ETYPE, "cannot cast duration_s to int64");
  expect_error(&e, "SELECT date_part('dow', ds) FROM t WHERE id = 1", TD_EUNSUPPORTED,
               "date_part 'dow' of a duration is not supported");
  expect_error(&e, "SELECT sum(ds) FROM t", TD_EUNSUPPORTED, "sum of a duration is not supported");
  expect_error(&e, "SELECT avg(ts - ts2) FROM t", TD_EUNSUPPORTED, "avg of a duration is not supported");
  env_close(&e);
}

/* Arrow IPC and Parquet keep each unit (COPY to a file and back: Parquet
 * with the ARROW:schema footer metadata pyarrow writes); a Parquet file
 * pyarrow wrote has its durations back (an INT64 column without the
 * metadata is int64). */
static void test_files(void **state) {
  (void)state;
  env e;
  env_open(&e);
  char dir[] = "/tmp/td_duration_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char sql[512], path[256];
  static const char *const fmts[] = {"arrow", "parquet"}; /* Parquet: INT64 and an ARROW:schema */
  for (int f = 0; f < 2; f++) {
    snprintf(path, sizeof path, "%s/t.%s", dir, fmts[f]);
    snprintf(sql, sizeof sql, "COPY (SELECT id, ds, dms, dus, dns, ts FROM t) TO '%s'", path);
    free(mt_mem_text(&e, sql));
    snprintf(sql, sizeof sql, "SELECT id, ds, dms, dus, dns, dns - ds, ts FROM '%s' WHERE id IN (2, 3) ORDER BY id", path);
    expect_rows(&e, sql, "2|-00:00:01|-00:00:00.995|-00:00:00.999993|-00:00:00.999999991|00:00:00.000000009|"
                         "2024-01-01T00:00:00.000000Z|;3|null|null|null|null|null|null|;");
    unlink(path);
  }
  rmdir(dir);
  /* pyarrow 26 (.venv): pa.duration('s'|'ms'|'us'|'ns') columns and a plain int64 */
  snprintf(sql, sizeof sql, "SELECT id, ds, dms, dus, dns, plain FROM '%s' ORDER BY id",
           td_test_testdata("parquet/writers/durations_pyarrow.parquet"));
  expect_rows(&e, sql,
              "1|00:00:01|00:00:01.005|00:00:01.000007|00:00:01.000000009|1|;"
              "2|-00:00:01|-00:00:00.995|-00:00:00.999993|-00:00:00.999999991|2|;"
              "3|null|null|null|null|3|;"
              "4|3 days 00:00:05|3 days 00:00:05.005|3 days 00:00:05.000007|3 days 00:00:05.000000009|4|;"
              "5|00:00:00|00:00:00.005|00:00:00.000007|00:00:00.000000009|5|;");
  snprintf(sql, sizeof sql, "SELECT id FROM '%s' WHERE dus > INTERVAL 1 SECOND ORDER BY id",
           td_test_testdata("parquet/writers/durations_pyarrow.parquet"));
  expect_rows(&e, sql, "1|;4|;");
  env_close(&e);
}

/* A refreshing table with a duration column: a location added ticks the
 * live results like any int64 column. */
static void test_live(void **state) {
  (void)state;
  env e;
  env_open(&e);
  td_query_options o = mt_mem_options(&e, 0);
  o.refreshing = true;
  td_table *live[2];
  td_error err;
  static const char *const sql[2] = {"SELECT id, dus, ts - ts2 AS span FROM t WHERE dus > INTERVAL 0 SECOND",
                                     "SELECT max(dus) AS m, min(ts - ts2) AS n, count(*) AS c FROM t"};
  for (int i = 0; i < 2; i++) TD_ASSERT_OK(td_query(sql[i], &o, &live[i], &err), &err);
  add_rows(&e, false, "b", 10);
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  char *text = mt_table_text(live[0], false);
  assert_string_equal(text, "1|00:00:01.000007|1 day 02:02:03.5|;4|3 days 00:00:05.000007|-00:00:00.000001|;"
                            "5|00:00:00.000007|00:00:00|;11|00:00:01.000007|1 day 02:02:03.5|;"
                            "14|3 days 00:00:05.000007|-00:00:00.000001|;15|00:00:00.000007|00:00:00|;");
  free(text);
  text = mt_table_text(live[1], false);
  assert_string_equal(text, "3 days 00:00:05.000007|-1 day -03:04:05.123|10|;");
  free(text);
  for (int i = 0; i < 2; i++) td_table_release(live[i]);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema_and_text),
      cmocka_unit_test(test_arithmetic),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_files),
      cmocka_unit_test(test_live),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
