/*
 * service/service.c - service lifetime, options, counters, and the map from
 * table keys to location providers.
 */
#include "service/service.h"

#include <stdio.h>
#include <string.h>

#include "pages/cache.h"
#include "service/provider.h"
#include "table/update.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- the registry of live services ----
 *
 * A td_request names its service by pointer, and a backend may answer at
 * any time, even after td_service_free.  So answers never dereference that
 * pointer blindly: they look it up here (under reg_lock) and pin the
 * service; td_service_free first leaves the registry, then waits until no
 * answer is pinned, then destroys.  A stale pointer is simply not found;
 * if the address was reused by a new service, request ids (unique in the
 * process) find no call there. */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static td_service **reg_buckets;
static uint64_t reg_cap, reg_n;

static uint64_t reg_slot(const td_service *s, uint64_t cap) {
  uint64_t h = ((uint64_t)(uintptr_t)s >> 4) * 0x9e3779b97f4a7c15ull;
  return (h ^ (h >> 29)) & (cap - 1);
}

static int reg_add(td_service *s, td_error *err) {
  pthread_mutex_lock(&reg_lock);
  if (reg_n + 1 > reg_cap) {
    uint64_t cap = reg_cap ? reg_cap * 2 : 16;
    td_service **b = td_calloc(cap, sizeof *b);
    if (!b) {
      pthread_mutex_unlock(&reg_lock);
      return td_err_nomem(err, "registering a service");
    }
    for (uint64_t i = 0; i < reg_cap; i++) {
      for (td_service *x = reg_buckets[i], *next; x; x = next) {
        next = x->reg_next;
        uint64_t k = reg_slot(x, cap);
        x->reg_next = b[k];
        b[k] = x;
      }
    }
    td_free(reg_buckets);
    reg_buckets = b;
    reg_cap = cap;
  }
  uint64_t k = reg_slot(s, reg_cap);
  s->reg_next = reg_buckets[k];
  reg_buckets[k] = s;
  reg_n++;
  pthread_mutex_unlock(&reg_lock);
  return TD_OK;
}

static void reg_remove(td_service *s) {
  pthread_mutex_lock(&reg_lock);
  for (td_service **pp = &reg_buckets[reg_slot(s, reg_cap)]; *pp; pp = &(*pp)->reg_next) {
    if (*pp == s) {
      *pp = s->reg_next;
      reg_n--;
      break;
    }
  }
  if (reg_n == 0) { /* nothing left: leave no allocation behind */
    td_free(reg_buckets);
    reg_buckets = NULL;
    reg_cap = 0;
  }
  pthread_mutex_unlock(&reg_lock);
}

bool td_service_pin(td_service *s) {
  bool found = false;
  pthread_mutex_lock(&reg_lock);
  if (reg_cap)
    for (td_service *x = reg_buckets[reg_slot(s, reg_cap)]; x && !found; x = x->reg_next) found = x == s;
  if (found) atomic_fetch_add(&s->pins, 1);
  pthread_mutex_unlock(&reg_lock);
  return found;
}

void td_service_unpin(td_service *s) {
  /* Under req_lock, which reg_leave holds while it checks: once the count
   * reaches 0 the service may be destroyed, so nothing touches it after
   * the unlock. */
  pthread_mutex_lock(&s->req_lock);
  if (atomic_fetch_sub(&s->pins, 1) == 1 && atomic_load(&s->closing)) pthread_cond_broadcast(&s->unpinned);
  pthread_mutex_unlock(&s->req_lock);
}

/* Leaves the registry, then waits for the answers still running. */
static void reg_leave(td_service *s) {
  reg_remove(s);
  atomic_store(&s->closing, true);
  pthread_mutex_lock(&s->req_lock);
  while (atomic_load(&s->pins) > 0) pthread_cond_wait(&s->unpinned, &s->req_lock);
  pthread_mutex_unlock(&s->req_lock);
}

const char *td_method_name(td_method m) {
  static const char *names[TD_METHOD_COUNT] = {
      "table_schema", "table_locations", "table_location_size", "column_values",
      "subscribe_to_table_locations", "subscribe_to_table_location_size", "unsubscribe"};
  return (unsigned)m < TD_METHOD_COUNT ? names[m] : "unknown";
}

