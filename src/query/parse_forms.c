/*
 * query/parse_forms.c - the expression forms with their own syntax, parsed
 * into CALL nodes (expr.h): CASE (searched and simple), CAST(x AS type) and
 * x::type, INTERVAL n unit, EXTRACT(field FROM x), typed literals
 * (DATE '...', TIMESTAMP '...'), and "X is not supported" for the common
 * constructs that are not (EXISTS, ARRAY, ...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/compose.h"
#include "query/lex.h"
#include "util/alloc.h"
#include "util/error.h"


static const struct {
  const char *sql, *canon;
} type_names[] = {
    {"BIGINT", "BIGINT"},     {"INT8", "BIGINT"},       {"INT64", "BIGINT"},
    {"LONG", "BIGINT"},       {"INTEGER", "INTEGER"},   {"INT", "INTEGER"},
    {"INT4", "INTEGER"},      {"INT32", "INTEGER"},     {"SIGNED", "INTEGER"},
    {"SMALLINT", "SMALLINT"}, {"INT2", "SMALLINT"},     {"INT16", "SMALLINT"},
    {"SHORT", "SMALLINT"},    {"TINYINT", "TINYINT"},   {"INT1", "TINYINT"},
    {"UTINYINT", "UTINYINT"}, {"USMALLINT", "USMALLINT"}, {"UINTEGER", "UINTEGER"},
    {"DOUBLE", "DOUBLE"},     {"FLOAT8", "DOUBLE"},     {"FLOAT64", "DOUBLE"},
    {"FLOAT", "FLOAT"},       {"FLOAT4", "FLOAT"},      {"REAL", "FLOAT"},
    {"VARCHAR", "VARCHAR"},   {"TEXT", "VARCHAR"},      {"STRING", "VARCHAR"},
    {"CHAR", "VARCHAR"},      {"BPCHAR", "VARCHAR"},    {"BOOLEAN", "BOOLEAN"},
    {"BOOL", "BOOLEAN"},      {"TIMESTAMP", "TIMESTAMP"}, {"DATETIME", "TIMESTAMP"},
    {"TIMESTAMPTZ", "TIMESTAMP"}, {"DATE", "DATE"},
    {"BLOB", "BLOB"},         {"BYTEA", "BLOB"},        {"BINARY", "BLOB"},
    {"VARBINARY", "BLOB"},
};

static int not_supported(td_parser *p, const char *what) {
  return td_err_at(p->err, TD_EPARSE, p->tok.pos, "%s is not supported at offset %lld", what,
                   (long long)p->tok.pos);
}

/* A new CALL node named `name` at pos. */
static td_expr *call_node(td_parser *p, const char *name, int64_t pos) {
  td_expr *e = td__expr_new(TD_EXPR_CALL, pos, p->err);
  if (e && !(e->name = td_strdup(name))) {
    td_expr_free(e);
    td_err_nomem(p->err, "parsing an expression");
    return NULL;
  }
  return e;
}

/* Appends a utf8 literal child. */
static int add_string(td_parser *p, td_expr *e, const char *s, int64_t pos) {
  td_expr *l = td__expr_new(TD_EXPR_LITERAL, pos, p->err);
  char *c = l ? td_strdup(s) : NULL;
  if (!c) {
    td_expr_free(l);
    return l ? td_err_nomem(p->err, "parsing an expression") : TD_ENOMEM;
  }
  l->lit.type = TD_TYPE_UTF8;
  l->lit.v.s.ptr = c;
  l->lit.v.s.len = strlen(c);
  return td__expr_add(e, l, p->err);
}

/* DECIMAL [(p [, s])] (or NUMERIC) after its name: "DECIMAL(p,s)", by
 * default (18,3) and (p,0), as DuckDB. */
