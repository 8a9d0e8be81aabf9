/*
 * tests/query/test_sql_window_live.c - SQL window functions maintained
 * incrementally on a live, append-only table (query/sql_window.c): after
 * random appends and new locations the live result equals the same query
 * over a static table of the final data, for every incremental function
 * and frame, and the operator's counters show that appended rows were
 * computed alone; the cases that must recompute (lead, an appended row
 * sorting before its partition's last, a tie under a peer frame, a removed
 * location) recompute and stay correct; QUALIFY row_number() ... = 1 and
 * DISTINCT ON keep the first row per partition for any appended row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/sql_window.h"
#include "util/alloc.h"
#include "tabledata.h"
#include "test.h"

/* Table "t": partition P (utf8); sym utf8 (5 symbols), ts timestamp (a
 * global counter x 7 s: increasing in arrival order and unique, so that
 * static and live results agree), price float64, qty int64 (nulls). */
typedef struct lenv {
  td_memory_backend *mb;
  td_service *svc;
  unsigned seed;
  int64_t tick;
} lenv;

static void add_rows(lenv *e, const char *part, int64_t n, int64_t back) {
  td_type_id t[4] = {TD_TYPE_UTF8, TD_TYPE_TIMESTAMP, TD_TYPE_FLOAT64, TD_TYPE_INT64};
  td_builder *b[4];
  for (int i = 0; i < 4; i++) td_builder_new(t[i], &b[i], NULL);
  for (int64_t r = 0; r < n; r++) {
    int64_t x = rand_r(&e->seed) % 1000;
    char s[8];
    snprintf(s, sizeof s, "s%lld", (long long)(x % 5));
    td_builder_append_str(b[0], s, -1, NULL);
    td_builder_append_int(b[1], (++e->tick - back) * 7000000000LL + (back ? 3000000000LL : 0), NULL);
    td_builder_append_double(b[2], (double)(x % 97) / 4.0, NULL);
    if (x % 9 == 0) td_builder_append_null(b[3], NULL);
    else td_builder_append_int(b[3], x % 50 - 10, NULL);
  }
  mt_put_builders(e->mb, "t", part, b, 4);
}

static void lenv_open(lenv *e) {
  td_error err;
  memset(e, 0, sizeof *e);
  e->seed = 11;
  TD_ASSERT_OK(td_memory_backend_new(&e->mb, &err), &err);
  const char *names[4] = {"sym", "ts", "price", "qty"}, *pn = "P";
  td_type_id types[4] = {TD_TYPE_UTF8, TD_TYPE_TIMESTAMP, TD_TYPE_FLOAT64, TD_TYPE_INT64}, pt = TD_TYPE_UTF8;
  struct ArrowSchema ds, ps;
  td_schema_make(4, names, types, NULL, &ds, NULL);
  td_schema_make(1, &pn, &pt, NULL, &ps, NULL);
  TD_ASSERT_OK(td_memory_backend_add_table(e->mb, "t", &ds, &ps, &err), &err);
  TD_ASSERT_OK(td_memory_backend_set_update_mode(e->mb, "t", TD_UPDATE_ADD_REMOVE, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  add_rows(e, "a", 40, 0);
  add_rows(e, "b", 25, 0);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 16;
  o.update_period_ms = 3600 * 1000; /* cycles only on flush */
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(e->mb), &o, &e->svc, &err), &err);
}

static void lenv_close(lenv *e) {
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
}

static int resolve_t(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key,
                     td_error *err) {
  lenv *e = ctx;
  (void)is_path;
  (void)name;
  *svc = td_service_retain(e->svc);
  return td_table_key_new("t", key, err);
}

static td_table *query(lenv *e, const char *sql, bool refreshing) {
  td_query_options o;
  td_query_options_init(&o);
  o.resolver = resolve_t;
  o.resolver_ctx = e;
  o.refreshing = refreshing;
  td_error err;
  td_table *t = NULL;
  int rc = td_query(sql, &o, &t, &err);
  if (rc) fail_msg("%s: %s", sql, err.message);
  return t;
}

