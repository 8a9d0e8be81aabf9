/*
 * query/func_core.c - the special forms and conditional functions of the
 * registry: CASE, CAST, LIKE/ILIKE, IS [NOT] DISTINCT FROM, COALESCE,
 * NULLIF, GREATEST/LEAST, the operators % and ||, INTERVAL and
 * timestamp +- interval.
 */
#include <math.h>
#include <string.h>

#include "keys/keys.h"
#include "query/func.h"
#include "query/vec.h"
#include "util/decimal.h"
#include "util/divide.h"
#include "query/scalar.h"
#include "util/alloc.h"
#include "util/error.h"

/* Converts v (non-null) to the numeric/temporal layout of type t. */
static td_value coerce(td_value v, td_type_id t) {
  if (v.is_null || v.type == TD_TYPE_NONE) return td_value_null(t);
  if (td_type_is_float(t) && !td_type_is_float(v.type)) return td_value_double(t, td__value_double(&v));
  v.type = t;
  return v;
}

/* The common type of args[from], args[from+step], ...; error at the first
 * that does not fit. */
static int common_type(td_expr *e, int64_t from, int64_t step, int64_t to, td_type_id *out,
                       td_error *err) {
  td_type_id t = TD_TYPE_NONE;
  for (int64_t i = from; i < to; i += step) {
    td_expr *a = e->args[i];
    td_type_id c = td__type_common(t, a->type);
    if (c == TD_TYPE_NONE && a->type != TD_TYPE_NONE)
      return td_err_at(err, TD_ETYPE, a->pos,
                       "%s: cannot mix %s with %s at offset %lld", e->fn->name, td_type_name(t),
                       td_type_name(a->type), (long long)a->pos);
    t = c;
    if (!e->tz && a->tz && !(e->tz = td_strdup(a->tz))) return td_err_nomem(err, "binding");
  }
  *out = t;
  return TD_OK;
}

/* ---- CASE ---- */

static int bind_case(td_expr *e, td_error *err) {
  int64_t n = e->n_args;
  if (n < 2)
    return td_err_at(err, TD_EPARSE, e->pos, "CASE needs at least one WHEN at offset %lld",
                     (long long)e->pos);
  for (int64_t i = 0; i + 1 < n; i += 2) {
    td_type_id t = e->args[i]->type;
    if (t != TD_TYPE_BOOL && t != TD_TYPE_NONE) return td__func_arg_error(e, i, "a bool condition", err);
  }
  td_type_id t = TD_TYPE_NONE;
  int rc = common_type(e, 1, 2, n - n % 2, &t, err);
  if (!rc && n % 2) { /* the ELSE joins the THEN branches */
    td_type_id c = td__type_common(t, e->args[n - 1]->type);
    if (c == TD_TYPE_NONE && t != TD_TYPE_NONE && e->args[n - 1]->type != TD_TYPE_NONE)
      rc = td__func_arg_error(e, n - 1, td_type_name(t), err);
    if (!e->tz && e->args[n - 1]->tz && !(e->tz = td_strdup(e->args[n - 1]->tz)))
      rc = td_err_nomem(err, "binding");
    t = c;
  }
  e->type = t;
  return rc;
}

static int row_case(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                    td_error *err) {
  int64_t n = e->n_args, i = 0;
  for (; i + 1 < n; i += 2)
    if (!a[i].is_null && a[i].type != TD_TYPE_NONE && a[i].v.b) {
      *out = coerce(a[i + 1], e->type);
      return TD_OK;
    }
  *out = i < n ? coerce(a[i], e->type) : td_value_null(e->type);
  return TD_OK;
}

/* ---- CAST ---- */

static const struct {
  const char *name;
  td_type_id type;
} sql_types[] = {{"BIGINT", TD_TYPE_INT64},    {"INTEGER", TD_TYPE_INT32},   {"SMALLINT", TD_TYPE_INT16},
                 {"TINYINT", TD_TYPE_INT8},    {"UTINYINT", TD_TYPE_UINT8},  {"USMALLINT", TD_TYPE_UINT16},
                 {"UINTEGER", TD_TYPE_UINT32}, {"DOUBLE", TD_TYPE_FLOAT64},  {"FLOAT", TD_TYPE_FLOAT32},
                 {"VARCHAR", TD_TYPE_UTF8},    {"BOOLEAN", TD_TYPE_BOOL},    {"TIMESTAMP", TD_TYPE_TIMESTAMP},
                 {"DATE", TD_TYPE_DATE32},     {"BLOB", TD_TYPE_BINARY}};

/* The p and s of a "DECIMAL(p,s)" type name. */
static bool decimal_name(const td_expr *t, int *p, int *s) {
  char buf[32];
  if (t->lit.v.s.len >= sizeof buf || t->lit.v.s.len < 8 || memcmp(t->lit.v.s.ptr, "DECIMAL(", 8) != 0) return false;
  memcpy(buf, t->lit.v.s.ptr + 8, t->lit.v.s.len - 8);
  buf[t->lit.v.s.len - 9] = '\0'; /* without the ')' */
  return td_dec_params(buf, p, s);
}

