/*
 * tests/core/test_refresh.c - refreshing tables: the seeds' refreshing
 * sequence, ordering and row keys across batches, duplicates, shrinking
 * sizes, pruning, subscription lifetimes, failures, and a randomized stress
 * test with writers, readers and listeners.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy_backend.h"
#include "sample.h"
#include "tabledata.h"
#include "test.h"

extern int64_t td__alloc_fail_after(int64_t n);

typedef struct recorder {
  int64_t calls, errors, rows, new_locations, last_version;
  td_added_rows last[16];
  int64_t n_last;
  char error[TD_ERROR_MESSAGE_SIZE];
  char new_names[16][64];
} recorder;

static void record(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  recorder *r = ctx;
  if (e) {
    r->errors++;
    snprintf(r->error, sizeof r->error, "%s", e->message);
    return;
  }
  r->calls++;
  r->last_version = u->version;
  r->n_last = u->n_added < 16 ? u->n_added : 16;
  int64_t added = 0;
  for (int64_t i = 0; i < u->n_added; i++) {
    added += u->added[i].end_row - u->added[i].first_row;
    if (i < 16) r->last[i] = u->added[i];
  }
  r->rows += added;
  /* The ranges an update lists are exactly the rows it added. */
  assert_int_equal(added, u->size_after - u->size_before);
  for (int64_t i = 0; i < u->n_new_locations; i++) {
    if (r->new_locations < 16)
      td_location_key_format(u->new_locations[i], r->new_names[r->new_locations], 64);
    r->new_locations++;
  }
}

typedef struct env {
  td_memory_backend *mb;
  td_proxy proxy;
  td_service *svc;
  td_table_key *key;
} env;

/* A service over the sample ticker backend (behind a proxy that records
 * calls) with 4-row pages. */
static void env_open(env *e, int64_t period_ms) {
  td_error err;
  TD_ASSERT_OK(td_sample_create(&e->mb, &err), &err);
  td_proxy_init(&e->proxy);
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = period_ms;
  o.page_size = 4;
  TD_ASSERT_OK(td_service_new(td_proxy_backend(&e->proxy, td_memory_backend_backend(e->mb)), &o, &e->svc, &err), &err);
  TD_ASSERT_OK(td_table_key_new(TD_SAMPLE_TABLE, &e->key, &err), &err);
}

static void env_close(env *e) {
  td_table_key_release(e->key);
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
  td_proxy_destroy(&e->proxy);
}

static void flush(env *e) {
  td_error err;
  TD_ASSERT_OK(td_service_flush(e->svc, 10000, &err), &err);
}

static td_table *refreshing(env *e, td_location_predicate pred) {
  td_error err;
  td_table_options o = {pred, NULL, true};
  td_table *t;
  TD_ASSERT_OK(td_make_table(e->svc, e->key, &o, &t, &err), &err);
  return t;
}

/* Reads column `name` of the whole table; returns row count, checks that
 * every (Ticker, Exchange, Int) triple is consistent with the sample rows. */
static void check_sample_rows(td_table *t, const char *const *locs, const int64_t *rows, int64_t n) {
  td_error err;
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) total += rows[i];
  assert_int_equal(td_table_size(t), total);
  struct ArrowArray all;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, total, &all, &err), &err);
  struct ArrowSchema sch;
  TD_ASSERT_OK(td_table_schema(t, &sch, &err), &err);
  int64_t row = 0;
  for (int64_t l = 0; l < n; l++) {
    for (int64_t k = 0; k < rows[l]; k++, row++) {
      td_value tick, exch, iv;
      TD_ASSERT_OK(td_arrow_get_value(sch.children[0], all.children[0], row, &tick, &err), &err);
      TD_ASSERT_OK(td_arrow_get_value(sch.children[1], all.children[1], row, &exch, &err), &err);
      TD_ASSERT_OK(td_arrow_get_value(sch.children[6], all.children[6], row, &iv, &err), &err);
      char name[64];
      snprintf(name, sizeof name, "%.*s/%.*s", (int)tick.v.s.len, tick.v.s.ptr, (int)exch.v.s.len, exch.v.s.ptr);
      assert_string_equal(name, locs[l]);
      assert_int_equal(iv.v.i, k % 2 == 0 ? 1 : -1);
    }
  }
  all.release(&all);
  sch.release(&sch);
}

/* ---- the seeds' refreshing example ---- */

