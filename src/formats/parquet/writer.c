/*
 * formats/parquet/writer.c - the Parquet writer: v1 data pages (RLE /
 * bit-packed hybrid definition levels for nullable columns), values PLAIN or
 * dictionary-encoded (RLE_DICTIONARY with a PLAIN dictionary page, falling
 * back to PLAIN when the dictionary grows too large or barely repeats),
 * snappy or zstd pages, column-chunk statistics, row groups buffered per
 * column until they hold the configured rows, and the Thrift compact footer
 * (FileMetaData with schema, row groups and column orders).
 */
#include <errno.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "formats/ipc/ipc_writer.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/thrift.h"
#include "formats/parquet/writer.h"
#include "tabledata.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- a growing byte buffer; the first allocation failure latches ---- */

typedef struct pw_buf {
  uint8_t *p;
  int64_t len, cap;
  bool oom;
} pw_buf;

static bool buf_reserve(pw_buf *b, int64_t n) {
  if (b->oom) return false;
  if (b->len + n <= b->cap) return true;
  int64_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n) cap *= 2;
  uint8_t *p = td_realloc(b->p, (size_t)cap);
  if (!p) {
    b->oom = true;
    return false;
  }
  b->p = p;
  b->cap = cap;
  return true;
}

static void put(pw_buf *b, const void *p, int64_t n) {
  if (n <= 0 || !buf_reserve(b, n)) return;
  memcpy(b->p + b->len, p, (size_t)n);
  b->len += n;
}

static void put_byte(pw_buf *b, uint8_t v) {
  if (b->len < b->cap) b->p[b->len++] = v;
  else put(b, &v, 1);
}

static void put_varint(pw_buf *b, uint64_t v) {
  while (v >= 0x80) {
    put_byte(b, (uint8_t)(v | 0x80));
    v >>= 7;
  }
  put_byte(b, (uint8_t)v);
}

static void put_zigzag(pw_buf *b, int64_t v) { put_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }

/* ---- Thrift compact protocol: `last` is the previous field id of the
 * struct being written (0 at its start) ---- */

static void t_field(pw_buf *b, int16_t *last, int16_t id, int type) {
  int delta = id - *last;
  if (delta > 0 && delta <= 15) {
    put_byte(b, (uint8_t)(delta << 4 | type));
  } else {
    put_byte(b, (uint8_t)type);
    put_zigzag(b, id);
  }
  *last = id;
}
static void t_i32(pw_buf *b, int16_t *last, int16_t id, int64_t v) {
  t_field(b, last, id, TC_I32);
  put_zigzag(b, v);
}
static void t_i64(pw_buf *b, int16_t *last, int16_t id, int64_t v) {
  t_field(b, last, id, TC_I64);
  put_zigzag(b, v);
}
static void t_bool(pw_buf *b, int16_t *last, int16_t id, bool v) { t_field(b, last, id, v ? TC_TRUE : TC_FALSE); }
static void t_binary(pw_buf *b, int16_t *last, int16_t id, const void *p, int64_t n) {
  t_field(b, last, id, TC_BINARY);
  put_varint(b, (uint64_t)n);
  put(b, p, n);
}
static void t_list(pw_buf *b, int16_t *last, int16_t id, int elem_type, int64_t n) {
  t_field(b, last, id, TC_LIST);
  if (n < 15) {
    put_byte(b, (uint8_t)(n << 4 | elem_type));
  } else {
    put_byte(b, (uint8_t)(0xF0 | elem_type));
    put_varint(b, (uint64_t)n);
  }
}
static void t_stop(pw_buf *b) { put_byte(b, TC_STOP); }
/* A field holding an empty struct (the members of Parquet's unions). */
static void t_empty_struct(pw_buf *b, int16_t *last, int16_t id) {
  t_field(b, last, id, TC_STRUCT);
  t_stop(b);
}

/* ---- RLE / bit-packed hybrid (definition levels, dictionary indices) ---- */

/* Bit-packed run of v[from, to), padded with zeros to a multiple of 8. */
static void put_literals(pw_buf *b, const uint32_t *v, int64_t from, int64_t to, int bw) {
  if (to <= from) return;
  int64_t groups = (to - from + 7) / 8;
  put_varint(b, (uint64_t)groups << 1 | 1);
  uint64_t acc = 0;
  int nb = 0;
  for (int64_t k = 0; k < groups * 8; k++) {
    uint64_t x = from + k < to ? v[from + k] : 0;
    acc |= x << nb;
    nb += bw;
    while (nb >= 8) {
      put_byte(b, (uint8_t)acc);
      acc >>= 8;
      nb -= 8;
    }
  }
}

/* v[0, n) at bit width bw (1..32): runs of 8 or more equal values as RLE
 * runs, the rest bit-packed in groups of 8. */
static void put_hybrid(pw_buf *b, const uint32_t *v, int64_t n, int bw) {
  int bytes = (bw + 7) / 8;
  int64_t i = 0, lit = 0;
  while (i < n) {
    int64_t r = 1;
    while (i + r < n && v[i + r] == v[i]) r++;
    if (r >= 8) {
      put_literals(b, v, lit, i, bw);
      put_varint(b, (uint64_t)r << 1);
      for (int k = 0; k < bytes; k++) put_byte(b, (uint8_t)(v[i] >> (8 * k)));
      i += r;
      lit = i;
    } else {
      i = i + 8 < n ? i + 8 : n;
    }
  }
  put_literals(b, v, lit, n, bw);
}

/* ---- the writer ---- */

