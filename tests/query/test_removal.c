/*
 * tests/query/test_removal.c - every query operator on a live source whose
 * locations are added, appended to and removed (ADD_REMOVE) equals the same
 * query on a static table over the final data; results that depend on row
 * order (first, last, head, tail) equal the same operator built afresh on
 * the live source.  Aggregations retract: a removal reads no other
 * location's data, reports only the groups it changed, and drops the
 * groups it emptied.
 */
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "proxy_backend.h"
#include "query/ops.h"
#include "tabledata.h"
#include "test.h"

static void remove_part(mt_env *e, const char *part) {
  td_error err;
  td_location_key *k = mt_pkey(part);
  TD_ASSERT_OK(td_memory_backend_remove_location(e->mb, "m", k, &err), &err);
  td_location_key_release(k);
}

typedef struct op {
  const char *name;
  int kind; /* 0 where, 1 view, 2 agg, 3 distinct, 4 sort, 5 head, 6 tail */
  const char *const *args;
  int64_t n_args;
  const char *const *by;
  int64_t n_by;
  bool order_dependent; /* compare with the operator built afresh on the live source */
} op;

static td_table *build(const op *o, td_table *src) {
  td_table *t = NULL;
  td_error err;
  int rc = TD_OK;
  switch (o->kind) {
  case 0: rc = td_table_where(src, o->args[0], &t, &err); break;
  case 1: rc = td_table_view(src, o->args, o->n_args, &t, &err); break;
  case 2: rc = td_table_agg_by(src, o->args, o->n_args, o->by, o->n_by, &t, &err); break;
  case 3: rc = td_table_select_distinct(src, o->args, o->n_args, &t, &err); break;
  case 4: {
    bool desc[5] = {true, false, false, true, false};
    rc = td_table_sort(src, o->args, desc, o->n_args, &t, &err);
    break;
  }
  case 5: rc = td_table_head(src, 9, &t, &err); break;
  default: rc = td_table_tail(src, 11, &t, &err); break;
  }
  TD_ASSERT_OK(rc, &err);
  return t;
}

typedef struct heard_t {
  int64_t calls, errors;
  char error[TD_ERROR_MESSAGE_SIZE];
} heard_t;

static void listen(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)t;
  heard_t *h = ctx;
  if (e) {
    h->errors++;
    snprintf(h->error, sizeof h->error, "%s", e->message);
    return;
  }
  h->calls++;
}

static void live_equals_static(const op *o) {
  mt_env e;
  mt_open(&e, 8, true);
  td_table *live_src = mt_source(&e, true);
  td_table *live = build(o, live_src);
  heard_t h = {0};
  td_error err;
  TD_ASSERT_OK(td_table_add_listener(live, listen, &h, NULL, &err), &err);
  static const char *parts[6] = {"a", "b", "c", "d", "e", "f"};
  bool present[6] = {true, true, true, false, false, false};
  int removals = 0;
  for (int step = 0; step < 16; step++) {
    int n_ops = 1 + rand_r(&e.seed) % 4;
    for (int i = 0; i < n_ops; i++) {
      int p = rand_r(&e.seed) % 6;
      if (present[p] && rand_r(&e.seed) % 3 == 0) {
        remove_part(&e, parts[p]);
        present[p] = false;
        removals++;
      } else {
        mt_add_rows(&e, parts[p], rand_r(&e.seed) % 23);
        present[p] = true;
      }
    }
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    if (h.errors) fail_msg("%s: %s", o->name, h.error);
    td_table *st_src = mt_source(&e, false);
    assert_int_equal(td_table_size(live_src), td_table_size(st_src));
    if (o->order_dependent) {
      td_table *fresh = build(o, live_src);
      mt_assert_same_rows(live, fresh, false);
      td_table_release(fresh);
    } else {
      td_table *st = build(o, st_src);
      mt_assert_same_rows(live, st, o->kind != 4);
      td_table_release(st);
    }
    td_table_release(st_src);
  }
  assert_true(removals > 3);
  if (o->kind == 2 || o->kind == 3) { /* aggregations retracted every removal */
    int64_t fallbacks, rescans = td__agg_retract_stats(live, &fallbacks);
    assert_int_equal(fallbacks, 0);
    printf("%s: %lld rescans for %d removals\n", o->name, (long long)rescans, removals);
  }
  td_table_release(live);
  td_table_release(live_src);
  mt_close(&e);
}

