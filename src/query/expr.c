/*
 * query/expr.c - expression nodes: construction, copy, free, canonical
 * printing, structural equality and tree inspection helpers.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/keys.h"
#include "query/agg_order.h"
#include "query/func.h"
#include "query/inset.h"
#include "query/lex.h"
#include "query/sql_window.h"
#include "query/strbuf.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

td_expr *td__expr_new(td_expr_kind kind, int64_t pos, td_error *err) {
  td_expr *e = td_calloc(1, sizeof *e);
  if (!e) {
    td_err_nomem(err, "allocating an expression node");
    return NULL;
  }
  e->kind = kind;
  e->pos = pos;
  e->column = -1;
  e->height = 1;
  return e;
}

td_expr *td__column_ref(const char *name, int64_t pos, td_error *err) {
  td_expr *e = td__expr_new(TD_EXPR_COLUMN, pos, err);
  if (e && !(e->name = td_strdup(name))) {
    td_expr_free(e);
    td_err_nomem(err, "a column reference");
    return NULL;
  }
  return e;
}

int td__expr_add(td_expr *e, td_expr *child, td_error *err) {
  if ((e->n_args & (e->n_args - 1)) == 0) { /* grow at powers of two */
    int64_t cap = e->n_args ? e->n_args * 2 : 1;
    td_expr **a = td_realloc(e->args, (size_t)cap * sizeof *a);
    if (!a) {
      td_expr_free(child);
      return td_err_nomem(err, "adding an expression argument");
    }
    e->args = a;
  }
  e->args[e->n_args++] = child;
  if (child->height + 1 > e->height) e->height = child->height + 1;
  return TD_OK;
}

int td__expr_check_height(td_expr *e, td_error *err) {
  int h = 1;
  for (int64_t i = 0; i < e->n_args; i++)
    if (e->args[i]->height + 1 > h) h = e->args[i]->height + 1;
  e->height = h;
  if (h > TD_EXPR_MAX_DEPTH)
    return td_err_at(err, TD_EPARSE, e->pos,
                     "expression nested deeper than %d levels at offset %lld", TD_EXPR_MAX_DEPTH,
                     (long long)e->pos);
  return TD_OK;
}

void td_expr_free(td_expr *e) {
  if (!e) return;
  for (int64_t i = 0; i < e->n_args; i++) td_expr_free(e->args[i]);
  td_free(e->args);
  td_free(e->name);
  td_free(e->tz);
  td__in_set_free(e->in_set);
  if (e->scratch) td_free(((td_fbuf *)e->scratch)->p);
  td_free(e->scratch);
  if (e->fn_state && e->fn && e->fn->release) e->fn->release(e->fn_state);
  if (e->kind == TD_EXPR_LITERAL && td_type_is_varlen(e->lit.type)) td_free((void *)e->lit.v.s.ptr);
  td_free(e);
}

static int dup_bytes(const char *s, size_t len, char **out, td_error *err) {
  char *r = td_malloc(len + 1);
  if (!r) return td_err_nomem(err, "copying an expression");
  if (len) memcpy(r, s, len);
  r[len] = '\0';
  *out = r;
  return TD_OK;
}

int td_expr_clone(const td_expr *e, td_expr **out, td_error *err) {
  td_expr *c = td_malloc(sizeof *c);
  if (!c) return td_err_nomem(err, "copying an expression");
  *c = *e;
  c->args = NULL;
  c->n_args = 0;
  c->name = c->tz = NULL;
  c->in_set = NULL;
  c->scratch = NULL;
  c->fn_state = NULL;
  if (e->kind == TD_EXPR_LITERAL && td_type_is_varlen(e->lit.type)) c->lit.v.s.ptr = NULL;
  int rc = TD_OK;
  if (e->name) rc = dup_bytes(e->name, strlen(e->name), &c->name, err);
  if (!rc && e->tz) rc = dup_bytes(e->tz, strlen(e->tz), &c->tz, err);
  if (!rc && e->kind == TD_EXPR_LITERAL && td_type_is_varlen(e->lit.type)) {
    char *s = NULL;
    rc = dup_bytes(e->lit.v.s.ptr, e->lit.v.s.len, &s, err);
    if (!rc) c->lit.v.s.ptr = s;
  }
  for (int64_t i = 0; !rc && i < e->n_args; i++) {
    td_expr *a;
    rc = td_expr_clone(e->args[i], &a, err);
    if (!rc) rc = td__expr_add(c, a, err);
  }
  if (!rc && e->in_set) rc = td__in_set_build(c, &c->in_set, err); /* over the copied literals */
  if (!rc && e->fn_state && e->fn->prepare) rc = e->fn->prepare(c, err);
  if (rc) {
    td_expr_free(c);
    return rc;
  }
  c->height = e->height;
  *out = c;
  return TD_OK;
}

