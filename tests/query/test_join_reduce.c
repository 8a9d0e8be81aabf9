/*
 * tests/query/test_join_reduce.c - semi-join reduction (query/sql_from.c,
 * reduce_join): a hash join whose WHERE keeps few rows of its first table
 * joins just those rows, and indexes only the right rows whose key one of
 * them holds.  Every
 * form gives the rows of the same statement with the reduction blocked (a
 * conjunct made volatile, or reading the right side), at 1 and 2 threads,
 * and a count computed here; the reduction happens exactly where it may:
 * inner, left, semi and anti joins, integer (also of two widths) and string
 * keys, one of two keys, no first-table row kept; never for a FULL join, a
 * volatile filter, float keys, a filter on the right side alone, a first
 * side that keeps too many rows or a small right side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/sql_from.h"
#include "tabledata.h"
#include "mtable.h"
#include "test.h"

enum { NL = 24000, NLOC = 3, NR = 90000, NSMALL = 1000 };

/* Left row i: id i, i32 i (int32), k "k<i*7 % 5003>" (every 17th null),
 * g i % 50, x i / 4 (double). */
static void add_left(mt_mem *m) {
  const char *names[5] = {"id", "i32", "k", "g", "x"};
  td_type_id types[5] = {TD_TYPE_INT64, TD_TYPE_INT32, TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64};
  for (int l = 0; l < NLOC; l++) {
    td_builder *b[5];
    for (int c = 0; c < 5; c++) td_builder_new(types[c], &b[c], NULL);
    for (int64_t i = (int64_t)l * NL / NLOC; i < (int64_t)(l + 1) * NL / NLOC; i++) {
      char buf[32];
      snprintf(buf, sizeof buf, "k%d", (int)(i * 7 % 5003));
      td_builder_append_int(b[0], i, NULL);
      td_builder_append_int(b[1], i, NULL);
      if (i % 17 == 4) td_builder_append_null(b[2], NULL);
      else td_builder_append_str(b[2], buf, -1, NULL);
      td_builder_append_int(b[3], i % 50, NULL);
      td_builder_append_double(b[4], (double)i / 4, NULL);
    }
    struct ArrowArray cols[5];
    for (int c = 0; c < 5; c++) {
      td_builder_finish(b[c], &cols[c], NULL);
      td_builder_free(b[c]);
    }
    char loc[8];
    snprintf(loc, sizeof loc, "L%d", l);
    mt_mem_add(m, "t", l == 0, loc, 5, names, types, NULL, cols);
  }
}

/* Right row j of `table` (n rows): id j % 30000 (every 23rd null), k
 * "k<j % 6000>" (every 29th null), w j, x (j % 30000) / 4 (double). */
static bool rid_null(int64_t j) { return j % 23 == 0; }
static void add_right(mt_mem *m, const char *table, int64_t n) {
  const char *names[4] = {"id", "k", "w", "x"};
  td_type_id types[4] = {TD_TYPE_INT64, TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64};
  td_builder *b[4];
  for (int c = 0; c < 4; c++) td_builder_new(types[c], &b[c], NULL);
  for (int64_t j = 0; j < n; j++) {
    char buf[32];
    snprintf(buf, sizeof buf, "k%d", (int)(j % 6000));
    if (rid_null(j)) td_builder_append_null(b[0], NULL);
    else td_builder_append_int(b[0], j % 30000, NULL);
    if (j % 29 == 0) td_builder_append_null(b[1], NULL);
    else td_builder_append_str(b[1], buf, -1, NULL);
    td_builder_append_int(b[2], j, NULL);
    td_builder_append_double(b[3], (double)(j % 30000) / 4, NULL);
  }
  struct ArrowArray cols[4];
  for (int c = 0; c < 4; c++) {
    td_builder_finish(b[c], &cols[c], NULL);
    td_builder_free(b[c]);
  }
  mt_mem_add(m, table, true, "R0", 4, names, types, NULL, cols);
}

