/*
 * tests/query/test_agg_merge.c - td_agg_merge_all with several workers: the
 * groups a large partial state shares with the target are merged by all
 * workers at once (agg.c, merge_found).  Four partial states of 64k groups
 * and more, spread unevenly (one whose first 20k groups are new and the rest
 * known, one of known groups only, one of new groups only: the workers find
 * nothing), null keys, one integer key (direct map) and a string key beside
 * an integer one (hash table), every aggregate kind (count, sums, avg,
 * min/max of integers, floats and strings, first/last, count(DISTINCT) of
 * integers and strings): 2, 3 and 7 workers give the serial merge's groups,
 * values and changed list, and the groups of one state fed every row.  An
 * integer sum that leaves int64 in two groups: the error, and the aggregate
 * td_agg_overflowed names, are the first group's at every worker count.
 * The groups a merge appends without their index entries are found by the
 * batches and merges after it, also after a batch whose allocations fail
 * (the first: the hash table's growth for them).
 * Both again with only the kinds the workers merge a chunk at a time
 * (counts, sums, averages, integer min/max: merge_simple).  Allocation
 * failures while merging: TD_ENOMEM, nothing leaked.  Under the
 * sanitizers everything is a tenth the size (td__agg_merge_sizes).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/agg.h"
#include "test.h"
#include "util/alloc.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
enum { SC = 10 }; /* a tenth of the rows and of the merge's sizes (td__agg_merge_sizes): the sanitizers are slow */
#else
enum { SC = 1 }; /* the merge's real sizes */
#endif

enum { M = 80000 / SC, NEW1 = 20000 / SC, NEW3 = 70000 / SC, ROWS = 160000 / SC, MIN_GROUPS = 65536 / SC };
enum { NSTATE = 4, BATCH = 4096, NCOL = 6 };
static const char *const strs[] = {"x", "y", "", "zz", "abc", "a much longer string value", "q"};

/* The key number of row i of state p (-1: null). */
static int64_t row_key(int p, int64_t i) {
  if (i % 997 == 5) return -1;
  switch (p) {
    case 0: return (i * 7919) % M;                           /* every known key, twice */
    case 1: return i < NEW1 ? M + i : (i * 7919) % M;        /* 20k new keys first, then known ones */
    case 2: return (i * 104729) % (M + NEW1);                /* known keys only, scattered */
    default: return M + NEW1 + (i * 11) % NEW3;              /* new keys only */
  }
}

/* The keys whose sums overflow in `ovf` mode: K1's sum(v), then (earlier in
 * state 1's group order) K2's sum(w). */
static const int64_t K1 = (60000LL / SC * 7919) % M, K2 = (30000LL / SC * 7919) % M;

/* Folds state p's rows into a: columns 0 ik (int64 key), 1 sk (utf8 key),
 * 2 v (int64), 3 f (float64), 4 s (utf8), 5 w (int64).  With fail_at >= 0
 * the fail_at-th allocation of the first batch's td_agg_update fails: its
 * code is returned (the rows after it are not folded). */
