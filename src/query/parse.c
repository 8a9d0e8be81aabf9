/*
 * query/parse.c - recursive-descent parser for expressions.
 *
 * Precedence, loosest first: OR, AND, NOT, predicates (comparisons, IN,
 * BETWEEN, IS NULL, LIKE, IS DISTINCT FROM; not chainable), ||, + -, * / %,
 * unary minus, postfix ::type, primaries (including CASE, CAST, INTERVAL,
 * EXTRACT).  Special forms become CALL nodes (see expr.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query/compose.h"
#include "query/agg_more.h"
#include "query/agg_order.h"
#include "query/lex.h"
#include "query/sql_window.h"
#include "util/alloc.h"
#include "util/error.h"

static int parse_or(td_parser *p, td_expr **out);

static int enter(td_parser *p) {
  if (++p->depth > TD_EXPR_MAX_DEPTH)
    return td_err_at(p->err, TD_EPARSE, p->tok.pos,
                     "expression nested deeper than %d levels at offset %lld", TD_EXPR_MAX_DEPTH,
                     (long long)p->tok.pos);
  return TD_OK;
}

/* Builds a node with children a (and b if non-NULL); takes them. */
static int make_node(td_parser *p, td_expr_kind kind, td_op op, int64_t pos, td_expr *a,
                     td_expr *b, td_expr **out) {
  td_expr *e = td__expr_new(kind, pos, p->err);
  int rc = e ? TD_OK : TD_ENOMEM;
  if (!e) {
    td_expr_free(a);
    td_expr_free(b);
    return rc;
  }
  e->op = op;
  rc = td__expr_add(e, a, p->err);
  if (rc) td_expr_free(b);
  else if (b) rc = td__expr_add(e, b, p->err);
  if (!rc) rc = td__expr_check_height(e, p->err);
  if (rc) {
    td_expr_free(e);
    return rc;
  }
  *out = e;
  return TD_OK;
}

static int parse_number(td_parser *p, td_expr *e) {
  char buf[64];
  size_t n = p->tok.len;
  if (n >= sizeof buf) n = sizeof buf - 1;
  memcpy(buf, p->tok.text, n);
  buf[n] = '\0';
  errno = 0;
  if (p->tok.kind == TK_INT) {
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (errno == ERANGE && p->tok.len < sizeof buf && buf[0] != '-') { /* beyond int64: a uint64 if it fits */
      errno = 0;
      unsigned long long u = strtoull(buf, &end, 10);
      if (errno != ERANGE) {
        e->lit = td_value_uint64(u);
        return TD_OK;
      }
    }
    if (errno == ERANGE || p->tok.len >= sizeof buf)
      return td_err_at(p->err, TD_EPARSE, p->tok.pos,
                       "integer literal '%s' at offset %lld is out of range of int64 and uint64", buf,
                       (long long)p->tok.pos);
    e->lit = td_value_int(TD_TYPE_INT64, v);
  } else {
    e->lit = td_value_double(TD_TYPE_FLOAT64, strtod(buf, NULL));
  }
  return TD_OK;
}

static int parse_literal(td_parser *p, td_expr **out) {
  td_expr *e = td__expr_new(TD_EXPR_LITERAL, p->tok.pos, p->err);
  if (!e) return TD_ENOMEM;
  int rc = TD_OK;
  if (p->tok.kind == TK_STRING) {
    char *s;
    size_t len;
    rc = td__token_string(p, &s, &len);
    if (!rc) {
      e->lit.type = TD_TYPE_UTF8;
      e->lit.v.s.ptr = s;
      e->lit.v.s.len = len;
    }
  } else if (p->tok.kind == TK_INT || p->tok.kind == TK_FLOAT) {
    rc = parse_number(p, e);
  } else if (td__is_kw(p, "TRUE") || td__is_kw(p, "FALSE")) {
    e->lit = td_value_bool(td__is_kw(p, "TRUE"));
  } else {
    e->lit = td_value_null(TD_TYPE_NONE);
  }
  if (rc) {
    td_expr_free(e);
    return rc;
  }
  td__next(p);
  *out = e;
  return TD_OK;
}

/* expr {',' expr} appended to e, up to the token after the last one */
static int parse_expr_list(td_parser *p, td_expr *e) {
  for (;;) {
    td_expr *a;
    int rc = parse_or(p, &a);
    if (!rc) rc = td__expr_add(e, a, p->err);
    if (rc) return rc;
    if (p->tok.kind != TK_COMMA) return TD_OK;
    td__next(p);
  }
}

