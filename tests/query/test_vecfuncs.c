/*
 * tests/query/test_vecfuncs.c - the whole-batch hooks of CAST / TRY_CAST
 * (query/func_core.c) and of the date/time functions (query/func_time.c)
 * against the row-at-a-time reference: every cast between the numeric,
 * bool and temporal columns and every date_trunc unit, date_part part,
 * named part and epoch function, over batches of edge values (nulls, values
 * before 1970, leap days, month ends, INT64_MIN/MAX, NaN/inf, values out of
 * the target's range) where an error must be the row path's error with the
 * same text, and over ordinary batches where the hook must compute the
 * batch itself (rows outside a selection are not null then: the row path
 * leaves them null).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/array.h"
#include "query/expr.h"
#include "tabledata.h"
#include "test.h"
#include "util/alloc.h"

enum { NCOLS = 16, NROWS = 420 };
static const char *const names[NCOLS] = {"i8", "i16", "i32", "i64", "u8",  "u16", "u32", "f32",
                                         "f64", "b",  "ts",  "tus", "tms", "tsec", "d", "d64"};
static const td_type_id types[NCOLS] = {
    TD_TYPE_INT8,    TD_TYPE_INT16,        TD_TYPE_INT32,        TD_TYPE_INT64,       TD_TYPE_UINT8,  TD_TYPE_UINT16,
    TD_TYPE_UINT32,  TD_TYPE_FLOAT32,      TD_TYPE_FLOAT64,      TD_TYPE_BOOL,        TD_TYPE_TIMESTAMP,
    TD_TYPE_TIMESTAMP_US, TD_TYPE_TIMESTAMP_MS, TD_TYPE_TIMESTAMP_S, TD_TYPE_DATE32, TD_TYPE_DATE64};

#define NS_DAY 86400000000000LL

static td_schema S;
static struct ArrowArray arrays[NCOLS];
static td_colview views[NCOLS];

static int64_t rnd(int64_t lo, int64_t hi) { /* inclusive */
  uint64_t r = ((uint64_t)rand() << 40) ^ ((uint64_t)rand() << 20) ^ (uint64_t)rand();
  return lo + (int64_t)(r % (uint64_t)(hi - lo + 1));
}

static const int64_t int_pool[] = {0, 1, -1, 2, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769,
                                   65535, 65536, INT32_MAX, (int64_t)INT32_MAX + 1, INT32_MIN, (int64_t)INT32_MIN - 1,
                                   UINT32_MAX, (int64_t)UINT32_MAX + 1, INT64_MAX, INT64_MIN, INT64_MAX - 1,
                                   INT64_MIN + 1, 9200000000000000000LL, 106751LL * NS_DAY, -106751LL * NS_DAY - NS_DAY / 2};
static const double float_pool[] = {0.0,     -0.0,     0.5,      1.5,      2.5,       -2.5,     -0.5,   127.5,
                                    128.4,   -128.5,   -129.5,   255.5,    65535.4,   3e9,      -3e9,   1e10,
                                    9.1e18,  -9.1e18,  9.2e18,   -9.2e18,  1e300,     -1e300,   3.4e38, 3.5e38,
                                    0x1.fffffep127, 0x1.ffffffp127, -0x1.ffffffp127, 0x1.fffffefffffffp127,
                                    NAN,     INFINITY, -INFINITY, 1e-50,   2147483647.5, 4294967295.4};
/* Days of interest: leap days, month and year ends, before 1970. */
static const int64_t day_pool[] = {0, -1, 1, 59, 60, 365, 366, 10956, 10957, 11016, 11017, 11322, 19782, 19783,
                                   19722, 19723, -25508, -25509, -25448, -25447, -719528, -719162, 2932896, 2932897,
                                   -106751, 106750, 12417, 12418, -3653, -36524};

/* The batches: ORDINARY values no cast or time function rejects (days of
 * 2000..2079, numbers 0..100), WIDE ones (before 1970 too, negative
 * numbers), EDGE ones (the pools above). */
enum { ORDINARY, WIDE, EDGE };

