/*
 * formats/parquet/encoding.c - decoders of Parquet's encodings: PLAIN,
 * dictionary indices (RLE/bit-packed hybrid), definition levels,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
 * BYTE_STREAM_SPLIT and boolean RLE, with the physical -> engine type
 * conversions.  Every read is checked against the page buffer.
 */
#include "formats/parquet/encoding.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arrow/dict.h"
#include "formats/parquet/metadata.h"
#include "util/alloc.h"
#include "util/half.h"
#include "util/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet decoder assumes a little-endian host"
#endif

#define PQ_MAX_PAGE_STRING_BYTES ((int64_t)1 << 29)

/* ---- bit unpacking ---- */

static inline uint64_t load64(const uint8_t *src, int64_t nbytes, int64_t byte) {
  uint64_t w = 0;
  if (byte + 8 <= nbytes) memcpy(&w, src + byte, 8);
  else if (byte < nbytes) memcpy(&w, src + byte, (size_t)(nbytes - byte));
  return w;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Whole groups of 8 values of bw (1..16) bits at q, while 16 bytes can be
 * read there (nbytes: the bytes from q on), into out (at most n values);
 * returns the values written, a multiple of 8.  A group is bw bytes: its
 * 16 bytes in both lanes, a shuffle puts the 4 bytes starting at value j's
 * first bit in lane dword j (bytes past the 16th read as zero: a value
 * ends by byte bw - 1), a variable shift and a mask finish it. */
__attribute__((target("avx2"))) static int64_t unpack8_avx2(const uint8_t *q, int64_t nbytes, int bw,
                                                           uint32_t *out, int64_t n) {
  uint8_t sh[32];
  int32_t sv[8];
  for (int j = 0; j < 8; j++) {
    int s = (j * bw) >> 3;
    for (int b = 0; b < 4; b++) sh[j * 4 + b] = (uint8_t)(s + b < 16 ? s + b : 0x80);
    sv[j] = (j * bw) & 7;
  }
  const __m256i shuf = _mm256_loadu_si256((const __m256i *)sh), shifts = _mm256_loadu_si256((const __m256i *)sv);
  const __m256i mask = _mm256_set1_epi32((int)((1u << bw) - 1));
  int64_t i = 0;
  for (; i + 8 <= n && nbytes >= 16; i += 8, q += bw, nbytes -= bw) {
    __m256i y = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q));
    y = _mm256_and_si256(_mm256_srlv_epi32(_mm256_shuffle_epi8(y, shuf), shifts), mask);
    _mm256_storeu_si256((__m256i *)(out + i), y);
  }
  return i;
}

static bool have_avx2(void) { return __builtin_cpu_supports("avx2"); }
#else
static int64_t unpack8_avx2(const uint8_t *q, int64_t nbytes, int bw, uint32_t *out, int64_t n) {
  (void)q, (void)nbytes, (void)bw, (void)out, (void)n;
  return 0;
}
static bool have_avx2(void) { return false; }
#endif

/* Values first..first+n of bw-bit little-endian packed data (bw <= 32). */
static inline void unpack_bw(const uint8_t *src, int64_t nbytes, const int bw, int64_t first,
                             uint32_t *out, int64_t n) {
  const uint64_t mask = bw >= 32 ? 0xffffffffu : (((uint64_t)1 << bw) - 1);
  int64_t bit = first * bw, i = 0;
  if (bw == 0) {
    memset(out, 0, (size_t)n * sizeof *out);
    return;
  }
  if ((first & 7) == 0) { /* whole groups of 8 values (bw bytes): constant offsets and shifts */
    const uint8_t *q = src + (first >> 3) * bw;
    if (bw <= 16 && n >= 64 && have_avx2()) { /* (a short run would spend more on the setup) */
      i = unpack8_avx2(q, nbytes - (q - src), bw, out, n);
      q += (i >> 3) * bw;
    }
    for (; i + 8 <= n && (q - src) + bw + 8 <= nbytes; i += 8, q += bw)
      for (int j = 0; j < 8; j++) {
        uint64_t w;
        memcpy(&w, q + ((j * bw) >> 3), 8);
        out[i + j] = (uint32_t)((w >> ((j * bw) & 7)) & mask);
      }
    bit += i * bw;
  }
  for (; i < n && (bit >> 3) + 8 <= nbytes; i++, bit += bw) {
    uint64_t w;
    memcpy(&w, src + (bit >> 3), 8);
    out[i] = (uint32_t)((w >> (bit & 7)) & mask);
  }
  for (; i < n; i++, bit += bw) out[i] = (uint32_t)((load64(src, nbytes, bit >> 3) >> (bit & 7)) & mask);
}

#define PQ_BW_CASES(X)                                                                        \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) \
  X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32)

static void unpack32(const uint8_t *src, int64_t nbytes, int bw, int64_t first, uint32_t *out,
                     int64_t n) {
  switch (bw) {
#define PQ_BW_CASE(B) \
  case B: unpack_bw(src, nbytes, B, first, out, n); break;
    PQ_BW_CASES(PQ_BW_CASE)
#undef PQ_BW_CASE
    default: memset(out, 0, (size_t)n * sizeof *out); break;
  }
}

/* One value of up to 64 bits at bit offset `bit`. */
static inline uint64_t get_bits64(const uint8_t *src, int64_t nbytes, int64_t bit, int bw) {
  if (bw == 0) return 0;
  int s = (int)(bit & 7);
  uint64_t v = load64(src, nbytes, bit >> 3) >> s;
  if (s && s + bw > 64) v |= load64(src, nbytes, (bit >> 3) + 8) << (64 - s);
  return bw == 64 ? v : v & (((uint64_t)1 << bw) - 1);
}

