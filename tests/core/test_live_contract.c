/*
 * tests/core/test_live_contract.c - an acceptance audit of refreshing tables
 * through the public C API only, as an outside user drives them: two memory
 * tables ("m" and "r") that tick over random cycles (appends, new
 * locations, empty cycles, removed locations on ADD_REMOVE tables), and a
 * backend of the test's own that wraps the memory backend to break the
 * contract on purpose (wrong-length pages, shrinking sizes, failures after
 * rows were served, disagreeing location keys).
 *
 * - Every live operator (SQL and the C functions: where, view, agg_by,
 *   sort/head/tail, hash joins of every type on one and two keys with
 *   either or both sides ticking, aj/raj, natural_join, last_by/first_by,
 *   update_by by ticks and by time, windows, subqueries, UNION) equals the
 *   same operator over static tables of the data of that cycle.
 * - The listener contract: what a cycle reports, nothing for an empty
 *   cycle, source before derived, failures with the backend's message
 *   exactly once to every dependent, listeners added / removed and tables
 *   released inside a callback.
 * - Error paths: clear messages naming what was expected and what arrived.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "tabledata.h"
#include "test.h"

/* ---------------------------------------------------------------------- */
/* The data: tables m and r, partition P (utf8); k int64 0..4, v int64 with
 * nulls, x float64, s utf8 (s0..s2), t int64 (a global counter: increasing
 * in arrival order). */

enum { NCOL = 5 };

typedef struct env {
  td_memory_backend *mb;
  td_service *svc;
  unsigned seed;
  int64_t clock;
  /* locations of each table, in the order added (their names increase) */
  char locs[2][64][16];
  bool gone[2][64];
  int nlocs[2];
  bool add_remove;
} env;

static const char *const tnames[2] = {"m", "r"};

static void add_table(env *e, const char *name) {
  td_error err;
  const char *names[NCOL] = {"k", "v", "x", "s", "t"};
  td_type_id types[NCOL] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8, TD_TYPE_INT64};
  const char *pn = "P";
  td_type_id pt = TD_TYPE_UTF8;
  struct ArrowSchema ds, ps;
  TD_ASSERT_OK(td_schema_make(NCOL, names, types, NULL, &ds, &err), &err);
  TD_ASSERT_OK(td_schema_make(1, &pn, &pt, NULL, &ps, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(e->mb, name, &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  if (e->add_remove)
    TD_ASSERT_OK(td_memory_backend_set_update_mode(e->mb, name, TD_UPDATE_ADD_REMOVE, &err), &err);
}

/* Appends n rows to location `part` of table ti (adding it when new). */
static void put_rows(env *e, int ti, const char *part, int64_t n) {
  td_builder *b[NCOL];
  td_type_id t[NCOL] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8, TD_TYPE_INT64};
  for (int i = 0; i < NCOL; i++) td_builder_new(t[i], &b[i], NULL);
  for (int64_t r = 0; r < n; r++) {
    int64_t x = rand_r(&e->seed) % 1000;
    td_builder_append_int(b[0], x % 5, NULL);
    if (x % 7 == 0) td_builder_append_null(b[1], NULL);
    else td_builder_append_int(b[1], x, NULL);
    td_builder_append_double(b[2], (double)(x % 50) / 8.0, NULL);
    char s[16];
    snprintf(s, sizeof s, "s%lld", (long long)(x % 3));
    td_builder_append_str(b[3], s, -1, NULL);
    td_builder_append_int(b[4], e->clock++, NULL);
  }
  mt_put_builders(e->mb, tnames[ti], part, b, NCOL);
}

static void new_loc(env *e, int ti, int64_t n) {
  assert_true(e->nlocs[ti] < 64);
  char *p = e->locs[ti][e->nlocs[ti]++];
  snprintf(p, 16, "p%02d", e->nlocs[ti]);
  put_rows(e, ti, p, n);
}

/* The memory backend with m and r (locations p01: 12 rows, p02: empty). */
static void env_data(env *e, unsigned seed, bool add_remove) {
  td_error err;
  memset(e, 0, sizeof *e);
  e->seed = seed;
  e->add_remove = add_remove;
  TD_ASSERT_OK(td_memory_backend_new(&e->mb, &err), &err);
  for (int ti = 0; ti < 2; ti++) {
    add_table(e, tnames[ti]);
    new_loc(e, ti, 12);
    new_loc(e, ti, 0);
  }
}

/* A service over `b`: pages of 8 rows (many pages, tail pages that grow),
 * cycles only on flush. */
static void env_service(env *e, td_backend b) {
  td_error err;
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 8;
  o.update_period_ms = 3600 * 1000;
  TD_ASSERT_OK(td_service_new(b, &o, &e->svc, &err), &err);
}

static void env_open(env *e, unsigned seed, bool add_remove) {
  env_data(e, seed, add_remove);
  env_service(e, td_memory_backend_backend(e->mb));
}

static void env_close(env *e) {
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
}

static void flush(env *e) {
  td_error err;
  TD_ASSERT_OK(td_service_flush(e->svc, 10000, &err), &err);
}

/* The last location of table ti that was not removed, or -1. */
static int last_loc(env *e, int ti) {
  for (int i = e->nlocs[ti] - 1; i >= 0; i--)
    if (!e->gone[ti][i]) return i;
  return -1;
}

/* One random change.  With `in_order`, rows go only to the table's last
 * location or to a new one (whose key sorts after every other), so arrival
 * order equals the static table's region order; else to any location. */
static void random_change(env *e, bool in_order) {
  int ti = rand_r(&e->seed) % 2;
  int op = rand_r(&e->seed) % 10;
  if (op < 6) {
    int li = in_order ? last_loc(e, ti) : (int)(rand_r(&e->seed) % (unsigned)e->nlocs[ti]);
    if (li < 0 || e->gone[ti][li]) new_loc(e, ti, rand_r(&e->seed) % 9);
    else put_rows(e, ti, e->locs[ti][li], rand_r(&e->seed) % 9);
  } else if (op < 9 || !e->add_remove) {
    new_loc(e, ti, rand_r(&e->seed) % 9);
  } else {
    int li = (int)(rand_r(&e->seed) % (unsigned)e->nlocs[ti]);
    if (e->gone[ti][li]) return;
    td_error err;
    td_location_key *k = mt_pkey(e->locs[ti][li]);
    TD_ASSERT_OK(td_memory_backend_remove_location(e->mb, tnames[ti], k, &err), &err);
    td_location_key_release(k);
    e->gone[ti][li] = true;
  }
}

static int resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  return mt_resolve_in(((env *)ctx)->svc, "m r", name, is_path, svc, key, err);
}

static td_table *source(env *e, const char *name, bool live) {
  td_error err;
  td_table_key *k;
  TD_ASSERT_OK(td_table_key_new(name, &k, &err), &err);
  td_table_options o;
  td_table_options_init(&o);
  o.refreshing = live;
  td_table *t = NULL;
  TD_ASSERT_OK(td_make_table(e->svc, k, &o, &t, &err), &err);
  td_table_key_release(k);
  return t;
}

/* ---------------------------------------------------------------------- */
/* The operators under test.  Each is built the same way over live and over
 * static sources.  `ord`: its row order depends on arrival order (compared
 * only when the data arrived in order; else compared as a multiset, or not
 * at all when `values_ord`: the values themselves depend on arrival order). */