/* name '(' [ '*' | expr {',' expr} ] ')' ; the current token is '(' */
static int parse_call(td_parser *p, td_expr *e) {
  int lrc = td__check_list_agg(p, e);
  if (lrc) return lrc;
  td__next(p);
  int dn = td__is_kw(p, "DISTINCT") ? td__agg_distinct_name(e, p->err) : 0;
  if (dn < 0) return TD_ENOMEM;
  if (dn > 0) {
    td__next(p);
    if (p->tok.kind == TK_STAR)
      return td_err_at(p->err, TD_EPARSE, p->tok.pos, "%.*s(DISTINCT *) is not supported at offset %lld",
                       (int)(strlen(e->name) - (strstr(e->name, "_distinct") ? 9 : 0)), e->name, (long long)p->tok.pos);
  }
  if (td__is_kw(p, "DISTINCT") || td__is_kw(p, "ALL"))
    return td_err_at(p->err, TD_EPARSE, p->tok.pos, "%s(%s ...) is not supported at offset %lld", e->name,
                     td__is_kw(p, "ALL") ? "ALL" : "DISTINCT", (long long)p->tok.pos);
  if (p->tok.kind == TK_STAR) {
    e->star = true;
    td__next(p);
  } else if (p->tok.kind != TK_RPAREN) {
    int rc = parse_expr_list(p, e);
    if (rc) return td__agg_list_error(p, e, rc);
  }
  if (td__is_kw(p, "ORDER")) { /* string_agg(x, sep ORDER BY y): query/agg_order.c */
    int rc = td__parse_agg_order(p, e);
    if (rc) return rc;
  }
  if (p->tok.kind != TK_RPAREN) return td__expected(p, "')' or ','");
  td__next(p);
  if (td__is_kw(p, "FILTER")) {
    int rc = td__parse_agg_filter(p, e);
    if (rc) return rc;
    if (td__is_kw(p, "OVER"))
      return td_err_at(p->err, TD_EPARSE, p->tok.pos, "FILTER (WHERE ...) with OVER is not supported at offset %lld",
                       (long long)p->tok.pos);
  }
  if (td__is_kw(p, "OVER") && e->n_args && td__is_agg_order(e->args[e->n_args - 1]))
    return td_err_at(p->err, TD_EPARSE, p->tok.pos, "ORDER BY inside %s(...) with OVER is not supported at offset %lld",
                     e->name, (long long)p->tok.pos);
  if (td__is_kw(p, "OVER")) return td__parse_over(p, e); /* query/sql_window.c */
  static const char *const after[][3] = {
      {"WITHIN", "WITHIN GROUP is", ""}};
  for (size_t i = 0; i < sizeof after / sizeof *after; i++)
    if (td__is_kw(p, after[i][0]))
      return td_err_at(p->err, TD_EPARSE, p->tok.pos, "%s not supported at offset %lld%s", after[i][1],
                       (long long)p->tok.pos, after[i][2]);
  return td__expr_check_height(e, p->err);
}

static int parse_name(td_parser *p, td_expr **out) {
  bool quoted = p->tok.kind == TK_QIDENT;
  td_expr *e = td__expr_new(TD_EXPR_COLUMN, p->tok.pos, p->err);
  if (!e) return TD_ENOMEM;
  int rc = td__token_string(p, &e->name, NULL);
  if (!rc) td__next(p);
  if (!rc && p->tok.kind == TK_DOT) rc = td__parse_qualified(p, e); /* t.col (query/sql_from.c) */
  else if (!rc && !quoted && p->tok.kind == TK_LPAREN) {
    e->kind = TD_EXPR_CALL;
    for (char *c = e->name; *c; c++)
      if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    /* "over" names the parser's own window node (query/sql_window.c); a
     * call written with that name would reach the planner without its shape. */
    if (strcmp(e->name, "over") == 0)
      rc = td_err_at(p->err, TD_EPARSE, e->pos,
                     "expected a function name at offset %lld, found OVER (OVER follows a window function, "
                     "as in sum(x) OVER (ORDER BY t))",
                     (long long)e->pos);
    else
      rc = parse_call(p, e);
  }
  if (rc) {
    td_expr_free(e);
    return rc;
  }
  *out = e;
  return TD_OK;
}


