/*
 * tests/query/test_groupby_topn.c - the grouped-aggregation and top-N
 * kernels of issue 11 items 5 and 7: null keys, one and two keys with nulls,
 * many groups built per thread and merged (1, 2, 4 threads give the answer
 * of one thread, and a naive reference computed here), the results read
 * straight from the group state, int64 % constant over a batch; ORDER BY ...
 * LIMIT k fused with its projection (and filter): ties, NULLS FIRST/LAST,
 * DESC, several keys, a first key of ties, k larger than the table, OFFSET,
 * the top rows of a 50,000-group result, all equal to the first k rows of
 * the full stable sort.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrow/schema.h"
#include "formats/parquet/writer.h"
#include "mtable.h"
#include "query/ops.h"
#include "tabledata.h"
#include "test.h"

/* Table "t", locations of NROWS / 3 rows each: id (int64, the position), a
 * (int64 0..9, null every 7th row), b (utf8 s0..s4, null every 11th row), x
 * (float64 quarters in 0..25 with many ties, null every 13th row), v (int64,
 * null every 5th row).  Table "s": the small hand-made rows of
 * test_null_keys. */
enum { NROWS = 60000, NLOC = 3 };

typedef mt_mem env;

static int64_t a_of(int64_t i) { return (i * 7919) % 10; }
static bool a_null(int64_t i) { return i % 7 == 3; }
static int64_t v_of(int64_t i) { return (i * 48271) % 1001 - 500; }
static bool v_null(int64_t i) { return i % 5 == 1; }

static void add(env *e, const char *table, const char *loc, int ncols, const char *const *names,
                const td_type_id *types, struct ArrowArray *cols) {
  mt_mem_add(e, table, strcmp(loc, "l0") == 0, loc, ncols, names, types, NULL, cols);
}

static void env_open(env *e) {
  td_error err;
  mt_mem_open(e, 4096); /* many pages: many scan units for the workers */
  const char *names[5] = {"id", "a", "b", "x", "v"};
  const td_type_id types[5] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_FLOAT64, TD_TYPE_INT64};
  for (int l = 0; l < NLOC; l++) {
    td_builder *b[5];
    for (int c = 0; c < 5; c++) TD_ASSERT_OK(td_builder_new(types[c], &b[c], &err), &err);
    for (int64_t i = l * (NROWS / NLOC); i < (l + 1) * (NROWS / NLOC); i++) {
      char s[8];
      snprintf(s, sizeof s, "s%d", (int)((i * 31) % 5));
      td_builder_append_int(b[0], i, NULL);
      if (a_null(i)) td_builder_append_null(b[1], NULL);
      else td_builder_append_int(b[1], a_of(i), NULL);
      if (i % 11 == 2) td_builder_append_null(b[2], NULL);
      else td_builder_append_str(b[2], s, -1, NULL);
      if (i % 13 == 4) td_builder_append_null(b[3], NULL);
      else td_builder_append_double(b[3], (double)((i * 37) % 101) / 4.0, NULL);
      if (v_null(i)) td_builder_append_null(b[4], NULL);
      else td_builder_append_int(b[4], v_of(i), NULL);
    }
    struct ArrowArray cols[5];
    for (int c = 0; c < 5; c++) {
      TD_ASSERT_OK(td_builder_finish(b[c], &cols[c], &err), &err);
      td_builder_free(b[c]);
    }
    char loc[8];
    snprintf(loc, sizeof loc, "l%d", l);
    add(e, "t", loc, 5, names, types, cols);
  }
  /* "s": k (int64), j (utf8), w (int64) */
  static const bool kn[] = {0, 1, 0, 1, 0, 0, 1}, jn[] = {0, 0, 1, 1, 0, 1, 0};
  static const int64_t kv[] = {1, 0, 2, 0, 1, 2, 0}, wv[] = {10, 20, 30, 40, 50, 60, 70};
  static const char *const jv[] = {"p", "p", NULL, NULL, "q", NULL, "p"};
  const char *sn[3] = {"k", "j", "w"};
  const td_type_id st[3] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_INT64};
  td_builder *b[3];
  for (int c = 0; c < 3; c++) TD_ASSERT_OK(td_builder_new(st[c], &b[c], &err), &err);
  for (int r = 0; r < 7; r++) {
    if (kn[r]) td_builder_append_null(b[0], NULL);
    else td_builder_append_int(b[0], kv[r], NULL);
    if (jn[r]) td_builder_append_null(b[1], NULL);
    else td_builder_append_str(b[1], jv[r], -1, NULL);
    td_builder_append_int(b[2], wv[r], NULL);
  }
  struct ArrowArray cols[3];
  for (int c = 0; c < 3; c++) {
    TD_ASSERT_OK(td_builder_finish(b[c], &cols[c], &err), &err);
    td_builder_free(b[c]);
  }
  add(e, "s", "l0", 3, sn, st, cols);
}

