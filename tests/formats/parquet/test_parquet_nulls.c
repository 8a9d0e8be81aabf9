/*
 * tests/formats/parquet/test_parquet_nulls.c - the word-at-a-time paths of
 * a scan's null handling against one-row-at-a-time references: validity
 * bitmaps packed from definition flags (pq_put_validity), dictionary codes
 * moved to their rows around null rows (pq_decode_dict_codes), the range
 * check of indices (td_codes_below) and codes read across row groups whose
 * validity bits land at another bit position (the reader's copy_bits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrow/dict.h"
#include "formats/parquet/encoding.h"
#include "formats/parquet/reader.h"
#include "formats/parquet/writer.h"
#include "formats/reader.h"
#include "test.h"

/* Deterministic flags: about `pct` percent defined, with runs mixed in. */
static void make_flags(uint8_t *f, int64_t n, int pct, unsigned seed) {
  srand(seed);
  for (int64_t i = 0; i < n; i++) f[i] = (uint8_t)(rand() % 100 < pct);
  if (n > 40) memset(f + 16, 1, 16); /* a whole run defined */
  if (n > 60) memset(f + 40, 0, 9);  /* and one of nulls */
}

static void test_put_validity(void **state) {
  (void)state;
  static const int pcts[] = {0, 10, 50, 90, 100};
  uint8_t f[600];
  for (int p = 0; p < 5; p++)
    for (int64_t pos = 0; pos < 10; pos++)
      for (int64_t rows = 0; rows < 300; rows += 37) {
        /* two pages: the first makes the bitmap, the second goes on at
         * another bit position */
        int64_t rows2 = (rows * 7 + pos) % 29;
        make_flags(f, rows + rows2, pcts[p], (unsigned)(pos * 1000 + rows));
        td_array a;
        td_error err;
        TD_ASSERT_OK(td_array_init(&a, TD_TYPE_INT32, pos + rows + rows2, &err), &err);
        TD_ASSERT_OK(pq_put_validity(&a, pos, rows, f, &err), &err);
        TD_ASSERT_OK(pq_put_validity(&a, pos + rows, rows2, f + rows, &err), &err);
        int64_t nulls = 0;
        for (int64_t i = 0; i < pos; i++) assert_true(td_bit_get(a.validity, i));
        for (int64_t i = 0; i < rows + rows2; i++) {
          assert_int_equal(td_bit_get(a.validity, pos + i), f[i]);
          nulls += !f[i];
        }
        if (a.null_count >= 0) assert_int_equal(a.null_count, nulls); /* (-1 for a view: not counted) */
        td_array_reset(&a);
      }
}

/* A bit-packed run of bit width 8 holding vals[0..n) (padded to 8s). */
static int64_t pack8(uint8_t *p, const uint8_t *vals, int64_t n) {
  int64_t groups = (n + 7) / 8;
  p[0] = 8;                          /* bit width */
  p[1] = (uint8_t)(groups << 1 | 1); /* one bit-packed run (groups < 64) */
  memset(p + 2, 0, (size_t)groups * 8);
  memcpy(p + 2, vals, (size_t)n);
  return 2 + groups * 8;
}

static void test_dict_codes_nulls(void **state) {
  (void)state;
  static const int pcts[] = {0, 10, 50, 90, 100};
  uint8_t f[250], vals[250], page[300];
  for (int p = 0; p < 5; p++)
    for (int64_t pos = 0; pos < 9; pos += 4)
      for (int64_t rows = 1; rows < 250; rows += 23) {
        make_flags(f, rows, pcts[p], (unsigned)(p * 7919 + pos * 100 + rows));
        int64_t nn = 0;
        for (int64_t i = 0; i < rows; i++) nn += f[i];
        for (int64_t k = 0; k < nn; k++) vals[k] = (uint8_t)(k * 37 % 97);
        int64_t len = pack8(page, vals, nn);
        td_array a;
        td_error err;
        TD_ASSERT_OK(td_array_init(&a, TD_TYPE_INT32, pos + rows, &err), &err);
        TD_ASSERT_OK(pq_decode_dict_codes(97, page, len, nn, rows, f, &a, pos, &err), &err);
        const uint32_t *out = (const uint32_t *)a.values + pos;
        for (int64_t i = 0, k = 0; i < rows; i++) {
          assert_int_equal(out[i], f[i] ? vals[k] : 0);
          if (nn < rows) assert_int_equal(td_bit_get(a.validity, pos + i), f[i]);
          k += f[i];
        }
        if (nn > 0) { /* an index past the dictionary: the page's error, naming the largest */
          vals[nn / 2] = 200;
          len = pack8(page, vals, nn);
          td_array b;
          TD_ASSERT_OK(td_array_init(&b, TD_TYPE_INT32, rows, &err), &err);
          assert_int_equal(pq_decode_dict_codes(97, page, len, nn, rows, f, &b, 0, &err), TD_EFORMAT);
          assert_non_null(strstr(err.message, "dictionary index 200 out of range (dictionary has 97 values)"));
          td_array_reset(&b);
        }
        td_array_reset(&a);
      }
}

