/*
 * tests/query/test_query_format.c - printf / sprintf, format and typeof
 * (query/func_format.c): every printf directive and flag, format's fields
 * and specs, widths and precisions (UTF-8 counted in characters), NULLs,
 * INT64_MIN, NaN and infinities, the errors with their messages, and typeof
 * folded to a constant (test_funcs' test_string_batches compares their batch
 * and row evaluation).  Answers are DuckDB 1.x's (checked against it; the
 * SQL difftest compares the same forms live).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "query/expr.h"
#include "tabledata.h"
#include "test.h"
#include "util/alloc.h"
#include "util/decimal.h"

/* Columns: s utf8, i int64, f float64, n int64 (null), d decimal(18,3), ts timestamp (UTC). */
static td_schema S;
static td_value ROW[6];

static int setup(void **state) {
  (void)state;
  td_schema_init(&S);
  td_schema_add(&S, "s", TD_TYPE_UTF8, NULL, true, NULL);
  td_schema_add(&S, "i", TD_TYPE_INT64, NULL, true, NULL);
  td_schema_add(&S, "f", TD_TYPE_FLOAT64, NULL, true, NULL);
  td_schema_add(&S, "n", TD_TYPE_INT64, NULL, true, NULL);
  td_schema_add(&S, "d", TD_TYPE_DECIMAL128, "18,3", true, NULL);
  td_schema_add(&S, "ts", TD_TYPE_TIMESTAMP, "UTC", true, NULL);
  ROW[0] = td_value_str("héllo");
  ROW[1] = td_value_int(TD_TYPE_INT64, INT64_MIN);
  ROW[2] = td_value_double(TD_TYPE_FLOAT64, -1234.5678);
  ROW[3] = td_value_null(TD_TYPE_INT64);
  ROW[4] = td_dec_value(18, 0, 12345); /* as a column's value: the scale is the schema's */
  ROW[5] = td_value_int(TD_TYPE_TIMESTAMP, 1704205806500000000LL); /* 2024-01-02 14:30:06.5 */
  return 0;
}

static int teardown(void **state) {
  (void)state;
  td_schema_reset(&S);
  return 0;
}

/* Evaluates `text` over ROW: its text (NULL for a null) must be `want`. */
static void check(const char *text, const char *want) {
  td_error err;
  td_expr *e, *b;
  TD_ASSERT_OK(td_expr_parse(text, strlen(text), &e, &err), &err);
  int rc = td_expr_bind(e, &S, 0, &b, &err);
  if (rc) fail_msg("bind '%s': %s", text, err.message);
  td_value v;
  rc = td_expr_eval_row(b, ROW, &v, &err);
  if (rc) fail_msg("eval '%s': %s", text, err.message);
  if (b->type != TD_TYPE_UTF8) fail_msg("'%s' has type %s", text, td_type_name(b->type));
  if (!want != v.is_null) fail_msg("'%s': null %d, expected %d", text, v.is_null, !want);
  if (want && (v.v.s.len != strlen(want) || memcmp(v.v.s.ptr, want, v.v.s.len) != 0))
    fail_msg("'%s' = '%.*s', expected '%s'", text, (int)v.v.s.len, v.v.s.ptr, want);
  td_expr_free(b);
  td_expr_free(e);
}

/* `text` fails (when evaluated) with a message containing msg. */
static void check_error(const char *text, const char *msg) {
  td_error err;
  td_expr *e = NULL, *b = NULL;
  TD_ASSERT_OK(td_expr_parse(text, strlen(text), &e, &err), &err);
  int rc = td_expr_bind(e, &S, 0, &b, &err);
  if (!rc) {
    td_value v;
    rc = td_expr_eval_row(b, ROW, &v, &err);
  }
  if (rc != TD_ETYPE) fail_msg("'%s': expected TD_ETYPE, got %d (%s)", text, rc, rc ? err.message : "");
  TD_ASSERT_CONTAINS(err.message, msg);
  td_expr_free(b);
  td_expr_free(e);
}

