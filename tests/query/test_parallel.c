/*
 * tests/query/test_parallel.c - parallel execution (td_query_options.threads):
 * every aggregate, group-bys on 1, 2 and 3 keys (integers, strings, floats,
 * nulls), 1M groups, filters, projections and ORDER BY ... LIMIT give the
 * same rows, in the same order, with 1, 2 and 4 threads, and equal a naive
 * reference computed here from the generated data (a string key beside a
 * bool: the same groups as beside an integer); count(DISTINCT) grouped
 * (null keys, null values, doubles) and global, with the distinct pairs
 * collected and merged part by part, also when they enter the sets many
 * times before the end; the aggregation's runs of units (an even split and
 * one where the workers take every unit from the first; queries ordered
 * by every key steal into the state a worker holds) and the error of the
 * first failing row.  Workers run on the caller's CPUs: the CPU set they
 * are started with (away from the caller's CPU) is given back as they
 * start, also when the caller is pinned to one CPU.  Error paths: negative
 * thread counts.
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "query/agg_more.h"
#include "query/par.h"
#include "util/alloc.h"
#include "tabledata.h"
#include "test.h"

/* Table "t": partition P (utf8); data columns id (int64, the row's
 * position), k1 (int64 0..12, nulls), k2 (utf8 s0..s6, nulls), k3 (float64
 * 0, 0.5 .. 2, nulls), v (int64, nulls), x (float64 quarters, nulls),
 * s (utf8).  Locations p0..p7 in order, of different sizes (one empty). */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
enum { SCALE = 2 }; /* half the rows: the sanitizers run 10-20 times slower */
#else
enum { SCALE = 1 };
#endif
enum { NLOC = 8, MAXR = 120000 };
static const int64_t loc_rows[NLOC] = {9000 / SCALE, 1, 31000 / SCALE, 0, 12345 / SCALE, 20000 / SCALE, 7, 25000 / SCALE};

typedef struct row {
  int64_t id, k1, v;
  bool k1n, k2n, k3n, vn, xn;
  int k2;
  double k3, x;
  int s;
} row;

typedef struct env {
  td_memory_backend *mb;
  td_service *svc;
  row *r;
  int64_t n;
} env;

static void add_location(env *e, const char *table, int li, int64_t n, bool unique) {
  td_error err;
  td_builder *b[7];
  td_type_id t[7] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_FLOAT64,
                     TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  for (int i = 0; i < 7; i++) TD_ASSERT_OK(td_builder_new(t[i], &b[i], &err), &err);
  for (int64_t j = 0; j < n; j++) {
    row *r = &e->r[e->n];
    unsigned h = (unsigned)(e->n * 2654435761u) ^ 0x9e37u;
    r->id = e->n++;
    r->k1n = h % 17 == 0;
    r->k1 = (h >> 3) % 13;
    r->k2n = h % 19 == 1;
    r->k2 = (int)((h >> 7) % 7);
    r->k3n = h % 23 == 2;
    r->k3 = (double)((h >> 11) % 5) / 2.0;
    r->vn = h % 11 == 3;
    r->v = unique ? r->id * 3 - 7 : (int64_t)((h >> 5) % 2001) - 1000;
    r->xn = h % 13 == 4;
    r->x = (double)((h >> 9) % 397) / 4.0;
    r->s = (int)((h >> 13) % 50);
    char buf[16];
    td_builder_append_int(b[0], r->id, NULL);
    if (r->k1n) td_builder_append_null(b[1], NULL);
    else td_builder_append_int(b[1], r->k1, NULL);
    snprintf(buf, sizeof buf, "s%d", r->k2);
    if (r->k2n) td_builder_append_null(b[2], NULL);
    else td_builder_append_str(b[2], buf, -1, NULL);
    if (r->k3n) td_builder_append_null(b[3], NULL);
    else td_builder_append_double(b[3], r->k3, NULL);
    if (r->vn) td_builder_append_null(b[4], NULL);
    else td_builder_append_int(b[4], r->v, NULL);
    if (r->xn) td_builder_append_null(b[5], NULL);
    else td_builder_append_double(b[5], r->x, NULL);
    snprintf(buf, sizeof buf, "w%02d", r->s);
    td_builder_append_str(b[6], buf, -1, NULL);
  }
  struct ArrowArray cols[7], batch;
  for (int i = 0; i < 7; i++) {
    TD_ASSERT_OK(td_builder_finish(b[i], &cols[i], &err), &err);
    td_builder_free(b[i]);
  }
  TD_ASSERT_OK(td_batch_make(7, cols, &batch, &err), &err);
  char p[8];
  snprintf(p, sizeof p, "p%d", li);
  const char *pn = "P";
  td_value pv = td_value_str(p);
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_new(p, 1, &pn, &pv, &k, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_location(e->mb, table, k, &batch, &err), &err);
  td_location_key_release(k);
}

