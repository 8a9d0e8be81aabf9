/*
 * bench/bench_util.h - what every benchmark program needs: a monotonic clock
 * and a fatal check of tabledata calls.
 */
#ifndef TD_BENCH_UTIL_H
#define TD_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tabledata.h"

static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void check(int rc, const td_error *err) {
  if (rc) {
    fprintf(stderr, "bench: %s\n", err->message);
    exit(1);
  }
}

#endif
