/*
 * backend/request.c - the request table and the engine side of a call.
 */
#include "backend/request.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arrow/array.h"
#include "service/service.h"
#include "util/alloc.h"
#include "util/error.h"

/* Request ids are unique in the process, not just in a service, so a stale
 * handle whose service address was reused never names a live call. */
static _Atomic uint64_t next_call_id;

static uint64_t bucket_of(const td_service *s, uint64_t id) {
  return (id * 0x9e3779b97f4a7c15ull) & (s->n_buckets - 1);
}

static int table_grow(td_service *s) {
  uint64_t nb = s->n_buckets ? s->n_buckets * 2 : 64;
  td_call **b = td_calloc(nb, sizeof *b);
  if (!b) return TD_ENOMEM;
  td_call **old = s->buckets;
  uint64_t on = s->n_buckets;
  s->buckets = b;
  s->n_buckets = nb;
  for (uint64_t i = 0; i < on; i++) {
    for (td_call *c = old[i], *next; c; c = next) {
      next = c->next;
      uint64_t k = bucket_of(s, c->id);
      c->next = b[k];
      b[k] = c;
    }
  }
  td_free(old);
  return TD_OK;
}

/* Under req_lock. */
td_call *td__call_find(td_service *s, uint64_t id) {
  if (!s->n_buckets) return NULL;
  for (td_call *c = s->buckets[bucket_of(s, id)]; c; c = c->next)
    if (c->id == id) return c;
  return NULL;
}

/* Under req_lock: removes the call from the table and remembers it. */
static void unregister(td_service *s, td_call *c) {
  if (!c->registered) return;
  td_call **pp = &s->buckets[bucket_of(s, c->id)];
  while (*pp && *pp != c) pp = &(*pp)->next;
  if (*pp) *pp = c->next;
  c->registered = false;
  s->n_calls--;
  uint64_t slot = s->n_retired++ % TD_RETIRED_CALLS;
  s->retired[slot].id = c->id;
  snprintf(s->retired[slot].desc, sizeof s->retired[slot].desc, "%s", c->desc);
}

/* Looks up a retired call's description; under req_lock. */
const char *td__call_retired_desc(td_service *s, uint64_t id) {
  for (uint64_t i = 0; i < TD_RETIRED_CALLS && i < s->n_retired; i++)
    if (s->retired[i].id == id) return s->retired[i].desc;
  return NULL;
}

static void call_free(td_call *c) {
  for (int64_t i = 0; i < c->n_locs; i++) td_location_key_release(c->locs[i]);
  td_free(c->locs);
  td_free(c->loc_removed);
  td_schema_reset(&c->data_schema);
  td_schema_reset(&c->partition_schema);
  td_arrow_array_release(&c->values);
  td_field_reset(&c->expect);
  td_free(c->desc);
  pthread_cond_destroy(&c->cond);
  td_free(c);
}

/* Under req_lock. */
void td__call_unref(td_call *c) {
  if (--c->refs == 0) call_free(c);
}

int td_call_begin(td_service *s, td_method method, const char *desc, td_call **out, td_error *err) {
  *out = NULL;
  td_call *c = td_calloc(1, sizeof *c);
  if (!c) return td_err_nomem(err, "starting a backend request");
  c->desc = td_strdup(desc);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int prc = pthread_cond_init(&c->cond, &ca);
  pthread_condattr_destroy(&ca);
  if (!c->desc || prc) {
    td_free(c->desc);
    if (!prc) pthread_cond_destroy(&c->cond);
    td_free(c);
    return td_err_nomem(err, "starting a backend request");
  }
  td_schema_init(&c->data_schema);
  td_schema_init(&c->partition_schema);
  c->method = method;
  c->refs = 1;
  c->state = TD_CALL_PENDING;
  pthread_mutex_lock(&s->req_lock);
  if (s->n_calls + 1 > s->n_buckets && table_grow(s) != TD_OK) {
    pthread_mutex_unlock(&s->req_lock);
    call_free(c);
    return td_err_nomem(err, "starting a backend request");
  }
  c->id = atomic_fetch_add(&next_call_id, 1) + 1;
  uint64_t k = bucket_of(s, c->id);
  c->next = s->buckets[k];
  s->buckets[k] = c;
  c->registered = true;
  s->n_calls++;
  pthread_mutex_unlock(&s->req_lock);
  atomic_fetch_add(&s->calls[method], 1);
  *out = c;
  return TD_OK;
}