/* ---- varints for the delta encodings ---- */

static bool uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return false;
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}
static bool zvarint(const uint8_t **p, const uint8_t *end, int64_t *out) {
  uint64_t u;
  if (!uvarint(p, end, &u)) return false;
  *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
  return true;
}

/* ---- RLE / bit-packed hybrid ---- */

void pq_rle_init(pq_rle *d, const uint8_t *p, int64_t n, int bit_width) {
  memset(d, 0, sizeof *d);
  d->p = p;
  d->end = p + n;
  d->bw = bit_width;
}

static bool rle_refill(pq_rle *d) {
  uint64_t h;
  while (d->left == 0) {
    if (!uvarint(&d->p, d->end, &h)) return false;
    if (h & 1) {
      uint64_t groups = h >> 1;
      if (groups > ((uint64_t)1 << 40)) return false;
      int64_t bytes = (int64_t)groups * d->bw, avail = d->end - d->p;
      if (bytes > avail) bytes = avail;
      d->packed = true;
      d->data = d->p;
      d->data_bytes = bytes;
      d->idx = 0;
      d->left = d->bw ? bytes * 8 / d->bw : (int64_t)groups * 8;
      if (d->left > (int64_t)groups * 8) d->left = (int64_t)groups * 8;
      d->p += bytes;
      if (groups && d->left == 0) return false; /* truncated */
    } else {
      uint64_t count = h >> 1;
      int vb = (d->bw + 7) / 8;
      if (count > ((uint64_t)1 << 40) || vb > d->end - d->p) return false;
      uint32_t v = 0;
      for (int i = 0; i < vb; i++) v |= (uint32_t)d->p[i] << (8 * i);
      d->p += vb;
      if (d->bw < 32 && (v >> d->bw)) return false;
      d->packed = false;
      d->value = v;
      d->left = (int64_t)count;
    }
  }
  return true;
}

bool pq_rle_u32(pq_rle *d, uint32_t *out, int64_t n) {
  while (n > 0) {
    if (!d->left && !rle_refill(d)) return false;
    int64_t m = d->left < n ? d->left : n;
    if (d->packed) {
      unpack32(d->data, d->data_bytes, d->bw, d->idx, out, m);
      d->idx += m;
    } else {
      for (int64_t i = 0; i < m; i++) out[i] = d->value;
    }
    d->left -= m;
    out += m;
    n -= m;
  }
  return true;
}

bool pq_levels_all_defined(const uint8_t *p, int64_t len, int encoding, int64_t rows) {
  if (encoding != PQ_ENC_RLE) return false;
  pq_rle d;
  pq_rle_init(&d, p, len, 1);
  return rows == 0 || (rle_refill(&d) && !d.packed && d.value == 1 && d.left >= rows);
}

int pq_decode_levels(const uint8_t *p, int64_t len, int encoding, int64_t rows, uint8_t *defined,
                     int64_t *nn, td_error *err) {
  int64_t count = 0;
  if (encoding == PQ_ENC_BIT_PACKED) { /* deprecated: MSB first */
    if (len * 8 < rows) return td_err(err, TD_EFORMAT, "bit-packed definition levels are truncated");
    for (int64_t i = 0; i < rows; i++) {
      defined[i] = (p[i >> 3] >> (7 - (i & 7))) & 1;
      count += defined[i];
    }
    *nn = count;
    return TD_OK;
  }
  if (encoding != PQ_ENC_RLE)
    return td_err(err, TD_EUNSUPPORTED, "definition level encoding %d is not supported", encoding);
  pq_rle d;
  pq_rle_init(&d, p, len, 1);
  for (int64_t i = 0; i < rows;) {
    if (!d.left && !rle_refill(&d))
      return td_err(err, TD_EFORMAT, "definition levels end after %lld of %lld values",
                    (long long)i, (long long)rows);
    int64_t m = d.left < rows - i ? d.left : rows - i;
    if (d.packed) {
      int64_t j = 0;
      for (; j < m && ((d.idx + j) & 7); j++) {
        int64_t b = d.idx + j;
        defined[i + j] = (d.data[b >> 3] >> (b & 7)) & 1;
        count += defined[i + j];
      }
      /* Whole bytes: eight flags at a time (each nibble spread to 4 bytes). */
      for (; j + 8 <= m; j += 8) {
        uint8_t x = d.data[(d.idx + j) >> 3];
        uint32_t lo = ((uint32_t)(x & 15) * 0x00204081u) & 0x01010101u;
        uint32_t hi = ((uint32_t)(x >> 4) * 0x00204081u) & 0x01010101u;
        memcpy(defined + i + j, &lo, 4);
        memcpy(defined + i + j + 4, &hi, 4);
        count += (int64_t)((((uint64_t)lo + hi) * 0x01010101u) >> 24 & 0xff); /* the set flags */
      }
      for (; j < m; j++) {
        int64_t b = d.idx + j;
        defined[i + j] = (d.data[b >> 3] >> (b & 7)) & 1;
        count += defined[i + j];
      }
      d.idx += m;
    } else {
      memset(defined + i, (int)d.value, (size_t)m);
      count += d.value ? m : 0;
    }
    d.left -= m;
    i += m;
  }
  *nn = count;
  return TD_OK;
}

/* ---- conversions ---- */


/* A big-endian two's complement integer of n (1..16) bytes as 16 bytes of
 * Arrow decimal128 (little-endian). */
static void dec_from_be(const uint8_t *src, int n, uint8_t *dst) {
  uint8_t fill = (src[0] & 0x80) ? 0xff : 0;
  for (int k = 0; k < 16; k++) dst[k] = k < n ? src[n - 1 - k] : fill;
}

