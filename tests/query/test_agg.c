/*
 * tests/query/test_agg.c - hash aggregation against a naive reference,
 * incremental updates, changed-group tracking, the global group;
 * retraction (subtracting rows, recomputing listed groups, dropping empty
 * ones) against a state fed only the remaining rows; sort.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/agg.h"
#include "query/ops.h"
#include "query/sort.h"
#include "test.h"
#include "util/alloc.h"
#include "util/decimal.h"

enum { N = 2000 };
static const char *const strs[] = {"x", "y", "", "zz", "abc"};

/* columns: 0 int32 key, 1 utf8 key, 2 int64 value, 3 float64 value, 4 utf8 value */
typedef struct data {
  struct ArrowArray arr[5];
  td_colview v[5];
} data;

static void make(data *d, unsigned seed, int nulls) {
  srand(seed);
  td_error err;
  td_type_id t[5] = {TD_TYPE_INT32, TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  for (int c = 0; c < 5; c++) {
    td_array a;
    TD_ASSERT_OK(td_array_init(&a, t[c], N, &err), &err);
    for (int i = 0; i < N; i++) {
      int rc;
      if (nulls && rand() % 9 == 0) rc = td_array_append_null(&a, &err);
      else if (t[c] == TD_TYPE_UTF8) {
        const char *s = strs[rand() % 5];
        rc = td_array_append_str(&a, s, (int64_t)strlen(s), &err);
      } else if (t[c] == TD_TYPE_FLOAT64) rc = td_array_append_double(&a, (rand() % 100) / 4.0, &err);
      else rc = td_array_append_int(&a, rand() % (c == 0 ? 7 : 1000) - 3, &err);
      TD_ASSERT_OK(rc, &err);
    }
    TD_ASSERT_OK(td_array_export(&a, &d->arr[c], &err), &err);
    TD_ASSERT_OK(td_colview_init(&d->v[c], t[c], &d->arr[c], &err), &err);
  }
}

static void unmake(data *d) {
  for (int c = 0; c < 5; c++) td_arrow_array_release(&d->arr[c]);
}

static bool val_eq(td_value a, td_value b) {
  if (a.is_null || b.is_null) return a.is_null == b.is_null;
  if (a.type == TD_TYPE_UTF8)
    return a.v.s.len == b.v.s.len && (a.v.s.len == 0 || memcmp(a.v.s.ptr, b.v.s.ptr, a.v.s.len) == 0);
  if (a.type == TD_TYPE_FLOAT64) return a.v.f == b.v.f || (isnan(a.v.f) && isnan(b.v.f));
  if (a.type == TD_TYPE_BOOL) return a.v.b == b.v.b;
  return a.v.i == b.v.i;
}

static int cmpv(td_value a, td_value b) {
  if (a.type == TD_TYPE_UTF8) {
    size_t n = a.v.s.len < b.v.s.len ? a.v.s.len : b.v.s.len;
    int c = n ? memcmp(a.v.s.ptr, b.v.s.ptr, n) : 0;
    return c ? c : (a.v.s.len > b.v.s.len) - (a.v.s.len < b.v.s.len);
  }
  if (a.type == TD_TYPE_FLOAT64) { /* NaN is greatest (issue 8, item 21) */
    if (isnan(a.v.f) || isnan(b.v.f)) return (int)isnan(a.v.f) - (int)isnan(b.v.f);
    return (a.v.f > b.v.f) - (a.v.f < b.v.f);
  }
  return (a.v.i > b.v.i) - (a.v.i < b.v.i);
}

static const td_agg_spec specs[] = {
    {TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_COUNT, 2, TD_TYPE_INT64},
    {TD_AGG_SUM, 2, TD_TYPE_INT64},        {TD_AGG_SUM, 3, TD_TYPE_FLOAT64},
    {TD_AGG_MIN, 2, TD_TYPE_INT64},        {TD_AGG_MAX, 4, TD_TYPE_UTF8},
    {TD_AGG_AVG, 2, TD_TYPE_INT64},        {TD_AGG_FIRST, 4, TD_TYPE_UTF8},
    {TD_AGG_LAST, 3, TD_TYPE_FLOAT64},     {TD_AGG_MAX, 3, TD_TYPE_FLOAT64},
    {TD_AGG_MIN, 4, TD_TYPE_UTF8},
};
enum { NSPEC = sizeof specs / sizeof *specs };

/* Naive aggregate of spec s over the rows (in order) whose key equals group g's. */
static td_value reference(const data *d, const td_agg_key *keys, int nk, const uint32_t *rows,
                          int64_t n, const td_value *gk, const td_agg_spec *s) {
  int64_t cnt = 0, isum = 0;
  double fsum = 0;
  td_value best = td_value_null(TD_TYPE_NONE), first = best, last = best;
  bool any = false, seen = false;
  for (int64_t j = 0; j < n; j++) {
    bool match = true;
    for (int k = 0; k < nk; k++)
      if (!val_eq(td_colview_value(&d->v[keys[k].column], rows[j]), gk[k])) match = false;
    if (!match) continue;
    if (s->kind == TD_AGG_COUNT_STAR) {
      cnt++;
      continue;
    }
    td_value v = td_colview_value(&d->v[s->column], rows[j]);
    if (!seen) first = v;
    seen = true;
    last = v;
    if (v.is_null) continue;
    cnt++;
    if (v.type == TD_TYPE_FLOAT64) fsum += v.v.f;
    else if (v.type == TD_TYPE_INT64) isum += v.v.i, fsum += (double)v.v.i;
    if (!any || (s->kind == TD_AGG_MIN ? cmpv(v, best) < 0 : cmpv(v, best) > 0)) best = v;
    any = true;
  }
  switch (s->kind) {
    case TD_AGG_COUNT_STAR:
    case TD_AGG_COUNT: return td_value_int(TD_TYPE_INT64, cnt);
    case TD_AGG_SUM:
      if (!cnt) return td_value_null(TD_TYPE_INT64);
      return s->type == TD_TYPE_INT64 ? td_value_int(TD_TYPE_INT64, isum) : td_value_double(TD_TYPE_FLOAT64, fsum);
    case TD_AGG_AVG: return cnt ? td_value_double(TD_TYPE_FLOAT64, fsum / (double)cnt) : td_value_null(TD_TYPE_FLOAT64);
    case TD_AGG_FIRST: return seen ? first : td_value_null(s->type);
    case TD_AGG_LAST: return seen ? last : td_value_null(s->type);
    default: return any ? best : td_value_null(s->type);
  }
}

/* Checks the aggregation result against the reference over `rows`. */
static void check_result(td_agg *a, const data *d, const td_agg_key *keys, int nk,
                         const uint32_t *rows, int64_t n) {
  td_error err;
  td_array out[2 + NSPEC];
  TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
  int64_t ng = td_agg_group_count(a);
  td_colview v[2 + NSPEC];
  struct ArrowArray arr[2 + NSPEC];
  for (int c = 0; c < nk + NSPEC; c++) {
    assert_int_equal(out[c].length, ng);
    TD_ASSERT_OK(td_array_export(&out[c], &arr[c], &err), &err);
    TD_ASSERT_OK(td_colview_init(&v[c], td_agg_output_type(a, c), &arr[c], &err), &err);
  }
  /* groups in first-seen order, each key distinct */
  int64_t expect_groups = 0;
  for (int64_t j = 0; j < n; j++) {
    bool first_time = true;
    for (int64_t i = 0; i < j && first_time; i++) {
      bool same = true;
      for (int k = 0; k < nk; k++)
        if (!val_eq(td_colview_value(&d->v[keys[k].column], rows[i]), td_colview_value(&d->v[keys[k].column], rows[j]))) same = false;
      if (same) first_time = false;
    }
    if (!first_time) continue;
    for (int k = 0; k < nk; k++)
      assert_true(val_eq(td_colview_value(&v[k], expect_groups), td_colview_value(&d->v[keys[k].column], rows[j])));
    expect_groups++;
  }
  if (nk == 0) expect_groups = 1;
  assert_int_equal(ng, expect_groups);
  for (int64_t g = 0; g < ng; g++) {
    td_value gk[2];
    for (int k = 0; k < nk; k++) gk[k] = td_colview_value(&v[k], g);
    for (int s = 0; s < NSPEC; s++) {
      td_value want = reference(d, keys, nk, rows, n, gk, &specs[s]);
      td_value got = td_colview_value(&v[nk + s], g);
      if (specs[s].kind == TD_AGG_AVG || (specs[s].kind == TD_AGG_SUM && specs[s].type == TD_TYPE_FLOAT64)) {
        assert_int_equal(want.is_null, got.is_null);
        if (!want.is_null) assert_true(got.v.f - want.v.f < 1e-6 && want.v.f - got.v.f < 1e-6);
      } else if (!val_eq(want, got)) {
        fail_msg("group %lld aggregate %d differs", (long long)g, s);
      }
    }
  }
  for (int c = 0; c < nk + NSPEC; c++) arr[c].release(&arr[c]);
}

static void run_case(const td_agg_key *keys, int nk, int nulls, unsigned seed) {
  data d;
  make(&d, seed, nulls);
  td_error err;
  uint32_t *rows = malloc(N * sizeof *rows);
  int64_t n = 0;
  for (int i = 0; i < N; i++)
    if (rand() % 3) rows[n++] = (uint32_t)i;
  /* one batch with a selection vector */
  td_agg *a;
  TD_ASSERT_OK(td_agg_create(keys, nk, specs, NSPEC, &a, &err), &err);
  td_batch b = {N, d.v, NULL, NULL, 0};
  TD_ASSERT_OK(td_agg_update(a, &b, rows, n, &err), &err);
  check_result(a, &d, keys, nk, rows, n);
  td_agg_free(a);
  /* the same rows in several batches (views with offsets) */
  TD_ASSERT_OK(td_agg_create(keys, nk, specs, NSPEC, &a, &err), &err);
  int64_t cuts[] = {0, 1, 100, 777, 1500, N};
  for (int c = 0; c + 1 < 6; c++) {
    td_colview v[5];
    uint32_t *sel = malloc(N * sizeof *sel);
    int64_t m = 0;
    for (int64_t j = 0; j < n; j++)
      if (rows[j] >= cuts[c] && rows[j] < cuts[c + 1]) sel[m++] = rows[j] - (uint32_t)cuts[c];
    for (int k = 0; k < 5; k++) {
      v[k] = d.v[k];
      v[k].offset += cuts[c];
      v[k].length = cuts[c + 1] - cuts[c];
    }
    td_batch part = {cuts[c + 1] - cuts[c], v, NULL, NULL, 0};
    TD_ASSERT_OK(td_agg_update(a, &part, sel, m, &err), &err);
    free(sel);
  }
  check_result(a, &d, keys, nk, rows, n);
  td_agg_free(a);
  free(rows);
  unmake(&d);
}

/* ---- retraction ---- */

/* specs plus a count of column 3, the companion of the float sum */
static const td_agg_spec rspecs[] = {
    {TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_COUNT, 2, TD_TYPE_INT64},
    {TD_AGG_SUM, 2, TD_TYPE_INT64},        {TD_AGG_SUM, 3, TD_TYPE_FLOAT64},
    {TD_AGG_MIN, 2, TD_TYPE_INT64},        {TD_AGG_MAX, 4, TD_TYPE_UTF8},
    {TD_AGG_AVG, 2, TD_TYPE_INT64},        {TD_AGG_FIRST, 4, TD_TYPE_UTF8},
    {TD_AGG_LAST, 3, TD_TYPE_FLOAT64},     {TD_AGG_MAX, 3, TD_TYPE_FLOAT64},
    {TD_AGG_MIN, 4, TD_TYPE_UTF8},         {TD_AGG_COUNT, 3, TD_TYPE_FLOAT64},
};
enum { NRSPEC = sizeof rspecs / sizeof *rspecs };
static const int64_t companion[NRSPEC] = {-1, -1, 1, 11, -1, -1, -1, -1, -1, -1, -1, -1};

/* The result of state a as arrays (caller releases arr[0 .. nk + NRSPEC)). */
static int64_t result_views(td_agg *a, int nk, struct ArrowArray *arr, td_colview *v) {
  td_error err;
  td_array out[2 + NRSPEC];
  TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
  for (int c = 0; c < nk + NRSPEC; c++) {
    TD_ASSERT_OK(td_array_export(&out[c], &arr[c], &err), &err);
    TD_ASSERT_OK(td_colview_init(&v[c], td_agg_output_type(a, c), &arr[c], &err), &err);
  }
  return td_agg_group_count(a);
}

/* Every group of `got` equals the group of the same key in `want` (any order). */
static void same_groups(td_agg *got, td_agg *want, int nk) {
  struct ArrowArray ga[2 + NRSPEC], wa[2 + NRSPEC];
  td_colview gv[2 + NRSPEC], wv[2 + NRSPEC];
  int64_t ng = result_views(got, nk, ga, gv), nw = result_views(want, nk, wa, wv);
  assert_int_equal(ng, nw);
  for (int64_t g = 0; g < ng; g++) {
    int64_t w = -1;
    for (int64_t i = 0; i < nw && w < 0; i++) {
      bool same = true;
      for (int k = 0; k < nk; k++) same &= val_eq(td_colview_value(&gv[k], g), td_colview_value(&wv[k], i));
      if (same) w = i;
    }
    assert_true(w >= 0);
    for (int c = nk; c < nk + NRSPEC; c++) {
      td_value x = td_colview_value(&gv[c], g), y = td_colview_value(&wv[c], w);
      if (x.type == TD_TYPE_FLOAT64 && !x.is_null && !y.is_null) assert_true(fabs(x.v.f - y.v.f) < 1e-6);
      else if (!val_eq(x, y)) fail_msg("group %lld aggregate %d differs", (long long)g, c - nk);
    }
  }
  for (int c = 0; c < nk + NRSPEC; c++) {
    ga[c].release(&ga[c]);
    wa[c].release(&wa[c]);
  }
}

static void run_retract(const td_agg_key *keys, int nk, unsigned seed) {
  data d;
  make(&d, seed, 1);
  td_error err;
  uint32_t *gone = malloc(N * sizeof *gone), *kept = malloc(N * sizeof *kept);
  int64_t ng = 0, nk_rows = 0;
  for (int i = 0; i < N; i++) { /* a range of rows, and every row of key 2 */
    td_value k0 = td_colview_value(&d.v[0], i);
    if ((i >= 500 && i < 1200) || (!k0.is_null && k0.v.i == 2)) gone[ng++] = (uint32_t)i;
    else kept[nk_rows++] = (uint32_t)i;
  }
  td_agg *a, *r, *full;
  td_batch b = {N, d.v, NULL, NULL, 0};
  TD_ASSERT_OK(td_agg_create(keys, nk, rspecs, NRSPEC, &a, &err), &err);
  TD_ASSERT_OK(td_agg_create(keys, nk, rspecs, NRSPEC, &r, &err), &err);
  TD_ASSERT_OK(td_agg_create(keys, nk, rspecs, NRSPEC, &full, &err), &err);
  TD_ASSERT_OK(td_agg_update(a, &b, NULL, 0, &err), &err);
  TD_ASSERT_OK(td_agg_update(r, &b, gone, ng, &err), &err);
  TD_ASSERT_OK(td_agg_update(full, &b, kept, nk_rows, &err), &err);
  int64_t before = td_agg_group_count(a);
  uint32_t *groups;
  int64_t n;
  TD_ASSERT_OK(td_agg_take_changed(a, &groups, &n, &err), &err);
  td_free(groups);
  uint32_t *redo;
  int64_t n_redo;
  TD_ASSERT_OK(td_agg_retract(a, r, 0, companion, &redo, &n_redo, &err), &err);
  assert_true(n_redo > 0 && n_redo < before); /* some groups only */
  for (int64_t i = 1; i < n_redo; i++) assert_true(redo[i - 1] < redo[i]);
  TD_ASSERT_OK(td_agg_take_changed(a, &groups, &n, &err), &err);
  assert_int_equal(n, before); /* the removed range touched every group */
  td_free(groups);
  TD_ASSERT_OK(td_agg_reset_groups(a, full, redo, n_redo, &err), &err);
  td_free(redo);
  int64_t *dropped, n_dropped;
  TD_ASSERT_OK(td_agg_drop_empty(&a, 0, &dropped, &n_dropped, &err), &err);
  assert_true(n_dropped >= 1); /* the groups of key 2 */
  assert_int_equal(td_agg_group_count(a), before - n_dropped);
  td_free(dropped);
  same_groups(a, full, nk);
  /* Retracting rows a group does not have is refused. */
  td_agg *empty;
  TD_ASSERT_OK(td_agg_create(keys, nk, rspecs, NRSPEC, &empty, &err), &err);
  assert_int_equal(td_agg_retract(empty, r, 0, companion, &redo, &n_redo, &err), TD_EINVAL);
  assert_int_equal(td_agg_retract(a, r, 1, companion, &redo, &n_redo, &err), TD_EINVAL); /* 1 is not count(*) */
  td_agg_free(empty);
  td_agg_free(a);
  td_agg_free(r);
  td_agg_free(full);
  free(gone);
  free(kept);
  unmake(&d);
}

static void test_agg_retract(void **state) {
  (void)state;
  td_agg_key k_int = {0, TD_TYPE_INT32}, k_two[2] = {{0, TD_TYPE_INT32}, {1, TD_TYPE_UTF8}};
  for (unsigned seed = 1; seed <= 3; seed++) {
    run_retract(&k_int, 1, seed);
    run_retract(k_two, 2, seed);
  }
}

/* Float sums with infinities and decimal sums: a non-finite sum is listed
 * for recomputing; a decimal sum subtracts exactly. */
static void test_agg_retract_special(void **state) {
  (void)state;
  td_error err;
  td_array f, dcm;
  TD_ASSERT_OK(td_array_init(&f, TD_TYPE_FLOAT64, 4, &err), &err);
  TD_ASSERT_OK(td_array_init(&dcm, TD_TYPE_DECIMAL128, 4, &err), &err);
  double fv[4] = {1.5, INFINITY, 2.0, 4.0};
  for (int i = 0; i < 4; i++) {
    TD_ASSERT_OK(td_array_append_double(&f, fv[i], &err), &err);
    td_value v = td_dec_value(38, 2, (td_i128)(i + 1) * 12345);
    TD_ASSERT_OK(td_array_append_value(&dcm, &v, &err), &err);
  }
  td_colview v[2] = {td_builder_view(&f), td_builder_view(&dcm)};
  const td_agg_spec sp[] = {{TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_SUM, 0, TD_TYPE_FLOAT64},
                            {TD_AGG_COUNT, 0, TD_TYPE_FLOAT64},   {TD_AGG_SUM, 1, TD_TYPE_DECIMAL128},
                            {TD_AGG_COUNT, 1, TD_TYPE_DECIMAL128}};
  const int64_t comp[] = {-1, 2, -1, 4, -1};
  td_agg *a, *r;
  TD_ASSERT_OK(td_agg_create(NULL, 0, sp, 5, &a, &err), &err);
  TD_ASSERT_OK(td_agg_create(NULL, 0, sp, 5, &r, &err), &err);
  td_agg_set_decimal_scale(a, 3, 2);
  td_agg_set_decimal_scale(r, 3, 2);
  td_batch b = {4, v, NULL, NULL, 0};
  uint32_t gone[] = {1, 3};
  TD_ASSERT_OK(td_agg_update(a, &b, NULL, 0, &err), &err);
  TD_ASSERT_OK(td_agg_update(r, &b, gone, 2, &err), &err);
  uint32_t *redo;
  int64_t n_redo;
  TD_ASSERT_OK(td_agg_retract(a, r, 0, comp, &redo, &n_redo, &err), &err);
  assert_int_equal(n_redo, 1); /* inf - inf: the global group is recomputed */
  td_free(redo);
  td_array out[5];
  TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
  td_colview cnt = td_builder_view(&out[0]), dsum = td_builder_view(&out[3]);
  assert_int_equal(td_colview_int(&cnt, 0), 2);
  td_value ds = td_colview_value(&dsum, 0);
  assert_true(td_dec_of(&ds) == (td_i128)(1 + 3) * 12345); /* rows 0 and 2 */
  for (int c = 0; c < 5; c++) td_array_reset(&out[c]);
  td_agg_free(a);
  td_agg_free(r);
  td_array_reset(&f);
  td_array_reset(&dcm);
}

static void test_agg_random(void **state) {
  (void)state;
  td_agg_key k_int = {0, TD_TYPE_INT32}, k_str = {1, TD_TYPE_UTF8}, k_i64 = {2, TD_TYPE_INT64};
  td_agg_key two[2] = {k_int, k_str};
  for (unsigned seed = 1; seed <= 3; seed++) {
    run_case(&k_int, 1, 0, seed);
    run_case(&k_int, 1, 1, seed);
    run_case(&k_str, 1, 1, seed);
    run_case(&k_i64, 1, 0, seed);
    run_case(two, 2, 1, seed);
    run_case(NULL, 0, 1, seed);
    run_case(NULL, 0, 0, seed);
  }
}

static void test_agg_global_empty(void **state) {
  (void)state;
  td_error err;
  td_agg *a;
  TD_ASSERT_OK(td_agg_create(NULL, 0, specs, NSPEC, &a, &err), &err);
  td_array out[NSPEC];
  TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
  assert_int_equal(out[0].length, 1);
  assert_int_equal(((int64_t *)out[0].values)[0], 0);
  assert_int_equal(((int64_t *)out[1].values)[0], 0);
  for (int c = 2; c < NSPEC; c++) assert_int_equal(out[c].null_count, 1);
  for (int c = 0; c < NSPEC; c++) td_array_reset(&out[c]);
  uint32_t *g;
  int64_t n;
  TD_ASSERT_OK(td_agg_take_changed(a, &g, &n, &err), &err);
  assert_int_equal(n, 1);
  td_free(g);
  td_agg_free(a);
  /* a keyed aggregation over nothing has no groups */
  td_agg_key k = {0, TD_TYPE_INT32};
  TD_ASSERT_OK(td_agg_create(&k, 1, specs, 1, &a, &err), &err);
  TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
  assert_int_equal(out[0].length, 0);
  td_array_reset(&out[0]);
  td_array_reset(&out[1]);
  td_agg_free(a);
  td_agg_spec bad = {TD_AGG_SUM, 0, TD_TYPE_UTF8};
  assert_int_equal(td_agg_create(NULL, 0, &bad, 1, &a, &err), TD_ETYPE);
}

/* A global min/max of int64 rows without nulls (four chains, combined at
 * the end): every length 0..13 and 100, the extremes at every position,
 * INT64_MIN/INT64_MAX among the values, and a second batch that does or
 * does not beat the first. */
static void test_agg_global_minmax(void **state) {
  (void)state;
  td_error err;
  const td_agg_spec mm[2] = {{TD_AGG_MIN, 0, TD_TYPE_INT64}, {TD_AGG_MAX, 0, TD_TYPE_INT64}};
  int64_t lens[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 100};
  for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
    int64_t n = lens[li];
    for (int64_t lo = 0; lo < n; lo++)
      for (int64_t hi = 0; hi < n; hi += (n > 13 ? 7 : 1)) {
        if (hi == lo && n > 1) continue;
        for (int big = 0; big < 2; big++) {
          td_array arr;
          TD_ASSERT_OK(td_array_init(&arr, TD_TYPE_INT64, n, &err), &err);
          for (int64_t i = 0; i < n; i++) {
            int64_t v = i == lo ? (big ? INT64_MIN : -50) : i == hi ? (big ? INT64_MAX : 50) : (i * 7) % 31 - 15;
            TD_ASSERT_OK(td_array_append_int(&arr, v, &err), &err);
          }
          struct ArrowArray x;
          td_colview cv;
          TD_ASSERT_OK(td_array_export(&arr, &x, &err), &err);
          TD_ASSERT_OK(td_colview_init(&cv, TD_TYPE_INT64, &x, &err), &err);
          td_agg *a;
          TD_ASSERT_OK(td_agg_create(NULL, 0, mm, 2, &a, &err), &err);
          td_batch b = {n, &cv, NULL, NULL, 0};
          TD_ASSERT_OK(td_agg_update(a, &b, NULL, 0, &err), &err);
          /* again: the state's extremes are kept unless beaten */
          TD_ASSERT_OK(td_agg_update(a, &b, NULL, 0, &err), &err);
          td_array out[2];
          TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
          int64_t want_lo = big ? INT64_MIN : -50;
          int64_t want_hi = n == 1 ? want_lo : big ? INT64_MAX : 50;
          assert_int_equal(((int64_t *)out[0].values)[0], want_lo);
          assert_int_equal(((int64_t *)out[1].values)[0], want_hi);
          assert_int_equal(out[0].null_count, 0);
          td_array_reset(&out[0]);
          td_array_reset(&out[1]);
          td_agg_free(a);
          td_arrow_array_release(&x);
        }
      }
  }
}

