/*
 * cli/ticker.c - the sample table's background writer and Ctrl-C handling.
 */
#include "ticker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *k_new_tickers[] = {"AAPL", "AMZN", "NVDA", "TSLA", "META", "IBM", "ORCL", "INTC"};
static const char *k_new_exchanges[] = {"NYSE", "BZX", "BZY", "ARCA", "IEX"};

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *writer(void *arg) {
  td_ticker *tk = arg;
  unsigned seed = 42;
  double next_location = 2.0, elapsed = 0, gap = 0.05, owed = 0;
  while (!atomic_load(&tk->stop)) {
    sleep_s(gap);
    elapsed += gap;
    owed += tk->rate * gap / 2.0; /* each add writes two rows */
    for (; owed >= 1.0 && tk->n_locs > 0; owed -= 1.0) {
      int k = rand_r(&seed) % tk->n_locs;
      td_error err;
      if (td_sample_add_ticks(tk->mb, tk->tickers[k], tk->exchanges[k], &tk->quotes[k], now_ns(), &err) == TD_OK)
        tk->rows_written += 2;
    }
    if (elapsed >= next_location && tk->n_locs < 64) {
      next_location += 2.0 + (rand_r(&seed) % 3);
      const char *t = k_new_tickers[rand_r(&seed) % 8], *x = k_new_exchanges[rand_r(&seed) % 5];
      td_error err;
      int k = 0;
      while (k < tk->n_locs && (strcmp(tk->tickers[k], t) != 0 || strcmp(tk->exchanges[k], x) != 0)) k++;
      if (td_sample_add_ticks(tk->mb, t, x, &tk->quotes[k], now_ns(), &err) == TD_OK) {
        tk->rows_written += 2;
        if (k == tk->n_locs) {
          snprintf(tk->tickers[tk->n_locs], 16, "%s", t);
          snprintf(tk->exchanges[tk->n_locs], 16, "%s", x);
          tk->n_locs++;
        }
      }
    }
  }
  return NULL;
}

int td_ticker_start(td_ticker *tk, td_memory_backend *mb, double rate) {
  memset(tk, 0, sizeof *tk);
  tk->mb = mb;
  tk->rate = rate;
  static const char *t0[4] = {"GOOG", "MSFT", "MSFT", "GOOG"}, *x0[4] = {"NYSE", "BZX", "BZY", "BZX"};
  for (int i = 0; i < 4; i++) {
    snprintf(tk->tickers[i], 16, "%s", t0[i]);
    snprintf(tk->exchanges[i], 16, "%s", x0[i]);
  }
  tk->n_locs = 4;
  if (pthread_create(&tk->thread, NULL, writer, tk) != 0) return TD_ENOMEM;
  tk->running = true;
  return TD_OK;
}

void td_ticker_stop(td_ticker *tk) {
  if (!tk->running) return;
  atomic_store(&tk->stop, 1);
  pthread_join(tk->thread, NULL);
  tk->running = false;
}

static volatile sig_atomic_t g_interrupted;
static void on_signal(int sig) {
  (void)sig;
  g_interrupted = 1;
}

void td_wait_interrupt(double duration) {
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (!g_interrupted) {
    sleep_s(0.05);
    clock_gettime(CLOCK_MONOTONIC, &now);
    double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) * 1e-9;
    if (duration > 0 && el >= duration) break;
  }
}