static char *run(mt_mem *m, const char *sql, int threads) {
  td_query_options qo = mt_mem_options(m, threads);
  return mt_query_text(sql, &qo);
}

/* sql at 1 and 2 threads: the same text, and reduced (or not) each time. */
static char *run_both(mt_mem *m, const char *sql, bool reduced) {
  char *one = NULL;
  for (int th = 1; th <= 2; th++) {
    int64_t r0 = td__join_reductions();
    char *got = run(m, sql, th);
    int64_t r1 = td__join_reductions();
    if ((r1 > r0) != reduced) fail_msg("%s: %s at %d threads", sql, reduced ? "not reduced" : "reduced", th);
    if (!one) {
      one = got;
      continue;
    }
    if (strcmp(one, got) != 0) fail_msg("%s\n  1 thread:  %.300s\n  2 threads: %.300s", sql, one, got);
    free(got);
  }
  return one;
}

/* `sql` (its WHERE text written @) reduced with `w`, the same rows as
 * unreduced with `blocked`; returns the text (caller frees). */
static char *same_rows(mt_mem *m, const char *sql, const char *w, const char *blocked) {
  char a[1024], b[1024];
  const char *at = strstr(sql, "@");
  assert_non_null(at);
  snprintf(a, sizeof a, "%.*s%s%s", (int)(at - sql), sql, w, at + 1);
  snprintf(b, sizeof b, "%.*s%s%s", (int)(at - sql), sql, blocked, at + 1);
  char *ra = run_both(m, a, true), *rb = run_both(m, b, false);
  if (strcmp(ra, rb) != 0) fail_msg("%s\n  reduced:   %.400s\n  unreduced: %.400s", a, ra, rb);
  free(rb);
  return ra;
}

static void setup(mt_mem *m) {
  mt_mem_open(m, 4096);
  add_left(m);
  add_right(m, "r", NR);
  add_right(m, "small", NSMALL);
}

/* The forms that reduce: the same rows as unreduced, at 1 and 2 threads. */
static void test_reduced_forms(void **state) {
  (void)state;
  mt_mem m;
  setup(&m);
  static const char *const forms[][3] = {
      {"SELECT a.id, b.w FROM t a JOIN r b USING (id) WHERE @ ORDER BY 1, 2", "a.g = 7",
       "(a.g = 7 OR random() < 0)"},
      {"SELECT a.id, b.w FROM t a JOIN r b ON a.id = b.id WHERE @ ORDER BY 1, 2", "a.g = 7 AND a.x > 100",
       "(a.g = 7 AND a.x > 100 OR b.w < -1)"},
      {"SELECT a.id, b.w, b.x FROM t a LEFT JOIN r b USING (id) WHERE @ ORDER BY 1, 2", "a.g = 7",
       "(a.g = 7 OR random() < 0)"},
      {"SELECT a.id, a.k FROM t a SEMI JOIN r b USING (k) WHERE @ ORDER BY 1", "g = 3",
       "(g = 3 OR random() < 0)"},
      {"SELECT a.id, a.k FROM t a ANTI JOIN r b USING (k) WHERE @ ORDER BY 1", "g = 3",
       "(g = 3 OR random() < 0)"},
      {"SELECT a.id, b.w FROM t a JOIN r b ON a.k = b.k WHERE @ ORDER BY 1, 2", "a.g IN (1, 2) AND a.id < 9000",
       "a.g IN (1, 2) AND (a.id < 9000 OR random() < 0)"},
      {"SELECT a.id, b.w FROM t a JOIN r b ON b.id = a.i32 WHERE @ ORDER BY 1, 2", "a.g = 11",
       "(a.g = 11 OR random() < 0)"},
      {"SELECT a.id, b.w FROM t a JOIN r b USING (id, k) WHERE @ ORDER BY 1, 2", "a.g = 7",
       "(a.g = 7 OR random() < 0)"},
      {"SELECT count(*) AS n, sum(b.w) AS s, count(b.w) AS m FROM t a LEFT JOIN r b USING (k) WHERE @", "a.g < 3",
       "(a.g < 3 OR random() < 0)"},
      {"SELECT b.k, count(*) AS n FROM t a JOIN r b USING (id) WHERE @ GROUP BY b.k ORDER BY 1", "a.g = 7",
       "(a.g = 7 OR random() < 0)"},
      /* no first-table row kept: nothing on the right is indexed */
      {"SELECT a.id, b.w FROM t a JOIN r b USING (id) WHERE @ ORDER BY 1, 2", "a.g = 99",
       "(a.g = 99 OR random() < 0)"},
      {"SELECT count(*) AS n, count(b.w) AS m FROM t a LEFT JOIN r b USING (id) WHERE @", "a.g = 99",
       "(a.g = 99 OR random() < 0)"},
      /* a second join after the reduced one */
      {"SELECT a.id, b.w, c.w AS cw FROM t a JOIN r b USING (id) LEFT JOIN small c ON b.id = c.id WHERE @ "
       "ORDER BY 1, 2, 3", "a.g = 7", "(a.g = 7 OR random() < 0)"},
  };
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) free(same_rows(&m, forms[i][0], forms[i][1], forms[i][2]));
  mt_mem_close(&m);
}

