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

#include "arrow/array.h"
#include "formats/parquet/writer.h"
#include "formats/reader.h"
#include "test.h"
#include "util/alloc.h"

#define NCOLS 10
static const td_type_id TYPES[NCOLS] = {TD_TYPE_BOOL,   TD_TYPE_INT8,    TD_TYPE_INT16,   TD_TYPE_INT32,
                                        TD_TYPE_INT64,  TD_TYPE_UINT16,  TD_TYPE_FLOAT32, TD_TYPE_FLOAT64,
                                        TD_TYPE_UTF8,   TD_TYPE_TIMESTAMP};

static void make_schema(td_schema *s, bool nullable) {
  static const char *names[NCOLS] = {"b", "i8", "i16", "i32", "i64", "u16", "f32", "f64", "s", "ts"};
  td_schema_init(s);
  for (int i = 0; i < NCOLS; i++)
    TD_ASSERT_OK(td_schema_add(s, names[i], TYPES[i], i == 9 ? "UTC" : NULL, nullable, NULL), NULL);
}

static bool g_nulls = true;
static bool is_null(int col, int64_t row) { return g_nulls && (row * 7 + col) % 11 == 3; }
static int64_t ival(int col, int64_t row) {
  int64_t v = (row * 2654435761LL + col * 97) % 30000 - 15000 * (col != 5);
  if (TYPES[col] == TD_TYPE_INT8) v %= 128;
  if (TYPES[col] == TD_TYPE_BOOL) v &= 1;
  if (TYPES[col] == TD_TYPE_TIMESTAMP) v *= 1000000007;
  return v;
}

/* Column `col` for rows [row0, row0 + n), with `skip` junk rows hidden
 * behind an offset. */
static struct ArrowArray make_column(int col, int64_t row0, int64_t n, int64_t skip) {
  td_array a;
  TD_ASSERT_OK(td_array_init(&a, TYPES[col], n + skip, NULL), NULL);
  char buf[32];
  for (int64_t k = -skip; k < n; k++) {
    int64_t row = row0 + k;
    if (k >= 0 && is_null(col, row)) {
      TD_ASSERT_OK(td_array_append_null(&a, NULL), NULL);
    } else if (TYPES[col] == TD_TYPE_UTF8) {
      int len = snprintf(buf, sizeof buf, "v%lld", (long long)ival(col, row));
      TD_ASSERT_OK(td_array_append_str(&a, buf, row % 5 == 0 ? 0 : len, NULL), NULL);
    } else if (td_type_is_float(TYPES[col])) {
      TD_ASSERT_OK(td_array_append_double(&a, (double)ival(col, row) / 4, NULL), NULL);
    } else {
      TD_ASSERT_OK(td_array_append_int(&a, ival(col, row), NULL), NULL);
    }
  }
  struct ArrowArray out;
  TD_ASSERT_OK(td_array_export(&a, &out, NULL), NULL);
  out.offset = skip;
  out.length = n;
  out.null_count = 0;
  for (int64_t k = 0; k < n; k++) out.null_count += is_null(col, row0 + k);
  return out;
}

static struct ArrowArray make_batch(int64_t row0, int64_t n, int64_t skip) {
  struct ArrowArray kids[NCOLS], batch;
  for (int c = 0; c < NCOLS; c++) kids[c] = make_column(c, row0, n, skip);
  TD_ASSERT_OK(td_struct_array_make(NCOLS, kids, n, &batch, NULL), NULL);
  return batch;
}

static const int64_t SIZES[] = {1000, 1, 0, 5003, 77};
#define N_SIZES 5

/* Writes batches of SIZES to a new temporary file; returns its rows. */
static int64_t write_file(char *path, bool snappy) {
  strcpy(path, "/tmp/td_pq_writeXXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  td_schema s;
  make_schema(&s, true);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open(fd, &s, snappy, &w, &err), &err);
  int64_t rows = 0;
  for (int i = 0; i < N_SIZES; i++) {
    struct ArrowArray batch = make_batch(rows, SIZES[i], i % 2 ? 0 : 3);
    TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
    batch.release(&batch);
    rows += SIZES[i];
  }
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  td_schema_reset(&s);
  close(fd);
  return rows;
}