static void add_table(env *e, const char *name) {
  td_error err;
  const char *names[7] = {"id", "k1", "k2", "k3", "v", "x", "s"};
  td_type_id types[7] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_FLOAT64,
                         TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  const char *pn = "P";
  td_type_id pt = TD_TYPE_UTF8;
  struct ArrowSchema ds, ps;
  TD_ASSERT_OK(td_schema_make(7, names, types, NULL, &ds, &err), &err);
  TD_ASSERT_OK(td_schema_make(1, &pn, &pt, NULL, &ps, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(e->mb, name, &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
}

static void env_open(env *e) {
  td_error err;
  memset(e, 0, sizeof *e);
  e->r = calloc(MAXR + 1, sizeof *e->r);
  TD_ASSERT_OK(td_memory_backend_new(&e->mb, &err), &err);
  add_table(e, "t");
  for (int i = 0; i < NLOC; i++) add_location(e, "t", i, loc_rows[i], false);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 1000; /* many pages: many units of parallel work */
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(e->mb), &o, &e->svc, &err), &err);
}

static void env_close(env *e) {
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
  free(e->r);
}

static int resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  env *e = ctx;
  (void)is_path;
  *svc = td_service_retain(e->svc);
  return td_table_key_new(name, key, err);
}

/* The result of `sql` with `threads` threads as "a|b|" lines. */
typedef struct rows {
  char **v;
  int64_t n;
} rows;

static rows run(env *e, const char *sql, int threads) {
  td_error err;
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = e;
  qo.threads = threads;
  td_table *t;
  TD_ASSERT_OK(td_query(sql, &qo, &t, &err), &err);
  int64_t n = td_table_size(t);
  rows r = {calloc((size_t)n + 1, sizeof(char *)), n};
  struct ArrowArray a;
  struct ArrowSchema s;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, n, &a, &err), &err);
  TD_ASSERT_OK(td_table_schema(t, &s, &err), &err);
  for (int64_t i = 0; i < n; i++) {
    char line[512] = "";
    for (int64_t c = 0; c < s.n_children; c++) {
      td_value v;
      char buf[128];
      TD_ASSERT_OK(td_arrow_get_value(s.children[c], a.children[c], i, &v, &err), &err);
      if (v.type == TD_TYPE_FLOAT64 && !v.is_null) snprintf(buf, sizeof buf, "%.17g", v.v.f);
      else td_value_format(&v, buf, sizeof buf);
      strncat(line, buf, sizeof line - strlen(line) - 2);
      strcat(line, "|");
    }
    r.v[i] = strdup(line);
  }
  a.release(&a);
  s.release(&s);
  td_table_release(t);
  return r;
}

static void rows_free(rows *r) {
  for (int64_t i = 0; i < r->n; i++) free(r->v[i]);
  free(r->v);
}

static void assert_rows(const char *sql, const rows *got, const rows *want, int threads) {
  if (got->n != want->n) fail_msg("%s, %d threads: %lld rows, expected %lld", sql, threads, (long long)got->n, (long long)want->n);
  for (int64_t i = 0; i < got->n; i++)
    if (strcmp(got->v[i], want->v[i]) != 0)
      fail_msg("%s, %d threads, row %lld: %s, expected %s", sql, threads, (long long)i, got->v[i], want->v[i]);
}

/* Runs sql with 1, 2 and 4 threads: all equal (and equal `want` if given). */
static void check(env *e, const char *sql, const rows *want) {
  rows one = run(e, sql, 1);
  if (want) assert_rows(sql, &one, want, 1);
  for (int th = 2; th <= 4; th += 2) {
    rows more = run(e, sql, th);
    assert_rows(sql, &more, &one, th);
    rows_free(&more);
  }
  rows_free(&one);
}

/* ---- naive reference ---- */

typedef struct refbuf {
  char **v;
  int64_t n, cap;
  char line[512];
} refbuf;

static void cell(refbuf *b, td_value v) {
  char buf[128];
  if (v.type == TD_TYPE_FLOAT64 && !v.is_null) snprintf(buf, sizeof buf, "%.17g", v.v.f);
  else td_value_format(&v, buf, sizeof buf);
  strcat(b->line, buf);
  strcat(b->line, "|");
}
static void cell_i(refbuf *b, bool null, int64_t x) {
  cell(b, null ? td_value_null(TD_TYPE_INT64) : td_value_int(TD_TYPE_INT64, x));
}
static void cell_f(refbuf *b, bool null, double x) {
  cell(b, null ? td_value_null(TD_TYPE_FLOAT64) : td_value_double(TD_TYPE_FLOAT64, x));
}
static void cell_s(refbuf *b, bool null, const char *s) { cell(b, null ? td_value_null(TD_TYPE_UTF8) : td_value_str(s)); }
static void end_row(refbuf *b) {
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 64;
    b->v = realloc(b->v, (size_t)b->cap * sizeof *b->v);
  }
  b->v[b->n++] = strdup(b->line);
  b->line[0] = 0;
}
static rows ref_rows(refbuf *b) { return (rows){b->v, b->n}; }

/* Aggregates of a set of rows, folded row by row in order. */
typedef struct acc {
  int64_t n, nv, sumv, minv, maxv, nx;
  double sumx, minx, maxx;
  bool has_first;
  int first_s, last_s;
  bool last_xn;
  double last_x;
} acc;

static void fold(acc *a, const row *r) {
  if (!a->has_first) {
    a->has_first = true;
    a->first_s = r->s;
  }
  a->last_s = r->s;
  a->last_xn = r->xn;
  a->last_x = r->x;
  a->n++;
  if (!r->vn) {
    a->minv = a->nv == 0 || r->v < a->minv ? r->v : a->minv;
    a->maxv = a->nv == 0 || r->v > a->maxv ? r->v : a->maxv;
    a->nv++;
    a->sumv += r->v;
  }
  if (!r->xn) {
    a->minx = a->nx == 0 || r->x < a->minx ? r->x : a->minx;
    a->maxx = a->nx == 0 || r->x > a->maxx ? r->x : a->maxx;
    a->nx++;
    a->sumx += r->x;
  }
}

