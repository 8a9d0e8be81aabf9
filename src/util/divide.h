/*
 * util/divide.h - division of many int64 values by one divisor without a
 * divide instruction: a multiply by a precomputed reciprocal and a shift
 * (Granlund and Montgomery, "Division by invariant integers using
 * multiplication", 1994, theorem 4.2, for dividends below 2^63).  A
 * hardware 64-bit divide costs tens of cycles a row; this costs a few, and
 * the loops using it (x % constant, x // constant over a batch) are bound by
 * memory again.  A signed dividend x enters as |x| - 1 when negative (below
 * 2^63 even for INT64_MIN) and the result is corrected by one.
 */
#ifndef TD_UTIL_DIVIDE_H
#define TD_UTIL_DIVIDE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct td_sdiv {
  uint64_t d, m; /* |divisor|, ceil(2^(63 + l) / d) with l = ceil(log2 d) */
  int sh;        /* l - 1 */
} td_sdiv;

/* The reciprocal of a divisor of magnitude d, 2 <= d <= 2^63 (the caller
 * handles +-1: a remainder of 0, the dividend or its negation). */
static inline td_sdiv td_sdiv_make(uint64_t d) {
  const int l = 64 - __builtin_clzll(d - 1); /* ceil(log2 d), >= 1 */
  /* m * d - 2^(63 + l) < d <= 2^l: exact below 2^63; m < 2^64 as d > 2^(l - 1) */
  const unsigned __int128 p = (unsigned __int128)1 << (63 + l);
  td_sdiv u = {d, (uint64_t)((p - 1) / d) + 1, l - 1};
  return u;
}

/* a / d rounded down, for a < 2^63. */
static inline uint64_t td_sdiv_uquot(const td_sdiv *u, uint64_t a) {
  return (uint64_t)(((unsigned __int128)u->m * a) >> 64) >> u->sh;
}

/* The C remainder x % y (y = +-d): the sign of x, INT64_MIN included. */
static inline int64_t td_sdiv_rem(const td_sdiv *u, int64_t x) {
  const uint64_t s = (uint64_t)(x >> 63); /* all ones when x < 0 */
  const uint64_t a = (uint64_t)x ^ s;     /* x, or |x| - 1 */
  uint64_t r = a - td_sdiv_uquot(u, a) * u->d + (s & 1); /* |x| mod d, or d */
  r = r == u->d ? 0 : r;
  return (int64_t)((r ^ s) - s);
}

/* The C quotient x / y (toward zero), y = -d when neg else d.  INT64_MIN
 * divided by -1 never comes here (d >= 2). */
static inline int64_t td_sdiv_quot(const td_sdiv *u, bool neg, int64_t x) {
  const uint64_t s = (uint64_t)(x >> 63), a = (uint64_t)x ^ s;
  uint64_t q = td_sdiv_uquot(u, a);
  q += (s & 1) & (a - q * u->d + 1 == u->d); /* |x| = a + 1 reached the next multiple */
  const uint64_t sg = s ^ (neg ? ~(uint64_t)0 : 0);
  return (int64_t)((q ^ sg) - sg);
}

/* x[i] % d (quot false) or x[i] / d (C: toward zero) into out[i] for a
 * prefix of the n rows, four at a time in AVX2 doubles (util/divide.c),
 * when every x[i] is in [0, 2^52) and 2 <= |d| < 2^52 on a CPU with AVX2;
 * returns how many rows it did (a multiple of 4; 0 when it does not apply),
 * the rest are the caller's. */
int64_t td_div_const_batch(const int64_t *x, int64_t n, int64_t d, bool quot, int64_t *out);

#endif
