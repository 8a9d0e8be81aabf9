/*
 * bench/bench_join.c - joins and Deephaven's ticking-table operations
 * (tabledata/join.h, tabledata/update_by.h) over the memory backend.
 *
 * Static: trades (N rows, 5,000 symbols) hash-joined with a 5,000-row
 * reference table on sym; trades as-of joined to quotes (M rows) on sym and
 * ts; last_by sym; a rolling 1-minute average price per sym.
 * Live: the update-cycle CPU time (the service's update_cpu_ns) for one
 * appended batch of B trades, on a live as-of join (quotes static, then
 * quotes live too) and on a live last_by, against the cycle of the bare
 * source table: median, min and mean over TD_BENCH_LIVE_CYCLES cycles
 * (default 21; both sides ticking: at most 5) and the minor page faults a
 * cycle.
 *
 *   bench_join [N trades] [M quotes] [B batch] [repeats] [live [aj|last|both]]
 * ("live": the live part only, for profiling; then optionally one of its
 * three operators only)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_util.h"
#include "tabledata.h"

#define N_SYMS 5000

static unsigned seed = 12345;

/* A batch of trades (sym, ts, price, size) or quotes (sym, ts, bid), ts from t0 step dt. */
static void make_batch(bool trades, int64_t n, int64_t t0, int64_t dt, struct ArrowArray *out) {
  td_error err;
  int nc = trades ? 4 : 3;
  td_type_id types[4] = {TD_TYPE_UTF8, TD_TYPE_TIMESTAMP, TD_TYPE_FLOAT64, TD_TYPE_INT64};
  td_builder *b[4];
  for (int c = 0; c < nc; c++) check(td_builder_new(types[c], &b[c], &err), &err);
  for (int64_t i = 0; i < n; i++) {
    char sym[16];
    snprintf(sym, sizeof sym, "S%04d", (int)(rand_r(&seed) % N_SYMS));
    td_builder_append_str(b[0], sym, -1, NULL);
    td_builder_append_int(b[1], t0 + i * dt, NULL);
    td_builder_append_double(b[2], 100.0 + (double)(rand_r(&seed) % 10000) / 100.0, NULL);
    if (trades) td_builder_append_int(b[3], 1 + rand_r(&seed) % 1000, NULL);
  }
  struct ArrowArray cols[4];
  for (int c = 0; c < nc; c++) {
    check(td_builder_finish(b[c], &cols[c], &err), &err);
    td_builder_free(b[c]);
  }
  check(td_batch_make(nc, cols, out, &err), &err);
}

static void add_table(td_memory_backend *mb, const char *name, int n, const char *const *names,
                      const td_type_id *types) {
  td_error err;
  struct ArrowSchema ds;
  check(td_schema_make(n, names, types, NULL, &ds, &err), &err);
  check(td_memory_backend_add_table(mb, name, &ds, NULL, &err), &err);
  ds.release(&ds);
}

static td_location_key *loc(int i) {
  char id[16];
  snprintf(id, sizeof id, "%06d", i);
  td_location_key *k;
  td_error err;
  check(td_location_key_new(id, 0, NULL, NULL, &k, &err), &err);
  return k;
}

/* Fills `table` with n rows in locations of 250,000 rows; ts step dt ns. */
static void fill(td_memory_backend *mb, const char *table, bool trades, int64_t n, int64_t dt) {
  td_error err;
  int64_t per = 250000;
  for (int64_t at = 0, i = 0; at < n; at += per, i++) {
    int64_t m = n - at < per ? n - at : per;
    struct ArrowArray batch;
    make_batch(trades, m, at * dt, dt, &batch);
    td_location_key *k = loc((int)i);
    check(td_memory_backend_add_location(mb, table, k, &batch, &err), &err);
    td_location_key_release(k);
  }
}

