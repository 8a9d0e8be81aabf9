/*
 * bench/bench_scale.c - costs that grow with the number of locations and
 * columns (issue 8): they must stay near-linear.
 *
 * locations: N locations (one row each) in the memory backend:
 *   static       td_make_table (list, intern, size every location);
 *   refreshing   td_make_table (the subscription's initial batch of N);
 *   batch        a refreshing table made on an empty table, then N new
 *                locations arriving in one batch: the cycle that takes them
 *                (td_service_flush), and the release of the table (N
 *                unsubscribes).
 * columns: a table of C int64 columns: td_make_table, then every column
 *   looked up by name.
 *
 * usage: bench_scale [locations...] (default 100000 1000000); TD_BENCH_COLUMNS
 * (default 100000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "tabledata.h"

/* CPU time of the process: on a shared machine, wall time also counts
 * other processes. */
static double cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static td_memory_backend *backend(void) {
  td_error err;
  td_memory_backend *mb;
  check(td_memory_backend_new(&mb, &err), &err);
  const char *name = "v", *pname = "Loc";
  td_type_id type = TD_TYPE_INT64, ptype = TD_TYPE_INT64;
  struct ArrowSchema ds, ps;
  check(td_schema_make(1, &name, &type, NULL, &ds, &err), &err);
  check(td_schema_make(1, &pname, &ptype, NULL, &ps, &err), &err);
  check(td_memory_backend_add_table(mb, "t", &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  return mb;
}

static void add_locations(td_memory_backend *mb, int64_t n) {
  td_error err;
  const char *pname = "Loc";
  struct ArrowArray batch;
  for (int64_t l = 0; l < n; l++) {
    td_value v = td_value_int(TD_TYPE_INT64, l);
    td_location_key *k;
    check(td_location_key_new(NULL, 1, &pname, &v, &k, &err), &err);
    td_builder *b;
    check(td_builder_new(TD_TYPE_INT64, &b, &err), &err);
    td_builder_append_int(b, l, NULL);
    struct ArrowArray col;
    check(td_builder_finish(b, &col, &err), &err);
    td_builder_free(b);
    check(td_batch_make(1, &col, &batch, &err), &err);
    check(td_memory_backend_add_location(mb, "t", k, &batch, &err), &err);
    td_location_key_release(k);
  }
}

static td_service *service(td_memory_backend *mb) {
  td_error err;
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = 3600 * 1000; /* cycles only when flushed */
  td_service *svc;
  check(td_service_new(td_memory_backend_backend(mb), &o, &svc, &err), &err);
  return svc;
}

static td_table *make(td_service *svc, bool refreshing, double *secs, double *cpu_secs) {
  td_error err;
  td_table_key *key;
  check(td_table_key_new("t", &key, &err), &err);
  td_table_options o = {NULL, NULL, refreshing};
  td_table *t;
  double t0 = now(), c0 = cpu();
  check(td_make_table(svc, key, &o, &t, &err), &err);
  *secs = now() - t0;
  *cpu_secs = cpu() - c0;
  td_table_key_release(key);
  return t;
}

static void locations(int64_t n) {
  td_error err;
  double s_static, s_live, s_batch, s_release, c_static, c_live, c_batch, c_release;
  td_memory_backend *mb = backend();
  add_locations(mb, n);
  td_service *svc = service(mb);
  td_table *t = make(svc, false, &s_static, &c_static);
  if (td_table_size(t) != n) exit(1);
  td_table_release(t);
  td_service_free(svc);
  svc = service(mb);
  t = make(svc, true, &s_live, &c_live);
  if (td_table_size(t) != n) exit(1);
  td_table_release(t);
  td_service_free(svc);
  td_memory_backend_release(mb);

  mb = backend();
  svc = service(mb);
  double ignore, ignore_cpu;
  t = make(svc, true, &ignore, &ignore_cpu);
  add_locations(mb, n); /* notifications only: no cycle runs */
  double t0 = now(), c0 = cpu();
  check(td_service_flush(svc, 3600 * 1000, &err), &err);
  s_batch = now() - t0;
  c_batch = cpu() - c0;
  if (td_table_size(t) != n) exit(1);
  t0 = now();
  c0 = cpu();
  td_table_release(t);
  s_release = now() - t0;
  c_release = cpu() - c0;
  td_service_free(svc);
  td_memory_backend_release(mb);
  printf("scale: %lld locations (wall s / CPU s): static table %.2f / %.2f, refreshing table %.2f / %.2f, "
         "a batch of %lld new locations in one cycle %.2f / %.2f, releasing that table %.2f / %.2f\n",
         (long long)n, s_static, c_static, s_live, c_live, (long long)n, s_batch, c_batch, s_release, c_release);
}

static void columns(int64_t n) {
  td_error err;
  td_memory_backend *mb;
  check(td_memory_backend_new(&mb, &err), &err);
  char **names = malloc((size_t)n * sizeof *names);
  td_type_id *types = malloc((size_t)n * sizeof *types);
  for (int64_t i = 0; i < n; i++) {
    names[i] = malloc(32);
    snprintf(names[i], 32, "column_%lld", (long long)i);
    types[i] = TD_TYPE_INT64;
  }
  struct ArrowSchema ds;
  double t0 = now();
  check(td_schema_make(n, (const char *const *)names, types, NULL, &ds, &err), &err);
  check(td_memory_backend_add_table(mb, "t", &ds, NULL, &err), &err);
  ds.release(&ds);
  td_location_key *k;
  check(td_location_key_standalone(&k, &err), &err);
  check(td_memory_backend_add_location(mb, "t", k, NULL, &err), &err);
  td_location_key_release(k);
  double s_backend = now() - t0;
  td_service *svc = service(mb);
  double s_open, c_open;
  td_table *t = make(svc, false, &s_open, &c_open);
  t0 = now();
  double c0 = cpu();
  for (int64_t i = 0; i < n; i++)
    if (td_table_column_index(t, names[i]) != i) exit(1);
  double s_lookup = now() - t0, c_lookup = cpu() - c0;
  printf("scale: %lld columns (wall s / CPU s): backend table %.2f, td_make_table %.3f / %.3f, "
         "every column by name %.3f / %.3f\n",
         (long long)n, s_backend, s_open, c_open, s_lookup, c_lookup);
  td_table_release(t);
  td_service_free(svc);
  td_memory_backend_release(mb);
  for (int64_t i = 0; i < n; i++) free(names[i]);
  free(names);
  free(types);
}

int main(int argc, char **argv) {
  const char *c = getenv("TD_BENCH_COLUMNS");
  columns(c ? atoll(c) : 100000);
  if (argc > 1)
    for (int i = 1; i < argc; i++) locations(atoll(argv[i]));
  else {
    locations(100000);
    locations(1000000);
  }
  return 0;
}
