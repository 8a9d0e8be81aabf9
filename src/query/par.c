/*
 * query/par.c - the worker pool of static operations (see par.h): threads
 * started per operation (a few tens of microseconds, small beside a scan
 * worth splitting) and joined before it returns; they start away from the
 * caller's CPU (td_thread_start).  With TD_PAR_TRACE set in the environment,
 * each parallel run prints its workers' CPU and wall time to stderr (how
 * well the work was split, on a machine too loaded to time).
 */
#include "query/par.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/sys.h"

int td__par_cores(void) { return td_online_cores(TD_PAR_MAX); }

int td__par_workers(int threads, int64_t n_units) {
  if (n_units <= 1) return 1; /* no need to ask for the cores (sysconf reads sysfs: tens of us) */
  int64_t n = threads > 0 ? threads : td__par_cores();
  if (n > TD_PAR_MAX) n = TD_PAR_MAX;
  if (n > n_units) n = n_units;
  return n < 1 ? 1 : (int)n;
}

int64_t td__par_work(const td_table *t, const td_snapshot *snap, int64_t begin, int64_t end, int64_t min_rows) {
  int64_t units = (end - begin) / min_rows;
  if (end > begin && t->kind == TD_TABLE_SOURCE)
    units += (td_snapshot_region_of(snap, end - 1) - td_snapshot_region_of(snap, begin) + 1) / TD_PAR_LOCATIONS;
  return units;
}

typedef struct par_slot {
  pthread_t thread;
  bool started;
  int worker;
  int rc;
  td_par_fn fn;
  void *ctx;
  td_error err;
  /* TD_PAR_TRACE: the worker's CPU and wall time, and how often it blocked
   * (voluntary context switches) or was preempted */
  bool trace;
  double cpu_ms, wall_ms;
  double asked_ms, start_ms; /* when the thread was asked for; how long it took to start */
  long blocked, preempted;
} par_slot;

static double ms_of(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *par_main(void *v) {
  par_slot *s = v;
  td_error_clear(&s->err);
  struct rusage r0, r1;
  double c0 = 0, w0 = 0;
  if (s->trace) {
    getrusage(RUSAGE_THREAD, &r0);
    c0 = ms_of(CLOCK_THREAD_CPUTIME_ID);
    w0 = ms_of(CLOCK_MONOTONIC);
    s->start_ms = s->asked_ms > 0 ? w0 - s->asked_ms : 0;
  }
  s->rc = s->fn(s->ctx, s->worker, &s->err);
  if (s->trace) {
    s->cpu_ms = ms_of(CLOCK_THREAD_CPUTIME_ID) - c0;
    s->wall_ms = ms_of(CLOCK_MONOTONIC) - w0;
    getrusage(RUSAGE_THREAD, &r1);
    s->blocked = r1.ru_nvcsw - r0.ru_nvcsw;
    s->preempted = r1.ru_nivcsw - r0.ru_nivcsw;
  }
  return NULL;
}

int td__par_run(int n, td_par_fn fn, void *ctx, td_error *err) {
  if (n <= 1) return fn(ctx, 0, err);
  par_slot local[8], *slots = n <= 8 ? local : td_calloc((size_t)n, sizeof *slots);
  if (!slots) { /* no room to start threads: the workers one after the other */
    int rc = TD_OK;
    for (int w = 0; w < n && rc == TD_OK; w++) rc = fn(ctx, w, err);
    return rc;
  }
  memset(slots, 0, (size_t)n * sizeof *slots);
  bool trace = getenv("TD_PAR_TRACE") != NULL;
  for (int w = 0; w < n; w++) {
    slots[w].trace = trace;
    slots[w].worker = w;
    slots[w].fn = fn;
    slots[w].ctx = ctx;
  }
  for (int w = 1; w < n; w++) {
    if (trace) slots[w].asked_ms = ms_of(CLOCK_MONOTONIC);
    slots[w].started = td_thread_start(&slots[w].thread, par_main, &slots[w]) == 0;
  }
  par_main(&slots[0]);
  for (int w = 1; w < n; w++) {
    if (slots[w].started) pthread_join(slots[w].thread, NULL);
    else par_main(&slots[w]);
  }
  for (int w = 0; trace && w < n; w++)
    fprintf(stderr, "%s w%d started %.2f ms, cpu %.1f ms, wall %.1f ms, blocked %ld, preempted %ld%s",
            w ? ";" : "td par:", w, slots[w].start_ms, slots[w].cpu_ms, slots[w].wall_ms, slots[w].blocked,
            slots[w].preempted, w + 1 < n ? "" : "\n");
  int rc = TD_OK;
  for (int w = 0; w < n && rc == TD_OK; w++)
    if (slots[w].rc) {
      rc = slots[w].rc;
      if (err) *err = slots[w].err;
    }
  if (slots != local) td_free(slots);
  return rc;
}

int td__par_units(const td_table *t, const td_snapshot *snap, int64_t begin, int64_t end, int64_t **bounds,
                  int64_t *n, td_error *err) {
  int64_t cap = 64, k = 0;
  int64_t *b = td_malloc((size_t)cap * sizeof *b);
  if (!b) return td_err_nomem(err, "splitting a scan");
  b[k++] = begin;
  for (int64_t pos = begin; pos < end;) {
    pos = td_scan_chunk_end(t, snap, pos, end);
    if (k == cap) {
      int64_t *nb = td_realloc(b, (size_t)cap * 2 * sizeof *nb);
      if (!nb) {
        td_free(b);
        return td_err_nomem(err, "splitting a scan");
      }
      b = nb;
      cap *= 2;
    }
    b[k++] = pos;
  }
  *bounds = b;
  *n = k - 1;
  return TD_OK;
}

void td__par_group(const td_table *t, const td_snapshot *snap, int workers, int64_t *bounds, int64_t *n) {
  if (workers <= 1 || *n <= 1) return;
  int64_t begin = bounds[0], end = bounds[*n];
  int64_t target = (end - begin) / ((int64_t)workers * 4);
  bool source = t->kind == TD_TABLE_SOURCE;
  int64_t k = 0; /* bounds[0..k] are the grouped units so far */
  int64_t region = source ? td_snapshot_region_of(snap, begin) : -1;
  for (int64_t i = 1; i <= *n; i++) {
    int64_t next = i < *n && source ? td_snapshot_region_of(snap, bounds[i]) : -1;
    /* unit k grows by chunk i - 1; it ends at a location's end, or once it
     * holds `target` rows */
    bool cut = i == *n || bounds[i] - bounds[k] >= target || (source && next != region);
    if (cut) bounds[++k] = bounds[i];
    if (source && i < *n) region = next;
  }
  *n = k;
}
