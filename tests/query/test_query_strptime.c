/*
 * tests/query/test_query_strptime.c - strptime and try_strptime (every
 * format specifier, white space, defaults, ranges, time zones, fractions of
 * 1-9 digits, errors with their positions, NULLs), round trips through
 * strftime, to_timestamp and epoch_ms of a count (query/func_time.c).
 */
#include <stdio.h>
#include <string.h>

#include "query/expr.h"
#include "tabledata.h"
#include "test.h"
#include "util/alloc.h"

/* Columns: s utf8, ts timestamp (microseconds), f float64, i int64, n utf8 (null). */
static td_schema S;
static td_value ROW[5];

static int setup(void **state) {
  (void)state;
  td_schema_init(&S);
  td_schema_add(&S, "s", TD_TYPE_UTF8, NULL, true, NULL);
  td_schema_add(&S, "ts", TD_TYPE_TIMESTAMP_US, NULL, true, NULL);
  td_schema_add(&S, "f", TD_TYPE_FLOAT64, NULL, true, NULL);
  td_schema_add(&S, "i", TD_TYPE_INT64, NULL, true, NULL);
  td_schema_add(&S, "n", TD_TYPE_UTF8, NULL, true, NULL);
  ROW[0] = td_value_str("2024-01-02 03:04:05");
  ROW[1] = td_value_int(TD_TYPE_TIMESTAMP_US, 1704164645123456LL); /* 2024-01-02 03:04:05.123456 */
  ROW[2] = td_value_double(TD_TYPE_FLOAT64, 1.5);
  ROW[3] = td_value_int(TD_TYPE_INT64, 1500);
  ROW[4] = td_value_null(TD_TYPE_UTF8);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  td_schema_reset(&S);
  return 0;
}

/* Parses, binds (into *b) and evaluates `text` over ROW; the first failing step's code. */
static int eval_text(const char *text, td_expr **b, td_value *v, td_error *err) {
  td_expr *e = NULL;
  *b = NULL;
  int rc = td_expr_parse(text, strlen(text), &e, err);
  if (!rc) rc = td_expr_bind(e, &S, 0, b, err);
  if (!rc) rc = td_expr_eval_row(*b, ROW, v, err);
  td_expr_free(e);
  return rc;
}

/* Evaluates `text` over ROW: its text, type and time zone (NULL: none). */
static void check_tz(const char *text, const char *want, td_type_id type, const char *tz) {
  td_error err;
  td_expr *b;
  td_value v;
  if (eval_text(text, &b, &v, &err)) fail_msg("'%s': %s", text, err.message);
  char got[256];
  td_value_format(&v, got, sizeof got);
  if (strcmp(got, want) != 0) fail_msg("'%s' = '%s', expected '%s'", text, got, want);
  if (b->type != type) fail_msg("'%s' has type %s, expected %s", text, td_type_name(b->type), td_type_name(type));
  if ((tz == NULL) != (b->tz == NULL) || (tz && strcmp(tz, b->tz) != 0))
    fail_msg("'%s' has time zone %s, expected %s", text, b->tz ? b->tz : "none", tz ? tz : "none");
  td_expr_free(b);
}

static void check(const char *text, const char *want) { check_tz(text, want, TD_TYPE_TIMESTAMP_US, NULL); }

/* `text` fails with `code` at `pos` and a message holding `msg`. */
static void check_error(const char *text, int code, int64_t pos, const char *msg) {
  td_error err;
  td_expr *b;
  td_value v;
  int rc = eval_text(text, &b, &v, &err);
  if (rc != code) fail_msg("'%s': expected error %d, got %d (%s)", text, code, rc, rc ? err.message : "");
  if (err.position != pos)
    fail_msg("'%s': position %lld, expected %lld (%s)", text, (long long)err.position, (long long)pos, err.message);
  TD_ASSERT_CONTAINS(err.message, msg);
  td_expr_free(b);
}