/* A count computed here: left rows with g = 7 (ids 7, 57, ...) each meet
 * the right rows j = id, id + 30000, id + 60000 whose id is not null. */
static void test_reference_count(void **state) {
  (void)state;
  mt_mem m;
  setup(&m);
  int64_t n = 0;
  for (int64_t i = 7; i < NL; i += 50)
    for (int64_t j = i; j < NR; j += 30000) n += !rid_null(j);
  char want[64];
  snprintf(want, sizeof want, "%lld|;", (long long)n);
  char *got = run_both(&m, "SELECT count(*) AS n FROM t a JOIN r b USING (id) WHERE a.g = 7", true);
  assert_non_null(strstr(got, want));
  assert_true(n > 1000);
  free(got);
  mt_mem_close(&m);
}

/* Where the reduction must not happen; the answers still right. */
static void test_not_reduced(void **state) {
  (void)state;
  mt_mem m;
  setup(&m);
  static const char *const forms[] = {
      "SELECT a.id, b.w FROM t a FULL JOIN r b USING (id) WHERE a.g = 7 ORDER BY 1, 2",
      "SELECT a.id, b.w FROM t a JOIN r b USING (id) WHERE a.g = 7 AND random() < 2 ORDER BY 1, 2",
      "SELECT a.id, b.w FROM t a JOIN r b ON a.x = b.x WHERE a.g = 7 ORDER BY 1, 2",
      "SELECT a.id, b.w FROM t a JOIN r b USING (id) WHERE b.w < 10 ORDER BY 1, 2",
      "SELECT count(*) AS n FROM t a JOIN r b USING (id) WHERE a.g >= 0",
      "SELECT a.id, b.w FROM t a JOIN small b USING (id) WHERE a.g = 7 ORDER BY 1, 2",
      "SELECT a.id, b.w FROM t a JOIN r b USING (id) ORDER BY 1, 2 LIMIT 5",
      "SELECT a.id, b.w FROM t a ASOF JOIN r b ON a.k = b.k AND a.id >= b.w WHERE a.g = 7 ORDER BY 1, 2",
  };
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) free(run_both(&m, forms[i], false));
  /* a FULL join keeps the right rows no left row meets (44 of null id):
   * 480 left rows with g = 7 (20 of them meet a right row of `small`, one
   * of those has a null id), then the 44 */
  char *full = run_both(&m, "SELECT count(*) AS n, count(a.id) AS l, count(b.w) AS r FROM t a FULL JOIN small b "
                            "USING (id) WHERE a.g = 7 OR a.g IS NULL", false);
  if (!strstr(full, "524|480|63|")) fail_msg("%s", full); /* (computed by hand) */
  free(full);
  mt_mem_close(&m);
}

