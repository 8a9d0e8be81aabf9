/*
 * bench/bench_refresh.c - refreshing tables.
 *
 * latency:    immediate mode; one location; 10,000 appends of one row, each
 *             timed from the append (the backend's size notification) to the
 *             listener callback.  p50 and p99.
 * throughput: 100 locations appended to by 4 writer threads for a few
 *             seconds; rows per second applied (seen by the listener), and
 *             the update thread's CPU time per cycle and as a fraction of
 *             wall time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "tabledata.h"

static td_memory_backend *make_backend(int n_locs) {
  td_error err;
  td_memory_backend *mb;
  check(td_memory_backend_new(&mb, &err), &err);
  const char *name = "v", *pname = "Loc";
  td_type_id type = TD_TYPE_INT64, ptype = TD_TYPE_INT32;
  struct ArrowSchema ds, ps;
  check(td_schema_make(1, &name, &type, NULL, &ds, &err), &err);
  check(td_schema_make(1, &pname, &ptype, NULL, &ps, &err), &err);
  check(td_memory_backend_add_table(mb, "t", &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  for (int l = 0; l < n_locs; l++) {
    td_value v = td_value_int(TD_TYPE_INT32, l);
    td_location_key *k;
    check(td_location_key_new(NULL, 1, &pname, &v, &k, &err), &err);
    check(td_memory_backend_add_location(mb, "t", k, NULL, &err), &err);
    td_location_key_release(k);
  }
  return mb;
}

/* Pre-built batches of n rows, appended many times. */
static void make_batch(int64_t n, struct ArrowArray *out) {
  td_error err;
  td_builder *b;
  check(td_builder_new(TD_TYPE_INT64, &b, &err), &err);
  for (int64_t i = 0; i < n; i++) td_builder_append_int(b, i, NULL);
  struct ArrowArray col;
  check(td_builder_finish(b, &col, &err), &err);
  td_builder_free(b);
  check(td_batch_make(1, &col, out, &err), &err);
}

/* ---- latency ---- */

typedef struct lat {
  pthread_mutex_t m;
  pthread_cond_t c;
  int64_t seen;   /* rows seen by the listener */
  double at;      /* when it saw the last change */
} lat;

