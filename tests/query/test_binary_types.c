/*
 * tests/query/test_binary_types.c - binary, large_utf8 and large_binary end
 * to end: a memory table fed 64-bit-offset arrays, the schema and Arrow
 * export (formats and offsets widths), queries (bytewise comparisons, IN,
 * IS NULL, length, GROUP BY, count(distinct), min/max, ORDER BY), CAST to
 * and from BLOB, the type errors (upper/LIKE on binary, bad UTF-8 in a
 * cast), printing as DuckDB prints BLOBs, and COPY TO Parquet, Arrow IPC
 * and CSV read back through the file readers (IPC Binary, LargeUtf8 and
 * LargeBinary; Parquet BYTE_ARRAY without annotation).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtable.h"
#include "tabledata.h"
#include "test.h"

typedef mt_mem env;

enum { NC = 4, NR = 4 };
static const char *const k_names[NC] = {"i", "b", "lu", "lb"};
static const td_type_id k_types[NC] = {TD_TYPE_INT64, TD_TYPE_BINARY, TD_TYPE_LARGE_UTF8, TD_TYPE_LARGE_BINARY};
/* Row 1 is null in every varlen column; b holds a NUL and non-UTF-8 bytes. */
static const char *const k_b[NR] = {"\xaa\x00" "ab", NULL, "abc", "\xff"};
static const int k_blen[NR] = {4, 0, 3, 1};
static const char *const k_lu[NR] = {"x", NULL, "h\xc3\xa9llo", "z"};
static const char *const k_lb[NR] = {"1", "\x01", NULL, "abc"};

static void env_open(env *e) {
  td_error err;
  mt_mem_open(e, 2); /* several pages */
  mt_mem_paths(e, 0);
  struct ArrowArray cols[NC];
  for (int c = 0; c < NC; c++) {
    td_builder *b;
    TD_ASSERT_OK(td_builder_new(k_types[c], &b, &err), &err);
    for (int r = 0; r < NR; r++) {
      const char *s = c == 1 ? k_b[r] : c == 2 ? k_lu[r] : k_lb[r];
      if (c == 0) TD_ASSERT_OK(td_builder_append_int(b, r + 1, &err), &err);
      else if (!s) TD_ASSERT_OK(td_builder_append_null(b, &err), &err);
      else TD_ASSERT_OK(td_builder_append_str(b, s, c == 1 ? k_blen[r] : (int64_t)strlen(s), &err), &err);
    }
    TD_ASSERT_OK(td_builder_finish(b, &cols[c], &err), &err);
    td_builder_free(b);
  }
  /* A builder of a large type hands out 64-bit offsets (the Arrow layout). */
  const int64_t *lo = cols[2].buffers[1];
  assert_int_equal(lo[4], 1 + 0 + 6 + 1);
  mt_mem_add(e, "t", true, "a", NC, k_names, k_types, NULL, cols);
}

static void env_close(env *e) { mt_mem_close(e); }

static char *run(env *e, const char *sql) { return mt_mem_text(e, sql); }
static void expect_rows(env *e, const char *sql, const char *want) { mt_mem_expect_rows(e, sql, want); }
static void expect_error(env *e, const char *sql, int code, const char *text) {
  mt_mem_expect_error(e, sql, code, text);
}

static void test_schema_and_export(void **state) {
  (void)state;
  env e;
  env_open(&e);
  td_error err;
  td_table *t = mt_mem_table(&e, "t");
  static const char *const formats[NC] = {"l", "z", "U", "Z"};
  mt_expect_formats(t, NC, formats);
  for (int c = 0; c < NC; c++) assert_int_equal(td_table_column_type(t, c), k_types[c]);
  /* The stream hands large columns out with 64-bit offsets, binary with 32. */
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_table_stream(t, NULL, 0, &st, &err), &err);
  struct ArrowArray b;
  int64_t rows = 0;
  while (st.get_next(&st, &b) == 0 && b.release) {
    const int64_t *lo = b.children[2]->buffers[1];
    const int32_t *bo = b.children[1]->buffers[1];
    for (int64_t r = 0; r < b.length; r++, rows++) {
      int64_t j = b.children[2]->offset + r, jb = b.children[1]->offset + r;
      assert_int_equal(lo[j + 1] - lo[j], k_lu[rows] ? (int64_t)strlen(k_lu[rows]) : 0);
      assert_int_equal(bo[jb + 1] - bo[jb], k_blen[rows]);
    }
    b.release(&b);
  }
  st.release(&st);
  assert_int_equal(rows, NR);
  td_table_release(t);
  env_close(&e);
}

