/*
 * formats/parquet/pages.c - turning a column chunk's pages into decoded rows:
 * choosing the byte ranges (offset index or whole chunk), reading them with
 * positioned reads, decompressing, decoding levels and values, and a small
 * reference-counted cache of decoded page runs and dictionaries.
 */
#include "formats/parquet/reader.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/dict.h"
#include "formats/parquet/codec.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- cache (formats/cache.h: one for every Parquet reader) ---- */

static td_fcache g_cache = TD_FCACHE_INIT(PQ_CACHE_BYTES, PQ_CACHE_SLOTS);

static void seg_free(td_fcache_entry *e) {
  pq_seg *s = (pq_seg *)e;
  td_array_reset(&s->arr);
  td_array_reset(&s->ident);
  td_dict_release(s->td);
  td_shared_array_release(s->shared);
  td_free(s);
}

void pq_seg_release(pq_reader *r, pq_seg *s) {
  (void)r;
  if (s) td_fcache_release(&g_cache, &s->ce);
}

void pq_seg_release_read(pq_reader *r, pq_seg *s, int64_t end) {
  if (s && !s->is_dict && end >= s->file_first + s->view.length) td_fcache_forget(&g_cache, &s->ce);
  pq_seg_release(r, s);
}

static int64_t seg_bytes(const td_array *a) {
  int w = td_type_width(a->type);
  int64_t b = a->capacity * (w ? w : 1) + (a->capacity + 7) / 8 + a->data_capacity;
  if (td_type_is_varlen(a->type)) b += a->capacity * 4;
  return b;
}

typedef struct seg_key {
  int64_t col, rg, lo, hi; /* data segments: file rows [lo, hi) */
  bool is_dict;
} seg_key;

static bool seg_match(const td_fcache_entry *e, const void *arg) {
  const pq_seg *s = (const pq_seg *)e;
  const seg_key *k = arg;
  return s->col == k->col && s->is_dict == k->is_dict &&
         (k->is_dict ? s->rg == k->rg : s->file_first <= k->lo && s->file_first + s->view.length >= k->hi);
}

/* A dictionary (row group rg) or a data segment holding rows [lo, hi) of row group rg. */
static pq_seg *cache_find(pq_reader *r, int64_t col, int32_t rg, bool is_dict, int64_t lo, int64_t hi) {
  int64_t f = r->meta.row_groups[rg].first_row;
  seg_key k = {col, rg, lo + f, hi + f, is_dict};
  return (pq_seg *)td_fcache_find(&g_cache, r, seg_match, &k);
}

static void cache_put(pq_reader *r, pq_seg *s) {
  s->ce.owner = r;
  s->ce.free = seg_free;
  td_fcache_put(&g_cache, &s->ce);
}

void pq_cache_clear(pq_reader *r) { td_fcache_clear(&g_cache, r); }

/* ---- reusable byte buffers ----
 * Column chunk reads and decompression scratch come from a small pool shared
 * by every reader, so a scan does not map, fault in (zero) and unmap fresh
 * memory for each chunk: a few buffers of up to PQ_POOL_MAX_BYTES stay
 * allocated for the life of the process. */

#define PQ_POOL_SLOTS 4
#define PQ_POOL_MAX_BYTES ((int64_t)32 << 20)

static struct {
  pthread_mutex_t lock;
  uint8_t *buf[PQ_POOL_SLOTS];
  int64_t cap[PQ_POOL_SLOTS];
} g_pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A buffer of at least `need` bytes (its size in *cap), or NULL. */
static uint8_t *pool_take(int64_t need, int64_t *cap) {
  need = need ? need : 1;
  uint8_t *b = NULL;
  int64_t bc = 0;
  pthread_mutex_lock(&g_pool.lock);
  int best = -1; /* the smallest buffer that fits, else the largest */
  for (int i = 0; i < PQ_POOL_SLOTS; i++) {
    if (!g_pool.buf[i]) continue;
    int64_t c = g_pool.cap[i], cb = best < 0 ? 0 : g_pool.cap[best];
    if (best < 0 || (c >= need && (cb < need || c < cb)) || (cb < need && c > cb)) best = i;
  }
  if (best >= 0) {
    b = g_pool.buf[best];
    bc = g_pool.cap[best];
    g_pool.buf[best] = NULL;
  }
  pthread_mutex_unlock(&g_pool.lock);
  if (b && bc >= need) {
    *cap = bc;
    return b;
  }
  td_free(b);
  *cap = need;
  return td_malloc((size_t)need);
}

/* Gives a buffer from pool_take (or NULL) back. */
static void pool_give(uint8_t *b, int64_t cap) {
  if (!b) return;
  if (cap <= PQ_POOL_MAX_BYTES) {
    pthread_mutex_lock(&g_pool.lock);
    int slot = 0; /* an empty slot, else the smallest buffer */
    for (int i = 0; i < PQ_POOL_SLOTS; i++) {
      if (!g_pool.buf[i]) {
        slot = i;
        break;
      }
      if (g_pool.cap[i] < g_pool.cap[slot]) slot = i;
    }
    uint8_t *old = NULL;
    if (!g_pool.buf[slot] || g_pool.cap[slot] < cap) {
      old = g_pool.buf[slot];
      g_pool.buf[slot] = b;
      g_pool.cap[slot] = cap;
      b = NULL;
    }
    pthread_mutex_unlock(&g_pool.lock);
    td_free(old);
  }
  td_free(b);
}

/* ---- reading byte ranges ---- */

static int read_range(pq_reader *r, int64_t off, int64_t len, uint8_t **out, td_error *err) {
  *out = NULL;
  if (off < 0 || len < 0 || off > r->file_size || len > r->file_size - off)
    return td_err(err, TD_EFORMAT, "byte range %lld+%lld lies outside the file (%lld bytes)",
                  (long long)off, (long long)len, (long long)r->file_size);
  *out = td_malloc((size_t)(len ? len : 1));
  if (!*out) return td_err_nomem(err, "reading a column chunk");
  int rc = td_io_read(&r->base.io, *out, len, off, err);
  if (rc) {
    td_free(*out);
    *out = NULL;
  }
  return rc;
}

/* read_range into a pooled buffer (give it back with pool_give(*out, *cap)). */
static int read_pooled(pq_reader *r, int64_t off, int64_t len, uint8_t **out, int64_t *cap, td_error *err) {
  *out = NULL;
  *cap = 0;
  if (off < 0 || len < 0 || off > r->file_size || len > r->file_size - off)
    return td_err(err, TD_EFORMAT, "byte range %lld+%lld lies outside the file (%lld bytes)",
                  (long long)off, (long long)len, (long long)r->file_size);
  uint8_t *b = pool_take(len, cap);
  if (!b) return td_err_nomem(err, "reading a column chunk");
  int rc = td_io_read(&r->base.io, b, len, off, err);
  if (rc) {
    pool_give(b, *cap);
    *cap = 0;
    return rc;
  }
  *out = b;
  return TD_OK;
}

/* ---- page decoding ---- */

