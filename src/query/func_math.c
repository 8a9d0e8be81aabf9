/*
 * query/func_math.c - numeric functions of the registry: abs, sign, round,
 * floor, ceil, trunc, sqrt, cbrt, ln, log10, log2, exp, pow, isnan, isinf,
 * isfinite.  Integer
 * arguments keep integer results where DuckDB does (abs, sign, round,
 * floor, ceil, trunc); square roots and logarithms of numbers outside their
 * domain are errors, as in DuckDB.
 */
#include <math.h>
#include <string.h>

#include "query/func.h"
#include "query/scalar.h"
#include "query/vec.h"
#include "util/error.h"

static int bind_nums(td_expr *e, td_error *err) {
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = td__func_want_num(e, i, err);
    if (rc) return rc;
  }
  return TD_OK;
}

/* The result keeps integers (int64) or is float64. */
static int bind_same(td_expr *e, td_error *err) {
  int rc = bind_nums(e, err);
  e->type = td_type_is_integer(e->args[0]->type) ? TD_TYPE_INT64 : TD_TYPE_FLOAT64;
  return rc;
}

static int bind_float(td_expr *e, td_error *err) {
  int rc = bind_nums(e, err);
  e->type = TD_TYPE_FLOAT64;
  return rc;
}

/* isnan(x), isinf(x), isfinite(x): of a number as float64 (DuckDB) */
static int bind_float_test(td_expr *e, td_error *err) {
  int rc = bind_nums(e, err);
  e->type = TD_TYPE_BOOL;
  return rc;
}

static int row_float_test(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  double x = td__value_double(&a[0]);
  const char *n = e->fn->name;
  *out = td_value_bool(n[2] == 'n' ? isnan(x) : n[2] == 'i' ? isinf(x) : isfinite(x));
  return TD_OK;
}

static int bind_round(td_expr *e, td_error *err) {
  int rc = bind_same(e, err);
  if (!rc && e->n_args > 1 && !td_type_is_integer(e->args[1]->type) && e->args[1]->type != TD_TYPE_NONE)
    rc = td__func_arg_error(e, 1, "an integer", err);
  return rc;
}

enum { OP_ABS, OP_SIGN, OP_FLOOR, OP_TRUNC, OP_CEIL, OP_ROUND, OP_ROUND_TO };

/* Which of abs ... round node e is (round with digits: OP_ROUND_TO). */
static int float_kind(const td_expr *e) {
  const char *n = e->fn->name;
  if (strcmp(n, "abs") == 0) return OP_ABS;
  if (strcmp(n, "sign") == 0) return OP_SIGN;
  if (strcmp(n, "floor") == 0) return OP_FLOOR;
  if (strcmp(n, "trunc") == 0) return OP_TRUNC;
  if (n[0] == 'c') return OP_CEIL; /* ceil, ceiling */
  return e->n_args > 1 ? OP_ROUND_TO : OP_ROUND;
}

/* The float64 result of op k on x (p: 10 to round's digits). */
static double float_op(int k, double x, double p) {
  switch (k) {
    case OP_ABS: return fabs(x);
    case OP_SIGN: return (x > 0) - (x < 0);
    case OP_FLOOR: return floor(x);
    case OP_TRUNC: return trunc(x);
    case OP_CEIL: return ceil(x);
    case OP_ROUND: return round(x);
    default: {
      double r = round(x * p) / p;
      return isfinite(r) ? r : x;
    }
  }
}

static int row_int_or_float(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                            td_error *err) {
  const char *n = e->fn->name;
  if (e->type == TD_TYPE_INT64) {
    int64_t x = a[0].v.i;
    if (strcmp(n, "abs") == 0) {
      if (x == INT64_MIN) return td__overflow_error(e, err);
      x = x < 0 ? -x : x;
    } else if (strcmp(n, "sign") == 0) {
      x = (x > 0) - (x < 0);
    } else if (strcmp(n, "round") == 0 && e->n_args > 1 && a[1].v.i < 0) {
      int64_t p = 1;
      for (int64_t k = 0; k < -a[1].v.i && p <= INT64_MAX / 10; k++) p *= 10;
      double r = round((double)x / (double)p) * (double)p;
      x = (int64_t)r;
    }
    *out = td_value_int(TD_TYPE_INT64, x); /* floor, ceil, trunc, round of an integer */
    return TD_OK;
  }
  double p = e->n_args > 1 ? pow(10.0, (double)a[1].v.i) : 1;
  *out = td_value_double(TD_TYPE_FLOAT64, float_op(float_kind(e), td__value_double(&a[0]), p));
  return TD_OK;
}