static void test_printf(void **state) {
  (void)state;
  check("printf('%d|%i|%5d|%-5d|%05d|%+d|% d|% 05d', 42, 42, 42, 42, 42, 42, 42, 3)",
        "42|42|   42|42   |00042|+42| 42| 0003");
  check("printf('%x %X %o %#x %#X %#o %#o %#x', 255, 255, 8, 255, 255, 8, 0, 0)", "ff FF 10 0xff 0XFF 010 0 0");
  check("printf('%u %x', -5, -1)", "18446744073709551611 ffffffffffffffff");
  check("printf('%d', i)", "-9223372036854775808");
  check("printf('%x', i)", "8000000000000000");
  check("printf('%.3d|%8.3d|%-6.2d|%.d', 5, -5, 7, 0)", "005|    -005|07    |0");
  /* the '0' flag pads with zeros whatever the alignment; after an infinity or NaN (DuckDB's fmt) */
  check("printf('%08.3d|%-08.3d|%-05d|%05c|%#08x|%05s|', 5, -5, 5, 65, 255, 'ab')", "00000005|-0000005|00005|0000A|0x0000ff|   ab|");
  check("printf('%-08.2f|%08.2f|%+08.1e|', 1.5, '-inf'::double, 'nan'::double)", "00001.50|-inf0000|+nan0000|");
  check("format('{:>08}|{:<08}|{:*>08}|{:>08}|{:*<8}|', 1.5, 5, 5, 'nan'::double, 'inf'::double)",
        "000001.5|00000005|00000005|nan00000|inf*****|");
  check("printf('%ld %lld %hd', 1, 2, 3)", "1 2 3");
  check("printf('%c%c|%3c|', 72, 105, 66)", "Hi|  B|");
  check("printf('%f|%.2f|%10.3f|%-10.1f|%+.1f|%08.2f', f, f, f, f, 2.25, f)",
        "-1234.567800|-1234.57| -1234.568|-1234.6   |+2.2|-1234.57");
  check("printf('%e|%E|%.2e|%g|%G|%#g', f, f, 1e-7, 0.0001, 1e-5, 1.0)", "-1.234568e+03|-1.234568E+03|1.00e-07|0.0001|1E-05|1.00000");
  check("printf('%F', 1.5)", "1.500000");
  check("printf('%a|%.2A', 1.0, 0.5)", "0x1p+0|0X1.00P-1");
  check("printf('%f|%5.1f|%F|%+f|%e', 'nan'::double, 'nan'::double, 'inf'::double, 'nan'::double, '-inf'::double)",
        "nan|  nan|INF|+nan|-inf");
  check("printf('%.1f|%.4f', d, d)", "12.3|12.3450"); /* a decimal formats as its double */
  check("printf('%s|%10s|%-10s|%.2s|%.9s|', s, s, s, s, s)", "héllo|     héllo|héllo     |hé|héllo|");
  check("printf('%s %d %5s', true, true, false)", "true 1 false");
  check("printf('%+s|%#s|% s|%05s|%+u|%+x|% x', 'a', 'a', 'a', 'a', 5, 5, 5)", "a|a|a|    a|+5|+5| 5"); /* flags text ignores */
  check("printf('%s|%s', ts, DATE '2024-01-02')", "2024-01-02 14:30:06.5+00|2024-01-02");
  check("printf('%s', CAST('a\\xAA' AS BLOB))", "a\\xAA");
  check("printf('%s', INTERVAL 90 MINUTE)", "01:30:00");
  check("printf('100%% %s', 'sure')", "100% sure");
  check("printf('%2$s %1$s %2$s', 'a', 'b')", "b a b");
  check("printf('%*d|%*d|%-*d|%.*f|%.*f|%*.*f|%*s|%s', 5, 3, -5, 3, 5, 3, 2, 3.14159, -2, 3.14159, 8, 2, 3.14159, 4, 'a', 'b')",
        "    3|3    |3    |3.14|3|    3.14|   a|b"); /* '*' takes the next argument; a negative precision is 0 */
  check("printf('%*d', n, 3)", NULL);
  check("printf('%d', 1, 2)", "1"); /* extra arguments are ignored */
  check("printf('no directives')", "no directives");
  check("printf('')", "");
  check("sprintf('%03d', 7)", "007");
  check("printf('%d', n)", NULL);
  check("printf('%d', 1, n)", NULL);
  check("printf(NULL, 1)", NULL);
  check("printf(CAST(NULL AS VARCHAR))", NULL);
}