static int parse_decimal_type(td_parser *p, td_expr *e, int64_t pos) {
  td__next(p);
  long long w = 18, sc = 3;
  if (p->tok.kind == TK_LPAREN) {
    td__next(p);
    if (p->tok.kind != TK_INT) return td__expected(p, "the decimal's width");
    int64_t v = 0;
    (void)td__token_int(p, &v); /* beyond int64: too wide anyway */
    w = v;
    sc = 0;
    if (w < 1 || w > 38 || p->tok.len > 3)
      return td_err_at(p->err, TD_EPARSE, p->tok.pos, "a DECIMAL's width must be between 1 and 38 at offset %lld",
                       (long long)p->tok.pos);
    td__next(p);
    if (p->tok.kind == TK_COMMA) {
      td__next(p);
      if (p->tok.kind != TK_INT) return td__expected(p, "the decimal's scale");
      int64_t v2 = 0;
      (void)td__token_int(p, &v2);
      sc = v2;
      if (sc > w || p->tok.len > 3)
        return td_err_at(p->err, TD_EPARSE, p->tok.pos, "a DECIMAL's scale cannot be greater than its width at offset %lld",
                         (long long)p->tok.pos);
      td__next(p);
    }
    if (p->tok.kind != TK_RPAREN) return td__expected(p, "')'");
    td__next(p);
  }
  char name[64];
  snprintf(name, sizeof name, "DECIMAL(%d,%d)", (int)w, (int)sc);
  return add_string(p, e, name, pos);
}

/* A type name at the current token: its canonical spelling appended to e as
 * a utf8 literal. */
static int parse_type(td_parser *p, td_expr *e) {
  if (p->tok.kind != TK_IDENT) return td__expected(p, "a type name");
  int64_t pos = p->tok.pos;
  const char *canon = NULL;
  for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
    if (strlen(type_names[i].sql) == p->tok.len &&
        strncasecmp(type_names[i].sql, p->tok.text, p->tok.len) == 0)
      canon = type_names[i].canon;
  if (!canon && p->tok.len == 7 &&
      (strncasecmp(p->tok.text, "DECIMAL", 7) == 0 || strncasecmp(p->tok.text, "NUMERIC", 7) == 0))
    return parse_decimal_type(p, e, pos);
  if (!canon) {
    char what[96];
    snprintf(what, sizeof what, "the type '%.*s'", (int)(p->tok.len > 40 ? 40 : p->tok.len), p->tok.text);
    return not_supported(p, what);
  }
  td__next(p);
  if (strcmp(canon, "DOUBLE") == 0) td__accept_kw(p, "PRECISION");
  if (strcmp(canon, "TIMESTAMP") == 0 && td__is_kw(p, "WITH"))
    return not_supported(p, "TIMESTAMP WITH TIME ZONE");
  if (strcmp(canon, "VARCHAR") == 0 && p->tok.kind == TK_LPAREN) { /* VARCHAR(n): n ignored */
    td__next(p);
    if (p->tok.kind != TK_INT) return td__expected(p, "a length");
    td__next(p);
    if (p->tok.kind != TK_RPAREN) return td__expected(p, "')'");
    td__next(p);
  }
  if (p->tok.kind == TK_LPAREN) return not_supported(p, "a type with parameters");
  return add_string(p, e, canon, pos);
}

int td__parse_cast_suffix(td_parser *p, td_expr **x) {
  td_expr *e = call_node(p, "cast", p->tok.pos);
  if (!e) return TD_ENOMEM;
  td__next(p); /* :: */
  int rc = td__expr_add(e, *x, p->err);
  *x = NULL;
  if (!rc) rc = parse_type(p, e);
  if (!rc) rc = td__expr_check_height(e, p->err);
  if (rc) {
    td_expr_free(e);
    return rc;
  }
  *x = e;
  return TD_OK;
}

static int parse_sub(td_parser *p, td_expr *e) {
  td_expr *a;
  int rc = td__parse_expr(p, &a);
  return rc ? rc : td__expr_add(e, a, p->err);
}

/* CASE [x] WHEN a THEN b ... [ELSE c] END; a simple CASE becomes a
 * searched one over x = a. */
static int parse_case(td_parser *p, td_expr *e) {
  td_expr *x = NULL;
  int rc = TD_OK;
  if (!td__is_kw(p, "WHEN")) rc = td__parse_expr(p, &x);
  if (!rc && !td__is_kw(p, "WHEN")) rc = td__expected(p, "WHEN");
  while (!rc && td__accept_kw(p, "WHEN")) {
    int64_t pos = p->tok.pos;
    td_expr *w;
    rc = td__parse_expr(p, &w);
    if (!rc && x) {
      td_expr *xc, *eq = td__expr_new(TD_EXPR_BINARY, pos, p->err);
      rc = eq ? td_expr_clone(x, &xc, p->err) : TD_ENOMEM;
      if (!rc) {
        eq->op = TD_OP_EQ;
        rc = td__expr_add(eq, xc, p->err);
        if (!rc) rc = td__expr_add(eq, w, p->err);
        else td_expr_free(w);
        if (!rc) rc = td__expr_check_height(eq, p->err);
        if (rc) td_expr_free(eq);
        else w = eq;
      } else {
        td_expr_free(eq);
        td_expr_free(w);
      }
    }
    if (!rc) rc = td__expr_add(e, w, p->err);
    if (!rc && !td__accept_kw(p, "THEN")) rc = td__expected(p, "THEN");
    if (!rc) rc = parse_sub(p, e);
  }
  if (!rc && td__accept_kw(p, "ELSE")) rc = parse_sub(p, e);
  if (!rc && !td__accept_kw(p, "END")) rc = td__expected(p, e->n_args % 2 ? "END" : "WHEN, ELSE or END");
  td_expr_free(x);
  return rc;
}