static void env_close(env *e) { mt_mem_close(e); }

/* The result of sql as mt_table_text (malloc'd). */
static char *run(env *e, const char *sql, int threads) {
  td_query_options qo = mt_mem_options(e, threads);
  return mt_query_text(sql, &qo);
}

static void expect(env *e, const char *sql, const char *want) {
  for (int t = 1; t <= 4; t *= 2) {
    char *got = run(e, sql, t);
    if (strcmp(got, want) != 0) fail_msg("%s (%d threads)\n  got  %s\n  want %s", sql, t, got, want);
    free(got);
  }
}

/* The same text with 1, 2 and 4 threads; returned (1 thread, caller frees). */
static char *same_at_all_threads(env *e, const char *sql) {
  char *one = run(e, sql, 1);
  for (int t = 2; t <= 4; t *= 2) {
    char *got = run(e, sql, t);
    if (strcmp(got, one) != 0) fail_msg("%s: %d threads differ from 1", sql, t);
    free(got);
  }
  return one;
}

/* The first k rows ("r|;") of a table text. */
static char *first_rows(const char *text, int64_t k) {
  const char *p = text;
  for (int64_t i = 0; i < k && *p; i++) p = strchr(p, ';') + 1;
  size_t n = (size_t)(p - text);
  char *out = malloc(n + 1);
  memcpy(out, text, n);
  out[n] = '\0';
  return out;
}

static int64_t count_rows(const char *text) {
  int64_t n = 0;
  for (const char *p = text; (p = strchr(p, ';')) != NULL; p++) n++;
  return n;
}

/* "<select> ORDER BY <order> LIMIT k [OFFSET o]" equals rows o..o+k-1 of
 * the full sort "<select> ORDER BY <order>", at 1, 2 and 4 threads. */
static void expect_top(env *e, const char *select, const char *order, int64_t k, int64_t off) {
  char sql[2048];
  snprintf(sql, sizeof sql, "%s ORDER BY %s", select, order);
  char *full = run(e, sql, 1);
  char *pre = first_rows(full, off + k), *skip = first_rows(full, off);
  const char *want = pre + strlen(skip);
  snprintf(sql, sizeof sql, "%s ORDER BY %s LIMIT %lld OFFSET %lld", select, order, (long long)k, (long long)off);
  expect(e, sql, want);
  free(full);
  free(pre);
  free(skip);
}

static void test_null_keys(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* one int key, one string key, two keys: nulls form their own groups */
  expect(&e, "SELECT k, count(*) AS n, sum(w) AS s FROM s GROUP BY k ORDER BY k NULLS FIRST",
         "null|3|130|;1|2|60|;2|2|90|;");
  expect(&e, "SELECT j, count(*) AS n, sum(w) AS s FROM s GROUP BY j ORDER BY j NULLS LAST",
         "p|3|100|;q|1|50|;null|3|130|;");
  expect(&e, "SELECT k, j, count(*) AS n, sum(w) AS s FROM s GROUP BY k, j ORDER BY k NULLS FIRST, j NULLS FIRST",
         "null|null|1|40|;null|p|2|90|;1|p|1|10|;1|q|1|50|;2|null|2|90|;");
  /* groups in order of first appearance without ORDER BY */
  expect(&e, "SELECT k, sum(w) AS s FROM s GROUP BY k", "1|60|;null|130|;2|90|;");
  /* a global aggregate: one row, also over no rows */
  expect(&e, "SELECT count(*) AS n, sum(w) AS s FROM s", "7|280|;");
  expect(&e, "SELECT count(*) AS n, sum(w) AS s FROM s WHERE w > 1000", "0|null|;");
  env_close(&e);
}

