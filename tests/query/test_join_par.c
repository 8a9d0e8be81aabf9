/*
 * tests/query/test_join_par.c - static joins probed in parallel
 * (query/join.c, static_join): hash joins (inner, left, semi, anti, one and
 * two keys, string and integer keys with nulls, duplicate right keys) and
 * as-of joins give the same rows, in the same order, with 1, 2 and 4
 * threads; on a Parquet copy of the left table (dictionary-encoded string
 * keys, a dictionary per row group) as on the memory table; on a hive tree
 * whose key is its partition column; with an empty side; and the counts
 * equal a reference computed here.  Allocation failures leave no table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/join.h"
#include "table/table.h"
#include "tabledata.h"
#include "mtable.h"
#include "test.h"

enum { NLOC = 5, NREF = 34 };
static const int64_t loc_rows[NLOC] = {3000, 0, 1, 5000, 2500};

/* Left row i: k "k<i*7 % 41>" (every 13th null; keys 24..29 longer than
 * the 8 bytes of a word, keys >= 30 longer than the 16 bytes a join group
 * holds inline), n = i % 9 (every 11th null), ts. */
static bool lk_null(int64_t i) { return i % 13 == 5; }
static int lk(int64_t i) { return (int)(i * 7 % 41); }
static void key_text(int k, char *buf, size_t size) {
  snprintf(buf, size, k >= 30 ? "k%d-a-key-longer-than-16-bytes" : k >= 24 ? "k%d-medium" : "k%d", k);
}

/* Right row j: keys k0..k31 once, k5 and k33 twice, a null key, "zz". */
static int rk(int64_t j) { return j < 32 ? (int)j : j == 32 ? 5 : j == 33 ? 33 : -1; }

static void add_left(mt_mem *m, const char *table, const int64_t *rows, int nloc) {
  const char *names[4] = {"id", "k", "n", "ts"};
  td_type_id types[4] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_TIMESTAMP};
  int64_t id = 0;
  for (int l = 0; l < nloc; l++) {
    td_builder *b[4];
    for (int c = 0; c < 4; c++) td_builder_new(types[c], &b[c], NULL);
    for (int64_t r = 0; r < rows[l]; r++, id++) {
      char buf[64];
      key_text(lk(id), buf, sizeof buf);
      td_builder_append_int(b[0], id, NULL);
      if (lk_null(id)) td_builder_append_null(b[1], NULL);
      else td_builder_append_str(b[1], buf, -1, NULL);
      if (id % 11 == 3) td_builder_append_null(b[2], NULL);
      else td_builder_append_int(b[2], id % 9, NULL);
      td_builder_append_int(b[3], id * 1000 + id % 7, NULL);
    }
    struct ArrowArray cols[4];
    for (int c = 0; c < 4; c++) {
      td_builder_finish(b[c], &cols[c], NULL);
      td_builder_free(b[c]);
    }
    char loc[16];
    snprintf(loc, sizeof loc, "L%d", l);
    mt_mem_add(m, table, l == 0, loc, 4, names, types, NULL, cols);
  }
}

static void add_right(mt_mem *m, const char *table, int64_t n) {
  const char *names[4] = {"k", "n", "w", "ts"};
  td_type_id types[4] = {TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_TIMESTAMP};
  td_builder *b[4];
  for (int c = 0; c < 4; c++) td_builder_new(types[c], &b[c], NULL);
  for (int64_t j = 0; j < n; j++) {
    char buf[64];
    if (j == NREF - 1) snprintf(buf, sizeof buf, "zz");
    else key_text(rk(j), buf, sizeof buf);
    if (j == NREF - 2) td_builder_append_null(b[0], NULL);
    else td_builder_append_str(b[0], buf, -1, NULL);
    td_builder_append_int(b[1], j % 5, NULL);
    td_builder_append_int(b[2], 100 + j, NULL);
    td_builder_append_int(b[3], (j * 977) % 10000 * 1000, NULL);
  }
  struct ArrowArray cols[4];
  for (int c = 0; c < 4; c++) {
    td_builder_finish(b[c], &cols[c], NULL);
    td_builder_free(b[c]);
  }
  mt_mem_add(m, table, true, "R0", 4, names, types, NULL, cols);
}

/* A reference table on k: row j's key k<j> (with `dups`, k5 and k7 twice at the end),
 * its sector "sec<j % 4>" (repeated strings, no nulls) and lot j; with
 * `null_row`, one more row whose key and sector are null (it never
 * matches, but a right column with a null is gathered as strings, not
 * handed on as codes: the reference answers). */
