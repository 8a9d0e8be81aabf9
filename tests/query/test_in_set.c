/*
 * tests/query/test_in_set.c - `x IN (list)` through the set of its items
 * (query/inset.c) against membership counted here, in C.
 *
 * An int64 column v of a memory table (two locations, nulls, both ends of
 * int64, negatives) and the same rows as Parquet (row groups of 256 rows,
 * so a long list's sorted items prune pages, query/prune.c) are filtered
 * by IN and NOT IN lists of every shape the set has: a few items (compared
 * one by one), dense items (a bitmap over their range), sparse items (a
 * table of values; past 32k slots probed ahead), items at INT64_MIN and
 * INT64_MAX (a range wider than int64), duplicates, a NULL item, a float
 * item (the general table), and a subquery's list (one literal a distinct
 * value).  Each count, at 1 and 2 threads, is the one counted in C with
 * SQL's rule: a value not found in a list holding NULL is NULL (no row).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "mtable.h"
#include "test.h"

enum { ROWS = 3000, LOCS = 2 };

/* v of row r of location l; *null for a null. */
static int64_t value(int64_t l, int64_t r, bool *null) {
  *null = r % 97 == 5;
  int64_t i = l * ROWS + r;
  if (i % 1000 == 7) return INT64_MIN;
  if (i % 1000 == 8) return INT64_MAX;
  if (i % 3 == 0) return i % 400 - 150; /* small, dense, negative too */
  return (int64_t)((uint64_t)i * 0x9E3779B97F4A7C15ULL >> 20); /* spread */
}

static void env_open(mt_mem *e, char *dir, size_t cap) {
  td_error err;
  static const char *const names[1] = {"v"};
  static const td_type_id types[1] = {TD_TYPE_INT64};
  static const char *const tz[1] = {NULL};
  mt_mem_open(e, 128);
  mt_mem_paths(e, 128);
  for (int64_t l = 0; l < LOCS; l++) {
    td_builder *b;
    struct ArrowArray col;
    TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &b, &err), &err);
    for (int64_t r = 0; r < ROWS; r++) {
      bool null;
      int64_t v = value(l, r, &null);
      TD_ASSERT_OK(null ? td_builder_append_null(b, &err) : td_builder_append_int(b, v, &err), &err);
    }
    TD_ASSERT_OK(td_builder_finish(b, &col, &err), &err);
    td_builder_free(b);
    mt_mem_add(e, "m", l == 0, l == 0 ? "a" : "b", 1, names, types, tz, &col);
  }
  snprintf(dir, cap, "%s", td_test_scratch_path("inset"));
  mkdir(dir, 0755);
  char sql[900];
  snprintf(sql, sizeof sql, "COPY m TO '%s/x.parquet' (FORMAT parquet, ROW_GROUP_SIZE 256, OVERWRITE)", dir);
  free(mt_mem_text(e, sql));
}

/* A list of items as SQL text (malloc'd) and what the C count needs. */
typedef struct list {
  char *sql;
  size_t len, cap;
  int64_t *items;
  int64_t n;
  bool has_null;
} list;

static void put(list *L, const char *s) {
  size_t k = strlen(s);
  if (L->len + k + 1 > L->cap) {
    L->cap = (L->len + k + 1) * 2;
    L->sql = realloc(L->sql, L->cap);
    assert_non_null(L->sql);
  }
  memcpy(L->sql + L->len, s, k + 1);
  L->len += k;
}

static void add(list *L, int64_t v) {
  char t[32];
  if (v == INT64_MIN) snprintf(t, sizeof t, "%s(-9223372036854775807 - 1)", L->len ? ", " : "");
  else snprintf(t, sizeof t, "%s%lld", L->len ? ", " : "", (long long)v);
  put(L, t);
  L->items = realloc(L->items, (size_t)(L->n + 1) * sizeof *L->items);
  assert_non_null(L->items);
  L->items[L->n++] = v;
}

static void add_null(list *L) {
  put(L, L->len ? ", NULL" : "NULL");
  L->has_null = true;
}

/* Rows of m whose v passes `v [NOT] IN L`, counted here; *sum the sum of
 * their v % 1000003 (so that a set answering for the wrong values fails
 * even when their number is right). */
static long expected_sum(const list *L, bool negated, long long *sum) {
  long n = 0;
  *sum = 0;
  for (int64_t l = 0; l < LOCS; l++)
    for (int64_t r = 0; r < ROWS; r++) {
      bool null, found = false;
      int64_t v = value(l, r, &null);
      if (null) continue;
      for (int64_t k = 0; k < L->n && !found; k++) found = L->items[k] == v;
      if (found ? !negated : (!L->has_null && negated)) {
        n++;
        *sum += v % 1000003;
      }
    }
  return n;
}

static long expected(const list *L, bool negated) {
  long long sum;
  return expected_sum(L, negated, &sum);
}

/* count(*) of `from` WHERE pred; *sum the sum of v % 1000003 (0 when no row). */
static long count_sum(mt_mem *e, const char *from, const char *pred, int threads, long long *sum) {
  size_t k = strlen(from) + strlen(pred) + 96;
  char *sql = malloc(k);
  assert_non_null(sql);
  snprintf(sql, k, "SELECT count(*), coalesce(sum(v %% 1000003), 0) FROM %s WHERE %s", from, pred);
  td_query_options qo = mt_mem_options(e, threads);
  char *got = mt_query_text(sql, &qo), *end;
  long n = strtol(got, &end, 10);
  assert_true(*end == '|');
  *sum = strtoll(end + 1, NULL, 10);
  free(got);
  free(sql);
  return n;
}

