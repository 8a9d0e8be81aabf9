/*
 * tests/query/test_copy.c - COPY ... TO: a memory table of every engine type
 * (with nulls, several pages) written as Parquet (snappy, zstd,
 * uncompressed, small row groups, dictionary on and falling back), CSV and
 * Arrow IPC, read back through the file backend with the same typed values;
 * 0 rows; PARTITION_BY directories (escaped values, nulls, partition
 * columns left out of the files); statistics of the written files prune
 * row groups; the errors: an existing target without OVERWRITE, an
 * unwritable path (nothing left behind), unknown options and columns,
 * syntax errors at their offset, and read_only.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtable.h"
#include "tabledata.h"
#include "test.h"

enum { NC = 21, NR = 3000 };
static const char *const k_names[NC] = {"i",   "b",   "i8",  "i16", "i32", "u8",  "u16", "u32", "f32", "f64", "s",
                                        "hs",  "dec", "d32", "ts",  "tms", "tus", "t32", "t64", "tns", "k"};
static const td_type_id k_types[NC] = {
    TD_TYPE_INT64,     TD_TYPE_BOOL,         TD_TYPE_INT8,         TD_TYPE_INT16,       TD_TYPE_INT32,
    TD_TYPE_UINT8,     TD_TYPE_UINT16,       TD_TYPE_UINT32,       TD_TYPE_FLOAT32,     TD_TYPE_FLOAT64,
    TD_TYPE_UTF8,      TD_TYPE_UTF8,         TD_TYPE_DECIMAL128,   TD_TYPE_DATE32,      TD_TYPE_TIMESTAMP,
    TD_TYPE_TIMESTAMP_MS, TD_TYPE_TIMESTAMP_US, TD_TYPE_TIME32_MS, TD_TYPE_TIME64_US,   TD_TYPE_TIME64_NS,
    TD_TYPE_UTF8};
static const char *const k_tz[NC] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                     NULL, "12,3", NULL, "UTC", NULL, "UTC", NULL, NULL, NULL, NULL};
static const char *const k_keys[] = {"a", "b", "x/y z=%", ""};

typedef mt_mem env;

static env g_env;

static void append(td_builder *b, int c, int64_t r, td_error *err) {
  if (c != 0 && r % 7 == 3) { /* nulls everywhere but the row number */
    TD_ASSERT_OK(td_builder_append_null(b, err), err);
    return;
  }
  char buf[64];
  switch (k_types[c]) {
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: TD_ASSERT_OK(td_builder_append_double(b, (double)r * 0.25 - 100.5, err), err); break;
    case TD_TYPE_UTF8:
      if (c == 10) snprintf(buf, sizeof buf, "sym%d", (int)(r % 5));         /* low cardinality */
      else if (c == 11) snprintf(buf, sizeof buf, "unique-%lld", (long long)r * 7919); /* every value new */
      else snprintf(buf, sizeof buf, "%s", k_keys[r % 4]);
      TD_ASSERT_OK(td_builder_append_str(b, buf, -1, err), err);
      break;
    case TD_TYPE_DECIMAL128: {
      td_value v = td_value_decimal(12, 3, (uint64_t)(r * 1001 - 5000), (r * 1001 - 5000) < 0 ? -1 : 0);
      TD_ASSERT_OK(td_builder_append_value(b, &v, err), err);
      break;
    }
    case TD_TYPE_BOOL: TD_ASSERT_OK(td_builder_append_int(b, r % 3 == 0, err), err); break;
    case TD_TYPE_INT8: TD_ASSERT_OK(td_builder_append_int(b, r % 256 - 128, err), err); break;
    case TD_TYPE_INT16: TD_ASSERT_OK(td_builder_append_int(b, r * 10 - 15000, err), err); break;
    case TD_TYPE_UINT8: TD_ASSERT_OK(td_builder_append_int(b, r % 256, err), err); break;
    case TD_TYPE_UINT16: TD_ASSERT_OK(td_builder_append_int(b, r * 20, err), err); break;
    case TD_TYPE_UINT32: TD_ASSERT_OK(td_builder_append_int(b, 4000000000LL - r, err), err); break;
    case TD_TYPE_DATE32: TD_ASSERT_OK(td_builder_append_int(b, 19000 + r % 400, err), err); break;
    case TD_TYPE_TIME32_MS: TD_ASSERT_OK(td_builder_append_int(b, r * 1000, err), err); break;
    default: TD_ASSERT_OK(td_builder_append_int(b, 1700000000000LL * (c == 14 ? 1000000 : c == 16 ? 1000 : 1) + r * 3, err), err); break;
  }
}

