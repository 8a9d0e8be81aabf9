/*
 * tests/core/test_removal.c - location removal (ADD_REMOVE tables): the
 * cycle that removes rows, the removed ranges listeners hear, tombstone
 * regions that are never reused, dropped pages, contract errors (removal
 * in an add-only table, of a location never added), snapshots taken before
 * a removal, and concurrent removals, appends and reads (TSan: `make tsan`).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_backend.h"
#include "tabledata.h"
#include "test.h"

/* Table "r": partition P (utf8), data column x (int64) = location number *
 * 1000 + row, so every row tells where it comes from. */
typedef struct env {
  td_memory_backend *mb;
  td_proxy proxy;
  td_service *svc;
  td_table_key *key;
} env;

static td_location_key *pkey(int p) {
  const char *n = "P";
  char s[16];
  snprintf(s, sizeof s, "p%02d", p);
  td_value v = td_value_str(s);
  td_location_key *k;
  td_location_key_new(NULL, 1, &n, &v, &k, NULL);
  return k;
}

static void put_rows(env *e, int p, int64_t n) {
  td_error err;
  td_location_key *k = pkey(p);
  int64_t have = td_memory_backend_location_size(e->mb, "r", k);
  td_builder *b;
  td_builder_new(TD_TYPE_INT64, &b, NULL);
  for (int64_t r = 0; r < n; r++) td_builder_append_int(b, p * 1000 + (have < 0 ? 0 : have) + r, NULL);
  struct ArrowArray col, batch;
  td_builder_finish(b, &col, NULL);
  td_builder_free(b);
  TD_ASSERT_OK(td_batch_make(1, &col, &batch, &err), &err);
  if (have < 0) TD_ASSERT_OK(td_memory_backend_add_location(e->mb, "r", k, &batch, &err), &err);
  else TD_ASSERT_OK(td_memory_backend_append(e->mb, "r", k, &batch, &err), &err);
  td_location_key_release(k);
}

static int remove_loc(env *e, int p, td_error *err) {
  td_location_key *k = pkey(p);
  int rc = td_memory_backend_remove_location(e->mb, "r", k, err);
  td_location_key_release(k);
  return rc;
}

static void env_open(env *e, td_update_mode mode, int64_t period_ms) {
  td_error err;
  memset(e, 0, sizeof *e);
  TD_ASSERT_OK(td_memory_backend_new(&e->mb, &err), &err);
  const char *dn = "x", *pn = "P";
  td_type_id dt = TD_TYPE_INT64, pt = TD_TYPE_UTF8;
  struct ArrowSchema ds, ps;
  td_schema_make(1, &dn, &dt, NULL, &ds, NULL);
  td_schema_make(1, &pn, &pt, NULL, &ps, NULL);
  TD_ASSERT_OK(td_memory_backend_add_table(e->mb, "r", &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  TD_ASSERT_OK(td_memory_backend_set_update_mode(e->mb, "r", mode, &err), &err);
  td_proxy_init(&e->proxy);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 4;
  o.update_period_ms = period_ms;
  TD_ASSERT_OK(td_service_new(td_proxy_backend(&e->proxy, td_memory_backend_backend(e->mb)), &o, &e->svc, &err),
               &err);
  TD_ASSERT_OK(td_table_key_new("r", &e->key, &err), &err);
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

static td_table *live(env *e) {
  td_error err;
  td_table_options o;
  td_table_options_init(&o);
  o.refreshing = true;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e->svc, e->key, &o, &t, &err), &err);
  return t;
}

/* Column x of the whole table. */
static int64_t read_x(td_table *t, int64_t *out, int64_t cap) {
  td_error err;
  int64_t n = td_table_size(t);
  assert_true(n <= cap);
  if (n == 0) return 0;
  int64_t col = 1;
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(t, &col, 1, 0, n, &a, &err), &err);
  memcpy(out, (const int64_t *)a.children[0]->buffers[1] + a.children[0]->offset, (size_t)n * sizeof *out);
  a.release(&a);
  return n;
}

typedef struct heard {
  int64_t calls, errors, n_removed, n_added, removed_rows;
  td_added_rows removed[8];
  int64_t removed_begin[8];
  char removed_names[8][32];
  int64_t size_before, size_after;
  int code;
  char error[TD_ERROR_MESSAGE_SIZE];
} heard;

