/*
 * util/divide.c - x % d and x / d over a batch of non-negative int64
 * dividends below 2^52, four at a time in AVX2 doubles (see divide.h).
 *
 * Below 2^52 an integer is exact as a double, and its double is built from
 * its bits with one OR and one subtraction (2^52 + x has x as its mantissa),
 * so no int64 <-> double conversion instruction is needed (AVX2 has none).
 * q = trunc(x * (1/d)) is the quotient or one less: the two roundings
 * err by at most 2^-52 of x/d, which is less than 1/d below 2^52, so the
 * product never reaches the next integer, though it may fall just short of
 * an exact one (x a multiple of 49, say).  r = x - q * d is exact (every
 * term is an integer below 2^53) and in [0, 2d); one step puts it in
 * [0, d) and q with it.  Non-x86 builds and CPUs without AVX2 do nothing
 * here (the caller goes on with the reciprocal of divide.h).
 */
#include "util/divide.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2"))) static int64_t div_avx2(const int64_t *x, int64_t n, int64_t d, bool quot,
                                                       int64_t *out) {
  const uint64_t ad = d < 0 ? -(uint64_t)d : (uint64_t)d;
  const __m256d magic = _mm256_set1_pd(4503599627370496.0); /* 2^52 */
  const __m256i magic_bits = _mm256_castpd_si256(magic);
  const __m256d dd = _mm256_set1_pd((double)ad), inv = _mm256_set1_pd(1.0 / (double)ad);
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256i sign = _mm256_set1_epi64x(d < 0 ? -1 : 0);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256i xi = _mm256_loadu_si256((const __m256i *)(x + i));
    __m256d xd = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(xi, magic_bits)), magic);
    __m256d q = _mm256_round_pd(_mm256_mul_pd(xd, inv), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_sub_pd(xd, _mm256_mul_pd(q, dd));
    __m256d over = _mm256_cmp_pd(r, dd, _CMP_GE_OQ); /* q one short */
    __m256i v;
    if (quot) {
      q = _mm256_add_pd(q, _mm256_and_pd(over, one));
      v = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(q, magic)), magic_bits);
      v = _mm256_sub_epi64(_mm256_xor_si256(v, sign), sign); /* negated for a negative divisor */
    } else {
      r = _mm256_sub_pd(r, _mm256_and_pd(over, dd));
      v = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(r, magic)), magic_bits);
    }
    _mm256_storeu_si256((__m256i *)(out + i), v);
  }
  return i;
}
#endif

int64_t td_div_const_batch(const int64_t *x, int64_t n, int64_t d, bool quot, int64_t *out) {
#if defined(__x86_64__) && defined(__GNUC__)
  const uint64_t ad = d < 0 ? -(uint64_t)d : (uint64_t)d;
  if (n < 4 || ad < 2 || ad >= (uint64_t)1 << 52 || !__builtin_cpu_supports("avx2")) return 0;
  uint64_t any = 0; /* every dividend in [0, 2^52): no bit above the 52nd */
  for (int64_t i = 0; i < n; i++) any |= (uint64_t)x[i];
  return any >> 52 ? 0 : div_avx2(x, n, d, quot, out);
#else
  (void)x, (void)n, (void)d, (void)quot, (void)out;
  return 0;
#endif
}
