/*
 * tests/formats/parquet/test_parquet_write.c - the Parquet writer read back
 * by the project's Parquet reader: every engine type, nulls, child offsets,
 * several row groups (one empty batch skipped), snappy and uncompressed
 * pages, row-group statistics; errors for a wrong batch shape, nulls in a
 * non-nullable column, a failing write, and allocation failures.
 * (pyarrow and DuckDB read the writer's files in tests/formats/parquet/
 * check_pyarrow.py.)
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/parquet/writer.h"
#include "formats/reader.h"
#include "test.h"
#include "typed_columns.h"
#include "util/alloc.h"

#define NCOLS TD_TEST_NCOLS

static const int64_t SIZES[] = {1000, 1, 0, 5003, 77};
#define N_SIZES 5

/* Writes batches of SIZES to a new temporary file; returns its rows. */
static int64_t write_file(char *path, bool snappy) {
  strcpy(path, "/tmp/td_pq_writeXXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  td_schema s;
  td_test_schema(&s, true);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open(fd, &s, snappy, &w, &err), &err);
  int64_t rows = 0;
  for (int i = 0; i < N_SIZES; i++) {
    struct ArrowArray batch = td_test_batch(rows, SIZES[i], i % 2 ? 0 : 3);
    TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
    batch.release(&batch);
    rows += SIZES[i];
  }
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  td_schema_reset(&s);
  close(fd);
  return rows;
}

/* The reader's per-row-group statistics match the values written. */
static void check_stats(td_file_reader *r) {
  for (int c = 0; c < NCOLS; c++) {
    int64_t n;
    const td_chunk_stats *st = r->vt->column_stats ? r->vt->column_stats(r, c, &n) : NULL;
    if (td_test_types[c] == TD_TYPE_BOOL && !st) continue; /* the reader may skip bool statistics */
    assert_non_null(st);
    assert_int_equal(n, N_SIZES - 1); /* the empty batch wrote no row group */
    int64_t row0 = 0;
    for (int64_t g = 0; g < n; g++) {
      assert_int_equal(st[g].row_begin, row0);
      int64_t nulls = 0, lo = INT64_MAX, hi = INT64_MIN;
      for (int64_t i = row0; i < row0 + st[g].row_count; i++) {
        if (td_test_is_null(c, i)) {
          nulls++;
          continue;
        }
        int64_t v = td_test_types[c] == TD_TYPE_UTF8 ? 0 : td_test_value(c, i);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      assert_int_equal(st[g].null_count, nulls);
      if (st[g].has_min_max && td_test_types[c] != TD_TYPE_UTF8) {
        if (td_type_is_float(td_test_types[c])) {
          assert_true(st[g].min.v.f == (double)lo / 4 && st[g].max.v.f == (double)hi / 4);
        } else {
          assert_int_equal(st[g].min.v.i, lo);
          assert_int_equal(st[g].max.v.i, hi);
        }
      }
      if (td_test_types[c] != TD_TYPE_UTF8 && td_test_types[c] != TD_TYPE_BOOL) assert_true(st[g].has_min_max);
      row0 += st[g].row_count;
    }
  }
}

static void roundtrip(bool snappy) {
  char path[64];
  int64_t rows = write_file(path, snappy);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_string_equal(r->vt->format_name, "parquet");
  assert_int_equal(r->num_rows, rows);
  assert_int_equal(r->schema.n_fields, NCOLS);
  assert_int_equal(r->n_unsupported, 0);
  for (int c = 0; c < NCOLS; c++) assert_int_equal(r->schema.fields[c].type, td_test_types[c]);
  assert_string_equal(r->schema.fields[9].tz, "UTC");
  td_test_check_rows(r, 0, rows);
  td_test_check_rows(r, 999, 2);
  td_test_check_rows(r, 995, 4000);
  check_stats(r);
  td_reader_close(r);
  unlink(path);
}

static void test_roundtrip_snappy(void **state) {
  (void)state;
  roundtrip(true);
}
static void test_roundtrip_plain(void **state) {
  (void)state;
  roundtrip(false);
}

/* Required columns (no definition levels) read back as written. */
static void test_required(void **state) {
  (void)state;
  td_test_with_nulls = false;
  char path[] = "/tmp/td_pq_reqXXXXXX";
  int fd = mkstemp(path);
  td_schema s;
  td_test_schema(&s, false);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open(fd, &s, true, &w, &err), &err);
  struct ArrowArray batch = td_test_batch(0, 3000, 2);
  TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  close(fd);
  td_file_reader *r;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(r->num_rows, 3000);
  assert_false(r->schema.fields[3].nullable);
  td_test_check_rows(r, 0, 3000);
  td_reader_close(r);
  td_schema_reset(&s);
  unlink(path);
  td_test_with_nulls = true;
}

static void test_errors(void **state) {
  (void)state;
  char path[] = "/tmp/td_pq_errXXXXXX";
  int fd = mkstemp(path);
  td_schema s;
  td_test_schema(&s, false);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open(fd, &s, false, &w, &err), &err);
  /* nulls in a column declared non-nullable */
  struct ArrowArray batch = td_test_batch(0, 100, 0);
  assert_int_equal(td_parquet_writer_write(w, &batch, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "expected no nulls");
  TD_ASSERT_CONTAINS(err.message, "'b'");
  /* a batch with fewer columns than the schema */
  batch.n_children = 3;
  assert_int_equal(td_parquet_writer_write(w, &batch, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "expected 10 columns, found 3");
  batch.n_children = NCOLS;
  batch.release(&batch);
  td_parquet_writer_abort(w);
  close(fd);
  /* a descriptor that cannot be written */
  int ro = open(path, O_RDONLY);
  assert_int_equal(td_parquet_writer_open(ro, &s, false, &w, &err), TD_EIO);
  TD_ASSERT_CONTAINS(err.message, "cannot write Parquet file");
  close(ro);
  td_parquet_writer_close(NULL, NULL);
  td_parquet_writer_abort(NULL);
  td_schema_reset(&s);
  unlink(path);
}

/* Every allocation failure is an error (never a crash), and frees what it took. */
static void test_alloc_failures(void **state) {
  (void)state;
  td_schema s;
  td_test_schema(&s, true);
  struct ArrowArray batch = td_test_batch(0, 500, 1);
  char path[] = "/tmp/td_pq_oomXXXXXX";
  int fd = mkstemp(path);
  bool done = false;
  for (int64_t n = 0; !done && n < 10000; n++) {
    assert_int_equal(ftruncate(fd, 0), 0);
    lseek(fd, 0, SEEK_SET);
    td_parquet_writer *w = NULL;
    td_error err;
    td__alloc_fail_after(n);
    int rc = td_parquet_writer_open(fd, &s, true, &w, &err);
    if (!rc) rc = td_parquet_writer_write(w, &batch, &err);
    if (!rc) rc = td_parquet_writer_write(w, &batch, &err);
    if (rc) td_parquet_writer_abort(w);
    else rc = td_parquet_writer_close(w, &err);
    td__alloc_fail_after(-1);
    if (rc) assert_int_equal(rc, TD_ENOMEM);
    done = rc == TD_OK;
  }
  assert_true(done);
  batch.release(&batch);
  close(fd);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(r->num_rows, 1000);
  td_reader_close(r);
  td_schema_reset(&s);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_roundtrip_snappy), cmocka_unit_test(test_roundtrip_plain),
                                     cmocka_unit_test(test_required), cmocka_unit_test(test_errors),
                                     cmocka_unit_test(test_alloc_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
