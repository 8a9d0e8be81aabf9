/*
 * query/par_stream.c - an ordered, parallel producer for the lazy query
 * stream of a plain SELECT (query/plan.c): worker threads filter and
 * project the units of a scan (query/par.h) ahead of the consumer, and the
 * consumer takes their output chunks in unit order, so the stream's rows
 * are those of the one-thread stream, in the same order.  Depends on the
 * select kernel (query/ops.h) and the range filter (query/prune.h).
 *
 * Invariants (all fields below `lock` are read and written under it):
 *   1. a worker claims unit `next` only while next < cur + window, so the
 *      window slots of the units in flight (unit k: slot k % window) are
 *      distinct, and at most `window` units' output is held at a time;
 *   2. a slot is written by the worker that claimed its unit until `done`,
 *      then only by the consumer, which empties it before advancing `cur`;
 *   3. after a unit fails, no unit is claimed any more (next = n_units): the
 *      consumer delivers the units before it, then that unit's error, as
 *      the one-thread stream would.
 */
#include "query/par_stream.h"

#include <pthread.h>
#include <string.h>

#include "query/par.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sys.h"

typedef struct ps_slot {
  td_chunk_list out;
  int64_t at; /* the next chunk to hand out (those before it are NULL) */
  bool done;
  int rc;
  td_error err;
} ps_slot;

typedef struct ps_worker {
  struct td_par_stream *p;
  int index;
  pthread_t thread;
  bool started;
} ps_worker;

struct td_par_stream {
  td_table *src;       /* borrowed */
  td_snapshot *snap;   /* borrowed */
  const td_select_spec *spec;
  td_range_filter *rf; /* borrowed, shared by the workers' scans */
  int64_t *bounds, n_units;
  int window;
  ps_slot *slots;
  ps_worker workers[TD_PAR_MAX];
  td_select_scratch scratch[TD_PAR_MAX];
  int n_workers;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int64_t next, cur;
  bool stop;
};

static void slot_clear(ps_slot *s) {
  td_chunk_list_reset(&s->out);
  memset(s, 0, sizeof *s);
}

/* Filters and projects unit k into `into` (outside the lock). */
static int run_unit(td_par_stream *p, int w, int64_t k, ps_slot *into, td_error *err) {
  td_scan sc;
  int rc = td_scan_init(&sc, p->src, p->snap, p->spec->cols, p->spec->n_cols, p->bounds[k], p->bounds[k + 1], err);
  if (rc) return rc;
  if (p->rf) td_range_filter_attach(p->rf, &sc);
  rc = td_select_defer(p->spec, &sc, err); /* late materialization */
  while (rc == TD_OK) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    td_dchunk *c;
    if ((rc = td_select_chunk(p->spec, &p->scratch[w], &sc, &ch, &c, err)) != TD_OK) break;
    if (c) rc = td_chunk_list_push(&into->out, c, err);
  }
  td_scan_release(&sc);
  return rc;
}

static void *worker_main(void *v) {
  ps_worker *me = v;
  td_par_stream *p = me->p;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->stop && p->next < p->n_units && p->next >= p->cur + p->window) pthread_cond_wait(&p->cond, &p->lock);
    if (p->stop || p->next >= p->n_units) break;
    int64_t k = p->next++;
    pthread_mutex_unlock(&p->lock);
    ps_slot out;
    memset(&out, 0, sizeof out);
    td_error_clear(&out.err);
    out.rc = run_unit(p, me->index, k, &out, &out.err);
    out.done = true;
    pthread_mutex_lock(&p->lock);
    p->slots[k % p->window] = out;
    if (out.rc) p->next = p->n_units; /* invariant 3 */
    pthread_cond_broadcast(&p->cond);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

int td__par_stream_new(td_table *src, td_snapshot *snap, const td_select_spec *spec, td_range_filter *rf,
                       int threads, td_par_stream **out, td_error *err) {
  *out = NULL;
  int64_t *bounds = NULL, n_units = 0;
  int rc = td__par_units(src, snap, 0, snap->size, &bounds, &n_units, err);
  if (rc) return rc;
  int workers = td__par_workers(threads, n_units);
  if (workers <= 1) {
    td_free(bounds);
    return TD_OK;
  }
  td__par_group(src, snap, workers, bounds, &n_units);
  td_par_stream *p = td_calloc(1, sizeof *p);
  int window = 2 * workers;
  ps_slot *slots = td_calloc((size_t)window, sizeof *slots);
  if (!p || !slots) {
    td_free(p);
    td_free(slots);
    td_free(bounds);
    return td_err_nomem(err, "streaming a query");
  }
  *p = (td_par_stream){.src = src, .snap = snap, .spec = spec, .rf = rf, .bounds = bounds, .n_units = n_units,
                       .window = window, .slots = slots};
  for (int w = 0; rc == TD_OK && w < workers; w++) rc = td_select_scratch_init(&p->scratch[w], spec->n_fields, err);
  if (rc == TD_OK && pthread_mutex_init(&p->lock, NULL) != 0) rc = td_err_nomem(err, "streaming a query");
  if (rc == TD_OK && pthread_cond_init(&p->cond, NULL) != 0) {
    pthread_mutex_destroy(&p->lock);
    rc = td_err_nomem(err, "streaming a query");
  }
  if (rc) {
    for (int w = 0; w < workers; w++) td_select_scratch_reset(&p->scratch[w]);
    td_free(slots);
    td_free(bounds);
    td_free(p);
    return rc;
  }
  for (int w = 0; w < workers; w++) {
    p->workers[w] = (ps_worker){.p = p, .index = w};
    p->workers[w].started = td_thread_start(&p->workers[w].thread, worker_main, &p->workers[w]) == 0;
    p->n_workers += p->workers[w].started;
  }
  if (p->n_workers == 0) { /* no thread: the caller streams on its own thread */
    td__par_stream_free(p);
    return TD_OK;
  }
  *out = p;
  return TD_OK;
}

int td__par_stream_next(td_par_stream *p, td_dchunk **out, td_error *err) {
  *out = NULL;
  int rc = TD_OK;
  pthread_mutex_lock(&p->lock);
  while (p->cur < p->n_units) {
    ps_slot *s = &p->slots[p->cur % p->window];
    while (!s->done) pthread_cond_wait(&p->cond, &p->lock);
    if (s->rc) {
      rc = s->rc;
      if (err) *err = s->err;
      break;
    }
    if (s->at < s->out.n) {
      *out = s->out.v[s->at];
      s->out.v[s->at++] = NULL;
      break;
    }
    slot_clear(s); /* invariant 2: emptied before the window moves */
    p->cur++;
    pthread_cond_broadcast(&p->cond);
  }
  pthread_mutex_unlock(&p->lock);
  return rc;
}

void td__par_stream_free(td_par_stream *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  p->stop = true;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  for (int w = 0; w < TD_PAR_MAX; w++)
    if (p->workers[w].started) pthread_join(p->workers[w].thread, NULL);
  for (int i = 0; i < p->window; i++) slot_clear(&p->slots[i]);
  for (int w = 0; w < TD_PAR_MAX; w++) td_select_scratch_reset(&p->scratch[w]);
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
  td_free(p->slots);
  td_free(p->bounds);
  td_free(p);
}