static void check_rows(td_file_reader *r, int64_t offset, int64_t n) {
  for (int c = 0; c < NCOLS; c++) {
    struct ArrowArray a;
    td_error err;
    TD_ASSERT_OK(td_reader_read(r, c, offset, n, &a, &err), &err);
    TD_ASSERT_OK(td_array_validate(TYPES[c], &a, &err), &err);
    struct ArrowArray expect = make_column(c, offset, n, 0);
    td_colview gv, ev;
    TD_ASSERT_OK(td_colview_init(&gv, TYPES[c], &a, NULL), NULL);
    TD_ASSERT_OK(td_colview_init(&ev, TYPES[c], &expect, NULL), NULL);
    for (int64_t i = 0; i < n; i++) {
      td_value x = td_colview_value(&gv, i), y = td_colview_value(&ev, i);
      assert_int_equal(x.is_null, y.is_null);
      if (x.is_null) continue;
      if (TYPES[c] == TD_TYPE_UTF8) {
        assert_int_equal(x.v.s.len, y.v.s.len);
        assert_memory_equal(x.v.s.ptr, y.v.s.ptr, x.v.s.len);
      } else if (td_type_is_float(TYPES[c])) {
        assert_true(x.v.f == y.v.f);
      } else {
        assert_int_equal(td_colview_int(&gv, i), td_colview_int(&ev, i));
      }
    }
    a.release(&a);
    expect.release(&expect);
  }
}

/* The reader's per-row-group statistics match the values written. */
static void check_stats(td_file_reader *r) {
  for (int c = 0; c < NCOLS; c++) {
    int64_t n;
    const td_chunk_stats *st = r->vt->column_stats ? r->vt->column_stats(r, c, &n) : NULL;
    if (TYPES[c] == TD_TYPE_BOOL && !st) continue; /* the reader may skip bool statistics */
    assert_non_null(st);
    assert_int_equal(n, N_SIZES - 1); /* the empty batch wrote no row group */
    int64_t row0 = 0;
    for (int64_t g = 0; g < n; g++) {
      assert_int_equal(st[g].row_begin, row0);
      int64_t nulls = 0, lo = INT64_MAX, hi = INT64_MIN;
      for (int64_t i = row0; i < row0 + st[g].row_count; i++) {
        if (is_null(c, i)) {
          nulls++;
          continue;
        }
        int64_t v = TYPES[c] == TD_TYPE_UTF8 ? 0 : ival(c, i);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      assert_int_equal(st[g].null_count, nulls);
      if (st[g].has_min_max && TYPES[c] != TD_TYPE_UTF8) {
        if (td_type_is_float(TYPES[c])) {
          assert_true(st[g].min.v.f == (double)lo / 4 && st[g].max.v.f == (double)hi / 4);
        } else {
          assert_int_equal(st[g].min.v.i, lo);
          assert_int_equal(st[g].max.v.i, hi);
        }
      }
      if (TYPES[c] != TD_TYPE_UTF8 && TYPES[c] != TD_TYPE_BOOL) assert_true(st[g].has_min_max);
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
  for (int c = 0; c < NCOLS; c++) assert_int_equal(r->schema.fields[c].type, TYPES[c]);
  assert_string_equal(r->schema.fields[9].tz, "UTC");
  check_rows(r, 0, rows);
  check_rows(r, 999, 2);
  check_rows(r, 995, 4000);
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
  g_nulls = false;
  char path[] = "/tmp/td_pq_reqXXXXXX";
  int fd = mkstemp(path);
  td_schema s;
  make_schema(&s, false);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open(fd, &s, true, &w, &err), &err);
  struct ArrowArray batch = make_batch(0, 3000, 2);
  TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  close(fd);
  td_file_reader *r;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(r->num_rows, 3000);
  assert_false(r->schema.fields[3].nullable);
  check_rows(r, 0, 3000);
  td_reader_close(r);
  td_schema_reset(&s);
  unlink(path);
  g_nulls = true;
}

static void test_errors(void **state) {
  (void)state;
  char path[] = "/tmp/td_pq_errXXXXXX";
  int fd = mkstemp(path);
  td_schema s;
  make_schema(&s, false);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open(fd, &s, false, &w, &err), &err);
  /* nulls in a column declared non-nullable */
  struct ArrowArray batch = make_batch(0, 100, 0);
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
  make_schema(&s, true);
  struct ArrowArray batch = make_batch(0, 500, 1);
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
