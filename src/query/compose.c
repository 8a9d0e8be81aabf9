/*
 * query/compose.c - SQL composition: parsing and planning of WITH, FROM and
 * JOIN subqueries, UNION [ALL], SELECT without FROM and subqueries in
 * expressions.
 *
 * A statement is planned inside out: its CTEs (each a table, visible to the
 * later ones and to the body, shadowing sources of the same name), then its
 * expression subqueries (evaluated once over static tables and replaced by
 * literals: a scalar, an IN list, EXISTS's truth), then the SELECT, whose
 * source is a resolver's table, a CTE, a planned subquery, the UNION of its
 * terms, or one row (no FROM).  Subqueries and CTEs over live sources are
 * live derived tables like any other operator chain.
 */
#include "query/compose.h"
#include "query/func.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/keys.h"
#include "query/setops.h"
#include "query/sql_window.h"
#include "query/stmts.h"
#include "query/strbuf.h"
#include "query/subq_live.h"
#include "table/table.h"
#include "table/update.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- parsing ---- */

td_select *td__select_new(td_error *err) {
  td_select *s = td_calloc(1, sizeof *s);
  if (!s) {
    td_err_nomem(err, "parsing SQL");
    return NULL;
  }
  s->limit_pos = -1;
  s->source_pos = -1;
  return s;
}

void td__compose_free(td_select *s) {
  td_select_free(s->from_sub);
  for (int64_t i = 0; i < s->n_ctes; i++) {
    td_free(s->cte_names[i]);
    td_select_free(s->ctes[i]);
  }
  td_free(s->cte_names);
  td_free(s->ctes);
  for (int64_t i = 0; i < s->n_terms; i++) td_select_free(s->terms[i]);
  td_free(s->terms);
  td_free(s->term_all);
  td_free(s->term_op);
  for (int64_t i = 0; i < s->n_subs; i++) td_select_free(s->subs[i]);
  td_free(s->subs);
}

static int not_supported(td_parser *p, const char *what) {
  return td_err_at(p->err, TD_EPARSE, p->tok.pos, "%s is not supported at offset %lld", what,
                   (long long)p->tok.pos);
}

bool td__at_subquery(const td_parser *p) {
  if (p->tok.kind != TK_LPAREN) return false;
  td_parser q = *p;
  td_error tmp;
  q.err = &tmp;
  td__next(&q);
  return td__is_kw(&q, "SELECT") || td__is_kw(&q, "WITH");
}

int td__parse_subquery(td_parser *p, td_select **out) {
  *out = NULL;
  if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' before a subquery");
  td__next(p);
  td_select *s = td__select_new(p->err);
  if (!s) return TD_ENOMEM;
  p->nest++;
  int rc = td__parse_query(p, s);
  p->nest--;
  if (rc == TD_OK && p->tok.kind != TK_RPAREN) rc = td__expected(p, "')' after the subquery");
  if (rc) {
    td_select_free(s);
    return rc;
  }
  td__next(p);
  *out = s;
  return TD_OK;
}

/* Appends a pointer to a growable array (n elements). */
static int push(void **arr, int64_t n, size_t size, const void *elem, td_error *err) {
  char *a = td_realloc(*arr, (size_t)(n + 1) * size);
  if (!a) return td_err_nomem(err, "parsing SQL");
  memcpy(a + (size_t)n * size, elem, size);
  *arr = a;
  return TD_OK;
}

static int parse_with(td_parser *p, td_select *s) {
  if (td__is_kw(p, "RECURSIVE")) return not_supported(p, "WITH RECURSIVE");
  for (;;) {
    if (p->tok.kind != TK_QIDENT && (p->tok.kind != TK_IDENT || td__is_reserved(p->tok.text, p->tok.len)))
      return td__expected(p, "a name after WITH");
    char *name;
    int rc = td__token_string(p, &name, NULL);
    if (rc) return rc;
    if ((rc = push((void **)&s->cte_names, s->n_ctes, sizeof name, &name, p->err)) != TD_OK) {
      td_free(name);
      return rc;
    }
    td_select *none = NULL;
    if ((rc = push((void **)&s->ctes, s->n_ctes, sizeof none, &none, p->err)) != TD_OK) {
      td_free(name);
      return rc;
    }
    s->n_ctes++;
    td__next(p);
    if (p->tok.kind == TK_LPAREN) return not_supported(p, "a column list after a WITH name");
    if (!td__accept_kw(p, "AS")) return td__expected(p, "AS after the WITH name");
    if (td__is_kw(p, "MATERIALIZED") || td__is_kw(p, "NOT")) return not_supported(p, "MATERIALIZED");
    if (!td__at_subquery(p)) return td__expected(p, "'(' SELECT ... ')' after AS");
    if ((rc = td__parse_subquery(p, &s->ctes[s->n_ctes - 1])) != TD_OK) return rc;
    if (p->tok.kind != TK_COMMA) return TD_OK;
    td__next(p);
  }
}

bool td__at_set_op(const td_parser *p) {
  return td__is_kw(p, "UNION") || td__is_kw(p, "INTERSECT") || td__is_kw(p, "EXCEPT");
}

/* Makes s (its statement-level fields kept, the rest zero) SELECT * over
 * the set operation whose first term is t. */
static int wrap_terms(td_parser *p, td_select *s, td_select *t) {
  td_select_item *star = td_calloc(1, sizeof *star);
  char *name = td_strdup("(union)");
  td_select **terms = td_calloc(1, sizeof *terms);
  bool *all = td_calloc(1, sizeof *all);
  unsigned char *ops = td_calloc(1, sizeof *ops);
  if (!star || !name || !terms || !all || !ops) {
    td_free(star);
    td_free(name);
    td_free(terms);
    td_free(all);
    td_free(ops);
    return td_err_nomem(p->err, "parsing SQL");
  }
  s->limit_pos = -1;
  s->source_pos = t->pos;
  star->pos = t->pos;
  star->alias_pos = -1;
  s->items = star;
  s->n_items = 1;
  s->source_kind = TD_SOURCE_SUBQUERY;
  s->source = name;
  s->terms = terms;
  s->term_all = all;
  s->term_op = ops;
  s->terms[0] = t;
  s->n_terms = 1;
  return TD_OK;
}

/* Moves the SELECT just parsed into s into a new first term; s becomes
 * SELECT * over the set operation. */
