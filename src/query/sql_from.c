/*
 * query/sql_from.c - FROM with several sources: table aliases, qualified
 * names (t.col) and JOIN clauses; their parsing, printing and planning.
 *
 *   from   := source [[AS] alias] { join }
 *   join   := [INNER] JOIN | LEFT [OUTER] JOIN | FULL [OUTER] JOIN | SEMI JOIN
 *             | ANTI JOIN | ASOF [LEFT] JOIN   source [[AS] alias]
 *             (ASOF JOIN drops the left rows without a match, as DuckDB's;
 *             ASOF LEFT JOIN keeps them, as Deephaven's aj)
 *             ( USING '(' col {, col} ')' | ON cond )
 *   cond   := equalities between a left and a right column, ANDed; an ASOF
 *             JOIN also takes one  left.ts >= right.ts  (or >; <= and <: the
 *             reverse as-of join).
 *
 * Planning (td__plan_from) builds the joins with tabledata/join.h, left to
 * right, then rewrites every qualified column name of the statement into
 * the name of that column in the joined table (a right column whose name is
 * taken there is "name_right"; a right key column is the left key).
 */
#include "query/sql_from.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "query/compose.h"
#include "query/join.h"
#include "query/lex.h"
#include "query/ops.h"
#include "query/strbuf.h"
#include "tabledata/join.h"
#include "tabledata/query.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- parsing ---- */

int td__parse_qualified(td_parser *p, td_expr *e) {
  td__next(p); /* the dot */
  if (p->tok.kind != TK_QIDENT && p->tok.kind != TK_IDENT) return td__expected(p, "a column name after '.'");
  char *col = NULL;
  int rc = td__token_string(p, &col, NULL);
  if (rc) return rc;
  size_t n = strlen(e->name) + strlen(col) + 2;
  char *q = td_malloc(n);
  if (!q) {
    td_free(col);
    return td_err_nomem(p->err, "parsing SQL");
  }
  snprintf(q, n, "%s.%s", e->name, col);
  td_free(col);
  td_free(e->name);
  e->name = q;
  td__next(p);
  if (p->tok.kind == TK_DOT) return td__expected(p, "one qualifier (t.col)");
  return TD_OK;
}

/* Words that end a source instead of naming its alias. */
static bool is_clause_word(const td_parser *p) {
  static const char *const w[] = {"JOIN",    "INNER",  "LEFT",  "RIGHT",   "FULL",   "OUTER",   "SEMI",
                                  "ANTI",    "ASOF",   "CROSS", "NATURAL", "ON",     "USING",   "POSITIONAL",
                                  "HAVING",  "QUALIFY", "WINDOW", "UNION",  "EXCEPT", "INTERSECT", "OFFSET"};
  for (size_t i = 0; i < sizeof w / sizeof *w; i++)
    if (td__is_kw(p, w[i])) return true;
  return false;
}

static bool is_name(const td_parser *p) {
  return p->tok.kind == TK_QIDENT || (p->tok.kind == TK_IDENT && !td__is_reserved(p->tok.text, p->tok.len));
}

static int parse_alias(td_parser *p, char **alias) {
  bool as = td__accept_kw(p, "AS");
  if (!is_name(p) || (!as && p->tok.kind == TK_IDENT && is_clause_word(p)))
    return as ? td__expected(p, "an alias after AS") : TD_OK;
  int rc = td__token_string(p, alias, NULL);
  if (!rc) td__next(p);
  return rc;
}

static int not_supported(td_parser *p, const char *what) {
  return td_err_at(p->err, TD_EPARSE, p->tok.pos, "%s is not supported (at offset %lld)", what,
                   (long long)p->tok.pos);
}

/* The join type at the current token; *found false when there is none. */
static int parse_join_type(td_parser *p, td_sql_join *type, bool *found) {
  *found = true;
  if (td__is_kw(p, "RIGHT")) return not_supported(p, "RIGHT JOIN (swap the sources and use LEFT JOIN)");
  if (td__is_kw(p, "CROSS")) return not_supported(p, "CROSS JOIN");
  if (td__is_kw(p, "NATURAL")) return not_supported(p, "NATURAL JOIN (use USING)");
  if (td__is_kw(p, "POSITIONAL")) return not_supported(p, "POSITIONAL JOIN");
  if (p->tok.kind == TK_COMMA) return not_supported(p, "a comma-separated FROM list (use JOIN ... ON)");
  if (td__accept_kw(p, "JOIN")) {
    *type = TD_SQL_JOIN_INNER;
    return TD_OK;
  }
  if (td__accept_kw(p, "INNER")) *type = TD_SQL_JOIN_INNER;
  else if (td__accept_kw(p, "LEFT")) *type = TD_SQL_JOIN_LEFT, td__accept_kw(p, "OUTER");
  else if (td__accept_kw(p, "FULL")) *type = TD_SQL_JOIN_FULL, td__accept_kw(p, "OUTER");
  else if (td__accept_kw(p, "SEMI")) *type = TD_SQL_JOIN_SEMI;
  else if (td__accept_kw(p, "ANTI")) *type = TD_SQL_JOIN_ANTI;
  else if (td__accept_kw(p, "ASOF")) *type = td__accept_kw(p, "LEFT") ? TD_SQL_JOIN_ASOF_LEFT : TD_SQL_JOIN_ASOF;
  else {
    *found = false;
    return TD_OK;
  }
  return td__accept_kw(p, "JOIN") ? TD_OK : td__expected(p, "JOIN");
}

