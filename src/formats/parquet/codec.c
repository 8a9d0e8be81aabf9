/*
 * formats/parquet/codec.c - decompression of Parquet pages: snappy, gzip
 * (including concatenated members), zstd, brotli, LZ4_RAW (raw block) and
 * the old LZ4 codec (Hadoop framing, falling back to the LZ4 frame format
 * and to a raw block).  Output is always bounded by the page's declared
 * uncompressed size.  Snappy pages are decoded by a small decoder of our
 * own (snappy_fast: the distribution's libsnappy calls out of line for
 * every tag), with libsnappy as the reference it falls back to.
 */
#include "formats/parquet/codec.h"

#include <brotli/decode.h>
#include <limits.h>
#include <stdatomic.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "formats/parquet/metadata.h"
#include "formats/reader.h"
#include "util/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "snappy_fast reads little-endian words"
#endif

const char *pq_codec_name(int codec) {
  static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
  return codec >= 0 && codec < 8 ? names[codec] : "unknown";
}

static int bad_size(td_error *err, int codec, int64_t got, int64_t want) {
  return td_err(err, TD_EFORMAT, "%s page decompressed to %lld bytes, expected %lld",
                pq_codec_name(codec), (long long)got, (long long)want);
}

static int corrupt(td_error *err, int codec, const char *detail) {
  return td_err(err, TD_EFORMAT, "corrupt %s page data (%s)", pq_codec_name(codec), detail);
}

/* ---- snappy ----
 * A stream is a varint of the output length, then tags: a literal (tag & 3
 * == 0: 1 to 60 bytes in the tag, or a length of 1 to 4 more bytes) or a
 * copy of 4 to 64 earlier output bytes at an offset of 1 or 2 or 4 bytes.
 * Pages of random doubles (DuckDB's `price`: 0.8 of the raw size) are one
 * tag per 4 bytes, 3-byte literals and 5-byte copies alternating, so the
 * cost is per tag, and the chain from one tag to the next bounds it: the
 * fast loop below takes the next tag out of the 8 bytes it loaded with
 * this one (no load waits on the sum of the tag's length), branches on
 * literal or copy (the branch predictor learns the alternation), and copies
 * a fixed 16 or 64 bytes (inline, no call) while at least 64 bytes of
 * output and 68 of input remain, writing past the tag's end only into
 * output that later tags overwrite.  A literal of at most 4 bytes and a
 * 2-byte copy after it (the doubles' pair) lie in the one 8-byte word: both
 * are decoded in one step, the tag after them taken from the word too, so
 * the chain from tag to tag is one link a pair (DuckDB's `price` pages:
 * 6.4 -> 4.9 ms for 12 pages).  Anything else (a 4-byte offset, an
 * offset under 16 or before the output's start, a literal of over 60
 * bytes) and the stream's last bytes go one tag at a time with exact
 * bounds (one_tag).  Offsets under 16 are the usual copies of sorted or
 * slowly changing 8-byte values (ids, timestamps: a copy at offset 8 every
 * other tag); one_tag copies them 8 bytes at a time (copy_near) when 64
 * bytes of output remain. */

static void copy16(uint8_t *d, const uint8_t *s) { memcpy(d, s, 16); }
static void copy8(uint8_t *d, const uint8_t *s) { memcpy(d, s, 8); }

/* The copy of len (at most 64) bytes from off bytes back, 8 bytes at a
 * time from at least 8 back (each 8 bytes read were written before): an
 * offset under 8 first repeats its pattern byte by byte over 8 bytes, then
 * copies from the least multiple of off that is at least 8.  Writes up to
 * 64 bytes: the caller has that room. */
static void copy_near(uint8_t *op, size_t off, size_t len) {
  const uint8_t *s = op - off; /* (op[k - off] would index by a wrapped size_t) */
  size_t k = 0;
  if (off < 8) {
    for (; k < 8; k++) op[k] = s[k];
    s = op - off * (8 / off + (8 % off != 0));
  }
  for (; k < len; k += 8) copy8(op + k, s + k);
}

/* The tag at ip[0] (ie: the input's end): its length, and a copy's offset;
 * returns the bytes of the tag (1 to 5, before a literal's data), 0 when
 * they run past ie. */
static size_t tag_head(const uint8_t *ip, const uint8_t *ie, size_t *len, size_t *off) {
  uint32_t tag = ip[0], kind = tag & 3;
  size_t more = kind == 3 ? 4 : kind; /* a copy's offset bytes */
  *len = kind == 1 ? ((tag >> 2) & 7) + 4 : (tag >> 2) + 1;
  if (kind == 0) more = *len > 60 ? *len - 60 : 0; /* a literal's length bytes */
  if ((size_t)(ie - ip) <= more) return 0;
  uint32_t v = 0;
  for (size_t k = more; k > 0; k--) v = v << 8 | ip[k];
  if (kind == 0 && more) *len = (size_t)v + 1;
  *off = kind == 1 ? (size_t)(tag >> 5) << 8 | v : v;
  return 1 + more;
}