static void test_many_groups(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* 20,000 groups of 3 rows each, one per location: every worker makes
   * groups the others also have, and the merge must add them up */
  char *got = same_at_all_threads(&e, "SELECT id % 20000 AS g, count(*) AS n, sum(v) AS s, count(v) AS c "
                                      "FROM t GROUP BY g ORDER BY g");
  char *want = calloc((size_t)20000 * 40 + 1, 1);
  size_t len = 0;
  for (int64_t g = 0; g < 20000; g++) {
    int64_t s = 0, c = 0;
    for (int64_t i = g; i < NROWS; i += 20000)
      if (!v_null(i)) s += v_of(i), c++;
    len += (size_t)sprintf(want + len, c ? "%lld|3|%lld|%lld|;" : "%lld|3|null|%lld|;", (long long)g,
                           (long long)(c ? s : c), (long long)c);
  }
  assert_string_equal(got, want);
  free(got);
  free(want);
  /* first appearance order survives the merge */
  got = same_at_all_threads(&e, "SELECT id % 20000 AS g FROM t GROUP BY g");
  char *head = first_rows(got, 3);
  assert_string_equal(head, "0|;1|;2|;");
  assert_int_equal(count_rows(got), 20000);
  free(head);
  free(got);
  env_close(&e);
}

static void test_two_keys(void **state) {
  (void)state;
  env e;
  env_open(&e);
  char *got = same_at_all_threads(&e, "SELECT a, b, count(*) AS n, sum(v) AS s FROM t GROUP BY a, b "
                                      "ORDER BY a NULLS FIRST, b NULLS FIRST");
  /* the distinct (a, b) pairs, null included (a and b are correlated) */
  bool seen[11][6] = {{false}};
  int64_t pairs = 0;
  for (int64_t i = 0; i < NROWS; i++) {
    int ai = a_null(i) ? 10 : (int)a_of(i), bi = i % 11 == 2 ? 5 : (int)((i * 31) % 5);
    pairs += !seen[ai][bi];
    seen[ai][bi] = true;
  }
  assert_int_equal(count_rows(got), pairs);
  char *head = first_rows(got, 1);
  int64_t n = 0, s = 0;
  bool any = false;
  for (int64_t i = 0; i < NROWS; i++)
    if (a_null(i) && i % 11 == 2) {
      n++;
      if (!v_null(i)) s += v_of(i), any = true;
    }
  char want[64];
  snprintf(want, sizeof want, any ? "null|null|%lld|%lld|;" : "null|null|%lld|null|;", (long long)n, (long long)s);
  assert_string_equal(head, want);
  free(head);
  free(got);
  /* a float key with a string key, and a key of int64 % constant with nulls */
  free(same_at_all_threads(&e, "SELECT x, b, count(*) AS n FROM t GROUP BY x, b ORDER BY x, b"));
  got = same_at_all_threads(&e, "SELECT a % 4 AS m, count(*) AS n FROM t GROUP BY m ORDER BY m NULLS FIRST");
  int64_t cnt[5] = {0};
  for (int64_t i = 0; i < NROWS; i++) cnt[a_null(i) ? 4 : a_of(i) % 4]++;
  snprintf(want, sizeof want, "null|%lld|;0|%lld|;1|%lld|;2|%lld|;3|%lld|;", (long long)cnt[4], (long long)cnt[0],
           (long long)cnt[1], (long long)cnt[2], (long long)cnt[3]);
  assert_string_equal(got, want);
  free(got);
  expect(&e, "SELECT k % -1 AS m, k % 0 AS z, count(*) AS n FROM s GROUP BY m, z ORDER BY m NULLS FIRST",
         "null|null|3|;0|null|4|;");
  env_close(&e);
}

/* sql fails alike at 1, 2, 3 and 7 threads: the same code and message. */
static void expect_same_error(env *e, const char *sql) {
  td_error err;
  td_table *t = NULL;
  td_query_options qo = mt_mem_options(e, 1);
  int code = td_query(sql, &qo, &t, &err);
  assert_int_not_equal(code, TD_OK);
  assert_null(t);
  static const int threads[] = {2, 3, 7};
  for (size_t i = 0; i < sizeof threads / sizeof *threads; i++) {
    qo = mt_mem_options(e, threads[i]);
    mt_expect_error(&qo, sql, code, err.message);
  }
}

