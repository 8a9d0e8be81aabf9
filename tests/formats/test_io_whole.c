/*
 * tests/formats/test_io_whole.c - small files read whole when opened
 * (td_io_open_small): such a file holds no descriptor after its open, its
 * reads (counted) give its bytes, a read past its end fails as a file's
 * does, its size and inode are the ones it had; a bigger file, or one past
 * the process-wide budget, is opened as a pooled file and reads the same;
 * closing gives the budget back; a file that grows between its fstat and
 * the read is pooled.  A Parquet reader of a small file holds
 * no descriptor and reads its rows.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/io.h"
#include "formats/parquet/reader.h"
#include "pq_build.h"
#include "test.h"

/* A file of n bytes, byte i being (i * 7) & 0xff. */
static const char *write_bytes(const char *name, int64_t n) {
  const char *path = td_test_scratch_path(name);
  uint8_t *b = malloc((size_t)n + 1);
  assert_non_null(b);
  for (int64_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 7);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, b, (size_t)n), (ssize_t)n);
  close(fd);
  free(b);
  return path;
}

/* Reads [off, off + n) and checks every byte. */
static void check_read(td_io *io, int64_t off, int64_t n) {
  uint8_t *b = malloc((size_t)n + 1);
  assert_non_null(b);
  td_error err;
  TD_ASSERT_OK(td_io_read(io, b, n, off, &err), &err);
  for (int64_t i = 0; i < n; i++)
    if (b[i] != (uint8_t)((off + i) * 7)) fail_msg("byte %lld reads %u", (long long)(off + i), b[i]);
  free(b);
}

