/*
 * tests/query/test_window_part.c - the window operator's hashed
 * partitions and per-partition sorts (query/win_part.c) and its walk on
 * several workers: a sliding RANGE sum, count and avg per symbol over 135k
 * rows in three locations (every partition spans them), with ties in the
 * ORDER BY column, null prices, null order values and a null symbol, equal
 * to a brute-force computation in the test at 1 and at 2 threads, read from
 * the source's columns (no WHERE) and from a projection (a WHERE); the
 * order column as int64 with nulls (the general path), without nulls
 * (coalesce: the int64 fast path), as float64, and descending.
 * Windows without ORDER BY (one value per partition, no sort) equal the
 * sort path's (ORDER BY the partition key itself: every row a peer) byte
 * for byte at 1, 2 and 4 threads, partitioned by a string (codes), an
 * int64 (hashed), a bool and a small integer (numbered by value), and none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/sql_window.h"
#include "tabledata.h"
#include "test.h"

enum { NLOC = 3, PER_LOC = 45000, N = NLOC * PER_LOC, NSYM = 7, NTS = 120, WIN = 3 };

typedef struct rows {
  int sym[N];     /* -1: null */
  int ts[N];      /* -1: null */
  int price[N];   /* -1: null */
} rows;

static void make(mt_mem *m, rows *d) {
  unsigned seed = 13;
  static const char *const names[3] = {"sym", "ts", "price"};
  static const td_type_id types[3] = {TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64};
  for (int l = 0; l < NLOC; l++) {
    td_builder *b[3];
    for (int i = 0; i < 3; i++) td_builder_new(types[i], &b[i], NULL);
    for (int r = l * PER_LOC; r < (l + 1) * PER_LOC; r++) {
      int x = rand_r(&seed);
      d->sym[r] = x % 41 == 0 ? -1 : x % NSYM;
      d->ts[r] = (x >> 8) % 53 == 0 ? -1 : (x >> 4) % NTS;
      d->price[r] = (x >> 12) % 11 == 0 ? -1 : (x >> 16) % 100;
      char s[8];
      snprintf(s, sizeof s, "S%d", d->sym[r]);
      if (d->sym[r] < 0) td_builder_append_null(b[0], NULL);
      else td_builder_append_str(b[0], s, -1, NULL);
      if (d->ts[r] < 0) td_builder_append_null(b[1], NULL);
      else td_builder_append_int(b[1], d->ts[r], NULL);
      if (d->price[r] < 0) td_builder_append_null(b[2], NULL);
      else td_builder_append_double(b[2], d->price[r], NULL);
    }
    struct ArrowArray cols[3];
    for (int i = 0; i < 3; i++) {
      td_builder_finish(b[i], &cols[i], NULL);
      td_builder_free(b[i]);
    }
    char loc[8];
    snprintf(loc, sizeof loc, "l%d", l);
    mt_mem_add(m, "t", l == 0, loc, 3, names, types, NULL, cols);
  }
}

/* The expected "sym|ts|price|s|c|a|;" rows in input order: over the rows of
 * the row's symbol whose order value o' is within WIN of its o (o' in
 * [o - WIN, o], or [o, o + WIN] when desc); a null o (null_zero: read as
 * 0) sees the null peers only. */
static char *brute(const rows *d, bool null_zero, bool desc) {
  static long long sum[NSYM + 1][NTS + 1];
  static long long cnt[NSYM + 1][NTS + 1];
  memset(sum, 0, sizeof sum);
  memset(cnt, 0, sizeof cnt);
  for (int r = 0; r < N; r++) { /* per (symbol, order value): index NTS for null */
    int o = d->ts[r] < 0 ? (null_zero ? 0 : NTS) : d->ts[r];
    if (d->price[r] >= 0) sum[d->sym[r] + 1][o] += d->price[r], cnt[d->sym[r] + 1][o]++;
  }
  size_t cap = (size_t)N * 48, len = 0;
  char *out = malloc(cap);
  assert_non_null(out);
  for (int r = 0; r < N; r++) {
    int g = d->sym[r] + 1, o = d->ts[r] < 0 ? (null_zero ? 0 : NTS) : d->ts[r];
    long long s = 0, c = 0;
    if (o == NTS) s = sum[g][NTS], c = cnt[g][NTS];
    else
      for (int k = desc ? o : o - WIN; k <= (desc ? o + WIN : o); k++)
        if (k >= 0 && k < NTS) s += sum[g][k], c += cnt[g][k];
    char sym[8], ts[8], price[8], sv[24], av[32];
    snprintf(sym, sizeof sym, d->sym[r] < 0 ? "null" : "S%d", d->sym[r]);
    snprintf(ts, sizeof ts, d->ts[r] < 0 ? "null" : "%d", d->ts[r]);
    snprintf(price, sizeof price, d->price[r] < 0 ? "null" : "%d", d->price[r]);
    snprintf(sv, sizeof sv, c ? "%lld" : "null", s);
    if (!c) snprintf(av, sizeof av, "null");
    else /* the shortest form that reads back, as the engine prints it */
      for (int p = 1; p <= 17; p++) {
        snprintf(av, sizeof av, "%.*g", p, (double)s / (double)c);
        if (strtod(av, NULL) == (double)s / (double)c) break;
      }
    len += (size_t)snprintf(out + len, cap - len, "%s|%s|%s|%s|%lld|%s|;", sym, ts, price, sv, c, av);
  }
  return out;
}