typedef struct page_run {
  pq_reader *r;
  const pq_column *c;
  int codec;
  const td_array *dict; /* current dictionary (borrowed or own_dict) */
  td_array own_dict;
  const td_array *dict_utf8; /* a dictionary found valid UTF-8 (text columns) */
  uint8_t *scratch; /* decompression buffer */
  int64_t scratch_cap;
  uint8_t *defined; /* definition flags of one page */
  int64_t defined_cap;
  td_array *out;
  bool codes;    /* decoding to dictionary codes: a page of another encoding stops it */
  bool fallback; /* such a page was met */
  int64_t rows; /* rows decoded so far (counting `base`) */
  int64_t base; /* rows of out before the first page's (a pad, see v1_direct) */
  int64_t row0; /* file row of row 0 of out (for messages) */
  int64_t cut;  /* > 0: rows wanted (counting `base`); a page of PLAIN fixed-width values
                   that goes past it is decompressed and decoded only up to it (page_cut) */
} page_run;

/* The rows of a page of `rows` to decode: all of them, or up to run->cut
 * (a narrow read: pq_get_segment with PQ_NARROW) when its values are PLAIN
 * of a fixed width, so that the first k values are its first k * pw bytes. */
static int64_t page_cut(const page_run *run, int encoding, int64_t rows) {
  int phys = run->c->ci.phys;
  bool fixed = encoding == PQ_ENC_PLAIN && phys != PQ_BOOLEAN && phys != PQ_BYTE_ARRAY && !run->codes;
  return fixed && run->cut > 0 && run->rows + rows > run->cut ? run->cut - run->rows : rows;
}

/* Decompression scratch of at least `need` bytes (from the pool). */
static int grow_scratch(page_run *run, int64_t need, td_error *err) {
  if (need <= run->scratch_cap) return TD_OK;
  pool_give(run->scratch, run->scratch_cap);
  run->scratch = pool_take(need, &run->scratch_cap);
  if (run->scratch) return TD_OK;
  run->scratch_cap = 0;
  return td_err_nomem(err, "decoding a page");
}

static int grow(uint8_t **buf, int64_t *cap, int64_t need, td_error *err) {
  if (need <= *cap) return TD_OK;
  uint8_t *b = td_realloc(*buf, (size_t)need);
  if (!b) return td_err_nomem(err, "decoding a page");
  *buf = b;
  *cap = need;
  return TD_OK;
}

/* Body bytes of a page, decompressed when needed (into run->scratch): the
 * first `want` of them at least (pq_decompress_prefix; raw: all). */
static int page_body(page_run *run, const uint8_t *src, int64_t n, int64_t raw, int64_t want, bool compressed,
                     const uint8_t **out, td_error *err) {
  if (!compressed || run->codec == PQ_CODEC_UNCOMPRESSED || raw == 0) {
    *out = src; /* stored as is, or an empty page */
    return TD_OK;
  }
  int rc = grow_scratch(run, raw, err);
  if (rc) return rc;
  *out = run->scratch;
  return pq_decompress_prefix(run->codec, src, n, run->scratch, raw, want, err);
}

static bool plain_fits(const pq_colinfo *ci, int64_t nn, int64_t len) {
  if (ci->phys == PQ_BOOLEAN) return nn <= len * 8;
  if (ci->phys == PQ_BYTE_ARRAY) return nn <= len / 4;
  return nn <= len / ci->pw;
}

static int dictionary_page(page_run *run, const pq_page_header *h, const uint8_t *body,
                           td_error *err) {
  const pq_colinfo *ci = &run->c->ci;
  if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
    return td_err(err, TD_EUNSUPPORTED, "dictionary page encoding %d is not supported", h->encoding);
  int64_t nn = h->num_values;
  int64_t len = run->codec == PQ_CODEC_UNCOMPRESSED ? h->compressed_size : h->uncompressed_size;
  if (!plain_fits(ci, nn, len))
    return td_err(err, TD_EFORMAT, "dictionary page claims %lld values in %lld bytes",
                  (long long)nn, (long long)len);
  td_array_reset(&run->own_dict);
  run->dict = NULL;
  run->dict_utf8 = NULL; /* own_dict is decoded again at the same address */
  int rc = td_array_init(&run->own_dict, ci->type, nn, err);
  if (!rc) rc = pq_decode_plain(ci, body, len, nn, &run->own_dict, 0, err);
  if (!rc) rc = pq_dict_pad(&run->own_dict, err);
  if (rc) {
    td_array_reset(&run->own_dict);
    return rc == TD_ERANGE ? td_err_prefix(err, rc, "dictionary page: ") : rc;
  }
  run->own_dict.length = nn;
  run->dict = &run->own_dict;
  return TD_OK;
}

static int decode_values(page_run *run, int encoding, const uint8_t *p, int64_t len, int64_t nn,
                         int64_t rows, td_error *err) {
  const pq_colinfo *ci = &run->c->ci;
  td_array *a = run->out;
  int64_t pos = run->rows;
  switch (encoding) {
    case PQ_ENC_PLAIN: return pq_decode_plain(ci, p, len, nn, a, pos, err);
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY:
      if (run->codes) /* the indices are the codes */
        return pq_decode_dict_codes(run->dict->length, p, len, nn, rows, run->defined, a, pos, err);
      return pq_decode_dict(ci, run->dict, p, len, nn, rows, run->defined, a, pos, err);
    case PQ_ENC_DELTA_BINARY_PACKED: return pq_decode_delta(ci, p, len, nn, a, pos, err);
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return pq_decode_delta_length(ci, p, len, nn, a, pos, err);
    case PQ_ENC_DELTA_BYTE_ARRAY: return pq_decode_delta_byte_array(ci, p, len, nn, a, pos, err);
    case PQ_ENC_BYTE_STREAM_SPLIT: return pq_decode_byte_stream_split(ci, p, len, nn, a, pos, err);
    case PQ_ENC_RLE:
      if (ci->phys == PQ_BOOLEAN) return pq_decode_bool_rle(p, len, nn, a, pos, err);
      break;
    default: break;
  }
  return td_err(err, TD_EUNSUPPORTED, "value encoding %d is not supported for this column", encoding);
}

/* Whether every entry of a string dictionary is valid UTF-8. */
static bool dict_utf8_ok(const td_array *d) {
  const int32_t *o = d->offsets;
  if (d->length == 0) return true;
  /* All of it ASCII (the usual case): every entry is valid. */
  if (td_ascii_only((const char *)d->data + o[0], o[d->length] - o[0])) return true;
  for (int64_t k = 0; k < d->length; k++)
    if (o[k + 1] > o[k] && !td_utf8_valid((const char *)d->data + o[k], o[k + 1] - o[k])) return false;
  return true;
}

/* Whether PLAIN values of this column are stored as the engine holds them,
 * so that a page's values can be decompressed straight into the
 * destination rows (no scratch buffer, no copy). */
static bool plain_direct(const pq_colinfo *ci, int encoding) {
  return encoding == PQ_ENC_PLAIN && (ci->conv == PQ_CV_COPY4 || ci->conv == PQ_CV_COPY8) &&
         td_type_width(ci->type) == ci->pw;
}

/* Counts a page's rows decoded. */
static int rows_done(page_run *run, int64_t rows, td_error *err) {
  run->rows += rows;
  run->out->length = run->rows;
  if (seg_bytes(run->out) > PQ_MAX_SEGMENT_BYTES)
    return td_err(err, TD_EUNSUPPORTED, "decoded column data exceeds the %lld MiB limit",
                  (long long)(PQ_MAX_SEGMENT_BYTES >> 20));
  return TD_OK;
}