void td_service_options_init(td_service_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->page_size = 65536;
  o->cache_bytes = (int64_t)1 << 30;
  o->request_timeout_ms = 30000;
  o->update_period_ms = 1000;
}

int td_service_new(td_backend backend, const td_service_options *opts, td_service **out,
                   td_error *err) {
  if (!out) {
    if (backend.vtable && backend.vtable->release) backend.vtable->release(backend.self);
    return td_err(err, TD_EINVAL, "td_service_new needs an out pointer");
  }
  *out = NULL;
  td_service_options o;
  if (opts) o = *opts;
  else td_service_options_init(&o);
  const td_backend_vtable *vt = backend.vtable;
  int rc = TD_OK;
  if (!vt || !vt->table_schema || !vt->table_locations || !vt->table_location_size ||
      !vt->column_values)
    rc = td_err(err, TD_EINVAL,
                "a backend needs table_schema, table_locations, table_location_size and column_values");
  else if (o.page_size < 1 || o.page_size > ((int64_t)1 << 30))
    rc = td_err(err, TD_EINVAL, "page_size must be between 1 and 2^30 rows, got %lld", (long long)o.page_size);
  else if (o.cache_bytes < 0)
    rc = td_err(err, TD_EINVAL, "cache_bytes must be >= 0, got %lld", (long long)o.cache_bytes);
  else if (o.update_period_ms < 0)
    rc = td_err(err, TD_EINVAL, "update_period_ms must be >= 0 (0: immediate mode), got %lld",
                (long long)o.update_period_ms);
  td_service *s = rc ? NULL : td_calloc(1, sizeof *s);
  if (!rc && !s) rc = td_err_nomem(err, "creating a service");
  if (!rc && td_page_cache_new(o.cache_bytes, &s->cache, err) != TD_OK) rc = TD_ENOMEM;
  if (rc) {
    if (s) td_free(s);
    if (vt && vt->release) vt->release(backend.self);
    return rc;
  }
  atomic_init(&s->refs, 1);
  s->backend = backend;
  s->opts = o;
  if (td_graph_new(s, &s->graph, err) != TD_OK) {
    td_page_cache_free(s->cache);
    td_free(s);
    if (vt->release) vt->release(backend.self);
    return TD_ENOMEM;
  }
  pthread_mutex_init(&s->req_lock, NULL);
  pthread_mutex_init(&s->providers_lock, NULL);
  pthread_cond_init(&s->built, NULL);
  pthread_cond_init(&s->unpinned, NULL);
  atomic_init(&s->pins, 0);
  atomic_init(&s->closing, false);
  if ((rc = reg_add(s, err)) != TD_OK) {
    td_graph_stop(s->graph);
    td_page_cache_free(s->cache);
    pthread_mutex_destroy(&s->req_lock);
    pthread_mutex_destroy(&s->providers_lock);
    pthread_cond_destroy(&s->built);
    pthread_cond_destroy(&s->unpinned);
    td_free(s);
    if (vt->release) vt->release(backend.self);
    return rc;
  }
  *out = s;
  return TD_OK;
}

td_service *td_service_retain(td_service *s) {
  if (s) atomic_fetch_add(&s->refs, 1);
  return s;
}

void td_service_free(td_service *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
  reg_leave(s); /* from here on, answers are dropped before they touch it */
  td_graph_stop(s->graph); /* no refreshing table is left: just the thread */
  for (int64_t i = 0; i < s->n_providers; i++) td_provider_free(s->providers[i]);
  td_free(s->providers);
  td_page_cache_free(s->cache);
  if (s->backend.vtable->release) s->backend.vtable->release(s->backend.self);
  /* Calls still registered were abandoned by the engine (cannot happen when
   * every table is gone) or belong to subscriptions; free what is left. */
  for (uint64_t i = 0; i < s->n_buckets; i++) {
    for (td_call *c = s->buckets[i], *next; c; c = next) {
      next = c->next;
      c->registered = false;
      td__call_unref(c);
    }
  }
  td_free(s->buckets);
  td_free(s->building);
  pthread_mutex_destroy(&s->req_lock);
  pthread_mutex_destroy(&s->providers_lock);
  pthread_cond_destroy(&s->built);
  pthread_cond_destroy(&s->unpinned);
  td_free(s);
}