/* count(*), count(v), sum(v), min(v), max(v), avg(v), sum(x), min(x),
 * max(x), avg(x), first(s), last(s), last(x) */
#define AGGS                                                                                                  \
  "count(*), count(v), sum(v), min(v), max(v), avg(v), sum(x), min(x), max(x), avg(x), first(s), last(s), " \
  "last(x)"

static void acc_cells(refbuf *b, const acc *a) {
  char s[16];
  cell_i(b, false, a->n);
  cell_i(b, false, a->nv);
  cell_i(b, a->nv == 0, a->sumv);
  cell_i(b, a->nv == 0, a->minv);
  cell_i(b, a->nv == 0, a->maxv);
  cell_f(b, a->nv == 0, a->nv ? (double)a->sumv / (double)a->nv : 0);
  cell_f(b, a->nx == 0, a->sumx);
  cell_f(b, a->nx == 0, a->minx);
  cell_f(b, a->nx == 0, a->maxx);
  cell_f(b, a->nx == 0, a->nx ? a->sumx / (double)a->nx : 0);
  snprintf(s, sizeof s, "w%02d", a->first_s);
  cell_s(b, !a->has_first, s);
  snprintf(s, sizeof s, "w%02d", a->last_s);
  cell_s(b, !a->has_first, s);
  cell_f(b, !a->has_first || a->last_xn, a->last_x);
}

/* Groups by a key of the chosen columns (1: k1, 2: k1 k2, 3: k1 k2 k3), in
 * first-seen order; rows where `keep` holds (NULL: all). */
typedef struct group {
  row key;
  acc a;
} group;

static bool same_key(const row *x, const row *y, int nk) {
  if (x->k1n != y->k1n || (!x->k1n && x->k1 != y->k1)) return false;
  if (nk >= 2 && (x->k2n != y->k2n || (!x->k2n && x->k2 != y->k2))) return false;
  if (nk >= 3 && (x->k3n != y->k3n || (!x->k3n && x->k3 != y->k3))) return false;
  return true;
}

static rows ref_group(const env *e, int nk, bool (*keep)(const row *)) {
  group *g = calloc(4096, sizeof *g);
  int64_t ng = 0;
  for (int64_t i = 0; i < e->n; i++) {
    const row *r = &e->r[i];
    if (keep && !keep(r)) continue;
    int64_t j = 0;
    while (j < ng && !same_key(&g[j].key, r, nk)) j++;
    if (j == ng) g[ng++].key = *r;
    fold(&g[j].a, r);
  }
  refbuf b = {0};
  for (int64_t j = 0; j < ng; j++) {
    char s[16];
    cell_i(&b, g[j].key.k1n, g[j].key.k1);
    snprintf(s, sizeof s, "s%d", g[j].key.k2);
    if (nk >= 2) cell_s(&b, g[j].key.k2n, s);
    if (nk >= 3) cell_f(&b, g[j].key.k3n, g[j].key.k3);
    acc_cells(&b, &g[j].a);
    end_row(&b);
  }
  free(g);
  return ref_rows(&b);
}

static bool v_positive(const row *r) { return !r->vn && r->v > 0; }

static void test_global_aggregates(void **state) {
  (void)state;
  env e;
  env_open(&e);
  acc a = {0};
  for (int64_t i = 0; i < e.n; i++) fold(&a, &e.r[i]);
  refbuf b = {0};
  acc_cells(&b, &a);
  end_row(&b);
  rows want = ref_rows(&b);
  check(&e, "SELECT " AGGS " FROM t", &want);
  rows_free(&want);
  /* filtered */
  acc f = {0};
  for (int64_t i = 0; i < e.n; i++)
    if (v_positive(&e.r[i])) fold(&f, &e.r[i]);
  refbuf b2 = {0};
  acc_cells(&b2, &f);
  end_row(&b2);
  want = ref_rows(&b2);
  check(&e, "SELECT " AGGS " FROM t WHERE v > 0", &want);
  rows_free(&want);
  /* over an expression, partition columns and nothing at all */
  check(&e, "SELECT sum(v * 2 + 1), min(P), max(P), count(*) FROM t WHERE x < 50", NULL);
  check(&e, "SELECT count(*), sum(v) FROM t WHERE v > 5000", NULL);
  env_close(&e);
}