typedef struct probe {
  const char *name;
  const char *sql; /* SQL over m and r, or NULL for `build` */
  td_table *(*build)(td_table *m, td_table *r);
  bool values_ord; /* values depend on arrival order (first/last, lag, ...) */
  bool any_order;  /* row order unspecified (SQL without ORDER BY over a UNION, QUALIFY): a multiset */
} probe;

#define CHECK(call)                                                                                                \
  do {                                                                                                             \
    td_error err_;                                                                                                 \
    TD_ASSERT_OK((call), &err_);                                                                                   \
  } while (0)

static td_table *where(td_table *t, const char *f) {
  td_table *o;
  CHECK(td_table_where(t, f, &o, &err_));
  return o;
}

static const char *const K1[] = {"k"};
static const char *const K2[] = {"k", "s"};

static td_table *b_join(td_table *m, td_table *r, td_join_type ty, int nk) {
  td_table *o;
  td_error err;
  TD_ASSERT_OK(td_table_join(m, r, ty, nk == 1 ? K1 : K2, nk, &o, &err), &err);
  return o;
}
static td_table *b_inner1(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_INNER, 1); }
static td_table *b_left1(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_LEFT, 1); }
static td_table *b_full1(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_FULL, 1); }
static td_table *b_semi1(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_SEMI, 1); }
static td_table *b_anti1(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_ANTI, 1); }
static td_table *b_inner2(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_INNER, 2); }
static td_table *b_left2(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_LEFT, 2); }
static td_table *b_full2(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_FULL, 2); }
static td_table *b_semi2(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_SEMI, 2); }
static td_table *b_anti2(td_table *m, td_table *r) { return b_join(m, r, TD_JOIN_ANTI, 2); }
/* the right side a derived table that ticks with changed rows */
static td_table *b_natural_lastby(td_table *m, td_table *r) {
  td_table *lb, *o;
  td_error err;
  TD_ASSERT_OK(td_table_last_by(r, K2, 2, &lb, &err), &err);
  TD_ASSERT_OK(td_table_natural_join(m, lb, K2, 2, &o, &err), &err);
  td_table_release(lb);
  return o;
}
static td_table *b_inner_lastby(td_table *m, td_table *r) {
  td_table *lb, *o;
  td_error err;
  TD_ASSERT_OK(td_table_last_by(r, K1, 1, &lb, &err), &err);
  TD_ASSERT_OK(td_table_join(m, lb, TD_JOIN_LEFT, K1, 1, &o, &err), &err);
  td_table_release(lb);
  return o;
}
static td_table *b_aj(td_table *m, td_table *r, int nk, const char *on, bool reverse) {
  td_table *o;
  td_error err;
  if (reverse) TD_ASSERT_OK(td_table_raj(m, r, K2, nk, on, &o, &err), &err);
  else TD_ASSERT_OK(td_table_aj(m, r, K2, nk, on, &o, &err), &err);
  return o;
}
static td_table *b_aj_t(td_table *m, td_table *r) { return b_aj(m, r, 1, "t", false); }
static td_table *b_aj_t_strict(td_table *m, td_table *r) { return b_aj(m, r, 2, "t>t", false); }
static td_table *b_aj_v(td_table *m, td_table *r) { return b_aj(m, r, 1, "v>=v", false); }
static td_table *b_aj_v0(td_table *m, td_table *r) { return b_aj(m, r, 0, "v", false); }
static td_table *b_raj_t(td_table *m, td_table *r) { return b_aj(m, r, 1, "t", true); }
static td_table *b_raj_v(td_table *m, td_table *r) { return b_aj(m, r, 2, "v<v", true); }
static td_table *b_lastby(td_table *m, td_table *r) {
  (void)r;
  td_table *o;
  td_error err;
  TD_ASSERT_OK(td_table_last_by(m, K2, 2, &o, &err), &err);
  return o;
}
static td_table *b_firstby(td_table *m, td_table *r) {
  (void)r;
  td_table *o;
  td_error err;
  TD_ASSERT_OK(td_table_first_by(m, K1, 1, &o, &err), &err);
  return o;
}
static td_table *b_lastby0(td_table *m, td_table *r) {
  (void)r;
  td_table *o;
  td_error err;
  TD_ASSERT_OK(td_table_last_by(m, NULL, 0, &o, &err), &err);
  return o;
}
static td_table *b_update_by(td_table *m, td_table *r) {
  (void)r;
  td_rolling ops[] = {
      {TD_ROLL_SUM, "x", "sx3", 3, NULL, 0},     {TD_ROLL_AVG, "v", "av", 0, NULL, 0},
      {TD_ROLL_MIN, "v", "mn4", 4, NULL, 0},     {TD_ROLL_MAX, "x", "mx", 0, NULL, 0},
      {TD_ROLL_COUNT, "v", "cv2", 2, NULL, 0},   {TD_ROLL_ROW_NUMBER, "v", "rn", 0, NULL, 0},
      {TD_ROLL_LAG, "v", "lag2", 2, NULL, 0},    {TD_ROLL_SUM, "x", "sxt", 0, "t", 5},
      {TD_ROLL_COUNT, "v", "cvt", 0, "t", 9},    {TD_ROLL_MAX, "v", "mvt", 0, "t", 7},
  };
  td_table *o;
  td_error err;
  TD_ASSERT_OK(td_table_update_by(m, ops, sizeof ops / sizeof *ops, K1, 1, &o, &err), &err);
  return o;
}
static td_table *b_update_by0(td_table *m, td_table *r) {
  (void)r;
  td_rolling ops[] = {{TD_ROLL_SUM, "v", "sv", 4, NULL, 0}, {TD_ROLL_AVG, "x", "axt", 0, "t", 6}};
  td_table *o;
  td_error err;
  TD_ASSERT_OK(td_table_update_by(m, ops, 2, NULL, 0, &o, &err), &err);
  return o;
}
static td_table *b_sort_head(td_table *m, td_table *r) {
  (void)r;
  td_table *s, *o;
  td_error err;
  const char *cols[] = {"v", "k", "t"};
  bool desc[] = {true, false, false};
  TD_ASSERT_OK(td_table_sort(m, cols, desc, 3, &s, &err), &err);
  TD_ASSERT_OK(td_table_head(s, 6, &o, &err), &err);
  td_table_release(s);
  return o;
}
static td_table *b_tail(td_table *m, td_table *r) {
  (void)r;
  td_table *o;
  td_error err;
  TD_ASSERT_OK(td_table_tail(m, 5, &o, &err), &err);
  return o;
}
static td_table *b_where_view_agg(td_table *m, td_table *r) {
  (void)r;
  td_table *w, *v, *o;
  td_error err;
  const char *cols[] = {"k", "v * 2 + k AS w", "s", "x"};
  const char *aggs[] = {"count(*)", "count(w) AS cw", "sum(w)", "min(s)", "max(s)", "avg(x)", "first(w)",
                        "last(s)", "min(x)", "max(w)"};
  const char *by[] = {"k % 2 AS odd"};
  TD_ASSERT_OK(td_table_where(m, "v IS NULL OR v > 100", &w, &err), &err);
  TD_ASSERT_OK(td_table_view(w, cols, 4, &v, &err), &err);
  TD_ASSERT_OK(td_table_agg_by(v, aggs, 10, by, 1, &o, &err), &err);
  td_table_release(w);
  td_table_release(v);
  return o;
}
static td_table *b_distinct(td_table *m, td_table *r) {
  (void)r;
  td_table *o;
  td_error err;
  const char *cols[] = {"s", "k % 3 AS k3"};
  TD_ASSERT_OK(td_table_select_distinct(m, cols, 2, &o, &err), &err);
  return o;
}
/* a where on the join of two derived tables */
static td_table *b_join_of_derived(td_table *m, td_table *r) {
  td_table *a, *b, *j, *o;
  td_error err;
  TD_ASSERT_OK(td_table_where(m, "v > 300", &a, &err), &err);
  const char *aggs[] = {"count(*) AS n", "max(v) AS mv"};
  TD_ASSERT_OK(td_table_agg_by(r, aggs, 2, K1, 1, &b, &err), &err);
  TD_ASSERT_OK(td_table_join(a, b, TD_JOIN_INNER, K1, 1, &j, &err), &err);
  TD_ASSERT_OK(td_table_where(j, "n > 2", &o, &err), &err);
  td_table_release(a);
  td_table_release(b);
  td_table_release(j);
  return o;
}