void td_service_report(td_service *s, int code, const char *message) {
  atomic_fetch_add(&s->rejected, 1);
  if (s->opts.on_error) s->opts.on_error(s->opts.on_error_ctx, code, message);
}

void td_service_warn(td_service *s, int code, const char *message) {
  if (s->opts.on_error) s->opts.on_error(s->opts.on_error_ctx, code, message);
}

void td_service_counters(td_service *s, td_counters *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!s) return;
  for (int i = 0; i < TD_METHOD_COUNT; i++) out->calls[i] = atomic_load(&s->calls[i]);
  out->rows_received = atomic_load(&s->rows_received);
  out->bytes_received = atomic_load(&s->bytes_received);
  out->timeouts = atomic_load(&s->timeouts);
  out->rejected_answers = atomic_load(&s->rejected);
  out->rows_scanned = atomic_load(&s->rows_scanned);
  out->rows_skipped = atomic_load(&s->rows_skipped);
  td_page_cache_stats(s->cache, out);
  td_graph_stats(s->graph, &out->update_cycles, &out->update_cpu_ns);
}

int td_service_flush(td_service *s, int64_t timeout_ms, td_error *err) {
  if (!s) return td_err(err, TD_EINVAL, "td_service_flush needs a service");
  return td_graph_flush(s->graph, timeout_ms, err);
}

/* Under providers_lock: the index of `key` in s->building, or -1. */
static int64_t building_index(const td_service *s, const td_table_key *key) {
  for (int64_t i = 0; i < s->n_building; i++)
    if (td_table_key_equal(s->building[i].key, key)) return i;
  return -1;
}

int td_service_provider(td_service *s, const td_table_key *key, td_provider **out, td_error *err) {
  *out = NULL;
  pthread_mutex_lock(&s->providers_lock);
  for (;;) {
    for (int64_t i = 0; i < s->n_providers; i++) {
      if (td_table_key_equal(s->providers[i]->key, key)) {
        *out = s->providers[i];
        pthread_mutex_unlock(&s->providers_lock);
        return TD_OK;
      }
    }
    /* A concurrent make_table on the same key waits for the provider being
     * built, not building a second one (spec 2); the builder's own thread
     * (a backend's table_schema making a table of its key) would wait for
     * itself. */
    int64_t b = building_index(s, key);
    if (b < 0) break;
    if (pthread_equal(s->building[b].thread, pthread_self())) {
      pthread_mutex_unlock(&s->providers_lock);
      return td_err(err, TD_ESTATE,
                    "table '%s': its table_schema is still running on this thread (a backend method made a "
                    "table of the key whose schema it is answering: it would wait for itself)",
                    td_table_key_name(key));
    }
    pthread_cond_wait(&s->built, &s->providers_lock);
  }
  struct td_building *nb = td_realloc(s->building, (size_t)(s->n_building + 1) * sizeof *nb);
  if (!nb) {
    pthread_mutex_unlock(&s->providers_lock);
    return td_err_nomem(err, "registering a table");
  }
  s->building = nb;
  s->building[s->n_building++] = (struct td_building){key, pthread_self()};
  pthread_mutex_unlock(&s->providers_lock);

  /* The backend's table_schema runs without the lock: it may make tables of
   * other keys, and other keys' tables are made meanwhile. */
  td_provider *p;
  int rc = td_provider_new(s, key, &p, err);

  pthread_mutex_lock(&s->providers_lock);
  int64_t b = building_index(s, key);
  s->building[b] = s->building[--s->n_building];
  if (rc == TD_OK) {
    td_provider **np = td_realloc(s->providers, (size_t)(s->n_providers + 1) * sizeof *np);
    if (!np) {
      td_provider_free(p);
      rc = td_err_nomem(err, "registering a table");
    } else {
      s->providers = np;
      s->providers[s->n_providers++] = p;
      *out = p;
    }
  }
  pthread_cond_broadcast(&s->built);
  pthread_mutex_unlock(&s->providers_lock);
  return rc;
}
