/*
 * util/decimal.c - decimal128 arithmetic helpers and exact text conversion
 * (see decimal.h).
 */
#include "util/decimal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

td_value td_dec_value(int precision, int scale, td_i128 x) {
  td_value v;
  memset(&v, 0, sizeof v);
  v.type = TD_TYPE_DECIMAL128;
  v.precision = (uint8_t)precision;
  v.scale = (uint8_t)scale;
  unsigned __int128 u = (unsigned __int128)x;
  v.v.d.lo = (uint64_t)u;
  v.v.d.hi = (int64_t)(uint64_t)(u >> 64);
  return v;
}

td_value td_value_decimal(int precision, int scale, uint64_t lo, int64_t hi) {
  return td_dec_value(precision, scale, (td_i128)(((unsigned __int128)(uint64_t)hi << 64) | lo));
}

td_i128 td_dec_pow10(int n) {
  td_i128 p = 1;
  for (int i = 0; i < n && i < 38; i++) p *= 10;
  return p;
}

bool td_dec_fits(td_i128 x, int precision) {
  td_i128 lim = td_dec_pow10(precision);
  return x < lim && x > -lim;
}

size_t td_dec_format(td_i128 x, int scale, char *buf, size_t size) {
  char digits[48];
  int n = 0;
  bool neg = x < 0;
  unsigned __int128 u = neg ? -(unsigned __int128)x : (unsigned __int128)x;
  do {
    digits[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  while (n <= scale) digits[n++] = '0'; /* at least one digit before the point */
  char text[64];
  int k = 0;
  if (neg) text[k++] = '-';
  for (int i = n - 1; i >= 0; i--) {
    text[k++] = digits[i];
    if (i == scale && scale > 0) text[k++] = '.';
  }
  text[k] = 0;
  int w = snprintf(buf, size, "%s", text);
  return w < 0 ? 0 : (size_t)w;
}

bool td_dec_parse(const char *s, size_t len, int precision, int scale, td_i128 *out) {
  size_t i = 0;
  while (i < len && isspace((unsigned char)s[i])) i++;
  while (len > i && isspace((unsigned char)s[len - 1])) len--;
  bool neg = false;
  if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  /* digits, optional point and digits, optional exponent */
  char dig[128];
  int nd = 0, point = -1;
  bool any = false;
  for (; i < len; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      any = true;
      if (nd == 0 && c == '0' && point < 0) continue; /* leading zeros */
      if (nd >= (int)sizeof dig) return false;
      dig[nd++] = c;
    } else if (c == '.' && point < 0) {
      point = nd;
    } else {
      break;
    }
  }
  if (!any) return false;
  if (point < 0) point = nd;
  long exp = 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    if (i >= len) return false;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
      if ((exp = exp * 10 + (s[i] - '0')) > 1000) return false;
    if (eneg) exp = -exp;
  }
  if (i != len) return false;
  /* value = 0.dig * 10^(point + exp); we want dig as an integer of `scale` fraction digits */
  long int_digits = point + exp; /* digits before the point */
  td_i128 v = 0;
  for (long k = 0; k < int_digits + scale; k++) {
    int d = k < nd ? dig[k] - '0' : 0;
    if (k >= 0 && v > (td_dec_pow10(38) - 1 - d) / 10) return false;
    v = v * 10 + d;
  }
  for (long k = int_digits + scale < 0 ? 0 : int_digits + scale; k < nd; k++)
    if (dig[k] != '0') return false; /* more fraction digits than the scale holds */
  if (int_digits + scale < 0) v = 0;
  if (!td_dec_fits(v, precision)) return false;
  *out = neg ? -v : v;
  return true;
}

bool td_dec_params(const char *param, int *precision, int *scale) {
  if (!param) return false;
  char *end;
  long p = strtol(param, &end, 10);
  if (end == param || *end != ',') return false;
  const char *q = end + 1;
  long sc = strtol(q, &end, 10);
  if (end == q) return false;
  if (*end == ',') {
    const char *b = end + 1;
    long bits = strtol(b, &end, 10);
    if (end == b || bits != 128) return false;
  }
  if (*end) return false;
  if (p < 1 || p > TD_DECIMAL128_MAX_PRECISION || sc < 0 || sc > p) return false;
  *precision = (int)p;
  *scale = (int)sc;
  return true;
}

void td_dec_param_text(int precision, int scale, char *buf, size_t size) {
  snprintf(buf, size, "%d,%d", precision, scale);
}
