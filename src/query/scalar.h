/*
 * query/scalar.h - internal: scalar semantics shared by the row evaluator,
 * constant folding and the vectorized evaluator (for constant operands).
 */
#ifndef TD_QUERY_SCALAR_H
#define TD_QUERY_SCALAR_H

#include "query/expr.h"
#include "util/decimal.h"

/* Arithmetic (+ - * /) or comparison of two non-null-typed scalars; the
 * result has type `type` (int64/float64 for arithmetic, bool for
 * comparisons) and is null when an operand is null or on division by 0.
 * False when an int64 result overflows (then *out is null). */
bool td__scalar_binary(td_op op, td_type_id type, const td_value *a, const td_value *b,
                       td_value *out);
/* 3-valued AND / OR / NOT. */
td_value td__scalar_logic(td_op op, const td_value *a, const td_value *b);
/* Negation of a numeric scalar into `type`; *overflow is set when an int64
 * result does not exist (-INT64_MIN). */
td_value td__scalar_neg(td_type_id type, const td_value *a, bool *overflow);
/* The error of an integer operation whose result leaves int64: TD_ERANGE
 * at e->pos, naming the expression as the user wrote it ("integer overflow
 * in 'a * b' ..."). */
int td__overflow_error(const td_expr *e, td_error *err);

/* a / d for a span and an integer, rounded half to even (as DuckDB
 * divides an INTERVAL): 0, or 1 when d is 0 (the result is NULL), 2 when
 * the quotient leaves int64 (INT64_MIN / -1: an overflow error). */
static inline int td__span_div(int64_t a, int64_t d, int64_t *out) {
  if (d == 0) return 1;
  if (d == -1 && a == INT64_MIN) return 2;
  int64_t q = a / d, r = a % d;
  uint64_t ar = r < 0 ? (uint64_t)0 - (uint64_t)r : (uint64_t)r, ad = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
  if (ar * 2 > ad || (ar * 2 == ad && (q & 1))) q += ((r < 0) != (d < 0)) ? -1 : 1;
  *out = q;
  return 0;
}

/* Whether arithmetic typed `t` works on int64 values: int64, and the
 * durations and timestamps of span arithmetic (bind.c). */
static inline bool td__int_result(td_type_id t) {
  return t == TD_TYPE_INT64 || td_type_is_duration(t) || td_type_is_timestamp(t);
}

static inline bool td__is_intlike(td_type_id t) {
  return td_type_is_integer(t) || td_type_is_temporal(t) || td_type_is_duration(t);
}
static inline double td__value_double(const td_value *v) {
  if (td_type_is_float(v->type)) return v->v.f;
  if (v->type == TD_TYPE_BOOL) return v->v.b;
  if (v->type == TD_TYPE_DECIMAL128) return (double)td_dec_of(v) / (double)td_dec_pow10(v->scale); /* its scale */
  return (double)v->v.i;
}

#endif