static td_table *table(td_service *svc, const char *name, bool live) {
  td_error err;
  td_table_key *key;
  check(td_table_key_new(name, &key, &err), &err);
  td_table_options o = {NULL, NULL, live};
  td_table *t;
  check(td_make_table(svc, key, &o, &t, &err), &err);
  td_table_key_release(key);
  return t;
}

typedef td_table *(*op_fn)(td_table *trades, td_table *other);

static td_table *op_hash(td_table *t, td_table *ref) {
  td_error err;
  td_table *out;
  const char *k = "sym";
  check(td_table_join(t, ref, TD_JOIN_INNER, &k, 1, &out, &err), &err);
  return out;
}
static td_table *op_aj(td_table *t, td_table *q) {
  td_error err;
  td_table *out;
  const char *k = "sym";
  check(td_table_aj(t, q, &k, 1, "ts>=ts", &out, &err), &err);
  return out;
}
static td_table *op_last(td_table *t, td_table *unused) {
  (void)unused;
  td_error err;
  td_table *out;
  const char *k = "sym";
  check(td_table_last_by(t, &k, 1, &out, &err), &err);
  return out;
}
static td_table *op_roll(td_table *t, td_table *unused) {
  (void)unused;
  td_error err;
  td_table *out;
  const char *k = "sym";
  td_rolling r = {TD_ROLL_AVG, "price", "avg_1m", 0, "ts", 60LL * 1000000000};
  check(td_table_update_by(t, &r, 1, &k, 1, &out, &err), &err);
  return out;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Best wall time of `repeats` runs; *cpu: the process CPU time of that run
 * (on a loaded machine the wall time includes waiting for a core). */
static double best_of(op_fn fn, td_table *t, td_table *other, int repeats, int64_t *rows, double *cpu) {
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    double t0 = now(), c0 = cpu_now();
    td_table *out = fn(t, other);
    double dt = now() - t0, dc = cpu_now() - c0;
    *rows = td_table_size(out);
    td_table_release(out);
    if (dt < best) best = dt, *cpu = dc;
  }
  return best;
}

/* Per-cycle figures of a live operator: update-cycle CPU (ms) and the
 * process's minor page faults during the cycle (the main thread waits in
 * td_service_flush meanwhile, so they are the update thread's). */
typedef struct cycles {
  double med, min, mean, faults, append_ms;
} cycles;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double thread_cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static long minor_faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

/* Appends B trades (and B quotes) `repeats` times, one update cycle each. */
static cycles cycle_ms(td_memory_backend *mb, td_service *svc, int64_t b, int64_t *t_next, int repeats,
                       bool quotes_too) {
  td_error err;
  double *ms = malloc((size_t)repeats * sizeof *ms);
  if (!ms) exit(1);
  long faults = 0;
  double sum = 0, append_ms = 0;
  td_location_key *k = loc(999999);
  for (int r = 0; r < repeats; r++) {
    struct ArrowArray batch;
    make_batch(true, b, *t_next, 1000, &batch);
    double a0 = thread_cpu_ms();
    check(td_memory_backend_append(mb, "trades", k, &batch, &err), &err);
    append_ms += thread_cpu_ms() - a0;
    if (quotes_too) {
      make_batch(false, b, *t_next, 1000, &batch);
      a0 = thread_cpu_ms();
      check(td_memory_backend_append(mb, "quotes", k, &batch, &err), &err);
      append_ms += thread_cpu_ms() - a0;
    }
    *t_next += b * 1000;
    td_counters c0, c1;
    td_service_counters(svc, &c0);
    long f0 = minor_faults();
    check(td_service_flush(svc, 60000, &err), &err);
    faults += minor_faults() - f0;
    td_service_counters(svc, &c1);
    ms[r] = (double)(c1.update_cpu_ns - c0.update_cpu_ns) / 1e6;
    sum += ms[r];
    if (getenv("TD_BENCH_VERBOSE")) printf("  cycle %d: %.3f ms, %ld minor faults\n", r, ms[r], minor_faults() - f0);
  }
  td_location_key_release(k);
  qsort(ms, (size_t)repeats, sizeof *ms, cmp_double);
  cycles c = {repeats % 2 ? ms[repeats / 2] : (ms[repeats / 2 - 1] + ms[repeats / 2]) / 2, ms[0], sum / repeats,
              (double)faults / repeats, append_ms / repeats};
  free(ms);
  return c;
}