int td_call_wait(td_service *s, td_call *c, td_error *err) {
  struct timespec deadline;
  int64_t timeout = s->opts.request_timeout_ms;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout / 1000;
  deadline.tv_nsec += (timeout % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&s->req_lock);
  while (c->state == TD_CALL_PENDING) {
    if (timeout <= 0) {
      pthread_cond_wait(&c->cond, &s->req_lock);
    } else if (pthread_cond_timedwait(&c->cond, &s->req_lock, &deadline) == ETIMEDOUT &&
               c->state == TD_CALL_PENDING) {
      unregister(s, c);
      c->state = TD_CALL_FAILED;
      pthread_mutex_unlock(&s->req_lock);
      atomic_fetch_add(&s->timeouts, 1);
      return td_err(err, TD_ETIMEOUT, "the backend did not answer %s within %lld ms", c->desc,
                    (long long)timeout);
    }
  }
  int rc = TD_OK;
  if (c->state == TD_CALL_FAILED) rc = td_err(err, c->err_code, "%s", c->err_msg);
  pthread_mutex_unlock(&s->req_lock);
  return rc;
}

void td_call_end(td_service *s, td_call *c) {
  if (!c) return;
  pthread_mutex_lock(&s->req_lock);
  unregister(s, c);
  td__call_unref(c);
  pthread_mutex_unlock(&s->req_lock);
}

bool td_call_close(td_service *s, td_call *c) {
  pthread_mutex_lock(&s->req_lock);
  bool live = c->registered && c->state != TD_CALL_FAILED;
  unregister(s, c);
  pthread_mutex_unlock(&s->req_lock);
  return live;
}

int td_call_take_locations(td_service *s, td_call *c, bool initial, td_location_key ***keys, bool **removed,
                           int64_t *n, char *msg, size_t msg_size) {
  *keys = NULL;
  *removed = NULL;
  *n = 0;
  pthread_mutex_lock(&s->req_lock);
  int64_t take = c->n_locs;
  if (initial && c->ready_locs < take) take = c->ready_locs;
  td_location_key **rest = NULL;
  bool *rest_removed = NULL;
  int64_t left = c->n_locs - take;
  if (left > 0) {
    rest = td_malloc((size_t)left * sizeof *rest);
    if (c->loc_removed) rest_removed = td_malloc((size_t)left * sizeof *rest_removed);
    if (!rest || (c->loc_removed && !rest_removed)) {
      td_free(rest);
      td_free(rest_removed);
      pthread_mutex_unlock(&s->req_lock);
      snprintf(msg, msg_size, "out of memory while receiving locations");
      return TD_ENOMEM;
    }
    memcpy(rest, c->locs + take, (size_t)left * sizeof *rest);
    if (c->loc_removed) memcpy(rest_removed, c->loc_removed + take, (size_t)left * sizeof *rest_removed);
  }
  *keys = c->locs;
  *removed = c->loc_removed;
  *n = take;
  c->locs = rest;
  c->loc_removed = rest_removed;
  c->n_locs = c->cap_locs = left;
  int rc = !initial && c->state == TD_CALL_FAILED ? c->err_code : TD_OK;
  if (rc) snprintf(msg, msg_size, "%s", c->err_msg);
  pthread_mutex_unlock(&s->req_lock);
  return rc;
}

bool td_call_has_removal(td_service *s, td_call *c, const td_location_key *key) {
  pthread_mutex_lock(&s->req_lock);
  bool found = false;
  for (int64_t i = 0; c->loc_removed && i < c->n_locs && !found; i++)
    found = c->loc_removed[i] && td_location_key_equal(c->locs[i], key);
  pthread_mutex_unlock(&s->req_lock);
  return found;
}

int td_call_failure(td_service *s, td_call *c, bool *late, char *msg, size_t msg_size) {
  pthread_mutex_lock(&s->req_lock);
  int rc = c->state == TD_CALL_FAILED ? c->err_code : TD_OK;
  if (rc) snprintf(msg, msg_size, "%s", c->err_msg);
  if (late) *late = c->failed_late;
  pthread_mutex_unlock(&s->req_lock);
  return rc;
}

int td_call_peek_size(td_service *s, td_call *c, bool initial, int64_t *size, int64_t *n_sizes, char *msg,
                      size_t msg_size) {
  pthread_mutex_lock(&s->req_lock);
  *size = initial ? c->ready_size : c->size;
  *n_sizes = initial ? c->ready_n_sizes : c->n_sizes;
  int rc = !initial && c->state == TD_CALL_FAILED ? c->err_code : TD_OK;
  if (rc) snprintf(msg, msg_size, "%s", c->err_msg);
  pthread_mutex_unlock(&s->req_lock);
  return rc;
}