static int setup(void **state) {
  td_test_scratch_setup(state);
  env *e = &g_env;
  td_error err;
  mt_mem_open(e, 700);   /* several batches per file */
  mt_mem_paths(e, 1000); /* a page per row group of test_statistics_prune */
  struct ArrowArray cols[NC];
  for (int c = 0; c < NC; c++) {
    td_builder *b;
    TD_ASSERT_OK(td_builder_new(k_types[c], &b, &err), &err);
    for (int64_t r = 0; r < NR; r++) {
      if (c == 0) TD_ASSERT_OK(td_builder_append_int(b, r, &err), &err);
      else append(b, c, r, &err);
    }
    TD_ASSERT_OK(td_builder_finish(b, &cols[c], &err), &err);
    td_builder_free(b);
  }
  mt_mem_add(e, "t", true, "a", NC, k_names, k_types, k_tz, cols);
  return 0;
}

static int teardown(void **state) {
  mt_mem_close(&g_env);
  return td_test_scratch_teardown(state);
}

/* Names: the memory service; paths: a file backend over the path. */
static td_query_options opts(void) { return mt_mem_options(&g_env, 0); }

static int run_rc(const char *sql, td_table **out, td_error *err) {
  td_query_options qo = opts();
  return td_query(sql, &qo, out, err);
}

static char *text_of(const char *sql) { return mt_mem_text(&g_env, sql); }

/* Runs a COPY and checks the rows it reports. */
static void copy_ok(const char *sql, int64_t rows) {
  char *got = text_of(sql);
  char want[32];
  snprintf(want, sizeof want, "%lld|;", (long long)rows);
  if (strcmp(got, want) != 0) fail_msg("%s\n  got: %s\n  want: %s", sql, got, want);
  free(got);
}

static void copy_fails(const char *sql, int code, const char *contains) {
  mt_mem_expect_error(&g_env, sql, code, contains);
}

/* The same rows (sorted by i) from the table and from the file. */
static void same_rows(const char *cols, const char *path, const char *where) {
  char a[1024], b[1024];
  snprintf(a, sizeof a, "SELECT %s FROM t %s ORDER BY i", cols, where);
  snprintf(b, sizeof b, "SELECT %s FROM '%s' %s ORDER BY i", cols, path, where);
  char *x = text_of(a), *y = text_of(b);
  if (strcmp(x, y) != 0) fail_msg("%s differs from the table:\n%.300s\n%.300s", path, y, x);
  free(x);
  free(y);
}

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* Nothing but `keep` in the scratch directory (no temporary files left). */
static void no_leftovers(void) {
  DIR *d = opendir(td_test_scratch_path(""));
  assert_non_null(d);
  struct dirent *de;
  while ((de = readdir(d)))
    if (strstr(de->d_name, ".tmp-")) fail_msg("temporary output left behind: %s", de->d_name);
  closedir(d);
}

static const char *ALL = "i, b, i8, i16, i32, u8, u16, u32, f32, f64, s, hs, dec, d32, ts, tms, tus, t32, t64, tns, k";

static void test_parquet_every_type(void **state) {
  (void)state;
  static const char *const opts[] = {"", "(COMPRESSION zstd)", "(COMPRESSION uncompressed, ROW_GROUP_SIZE 500)",
                                     "(FORMAT 'parquet', COMPRESSION 'snappy', ROW_GROUP_SIZE 1)"};
  for (int i = 0; i < 4; i++) {
    char path[256], sql[512];
    snprintf(path, sizeof path, "%s", td_test_scratch_path(""));
    snprintf(path + strlen(path), sizeof path - strlen(path), "every%d.parquet", i);
    snprintf(sql, sizeof sql, "COPY t TO '%s' %s", path, opts[i]);
    copy_ok(sql, NR);
    same_rows(ALL, path, "");
  }
  /* The column types survive (DESCRIBE of the file equals the table's). */
  char sql[512];
  snprintf(sql, sizeof sql, "DESCRIBE '%severy0.parquet'", td_test_scratch_path(""));
  char *a = text_of("DESCRIBE t"), *b = text_of(sql);
  assert_string_equal(a, b);
  free(a);
  free(b);
  no_leftovers();
}

static void test_csv_and_arrow(void **state) {
  (void)state;
  char path[256], sql[512];
  snprintf(path, sizeof path, "%sout.arrow", td_test_scratch_path(""));
  snprintf(sql, sizeof sql, "COPY (SELECT * FROM t WHERE i < 2000) TO '%s'", path);
  copy_ok(sql, 2000);
  same_rows(ALL, path, "WHERE i < 2000");
  snprintf(path, sizeof path, "%sout.csv", td_test_scratch_path(""));
  snprintf(sql, sizeof sql, "COPY (SELECT i, i32, f64, s, hs, k FROM t) TO '%s'", path);
  copy_ok(sql, NR);
  same_rows("i, i32, f64, s, hs, k", path, "");
  snprintf(path, sizeof path, "%sout.dat", td_test_scratch_path(""));
  snprintf(sql, sizeof sql, "COPY (SELECT i, s FROM t) TO '%s' (FORMAT csv)", path);
  copy_ok(sql, NR);
  FILE *f = fopen(path, "r");
  char line[64];
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line, "i,s\n");
  fclose(f);
}