/* The float64 results of abs ... round over a whole non-constant float64
 * batch (round's digits a constant): what row_int_or_float gives each row. */
static int vec_float_op(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  const td_vec *x = &args[0];
  if (e->type != TD_TYPE_FLOAT64 || x->is_const || x->ph != TD_PHYS_F64) return TD_OK;
  if (e->n_args > 1 && (!args[1].is_const || args[1].c.is_null || args[1].ph != TD_PHYS_I64)) return TD_OK;
  double p = e->n_args > 1 ? pow(10.0, (double)args[1].c.v.i) : 1;
  int k = float_kind(e);
  void *buf;
  int rc = td__vec_make(out, TD_PHYS_F64, n, x, &buf, err);
  if (rc) return rc;
  double *r = buf;
  for (int64_t i = 0; i < n; i++) r[i] = float_op(k, x->f64[i], p);
  *done = true;
  return TD_OK;
}

static int domain_error(const td_expr *e, const char *what, td_error *err) {
  return td_err_at(err, TD_ERANGE, e->pos, "cannot take the %s at offset %lld", what, (long long)e->pos);
}

static int row_float(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                     td_error *err) {
  const char *n = e->fn->name;
  double x = td__value_double(&a[0]), r;
  if (strcmp(n, "sqrt") == 0) {
    if (x < 0) return domain_error(e, "square root of a negative number", err);
    r = sqrt(x);
  } else if (strcmp(n, "cbrt") == 0) {
    r = cbrt(x);
  } else if (strcmp(n, "exp") == 0) {
    r = exp(x);
  } else if (n[0] == 'l') { /* ln, log, log10, log2 */
    if (x < 0) return domain_error(e, "logarithm of a negative number", err);
    if (x == 0) return domain_error(e, "logarithm of zero", err);
    r = strcmp(n, "ln") == 0 ? log(x) : strcmp(n, "log2") == 0 ? log2(x) : log10(x);
  } else { /* pow, power */
    r = pow(x, td__value_double(&a[1]));
  }
  *out = td_value_double(TD_TYPE_FLOAT64, r);
  return TD_OK;
}

const td_func td__funcs_math[] = {
    TD_FN_VEC("abs", 1, 1, bind_same, row_int_or_float, true, false, vec_float_op),
    TD_FN_VEC("sign", 1, 1, bind_same, row_int_or_float, true, false, vec_float_op),
    TD_FN_VEC("round", 1, 2, bind_round, row_int_or_float, true, false, vec_float_op),
    TD_FN_VEC("floor", 1, 1, bind_same, row_int_or_float, true, false, vec_float_op),
    TD_FN_VEC("ceil", 1, 1, bind_same, row_int_or_float, true, false, vec_float_op),
    TD_FN_VEC("ceiling", 1, 1, bind_same, row_int_or_float, true, false, vec_float_op),
    TD_FN_VEC("trunc", 1, 1, bind_same, row_int_or_float, true, false, vec_float_op),
    TD_FN("sqrt", 1, 1, bind_float, row_float, true, false),
    TD_FN("cbrt", 1, 1, bind_float, row_float, true, false),
    TD_FN("exp", 1, 1, bind_float, row_float, true, false),
    TD_FN("ln", 1, 1, bind_float, row_float, true, false),
    TD_FN("log", 1, 1, bind_float, row_float, true, false),
    TD_FN("log10", 1, 1, bind_float, row_float, true, false),
    TD_FN("log2", 1, 1, bind_float, row_float, true, false),
    TD_FN("isnan", 1, 1, bind_float_test, row_float_test, true, false),
    TD_FN("isinf", 1, 1, bind_float_test, row_float_test, true, false),
    TD_FN("isfinite", 1, 1, bind_float_test, row_float_test, true, false),
    TD_FN("pow", 2, 2, bind_float, row_float, true, false),
    TD_FN("power", 2, 2, bind_float, row_float, true, false),
    {NULL, 0, 0, NULL, NULL, false, false, NULL, NULL, NULL}};