static void dec_from_int(int64_t x, uint8_t *dst) {
  uint64_t lo = (uint64_t)x, hi = x < 0 ? UINT64_MAX : 0;
  memcpy(dst, &lo, 8);
  memcpy(dst + 8, &hi, 8);
}

#define PQ_NS_PER_DAY 86400000000000LL
#define PQ_JULIAN_EPOCH 2440588LL

int64_t pq_convert(int conv, const uint8_t *src, int64_t n, void *dst) {
  switch (conv) {
    case PQ_CV_COPY4: memcpy(dst, src, (size_t)n * 4); break;
    case PQ_CV_COPY8: memcpy(dst, src, (size_t)n * 8); break;
#define PQ_CONV_LOOP(SRC_T, DST_T, EXPR)                \
  do {                                                  \
    DST_T *o = dst;                                     \
    for (int64_t i = 0; i < n; i++) {                   \
      SRC_T x;                                          \
      memcpy(&x, src + i * (int64_t)sizeof x, sizeof x); \
      o[i] = (DST_T)(EXPR);                             \
    }                                                   \
  } while (0)
    case PQ_CV_I32_I8: PQ_CONV_LOOP(int32_t, int8_t, x); break;
    case PQ_CV_I32_I16: PQ_CONV_LOOP(int32_t, int16_t, x); break;
    case PQ_CV_U8: PQ_CONV_LOOP(uint32_t, uint8_t, x & 0xff); break;
    case PQ_CV_U16: PQ_CONV_LOOP(uint32_t, uint16_t, x & 0xffff); break;
    case PQ_CV_F16: PQ_CONV_LOOP(uint16_t, float, td_half_to_float(x)); break;
#undef PQ_CONV_LOOP
    case PQ_CV_DEC_I32:
      for (int64_t i = 0; i < n; i++) {
        int32_t x;
        memcpy(&x, src + i * 4, 4);
        dec_from_int(x, (uint8_t *)dst + i * 16);
      }
      break;
    case PQ_CV_DEC_I64:
      for (int64_t i = 0; i < n; i++) {
        int64_t x;
        memcpy(&x, src + i * 8, 8);
        dec_from_int(x, (uint8_t *)dst + i * 16);
      }
      break;
    case PQ_CV_INT96: {
      int64_t *o = dst;
      for (int64_t i = 0; i < n; i++) {
        uint64_t nanos;
        int32_t day;
        memcpy(&nanos, src + i * 12, 8);
        memcpy(&day, src + i * 12 + 8, 4);
        if (nanos > (uint64_t)INT64_MAX ||
            __builtin_mul_overflow((int64_t)day - PQ_JULIAN_EPOCH, PQ_NS_PER_DAY, &o[i]) ||
            __builtin_add_overflow(o[i], (int64_t)nanos, &o[i]))
          return i;
      }
      break;
    }
    default: break;
  }
  return -1;
}

void pq_describe_physical(int conv, const uint8_t *src, int64_t i, char *buf, size_t size) {
  switch (conv) {
    case PQ_CV_INT96: {
      uint64_t nanos;
      int32_t day;
      memcpy(&nanos, src + i * 12, 8);
      memcpy(&day, src + i * 12 + 8, 4);
      snprintf(buf, size, "Julian day %d + %llu ns", day, (unsigned long long)nanos);
      return;
    }
    default: snprintf(buf, size, "a value"); return;
  }
}

/* ---- helpers writing into the destination array ---- */

static int reserve_rows(td_array *a, int64_t end, td_error *err) {
  return td_array_reserve(a, end, err);
}

static int reserve_strings(td_array *a, int64_t extra, td_error *err) {
  if (a->data_length + extra > INT32_MAX)
    return td_err(err, TD_EUNSUPPORTED,
                  "string data of more than 2 GiB in one column chunk is not supported");
  return td_array_reserve_data(a, a->data_length + extra, err);
}

/* nn values of w bytes each, packed at src, as rows [pos, pos + nn) of a
 * binary array (filled in order, like every variable-length array). */
static int fixed_bytes(const uint8_t *src, int w, int64_t nn, td_array *a, int64_t pos, td_error *err) {
  int64_t bytes = nn * w;
  if (bytes > PQ_MAX_PAGE_STRING_BYTES)
    return td_err(err, TD_EUNSUPPORTED, "a page expands to %lld bytes of fixed-length values", (long long)bytes);
  int rc = reserve_strings(a, bytes, err);
  if (rc) return rc;
  int64_t dl = a->data_length;
  int32_t *off = a->offsets + pos;
  if (bytes) memcpy(a->data + dl, src, (size_t)bytes);
  off[0] = (int32_t)dl;
  for (int64_t i = 0; i < nn; i++) off[i + 1] = (int32_t)(dl += w);
  a->data_length = dl;
  return TD_OK;
}

static int fixed_from_physical(const pq_colinfo *ci, const uint8_t *phys, int64_t nn, td_array *a,
                               int64_t pos, td_error *err) {
  int rc = reserve_rows(a, pos + nn, err);
  if (rc) return rc;
  if (ci->conv == PQ_CV_FLBA) return fixed_bytes(phys, ci->pw, nn, a, pos, err);
  if (ci->conv == PQ_CV_DEC_FLBA) { /* the width is the column's */
    for (int64_t i = 0; i < nn; i++) dec_from_be(phys + i * ci->pw, ci->pw, a->values + (pos + i) * 16);
    return TD_OK;
  }
  int64_t bad = pq_convert(ci->conv, phys, nn, a->values + pos * td_type_width(a->type));
  if (bad < 0) return TD_OK;
  char what[96];
  pq_describe_physical(ci->conv, phys, bad, what, sizeof what);
  a->length = pos + bad; /* tells the caller which value (see pq_decode_plain) */
  return td_err(err, TD_ERANGE,
                "value %s cannot be represented as a nanosecond timestamp (1677-09-21 to 2262-04-11)", what);
}