/* `sql` (its WHERE text written @) with `w`, and with `blocked` (a form no
 * side's conditions can be taken from): the same rows at 1 and 2 threads;
 * the first filters the right side (or not: `pushed`) and reduces the
 * join (or not: `reduced`) every time, the second neither. */
static void same_pushed(mt_mem *m, const char *sql, const char *w, const char *blocked, bool pushed, bool reduced) {
  char a[1024], b[1024];
  const char *at = strchr(sql, '@');
  snprintf(a, sizeof a, "%.*s%s%s", (int)(at - sql), sql, w, at + 1);
  snprintf(b, sizeof b, "%.*s%s%s", (int)(at - sql), sql, blocked, at + 1);
  char *want = NULL;
  for (int th = 1; th <= 2; th++) {
    int64_t f0 = td__join_right_filters(), r0 = td__join_reductions();
    char *ra = run(m, a, th);
    int64_t f1 = td__join_right_filters(), r1 = td__join_reductions();
    char *rb = run(m, b, th);
    if ((f1 > f0) != pushed || (r1 > r0) != reduced) fail_msg("%s: pushed %d, reduced %d", a, f1 > f0, r1 > r0);
    assert_int_equal(td__join_right_filters(), f1);
    assert_int_equal(td__join_reductions(), r1);
    if (strcmp(ra, rb) != 0) fail_msg("%s\n  filtered:   %.400s\n  unfiltered: %.400s", a, ra, rb);
    if (want && strcmp(want, ra) != 0) fail_msg("%s: 1 and 2 threads differ", a);
    assert_true(strlen(ra) > 10);
    free(rb);
    free(want);
    want = ra;
  }
  free(want);
}

/* An inner join's right side is filtered by WHERE's conditions on it alone
 * (named b.col) before it is indexed; never a left join's, nor one whose
 * alias another source has. */
static void test_right_filtered(void **state) {
  (void)state;
  mt_mem m;
  setup(&m);
  same_pushed(&m, "SELECT a.id, b.w FROM t a JOIN r b USING (id) WHERE @ ORDER BY 1, 2", "b.w < 30000",
              "(b.w < 30000 OR random() < 0)", true, false);
  same_pushed(&m, "SELECT a.id, b.w FROM t a JOIN r b ON a.k = b.k WHERE @ ORDER BY 1, 2",
              "b.k LIKE 'k%' AND a.g = 3 AND b.w > 100", "(b.k LIKE 'k%' AND a.g = 3 AND b.w > 100 OR random() < 0)",
              true, true);
  /* a right side the filter leaves small is not reduced */
  same_pushed(&m, "SELECT a.id, b.w FROM t a JOIN r b ON a.k = b.k WHERE @ ORDER BY 1, 2", "b.k LIKE 'k1%' AND a.g = 3",
              "(b.k LIKE 'k1%' AND a.g = 3 OR random() < 0)", true, false);
  same_pushed(&m, "SELECT count(*) AS n, sum(a.x) AS s, min(b.w) AS lo FROM t a JOIN r b USING (id) WHERE @",
              "b.w % 7 = 1", "(b.w % 7 = 1 OR a.x < -1)", true, false);
  same_pushed(&m, "SELECT a.id, b.w FROM t a LEFT JOIN r b USING (id) WHERE @ ORDER BY 1, 2", "b.w < 30000",
              "(b.w < 30000 OR random() < 0)", false, false);
  same_pushed(&m, "SELECT a.id, b.w, c.w AS cw FROM t a JOIN r b USING (id) JOIN small c ON b.id = c.id WHERE @ "
                  "ORDER BY 1, 2, 3", "b.w < 30000 AND c.w > 10", "(b.w < 30000 AND c.w > 10 OR random() < 0)",
              true, false);
  mt_mem_close(&m);
}

/* EXPLAIN's text of sql contains `want`. */
static void explain_has(mt_mem *m, const char *sql, const char *want) {
  char q[1600];
  snprintf(q, sizeof q, "EXPLAIN %s", sql);
  char *got = mt_mem_text(m, q);
  if (!strstr(got, want)) fail_msg("%s\n  wanted: %s\n  got: %.1500s", sql, want, got);
  free(got);
}