static void test_seed_refreshing(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e, 0); /* immediate mode */
  td_memory_backend *mb = e.mb;
  td_table *t = refreshing(&e, NULL);
  assert_true(td_table_is_refreshing(t));
  recorder r = {0};
  TD_ASSERT_OK(td_table_add_listener(t, record, &r, NULL, &err), &err);
  const char *locs3[3] = {"GOOG/NYSE", "MSFT/BZX", "MSFT/BZY"};
  int64_t rows3[3] = {2, 2, 2};
  check_sample_rows(t, locs3, rows3, 3);
  assert_int_equal(td_table_version(t), 0);

  /* A new location: included after the existing ones, even though GOOG/BZX
   * sorts before them. */
  TD_ASSERT_OK(td_sample_add_ticker(mb, "GOOG", "BZX", &err), &err);
  flush(&e);
  const char *locs4[4] = {"GOOG/NYSE", "MSFT/BZX", "MSFT/BZY", "GOOG/BZX"};
  int64_t rows4[4] = {2, 2, 2, 2};
  check_sample_rows(t, locs4, rows4, 4);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.new_locations, 1);
  assert_string_equal(r.new_names[0], "Ticker=GOOG/Exchange=BZX#GOOG:BZX");
  assert_int_equal(r.n_last, 1);
  assert_int_equal(r.last[0].region, 3);
  assert_int_equal(r.last[0].first_row, 0);
  assert_int_equal(r.last[0].end_row, 2);
  assert_int_equal(td_table_row_key(t, 6), (int64_t)3 << 43);

  /* Appends to existing locations. */
  TD_ASSERT_OK(td_sample_add_ticker(mb, "MSFT", "BZX", &err), &err);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "MSFT", "BZY", &err), &err);
  flush(&e);
  const char *locs5[4] = {"GOOG/NYSE", "MSFT/BZX", "MSFT/BZY", "GOOG/BZX"};
  int64_t rows5[4] = {2, 4, 4, 2};
  check_sample_rows(t, locs5, rows5, 4);
  assert_int_equal(r.rows, 2 + 4);
  assert_int_equal(r.errors, 0);
  assert_int_equal(r.last_version, td_table_version(t));
  assert_int_equal(td_table_size(t), 6 + r.rows);
  /* A static table beside it sees the same data, frozen. */
  td_table *st;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &st, &err), &err);
  assert_int_equal(td_table_size(st), 12);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "GOOG", "NYSE", &err), &err);
  flush(&e);
  assert_int_equal(td_table_size(st), 12);
  assert_int_equal(td_table_size(t), 14);
  td_table_release(st);
  td_table_release(t);
  env_close(&e);
}

/* ---- ordering, duplicates, pruning ---- */

static bool no_msft(void *ctx, const td_location_key *k) {
  (void)ctx;
  const td_value *v = td_location_key_find(k, "Ticker");
  return !(v && !v->is_null && v->v.s.len == 4 && memcmp(v->v.s.ptr, "MSFT", 4) == 0);
}

static void test_ordering_duplicates_pruning(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e, 3600 * 1000); /* cycles only when flushed */
  td_memory_backend *mb = e.mb;
  td_table *t = refreshing(&e, no_msft);
  recorder r = {0};
  TD_ASSERT_OK(td_table_add_listener(t, record, &r, NULL, &err), &err);
  assert_int_equal(td_table_location_count(t), 1); /* GOOG/NYSE */
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, NULL), 1);
  /* One batch of three new locations, arriving out of order. */
  TD_ASSERT_OK(td_sample_add_ticker(mb, "ZZZ", "X", &err), &err);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "AAA", "X", &err), &err);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "MSFT", "NEW", &err), &err); /* pruned */
  TD_ASSERT_OK(td_sample_add_ticker(mb, "MMM", "X", &err), &err);
  flush(&e);
  assert_int_equal(r.calls, 1);
  assert_int_equal(td_table_location_count(t), 4);
  char name[64];
  static const char *order[4] = {"GOOG", "AAA", "MMM", "ZZZ"};
  for (int i = 0; i < 4; i++) {
    td_location_key_format(td_table_location(t, i), name, sizeof name);
    assert_memory_equal(name + 7, order[i], strlen(order[i]));
    assert_int_equal(name[7 + strlen(order[i])], '/');
  }
  /* A later batch comes after all earlier ones. */
  TD_ASSERT_OK(td_sample_add_ticker(mb, "BBB", "X", &err), &err);
  flush(&e);
  td_location_key_format(td_table_location(t, 4), name, sizeof name);
  assert_memory_equal(name + 7, "BBB", 3);
  assert_int_equal(td_table_row_key(t, td_table_size(t) - 1), ((int64_t)4 << 43) | 1);
  /* Pruned locations are never sized, subscribed or read. */
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, "Ticker=MSFT/Exchange=NEW#MSFT:NEW"), 0);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, "Ticker=MSFT/Exchange=BZX#MSFT:BZX"), 0);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_TABLE_LOCATION_SIZE, NULL), 0);
  struct ArrowArray all;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, td_table_size(t), &all, &err), &err);
  all.release(&all);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_COLUMN_VALUES, "Ticker=MSFT/Exchange=NEW#MSFT:NEW"), 0);
  /* A duplicate location (the same key again) is ignored. */
  int64_t calls = r.calls, size = td_table_size(t);
  td_request sub = td_proxy_last(&e.proxy, TD_METHOD_SUBSCRIBE_LOCATIONS, NULL);
  td_location_key *dup;
  TD_ASSERT_OK(td_sample_key("AAA", "X", &dup, &err), &err);
  TD_ASSERT_OK(td_answer_location(sub, dup, &err), &err);
  td_location_key_release(dup);
  flush(&e);
  assert_int_equal(r.calls, calls);
  assert_int_equal(td_table_size(t), size);
  assert_int_equal(td_table_location_count(t), 5);
  td_table_release(t);
  env_close(&e);
}

/* ---- subscription lifetime ---- */