static void test_queries(void **state) {
  (void)state;
  env e;
  env_open(&e);
  expect_rows(&e, "SELECT i, b FROM t ORDER BY b", "3|abc|;1|\\xAA\\x00ab|;4|\\xFF|;2|null|;");
  expect_rows(&e, "SELECT i FROM t WHERE b > CAST('abc' AS BLOB) ORDER BY i", "1|;4|;");
  expect_rows(&e, "SELECT i FROM t WHERE b = CAST('\\xFF' AS BYTEA)", "4|;");
  expect_rows(&e, "SELECT i FROM t WHERE b <> CAST('abc' AS VARBINARY) ORDER BY i", "1|;4|;");
  expect_rows(&e, "SELECT i FROM t WHERE b IN (CAST('abc' AS BLOB), CAST('\\xFF' AS BINARY)) ORDER BY i", "3|;4|;");
  expect_rows(&e, "SELECT i FROM t WHERE b IS NULL", "2|;");
  expect_rows(&e, "SELECT length(b), length(lu), length(lb) FROM t ORDER BY i", "4|1|1|;null|null|1|;3|5|null|;1|1|3|;");
  expect_rows(&e, "SELECT count(DISTINCT b), min(b), max(b), min(lu), max(lb) FROM t", "3|abc|\\xFF|h\xc3\xa9llo|abc|;");
  expect_rows(&e, "SELECT lb, count(*) FROM t GROUP BY lb ORDER BY lb", "\\x01|1|;1|1|;abc|1|;null|1|;");
  /* large_utf8 behaves as utf8 */
  expect_rows(&e, "SELECT upper(lu), lu || '!' FROM t WHERE lu LIKE 'h%'", "H\xc3\x89LLO|h\xc3\xa9llo!|;");
  expect_rows(&e, "SELECT CAST(lb AS VARCHAR) FROM t WHERE i = 4", "abc|;");
  expect_rows(&e, "SELECT CAST(CAST('a\\x00' AS BLOB) AS VARCHAR) IS NULL", "false|;");
  expect_rows(&e, "SELECT CAST(lu AS BLOB) FROM t WHERE i = 3", "h\\xC3\\xA9llo|;");
  /* errors */
  expect_error(&e, "SELECT upper(b) FROM t", TD_ETYPE, "upper expects a string as argument 1, found binary");
  expect_error(&e, "SELECT i FROM t WHERE b LIKE 'a%'", TD_ETYPE, "found binary");
  expect_error(&e, "SELECT CAST(b AS VARCHAR) FROM t", TD_ETYPE, "cannot convert binary '\\xAA\\x00ab' to utf8");
  expect_error(&e, "SELECT CAST(i AS BLOB) FROM t", TD_ETYPE, "cannot cast int64 to binary");
  expect_error(&e, "SELECT CAST('\\q' AS BLOB)", TD_ETYPE, "\\xHH escape");
  env_close(&e);
}

/* Large and small types mix as their values do: every place that checks
 * two types (a comparison, IN, coalesce, CASE, UNION, set operations, join
 * keys) takes utf8 with large_utf8 and binary with large_binary, a string
 * literal compares with binary as CAST(literal AS BLOB), and a UNION whose
 * declared type is large hands out 64-bit offsets for the rows of both
 * sides (the printer reads the Arrow layout: a mismatch would misread). */
