/*
 * keys/value.c - scalar values: constructors, ordering, hashing, formatting.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/schema.h"
#include "keys/keys.h"
#include "keys/shortest.h"
#include "util/decimal.h"

td_value td_value_null(td_type_id type) {
  td_value v;
  memset(&v, 0, sizeof v);
  v.type = type;
  v.is_null = true;
  return v;
}

td_value td_value_bool(bool b) {
  td_value v = td_value_null(TD_TYPE_BOOL);
  v.is_null = false;
  v.v.b = b;
  return v;
}

td_value td_value_int(td_type_id type, int64_t i) {
  td_value v = td_value_null(type);
  v.is_null = false;
  v.v.i = i;
  return v;
}

td_value td_value_double(td_type_id type, double f) {
  td_value v = td_value_null(type);
  v.is_null = false;
  v.v.f = f;
  return v;
}

td_value td_value_str(const char *s) {
  td_value v = td_value_null(TD_TYPE_UTF8);
  v.is_null = false;
  v.v.s.ptr = s;
  v.v.s.len = strlen(s);
  return v;
}

static bool is_float(td_type_id t) { return t == TD_TYPE_FLOAT32 || t == TD_TYPE_FLOAT64; }

/* Values compared as 128-bit integers: decimals, and uint64 (v.d.hi is 0). */
static bool is_wide(td_type_id t) { return t == TD_TYPE_DECIMAL128 || t == TD_TYPE_UINT64; }

td_value td_value_uint64(uint64_t u) {
  td_value v = td_value_null(TD_TYPE_UINT64);
  v.is_null = false;
  v.v.u = u;
  return v;
}

/* x * 10^k (k >= 0) compared with y; exact (a product beyond 128 bits is
 * beyond every y, by its sign). */
static int dec_cmp_scaled(td_i128 x, int k, td_i128 y) {
  td_i128 xs;
  if (__builtin_mul_overflow(x, td_dec_pow10(k), &xs)) return x < 0 ? -1 : 1;
  return (xs > y) - (xs < y);
}

/* Exact comparison of two decimals (or a decimal and an integer, scale 0). */
int td_value_compare_decimal(const td_value *a, const td_value *b) {
  td_i128 x = is_wide(a->type) ? td_dec_of(a) : (td_i128)a->v.i;
  td_i128 y = is_wide(b->type) ? td_dec_of(b) : (td_i128)b->v.i;
  int sa = a->type == TD_TYPE_DECIMAL128 ? a->scale : 0, sb = b->type == TD_TYPE_DECIMAL128 ? b->scale : 0;
  if (sa <= sb) return dec_cmp_scaled(x, sb - sa, y);
  return -dec_cmp_scaled(y, sa - sb, x);
}

static double dec_to_double(const td_value *v) {
  return (double)td_dec_of(v) / (double)td_dec_pow10(v->scale);
}