static void test_group_by(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const sql[3] = {
      "SELECT k1, " AGGS " FROM t GROUP BY k1",
      "SELECT k1, k2, " AGGS " FROM t GROUP BY k1, k2",
      "SELECT k1, k2, k3, " AGGS " FROM t GROUP BY k1, k2, k3",
  };
  for (int nk = 1; nk <= 3; nk++) {
    rows want = ref_group(&e, nk, NULL);
    check(&e, sql[nk - 1], &want);
    rows_free(&want);
  }
  rows want = ref_group(&e, 2, v_positive);
  check(&e, "SELECT k1, k2, " AGGS " FROM t WHERE v > 0 GROUP BY k1, k2", &want);
  rows_free(&want);
  /* string keys alone, float keys alone, a partition key with a data key,
   * DISTINCT, and an ORDER BY over the groups */
  check(&e, "SELECT k2, count(*), sum(x), first(id), last(id) FROM t GROUP BY k2", NULL);
  check(&e, "SELECT k3, count(*), min(s), max(s) FROM t GROUP BY k3", NULL);
  check(&e, "SELECT P, k1, count(*), sum(v) FROM t GROUP BY P, k1", NULL);
  check(&e, "SELECT DISTINCT k2, k1 FROM t", NULL);
  check(&e, "SELECT s, count(*) AS n FROM t GROUP BY s ORDER BY n DESC, s LIMIT 7", NULL);
  /* a plain string beside a bool (short-key index, str2_map; nulls in both,
   * strings over 8 bytes, either order) gives the groups an integer in place
   * of the bool gives (the generic multi-key path) */
  static const char *const two[][2] = {
      {"SELECT count(*), sum(id), min(x) FROM t GROUP BY k2, v > 0",
       "SELECT count(*), sum(id), min(x) FROM t GROUP BY k2, CAST(v > 0 AS INTEGER)"},
      {"SELECT count(*), sum(id), max(s) FROM t GROUP BY v % 2 = 0, s",
       "SELECT count(*), sum(id), max(s) FROM t GROUP BY CAST(v % 2 = 0 AS INTEGER), s"},
      {"SELECT count(*), sum(v) FROM t GROUP BY k2 || s || 'long', x > 50",
       "SELECT count(*), sum(v) FROM t GROUP BY k2 || s || 'long', CAST(x > 50 AS INTEGER)"},
      {"SELECT count(*), sum(v) FROM t GROUP BY CASE WHEN id % 3 = 0 THEN 'a-long-string-' || k2 ELSE k2 END, x > 50",
       "SELECT count(*), sum(v) FROM t GROUP BY CASE WHEN id % 3 = 0 THEN 'a-long-string-' || k2 ELSE k2 END, "
       "CAST(x > 50 AS INTEGER)"},
  };
  for (size_t q = 0; q < sizeof two / sizeof *two; q++) {
    rows multi = run(&e, two[q][1], 1);
    assert_true(multi.n > 14);
    check(&e, two[q][0], &multi);
    rows_free(&multi);
  }
  env_close(&e);
}

/* count(DISTINCT v), count(DISTINCT x), count(DISTINCT k3) by k1 (first-seen
 * order, nulls one group), or over all rows when by_k1 is false; rows with
 * id < lim. */
static rows ref_distinct(const env *e, bool by_k1, int64_t lim) {
  enum { NV = 2001, NX = 397, NK = 5, NG = 14 };
  bool(*seen)[NV + NX + NK] = calloc(NG, sizeof *seen);
  int64_t cnt[NG][3] = {{0}}, key[NG];
  int ng = 0;
  for (int64_t i = 0; i < e->n && i < lim; i++) {
    const row *r = &e->r[i];
    const int64_t k = !by_k1 ? 0 : r->k1n ? -1 : r->k1;
    int j = 0;
    while (j < ng && key[j] != k) j++;
    if (j == ng) key[ng++] = k;
    if (!r->vn && !seen[j][r->v + 1000]) seen[j][r->v + 1000] = true, cnt[j][0]++;
    if (!r->xn && !seen[j][NV + (int)(r->x * 4)]) seen[j][NV + (int)(r->x * 4)] = true, cnt[j][1]++;
    if (!r->k3n && !seen[j][NV + NX + (int)(r->k3 * 2)]) seen[j][NV + NX + (int)(r->k3 * 2)] = true, cnt[j][2]++;
  }
  if (!by_k1 && ng == 0) ng = 1; /* a global aggregate of no rows: zeros */
  refbuf b = {0};
  for (int j = 0; j < ng; j++) {
    if (by_k1) cell_i(&b, key[j] < 0, key[j]);
    for (int c = 0; c < 3; c++) cell_i(&b, false, cnt[j][c]);
    end_row(&b);
  }
  free(seen);
  return ref_rows(&b);
}

static void test_count_distinct(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const int64_t lims[] = {INT64_MAX, 5000, 0};
  static const char *const where[] = {"", " WHERE id < 5000", " WHERE id < 0"};
  const int64_t pend_max = td__aggx_pend_max;
  for (int pend = 0; pend < 2; pend++) {
    /* the second time, every 100 pairs enter the sets */
    td__aggx_pend_max = pend ? 100 : pend_max;
    for (int l = 0; l < 3; l++) {
      char sql[256];
      snprintf(sql, sizeof sql, "SELECT k1, count(DISTINCT v), count(DISTINCT x), count(DISTINCT k3) FROM t%s GROUP BY k1",
               where[l]);
      rows want = ref_distinct(&e, true, lims[l]);
      check(&e, sql, &want);
      rows_free(&want);
      snprintf(sql, sizeof sql, "SELECT count(DISTINCT v), count(DISTINCT x), count(DISTINCT k3) FROM t%s", where[l]);
      want = ref_distinct(&e, false, lims[l]);
      check(&e, sql, &want);
      rows_free(&want);
    }
  }
  td__aggx_pend_max = pend_max;
  env_close(&e);
}

/* 1M groups: a key unique per row, over 8 locations (200k under the
 * sanitizers, which run 10-20 times slower). */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