static const char *const interval_units[] = {"nanosecond", "microsecond", "millisecond", "second", "minute",
                                             "hour",       "day",         "week",        "month",  "quarter",
                                             "year"};

/* The unit at the current token (singular or plural, any case), or NULL. */
static const char *interval_unit(const char *s, size_t n) {
  if (n > 1 && (s[n - 1] == 's' || s[n - 1] == 'S')) n--;
  for (size_t i = 0; i < sizeof interval_units / sizeof *interval_units; i++)
    if (strlen(interval_units[i]) == n && strncasecmp(interval_units[i], s, n) == 0)
      return interval_units[i];
  return NULL;
}

/* INTERVAL n unit | INTERVAL 'n unit' | INTERVAL (expr) unit */
static int parse_interval(td_parser *p, td_expr *e) {
  if (p->tok.kind == TK_STRING) {
    char *s;
    size_t len;
    int64_t pos = p->tok.pos;
    int rc = td__token_string(p, &s, &len);
    if (rc) return rc;
    long long v;
    char unit[32] = "";
    int k = sscanf(s, "%lld %31s", &v, unit);
    td_free(s);
    if (k >= 1) {
      td__next(p);
      const char *u = k == 2 ? interval_unit(unit, strlen(unit)) : NULL;
      if (k == 1 && p->tok.kind == TK_IDENT) u = interval_unit(p->tok.text, p->tok.len);
      if (!u)
        return td_err_at(p->err, TD_EPARSE, pos,
                         "expected an interval such as '5 minutes' (units nanosecond to year) at offset %lld",
                         (long long)pos);
      if (k == 1) td__next(p);
      td_expr *n = td__expr_new(TD_EXPR_LITERAL, pos, p->err);
      if (!n) return TD_ENOMEM;
      n->lit = td_value_int(TD_TYPE_INT64, v);
      rc = td__expr_add(e, n, p->err);
      return rc ? rc : add_string(p, e, u, pos);
    }
    return td__expected(p, "an interval such as '5 minutes'");
  }
  td_expr *n;
  int rc = td__parse_unary(p, &n);
  if (!rc) rc = td__expr_add(e, n, p->err);
  if (rc) return rc;
  const char *u = p->tok.kind == TK_IDENT ? interval_unit(p->tok.text, p->tok.len) : NULL;
  if (!u) return td__expected(p, "an interval unit (nanosecond to year)");
  int64_t pos = p->tok.pos;
  td__next(p);
  return add_string(p, e, u, pos);
}

