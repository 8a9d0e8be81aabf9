/*
 * bench/bench_postgres.c - the PostgreSQL backend against a throwaway server
 * (tests/backends/postgres/pg_server.h):
 *   1. a full scan of an N-row table (int8, int4, float8, text,
 *      timestamptz) through the backend (every column, every page), against
 *      psql -c "COPY (SELECT ...) TO STDOUT" > /dev/null, as a ratio;
 *   2. latency from commit to listener on a live table (xid8 horizon,
 *      poll 10 ms, LISTEN as the wake-up; immediate update cycles): p50 and
 *      p99 over single-row transactions.
 * usage: bench_postgres [ROWS (default 1000000)] [COMMITS (default 200)]
 * Prints "skipped" and exits 0 when PostgreSQL is not installed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "pg_server.h"
#include "tabledata/postgres_backend.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static td_table *open_table(const pg_server *s, const char *name, const td_postgres_options *po, bool live,
                            td_postgres_backend **pb, td_service **svc) {
  td_error err;
  check(td_postgres_backend_new(s->conninfo, name, po, pb, &err), &err);
  td_service_options so;
  td_service_options_init(&so);
  so.update_period_ms = 0;
  check(td_service_new(td_postgres_backend_backend(*pb), &so, svc, &err), &err);
  td_table_key *k;
  check(td_table_key_new(name, &k, &err), &err);
  td_table_options to;
  td_table_options_init(&to);
  to.refreshing = live;
  td_table *t;
  check(td_make_table(*svc, k, &to, &t, &err), &err);
  td_table_key_release(k);
  return t;
}

typedef struct lat {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int64_t seen;
  double at;
} lat;

static void on_update(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)t;
  lat *l = ctx;
  if (!u || e) return;
  pthread_mutex_lock(&l->mu);
  l->seen = u->size_after;
  l->at = now();
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
}

int main(int argc, char **argv) {
  long long rows = argc > 1 ? atoll(argv[1]) : 1000000;
  int commits = argc > 2 ? atoi(argv[2]) : 200;
  if (!pg_server_bindir()) {
    printf("bench_postgres: skipped (the PostgreSQL server binaries are not installed)\n");
    return 0;
  }
  pg_server s;
  if (!pg_server_start(&s)) {
    printf("bench_postgres: skipped (the server did not start)\n");
    return 0;
  }
  PGconn *c = pg_server_connect(&s, NULL);
  pg_execf(c,
           "CREATE TABLE scan(id int8 PRIMARY KEY, a int4, b float8, s text, ts timestamptz);"
           "INSERT INTO scan SELECT i, i %% 1000, i * 0.25, 'sym' || (i %% 500), "
           "'2024-01-02'::timestamptz + i * interval '1 ms' FROM generate_series(1, %lld) i",
           rows);
  pg_exec(c, "VACUUM ANALYZE scan");

  /* 1. Scan: backend vs psql COPY. */
  double best_td = 1e9, best_psql = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    td_postgres_backend *pb;
    td_service *svc;
    td_table *t = open_table(&s, "scan", NULL, false, &pb, &svc);
    double t0 = now();
    struct ArrowArrayStream st;
    td_error err;
    check(td_table_stream(t, NULL, 0, &st, &err), &err);
    int64_t n = 0;
    for (;;) {
      struct ArrowArray b;
      if (st.get_next(&st, &b) != 0) {
        fprintf(stderr, "bench_postgres: %s\n", st.get_last_error(&st));
        return 1;
      }
      if (!b.release) break;
      n += b.length;
      b.release(&b);
    }
    st.release(&st);
    double dt = now() - t0;
    if (n != rows) {
      fprintf(stderr, "bench_postgres: scanned %lld rows, expected %lld\n", (long long)n, rows);
      return 1;
    }
    if (dt < best_td) best_td = dt;
    td_table_release(t);
    td_service_free(svc);
    td_postgres_backend_release(pb);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "psql -X -q '%s' -c 'COPY (SELECT id, a, b, s, ts FROM scan ORDER BY id) TO STDOUT' > /dev/null",
             s.conninfo);
    t0 = now();
    if (system(cmd) != 0) {
      fprintf(stderr, "bench_postgres: psql failed\n");
      return 1;
    }
    dt = now() - t0;
    if (dt < best_psql) best_psql = dt;
  }
  printf("postgres scan of %lld rows x 5 columns: backend %.3f s (%.2f M rows/s), psql COPY to /dev/null %.3f s: "
         "ratio %.2f\n",
         rows, best_td, (double)rows / best_td / 1e6, best_psql, best_td / best_psql);

  /* 2. Latency from commit to listener. */
  pg_exec(c, "CREATE TABLE live(id bigserial PRIMARY KEY, xid xid8 NOT NULL DEFAULT pg_current_xact_id(), v int8);"
             "CREATE INDEX ON live(xid, id)");
  td_postgres_options po;
  td_postgres_options_init(&po);
  po.poll_ms = 10;
  po.notify_channel = "live_rows";
  td_postgres_backend *pb;
  td_service *svc;
  td_table *t = open_table(&s, "live", &po, true, &pb, &svc);
  lat l;
  memset(&l, 0, sizeof l);
  pthread_mutex_init(&l.mu, NULL);
  pthread_cond_init(&l.cv, NULL);
  td_error err;
  check(td_table_add_listener(t, on_update, &l, NULL, &err), &err);
  double *ms = calloc((size_t)commits, sizeof *ms);
  for (int i = 0; i < commits; i++) {
    double t0 = now();
    pg_execf(c, "BEGIN; INSERT INTO live(v) VALUES (%d); NOTIFY live_rows; COMMIT", i);
    pthread_mutex_lock(&l.mu);
    while (l.seen < i + 1) pthread_cond_wait(&l.cv, &l.mu);
    ms[i] = (l.at - t0) * 1e3;
    pthread_mutex_unlock(&l.mu);
    usleep(2000);
  }
  qsort(ms, (size_t)commits, sizeof *ms, cmp_double);
  printf("postgres commit-to-listener latency over %d commits (LISTEN wake-up, poll 10 ms): p50 %.2f ms, p99 %.2f ms\n",
         commits, ms[commits / 2], ms[(int)(commits * 0.99)]);
  free(ms);
  td_table_release(t);
  td_service_free(svc);
  td_postgres_backend_release(pb);
  PQfinish(c);
  pg_server_destroy(&s);
  return 0;
}
