/*
 * query/func_math.c - numeric functions of the registry: abs, sign, round,
 * floor, ceil, trunc, sqrt, cbrt, ln, log (of x, or log(b, x)), log10, log2,
 * exp, pow, isnan, isinf, isfinite, the trigonometric functions, degrees,
 * radians, pi(), random(), gcd and lcm.  Integer
 * arguments keep integer results where DuckDB does (abs, sign, round,
 * floor, ceil, trunc, gcd, lcm); square roots, logarithms, asin, acos and
 * cot of numbers outside their domain are errors, as in DuckDB 1.x (the
 * semantics this project follows; DuckDB 2 gives NaN or infinities).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

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
  } else if (n[0] == 'l') { /* ln, log, log10, log2; log(b, x) */
    double b = 10;
    if (e->n_args == 2) b = x, x = td__value_double(&a[1]);
    if (x < 0 || b < 0) return domain_error(e, "logarithm of a negative number", err);
    if (x == 0 || b == 0) return domain_error(e, "logarithm of zero", err);
    if (b == 1) return domain_error(e, "logarithm in base 1", err);
    r = strcmp(n, "ln") == 0 ? log(x) : strcmp(n, "log2") == 0 ? log2(x) : b == 10 ? log10(x) : log(x) / log(b);
  } else if (strcmp(n, "sin") == 0) {
    r = sin(x);
  } else if (strcmp(n, "cos") == 0) {
    r = cos(x);
  } else if (strcmp(n, "tan") == 0) {
    r = tan(x);
  } else if (strcmp(n, "cot") == 0) {
    if (x == 0) return domain_error(e, "cotangent of zero", err);
    r = 1.0 / tan(x);
  } else if (strcmp(n, "asin") == 0 || strcmp(n, "acos") == 0) {
    if (!(x >= -1 && x <= 1)) return domain_error(e, n[1] == 's' ? "arcsine outside [-1, 1]" : "arccosine outside [-1, 1]", err);
    r = n[1] == 's' ? asin(x) : acos(x);
  } else if (strcmp(n, "atan") == 0) {
    r = atan(x);
  } else if (strcmp(n, "atan2") == 0) {
    r = atan2(x, td__value_double(&a[1]));
  } else if (strcmp(n, "degrees") == 0) {
    r = x * (180.0 / M_PI);
  } else if (strcmp(n, "radians") == 0) {
    r = x * (M_PI / 180.0);
  } else { /* pow, power */
    r = pow(x, td__value_double(&a[1]));
  }
  *out = td_value_double(TD_TYPE_FLOAT64, r);
  return TD_OK;
}

/* pi() */
static int row_pi(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)e, (void)a, (void)buf, (void)err;
  *out = td_value_double(TD_TYPE_FLOAT64, M_PI);
  return TD_OK;
}

/* random(): uniform in [0, 1), from a generator of each thread (xorshift64*,
 * seeded from the clock and the thread), never shared between threads. */
static int row_random(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)e, (void)a, (void)buf, (void)err;
  static _Thread_local uint64_t state;
  if (!state) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    state = ((uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15u) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&state;
    if (!state) state = 1;
  }
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  uint64_t x = state * 0x2545F4914F6CDD1Du;
  *out = td_value_double(TD_TYPE_FLOAT64, (double)(x >> 11) * 0x1.0p-53);
  return TD_OK;
}

/* gcd(a, b), lcm(a, b) of integers (int64; DuckDB's BIGINT results): the
 * gcd of INT64_MIN with 0 or itself and an lcm beyond int64 are errors. */
static int bind_ints(td_expr *e, td_error *err) {
  for (int64_t i = 0; i < e->n_args; i++)
    if (!td_type_is_integer(e->args[i]->type) && e->args[i]->type != TD_TYPE_NONE)
      return td__func_arg_error(e, i, "an integer", err);
  e->type = TD_TYPE_INT64;
  return TD_OK;
}

static int row_gcd_lcm(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  int64_t x = a[0].v.i, y = a[1].v.i;
  uint64_t ux = x < 0 ? 0 - (uint64_t)x : (uint64_t)x, uy = y < 0 ? 0 - (uint64_t)y : (uint64_t)y;
  uint64_t g = ux, h = uy;
  while (h) {
    uint64_t t = g % h;
    g = h;
    h = t;
  }
  uint64_t r = g;
  if (e->fn->name[0] == 'l') {
    r = 0;
    if (g && __builtin_mul_overflow(ux / g, uy, &r)) r = UINT64_MAX;
  }
  if (r > (uint64_t)INT64_MAX)
    return td_err_at(err, TD_ERANGE, e->pos, "%s(%lld, %lld) is out of the range of BIGINT at offset %lld", e->fn->name,
                     (long long)x, (long long)y, (long long)e->pos);
  *out = td_value_int(TD_TYPE_INT64, (int64_t)r);
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
    TD_FN("log", 1, 2, bind_float, row_float, true, false),
    TD_FN("log10", 1, 1, bind_float, row_float, true, false),
    TD_FN("log2", 1, 1, bind_float, row_float, true, false),
    TD_FN("isnan", 1, 1, bind_float_test, row_float_test, true, false),
    TD_FN("isinf", 1, 1, bind_float_test, row_float_test, true, false),
    TD_FN("isfinite", 1, 1, bind_float_test, row_float_test, true, false),
    TD_FN("pow", 2, 2, bind_float, row_float, true, false),
    TD_FN("power", 2, 2, bind_float, row_float, true, false),
    TD_FN("sin", 1, 1, bind_float, row_float, true, false),
    TD_FN("cos", 1, 1, bind_float, row_float, true, false),
    TD_FN("tan", 1, 1, bind_float, row_float, true, false),
    TD_FN("cot", 1, 1, bind_float, row_float, true, false),
    TD_FN("asin", 1, 1, bind_float, row_float, true, false),
    TD_FN("acos", 1, 1, bind_float, row_float, true, false),
    TD_FN("atan", 1, 1, bind_float, row_float, true, false),
    TD_FN("atan2", 2, 2, bind_float, row_float, true, false),
    TD_FN("degrees", 1, 1, bind_float, row_float, true, false),
    TD_FN("radians", 1, 1, bind_float, row_float, true, false),
    TD_FN("pi", 0, 0, bind_float, row_pi, false, false),
    TD_FN("random", 0, 0, bind_float, row_random, false, true),
    TD_FN("gcd", 2, 2, bind_ints, row_gcd_lcm, true, false),
    TD_FN("lcm", 2, 2, bind_ints, row_gcd_lcm, true, false),
    {NULL, 0, 0, NULL, NULL, false, false, NULL, NULL, NULL}};
