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

const char *td_method_name(td_method m) {
  static const char *names[TD_METHOD_COUNT] = {
      "table_schema", "table_locations", "table_location_size", "column_values",
      "subscribe_to_table_locations", "subscribe_to_table_location_size", "unsubscribe"};
  return (unsigned)m < TD_METHOD_COUNT ? names[m] : "unknown";
}

void td_service_options_init(td_service_options *o) {
  memset(o, 0, sizeof *o);
  o->page_size = 65536;
  o->cache_bytes = (int64_t)1 << 30;
  o->request_timeout_ms = 30000;
  o->update_period_ms = 1000;
}

int td_service_new(td_backend backend, const td_service_options *opts, td_service **out,
                   td_error *err) {
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
  *out = s;
  return TD_OK;
}

td_service *td_service_retain(td_service *s) {
  if (s) atomic_fetch_add(&s->refs, 1);
  return s;
}

void td_service_free(td_service *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
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
  pthread_mutex_destroy(&s->req_lock);
  pthread_mutex_destroy(&s->providers_lock);
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
  memset(out, 0, sizeof *out);
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
  return td_graph_flush(s->graph, timeout_ms, err);
}

int td_service_provider(td_service *s, const td_table_key *key, td_provider **out, td_error *err) {
  *out = NULL;
  pthread_mutex_lock(&s->providers_lock);
  for (int64_t i = 0; i < s->n_providers; i++) {
    if (td_table_key_equal(s->providers[i]->key, key)) {
      *out = s->providers[i];
      pthread_mutex_unlock(&s->providers_lock);
      return TD_OK;
    }
  }
  /* Build it while holding the lock: a concurrent make_table on the same key
   * must find this provider, not build a second one (spec 2). */
  td_provider *p;
  int rc = td_provider_new(s, key, &p, err);
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
  pthread_mutex_unlock(&s->providers_lock);
  return rc;
}
