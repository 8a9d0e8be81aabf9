/*
 * tests/query/test_eval.c - vectorized evaluation against the row-at-a-time
 * reference on randomized batches; null semantics; selection vectors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/expr.h"
#include "test.h"
#include "util/alloc.h"

enum { NCOLS = 9, NROWS = 300 };
static const char *const names[NCOLS] = {"i8", "i32", "i64", "u16", "f32", "f64", "s", "b", "ts"};
static const td_type_id types[NCOLS] = {TD_TYPE_INT8,    TD_TYPE_INT32,   TD_TYPE_INT64,
                                        TD_TYPE_UINT16,  TD_TYPE_FLOAT32, TD_TYPE_FLOAT64,
                                        TD_TYPE_UTF8,    TD_TYPE_BOOL,    TD_TYPE_TIMESTAMP};

typedef struct fixture {
  td_schema schema;
  struct ArrowArray arrays[NCOLS];
  td_colview views[NCOLS];
  td_value consts[NCOLS];
} fixture;

static const char *const strs[] = {"", "a", "ab", "b", "abc", "zz"};

static void fill(fixture *f, unsigned seed, int offset) {
  srand(seed);
  td_error err;
  for (int c = 0; c < NCOLS; c++) {
    td_array a;
    TD_ASSERT_OK(td_array_init(&a, types[c], NROWS + offset, &err), &err);
    for (int r = 0; r < NROWS + offset; r++) {
      int rc;
      if (rand() % 7 == 0) rc = td_array_append_null(&a, &err);
      else if (types[c] == TD_TYPE_UTF8) {
        const char *s = strs[rand() % 6];
        rc = td_array_append_str(&a, s, (int64_t)strlen(s), &err);
      }
      else if (td_type_is_float(types[c])) rc = td_array_append_double(&a, (rand() % 21 - 10) / 2.0, &err);
      else if (types[c] == TD_TYPE_UINT16) rc = td_array_append_int(&a, rand() % 12, &err);
      else if (types[c] == TD_TYPE_TIMESTAMP) rc = td_array_append_int(&a, (int64_t)(rand() % 5) * 86400000000000LL, &err);
      else rc = td_array_append_int(&a, rand() % 21 - 10, &err);
      TD_ASSERT_OK(rc, &err);
    }
    TD_ASSERT_OK(td_array_export(&a, &f->arrays[c], &err), &err);
    f->arrays[c].offset = offset;
    f->arrays[c].length -= offset;
    f->arrays[c].null_count = -1;
    TD_ASSERT_OK(td_colview_init(&f->views[c], types[c], &f->arrays[c], &err), &err);
    f->consts[c] = td_value_null(TD_TYPE_NONE);
  }
}

static fixture F;

static int setup(void **state) {
  (void)state;
  td_schema_init(&F.schema);
  for (int c = 0; c < NCOLS; c++)
    td_schema_add(&F.schema, names[c], types[c], types[c] == TD_TYPE_TIMESTAMP ? "UTC" : NULL, true, NULL);
  return 0;
}
static void release(void) {
  for (int c = 0; c < NCOLS; c++) td_arrow_array_release(&F.arrays[c]);
}
static int teardown(void **state) {
  (void)state;
  td_schema_reset(&F.schema);
  return 0;
}

static td_expr *bound(const char *text) {
  td_error err;
  td_expr *e, *b;
  TD_ASSERT_OK(td_expr_parse(text, strlen(text), &e, &err), &err);
  int rc = td_expr_bind(e, &F.schema, 0, &b, &err);
  if (rc) fail_msg("bind '%s': %s", text, err.message);
  td_expr_free(e);
  return b;
}

static bool same_value(const td_value *a, const td_value *b) {
  if (a->is_null != b->is_null) return false;
  if (a->is_null) return true;
  switch (a->type) {
    case TD_TYPE_BOOL: return a->v.b == b->v.b;
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: return a->v.f == b->v.f || (isnan(a->v.f) && isnan(b->v.f));
    case TD_TYPE_UTF8: return a->v.s.len == b->v.s.len && memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0;
    default: return a->v.i == b->v.i;
  }
}

/* Row i of the batch as scalars. */
static void row_values(const td_batch *b, int64_t i, td_value *row) {
  for (int c = 0; c < NCOLS; c++)
    row[c] = b->consts && b->consts[c].type != TD_TYPE_NONE ? b->consts[c] : td_colview_value(&b->cols[c], i);
}

