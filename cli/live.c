/*
 * cli/live.c - `tabledata demo --live`: the seeds' refreshing example,
 * continued as a stream of ticks.
 *
 * A refreshing table on the sample table; then the seeds' steps (a new
 * location GOOG/BZX, appends to MSFT/BZX and MSFT/BZY); then a background
 * writer appends rows at --rate rows per second to random locations and now
 * and then adds a location.  A listener prints each cycle: rows added per
 * location, the new size, and the newest rows.  Runs until interrupted or for
 * --duration seconds.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>

#include "commands.h"
#include "grid.h"
#include "sample.h"

static volatile sig_atomic_t g_interrupted;
static void on_sigint(int sig) {
  (void)sig;
  g_interrupted = 1;
}

typedef struct live {
  td_memory_backend *mb;
  double rate;       /* rows per second */
  _Atomic int stop;
  int64_t rows_written;
  char tickers[64][16], exchanges[64][16];
  int n_locs;
} live;

static const char *k_new_tickers[] = {"AAPL", "AMZN", "NVDA", "TSLA", "META", "IBM", "ORCL", "INTC"};
static const char *k_new_exchanges[] = {"NYSE", "BZX", "BZY", "ARCA", "IEX"};

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

static void *writer(void *arg) {
  live *lv = arg;
  unsigned seed = 42;
  double next_location = 2.0, elapsed = 0;
  double batch_gap = 0.05; /* write in small batches, 20 per second */
  while (!atomic_load(&lv->stop)) {
    sleep_s(batch_gap);
    elapsed += batch_gap;
    int batches = (int)(lv->rate * batch_gap / 2.0 + 0.5); /* each add writes 2 rows */
    if (batches < 1) batches = 1;
    for (int i = 0; i < batches && lv->n_locs > 0; i++) {
      int k = rand_r(&seed) % lv->n_locs;
      td_error err;
      if (td_sample_add_ticker(lv->mb, lv->tickers[k], lv->exchanges[k], &err) == TD_OK) lv->rows_written += 2;
    }
    if (elapsed >= next_location && lv->n_locs < 64) {
      next_location += 2.0 + (rand_r(&seed) % 3);
      const char *t = k_new_tickers[rand_r(&seed) % 8], *x = k_new_exchanges[rand_r(&seed) % 5];
      td_error err;
      if (td_sample_add_ticker(lv->mb, t, x, &err) == TD_OK) {
        bool known = false;
        for (int i = 0; i < lv->n_locs; i++)
          known = known || (strcmp(lv->tickers[i], t) == 0 && strcmp(lv->exchanges[i], x) == 0);
        if (!known) {
          snprintf(lv->tickers[lv->n_locs], 16, "%s", t);
          snprintf(lv->exchanges[lv->n_locs], 16, "%s", x);
          lv->n_locs++;
        }
      }
    }
  }
  return NULL;
}

/* Prints the last rows of up to three of the ranges a cycle added. */
static void print_newest(td_table *t, const td_table_update *u) {
  td_error err;
  struct ArrowSchema sch;
  if (td_table_schema(t, &sch, &err) != TD_OK) return;
  td_grid g;
  if (td_grid_init(&g, &sch, &err) == TD_OK) {
    for (int64_t i = u->n_added > 3 ? u->n_added - 3 : 0; i < u->n_added; i++) {
      int64_t start = td_table_region_start(t, u->added[i].region);
      int64_t pos = start + u->added[i].end_row - 1;
      struct ArrowArray row;
      if (start >= 0 && td_table_read(t, NULL, 0, pos, pos + 1, &row, &err) == TD_OK) {
        td_grid_add(&g, &sch, &row, &err);
        row.release(&row);
      }
    }
    td_grid_print(&g, stdout);
  }
  td_grid_reset(&g);
  sch.release(&sch);
}

static void on_cycle(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)ctx;
  if (e) {
    printf("table failed: %s\n", e->message);
    fflush(stdout);
    return;
  }
  int64_t added = u->size_after - u->size_before;
  printf("\nversion %lld: +%lld rows in %lld locations, size %lld", (long long)u->version, (long long)added,
         (long long)u->n_added, (long long)u->size_after);
  for (int64_t i = 0; i < u->n_new_locations; i++) {
    char k[128];
    td_location_key_format(u->new_locations[i], k, sizeof k);
    printf("%s%s", i ? ", " : "; new location ", k);
  }
  printf("\n");
  print_newest(t, u);
  fflush(stdout);
}

int td_demo_live(double duration, int64_t period_ms, double rate) {
  td_error err;
  td_error_clear(&err);
  live lv;
  memset(&lv, 0, sizeof lv);
  lv.rate = rate;
  td_service *svc = NULL;
  td_table_key *key = NULL;
  td_table *t = NULL;
  int rc = td_sample_create(&lv.mb, &err);
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = period_ms;
  if (rc == TD_OK) rc = td_service_new(td_memory_backend_backend(lv.mb), &o, &svc, &err);
  if (rc == TD_OK) rc = td_table_key_new(TD_SAMPLE_TABLE, &key, &err);
  td_table_options to = {NULL, NULL, true};
  if (rc == TD_OK) rc = td_make_table(svc, key, &to, &t, &err);
  if (rc == TD_OK) {
    printf("refreshing table '%s' (update period %lld ms%s): %lld rows\n\n", TD_SAMPLE_TABLE, (long long)period_ms,
           period_ms == 0 ? ", immediate mode" : "", (long long)td_table_size(t));
    rc = td_cli_print_table(t, stdout, &err);
  }
  if (rc == TD_OK) rc = td_table_add_listener(t, on_cycle, NULL, NULL, &err);
  /* The seeds' steps: a new location, then appends to two others. */
  if (rc == TD_OK) rc = td_sample_add_ticker(lv.mb, "GOOG", "BZX", &err);
  if (rc == TD_OK) rc = td_sample_add_ticker(lv.mb, "MSFT", "BZX", &err);
  if (rc == TD_OK) rc = td_sample_add_ticker(lv.mb, "MSFT", "BZY", &err);
  pthread_t th;
  bool started = false;
  if (rc == TD_OK) {
    static const char *t0[4] = {"GOOG", "MSFT", "MSFT", "GOOG"}, *x0[4] = {"NYSE", "BZX", "BZY", "BZX"};
    for (int i = 0; i < 4; i++) {
      snprintf(lv.tickers[i], 16, "%s", t0[i]);
      snprintf(lv.exchanges[i], 16, "%s", x0[i]);
    }
    lv.n_locs = 4;
    started = pthread_create(&th, NULL, writer, &lv) == 0;
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    struct timespec t_start, now;
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    while (!g_interrupted) {
      sleep_s(0.05);
      clock_gettime(CLOCK_MONOTONIC, &now);
      double el = (double)(now.tv_sec - t_start.tv_sec) + (double)(now.tv_nsec - t_start.tv_nsec) * 1e-9;
      if (duration > 0 && el >= duration) break;
    }
  }
  if (started) {
    atomic_store(&lv.stop, 1);
    pthread_join(th, NULL);
  }
  if (rc == TD_OK) {
    td_service_flush(svc, 5000, NULL);
    td_counters c;
    td_service_counters(svc, &c);
    printf("\nstopped: %lld rows in %lld locations after %lld update cycles\n", (long long)td_table_size(t),
           (long long)td_table_location_count(t), (long long)c.update_cycles);
  }
  td_table_release(t);
  td_table_key_release(key);
  td_service_free(svc);
  td_memory_backend_release(lv.mb);
  return rc ? td_cli_fail("demo", &err) : 0;
}
