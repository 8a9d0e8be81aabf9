/*
 * service/service.h - internal layout of the service.
 *
 * Lock order (never take an earlier lock while holding a later one):
 *   service->providers_lock -> provider->lock -> cache->lock -> service->req_lock
 * No engine lock is held while a backend method runs (the first
 * table_schema of a table key runs with the key marked as being built, not
 * under providers_lock: see td_service_provider).
 */
#ifndef TD_SERVICE_SERVICE_H
#define TD_SERVICE_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend/request.h"
#include "tabledata/service.h"

typedef struct td_provider td_provider;
typedef struct td_page_cache td_page_cache;
typedef struct td_graph td_graph;

#define TD_RETIRED_CALLS 64

struct td_service {
  _Atomic int64_t refs; /* the user's, plus one per live table */
  /* The registry of live services (service.c): answers find a request's
   * service there before touching it, and pin it while they run. */
  td_service *reg_next;
  _Atomic int64_t pins;    /* answers running on this service */
  _Atomic bool closing;    /* td_service_free is waiting for pins == 0 */
  pthread_cond_t unpinned; /* under req_lock */
  td_backend backend;
  td_service_options opts;

  pthread_mutex_t req_lock;
  td_call **buckets; /* request table: id -> call */
  uint64_t n_buckets, n_calls;
  struct {
    uint64_t id;
    char desc[200];
  } retired[TD_RETIRED_CALLS]; /* recently finished calls, for messages */
  uint64_t n_retired;

  _Atomic int64_t calls[TD_METHOD_COUNT];
  _Atomic int64_t rows_received, bytes_received, timeouts, rejected, rows_scanned, rows_skipped;

  td_page_cache *cache;
  td_graph *graph; /* refreshing tables and update cycles */

  pthread_mutex_t providers_lock;
  td_provider **providers;
  int64_t n_providers;
  /* Table keys whose first table_schema is running (under providers_lock),
   * and the thread running it; `built` is signalled when one finishes. */
  struct td_building {
    const td_table_key *key;
    pthread_t thread;
  } *building;
  int64_t n_building;
  pthread_cond_t built;
  _Atomic uint64_t next_location_id;
};

/* Answers: finds `s` among the live services and pins it (true), or false
 * when it has been freed (never dereferencing it then).  Every pin is
 * followed by td_service_unpin. */
bool td_service_pin(td_service *s);
void td_service_unpin(td_service *s);
/* Reports an error that has no caller (on_error hook); counts it. */
void td_service_report(td_service *s, int code, const char *message);
/* Tells the on_error hook about something accepted but worth knowing (not
 * counted as a rejected answer). */
void td_service_warn(td_service *s, int code, const char *message);
/* The provider of `key`, created on first use (with its schema loaded). */
int td_service_provider(td_service *s, const td_table_key *key, td_provider **out, td_error *err);

#endif