static void test_codes_below(void **state) {
  (void)state;
  static const uint64_t limits[] = {0, 1, 2, 97, (1ull << 31) - 1, 1ull << 31, (1ull << 31) + 1,
                                    (1ull << 32) - 1, 1ull << 32};
  static const uint32_t probes[] = {0, 1, 96, 97, 98, 0x7ffffffeu, 0x7fffffffu, 0x80000000u, 0x80000001u,
                                    0xfffffffeu, 0xffffffffu};
  uint32_t c[40];
  for (size_t l = 0; l < sizeof limits / sizeof *limits; l++)
    for (size_t q = 0; q < sizeof probes / sizeof *probes; q++)
      for (int at = 0; at < 40; at += 13) { /* the probe among small codes, at several places */
        for (int i = 0; i < 40; i++) c[i] = 0;
        c[at] = probes[q];
        bool want = limits[l] > 0 && probes[q] < limits[l];
        assert_int_equal(td_codes_below(c, 40, limits[l]), want);
        assert_int_equal(td_codes_below(c + at, 1, limits[l]), want);
      }
  assert_true(td_codes_below(c, 0, 0)); /* no codes: nothing out of range */
}

/* Row i of the one-column file below: null or one of 7 strings. */
static bool row_null(int64_t i) { return i % 11 == 3 || (i / 13) % 4 == 1; }
static int row_text(int64_t i, char *buf) { return snprintf(buf, 16, "s%d", (int)(i * 5 % 7)); }

/* Codes read across row groups (100, 100, 50 rows of a nullable string
 * column with 7 values), at offsets and lengths that put a row group's
 * rows at any bit position of the read: the rows, nulls in place. */
static void test_codes_across_row_groups(void **state) {
  (void)state;
  td_parquet_write_options o;
  td_parquet_write_options_init(&o);
  o.row_group_size = 100;
  char path[] = "/tmp/td_pq_nullsXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  td_schema s;
  td_schema_init(&s);
  TD_ASSERT_OK(td_schema_add(&s, "s", TD_TYPE_UTF8, NULL, true, NULL), NULL);
  td_array col;
  TD_ASSERT_OK(td_array_init(&col, TD_TYPE_UTF8, 250, NULL), NULL);
  char buf[16];
  for (int64_t i = 0; i < 250; i++)
    if (row_null(i)) TD_ASSERT_OK(td_array_append_null(&col, NULL), NULL);
    else TD_ASSERT_OK(td_array_append_str(&col, buf, row_text(i, buf), NULL), NULL);
  struct ArrowArray kid, batch;
  TD_ASSERT_OK(td_array_export(&col, &kid, NULL), NULL);
  TD_ASSERT_OK(td_struct_array_make(1, &kid, 250, &batch, NULL), NULL);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open_with(fd, &s, &o, &w, &err), &err);
  TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  td_schema_reset(&s);
  close(fd);
  td_file_reader *r;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(((pq_reader *)r)->meta.n_row_groups, 3);
  int spanning = 0;
  for (int64_t at = 0; at < 250; at += 3)
    for (int64_t n = 1; at + n <= 250; n += 29) {
      struct ArrowArray a;
      TD_ASSERT_OK(td_reader_read_codes(r, 0, at, n, &a, &err), &err);
      assert_int_equal(a.length, n);
      assert_non_null(a.dictionary);
      TD_ASSERT_OK(td_dict_array_validate(&a, &err), &err);
      spanning += at / 100 != (at + n - 1) / 100;
      const uint8_t *valid = a.null_count ? a.buffers[0] : NULL;
      const int32_t *codes = (const int32_t *)a.buffers[1] + a.offset;
      const struct ArrowArray *d = a.dictionary;
      const int32_t *doff = (const int32_t *)d->buffers[1] + d->offset;
      const char *ddata = d->buffers[2];
      int64_t nulls = 0;
      for (int64_t i = 0; i < n; i++) {
        bool ok = !valid || td_bit_get(valid, a.offset + i);
        assert_int_equal(!ok, row_null(at + i));
        nulls += !ok;
        if (!ok) continue;
        int32_t c = codes[i], len = doff[c + 1] - doff[c];
        assert_int_equal(len, row_text(at + i, buf));
        assert_memory_equal(ddata + doff[c], buf, (size_t)len);
      }
      if (a.null_count >= 0) assert_int_equal(a.null_count, nulls); /* (-1 for a view: not counted) */
      a.release(&a);
    }
  assert_true(spanning > 50); /* reads across row groups (read_codes) */
  td_reader_close(r);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_put_validity), cmocka_unit_test(test_dict_codes_nulls),
                                     cmocka_unit_test(test_codes_below),
                                     cmocka_unit_test(test_codes_across_row_groups)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