static int bind_cast(td_expr *e, td_error *err) {
  const td_expr *t = e->args[1];
  if (t->kind != TD_EXPR_LITERAL || t->type != TD_TYPE_UTF8)
    return td__func_arg_error(e, 1, "a type name", err);
  int dp, ds;
  if (decimal_name(t, &dp, &ds)) {
    td_type_id from = e->args[0]->type;
    if (td_type_is_temporal(from) || td_type_is_binary(from))
      return td_err_at(err, TD_ETYPE, e->pos, "cannot cast %s to DECIMAL(%d,%d) at offset %lld", td_type_name(from), dp,
                       ds, (long long)e->pos);
    char param[16];
    td_dec_param_text(dp, ds, param, sizeof param);
    td_free(e->tz);
    if (!(e->tz = td_strdup(param))) return td_err_nomem(err, "binding");
    e->type = TD_TYPE_DECIMAL128;
    return TD_OK;
  }
  for (size_t i = 0; i < sizeof sql_types / sizeof *sql_types; i++)
    if (strlen(sql_types[i].name) == t->lit.v.s.len &&
        memcmp(sql_types[i].name, t->lit.v.s.ptr, t->lit.v.s.len) == 0) {
      e->type = sql_types[i].type;
      td_type_id from = e->args[0]->type;
      bool ok = from == TD_TYPE_NONE || td_type_is_text(from) || e->type == TD_TYPE_UTF8 ||
                (td_type_is_temporal(from) == td_type_is_temporal(e->type)) ||
                (td_type_is_integer(from) && td_type_is_temporal(e->type));
      if (td_type_is_duration(from)) /* a span casts only to text (DuckDB: INTERVAL to VARCHAR) */
        ok = e->type == TD_TYPE_UTF8;
      if (td_type_is_binary(from) || td_type_is_binary(e->type)) /* bytes: only to and from text */
        ok = from == TD_TYPE_NONE || td_type_is_varlen(from) ? td_type_is_varlen(e->type) : false;
      if (!ok)
        return td_err_at(err, TD_ETYPE, e->pos, "cannot cast %s to %s at offset %lld",
                         td_type_name(from), td_type_name(e->type), (long long)e->pos);
      return TD_OK;
    }
  return td_err_at(err, TD_ETYPE, t->pos, "unknown type '%.*s' at offset %lld", (int)t->lit.v.s.len,
                   t->lit.v.s.ptr, (long long)t->pos);
}

static int row_cast(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  td_value v = a[0];
  int p, sc; /* a decimal column's values carry no scale: it is the argument's "p,s" */
  if (v.type == TD_TYPE_DECIMAL128 && !v.scale && td_dec_params(e->args[0]->tz, &p, &sc)) v.scale = (uint8_t)sc;
  int rc = e->type == TD_TYPE_DECIMAL128 && td_dec_params(e->tz, &p, &sc) ? td__cast_decimal(&v, p, sc, out, e->pos, err)
                                                                           : td__cast_value(&v, e->type, out, buf, e->pos, err);
  if (rc == TD_ETYPE && e->args[0]->kind != TD_EXPR_LITERAL) { /* name what was cast: the column */
    char *what = NULL;
    if (td_expr_print(e->args[0], &what, NULL) == TD_OK)
      td_err_prefix(err, rc, "CAST(%s AS %.*s): ", what, (int)e->args[1]->lit.v.s.len, e->args[1]->lit.v.s.ptr);
    td_free(what);
  }
  return rc;
}

/* TRY_CAST: NULL where CAST fails on the value (DuckDB). */
static int row_try_cast(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  td_error ignored;
  int rc = row_cast(e, a, out, buf, &ignored);
  if (rc == TD_ETYPE || rc == TD_ERANGE) {
    *out = td_value_null(e->type);
    return TD_OK;
  }
  if (rc) *err = ignored;
  return rc;
}

/* ---- CAST over a whole batch ----
 * The numeric, bool and temporal casts computed batch at a time with
 * exactly td__cast_value's results.  A cast that keeps every value (the
 * same physical layout and no value changes: an integer into a type that
 * holds all of them, float32 -> double, an integer or a temporal of the
 * same unit into a temporal) moves the argument's vector through without a
 * copy.  A batch holding a value the cast rejects (out of range, NaN or inf
 * into an integer, a finite double beyond float's range, a timestamp whose
 * nanoseconds overflow) in a valid row is left to the row path, which
 * reports it (CAST) or makes it NULL (TRY_CAST) and ignores rows a filter
 * dropped. */

/* The values of integer type t, or false for another type. */
static bool int_range(td_type_id t, int64_t *lo, int64_t *hi) {
  switch (t) {
    case TD_TYPE_INT8: *lo = INT8_MIN, *hi = INT8_MAX; return true;
    case TD_TYPE_INT16: *lo = INT16_MIN, *hi = INT16_MAX; return true;
    case TD_TYPE_INT32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
    case TD_TYPE_INT64: *lo = INT64_MIN, *hi = INT64_MAX; return true;
    case TD_TYPE_UINT8: *lo = 0, *hi = UINT8_MAX; return true;
    case TD_TYPE_UINT16: *lo = 0, *hi = UINT16_MAX; return true;
    case TD_TYPE_UINT32: *lo = 0, *hi = UINT32_MAX; return true;
    default: return false;
  }
}

/* Whether every valid row of the int64 vec x lies in [lo, hi]. */
static bool i64_within(const td_vec *x, int64_t n, int64_t lo, int64_t hi) {
  const uint64_t span = (uint64_t)hi - (uint64_t)lo;
  unsigned bad = 0;
  if (x->valid)
    for (int64_t i = 0; i < n; i++) bad |= x->valid[i] & ((uint64_t)x->i64[i] - (uint64_t)lo > span);
  else
    for (int64_t i = 0; i < n; i++) bad |= (uint64_t)x->i64[i] - (uint64_t)lo > span;
  return !bad;
}

#define NS_PER_DAY (86400 * 1000000000LL)

/* Makes *out a vec of n strings: offs[1..n] (offs[0] set here) into
 * text, with validity `valid` (NULL: none), all three owned by out from
 * here on. */
static void str_vec(td_vec *out, int64_t n, int32_t *offs, char *text, uint8_t *valid) {
  memset(out, 0, sizeof *out);
  out->ph = TD_PHYS_STR;
  out->n = n;
  offs[0] = 0;
  td__vec_own(out, offs);
  td__vec_own(out, text);
  out->offs = offs;
  out->strs = text;
  if (valid) {
    td__vec_own(out, valid);
    out->valid = valid;
  }
}