static int parse_primary(td_parser *p, td_expr **out) {
  td_tok_kind k = p->tok.kind;
  bool done = false;
  int src = td__parse_special_form(p, out, &done);
  if (done || src) return src;
  if (k == TK_INT || k == TK_FLOAT || k == TK_STRING || td__is_kw(p, "TRUE") ||
      td__is_kw(p, "FALSE") || td__is_kw(p, "NULL"))
    return parse_literal(p, out);
  if (k == TK_QIDENT || (k == TK_IDENT && !td__is_reserved(p->tok.text, p->tok.len)))
    return parse_name(p, out);
  if (k == TK_LPAREN && td__at_subquery(p)) return td__parse_expr_subquery(p, "__scalar_subquery", out);
  if (k == TK_LPAREN) { /* parse_or counts the nesting level */
    td__next(p);
    int rc = parse_or(p, out);
    if (rc) return rc;
    if (p->tok.kind != TK_RPAREN) {
      td_expr_free(*out);
      return td__expected(p, "')'");
    }
    td__next(p);
    return TD_OK;
  }
  return td__expected(p, "an expression");
}


/* primary {'::' type} */
static int parse_postfix(td_parser *p, td_expr **out) {
  int rc = parse_primary(p, out);
  while (!rc && p->tok.kind == TK_DCOLON) rc = td__parse_cast_suffix(p, out);
  return rc;
}

static int parse_unary(td_parser *p, td_expr **out) {
  if (p->tok.kind != TK_MINUS && p->tok.kind != TK_PLUS) return parse_postfix(p, out);
  int64_t pos = p->tok.pos;
  bool minus = p->tok.kind == TK_MINUS;
  int rc = enter(p);
  if (rc) return rc;
  td__next(p);
  td_expr *a;
  rc = parse_unary(p, &a);
  if (rc) return rc;
  p->depth--;
  if (minus && a->kind == TD_EXPR_LITERAL && a->lit.type == TD_TYPE_UINT64 && a->lit.v.u == (uint64_t)1 << 63) {
    a->lit = td_value_int(TD_TYPE_INT64, INT64_MIN); /* -9223372036854775808 is int64, as in DuckDB */
    a->pos = pos;
    minus = false;
  }
  if (!minus) {
    *out = a;
    return TD_OK;
  }
  return make_node(p, TD_EXPR_UNARY, TD_OP_NEG, pos, a, NULL, out);
}

typedef int (*parse_fn)(td_parser *p, td_expr **out);

static td_op binary_op(const td_parser *p, int level) {
  td_tok_kind k = p->tok.kind;
  if (level == 0)
    return k == TK_STAR      ? TD_OP_MUL
           : k == TK_SLASH   ? TD_OP_DIV
           : k == TK_PERCENT ? TD_OP_MOD
           : k == TK_DSLASH  ? TD_OP_IDIV
                             : TD_OP_NONE;
  if (level == 4) return k == TK_CONCAT ? TD_OP_CONCAT : TD_OP_NONE;
  if (level == 1) return k == TK_PLUS ? TD_OP_ADD : k == TK_MINUS ? TD_OP_SUB : TD_OP_NONE;
  if (level == 2) return td__is_kw(p, "AND") ? TD_OP_AND : TD_OP_NONE;
  return td__is_kw(p, "OR") ? TD_OP_OR : TD_OP_NONE;
}

/* Left-associative chain of operators of one level over `sub`. */
static int parse_chain(td_parser *p, int level, parse_fn sub, td_expr **out) {
  td_expr *l;
  int rc = sub(p, &l);
  if (rc) return rc;
  for (;;) {
    td_op op = binary_op(p, level);
    if (op == TD_OP_NONE) break;
    int64_t pos = p->tok.pos;
    td__next(p);
    td_expr *r;
    rc = sub(p, &r);
    if (!rc) rc = make_node(p, TD_EXPR_BINARY, op, pos, l, r, &l);
    else td_expr_free(l);
    if (rc) return rc;
  }
  *out = l;
  return TD_OK;
}

static int parse_mul(td_parser *p, td_expr **out) { return parse_chain(p, 0, parse_unary, out); }
static int parse_add(td_parser *p, td_expr **out) { return parse_chain(p, 1, parse_mul, out); }
static int parse_concat(td_parser *p, td_expr **out) { return parse_chain(p, 4, parse_add, out); }

