/*
 * formats/ipc/ipc_column.c - reading rows of one column out of record
 * batches: locating the column's FieldNode and buffers in a batch header,
 * checking them against the body, fetching only the byte ranges the rows
 * need (uncompressed fixed-width values are read straight into the output),
 * LZ4_FRAME / ZSTD buffer decompression, type widening, and resolving
 * string dictionaries (loaded lazily, once, under the reader's lock).
 */
#include <lz4frame.h>
#include <zstd.h>

#include <stdatomic.h>
#include <stdlib.h>

#include "arrow/dict.h"
#include "formats/cache.h"
#include "formats/ipc/ipc_internal.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/half.h"

/* The parts of one batch header that a column read needs. */
typedef struct batch_ctx {
  ipc_reader *r;
  const ipc_msg *m;
  int64_t body;   /* file offset of the body */
  int codec;      /* -1 uncompressed, 0 LZ4_FRAME, 1 ZSTD */
  bool is_dict;   /* a dictionary batch (rows are dictionary entries) */
  int64_t length, null_count;
  int64_t buf[3][2]; /* offset and length within the body */
  int64_t (*vbuf)[2]; /* views: the column's variadic data buffers (owned) */
  int64_t n_vbuf;
  /* Codes (IPC_K_CODES): the generation's td_dict of the first batch read
   * (a reference), and whether a later batch uses another one. */
  td_dict *td;
  bool other_dict;
} batch_ctx;

/* A decompressed buffer, in the readers' shared cache (formats/cache.h), so
 * each compressed buffer of a batch is decompressed once for all the pages
 * read from it. */
typedef struct ipc_plain {
  td_fcache_entry ce; /* first */
  int64_t msg, off;   /* message offset, buffer offset in its body */
  uint8_t *data;
  int64_t len;
} ipc_plain;

#define IPC_PLAIN_SLOTS 8
#define IPC_PLAIN_BYTES ((int64_t)256 << 20)

static td_fcache g_plain = TD_FCACHE_INIT(IPC_PLAIN_BYTES, IPC_PLAIN_SLOTS);

static void plain_free(td_fcache_entry *e) {
  ipc_plain *p = (ipc_plain *)e;
  td_free(p->data);
  td_free(p);
}

static void plain_release(ipc_plain *p) {
  if (p) td_fcache_release(&g_plain, &p->ce);
}

static bool plain_match(const td_fcache_entry *e, const void *arg) {
  const ipc_plain *p = (const ipc_plain *)e;
  const int64_t *k = arg;
  return p->msg == k[0] && p->off == k[1];
}

void ipc_plain_clear(const ipc_reader *r) { td_fcache_clear(&g_plain, r); }

/* One buffer, ready to hand out byte ranges. */
typedef struct bsrc {
  int64_t at;       /* file offset of raw bytes, when plain is NULL */
  uint8_t *plain;   /* decompressed bytes */
  ipc_plain *held;  /* the cache entry holding them */
} bsrc;

static int fail(const batch_ctx *bc, int code, const char *what, long long a, long long b,
                td_error *err) {
  return td_err(err, code, "'%s': batch at offset %lld: %s (%lld, %lld)", bc->r->base.io.path,
                (long long)bc->m->offset, what, a, b);
}

static int parse_batch(batch_ctx *bc, const ipc_tab *rb, const ipc_col *c, int nbuf,
                       td_error *err) {
  ipc_vec nodes, bufs, counts;
  ipc_tab comp;
  bool has_comp;
  int rc = ipc_tab_vector(rb, 1, 16, &nodes, err);
  if (!rc) rc = ipc_tab_vector(rb, 2, 16, &bufs, err);
  if (!rc) rc = ipc_tab_table(rb, 3, &comp, &has_comp, err);
  if (!rc) rc = ipc_tab_vector(rb, 4, 8, &counts, err);
  if (rc) return rc;
  bc->codec = -1;
  if (has_comp) {
    uint8_t codec, method;
    if ((rc = ipc_tab_u8(&comp, 0, 0, &codec, err)) || (rc = ipc_tab_u8(&comp, 1, 0, &method, err)))
      return rc;
    if (codec > 1 || method != 0)
      return fail(bc, TD_EUNSUPPORTED, "unsupported body compression (codec, method)", codec, method, err);
    bc->codec = codec;
  }
  if (c->node >= nodes.len) return fail(bc, TD_EFORMAT, "too few field nodes (need, have)", c->node + 1, nodes.len, err);
  const uint8_t *np = nodes.fb->p + nodes.pos + 16 * c->node;
  bc->length = ipc_rd_i64(np);
  bc->null_count = ipc_rd_i64(np + 8);
  if (bc->length != bc->m->rows)
    return fail(bc, TD_EFORMAT, "field node length differs from the batch length", bc->length, bc->m->rows, err);
  if (bc->null_count < 0 || bc->null_count > bc->length)
    return fail(bc, TD_EFORMAT, "null count out of range (null count, length)", bc->null_count, bc->length, err);
  int64_t b = c->buf;
  if (c->views_before > counts.len)
    return fail(bc, TD_EFORMAT, "too few variadic buffer counts (need, have)", c->views_before, counts.len, err);
  for (int64_t i = 0; i < c->views_before; i++) {
    int64_t k = ipc_rd_i64(counts.fb->p + counts.pos + 8 * i);
    if (k < 0 || k > (int64_t)bufs.len) return fail(bc, TD_EFORMAT, "bad variadic buffer count", k, i, err);
    b += k;
  }
  if (b + nbuf > (int64_t)bufs.len) return fail(bc, TD_EFORMAT, "too few buffers (need, have)", b + nbuf, bufs.len, err);
  if (c->kind == IPC_K_VIEW) { /* the data buffers follow the views buffer */
    if (c->views_before >= counts.len)
      return fail(bc, TD_EFORMAT, "no variadic buffer count for a view column (need, have)", c->views_before + 1,
                  counts.len, err);
    int64_t k = ipc_rd_i64(counts.fb->p + counts.pos + 8 * c->views_before);
    if (k < 0 || b + nbuf + k > (int64_t)bufs.len)
      return fail(bc, TD_EFORMAT, "bad variadic buffer count (count, buffers)", k, bufs.len, err);
    bc->vbuf = td_malloc((size_t)(k ? k : 1) * sizeof *bc->vbuf);
    if (!bc->vbuf) return td_err_nomem(err, "reading IPC string views");
    bc->n_vbuf = k;
    for (int64_t i = 0; i < k; i++) {
      const uint8_t *bp = bufs.fb->p + bufs.pos + 16 * (b + nbuf + i);
      int64_t off = ipc_rd_i64(bp), len = ipc_rd_i64(bp + 8);
      if (off < 0 || len < 0 || off > bc->m->body_len || len > bc->m->body_len - off)
        return fail(bc, TD_EFORMAT, "buffer outside the message body (offset, length)", off, len, err);
      bc->vbuf[i][0] = off;
      bc->vbuf[i][1] = len;
    }
  }
  for (int i = 0; i < nbuf; i++) {
    const uint8_t *bp = bufs.fb->p + bufs.pos + 16 * (b + i);
    int64_t off = ipc_rd_i64(bp), len = ipc_rd_i64(bp + 8);
    if (off < 0 || len < 0 || off > bc->m->body_len || len > bc->m->body_len - off)
      return fail(bc, TD_EFORMAT, "buffer outside the message body (offset, length)", off, len, err);
    bc->buf[i][0] = off;
    bc->buf[i][1] = len;
  }
  return TD_OK;
}

