/*
 * bench/bench_window_live.c - SQL window functions on a live append-only
 * table (query/sql_window.c): the update-cycle CPU time (the service's
 * update_cpu_ns) of one appended batch of B trades on an N-row live table
 * (5,000 symbols, ts increasing), for
 *   avg(price) OVER (PARTITION BY sym ORDER BY ts RANGE INTERVAL 1 MINUTE
 *   PRECEDING)            incremental, and a cycle that recomputes (the
 *                         batch holds one row older than its symbol's last:
 *                         what every cycle cost before)
 *   QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC) = 1
 *                         the latest row per symbol, incremental, and the
 *                         same with a QUALIFY that is not exactly "= 1"
 *                         (the general operator: recomputes every cycle)
 * against the cycle of the bare source table.
 *
 *   bench_window_live [N rows] [B batch] [repeats] [inc]
 * ("inc": the incremental cycles only, for profiling)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "tabledata.h"

#define N_SYMS 5000

static unsigned seed = 4242;

/* n trades (sym, ts, price), ts from t0 in steps of 1 ms; `late`: the last
 * row's ts is an hour earlier. */
static void trades(int64_t n, int64_t t0, bool late, struct ArrowArray *out) {
  td_error err;
  td_type_id types[3] = {TD_TYPE_UTF8, TD_TYPE_TIMESTAMP, TD_TYPE_FLOAT64};
  td_builder *b[3];
  for (int c = 0; c < 3; c++) check(td_builder_new(types[c], &b[c], &err), &err);
  for (int64_t i = 0; i < n; i++) {
    char sym[16];
    snprintf(sym, sizeof sym, "S%04d", (int)(rand_r(&seed) % N_SYMS));
    td_builder_append_str(b[0], sym, -1, NULL);
    td_builder_append_int(b[1], t0 + i * 1000000 - (late && i == n - 1 ? 3600LL * 1000000000 : 0), NULL);
    td_builder_append_double(b[2], 100.0 + (double)(rand_r(&seed) % 10000) / 100.0, NULL);
  }
  struct ArrowArray cols[3];
  for (int c = 0; c < 3; c++) {
    check(td_builder_finish(b[c], &cols[c], &err), &err);
    td_builder_free(b[c]);
  }
  check(td_batch_make(3, cols, out, &err), &err);
}

typedef struct benv {
  td_memory_backend *mb;
  td_service *svc;
  int64_t t_next;
} benv;

static int resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  benv *e = ctx;
  (void)name;
  (void)is_path;
  *svc = td_service_retain(e->svc);
  return td_table_key_new("trades", key, err);
}

static td_table *live_query(benv *e, const char *sql) {
  td_query_options o;
  td_query_options_init(&o);
  o.resolver = resolve;
  o.resolver_ctx = e;
  o.refreshing = true;
  td_error err;
  td_table *t;
  check(td_query(sql, &o, &t, &err), &err);
  return t;
}

/* Update-cycle CPU (ms) of appending b trades, averaged over `repeats`. */
static double cycle_ms(benv *e, int64_t b, int repeats, bool late) {
  td_error err;
  td_counters c0, c1;
  td_service_counters(e->svc, &c0);
  td_location_key *k;
  check(td_location_key_new("live", 0, NULL, NULL, &k, &err), &err);
  for (int r = 0; r < repeats; r++) {
    struct ArrowArray batch;
    trades(b, e->t_next, late, &batch);
    check(td_memory_backend_append(e->mb, "trades", k, &batch, &err), &err);
    e->t_next += b * 1000000;
    check(td_service_flush(e->svc, 60000, &err), &err);
  }
  td_location_key_release(k);
  td_service_counters(e->svc, &c1);
  return (double)(c1.update_cpu_ns - c0.update_cpu_ns) / 1e6 / repeats;
}

int main(int argc, char **argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 1000000;
  int64_t b = argc > 2 ? atoll(argv[2]) : 10000;
  int repeats = argc > 3 ? atoi(argv[3]) : 5;
  bool inc_only = argc > 4 && strcmp(argv[4], "inc") == 0;
  td_error err;
  benv e = {0};
  check(td_memory_backend_new(&e.mb, &err), &err);
  const char *names[3] = {"sym", "ts", "price"};
  td_type_id types[3] = {TD_TYPE_UTF8, TD_TYPE_TIMESTAMP, TD_TYPE_FLOAT64};
  struct ArrowSchema ds;
  check(td_schema_make(3, names, types, NULL, &ds, &err), &err);
  check(td_memory_backend_add_table(e.mb, "trades", &ds, NULL, &err), &err);
  ds.release(&ds);
  struct ArrowArray batch;
  trades(n, 0, false, &batch);
  td_location_key *k;
  check(td_location_key_new("base", 0, NULL, NULL, &k, &err), &err);
  check(td_memory_backend_add_location(e.mb, "trades", k, &batch, &err), &err);
  td_location_key_release(k);
  trades(0, 0, false, &batch);
  check(td_location_key_new("live", 0, NULL, NULL, &k, &err), &err);
  check(td_memory_backend_add_location(e.mb, "trades", k, &batch, &err), &err);
  td_location_key_release(k);
  e.t_next = n * 1000000;
  td_service_options so;
  td_service_options_init(&so);
  so.update_period_ms = 3600 * 1000; /* cycles on flush only */
  check(td_service_new(td_memory_backend_backend(e.mb), &so, &e.svc, &err), &err);
  td_table *src = live_query(&e, "SELECT * FROM trades");
  double base = cycle_ms(&e, b, repeats, false);
  printf("window: live source alone (%lld rows), appended batch of %lld: %.3f ms update-cycle CPU\n",
         (long long)td_table_size(src), (long long)b, base);
  td_table *w = live_query(&e, "SELECT sym, ts, price, avg(price) OVER (PARTITION BY sym ORDER BY ts RANGE INTERVAL "
                                "1 MINUTE PRECEDING) a FROM trades");
  double inc = cycle_ms(&e, b, repeats, false);
  double rec = inc_only ? 0 : cycle_ms(&e, b, repeats < 3 ? repeats : 3, true);
  printf("window: live rolling 1-minute avg per sym (%lld rows), appended batch of %lld: %.3f ms update-cycle CPU "
         "incremental, %.3f ms recomputed (a late row; every cycle before)\n",
         (long long)td_table_size(w), (long long)b, inc - base, rec - base);
  td_table_release(w);
  w = live_query(&e, "SELECT sym, ts, price FROM trades QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts "
                     "DESC) = 1");
  double top = cycle_ms(&e, b, repeats, false);
  const char *general = "SELECT sym, ts, price FROM trades QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts "
                        "DESC) = 1 AND price > 0";
  td_table *g = inc_only ? NULL : live_query(&e, general);
  double both = inc_only ? 0 : cycle_ms(&e, b, repeats < 3 ? repeats : 3, false);
  printf("window: live QUALIFY latest row per sym (%lld rows, %lld keys), appended batch of %lld: %.3f ms "
         "update-cycle CPU incremental, %.3f ms recomputed (the general operator; every cycle before)\n",
         (long long)td_table_size(src), (long long)td_table_size(w), (long long)b, top - base, both - top);
  td_table_release(g);
  td_table_release(w);
  td_table_release(src);
  td_service_free(e.svc);
  td_memory_backend_release(e.mb);
  return 0;
}
