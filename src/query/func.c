/*
 * query/func.c - the scalar function registry (func.h): lookup by name over
 * the families' tables, argument-count checks, row evaluation of a function
 * node, and the helpers the families share (type unification, CAST of one
 * value, timestamp text).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "formats/reader.h"
#include "keys/keys.h"
#include "keys/shortest.h"
#include "query/eval_cond.h"
#include "query/func.h"
#include "util/decimal.h"
#include "query/scalar.h"
#include "util/alloc.h"
#include "util/error.h"

const td_func *td__func_find(const char *name) {
  const td_func *const tables[] = {td__funcs_core, td__funcs_string, td__funcs_math,
                                   td__funcs_time, td__funcs_subq, td__funcs_format};
  for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
    for (const td_func *f = tables[t]; f->name; f++)
      if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

int td__fbuf_put(td_fbuf *b, const char *s, size_t n, td_error *err) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) cap *= 2;
    char *q = td_realloc(b->p, cap);
    if (!q) return td_err_nomem(err, "building a string result");
    b->p = q;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  return TD_OK;
}

void td__fbuf_value(const td_fbuf *b, size_t from, td_value *out) {
  memset(out, 0, sizeof *out);
  out->type = TD_TYPE_UTF8;
  out->v.s.ptr = b->p ? b->p + from : "";
  out->v.s.len = b->len - from;
}

bool td__type_numeric(td_type_id t) { return td_type_is_integer(t) || td_type_is_float(t); }

td_type_id td__type_common(td_type_id a, td_type_id b) {
  if (a == TD_TYPE_NONE) return b;
  if (b == TD_TYPE_NONE || a == b) return a;
  if (td__type_numeric(a) && td__type_numeric(b))
    return td_type_is_float(a) || td_type_is_float(b) ? TD_TYPE_FLOAT64 : TD_TYPE_INT64;
  return TD_TYPE_NONE;
}

int td__func_arg_error(const td_expr *e, int64_t i, const char *what, td_error *err) {
  const td_expr *a = e->args[i];
  return td_err_at(err, TD_ETYPE, a->pos, "%s expects %s as argument %lld, found %s at offset %lld",
                   e->fn ? e->fn->name : e->name ? e->name : "operator", what, (long long)i + 1, td_type_name(a->type),
                   (long long)a->pos);
}

int td__func_want_str(const td_expr *e, int64_t i, td_error *err) {
  td_type_id t = e->args[i]->type;
  return td_type_is_text(t) || t == TD_TYPE_NONE ? TD_OK : td__func_arg_error(e, i, "a string", err);
}

int td__func_want_num(const td_expr *e, int64_t i, td_error *err) {
  td_type_id t = e->args[i]->type;
  return td__type_numeric(t) || t == TD_TYPE_NONE ? TD_OK : td__func_arg_error(e, i, "a number", err);
}

int td__func_bind(const td_func *f, td_expr *e, td_error *err) {
  if (e->star)
    return td_err_at(err, TD_ETYPE, e->pos, "'%s(*)' is not allowed at offset %lld", e->name,
                     (long long)e->pos);
  if (e->n_args < f->min_args || (f->max_args >= 0 && e->n_args > f->max_args)) {
    char want[48];
    if (f->min_args == f->max_args) snprintf(want, sizeof want, "%d", f->min_args);
    else if (f->max_args < 0) snprintf(want, sizeof want, "at least %d", f->min_args);
    else snprintf(want, sizeof want, "%d to %d", f->min_args, f->max_args);
    return td_err_at(err, TD_ETYPE, e->pos, "%s expects %s argument%s at offset %lld, found %lld",
                     e->name, want, f->max_args == 1 ? "" : "s", (long long)e->pos,
                     (long long)e->n_args);
  }
  e->fn = f;
  int rc = f->bind(e, err);
  if (!rc && f->prepare) rc = f->prepare(e, err);
  return rc;
}

int td__func_eval_row(const td_expr *e, const td_value *row, td_value *out, td_error *err) {
  bool cond_done; /* CASE, coalesce: only the arguments that decide (eval_cond.c) */
  int crc = td__cond_eval_row(e, row, out, &cond_done, err);
  if (crc || cond_done) return crc;
  td_value small[8], *args = small;
  if (e->n_args > 8 && !(args = td_malloc((size_t)e->n_args * sizeof *args)))
    return td_err_nomem(err, "evaluating a function");
  int rc = TD_OK;
  bool any_null = false;
  for (int64_t i = 0; !rc && i < e->n_args; i++) {
    rc = td_expr_eval_row(e->args[i], row, &args[i], err);
    if (!rc) any_null |= args[i].is_null || args[i].type == TD_TYPE_NONE; /* a failed argument is unset */
  }
  td_expr *m = (td_expr *)e; /* the scratch buffer is the node's (expr.h) */
  if (!rc && !m->scratch && !(m->scratch = td_calloc(1, sizeof(td_fbuf))))
    rc = td_err_nomem(err, "evaluating a function");
  if (!rc) {
    ((td_fbuf *)m->scratch)->len = 0;
    if (any_null && e->fn->null_in_null_out) *out = td_value_null(e->type);
    else rc = e->fn->row(e, args, out, m->scratch, err);
    if (!rc && out->is_null) out->type = e->type;
  }
  if (args != small) td_free(args);
  return rc;
}

