/*
 * tests/query/test_int_filter.c - `integer column OP constant` filters read
 * straight from the column (query/sel_int.c) give the rows of the general
 * comparison.
 *
 * A memory table m (two locations) of int32, int64, int16, uint32,
 * timestamp and date32 columns with nulls is copied to dictionary-encoded
 * Parquet (the project's writer: a dictionary per row group of 100 rows,
 * the values drifting between row groups and locations, so the
 * dictionaries differ), one file per location, read back in pages of 64
 * rows (pages inside and across row groups).  Every operator, BETWEEN and IN,
 * mirrored forms, NULL constants and constants outside the column's range
 * (an int32 column against 2^40, a uint32 one against -1 and 2^32) give,
 * on the Parquet tree at 1 and 2 threads and on the memory table, the
 * answer of `coalesce(predicate, false)`, which the general comparison
 * evaluates (no selection-vector path).  A live table with appended rows
 * agrees with a static one after every cycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "mtable.h"
#include "test.h"

enum { NC = 8, ROWS = 700, RG = 100 };
static const char *const names[NC] = {"l", "g", "i32", "i64", "i16", "u32", "ts", "d"};
static const td_type_id types[NC] = {TD_TYPE_INT64, TD_TYPE_INT64,     TD_TYPE_INT32,     TD_TYPE_INT64,
                                     TD_TYPE_INT16, TD_TYPE_UINT32, TD_TYPE_TIMESTAMP, TD_TYPE_DATE32};
static const char *const tz[NC] = {NULL, NULL, NULL, NULL, NULL, NULL, "UTC", NULL};

/* Column c of row r of location l; *null for a null. */
static int64_t value(int c, int64_t l, int64_t r, bool *null) {
  int64_t rg = r / RG, v = (r * 7 + rg * 11 + l * 3) % (25 + 5 * (rg % 3)) - 12;
  *null = false;
  switch (c) {
    case 0: return l;
    case 1: return r;
    case 2: *null = r % 9 == 4; return v;
    case 3: *null = r % 11 == 2; return v * 1000003 + l;
    case 4: *null = r % 5 == 1; return ((r * 3 + rg) % 17) * 1000 - 8000;
    case 5: *null = r % 6 == 5; return ((r * 13 + l + rg) % 23) * 100000000;
    case 6: *null = r % 8 == 3; return (r % 13 + l + rg) * 86400000000000LL;
    default: *null = r % 10 == 7; return r % 17 + rg;
  }
}

/* m: locations a and b of ROWS rows; a/P=a/x.parquet and a/P=b/x.parquet
 * hold the same rows. */
static void env_open(mt_mem *e, char *dir, size_t cap) {
  td_error err;
  mt_mem_open(e, 64);
  mt_mem_paths(e, 64);
  for (int64_t l = 0; l < 2; l++) {
    struct ArrowArray cols[NC];
    for (int c = 0; c < NC; c++) {
      td_builder *b;
      TD_ASSERT_OK(td_builder_new(types[c], &b, &err), &err);
      for (int64_t r = 0; r < ROWS; r++) {
        bool null;
        int64_t v = value(c, l, r, &null);
        TD_ASSERT_OK(null ? td_builder_append_null(b, &err) : td_builder_append_int(b, v, &err), &err);
      }
      TD_ASSERT_OK(td_builder_finish(b, &cols[c], &err), &err);
      td_builder_free(b);
    }
    mt_mem_add(e, "m", l == 0, l == 0 ? "a" : "b", NC, names, types, tz, cols);
  }
  snprintf(dir, cap, "%s", td_test_scratch_path("intfilter"));
  mkdir(dir, 0755);
  for (int l = 0; l < 2; l++) {
    char sub[600], sql[900];
    snprintf(sub, sizeof sub, "%s/P=%c", dir, "ab"[l]);
    mkdir(sub, 0755);
    snprintf(sql, sizeof sql,
             "COPY (SELECT * FROM m WHERE l = %d) TO '%s/x.parquet' (FORMAT parquet, ROW_GROUP_SIZE %d)", l, sub, RG);
    free(mt_mem_text(e, sql));
  }
}

/* "SELECT count(*), sum(g), min(g), max(g) FROM <from> WHERE <pred>" at `threads`. */
static char *answer(mt_mem *e, const char *from, const char *pred, int threads) {
  char sql[1200];
  snprintf(sql, sizeof sql, "SELECT count(*), sum(g), min(g), max(g) FROM %s WHERE %s", from, pred);
  td_query_options qo = mt_mem_options(e, threads);
  return mt_query_text(sql, &qo);
}

/* pred on the Parquet tree (1 and 2 threads) and on m: the answer of the
 * general comparison.  Returns the number of rows it passes. */
