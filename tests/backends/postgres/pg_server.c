/*
 * tests/backends/postgres/pg_server.c - see pg_server.h.
 */
#include "pg_server.h"

#include <glob.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TD_PG_BINDIR
#define TD_PG_BINDIR ""
#endif

const char *pg_server_bindir(void) {
  static char dir[256];
  const char *env = getenv("TD_PG_BINDIR");
  const char *cands[] = {env ? env : "", TD_PG_BINDIR};
  for (int i = 0; i < 2; i++) {
    char p[300];
    snprintf(p, sizeof p, "%s/pg_ctl", cands[i]);
    if (*cands[i] && access(p, X_OK) == 0) {
      snprintf(dir, sizeof dir, "%s", cands[i]);
      return dir;
    }
  }
  glob_t g;
  if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) == 0 && g.gl_pathc > 0) {
    snprintf(dir, sizeof dir, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    *strrchr(dir, '/') = 0;
    return dir;
  }
  return NULL;
}

/* Runs a shell command as the server's user. */
static bool run_as(const char *cmd) {
  char full[2048];
  if (geteuid() == 0) {
    const char *user = getpwnam("postgres") ? "postgres" : "nobody";
    snprintf(full, sizeof full, "su -s /bin/sh %s -c \"%s\"", user, cmd);
  } else {
    snprintf(full, sizeof full, "%s", cmd);
  }
  int rc = system(full);
  if (rc != 0) fprintf(stderr, "pg_server: '%s' failed (%d)\n", full, rc);
  return rc == 0;
}

static bool ctl_start(pg_server *s) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "%s/pg_ctl -D %s/data -l %s/log -w -t 60 -o '-k %s -p 5432 -c listen_addresses= -c fsync=off "
           "-c max_connections=60' start >/dev/null",
           s->bindir, s->dir, s->dir, s->dir);
  s->running = run_as(cmd);
  return s->running;
}

/* Servers still running when the program exits (a failed assertion, exit()
 * from a helper) are stopped and removed. */
static pg_server *g_live[4];

static void cleanup_at_exit(void) {
  for (int i = 0; i < 4; i++)
    if (g_live[i]) pg_server_destroy(g_live[i]);
}

static void remember(pg_server *s) {
  static bool registered;
  if (!registered) registered = atexit(cleanup_at_exit) == 0;
  for (int i = 0; i < 4; i++)
    if (!g_live[i]) {
      g_live[i] = s;
      return;
    }
}

bool pg_server_start(pg_server *s) {
  memset(s, 0, sizeof *s);
  const char *bin = pg_server_bindir();
  if (!bin) return false;
  snprintf(s->bindir, sizeof s->bindir, "%s", bin);
  snprintf(s->dir, sizeof s->dir, "/tmp/tdpgXXXXXX");
  if (!mkdtemp(s->dir)) return false;
  remember(s);
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (!pw) pw = getpwnam("nobody");
    if (!pw || chown(s->dir, pw->pw_uid, pw->pw_gid) != 0) return false;
  }
  chmod(s->dir, 0755);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/initdb -D %s/data -A trust -U postgres -E UTF8 --locale=C --no-sync >/dev/null",
           s->bindir, s->dir);
  if (!run_as(cmd)) return false;
  snprintf(s->conninfo, sizeof s->conninfo, "host=%s port=5432 user=postgres dbname=postgres", s->dir);
  return ctl_start(s);
}

bool pg_server_stop(pg_server *s, bool crash) {
  if (!s->running) return true;
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/pg_ctl -D %s/data -m %s -w stop >/dev/null", s->bindir, s->dir,
           crash ? "immediate" : "fast");
  bool ok = run_as(cmd);
  if (ok) s->running = false;
  return ok;
}

bool pg_server_restart(pg_server *s) { return ctl_start(s); }

void pg_server_destroy(pg_server *s) {
  for (int i = 0; i < 4; i++)
    if (g_live[i] == s) g_live[i] = NULL;
  if (!s->dir[0]) return;
  pg_server_stop(s, false);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
  if (system(cmd) != 0) fprintf(stderr, "pg_server: cannot remove %s\n", s->dir);
  s->dir[0] = 0;
}

PGconn *pg_server_connect(const pg_server *s, const char *user) {
  char ci[400];
  snprintf(ci, sizeof ci, "host=%s port=5432 user=%s dbname=postgres", s->dir, user ? user : "postgres");
  PGconn *c = PQconnectdb(ci);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "pg_server: cannot connect: %s\n", PQerrorMessage(c));
    exit(1);
  }
  return c;
}

void pg_exec(PGconn *c, const char *sql) {
  PGresult *r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    fprintf(stderr, "pg_exec: %s\n  in: %s\n", PQresultErrorMessage(r), sql);
    exit(1);
  }
  PQclear(r);
}

void pg_execf(PGconn *c, const char *fmt, ...) {
  char sql[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  pg_exec(c, sql);
}

long long pg_scalar(PGconn *c, const char *sql) {
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
    fprintf(stderr, "pg_scalar: %s\n  in: %s\n", PQresultErrorMessage(r), sql);
    exit(1);
  }
  long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return v;
}
