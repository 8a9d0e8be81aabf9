/*
 * tests/query/test_qualify.c - the static first row per key (query/
 * firstrow.c: QUALIFY row_number() ... = 1 and DISTINCT ON in one hashed
 * pass) against the sort-based window operator (the same query with
 * `<= 1`, which numbers every row) at 1 and 2 threads, and `<= k` (k rows
 * kept per partition) against the same behind `AND 1 = 1`; the C API's head of
 * a sort as a top-N (the sort left uncomputed) against the full sort; and
 * the SQL paper cuts of issue 13: an untyped NULL in a UNION, duplicate
 * names in a later UNION term, upper/lower beyond ASCII.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/ops.h"
#include "tabledata.h"
#include "test.h"
#include "util/alloc.h"

static td_table *run(mt_env *e, const char *sql, int threads) { return mt_run_threads(e, sql, false, threads); }

/* "m" with more rows (many ties on k and v, nulls in v) over small pages:
 * several chunks a worker, and ties across the workers' runs. */
static void open_big(mt_env *e, int64_t page_size) {
  mt_open(e, page_size, false);
  mt_add_rows(e, "a", 400);
  mt_add_rows(e, "d", 333);
  mt_add_rows(e, "b", 150);
}

/* QUALIFY row_number() ... = 1 (the hashed pass) gives the rows, in the
 * order, of `<= 1` (the window operator: a stable sort, then a filter). */
static void test_first_row_matches_window(void **state) {
  (void)state;
  static const char *const shapes[] = {
      "SELECT * FROM m QUALIFY row_number() OVER (PARTITION BY k ORDER BY v DESC) %s",
      "SELECT * FROM m QUALIFY row_number() OVER (PARTITION BY k ORDER BY v) %s",
      "SELECT * FROM m QUALIFY row_number() OVER (PARTITION BY k, s ORDER BY x, v NULLS FIRST) %s",
      "SELECT * FROM m QUALIFY row_number() OVER (PARTITION BY P ORDER BY x DESC) %s",
      "SELECT * FROM m QUALIFY row_number() OVER (PARTITION BY v ORDER BY k DESC NULLS FIRST) %s",
      "SELECT * FROM m QUALIFY row_number() OVER (PARTITION BY s) %s",
      "SELECT * FROM m QUALIFY row_number() OVER (ORDER BY v, k) %s",
      "SELECT k, x, v FROM m WHERE x > 0.3 QUALIFY row_number() OVER (PARTITION BY k % 3 ORDER BY s DESC, v) %s",
      "SELECT k, row_number() OVER (PARTITION BY k ORDER BY v DESC) AS rn, v FROM m QUALIFY rn %s ORDER BY k",
      /* rank() = 1: every row tying the first */
      "SELECT * FROM m QUALIFY rank() OVER (PARTITION BY k ORDER BY v DESC) %s",
      "SELECT * FROM m QUALIFY rank() OVER (PARTITION BY s ORDER BY k, v NULLS FIRST) %s",
      "SELECT * FROM m QUALIFY rank() OVER (PARTITION BY P) %s",
      "SELECT k, v FROM m QUALIFY rank() OVER (ORDER BY k DESC) %s",
  };
  for (int64_t page = 5; page <= 64; page += 59) {
    mt_env e;
    open_big(&e, page);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
      for (int threads = 1; threads <= 2; threads++) {
        char fast[512], slow[512];
        snprintf(fast, sizeof fast, shapes[i], "= 1");
        snprintf(slow, sizeof slow, shapes[i], "<= 1");
        td_table *a = run(&e, fast, threads), *b = run(&e, slow, threads);
        assert_true(td_table_size(a) > 0);
        mt_assert_same_rows(a, b, false);
        td_table_release(a);
        td_table_release(b);
      }
    /* 1 = row_number() (either side) and DISTINCT ON take the same path */
    td_table *a = run(&e, "SELECT * FROM m QUALIFY 1 = row_number() OVER (PARTITION BY k ORDER BY x DESC)", 2);
    td_table *b = run(&e, "SELECT * FROM m QUALIFY row_number() OVER (PARTITION BY k ORDER BY x DESC) <= 1", 1);
    mt_assert_same_rows(a, b, false);
    td_table_release(a);
    td_table_release(b);
    a = run(&e, "SELECT DISTINCT ON (k, v) k, v, x FROM m ORDER BY k, v, x DESC", 2);
    b = run(&e, "SELECT k, v, x FROM m QUALIFY row_number() OVER (PARTITION BY k, v ORDER BY k, v, x DESC) <= 1 "
                "ORDER BY k, v, x DESC", 1);
    mt_assert_same_rows(a, b, false);
    td_table_release(a);
    td_table_release(b);
    mt_close(&e);
  }
}