static void hear(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)t;
  heard *h = ctx;
  if (e) {
    h->errors++;
    h->code = e->code;
    snprintf(h->error, sizeof h->error, "%s", e->message);
    return;
  }
  h->calls++;
  h->size_before = u->size_before;
  h->size_after = u->size_after;
  h->n_removed = u->n_removed;
  h->n_added = u->n_added;
  int64_t removed = 0, added = 0;
  for (int64_t i = 0; i < u->n_removed; i++) {
    removed += u->removed[i].end_row - u->removed[i].first_row;
    if (i < 8) {
      h->removed[i] = u->removed[i];
      h->removed_begin[i] = u->removed_begin[i];
      td_location_key_format(u->removed[i].location, h->removed_names[i], sizeof h->removed_names[i]);
    }
  }
  for (int64_t i = 0; i < u->n_added; i++) added += u->added[i].end_row - u->added[i].first_row;
  h->removed_rows += removed;
  /* The ranges are exactly the change of size. */
  assert_int_equal(u->size_after, u->size_before - removed + added);
}

/* A removed location's rows leave in the next cycle; listeners hear the
 * region, the rows and where they were; the region stays, empty, and a key
 * added again gets a new region. */
static void test_remove_basic(void **state) {
  (void)state;
  env e;
  env_open(&e, TD_UPDATE_ADD_REMOVE, 3600 * 1000);
  put_rows(&e, 1, 5);
  put_rows(&e, 2, 7);
  put_rows(&e, 3, 3);
  td_table *t = live(&e);
  td_error err;
  heard h = {0};
  TD_ASSERT_OK(td_table_add_listener(t, hear, &h, NULL, &err), &err);
  assert_int_equal(td_table_size(t), 15);
  int64_t x[64];
  read_x(t, x, 64); /* pages of p02 now cached */
  td_counters before;
  td_service_counters(e.svc, &before);
  TD_ASSERT_OK(remove_loc(&e, 2, &err), &err);
  assert_int_equal(td_table_size(t), 15); /* not before the cycle */
  flush(&e);
  assert_int_equal(h.calls, 1);
  assert_int_equal(h.n_removed, 1);
  assert_int_equal(h.removed[0].region, 1);
  assert_int_equal(h.removed[0].first_row, 0);
  assert_int_equal(h.removed[0].end_row, 7);
  assert_int_equal(h.removed_begin[0], 5);
  assert_string_equal(h.removed_names[0], "P=p02");
  assert_int_equal(h.size_before, 15);
  assert_int_equal(h.size_after, 8);
  assert_int_equal(td_table_size(t), 8);
  assert_int_equal(td_table_location_count(t), 3);
  assert_true(td_table_region_removed(t, 1));
  assert_false(td_table_region_removed(t, 0));
  assert_int_equal(td_table_region_start(t, 2), 5);
  assert_int_equal(td_table_row_key(t, 5), (int64_t)2 << TD_ROW_BITS);
  int64_t n = read_x(t, x, 64);
  int64_t want[8] = {1000, 1001, 1002, 1003, 1004, 3000, 3001, 3002};
  assert_int_equal(n, 8);
  for (int i = 0; i < 8; i++) assert_int_equal(x[i], want[i]);
  /* Its pages left the cache (p02: 7 rows in 4-row pages, 1 column). */
  td_counters after;
  td_service_counters(e.svc, &after);
  assert_int_equal(before.cache_pages - after.cache_pages, 2);
  /* Its size subscription ended. */
  assert_int_equal(td_proxy_count(&e.proxy, TD_METHOD_UNSUBSCRIBE, NULL), 1);
  /* Added again: a new region (3), fetched afresh. */
  put_rows(&e, 2, 2);
  flush(&e);
  assert_int_equal(td_table_location_count(t), 4);
  assert_false(td_table_region_removed(t, 3));
  assert_int_equal(td_table_region_start(t, 3), 8);
  n = read_x(t, x, 64);
  assert_int_equal(n, 10);
  assert_int_equal(x[8], 2000);
  assert_int_equal(x[9], 2001);
  /* Removing the first and the last in one cycle. */
  TD_ASSERT_OK(remove_loc(&e, 1, &err), &err);
  TD_ASSERT_OK(remove_loc(&e, 2, &err), &err);
  flush(&e);
  assert_int_equal(h.n_removed, 2);
  assert_int_equal(h.removed[0].region, 0);
  assert_int_equal(h.removed_begin[0], 0);
  assert_int_equal(h.removed[1].region, 3);
  assert_int_equal(h.removed_begin[1], 8);
  assert_int_equal(h.removed[1].end_row, 2);
  n = read_x(t, x, 64);
  assert_int_equal(n, 3);
  assert_int_equal(x[0], 3000);
  /* A new table on the key sees only what is left. */
  td_table *t2 = live(&e);
  assert_int_equal(td_table_size(t2), 3);
  assert_int_equal(td_table_location_count(t2), 1);
  td_table_release(t2);
  assert_int_equal(h.errors, 0);
  td_table_release(t);
  env_close(&e);
}