/* ---- CAST of one value ---- */

/* td_format_timestamp's or td_format_temporal's text of a timestamp (tmp, n
 * bytes: YYYY-MM-DDTHH:MM:SS[.f]Z) as DuckDB prints it into buf. */
static int put_ts_text(char *tmp, size_t n, td_fbuf *buf, td_error *err) {
  if (n && tmp[n - 1] == 'Z') n--;
  char *t = memchr(tmp, 'T', n);
  if (t) *t = ' ';
  char *dot = memchr(tmp, '.', n);
  if (dot) { /* DuckDB prints microseconds without trailing zeros */
    while (n > (size_t)(dot - tmp) + 1 && tmp[n - 1] == '0') n--;
    if (tmp[n - 1] == '.') n--;
  }
  return td__fbuf_put(buf, tmp, n, err);
}

int td__format_ts(int64_t ns, td_fbuf *buf, td_error *err) {
  char tmp[64];
  return put_ts_text(tmp, td_format_timestamp(ns, tmp, sizeof tmp), buf, err);
}

/* Shortest text that reads back as d (as a float32 when single), laid
 * out as DuckDB casts doubles to VARCHAR: plain for powers of ten from -4
 * to 15, with ".0" on whole numbers ("300.0", "0.0001"); otherwise
 * scientific with a signed exponent of at least two digits ("1e+16",
 * "1.5e-07"). */
static int format_double(double d, bool single, td_fbuf *buf, td_error *err) {
  char digits[32], tmp[64];
  if (isnan(d)) return td__fbuf_put(buf, "nan", 3, err);
  if (isinf(d)) return td__fbuf_put(buf, d > 0 ? "inf" : "-inf", d > 0 ? 3 : 4, err);
  int x = 0, n = d == 0 ? 1 : td_shortest_digits(fabs(d), single, digits, &x);
  if (d == 0) digits[0] = '0';
  if (n <= 0) return td_err(err, TD_EINVAL, "cannot print the double %a", d);
  size_t k = 0;
  if (signbit(d)) tmp[k++] = '-';
  bool fixed = x >= -4 && x <= 15;
  k += td_digits_text(tmp + k, digits, n, x, fixed);
  if (fixed && !memchr(tmp, '.', k)) { /* a whole number: "300.0" */
    tmp[k++] = '.';
    tmp[k++] = '0';
  }
  return td__fbuf_put(buf, tmp, k, err);
}


/* The value that does not cast, its type and the target type (row_cast
 * adds the expression cast, which names the column). */