static void test_zero_rows(void **state) {
  (void)state;
  char path[256], sql[512];
  snprintf(path, sizeof path, "%sempty.parquet", td_test_scratch_path(""));
  snprintf(sql, sizeof sql, "COPY (SELECT * FROM t WHERE i < 0) TO '%s'", path);
  copy_ok(sql, 0);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM '%s'", path);
  char *n = text_of(sql);
  assert_string_equal(n, "0|;");
  free(n);
  snprintf(sql, sizeof sql, "DESCRIBE '%s'", path);
  char *a = text_of("DESCRIBE t"), *b = text_of(sql);
  assert_string_equal(a, b);
  free(a);
  free(b);
}

static void test_partition_by(void **state) {
  (void)state;
  char dir[256], sql[512];
  snprintf(dir, sizeof dir, "%sparts", td_test_scratch_path(""));
  snprintf(sql, sizeof sql, "COPY t TO '%s' (FORMAT parquet, PARTITION_BY (k, b))", dir);
  copy_ok(sql, NR);
  char p[512];
  snprintf(p, sizeof p, "%s/k=x%%2Fy%%20z%%3D%%25/b=true/data_0.parquet", dir);
  assert_true(exists(p));
  snprintf(p, sizeof p, "%s/k=__HIVE_DEFAULT_PARTITION__/b=__HIVE_DEFAULT_PARTITION__/data_0.parquet", dir);
  assert_true(exists(p));
  snprintf(p, sizeof p, "%s/k=/b=false/data_0.parquet", dir);
  assert_true(exists(p));
  /* The partition columns come back from the paths, the rest from the files. */
  same_rows("i, f64, s, hs, dec, ts, k, b", dir, "");
  /* The files hold no partition columns. */
  snprintf(p, sizeof p, "%s/k=a/b=true/data_0.parquet", dir);
  char plain[256];
  snprintf(plain, sizeof plain, "%sone_partition.parquet", td_test_scratch_path(""));
  assert_int_equal(link(p, plain), 0); /* outside the hive tree: only the file's columns */
  snprintf(sql, sizeof sql, "DESCRIBE '%s'", plain);
  char *d = text_of(sql);
  assert_null(strstr(d, "k|"));
  assert_non_null(strstr(d, "hs|"));
  free(d);
  /* An existing directory: an error without OVERWRITE, replaced with it,
   * merged with OVERWRITE_OR_IGNORE. */
  snprintf(sql, sizeof sql, "COPY (SELECT i, k FROM t WHERE i < 10) TO '%s' (PARTITION_BY k, FORMAT parquet)", dir);
  copy_fails(sql, TD_EINVAL, "already exists");
  snprintf(sql, sizeof sql, "COPY (SELECT i, k FROM t WHERE k = 'a') TO '%s' (PARTITION_BY (k), OVERWRITE_OR_IGNORE, FORMAT parquet)", dir);
  copy_ok(sql, 643); /* 750 rows with k = 'a', 107 of them null */
  snprintf(p, sizeof p, "%s/k=a/data_0.parquet", dir);
  assert_true(exists(p));
  snprintf(p, sizeof p, "%s/k=b/b=true/data_0.parquet", dir);
  assert_true(exists(p));
  snprintf(sql, sizeof sql, "COPY (SELECT i, k FROM t WHERE k = 'b') TO '%s' (PARTITION_BY (k), OVERWRITE, FORMAT csv)", dir);
  copy_ok(sql, 643);
  snprintf(p, sizeof p, "%s/k=b/data_0.csv", dir);
  assert_true(exists(p));
  snprintf(p, sizeof p, "%s/k=a", dir);
  assert_false(exists(p));
  copy_fails("COPY t TO '/tmp/x' (PARTITION_BY (nope))", TD_ETYPE, "PARTITION_BY column 'nope'");
  no_leftovers();
}

