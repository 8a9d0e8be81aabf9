/*
 * tests/query/test_minmax_stats.c - a global min/max of integer and
 * temporal columns answered from Parquet column statistics (agg_op.c
 * statistics mode), and its fallbacks: a location without statistics reads
 * the data, TD_MINMAX_STATS=0 turns the mode off, float columns are
 * answered only when every location is known to hold no NaN and the bound
 * is not a zero, string columns never, nor a backend that does not
 * declare its ranges exact (backend/ranges.h).
 *
 * A hive tree of two files written by the project's writer; the second
 * file's footer is patched so that its statistics claim a minimum of v the
 * data does not hold: the statistics answer shows the mode ran.
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
#include "tabledata.h"
#include "test.h"

static td_service *g_svc;
static const char *g_table;

static int resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key,
                   td_error *err) {
  (void)ctx;
  if (is_path || strcmp(name, "d") != 0) {
    err->code = TD_ENOTFOUND;
    snprintf(err->message, sizeof err->message, "no table %s", name);
    return TD_ENOTFOUND;
  }
  int rc = td_table_key_new(g_table, key, err);
  if (rc == TD_OK) *svc = td_service_retain(g_svc);
  return rc;
}

static char *query(const char *sql) {
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.threads = 1;
  return mt_query_text(sql, &qo);
}

/* Writes rows [r0, r0 + n) (v = 1000 + r or null; t = r seconds; f = r / 2;
 * s) to path; all_null: v is null in every row and f is NaN in one. */