/* deferred tables over deferred tables: a semi join of a join with r */
static td_table *b_nested(td_table *m, td_table *r) {
  td_table *j = b_inner_lastby(m, r), *w = where(r, "v > 500"), *o;
  td_error err;
  TD_ASSERT_OK(td_table_join(j, w, TD_JOIN_SEMI, K2, 2, &o, &err), &err);
  td_table_release(j);
  td_table_release(w);
  return o;
}

static const probe probes[] = {
    /* C functions */
    {"inner1", NULL, b_inner1, false, false},
    {"left1", NULL, b_left1, false, false},
    {"full1", NULL, b_full1, false, false},
    {"semi1", NULL, b_semi1, false, false},
    {"anti1", NULL, b_anti1, false, false},
    {"inner2", NULL, b_inner2, false, false},
    {"left2", NULL, b_left2, false, false},
    {"full2", NULL, b_full2, false, false},
    {"semi2", NULL, b_semi2, false, false},
    {"anti2", NULL, b_anti2, false, false},
    {"natural(last_by r)", NULL, b_natural_lastby, true, false},
    {"left(last_by r)", NULL, b_inner_lastby, true, false},
    {"aj t", NULL, b_aj_t, false, false},
    {"aj t>t 2 keys", NULL, b_aj_t_strict, false, false},
    {"aj v", NULL, b_aj_v, true, false},
    {"aj v no keys", NULL, b_aj_v0, true, false},
    {"raj t", NULL, b_raj_t, false, false},
    {"raj v<v 2 keys", NULL, b_raj_v, true, false},
    {"last_by k s", NULL, b_lastby, true, false},
    {"first_by k", NULL, b_firstby, true, false},
    {"last_by ()", NULL, b_lastby0, true, false},
    {"update_by k", NULL, b_update_by, true, false},
    {"update_by ()", NULL, b_update_by0, true, false},
    {"sort head", NULL, b_sort_head, false, false},
    {"tail", NULL, b_tail, true, false},
    {"where view agg", NULL, b_where_view_agg, true, false},
    {"distinct", NULL, b_distinct, false, false},
    {"join of derived", NULL, b_join_of_derived, false, false},
    {"nested joins", NULL, b_nested, true, false},
    /* SQL */
    {"sql filter", "SELECT k, v, s FROM m WHERE v BETWEEN 100 AND 700 AND s <> 's1'", NULL, false, false},
    {"sql computed", "SELECT k * 10 + v AS a, upper(s) AS u, x / 2 AS h, v IS NULL AS n FROM m", NULL, false, false},
    {"sql aggs",
     "SELECT k, count(*) AS n, count(v) AS cv, count(DISTINCT s) AS ds, count(DISTINCT v) AS dv, sum(v) AS sv, "
     "min(s) AS mins, max(s) AS maxs, min(v) AS mn, max(x) AS mx, avg(v) AS av FROM m GROUP BY k",
     NULL, false, false},
    {"sql aggs first/last", "SELECT s, first(v) AS f, last(v) AS l, first(t) AS ft, last(t) AS lt FROM m GROUP BY s",
     NULL, true, false},
    {"sql total", "SELECT count(*), sum(x), min(s), max(s), count(DISTINCT k) FROM m", NULL, false, false},
    {"sql having", "SELECT s, k, sum(v) AS sv FROM m GROUP BY s, k HAVING count(*) > 2", NULL, false, false},
    {"sql order", "SELECT k, v, t FROM m ORDER BY v DESC, t", NULL, false, false},
    {"sql top-n", "SELECT k, v, s FROM m WHERE v IS NOT NULL ORDER BY v, t DESC LIMIT 4", NULL, false, false},
    {"sql limit", "SELECT k, v FROM m LIMIT 7", NULL, true, false},
    {"sql distinct", "SELECT DISTINCT s, k FROM m", NULL, false, false},
    {"sql join", "SELECT m.k, m.v, r.v AS rv FROM m JOIN r USING (k, s) WHERE r.v > m.v", NULL, false, false},
    {"sql left join", "SELECT m.t, r.t AS rt FROM m LEFT JOIN r ON m.k = r.k AND m.s = r.s", NULL, false, false},
    {"sql full join", "SELECT m.k, r.k AS rk, m.t, r.t AS rt FROM m FULL JOIN r ON m.k = r.k", NULL, false, false},
    {"sql semi", "SELECT * FROM m SEMI JOIN r USING (s)", NULL, false, false},
    {"sql anti", "SELECT * FROM m ANTI JOIN r ON m.v = r.v", NULL, false, false},
    {"sql asof", "SELECT m.t, m.k, r.t AS rt FROM m ASOF JOIN r ON m.k = r.k AND m.t >= r.t", NULL, false, false},
    {"sql asof left", "SELECT m.t, r.t AS rt, r.v FROM m ASOF LEFT JOIN r ON m.s = r.s AND m.t > r.t", NULL,
     false, false},
    {"sql asof <=", "SELECT m.t, r.t AS rt FROM m ASOF LEFT JOIN r ON m.k = r.k AND m.t <= r.t", NULL, false, false},
    {"sql join agg", "SELECT m.k, count(*) AS n, sum(r.v) AS sv FROM m JOIN r USING (k) GROUP BY m.k", NULL,
     false, false},
    {"sql window rows",
     "SELECT t, k, row_number() OVER (PARTITION BY k ORDER BY t) AS rn, sum(v) OVER (PARTITION BY k ORDER BY t "
     "ROWS 2 PRECEDING) AS s3, lag(v) OVER (PARTITION BY s ORDER BY t) AS lg, min(s) OVER (PARTITION BY k ORDER BY "
     "t) AS ms FROM m",
     NULL, false, false},
    {"sql window range",
     "SELECT t, count(*) OVER (PARTITION BY k ORDER BY t RANGE 6 PRECEDING) AS c6, max(v) OVER (ORDER BY t RANGE 4 "
     "PRECEDING) AS m4, first_value(v) OVER (PARTITION BY s ORDER BY t) AS fv FROM m",
     NULL, false, false},
    {"sql window by v",
     "SELECT t, v, rank() OVER (PARTITION BY k ORDER BY v) AS rk, dense_rank() OVER (ORDER BY v DESC) AS dr, "
     "avg(x) OVER (PARTITION BY k ORDER BY v) AS ax FROM m",
     NULL, false, false},
    {"sql window whole", "SELECT t, count(*) OVER (PARTITION BY k) AS n, lead(v) OVER (ORDER BY t) AS ld FROM m",
     NULL, false, false},
    {"sql qualify",
     "SELECT k, v, t FROM m QUALIFY row_number() OVER (PARTITION BY k ORDER BY v DESC NULLS LAST, t) = 1", NULL,
     false, true},
    {"sql distinct on", "SELECT DISTINCT ON (s) s, t, v FROM m ORDER BY s, t DESC", NULL, false, true},
    {"sql subquery",
     "SELECT k, v FROM m WHERE v > (SELECT avg(v) FROM r) AND k IN (SELECT k FROM r WHERE s = 's2')", NULL, false, false},
    {"sql exists", "SELECT t FROM m WHERE NOT EXISTS (SELECT 1 FROM r WHERE v > 990)", NULL, false, false},
    {"sql union all", "SELECT k, v FROM m WHERE v < 200 UNION ALL SELECT k, v FROM r WHERE v > 800", NULL, false, true},
    {"sql union", "SELECT s, k FROM m UNION SELECT s, k FROM r", NULL, false, true},
    {"sql cte", "WITH a AS (SELECT k, max(v) AS mv FROM r GROUP BY k) SELECT m.t, a.mv FROM m JOIN a USING (k)",
     NULL, false, false},
};
enum { NPROBES = sizeof probes / sizeof *probes };