static void test_unsubscribe_once(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e, 0);
  td_table *a = refreshing(&e, NULL);
  td_table *b = refreshing(&e, no_msft);
  /* One location subscription per key, one size subscription per location. */
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_SUBSCRIBE_LOCATIONS, NULL), 1);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, NULL), 3);
  td_request loc_sub = td_proxy_last(&e.proxy, TD_METHOD_SUBSCRIBE_LOCATIONS, NULL);
  td_request size_sub = td_proxy_last(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, "Ticker=GOOG/Exchange=NYSE#GOOG:NYSE");
  td_table_release(a);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_UNSUBSCRIBE, NULL), 2); /* the two MSFT sizes */
  td_table_release(b);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_UNSUBSCRIBE, NULL), 4);
  td_counters c;
  td_service_counters(e.svc, &c);
  assert_int_equal(c.calls[TD_METHOD_UNSUBSCRIBE], 4);
  /* Nothing sent after unsubscribe has any effect. */
  assert_int_equal(td_answer_size(size_sub, 99, &err), TD_ESTATE);
  td_location_key *k;
  TD_ASSERT_OK(td_sample_key("NEW", "X", &k, &err), &err);
  assert_int_equal(td_answer_location(loc_sub, k, &err), TD_ESTATE);
  td_location_key_release(k);
  /* A new refreshing table subscribes afresh. */
  td_table *c2 = refreshing(&e, NULL);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_SUBSCRIBE_LOCATIONS, NULL), 2);
  assert_int_equal(td_table_size(c2), 6);
  td_table_release(c2);
  env_close(&e);
}

/* ---- failures ---- */

static void test_shrinking_size_fails_table(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e, 0);
  td_memory_backend *mb = e.mb;
  td_table *t = refreshing(&e, NULL);
  recorder r = {0};
  TD_ASSERT_OK(td_table_add_listener(t, record, &r, NULL, &err), &err);
  td_request sub = td_proxy_last(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, "Ticker=MSFT/Exchange=BZX#MSFT:BZX");
  /* The shrink is refused when it arrives; the table fails in the cycle. */
  assert_int_equal(td_answer_size(sub, 1, &err), TD_ECONTRACT);
  flush(&e);
  assert_int_equal(r.errors, 1);
  TD_ASSERT_CONTAINS(r.error, "location 'Ticker=MSFT/Exchange=BZX#MSFT:BZX'");
  TD_ASSERT_CONTAINS(r.error, "size shrank from 2 to 1");
  struct ArrowArray out;
  assert_int_equal(td_table_read(t, NULL, 0, 0, 1, &out, &err), TD_EFAILED);
  TD_ASSERT_CONTAINS(err.message, "size shrank");
  assert_int_equal(td_table_size(t), 6); /* the rows seen stay as they were */
  /* Later notifications do not reach the listener again. */
  TD_ASSERT_OK(td_sample_add_ticker(mb, "GOOG", "NYSE", &err), &err);
  flush(&e);
  assert_int_equal(r.errors, 1);
  assert_int_equal(r.calls, 0);
  td_table_release(t);
  env_close(&e);
}

static void test_subscription_failures(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e, 0);
  td_table *t = refreshing(&e, NULL);
  recorder r = {0};
  TD_ASSERT_OK(td_table_add_listener(t, record, &r, NULL, &err), &err);
  td_request sub = td_proxy_last(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, "Ticker=GOOG/Exchange=NYSE#GOOG:NYSE");
  TD_ASSERT_OK(td_answer_failure(sub, "feed lost", &err), &err);
  flush(&e);
  assert_int_equal(r.errors, 1);
  TD_ASSERT_CONTAINS(r.error, "subscribe_to_table_location_size(table 'sample', location 'Ticker=GOOG/Exchange=NYSE");
  TD_ASSERT_CONTAINS(r.error, "failed: feed lost");
  TD_ASSERT_OK(td_table_status(t, NULL) == TD_EFAILED ? TD_OK : 1, NULL);
  /* The failed subscription is never unsubscribed; the others are. */
  td_table_release(t);
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_UNSUBSCRIBE, NULL), 3);

  /* A failing location subscription fails every refreshing table of the key,
   * once; static tables keep working. */
  td_table *a = refreshing(&e, NULL), *b = refreshing(&e, no_msft);
  recorder ra = {0}, rb = {0};
  TD_ASSERT_OK(td_table_add_listener(a, record, &ra, NULL, &err), &err);
  TD_ASSERT_OK(td_table_add_listener(b, record, &rb, NULL, &err), &err);
  td_request ls = td_proxy_last(&e.proxy, TD_METHOD_SUBSCRIBE_LOCATIONS, NULL);
  TD_ASSERT_OK(td_answer_failure(ls, "directory vanished", &err), &err);
  flush(&e);
  flush(&e);
  assert_int_equal(ra.errors, 1);
  assert_int_equal(rb.errors, 1);
  TD_ASSERT_CONTAINS(ra.error, "directory vanished");
  td_table *st;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &st, &err), &err);
  assert_int_equal(td_table_size(st), 6);
  td_table_release(st);
  td_table_release(a);
  td_table_release(b);
  env_close(&e);
}

static void remove_self(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  int64_t *state = ctx; /* [0] = id, [1] = calls */
  state[1]++;
  assert_int_equal(td_table_remove_listener(t, state[0]), TD_OK);
}