/* EXTRACT(field FROM x) -> date_part('field', x) */
static int parse_extract(td_parser *p, td_expr *e) {
  if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' after EXTRACT");
  td__next(p);
  if (p->tok.kind != TK_IDENT && p->tok.kind != TK_STRING) return td__expected(p, "a field name");
  char *f;
  int64_t pos = p->tok.pos;
  int rc = td__token_string(p, &f, NULL);
  if (rc) return rc;
  for (char *c = f; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
  rc = add_string(p, e, f, pos);
  td_free(f);
  if (rc) return rc;
  td__next(p);
  if (!td__accept_kw(p, "FROM")) return td__expected(p, "FROM in EXTRACT");
  rc = parse_sub(p, e);
  if (!rc && p->tok.kind != TK_RPAREN) rc = td__expected(p, "')'");
  if (!rc) td__next(p);
  return rc;
}

/* POSITION(needle IN s) -> strpos(s, needle) */
static int parse_position(td_parser *p, td_expr *e) {
  if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' after POSITION");
  td__next(p);
  td_expr *a = NULL, *b = NULL;
  int rc = td__parse_concat(p, &a);
  if (!rc && !td__accept_kw(p, "IN")) rc = td__expected(p, "IN in POSITION");
  bool in = true;
  if (!rc) rc = td__parse_concat(p, &b);
  if (!rc && p->tok.kind != TK_RPAREN) rc = td__expected(p, "')'");
  if (!rc) td__next(p);
  if (rc) {
    td_expr_free(a);
    td_expr_free(b);
    return rc;
  }
  td_expr *s = in ? b : a, *needle = in ? a : b;
  rc = td__expr_add(e, s, p->err); /* takes the child, also on failure */
  if (rc) td_expr_free(needle);
  else rc = td__expr_add(e, needle, p->err);
  return rc;
}

/* Whether the token after the current one is of kind k. */
static bool next_is(const td_parser *p, td_tok_kind k) {
  td_parser q = *p;
  td_error tmp;
  q.err = &tmp;
  td__next(&q);
  return q.tok.kind == k;
}

int td__parse_special_form(td_parser *p, td_expr **out, bool *done) {
  *done = false;
  if (p->tok.kind != TK_IDENT) return TD_OK;
  static const char *const unsupported[][2] = {
      {"EXISTS", "EXISTS"}, {"ARRAY", "ARRAY"}, {"ROW", "ROW"}, {"SELECT", "a subquery"},
      {"POSITIONAL", "POSITIONAL"}, {"COLUMNS", "COLUMNS(...)"}, {"LAMBDA", "a lambda"}};
  if (td__is_kw(p, "EXISTS") && next_is(p, TK_LPAREN) && p->root) { /* query/compose.c */
    *done = true;
    return td__parse_expr_subquery(p, "__exists", out);
  }
  for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
    if (td__is_kw(p, unsupported[i][0]) && (i == 0 || i == 3 || next_is(p, TK_LPAREN))) {
      *done = true;
      return not_supported(p, unsupported[i][1]);
    }
  const char *name = td__is_kw(p, "CASE") ? "case"
                     : td__is_kw(p, "CAST")     ? "cast"
                     : td__is_kw(p, "TRY_CAST") ? "try_cast"
                     : td__is_kw(p, "INTERVAL") ? "interval"
                     : td__is_kw(p, "EXTRACT") && next_is(p, TK_LPAREN) ? "date_part"
                     : td__is_kw(p, "POSITION") && next_is(p, TK_LPAREN) ? "strpos"
                     : (td__is_kw(p, "DATE") || td__is_kw(p, "TIMESTAMP")) && next_is(p, TK_STRING)
                         ? "cast"
                         : NULL;
  if (!name) return TD_OK;
  *done = true;
  int64_t pos = p->tok.pos;
  bool typed_literal = td__is_kw(p, "DATE") || td__is_kw(p, "TIMESTAMP");
  td_expr *e = call_node(p, name, pos);
  if (!e) return TD_ENOMEM;
  int rc = TD_OK;
  if (typed_literal) { /* DATE 'x' -> CAST('x' AS DATE) */
    td_parser type_tok = *p;
    td__next(p);
    td_expr *lit;
    rc = td__parse_unary(p, &lit);
    if (!rc) rc = td__expr_add(e, lit, p->err);
    if (!rc) {
      td_parser after = *p;
      *p = type_tok;
      rc = parse_type(p, e);
      *p = after;
    }
  } else {
    td__next(p);
    if (strcmp(name, "case") == 0) {
      rc = parse_case(p, e);
    } else if (strcmp(name, "interval") == 0) {
      rc = parse_interval(p, e);
    } else if (strcmp(name, "date_part") == 0) {
      rc = parse_extract(p, e);
    } else if (strcmp(name, "strpos") == 0) {
      rc = parse_position(p, e);
    } else { /* [TRY_]CAST ( x AS type ) */
      if (p->tok.kind != TK_LPAREN) rc = td__expected(p, "'(' after CAST");
      if (!rc) {
        td__next(p);
        rc = parse_sub(p, e);
      }
      if (!rc && !td__accept_kw(p, "AS")) rc = td__expected(p, "AS in CAST");
      if (!rc) rc = parse_type(p, e);
      if (!rc && p->tok.kind != TK_RPAREN) rc = td__expected(p, "')'");
      if (!rc) td__next(p);
    }
  }
  if (!rc) rc = td__expr_check_height(e, p->err);
  if (rc) {
    td_expr_free(e);
    return rc;
  }
  *out = e;
  return TD_OK;
}
