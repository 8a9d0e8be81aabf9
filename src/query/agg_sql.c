/*
 * query/agg_sql.c - the SQL forms of the aggregates of query/agg_more.h:
 *   count(DISTINCT x), sum(DISTINCT x), avg(DISTINCT x), string_agg(DISTINCT
 *   x [, sep]) parse as calls of count_distinct, sum_distinct, avg_distinct,
 *   string_agg_distinct (td_expr_print writes them back as written);
 *   min/max(DISTINCT x) are min/max.
 *   agg(x) FILTER (WHERE c) becomes agg(CASE WHEN c THEN x END) (and
 *   count(*) FILTER ... count(CASE WHEN c THEN 1 END)): every aggregate but
 *   first/last ignores nulls, so rows the filter drops do not count.
 */
#include <stdio.h>
#include <string.h>

#include "query/agg_more.h"
#include "query/func.h"
#include "util/alloc.h"
#include "util/error.h"

int td__agg_distinct_name(td_expr *e, td_error *err) {
  if (strcmp(e->name, "min") == 0 || strcmp(e->name, "max") == 0) return 1;
  if (strcmp(e->name, "count") != 0 && strcmp(e->name, "sum") != 0 && strcmp(e->name, "avg") != 0 &&
      strcmp(e->name, "string_agg") != 0)
    return 0;
  char buf[32];
  snprintf(buf, sizeof buf, "%s_distinct", e->name);
  char *n = td_strdup(buf);
  if (!n) {
    td_err_nomem(err, "parsing DISTINCT");
    return -1;
  }
  td_free(e->name);
  e->name = n;
  return 1;
}

int td__parse_agg_filter(td_parser *p, td_expr *e) {
  int64_t pos = p->tok.pos;
  td_agg_kind k = td_agg_kind_from_name(e->name);
  if (k == TD_AGG_NONE && !td__is_stat_agg(e->name))
    return td_err_at(p->err, TD_EPARSE, pos, "FILTER applies to aggregates, not to %s() at offset %lld", e->name,
                     (long long)pos);
  if (k == TD_AGG_FIRST || k == TD_AGG_LAST)
    return td_err_at(p->err, TD_EPARSE, pos, "FILTER on %s() is not supported at offset %lld", e->name,
                     (long long)pos);
  td__next(p);
  if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' after FILTER");
  td__next(p);
  if (!td__accept_kw(p, "WHERE")) return td__expected(p, "WHERE");
  td_expr *cond;
  int rc = td__parse_expr(p, &cond);
  if (rc) return rc;
  if (p->tok.kind != TK_RPAREN) {
    td_expr_free(cond);
    return td__expected(p, "')'");
  }
  td__next(p);
  if (e->n_args == 0 && !e->star) {
    td_expr_free(cond);
    return td_err_at(p->err, TD_EPARSE, pos, "%s() has no argument to filter at offset %lld", e->name, (long long)pos);
  }
  /* arg_max(arg, val): a filtered row's val is NULL (skipped), not its arg
   * (a pair statistic skips a pair with either NULL) */
  const int64_t ai = td_agg_two_inputs(k) && e->n_args == 2 ? 1 : 0;
  td_expr *c = td__expr_new(TD_EXPR_CALL, pos, p->err), *x = NULL;
  if (c && !(c->name = td_strdup("case"))) rc = td_err_nomem(p->err, "parsing FILTER");
  if (!c) rc = TD_ENOMEM;
  if (rc == TD_OK && e->star) {
    if ((x = td__expr_new(TD_EXPR_LITERAL, pos, p->err)) == NULL) rc = TD_ENOMEM;
    else x->lit = td_value_int(TD_TYPE_INT64, 1);
  } else if (rc == TD_OK) {
    x = e->args[ai];
  }
  if (rc) {
    td_expr_free(cond);
    td_expr_free(c);
    return rc;
  }
  rc = td__expr_add(c, cond, p->err);
  if (rc == TD_OK && e->star) {
    rc = td__expr_add(c, x, p->err);
    x = NULL;
    if (rc == TD_OK) {
      rc = td__expr_add(e, c, p->err);
      c = NULL;
      e->star = false;
    }
  } else if (rc == TD_OK) {
    e->args[ai] = c; /* e owns the CASE, the CASE takes x */
    c = NULL;
    rc = td__expr_add(e->args[ai], x, p->err);
    if (rc) e->args[ai]->n_args = 1; /* x was freed */
  }
  td_expr_free(c);
  return rc ? rc : td__expr_check_height(e, p->err);
}

/* Binds CAST(a AS type) against def into *out. */
static int bind_cast(const td_expr *a, const char *type, const td_schema *def, td_expr **out, td_error *err) {
  td_expr *c = td__expr_new(TD_EXPR_CALL, a->pos, err), *x = NULL, *t = NULL;
  if (!c) return TD_ENOMEM;
  if (!(c->name = td_strdup("cast")) || !(t = td__expr_new(TD_EXPR_LITERAL, a->pos, err))) {
    td_expr_free(c);
    return td_err_nomem(err, "binding an aggregate");
  }
  int rc = td_expr_clone(a, &x, err);
  if (rc == TD_OK) rc = td__expr_add(c, x, err);
  char *name = rc == TD_OK ? td_strdup(type) : NULL;
  if (rc == TD_OK && !name) rc = td_err_nomem(err, "binding an aggregate");
  if (rc == TD_OK) {
    t->lit = td_value_null(TD_TYPE_UTF8);
    t->lit.is_null = false;
    t->lit.v.s.ptr = name;
    t->lit.v.s.len = strlen(name);
    rc = td__expr_add(c, t, err);
  } else {
    td_expr_free(t);
  }
  if (rc == TD_OK) rc = td_expr_bind(c, def, 0, out, err);
  td_expr_free(c);
  return rc;
}

/* Argument i of aggregate call e bound against def: string_agg's of other
 * types as their text, the pair statistics' numbers as float64. */
static int bind_arg(const td_expr *e, int64_t i, td_agg_kind kind, const td_schema *def, td_expr **out,
                    td_error *err) {
  int rc = td_expr_bind(e->args[i], def, 0, out, err);
  if (rc || (*out)->type == TD_TYPE_NONE) return rc;
  const char *to = NULL;
  if (td_agg_joins_text(kind) && !td_type_is_text((*out)->type)) to = "VARCHAR"; /* as DuckDB */
  else if (td_agg_is_moment(kind) && (*out)->type != TD_TYPE_FLOAT64 &&
           td_agg_result_type(kind, (*out)->type) != TD_TYPE_NONE)
    to = "DOUBLE";
  if (!to) return TD_OK;
  td_expr_free(*out);
  *out = NULL;
  return bind_cast(e->args[i], to, def, out, err);
}

int td__agg_bind_input(const td_expr *e, td_agg_kind kind, const td_schema *def, td_expr **out, td_error *err) {
  return bind_arg(e, 0, kind, def, out, err);
}

int td__agg_bind_input2(const td_expr *e, td_agg_kind kind, const td_schema *def, td_expr **out, td_error *err) {
  return bind_arg(e, 1, kind, def, out, err);
}

int td__agg_list_error(td_parser *p, const td_expr *e, int rc) {
  if (rc != TD_EPARSE || p->tok.len != 1 || p->tok.text[0] != '[') return rc;
  return td_err_at(p->err, TD_EPARSE, p->tok.pos,
                   "a list argument ([...]) of %s is not supported at offset %lld: lists are not a column type "
                   "(write one %s per value)", e->name, (long long)p->tok.pos, e->name);
}
