/*
 * formats/ipc/ipc_write.c - the Arrow IPC stream and file writer: Schema and
 * RecordBatch messages built with the flatbuffer builder (Message.fbs and
 * Schema.fbs layouts), bodies with validity/value/offset buffers re-based
 * to offset 0 and padded to 8 bytes, and the end-of-stream marker; the
 * file format adds the magic before and the footer (schema and record
 * batch Blocks) after the stream.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "formats/ipc/ipc_internal.h"
#include "formats/ipc/ipc_writer.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

struct td_ipc_stream_writer {
  int fd;
  td_schema schema;
  bool zstd; /* compress record batch bodies */
  bool file;       /* the IPC file format: magic, then the stream, then the footer */
  int64_t pos;     /* bytes written */
  uint8_t *blocks; /* file: the record batches' footer Blocks, 24 bytes each */
  int64_t n_blocks, cap_blocks;
};

static const uint8_t FILE_MAGIC[8] = {'A', 'R', 'R', 'O', 'W', '1', 0, 0};

/* A growing byte buffer for record batch bodies. */
typedef struct body {
  uint8_t *p;
  int64_t len, cap;
  int64_t (*bufs)[2]; /* offset, length per buffer */
  int64_t n_bufs;
} body;

static int write_all(int fd, const void *p, size_t n, td_error *err) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t k = write(fd, b, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return td_err(err, TD_EIO, "cannot write Arrow IPC stream: %s", k < 0 ? strerror(errno) : "no progress");
    b += k;
    n -= (size_t)k;
  }
  return TD_OK;
}

/* Frames and writes one message: marker, length, flatbuffer, body.  In
 * the file format a record batch (bd set) also gets its footer Block. */
static int write_message(td_ipc_stream_writer *w, ipc_fbb *fbb, const body *bd, td_error *err) {
  uint32_t head[2] = {0xFFFFFFFFu, (uint32_t)fbb->used};
  int64_t start = w->pos, meta = 8 + (int64_t)fbb->used, len = bd ? bd->len : 0;
  if (w->file && bd && w->n_blocks == w->cap_blocks) {
    int64_t cap = w->cap_blocks ? 2 * w->cap_blocks : 16;
    uint8_t *a = td_realloc(w->blocks, (size_t)cap * 24);
    if (!a) return td_err_nomem(err, "writing an Arrow IPC file");
    w->blocks = a;
    w->cap_blocks = cap;
  }
  int rc = write_all(w->fd, head, 8, err);
  if (!rc) rc = write_all(w->fd, fbb->buf + fbb->cap - fbb->used, fbb->used, err);
  if (!rc && len) rc = write_all(w->fd, bd->p, (size_t)len, err);
  if (rc) return rc;
  w->pos += meta + len;
  if (w->file && bd) { /* Block { offset: long; metaDataLength: int; (pad); bodyLength: long } */
    uint8_t *b = w->blocks + 24 * w->n_blocks++;
    int32_t m32 = (int32_t)meta;
    memset(b, 0, 24);
    memcpy(b, &start, 8);
    memcpy(b + 8, &m32, 4);
    memcpy(b + 16, &len, 8);
  }
  return TD_OK;
}

/* Builds Message{version V5, header, bodyLength} around `header`. */
static ipc_ref message(ipc_fbb *b, uint8_t type, ipc_ref header, int64_t body_len) {
  ipc_fbb_start(b);
  ipc_fbb_add_i64(b, 3, body_len);
  ipc_fbb_add_ref(b, 2, header);
  ipc_fbb_add_i16(b, 0, IPC_V5);
  ipc_fbb_add_u8(b, 1, type);
  return ipc_fbb_end(b);
}

