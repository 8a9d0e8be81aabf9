/*
 * tests/formats/parquet/test_parquet_writer.c - the writer's options read
 * back by the project's reader: row groups of a configured size across
 * write calls, dictionary pages with the fallback to PLAIN pages once the
 * dictionary passes its limit (page encodings read from the file), zstd
 * and uncompressed chunks, and the open errors.  (Every engine type, nulls,
 * 0 rows, statistics pruning and the COPY errors are in
 * tests/query/test_copy.c; DuckDB and Polars read the output in
 * check_copy_interop.py.)
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/parquet/metadata.h"
#include "formats/parquet/reader.h"
#include "formats/parquet/writer.h"
#include "formats/reader.h"
#include "test.h"
#include "typed_columns.h"
#include "util/alloc.h"

/* Writes batches of the given sizes with `o`; returns the path (static). */
static const char *write_with(const td_parquet_write_options *o, const int64_t *sizes, int n) {
  static char path[64];
  strcpy(path, "/tmp/td_pq_writerXXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  td_schema s;
  td_test_schema(&s, true);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open_with(fd, &s, o, &w, &err), &err);
  int64_t rows = 0;
  for (int i = 0; i < n; i++) {
    struct ArrowArray batch = td_test_batch(rows, sizes[i], i % 2);
    TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
    batch.release(&batch);
    rows += sizes[i];
  }
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  td_schema_reset(&s);
  close(fd);
  return path;
}

/* Bit (1 << encoding) for each data page encoding of a column chunk. */
static unsigned page_encodings(const char *path, const pq_column_chunk *c, bool *dict_page) {
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  int64_t at = c->dictionary_page_offset >= 0 ? c->dictionary_page_offset : c->data_page_offset;
  int64_t end = at + c->total_compressed_size;
  unsigned mask = 0;
  *dict_page = false;
  while (at < end) {
    uint8_t buf[256];
    ssize_t got = pread(fd, buf, sizeof buf, at);
    assert_true(got > 0);
    pq_page_header h;
    int64_t used;
    td_error err;
    TD_ASSERT_OK(pq_page_header_parse(buf, got, &h, &used, &err), &err);
    if (h.type == PQ_PAGE_DICTIONARY) *dict_page = true;
    else mask |= 1u << h.encoding;
    at += used + h.compressed_size;
  }
  close(fd);
  return mask;
}

static void test_row_groups_dictionary_fallback(void **state) {
  (void)state;
  td_parquet_write_options o;
  td_parquet_write_options_init(&o);
  o.codec = PQ_CODEC_ZSTD;
  o.row_group_size = 4000;
  o.dict_limit = 300; /* int8 (256 values, 1 KiB of dictionary) passes it after the first page */
  static const int64_t sizes[] = {1500, 2500, 3000};
  const char *path = write_with(&o, sizes, 3);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(r->num_rows, 7000);
  td_test_check_rows(r, 0, 7000);
  const pq_file_meta *m = &((pq_reader *)r)->meta;
  assert_int_equal(m->n_row_groups, 2);
  assert_int_equal(m->row_groups[0].num_rows, 4000);
  assert_int_equal(m->row_groups[1].num_rows, 3000);
  bool dict;
  /* i8 (column 1): a dictionary page, RLE_DICTIONARY pages, then PLAIN ones. */
  unsigned enc = page_encodings(path, &m->row_groups[0].columns[1], &dict);
  assert_true(dict);
  assert_int_equal(enc, (1u << PQ_ENC_RLE_DICTIONARY) | (1u << PQ_ENC_PLAIN));
  /* bool (column 0) is never dictionary-encoded. */
  enc = page_encodings(path, &m->row_groups[0].columns[0], &dict);
  assert_false(dict);
  assert_int_equal(enc, 1u << PQ_ENC_PLAIN);
  for (int c = 0; c < TD_TEST_NCOLS; c++) assert_int_equal(m->row_groups[1].columns[c].codec, PQ_CODEC_ZSTD);
  td_reader_close(r);
  unlink(path);
  /* Without a limit to speak of the same column keeps its dictionary. */
  o.dict_limit = 1 << 20;
  o.codec = PQ_CODEC_UNCOMPRESSED;
  path = write_with(&o, sizes, 3);
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  td_test_check_rows(r, 0, 7000);
  m = &((pq_reader *)r)->meta;
  enc = page_encodings(path, &m->row_groups[0].columns[1], &dict);
  assert_true(dict);
  assert_int_equal(enc, 1u << PQ_ENC_RLE_DICTIONARY);
  assert_int_equal(m->row_groups[0].columns[1].codec, PQ_CODEC_UNCOMPRESSED);
  td_reader_close(r);
  unlink(path);
}

