/*
 * tests/formats/parquet/test_parquet_items.c - the Parquet reader against
 * files generated at run time for the hardening items of issue 8: bounded
 * memory on chunks that decode to more than the cache holds (item 11),
 * footer amplification (item 14), dates and timestamps outside the
 * nanosecond range (item 18).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arrow/array.h"
#include "formats/reader.h"
#include "pq_build.h"
#include "test.h"
#include "util/alloc.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#define tmp_path td_test_scratch_path

static int64_t read_int(td_file_reader *r, int64_t row, td_error *err, int *rc) {
  struct ArrowArray a;
  *rc = td_reader_read(r, 0, row, 1, &a, err);
  if (*rc) return 0;
  td_colview v;
  int64_t x = 0;
  if (td_colview_init(&v, r->schema.fields[0].type, &a, err) == TD_OK) x = td_colview_int(&v, 0);
  a.release(&a);
  return x;
}

/* ---- item 11: bounded memory ---- */

#ifndef SANITIZED
/* Reads a few 65,536-row pages of a column chunk of two 2^25-row pages
 * (each decodes to 256 MiB; the file is tiny), keeping every page alive as
 * an engine cache would.  Runs in a child under an address-space limit. */
static void item11_child(const char *path) {
  struct rlimit rl = {(rlim_t)1100 << 20, (rlim_t)1100 << 20};
  if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
  td_file_reader *r;
  td_error err;
  if (td_parquet_open(path, &r, &err) != TD_OK) _exit(4);
  struct ArrowArray keep[8];
  int64_t offs[8] = {0, 65536, 1 << 20, (1 << 25) - 65536, 1 << 25, (1 << 25) + 65536, (3 << 24), (1 << 26) - 65536};
  for (int i = 0; i < 8; i++) {
    if (td_reader_read(r, 0, offs[i], 65536, &keep[i], &err) != TD_OK) {
      fprintf(stderr, "item 11: page %d: %s\n", i, err.message);
      _exit(5);
    }
    td_colview v;
    if (td_colview_init(&v, TD_TYPE_INT64, &keep[i], &err) != TD_OK || td_colview_int(&v, 0) != 7 ||
        td_colview_int(&v, 65535) != 7)
      _exit(6);
  }
  for (int i = 0; i < 8; i++) keep[i].release(&keep[i]);
  td_reader_close(r);
  _exit(0);
}
#endif

static void test_item11_big_chunk_bounded_memory(void **state) {
  (void)state;
#ifdef SANITIZED
  skip();
#else
  pqb_spec s = {.phys = 2, .converted = -1, .rows = (int64_t)1 << 26, .page_rows = (int64_t)1 << 25,
                .dict_constant = true, .constant = 7};
  const char *path = tmp_path("big_chunk.parquet");
  assert_int_equal(pqb_write(path, &s), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_size < 4096); /* a tiny file that decodes to 512 MiB */
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) item11_child(path);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

/* Many small pages without an offset index: every row reads back right and
 * the file is read about once (consecutive reads continue where the last
 * stopped instead of decoding the chunk again). */
static void test_item11_pages_without_offset_index(void **state) {
  (void)state;
  int64_t rows = 300000;
  pqb_spec s = {.phys = 2, .converted = -1, .rows = rows, .page_rows = 10000};
  const char *path = tmp_path("pages.parquet");
  assert_int_equal(pqb_write(path, &s), 0);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(r->num_rows, rows);
  int64_t sum = 0;
  for (int64_t off = 0; off < rows; off += 65536) {
    int64_t n = rows - off < 65536 ? rows - off : 65536;
    struct ArrowArray a;
    TD_ASSERT_OK(td_reader_read(r, 0, off, n, &a, &err), &err);
    td_colview v;
    TD_ASSERT_OK(td_colview_init(&v, TD_TYPE_INT64, &a, &err), &err);
    for (int64_t i = 0; i < n; i++) {
      assert_int_equal(td_colview_int(&v, i), off + i);
      sum += td_colview_int(&v, i);
    }
    a.release(&a);
  }
  assert_int_equal(sum, rows * (rows - 1) / 2);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  printf("item 11: file %lld bytes, read %lld bytes\n", (long long)st.st_size, (long long)r->io.bytes_read);
  assert_true(r->io.bytes_read < 2 * st.st_size);
  /* random access backwards still answers */
  int rc;
  assert_int_equal(read_int(r, 12345, &err, &rc), 12345);
  assert_int_equal(rc, TD_OK);
  assert_int_equal(read_int(r, rows - 1, &err, &rc), rows - 1);
  td_reader_close(r);
}