static void check_expr(const char *text, const td_batch *b) {
  td_error err;
  td_expr *e = bound(text);
  td_array out;
  TD_ASSERT_OK(td_expr_eval(e, b, &out, &err), &err);
  assert_int_equal(out.type, e->type);
  assert_int_equal(out.length, b->length);
  struct ArrowArray arr;
  TD_ASSERT_OK(td_array_export(&out, &arr, &err), &err);
  TD_ASSERT_OK(td_array_validate(e->type, &arr, &err), &err);
  td_colview v;
  TD_ASSERT_OK(td_colview_init(&v, e->type, &arr, &err), &err);
  uint32_t *all = malloc(sizeof(uint32_t) * (size_t)b->length + 4), *sel = malloc(sizeof(uint32_t) * (size_t)b->length + 4);
  uint32_t *half = malloc(sizeof(uint32_t) * (size_t)b->length + 4);
  int64_t n_true = 0, n_half = 0, n_half_true = 0;
  for (int64_t i = 0; i < b->length; i++) {
    td_value row[NCOLS], want;
    row_values(b, i, row);
    TD_ASSERT_OK(td_expr_eval_row(e, row, &want, &err), &err);
    td_value got = td_colview_value(&v, i);
    if (!same_value(&want, &got))
      fail_msg("'%s' row %lld: vectorized and row results differ (null %d/%d)", text, (long long)i, got.is_null, want.is_null);
    bool t = e->type == TD_TYPE_BOOL && !want.is_null && want.v.b;
    if (t) all[n_true++] = (uint32_t)i;
    if (i % 3 != 1) {
      half[n_half++] = (uint32_t)i;
      n_half_true += t;
    }
  }
  if (e->type == TD_TYPE_BOOL) {
    int64_t n;
    TD_ASSERT_OK(td_expr_select(e, b, NULL, 0, sel, &n, &err), &err);
    assert_int_equal(n, n_true);
    assert_memory_equal(sel, all, (size_t)n * sizeof *sel);
    TD_ASSERT_OK(td_expr_select(e, b, half, n_half, half, &n, &err), &err); /* in place */
    assert_int_equal(n, n_half_true);
    int64_t k = 0;
    for (int64_t j = 0; j < n_true; j++)
      if (all[j] % 3 != 1) assert_int_equal(half[k++], all[j]);
  }
  free(all);
  free(sel);
  free(half);
  arr.release(&arr);
  td_expr_free(e);
}