static int start_union(td_parser *p, td_select *s) {
  td_select *t = td__select_new(p->err);
  if (!t) return TD_ENOMEM;
  *t = *s;
  /* the statement-level fields stay with s */
  t->stmt = TD_STMT_SELECT;
  t->n_ctes = 0;
  t->cte_names = NULL;
  t->ctes = NULL;
  t->n_subs = 0;
  t->subs = NULL;
  td_select keep = *s;
  memset(s, 0, sizeof *s);
  s->stmt = keep.stmt;
  s->pos = keep.pos;
  s->n_ctes = keep.n_ctes;
  s->cte_names = keep.cte_names;
  s->ctes = keep.ctes;
  s->n_subs = keep.n_subs;
  s->subs = keep.subs;
  int rc = wrap_terms(p, s, t);
  if (rc) {
    /* give the core back */
    td_select back = *t;
    back.stmt = keep.stmt;
    back.n_ctes = keep.n_ctes;
    back.cte_names = keep.cte_names;
    back.ctes = keep.ctes;
    back.n_subs = keep.n_subs;
    back.subs = keep.subs;
    *s = back;
    td_free(t);
  }
  return rc;
}

/* Appends term t (taken) after operation (op, all) to s's terms. */
static int add_term(td_parser *p, td_select *s, td_select *t, int op, bool all) {
  unsigned char o = (unsigned char)op;
  int rc = push((void **)&s->terms, s->n_terms, sizeof t, &t, p->err);
  if (rc == TD_OK) rc = push((void **)&s->term_all, s->n_terms, sizeof all, &all, p->err);
  if (rc == TD_OK) rc = push((void **)&s->term_op, s->n_terms, sizeof o, &o, p->err);
  if (rc) {
    td_select_free(t);
    return rc;
  }
  s->n_terms++;
  return TD_OK;
}

/* One operand of a set operation: a SELECT (*core set, its ORDER BY and
 * LIMIT may belong to the whole) or a parenthesized query (*core NULL). */
static int parse_operand(td_parser *p, td_select **out, td_select **core) {
  *out = NULL;
  *core = NULL;
  if (td__at_subquery(p)) return td__parse_subquery(p, out);
  td_select *t = td__select_new(p->err);
  if (!t) return TD_ENOMEM;
  int rc = td__parse_select_core(p, t);
  if (rc) {
    td_select_free(t);
    return rc;
  }
  *out = *core = t;
  return TD_OK;
}

static int order_before_set_op(td_parser *p, const td_select *last) {
  int64_t pos = last->n_order_by ? last->order_by[0].pos : last->order_by_all ? last->order_all_pos : last->limit_pos;
  return td_err_at(p->err, TD_EPARSE, pos,
                   "ORDER BY or LIMIT before %.*s is not supported at offset %lld (it applies to the whole "
                   "statement when written after the last SELECT; parenthesize a term to order it)",
                   (int)p->tok.len, p->tok.text, (long long)pos);
}

/* [WITH ...] operand {UNION|INTERSECT|EXCEPT [ALL|DISTINCT] operand}
 * [ORDER BY] [LIMIT] [OFFSET].  UNION and EXCEPT are left-associative at
 * one level (s's terms); INTERSECT binds tighter: a run of INTERSECTs is
 * one term of s, a nested statement of its own. */
int td__parse_query(td_parser *p, td_select *s) {
  int rc = TD_OK;
  if (td__accept_kw(p, "WITH")) rc = parse_with(p, s);
  if (rc) return rc;
  td_select *core = NULL;
  if (td__at_subquery(p)) {
    td_select *t;
    if ((rc = td__parse_subquery(p, &t)) != TD_OK) return rc;
    if ((rc = wrap_terms(p, s, t)) != TD_OK) {
      td_select_free(t);
      return rc;
    }
  } else {
    if ((rc = td__parse_select_core(p, s)) != TD_OK) return rc;
    core = s;
    if (td__at_set_op(p) && (rc = start_union(p, s)) != TD_OK) return rc;
    if (s->n_terms) core = s->terms[0];
  }
  bool group = false; /* the last term of s is a run of INTERSECTs */
  bool lead = true;   /* every operation so far is an INTERSECT */
  while (td__at_set_op(p)) {
    if (core && (core->n_order_by || core->order_by_all || core->has_limit || core->offset))
      return order_before_set_op(p, core);
    int op = td__is_kw(p, "UNION") ? TD_SETOP_UNION : td__is_kw(p, "INTERSECT") ? TD_SETOP_INTERSECT : TD_SETOP_EXCEPT;
    td__next(p);
    bool all = td__accept_kw(p, "ALL");
    if (!all) td__accept_kw(p, "DISTINCT");
    if (td__is_kw(p, "BY")) return not_supported(p, op == TD_SETOP_UNION ? "UNION BY NAME" : "BY NAME");
    td_select *t;
    if ((rc = parse_operand(p, &t, &core)) != TD_OK) return rc;
    if (op != TD_SETOP_INTERSECT) {
      group = lead = false;
      if ((rc = add_term(p, s, t, op, all)) != TD_OK) return rc;
      continue;
    }
    td_select **last = &s->terms[s->n_terms - 1];
    if (lead) { /* a leading run of INTERSECTs: s's own terms (left to right) */
      if ((rc = add_term(p, s, t, op, all)) != TD_OK) return rc;
      continue;
    }
    if (!group) { /* the last term becomes the first of an INTERSECT run */
      td_select *g = td__select_new(p->err);
      if (!g || (rc = wrap_terms(p, g, *last)) != TD_OK) {
        td_free(g);
        td_select_free(t);
        return g ? rc : TD_ENOMEM;
      }
      g->pos = (*last)->pos;
      *last = g;
      group = true;
    }
    if ((rc = add_term(p, *last, t, op, all)) != TD_OK) return rc;
  }
  if (core && core != s && s->n_terms) { /* ORDER BY / LIMIT of the last SELECT apply to the whole */
    s->order_by = core->order_by;
    s->n_order_by = core->n_order_by;
    s->order_by_all = core->order_by_all;
    s->order_all_desc = core->order_all_desc;
    s->order_all_nulls_first = core->order_all_nulls_first;
    s->order_all_pos = core->order_all_pos;
    core->order_by_all = false;
    s->has_limit = core->has_limit;
    s->limit = core->limit;
    s->limit_pos = core->limit_pos;
    s->offset = core->offset;
    core->order_by = NULL;
    core->n_order_by = 0;
    core->has_limit = false;
    core->offset = 0;
  } else if (!core && s->n_terms) { /* after a parenthesized last term */
    rc = td__parse_order_limit(p, s);
  }
  return rc;
}