/* Whether the window operator of sql reads the source's columns itself
 * (td__window_reads_source). */
static int64_t reads_source(mt_mem *m, const char *sql) {
  td_query_options o = mt_mem_options(m, 1);
  td_table *t = NULL;
  td_error err;
  TD_ASSERT_OK(td_query(sql, &o, &t, &err), &err);
  int64_t r = td__window_reads_source(t);
  td_table_release(t);
  return r;
}

/* where: a WHERE keeping every row (the window then reads a projection
 * instead of the source's columns: the same result). */
static void check(mt_mem *m, const rows *d, const char *order, bool null_zero, bool desc, const char *where) {
  char sql[1024], frame[200];
  snprintf(frame, sizeof frame, "OVER (PARTITION BY sym ORDER BY %s%s RANGE BETWEEN %d PRECEDING AND CURRENT ROW)",
           order, desc ? " DESC" : "", WIN);
  snprintf(sql, sizeof sql, "SELECT sym, ts, price, sum(price) %s s, count(price) %s c, avg(price) %s a FROM t%s",
           frame, frame, frame, where);
  /* plain columns without WHERE: straight from the source */
  assert_int_equal(reads_source(m, sql), strcmp(order, "ts") == 0 && !*where ? 3 : 0);
  char *want = brute(d, null_zero, desc);
  for (int threads = 1; threads <= 2; threads++) {
    td_query_options o = mt_mem_options(m, threads);
    char *got = mt_query_text(sql, &o);
    size_t at = 0;
    while (got[at] && got[at] == want[at]) at++;
    if (got[at] || want[at])
      fail_msg("%s at %d threads differs from the brute force at byte %zu:\n  got:  %.80s\n  want: %.80s", sql,
               threads, at, got + (at > 40 ? at - 40 : 0), want + (at > 40 ? at - 40 : 0));
    free(got);
  }
  free(want);
}

static void test_range_partitions(void **state) {
  (void)state;
  static rows d;
  mt_mem m;
  mt_mem_open(&m, 4096); /* pages of 4096 rows: each location in several */
  make(&m, &d);
  check(&m, &d, "ts", false, false, "");               /* nulls: the general path */
  check(&m, &d, "ts", false, false, " WHERE ts IS NULL OR ts >= 0"); /* over a projection */
  check(&m, &d, "coalesce(ts, 0)", true, false, "");   /* no nulls: the int64 path */
  check(&m, &d, "CAST(ts AS DOUBLE)", false, false, ""); /* float keys */
  check(&m, &d, "ts", false, true, "");                /* descending */
  mt_mem_close(&m);
}

/* The whole-partition windows OVER (over) against the same OVER (sorted),
 * the sort path, byte for byte. */
static void check_whole(mt_mem *m, const char *over, const char *sorted, const char *where) {
  static const char *const fns[] = {"sum(price)",   "avg(price)", "count(price)",       "count(*)",
                                    "min(price)",   "max(ts)",    "first_value(price)", "last_value(ts)",
                                    "row_number()", "rank()",     "dense_rank()",       "sum(ts)",
                                    "avg(ts)",      "min(sym)",   "last_value(sym)"};
  char sql[2][4096];
  for (int v = 0; v < 2; v++) {
    int at = snprintf(sql[v], sizeof sql[v], "SELECT sym, ts, price");
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++)
      at += snprintf(sql[v] + at, sizeof sql[v] - (size_t)at, ", %s OVER (%s) AS w%zu", fns[i], v ? sorted : over, i);
    snprintf(sql[v] + at, sizeof sql[v] - (size_t)at, " FROM t%s", where);
  }
  td_query_options o = mt_mem_options(m, 1);
  char *want = mt_query_text(sql[1], &o);
  for (int threads = 1; threads <= 4; threads *= 2) {
    o = mt_mem_options(m, threads);
    char *got = mt_query_text(sql[0], &o);
    size_t at = 0;
    while (got[at] && got[at] == want[at]) at++;
    if (got[at] || want[at])
      fail_msg("%s at %d threads differs from the sort path at byte %zu:\n  got:  %.80s\n  want: %.80s", sql[0],
               threads, at, got + (at > 40 ? at - 40 : 0), want + (at > 40 ? at - 40 : 0));
    free(got);
  }
  free(want);
}

static void test_whole_partitions(void **state) {
  (void)state;
  static rows d;
  mt_mem m;
  mt_mem_open(&m, 4096);
  make(&m, &d);
  /* a string read as codes (a null partition), int64 (hashed), two keys */
  check_whole(&m, "PARTITION BY sym", "PARTITION BY sym ORDER BY sym", "");
  check_whole(&m, "PARTITION BY ts", "PARTITION BY ts ORDER BY ts", "");
  check_whole(&m, "PARTITION BY sym, ts", "PARTITION BY sym, ts ORDER BY ts, sym", "");
  /* a bool and an int32 by value (over a projection); one partition */
  check_whole(&m, "PARTITION BY ts > 60", "PARTITION BY ts > 60 ORDER BY ts > 60", "");
  check_whole(&m, "PARTITION BY CAST(ts AS INTEGER)", "PARTITION BY CAST(ts AS INTEGER) ORDER BY CAST(ts AS INTEGER)",
              " WHERE price IS NULL OR price >= 0");
  check_whole(&m, "", "ORDER BY ts IS NULL AND ts IS NOT NULL", "");
  mt_mem_close(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_range_partitions), cmocka_unit_test(test_whole_partitions)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