/* Table "t" (g utf8, o int64, id = the row) of n rows, g[r] NULL a null. */
static void open_ties(mt_mem *m, int n, const char *const *g, const int64_t *o) {
  mt_mem_open(m, 2);
  const char *names[3] = {"g", "o", "id"};
  td_type_id types[3] = {TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_INT64};
  td_builder *b[3];
  for (int i = 0; i < 3; i++) td_builder_new(types[i], &b[i], NULL);
  for (int r = 0; r < n; r++) {
    if (g[r]) td_builder_append_str(b[0], g[r], -1, NULL);
    else td_builder_append_null(b[0], NULL);
    td_builder_append_int(b[1], o[r], NULL);
    td_builder_append_int(b[2], r, NULL);
  }
  struct ArrowArray cols[3];
  for (int i = 0; i < 3; i++) {
    td_builder_finish(b[i], &cols[i], NULL);
    td_builder_free(b[i]);
  }
  mt_mem_add(m, "t", true, "l0", 3, names, types, NULL, cols);
}

/* Ties on the ORDER BY go to the earliest row (as a stable sort); the
 * result keeps the winners' source order. */
static void test_first_row_ties(void **state) {
  (void)state;
  mt_mem m;
  static const char *const g[7] = {"b", "a", "a", "b", "a", NULL, NULL};
  static const int64_t o[7] = {1, 1, 2, 1, 2, 5, 5};
  open_ties(&m, 7, g, o);
  /* a: rows 2 and 4 tie on o = 2 (row 2 wins); b: rows 0 and 3 (row 0) */
  mt_mem_expect_rows(&m, "SELECT id FROM t QUALIFY row_number() OVER (PARTITION BY g ORDER BY o DESC) = 1",
                     "0|;2|;5|;");
  mt_mem_expect_rows(&m, "SELECT DISTINCT ON (g) g, id FROM t ORDER BY g, o DESC", "a|2|;b|0|;null|5|;");
  mt_mem_expect_rows(&m, "SELECT id FROM t QUALIFY rank() OVER (PARTITION BY g ORDER BY o DESC) = 1",
                     "0|;2|;3|;4|;5|;6|;");
  mt_mem_close(&m);
}

/* QUALIFY row_number() / rank() ... <= k (the hashed pass keeping k rows
 * per partition) gives the rows, values and order of the window operator
 * (the same condition behind `AND 1 = 1`, which the fast path does not
 * take): ties, nulls, partitions smaller than k, k = 2 and 5, `< k`. */