int td__parse_expr_subquery(td_parser *p, const char *kind, td_expr **out) {
  *out = NULL;
  int64_t pos = p->tok.pos;
  if (!p->root) return not_supported(p, "a subquery outside a statement");
  if (strcmp(kind, "__exists") == 0) td__next(p);
  td_select *sub;
  int rc = td__parse_subquery(p, &sub);
  if (rc) return rc;
  td_select *root = p->root;
  if ((rc = push((void **)&root->subs, root->n_subs, sizeof sub, &sub, p->err)) != TD_OK) {
    td_select_free(sub);
    return rc;
  }
  int64_t idx = root->n_subs++;
  td_expr *e = td__expr_new(TD_EXPR_CALL, pos, p->err);
  td_expr *lit = e ? td__expr_new(TD_EXPR_LITERAL, pos, p->err) : NULL;
  if (!lit || !(e->name = td_strdup(kind))) {
    td_expr_free(e);
    td_expr_free(lit);
    return td_err_nomem(p->err, "parsing SQL");
  }
  lit->lit = td_value_int(TD_TYPE_INT64, idx);
  if ((rc = td__expr_add(e, lit, p->err)) != TD_OK) {
    td_expr_free(e);
    return rc;
  }
  *out = e;
  return TD_OK;
}

/* ---- printing (td_select_print of a composed statement) ---- */

/* Appends "(text of sub)". */
void td__compose_put_sub(td_strbuf *b, const td_select *sub) {
  char *t = NULL;
  if (!b->rc) b->rc = td_select_print(sub, &t, b->err);
  td__sb_put(b, "(");
  td__sb_put(b, t ? t : "");
  td__sb_put(b, ")");
  td_free(t);
}

/* Replaces the expression subqueries' placeholder calls in text by the
 * subqueries (the printer of expressions has no statement to look them
 * up in); a subquery's text may hold placeholders of its own (the root's
 * subqueries are numbered across the nesting), so the scan goes on at the
 * start of the text put in.  A placeholder is the kind's name, not after
 * an identifier character, then digits and ')', and each subquery is put
 * in once: text a user wrote that looks like one (`x__in_subquery()`,
 * `__exists(0)` inside the first subquery) is left as written, never
 * expanded again and again. */
static int put_subs(const td_select *root, char *text, char **out, td_error *err) {
  static const char *const kinds[] = {"__scalar_subquery(", "__in_subquery(", "__exists("};
  bool *used = td_calloc((size_t)root->n_subs + 1, sizeof *used);
  if (!used) {
    td_free(text);
    return td_err_nomem(err, "printing a statement");
  }
  size_t from = 0;
  for (;;) {
    const char *at = NULL;
    int kind = -1;
    for (int k = 0; k < 3; k++) {
      for (const char *f = strstr(text + from, kinds[k]); f; f = strstr(f + 1, kinds[k])) {
        char c = f > text ? f[-1] : ' ';
        if (isalnum((unsigned char)c) || c == '_') continue;
        if (!at || f < at) {
          at = f;
          kind = k;
        }
        break;
      }
    }
    if (!at) break;
    const char *digits = at + strlen(kinds[kind]);
    char *end;
    long long idx = isdigit((unsigned char)*digits) ? strtoll(digits, &end, 10) : -1;
    if (idx < 0 || *end != ')' || idx >= root->n_subs || used[idx]) {
      from = (size_t)(digits - text); /* not a placeholder */
      continue;
    }
    used[idx] = true;
    td_strbuf b = {.err = err};
    td__sb_putn(&b, text, (size_t)(at - text));
    if (kind == 2) td__sb_put(&b, "EXISTS ");
    if (kind == 1) { /* inside IN's own parentheses */
      char *t = NULL;
      if (!b.rc) b.rc = td_select_print(root->subs[idx], &t, err);
      td__sb_put(&b, t ? t : "");
      td_free(t);
    } else {
      td__compose_put_sub(&b, root->subs[idx]);
    }
    td__sb_put(&b, end + 1);
    from = (size_t)(at - text);
    td_free(text);
    if (b.rc) {
      td_free(b.p);
      td_free(used);
      return b.rc;
    }
    text = b.p;
  }
  td_free(used);
  *out = text;
  return TD_OK;
}

int td__compose_print(const td_select *s, char **out, td_error *err) {
  *out = NULL;
  static const char *const stmt_kw[] = {"", "DESCRIBE ", "SUMMARIZE ", "EXPLAIN "};
  static const char *const ops[] = {" UNION ", " INTERSECT ", " EXCEPT "};
  td_strbuf b = {.err = err};
  td__sb_put(&b, stmt_kw[s->stmt]);
  for (int64_t i = 0; i < s->n_ctes; i++) {
    td__sb_put(&b, i ? ", " : "WITH ");
    td__sb_quoted(&b, s->cte_names[i], strlen(s->cte_names[i]), '"');
    td__sb_put(&b, " AS ");
    td__compose_put_sub(&b, s->ctes[i]);
    if (i + 1 == s->n_ctes) td__sb_put(&b, " ");
  }
  td_select core = *s; /* the SELECT itself, without what this function prints */
  core.stmt = TD_STMT_SELECT;
  core.n_ctes = 0;
  core.n_subs = 0;
  char *t = NULL;
  if (!s->n_terms) {
    if (!b.rc) b.rc = td_select_print(&core, &t, err);
    td__sb_put(&b, t ? t : "");
    td_free(t);
  }
  for (int64_t i = 0; i < s->n_terms; i++) {
    const td_select *x = s->terms[i];
    if (i) {
      int op = s->term_op ? s->term_op[i] : TD_SETOP_UNION;
      td__sb_put(&b, ops[op]);
      if (s->term_all[i]) td__sb_put(&b, "ALL ");
    }
    /* a nested set operation or an ordered term keeps its parentheses */
    bool paren = x->n_terms || x->n_ctes || x->n_order_by || x->has_limit || x->offset;
    if (paren) {
      td__compose_put_sub(&b, x);
    } else {
      if (!b.rc) b.rc = td_select_print(x, &t, err);
      td__sb_put(&b, t ? t : "");
      td_free(t);
      t = NULL;
    }
  }
  if (s->n_terms) { /* ORDER BY / LIMIT of the whole: printed as a SELECT's tail */
    td_select tail;
    memset(&tail, 0, sizeof tail);
    tail.order_by = s->order_by;
    tail.n_order_by = s->n_order_by;
    tail.has_limit = s->has_limit;
    tail.limit = s->limit;
    tail.offset = s->offset;
    if (!b.rc) b.rc = td_select_print(&tail, &t, err);
    const char *o = t ? strstr(t, " ORDER BY ") : NULL, *l = t ? strstr(t, " LIMIT ") : NULL,
               *f = t ? strstr(t, " OFFSET ") : NULL;
    td__sb_put(&b, o ? o : l ? l : f ? f : "");
    td_free(t);
    t = NULL;
  }
  if (b.rc) {
    td_free(b.p);
    return b.rc;
  }
  return s->n_subs ? put_subs(s, b.p, out, err) : (*out = b.p, TD_OK);
}