enum { ROWS = 200000 };
#else
enum { ROWS = 1000000 };
#endif
static void test_million_groups(void **state) {
  (void)state;
  env e;
  memset(&e, 0, sizeof e);
  td_error err;
  e.r = calloc(ROWS + 1, sizeof *e.r);
  TD_ASSERT_OK(td_memory_backend_new(&e.mb, &err), &err);
  add_table(&e, "u");
  for (int i = 0; i < 8; i++) add_location(&e, "u", i, ROWS / 8, true);
  td_service_options o;
  td_service_options_init(&o);
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(e.mb), &o, &e.svc, &err), &err);
  const char *sql = "SELECT v, count(*), sum(id), first(s) FROM u GROUP BY v";
  rows got[3];
  for (int i = 0; i < 3; i++) got[i] = run(&e, sql, i == 0 ? 1 : 2 * i);
  /* group g is the g-th distinct v in row order: every non-null v is
   * distinct, the nulls form one group where the first null is */
  int64_t g = 0, null_g = -1, null_n = 0, null_sum = 0;
  for (int64_t i = 0; i < ROWS; i++) {
    const row *r = &e.r[i];
    if (r->vn) {
      null_n++;
      null_sum += r->id;
      if (null_g >= 0) continue;
      null_g = g;
    } else {
      char want[128];
      snprintf(want, sizeof want, "%lld|1|%lld|w%02d|", (long long)r->v, (long long)r->id, r->s);
      if (g >= got[0].n || strcmp(got[0].v[g], want) != 0) fail_msg("group %lld: %s, expected %s", (long long)g, g < got[0].n ? got[0].v[g] : "none", want);
    }
    g++;
  }
  assert_int_equal(got[0].n, g);
  char want[128];
  snprintf(want, sizeof want, "null|%lld|%lld|", (long long)null_n, (long long)null_sum);
  assert_true(strncmp(got[0].v[null_g], want, strlen(want)) == 0);
  for (int i = 1; i < 3; i++) {
    assert_rows(sql, &got[i], &got[0], 2 * i);
    rows_free(&got[i]);
  }
  rows_free(&got[0]);
  /* count(DISTINCT) of over 64k pairs: split sets merged part by part; v is
   * unique, so a group counts its rows with a value */
  sql = "SELECT k1, count(DISTINCT v), count(v), count(DISTINCT id % 1000) FROM u GROUP BY k1";
  for (int i = 0; i < 3; i++) got[i] = run(&e, sql, i == 0 ? 1 : 2 * i);
  for (int64_t i = 0; i < got[0].n; i++) {
    long long dv, nv, dm;
    assert_int_equal(sscanf(strchr(got[0].v[i], '|') + 1, "%lld|%lld|%lld", &dv, &nv, &dm), 3);
    assert_int_equal(dv, nv);
    assert_int_equal(dm, 1000);
  }
  for (int i = 1; i < 3; i++) assert_rows(sql, &got[i], &got[0], 2 * i);
  for (int i = 0; i < 3; i++) rows_free(&got[i]);
  /* two keys, 1M groups: 1 and 2 threads */
  sql = "SELECT id, k1, sum(v) FROM u GROUP BY id, k1";
  got[0] = run(&e, sql, 1);
  got[1] = run(&e, sql, 2);
  assert_int_equal(got[0].n, ROWS);
  assert_rows(sql, &got[1], &got[0], 2);
  rows_free(&got[0]);
  rows_free(&got[1]);
  env_close(&e);
}

/* Naive ORDER BY: a stable sort of row indices. */
static const env *sort_env;
static int sort_key; /* 0: x DESC; 1: k1 ASC */
static int cmp_rows(const void *pa, const void *pb) {
  const row *a = &sort_env->r[*(const int64_t *)pa], *b = &sort_env->r[*(const int64_t *)pb];
  int c = 0;
  if (sort_key == 0) {
    if (a->xn != b->xn) c = a->xn ? 1 : -1; /* nulls last */
    else if (!a->xn) c = (a->x < b->x) - (a->x > b->x);
  } else {
    if (a->k1n != b->k1n) c = a->k1n ? 1 : -1;
    else if (!a->k1n) c = (a->k1 > b->k1) - (a->k1 < b->k1);
  }
  return c ? c : (a->id > b->id) - (a->id < b->id); /* stable */
}

static rows ref_sorted(const env *e, int key, int64_t offset, int64_t limit) {
  int64_t *ix = malloc((size_t)e->n * sizeof *ix);
  for (int64_t i = 0; i < e->n; i++) ix[i] = i;
  sort_env = e;
  sort_key = key;
  qsort(ix, (size_t)e->n, sizeof *ix, cmp_rows);
  refbuf b = {0};
  for (int64_t i = offset; i < offset + limit && i < e->n; i++) {
    const row *r = &e->r[ix[i]];
    cell_i(&b, false, r->id);
    cell_i(&b, r->k1n, r->k1);
    cell_f(&b, r->xn, r->x);
    end_row(&b);
  }
  free(ix);
  return ref_rows(&b);
}

