/*
 * query/sel_int.c - `integer column OP constant` into a selection vector,
 * read straight from the column's own values (int8..int64, uint8..uint32,
 * the int32/int64 temporal types), without first widening the column into an
 * int64 vec.  The rows are those of the widened vec compared as int64: a
 * constant outside the column's range (an int32 column against 2^40) passes
 * every valid row or none, and one inside it is compared in the column's
 * own type (a loop the compiler vectorizes).  Without an incoming selection, 64
 * rows are compared into a byte per row, packed into one word of bits and
 * ANDed with the validity word; only the set bits are written out, so a
 * selective filter writes few indices.
 */
#include <stdint.h>
#include <string.h>

#include "query/vec.h"

#define SEL_INT_LOOPS(T, OPER)                                                     \
  do {                                                                             \
    const T *A = (const T *)c->values + c->offset;                                 \
    const T ct = (T)cv; /* in T's range: checked by the caller */                  \
    if (in) {                                                                      \
      for (int64_t j = 0; j < n; j++) {                                            \
        uint32_t i = in[j];                                                        \
        out[k] = i;                                                                \
        k += (A[i] OPER ct) & (!valid || td_bit_get(valid, off + i));     \
      }                                                                            \
      break;                                                                       \
    }                                                                              \
    int64_t i = 0;                                                                 \
    uint8_t hit[64];                                                               \
    for (; i + 64 <= n; i += 64) {                                                 \
      for (int t = 0; t < 64; t++) hit[t] = A[i + t] OPER ct;             \
      uint64_t m = td__pack64(hit);                                                \
      if (valid) m &= td__bits64(valid, off + i);                                  \
      k = td__sel_bits(m, (uint32_t)i, out, k);                                    \
    }                                                                              \
    for (; i < n; i++) {                                                           \
      out[k] = (uint32_t)i;                                                        \
      k += (A[i] OPER ct) & (!valid || td_bit_get(valid, off + i));       \
    }                                                                              \
  } while (0)

#define SEL_INT_OPS(T) OP_SWITCH(SEL_INT_LOOPS, T)

/* The valid rows of `in` (or 0..n): a comparison that every value passes. */
static int64_t valid_rows(const uint8_t *valid, int64_t off, const uint32_t *in, int64_t n, uint32_t *out) {
  int64_t k = 0;
  for (int64_t j = 0; j < n; j++) {
    uint32_t i = in ? in[j] : (uint32_t)j;
    out[k] = i;
    k += !valid || td_bit_get(valid, off + i);
  }
  return k;
}

/* The value range of the integer layouts read here, by column type; false
 * for another type. */
static bool int_range(td_type_id t, int64_t *lo, int64_t *hi) {
  switch (t) {
    case TD_TYPE_INT8: *lo = INT8_MIN, *hi = INT8_MAX; return true;
    case TD_TYPE_INT16: *lo = INT16_MIN, *hi = INT16_MAX; return true;
    case TD_TYPE_UINT8: *lo = 0, *hi = UINT8_MAX; return true;
    case TD_TYPE_UINT16: *lo = 0, *hi = UINT16_MAX; return true;
    case TD_TYPE_UINT32: *lo = 0, *hi = UINT32_MAX; return true;
    case TD_TYPE_INT32:
    case TD_TYPE_DATE32:
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS: *lo = INT32_MIN, *hi = INT32_MAX; return true;
    default:
      *lo = INT64_MIN, *hi = INT64_MAX;
      return t == TD_TYPE_INT64 || td_type_is_duration(t) || (td_type_is_temporal(t) && td_type_width(t) == 8);
  }
}

bool td__sel_int_column(td_op op, const td_colview *c, int64_t cv, const uint32_t *in, int64_t n, uint32_t *out,
                        int64_t *n_out) {
  int64_t lo, hi;
  if (c->codes || op < TD_OP_EQ || op > TD_OP_GE || !int_range(c->type, &lo, &hi)) return false;
  const uint8_t *valid = c->validity && c->null_count != 0 ? c->validity : NULL;
  int64_t off = c->offset, k = 0;
  if (cv < lo || cv > hi) { /* every value lies on one side of cv: all valid rows or none */
    bool all = op == TD_OP_NE || ((op == TD_OP_LT || op == TD_OP_LE) && cv > hi) ||
               ((op == TD_OP_GT || op == TD_OP_GE) && cv < lo);
    *n_out = all ? valid_rows(valid, off, in, n, out) : 0;
    return true;
  }
  switch (c->type) {
    case TD_TYPE_INT8: SEL_INT_OPS(int8_t); break;
    case TD_TYPE_INT16: SEL_INT_OPS(int16_t); break;
    case TD_TYPE_UINT8: SEL_INT_OPS(uint8_t); break;
    case TD_TYPE_UINT16: SEL_INT_OPS(uint16_t); break;
    case TD_TYPE_UINT32: SEL_INT_OPS(uint32_t); break;
    case TD_TYPE_INT64: SEL_INT_OPS(int64_t); break;
    default:
      if (hi == INT32_MAX) SEL_INT_OPS(int32_t)
      else SEL_INT_OPS(int64_t)
      break;
  }
  *n_out = k;
  return true;
}
