/*
 * query/agg_order.c - ORDER BY inside aggregate calls (see agg_order.h):
 * parsing into a trailing "__agg_order" argument, stripping it before the
 * aggregates are planned, and the sorted source the aggregation then
 * reads.  One ORDER BY per query (every order-sensitive aggregate the
 * same): the sort is the source's, so two orders would need two passes.
 * Live: the sort recomputes in every cycle that changes the source and
 * the aggregation downstream recomputes from it (O(N log N) per cycle).
 */
#include "query/agg_order.h"

#include <stdio.h>
#include <string.h>

#include "query/ops.h"
#include "query/sql_window.h"
#include "util/alloc.h"
#include "util/error.h"

static bool is_call(const td_expr *e, const char *name) {
  return e && e->kind == TD_EXPR_CALL && e->name && strcmp(e->name, name) == 0;
}

bool td__is_agg_order(const td_expr *e) { return is_call(e, "__agg_order"); }

int td__check_list_agg(td_parser *p, const td_expr *e) {
  static const char *const names[] = {"array_agg", "list", "array", "list_agg", "histogram", "map_agg", "array_slice"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(e->name, names[i]) == 0)
      return td_err_at(p->err, TD_EPARSE, e->pos,
                       "%s(): list results are not supported at offset %lld (nested types are not queryable; "
                       "string_agg joins values into a string)", e->name, (long long)e->pos);
  /* DuckDB aggregates of the families here that are not (yet) */
  static const char *const later[] = {"kurtosis_pop", "arg_max_n", "favg", "fsum", "bitstring_agg"};
  for (size_t i = 0; i < sizeof later / sizeof *later; i++)
    if (strcmp(e->name, later[i]) == 0)
      return td_err_at(p->err, TD_EPARSE, e->pos, "the aggregate %s() is not supported at offset %lld", e->name,
                       (long long)e->pos);
  return TD_OK;
}

static int new_call(const char *name, int64_t pos, td_expr **out, td_error *err) {
  td_expr *c = td__expr_new(TD_EXPR_CALL, pos, err);
  if (!c) return TD_ENOMEM;
  if (!(c->name = td_strdup(name))) {
    td_expr_free(c);
    return td_err_nomem(err, "parsing ORDER BY");
  }
  *out = c;
  return TD_OK;
}

int td__parse_agg_order(td_parser *p, td_expr *e) {
  int64_t pos = p->tok.pos;
  if (td_agg_kind_from_name(e->name) == TD_AGG_NONE)
    return td_err_at(p->err, TD_EPARSE, pos, "ORDER BY inside %s(...) is not supported at offset %lld", e->name,
                     (long long)pos);
  if (e->n_args == 0 || e->star)
    return td_err_at(p->err, TD_EPARSE, pos, "ORDER BY inside %s(*) is not supported at offset %lld", e->name,
                     (long long)pos);
  td__next(p);
  if (!td__accept_kw(p, "BY")) return td__expected(p, "BY after ORDER");
  td_expr *ord = NULL;
  int rc = new_call("__agg_order", pos, &ord, p->err);
  while (rc == TD_OK) {
    td_expr *k = NULL;
    if ((rc = td__parse_expr(p, &k)) != TD_OK) break;
    if (!td__accept_kw(p, "ASC") && td__is_kw(p, "DESC")) {
      td__next(p);
      td_expr *d = NULL;
      if ((rc = new_call("__desc", k->pos, &d, p->err)) == TD_OK) rc = td__expr_add(d, k, p->err);
      else td_expr_free(k);
      k = d;
      if (rc) break;
    }
    if (td__is_kw(p, "NULLS")) {
      td_expr_free(k);
      rc = td_err_at(p->err, TD_EPARSE, p->tok.pos, "NULLS FIRST/LAST inside %s(... ORDER BY) is not supported at "
                     "offset %lld (nulls sort last)", e->name, (long long)p->tok.pos);
      break;
    }
    if ((rc = td__expr_add(ord, k, p->err)) != TD_OK) break;
    if (p->tok.kind != TK_COMMA) break;
    td__next(p);
  }
  if (rc == TD_OK) return td__expr_add(e, ord, p->err);
  td_expr_free(ord);
  return rc;
}

static bool order_sensitive(td_agg_kind k) { return k == TD_AGG_STRING_AGG || k == TD_AGG_FIRST || k == TD_AGG_LAST; }