/* ---- PLAIN pages of optional fixed-width columns (pages.c v1_direct) ----
 * Row r of the table: null when null_at(page, r), else value r (as float64,
 * int32, int64 and float32).  Pages: no null, nulls at both edges, all
 * null, every third row null, a short page of no null. */
static const int64_t direct_pages[] = {100, 64, 50, 1000, 10};
#define DIRECT_NPAGES 5

static bool direct_null(int64_t r) {
  int64_t p = 0, first = 0;
  while (r >= first + direct_pages[p]) first += direct_pages[p++];
  int64_t i = r - first, n = direct_pages[p];
  switch (p) {
    case 1: return i == 0 || i == n - 1;
    case 2: return true;
    case 3: return i % 3 == 1;
    default: return false;
  }
}

static const char *write_direct(const td_parquet_write_options *o) {
  static char path[64];
  strcpy(path, "/tmp/td_pq_directXXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  static const td_type_id types[4] = {TD_TYPE_FLOAT64, TD_TYPE_INT32, TD_TYPE_INT64, TD_TYPE_FLOAT32};
  static const char *names[4] = {"d", "i", "l", "f"};
  td_schema s;
  td_schema_init(&s);
  for (int c = 0; c < 4; c++) TD_ASSERT_OK(td_schema_add(&s, names[c], types[c], NULL, true, NULL), NULL);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open_with(fd, &s, o, &w, &err), &err);
  int64_t row = 0;
  for (int p = 0; p < DIRECT_NPAGES; p++) {
    struct ArrowArray kids[4], batch;
    for (int c = 0; c < 4; c++) {
      td_array a;
      TD_ASSERT_OK(td_array_init(&a, types[c], direct_pages[p], &err), &err);
      for (int64_t r = row; r < row + direct_pages[p]; r++) {
        if (direct_null(r)) TD_ASSERT_OK(td_array_append_null(&a, &err), &err);
        else if (c == 0 || c == 3) TD_ASSERT_OK(td_array_append_double(&a, (double)r + 0.5, &err), &err);
        else TD_ASSERT_OK(td_array_append_int(&a, r * 3 - 7, &err), &err);
      }
      TD_ASSERT_OK(td_array_export(&a, &kids[c], &err), &err);
    }
    TD_ASSERT_OK(td_struct_array_make(4, kids, direct_pages[p], &batch, &err), &err);
    TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
    batch.release(&batch);
    row += direct_pages[p];
  }
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  td_schema_reset(&s);
  close(fd);
  return path;
}

/* Rows [off, off + n) of every column as written by write_direct. */
static void check_direct(td_file_reader *r, int64_t off, int64_t n) {
  for (int c = 0; c < 4; c++) {
    struct ArrowArray a;
    td_error err;
    TD_ASSERT_OK(td_reader_read(r, c, off, n, &a, &err), &err);
    assert_int_equal(a.length, n);
    const uint8_t *valid = a.null_count ? a.buffers[0] : NULL;
    int64_t nulls = 0;
    for (int64_t i = 0; i < n; i++) {
      int64_t row = off + i, at = a.offset + i;
      bool is_null = valid && !td_bit_get(valid, at);
      assert_int_equal(is_null, direct_null(row));
      nulls += is_null;
      if (is_null) continue;
      if (c == 0) assert_true(((const double *)a.buffers[1])[at] == (double)row + 0.5);
      else if (c == 3) assert_true(((const float *)a.buffers[1])[at] == (float)((double)row + 0.5));
      else if (c == 1) assert_int_equal(((const int32_t *)a.buffers[1])[at], row * 3 - 7);
      else assert_int_equal(((const int64_t *)a.buffers[1])[at], row * 3 - 7);
    }
    if (a.null_count >= 0) assert_int_equal(a.null_count, nulls);
    a.release(&a);
  }
}