/* A value of column type t of the given kind. */
static int append_value(td_array *a, td_type_id t, int kind, int64_t *day, td_error *err) {
  bool edge = kind == EDGE;
  if (rand() % 7 == 0) return td_array_append_null(a, err);
  if (t == TD_TYPE_BOOL) return td_array_append_int(a, rand() % 2, err);
  if (td_type_is_float(t)) {
    double d = edge && rand() % 2 ? float_pool[rand() % (int)(sizeof float_pool / sizeof *float_pool)]
                                  : (double)rnd(kind == ORDINARY ? -2 : -400, 400) / 4;
    if (t == TD_TYPE_FLOAT32 && isfinite(d) && fabs(d) > 3.4e38) d = d < 0 ? -INFINITY : INFINITY;
    return td_array_append_double(a, d, err);
  }
  int64_t lo = INT64_MIN, hi = INT64_MAX;
  switch (t) {
    case TD_TYPE_INT8: lo = INT8_MIN, hi = INT8_MAX; break;
    case TD_TYPE_INT16: lo = INT16_MIN, hi = INT16_MAX; break;
    case TD_TYPE_INT32:
    case TD_TYPE_DATE32: lo = INT32_MIN, hi = INT32_MAX; break;
    case TD_TYPE_UINT8: lo = 0, hi = UINT8_MAX; break;
    case TD_TYPE_UINT16: lo = 0, hi = UINT16_MAX; break;
    case TD_TYPE_UINT32: lo = 0, hi = UINT32_MAX; break;
    default: break;
  }
  int64_t v;
  int64_t unit = td_type_unit_ns(t);
  if (unit) { /* runs of rows on one day, with the time of day random */
    if (rand() % 3 == 0) *day = edge && rand() % 2 ? day_pool[rand() % (int)(sizeof day_pool / sizeof *day_pool)]
                                                   : kind == ORDINARY ? rnd(10957, 40000) : rnd(-100000, 100000);
    int64_t per_day = NS_DAY / unit;
    if (edge && rand() % 8 == 0) v = int_pool[rand() % (int)(sizeof int_pool / sizeof *int_pool)];
    else if (!edge && unit == 1 && (*day < -106000 || *day > 106000)) v = rnd(-NS_DAY, NS_DAY);
    else if (per_day > 1 && *day > INT64_MIN / per_day + 1 && *day < INT64_MAX / per_day - 1)
      v = *day * per_day + rnd(0, per_day - 1);
    else v = *day;
  } else {
    v = edge && rand() % 2 ? int_pool[rand() % (int)(sizeof int_pool / sizeof *int_pool)]
                           : rnd(kind == ORDINARY ? 0 : -100, 100);
  }
  if (v < lo || v > hi) v = edge ? (v < lo ? lo : hi) : 0;
  return td_array_append_int(a, v, err);
}

static void fill(unsigned seed, int kind) {
  srand(seed);
  td_error err;
  for (int c = 0; c < NCOLS; c++) {
    td_array a;
    int64_t day = 10957; /* 2000-01-01 */
    TD_ASSERT_OK(td_array_init(&a, types[c], NROWS, &err), &err);
    for (int r = 0; r < NROWS; r++) TD_ASSERT_OK(append_value(&a, types[c], kind, &day, &err), &err);
    TD_ASSERT_OK(td_array_export(&a, &arrays[c], &err), &err);
    TD_ASSERT_OK(td_colview_init(&views[c], types[c], &arrays[c], &err), &err);
  }
}

static void release(void) {
  for (int c = 0; c < NCOLS; c++) td_arrow_array_release(&arrays[c]);
}

