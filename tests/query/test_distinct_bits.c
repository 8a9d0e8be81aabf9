/*
 * tests/query/test_distinct_bits.c - grouped count(DISTINCT x) of integers
 * in bulk mode marks each group's values in a bitmap over a window of
 * values (agg.c, gbits_add): the marks are the state (counted, ORed when
 * states merge) until something needs the set, which then gets each marked
 * pair once (gbits_flush).  Each case folds the same
 * batches into a bulk state and into a state that is never in bulk mode
 * (every pair straight into the set), and the counts must agree: values in
 * a narrow window, with nulls and negative values; a window that widens
 * batch by batch, both ways; a batch that takes the values past the widest
 * window (the marks go to the set midway, the later rows' pairs straight
 * there); the extremes of int64; more groups than the bitmaps' budget; a
 * selection vector (FILTER); a constant input between bitmap batches;
 * partial states with different windows merged by td_agg_merge_all at 1,
 * 2 and 4 workers and by td_agg_merge; a settled state's marks as the
 * state, then batches out of bulk mode and empty groups dropped (the
 * set's work); every allocation failing in turn (TD_ENOMEM,
 * nothing leaked).
 */
#include <stdlib.h>
#include <string.h>

#include "query/agg.h"
#include "test.h"
#include "util/alloc.h"

/* Column 0: the key (int64), column 1: x (int64, null where the value is
 * NULL_X). */
#define NULL_X INT64_MIN + 7

static const td_agg_key keys[] = {{0, TD_TYPE_INT64}};
static const td_agg_spec specs[] = {{TD_AGG_COUNT_DISTINCT, 1, TD_TYPE_INT64}, {TD_AGG_COUNT_STAR, -1, TD_TYPE_NONE}};

typedef int64_t (*gen_fn)(int64_t row, int64_t *key);

/* Rows [r0, r0 + n) of gen as a batch (every third row selected when
 * `filter`); free it with batch_free. */
typedef struct gbatch {
  struct ArrowArray arr[2];
  td_colview v[2];
  uint32_t *sel;
  td_batch b;
} gbatch;

static void make_batch(gbatch *g, gen_fn gen, int64_t r0, int64_t n, bool filter) {
  td_array col[2];
  td_error err;
  for (int c = 0; c < 2; c++) TD_ASSERT_OK(td_array_init(&col[c], TD_TYPE_INT64, n, &err), &err);
  for (int64_t r = r0; r < r0 + n; r++) {
    int64_t k, x = gen(r, &k);
    TD_ASSERT_OK(td_array_append_int(&col[0], k, &err), &err);
    TD_ASSERT_OK(x == NULL_X ? td_array_append_null(&col[1], &err) : td_array_append_int(&col[1], x, &err), &err);
  }
  for (int c = 0; c < 2; c++) {
    TD_ASSERT_OK(td_array_export(&col[c], &g->arr[c], &err), &err);
    TD_ASSERT_OK(td_colview_init(&g->v[c], TD_TYPE_INT64, &g->arr[c], &err), &err);
  }
  int64_t n_sel = 0;
  g->sel = NULL;
  if (filter) {
    g->sel = malloc((size_t)n * sizeof *g->sel);
    for (int64_t i = 0; i < n; i += 3) g->sel[n_sel++] = (uint32_t)i;
  }
  g->b = (td_batch){n, g->v, NULL, g->sel, n_sel};
}

static void batch_free(gbatch *g) {
  free(g->sel);
  for (int c = 0; c < 2; c++) g->arr[c].release(&g->arr[c]);
}

static int update(td_agg *a, const gbatch *g, td_error *err) {
  return td_agg_update(a, &g->b, g->sel, g->b.n_sel, err);
}

/* Folds rows [r0, r0 + n) of gen into a; td_agg_update's code. */
static int fold(td_agg *a, gen_fn gen, int64_t r0, int64_t n, bool filter, td_error *err) {
  gbatch g;
  make_batch(&g, gen, r0, n, filter);
  int rc = update(a, &g, err);
  batch_free(&g);
  return rc;
}

static td_agg *new_state(bool bulk) {
  td_agg *a;
  td_error err;
  TD_ASSERT_OK(td_agg_create(keys, 1, specs, 2, &a, &err), &err);
  if (bulk) td_agg_set_bulk(a, true);
  return a;
}

/* The (key, count) pairs of a's result, sorted by key. */
typedef struct kc {
  int64_t key, count, rows;
} kc;

static int kc_cmp(const void *p, const void *q) {
  const kc *x = p, *y = q;
  return (x->key > y->key) - (x->key < y->key);
}

static kc *result(const td_agg *a, int64_t *n) {
  td_array out[3];
  td_error err;
  TD_ASSERT_OK(td_agg_result(a, out, &err), &err);
  *n = td_agg_group_count(a);
  kc *r = malloc((size_t)(*n + 1) * sizeof *r);
  for (int64_t g = 0; g < *n; g++)
    r[g] = (kc){((const int64_t *)out[0].values)[g], ((const int64_t *)out[1].values)[g],
                ((const int64_t *)out[2].values)[g]};
  for (int c = 0; c < 3; c++) td_array_reset(&out[c]);
  qsort(r, (size_t)*n, sizeof *r, kc_cmp);
  return r;
}