static void test_order_by_limit(void **state) {
  (void)state;
  env e;
  env_open(&e);
  int64_t limits[] = {0, 1, 10, 999, 5000};
  for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
    char sql[160];
    rows want = ref_sorted(&e, 0, 0, limits[i]);
    snprintf(sql, sizeof sql, "SELECT id, k1, x FROM t ORDER BY x DESC LIMIT %lld", (long long)limits[i]);
    check(&e, sql, &want);
    rows_free(&want);
    want = ref_sorted(&e, 1, 0, limits[i]); /* many ties and nulls */
    snprintf(sql, sizeof sql, "SELECT id, k1, x FROM t ORDER BY k1 LIMIT %lld", (long long)limits[i]);
    check(&e, sql, &want);
    rows_free(&want);
    /* top-N keeps OFFSET + LIMIT rows before the OFFSET is skipped */
    want = ref_sorted(&e, 1, 7, limits[i]);
    snprintf(sql, sizeof sql, "SELECT id, k1, x FROM t ORDER BY k1 LIMIT %lld OFFSET 7", (long long)limits[i]);
    check(&e, sql, &want);
    rows_free(&want);
  }
  /* strings, two keys, a partition key, a filter, a LIMIT past the end */
  check(&e, "SELECT s, id FROM t ORDER BY s DESC, id LIMIT 30", NULL);
  check(&e, "SELECT P, k2, x FROM t WHERE v > 0 ORDER BY P DESC, k2, x LIMIT 40", NULL);
  check(&e, "SELECT id FROM t ORDER BY k3 DESC LIMIT 200000", NULL);
  /* under a filter, the late key scan: the kept rows' keys at their own
   * positions (ties by position), the same rows as the full sort's first */
  static const char *const filtered[][2] = {
      {"SELECT id, k1, x FROM t WHERE v > 900 ORDER BY x DESC LIMIT 10",
       "SELECT * FROM (SELECT id, k1, x FROM t WHERE v > 900 ORDER BY x DESC) LIMIT 10"},
      {"SELECT * FROM t WHERE k2 = 's3' ORDER BY k1 NULLS FIRST, k3 DESC LIMIT 25",
       "SELECT * FROM (SELECT * FROM t WHERE k2 = 's3' ORDER BY k1 NULLS FIRST, k3 DESC) LIMIT 25"},
      {"SELECT s, id FROM t WHERE x < 10 AND P >= '2' ORDER BY s DESC LIMIT 17",
       "SELECT * FROM (SELECT s, id FROM t WHERE x < 10 AND P >= '2' ORDER BY s DESC) LIMIT 17"},
      {"SELECT id, v FROM t WHERE v IS NULL ORDER BY k1 LIMIT 40",
       "SELECT * FROM (SELECT id, v FROM t WHERE v IS NULL ORDER BY k1) LIMIT 40"},
      {"SELECT id FROM t WHERE v > 5000 ORDER BY x LIMIT 3", "SELECT * FROM (SELECT id FROM t WHERE v > 5000 ORDER BY x) LIMIT 3"},
      {"SELECT id, x FROM t WHERE k1 = 4 ORDER BY x DESC LIMIT 12 OFFSET 3",
       "SELECT * FROM (SELECT id, x FROM t WHERE k1 = 4 ORDER BY x DESC) LIMIT 12 OFFSET 3"}};
  for (size_t i = 0; i < sizeof filtered / sizeof *filtered; i++) {
    rows want = run(&e, filtered[i][1], 1);
    check(&e, filtered[i][0], &want);
    rows_free(&want);
  }
  env_close(&e);
}

static void test_filters_projections(void **state) {
  (void)state;
  env e;
  env_open(&e);
  refbuf b = {0};
  for (int64_t i = 0; i < e.n; i++) {
    const row *r = &e.r[i];
    if (!(!r->xn && r->x > 90)) continue;
    cell_i(&b, false, r->id);
    cell_i(&b, r->vn, r->v * 2);
    end_row(&b);
  }
  rows want = ref_rows(&b);
  check(&e, "SELECT id, v * 2 FROM t WHERE x > 90", &want);
  rows_free(&want);
  check(&e, "SELECT * FROM t WHERE k2 = 's3' OR v IS NULL", NULL);
  check(&e, "SELECT id, s FROM t WHERE id BETWEEN 100 AND 60000 LIMIT 777", NULL);
  /* functions of the partition column alone: one value a chunk, evaluated by
   * each worker at once (they shared the tree's row scratch: a race, a leak) */
  check(&e, "SELECT id, upper(P) || '-' || lower(P) AS a, regexp_matches(P, 'p[13]') AS b, concat(P, 'x') AS c FROM t", NULL);
  check(&e, "SELECT upper(P) AS u, repeat(P, 2) AS r, count(*), max(lower(P) || s) FROM t GROUP BY u, r ORDER BY u", NULL);
  env_close(&e);
}

/* The aggregation's runs: workers fold runs of units and take the back
 * half of another's units when theirs are done; the runs merge in position
 * order.  With the split even and with every unit first given to worker 0
 * (the others only take from it), at 1, 2, 3 and 7 threads: groups in
 * first-seen order, first/last, string_agg in row order, a grouped
 * count(DISTINCT); a failure is the first failing row's, though later
 * units fail too (and may fail first). */