/* ---- planning ---- */

static td_table *lookup(const td_cenv *env, const char *name) {
  for (; env; env = env->parent)
    for (int64_t i = env->n - 1; i >= 0; i--)
      if (strcmp(env->names[i], name) == 0) return env->tables[i];
  return NULL;
}

bool td__is_composed(const td_select *q) {
  if (q->n_ctes || q->n_terms || q->n_subs || q->from_sub || q->no_from) return true;
  for (int64_t i = 0; i < q->n_joins; i++)
    if (q->joins[i].sub) return true;
  return false;
}

/* The one-row table of SELECT without FROM. */
static int one_row(td_table **out, td_error *err) {
  td_builder *b = NULL;
  int rc = td_builder_new(TD_TYPE_BOOL, &b, err);
  if (rc == TD_OK) rc = td_builder_append_value(b, &(td_value){.type = TD_TYPE_BOOL, .v.b = true}, err);
  if (rc) {
    td_builder_free(b);
    return rc;
  }
  static const char *const names[] = {"__one_row"};
  static const td_type_id types[] = {TD_TYPE_BOOL};
  return td__rows_table(1, names, types, &b, out, err);
}

static bool is_int(td_type_id t) {
  return t == TD_TYPE_INT8 || t == TD_TYPE_INT16 || t == TD_TYPE_INT32 || t == TD_TYPE_INT64 ||
         t == TD_TYPE_UINT8 || t == TD_TYPE_UINT16 || t == TD_TYPE_UINT32;
}
static bool is_unsigned(td_type_id t) { return t == TD_TYPE_UINT8 || t == TD_TYPE_UINT16 || t == TD_TYPE_UINT32; }
static int int_bits(td_type_id t) {
  switch (t) {
    case TD_TYPE_INT8: case TD_TYPE_UINT8: return 8;
    case TD_TYPE_INT16: case TD_TYPE_UINT16: return 16;
    case TD_TYPE_INT32: case TD_TYPE_UINT32: return 32;
    default: return 64;
  }
}

/* The common type of a UNION column (DuckDB's widening of numbers), or
 * TD_TYPE_NONE when there is none. */
static td_type_id widen(const td_field *a, const td_field *b) {
  if (td_field_same_type(a, b)) return a->type;
  td_type_id x = a->type, y = b->type;
  if (td_type_same_varlen(x, y)) return x; /* x's Arrow layout */
  bool fx = x == TD_TYPE_FLOAT32 || x == TD_TYPE_FLOAT64, fy = y == TD_TYPE_FLOAT32 || y == TD_TYPE_FLOAT64;
  if ((fx || is_int(x)) && (fy || is_int(y))) {
    if (fx || fy) return x == TD_TYPE_FLOAT32 && y == TD_TYPE_FLOAT32 ? TD_TYPE_FLOAT32 : TD_TYPE_FLOAT64;
    int bits = int_bits(x) > int_bits(y) ? int_bits(x) : int_bits(y);
    if (is_unsigned(x) && is_unsigned(y)) return bits == 8 ? TD_TYPE_UINT8 : bits == 16 ? TD_TYPE_UINT16 : TD_TYPE_UINT32;
    /* signed and unsigned: a signed type holding both */
    if ((is_unsigned(x) && int_bits(x) >= int_bits(y)) || (is_unsigned(y) && int_bits(y) >= int_bits(x))) bits *= 2;
    return bits <= 8 ? TD_TYPE_INT8 : bits <= 16 ? TD_TYPE_INT16 : bits <= 32 ? TD_TYPE_INT32 : TD_TYPE_INT64;
  }
  return TD_TYPE_NONE;
}

/* The CAST type name of a field's type; NULL when CAST cannot make it
 * (an untyped NULL column keeps its type then). */
static const char *cast_name(const td_field *f) {
  switch (f->type) {
    case TD_TYPE_INT8: case TD_TYPE_INT16: case TD_TYPE_INT32: case TD_TYPE_INT64: case TD_TYPE_UINT8:
    case TD_TYPE_UINT16: case TD_TYPE_UINT32: case TD_TYPE_FLOAT32: case TD_TYPE_FLOAT64: case TD_TYPE_UTF8:
    case TD_TYPE_BOOL: case TD_TYPE_DATE32: case TD_TYPE_BINARY: return td__sql_type_name(f->type, NULL, NULL, 0);
    case TD_TYPE_TIMESTAMP: return f->tz ? NULL : "TIMESTAMP";
    default: return NULL;
  }
}

/* t with its columns cast to `types` and named `names` (a new reference;
 * t itself when nothing changes). */
static int conform(td_table *t, const td_schema *def, const td_type_id *types, td_table **out, td_error *err) {
  *out = NULL;
  bool change = false;
  for (int64_t i = 0; i < def->n_fields; i++) change |= td_type_small(t->def->fields[i].type) != td_type_small(types[i]);
  if (!change) {
    *out = td_table_retain(t);
    return TD_OK;
  }
  char **items = td_calloc((size_t)def->n_fields + 1, sizeof *items);
  int rc = items ? TD_OK : td_err_nomem(err, "planning a UNION");
  for (int64_t i = 0; rc == TD_OK && i < def->n_fields; i++) {
    td_strbuf b = {.err = err};
    bool cast = td_type_small(t->def->fields[i].type) != td_type_small(types[i]);
    if (cast) td__sb_put(&b, "CAST(");
    td__sb_quoted(&b, t->def->fields[i].name, strlen(t->def->fields[i].name), '"');
    if (cast) {
      td__sb_put(&b, " AS ");
      td_field f = {.type = types[i]};
      td__sb_put(&b, cast_name(&f));
      td__sb_put(&b, ")");
    }
    td__sb_put(&b, " AS ");
    td__sb_quoted(&b, def->fields[i].name, strlen(def->fields[i].name), '"');
    rc = b.rc;
    items[i] = b.p;
  }
  if (rc == TD_OK) rc = td_table_view(t, (const char *const *)items, def->n_fields, out, err);
  for (int64_t i = 0; items && i < def->n_fields; i++) td_free(items[i]);
  td_free(items);
  return rc;
}