static int cast_error(const td_value *v, td_type_id t, int64_t pos, td_error *err) {
  if (td_type_is_varlen(v->type)) {
    int n = v->v.s.len > 60 ? 60 : (int)v->v.s.len;
    return td_err_at(err, TD_ETYPE, pos, "cannot convert '%.*s' to %s at offset %lld", n,
                     v->v.s.ptr, td_type_name(t), (long long)pos);
  }
  td_fbuf b = {0};
  char shown[72];
  if (td__to_text(v, &b, NULL) == TD_OK) snprintf(shown, sizeof shown, "%.*s", b.len > 60 ? 60 : (int)b.len, b.p);
  else snprintf(shown, sizeof shown, "?");
  td_free(b.p);
  bool numbers = td__type_numeric(v->type) && td__type_numeric(t);
  return td_err_at(err, TD_ETYPE, pos, "cannot cast %s value %s to %s%s at offset %lld", td_type_name(v->type),
                   shown, td_type_name(t), numbers ? " (out of its range)" : "", (long long)pos);
}

/* x / 10^k rounded half away from zero (k >= 0). */
static td_i128 dec_div_round(td_i128 x, int k) {
  if (k <= 0) return x;
  td_i128 d = td_dec_pow10(k), q = x / d, r = x % d;
  if (r < 0 ? -r * 2 >= d : r * 2 >= d) q += x < 0 ? -1 : 1;
  return q;
}

static int dec_cast_error(const td_value *v, int p, int s, int64_t pos, td_error *err) {
  char shown[72] = "?";
  td_fbuf b = {0};
  if (td_type_is_varlen(v->type)) snprintf(shown, sizeof shown, "'%.*s'", v->v.s.len > 60 ? 60 : (int)v->v.s.len, v->v.s.ptr);
  else if (td__to_text(v, &b, NULL) == TD_OK) snprintf(shown, sizeof shown, "%.*s", b.len > 60 ? 60 : (int)b.len, b.p);
  td_free(b.p);
  return td_err_at(err, TD_ETYPE, pos, "cannot cast %s value %s to DECIMAL(%d,%d) at offset %lld", td_type_name(v->type),
                   shown, p, s, (long long)pos);
}

/* Decimal text: [+-]digits[.digits][e[+-]digits] as an exact value of
 * scale s rounded half away from zero; false when malformed or too big. */
static bool parse_dec_round(const char *t, size_t n, int s, td_i128 *out) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (t[i] == '+' || t[i] == '-')) neg = t[i++] == '-';
  td_i128 m = 0; /* the digits, at most 38 significant */
  int digits = 0, frac = 0, dropped = 0; /* dropped: significant digits past 38 (scale them back) */
  bool any = false, point = false; /* digits past the 38th significant one are dropped (before the point, counted) */
  for (; i < n; i++) {
    char c = t[i];
    if (c == '.' && !point) {
      point = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    any = true;
    if (digits < 38) {
      if (m || c != '0') digits++;
      m = m * 10 + (c - '0');
      frac += point;
    } else if (!point) {
      dropped++;
    }
  }
  if (!any) return false;
  long e = 0;
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    char *end;
    char buf[24];
    size_t k = n - i - 1;
    if (k == 0 || k >= sizeof buf) return false;
    memcpy(buf, t + i + 1, k);
    buf[k] = 0;
    errno = 0;
    e = strtol(buf, &end, 10);
    if (*end || errno || e > 76 || e < -76) return false;
    i = n;
  }
  if (i != n) return false;
  /* value = m * 10^(dropped + e - frac); wanted: value * 10^s */
  long shift = (long)s + dropped + e - frac;
  if (shift >= 0) {
    if (shift > 38 || (m && digits + shift > 38)) return m == 0 ? (*out = 0, true) : false;
    m *= td_dec_pow10((int)shift);
  } else {
    m = -shift > 38 ? 0 : dec_div_round(m, (int)-shift);
  }
  *out = neg ? -m : m;
  return true;
}