/* Levels + values of one data page whose level bytes are at lv[0..lv_len)
 * and value bytes at v[0..v_len); or, when z is not NULL, whose value bytes
 * are compressed at z[0..z_len) (v_len bytes once decompressed).  nulls ==
 * 0: the page is known to have no null (else -1). */
static int page_rows(page_run *run, int64_t rows, const uint8_t *lv, int64_t lv_len, int def_enc, int64_t nulls,
                     int encoding, const uint8_t *v, int64_t v_len, const uint8_t *z, int64_t z_len, td_error *err) {
  int64_t full = rows; /* a narrow read decodes the first rows only (their levels, their values) */
  rows = page_cut(run, encoding, rows);
  int64_t nn = rows;
  int rc;
  /* Per-row flags only when some row may be null: none for a required
   * column, a page known to have no null, or levels that are one run of
   * ones (how DuckDB and Arrow write a nullable column's page of no null). */
  bool levels = run->c->max_def > 0 && nulls != 0 && !pq_levels_all_defined(lv, lv_len, def_enc, rows);
  if (levels) {
    if ((rc = grow(&run->defined, &run->defined_cap, rows, err))) return rc;
    if ((rc = pq_decode_levels(lv, lv_len, def_enc, rows, run->defined, &nn, err))) return rc;
  }
  if ((rc = td_array_reserve(run->out, run->rows + full, err))) return rc;
  const pq_colinfo *ci = &run->c->ci;
  /* (the first rows of a page without nulls: the values of all its rows fit) */
  bool direct = z && plain_direct(ci, encoding) && v_len == (rows < full && !levels ? full : nn) * ci->pw;
  if (direct) { /* decompressed into the rows themselves */
    rc = pq_decompress_prefix(run->codec, z, z_len, run->out->values + run->rows * ci->pw, v_len, nn * ci->pw, err);
    if (rc) return rc;
  } else if (z && (rc = page_body(run, z, z_len, v_len, rows < full ? nn * ci->pw : v_len, true, &v, err))) {
    return rc;
  }
  bool dict_enc = encoding == PQ_ENC_PLAIN_DICTIONARY || encoding == PQ_ENC_RLE_DICTIONARY;
  if (run->codes && !dict_enc) {
    run->fallback = true;
    return td_err(err, TD_EUNSUPPORTED, "a page that is not dictionary-encoded");
  }
  if (!direct && (rc = decode_values(run, encoding, v, v_len, nn, rows, err))) {
    if (rc != TD_ERANGE) return rc;
    /* The decoder stopped at the nn-th value it could not represent: name
     * its row (the k-th defined row of the page). */
    int64_t k = run->out->length - run->rows, row = k;
    if (levels)
      for (row = 0; row < rows && (k > 0 || !run->defined[row]); row++) k -= run->defined[row] ? 1 : 0;
    run->out->length = run->rows;
    return td_err_prefix(err, rc, "row %lld: ", (long long)(run->row0 + run->rows + row));
  }
  /* (dictionary pages were gathered with their nulls in place) */
  if (nn != rows && !dict_enc && (rc = pq_scatter_nulls(run->out, run->rows, rows, nn, run->defined, err)))
    return rc;
  if (run->c->ci.text && dict_enc && run->dict && run->dict != run->dict_utf8 && dict_utf8_ok(run->dict))
    run->dict_utf8 = run->dict; /* every entry valid: the rows, copies of entries, need no check */
  if (run->c->ci.text && !(dict_enc && run->dict && run->dict == run->dict_utf8)) {
    /* (null rows are empty strings here) One pass over the page's bytes
     * when they are all ASCII (the usual case), else row by row. */
    const int32_t *o = run->out->offsets;
    const char *d = (const char *)run->out->data;
    int64_t bytes = o[run->rows + rows] - o[run->rows];
    bool ascii = bytes == 0 || td_ascii_only(d + o[run->rows], bytes);
    for (int64_t i = run->rows; !ascii && i < run->rows + rows; i++)
      if (o[i + 1] > o[i] && !td_utf8_valid(d + o[i], o[i + 1] - o[i]))
        return td_err(err, TD_EFORMAT, "row %lld: the text is not valid UTF-8", (long long)(run->row0 + i));
  }
  return rows_done(run, rows, err);
}

/* Bytes a fixed-width segment keeps before its first row (PQ_PAD_BYTES /
 * width rows) so that v1_direct can decompress its first page too. */
#define PQ_PAD_BYTES 64

/* A snappy v1 page of PLAIN values stored as the engine holds them, of an
 * optional column: its body (4-byte level length, RLE levels, values) is
 * decompressed to just before the destination rows, so that the values land
 * in place (no scratch buffer, no copy); the level bytes it writes over the
 * previous rows' tail (or the segment's pad) are saved and put back.  The
 * level length is read from the stream's opening literal.  Returns -1 (and
 * touches nothing) when the page is not of that kind. */
static int v1_direct(page_run *run, const pq_page_header *h, const uint8_t *src, td_error *err) {
  const pq_colinfo *ci = &run->c->ci;
  int64_t len = h->uncompressed_size, rows = h->num_values, pw = ci->pw;
  if (run->codec != PQ_CODEC_SNAPPY || run->c->max_def == 0 || run->codes || h->def_encoding != PQ_ENC_RLE ||
      !plain_direct(ci, h->encoding) || ci->text || len < 4)
    return -1;
  uint8_t head[4];
  if (pq_snappy_head(src, h->compressed_size, head, 4) < 4) return -1;
  uint32_t n;
  memcpy(&n, head, 4);
  int64_t k = 4 + (int64_t)n; /* level bytes before the values */
  if (k > PQ_PAD_BYTES || k > len || k > run->rows * pw) return -1;
  int64_t v_len = len - k, need = run->rows + (v_len + pw - 1) / pw;
  int rc = td_array_reserve(run->out, need > run->rows + rows ? need : run->rows + rows, err);
  if (rc) return rc;
  uint8_t *dst = run->out->values + run->rows * pw, saved[PQ_PAD_BYTES];
  memcpy(saved, dst - k, (size_t)k);
  /* A narrow read: the levels and at most `rows` values, of its rows only. */
  rows = page_cut(run, h->encoding, rows);
  rc = pq_decompress_prefix(run->codec, src, h->compressed_size, dst - k, len, k + rows * pw, err);
  int64_t nn = rows;
  bool levels = !rc && !pq_levels_all_defined(dst - k + 4, n, PQ_ENC_RLE, rows);
  if (levels && !(rc = grow(&run->defined, &run->defined_cap, rows, err)))
    rc = pq_decode_levels(dst - k + 4, n, PQ_ENC_RLE, rows, run->defined, &nn, err);
  memcpy(dst - k, saved, (size_t)k);
  if (rc) return rc;
  if (v_len / pw < nn)
    return td_err(err, TD_EFORMAT, "PLAIN data has %lld bytes, %lld values of %d bytes expected", (long long)v_len,
                  (long long)nn, ci->pw);
  if (nn != rows && (rc = pq_scatter_nulls(run->out, run->rows, rows, nn, run->defined, err))) return rc;
  return rows_done(run, rows, err);
}

