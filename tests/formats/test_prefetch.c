/*
 * tests/formats/test_prefetch.c - the readers' prefetch hints
 * (td_io_willneed): a scan of a column hints the column's chunks (Parquet)
 * or buffers (Arrow IPC) ahead of it, each once; reads that are not a scan
 * (elsewhere in the file, not where the last read ended) and readers over
 * memory, and files no larger than the kernel's readahead, hint nothing;
 * the rows read are the file's either way.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrow/array.h"
#include "formats/ipc/ipc_internal.h"
#include "formats/ipc/ipc_writer.h"
#include "formats/parquet/reader.h"
#include "formats/parquet/writer.h"
#include "test.h"
#include "typed_columns.h"

enum { COL_I32 = 3, COL_I64 = 4, COL_S = 8 };

/* Reads rows [offset, offset + n) of column col and drops them. */
static void read_rows(td_file_reader *r, int64_t col, int64_t offset, int64_t n) {
  struct ArrowArray a;
  td_error err;
  TD_ASSERT_OK(td_reader_read(r, col, offset, n, &a, &err), &err);
  assert_int_equal(a.length, n);
  a.release(&a);
}

static int64_t hints(const td_file_reader *r) { return atomic_load(&r->io.hints); }
static int64_t hinted_bytes(const td_file_reader *r) { return atomic_load(&r->io.hinted_bytes); }

/* ---- Parquet ---- */

/* The typed table's rows [0, rows) in row groups of `group` rows. */
static void write_parquet(const char *path, int64_t rows, int64_t group) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  td_schema s;
  td_test_schema(&s, true);
  td_parquet_write_options o;
  td_parquet_write_options_init(&o);
  o.row_group_size = group;
  o.dictionary = false;
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open_with(fd, &s, &o, &w, &err), &err);
  struct ArrowArray batch = td_test_batch(0, rows, 0);
  TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  td_schema_reset(&s);
  close(fd);
}

/* Bytes of column col's chunks in row groups [from, to). */
static int64_t chunk_bytes(const pq_reader *p, int64_t col, int32_t from, int32_t to) {
  int64_t n = 0;
  for (int32_t g = from; g < to; g++) n += p->meta.row_groups[g].columns[p->cols[col].leaf].total_compressed_size;
  return n;
}

static void test_parquet_scan_hints_each_chunk_once(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("prefetch.parquet");
  write_parquet(path, 10000, 1000);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  const pq_reader *p = (const pq_reader *)r;
  assert_int_equal(p->meta.n_row_groups, 10);
  assert_int_equal(hints(r), 0); /* opening hints nothing */

  /* A scan from row 0: every chunk of the column, one call each (the file
   * is far below the bytes hinted ahead), then no more as it goes on. */
  read_rows(r, COL_I64, 0, 500);
  assert_int_equal(hints(r), 10);
  int64_t bytes = hinted_bytes(r);
  assert_true(bytes >= chunk_bytes(p, COL_I64, 0, 10));
  assert_true(bytes <= chunk_bytes(p, COL_I64, 0, 10) + 10 * 100); /* (chunk_bounds' slack) */
  for (int64_t at = 500; at < 10000; at += 500) read_rows(r, COL_I64, at, 500);
  assert_int_equal(hints(r), 10);
  assert_int_equal(hinted_bytes(r), bytes);

  /* Reads of another column elsewhere (a narrow read, then a wide one, not
   * where the column's last read ended) hint nothing... */
  read_rows(r, COL_I32, 5000, 10);
  read_rows(r, COL_I32, 7000, 1000);
  assert_int_equal(hints(r), 10);
  /* ...until one goes on from where the last ended: from its row group on. */
  read_rows(r, COL_I32, 8000, 1000);
  assert_int_equal(hints(r), 12);
  assert_true(hinted_bytes(r) - bytes >= chunk_bytes(p, COL_I32, 8, 10));

  /* The rows are the file's. */
  td_test_check_rows(r, 0, 10000);
  td_reader_close(r);
  unlink(path);
}

/* ---- Arrow IPC ---- */

/* The typed table in an IPC file of n_batches batches of `rows` rows. */
static void write_ipc(const char *path, int n_batches, int64_t rows) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  td_schema s;
  td_test_schema(&s, true);
  td_ipc_stream_writer *w;
  td_error err;
  TD_ASSERT_OK(td_ipc_file_writer_open(fd, &s, &w, &err), &err);
  for (int i = 0; i < n_batches; i++) {
    struct ArrowArray batch = td_test_batch(i * rows, rows, 0);
    TD_ASSERT_OK(td_ipc_stream_writer_write(w, &batch, &err), &err);
    batch.release(&batch);
  }
  TD_ASSERT_OK(td_ipc_stream_writer_close(w, &err), &err);
  td_schema_reset(&s);
  close(fd);
}