static void test_printf_errors(void **state) {
  (void)state;
  check_error("printf('%d', 'x')", "printf: invalid type specifier \"d\" for formatting argument 2, found utf8");
  check_error("printf('%s', 42)", "invalid type specifier \"s\" for formatting argument 2, found int64");
  check_error("printf('%d', 1.5)", "invalid type specifier \"d\" for formatting argument 2, found float64");
  check_error("printf('%f', 2)", "invalid type specifier \"f\"");
  check_error("printf('%s', d)", "found decimal128");
  check_error("printf('%c', 'a')", "invalid type specifier \"c\"");
  check_error("printf('%d %d', 1)", "the format wants argument 2 after the format, found 1 (at byte 3 of the format)");
  check_error("printf('%d')", "the format wants argument 1 after the format, found 0");
  check_error("printf('abc%')", "a '%' ends the format without a conversion (write '%%' for a percent sign) (at byte 3");
  check_error("printf('%5', 1)", "ends the format without a conversion");
  check_error("printf('%q', 1)", "expected a conversion (one of diuxXocsfFeEgGaA), found 'q'");
  check_error("printf('%*d', 'x', 3)", "the width from argument 2 must be an integer, found utf8 (at byte 1");
  check_error("printf('%.*f', 1.5, 1.5)", "the precision from argument 2 must be an integer, found float64");
  check_error("printf('%*d', 1000000000000, 3)", "a width of more than 100000 is not supported");
  check_error("printf('%1$s %s', 'a')", "cannot switch from manual to automatic argument indexing");
  check_error("printf('%0$s', 'a')", "argument index 0 is out of range");
  check_error("printf('%3$s', 'a')", "the format wants argument 3");
  check_error("printf('%1000000000d', 1)", "a width of more than 100000 is not supported");
  check_error("printf('%.99999999999999999999f', 1.5)", "a precision of more than 100000 is not supported");
  check_error("printf('%c', 233)", "%c writes one byte and 233 is not an ASCII character");
  check_error("printf(1)", "printf expects a string as argument 1, found int64");
  check_error("printf()", "printf expects at least 1 argument");
}

static void test_format(void **state) {
  (void)state;
  check("format('{}-{}', s, 42)", "héllo-42");
  check("format('{1} {0} {1}', 'a', 'b')", "b a b");
  check("format('{{}} {{{}}} }}', 5)", "{} {5} }");
  check("format('{:.2f}|{:10.3f}|{:<10.1f}|{:^10.1f}|{:+.1f}|{:08.3f}', f, f, f, f, 2.25, -3.14159)",
        "-1234.57| -1234.568|-1234.6   | -1234.6  |+2.2|-003.142");
  check("format('{:>10}|{:<5}|{:^7}|{:*^9}|{:-<4}|{:>7}|{:^6}', 'ab', 'cd', 'ef', 'ab', 'x', s, s)",
        "        ab|cd   |  ef   |***ab****|x---|  héllo|héllo ");
  check("format('{:05d}|{:5}|{:<5}|{:^5}|{:02}|{:+d}|{: d}', 42, 42, 42, 42, 5, 5, 5)", "00042|   42|42   | 42  |05|+5| 5");
  check("format('{:x} {:X} {:#x} {:o} {:#o} {:b} {:#b} {:#B}', 255, 255, 255, 8, 8, 5, 5, 5)", "ff FF 0xff 10 010 101 0b101 0B101");
  check("format('{:x}|{:d}', -255, i)", "-ff|-9223372036854775808");
  check("format('{:,}|{:_}|{:,}|{:,d}|{:,}', 1234567, 1234567, -1234, -1234567, 123)",
        "1,234,567|1_234_567|-1,234|-1,234,567|123");
  check("format('{:,}|{:,.2f}|{:,}', 1234567.5, 1234567.5, 1e20)", "1,234,567.5|1,234,567.50|1e+20");
  check("format('{}|{}|{}|{}|{}|{}|{}', 1.5, 1e20, 1e15, 1.0, 1e-5, 5e-324, -1234.5678)",
        "1.5|1e+20|1000000000000000.0|1.0|1e-05|5e-324|-1234.5678");
  check("format('{}|{}|{}|{:+}', 'nan'::double, 'inf'::double, '-inf'::double, 'nan'::double)", "nan|inf|-inf|+nan");
  check("format('{}|{}|{:.2f}', CAST(0.1 AS FLOAT), d, d)", "0.10000000149011612|12.345|12.35"); /* as doubles */
  check("format('{:.2}|{:.10}|{:e}|{:g}|{:08}|{:10}', 3.14159, 1.0, 12345.678, 12345.678, -1.5, 1.5)",
        "3.1|1.000000000|1.234568e+04|12345.7|-00001.5|       1.5");
  check("format('{}|{:>6}|{:d}|{:x}', true, false, true, true)", "true| false|1|1");
  check("format('{}|{:>12}|{}', DATE '2024-01-02', DATE '2024-01-02', ts)",
        "2024-01-02|  2024-01-02|2024-01-02 14:30:06.5+00");
  check("format('{}', INTERVAL 3 DAY)", "3 days");
  check("format('{:.3}|{:10.3s}|{:,}', 'abcdef', 'abcdef', 'ab')", "abc|abc       |ab");
  check("format('{:{}}|{:.{}f}|{:{}.{}f}|{:>{}}|{}', 'a', 5, 3.14159, 2, 3.14159, 8, 2, 'b', 3, 'c')",
        "a    |3.14|    3.14|  b|c");
  check("format('{0:{1}}|{2:.{1}}', 'a', 3, 'xyzw')", "a  |xyz");
  check("format('{}', n)", NULL);
  check("format(NULL, 1)", NULL);
}