/* The Type union member for a field; *tt receives its type id. */
static ipc_ref field_type(ipc_fbb *b, const td_field *f, uint8_t *tt) {
  ipc_ref tz = 0;
  if (td_type_is_timestamp(f->type) && f->tz) tz = ipc_fbb_string(b, f->tz, strlen(f->tz));
  ipc_fbb_start(b);
  switch (f->type) {
    case TD_TYPE_BOOL: *tt = IPC_T_BOOL; break;
    case TD_TYPE_UTF8: *tt = IPC_T_UTF8; break;
    case TD_TYPE_BINARY: *tt = IPC_T_BINARY; break;
    case TD_TYPE_LARGE_UTF8: *tt = IPC_T_LARGE_UTF8; break;
    case TD_TYPE_LARGE_BINARY: *tt = IPC_T_LARGE_BINARY; break;
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64:
      *tt = IPC_T_FLOAT;
      ipc_fbb_add_i16(b, 0, f->type == TD_TYPE_FLOAT32 ? 1 : 2);
      break;
    case TD_TYPE_TIMESTAMP:
    case TD_TYPE_TIMESTAMP_S:
    case TD_TYPE_TIMESTAMP_MS:
    case TD_TYPE_TIMESTAMP_US:
      *tt = IPC_T_TIMESTAMP;
      if (tz) ipc_fbb_add_ref(b, 1, tz);
      ipc_fbb_add_i16(b, 0, f->type == TD_TYPE_TIMESTAMP ? 3 : (int16_t)(f->type - TD_TYPE_TIMESTAMP_S));
      break;
    case TD_TYPE_DURATION_S:
    case TD_TYPE_DURATION_MS:
    case TD_TYPE_DURATION_US:
    case TD_TYPE_DURATION_NS:
      *tt = IPC_T_DURATION;
      ipc_fbb_add_i16(b, 0, (int16_t)(f->type - TD_TYPE_DURATION_S));
      break;
    case TD_TYPE_DATE32:
    case TD_TYPE_DATE64:
      *tt = IPC_T_DATE;
      ipc_fbb_add_i16(b, 0, f->type == TD_TYPE_DATE32 ? 0 : 1);
      break;
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS:
    case TD_TYPE_TIME64_US:
    case TD_TYPE_TIME64_NS:
      *tt = IPC_T_TIME;
      ipc_fbb_add_i16(b, 0, (int16_t)(f->type - TD_TYPE_TIME32_S));
      ipc_fbb_add_i32(b, 1, td_type_width(f->type) * 8);
      break;
    case TD_TYPE_DECIMAL128: {
      int p = 38, sc = 0;
      td_dec_params(f->tz, &p, &sc);
      *tt = IPC_T_DECIMAL;
      ipc_fbb_add_i32(b, 0, p);
      ipc_fbb_add_i32(b, 1, sc);
      ipc_fbb_add_i32(b, 2, 128);
      break;
    }
    default:
      *tt = IPC_T_INT;
      ipc_fbb_add_i32(b, 0, td_type_width(f->type) * 8);
      ipc_fbb_add_u8(b, 1, f->type != TD_TYPE_UINT16 && f->type != TD_TYPE_UINT8 && f->type != TD_TYPE_UINT32 &&
                               f->type != TD_TYPE_UINT64);
      break;
  }
  return ipc_fbb_end(b);
}

/* The Schema table (also the file footer's). */
static ipc_ref schema_table(ipc_fbb *b, const td_schema *s, ipc_ref *fields) {
  for (int64_t i = 0; i < s->n_fields; i++) {
    const td_field *f = &s->fields[i];
    uint8_t tt;
    ipc_ref type = field_type(b, f, &tt);
    ipc_ref name = ipc_fbb_string(b, f->name, strlen(f->name));
    ipc_ref kids = ipc_fbb_vec_tables(b, NULL, 0);
    ipc_fbb_start(b);
    ipc_fbb_add_ref(b, 0, name);
    ipc_fbb_add_ref(b, 3, type);
    ipc_fbb_add_ref(b, 5, kids);
    ipc_fbb_add_u8(b, 1, f->nullable);
    ipc_fbb_add_u8(b, 2, tt);
    fields[i] = ipc_fbb_end(b);
  }
  ipc_ref vec = ipc_fbb_vec_tables(b, fields, (size_t)s->n_fields);
  ipc_fbb_start(b);
  ipc_fbb_add_ref(b, 1, vec);
  ipc_fbb_add_i16(b, 0, 0); /* little-endian */
  return ipc_fbb_end(b);
}

static ipc_ref schema_message(ipc_fbb *b, const td_schema *s, ipc_ref *fields) {
  return message(b, IPC_MSG_SCHEMA, schema_table(b, s, fields), 0);
}

