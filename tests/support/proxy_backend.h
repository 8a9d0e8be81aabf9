/*
 * tests/support/proxy_backend.h - backends for tests.
 *
 * proxy: forwards every method to another backend and logs each call
 * (method, location, column, offset, min_rows, max_rows), so tests can check
 * exactly what the engine asked for.
 *
 * script: a one-table backend ("t": partition column P utf8, data column x
 * int64 with x = location * 1000000 + row) whose answers can be made to break
 * the contract in chosen ways.
 */
#ifndef TD_TEST_PROXY_BACKEND_H
#define TD_TEST_PROXY_BACKEND_H

#include <pthread.h>

#include "tabledata.h"

typedef struct td_call_log {
  td_method method;
  char location[128];
  char column[64];
  int64_t offset, min_rows, max_rows;
  td_request req;
} td_call_log;

typedef struct td_proxy {
  td_backend inner;
  pthread_mutex_t lock;
  td_call_log log[4096];
  int64_t n_log;
} td_proxy;

/* Takes over `inner`; the returned backend does not own the proxy (free the
 * proxy after the service). */
td_backend td_proxy_backend(td_proxy *p, td_backend inner);
void td_proxy_init(td_proxy *p);
void td_proxy_destroy(td_proxy *p);
/* Number of logged calls of `method` (NULL location: any). */
int64_t td_proxy_count(td_proxy *p, td_method method, const char *location);
/* The request of the last logged call of `method` (NULL location: any). */
td_request td_proxy_last(td_proxy *p, td_method method, const char *location);

typedef enum td_script_mode {
  TD_SCRIPT_OK = 0,
  TD_SCRIPT_WRONG_TYPE,
  TD_SCRIPT_WRONG_NAME,
  TD_SCRIPT_TOO_FEW,
  TD_SCRIPT_TOO_MANY,
  TD_SCRIPT_TWICE,
  TD_SCRIPT_FAIL,
  TD_SCRIPT_SILENT,
  TD_SCRIPT_ASYNC,       /* answer from another thread after the call returned */
  TD_SCRIPT_UNSUPPORTED, /* schema with an unsupported column type */
  TD_SCRIPT_DISAGREE,    /* a location whose partition key disagrees */
  TD_SCRIPT_TWO_COLUMNS  /* a values answer with two columns */
} td_script_mode;

typedef struct td_script {
  pthread_mutex_t lock;
  td_script_mode schema_mode, locations_mode, size_mode, values_mode;
  int64_t n_locs;
  int64_t sizes[8];
  pthread_t threads[256];
  int n_threads;
  td_request silent[64]; /* unanswered requests, answered by tests */
  int n_silent;
} td_script;

void td_script_init(td_script *s, int64_t n_locs, int64_t size);
void td_script_join(td_script *s); /* waits for async answer threads */
td_backend td_script_backend(td_script *s);
/* The location key of script location i ("P=L<i>"). */
td_location_key *td_script_key(int64_t i);
/* The i of a key "P=L<i>", or -1 when P is missing or null. */
int64_t td_script_index(const td_location_key *k);

#endif
