/*
 * tests/query/test_agg.c - hash aggregation against a naive reference,
 * incremental updates, changed-group tracking, the global group; sort.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query/agg.h"
#include "query/sort.h"
#include "test.h"
#include "util/alloc.h"

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
  if (a.type == TD_TYPE_UTF8) return a.v.s.len == b.v.s.len && memcmp(a.v.s.ptr, b.v.s.ptr, a.v.s.len) == 0;
  if (a.type == TD_TYPE_FLOAT64) return a.v.f == b.v.f;
  if (a.type == TD_TYPE_BOOL) return a.v.b == b.v.b;
  return a.v.i == b.v.i;
}

static int cmpv(td_value a, td_value b) {
  if (a.type == TD_TYPE_UTF8) {
    size_t n = a.v.s.len < b.v.s.len ? a.v.s.len : b.v.s.len;
    int c = n ? memcmp(a.v.s.ptr, b.v.s.ptr, n) : 0;
    return c ? c : (a.v.s.len > b.v.s.len) - (a.v.s.len < b.v.s.len);
  }
  if (a.type == TD_TYPE_FLOAT64) return (a.v.f > b.v.f) - (a.v.f < b.v.f);
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
  td_batch b = {N, d.v, NULL};
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
    td_batch part = {cuts[c + 1] - cuts[c], v, NULL};
    TD_ASSERT_OK(td_agg_update(a, &part, sel, m, &err), &err);
    free(sel);
  }
  check_result(a, &d, keys, nk, rows, n);
  td_agg_free(a);
  free(rows);
  unmake(&d);
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

static void test_agg_changed_and_consts(void **state) {
  (void)state;
  data d;
  make(&d, 7, 0);
  td_error err;
  td_agg_key k = {0, TD_TYPE_INT32};
  td_agg_spec s[2] = {{TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_SUM, 2, TD_TYPE_INT64}};
  td_agg *a;
  TD_ASSERT_OK(td_agg_create(&k, 1, s, 2, &a, &err), &err);
  td_batch b = {N, d.v, NULL};
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
  td_batch cb = {10, d.v, consts};
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
  td_batch b = {N, d.v, NULL};
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agg_random),
      cmocka_unit_test(test_agg_global_empty),
      cmocka_unit_test(test_agg_changed_and_consts),
      cmocka_unit_test(test_agg_alloc_failures),
      cmocka_unit_test(test_sort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
