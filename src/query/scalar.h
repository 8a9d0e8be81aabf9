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

static inline bool td__is_intlike(td_type_id t) {
  return td_type_is_integer(t) || td_type_is_temporal(t);
}
static inline double td__value_double(const td_value *v) {
  if (td_type_is_float(v->type)) return v->v.f;
  if (v->type == TD_TYPE_BOOL) return v->v.b;
  if (v->type == TD_TYPE_DECIMAL128) return (double)td_dec_of(v) / (double)td_dec_pow10(v->scale); /* its scale */
  return (double)v->v.i;
}

#endif