static const char *const exprs[] = {
    "i64 > 2", "i64 >= -3", "i64 < 0", "i64 <= 5", "i64 = 1", "i64 != 1", "2 < i64", "i32 = i64",
    "i8 < i32", "u16 > 5", "f64 > 1.5", "f32 <= f64", "i64 < f64", "1.5 >= i32", "i64 > 2.5",
    "s = 'ab'", "s < 'ab'", "s >= s", "'b' > s", "b", "b = true", "b <> b", "NOT b",
    "ts > '1970-01-03'", "ts = '1970-01-02T00:00:00Z'", "ts <= ts",
    "i64 + i32", "i64 - 3", "i8 * u16", "i64 / i32", "f64 / 0", "i32 / 0.0", "-i64", "-f32",
    "f32 + i8 * 2", "(i64 + 1) * (i32 - 1) > 4",
    "i64 > 0 AND i32 < 0", "i64 > 0 OR i32 < 0", "b AND i64 > 0", "b OR i64 > 0",
    "NOT (i64 > 0 AND s = 'a')", "NOT (b OR f64 < 0)", "i64 IS NULL", "s IS NOT NULL",
    "i64 IN (1, 2, 3)", "i64 NOT IN (1, 2)", "i64 IN (1, NULL)", "i64 NOT IN (1, NULL)",
    "s IN ('a', 'zz')", "f64 IN (1, 1.5, i32)", "i64 BETWEEN -2 AND 2", "i64 NOT BETWEEN i32 AND 5",
    "NULL", "i64 = NULL", "NULL OR b", "NULL AND b", "i64 > NULL OR i32 > 0",
    "(i64 > 0 OR s = 'a') AND (b OR i32 IS NULL)", "i64 > 0 OR i32 > 0 OR f64 > 0",
    "i64 + NULL", "s", "ts", "i8", "f32", "true", "'x'", "1 = 1", "(i64 IS NULL) = b",
    "NOT (i64 IN (1, 2))", "i64 > 0 AND (i32 > 0 OR NOT b)",
    /* registered functions and special forms (query/func*.c) */
    "CASE WHEN i64 > 0 THEN s WHEN b THEN 'b' END", "CASE i32 WHEN 1 THEN f64 WHEN 2 THEN 2 ELSE i8 END",
    "CASE WHEN b THEN ts END", "CAST(f64 AS BIGINT)", "i32::VARCHAR", "CAST(s AS VARCHAR) || '!'",
    "regexp_extract(s, '(a)(b)?', 2)", "regexp_replace(s, 'a', 'X', 'g')", "regexp_full_match(s, 'ab?')",
    "concat(s, i64, b)", "concat(s, 'x', i8, s)", "s || '-' || u16", "concat(b, s)", "i64 || s", "concat(ts, s)",
    "CAST(i64 * 922337203685477580 AS VARCHAR)", "CAST(ts AS VARCHAR)", "CAST(ts + INTERVAL 1 SECOND AS VARCHAR)",
    "CAST(f64 / 3 AS VARCHAR)", "CAST(f32 AS VARCHAR)", "CAST(b AS VARCHAR)", "CAST(CAST(ts AS DATE) AS VARCHAR)", "CAST(u16 * 1000003 AS VARCHAR) || '|'", "CAST(i8 - 99 AS VARCHAR)",
    "s || i64", "i64 % 3", "f64 % 1.5", "i64 % 0", "s LIKE 'a%'", "s NOT LIKE '_b'", "s ILIKE 'A%'",
    "i64 IS DISTINCT FROM i32", "s IS NOT DISTINCT FROM 'a'", "coalesce(i64, i32, 7)", "nullif(i64, 1)",
    "greatest(i8, i32, f64)", "least(s, 'b')", "lower(s)", "upper(s)", "length(s)", "substr(s, 2)",
    "substr(s, 1, 1)", "trim(s, 'a')", "replace(s, 'a', 'xy')", "starts_with(s, 'a')", "contains(s, 'b')",
    "concat(s, i64, NULL)", "regexp_matches(s, '^a+b?$')", "abs(i64)", "round(f64)", "round(f32, 1)",
    "floor(f64)", "ceil(i32)", "round(f64, 2)", "round(f64, -1)", "trunc(f64)", "sign(f64)", "ceil(f64)",
    "abs(f32)", "round(f64, i32)", "sqrt(abs(f64))", "ln(abs(f64) + 1)", "exp(i8)", "pow(f64, 2)",
    "date_trunc('day', ts)", "extract(day FROM ts)", "date_part('epoch', ts)", "strftime(ts, '%Y-%m-%d')",
    "epoch_ns(ts)", "ts - INTERVAL 5 MINUTE", "ts + INTERVAL '2 days' > '1970-01-04'",
    "CASE WHEN s LIKE '%b%' THEN lower(s) || '-' ELSE upper(s) END = 'ab-'",
    /* LIKE over a batch (func_core.c vec_like): each pattern shape */
    "s LIKE 'ab'", "s NOT LIKE 'ab'", "s LIKE 'ab%'", "s LIKE '%b'", "s LIKE '%bc'", "s LIKE '%b%'",
    "s NOT LIKE '%b%'", "s LIKE '%'", "s LIKE '%%'", "s LIKE ''", "s NOT LIKE ''", "s LIKE 'a%c'", "s LIKE '_'",
    "s LIKE '%a_'", "s LIKE 'zz%%'", "s LIKE '%%b%%'",
    /* IN lists of integers, a batch at a time (inset.c): compares, the hash set, nulls, floats */
    "i64 IN (1, 2, 3, 4, 5, 6, 7, 8, 9, -10, 100)", "i32 NOT IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, NULL)",
    "i8 IN (-1, NULL)", "u16 IN (3, 70000, 5)", "i64 IN (1, 2.5)", "i32 NOT IN (-3)", "i64 IN (9223372036854775807, 0)",
    /* the conditional forms, each argument over its own rows (query/eval_cond.c) */
    "CASE WHEN b THEN i8 ELSE f32 END", "CASE WHEN i64 > 100 THEN s END", "CASE WHEN b THEN i64 > 0 END",
    "CASE WHEN i64 > 0 THEN CASE WHEN b THEN s ELSE 'x' END WHEN i32 > 0 THEN NULL ELSE s || s END",
    "CASE WHEN b THEN ts ELSE ts - INTERVAL 1 DAY END", "CASE WHEN i64 IS NULL THEN -1 ELSE i64 END",
    "CASE WHEN i32 > 0 THEN 'p' WHEN i32 < 0 THEN s END", "CASE WHEN b THEN NULL ELSE f64 END",
    "CASE WHEN i64 > 2 THEN u16 WHEN i64 < -2 THEN i8 ELSE i32 END", "CASE WHEN b THEN b ELSE NOT b END",
    "coalesce(s, 'none')", "coalesce(NULL, i64)", "coalesce(i8, f32, i64)", "ifnull(f64, i64)",
    "coalesce(s, lower(s), 'z') || '.'", "coalesce(NULL, NULL)", "ifnull(b, i64 > 0)", "coalesce(ts, ts)",
    "CASE WHEN coalesce(b, i64 > 0) THEN 1 ELSE 0 END = 1",
    "greatest(i8, i32, i64)", "least(i64, -2, NULL)", "greatest(f64, i8)", "least(f32, f64, 0)",
    "greatest(ts, ts - INTERVAL 1 DAY)", "least(NULL, NULL)", "greatest(i64)", "least(u16, i8 * 2)",
    "nullif(i64, i32)", "nullif(i8, 2)", "nullif(ts, ts)", "nullif(i64, NULL)", "nullif(f64, 0.5)",
    "greatest(f64 / 0, i64)", "least(f64 / i32, 1)", "greatest(f64, CAST('nan' AS DOUBLE))",
    "least(CASE WHEN b THEN CAST('nan' AS DOUBLE) ELSE f64 END, f32)",
    "greatest(i8, CASE WHEN b THEN CAST('nan' AS DOUBLE) END, f64)",
    /* integer column OP constant read from the column (query/sel_int.c):
     * every operator, constants at and past the column type's range */
    "i32 > 1099511627776", "i32 < 1099511627776", "i32 <> 1099511627776", "i32 = -1099511627776",
    "i32 >= -1099511627776", "i32 <= 2147483647", "i32 > -2147483648", "i32 = 3", "i32 <= -4",
    "i8 > 127", "i8 >= -128", "i8 < 300", "i8 = -300", "i8 <> 5", "-129 < i8", "i8 <= 0",
    "u16 < -1", "u16 >= 0", "u16 <> 70000", "u16 = 65535", "u16 >= 65536", "70000 > u16",
    "i64 = 9223372036854775807", "i64 < -9223372036854775807", "i64 >= 0", "ts >= '1970-01-02'",
    "ts < '2200-01-01'", "i32 BETWEEN -3 AND 1099511627776", "i8 > 2 AND i32 < 0", "i8 > 2 OR i32 < 0",
};