/* ---- item 14: footer amplification ---- */

static void write_schema_footer(const char *path, int64_t n, int elem_bytes) {
  pqb_buf m = {0};
  int16_t last = 0;
  pqb_i64(&m, &last, 1, 5, 1);
  pqb_list(&m, &last, 2, n, 12);
  for (int64_t i = 0; i < n; i++) {
    if (elem_bytes == 1) {
      pqb_byte(&m, 0);
    } else { /* type INT32, empty name */
      int16_t l = 0;
      pqb_i64(&m, &l, 1, 5, 1);
      pqb_field(&m, &l, 4, 8);
      pqb_byte(&m, 0);
      pqb_byte(&m, 0);
    }
  }
  pqb_i64(&m, &last, 3, 6, 0);
  pqb_byte(&m, 0);
  assert_int_equal(pqb_write_raw(path, NULL, 0, m.p, m.n), 0);
  pqb_free(&m);
}

static void test_item14_footer_amplification(void **state) {
  (void)state;
  const char *path = tmp_path("amplified.parquet");
  int64_t n = 4000000;
  write_schema_footer(path, n, 1);
  td_file_reader *r;
  td_error err;
  td__alloc_fail_after(-1);
  int rc = td_parquet_open(path, &r, &err);
  int64_t allocs = td__alloc_fail_after(-1);
  printf("item 14: %s, %lld allocations: %s\n", td_status_name(rc), (long long)allocs, err.message);
  assert_int_equal(rc, TD_EFORMAT);
  assert_true(allocs < 100); /* rejected before one allocation per element */
  /* Elements that look valid cost memory in proportion to their bytes. */
  write_schema_footer(path, 1000, 5);
  rc = td_parquet_open(path, &r, &err);
  assert_int_equal(rc, TD_EFORMAT); /* root claims 0 children: tree mismatch */
}

/* ---- item 18: no wrapped dates or timestamps: the unit is kept ---- */

static void expect_exact(const char *name, int phys, int converted, int64_t bad, int64_t good,
                         td_type_id type) {
  enum { ROWS = 20000, PAGE = 10000, BAD = 10005 };
  static int64_t vals[ROWS];
  for (int i = 0; i < ROWS; i++) vals[i] = good;
  vals[BAD] = bad;
  pqb_spec s = {.name = "when", .phys = phys, .converted = converted, .rows = ROWS, .page_rows = PAGE, .values = vals};
  const char *path = tmp_path(name);
  assert_int_equal(pqb_write(path, &s), 0);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(r->schema.fields[0].type, type);
  struct ArrowArray a;
  TD_ASSERT_OK(td_reader_read(r, 0, 0, ROWS, &a, &err), &err);
  td_colview v;
  TD_ASSERT_OK(td_colview_init(&v, type, &a, &err), &err);
  assert_int_equal(td_colview_int(&v, BAD), bad);
  assert_int_equal(td_colview_int(&v, BAD - 1), good);
  a.release(&a);
  td_reader_close(r);
}

