/*
 * tests/formats/ipc/test_ipc_items.c - the Arrow IPC reader against streams
 * written at run time for the hardening items of issue 8: compressed
 * buffers decompressed once per batch (item 12), utf8 values validated
 * (item 19).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrow/array.h"
#include "formats/ipc/ipc_writer.h"
#include "formats/reader.h"
#include "test.h"

#define tmp_path td_test_scratch_path

/* Writes a one-column stream of `a` (a td_array of `field`'s type). */
static void write_one(const char *path, const td_field *field, td_array *a, bool zstd) {
  td_schema s;
  td_schema_init(&s);
  td_error err;
  TD_ASSERT_OK(td_schema_add(&s, field->name, field->type, field->tz, true, &err), &err);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  td_ipc_stream_writer *w;
  TD_ASSERT_OK(td_ipc_stream_writer_open(fd, &s, &w, &err), &err);
  td_ipc_stream_writer_compress(w, zstd);
  struct ArrowArray col, *children[1] = {&col};
  TD_ASSERT_OK(td_array_export(a, &col, &err), &err);
  struct ArrowArray batch = {.length = col.length, .n_children = 1, .children = children,
                             .release = col.release};
  TD_ASSERT_OK(td_ipc_stream_writer_write(w, &batch, &err), &err);
  col.release(&col);
  TD_ASSERT_OK(td_ipc_stream_writer_close(w, &err), &err);
  close(fd);
  td_schema_reset(&s);
}

/* ---- item 12 ---- */

static void test_item12_compressed_batch_read_once(void **state) {
  (void)state;
  const int64_t rows = 1 << 20, page = 65536;
  td_array a;
  td_error err;
  TD_ASSERT_OK(td_array_init(&a, TD_TYPE_INT64, rows, &err), &err);
  for (int64_t i = 0; i < rows; i++) ((int64_t *)a.values)[i] = (i * 7919) % 1000003;
  a.length = rows;
  td_field f = {.name = "x", .type = TD_TYPE_INT64};
  const char *path = tmp_path("zstd.arrows");
  write_one(path, &f, &a, true);
  td_array_reset(&a);
  td_file_reader *r;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  assert_int_equal(r->num_rows, rows);
  int64_t after_open = r->io.bytes_read;
  for (int64_t off = 0; off < rows; off += page) {
    struct ArrowArray out;
    TD_ASSERT_OK(td_reader_read(r, 0, off, page, &out, &err), &err);
    td_colview v;
    TD_ASSERT_OK(td_colview_init(&v, TD_TYPE_INT64, &out, &err), &err);
    for (int64_t i = 0; i < page; i += 997) assert_int_equal(td_colview_int(&v, i), ((off + i) * 7919) % 1000003);
    out.release(&out);
  }
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  int64_t used = r->io.bytes_read - after_open;
  printf("item 12: file %lld bytes, 16 pages read %lld bytes\n", (long long)st.st_size, (long long)used);
  assert_true(used < 2 * st.st_size); /* the compressed buffer was read (and inflated) once */
  td_reader_close(r);
}

/* ---- item 19 ---- */

static void test_item19_invalid_utf8(void **state) {
  (void)state;
  static const char *vals[] = {"ok", "fine", "caf\xc3\xa9", "bad\xff", "x"};
  td_array a;
  td_error err;
  td_field f = {.name = "name", .type = TD_TYPE_UTF8};
  for (int z = 0; z < 2; z++) {
    TD_ASSERT_OK(td_array_init(&a, TD_TYPE_UTF8, 5, &err), &err);
    for (int i = 0; i < 5; i++) TD_ASSERT_OK(td_array_append_str(&a, vals[i], (int64_t)strlen(vals[i]), &err), &err);
    const char *path = tmp_path(z ? "utf8z.arrows" : "utf8.arrows");
    write_one(path, &f, &a, z);
    td_file_reader *r;
    TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
    struct ArrowArray out;
    TD_ASSERT_OK(td_reader_read(r, 0, 0, 3, &out, &err), &err); /* valid rows read */
    out.release(&out);
    int rc = td_reader_read(r, 0, 0, 5, &out, &err);
    printf("item 19: %s: %s\n", td_status_name(rc), rc ? err.message : "read");
    if (rc == TD_OK) out.release(&out);
    assert_int_equal(rc, TD_EFORMAT);
    TD_ASSERT_CONTAINS(err.message, path);
    TD_ASSERT_CONTAINS(err.message, "'name'");
    TD_ASSERT_CONTAINS(err.message, "row 3");
    TD_ASSERT_CONTAINS(err.message, "UTF-8");
    td_reader_close(r);
    td_array_reset(&a);
  }
}

