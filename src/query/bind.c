/*
 * query/bind.c - the binder: resolves columns against a schema, types every
 * node, checks operand types, parses timestamp literals, rewrites BETWEEN,
 * pushes NOT down and folds constant subtrees.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "query/agg_more.h"
#include "query/func.h"
#include "query/inset.h"
#include "query/lex.h"
#include "query/scalar.h"
#include "tabledata/keys.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

typedef struct binder {
  const td_schema *schema;
  int flags;
  td_error *err;
} binder;

static int bind_node(binder *b, td_expr **slot, bool in_agg);

static bool is_numeric(td_type_id t) { return td_type_is_integer(t) || td_type_is_float(t); }

/* ---- ISO-8601 timestamps ---- */

int64_t td__days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* Reads exactly n digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out) {
  int v = 0;
  for (int k = 0; k < n; k++, (*i)++) {
    if (*i >= len || !isdigit((unsigned char)s[*i])) return false;
    v = v * 10 + (s[*i] - '0');
  }
  *out = v;
  return true;
}

static bool expect_char(const char *s, size_t len, size_t *i, char c) {
  if (*i >= len || s[*i] != c) return false;
  (*i)++;
  return true;
}

static bool parse_offset(const char *s, size_t len, size_t *i, int64_t *off_s) {
  *off_s = 0;
  if (*i == len) return true;
  if (s[*i] == 'Z') return ++(*i) == len;
  if (s[*i] != '+' && s[*i] != '-') return false;
  int sign = s[(*i)++] == '-' ? -1 : 1, hh, mm = 0;
  if (!digits(s, len, i, 2, &hh)) return false;
  if (*i < len && s[*i] == ':') (*i)++;
  if (*i < len && !digits(s, len, i, 2, &mm)) return false;
  if (hh > 23 || mm > 59) return false;
  *off_s = sign * (hh * 3600 + mm * 60);
  return *i == len;
}

static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* HH:MM[:SS[.fraction]] at s[*i]; the fraction in nanoseconds. */
static bool parse_clock(const char *s, size_t len, size_t *i, int *h, int *mi, int *sec,
                        int64_t *frac) {
  *sec = 0;
  *frac = 0;
  if (!digits(s, len, i, 2, h) || !expect_char(s, len, i, ':') || !digits(s, len, i, 2, mi))
    return false;
  if (*i < len && s[*i] == ':') {
    (*i)++;
    if (!digits(s, len, i, 2, sec)) return false;
    if (*i < len && s[*i] == '.') {
      (*i)++;
      int n = 0;
      while (*i < len && isdigit((unsigned char)s[*i]) && n < 9) *frac = *frac * 10 + (s[(*i)++] - '0'), n++;
      if (n == 0 || (*i < len && isdigit((unsigned char)s[*i]))) return false;
      while (n++ < 9) *frac *= 10;
    }
  }
  return *h <= 23 && *mi <= 59 && *sec <= 59;
}

/* Parses an ISO-8601 date or date-time into whole seconds since the epoch
 * and nanoseconds [0, 1e9) past them; any year 0000-9999 fits. */
static bool parse_ts_parts(const char *s, size_t len, int64_t *out_secs, int64_t *out_frac) {
  size_t i = 0;
  int y, mo, d, h = 0, mi = 0, sec = 0;
  int64_t frac = 0, off = 0;
  if (!digits(s, len, &i, 4, &y) || !expect_char(s, len, &i, '-') ||
      !digits(s, len, &i, 2, &mo) || !expect_char(s, len, &i, '-') ||
      !digits(s, len, &i, 2, &d))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1]) return false;
  if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return false;
  if (i < len && (s[i] == 'T' || s[i] == ' ')) {
    i++;
    if (!parse_clock(s, len, &i, &h, &mi, &sec, &frac)) return false;
  }
  if (!parse_offset(s, len, &i, &off)) return false;
  *out_secs = td__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
  *out_frac = frac;
  return true;
}

/* td_parse_timestamp; *out_of_range is set (and false returned) for a
 * well-formed time that nanoseconds since the epoch in int64 cannot hold
 * (before 1677-09-21T00:12:43.145224192Z or after
 * 2262-04-11T23:47:16.854775807Z). */
static bool parse_ts(const char *s, size_t len, int64_t *out_ns, bool *out_of_range) {
  *out_of_range = false;
  int64_t secs, frac, ns;
  if (!parse_ts_parts(s, len, &secs, &frac)) return false;
  if (secs < 0 && frac > 0) { /* keep the product in range near the lower end */
    secs++;
    frac -= 1000000000;
  }
  if (__builtin_mul_overflow(secs, (int64_t)1000000000, &ns) || __builtin_add_overflow(ns, frac, &ns)) {
    *out_of_range = true;
    return false;
  }
  *out_ns = ns;
  return true;
}

bool td_parse_timestamp(const char *s, size_t len, int64_t *out_ns) {
  bool out_of_range;
  return parse_ts(s, len, out_ns, &out_of_range);
}

/* ---- helpers ---- */

static int type_err(binder *b, int64_t pos, const char *fmt, const char *x, const char *y) {
  char msg[512];
  snprintf(msg, sizeof msg, fmt, x, y);
  return td_err_at(b->err, TD_ETYPE, pos, "%s at offset %lld", msg, (long long)pos);
}

static int set_tz(binder *b, td_expr *e, const char *tz) {
  if (!tz || e->tz) return TD_OK;
  e->tz = td_strdup(tz);
  return e->tz ? TD_OK : td_err_nomem(b->err, "binding a timestamp");
}