static void test_topn(void **state) {
  (void)state;
  env e;
  env_open(&e);
  /* ties on the only key: the earliest rows win */
  expect_top(&e, "SELECT id, a FROM t", "a DESC", 25, 0);
  expect_top(&e, "SELECT id, a FROM t", "a", 25, 0);
  /* nulls: last by default, first when asked, both directions */
  expect_top(&e, "SELECT id, x FROM t", "x NULLS FIRST", 30, 0);
  expect_top(&e, "SELECT id, x FROM t", "x DESC NULLS FIRST", 30, 0);
  expect_top(&e, "SELECT id, x FROM t", "x DESC NULLS LAST", 30, 0);
  expect_top(&e, "SELECT id, a FROM t", "a DESC NULLS LAST", 30, 0);
  /* several keys, the first with many ties (typed prefilter, then the rest) */
  expect_top(&e, "SELECT id, x, b FROM t", "x DESC, b, id DESC", 40, 0);
  expect_top(&e, "SELECT id, a, v FROM t", "a, v DESC NULLS FIRST", 40, 0);
  /* a filter and computed items fused with the top-N */
  expect_top(&e, "SELECT id, v * 2 AS d, b FROM t WHERE b = 's3' AND v > 0", "d DESC", 15, 0);
  expect_top(&e, "SELECT id, b FROM t WHERE a = 3", "b DESC NULLS FIRST", 12, 5);
  /* late materialization: the winners are read back by several workers,
   * through a projection too; the error is the first winner's */
  expect_top(&e, "SELECT x, id * 2 AS d, b FROM t", "x DESC", 30, 0);
  expect_top(&e, "SELECT b, v, x FROM t", "x, v DESC", 50, 3);
  expect_same_error(&e, "SELECT CAST(b AS BIGINT) AS c, x FROM t ORDER BY x DESC LIMIT 40");
  /* OFFSET; k larger than the table; k = 0 */
  expect_top(&e, "SELECT id, x FROM t", "x", 10, 100);
  expect_top(&e, "SELECT id, a FROM t WHERE id < 500", "a, id DESC", 100000, 0);
  expect(&e, "SELECT id FROM t ORDER BY id LIMIT 0", "");
  /* the top rows of one large chunk (a 50,000-group result) */
  expect_top(&e, "SELECT id % 50000 AS g, sum(a) AS q FROM t GROUP BY g", "q DESC, g", 10, 0);
  expect_top(&e, "SELECT id % 50000 AS g, sum(a) AS q FROM t GROUP BY g", "q NULLS FIRST, g DESC", 10, 0);
  env_close(&e);
}

/* f of row i of table "u": quarters in 0..250 with many ties for the first
 * two thirds, then small ones (0..10); -0.0 and 0.0 mixed in, +-inf once
 * each, NaN in three rows of the last third only (where the bounds of the
 * Parquet copy lie below the threshold), null every 17th row. */
static double u_f(int64_t i, bool *null) {
  *null = i % 17 == 3;
  if (i == 25001 || i == 25500 || i == 29999) return NAN;
  if (i % 101 == 7) return -0.0;
  if (i % 101 == 8) return 0.0;
  if (i == 1234) return INFINITY;
  if (i == 20000) return -INFINITY;
  return i < 20000 ? (double)((i * 7919) % 1001) / 4.0 : (double)((i * 7919) % 41) / 4.0;
}

static const char *const u_names[4] = {"id", "g", "f", "h"};
static const td_type_id u_types[4] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_INT64};

/* The columns of location l of table "u" (rows l * 10,000 on). */
static void u_columns(int l, struct ArrowArray *cols) {
  td_error err;
  td_builder *b[4];
  for (int c = 0; c < 4; c++) TD_ASSERT_OK(td_builder_new(u_types[c], &b[c], &err), &err);
  for (int64_t i = l * 10000; i < (l + 1) * 10000; i++) {
    bool null;
    double f = u_f(i, &null);
    td_builder_append_int(b[0], i, NULL);
    td_builder_append_int(b[1], (i * 31) % 7, NULL);
    if (null) td_builder_append_null(b[2], NULL);
    else td_builder_append_double(b[2], f, NULL);
    td_builder_append_int(b[3], (i % 10000) / 2500 + (i / 1000) % 3, NULL);
  }
  for (int c = 0; c < 4; c++) {
    TD_ASSERT_OK(td_builder_finish(b[c], &cols[c], &err), &err);
    td_builder_free(b[c]);
  }
}

