/*
 * query/grouping.c - GROUP BY ROLLUP (...), CUBE (...) and GROUPING SETS
 * (...): parsed into grouping sets over a list of distinct key expressions,
 * then rewritten, still in the parser, as
 *
 *   SELECT * FROM (term_1 UNION ALL ... UNION ALL term_k) [ORDER BY] [LIMIT]
 *
 * where term i is the statement grouped by set i, with the keys outside the
 * set NULL in its items and HAVING (outside aggregates) and grouping(...)
 * the constant bit mask of the set (1 for a key aggregated away), as DuckDB
 * answers.  Each term reads the source again; the source must be one table
 * (a name, a WITH name or a path: JOINs and FROM subqueries are named in a
 * WITH first).
 */
#include "query/grouping.h"

#include <stdio.h>
#include <string.h>

#include "query/compose.h"
#include "query/func.h"
#include "util/alloc.h"
#include "util/error.h"

#define TD_GS_MAX_KEYS 32
#define TD_GS_MAX_SETS 4096

struct td_gsets {
  int64_t n_keys;
  td_expr *keys[TD_GS_MAX_KEYS];
  int64_t n_sets;
  uint64_t *sets; /* bit i: keys[i] is grouped */
};

void td__gsets_free(td_gsets *g) {
  if (!g) return;
  for (int64_t i = 0; i < g->n_keys; i++) td_expr_free(g->keys[i]);
  td_free(g->sets);
  td_free(g);
}

/* The bit of key e (taken: freed when it repeats a key). */
static int key_bit(td_parser *p, td_gsets *g, td_expr *e, uint64_t *bit) {
  for (int64_t i = 0; i < g->n_keys; i++)
    if (td_expr_equal(g->keys[i], e)) {
      td_expr_free(e);
      *bit = (uint64_t)1 << i;
      return TD_OK;
    }
  if (g->n_keys == TD_GS_MAX_KEYS) {
    int64_t pos = e->pos;
    td_expr_free(e);
    return td_err_at(p->err, TD_EPARSE, pos, "more than %d grouping keys at offset %lld", TD_GS_MAX_KEYS,
                     (long long)pos);
  }
  g->keys[g->n_keys] = e;
  *bit = (uint64_t)1 << g->n_keys++;
  return TD_OK;
}

/* A list of sets (masks) under construction. */
typedef struct masks {
  uint64_t *v;
  int64_t n;
} masks;