static int setup(void **state) {
  (void)state;
  td_schema_init(&S);
  for (int c = 0; c < NCOLS; c++) td_schema_add(&S, names[c], types[c], NULL, true, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  td_schema_reset(&S);
  return 0;
}

static bool same_value(const td_value *a, const td_value *b) {
  if (a->is_null != b->is_null) return false;
  if (a->is_null) return true;
  if (a->type == TD_TYPE_BOOL) return a->v.b == b->v.b;
  if (a->type == TD_TYPE_UTF8) return a->v.s.len == b->v.s.len && memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0;
  if (a->type == TD_TYPE_DATE32) /* stored in 32 bits: CAST(bigint AS DATE) keeps the low ones */
    return (uint32_t)a->v.i == (uint32_t)b->v.i;
  if (td_type_is_float(a->type)) /* bit for bit: -0.0 stays -0.0 */
    return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0 || (isnan(a->v.f) && isnan(b->v.f));
  return a->v.i == b->v.i;
}

typedef struct tally {
  int64_t exprs, errors, fast;
} tally;

/* Evaluates `text` over the batch (all rows, then the rows of an even
 * selection) and compares every row with td_expr_eval_row; an error must
 * be the first failing row's.  `must_be_fast`: the batch hook must have
 * computed the batch (no row fails). */
static void check_expr(const char *text, bool must_be_fast, tally *t) {
  td_error err;
  td_expr *p, *e;
  TD_ASSERT_OK(td_expr_parse(text, strlen(text), &p, &err), &err);
  int rc = td_expr_bind(p, &S, 0, &e, &err);
  td_expr_free(p);
  if (rc) return; /* a cast the binder refuses (timestamp to integer, ...) */
  t->exprs++;
  td_value want[NROWS];
  int want_rc[NROWS];
  static char texts[NROWS][96];
  char first_msg[sizeof err.message] = "";
  int first_rc = 0;
  int64_t first = -1;
  for (int64_t i = 0; i < NROWS; i++) {
    td_value row[NCOLS];
    for (int c = 0; c < NCOLS; c++) row[c] = td_colview_value(&views[c], i);
    td_error rerr;
    want_rc[i] = td_expr_eval_row(e, row, &want[i], &rerr);
    if (!want_rc[i] && !want[i].is_null && want[i].type == TD_TYPE_UTF8) { /* the node's buffer: copied */
      size_t k = want[i].v.s.len < sizeof texts[i] ? want[i].v.s.len : sizeof texts[i];
      memcpy(texts[i], want[i].v.s.ptr, k);
      want[i].v.s.ptr = texts[i];
      want[i].v.s.len = k;
    }
    if (want_rc[i] && first < 0) {
      first = i;
      first_rc = want_rc[i];
      snprintf(first_msg, sizeof first_msg, "%s", rerr.message);
    }
  }
  uint32_t sel[NROWS];
  int64_t n_sel = 0;
  for (int64_t i = 0; i < NROWS; i += 2)
    if (!want_rc[i]) sel[n_sel++] = (uint32_t)i;
  for (int pass = 0; pass < 2; pass++) {
    td_batch b = {NROWS, views, NULL, pass ? sel : NULL, pass ? n_sel : 0};
    td_array out;
    rc = td_expr_eval(e, &b, &out, &err);
    if (pass == 0 && first >= 0) {
      if (rc != first_rc || strcmp(err.message, first_msg) != 0)
        fail_msg("'%s': the batch gives %d '%s', row %lld gives %d '%s'", text, rc, rc ? err.message : "",
                 (long long)first, first_rc, first_msg);
      t->errors++;
      continue;
    }
    if (rc) fail_msg("'%s' (pass %d): %s", text, pass, err.message);
    assert_int_equal(out.type, e->type);
    struct ArrowArray arr;
    TD_ASSERT_OK(td_array_export(&out, &arr, &err), &err);
    td_colview v;
    TD_ASSERT_OK(td_colview_init(&v, e->type, &arr, &err), &err);
    int64_t k = 0, outside = 0;
    for (int64_t i = 0; i < NROWS; i++) {
      bool in = !pass || (k < n_sel && sel[k] == i);
      k += in && pass;
      td_value got = td_colview_value(&v, i);
      if (!in) {
        outside += !got.is_null;
        continue;
      }
      if (!same_value(&want[i], &got)) {
        char a[128], bb[128];
        td_value_format(&got, a, sizeof a);
        td_value_format(&want[i], bb, sizeof bb);
        fail_msg("'%s' row %lld (pass %d): the batch gives %s, the row path %s", text, (long long)i, pass, a, bb);
      }
    }
    if (pass && outside) t->fast++;
    if (pass && must_be_fast && !outside) fail_msg("'%s': the batch hook did not compute the batch", text);
    arr.release(&arr);
  }
  td_expr_free(e);
}

static const char *const cast_types[] = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UTINYINT", "USMALLINT",
                                         "UINTEGER", "DOUBLE", "FLOAT",   "BOOLEAN", "TIMESTAMP", "DATE"};

static void run_casts(bool fast, tally *t) {
  char text[128];
  for (int c = 0; c < NCOLS; c++)
    for (size_t k = 0; k < sizeof cast_types / sizeof *cast_types; k++) {
      bool f = fast;
      snprintf(text, sizeof text, "CAST(%s AS %s)", names[c], cast_types[k]);
      check_expr(text, f, t);
      snprintf(text, sizeof text, "TRY_CAST(%s AS %s)", names[c], cast_types[k]);
      check_expr(text, f, t);
    }
}

