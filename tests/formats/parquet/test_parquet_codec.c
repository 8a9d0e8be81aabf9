/*
 * tests/formats/parquet/test_parquet_codec.c - the project's snappy decoder
 * (pq__snappy_fast, what pq_decompress uses for snappy pages) against
 * libsnappy: streams libsnappy's compressor makes from many kinds of data
 * and sizes (random bytes, runs, short periods, prices, sorted ids),
 * generated streams using every tag form (long literal lengths,
 * 4-byte offsets, overlapping copies) in the fast loop and in the tail,
 * mutated and truncated streams (both decoders agree on what is valid, and
 * on the bytes; a prefix decode gives the same first bytes), a corrupt
 * snappy page in a file: TD_EFORMAT naming the file, column and page, and
 * narrow reads (a few rows elsewhere than the last read ended) that
 * decompress a page only up to their rows.  Every output buffer is exactly the stream's
 * length, so ASan catches a write outside it.  Also the RLE / bit-packed
 * hybrid decoder (pq_rle_u32) at every bit width, read in pieces of many
 * sizes from an exactly-sized buffer (its 8-values-at-a-time AVX2 path for
 * widths up to 16, and the exact-bounds tail).
 */
#include <fcntl.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrow/array.h"
#include "formats/parquet/codec.h"
#include "formats/parquet/encoding.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/writer.h"
#include "formats/reader.h"
#include "test.h"
#include "typed_columns.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Decodes with both decoders into exactly-sized buffers: both accept (and
 * agree with `expect` when given) or both reject. */
static void agree(const uint8_t *z, size_t zn, size_t raw, const uint8_t *expect) {
  uint8_t *a = malloc(raw ? raw : 1), *b = malloc(raw ? raw : 1);
  assert_non_null(a);
  assert_non_null(b);
  size_t out = raw;
  bool lib = snappy_uncompress((const char *)z, zn, (char *)b, &out) == SNAPPY_OK && out == raw;
  bool own = pq__snappy_fast(z, zn, a, raw);
  assert_int_equal(own, lib);
  if (own) {
    assert_memory_equal(a, b, raw);
    if (expect) assert_memory_equal(a, expect, raw);
    td_error err;
    memset(a, 0, raw);
    TD_ASSERT_OK(pq_decompress(PQ_CODEC_SNAPPY, z, (int64_t)zn, a, (int64_t)raw, &err), &err);
    assert_memory_equal(a, b, raw);
    /* Prefixes: the first `stop` bytes, whatever comes after them. */
    size_t stops[] = {0, 1, raw / 3, raw > 0 ? raw - 1 : 0, raw, raw + 5};
    for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++) {
      size_t stop = stops[k] < raw ? stops[k] : raw;
      memset(a, 0, raw);
      assert_true(pq__snappy_fast_prefix(z, zn, a, raw, stops[k]));
      assert_memory_equal(a, b, stop);
      memset(a, 0, raw);
      TD_ASSERT_OK(pq_decompress_prefix(PQ_CODEC_SNAPPY, z, (int64_t)zn, a, (int64_t)raw, (int64_t)stops[k], &err),
                   &err);
      assert_memory_equal(a, b, stop);
    }
  } else if (raw > 0) { /* a fault may lie past a prefix; a prefix decode writes only inside dst */
    (void)pq__snappy_fast_prefix(z, zn, a, raw, raw / 2);
  }
  free(a);
  free(b);
}