/* Reads the header of message m and locates column c's node and buffers. */
static int locate(batch_ctx *bc, const ipc_col *c, int nbuf, td_error *err) {
  uint8_t *mem;
  ipc_fb fb;
  ipc_tab msg, hdr, rb;
  uint8_t type;
  bool has = false;
  int rc = ipc_load_message(bc->r, bc->m, &mem, &fb, &msg, err);
  if (rc) return rc;
  rc = ipc_tab_u8(&msg, 1, 0, &type, err);
  if (!rc) rc = ipc_tab_table(&msg, 2, &hdr, &has, err);
  if (!rc && has && type == IPC_MSG_DICT) rc = ipc_tab_table(&hdr, 1, &rb, &has, err);
  else rb = hdr;
  if (!rc && (!has || (type != IPC_MSG_DICT && type != IPC_MSG_BATCH)))
    rc = fail(bc, TD_EFORMAT, "message is not a record batch (type, present)", type, has, err);
  if (!rc) rc = parse_batch(bc, &rb, c, nbuf, err);
  bc->is_dict = type == IPC_MSG_DICT;
  td_free(mem);
  bc->body = bc->m->offset + bc->m->meta_len;
  return rc;
}

/* Runs one decompression step; returns bytes produced, or -1 on error. */
static int64_t inflate_step(int codec, void *ctx, const uint8_t *in, size_t in_len, size_t *used,
                            uint8_t *out, size_t room, const char **why) {
  if (codec == 0) {
    size_t dst = room, src = in_len - *used;
    size_t ret = LZ4F_decompress(ctx, out, &dst, in + *used, &src, NULL);
    if (LZ4F_isError(ret)) {
      *why = LZ4F_getErrorName(ret);
      return -1;
    }
    *used += src;
    return (int64_t)dst;
  }
  ZSTD_inBuffer ib = {in, in_len, *used};
  ZSTD_outBuffer ob = {out, room, 0};
  size_t ret = ZSTD_decompressStream(ctx, &ob, &ib);
  if (ZSTD_isError(ret)) {
    *why = ZSTD_getErrorName(ret);
    return -1;
  }
  *used = ib.pos;
  return (int64_t)ob.pos;
}

/* Decompresses the buffer (up to `max` bytes, at least `need`) into *out,
 * *out_len.  The output buffer grows with what the data really produces, so
 * a lying length costs nothing. */
static int decompress(const batch_ctx *bc, const uint8_t *in, size_t in_len, uint8_t **out, int64_t *out_len,
                      size_t need, size_t max, td_error *err) {
  void *ctx = NULL;
  if (bc->codec == 0 ? LZ4F_isError(LZ4F_createDecompressionContext((LZ4F_dctx **)&ctx, LZ4F_VERSION))
                     : !(ctx = ZSTD_createDCtx()))
    return td_err_nomem(err, "creating a decompressor");
  size_t cap = max < (size_t)1 << 20 ? max : (size_t)1 << 20, done = 0, used = 0;
  uint8_t *buf = td_malloc(cap ? cap : 1);
  const char *why = NULL;
  int rc = buf ? TD_OK : td_err_nomem(err, "decompressing an IPC buffer");
  while (!rc && done < max) {
    if (done == cap) {
      size_t ncap = cap * 2 < max ? cap * 2 : max;
      uint8_t *nb = td_realloc(buf, ncap);
      if (!nb) {
        rc = td_err_nomem(err, "decompressing an IPC buffer");
        break;
      }
      buf = nb;
      cap = ncap;
    }
    size_t before = used;
    int64_t got = inflate_step(bc->codec, ctx, in, in_len, &used, buf + done, cap - done, &why);
    if (got < 0) {
      rc = td_err(err, TD_EFORMAT, "'%s': batch at offset %lld: corrupt %s buffer: %s", bc->r->base.io.path,
                  (long long)bc->m->offset, bc->codec == 0 ? "LZ4" : "ZSTD", why);
    } else {
      done += (size_t)got;
      if (got == 0 && used == before) break;
    }
  }
  if (bc->codec == 0) LZ4F_freeDecompressionContext(ctx);
  else ZSTD_freeDCtx(ctx);
  if (!rc && done < need)
    rc = fail(bc, TD_EFORMAT, "compressed buffer holds fewer bytes than needed (got, need)",
              (long long)done, (long long)need, err);
  if (rc) {
    td_free(buf);
  } else {
    *out = buf;
    *out_len = (int64_t)done;
  }
  return rc;
}