static td_table *build(env *e, const probe *p, bool live) {
  if (p->sql) {
    td_query_options o;
    td_query_options_init(&o);
    o.resolver = resolve;
    o.resolver_ctx = e;
    o.refreshing = live;
    o.threads = 1;
    td_table *t = NULL;
    td_error err;
    int rc = td_query(p->sql, &o, &t, &err);
    if (rc) fail_msg("%s (%s): %s", p->name, live ? "live" : "static", err.message);
    return t;
  }
  td_table *m = source(e, "m", live), *r = source(e, "r", live);
  td_table *t = p->build(m, r);
  td_table_release(m);
  td_table_release(r);
  return t;
}

/* Compares the rows of a and b (in order unless sorted); prints the first
 * difference and returns false when they differ. */
static bool same_rows(const char *what, int step, td_table *a, td_table *b, bool sorted) {
  mt_rows x = mt_rows_of(a, sorted), y = mt_rows_of(b, sorted);
  bool ok = x.n == y.n;
  if (!ok) fprintf(stderr, "step %d: %s: live %lld rows, static %lld rows\n", step, what, (long long)x.n,
                   (long long)y.n);
  for (int64_t i = 0; ok && i < x.n; i++)
    if (strcmp(x.v[i], y.v[i]) != 0) {
      fprintf(stderr, "step %d: %s: row %lld: live %s, static %s\n", step, what, (long long)i, x.v[i], y.v[i]);
      ok = false;
    }
  mt_rows_free(&x);
  mt_rows_free(&y);
  return ok;
}

/* Every probe, live over random cycles, against static tables of each
 * cycle's data. */
static void run_cycles(unsigned seed, bool add_remove, bool in_order, int steps) {
  env e;
  env_open(&e, seed, add_remove);
  td_table *live[NPROBES];
  for (int q = 0; q < NPROBES; q++) live[q] = build(&e, &probes[q], true);
  int bad = 0;
  bool failed[NPROBES] = {false};
  for (int step = 0; step < steps; step++) {
    int n_ops = rand_r(&e.seed) % 4; /* 0: an empty cycle */
    for (int i = 0; i < n_ops; i++) random_change(&e, in_order);
    flush(&e);
    for (int q = 0; q < NPROBES; q++) {
      if (failed[q]) continue;
      const probe *p = &probes[q];
      if (!in_order && p->values_ord) continue;
      td_error err;
      if (td_table_status(live[q], &err) != TD_OK) {
        fprintf(stderr, "step %d: %s: live table failed: %s\n", step, p->name, err.message);
        failed[q] = true;
        bad++;
        continue;
      }
      td_table *st = build(&e, p, false);
      if (!same_rows(p->name, step, live[q], st, !in_order || p->any_order)) {
        failed[q] = true;
        bad++;
      }
      td_table_release(st);
    }
  }
  for (int q = 0; q < NPROBES; q++) td_table_release(live[q]);
  env_close(&e);
  if (bad) fail_msg("%d live operators differ from their static counterparts (seed %u)", bad, seed);
}

static void test_live_equals_static_in_order(void **state) {
  (void)state;
  run_cycles(11, false, true, 25);
}

static void test_live_equals_static_scattered(void **state) {
  (void)state;
  run_cycles(23, false, false, 25);
}

static void test_live_equals_static_removals(void **state) {
  (void)state;
  run_cycles(37, true, true, 25);
}


/* ---------------------------------------------------------------------- */
/* A backend of the test's own: the memory backend behind a wrapper that
 * remembers the subscriptions (so the test can answer on them: a smaller
 * size, a failure, a disagreeing key) and breaks column_values answers for
 * one location on request. */

typedef enum fault { FAULT_NONE, FAULT_SHORT, FAULT_WRONG_COLUMN, FAULT_FAIL } fault;

typedef struct faulty {
  td_backend inner;
  pthread_mutex_t lock;
  td_request loc_sub[2];
  td_location_key *size_key[32];
  td_request size_sub[32];
  int size_table[32]; /* 0: m, 1: r */
  int n_size;
  fault values_fault;
  char fault_loc[16]; /* the location P=<fault_loc> whose values break */
  int unsubscribes;
} faulty;

static int tindex(const td_table_key *t) { return strcmp(td_table_key_name(t), "r") == 0; }