static void test_top_k_matches_window(void **state) {
  (void)state;
  static const char *const shapes[] = {
      "SELECT *, row_number() OVER (PARTITION BY k ORDER BY v DESC) AS w FROM m QUALIFY w %s",
      "SELECT *, row_number() OVER (PARTITION BY k, s ORDER BY x, v NULLS FIRST) AS w FROM m QUALIFY w %s",
      "SELECT *, row_number() OVER (PARTITION BY P ORDER BY x DESC) AS w FROM m QUALIFY w %s",
      "SELECT *, row_number() OVER (PARTITION BY s) AS w FROM m QUALIFY w %s",
      "SELECT k, v FROM m QUALIFY row_number() OVER (ORDER BY v, k) %s",
      "SELECT k, x, v FROM m WHERE x > 0.3 QUALIFY row_number() OVER (PARTITION BY k % 3 ORDER BY s DESC, v) %s",
      "SELECT *, rank() OVER (PARTITION BY k ORDER BY v DESC) AS w FROM m QUALIFY w %s",
      "SELECT *, rank() OVER (PARTITION BY s ORDER BY k, v NULLS FIRST) AS w FROM m QUALIFY w %s",
      "SELECT *, rank() OVER (PARTITION BY P) AS w FROM m QUALIFY w %s",
      "SELECT k, v, rank() OVER (ORDER BY k DESC) AS w FROM m QUALIFY w %s",
  };
  static const char *const conds[] = {"<= 2", "<= 5", "< 3", "<= 100000"};
  for (int64_t page = 5; page <= 64; page += 59) {
    mt_env e;
    open_big(&e, page);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
      for (size_t c = 0; c < sizeof conds / sizeof *conds; c++)
        for (int threads = 1; threads <= 2; threads++) {
          char fast[512], slow[512], cond[64];
          snprintf(fast, sizeof fast, shapes[i], conds[c]);
          snprintf(cond, sizeof cond, "%s AND 1 = 1", conds[c]);
          snprintf(slow, sizeof slow, shapes[i], cond);
          td_table *a = run(&e, fast, threads), *b = run(&e, slow, threads);
          assert_true(td_table_size(a) > 0);
          mt_assert_same_rows(a, b, false);
          td_table_release(a);
          td_table_release(b);
        }
    mt_close(&e);
  }
  /* ties go to the earlier rows; rank keeps every row ranked at most k */
  mt_mem m;
  static const char *const g[8] = {"b", "a", "a", "b", "a", NULL, NULL, "a"};
  static const int64_t o[8] = {1, 1, 2, 1, 2, 5, 5, 3};
  open_ties(&m, 8, g, o);
  /* a: 7 (o 3), then 2 and 4 tie on 2 (2 first), then 1; b: 0 and 3 tie */
  mt_mem_expect_rows(&m, "SELECT id, row_number() OVER (PARTITION BY g ORDER BY o DESC) AS r FROM t QUALIFY r <= 2",
                     "0|1|;2|2|;3|2|;5|1|;6|2|;7|1|;");
  mt_mem_expect_rows(&m, "SELECT id, rank() OVER (PARTITION BY g ORDER BY o DESC) AS r FROM t QUALIFY r <= 2",
                     "0|1|;2|2|;3|1|;4|2|;5|1|;6|1|;7|1|;");
  mt_mem_close(&m);
}

/* Table "c" of the code edge cases (query/firstrow.c compares a partition
 * key and the first ORDER BY key by sort codes): strings of 7, 8 and more
 * bytes sharing a 7-byte prefix (codes tie, values do not), empty strings,
 * INT64_MAX and INT64_MIN (whose ascending / descending code is a null's),
 * NaN, -0 and 0, infinities, nulls; two locations of 4-row pages. */
static void open_codes(mt_mem *m) {
  static const char *const gs[] = {NULL, "abcdefg", "abcdefgh", "abcdefgX1", "abcdefgX2", "", "a", "abcdefgX1"};
  static const int64_t is[] = {0, INT64_MAX, INT64_MIN, 0, -1, 1, INT64_MAX - 1};
  static const double ds[] = {0, NAN, -0.0, 0.0, INFINITY, -INFINITY, 1.5};
  mt_mem_open(m, 4);
  const char *names[4] = {"g", "i", "d", "id"};
  const td_type_id types[4] = {TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_INT64};
  uint32_t x = 12345;
  for (int loc = 0; loc < 2; loc++) {
    td_builder *b[4];
    for (int c = 0; c < 4; c++) td_builder_new(types[c], &b[c], NULL);
    for (int r = 0; r < 150; r++) {
      x = x * 1103515245u + 12345u;
      int gi = (int)(x >> 8) % 8, ii = (int)(x >> 12) % 7, di = (int)(x >> 16) % 7;
      if (gs[gi]) td_builder_append_str(b[0], gs[gi], -1, NULL);
      else td_builder_append_null(b[0], NULL);
      if (ii == 0) td_builder_append_null(b[1], NULL);
      else td_builder_append_int(b[1], is[ii], NULL);
      if (di == 0) td_builder_append_null(b[2], NULL);
      else td_builder_append_double(b[2], ds[di], NULL);
      td_builder_append_int(b[3], loc * 1000 + r, NULL);
    }
    struct ArrowArray cols[4];
    for (int c = 0; c < 4; c++) {
      td_builder_finish(b[c], &cols[c], NULL);
      td_builder_free(b[c]);
    }
    mt_mem_add(m, "c", loc == 0, loc == 0 ? "l0" : "l1", 4, names, types, NULL, cols);
  }
}

