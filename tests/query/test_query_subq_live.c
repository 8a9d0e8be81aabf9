/*
 * tests/query/test_query_subq_live.c - subqueries in expressions of live
 * queries (query/subq_live.c): scalar, IN, NOT IN (nulls appearing
 * mid-stream), EXISTS / NOT EXISTS, over the outer table itself and over
 * another live table, in WHERE, select items, aggregates, CTEs, nested
 * subqueries and without FROM: after every cycle of random appends and new
 * locations the live result equals the same query over static tables of
 * that cycle's data.  The gate's counters show that appends to the outer
 * table alone, with an unchanged subquery value, do not recompute.  Errors:
 * correlated subqueries, a scalar subquery that gains a second row, and
 * allocation failures while planning (no leaks: ASan).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/subq_live.h"
#include "tabledata.h"
#include "test.h"

/* Table "r" beside mt_env's "m": the same columns; v null only once
 * `nulls` is set, k 0..9. */
static void r_add(mt_env *e, const char *part, int64_t n, bool nulls) {
  td_builder *b[4];
  td_type_id t[4] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  for (int i = 0; i < 4; i++) td_builder_new(t[i], &b[i], NULL);
  for (int64_t r = 0; r < n; r++) {
    int64_t x = rand_r(&e->seed) % 1000;
    td_builder_append_int(b[0], x % 10, NULL);
    if (nulls && x % 4 == 0) td_builder_append_null(b[1], NULL);
    else td_builder_append_int(b[1], x, NULL);
    td_builder_append_double(b[2], (double)x / 4.0, NULL);
    char s[16];
    snprintf(s, sizeof s, "s%lld", (long long)(x % 4));
    td_builder_append_str(b[3], s, -1, NULL);
  }
  mt_put_builders(e->mb, "r", part, b, 4);
}

static void env_open(mt_env *e) {
  mt_open(e, 8, false);
  mt_add_table(e->mb, "r");
  r_add(e, "a", 0, false); /* r starts empty */
}

/* One row of r (k, v; x = 0.5, s = 's0'). */
static void r_row(mt_env *e, const char *part, int64_t k, int64_t v) {
  td_builder *b[4];
  td_type_id t[4] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  for (int i = 0; i < 4; i++) td_builder_new(t[i], &b[i], NULL);
  td_builder_append_int(b[0], k, NULL);
  td_builder_append_int(b[1], v, NULL);
  td_builder_append_double(b[2], 0.5, NULL);
  td_builder_append_str(b[3], "s0", -1, NULL);
  mt_put_builders(e->mb, "r", part, b, 4);
}

/* "m" and "r" of an mt_env. */
static int resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  return mt_resolve_in(((mt_env *)ctx)->svc, "m r", name, is_path, svc, key, err);
}

static td_table *run(mt_env *e, const char *sql, bool live) {
  td_query_options o = {.resolver = resolve, .resolver_ctx = e, .refreshing = live};
  td_table *t = NULL;
  td_error err;
  int rc = td_query(sql, &o, &t, &err);
  if (rc) fail_msg("%s: %s", sql, err.message);
  assert_int_equal(td_table_is_refreshing(t), live);
  return t;
}

static void flush(mt_env *e) {
  td_error err;
  TD_ASSERT_OK(td_service_flush(e->svc, 10000, &err), &err);
}