/* Removed and added again inside one cycle: a new region with the new rows;
 * added and removed inside one cycle: never seen. */
static void test_remove_readd_same_cycle(void **state) {
  (void)state;
  env e;
  env_open(&e, TD_UPDATE_ADD_REMOVE, 3600 * 1000);
  put_rows(&e, 1, 3);
  td_table *t = live(&e);
  td_error err;
  heard h = {0};
  TD_ASSERT_OK(td_table_add_listener(t, hear, &h, NULL, &err), &err);
  TD_ASSERT_OK(remove_loc(&e, 1, &err), &err);
  put_rows(&e, 1, 2);
  put_rows(&e, 5, 1);
  TD_ASSERT_OK(remove_loc(&e, 5, &err), &err);
  flush(&e);
  assert_int_equal(h.n_removed, 1);
  assert_int_equal(h.removed_rows, 3);
  assert_int_equal(td_table_location_count(t), 2);
  int64_t x[8];
  assert_int_equal(read_x(t, x, 8), 2);
  assert_int_equal(x[0], 1000);
  assert_int_equal(x[1], 1001);
  assert_int_equal(h.errors, 0);
  td_table_release(t);
  env_close(&e);
}

/* An add-only table refuses a removal: the answer is TD_ECONTRACT and the
 * table fails, both naming the location. */
