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
                                     cmocka_unit_test(test_open_errors), cmocka_unit_test(test_alloc_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