static const char *const queries[] = {
    /* scalar over the same table, and over another one (empty at first: NULL) */
    "SELECT k, v FROM m WHERE v > (SELECT avg(v) FROM m)",
    "SELECT k, v, x FROM m WHERE x < (SELECT max(x) FROM r)",
    /* IN, NOT IN (r.v gets nulls mid-stream), over a subquery's filter */
    "SELECT k, s FROM m WHERE v IN (SELECT v FROM r WHERE k < 3)",
    "SELECT k, v FROM m WHERE k NOT IN (SELECT v FROM r WHERE v < 3 OR v IS NULL)",
    "SELECT k, v FROM m WHERE v % 10 NOT IN (SELECT k FROM r WHERE s = 's1') AND v IS NOT NULL",
    "SELECT k, s FROM m WHERE s IN (SELECT s FROM m WHERE v > 900)",
    /* EXISTS / NOT EXISTS */
    "SELECT k, v FROM m WHERE EXISTS (SELECT 1 FROM r WHERE v > 900)",
    "SELECT k, v FROM m WHERE NOT EXISTS (SELECT k FROM r WHERE s = 's2' AND x > 200)",
    /* in select items and aggregates, ORDER BY */
    "SELECT k, v - (SELECT max(v) FROM r) AS d, v IN (SELECT v FROM r) AS i FROM m",
    "SELECT k, count(*) AS n, sum(v) - (SELECT min(v) FROM m) AS d FROM m GROUP BY k HAVING count(*) > "
    "(SELECT count(*) FROM r WHERE k = 9)",
    "SELECT k, v FROM m WHERE v < (SELECT avg(v) FROM r) ORDER BY v DESC, k LIMIT 5",
    /* a CTE read by the outer query and its subquery; a nested subquery */
    "WITH t AS (SELECT k, v FROM m WHERE v IS NOT NULL) SELECT k, v FROM t WHERE v >= (SELECT avg(v) FROM t)",
    "SELECT k, v FROM m WHERE v > (SELECT avg(v) FROM r WHERE k IN (SELECT k FROM m WHERE v > 800))",
    /* without FROM; a string scalar; a join */
    "SELECT (SELECT count(*) FROM m) AS n, (SELECT max(x) FROM r) AS mx, EXISTS (SELECT 1 FROM r) AS e",
    "SELECT k, s FROM m WHERE s = (SELECT min(s) FROM r)",
    "SELECT m.k, m.v, r.v AS rv FROM m JOIN r USING (k) WHERE r.v > (SELECT avg(v) FROM m)",
};
enum { N_QUERIES = sizeof queries / sizeof *queries };

/* Every query live through random cycles: equal to the static query over
 * the data of each cycle. */
static void test_live_against_static(void **state) {
  (void)state;
  mt_env e;
  env_open(&e);
  flush(&e);
  td_table *live[N_QUERIES];
  for (int q = 0; q < N_QUERIES; q++) live[q] = run(&e, queries[q], true);
  static const char *parts[5] = {"a", "b", "c", "d", "e"};
  for (int step = 0; step < 12; step++) {
    bool nulls = step >= 5; /* NOT IN over r.v turns null */
    int n_ops = 1 + rand_r(&e.seed) % 3;
    for (int i = 0; i < n_ops; i++) {
      const char *p = parts[rand_r(&e.seed) % 5];
      if (rand_r(&e.seed) % 2) mt_add_rows(&e, p, rand_r(&e.seed) % 19);
      else r_add(&e, p, rand_r(&e.seed) % 7, nulls);
    }
    flush(&e);
    for (int q = 0; q < N_QUERIES; q++) {
      td_error err;
      TD_ASSERT_OK(td_table_status(live[q], &err), &err);
      td_table *st = run(&e, queries[q], false);
      mt_assert_same_rows(live[q], st, strstr(queries[q], "ORDER BY") == NULL);
      td_table_release(st);
    }
  }
  for (int q = 0; q < N_QUERIES; q++) td_table_release(live[q]);
  mt_close(&e);
}

/* Appends to the outer table alone pass through; a changed value
 * recomputes, an unchanged one does not. */
static void test_recompute_counter(void **state) {
  (void)state;
  mt_env e;
  env_open(&e);
  r_add(&e, "a", 5, false);
  flush(&e);
  const char *sql = "SELECT k, v FROM m WHERE v >= (SELECT max(v) FROM r) - 500";
  td_table *live = run(&e, sql, true);
  int64_t appends = 0, rec = td__subq_stats(live, &appends);
  assert_int_equal(rec, 0);
  assert_int_equal(appends, 0);
  for (int i = 0; i < 3; i++) { /* the outer table ticks: incremental */
    mt_add_rows(&e, i == 1 ? "d" : "a", 11);
    flush(&e);
    assert_int_equal(td__subq_stats(live, &appends), 0);
    assert_int_equal(appends, i + 1);
  }
  /* r gains rows that do not change its max: no recompute */
  r_row(&e, "a", 1, -5);
  flush(&e);
  assert_int_equal(td__subq_stats(live, NULL), 0);
  /* a new max: one recompute, and the result follows */
  r_row(&e, "b", 2, 5000);
  flush(&e);
  assert_int_equal(td__subq_stats(live, NULL), 1);
  td_table *st = run(&e, sql, false);
  mt_assert_same_rows(live, st, true);
  td_table_release(st);
  assert_int_equal(td_table_size(live), 0); /* no v reaches 4500 */
  td_table_release(live);
  mt_close(&e);
}