static const char *where_args[] = {"v > 300 AND s != 's1' OR v IS NULL"};
static const char *view_args[] = {"P", "v * 2 + k AS w", "x / 2", "s"};
static const char *agg_args[] = {"count(*) AS n", "count(v)", "sum(v) AS total", "avg(v)", "sum(x * 2)",
                                 "min(s)", "max(x)", "min(v)", "max(P)"};
/* first/last per location: well defined whatever order locations and
 * appends arrive in (a live aggregation folds appends in arrival order). */
static const char *agg_order_args[] = {"first(v)", "last(s)", "first(k)", "last(x)", "count(*)"};
static const char *by_ks[] = {"k", "s"};
static const char *by_p[] = {"P"};
static const char *part_aggs[] = {"count(*)", "min(P)", "max(P)"};
static const char *distinct_args[] = {"k", "s"};
static const char *distinct_p[] = {"P"};
static const char *sort_args[] = {"v", "s", "k", "P", "x"};

#define OP_TEST(fn, ...)                     \
  static void fn(void **state) {             \
    (void)state;                             \
    const op o = __VA_ARGS__;                \
    live_equals_static(&o);                  \
  }

OP_TEST(test_removal_where, {"where", 0, where_args, 1, NULL, 0, false})
OP_TEST(test_removal_view, {"view", 1, view_args, 4, NULL, 0, false})
OP_TEST(test_removal_agg, {"agg", 2, agg_args, 9, by_ks, 2, false})
OP_TEST(test_removal_agg_total, {"agg total", 2, agg_args, 9, NULL, 0, false})
OP_TEST(test_removal_agg_first_last, {"first/last", 2, agg_order_args, 5, by_p, 1, false})
OP_TEST(test_removal_agg_partition, {"agg partition", 2, part_aggs, 3, by_p, 1, false})
OP_TEST(test_removal_distinct, {"distinct", 3, distinct_args, 2, NULL, 0, false})
OP_TEST(test_removal_distinct_partition, {"distinct partition", 3, distinct_p, 1, NULL, 0, false})
OP_TEST(test_removal_sort, {"sort", 4, sort_args, 5, NULL, 0, false})
OP_TEST(test_removal_head, {"head", 5, NULL, 0, NULL, 0, true})
OP_TEST(test_removal_tail, {"tail", 6, NULL, 0, NULL, 0, true})

/* The last update an aggregation heard. */
typedef struct last_t {
  int64_t calls, n_changed, n_removed, removed_begin0;
  bool replaced;
} last_t;

static void keep_last(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)t;
  last_t *l = ctx;
  assert_null(e);
  l->calls++;
  l->replaced = u->replaced;
  l->n_changed = u->n_changed;
  l->n_removed = u->n_removed;
  l->removed_begin0 = u->n_removed ? u->removed_begin[0] : -1;
  for (int64_t i = 0; i < u->n_removed; i++) assert_null(u->removed[i].location);
}

static int64_t values_calls(mt_env *e, const char *loc) { return td_proxy_count(&e->proxy, TD_METHOD_COLUMN_VALUES, loc); }