static int vec_cast(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  td_vec *x = (td_vec *)&args[0]; /* ev_func's own vector: it may be moved out (td__vec_move) */
  td_type_id s = e->args[0]->type, t = e->type;
  int64_t lo, hi, slo, shi;
  if (x->is_const || x->ph != td__phys_of(s) || (x->ph != TD_PHYS_I64 && x->ph != TD_PHYS_F64 && x->ph != TD_PHYS_BOOL))
    return TD_OK;
  bool s_int = td_type_is_integer(s), s_time = td_type_is_temporal(s), s_float = td_type_is_float(s);
  const uint8_t *ok = x->valid;
  void *buf;
  int rc;
  if (int_range(t, &lo, &hi)) { /* integer targets */
    if (s_int) {
      bool wider = int_range(s, &slo, &shi) && slo >= lo && shi <= hi;
      if (!wider && !i64_within(x, n, lo, hi)) return TD_OK;
      td__vec_move(out, x);
    } else if (s_float) {
      double big = 9.2e18; /* as td__cast_value: |d| < 9.2e18, rounded half to even */
      unsigned bad = 0;
      if ((rc = td__vec_make(out, TD_PHYS_I64, n, x, &buf, err))) return rc;
      int64_t *r = buf;
      for (int64_t i = 0; i < n; i++) {
        double d = x->f64[i];
        bool in = fabs(d) < big, use = !ok || ok[i];
        r[i] = in ? (int64_t)nearbyint(d) : 0;
        bad |= use & (!in | (r[i] < lo) | (r[i] > hi));
      }
      if (bad) return td__vec_done(out, true, done);
    } else if (s == TD_TYPE_BOOL) {
      if ((rc = td__vec_make(out, TD_PHYS_I64, n, x, &buf, err))) return rc;
      int64_t *r = buf;
      for (int64_t i = 0; i < n; i++) r[i] = x->b8[i] != 0;
    } else {
      return TD_OK;
    }
  } else if (t == TD_TYPE_FLOAT64 || t == TD_TYPE_FLOAT32) {
    bool f32 = t == TD_TYPE_FLOAT32;
    if (s_float && (s == TD_TYPE_FLOAT32 || !f32)) {
      td__vec_move(out, x); /* float32 values are doubles already */
    } else if (s_float) { /* double -> float: rounded; a finite value beyond float's range fails */
      unsigned bad = 0;
      if ((rc = td__vec_make(out, TD_PHYS_F64, n, x, &buf, err))) return rc;
      double *r = buf;
      for (int64_t i = 0; i < n; i++) {
        double d = x->f64[i];
        bool over = isfinite(d) && fabs(d) >= TD_FLOAT32_OVER;
        bad |= over & (!ok || ok[i]);
        r[i] = over ? 0 : (double)(float)d;
      }
      if (bad) return td__vec_done(out, true, done);
    } else if (s_int || s == TD_TYPE_BOOL) {
      if ((rc = td__vec_make(out, TD_PHYS_F64, n, x, &buf, err))) return rc;
      double *r = buf;
      if (s == TD_TYPE_BOOL)
        for (int64_t i = 0; i < n; i++) r[i] = x->b8[i] != 0;
      else if (f32) /* |x| < 2^63: always within float's range */
        for (int64_t i = 0; i < n; i++) r[i] = (double)(float)(double)x->i64[i];
      else
        for (int64_t i = 0; i < n; i++) r[i] = (double)x->i64[i];
    } else {
      return TD_OK;
    }
  } else if (t == TD_TYPE_BOOL) {
    if (s == TD_TYPE_BOOL) {
      td__vec_move(out, x);
    } else if (s_int || s_float) {
      if ((rc = td__vec_make(out, TD_PHYS_BOOL, n, x, &buf, err))) return rc;
      uint8_t *r = buf;
      if (s_int)
        for (int64_t i = 0; i < n; i++) r[i] = x->i64[i] != 0;
      else
        for (int64_t i = 0; i < n; i++) r[i] = x->f64[i] != 0; /* NaN is true */
    } else {
      return TD_OK;
    }
  } else if (t == TD_TYPE_UTF8 && (s_int || s_time || s_float || td_type_is_duration(s) || s == TD_TYPE_BOOL)) {
    /* to text: each row's text appended to one buffer (no boxing of the
     * row through the row path); integers' digits written in place */
    int32_t *offs = td_malloc((size_t)(n + 1) * sizeof *offs);
    uint8_t *valid = ok ? td_malloc((size_t)(n ? n : 1)) : NULL;
    td_fbuf text = {0};
    rc = offs && (!ok || valid) ? TD_OK : td_err_nomem(err, "casting to text");
    if (rc == TD_OK && s_int) { /* room for every row's digits */
      text.cap = (size_t)(n ? n : 1) * TD_INT_TEXT + 1;
      if (!(text.p = td_malloc(text.cap))) rc = td_err_nomem(err, "casting to text");
    }
    td_value v = {0};
    v.type = s;
    for (int64_t i = 0; rc == TD_OK && i < n; i++) {
      if (!ok || ok[i]) {
        if (s_int) {
          text.len += td_int_text(x->i64[i], s == TD_TYPE_UINT64, text.p + text.len);
        } else {
          if (x->ph == TD_PHYS_F64) v.v.f = x->f64[i];
          else if (x->ph == TD_PHYS_BOOL) v.v.b = x->b8[i] != 0;
          else v.v.i = x->i64[i];
          rc = td__to_text(&v, &text, err);
          if (!rc && text.len > INT32_MAX) rc = td_err(err, TD_ERANGE, "text of a batch exceeds 2 GiB");
        }
      }
      if (!rc) offs[i + 1] = (int32_t)text.len;
    }
    if (rc == TD_OK && !text.p && !(text.p = td_malloc(1))) rc = td_err_nomem(err, "casting to text");
    if (rc) {
      td_free(offs);
      td_free(valid);
      td_free(text.p);
      return rc;
    }
    if (valid) memcpy(valid, ok, (size_t)n);
    str_vec(out, n, offs, text.p, valid);
  } else if (td_type_is_temporal(t)) {
    int64_t from = td_type_unit_ns(s), to = td_type_unit_ns(t);
    if (s_int) { /* an integer is a count of t's unit */
      td__vec_move(out, x);
    } else if (s_time && from == to) { /* the same values, when their nanoseconds fit in int64 */
      if (from > 1 && !i64_within(x, n, INT64_MIN / from, INT64_MAX / from)) return TD_OK;
      td__vec_move(out, x);
    } else if (s_time) { /* to nanoseconds (overflow fails), then down to t's unit */
      unsigned bad = 0;
      if ((rc = td__vec_make(out, TD_PHYS_I64, n, x, &buf, err))) return rc;
      int64_t *r = buf;
      for (int64_t i = 0; i < n; i++) bad |= __builtin_mul_overflow(x->i64[i], from, &r[i]) & (!ok || ok[i]);
      if (to == NS_PER_DAY)
        for (int64_t i = 0; i < n; i++) r[i] = r[i] / NS_PER_DAY - (r[i] % NS_PER_DAY < 0);
      else if (to != 1)
        for (int64_t i = 0; i < n; i++) r[i] = r[i] / to - (r[i] % to < 0);
      if (bad) return td__vec_done(out, true, done);
    } else {
      return TD_OK;
    }
  } else {
    return TD_OK;
  }
  *done = true;
  return TD_OK;
}