static void f_schema(void *self, const td_table_key *t, td_request req) {
  faulty *f = self;
  f->inner.vtable->table_schema(f->inner.self, t, req);
}
static void f_locations(void *self, const td_table_key *t, td_request req) {
  faulty *f = self;
  f->inner.vtable->table_locations(f->inner.self, t, req);
}
static void f_size(void *self, const td_table_key *t, const td_location_key *l, td_request req) {
  faulty *f = self;
  f->inner.vtable->table_location_size(f->inner.self, t, l, req);
}
static void f_values(void *self, const td_table_key *t, const td_location_key *l, const char *col, int64_t off,
                     int64_t min_rows, int64_t max_rows, td_request req) {
  faulty *f = self;
  pthread_mutex_lock(&f->lock);
  fault ft = f->values_fault;
  const td_value *p = td_location_key_find(l, "P");
  bool hit = ft != FAULT_NONE && p && !p->is_null && p->v.s.len == strlen(f->fault_loc) &&
             memcmp(p->v.s.ptr, f->fault_loc, p->v.s.len) == 0;
  pthread_mutex_unlock(&f->lock);
  if (hit && ft == FAULT_FAIL) {
    td_answer_failure(req, "disk read error", NULL);
  } else if (hit && ft == FAULT_SHORT && min_rows > 0) {
    /* one row short of what was asked for */
    f->inner.vtable->column_values(f->inner.self, t, l, col, off, min_rows - 1, min_rows - 1, req);
  } else if (hit && ft == FAULT_WRONG_COLUMN && strcmp(col, "v") == 0) {
    /* the float column x instead of the int64 column v */
    f->inner.vtable->column_values(f->inner.self, t, l, "x", off, min_rows, max_rows, req);
  } else {
    f->inner.vtable->column_values(f->inner.self, t, l, col, off, min_rows, max_rows, req);
  }
}
static void f_sub_locations(void *self, const td_table_key *t, td_request sub) {
  faulty *f = self;
  pthread_mutex_lock(&f->lock);
  f->loc_sub[tindex(t)] = sub;
  pthread_mutex_unlock(&f->lock);
  f->inner.vtable->subscribe_to_table_locations(f->inner.self, t, sub);
}
static void f_sub_size(void *self, const td_table_key *t, const td_location_key *l, td_request sub) {
  faulty *f = self;
  pthread_mutex_lock(&f->lock);
  if (f->n_size < 32) {
    f->size_table[f->n_size] = tindex(t);
    f->size_key[f->n_size] = td_location_key_retain((td_location_key *)l);
    f->size_sub[f->n_size++] = sub;
  }
  pthread_mutex_unlock(&f->lock);
  f->inner.vtable->subscribe_to_table_location_size(f->inner.self, t, l, sub);
}
static void f_unsubscribe(void *self, td_request sub) {
  faulty *f = self;
  pthread_mutex_lock(&f->lock);
  f->unsubscribes++;
  pthread_mutex_unlock(&f->lock);
  f->inner.vtable->unsubscribe(f->inner.self, sub);
}
static void f_release(void *self) {
  faulty *f = self;
  if (f->inner.vtable->release) f->inner.vtable->release(f->inner.self);
}

static const td_backend_vtable faulty_vtable = {f_schema,   f_locations,   f_size,    f_values, f_sub_locations,
                                                f_sub_size, f_unsubscribe, f_release, NULL,     NULL};

/* The size subscription of location P=<p> of m (the latest one). */
static td_request size_sub_of(faulty *f, const char *p) {
  td_location_key *k = mt_pkey(p);
  td_request r = {0};
  pthread_mutex_lock(&f->lock);
  for (int i = 0; i < f->n_size; i++)
    if (f->size_table[i] == 0 && td_location_key_equal(f->size_key[i], k)) r = f->size_sub[i];
  pthread_mutex_unlock(&f->lock);
  td_location_key_release(k);
  assert_non_null(r.service);
  return r;
}

/* env_open over a faulty wrapper (f outlives the service). */
static void env_open_faulty(env *e, faulty *f, unsigned seed) {
  memset(f, 0, sizeof *f);
  pthread_mutex_init(&f->lock, NULL);
  env_data(e, seed, false);
  f->inner = td_memory_backend_backend(e->mb);
  env_service(e, (td_backend){&faulty_vtable, f});
}

static void faulty_close(env *e, faulty *f) {
  env_close(e);
  for (int i = 0; i < f->n_size; i++) td_location_key_release(f->size_key[i]);
  pthread_mutex_destroy(&f->lock);
}

/* ---------------------------------------------------------------------- */
/* Listeners. */

typedef struct heard {
  const char *who;
  char (*order)[16]; /* shared log of who was called, in order */
  int *n_order;
  int calls, errors;
  int error_code;
  char error[1024];
  td_table_update last;
  td_added_rows added[16];
  int64_t size_seen;    /* td_table_size of the table inside the call */
  int64_t version_seen; /* td_table_version inside the call */
  int64_t rows_read;    /* rows td_table_read returned inside the call */
} heard;

static void listen(void *ctx, td_table *t, const td_table_update *u, const td_error *error) {
  heard *h = ctx;
  if (h->order) snprintf(h->order[(*h->n_order)++], 16, "%s", h->who);
  if (error) {
    h->errors++;
    h->error_code = error->code;
    snprintf(h->error, sizeof h->error, "%s", error->message);
    return;
  }
  h->calls++;
  h->last = *u;
  for (int64_t i = 0; i < u->n_added && i < 16; i++) h->added[i] = u->added[i];
  h->last.added = NULL;
  h->last.new_locations = NULL;
  h->last.changed = NULL;
  h->last.removed = NULL;
  h->last.removed_begin = NULL;
  h->size_seen = td_table_size(t);
  h->version_seen = td_table_version(t);
  struct ArrowArray a;
  td_error err;
  h->rows_read = -1;
  if (td_table_read(t, NULL, 0, 0, h->size_seen, &a, &err) == TD_OK) {
    h->rows_read = a.length;
    a.release(&a);
  }
}

static void add_listener(td_table *t, heard *h, const char *who, char (*order)[16], int *n_order, int64_t *id) {
  memset(h, 0, sizeof *h);
  h->who = who;
  h->order = order;
  h->n_order = n_order;
  CHECK(td_table_add_listener(t, listen, h, id, &err_));
}

/* What a cycle reports to a source table, a filter, an aggregation and a
 * join over two ticking tables; nothing for an empty cycle; sources before
 * the tables derived from them; every table readable and at its new
 * version inside its listener. */