static void test_agg_changed_and_consts(void **state) {
  (void)state;
  data d;
  make(&d, 7, 0);
  td_error err;
  td_agg_key k = {0, TD_TYPE_INT32};
  td_agg_spec s[2] = {{TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_SUM, 2, TD_TYPE_INT64}};
  td_agg *a;
  TD_ASSERT_OK(td_agg_create(&k, 1, s, 2, &a, &err), &err);
  td_batch b = {N, d.v, NULL, NULL, 0};
  TD_ASSERT_OK(td_agg_update(a, &b, NULL, 0, &err), &err);
  uint32_t *g;
  int64_t n;
  TD_ASSERT_OK(td_agg_take_changed(a, &g, &n, &err), &err);
  assert_int_equal(n, td_agg_group_count(a));
  td_free(g);
  TD_ASSERT_OK(td_agg_take_changed(a, &g, &n, &err), &err);
  assert_int_equal(n, 0);
  assert_null(g);
  /* update two rows: only their groups change */
  uint32_t rows[2] = {5, 9};
  TD_ASSERT_OK(td_agg_update(a, &b, rows, 2, &err), &err);
  TD_ASSERT_OK(td_agg_take_changed(a, &g, &n, &err), &err);
  bool same = td_colview_int(&d.v[0], 5) == td_colview_int(&d.v[0], 9);
  assert_int_equal(n, same ? 1 : 2);
  td_array out[3];
  TD_ASSERT_OK(td_agg_result_groups(a, g, n, out, &err), &err);
  assert_int_equal(out[0].length, n);
  for (int c = 0; c < 3; c++) td_array_reset(&out[c]);
  td_free(g);
  /* a constant key column (partition column) */
  td_value consts[5];
  for (int c = 0; c < 5; c++) consts[c] = td_value_null(TD_TYPE_NONE);
  consts[0] = td_value_int(TD_TYPE_INT32, 1000);
  consts[2] = td_value_int(TD_TYPE_INT64, 2);
  td_batch cb = {10, d.v, consts, NULL, 0};
  int64_t before = td_agg_group_count(a);
  TD_ASSERT_OK(td_agg_update(a, &cb, NULL, 0, &err), &err);
  assert_int_equal(td_agg_group_count(a), before + 1);
  TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
  assert_int_equal(((int32_t *)out[0].values)[before], 1000);
  assert_int_equal(((int64_t *)out[1].values)[before], 10);
  assert_int_equal(((int64_t *)out[2].values)[before], 20);
  for (int c = 0; c < 3; c++) td_array_reset(&out[c]);
  td_agg_free(a);
  unmake(&d);
}