static int64_t file_size(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return (int64_t)st.st_size;
}

/* Batches of more than 256 KiB of body: the headers, then the column's own
 * buffers (validity and values), a scan hinting each batch once. */
static void test_ipc_scan_hints_column_buffers(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("prefetch_big.arrow");
  const int64_t rows = 40000;
  write_ipc(path, 6, rows);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  const ipc_reader *x = (const ipc_reader *)r;
  assert_int_equal(x->n_batches, 6);
  int64_t meta = 0;
  for (int i = 0; i < 6; i++) {
    assert_true(x->batches[i].body_len > ((int64_t)256 << 10));
    meta += x->batches[i].meta_len;
  }
  assert_int_equal(hints(r), 0);
  read_rows(r, COL_I64, 0, 1000);
  /* each batch: its header, its validity bitmap and its values */
  assert_int_equal(hints(r), 6 * 3);
  int64_t values = 6 * rows * 8, bitmaps = 6 * ((rows + 7) / 8);
  int64_t bytes = hinted_bytes(r);
  assert_true(bytes >= meta + values + bitmaps);
  assert_true(bytes <= meta + values + bitmaps + 6 * 2 * 64); /* (buffers padded to 64 bytes at most) */
  assert_true(bytes < file_size(path) / 3);
  for (int64_t at = 1000; at < 6 * rows; at += 4000)
    read_rows(r, COL_I64, at, 6 * rows - at < 4000 ? 6 * rows - at : 4000);
  assert_int_equal(hints(r), 6 * 3);
  /* a string column: validity, offsets and characters */
  read_rows(r, COL_S, 0, 10);
  assert_int_equal(hints(r), 6 * 3 + 6 * 4);
  td_test_check_rows(r, 0, 6 * rows);
  td_reader_close(r);
  unlink(path);
}

/* Small batches are hinted whole, each once; reads that are not a scan, and
 * readers over memory, hint nothing. */
static void test_ipc_small_batches_and_other_reads(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("prefetch_small.arrow");
  write_ipc(path, 20, 1000);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  const ipc_reader *x = (const ipc_reader *)r;
  int64_t whole = 0;
  for (int i = 0; i < 20; i++) whole += x->batches[i].meta_len + x->batches[i].body_len;
  read_rows(r, COL_I32, 7000, 500); /* not a scan */
  assert_int_equal(hints(r), 0);
  read_rows(r, COL_I32, 7500, 500); /* goes on: batch 7 on */
  assert_int_equal(hints(r), 13);
  read_rows(r, COL_I64, 0, 20000);
  assert_int_equal(hints(r), 13 + 20);
  assert_true(hinted_bytes(r) >= whole);
  td_test_check_rows(r, 0, 20000);
  td_reader_close(r);

  /* over memory */
  int64_t n = file_size(path);
  uint8_t *buf = malloc((size_t)n);
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(pread(fd, buf, (size_t)n, 0), (ssize_t)n);
  close(fd);
  TD_ASSERT_OK(td_ipc_open_mem(buf, n, "memory", &r, &err), &err);
  read_rows(r, COL_I64, 0, 20000);
  assert_int_equal(hints(r), 0);
  td_reader_close(r);
  free(buf);
  unlink(path);
}

/* A file no larger than the kernel's readahead (128 KiB) is brought in by
 * its first read: a scan of it hints nothing, and reads the same rows. */
static void test_small_file_hints_nothing(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("prefetch-small.parquet");
  write_parquet(path, 1000, 100);
  assert_true(file_size(path) <= 128 << 10);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(((const pq_reader *)r)->meta.n_row_groups, 10);
  for (int64_t at = 0; at < 1000; at += 100) read_rows(r, COL_I64, at, 100);
  assert_int_equal(hints(r), 0);
  td_test_check_rows(r, 0, 1000);
  td_reader_close(r);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parquet_scan_hints_each_chunk_once),
      cmocka_unit_test(test_ipc_scan_hints_column_buffers),
      cmocka_unit_test(test_ipc_small_batches_and_other_reads),
      cmocka_unit_test(test_small_file_hints_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