static int put_bits(const uint8_t *bits, int64_t nn, td_array *a, int64_t pos, td_error *err) {
  int rc = reserve_rows(a, pos + nn, err);
  if (rc) return rc;
  if ((pos & 7) == 0) {
    memcpy(a->values + pos / 8, bits, (size_t)(nn / 8));
    for (int64_t i = nn & ~(int64_t)7; i < nn; i++) td_bit_put(a->values, pos + i, td_bit_get(bits, i));
  } else {
    for (int64_t i = 0; i < nn; i++) td_bit_put(a->values, pos + i, td_bit_get(bits, i));
  }
  return TD_OK;
}

/* ---- PLAIN ---- */

static int plain_strings(const uint8_t *p, int64_t len, int64_t nn, td_array *a, int64_t pos,
                         td_error *err) {
  int rc = reserve_rows(a, pos + nn, err);
  if (!rc) rc = reserve_strings(a, len, err);
  if (rc) return rc;
  int64_t at = 0, dl = a->data_length;
  int32_t *off = a->offsets + pos;
  off[0] = (int32_t)dl;
  for (int64_t i = 0; i < nn; i++) {
    uint32_t n;
    if (len - at < 4) goto truncated;
    memcpy(&n, p + at, 4);
    at += 4;
    if (n > (uint64_t)(len - at)) goto truncated;
    memcpy(a->data + dl, p + at, n);
    at += n;
    dl += n;
    off[i + 1] = (int32_t)dl;
  }
  a->data_length = dl;
  return TD_OK;
truncated:
  return td_err(err, TD_EFORMAT, "PLAIN byte array data is truncated (%lld values expected)",
                (long long)nn);
}

/* BYTE_ARRAY decimals: each value a big-endian integer of 1..16 bytes. */
static int plain_decimals(const uint8_t *p, int64_t len, int64_t nn, td_array *a, int64_t pos, td_error *err) {
  int rc = reserve_rows(a, pos + nn, err);
  if (rc) return rc;
  int64_t at = 0;
  for (int64_t i = 0; i < nn; i++) {
    uint32_t n;
    if (len - at < 4) goto truncated;
    memcpy(&n, p + at, 4);
    at += 4;
    if (n > (uint64_t)(len - at)) goto truncated;
    if (n < 1 || n > 16)
      return td_err(err, TD_EFORMAT, "a DECIMAL byte array value has %u bytes (1 to 16 expected)", n);
    dec_from_be(p + at, (int)n, a->values + (pos + i) * 16);
    at += n;
  }
  return TD_OK;
truncated:
  return td_err(err, TD_EFORMAT, "PLAIN byte array data is truncated (%lld values expected)", (long long)nn);
}

int pq_decode_plain(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                    td_array *a, int64_t pos, td_error *err) {
  if (ci->conv == PQ_CV_DEC_BYTES) return plain_decimals(p, len, nn, a, pos, err);
  if (ci->phys == PQ_BYTE_ARRAY) return plain_strings(p, len, nn, a, pos, err);
  if (ci->phys == PQ_BOOLEAN) {
    if (len * 8 < nn) return td_err(err, TD_EFORMAT, "PLAIN boolean data is truncated");
    return put_bits(p, nn, a, pos, err);
  }
  if (len / ci->pw < nn)
    return td_err(err, TD_EFORMAT, "PLAIN data has %lld bytes, %lld values of %d bytes expected",
                  (long long)len, (long long)nn, ci->pw);
  return fixed_from_physical(ci, p, nn, a, pos, err);
}

/* ---- dictionary ---- */

/* Bytes a string dictionary keeps after its data so that entries of up to
 * PQ_DICT_PAD bytes can be copied with one fixed-size move. */
#define PQ_DICT_PAD 16

int pq_dict_pad(td_array *dict, td_error *err) {
  if (!td_type_is_varlen(dict->type)) return TD_OK;
  return td_array_reserve_data(dict, dict->data_length + PQ_DICT_PAD, err);
}

/* Rows [pos, pos + rows) from dictionary indices idx (one per defined row,
 * in order); defined == NULL: every row is defined.  Null rows get an empty
 * string or a zero value (the caller marks them in the validity bitmap). */