static void test_plain_optional_pages(void **state) {
  (void)state;
  static const int codecs[] = {PQ_CODEC_SNAPPY, PQ_CODEC_ZSTD, PQ_CODEC_UNCOMPRESSED};
  int64_t total = 0;
  for (int p = 0; p < DIRECT_NPAGES; p++) total += direct_pages[p];
  for (int k = 0; k < 3; k++)
    for (int layout = 0; layout < 3; layout++) {
      td_parquet_write_options o;
      td_parquet_write_options_init(&o);
      o.codec = codecs[k];
      /* 0: a row group per page (every page the first of its segment); 1:
       * one row group of five pages; 2: dictionary pages that fall back to
       * PLAIN after the first page */
      o.row_group_size = layout == 0 ? 0 : 100000;
      o.dictionary = layout == 2;
      o.dict_limit = 64;
      const char *path = write_direct(&o);
      td_file_reader *r;
      td_error err;
      TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
      assert_int_equal(r->num_rows, total);
      const pq_file_meta *m = &((pq_reader *)r)->meta;
      assert_int_equal(m->n_row_groups, layout == 0 ? DIRECT_NPAGES : 1);
      bool dict;
      unsigned enc = page_encodings(path, &m->row_groups[0].columns[0], &dict);
      assert_true(enc & (1u << PQ_ENC_PLAIN));
      check_direct(r, 0, total);
      if (k == 0 && layout == 0) { /* the first page's rows follow the segment's pad */
        struct ArrowArray a;
        TD_ASSERT_OK(td_reader_read(r, 0, 0, 100, &a, &err), &err);
        assert_int_equal(a.offset, 64 / 8);
        a.release(&a);
      }
      pq_cache_clear((pq_reader *)r);
      /* ranges inside a page, across page edges, and page by page */
      check_direct(r, 150, 300);
      check_direct(r, 99, 3);
      check_direct(r, 163, 52);
      for (int64_t at = 0, p = 0; p < DIRECT_NPAGES; at += direct_pages[p++]) check_direct(r, at, direct_pages[p]);
      td_reader_close(r);
      unlink(path);
    }
}

/* ---- reads across row groups (pages.c: a segment goes on into the next
 * row group when a read crosses into it) ---- */

/* Reads of n rows from the start to the end, checked. */
static void check_reads_of(td_file_reader *r, int64_t n) {
  pq_cache_clear((pq_reader *)r);
  for (int64_t at = 0; at < r->num_rows; at += n) td_test_check_rows(r, at, n < r->num_rows - at ? n : r->num_rows - at);
}