/* Turns a utf8 literal compared with a timestamp into a timestamp literal. */
static int to_timestamp(binder *b, td_expr *lit) {
  int64_t ns;
  const char *s = lit->lit.v.s.ptr;
  int n = lit->lit.v.s.len > 60 ? 60 : (int)lit->lit.v.s.len;
  bool out_of_range;
  if (!parse_ts(s, lit->lit.v.s.len, &ns, &out_of_range) && out_of_range)
    return td_err_at(b->err, TD_ETYPE, lit->pos,
                     "timestamp '%.*s' at offset %lld is out of range: timestamps are nanoseconds "
                     "since 1970 in int64, from 1677-09-21T00:12:43.145224192Z to "
                     "2262-04-11T23:47:16.854775807Z",
                     n, s, (long long)lit->pos);
  if (out_of_range || !td_parse_timestamp(s, lit->lit.v.s.len, &ns))
    return td_err_at(b->err, TD_ETYPE, lit->pos,
                     "cannot parse '%.*s' as a timestamp at offset %lld (expected ISO-8601 such "
                     "as '2024-01-02T10:30:00Z')",
                     n, s, (long long)lit->pos);
  td_free((void *)s);
  lit->lit = td_value_int(TD_TYPE_TIMESTAMP, ns);
  lit->type = TD_TYPE_TIMESTAMP;
  return TD_OK;
}