static int parse_using(td_parser *p, td_join_clause *j) {
  if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' after USING");
  td__next(p);
  for (;;) {
    if (!is_name(p)) return td__expected(p, "a column name in USING");
    char **v = td_realloc(j->using_cols, (size_t)(j->n_using + 1) * sizeof *v);
    if (!v) return td_err_nomem(p->err, "parsing SQL");
    j->using_cols = v;
    int rc = td__token_string(p, &v[j->n_using], NULL);
    if (rc) return rc;
    j->n_using++;
    td__next(p);
    if (p->tok.kind == TK_RPAREN) break;
    if (p->tok.kind != TK_COMMA) return td__expected(p, "',' or ')' in USING");
    td__next(p);
  }
  td__next(p);
  return TD_OK;
}

int td__parse_from_tail(td_parser *p, td_select *s) {
  int rc = parse_alias(p, &s->source_alias);
  while (rc == TD_OK) {
    int64_t pos = p->tok.pos;
    td_sql_join type = TD_SQL_JOIN_INNER;
    bool found;
    if ((rc = parse_join_type(p, &type, &found)) != TD_OK || !found) break;
    td_join_clause *nj = td_realloc(s->joins, (size_t)(s->n_joins + 1) * sizeof *nj);
    if (!nj) return td_err_nomem(p->err, "parsing SQL");
    s->joins = nj;
    td_join_clause *j = &nj[s->n_joins++];
    memset(j, 0, sizeof *j);
    j->type = type;
    j->pos = pos;
    j->source_pos = p->tok.pos;
    if (td__at_subquery(p)) { /* JOIN (SELECT ...) alias: query/compose.c */
      j->source_kind = TD_SOURCE_SUBQUERY;
      if ((rc = td__parse_subquery(p, &j->sub)) != TD_OK) break;
      if (!(j->source = td_strdup("(subquery)"))) return td_err_nomem(p->err, "parsing SQL");
    } else {
      if (p->tok.kind == TK_LPAREN) return not_supported(p, "a parenthesized join");
      if (!is_name(p) && p->tok.kind != TK_STRING) return td__expected(p, "a table name or a quoted path after JOIN");
      j->source_kind = p->tok.kind == TK_STRING ? TD_SOURCE_PATH : TD_SOURCE_NAME;
      if ((rc = td__token_string(p, &j->source, NULL)) != TD_OK) break;
      td__next(p);
    }
    if ((rc = parse_alias(p, &j->alias)) != TD_OK) break;
    if (td__accept_kw(p, "USING")) rc = parse_using(p, j);
    else if (td__accept_kw(p, "ON")) rc = td__parse_expr(p, &j->on);
    else rc = td__expected(p, "ON or USING");
  }
  return rc;
}

void td__from_tail_free(td_select *s) {
  for (int64_t i = 0; i < s->n_joins; i++) {
    td_join_clause *j = &s->joins[i];
    td_free(j->source);
    td_free(j->alias);
    for (int64_t k = 0; k < j->n_using; k++) td_free(j->using_cols[k]);
    td_free(j->using_cols);
    td_expr_free(j->on);
    td_select_free(j->sub);
  }
  td_free(s->joins);
  td_free(s->source_alias);
}

/* ---- printing ---- */

static void sput_quoted(td_strbuf *b, const char *s, char q) { td__sb_quoted(b, s, strlen(s), q); }

int td__from_tail_print(const td_select *s, char **out, td_error *err) {
  static const char *const names[] = {"JOIN", "LEFT JOIN", "FULL JOIN", "SEMI JOIN", "ANTI JOIN", "ASOF JOIN", "ASOF LEFT JOIN"};
  td_strbuf b = {.err = err};
  td__sb_put(&b, "");
  if (s->source_alias) {
    td__sb_put(&b, " AS ");
    sput_quoted(&b, s->source_alias, '"');
  }
  for (int64_t i = 0; i < s->n_joins; i++) {
    const td_join_clause *j = &s->joins[i];
    td__sb_put(&b, " ");
    td__sb_put(&b, names[j->type]);
    td__sb_put(&b, " ");
    if (j->source_kind == TD_SOURCE_PATH) sput_quoted(&b, j->source, '\'');
    else if (j->sub) td__compose_put_sub(&b, j->sub);
    else td__sb_put(&b, j->source);
    if (j->alias) {
      td__sb_put(&b, " AS ");
      sput_quoted(&b, j->alias, '"');
    }
    if (j->on) {
      char *t = NULL;
      if (!b.rc) b.rc = td_expr_print(j->on, &t, err);
      td__sb_put(&b, " ON ");
      td__sb_put(&b, t ? t : "");
      td_free(t);
    } else {
      td__sb_put(&b, " USING (");
      for (int64_t k = 0; k < j->n_using; k++) {
        if (k) td__sb_put(&b, ", ");
        sput_quoted(&b, j->using_cols[k], '"');
      }
      td__sb_put(&b, ")");
    }
  }
  if (b.rc) {
    td_free(b.p);
    return b.rc;
  }
  *out = b.p;
  return TD_OK;
}

/* ---- planning ---- */

/* Where a source's column is in the joined table. */
typedef struct colmap {
  const char *alias; /* borrowed from the statement */
  char *col, *out;
} colmap;

typedef struct maps {
  colmap *v;
  int64_t n, cap;
} maps;

static int map_add(maps *m, const char *alias, const char *col, const char *out, td_error *err) {
  if (m->n == m->cap) {
    int64_t cap = m->cap ? 2 * m->cap : 32;
    colmap *v = td_realloc(m->v, (size_t)cap * sizeof *v);
    if (!v) return td_err_nomem(err, "planning a join");
    m->v = v;
    m->cap = cap;
  }
  colmap *c = &m->v[m->n];
  c->alias = alias;
  c->col = td_strdup(col);
  c->out = td_strdup(out);
  if (!c->col || !c->out) {
    td_free(c->col);
    td_free(c->out);
    return td_err_nomem(err, "planning a join");
  }
  m->n++;
  return TD_OK;
}