static void add_sectors(mt_mem *m, const char *table, int64_t n, bool null_row, bool dups) {
  const char *names[3] = {"k", "sec", "lot"};
  td_type_id types[3] = {TD_TYPE_UTF8, TD_TYPE_UTF8, TD_TYPE_INT64};
  td_builder *b[3];
  for (int c = 0; c < 3; c++) td_builder_new(types[c], &b[c], NULL);
  for (int64_t j = 0; j < n + null_row; j++) {
    char buf[64], sec[16];
    key_text(!dups ? (int)j : j == n - 2 ? 5 : j == n - 1 ? 7 : (int)j, buf, sizeof buf);
    snprintf(sec, sizeof sec, "sec%d", (int)(j % 4));
    if (j == n) {
      td_builder_append_null(b[0], NULL);
      td_builder_append_null(b[1], NULL);
    } else {
      td_builder_append_str(b[0], buf, -1, NULL);
      td_builder_append_str(b[1], sec, -1, NULL);
    }
    td_builder_append_int(b[2], j, NULL);
  }
  struct ArrowArray cols[3];
  for (int c = 0; c < 3; c++) {
    td_builder_finish(b[c], &cols[c], NULL);
    td_builder_free(b[c]);
  }
  mt_mem_add(m, table, true, "S0", 3, names, types, NULL, cols);
}

typedef struct env {
  mt_mem m;
  char pq[512];  /* the left table as one Parquet file */
  char hive[512]; /* ... as a hive tree partitioned by n */
} env;

static void env_open(env *e) {
  memset(e, 0, sizeof *e);
  mt_mem_open(&e->m, 400); /* many pages: many units of parallel work */
  mt_mem_paths(&e->m, 300);
  add_left(&e->m, "t", loc_rows, NLOC);
  add_right(&e->m, "r", NREF);
  add_right(&e->m, "e", 0);
  add_sectors(&e->m, "rs", 34, false, true);
  add_sectors(&e->m, "rsn", 34, true, true);
  add_sectors(&e->m, "ra", 41, false, false); /* every left key once */
  int64_t none[1] = {0};
  add_left(&e->m, "te", none, 1);
  snprintf(e->pq, sizeof e->pq, "%s", td_test_scratch_path("t.parquet"));
  snprintf(e->hive, sizeof e->hive, "%s", td_test_scratch_path("thive"));
  char sql[1200];
  snprintf(sql, sizeof sql, "COPY (SELECT * FROM t) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 1700, OVERWRITE)", e->pq);
  free(mt_mem_text(&e->m, sql));
  snprintf(sql, sizeof sql, "COPY (SELECT * FROM t WHERE n IS NOT NULL) TO '%s' (FORMAT parquet, PARTITION_BY (n), OVERWRITE)",
           e->hive);
  free(mt_mem_text(&e->m, sql));
}

static char *run(env *e, const char *sql, int threads) {
  td_query_options qo = mt_mem_options(&e->m, threads);
  return mt_query_text(sql, &qo);
}

/* sql (its left table written T) on source `src` with 1, 2 and 4 threads:
 * the same text; returns it (caller frees). */
static char *same_threads(env *e, const char *sql, const char *src) {
  char q[2048];
  const char *at = strstr(sql, " T ");
  assert_non_null(at);
  snprintf(q, sizeof q, "%.*s %s %s", (int)(at - sql), sql, src, at + 3);
  char *one = run(e, q, 1);
  for (int th = 2; th <= 4; th += 2) {
    char *more = run(e, q, th);
    if (strcmp(one, more) != 0) fail_msg("%s\n  1 thread:  %.300s\n  %d threads: %.300s", q, one, th, more);
    free(more);
  }
  return one;
}

/* sql on the memory table and on its Parquet copy, 1, 2 and 4 threads each:
 * all the same text; returns it (caller frees). */
static char *same_everywhere(env *e, const char *sql) {
  char src[600];
  char *mem = same_threads(e, sql, "t");
  snprintf(src, sizeof src, "'%s'", e->pq);
  char *pq = same_threads(e, sql, src);
  if (strcmp(mem, pq) != 0) fail_msg("%s\n  memory:  %.300s\n  parquet: %.300s", sql, mem, pq);
  free(pq);
  return mem;
}

static const char *const queries[] = {
    "SELECT a.id, a.k, b.w FROM T a JOIN r b USING (k)",
    "SELECT a.id, a.k, b.w, b.ts FROM T a LEFT JOIN r b USING (k)",
    "SELECT a.id, b.w FROM T a JOIN r b ON a.n = b.n",
    "SELECT a.id, b.w FROM T a LEFT JOIN r b USING (k, n)",
    "SELECT a.id, a.ts, b.w FROM T a ASOF JOIN r b ON a.k = b.k AND a.ts >= b.ts",
    "SELECT a.id, b.w FROM T a ASOF JOIN r b ON a.n = b.n AND a.ts > b.ts",
    "SELECT a.id, b.w FROM T a LEFT JOIN e b USING (k)",
    "SELECT a.id, b.w FROM T a JOIN e b USING (k)",
};