static int data_page_v1(page_run *run, const pq_page_header *h, const uint8_t *src, td_error *err) {
  int64_t len = run->codec == PQ_CODEC_UNCOMPRESSED ? h->compressed_size : h->uncompressed_size;
  int64_t rows = h->num_values, lv_len = 0;
  if (run->c->max_def == 0 && run->codec != PQ_CODEC_UNCOMPRESSED && len > 0) /* values only: page_rows decompresses */
    return page_rows(run, rows, NULL, 0, h->def_encoding, 0, h->encoding, NULL, len, src, h->compressed_size, err);
  int drc = v1_direct(run, h, src, err);
  if (drc >= 0) return drc;
  /* A narrow read of a snappy page with RLE levels: up to its rows'
   * values, behind the level bytes (their length opens the stream). */
  int64_t want = len, take = page_cut(run, h->encoding, rows);
  uint8_t head[4];
  if (take < rows && run->codec == PQ_CODEC_SNAPPY && run->c->max_def > 0 && h->def_encoding == PQ_ENC_RLE &&
      pq_snappy_head(src, h->compressed_size, head, 4) == 4) {
    uint32_t n;
    memcpy(&n, head, 4);
    want = 4 + (int64_t)n + take * run->c->ci.pw;
  }
  const uint8_t *body;
  int rc = page_body(run, src, h->compressed_size, len, want, true, &body, err);
  if (rc) return rc;
  if (run->c->max_def > 0) {
    if (h->def_encoding == PQ_ENC_BIT_PACKED) {
      lv_len = (rows + 7) / 8;
      if (lv_len > len) return td_err(err, TD_EFORMAT, "definition levels exceed the page");
    } else {
      uint32_t n;
      if (len < 4) return td_err(err, TD_EFORMAT, "data page too short for its definition levels");
      memcpy(&n, body, 4);
      if (n > (uint64_t)(len - 4)) return td_err(err, TD_EFORMAT, "definition levels length %u exceeds the page", n);
      body += 4;
      len -= 4;
      lv_len = n;
    }
  }
  return page_rows(run, rows, body, lv_len, h->def_encoding, -1, h->encoding, body + lv_len, len - lv_len, NULL, 0,
                   err);
}

static int data_page_v2(page_run *run, const pq_page_header *h, const uint8_t *src, td_error *err) {
  int64_t levels = (int64_t)h->rep_len + h->def_len;
  if (levels > h->compressed_size || levels > h->uncompressed_size)
    return td_err(err, TD_EFORMAT, "data page v2 levels (%lld bytes) exceed the page", (long long)levels);
  int64_t n = h->compressed_size - levels, raw = h->uncompressed_size - levels;
  bool compressed = h->is_compressed && run->codec != PQ_CODEC_UNCOMPRESSED;
  if (!compressed) raw = n;
  int64_t rows = h->num_rows ? h->num_rows : h->num_values;
  /* The levels are stored apart, never compressed: page_rows reads them
   * first, then decompresses the values (straight into the rows when it
   * can).  A page without level bytes that counts no nulls has none. */
  int64_t nulls = h->def_len == 0 && h->num_nulls == 0 ? 0 : -1;
  bool z = compressed && raw != 0;
  return page_rows(run, rows, src + h->rep_len, h->def_len, PQ_ENC_RLE, nulls, h->encoding, z ? NULL : src + levels,
                   raw, z ? src + levels : NULL, z ? n : 0, err);
}

static int check_header(const pq_page_header *h, int64_t left, td_error *err) {
  if (h->compressed_size > left)
    return td_err(err, TD_EFORMAT, "page of %d bytes runs past the column chunk (%lld bytes left)",
                  h->compressed_size, (long long)left);
  if (h->compressed_size > PQ_MAX_PAGE_BYTES || h->uncompressed_size > PQ_MAX_PAGE_BYTES)
    return td_err(err, TD_EUNSUPPORTED,
                  "page of %d bytes (%d uncompressed) exceeds the %lld MiB page size limit",
                  h->compressed_size, h->uncompressed_size, (long long)(PQ_MAX_PAGE_BYTES >> 20));
  int64_t rows = h->type == PQ_PAGE_DATA_V2 ? h->num_rows : h->num_values;
  if (rows > PQ_MAX_PAGE_ROWS || h->num_values > PQ_MAX_PAGE_ROWS)
    return td_err(err, TD_EUNSUPPORTED, "page of %lld values exceeds the limit of %lld",
                  (long long)rows, (long long)PQ_MAX_PAGE_ROWS);
  return TD_OK;
}

/* Decodes the pages in buf[0..len) until `want` data rows were produced
 * (want == 0: stop after the first dictionary page). */
static int run_pages(page_run *run, const uint8_t *buf, int64_t len, int64_t want, td_error *err) {
  int64_t at = 0;
  while (want == 0 ? !run->dict : run->rows < want && (run->cut <= 0 || run->rows < run->cut)) {
    if (at >= len && want == 0) return TD_OK; /* no dictionary page */
    if (at >= len)
      return td_err(err, TD_EFORMAT, "column chunk ends after %lld of %lld rows",
                    (long long)(run->rows - run->base), (long long)(want - run->base));
    pq_page_header h;
    int64_t used;
    int rc = pq_page_header_parse(buf + at, len - at, &h, &used, err);
    if (!rc && run->r->v2_always_compressed) h.is_compressed = true;
    if (!rc) rc = check_header(&h, len - at - used, err);
    if (rc) return td_err_prefix(err, rc, "page at chunk byte %lld: ", (long long)at);
    const uint8_t *src = buf + at + used;
    int64_t rows = h.type == PQ_PAGE_DATA_V2 ? (h.num_rows ? h.num_rows : h.num_values) : h.num_values;
    bool data = h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2;
    if (data && want == 0) return TD_OK; /* dictionary wanted, none came first */
    if (data && rows > want - run->rows)
      rc = td_err(err, TD_EFORMAT, "page of %lld rows exceeds the row group's remaining %lld rows",
                  (long long)rows, (long long)(want - run->rows));
    else if (h.type == PQ_PAGE_DICTIONARY) {
      const uint8_t *body;
      int64_t raw = run->codec == PQ_CODEC_UNCOMPRESSED ? h.compressed_size : h.uncompressed_size;
      rc = page_body(run, src, h.compressed_size, raw, raw, true, &body, err);
      if (!rc) rc = dictionary_page(run, &h, body, err);
    } else if (h.type == PQ_PAGE_DATA) rc = data_page_v1(run, &h, src, err);
    else if (h.type == PQ_PAGE_DATA_V2) rc = data_page_v2(run, &h, src, err);
    if (rc) return td_err_prefix(err, rc, "page at chunk byte %lld: ", (long long)at);
    at += used + h.compressed_size;
  }
  return TD_OK;
}

static void run_free(page_run *run) {
  td_array_reset(&run->own_dict);
  pool_give(run->scratch, run->scratch_cap);
  td_free(run->defined);
}

/* ---- column chunk geometry and the offset index ---- */

static int64_t chunk_start(const pq_column_chunk *cc) {
  int64_t s = cc->data_page_offset;
  if (cc->dictionary_page_offset > 0 && cc->dictionary_page_offset < s) s = cc->dictionary_page_offset;
  return s;
}

