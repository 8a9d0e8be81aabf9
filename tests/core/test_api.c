/*
 * tests/core/test_api.c - the embedder conveniences of table.h: options
 * init, column types and time zones, td_table_wait (reaching a size or
 * version, timeouts, failures, static tables, from a listener, several
 * waiters), td_partitioned_table_merge (static and live, error paths) and
 * the lifetime of borrowed location keys across cycles.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "proxy_backend.h"
#include "sample.h"
#include "sample_env.h"
#include "tabledata.h"
#include "test.h"

extern int64_t td__alloc_fail_after(int64_t n);


static void sleep_ms(int64_t ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- options and column accessors ---- */

static void test_options_init(void **state) {
  (void)state;
  td_table_options o;
  memset(&o, 0xab, sizeof o);
  td_table_options_init(&o);
  assert_null(o.predicate);
  assert_null(o.predicate_ctx);
  assert_false(o.refreshing);
  /* The defaults behave like NULL options: static, every location. */
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  td_table *t = td_sample_env_table(&e, false);
  assert_false(td_table_is_refreshing(t));
  assert_int_equal(td_table_size(t), 6);
  assert_int_equal(td_table_location_count(t), 3);
  td_table_release(t);
  td_sample_env_close(&e);
}

static void test_column_types(void **state) {
  (void)state;
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  td_table *t = td_sample_env_table(&e, false);
  static const struct {
    const char *name;
    td_type_id type;
  } want[] = {{"Ticker", TD_TYPE_UTF8},     {"Exchange", TD_TYPE_UTF8},  {"Boolean", TD_TYPE_BOOL},
              {"Byte", TD_TYPE_INT8},       {"Char", TD_TYPE_UINT16},    {"Short", TD_TYPE_INT16},
              {"Int", TD_TYPE_INT32},       {"Long", TD_TYPE_INT64},     {"NPLong", TD_TYPE_INT64},
              {"Float", TD_TYPE_FLOAT32},   {"Double", TD_TYPE_FLOAT64}, {"String", TD_TYPE_UTF8},
              {"Datetime", TD_TYPE_TIMESTAMP}};
  int64_t n = (int64_t)(sizeof want / sizeof want[0]);
  assert_int_equal(td_table_num_columns(t), n);
  for (int64_t c = 0; c < n; c++) {
    assert_string_equal(td_table_column_name(t, c), want[c].name);
    assert_int_equal(td_table_column_type(t, c), want[c].type);
    assert_int_equal(td_table_column_index(t, want[c].name), c);
    if (want[c].type != TD_TYPE_TIMESTAMP) assert_null(td_table_column_timezone(t, c));
  }
  assert_string_equal(td_table_column_timezone(t, n - 1), "UTC");
  assert_true(td_table_column_is_partition(t, 1));
  assert_false(td_table_column_is_partition(t, 2));
  /* Out of range. */
  assert_int_equal(td_table_column_type(t, -1), TD_TYPE_NONE);
  assert_int_equal(td_table_column_type(t, n), TD_TYPE_NONE);
  assert_null(td_table_column_timezone(t, n));
  assert_null(td_table_column_name(t, n));
  td_table_release(t);
  td_sample_env_close(&e);
}