static int gather(const td_array *dict, const uint32_t *idx, int64_t nidx, const uint8_t *defined,
                  int64_t rows, td_array *a, int64_t pos, td_error *err) {
  uint64_t dn = (uint64_t)dict->length;
  if (!td_codes_below(idx, nidx, dn))
    for (int64_t i = 0; i < nidx; i++) /* the first one out */
      if (idx[i] >= dn)
      return td_err(err, TD_EFORMAT, "dictionary index %u out of range (dictionary has %lld values)",
                    idx[i], (long long)dn);
  int rc = reserve_rows(a, pos + rows, err);
  if (rc) return rc;
#define PQ_ROWS(STMT_DEFINED, STMT_NULL)             \
  do {                                               \
    if (!defined) {                                  \
      for (int64_t i = 0, k = 0; i < rows; i++, k++) { \
        STMT_DEFINED;                                \
      }                                              \
    } else {                                         \
      for (int64_t i = 0, k = 0; i < rows; i++) {    \
        if (defined[i]) {                            \
          STMT_DEFINED;                              \
          k++;                                       \
        } else {                                     \
          STMT_NULL;                                 \
        }                                            \
      }                                              \
    }                                                \
  } while (0)
  switch (a->type) {
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY: {
      const int32_t *d = dict->offsets;
      int64_t total = 0;
      for (int64_t i = 0; i < nidx; i++) total += d[idx[i] + 1] - d[idx[i]];
      if (total > PQ_MAX_PAGE_STRING_BYTES)
        return td_err(err, TD_EUNSUPPORTED, "a page expands to %lld bytes of strings", (long long)total);
      if ((rc = reserve_strings(a, total + PQ_DICT_PAD, err))) return rc;
      /* Short entries move as one 16-byte copy when both sides have room. */
      bool pad = dict->data_capacity - dict->data_length >= PQ_DICT_PAD;
      int64_t dl = a->data_length;
      int32_t *off = a->offsets + pos;
      char *out = a->data;
      const char *src = dict->data;
      off[0] = (int32_t)dl;
      PQ_ROWS(
          {
            int32_t b = d[idx[k]];
            int32_t e = d[idx[k] + 1];
            if (pad && e - b <= PQ_DICT_PAD) memcpy(out + dl, src + b, PQ_DICT_PAD);
            else if (e > b) memcpy(out + dl, src + b, (size_t)(e - b)); /* data may be NULL if empty */
            dl += e - b;
            off[i + 1] = (int32_t)dl;
          },
          off[i + 1] = (int32_t)dl);
      a->data_length = dl;
      return TD_OK;
    }
    case TD_TYPE_BOOL:
      PQ_ROWS(td_bit_put(a->values, pos + i, td_bit_get(dict->values, idx[k])),
              td_bit_clear(a->values, pos + i));
      return TD_OK;
    case TD_TYPE_DECIMAL128:
      PQ_ROWS(memcpy(a->values + (pos + i) * 16, dict->values + (int64_t)idx[k] * 16, 16),
              memset(a->values + (pos + i) * 16, 0, 16));
      return TD_OK;
#define PQ_GATHER(T)                             \
  do {                                           \
    const T *s = (const T *)dict->values;        \
    T *o = (T *)a->values + pos;                 \
    PQ_ROWS(o[i] = s[idx[k]], o[i] = 0);         \
  } while (0)
    default:
      switch (td_type_width(a->type)) {
        case 1: PQ_GATHER(uint8_t); break;
        case 2: PQ_GATHER(uint16_t); break;
        case 4: PQ_GATHER(uint32_t); break;
        default: PQ_GATHER(uint64_t); break;
      }
#undef PQ_GATHER
#undef PQ_ROWS
      return TD_OK;
  }
}

int pq_decode_dict(const pq_colinfo *ci, const td_array *dict, const uint8_t *p, int64_t len,
                   int64_t nn, int64_t rows, const uint8_t *defined, td_array *a, int64_t pos,
                   td_error *err) {
  (void)ci;
  if (nn == rows) defined = NULL;
  if (nn > 0 && !dict) return td_err(err, TD_EFORMAT, "dictionary-encoded page without a dictionary page");
  if (nn > 0 && len < 1) return td_err(err, TD_EFORMAT, "dictionary-encoded page has no bit width");
  int bw = nn > 0 ? p[0] : 0;
  if (bw > 32) return td_err(err, TD_EFORMAT, "dictionary index bit width %d exceeds 32", bw);
  /* Indices a block of rows at a time, gathered right away: no index
   * buffer, and the block stays in L1 between the two steps. */
  uint32_t idx[1024];
  pq_rle d;
  pq_rle_init(&d, nn > 0 ? p + 1 : p, nn > 0 ? len - 1 : 0, bw);
  static const td_array no_dict = {.type = TD_TYPE_NONE};
  for (int64_t done = 0; done < rows;) {
    int64_t m = rows - done < 1024 ? rows - done : 1024, k = m;
    if (defined) {
      k = 0;
      for (int64_t i = 0; i < m; i++) k += defined[done + i];
    }
    if (!pq_rle_u32(&d, idx, k))
      return td_err(err, TD_EFORMAT, "dictionary indices are truncated or malformed (%lld expected)",
                    (long long)nn);
    int rc = gather(dict ? dict : &no_dict, idx, k, defined ? defined + done : NULL, m, a, pos + done, err);
    if (rc) return rc;
    done += m;
  }
  return defined ? pq_put_validity(a, pos, rows, defined, err) : TD_OK;
}