static void test_remove_add_only(void **state) {
  (void)state;
  env e;
  env_open(&e, TD_UPDATE_ADD_ONLY, 3600 * 1000);
  put_rows(&e, 1, 3);
  put_rows(&e, 2, 3);
  td_table *t = live(&e);
  td_error err;
  heard h = {0};
  TD_ASSERT_OK(td_table_add_listener(t, hear, &h, NULL, &err), &err);
  assert_int_equal(remove_loc(&e, 2, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "p02");
  TD_ASSERT_CONTAINS(err.message, "add-only");
  flush(&e);
  assert_int_equal(h.errors, 1);
  assert_int_equal(h.code, TD_ECONTRACT);
  TD_ASSERT_CONTAINS(h.error, "location 'P=p02' removed, but the table is add-only");
  assert_int_equal(td_table_status(t, &err), TD_EFAILED);
  td_table_release(t);
  env_close(&e);
}

/* A removal of a location the subscription never added fails the table with
 * TD_ECONTRACT naming it; so does a second removal. */
static void test_remove_unknown(void **state) {
  (void)state;
  for (int twice = 0; twice < 2; twice++) {
    env e;
    env_open(&e, TD_UPDATE_ADD_REMOVE, 3600 * 1000);
    put_rows(&e, 1, 3);
    td_table *t = live(&e);
    td_error err;
    heard h = {0};
    TD_ASSERT_OK(td_table_add_listener(t, hear, &h, NULL, &err), &err);
    td_request sub = {0};
    for (int64_t i = 0; i < e.proxy.n_log; i++)
      if (e.proxy.log[i].method == TD_METHOD_SUBSCRIBE_LOCATIONS) sub = e.proxy.log[i].req;
    assert_non_null(sub.service);
    td_location_key *k = pkey(twice ? 1 : 9);
    TD_ASSERT_OK(td_answer_location_removed(sub, k, &err), &err);
    if (twice) TD_ASSERT_OK(td_answer_location_removed(sub, k, &err), &err);
    td_location_key_release(k);
    flush(&e);
    assert_int_equal(h.errors, 1);
    assert_int_equal(h.code, TD_ECONTRACT);
    TD_ASSERT_CONTAINS(h.error, twice ? "location 'P=p01' was removed but" : "location 'P=p09' was removed but");
    td_table_release(t);
    env_close(&e);
  }
}

/* A removal answer on anything but a location subscription breaks the
 * contract. */
static void test_remove_wrong_request(void **state) {
  (void)state;
  env e;
  env_open(&e, TD_UPDATE_ADD_REMOVE, 3600 * 1000);
  put_rows(&e, 1, 3);
  td_table *t = live(&e);
  td_request sub = {0};
  for (int64_t i = 0; i < e.proxy.n_log; i++)
    if (e.proxy.log[i].method == TD_METHOD_SUBSCRIBE_SIZE) sub = e.proxy.log[i].req;
  td_location_key *k = pkey(1);
  td_error err;
  assert_int_equal(td_answer_location_removed(sub, k, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "location removal");
  assert_int_equal(td_answer_location_removed((td_request){0}, k, &err), TD_EINVAL);
  td_location_key_release(k);
  td_table_release(t);
  env_close(&e);
}

/* A derived table's snapshot taken before a removal stays readable: a stream
 * opened before it yields the rows as they were. */
static void test_remove_old_snapshot(void **state) {
  (void)state;
  env e;
  env_open(&e, TD_UPDATE_ADD_REMOVE, 3600 * 1000);
  put_rows(&e, 1, 6);
  put_rows(&e, 2, 6);
  td_table *t = live(&e);
  td_table *w;
  td_error err;
  TD_ASSERT_OK(td_table_where(t, "x < 1003 OR x > 2002", &w, &err), &err);
  assert_int_equal(td_table_size(w), 6);
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_table_stream(w, NULL, 0, &st, &err), &err);
  TD_ASSERT_OK(remove_loc(&e, 2, &err), &err);
  flush(&e);
  assert_int_equal(td_table_size(w), 3);
  int64_t rows = 0, sum = 0;
  for (;;) {
    struct ArrowArray b;
    assert_int_equal(st.get_next(&st, &b), 0);
    if (!b.release) break;
    const int64_t *v = (const int64_t *)b.children[1]->buffers[1] + b.children[1]->offset;
    for (int64_t i = 0; i < b.length; i++) sum += v[i];
    rows += b.length;
    b.release(&b);
  }
  st.release(&st);
  assert_int_equal(rows, 6);
  assert_int_equal(sum, 1000 + 1001 + 1002 + 2003 + 2004 + 2005);
  td_table_release(w);
  td_table_release(t);
  env_close(&e);
}

/* A refreshing partitioned table lists the locations left: a removed one is
 * no row, and the constituents of the others stay right. */
static void test_remove_partitioned(void **state) {
  (void)state;
  env e;
  env_open(&e, TD_UPDATE_ADD_REMOVE, 3600 * 1000);
  put_rows(&e, 1, 2);
  put_rows(&e, 2, 4);
  put_rows(&e, 3, 3);
  td_error err;
  td_table_options o;
  td_table_options_init(&o);
  o.refreshing = true;
  td_partitioned_table *pt;
  TD_ASSERT_OK(td_make_partitioned_table(e.svc, e.key, &o, &pt, &err), &err);
  assert_int_equal(td_partitioned_table_size(pt), 3);
  td_table *c3;
  TD_ASSERT_OK(td_partitioned_table_constituent(pt, 2, &c3, &err), &err);
  TD_ASSERT_OK(remove_loc(&e, 2, &err), &err);
  flush(&e);
  assert_int_equal(td_partitioned_table_size(pt), 2);
  char name[32];
  td_location_key_format(td_partitioned_table_key(pt, 1), name, sizeof name);
  assert_string_equal(name, "P=p03");
  td_table *c;
  TD_ASSERT_OK(td_partitioned_table_constituent(pt, 1, &c, &err), &err);
  assert_ptr_equal(c, c3); /* cached by region, not by row */
  assert_int_equal(td_table_size(c), 3);
  td_table_release(c);
  td_table_release(c3);
  struct ArrowArray a;
  TD_ASSERT_OK(td_partitioned_table_read(pt, NULL, &a, &err), &err);
  assert_int_equal(a.length, 2);
  a.release(&a);
  td_table *m;
  TD_ASSERT_OK(td_partitioned_table_merge(pt, &m, &err), &err);
  assert_int_equal(td_table_size(m), 5);
  td_table_release(m);
  td_partitioned_table_release(pt);
  env_close(&e);
}

extern int64_t td__alloc_fail_after(int64_t n);

/* Every allocation of a removal (the answer, the cycle, the change record,
 * the cache drop) may fail: the table then either has the removal applied
 * or has failed with TD_ENOMEM, and nothing leaks (ASan). */
static void test_remove_alloc_failures(void **state) {
  (void)state;
  bool completed = false;
  for (int64_t n = 0; n < 400 && !completed; n++) {
    env e;
    env_open(&e, TD_UPDATE_ADD_REMOVE, 3600 * 1000);
    put_rows(&e, 1, 5);
    put_rows(&e, 2, 7);
    td_table *t = live(&e);
    td_table *w;
    td_error err;
    TD_ASSERT_OK(td_table_where(t, "x > 1001", &w, &err), &err);
    heard h = {0};
    TD_ASSERT_OK(td_table_add_listener(t, hear, &h, NULL, &err), &err);
    td_location_key *k = pkey(2);
    td__alloc_fail_after(n);
    int rc = td_memory_backend_remove_location(e.mb, "r", k, &err);
    int frc = td_service_flush(e.svc, 10000, &err);
    int64_t used = td__alloc_fail_after(-1);
    td_location_key_release(k);
    assert_int_equal(frc, TD_OK);
    if (rc == TD_OK && td_table_status(t, &err) == TD_OK) {
      if (td_table_size(t) == 5) {
        assert_int_equal(h.n_removed, 1);
        if (td_table_status(w, &err) == TD_OK) assert_int_equal(td_table_size(w), 3);
        else assert_int_equal(td_table_status(w, &err), TD_EFAILED);
      }
    } else if (rc == TD_OK) {
      assert_int_equal(h.code, TD_ENOMEM);
    } else {
      assert_int_equal(rc, TD_ENOMEM);
    }
    completed = used < n;
    td_table_release(w);
    td_table_release(t);
    env_close(&e);
  }
  assert_true(completed);
}

/* ---- concurrency: a writer adds, appends and removes while readers read
 * and a listener checks every cycle (run under TSan by `make tsan`). ---- */

typedef struct shared {
  env *e;
  td_table *t;
  atomic_bool stop;
  atomic_long reads;
} shared;

static void *reader(void *arg) {
  shared *s = arg;
  while (!atomic_load(&s->stop)) {
    td_error err;
    struct ArrowArrayStream st;
    if (td_table_stream(s->t, NULL, 0, &st, &err) != TD_OK) continue;
    for (;;) {
      struct ArrowArray b;
      if (st.get_next(&st, &b) != 0) break; /* a page of a removed location: the backend says so */
      if (!b.release) break;
      /* Every row is consistent with its partition value. */
      const int32_t *off = b.children[0]->buffers[1];
      const char *chars = b.children[0]->buffers[2];
      const int64_t *x = (const int64_t *)b.children[1]->buffers[1] + b.children[1]->offset;
      int64_t o = b.children[0]->offset;
      /* "pNN": the value's own bytes only (the buffer need not end after it) */
      char text[16] = {0};
      const int32_t len = off[o + 1] - off[o];
      assert_true(len > 1 && len < (int32_t)sizeof text);
      memcpy(text, chars + off[o], (size_t)len);
      int p = atoi(text + 1);
      for (int64_t i = 0; i < b.length; i++) assert_int_equal(x[i] / 1000, p);
      b.release(&b);
    }
    st.release(&st);
    atomic_fetch_add(&s->reads, 1);
  }
  return NULL;
}

static void test_remove_concurrent(void **state) {
  (void)state;
  env e;
  env_open(&e, TD_UPDATE_ADD_REMOVE, 0);
  for (int p = 0; p < 6; p++) put_rows(&e, p, 10);
  shared s = {.e = &e};
  s.t = live(&e);
  atomic_init(&s.stop, false);
  atomic_init(&s.reads, 0);
  heard h = {0};
  td_error err;
  TD_ASSERT_OK(td_table_add_listener(s.t, hear, &h, NULL, &err), &err);
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, reader, &s);
  unsigned seed = 11;
  bool present[6] = {true, true, true, true, true, true};
  for (int step = 0; step < 300; step++) {
    int p = (int)(rand_r(&seed) % 6);
    int what = (int)(rand_r(&seed) % 3);
    if (what == 0 && present[p]) {
      TD_ASSERT_OK(remove_loc(&e, p, &err), &err);
      present[p] = false;
    } else {
      put_rows(&e, p, 1 + rand_r(&seed) % 5);
      present[p] = true;
    }
  }
  flush(&e);
  atomic_store(&s.stop, true);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  /* The table ends equal to the backend. */
  int64_t want = 0;
  for (int p = 0; p < 6; p++) {
    td_location_key *k = pkey(p);
    int64_t n = td_memory_backend_location_size(e.mb, "r", k);
    td_location_key_release(k);
    if (n > 0) want += n;
  }
  if (h.errors) fail_msg("the table failed: %s", h.error);
  assert_int_equal(td_table_size(s.t), want);
  assert_true(h.removed_rows > 0);
  td_table_release(s.t);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_remove_basic),         cmocka_unit_test(test_remove_readd_same_cycle),
      cmocka_unit_test(test_remove_add_only),      cmocka_unit_test(test_remove_unknown),
      cmocka_unit_test(test_remove_wrong_request), cmocka_unit_test(test_remove_old_snapshot),
      cmocka_unit_test(test_remove_partitioned),   cmocka_unit_test(test_remove_alloc_failures),   cmocka_unit_test(test_remove_concurrent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
