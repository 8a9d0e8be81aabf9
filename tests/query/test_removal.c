/*
 * tests/query/test_removal.c - every query operator on a live source whose
 * locations are added, appended to and removed (ADD_REMOVE) equals the same
 * query on a static table over the final data; results that depend on row
 * order (first, last, head, tail) equal the same operator built afresh on
 * the live source.
 */
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "proxy_backend.h"
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_removal_where),          cmocka_unit_test(test_removal_view),
      cmocka_unit_test(test_removal_agg),            cmocka_unit_test(test_removal_agg_total),
      cmocka_unit_test(test_removal_agg_first_last), cmocka_unit_test(test_removal_agg_partition),
      cmocka_unit_test(test_removal_distinct),       cmocka_unit_test(test_removal_distinct_partition),
      cmocka_unit_test(test_removal_sort),           cmocka_unit_test(test_removal_head),
      cmocka_unit_test(test_removal_tail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