/* Input of `kind` and n bytes. */
static void fill(uint8_t *p, size_t n, int kind) {
  for (size_t i = 0; i < n; i++) {
    switch (kind) {
      case 0: p[i] = (uint8_t)next(); break;                          /* incompressible */
      case 1: p[i] = 'a'; break;                                      /* one run (offset 1) */
      case 2: p[i] = (uint8_t)(i % (1 + (size_t)(n % 13))); break;    /* short periods */
      case 3: p[i] = (uint8_t)((i / 700) % 2 ? next() : i % 29); break; /* mixed blocks */
      case 6: p[i] = i % 300 < 1 + (i / 300) % 20 ? (uint8_t)next() : p[i - 1 - (i / 300) % 20]; break; /* periods 1-20 */
      default: break;
    }
  }
  if (kind == 4) /* prices: random doubles of 2 decimals, like the 10M-row benchmark's */
    for (size_t i = 0; i + 8 <= n; i += 8) {
      double d = 10 + (double)(next() % 99000) / 100;
      memcpy(p + i, &d, 8);
    }
  if (kind == 5) /* sorted ids: a copy at offset 8 every other tag */
    for (size_t i = 0; i + 8 <= n; i += 8) {
      uint64_t v = 81264640 + i / 8;
      memcpy(p + i, &v, 8);
    }
}

/* libsnappy's streams of every kind of data and size round trip. */
static void test_compressed_by_libsnappy(void **state) {
  (void)state;
  static const size_t sizes[] = {0, 1, 2, 15, 16, 17, 63, 64, 65, 67, 68, 69, 100, 1000, 65535, 65536, 65537, 200003};
  for (int kind = 0; kind < 7; kind++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      size_t n = sizes[s];
      uint8_t *in = malloc(n ? n : 1);
      size_t zcap = snappy_max_compressed_length(n), zn = zcap;
      uint8_t *z = malloc(zcap);
      fill(in, n, kind);
      assert_int_equal(snappy_compress((const char *)in, n, (char *)z, &zn), SNAPPY_OK);
      agree(z, zn, n, in);
      uint8_t *out = malloc(n ? n : 1);
      assert_true(pq__snappy_fast(z, zn, out, n)); /* valid streams need no fallback */
      assert_memory_equal(out, in, n);
      free(out);
      free(z);
      free(in);
    }
}

/* A generated stream of every tag form; *raw: its output, built naively. */
typedef struct gen {
  uint8_t *z, *raw;
  size_t zn, rn;
} gen;

static void put(gen *g, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) g->z[g->zn++] = (uint8_t)(v >> (8 * i));
}

static void generate(gen *g, size_t target) {
  g->z = malloc(target * 2 + 64);
  g->raw = malloc(target + 64);
  g->zn = g->rn = 0;
  size_t at = 0;
  uint8_t *raw = g->raw;
  /* the output's length first: filled in at the end (5-byte varint) */
  g->zn = 5;
  while (at < target) {
    uint64_t r = next();
    size_t left = target - at;
    if (at == 0 || r % 3 == 0) { /* a literal, of each length form */
      size_t len = 1 + (size_t)(next() % (r % 7 == 0 ? 300 : 20));
      if (len > left) len = left;
      int form = (int)(next() % 5); /* 0: in the tag (len <= 60), else 1-4 length bytes */
      if (form == 0 && len > 60) form = 2;
      if (form == 1 && len > 256) form = 2;
      if (form == 0) {
        g->z[g->zn++] = (uint8_t)((len - 1) << 2);
      } else {
        g->z[g->zn++] = (uint8_t)((59 + form) << 2);
        put(g, len - 1, form);
      }
      for (size_t i = 0; i < len; i++) raw[at + i] = g->z[g->zn + i] = (uint8_t)next();
      g->zn += len;
      at += len;
      continue;
    }
    size_t len = 4 + (size_t)(next() % 61), off = 1 + (size_t)(next() % (r % 5 == 0 ? 20 : at < 5000 ? at : 5000));
    if (off > at) off = at;
    int kind = (int)(1 + next() % 3);
    if (kind == 1 && (len > 11 || off > 2047)) kind = 2;
    if (len > left) {
      if (left < 4 && kind == 1) kind = 2;
      len = left;
    }
    if (kind == 1) {
      g->z[g->zn++] = (uint8_t)(1 | (len - 4) << 2 | (off >> 8) << 5);
      put(g, off & 0xff, 1);
    } else {
      g->z[g->zn++] = (uint8_t)(kind == 2 ? 2 : 3) | (uint8_t)((len - 1) << 2);
      put(g, off, kind == 2 ? 2 : 4);
    }
    for (size_t i = 0; i < len; i++) raw[at + i] = raw[at + i - off];
    at += len;
  }
  g->rn = at;
  for (int i = 0; i < 5; i++) g->z[i] = (uint8_t)((at >> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0);
}

/* Every tag form, lengths and offsets, in the fast loop and the tail. */
static void test_generated_streams(void **state) {
  (void)state;
  static const size_t targets[] = {1, 3, 40, 70, 130, 1000, 9000, 100000};
  for (int rep = 0; rep < 20; rep++)
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
      gen g;
      generate(&g, targets[t]);
      agree(g.z, g.zn, g.rn, g.raw);
      uint8_t *out = malloc(g.rn);
      assert_true(pq__snappy_fast(g.z, g.zn, out, g.rn));
      free(out);
      free(g.z);
      free(g.raw);
    }
}