static void test_listener_order_and_removal(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e, 0);
  td_memory_backend *mb = e.mb;
  td_table *t = refreshing(&e, NULL);
  int64_t self[2] = {0, 0};
  recorder r = {0};
  TD_ASSERT_OK(td_table_add_listener(t, remove_self, self, &self[0], &err), &err);
  TD_ASSERT_OK(td_table_add_listener(t, record, &r, NULL, &err), &err);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "GOOG", "NYSE", &err), &err);
  flush(&e);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "GOOG", "NYSE", &err), &err);
  flush(&e);
  assert_int_equal(self[1], 1); /* removed itself during the first call */
  assert_int_equal(r.calls, 2);
  assert_int_equal(td_table_remove_listener(t, self[0]), TD_ENOTFOUND);
  td_table *st;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &st, &err), &err);
  assert_int_equal(td_table_add_listener(st, record, &r, NULL, &err), TD_ESTATE);
  td_table_release(st);
  td_table_release(t);
  env_close(&e);
}

/* ---- the partitioned table grows ---- */

static void test_live_partitioned(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e, 0);
  td_memory_backend *mb = e.mb;
  td_table_options o = {NULL, NULL, true};
  td_partitioned_table *pt;
  TD_ASSERT_OK(td_make_partitioned_table(e.svc, e.key, &o, &pt, &err), &err);
  assert_int_equal(td_partitioned_table_size(pt), 3);
  recorder r = {0};
  TD_ASSERT_OK(td_partitioned_table_add_listener(pt, record, &r, NULL, &err), &err);
  td_table *c0;
  TD_ASSERT_OK(td_partitioned_table_constituent(pt, 0, &c0, &err), &err);
  assert_true(td_table_is_refreshing(c0));
  assert_int_equal(td_table_size(c0), 2);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "GOOG", "BZX", &err), &err);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "GOOG", "NYSE", &err), &err);
  flush(&e);
  assert_int_equal(td_partitioned_table_size(pt), 4);
  assert_int_equal(r.new_locations, 1);
  assert_string_equal(r.new_names[0], "Ticker=GOOG/Exchange=BZX#GOOG:BZX");
  char name[128];
  td_location_key_format(td_partitioned_table_key(pt, 3), name, sizeof name);
  assert_string_equal(name, "Ticker=GOOG/Exchange=BZX#GOOG:BZX");
  assert_int_equal(td_table_size(c0), 4); /* GOOG/NYSE grew */
  td_table *c3;
  TD_ASSERT_OK(td_partitioned_table_constituent(pt, 3, &c3, &err), &err);
  assert_int_equal(td_table_size(c3), 2);
  assert_int_equal(td_table_location_count(c3), 1);
  struct ArrowSchema sch;
  struct ArrowArray rows;
  TD_ASSERT_OK(td_partitioned_table_read(pt, &sch, &rows, &err), &err);
  assert_int_equal(rows.length, 4);
  rows.release(&rows);
  sch.release(&sch);
  /* A removed listener hears nothing more. */
  int64_t calls = r.calls, id2;
  recorder r2 = {0};
  TD_ASSERT_OK(td_partitioned_table_add_listener(pt, record, &r2, &id2, &err), &err);
  TD_ASSERT_OK(td_partitioned_table_remove_listener(pt, id2), &err);
  assert_int_equal(td_partitioned_table_remove_listener(pt, id2), TD_ENOTFOUND);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "IBM", "IEX", &err), &err);
  flush(&e);
  assert_int_equal(r2.calls, 0);
  assert_int_equal(r.calls, calls + 1);
  td_table_release(c0);
  td_table_release(c3);
  td_partitioned_table_release(pt);
  env_close(&e);
}

/* ---- answers from another thread while inside subscribe ---- */

typedef struct threaded {
  td_backend inner;
  const td_table_key *table;
  const td_location_key *loc;
  td_request req;
  bool size;
} threaded;

static void *threaded_subscribe(void *arg) {
  threaded *t = arg;
  if (t->size)
    t->inner.vtable->subscribe_to_table_location_size(t->inner.self, t->table, t->loc, t->req);
  else
    t->inner.vtable->subscribe_to_table_locations(t->inner.self, t->table, t->req);
  return NULL;
}

/* Subscribes from a new thread and waits for it: every answer arrives from
 * another thread while the engine is still inside the subscribe call. */
static void th_sub_locations(void *self, const td_table_key *table, td_request req) {
  threaded t = {*(td_backend *)self, table, NULL, req, false};
  pthread_t th;
  pthread_create(&th, NULL, threaded_subscribe, &t);
  pthread_join(th, NULL);
}
static void th_sub_size(void *self, const td_table_key *table, const td_location_key *loc, td_request req) {
  threaded t = {*(td_backend *)self, table, loc, req, true};
  pthread_t th;
  pthread_create(&th, NULL, threaded_subscribe, &t);
  pthread_join(th, NULL);
}
static void th_schema(void *self, const td_table_key *t, td_request r) {
  td_backend *b = self;
  b->vtable->table_schema(b->self, t, r);
}
static void th_locations(void *self, const td_table_key *t, td_request r) {
  td_backend *b = self;
  b->vtable->table_locations(b->self, t, r);
}
static void th_size(void *self, const td_table_key *t, const td_location_key *l, td_request r) {
  td_backend *b = self;
  b->vtable->table_location_size(b->self, t, l, r);
}
static void th_values(void *self, const td_table_key *t, const td_location_key *l, const char *c, int64_t o,
                      int64_t mn, int64_t mx, td_request r) {
  td_backend *b = self;
  b->vtable->column_values(b->self, t, l, c, o, mn, mx, r);
}
static void th_unsub(void *self, td_request r) {
  td_backend *b = self;
  b->vtable->unsubscribe(b->self, r);
}
static void th_release(void *self) {
  td_backend *b = self;
  b->vtable->release(b->self);
}
static const td_backend_vtable threaded_vt = {th_schema, th_locations, th_size, th_values, th_sub_locations,
                                              th_sub_size, th_unsub, th_release, NULL, NULL};