static long check(mt_mem *e, const char *dir, const char *pred) {
  char from[600], general[700];
  snprintf(from, sizeof from, "'%s'", dir);
  snprintf(general, sizeof general, "coalesce(%s, false)", pred);
  char *want = answer(e, "m", general, 1);
  char *got[3] = {answer(e, from, pred, 1), answer(e, from, pred, 2), answer(e, "m", pred, 1)};
  for (int i = 0; i < 3; i++) {
    if (strcmp(got[i], want) != 0) fail_msg("%s (%s): %s, the general comparison %s", pred, i < 2 ? from : "m", got[i], want);
    free(got[i]);
  }
  long n = strtol(want, NULL, 10);
  free(want);
  return n;
}

static const char *const ops[] = {"=", "<>", "<", "<=", ">", ">="};

typedef struct col_consts {
  const char *col;
  const char *consts[8];
} col_consts;

static const col_consts cases[] = {
    {"i32", {"-12", "0", "7", "1099511627776", "-1099511627776", "2147483647", "-2147483648", "NULL"}},
    {"i64", {"0", "5000015", "-12000036", "1099511627776", "9223372036854775807", "NULL"}},
    {"i16", {"0", "-8000", "3000", "40000", "-40000", "32767", "NULL"}},
    {"u32", {"0", "1500000000", "2200000000", "4294967295", "-1", "4294967296", "NULL"}},
    {"ts", {"'1970-01-05'", "'1970-01-01'", "'2100-01-01'", "NULL"}},
    {"d", {"DATE '1970-01-10'", "DATE '1970-01-01'", "NULL"}},
};

static void test_operators(void **state) {
  (void)state;
  mt_mem e;
  char dir[512];
  env_open(&e, dir, sizeof dir);
  long total = 0, some = 0;
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
    for (int k = 0; k < 8 && cases[c].consts[k]; k++)
      for (size_t o = 0; o < sizeof ops / sizeof *ops; o++) {
        char pred[200];
        snprintf(pred, sizeof pred, "%s %s %s", cases[c].col, ops[o], cases[c].consts[k]);
        long n = check(&e, dir, pred);
        total += n;
        some += n > 0 && n < 2 * ROWS;
        if (o % 2 == 0) { /* the constant on the left */
          snprintf(pred, sizeof pred, "%s %s %s", cases[c].consts[k], ops[o], cases[c].col);
          check(&e, dir, pred);
        }
      }
  assert_true(total > 0);
  assert_true(some > 40); /* most comparisons pass some rows and not others */
  static const char *const forms[] = {
      "i32 BETWEEN -3 AND 5", "i32 NOT BETWEEN -3 AND 5", "i32 BETWEEN -1099511627776 AND 0",
      "i32 IN (1, 2, -12, NULL)", "i32 NOT IN (1, 2)", "i32 NOT IN (1, NULL)", "i64 BETWEEN 0 AND 5000015",
      "i16 IN (-8000, 8000, 40000)", "u32 BETWEEN 100000000 AND 2200000000", "u32 IN (0, 4294967296)",
      "ts BETWEEN '1970-01-03' AND '1970-01-09'", "d BETWEEN DATE '1970-01-03' AND DATE '1970-01-12'",
      "i32 > 0 AND i64 < 0", "i32 > 5 OR u32 > 1500000000", "i32 > 0 AND i16 < 0 AND ts > '1970-01-04'",
      "l = 0 AND i32 >= 3", "i32 > l", "NOT (i32 > 3)", "i32 IS NULL OR i32 < -20",
  };
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) check(&e, dir, forms[i]);
  mt_mem_close(&e);
}

/* A live filtered table with rows appended between cycles: the static answer each time. */
static void test_live(void **state) {
  (void)state;
  mt_env e;
  mt_open(&e, 8, false);
  static const char *const preds[] = {"v > 3", "v <= -2", "k = 2", "v <> 1099511627776", "k < 1099511627776",
                                      "v BETWEEN -5 AND 5"};
  td_table *live[6];
  for (int i = 0; i < 6; i++) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT k, v, s FROM m WHERE %s", preds[i]);
    live[i] = mt_run(&e, sql, true);
  }
  static const char *parts[3] = {"a", "b", "n"};
  for (int step = 0; step < 6; step++) {
    mt_add_rows(&e, parts[step % 3], 5 + step * 7);
    td_error err;
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    for (int i = 0; i < 6; i++) {
      char sql[200];
      snprintf(sql, sizeof sql, "SELECT k, v, s FROM m WHERE coalesce(%s, false)", preds[i]);
      td_table *st = mt_run(&e, sql, false);
      mt_assert_same_rows(live[i], st, true);
      td_table_release(st);
    }
  }
  for (int i = 0; i < 6; i++) td_table_release(live[i]);
  mt_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_operators),
      cmocka_unit_test(test_live),
  };
  return cmocka_run_group_tests(tests, td_test_scratch_setup, td_test_scratch_teardown);
}