/* Prepares the buffer at body offset `off` (`len` bytes; i names it in
 * errors) so that its first `need` bytes can be fetched. */
static int open_buf_at(const batch_ctx *bc, int64_t i, int64_t off, int64_t len, int64_t need, bsrc *s,
                       td_error *err) {
  s->plain = NULL;
  s->held = NULL;
  s->at = bc->body + off;
  if (bc->codec >= 0 && len > 0) {
    int64_t ulen;
    int rc = len < 8 ? fail(bc, TD_EFORMAT, "compressed buffer too short (buffer, length)", i, len, err)
                     : td_io_read(&bc->r->base.io, &ulen, 8, s->at, err);
    if (rc) return rc;
    s->at += 8;
    len -= 8;
    if (ulen != -1) {
      if (ulen < need) return fail(bc, TD_EFORMAT, "buffer too small for the rows (has, needs)", ulen, need, err);
      if (need == 0) return TD_OK;
      int64_t key[2] = {bc->m->offset, off};
      ipc_plain *p = (ipc_plain *)td_fcache_find(&g_plain, bc->r, plain_match, key);
      if (!p) { /* decompressed whole, once, for every page read from it */
        uint8_t *in = td_malloc((size_t)len + 1);
        p = td_calloc(1, sizeof *p);
        rc = !in || !p ? td_err_nomem(err, "decompressing an IPC buffer")
                       : td_io_read(&bc->r->base.io, in, len, s->at, err);
        if (!rc) rc = decompress(bc, in, (size_t)len, &p->data, &p->len, (size_t)need, (size_t)ulen, err);
        td_free(in);
        if (rc) {
          td_free(p);
          return rc;
        }
        p->ce.owner = bc->r;
        p->ce.bytes = p->len;
        p->ce.free = plain_free;
        p->msg = bc->m->offset;
        p->off = off;
        td_fcache_put(&g_plain, &p->ce);
      }
      if (p->len < need) {
        plain_release(p);
        return fail(bc, TD_EFORMAT, "compressed buffer holds fewer bytes than needed (got, need)",
                    (long long)p->len, (long long)need, err);
      }
      s->plain = p->data;
      s->held = p;
      return TD_OK;
    }
  }
  if (len < need) return fail(bc, TD_EFORMAT, "buffer too small for the rows (has, needs)", len, need, err);
  return TD_OK;
}

/* Prepares buffer i so that its first `need` bytes can be fetched. */
static int open_buf(const batch_ctx *bc, int i, int64_t need, bsrc *s, td_error *err) {
  return open_buf_at(bc, i, bc->buf[i][0], bc->buf[i][1], need, s, err);
}

static int get(const batch_ctx *bc, const bsrc *s, int64_t start, int64_t n, void *dst, td_error *err) {
  if (n == 0) return TD_OK;
  if (s->plain) {
    memcpy(dst, s->plain + start, (size_t)n);
    return TD_OK;
  }
  return td_io_read(&bc->r->base.io, dst, n, s->at + start, err);
}

/* Fetches bytes [start, start + n) of buffer i (needing `need` in all) into
 * dst, or into a fresh allocation when *dst is NULL. */
static int fetch(const batch_ctx *bc, int i, int64_t need, int64_t start, int64_t n, uint8_t **dst,
                 td_error *err) {
  bsrc s;
  int rc = open_buf(bc, i, need, &s, err);
  if (rc) return rc;
  if (!*dst && !(*dst = td_malloc((size_t)n + 1))) rc = td_err_nomem(err, "reading an IPC buffer");
  if (!rc) rc = get(bc, &s, start, n, *dst, err);
  plain_release(s.held);
  return rc;
}

static int read_validity(const batch_ctx *bc, int64_t lo, int64_t n, td_array *out, int64_t base,
                         td_error *err) {
  if (bc->null_count == 0) return TD_OK;
  if (bc->buf[0][1] == 0)
    return fail(bc, TD_EFORMAT, "nulls without a validity bitmap (null count, length)", bc->null_count, bc->length, err);
  int64_t b0 = lo >> 3, b1 = (lo + n + 7) >> 3;
  uint8_t *bits = NULL;
  int rc = fetch(bc, 0, b1, b0, b1 - b0, &bits, err);
  if (!rc) rc = td_array_and_validity(out, base, bits, lo & 7, n, err);
  td_free(bits);
  return rc;
}

static int read_bool(const batch_ctx *bc, int64_t lo, int64_t n, td_array *out, int64_t base,
                     td_error *err) {
  int64_t b0 = lo >> 3, b1 = (lo + n + 7) >> 3;
  uint8_t *bits = NULL;
  int rc = fetch(bc, 1, b1, b0, b1 - b0, &bits, err);
  if (!rc) td_bits_copy(out->values, base, bits, lo & 7, n);
  td_free(bits);
  return rc;
}

static inline bool out_valid(const td_array *out, int64_t i) {
  return !out->validity || td_bit_get(out->validity, i);
}