int td_ipc_schema_bytes(const td_schema *schema, uint8_t **out, size_t *n, td_error *err) {
  *out = NULL;
  *n = 0;
  ipc_ref *fields = td_malloc((size_t)schema->n_fields * sizeof *fields + 1);
  ipc_fbb b;
  ipc_fbb_init(&b);
  int rc = fields ? TD_OK : td_err_nomem(err, "building an IPC schema message");
  if (!rc && !ipc_fbb_finish(&b, schema_message(&b, schema, fields))) rc = td_err_nomem(err, "building an IPC schema message");
  if (!rc && !(*out = td_malloc(8 + b.used))) rc = td_err_nomem(err, "building an IPC schema message");
  if (!rc) {
    uint32_t head[2] = {0xFFFFFFFFu, (uint32_t)b.used};
    memcpy(*out, head, 8);
    memcpy(*out + 8, b.buf + b.cap - b.used, b.used);
    *n = 8 + b.used;
  }
  ipc_fbb_free(&b);
  td_free(fields);
  return rc;
}

static int writer_open(int fd, const td_schema *schema, bool file, td_ipc_stream_writer **out, td_error *err) {
  *out = NULL;
  td_ipc_stream_writer *w = td_calloc(1, sizeof *w);
  if (!w) return td_err_nomem(err, "creating an IPC writer");
  w->fd = fd;
  w->file = file;
  int rc = td_schema_copy(schema, &w->schema, err);
  if (!rc && file && (rc = write_all(fd, FILE_MAGIC, 8, err)) == TD_OK) w->pos = 8;
  ipc_ref *fields = rc ? NULL : td_malloc((size_t)schema->n_fields * sizeof *fields + 1);
  if (!rc && !fields) rc = td_err_nomem(err, "creating an IPC writer");
  ipc_fbb b;
  ipc_fbb_init(&b);
  if (!rc) {
    ipc_ref root = schema_message(&b, schema, fields);
    rc = ipc_fbb_finish(&b, root) ? write_message(w, &b, NULL, err)
                                  : td_err_nomem(err, "building an IPC schema message");
  }
  ipc_fbb_free(&b);
  td_free(fields);
  if (rc) {
    td_ipc_stream_writer_abort(w);
    return rc;
  }
  *out = w;
  return TD_OK;
}

int td_ipc_stream_writer_open(int fd, const td_schema *schema, td_ipc_stream_writer **out, td_error *err) {
  return writer_open(fd, schema, false, out, err);
}

int td_ipc_file_writer_open(int fd, const td_schema *schema, td_ipc_stream_writer **out, td_error *err) {
  return writer_open(fd, schema, true, out, err);
}

/* Appends n bytes (or zeros when p is NULL) as one buffer padded to 8. */
static uint8_t *body_add(body *bd, const void *p, int64_t n, td_error *err) {
  int64_t padded = (n + 7) & ~(int64_t)7;
  if (bd->len + padded > bd->cap || !bd->p) {
    int64_t cap = bd->cap ? bd->cap : 4096;
    while (cap < bd->len + padded) cap *= 2;
    uint8_t *np = td_realloc(bd->p, (size_t)cap);
    if (!np) return td_err_nomem(err, "building an IPC record batch"), NULL;
    bd->p = np;
    bd->cap = cap;
  }
  int64_t (*bufs)[2] = td_realloc(bd->bufs, (size_t)(bd->n_bufs + 1) * sizeof *bufs);
  if (!bufs) return td_err_nomem(err, "building an IPC record batch"), NULL;
  bd->bufs = bufs;
  bufs[bd->n_bufs][0] = bd->len;
  bufs[bd->n_bufs][1] = n;
  bd->n_bufs++;
  uint8_t *dst = bd->p + bd->len;
  if (p) memcpy(dst, p, (size_t)n);
  else memset(dst, 0, (size_t)n);
  memset(dst + n, 0, (size_t)(padded - n));
  bd->len += padded;
  return dst;
}

/* Appends bits [off, off + n) of `bits` as a bitmap starting at bit 0. */
static int body_bits(body *bd, const uint8_t *bits, int64_t off, int64_t n, td_error *err) {
  int64_t bytes = (n + 7) / 8;
  if (!(off & 7)) return body_add(bd, bits + off / 8, bytes, err) ? TD_OK : TD_ENOMEM;
  uint8_t *dst = body_add(bd, NULL, bytes, err);
  if (!dst) return TD_ENOMEM;
  for (int64_t i = 0; i < n; i++)
    if (td_bit_get(bits, off + i)) td_bit_set(dst, i);
  return TD_OK;
}