static void same(const td_agg *x, const td_agg *y) {
  int64_t nx, ny;
  kc *a = result(x, &nx), *b = result(y, &ny);
  assert_int_equal(nx, ny);
  for (int64_t g = 0; g < nx; g++) {
    assert_int_equal(a[g].key, b[g].key);
    if (a[g].count != b[g].count) fail_msg("key %lld: %lld distinct, expected %lld", (long long)a[g].key,
                                           (long long)a[g].count, (long long)b[g].count);
    assert_int_equal(a[g].rows, b[g].rows);
  }
  free(a);
  free(b);
}

/* ---- the generators: x for row r, *key its group ---- */

static int64_t narrow(int64_t r, int64_t *k) { /* -40 .. 59, nulls */
  *k = r % 37;
  return r % 19 == 4 ? NULL_X : (r * 7919) % 100 - 40;
}
static int64_t shifted(int64_t r, int64_t *k) { /* 1000 .. 1099: narrow's window and this one fit one */
  *k = r % 37;
  return 1000 + (r * 7919) % 100;
}
static int64_t widening(int64_t r, int64_t *k) { /* the window grows batch by batch, both ways */
  *k = r % 11;
  int64_t step = r / 1000;
  return step % 2 ? 500 * step + r % 97 : -300 * step - r % 89;
}
static int64_t too_wide(int64_t r, int64_t *k) { /* past the widest window after 3000 rows */
  *k = r % 13;
  return r < 3000 ? r % 50 : (r * 104729) % 1000003;
}
static int64_t extremes(int64_t r, int64_t *k) {
  *k = r % 5;
  return r % 3 == 0 ? INT64_MAX - r % 7 : r % 3 == 1 ? INT64_MIN + 8 + r % 5 : r % 40;
}
static int64_t many_groups(int64_t r, int64_t *k) { /* 140k groups over a 4000-value window: past the budget */
  *k = r % 140000;
  return (r / 140000) * 997 % 4000 + (r % 3);
}

typedef struct gcase {
  const char *name;
  gen_fn gen;
  int64_t rows, batch;
  bool filter;
} gcase;

static const gcase cases[] = {
    {"narrow", narrow, 20000, 4096, false},     {"narrow, filtered", narrow, 20000, 1000, true},
    {"widening", widening, 12000, 1000, false}, {"too wide", too_wide, 9000, 1000, false},
    {"extremes", extremes, 5000, 700, false},   {"many groups", many_groups, 560000, 70000, false},
};

static void test_same_as_set(void **state) {
  (void)state;
  td_error err;
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const gcase *g = &cases[c];
    td_agg *bits = new_state(true), *set = new_state(false);
    for (int64_t r = 0; r < g->rows; r += g->batch) {
      int64_t n = g->rows - r < g->batch ? g->rows - r : g->batch;
      TD_ASSERT_OK(fold(bits, g->gen, r, n, g->filter, &err), &err);
      TD_ASSERT_OK(fold(set, g->gen, r, n, g->filter, &err), &err);
    }
    TD_ASSERT_OK(td_agg_settle(bits, &err), &err);
    same(bits, set);
    td_agg_free(bits);
    td_agg_free(set);
  }
}

/* A constant input (a partition column's value) between batches of the
 * column: its pairs join the marked ones. */
static void test_constant_between(void **state) {
  (void)state;
  td_error err;
  td_agg *bits = new_state(true), *set = new_state(false);
  for (int pass = 0; pass < 3; pass++) {
    for (int s = 0; s < 2; s++) TD_ASSERT_OK(fold(s ? set : bits, narrow, pass * 500, 500, false, &err), &err);
    td_array kcol;
    TD_ASSERT_OK(td_array_init(&kcol, TD_TYPE_INT64, 40, &err), &err);
    for (int64_t i = 0; i < 40; i++) TD_ASSERT_OK(td_array_append_int(&kcol, i % 37, &err), &err);
    struct ArrowArray arr;
    td_colview v[2];
    TD_ASSERT_OK(td_array_export(&kcol, &arr, &err), &err);
    TD_ASSERT_OK(td_colview_init(&v[0], TD_TYPE_INT64, &arr, &err), &err);
    memset(&v[1], 0, sizeof v[1]);
    td_value consts[2] = {{.type = TD_TYPE_NONE}, td_value_int(TD_TYPE_INT64, 1000 + pass)};
    td_batch b = {40, v, consts, NULL, 0};
    for (int s = 0; s < 2; s++) TD_ASSERT_OK(td_agg_update(s ? set : bits, &b, NULL, 0, &err), &err);
    arr.release(&arr);
  }
  TD_ASSERT_OK(td_agg_settle(bits, &err), &err);
  same(bits, set);
  td_agg_free(bits);
  td_agg_free(set);
}