static void test_removal_agg_retracts(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, true); /* a: 30 rows, b: 17 */
  mt_add_rows(&e, "d", 40);
  td_table *src = mt_source(&e, true);
  static const char *sums[] = {"count(*) AS n", "sum(v) AS total", "avg(x) AS ax", "count(v) AS nv", "sum(x)"};
  static const char *mins[] = {"count(*) AS n", "min(v) AS lo", "max(x) AS hi", "sum(v)", "last(s)"};
  static const char *by_k[] = {"k"};
  td_table *by_key, *by_part;
  td_error err;
  TD_ASSERT_OK(td_table_agg_by(src, sums, 5, by_k, 1, &by_key, &err), &err);
  TD_ASSERT_OK(td_table_agg_by(src, mins, 5, by_p, 1, &by_part, &err), &err);
  assert_int_equal(td_table_size(by_key), 5);
  assert_int_equal(td_table_size(by_part), 3); /* a, b, d (c has no row) */
  last_t lk = {0}, lp = {0};
  TD_ASSERT_OK(td_table_add_listener(by_key, keep_last, &lk, NULL, &err), &err);
  TD_ASSERT_OK(td_table_add_listener(by_part, keep_last, &lp, NULL, &err), &err);
  int64_t a0 = values_calls(&e, "P=a"), d0 = values_calls(&e, "P=d");
  remove_part(&e, "b");
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  /* No other location was read: the removed rows were subtracted. */
  assert_int_equal(values_calls(&e, "P=a"), a0);
  assert_int_equal(values_calls(&e, "P=d"), d0);
  int64_t fallbacks;
  assert_int_equal(td__agg_retract_stats(by_key, &fallbacks), 0);
  assert_int_equal(fallbacks, 0);
  assert_int_equal(td__agg_retract_stats(by_part, &fallbacks), 0);
  assert_int_equal(fallbacks, 0);
  /* by k: the same groups, only those b had rows in changed. */
  assert_int_equal(lk.calls, 1);
  assert_false(lk.replaced);
  assert_true(lk.n_changed >= 1 && lk.n_changed <= 5);
  assert_int_equal(lk.n_removed, 0);
  /* by P: group b (position 1) left. */
  assert_int_equal(lp.calls, 1);
  assert_true(lp.replaced);
  assert_int_equal(lp.n_removed, 1);
  assert_int_equal(lp.removed_begin0, 1);
  assert_int_equal(td_table_size(by_part), 2);
  td_table *st_src = mt_source(&e, false), *st;
  TD_ASSERT_OK(td_table_agg_by(st_src, sums, 5, by_k, 1, &st, &err), &err);
  mt_assert_same_rows(by_key, st, true);
  td_table_release(st);
  TD_ASSERT_OK(td_table_agg_by(st_src, mins, 5, by_p, 1, &st, &err), &err);
  mt_assert_same_rows(by_part, st, true);
  td_table_release(st);
  /* Appends and a removal in one cycle; the group of a location added again
   * comes back at the end. */
  mt_add_rows(&e, "a", 9);
  mt_add_rows(&e, "b", 5);
  remove_part(&e, "d");
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  td_table_release(st_src);
  st_src = mt_source(&e, false);
  TD_ASSERT_OK(td_table_agg_by(st_src, sums, 5, by_k, 1, &st, &err), &err);
  mt_assert_same_rows(by_key, st, true);
  td_table_release(st);
  TD_ASSERT_OK(td_table_agg_by(st_src, mins, 5, by_p, 1, &st, &err), &err);
  mt_assert_same_rows(by_part, st, true);
  td_table_release(st);
  td_table_release(st_src);
  td_table_release(by_key);
  td_table_release(by_part);
  td_table_release(src);
  mt_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_removal_where),          cmocka_unit_test(test_removal_view),
      cmocka_unit_test(test_removal_agg),            cmocka_unit_test(test_removal_agg_total),
      cmocka_unit_test(test_removal_agg_first_last), cmocka_unit_test(test_removal_agg_partition),
      cmocka_unit_test(test_removal_distinct),       cmocka_unit_test(test_removal_distinct_partition),
      cmocka_unit_test(test_removal_sort),           cmocka_unit_test(test_removal_head),
      cmocka_unit_test(test_removal_tail),           cmocka_unit_test(test_removal_agg_retracts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