static void test_agg_runs(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const sql[] = {
      "SELECT k2, count(*), first(id), last(id), first(s), last(x), sum(v) FROM t GROUP BY k2",
      "SELECT k1, string_agg(s, ','), min(s), count(DISTINCT v) FROM t WHERE id % 5 <> 1 GROUP BY k1",
      "SELECT first(id), last(id), string_agg(CAST(id AS VARCHAR), ' '), count(*) FROM t WHERE id % 97 = 3",
      "SELECT v % 1000 AS g, count(*), first(k2), last(s) FROM t GROUP BY g",
  };
  static const int threads[] = {2, 3, 7};
  td_error err;
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = &e;
  for (size_t q = 0; q < sizeof sql / sizeof *sql; q++) {
    rows one = run(&e, sql[q], 1);
    assert_true(one.n > 0);
    for (int skew = 0; skew < 2; skew++) {
      td__agg_par_skew(skew);
      for (size_t i = 0; i < sizeof threads / sizeof *threads; i++) {
        rows more = run(&e, sql[q], threads[i]);
        assert_rows(sql[q], &more, &one, threads[i]);
        rows_free(&more);
      }
    }
    td__agg_par_skew(false);
    rows_free(&one);
  }
  /* a steal makes a new state: with every unit first given to worker 0, the
   * other takes half if it starts in time (its state is empty), and then,
   * holding a state of as many groups as rows, takes no more, nor does
   * worker 0: at most two runs, however the threads are timed */
  td__agg_par_skew(true);
  qo.threads = 2;
  for (int i = 0; i < 5; i++) {
    int64_t m0 = td__agg_runs_merged();
    td_table *t = NULL;
    TD_ASSERT_OK(td_query("SELECT id, count(*) FROM t GROUP BY id", &qo, &t, &err), &err);
    td_table_release(t);
    int64_t runs = td__agg_runs_merged() - m0;
    if (runs > 2) fail_msg("as many groups as rows: %lld runs", (long long)runs);
  }
  td__agg_par_skew(false);
  /* ordered by every key, order-insensitive aggregates: a worker whose run
   * is done takes units into the state it holds (no new run), so with every
   * unit first given to worker 0 at most two runs merge, yet worker 1 takes
   * work (at least once in 20 tries, however the threads are timed), and
   * the rows equal one thread's; any other query never steals so */
  static const char *const unordered[] = {
      "SELECT id, count(*), sum(v) FROM t GROUP BY id ORDER BY id DESC",
      "SELECT k2, k1, count(*) AS n, sum(v), min(s), max(v), count(DISTINCT v), bit_xor(v) FROM t "
      "GROUP BY k1, k2 ORDER BY n, 2, k2",
      "SELECT v % 1000 AS g, avg(v) FROM t GROUP BY g ORDER BY g NULLS FIRST LIMIT 17",
  };
  for (size_t q = 0; q < sizeof unordered / sizeof *unordered; q++) {
    rows one = run(&e, unordered[q], 1);
    td__agg_par_skew(true);
    int64_t s0 = td__agg_shared_steals();
    for (int i = 0; i < 20 && td__agg_shared_steals() == s0; i++) {
      int64_t m0 = td__agg_runs_merged();
      rows more = run(&e, unordered[q], 2);
      assert_rows(unordered[q], &more, &one, 2);
      rows_free(&more);
      if (td__agg_runs_merged() - m0 > 2) fail_msg("%s: more than two runs", unordered[q]);
    }
    if (td__agg_shared_steals() == s0) fail_msg("%s: worker 1 never took units", unordered[q]);
    rows more = run(&e, unordered[q], 7);
    assert_rows(unordered[q], &more, &one, 7);
    rows_free(&more);
    td__agg_par_skew(false);
    rows_free(&one);
  }
  static const char *const ordered[] = {
      "SELECT id, count(*) FROM t GROUP BY id",                        /* no ORDER BY */
      "SELECT k1, k2, count(*) FROM t GROUP BY k1, k2 ORDER BY k1",     /* a key left out */
      "SELECT k3, count(*) FROM t GROUP BY k3 ORDER BY k3",             /* a float key */
      "SELECT k2, first(id) FROM t GROUP BY k2 ORDER BY k2",            /* row order matters */
      "SELECT k2, min(x) FROM t GROUP BY k2 ORDER BY k2",               /* min of floats */
      "SELECT k2, count(*) FROM t GROUP BY k2 ORDER BY upper(k2)",      /* an expression of the key */
  };
  td__agg_par_skew(true);
  int64_t s0 = td__agg_shared_steals();
  for (size_t q = 0; q < sizeof ordered / sizeof *ordered; q++)
    for (int i = 0; i < 3; i++) {
      rows more = run(&e, ordered[q], 2);
      rows_free(&more);
    }
  assert_int_equal(td__agg_shared_steals(), s0);
  td__agg_par_skew(false);
  /* rows 30000 and 60000 (in different units) fail: the error names 30000 */
  const char *bad = "SELECT k1, sum(CAST(CASE WHEN id = 30000 OR id = 60000 THEN 'x' || id ELSE '1' END AS BIGINT)) "
                    "FROM t GROUP BY k1";
  for (int skew = 0; skew < 2; skew++) {
    td__agg_par_skew(skew);
    for (int th = 1; th <= 7; th++) {
      qo.threads = th;
      td_table *t = (td_table *)&e;
      assert_int_not_equal(td_query(bad, &qo, &t, &err), TD_OK);
      assert_null(t);
      if (!strstr(err.message, "'x30000'")) fail_msg("%d threads: %s", th, err.message);
    }
  }
  td__agg_par_skew(false);
  env_close(&e);
}

/* Many small locations: a global aggregation over 64 locations of 3 rows
 * uses both workers (each location's first read goes to the backend,
 * whatever its rows: td__par_work), the same 192 rows in one location do
 * not, and the answers are one thread's. */