static void maps_reset(maps *m) {
  for (int64_t i = 0; i < m->n; i++) {
    td_free(m->v[i].col);
    td_free(m->v[i].out);
  }
  td_free(m->v);
}

static bool alias_known(const maps *m, const char *alias, size_t len) {
  for (int64_t i = 0; i < m->n; i++)
    if (strlen(m->v[i].alias) == len && strncmp(m->v[i].alias, alias, len) == 0) return true;
  return false;
}

/* The joined table's name of alias.col, or NULL. */
static const char *map_find(const maps *m, const char *alias, size_t len, const char *col) {
  for (int64_t i = 0; i < m->n; i++)
    if (strlen(m->v[i].alias) == len && strncmp(m->v[i].alias, alias, len) == 0 && strcmp(m->v[i].col, col) == 0)
      return m->v[i].out;
  return NULL;
}

static const char *alias_of(const char *alias, const char *source) { return alias ? alias : source; }

/* Renames the qualified columns of `e` (recursively). */
static int rewrite(td_expr *e, const maps *m, const td_schema *def, td_error *err) {
  if (!e) return TD_OK;
  if (e->kind == TD_EXPR_COLUMN && e->name) {
    const char *dot = strchr(e->name, '.');
    if (dot && (!def || td_schema_find(def, e->name) < 0)) {
      size_t len = (size_t)(dot - e->name);
      if (!alias_known(m, e->name, len))
        return td_err_at(err, TD_ETYPE, e->pos, "unknown table or alias '%.*s' at offset %lld", (int)len, e->name,
                         (long long)e->pos);
      const char *out = map_find(m, e->name, len, dot + 1);
      if (!out)
        return td_err_at(err, TD_ETYPE, e->pos, "unknown column '%s' at offset %lld", e->name, (long long)e->pos);
      char *n = td_strdup(out);
      if (!n) return td_err_nomem(err, "planning a join");
      td_free(e->name);
      e->name = n;
    }
  }
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = rewrite(e->args[i], m, def, err);
    if (rc) return rc;
  }
  return TD_OK;
}

static int rewrite_all(td_select *q, const maps *m, const td_schema *def, td_error *err) {
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < q->n_items; i++) rc = rewrite(q->items[i].expr, m, def, err);
  if (rc == TD_OK) rc = rewrite(q->where, m, def, err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_group_by; i++) rc = rewrite(q->group_by[i], m, def, err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_order_by; i++) rc = rewrite(q->order_by[i].expr, m, def, err);
  return rc;
}

/* Which side a column of an ON condition belongs to: 0 left, 1 right, with
 * its name on that side. */
static int on_side(const td_expr *e, const maps *m, const char *ralias, const td_schema *ldef,
                   const td_schema *rdef, int *side, const char **name, td_error *err) {
  if (e->kind != TD_EXPR_COLUMN)
    return td_err_at(err, TD_EPARSE, e->pos, "a join condition on an expression is not supported (at offset %lld)",
                     (long long)e->pos);
  const char *dot = strchr(e->name, '.');
  if (dot && td_schema_find(ldef, e->name) < 0) {
    size_t len = (size_t)(dot - e->name);
    if (strlen(ralias) == len && strncmp(ralias, e->name, len) == 0) {
      *side = 1;
      *name = dot + 1;
      if (td_schema_find(rdef, *name) < 0)
        return td_err_at(err, TD_ETYPE, e->pos, "unknown column '%s' at offset %lld", e->name, (long long)e->pos);
      return TD_OK;
    }
    if (!alias_known(m, e->name, len))
      return td_err_at(err, TD_ETYPE, e->pos, "unknown table or alias '%.*s' at offset %lld", (int)len, e->name,
                       (long long)e->pos);
    *side = 0;
    *name = map_find(m, e->name, len, dot + 1);
    if (!*name)
      return td_err_at(err, TD_ETYPE, e->pos, "unknown column '%s' at offset %lld", e->name, (long long)e->pos);
    return TD_OK;
  }
  bool l = td_schema_find(ldef, e->name) >= 0, r = td_schema_find(rdef, e->name) >= 0;
  if (l && r)
    return td_err_at(err, TD_ETYPE, e->pos, "column '%s' is in both sources: qualify it (t.%s) at offset %lld",
                     e->name, e->name, (long long)e->pos);
  if (!l && !r)
    return td_err_at(err, TD_ETYPE, e->pos, "unknown column '%s' at offset %lld", e->name, (long long)e->pos);
  *side = r;
  *name = e->name;
  return TD_OK;
}

static bool asof(const td_join_clause *j) {
  return j->type == TD_SQL_JOIN_ASOF || j->type == TD_SQL_JOIN_ASOF_LEFT;
}

/* Key specs ("l=r") and the as-of column spec from a join clause. */
typedef struct join_keys {
  char *keys[64];
  int64_t n;
  char *on; /* as-of */
  bool reverse;
} join_keys;

static void join_keys_reset(join_keys *k) {
  for (int64_t i = 0; i < k->n; i++) td_free(k->keys[i]);
  td_free(k->on);
  memset(k, 0, sizeof *k);
}

static char *pair(const char *l, const char *op, const char *r) {
  size_t n = strlen(l) + strlen(r) + 4;
  char *s = td_malloc(n);
  if (s) snprintf(s, n, "%s%s%s", l, op, r);
  return s;
}