/* What a cycle does to the table. */
enum { APPEND, NEW_LOCATION, OUT_OF_ORDER, REMOVE };

static void change(lenv *e, int what, int cycle) {
  static const char *const parts[] = {"a", "c", "a"}; /* b: removed below */
  char part[16];
  switch (what) {
    case APPEND: add_rows(e, parts[rand_r(&e->seed) % 3], 1 + rand_r(&e->seed) % 30, 0); break;
    case NEW_LOCATION:
      snprintf(part, sizeof part, "n%d", cycle);
      add_rows(e, part, 1 + rand_r(&e->seed) % 10, 0);
      break;
    case OUT_OF_ORDER: add_rows(e, "a", 5, 40); break; /* 40 ticks back: before their symbols' last rows */
    default: {
      td_error err;
      td_location_key *k = mt_pkey("b");
      TD_ASSERT_OK(td_memory_backend_remove_location(e->mb, "t", k, &err), &err);
      td_location_key_release(k);
    }
  }
}

/* Runs sql live through `n` cycles of `script`, comparing with the static
 * query after each; returns the window operator's incremental cycles and
 * (*recomputed) its recomputes. */
static int64_t run_live(const char *sql, const int *script, int n, int64_t *recomputed) {
  lenv e;
  lenv_open(&e);
  td_table *live = query(&e, sql, true);
  for (int cycle = 0; cycle < n; cycle++) {
    change(&e, script[cycle], cycle);
    td_error err;
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    td_table *fixed = query(&e, sql, false);
    mt_assert_same_rows(live, fixed, true);
    td_table_release(fixed);
  }
  int64_t inc = td__window_stats(live, recomputed);
  td_table_release(live);
  lenv_close(&e);
  return inc;
}

#define PS "PARTITION BY sym ORDER BY ts"

static const char *const incremental[] = {
    /* ranking, lag, first_value (rank over a coarser key: ties) */
    "SELECT sym, ts, price, qty, row_number() OVER (" PS ") rn, rank() OVER (PARTITION BY sym ORDER BY "
    "date_trunc('minute', ts)) rk, dense_rank() OVER (PARTITION BY sym ORDER BY date_trunc('minute', ts)) dr, "
    "lag(price) OVER (" PS ") l1, lag(qty, 2, -1) OVER (" PS ") l2, lag(sym, 3) OVER (" PS ") l3, "
    "first_value(price) OVER (" PS ") fv, last_value(qty) OVER (" PS ") lv, last_value(price) OVER (" PS
    " ROWS 3 PRECEDING) lr FROM t",
    /* cumulative: the default frame and UNBOUNDED PRECEDING */
    "SELECT sym, ts, sum(qty) OVER (" PS ") s, avg(price) OVER (" PS " ROWS BETWEEN UNBOUNDED PRECEDING AND "
    "CURRENT ROW) a, count(qty) OVER (" PS ") c, count(*) OVER (" PS ") cs, min(price) OVER (" PS ") mn, "
    "max(qty) OVER (" PS " ROWS UNBOUNDED PRECEDING) mx, sum(price) OVER (" PS ") sp FROM t",
    /* rolling by rows */
    "SELECT sym, ts, sum(price) OVER (" PS " ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) s, avg(qty) OVER (" PS
    " ROWS 2 PRECEDING) a, min(qty) OVER (" PS " ROWS 4 PRECEDING) mn, max(price) OVER (" PS
    " ROWS 4 PRECEDING) mx, count(qty) OVER (" PS " ROWS 1 PRECEDING) c, first_value(qty) OVER (" PS
    " ROWS 2 PRECEDING) f FROM t",
    /* rolling by time */
    "SELECT sym, ts, avg(price) OVER (" PS " RANGE INTERVAL 1 MINUTE PRECEDING) a, sum(qty) OVER (" PS
    " RANGE BETWEEN INTERVAL 90 SECOND PRECEDING AND CURRENT ROW) s, min(price) OVER (" PS
    " RANGE INTERVAL 2 MINUTE PRECEDING) mn, max(qty) OVER (" PS " RANGE INTERVAL 1 MINUTE PRECEDING) mx, "
    "count(*) OVER (" PS " RANGE INTERVAL 1 MINUTE PRECEDING) c, first_value(price) OVER (" PS
    " RANGE INTERVAL 30 SECOND PRECEDING) f FROM t",
    /* several partition keys, WHERE, a window in an expression, no PARTITION BY */
    "SELECT P, sym, ts, 2 * sum(qty) OVER (PARTITION BY P, sym ORDER BY ts) s, row_number() OVER (ORDER BY ts) rn, "
    "lag(price) OVER (ORDER BY ts) lg FROM t WHERE qty IS NOT NULL",
    /* QUALIFY over an incremental window: the first two rows per symbol */
    "SELECT sym, ts, price FROM t QUALIFY row_number() OVER (" PS ") <= 2",
};