/* Source value i as int64, by width and signedness. */
static inline int64_t load_int(const uint8_t *p, int64_t i, int w, bool sgn) {
  switch (w) {
    case 1: return sgn ? (int64_t)(int8_t)p[i] : (int64_t)p[i];
    case 2: { uint16_t v; memcpy(&v, p + 2 * i, 2); return sgn ? (int64_t)(int16_t)v : (int64_t)v; }
    case 4: { uint32_t v; memcpy(&v, p + 4 * i, 4); return sgn ? (int64_t)(int32_t)v : (int64_t)v; }
    default: { int64_t v; memcpy(&v, p + 8 * i, 8); return v; }
  }
}

/* Widens or scales n source values into out's values at `base`. */
static int convert(const batch_ctx *bc, const ipc_col *c, const uint8_t *src, int64_t lo, int64_t n,
                   td_array *out, int64_t base, td_error *err) {
  if (c->conv == IPC_CONV_WIDEN && c->type == TD_TYPE_FLOAT32) { /* Float16 */
    float *d = (float *)out->values + base;
    for (int64_t i = 0; i < n; i++) d[i] = td_half_to_float((uint16_t)load_int(src, i, 2, false));
    return TD_OK;
  }
  if (c->conv == IPC_CONV_WIDEN) {
    if (c->type == TD_TYPE_INT16) {
      int16_t *d = (int16_t *)out->values + base;
      for (int64_t i = 0; i < n; i++) d[i] = (int16_t)src[i];
    } else {
      int64_t *d = (int64_t *)out->values + base;
      for (int64_t i = 0; i < n; i++) d[i] = (int64_t)(uint32_t)load_int(src, i, 4, false);
    }
    return TD_OK;
  }
  int64_t *d = (int64_t *)out->values + base;
  const int64_t scale = c->scale, lim = INT64_MAX / c->scale;
  const int w = c->src_width;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = w == 4 ? (int64_t)(int32_t)load_int(src, i, 4, true) : load_int(src, i, 8, true);
    if (v > lim || v < -lim) {
      if (out_valid(out, base + i))
        return td_err(err, TD_ERANGE, "'%s': row %lld: value %lld (x%lld to nanoseconds) cannot be "
                      "represented as a nanosecond timestamp (1677-09-21 to 2262-04-11)", bc->r->base.io.path,
                      (long long)(bc->m->row_begin + lo + i), (long long)v, (long long)scale);
      v = 0;
    }
    d[i] = v * scale;
  }
  return TD_OK;
}

static int read_fixed(const batch_ctx *bc, const ipc_col *c, int64_t lo, int64_t n, td_array *out,
                      int64_t base, td_error *err) {
  int w = c->src_width;
  if (c->conv == IPC_CONV_NONE) {
    uint8_t *dst = out->values + (size_t)base * (size_t)w;
    return fetch(bc, 1, (lo + n) * w, lo * w, n * w, &dst, err);
  }
  uint8_t *tmp = NULL;
  int rc = fetch(bc, 1, (lo + n) * w, lo * w, n * w, &tmp, err);
  if (!rc) rc = convert(bc, c, tmp, lo, n, out, base, err);
  td_free(tmp);
  return rc;
}

/* FixedSizeBinary rows: the values buffer's bytes, offsets every width. */
static int read_fixed_binary(const batch_ctx *bc, const ipc_col *c, int64_t lo, int64_t n, td_array *out,
                             int64_t base, td_error *err) {
  int64_t w = c->byte_width, dl = out->data_length;
  if (n > (INT32_MAX - dl) / (w ? w : 1) || lo + n > INT64_MAX / (w ? w : 1))
    return fail(bc, TD_EUNSUPPORTED, "fixed-size binary rows exceed 2 GiB in one read (rows, width)", n, w, err);
  int rc = td_array_reserve_data(out, dl + n * w + 1, err);
  uint8_t *dst = rc ? NULL : (uint8_t *)out->data + dl;
  if (!rc) rc = fetch(bc, 1, (lo + n) * w, lo * w, n * w, &dst, err);
  if (rc) return rc;
  for (int64_t i = 0; i < n; i++) out->offsets[base + i + 1] = (int32_t)(dl + (i + 1) * w);
  out->data_length = dl + n * w;
  return TD_OK;
}