typedef struct pw_chunk {
  int64_t offset, dict_offset, data_offset, compressed, uncompressed, null_count;
  bool dict, plain;  /* encodings used */
  uint8_t *min, *max; /* PLAIN-encoded statistics, NULL when all values are null */
  int64_t min_len, max_len;
  bool no_nan; /* a float column without NaN: nan_count = 0 is written */
} pw_chunk;

typedef struct pw_group {
  int64_t rows, offset;
  pw_chunk *chunks;
} pw_group;

/* Per column: the open row group's pages and dictionary. */
typedef struct pw_col {
  pw_buf pages;         /* data pages (headers and payloads) */
  int64_t pages_raw;    /* their uncompressed size, headers included */
  pw_buf dict;          /* dictionary values, PLAIN */
  int64_t n_dict, dict_cap;
  int64_t *dict_off;    /* entry i starts at dict.p + dict_off[i] */
  uint32_t *slots;      /* hash of entries: index + 1, 0 = empty */
  int64_t n_slots;
  bool dict_on;         /* still dictionary-encoding this chunk */
  bool dict_used, plain_used;
  int64_t null_count, seen; /* non-null values seen in this chunk */
  pw_buf min, max;      /* statistics, PLAIN bytes (no length prefix) */
  bool any;
  bool nan; /* a NaN was seen (float columns) */
} pw_col;

struct td_parquet_writer {
  int fd;
  td_schema schema;
  td_parquet_write_options opts;
  int64_t pos; /* bytes written so far */
  pw_group *groups;
  int64_t n_groups, cap_groups;
  pw_col *cols;
  int64_t open_rows; /* rows buffered in the open row group */
  pw_buf page, comp, head; /* reused per page */
  uint32_t *levels, *idx;  /* per page scratch */
  int64_t scratch_cap;
};

static int write_all(td_parquet_writer *w, const void *p, int64_t n, td_error *err) {
  const uint8_t *c = p;
  while (n > 0) {
    ssize_t k = write(w->fd, c, (size_t)n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0)
      return td_err(err, TD_EIO, "cannot write Parquet file: %s", k < 0 ? strerror(errno) : "no progress");
    c += k;
    n -= k;
    w->pos += k;
  }
  return TD_OK;
}

static int physical_type(td_type_id t) {
  switch (t) {
    case TD_TYPE_BOOL: return PQ_BOOLEAN;
    case TD_TYPE_FLOAT32: return PQ_FLOAT;
    case TD_TYPE_FLOAT64: return PQ_DOUBLE;
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_UTF8:
    case TD_TYPE_LARGE_BINARY: return PQ_BYTE_ARRAY;
    case TD_TYPE_DECIMAL128: return PQ_FLBA;
    case TD_TYPE_DATE64: return PQ_INT32; /* written as days */
    default: /* int8..int32, uint8..uint32, date32, time32 / int64, timestamps, time64 */
      return td_type_width(t) == 8 ? PQ_INT64 : PQ_INT32;
  }
}

void td_parquet_write_options_init(td_parquet_write_options *o) {
  memset(o, 0, sizeof *o);
  o->codec = PQ_CODEC_SNAPPY;
  o->row_group_size = TD_PARQUET_ROW_GROUP_SIZE;
  o->dictionary = true;
  o->dict_limit = 1 << 20;
  o->zstd_level = 3;
}

static void col_reset(td_parquet_writer *w, pw_col *c, td_type_id t) {
  c->pages.len = c->dict.len = c->min.len = c->max.len = 0;
  c->pages_raw = c->n_dict = c->null_count = c->seen = 0;
  if (c->slots) memset(c->slots, 0, (size_t)c->n_slots * sizeof *c->slots);
  c->dict_on = w->opts.dictionary && t != TD_TYPE_BOOL;
  c->dict_used = c->plain_used = c->any = c->nan = false;
}

static void col_free(pw_col *c) {
  td_free(c->pages.p);
  td_free(c->dict.p);
  td_free(c->dict_off);
  td_free(c->slots);
  td_free(c->min.p);
  td_free(c->max.p);
}

int td_parquet_writer_open_with(int fd, const td_schema *schema, const td_parquet_write_options *opts,
                                td_parquet_writer **out, td_error *err) {
  *out = NULL;
  if (opts->codec != PQ_CODEC_UNCOMPRESSED && opts->codec != PQ_CODEC_SNAPPY && opts->codec != PQ_CODEC_ZSTD)
    return td_err(err, TD_EINVAL, "cannot write Parquet: expected codec uncompressed, snappy or zstd, found %d",
                  opts->codec);
  if (opts->row_group_size < 0)
    return td_err(err, TD_EINVAL, "cannot write Parquet: expected a row group size of 1 or more, found %lld",
                  (long long)opts->row_group_size);
  for (int64_t i = 0; i < schema->n_fields; i++)
    if (schema->fields[i].type == TD_TYPE_NONE)
      return td_err(err, TD_EINVAL, "cannot write Parquet column '%s': expected a typed column, found null type",
                    schema->fields[i].name);
  td_parquet_writer *w = td_calloc(1, sizeof *w);
  if (!w) return td_err_nomem(err, "creating a Parquet writer");
  w->fd = fd;
  w->opts = *opts;
  if (w->opts.dict_limit <= 0) w->opts.dict_limit = 1 << 20;
  int rc = td_schema_copy(schema, &w->schema, err);
  if (!rc) {
    w->cols = td_calloc((size_t)schema->n_fields + 1, sizeof *w->cols);
    if (!w->cols) rc = td_err_nomem(err, "creating a Parquet writer");
  }
  for (int64_t i = 0; !rc && i < schema->n_fields; i++) col_reset(w, &w->cols[i], schema->fields[i].type);
  if (!rc) rc = write_all(w, "PAR1", 4, err);
  if (rc) {
    td_parquet_writer_abort(w);
    return rc;
  }
  *out = w;
  return TD_OK;
}