/* ---- LIKE / ILIKE ---- */

static int bind_like(td_expr *e, td_error *err) {
  int rc = td__func_want_str(e, 0, err);
  if (!rc) rc = td__func_want_str(e, 1, err);
  if (!rc && e->n_args == 3) rc = td__func_want_str(e, 2, err); /* ESCAPE */
  e->type = TD_TYPE_BOOL;
  return rc;
}

/* Length of the UTF-8 character at s (1 for a stray byte). */
static size_t char_len(const char *s, size_t n) {
  unsigned char c = (unsigned char)*s;
  size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return k <= n ? k : 1;
}

/* SQL LIKE: % any run, _ one character, esc (-1: none) makes the next
 * pattern character literal; iterative with one backtrack point (linear for
 * patterns with one %, quadratic at worst).  Case-sensitive: ILIKE maps both
 * sides to lower case first. */
bool td__like_match(const char *s, size_t n, const char *p, size_t m, int esc) {
  size_t i = 0, j = 0, star_j = (size_t)-1, star_i = 0;
  while (i < n) {
    bool lit = esc >= 0 && j + 1 < m && (unsigned char)p[j] == esc;
    if (lit) j++;
    if (!lit && j < m && p[j] == '%') {
      star_j = j++;
      star_i = i;
    } else if (!lit && j < m && p[j] == '_') {
      i += char_len(s + i, n - i);
      j++;
    } else if (j < m && p[j] == s[i]) {
      i++;
      j++;
    } else if (star_j != (size_t)-1) {
      j = star_j + 1;
      star_i += char_len(s + star_i, n - star_i);
      i = star_i;
    } else {
      return false;
    }
  }
  while (j < m && p[j] == '%') j++; /* j is at a token: an escaped % starts with esc */
  return j == m;
}

static int row_like(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                    td_error *err) {
  int esc = -1;
  if (e->n_args == 3) { /* as DuckDB: empty or one character; not last in the pattern */
    const td_value *x = &a[2];
    if (x->v.s.len > 1)
      return td_err_at(err, TD_ETYPE, e->args[2]->pos,
                       "the ESCAPE string must be empty or one character, found '%.*s' at offset %lld",
                       (int)x->v.s.len, x->v.s.ptr, (long long)e->args[2]->pos);
    if (x->v.s.len == 1) esc = (unsigned char)x->v.s.ptr[0];
    size_t k = 0, m = a[1].v.s.len;
    const char *p = a[1].v.s.ptr;
    while (esc >= 0 && k < m) k += (unsigned char)p[k] == esc ? 2 : 1;
    if (k == m + 1)
      return td_err_at(err, TD_ETYPE, e->args[1]->pos,
                       "a LIKE pattern must not end with the escape character, found '%.*s' at offset %lld",
                       (int)m, p, (long long)e->args[1]->pos);
  }
  bool m;
  if (e->fn->name[0] == 'i') { /* ILIKE: both sides in lower case (Unicode, as lower()) */
    td_fbuf low = {0};
    int rc = td__utf8_case_map(a[0].v.s.ptr, a[0].v.s.len, false, &low, err);
    size_t sn = low.len;
    if (!rc) rc = td__utf8_case_map(a[1].v.s.ptr, a[1].v.s.len, false, &low, err);
    if (rc) {
      td_free(low.p);
      return rc;
    }
    m = td__like_match(low.p ? low.p : "", sn, low.p ? low.p + sn : "", low.len - sn, esc);
    td_free(low.p);
  } else {
    m = td__like_match(a[0].v.s.ptr, a[0].v.s.len, a[1].v.s.ptr, a[1].v.s.len, esc);
  }
  (void)buf;
  *out = td_value_bool(m != e->negated);
  return TD_OK;
}

/* The shape of a LIKE pattern without '_' whose '%'s are only at its ends:
 * the literal between them (p[*from, *to)) and where it must sit.  false
 * for any other pattern. */
typedef enum like_shape { LIKE_EXACT, LIKE_PREFIX, LIKE_SUFFIX, LIKE_CONTAINS } like_shape;