int pq_decode_dict_codes(int64_t n_dict, const uint8_t *p, int64_t len, int64_t nn, int64_t rows,
                         const uint8_t *defined, td_array *a, int64_t pos, td_error *err) {
  if (nn == rows) defined = NULL;
  if (nn > 0 && len < 1) return td_err(err, TD_EFORMAT, "dictionary-encoded page has no bit width");
  int bw = nn > 0 ? p[0] : 0;
  if (bw > 32) return td_err(err, TD_EFORMAT, "dictionary index bit width %d exceeds 32", bw);
  int rc = reserve_rows(a, pos + rows, err);
  if (rc) return rc;
  /* The nn indices go to the last nn rows, then move forward to their
   * rows (a row's index never lies before the row: nothing is overwritten
   * before it is read). */
  uint32_t *out = (uint32_t *)a->values + pos, *idx = out + (rows - nn);
  pq_rle d;
  pq_rle_init(&d, nn > 0 ? p + 1 : p, nn > 0 ? len - 1 : 0, bw);
  if (!pq_rle_u32(&d, idx, nn))
    return td_err(err, TD_EFORMAT, "dictionary indices are truncated or malformed (%lld expected)", (long long)nn);
  if (!td_codes_below(idx, nn, (uint64_t)n_dict)) {
    uint32_t hi = 0;
    for (int64_t i = 0; i < nn; i++) hi = idx[i] > hi ? idx[i] : hi;
    return td_err(err, TD_EFORMAT, "dictionary index %u out of range (dictionary has %lld values)", hi,
                  (long long)n_dict);
  }
  if (!defined) return TD_OK;
  int64_t i = 0, k = 0;
  for (; i + 8 <= rows && k + 8 <= nn; i += 8) { /* 8 rows at a time */
    uint64_t f;
    memcpy(&f, defined + i, 8);
    f &= 0x0101010101010101ull;
    uint32_t t[8]; /* read before any row is written: the indices may overlap the rows */
    if (f == 0x0101010101010101ull) { /* 8 defined ones: one move */
      memcpy(t, idx + k, sizeof t);
      memcpy(out + i, t, sizeof t);
      k += 8;
      continue;
    }
    /* Byte j of `before` counts the defined rows ahead of row i + j (the
     * bytes' running sums, at most 8: no carries), so the 8 loads are
     * independent; a null row reads an index it does not keep (at most
     * k + 7 < nn) and writes 0. */
    uint64_t sums = f * 0x0101010101010101ull, before = sums << 8;
    for (int j = 0; j < 8; j++) t[j] = idx[k + (int64_t)((before >> (8 * j)) & 0xff)];
    for (int j = 0; j < 8; j++) out[i + j] = t[j] & (0u - (uint32_t)((f >> (8 * j)) & 1));
    k += (int64_t)(sums >> 56);
  }
  while (k < nn) { /* up to the last defined row */
    uint32_t v = idx[k];
    out[i] = defined[i] ? v : 0;
    k += defined[i];
    i++;
  }
  for (; i < rows; i++) out[i] = 0;
  return pq_put_validity(a, pos, rows, defined, err);
}

/* ---- DELTA_BINARY_PACKED ---- */

typedef struct delta_hdr {
  uint64_t block, miniblocks, total;
  int64_t first;
} delta_hdr;

/* Walks all values of a DELTA_BINARY_PACKED stream, storing the first `max`
 * into out; *n_out receives the header's total count, *used the bytes
 * consumed. */
static int delta_decode(const uint8_t *p, int64_t len, int64_t max, uint64_t *out, int64_t *n_out,
                        int64_t *used, td_error *err) {
  const uint8_t *q = p, *end = p + len;
  delta_hdr h;
  if (!uvarint(&q, end, &h.block) || !uvarint(&q, end, &h.miniblocks) ||
      !uvarint(&q, end, &h.total) || !zvarint(&q, end, &h.first))
    return td_err(err, TD_EFORMAT, "DELTA_BINARY_PACKED header is truncated");
  if (h.block == 0 || h.block % 128 || h.block > (1u << 20) || h.miniblocks == 0 ||
      h.block % h.miniblocks || (h.block / h.miniblocks) % 32)
    return td_err(err, TD_EFORMAT, "DELTA_BINARY_PACKED block size %llu / %llu miniblocks is invalid",
                  (unsigned long long)h.block, (unsigned long long)h.miniblocks);
  if (h.total > (uint64_t)INT32_MAX) return td_err(err, TD_EFORMAT, "DELTA_BINARY_PACKED count too large");
  int64_t total = (int64_t)h.total, want = total < max ? total : max;
  *n_out = total;
  uint64_t vpm = h.block / h.miniblocks, value = (uint64_t)h.first;
  int64_t got = 0;
  if (total > 0) {
    if (want > 0) out[0] = value;
    got = 1;
  }
  while (got < total) {
    int64_t min_delta;
    if (!zvarint(&q, end, &min_delta) || (uint64_t)(end - q) < h.miniblocks)
      return td_err(err, TD_EFORMAT, "DELTA_BINARY_PACKED block header is truncated");
    const uint8_t *widths = q;
    q += h.miniblocks;
    for (uint64_t m = 0; m < h.miniblocks && got < total; m++) {
      int bw = widths[m];
      if (bw > 64) return td_err(err, TD_EFORMAT, "DELTA_BINARY_PACKED bit width %d exceeds 64", bw);
      int64_t bytes = (int64_t)(vpm * (uint64_t)bw / 8), avail = end - q;
      if (bytes > avail) {
        if ((int64_t)(total - got) * bw > avail * 8)
          return td_err(err, TD_EFORMAT, "DELTA_BINARY_PACKED miniblock is truncated");
        bytes = avail;
      }
      for (uint64_t i = 0; i < vpm && got < total; i++) {
        value += (uint64_t)min_delta + get_bits64(q, bytes, (int64_t)i * bw, bw);
        if (got < want) out[got] = value;
        got++;
      }
      q += bytes;
    }
  }
  *used = q - p;
  return TD_OK;
}

/* Decodes exactly nn values as int64 (wrapping) into a fresh buffer. */
static int delta_values(const uint8_t *p, int64_t len, int64_t nn, uint64_t **vals, int64_t *used,
                        td_error *err) {
  *vals = td_malloc((size_t)(nn ? nn : 1) * sizeof **vals);
  if (!*vals) return td_err_nomem(err, "decoding delta values");
  int64_t total = 0;
  int rc = delta_decode(p, len, nn, *vals, &total, used, err);
  if (!rc && total < nn)
    rc = td_err(err, TD_EFORMAT, "DELTA_BINARY_PACKED holds %lld values, %lld expected",
                (long long)total, (long long)nn);
  if (rc) {
    td_free(*vals);
    *vals = NULL;
  }
  return rc;
}