static int masks_add(td_parser *p, masks *m, uint64_t x) {
  if (m->n == TD_GS_MAX_SETS)
    return td_err_at(p->err, TD_EPARSE, p->tok.pos, "more than %d grouping sets at offset %lld", TD_GS_MAX_SETS,
                     (long long)p->tok.pos);
  if ((m->n & (m->n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to twice */
    uint64_t *v = td_realloc(m->v, (size_t)(m->n ? m->n * 2 : 1) * sizeof *v);
    if (!v) return td_err_nomem(p->err, "parsing GROUP BY");
    m->v = v;
  }
  m->v[m->n++] = x;
  return TD_OK;
}

/* '(' expr {, expr} ')' or '(' ')' into the bits of its keys; `empty_ok`:
 * () is allowed. */
static int parse_key_list(td_parser *p, td_gsets *g, bool empty_ok, uint64_t **bits, int64_t *n) {
  *bits = NULL;
  *n = 0;
  if (p->tok.kind != TK_LPAREN) return td__expected(p, "'('");
  td__next(p);
  if (p->tok.kind == TK_RPAREN && empty_ok) {
    td__next(p);
    return TD_OK;
  }
  uint64_t *b = td_malloc(TD_GS_MAX_KEYS * sizeof *b);
  if (!b) return td_err_nomem(p->err, "parsing GROUP BY");
  for (;;) {
    td_expr *e;
    int rc = *n == TD_GS_MAX_KEYS ? td_err_at(p->err, TD_EPARSE, p->tok.pos, "more than %d grouping keys at offset %lld",
                                              TD_GS_MAX_KEYS, (long long)p->tok.pos)
                                  : td__parse_expr(p, &e);
    if (!rc) rc = key_bit(p, g, e, &b[*n]);
    if (rc) {
      td_free(b);
      *n = 0;
      return rc;
    }
    (*n)++;
    if (p->tok.kind == TK_RPAREN) break;
    if (p->tok.kind != TK_COMMA) {
      td_free(b);
      *n = 0;
      return td__expected(p, "',' or ')'");
    }
    td__next(p);
  }
  td__next(p);
  *bits = b;
  return TD_OK;
}

/* One element of the GROUP BY list: its sets into *out. */
static int parse_element(td_parser *p, td_gsets *g, masks *out) {
  uint64_t *b = NULL;
  int64_t n = 0;
  int rc = TD_OK;
  if (td__accept_kw(p, "ROLLUP")) { /* (a, b, c): abc, ab, a, () */
    rc = parse_key_list(p, g, false, &b, &n);
    for (int64_t k = n; !rc && k >= 0; k--) {
      uint64_t x = 0;
      for (int64_t i = 0; i < k; i++) x |= b[i];
      rc = masks_add(p, out, x);
    }
  } else if (td__accept_kw(p, "CUBE")) { /* every subset, the whole first, () last */
    rc = parse_key_list(p, g, false, &b, &n);
    if (!rc && n > 12)
      rc = td_err_at(p->err, TD_EPARSE, p->tok.pos, "CUBE of more than 12 keys at offset %lld", (long long)p->tok.pos);
    for (int64_t s = ((int64_t)1 << n) - 1; !rc && s >= 0; s--) {
      uint64_t x = 0;
      for (int64_t i = 0; i < n; i++)
        if (s >> (n - 1 - i) & 1) x |= b[i];
      rc = masks_add(p, out, x);
    }
  } else if (td__is_kw(p, "GROUPING")) {
    td__next(p);
    if (!td__accept_kw(p, "SETS")) return td__expected(p, "SETS after GROUPING");
    if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' after GROUPING SETS");
    td__next(p);
    for (;;) {
      uint64_t x = 0;
      if (p->tok.kind == TK_LPAREN && !td__at_subquery(p)) { /* (a, b) or () */
        rc = parse_key_list(p, g, true, &b, &n);
        for (int64_t i = 0; !rc && i < n; i++) x |= b[i];
        td_free(b);
        b = NULL;
      } else {
        td_expr *e;
        rc = td__parse_expr(p, &e);
        if (!rc) rc = key_bit(p, g, e, &x);
      }
      if (!rc) rc = masks_add(p, out, x);
      if (rc) return rc;
      if (p->tok.kind == TK_RPAREN) break;
      if (p->tok.kind != TK_COMMA) return td__expected(p, "',' or ')' in GROUPING SETS");
      td__next(p);
    }
    td__next(p);
  } else { /* a plain key: one set */
    td_expr *e;
    uint64_t x = 0;
    rc = td__parse_expr(p, &e);
    if (!rc) rc = key_bit(p, g, e, &x);
    if (!rc) rc = masks_add(p, out, x);
  }
  td_free(b);
  return rc;
}

bool td__at_grouping_sets(const td_parser *p) {
  return td__is_kw(p, "ROLLUP") || td__is_kw(p, "CUBE") || td__is_kw(p, "GROUPING");
}

int td__parse_grouping_sets(td_parser *p, td_select *s) {
  td_gsets *g = td_calloc(1, sizeof *g);
  if (!g) return td_err_nomem(p->err, "parsing GROUP BY");
  s->gsets = g;
  masks acc = {0};
  int rc = masks_add(p, &acc, 0); /* the cross product starts from {plain keys before} */
  for (int64_t i = 0; !rc && i < s->n_group_by; i++) {
    uint64_t bit = 0;
    rc = key_bit(p, g, s->group_by[i], &bit);
    s->group_by[i] = NULL;
    acc.v[0] |= bit;
  }
  for (int64_t i = 0; i < s->n_group_by; i++) td_expr_free(s->group_by[i]);
  td_free(s->group_by);
  s->group_by = NULL;
  s->n_group_by = 0;
  while (!rc) {
    masks el = {0}, next = {0};
    rc = parse_element(p, g, &el);
    for (int64_t i = 0; !rc && i < acc.n; i++)
      for (int64_t j = 0; !rc && j < el.n; j++) rc = masks_add(p, &next, acc.v[i] | el.v[j]);
    td_free(el.v);
    td_free(acc.v);
    acc = next;
    if (rc || p->tok.kind != TK_COMMA) break;
    td__next(p);
  }
  if (rc) {
    td_free(acc.v);
    return rc;
  }
  g->sets = acc.v;
  g->n_sets = acc.n;
  return TD_OK;
}

/* ---- the rewrite ---- */

static bool is_scalar_call(const td_expr *e) {
  return e->kind != TD_EXPR_CALL || !e->name || (td__func_find(e->name) && td_agg_kind_from_name(e->name) == TD_AGG_NONE);
}

static td_expr *int_literal(int64_t v, int64_t pos, td_error *err) {
  td_expr *e = td__expr_new(TD_EXPR_LITERAL, pos, err);
  if (e) e->lit = td_value_int(TD_TYPE_INT64, v);
  return e;
}

/* Replaces, in *pe, the keys outside set m by NULL and grouping(...) by its
 * value, leaving aggregates' arguments alone. */
static int replace(td_expr **pe, const td_gsets *g, uint64_t m, td_error *err) {
  td_expr *e = *pe;
  for (int64_t i = 0; i < g->n_keys; i++)
    if (!(m >> i & 1) && td_expr_equal(e, g->keys[i])) {
      td_expr *n = td__expr_new(TD_EXPR_LITERAL, e->pos, err);
      if (!n) return TD_ENOMEM;
      n->lit = td_value_null(TD_TYPE_NONE);
      td_expr_free(e);
      *pe = n;
      return TD_OK;
    }
  if (e->kind == TD_EXPR_CALL && e->name && (!strcmp(e->name, "grouping") || !strcmp(e->name, "grouping_id"))) {
    if (e->n_args == 0)
      return td_err_at(err, TD_EPARSE, e->pos, "%s() needs at least one grouping key at offset %lld", e->name,
                       (long long)e->pos);
    int64_t v = 0;
    for (int64_t a = 0; a < e->n_args; a++) {
      int64_t k = -1;
      for (int64_t i = 0; i < g->n_keys && k < 0; i++)
        if (td_expr_equal(e->args[a], g->keys[i])) k = i;
      if (k < 0)
        return td_err_at(err, TD_EPARSE, e->args[a]->pos,
                         "%s: argument %lld is not a grouping key at offset %lld", e->name, (long long)a + 1,
                         (long long)e->args[a]->pos);
      v = v << 1 | (int64_t)!(m >> k & 1);
    }
    td_expr *n = int_literal(v, e->pos, err);
    if (!n) return TD_ENOMEM;
    td_expr_free(e);
    *pe = n;
    return TD_OK;
  }
  if (!is_scalar_call(e)) return TD_OK; /* an aggregate (or a subquery placeholder) */
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = replace(&e->args[i], g, m, err);
    if (rc) return rc;
  }
  return TD_OK;
}

static int clone_replaced(const td_expr *e, const td_gsets *g, uint64_t m, td_expr **out, td_error *err) {
  *out = NULL;
  if (!e) return TD_OK;
  int rc = td_expr_clone(e, out, err);
  if (!rc) rc = replace(out, g, m, err);
  if (rc) {
    td_expr_free(*out);
    *out = NULL;
  }
  return rc;
}

static bool has_agg(const td_expr *e) {
  if (!e) return false;
  if (e->kind == TD_EXPR_CALL && e->name && td_agg_kind_from_name(e->name) != TD_AGG_NONE) return true;
  if (e->kind == TD_EXPR_CALL && e->name && !td__func_find(e->name) && strncmp(e->name, "__", 2) != 0)
    return true; /* an aggregate the planner rewrites (stddev, median, ...) */
  for (int64_t i = 0; i < e->n_args; i++)
    if (has_agg(e->args[i])) return true;
  return false;
}

/* Term i: s grouped by set m. */
static int make_term(const td_select *s, char **names, uint64_t m, td_select **out, td_error *err) {
  td_select *t = td__select_new(err);
  if (!t) return TD_ENOMEM;
  *out = t;
  const td_gsets *g = s->gsets;
  t->pos = s->pos;
  t->source_kind = s->source_kind;
  t->source_pos = s->source_pos;
  if (!(t->source = td_strdup(s->source)) || (s->source_alias && !(t->source_alias = td_strdup(s->source_alias))))
    return td_err_nomem(err, "planning GROUP BY ROLLUP");
  int rc = clone_replaced(s->where, g, ~(uint64_t)0, &t->where, err);
  if (!rc) rc = clone_replaced(s->having, g, m, &t->having, err);
  int64_t nk = 0;
  for (int64_t i = 0; i < g->n_keys; i++) nk += m >> i & 1;
  if (!rc && nk && !(t->group_by = td_calloc((size_t)nk, sizeof *t->group_by)))
    rc = td_err_nomem(err, "planning GROUP BY ROLLUP");
  for (int64_t i = 0; !rc && i < g->n_keys; i++)
    if (m >> i & 1) {
      rc = td_expr_clone(g->keys[i], &t->group_by[t->n_group_by], err);
      if (!rc) t->n_group_by++;
    }
  if (!rc && !(t->items = td_calloc((size_t)s->n_items, sizeof *t->items)))
    rc = td_err_nomem(err, "planning GROUP BY ROLLUP");
  bool aggs = has_agg(s->having);
  for (int64_t j = 0; !rc && j < s->n_items; j++) {
    td_select_item *it = &t->items[j];
    it->pos = s->items[j].pos;
    it->alias_pos = s->items[j].alias_pos;
    rc = clone_replaced(s->items[j].expr, g, m, &it->expr, err);
    if (!rc) t->n_items++;
    if (!rc && !(it->alias = td_strdup(names[j]))) rc = td_err_nomem(err, "planning GROUP BY ROLLUP");
    aggs |= has_agg(s->items[j].expr);
  }
  /* the empty set without aggregates is one row: DISTINCT over the constants */
  if (!rc && !nk && !aggs) t->distinct = true;
  return rc;
}

static int refuse(td_parser *p, int64_t pos, const char *what) {
  return td_err_at(p->err, TD_EPARSE, pos, "GROUP BY ROLLUP, CUBE or GROUPING SETS %s is not supported at offset %lld",
                   what, (long long)pos);
}


int td__expand_grouping_sets(td_parser *p, td_select *s) {
  td_gsets *g = s->gsets;
  if (!g) return TD_OK;
  if (s->n_joins) return refuse(p, s->source_pos, "over a JOIN (name the join in a WITH)");
  if (s->source_kind == TD_SOURCE_SUBQUERY || s->no_from)
    return refuse(p, s->source_pos, "over a FROM subquery (name it in a WITH)");
  if (s->distinct || s->n_distinct_on) return refuse(p, s->pos, "with DISTINCT");
  if (s->qualify) return refuse(p, s->qualify_pos, "with QUALIFY");
  for (int64_t j = 0; j < s->n_items; j++)
    if (!s->items[j].expr) return refuse(p, s->items[j].pos, "with SELECT *");
  td_error *err = p->err;
  char **names = td_calloc((size_t)s->n_items + 1, sizeof *names);
  td_select **terms = td_calloc((size_t)g->n_sets, sizeof *terms);
  bool *all = td_calloc((size_t)g->n_sets, sizeof *all);
  unsigned char *ops = td_calloc((size_t)g->n_sets, sizeof *ops);
  td_select *u = td__select_new(err);
  td_select_item *star = td_calloc(1, sizeof *star);
  int rc = names && terms && all && ops && u && star ? TD_OK : td_err_nomem(err, "planning GROUP BY ROLLUP");
  for (int64_t j = 0; !rc && j < s->n_items; j++) rc = td_select_item_name(s, j, &names[j], err);
  int64_t made = 0;
  for (; !rc && made < g->n_sets; made++) {
    all[made] = true;
    rc = make_term(s, names, g->sets[made], &terms[made], err);
  }
  if (rc) made++;
  /* ORDER BY an item's expression: the item's column of the union */
  for (int64_t o = 0; !rc && o < s->n_order_by; o++)
    for (int64_t j = 0; j < s->n_items; j++)
      if (td_expr_equal(s->order_by[o].expr, s->items[j].expr)) {
        td_expr *c = td__column_ref(names[j], s->order_by[o].expr->pos, err);
        if (!c) {
          rc = TD_ENOMEM;
          break;
        }
        td_expr_free(s->order_by[o].expr);
        s->order_by[o].expr = c;
        break;
      }
  if (!rc && !(u->source = td_strdup("(union)"))) rc = td_err_nomem(err, "planning GROUP BY ROLLUP");
  char *from = rc ? NULL : td_strdup("(grouping sets)");
  td_select_item *star2 = rc ? NULL : td_calloc(1, sizeof *star2);
  if (!rc && (!from || !star2)) rc = td_err_nomem(err, "planning GROUP BY ROLLUP");
  for (int64_t j = 0; names && j < s->n_items; j++) td_free(names[j]);
  td_free(names);
  if (rc) {
    for (int64_t i = 0; i < made; i++) td_select_free(terms[i]);
    td_free(terms);
    td_free(all);
    td_free(ops);
    td_select_free(u);
    td_free(star);
    td_free(star2);
    td_free(from);
    return rc;
  }
  /* u: SELECT * FROM (term_1 UNION ALL ... term_k) */
  star->pos = s->pos;
  star->alias_pos = -1;
  u->pos = s->pos;
  u->items = star;
  u->n_items = 1;
  u->source_kind = TD_SOURCE_SUBQUERY;
  u->source_pos = s->pos;
  u->terms = terms;
  u->term_all = all;
  u->term_op = ops;
  u->n_terms = g->n_sets;
  /* s: SELECT * FROM (u) with its ORDER BY, LIMIT, OFFSET */
  for (int64_t j = 0; j < s->n_items; j++) {
    td_expr_free(s->items[j].expr);
    td_free(s->items[j].alias);
  }
  td_free(s->items);
  star2->pos = s->pos;
  star2->alias_pos = -1;
  s->items = star2;
  s->n_items = 1;
  td_expr_free(s->where);
  td_expr_free(s->having);
  s->where = s->having = NULL;
  td_free(s->source);
  td_free(s->source_alias);
  s->source_alias = NULL;
  s->source = from;
  s->source_kind = TD_SOURCE_SUBQUERY;
  s->from_sub = u;
  td__gsets_free(g);
  s->gsets = NULL;
  return TD_OK;
}