/* Whether pattern p is one literal between leading and trailing runs of
 * `any` (LIKE's '%', GLOB's '*') with none of `specials` anywhere: its shape
 * and the literal's bounds [from, to). */
static bool pattern_simple(const char *p, size_t m, char any, const char *specials, like_shape *shape, size_t *from,
                           size_t *to) {
  size_t a = 0, b = m;
  while (a < m && p[a] == any) a++;
  while (b > a && p[b - 1] == any) b--;
  if (memchr(p + a, any, b - a)) return false;
  for (const char *c = specials; *c; c++)
    if (memchr(p, *c, m)) return false;
  *from = a;
  *to = b;
  *shape = a == 0 && b == m ? LIKE_EXACT : a == 0 ? LIKE_PREFIX : b == m ? LIKE_SUFFIX : LIKE_CONTAINS;
  return true;
}

int td__vec_pattern(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, char any,
                    const char *specials, bool (*match)(const char *, size_t, const char *, size_t), td_error *err) {
  const td_vec *x = &args[0], *pat = &args[1];
  if (e->n_args != 2 || x->is_const || x->ph != TD_PHYS_STR || !pat->is_const || pat->c.is_null ||
      pat->c.type == TD_TYPE_NONE)
    return TD_OK;
  void *buf;
  int rc = td__vec_make(out, TD_PHYS_BOOL, n, x, &buf, err);
  if (rc) return rc;
  uint8_t *r = buf;
  const char *p = pat->c.v.s.ptr;
  size_t m = pat->c.v.s.len, from, to;
  like_shape shape;
  const uint8_t neg = e->negated;
  if (pattern_simple(p, m, any, specials, &shape, &from, &to)) {
    const char *lit = p + from;
    size_t k = to - from;
    for (int64_t i = 0; i < n; i++) {
      const char *s = x->strs + x->offs[i];
      size_t len = (size_t)(x->offs[i + 1] - x->offs[i]);
      bool hit;
      switch (shape) {
        case LIKE_EXACT: hit = len == k && memcmp(s, lit, k) == 0; break;
        case LIKE_PREFIX: hit = len >= k && memcmp(s, lit, k) == 0; break;
        case LIKE_SUFFIX: hit = len >= k && memcmp(s + len - k, lit, k) == 0; break;
        default: hit = k == 0 || (len >= k && memmem(s, len, lit, k) != NULL); break;
      }
      r[i] = (uint8_t)hit ^ neg;
    }
  } else {
    for (int64_t i = 0; i < n; i++)
      r[i] = (uint8_t)match(x->strs + x->offs[i], (size_t)(x->offs[i + 1] - x->offs[i]), p, m) ^ neg;
  }
  *done = true;
  return TD_OK;
}

static bool like_plain(const char *s, size_t n, const char *p, size_t m) { return td__like_match(s, n, p, m, -1); }

/* [NOT] LIKE of a string batch with a constant pattern and no ESCAPE
 * (td__vec_pattern); ILIKE and ESCAPE go row by row. */
static int vec_like(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  if (e->fn->name[0] == 'i') return TD_OK;
  return td__vec_pattern(e, args, n, out, done, '%', "_", like_plain, err);
}

/* ---- comparisons: IS DISTINCT FROM, NULLIF, GREATEST, LEAST ---- */

static int bind_comparable(td_expr *e, td_error *err) {
  td_type_id t = TD_TYPE_NONE;
  int rc = common_type(e, 0, 1, e->n_args, &t, err);
  e->type = t;
  return rc;
}

static int bind_distinct(td_expr *e, td_error *err) {
  int rc = bind_comparable(e, err);
  e->type = TD_TYPE_BOOL;
  return rc;
}

static bool is_null(const td_value *v) { return v->is_null || v->type == TD_TYPE_NONE; }

static int row_distinct(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                        td_error *err) {
  bool distinct;
  if (is_null(&a[0]) || is_null(&a[1])) {
    distinct = is_null(&a[0]) != is_null(&a[1]);
  } else {
    td_value eq;
    td__scalar_binary(TD_OP_EQ, TD_TYPE_BOOL, &a[0], &a[1], &eq);
    distinct = !eq.v.b;
  }
  *out = td_value_bool(distinct != e->negated);
  return TD_OK;
}

static int bind_nullif(td_expr *e, td_error *err) {
  int rc = bind_comparable(e, err);
  e->type = e->args[0]->type;
  return rc;
}

static int row_nullif(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                      td_error *err) {
  td_value eq = td_value_null(TD_TYPE_BOOL);
  if (!is_null(&a[0]) && !is_null(&a[1])) td__scalar_binary(TD_OP_EQ, TD_TYPE_BOOL, &a[0], &a[1], &eq);
  *out = !eq.is_null && eq.v.b ? td_value_null(e->type) : a[0];
  return TD_OK;
}

static int row_coalesce(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                        td_error *err) {
  for (int64_t i = 0; i < e->n_args; i++)
    if (!is_null(&a[i])) {
      *out = coerce(a[i], e->type);
      return TD_OK;
    }
  *out = td_value_null(e->type);
  return TD_OK;
}

static int row_extreme(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                       td_error *err) {
  bool great = e->fn->name[0] == 'g';
  td_op op = great ? TD_OP_GT : TD_OP_LT;
  int64_t best = -1;
  for (int64_t i = 0; i < e->n_args; i++) {
    if (is_null(&a[i])) continue;
    td_value r = td_value_bool(true);
    if (best >= 0 && td_type_is_float(e->type)) { /* NaN is above every number, as in ORDER BY and max */
      double x = td__value_double(&a[i]), y = td__value_double(&a[best]);
      r.v.b = isnan(x) || isnan(y) ? (great ? isnan(x) && !isnan(y) : isnan(y) && !isnan(x))
                                   : (great ? x > y : x < y);
    } else if (best >= 0) {
      td__scalar_binary(op, TD_TYPE_BOOL, &a[i], &a[best], &r);
    }
    if (best < 0 || r.v.b) best = i;
  }
  *out = best < 0 ? td_value_null(e->type) : coerce(a[best], e->type);
  return TD_OK;
}