/* The coded comparisons agree with the window operator's whole-value
 * sort on every edge of the codes, for row_number() = 1, rank() = 1 and
 * <= 3, at 1 and 2 threads. */
static void test_first_row_codes(void **state) {
  (void)state;
  static const char *const shapes[] = {
      "SELECT id, g, i, %s() OVER (PARTITION BY g ORDER BY i) AS w FROM c QUALIFY w %s",
      "SELECT id, g, i, %s() OVER (PARTITION BY g ORDER BY i DESC) AS w FROM c QUALIFY w %s",
      "SELECT id, g, d, %s() OVER (PARTITION BY g ORDER BY d) AS w FROM c QUALIFY w %s",
      "SELECT id, g, d, %s() OVER (PARTITION BY g ORDER BY d DESC, i) AS w FROM c QUALIFY w %s",
      "SELECT id, g, i, %s() OVER (PARTITION BY i ORDER BY g DESC) AS w FROM c QUALIFY w %s",
      "SELECT id, g, d, %s() OVER (PARTITION BY d ORDER BY g, id DESC) AS w FROM c QUALIFY w %s",
      "SELECT id, g, i, %s() OVER (PARTITION BY i ORDER BY i DESC) AS w FROM c QUALIFY w %s",
      "SELECT id, g, %s() OVER (PARTITION BY g ORDER BY g DESC NULLS FIRST) AS w FROM c QUALIFY w %s",
  };
  static const char *const fns[] = {"row_number", "rank"};
  static const char *const conds[][2] = {{"= 1", "<= 1 AND 1 = 1"}, {"<= 3", "<= 3 AND 1 = 1"}};
  mt_mem m;
  open_codes(&m);
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (int f = 0; f < 2; f++)
      for (int c = 0; c < 2; c++)
        for (int threads = 1; threads <= 2; threads++) {
          char fast[512], slow[512];
          snprintf(fast, sizeof fast, shapes[i], fns[f], conds[c][0]);
          snprintf(slow, sizeof slow, shapes[i], fns[f], conds[c][1]);
          td_query_options qo = mt_mem_options(&m, threads);
          char *a = mt_query_text(fast, &qo), *b = mt_query_text(slow, &qo);
          if (strcmp(a, b) != 0) fail_msg("%s\n%s\n---\n%s\n%s", fast, a, slow, b);
          assert_true(strlen(a) > 20);
          free(a);
          free(b);
        }
  mt_mem_close(&m);
}

/* An allocation failure anywhere in the pass is an error, never a wrong
 * result. */
static void test_first_row_alloc(void **state) {
  (void)state;
  mt_env e;
  open_big(&e, 16);
  td_query_options o;
  td_query_options_init(&o);
  o.resolver = mt_resolve;
  o.resolver_ctx = &e;
  o.threads = 2;
  mt_query_alloc_sweep(&o, "SELECT k, v, P FROM m QUALIFY row_number() OVER (PARTITION BY P, k ORDER BY v DESC) = 1",
                       false);
  mt_query_alloc_sweep(&o, "SELECT k, v, P FROM m QUALIFY rank() OVER (PARTITION BY P, k ORDER BY v DESC) <= 3",
                       false);
  mt_close(&e);
}

/* The first k rows of sort(t) read through td_table_head: a top-N, the
 * sort never computed, equal to the first k rows of the full sort. */