int td_parquet_writer_open(int fd, const td_schema *schema, bool snappy, td_parquet_writer **out,
                           td_error *err) {
  td_parquet_write_options o;
  td_parquet_write_options_init(&o);
  o.codec = snappy ? PQ_CODEC_SNAPPY : PQ_CODEC_UNCOMPRESSED;
  o.row_group_size = 0; /* a row group per write */
  o.dictionary = false;
  return td_parquet_writer_open_with(fd, schema, &o, out, err);
}

static bool is_valid(const struct ArrowArray *a, int64_t i) {
  const uint8_t *v = a->buffers[0];
  if (!v || a->null_count == 0) return true;
  int64_t j = a->offset + i;
  return (v[j >> 3] >> (j & 7)) & 1;
}

/* Value i (valid) of column a in its PLAIN form: *p, *len (strings without
 * their length prefix); tmp holds converted fixed-width values. */
static void value_bytes(const td_field *f, const struct ArrowArray *a, int64_t i, uint8_t tmp[16],
                        const uint8_t **p, int64_t *len) {
  int64_t j = a->offset + i, v;
  const void *vals = a->buffers[1];
  switch (f->type) {
    case TD_TYPE_BOOL: tmp[0] = (((const uint8_t *)vals)[j >> 3] >> (j & 7)) & 1, *len = 1; *p = tmp; return;
    case TD_TYPE_FLOAT32: *p = (const uint8_t *)vals + 4 * j, *len = 4; return;
    case TD_TYPE_FLOAT64: *p = (const uint8_t *)vals + 8 * j, *len = 8; return;
    case TD_TYPE_LARGE_UTF8:
    case TD_TYPE_LARGE_BINARY: { /* the Arrow layout: 64-bit offsets */
      const int64_t *off = vals;
      *p = (const uint8_t *)a->buffers[2] + off[j];
      *len = off[j + 1] - off[j];
      return;
    }
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY: {
      const int32_t *off = vals;
      *p = (const uint8_t *)a->buffers[2] + off[j];
      *len = off[j + 1] - off[j];
      return;
    }
    case TD_TYPE_DECIMAL128: { /* little-endian 16 bytes -> big-endian */
      const uint8_t *d = (const uint8_t *)vals + 16 * j;
      for (int k = 0; k < 16; k++) tmp[k] = d[15 - k];
      *p = tmp, *len = 16;
      return;
    }
    case TD_TYPE_INT8: v = ((const int8_t *)vals)[j]; break;
    case TD_TYPE_INT16: v = ((const int16_t *)vals)[j]; break;
    case TD_TYPE_UINT8: v = ((const uint8_t *)vals)[j]; break;
    case TD_TYPE_UINT16: v = ((const uint16_t *)vals)[j]; break;
    case TD_TYPE_UINT32: v = ((const uint32_t *)vals)[j]; break;
    case TD_TYPE_INT32:
    case TD_TYPE_DATE32:
    case TD_TYPE_TIME32_MS: v = ((const int32_t *)vals)[j]; break;
    case TD_TYPE_TIME32_S: v = (int64_t)((const int32_t *)vals)[j] * 1000; break;
    case TD_TYPE_TIMESTAMP_S: v = ((const int64_t *)vals)[j] * 1000; break;
    case TD_TYPE_DATE64: { /* milliseconds -> days, rounding down */
      int64_t ms = ((const int64_t *)vals)[j];
      v = ms / 86400000 - (ms % 86400000 < 0);
      break;
    }
    default: v = ((const int64_t *)vals)[j]; break;
  }
  if (physical_type(f->type) == PQ_INT64) {
    memcpy(tmp, &v, 8), *len = 8;
  } else {
    int32_t v32 = (int32_t)(uint32_t)v;
    memcpy(tmp, &v32, 4), *len = 4;
  }
  *p = tmp;
}

/* Orders two PLAIN values of field f as Parquet's column order does. */
static int value_cmp(const td_field *f, const uint8_t *a, int64_t an, const uint8_t *b, int64_t bn) {
  switch (physical_type(f->type)) {
    case PQ_BOOLEAN: return (a[0] > b[0]) - (a[0] < b[0]);
    case PQ_FLOAT: {
      float x, y;
      memcpy(&x, a, 4), memcpy(&y, b, 4);
      return (x > y) - (x < y);
    }
    case PQ_DOUBLE: {
      double x, y;
      memcpy(&x, a, 8), memcpy(&y, b, 8);
      return (x > y) - (x < y);
    }
    case PQ_INT64: {
      if (f->type == TD_TYPE_UINT64) {
        uint64_t x, y;
        memcpy(&x, a, 8), memcpy(&y, b, 8);
        return (x > y) - (x < y);
      }
      int64_t x, y;
      memcpy(&x, a, 8), memcpy(&y, b, 8);
      return (x > y) - (x < y);
    }
    case PQ_INT32: {
      if (f->type == TD_TYPE_UINT32) {
        uint32_t x, y;
        memcpy(&x, a, 4), memcpy(&y, b, 4);
        return (x > y) - (x < y);
      }
      int32_t x, y;
      memcpy(&x, a, 4), memcpy(&y, b, 4);
      return (x > y) - (x < y);
    }
    case PQ_FLBA: /* big-endian two's complement */
      if ((a[0] ^ b[0]) & 0x80) return (a[0] & 0x80) ? -1 : 1;
      return memcmp(a, b, 16);
    default: {
      int64_t n = an < bn ? an : bn;
      int c = n > 0 ? memcmp(a, b, (size_t)n) : 0; /* an empty value's buffer may be NULL */
      return c ? c : (an > bn) - (an < bn);
    }
  }
}