static void test_format_errors(void **state) {
  (void)state;
  check_error("format('{}')", "format: the format wants argument 1 after the format, found 0");
  check_error("format('{} {}', 1)", "the format wants argument 2");
  check_error("format('{2}', 'a')", "the format wants argument 3");
  check_error("format('{', 1)", "missing '}' in format string");
  check_error("format('{:>5', 1)", "missing '}' in format string");
  check_error("format('{:t}', 1)", "missing '}' in format string");
  check_error("format('}', 1)", "unmatched '}' in format string");
  check_error("format('{:d}', 'x')", "invalid type specifier \"d\" for formatting argument 2, found utf8");
  check_error("format('{:s}', 42)", "invalid type specifier \"s\"");
  check_error("format('{:s}', true)", "invalid type specifier \"s\"");
  check_error("format('{:c}', 65)", "invalid type specifier \"c\"");
  check_error("format('{:d}', 1.5)", "invalid type specifier \"d\"");
  check_error("format('{:d}', DATE '2024-01-02')", "invalid type specifier \"d\"");
  check_error("format('{:.2}', 5)", "precision not allowed for an integer argument");
  check_error("format('{:08}', 'ab')", "a '0', '+', ' ' or '#' flag requires a numeric argument");
  check_error("format('{:+}', 'ab')", "flag requires a numeric argument");
  check_error("format('{:#}', DATE '2024-01-02')", "flag requires a numeric argument");
  check_error("format('{:+}', true)", "flag requires a numeric argument");
  check_error("format('{:.2}', true)", "precision not allowed for a boolean");
  check_error("format('{0} {}', 'a', 'b')", "cannot switch from manual to automatic argument indexing");
  check_error("format('{} {0}', 'a', 'b')", "cannot switch from automatic to manual argument indexing");
  check_error("format('{:{1}}', 'a', 5)", "cannot switch from automatic to manual argument indexing");
  check_error("format('{:{}}', 'a', -5)", "a negative width (-5)");
  check_error("format('{:{}}', 'a', 'x')", "the width from argument 3 must be an integer, found utf8");
  check_error("format('{:{}', 'a', 4)", "missing '}' in format string");
  check_error("format('{name}', 1)", "named arguments and conversions ({name}, {!r}) are not supported");
  check_error("format('{!r}', 1)", "are not supported");
  check_error("format('{:é>7}', 'ab')", "missing '}' in format string"); /* an ASCII fill only, as DuckDB */
  check_error("format('{:,x}', 5)", "a thousands separator with a non-decimal integer is not supported");
  check_error("format('{:1000001}', 1)", "a width of more than 100000 is not supported");
  check_error("format('{:.}', 1.5)", "expected digits after '.'");
  check_error("format('{:>12,}', 1234567)", "missing '}' in format string"); /* the separator comes first */
  check("format('{:,12}|{:,>12}', 1234567, 1234567)", "   1,234,567|,,,,,1234567");
}