/* Hand-made streams whose last tag is a copy with an offset shorter than its
 * length, in the tail loop (short streams) and right after the fast loop (a
 * 100-byte literal first): the overlapping byte-by-byte copy, and the same
 * with an offset one past the output written so far (rejected by both). */
static void test_tail_short_offset_copies(void **state) {
  (void)state;
  for (size_t lead = 3; lead <= 100; lead += 97)
    for (size_t off = 1; off <= 3; off++)
      for (size_t len = 4; len <= 11; len += 7)
        for (int bad = 0; bad < 2; bad++) {
          uint8_t z[160], raw[160];
          size_t zn = 0, n = lead + len;
          z[zn++] = (uint8_t)n; /* n < 128: a 1-byte varint */
          if (lead <= 60) {
            z[zn++] = (uint8_t)((lead - 1) << 2);
          } else {
            z[zn++] = 60 << 2;
            z[zn++] = (uint8_t)(lead - 1);
          }
          for (size_t i = 0; i < lead; i++) raw[i] = z[zn++] = (uint8_t)('a' + i % 26);
          size_t o = bad ? lead + 1 : off;
          z[zn++] = (uint8_t)(1 | (len - 4) << 2 | (o >> 8) << 5); /* a 1-byte-offset copy */
          z[zn++] = (uint8_t)(o & 0xff);
          for (size_t i = 0; i < len; i++) raw[lead + i] = raw[lead + i - off];
          agree(z, zn, n, bad ? NULL : raw);
          uint8_t out[160];
          assert_int_equal(pq__snappy_fast(z, zn, out, n), !bad);
        }
}

/* Mutated, truncated and mislabelled streams: both decoders agree. */
static void test_corrupt_streams(void **state) {
  (void)state;
  for (int rep = 0; rep < 400; rep++) {
    gen g;
    generate(&g, rep % 2 ? 3000 : 200);
    size_t zn = g.zn, raw = g.rn;
    switch (rep % 4) {
      case 0: /* a few bytes changed */
        for (int k = 0; k < 1 + rep % 3; k++) g.z[5 + next() % (zn - 5)] = (uint8_t)next();
        break;
      case 1: zn = 5 + (size_t)(next() % (zn - 5)); break; /* truncated */
      case 2: raw = raw + 1 - (size_t)(next() % 3); break; /* another length expected */
      default: g.z[5 + next() % (zn - 5)] ^= 0xff; break;
    }
    agree(g.z, zn, raw, NULL);
    free(g.z);
    free(g.raw);
  }
  /* by hand: a copy before any output, an offset of 0, a literal past the
   * input, a length varint that never ends, an empty input */
  static const uint8_t bad[][8] = {
      {4, 0x02, 1, 0},                  /* copy-2 of 1 byte, nothing written yet */
      {6, 0x04, 'a', 0x06, 0, 0},       /* literal "a", then a copy at offset 0 */
      {9, 0x20, 'a', 'b'},              /* a literal of 9 bytes, 2 present */
      {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, /* a varint of 7 bytes */
  };
  static const size_t bad_n[] = {4, 6, 4, 7}, bad_raw[] = {4, 6, 9, 1};
  for (size_t i = 0; i < 4; i++) {
    uint8_t out[16];
    assert_false(pq__snappy_fast(bad[i], bad_n[i], out, bad_raw[i]));
    agree(bad[i], bad_n[i], bad_raw[i], NULL);
    td_error err;
    assert_int_equal(pq_decompress(PQ_CODEC_SNAPPY, bad[i], (int64_t)bad_n[i], out, (int64_t)bad_raw[i], &err),
                     TD_EFORMAT);
    assert_non_null(strstr(err.message, "SNAPPY"));
  }
  uint8_t out[1];
  assert_false(pq__snappy_fast(bad[0], 0, out, 0));
}

/* Writes the typed test table's rows [0, rows) (behind `skip` junk rows)
 * to path as one row group of snappy pages (one page a column, no
 * dictionary); returns the file, open for reading and writing. */
static int write_table(const char *path, td_schema *s, bool nullable, int64_t rows, int64_t skip) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  td_test_schema(s, nullable);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open(fd, s, true, &w, &err), &err);
  struct ArrowArray batch = td_test_batch(0, rows, skip);
  TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  return fd;
}