/* The chunk's bytes [*start, *end), checked against the file. */
static int chunk_bounds(const pq_reader *r, const pq_column_chunk *cc, int64_t *start, int64_t *end,
                        td_error *err) {
  int64_t off = chunk_start(cc), len = cc->total_compressed_size;
  if (off < 0 || len < 0 || off > r->file_size || len > r->file_size - off)
    return td_err(err, TD_EFORMAT, "column chunk %lld+%lld lies outside the file (%lld bytes)", (long long)off,
                  (long long)len, (long long)r->file_size);
  /* Old parquet-mr left the dictionary page header out of the chunk size
   * (PARQUET-816): allow for up to 100 bytes more, within the file. */
  len += r->file_size - off - len < 100 ? r->file_size - off - len : 100;
  *start = off;
  *end = off + len;
  return TD_OK;
}

#define PQ_HINT_BYTES ((int64_t)8 << 20)
enum { PQ_HINT_GROUPS = 64 }; /* row groups hinted by one call at most */

/* The bytes of column col's chunk in row group g (0 when they lie outside
 * the file: its reads will say so). */
static int64_t hint_range(const pq_reader *r, int64_t col, int32_t g, int64_t *start) {
  int64_t end = 0;
  *start = 0;
  return chunk_bounds(r, &r->meta.row_groups[g].columns[r->cols[col].leaf], start, &end, NULL) == TD_OK
             ? end - *start
             : 0;
}

void pq_hint_ahead(pq_reader *r, int64_t col, int32_t g) {
  _Atomic int32_t *hinted = &r->cols[col].hinted;
  int32_t k0 = atomic_load_explicit(hinted, memory_order_relaxed), k = k0 > g ? k0 : g, from;
  int64_t ahead = 0, start;
  if (k - g > PQ_HINT_GROUPS) return; /* (hinted far enough by another scan) */
  for (int32_t i = g + 1; i < k; i++) ahead += hint_range(r, col, i, &start);
  for (from = k; k < r->meta.n_row_groups && k - from < PQ_HINT_GROUPS && (k == g || ahead < PQ_HINT_BYTES); k++)
    if (k > g) ahead += hint_range(r, col, k, &start);
  if (k == from || !atomic_compare_exchange_strong(hinted, &k0, k)) return; /* another scan hinted them */
  for (int32_t i = from; i < k; i++) {
    int64_t len = hint_range(r, col, i, &start);
    td_io_willneed(&r->base.io, start, len);
  }
}

static bool oindex_usable(const pq_page_location *l, int64_t n, int64_t rows, int64_t start,
                          int64_t file_size) {
  if (n <= 0 || l[0].first_row != 0 || l[0].offset < start) return false;
  for (int64_t i = 0; i < n; i++) {
    if (l[i].size <= 0 || l[i].offset < 0 || l[i].offset > file_size - l[i].size) return false;
    if (l[i].first_row < 0 || l[i].first_row >= rows) return false;
    if (i && (l[i].first_row <= l[i - 1].first_row || l[i].offset < l[i - 1].offset + l[i - 1].size))
      return false;
  }
  return true;
}

int pq_read_range(pq_reader *r, int64_t off, int64_t len, uint8_t **out, td_error *err) {
  return read_range(r, off, len, out, err);
}

static pq_oindex *get_oindex(pq_reader *r, int64_t col, int32_t rg);
pq_oindex *pq_get_oindex(pq_reader *r, int64_t col, int32_t rg) { return get_oindex(r, col, rg); }

static pq_oindex *get_oindex(pq_reader *r, int64_t col, int32_t rg) {
  pq_oindex *oi = &r->oindex[(int64_t)rg * r->base.schema.n_fields + col];
  pthread_mutex_lock(&r->lock);
  int state = oi->state;
  pthread_mutex_unlock(&r->lock);
  if (state) return oi;
  const pq_row_group *g = &r->meta.row_groups[rg];
  const pq_column_chunk *cc = &g->columns[r->cols[col].leaf];
  pq_oindex tmp = {.state = 2, .data_start = -1, .next_off = chunk_start(cc)};
  uint8_t *buf = NULL;
  if (cc->offset_index_offset >= 0 && cc->offset_index_length > 0 &&
      cc->offset_index_length <= PQ_MAX_INDEX_BYTES &&
      read_range(r, cc->offset_index_offset, cc->offset_index_length, &buf, NULL) == TD_OK &&
      pq_offset_index_parse(buf, cc->offset_index_length, &tmp.locs, &tmp.n, NULL) == TD_OK) {
    if (oindex_usable(tmp.locs, tmp.n, g->num_rows, chunk_start(cc), r->file_size)) {
      tmp.state = 1;
    } else {
      td_free(tmp.locs);
      tmp.locs = NULL;
      tmp.n = 0;
    }
  }
  td_free(buf);
  pthread_mutex_lock(&r->lock);
  if (!oi->state) {
    *oi = tmp;
    tmp.locs = NULL;
  }
  pthread_mutex_unlock(&r->lock);
  td_free(tmp.locs);
  return oi;
}

/* A window of the chunk's bytes for reading page headers. */
typedef struct hdr_window {
  uint8_t *buf;
  int64_t off, len;
} hdr_window;

/* Parses the page header at `off` (the chunk ends at `end`), reading more
 * of the file only when the window does not hold it. */
static int header_at(pq_reader *r, hdr_window *w, int64_t off, int64_t end, pq_page_header *h, int64_t *used,
                     td_error *err) {
  int64_t want = (int64_t)4 << 10;
  for (;;) {
    int64_t room = end - off < want ? end - off : want;
    if (!(w->buf && off >= w->off && off + room <= w->off + w->len)) {
      td_free(w->buf);
      w->buf = NULL;
      w->len = 0;
      int rc = read_range(r, off, room, &w->buf, err);
      if (rc) return rc;
      w->off = off;
      w->len = room;
    }
    int rc = pq_page_header_parse(w->buf + (off - w->off), room, h, used, err);
    if (!rc || room == end - off || want >= PQ_MAX_HEADER_BYTES) return rc;
    want *= 4; /* perhaps a header bigger than the window (large statistics) */
  }
}

/* Under walk_lock: walks the page headers of a chunk without an offset
 * index until the page holding row hi - 1 was seen.  When the window it
 * read holds the whole chunk (a chunk of at most 4 KiB: small files) and
 * `whole` is given, the window goes there instead of being freed, so the
 * caller decodes from it rather than reading the same bytes twice more
 * (the dictionary page, then the data pages). */
