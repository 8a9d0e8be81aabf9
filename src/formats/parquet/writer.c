/*
 * formats/parquet/writer.c - the Parquet writer: PLAIN-encoded v1 data
 * pages (bit-packed definition levels for nullable columns), optional
 * snappy compression, column-chunk statistics, and the Thrift compact
 * footer (FileMetaData with schema, row groups and column orders).
 */
#include <errno.h>
#include <math.h>
#include <snappy-c.h>
#include <string.h>
#include <unistd.h>

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

static void put_byte(pw_buf *b, uint8_t v) { put(b, &v, 1); }

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

/* ---- the writer ---- */

typedef struct pw_chunk {
  int64_t offset, compressed, uncompressed, null_count;
  uint8_t *min, *max; /* PLAIN-encoded statistics, NULL when all values are null */
  int64_t min_len, max_len;
} pw_chunk;

typedef struct pw_group {
  int64_t rows, offset;
  pw_chunk *chunks;
} pw_group;

struct td_parquet_writer {
  int fd;
  td_schema schema;
  bool snappy;
  int64_t pos; /* bytes written so far */
  pw_group *groups;
  int64_t n_groups, cap_groups;
  pw_buf page, comp, head; /* reused per column chunk */
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
    case TD_TYPE_UTF8: return PQ_BYTE_ARRAY;
    default: /* int8, int16, int32, uint16, date32, time32 / int64, timestamps, time64 */
      return td_type_width(t) == 8 ? PQ_INT64 : PQ_INT32;
  }
}

int td_parquet_writer_open(int fd, const td_schema *schema, bool snappy, td_parquet_writer **out,
                           td_error *err) {
  *out = NULL;
  for (int64_t i = 0; i < schema->n_fields; i++) {
    td_type_id t = schema->fields[i].type;
    if (t == TD_TYPE_NONE)
      return td_err(err, TD_EINVAL, "cannot write Parquet column '%s': expected a typed column, found null type",
                    schema->fields[i].name);
    if (t == TD_TYPE_TIMESTAMP_S || t == TD_TYPE_TIME32_S || t == TD_TYPE_DATE64 || t == TD_TYPE_UINT8 ||
        t == TD_TYPE_UINT32 || t == TD_TYPE_UINT64 || t == TD_TYPE_DECIMAL128)
      return td_err(err, TD_EUNSUPPORTED,
                    "cannot write Parquet column '%s': the writer has no %s (Parquet has ms, us and ns "
                    "timestamps and times, and dates in days; unsigned integers other than uint16 and "
                    "decimals are not written yet: use Arrow IPC)",
                    schema->fields[i].name, td_type_name(t));
  }
  td_parquet_writer *w = td_calloc(1, sizeof *w);
  if (!w) return td_err_nomem(err, "creating a Parquet writer");
  w->fd = fd;
  w->snappy = snappy;
  int rc = td_schema_copy(schema, &w->schema, err);
  if (!rc) rc = write_all(w, "PAR1", 4, err);
  if (rc) {
    td_parquet_writer_abort(w);
    return rc;
  }
  *out = w;
  return TD_OK;
}

static bool is_valid(const struct ArrowArray *a, int64_t i) {
  const uint8_t *v = a->buffers[0];
  if (!v || a->null_count == 0) return true;
  int64_t j = a->offset + i;
  return (v[j >> 3] >> (j & 7)) & 1;
}

/* Running min/max over PLAIN-encoded values (fixed width or strings). */
typedef struct pw_stats {
  bool any;
  double fmin, fmax;
  int64_t imin, imax;
  const uint8_t *smin, *smax;
  int64_t smin_len, smax_len;
} pw_stats;

static int str_cmp(const uint8_t *a, int64_t an, const uint8_t *b, int64_t bn) {
  int c = memcmp(a, b, (size_t)(an < bn ? an : bn));
  return c ? c : (an > bn) - (an < bn);
}

/* Encodes the non-null values of column `a` PLAIN into w->page and tracks
 * statistics. */