static const char *const units[] = {"microsecond", "millisecond", "second", "minute", "hour", "day", "week",
                                    "month", "quarter", "year", "decade", "century", "millennium", "hours"};
static const char *const parts[] = {"year", "month", "day", "hour", "minute", "second", "millisecond",
                                    "microsecond", "nanosecond", "dow", "isodow", "doy", "week", "quarter",
                                    "isoyear", "yearweek", "decade", "century", "millennium", "epoch",
                                    "dayofweek", "weekday", "dayofyear", "ms", "us"};
static const char *const named[] = {"year", "month", "day", "hour", "minute", "second", "quarter", "dayofweek",
                                    "dayofmonth", "dayofyear", "weekday", "week", "weekofyear", "isodow",
                                    "isoyear", "yearweek", "decade", "century", "millennium", "millisecond",
                                    "microsecond", "nanosecond", "epoch_ns", "epoch_us", "epoch_ms", "epoch"};

/* strftime formats: of date fields only (formatted once per day), with times, a literal %. */
static const char *const formats[] = {"%Y-%m", "%Y-%m-%d %H:%M:%S.%f", "%a %b %j %G-%V %u %%", "%F", "day %d%", "%c %n"};

/* strptime formats, each pair written then read (the third: %I fails for the days 13-31,
 * try_strptime's nulls). */
static const char *const parse_formats[][2] = {{"%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f"},
                                                {"%d/%m/%y %I:%M:%S.%g %p", "%d/%m/%y %I:%M:%S.%g %p"},
                                                {"%Y %j %d", "%Y %j %I"}};

static void run_times(bool fast, tally *t) {
  char text[128];
  for (int c = 0; c < NCOLS; c++) {
    if (!td_type_is_temporal(types[c])) continue;
    for (size_t k = 0; k < sizeof units / sizeof *units; k++) {
      snprintf(text, sizeof text, "date_trunc('%s', %s)", units[k], names[c]);
      check_expr(text, fast, t);
    }
    for (size_t k = 0; k < sizeof parts / sizeof *parts; k++) {
      snprintf(text, sizeof text, "date_part('%s', %s)", parts[k], names[c]);
      check_expr(text, fast, t);
    }
    for (size_t k = 0; k < sizeof formats / sizeof *formats; k++) {
      snprintf(text, sizeof text, "strftime(%s, '%s')", names[c], formats[k]);
      check_expr(text, fast, t);
    }
    for (size_t k = 0; k < sizeof named / sizeof *named; k++) {
      snprintf(text, sizeof text, "%s(%s)", named[k], names[c]);
      check_expr(text, fast, t);
    }
    for (size_t k = 0; k < sizeof parse_formats / sizeof *parse_formats; k++) { /* strptime of strftime's text */
      snprintf(text, sizeof text, "%sstrptime(strftime(%s, '%s'), '%s')", k == 2 ? "try_" : "", names[c],
               parse_formats[k][0], parse_formats[k][1]);
      check_expr(text, fast, t);
    }
  }
}

/* Ordinary values: no row fails, every hook computes the batch. */
static void test_ordinary_batches(void **state) {
  (void)state;
  tally t = {0};
  for (unsigned seed = 1; seed <= 3; seed++) {
    fill(seed, ORDINARY);
    run_casts(true, &t);
    run_times(true, &t);
    release();
  }
  assert_true(t.exprs > 1000);
  assert_int_equal(t.errors, 0);
  assert_int_equal(t.fast, t.exprs);
}

/* Values before 1970 and negative numbers: the hooks compute what does
 * not fail, with the row path's results. */
static void test_wide_batches(void **state) {
  (void)state;
  tally t = {0};
  for (unsigned seed = 5; seed <= 8; seed++) {
    fill(seed, WIDE);
    run_casts(false, &t);
    run_times(false, &t);
    release();
  }
  assert_true(t.fast > t.exprs / 2);
}

/* Edge values: the same results and errors as the row path. */
static void test_edge_batches(void **state) {
  (void)state;
  tally t = {0};
  for (unsigned seed = 11; seed <= 16; seed++) {
    fill(seed, EDGE);
    run_casts(false, &t);
    run_times(false, &t);
    release();
  }
  assert_true(t.errors > 100); /* the edge values do make casts and times fail */
  assert_true(t.fast > 100);   /* and the hooks still compute the batches that do not */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ordinary_batches),
      cmocka_unit_test(test_wide_batches),
      cmocka_unit_test(test_edge_batches),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