/* Every form: the same rows in the same order at every thread count, on
 * the memory table and on its dictionary-encoded Parquet copy. */
static void test_threads_and_dictionaries(void **state) {
  (void)state;
  env e;
  env_open(&e);
  for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) free(same_everywhere(&e, queries[i]));
  /* an empty left side */
  char *t = same_threads(&e, "SELECT a.id, b.w FROM T a JOIN r b USING (k)", "te");
  assert_string_equal(t, "");
  free(t);
  mt_mem_close(&e.m);
}

/* Whether this run reads Parquet dictionaries as codes (ctest runs the
 * program twice: as is, and with TD_PARQUET_DICT_CODES=0). */
static bool codes_on(void) {
  const char *e = getenv("TD_PARQUET_DICT_CODES");
  return !(e && strcmp(e, "0") == 0);
}

/* A SQL join narrows each side to the columns the query reads (a view,
 * query/sql_from.c); the view hands the Parquet key's dictionary codes on,
 * so the join hashes each dictionary entry once (its per-entry counter
 * moves) -- hash and as-of joins, 1, 2 and 4 threads, the same results as
 * on the memory table; with codes off the counter stays. */
static void test_sql_join_keeps_codes(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const forms[] = {
      "SELECT count(*), sum(b.w) FROM T a JOIN r b USING (k)",
      "SELECT a.k, count(*) AS c, sum(b.w) AS s FROM T a LEFT JOIN r b USING (k) GROUP BY a.k ORDER BY a.k",
      "SELECT a.id, a.k, b.w FROM T a ASOF JOIN r b ON a.k = b.k AND a.ts >= b.ts ORDER BY a.id",
      "SELECT a.n, count(*) AS c FROM T a JOIN r b USING (k) WHERE b.n > 1 GROUP BY a.n ORDER BY a.n",
  };
  char src[600];
  snprintf(src, sizeof src, "'%s'", e.pq);
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    char *mem = same_threads(&e, forms[i], "t");
    int64_t d0 = td__join_dict_chunks();
    char *pq = same_threads(&e, forms[i], src);
    if (codes_on()) assert_true(td__join_dict_chunks() > d0);
    else assert_int_equal(td__join_dict_chunks(), d0);
    if (strcmp(mem, pq) != 0) fail_msg("%s\n  memory:  %.300s\n  parquet: %.300s", forms[i], mem, pq);
    free(mem);
    free(pq);
  }
  mt_mem_close(&e.m);
}

/* A static join hands on the left columns of a chunk whose rows each
 * matched once as the chunk's own views (codes too), and a right string
 * column without nulls as codes into a copy of it (build_chunk): grouping,
 * filtering, distinct counts, min/max, windows, sorting and printing them
 * give the answers of the gathered strings (the same right table with a
 * null row, which no left row matches), inner and left, with duplicate
 * right keys, on the memory table and its Parquet copy, 1 to 4 threads. */
static void test_right_codes(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const forms[] = {
      "SELECT b.sec, count(*) AS c, sum(a.n) AS s FROM T a JOIN X b USING (k) GROUP BY b.sec ORDER BY 1",
      "SELECT b.sec, count(*) AS c FROM T a LEFT JOIN X b USING (k) GROUP BY b.sec ORDER BY 1",
      "SELECT a.id, a.k, b.sec, b.lot FROM T a JOIN X b USING (k) ORDER BY a.id, b.lot",
      "SELECT a.id, a.k, b.sec FROM T a LEFT JOIN X b USING (k) ORDER BY a.id, b.sec",
      "SELECT b.sec, count(DISTINCT a.k) AS d FROM T a JOIN X b USING (k) GROUP BY b.sec ORDER BY 1",
      /* (the condition on b alone filters b before the join: it keeps the null row) */
      "SELECT a.id, b.sec FROM T a JOIN X b USING (k) WHERE coalesce(b.sec, 'sec1') = 'sec1' AND a.id % 7 = 2 "
      "ORDER BY a.id",
      "SELECT b.sec, a.id FROM T a JOIN X b USING (k) QUALIFY row_number() OVER (PARTITION BY sec ORDER BY id DESC) = 1 ORDER BY 1",
      "SELECT min(b.sec) AS lo, max(b.sec) AS hi, count(DISTINCT b.sec) AS d FROM T a JOIN X b USING (k)",
      "SELECT * FROM T a JOIN X b USING (k) ORDER BY a.id DESC, b.lot LIMIT 40",
      "SELECT upper(b.sec) AS u, count(*) AS c FROM T a JOIN X b ON a.k = b.k GROUP BY u ORDER BY u",
  };
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    char sql[2][600];
    for (int v = 0; v < 2; v++) {
      const char *x = strstr(forms[i], " X ");
      snprintf(sql[v], sizeof sql[v], "%.*s %s %s", (int)(x - forms[i]), forms[i], v ? "rsn" : "rs", x + 3);
    }
    int64_t r0 = td__join_right_codes();
    char *codes = same_everywhere(&e, sql[0]);
    int64_t r1 = td__join_right_codes();
    char *plain = same_everywhere(&e, sql[1]);
    assert_true(r1 > r0);                           /* the codes were handed on */
    assert_int_equal(td__join_right_codes(), r1); /* not with a null in the column */
    if (strcmp(codes, plain) != 0) fail_msg("%s\n  codes: %.300s\n  plain: %.300s", sql[0], codes, plain);
    assert_true(strlen(codes) > 10);
    free(codes);
    free(plain);
  }
  mt_mem_close(&e.m);
}