static void encode_values(td_parquet_writer *w, const td_field *f, const struct ArrowArray *a, pw_stats *s) {
  pw_buf *b = &w->page;
  int64_t n = a->length;
  switch (f->type) {
    case TD_TYPE_BOOL: {
      const uint8_t *bits = a->buffers[1];
      uint8_t cur = 0;
      int nbits = 0;
      for (int64_t i = 0; i < n; i++) {
        if (!is_valid(a, i)) continue;
        int64_t j = a->offset + i;
        int v = (bits[j >> 3] >> (j & 7)) & 1;
        cur |= (uint8_t)(v << nbits);
        if (++nbits == 8) {
          put_byte(b, cur);
          cur = 0;
          nbits = 0;
        }
        if (!s->any || v < s->imin) s->imin = v;
        if (!s->any || v > s->imax) s->imax = v;
        s->any = true;
      }
      if (nbits) put_byte(b, cur);
      break;
    }
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: {
      bool f32 = f->type == TD_TYPE_FLOAT32;
      for (int64_t i = 0; i < n; i++) {
        if (!is_valid(a, i)) continue;
        double v;
        if (f32) {
          float x = ((const float *)a->buffers[1])[a->offset + i];
          put(b, &x, 4);
          v = x;
        } else {
          v = ((const double *)a->buffers[1])[a->offset + i];
          put(b, &v, 8);
        }
        if (isnan(v)) continue; /* NaN is left out of the statistics */
        if (!s->any || v < s->fmin) s->fmin = v;
        if (!s->any || v > s->fmax) s->fmax = v;
        s->any = true;
      }
      break;
    }
    case TD_TYPE_UTF8: {
      const int32_t *off = a->buffers[1];
      const uint8_t *data = a->buffers[2];
      for (int64_t i = 0; i < n; i++) {
        if (!is_valid(a, i)) continue;
        int64_t j = a->offset + i;
        const uint8_t *p = data + off[j];
        int64_t len = off[j + 1] - off[j];
        uint32_t len32 = (uint32_t)len;
        put(b, &len32, 4);
        put(b, p, len);
        if (!s->any || str_cmp(p, len, s->smin, s->smin_len) < 0) s->smin = p, s->smin_len = len;
        if (!s->any || str_cmp(p, len, s->smax, s->smax_len) > 0) s->smax = p, s->smax_len = len;
        s->any = true;
      }
      break;
    }
    default: { /* integers and timestamps */
      bool wide = physical_type(f->type) == PQ_INT64;
      for (int64_t i = 0; i < n; i++) {
        if (!is_valid(a, i)) continue;
        int64_t j = a->offset + i, v;
        switch (f->type) {
          case TD_TYPE_INT8: v = ((const int8_t *)a->buffers[1])[j]; break;
          case TD_TYPE_INT16: v = ((const int16_t *)a->buffers[1])[j]; break;
          case TD_TYPE_UINT16: v = ((const uint16_t *)a->buffers[1])[j]; break;
          case TD_TYPE_INT32:
          case TD_TYPE_DATE32:
          case TD_TYPE_TIME32_MS: v = ((const int32_t *)a->buffers[1])[j]; break;
          default: v = ((const int64_t *)a->buffers[1])[j]; break;
        }
        if (wide) {
          put(b, &v, 8);
        } else {
          int32_t v32 = (int32_t)v;
          put(b, &v32, 4);
        }
        if (!s->any || v < s->imin) s->imin = v;
        if (!s->any || v > s->imax) s->imax = v;
        s->any = true;
      }
      break;
    }
  }
}

/* Stores the statistics PLAIN-encoded in the chunk. */
static bool keep_stats(const td_field *f, const pw_stats *s, pw_chunk *c) {
  if (!s->any) return true;
  uint8_t lo[8], hi[8];
  const uint8_t *pl = lo, *ph = hi;
  int64_t nl, nh;
  switch (physical_type(f->type)) {
    case PQ_BOOLEAN: lo[0] = (uint8_t)s->imin, hi[0] = (uint8_t)s->imax, nl = nh = 1; break;
    case PQ_FLOAT: {
      float a = (float)s->fmin, b = (float)s->fmax;
      memcpy(lo, &a, 4), memcpy(hi, &b, 4), nl = nh = 4;
      break;
    }
    case PQ_DOUBLE: memcpy(lo, &s->fmin, 8), memcpy(hi, &s->fmax, 8), nl = nh = 8; break;
    case PQ_INT64: memcpy(lo, &s->imin, 8), memcpy(hi, &s->imax, 8), nl = nh = 8; break;
    case PQ_INT32: {
      int32_t a = (int32_t)s->imin, b = (int32_t)s->imax;
      memcpy(lo, &a, 4), memcpy(hi, &b, 4), nl = nh = 4;
      break;
    }
    default: pl = s->smin, ph = s->smax, nl = s->smin_len, nh = s->smax_len; break;
  }
  c->min = td_malloc((size_t)nl + 1);
  c->max = td_malloc((size_t)nh + 1);
  if (!c->min || !c->max) return false;
  if (nl) memcpy(c->min, pl, (size_t)nl);
  if (nh) memcpy(c->max, ph, (size_t)nh);
  c->min_len = nl;
  c->max_len = nh;
  return true;
}