static void lat_listener(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  lat *l = ctx;
  double when = now();
  pthread_mutex_lock(&l->m);
  if (u) l->seen = u->size_after;
  l->at = when;
  pthread_cond_signal(&l->c);
  pthread_mutex_unlock(&l->m);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void bench_latency(int n) {
  td_error err;
  td_memory_backend *mb = make_backend(1);
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = 0;
  td_service *svc;
  check(td_service_new(td_memory_backend_backend(mb), &o, &svc, &err), &err);
  td_table_key *key;
  check(td_table_key_new("t", &key, &err), &err);
  td_table_options to = {NULL, NULL, true};
  td_table *t;
  check(td_make_table(svc, key, &to, &t, &err), &err);
  lat l = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  check(td_table_add_listener(t, lat_listener, &l, NULL, &err), &err);
  double *samples = malloc((size_t)n * sizeof *samples);
  const char *pname = "Loc";
  td_value v = td_value_int(TD_TYPE_INT32, 0);
  td_location_key *k;
  check(td_location_key_new(NULL, 1, &pname, &v, &k, &err), &err);
  for (int i = 0; i < n; i++) {
    struct ArrowArray batch;
    make_batch(1, &batch);
    double t0 = now();
    check(td_memory_backend_append(mb, "t", k, &batch, &err), &err);
    pthread_mutex_lock(&l.m);
    while (l.seen < i + 1) pthread_cond_wait(&l.c, &l.m);
    samples[i] = l.at - t0;
    pthread_mutex_unlock(&l.m);
  }
  td_location_key_release(k);
  qsort(samples, (size_t)n, sizeof *samples, cmp_double);
  printf("refresh latency, immediate mode, %d appends: p50 %.3f ms, p99 %.3f ms, max %.3f ms (target p99 < 2 ms)\n",
         n, samples[n / 2] * 1e3, samples[(int)(n * 0.99)] * 1e3, samples[n - 1] * 1e3);
  free(samples);
  td_table_release(t);
  td_table_key_release(key);
  td_service_free(svc);
  td_memory_backend_release(mb);
}

/* ---- throughput ---- */

typedef struct tp {
  td_memory_backend *mb;
  _Atomic int stop;
  _Atomic int64_t written;
  _Atomic int64_t applied;
  int first_loc, n_locs;
  int64_t rows_per_append;
} tp;

static void tp_listener(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  tp *s = ctx;
  if (u) atomic_fetch_add(&s->applied, u->size_after - u->size_before);
}

typedef struct wr {
  tp *s;
  int first, count;
} wr;

static void *tp_writer(void *arg) {
  wr *w = arg;
  tp *s = w->s;
  td_error err;
  const char *pname = "Loc";
  td_location_key *keys[64];
  for (int i = 0; i < w->count; i++) {
    td_value v = td_value_int(TD_TYPE_INT32, w->first + i);
    check(td_location_key_new(NULL, 1, &pname, &v, &keys[i], &err), &err);
  }
  int i = 0;
  while (!atomic_load(&s->stop)) {
    struct ArrowArray batch;
    make_batch(s->rows_per_append, &batch);
    check(td_memory_backend_append(s->mb, "t", keys[i], &batch, &err), &err);
    atomic_fetch_add(&s->written, s->rows_per_append);
    i = (i + 1) % w->count;
  }
  for (int j = 0; j < w->count; j++) td_location_key_release(keys[j]);
  return NULL;
}

static void bench_throughput(int64_t period_ms, double seconds, int64_t rows_per_append) {
  td_error err;
  enum { LOCS = 100, WRITERS = 4 };
  tp s;
  memset(&s, 0, sizeof s);
  s.mb = make_backend(LOCS);
  s.rows_per_append = rows_per_append;
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = period_ms;
  td_service *svc;
  check(td_service_new(td_memory_backend_backend(s.mb), &o, &svc, &err), &err);
  td_table_key *key;
  check(td_table_key_new("t", &key, &err), &err);
  td_table_options to = {NULL, NULL, true};
  td_table *t;
  check(td_make_table(svc, key, &to, &t, &err), &err);
  check(td_table_add_listener(t, tp_listener, &s, NULL, &err), &err);
  td_counters c0;
  td_service_counters(svc, &c0);
  pthread_t th[WRITERS];
  wr ws[WRITERS];
  double t0 = now();
  for (int i = 0; i < WRITERS; i++) {
    ws[i] = (wr){&s, i * (LOCS / WRITERS), LOCS / WRITERS};
    pthread_create(&th[i], NULL, tp_writer, &ws[i]);
  }
  struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  nanosleep(&ts, NULL);
  atomic_store(&s.stop, 1);
  for (int i = 0; i < WRITERS; i++) pthread_join(th[i], NULL);
  check(td_service_flush(svc, 60000, &err), &err);
  double wall = now() - t0;
  td_counters c;
  td_service_counters(svc, &c);
  int64_t cycles = c.update_cycles - c0.update_cycles;
  double cpu = (double)(c.update_cpu_ns - c0.update_cpu_ns) * 1e-9;
  printf("refresh throughput, %s, 100 locations, 4 writers, %lld-row appends, %.1f s: %.2f M rows/s applied "
         "(%lld written, %lld applied), %lld cycles, update thread CPU %.3f ms/cycle = %.1f%% of wall time\n",
         period_ms == 0 ? "immediate mode" : "periodic", (long long)rows_per_append, wall,
         (double)atomic_load(&s.applied) / wall * 1e-6, (long long)atomic_load(&s.written),
         (long long)atomic_load(&s.applied), (long long)cycles, cycles ? cpu / (double)cycles * 1e3 : 0.0,
         cpu / wall * 100);
  if (atomic_load(&s.applied) != atomic_load(&s.written)) {
    fprintf(stderr, "bench_refresh: applied rows differ from written rows\n");
    exit(1);
  }
  td_table_release(t);
  td_table_key_release(key);
  td_service_free(svc);
  td_memory_backend_release(s.mb);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10000;
  double seconds = argc > 2 ? atof(argv[2]) : 3.0;
  bench_latency(n);
  bench_throughput(0, seconds, 100);
  bench_throughput(100, seconds, 100);
  return 0;
}