/* The tag at *ipp, of any kind, decoded at *opp with exact bounds (base:
 * the output's start, oe its end); both advance past it.  False on a tag
 * that runs past either end or copies from before base. */
static bool one_tag(const uint8_t **ipp, const uint8_t *ie, uint8_t **opp, uint8_t *base, uint8_t *oe) {
  const uint8_t *ip = *ipp;
  uint8_t *op = *opp;
  size_t len, off;
  bool literal = (ip[0] & 3) == 0;
  size_t head = tag_head(ip, ie, &len, &off);
  if (!head || len > (size_t)(oe - op)) return false;
  ip += head;
  if (literal) {
    if (len > (size_t)(ie - ip)) return false;
    memcpy(op, ip, len);
    ip += len;
  } else {
    if (off == 0 || off > (size_t)(op - base)) return false;
    const uint8_t *s = op - off; /* (op[k - off] would index by a wrapped size_t) */
    if (off >= 16 && (size_t)(oe - op) >= len + 16) { /* each 16 bytes read were written before */
      for (size_t k = 0; k < len; k += 16) copy16(op + k, s + k);
    } else if (len <= 64 && (size_t)(oe - op) >= 64) {
      copy_near(op, off, len);
    } else {
      for (size_t k = 0; k < len; k++) op[k] = s[k]; /* a repeating pattern */
    }
  }
  *ipp = ip;
  *opp = op + len;
  return true;
}

/* Decodes a snappy stream of exactly dst_len bytes into dst; false on any
 * malformed input (dst then holds garbage).  stop < dst_len: only a prefix
 * is wanted: decoding ends at the first tag boundary at or past dst[stop]
 * (dst[0..stop) then hold the stream's first bytes; the tags after it are
 * not read, so a fault there goes unnoticed). */
static bool snappy_fast(const uint8_t *ip, size_t n, uint8_t *op, size_t dst_len, size_t stop) {
  const uint8_t *const ie = ip + n;
  uint64_t want = 0;
  for (int shift = 0;; shift += 7) { /* at most 5 bytes */
    if (ip == ie || shift > 28) return false;
    uint8_t c = *ip++;
    want |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) break;
  }
  if (want != dst_len) return false;
  uint8_t *const base = op, *const oe = op + dst_len, *const os = op + (stop < dst_len ? stop : dst_len);
  if (ie - ip >= 68 && oe - op >= 64 && op < os) {
    const uint8_t *const ilim = ie - 68;
    uint8_t *const olim = oe - 64 < os - 1 ? oe - 64 : os - 1;
    uint32_t tag = ip[0]; /* the tag at ip, always */
    while (ip <= ilim && op <= olim) {
      uint64_t w;
      memcpy(&w, ip, 8); /* (uint8_t)w == tag */
      if ((tag & 3) == 0) {
        size_t len = (tag >> 2) + 1;
        if (__builtin_expect(len <= 4, 1)) { /* a short literal, and the copy after it, from this word */
          const uint64_t t1 = w >> (8 * (len + 1)); /* the next tag, its offset byte, the tag after */
          const size_t off1 = (size_t)((t1 & 0xe0) << 3 | (t1 >> 8 & 0xff));
          copy16(op, ip + 1);
          op += len;
          ip += len + 1;
          if ((t1 & 3) == 1 && off1 >= 16 && off1 <= (size_t)(op - base) && op <= olim && ip <= ilim) {
            copy16(op, op - off1);
            op += ((t1 >> 2) & 7) + 4;
            ip += 2;
            tag = (uint8_t)(t1 >> 16); /* w's byte len + 3 <= 7 */
            continue;
          }
          tag = (uint8_t)t1;
          continue;
        }
        if (__builtin_expect(len <= 16, 1)) {
          copy16(op, ip + 1);
          op += len;
          ip += len + 1;
          tag = __builtin_expect(len < 7, 1) ? (uint8_t)(w >> (8 * (len + 1))) : ip[0];
          continue;
        }
        if (len <= 60) {
          for (int k = 0; k < 64; k += 16) copy16(op + k, ip + 1 + k);
          op += len;
          ip += len + 1;
          tag = ip[0];
          continue;
        }
      } else {
        uint32_t kind = tag & 3;
        size_t len = kind == 1 ? ((tag >> 2) & 7) + 4 : (tag >> 2) + 1;
        size_t off = kind == 1 ? (size_t)(tag >> 5) << 8 | (size_t)(w >> 8 & 0xff) : (size_t)(w >> 8 & 0xffff);
        if (__builtin_expect(kind != 3 && off >= 16 && off <= (size_t)(op - base), 1)) {
          copy16(op, op - off);
          if (__builtin_expect(len > 16, 0)) /* up to 64: each 16 bytes read were written before */
            for (size_t k = 16; k < len; k += 16) copy16(op + k, op - off + k);
          op += len;
          ip += kind + 1;
          tag = (uint8_t)(w >> (8 * (kind + 1)));
          continue;
        }
      }
      if (!one_tag(&ip, ie, &op, base, oe)) return false;
      if (ip <= ilim) tag = ip[0];
    }
  }
  while (ip < ie && op < os) /* the rest: exact bounds */
    if (!one_tag(&ip, ie, &op, base, oe)) return false;
  return os < oe ? op >= os : op == oe && ip == ie;
}