static void test_many_small_locations(void **state) {
  (void)state;
  env e;
  memset(&e, 0, sizeof e);
  td_error err;
  e.r = calloc(400, sizeof *e.r);
  TD_ASSERT_OK(td_memory_backend_new(&e.mb, &err), &err);
  add_table(&e, "m");
  for (int i = 0; i < 64; i++) add_location(&e, "m", i, 3, false);
  add_table(&e, "one");
  add_location(&e, "one", 0, 192, false);
  td_service_options o;
  td_service_options_init(&o);
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(e.mb), &o, &e.svc, &err), &err);
  const char *sql[2] = {"SELECT count(*), sum(v), min(id), max(id) FROM m", "SELECT count(*), sum(v) FROM one"};
  for (int q = 0; q < 2; q++) {
    rows one = run(&e, sql[q], 1);
    int64_t m0 = td__agg_runs_merged();
    rows two = run(&e, sql[q], 2);
    int64_t merged = td__agg_runs_merged() - m0;
    assert_rows(sql[q], &two, &one, 2);
    assert_int_equal(one.n, 1);
    if (strncmp(one.v[0], "192|", 4) != 0) fail_msg("%s: %s, expected a count of 192", sql[q], one.v[0]);
    if (q == 0 && merged < 2) fail_msg("%s: one worker over 64 locations (%lld runs merged)", sql[q], (long long)merged);
    if (q == 1 && merged != 0) fail_msg("%s: %lld runs merged over 192 rows in one location", sql[q], (long long)merged);
    rows_free(&one);
    rows_free(&two);
  }
  env_close(&e);
}

static void test_threads_errors(void **state) {
  (void)state;
  env e;
  env_open(&e);
  td_error err;
  td_query_options qo;
  td_query_options_init(&qo);
  assert_int_equal(qo.threads, 0);
  qo.resolver = resolve;
  qo.resolver_ctx = &e;
  qo.threads = -3;
  td_table *t = (td_table *)&e;
  assert_int_equal(td_query("SELECT count(*) FROM t", &qo, &t, &err), TD_EINVAL);
  assert_null(t);
  assert_non_null(strstr(err.message, "-3"));
  struct ArrowArrayStream st;
  assert_int_equal(td_query_stream("SELECT * FROM t", &qo, &st, &err), TD_EINVAL);
  assert_non_null(strstr(err.message, "-3"));
  /* more threads than cores or work is fine */
  qo.threads = 64;
  TD_ASSERT_OK(td_query("SELECT k1, count(*) FROM t GROUP BY k1", &qo, &t, &err), &err);
  assert_int_equal(td_table_size(t), 14);
  td_table_release(t);
  env_close(&e);
}

#ifdef CPU_SETSIZE
typedef struct cpus_seen {
  cpu_set_t mask[4];
  pthread_t self[4];
  int ran[4];
} cpus_seen;

static int record_cpus(void *ctx, int worker, td_error *err) {
  (void)err;
  cpus_seen *c = ctx;
  c->ran[worker]++;
  c->self[worker] = pthread_self();
  return pthread_getaffinity_np(pthread_self(), sizeof c->mask[worker], &c->mask[worker]) == 0 ? TD_OK : TD_EIO;
}

/* Every worker of td__par_run runs once, workers 1-3 on threads of their
 * own, each on the caller's CPU set, with every allocation failing after
 * the first `fail_after` (< 0: none fails); returns the allocations the run
 * asked for (td_thread_start's, one a thread started off the caller's CPU). */
static int64_t check_workers_cpus(const cpu_set_t *want, int64_t fail_after) {
  cpus_seen c;
  memset(&c, 0, sizeof c);
  td_error err;
  td__alloc_fail_after(fail_after);
  TD_ASSERT_OK(td__par_run(4, record_cpus, &c, &err), &err);
  int64_t allocs = td__alloc_fail_after(-1);
  for (int w = 0; w < 4; w++) {
    assert_int_equal(c.ran[w], 1);
    assert_true(pthread_equal(c.self[w], pthread_self()) == (w == 0));
    assert_true(CPU_EQUAL(&c.mask[w], want));
  }
  return allocs;
}
#endif

static void test_worker_cpus(void **state) {
  (void)state;
#ifdef CPU_SETSIZE
  cpu_set_t all;
  if (pthread_getaffinity_np(pthread_self(), sizeof all, &all) != 0) skip();
  /* with another CPU to go to, each of the 3 threads starts there */
  int64_t away = CPU_COUNT(&all) > 1 ? 3 : 0;
  assert_int_equal(check_workers_cpus(&all, -1), away);
  /* pinned to one CPU: nowhere else to start them, nothing allocated */
  int first = 0;
  while (first < CPU_SETSIZE && !CPU_ISSET(first, &all)) first++;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);
  assert_int_equal(check_workers_cpus(&one, -1), 0);
  assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof all, &all), 0);
  /* no memory for the hand-over: the threads start as usual */
  assert_int_equal(check_workers_cpus(&all, 0), away);
  assert_int_equal(check_workers_cpus(&all, -1), away);
#else
  skip();
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_worker_cpus),
      cmocka_unit_test(test_global_aggregates), cmocka_unit_test(test_group_by),
      cmocka_unit_test(test_million_groups),    cmocka_unit_test(test_count_distinct),
      cmocka_unit_test(test_order_by_limit),
      cmocka_unit_test(test_filters_projections), cmocka_unit_test(test_threads_errors),
      cmocka_unit_test(test_agg_runs),
      cmocka_unit_test(test_many_small_locations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