/* An aggregation over one inner or left join of static tables folds the
 * left chunks joined one at a time (td__join_deferred, td__join_fold) and
 * never makes the join: the answers of the same join read through a
 * subquery (made whole), with null keys, keys the right side lacks,
 * duplicate right keys, string and integer keys, one and two keys, on the
 * memory table and its Parquet copy (a dictionary per row group), 1 to 4
 * threads.  An aggregation that reads the join otherwise (string_agg in
 * order) makes it after all, with the same answers. */
static void test_fold_join(void **state) {
  (void)state;
  env e;
  env_open(&e);
  static const char *const forms[][2] = {
      {"SELECT b.sec, count(*) AS c, sum(a.n) AS s, min(a.id) AS lo, max(a.ts) AS hi FROM T a JOIN rs b USING (k) "
       "GROUP BY b.sec ORDER BY 1",
       "SELECT sec, count(*) AS c, sum(n) AS s, min(id) AS lo, max(ts) AS hi FROM (SELECT * FROM T a JOIN rs b "
       "USING (k)) x GROUP BY sec ORDER BY 1"},
      {"SELECT a.n, count(*) AS c, count(b.sec) AS cs, sum(b.lot) AS l FROM T a LEFT JOIN rs b USING (k) "
       "GROUP BY a.n ORDER BY 1",
       "SELECT n, count(*) AS c, count(sec) AS cs, sum(lot) AS l FROM (SELECT * FROM T a LEFT JOIN rs b USING (k)) x "
       "GROUP BY n ORDER BY 1"},
      {"SELECT count(*) AS c, sum(b.lot) AS l, count(DISTINCT a.k) AS d FROM T a JOIN rs b USING (k) WHERE a.n > 2",
       "SELECT count(*) AS c, sum(lot) AS l, count(DISTINCT k) AS d FROM (SELECT * FROM T a JOIN rs b USING (k)) x "
       "WHERE n > 2"},
      {"SELECT b.sec, first(a.id) AS f, last(a.id) AS l FROM T a JOIN rs b USING (k) GROUP BY b.sec ORDER BY 1",
       "SELECT sec, first(id) AS f, last(id) AS l FROM (SELECT * FROM T a JOIN rs b USING (k)) x GROUP BY sec "
       "ORDER BY 1"},
      {"SELECT b.w, count(*) AS c, sum(a.id) AS s FROM T a JOIN r b ON a.n = b.n GROUP BY b.w ORDER BY 1",
       "SELECT w, count(*) AS c, sum(id) AS s FROM (SELECT a.id, b.w FROM T a JOIN r b ON a.n = b.n) x GROUP BY w "
       "ORDER BY 1"},
      {"SELECT count(*) AS c, sum(b.w) AS s, count(b.w) AS m FROM T a LEFT JOIN r b USING (k, n)",
       "SELECT count(*) AS c, sum(w) AS s, count(w) AS m FROM (SELECT a.id, b.w FROM T a LEFT JOIN r b USING (k, n)) x"},
      {"SELECT a.n, count(*) AS c FROM T a JOIN rs b USING (k) GROUP BY a.n HAVING count(*) > 100 ORDER BY 1",
       "SELECT n, count(*) AS c FROM (SELECT * FROM T a JOIN rs b USING (k)) x GROUP BY n HAVING count(*) > 100 "
       "ORDER BY 1"},
      {"SELECT count(*) AS c FROM T a JOIN e b USING (k)",
       "SELECT count(*) AS c FROM (SELECT * FROM T a JOIN e b USING (k)) x"},
  };
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    int64_t f0 = td__join_fold_chunks();
    char *folded = same_everywhere(&e, forms[i][0]);
    int64_t f1 = td__join_fold_chunks();
    char *whole = same_everywhere(&e, forms[i][1]);
    if (strstr(forms[i][0], " e b ") == NULL) assert_true(f1 > f0); /* folded, never made */
    assert_int_equal(td__join_fold_chunks(), f1);                    /* a subquery's join is made */
    if (strcmp(folded, whole) != 0) fail_msg("%s\n  folded: %.300s\n  whole:  %.300s", forms[i][0], folded, whole);
    free(folded);
    free(whole);
  }
  /* read in order by string_agg's sort: the join is made, whole */
  int64_t f0 = td__join_fold_chunks();
  char *made = same_everywhere(&e, "SELECT b.sec, string_agg(a.k, ',' ORDER BY a.id DESC) AS s FROM T a JOIN rs b "
                                   "USING (k) WHERE a.id < 300 GROUP BY b.sec ORDER BY 1");
  char *whole = same_everywhere(&e, "SELECT sec, string_agg(k, ',' ORDER BY id DESC) AS s FROM (SELECT * FROM T a "
                                    "JOIN rs b USING (k)) x WHERE id < 300 GROUP BY sec ORDER BY 1");
  assert_string_equal(made, whole);
  assert_true(strlen(made) > 100);
  (void)f0;
  free(made);
  free(whole);
  mt_mem_close(&e.m);
}