/* Partial states with different windows (and one past the widest) merged
 * at 1, 2 and 4 workers, and pairwise by td_agg_merge. */
static void test_merges(void **state) {
  (void)state;
  td_error err;
  static const gen_fn gens[] = {narrow, shifted, widening, too_wide}; /* marks ORed at an offset; sets */
  static const int64_t first[] = {0, 5000, 20000, 0};
  td_agg *ref = new_state(false);
  for (int p = 0; p < 4; p++) TD_ASSERT_OK(fold(ref, gens[p], first[p], 4000, false, &err), &err);
  for (int threads = 0; threads <= 4; threads = threads ? threads * 2 : 1) {
    int parts = threads ? 4 : 2; /* threads 0: td_agg_merge of the first two */
    td_agg *st[4];
    for (int p = 0; p < parts; p++) {
      st[p] = new_state(true);
      TD_ASSERT_OK(fold(st[p], gens[p], first[p], 4000, false, &err), &err);
    }
    if (threads) {
      TD_ASSERT_OK(td_agg_merge_all(st[0], st + 1, 3, threads, &err), &err);
    } else {
      TD_ASSERT_OK(td_agg_merge(st[0], st[1], &err), &err);
    }
    TD_ASSERT_OK(td_agg_settle(st[0], &err), &err);
    if (threads) {
      same(st[0], ref);
    } else {
      td_agg *ref2 = new_state(false);
      for (int p = 0; p < 2; p++) TD_ASSERT_OK(fold(ref2, gens[p], first[p], 4000, false, &err), &err);
      same(st[0], ref2);
      td_agg_free(ref2);
    }
    for (int p = 0; p < parts; p++) td_agg_free(st[p]);
  }
  td_agg_free(ref);
}

/* A settled bulk state keeps its marks as the state; the live operations
 * after it work on the set: batches out of bulk mode (inside and outside
 * the window), empty groups dropped (a new state made from the set): the
 * same counts as states that never had marks. */
static void test_live_after_settle(void **state) {
  (void)state;
  td_error err;
  td_agg *a = new_state(true), *ref = new_state(false);
  TD_ASSERT_OK(fold(a, narrow, 0, 5000, false, &err), &err);
  TD_ASSERT_OK(td_agg_settle(a, &err), &err);
  TD_ASSERT_OK(fold(ref, narrow, 0, 5000, false, &err), &err);
  same(a, ref); /* counted from the marks */
  TD_ASSERT_OK(fold(a, narrow, 5000, 700, false, &err), &err); /* out of bulk mode: the set */
  TD_ASSERT_OK(fold(ref, narrow, 5000, 700, false, &err), &err);
  TD_ASSERT_OK(fold(a, too_wide, 8000, 500, false, &err), &err);
  TD_ASSERT_OK(fold(ref, too_wide, 8000, 500, false, &err), &err);
  same(a, ref);
  td_agg_free(a);
  td_agg_free(ref);

  /* the empty groups dropped (none): a new state made from the set */
  a = new_state(true);
  ref = new_state(false);
  TD_ASSERT_OK(fold(a, narrow, 0, 5000, false, &err), &err);
  TD_ASSERT_OK(td_agg_settle(a, &err), &err);
  TD_ASSERT_OK(fold(ref, narrow, 0, 5000, false, &err), &err);
  int64_t *dropped, n_dropped;
  TD_ASSERT_OK(td_agg_drop_empty(&a, 1, &dropped, &n_dropped, &err), &err);
  assert_int_equal(n_dropped, 0);
  td_free(dropped);
  same(a, ref);
  TD_ASSERT_OK(fold(a, widening, 0, 3000, false, &err), &err); /* and on from there */
  TD_ASSERT_OK(fold(ref, widening, 0, 3000, false, &err), &err);
  same(a, ref);
  td_agg_free(a);
  td_agg_free(ref);
}

/* Every allocation of a bulk fold (window growth, more groups) and of the
 * settle failing in turn: TD_ENOMEM with a message, nothing leaked. */
static void test_alloc_failures(void **state) {
  (void)state;
  gbatch g[6];
  for (int i = 0; i < 6; i++) make_batch(&g[i], widening, i * 1000, 1000, false);
  bool passed = false;
  for (int64_t k = 0; !passed && k < 10000; k++) {
    td_agg *a = new_state(true);
    td_error err;
    td__alloc_fail_after(k);
    int rc = TD_OK;
    for (int i = 0; rc == TD_OK && i < 6; i++) rc = update(a, &g[i], &err);
    if (rc == TD_OK) rc = td_agg_settle(a, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      passed = true;
    } else {
      assert_int_equal(rc, TD_ENOMEM);
      assert_true(err.message[0] != '\0');
    }
    td_agg_free(a);
  }
  assert_true(passed);
  for (int i = 0; i < 6; i++) batch_free(&g[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_as_set),
      cmocka_unit_test(test_constant_between),
      cmocka_unit_test(test_merges),
      cmocka_unit_test(test_live_after_settle),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