static void test_specifiers(void **state) {
  (void)state;
  check("strptime(s, '%Y-%m-%d %H:%M:%S')", "2024-01-02T03:04:05.000000Z");
  check("strptime('2024-1-2 3:4:5', '%Y-%-m-%-d %-H:%-M:%-S')", "2024-01-02T03:04:05.000000Z");
  check("strptime('2024-1-2', '%Y-%m-%d')", "2024-01-02T00:00:00.000000Z");
  check("strptime('20240102030405', '%Y%m%d%H%M%S')", "2024-01-02T03:04:05.000000Z");
  check("strptime('99-01-02', '%y-%m-%d')", "1999-01-02T00:00:00.000000Z");
  check("strptime('69-01-02', '%y-%m-%d')", "1969-01-02T00:00:00.000000Z");
  check("strptime('68-01-02', '%y-%m-%d')", "2068-01-02T00:00:00.000000Z");
  check("strptime('Tue, 02 Jan 2024 03:04:05 PM', '%a, %d %b %Y %I:%M:%S %p')", "2024-01-02T15:04:05.000000Z");
  check("strptime('monday 02 JANUARY 2024', '%A %d %B %Y')", "2024-01-02T00:00:00.000000Z");
  check("strptime('Sep 2024', '%h %Y')", "2024-09-01T00:00:00.000000Z");
  check("strptime('12 AM', '%I %p')", "1900-01-01T00:00:00.000000Z");
  check("strptime('12 pm', '%I %p')", "1900-01-01T12:00:00.000000Z");
  check("strptime('1 PM', '%H %p')", "1900-01-01T13:00:00.000000Z");
  check("strptime('2024 100', '%Y %j')", "2024-04-09T00:00:00.000000Z");
  check("strptime('2024 366', '%Y %j')", "2024-12-31T00:00:00.000000Z");
  check("strptime('2024 3', '%Y %w')", "2024-01-01T00:00:00.000000Z");
  check("strptime('2024 7', '%Y %u')", "2024-01-01T00:00:00.000000Z");
  check("strptime('2024%01', '%Y%%%m')", "2024-01-01T00:00:00.000000Z");
  check("strptime('2024-01-02T03', '%Y-%m-%dT%H')", "2024-01-02T03:00:00.000000Z");
  /* defaults: 1900-01-01 00:00:00 */
  check("strptime('2024', '%Y')", "2024-01-01T00:00:00.000000Z");
  check("strptime('12', '%H')", "1900-01-01T12:00:00.000000Z");
  /* white space: skipped around the text, a run matches a run */
  check("strptime('  2024-01-02 ', '%Y-%m-%d')", "2024-01-02T00:00:00.000000Z");
  check("strptime('2024 \t 01', '%Y %m')", "2024-01-01T00:00:00.000000Z");
  check("strptime('2024 01', '%Y   %m')", "2024-01-01T00:00:00.000000Z");
}

static void test_fractions(void **state) {
  (void)state;
  static const char *const digits[] = {"1", "12", "123", "1234", "12345", "123456"};
  static const char *const us[] = {"100000", "120000", "123000", "123400", "123450", "123456"};
  char q[128], w[64];
  for (int i = 0; i < 6; i++) {
    snprintf(q, sizeof q, "strptime('2024-01-02 03:04:05.%s', '%%Y-%%m-%%d %%H:%%M:%%S.%%f')", digits[i]);
    snprintf(w, sizeof w, "2024-01-02T03:04:05.%sZ", us[i]);
    check(q, w);
  }
  check("strptime('05.1', '%S.%g')", "1900-01-01T00:00:05.100000Z");
  check("strptime('05.123', '%S.%g')", "1900-01-01T00:00:05.123000Z");
  static const char *const ns[] = {"1", "12", "1234567", "12345678", "123456789"};
  static const char *const want[] = {"100000000", "120000000", "123456700", "123456780", "123456789"};
  for (int i = 0; i < 5; i++) {
    snprintf(q, sizeof q, "strptime('2024-01-02 03:04:05.%s', '%%Y-%%m-%%d %%H:%%M:%%S.%%n')", ns[i]);
    snprintf(w, sizeof w, "2024-01-02T03:04:05.%sZ", want[i]);
    check_tz(q, w, TD_TYPE_TIMESTAMP, NULL);
  }
  check_error("strptime('05.1234567', '%S.%f')", TD_ETYPE, 0, "at character 9 trailing characters after the format, found '7'");
  check_error("strptime('05.1234', '%S.%g')", TD_ETYPE, 0, "found '4'");
  check_error("strptime('2300-01-01 .1', '%Y-%m-%d .%n')", TD_ERANGE, 0, "out of the range of TIMESTAMP_NS");
}