/* A file whose first snappy page is corrupt: TD_EFORMAT naming the file,
 * the column and the page. */
static void test_corrupt_page_in_file(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("corrupt_snappy.parquet");
  td_schema s;
  td_error err;
  int fd = write_table(path, &s, true, 3000, 3);
  /* The first column chunk opens the file: its first page's body follows
   * its header; its first tag (after the length varint) becomes a copy
   * before any output. */
  uint8_t head[256];
  assert_int_equal(pread(fd, head, sizeof head, 4), (ssize_t)sizeof head);
  pq_page_header h;
  int64_t used;
  TD_ASSERT_OK(pq_page_header_parse(head, sizeof head, &h, &used, &err), &err);
  int64_t at = used;
  while (head[at] & 0x80) at++;
  head[at + 1] = 0x02;
  assert_int_equal(pwrite(fd, head + at + 1, 1, 4 + at + 1), 1);
  close(fd);
  td_file_reader *r;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  struct ArrowArray a;
  assert_int_equal(td_reader_read(r, 0, 0, 10, &a, &err), TD_EFORMAT);
  assert_non_null(strstr(err.message, path));
  char col[128];
  snprintf(col, sizeof col, "column '%s'", s.fields[0].name);
  assert_non_null(strstr(err.message, col));
  assert_non_null(strstr(err.message, "page at chunk byte 0"));
  assert_non_null(strstr(err.message, "corrupt SNAPPY page data"));
  /* the other columns read */
  TD_ASSERT_OK(td_reader_read(r, 1, 0, 10, &a, &err), &err);
  a.release(&a);
  td_reader_close(r);
  td_schema_reset(&s);
  unlink(path);
}

/* Narrow reads: rows anywhere in a snappy PLAIN page, in any order, one
 * to a few hundred, of nullable columns with nulls (the levels, then the
 * values in place) and of required ones, are the table's; then the whole. */
static void test_narrow_reads(void **state) {
  (void)state;
  const int64_t rows = 50000;
  static const int64_t at[][2] = {{49990, 10}, {30000, 1}, {31000, 3}, {17, 1},    {40000, 200},
                                  {0, 1},      {12345, 2}, {49999, 1}, {30001, 1}, {20000, 3000}};
  for (int nullable = 0; nullable < 2; nullable++) {
    td_test_with_nulls = nullable;
    const char *path = td_test_scratch_path("narrow.parquet");
    td_schema s;
    td_error err;
    close(write_table(path, &s, nullable, rows, 0));
    td_file_reader *r;
    TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) td_test_check_rows(r, at[k][0], at[k][1]);
    td_test_check_rows(r, 0, rows);
    td_reader_close(r);
    td_schema_reset(&s);
    unlink(path);
  }
  td_test_with_nulls = true;
}