int pq_decode_delta(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                    td_array *a, int64_t pos, td_error *err) {
  if (ci->phys != PQ_INT32 && ci->phys != PQ_INT64)
    return td_err(err, TD_EFORMAT, "DELTA_BINARY_PACKED used for a non-integer column");
  uint64_t *v;
  int64_t used;
  int rc = delta_values(p, len, nn, &v, &used, err);
  if (rc) return rc;
  if (ci->phys == PQ_INT32) { /* narrow in place to packed int32 */
    uint8_t *b = (uint8_t *)v;
    for (int64_t i = 0; i < nn; i++) {
      uint32_t x = (uint32_t)v[i];
      memcpy(b + 4 * i, &x, 4);
    }
  }
  rc = fixed_from_physical(ci, (const uint8_t *)v, nn, a, pos, err);
  td_free(v);
  return rc;
}

/* ---- DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY ---- */

/* Decodes n lengths and checks them; *used = bytes of the length stream. */
static int delta_lengths(const uint8_t *p, int64_t len, int64_t nn, uint64_t **lens, int64_t *used,
                         int64_t *sum, td_error *err) {
  *sum = 0;
  int rc = delta_values(p, len, nn, lens, used, err);
  if (rc) return rc;
  int64_t s = 0;
  for (int64_t i = 0; i < nn; i++) {
    int64_t l = (int64_t)(*lens)[i];
    if (l < 0 || l > INT32_MAX || (s += l) > INT32_MAX) {
      td_free(*lens);
      *lens = NULL;
      return td_err(err, TD_EFORMAT, "invalid byte array length %lld", (long long)l);
    }
  }
  *sum = s;
  return TD_OK;
}

int pq_decode_delta_length(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                           td_array *a, int64_t pos, td_error *err) {
  if (ci->phys != PQ_BYTE_ARRAY)
    return td_err(err, TD_EFORMAT, "DELTA_LENGTH_BYTE_ARRAY used for a non-byte-array column");
  if (ci->conv != PQ_CV_BYTES)
    return td_err(err, TD_EUNSUPPORTED, "DELTA_LENGTH_BYTE_ARRAY is not supported for a DECIMAL column");
  uint64_t *lens;
  int64_t used = 0, sum = 0;
  int rc = delta_lengths(p, len, nn, &lens, &used, &sum, err);
  if (rc) return rc;
  if (sum > len - used) {
    rc = td_err(err, TD_EFORMAT, "DELTA_LENGTH_BYTE_ARRAY data is truncated");
  } else if (!(rc = reserve_rows(a, pos + nn, err)) && !(rc = reserve_strings(a, sum, err))) {
    memcpy(a->data + a->data_length, p + used, (size_t)sum);
    int32_t *off = a->offsets + pos;
    int64_t dl = a->data_length;
    off[0] = (int32_t)dl;
    for (int64_t i = 0; i < nn; i++) off[i + 1] = (int32_t)(dl += (int64_t)lens[i]);
    a->data_length = dl;
  }
  td_free(lens);
  return rc;
}

int pq_decode_delta_byte_array(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                               td_array *a, int64_t pos, td_error *err) {
  if (ci->phys != PQ_BYTE_ARRAY && ci->conv != PQ_CV_FLBA)
    return td_err(err, TD_EFORMAT, "DELTA_BYTE_ARRAY used for a non-byte-array column");
  if (ci->conv != PQ_CV_BYTES && ci->conv != PQ_CV_FLBA)
    return td_err(err, TD_EUNSUPPORTED, "DELTA_BYTE_ARRAY is not supported for a DECIMAL column");
  uint64_t *pre = NULL, *suf = NULL;
  int64_t used1 = 0, used2 = 0, sum = 0;
  int rc = delta_values(p, len, nn, &pre, &used1, err);
  if (!rc) rc = delta_lengths(p + used1, len - used1, nn, &suf, &used2, &sum, err);
  if (rc) goto done;
  const uint8_t *data = p + used1 + used2;
  if (sum > len - used1 - used2) {
    rc = td_err(err, TD_EFORMAT, "DELTA_BYTE_ARRAY suffix data is truncated");
    goto done;
  }
  /* Check the prefixes and size the output before copying. */
  int64_t total = 0, prev = 0;
  for (int64_t i = 0; i < nn; i++) {
    if (pre[i] > (uint64_t)prev) {
      rc = td_err(err, TD_EFORMAT, "DELTA_BYTE_ARRAY prefix %llu longer than the previous value (%lld)",
                  (unsigned long long)pre[i], (long long)prev);
      goto done;
    }
    prev = (int64_t)pre[i] + (int64_t)suf[i];
    if (ci->conv == PQ_CV_FLBA && prev != ci->pw) {
      rc = td_err(err, TD_EFORMAT, "DELTA_BYTE_ARRAY value of %lld bytes in a FIXED_LEN_BYTE_ARRAY(%d) column",
                  (long long)prev, ci->pw);
      goto done;
    }
    if ((total += prev) > PQ_MAX_PAGE_STRING_BYTES) {
      rc = td_err(err, TD_EUNSUPPORTED, "a DELTA_BYTE_ARRAY page expands beyond %lld bytes",
                  (long long)PQ_MAX_PAGE_STRING_BYTES);
      goto done;
    }
  }
  if ((rc = reserve_rows(a, pos + nn, err)) || (rc = reserve_strings(a, total, err))) goto done;
  int32_t *off = a->offsets + pos;
  int64_t dl = a->data_length, last = dl;
  off[0] = (int32_t)dl;
  for (int64_t i = 0; i < nn; i++) {
    memmove(a->data + dl, a->data + last, (size_t)pre[i]);
    memcpy(a->data + dl + pre[i], data, (size_t)suf[i]);
    data += suf[i];
    last = dl;
    dl += (int64_t)(pre[i] + suf[i]);
    off[i + 1] = (int32_t)dl;
  }
  a->data_length = dl;
done:
  td_free(pre);
  td_free(suf);
  return rc;
}