static void test_overwrite_and_errors(void **state) {
  (void)state;
  char path[256], sql[512];
  snprintf(path, sizeof path, "%sonce.parquet", td_test_scratch_path(""));
  snprintf(sql, sizeof sql, "COPY (SELECT i FROM t WHERE i < 5) TO '%s'", path);
  copy_ok(sql, 5);
  copy_fails(sql, TD_EINVAL, "once.parquet' already exists");
  snprintf(sql, sizeof sql, "COPY (SELECT i FROM t WHERE i < 7) TO '%s' (OVERWRITE)", path);
  copy_ok(sql, 7);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM '%s'", path);
  char *n = text_of(sql);
  assert_string_equal(n, "7|;");
  free(n);
  copy_fails("COPY t TO '/nonexistent-dir/x.parquet'", TD_EIO, "cannot create");
  /* A failing query leaves nothing behind. */
  snprintf(path, sizeof path, "%sbad.parquet", td_test_scratch_path(""));
  snprintf(sql, sizeof sql, "COPY (SELECT nope FROM t) TO '%s'", path);
  copy_fails(sql, TD_ETYPE, "nope");
  assert_false(exists(path));
  no_leftovers();
  /* Syntax: positions point into the COPY statement. */
  td_error err;
  td_table *t = NULL;
  assert_int_equal(run_rc("COPY (SELECT i FRM t) TO 'x.parquet'", &t, &err), TD_EPARSE);
  assert_int_equal(err.position, 19); /* FRM is i's alias; t is where FROM was expected */
  assert_int_equal(run_rc("COPY t x y TO 'x.parquet'", &t, &err), TD_EPARSE);
  assert_int_equal(err.position, 9);
  copy_fails("COPY t TO 'x.parquet' (HEADER)", TD_EUNSUPPORTED, "COPY option HEADER is not supported");
  copy_fails("COPY t TO 'x.parquet' (FORMAT json)", TD_EPARSE, "expected parquet, csv, arrow (IPC file) or arrows (IPC stream) after FORMAT");
  copy_fails("COPY t TO 'x.parquet' (COMPRESSION lzo)", TD_EPARSE, "snappy, zstd or uncompressed");
  copy_fails("COPY t TO 'x.parquet' (ROW_GROUP_SIZE 0)", TD_EPARSE, "a row count of 1 or more");
  copy_fails("COPY t TO 'x.parquet' (ROW_GROUP_SIZE 99999999999999999999)", TD_EPARSE, "a row count of 1 or more");
  copy_fails("COPY t TO x.parquet", TD_EPARSE, "expected a quoted target path after TO");
  copy_fails("COPY (SELECT i FROM t TO 'x'", TD_EPARSE, "expected ')' closing COPY's query");
  copy_fails("COPY t TO 'x.parquet' (FORMAT parquet) extra", TD_EPARSE, "end of statement");
  /* read_only refuses before anything runs. */
  td_query_options qo = opts();
  qo.read_only = true;
  snprintf(path, sizeof path, "%sro.parquet", td_test_scratch_path(""));
  snprintf(sql, sizeof sql, "COPY t TO '%s'", path);
  assert_int_equal(td_query(sql, &qo, &t, &err), TD_EUNSUPPORTED);
  struct ArrowArrayStream st;
  assert_int_equal(td_query_stream(sql, &qo, &st, &err), TD_EUNSUPPORTED);
  assert_false(exists(path));
  /* The stream entry runs COPY too. */
  qo.read_only = false;
  TD_ASSERT_OK(td_query_stream(sql, &qo, &st, &err), &err);
  assert_int_equal(mt_stream_rows(&st), 1);
  assert_true(exists(path));
}

/* Row-group statistics of a written file prune: a filter outside a row
 * group's [min, max] reads fewer source rows. */
static void test_statistics_prune(void **state) {
  (void)state;
  char path[256], sql[512];
  snprintf(path, sizeof path, "%sstats.parquet", td_test_scratch_path(""));
  snprintf(sql, sizeof sql, "COPY (SELECT i, hs, s FROM t) TO '%s' (ROW_GROUP_SIZE 1000)", path);
  copy_ok(sql, NR);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM '%s' WHERE hs IS NOT NULL AND i >= 0", path);
  free(text_of(sql));
  int64_t all = td_file_backend_bytes_read(g_env.fb);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM '%s' WHERE hs IS NOT NULL AND i >= 2500", path);
  free(text_of(sql));
  int64_t some = td_file_backend_bytes_read(g_env.fb);
  if (!(some * 10 < all * 6)) fail_msg("row-group statistics did not prune: %lld bytes read of %lld", (long long)some, (long long)all);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM '%s' WHERE i >= 2500", path);
  char *n = text_of(sql);
  assert_string_equal(n, "500|;");
  free(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parquet_every_type), cmocka_unit_test(test_csv_and_arrow),
      cmocka_unit_test(test_zero_rows),          cmocka_unit_test(test_partition_by),
      cmocka_unit_test(test_overwrite_and_errors), cmocka_unit_test(test_statistics_prune),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