static td_op compare_op(td_tok_kind k) {
  switch (k) {
    case TK_EQ: return TD_OP_EQ;
    case TK_NE: return TD_OP_NE;
    case TK_LT: return TD_OP_LT;
    case TK_LE: return TD_OP_LE;
    case TK_GT: return TD_OP_GT;
    case TK_GE: return TD_OP_GE;
    default: return TD_OP_NONE;
  }
}

/* '(' expr {',' expr} ')' appended to e */
static int parse_in_list(td_parser *p, td_expr *e) {
  if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' after IN");
  if (td__at_subquery(p)) { /* x IN (SELECT ...): query/compose.c */
    td_expr *sub;
    int rc = td__parse_expr_subquery(p, "__in_subquery", &sub);
    return rc ? rc : td__expr_add(e, sub, p->err);
  }
  td__next(p);
  int rc = parse_expr_list(p, e);
  if (rc) return rc;
  if (p->tok.kind != TK_RPAREN) return td__expected(p, "')' or ','");
  td__next(p);
  return TD_OK;
}

static int parse_between(td_parser *p, td_expr *e) {
  td_expr *lo, *hi;
  int rc = parse_add(p, &lo);
  if (rc) return rc;
  rc = td__expr_add(e, lo, p->err);
  if (rc) return rc;
  if (!td__accept_kw(p, "AND")) return td__expected(p, "AND in BETWEEN");
  rc = parse_add(p, &hi);
  if (rc) return rc;
  return td__expr_add(e, hi, p->err);
}

/* x [NOT] IN (...) | x [NOT] BETWEEN a AND b | x IS [NOT] NULL */
static int parse_special(td_parser *p, td_expr *x, td_expr **out) {
  int64_t pos = p->tok.pos;
  bool is = td__accept_kw(p, "IS");
  bool negated = td__accept_kw(p, "NOT");
  td_expr_kind kind = is ? TD_EXPR_IS_NULL : td__is_kw(p, "IN") ? TD_EXPR_IN : TD_EXPR_BETWEEN;
  const char *call = NULL; /* LIKE, ILIKE, DISTINCT FROM: a call node */
  if (is && td__is_kw(p, "DISTINCT")) call = "distinct_from";
  else if (!is && (td__is_kw(p, "LIKE") || td__is_kw(p, "ILIKE")))
    call = td__is_kw(p, "LIKE") ? "like" : "ilike";
  td_expr *e = td__expr_new(call ? TD_EXPR_CALL : kind, pos, p->err);
  if (!e) {
    td_expr_free(x);
    return TD_ENOMEM;
  }
  e->negated = negated;
  if (call && !(e->name = td_strdup(call))) {
    td_expr_free(x);
    td_expr_free(e);
    return td_err_nomem(p->err, "parsing an expression");
  }
  int rc = td__expr_add(e, x, p->err);
  if (rc) {
    td_expr_free(e);
    return rc;
  }
  if (call) {
    td__next(p); /* LIKE, ILIKE or DISTINCT */
    if (is && !td__accept_kw(p, "FROM")) rc = td__expected(p, "FROM after IS DISTINCT");
    td_expr *y = NULL;
    if (!rc) rc = parse_concat(p, &y);
    if (!rc) rc = td__expr_add(e, y, p->err);
    if (!rc && !is && td__accept_kw(p, "ESCAPE")) { /* a third argument */
      td_expr *z = NULL;
      rc = parse_concat(p, &z);
      if (!rc) rc = td__expr_add(e, z, p->err);
    }
  } else if (is) {
    if (!td__accept_kw(p, "NULL")) rc = td__expected(p, negated ? "NULL or DISTINCT FROM" : "NULL, NOT or DISTINCT FROM");
  } else if (kind == TD_EXPR_IN) {
    td__next(p);
    rc = parse_in_list(p, e);
  } else if (td__accept_kw(p, "BETWEEN")) {
    rc = parse_between(p, e);
  } else {
    rc = td__expected(p, "IN, BETWEEN or LIKE after NOT");
  }
  if (!rc) rc = td__expr_check_height(e, p->err);
  if (rc) {
    td_expr_free(e);
    return rc;
  }
  *out = e;
  return TD_OK;
}

/* x [NOT] GLOB pattern, x [NOT] SIMILAR TO regex: glob(x, p) and
 * regexp_full_match(x, p) (query/func_string.c), under NOT when negated. */