static void run_all(const td_batch *b) {
  for (size_t k = 0; k < sizeof exprs / sizeof *exprs; k++) check_expr(exprs[k], b);
}

static void test_random_batches(void **state) {
  (void)state;
  for (unsigned seed = 1; seed <= 4; seed++) {
    fill(&F, seed, (int)seed % 3 * 5);
    td_batch b = {NROWS, F.views, NULL, NULL, 0};
    run_all(&b);
    release();
  }
}

static void test_constant_columns(void **state) {
  (void)state;
  fill(&F, 9, 0);
  td_value consts[NCOLS];
  for (int c = 0; c < NCOLS; c++) consts[c] = td_value_null(TD_TYPE_NONE);
  td_batch b = {NROWS, F.views, consts, NULL, 0};
  consts[2] = td_value_int(TD_TYPE_INT64, 3);
  consts[6] = td_value_str("ab");
  run_all(&b);
  consts[2] = td_value_null(TD_TYPE_INT64);
  consts[7] = td_value_bool(true);
  consts[8] = td_value_int(TD_TYPE_TIMESTAMP, 86400000000000LL * 3);
  run_all(&b);
  consts[7] = td_value_null(TD_TYPE_BOOL);
  consts[5] = td_value_double(TD_TYPE_FLOAT64, 1.5);
  run_all(&b);
  release();
}