static int clause_keys(const td_join_clause *j, const maps *m, const td_schema *ldef, const td_schema *rdef,
                       join_keys *k, td_error *err) {
  memset(k, 0, sizeof *k);
  const char *ralias = alias_of(j->alias, j->source);
  if (!j->on) {
    for (int64_t i = 0; i < j->n_using; i++) {
      if (k->n == 64) return td_err_at(err, TD_EPARSE, j->pos, "a join takes at most 64 keys");
      if (!(k->keys[k->n] = pair(j->using_cols[i], "=", j->using_cols[i]))) return td_err_nomem(err, "planning a join");
      k->n++;
    }
    if (asof(j))
      return td_err_at(err, TD_EPARSE, j->pos, "ASOF JOIN needs ON with an inequality (a.ts >= b.ts) at offset %lld",
                       (long long)j->pos);
    return TD_OK;
  }
  const td_expr *conj[64];
  int64_t n = td_expr_conjuncts(j->on, conj, 64);
  if (n > 64) return td_err_at(err, TD_EPARSE, j->on->pos, "a join condition takes at most 64 conjuncts");
  for (int64_t i = 0; i < n; i++) {
    const td_expr *c = conj[i];
    bool cmp = c->kind == TD_EXPR_BINARY && c->op >= TD_OP_EQ && c->op <= TD_OP_GE && c->op != TD_OP_NE;
    if (!cmp)
      return td_err_at(err, TD_EPARSE, c->pos,
                       "a join condition other than column equalities (and one >= or <= in ASOF JOIN) is not "
                       "supported (at offset %lld)",
                       (long long)c->pos);
    int sa, sb;
    const char *na, *nb;
    int rc = on_side(c->args[0], m, ralias, ldef, rdef, &sa, &na, err);
    if (rc == TD_OK) rc = on_side(c->args[1], m, ralias, ldef, rdef, &sb, &nb, err);
    if (rc) return rc;
    if (sa == sb)
      return td_err_at(err, TD_EPARSE, c->pos,
                       "a join condition must compare a column of each side (at offset %lld)", (long long)c->pos);
    td_op op = sa == 0 ? c->op : td_op_mirror(c->op);
    const char *l = sa == 0 ? na : nb, *r = sa == 0 ? nb : na;
    if (op == TD_OP_EQ) {
      if (k->n == 64) return td_err_at(err, TD_EPARSE, c->pos, "a join takes at most 64 keys");
      if (!(k->keys[k->n] = pair(l, "=", r))) return td_err_nomem(err, "planning a join");
      k->n++;
      continue;
    }
    if (!asof(j))
      return td_err_at(err, TD_EPARSE, c->pos,
                       "an inequality join condition is not supported outside ASOF JOIN (at offset %lld)",
                       (long long)c->pos);
    if (k->on)
      return td_err_at(err, TD_EPARSE, c->pos, "ASOF JOIN takes one inequality, found a second at offset %lld",
                       (long long)c->pos);
    k->reverse = op == TD_OP_LE || op == TD_OP_LT;
    const char *text = op == TD_OP_GE ? ">=" : op == TD_OP_GT ? ">" : op == TD_OP_LE ? "<=" : "<";
    if (!(k->on = pair(l, text, r))) return td_err_nomem(err, "planning a join");
  }
  if (asof(j) && !k->on)
    return td_err_at(err, TD_EPARSE, j->pos, "ASOF JOIN needs an inequality (a.ts >= b.ts) in ON at offset %lld",
                     (long long)j->pos);
  if (!asof(j) && k->n == 0)
    return td_err_at(err, TD_EPARSE, j->pos, "a join needs at least one equality at offset %lld", (long long)j->pos);
  return TD_OK;
}

/* Records where the right table's columns went in the joined table. */
static int map_right(maps *m, const td_join_clause *j, td_table *right, td_table *joined, int64_t n_left,
                     const join_keys *k, td_error *err) {
  if (j->type == TD_SQL_JOIN_SEMI || j->type == TD_SQL_JOIN_ANTI) return TD_OK;
  const char *alias = alias_of(j->alias, j->source);
  int64_t at = n_left, nr = td_table_num_columns(right);
  int rc = TD_OK;
  for (int64_t c = 0; rc == TD_OK && c < nr; c++) {
    const char *name = td_table_column_name(right, c);
    const char *out = NULL;
    for (int64_t i = 0; i < k->n && !out; i++) {
      const char *eq = strchr(k->keys[i], '=');
      if (strcmp(eq + 1, name) == 0) out = k->keys[i];
    }
    if (out) { /* a key: the left key column */
      char l[512];
      size_t len = (size_t)(strchr(out, '=') - out);
      snprintf(l, sizeof l, "%.*s", (int)len, out);
      rc = map_add(m, alias, name, l, err);
    } else {
      rc = map_add(m, alias, name, td_table_column_name(joined, at++), err);
    }
  }
  return rc;
}

/* alias.col (or source.col) is col, unless it names a column of def
 * (NULL: none) as it is. */
static int strip(td_expr *e, const char *alias, const td_schema *def, td_error *err) {
  if (!e) return TD_OK;
  if (e->kind == TD_EXPR_COLUMN && e->name && !(def && td_schema_find(def, e->name) >= 0)) {
    const char *dot = strchr(e->name, '.');
    size_t len = dot ? (size_t)(dot - e->name) : 0;
    if (dot && strlen(alias) == len && strncmp(alias, e->name, len) == 0) {
      char *n = td_strdup(dot + 1);
      if (!n) return td_err_nomem(err, "planning a query");
      td_free(e->name);
      e->name = n;
    }
  }
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = strip(e->args[i], alias, def, err);
    if (rc) return rc;
  }
  return TD_OK;
}

int td__strip_alias(td_select *q, td_error *err) {
  const char *a = alias_of(q->source_alias, q->source);
  if (!a) return TD_OK; /* no FROM, or an unnamed subquery: no qualifier to strip */
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < q->n_items; i++) rc = strip(q->items[i].expr, a, NULL, err);
  if (rc == TD_OK) rc = strip(q->where, a, NULL, err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_group_by; i++) rc = strip(q->group_by[i], a, NULL, err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_order_by; i++) rc = strip(q->order_by[i].expr, a, NULL, err);
  return rc;
}