static void test_agg_alloc_failures(void **state) {
  (void)state;
  data d;
  make(&d, 11, 1);
  td_error err;
  td_agg_key keys[2] = {{0, TD_TYPE_INT32}, {1, TD_TYPE_UTF8}};
  td_batch b = {N, d.v, NULL, NULL, 0};
  for (int64_t k = 0;; k++) {
    td_agg *a = NULL;
    td_array out[2 + NSPEC];
    memset(out, 0, sizeof out);
    td__alloc_fail_after(k);
    int rc = td_agg_create(keys, 2, specs, NSPEC, &a, &err);
    if (!rc) rc = td_agg_update(a, &b, NULL, 0, &err);
    if (!rc) rc = td_agg_result(a, out, &err);
    td__alloc_fail_after(-1);
    for (int c = 0; c < 2 + NSPEC; c++) td_array_reset(&out[c]);
    td_agg_free(a);
    if (rc == TD_OK) break;
    assert_int_equal(rc, TD_ENOMEM);
  }
  unmake(&d);
}

/* ---- fast paths: one int64 or utf8 key, fused single aggregates ---- */

enum { NF = 5000 };

/* Keys of at most 8 bytes go through the short-key index: include empty,
 * embedded and trailing NULs, 8 bytes ending in a byte < 8, and longer. */
static const struct {
  const char *s;
  int len;
} fkeys[] = {{"", 0},         {"a", 1},         {"ab", 2},         {"ab\0", 3},
             {"ab\0\0", 4},   {"abcdefg", 7},   {"abcdefgh", 8},   {"abcdefg\7", 8},
             {"abcdefghi", 9}, {"a longer string key", 19}, {"\xff\xff\xff\xff\xff\xff\xff\xff", 8},
             {"\7", 1}};
enum { NFKEYS = sizeof fkeys / sizeof *fkeys };

/* An int64 key: mostly a small range, with jumps that move or outgrow the
 * direct map, extremes; `mode` 1: ascending keys (many remaps); `mode` 2:
 * runs of new ascending keys (the map makes their groups ahead of the loop,
 * int_miss_ahead) broken by a known key, a key far outside the map and the
 * nulls of make_fast. */
static int64_t fast_int_key(int mode, int i) {
  if (mode == 1) return 1000 + i / 3;
  if (mode == 2) return i % 61 == 60 ? 1000 + i / 2 : i % 97 == 96 ? 1000 + 90000 + i : 1000 + i;
  int r = rand() % 100;
  if (r < 75) return 1000 + rand() % 16;
  if (r < 82) return 1000 + 3000 + rand() % 8;
  if (r < 88) return 1000 + 70000 + rand() % 4;
  if (r < 92) return -5 + rand() % 5;
  if (r < 99) return r == 92 ? INT64_MIN : r == 93 ? INT64_MAX : 1000 + rand() % 16;
  return (int64_t)((uint64_t)rand() << 33) + 1000;
}

/* columns: 0 int64 key, 1 utf8 key, 2 int64 value, 3 float64 value (NaN,
 * infinities, -0.0), 4 utf8 value.  Nulls: bit 0 keys, bit 1 values. */
static void make_fast(data *d, unsigned seed, int nulls, int mode) {
  srand(seed);
  td_error err;
  td_type_id t[5] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  for (int c = 0; c < 5; c++) {
    td_array a;
    TD_ASSERT_OK(td_array_init(&a, t[c], NF, &err), &err);
    bool nul = (nulls & (c < 2 ? 1 : 2)) != 0;
    bool null_2500 = false;
    int64_t key_2500 = 0;
    for (int i = 0; i < NF; i++) {
      int rc;
      /* rows 2500..2599 share one key (a batch of run_fast with a constant key) */
      bool same = c < 2 && i > 2500 && i < 2600;
      bool is_null = same ? null_2500 : nul && rand() % 9 == 0;
      if (i == 2500) null_2500 = is_null;
      if (is_null) {
        rc = td_array_append_null(&a, &err);
      } else if (c == 0) {
        int64_t k = same ? key_2500 : fast_int_key(mode, i);
        if (i == 2500) key_2500 = k;
        rc = td_array_append_int(&a, k, &err);
      } else if (c == 1) {
        int k = same ? (int)key_2500 : rand() % (mode == 1 ? NFKEYS + 40 : NFKEYS);
        if (i == 2500) key_2500 = k;
        char buf[32];
        /* mode 3: rows 300..2499 (one batch of run_fast) mostly long keys,
         * more than 8 bytes on average (hashed a chunk at a time, map_multi),
         * beside the short keys the other batches look up in the index */
        if (mode == 3 && i >= 300 && i < 2500 && !same && rand() % 4)
          rc = td_array_append_str(&a, buf, snprintf(buf, sizeof buf, "a long key, number %d", k % 37), &err);
        else if (k < NFKEYS) rc = td_array_append_str(&a, fkeys[k].s, fkeys[k].len, &err);
        else rc = td_array_append_str(&a, buf, snprintf(buf, sizeof buf, "k%d", k), &err);
      } else if (c == 2) {
        rc = td_array_append_int(&a, rand() % 50 == 0 ? (int64_t)1e15 : rand() % 2001 - 1000, &err);
      } else if (c == 3) {
        int r = rand() % 200;
        double v = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : r == 3 ? -0.0 : (rand() % 100) / 4.0 - 10;
        rc = td_array_append_double(&a, v, &err);
      } else {
        const char *s = strs[rand() % 5];
        rc = td_array_append_str(&a, s, (int64_t)strlen(s), &err);
      }
      TD_ASSERT_OK(rc, &err);
    }
    TD_ASSERT_OK(td_array_export(&a, &d->arr[c], &err), &err);
    TD_ASSERT_OK(td_colview_init(&d->v[c], t[c], &d->arr[c], &err), &err);
  }
}