static void test_answers_inside_subscribe_from_thread(void **state) {
  (void)state;
  td_error err;
  td_memory_backend *mb;
  TD_ASSERT_OK(td_sample_create(&mb, &err), &err);
  td_backend inner = td_memory_backend_backend(mb);
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = 0;
  o.request_timeout_ms = 5000;
  td_service *svc;
  TD_ASSERT_OK(td_service_new((td_backend){&threaded_vt, &inner}, &o, &svc, &err), &err);
  td_table_key *key;
  TD_ASSERT_OK(td_table_key_new(TD_SAMPLE_TABLE, &key, &err), &err);
  td_table_options to = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(td_make_table(svc, key, &to, &t, &err), &err);
  assert_int_equal(td_table_size(t), 6);
  TD_ASSERT_OK(td_sample_add_ticker(mb, "MSFT", "BZX", &err), &err);
  TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
  assert_int_equal(td_table_size(t), 8);
  td_table_release(t);
  td_table_key_release(key);
  td_service_free(svc);
  td_memory_backend_release(mb);
}

/* ---- stress ---- */

enum { WRITERS = 3, READERS = 2, OPS = 300 };

typedef struct stress {
  td_memory_backend *mb;
  td_table *t;
  _Atomic int stop;
  _Atomic int64_t rows_written;
  recorder rec;
  pthread_mutex_t rec_lock;
  int read_errors;
} stress;

static void stress_listener(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  stress *s = ctx;
  pthread_mutex_lock(&s->rec_lock);
  if (e) s->rec.errors++;
  else
    for (int64_t i = 0; i < u->n_added; i++) s->rec.rows += u->added[i].end_row - u->added[i].first_row;
  pthread_mutex_unlock(&s->rec_lock);
}

typedef struct writer_arg {
  stress *s;
  unsigned seed;
  int id;
} writer_arg;

static void *writer(void *p) {
  writer_arg *w = p;
  for (int op = 0; op < OPS; op++) {
    char ticker[16], exch[16];
    snprintf(ticker, sizeof ticker, "W%d", w->id);
    snprintf(exch, sizeof exch, "E%d", rand_r(&w->seed) % 8);
    td_error err;
    if (td_sample_add_ticker(w->s->mb, ticker, exch, &err) == TD_OK) atomic_fetch_add(&w->s->rows_written, 2);
  }
  return NULL;
}

static void *scanner(void *p) {
  stress *s = p;
  while (!atomic_load(&s->stop)) {
    int64_t col = td_table_column_index(s->t, "Long");
    struct ArrowArrayStream st;
    td_error err;
    if (td_table_stream(s->t, &col, 1, &st, &err) != TD_OK) {
      s->read_errors++;
      break;
    }
    for (;;) {
      struct ArrowArray b;
      if (st.get_next(&st, &b) != 0) {
        s->read_errors++;
        break;
      }
      if (!b.release) break;
      const int64_t *v = (const int64_t *)b.children[0]->buffers[1] + b.children[0]->offset;
      for (int64_t i = 0; i < b.length; i++)
        if (v[i] != 1 && v[i] != -1) s->read_errors++;
      b.release(&b);
    }
    st.release(&st);
  }
  return NULL;
}

static void test_stress(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e, 0);
  td_memory_backend *mb = e.mb;
  stress s;
  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.rec_lock, NULL);
  s.mb = mb;
  s.t = refreshing(&e, NULL);
  TD_ASSERT_OK(td_table_add_listener(s.t, stress_listener, &s, NULL, &err), &err);
  int64_t initial = td_table_size(s.t);
  pthread_t w[WRITERS], rd[READERS];
  writer_arg wa[WRITERS];
  for (int i = 0; i < READERS; i++) pthread_create(&rd[i], NULL, scanner, &s);
  for (int i = 0; i < WRITERS; i++) {
    wa[i] = (writer_arg){&s, (unsigned)(1234 + i), i};
    pthread_create(&w[i], NULL, writer, &wa[i]);
  }
  for (int i = 0; i < WRITERS; i++) pthread_join(w[i], NULL);
  flush(&e);
  atomic_store(&s.stop, 1);
  for (int i = 0; i < READERS; i++) pthread_join(rd[i], NULL);
  assert_int_equal(s.read_errors, 0);
  assert_int_equal(s.rec.errors, 0);
  /* The table equals the backend's data, and the listener saw every row. */
  int64_t final = td_table_size(s.t);
  assert_int_equal(final, initial + atomic_load(&s.rows_written));
  assert_int_equal(s.rec.rows, final - initial);
  for (int64_t i = 0; i < td_table_location_count(s.t); i++) {
    const td_location_key *k = td_table_location(s.t, i);
    int64_t backend_rows = td_memory_backend_location_size(mb, TD_SAMPLE_TABLE, k);
    assert_true(backend_rows > 0);
  }
  td_table *st;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &st, &err), &err);
  assert_int_equal(td_table_size(st), final);
  assert_int_equal(td_table_location_count(st), td_table_location_count(s.t));
  td_table_release(st);
  td_table_release(s.t);
  pthread_mutex_destroy(&s.rec_lock);
  env_close(&e);
}

