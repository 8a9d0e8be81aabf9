/*
 * query/func_math.c - numeric functions of the registry: abs, sign, round,
 * floor, ceil, trunc, sqrt, cbrt, ln, log10, log2, exp, pow.  Integer
 * arguments keep integer results where DuckDB does (abs, sign, round,
 * floor, ceil, trunc); square roots and logarithms of numbers outside their
 * domain are errors, as in DuckDB.
 */
#include <math.h>
#include <string.h>

#include "query/func.h"
#include "query/scalar.h"
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

static int bind_round(td_expr *e, td_error *err) {
  int rc = bind_same(e, err);
  if (!rc && e->n_args > 1 && !td_type_is_integer(e->args[1]->type) && e->args[1]->type != TD_TYPE_NONE)
    rc = td__func_arg_error(e, 1, "an integer", err);
  return rc;
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
  double x = td__value_double(&a[0]), r;
  if (strcmp(n, "abs") == 0) r = fabs(x);
  else if (strcmp(n, "sign") == 0) r = (x > 0) - (x < 0);
  else if (strcmp(n, "floor") == 0) r = floor(x);
  else if (strcmp(n, "trunc") == 0) r = trunc(x);
  else if (n[0] == 'c') r = ceil(x); /* ceil, ceiling */
  else if (e->n_args > 1) {
    double p = pow(10.0, (double)a[1].v.i);
    r = round(x * p) / p;
    if (!isfinite(r)) r = x;
  } else r = round(x);
  *out = td_value_double(TD_TYPE_FLOAT64, r);
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
    TD_FN("abs", 1, 1, bind_same, row_int_or_float, true, false),
    TD_FN("sign", 1, 1, bind_same, row_int_or_float, true, false),
    TD_FN("round", 1, 2, bind_round, row_int_or_float, true, false),
    TD_FN("floor", 1, 1, bind_same, row_int_or_float, true, false),
    TD_FN("ceil", 1, 1, bind_same, row_int_or_float, true, false),
    TD_FN("ceiling", 1, 1, bind_same, row_int_or_float, true, false),
    TD_FN("trunc", 1, 1, bind_same, row_int_or_float, true, false),
    TD_FN("sqrt", 1, 1, bind_float, row_float, true, false),
    TD_FN("cbrt", 1, 1, bind_float, row_float, true, false),
    TD_FN("exp", 1, 1, bind_float, row_float, true, false),
    TD_FN("ln", 1, 1, bind_float, row_float, true, false),
    TD_FN("log", 1, 1, bind_float, row_float, true, false),
    TD_FN("log10", 1, 1, bind_float, row_float, true, false),
    TD_FN("log2", 1, 1, bind_float, row_float, true, false),
    TD_FN("pow", 2, 2, bind_float, row_float, true, false),
    TD_FN("power", 2, 2, bind_float, row_float, true, false),
    {NULL, 0, 0, NULL, NULL, false, false, NULL, NULL, NULL}};