/* ---- % and || ---- */

static int bind_mod(td_expr *e, td_error *err) {
  int rc = td__func_want_num(e, 0, err);
  if (!rc) rc = td__func_want_num(e, 1, err);
  e->type = td_type_is_float(e->args[0]->type) || td_type_is_float(e->args[1]->type)
                ? TD_TYPE_FLOAT64
                : TD_TYPE_INT64;
  return rc;
}

static int row_mod(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  if (e->type == TD_TYPE_INT64) {
    int64_t x = a[0].v.i, y = a[1].v.i;
    *out = y == 0 ? td_value_null(e->type) : td_value_int(e->type, y == -1 ? 0 : x % y);
  } else {
    double y = td__value_double(&a[1]);
    *out = y == 0 ? td_value_null(e->type) : td_value_double(e->type, fmod(td__value_double(&a[0]), y));
  }
  return TD_OK;
}

/* x // y (DuckDB): integers divide truncating toward zero, floats divide;
 * a zero divisor gives NULL (as %), INT64_MIN // -1 overflows. */
static int row_idiv(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  if (e->type == TD_TYPE_INT64) {
    int64_t x = a[0].v.i, y = a[1].v.i;
    if (y == -1 && x == INT64_MIN)
      return td_err_at(err, TD_ERANGE, e->pos, "integer overflow in '//' at offset %lld: the result does not fit in int64",
                       (long long)e->pos);
    *out = y == 0 ? td_value_null(e->type) : td_value_int(e->type, x / y);
  } else {
    double y = td__value_double(&a[1]);
    *out = y == 0 ? td_value_null(e->type) : td_value_double(e->type, td__value_double(&a[0]) / y);
  }
  return TD_OK;
}

/* int64 % and // by a non-null, non-zero constant over a whole batch (no
 * row can fail or turn null: nulls are the dividend's; // by -1, which can
 * overflow, is left to the rows), through the divisor's reciprocal
 * (util/divide.h) rather than a divide instruction a row. */
static int vec_div_const(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, bool quot,
                         td_error *err) {
  const td_vec *x = &args[0], *y = &args[1];
  if (e->type != TD_TYPE_INT64 || x->is_const || x->ph != TD_PHYS_I64 || !y->is_const || y->c.is_null ||
      y->ph != TD_PHYS_I64 || y->c.v.i == 0 || (quot && y->c.v.i == -1))
    return TD_OK;
  const int64_t d = y->c.v.i;
  void *buf;
  int rc = td__vec_make(out, TD_PHYS_I64, n, x, &buf, err);
  if (rc) return rc;
  int64_t *r = buf;
  const uint64_t ad = d < 0 ? -(uint64_t)d : (uint64_t)d;
  if (ad == 1) { /* x % +-1 is 0, x // 1 is x (// -1 is left to the rows) */
    for (int64_t i = 0; i < n; i++) r[i] = quot ? x->i64[i] : 0;
  } else {
    const td_sdiv u = td_sdiv_make(ad);
    int64_t i = td_div_const_batch(x->i64, n, d, quot, r); /* four at a time where it can */
    if (quot)
      for (; i < n; i++) r[i] = td_sdiv_quot(&u, d < 0, x->i64[i]);
    else
      for (; i < n; i++) r[i] = td_sdiv_rem(&u, x->i64[i]);
  }
  *done = true;
  return TD_OK;
}

static int vec_mod(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  return vec_div_const(e, args, n, out, done, false, err);
}

static int vec_idiv(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  return vec_div_const(e, args, n, out, done, true, err);
}

static int bind_to_string(td_expr *e, td_error *err) {
  e->type = TD_TYPE_UTF8;
  return TD_OK;
}

static int row_concat_op(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                         td_error *err) {
  td_value tmp;
  size_t from = buf->len;
  for (int64_t i = 0; i < e->n_args; i++) {
    if (is_null(&a[i])) continue; /* concat() skips nulls; || never gets one */
    int rc = td__cast_value(&a[i], TD_TYPE_UTF8, &tmp, buf, e->pos, err);
    if (rc) return rc;
  }
  td__fbuf_value(buf, from, out);
  return TD_OK;
}

/* || and concat over a whole batch when every argument is a constant or a
 * vector of strings, integers or booleans: each row's text written
 * straight into one buffer (the row path boxes each value and casts it).
 * Constants are made text once; a null constant, or a vector of another
 * type, leaves the batch to the rows.  ||: a row with a null is null;
 * concat skips nulls. */