/* SELECT DISTINCT * over t (UNION without ALL). */
static int distinct_all(td_table *t, td_table **out, td_error *err) {
  char **cols;
  int64_t n = t->def->n_fields;
  int rc = td__col_items(t->def, t->def, NULL, 0, &cols, err);
  if (rc) return rc;
  rc = td_table_select_distinct(t, (const char *const *)cols, n, out, err);
  td__col_items_free(cols, n);
  return rc;
}

/* Whether column c of a set operation's term is a bare NULL: untyped, it
 * takes the type of the other terms' column (DuckDB's rule). */
static bool untyped_null(const td_select *t, int64_t c) {
  if (t->n_terms || c >= t->n_items) return false;
  for (int64_t i = 0; i <= c; i++)
    if (!t->items[i].expr) return false; /* a '*' before: the positions differ */
  const td_expr *e = t->items[c].expr;
  return e->kind == TD_EXPR_LITERAL && e->lit.is_null && e->lit.type == TD_TYPE_NONE;
}

/* The UNION of q's terms, left to right. */
static int plan_union(td_select *q, td_query_options *opts, td_table **out, td_error *err) {
  *out = NULL;
  td_table **t = td_calloc((size_t)q->n_terms + 1, sizeof *t);
  if (!t) return td_err_nomem(err, "planning a UNION");
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < q->n_terms; i++) {
    q->terms[i]->later_term = i > 0;
    rc = td__plan_query(q->terms[i], opts, q->env, &t[i], err);
  }
  const td_schema *def = rc == TD_OK ? t[0]->def : NULL;
  td_type_id *types = rc == TD_OK ? td_calloc((size_t)def->n_fields + 1, sizeof *types) : NULL;
  if (rc == TD_OK && !types) rc = td_err_nomem(err, "planning a UNION");
  bool *open = rc == TD_OK ? td_calloc((size_t)def->n_fields + 1, sizeof *open) : NULL; /* typed by a later term */
  if (rc == TD_OK && !open) rc = td_err_nomem(err, "planning a UNION");
  for (int64_t c = 0; rc == TD_OK && c < def->n_fields; c++) {
    types[c] = def->fields[c].type;
    open[c] = untyped_null(q->terms[0], c);
  }
  for (int64_t i = 1; rc == TD_OK && i < q->n_terms; i++) {
    const td_schema *d = t[i]->def;
    if (d->n_fields != def->n_fields)
      rc = td_err_at(err, TD_ETYPE, q->terms[i]->pos,
                     "UNION: the first SELECT has %lld columns but SELECT %lld has %lld, at offset %lld",
                     (long long)def->n_fields, (long long)i + 1, (long long)d->n_fields,
                     (long long)q->terms[i]->pos);
    for (int64_t c = 0; rc == TD_OK && c < def->n_fields; c++) {
      td_field prev = def->fields[c];
      prev.type = types[c];
      if (untyped_null(q->terms[i], c)) continue; /* NULL takes the column's type */
      if (open[c] && cast_name(&d->fields[c])) { /* the first typed term's type */
        types[c] = d->fields[c].type;
        open[c] = false;
        continue;
      }
      td_type_id w = widen(&prev, &d->fields[c]);
      char ta[64], tb[64];
      if (w == TD_TYPE_NONE)
        rc = td_err_at(err, TD_ETYPE, q->terms[i]->pos, "UNION column %lld: %s vs %s (SELECT %lld at offset %lld)",
                       (long long)c + 1, td_field_type_text(&prev, ta, sizeof ta),
                       td_field_type_text(&d->fields[c], tb, sizeof tb), (long long)i + 1,
                       (long long)q->terms[i]->pos);
      else types[c] = w;
    }
  }
  td_table *acc = NULL;
  for (int64_t i = 0; rc == TD_OK && i < q->n_terms; i++) {
    td_table *side = NULL, *next = NULL;
    rc = conform(t[i], def, types, &side, err);
    if (rc == TD_OK && !acc) {
      acc = side;
      continue;
    }
    int op = q->term_op ? q->term_op[i] : TD_SETOP_UNION;
    if (rc == TD_OK && op != TD_SETOP_UNION) rc = td__set_op(acc, side, op, q->term_all[i], &next, err);
    else if (rc == TD_OK) rc = td__union_all(acc, side, &next, err);
    td_table_release(side);
    if (rc == TD_OK && op == TD_SETOP_UNION && !q->term_all[i]) {
      td_table *d = NULL;
      rc = distinct_all(next, &d, err);
      td_table_release(next);
      next = d;
    }
    td_table_release(acc);
    acc = next;
  }
  for (int64_t i = 0; i < q->n_terms; i++) td_table_release(t[i]);
  td_free(t);
  td_free(types);
  td_free(open);
  if (rc) {
    td_table_release(acc);
    return rc;
  }
  *out = acc;
  return TD_OK;
}

/* A live statement with live expression subqueries: its source (the
 * resolver's when *t is NULL) gated on their slots (query/subq_live.h). */
static int gate_source(td_select *q, td_query_options *opts, td_table **t, td_error *err) {
  int rc = TD_OK;
  if (!*t) {
    td_service *svc = NULL;
    td_table_key *key = NULL;
    rc = opts->resolver(opts->resolver_ctx, q->source, q->source_kind == TD_SOURCE_PATH, &svc, &key, err);
    if (rc == TD_OK) {
      td_table_options o;
      td_table_options_init(&o);
      o.refreshing = opts->refreshing;
      rc = td_make_table(svc, key, &o, t, err);
    }
    if (rc) {
      td_err_prefix(err, rc, "FROM %s: ", q->source);
      if (err) err->position = q->source_pos;
    }
    td_table_key_release(key);
    td_service_free(svc);
    if (rc) return rc;
  }
  td_table *g = NULL;
  rc = td__subq_gate(*t, q->env->live, q->env->n_live, &g, err);
  td_table_release(*t);
  *t = g;
  return rc;
}