static const td_agg_spec fspecs[] = {
    {TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_COUNT, 2, TD_TYPE_INT64},
    {TD_AGG_COUNT, 4, TD_TYPE_UTF8},       {TD_AGG_SUM, 2, TD_TYPE_INT64},
    {TD_AGG_SUM, 3, TD_TYPE_FLOAT64},      {TD_AGG_AVG, 2, TD_TYPE_INT64},
    {TD_AGG_AVG, 3, TD_TYPE_FLOAT64},      {TD_AGG_MIN, 2, TD_TYPE_INT64},
    {TD_AGG_MAX, 2, TD_TYPE_INT64},        {TD_AGG_MIN, 3, TD_TYPE_FLOAT64},
    {TD_AGG_MAX, 3, TD_TYPE_FLOAT64},      {TD_AGG_MIN, 4, TD_TYPE_UTF8},
    {TD_AGG_FIRST, 3, TD_TYPE_FLOAT64},    {TD_AGG_LAST, 2, TD_TYPE_INT64},
};
enum { NFSPEC = sizeof fspecs / sizeof *fspecs };

static bool float_close(td_value want, td_value got) {
  if (want.is_null || got.is_null) return want.is_null == got.is_null;
  double w = want.v.f, g = got.v.f;
  if (isnan(w) || isnan(g) || isinf(w) || isinf(g)) return val_eq(want, got);
  double tol = 1e-9 * (fabs(w) > 1 ? fabs(w) : 1);
  return fabs(w - g) <= tol;
}

/* Index among the first n values of v equal to k, or -1; searched from *hint
 * (the previous answer) onwards, wrapping around. */
static int64_t find_group(const td_colview *v, int64_t n, td_value k, int64_t *hint) {
  for (int64_t i = 0; i < n; i++) {
    int64_t g = (*hint + i) % n;
    if (val_eq(td_colview_value(v, g), k)) return *hint = g;
  }
  return -1;
}

/* Checks result (first-seen order, keys, aggregates sp[0..ns-1]) against the
 * reference over rows[0..n-1] (row order = input order). */
static void check_fast(td_agg *a, const data *d, const td_agg_key *key, const uint32_t *rows,
                       int64_t n, const td_agg_spec *sp, int ns) {
  td_error err;
  td_array out[1 + NFSPEC];
  TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
  int64_t ng = td_agg_group_count(a);
  td_colview v[1 + NFSPEC];
  struct ArrowArray arr[1 + NFSPEC];
  for (int c = 0; c < 1 + ns; c++) {
    assert_int_equal(out[c].length, ng);
    TD_ASSERT_OK(td_array_export(&out[c], &arr[c], &err), &err);
    TD_ASSERT_OK(td_colview_init(&v[c], td_agg_output_type(a, c), &arr[c], &err), &err);
  }
  /* groups = distinct keys in first-seen order; rows bucketed by group */
  int64_t expect = 0, hint = 0;
  int64_t *gof = malloc((size_t)(n + 1) * sizeof *gof), *start = calloc((size_t)ng + 2, sizeof *start);
  uint32_t *bucket = malloc((size_t)(n + 1) * sizeof *bucket);
  for (int64_t j = 0; j < n; j++) {
    td_value k = td_colview_value(&d->v[key->column], rows[j]);
    int64_t g = find_group(&v[0], expect, k, &hint);
    if (g < 0) {
      if (expect >= ng) fail_msg("row %lld: key not in the result", (long long)rows[j]);
      if (!val_eq(td_colview_value(&v[0], expect), k)) fail_msg("group %lld: wrong key or order", (long long)expect);
      g = expect++;
    }
    gof[j] = g;
    start[g + 1]++;
  }
  assert_int_equal(ng, expect);
  for (int64_t g = 0; g < ng; g++) start[g + 1] += start[g];
  for (int64_t j = 0; j < n; j++) bucket[start[gof[j]]++] = rows[j];
  for (int64_t g = ng; g > 0; g--) start[g] = start[g - 1];
  start[0] = 0;
  for (int64_t g = 0; g < ng; g++) {
    td_value gk = td_colview_value(&v[0], g);
    for (int s = 0; s < ns; s++) {
      td_value want = reference(d, key, 1, bucket + start[g], start[g + 1] - start[g], &gk, &sp[s]);
      td_value got = td_colview_value(&v[1 + s], g);
      bool ok = got.type == TD_TYPE_FLOAT64 ? float_close(want, got) : val_eq(want, got);
      if (!ok) fail_msg("group %lld aggregate %d (kind %d col %lld) differs", (long long)g, s, (int)sp[s].kind, (long long)sp[s].column);
    }
  }
  free(gof);
  free(start);
  free(bucket);
  for (int c = 0; c < 1 + ns; c++) arr[c].release(&arr[c]);
}

/* Value i of an owned int64, float64 or utf8 array. */
static td_value arr_value(const td_array *a, int64_t i) {
  if (a->validity && !td_bit_get(a->validity, i)) return td_value_null(a->type);
  if (a->type == TD_TYPE_INT64) return td_value_int(TD_TYPE_INT64, ((const int64_t *)a->values)[i]);
  if (a->type == TD_TYPE_FLOAT64) return td_value_double(TD_TYPE_FLOAT64, ((const double *)a->values)[i]);
  assert_int_equal(a->type, TD_TYPE_UTF8);
  td_value v = td_value_null(TD_TYPE_UTF8);
  v.is_null = false;
  v.v.s.ptr = a->data + a->offsets[i];
  v.v.s.len = (size_t)(a->offsets[i + 1] - a->offsets[i]);
  return v;
}

/* Checks that the changed groups are exactly those whose key is in rows. */
static void check_changed(td_agg *a, const data *d, const td_agg_key *key, const uint32_t *rows,
                          int64_t n, int ns) {
  td_error err;
  uint32_t *g;
  int64_t ng;
  TD_ASSERT_OK(td_agg_take_changed(a, &g, &ng, &err), &err);
  td_array out[1 + NFSPEC];
  TD_ASSERT_OK(td_agg_result_groups(a, g, ng, out, &err), &err);
  for (int64_t i = 1; i < ng; i++) assert_true(g[i - 1] < g[i]);
  bool *hit = calloc((size_t)ng + 1, 1);
  int64_t hint = 0;
  for (int64_t j = 0; j < n; j++) {
    td_value k = td_colview_value(&d->v[key->column], rows[j]);
    int64_t i = 0;
    for (; i < ng; i++)
      if (val_eq(arr_value(&out[0], (hint + i) % ng), k)) break;
    if (i == ng) fail_msg("row %lld changed a group not reported", (long long)rows[j]);
    hint = (hint + i) % ng;
    hit[hint] = true;
  }
  for (int64_t i = 0; i < ng; i++)
    if (!hit[i]) fail_msg("group %u reported changed but not touched", g[i]);
  free(hit);
  td_free(g);
  for (int c = 0; c < 1 + ns; c++) td_array_reset(&out[c]);
}

/* Feeds the rows to an aggregation of sp[0..ns-1] by `key` in batches (views
 * with offsets), with or without selection vectors (shuffled when `shuffle`);
 * batch 3 has a constant key when `consts` (its rows hold that key). */
static void run_fast(const data *d, const td_agg_key *key, const td_agg_spec *sp, int ns,
                     bool use_sel, bool shuffle, bool consts) {
  td_error err;
  td_agg *a;
  TD_ASSERT_OK(td_agg_create(key, 1, sp, ns, &a, &err), &err);
  const int64_t cuts[] = {0, 1, 300, 2500, 2600, 4999, NF};
  const int nb = sizeof cuts / sizeof *cuts - 1;
  uint32_t *rows = malloc(NF * sizeof *rows), *sel = malloc(NF * sizeof *sel);
  int64_t n = 0;
  for (int c = 0; c < nb; c++) {
    int64_t len = cuts[c + 1] - cuts[c], m = 0;
    for (int64_t i = 0; i < len; i++)
      if (!use_sel || rand() % 4) sel[m++] = (uint32_t)i;
    if (shuffle)
      for (int64_t i = m - 1; i > 0; i--) {
        int64_t k = rand() % (i + 1);
        uint32_t t = sel[i];
        sel[i] = sel[k];
        sel[k] = t;
      }
    td_colview v[5];
    for (int k = 0; k < 5; k++) {
      v[k] = d->v[k];
      v[k].offset += cuts[c];
      v[k].length = len;
    }
    td_value cv[5];
    for (int k = 0; k < 5; k++) cv[k] = td_value_null(TD_TYPE_NONE);
    bool is_const = consts && c == 3;
    if (is_const) cv[key->column] = td_colview_value(&d->v[key->column], cuts[c]);
    td_batch b = {len, v, is_const ? cv : NULL, NULL, 0};
    TD_ASSERT_OK(td_agg_update(a, &b, use_sel ? sel : NULL, m, &err), &err);
    for (int64_t i = 0; i < m; i++) rows[n + i] = sel[i] + (uint32_t)cuts[c];
    check_changed(a, d, key, rows + n, m, ns);
    n += m;
  }
  check_fast(a, d, key, rows, n, sp, ns);
  td_agg_free(a);
  free(rows);
  free(sel);
}

