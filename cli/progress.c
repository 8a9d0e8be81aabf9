/*
 * cli/progress.c - the progress line of `tabledata query` (see progress.h):
 * a thread that wakes every 250 ms and, after the first second, rewrites
 * one line on stderr from the service's rows_scanned counter; when the
 * query ends after that second it shows the final count once before
 * clearing the line.  TD_PROGRESS_AFTER_MS overrides the second (tests set
 * it to 0 to see the line on any query).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

struct td_progress {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  bool stop, quiet, shown;
  const int64_t *total;
  td_service *svc;
  int64_t base;       /* rows_scanned when the service was set */
  struct timespec t0; /* start (CLOCK_MONOTONIC) */
  double after;       /* seconds before the line shows */
};

static double since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* "12.3M" style counts. */
static const char *human(double v, char *buf, size_t n) {
  const char *unit = "";
  if (v >= 1e9) v /= 1e9, unit = "G";
  else if (v >= 1e6) v /= 1e6, unit = "M";
  else if (v >= 1e3) v /= 1e3, unit = "k";
  snprintf(buf, n, *unit ? "%.1f%s" : "%.0f%s", v, unit);
  return buf;
}

/* Called with the lock held. */
static void show(td_progress *p) {
  double secs = since(&p->t0);
  if (p->quiet || !p->svc || secs < p->after) return;
  td_counters c;
  td_service_counters(p->svc, &c);
  /* rows scanned plus rows that statistics let the scan skip unread */
  int64_t scanned = c.rows_scanned + c.rows_skipped - p->base;
  int64_t total = __atomic_load_n(p->total, __ATOMIC_RELAXED);
  char a[32], b[32], r[32];
  if (total > 0) {
    double pct = 100.0 * (double)scanned / (double)total;
    fprintf(stderr, "\r\033[K%5.1f%%  %s of %s rows, %s rows/s", pct > 100 ? 100 : pct,
            human((double)scanned, a, sizeof a), human((double)total, b, sizeof b),
            human((double)scanned / secs, r, sizeof r));
  } else {
    fprintf(stderr, "\r\033[K%s rows, %s rows/s", human((double)scanned, a, sizeof a),
            human((double)scanned / secs, r, sizeof r));
  }
  fflush(stderr);
  p->shown = true;
}

static void clear_line(td_progress *p) {
  if (!p->shown) return;
  fprintf(stderr, "\r\033[K");
  fflush(stderr);
  p->shown = false;
}

static void *run(void *arg) {
  td_progress *p = arg;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    if (!p->stop) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += 250000000;
      if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
      pthread_cond_timedwait(&p->wake, &p->lock, &until);
    }
    show(p); /* also once more at the end: the final count */
    if (p->stop) break;
  }
  clear_line(p);
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

td_progress *td_progress_start(const int64_t *total) {
  if (!isatty(2)) return NULL;
  td_progress *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->total = total;
  const char *after = getenv("TD_PROGRESS_AFTER_MS");
  p->after = after ? atof(after) / 1000 : 1.0;
  clock_gettime(CLOCK_MONOTONIC, &p->t0);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  if (pthread_create(&p->thread, NULL, run, p) != 0) {
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return NULL;
  }
  return p;
}

void td_progress_set_service(td_progress *p, td_service *svc) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  td_service_free(p->svc);
  p->svc = td_service_retain(svc);
  td_counters c;
  td_service_counters(svc, &c);
  p->base = c.rows_scanned + c.rows_skipped;
  pthread_mutex_unlock(&p->lock);
}

void td_progress_quiet(td_progress *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  p->quiet = true;
  clear_line(p);
  pthread_mutex_unlock(&p->lock);
}

void td_progress_stop(td_progress *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  p->stop = true;
  pthread_cond_signal(&p->wake);
  pthread_mutex_unlock(&p->lock);
  pthread_join(p->thread, NULL);
  td_service_free(p->svc);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->lock);
  free(p);
}