/* A folded join whose key is dictionary codes looks each row group's
 * dictionary up once: a chunk's concatenated dictionary takes the entries
 * of the parts the chunk before had (td__join_dict_carried moves), and a
 * chunk whose rows each found one right row is handed on without a scan of
 * its pairs.  The answers of the memory table, 1, 2 and 4 threads: on
 * Parquet files whose row groups' dictionaries differ (entries in another
 * order) or are byte-equal, with and without null keys, on a hive tree
 * (a file per location); right tables holding every left key once, some
 * keys twice (counts multiply), keys the left side lacks, a null row. */
static void test_fold_dictionaries(void **state) {
  (void)state;
  env e;
  env_open(&e);
  char nn[512], eq[512], sql[1200];
  snprintf(nn, sizeof nn, "%s", td_test_scratch_path("tnn.parquet"));
  snprintf(eq, sizeof eq, "%s", td_test_scratch_path("teq.parquet"));
  snprintf(sql, sizeof sql, "COPY (SELECT * FROM t WHERE k IS NOT NULL) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 1700, OVERWRITE)", nn);
  free(mt_mem_text(&e.m, sql));
  /* keys repeat every 41 rows: row groups of 41 * 41 rows list them in the same order */
  snprintf(sql, sizeof sql, "COPY (SELECT * FROM t WHERE k IS NOT NULL) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 1681, OVERWRITE)", eq);
  free(mt_mem_text(&e.m, sql));
  char src[5][600], ref[5][80];
  snprintf(src[0], sizeof src[0], "'%s'", e.pq);
  snprintf(ref[0], sizeof ref[0], "t");
  snprintf(src[1], sizeof src[1], "'%s'", nn);
  snprintf(ref[1], sizeof ref[1], "(SELECT * FROM t WHERE k IS NOT NULL)");
  snprintf(src[2], sizeof src[2], "'%s'", eq);
  snprintf(ref[2], sizeof ref[2], "(SELECT * FROM t WHERE k IS NOT NULL)");
  snprintf(src[3], sizeof src[3], "'%s'", e.hive);
  snprintf(ref[3], sizeof ref[3], "(SELECT * FROM t WHERE n IS NOT NULL)");
  snprintf(src[4], sizeof src[4], "t");
  snprintf(ref[4], sizeof ref[4], "(SELECT * FROM t)");
  static const char *const forms[] = {
      "SELECT count(*) AS c, sum(b.lot) AS l FROM T a JOIN X b USING (k)",
      "SELECT b.sec, count(*) AS c, sum(a.id) AS s, min(a.ts) AS lo FROM T a JOIN X b USING (k) GROUP BY b.sec ORDER BY 1",
      "SELECT count(*) AS c, count(b.lot) AS m, sum(b.lot) AS l, count(b.sec) AS cs FROM T a LEFT JOIN X b USING (k)",
      "SELECT a.k, count(*) AS c, sum(b.lot) AS l FROM T a JOIN X b USING (k) GROUP BY a.k ORDER BY 1",
  };
  static const char *const rights[] = {"ra", "rs", "rsn"};
  int64_t c0 = td__join_dict_carried();
  for (size_t f = 0; f < sizeof forms / sizeof *forms; f++)
    for (size_t r = 0; r < sizeof rights / sizeof *rights; r++) {
      char q[600];
      const char *x = strstr(forms[f], " X ");
      snprintf(q, sizeof q, "%.*s %s %s", (int)(x - forms[f]), forms[f], rights[r], x + 3);
      for (int s = 0; s < 5; s++) {
        int64_t f0 = td__join_fold_chunks();
        char *got = same_threads(&e, q, src[s]);
        assert_true(td__join_fold_chunks() > f0); /* folded */
        char *want = same_threads(&e, q, ref[s]);
        if (strcmp(got, want) != 0) fail_msg("%s on %s\n  folded: %.300s\n  memory: %.300s", q, src[s], got, want);
        assert_true(strlen(got) > 8);
        free(got);
        free(want);
      }
    }
  if (codes_on()) assert_true(td__join_dict_carried() > c0);
  else assert_int_equal(td__join_dict_carried(), c0);
  mt_mem_close(&e.m);
}