static int64_t floor_div64(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* secs + frac ns as a count of `unit_ns` units, rounded down; *inexact when
 * it was rounded.  False when the count leaves int64 (or int32 for the
 * 4-byte types). */
static bool to_units(td_type_id t, int64_t secs, int64_t frac, int64_t *v, bool *inexact) {
  int64_t unit = td_type_unit_ns(t);
  if (unit >= 1000000000) {
    int64_t spu = unit / 1000000000;
    *v = floor_div64(secs, spu);
    *inexact = secs - *v * spu != 0 || frac != 0;
  } else {
    int64_t per = 1000000000 / unit;
    if (__builtin_mul_overflow(secs, per, v) || __builtin_add_overflow(*v, frac / unit, v)) return false;
    *inexact = frac % unit != 0;
  }
  return td_type_width(t) == 8 || (*v >= INT32_MIN && *v <= INT32_MAX);
}

/* A literal v < lit < v + 1 in the units of t (rounded down to v): x < lit
 * is x <= v and x >= lit is x > v (mirrored when lit is left); for = and <>
 * (op NULL: IN) no value can be equal, an error. */
static int finer_than_unit(binder *b, const td_expr *lit, int n, const char *s, td_type_id t, td_op *op,
                           bool lit_left) {
  if (!op || *op == TD_OP_EQ || *op == TD_OP_NE)
    return td_err_at(b->err, TD_ETYPE, lit->pos,
                     "'%.*s' at offset %lld is finer than the unit of %s: no value can be "
                     "equal to it (compare with < or > instead)",
                     n, s, (long long)lit->pos, td_type_name(t));
  if (!lit_left) *op = *op == TD_OP_LT ? TD_OP_LE : *op == TD_OP_GE ? TD_OP_GT : *op;
  else *op = *op == TD_OP_LE ? TD_OP_LT : *op == TD_OP_GT ? TD_OP_GE : *op;
  return TD_OK;
}

/*
 * Turns a utf8 literal compared (by *op, literal on the right unless
 * lit_left) with a date, time or non-ns timestamp into a literal of that
 * type, exactly: a literal finer than the unit (12:00:00.5 against seconds)
 * is rounded down and the comparison adjusted (x < 10.5 is x <= 10), and
 * for = and <> (and IN) it is an error rather than a silent rounding.
 */
static int to_temporal(binder *b, td_expr *lit, td_type_id t, td_op *op, bool lit_left) {
  const char *s = lit->lit.v.s.ptr;
  size_t len = lit->lit.v.s.len;
  int n = len > 60 ? 60 : (int)len;
  bool is_time = t == TD_TYPE_TIME32_S || t == TD_TYPE_TIME32_MS || t == TD_TYPE_TIME64_US ||
                 t == TD_TYPE_TIME64_NS;
  int64_t secs, frac, v;
  bool inexact;
  if (is_time) {
    size_t i = 0;
    int h, mi, sec;
    if (!parse_clock(s, len, &i, &h, &mi, &sec, &frac) || i != len)
      return td_err_at(b->err, TD_ETYPE, lit->pos,
                       "cannot parse '%.*s' as a %s at offset %lld (expected a time of day such "
                       "as '10:30:00' or '10:30:00.123456')",
                       n, s, td_type_name(t), (long long)lit->pos);
    secs = h * 3600 + mi * 60 + sec;
  } else if (!parse_ts_parts(s, len, &secs, &frac)) {
    return td_err_at(b->err, TD_ETYPE, lit->pos,
                     "cannot parse '%.*s' as a %s at offset %lld (expected ISO-8601 such as "
                     "'2024-01-02' or '2024-01-02T10:30:00Z')",
                     n, s, td_type_name(t), (long long)lit->pos);
  }
  if (!to_units(t, secs, frac, &v, &inexact))
    return td_err_at(b->err, TD_ETYPE, lit->pos, "'%.*s' at offset %lld is out of the range of %s",
                     n, s, (long long)lit->pos, td_type_name(t));
  int rc = inexact ? finer_than_unit(b, lit, n, s, t, op, lit_left) : TD_OK;
  if (rc) return rc;
  td_free((void *)s);
  lit->lit = td_value_int(t, v);
  lit->type = t;
  return TD_OK;
}

/*
 * A timestamp or date literal (TIMESTAMP '...', DATE '...', folded casts)
 * compared with a timestamp or date of another unit becomes a literal of
 * that type, exactly, as a string literal does (to_temporal): as DuckDB,
 * which casts it, `ts_us < TIMESTAMP '1970-01-01'` compares.
 */
static int retime(binder *b, td_expr *lit, td_type_id t, td_op *op, bool lit_left) {
  int64_t from = td_type_unit_ns(lit->type), to = td_type_unit_ns(t), ns, v;
  char text[64];
  td_value_format(&lit->lit, text, sizeof text);
  if (__builtin_mul_overflow(lit->lit.v.i, from, &ns))
    return td_err_at(b->err, TD_ETYPE, lit->pos, "'%s' at offset %lld is out of the range of %s", text,
                     (long long)lit->pos, td_type_name(t));
  v = ns / to - (ns % to < 0);
  if (td_type_width(t) == 4 && (v < INT32_MIN || v > INT32_MAX))
    return td_err_at(b->err, TD_ETYPE, lit->pos, "'%s' at offset %lld is out of the range of %s", text,
                     (long long)lit->pos, td_type_name(t));
  int rc = v * to != ns ? finer_than_unit(b, lit, (int)strlen(text), text, t, op, lit_left) : TD_OK;
  if (rc) return rc;
  lit->lit = td_value_int(t, v);
  lit->type = t;
  return TD_OK;
}

static bool temporal_literal(const td_expr *e) {
  return e->kind == TD_EXPR_LITERAL && !e->lit.is_null &&
         (td_type_is_timestamp(e->type) || e->type == TD_TYPE_DATE32 || e->type == TD_TYPE_DATE64);
}

static bool utf8_literal(const td_expr *e) {
  return e->kind == TD_EXPR_LITERAL && td_type_is_text(e->type) && !e->lit.is_null;
}

/*
 * A numeric or string literal compared with a decimal128 column of "p,s"
 * `param` becomes a decimal128 literal holding the unscaled value in the
 * column's scale (scale field 0: inside the evaluator every decimal of one
 * comparison is unscaled in the same scale).  Integers are exact; a float
 * literal is taken as its shortest decimal text (12.345 is exactly
 * 12.345); a literal with more fraction digits than the scale is rounded
 * down and the operator adjusted as for temporal literals (x < 1.005 with
 * scale 2 is x <= 1.00), and is an error for = and <> (and IN).
 */
static int to_decimal(binder *b, td_expr *lit, const char *param, td_op *op, bool lit_left) {
  int p, sc;
  if (!td_dec_params(param, &p, &sc)) return td_err_at(b->err, TD_ETYPE, lit->pos, "decimal128 column without a precision and scale");
  char text[128];
  size_t len;
  if (td_type_is_text(lit->type)) {
    len = lit->lit.v.s.len < sizeof text - 1 ? lit->lit.v.s.len : sizeof text - 1;
    memcpy(text, lit->lit.v.s.ptr, len);
    text[len] = 0;
  } else {
    len = td_value_format(&lit->lit, text, sizeof text);
    if (len >= sizeof text) len = sizeof text - 1;
  }
  td_i128 v;
  bool inexact = false;
  if (!td_dec_parse(text, len, TD_DECIMAL128_MAX_PRECISION, sc, &v)) {
    /* more fraction digits than the scale? cut them and remember the rest */
    const char *dot = memchr(text, '.', len);
    size_t keep = dot ? (size_t)(dot - text) + 1 + (size_t)sc : len;
    bool plain = !memchr(text, 'e', len) && !memchr(text, 'E', len);
    if (plain && dot && keep < len) {
      for (size_t i = keep; i < len; i++) inexact |= text[i] != '0';
      if (!td_dec_parse(text, keep, TD_DECIMAL128_MAX_PRECISION, sc, &v)) inexact = false, plain = false;
      else if (inexact && text[0] == '-') v -= 1; /* truncated toward zero: floor is one less */
    }
    if (!plain || !dot || keep >= len)
      return td_err_at(b->err, TD_ETYPE, lit->pos,
                       "cannot compare decimal128(%d,%d) with '%.*s' at offset %lld (expected a number of at "
                       "most 38 digits)",
                       p, sc, (int)(len > 60 ? 60 : len), text, (long long)lit->pos);
  }
  if (inexact) {
    if (!op || *op == TD_OP_EQ || *op == TD_OP_NE)
      return td_err_at(b->err, TD_ETYPE, lit->pos,
                       "'%s' at offset %lld has more fraction digits than decimal128(%d,%d): no value can be "
                       "equal to it (compare with < or > instead)",
                       text, (long long)lit->pos, p, sc);
    if (!lit_left) *op = *op == TD_OP_LT ? TD_OP_LE : *op == TD_OP_GE ? TD_OP_GT : *op;
    else *op = *op == TD_OP_LE ? TD_OP_LT : *op == TD_OP_GT ? TD_OP_GE : *op;
  }
  if (td_type_is_varlen(lit->type)) td_free((void *)lit->lit.v.s.ptr);
  lit->lit = td_dec_value(TD_DECIMAL128_MAX_PRECISION, 0, v);
  lit->type = TD_TYPE_DECIMAL128;
  return set_tz(b, lit, param);
}

/* A string literal compared with a binary value is read as
 * CAST(literal AS BLOB) reads it (\xHH escapes), as DuckDB does. */
static int to_binary(binder *b, td_expr *lit) {
  char *s = (char *)lit->lit.v.s.ptr; /* the literal owns its bytes */
  size_t n;
  int rc = td__text_to_binary(s, lit->lit.v.s.len, s, &n, lit->pos, b->err);
  if (rc) return rc;
  lit->lit.v.s.len = n;
  lit->lit.type = lit->type = TD_TYPE_BINARY;
  return TD_OK;
}

static bool literal_of(const td_expr *e) {
  return e->kind == TD_EXPR_LITERAL && !e->lit.is_null &&
         (td_type_is_text(e->type) || td_type_is_integer(e->type) || td_type_is_float(e->type));
}

/* A string literal compared with a number is cast to the number's type, as
 * DuckDB does (`id = '3'`); TD_ETYPE at the literal when it is no such
 * number. */
static int to_number(binder *b, td_expr *lit, td_type_id t) {
  td_value v;
  td_fbuf scratch = {0};
  int rc = td__cast_value(&lit->lit, t, &v, &scratch, lit->pos, b->err);
  td_free(scratch.p);
  if (rc) return rc;
  td_free((void *)lit->lit.v.s.ptr); /* the literal owns its text */
  lit->lit = v;
  lit->type = t;
  return TD_OK;
}

/* Decimal operands: a literal is converted; two decimals need one "p,s". */
static int check_decimal(binder *b, td_expr *x, td_expr *y, int64_t pos, td_op *op) {
  if (x->type == TD_TYPE_DECIMAL128 && y->type == TD_TYPE_DECIMAL128) {
    if (x->tz && y->tz && strcmp(x->tz, y->tz) == 0) return TD_OK;
    return td_err_at(b->err, TD_ETYPE, pos,
                     "cannot compare decimal128(%s) with decimal128(%s) at offset %lld: decimals of different "
                     "precision or scale are not compared (compare each with a literal)",
                     x->tz ? x->tz : "?", y->tz ? y->tz : "?", (long long)pos);
  }
  td_expr *dec = x->type == TD_TYPE_DECIMAL128 ? x : y, *other = dec == x ? y : x;
  if (literal_of(other)) return to_decimal(b, other, dec->tz, op, other == x);
  return td_err_at(b->err, TD_ETYPE, pos,
                   "cannot compare decimal128(%s) with %s at offset %lld (a decimal column compares with "
                   "a number or string literal, or a decimal of the same precision and scale)",
                   dec->tz ? dec->tz : "?", td_type_name(other->type), (long long)pos);
}

/* uint64 operands compare exactly as 128-bit integers: with another uint64,
 * a signed integer, a decimal of scale 0, or a literal (converted as for a
 * decimal(20,0) column, so `u > 1.5` is `u >= 2`). */
static int check_uint64(binder *b, td_expr *x, td_expr *y, int64_t pos, td_op *op) {
  td_expr *u = x->type == TD_TYPE_UINT64 ? x : y, *other = u == x ? y : x;
  int p, sc;
  if (other->type == TD_TYPE_UINT64 || td_type_is_integer(other->type)) return TD_OK;
  if (literal_of(other)) return to_decimal(b, other, "20,0", op, other == x);
  if (other->type == TD_TYPE_DECIMAL128 && td_dec_params(other->tz, &p, &sc) && sc == 0) return TD_OK;
  return td_err_at(b->err, TD_ETYPE, pos,
                   "cannot compare uint64 with %s at offset %lld (a uint64 compares with integers, decimals "
                   "of scale 0 and number or string literals)",
                   td_type_name(other->type), (long long)pos);
}

static int interval_span(binder *b, td_expr *iv);

/* A duration compared with a duration (any unit) or an INTERVAL of fixed
 * length: both in the finer unit.  The operands are rescaled in place: the
 * node of a comparison holds them as args, which x and y are. */
static int check_spans(binder *b, td_expr *x, td_expr *y, int64_t pos) {
  td_expr *v[2] = {x, y};
  for (int i = 0; i < 2; i++)
    if (td__is_interval(v[i]) && !td_type_is_duration(v[i]->type)) {
      int rc = interval_span(b, v[i]);
      if (rc) return rc;
    }
  td_type_id s = x->type, t = y->type;
  if (!td_type_is_duration(s) || !td_type_is_duration(t))
    return type_err(b, pos, "cannot compare %s with %s (a duration compares with durations and INTERVALs)",
                    td_type_name(s), td_type_name(t));
  return TD_OK; /* of different units: the caller brings them to one (spans_one_unit) */
}

/* Checks that a and b can be compared; `pos` is where to point on error;
 * `op` is the comparison (NULL for IN, which tests equality). */
static int check_compare(binder *b, td_expr *x, td_expr *y, int64_t pos, td_op *op) {
  td_type_id s = x->type, t = y->type;
  if (s == TD_TYPE_NONE || t == TD_TYPE_NONE) return TD_OK;
  if (s == TD_TYPE_TIMESTAMP && utf8_literal(y)) return to_timestamp(b, y);
  if (t == TD_TYPE_TIMESTAMP && utf8_literal(x)) return to_timestamp(b, x);
  if (td_type_is_temporal(s) && utf8_literal(y)) return to_temporal(b, y, s, op, false);
  if (td_type_is_temporal(t) && utf8_literal(x)) return to_temporal(b, x, t, op, true);
  if (td_type_is_binary(s) && utf8_literal(y)) return to_binary(b, y);
  if (td_type_is_binary(t) && utf8_literal(x)) return to_binary(b, x);
  if (td_type_is_duration(s) || td_type_is_duration(t)) return check_spans(b, x, y, pos);
  if (s == TD_TYPE_UINT64 || t == TD_TYPE_UINT64) return check_uint64(b, x, y, pos, op);
  if (s == TD_TYPE_DECIMAL128 || t == TD_TYPE_DECIMAL128) return check_decimal(b, x, y, pos, op);
  if ((is_numeric(s) && is_numeric(t)) || s == t) return TD_OK;
  if (is_numeric(s) && utf8_literal(y)) return to_number(b, y, s);
  if (is_numeric(t) && utf8_literal(x)) return to_number(b, x, t);
  bool dated_s = td_type_is_timestamp(s) || s == TD_TYPE_DATE32 || s == TD_TYPE_DATE64,
       dated_t = td_type_is_timestamp(t) || t == TD_TYPE_DATE32 || t == TD_TYPE_DATE64;
  if (dated_s && dated_t && temporal_literal(y)) return retime(b, y, s, op, false);
  if (dated_s && dated_t && temporal_literal(x)) return retime(b, x, t, op, true);
  if (td_type_is_temporal(s) && td_type_is_temporal(t))
    return type_err(b, pos,
                    "cannot compare %s with %s: temporal values of different types or units are "
                    "not compared (compare each with an ISO-8601 string literal)",
                    td_type_name(s), td_type_name(t));
  return type_err(b, pos, "cannot compare %s with %s", td_type_name(s), td_type_name(t));
}

static td_op flip_op(td_op op) {
  switch (op) {
    case TD_OP_EQ: return TD_OP_NE;
    case TD_OP_NE: return TD_OP_EQ;
    case TD_OP_LT: return TD_OP_GE;
    case TD_OP_LE: return TD_OP_GT;
    case TD_OP_GT: return TD_OP_LE;
    case TD_OP_GE: return TD_OP_LT;
    default: return op;
  }
}

/* Replaces *slot (a bound bool expression) by its negation, pushed down. */
static int negate(binder *b, td_expr **slot) {
  td_expr *e = *slot;
  bool is_cmp = e->kind == TD_EXPR_BINARY && e->op >= TD_OP_EQ && e->op <= TD_OP_GE;
  if (is_cmp && !td_type_is_float(e->args[0]->type) && !td_type_is_float(e->args[1]->type)) {
    e->op = flip_op(e->op);
    return TD_OK;
  }
  if (e->kind == TD_EXPR_UNARY && e->op == TD_OP_NOT) {
    *slot = e->args[0];
    e->n_args = 0;
    td_expr_free(e);
    return TD_OK;
  }
  if (e->kind == TD_EXPR_IS_NULL || e->kind == TD_EXPR_IN) {
    e->negated = !e->negated;
    return TD_OK;
  }
  if (e->kind == TD_EXPR_LITERAL) {
    if (!e->lit.is_null && e->lit.type == TD_TYPE_BOOL) e->lit.v.b = !e->lit.v.b;
    return TD_OK;
  }
  if (e->kind == TD_EXPR_BINARY && (e->op == TD_OP_AND || e->op == TD_OP_OR)) {
    e->op = e->op == TD_OP_AND ? TD_OP_OR : TD_OP_AND;
    int rc = negate(b, &e->args[0]);
    if (!rc) rc = negate(b, &e->args[1]);
    if (!rc) rc = td__expr_check_height(e, b->err);
    return rc;
  }
  td_expr *n = td__expr_new(TD_EXPR_UNARY, e->pos, b->err);
  if (!n) return TD_ENOMEM;
  n->op = TD_OP_NOT;
  n->type = TD_TYPE_BOOL;
  int rc = td__expr_add(n, e, b->err);
  if (rc) { /* td__expr_add freed e: keep the slot valid */
    *slot = NULL;
    td_expr_free(n);
    return rc;
  }
  *slot = n;
  return td__expr_check_height(n, b->err);
}

/* x [NOT] BETWEEN lo AND hi -> (x >= lo AND x <= hi) or (x < lo OR x > hi). */
static int rewrite_between(binder *b, td_expr **slot) {
  td_expr *e = *slot, *x2;
  int rc = td_expr_clone(e->args[0], &x2, b->err);
  if (rc) return rc;
  td_expr *lo = td__expr_new(TD_EXPR_BINARY, e->args[1]->pos, b->err);
  td_expr *hi = td__expr_new(TD_EXPR_BINARY, e->args[2]->pos, b->err);
  if (!lo || !hi) {
    td_expr_free(lo);
    td_expr_free(hi);
    td_expr_free(x2);
    return TD_ENOMEM;
  }
  lo->op = e->negated ? TD_OP_LT : TD_OP_GE;
  hi->op = e->negated ? TD_OP_GT : TD_OP_LE;
  lo->args = e->args; /* reuse the argument array for lo: [x, lo] */
  lo->n_args = 2;
  td_expr *hib = e->args[2];
  e->args = NULL;
  e->n_args = 0;
  rc = td__expr_add(hi, x2, b->err);
  if (!rc) rc = td__expr_add(hi, hib, b->err);
  else td_expr_free(hib);
  /* e becomes the AND / OR node over lo and hi */
  e->kind = TD_EXPR_BINARY;
  e->op = e->negated ? TD_OP_OR : TD_OP_AND;
  e->negated = false;
  if (!rc) rc = td__expr_add(e, lo, b->err);
  else td_expr_free(lo);
  if (!rc) rc = td__expr_add(e, hi, b->err);
  else td_expr_free(hi);
  if (!rc) rc = td__expr_check_height(lo, b->err);
  if (!rc) rc = td__expr_check_height(hi, b->err);
  if (!rc) rc = td__expr_check_height(e, b->err);
  return rc;
}

/* ---- typing of each node kind ---- */

static int bind_column(binder *b, td_expr *e) {
  int64_t i = td_schema_find(b->schema, e->name);
  if (i < 0)
    return td_err_at(b->err, TD_ETYPE, e->pos, "unknown column '%s' at offset %lld", e->name,
                     (long long)e->pos);
  e->column = i;
  /* large_utf8/large_binary pages have the engine's 32-bit layout: inside
   * expressions they are utf8/binary, so they mix with every other string */
  e->type = td_type_small(b->schema->fields[i].type);
  return set_tz(b, e, b->schema->fields[i].tz);
}

/* ---- spans: timestamp - timestamp, timestamp +- duration, duration arithmetic ---- */

static int rescale(binder *b, td_expr **slot, td_type_id t);
static td_type_id span_of_unit(int64_t ns);
static int fold(binder *b, td_expr *e);
static int to_literal(binder *b, td_expr *e);

static bool is_point(td_type_id t) {
  return td_type_is_timestamp(t) || t == TD_TYPE_DATE32 || t == TD_TYPE_DATE64;
}
static bool is_clock(td_type_id t) {
  return t == TD_TYPE_TIME32_S || t == TD_TYPE_TIME32_MS || t == TD_TYPE_TIME64_US || t == TD_TYPE_TIME64_NS;
}
/* Nanoseconds per unit of a temporal or duration type (0 for others). */
static int64_t unit_any(td_type_id t) { return td_type_is_duration(t) ? td_duration_unit_ns(t) : td_type_unit_ns(t); }
/* The duration / timestamp type of a unit of 1, 1e3, 1e6 or 1e9 ns. */
static td_type_id span_of_unit(int64_t ns) {
  return ns == 1 ? TD_TYPE_DURATION_NS : ns == 1000 ? TD_TYPE_DURATION_US : ns == 1000000 ? TD_TYPE_DURATION_MS
                                                                                             : TD_TYPE_DURATION_S;
}
static td_type_id ts_of_unit(int64_t ns) {
  return ns == 1 ? TD_TYPE_TIMESTAMP : ns == 1000 ? TD_TYPE_TIMESTAMP_US : ns == 1000000 ? TD_TYPE_TIMESTAMP_MS
                                                                                          : TD_TYPE_TIMESTAMP_S;
}
/* The finer of two units, at most a second (a date's day is 1e9 * 86400). */
static int64_t finer_unit(td_type_id s, td_type_id t) {
  int64_t u = unit_any(s) < unit_any(t) ? unit_any(s) : unit_any(t);
  return u > 1000000000 ? 1000000000 : u;
}

/* Wraps *slot into @rescale to type t (func_time.c) unless it is of type t. */
static int rescale(binder *b, td_expr **slot, td_type_id t) {
  td_expr *x = *slot;
  if (x->type == t) return TD_OK;
  td_expr *c = td__expr_new(TD_EXPR_CALL, x->pos, b->err), *lit = td__expr_new(TD_EXPR_LITERAL, x->pos, b->err);
  if (c) c->name = td_strdup("@rescale");
  if (!c || !lit || !c->name) {
    td_expr_free(c);
    td_expr_free(lit);
    return td_err_nomem(b->err, "binding");
  }
  lit->lit = td_value_int(TD_TYPE_INT64, (int64_t)t);
  lit->type = TD_TYPE_INT64;
  *slot = c; /* owns x from here (td__expr_add frees the child on failure) */
  int rc = td__expr_add(c, x, b->err);
  if (rc) {
    td_expr_free(lit);
    *slot = NULL;
    td_expr_free(c);
    return rc;
  }
  if ((rc = td__expr_add(c, lit, b->err))) return rc;
  if ((rc = td__func_bind(td__func_find("@rescale"), c, b->err))) return rc;
  if ((rc = set_tz(b, c, x->tz))) return rc;
  if ((rc = td__expr_check_height(c, b->err))) return rc;
  return fold(b, c); /* a literal stays a literal (IN sets, statistics) */
}

/* An INTERVAL of fixed length met by a duration: a duration_ns (months and
 * years have no fixed length: not supported). */
static int interval_span(binder *b, td_expr *iv) {
  int rc = td__interval_as_span(iv, b->err);
  if (rc || iv->args[0]->kind != TD_EXPR_LITERAL) return rc;
  return to_literal(b, iv); /* a constant now: the unit is no longer needed (+interval) */
}

/* Brings both operands of e to one unit, the finer, as type_of(unit). */
static int same_unit(binder *b, td_expr *e, td_type_id (*type_of)(int64_t)) {
  int64_t u = finer_unit(e->args[0]->type, e->args[1]->type);
  int rc = rescale(b, &e->args[0], type_of(u));
  return rc ? rc : rescale(b, &e->args[1], type_of(u));
}

static int span_error(binder *b, td_expr *e, const char *what, td_type_id s, td_type_id t) {
  return td_err_at(b->err, TD_EUNSUPPORTED, e->pos, "%s %s %s is not supported at offset %lld", td_type_name(s),
                   what, td_type_name(t), (long long)e->pos);
}

/* The compared durations of e (a comparison or IN) in their finest unit. */
static int spans_one_unit(binder *b, td_expr *e) {
  int64_t u = INT64_MAX;
  if (!td_type_is_duration(e->args[0]->type) && (e->n_args < 2 || !td_type_is_duration(e->args[1]->type)))
    return TD_OK;
  for (int64_t i = 0; i < e->n_args; i++) /* (check_compare let only durations and NULLs meet a duration) */
    if (td_type_is_duration(e->args[i]->type) && td_duration_unit_ns(e->args[i]->type) < u)
      u = td_duration_unit_ns(e->args[i]->type);
  for (int64_t i = 0; i < e->n_args; i++) {
    if (!td_type_is_duration(e->args[i]->type)) continue; /* an untyped NULL */
    int rc = rescale(b, &e->args[i], span_of_unit(u));
    if (rc) return rc;
  }
  return TD_OK;
}

/*
 * + - * / where an operand is a timestamp, date, time or duration (*handled
 * set), as DuckDB: point - point is a span (DuckDB's INTERVAL; here a
 * duration in the finer unit, date - date a BIGINT count of days), point
 * +- span a timestamp in the finer unit, span +- span a span, span * / an
 * integer a span.  Operands are brought to one unit first (@rescale).
 */
static int bind_span_arith(binder *b, td_expr *e, bool *handled) {
  static const char *const sym[] = {"?", "+", "-", "*", "/"};
  td_type_id s = e->args[0]->type, t = e->args[1]->type;
  bool ds = td_type_is_duration(s), dt = td_type_is_duration(t);
  bool ps = is_point(s) || is_clock(s), pt = is_point(t) || is_clock(t);
  *handled = ds || dt || (e->op == TD_OP_SUB && ps && pt);
  if (!*handled) return TD_OK;
  int rc;
  if (e->op == TD_OP_SUB && ps && pt) {
    if (is_clock(s) || is_clock(t)) return span_error(b, e, "-", s, t); /* DuckDB: no TIME - TIME either */
    if ((s == TD_TYPE_DATE32 || s == TD_TYPE_DATE64) && (t == TD_TYPE_DATE32 || t == TD_TYPE_DATE64)) {
      e->type = TD_TYPE_INT64; /* days, as DuckDB's date - date */
      rc = rescale(b, &e->args[0], TD_TYPE_DATE32);
      return rc ? rc : rescale(b, &e->args[1], TD_TYPE_DATE32);
    }
    if ((rc = same_unit(b, e, ts_of_unit))) return rc;
    e->type = span_of_unit(finer_unit(s, t));
    return TD_OK;
  }
  if (e->op == TD_OP_ADD || e->op == TD_OP_SUB) {
    if (ds && dt) {
      if ((rc = same_unit(b, e, span_of_unit))) return rc;
      e->type = span_of_unit(finer_unit(s, t));
      return TD_OK;
    }
    td_type_id p = ds ? t : s;
    if (p == TD_TYPE_NONE) { /* span +- NULL */
      e->type = ds ? s : t;
      return TD_OK;
    }
    if (!is_point(p) || (e->op == TD_OP_SUB && ds)) return span_error(b, e, sym[e->op], s, t);
    int64_t u = finer_unit(s, t);
    int pi = ds ? 1 : 0;
    if ((rc = rescale(b, &e->args[pi], ts_of_unit(u)))) return rc;
    if ((rc = rescale(b, &e->args[1 - pi], span_of_unit(u)))) return rc;
    e->type = ts_of_unit(u);
    return set_tz(b, e, e->args[pi]->tz);
  }
  /* * and /: a span and an integer */
  td_type_id other = ds ? t : s;
  if ((ds && dt) || (e->op == TD_OP_DIV && !ds) || !(td_type_is_integer(other) || other == TD_TYPE_NONE))
    return span_error(b, e, sym[e->op], s, t);
  e->type = ds ? s : t;
  return TD_OK;
}

static int bind_arith(binder *b, td_expr *e) {
  static const char *const sym[] = {"?", "+", "-", "*", "/"};
  td_type_id s = e->args[0]->type, t = e->args[1]->type;
  if ((s != TD_TYPE_NONE && !is_numeric(s)) || (t != TD_TYPE_NONE && !is_numeric(t)))
    return type_err(b, e->pos, "cannot apply '%s' to %s", sym[e->op],
                    td_type_name(is_numeric(s) || s == TD_TYPE_NONE ? t : s));
  bool ints = !td_type_is_float(s) && !td_type_is_float(t);
  e->type = e->op == TD_OP_DIV || !ints ? TD_TYPE_FLOAT64 : TD_TYPE_INT64;
  return TD_OK;
}

static int check_bool(binder *b, const td_expr *a, const char *what) {
  if (a->type == TD_TYPE_BOOL || a->type == TD_TYPE_NONE) return TD_OK;
  return type_err(b, a->pos, "%s expects a bool operand, found %s", what, td_type_name(a->type));
}

static int bind_binary(binder *b, td_expr *e) {
  int rc;
  switch (e->op) {
    case TD_OP_AND:
    case TD_OP_OR:
      rc = check_bool(b, e->args[0], e->op == TD_OP_AND ? "AND" : "OR");
      if (!rc) rc = check_bool(b, e->args[1], e->op == TD_OP_AND ? "AND" : "OR");
      e->type = TD_TYPE_BOOL;
      return rc;
    case TD_OP_MOD:
    case TD_OP_CONCAT:
    case TD_OP_IDIV:
      return td__func_bind(td__func_find(e->op == TD_OP_MOD ? "%" : e->op == TD_OP_IDIV ? "//" : "||"), e, b->err);
    case TD_OP_ADD:
    case TD_OP_SUB:
      for (int i = 0; i < 2; i++) /* duration +- INTERVAL: two spans */
        if (td__is_interval(e->args[i]) && td_type_is_duration(e->args[1 - i]->type) &&
            (rc = interval_span(b, e->args[i])))
          return rc;
      if ((td__is_interval(e->args[0]) && !td_type_is_duration(e->args[0]->type)) ||
          (td__is_interval(e->args[1]) && !td_type_is_duration(e->args[1]->type)))
        return td__func_bind(td__func_find("+interval"), e, b->err);
      /* fall through */
    case TD_OP_MUL:
    case TD_OP_DIV: {
      bool handled;
      rc = bind_span_arith(b, e, &handled);
      return handled ? rc : bind_arith(b, e);
    }
    default:
      e->type = TD_TYPE_BOOL;
      rc = check_compare(b, e->args[0], e->args[1], e->pos, &e->op);
      return rc ? rc : spans_one_unit(b, e);
  }
}

static int bind_unary(binder *b, td_expr **slot) {
  td_expr *e = *slot;
  td_type_id t = e->args[0]->type;
  if (e->op == TD_OP_NOT) {
    int rc = check_bool(b, e->args[0], "NOT");
    if (rc) return rc;
    *slot = e->args[0];
    e->n_args = 0;
    td_expr_free(e);
    return negate(b, slot);
  }
  if (td_type_is_duration(t)) { /* -span */
    e->type = t;
    return TD_OK;
  }
  if (t != TD_TYPE_NONE && !is_numeric(t))
    return type_err(b, e->pos, "cannot apply '%s' to %s", "-", td_type_name(t));
  e->type = td_type_is_float(t) ? TD_TYPE_FLOAT64 : t == TD_TYPE_NONE ? TD_TYPE_NONE : TD_TYPE_INT64;
  return TD_OK;
}


/* The functions whose arguments share one type (CASE's values, COALESCE,
 * GREATEST, ...): durations of different units among them are brought to
 * the finest first. */
static int spans_common_unit(binder *b, td_expr *e) {
  static const char *const same[] = {"case", "coalesce", "ifnull", "nullif", "greatest", "least"};
  bool hit = false;
  for (size_t i = 0; i < sizeof same / sizeof *same; i++) hit |= strcmp(e->name, same[i]) == 0;
  int64_t u = 0; /* the finest unit of the duration arguments */
  bool mixed = false;
  for (int64_t i = 0; hit && i < e->n_args; i++) {
    int64_t x = td_duration_unit_ns(e->args[i]->type);
    if (!x) continue;
    mixed |= u && x != u;
    u = !u || x < u ? x : u;
  }
  for (int64_t i = 0; mixed && i < e->n_args; i++) {
    if (!td_type_is_duration(e->args[i]->type)) continue;
    int rc = rescale(b, &e->args[i], span_of_unit(u));
    if (rc) return rc;
  }
  return TD_OK;
}

static int bind_call(binder *b, td_expr *e, bool in_agg) {
  td_agg_kind k = td_agg_kind_from_name(e->name);
  const td_func *f = k == TD_AGG_NONE ? td__func_find(e->name) : NULL;
  int rc = f ? spans_common_unit(b, e) : TD_OK;
  if (f) return rc ? rc : td__func_bind(f, e, b->err);
  if (k == TD_AGG_NONE)
    return td_err_at(b->err, TD_ETYPE, e->pos, "unknown function '%s' at offset %lld", e->name,
                     (long long)e->pos);
  if (!(b->flags & TD_BIND_ALLOW_AGG) || in_agg)
    return td_err_at(b->err, TD_ETYPE, e->pos, "aggregate '%s' is not allowed %s at offset %lld",
                     e->name, in_agg ? "inside another aggregate" : "here",
                     (long long)e->pos);
  if (e->star && k != TD_AGG_COUNT) return td__agg_star_error(e, b->err);
  int lo, hi;
  td__agg_arity(k, e->name, &lo, &hi);
  if (e->star) k = TD_AGG_COUNT_STAR;
  else if (e->n_args < lo || e->n_args > hi)
    return td_err_at(b->err, TD_ETYPE, e->pos,
                     "%s expects %d argument%s at offset %lld, found %lld", e->name, hi,
                     hi > 1 ? "s" : "", (long long)e->pos, (long long)e->n_args);
  e->agg = k;
  td_type_id in = e->n_args ? e->args[0]->type : TD_TYPE_NONE;
  if (k != TD_AGG_COUNT_STAR && in == TD_TYPE_NONE)
    return td_err_at(b->err, TD_ETYPE, e->args[0]->pos,
                     "%s of an untyped NULL at offset %lld", e->name, (long long)e->args[0]->pos);
  e->type = td_agg_result_type(k, in);
  if (e->type == TD_TYPE_NONE && td_type_is_duration(in))
    return td_err_at(b->err, TD_EUNSUPPORTED, e->args[0]->pos,
                     "%s of a duration is not supported at offset %lld (epoch(x) is its seconds as a double)",
                     e->name, (long long)e->args[0]->pos);
  if (e->type == TD_TYPE_NONE)
    return type_err(b, e->args[0]->pos, "%s expects a numeric argument, found %s", e->name,
                    td_type_name(in));
  char pbuf[16];
  const char *param = td_agg_result_param(k, in, e->args ? e->args[0]->tz : NULL, pbuf, sizeof pbuf);
  return param ? set_tz(b, e, param) : TD_OK;
}

static int bind_in(binder *b, td_expr *e) {
  e->type = TD_TYPE_BOOL;
  for (int64_t i = 1; i < e->n_args; i++) {
    int rc = check_compare(b, e->args[0], e->args[i], e->args[i]->pos, NULL);
    if (rc) return rc;
  }
  return spans_one_unit(b, e);
}

/* Replaces a constant subtree by the literal of its value. */
static int fold(binder *b, td_expr *e) {
  if (e->kind == TD_EXPR_LITERAL || e->kind == TD_EXPR_COLUMN) return TD_OK;
  if (e->kind == TD_EXPR_CALL && (!e->fn || e->fn->is_volatile)) return TD_OK; /* aggregates, now() */
  for (int64_t i = 0; i < e->n_args; i++) {
    const td_expr *a = e->args[i]; /* a literal, or an interval of literals (kept for +interval) */
    bool iv = td__is_interval(a) && a->n_args == 2 && a->args[0]->kind == TD_EXPR_LITERAL &&
              a->args[1]->kind == TD_EXPR_LITERAL;
    if (a->kind != TD_EXPR_LITERAL && !iv) return TD_OK;
  }
  return to_literal(b, e);
}

/* Replaces e (whose arguments are constant) by the literal of its value. */
static int to_literal(binder *b, td_expr *e) {
  td_value v;
  int rc = td_expr_eval_row(e, NULL, &v, b->err);
  if (rc) return rc;
  char *copy = NULL;
  if (td_type_is_varlen(v.type) && !v.is_null) {
    copy = td_malloc(v.v.s.len + 1);
    if (!copy) return td_err_nomem(b->err, "folding a constant");
    memcpy(copy, v.v.s.ptr, v.v.s.len);
    v.v.s.ptr = copy;
  }
  for (int64_t i = 0; i < e->n_args; i++) td_expr_free(e->args[i]);
  e->n_args = 0;
  td__in_set_free(e->in_set); /* it pointed into the freed items */
  e->in_set = NULL;
  if (e->fn_state && e->fn->release) e->fn->release(e->fn_state);
  e->fn_state = NULL;
  e->fn = NULL; /* a literal now */
  e->kind = TD_EXPR_LITERAL;
  e->op = TD_OP_NONE;
  e->negated = false;
  e->lit = v;
  if (v.is_null) e->lit.type = e->type;
  e->height = 1;
  return TD_OK;
}

static int bind_children(binder *b, td_expr *e, bool in_agg) {
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = bind_node(b, &e->args[i], in_agg);
    if (rc) return rc;
  }
  return td__expr_check_height(e, b->err);
}