static int body_column(body *bd, const td_colview *v, int64_t n, int64_t *nulls, td_error *err) {
  *nulls = v->validity ? n - td_bits_count(v->validity, v->offset, n) : 0;
  int rc = *nulls ? body_bits(bd, v->validity, v->offset, n, err)
                  : (body_add(bd, NULL, 0, err) ? TD_OK : TD_ENOMEM);
  if (rc) return rc;
  if (v->type == TD_TYPE_BOOL) return body_bits(bd, v->values, v->offset, n, err);
  if (!td_type_is_varlen(v->type)) {
    int w = td_type_width(v->type);
    return body_add(bd, (const uint8_t *)v->values + v->offset * w, n * w, err) ? TD_OK : TD_ENOMEM;
  }
  const int32_t *o = v->offsets + v->offset;
  if (td_type_is_large(v->type)) { /* LargeUtf8 / LargeBinary: 64-bit offsets */
    int64_t *dst = (int64_t *)body_add(bd, NULL, (n + 1) * 8, err);
    if (!dst) return TD_ENOMEM;
    for (int64_t i = 0; i <= n; i++) dst[i] = o[i] - o[0];
    return body_add(bd, v->data + o[0], o[n] - o[0], err) ? TD_OK : TD_ENOMEM;
  }
  int32_t *dst = (int32_t *)body_add(bd, NULL, (n + 1) * 4, err);
  if (!dst) return TD_ENOMEM;
  for (int64_t i = 0; i <= n; i++) dst[i] = o[i] - o[0];
  return body_add(bd, v->data + o[0], o[n] - o[0], err) ? TD_OK : TD_ENOMEM;
}

/* Replaces every non-empty buffer of the body by its ZSTD frame after the
 * uncompressed length (BodyCompression BUFFER method). */
static int compress_body(body *bd, td_error *err) {
  body out = {0};
  int rc = TD_OK;
  for (int64_t i = 0; !rc && i < bd->n_bufs; i++) {
    int64_t off = bd->bufs[i][0], n = bd->bufs[i][1];
    if (n == 0) {
      if (!body_add(&out, NULL, 0, err)) rc = TD_ENOMEM;
      continue;
    }
    size_t bound = ZSTD_compressBound((size_t)n);
    uint8_t *dst = body_add(&out, NULL, 8 + (int64_t)bound, err);
    if (!dst) {
      rc = TD_ENOMEM;
      break;
    }
    memcpy(dst, &n, 8);
    size_t z = ZSTD_compress(dst + 8, bound, bd->p + off, (size_t)n, 1);
    if (ZSTD_isError(z)) {
      rc = td_err(err, TD_EIO, "cannot compress an IPC buffer: %s", ZSTD_getErrorName(z));
      break;
    }
    int64_t padded = (8 + (int64_t)z + 7) & ~(int64_t)7;
    out.len = out.bufs[out.n_bufs - 1][0] + padded; /* give back the unused bound */
    out.bufs[out.n_bufs - 1][1] = 8 + (int64_t)z;
  }
  td_free(rc ? out.p : bd->p);
  td_free(rc ? out.bufs : bd->bufs);
  if (!rc) *bd = out;
  return rc;
}

static int batch_message(ipc_fbb *b, int64_t rows, const int64_t (*nodes)[2], int64_t n_nodes,
                         const body *bd, bool zstd) {
  ipc_ref bufs = ipc_fbb_vec_structs(b, bd->bufs, (size_t)bd->n_bufs, 16);
  ipc_ref nv = ipc_fbb_vec_structs(b, nodes, (size_t)n_nodes, 16);
  ipc_ref comp = 0;
  if (zstd) {
    ipc_fbb_start(b);
    ipc_fbb_add_u8(b, 0, 1); /* ZSTD */
    comp = ipc_fbb_end(b);
  }
  ipc_fbb_start(b);
  ipc_fbb_add_i64(b, 0, rows);
  ipc_fbb_add_ref(b, 1, nv);
  ipc_fbb_add_ref(b, 2, bufs);
  if (zstd) ipc_fbb_add_ref(b, 3, comp);
  ipc_ref rb = ipc_fbb_end(b);
  return ipc_fbb_finish(b, message(b, IPC_MSG_BATCH, rb, bd->len)) ? TD_OK : TD_ENOMEM;
}