/* ---- tail pages grown in place ---- */

/* Row `at` of `all` is row r of the grow test: i = r, s = a string of
 * r % 23 + 1 bytes, d = r / 2, n = r or (appended in a batch with nulls)
 * null when r % 7 == 0. */
static void grow_row_check(const struct ArrowSchema *sch, const struct ArrowArray *all, int64_t at, int64_t r,
                           bool nulls) {
  td_error err;
  td_value v[4];
  for (int c = 0; c < 4; c++) TD_ASSERT_OK(td_arrow_get_value(sch->children[c], all->children[c], at, &v[c], &err), &err);
  assert_int_equal(v[0].v.i, r);
  char want[32];
  int len = (int)(r % 23) + 1;
  for (int k = 0; k < len; k++) want[k] = (char)('a' + (r + k) % 26);
  assert_int_equal((int64_t)v[1].v.s.len, len);
  assert_memory_equal(v[1].v.s.ptr, want, (size_t)len);
  assert_true(v[2].v.f == (double)r / 2);
  if (nulls && r % 7 == 0) assert_true(v[3].is_null);
  else assert_int_equal(v[3].v.i, r);
}

static void grow_batch(int64_t from, int64_t n, bool nulls, struct ArrowArray *out) {
  td_error err;
  td_type_id types[4] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_FLOAT64, TD_TYPE_INT64};
  td_builder *b[4];
  for (int c = 0; c < 4; c++) TD_ASSERT_OK(td_builder_new(types[c], &b[c], &err), &err);
  for (int64_t r = from; r < from + n; r++) {
    char s[32];
    int len = (int)(r % 23) + 1;
    for (int k = 0; k < len; k++) s[k] = (char)('a' + (r + k) % 26);
    td_builder_append_int(b[0], r, NULL);
    td_builder_append_str(b[1], s, len, NULL);
    td_builder_append_double(b[2], (double)r / 2, NULL);
    if (nulls && r % 7 == 0) td_builder_append_null(b[3], NULL);
    else td_builder_append_int(b[3], r, NULL);
  }
  struct ArrowArray cols[4];
  for (int c = 0; c < 4; c++) {
    TD_ASSERT_OK(td_builder_finish(b[c], &cols[c], &err), &err);
    td_builder_free(b[c]);
  }
  TD_ASSERT_OK(td_batch_make(4, cols, out, &err), &err);
}

/* A location appended in small batches: its tail page grows (in place while
 * it has room and the rows no nulls, by copying otherwise) and every read
 * sees the rows appended; data read before later growths stays intact. */
static void test_tail_page_grows_in_place(void **state) {
  (void)state;
  td_error err;
  td_memory_backend *mb;
  TD_ASSERT_OK(td_memory_backend_new(&mb, &err), &err);
  const char *names[4] = {"i", "s", "d", "n"};
  td_type_id types[4] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_FLOAT64, TD_TYPE_INT64};
  struct ArrowSchema ds;
  TD_ASSERT_OK(td_schema_make(4, names, types, NULL, &ds, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(mb, "g", &ds, NULL, &err), &err);
  ds.release(&ds);
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_new("L", 0, NULL, NULL, &k, &err), &err);
  struct ArrowArray batch;
  grow_batch(0, 3, false, &batch);
  TD_ASSERT_OK(td_memory_backend_add_location(mb, "g", k, &batch, &err), &err);
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = 3600 * 1000;
  o.page_size = 512;
  td_service *svc;
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(mb), &o, &svc, &err), &err);
  td_table_key *tk;
  TD_ASSERT_OK(td_table_key_new("g", &tk, &err), &err);
  td_table_options to = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(td_make_table(svc, tk, &to, &t, &err), &err);
  struct ArrowSchema sch;
  TD_ASSERT_OK(td_table_schema(t, &sch, &err), &err);
  unsigned seed = 7;
  int64_t rows = 3, null_from = -1, kept_rows = 0;
  struct ArrowArray kept = {0};
  for (int step = 0; step < 60; step++) {
    bool nulls = step >= 40;
    if (nulls && null_from < 0) null_from = rows;
    int64_t n = 1 + rand_r(&seed) % 150;
    grow_batch(rows, n, nulls, &batch);
    TD_ASSERT_OK(td_memory_backend_append(mb, "g", k, &batch, &err), &err);
    rows += n;
    TD_ASSERT_OK(td_service_flush(svc, 10000, &err), &err);
    assert_int_equal(td_table_size(t), rows);
    /* the rows of this batch and of the one before (the tail page's) */
    int64_t from = rows - n - 200 > 0 ? rows - n - 200 : 0;
    struct ArrowArray part;
    TD_ASSERT_OK(td_table_read(t, NULL, 0, from, rows, &part, &err), &err);
    for (int64_t r = from; r < rows; r++) grow_row_check(&sch, &part, r - from, r, null_from >= 0 && r >= null_from);
    part.release(&part);
    if (step == 20) {
      TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, rows, &kept, &err), &err);
      kept_rows = rows;
    }
  }
  struct ArrowArray all;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, rows, &all, &err), &err);
  for (int64_t r = 0; r < rows; r++) grow_row_check(&sch, &all, r, r, r >= null_from);
  all.release(&all);
  for (int64_t r = 0; r < kept_rows; r++) grow_row_check(&sch, &kept, r, r, false);
  kept.release(&kept);
  sch.release(&sch);
  td_table_release(t);
  td_table_key_release(tk);
  td_location_key_release(k);
  td_service_free(svc);
  td_memory_backend_release(mb);
}