/* Counts and sums against a reference computed from the generated rows:
 * duplicate right keys give two rows, null keys none. */
static void test_reference(void **state) {
  (void)state;
  env e;
  env_open(&e);
  int64_t n = 0, sw = 0, n_left = 0, n_anti = 0;
  for (int64_t i = 0; i < 10501; i++) {
    int64_t hits = 0;
    for (int64_t j = 0; j < NREF - 2 && !lk_null(i); j++)
      if (rk(j) == lk(i)) hits++, n++, sw += 100 + j;
    n_left += hits ? hits : 1;
    n_anti += hits == 0;
  }
  char want[128];
  snprintf(want, sizeof want, "%lld|%lld|;", (long long)n, (long long)sw);
  char *t = same_everywhere(&e, "SELECT count(*), sum(b.w) FROM T a JOIN r b USING (k)");
  assert_string_equal(t, want);
  free(t);
  snprintf(want, sizeof want, "%lld|;", (long long)n_left);
  t = same_everywhere(&e, "SELECT count(*) FROM T a LEFT JOIN r b USING (k)");
  assert_string_equal(t, want);
  free(t);
  /* anti and semi joins through the C API over the Parquet file's own
   * table (its string key dictionary-encoded), at 1, 2 and 4 threads */
  td_file_backend *fb = NULL;
  td_service *svc;
  td_table_key *key;
  td_error err;
  TD_ASSERT_OK(mt_resolve_path(e.pq, 300, &fb, &svc, &key, &err), &err);
  for (int th = 1; th <= 4; th *= 2) {
    td_table_options o;
    td_table_options_init(&o);
    td_table *l, *r, *j;
    TD_ASSERT_OK(td_make_table(svc, key, &o, &l, &err), &err);
    l->threads = th; /* what a query's td_query_options.threads sets */
    td_query_options qo = mt_mem_options(&e.m, th);
    TD_ASSERT_OK(td_query("SELECT * FROM r", &qo, &r, &err), &err);
    const char *k = "k";
    int64_t d0 = td__join_dict_chunks();
    TD_ASSERT_OK(td_table_join(l, r, TD_JOIN_ANTI, &k, 1, &j, &err), &err);
    if (codes_on()) assert_true(td__join_dict_chunks() > d0); /* the Parquet keys were probed as codes */
    assert_int_equal(td_table_size(j), n_anti);
    td_table_release(j);
    TD_ASSERT_OK(td_table_join(l, r, TD_JOIN_SEMI, &k, 1, &j, &err), &err);
    assert_int_equal(td_table_size(j), 10501 - n_anti);
    td_table_release(j);
    TD_ASSERT_OK(td_table_join(l, r, TD_JOIN_INNER, &k, 1, &j, &err), &err);
    assert_int_equal(td_table_size(j), n);
    char *got = mt_table_text(j, false); /* the left key decoded from its codes */
    char *expect = run(&e, "SELECT a.id, a.k, a.n, a.ts, b.n, b.w, b.ts FROM t a JOIN r b USING (k)", 1);
    assert_string_equal(got, expect);
    free(got);
    free(expect);
    td_table_release(j);
    td_table_release(l);
    td_table_release(r);
  }
  td_table_key_release(key);
  td_service_free(svc);
  td_file_backend_release(fb);
  mt_mem_close(&e.m);
}

/* A key that is a partition column (a constant per location) matches as
 * the same values in a data column do. */
