/*
 * tests/query/test_removal.c - every query operator on a live source whose
 * locations are added, appended to and removed (ADD_REMOVE) equals the same
 * query on a static table over the final data; results that depend on row
 * order (first, last, head, tail) equal the same operator built afresh on
 * the live source.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy_backend.h"
#include "tabledata.h"
#include "test.h"

typedef struct env {
  td_memory_backend *mb;
  td_proxy proxy;
  td_service *svc;
  td_table_key *key;
  unsigned seed;
} env;

static td_location_key *pkey(const char *p) {
  const char *n = "P";
  td_value v = td_value_str(p);
  td_location_key *k;
  td_location_key_new(p, 1, &n, &v, &k, NULL);
  return k;
}

static void add_rows(env *e, const char *part, int64_t n) {
  td_error err;
  td_builder *b[4];
  td_type_id t[4] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  for (int i = 0; i < 4; i++) td_builder_new(t[i], &b[i], NULL);
  for (int64_t r = 0; r < n; r++) {
    int64_t x = rand_r(&e->seed) % 1000;
    td_builder_append_int(b[0], x % 5, NULL);
    if (x % 7 == 0) td_builder_append_null(b[1], NULL);
    else td_builder_append_int(b[1], x, NULL);
    td_builder_append_double(b[2], (double)x / 8.0, NULL);
    char s[16];
    snprintf(s, sizeof s, "s%lld", (long long)(x % 3));
    td_builder_append_str(b[3], s, -1, NULL);
  }
  struct ArrowArray cols[4], batch;
  for (int i = 0; i < 4; i++) {
    td_builder_finish(b[i], &cols[i], NULL);
    td_builder_free(b[i]);
  }
  TD_ASSERT_OK(td_batch_make(4, cols, &batch, &err), &err);
  td_location_key *k = pkey(part);
  if (td_memory_backend_location_size(e->mb, "m", k) < 0)
    TD_ASSERT_OK(td_memory_backend_add_location(e->mb, "m", k, &batch, &err), &err);
  else
    TD_ASSERT_OK(td_memory_backend_append(e->mb, "m", k, &batch, &err), &err);
  td_location_key_release(k);
}

static void env_open(env *e, int64_t page_size) {
  td_error err;
  memset(e, 0, sizeof *e);
  e->seed = 7;
  TD_ASSERT_OK(td_memory_backend_new(&e->mb, &err), &err);
  const char *names[4] = {"k", "v", "x", "s"};
  td_type_id types[4] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  const char *pn = "P";
  td_type_id pt = TD_TYPE_UTF8;
  struct ArrowSchema ds, ps;
  td_schema_make(4, names, types, NULL, &ds, NULL);
  td_schema_make(1, &pn, &pt, NULL, &ps, NULL);
  TD_ASSERT_OK(td_memory_backend_add_table(e->mb, "m", &ds, &ps, &err), &err);
  TD_ASSERT_OK(td_memory_backend_set_update_mode(e->mb, "m", TD_UPDATE_ADD_REMOVE, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  add_rows(e, "a", 30);
  add_rows(e, "b", 17);
  add_rows(e, "c", 0);
  td_proxy_init(&e->proxy);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = page_size;
  o.update_period_ms = 3600 * 1000; /* cycles only on flush */
  TD_ASSERT_OK(td_service_new(td_proxy_backend(&e->proxy, td_memory_backend_backend(e->mb)), &o, &e->svc, &err),
               &err);
  TD_ASSERT_OK(td_table_key_new("m", &e->key, &err), &err);
}

static void env_close(env *e) {
  td_table_key_release(e->key);
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
  td_proxy_destroy(&e->proxy);
}

static td_table *source(env *e, bool refreshing) {
  td_error err;
  td_table_options o = {NULL, NULL, refreshing};
  td_table *t;
  TD_ASSERT_OK(td_make_table(e->svc, e->key, &o, &t, &err), &err);
  return t;
}

/* The rows of a table as sorted "a|b|c" strings (a multiset). */
typedef struct rows {
  char **v;
  int64_t n;
} rows;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static rows rows_of(td_table *t, bool sorted) {
  td_error err;
  int64_t n = td_table_size(t);
  rows r = {calloc((size_t)n + 1, sizeof(char *)), n};
  struct ArrowArray a;
  struct ArrowSchema s;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, n, &a, &err), &err);
  TD_ASSERT_OK(td_table_schema(t, &s, &err), &err);
  for (int64_t i = 0; i < n; i++) {
    char line[1024] = "";
    for (int64_t c = 0; c < s.n_children; c++) {
      td_value v;
      char buf[128];
      TD_ASSERT_OK(td_arrow_get_value(s.children[c], a.children[c], i, &v, &err), &err);
      if (v.type == TD_TYPE_FLOAT64 && !v.is_null) snprintf(buf, sizeof buf, "%.9g", v.v.f);
      else td_value_format(&v, buf, sizeof buf);
      strncat(line, buf, sizeof line - strlen(line) - 2);
      strcat(line, "|");
    }
    r.v[i] = strdup(line);
  }
  if (sorted) qsort(r.v, (size_t)n, sizeof *r.v, cmp_str);
  a.release(&a);
  s.release(&s);
  return r;
}

static void rows_free(rows *r) {
  for (int64_t i = 0; i < r->n; i++) free(r->v[i]);
  free(r->v);
}

static void assert_same_rows(td_table *a, td_table *b, bool sorted) {
  rows x = rows_of(a, sorted), y = rows_of(b, sorted);
  if (x.n != y.n) fail_msg("%lld rows vs %lld rows", (long long)x.n, (long long)y.n);
  for (int64_t i = 0; i < x.n; i++)
    if (strcmp(x.v[i], y.v[i]) != 0) fail_msg("row %lld: %s vs %s", (long long)i, x.v[i], y.v[i]);
  rows_free(&x);
  rows_free(&y);
}


static void remove_part(env *e, const char *part) {
  td_error err;
  td_location_key *k = pkey(part);
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
  env e;
  env_open(&e, 8);
  td_table *live_src = source(&e, true);
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
        add_rows(&e, parts[p], rand_r(&e.seed) % 23);
        present[p] = true;
      }
    }
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    if (h.errors) fail_msg("%s: %s", o->name, h.error);
    td_table *st_src = source(&e, false);
    assert_int_equal(td_table_size(live_src), td_table_size(st_src));
    if (o->order_dependent) {
      td_table *fresh = build(o, live_src);
      assert_same_rows(live, fresh, false);
      td_table_release(fresh);
    } else {
      td_table *st = build(o, st_src);
      assert_same_rows(live, st, o->kind != 4);
      td_table_release(st);
    }
    td_table_release(st_src);
  }
  assert_true(removals > 3);
  td_table_release(live);
  td_table_release(live_src);
  env_close(&e);
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