static void test_listener_reports(void **state) {
  (void)state;
  env e;
  env_open(&e, 5, false);
  td_table *m = source(&e, "m", true), *r = source(&e, "r", true);
  td_table *w = where(m, "v IS NOT NULL");
  td_table *agg;
  const char *aggs[] = {"count(*) AS n"};
  CHECK(td_table_agg_by(m, aggs, 1, K1, 1, &agg, &err_));
  td_table *j = b_left1(w, r);
  char order[64][16];
  int n_order = 0;
  heard hj, hw, hm, ha, hr, hm2;
  /* registered derived first: the order of the cycle is the graph's */
  add_listener(j, &hj, "j", order, &n_order, NULL);
  add_listener(w, &hw, "w", order, &n_order, NULL);
  add_listener(m, &hm, "m", order, &n_order, NULL);
  add_listener(agg, &ha, "agg", order, &n_order, NULL);
  add_listener(r, &hr, "r", order, &n_order, NULL);
  add_listener(m, &hm2, "m2", order, &n_order, NULL);
  /* empty cycles: nobody is told anything */
  flush(&e);
  flush(&e);
  assert_int_equal(n_order, 0);
  assert_int_equal(td_table_version(m), 0);
  /* m grows in p01 and gets p03; r does not change */
  int64_t m0 = td_table_size(m), w0 = td_table_size(w), j0 = td_table_size(j);
  put_rows(&e, 0, "p01", 3);
  new_loc(&e, 0, 4);
  flush(&e);
  assert_int_equal(hr.calls, 0);
  assert_int_equal(hm.calls, 1);
  assert_int_equal(hm2.calls, 1);
  assert_int_equal(hm.last.version, 1);
  assert_int_equal(hm.last.size_before, m0);
  assert_int_equal(hm.last.size_after, m0 + 7);
  assert_int_equal(hm.size_seen, m0 + 7);
  assert_int_equal(hm.rows_read, m0 + 7);
  assert_int_equal(hm.last.n_new_locations, 1);
  assert_int_equal(hm.last.n_added, 2);
  assert_int_equal(hm.added[0].first_row, 12);
  assert_int_equal(hm.added[0].end_row, 15);
  assert_int_equal(hm.added[1].region, 2);
  assert_int_equal(hm.added[1].first_row, 0);
  assert_int_equal(hm.added[1].end_row, 4);
  /* the filter: appended positions, contiguous, at its end */
  assert_int_equal(hw.calls, 1);
  assert_false(hw.last.replaced);
  assert_int_equal(hw.last.size_before, w0);
  assert_int_equal(hw.last.size_after, td_table_size(w));
  assert_int_equal(hw.size_seen, td_table_size(w));
  int64_t appended = 0;
  for (int64_t i = 0; i < hw.last.n_added; i++) {
    assert_int_equal(hw.added[i].region, -1);
    assert_int_equal(hw.added[i].first_row, w0 + appended);
    appended += hw.added[i].end_row - hw.added[i].first_row;
  }
  assert_int_equal(w0 + appended, td_table_size(w));
  /* the join: only its left side ticked: appended rows */
  assert_int_equal(hj.calls, hw.size_seen > w0 ? 1 : 0);
  if (hj.calls) {
    assert_int_equal(hj.last.size_before, j0);
    assert_int_equal(hj.last.size_after, td_table_size(j));
  }
  assert_int_equal(ha.calls, 1);
  assert_int_equal(ha.last.size_after, td_table_size(agg));
  assert_int_equal(ha.rows_read, ha.size_seen);
  /* every table after the tables it reads; m's listeners in registration order */
  /* m's listeners in registration order (the derived tables, which are
   * listeners of m registered when they were made, run before them) */
  int pos[6] = {-1, -1, -1, -1, -1, -1};
  const char *names[6] = {"m", "m2", "w", "agg", "j", "r"};
  for (int i = 0; i < n_order; i++)
    for (int k = 0; k < 6; k++)
      if (strcmp(order[i], names[k]) == 0) pos[k] = i;
  assert_true(pos[0] >= 0 && pos[0] < pos[1]);
  assert_true(pos[2] >= 0 && pos[3] >= 0);
  /* only r ticks: the join's right side; r first, then the join */
  n_order = 0;
  int hm_calls = hm.calls, hw_calls = hw.calls;
  put_rows(&e, 1, "p01", 5);
  flush(&e);
  assert_int_equal(hm.calls, hm_calls);
  assert_int_equal(hw.calls, hw_calls);
  assert_int_equal(hr.calls, 1);
  assert_int_equal(hj.errors, 0);
  assert_true(hj.calls >= 1);
  assert_int_equal(hj.last.size_after, td_table_size(j));
  assert_int_equal(hj.size_seen, td_table_size(j));
  assert_int_equal(hj.rows_read, hj.size_seen);
  /* an empty location appears: the source hears the new location with no rows */
  n_order = 0;
  new_loc(&e, 0, 0);
  flush(&e);
  assert_int_equal(hm.calls, hm_calls + 1);
  assert_int_equal(hm.last.n_new_locations, 1);
  assert_int_equal(hm.last.n_added, 0);
  assert_int_equal(hm.last.size_before, hm.last.size_after);
  td_table_release(j);
  td_table_release(agg);
  td_table_release(w);
  td_table_release(m);
  td_table_release(r);
  env_close(&e);
}


/* One row k, v, s (x 0) to location `part` of table ti. */
static void put_row(env *e, int ti, const char *part, int64_t k, int64_t v, const char *sv) {
  td_builder *b[NCOL];
  td_type_id t[NCOL] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8, TD_TYPE_INT64};
  for (int i = 0; i < NCOL; i++) td_builder_new(t[i], &b[i], NULL);
  td_builder_append_int(b[0], k, NULL);
  td_builder_append_int(b[1], v, NULL);
  td_builder_append_double(b[2], 0, NULL);
  td_builder_append_str(b[3], sv, -1, NULL);
  td_builder_append_int(b[4], e->clock++, NULL);
  mt_put_builders(e->mb, tnames[ti], part, b, NCOL);
}

/* A natural join whose ticking right side gains a second row for a key
 * fails in that cycle, naming the key; what it served before stays. */
static void test_natural_join_duplicate(void **state) {
  (void)state;
  env e;
  env_open(&e, 3, false);
  td_table *m = source(&e, "m", true), *r = source(&e, "r", true);
  char f[64];
  snprintf(f, sizeof f, "t >= %lld", (long long)e.clock);
  td_table *rr = where(r, f);
  td_table *nj;
  CHECK(td_table_natural_join(m, rr, K2, 2, &nj, &err_));
  heard h;
  add_listener(nj, &h, "nj", NULL, NULL, NULL);
  put_row(&e, 1, "p02", 1, 77, "s1");
  put_row(&e, 1, "p02", 2, 88, "s1");
  flush(&e);
  assert_int_equal(h.errors, 0);
  int64_t n = td_table_size(nj);
  assert_int_equal(n, td_table_size(m));
  put_row(&e, 1, "p01", 1, 99, "s1");
  flush(&e);
  assert_int_equal(h.errors, 1);
  assert_int_equal(h.error_code, TD_EINVAL);
  TD_ASSERT_CONTAINS(h.error, "more than one row for key (1, s1)");
  td_error err;
  assert_int_equal(td_table_status(nj, &err), TD_EFAILED);
  TD_ASSERT_CONTAINS(err.message, "more than one row");
  assert_int_equal(td_table_size(nj), n);
  /* later cycles tell it nothing more */
  put_rows(&e, 0, "p01", 3);
  flush(&e);
  assert_int_equal(h.errors, 1);
  assert_int_equal(td_table_status(m, &err), TD_OK);
  td_table_release(nj);
  td_table_release(rr);
  td_table_release(m);
  td_table_release(r);
  env_close(&e);
}

/* The tables of one cycle: m, a filter, an aggregation over it and a join
 * of the filter with r, each with a listener. */
typedef struct graph {
  td_table *m, *r, *w, *agg, *j;
  heard hm, hr, hw, ha, hj;
} graph;

static void graph_open(env *e, graph *g) {
  g->m = source(e, "m", true);
  g->r = source(e, "r", true);
  g->w = where(g->m, "v IS NULL OR v >= 0");
  const char *aggs[] = {"count(*) AS n", "max(v) AS mv"};
  CHECK(td_table_agg_by(g->w, aggs, 2, K1, 1, &g->agg, &err_));
  g->j = b_inner1(g->w, g->r);
  add_listener(g->m, &g->hm, "m", NULL, NULL, NULL);
  add_listener(g->r, &g->hr, "r", NULL, NULL, NULL);
  add_listener(g->w, &g->hw, "w", NULL, NULL, NULL);
  add_listener(g->agg, &g->ha, "agg", NULL, NULL, NULL);
  add_listener(g->j, &g->hj, "j", NULL, NULL, NULL);
}

static void graph_close(graph *g) {
  td_table_release(g->j);
  td_table_release(g->agg);
  td_table_release(g->w);
  td_table_release(g->m);
  td_table_release(g->r);
}

/* t failed: its listener heard it once, with `code` (0: any) and a message
 * holding `text`; reads and new listeners are refused with the cause; it
 * keeps the size it had. */