static void test_partition_key(void **state) {
  (void)state;
  env e;
  env_open(&e);
  char sql[1200];
  snprintf(sql, sizeof sql,
           "SELECT count(*), sum(b.w), sum(a.id) FROM '%s' a JOIN r b ON a.n = b.n", e.hive);
  char *hive = run(&e, sql, 2);
  char *one = run(&e, sql, 1);
  assert_string_equal(hive, one);
  char *mem = run(&e, "SELECT count(*), sum(b.w), sum(a.id) FROM t a JOIN r b ON a.n = b.n", 2);
  assert_string_equal(hive, mem);
  free(hive);
  free(one);
  free(mem);
  mt_mem_close(&e.m);
}

/* ---- as-of joins over large groups, against a reference ---- */

enum { NQL = 4000, NQR = 3000 };

/* Key k of the as-of tables: k4 longer than a group holds inline. */
static void qkey(int k, char *buf, size_t size) {
  snprintf(buf, size, k == 4 ? "k%d-a-key-longer-than-16-bytes" : "k%d", k);
}
/* Left row i of "lq": key k<i*7 % 6> (k5 never on the right; every 13th
 * null), ts out of row order (every 17th null), on 1000s plus 0..2 (ties
 * with right values on 10000s). */
static bool lq_knull(int64_t i) { return i % 13 == 5; }
static int lq_k(int64_t i) { return (int)(i * 7 % 6); }
static bool lq_tnull(int64_t i) { return i % 17 == 3; }
static int64_t lq_ts(int64_t i) { return (i * 104729) % 20000 * 1000 + i % 3; }
/* Right row j of "q": key k<j % 5> (every 23rd null), ts out of order with
 * ties, one row in four in a far cluster (an even spread guesses badly
 * there; every 29th null), w = j + 1. */
static bool q_knull(int64_t j) { return j % 23 == 7; }
static int q_k(int64_t j) { return (int)(j % 5); }
static bool q_tnull(int64_t j) { return j % 29 == 11; }
static int64_t q_ts(int64_t j) { return j % 4 == 0 ? 5000000000000 + j * 31 % 100 * 1000 : j * 7919 % 2000 * 10000; }

static void add_asof_tables(mt_mem *m) {
  const char *ln[3] = {"id", "k", "ts"}, *rn[3] = {"k", "ts", "w"};
  td_type_id lt[3] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_TIMESTAMP};
  td_type_id rt[3] = {TD_TYPE_UTF8, TD_TYPE_TIMESTAMP, TD_TYPE_INT64};
  const int64_t lcut[4] = {0, 1500, 2600, NQL}, rcut[3] = {0, 1700, NQR};
  for (int side = 0; side < 2; side++)
    for (int l = 0; l < (side ? 2 : 3); l++) {
      td_builder *b[3];
      for (int c = 0; c < 3; c++) td_builder_new(side ? rt[c] : lt[c], &b[c], NULL);
      const int64_t *cut = side ? rcut : lcut;
      for (int64_t i = cut[l]; i < cut[l + 1]; i++) {
        char buf[64];
        qkey(side ? q_k(i) : lq_k(i), buf, sizeof buf);
        if (!side) td_builder_append_int(b[0], i, NULL);
        td_builder *kb = b[side ? 0 : 1], *tb = b[side ? 1 : 2];
        if (side ? q_knull(i) : lq_knull(i)) td_builder_append_null(kb, NULL);
        else td_builder_append_str(kb, buf, -1, NULL);
        if (side ? q_tnull(i) : lq_tnull(i)) td_builder_append_null(tb, NULL);
        else td_builder_append_int(tb, side ? q_ts(i) : lq_ts(i), NULL);
        if (side) td_builder_append_int(b[2], i + 1, NULL);
      }
      struct ArrowArray cols[3];
      for (int c = 0; c < 3; c++) {
        td_builder_finish(b[c], &cols[c], NULL);
        td_builder_free(b[c]);
      }
      char loc[16];
      snprintf(loc, sizeof loc, "%c%d", side ? 'Q' : 'L', l);
      mt_mem_add(m, side ? "q" : "lq", l == 0, loc, 3, side ? rn : ln, side ? rt : lt, NULL, cols);
    }
}

/* The right row (-1: none) of left row i: the greatest right value at or
 * below (before: >=; `strict`: below) the left one, the last such row on
 * ties, or the least at or above, the first on ties. */
static int64_t asof_ref(int64_t i, bool before, bool strict) {
  int64_t best = -1;
  if (lq_knull(i) || lq_tnull(i)) return -1;
  int64_t lts = lq_ts(i);
  for (int64_t j = 0; j < NQR; j++) {
    if (q_knull(j) || q_tnull(j) || q_k(j) != lq_k(i)) continue;
    int64_t r = q_ts(j);
    bool ok = before ? (strict ? r < lts : r <= lts) : (strict ? r > lts : r >= lts);
    if (ok && (best < 0 || (before ? r >= q_ts(best) : r < q_ts(best)))) best = j;
  }
  return best;
}