static int fold_state_failing(td_agg *a, int p, bool ovf, int64_t fail_at) {
  td_error err;
  char buf[32];
  int rc = TD_OK;
  for (int64_t b = 0; rc == TD_OK && b < ROWS; b += BATCH) {
    int64_t len = ROWS - b < BATCH ? ROWS - b : BATCH;
    const td_type_id t[NCOL] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8,
                                TD_TYPE_INT64};
    td_array col[NCOL];
    for (int c = 0; c < NCOL; c++) TD_ASSERT_OK(td_array_init(&col[c], t[c], len, &err), &err);
    for (int64_t r = b; r < b + len; r++) {
      const int64_t k = row_key(p, r), i = r + p * ROWS;
      const bool big = ovf && p < 2;
      TD_ASSERT_OK(k < 0 || r % 991 == 3 ? td_array_append_null(&col[0], &err)
                                         : td_array_append_int(&col[0], k, &err),
                   &err);
      snprintf(buf, sizeof buf, "k%lld", (long long)k);
      TD_ASSERT_OK(k < 0 ? td_array_append_null(&col[1], &err)
                         : td_array_append_str(&col[1], buf, (int64_t)strlen(buf), &err),
                   &err);
      int64_t v = big && k == K1 ? INT64_MAX / 3 : i % 13 - 6, w = big && k == K2 ? INT64_MAX / 3 : i % 5;
      TD_ASSERT_OK(i % 11 == 0 && !(big && k == K1) ? td_array_append_null(&col[2], &err) : td_array_append_int(&col[2], v, &err),
                   &err);
      TD_ASSERT_OK(td_array_append_double(&col[3], (double)(i % 17) * 0.25 - 1, &err), &err);
      const char *s = strs[(i * 31) % 7];
      TD_ASSERT_OK(i % 13 == 0 ? td_array_append_null(&col[4], &err)
                               : td_array_append_str(&col[4], s, (int64_t)strlen(s), &err),
                   &err);
      TD_ASSERT_OK(td_array_append_int(&col[5], w, &err), &err);
    }
    struct ArrowArray arr[NCOL];
    td_colview v[NCOL];
    for (int c = 0; c < NCOL; c++) {
      TD_ASSERT_OK(td_array_export(&col[c], &arr[c], &err), &err);
      TD_ASSERT_OK(td_colview_init(&v[c], t[c], &arr[c], &err), &err);
    }
    td_batch bt = {len, v, NULL, NULL, 0};
    if (fail_at >= 0 && b == 0) {
      td__alloc_fail_after(fail_at);
      rc = td_agg_update(a, &bt, NULL, 0, &err);
      td__alloc_fail_after(-1);
    } else {
      TD_ASSERT_OK(td_agg_update(a, &bt, NULL, 0, &err), &err);
    }
    for (int c = 0; c < NCOL; c++) arr[c].release(&arr[c]);
  }
  return rc;
}

static void fold_state(td_agg *a, int p, bool ovf) { assert_int_equal(fold_state_failing(a, p, ovf, -1), TD_OK); }

static const td_agg_spec specs[] = {
    {TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_COUNT, 2, TD_TYPE_INT64},
    {TD_AGG_SUM, 2, TD_TYPE_INT64},        {TD_AGG_SUM, 3, TD_TYPE_FLOAT64},
    {TD_AGG_AVG, 2, TD_TYPE_INT64},        {TD_AGG_MIN, 2, TD_TYPE_INT64},
    {TD_AGG_MAX, 3, TD_TYPE_FLOAT64},      {TD_AGG_MIN, 4, TD_TYPE_UTF8},
    {TD_AGG_MAX, 4, TD_TYPE_UTF8},         {TD_AGG_FIRST, 4, TD_TYPE_UTF8},
    {TD_AGG_LAST, 4, TD_TYPE_UTF8},        {TD_AGG_LAST, 3, TD_TYPE_FLOAT64},
    {TD_AGG_SUM, 5, TD_TYPE_INT64},        {TD_AGG_COUNT_DISTINCT, 2, TD_TYPE_INT64},
    {TD_AGG_COUNT_DISTINCT, 4, TD_TYPE_UTF8},
};
enum { NSPEC = sizeof specs / sizeof *specs, SUM_V = 2, SUM_W = 12 };
/* Kinds the workers merge a whole chunk at a time, aggregate by aggregate
 * (agg.c, merge_simple): counts, integer and float sums and averages,
 * integer min/max; sum(v) and sum(w) overflow as in specs. */
static const td_agg_spec simple_specs[] = {
    {TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}, {TD_AGG_COUNT, 2, TD_TYPE_INT64}, {TD_AGG_SUM, 2, TD_TYPE_INT64},
    {TD_AGG_SUM, 3, TD_TYPE_FLOAT64},      {TD_AGG_AVG, 2, TD_TYPE_INT64},   {TD_AGG_AVG, 3, TD_TYPE_FLOAT64},
    {TD_AGG_MIN, 2, TD_TYPE_INT64},        {TD_AGG_MAX, 2, TD_TYPE_INT64},   {TD_AGG_MAX, 5, TD_TYPE_INT64},
    {TD_AGG_SUM, 5, TD_TYPE_INT64},
};
enum { NSIMPLE = sizeof simple_specs / sizeof *simple_specs, SIMPLE_SUM_W = 9 };
/* The aggregates of the states made now: specs (0) or simple_specs (1). */
static int spec_set;
static const td_agg_spec *cur_specs(void) { return spec_set == 1 ? simple_specs : specs; }
static int cur_nspec(void) { return spec_set == 1 ? NSIMPLE : NSPEC; }

