/*
 * backends/postgres/pg_api.h - the libpq functions the PostgreSQL backend
 * calls, reached through a table filled when the backend is first made
 * (util/dynlib.h: a process that reads no PostgreSQL table never loads
 * libpq).  Include this instead of <libpq-fe.h>.
 */
#ifndef TD_BACKENDS_POSTGRES_PG_API_H
#define TD_BACKENDS_POSTGRES_PG_API_H

#include <libpq-fe.h>

#include "util/dynlib.h"

#define TD_PQ_FUNCS(X) \
  X(PQclear) \
  X(PQconnectdb) \
  X(PQconsumeInput) \
  X(PQdb) \
  X(PQerrorMessage) \
  X(PQexec) \
  X(PQexecParams) \
  X(PQfinish) \
  X(PQfreemem) \
  X(PQgetCopyData) \
  X(PQgetResult) \
  X(PQgetisnull) \
  X(PQgetlength) \
  X(PQgetvalue) \
  X(PQnotifies) \
  X(PQntuples) \
  X(PQresultErrorMessage) \
  X(PQresultStatus) \
  X(PQsetClientEncoding) \
  X(PQsocket) \
  X(PQstatus) \
  X(PQtransactionStatus) \
  X(PQuser)

typedef struct td_pq_api {
  TD_PQ_FUNCS(TD_DYNLIB_SLOT)
} td_pq_api;

extern td_pq_api td_pq;

/* Loads libpq.so.5 (once); TD_EUNSUPPORTED when it cannot be. */
int td_pq_load(td_error *err);

/* Calls below go through the table (not in the file that fills it);
 * function-like, so a struct tag of the same name stays itself. */
#ifndef TD_DYNLIB_BINDING
#define PQclear(...) ((td_pq.td_PQclear)(__VA_ARGS__))
#define PQconnectdb(...) ((td_pq.td_PQconnectdb)(__VA_ARGS__))
#define PQconsumeInput(...) ((td_pq.td_PQconsumeInput)(__VA_ARGS__))
#define PQdb(...) ((td_pq.td_PQdb)(__VA_ARGS__))
#define PQerrorMessage(...) ((td_pq.td_PQerrorMessage)(__VA_ARGS__))
#define PQexec(...) ((td_pq.td_PQexec)(__VA_ARGS__))
#define PQexecParams(...) ((td_pq.td_PQexecParams)(__VA_ARGS__))
#define PQfinish(...) ((td_pq.td_PQfinish)(__VA_ARGS__))
#define PQfreemem(...) ((td_pq.td_PQfreemem)(__VA_ARGS__))
#define PQgetCopyData(...) ((td_pq.td_PQgetCopyData)(__VA_ARGS__))
#define PQgetResult(...) ((td_pq.td_PQgetResult)(__VA_ARGS__))
#define PQgetisnull(...) ((td_pq.td_PQgetisnull)(__VA_ARGS__))
#define PQgetlength(...) ((td_pq.td_PQgetlength)(__VA_ARGS__))
#define PQgetvalue(...) ((td_pq.td_PQgetvalue)(__VA_ARGS__))
#define PQnotifies(...) ((td_pq.td_PQnotifies)(__VA_ARGS__))
#define PQntuples(...) ((td_pq.td_PQntuples)(__VA_ARGS__))
#define PQresultErrorMessage(...) ((td_pq.td_PQresultErrorMessage)(__VA_ARGS__))
#define PQresultStatus(...) ((td_pq.td_PQresultStatus)(__VA_ARGS__))
#define PQsetClientEncoding(...) ((td_pq.td_PQsetClientEncoding)(__VA_ARGS__))
#define PQsocket(...) ((td_pq.td_PQsocket)(__VA_ARGS__))
#define PQstatus(...) ((td_pq.td_PQstatus)(__VA_ARGS__))
#define PQtransactionStatus(...) ((td_pq.td_PQtransactionStatus)(__VA_ARGS__))
#define PQuser(...) ((td_pq.td_PQuser)(__VA_ARGS__))
#endif

#endif