static int walk_to(pq_reader *r, int64_t col, int32_t rg, pq_oindex *oi, int64_t hi, hdr_window *whole,
                   td_error *err) {
  const pq_row_group *g = &r->meta.row_groups[rg];
  const pq_column_chunk *cc = &g->columns[r->cols[col].leaf];
  int64_t start = 0, end = 0;
  int rc = chunk_bounds(r, cc, &start, &end, err);
  hdr_window w = {NULL, 0, 0};
  while (!rc && !oi->done && oi->next_row < hi) {
    if (oi->next_off >= end) {
      rc = td_err(err, TD_EFORMAT, "column chunk ends after %lld of %lld rows", (long long)oi->next_row,
                  (long long)g->num_rows);
      break;
    }
    pq_page_header h;
    memset(&h, 0, sizeof h); /* read below even when header_at fails */
    int64_t used = 0, at = oi->next_off;
    rc = header_at(r, &w, at, end, &h, &used, err);
    if (!rc) rc = check_header(&h, end - at - used, err);
    bool data = h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2;
    int64_t rows = h.type == PQ_PAGE_DATA_V2 ? (h.num_rows ? h.num_rows : h.num_values) : h.num_values;
    if (!rc && data && rows > g->num_rows - oi->next_row)
      rc = td_err(err, TD_EFORMAT, "page of %lld rows exceeds the row group's remaining %lld rows", (long long)rows,
                  (long long)(g->num_rows - oi->next_row));
    if (!rc && h.type == PQ_PAGE_DICTIONARY && oi->data_start >= 0)
      rc = td_err(err, TD_EUNSUPPORTED, "a dictionary page after data pages is not supported");
    if (rc) {
      rc = td_err_prefix(err, rc, "page at chunk byte %lld: ", (long long)(at - start));
      break;
    }
    if (data) {
      const pq_page_location *last = oi->n ? &oi->locs[oi->n - 1] : NULL;
      if (oi->data_start < 0) oi->data_start = at;
      if (!last || oi->next_row - last->first_row >= PQ_MARK_ROWS || at - last->offset >= PQ_MARK_BYTES) {
        if (oi->n == oi->cap) {
          int64_t cap = oi->cap ? oi->cap * 2 : 16;
          pq_page_location *l = td_realloc(oi->locs, (size_t)cap * sizeof *l);
          if (!l) {
            rc = td_err_nomem(err, "listing the pages of a column chunk");
            break;
          }
          oi->locs = l;
          oi->cap = cap;
        }
        oi->locs[oi->n++] = (pq_page_location){at, 0, oi->next_row};
      }
      oi->next_row += rows;
    }
    oi->next_off = at + used + h.compressed_size;
    if (oi->next_row == g->num_rows && oi->data_start >= 0) oi->done = true;
  }
  if (!rc && whole && w.buf && w.off == start && w.len == end - start) {
    *whole = w;
    return rc;
  }
  td_free(w.buf);
  return rc;
}

/* The pages to decode for rows [lo, hi) of a chunk. */
typedef struct page_range {
  int64_t off, len;   /* their bytes */
  int64_t first;      /* chunk row of their first row */
  int64_t rows;       /* rows they hold */
  int64_t dict_end;   /* the dictionary lies before this offset */
} page_range;

static int find_pages(pq_reader *r, int64_t col, int32_t rg, int64_t lo, int64_t hi, page_range *pr,
                      hdr_window *whole, td_error *err) {
  const pq_row_group *g = &r->meta.row_groups[rg];
  pq_oindex *oi = get_oindex(r, col, rg);
  int rc = TD_OK;
  if (oi->state == 2) {
    pthread_mutex_lock(&r->walk_lock);
    rc = walk_to(r, col, rg, oi, hi, whole, err);
  }
  if (!rc) {
    /* a: the last page (start) at or before lo; b: the first at or after hi */
    int64_t a = 0, x = oi->n;
    while (a + 1 < x) {
      int64_t mid = a + (x - a) / 2;
      if (oi->locs[mid].first_row <= lo) a = mid;
      else x = mid;
    }
    int64_t b = a + 1, y = oi->n;
    while (b < y) {
      int64_t mid = b + (y - b) / 2;
      if (oi->locs[mid].first_row >= hi) y = mid;
      else b = mid + 1;
    }
    pr->off = oi->locs[a].offset;
    pr->first = oi->locs[a].first_row;
    if (oi->state == 1) {
      pr->len = oi->locs[b - 1].offset + oi->locs[b - 1].size - pr->off;
      pr->rows = (b < oi->n ? oi->locs[b].first_row : g->num_rows) - pr->first;
    } else if (b < oi->n) {
      pr->len = oi->locs[b].offset - pr->off;
      pr->rows = oi->locs[b].first_row - pr->first;
    } else {
      pr->len = oi->next_off - pr->off;
      pr->rows = oi->next_row - pr->first;
    }
    pr->dict_end = oi->state == 1 ? oi->locs[0].offset : oi->data_start;
  }
  if (oi->state == 2) pthread_mutex_unlock(&r->walk_lock);
  return rc;
}

static int check_chunk(pq_reader *r, const pq_column *c, const pq_column_chunk *cc, td_error *err) {
  (void)r;
  if (!cc->has_meta) return td_err(err, TD_EFORMAT, "column chunk has no metadata");
  if (cc->type != c->ci.phys)
    return td_err(err, TD_EFORMAT, "column chunk has physical type %d, the schema says %d",
                  cc->type, c->ci.phys);
  if (cc->codec < 0 || cc->codec > PQ_CODEC_LZ4_RAW || cc->codec == PQ_CODEC_LZO)
    return td_err(err, TD_EUNSUPPORTED, "compression codec %s (%d) is not supported",
                  pq_codec_name(cc->codec), cc->codec);
  return TD_OK;
}

/* Whether text columns with a valid UTF-8 dictionary are decoded to codes
 * (the default; TD_PARQUET_DICT_CODES=0 turns it off, for measuring). */
static bool dict_codes_on(void) {
  static _Atomic int on = -1;
  return td_reader_switch_on("TD_PARQUET_DICT_CODES", &on);
}

/* For decoding to codes: identity indices and a td_dict holding a copy of
 * the entries (engine pages may outlive this cache entry). */
static int dict_codes_prepare(pq_seg *s, td_error *err) {
  int64_t n = s->arr.length;
  if (n > INT32_MAX) return TD_OK;
  td_array copy;
  struct ArrowArray arr;
  td_shared_array *sh = NULL;
  int rc = td_array_init(&s->ident, TD_TYPE_INT32, n, err);
  for (int64_t i = 0; !rc && i < n; i++) ((int32_t *)s->ident.values)[i] = (int32_t)i;
  s->ident.length = n;
  int64_t bytes = s->arr.data_length;
  if (!rc && !(rc = td_array_init(&copy, TD_TYPE_UTF8, n, err))) {
    if (!(rc = td_array_reserve_data(&copy, bytes, err))) {
      memcpy(copy.offsets, s->arr.offsets, (size_t)(n + 1) * sizeof *copy.offsets);
      if (bytes) memcpy(copy.data, s->arr.data, (size_t)bytes);
      copy.length = n;
      copy.data_length = bytes;
      rc = td_array_export(&copy, &arr, err);
    }
    td_array_reset(&copy);
  }
  if (!rc) rc = td_shared_array_new(&arr, &sh, err);
  if (!rc) rc = td_dict_wrap(sh, &sh->array, &s->td, err);
  td_shared_array_release(sh);
  if (rc) {
    td_array_reset(&s->ident);
    s->td = NULL;
  }
  return rc;
}

/* Bytes [off, off + len) from `whole` when it holds them (no read, *cap
 * 0), else read_pooled. */
static int read_or_take(pq_reader *r, const hdr_window *whole, int64_t off, int64_t len, uint8_t **out,
                        int64_t *cap, td_error *err) {
  if (whole && whole->buf && off >= whole->off && len <= whole->off + whole->len - off) {
    *out = whole->buf + (off - whole->off);
    *cap = 0;
    return TD_OK;
  }
  return read_pooled(r, off, len, out, cap, err);
}