/* A listener that drops the live result on its first update. */
static void drop_on_update(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)u;
  (void)e;
  td_table **slot = ctx;
  if (*slot == t) {
    *slot = NULL;
    td_table_release(t);
  }
}

/* The result released from its own listener, in the cycle where the
 * subquery's value changed (the slot's listener is on the stack): freed
 * once the listeners return (ASan: no leak, no use after free). */
static void test_release_in_cycle(void **state) {
  (void)state;
  mt_env e;
  env_open(&e);
  r_add(&e, "a", 3, false);
  flush(&e);
  td_table *live = run(&e, "SELECT k, v FROM m WHERE v < (SELECT max(v) FROM r)", true);
  td_error err;
  TD_ASSERT_OK(td_table_add_listener(live, drop_on_update, &live, NULL, &err), &err);
  r_row(&e, "b", 1, 100000); /* a new max: the dispatch starts in the slot's listener */
  flush(&e);
  assert_null(live);
  mt_close(&e);
}

static void test_errors(void **state) {
  (void)state;
  mt_env e;
  env_open(&e);
  td_query_options o = {.resolver = resolve, .resolver_ctx = &e, .refreshing = true};
  mt_expect_error_at(&o, "SELECT * FROM m a WHERE v > (SELECT avg(v) FROM m b WHERE b.k = a.k)", TD_EPARSE, 64,
                     "correlated subqueries are not supported");
  mt_expect_error_at(&o, "SELECT k FROM m WHERE v = (SELECT v FROM m)", TD_ETYPE, 26,
                     "a scalar subquery returned 47 rows");
  mt_expect_error_at(&o, "SELECT k FROM m WHERE s IN (SELECT k FROM r)", TD_ETYPE, -1, "cannot compare");
  mt_expect_error_at(&o, "SELECT k FROM m WHERE k IN (SELECT k, v FROM r)", TD_ETYPE, 27,
                     "IN (SELECT ...) must select one column");
  /* the internal readers are not callable with a made-up slot */
  mt_expect_error(&o, "SELECT __subq_value(12345) FROM m", TD_ETYPE, "unknown function '__subq_value'");
  /* a scalar subquery that gains a second row fails the live table */
  r_add(&e, "a", 1, false);
  flush(&e);
  td_table *live = run(&e, "SELECT k FROM m WHERE x > (SELECT x FROM r)", true);
  r_add(&e, "b", 1, false);
  flush(&e);
  td_error err;
  assert_int_equal(td_table_status(live, &err), TD_EFAILED);
  TD_ASSERT_CONTAINS(err.message, "a scalar subquery returned 2 rows");
  td_table_release(live);
  mt_close(&e);
}

static void test_alloc_failures(void **state) {
  (void)state;
  mt_env e;
  env_open(&e);
  r_add(&e, "a", 9, false);
  flush(&e);
  td_query_options o = {.resolver = resolve, .resolver_ctx = &e, .refreshing = true};
  mt_query_alloc_sweep(&o,
                       "SELECT k, v - (SELECT max(v) FROM r) AS d FROM m WHERE v IN (SELECT v FROM r) OR "
                       "EXISTS (SELECT 1 FROM m WHERE s = 's2')",
                       true);
  mt_query_alloc_sweep(&o, "SELECT (SELECT max(s) FROM r) AS a", true);
  mt_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_live_against_static),
      cmocka_unit_test(test_recompute_counter),
      cmocka_unit_test(test_release_in_cycle),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