int td_ipc_stream_writer_write(td_ipc_stream_writer *w, const struct ArrowArray *batch,
                               td_error *err) {
  int64_t nf = w->schema.n_fields;
  if (!batch || !batch->release || batch->n_children != nf)
    return td_err(err, TD_EINVAL, "IPC writer: expected a struct array with %lld children, got %lld",
                  (long long)nf, batch && batch->release ? (long long)batch->n_children : -1LL);
  body bd = {0};
  int64_t (*nodes)[2] = td_malloc((size_t)nf * sizeof *nodes + 1);
  int rc = nodes ? TD_OK : td_err_nomem(err, "building an IPC record batch");
  int64_t rows = batch->length;
  for (int64_t i = 0; !rc && i < nf; i++) {
    td_colview v;
    struct ArrowArray tmp; /* large strings narrowed, then written back with 64-bit offsets */
    rc = td_colview_init_arrow(&v, w->schema.fields[i].type, batch->children[i], &tmp, err);
    if (!rc && v.length - batch->offset < rows)
      rc = td_err(err, TD_EINVAL, "IPC writer: column '%s' has %lld rows, the batch %lld",
                  w->schema.fields[i].name, (long long)v.length, (long long)rows);
    if (rc) break;
    v.offset += batch->offset;
    nodes[i][0] = rows;
    rc = body_column(&bd, &v, rows, &nodes[i][1], err);
    td_arrow_array_release(&tmp);
  }
  if (!rc && w->zstd) rc = compress_body(&bd, err);
  ipc_fbb b;
  ipc_fbb_init(&b);
  if (!rc && batch_message(&b, rows, nodes, nf, &bd, w->zstd)) rc = td_err_nomem(err, "building an IPC record batch");
  if (!rc) rc = write_message(w, &b, &bd, err);
  ipc_fbb_free(&b);
  td_free(bd.p);
  td_free(bd.bufs);
  td_free(nodes);
  return rc;
}

void td_ipc_stream_writer_compress(td_ipc_stream_writer *w, bool zstd) {
  if (w) w->zstd = zstd;
}

/* The file format's tail: Footer { version, schema, dictionaries: [Block],
 * recordBatches: [Block] }, its int32 length and the magic. */
static int write_footer(td_ipc_stream_writer *w, td_error *err) {
  ipc_ref *fields = td_malloc((size_t)w->schema.n_fields * sizeof *fields + 1);
  if (!fields) return td_err_nomem(err, "writing an Arrow IPC footer");
  ipc_fbb b;
  ipc_fbb_init(&b);
  ipc_ref schema = schema_table(&b, &w->schema, fields);
  ipc_ref batches = ipc_fbb_vec_structs(&b, w->blocks, (size_t)w->n_blocks, 24);
  ipc_ref dicts = ipc_fbb_vec_structs(&b, NULL, 0, 24);
  ipc_fbb_start(&b);
  ipc_fbb_add_ref(&b, 1, schema);
  ipc_fbb_add_ref(&b, 2, dicts);
  ipc_fbb_add_ref(&b, 3, batches);
  ipc_fbb_add_i16(&b, 0, IPC_V5);
  int rc = ipc_fbb_finish(&b, ipc_fbb_end(&b)) ? TD_OK : td_err_nomem(err, "writing an Arrow IPC footer");
  int32_t len = (int32_t)b.used;
  if (!rc) rc = write_all(w->fd, b.buf + b.cap - b.used, b.used, err);
  if (!rc) rc = write_all(w->fd, &len, 4, err);
  if (!rc) rc = write_all(w->fd, FILE_MAGIC, 6, err);
  ipc_fbb_free(&b);
  td_free(fields);
  return rc;
}

int td_ipc_stream_writer_close(td_ipc_stream_writer *w, td_error *err) {
  if (!w) return TD_OK;
  static const uint32_t eos[2] = {0xFFFFFFFFu, 0};
  int rc = write_all(w->fd, eos, 8, err);
  if (!rc && w->file) rc = write_footer(w, err);
  td_ipc_stream_writer_abort(w);
  return rc;
}

void td_ipc_stream_writer_abort(td_ipc_stream_writer *w) {
  if (!w) return;
  td_schema_reset(&w->schema);
  td_free(w->blocks);
  td_free(w);
}