/* ---- canonical printing ---- */

/* Whether a name reads back as itself unquoted (the lexer's identifiers). */
static bool plain_ident(const char *s) {
  size_t len = strlen(s), k;
  for (size_t i = 0; i < len; i += k)
    if (!(k = td__ident_char(s + i, len - i, i == 0))) return false;
  return len > 0 && !td__is_reserved(s, len);
}

/* Shortest decimal text that reads back as the same double, always with a
 * '.' or exponent so it re-parses as a float. */
static void print_double(td_strbuf *b, double d) {
  char buf[64];
  if (isnan(d) || isinf(d)) {
    td__sb_put(b, isnan(d) ? "(0.0 / 0.0)" : d > 0 ? "1e999" : "-1e999");
    return;
  }
  if (fabs(d) < 1e15 && d == (double)(int64_t)d) {
    snprintf(buf, sizeof buf, "%.1f", d);
    td__sb_put(b, buf);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
  td__sb_put(b, buf);
}

static void print_ts(td_strbuf *b, int64_t ns);

static void print_literal(td_strbuf *b, const td_value *v) {
  char buf[32];
  if (v->is_null || v->type == TD_TYPE_NONE) return td__sb_put(b, "NULL");
  switch (v->type) {
    case TD_TYPE_BOOL: return td__sb_put(b, v->v.b ? "true" : "false");
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: return print_double(b, v->v.f);
    case TD_TYPE_UTF8:
    case TD_TYPE_LARGE_UTF8: return td__sb_quoted(b, v->v.s.ptr, v->v.s.len, '\'');
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_BINARY: { /* CAST('\xAA...' AS BLOB): parsed back to the same bytes */
      size_t n = td_binary_format(v->v.s.ptr, v->v.s.len, NULL, 0);
      char *t = td_malloc(n + 1);
      if (!t) return td__sb_put(b, "CAST('...' AS BLOB)");
      td_binary_format(v->v.s.ptr, v->v.s.len, t, n + 1);
      td__sb_put(b, "CAST(");
      td__sb_quoted(b, t, n, '\'');
      td_free(t);
      return td__sb_put(b, " AS BLOB)");
    }
    case TD_TYPE_TIMESTAMP: return print_ts(b, v->v.i);
    case TD_TYPE_UINT64:
      snprintf(buf, sizeof buf, "%" PRIu64, v->v.u);
      return td__sb_put(b, buf);
    default:
      if (td_type_is_temporal(v->type)) { /* re-parses: compared with a column, it converts */
        char tb[80];
        td_format_temporal(v->type, v->v.i, tb, sizeof tb);
        return td__sb_quoted(b, tb, strlen(tb), '\'');
      }
      if (td_type_is_duration(v->type)) { /* a folded span: an INTERVAL of its unit (re-parses as one) */
        static const char *const unit[] = {"second", "millisecond", "microsecond", "nanosecond"};
        char tb[80];
        snprintf(tb, sizeof tb, "INTERVAL '%" PRId64 " %s'", v->v.i, unit[v->type - TD_TYPE_DURATION_S]);
        return td__sb_put(b, tb);
      }
      snprintf(buf, sizeof buf, "%" PRId64, v->v.i);
      return td__sb_put(b, buf);
  }
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
void td__civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static void print_ts(td_strbuf *b, int64_t ns) {
  int64_t secs = ns / 1000000000, frac = ns % 1000000000;
  if (frac < 0) frac += 1000000000, secs--;
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) rem += 86400, days--;
  int64_t y;
  int m, d;
  td__civil_from_days(days, &y, &m, &d);
  char buf[80];
  int n = snprintf(buf, sizeof buf, "'%04" PRId64 "-%02d-%02dT%02d:%02d:%02d", y, m, d,
                   (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
  if (frac) n += snprintf(buf + n, sizeof buf - (size_t)n, ".%09" PRId64, frac);
  snprintf(buf + n, sizeof buf - (size_t)n, "Z'");
  td__sb_put(b, buf);
}

/* Binding strength: higher binds tighter. */
static int prec(const td_expr *e) {
  switch (e->kind) {
    case TD_EXPR_BINARY:
      switch (e->op) {
        case TD_OP_OR: return 1;
        case TD_OP_AND: return 2;
        case TD_OP_CONCAT: return 5;
        case TD_OP_ADD:
        case TD_OP_SUB: return 6;
        case TD_OP_MUL:
        case TD_OP_DIV:
        case TD_OP_MOD:
        case TD_OP_IDIV: return 7;
        default: return 4; /* comparisons */
      }
    case TD_EXPR_UNARY: return e->op == TD_OP_NOT ? 3 : 8;
    case TD_EXPR_IN:
    case TD_EXPR_BETWEEN:
    case TD_EXPR_IS_NULL: return 4;
    case TD_EXPR_CALL:
      if (strcmp(e->name, "like") == 0 || strcmp(e->name, "ilike") == 0 ||
          strcmp(e->name, "distinct_from") == 0)
        return 4;
      return 9;
    default: return 9;
  }
}

static const char *op_text(td_op op) {
  static const char *const t[] = {"?", "+", "-", "*", "/", "=", "<>", "<", "<=", ">", ">=",
                                  "AND", "OR", "NOT", "-", "%", "||", "//"};
  return t[op];
}

static void print_expr(td_strbuf *b, const td_expr *e);

/* Prints a child, parenthesized when it binds looser than `min`. */
static void print_child(td_strbuf *b, const td_expr *c, int min) {
  bool paren = prec(c) < min;
  if (paren) td__sb_put(b, "(");
  print_expr(b, c);
  if (paren) td__sb_put(b, ")");
}

static void print_list(td_strbuf *b, td_expr *const *args, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (i) td__sb_put(b, ", ");
    print_expr(b, args[i]);
  }
}

/* The special forms of expr.h; false for an ordinary call. */
static bool print_form(td_strbuf *b, const td_expr *e) {
  const char *n = e->name;
  const td_expr *const *a = (const td_expr *const *)e->args;
  if (strcmp(n, "over") == 0 && e->n_args >= 5) { /* fn(...) OVER (...): query/sql_window.c */
    td__print_over(b, e);
    return true;
  }
  if (strcmp(n, "case") == 0) {
    td__sb_put(b, "CASE");
    int64_t i = 0;
    for (; i + 1 < e->n_args; i += 2) {
      td__sb_put(b, " WHEN ");
      print_expr(b, a[i]);
      td__sb_put(b, " THEN ");
      print_expr(b, a[i + 1]);
    }
    if (i < e->n_args) {
      td__sb_put(b, " ELSE ");
      print_expr(b, a[i]);
    }
    td__sb_put(b, " END");
    return true;
  }
  bool str1 = e->n_args == 2 && a[1]->kind == TD_EXPR_LITERAL && td_type_is_text(a[1]->lit.type);
  if ((strcmp(n, "cast") == 0 || strcmp(n, "try_cast") == 0) && str1) {
    td__sb_put(b, n[0] == 't' ? "TRY_CAST(" : "CAST(");
    print_expr(b, a[0]);
    td__sb_put(b, " AS ");
    td__sb_putn(b, a[1]->lit.v.s.ptr, a[1]->lit.v.s.len);
    td__sb_put(b, ")");
    return true;
  }
  if (strcmp(n, "@rescale") == 0 && e->n_args == 2) { /* the binder's change of unit: not written by the user */
    print_expr(b, a[0]);
    return true;
  }
  if (strcmp(n, "interval") == 0 && str1) {
    td__sb_put(b, "INTERVAL ");
    if (a[0]->kind == TD_EXPR_LITERAL && !a[0]->lit.is_null && a[0]->lit.v.i < 0) { /* 'n unit' re-parses as one literal */
      char t[48];
      snprintf(t, sizeof t, "'%lld ", (long long)a[0]->lit.v.i);
      td__sb_put(b, t);
      td__sb_putn(b, a[1]->lit.v.s.ptr, a[1]->lit.v.s.len);
      td__sb_put(b, "'");
      return true;
    }
    print_child(b, a[0], 9);
    td__sb_put(b, " ");
    td__sb_putn(b, a[1]->lit.v.s.ptr, a[1]->lit.v.s.len);
    return true;
  }
  bool like = strcmp(n, "like") == 0 || strcmp(n, "ilike") == 0;
  if ((like && e->n_args <= 3) || (strcmp(n, "distinct_from") == 0 && e->n_args == 2)) {
    print_child(b, a[0], 5);
    if (like) {
      td__sb_put(b, e->negated ? " NOT " : " ");
      td__sb_put(b, n[0] == 'l' ? "LIKE " : "ILIKE ");
    } else {
      td__sb_put(b, e->negated ? " IS NOT DISTINCT FROM " : " IS DISTINCT FROM ");
    }
    print_child(b, a[1], 5);
    if (e->n_args == 3) {
      td__sb_put(b, " ESCAPE ");
      print_child(b, a[2], 5);
    }
    return true;
  }
  return false;
}

static void print_expr(td_strbuf *b, const td_expr *e) {
  int p = prec(e);
  switch (e->kind) {
    case TD_EXPR_COLUMN:
      if (plain_ident(e->name)) td__sb_put(b, e->name);
      else td__sb_quoted(b, e->name, strlen(e->name), '"');
      break;
    case TD_EXPR_LITERAL: print_literal(b, &e->lit); break;
    case TD_EXPR_UNARY:
      td__sb_put(b, e->op == TD_OP_NOT ? "NOT " : "-");
      /* "- -x" would lex as a comment */
      print_child(b, e->args[0], e->op == TD_OP_NEG && e->args[0]->kind != TD_EXPR_COLUMN &&
                                         e->args[0]->kind != TD_EXPR_CALL ? 9 : p);
      break;
    case TD_EXPR_BINARY:
      /* comparisons do not chain: both sides must bind tighter */
      print_child(b, e->args[0], p == 4 ? 5 : p);
      td__sb_put(b, " ");
      td__sb_put(b, op_text(e->op));
      td__sb_put(b, " ");
      print_child(b, e->args[1], p + 1);
      break;
    case TD_EXPR_IN:
      print_child(b, e->args[0], 5);
      td__sb_put(b, e->negated ? " NOT IN (" : " IN (");
      print_list(b, e->args + 1, e->n_args - 1);
      td__sb_put(b, ")");
      break;
    case TD_EXPR_BETWEEN:
      print_child(b, e->args[0], 5);
      td__sb_put(b, e->negated ? " NOT BETWEEN " : " BETWEEN ");
      print_child(b, e->args[1], 6);
      td__sb_put(b, " AND ");
      print_child(b, e->args[2], 6);
      break;
    case TD_EXPR_IS_NULL:
      print_child(b, e->args[0], 5);
      td__sb_put(b, e->negated ? " IS NOT NULL" : " IS NULL");
      break;
    case TD_EXPR_CALL:
      if (print_form(b, e)) break;
      size_t nl = strlen(e->name);
      if (nl > 9 && strcmp(e->name + nl - 9, "_distinct") == 0 && td_agg_kind_from_name(e->name) != TD_AGG_NONE &&
          td_agg_kind_from_name(e->name) != TD_AGG_APPROX_DISTINCT) {
        td__sb_putn(b, e->name, nl - 9); /* count(DISTINCT x) */
        td__sb_put(b, "(DISTINCT ");
      } else {
        td__sb_put(b, e->name);
        td__sb_put(b, "(");
      }
      if (e->star) td__sb_put(b, "*");
      const td_expr *ord = e->n_args && td__is_agg_order(e->args[e->n_args - 1]) ? e->args[e->n_args - 1] : NULL;
      print_list(b, e->args, e->n_args - (ord != NULL));
      for (int64_t i = 0; ord && i < ord->n_args; i++) { /* query/agg_order.c */
        bool desc = ord->args[i]->kind == TD_EXPR_CALL && strcmp(ord->args[i]->name, "__desc") == 0;
        td__sb_put(b, i ? ", " : " ORDER BY ");
        print_expr(b, desc ? ord->args[i]->args[0] : ord->args[i]);
        if (desc) td__sb_put(b, " DESC");
      }
      td__sb_put(b, ")");
      break;
  }
}

int td_expr_print(const td_expr *e, char **out, td_error *err) {
  td_strbuf b = {0};
  print_expr(&b, e);
  if (!b.rc && !b.p) td__sb_putn(&b, "", 0);
  if (b.rc) {
    td_free(b.p);
    return td_err_nomem(err, "printing an expression");
  }
  *out = b.p;
  return TD_OK;
}

/* ---- equality and inspection ---- */

static bool value_equal(const td_value *a, const td_value *b) {
  if (a->type != b->type || a->is_null != b->is_null) return false;
  if (a->is_null) return true;
  switch (a->type) {
    case TD_TYPE_NONE: return true;
    case TD_TYPE_BOOL: return a->v.b == b->v.b;
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: return a->v.f == b->v.f || (isnan(a->v.f) && isnan(b->v.f));
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_UTF8:
    case TD_TYPE_LARGE_BINARY:
      return a->v.s.len == b->v.s.len && memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0;
    default: return a->v.i == b->v.i;
  }
}

static uint64_t hash_step(uint64_t h, uint64_t x) {
  h = (h ^ x) * 0x100000001b3ULL;
  return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
  return hash_step(h, n);
}

uint64_t td_expr_hash(const td_expr *e) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = hash_step(h, (uint64_t)e->kind << 16 | (uint64_t)e->op << 8 | (uint64_t)e->negated << 1 | e->star);
  h = hash_step(h, (uint64_t)e->n_args);
  if (e->name) h = hash_bytes(h, e->name, strlen(e->name));
  if (e->kind == TD_EXPR_LITERAL) { /* as value_equal: -0.0 = 0.0, all NaNs equal */
    const td_value *v = &e->lit;
    h = hash_step(h, (uint64_t)v->type << 1 | v->is_null);
    if (!v->is_null && td_type_is_varlen(v->type)) h = hash_bytes(h, v->v.s.ptr, v->v.s.len);
    else if (!v->is_null && v->type == TD_TYPE_BOOL) h = hash_step(h, v->v.b);
    else if (!v->is_null && td_type_is_float(v->type)) {
      double d = isnan(v->v.f) ? NAN : v->v.f == 0 ? 0.0 : v->v.f;
      uint64_t bits;
      memcpy(&bits, &d, 8);
      h = hash_step(h, bits);
    } else if (!v->is_null && v->type != TD_TYPE_NONE) h = hash_step(h, (uint64_t)v->v.i);
  }
  for (int64_t i = 0; i < e->n_args; i++) h = hash_step(h, td_expr_hash(e->args[i]));
  return h;
}

bool td_expr_equal(const td_expr *a, const td_expr *b) {
  if (a->kind != b->kind || a->op != b->op || a->negated != b->negated || a->star != b->star ||
      a->n_args != b->n_args)
    return false;
  if ((a->name || b->name) && (!a->name || !b->name || strcmp(a->name, b->name) != 0))
    return false;
  if (a->kind == TD_EXPR_LITERAL && !value_equal(&a->lit, &b->lit)) return false;
  for (int64_t i = 0; i < a->n_args; i++)
    if (!td_expr_equal(a->args[i], b->args[i])) return false;
  return true;
}

td_agg_kind td_agg_kind_from_name(const char *name) {
  static const struct {
    const char *name;
    td_agg_kind kind;
  } aggs[] = {{"count", TD_AGG_COUNT}, {"sum", TD_AGG_SUM},     {"min", TD_AGG_MIN},
              {"max", TD_AGG_MAX},     {"avg", TD_AGG_AVG},     {"first", TD_AGG_FIRST},
              {"last", TD_AGG_LAST},
              /* count(DISTINCT x) parses as count_distinct(x) (printed back as written) */
              {"count_distinct", TD_AGG_COUNT_DISTINCT}, {"sum_distinct", TD_AGG_SUM_DISTINCT},
              {"avg_distinct", TD_AGG_AVG_DISTINCT}, {"approx_count_distinct", TD_AGG_APPROX_DISTINCT},
              {"median", TD_AGG_QUANTILE_CONT}, {"quantile_cont", TD_AGG_QUANTILE_CONT},
              {"quantile_disc", TD_AGG_QUANTILE_DISC}, {"string_agg", TD_AGG_STRING_AGG},
              {"string_agg_distinct", TD_AGG_STRING_AGG_DISTINCT},
              {"any_value", TD_AGG_ANY_VALUE}, {"arg_max", TD_AGG_ARG_MAX}, {"argmax", TD_AGG_ARG_MAX},
              {"max_by", TD_AGG_ARG_MAX}, {"arg_min", TD_AGG_ARG_MIN}, {"argmin", TD_AGG_ARG_MIN},
              {"min_by", TD_AGG_ARG_MIN}, {"arg_max_null", TD_AGG_ARG_MAX_NULL},
              {"arg_min_null", TD_AGG_ARG_MIN_NULL}, {"product", TD_AGG_PRODUCT}, {"bit_and", TD_AGG_BIT_AND},
              {"bit_or", TD_AGG_BIT_OR}, {"bit_xor", TD_AGG_BIT_XOR}, {"covar_pop", TD_AGG_COVAR_POP},
              {"covar_samp", TD_AGG_COVAR_SAMP}, {"corr", TD_AGG_CORR}, {"regr_slope", TD_AGG_REGR_SLOPE},
              {"regr_intercept", TD_AGG_REGR_INTERCEPT}, {"regr_r2", TD_AGG_REGR_R2}, {"regr_sxx", TD_AGG_REGR_SXX},
              {"regr_syy", TD_AGG_REGR_SYY}, {"regr_sxy", TD_AGG_REGR_SXY}, {"skewness", TD_AGG_SKEWNESS},
              {"kurtosis", TD_AGG_KURTOSIS}, {"mode", TD_AGG_MODE}, {"entropy", TD_AGG_ENTROPY}};
  for (size_t i = 0; i < sizeof aggs / sizeof *aggs; i++)
    if (strcasecmp(name, aggs[i].name) == 0) return aggs[i].kind;
  return TD_AGG_NONE;
}

bool td_expr_has_agg(const td_expr *e) {
  if (e->kind == TD_EXPR_CALL && td_agg_kind_from_name(e->name) != TD_AGG_NONE) return true;
  for (int64_t i = 0; i < e->n_args; i++)
    if (td_expr_has_agg(e->args[i])) return true;
  return false;
}

int64_t td_expr_conjuncts(const td_expr *e, const td_expr **out, int64_t cap) {
  if (e->kind == TD_EXPR_BINARY && e->op == TD_OP_AND) {
    int64_t n = td_expr_conjuncts(e->args[0], out, cap);
    return n + td_expr_conjuncts(e->args[1], out ? out + (n < cap ? n : cap) : NULL,
                                 n < cap ? cap - n : 0);
  }
  if (cap > 0 && out) out[0] = e;
  return 1;
}

td_type_id td_agg_result_type(td_agg_kind kind, td_type_id in) {
  if (td_agg_is_moment(kind))
    return td_type_is_integer(in) || td_type_is_float(in) || in == TD_TYPE_DECIMAL128 ? TD_TYPE_FLOAT64 : TD_TYPE_NONE;
  switch (kind) {
    case TD_AGG_COUNT_STAR:
    case TD_AGG_COUNT: return TD_TYPE_INT64;
    case TD_AGG_SUM:
      if (td_type_is_integer(in)) return TD_TYPE_INT64;
      /* exact: decimal128(38, s); uint64 sums to decimal128(38, 0), as DuckDB's to HUGEINT */
      if (in == TD_TYPE_DECIMAL128 || in == TD_TYPE_UINT64) return TD_TYPE_DECIMAL128;
      return td_type_is_float(in) ? TD_TYPE_FLOAT64 : TD_TYPE_NONE;
    case TD_AGG_AVG:
      return td_type_is_integer(in) || td_type_is_float(in) || in == TD_TYPE_DECIMAL128 || in == TD_TYPE_UINT64
                 ? TD_TYPE_FLOAT64
                                                                                         : TD_TYPE_NONE;
    case TD_AGG_MIN:
    case TD_AGG_MAX:
    case TD_AGG_FIRST:
    case TD_AGG_LAST: return in;
    case TD_AGG_COUNT_DISTINCT:
    case TD_AGG_APPROX_DISTINCT: return in == TD_TYPE_NONE ? TD_TYPE_NONE : TD_TYPE_INT64;
    case TD_AGG_SUM_DISTINCT: return td_agg_result_type(TD_AGG_SUM, in);
    case TD_AGG_AVG_DISTINCT: return td_agg_result_type(TD_AGG_AVG, in);
    case TD_AGG_QUANTILE_CONT: /* integers interpolate to float64; strings take the lower value */
      if (td_type_is_integer(in)) return TD_TYPE_FLOAT64;
      return in;
    case TD_AGG_QUANTILE_DISC: return in;
    case TD_AGG_STRING_AGG:
    case TD_AGG_STRING_AGG_DISTINCT: return td_type_is_text(in) ? TD_TYPE_UTF8 : TD_TYPE_NONE;
    case TD_AGG_ANY_VALUE:
    case TD_AGG_ARG_MAX: /* the type of the arg (the first input) */
    case TD_AGG_ARG_MIN:
    case TD_AGG_ARG_MAX_NULL:
    case TD_AGG_ARG_MIN_NULL: return in;
    case TD_AGG_PRODUCT:
      return td_type_is_integer(in) || td_type_is_float(in) || in == TD_TYPE_DECIMAL128 ? TD_TYPE_FLOAT64 : TD_TYPE_NONE;
    case TD_AGG_BIT_AND:
    case TD_AGG_BIT_OR:
    case TD_AGG_BIT_XOR: return td_type_is_integer(in) ? in : TD_TYPE_NONE;
    case TD_AGG_MODE: return in; /* every type: the value itself */
    case TD_AGG_ENTROPY: return in == TD_TYPE_NONE ? TD_TYPE_NONE : TD_TYPE_FLOAT64;
    default: return TD_TYPE_NONE;
  }
}

const char *td_agg_result_param(td_agg_kind kind, td_type_id in, const char *in_param, char *buf, size_t size) {
  td_type_id t = td_agg_result_type(kind, in);
  if (t == TD_TYPE_DECIMAL128 && (kind == TD_AGG_SUM || kind == TD_AGG_SUM_DISTINCT)) {
    int p, sc = 0;
    if (in != TD_TYPE_UINT64 && !td_dec_params(in_param, &p, &sc)) return NULL;
    td_dec_param_text(TD_DECIMAL128_MAX_PRECISION, sc, buf, size);
    return buf;
  }
  return td_type_has_param(t) ? in_param : NULL;
}

static void collect_columns(const td_expr *e, int64_t *out, int64_t cap, int64_t *n) {
  if (e->kind == TD_EXPR_COLUMN && e->column >= 0) {
    int64_t i = 0;
    int64_t have = *n < cap ? *n : cap;
    while (i < have && out[i] < e->column) i++;
    if (i < have && out[i] == e->column) {
      /* already present */
    } else if (*n < cap) {
      memmove(out + i + 1, out + i, (size_t)(have - i) * sizeof *out);
      out[i] = e->column;
      (*n)++;
    } else {
      (*n)++; /* over capacity: count may be an overestimate of distinct */
    }
  }
  for (int64_t i = 0; i < e->n_args; i++) collect_columns(e->args[i], out, cap, n);
}

int64_t td_expr_columns(const td_expr *e, int64_t *out, int64_t cap) {
  int64_t n = 0;
  collect_columns(e, out, cap, &n);
  return n;
}

bool td_expr_only_columns(const td_expr *e, const bool *set, int64_t n_set) {
  if (e->kind == TD_EXPR_COLUMN &&
      (e->column < 0 || e->column >= n_set || !set[e->column]))
    return false;
  for (int64_t i = 0; i < e->n_args; i++)
    if (!td_expr_only_columns(e->args[i], set, n_set)) return false;
  return true;
}