static int read_strings(const batch_ctx *bc, const ipc_col *c, int64_t lo, int64_t n, td_array *out,
                        int64_t base, td_error *err) {
  int ow = c->kind == IPC_K_STR32 ? 4 : 8;
  uint8_t *offs = NULL;
  int rc = fetch(bc, 1, (lo + n + 1) * ow, lo * ow, (n + 1) * ow, &offs, err);
  if (rc) return rc;
  int64_t first = load_int(offs, 0, ow, true), prev = load_int(offs, n, ow, true), bad = -1;
  if (!td_offsets_sorted(offs, n, ow)) { /* find the first bad one, for the message */
    prev = first;
    bad = first < 0 ? 0 : -1;
    for (int64_t i = 1; i <= n && bad < 0; i++) {
      int64_t o = load_int(offs, i, ow, true);
      if (o < prev) bad = i;
      else prev = o;
    }
  }
  int64_t dl = out->data_length;
  if (bad == 0)
    rc = td_err(err, TD_EFORMAT, "'%s': batch at offset %lld: row %lld: expected a string offset >= 0, found %lld",
                bc->r->base.io.path, (long long)bc->m->offset, (long long)(bc->m->row_begin + lo), (long long)first);
  else if (bad > 0)
    rc = td_err(err, TD_EFORMAT, "'%s': batch at offset %lld: row %lld: expected string offsets that never "
                "decrease, found %lld after %lld", bc->r->base.io.path, (long long)bc->m->offset,
                (long long)(bc->m->row_begin + lo + bad - 1), (long long)load_int(offs, bad, ow, true), (long long)prev);
  bsrc data = {0, NULL, NULL};
  if (!rc) rc = open_buf(bc, 2, prev, &data, err); /* checks the size before allocating */
  if (!rc) rc = td_array_reserve_data(out, dl + (prev - first) + 1, err);
  if (!rc) rc = get(bc, &data, first, prev - first, out->data + dl, err);
  plain_release(data.held);
  /* all-ASCII bytes (the common case) are valid text whatever the row
   * boundaries: one check for the batch, not a call per row */
  bool check = !rc && !c->binary && !td_ascii_only((const char *)out->data + dl, prev - first);
  int32_t *d = rc ? NULL : out->offsets + base + 1;
  if (!rc && !check && ow == 8) {
    for (int64_t i = 0; i < n; i++) d[i] = (int32_t)(dl + load_int(offs, i + 1, 8, true) - first);
  } else if (!rc && !check) {
    for (int64_t i = 0; i < n; i++) d[i] = (int32_t)(dl + load_int(offs, i + 1, 4, true) - first);
  }
  for (int64_t i = 0; !rc && check && i < n; i++) {
    int64_t a = load_int(offs, i, ow, true) - first, b = load_int(offs, i + 1, ow, true) - first;
    d[i] = (int32_t)(dl + b);
    if (out_valid(out, base + i) && !td_utf8_valid((const char *)out->data + dl + a, b - a))
      rc = td_err(err, TD_EFORMAT, "'%s': %s %lld: the text is not valid UTF-8", bc->r->base.io.path,
                  bc->is_dict ? "dictionary entry" : "row",
                  (long long)(bc->m->row_begin + lo + i));
  }
  if (!rc) out->data_length = dl + (prev - first);
  td_free(offs);
  return rc;
}

/* Utf8View / BinaryView rows: 16-byte views (length, then the bytes
 * inline up to 12, else a prefix, buffer index and offset), copied out as
 * utf8.  Each data buffer is read once, over the span the rows use. */
static int read_views(const batch_ctx *bc, const ipc_col *c, int64_t lo, int64_t n, td_array *out,
                      int64_t base, td_error *err) {
  uint8_t *views = NULL;
  int rc = fetch(bc, 1, (lo + n) * 16, lo * 16, n * 16, &views, err);
  if (rc) return rc;
  int64_t nb = bc->n_vbuf;
  int64_t *lo_off = td_malloc((size_t)(nb ? nb : 1) * 2 * sizeof *lo_off), total = 0;
  uint8_t **span = td_calloc((size_t)(nb ? nb : 1), sizeof *span);
  if (!lo_off || !span) rc = td_err_nomem(err, "reading IPC string views");
  for (int64_t k = 0; !rc && k < nb; k++) lo_off[2 * k] = INT64_MAX, lo_off[2 * k + 1] = 0;
  for (int64_t i = 0; !rc && i < n; i++) { /* check every view; the span each buffer needs */
    const uint8_t *v = views + 16 * i;
    int32_t len, idx, off;
    memcpy(&len, v, 4);
    if (!out_valid(out, base + i)) continue;
    if (len < 0) rc = fail(bc, TD_EFORMAT, "negative string view length (row, length)", lo + i, len, err);
    else total += len;
    if (rc || len <= 12) continue;
    memcpy(&idx, v + 8, 4);
    memcpy(&off, v + 12, 4);
    if (idx < 0 || idx >= nb || off < 0 || (bc->codec < 0 && (int64_t)off + len > bc->vbuf[idx][1]))
      rc = fail(bc, TD_EFORMAT, "string view outside its data buffers (row, buffer)", lo + i, idx, err);
    else {
      if (off < lo_off[2 * idx]) lo_off[2 * idx] = off;
      if ((int64_t)off + len > lo_off[2 * idx + 1]) lo_off[2 * idx + 1] = (int64_t)off + len;
    }
  }
  for (int64_t k = 0; !rc && k < nb; k++) {
    if (lo_off[2 * k] == INT64_MAX) continue;
    bsrc src;
    rc = open_buf_at(bc, 3 + k, bc->vbuf[k][0], bc->vbuf[k][1], lo_off[2 * k + 1], &src, err);
    if (!rc && !(span[k] = td_malloc((size_t)(lo_off[2 * k + 1] - lo_off[2 * k]) + 1)))
      rc = td_err_nomem(err, "reading IPC string views");
    if (!rc) rc = get(bc, &src, lo_off[2 * k], lo_off[2 * k + 1] - lo_off[2 * k], span[k], err);
    if (!rc || src.held) plain_release(src.held);
  }
  if (!rc) rc = td_array_reserve_data(out, out->data_length + total + 1, err);
  for (int64_t i = 0; !rc && i < n; i++) {
    int64_t dl = out->data_length;
    const uint8_t *v = views + 16 * i, *bytes = v + 4;
    int32_t len, idx, off;
    memcpy(&len, v, 4);
    if (!out_valid(out, base + i)) len = 0;
    if (len > 12) {
      memcpy(&idx, v + 8, 4);
      memcpy(&off, v + 12, 4);
      bytes = span[idx] + (off - lo_off[2 * idx]);
    }
    if (len) memcpy(out->data + dl, bytes, (size_t)len);
    if (!c->binary && len && !td_utf8_valid((const char *)out->data + dl, len))
      rc = td_err(err, TD_EFORMAT, "'%s': row %lld: the text is not valid UTF-8", bc->r->base.io.path,
                  (long long)(bc->m->row_begin + lo + i));
    out->data_length = dl + len;
    out->offsets[base + i + 1] = (int32_t)(dl + len);
  }
  for (int64_t k = 0; span && k < nb; k++) td_free(span[k]);
  td_free(span);
  td_free(lo_off);
  td_free(views);
  return rc;
}