int td__compose_source(td_select *q, td_query_options *opts, td_table **out, td_error *err) {
  *out = NULL;
  if (q->no_from) {
    for (int64_t i = 0; i < q->n_items; i++)
      if (!q->items[i].expr)
        return td_err_at(err, TD_EPARSE, q->items[i].pos, "SELECT * without FROM is not supported at offset %lld",
                         (long long)q->items[i].pos);
    int rc = one_row(out, err);
    if (rc || !q->env || !q->env->n_live) return rc;
    return gate_source(q, opts, out, err);
  }
  int rc = TD_OK;
  if (q->n_terms) rc = plan_union(q, opts, out, err);
  else if (q->from_sub) { /* its items narrowed to what q reads */
    q->from_sub->outer = q;
    rc = td__plan_query(q->from_sub, opts, q->env, out, err);
    q->from_sub->outer = NULL;
  }
  else *out = td_table_retain(q->source_kind == TD_SOURCE_NAME ? lookup(q->env, q->source) : NULL);
  if (rc || !q->env || !q->env->n_live) return rc;
  return gate_source(q, opts, out, err);
}

int td__compose_join_source(const td_select *q, const td_join_clause *j, td_query_options *opts, td_table **out,
                            td_error *err) {
  *out = NULL;
  if (j->sub) return td__plan_query(j->sub, opts, q->env, out, err);
  td_table *t = j->source_kind == TD_SOURCE_NAME ? lookup(q->env, j->source) : NULL;
  *out = td_table_retain(t);
  return TD_OK;
}

/* ---- subqueries in expressions ---- */

typedef struct subq_ctx {
  td_select *root;
  td_query_options *opts;
  const td_cenv *env;
  td_table **done; /* by subquery index: its result, once planned */
  td_cenv *frame;  /* live queries: the statement's frame, collecting slots */
  td_graph *locked; /* the update graph locked while they are made */
} subq_ctx;

static bool is_placeholder(const td_expr *e, const char *kind) {
  return e && e->kind == TD_EXPR_CALL && e->name && strcmp(e->name, kind) == 0 && e->n_args == 1 &&
         e->args[0]->kind == TD_EXPR_LITERAL;
}

/* The static result of subquery `idx`. */
static int sub_table(subq_ctx *c, int64_t idx, int64_t pos, td_table **out, td_error *err) {
  if (idx < 0 || idx >= c->root->n_subs)
    return td_err_at(err, TD_EINVAL, pos, "a subquery index %lld out of range", (long long)idx);
  if (!c->done[idx]) {
    td_query_options o = *c->opts; /* live when the query is: query/subq_live.c */
    int rc = td__plan_query(c->root->subs[idx], &o, c->env, &c->done[idx], err);
    if (rc == TD_ETYPE && err && strncmp(err->message, "unknown column '", 16) == 0) {
      char msg[TD_ERROR_MESSAGE_SIZE];
      snprintf(msg, sizeof msg, "%s", err->message);
      const char *q = strchr(msg + 16, '\'');
      bool qualified = q && memchr(msg + 16, '.', (size_t)(q - (msg + 16)));
      return td_err_at(err, qualified ? TD_EPARSE : TD_ETYPE, err->position, "%s%s", qualified ?
                       "correlated subqueries are not supported: " : "", msg);
    }
    if (rc) return rc;
  }
  *out = c->done[idx];
  return TD_OK;
}

/* A literal node holding v (string bytes copied). */
static int literal(td_value v, int64_t pos, td_expr **out, td_error *err) {
  td_expr *e = td__expr_new(TD_EXPR_LITERAL, pos, err);
  if (!e) return TD_ENOMEM;
  e->lit = v;
  if (td_type_is_varlen(v.type) && !v.is_null) {
    char *s = td_strndup(v.v.s.ptr, v.v.s.len);
    if (!s) {
      td_expr_free(e);
      return td_err_nomem(err, "planning a subquery");
    }
    e->lit.v.s.ptr = s;
  }
  *out = e;
  return TD_OK;
}

/* Calls fn(ctx, value) for column `col` of every row of static table t. */
static int each_value(td_table *t, int64_t col, int (*fn)(void *ctx, td_value v, td_error *err), void *ctx,
                      td_error *err) {
  td_scan sc;
  int rc = td_scan_init(&sc, t, NULL, &col, 1, 0, td_table_size(t), err);
  if (rc) return rc;
  for (;;) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    for (int64_t i = 0; rc == TD_OK && i < ch.length; i++)
      rc = fn(ctx, ch.consts[0] ? *ch.consts[0] : td_colview_value(&ch.views[0], i), err);
    if (rc) break;
  }
  td_scan_release(&sc);
  return rc;
}

/* The list being appended to, and the values it has: an open-addressing
 * set of its new literals' values (each appears once: a subquery's 12.5M
 * rows of 5k names make 5k items, not 12.5M) and whether a NULL is in. */
typedef struct in_ctx {
  td_expr *in;
  int64_t pos;
  bool skip_nulls, has_null;
  const td_value **set;
  int64_t cap, n;
  bool distinct; /* the rows are distinct already: no set */
} in_ctx;

/* The slot of v in the set: its entry, or the empty slot it would take. */
static int64_t in_slot(const in_ctx *c, const td_value *v) {
  const uint64_t mask = (uint64_t)c->cap - 1;
  uint64_t s = td_value_hash(v) & mask;
  while (c->set[s] && !td_value_equal(c->set[s], v)) s = (s + 1) & mask;
  return (int64_t)s;
}

/* Room in the set for one more value (a load of at most 1/2). */
static int in_reserve(in_ctx *c, td_error *err) {
  if ((c->n + 1) * 2 <= c->cap) return TD_OK;
  const int64_t old_cap = c->cap, cap = c->cap ? c->cap * 2 : 64;
  const td_value **old = c->set;
  if (!(c->set = td_calloc((size_t)cap, sizeof *c->set))) {
    c->set = old;
    return td_err_nomem(err, "listing a subquery's values");
  }
  c->cap = cap;
  for (int64_t i = 0; i < old_cap; i++)
    if (old[i]) c->set[in_slot(c, old[i])] = old[i];
  td_free(old);
  return TD_OK;
}