static int vec_concat(const td_expr *e, const td_vec *a, int64_t n, td_vec *out, bool *done, td_error *err) {
  enum { MAX_ARGS = 16 };
  const bool skip = !e->fn->null_in_null_out; /* concat */
  if (e->n_args > MAX_ARGS) return TD_OK;
  td_fbuf cbuf = {0};
  size_t cfrom[MAX_ARGS], clen[MAX_ARGS];
  int64_t bound = 0;
  bool nulls = false;
  int rc = TD_OK;
  for (int64_t k = 0; k < e->n_args; k++) {
    const td_vec *x = &a[k];
    const td_type_id t = e->args[k]->type;
    if (x->is_const) {
      td_value tmp;
      cfrom[k] = cbuf.len;
      if (is_null(&x->c)) rc = TD_EINVAL; /* (the rows decide) */
      else rc = td__cast_value(&x->c, TD_TYPE_UTF8, &tmp, &cbuf, e->pos, err);
      clen[k] = cbuf.len - cfrom[k];
      bound += (int64_t)clen[k] * n;
    } else if (x->ph == TD_PHYS_STR && td_type_is_text(t)) { /* (binary: the cast decides) */
      bound += (int64_t)x->offs[n] - x->offs[0];
    } else if ((x->ph == TD_PHYS_I64 && td_type_is_integer(t)) || (x->ph == TD_PHYS_BOOL && t == TD_TYPE_BOOL)) {
      bound += (x->ph == TD_PHYS_BOOL ? 5 : TD_INT_TEXT) * n;
    } else {
      rc = TD_EINVAL;
    }
    if (rc) break;
    nulls |= !x->is_const && x->valid;
  }
  int32_t *offs = NULL;
  char *text = NULL;
  uint8_t *valid = NULL;
  if (rc || bound > INT32_MAX) {
    td_free(cbuf.p);
    return rc == TD_ENOMEM ? rc : TD_OK;
  }
  offs = td_malloc((size_t)(n + 1) * sizeof *offs);
  text = td_malloc((size_t)bound + 1);
  valid = nulls && !skip ? td_malloc((size_t)(n ? n : 1)) : NULL;
  if (!offs || !text || (nulls && !skip && !valid)) {
    td_free(cbuf.p);
    td_free(offs);
    td_free(text);
    td_free(valid);
    return td_err_nomem(err, "concatenating strings");
  }
  size_t at = 0;
  offs[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    bool ok = true;
    if (valid) {
      for (int64_t k = 0; k < e->n_args; k++) ok &= a[k].is_const || !a[k].valid || a[k].valid[i];
      valid[i] = ok;
    }
    for (int64_t k = 0; ok && k < e->n_args; k++) {
      const td_vec *x = &a[k];
      if (x->is_const) {
        memcpy(text + at, cbuf.p + cfrom[k], clen[k]);
        at += clen[k];
      } else if (x->valid && !x->valid[i]) {
        continue; /* concat: skipped */
      } else if (x->ph == TD_PHYS_STR) {
        const size_t len = (size_t)(x->offs[i + 1] - x->offs[i]);
        memcpy(text + at, x->strs + x->offs[i], len);
        at += len;
      } else if (x->ph == TD_PHYS_BOOL) {
        memcpy(text + at, x->b8[i] ? "true" : "false", x->b8[i] ? 4 : 5);
        at += x->b8[i] ? 4 : 5;
      } else {
        at += td_int_text(x->i64[i], e->args[k]->type == TD_TYPE_UINT64, text + at);
      }
    }
    offs[i + 1] = (int32_t)at;
  }
  td_free(cbuf.p);
  str_vec(out, n, offs, text, valid);
  *done = true;
  return TD_OK;
}

/* concat_ws(sep, x, ...): the non-null values as text joined by sep;
 * NULL when sep is. */
static int bind_concat_ws(td_expr *e, td_error *err) {
  e->type = TD_TYPE_UTF8;
  return td__func_want_str(e, 0, err);
}

static int row_concat_ws(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  if (is_null(&a[0])) {
    *out = td_value_null(TD_TYPE_UTF8);
    return TD_OK;
  }
  td_value tmp;
  size_t from = buf->len;
  bool first = true;
  for (int64_t i = 1; i < e->n_args; i++) {
    if (is_null(&a[i])) continue;
    int rc = first ? TD_OK : td__fbuf_put(buf, a[0].v.s.ptr, a[0].v.s.len, err);
    if (!rc) rc = td__cast_value(&a[i], TD_TYPE_UTF8, &tmp, buf, e->pos, err);
    if (rc) return rc;
    first = false;
  }
  td__fbuf_value(buf, from, out);
  return TD_OK;
}

/* ---- INTERVAL ---- */

static const struct {
  const char *unit;
  int64_t ns;
} units[] = {{"nanosecond", 1},
             {"microsecond", 1000},
             {"millisecond", 1000000},
             {"second", 1000000000},
             {"minute", 60 * 1000000000LL},
             {"hour", 3600 * 1000000000LL},
             {"day", 86400 * 1000000000LL},
             {"week", 7 * 86400 * 1000000000LL},
             /* calendar units: a negative entry is a count of months */
             {"month", -1},
             {"quarter", -3},
             {"year", -12}};

/* The entry of an interval's unit (a literal string), or -1. */
static int unit_index(const td_value *u) {
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (u->v.s.len == strlen(units[i].unit) && memcmp(u->v.s.ptr, units[i].unit, u->v.s.len) == 0) return (int)i;
  return -1;
}

static int bind_interval(td_expr *e, td_error *err) {
  int rc = td_type_is_integer(e->args[0]->type) || e->args[0]->type == TD_TYPE_NONE
               ? TD_OK
               : td__func_arg_error(e, 0, "an integer count", err);
  e->type = TD_TYPE_INT64; /* nanoseconds */
  return rc;
}

static int row_interval(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                        td_error *err) {
  int i = unit_index(&a[1]);
  if (i < 0) return td_err_at(err, TD_ETYPE, e->pos, "unknown interval unit at offset %lld", (long long)e->pos);
  int64_t v; /* nanoseconds, or months for the calendar units */
  if (__builtin_mul_overflow(a[0].v.i, units[i].ns < 0 ? -units[i].ns : units[i].ns, &v))
    return td_err_at(err, TD_ERANGE, e->pos, "interval out of range at offset %lld", (long long)e->pos);
  *out = td_value_int(e->type, v); /* int64 ns, or a duration_ns met by a duration (td__interval_as_span) */
  return TD_OK;
}

bool td__is_interval(const td_expr *e) {
  return e->kind == TD_EXPR_CALL && strcmp(e->name, "interval") == 0;
}