int td__cast_decimal(const td_value *v, int p, int s, td_value *out, int64_t pos, td_error *err) {
  if (v->is_null || v->type == TD_TYPE_NONE) {
    *out = td_value_null(TD_TYPE_DECIMAL128);
    out->scale = (uint8_t)s;
    return TD_OK;
  }
  td_i128 x;
  if (v->type == TD_TYPE_BOOL || td_type_is_integer(v->type)) {
    td_i128 i = v->type == TD_TYPE_BOOL ? (td_i128)v->v.b
                : v->type == TD_TYPE_UINT64 ? (td_i128)v->v.u : (td_i128)v->v.i;
    if (s > 38 || !td_dec_fits(i, p - s)) return dec_cast_error(v, p, s, pos, err);
    x = i * td_dec_pow10(s);
  } else if (td_type_is_float(v->type)) {
    double d = v->v.f * pow(10.0, s);
    if (!isfinite(d) || fabs(d) >= 1.7e38) return dec_cast_error(v, p, s, pos, err);
    x = (td_i128)round(d); /* half away from zero, as DuckDB */
  } else if (v->type == TD_TYPE_DECIMAL128) {
    td_i128 a = td_dec_of(v);
    int from = v->scale;
    if (from > s) x = dec_div_round(a, from - s);
    else if (!td_dec_fits(a, 38 - (s - from))) return dec_cast_error(v, p, s, pos, err);
    else x = a * td_dec_pow10(s - from);
  } else if (td_type_is_text(v->type)) {
    const char *t = v->v.s.ptr;
    size_t n = v->v.s.len;
    while (n && isspace((unsigned char)*t)) t++, n--;
    while (n && isspace((unsigned char)t[n - 1])) n--;
    if (!parse_dec_round(t, n, s, &x)) return dec_cast_error(v, p, s, pos, err);
  } else {
    return dec_cast_error(v, p, s, pos, err);
  }
  if (!td_dec_fits(x, p)) return dec_cast_error(v, p, s, pos, err);
  *out = td_dec_value(p, s, x);
  return TD_OK;
}

/* A double rounded to the nearest float (FLOAT/REAL values hold floats, not doubles); beyond
 * float's range, the infinity of its sign (C leaves that conversion undefined, so it is spelled
 * out). */
static double to_float32(double d) {
  if (isfinite(d) && fabs(d) >= TD_FLOAT32_OVER) return d < 0 ? -INFINITY : INFINITY;
  return (double)(float)d;
}

static bool int_fits(td_type_id t, int64_t x) {
  switch (t) {
    case TD_TYPE_INT8: return x >= INT8_MIN && x <= INT8_MAX;
    case TD_TYPE_INT16: return x >= INT16_MIN && x <= INT16_MAX;
    case TD_TYPE_INT32: return x >= INT32_MIN && x <= INT32_MAX;
    case TD_TYPE_UINT8: return x >= 0 && x <= UINT8_MAX;
    case TD_TYPE_UINT16: return x >= 0 && x <= UINT16_MAX;
    case TD_TYPE_UINT32: return x >= 0 && x <= (int64_t)UINT32_MAX;
    default: return true;
  }
}

/* A value to text (CAST AS VARCHAR). */
int td__to_text(const td_value *v, td_fbuf *buf, td_error *err) {
  char tmp[80];
  if (td_type_is_text(v->type)) return td__fbuf_put(buf, v->v.s.ptr, v->v.s.len, err);
  if (v->type == TD_TYPE_BOOL) return td__fbuf_put(buf, v->v.b ? "true" : "false", v->v.b ? 4 : 5, err);
  if (td_type_is_float(v->type)) return format_double(v->v.f, v->type == TD_TYPE_FLOAT32, buf, err);
  if (td_type_is_timestamp(v->type)) { /* beyond nanoseconds' range (in an error message): in its own unit */
    int64_t ns;
    if (!__builtin_mul_overflow(v->v.i, td_type_unit_ns(v->type), &ns)) return td__format_ts(ns, buf, err);
    return put_ts_text(tmp, td_format_temporal(v->type, v->v.i, tmp, sizeof tmp), buf, err);
  }
  if (td_type_is_temporal(v->type)) {
    size_t n = td_format_temporal(v->type, v->v.i, tmp, sizeof tmp);
    return td__fbuf_put(buf, tmp, n, err);
  }
  if (td_type_is_duration(v->type)) {
    size_t n = td_format_duration(v->type, v->v.i, tmp, sizeof tmp);
    return td__fbuf_put(buf, tmp, n, err);
  }
  if (v->type == TD_TYPE_DECIMAL128) {
    size_t n = td_dec_format(td_dec_of(v), v->scale, tmp, sizeof tmp);
    return td__fbuf_put(buf, tmp, n, err);
  }
  return td__fbuf_put(buf, tmp, td_int_text(v->v.i, v->type == TD_TYPE_UINT64, tmp), err);
}

