/*
 * util/half.h - internal: IEEE 754 half-precision floats (Parquet FLOAT16,
 * Arrow Float16) widened exactly to float32.
 */
#ifndef TD_UTIL_HALF_H
#define TD_UTIL_HALF_H

#include <math.h>
#include <stdint.h>

static inline float td_half_to_float(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) v = ldexpf((float)mant, -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = ldexpf((float)(mant | 0x400), exp - 25);
  return sign ? -v : v;
}

#endif