static void test_reads_across_row_groups(void **state) {
  (void)state;
  static const int codecs[] = {PQ_CODEC_SNAPPY, PQ_CODEC_UNCOMPRESSED};
  static const int64_t sizes[] = {130, 120};
  for (int k = 0; k < 2; k++)
    for (int dict = 0; dict < 2; dict++) { /* dictionary pages (numbers gathered, text as codes), or PLAIN */
      td_parquet_write_options o;
      td_parquet_write_options_init(&o);
      o.codec = codecs[k];
      o.dictionary = dict;
      o.row_group_size = 100; /* 100, 100, 50 rows */
      const char *path = write_with(&o, sizes, 2);
      td_file_reader *r;
      td_error err;
      TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
      assert_int_equal(((pq_reader *)r)->meta.n_row_groups, 3);
      static const int64_t ns[] = {64, 30, 100, 7, 1, 250, 160};
      for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) check_reads_of(r, ns[i]);
      /* [0, 64) then [64, 128): one segment from row group 0 into 1, so
       * the second read of a number column is a view of it (not a copy to
       * offset 0) */
      pq_cache_clear((pq_reader *)r);
      struct ArrowArray a, b;
      TD_ASSERT_OK(td_reader_read(r, 7, 0, 64, &a, &err), &err);
      TD_ASSERT_OK(td_reader_read(r, 7, 64, 64, &b, &err), &err);
      assert_int_equal(b.offset, a.offset + 64);
      assert_ptr_equal(b.buffers[1], a.buffers[1]);
      a.release(&a);
      b.release(&b);
      td_test_check_rows(r, 64, 64);
      td_reader_close(r);
      unlink(path);
    }
}

/* Reads of 64 rows over row groups of 100: the read that crosses 300 is a
 * view too.  Row group 2 is first decoded for the read [192, 256), which
 * crosses 200 and is copied; the last read of 64 rows starting in row group
 * 2, [256, 320), crosses into row group 3, so that segment goes on into it
 * (read_ahead) and [256, 320) and [320, 384) are views of one segment. */
static void test_read_ahead_crossing(void **state) {
  (void)state;
  td_parquet_write_options o;
  td_parquet_write_options_init(&o);
  o.dictionary = 0;
  o.row_group_size = 100;
  static const int64_t sizes[] = {400};
  const char *path = write_with(&o, sizes, 1);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(((pq_reader *)r)->meta.n_row_groups, 4);
  struct ArrowArray a[6];
  for (int i = 0; i < 6; i++) TD_ASSERT_OK(td_reader_read(r, 7, i * 64, 64, &a[i], &err), &err);
  assert_ptr_equal(a[1].buffers[1], a[0].buffers[1]); /* [64, 128): row group 0 went on into 1 */
  assert_ptr_equal(a[5].buffers[1], a[4].buffers[1]); /* [256, 320) and [320, 384) */
  assert_int_equal(a[5].offset, a[4].offset + 64);
  for (int i = 0; i < 6; i++) a[i].release(&a[i]);
  check_reads_of(r, 64);
  td_reader_close(r);
  unlink(path);
}

/* Row groups of one page each (100, 100, 50 rows): a segment read to its
 * last row leaves the cache, one read short of it stays. */
static void test_segment_read_to_end(void **state) {
  (void)state;
  td_parquet_write_options o;
  td_parquet_write_options_init(&o);
  o.row_group_size = 100;
  o.dictionary = false;
  static const int64_t sizes[] = {100, 100, 50};
  const char *path = write_with(&o, sizes, 3);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  struct ArrowArray a, b, again, tail, fresh;
  TD_ASSERT_OK(td_reader_read(r, 7, 0, 64, &a, &err), &err);      /* row groups 0 and 1: rows [0, 200) */
  TD_ASSERT_OK(td_reader_read(r, 7, 64, 64, &b, &err), &err);     /* a view of it */
  TD_ASSERT_OK(td_reader_read(r, 7, 0, 64, &again, &err), &err);  /* still cached */
  assert_ptr_equal(b.buffers[1], a.buffers[1]);
  assert_ptr_equal(again.buffers[1], a.buffers[1]);
  TD_ASSERT_OK(td_reader_read(r, 7, 136, 64, &tail, &err), &err); /* to its last row */
  assert_ptr_equal(tail.buffers[1], a.buffers[1]);
  TD_ASSERT_OK(td_reader_read(r, 7, 0, 64, &fresh, &err), &err);  /* decoded again */
  assert_ptr_not_equal(fresh.buffers[1], a.buffers[1]);
  struct ArrowArray *all[] = {&a, &b, &again, &tail, &fresh};
  for (int i = 0; i < 5; i++) all[i]->release(all[i]);
  td_test_check_rows(r, 0, 250);
  td_reader_close(r);
  unlink(path);
}