static void write_file(const char *path, int64_t r0, int64_t n, bool all_null) {
  td_schema sch;
  td_schema_init(&sch);
  td_error err;
  TD_ASSERT_OK(td_schema_add(&sch, "v", TD_TYPE_INT64, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(&sch, "t", TD_TYPE_TIMESTAMP_US, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(&sch, "f", TD_TYPE_FLOAT64, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(&sch, "s", TD_TYPE_UTF8, NULL, true, &err), &err);
  td_parquet_write_options wo;
  td_parquet_write_options_init(&wo);
  wo.codec = 1; /* snappy */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  td_parquet_writer *w;
  TD_ASSERT_OK(td_parquet_writer_open_with(fd, &sch, &wo, &w, &err), &err);
  td_builder *b[4];
  td_type_id types[4] = {TD_TYPE_INT64, TD_TYPE_TIMESTAMP_US, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  for (int c = 0; c < 4; c++) TD_ASSERT_OK(td_builder_new(types[c], &b[c], &err), &err);
  for (int64_t r = r0; r < r0 + n; r++) {
    char s[32];
    snprintf(s, sizeof s, "s%05lld", (long long)r);
    if (all_null || r % 5 == 2) TD_ASSERT_OK(td_builder_append_null(b[0], &err), &err);
    else TD_ASSERT_OK(td_builder_append_int(b[0], 1000 + r, &err), &err);
    TD_ASSERT_OK(td_builder_append_int(b[1], r * 1000000, &err), &err);
    TD_ASSERT_OK(td_builder_append_double(b[2], all_null && r == r0 + 1 ? NAN : (double)r / 2, &err), &err);
    TD_ASSERT_OK(td_builder_append_str(b[3], s, -1, &err), &err);
  }
  struct ArrowArray cols[4], batch;
  for (int c = 0; c < 4; c++) {
    TD_ASSERT_OK(td_builder_finish(b[c], &cols[c], &err), &err);
    td_builder_free(b[c]);
  }
  TD_ASSERT_OK(td_batch_make(4, cols, &batch, &err), &err);
  TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  close(fd);
  td_schema_reset(&sch);
}

static int64_t double_bits(double d) {
  int64_t v;
  memcpy(&v, &d, sizeof v);
  return v;
}

/* Replaces every copy of the 8 bytes of `from` in the file's footer with
 * `to`; returns how many it replaced. */
static int patch_footer(const char *path, int64_t from, int64_t to) {
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long size = ftell(f);
  uint8_t *buf = malloc((size_t)size);
  assert_non_null(buf);
  assert_int_equal(fseek(f, 0, SEEK_SET), 0);
  assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
  uint32_t flen;
  memcpy(&flen, buf + size - 8, 4);
  int n = 0;
  for (long i = size - 8 - (long)flen; i + 8 <= size - 8; i++)
    if (memcmp(buf + i, &from, 8) == 0) {
      memcpy(buf + i, &to, 8);
      n++;
    }
  assert_int_equal(fseek(f, 0, SEEK_SET), 0);
  assert_int_equal(fwrite(buf, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  free(buf);
  return n;
}

/* The file backend's methods in another vtable, not declared exact: a
 * backend whose column_range may give bounds only. */
static td_backend_vtable g_loose;

static td_file_backend *open_tree_as(const char *dir, bool exact) {
  td_error err;
  td_file_backend *fb;
  TD_ASSERT_OK(td_file_backend_new(dir, NULL, &fb, &err), &err);
  g_table = td_file_backend_table_name(fb);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 300;
  td_backend b = td_file_backend_backend(fb);
  if (!exact) {
    g_loose = *b.vtable;
    b.vtable = &g_loose;
  }
  TD_ASSERT_OK(td_service_new(b, &o, &g_svc, &err), &err);
  return fb;
}

static td_file_backend *open_tree(const char *dir) { return open_tree_as(dir, true); }

static void close_tree(td_file_backend *fb) {
  td_service_free(g_svc);
  g_svc = NULL;
  td_file_backend_release(fb);
}

/* The query's text with statistics mode on (the default) and off. */
static void both(const char *sql, char **on, char **off) {
  *on = query(sql);
  setenv("TD_MINMAX_STATS", "0", 1);
  *off = query(sql);
  unsetenv("TD_MINMAX_STATS");
}

static void expect(const char *sql, const char *on_text, const char *off_text) {
  char *on, *off;
  both(sql, &on, &off);
  if (strcmp(on, on_text) != 0 || strcmp(off, off_text) != 0)
    fail_msg("%s\n  on:  %s (expected %s)\n  off: %s (expected %s)", sql, on, on_text, off, off_text);
  free(on);
  free(off);
}

static void test_minmax_stats(void **state) {
  (void)state;
  char dir[512], p[600];
  snprintf(dir, sizeof dir, "%s", td_test_scratch_path("mm"));
  mkdir(dir, 0755);
  snprintf(p, sizeof p, "%s/k=c/x.parquet", dir); /* left by an earlier run */
  unlink(p);
  snprintf(p, sizeof p, "%s/k=a", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/k=b", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/k=a/x.parquet", dir);
  write_file(p, 0, 700, false); /* v 1000..1699 (not 1002: null) */
  snprintf(p, sizeof p, "%s/k=b/x.parquet", dir);
  write_file(p, 3000, 500, false); /* v 4000..4499 */
  /* statistics of k=b claim a minimum of 7 and a maximum of 9999 */
  assert_true(patch_footer(p, 4000, 7) >= 1);
  assert_true(patch_footer(p, 4499, 9999) >= 1);
  /* ... and of f a maximum of 9999.5 (the data's is 1749.5) */
  assert_true(patch_footer(p, double_bits(1749.5), double_bits(9999.5)) >= 1);
  td_file_backend *fb = open_tree(dir);
  expect("SELECT min(v), max(v) FROM d", "7|9999|;", "1000|4499|;");
  /* timestamps: the statistics agree with the data */
  expect("SELECT min(t), max(t), max(v) FROM d", "1970-01-01T00:00:00.000000Z|1970-01-01T00:58:19.000000Z|9999|;",
         "1970-01-01T00:00:00.000000Z|1970-01-01T00:58:19.000000Z|4499|;");
  /* a partition filter selects locations: their statistics */
  expect("SELECT min(v) FROM d WHERE k = 'b'", "7|;", "4000|;");
  /* floats without NaN (the writer's nan_count = 0): their statistics,
   * but not a zero bound (either sign may stand for the other) */
  expect("SELECT max(f) FROM d", "9999.5|;", "1749.5|;");
  /* a zero float, strings, a data filter, a key, another aggregate: the data */
  expect("SELECT min(f), max(s) FROM d", "0|s03499|;", "0|s03499|;");
  expect("SELECT min(v) FROM d WHERE v > 0", "1000|;", "1000|;");
  expect("SELECT k, min(v) FROM d GROUP BY k ORDER BY k", "a|1000|;b|4000|;", "a|1000|;b|4000|;");
  expect("SELECT min(v), count(*) FROM d", "1000|1200|;", "1000|1200|;");
  /* every allocation failing in turn, the IN term's sorted items among them
   * (prune.c): a clean TD_ENOMEM, nothing leaked, then the answer */
  td_query_options sw;
  td_query_options_init(&sw);
  sw.resolver = resolve;
  sw.threads = 1;
  mt_query_alloc_sweep(&sw, "SELECT count(*) AS n FROM d WHERE v IN (4003, 1001, 1500, NULL)", false);
  close_tree(fb);
  /* A backend that does not promise exact ranges: the data, always. */
  fb = open_tree_as(dir, false);
  expect("SELECT min(v), max(v) FROM d", "1000|4499|;", "1000|4499|;");
  close_tree(fb);
  /* A location whose v has no min/max statistics (every v null): the data
   * of every location, the patched one's too. */
  snprintf(p, sizeof p, "%s/k=c", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/k=c/x.parquet", dir);
  write_file(p, 9000, 50, true);
  fb = open_tree(dir);
  expect("SELECT min(v), max(v) FROM d", "1000|4499|;", "1000|4499|;");
  /* its f holds a NaN (no nan_count = 0 written): the data of every location */
  expect("SELECT max(f) FROM d", "nan|;", "nan|;");
  close_tree(fb);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_minmax_stats)};
  return cmocka_run_group_tests(tests, td_test_scratch_setup, td_test_scratch_teardown);
}