static void test_time_zones(void **state) {
  (void)state;
  check_tz("strptime('2024-01-02 03:04:05+02', '%Y-%m-%d %H:%M:%S%z')", "2024-01-02T01:04:05.000000Z",
           TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("strptime('2024-01-02 03:04:05 +0530', '%Y-%m-%d %H:%M:%S %z')", "2024-01-01T21:34:05.000000Z",
           TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("strptime('2024-01-02 03:04:05 -05:30', '%Y-%m-%d %H:%M:%S %z')", "2024-01-02T08:34:05.000000Z",
           TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("strptime('2024 +05:30:15', '%Y %z')", "2023-12-31T18:29:45.000000Z", TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("strptime('2024-01-02 utc', '%Y-%m-%d %Z')", "2024-01-02T00:00:00.000000Z", TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("try_strptime('2024 +5', '%Y %z')", "null", TD_TYPE_TIMESTAMP_US, "UTC");
  check_error("strptime('2024 Z', '%Y %z')", TD_ETYPE, 0, "at character 5 expected a UTC offset +HH[MM] or -HH[:MM[:SS]], found 'Z'");
  check_error("strptime('2024 Europe/Berlin', '%Y %Z')", TD_ETYPE, 0, "time zone names other than UTC are not supported");
}

static void test_ranges(void **state) {
  (void)state;
  check("strptime('0001-01-01', '%Y-%m-%d')", "0001-01-01T00:00:00.000000Z");
  check("strptime('9999-12-31 23:59:59.999999', '%Y-%m-%d %H:%M:%S.%f')", "9999-12-31T23:59:59.999999Z");
  check("strptime('2024-02-29', '%Y-%m-%d')", "2024-02-29T00:00:00.000000Z");
  check("strptime('2000-02-29', '%Y-%m-%d')", "2000-02-29T00:00:00.000000Z");
  check_error("strptime('2024-02-30', '%Y-%m-%d')", TD_ERANGE, 0, "\"2024-02-30\" read with format \"%Y-%m-%d\" at offset 0: date out of range");
  check_error("strptime('2023-02-29', '%Y-%m-%d')", TD_ERANGE, 0, "date out of range");
  check_error("strptime('1900-02-29', '%Y-%m-%d')", TD_ERANGE, 0, "date out of range");
  check_error("strptime('2024-13-01', '%Y-%m-%d')", TD_ETYPE, 0, "at character 5 month out of range");
  check_error("strptime('2024-00-01', '%Y-%m-%d')", TD_ETYPE, 0, "at character 5 month out of range");
  check_error("strptime('2024-01-0', '%Y-%m-%d')", TD_ETYPE, 0, "at character 8 day out of range");
  check_error("strptime('24:00', '%H:%M')", TD_ETYPE, 0, "hour out of range");
  check_error("strptime('23:60', '%H:%M')", TD_ETYPE, 0, "minutes out of range");
  check_error("strptime('23:00:60', '%H:%M:%S')", TD_ETYPE, 0, "seconds out of range");
  check_error("strptime('13 PM', '%I %p')", TD_ETYPE, 0, "hour12 out of range");
  check_error("strptime('0 AM', '%I %p')", TD_ETYPE, 0, "hour12 out of range");
  check_error("strptime('13 PM', '%H %p')", TD_ETYPE, 0, "hour out of range for AM/PM");
  check_error("strptime('2023 366', '%Y %j')", TD_ETYPE, 0, "year day out of range for the year");
  check_error("strptime('2023 0', '%Y %j')", TD_ETYPE, 0, "year day out of range, expected");
  check_error("strptime('10000-01-01', '%Y-%m-%d')", TD_ETYPE, 0, "at character 4 expected '-', found '0'");
}

static void test_errors(void **state) {
  (void)state;
  check_error("strptime('2024-01-02', '%d/%m/%Y')", TD_ETYPE, 0,
              "strptime: could not parse \"2024-01-02\" with format \"%d/%m/%Y\" at offset 0: at character 2 expected '/', found '2'");
  check_error("strptime('', '%Y')", TD_ETYPE, 0, "at character 0 expected a number, found the end of the text");
  check_error("strptime('abc', '%Y')", TD_ETYPE, 0, "expected a number, found 'a'");
  check_error("strptime('2024', '%Y %m')", TD_ETYPE, 0, "at character 4 expected white space, found the end of the text");
  check_error("strptime('2024 x', '%Y')", TD_ETYPE, 0, "trailing characters after the format, found 'x'");
  check_error("strptime('Foo 2024', '%a %Y')", TD_ETYPE, 0, "expected an abbreviated day name");
  check_error("strptime('Jan 2024', '%B %Y')", TD_ETYPE, 0, "expected a full month name");
  check_error("strptime('x', '%p')", TD_ETYPE, 0, "expected AM or PM");
  check_error("strptime('2024 8', '%Y %u')", TD_ETYPE, 0, "weekday out of range");
  /* bad formats: errors for try_strptime too, at the format */
  check_error("strptime(s, '')", TD_ETYPE, 12, "expected a format at offset 12, found an empty string");
  check_error("strptime(s, '%e')", TD_ETYPE, 12, "the format specifier '%e' in \"%e\" at offset 12 is not supported");
  check_error("try_strptime(s, '%Y %Q')", TD_ETYPE, 16, "'%Q'");
  check_error("strptime(s, '%Y %')", TD_ETYPE, 12, "'%'");
  check_error("strptime(s, '%-p')", TD_ETYPE, 12, "'%-p'");
  check_error("strptime(s, 7)", TD_ETYPE, 12, "strptime expects");
  check_error("strptime(ts, '%Y')", TD_ETYPE, 9, "strptime expects");
  check_error("strptime(s)", TD_ETYPE, 0, "strptime");
  check_error("to_timestamp(s)", TD_ETYPE, 13, "to_timestamp expects");
  check_error("to_timestamp(CAST('nan' AS DOUBLE))", TD_ERANGE, 0, "out of the range of a timestamp");
  check_error("to_timestamp(1e20)", TD_ERANGE, 0, "out of the range of a timestamp");
  check_error("epoch_ms(9223372036854775807)", TD_ERANGE, 0, "out of range");
}

static void test_nulls_and_try(void **state) {
  (void)state;
  check("strptime(n, '%Y')", "null");
  check("strptime(s, NULL)", "null");
  check("try_strptime(n, '%Y')", "null");
  check("try_strptime('2024-02-30', '%Y-%m-%d')", "null");
  check("try_strptime('2024-01-02', '%d/%m/%Y')", "null");
  check("try_strptime('', '%Y')", "null");
  check("try_strptime(s, '%Y-%m-%d %H:%M:%S')", "2024-01-02T03:04:05.000000Z");
  /* a format that is not a constant: read per row, of the bound kind */
  check("strptime(s, '%Y-%m-%d ' || '%H:%M:%S')", "2024-01-02T03:04:05.000000Z");
  check("strptime('2024', CASE WHEN s IS NULL THEN '%m' ELSE '%Y' END)", "2024-01-01T00:00:00.000000Z");
  check_error("strptime('2024', CASE WHEN s IS NULL THEN '%m' ELSE '%Y %z' END)", TD_ETYPE, 17, "expected a format without %n, %z or %Z (the format is not a constant)");
  check_tz("try_strptime('1.5', '%S.%n')", "1900-01-01T00:00:01.500000000Z", TD_TYPE_TIMESTAMP, NULL);
}

static void test_round_trips(void **state) {
  (void)state;
  static const int64_t us[] = {0,   -1,  1704164645123456LL, 951782400000000LL /* 2000-02-29 */,
                               -62135596800000000LL /* 0001-01-01 */, 253402300799999999LL /* 9999-12-31 23:59:59.999999 */,
                               -2208988800000001LL /* 1899-12-31 23:59:59.999999 */};
  static const char *const fmts[] = {"%Y-%m-%d %H:%M:%S.%f", "%d/%m/%Y %I:%M:%S.%f %p", "%Y %j %H%M%S.%f",
                                     "%a %d %b %Y %H:%M:%S.%f", "%A %d %B %Y %H:%M:%S.%f"};
  char q[256];
  for (size_t i = 0; i < sizeof us / sizeof *us; i++) {
    ROW[1] = td_value_int(TD_TYPE_TIMESTAMP_US, us[i]);
    for (size_t k = 0; k < sizeof fmts / sizeof *fmts; k++) {
      snprintf(q, sizeof q, "strptime(strftime(ts, '%s'), '%s') = ts", fmts[k], fmts[k]);
      check_tz(q, "true", TD_TYPE_BOOL, NULL);
    }
  }
  ROW[1] = td_value_int(TD_TYPE_TIMESTAMP_US, 1704164645123456LL);
  check_tz("strftime(strptime('0001-01-01 01:02:03.5', '%Y-%m-%d %H:%M:%S.%f'), '%Y-%m-%d %H:%M:%S.%f')",
           "0001-01-01 01:02:03.500000", TD_TYPE_UTF8, NULL);
}

static void test_epochs(void **state) {
  (void)state;
  check_tz("to_timestamp(f)", "1970-01-01T00:00:01.500000Z", TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("to_timestamp(i)", "1970-01-01T00:25:00.000000Z", TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("to_timestamp(1.0000005)", "1970-01-01T00:00:01.000001Z", TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("to_timestamp(-1.0000005)", "1969-12-31T23:59:58.999999Z", TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("to_timestamp(NULL)", "null", TD_TYPE_TIMESTAMP_US, "UTC");
  check_tz("epoch_ms(i)", "1970-01-01T00:00:01.500000Z", TD_TYPE_TIMESTAMP_US, NULL);
  check_tz("epoch_ms(-1)", "1969-12-31T23:59:59.999000Z", TD_TYPE_TIMESTAMP_US, NULL);
  check_tz("epoch_ms(ts)", "1704164645123", TD_TYPE_INT64, NULL);
  check_tz("epoch_ms(INTERVAL 90 MINUTE)", "5400000", TD_TYPE_INT64, NULL); /* a span: still its count */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_specifiers), cmocka_unit_test(test_fractions), cmocka_unit_test(test_time_zones),
      cmocka_unit_test(test_ranges),     cmocka_unit_test(test_errors),    cmocka_unit_test(test_nulls_and_try),
      cmocka_unit_test(test_round_trips), cmocka_unit_test(test_epochs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