static void test_item18_dates_out_of_range(void **state) {
  (void)state;
  expect_exact("date9999.parquet", 1, 6, 2932896 /* 9999-12-31 */, 19000, TD_TYPE_DATE32);
  expect_exact("date1000.parquet", 1, 6, -354285 /* 1000-01-01 */, 19000, TD_TYPE_DATE32);
  expect_exact("millis.parquet", 2, 9, (int64_t)253402214400000 /* 9999-12-31 */, 1700000000000,
               TD_TYPE_TIMESTAMP_MS);
  expect_exact("micros.parquet", 2, 10, INT64_MIN / 2, 1700000000000000, TD_TYPE_TIMESTAMP_US);
}

/* ---- the same class as item 19: text columns are valid UTF-8 ---- */

static void test_item19_parquet_invalid_utf8(void **state) {
  (void)state;
  static const char *const strs[] = {"ok", "caf\xc3\xa9", "bad\xc3", "x"};
  pqb_spec s = {.name = "name", .phys = 6, .converted = 0, .rows = 4, .page_rows = 4, .strings = strs};
  const char *path = tmp_path("utf8.parquet");
  assert_int_equal(pqb_write(path, &s), 0);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  struct ArrowArray a;
  int rc = td_reader_read(r, 0, 0, 4, &a, &err);
  printf("item 19 (parquet): %s: %s\n", td_status_name(rc), rc ? err.message : "read");
  if (rc == TD_OK) a.release(&a);
  assert_int_equal(rc, TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "utf8.parquet");
  TD_ASSERT_CONTAINS(err.message, "'name'");
  TD_ASSERT_CONTAINS(err.message, "row 2:");
  td_reader_close(r);
  /* without the UTF8 annotation the bytes are binary and read as they are */
  s.converted = -1;
  assert_int_equal(pqb_write(path, &s), 0);
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  TD_ASSERT_OK(td_reader_read(r, 0, 0, 4, &a, &err), &err);
  a.release(&a);
  td_reader_close(r);
}

/* PLAIN string pages are checked with one pass over their bytes when all
 * are ASCII, row by row otherwise: non-ASCII text reads back as written,
 * and invalid UTF-8 on a page after ASCII-only ones still names its row. */
static void test_plain_utf8_pages(void **state) {
  (void)state;
  static const char *const good[] = {"ok", "x", "caf\xc3\xa9", "\xe2\x82\xac 1", "plain", ""};
  static const char *const bad[] = {"a", "b", "\xc3\xa9", "c", "d", "e\xe2\x82"};
  pqb_spec s = {.name = "name", .phys = 6, .converted = 0, .rows = 6, .page_rows = 2, .strings = good};
  const char *path = tmp_path("utf8_pages.parquet");
  assert_int_equal(pqb_write(path, &s), 0);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  struct ArrowArray a;
  TD_ASSERT_OK(td_reader_read(r, 0, 0, 6, &a, &err), &err);
  const int32_t *o = (const int32_t *)a.buffers[1] + a.offset;
  const char *d = a.buffers[2];
  for (int i = 0; i < 6; i++) {
    assert_int_equal(o[i + 1] - o[i], (int32_t)strlen(good[i]));
    if (good[i][0]) assert_memory_equal(d + o[i], good[i], strlen(good[i]));
  }
  a.release(&a);
  td_reader_close(r);
  s.strings = bad;
  assert_int_equal(pqb_write(path, &s), 0);
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  int rc = td_reader_read(r, 0, 0, 6, &a, &err);
  if (rc == TD_OK) a.release(&a);
  assert_int_equal(rc, TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "row 5: the text is not valid UTF-8");
  td_reader_close(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_item11_big_chunk_bounded_memory),
      cmocka_unit_test(test_item11_pages_without_offset_index),
      cmocka_unit_test(test_item14_footer_amplification),
      cmocka_unit_test(test_item18_dates_out_of_range),
      cmocka_unit_test(test_item19_parquet_invalid_utf8),
      cmocka_unit_test(test_plain_utf8_pages),
  };
  return cmocka_run_group_tests(tests, td_test_scratch_setup, td_test_scratch_teardown);
}