static void test_agg_fast_paths(void **state) {
  (void)state;
  td_agg_key k_int = {0, TD_TYPE_INT64}, k_str = {1, TD_TYPE_UTF8};
  for (int mode = 0; mode < 4; mode++) {
    for (int nulls = 0; nulls < 4; nulls += mode == 2 ? 3 : 1) { /* (mode 2: none, or keys and values) */
      data d;
      make_fast(&d, 100 + (unsigned)(nulls + 4 * mode), nulls, mode);
      /* (mode 2 changes the int64 key only, mode 3 the string key only) */
      for (int kk = mode == 3 ? 1 : 0; kk < (mode == 2 ? 1 : 2); kk++) {
        const td_agg_key *key = kk ? &k_str : &k_int;
        for (int opt = 0; opt < 4; opt++) {
          bool use_sel = opt >= 1, shuffle = opt == 2, consts = opt == 3;
          if (shuffle && mode >= 1) continue; /* the checks would be quadratic */
          /* each aggregate alone (fused loops), then all together; mode 2
           * (thousands of groups: slow checks) a fused sum and all */
          for (int s = 0; s < NFSPEC; s++)
            if (mode < 2 || s == 3) run_fast(&d, key, &fspecs[s], 1, use_sel, shuffle, consts);
          run_fast(&d, key, fspecs, NFSPEC, use_sel, shuffle, consts);
        }
      }
      unmake(&d);
    }
  }
}

/* Allocation failures on the fast paths (direct map remaps, short-key
 * index growth, group growth in the middle of a fused loop). */
static void fast_alloc_failures(int mode) {
  data d;
  make_fast(&d, 5, 3, mode);
  td_error err;
  td_agg_key keys[2] = {{0, TD_TYPE_INT64}, {1, TD_TYPE_UTF8}};
  for (int kk = 0; kk < (mode == 2 ? 1 : 2); kk++)
    for (int ns = 1; ns <= NFSPEC; ns += NFSPEC - 1)
      for (int64_t k = 0;; k++) {
        td_agg *a = NULL;
        td_array out[1 + NFSPEC];
        memset(out, 0, sizeof out);
        td_batch b = {1500, d.v, NULL, NULL, 0};
        td__alloc_fail_after(k);
        int rc = td_agg_create(&keys[kk], 1, fspecs + (ns == 1 ? 3 : 0), ns, &a, &err);
        if (!rc) rc = td_agg_update(a, &b, NULL, 0, &err);
        if (!rc) rc = td_agg_result(a, out, &err);
        td__alloc_fail_after(-1);
        for (int c = 0; c < 1 + ns; c++) td_array_reset(&out[c]);
        td_agg_free(a);
        if (rc == TD_OK) break;
        assert_int_equal(rc, TD_ENOMEM);
      }
  unmake(&d);
}

static void test_agg_fast_alloc_failures(void **state) {
  (void)state;
  for (int mode = 0; mode < 3; mode += 2) /* mode 2: groups made ahead of the loop (int_miss_ahead) */
    fast_alloc_failures(mode);
}

/* ---- wide dense integer keys, merges ---- */

enum { DN = 150000, DM = 75000 }; /* rows, distinct non-null keys (> the 64k direct map) */

/* Row i of the dense table: key (null every 1001st row), value, distinct input. */
static bool dense_null(int64_t i) { return i % 1001 == 1000; } /* every key on some row */
static int64_t dense_key(int64_t i) { return -50000 + (i * 7919) % DM; } /* every key in a scattered order */
static int64_t dense_x(int64_t i) { return i % 7 - 3; }
static double dense_y(int64_t i) { return (double)(i % 11) - 5; } /* -0.0 never, 0.0 often */

/* Folds rows [r0, r1) into a, in batches of 4096 (every other one through
 * a selection vector keeping every row). */
static void dense_fold(td_agg *a, const td_colview *v, int64_t r0, int64_t r1) {
  static uint32_t sel[4096];
  td_error err;
  for (int64_t b = r0; b < r1; b += 4096) {
    int64_t len = r1 - b < 4096 ? r1 - b : 4096;
    td_colview w[3];
    for (int c = 0; c < 3; c++) {
      w[c] = v[c];
      w[c].offset += b;
      w[c].length = len;
    }
    for (int64_t i = 0; i < len; i++) sel[i] = (uint32_t)i;
    td_batch bt = {len, w, NULL, NULL, 0};
    bool use_sel = (b / 4096) % 2 == 1;
    TD_ASSERT_OK(td_agg_update(a, &bt, use_sel ? sel : NULL, len, &err), &err);
  }
}

/* Checks a's groups: keys in first-seen order over rows [0, DN), counts,
 * sums and distinct counts per key. */
static void dense_check(td_agg *a, int ns) {
  td_error err;
  assert_int_equal(td_agg_group_count(a), DM + 1);
  td_array out[4];
  TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
  int64_t *cnt = calloc(DM + 1, sizeof *cnt), *sum = calloc(DM + 1, sizeof *sum);
  int64_t *order = malloc((DM + 1) * sizeof *order);
  uint32_t *ymask = calloc(DM + 1, sizeof *ymask); /* distinct y values of a key (11 bits) */
  int64_t seen = 0;
  for (int64_t i = 0; i < DN; i++) {
    int64_t k = dense_null(i) ? DM : dense_key(i) + 50000;
    if (cnt[k]++ == 0) order[seen++] = k;
    sum[k] += dense_x(i);
    ymask[k] |= 1u << (int)(dense_y(i) + 5);
  }
  assert_int_equal(seen, DM + 1);
  for (int64_t g = 0; g < seen; g++) {
    int64_t k = order[g];
    td_value key = arr_value(&out[0], g);
    if (k == DM) assert_true(key.is_null);
    else if (key.is_null || key.v.i != k - 50000) fail_msg("group %lld: key %lld, expected %lld", (long long)g, (long long)key.v.i, (long long)(k - 50000));
    if (arr_value(&out[1], g).v.i != cnt[k]) fail_msg("group %lld: count differs", (long long)g);
    if (arr_value(&out[2], g).v.i != sum[k]) fail_msg("group %lld: sum differs", (long long)g);
    if (ns == 3 && arr_value(&out[3], g).v.i != __builtin_popcount(ymask[k]))
      fail_msg("group %lld: count(DISTINCT) %lld, expected %d", (long long)g, (long long)arr_value(&out[3], g).v.i,
               __builtin_popcount(ymask[k]));
  }
  for (int c = 0; c < 1 + ns; c++) td_array_reset(&out[c]);
  free(cnt);
  free(sum);
  free(order);
  free(ymask);
}

/* One int64 key over a wide, dense range (more groups than the 64k direct
 * map; the map follows the range while it stays dense), nulls as a group,
 * count(*), sum, count(DISTINCT float64): one state, then two and four
 * partial states merged in order (td_agg_merge: the direct map of the
 * target, the distinct sets in bulk) give the same groups in the same order. */
static void test_agg_dense_keys(void **state) {
  (void)state;
  td_error err;
  td_type_id t[3] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64};
  struct ArrowArray arr[3];
  td_colview v[3];
  for (int c = 0; c < 3; c++) {
    td_array a;
    TD_ASSERT_OK(td_array_init(&a, t[c], DN, &err), &err);
    for (int64_t i = 0; i < DN; i++) {
      int rc = c == 0 && dense_null(i) ? td_array_append_null(&a, &err)
               : c == 0                ? td_array_append_int(&a, dense_key(i), &err)
               : c == 1                ? td_array_append_int(&a, dense_x(i), &err)
                                       : td_array_append_double(&a, dense_y(i), &err);
      TD_ASSERT_OK(rc, &err);
    }
    TD_ASSERT_OK(td_array_export(&a, &arr[c], &err), &err);
    TD_ASSERT_OK(td_colview_init(&v[c], t[c], &arr[c], &err), &err);
  }
  td_agg_key key = {0, TD_TYPE_INT64};
  const td_agg_spec sp[3] = {{TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_SUM, 1, TD_TYPE_INT64},
                             {TD_AGG_COUNT_DISTINCT, 2, TD_TYPE_FLOAT64}};
  for (int ns = 2; ns <= 3; ns++)
    for (int parts = 1; parts <= 4; parts *= 2) {
      td_agg *a[4];
      for (int p = 0; p < parts; p++) {
        TD_ASSERT_OK(td_agg_create(&key, 1, sp, ns, &a[p], &err), &err);
        dense_fold(a[p], v, DN / parts * p, p == parts - 1 ? DN : DN / parts * (p + 1));
      }
      for (int p = 1; p < parts; p++) {
        TD_ASSERT_OK(td_agg_merge(a[0], a[p], &err), &err);
        td_agg_free(a[p]);
      }
      dense_check(a[0], ns);
      td_agg_free(a[0]);
    }
  /* allocation failures while merging (the map of distinct sets, new groups) */
  for (int64_t k = 0;; k++) {
    td_agg *a = NULL, *b = NULL;
    TD_ASSERT_OK(td_agg_create(&key, 1, sp, 3, &a, &err), &err);
    TD_ASSERT_OK(td_agg_create(&key, 1, sp, 3, &b, &err), &err);
    dense_fold(a, v, 0, 8000); /* small: every k folds them again (valgrind runs this) */
    dense_fold(b, v, 8000, 24000);
    td__alloc_fail_after(k);
    int rc = td_agg_merge(a, b, &err);
    td__alloc_fail_after(-1);
    td_agg_free(a);
    td_agg_free(b);
    if (rc == TD_OK) break;
    assert_int_equal(rc, TD_ENOMEM);
  }
  for (int c = 0; c < 3; c++) arr[c].release(&arr[c]);
}

/* One int64 key whose direct map is the only index of its range (lazy hash
 * table): batches of dense keys, wider ranges that move the map, sparse far
 * keys it leaves to the table, nulls, constant-key batches (a partition
 * column: the table is completed) and a second state merged in: groups in
 * first-seen order with their counts, as a naive reference has them. */
enum { LBATCH = 14, LROWS = 3000 };
static bool lazy_null(int b, int64_t i) { return (i + b) % 17 == 0; }
static int64_t lazy_key(int b, int64_t i) {
  switch (b % 4) {
    case 0: return (i * 37) % 5000;
    case 1: return -70000 + (i * 13) % 90000;
    case 2: return b > 6 ? 1000000000000LL + i % 50 : 100000 + (i % 4000) * 3;
    default: return i % 97 - 200;
  }
}