/* ---- BYTE_STREAM_SPLIT ---- */

int pq_decode_byte_stream_split(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                                td_array *a, int64_t pos, td_error *err) {
  int w = ci->pw;
  if (w == 0) return td_err(err, TD_EFORMAT, "BYTE_STREAM_SPLIT used for a variable-width column");
  int64_t stride = len / w;
  if (stride < nn)
    return td_err(err, TD_EFORMAT, "BYTE_STREAM_SPLIT data has %lld values, %lld expected",
                  (long long)stride, (long long)nn);
  uint8_t *tmp = td_malloc((size_t)(nn ? nn : 1) * (size_t)w);
  if (!tmp) return td_err_nomem(err, "decoding BYTE_STREAM_SPLIT");
  for (int k = 0; k < w; k++) {
    const uint8_t *s = p + (int64_t)k * stride;
    for (int64_t i = 0; i < nn; i++) tmp[i * w + k] = s[i];
  }
  int rc = fixed_from_physical(ci, tmp, nn, a, pos, err);
  td_free(tmp);
  return rc;
}

/* ---- boolean RLE ---- */

int pq_decode_bool_rle(const uint8_t *p, int64_t len, int64_t nn, td_array *a, int64_t pos,
                       td_error *err) {
  uint32_t n;
  if (len < 4) return td_err(err, TD_EFORMAT, "RLE boolean data has no length prefix");
  memcpy(&n, p, 4);
  if (n > (uint64_t)(len - 4)) return td_err(err, TD_EFORMAT, "RLE boolean length %u exceeds the page", n);
  uint32_t *v = td_malloc((size_t)(nn ? nn : 1) * sizeof *v);
  if (!v) return td_err_nomem(err, "decoding RLE booleans");
  pq_rle d;
  pq_rle_init(&d, p + 4, n, 1);
  int rc = pq_rle_u32(&d, v, nn) ? reserve_rows(a, pos + nn, err)
                                  : td_err(err, TD_EFORMAT, "RLE boolean data is truncated");
  if (!rc)
    for (int64_t i = 0; i < nn; i++) td_bit_put(a->values, pos + i, v[i] != 0);
  td_free(v);
  return rc;
}

/* ---- nulls ---- */

int pq_scatter_nulls(td_array *a, int64_t pos, int64_t rows, int64_t nn, const uint8_t *defined,
                     td_error *err) {
  int rc = reserve_rows(a, pos + rows, err);
  if (rc) return rc;
  if (nn == rows) return TD_OK;
  int64_t k = nn;
  switch (a->type) {
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY: {
      int32_t *off = a->offsets + pos;
      for (int64_t i = rows - 1; i >= 0; i--) {
        if (defined[i]) k--;
        off[i + 1] = off[k + (defined[i] ? 1 : 0)];
      }
      break;
    }
    case TD_TYPE_BOOL:
      for (int64_t i = rows - 1; i >= 0; i--) {
        bool v = defined[i] ? td_bit_get(a->values, pos + --k) : false;
        td_bit_put(a->values, pos + i, v);
      }
      break;
#define PQ_SCATTER(T)                                         \
  do {                                                        \
    T *v = (T *)a->values + pos;                              \
    for (int64_t i = rows - 1; i >= 0; i--) {                 \
      if (defined[i]) v[i] = v[--k];                          \
      else v[i] = 0;                                          \
    }                                                         \
  } while (0)
    case TD_TYPE_DECIMAL128: {
      uint8_t *v = a->values + pos * 16;
      for (int64_t i = rows - 1; i >= 0; i--) {
        if (defined[i]) memmove(v + i * 16, v + --k * 16, 16);
        else memset(v + i * 16, 0, 16);
      }
      break;
    }
    default:
      switch (td_type_width(a->type)) {
        case 1: PQ_SCATTER(uint8_t); break;
        case 2: PQ_SCATTER(uint16_t); break;
        case 4: PQ_SCATTER(uint32_t); break;
        default: PQ_SCATTER(uint64_t); break;
      }
#undef PQ_SCATTER
  }
  return pq_put_validity(a, pos, rows, defined, err);
}

int pq_put_validity(td_array *a, int64_t pos, int64_t rows, const uint8_t *defined, td_error *err) {
  int rc;
  if (!a->validity) {
    int64_t len = a->length;
    a->length = a->capacity;
    rc = td_array_set_null(a, pos, err); /* allocates the bitmap */
    a->length = len;
    if (rc) return rc;
    td_bit_set(a->validity, pos);
    a->null_count--;
  }
  int64_t i = 0, nulls = 0;
  for (; i < rows && ((pos + i) & 7); i++) {
    td_bit_put(a->validity, pos + i, defined[i]);
    nulls += !defined[i];
  }
  for (; i + 8 <= rows; i += 8) { /* whole bytes of the bitmap: eight flags (bit 0 of each byte) at once */
    uint64_t w;
    memcpy(&w, defined + i, 8);
    w &= 0x0101010101010101u;
    /* flag j (bit 8j) times 2^(7(7-j)+7) lands on bit 56+j; the other
     * products land on distinct bits below 56, so nothing carries in */
    a->validity[(pos + i) >> 3] = (uint8_t)((w * 0x0102040810204080u) >> 56);
    nulls += 8 - (int64_t)((w * 0x0101010101010101u) >> 56); /* the bytes' sum in the top byte */
  }
  for (; i < rows; i++) {
    td_bit_put(a->validity, pos + i, defined[i]);
    nulls += !defined[i];
  }
  a->null_count += nulls;
  return TD_OK;
}