static int add_in(void *ctx, td_value v, td_error *err) {
  in_ctx *c = ctx;
  int64_t s = -1; /* v's slot in the set, when it keeps one */
  if (v.is_null) {
    if (c->skip_nulls || c->has_null) return TD_OK;
    c->has_null = true;
  } else if (!c->distinct) {
    int rc = in_reserve(c, err);
    if (rc) return rc;
    if (c->set[s = in_slot(c, &v)]) return TD_OK; /* listed already */
  }
  td_expr *l = NULL;
  int rc = literal(v, c->pos, &l, err);
  if (rc == TD_OK && s >= 0) { /* the node outlives the set: its value is the entry */
    c->set[s] = &l->lit;
    c->n++;
  }
  return rc ? rc : td__expr_add(c->in, l, err);
}

int td__in_list_append(td_table *t, int64_t col, bool skip_nulls, bool distinct, td_expr *in, td_error *err) {
  in_ctx ic = {in, in->pos, skip_nulls, false, NULL, 0, 0, distinct};
  int rc = each_value(t, col, add_in, &ic, err);
  td_free(ic.set);
  return rc;
}

static int take_first(void *ctx, td_value v, td_error *err) {
  (void)err;
  *(td_value *)ctx = v;
  return TD_OK;
}

/* A live subquery's table t: a slot of the statement's frame (kind
 * TD_SUBQ_*), made under the update lock, which the frame keeps until the
 * statement is planned. */
static int live_slot(subq_ctx *c, td_table *t, int kind, int64_t pos, td_subq_slot **out, td_error *err) {
  *out = NULL;
  td_subq_slot **a = td_realloc(c->frame->live, (size_t)(c->frame->n_live + 1) * sizeof *a);
  if (!a) return td_err_nomem(err, "planning a live subquery");
  c->frame->live = a;
  if (!c->locked) {
    c->locked = t->service->graph;
    td_graph_lock(c->locked);
  }
  int rc = td__subq_slot_new(t, kind, pos, out, err);
  if (rc == TD_OK) c->frame->live[c->frame->n_live++] = *out;
  return rc;
}

/* Replaces the subquery placeholders under *e. */
static int substitute(subq_ctx *c, td_expr **e, td_error *err) {
  td_expr *x = *e;
  if (!x) return TD_OK;
  if (x->kind == TD_EXPR_IN && x->n_args == 2 && is_placeholder(x->args[1], "__in_subquery")) {
    td_table *t;
    int64_t idx = x->args[1]->args[0]->lit.v.i;
    /* a static list needs each value once: the subquery is planned
     * DISTINCT (grouped by the engine, not listed row by row), and without
     * its ORDER BY, which only a LIMIT or OFFSET would make matter */
    td_select *sq = !c->opts->refreshing && idx >= 0 && idx < c->root->n_subs && !c->done[idx] ? c->root->subs[idx]
                                                                                            : NULL;
    if (sq && (sq->distinct || sq->n_distinct_on || sq->has_limit || sq->offset || sq->qualify)) sq = NULL;
    for (int64_t i = 0; sq && i < sq->n_items; i++) /* windows run without DISTINCT only */
      if (sq->items[i].expr && td__find_over(sq->items[i].expr)) sq = NULL;
    const int64_t n_order = sq ? sq->n_order_by : 0;
    const bool order_all = sq && sq->order_by_all;
    if (sq) {
      sq->distinct = true;
      sq->n_order_by = 0;
      sq->order_by_all = false;
    }
    int rc = sub_table(c, idx, x->args[1]->pos, &t, err);
    if (sq) {
      sq->distinct = false;
      sq->n_order_by = n_order;
      sq->order_by_all = order_all;
    }
    if (rc) return rc;
    if (t->def->n_fields != 1)
      return td_err_at(err, TD_ETYPE, x->args[1]->pos, "IN (SELECT ...) must select one column, found %lld at offset %lld",
                       (long long)t->def->n_fields, (long long)x->args[1]->pos);
    if (t->refreshing) { /* x [NOT] IN the slot's list */
      td_subq_slot *s;
      if ((rc = live_slot(c, t, TD_SUBQ_IN, x->args[1]->pos, &s, err)) != TD_OK) return rc;
      td_expr *call, *operand = x->args[0];
      x->args[0] = NULL; /* the call takes it, also on failure */
      if ((rc = td__subq_call(s, operand, x->negated, x->pos, &call, err)) != TD_OK) return rc;
      td_expr_free(x);
      *e = call;
      return substitute(c, &call->args[0], err);
    }
    td_expr_free(x->args[1]);
    x->n_args = 1;
    if (td_table_size(t) == 0) { /* x IN (empty) is false even for a null x */
      td_expr *l = NULL;
      rc = literal(td_value_bool(x->negated), x->pos, &l, err);
      if (rc) return rc;
      td_expr_free(x);
      *e = l;
      return TD_OK;
    }
    if ((rc = td__in_list_append(t, 0, false, sq != NULL, x, err)) != TD_OK) return rc;
    return substitute(c, &x->args[0], err);
  }
  if (is_placeholder(x, "__scalar_subquery") || is_placeholder(x, "__exists")) {
    bool exists = strcmp(x->name, "__exists") == 0;
    td_table *t;
    int64_t idx = x->args[0]->lit.v.i;
    /* a static EXISTS needs one row: planned with LIMIT 1, its scan stops
     * at the first (the statement keeps its own LIMIT for printing) */
    td_select *sq = exists && !c->opts->refreshing && idx >= 0 && idx < c->root->n_subs && !c->done[idx]
                        ? c->root->subs[idx] : NULL;
    bool had = sq && sq->has_limit;
    int64_t lim = sq ? sq->limit : 0;
    if (sq && (!had || lim > 1)) {
      sq->has_limit = true;
      sq->limit = 1;
    }
    int rc = sub_table(c, idx, x->pos, &t, err);
    if (sq) {
      sq->has_limit = had;
      sq->limit = lim;
    }
    if (rc) return rc;
    int64_t n = td_table_size(t);
    td_value v = td_value_bool(n > 0);
    if (!exists) {
      if (t->def->n_fields != 1)
        return td_err_at(err, TD_ETYPE, x->pos, "a scalar subquery must select one column, found %lld at offset %lld",
                         (long long)t->def->n_fields, (long long)x->pos);
      if (n > 1 && !t->refreshing)
        return td_err_at(err, TD_ETYPE, x->pos,
                         "a scalar subquery returned %lld rows at offset %lld (expected at most one)", (long long)n,
                         (long long)x->pos);
      v = td_value_null(t->def->fields[0].type);
    }
    td_expr *l = NULL;
    if (t->refreshing) { /* the slot's value (its fill checks the row count) */
      td_subq_slot *s;
      rc = live_slot(c, t, exists ? TD_SUBQ_EXISTS : TD_SUBQ_SCALAR, x->pos, &s, err);
      if (rc == TD_OK) rc = td__subq_call(s, NULL, false, x->pos, &l, err);
    } else {
      if (!exists && n == 1 && (rc = each_value(t, 0, take_first, &v, err)) != TD_OK) return rc;
      rc = literal(v, x->pos, &l, err);
    }
    if (rc) return rc;
    td_expr_free(x);
    *e = l;
    return TD_OK;
  }
  for (int64_t i = 0; i < x->n_args; i++) {
    int rc = substitute(c, &x->args[i], err);
    if (rc) return rc;
  }
  return TD_OK;
}