/* ---- column pruning ---- */

/* The column names a statement references (qualified names as written), so
 * that each joined source is narrowed to the columns the query reads: a join
 * copies and gathers every column of both sides, and a narrowed file source
 * never decodes the others.  `all` when a '*' item (or a subquery of an
 * expression) may read any column. */
typedef struct used_cols {
  const char **v; /* borrowed from the statement */
  int64_t n, cap;
  bool all;
  int rc;
} used_cols;

static void used_add(used_cols *u, const char *name) {
  if (u->rc || u->all) return;
  if (u->n == u->cap) {
    int64_t cap = u->cap ? 2 * u->cap : 32;
    const char **v = td_realloc(u->v, (size_t)cap * sizeof *v);
    if (!v) {
      u->rc = TD_ENOMEM;
      return;
    }
    u->v = v;
    u->cap = cap;
  }
  u->v[u->n++] = name;
}

static void used_expr(used_cols *u, const td_expr *e) {
  if (!e) return;
  if (e->kind == TD_EXPR_COLUMN && e->name) used_add(u, e->name);
  for (int64_t i = 0; i < e->n_args; i++) used_expr(u, e->args[i]);
}

static void used_collect(used_cols *u, const td_select *q) {
  u->all = q->n_subs > 0;
  for (int64_t i = 0; i < q->n_items; i++) {
    if (!q->items[i].expr) u->all = true;
    used_expr(u, q->items[i].expr);
  }
  used_expr(u, q->where);
  used_expr(u, q->having);
  used_expr(u, q->qualify);
  for (int64_t i = 0; i < q->n_group_by; i++) used_expr(u, q->group_by[i]);
  for (int64_t i = 0; i < q->n_order_by; i++) used_expr(u, q->order_by[i].expr);
  for (int64_t i = 0; i < q->n_distinct_on; i++) used_expr(u, q->distinct_on[i]);
  for (int64_t i = 0; i < q->n_joins; i++) {
    used_expr(u, q->joins[i].on);
    for (int64_t k = 0; k < q->joins[i].n_using; k++) used_add(u, q->joins[i].using_cols[k]);
  }
}

/* Whether reference r may name column `col` of some source: r is col, or
 * ends in ".col", or is col's "_right" name in the joined table. */
static bool ref_names(const char *r, const char *col) {
  size_t lr = strlen(r), lc = strlen(col);
  if (lr == lc) return strcmp(r, col) == 0;
  if (lr > lc && r[lr - lc - 1] == '.' && strcmp(r + lr - lc, col) == 0) return true;
  return lr == lc + 6 && strncmp(r, col, lc) == 0 && strcmp(r + lc, "_right") == 0;
}

bool td__select_reads(const td_select *q, const char *col) {
  used_cols u = {0};
  used_collect(&u, q);
  bool r = u.all || u.rc;
  for (int64_t i = 0; !r && i < u.n; i++) r = ref_names(u.v[i], col);
  td_free(u.v);
  return r;
}

/* *t narrowed (a view) to the columns the statement may reference; *t
 * unchanged when it needs every column or none matches. */
static int narrow(const used_cols *u, td_table **t, td_error *err) {
  if (u->all) return TD_OK;
  int64_t nc = td_table_num_columns(*t), n = 0;
  char **cols = td_calloc((size_t)nc + 1, sizeof *cols);
  if (!cols) return td_err_nomem(err, "planning a join");
  int rc = TD_OK;
  for (int64_t c = 0; rc == TD_OK && c < nc; c++) {
    const char *name = td_table_column_name(*t, c);
    bool keep = false;
    for (int64_t i = 0; i < u->n && !keep; i++) keep = ref_names(u->v[i], name);
    if (!keep) continue;
    td_strbuf b = {.err = err};
    td__sb_quoted(&b, name, strlen(name), '"');
    if ((rc = b.rc) == TD_OK) cols[n++] = b.p;
  }
  if (rc == TD_OK && n > 0 && n < nc) {
    td_table *v;
    rc = td__table_view(*t, (const char *const *)cols, n, true, &v, err); /* codes go on to the join */
    if (rc == TD_OK) {
      td_table_release(*t);
      *t = v;
    }
  }
  for (int64_t i = 0; i < n; i++) td_free(cols[i]);
  td_free(cols);
  return rc;
}

/* ---- semi-join reduction ---- */

static _Atomic int64_t reductions;
int64_t td__join_reductions(void) { return atomic_load(&reductions); }

/* Most rows of the first table whose keys a reduction lists. */
#define TD_REDUCE_MAX_ROWS ((int64_t)1 << 18)
/* A right side with fewer rows is indexed whole. */
#define TD_REDUCE_MIN_RIGHT ((int64_t)1 << 16)

/* Whether every column e reads is a column of one source (schema `def`,
 * alias `alias`): alias.col, or with `bare` an unqualified name of def (the
 * first source's: such a name names its column in the joined table too);
 * and e holds no subquery. */
static bool source_only(const td_expr *e, const char *alias, const td_schema *def, bool bare) {
  if (e->kind == TD_EXPR_COLUMN) {
    if (!e->name) return false;
    if (bare && td_schema_find(def, e->name) >= 0) return true;
    const char *dot = strchr(e->name, '.');
    size_t len = dot ? (size_t)(dot - e->name) : 0;
    return dot && strlen(alias) == len && strncmp(alias, e->name, len) == 0 && td_schema_find(def, dot + 1) >= 0;
  }
  if (e->kind == TD_EXPR_CALL && e->name && strncmp(e->name, "__", 2) == 0) return false; /* a subquery */
  for (int64_t i = 0; i < e->n_args; i++)
    if (!source_only(e->args[i], alias, def, bare)) return false;
  return true;
}

