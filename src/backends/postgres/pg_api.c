/*
 * backends/postgres/pg_api.c - loading libpq and binding the functions
 * pg_api.h lists.
 */
#define TD_DYNLIB_BINDING /* the names below are the libraries' own */
#include "backends/postgres/pg_api.h"

td_pq_api td_pq;

static const char *bind_all(void *h) {
#define BIND(f) TD_DYNLIB_BIND(td_pq, h, f)
  TD_PQ_FUNCS(BIND)
#undef BIND
  return NULL;
}

static td_dynlib lib = TD_DYNLIB_INIT("libpq.so.5", "PostgreSQL sources", "libpq5", bind_all);

int td_pq_load(td_error *err) { return td_dynlib_load(&lib, err); }