static void expect_head(td_table *src, const char *const *cols, const bool *desc, int64_t n, int64_t k) {
  td_error err;
  td_table *srt, *head, *full;
  TD_ASSERT_OK(td_table_sort(src, cols, desc, n, &srt, &err), &err);
  TD_ASSERT_OK(td_table_head(srt, k, &head, &err), &err);
  const int64_t *kc;
  const bool *kd;
  int64_t kn;
  assert_true(td_op_unsorted_sort(srt, &kc, &kd, &kn)); /* not sorted */
  assert_int_equal(kn, n);
  TD_ASSERT_OK(td_table_sort(src, cols, desc, n, &full, &err), &err);
  mt_rows want = mt_rows_of(full, false), got = mt_rows_of(head, false);
  assert_false(td_op_unsorted_sort(full, &kc, &kd, &kn)); /* read: sorted */
  int64_t m = k < want.n ? k : want.n;
  if (got.n != m) fail_msg("head %lld of %lld rows: %lld rows", (long long)k, (long long)want.n, (long long)got.n);
  for (int64_t i = 0; i < m; i++)
    if (strcmp(got.v[i], want.v[i]) != 0) fail_msg("row %lld of head %lld: %s vs %s", (long long)i, (long long)k, got.v[i], want.v[i]);
  /* the head of a sort already computed slices it: the same rows */
  td_table *h2;
  TD_ASSERT_OK(td_table_head(full, k, &h2, &err), &err);
  mt_assert_same_rows(h2, head, false);
  mt_rows_free(&want);
  mt_rows_free(&got);
  td_table_release(h2);
  td_table_release(full);
  td_table_release(head);
  td_table_release(srt);
}

static void test_sort_head(void **state) {
  (void)state;
  mt_env e;
  open_big(&e, 16);
  td_table *src = mt_source(&e, false);
  int64_t n = td_table_size(src);
  const char *v[] = {"v"}, *kx[] = {"k", "x"}, *sv[] = {"s", "v", "k"}, *p[] = {"P", "v"};
  const bool asc[] = {false, false, false}, dsc[] = {true, true, true}, mix[] = {true, false, true};
  int64_t ks[] = {0, 1, 5, 40, 300, n, n + 10};
  for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
    expect_head(src, v, asc, 1, ks[i]);  /* ties and nulls (last) */
    expect_head(src, v, dsc, 1, ks[i]);  /* nulls last under DESC too */
    expect_head(src, v, NULL, 1, ks[i]);
    expect_head(src, kx, mix, 2, ks[i]);
    expect_head(src, sv, mix, 3, ks[i]);
    expect_head(src, p, dsc, 2, ks[i]); /* a partition column */
  }
  /* errors: n < 0; a failed deferred sort marks its table failed */
  td_error err;
  td_table *srt, *out = (td_table *)1;
  TD_ASSERT_OK(td_table_sort(src, v, NULL, 1, &srt, &err), &err);
  assert_int_equal(td_table_head(srt, -1, &out, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "head expects n >= 0");
  td__alloc_fail_after(0);
  int rc = td_table_status(srt, &err);
  td__alloc_fail_after(-1);
  assert_int_equal(rc, TD_EFAILED);
  TD_ASSERT_CONTAINS(err.message, "has failed");
  assert_int_equal(td_table_size(srt), 0);
  td_table *after;
  assert_int_equal(td_table_head(srt, 3, &after, &err), TD_EFAILED); /* a table over it: the error */
  td_table_release(srt);
  /* a live source sorts at once (td_derived_new), its head slices */
  td_table *live = mt_source(&e, true), *ls, *lh;
  TD_ASSERT_OK(td_table_sort(live, v, NULL, 1, &ls, &err), &err);
  const int64_t *kc;
  const bool *kd;
  int64_t kn;
  assert_false(td_op_unsorted_sort(ls, &kc, &kd, &kn));
  TD_ASSERT_OK(td_table_head(ls, 4, &lh, &err), &err);
  assert_int_equal(td_table_size(lh), 4);
  td_table_release(lh);
  td_table_release(ls);
  td_table_release(live);
  td_table_release(src);
  mt_close(&e);
}

