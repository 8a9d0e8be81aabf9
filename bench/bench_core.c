/*
 * bench/bench_core.c - summing an int64 column through the public stream API,
 * cold (every page fetched from the in-memory backend) and warm (every page
 * cached), against a plain C loop over one contiguous array of the same
 * values, in the same run.  Prints times and speed ratios (plain / ours).
 *
 * usage: bench_core [locations] [rows per location] [repeats]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "tabledata.h"

static int64_t value_of(int64_t loc, int64_t row) { return (loc * 7919 + row) % 1000003; }

static int64_t sum_stream(td_table *t, int64_t col) {
  struct ArrowArrayStream st;
  td_error err;
  check(td_table_stream(t, &col, 1, &st, &err), &err);
  int64_t sum = 0;
  for (;;) {
    struct ArrowArray b;
    if (st.get_next(&st, &b) != 0) {
      fprintf(stderr, "bench_core: %s\n", st.get_last_error(&st));
      exit(1);
    }
    if (!b.release) break;
    const struct ArrowArray *c = b.children[0];
    const int64_t *v = (const int64_t *)c->buffers[1] + c->offset;
    int64_t s = 0;
    for (int64_t i = 0; i < c->length; i++) s += v[i];
    sum += s;
    b.release(&b);
  }
  st.release(&st);
  return sum;
}

int main(int argc, char **argv) {
  int64_t n_locs = argc > 1 ? atoll(argv[1]) : 100;
  int64_t rows = argc > 2 ? atoll(argv[2]) : 500000;
  int repeats = argc > 3 ? atoi(argv[3]) : 5;
  int64_t total = n_locs * rows;
  td_error err;

  /* The same values twice: in the backend, and as one contiguous array. */
  int64_t *plain = malloc((size_t)total * sizeof *plain);
  td_memory_backend *mb;
  check(td_memory_backend_new(&mb, &err), &err);
  const char *name = "v";
  td_type_id type = TD_TYPE_INT64;
  const char *pname = "Part";
  td_type_id ptype = TD_TYPE_INT32;
  struct ArrowSchema ds, ps;
  check(td_schema_make(1, &name, &type, NULL, &ds, &err), &err);
  check(td_schema_make(1, &pname, &ptype, NULL, &ps, &err), &err);
  check(td_memory_backend_add_table(mb, "bench", &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  for (int64_t l = 0; l < n_locs; l++) {
    td_builder *b;
    check(td_builder_new(TD_TYPE_INT64, &b, &err), &err);
    for (int64_t r = 0; r < rows; r++) {
      int64_t v = value_of(l, r);
      plain[l * rows + r] = v;
      td_builder_append_int(b, v, NULL);
    }
    struct ArrowArray col, batch;
    check(td_builder_finish(b, &col, &err), &err);
    td_builder_free(b);
    check(td_batch_make(1, &col, &batch, &err), &err);
    td_value pv = td_value_int(TD_TYPE_INT32, l);
    td_location_key *k;
    check(td_location_key_new(NULL, 1, &pname, &pv, &k, &err), &err);
    check(td_memory_backend_add_location(mb, "bench", k, &batch, &err), &err);
    td_location_key_release(k);
  }

  double best_plain = 1e9, best_cold = 1e9, best_warm = 1e9;
  int64_t expect = 0;
  for (int rep = 0; rep < repeats; rep++) {
    double t0 = now();
    int64_t s = 0;
    for (int64_t i = 0; i < total; i++) s += plain[i];
    double t1 = now();
    expect = s;
    if (t1 - t0 < best_plain) best_plain = t1 - t0;

    /* A fresh service: every page comes from the backend. */
    td_service_options o;
    td_service_options_init(&o);
    o.cache_bytes = (int64_t)8 << 30;
    td_service *svc;
    check(td_service_new(td_memory_backend_backend(mb), &o, &svc, &err), &err);
    td_table_key *key;
    check(td_table_key_new("bench", &key, &err), &err);
    td_table *t;
    check(td_make_table(svc, key, NULL, &t, &err), &err);
    int64_t col = td_table_column_index(t, "v");
    double t2 = now();
    int64_t cold = sum_stream(t, col);
    double t3 = now();
    int64_t warm = sum_stream(t, col);
    double t4 = now();
    if (cold != expect || warm != expect) {
      fprintf(stderr, "bench_core: wrong sums %lld %lld, expected %lld\n", (long long)cold, (long long)warm,
              (long long)expect);
      return 1;
    }
    if (t3 - t2 < best_cold) best_cold = t3 - t2;
    if (t4 - t3 < best_warm) best_warm = t4 - t3;
    td_table_release(t);
    td_table_key_release(key);
    td_service_free(svc);
  }
  printf("core sum of %lld int64 rows in %lld locations (best of %d)\n", (long long)total, (long long)n_locs,
         repeats);
  printf("  plain C loop : %8.2f ms\n", best_plain * 1e3);
  printf("  stream, cold : %8.2f ms   speed vs plain loop: %.2fx (target >= 0.3x)\n", best_cold * 1e3,
         best_plain / best_cold);
  printf("  stream, warm : %8.2f ms   speed vs plain loop: %.2fx (target >= 0.8x)\n", best_warm * 1e3,
         best_plain / best_warm);
  free(plain);
  td_memory_backend_release(mb);
  return 0;
}