static void test_agg_lazy_table(void **state) {
  (void)state;
  td_error err;
  for (int consts = 0; consts < 2; consts++) {
    td_agg_key key = {0, TD_TYPE_INT64};
    const td_agg_spec sp = {TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE};
    td_agg *st[2];
    for (int i = 0; i < 2; i++) TD_ASSERT_OK(td_agg_create(&key, 1, &sp, 1, &st[i], &err), &err);
    int64_t *rk = malloc(LBATCH * LROWS * sizeof *rk), *rc = calloc(LBATCH * LROWS, sizeof *rc), nr = 0;
    bool *rn = calloc(LBATCH * LROWS, sizeof *rn);
    for (int b = 0; b < LBATCH; b++) {
      const bool cb = consts && b % 5 == 4; /* one constant key for the whole batch */
      td_array col;
      TD_ASSERT_OK(td_array_init(&col, TD_TYPE_INT64, LROWS, &err), &err);
      for (int64_t i = 0; i < LROWS; i++) {
        const bool nul = !cb && lazy_null(b, i);
        const int64_t k = cb ? 42 + b : lazy_key(b, i); /* a key the map knows */
        TD_ASSERT_OK(nul ? td_array_append_null(&col, &err) : td_array_append_int(&col, k, &err), &err);
        int64_t g = 0;
        while (g < nr && !(rn[g] == nul && (nul || rk[g] == k))) g++;
        if (g == nr) rk[nr] = k, rn[nr++] = nul;
        rc[g]++;
      }
      struct ArrowArray arr;
      td_colview v;
      TD_ASSERT_OK(td_array_export(&col, &arr, &err), &err);
      TD_ASSERT_OK(td_colview_init(&v, TD_TYPE_INT64, &arr, &err), &err);
      td_value cv = td_value_int(TD_TYPE_INT64, 42 + b);
      td_batch bt = {LROWS, &v, cb ? &cv : NULL, NULL, 0};
      TD_ASSERT_OK(td_agg_update(st[b < 7 ? 0 : 1], &bt, NULL, 0, &err), &err);
      arr.release(&arr);
    }
    TD_ASSERT_OK(td_agg_merge(st[0], st[1], &err), &err);
    td_array out[2];
    TD_ASSERT_OK(td_agg_result(st[0], out, &err), &err);
    assert_int_equal(out[0].length, nr);
    for (int64_t g = 0; g < nr; g++) {
      td_value k = arr_value(&out[0], g), n = arr_value(&out[1], g);
      if (k.is_null != rn[g] || (!rn[g] && k.v.i != rk[g]) || n.v.i != rc[g])
        fail_msg("consts %d, group %lld: key %lld count %lld, expected %lld %lld", consts, (long long)g,
                 (long long)k.v.i, (long long)n.v.i, (long long)rk[g], (long long)rc[g]);
    }
    for (int c = 0; c < 2; c++) td_array_reset(&out[c]);
    for (int i = 0; i < 2; i++) td_agg_free(st[i]);
    free(rk);
    free(rc);
    free(rn);
  }
}

/* One int64 key too sparse for the direct map (every 7th key of a wide
 * range, and far negative ones): the fused loops probe the hash table
 * inline, with the table slots of rows ahead prefetched, and the merge of a
 * large state prefetches too.  Keys repeat across batches (found in the
 * table, not made), some rows are null keys, some batches go through a
 * selection; bulk (untracked) and tracked states, merged by one and two
 * workers: each group's count and sum as a naive reference has them. */
enum { SBATCH = 6, SROWS = 40000, SKEYS = 90000 };
static int64_t sparse_key(int b, int64_t i) {
  const int64_t k = (i * 7919 + b * 104729) % SKEYS;
  return k % 5 == 4 ? -((int64_t)1 << 40) - k * 13 : k * 7;
}

static void test_agg_sparse_int_key(void **state) {
  (void)state;
  td_error err;
  const td_agg_key key = {0, TD_TYPE_INT64};
  const td_agg_spec sp[2] = {{TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_SUM, 1, TD_TYPE_INT64}};
  uint32_t *sel = malloc(SROWS * sizeof *sel);
  for (int mode = 0; mode < 4; mode++) { /* bit 0: bulk; bit 1: merged by two workers */
    td_agg *st[2];
    for (int i = 0; i < 2; i++) {
      TD_ASSERT_OK(td_agg_create(&key, 1, sp, 2, &st[i], &err), &err);
      if (mode & 1) td_agg_set_bulk(st[i], true);
    }
    /* the reference: counts and sums by key index (k in 0..SKEYS), nulls apart */
    int64_t *rc = calloc(SKEYS, sizeof *rc), *rs = calloc(SKEYS, sizeof *rs), nc = 0, ns = 0;
    for (int b = 0; b < SBATCH; b++) {
      td_array kc, vc;
      TD_ASSERT_OK(td_array_init(&kc, TD_TYPE_INT64, SROWS, &err), &err);
      TD_ASSERT_OK(td_array_init(&vc, TD_TYPE_INT64, SROWS, &err), &err);
      const bool use_sel = b % 3 == 2;
      int64_t n_sel = 0;
      for (int64_t i = 0; i < SROWS; i++) {
        const bool nul = (i + b) % 101 == 0;
        TD_ASSERT_OK(nul ? td_array_append_null(&kc, &err) : td_array_append_int(&kc, sparse_key(b, i), &err), &err);
        TD_ASSERT_OK(td_array_append_int(&vc, i % 1000 - 300, &err), &err);
        if (use_sel && i % 3 != 1) sel[n_sel++] = (uint32_t)i;
        else if (use_sel) continue;
        const int64_t k = (i * 7919 + b * 104729) % SKEYS;
        if (nul) nc++, ns += i % 1000 - 300;
        else rc[k]++, rs[k] += i % 1000 - 300;
      }
      struct ArrowArray arr[2];
      td_colview v[2];
      TD_ASSERT_OK(td_array_export(&kc, &arr[0], &err), &err);
      TD_ASSERT_OK(td_array_export(&vc, &arr[1], &err), &err);
      for (int c = 0; c < 2; c++) TD_ASSERT_OK(td_colview_init(&v[c], TD_TYPE_INT64, &arr[c], &err), &err);
      td_batch bt = {SROWS, v, NULL, NULL, 0};
      TD_ASSERT_OK(td_agg_update(st[(mode & 2) && b >= SBATCH / 2], &bt, use_sel ? sel : NULL, n_sel, &err), &err);
      for (int c = 0; c < 2; c++) arr[c].release(&arr[c]);
    }
    if (mode & 2) {
      td__agg_merge_sizes(1 << 10, 1 << 9);
      TD_ASSERT_OK(td_agg_merge_all(st[0], st + 1, 1, 2, &err), &err);
      td__agg_merge_sizes(0, 0);
    }
    TD_ASSERT_OK(td_agg_settle(st[0], &err), &err);
    td_array out[3];
    TD_ASSERT_OK(td_agg_result(st[0], out, &err), &err);
    int64_t seen = 0;
    for (int64_t g = 0; g < out[0].length; g++) {
      td_value k = arr_value(&out[0], g), n = arr_value(&out[1], g), sum = arr_value(&out[2], g);
      int64_t want_n = nc, want_s = ns;
      if (!k.is_null) {
        const int64_t idx = k.v.i >= 0 ? k.v.i / 7 : (-((int64_t)1 << 40) - k.v.i) / 13;
        assert_true(idx >= 0 && idx < SKEYS);
        want_n = rc[idx], want_s = rs[idx];
        rc[idx] = -1; /* each key once */
      }
      if (n.v.i != want_n || sum.v.i != want_s)
        fail_msg("mode %d, group %lld: count %lld sum %lld, expected %lld %lld", mode, (long long)g,
                 (long long)n.v.i, (long long)sum.v.i, (long long)want_n, (long long)want_s);
      seen++;
    }
    int64_t want_groups = nc > 0;
    for (int64_t k = 0; k < SKEYS; k++) want_groups += rc[k] != 0;
    assert_int_equal(seen, want_groups); /* (the groups seen left -1 behind: != 0) */
    assert_true(seen > SKEYS / 2);
    for (int c = 0; c < 3; c++) td_array_reset(&out[c]);
    for (int i = 0; i < 2; i++) td_agg_free(st[i]);
    free(rc);
    free(rs);
  }
  free(sel);
}

/* Bulk mode on a state without groups records no touched groups and lets
 * the "has a value" flags of no-null sums and integer min/max be set when a
 * group is made, not by the loops, until a batch with nulls (or
 * td_agg_settle / a merge) ends it: against a state fed the same batches
 * outside bulk mode, for batch patterns of nulls, keys of each index (int64,
 * utf8, two keys), fused one-aggregate loops and several aggregates, in one
 * state and in partial states merged; after settling, every group is
 * changed once, and a later batch reports the groups it touched. */
enum { UBATCH = 4, UROWS = 3000 };
static void untracked_batch(int b, bool nulls, struct ArrowArray *arr, td_colview *v) {
  td_error err;
  const td_type_id t[4] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64};
  for (int c = 0; c < 4; c++) {
    td_array a;
    TD_ASSERT_OK(td_array_init(&a, t[c], UROWS, &err), &err);
    for (int64_t i = 0; i < UROWS; i++) {
      const int64_t key = (i * 7 + b * 131) % (200 + 150 * b); /* later batches make new groups */
      char buf[24];
      int rc;
      if (c == 0) rc = td_array_append_int(&a, key, &err);
      else if (c == 1) rc = td_array_append_str(&a, buf, snprintf(buf, sizeof buf, "k%lld", (long long)key), &err);
      else if (nulls && key % 5 == 0) rc = td_array_append_null(&a, &err); /* those groups: nulls only */
      else if (c == 2) rc = td_array_append_int(&a, (i * 31 + b) % 1000 - 500, &err);
      else rc = td_array_append_double(&a, (double)((i * 17 + b) % 400) / 4.0, &err);
      TD_ASSERT_OK(rc, &err);
    }
    TD_ASSERT_OK(td_array_export(&a, &arr[c], &err), &err);
    TD_ASSERT_OK(td_colview_init(&v[c], t[c], &arr[c], &err), &err);
  }
}