/* Floats print with their integer digits, shortest otherwise. */
static void test_value_format_floats(void **state) {
  (void)state;
  static const struct {
    double d;
    td_type_id type;
    const char *text;
  } cases[] = {{300.0, TD_TYPE_FLOAT64, "300"},        {-1000.0, TD_TYPE_FLOAT64, "-1000"},
               {1234567.5, TD_TYPE_FLOAT64, "1234567.5"}, {0.1, TD_TYPE_FLOAT64, "0.1"},
               {1.01, TD_TYPE_FLOAT32, "1.01"},        {999.9999, TD_TYPE_FLOAT64, "999.9999"},
               {1e20, TD_TYPE_FLOAT64, "1e+20"},       {2.5e-7, TD_TYPE_FLOAT64, "2.5e-07"},
               {4e15, TD_TYPE_FLOAT64, "4000000000000000"},
               /* more than 15 digits: the shortest text that reads back */
               {0.1 + 0.2, TD_TYPE_FLOAT64, "0.30000000000000004"}, {1.0 / 3, TD_TYPE_FLOAT64, "0.3333333333333333"},
               {48.271, TD_TYPE_FLOAT64, "48.271"},  {(double)(float)(1.0 / 3), TD_TYPE_FLOAT32, "0.33333334"},
               {1234567890123456.0, TD_TYPE_FLOAT64, "1234567890123456"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    td_value v = td_value_double(cases[i].type, cases[i].d);
    char buf[64];
    size_t n = td_value_format(&v, buf, sizeof buf);
    assert_string_equal(buf, cases[i].text);
    assert_int_equal(n, strlen(cases[i].text));
    char small[4]; /* cut to the buffer, the full length returned */
    assert_int_equal(td_value_format(&v, small, sizeof small), n);
    assert_int_equal(strlen(small), n < 3 ? n : 3);
  }
}

/* Timestamps print as UTC ISO text down to INT64_MIN and INT64_MAX (fuzz_sql
 * found the day split overflowing at INT64_MIN). */
static void test_value_format_timestamp_extremes(void **state) {
  (void)state;
  static const struct {
    int64_t ns;
    const char *text;
  } cases[] = {{0, "1970-01-01T00:00:00.000000000Z"},
               {-1, "1969-12-31T23:59:59.999999999Z"},
               {INT64_MIN, "1677-09-21T00:12:43.145224192Z"},
               {INT64_MAX, "2262-04-11T23:47:16.854775807Z"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    td_value v = td_value_int(TD_TYPE_TIMESTAMP, cases[i].ns);
    char buf[64];
    assert_int_equal(td_value_format(&v, buf, sizeof buf), strlen(cases[i].text));
    assert_string_equal(buf, cases[i].text);
  }
}

/* ---- td_table_wait ---- */

typedef struct writer {
  td_memory_backend *mb;
  int64_t delay_ms;
  int rounds;
} writer;

static void *write_later(void *arg) {
  writer *w = arg;
  for (int i = 0; i < w->rounds; i++) {
    sleep_ms(w->delay_ms);
    assert_int_equal(td_sample_add_ticker(w->mb, "MSFT", "BZX", NULL), TD_OK);
  }
  return NULL;
}

typedef struct waiter_arg {
  td_table *t;
  int64_t min_size;
  int rc;
} waiter_arg;

static void *wait_thread(void *arg) {
  waiter_arg *a = arg;
  a->rc = td_table_wait(a->t, 0, a->min_size, 10000, NULL);
  return NULL;
}

static void test_wait_static(void **state) {
  (void)state;
  td_error err;
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  td_table *t = td_sample_env_table(&e, false);
  TD_ASSERT_OK(td_table_wait(t, 0, 6, 1000, &err), &err);
  TD_ASSERT_OK(td_table_wait(t, 0, 0, 0, &err), &err);
  /* A static table never grows: no waiting for the timeout. */
  assert_int_equal(td_table_wait(t, 0, 7, -1, &err), TD_ESTATE);
  TD_ASSERT_CONTAINS(err.message, "static");
  TD_ASSERT_CONTAINS(err.message, "6 rows");
  assert_int_equal(td_table_wait(t, 1, 0, 1000, &err), TD_ESTATE);
  assert_int_equal(td_table_wait(NULL, 0, 0, 0, &err), TD_EINVAL);
  td_table_release(t);
  td_sample_env_close(&e);
}

static void test_wait_refreshing(void **state) {
  (void)state;
  td_error err;
  td_sample_env e;
  td_sample_env_open(&e, 20, 4);
  td_table *t = td_sample_env_table(&e, true);
  assert_int_equal(td_table_size(t), 6);
  /* Already there; 0 only checks. */
  TD_ASSERT_OK(td_table_wait(t, 0, 6, 0, &err), &err);
  assert_int_equal(td_table_wait(t, 0, 7, 0, &err), TD_ETIMEOUT);
  TD_ASSERT_CONTAINS(err.message, "version 0 with 6 rows");
  /* A short timeout with nothing happening. */
  assert_int_equal(td_table_wait(t, 1, 0, 30, &err), TD_ETIMEOUT);
  TD_ASSERT_CONTAINS(err.message, "within 30 ms");

  /* A writer appends 2 rows three times, 30 ms apart; two threads wait for
   * the last size while this one waits for the first version. */
  writer w = {e.mb, 30, 3};
  waiter_arg a = {t, 12, -1}, b = {t, 12, -1};
  pthread_t wt, ta, tb;
  pthread_create(&ta, NULL, wait_thread, &a);
  pthread_create(&tb, NULL, wait_thread, &b);
  pthread_create(&wt, NULL, write_later, &w);
  TD_ASSERT_OK(td_table_wait(t, 1, 0, 10000, &err), &err);
  assert_true(td_table_version(t) >= 1);
  assert_true(td_table_size(t) >= 8);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  pthread_join(wt, NULL);
  assert_int_equal(a.rc, TD_OK);
  assert_int_equal(b.rc, TD_OK);
  TD_ASSERT_OK(td_table_wait(t, 0, 12, -1, &err), &err);
  assert_int_equal(td_table_size(t), 12);

  /* A derived table waits the same way. */
  td_table *h;
  TD_ASSERT_OK(td_table_head(t, 100, &h, &err), &err);
  assert_int_equal(td_table_size(h), 12);
  assert_true(td_sample_add_ticker(e.mb, "GOOG", "BZX", &err) == TD_OK);
  TD_ASSERT_OK(td_table_wait(h, 0, 14, 10000, &err), &err);
  assert_int_equal(td_table_size(h), 14);
  td_table_release(h);
  td_table_release(t);
  td_sample_env_close(&e);
}

typedef struct fail_later {
  td_request sub;
  int64_t delay_ms;
} fail_later;

static void *fail_thread(void *arg) {
  fail_later *f = arg;
  sleep_ms(f->delay_ms);
  td_answer_failure(f->sub, "feed lost", NULL);
  return NULL;
}

static void test_wait_failure(void **state) {
  (void)state;
  td_error err;
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  td_table *t = td_sample_env_table(&e, true);
  fail_later f = {td_proxy_last(&e.proxy, TD_METHOD_SUBSCRIBE_SIZE, NULL), 30};
  pthread_t th;
  pthread_create(&th, NULL, fail_thread, &f);
  assert_int_equal(td_table_wait(t, 0, 100, 10000, &err), TD_EFAILED);
  TD_ASSERT_CONTAINS(err.message, "feed lost");
  pthread_join(th, NULL);
  /* Failed already: the same error at once; a reached bound is still fine. */
  assert_int_equal(td_table_wait(t, 0, 100, 10000, &err), TD_EFAILED);
  TD_ASSERT_CONTAINS(err.message, "feed lost");
  TD_ASSERT_OK(td_table_wait(t, 0, 6, 10000, &err), &err);
  td_table_release(t);
  td_sample_env_close(&e);
}

typedef struct in_listener {
  int rc;
  int calls;
  char msg[TD_ERROR_MESSAGE_SIZE];
} in_listener;

static void wait_inside(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  in_listener *l = ctx;
  if (!u) return;
  td_error err;
  l->rc = td_table_wait(t, 0, u->size_after + 1, 1000, &err);
  snprintf(l->msg, sizeof l->msg, "%s", err.message);
  l->calls++;
}

static void test_wait_from_listener(void **state) {
  (void)state;
  td_error err;
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  td_table *t = td_sample_env_table(&e, true);
  in_listener l = {-1, 0, ""};
  TD_ASSERT_OK(td_table_add_listener(t, wait_inside, &l, NULL, &err), &err);
  TD_ASSERT_OK(td_sample_add_ticker(e.mb, "GOOG", "BZX", &err), &err);
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  assert_int_equal(l.calls, 1);
  assert_int_equal(l.rc, TD_ESTATE);
  TD_ASSERT_CONTAINS(l.msg, "listener");
  td_table_release(t);
  td_sample_env_close(&e);
}

typedef struct slow_listener {
  pthread_mutex_t m;
  pthread_cond_t cv;
  bool started;
  _Atomic int done;
} slow_listener;

static void slow(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  slow_listener *l = ctx;
  pthread_mutex_lock(&l->m);
  l->started = true;
  pthread_cond_signal(&l->cv);
  pthread_mutex_unlock(&l->m);
  sleep_ms(50);
  atomic_fetch_add(&l->done, 1);
}

/* A wait that returns TD_OK comes after the cycle's listeners, even when the
 * table was already there at the call (the cycle still running). */
static void test_wait_after_listeners(void **state) {
  (void)state;
  td_error err;
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  td_table *t = td_sample_env_table(&e, true);
  slow_listener l = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0};
  TD_ASSERT_OK(td_table_add_listener(t, slow, &l, NULL, &err), &err);
  TD_ASSERT_OK(td_sample_add_ticker(e.mb, "GOOG", "BZX", &err), &err);
  pthread_mutex_lock(&l.m);
  while (!l.started) pthread_cond_wait(&l.cv, &l.m);
  pthread_mutex_unlock(&l.m);
  assert_int_equal(td_table_size(t), 8); /* published, listener still running */
  TD_ASSERT_OK(td_table_wait(t, 1, 8, 10000, &err), &err);
  assert_int_equal(atomic_load(&l.done), 1);
  td_table_release(t);
  td_sample_env_close(&e);
}

/* ---- merge ---- */

/* Reads columns Ticker, Exchange and Int of `t` as "GOOG/NYSE/1,..." */
static void rows_text(td_table *t, char *buf, size_t size) {
  td_error err;
  int64_t cols[3] = {td_table_column_index(t, "Ticker"), td_table_column_index(t, "Exchange"),
                     td_table_column_index(t, "Int")};
  struct ArrowArray a;
  struct ArrowSchema s;
  int64_t n = td_table_size(t);
  TD_ASSERT_OK(td_table_read(t, cols, 3, 0, n, &a, &err), &err);
  TD_ASSERT_OK(td_table_schema(t, &s, &err), &err);
  size_t len = 0;
  buf[0] = 0;
  for (int64_t r = 0; r < n; r++) {
    for (int c = 0; c < 3; c++) {
      td_value v;
      TD_ASSERT_OK(td_arrow_get_value(s.children[cols[c]], a.children[c], r, &v, &err), &err);
      char one[64];
      td_value_format(&v, one, sizeof one);
      len += (size_t)snprintf(buf + len, size - len, "%s%s", one, c < 2 ? "/" : ",");
    }
  }
  a.release(&a);
  s.release(&s);
}

static void concat_constituents(td_partitioned_table *pt, char *buf, size_t size) {
  td_error err;
  size_t len = 0;
  buf[0] = 0;
  for (int64_t i = 0; i < td_partitioned_table_size(pt); i++) {
    td_table *c;
    TD_ASSERT_OK(td_partitioned_table_constituent(pt, i, &c, &err), &err);
    rows_text(c, buf + len, size - len);
    len = strlen(buf);
    td_table_release(c);
  }
}

static bool not_goog(void *ctx, const td_location_key *key) {
  const td_value *v = td_location_key_find(key, "Ticker");
  return !(v->v.s.len == 4 && memcmp(v->v.s.ptr, "GOOG", 4) == 0);
}

static void test_merge_static(void **state) {
  (void)state;
  td_error err;
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  td_partitioned_table *pt;
  TD_ASSERT_OK(td_make_partitioned_table(e.svc, e.key, NULL, &pt, &err), &err);
  td_table *m;
  TD_ASSERT_OK(td_partitioned_table_merge(pt, &m, &err), &err);
  assert_false(td_table_is_refreshing(m));
  assert_int_equal(td_table_size(m), 6);
  char want[1024], got[1024];
  concat_constituents(pt, want, sizeof want);
  rows_text(m, got, sizeof got);
  assert_string_equal(got, "GOOG/NYSE/1,GOOG/NYSE/-1,MSFT/BZX/1,MSFT/BZX/-1,MSFT/BZY/1,MSFT/BZY/-1,");
  assert_string_equal(got, want);
  /* The merge outlives the partitioned table. */
  td_partitioned_table_release(pt);
  assert_int_equal(td_table_location_count(m), 3);
  td_table_release(m);

  /* A predicate carries over. */
  td_table_options o;
  td_table_options_init(&o);
  o.predicate = not_goog;
  TD_ASSERT_OK(td_make_partitioned_table(e.svc, e.key, &o, &pt, &err), &err);
  TD_ASSERT_OK(td_partitioned_table_merge(pt, &m, &err), &err);
  rows_text(m, got, sizeof got);
  assert_string_equal(got, "MSFT/BZX/1,MSFT/BZX/-1,MSFT/BZY/1,MSFT/BZY/-1,");
  td_table_release(m);
  td_partitioned_table_release(pt);

  assert_int_equal(td_partitioned_table_merge(NULL, &m, &err), TD_EINVAL);
  assert_null(m);
  td_sample_env_close(&e);
}

static void test_merge_errors(void **state) {
  (void)state;
  td_error err;
  /* Sizing the locations at merge time times out: the error comes back. */
  td_script sc;
  td_script_init(&sc, 2, 5);
  sc.size_mode = TD_SCRIPT_SILENT;
  td_service_options so;
  td_service_options_init(&so);
  so.request_timeout_ms = 50;
  td_service *svc;
  TD_ASSERT_OK(td_service_new(td_script_backend(&sc), &so, &svc, &err), &err);
  td_table_key *key;
  TD_ASSERT_OK(td_table_key_new("t", &key, &err), &err);
  td_partitioned_table *pt;
  TD_ASSERT_OK(td_make_partitioned_table(svc, key, NULL, &pt, &err), &err);
  assert_int_equal(td_partitioned_table_size(pt), 2);
  td_table *m = (td_table *)&err; /* must be reset */
  assert_int_equal(td_partitioned_table_merge(pt, &m, &err), TD_ETIMEOUT);
  assert_null(m);
  TD_ASSERT_CONTAINS(err.message, "table_location_size");
  td_partitioned_table_release(pt);
  td_table_key_release(key);
  td_service_free(svc);
  td_script_join(&sc);

  /* Out of memory at each step of a static merge. */
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  TD_ASSERT_OK(td_make_partitioned_table(e.svc, e.key, NULL, &pt, &err), &err);
  for (int64_t n = 0; n < 200; n++) {
    td__alloc_fail_after(n);
    int rc = td_partitioned_table_merge(pt, &m, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      assert_int_equal(td_table_size(m), 6);
      td_table_release(m);
      break;
    }
    if (rc != TD_ENOMEM && rc != TD_EBACKEND) fail_msg("allocation %lld: %s", (long long)n, err.message);
    assert_null(m);
  }
  td_partitioned_table_release(pt);
  td_sample_env_close(&e);
}

typedef struct merge_rec {
  int64_t calls, rows, new_locations;
  char last_new[64];
} merge_rec;

static void on_merged(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  merge_rec *r = ctx;
  if (!u) return;
  r->calls++;
  for (int64_t i = 0; i < u->n_added; i++) r->rows += u->added[i].end_row - u->added[i].first_row;
  for (int64_t i = 0; i < u->n_new_locations; i++) {
    r->new_locations++;
    td_location_key_format(u->new_locations[i], r->last_new, sizeof r->last_new);
  }
}

static void test_merge_refreshing(void **state) {
  (void)state;
  td_error err;
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  td_table_options o;
  td_table_options_init(&o);
  o.refreshing = true;
  td_partitioned_table *pt;
  TD_ASSERT_OK(td_make_partitioned_table(e.svc, e.key, &o, &pt, &err), &err);
  td_table *m;
  TD_ASSERT_OK(td_partitioned_table_merge(pt, &m, &err), &err);
  assert_true(td_table_is_refreshing(m));
  assert_int_equal(td_table_size(m), 6);
  merge_rec r = {0, 0, 0, ""};
  TD_ASSERT_OK(td_table_add_listener(m, on_merged, &r, NULL, &err), &err);

  /* A new constituent (sorting first) and rows appended to an old one. */
  TD_ASSERT_OK(td_sample_add_ticker(e.mb, "AAPL", "NYSE", &err), &err);
  TD_ASSERT_OK(td_sample_add_ticker(e.mb, "MSFT", "BZX", &err), &err);
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  assert_int_equal(td_partitioned_table_size(pt), 4);
  assert_int_equal(td_table_size(m), 10);
  assert_int_equal(r.rows, 4);
  assert_int_equal(r.new_locations, 1);
  TD_ASSERT_CONTAINS(r.last_new, "Ticker=AAPL/Exchange=NYSE");
  char want[2048], got[2048];
  concat_constituents(pt, want, sizeof want);
  rows_text(m, got, sizeof got);
  assert_string_equal(got, want);
  TD_ASSERT_CONTAINS(got, "MSFT/BZY/-1,AAPL/NYSE/1,AAPL/NYSE/-1,");

  /* It keeps growing after the partitioned table is gone. */
  td_partitioned_table_release(pt);
  TD_ASSERT_OK(td_sample_add_ticker(e.mb, "GOOG", "BZX", &err), &err);
  TD_ASSERT_OK(td_table_wait(m, 0, 12, 10000, &err), &err);
  assert_int_equal(r.new_locations, 2);
  td_table_release(m);
  td_sample_env_close(&e);
}

/* ---- borrowed keys ---- */

static void test_borrowed_keys_live_with_table(void **state) {
  (void)state;
  td_error err;
  td_sample_env e;
  td_sample_env_open(&e, 0, 4);
  td_table *t = td_sample_env_table(&e, true);
  const td_location_key *first = td_table_location(t, 0);
  char before[128], after[128];
  td_location_key_format(first, before, sizeof before);
  /* Cycles that add locations and rows, and other tables coming and going,
   * leave the key where it was. */
  for (int i = 0; i < 5; i++) {
    TD_ASSERT_OK(td_sample_add_ticker(e.mb, i % 2 ? "MSFT" : "AAPL", i % 2 ? "BZX" : "X", &err), &err);
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    td_table *other = td_sample_env_table(&e, true);
    td_table_release(other);
  }
  assert_ptr_equal(td_table_location(t, 0), first);
  td_location_key_format(first, after, sizeof after);
  assert_string_equal(before, after);
  assert_string_equal(after, "Ticker=GOOG/Exchange=NYSE#GOOG:NYSE");
  td_table_release(t);
  td_sample_env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_options_init),       cmocka_unit_test(test_column_types),
      cmocka_unit_test(test_value_format_floats),
      cmocka_unit_test(test_value_format_timestamp_extremes),
      cmocka_unit_test(test_wait_static),        cmocka_unit_test(test_wait_refreshing),
      cmocka_unit_test(test_wait_failure),       cmocka_unit_test(test_wait_from_listener),
      cmocka_unit_test(test_wait_after_listeners),
      cmocka_unit_test(test_merge_static),       cmocka_unit_test(test_merge_errors),
      cmocka_unit_test(test_merge_refreshing),   cmocka_unit_test(test_borrowed_keys_live_with_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