static void assert_failed(td_table *t, heard *h, int code, const char *text, int64_t size) {
  td_error err;
  if (h->errors != 1) fprintf(stderr, "%s: %d errors, %d calls\n", h->who, h->errors, h->calls);
  assert_int_equal(h->errors, 1);
  if (code) assert_int_equal(h->error_code, code);
  TD_ASSERT_CONTAINS(h->error, text);
  assert_int_equal(td_table_status(t, &err), TD_EFAILED);
  TD_ASSERT_CONTAINS(err.message, text);
  assert_int_equal(td_table_size(t), size);
  struct ArrowArray a;
  assert_int_equal(td_table_read(t, NULL, 0, 0, 0, &a, &err), TD_EFAILED);
  assert_int_equal(td_table_add_listener(t, listen, h, NULL, &err), TD_EFAILED);
}

typedef enum how { FAIL_SIZE_SUB, FAIL_SHRINK, FAIL_LOC_SUB, FAIL_DISAGREE, FAIL_SHORT_PAGE, FAIL_WRONG_TYPE,
                   FAIL_VALUES } how;

/* A failure in m's backend, after rows were served: m (unless it is a
 * values failure, which only the readers of the rows see) and everything
 * derived from it fail exactly once with the backend's message; r and what
 * else reads only r go on; the failed tables keep their size. */
static void check_failure(how hw) {
  env e;
  faulty f;
  env_open_faulty(&e, &f, 9);
  graph g;
  graph_open(&e, &g);
  put_rows(&e, 0, "p01", 5);
  put_rows(&e, 1, "p01", 5);
  flush(&e);
  assert_int_equal(g.hm.calls, 1);
  int64_t sm = td_table_size(g.m), sw = td_table_size(g.w), sa = td_table_size(g.agg), sj = td_table_size(g.j);
  const char *text = NULL;
  int code = 0;
  td_error err;
  switch (hw) {
  case FAIL_SIZE_SUB:
    TD_ASSERT_OK(td_answer_failure(size_sub_of(&f, "p01"), "disk gone", &err), &err);
    text = "disk gone";
    code = TD_EBACKEND;
    break;
  case FAIL_SHRINK:
    /* refused when it arrives (TD_ECONTRACT) */
    assert_int_equal(td_answer_size(size_sub_of(&f, "p01"), 3, &err), TD_ECONTRACT);
    text = "P=p01";
    code = TD_ECONTRACT;
    break;
  case FAIL_LOC_SUB:
    TD_ASSERT_OK(td_answer_failure(f.loc_sub[0], "catalog down", &err), &err);
    text = "catalog down";
    code = TD_EBACKEND;
    break;
  case FAIL_DISAGREE: {
    const char *n = "Q";
    td_value v = td_value_str("z");
    td_location_key *k;
    TD_ASSERT_OK(td_location_key_new("q", 1, &n, &v, &k, &err), &err);
    td_answer_location(f.loc_sub[0], k, NULL);
    td_location_key_release(k);
    text = "Q=z";
    code = TD_ECONTRACT;
    break;
  }
  case FAIL_SHORT_PAGE:
  case FAIL_WRONG_TYPE:
  case FAIL_VALUES:
    pthread_mutex_lock(&f.lock);
    f.values_fault = hw == FAIL_SHORT_PAGE ? FAULT_SHORT : hw == FAIL_WRONG_TYPE ? FAULT_WRONG_COLUMN : FAULT_FAIL;
    snprintf(f.fault_loc, sizeof f.fault_loc, "p03");
    pthread_mutex_unlock(&f.lock);
    new_loc(&e, 0, 6);
    text = hw == FAIL_VALUES ? "disk read error" : "P=p03";
    code = hw == FAIL_VALUES ? TD_EBACKEND : TD_ECONTRACT;
    break;
  }
  flush(&e);
  bool values = hw == FAIL_SHORT_PAGE || hw == FAIL_WRONG_TYPE || hw == FAIL_VALUES;
  if (values) {
    /* m itself reads nothing: it grows; its readers fail */
    assert_int_equal(g.hm.errors, 0);
    assert_int_equal(td_table_size(g.m), sm + 6);
    TD_ASSERT_OK(td_table_status(g.m, &err), &err);
    struct ArrowArray a;
    assert_int_equal(td_table_read(g.m, NULL, 0, 0, sm + 6, &a, &err), code);
    TD_ASSERT_CONTAINS(err.message, text);
    if (hw != FAIL_VALUES) {
      TD_ASSERT_CONTAINS(err.message, "m");
      TD_ASSERT_CONTAINS(err.message, "offset");
    }
    if (hw == FAIL_SHORT_PAGE) TD_ASSERT_CONTAINS(err.message, "5");
    if (hw == FAIL_WRONG_TYPE) TD_ASSERT_CONTAINS(err.message, "expected column 'v', got column 'x'");
    /* rows served before still read */
    TD_ASSERT_OK(td_table_read(g.m, NULL, 0, 0, sm, &a, &err), &err);
    a.release(&a);
  } else {
    assert_failed(g.m, &g.hm, code, text, sm);
  }
  assert_failed(g.w, &g.hw, code, text, sw);
  assert_failed(g.agg, &g.ha, code, text, sa);
  assert_failed(g.j, &g.hj, code, text, sj);
  if (hw == FAIL_SHRINK) {
    TD_ASSERT_CONTAINS(g.hm.error, "3");
    TD_ASSERT_CONTAINS(g.hm.error, "17");
  }
  if (hw == FAIL_DISAGREE) TD_ASSERT_CONTAINS(g.hm.error, "P=p01");
  /* r goes on */
  assert_int_equal(g.hr.errors, 0);
  put_rows(&e, 1, "p01", 2);
  put_rows(&e, 0, "p01", 2);
  flush(&e);
  assert_int_equal(g.hr.calls, 2);
  TD_ASSERT_OK(td_table_status(g.r, &err), &err);
  /* nothing more for the failed ones */
  assert_int_equal(g.hw.errors, 1);
  assert_int_equal(g.hj.errors, 1);
  assert_int_equal(td_table_size(g.w), sw);
  graph_close(&g);
  /* everything released: every subscription that did not fail was ended */
  assert_true(f.unsubscribes >= 1);
  faulty_close(&e, &f);
}

static void test_fail_size_subscription(void **state) {
  (void)state;
  check_failure(FAIL_SIZE_SUB);
}
static void test_fail_shrinking_size(void **state) {
  (void)state;
  check_failure(FAIL_SHRINK);
}
static void test_fail_location_subscription(void **state) {
  (void)state;
  check_failure(FAIL_LOC_SUB);
}
static void test_fail_disagreeing_key(void **state) {
  (void)state;
  check_failure(FAIL_DISAGREE);
}
static void test_fail_short_page(void **state) {
  (void)state;
  check_failure(FAIL_SHORT_PAGE);
}
static void test_fail_wrong_type_page(void **state) {
  (void)state;
  check_failure(FAIL_WRONG_TYPE);
}
static void test_fail_values(void **state) {
  (void)state;
  check_failure(FAIL_VALUES);
}

/* Inside a listener: release a derived table (its listeners are not called
 * again), remove another listener, add one; release a whole table while
 * the backend still answers on its subscriptions. */
typedef struct juggler {
  env *e;
  td_table *m, *d;
  td_table *made_r, *made_w; /* made inside the callback: a live r and a filter on it */
  int64_t other_id;
  heard added;
  bool added_on;
  int calls;
} juggler;