static int substitute_all(subq_ctx *c, td_select *q, td_error *err) {
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < q->n_items; i++) rc = substitute(c, &q->items[i].expr, err);
  if (rc == TD_OK) rc = substitute(c, &q->where, err);
  if (rc == TD_OK) rc = substitute(c, &q->having, err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_group_by; i++) rc = substitute(c, &q->group_by[i], err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_order_by; i++) rc = substitute(c, &q->order_by[i].expr, err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_joins; i++) rc = substitute(c, &q->joins[i].on, err);
  return rc;
}

/* Whether the tree holds a subquery placeholder. */
static bool has_placeholder(const td_expr *e) {
  if (!e) return false;
  if (e->kind == TD_EXPR_CALL && e->name && strncmp(e->name, "__", 2) == 0 &&
      (is_placeholder(e, "__scalar_subquery") || is_placeholder(e, "__in_subquery") || is_placeholder(e, "__exists")))
    return true;
  for (int64_t i = 0; i < e->n_args; i++)
    if (has_placeholder(e->args[i])) return true;
  return false;
}

static bool select_has_placeholder(const td_select *q) {
  bool any = has_placeholder(q->where) || has_placeholder(q->having);
  for (int64_t i = 0; i < q->n_items; i++) any |= has_placeholder(q->items[i].expr);
  for (int64_t i = 0; i < q->n_group_by; i++) any |= has_placeholder(q->group_by[i]);
  for (int64_t i = 0; i < q->n_order_by; i++) any |= has_placeholder(q->order_by[i].expr);
  for (int64_t i = 0; i < q->n_joins; i++) any |= has_placeholder(q->joins[i].on);
  return any;
}

/* An unaliased item with a subquery is named by its text with the
 * subquery in place ("v > (SELECT avg(v) FROM t)", as DuckDB names it), not
 * by the value a static subquery puts in ("true": two EXISTS items clashed)
 * nor by the call that will read a live subquery's slot. */
static int name_items(const td_select *root, td_select *q, td_error *err) {
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < q->n_items; i++) {
    td_select_item *it = &q->items[i];
    if (it->alias || !it->expr || !has_placeholder(it->expr)) continue;
    char *text = NULL;
    rc = td_expr_print(it->expr, &text, err);
    if (rc == TD_OK) rc = put_subs(root, text, &it->alias, err);
    else td_free(text);
  }
  return rc;
}

/* The text of q as a SELECT (whatever statement wraps it). */
static int select_text(const td_select *q, char **out, td_error *err) {
  td_select c = *q; /* a shallow copy, only printed */
  c.stmt = TD_STMT_SELECT;
  return td_select_print(&c, out, err);
}

int td__explain_text(const td_select *q, char **out, td_error *err) {
  *out = NULL;
  for (const td_cenv *e = q->env; e; e = e->parent)
    if (e->text) {
      *out = td_strdup(e->text);
      return *out ? TD_OK : td_err_nomem(err, "explaining a query");
    }
  return select_text(q, out, err);
}

int td__plan_query(td_select *q, td_query_options *opts, const td_cenv *env, td_table **out, td_error *err) {
  *out = NULL;
  /* a frame per statement: its CTEs, and the root whose list the
   * subquery placeholders index */
  td_cenv frame = {env, 0, q->cte_names, NULL, env ? env->root : q, NULL, 0, NULL};
  int rc = TD_OK;
  if (!env && q->stmt == TD_STMT_EXPLAIN) rc = select_text(q, &frame.text, err);
  if (q->n_ctes) {
    frame.tables = td_calloc((size_t)q->n_ctes, sizeof *frame.tables);
    if (!frame.tables) rc = td_err_nomem(err, "planning a WITH");
  }
  for (int64_t i = 0; rc == TD_OK && i < q->n_ctes; i++) { /* each CTE sees the earlier ones */
    rc = td__plan_query(q->ctes[i], opts, &frame, &frame.tables[i], err);
    if (rc == TD_OK) frame.n = i + 1;
  }
  td_select *root = frame.root;
  const td_cenv *scope = &frame;
  td_graph *locked = NULL; /* live subqueries: held until the statement is planned */
  if (rc == TD_OK && root->n_subs && select_has_placeholder(q)) {
    subq_ctx c = {root, opts, scope, td_calloc((size_t)root->n_subs, sizeof(td_table *)), &frame, NULL};
    rc = name_items(root, q, err); /* static too: not by the value put in */
    if (rc == TD_OK) rc = c.done ? substitute_all(&c, q, err) : td_err_nomem(err, "planning a subquery");
    for (int64_t i = 0; c.done && i < root->n_subs; i++) td_table_release(c.done[i]);
    td_free(c.done);
    locked = c.locked;
  }
  q->env = scope;
  if (rc == TD_OK) rc = td__plan_select(q, opts, out, err);
  q->env = NULL;
  for (int64_t i = 0; i < frame.n_live; i++) td__subq_slot_release(frame.live[i]);
  td_free(frame.live);
  td_free(frame.text);
  if (locked) td_graph_unlock(locked);
  for (int64_t i = 0; i < frame.n; i++) td_table_release(frame.tables[i]);
  td_free(frame.tables);
  return rc;
}