static int bind_node(binder *b, td_expr **slot, bool in_agg) {
  td_expr *e = *slot;
  int rc;
  if (e->kind == TD_EXPR_BETWEEN) {
    rc = rewrite_between(b, slot);
    if (rc) return rc;
  }
  if (e->kind == TD_EXPR_CALL && td_agg_kind_from_name(e->name) != TD_AGG_NONE &&
      (!(b->flags & TD_BIND_ALLOW_AGG) || in_agg))
    return bind_call(b, e, in_agg); /* reports the error before looking inside */
  if (e->kind == TD_EXPR_CALL && strcmp(e->name, "over") == 0) /* the planner computes windows (sql_window.c) */
    return td_err_at(b->err, TD_EPARSE, e->pos, "a window function (OVER) is not allowed here at offset %lld "
                     "(only in SELECT items, ORDER BY and QUALIFY)", (long long)e->pos);
  rc = bind_children(b, e,
                     in_agg || (e->kind == TD_EXPR_CALL && td_agg_kind_from_name(e->name) != TD_AGG_NONE));
  if (rc) return rc;
  switch (e->kind) {
    case TD_EXPR_COLUMN: return bind_column(b, e);
    case TD_EXPR_LITERAL: e->type = e->lit.type; return TD_OK;
    case TD_EXPR_UNARY:
      rc = bind_unary(b, slot);
      break;
    case TD_EXPR_BINARY: rc = bind_binary(b, e); break;
    case TD_EXPR_IN: rc = bind_in(b, e); break;
    case TD_EXPR_IS_NULL: e->type = TD_TYPE_BOOL; break;
    case TD_EXPR_CALL: rc = bind_call(b, e, in_agg); break;
    case TD_EXPR_BETWEEN: break; /* rewritten above */
  }
  if (rc) return rc;
  rc = fold(b, *slot);
  /* (a NOT pushed down onto an IN hands back a node that has its set) */
  if (!rc && (*slot)->kind == TD_EXPR_IN && !(*slot)->in_set) rc = td__in_set_build(*slot, &(*slot)->in_set, b->err);
  return rc;
}

int td_expr_bind(const td_expr *e, const td_schema *schema, int flags, td_expr **out,
                 td_error *err) {
  binder b = {schema, flags, err};
  td_expr *c;
  int rc = td_expr_clone(e, &c, err);
  if (rc) return rc;
  rc = bind_node(&b, &c, false);
  if (rc) {
    td_expr_free(c);
    return rc;
  }
  if (c->type == TD_TYPE_NONE) {
    c->type = TD_TYPE_BOOL;
    if (c->kind == TD_EXPR_LITERAL) c->lit.type = TD_TYPE_BOOL;
  }
  *out = c;
  return TD_OK;
}

int td__agg_star_error(const td_expr *e, td_error *err) {
  return td_err_at(err, TD_ETYPE, e->pos, "'%s(*)' is not allowed at offset %lld; only count(*)", e->name,
                   (long long)e->pos);
}