static void juggle(void *ctx, td_table *t, const td_table_update *u, const td_error *error) {
  juggler *jg = ctx;
  (void)u;
  if (error) return;
  jg->calls++;
  if (jg->calls == 1) {
    td_table_release(jg->d); /* the last reference */
    jg->d = NULL;
    assert_int_equal(td_table_remove_listener(t, jg->other_id), TD_OK);
    assert_int_equal(td_table_remove_listener(t, jg->other_id), TD_ENOTFOUND);
    add_listener(t, &jg->added, "added", NULL, NULL, NULL);
    jg->added_on = true;
    /* subscribing inside a callback */
    jg->made_r = source(jg->e, "r", true);
    jg->made_w = where(jg->made_r, "k >= 2");
  }
}

static void test_callbacks_change_the_graph(void **state) {
  (void)state;
  env e;
  faulty f;
  env_open_faulty(&e, &f, 13);
  juggler jg = {.e = &e};
  jg.m = source(&e, "m", true);
  jg.d = where(jg.m, "k = 1");
  heard hd, ho;
  add_listener(jg.d, &hd, "d", NULL, NULL, NULL);
  CHECK(td_table_add_listener(jg.m, juggle, &jg, NULL, &err_));
  add_listener(jg.m, &ho, "other", NULL, NULL, &jg.other_id);
  put_rows(&e, 0, "p01", 30);
  flush(&e);
  assert_int_equal(jg.calls, 1);
  assert_null(jg.d);
  assert_int_equal(hd.calls, 1); /* d, a listener of m made before juggle, came first */
  assert_int_equal(ho.calls, 0); /* removed before its turn */
  int added_calls = jg.added.calls;
  assert_true(added_calls <= 1);
  put_rows(&e, 0, "p02", 4);
  flush(&e);
  assert_int_equal(jg.calls, 2);
  assert_int_equal(jg.added.calls, added_calls + 1);
  assert_int_equal(jg.added.version_seen, td_table_version(jg.m));
  assert_int_equal(ho.calls, 0);
  assert_int_equal(hd.calls, 1); /* released: not called again */
  /* the tables made inside the callback follow r */
  put_rows(&e, 1, "p02", 6);
  flush(&e);
  td_table *sr = source(&e, "r", false);
  assert_int_equal(td_table_size(jg.made_r), td_table_size(sr));
  td_table *sw = where(sr, "k >= 2");
  mt_assert_same_rows(jg.made_w, sw, false);
  td_table_release(sw);
  td_table_release(sr);
  td_table_release(jg.made_w);
  td_table_release(jg.made_r);
  /* the last release ends m's subscriptions: one location subscription and
   * the size subscriptions of p01 and p02 */
  td_request p01 = size_sub_of(&f, "p01");
  int before = f.unsubscribes;
  td_table_release(jg.m);
  assert_int_equal(f.unsubscribes - before, 3);
  /* the backend still answers on them: refused, no effect */
  td_error err;
  assert_int_equal(td_answer_size(p01, 1000, &err), TD_ESTATE);
  put_rows(&e, 0, "p01", 3);
  new_loc(&e, 0, 3);
  flush(&e);
  /* and a new live table starts afresh */
  td_table *m2 = source(&e, "m", true);
  td_table *st = source(&e, "m", false);
  assert_int_equal(td_table_size(m2), td_table_size(st));
  td_table_release(m2);
  td_table_release(st);
  faulty_close(&e, &f);
}

/* A table of two ticking inputs (a join, an as-of join, a UNION, a
 * subquery) whose inputs both change in one cycle: its listener is told
 * once, and what it reads then (as any reader) is the result over both
 * inputs' new data -- never the left side's new rows against the right
 * side's old ones. */
typedef struct atomic_probe {
  env *e;
  const probe *p;
  int calls;
  int64_t last_version;
  int twice;      /* cycles that told it more than once */
  int mismatches; /* calls where it differed from the static result */
} atomic_probe;

static void atomic_listen(void *ctx, td_table *t, const td_table_update *u, const td_error *error) {
  atomic_probe *a = ctx;
  if (error) {
    a->mismatches++;
    return;
  }
  a->calls++;
  (void)u;
  td_table *st = build(a->e, a->p, false);
  if (!same_rows(a->p->name, a->calls, t, st, a->p->any_order)) a->mismatches++;
  td_table_release(st);
}

static void test_two_inputs_one_cycle(void **state) {
  (void)state;
  static const probe two[] = {
      {"inner1", NULL, b_inner1, false, false},
      {"full2", NULL, b_full2, false, false},
      {"aj t", NULL, b_aj_t, false, false},
      {"natural(last_by r)", NULL, b_natural_lastby, true, false},
      {"sql union all", "SELECT k, v FROM m UNION ALL SELECT k, v FROM r", NULL, false, true},
      {"sql subquery", "SELECT k, v FROM m WHERE v > (SELECT avg(v) FROM r)", NULL, false, false},
      {"join of derived", NULL, b_join_of_derived, false, false},
      {"nested joins", NULL, b_nested, true, false},
  };
  enum { N = sizeof two / sizeof *two };
  env e;
  env_open(&e, 17, false);
  td_table *live[N];
  atomic_probe ap[N];
  for (int q = 0; q < N; q++) {
    live[q] = build(&e, &two[q], true);
    ap[q] = (atomic_probe){&e, &two[q], 0, 0, 0, 0};
    CHECK(td_table_add_listener(live[q], atomic_listen, &ap[q], NULL, &err_));
  }
  for (int step = 0; step < 6; step++) {
    int before[N];
    for (int q = 0; q < N; q++) before[q] = ap[q].calls;
    put_rows(&e, 0, e.locs[0][last_loc(&e, 0)], 4);
    put_rows(&e, 1, e.locs[1][last_loc(&e, 1)], 4);
    if (step % 2) new_loc(&e, step % 3 ? 0 : 1, 3);
    flush(&e);
    for (int q = 0; q < N; q++) {
      if (ap[q].calls - before[q] > 1) {
        fprintf(stderr, "step %d: %s: told %d times in one cycle\n", step, two[q].name, ap[q].calls - before[q]);
        ap[q].twice++;
      }
    }
  }
  int bad = 0;
  for (int q = 0; q < N; q++) {
    bad += ap[q].twice + ap[q].mismatches;
    td_table_release(live[q]);
  }
  env_close(&e);
  if (bad) fail_msg("%d cycles told a two-input table twice or showed it half-applied", bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_live_equals_static_in_order),
      cmocka_unit_test(test_live_equals_static_scattered),
      cmocka_unit_test(test_live_equals_static_removals),
      cmocka_unit_test(test_listener_reports),
      cmocka_unit_test(test_natural_join_duplicate),
      cmocka_unit_test(test_fail_size_subscription),
      cmocka_unit_test(test_fail_shrinking_size),
      cmocka_unit_test(test_fail_location_subscription),
      cmocka_unit_test(test_fail_disagreeing_key),
      cmocka_unit_test(test_fail_short_page),
      cmocka_unit_test(test_fail_wrong_type_page),
      cmocka_unit_test(test_fail_values),
      cmocka_unit_test(test_callbacks_change_the_graph),
      cmocka_unit_test(test_two_inputs_one_cycle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