/* Loads the generation of dictionary d in effect for a batch that follows
 * `seq` dictionary messages (a file has one generation): its first message
 * is the last replacement before the batch; its deltas, even later ones,
 * only append. */
static int load_dict(ipc_reader *r, ipc_dict *d, int64_t seq, td_error *err) {
  ipc_col dc;
  memset(&dc, 0, sizeof dc);
  dc.type = TD_TYPE_UTF8;
  dc.kind = d->kind;
  dc.binary = d->binary;
  int64_t from = -1, to = d->n_msgs;
  for (int64_t i = 0; i < d->n_msgs; i++) {
    if (d->msgs[i].delta) continue;
    if (r->is_file || d->msgs[i].seq < seq) from = i;
    else {
      to = i;
      break;
    }
  }
  if (d->n_msgs == 0 || from < 0)
    return td_err(err, TD_EFORMAT, "'%s': dictionary %lld is used but never defined%s", r->base.io.path,
                  (long long)d->id, d->n_msgs ? " before this batch" : "");
  if (from != d->loaded_from || d->n_loaded < from) { /* another generation */
    td_array_reset(&d->values);
    d->values.type = TD_TYPE_UTF8;
    d->loaded_from = d->n_loaded = from;
  }
  while (d->n_loaded < to) {
    int rc = ipc_decode(r, &d->msgs[d->n_loaded], &dc, 0, d->msgs[d->n_loaded].rows, &d->values, err);
    if (rc) return rc;
    d->n_loaded++;
  }
  return TD_OK;
}

static int gather_dict(const batch_ctx *bc, const ipc_col *c, const uint8_t *idx, int64_t n,
                       const td_array *dv, td_array *out, int64_t base, td_error *err) {
  for (int64_t i = 0; i < n; i++) {
    int64_t dl = out->data_length;
    out->offsets[base + i + 1] = (int32_t)dl;
    if (!out_valid(out, base + i)) continue;
    int64_t k = load_int(idx, i, c->src_width, c->src_signed);
    if (k < 0 || k >= dv->length)
      return fail(bc, TD_EFORMAT, "dictionary index out of range (index, dictionary size)", k, dv->length, err);
    if (dv->validity && !td_bit_get(dv->validity, k)) {
      int rc = td_array_set_null(out, base + i, err);
      if (rc) return rc;
      continue;
    }
    int64_t len = dv->offsets[k + 1] - dv->offsets[k];
    int rc = td_array_reserve_data(out, dl + len + 1, err);
    if (rc) return rc;
    memcpy(out->data + dl, dv->data + dv->offsets[k], (size_t)len);
    out->data_length = dl + len;
    out->offsets[base + i + 1] = (int32_t)(dl + len);
  }
  return TD_OK;
}

static int read_dict(const batch_ctx *bc, const ipc_col *c, int64_t lo, int64_t n, td_array *out,
                     int64_t base, td_error *err) {
  int w = c->src_width;
  uint8_t *idx = NULL;
  int rc = fetch(bc, 1, (lo + n) * w, lo * w, n * w, &idx, err);
  if (rc) return rc;
  ipc_reader *r = bc->r;
  pthread_mutex_lock(&r->lock);
  ipc_dict *d = &r->dicts[c->dict];
  rc = load_dict(r, d, bc->m->seq, err);
  if (!rc) rc = gather_dict(bc, c, idx, n, &d->values, out, base, err);
  pthread_mutex_unlock(&r->lock);
  td_free(idx);
  return rc;
}

void ipc_dict_free(ipc_dict *d) {
  td_free(d->msgs);
  td_array_reset(&d->values);
  for (int i = 0; i < IPC_DICT_GENS; i++) td_dict_release(d->gens[i].td);
}

/* The td_dict of the generation loaded in d (under the reader's lock): made
 * once, from a copy of the entries (d->values is replaced by the next
 * generation while pages keep the codes).  NULL when the entries cannot be
 * a dictionary of codes (a null entry); then the rows are decoded. */
static int gen_dict(ipc_dict *d, td_dict **out, td_error *err) {
  *out = NULL;
  for (int i = 0; i < IPC_DICT_GENS; i++)
    if (d->gens[i].td && d->gens[i].from == d->loaded_from && d->gens[i].to == d->n_loaded) {
      *out = d->gens[i].td;
      return TD_OK;
    }
  if (d->values.null_count > 0 || d->values.length > INT32_MAX) return TD_OK;
  td_dict *td;
  int rc = td_dict_copy(&d->values, &td, err);
  if (rc) return rc;
  int slot = (int)(d->n_gens++ % IPC_DICT_GENS);
  td_dict_release(d->gens[slot].td); /* pages that use it keep their own references */
  d->gens[slot].from = d->loaded_from;
  d->gens[slot].to = d->n_loaded;
  d->gens[slot].td = td;
  *out = td;
  return TD_OK;
}

/* Dictionary indices of a batch as int32 codes into its generation's
 * td_dict (rows of another generation than the first batch's: only
 * bc->other_dict is set).  Every index of a valid row is checked against
 * the dictionary before it is narrowed, so an int64 or uint64 index never
 * wraps. */