/* The key configurations: the integer key alone; the string key beside it. */
static const td_agg_key keys1[] = {{0, TD_TYPE_INT64}};
static const td_agg_key keys2[] = {{1, TD_TYPE_UTF8}, {0, TD_TYPE_INT64}};

static td_agg *new_state(int cfg) {
  td_error err;
  td_agg *a;
  TD_ASSERT_OK(td_agg_create(cfg ? keys2 : keys1, cfg ? 2 : 1, cur_specs(), cur_nspec(), &a, &err), &err);
  td_agg_set_bulk(a, true);
  return a;
}

/* The NSTATE partial states of configuration cfg (the first is the target,
 * its changed list taken: the merge's list is what remains). */
static void make_states(int cfg, bool ovf, td_agg **st) {
  for (int p = 0; p < NSTATE; p++) {
    st[p] = new_state(cfg);
    fold_state(st[p], p, ovf);
  }
  td_error err;
  uint32_t *g;
  int64_t n;
  TD_ASSERT_OK(td_agg_take_changed(st[0], &g, &n, &err), &err);
  td_free(g);
}

/* Merges states 1.. into state 0 with `threads` workers, then settles. */
static int merge(td_agg **st, int threads, td_error *err) {
  int rc = td_agg_merge_all(st[0], st + 1, NSTATE - 1, threads, err);
  int rs = td_agg_settle(st[0], rc ? NULL : err);
  return rc ? rc : rs;
}

/* Whether two results are equal: every group in the same order with the
 * same values (floats exactly, or to 1e-9 relative unless `exact`). */
static void same_result(td_agg *x, td_agg *y, int nk, bool exact) {
  td_error err;
  td_array ox[2 + NSPEC], oy[2 + NSPEC];
  TD_ASSERT_OK(td_agg_result(x, ox, &err), &err);
  TD_ASSERT_OK(td_agg_result(y, oy, &err), &err);
  assert_int_equal(td_agg_group_count(x), td_agg_group_count(y));
  for (int c = 0; c < nk + cur_nspec(); c++) {
    struct ArrowArray ax, ay;
    td_colview vx, vy;
    TD_ASSERT_OK(td_array_export(&ox[c], &ax, &err), &err);
    TD_ASSERT_OK(td_array_export(&oy[c], &ay, &err), &err);
    TD_ASSERT_OK(td_colview_init(&vx, td_agg_output_type(x, c), &ax, &err), &err);
    TD_ASSERT_OK(td_colview_init(&vy, td_agg_output_type(y, c), &ay, &err), &err);
    for (int64_t g = 0; g < td_agg_group_count(x); g++) {
      td_value p = td_colview_value(&vx, g), q = td_colview_value(&vy, g);
      bool same = p.is_null == q.is_null;
      if (same && !p.is_null) {
        if (p.type == TD_TYPE_UTF8)
          same = p.v.s.len == q.v.s.len && (p.v.s.len == 0 || memcmp(p.v.s.ptr, q.v.s.ptr, p.v.s.len) == 0);
        else if (p.type == TD_TYPE_FLOAT64)
          same = exact ? memcmp(&p.v.f, &q.v.f, sizeof p.v.f) == 0 : fabs(p.v.f - q.v.f) <= 1e-9 * fabs(q.v.f) + 1e-9;
        else same = p.v.i == q.v.i;
      }
      if (!same) fail_msg("column %d, group %lld differs", c, (long long)g);
    }
    ax.release(&ax);
    ay.release(&ay);
  }
}

static void free_states(td_agg **st) {
  for (int p = 0; p < NSTATE; p++) td_agg_free(st[p]);
}