/* Makes the last tag of a valid snappy stream z[0..n) invalid: a copy's
 * offset 0, or a literal one byte longer than the stream holds. */
static void break_last_tag(uint8_t *z, int64_t n) {
  int64_t at = 0, last = -1;
  while (z[at] & 0x80) at++; /* the length varint */
  at++;
  while (at < n) {
    last = at;
    uint8_t tag = z[at], kind = tag & 3;
    if (kind == 0) {
      int64_t len = tag >> 2, extra = len >= 60 ? len - 59 : 0;
      if (extra) {
        len = 0;
        for (int64_t k = extra; k > 0; k--) len = len << 8 | z[at + k];
      }
      at += 1 + extra + len + 1;
    } else {
      at += kind == 1 ? 2 : kind == 2 ? 3 : 5;
    }
  }
  assert_int_equal(at, n);
  uint8_t tag = z[last], kind = tag & 3;
  if (kind == 1) z[last] = tag & 0x1f, z[last + 1] = 0;                 /* offset 0 */
  else if (kind == 2) z[last + 1] = z[last + 2] = 0;                     /* offset 0 */
  else if (kind == 3) memset(z + last + 1, 0, 4);                        /* offset 0 */
  else assert_true(tag >> 2 < 59), z[last] = (uint8_t)(tag + 4);         /* one byte more than there is */
}

/* A fault near the end of a page's snappy stream: a narrow read of the
 * page's first rows decodes only their part of it and answers them; a read
 * of the whole page reports it.  Required
 * (values only) and nullable with nulls (levels, then values in place). */
static void test_narrow_read_stops_early(void **state) {
  (void)state;
  const int64_t rows = 50000;
  for (int nullable = 0; nullable < 2; nullable++) {
    td_test_with_nulls = nullable;
    const char *path = td_test_scratch_path("narrow_fault.parquet");
    td_schema s;
    td_error err;
    int fd = write_table(path, &s, nullable, rows, 0);
    /* The chunks follow each other from byte 4, one page each: walk to
     * column f64's (7) and make the last tag of its stream invalid. */
    int64_t off = 4;
    for (int col = 0;; col++) {
      uint8_t head[256];
      assert_int_equal(pread(fd, head, sizeof head, off), (ssize_t)sizeof head);
      pq_page_header h;
      int64_t used;
      TD_ASSERT_OK(pq_page_header_parse(head, sizeof head, &h, &used, &err), &err);
      assert_int_equal(h.type, PQ_PAGE_DATA);
      if (col == 7) {
        uint8_t *z = malloc((size_t)h.compressed_size);
        assert_non_null(z);
        assert_int_equal(pread(fd, z, (size_t)h.compressed_size, off + used), (ssize_t)h.compressed_size);
        break_last_tag(z, h.compressed_size);
        assert_int_equal(pwrite(fd, z, (size_t)h.compressed_size, off + used), (ssize_t)h.compressed_size);
        free(z);
        break;
      }
      off += used + h.compressed_size;
    }
    close(fd);
    td_file_reader *r;
    TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
    struct ArrowArray a;
    TD_ASSERT_OK(td_reader_read(r, 7, 10, 2, &a, &err), &err); /* narrow: rows 10 and 11 (not null) */
    assert_int_equal(a.length, 2);
    const uint8_t *valid = a.buffers[0];
    for (int64_t i = 0; valid && i < 2; i++) assert_true(td_bit_get(valid, a.offset + i));
    const double *v = (const double *)a.buffers[1] + a.offset;
    assert_true(v[0] == (double)td_test_value(7, 10) / 4 && v[1] == (double)td_test_value(7, 11) / 4);
    a.release(&a);
    assert_int_equal(td_reader_read(r, 7, 0, rows, &a, &err), TD_EFORMAT); /* the whole page */
    assert_non_null(strstr(err.message, "corrupt SNAPPY page data"));
    td_reader_close(r);
    td_schema_reset(&s);
    unlink(path);
  }
  td_test_with_nulls = true;
}