bool pq__snappy_fast(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
  return snappy_fast(src, n, dst, dst_len, dst_len);
}

bool pq__snappy_fast_prefix(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, size_t stop) {
  return snappy_fast(src, n, dst, dst_len, stop);
}

/* Whether snappy pages go through snappy_fast (the default;
 * TD_PARQUET_SNAPPY_FAST=0: libsnappy alone, for measuring). */
static bool snappy_fast_on(void) {
  static _Atomic int on = -1;
  return td_reader_switch_on("TD_PARQUET_SNAPPY_FAST", &on);
}

static int do_snappy(const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len, int64_t stop,
                     td_error *err) {
  /* What snappy_fast rejects, libsnappy decodes (whole) or names as corrupt. */
  if (snappy_fast_on() && snappy_fast(src, (size_t)n, dst, (size_t)dst_len, (size_t)stop)) return TD_OK;
  size_t len = 0;
  if (snappy_uncompressed_length((const char *)src, (size_t)n, &len) != SNAPPY_OK)
    return corrupt(err, PQ_CODEC_SNAPPY, "bad length header");
  if ((int64_t)len != dst_len) return bad_size(err, PQ_CODEC_SNAPPY, (int64_t)len, dst_len);
  size_t out = (size_t)dst_len;
  if (snappy_uncompress((const char *)src, (size_t)n, (char *)dst, &out) != SNAPPY_OK)
    return corrupt(err, PQ_CODEC_SNAPPY, "invalid stream");
  return (int64_t)out == dst_len ? TD_OK : bad_size(err, PQ_CODEC_SNAPPY, (int64_t)out, dst_len);
}

int64_t pq_snappy_head(const uint8_t *src, int64_t n, uint8_t *out, int64_t want) {
  int64_t at = 0;
  while (at < n && at < 5 && (src[at] & 0x80)) at++; /* the varint of the output length */
  if (++at >= n) return 0;
  uint8_t tag = src[at++];
  if (tag & 3) return 0; /* a copy: only a literal can open a stream */
  int64_t len = tag >> 2;
  if (len >= 60) { /* a length of 1 to 4 more bytes, little-endian */
    int extra = (int)len - 59;
    if (n - at < extra) return 0;
    len = 0;
    for (int i = extra - 1; i >= 0; i--) len = len << 8 | src[at + i];
    at += extra;
  }
  len += 1;
  if (len > n - at) len = n - at;
  if (len > want) len = want;
  memcpy(out, src + at, (size_t)len);
  return len;
}

/* gzip or zlib, with any number of concatenated gzip members. */
static int do_gzip(const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len, td_error *err) {
  if (n > UINT_MAX || dst_len > UINT_MAX) return corrupt(err, PQ_CODEC_GZIP, "page too large");
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 32) != Z_OK) return td_err(err, TD_ENOMEM, "cannot start zlib");
  z.next_in = (Bytef *)(uintptr_t)src;
  z.avail_in = (uInt)n;
  z.next_out = dst;
  z.avail_out = (uInt)dst_len;
  int rc = TD_OK;
  for (;;) {
    int zr = inflate(&z, Z_FINISH);
    if (zr == Z_STREAM_END) {
      /* Another member may follow (skipping zero padding). */
      while (z.avail_in && *z.next_in == 0) {
        z.next_in++;
        z.avail_in--;
      }
      if (!z.avail_in || !z.avail_out) break;
      if (inflateReset(&z) != Z_OK) {
        rc = corrupt(err, PQ_CODEC_GZIP, "cannot reset");
        break;
      }
      continue;
    }
    if (zr == Z_MEM_ERROR) {
      rc = td_err(err, TD_ENOMEM, "out of memory in zlib");
    } else {
      rc = corrupt(err, PQ_CODEC_GZIP, z.msg ? z.msg : "truncated or oversized stream");
    }
    break;
  }
  int64_t got = dst_len - z.avail_out;
  inflateEnd(&z);
  if (rc) return rc;
  return got == dst_len ? TD_OK : bad_size(err, PQ_CODEC_GZIP, got, dst_len);
}