static void print_cycles(const char *what, const cycles *c, const cycles *base, int repeats) {
  printf("join: %s: update-cycle CPU median %.3f ms, min %.3f, mean %.3f over %d cycles", what, c->med, c->min,
         c->mean, repeats);
  if (base) printf(" (median %.3f ms over the source; target < 1 ms)", c->med - base->med);
  printf(", %.0f minor faults a cycle; the writer's td_memory_backend_append %.3f ms CPU a cycle\n", c->faults,
         c->append_ms);
}

int main(int argc, char **argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 1000000;
  int64_t m = argc > 2 ? atoll(argv[2]) : 1000000;
  int64_t b = argc > 3 ? atoll(argv[3]) : 10000;
  int repeats = argc > 4 ? atoi(argv[4]) : 3;
  /* cycles per live operator (the median and min are reported) */
  int live_repeats = getenv("TD_BENCH_LIVE_CYCLES") ? atoi(getenv("TD_BENCH_LIVE_CYCLES")) : 21;
  if (live_repeats < 1) live_repeats = 1;
  td_error err;
  td_memory_backend *mb;
  check(td_memory_backend_new(&mb, &err), &err);
  const char *tn[4] = {"sym", "ts", "price", "size"};
  td_type_id tt[4] = {TD_TYPE_UTF8, TD_TYPE_TIMESTAMP, TD_TYPE_FLOAT64, TD_TYPE_INT64};
  const char *qn[3] = {"sym", "ts", "bid"};
  const char *rn[2] = {"sym", "sector"};
  td_type_id rt[2] = {TD_TYPE_UTF8, TD_TYPE_INT64};
  add_table(mb, "trades", 4, tn, tt);
  add_table(mb, "quotes", 3, qn, tt);
  add_table(mb, "ref", 2, rn, rt);
  fill(mb, "trades", true, n, 1000);
  fill(mb, "quotes", false, m, 1000 * n / (m ? m : 1));
  {
    td_builder *bs, *bi;
    check(td_builder_new(TD_TYPE_UTF8, &bs, &err), &err);
    check(td_builder_new(TD_TYPE_INT64, &bi, &err), &err);
    for (int i = 0; i < N_SYMS; i++) {
      char sym[16];
      snprintf(sym, sizeof sym, "S%04d", i);
      td_builder_append_str(bs, sym, -1, NULL);
      td_builder_append_int(bi, i % 11, NULL);
    }
    struct ArrowArray cols[2], batch;
    check(td_builder_finish(bs, &cols[0], &err), &err);
    check(td_builder_finish(bi, &cols[1], &err), &err);
    td_builder_free(bs);
    td_builder_free(bi);
    check(td_batch_make(2, cols, &batch, &err), &err);
    td_location_key *k = loc(0);
    check(td_memory_backend_add_location(mb, "ref", k, &batch, &err), &err);
    td_location_key_release(k);
  }
  td_service_options so;
  td_service_options_init(&so);
  so.update_period_ms = 3600 * 1000; /* cycles on flush only */
  td_service *svc;
  check(td_service_new(td_memory_backend_backend(mb), &so, &svc, &err), &err);
  td_table *trades = table(svc, "trades", false), *quotes = table(svc, "quotes", false), *ref = table(svc, "ref", false);
  int64_t rows;
  double s, cpu = 0;
  bool live_only = argc > 5 && strcmp(argv[5], "live") == 0; /* for profiling */
  const char *only = live_only && argc > 6 ? argv[6] : NULL;  /* one live operator */
  if (live_only) repeats = 1;
  if (live_only) goto live;
  s = best_of(op_hash, trades, ref, repeats, &rows, &cpu);
  printf("join: hash join %lld trades x %d-row reference on sym: %.3f s wall, %.3f s CPU (%.1f M rows/s), %lld rows\n",
         (long long)n, N_SYMS, s, cpu, (double)n / s / 1e6, (long long)rows);
  s = best_of(op_aj, trades, quotes, repeats, &rows, &cpu);
  printf("join: as-of join %lld trades x %lld quotes on sym, ts: %.3f s wall, %.3f s CPU (%.1f M rows/s)\n",
         (long long)n, (long long)m, s, cpu, (double)(n + m) / s / 1e6);
  s = best_of(op_last, trades, NULL, repeats, &rows, &cpu);
  printf("join: last_by sym over %lld trades: %.3f s wall, %.3f s CPU (%.1f M rows/s), %lld keys\n", (long long)n, s,
         cpu, (double)n / s / 1e6, (long long)rows);
  s = best_of(op_roll, trades, NULL, repeats, &rows, &cpu);
  printf("join: rolling 1-minute avg price per sym over %lld trades: %.3f s wall, %.3f s CPU (%.1f M rows/s)\n",
         (long long)n, s, cpu, (double)n / s / 1e6);
live:
  td_table_release(trades);
  td_table_release(quotes);

  /* live */
  struct ArrowArray empty;
  make_batch(true, 0, 0, 1000, &empty);
  td_location_key *k = loc(999999);
  check(td_memory_backend_add_location(mb, "trades", k, &empty, &err), &err);
  make_batch(false, 0, 0, 1000, &empty);
  check(td_memory_backend_add_location(mb, "quotes", k, &empty, &err), &err);
  td_location_key_release(k);
  int64_t t_next = n * 1000;
  td_table *lt = table(svc, "trades", true);
  char what[256];
  cycles base = cycle_ms(mb, svc, b, &t_next, live_repeats, false);
  snprintf(what, sizeof what, "live source table alone, appended batch of %lld trades", (long long)b);
  print_cycles(what, &base, NULL, live_repeats);
  td_table *aj;
  if (only && strcmp(only, "aj") != 0) goto last;
  td_table *sq = table(svc, "quotes", false);
  aj = op_aj(lt, sq);
  cycles a = cycle_ms(mb, svc, b, &t_next, live_repeats, false);
  snprintf(what, sizeof what, "live as-of join (%lld trades, static quotes), appended batch of %lld trades",
           (long long)td_table_size(lt), (long long)b);
  print_cycles(what, &a, &base, live_repeats);
  td_table_release(aj);
  td_table_release(sq);
last:
  if (only && strcmp(only, "last") != 0) goto both;
  td_table *lb = op_last(lt, NULL);
  cycles l = cycle_ms(mb, svc, b, &t_next, live_repeats, false);
  snprintf(what, sizeof what, "live last_by sym (%lld trades), appended batch of %lld trades",
           (long long)td_table_size(lt), (long long)b);
  print_cycles(what, &l, &base, live_repeats);
  td_table_release(lb);
both:
  if (only && strcmp(only, "both") != 0) goto done;
  td_table *lq = table(svc, "quotes", true);
  aj = op_aj(lt, lq);
  int both_repeats = live_repeats < 5 ? live_repeats : 5;
  cycles bt = cycle_ms(mb, svc, b, &t_next, both_repeats, true);
  snprintf(what, sizeof what,
           "live as-of join, both sides ticking (%lld trades, %lld quotes), batches of %lld each (appended quotes "
           "re-evaluate the trades they affect)",
           (long long)td_table_size(lt), (long long)td_table_size(lq), (long long)b);
  print_cycles(what, &bt, NULL, both_repeats);
  td_table_release(aj);
  td_table_release(lq);
done:
  td_table_release(lt);
  td_table_release(ref);
  td_service_free(svc);
  td_memory_backend_release(mb);
  return 0;
}