static void test_merge_workers(void **state) {
  (void)state;
  td_error err;
  for (spec_set = 0; spec_set < 2; spec_set++)
  for (int cfg = 0; cfg < 2; cfg++) {
    const int nk = cfg ? 2 : 1;
    td_agg *serial[NSTATE], *one = new_state(cfg);
    make_states(cfg, false, serial);
    for (int p = 0; p < NSTATE; p++) fold_state(one, p, false);
    TD_ASSERT_OK(td_agg_settle(one, &err), &err);
    assert_true(td_agg_group_count(serial[1]) >= MIN_GROUPS); /* large enough for the workers */
    assert_true(td_agg_group_count(serial[3]) >= MIN_GROUPS);
    TD_ASSERT_OK(merge(serial, 1, &err), &err);
    same_result(serial[0], one, nk, false); /* first-seen order, the values of one state */
    uint32_t *want;
    int64_t n_want;
    TD_ASSERT_OK(td_agg_take_changed(serial[0], &want, &n_want, &err), &err);
    assert_true(n_want > 2 * MIN_GROUPS);
    const int workers[] = {2, 3, 7};
    for (int w = 0; w < 3; w++) {
      td_agg *st[NSTATE];
      make_states(cfg, false, st);
      TD_ASSERT_OK(merge(st, workers[w], &err), &err);
      same_result(st[0], serial[0], nk, true);
      uint32_t *got;
      int64_t n_got;
      TD_ASSERT_OK(td_agg_take_changed(st[0], &got, &n_got, &err), &err);
      assert_int_equal(n_got, n_want);
      assert_true(memcmp(got, want, (size_t)n_got * sizeof *got) == 0);
      td_free(got);
      /* the groups the merge appended without their index entries (state
       * 3's new keys) are found by the next batch and the next merge: no
       * group made twice */
      const int64_t groups = td_agg_group_count(st[0]);
      fold_state(st[0], 3, false);
      fold_state(st[0], 1, false);
      assert_int_equal(td_agg_group_count(st[0]), groups);
      td_agg *again = new_state(cfg);
      fold_state(again, 3, false);
      TD_ASSERT_OK(td_agg_merge_all(st[0], &again, 1, workers[w], &err), &err);
      assert_int_equal(td_agg_group_count(st[0]), groups);
      td_agg_free(again);
      free_states(st);
    }
    td_free(want);
    free_states(serial);
    td_agg_free(one);
  }
}

/* Two sums leave int64 while merging state 1: K1's sum(v) (group 60000 / SC of
 * state 1) and K2's sum(w) (group 30000 / SC): the serial merge stops at K2. */
static void test_merge_overflow(void **state) {
  (void)state;
  for (spec_set = 0; spec_set < 2; spec_set++)
  for (int cfg = 0; cfg < 2; cfg++) {
    char first[sizeof ((td_error *)0)->message];
    for (int threads = 1; threads <= 7; threads += 2) {
      td_agg *st[NSTATE];
      td_error err;
      make_states(cfg, true, st);
      int rc = merge(st, threads, &err);
      assert_int_equal(rc, TD_ERANGE);
      assert_int_equal(td_agg_overflowed(st[0]), spec_set == 1 ? SIMPLE_SUM_W : SUM_W);
      if (threads == 1) memcpy(first, err.message, sizeof first);
      assert_string_equal(err.message, first);
      free_states(st);
    }
  }
}

/* Allocation failures at the start of the merge and in the workers (string
 * min/max/first/last grow their bytes): TD_ENOMEM or done, nothing leaked. */
static void test_merge_alloc_failures(void **state) {
  (void)state;
  for (spec_set = 0; spec_set < 2; spec_set++)
  for (int64_t k = 0; k < 24; k += 1 + k / 4) {
    td_agg *st[NSTATE];
    td_error err;
    make_states(1, false, st);
    td__alloc_fail_after(k);
    int rc = merge(st, 3, &err);
    td__alloc_fail_after(-1);
    assert_true(rc == TD_OK || rc == TD_ENOMEM);
    free_states(st);
  }
}

/* The groups a merge appends without their index entries (state 3's 70k
 * new keys into state 0's 80k) need a hash table twice the size before the
 * next lookup (table_sync, at the next batch).  Its allocation failing, or
 * another of that batch's, fails the batch with TD_ENOMEM; the batches
 * after it still find every group: none is made twice. */