/* Writes one column chunk: a page header and one PLAIN data page. */
static int write_chunk(td_parquet_writer *w, const td_field *f, const struct ArrowArray *a, pw_chunk *c,
                       td_error *err) {
  w->page.len = w->comp.len = w->head.len = 0;
  int64_t n = a->length;
  c->offset = w->pos;
  c->null_count = 0;
  if (f->nullable) {
    /* Definition levels: 4-byte length, then one bit-packed run. */
    int64_t groups = (n + 7) / 8;
    int64_t start = w->page.len;
    uint32_t len = 0;
    put(&w->page, &len, 4);
    put_varint(&w->page, (uint64_t)groups << 1 | 1);
    for (int64_t g = 0; g < groups; g++) {
      uint8_t byte = 0;
      for (int k = 0; k < 8 && g * 8 + k < n; k++) {
        bool v = is_valid(a, g * 8 + k);
        byte |= (uint8_t)(v << k);
        c->null_count += !v;
      }
      put_byte(&w->page, byte);
    }
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
  pw_stats s;
  memset(&s, 0, sizeof s);
  encode_values(w, f, a, &s);
  if (!keep_stats(f, &s, c)) return td_err_nomem(err, "writing Parquet statistics");
  const pw_buf *payload = &w->page;
  if (w->snappy && !w->page.oom) {
    size_t cap = snappy_max_compressed_length((size_t)w->page.len);
    if (buf_reserve(&w->comp, (int64_t)cap)) {
      if (snappy_compress((const char *)w->page.p, (size_t)w->page.len, (char *)w->comp.p, &cap) != SNAPPY_OK)
        return td_err(err, TD_EIO, "cannot compress Parquet page of column '%s' with snappy", f->name);
      w->comp.len = (int64_t)cap;
      payload = &w->comp;
    }
  }
  if (w->page.oom || w->comp.oom) return td_err_nomem(err, "writing a Parquet page");
  if (w->page.len > INT32_MAX || payload->len > INT32_MAX)
    return td_err(err, TD_EINVAL, "cannot write Parquet column '%s': a page holds at most 2 GiB, found %lld bytes",
                  f->name, (long long)w->page.len);
  int16_t last = 0, dl = 0;
  pw_buf *h = &w->head;
  t_i32(h, &last, 1, PQ_PAGE_DATA);
  t_i32(h, &last, 2, w->page.len);
  t_i32(h, &last, 3, payload->len);
  t_field(h, &last, 5, TC_STRUCT);
  t_i32(h, &dl, 1, n);
  t_i32(h, &dl, 2, PQ_ENC_PLAIN);
  t_i32(h, &dl, 3, PQ_ENC_RLE);
  t_i32(h, &dl, 4, PQ_ENC_RLE);
  t_stop(h);
  t_stop(h);
  if (h->oom) return td_err_nomem(err, "writing a Parquet page header");
  int rc = write_all(w, h->p, h->len, err);
  if (!rc) rc = write_all(w, payload->p, payload->len, err);
  c->compressed = h->len + payload->len;
  c->uncompressed = h->len + w->page.len;
  return rc;
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

int td_parquet_writer_write(td_parquet_writer *w, const struct ArrowArray *batch, td_error *err) {
  int64_t nc = w->schema.n_fields;
  if (batch->n_children != nc)
    return td_err(err, TD_EINVAL, "cannot write a Parquet row group: expected %lld columns, found %lld",
                  (long long)nc, (long long)batch->n_children);
  if (batch->length == 0) return TD_OK;
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
  g->rows = batch->length;
  g->offset = w->pos;
  int rc = TD_OK;
  for (int64_t i = 0; i < nc && rc == TD_OK; i++) {
    const struct ArrowArray *child = batch->children[i];
    if (child->length < batch->length) {
      rc = td_err(err, TD_EINVAL, "cannot write Parquet column '%s': expected %lld rows, found %lld",
                  w->schema.fields[i].name, (long long)batch->length, (long long)child->length);
      break;
    }
    struct ArrowArray view = *child;
    view.length = batch->length;
    view.offset = child->offset + batch->offset;
    rc = write_chunk(w, &w->schema.fields[i], &view, &g->chunks[i], err);
  }
  if (rc) {
    free_group(g, nc);
    return rc;
  }
  w->n_groups++;
  return TD_OK;
}

/* SchemaElement for one field. */
static void schema_element(pw_buf *b, const td_field *f) {
  int16_t last = 0, lt = 0, in = 0;
  t_i32(b, &last, 1, physical_type(f->type));
  t_i32(b, &last, 3, f->nullable ? PQ_OPTIONAL : PQ_REQUIRED);
  t_binary(b, &last, 4, f->name, (int64_t)strlen(f->name));
  int converted = f->type == TD_TYPE_INT8     ? PQ_CT_INT_8
                  : f->type == TD_TYPE_INT16  ? PQ_CT_INT_16
                  : f->type == TD_TYPE_UINT16 ? PQ_CT_UINT_16
                  : f->type == TD_TYPE_UTF8   ? PQ_CT_UTF8
                                              : -1;
  if (converted >= 0) t_i32(b, &last, 6, converted);
  switch (f->type) {
    case TD_TYPE_INT8:
    case TD_TYPE_INT16:
    case TD_TYPE_UINT16:
      t_field(b, &last, 10, TC_STRUCT);
      t_field(b, &lt, PQ_LT_INTEGER, TC_STRUCT);
      t_field(b, &in, 1, TC_BYTE);
      put_byte(b, (uint8_t)(td_type_width(f->type) * 8));
      t_bool(b, &in, 2, f->type != TD_TYPE_UINT16);
      t_stop(b);
      t_stop(b);
      break;
    case TD_TYPE_UTF8:
      t_field(b, &last, 10, TC_STRUCT);
      t_empty_struct(b, &lt, PQ_LT_STRING);
      t_stop(b);
      break;
    case TD_TYPE_DATE32:
      t_field(b, &last, 10, TC_STRUCT);
      t_empty_struct(b, &lt, PQ_LT_DATE);
      t_stop(b);
      break;
    case TD_TYPE_TIMESTAMP:
    case TD_TYPE_TIMESTAMP_MS:
    case TD_TYPE_TIMESTAMP_US:
    case TD_TYPE_TIME32_MS:
    case TD_TYPE_TIME64_US:
    case TD_TYPE_TIME64_NS: {
      int16_t unit = 0;
      int64_t ns = td_type_unit_ns(f->type);
      bool ts = td_type_is_timestamp(f->type);
      t_field(b, &last, 10, TC_STRUCT);
      t_field(b, &lt, ts ? PQ_LT_TIMESTAMP : PQ_LT_TIME, TC_STRUCT);
      t_bool(b, &in, 1, ts ? f->tz != NULL : true);
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

static void column_chunk(pw_buf *b, const td_field *f, const pw_chunk *c, int64_t rows, bool snappy) {
  int16_t last = 0, md = 0, st = 0;
  t_i64(b, &last, 2, c->offset);
  t_field(b, &last, 3, TC_STRUCT);
  t_i32(b, &md, 1, physical_type(f->type));
  t_list(b, &md, 2, TC_I32, 2);
  put_zigzag(b, PQ_ENC_PLAIN);
  put_zigzag(b, PQ_ENC_RLE);
  t_list(b, &md, 3, TC_BINARY, 1);
  put_varint(b, strlen(f->name));
  put(b, f->name, (int64_t)strlen(f->name));
  t_i32(b, &md, 4, snappy ? PQ_CODEC_SNAPPY : PQ_CODEC_UNCOMPRESSED);
  t_i64(b, &md, 5, rows);
  t_i64(b, &md, 6, c->uncompressed);
  t_i64(b, &md, 7, c->compressed);
  t_i64(b, &md, 9, c->offset);
  t_field(b, &md, 12, TC_STRUCT);
  t_i64(b, &st, 3, c->null_count);
  if (c->min) {
    t_binary(b, &st, 5, c->max, c->max_len);
    t_binary(b, &st, 6, c->min, c->min_len);
  }
  t_stop(b); /* Statistics */
  t_stop(b); /* ColumnMetaData */
  t_stop(b); /* ColumnChunk */
}

int td_parquet_writer_close(td_parquet_writer *w, td_error *err) {
  if (!w) return TD_OK;
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
      column_chunk(&b, &w->schema.fields[i], &grp->chunks[i], grp->rows, w->snappy);
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
  int rc = b.oom ? td_err_nomem(err, "writing a Parquet footer") : write_all(w, b.p, b.len, err);
  td_free(b.p);
  td_parquet_writer_abort(w);
  return rc;
}

void td_parquet_writer_abort(td_parquet_writer *w) {
  if (!w) return;
  for (int64_t g = 0; g < w->n_groups; g++) free_group(&w->groups[g], w->schema.n_fields);
  td_free(w->groups);
  td_free(w->page.p);
  td_free(w->comp.p);
  td_free(w->head.p);
  td_schema_reset(&w->schema);
  td_free(w);
}
