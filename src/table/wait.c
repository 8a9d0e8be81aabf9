/*
 * table/wait.c - td_table_wait: blocking until a table reaches a version or
 * a size, with a timeout.
 *
 * The waiter registers a listener that only wakes it (a condition variable
 * on its stack) and re-checks the table's current snapshot after each wake.
 * The listener is removed before returning; removal takes the update lock,
 * under which listeners run, so once it returns the listener is not running
 * and the stack context may go.  Depends on the table layer and the update
 * graph's listener API only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "table/update.h"
#include "util/error.h"

typedef struct waiter {
  pthread_mutex_t m;
  pthread_cond_t cv;
  bool failed;
} waiter;

static void wake(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  waiter *w = ctx;
  pthread_mutex_lock(&w->m);
  if (e) w->failed = true;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->m);
}

static bool reached(td_table *t, int64_t min_version, int64_t min_size, int64_t *version, int64_t *size) {
  td_snapshot *s = td_table_snapshot(t);
  *version = s->version;
  *size = s->size;
  td_snapshot_release(s);
  return *version >= min_version && *size >= min_size;
}

static int not_reached(td_error *err, int code, td_table *t, int64_t v, int64_t n, int64_t min_version,
                       int64_t min_size, const char *why) {
  return td_err(err, code, "table '%s' %s: it is at version %lld with %lld rows, waiting for version >= %lld "
                "and size >= %lld", td_table_key_name(t->provider->key), why, (long long)v, (long long)n,
                (long long)min_version, (long long)min_size);
}

int td_table_wait(td_table *t, int64_t min_version, int64_t min_size, int64_t timeout_ms, td_error *err) {
  if (!t) return td_err(err, TD_EINVAL, "td_table_wait needs a table");
  int64_t v, n;
  if (reached(t, min_version, min_size, &v, &n)) return TD_OK;
  if (!t->refreshing)
    return not_reached(err, TD_ESTATE, t, v, n, min_version, min_size, "is static and never changes");
  if (td_graph_on_update_thread(t->service->graph))
    return not_reached(err, TD_ESTATE, t, v, n, min_version, min_size,
                       "cannot be waited for from a listener (the update thread would wait for itself)");
  int rc = td_table_status(t, err);
  if (rc) return rc;
  if (timeout_ms == 0) return not_reached(err, TD_ETIMEOUT, t, v, n, min_version, min_size, "is not there yet");

  waiter w;
  w.failed = false;
  pthread_mutex_init(&w.m, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w.cv, &ca);
  pthread_condattr_destroy(&ca);
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  if (timeout_ms > 0) {
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
  }
  int64_t id = 0;
  td_error add_err;
  rc = td_table_add_listener(t, wake, &w, &id, &add_err);
  bool ok = false, timed_out = false;
  if (rc == TD_OK) {
    pthread_mutex_lock(&w.m);
    /* Checked after registering, so no cycle falls between check and wait. */
    while (!(ok = reached(t, min_version, min_size, &v, &n)) && !w.failed && !timed_out) {
      if (timeout_ms < 0) pthread_cond_wait(&w.cv, &w.m);
      else timed_out = pthread_cond_timedwait(&w.cv, &w.m, &deadline) == ETIMEDOUT;
    }
    if (!ok && timed_out) ok = reached(t, min_version, min_size, &v, &n);
    pthread_mutex_unlock(&w.m);
    td_table_remove_listener(t, id);
  } else if (rc == TD_EFAILED) {
    ok = reached(t, min_version, min_size, &v, &n); /* failed in between: maybe after reaching */
  }
  pthread_cond_destroy(&w.cv);
  pthread_mutex_destroy(&w.m);
  if (ok) return TD_OK;
  if (rc != TD_OK && rc != TD_EFAILED) {
    if (err) *err = add_err;
    return rc;
  }
  rc = td_table_status(t, err);
  if (rc) return rc;
  char why[64];
  snprintf(why, sizeof why, "did not get there within %lld ms", (long long)timeout_ms);
  return not_reached(err, TD_ETIMEOUT, t, v, n, min_version, min_size, why);
}