static int read_codes(batch_ctx *bc, const ipc_col *c, int64_t lo, int64_t n, td_array *out, int64_t base,
                      td_error *err) {
  int w = c->src_width;
  uint8_t *idx = NULL;
  int rc = fetch(bc, 1, (lo + n) * w, lo * w, n * w, &idx, err);
  if (rc) return rc;
  ipc_reader *r = bc->r;
  td_dict *td = NULL;
  pthread_mutex_lock(&r->lock);
  ipc_dict *d = &r->dicts[c->dict];
  rc = load_dict(r, d, bc->m->seq, err);
  if (!rc) rc = gen_dict(d, &td, err);
  if (!rc && (!td || (bc->td && bc->td != td))) bc->other_dict = true;
  else if (!rc && !bc->td) bc->td = td_dict_retain(td);
  pthread_mutex_unlock(&r->lock);
  int32_t *o = (int32_t *)out->values + base;
  int64_t len = td ? td->view.length : 0;
  for (int64_t i = 0; !rc && !bc->other_dict && i < n; i++) {
    if (!out_valid(out, base + i)) {
      o[i] = 0;
      continue;
    }
    int64_t k = load_int(idx, i, w, c->src_signed);
    if (w == 8 && !c->src_signed && k < 0)
      rc = td_err(err, TD_EFORMAT, "'%s': row %lld: dictionary index %llu out of range (the dictionary has %lld "
                  "entries)", r->base.io.path, (long long)(bc->m->row_begin + lo + i), (unsigned long long)k,
                  (long long)len);
    else if (k < 0 || k >= len)
      rc = td_err(err, TD_EFORMAT, "'%s': row %lld: dictionary index %lld out of range (the dictionary has %lld "
                  "entries)", r->base.io.path, (long long)(bc->m->row_begin + lo + i), (long long)k, (long long)len);
    else o[i] = (int32_t)k;
  }
  td_free(idx);
  return rc;
}

static int decode_batch(batch_ctx *bc, const ipc_col *c, int64_t lo, int64_t n, td_array *out,
                        td_error *err) {
  int nbuf = c->kind == IPC_K_STR32 || c->kind == IPC_K_STR64 ? 3 : 2;
  int rc = locate(bc, c, nbuf, err);
  if (rc) return rc;
  if (lo + n > INT64_MAX / 16) return fail(bc, TD_EFORMAT, "batch too long (rows, limit)", lo + n, INT64_MAX / 16, err);
  int64_t base = out->length;
  if ((rc = td_array_reserve(out, base + n, err))) return rc;
  if (n == 0) return TD_OK;
  if ((rc = read_validity(bc, lo, n, out, base, err))) return rc;
  switch (c->kind) {
    case IPC_K_FIXED: rc = read_fixed(bc, c, lo, n, out, base, err); break;
    case IPC_K_BOOL: rc = read_bool(bc, lo, n, out, base, err); break;
    case IPC_K_DICT: rc = read_dict(bc, c, lo, n, out, base, err); break;
    case IPC_K_VIEW: rc = read_views(bc, c, lo, n, out, base, err); break;
    case IPC_K_FIXBIN: rc = read_fixed_binary(bc, c, lo, n, out, base, err); break;
    case IPC_K_CODES: rc = read_codes(bc, c, lo, n, out, base, err); break;
    default: rc = read_strings(bc, c, lo, n, out, base, err); break;
  }
  if (!rc) out->length = base + n;
  return rc;
}

int ipc_decode(ipc_reader *r, const ipc_msg *m, const ipc_col *c, int64_t lo, int64_t n,
               td_array *out, td_error *err) {
  batch_ctx bc = {.r = r, .m = m};
  int rc = decode_batch(&bc, c, lo, n, out, err);
  td_free(bc.vbuf); /* views' data buffers, listed by locate */
  return rc;
}

/* First batch whose rows reach past `row`. */
static int64_t find_batch(const ipc_reader *r, int64_t row) {
  int64_t a = 0, b = r->n_batches;
  while (a < b) {
    int64_t mid = a + (b - a) / 2;
    if (r->batches[mid].row_begin + r->batches[mid].rows <= row) a = mid + 1;
    else b = mid;
  }
  return a;
}

/* ---- prefetching ----
 * A scan of a column (a read that starts at row 0 or where the column's
 * last read ended) hints the column's buffers of the batches from the one
 * it is in up to IPC_HINT_BYTES of message bodies past it, so that a file
 * that is not in the file cache streams in while batches are decoded
 * (td_io_willneed).  Each batch is hinted once per column.  The headers of
 * the batches are hinted first, then read to find the buffers; a batch of
 * at most IPC_HINT_WHOLE body bytes is hinted whole (its header and every
 * column: reading it to find a few small buffers would cost more). */
#define IPC_HINT_BYTES ((int64_t)32 << 20)
#define IPC_HINT_WHOLE ((int64_t)256 << 10)
enum { IPC_HINT_BATCHES = 64 }; /* batches hinted by one call at most */

static void hint_buffers(ipc_reader *r, const ipc_col *c, const ipc_msg *m) {
  int nbuf = c->kind == IPC_K_STR32 || c->kind == IPC_K_STR64 ? 3 : 2;
  batch_ctx bc = {.r = r, .m = m};
  if (locate(&bc, c, nbuf, NULL) == TD_OK) {
    for (int i = 0; i < nbuf; i++) td_io_willneed(&r->base.io, bc.body + bc.buf[i][0], bc.buf[i][1]);
    for (int64_t i = 0; i < bc.n_vbuf; i++) td_io_willneed(&r->base.io, bc.body + bc.vbuf[i][0], bc.vbuf[i][1]);
  }
  td_free(bc.vbuf);
}