static int do_zstd(const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len, td_error *err) {
  size_t got = ZSTD_decompress(dst, (size_t)dst_len, src, (size_t)n);
  if (ZSTD_isError(got)) return corrupt(err, PQ_CODEC_ZSTD, ZSTD_getErrorName(got));
  return (int64_t)got == dst_len ? TD_OK : bad_size(err, PQ_CODEC_ZSTD, (int64_t)got, dst_len);
}

static int do_brotli(const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len,
                     td_error *err) {
  size_t got = (size_t)dst_len;
  if (BrotliDecoderDecompress((size_t)n, src, &got, dst) != BROTLI_DECODER_RESULT_SUCCESS)
    return corrupt(err, PQ_CODEC_BROTLI, "invalid or oversized stream");
  return (int64_t)got == dst_len ? TD_OK : bad_size(err, PQ_CODEC_BROTLI, (int64_t)got, dst_len);
}

static int lz4_block(const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len) {
  if (n > INT_MAX || dst_len > INT_MAX) return -1;
  return LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dst_len);
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop's framing: blocks of [be32 raw size][be32 compressed size][data]. */
static bool lz4_hadoop(const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len) {
  int64_t in = 0, out = 0;
  while (in < n) {
    if (n - in < 8) return false;
    int64_t raw = be32(src + in), comp = be32(src + in + 4);
    in += 8;
    if (comp > n - in || raw > dst_len - out) return false;
    int got = lz4_block(src + in, comp, dst + out, raw);
    if (got != raw) return false;
    in += comp;
    out += raw;
  }
  return out == dst_len;
}

static bool lz4_frame(const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len) {
  if (n < 4 || src[0] != 0x04 || src[1] != 0x22 || src[2] != 0x4d || src[3] != 0x18) return false;
  LZ4F_dctx *ctx;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return false;
  size_t in_used = 0, out_used = 0;
  bool ok = false;
  for (;;) {
    size_t src_len = (size_t)n - in_used, out_len = (size_t)dst_len - out_used;
    size_t r = LZ4F_decompress(ctx, dst + out_used, &out_len, src + in_used, &src_len, NULL);
    if (LZ4F_isError(r)) break;
    in_used += src_len;
    out_used += out_len;
    if (r == 0) {
      ok = in_used == (size_t)n && out_used == (size_t)dst_len;
      break;
    }
    if (src_len == 0 && out_len == 0) break; /* no progress: truncated or too large */
  }
  LZ4F_freeDecompressionContext(ctx);
  return ok;
}

static int do_lz4(const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len, td_error *err) {
  if (lz4_hadoop(src, n, dst, dst_len) || lz4_frame(src, n, dst, dst_len)) return TD_OK;
  if (lz4_block(src, n, dst, dst_len) == dst_len) return TD_OK;
  return corrupt(err, PQ_CODEC_LZ4, "neither Hadoop-framed, LZ4 frame nor raw block data");
}

int pq_decompress(int codec, const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len,
                  td_error *err) {
  return pq_decompress_prefix(codec, src, n, dst, dst_len, dst_len, err);
}

int pq_decompress_prefix(int codec, const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len, int64_t want,
                         td_error *err) {
  if (want < 0 || want > dst_len) want = dst_len;
  switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
      if (n != dst_len) return bad_size(err, codec, n, dst_len);
      if (n) memcpy(dst, src, (size_t)n);
      return TD_OK;
    case PQ_CODEC_SNAPPY: return do_snappy(src, n, dst, dst_len, want, err);
    case PQ_CODEC_GZIP: return do_gzip(src, n, dst, dst_len, err);
    case PQ_CODEC_ZSTD: return do_zstd(src, n, dst, dst_len, err);
    case PQ_CODEC_BROTLI: return do_brotli(src, n, dst, dst_len, err);
    case PQ_CODEC_LZ4_RAW: {
      int got = lz4_block(src, n, dst, dst_len);
      if (got < 0) return corrupt(err, codec, "invalid block");
      return got == dst_len ? TD_OK : bad_size(err, codec, got, dst_len);
    }
    case PQ_CODEC_LZ4: return do_lz4(src, n, dst, dst_len, err);
    default:
      return td_err(err, TD_EUNSUPPORTED, "compression codec %s (%d) is not supported",
                    pq_codec_name(codec), codec);
  }
}