/* A hybrid stream of bit width bw: bit-packed runs of 1, 3, 9 and 150
 * groups of 8 and RLE runs, n values in all (vals), decoded in pieces of
 * 1 to 1000 values; the buffer ends where the stream does. */
static void test_rle_hybrid_widths(void **state) {
  (void)state;
  enum { N = 4000 };
  static const int64_t pieces[] = {1, 7, 64, 65, 1000, 3, 200};
  for (int bw = 0; bw <= 32; bw++) {
    uint64_t mask = bw == 32 ? 0xffffffffu : ((uint64_t)1 << bw) - 1;
    uint32_t *vals = malloc(N * sizeof *vals);
    uint8_t *buf = calloc(N * 5 + 64, 1);
    assert_non_null(vals);
    assert_non_null(buf);
    int64_t at = 0, nv = 0;
    for (int run = 0; nv < N; run++) {
      if (run % 3 == 2) { /* RLE: a count, then the value in (bw + 7) / 8 bytes */
        int64_t count = 1 + (int64_t)(next() % 63);
        if (count > N - nv) count = N - nv;
        uint32_t v = (uint32_t)(next() & mask);
        buf[at++] = (uint8_t)(count << 1); /* count < 64: one varint byte */
        for (int b = 0; b < (bw + 7) / 8; b++) buf[at++] = (uint8_t)(v >> (8 * b));
        for (int64_t i = 0; i < count; i++) vals[nv++] = v;
        continue;
      }
      static const int64_t group_counts[] = {1, 3, 9, 150};
      int64_t groups = group_counts[run % 4];
      if (groups * 8 > N - nv) groups = (N - nv) / 8;
      if (groups == 0) { /* fewer than 8 left: an RLE run of them next */
        run = 1;
        continue;
      }
      uint64_t h = (uint64_t)groups << 1 | 1;
      while (h >= 0x80) {
        buf[at++] = (uint8_t)(h | 0x80);
        h >>= 7;
      }
      buf[at++] = (uint8_t)h;
      for (int64_t i = 0; i < groups * 8; i++) {
        uint64_t v = next() & mask;
        vals[nv + i] = (uint32_t)v;
        for (int b = 0; b < bw; b++)
          if (v >> b & 1) buf[at + (i * bw + b) / 8] |= (uint8_t)(1u << ((i * bw + b) % 8));
      }
      at += groups * bw;
      nv += groups * 8;
    }
    uint8_t *exact = malloc((size_t)at + 1);
    assert_non_null(exact);
    memcpy(exact, buf, (size_t)at);
    uint32_t *out = malloc(N * sizeof *out);
    assert_non_null(out);
    pq_rle d;
    pq_rle_init(&d, exact, at, bw);
    for (int64_t done = 0, k = 0; done < N; k++) {
      int64_t m = pieces[k % 7] < N - done ? pieces[k % 7] : N - done;
      assert_true(pq_rle_u32(&d, out + done, m));
      done += m;
    }
    for (int64_t i = 0; i < N; i++)
      if (out[i] != vals[i]) fail_msg("bit width %d: value %lld is %u, %u expected", bw, (long long)i, out[i], vals[i]);
    uint32_t extra;
    if (pq_rle_u32(&d, &extra, 1)) fail_msg("bit width %d: a value after the stream's end (left %lld, at %lld of %lld)", bw, (long long)d.left, (long long)(d.p - exact), (long long)at);
    free(exact);
    free(out);
    free(vals);
    free(buf);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_compressed_by_libsnappy),
      cmocka_unit_test(test_generated_streams),
      cmocka_unit_test(test_tail_short_offset_copies),
      cmocka_unit_test(test_corrupt_streams),
      cmocka_unit_test(test_corrupt_page_in_file),
      cmocka_unit_test(test_narrow_reads),
      cmocka_unit_test(test_narrow_read_stops_early),
      cmocka_unit_test(test_rle_hybrid_widths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