static void set_buf(pw_buf *dst, const uint8_t *p, int64_t n) {
  dst->len = 0;
  put(dst, p, n);
}

static void track_stats(pw_col *c, const td_field *f, const uint8_t *p, int64_t n) {
  if (c->min.oom || c->max.oom) return;
  if (f->type == TD_TYPE_FLOAT32 || f->type == TD_TYPE_FLOAT64) { /* NaN is left out */
    double d;
    if (f->type == TD_TYPE_FLOAT32) {
      float x;
      memcpy(&x, p, 4);
      d = x;
    } else {
      memcpy(&d, p, 8);
    }
    if (isnan(d)) {
      c->nan = true;
      return;
    }
  }
  if (!c->any) {
    set_buf(&c->min, p, n);
    set_buf(&c->max, p, n);
    c->any = true;
    return;
  }
  if (value_cmp(f, p, n, c->min.p, c->min.len) < 0) set_buf(&c->min, p, n);
  else if (value_cmp(f, p, n, c->max.p, c->max.len) > 0) set_buf(&c->max, p, n);
}

static uint64_t hash_bytes(const uint8_t *p, int64_t n) {
  uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n;
  if (n == 8 || n == 4) { /* fixed width: one multiply-mix */
    uint64_t x = 0;
    memcpy(&x, p, (size_t)n);
    h ^= x;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
  }
  for (int64_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

/* The dictionary index of a value, inserting it; -1 on allocation failure. */
static int64_t dict_index(pw_col *c, const td_field *f, const uint8_t *p, int64_t n) {
  if ((c->n_dict + 1) * 2 > c->n_slots) {
    int64_t ns = c->n_slots ? c->n_slots * 2 : 1024;
    uint32_t *s = td_calloc((size_t)ns, sizeof *s);
    if (!s) return -1;
    for (int64_t i = 0; i < c->n_dict; i++) {
      const uint8_t *q = c->dict.p + c->dict_off[i];
      int64_t qn = n;
      if (td_type_is_varlen(f->type)) {
        uint32_t l;
        memcpy(&l, q, 4);
        q += 4, qn = l;
      }
      uint64_t h = hash_bytes(q, qn) & (uint64_t)(ns - 1);
      while (s[h]) h = (h + 1) & (uint64_t)(ns - 1);
      s[h] = (uint32_t)(i + 1);
    }
    td_free(c->slots);
    c->slots = s;
    c->n_slots = ns;
  }
  bool str = td_type_is_varlen(f->type);
  uint64_t h = hash_bytes(p, n) & (uint64_t)(c->n_slots - 1);
  for (;; h = (h + 1) & (uint64_t)(c->n_slots - 1)) {
    uint32_t e = c->slots[h];
    if (!e) break;
    const uint8_t *q = c->dict.p + c->dict_off[e - 1];
    int64_t qn = n;
    if (str) {
      uint32_t l;
      memcpy(&l, q, 4);
      q += 4, qn = l;
    }
    if (qn == n && (n == 0 || memcmp(q, p, (size_t)n) == 0)) return e - 1;
  }
  if (c->n_dict == c->dict_cap) {
    int64_t cap = c->dict_cap ? c->dict_cap * 2 : 256;
    int64_t *o = td_realloc(c->dict_off, (size_t)cap * sizeof *o);
    if (!o) return -1;
    c->dict_off = o;
    c->dict_cap = cap;
  }
  c->dict_off[c->n_dict] = c->dict.len;
  if (str) {
    uint32_t l = (uint32_t)n;
    put(&c->dict, &l, 4);
  }
  put(&c->dict, p, n);
  if (c->dict.oom) return -1;
  c->slots[h] = (uint32_t)(c->n_dict + 1);
  return c->n_dict++;
}

static int bit_width(int64_t max) {
  int bw = 1;
  while (bw < 32 && (max >> bw) != 0) bw++;
  return bw;
}

/* Compresses src into w->comp with the writer's codec; returns the payload
 * to write (src itself when uncompressed), NULL on failure. */
static const pw_buf *compress_page(td_parquet_writer *w, const pw_buf *src, const char *column, td_error *err) {
  if (src->oom) {
    td_err_nomem(err, "writing a Parquet page");
    return NULL;
  }
  if (w->opts.codec == PQ_CODEC_UNCOMPRESSED) return src;
  w->comp.len = 0;
  if (w->opts.codec == PQ_CODEC_SNAPPY) {
    size_t cap = snappy_max_compressed_length((size_t)src->len);
    if (!buf_reserve(&w->comp, (int64_t)cap)) {
      td_err_nomem(err, "writing a Parquet page");
      return NULL;
    }
    if (snappy_compress((const char *)src->p, (size_t)src->len, (char *)w->comp.p, &cap) != SNAPPY_OK) {
      td_err(err, TD_EIO, "cannot compress a Parquet page of column '%s' with snappy", column);
      return NULL;
    }
    w->comp.len = (int64_t)cap;
  } else {
    size_t cap = ZSTD_compressBound((size_t)src->len);
    if (!buf_reserve(&w->comp, (int64_t)cap)) {
      td_err_nomem(err, "writing a Parquet page");
      return NULL;
    }
    size_t got = ZSTD_compress(w->comp.p, cap, src->p, (size_t)src->len, w->opts.zstd_level);
    if (ZSTD_isError(got)) {
      td_err(err, TD_EIO, "cannot compress a Parquet page of column '%s' with zstd: %s", column,
             ZSTD_getErrorName(got));
      return NULL;
    }
    w->comp.len = (int64_t)got;
  }
  return &w->comp;
}

/* Appends a page header (data page of n values in `encoding`, or a
 * dictionary page of n entries when dict) and the compressed w->page to
 * `out`; adds the uncompressed size to *raw. */
static int emit_page(td_parquet_writer *w, const td_field *f, bool dict, int64_t n, int encoding, pw_buf *out,
                     int64_t *raw, td_error *err) {
  const pw_buf *payload = compress_page(w, &w->page, f->name, err);
  if (!payload) return err ? err->code : TD_ENOMEM;
  if (w->page.len > INT32_MAX || payload->len > INT32_MAX)
    return td_err(err, TD_EINVAL, "cannot write Parquet column '%s': a page holds at most 2 GiB, found %lld bytes",
                  f->name, (long long)w->page.len);
  int16_t last = 0, dl = 0;
  pw_buf *h = &w->head;
  h->len = 0;
  t_i32(h, &last, 1, dict ? PQ_PAGE_DICTIONARY : PQ_PAGE_DATA);
  t_i32(h, &last, 2, w->page.len);
  t_i32(h, &last, 3, payload->len);
  if (dict) {
    t_field(h, &last, 7, TC_STRUCT);
    t_i32(h, &dl, 1, n);
    t_i32(h, &dl, 2, PQ_ENC_PLAIN);
  } else {
    t_field(h, &last, 5, TC_STRUCT);
    t_i32(h, &dl, 1, n);
    t_i32(h, &dl, 2, encoding);
    t_i32(h, &dl, 3, PQ_ENC_RLE);
    t_i32(h, &dl, 4, PQ_ENC_RLE);
  }
  t_stop(h);
  t_stop(h);
  put(out, h->p, h->len);
  put(out, payload->p, payload->len);
  if (h->oom || out->oom) return td_err_nomem(err, "writing a Parquet page");
  *raw += h->len + w->page.len;
  return TD_OK;
}

static int scratch(td_parquet_writer *w, int64_t n, td_error *err) {
  if (n <= w->scratch_cap) return TD_OK;
  uint32_t *l = td_realloc(w->levels, (size_t)n * sizeof *l);
  if (l) w->levels = l;
  uint32_t *x = l ? td_realloc(w->idx, (size_t)n * sizeof *x) : NULL;
  if (x) w->idx = x;
  if (!l || !x) return td_err_nomem(err, "writing a Parquet page");
  w->scratch_cap = n;
  return TD_OK;
}

/* Encodes rows [0, a->length) of column a as one data page of column c. */
static int write_page(td_parquet_writer *w, const td_field *f, pw_col *c, const struct ArrowArray *a,
                      td_error *err) {
  int64_t n = a->length;
  int rc = scratch(w, n, err);
  if (rc) return rc;
  w->page.len = 0;
  if (f->nullable) {
    int64_t start = w->page.len;
    uint32_t len = 0;
    put(&w->page, &len, 4);
    for (int64_t i = 0; i < n; i++) {
      w->levels[i] = is_valid(a, i);
      c->null_count += !w->levels[i];
    }
    put_hybrid(&w->page, w->levels, n, 1);
    len = (uint32_t)(w->page.len - start - 4);
    if (!w->page.oom) memcpy(w->page.p + start, &len, 4);
  } else if (a->null_count != 0) {
    for (int64_t i = 0; i < n; i++)
      if (!is_valid(a, i))
        return td_err(err, TD_EINVAL,
                      "cannot write Parquet column '%s': expected no nulls (the field is not nullable), found "
                      "a null at row %lld",
                      f->name, (long long)i);
  }
  uint8_t tmp[16];
  const uint8_t *p;
  int64_t len, nn = 0;
  if (c->dict_on) {
    for (int64_t i = 0; i < n; i++) {
      if (!is_valid(a, i)) continue;
      value_bytes(f, a, i, tmp, &p, &len);
      int64_t before = c->n_dict;
      int64_t k = dict_index(c, f, p, len);
      if (k < 0) return td_err_nomem(err, "writing a Parquet dictionary");
      if (c->n_dict > before) track_stats(c, f, p, len); /* each value is some entry */
      w->idx[nn++] = (uint32_t)k;
    }
    /* A dictionary that barely repeats is dropped before any page uses it. */
    if (!c->dict_used && nn >= 64 && c->n_dict * 2 > nn) {
      c->dict_on = false;
      c->dict.len = c->n_dict = 0;
      memset(c->slots, 0, (size_t)c->n_slots * sizeof *c->slots);
    }
  }
  int encoding = PQ_ENC_PLAIN;
  if (c->dict_on) {
    encoding = PQ_ENC_RLE_DICTIONARY;
    int bw = bit_width(c->n_dict > 0 ? c->n_dict - 1 : 0);
    put_byte(&w->page, (uint8_t)bw);
    put_hybrid(&w->page, w->idx, nn, bw);
    c->dict_used = true;
    if (c->dict.len > w->opts.dict_limit) c->dict_on = false; /* later pages: PLAIN */
  } else if (f->type == TD_TYPE_BOOL) {
    c->plain_used = true;
    uint8_t cur = 0;
    int nbits = 0;
    for (int64_t i = 0; i < n; i++) {
      if (!is_valid(a, i)) continue;
      value_bytes(f, a, i, tmp, &p, &len);
      track_stats(c, f, p, len);
      cur |= (uint8_t)(tmp[0] << nbits);
      if (++nbits == 8) {
        put_byte(&w->page, cur);
        cur = 0;
        nbits = 0;
      }
    }
    if (nbits) put_byte(&w->page, cur);
  } else {
    c->plain_used = true;
    bool str = td_type_is_varlen(f->type);
    for (int64_t i = 0; i < n; i++) {
      if (!is_valid(a, i)) continue;
      value_bytes(f, a, i, tmp, &p, &len);
      track_stats(c, f, p, len);
      if (str) {
        uint32_t l32 = (uint32_t)len;
        put(&w->page, &l32, 4);
      }
      put(&w->page, p, len);
    }
  }
  if (c->min.oom || c->max.oom) return td_err_nomem(err, "writing Parquet statistics");
  return emit_page(w, f, false, n, encoding, &c->pages, &c->pages_raw, err);
}

static void free_group(pw_group *g, int64_t n_cols) {
  if (!g->chunks) return;
  for (int64_t i = 0; i < n_cols; i++) {
    td_free(g->chunks[i].min);
    td_free(g->chunks[i].max);
  }
  td_free(g->chunks);
  g->chunks = NULL;
}

static uint8_t *dup_bytes(const pw_buf *b) {
  uint8_t *p = td_malloc((size_t)b->len + 1);
  if (p && b->len) memcpy(p, b->p, (size_t)b->len);
  return p;
}

/* Writes the open row group: per column its dictionary page, then its data
 * pages; records the chunks' metadata and resets the columns. */
static int flush_group(td_parquet_writer *w, td_error *err) {
  if (w->open_rows == 0) return TD_OK;
  int64_t nc = w->schema.n_fields;
  if (w->n_groups == w->cap_groups) {
    int64_t cap = w->cap_groups ? w->cap_groups * 2 : 16;
    pw_group *g = td_realloc(w->groups, (size_t)cap * sizeof *g);
    if (!g) return td_err_nomem(err, "writing a Parquet row group");
    w->groups = g;
    w->cap_groups = cap;
  }
  pw_group *g = &w->groups[w->n_groups];
  memset(g, 0, sizeof *g);
  g->chunks = td_calloc((size_t)nc + 1, sizeof *g->chunks);
  if (!g->chunks) return td_err_nomem(err, "writing a Parquet row group");
  g->rows = w->open_rows;
  g->offset = w->pos;
  int rc = TD_OK;
  for (int64_t i = 0; i < nc && rc == TD_OK; i++) {
    pw_col *c = &w->cols[i];
    const td_field *f = &w->schema.fields[i];
    pw_chunk *ch = &g->chunks[i];
    ch->offset = ch->dict_offset = w->pos;
    ch->null_count = c->null_count;
    ch->no_nan = (f->type == TD_TYPE_FLOAT32 || f->type == TD_TYPE_FLOAT64) && !c->nan;
    ch->dict = c->dict_used;
    ch->plain = c->plain_used;
    int64_t raw = c->pages_raw, comp = c->pages.len;
    if (c->dict_used) {
      pw_buf dp = {0};
      w->page.len = 0;
      put(&w->page, c->dict.p, c->dict.len);
      int64_t draw = 0;
      rc = emit_page(w, f, true, c->n_dict, PQ_ENC_PLAIN, &dp, &draw, err);
      if (!rc) rc = write_all(w, dp.p, dp.len, err);
      raw += draw;
      comp += dp.len;
      td_free(dp.p);
    }
    ch->data_offset = w->pos;
    if (!rc) rc = write_all(w, c->pages.p, c->pages.len, err);
    ch->compressed = comp;
    ch->uncompressed = raw;
    if (!rc && c->any) {
      ch->min = dup_bytes(&c->min);
      ch->max = dup_bytes(&c->max);
      ch->min_len = c->min.len;
      ch->max_len = c->max.len;
      if (!ch->min || !ch->max) rc = td_err_nomem(err, "writing Parquet statistics");
    }
    col_reset(w, c, f->type);
  }
  w->open_rows = 0;
  if (rc) {
    free_group(g, nc);
    return rc;
  }
  w->n_groups++;
  return TD_OK;
}

int td_parquet_writer_write(td_parquet_writer *w, const struct ArrowArray *batch, td_error *err) {
  int64_t nc = w->schema.n_fields;
  if (batch->n_children != nc)
    return td_err(err, TD_EINVAL, "cannot write a Parquet row group: expected %lld columns, found %lld",
                  (long long)nc, (long long)batch->n_children);
  for (int64_t i = 0; i < nc; i++)
    if (batch->children[i]->length < batch->length)
      return td_err(err, TD_EINVAL, "cannot write Parquet column '%s': expected %lld rows, found %lld",
                    w->schema.fields[i].name, (long long)batch->length, (long long)batch->children[i]->length);
  int64_t done = 0, rg = w->opts.row_group_size;
  while (done < batch->length) {
    int64_t n = batch->length - done;
    if (rg > 0 && n > rg - w->open_rows) n = rg - w->open_rows;
    if (n > (1 << 20)) n = 1 << 20; /* a page holds at most 2^20 rows */
    for (int64_t i = 0; i < nc; i++) {
      const struct ArrowArray *child = batch->children[i];
      struct ArrowArray view = *child;
      view.length = n;
      view.offset = child->offset + batch->offset + done;
      int rc = write_page(w, &w->schema.fields[i], &w->cols[i], &view, err);
      if (rc) return rc;
    }
    w->open_rows += n;
    done += n;
    if (rg > 0 && w->open_rows >= rg) {
      int rc = flush_group(w, err);
      if (rc) return rc;
    }
  }
  return rg == 0 ? flush_group(w, err) : TD_OK;
}

/* SchemaElement for one field. */
static void schema_element(pw_buf *b, const td_field *f) {
  int16_t last = 0, lt = 0, in = 0;
  t_i32(b, &last, 1, physical_type(f->type));
  int precision = 0, scale = 0;
  if (f->type == TD_TYPE_DECIMAL128) {
    if (!f->tz || sscanf(f->tz, "%d,%d", &precision, &scale) != 2) precision = 38, scale = 0;
    t_i32(b, &last, 2, 16);
  }
  t_i32(b, &last, 3, f->nullable ? PQ_OPTIONAL : PQ_REQUIRED);
  t_binary(b, &last, 4, f->name, (int64_t)strlen(f->name));
  int converted = f->type == TD_TYPE_INT8         ? PQ_CT_INT_8
                  : f->type == TD_TYPE_INT16      ? PQ_CT_INT_16
                  : f->type == TD_TYPE_UINT8      ? PQ_CT_UINT_8
                  : f->type == TD_TYPE_UINT16     ? PQ_CT_UINT_16
                  : f->type == TD_TYPE_UINT32     ? PQ_CT_UINT_32
                  : f->type == TD_TYPE_UINT64     ? PQ_CT_UINT_64
                  : td_type_is_text(f->type)      ? PQ_CT_UTF8 /* binary: no annotation */
                  : f->type == TD_TYPE_DECIMAL128 ? PQ_CT_DECIMAL
                  : f->type == TD_TYPE_DATE32 || f->type == TD_TYPE_DATE64 ? PQ_CT_DATE
                                                  : -1;
  if (converted >= 0) t_i32(b, &last, 6, converted);
  if (f->type == TD_TYPE_DECIMAL128) {
    t_i32(b, &last, 7, scale);
    t_i32(b, &last, 8, precision);
  }
  switch (f->type) {
    case TD_TYPE_INT8:
    case TD_TYPE_INT16:
    case TD_TYPE_UINT8:
    case TD_TYPE_UINT16:
    case TD_TYPE_UINT32:
    case TD_TYPE_UINT64:
      t_field(b, &last, 10, TC_STRUCT);
      t_field(b, &lt, PQ_LT_INTEGER, TC_STRUCT);
      t_field(b, &in, 1, TC_BYTE);
      put_byte(b, (uint8_t)(td_type_width(f->type) * 8));
      t_bool(b, &in, 2, f->type == TD_TYPE_INT8 || f->type == TD_TYPE_INT16);
      t_stop(b);
      t_stop(b);
      break;
    case TD_TYPE_UTF8:
    case TD_TYPE_LARGE_UTF8:
      t_field(b, &last, 10, TC_STRUCT);
      t_empty_struct(b, &lt, PQ_LT_STRING);
      t_stop(b);
      break;
    case TD_TYPE_DECIMAL128:
      t_field(b, &last, 10, TC_STRUCT);
      t_field(b, &lt, PQ_LT_DECIMAL, TC_STRUCT);
      t_i32(b, &in, 1, scale);
      t_i32(b, &in, 2, precision);
      t_stop(b);
      t_stop(b);
      break;
    case TD_TYPE_DATE32:
    case TD_TYPE_DATE64:
      t_field(b, &last, 10, TC_STRUCT);
      t_empty_struct(b, &lt, PQ_LT_DATE);
      t_stop(b);
      break;
    case TD_TYPE_TIMESTAMP:
    case TD_TYPE_TIMESTAMP_S:
    case TD_TYPE_TIMESTAMP_MS:
    case TD_TYPE_TIMESTAMP_US:
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS:
    case TD_TYPE_TIME64_US:
    case TD_TYPE_TIME64_NS: {
      int16_t unit = 0;
      int64_t ns = td_type_unit_ns(f->type);
      if (ns > 1000000) ns = 1000000; /* seconds are written as milliseconds */
      bool ts = td_type_is_timestamp(f->type);
      t_field(b, &last, 10, TC_STRUCT);
      t_field(b, &lt, ts ? PQ_LT_TIMESTAMP : PQ_LT_TIME, TC_STRUCT);
      t_bool(b, &in, 1, ts && f->tz != NULL); /* times are local, as Arrow writes them */
      t_field(b, &in, 2, TC_STRUCT);
      t_empty_struct(b, &unit, ns == 1 ? 3 : ns == 1000 ? 2 : 1); /* NANOS, MICROS, MILLIS */
      t_stop(b);
      t_stop(b);
      t_stop(b);
      break;
    }
    default: break;
  }
  t_stop(b);
}

static void column_chunk(pw_buf *b, const td_field *f, const pw_chunk *c, int64_t rows, int codec) {
  int16_t last = 0, md = 0, st = 0;
  t_i64(b, &last, 2, c->offset);
  t_field(b, &last, 3, TC_STRUCT);
  t_i32(b, &md, 1, physical_type(f->type));
  t_list(b, &md, 2, TC_I32, 1 + c->plain + c->dict);
  put_zigzag(b, PQ_ENC_RLE);
  if (c->plain) put_zigzag(b, PQ_ENC_PLAIN);
  if (c->dict) put_zigzag(b, PQ_ENC_RLE_DICTIONARY);
  t_list(b, &md, 3, TC_BINARY, 1);
  put_varint(b, strlen(f->name));
  put(b, f->name, (int64_t)strlen(f->name));
  t_i32(b, &md, 4, codec);
  t_i64(b, &md, 5, rows);
  t_i64(b, &md, 6, c->uncompressed);
  t_i64(b, &md, 7, c->compressed);
  t_i64(b, &md, 9, c->data_offset);
  if (c->dict) t_i64(b, &md, 11, c->dict_offset);
  t_field(b, &md, 12, TC_STRUCT);
  t_i64(b, &st, 3, c->null_count);
  if (c->min) {
    t_binary(b, &st, 5, c->max, c->max_len);
    t_binary(b, &st, 6, c->min, c->min_len);
  }
  /* nan_count only when it is 0: a dictionary column sees each value once,
   * so a count of NaN would be short; absent, readers assume NaN may be */
  if (c->no_nan) t_i64(b, &st, 9, 0);
  t_stop(b); /* Statistics */
  t_stop(b); /* ColumnMetaData */
  t_stop(b); /* ColumnChunk */
}

/* key_value_metadata (FileMetaData field 5) with "ARROW:schema": the base64
 * of the schema's Arrow IPC Schema message, as pyarrow writes it, so that
 * readers (this one, pyarrow, Polars) know the INT64 columns that are
 * durations.  Written only when a column is a duration: the other types are
 * told by the Parquet schema itself. */
static int arrow_schema_metadata(pw_buf *b, int16_t *last, const td_schema *s, td_error *err) {
  bool any = false;
  for (int64_t i = 0; i < s->n_fields; i++) any |= td_type_is_duration(s->fields[i].type);
  if (!any) return TD_OK;
  uint8_t *msg;
  size_t n;
  int rc = td_ipc_schema_bytes(s, &msg, &n, err);
  if (rc) return rc;
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *text = td_malloc((n + 2) / 3 * 4 + 1);
  if (!text) {
    td_free(msg);
    return td_err_nomem(err, "writing a Parquet footer");
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)msg[i] << 16 | (i + 1 < n ? (uint32_t)msg[i + 1] << 8 : 0) | (i + 2 < n ? msg[i + 2] : 0);
    text[k++] = b64[v >> 18 & 63];
    text[k++] = b64[v >> 12 & 63];
    text[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
    text[k++] = i + 2 < n ? b64[v & 63] : '=';
  }
  td_free(msg);
  int16_t kv = 0;
  t_list(b, last, 5, TC_STRUCT, 1);
  t_binary(b, &kv, 1, "ARROW:schema", 12);
  t_binary(b, &kv, 2, text, (int64_t)k);
  t_stop(b);
  td_free(text);
  return TD_OK;
}

int td_parquet_writer_close(td_parquet_writer *w, td_error *err) {
  if (!w) return TD_OK;
  int rc = flush_group(w, err);
  if (rc) {
    td_parquet_writer_abort(w);
    return rc;
  }
  pw_buf b;
  memset(&b, 0, sizeof b);
  int64_t nc = w->schema.n_fields, rows = 0;
  for (int64_t g = 0; g < w->n_groups; g++) rows += w->groups[g].rows;
  int16_t last = 0, root = 0;
  t_i32(&b, &last, 1, 1);
  t_list(&b, &last, 2, TC_STRUCT, nc + 1);
  t_binary(&b, &root, 4, "schema", 6);
  t_i32(&b, &root, 5, nc);
  t_stop(&b);
  for (int64_t i = 0; i < nc; i++) schema_element(&b, &w->schema.fields[i]);
  t_i64(&b, &last, 3, rows);
  t_list(&b, &last, 4, TC_STRUCT, w->n_groups);
  for (int64_t g = 0; g < w->n_groups; g++) {
    const pw_group *grp = &w->groups[g];
    int16_t rg = 0;
    int64_t bytes = 0, comp = 0;
    t_list(&b, &rg, 1, TC_STRUCT, nc);
    for (int64_t i = 0; i < nc; i++) {
      column_chunk(&b, &w->schema.fields[i], &grp->chunks[i], grp->rows, w->opts.codec);
      bytes += grp->chunks[i].uncompressed;
      comp += grp->chunks[i].compressed;
    }
    t_i64(&b, &rg, 2, bytes);
    t_i64(&b, &rg, 3, grp->rows);
    t_i64(&b, &rg, 5, grp->offset);
    t_i64(&b, &rg, 6, comp);
    t_field(&b, &rg, 7, TC_I16);
    put_zigzag(&b, g);
    t_stop(&b);
  }
  if ((rc = arrow_schema_metadata(&b, &last, &w->schema, err))) {
    td_free(b.p);
    td_parquet_writer_abort(w);
    return rc;
  }
  static const char created_by[] = "tabledata version " TD_VERSION_STRING;
  t_binary(&b, &last, 6, created_by, (int64_t)sizeof created_by - 1);
  t_list(&b, &last, 7, TC_STRUCT, nc);
  for (int64_t i = 0; i < nc; i++) {
    int16_t co = 0;
    t_empty_struct(&b, &co, 1); /* TYPE_ORDER */
    t_stop(&b);
  }
  t_stop(&b);
  uint32_t footer_len = (uint32_t)b.len;
  put(&b, &footer_len, 4);
  put(&b, "PAR1", 4);
  rc = b.oom ? td_err_nomem(err, "writing a Parquet footer") : write_all(w, b.p, b.len, err);
  td_free(b.p);
  td_parquet_writer_abort(w);
  return rc;
}

void td_parquet_writer_abort(td_parquet_writer *w) {
  if (!w) return;
  for (int64_t g = 0; g < w->n_groups; g++) free_group(&w->groups[g], w->schema.n_fields);
  td_free(w->groups);
  if (w->cols)
    for (int64_t i = 0; i < w->schema.n_fields; i++) col_free(&w->cols[i]);
  td_free(w->cols);
  td_free(w->page.p);
  td_free(w->comp.p);
  td_free(w->head.p);
  td_free(w->levels);
  td_free(w->idx);
  td_schema_reset(&w->schema);
  td_free(w);
}