int td_value_compare(const td_value *a, const td_value *b) {
  if (!a || !b) return (int)!!a - (int)!!b; /* NULL first */
  if (a->is_null || b->is_null) return (int)!a->is_null - (int)!b->is_null;
  if (td_type_is_varlen(a->type) || td_type_is_varlen(b->type)) {
    /* utf8, large_utf8, binary and large_binary compare bytewise */
    if (td_type_is_varlen(a->type) != td_type_is_varlen(b->type)) return a->type < b->type ? -1 : 1;
    size_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
    int c = n ? memcmp(a->v.s.ptr, b->v.s.ptr, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return (a->v.s.len > b->v.s.len) - (a->v.s.len < b->v.s.len);
  }
  if (a->type == TD_TYPE_BOOL || b->type == TD_TYPE_BOOL) {
    int x = a->type == TD_TYPE_BOOL ? a->v.b : (a->v.i != 0);
    int y = b->type == TD_TYPE_BOOL ? b->v.b : (b->v.i != 0);
    return (x > y) - (x < y);
  }
  if (is_float(a->type) || is_float(b->type)) {
    double x = is_float(a->type) ? a->v.f : is_wide(a->type) ? dec_to_double(a) : (double)a->v.i;
    double y = is_float(b->type) ? b->v.f : is_wide(b->type) ? dec_to_double(b) : (double)b->v.i;
    if (isnan(x) || isnan(y)) return (int)isnan(x) - (int)isnan(y); /* NaN sorts last */
    return (x > y) - (x < y);
  }
  if (is_wide(a->type) || is_wide(b->type)) return td_value_compare_decimal(a, b);
  return (a->v.i > b->v.i) - (a->v.i < b->v.i);
}

bool td_value_equal(const td_value *a, const td_value *b) {
  if (a->is_null || b->is_null) return a->is_null && b->is_null;
  return td_value_compare(a, b) == 0;
}

uint64_t td_hash_bytes(const void *data, size_t n, uint64_t seed) {
  /* FNV-1a, 64-bit; keys are short and hashed rarely. */
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ull ^ seed;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t td_value_hash(const td_value *v) {
  if (v->is_null) return 0x9e3779b97f4a7c15ull;
  switch (v->type) {
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_UTF8:
    case TD_TYPE_LARGE_BINARY: return td_hash_bytes(v->v.s.ptr, v->v.s.len, 1);
    case TD_TYPE_BOOL: return v->v.b ? 3 : 5;
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: {
      double d = v->v.f == 0 ? 0.0 : isnan(v->v.f) ? NAN : v->v.f; /* -0 == 0; every NaN alike */
      return td_hash_bytes(&d, sizeof d, 2);
    }
    case TD_TYPE_DECIMAL128: { /* equal values of different scales hash alike */
      td_i128 x = td_dec_of(v);
      int sc = v->scale;
      while (sc > 0 && x % 10 == 0) x /= 10, sc--;
      uint64_t h = td_hash_bytes(&x, sizeof x, 4);
      return td_hash_bytes(&sc, sizeof sc, h);
    }
    default: return td_hash_bytes(&v->v.i, sizeof v->v.i, 3);
  }
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

bool td_parse_date(const char *s, size_t n, int64_t *days) {
  /* YYYY-MM-DD, years 0001..9999 (a proleptic Gregorian calendar) */
  if (n != 10 || s[4] != '-' || s[7] != '-') return false;
  int v[3] = {0, 0, 0}, k = 0;
  for (size_t i = 0; i < 10; i++) {
    if (i == 4 || i == 7) {
      k++;
      continue;
    }
    if (s[i] < '0' || s[i] > '9') return false;
    v[k] = v[k] * 10 + (s[i] - '0');
  }
  static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y = v[0], m = v[1], d = v[2];
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap)) return false;
  /* days from civil (Howard Hinnant's algorithm) */
  int64_t yy = m <= 2 ? y - 1 : y;
  int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  int64_t yoe = yy - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *days = era * 146097 + doe - 719468;
  return true;
}

/* Two digits at a time, from the lowest pair (a division by 100 a pair
 * instead of by 10 a digit). */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* v (< 100) as two digits at p. */
static inline char *put2(char *p, unsigned v) {
  memcpy(p, digit_pairs + 2 * v, 2);
  return p + 2;
}

/* "YYYY-MM-DD" at p for a year of 0..9999 (the caller checks). */
static char *put_date(char *p, int64_t y, unsigned m, unsigned d) {
  p = put2(p, (unsigned)(y / 100));
  p = put2(p, (unsigned)(y % 100));
  *p++ = '-';
  p = put2(p, m);
  *p++ = '-';
  return put2(p, d);
}

/* "HH:MM:SS" at p (h < 100). */
static char *put_clock(char *p, unsigned h, unsigned mi, unsigned sec) {
  p = put2(p, h);
  *p++ = ':';
  p = put2(p, mi);
  *p++ = ':';
  return put2(p, sec);
}

/* The `digits` low digits of frac at p, zero-padded. */
static char *put_frac(char *p, int64_t frac, int digits) {
  for (int i = digits - 1; i >= 0; i--, frac /= 10) p[i] = (char)('0' + frac % 10);
  return p + digits;
}

size_t td_format_timestamp(int64_t ns, char *buf, size_t size) {
  const int64_t ns_per_day = 86400000000000LL;
  int64_t days = floor_div(ns, ns_per_day);
  int64_t rem = ns % ns_per_day; /* not ns - days * ns_per_day: near INT64_MIN that product overflows */
  if (rem < 0) rem += ns_per_day;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  int64_t secs = rem / 1000000000LL, frac = rem % 1000000000LL;
  if (y >= 0 && y <= 9999 && size > 30) { /* the digits written directly, as the format below gives */
    char *p = put_date(buf, y, m, d);
    *p++ = 'T';
    p = put_clock(p, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
    *p++ = '.';
    p = put_frac(p, frac, 9);
    *p++ = 'Z';
    *p = 0;
    return (size_t)(p - buf);
  }
  int n = snprintf(buf, size, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%09" PRId64 "Z", y, m, d,
                   (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), frac);
  return n < 0 ? 0 : (size_t)n;
}

/* (float)x, with IEEE's answer (+-inf) beyond the floats, where C's cast is undefined. */
static float to_float(double x) {
  return fabs(x) < 0x1.ffffffp127 ? (float)x : x < 0 ? -INFINITY : INFINITY;
}

/* The old way, kept for the few values whose shortest digits need not be the
 * nearest text of their length (see shortest_text): "%.*g" from 15 (float32:
 * 6) significant digits, at least the integer digits, up to 17, until the
 * text reads back as d, with the library's exact conversions. */
static int round_trip_text(double d, bool single, char *out, size_t size) {
  int first = fabs(d) >= 1 && fabs(d) < 1e16 ? (int)floor(log10(fabs(d))) + 1 : 1;
  int base = single ? 6 : 15, n = 0;
  for (int prec = first > base ? first : base; prec <= 17; prec++) {
    n = td_format_general(d, prec, out, size);
    double back = td_read_double(out, (size_t)n);
    if (single ? to_float(back) == to_float(d) : back == d) break;
  }
  return n;
}


size_t td_int_text(int64_t v, bool is_unsigned, char *p) {
  const bool neg = !is_unsigned && v < 0;
  uint64_t u = neg ? 0 - (uint64_t)v : (uint64_t)v;
  char t[TD_INT_TEXT];
  int i = TD_INT_TEXT;
  while (u >= 100) {
    const unsigned r = (unsigned)(u % 100) * 2;
    u /= 100;
    t[--i] = digit_pairs[r + 1];
    t[--i] = digit_pairs[r];
  }
  if (u >= 10) {
    t[--i] = digit_pairs[u * 2 + 1];
    t[--i] = digit_pairs[u * 2];
  } else {
    t[--i] = (char)('0' + u);
  }
  size_t n = 0;
  if (neg) p[n++] = '-';
  memcpy(p + n, t + i, (size_t)(TD_INT_TEXT - i));
  return n + (size_t)(TD_INT_TEXT - i);
}

/* Writes the decimal digits of u (> 0) at p, returns their count. */
static int put_uint(char *p, uint64_t u) { return (int)td_int_text((int64_t)u, true, p); }

/* The shortest %g text that reads back as the same float32/float64, with at
 * least the integer digits below 1e16 (300 prints "300", not "3e+02"), into
 * out (room for 48): the text the round trip "%.15g" (float32: "%.6g"), then
 * 16 and 17 digits (7, 8, 9), until one reads back as d, has always printed,
 * now laid out from the shortest digits of td_shortest_digits in one pass.
 * Those are that text's digits: an integer below 1e16 prints whole (%g at
 * >= its digit count); otherwise the interval of reals that read back as d is
 * symmetric about d, so the nearest text of n digits reads back as d exactly
 * when some text of n digits does, and the shortest such is the nearest (the
 * library breaks ties to even as printf does); 15 (6) digits hold at most one
 * text inside the interval, so "%.15g" prints the shortest digits when they
 * are fewer. The precision %g ran at is then max(15 (6), digits) (at least the
 * integer digits below 1e16, where it always prints fixed). A power of two has
 * a narrower interval below it, a subnormal's interval can hold several texts
 * of 15 (6) digits, and a float32 value that is no float has no such digits:
 * those take the round trip. */
static int shortest_text(double d, bool single, char *out, size_t size) {
  double a = fabs(d);
  char *p = out;
  if (isnan(d)) return (int)(stpcpy(out, "nan") - out);
  if (isinf(d)) return (int)(stpcpy(out, d < 0 ? "-inf" : "inf") - out);
  if (signbit(d)) *p++ = '-';
  if (a >= 1 && a < 1e16 && a == floor(a)) return (int)(p - out) + put_uint(p, (uint64_t)a);
  bool round_trip; /* a power of two, a subnormal, or a float32 value that is no float */
  if (single) {
    float f = to_float(d);
    uint32_t w;
    memcpy(&w, &f, sizeof w);
    round_trip = (double)f != d || (w & 0x7fffffu) == 0 || (w >> 23 & 0xffu) == 0;
  } else {
    uint64_t w;
    memcpy(&w, &d, sizeof w);
    round_trip = (w & 0xfffffffffffffu) == 0 || (w >> 52 & 0x7ffu) == 0;
  }
  if (a == 0) round_trip = false;
  char dig[24];
  int x, n = round_trip ? 0 : td_shortest_digits(d, single, dig, &x);
  if (n == 0) return round_trip_text(d, single, out, size);
  int prec = n > (single ? 6 : 15) ? n : (single ? 6 : 15);
  p += td_digits_text(p, dig, n, x, (a >= 1 && a < 1e16) || (x >= -4 && x < prec));
  return (int)(p - out);
}

size_t td_digits_text(char *p, const char *dig, int n, int x, bool fixed) {
  char *start = p;
  if (fixed && x < 0) {
    *p++ = '0';
    *p++ = '.';
    for (int i = -1; i > x; i--) *p++ = '0';
    memcpy(p, dig, (size_t)n);
    p += n;
  } else if (fixed) {
    for (int i = 0; i <= x || i < n; i++) {
      if (i == x + 1) *p++ = '.';
      *p++ = i < n ? dig[i] : '0';
    }
  } else {
    *p++ = dig[0];
    if (n > 1) {
      *p++ = '.';
      memcpy(p, dig + 1, (size_t)n - 1);
      p += n - 1;
    }
    *p++ = 'e';
    *p++ = x < 0 ? '-' : '+';
    int e = x < 0 ? -x : x;
    if (e < 10) *p++ = '0';
    p += put_uint(p, (uint64_t)e);
  }
  return (size_t)(p - start);
}

/* The k bytes of text t into buf as snprintf puts them (cut to size - 1
 * and terminated; nothing when size is 0); returns k. */
static size_t put_cut(const char *t, size_t k, char *buf, size_t size) {
  if (size) {
    const size_t c = k < size ? k : size - 1;
    memcpy(buf, t, c);
    buf[c] = '\0';
  }
  return k;
}

static int format_shortest(double d, bool single, char *buf, size_t size) {
  char tmp[48];
  int n = shortest_text(d, single, tmp, sizeof tmp);
  put_cut(tmp, (size_t)n, buf, size);
  return n;
}

size_t td_format_temporal(td_type_id type, int64_t v, char *buf, size_t size) {
  if (type == TD_TYPE_TIMESTAMP) return td_format_timestamp(v, buf, size);
  int64_t unit = td_type_unit_ns(type), secs, frac = 0;
  int digits = 0;
  if (unit >= 1000000000) {
    secs = type == TD_TYPE_DATE32 ? v * 86400 : v;
  } else {
    int64_t per = 1000000000 / unit;
    secs = floor_div(v, per);
    frac = v % per; /* v - secs * per without that product (it overflows near INT64_MIN) */
    if (frac < 0) frac += per;
    digits = unit == 1 ? 9 : unit == 1000 ? 6 : 3;
  }
  int64_t days = floor_div(secs, 86400), rem = secs % 86400, y; /* rem: without days * 86400 (overflows) */
  if (rem < 0) rem += 86400;
  unsigned m, d;
  int n = 0;
  bool is_time = type == TD_TYPE_TIME32_S || type == TD_TYPE_TIME32_MS || type == TD_TYPE_TIME64_US ||
                 type == TD_TYPE_TIME64_NS;
  if (!is_time && size > 32) { /* the digits written directly, as the formats below give */
    civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999) {
      char *p = put_date(buf, y, m, d);
      if (!(type == TD_TYPE_DATE32 || (type == TD_TYPE_DATE64 && rem == 0 && frac == 0))) {
        *p++ = 'T';
        p = put_clock(p, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
        if (digits) {
          *p++ = '.';
          p = put_frac(p, frac, digits);
        }
        *p++ = 'Z';
      }
      *p = 0;
      return (size_t)(p - buf);
    }
  }
  if (!is_time) {
    civil_from_days(days, &y, &m, &d);
    n = snprintf(buf, size, "%04" PRId64 "-%02u-%02u", y, m, d);
    /* a date64 at midnight is a plain date, like a date32 */
    if (type == TD_TYPE_DATE32 || (type == TD_TYPE_DATE64 && rem == 0 && frac == 0))
      return n < 0 ? 0 : (size_t)n;
    n += snprintf(buf + n, size > (size_t)n ? size - (size_t)n : 0, "T");
  } else {
    rem = secs; /* a time of day beyond 24 h (invalid input) prints as more hours */
  }
  char *p = buf + n;
  size_t left = size > (size_t)n ? size - (size_t)n : 0;
  int k = snprintf(p, left, "%02" PRId64 ":%02d:%02d", rem / 3600, (int)(rem / 60 % 60), (int)(rem % 60));
  if (k < 0) return 0;
  n += k;
  if (digits) n += snprintf(buf + n, size > (size_t)n ? size - (size_t)n : 0, ".%0*" PRId64, digits, frac);
  if (!is_time) n += snprintf(buf + n, size > (size_t)n ? size - (size_t)n : 0, "Z");
  return n < 0 ? 0 : (size_t)n;
}

size_t td_format_duration(td_type_id type, int64_t v, char *buf, size_t size) {
  int64_t unit = td_duration_unit_ns(type), per_sec = 1000000000 / (unit ? unit : 1);
  int64_t per_day = 86400 * per_sec; /* units per day: fits (86400e9 < 2^63) */
  int64_t days = v / per_day, rem = v % per_day; /* both toward zero: the signs agree (DuckDB) */
  bool neg = rem < 0;
  uint64_t r = neg ? (uint64_t)0 - (uint64_t)rem : (uint64_t)rem;
  int n = 0;
  if (days) n = snprintf(buf, size, "%" PRId64 " day%s", days, days == 1 || days == -1 ? "" : "s");
  if (days && !r) return n < 0 ? 0 : (size_t)n;
  uint64_t secs = r / (uint64_t)per_sec, frac = r % (uint64_t)per_sec;
  n += snprintf(buf + n, size > (size_t)n ? size - (size_t)n : 0, "%s%s%02" PRIu64 ":%02u:%02u", days ? " " : "",
                neg ? "-" : "", secs / 3600, (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
  if (frac) {
    int digits = unit == 1 ? 9 : unit == 1000 ? 6 : 3;
    while (frac % 10 == 0) frac /= 10, digits--;
    n += snprintf(buf + n, size > (size_t)n ? size - (size_t)n : 0, ".%0*" PRIu64, digits, frac);
  }
  return n < 0 ? 0 : (size_t)n;
}

size_t td_binary_format(const void *bytes, size_t len, char *buf, size_t size) {
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *p = bytes;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned c = p[i];
    bool plain = c >= 32 && c <= 126 && c != '\\' && c != '"' && c != '\'';
    char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
    for (int k = 0; k < (plain ? 1 : 4); k++) {
      if (n + 1 < size) buf[n] = plain ? (char)c : esc[k];
      n++;
    }
  }
  if (size) buf[n < size ? n : size - 1] = 0;
  return n;
}

size_t td_value_format(const td_value *v, char *buf, size_t size) {
  int n;
  if (!buf) size = 0;
  if (!v || v->is_null || v->type == TD_TYPE_NONE) n = snprintf(buf, size, "null");
  else switch (v->type) {
      case TD_TYPE_BOOL: n = snprintf(buf, size, "%s", v->v.b ? "true" : "false"); break;
      case TD_TYPE_FLOAT32:
      case TD_TYPE_FLOAT64: n = format_shortest(v->v.f, v->type == TD_TYPE_FLOAT32, buf, size); break;
      case TD_TYPE_BINARY:
      case TD_TYPE_LARGE_BINARY: return td_binary_format(v->v.s.ptr, v->v.s.len, buf, size);
      case TD_TYPE_UTF8:
      case TD_TYPE_LARGE_UTF8:
        n = snprintf(buf, size, "%.*s", (int)(v->v.s.len > 0x7fffffff ? 0x7fffffff : v->v.s.len),
                     v->v.s.ptr);
        break;
      case TD_TYPE_TIMESTAMP: return td_format_timestamp(v->v.i, buf, size);
      case TD_TYPE_DECIMAL128: return td_dec_format(td_dec_of(v), v->scale, buf, size);
      default:
        if (td_type_is_temporal(v->type)) return td_format_temporal(v->type, v->v.i, buf, size);
        if (td_type_is_duration(v->type)) return td_format_duration(v->type, v->v.i, buf, size);
        { /* integers (uint64's bits as unsigned): snprintf's contract, without it */
          char t[TD_INT_TEXT];
          return put_cut(t, td_int_text(v->v.i, v->type == TD_TYPE_UINT64, t), buf, size);
        }
    }
  return n < 0 ? 0 : (size_t)n;
}