/* ---- memory backend segments ---- */

/* Row r of the segment tests: i = r, s = r % 5 + 1 bytes, or 150 + r % 7
 * bytes for rows at or past `long_from`. */
static int seg_len(int64_t r, int64_t long_from) { return (int)(r >= long_from ? 150 + r % 7 : r % 5 + 1); }

static void seg_batch(int64_t from, int64_t n, int64_t long_from, struct ArrowArray *out) {
  td_error err;
  td_builder *bi, *bs;
  TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &bi, &err), &err);
  TD_ASSERT_OK(td_builder_new(TD_TYPE_UTF8, &bs, &err), &err);
  for (int64_t r = from; r < from + n; r++) {
    char s[160];
    int len = seg_len(r, long_from);
    for (int k = 0; k < len; k++) s[k] = (char)('a' + (r + k) % 26);
    td_builder_append_int(bi, r, NULL);
    td_builder_append_str(bs, s, len, NULL);
  }
  struct ArrowArray cols[2];
  TD_ASSERT_OK(td_builder_finish(bi, &cols[0], &err), &err);
  TD_ASSERT_OK(td_builder_finish(bs, &cols[1], &err), &err);
  td_builder_free(bi);
  td_builder_free(bs);
  TD_ASSERT_OK(td_batch_make(2, cols, out, &err), &err);
}

static void seg_check(td_table *t, int64_t from, int64_t to, int64_t long_from) {
  td_error err;
  struct ArrowSchema sch;
  struct ArrowArray part;
  TD_ASSERT_OK(td_table_schema(t, &sch, &err), &err);
  TD_ASSERT_OK(td_table_read(t, NULL, 0, from, to, &part, &err), &err);
  for (int64_t r = from; r < to; r++) {
    td_value i, s;
    TD_ASSERT_OK(td_arrow_get_value(sch.children[0], part.children[0], r - from, &i, &err), &err);
    TD_ASSERT_OK(td_arrow_get_value(sch.children[1], part.children[1], r - from, &s, &err), &err);
    assert_int_equal(i.v.i, r);
    char want[160];
    int len = seg_len(r, long_from);
    for (int k = 0; k < len; k++) want[k] = (char)('a' + (r + k) % 26);
    assert_int_equal((int64_t)s.v.s.len, len);
    assert_memory_equal(s.v.s.ptr, want, (size_t)len);
  }
  part.release(&part);
  sch.release(&sch);
}

/* The values buffer of column c of the stream's batch b (a view of a cached page). */
static const void *page_buffer(td_table *t, int64_t b, int c) {
  td_error err;
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_table_stream(t, NULL, 0, &st, &err), &err);
  const void *p = NULL;
  for (int64_t k = 0; k <= b; k++) {
    struct ArrowArray batch;
    assert_int_equal(st.get_next(&st, &batch), 0);
    assert_non_null(batch.release);
    if (k == b) p = batch.children[c]->buffers[1];
    batch.release(&batch);
  }
  st.release(&st);
  return p;
}

typedef struct seg_env {
  td_memory_backend *mb;
  td_location_key *k;
  td_service *svc;
  td_table_key *tk;
} seg_env;

/* Table "g" (i int64, s utf8) with location "L" of `rows` rows in one chunk;
 * pages of TD_MEM_SEGMENT_ROWS' 65,536 rows. */
static void seg_open(seg_env *e, int64_t rows) {
  td_error err;
  TD_ASSERT_OK(td_memory_backend_new(&e->mb, &err), &err);
  const char *names[2] = {"i", "s"};
  td_type_id types[2] = {TD_TYPE_INT64, TD_TYPE_UTF8};
  struct ArrowSchema ds;
  TD_ASSERT_OK(td_schema_make(2, names, types, NULL, &ds, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(e->mb, "g", &ds, NULL, &err), &err);
  ds.release(&ds);
  TD_ASSERT_OK(td_location_key_new("L", 0, NULL, NULL, &e->k, &err), &err);
  struct ArrowArray batch;
  seg_batch(0, rows, INT64_MAX, &batch);
  TD_ASSERT_OK(td_memory_backend_add_location(e->mb, "g", e->k, &batch, &err), &err);
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = 3600 * 1000;
  o.page_size = 65536;
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(e->mb), &o, &e->svc, &err), &err);
  TD_ASSERT_OK(td_table_key_new("g", &e->tk, &err), &err);
}

static void seg_close(seg_env *e) {
  td_table_key_release(e->tk);
  td_location_key_release(e->k);
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
}

