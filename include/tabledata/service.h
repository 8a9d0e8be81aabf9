/*
 * tabledata/service.h - the service: one backend, its location providers,
 * the shared page cache, timeouts and counters.
 *
 * A service owns its backend (calls vtable->release when freed).  It keeps one
 * location provider per distinct table key, shared by every table made from
 * that key.  Tables hold a reference to their service, so td_service_free may
 * be called while tables are alive: the service is destroyed when the last
 * of them is released.
 */
#ifndef TABLEDATA_SERVICE_H
#define TABLEDATA_SERVICE_H

#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/backend.h"
#include "tabledata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_service td_service;

/* Invoked for errors that have no caller to return to: a late or second
 * answer, a contract violation on a subscription; and, once per table key,
 * when the partition values of a table without partition columns are
 * ignored.  Called from the thread
 * that caused it; must not call back into the service. */
typedef void (*td_error_hook)(void *ctx, int code, const char *message);

typedef struct td_service_options {
  int64_t page_size;          /* rows per page; default 65536 */
  int64_t cache_bytes;        /* page cache budget in bytes; default 1 GiB */
  int64_t request_timeout_ms; /* per backend request; default 30000; <= 0: wait for ever */
  int64_t update_period_ms;   /* refreshing tables: cycle period; default 1000;
                                 0: immediate mode, a cycle starts as soon as
                                 notifications arrive (bursts coalesce);
                                 < 0: TD_EINVAL */
  td_error_hook on_error;     /* may be NULL */
  void *on_error_ctx;
} td_service_options;

/* Fills `opts` with the defaults. */
TD_API void td_service_options_init(td_service_options *opts);

/* Creates a service over `backend` (NULL opts: defaults).  On success the
 * service owns the backend; on failure the backend is released.
 * Errors: TD_EINVAL (missing vtable methods, bad options: page_size outside
 * 1..2^30, cache_bytes or update_period_ms < 0), TD_ENOMEM. */
TD_API int td_service_new(td_backend backend, const td_service_options *opts, td_service **out,
                          td_error *err);
/* Adds a reference (released with td_service_free). */
TD_API td_service *td_service_retain(td_service *service);
/* Drops the caller's reference; NULL is fine. */
TD_API void td_service_free(td_service *service);

typedef enum td_method {
  TD_METHOD_TABLE_SCHEMA = 0,
  TD_METHOD_TABLE_LOCATIONS,
  TD_METHOD_TABLE_LOCATION_SIZE,
  TD_METHOD_COLUMN_VALUES,
  TD_METHOD_SUBSCRIBE_LOCATIONS,
  TD_METHOD_SUBSCRIBE_SIZE,
  TD_METHOD_UNSUBSCRIBE,
  TD_METHOD_COUNT
} td_method;

/* The method's name as in the contract ("column_values").  Static. */
TD_API const char *td_method_name(td_method method);

typedef struct td_counters {
  int64_t calls[TD_METHOD_COUNT]; /* backend calls made, by method */
  int64_t rows_received;          /* rows in column_values answers */
  int64_t bytes_received;         /* bytes of buffers in column_values answers */
  int64_t cache_hits;             /* page reads served from the cache */
  int64_t cache_misses;           /* page reads that needed a backend call */
  int64_t cache_evictions;        /* pages evicted to stay within budget */
  int64_t cache_bytes;            /* bytes the cached pages keep alive now (a
                                     buffer several pages share counts once) */
  int64_t cache_pages;            /* pages the cache holds now */
  int64_t timeouts;               /* requests that got no answer in time */
  int64_t rejected_answers;       /* answers rejected (late, second, bad) */
  int64_t rows_scanned;           /* source-table rows read by scans (any columns) */
  int64_t rows_skipped;           /* rows a filter skipped from statistics, unread */
  int64_t update_cycles;          /* update cycles run */
  int64_t update_cpu_ns;          /* CPU time the update thread spent in cycles */
} td_counters;

/* Runs an update cycle now and waits until every notification that arrived
 * before the call has been applied and its listeners called (or the timeout
 * passed: TD_ETIMEOUT).  Not from inside a listener (TD_ESTATE). */
TD_API int td_service_flush(td_service *service, int64_t timeout_ms, td_error *err);

/* A consistent copy of the service's counters. */
TD_API void td_service_counters(td_service *service, td_counters *out);

#ifdef __cplusplus
}
#endif

#endif