/* Inner and left as-of joins, each inequality, over groups of hundreds of
 * right rows (out of order, ties, a far cluster) and left rows out of order
 * with null and absent keys: count(*), sum(w) and sum(id * w) equal the
 * reference, at 1, 2 and 3 threads, on the memory table and its Parquet
 * copy (the key dictionary-encoded); folded by the aggregation
 * (td__join_fold) and made whole through a subquery. */
static void test_asof_reference(void **state) {
  (void)state;
  mt_mem m;
  mt_mem_open(&m, 300);
  mt_mem_paths(&m, 300);
  add_asof_tables(&m);
  char pq[512], sql[1400];
  snprintf(pq, sizeof pq, "%s", td_test_scratch_path("lq.parquet"));
  snprintf(sql, sizeof sql, "COPY (SELECT * FROM lq) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 900, OVERWRITE)", pq);
  free(mt_mem_text(&m, sql));
  static const char *const ops[4] = {">=", ">", "<=", "<"};
  for (int o = 0; o < 4; o++)
    for (int left = 0; left < 2; left++) {
      int64_t n = 0, sw = 0, sidw = 0;
      for (int64_t i = 0; i < NQL; i++) {
        int64_t j = asof_ref(i, o < 2, o % 2 == 1);
        n += j >= 0 || left;
        if (j >= 0) sw += j + 1, sidw += i * (j + 1);
      }
      char want[128];
      snprintf(want, sizeof want, "%lld|%lld|%lld|;", (long long)n, (long long)sw, (long long)sidw);
      for (int src = 0; src < 2; src++)
        for (int th = 1; th <= 3; th++)
          for (int whole = 0; whole < 2; whole++) { /* folded by the aggregation, or made whole first */
            char from[600];
            snprintf(from, sizeof from, src ? "'%s'" : "%s", src ? pq : "lq");
            snprintf(sql, sizeof sql,
                     whole ? "SELECT count(*), sum(w), sum(iw) FROM (SELECT b.w AS w, a.id * b.w AS iw FROM %s a "
                             "ASOF %sJOIN q b ON a.k = b.k AND a.ts %s b.ts)"
                           : "SELECT count(*), sum(b.w), sum(a.id * b.w) FROM %s a ASOF %sJOIN q b ON a.k = b.k AND "
                             "a.ts %s b.ts",
                     from, left ? "LEFT " : "", ops[o]);
            td_query_options qo = mt_mem_options(&m, th);
            int64_t f0 = td__join_fold_chunks();
            char *got = mt_query_text(sql, &qo);
            if (strcmp(got, want) != 0) fail_msg("%s (%d threads): %s, expected %s", sql, th, got, want);
            assert_true((td__join_fold_chunks() > f0) == !whole);
            free(got);
          }
    }
  mt_mem_close(&m);
}

/* Allocation failures anywhere in a parallel static join leave no table. */
static void test_alloc_failures(void **state) {
  (void)state;
  mt_mem m;
  mt_mem_open(&m, 50);
  int64_t rows[2] = {120, 90};
  add_left(&m, "t", rows, 2);
  add_right(&m, "r", NREF);
  add_sectors(&m, "rs", 6, false, true);
  for (int th = 1; th <= 2; th++) {
    td_query_options qo = mt_mem_options(&m, th);
    mt_query_alloc_sweep(&qo, "SELECT a.id, b.w FROM t a LEFT JOIN r b USING (k)", false);
    mt_query_alloc_sweep(&qo, "SELECT a.id, b.w FROM t a ASOF JOIN r b ON a.k = b.k AND a.ts >= b.ts", false);
    mt_query_alloc_sweep(&qo, "SELECT b.sec, count(*), sum(a.n) FROM t a JOIN rs b USING (k) GROUP BY b.sec", false);
    mt_query_alloc_sweep(&qo, "SELECT count(*), sum(a.n) FROM t a LEFT JOIN rs b USING (k)", false);
  }
  mt_mem_close(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_and_dictionaries),
      cmocka_unit_test(test_reference),
      cmocka_unit_test(test_sql_join_keeps_codes),
      cmocka_unit_test(test_right_codes),
      cmocka_unit_test(test_fold_join),
      cmocka_unit_test(test_fold_dictionaries),
      cmocka_unit_test(test_partition_key),
      cmocka_unit_test(test_asof_reference),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, td_test_scratch_setup, td_test_scratch_teardown);
}