/* Small appends land in a segment that ends at the next multiple of 65,536
 * rows: the tail page of a live table is widened over the same buffer at
 * every cycle (no copy: the page's buffer stays the segment's), rows read
 * before later appends stay intact, strings longer than the segment made
 * room for start a new segment, and a batch with nulls or a big batch is a
 * chunk of its own. */
static void test_segments_widen_pages(void **state) {
  (void)state;
  td_error err;
  seg_env e;
  seg_open(&e, 65536);
  td_table_options to = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.tk, &to, &t, &err), &err);
  unsigned seed = 11;
  int64_t rows = 65536, long_from = INT64_MAX;
  const void *page1 = NULL;
  struct ArrowArray kept = {0};
  for (int step = 0; step < 40; step++) {
    if (step == 30) long_from = rows; /* longer strings than the segment has room for */
    int64_t n = 1 + rand_r(&seed) % 1500;
    struct ArrowArray batch;
    seg_batch(rows, n, long_from, &batch);
    TD_ASSERT_OK(td_memory_backend_append(e.mb, "g", e.k, &batch, &err), &err);
    rows += n;
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    assert_int_equal(td_table_size(t), rows);
    seg_check(t, rows - n - 100, rows, long_from);
    const void *p = page_buffer(t, 1, 0);
    if (step == 0) page1 = p;
    else if (step < 30) assert_ptr_equal(p, page1); /* widened, not copied */
    if (step == 10) TD_ASSERT_OK(td_table_read(t, NULL, 0, 65536, rows, &kept, &err), &err);
  }
  seg_check(t, 0, rows, long_from);
  for (int64_t r = 0; r < kept.length; r++) assert_int_equal(((const int64_t *)kept.children[0]->buffers[1])[kept.children[0]->offset + r], 65536 + r);
  kept.release(&kept);
  /* a batch with a null, then a big one: chunks of their own; then segments again */
  td_builder *bi, *bs;
  TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &bi, &err), &err);
  TD_ASSERT_OK(td_builder_new(TD_TYPE_UTF8, &bs, &err), &err);
  td_builder_append_null(bi, NULL);
  td_builder_append_str(bs, "x", 1, NULL);
  struct ArrowArray cols[2], batch;
  TD_ASSERT_OK(td_builder_finish(bi, &cols[0], &err), &err);
  TD_ASSERT_OK(td_builder_finish(bs, &cols[1], &err), &err);
  td_builder_free(bi);
  td_builder_free(bs);
  TD_ASSERT_OK(td_batch_make(2, cols, &batch, &err), &err);
  TD_ASSERT_OK(td_memory_backend_append(e.mb, "g", e.k, &batch, &err), &err);
  int64_t null_row = rows++;
  seg_batch(rows, 70000, long_from, &batch);
  TD_ASSERT_OK(td_memory_backend_append(e.mb, "g", e.k, &batch, &err), &err);
  rows += 70000;
  seg_batch(rows, 10, long_from, &batch);
  TD_ASSERT_OK(td_memory_backend_append(e.mb, "g", e.k, &batch, &err), &err);
  rows += 10;
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  assert_int_equal(td_table_size(t), rows);
  seg_check(t, null_row + 1, rows, long_from);
  struct ArrowArray one;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, null_row, null_row + 1, &one, &err), &err);
  assert_int_equal(one.children[0]->null_count, 1);
  one.release(&one);
  td_table_release(t);
  seg_close(&e);
}

/* An append that fails for memory halfway (rows copied into the tail
 * segment, the next segment not made) leaves the location as it was. */
static void test_segment_append_failures(void **state) {
  (void)state;
  td_error err;
  seg_env e;
  seg_open(&e, 1000);
  struct ArrowArray batch;
  seg_batch(1000, 100, INT64_MAX, &batch); /* a segment with room for 16 such batches */
  TD_ASSERT_OK(td_memory_backend_append(e.mb, "g", e.k, &batch, &err), &err);
  int64_t rows = 1100;
  bool failed = false;
  for (int64_t n = 0; n < 200; n++) {
    seg_batch(rows, 2000, INT64_MAX, &batch); /* 1,500 fit the tail segment */
    td__alloc_fail_after(n);
    int rc = td_memory_backend_append(e.mb, "g", e.k, &batch, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      rows += 2000;
      break;
    }
    failed = true;
    assert_int_equal(rc, TD_ENOMEM);
    assert_int_equal(td_memory_backend_location_size(e.mb, "g", e.k), rows);
  }
  assert_true(failed);
  assert_int_equal(td_memory_backend_location_size(e.mb, "g", e.k), rows);
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.tk, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), rows);
  seg_check(t, 0, rows, INT64_MAX);
  td_table_release(t);
  seg_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seed_refreshing),         cmocka_unit_test(test_ordering_duplicates_pruning),
      cmocka_unit_test(test_unsubscribe_once),        cmocka_unit_test(test_shrinking_size_fails_table),
      cmocka_unit_test(test_subscription_failures),   cmocka_unit_test(test_listener_order_and_removal),
      cmocka_unit_test(test_stress),                cmocka_unit_test(test_live_partitioned),
      cmocka_unit_test(test_answers_inside_subscribe_from_thread), cmocka_unit_test(test_tail_page_grows_in_place),
      cmocka_unit_test(test_segments_widen_pages),    cmocka_unit_test(test_segment_append_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