static void test_union_paper_cuts(void **state) {
  (void)state;
  mt_mem m;
  mt_mem_open(&m, 0);
  td_query_options qo = mt_mem_options(&m, 0);
  /* an untyped NULL takes the type of the column in the other terms */
  mt_expect_rows(&qo, "SELECT NULL AS a UNION ALL SELECT 1", false, "null|;1|;");
  mt_expect_rows(&qo, "SELECT 1 AS a UNION ALL SELECT NULL", false, "1|;null|;");
  mt_expect_rows(&qo, "SELECT NULL AS a, 2.5 AS b UNION ALL SELECT 'x', NULL UNION ALL SELECT NULL, 3", false,
                 "null|2.5|;x|null|;null|3|;");
  mt_expect_rows(&qo, "SELECT NULL AS a UNION SELECT 'x' UNION SELECT NULL ORDER BY a", false, "x|;null|;");
  mt_expect_rows(&qo, "SELECT NULL AS a UNION ALL SELECT NULL", false, "null|;null|;");
  static const struct { const char *sql, *format; } typed[] = {
      {"SELECT NULL AS a UNION ALL SELECT 1.5", "g"},
      {"SELECT NULL AS a UNION ALL SELECT NULL UNION ALL SELECT 'x'", "u"},
      {"SELECT 1 AS a UNION ALL SELECT NULL", "l"},
  };
  for (size_t i = 0; i < sizeof typed / sizeof *typed; i++) {
    td_table *t = NULL;
    td_error err;
    TD_ASSERT_OK(td_query(typed[i].sql, &qo, &t, &err), &err);
    struct ArrowSchema sch;
    TD_ASSERT_OK(td_table_schema(t, &sch, &err), &err);
    assert_string_equal(sch.children[0]->format, typed[i].format);
    sch.release(&sch);
    td_table_release(t);
  }
  /* a typed column still needs a common type */
  mt_expect_error(&qo, "SELECT 'x' AS a UNION ALL SELECT 1", TD_ETYPE, "UNION column 1: utf8 vs int64");
  /* only the first term names the columns: later terms may repeat names */
  mt_expect_rows(&qo, "SELECT 1 AS a, 2 AS b UNION ALL SELECT 3 AS x, 4 AS x", false, "1|2|;3|4|;");
  mt_expect_rows(&qo, "SELECT 1 AS a, 2 AS b UNION ALL SELECT 3, 3 UNION SELECT 5 AS a, 5 AS a ORDER BY a", false,
                 "1|2|;3|3|;5|5|;");
  mt_expect_rows(&qo, "SELECT 1 AS a, 1 AS b INTERSECT SELECT 1 AS q, 1 AS q", false, "1|1|;");
  mt_expect_error(&qo, "SELECT 1 AS a, 2 AS a UNION ALL SELECT 3, 4", TD_ETYPE, "two columns named 'a'");
  mt_mem_close(&m);
}

static void test_case_mapping(void **state) {
  (void)state;
  mt_mem m;
  mt_mem_open(&m, 0);
  td_query_options qo = mt_mem_options(&m, 0);
  mt_expect_rows(&qo, "SELECT upper('straße ñandú éCOLE σς ж') AS u, lower('ÀÉÎÕÜ ΣΑΣ Ж İ ǅ') AS l", false,
                 "STRAẞE ÑANDÚ ÉCOLE ΣΣ Ж|àéîõü σασ ж i ǆ|;");
  /* lengths change: 2-byte 'ɐ' is 3-byte 'Ɐ', 3-byte 'ⱥ' is 2-byte 'Ⱥ' */
  mt_expect_rows(&qo, "SELECT upper('ɐⱥ') AS u, lower('Ɐ') AS l, length(upper('ɐⱥ')) AS n", false, "ⱯȺ|ɐ|2|;");
  /* ASCII as before */
  mt_expect_rows(&qo, "SELECT upper('abc-XYZ 09') AS u, lower('abc-XYZ 09') AS l", false, "ABC-XYZ 09|abc-xyz 09|;");
  mt_expect_rows(&qo, "SELECT upper(NULL) AS u, lower('') AS l", false, "null||;");
  mt_mem_close(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_row_matches_window),
      cmocka_unit_test(test_first_row_ties),
      cmocka_unit_test(test_top_k_matches_window),
      cmocka_unit_test(test_first_row_codes),
      cmocka_unit_test(test_first_row_alloc),
      cmocka_unit_test(test_sort_head),
      cmocka_unit_test(test_union_paper_cuts),
      cmocka_unit_test(test_case_mapping),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