/* The batch-wide ASCII test that lets a reader skip validating each row:
 * false as soon as any byte, at any position and alignment, is >= 0x80. */
static void test_item19_ascii_span(void **state) {
  (void)state;
  char buf[80];
  for (int n = 0; n <= 72; n++) {
    memset(buf, 'a', sizeof buf);
    assert_true(td_ascii_only(buf + 3, n));
    for (int at = 0; at < n; at++) {
      buf[3 + at] = (char)0x80;
      assert_false(td_ascii_only(buf + 3, n));
      buf[3 + at] = 'a';
    }
    buf[3 + n] = (char)0xff; /* just past the span: not looked at */
    assert_true(td_ascii_only(buf + 3, n));
  }
}

/* String offsets that are negative or decrease: TD_EFORMAT naming the row
 * and the offsets expected and found (the message said "(row, first) (0,
 * 0)", whichever offset was wrong). */
static void test_bad_string_offsets(void **state) {
  (void)state;
  static const char *vals[] = {"abcde", "fg", "hijklmn"};
  static const int32_t good[4] = {0, 5, 7, 14};
  static const struct {
    int32_t offs[4];
    const char *row, *found;
  } cases[] = {
      {{0, 5, 2, 14}, "row 1:", "found 2 after 5"},
      {{-8, 5, 7, 14}, "row 0:", "found -8"},
      {{0, 5, 7, 3}, "row 2:", "found 3 after 7"},
  };
  td_field f = {.name = "s", .type = TD_TYPE_UTF8};
  const char *path = tmp_path("badoffs.arrows");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    td_array a;
    td_error err;
    TD_ASSERT_OK(td_array_init(&a, TD_TYPE_UTF8, 3, &err), &err);
    for (int i = 0; i < 3; i++) TD_ASSERT_OK(td_array_append_str(&a, vals[i], (int64_t)strlen(vals[i]), &err), &err);
    write_one(path, &f, &a, false);
    td_array_reset(&a);
    /* patch the offsets buffer in place */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    assert_true(n > 16);
    char *at = memmem(buf, (size_t)n, good, sizeof good);
    assert_non_null(at);
    assert_int_equal(pwrite(fd, cases[c].offs, sizeof good, at - buf), (ssize_t)sizeof good);
    close(fd);
    td_file_reader *r;
    TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
    struct ArrowArray out;
    int rc = td_reader_read(r, 0, 0, 3, &out, &err);
    if (rc == TD_OK) out.release(&out);
    printf("bad offsets %zu: %s\n", c, err.message);
    assert_int_equal(rc, TD_EFORMAT);
    TD_ASSERT_CONTAINS(err.message, path);
    TD_ASSERT_CONTAINS(err.message, cases[c].row);
    TD_ASSERT_CONTAINS(err.message, cases[c].found);
    TD_ASSERT_CONTAINS(err.message, "expected");
    td_reader_close(r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_item12_compressed_batch_read_once),
      cmocka_unit_test(test_item19_invalid_utf8),
      cmocka_unit_test(test_item19_ascii_span),
      cmocka_unit_test(test_bad_string_offsets),
  };
  return cmocka_run_group_tests(tests, td_test_scratch_setup, td_test_scratch_teardown);
}