int td__agg_order_strip(td_expr *e, td_expr **order, td_error *err) {
  if (!e) return TD_OK;
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = td__agg_order_strip(e->args[i], order, err);
    if (rc) return rc;
  }
  if (e->kind != TD_EXPR_CALL || e->n_args == 0 || !td__is_agg_order(e->args[e->n_args - 1])) return TD_OK;
  td_expr *ord = e->args[--e->n_args];
  e->args[e->n_args] = NULL;
  if (td_agg_kind_from_name(e->name) == TD_AGG_STRING_AGG_DISTINCT) {
    /* its values are joined sorted: ORDER BY the value ascending says so */
    bool asc = ord->n_args == 1 && !is_call(ord->args[0], "__desc") && td_expr_equal(ord->args[0], e->args[0]);
    td_expr_free(ord);
    if (asc) return TD_OK;
    return td_err_at(err, TD_EPARSE, e->pos,
                     "string_agg(DISTINCT x ORDER BY ...) is supported only ordered by x ascending (its values "
                     "are joined sorted) at offset %lld", (long long)e->pos);
  }
  if (!order_sensitive(td_agg_kind_from_name(e->name))) {
    td_expr_free(ord);
    return TD_OK;
  }
  if (!*order) {
    *order = ord;
    return TD_OK;
  }
  bool same = td_expr_equal(*order, ord);
  td_expr_free(ord);
  if (!same)
    return td_err_at(err, TD_EPARSE, e->pos,
                     "aggregates ordered by different ORDER BY lists are not supported at offset %lld (one ORDER "
                     "BY per query)", (long long)e->pos);
  return TD_OK;
}

int td__agg_order_source(td_table *src, const td_expr *order, td_table **out, td_error *err) {
  *out = NULL;
  const td_schema *def = src->def;
  int64_t nf = def->n_fields, nk = order->n_args, extra = 0;
  int64_t *cols = td_calloc((size_t)nk + 1, sizeof *cols);
  bool *desc = td_calloc((size_t)nk + 1, sizeof *desc);
  td_expr **items = td_calloc((size_t)(nf + nk) + 1, sizeof *items);
  char **names = td_calloc((size_t)(nf + nk) + 1, sizeof *names);
  int rc = cols && desc && items && names ? TD_OK : td_err_nomem(err, "planning an ordered aggregate");
  for (int64_t k = 0; rc == TD_OK && k < nk; k++) {
    const td_expr *key = order->args[k];
    desc[k] = is_call(key, "__desc");
    if (desc[k]) key = key->args[0];
    int64_t c = key->kind == TD_EXPR_COLUMN ? td_schema_find(def, key->name) : -1;
    if (c >= 0) {
      cols[k] = c;
      continue;
    }
    td_expr *b = NULL;
    if ((rc = td_expr_bind(key, def, 0, &b, err)) != TD_OK) break;
    char name[32];
    snprintf(name, sizeof name, "__ok%lld", (long long)extra);
    items[nf + extra] = b;
    if (!(names[nf + extra] = td_strdup(name))) rc = td_err_nomem(err, "planning an ordered aggregate");
    cols[k] = nf + extra++;
  }
  td_table *in = td_table_retain(src);
  if (rc == TD_OK && extra) { /* the source's columns, then the computed keys */
    for (int64_t i = 0; rc == TD_OK && i < nf; i++) {
      td_expr *c = td__expr_new(TD_EXPR_COLUMN, 0, err);
      if (c && !(c->name = td_strdup(def->fields[i].name))) rc = td_err_nomem(err, "planning an ordered aggregate");
      if (rc == TD_OK) rc = c ? td_expr_bind(c, def, 0, &items[i], err) : TD_ENOMEM;
      td_expr_free(c);
      if (rc == TD_OK && !(names[i] = td_strdup(def->fields[i].name)))
        rc = td_err_nomem(err, "planning an ordered aggregate");
    }
    td_table_release(in);
    in = NULL;
    if (rc == TD_OK) {
      rc = td__sql_project(src, NULL, items, nf + extra, names, &in, err);
      items = NULL; /* taken */
    }
  }
  if (rc == TD_OK) rc = td_op_sort(in, cols, desc, nk, out, err);
  td_table_release(in);
  for (int64_t i = 0; items && i < nf + nk; i++) td_expr_free(items[i]);
  for (int64_t i = 0; names && i < nf + nk; i++) td_free(names[i]);
  td_free(items);
  td_free(names);
  td_free(cols);
  td_free(desc);
  return rc;
}