/* The AND of q's WHERE conjuncts that read only one source (source_only),
 * cloned, its names unqualified; NULL when none, or when q has a FULL join. */
static int source_conjuncts(const td_select *q, const char *alias, const td_schema *def, bool bare, td_expr **out,
                            td_error *err) {
  *out = NULL;
  const td_expr *conj[64];
  int64_t n = q->where ? td_expr_conjuncts(q->where, conj, 64) : 0;
  for (int64_t i = 0; i < q->n_joins; i++)
    if (q->joins[i].type == TD_SQL_JOIN_FULL) n = 0;
  if (n > 64) return TD_OK;
  td_expr *all = NULL;
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    if (!source_only(conj[i], alias, def, bare)) continue;
    td_expr *c = NULL;
    if ((rc = td_expr_clone(conj[i], &c, err)) != TD_OK) break;
    if ((rc = strip(c, alias, def, err)) != TD_OK) {
      td_expr_free(c);
      break;
    }
    if (!all) {
      all = c;
      continue;
    }
    td_expr *and = td__expr_new(TD_EXPR_BINARY, c->pos, err);
    if (!and) {
      td_expr_free(c);
      rc = TD_ENOMEM;
      break;
    }
    and->op = TD_OP_AND;
    if ((rc = td__expr_add(and, all, err)) == TD_OK) rc = td__expr_add(and, c, err);
    else td_expr_free(c);
    all = and;
  }
  if (rc) {
    td_expr_free(all);
    return rc;
  }
  *out = all;
  return TD_OK;
}

int td__first_conjuncts(const td_select *q, const td_schema *def, td_expr **out, td_error *err) {
  return source_conjuncts(q, alias_of(q->source_alias, q->source), def, true, out, err);
}

/* `all` (taken) bound over t; NULL when it is NULL, does not bind, is not
 * bool or is volatile. */
static td_expr *bind_pushed(td_expr *all, const td_table *t) {
  td_expr *bound = NULL;
  if (all && td_expr_bind(all, t->def, 0, &bound, NULL) == TD_OK &&
      (bound->type != TD_TYPE_BOOL || td__expr_volatile(bound))) {
    td_expr_free(bound);
    bound = NULL;
  }
  td_expr_free(all);
  return bound;
}

/* td__first_conjuncts bound over `left` (bind_pushed). */
static int first_filter(const td_select *q, td_table *left, td_expr **out, td_error *err) {
  td_expr *all = NULL;
  int rc = td__first_conjuncts(q, left->def, &all, err);
  *out = rc == TD_OK ? bind_pushed(all, left) : NULL;
  return rc;
}

/* A bound column reference to `name` of `def`, or NULL (TD_ENOMEM). */
static td_expr *column_ref(const char *name, const td_schema *def, int64_t pos, td_error *err) {
  td_expr *c = td__expr_new(TD_EXPR_COLUMN, pos, err), *b = NULL;
  if (c && !(c->name = td_strdup(name))) {
    td_expr_free(c);
    td_err_nomem(err, "planning a join");
    return NULL;
  }
  if (c && td_expr_bind(c, def, 0, &b, err) != TD_OK) b = NULL;
  td_expr_free(c);
  return b;
}

/* Whether reference r may name column `col` of the first source (alias a0):
 * r is col, or a0.col. */
static bool first_names(const char *r, const char *a0, const char *col) {
  size_t la = strlen(a0);
  return strcmp(r, col) == 0 || (strncmp(r, a0, la) == 0 && r[la] == '.' && strcmp(r + la + 1, col) == 0);
}

/* Bound references to the columns of `def` that statement q may read (all
 * of them when u->all): of the first source (alias a0, first_names) when a0
 * is set, else of any (narrow's ref_names); *n of them, and their schema. */
static int used_refs(const used_cols *u, const char *a0, const td_schema *def, int64_t pos, td_expr ***out,
                     int64_t *n, td_schema *into, td_error *err) {
  *n = 0;
  *out = td_calloc((size_t)def->n_fields + 1, sizeof **out);
  if (!*out) return td_err_nomem(err, "planning a join");
  int rc = TD_OK;
  for (int64_t c = 0; rc == TD_OK && c < def->n_fields; c++) {
    const char *name = def->fields[c].name;
    bool keep = u->all;
    for (int64_t i = 0; i < u->n && !keep; i++) keep = a0 ? first_names(u->v[i], a0, name) : ref_names(u->v[i], name);
    if (!keep) continue;
    td_expr *r = column_ref(name, def, pos, err);
    if (!r) rc = err && err->code ? err->code : TD_ENOMEM;
    else (*out)[(*n)++] = r;
    if (rc == TD_OK) rc = td_expr_field(r, def, name, into, err);
  }
  return rc;
}

static _Atomic int64_t right_filters;
int64_t td__join_right_filters(void) { return atomic_load(&right_filters); }

/* An inner join's static right side filtered before it is indexed by
 * WHERE's conjuncts that read only its columns, named with its alias
 * (ralias.col): a right row they reject could only make joined rows WHERE
 * drops (it still applies).  Not when another source has the same alias or
 * under a FULL join (source_conjuncts).  The filter keeps the columns the
 * statement may read.  *right is unchanged otherwise. */