static void test_merge_deferred_alloc_failure(void **state) {
  (void)state;
  td_error err;
  int failed = 0;
  for (spec_set = 0; spec_set < 2; spec_set++)
    for (int64_t k = 0; k < 6; k++) {
      td_agg *st = new_state(1), *add = new_state(1);
      fold_state(st, 0, false);
      fold_state(add, 3, false);
      TD_ASSERT_OK(td_agg_merge_all(st, &add, 1, 2, &err), &err);
      const int64_t groups = td_agg_group_count(st);
      int rc = fold_state_failing(st, 3, false, k);
      assert_true(rc == TD_OK || rc == TD_ENOMEM);
      if (k == 0) assert_int_equal(rc, TD_ENOMEM); /* the table's growth: the batch's first allocation */
      failed += rc == TD_ENOMEM;
      fold_state(st, 3, false);
      fold_state(st, 0, false);
      assert_int_equal(td_agg_group_count(st), groups);
      td_agg_free(add);
      td_agg_free(st);
    }
  assert_true(failed >= 2);
}

/* A global count(DISTINCT) of integers merged by td_agg_merge_all, whose
 * sets merge after every state's exact bitmap: a target that has seen
 * nothing, then a state whose values went to its set (too wide for a
 * bitmap), then one still exact.  The target must not take the exact
 * state's bitmap as its whole count (it did: the first state's set had not
 * reached it yet), in every order of the three. */
static int64_t distinct_of(const int64_t *v, int64_t n, td_agg *a) {
  td_error err;
  td_array arr;
  TD_ASSERT_OK(td_array_init(&arr, TD_TYPE_INT64, n, &err), &err);
  for (int64_t i = 0; i < n; i++) TD_ASSERT_OK(td_array_append_int(&arr, v[i], &err), &err);
  struct ArrowArray x;
  td_colview cv;
  TD_ASSERT_OK(td_array_export(&arr, &x, &err), &err);
  TD_ASSERT_OK(td_colview_init(&cv, TD_TYPE_INT64, &x, &err), &err);
  td_batch b = {n, &cv, NULL, NULL, 0};
  if (n) TD_ASSERT_OK(td_agg_update(a, &b, NULL, 0, &err), &err);
  td_arrow_array_release(&x);
  return n;
}

static void test_merge_exact_after_spill(void **state) {
  (void)state;
  td_error err;
  const td_agg_spec spec = {TD_AGG_COUNT_DISTINCT, 0, TD_TYPE_INT64};
  int64_t wide[300], narrow[500];
  for (int i = 0; i < 300; i++) wide[i] = (int64_t)i * 1000000000; /* 0 is also narrow's */
  for (int i = 0; i < 500; i++) narrow[i] = i % 200;
  /* orders of (empty, wide, narrow): the target first, then the others */
  static const int orders[][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int o = 0; o < 6; o++)
    for (int threads = 1; threads <= 3; threads += 2) {
      td_agg *st[3];
      for (int i = 0; i < 3; i++) {
        TD_ASSERT_OK(td_agg_create(NULL, 0, &spec, 1, &st[i], &err), &err);
        int kind = orders[o][i];
        if (kind == 1) distinct_of(wide, 300, st[i]);
        else if (kind == 2) distinct_of(narrow, 500, st[i]);
      }
      TD_ASSERT_OK(td_agg_merge_all(st[0], st + 1, 2, threads, &err), &err);
      td_array out;
      TD_ASSERT_OK(td_agg_result(st[0], &out, &err), &err);
      if (((int64_t *)out.values)[0] != 499)
        fail_msg("order %d, %d threads: %lld distinct, want 499", o, threads, (long long)((int64_t *)out.values)[0]);
      td_array_reset(&out);
      for (int i = 0; i < 3; i++) td_agg_free(st[i]);
    }
}

int main(void) {
  td__agg_merge_sizes(MIN_GROUPS, 8192 / SC);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_merge_workers),
      cmocka_unit_test(test_merge_overflow),
      cmocka_unit_test(test_merge_alloc_failures),
      cmocka_unit_test(test_merge_deferred_alloc_failure),
      cmocka_unit_test(test_merge_exact_after_spill),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
