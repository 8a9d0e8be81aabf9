/*
 * tests/formats/ipc/test_ipc_write.c - the IPC stream (and file) writer read back by
 * the reader (all engine types, nulls, child offsets), a stream growing in
 * pieces with refresh, truncation and replacement, laziness of column
 * reads, and concurrent reads.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrow/array.h"
#include "formats/ipc/ipc_internal.h"
#include "formats/ipc/ipc_writer.h"
#include "test.h"
#include "typed_columns.h"

#define NCOLS TD_TEST_NCOLS

static void write_batch(td_ipc_stream_writer *w, int64_t row0, int64_t n, int64_t skip) {
  struct ArrowArray batch = td_test_batch(row0, n, skip);
  td_error err;
  TD_ASSERT_OK(td_ipc_stream_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
}

/* Writes batches of the given sizes to a new temporary file (the IPC file
 * format when `file`). */
static void write_ipc(char *path, const int64_t *sizes, int n, int64_t *rows, bool file) {
  strcpy(path, "/tmp/td_ipc_testXXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  td_schema s;
  td_test_schema(&s, true);
  td_ipc_stream_writer *w;
  td_error err;
  TD_ASSERT_OK((file ? td_ipc_file_writer_open : td_ipc_stream_writer_open)(fd, &s, &w, &err), &err);
  *rows = 0;
  for (int i = 0; i < n; i++) {
    write_batch(w, *rows, sizes[i], i % 2 ? 0 : 3);
    *rows += sizes[i];
  }
  TD_ASSERT_OK(td_ipc_stream_writer_close(w, &err), &err);
  td_schema_reset(&s);
  close(fd);
}

static void write_stream(char *path, const int64_t *sizes, int n, int64_t *rows) {
  write_ipc(path, sizes, n, rows, false);
}

/* The file format: magic at both ends, and the reader takes the footer's
 * blocks (format "arrow-file") to the same rows. */
static void test_file_format(void **state) {
  (void)state;
  char path[64];
  int64_t sizes[] = {1000, 1, 0, 5003, 77}, rows;
  write_ipc(path, sizes, 5, &rows, true);
  FILE *f = fopen(path, "rb");
  char head[8], tail[6];
  assert_int_equal(fread(head, 1, 8, f), 8);
  assert_int_equal(fseek(f, -6, SEEK_END), 0);
  assert_int_equal(fread(tail, 1, 6, f), 6);
  fclose(f);
  assert_memory_equal(head, "ARROW1\0\0", 8);
  assert_memory_equal(tail, "ARROW1", 6);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  assert_string_equal(r->vt->format_name, "arrow-file");
  assert_int_equal(r->num_rows, rows);
  td_test_check_rows(r, 0, rows);
  td_test_check_rows(r, 995, 4000);
  td_reader_close(r);
  /* a file with no batch */
  write_ipc(path, sizes, 0, &rows, true);
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  assert_int_equal(r->num_rows, 0);
  td_reader_close(r);
  unlink(path);
}

static void test_roundtrip(void **state) {
  (void)state;
  char path[64];
  int64_t sizes[] = {1000, 1, 0, 5003, 77}, rows;
  write_stream(path, sizes, 5, &rows);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  assert_string_equal(r->vt->format_name, "arrow-stream");
  assert_int_equal(r->num_rows, rows);
  assert_int_equal(r->schema.n_fields, NCOLS);
  assert_string_equal(r->schema.fields[9].tz, "UTC");
  td_test_check_rows(r, 0, rows);
  td_test_check_rows(r, 999, 2);
  td_test_check_rows(r, 995, 4000);
  td_test_check_rows(r, rows, 0);
  struct ArrowArray a;
  assert_int_equal(td_reader_read(r, 0, rows, 1, &a, &err), TD_EINVAL);
  td_reader_close(r);
  unlink(path);
}

static void append(int fd, const uint8_t *p, int64_t n) { assert_int_equal(write(fd, p, (size_t)n), n); }

static void test_growing(void **state) {
  (void)state;
  char path[64];
  int64_t sizes[] = {100, 250, 7}, rows;
  write_stream(path, sizes, 3, &rows);
  /* where each batch ends, from the reader's index */
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  ipc_reader *ir = (ipc_reader *)r;
  int64_t ends[3], first = ir->batches[0].offset;
  for (int i = 0; i < 3; i++) ends[i] = ir->batches[i].offset + ir->batches[i].meta_len + ir->batches[i].body_len;
  td_reader_close(r);
  FILE *fp = fopen(path, "rb");
  static uint8_t buf[1 << 20];
  int64_t total = (int64_t)fread(buf, 1, sizeof buf, fp);
  fclose(fp);

  char gpath[64];
  strcpy(gpath, "/tmp/td_ipc_growXXXXXX");
  int fd = mkstemp(gpath);
  append(fd, buf, first + 3); /* schema and a partial prefix */
  TD_ASSERT_OK(td_ipc_open(gpath, &r, &err), &err);
  assert_int_equal(r->num_rows, 0);
  int64_t at = first + 3;
  for (int64_t cut = at + 1; cut <= total; cut += (cut % 3) ? 13 : 5) {
    append(fd, buf + at, cut - at);
    at = cut;
    TD_ASSERT_OK(r->vt->refresh(r, &err), &err);
    int64_t expect = 0;
    for (int i = 0; i < 3; i++)
      if (ends[i] <= cut) expect += sizes[i];
    assert_int_equal(r->num_rows, expect);
  }
  append(fd, buf + at, total - at);
  TD_ASSERT_OK(r->vt->refresh(r, &err), &err);
  assert_int_equal(r->num_rows, rows);
  td_test_check_rows(r, 0, rows);
  /* truncation */
  assert_int_equal(ftruncate(fd, total - 20), 0);
  assert_int_equal(r->vt->refresh(r, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "truncated/replaced");
  td_reader_close(r);
  /* replacement */
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  assert_int_equal(rename(gpath, path), 0);
  assert_int_equal(r->vt->refresh(r, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "truncated/replaced");
  td_reader_close(r);
  close(fd);
  unlink(path);
}

static void test_lazy(void **state) {
  (void)state;
  char path[64];
  int64_t sizes[10], rows;
  for (int i = 0; i < 10; i++) sizes[i] = 10000;
  write_stream(path, sizes, 10, &rows);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  int64_t size, before = atomic_load(&r->io.bytes_read);
  TD_ASSERT_OK(td_io_stat(&r->io, &size, NULL, &err), &err);
  struct ArrowArray a;
  TD_ASSERT_OK(td_reader_read(r, 4, 30000, 10000, &a, &err), &err);
  a.release(&a);
  int64_t used = atomic_load(&r->io.bytes_read) - before;
  printf("lazy: one column of one batch read %lld of %lld bytes (open read %lld)\n", (long long)used,
         (long long)size, (long long)before);
  assert_true(used < size / 50);
  assert_true(before < size / 50);
  td_reader_close(r);
  unlink(path);
}

typedef struct thr {
  td_file_reader *r;
  int seed;
} thr;

static void *reader_thread(void *p) {
  thr *t = p;
  unsigned s = (unsigned)t->seed;
  for (int k = 0; k < 20; k++) {
    int64_t off = rand_r(&s) % (t->r->num_rows - 100);
    td_test_check_rows(t->r, off, 1 + rand_r(&s) % 99);
  }
  return NULL;
}

static void test_concurrent(void **state) {
  (void)state;
  char path[64];
  int64_t sizes[] = {300, 400, 500}, rows;
  write_stream(path, sizes, 3, &rows);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  pthread_t th[4];
  thr t[4];
  for (int i = 0; i < 4; i++) {
    t[i].r = r;
    t[i].seed = i + 1;
    pthread_create(&th[i], NULL, reader_thread, &t[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  td_reader_close(r);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_file_format), cmocka_unit_test(test_growing),
      cmocka_unit_test(test_lazy), cmocka_unit_test(test_concurrent)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