static int parse_glob_similar(td_parser *p, td_expr *x, td_expr **out) {
  int64_t pos = p->tok.pos;
  bool negated = td__accept_kw(p, "NOT");
  bool glob = td__is_kw(p, "GLOB");
  td__next(p);
  int rc = TD_OK;
  if (!glob && !td__accept_kw(p, "TO")) rc = td__expected(p, "TO after SIMILAR");
  td_expr *y = NULL, *e = NULL;
  if (!rc) rc = parse_concat(p, &y);
  if (!rc && !(e = td__expr_new(TD_EXPR_CALL, pos, p->err))) rc = TD_ENOMEM;
  if (!rc && !(e->name = td_strdup(glob ? "glob" : "regexp_full_match"))) rc = td_err_nomem(p->err, "parsing an expression");
  if (!rc) {
    rc = td__expr_add(e, x, p->err); /* takes x, also on failure */
    x = NULL;
  }
  if (!rc) {
    rc = td__expr_add(e, y, p->err);
    y = NULL;
  }
  if (!rc && negated) {
    td_expr *n = td__expr_new(TD_EXPR_UNARY, pos, p->err);
    if (!n) rc = TD_ENOMEM;
    else {
      n->op = TD_OP_NOT;
      rc = td__expr_add(n, e, p->err);
      e = n;
    }
  }
  td_expr_free(x);
  td_expr_free(y);
  if (rc) {
    td_expr_free(e);
    return rc;
  }
  *out = e;
  return TD_OK;
}

/* Whether the tokens at p are [NOT] GLOB or [NOT] SIMILAR. */
static bool at_glob_similar(td_parser *p) {
  if (td__is_kw(p, "GLOB") || td__is_kw(p, "SIMILAR")) return true;
  if (!td__is_kw(p, "NOT")) return false;
  td_parser save = *p;
  td__next(&save);
  return td__is_kw(&save, "GLOB") || td__is_kw(&save, "SIMILAR");
}

static int parse_predicate(td_parser *p, td_expr **out) {
  td_expr *l;
  int rc = parse_concat(p, &l);
  if (rc) return rc;
  if (at_glob_similar(p)) return parse_glob_similar(p, l, out);
  td_op op = compare_op(p->tok.kind);
  if (op != TD_OP_NONE) {
    int64_t pos = p->tok.pos;
    td__next(p);
    td_expr *r;
    rc = parse_concat(p, &r);
    if (rc) {
      td_expr_free(l);
      return rc;
    }
    return make_node(p, TD_EXPR_BINARY, op, pos, l, r, out);
  }
  if (td__is_kw(p, "IS") || td__is_kw(p, "IN") || td__is_kw(p, "BETWEEN") ||
      td__is_kw(p, "NOT") || td__is_kw(p, "LIKE") || td__is_kw(p, "ILIKE"))
    return parse_special(p, l, out);
  *out = l;
  return TD_OK;
}

static int parse_not(td_parser *p, td_expr **out) {
  if (!td__is_kw(p, "NOT")) return parse_predicate(p, out);
  int64_t pos = p->tok.pos;
  int rc = enter(p);
  if (rc) return rc;
  td__next(p);
  td_expr *a;
  rc = parse_not(p, &a);
  if (rc) return rc;
  p->depth--;
  return make_node(p, TD_EXPR_UNARY, TD_OP_NOT, pos, a, NULL, out);
}

static int parse_and(td_parser *p, td_expr **out) { return parse_chain(p, 2, parse_not, out); }
static int parse_or(td_parser *p, td_expr **out) {
  int rc = enter(p);
  if (rc) return rc;
  rc = parse_chain(p, 3, parse_and, out);
  p->depth--;
  return rc;
}

int td__parse_expr(td_parser *p, td_expr **out) { return parse_or(p, out); }
int td__parse_concat(td_parser *p, td_expr **out) { return parse_concat(p, out); }
int td__parse_unary(td_parser *p, td_expr **out) { return parse_unary(p, out); }
int td__parse_args(td_parser *p, td_expr *e) { return parse_call(p, e); }

int td_expr_parse(const char *text, size_t len, td_expr **out, td_error *err) {
  td_parser p;
  td__parser_init(&p, text, len, err);
  td_expr *e;
  int rc = parse_or(&p, &e);
  if (rc) return rc;
  if (p.tok.kind != TK_EOF) {
    td_expr_free(e);
    return td__expected(&p, "end of expression");
  }
  *out = e;
  return TD_OK;
}