static int filter_right(const td_select *q, const used_cols *used, const char *ralias, td_table **right,
                        td_error *err) {
  int same = strcmp(ralias, alias_of(q->source_alias, q->source)) == 0;
  for (int64_t i = 0; i < q->n_joins; i++) same += strcmp(alias_of(q->joins[i].alias, q->joins[i].source), ralias) == 0;
  if ((*right)->refreshing || same != 1) return TD_OK;
  td_expr *all = NULL;
  int rc = source_conjuncts(q, ralias, (*right)->def, false, &all, err);
  td_expr *bound = rc == TD_OK ? bind_pushed(all, *right) : NULL;
  if (!bound) return rc;
  td_select_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.filter = bound;
  spec.n_fields = (*right)->def->n_fields;
  td_schema def;
  td_schema_init(&def);
  td_table *f = NULL;
  rc = used_refs(used, NULL, (*right)->def, bound->pos, &spec.items, &spec.n_items, &def, err);
  if (rc == TD_OK) rc = td_op_select(*right, &spec, &def, &f, err);
  else td_select_spec_reset(&spec);
  td_schema_reset(&def);
  if (rc == TD_OK) {
    td_table_release(*right);
    *right = f;
    atomic_fetch_add(&right_filters, 1);
  }
  return rc;
}

/*
 * Semi-join reduction.  Before a hash join of static tables indexes its
 * right side whole, when WHERE's conjuncts over the first table alone keep
 * few of its rows (at most TD_REDUCE_MAX_ROWS, and a quarter of the right
 * side's), those rows (the columns the statement reads) become the join's
 * left side and the right side is cut to the rows whose key is one of
 * theirs: right.key IN (their keys).  The rows dropped on either side could
 * only have joined, or been, first-table rows that WHERE drops (it still
 * applies), so inner, left, semi and anti joins give the same rows, provided
 * no FULL join in the statement turns such a row into an unmatched one that
 * WHERE would see (td__first_conjuncts checks).  Only keys that compare
 * alike in a join and in IN: integers, one temporal type, or strings (not
 * floats: NaN).  *left and *right are unchanged otherwise.
 */
static int reduce_join(const td_select *q, const used_cols *used, td_table **left, const char *lkey,
                       td_table **right, const char *rkey, td_error *err) {
  if ((*right)->refreshing || (*left)->refreshing) return TD_OK;
  int64_t nr = td_table_size(*right);
  int64_t lc = td_schema_find((*left)->def, lkey), rcol = td_schema_find((*right)->def, rkey);
  if (nr < TD_REDUCE_MIN_RIGHT || lc < 0 || rcol < 0) return TD_OK;
  td_type_id a = (*left)->def->fields[lc].type, b = (*right)->def->fields[rcol].type;
  if (!((td_type_is_integer(a) && td_type_is_integer(b)) || (td_type_is_text(a) && td_type_is_text(b)) ||
        (a == b && td_type_is_temporal(a))))
    return TD_OK;
  td_expr *filter = NULL;
  int rc = first_filter(q, *left, &filter, err);
  if (rc || !filter) return rc;
  /* the first table's rows under the filter: a scan stopping past the cap */
  td_select_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.filter = filter;
  spec.n_fields = (*left)->def->n_fields;
  spec.head = TD_REDUCE_MAX_ROWS + 1;
  td_schema def;
  td_schema_init(&def);
  td_table *kept = NULL, *cut = NULL;
  rc = used_refs(used, alias_of(q->source_alias, q->source), (*left)->def, q->where->pos, &spec.items,
                 &spec.n_items, &def, err);
  int64_t kc = rc == TD_OK ? td_schema_find(&def, lkey) : -1;
  if (rc == TD_OK && kc >= 0) rc = td_op_select(*left, &spec, &def, &kept, err);
  else td_select_spec_reset(&spec);
  td_schema_reset(&def);
  int64_t nk = kept ? td_table_size(kept) : 0;
  if (rc == TD_OK && kept && nk <= TD_REDUCE_MAX_ROWS && 4 * nk <= nr) {
    td_expr *in = td__expr_new(TD_EXPR_IN, q->where->pos, err), *col = NULL, *bound = NULL;
    if (!in || !(col = td__expr_new(TD_EXPR_COLUMN, in->pos, err)) || !(col->name = td_strdup(rkey))) {
      td_expr_free(col);
      rc = td_err_nomem(err, "planning a join");
    }
    if (rc == TD_OK) rc = td__expr_add(in, col, err);
    if (rc == TD_OK) rc = td__in_list_append(kept, kc, true, false, in, err);
    if (rc == TD_OK && in->n_args == 1) { /* no key: nothing on the right joins a kept row */
      td_expr_free(in);
      if ((in = td__expr_new(TD_EXPR_LITERAL, q->where->pos, err)) != NULL) in->lit = td_value_bool(false);
      else rc = TD_ENOMEM;
    }
    if (rc == TD_OK) rc = td_expr_bind(in, (*right)->def, 0, &bound, err);
    td_expr_free(in);
    if (rc == TD_OK) { /* the right rows: the columns the statement may read */
      memset(&spec, 0, sizeof spec);
      spec.filter = bound;
      spec.n_fields = (*right)->def->n_fields;
      td_schema_init(&def);
      rc = used_refs(used, NULL, (*right)->def, q->where->pos, &spec.items, &spec.n_items, &def, err);
      if (rc == TD_OK) rc = td_op_select(*right, &spec, &def, &cut, err);
      else td_select_spec_reset(&spec);
      td_schema_reset(&def);
    }
  }
  if (rc == TD_OK && cut) {
    td_table_release(*right);
    *right = cut;
    td_table_release(*left);
    *left = kept;
    kept = NULL;
    atomic_fetch_add(&reductions, 1);
  }
  td_table_release(kept);
  return rc;
}

