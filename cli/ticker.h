/*
 * cli/ticker.h - a background writer on the sample table: appends ticks
 * (current timestamps, prices that move: td_sample_add_ticks) at a given
 * rate to random locations and now and then adds a location.  Used by
 * `demo --live` and `follow ... FROM demo`.
 */
#ifndef TD_CLI_TICKER_H
#define TD_CLI_TICKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "sample.h"

typedef struct td_ticker {
  td_memory_backend *mb;
  double rate; /* rows per second */
  _Atomic int stop;
  pthread_t thread;
  bool running;
  int64_t rows_written;
  char tickers[64][16], exchanges[64][16];
  td_sample_quote quotes[64]; /* each location's moving price */
  int n_locs;
} td_ticker;

/* Starts writing to `mb` (the sample table's backend). */
int td_ticker_start(td_ticker *t, td_memory_backend *mb, double rate);
void td_ticker_stop(td_ticker *t);
/* Waits until `duration` seconds passed (0: for ever) or Ctrl-C. */
void td_wait_interrupt(double duration);

#endif
