/*
 * bench/bench_parallel.c - parallel execution (td_query_options.threads):
 * the same queries at 1 and 2 threads over warm pages of the memory backend
 * (so the figures are the executor's, not the decoder's), the 2-thread
 * speedup of each, and the process's peak RSS (getrusage ru_maxrss) after
 * each query.
 *
 * Table t (LOCS locations): id int64, ts int64 (increasing), sym utf8 (5,000
 * values), price float64, qty int32 (0..99), grp int64 (1M values).
 * Usage: bench_parallel [rows (10000000)] [locations (16)] [repeats (3)] [only
 * the queries whose name contains this]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_util.h"
#include "tabledata.h"

typedef struct ctx {
  td_service *svc;
} ctx;

static int resolve(void *c, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  ctx *x = c;
  (void)name, (void)is_path;
  *svc = td_service_retain(x->svc);
  return td_table_key_new("t", key, err);
}

static long peak_rss_mib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

static td_memory_backend *make_data(int64_t rows, int64_t locs) {
  td_error err;
  td_memory_backend *mb;
  check(td_memory_backend_new(&mb, &err), &err);
  const char *names[6] = {"id", "ts", "sym", "price", "qty", "grp"};
  td_type_id types[6] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_FLOAT64, TD_TYPE_INT32, TD_TYPE_INT64};
  const char *pn = "part";
  td_type_id pt = TD_TYPE_UTF8;
  struct ArrowSchema ds, ps;
  check(td_schema_make(6, names, types, NULL, &ds, &err), &err);
  check(td_schema_make(1, &pn, &pt, NULL, &ps, &err), &err);
  check(td_memory_backend_add_table(mb, "t", &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  uint64_t seed = 88172645463325252ULL;
  int64_t id = 0;
  for (int64_t l = 0; l < locs; l++) {
    int64_t n = rows / locs + (l < rows % locs);
    td_builder *b[6];
    for (int i = 0; i < 6; i++) td_builder_new(types[i], &b[i], NULL);
    for (int64_t r = 0; r < n; r++, id++) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      char sym[16];
      snprintf(sym, sizeof sym, "S%04u", (unsigned)(seed % 5000));
      td_builder_append_int(b[0], id, NULL);
      td_builder_append_int(b[1], 1700000000000LL + id * 10, NULL);
      td_builder_append_str(b[2], sym, -1, NULL);
      td_builder_append_double(b[3], (double)((seed >> 16) % 100000) / 100.0, NULL);
      td_builder_append_int(b[4], (int64_t)((seed >> 40) % 100), NULL);
      td_builder_append_int(b[5], (int64_t)((seed >> 20) % 1000000), NULL);
    }
    struct ArrowArray cols[6], batch;
    for (int i = 0; i < 6; i++) {
      td_builder_finish(b[i], &cols[i], NULL);
      td_builder_free(b[i]);
    }
    check(td_batch_make(6, cols, &batch, &err), &err);
    char p[32];
    snprintf(p, sizeof p, "p%04lld", (long long)l);
    td_value pv = td_value_str(p);
    td_location_key *key;
    check(td_location_key_new(p, 1, &pn, &pv, &key, &err), &err);
    check(td_memory_backend_add_location(mb, "t", key, &batch, &err), &err);
    td_location_key_release(key);
  }
  return mb;
}

/* Best time of `repeats` runs of sql at `threads`; *rows: result rows. */
static double best(ctx *c, const char *sql, int threads, int repeats, int64_t *rows) {
  td_error err;
  double b = 1e30;
  for (int i = 0; i < repeats; i++) {
    td_query_options qo;
    td_query_options_init(&qo);
    qo.resolver = resolve;
    qo.resolver_ctx = c;
    qo.threads = threads;
    td_table *t;
    double t0 = now();
    check(td_query(sql, &qo, &t, &err), &err);
    double dt = now() - t0;
    *rows = td_table_size(t);
    td_table_release(t);
    if (dt < b) b = dt;
  }
  return b;
}

int main(int argc, char **argv) {
  int64_t rows = argc > 1 ? atoll(argv[1]) : 10000000;
  int64_t locs = argc > 2 ? atoll(argv[2]) : 16;
  int repeats = argc > 3 ? atoi(argv[3]) : 3;
  td_error err;
  td_memory_backend *mb = make_data(rows, locs);
  td_service_options so;
  td_service_options_init(&so);
  so.cache_bytes = (int64_t)4 << 30; /* every page stays warm */
  ctx c;
  check(td_service_new(td_memory_backend_backend(mb), &so, &c.svc, &err), &err);
  static const struct {
    const char *name, *sql;
  } q[] = {
      {"count", "SELECT count(qty) FROM t"},
      {"sum", "SELECT sum(price) FROM t"},
      {"filtered sum (10%)", "SELECT sum(price) FROM t WHERE qty >= 90"},
      {"group-by string (5k)", "SELECT sym, count(*), sum(price) FROM t GROUP BY sym"},
      {"group-by two keys", "SELECT sym, qty, count(*), sum(price) FROM t GROUP BY sym, qty"},
      {"group-by 1M groups", "SELECT grp, sum(price) FROM t GROUP BY grp"},
      {"min/max", "SELECT min(ts), max(ts), min(price), max(price) FROM t"},
      {"ORDER BY LIMIT 10", "SELECT id, price FROM t ORDER BY price DESC LIMIT 10"},
      {"selective SELECT *", "SELECT * FROM t WHERE price > 999.98"},
  };
  printf("bench_parallel: %lld rows in %lld locations (memory backend, warm pages), best of %d\n",
         (long long)rows, (long long)locs, repeats);
  printf("  peak RSS after loading: %ld MiB\n", peak_rss_mib());
  printf("  %-22s %10s %10s %9s %12s %14s\n", "query", "1 thread", "2 threads", "speedup", "result rows",
         "peak RSS (MiB)");
  for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
    if (argc > 4 && !strstr(q[i].name, argv[4])) continue;
    int64_t n1, n2;
    best(&c, q[i].sql, 1, 1, &n1); /* warm the pages */
    double t1 = best(&c, q[i].sql, 1, repeats, &n1), t2 = best(&c, q[i].sql, 2, repeats, &n2);
    if (n1 != n2) {
      fprintf(stderr, "bench_parallel: %s: %lld rows at 1 thread, %lld at 2\n", q[i].name, (long long)n1,
              (long long)n2);
      return 1;
    }
    printf("  %-22s %8.1fms %8.1fms %8.2fx %12lld %14ld\n", q[i].name, t1 * 1e3, t2 * 1e3, t1 / t2, (long long)n1,
           peak_rss_mib());
  }
  td_service_free(c.svc);
  td_memory_backend_release(mb);
  return 0;
}