static void give_back(uint8_t *buf, int64_t cap) {
  if (cap) pool_give(buf, cap);
}

/* The chunk's dictionary, decoded once and cached (NULL when it has none);
 * its bytes from `whole` when it holds them. */
static int get_dict(pq_reader *r, int64_t col, int32_t rg, int64_t end, const hdr_window *whole, pq_seg **out,
                    td_error *err) {
  const pq_column_chunk *cc = &r->meta.row_groups[rg].columns[r->cols[col].leaf];
  *out = NULL;
  int64_t start = chunk_start(cc);
  if (start >= end) return TD_OK;
  if ((*out = cache_find(r, col, rg, true, 0, 0))) return TD_OK;
  uint8_t *buf;
  int64_t buf_cap;
  int rc = read_or_take(r, whole, start, end - start, &buf, &buf_cap, err);
  if (rc) return rc;
  page_run run = {.r = r, .c = &r->cols[col], .codec = cc->codec};
  rc = run_pages(&run, buf, end - start, 0, err);
  pq_seg *s = NULL;
  if (!rc && !(s = td_calloc(1, sizeof *s))) rc = td_err_nomem(err, "caching a dictionary");
  if (!rc) {
    s->is_dict = true;
    s->col = col;
    s->rg = rg;
    s->arr = run.own_dict;
    memset(&run.own_dict, 0, sizeof run.own_dict);
    /* checked once here, not by every segment that uses it */
    s->dict_utf8 = r->cols[col].ci.text && s->arr.type == TD_TYPE_UTF8 && dict_utf8_ok(&s->arr);
    if (s->dict_utf8) rc = dict_codes_prepare(s, err);
    s->ce.bytes = seg_bytes(&s->arr) + seg_bytes(&s->ident) + (s->td ? s->td->bytes : 0);
    cache_put(r, s);
    *out = s;
  }
  run_free(&run);
  give_back(buf, buf_cap);
  return rc;
}

/* Whether a segment of row group rg whose pages reach its end should go on
 * into row group rg + 1, up to file row `ahead`; *pr: those pages.  Only
 * when they start at its first row and hold at most PQ_EXTEND_ROWS rows. */
#define PQ_EXTEND_ROWS ((int64_t)1 << 18)
static bool plan_extend(pq_reader *r, int64_t col, int32_t rg, int64_t ahead, page_range *pr) {
  if (rg + 1 >= r->meta.n_row_groups) return false;
  const pq_row_group *g1 = &r->meta.row_groups[rg + 1];
  if (ahead <= g1->first_row || g1->num_rows == 0) return false;
  int64_t want = ahead - g1->first_row < g1->num_rows ? ahead - g1->first_row : g1->num_rows;
  if (check_chunk(r, &r->cols[col], &g1->columns[r->cols[col].leaf], NULL)) return false;
  return find_pages(r, col, rg + 1, 0, want, pr, NULL, NULL) == TD_OK && pr->first == 0 &&
         pr->rows <= PQ_EXTEND_ROWS;
}

/* Decodes the pages `pr` of row group rg + 1 after the rows `run` holds
 * (row group rg's, to its end).  On any failure the segment is left as it
 * was: the next row group is decoded on its own when read, and reports its
 * own errors then. */
static void extend_segment(pq_reader *r, int64_t col, int32_t rg, const page_range *pr, page_run *run) {
  const pq_column_chunk *cc = &r->meta.row_groups[rg + 1].columns[r->cols[col].leaf];
  int64_t rows0 = run->rows;
  pq_seg *dict = NULL;
  uint8_t *buf = NULL;
  int64_t buf_cap = 0;
  if (pr->dict_end >= 0 && get_dict(r, col, rg + 1, pr->dict_end, NULL, &dict, NULL)) return;
  if (!read_pooled(r, pr->off, pr->len, &buf, &buf_cap, NULL)) {
    run->codec = cc->codec;
    run->dict = dict ? &dict->arr : NULL;
    run->dict_utf8 = dict && dict->dict_utf8 ? run->dict : NULL;
    if (run_pages(run, buf, pr->len, rows0 + pr->rows, NULL)) { /* back to row group rg's rows */
      td_array *a = run->out;
      run->rows = a->length = rows0;
      if (a->validity) a->null_count = rows0 - td_bits_count(a->validity, 0, rows0);
    }
    run->dict = run->dict_utf8 = NULL; /* released below */
  }
  pool_give(buf, buf_cap);
  pq_seg_release(r, dict);
}

/* Decodes the pages covering rows [lo, hi) of a chunk: only those pages
 * are read and decoded, whether the chunk has an offset index or not (and
 * perhaps the next row group's first pages: plan_extend). */
static int decode_segment(pq_reader *r, int64_t col, int32_t rg, int64_t lo, int64_t hi, int64_t ahead,
                          pq_seg *s, td_error *err) {
  bool narrow = ahead == PQ_NARROW;
  const pq_row_group *g = &r->meta.row_groups[rg];
  const pq_column *c = &r->cols[col];
  const pq_column_chunk *cc = &g->columns[c->leaf];
  int rc = check_chunk(r, c, cc, err);
  if (rc) return rc;
  page_run run = {.r = r, .c = c, .codec = cc->codec, .out = &s->arr};
  page_range pr;
  pq_seg *dict = NULL;
  if ((rc = td_array_init(&s->arr, c->ci.type, 0, err))) return rc;
  if (hi <= lo) return TD_OK;
  hdr_window whole = {NULL, 0, 0}; /* a small chunk's bytes, read once by the header walk */
  if ((rc = find_pages(r, col, rg, lo, hi, &pr, &whole, err))) return rc;
  s->first = pr.first;
  s->file_first = g->first_row + pr.first;
  run.row0 = g->first_row + pr.first;
  if (pr.dict_end >= 0 && (rc = get_dict(r, col, rg, pr.dict_end, &whole, &dict, err))) {
    td_free(whole.buf);
    return rc;
  }
  run.dict = dict ? &dict->arr : NULL;
  if (dict && dict->dict_utf8) run.dict_utf8 = run.dict;
  if (dict && dict->td && dict_codes_on()) { /* codes: the identity indices are the dictionary */
    td_array_reset(&s->arr);
    if ((rc = td_array_init(&s->arr, TD_TYPE_INT32, 0, err))) {
      pq_seg_release(r, dict);
      td_free(whole.buf);
      return rc;
    }
    run.dict = run.dict_utf8 = &dict->ident;
    run.codes = true;
    s->td = td_dict_retain(dict->td);
  }
  /* A pad before the first row lets v1_direct decompress the first page in
   * place too (pq_get_segment exports the rows after it). */
  if (cc->codec == PQ_CODEC_SNAPPY && c->max_def > 0 && !run.codes && !c->ci.text &&
      (c->ci.conv == PQ_CV_COPY4 || c->ci.conv == PQ_CV_COPY8) && td_type_width(c->ci.type) == c->ci.pw) {
    s->pad = run.base = PQ_PAD_BYTES / c->ci.pw;
    run.row0 -= run.base;
  }
  uint8_t *buf = NULL;
  int64_t buf_cap = 0;
  if (!(rc = read_or_take(r, &whole, pr.off, pr.len, &buf, &buf_cap, err))) {
    /* The decoded rows, known from the page geometry: one allocation (a
     * hint bounded by the bytes read, for footers that claim huge counts). */
    int64_t hint = pr.rows < pr.len * 16 + 4096 ? pr.rows : pr.len * 16 + 4096;
    page_range next;
    bool extend = !narrow && !run.codes && pr.first + pr.rows == g->num_rows && plan_extend(r, col, rg, ahead, &next);
    if (narrow && hi - pr.first < pr.rows) run.cut = hi - pr.first + run.base;
    int64_t more = extend ? (next.rows < next.len * 16 + 4096 ? next.rows : next.len * 16 + 4096) : 0;
    if (!(rc = td_array_reserve(&s->arr, hint + more + run.base, err))) {
      if (run.base) memset(s->arr.values, 0, (size_t)(run.base * c->ci.pw));
      s->arr.length = run.rows = run.base;
      rc = run_pages(&run, buf, pr.len, pr.rows + run.base, err);
    }
    if (!rc && extend) extend_segment(r, col, rg, &next, &run);
    if (rc && run.fallback) { /* a page of another encoding: decoded to strings, as usual */
      td_dict_release(s->td);
      s->td = NULL;
      td_array_reset(&s->arr);
      s->arr.type = c->ci.type;
      run = (page_run){.r = r, .c = c, .codec = cc->codec, .out = &s->arr, .row0 = g->first_row + pr.first,
                       .dict = &dict->arr, .dict_utf8 = dict->dict_utf8 ? &dict->arr : NULL,
                       .scratch = run.scratch, .scratch_cap = run.scratch_cap, /* kept: freed by run_free */
                       .defined = run.defined, .defined_cap = run.defined_cap};
      if (!(rc = td_array_init(&s->arr, c->ci.type, 0, err)) && !(rc = td_array_reserve(&s->arr, hint, err)))
        rc = run_pages(&run, buf, pr.len, pr.rows, err);
    }
  }
  run_free(&run);
  give_back(buf, buf_cap);
  td_free(whole.buf);
  pq_seg_release(r, dict);
  return rc;
}