static void test_large_mixes_with_small(void **state) {
  (void)state;
  env e;
  env_open(&e);
  expect_rows(&e, "SELECT i FROM t WHERE lu = 'z'", "4|;");
  expect_rows(&e, "SELECT i FROM t WHERE lu IN ('x', 'z') ORDER BY i", "1|;4|;");
  expect_rows(&e, "SELECT i FROM t WHERE lu = CAST(lb AS VARCHAR) OR lu > 'y' ORDER BY i", "4|;");
  expect_rows(&e, "SELECT x.i, y.i FROM t x JOIN t y ON x.lb = y.b", "4|3|;");
  expect_rows(&e, "SELECT count(*) FROM t WHERE lb = b OR lb < b", "2|;");
  expect_rows(&e, "SELECT i FROM t WHERE lb = CAST(b AS BLOB) OR lb = 'abc'", "4|;");
  expect_rows(&e, "SELECT i FROM t WHERE b = 'abc'", "3|;");
  expect_rows(&e, "SELECT i FROM t WHERE b = '\\xFF' OR b IN ('q', 'abc') ORDER BY i", "3|;4|;");
  expect_rows(&e, "SELECT coalesce(lu, 'none'), CASE WHEN i > 2 THEN lu ELSE 'small' END FROM t ORDER BY i",
              "x|small|;none|small|;h\xc3\xa9llo|h\xc3\xa9llo|;z|z|;");
  expect_rows(&e, "SELECT lu FROM t WHERE i < 3 UNION ALL SELECT 'w' || i FROM t WHERE i > 3", "x|;null|;w4|;");
  expect_rows(&e, "SELECT 'w' || i FROM t WHERE i > 3 UNION ALL SELECT lu FROM t WHERE i < 3", "w4|;x|;null|;");
  expect_rows(&e, "SELECT lu FROM t INTERSECT SELECT 'z' ORDER BY 1", "z|;");
  expect_rows(&e, "SELECT b FROM t WHERE i = 3 UNION ALL SELECT lb FROM t WHERE i = 4", "abc|;abc|;");
  expect_rows(&e, "SELECT a.i, c.k FROM t a JOIN (SELECT 'z' AS s, 9 AS k) c ON a.lu = c.s", "4|9|;");
  expect_error(&e, "SELECT i FROM t WHERE b = '\\q'", TD_ETYPE, "\\xHH escape");
  expect_error(&e, "SELECT i FROM t WHERE lu = b", TD_ETYPE, "cannot compare utf8 with binary");
  env_close(&e);
}

static void test_copy_round_trip(void **state) {
  (void)state;
  env e;
  env_open(&e);
  char dir[] = "/tmp/td_binary_XXXXXX";
  assert_non_null(mkdtemp(dir));
  static const char *const fmts[] = {"parquet", "arrow", "csv"};
  char sql[512], path[256];
  for (int f = 0; f < 3; f++) {
    snprintf(path, sizeof path, "%s/t.%s", dir, fmts[f]);
    snprintf(sql, sizeof sql, "COPY (SELECT * FROM t) TO '%s'", path);
    free(run(&e, sql));
    snprintf(sql, sizeof sql, "SELECT i, b, lu, lb FROM '%s' ORDER BY i", path);
    /* CSV stays text: binary values come back as their \xHH text */
    expect_rows(&e, sql,
                "1|\\xAA\\x00ab|x|1|;2|null|null|\\x01|;3|abc|h\xc3\xa9llo|null|;4|\\xFF|z|abc|;");
    if (f < 2) { /* typed: the bytes are the same (length in bytes) */
      snprintf(sql, sizeof sql, "SELECT length(b), b = CAST('\\xFF' AS BLOB) FROM '%s' ORDER BY i", path);
      expect_rows(&e, sql, "4|false|;null|null|;3|false|;1|true|;");
    }
    unlink(path);
  }
  /* the Arrow file keeps each type, Parquet reads binary for both */
  rmdir(dir);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema_and_export),
      cmocka_unit_test(test_queries),
      cmocka_unit_test(test_large_mixes_with_small),
      cmocka_unit_test(test_copy_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