/* Table "u" (three locations of 10,000 rows: id, g = a tie-heavy int64,
 * f as u_f, h = 0..5 in runs, its range differing between row groups, so
 * that the key scan takes them out of position order among many ties) and the same rows as a hive tree of Parquet files (our writer,
 * row groups of 1000 rows; nan_count 0 where a group has no NaN) at dir. */
static void u_open(env *e, const char *dir) {
  td_error err;
  const char *names[4] = {u_names[0], u_names[1], u_names[2], u_names[3]};
  td_schema sch;
  td_schema_init(&sch);
  for (int c = 0; c < 4; c++) TD_ASSERT_OK(td_schema_add(&sch, names[c], u_types[c], NULL, true, &err), &err);
  td_parquet_write_options wo;
  td_parquet_write_options_init(&wo);
  wo.row_group_size = 1000;
  assert_int_equal(mkdir(dir, 0755), 0);
  for (int l = 0; l < 3; l++) {
    struct ArrowArray cols[4], batch;
    u_columns(l, cols);
    char path[640];
    snprintf(path, sizeof path, "%s/P=%d", dir, l);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/P=%d/data.parquet", dir, l);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    td_parquet_writer *w;
    TD_ASSERT_OK(td_parquet_writer_open_with(fd, &sch, &wo, &w, &err), &err);
    TD_ASSERT_OK(td_batch_make(4, cols, &batch, &err), &err);
    TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
    TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
    batch.release(&batch);
    close(fd);
    char loc[8];
    snprintf(loc, sizeof loc, "l%d", l);
    u_columns(l, cols);
    add(e, "u", loc, 4, names, u_types, cols);
  }
  td_schema_reset(&sch);
}

/* ORDER BY a float key with NaN, -0.0 and 0.0, +-inf, nulls and ties (on
 * it and across locations and threads), over the memory backend and over
 * Parquet whose statistics let the key scan skip row groups: always the
 * rows of the full stable sort. */
static void test_topn_floats(void **state) {
  (void)state;
  env e;
  mt_mem_open(&e, 700);
  mt_mem_paths(&e, 700);
  char dir[256], sel[600];
  snprintf(dir, sizeof dir, "%s", td_test_scratch_path("u"));
  u_open(&e, dir);
  static const char *const orders[] = {"f DESC",      "f",           "f DESC NULLS FIRST", "f NULLS FIRST",
                                       "f DESC, g",   "f, id DESC",  "g DESC, f DESC",     "f DESC NULLS LAST, g DESC",
                                       "h DESC",      "h",           "h DESC, f",          "h, g DESC"};
  static const int64_t ks[][2] = {{1, 0}, {3, 0}, {10, 0}, {60, 0}, {5, 4}, {400, 0}};
  for (int src = 0; src < 2; src++) {
    if (src == 0) snprintf(sel, sizeof sel, "SELECT id, g, f, h FROM u");
    else snprintf(sel, sizeof sel, "SELECT id, g, f, h FROM '%s'", dir);
    for (size_t o = 0; o < sizeof orders / sizeof *orders; o++)
      for (size_t k = 0; k < sizeof ks / sizeof *ks; k++) expect_top(&e, sel, orders[o], ks[k][0], ks[k][1]);
  }
  /* the NaN rows lead a descending order (Parquet: their row groups were read) */
  snprintf(sel, sizeof sel, "SELECT id FROM '%s' ORDER BY f DESC, id LIMIT 4", dir);
  expect(&e, sel, "25001|;25500|;29999|;1234|;");
  env_close(&e);
}

static void test_errors(void **state) {
  (void)state;
  td_error err;
  td_table *out = (td_table *)1;
  assert_int_equal(td_op_select_topn(NULL, NULL, NULL, NULL, NULL, 1, -1, &out, &err), TD_EINVAL);
  assert_null(out);
  assert_non_null(strstr(err.message, "LIMIT expects n >= 0, got -1"));
  int64_t col = 0;
  assert_int_equal(td_op_select_topn(NULL, NULL, NULL, &col, NULL, 0, 5, &out, &err), TD_EINVAL);
  assert_non_null(strstr(err.message, "1 to 64 columns, got 0"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_null_keys), cmocka_unit_test(test_many_groups), cmocka_unit_test(test_two_keys),
      cmocka_unit_test(test_topn),      cmocka_unit_test(test_topn_floats), cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, td_test_scratch_setup, td_test_scratch_teardown);
}