/* Whether statement q looks like an aggregation over one inner or left
 * hash join, or one as-of join, of static tables: its join is then deferred
 * (td__join_deferred, td__asof_join's `defer`)
 * and its left side not narrowed, so that the aggregation folds the left
 * side's chunks joined one at a time, reading only its own columns.  Only
 * a guess: a join that something else reads is made then, whole. */
static bool fold_join(const td_select *q, const td_query_options *opts, const td_table *first) {
  if (q->stmt != TD_STMT_SELECT || q->n_joins != 1 || opts->refreshing || first->kind != TD_TABLE_SOURCE ||
      first->refreshing || q->distinct || q->n_distinct_on > 0 || q->qualify ||
      (q->joins[0].type != TD_SQL_JOIN_INNER && q->joins[0].type != TD_SQL_JOIN_LEFT && !asof(&q->joins[0])))
    return false;
  bool agg = q->n_group_by > 0 || q->group_by_all || q->having;
  for (int64_t i = 0; i < q->n_items && !agg; i++) agg = q->items[i].expr && td_expr_has_agg(q->items[i].expr);
  return agg;
}

int td__plan_from(td_select *q, td_query_options *opts, td_table *first, td_table **out, td_expr **filter,
                  td_error *err) {
  *out = NULL;
  *filter = NULL;
  maps m = {0};
  int rc = TD_OK;
  const char *a0 = alias_of(q->source_alias, q->source);
  td_table *cur = td_table_retain(first);
  used_cols used = {0};
  used_collect(&used, q);
  if (used.rc) rc = td_err_nomem(err, "planning a join");
  bool defer = fold_join(q, opts, cur);
  cur->threads = opts->threads;
  /* semi-join reduction of the first join's right side (reduce_join) */
  bool reducible = q->where && !opts->refreshing && !cur->refreshing;
  for (int64_t i = 0; i < q->n_joins; i++)
    reducible = reducible && !asof(&q->joins[i]) && q->joins[i].type != TD_SQL_JOIN_FULL;
  if (rc == TD_OK && !defer) rc = narrow(&used, &cur, err);
  int64_t nc = rc == TD_OK ? td_table_num_columns(cur) : 0;
  for (int64_t c = 0; rc == TD_OK && c < nc; c++)
    rc = map_add(&m, a0, td_table_column_name(cur, c), td_table_column_name(cur, c), err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_joins; i++) {
    const td_join_clause *j = &q->joins[i];
    td_service *svc = NULL;
    td_table_key *key = NULL;
    td_table *right = NULL, *joined = NULL;
    if ((rc = td__compose_join_source(q, j, opts, &right, err)) != TD_OK) break; /* a subquery or a CTE */
    if (!right)
      rc = opts->resolver(opts->resolver_ctx, j->source, j->source_kind == TD_SOURCE_PATH, &svc, &key, err);
    if (rc) {
      td_err_prefix(err, rc, "JOIN %s: ", j->source);
      if (err) err->position = j->source_pos;
      break;
    }
    td_table_options o;
    td_table_options_init(&o);
    o.refreshing = opts->refreshing;
    if (!right) rc = td_make_table(svc, key, &o, &right, err);
    if (rc == TD_OK) right->threads = opts->threads;
    td_table_key_release(key);
    td_service_free(svc);
    join_keys k;
    memset(&k, 0, sizeof k);
    if (rc == TD_OK) rc = clause_keys(j, &m, cur->def, right->def, &k, err);
    /* filtered and cut before narrowing: a narrowing view of a static source holds all of its columns' pages */
    if (rc == TD_OK && j->type == TD_SQL_JOIN_INNER && !opts->refreshing)
      rc = filter_right(q, &used, alias_of(j->alias, j->source), &right, err);
    if (rc == TD_OK && i == 0 && reducible) {
      char l[256], r[256];
      const char *eq = strchr(k.keys[0], '=');
      size_t ll = (size_t)(eq - k.keys[0]);
      if (ll < sizeof l && strlen(eq + 1) < sizeof r) {
        memcpy(l, k.keys[0], ll);
        l[ll] = '\0';
        strcpy(r, eq + 1);
        rc = reduce_join(q, &used, &cur, l, &right, r, err);
      }
    }
    if (rc == TD_OK) rc = narrow(&used, &right, err);
    if (rc == TD_OK) {
      const char *const *kp = (const char *const *)k.keys;
      static const td_join_type types[] = {TD_JOIN_INNER, TD_JOIN_LEFT, TD_JOIN_FULL, TD_JOIN_SEMI, TD_JOIN_ANTI};
      if (asof(j))
        rc = td__asof_join(cur, right, kp, k.n, k.on, k.reverse, j->type == TD_SQL_JOIN_ASOF, defer, &joined,
                           err);
      else
        rc = (defer ? td__join_deferred : td_table_join)(cur, right, types[j->type], kp, k.n, &joined, err);
      if (rc && err && err->position < 0) err->position = j->pos;
    }
    if (rc == TD_OK) rc = map_right(&m, j, right, joined, td_table_num_columns(cur), &k, err);
    join_keys_reset(&k);
    td_table_release(right);
    td_table_release(cur);
    cur = joined;
  }
  if (rc == TD_OK) rc = rewrite_all(q, &m, cur->def, err);
  if (rc == TD_OK && q->where) {
    rc = td_expr_bind(q->where, cur->def, 0, filter, err);
    if (rc == TD_OK && (*filter)->type != TD_TYPE_BOOL) {
      rc = td_err_at(err, TD_ETYPE, q->where->pos, "a filter must be a bool expression, found %s",
                     td_type_name((*filter)->type));
      td_expr_free(*filter);
      *filter = NULL;
    }
  }
  maps_reset(&m);
  td_free(used.v);
  if (rc) {
    td_table_release(cur);
    return rc;
  }
  *out = cur;
  return TD_OK;
}