static void test_agg_untracked(void **state) {
  (void)state;
  td_error err;
  static const char *const patterns[] = {"NNVN", "VNNV", "NNNN", "VVVV", "NVVV"}; /* V: a batch with nulls */
  const td_agg_key keysets[3][2] = {{{0, TD_TYPE_INT64}}, {{1, TD_TYPE_UTF8}}, {{0, TD_TYPE_INT64}, {1, TD_TYPE_UTF8}}};
  const int nkeys[3] = {1, 1, 2};
  const td_agg_spec all[5] = {{TD_AGG_SUM, 2, TD_TYPE_INT64}, {TD_AGG_SUM, 3, TD_TYPE_FLOAT64},
                              {TD_AGG_MIN, 2, TD_TYPE_INT64}, {TD_AGG_MAX, 2, TD_TYPE_INT64},
                              {TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}};
  for (int pi = 0; pi < 5; pi++)
    for (int ki = 0; ki < 3; ki++)
      for (int si = 0; si < 5; si++) { /* one aggregate (the fused loops), or all five */
        const td_agg_spec *sp = si < 4 ? &all[si] : all;
        const int64_t ns = si < 4 ? 1 : 5;
        td_agg *ref, *one, *main, *part;
        TD_ASSERT_OK(td_agg_create(keysets[ki], nkeys[ki], sp, ns, &ref, &err), &err);
        TD_ASSERT_OK(td_agg_create(keysets[ki], nkeys[ki], sp, ns, &one, &err), &err);
        TD_ASSERT_OK(td_agg_create(keysets[ki], nkeys[ki], sp, ns, &main, &err), &err);
        TD_ASSERT_OK(td_agg_create(keysets[ki], nkeys[ki], sp, ns, &part, &err), &err);
        td_agg_set_bulk(one, true);
        td_agg_set_bulk(main, true);
        td_agg_set_bulk(part, true);
        for (int b = 0; b < UBATCH; b++) {
          struct ArrowArray arr[4];
          td_colview v[4];
          untracked_batch(b, patterns[pi][b] == 'V', arr, v);
          td_batch bt = {UROWS, v, NULL, NULL, 0};
          TD_ASSERT_OK(td_agg_update(ref, &bt, NULL, 0, &err), &err);
          TD_ASSERT_OK(td_agg_update(one, &bt, NULL, 0, &err), &err);
          TD_ASSERT_OK(td_agg_update(b < 2 ? main : part, &bt, NULL, 0, &err), &err);
          for (int c = 0; c < 4; c++) arr[c].release(&arr[c]);
        }
        TD_ASSERT_OK(td_agg_merge_all(main, &part, 1, 1, &err), &err);
        TD_ASSERT_OK(td_agg_settle(one, &err), &err);
        TD_ASSERT_OK(td_agg_settle(main, &err), &err);
        td_agg *got[2] = {one, main};
        const int64_t ng = td_agg_group_count(ref), nout = nkeys[ki] + ns;
        td_array want[7], out[7];
        TD_ASSERT_OK(td_agg_result(ref, want, &err), &err);
        for (int s = 0; s < 2; s++) {
          assert_int_equal(td_agg_group_count(got[s]), ng);
          TD_ASSERT_OK(td_agg_result(got[s], out, &err), &err);
          for (int64_t c = 0; c < nout; c++)
            for (int64_t g = 0; g < ng; g++)
              if (!val_eq(arr_value(&out[c], g), arr_value(&want[c], g)))
                fail_msg("pattern %s, keys %d, aggregates %d, %s: column %lld of group %lld differs", patterns[pi], ki,
                         si, s ? "merged" : "one state", (long long)c, (long long)g);
          for (int64_t c = 0; c < nout; c++) td_array_reset(&out[c]);
          uint32_t *gs;
          int64_t n;
          TD_ASSERT_OK(td_agg_take_changed(got[s], &gs, &n, &err), &err);
          assert_int_equal(n, ng);
          for (int64_t g = 0; g < n; g++) assert_int_equal(gs[g], g);
          td_free(gs);
          /* taken: nothing changed since; then a batch tracks its 200 keys only */
          TD_ASSERT_OK(td_agg_take_changed(got[s], NULL, &n, &err), &err);
          assert_int_equal(n, 0);
          struct ArrowArray arr[4];
          td_colview v[4];
          untracked_batch(0, false, arr, v);
          td_batch bt = {UROWS, v, NULL, NULL, 0};
          TD_ASSERT_OK(td_agg_update(got[s], &bt, NULL, 0, &err), &err);
          for (int c = 0; c < 4; c++) arr[c].release(&arr[c]);
          TD_ASSERT_OK(td_agg_take_changed(got[s], NULL, &n, &err), &err);
          assert_int_equal(n, 200);
        }
        for (int64_t c = 0; c < nout; c++) td_array_reset(&want[c]);
        td_agg_free(ref);
        td_agg_free(one);
        td_agg_free(main);
        td_agg_free(part);
      }
}

/* ---- sort ---- */

static void test_sort(void **state) {
  (void)state;
  td_error err;
  /* a: int64 with nulls, b: utf8, c: float64 with NaN */
  td_array a, b, c;
  const int64_t av[] = {3, 1, -1, 3, 1, -1, 3, 0};
  const bool anull[] = {false, false, true, false, false, false, false, true};
  const char *bv[] = {"b", "a", "c", "a", "b", "a", "b", "z"};
  const double cv[] = {1.0, NAN, 2.0, -1.0, 0.5, 3.0, 1.0, NAN};
  TD_ASSERT_OK(td_array_init(&a, TD_TYPE_INT64, 8, &err), &err);
  TD_ASSERT_OK(td_array_init(&b, TD_TYPE_UTF8, 8, &err), &err);
  TD_ASSERT_OK(td_array_init(&c, TD_TYPE_FLOAT64, 8, &err), &err);
  for (int i = 0; i < 8; i++) {
    TD_ASSERT_OK(anull[i] ? td_array_append_null(&a, &err) : td_array_append_int(&a, av[i], &err), &err);
    TD_ASSERT_OK(td_array_append_str(&b, bv[i], 1, &err), &err);
    TD_ASSERT_OK(i == 5 ? td_array_append_null(&c, &err) : td_array_append_double(&c, cv[i], &err), &err);
  }
  struct ArrowArray arr[3];
  td_colview v[3];
  td_array *all[3] = {&a, &b, &c};
  td_type_id t[3] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_FLOAT64};
  for (int i = 0; i < 3; i++) {
    TD_ASSERT_OK(td_array_export(all[i], &arr[i], &err), &err);
    TD_ASSERT_OK(td_colview_init(&v[i], t[i], &arr[i], &err), &err);
  }
  int64_t perm[8];
  /* a ASC: -1(5), 1(1), 1(4), 3(0), 3(3), 3(6), null(2), null(7) -- stable */
  td_sort_key k1[1] = {{&v[0], false}};
  TD_ASSERT_OK(td_sort_permutation(k1, 1, 8, perm, &err), &err);
  const int64_t e1[] = {5, 1, 4, 0, 3, 6, 2, 7};
  assert_memory_equal(perm, e1, sizeof e1);
  /* a DESC: nulls still last */
  k1[0].desc = true;
  TD_ASSERT_OK(td_sort_permutation(k1, 1, 8, perm, &err), &err);
  const int64_t e2[] = {0, 3, 6, 1, 4, 5, 2, 7};
  assert_memory_equal(perm, e2, sizeof e2);
  /* a DESC, b ASC */
  td_sort_key k2[2] = {{&v[0], true}, {&v[1], false}};
  TD_ASSERT_OK(td_sort_permutation(k2, 2, 8, perm, &err), &err);
  const int64_t e3[] = {3, 0, 6, 1, 4, 5, 2, 7};
  assert_memory_equal(perm, e3, sizeof e3);
  /* c ASC: -1, 0.5, 1, 1, 2, NaN, NaN, null */
  td_sort_key k3[1] = {{&v[2], false}};
  TD_ASSERT_OK(td_sort_permutation(k3, 1, 8, perm, &err), &err);
  const int64_t e4[] = {3, 4, 0, 6, 2, 1, 7, 5};
  assert_memory_equal(perm, e4, sizeof e4);
  k3[0].desc = true;
  TD_ASSERT_OK(td_sort_permutation(k3, 1, 8, perm, &err), &err);
  const int64_t e5[] = {1, 7, 2, 0, 6, 4, 3, 5};
  assert_memory_equal(perm, e5, sizeof e5);
  /* random stability check: sort by a key with many ties */
  for (int i = 0; i < 3; i++) arr[i].release(&arr[i]);
  enum { M = 5000 };
  td_array r;
  TD_ASSERT_OK(td_array_init(&r, TD_TYPE_INT32, M, &err), &err);
  srand(3);
  for (int i = 0; i < M; i++) TD_ASSERT_OK(td_array_append_int(&r, rand() % 10, &err), &err);
  struct ArrowArray ra;
  TD_ASSERT_OK(td_array_export(&r, &ra, &err), &err);
  td_colview rv;
  TD_ASSERT_OK(td_colview_init(&rv, TD_TYPE_INT32, &ra, &err), &err);
  int64_t *p = malloc(M * sizeof *p);
  td_sort_key rk = {&rv, false};
  TD_ASSERT_OK(td_sort_permutation(&rk, 1, M, p, &err), &err);
  for (int i = 1; i < M; i++) {
    int64_t x = td_colview_int(&rv, p[i - 1]), y = td_colview_int(&rv, p[i]);
    assert_true(x < y || (x == y && p[i - 1] < p[i]));
  }
  assert_int_equal(td_sort_permutation(&rk, 1, M + 1, p, &err), TD_EINVAL);
  free(p);
  ra.release(&ra);
}


/*
 * Keys mixing partition columns (constants of a batch) and data columns:
 * the same groups, in the same order, with the same aggregates (bit for bit)
 * as a state fed the partition values as ordinary columns.  Partition
 * values of every key type, null ones, locations met again later, batches
 * through selections in any order, every seventh batch without constants
 * (another split of the keys), keys in any order, one to four constants
 * beside one or two data keys.
 */
enum { NLOC = 6, RUN = 37, NPART = 4 };

static td_value part_value(int c, int l) {
  static char text[NLOC][16];
  switch (c) {
    case 5: return l == 0 ? td_value_null(TD_TYPE_INT64) : td_value_int(TD_TYPE_INT64, l * 10 - 30);
    case 6:
      if (l == 3) return td_value_null(TD_TYPE_UTF8);
      snprintf(text[l], sizeof text[l], "%s", l == 5 ? "" : l == 4 ? "p-long-name" : "p");
      if (l < 3) text[l][1] = (char)('0' + l), text[l][2] = 0;
      return td_value_str(text[l]);
    case 7: return l == 2 ? td_value_null(TD_TYPE_FLOAT64) : td_value_double(TD_TYPE_FLOAT64, l == 4 ? -0.0 : l * 0.5);
    default: return l == 1 ? td_value_null(TD_TYPE_BOOL) : td_value_bool(l % 2 == 0);
  }
}

static int loc_of_run(int64_t run) { return (int)((run * 5 + run / 3) % NLOC); }

