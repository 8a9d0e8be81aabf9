/*
 * backends/postgres/pg_api.c - loading libpq and binding the functions
 * pg_api.h lists.
 */
#define TD_DYNLIB_BINDING /* the names below are the library's own */
#include "backends/postgres/pg_api.h"

#define BIND(f) TD_DYNLIB_BIND(td_pq, h, f)
TD_DYNLIB_DEFINE(td_pq, TD_PQ_FUNCS, BIND, "libpq.so.5", "PostgreSQL sources", "libpq5")
