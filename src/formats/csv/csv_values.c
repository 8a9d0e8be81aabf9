/*
 * formats/csv/csv_values.c - text to bool, integers, floats and timestamps,
 * and the per-column type inference built on them.
 */
#include "formats/csv/csv_values.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

static bool word_is(const char *s, int64_t n, const char *word) {
  int64_t k = (int64_t)strlen(word);
  if (n != k) return false;
  for (int64_t i = 0; i < n; i++)
    if (lower(s[i]) != word[i]) return false;
  return true;
}

bool csv_parse_bool(const char *s, int64_t n, bool allow_digits, bool *out) {
  if (word_is(s, n, "true")) *out = true;
  else if (word_is(s, n, "false")) *out = false;
  else if (allow_digits && n == 1 && (s[0] == '0' || s[0] == '1')) *out = s[0] == '1';
  else return false;
  return true;
}

csv_int_result csv_parse_int(const char *s, int64_t n, int64_t *out, bool *leading_zero) {
  int64_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i == n) return CSV_INT_SYNTAX;
  *leading_zero = (n - i > 1 && s[i] == '0');
  const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t v = 0;
  for (; i < n; i++) {
    if (!is_digit(s[i])) return CSV_INT_SYNTAX;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10) {
      for (i++; i < n; i++)
        if (!is_digit(s[i])) return CSV_INT_SYNTAX;
      return CSV_INT_OVERFLOW;
    }
    v = v * 10 + d;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return CSV_INT_OK;
}

/* A decimal number split into sign, up to 19 significant digits and a power
 * of ten.  `truncated`: more significant digits than were kept. */
typedef struct decimal {
  bool neg;
  bool truncated;
  bool leading_zero; /* integer part like "007" */
  bool integer;      /* no fraction and no exponent */
  uint64_t mant;
  int64_t exp10;
} decimal;

typedef enum { NUM_BAD, NUM_DECIMAL, NUM_NAN, NUM_INF } num_kind;

static void add_digit(decimal *d, int *kept, char c, bool fraction) {
  unsigned v = (unsigned)(c - '0');
  if (*kept < 19) {
    d->mant = d->mant * 10 + v;
    if (d->mant) (*kept)++;
    if (fraction) d->exp10--;
  } else {
    if (v) d->truncated = true;
    if (!fraction) d->exp10++;
  }
}

static num_kind scan_number(const char *s, int64_t n, decimal *d) {
  memset(d, 0, sizeof *d);
  int64_t i = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) d->neg = s[i++] == '-';
  if (word_is(s + i, n - i, "nan")) return NUM_NAN;
  if (word_is(s + i, n - i, "inf") || word_is(s + i, n - i, "infinity")) return NUM_INF;
  int kept = 0;
  int64_t int_begin = i, digits = 0;
  for (; i < n && is_digit(s[i]); i++, digits++) add_digit(d, &kept, s[i], false);
  d->leading_zero = (i - int_begin > 1 && s[int_begin] == '0');
  d->integer = true;
  if (i < n && s[i] == '.') {
    d->integer = false;
    for (i++; i < n && is_digit(s[i]); i++, digits++) add_digit(d, &kept, s[i], true);
  }
  if (digits == 0) return NUM_BAD;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    d->integer = false;
    i++;
    bool eneg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    if (i == n || !is_digit(s[i])) return NUM_BAD;
    int64_t e = 0;
    for (; i < n && is_digit(s[i]); i++)
      if (e < 100000) e = e * 10 + (s[i] - '0');
    d->exp10 += eneg ? -e : e;
  }
  return i == n ? NUM_DECIMAL : NUM_BAD;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The slow path: the C library on a NUL-terminated copy. */
static bool parse_libc(const char *s, int64_t n, bool single, double *out) {
  char buf[512];
  if (n >= (int64_t)sizeof buf) return false;
  memcpy(buf, s, (size_t)n);
  buf[n] = '\0';
  char *endp;
  *out = single ? (double)strtof(buf, &endp) : strtod(buf, &endp);
  return endp == buf + n;
}

bool csv_parse_f64(const char *s, int64_t n, double *out) {
  decimal d;
  switch (scan_number(s, n, &d)) {
    case NUM_BAD: return false;
    case NUM_NAN: *out = NAN; return true;
    case NUM_INF: *out = d.neg ? -INFINITY : INFINITY; return true;
    case NUM_DECIMAL: break;
  }
  /* Both operands exact, one rounding: correctly rounded (Clinger). */
  if (!d.truncated && d.mant <= ((uint64_t)1 << 53) && d.exp10 >= -22 && d.exp10 <= 22) {
    double v = (double)d.mant;
    v = d.exp10 < 0 ? v / pow10_exact[-d.exp10] : v * pow10_exact[d.exp10];
    *out = d.neg ? -v : v;
    return true;
  }
  return parse_libc(s, n, false, out);
}

bool csv_parse_f32(const char *s, int64_t n, float *out) {
  decimal d;
  switch (scan_number(s, n, &d)) {
    case NUM_BAD: return false;
    case NUM_NAN: *out = NAN; return true;
    case NUM_INF: *out = d.neg ? -INFINITY : INFINITY; return true;
    case NUM_DECIMAL: break;
  }
  if (!d.truncated && d.mant <= ((uint64_t)1 << 24) && d.exp10 >= -10 && d.exp10 <= 10) {
    float v = (float)d.mant;
    float p = (float)pow10_exact[d.exp10 < 0 ? -d.exp10 : d.exp10];
    v = d.exp10 < 0 ? v / p : v * p;
    *out = d.neg ? -v : v;
    return true;
  }
  double v;
  if (!parse_libc(s, n, true, &v)) return false;
  *out = (float)v;
  return true;
}