/* Appends and new locations: every cycle incremental, every result right. */
static void test_appends(void **state) {
  (void)state;
  static const int script[] = {APPEND, APPEND, NEW_LOCATION, APPEND, NEW_LOCATION, APPEND, APPEND, APPEND};
  int n = (int)(sizeof script / sizeof *script);
  for (size_t q = 0; q < sizeof incremental / sizeof *incremental; q++) {
    int64_t rec = -1, inc = run_live(incremental[q], script, n, &rec);
    /* (a cycle whose rows WHERE drops all does not reach the window) */
    if (inc < n - 1 || inc > n || rec != 1)
      fail_msg("%s: %lld incremental cycles and %lld recomputes, expected %d and 1 (the fill)", incremental[q],
               (long long)inc, (long long)rec, n);
  }
}

/* An appended row before its partition's last, and a removed location,
 * recompute that cycle (correctly); later appends are incremental again. */
static void test_fallback_cycles(void **state) {
  (void)state;
  static const int script[] = {APPEND, OUT_OF_ORDER, APPEND, REMOVE, APPEND, NEW_LOCATION};
  for (size_t q = 0; q < sizeof incremental / sizeof *incremental; q++) {
    int64_t rec = -1, inc = run_live(incremental[q], script, 6, &rec);
    if (inc < 3 || inc > 4 || rec != 3)
      fail_msg("%s: %lld incremental cycles and %lld recomputes, expected 4 and 3", incremental[q], (long long)inc,
               (long long)rec);
  }
}

/* Functions whose earlier rows change on append always recompute (lead, no
 * ORDER BY, a DESC order on the ascending ts); a tie under a peer frame
 * (sum over the minute: the new row joins the last row's frame) recomputes
 * its cycle. */
static void test_recomputing(void **state) {
  (void)state;
  static const int script[] = {APPEND, NEW_LOCATION, APPEND, APPEND};
  static const char *const always[] = {
      "SELECT sym, ts, lead(price) OVER (" PS ") ld, row_number() OVER (" PS ") rn FROM t",
      "SELECT sym, ts, sum(qty) OVER (PARTITION BY sym) s FROM t",
      "SELECT sym, ts, price FROM t QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC) <= 2",
  };
  for (size_t q = 0; q < sizeof always / sizeof *always; q++) {
    int64_t rec = -1, inc = run_live(always[q], script, 4, &rec);
    if (inc != 0 || rec != 5)
      fail_msg("%s: %lld incremental, %lld recomputes", always[q], (long long)inc, (long long)rec);
  }
  int64_t rec = -1;
  int64_t inc = run_live("SELECT sym, ts, sum(qty) OVER (PARTITION BY sym ORDER BY date_trunc('minute', ts)) s FROM t",
                         script, 4, &rec);
  if (rec < 2 || inc + rec != 5)
    fail_msg("a peer frame with ties: %lld incremental, %lld recomputes", (long long)inc, (long long)rec);
}