static int hex_digit(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int td__text_to_binary(const char *s, size_t n, char *out, size_t *out_len, int64_t pos, td_error *err) {
  for (size_t i = 0; i < n; i++) /* checked first: s is intact for the message */
    if (s[i] == '\\') {
      if (!(i + 3 < n && s[i + 1] == 'x' && hex_digit(s[i + 2]) >= 0 && hex_digit(s[i + 3]) >= 0))
        return td_err_at(err, TD_ETYPE, pos,
                         "cannot convert '%.*s' to binary: a backslash must start a \\xHH escape (at byte %zu) "
                         "at offset %lld",
                         n > 60 ? 60 : (int)n, s, i, (long long)pos);
      i += 3;
    }
  size_t k = 0;
  for (size_t i = 0; i < n; i++, k++) {
    if (s[i] != '\\') {
      out[k] = s[i];
      continue;
    }
    out[k] = (char)(hex_digit(s[i + 2]) * 16 + hex_digit(s[i + 3]));
    i += 3;
  }
  *out_len = k;
  return TD_OK;
}

/* CAST to or from binary: text to binary keeps the bytes, reading \xHH
 * escapes as DuckDB does (the form binary values print in); binary to text
 * keeps the bytes, which must be valid UTF-8; binary to binary is a copy. */
static int cast_bytes(const td_value *v, td_type_id t, td_value *out, td_fbuf *buf, int64_t pos, td_error *err) {
  size_t from = buf->len;
  int rc = TD_OK;
  if (td_type_is_binary(t) && td_type_is_text(v->type)) {
    size_t n = v->v.s.len;
    rc = td__fbuf_put(buf, v->v.s.ptr, n, err); /* a copy, unescaped in place (escapes only shrink) */
    if (rc == TD_OK) rc = td__text_to_binary(buf->p + from, n, buf->p + from, &n, pos, err);
    if (rc == TD_OK) buf->len = from + n;
  } else if (td_type_is_binary(t) && td_type_is_binary(v->type)) {
    rc = td__fbuf_put(buf, v->v.s.ptr, v->v.s.len, err);
  } else if (td_type_is_text(t) && td_type_is_binary(v->type)) {
    if (!td_utf8_valid(v->v.s.ptr, (int64_t)v->v.s.len)) {
      char shown[64];
      td_binary_format(v->v.s.ptr, v->v.s.len > 40 ? 40 : v->v.s.len, shown, sizeof shown);
      return td_err_at(err, TD_ETYPE, pos, "cannot convert binary '%s%s' to %s: not valid UTF-8 at offset %lld", shown,
                       v->v.s.len > 40 ? "..." : "", td_type_name(t), (long long)pos);
    }
    rc = td__fbuf_put(buf, v->v.s.ptr, v->v.s.len, err);
  } else {
    return td_err_at(err, TD_ETYPE, pos, "cannot cast %s to %s at offset %lld", td_type_name(v->type),
                     td_type_name(t), (long long)pos);
  }
  if (rc) return rc;
  td__fbuf_value(buf, from, out);
  out->type = t;
  return TD_OK;
}

int td__cast_value(const td_value *v, td_type_id t, td_value *out, td_fbuf *buf, int64_t pos,
                   td_error *err) {
  if (v->is_null || v->type == TD_TYPE_NONE) {
    *out = td_value_null(t);
    return TD_OK;
  }
  if (td_type_is_binary(v->type) || td_type_is_binary(t)) return cast_bytes(v, t, out, buf, pos, err);
  if (td_type_is_text(t)) {
    size_t from = buf->len;
    int rc = td__to_text(v, buf, err);
    if (!rc) td__fbuf_value(buf, from, out);
    out->type = t;
    return rc;
  }
  if (td_type_is_text(v->type)) { /* parse the text */
    char tmp[128];
    size_t n = v->v.s.len;
    const char *s = v->v.s.ptr;
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (td_type_is_temporal(t)) {
      int64_t ns;
      if (!td_parse_timestamp(s, n, &ns)) return cast_error(v, t, pos, err);
      int64_t unit = td_type_unit_ns(t);
      int64_t q = ns / unit - (ns % unit < 0);
      *out = td_value_int(t, q);
      return TD_OK;
    }
    if (n >= sizeof tmp) return cast_error(v, t, pos, err);
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    if (t == TD_TYPE_BOOL) {
      if (strcasecmp(tmp, "true") == 0 || strcmp(tmp, "1") == 0 || strcasecmp(tmp, "t") == 0) *out = td_value_bool(true);
      else if (strcasecmp(tmp, "false") == 0 || strcmp(tmp, "0") == 0 || strcasecmp(tmp, "f") == 0) *out = td_value_bool(false);
      else return cast_error(v, t, pos, err);
      return TD_OK;
    }
    if (td_type_is_float(t)) {
      double d = strtod(tmp, &end);
      if (end == tmp || *end) return cast_error(v, t, pos, err);
      *out = td_value_double(t, t == TD_TYPE_FLOAT32 ? to_float32(d) : d); /* '1e300' AS FLOAT: inf, as DuckDB */
      return TD_OK;
    }
    long long x = strtoll(tmp, &end, 10);
    if (end != tmp && *end == '.') { /* '1.5' AS INTEGER rounds, as DuckDB */
      double d = strtod(tmp, &end);
      if (*end || !(fabs(d) < 9.2e18)) return cast_error(v, t, pos, err);
      x = (long long)nearbyint(d); /* half to even, as DuckDB */
    } else if (end == tmp || *end || errno == ERANGE) {
      return cast_error(v, t, pos, err);
    }
    if (!int_fits(t, x)) return cast_error(v, t, pos, err);
    *out = td_value_int(t, x);
    return TD_OK;
  }
  if (t == TD_TYPE_BOOL) {
    if (v->type == TD_TYPE_BOOL) *out = *v;
    else if (td__type_numeric(v->type)) *out = td_value_bool(td__value_double(v) != 0);
    else return cast_error(v, t, pos, err);
    return TD_OK;
  }
  if (td_type_is_float(t)) {
    if (td_type_is_temporal(v->type)) return cast_error(v, t, pos, err);
    double d = td__value_double(v);
    if (t == TD_TYPE_FLOAT32) { /* a finite number beyond float's range is an error, as DuckDB */
      if (isfinite(d) && fabs(d) >= TD_FLOAT32_OVER) return cast_error(v, t, pos, err);
      d = to_float32(d);
    }
    *out = td_value_double(t, d);
    return TD_OK;
  }
  if (td_type_is_temporal(t)) {
    if (!td_type_is_temporal(v->type)) {
      if (!td_type_is_integer(v->type)) return cast_error(v, t, pos, err);
      *out = td_value_int(t, v->v.i); /* an integer count of t's unit */
      return TD_OK;
    }
    int64_t from = td_type_unit_ns(v->type), to = td_type_unit_ns(t), ns;
    if (__builtin_mul_overflow(v->v.i, from, &ns)) return cast_error(v, t, pos, err);
    *out = td_value_int(t, ns / to - (ns % to < 0));
    return TD_OK;
  }
  /* integer targets */
  int64_t x;
  if (v->type == TD_TYPE_BOOL) x = v->v.b;
  else if (td_type_is_float(v->type)) {
    double d = v->v.f;
    if (!(fabs(d) < 9.2e18)) return cast_error(v, t, pos, err);
    x = (long long)nearbyint(d); /* half to even, as DuckDB */
  } else if (td_type_is_temporal(v->type)) {
    return cast_error(v, t, pos, err);
  } else x = v->v.i;
  if (!int_fits(t, x)) return cast_error(v, t, pos, err);
  *out = td_value_int(t, x);
  return TD_OK;
}