static long count_of(mt_mem *e, const char *from, const char *pred, int threads) {
  long long sum;
  return count_sum(e, from, pred, threads, &sum);
}

/* v IN L and v NOT IN L on m and on the Parquet copy, 1 and 2 threads. */
static void check(mt_mem *e, const char *dir, const char *what, const list *L) {
  char from[600];
  snprintf(from, sizeof from, "'%s'", dir);
  for (int neg = 0; neg < 2; neg++) {
    size_t k = L->len + 32;
    char *pred = malloc(k);
    assert_non_null(pred);
    snprintf(pred, k, "v %sIN (%s)", neg ? "NOT " : "", L->sql);
    long long want_sum, got_sum;
    long want = expected_sum(L, neg, &want_sum);
    for (int s = 0; s < 2; s++)
      for (int t = 1; t <= 2; t++) {
        long got = count_sum(e, s ? from : "m", pred, t, &got_sum);
        if (got != want || got_sum != want_sum)
          fail_msg("%s, %sIN, %s, %d threads: %ld rows (sum %lld), counted %ld (sum %lld)", what, neg ? "NOT " : "",
                   s ? "Parquet" : "m", t, got, got_sum, want, want_sum);
      }
    free(pred);
  }
}

static void list_free(list *L) {
  free(L->sql);
  free(L->items);
  memset(L, 0, sizeof *L);
}

static void test_lists(void **state) {
  (void)state;
  mt_mem e;
  char dir[512];
  env_open(&e, dir, sizeof dir);
  list L = {0};
  /* a few items, one of them repeated */
  add(&L, -150), add(&L, 0), add(&L, 7), add(&L, 0), add(&L, 249);
  check(&e, dir, "a few items", &L);
  list_free(&L);
  /* dense (a bitmap): every third value of [-150, 250), twice over, and one past the data's */
  for (int rep = 0; rep < 2; rep++)
    for (int64_t v = -150; v < 250; v += 3) add(&L, v);
  add(&L, 300);
  check(&e, dir, "dense items", &L);
  add_null(&L);
  check(&e, dir, "dense items and NULL", &L);
  list_free(&L);
  /* more than 8 items that are 3 distinct ones */
  for (int k = 0; k < 12; k++) add(&L, k % 3 - 1);
  check(&e, dir, "repeated items", &L);
  list_free(&L);
  /* sparse, past 32k slots: every 7th row's value of each location, misses around them */
  for (int64_t l = 0; l < LOCS; l++)
    for (int64_t r = 0; r < ROWS; r += 7) {
      bool null;
      int64_t v = value(l, r, &null);
      add(&L, v);
      add(&L, v ^ 0x5555);
      add(&L, (int64_t)(0 - (uint64_t)v - 3));
    }
  for (int64_t k = 0; L.n < 17000; k++) add(&L, (int64_t)((uint64_t)k * 0xD1B54A32D192ED03ULL));
  check(&e, dir, "sparse items", &L);
  list_free(&L);
  /* both ends of int64: a range wider than int64 */
  add(&L, INT64_MIN), add(&L, INT64_MAX);
  for (int64_t v = 0; v < 20; v++) add(&L, v * 1000003);
  check(&e, dir, "INT64_MIN and INT64_MAX", &L);
  list_free(&L);
  add(&L, INT64_MIN);
  for (int64_t v = -12; v < 0; v++) add(&L, v);
  check(&e, dir, "INT64_MIN and negatives", &L);
  add_null(&L);
  check(&e, dir, "INT64_MIN, negatives, NULL", &L);
  list_free(&L);
  /* a float item: the general set (integers compared as doubles); 2.5 matches nothing */
  for (int64_t v = -20; v < 20; v++) add(&L, v);
  put(&L, ", 2.5");
  check(&e, dir, "a float item", &L);
  list_free(&L);
  mt_mem_close(&e);
}

/* A subquery's list (its distinct values, one literal each): the rows
 * whose value is even, counted here. */
static void test_subquery(void **state) {
  (void)state;
  mt_mem e;
  char dir[512];
  env_open(&e, dir, sizeof dir);
  list L = {0};
  for (int64_t l = 0; l < LOCS; l++)
    for (int64_t r = 0; r < ROWS; r++) {
      bool null;
      int64_t v = value(l, r, &null);
      if (!null && v % 2 == 0 && v != INT64_MIN) add(&L, v);
    }
  long want = expected(&L, false);
  assert_true(want > 1000);
  char from[600];
  snprintf(from, sizeof from, "'%s'", dir);
  const char *pred = "v IN (SELECT v FROM m WHERE v % 2 = 0 AND v > (-9223372036854775807 - 1))";
  for (int s = 0; s < 2; s++)
    for (int t = 1; t <= 2; t++) {
      long got = count_of(&e, s ? from : "m", pred, t);
      if (got != want) fail_msg("a subquery's list, %s, %d threads: %ld rows, counted %ld", s ? "Parquet" : "m", t, got, want);
    }
  list_free(&L);
  mt_mem_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lists),
      cmocka_unit_test(test_subquery),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
