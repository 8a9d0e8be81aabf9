/*
 * util/divide.h - division of many 64-bit integers by one divisor without a
 * divide instruction: a multiply by a precomputed reciprocal and shifts
 * (Granlund and Montgomery, "Division by invariant integers using
 * multiplication", 1994, figure 4.1; exact for every unsigned dividend and
 * divisor >= 1).  A hardware 64-bit divide costs tens of cycles a row; this
 * costs a few, and the loops using it (x % constant, x // constant over a
 * batch) are bound by memory again.
 */
#ifndef TD_UTIL_DIVIDE_H
#define TD_UTIL_DIVIDE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct td_udiv {
  uint64_t d, m;
  int sh1, sh2;
} td_udiv;

/* The reciprocal of d (d >= 1). */
static inline td_udiv td_udiv_make(uint64_t d) {
  int l = d == 1 ? 0 : 64 - __builtin_clzll(d - 1); /* ceil(log2 d) */
  /* m = floor(2^64 (2^l - d) / d) + 1: 2^l - d < d, so it fits in 64 bits */
  unsigned __int128 num = (((unsigned __int128)1 << l) - d) << 64;
  td_udiv u = {d, (uint64_t)(num / d) + 1, l < 1 ? l : 1, l > 0 ? l - 1 : 0};
  return u;
}

/* n / d, rounded down. */
static inline uint64_t td_udiv_quot(const td_udiv *u, uint64_t n) {
  uint64_t t = (uint64_t)(((unsigned __int128)u->m * n) >> 64);
  return (t + ((n - t) >> u->sh1)) >> u->sh2;
}

/* The C remainder x % y of a signed dividend by the divisor u was made for
 * (|y|): the sign is the dividend's, as C's % (INT64_MIN included). */
static inline int64_t td_udiv_srem(const td_udiv *u, int64_t x) {
  uint64_t ux = x < 0 ? -(uint64_t)x : (uint64_t)x;
  uint64_t r = ux - td_udiv_quot(u, ux) * u->d;
  return x < 0 ? (int64_t)-r : (int64_t)r;
}

/* The C quotient x / y (truncated toward zero) of a signed dividend, u made
 * for |y|, neg whether y < 0.  INT64_MIN / -1 is the caller's to refuse. */
static inline int64_t td_udiv_squot(const td_udiv *u, bool neg, int64_t x) {
  uint64_t ux = x < 0 ? -(uint64_t)x : (uint64_t)x;
  uint64_t q = td_udiv_quot(u, ux);
  return (x < 0) != neg ? (int64_t)-q : (int64_t)q;
}

#endif
