/*
 * tests/backends/postgres/pg_server.h - a throwaway PostgreSQL server for
 * tests and benchmarks: initdb into a temporary directory, started on a
 * unix socket in that directory (no TCP), stopped and removed at the end.
 * As root the server runs as the `postgres` user (PostgreSQL refuses root).
 */
#ifndef TD_PG_SERVER_H
#define TD_PG_SERVER_H

#include <libpq-fe.h>
#include <stdbool.h>

typedef struct pg_server {
  char dir[64];
  char conninfo[256];
  char bindir[256];
  bool running;
} pg_server;

/* The directory of initdb/pg_ctl, or NULL when PostgreSQL is not installed. */
const char *pg_server_bindir(void);
/* Creates and starts a server; false (with a message on stderr) on failure. */
bool pg_server_start(pg_server *s);
/* Stops the server (fast shutdown, or immediate when `crash`). */
bool pg_server_stop(pg_server *s, bool crash);
/* Starts a stopped server again on the same directory. */
bool pg_server_restart(pg_server *s);
/* Stops if running and removes the directory. */
void pg_server_destroy(pg_server *s);
/* A new connection (as the superuser, or as `user` if non-NULL); aborts the
 * test program on failure. */
PGconn *pg_server_connect(const pg_server *s, const char *user);
/* Runs SQL (several statements allowed); aborts with the message on failure. */
void pg_exec(PGconn *c, const char *sql);
/* printf-style pg_exec. */
void pg_execf(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The first value of the first row of a query, as a long long. */
long long pg_scalar(PGconn *c, const char *sql);

#endif