/* typeof names DuckDB's type and folds to a literal at bind. */
static void test_typeof(void **state) {
  (void)state;
  static const struct {
    const char *expr, *want;
  } cases[] = {
      {"typeof(s)", "VARCHAR"},        {"typeof(i)", "BIGINT"},
      {"typeof(f)", "DOUBLE"},         {"typeof(n)", "BIGINT"},
      {"typeof(d)", "DECIMAL(18,3)"},  {"typeof(ts)", "TIMESTAMP WITH TIME ZONE"},
      {"typeof(NULL)", "\"NULL\""},        {"typeof(true)", "BOOLEAN"},
      {"typeof(CAST(1 AS INTEGER))", "INTEGER"}, {"typeof(CAST(1 AS TINYINT))", "TINYINT"},
      {"typeof(CAST(1 AS UTINYINT))", "UTINYINT"}, {"typeof(CAST(1 AS FLOAT))", "FLOAT"},
      {"typeof(CAST(1 AS SMALLINT))", "SMALLINT"}, {"typeof(CAST(1 AS USMALLINT))", "USMALLINT"},
      {"typeof(CAST(1 AS UINTEGER))", "UINTEGER"}, {"typeof(CAST('a' AS BLOB))", "BLOB"},
      {"typeof(DATE '2024-01-01')", "DATE"}, {"typeof(TIMESTAMP '2024-01-01')", "TIMESTAMP"},
      {"typeof(INTERVAL 1 DAY)", "INTERVAL"}, {"typeof(INTERVAL 1 MONTH)", "INTERVAL"},
      {"typeof(i + 1 > 2)", "BOOLEAN"}, {"typeof(upper(s))", "VARCHAR"},
      {"typeof(CAST(i AS DECIMAL(10,2)))", "DECIMAL(10,2)"}, {"typeof(printf('%d', i))", "VARCHAR"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    check(cases[k].expr, cases[k].want);
    td_error err;
    td_expr *e, *b;
    TD_ASSERT_OK(td_expr_parse(cases[k].expr, strlen(cases[k].expr), &e, &err), &err);
    TD_ASSERT_OK(td_expr_bind(e, &S, 0, &b, &err), &err);
    if (b->kind != TD_EXPR_LITERAL) fail_msg("'%s' is not folded to a constant", cases[k].expr);
    td_expr_free(b);
    td_expr_free(e);
  }
  check_error("typeof(1, 2)", "typeof expects 1 argument");
}

/* %.Nf's own rounding (func_format.c's fixed_text) against snprintf's over
 * ties, near-ties, powers of ten and random doubles, every precision 0..17. */
static void test_fixed_rounding(void **state) {
  (void)state;
  double vals[4000];
  size_t nv = 0;
  static const double seeds[] = {0.0, 0.5, 1.5, 2.5, 0.125, 0.375, 1.005, 2.675, 0.045, 1e-7, 123.456, 99.995,
                                  0.05, 4503599627370495.5, 4503599627370496.0, 1e15, 999999.9999995, 5e-324};
  for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
    vals[nv++] = seeds[i];
    vals[nv++] = -seeds[i];
    vals[nv++] = nextafter(seeds[i], 0);
    vals[nv++] = nextafter(seeds[i], 1e300);
  }
  uint64_t r = 0x9E3779B97F4A7C15ull;
  while (nv < sizeof vals / sizeof *vals) {
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    double v = (double)(r >> 11) / (double)(1ull << 53) * pow(10, (double)(r % 12)) - 5;
    if (r % 3 == 0) v = round(v * 1000) / 1000 + 0.0005; /* near a tie at 3 digits */
    vals[nv++] = v;
  }
  td_error err;
  for (int p = 0; p <= 17; p++) {
    char text[48], fmt[16];
    snprintf(text, sizeof text, "printf('%%.%df|%%#.%dF', f, f)", p, p);
    td_expr *e, *b;
    TD_ASSERT_OK(td_expr_parse(text, strlen(text), &e, &err), &err);
    TD_ASSERT_OK(td_expr_bind(e, &S, 0, &b, &err), &err);
    td_value row[6];
    memcpy(row, ROW, sizeof row);
    for (size_t i = 0; i < nv; i++) {
      row[2] = td_value_double(TD_TYPE_FLOAT64, vals[i]);
      td_value v;
      TD_ASSERT_OK(td_expr_eval_row(b, row, &v, &err), &err);
      char want[1024];
      snprintf(fmt, sizeof fmt, "%%.%df|%%#.%dF", p, p);
      snprintf(want, sizeof want, fmt, vals[i], vals[i]);
      if (v.v.s.len != strlen(want) || memcmp(v.v.s.ptr, want, v.v.s.len) != 0)
        fail_msg("%s of %a: '%.*s', snprintf '%s'", text, vals[i], (int)v.v.s.len, v.v.s.ptr, want);
    }
    td_expr_free(b);
    td_expr_free(e);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_printf), cmocka_unit_test(test_printf_errors), cmocka_unit_test(test_format),
      cmocka_unit_test(test_format_errors), cmocka_unit_test(test_typeof),
      cmocka_unit_test(test_fixed_rounding),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