/* A join's first source is pruned by WHERE's partition conjuncts that read
 * it alone (plan.c: join_first), as a source of its own is; not under a
 * FULL join.  The rows are those of the same statement unpruned. */
static void test_first_source_pruned(void **state) {
  (void)state;
  mt_mem m;
  setup(&m);
  mt_mem_paths(&m, 0);
  char hive[600], sql[1400];
  snprintf(hive, sizeof hive, "%s", td_test_scratch_path("reduce_hive"));
  snprintf(sql, sizeof sql, "COPY (SELECT id, k, g %% 5 AS p, x FROM t) TO '%s' (FORMAT parquet, PARTITION_BY (p), "
           "OVERWRITE)", hive);
  free(mt_mem_text(&m, sql));
  static const char *const forms[][3] = {
      {"SELECT a.id, b.w FROM '%s' a JOIN small b USING (id) WHERE @ ORDER BY 1, 2", "a.p = 2",
       "(a.p = 2 OR b.w < -1)"},
      {"SELECT a.id, b.w FROM '%s' a LEFT JOIN small b USING (id) WHERE @ ORDER BY 1, 2", "p = 2 AND a.x > 10",
       "(p = 2 AND a.x > 10 OR b.w < -1)"},
      {"SELECT b.k, count(*) AS n FROM '%s' a JOIN small b USING (id) WHERE @ GROUP BY b.k ORDER BY 1", "a.p = 2",
       "(a.p = 2 OR b.w < -1)"},
  };
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    char q[1400], a[1400], b[1400];
    snprintf(q, sizeof q, forms[i][0], hive);
    const char *at = strchr(q, '@');
    snprintf(a, sizeof a, "%.*s%s%s", (int)(at - q), q, forms[i][1], at + 1);
    snprintf(b, sizeof b, "%.*s%s%s", (int)(at - q), q, forms[i][2], at + 1);
    explain_has(&m, a, "locations: 1 kept, 4 pruned by partition filters");
    explain_has(&m, b, "locations: 5 (no partition filter)");
    char *ra = run(&m, a, 2), *rb = run(&m, b, 2);
    assert_string_equal(ra, rb);
    assert_true(strlen(ra) > 20);
    free(ra);
    free(rb);
  }
  snprintf(sql, sizeof sql, "SELECT a.id, b.w FROM '%s' a FULL JOIN small b USING (id) WHERE a.p = 2", hive);
  explain_has(&m, sql, "locations: 5 (no partition filter)");
  mt_mem_close(&m);
}

/* The integer IN lists a reduction builds: more than 8 items probe a table
 * of bare values whose empty mark is INT64_MIN, an item too. */
static void test_in_list_extremes(void **state) {
  (void)state;
  mt_mem m;
  setup(&m);
  mt_mem_expect_rows(&m,
                     "SELECT x IN (-9223372036854775808, 1, 2, 3, 4, 5, 6, 7, 8, 9) AS a, x IN (1, 2, 3, 4, 5, 6, "
                     "7, 8, 9, 10) AS b, x NOT IN (9223372036854775807, 0, 2, 3, 4, 5, 6, 7, 8, 9, NULL) AS c FROM "
                     "(SELECT CAST(-9223372036854775807 - 1 AS BIGINT) AS x UNION ALL SELECT 5 UNION ALL SELECT 11 "
                     "UNION ALL SELECT 9223372036854775807 UNION ALL SELECT NULL)",
                     "true|false|null|;true|true|false|;false|false|null|;false|false|false|;null|null|null|;");
  mt_mem_close(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reduced_forms),
      cmocka_unit_test(test_reference_count),
      cmocka_unit_test(test_not_reduced),
      cmocka_unit_test(test_in_list_extremes),
      cmocka_unit_test(test_first_source_pruned),
      cmocka_unit_test(test_right_filtered),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