int td__interval_as_span(td_expr *e, td_error *err) {
  const td_expr *u = e->args[1];
  int i = u->kind == TD_EXPR_LITERAL && !u->lit.is_null && td_type_is_text(u->type) ? unit_index(&u->lit) : -1;
  if (i < 0 || units[i].ns < 0)
    return td_err_at(err, TD_EUNSUPPORTED, e->pos,
                     "an INTERVAL of months or years with a duration is not supported at offset %lld (durations "
                     "are fixed lengths: use days)",
                     (long long)e->pos);
  e->type = TD_TYPE_DURATION_NS;
  return TD_OK;
}

/* ts + interval, interval + ts, ts - interval (a BINARY node) */
static int bind_ts_interval(td_expr *e, td_error *err) {
  int ts = td__is_interval(e->args[0]) ? 1 : 0;
  td_type_id t = e->args[ts]->type;
  if (!td_type_is_timestamp(t) && t != TD_TYPE_DATE32 && t != TD_TYPE_DATE64)
    return td__func_arg_error(e, ts, "a timestamp", err);
  if (e->op == TD_OP_SUB && ts == 1)
    return td_err_at(err, TD_ETYPE, e->pos, "cannot subtract a timestamp from an interval at offset %lld",
                     (long long)e->pos);
  e->type = td_type_is_timestamp(t) ? t : TD_TYPE_TIMESTAMP;
  if (e->args[ts]->tz && !(e->tz = td_strdup(e->args[ts]->tz))) return td_err_nomem(err, "binding");
  return TD_OK;
}

static int row_ts_interval(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                           td_error *err) {
  int ts = td__is_interval(e->args[0]) ? 1 : 0;
  int64_t unit = td_type_unit_ns(e->type), from = td_type_unit_ns(a[ts].type);
  int64_t ns = a[1 - ts].v.i, v;
  if (__builtin_mul_overflow(a[ts].v.i, from / unit, &v)) return td__overflow_error(e, err);
  const td_expr *u = e->args[1 - ts]->args[1]; /* the interval's unit: a literal */
  int ui = u->kind == TD_EXPR_LITERAL && !u->lit.is_null ? unit_index(&u->lit) : -1;
  if (ui >= 0 && units[ui].ns < 0) { /* months: the same day (or the month's last) and time (DuckDB) */
    int64_t per_day = 86400 * 1000000000LL / unit, days = v / per_day - (v % per_day < 0), y, total;
    int64_t rem = td__floor_mod(v, per_day);
    int m, d;
    td__civil_from_days(days, &y, &m, &d);
    if (__builtin_add_overflow(y * 12 + (m - 1), e->op == TD_OP_SUB ? -ns : ns, &total) || total / 12 > 1000000 ||
        total / 12 < -1000000)
      return td__overflow_error(e, err);
    int64_t y2 = total / 12 - (total % 12 < 0);
    int m2 = (int)(total - y2 * 12) + 1;
    int64_t last = td__days_from_civil(m2 == 12 ? y2 + 1 : y2, m2 == 12 ? 1 : m2 + 1, 1) - 1;
    int64_t day = td__days_from_civil(y2, m2, 1) + d - 1;
    if (day > last) day = last;
    if (__builtin_mul_overflow(day, per_day, &v) || __builtin_add_overflow(v, rem, &v)) return td__overflow_error(e, err);
    *out = td_value_int(e->type, v);
    return TD_OK;
  }
  int64_t d = ns / unit;
  if (e->op == TD_OP_SUB) d = -d;
  if (__builtin_add_overflow(v, d, &v)) return td__overflow_error(e, err);
  *out = td_value_int(e->type, v);
  return TD_OK;
}

const td_func td__funcs_core[] = {
    TD_FN("case", 2, -1, bind_case, row_case, false, false),
    TD_FN("if", 3, 3, bind_case, row_case, false, false), /* if(c, a, b): CASE WHEN c THEN a ELSE b END */
    TD_FN_VEC("cast", 2, 2, bind_cast, row_cast, true, false, vec_cast),
    TD_FN_VEC("try_cast", 2, 2, bind_cast, row_try_cast, true, false, vec_cast),
    TD_FN_VEC("like", 2, 3, bind_like, row_like, true, false, vec_like),
    TD_FN_VEC("ilike", 2, 3, bind_like, row_like, true, false, vec_like),
    TD_FN("distinct_from", 2, 2, bind_distinct, row_distinct, false, false),
    TD_FN("coalesce", 1, -1, bind_comparable, row_coalesce, false, false),
    TD_FN("ifnull", 2, 2, bind_comparable, row_coalesce, false, false),
    TD_FN("nullif", 2, 2, bind_nullif, row_nullif, false, false),
    TD_FN("greatest", 1, -1, bind_comparable, row_extreme, false, false),
    TD_FN("least", 1, -1, bind_comparable, row_extreme, false, false),
    TD_FN_VEC("%", 2, 2, bind_mod, row_mod, true, false, vec_mod),
    TD_FN_VEC("mod", 2, 2, bind_mod, row_mod, true, false, vec_mod),
    TD_FN_VEC("//", 2, 2, bind_mod, row_idiv, true, false, vec_idiv),
    TD_FN_VEC("||", 2, 2, bind_to_string, row_concat_op, true, false, vec_concat),
    TD_FN_VEC("concat", 1, -1, bind_to_string, row_concat_op, false, false, vec_concat),
    TD_FN("concat_ws", 2, -1, bind_concat_ws, row_concat_ws, false, false),
    TD_FN("interval", 2, 2, bind_interval, row_interval, true, true), /* kept unfolded: see bind.c */
    TD_FN("+interval", 2, 2, bind_ts_interval, row_ts_interval, true, false),
    {NULL, 0, 0, NULL, NULL, false, false, NULL, NULL, NULL}};