/* QUALIFY row_number() ... = 1 (and DISTINCT ON): the first row per
 * partition, incremental for any appended row (older ones too); only the
 * removal recomputes. */
static void test_first_row(void **state) {
  (void)state;
  static const int script[] = {APPEND, OUT_OF_ORDER, APPEND, NEW_LOCATION, REMOVE, APPEND, APPEND};
  static const char *const first[] = {
      "SELECT sym, ts, price FROM t QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC) = 1",
      "SELECT * FROM t QUALIFY 1 = row_number() OVER (PARTITION BY sym ORDER BY price DESC, ts)",
      ("SELECT sym, P, qty, row_number() OVER (PARTITION BY sym, P ORDER BY qty NULLS FIRST, ts) rn FROM t "
       "QUALIFY rn = 1"),
      "SELECT DISTINCT ON (sym) sym, ts, price FROM t ORDER BY sym, ts DESC",
      "SELECT sym, ts FROM t QUALIFY row_number() OVER (ORDER BY ts) = 1",
  };
  for (size_t q = 0; q < sizeof first / sizeof *first; q++) {
    int64_t rec = -1, inc = run_live(first[q], script, 7, &rec);
    if (inc != 6 || rec != 2)
      fail_msg("%s: %lld incremental, %lld recomputes", first[q], (long long)inc, (long long)rec);
  }
}

/* An allocation failing anywhere in an incremental cycle fails the live
 * table cleanly (nothing leaked or half-published: ASan); once the cycle
 * succeeds the result is right. */
static void test_alloc_failures(void **state) {
  (void)state;
  static const char *const sql[] = {
      "SELECT sym, ts, avg(price) OVER (" PS " RANGE INTERVAL 1 MINUTE PRECEDING) a, min(qty) OVER (" PS
      " ROWS 3 PRECEDING) m, lag(sym) OVER (" PS ") l FROM t",
      "SELECT sym, ts, price FROM t QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC) = 1",
  };
  for (size_t q = 0; q < sizeof sql / sizeof *sql; q++) {
    int failed = 0;
    for (int64_t n = 0;; n++) {
      lenv e;
      lenv_open(&e);
      td_table *live = query(&e, sql[q], true);
      add_rows(&e, "a", 20, 0);
      add_rows(&e, "n", 5, 0);
      td_error err;
      td__alloc_fail_after(n);
      td_service_flush(e.svc, 10000, &err);
      td__alloc_fail_after(-1);
      bool ok = td_table_status(live, &err) == TD_OK;
      if (ok) {
        td_table *fixed = query(&e, sql[q], false);
        mt_assert_same_rows(live, fixed, true);
        td_table_release(fixed);
      }
      failed += !ok;
      td_table_release(live);
      lenv_close(&e);
      if (ok && n > 0 && failed > 0) break;
      if (n > 5000) fail_msg("%s: no cycle succeeded", sql[q]);
    }
    assert_true(failed > 0);
  }
}

/* A static query keeps no state and counts its one computation. */
static void test_static(void **state) {
  (void)state;
  lenv e;
  lenv_open(&e);
  td_table *t = query(&e, incremental[0], false);
  int64_t rec = -1;
  assert_int_equal(td__window_stats(t, &rec), 0);
  assert_int_equal(rec, 1);
  td_table_release(t);
  td_table *plain = query(&e, "SELECT sym FROM t", false);
  assert_int_equal(td__window_stats(plain, NULL), -1);
  td_table_release(plain);
  lenv_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_appends),
      cmocka_unit_test(test_fallback_cycles),
      cmocka_unit_test(test_recomputing),
      cmocka_unit_test(test_first_row),
      cmocka_unit_test(test_static),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
