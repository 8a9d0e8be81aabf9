/*
 * query/eval_row.c - the row-at-a-time evaluator: reference semantics for
 * every operator (SQL three-valued logic), used for constant folding,
 * partition predicates and as the oracle of the vectorized code in tests.
 */
#include <string.h>

#include "query/func.h"
#include "query/inset.h"
#include "query/scalar.h"
#include "util/alloc.h"
#include "util/error.h"

static int cmp3(const td_value *a, const td_value *b) {
  if (td_type_is_varlen(a->type)) {
    size_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
    int c = n ? memcmp(a->v.s.ptr, b->v.s.ptr, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return a->v.s.len < b->v.s.len ? -1 : a->v.s.len > b->v.s.len;
  }
  if (a->type == TD_TYPE_BOOL) return (int)a->v.b - (int)b->v.b;
  if (td__is_intlike(a->type) && td__is_intlike(b->type))
    return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
  double x = td__value_double(a), y = td__value_double(b);
  if (x < y) return -1;
  if (x > y) return 1;
  return x == y ? 0 : 2; /* unordered (NaN): only != holds */
}

static bool cmp_holds(td_op op, int c) {
  if (c == 2) return op == TD_OP_NE;
  switch (op) {
    case TD_OP_EQ: return c == 0;
    case TD_OP_NE: return c != 0;
    case TD_OP_LT: return c < 0;
    case TD_OP_LE: return c <= 0;
    case TD_OP_GT: return c > 0;
    default: return c >= 0;
  }
}

bool td__scalar_binary(td_op op, td_type_id type, const td_value *a, const td_value *b,
                       td_value *out) {
  *out = td_value_null(type);
  if (a->is_null || b->is_null || a->type == TD_TYPE_NONE || b->type == TD_TYPE_NONE) return true;
  if (op >= TD_OP_EQ && op <= TD_OP_GE) {
    *out = td_value_bool(cmp_holds(op, cmp3(a, b)));
    return true;
  }
  if (td__int_result(type) && op == TD_OP_DIV) { /* a span / an integer */
    int64_t r;
    int k = td__span_div(a->v.i, b->v.i, &r);
    if (k == 0) *out = td_value_int(type, r);
    return k != 2;
  }
  if (td__int_result(type)) { /* int64, spans, timestamps (bind_span_arith) */
    int64_t r;
    bool o = op == TD_OP_ADD   ? __builtin_add_overflow(a->v.i, b->v.i, &r)
             : op == TD_OP_SUB ? __builtin_sub_overflow(a->v.i, b->v.i, &r)
                               : __builtin_mul_overflow(a->v.i, b->v.i, &r);
    if (o) return false;
    *out = td_value_int(type, r);
    return true;
  }
  double x = td__value_double(a), y = td__value_double(b);
  if (op == TD_OP_DIV && y == 0) return true;
  double r = op == TD_OP_ADD ? x + y : op == TD_OP_SUB ? x - y : op == TD_OP_MUL ? x * y : x / y;
  *out = td_value_double(TD_TYPE_FLOAT64, r);
  return true;
}

int td__overflow_error(const td_expr *e, td_error *err) {
  char *text = NULL;
  td_error tmp;
  if (td_expr_print(e, &text, &tmp) != TD_OK) text = NULL;
  int rc = td_err_at(err, TD_ERANGE, e->pos,
                     "integer overflow in '%.200s' at offset %lld: the result does not fit in int64",
                     text ? text : "?", (long long)e->pos);
  td_free(text);
  return rc;
}

td_value td__scalar_logic(td_op op, const td_value *a, const td_value *b) {
  bool an = a->is_null || a->type == TD_TYPE_NONE;
  if (op == TD_OP_NOT) return an ? td_value_null(TD_TYPE_BOOL) : td_value_bool(!a->v.b);
  bool bn = b->is_null || b->type == TD_TYPE_NONE;
  bool dominant = op == TD_OP_OR; /* the value that decides alone */
  if ((!an && a->v.b == dominant) || (!bn && b->v.b == dominant)) return td_value_bool(dominant);
  if (an || bn) return td_value_null(TD_TYPE_BOOL);
  return td_value_bool(!dominant);
}

td_value td__scalar_neg(td_type_id type, const td_value *a, bool *overflow) {
  if (a->is_null || a->type == TD_TYPE_NONE) return td_value_null(type);
  if (td__int_result(type)) { /* int64, or a span */
    int64_t r;
    if (__builtin_sub_overflow((int64_t)0, a->v.i, &r)) {
      *overflow = true;
      return td_value_null(type);
    }
    return td_value_int(type, r);
  }
  return td_value_double(TD_TYPE_FLOAT64, -td__value_double(a));
}

static int eval_in(const td_expr *e, const td_value *row, td_value *out, td_error *err) {
  td_value x, item, eq;
  int rc = td_expr_eval_row(e->args[0], row, &x, err);
  if (rc) return rc;
  bool saw_null = false, found = false;
  if (e->in_set) { /* one lookup (inset.h) */
    if (x.is_null || x.type == TD_TYPE_NONE) saw_null = true;
    else found = td__in_set_has(e->in_set, &x);
    saw_null |= td__in_set_has_null(e->in_set);
  }
  for (int64_t i = 1; !e->in_set && i < e->n_args && !found; i++) {
    rc = td_expr_eval_row(e->args[i], row, &item, err);
    if (rc) return rc;
    td__scalar_binary(TD_OP_EQ, TD_TYPE_BOOL, &x, &item, &eq);
    if (eq.is_null) saw_null = true;
    else found = eq.v.b;
  }
  td_value r = found ? td_value_bool(true) : saw_null ? td_value_null(TD_TYPE_BOOL)
                                                      : td_value_bool(false);
  *out = e->negated ? td__scalar_logic(TD_OP_NOT, &r, NULL) : r;
  return TD_OK;
}

static int eval_between(const td_expr *e, const td_value *row, td_value *out, td_error *err) {
  td_value x, lo, hi, a, b;
  int rc = td_expr_eval_row(e->args[0], row, &x, err);
  if (!rc) rc = td_expr_eval_row(e->args[1], row, &lo, err);
  if (!rc) rc = td_expr_eval_row(e->args[2], row, &hi, err);
  if (rc) return rc;
  td__scalar_binary(TD_OP_GE, TD_TYPE_BOOL, &x, &lo, &a);
  td__scalar_binary(TD_OP_LE, TD_TYPE_BOOL, &x, &hi, &b);
  td_value r = td__scalar_logic(TD_OP_AND, &a, &b);
  *out = e->negated ? td__scalar_logic(TD_OP_NOT, &r, NULL) : r;
  return TD_OK;
}

static int eval_binary(const td_expr *e, const td_value *row, td_value *out, td_error *err) {
  td_value a, b;
  int rc = td_expr_eval_row(e->args[0], row, &a, err);
  if (!rc) rc = td_expr_eval_row(e->args[1], row, &b, err);
  if (rc) return rc;
  if (e->op == TD_OP_AND || e->op == TD_OP_OR) *out = td__scalar_logic(e->op, &a, &b);
  else if (!td__scalar_binary(e->op, e->type, &a, &b, out)) return td__overflow_error(e, err);
  return TD_OK;
}

int td_expr_eval_row(const td_expr *e, const td_value *row, td_value *out, td_error *err) {
  td_value a;
  int rc;
  if (e->fn) return td__func_eval_row(e, row, out, err);
  switch (e->kind) {
    case TD_EXPR_LITERAL:
      *out = e->lit;
      if (out->is_null) out->type = e->type;
      return TD_OK;
    case TD_EXPR_COLUMN:
      if (!row || e->column < 0)
        return td_err_at(err, TD_EINVAL, e->pos, "column '%s' has no value here", e->name);
      *out = row[e->column];
      if (out->is_null || out->type == TD_TYPE_NONE) *out = td_value_null(e->type);
      return TD_OK;
    case TD_EXPR_UNARY: {
      rc = td_expr_eval_row(e->args[0], row, &a, err);
      if (rc) return rc;
      bool overflow = false;
      *out = e->op == TD_OP_NOT ? td__scalar_logic(TD_OP_NOT, &a, NULL)
                                : td__scalar_neg(e->type, &a, &overflow);
      return overflow ? td__overflow_error(e, err) : TD_OK;
    }
    case TD_EXPR_BINARY: return eval_binary(e, row, out, err);
    case TD_EXPR_IN: return eval_in(e, row, out, err);
    case TD_EXPR_BETWEEN: return eval_between(e, row, out, err);
    case TD_EXPR_IS_NULL:
      rc = td_expr_eval_row(e->args[0], row, &a, err);
      if (rc) return rc;
      *out = td_value_bool((a.is_null || a.type == TD_TYPE_NONE) != e->negated);
      return TD_OK;
    case TD_EXPR_CALL: break;
  }
  return td_err_at(err, TD_EINVAL, e->pos, "aggregate '%s' cannot be evaluated row by row",
                   e->name ? e->name : "?");
}