/* A bad page in the next row group: the read that would have gone on into
 * it still gives its own rows; the read of that row group reports it. */
static void test_read_across_bad_row_group(void **state) {
  (void)state;
  td_parquet_write_options o;
  td_parquet_write_options_init(&o);
  o.codec = PQ_CODEC_UNCOMPRESSED;
  o.dictionary = false;
  o.row_group_size = 100;
  static const int64_t sizes[] = {200};
  const char *path = write_with(&o, sizes, 1);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  /* the first string of row group 1 (column s) claims 2^31 - 1 bytes */
  const pq_column_chunk *cc = &((pq_reader *)r)->meta.row_groups[1].columns[8];
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  uint8_t buf[256];
  ssize_t got = pread(fd, buf, sizeof buf, cc->data_page_offset);
  assert_true(got > 0);
  pq_page_header h;
  int64_t used;
  TD_ASSERT_OK(pq_page_header_parse(buf, got, &h, &used, &err), &err);
  uint32_t lv;
  memcpy(&lv, buf + used, 4);
  uint32_t huge = 0x7fffffff;
  assert_int_equal(pwrite(fd, &huge, 4, cc->data_page_offset + used + 4 + lv), 4);
  close(fd);
  td_reader_close(r);
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  td_test_check_rows(r, 0, 64);
  td_test_check_rows(r, 64, 36);
  struct ArrowArray a;
  int rc = td_reader_read(r, 8, 64, 64, &a, &err);
  if (rc == TD_OK) a.release(&a);
  assert_int_equal(rc, TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "row group 1");
  td_reader_close(r);
  unlink(path);
}

static void test_open_errors(void **state) {
  (void)state;
  td_schema s;
  td_test_schema(&s, true);
  td_parquet_write_options o;
  td_parquet_write_options_init(&o);
  td_parquet_writer *w = NULL;
  td_error err;
  o.codec = PQ_CODEC_GZIP;
  assert_int_equal(td_parquet_writer_open_with(1, &s, &o, &w, &err), TD_EINVAL);
  assert_non_null(strstr(err.message, "expected codec uncompressed, snappy or zstd"));
  td_parquet_write_options_init(&o);
  o.row_group_size = -1;
  assert_int_equal(td_parquet_writer_open_with(1, &s, &o, &w, &err), TD_EINVAL);
  assert_null(w);
  td_schema_reset(&s);
}

/* Allocation failures with the dictionary on: errors, never crashes or leaks. */
static void test_alloc_failures(void **state) {
  (void)state;
  td_schema s;
  td_test_schema(&s, true);
  struct ArrowArray batch = td_test_batch(0, 700, 1);
  char path[] = "/tmp/td_pq_woomXXXXXX";
  int fd = mkstemp(path);
  td_parquet_write_options o;
  td_parquet_write_options_init(&o);
  o.row_group_size = 1000;
  bool done = false;
  for (int64_t n = 0; !done && n < 10000; n++) {
    assert_int_equal(ftruncate(fd, 0), 0);
    lseek(fd, 0, SEEK_SET);
    td_parquet_writer *w = NULL;
    td_error err;
    td__alloc_fail_after(n);
    int rc = td_parquet_writer_open_with(fd, &s, &o, &w, &err);
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
  assert_int_equal(r->num_rows, 1400);
  td_reader_close(r);
  td_schema_reset(&s);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_row_groups_dictionary_fallback),
                                     cmocka_unit_test(test_plain_optional_pages),
                                     cmocka_unit_test(test_reads_across_row_groups),
                                     cmocka_unit_test(test_read_ahead_crossing),
                                     cmocka_unit_test(test_read_across_bad_row_group),
                                     cmocka_unit_test(test_segment_read_to_end),
                                     cmocka_unit_test(test_open_errors), cmocka_unit_test(test_alloc_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