static void run_partition_keys(const data *d, const td_colview *pv, const td_agg_key *keys, int nk) {
  td_error err;
  td_colview cols[9];
  memcpy(cols, d->v, sizeof d->v);
  memcpy(cols + 5, pv, NPART * sizeof *pv);
  td_agg *got, *want;
  TD_ASSERT_OK(td_agg_create(keys, nk, rspecs, NRSPEC, &got, &err), &err);
  TD_ASSERT_OK(td_agg_create(keys, nk, rspecs, NRSPEC, &want, &err), &err);
  uint32_t rows[RUN];
  int64_t before = td__agg_part_batches();
  for (int64_t run = 0; run * RUN < N; run++) {
    int64_t r0 = run * RUN, n = N - r0 < RUN ? N - r0 : RUN;
    for (int64_t i = 0; i < n; i++) rows[i] = (uint32_t)(run % 2 ? r0 + n - 1 - i : r0 + i);
    td_value consts[9];
    for (int c = 0; c < 9; c++) consts[c] = c >= 5 ? part_value(c, loc_of_run(run)) : td_value_null(TD_TYPE_NONE);
    td_batch pb = {N, cols, run % 7 == 6 ? NULL : consts, NULL, 0}, cb = {N, cols, NULL, NULL, 0};
    TD_ASSERT_OK(td_agg_update(got, &pb, rows, n, &err), &err);
    TD_ASSERT_OK(td_agg_update(want, &cb, rows, n, &err), &err);
  }
  assert_true(td__agg_part_batches() > before);
  td_array go[5 + NRSPEC], wo[5 + NRSPEC];
  TD_ASSERT_OK(td_agg_result(got, go, &err), &err);
  TD_ASSERT_OK(td_agg_result(want, wo, &err), &err);
  const int64_t ng = td_agg_group_count(got);
  assert_int_equal(ng, td_agg_group_count(want));
  for (int c = 0; c < nk + NRSPEC; c++) {
    struct ArrowArray ga, wa;
    td_colview gv, wv;
    TD_ASSERT_OK(td_array_export(&go[c], &ga, &err), &err);
    TD_ASSERT_OK(td_array_export(&wo[c], &wa, &err), &err);
    TD_ASSERT_OK(td_colview_init(&gv, td_agg_output_type(got, c), &ga, &err), &err);
    TD_ASSERT_OK(td_colview_init(&wv, td_agg_output_type(want, c), &wa, &err), &err);
    for (int64_t g = 0; g < ng; g++) {
      td_value x = td_colview_value(&gv, g), y = td_colview_value(&wv, g);
      bool same = x.type == TD_TYPE_FLOAT64 && !x.is_null && !y.is_null ? memcmp(&x.v.f, &y.v.f, sizeof x.v.f) == 0
                                                                       : val_eq(x, y);
      if (!same) fail_msg("keys %d (first %lld): group %lld column %d differs", nk, (long long)keys[0].column, (long long)g, c);
    }
    ga.release(&ga);
    wa.release(&wa);
  }
  td_agg_free(got);
  td_agg_free(want);
}

static void test_agg_partition_keys(void **state) {
  (void)state;
  td_error err;
  static const td_type_id pt[NPART] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_FLOAT64, TD_TYPE_BOOL};
  static const td_agg_key sets[][5] = {
      {{5, TD_TYPE_INT64}, {1, TD_TYPE_UTF8}},
      {{1, TD_TYPE_UTF8}, {6, TD_TYPE_UTF8}},
      {{6, TD_TYPE_UTF8}, {0, TD_TYPE_INT32}, {5, TD_TYPE_INT64}},
      {{0, TD_TYPE_INT32}, {5, TD_TYPE_INT64}, {1, TD_TYPE_UTF8}},
      {{7, TD_TYPE_FLOAT64}, {3, TD_TYPE_FLOAT64}},
      {{8, TD_TYPE_BOOL}, {1, TD_TYPE_UTF8}, {6, TD_TYPE_UTF8}},
      {{5, TD_TYPE_INT64}, {6, TD_TYPE_UTF8}, {0, TD_TYPE_INT32}, {7, TD_TYPE_FLOAT64}, {8, TD_TYPE_BOOL}},
  };
  static const int nks[] = {2, 2, 3, 3, 2, 3, 5};
  for (unsigned seed = 1; seed <= 3; seed++) {
    data d;
    make(&d, seed, seed != 2);
    struct ArrowArray pa[NPART];
    td_colview pv[NPART];
    for (int c = 0; c < NPART; c++) {
      td_array a;
      TD_ASSERT_OK(td_array_init(&a, pt[c], N, &err), &err);
      for (int64_t r = 0; r < N; r++) {
        td_value v = part_value(5 + c, loc_of_run(r / RUN));
        TD_ASSERT_OK(td_array_append_value(&a, &v, &err), &err);
      }
      TD_ASSERT_OK(td_array_export(&a, &pa[c], &err), &err);
      TD_ASSERT_OK(td_colview_init(&pv[c], pt[c], &pa[c], &err), &err);
    }
    for (size_t i = 0; i < sizeof nks / sizeof *nks; i++) run_partition_keys(&d, pv, sets[i], nks[i]);
    for (int c = 0; c < NPART; c++) pa[c].release(&pa[c]);
    unmake(&d);
  }
}

/* td_agg_result_move: the 8-byte columns (an int64 key with a null key, int
 * and float sums with an all-null group, counts) leave the state without a
 * copy and read as td_agg_result's; a utf8 key and a min are built as
 * copies; the state then refuses updates, merges and results; allocation
 * failures give TD_ENOMEM and leak nothing. */
enum { MROWS = 600 };
static td_agg *move_state(td_error *err) {
  const td_agg_key keys[2] = {{0, TD_TYPE_INT64}, {1, TD_TYPE_UTF8}};
  const td_agg_spec mspecs[5] = {{TD_AGG_SUM, 2, TD_TYPE_INT64}, {TD_AGG_SUM, 3, TD_TYPE_FLOAT64},
                                {TD_AGG_MIN, 2, TD_TYPE_INT64}, {TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE},
                                {TD_AGG_COUNT, 2, TD_TYPE_INT64}};
  td_agg *a;
  if (td_agg_create(keys, 2, mspecs, 5, &a, err) != TD_OK) return NULL;
  const td_type_id t[4] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64};
  struct ArrowArray arr[4];
  td_colview v[4];
  for (int c = 0; c < 4; c++) {
    td_array x;
    TD_ASSERT_OK(td_array_init(&x, t[c], MROWS, err), err);
    for (int64_t i = 0; i < MROWS; i++) {
      const int64_t key = i % 7;
      int rc;
      if (c == 0) rc = key == 3 ? td_array_append_null(&x, err) : td_array_append_int(&x, key * 1000, err);
      else if (c == 1) rc = td_array_append_str(&x, key == 5 ? "long key, not inline" : "k", key == 5 ? 20 : 1, err);
      else if (key == 6 || (c == 2 && i % 4 == 0)) rc = td_array_append_null(&x, err); /* group 6: no values */
      else if (c == 2) rc = td_array_append_int(&x, i * 3 - 700, err);
      else rc = td_array_append_double(&x, (double)i / 8, err);
      TD_ASSERT_OK(rc, err);
    }
    TD_ASSERT_OK(td_array_export(&x, &arr[c], err), err);
    TD_ASSERT_OK(td_colview_init(&v[c], t[c], &arr[c], err), err);
  }
  td_batch b = {MROWS, v, NULL, NULL, 0};
  int rc = td_agg_update(a, &b, NULL, 0, err);
  for (int c = 0; c < 4; c++) arr[c].release(&arr[c]);
  if (rc) {
    td_agg_free(a);
    return NULL;
  }
  return a;
}

static void test_agg_result_move(void **state) {
  (void)state;
  td_error err;
  td_agg *ref = move_state(&err), *a = move_state(&err);
  assert_non_null(ref);
  assert_non_null(a);
  enum { NOUT = 7 };
  td_array want[NOUT], out[NOUT];
  struct ArrowArray moved[NOUT];
  TD_ASSERT_OK(td_agg_result(ref, want, &err), &err);
  TD_ASSERT_OK(td_agg_result_move(a, out, moved, &err), &err);
  const bool expect_moved[NOUT] = {true, false, true, true, false, true, true};
  assert_int_equal(td_agg_group_count(a), 7);
  for (int c = 0; c < NOUT; c++) {
    assert_int_equal(moved[c].release != NULL, expect_moved[c]);
    assert_int_equal(out[c].type, want[c].type);
    td_colview v;
    if (moved[c].release) {
      assert_int_equal(moved[c].length, 7);
      TD_ASSERT_OK(td_colview_init(&v, out[c].type, &moved[c], &err), &err);
    }
    for (int64_t g = 0; g < 7; g++) {
      td_value got = moved[c].release ? td_colview_value(&v, g) : arr_value(&out[c], g);
      if (!val_eq(got, arr_value(&want[c], g))) fail_msg("column %d, group %lld differs", c, (long long)g);
    }
  }
  /* the nulls the move made: the null key (group 3), the sums of group 6 */
  assert_int_equal(moved[0].null_count, 1);
  assert_int_equal(moved[2].null_count, 1);
  assert_int_equal(moved[3].null_count, 1);
  assert_int_equal(moved[5].null_count, 0);
  /* a spent state */
  td_array again[NOUT];
  assert_int_equal(td_agg_result(a, again, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "moved out");
  assert_int_equal(td_agg_merge(ref, a, &err), TD_EINVAL);
  assert_int_equal(td_agg_merge(a, ref, &err), TD_EINVAL);
  td_agg *b = move_state(&err);
  assert_non_null(b);
  assert_int_equal(td_agg_merge_all(a, &b, 1, 1, &err), TD_EINVAL);
  td_agg_free(b);
  for (int c = 0; c < NOUT; c++) {
    td_array_reset(&out[c]);
    td_array_reset(&want[c]);
    if (moved[c].release) moved[c].release(&moved[c]);
  }
  td_agg_free(a);
  td_agg_free(ref);
  int fails = 0;
  for (int64_t k = 0; k < 40; k++) {
    td_agg *x = move_state(&err);
    assert_non_null(x);
    td__alloc_fail_after(k);
    int rc = td_agg_result_move(x, out, moved, &err);
    td__alloc_fail_after(-1);
    if (rc) {
      assert_int_equal(rc, TD_ENOMEM);
      fails++;
    }
    for (int c = 0; c < NOUT; c++) {
      td_array_reset(&out[c]);
      if (moved[c].release) moved[c].release(&moved[c]);
    }
    td_agg_free(x);
  }
  assert_true(fails > 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agg_random),
      cmocka_unit_test(test_agg_retract),
      cmocka_unit_test(test_agg_retract_special),
      cmocka_unit_test(test_agg_global_empty), cmocka_unit_test(test_agg_global_minmax),
      cmocka_unit_test(test_agg_changed_and_consts),
      cmocka_unit_test(test_agg_alloc_failures),
      cmocka_unit_test(test_agg_fast_paths),
      cmocka_unit_test(test_agg_fast_alloc_failures),
      cmocka_unit_test(test_agg_dense_keys),
      cmocka_unit_test(test_agg_lazy_table),
      cmocka_unit_test(test_agg_sparse_int_key),
      cmocka_unit_test(test_agg_untracked),
      cmocka_unit_test(test_agg_result_move),
      cmocka_unit_test(test_agg_partition_keys),
      cmocka_unit_test(test_sort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
