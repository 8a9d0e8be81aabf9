/*
 * util/hash.h - the 64-bit finalizer (murmur3's fmix64) that hash tables
 * of the query layer put keys and codes through: every input bit reaches
 * every output bit, so masking the low bits spreads keys that differ only
 * in their high bytes (a string's sort code, consecutive integers).
 */
#ifndef TD_UTIL_HASH_H
#define TD_UTIL_HASH_H

#include <stdint.h>

static inline uint64_t td_mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

#endif
