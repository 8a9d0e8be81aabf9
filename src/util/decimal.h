/*
 * util/decimal.h - internal: decimal128 values as 128-bit integers, exact
 * text conversion both ways, and the "p,s" type parameter of a decimal
 * column (kept in td_field.tz / td_expr.tz, so schemas carry it unchanged).
 */
#ifndef TD_UTIL_DECIMAL_H
#define TD_UTIL_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tabledata/types.h"

typedef __int128 td_i128;

static inline td_i128 td_dec_load(const void *p) {
  td_i128 x;
  memcpy(&x, p, 16); /* Arrow decimal128: little-endian two's complement */
  return x;
}
static inline void td_dec_store(void *p, td_i128 x) { memcpy(p, &x, 16); }
static inline td_i128 td_dec_of(const td_value *v) {
  return (td_i128)(((unsigned __int128)(uint64_t)v->v.d.hi << 64) | v->v.d.lo);
}
/* A decimal td_value of `precision`, `scale` holding x. */
td_value td_dec_value(int precision, int scale, td_i128 x);
/* 10^n for n in 0..38. */
td_i128 td_dec_pow10(int n);
/* Whether |x| < 10^precision. */
bool td_dec_fits(td_i128 x, int precision);
/* Writes x / 10^scale exactly ("-12.340"); returns the length snprintf
 * would (at most 41 characters + NUL). */
size_t td_dec_format(td_i128 x, int scale, char *buf, size_t size);
/* Parses decimal text ("-12.3", "1e3", "+.5") as a value of `scale`
 * digits after the point.  False when malformed, when it has non-zero
 * digits beyond `scale`, or when the result does not fit `precision`. */
bool td_dec_parse(const char *s, size_t len, int precision, int scale, td_i128 *out);
/* Parses a "p,s" (or "p,s,128") parameter: 1 <= p <= 38, 0 <= s <= p. */
bool td_dec_params(const char *param, int *precision, int *scale);
/* Writes the canonical "p,s" parameter into buf (at least 8 bytes). */
void td_dec_param_text(int precision, int scale, char *buf, size_t size);

#endif