static void test_small_file_read_whole(void **state) {
  (void)state;
  const char *path = write_bytes("whole-small.bin", 5000);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  const int64_t open0 = td_io_pool_open_count(), held0 = td_io_whole_bytes();
  td_io io;
  td_error err;
  TD_ASSERT_OK(td_io_open_small(&io, path, 8192, &err), &err);
  assert_true(io.whole);
  assert_int_equal(io.fd, -1);
  assert_int_equal(td_io_pool_open_count(), open0); /* no descriptor kept */
  assert_int_equal(td_io_whole_bytes(), held0 + 5000);
  assert_int_equal(atomic_load(&io.reads), 1);
  assert_int_equal(atomic_load(&io.bytes_read), 5000);
  check_read(&io, 0, 5000);
  check_read(&io, 4990, 10);
  check_read(&io, 123, 1);
  assert_int_equal(atomic_load(&io.reads), 4); /* reads from memory count too */
  assert_int_equal(atomic_load(&io.bytes_read), 5000 + 5011);
  int64_t size = -1;
  uint64_t ino = 0;
  TD_ASSERT_OK(td_io_stat(&io, &size, &ino, &err), &err);
  assert_int_equal(size, 5000);
  assert_int_equal(ino, (uint64_t)st.st_ino);
  TD_ASSERT_OK(td_io_stat_at_open(&io, &size, &ino, &err), &err);
  assert_int_equal(size, 5000);
  assert_int_equal(ino, (uint64_t)st.st_ino);
  /* past the end: the short-read error of a file */
  uint8_t b[16];
  assert_int_equal(td_io_read(&io, b, 16, 4990, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "unexpected end of file: wanted 16 bytes at offset 4990, the file has 5000");
  /* the file replaced meanwhile: the reads still give the bytes opened */
  unlink(path);
  write_bytes("whole-small.bin", 100);
  check_read(&io, 4000, 1000);
  td_io_close(&io);
  assert_int_equal(td_io_whole_bytes(), held0);
  unlink(path);
}

static void test_bigger_file_pooled(void **state) {
  (void)state;
  const char *path = write_bytes("whole-big.bin", 20000);
  td_io io;
  td_error err;
  const int64_t held0 = td_io_whole_bytes();
  TD_ASSERT_OK(td_io_open_small(&io, path, 19999, &err), &err);
  assert_false(io.whole);
  assert_true(io.pooled);
  assert_int_equal(td_io_whole_bytes(), held0);
  check_read(&io, 0, 20000);
  td_io_close(&io);
  /* exactly `max` bytes is small */
  TD_ASSERT_OK(td_io_open_small(&io, path, 20000, &err), &err);
  assert_true(io.whole);
  check_read(&io, 19000, 1000);
  td_io_close(&io);
  /* an empty file */
  const char *empty = write_bytes("whole-empty.bin", 0);
  TD_ASSERT_OK(td_io_open_small(&io, empty, 100, &err), &err);
  assert_true(io.whole);
  int64_t got = -1;
  uint8_t b[8];
  TD_ASSERT_OK(td_io_read_some(&io, b, 8, 0, &got, &err), &err);
  assert_int_equal(got, 0);
  td_io_close(&io);
  unlink(empty);
  unlink(path);
}

/* Appends one byte to the file about to be read whole. */
static void grow_file(const char *path) {
  int fd = open(path, O_WRONLY | O_APPEND);
  assert_true(fd >= 0);
  uint8_t b = 0xee;
  assert_int_equal(write(fd, &b, 1), 1);
  close(fd);
}

/* A file that grows between its fstat and its whole read is not taken
 * whole: it is pooled, its size the one fstat gave, and its reads give its
 * bytes; the budget is given back. */
static void test_grown_file_pooled(void **state) {
  (void)state;
  const char *path = write_bytes("whole-grows.bin", 3000);
  const int64_t held0 = td_io_whole_bytes();
  td_io io;
  td_error err;
  td__io_whole_hook = grow_file;
  int rc = td_io_open_small(&io, path, 8192, &err);
  td__io_whole_hook = NULL;
  TD_ASSERT_OK(rc, &err);
  assert_false(io.whole);
  assert_true(io.pooled);
  assert_int_equal(io.open_size, 3000);
  assert_int_equal(td_io_whole_bytes(), held0);
  check_read(&io, 0, 3000);
  uint8_t b[4];
  TD_ASSERT_OK(td_io_read(&io, b, 1, 3000, &err), &err); /* the byte it grew by */
  assert_int_equal(b[0], 0xee);
  td_io_close(&io);
  /* opened again, at its new size, it is read whole */
  TD_ASSERT_OK(td_io_open_small(&io, path, 8192, &err), &err);
  assert_true(io.whole);
  assert_int_equal(io.open_size, 3001);
  check_read(&io, 100, 2900);
  td_io_close(&io);
  assert_int_equal(td_io_whole_bytes(), held0);
  unlink(path);
}

/* Past the budget (64 MiB) files are pooled; the bytes come back at close. */
static void test_budget(void **state) {
  (void)state;
  enum { N = 80, SIZE = 1 << 20 };
  const char *path = write_bytes("whole-budget.bin", SIZE);
  static td_io io[N];
  td_error err;
  const int64_t held0 = td_io_whole_bytes();
  int whole = 0;
  for (int i = 0; i < N; i++) {
    TD_ASSERT_OK(td_io_open_small(&io[i], path, SIZE, &err), &err);
    whole += io[i].whole;
    assert_true(td_io_whole_bytes() <= (int64_t)64 << 20);
  }
  assert_int_equal(whole, 64 - held0 / SIZE);
  assert_false(io[N - 1].whole);
  for (int i = 0; i < N; i += 7) check_read(&io[i], SIZE - 4096, 4096);
  for (int i = 0; i < N; i++) td_io_close(&io[i]);
  assert_int_equal(td_io_whole_bytes(), held0);
  unlink(path);
}

static void test_missing_file(void **state) {
  (void)state;
  td_io io;
  td_error err;
  const char *path = td_test_scratch_path("whole-missing.bin");
  assert_int_equal(td_io_open_small(&io, path, 100, &err), TD_EIO);
  TD_ASSERT_CONTAINS(err.message, "cannot open");
  TD_ASSERT_CONTAINS(err.message, "whole-missing.bin");
  assert_int_equal(td_io_whole_bytes(), 0);
}

/* A small Parquet file: read whole, no descriptor held, its rows read. */
static void test_parquet_small_file(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("whole.parquet");
  pqb_spec spec = {.phys = 2, .converted = -1, .rows = 300, .page_rows = 50}; /* x = row */
  assert_int_equal(pqb_write(path, &spec), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_size <= 64 << 10);
  const int64_t open0 = td_io_pool_open_count();
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_true(r->io.whole);
  assert_int_equal(td_io_pool_open_count(), open0);
  assert_true(atomic_load(&r->io.bytes_read) >= st.st_size); /* read whole, then the footer from memory */
  const int64_t from[] = {0, 250}, n[] = {300, 50};
  for (int k = 0; k < 2; k++) {
    struct ArrowArray a;
    TD_ASSERT_OK(td_reader_read(r, 0, from[k], n[k], &a, &err), &err);
    assert_int_equal(a.length, n[k]);
    const int64_t *x = a.buffers[1];
    for (int64_t i = 0; i < n[k]; i++) assert_int_equal(x[a.offset + i], from[k] + i);
    a.release(&a);
  }
  assert_int_equal(td_io_pool_open_count(), open0);
  td_reader_close(r);
  assert_int_equal(td_io_whole_bytes(), 0);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_file_read_whole),
      cmocka_unit_test(test_bigger_file_pooled),
      cmocka_unit_test(test_grown_file_pooled),
      cmocka_unit_test(test_budget),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_parquet_small_file),
  };
  return cmocka_run_group_tests(tests, td_test_scratch_setup, td_test_scratch_teardown);
}