static void hint_ahead(ipc_reader *r, const ipc_col *c, ipc_ahead *h, int64_t j) {
  ipc_msg ms[IPC_HINT_BATCHES];
  int64_t k0 = atomic_load_explicit(&h->hinted, memory_order_relaxed), k = k0 > j ? k0 : j, body = 0, n = 0;
  if (k - j > IPC_HINT_BATCHES) return; /* (hinted far enough by another scan) */
  pthread_mutex_lock(&r->lock);
  for (int64_t i = j + 1; i < k && i < r->n_batches; i++) body += r->batches[i].body_len;
  for (; k < r->n_batches && n < IPC_HINT_BATCHES && (k == j || body < IPC_HINT_BYTES); k++) {
    ms[n++] = r->batches[k];
    if (k > j) body += r->batches[k].body_len;
  }
  pthread_mutex_unlock(&r->lock);
  if (n == 0 || !atomic_compare_exchange_strong(&h->hinted, &k0, k)) return; /* another scan hinted them */
  for (int64_t i = 0; i < n; i++)
    td_io_willneed(&r->base.io, ms[i].offset, ms[i].body_len > IPC_HINT_WHOLE ? ms[i].meta_len
                                                                               : ms[i].meta_len + ms[i].body_len);
  for (int64_t i = 0; i < n; i++)
    if (ms[i].body_len > IPC_HINT_WHOLE) hint_buffers(r, c, &ms[i]);
}

/* Rows [offset, offset + n) of column c (schema column col) onto a, batch
 * after batch; a read that goes on a scan hints the batches after it
 * (hint_ahead).  Codes (IPC_K_CODES): *td carries the dictionary of the
 * first batch's generation (a reference), and the reading stops with
 * *other set at a batch of another generation. */
static int read_rows(ipc_reader *r, int64_t col, const ipc_col *c, int64_t offset, int64_t n, td_array *a,
                     td_dict **td, bool *other, td_error *err) {
  pthread_mutex_lock(&r->lock);
  int64_t idx = find_batch(r, offset);
  pthread_mutex_unlock(&r->lock);
  ipc_ahead *h = &r->ahead[col];
  int64_t last = atomic_exchange_explicit(&h->read_end, offset + n, memory_order_relaxed);
  if (n > 0 && !r->base.io.mem && (offset == 0 || last == offset)) hint_ahead(r, c, h, idx);
  int rc = TD_OK;
  for (int64_t done = 0; !rc && !*other && done < n; idx++) {
    pthread_mutex_lock(&r->lock);
    ipc_msg m = r->batches[idx];
    pthread_mutex_unlock(&r->lock);
    int64_t lo = offset + done - m.row_begin;
    int64_t take = m.rows - lo < n - done ? m.rows - lo : n - done;
    if (take <= 0) continue;
    batch_ctx bc = {.r = r, .m = &m, .td = *td};
    rc = decode_batch(&bc, c, lo, take, a, err);
    td_free(bc.vbuf); /* views' data buffers, listed by locate */
    *td = bc.td;
    *other = bc.other_dict;
    done += take;
  }
  return rc;
}

int ipc_read_column(td_file_reader *base, int64_t col, int64_t offset, int64_t n,
                    struct ArrowArray *out, td_error *err) {
  ipc_reader *r = (ipc_reader *)base;
  if (col < 0 || col >= base->schema.n_fields || offset < 0 || n < 0 || offset > base->num_rows ||
      n > base->num_rows - offset)
    return td_err(err, TD_EINVAL, "'%s': column %lld rows [%lld, +%lld) are outside the %lld columns "
                  "and %lld rows", base->io.path, (long long)col, (long long)offset, (long long)n,
                  (long long)base->schema.n_fields, (long long)base->num_rows);
  const ipc_col *c = &r->cols[col];
  td_array a;
  td_dict *td = NULL;
  bool other = false;
  int rc = td_array_init(&a, c->type, n, err);
  if (rc) return rc;
  rc = read_rows(r, col, c, offset, n, &a, &td, &other, err);
  if (!rc) rc = td_array_export(&a, out, err);
  if (rc) {
    td_array_reset(&a);
    td_err_prefix(err, rc, "column '%s': ", base->schema.fields[col].name);
  }
  return rc;
}

/* Whether dictionary-encoded utf8 columns are answered as codes (the
 * default; TD_IPC_DICT_CODES=0 turns it off, for measuring). */
static bool dict_codes_on(void) {
  static _Atomic int on = -1;
  return td_reader_switch_on("TD_IPC_DICT_CODES", &on);
}

int ipc_read_column_codes(td_file_reader *base, int64_t col, int64_t offset, int64_t n,
                          struct ArrowArray *out, td_error *err) {
  ipc_reader *r = (ipc_reader *)base;
  if (col < 0 || col >= base->schema.n_fields || offset < 0 || n <= 0 || offset > base->num_rows ||
      n > base->num_rows - offset || r->cols[col].kind != IPC_K_DICT || r->cols[col].type != TD_TYPE_UTF8 ||
      !dict_codes_on())
    return ipc_read_column(base, col, offset, n, out, err); /* which also reports bad arguments */
  ipc_col cc = r->cols[col];
  cc.kind = IPC_K_CODES;
  cc.type = TD_TYPE_INT32;
  td_array a;
  int rc = td_array_init(&a, TD_TYPE_INT32, n, err);
  if (rc) return rc;
  td_dict *td = NULL;
  bool other = false;
  rc = read_rows(r, col, &cc, offset, n, &a, &td, &other, err);
  if (!rc && !other) {
    struct ArrowArray codes;
    rc = td_array_export(&a, &codes, err);
    if (!rc) rc = td_dict_attach(&codes, td, out, err);
  }
  td_array_reset(&a);
  td_dict_release(td);
  if (rc) return td_err_prefix(err, rc, "column '%s': ", base->schema.fields[col].name);
  /* rows of two generations (or a dictionary with a null entry): strings */
  return other ? ipc_read_column(base, col, offset, n, out, err) : TD_OK;
}