/* A new segment of rows [lo, hi) of rg, decoded and cached (held). */
static int new_segment(pq_reader *r, int64_t col, int32_t rg, int64_t lo, int64_t hi, int64_t ahead, pq_seg **out,
                       td_error *err) {
  pq_seg *s = td_calloc(1, sizeof *s);
  if (!s) return td_err_nomem(err, "decoding a column chunk");
  s->col = col;
  s->rg = rg;
  s->file_first = r->meta.row_groups[rg].first_row + lo;
  int rc = decode_segment(r, col, rg, lo, hi, ahead, s, err);
  /* Share the decoded array so reads can hand out views of it. */
  s->ce.bytes = seg_bytes(&s->arr);
  td_type_id type = s->td ? TD_TYPE_UTF8 : s->arr.type;
  struct ArrowArray arr;
  if (!rc) rc = td_array_export(&s->arr, &arr, err);
  if (!rc) { /* the rows after the pad */
    arr.offset = s->pad;
    arr.length -= s->pad;
  }
  if (!rc && s->td) { /* codes: a dictionary array; the dictionary is charged once, with it */
    struct ArrowArray codes = arr;
    rc = td_dict_attach(&codes, s->td, &arr, err);
  }
  if (!rc) rc = td_shared_array_new(&arr, &s->shared, err);
  if (!rc) rc = td_colview_init(&s->view, type, &s->shared->array, err);
  if (!rc && s->td) s->view.dict = s->td;
  if (rc) {
    seg_free(&s->ce);
    return rc;
  }
  cache_put(r, s);
  *out = s;
  return TD_OK;
}

/* A segment being decoded by one reader thread, which others needing the
 * same column of the same row group (or of the next, when the segment may
 * go on into it: pq_get_segment's `ahead`) wait for instead of decoding it
 * too (two workers taking adjacent engine pages of one file page: a
 * top-N's units, ranked best first, are often such pairs).  Held by the
 * decoder and each waiter (refs); the last one frees it. */
typedef struct pq_inflight {
  int64_t col;
  int32_t rg;
  bool next_too; /* may cover the start of row group rg + 1 */
  bool finished;
  pq_seg *seg; /* when finished: the new segment (held for the waiters), or NULL */
  int refs;
  struct pq_inflight *next;
} pq_inflight;

/* Drops a hold on p (under r->seg_lock); the segment whose hold the caller
 * must release (after unlocking) when p is done with, else NULL. */
void (*pq__segment_hook)(void);
static _Atomic int64_t inflight_waits;
int64_t pq__inflight_waits(void) { return atomic_load(&inflight_waits); }

static pq_seg *inflight_drop(pq_inflight *p) {
  if (--p->refs > 0) return NULL;
  pq_seg *s = p->seg;
  td_free(p);
  return s;
}

int pq_get_segment(pq_reader *r, int64_t col, int32_t rg, int64_t lo, int64_t hi, int64_t ahead, pq_seg **out,
                   td_error *err) {
  int64_t f = r->meta.row_groups[rg].first_row;
  for (;;) {
    if ((*out = cache_find(r, col, rg, false, lo, hi))) return TD_OK;
    pthread_mutex_lock(&r->seg_lock);
    pq_inflight *p = r->inflight;
    while (p && (p->col != col || (p->rg != rg && !(p->next_too && p->rg + 1 == rg)))) p = p->next;
    if (!p) break; /* (still locked) */
    p->refs++;
    atomic_fetch_add(&inflight_waits, 1);
    while (!p->finished) pthread_cond_wait(&r->seg_done, &r->seg_lock);
    pq_seg *s = p->seg;
    bool covers = s && s->file_first <= f + lo && s->file_first + s->view.length >= f + hi;
    if (covers) td_fcache_retain(&g_cache, &s->ce);
    pq_seg *drop = inflight_drop(p);
    pthread_mutex_unlock(&r->seg_lock);
    pq_seg_release(r, drop);
    if (covers) {
      *out = s;
      return TD_OK;
    }
    /* it failed, or holds other rows: look again (decoding them here) */
  }
  pq_inflight *me = td_calloc(1, sizeof *me); /* none: decode without telling others */
  if (me) {
    bool next_too = ahead != PQ_NARROW && ahead > f + r->meta.row_groups[rg].num_rows;
    *me = (pq_inflight){.col = col, .rg = rg, .next_too = next_too, .refs = 1, .next = r->inflight};
    r->inflight = me;
  }
  pthread_mutex_unlock(&r->seg_lock);
  if (pq__segment_hook) pq__segment_hook();
  int rc = new_segment(r, col, rg, lo, hi, ahead, out, err);
  if (!me) return rc;
  pthread_mutex_lock(&r->seg_lock);
  pq_inflight **at = &r->inflight;
  while (*at != me) at = &(*at)->next;
  *at = me->next;
  me->finished = true;
  if (rc == TD_OK && me->refs > 1) { /* held for the waiters until the last takes it */
    me->seg = *out;
    td_fcache_retain(&g_cache, &me->seg->ce);
  }
  pq_seg *drop = inflight_drop(me);
  pthread_cond_broadcast(&r->seg_done);
  pthread_mutex_unlock(&r->seg_lock);
  pq_seg_release(r, drop);
  return rc;
}