/* Reads exactly k digits at s. */
static bool digits_at(const char *s, int k, int *out) {
  int v = 0;
  for (int i = 0; i < k; i++) {
    if (!is_digit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count
 * whole 400-year cycles from year 0 (March-based years put Feb 29 last). */
static int64_t days_from_civil(int y, int m, int d) {
  int64_t yy = m <= 2 ? y - 1 : y;
  int64_t cycle = (yy >= 0 ? yy : yy - 399) / 400;
  int64_t year_of_cycle = yy - cycle * 400;
  int64_t month_from_march = m > 2 ? m - 3 : m + 9;
  int64_t day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
  int64_t day_of_cycle =
      year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
  return cycle * 146097 + day_of_cycle - 719468;
}

/* Parses "Z" or an offset "+HH:MM", "+HHMM" or "+HH" (and "-"), the whole
 * rest of the text, as seconds (DuckDB and PostgreSQL write "+00"). */
static bool parse_offset(const char *s, int64_t n, int64_t *secs) {
  if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
    *secs = 0;
    return true;
  }
  int hh, mm = 0;
  if ((n != 3 && n != 5 && n != 6) || (s[0] != '+' && s[0] != '-') || (n == 6 && s[3] != ':')) return false;
  if (!digits_at(s + 1, 2, &hh) || (n > 3 && !digits_at(s + n - 2, 2, &mm)) || hh > 23 || mm > 59) return false;
  *secs = (hh * 3600 + mm * 60) * (s[0] == '-' ? -1 : 1);
  return true;
}

bool csv_parse_timestamp(const char *s, int64_t n, int64_t *ns, bool *has_tz) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (n < 10 || !digits_at(s, 4, &y) || s[4] != '-' || !digits_at(s + 5, 2, &mo) ||
      s[7] != '-' || !digits_at(s + 8, 2, &d))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo)) return false;
  int64_t i = 10, frac = 0, offset = 0;
  *has_tz = false;
  if (n > 10) {
    if (n < 19 || (s[10] != 'T' && s[10] != ' ') || !digits_at(s + 11, 2, &h) || s[13] != ':' ||
        !digits_at(s + 14, 2, &mi) || s[16] != ':' || !digits_at(s + 17, 2, &sec))
      return false;
    if (h > 23 || mi > 59 || sec > 59) return false;
    i = 19;
    if (i < n && s[i] == '.') {
      int k = 0;
      for (i++; i < n && is_digit(s[i]); i++, k++) {
        if (k == 9) return false;
        frac = frac * 10 + (s[i] - '0');
      }
      if (k == 0) return false;
      for (; k < 9; k++) frac *= 10;
    }
    if (i < n) {
      if (!parse_offset(s + i, n - i, &offset)) return false;
      *has_tz = true;
    }
  }
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
  if (secs > INT64_MAX / 1000000000 - 1 || secs < INT64_MIN / 1000000000 + 1) return false;
  *ns = secs * 1000000000 + frac;
  return true;
}

enum { CAN_BOOL = 1, CAN_INT = 2, CAN_FLOAT = 4, CAN_TS = 8 };

void csv_infer_init(csv_infer *c) {
  c->mask = CAN_BOOL | CAN_INT | CAN_FLOAT | CAN_TS;
  c->seen = false;
  c->tz = false;
}

/* Which numeric types the text is, without losing anything: "007" and
 * integers beyond int64 are neither (they stay text). */
static unsigned numeric_kinds(const char *s, int64_t n) {
  decimal d;
  num_kind k = scan_number(s, n, &d);
  if (k == NUM_NAN || k == NUM_INF) return CAN_FLOAT;
  if (k == NUM_BAD || d.leading_zero) return 0;
  if (!d.integer) return CAN_FLOAT;
  int64_t v;
  bool lz;
  return csv_parse_int(s, n, &v, &lz) == CSV_INT_OK ? CAN_INT | CAN_FLOAT : 0;
}

void csv_infer_add(csv_infer *c, const char *s, int64_t n) {
  c->seen = true;
  unsigned m = c->mask, ok = 0;
  if (!m) return;
  bool b;
  if ((m & CAN_BOOL) && csv_parse_bool(s, n, false, &b)) ok |= CAN_BOOL;
  if (m & (CAN_INT | CAN_FLOAT)) ok |= numeric_kinds(s, n);
  int64_t ts;
  bool tz;
  if ((m & CAN_TS) && csv_parse_timestamp(s, n, &ts, &tz)) {
    ok |= CAN_TS;
    if (tz) c->tz = true;
  }
  c->mask = m & ok;
}

td_type_id csv_infer_type(const csv_infer *c, const char **tz) {
  *tz = NULL;
  if (!c->seen) return TD_TYPE_UTF8;
  if (c->mask & CAN_BOOL) return TD_TYPE_BOOL;
  if (c->mask & CAN_INT) return TD_TYPE_INT64;
  if (c->mask & CAN_FLOAT) return TD_TYPE_FLOAT64;
  if (c->mask & CAN_TS) {
    if (c->tz) *tz = "UTC";
    return TD_TYPE_TIMESTAMP;
  }
  return TD_TYPE_UTF8;
}