static void test_empty_batch(void **state) {
  (void)state;
  fill(&F, 3, 0);
  td_batch b = {0, F.views, NULL, NULL, 0};
  run_all(&b);
  release();
}

static void test_three_valued_logic(void **state) {
  (void)state;
  const char *cases[][2] = {
      {"NULL AND false", "false"}, {"NULL AND true", "NULL"},  {"NULL OR true", "true"},
      {"NULL OR false", "NULL"},   {"NOT NULL", "NULL"},       {"1 IN (2, NULL)", "NULL"},
      {"1 IN (1, NULL)", "true"},  {"1 NOT IN (2, NULL)", "NULL"}, {"1 NOT IN (2, 3)", "true"},
      {"NULL = NULL", "NULL"},     {"NULL IS NULL", "true"},   {"1 / 0 IS NULL", "true"},
      {"5 / 2", "2.5"},            {"9223372036854775807 - 1", "9223372036854775806"},
      {"'ab' < 'b'", "true"},      {"'' < 'a'", "true"},       {"2 = 2.0", "true"},
      {"1 BETWEEN NULL AND 0", "false"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    td_expr *e = bound(cases[k][0]);
    td_error err;
    char *t;
    TD_ASSERT_OK(td_expr_print(e, &t, &err), &err);
    if (strcmp(t, cases[k][1]) != 0) fail_msg("%s -> %s, expected %s", cases[k][0], t, cases[k][1]);
    td_free(t);
    td_expr_free(e);
  }
}

static void test_eval_errors(void **state) {
  (void)state;
  td_error err;
  td_expr *e, *b;
  TD_ASSERT_OK(td_expr_parse("sum(i64)", 8, &e, &err), &err);
  TD_ASSERT_OK(td_expr_bind(e, &F.schema, TD_BIND_ALLOW_AGG, &b, &err), &err);
  fill(&F, 5, 0);
  td_batch batch = {NROWS, F.views, NULL, NULL, 0};
  td_array out;
  assert_int_equal(td_expr_eval(b, &batch, &out, &err), TD_EINVAL);
  td_value v;
  assert_int_equal(td_expr_eval_row(b, NULL, &v, &err), TD_EINVAL);
  td_expr_free(b);
  td_expr_free(e);
  e = bound("i64 + 1");
  uint32_t sel[NROWS];
  int64_t n;
  assert_int_equal(td_expr_select(e, &batch, NULL, 0, sel, &n, &err), TD_ETYPE);
  td_expr_free(e);
  /* allocation failures during evaluation */
  e = bound("(i32 + 1) * 2 > f64 OR s IN ('a', 'b') AND b");
  for (int64_t k = 0;; k++) {
    td__alloc_fail_after(k);
    int rc = td_expr_eval(e, &batch, &out, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      td_array_reset(&out);
      break;
    }
    assert_int_equal(rc, TD_ENOMEM);
  }
  for (int64_t k = 0;; k++) {
    td__alloc_fail_after(k);
    int rc = td_expr_select(e, &batch, NULL, 0, sel, &n, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) break;
    assert_int_equal(rc, TD_ENOMEM);
  }
  td_expr_free(e);
  release();
}

/* Expects `text` over the rows of batch b (its selection when it has one)
 * to give code `want` in both evaluators. */
static void expect_rc(const char *text, const td_batch *b, int want) {
  td_error err;
  td_expr *e = bound(text);
  td_array out;
  int rc = td_expr_eval(e, b, &out, &err);
  if (rc != want) fail_msg("'%s': vectorized gives %d, expected %d", text, rc, want);
  if (!rc) td_array_reset(&out);
  int row_rc = TD_OK;
  for (int64_t i = 0; i < (b->sel ? b->n_sel : b->length) && !row_rc; i++) {
    td_value row[NCOLS], v;
    row_values(b, b->sel ? b->sel[i] : i, row);
    row_rc = td_expr_eval_row(e, row, &v, &err);
  }
  if (row_rc != want) fail_msg("'%s': row evaluation gives %d, expected %d", text, row_rc, want);
  td_expr_free(e);
}

/* A CASE branch or coalesce argument is evaluated only over the rows it
 * decides: an overflow elsewhere is no error, in either evaluator. */
static void test_cond_lazy_errors(void **state) {
  (void)state;
  fill(&F, 6, 0);
  td_batch b = {NROWS, F.views, NULL, NULL, 0};
  const char *big = "9223372036854775807";
  char t[256];
  snprintf(t, sizeof t, "CASE WHEN i64 < 100 OR i64 IS NULL THEN i64 ELSE i64 * %s END", big);
  expect_rc(t, &b, TD_OK); /* the ELSE decides no row */
  snprintf(t, sizeof t, "CASE WHEN i64 = 0 THEN 0 ELSE i64 * %s END", big);
  expect_rc(t, &b, TD_ERANGE);
  snprintf(t, sizeof t, "CASE WHEN i64 > 100 THEN i32 * %s WHEN b THEN 1 END", big);
  expect_rc(t, &b, TD_OK);
  snprintf(t, sizeof t, "CASE WHEN true THEN 1 WHEN i32 * %s > 0 THEN 2 END", big);
  expect_rc(t, &b, TD_OK); /* a later WHEN over no row */
  snprintf(t, sizeof t, "CASE WHEN b IS NULL THEN 1 WHEN i32 * %s > 0 THEN 2 END", big);
  expect_rc(t, &b, TD_ERANGE);
  snprintf(t, sizeof t, "coalesce(i64, 1, i32 * %s)", big);
  expect_rc(t, &b, TD_OK);
  snprintf(t, sizeof t, "coalesce(i64, i32 * %s)", big);
  expect_rc(t, &b, TD_ERANGE);
  expect_rc("ifnull(i8, CAST(s AS BIGINT))", &b, TD_ETYPE); /* 'a' does not parse */
  expect_rc("ifnull(i8, CAST(s AS BIGINT)) IS NULL OR s IN ('a', 'ab', 'b', 'abc', 'zz')", &b, TD_ETYPE);
  expect_rc("CASE WHEN s IS NULL OR s = 'zz' THEN 0 ELSE CAST(s AS BIGINT) END", &b, TD_ETYPE);
  expect_rc("CASE WHEN s IS NULL OR s >= '' THEN 0 ELSE CAST(s AS BIGINT) END", &b, TD_OK);
  /* rows outside the batch's selection never error */
  uint32_t sel[NROWS];
  int64_t n = 0;
  for (int64_t i = 0; i < NROWS; i++)
    if (td_colview_valid(&F.views[2], i) && td_colview_int(&F.views[2], i) == 0) sel[n++] = (uint32_t)i;
  assert_true(n > 0);
  td_batch s = {NROWS, F.views, NULL, sel, n};
  snprintf(t, sizeof t, "CASE WHEN i32 > 100 THEN 0 ELSE i64 * %s END", big);
  expect_rc(t, &s, TD_OK);
  snprintf(t, sizeof t, "coalesce(i64, i64 * %s)", big);
  expect_rc(t, &s, TD_OK);
  /* allocation failures */
  td_expr *e = bound("CASE WHEN b THEN s WHEN i64 > 0 THEN 'x' ELSE coalesce(s, 'y') END");
  for (int64_t k = 0;; k++) {
    td_array out;
    td_error err;
    td__alloc_fail_after(k);
    int rc = td_expr_eval(e, &b, &out, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      td_array_reset(&out);
      break;
    }
    assert_int_equal(rc, TD_ENOMEM);
  }
  td_expr_free(e);
  release();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_batches), cmocka_unit_test(test_constant_columns),
      cmocka_unit_test(test_empty_batch),    cmocka_unit_test(test_three_valued_logic),
      cmocka_unit_test(test_eval_errors),    cmocka_unit_test(test_cond_lazy_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
