/*
 * tests/query/test_sort.c - the sort permutation (query/sort.c): the coded
 * first-key radix pass followed by whole-row compares of tied runs gives
 * exactly the merge sort's permutation, over every code family (integers
 * of each width, floats with NaN, -0 and infinities, strings around the
 * seven-byte code, booleans, timestamps), nulls, DESC and several keys.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query/sort.h"
#include "test.h"
#include "util/alloc.h"

typedef struct col {
  struct ArrowArray arr;
  td_colview view;
} col;

static void make_col(col *c, td_type_id type, int64_t n, unsigned *seed, int nulls_in) {
  td_error err;
  td_array a;
  TD_ASSERT_OK(td_array_init(&a, type, n, &err), &err);
  static const char *const strs[] = {"",        "a",        "ab",       "abcdefg",  "abcdefg\x01", "abcdefgh",
                                     "abcdefgz", "abcdefgha", "abcdefghb", "b",        "\xff\xfe",     "abcdef"};
  static const double dbl[] = {0.0, -0.0, 1.5, -1.5, INFINITY, -INFINITY, NAN, -NAN, 1e300, -1e-300, 2.0, 3.25};
  for (int64_t i = 0; i < n; i++) {
    int r = rand_r(seed);
    int rc;
    if (nulls_in && r % nulls_in == 0) rc = td_array_append_null(&a, &err);
    else if (type == TD_TYPE_UTF8) {
      const char *s = strs[(r >> 4) % 12];
      rc = td_array_append_str(&a, s, (int64_t)strlen(s), &err);
    } else if (td_type_is_float(type)) {
      rc = td_array_append_double(&a, (r >> 4) % 3 ? dbl[(r >> 6) % 12] : (double)((r >> 8) % 1000) / 7.0, &err);
    } else if (type == TD_TYPE_BOOL) {
      rc = td_array_append_int(&a, (r >> 4) & 1, &err);
    } else if (type == TD_TYPE_INT8) {
      rc = td_array_append_int(&a, (r >> 4) % 256 - 128, &err);
    } else if (type == TD_TYPE_UINT32) {
      rc = td_array_append_int(&a, (r >> 4) % 3 ? (r >> 6) % 100 : 4294967295LL - (r >> 6) % 3, &err);
    } else { /* int64, timestamps: extremes and a few repeated values */
      static const int64_t ext[] = {INT64_MIN, INT64_MAX, -1, 0, 1, INT64_MIN + 1, INT64_MAX - 1};
      rc = td_array_append_int(&a, (r >> 4) % 4 ? (int64_t)((r >> 6) % 50) - 25 : ext[(r >> 6) % 7], &err);
    }
    TD_ASSERT_OK(rc, &err);
  }
  TD_ASSERT_OK(td_array_export(&a, &c->arr, &err), &err);
  TD_ASSERT_OK(td_colview_init(&c->view, type, &c->arr, &err), &err);
}

/* td_sort_permutation against the merge sort alone (td_sort_rows). */
static void check(const td_sort_key *keys, int64_t nk, int64_t n) {
  td_error err;
  int64_t *perm = td_malloc((size_t)n * sizeof *perm), *ref = td_malloc((size_t)n * sizeof *ref),
          *tmp = td_malloc((size_t)n * sizeof *tmp);
  TD_ASSERT_OK(td_sort_permutation(keys, nk, n, perm, &err), &err);
  for (int64_t i = 0; i < n; i++) ref[i] = i;
  td_sort_rows(keys, nk, ref, n, tmp);
  for (int64_t i = 0; i < n; i++)
    if (perm[i] != ref[i])
      fail_msg("type %s, %lld keys, desc %d: position %lld is row %lld, the merge sort's %lld",
               td_type_name(keys[0].col->type), (long long)nk, keys[0].desc, (long long)i, (long long)perm[i],
               (long long)ref[i]);
  for (int64_t i = 1; i < n; i++) assert_true(td_sort_compare(keys, nk, perm[i - 1], keys, perm[i]) <= 0);
  td_free(perm);
  td_free(ref);
  td_free(tmp);
}

static void test_coded_equals_merge(void **state) {
  (void)state;
  static const td_type_id types[] = {TD_TYPE_INT64,   TD_TYPE_INT8,  TD_TYPE_UINT32, TD_TYPE_FLOAT64,
                                     TD_TYPE_FLOAT32, TD_TYPE_UTF8,  TD_TYPE_BOOL,   TD_TYPE_TIMESTAMP};
  unsigned seed = 7;
  for (size_t t = 0; t < sizeof types / sizeof *types; t++)
    for (int64_t n = 500; n <= 5000; n += 4500)
      for (int nulls = 0; nulls <= 5; nulls += 5) {
        col a, b;
        make_col(&a, types[t], n, &seed, nulls);
        make_col(&b, TD_TYPE_INT64, n, &seed, 9);
        for (int desc = 0; desc < 2; desc++) {
          td_sort_key k[2] = {{&a.view, desc}, {&b.view, !desc}};
          check(k, 1, n);
          check(k, 2, n);
        }
        a.arr.release(&a.arr);
        b.arr.release(&b.arr);
      }
}

/* Every row null, and every row one value: one run, compared whole or not
 * at all; the permutation is the identity (stable). */
static void test_one_run(void **state) {
  (void)state;
  td_error err;
  td_array a;
  TD_ASSERT_OK(td_array_init(&a, TD_TYPE_INT64, 1000, &err), &err);
  for (int i = 0; i < 1000; i++) TD_ASSERT_OK(i < 500 ? td_array_append_null(&a, &err) : td_array_append_int(&a, INT64_MAX, &err), &err);
  col c;
  TD_ASSERT_OK(td_array_export(&a, &c.arr, &err), &err);
  TD_ASSERT_OK(td_colview_init(&c.view, TD_TYPE_INT64, &c.arr, &err), &err);
  td_sort_key k = {&c.view, false};
  int64_t perm[1000];
  TD_ASSERT_OK(td_sort_permutation(&k, 1, 1000, perm, &err), &err);
  for (int i = 0; i < 1000; i++) assert_int_equal(perm[i], i < 500 ? i + 500 : i - 500); /* INT64_MAX, then nulls */
  c.arr.release(&c.arr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_coded_equals_merge),
      cmocka_unit_test(test_one_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
