/*
 * query/sql.c - parser and printer of the SQL SELECT subset.
 */
#include "query/sql.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/compose.h"
#include "query/grouping.h"
#include "query/lex.h"
#include "query/sql_window.h"
#include "query/strbuf.h"
#include "util/alloc.h"
#include "util/error.h"

void td_select_free(td_select *s) {
  if (!s) return;
  for (int64_t i = 0; i < s->n_items; i++) {
    td_expr_free(s->items[i].expr);
    td_free(s->items[i].alias);
    for (int64_t j = 0; j < s->items[i].n_exclude; j++) td_free(s->items[i].exclude[j]);
    td_free(s->items[i].exclude);
    for (int64_t j = 0; j < s->items[i].n_replace; j++) {
      td_expr_free(s->items[i].replace[j]);
      td_free(s->items[i].replace_names[j]);
    }
    td_free(s->items[i].replace);
    td_free(s->items[i].replace_names);
  }
  td_expr_free(s->having);
  td_expr_free(s->qualify);
  for (int64_t i = 0; i < s->n_distinct_on; i++) td_expr_free(s->distinct_on[i]);
  td_free(s->distinct_on);
  td_free(s->items);
  td_free(s->source);
  td__from_tail_free(s);
  td_expr_free(s->where);
  for (int64_t i = 0; i < s->n_group_by; i++) td_expr_free(s->group_by[i]);
  td_free(s->group_by);
  for (int64_t i = 0; i < s->n_order_by; i++) td_expr_free(s->order_by[i].expr);
  td_free(s->order_by);
  td__compose_free(s);
  td__gsets_free(s->gsets);
  td_free(s);
}

/* Grows *arr (of n elements of `size`) by one zeroed slot; the capacity
 * doubles when n reaches a power of two, so a long list is linear. */
static void *grow(void **arr, int64_t n, size_t size, td_error *err) {
  if ((n & (n - 1)) == 0) {
    char *a = td_realloc(*arr, (size_t)(n ? 2 * n : 1) * size);
    if (!a) {
      td_err_nomem(err, "parsing SQL");
      return NULL;
    }
    *arr = a;
  }
  char *slot = (char *)*arr + (size_t)n * size;
  memset(slot, 0, size);
  return slot;
}

static bool is_name_token(const td_parser *p) {
  return p->tok.kind == TK_QIDENT ||
         (p->tok.kind == TK_IDENT && !td__is_reserved(p->tok.text, p->tok.len));
}

static int parse_item(td_parser *p, td_select *s) {
  td_select_item *it = grow((void **)&s->items, s->n_items, sizeof *it, p->err);
  if (!it) return TD_ENOMEM;
  s->n_items++;
  it->pos = p->tok.pos;
  it->alias_pos = -1;
  if (p->tok.kind == TK_STAR) {
    td__next(p);
    if (td__is_kw(p, "RENAME"))
      return td_err_at(p->err, TD_EPARSE, p->tok.pos, "SELECT * RENAME is not supported at offset %lld",
                       (long long)p->tok.pos);
    if (td__accept_kw(p, "EXCLUDE")) {
      if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' after EXCLUDE");
      do {
        td__next(p);
        if (!is_name_token(p)) return td__expected(p, "a column name in EXCLUDE");
        char **slot = grow((void **)&it->exclude, it->n_exclude, sizeof *slot, p->err);
        if (!slot) return TD_ENOMEM;
        int rc = td__token_string(p, slot, NULL);
        if (rc) return rc;
        it->n_exclude++;
        td__next(p);
      } while (p->tok.kind == TK_COMMA);
      if (p->tok.kind != TK_RPAREN) return td__expected(p, "')' or ','");
      td__next(p);
    }
    if (!td__is_kw(p, "REPLACE")) return TD_OK;
    td__next(p); /* REPLACE (expr AS name, ...): DuckDB's */
    if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' after REPLACE");
    do {
      td__next(p);
      td_expr **x = grow((void **)&it->replace, it->n_replace, sizeof *x, p->err);
      char **nm = x ? grow((void **)&it->replace_names, it->n_replace, sizeof *nm, p->err) : NULL;
      if (!nm) return TD_ENOMEM;
      it->n_replace++; /* the slots are zeroed: freed whatever fails below */
      int rc = td__parse_expr(p, x);
      if (rc) return rc;
      if (!td__accept_kw(p, "AS")) return td__expected(p, "AS and a column name in REPLACE");
      if (!is_name_token(p)) return td__expected(p, "a column name after AS");
      if ((rc = td__token_string(p, nm, NULL)) != TD_OK) return rc;
      td__next(p);
    } while (p->tok.kind == TK_COMMA);
    if (p->tok.kind != TK_RPAREN) return td__expected(p, "')' or ','");
    td__next(p);
    return TD_OK;
  }
  int rc = td__parse_expr(p, &it->expr);
  if (rc) return rc;
  bool as = td__accept_kw(p, "AS");
  if (!is_name_token(p)) return as ? td__expected(p, "an alias after AS") : TD_OK;
  it->alias_pos = p->tok.pos;
  rc = td__token_string(p, &it->alias, NULL);
  if (!rc) td__next(p);
  return rc;
}

static int parse_call_source(td_parser *p, td_select *s);

static int parse_source(td_parser *p, td_select *s) {
  if (!s->stmt_source && !td__accept_kw(p, "FROM")) {
    static const char *const follow[] = {"WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET",
                                         "UNION", "INTERSECT", "EXCEPT"};
    bool end = p->tok.kind == TK_EOF || p->tok.kind == TK_SEMI || p->tok.kind == TK_RPAREN;
    for (size_t i = 0; i < sizeof follow / sizeof *follow; i++) end |= td__is_kw(p, follow[i]);
    if (!end) return td__expected(p, "FROM");
    s->no_from = true; /* SELECT without FROM: over one row (query/compose.c) */
    return TD_OK;
  }
  if (td__at_subquery(p)) { /* FROM (SELECT ...) [AS] alias */
    s->source_kind = TD_SOURCE_SUBQUERY;
    s->source_pos = p->tok.pos;
    int rc = td__parse_subquery(p, &s->from_sub);
    if (!rc && !(s->source = td_strdup("(subquery)"))) rc = td_err_nomem(p->err, "parsing SQL");
    return rc ? rc : td__parse_from_tail(p, s);
  }
  if (!is_name_token(p) && p->tok.kind != TK_STRING)
    return td__expected(p, s->stmt_source ? "SELECT, a table name or a quoted path"
                                          : "a table name or a quoted path after FROM");
  s->source_kind = p->tok.kind == TK_STRING ? TD_SOURCE_PATH : TD_SOURCE_NAME;
  s->source_pos = p->tok.pos;
  int rc = td__token_string(p, &s->source, NULL);
  if (!rc) td__next(p);
  if (!rc && s->source_kind == TD_SOURCE_NAME && p->tok.kind == TK_LPAREN) rc = parse_call_source(p, s);
  if (!rc) rc = td__parse_from_tail(p, s);
  return rc;
}

static int parse_group_by(td_parser *p, td_select *s) {
  if (!td__accept_kw(p, "BY")) return td__expected(p, "BY after GROUP");
  if (td__accept_kw(p, "ALL")) {
    s->group_by_all = true;
    return TD_OK;
  }
  for (;;) {
    if (td__at_grouping_sets(p)) return td__parse_grouping_sets(p, s); /* query/grouping.c */
    td_expr **slot = grow((void **)&s->group_by, s->n_group_by, sizeof *slot, p->err);
    if (!slot) return TD_ENOMEM;
    int rc = td__parse_expr(p, slot);
    if (rc) return rc;
    s->n_group_by++;
    if (p->tok.kind != TK_COMMA) return TD_OK;
    td__next(p);
  }
}

static int parse_order_by(td_parser *p, td_select *s) {
  if (!td__accept_kw(p, "BY")) return td__expected(p, "BY after ORDER");
  if (td__is_kw(p, "ALL")) { /* every item, left to right (query/plan.c) */
    s->order_all_pos = p->tok.pos;
    td__next(p);
    s->order_by_all = true;
    if (td__accept_kw(p, "DESC")) s->order_all_desc = true;
    else td__accept_kw(p, "ASC");
    if (td__accept_kw(p, "NULLS")) {
      if (td__accept_kw(p, "FIRST")) s->order_all_nulls_first = true;
      else if (!td__accept_kw(p, "LAST")) return td__expected(p, "FIRST or LAST after NULLS");
    }
    return TD_OK;
  }
  for (;;) {
    td_order_item *it = grow((void **)&s->order_by, s->n_order_by, sizeof *it, p->err);
    if (!it) return TD_ENOMEM;
    it->pos = p->tok.pos;
    int rc = td__parse_expr(p, &it->expr);
    if (rc) return rc;
    s->n_order_by++;
    if (td__accept_kw(p, "DESC")) it->desc = true;
    else td__accept_kw(p, "ASC");
    if (td__accept_kw(p, "NULLS")) {
      if (td__accept_kw(p, "FIRST")) it->nulls_first = true;
      else if (!td__accept_kw(p, "LAST")) return td__expected(p, "FIRST or LAST after NULLS");
    }
    if (p->tok.kind != TK_COMMA) return TD_OK;
    td__next(p);
  }
}

/* A non-negative integer after LIMIT or OFFSET into *out. */
static int parse_count(td_parser *p, const char *clause, int64_t *out) {
  char what[64];
  snprintf(what, sizeof what, "a non-negative integer after %s", clause);
  if (p->tok.kind != TK_INT) return td__expected(p, what);
  if (!td__token_int(p, out))
    return td_err_at(p->err, TD_EPARSE, p->tok.pos, "%s %.*s at offset %lld is out of range", clause,
                     (int)(p->tok.len < 32 ? p->tok.len : 31), p->tok.text, (long long)p->tok.pos);
  td__next(p);
  return TD_OK;
}

static int parse_limit(td_parser *p, td_select *s) {
  s->limit_pos = p->tok.pos;
  int rc = parse_count(p, "LIMIT", &s->limit);
  if (rc) s->limit_pos = -1;
  else s->has_limit = true;
  return rc;
}

/* "X is not supported" for the common clauses the subset lacks, at the
 * current token (instead of a misleading "expected ..."). */
static int unsupported_clause(td_parser *p) {
  static const char *const kw[][2] = {
      {"PIVOT", "PIVOT"},
      {"UNPIVOT", "UNPIVOT"},   {"JOIN", "JOIN"},           {"INNER", "JOIN"},
      {"LEFT", "JOIN"},         {"RIGHT", "JOIN"},          {"FULL", "JOIN"},
      {"CROSS", "JOIN"},        {"NATURAL", "JOIN"},        {"ASOF", "ASOF JOIN"},
      {"POSITIONAL", "POSITIONAL JOIN"}, {"USING", "USING SAMPLE"}, {"TABLESAMPLE", "TABLESAMPLE"},
      {"FETCH", "FETCH"},       {"FOR", "FOR"},             {"INTO", "SELECT INTO"}};
  for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
    if (td__is_kw(p, kw[i][0]))
      return td_err_at(p->err, TD_EPARSE, p->tok.pos, "%s is not supported at offset %lld", kw[i][1],
                       (long long)p->tok.pos);
  return TD_OK;
}

int td__parse_order_limit(td_parser *p, td_select *s) {
  int rc = TD_OK;
  if (td__accept_kw(p, "ORDER")) rc = parse_order_by(p, s);
  if (!rc && td__accept_kw(p, "LIMIT")) rc = parse_limit(p, s);
  if (!rc && td__accept_kw(p, "OFFSET")) rc = parse_count(p, "OFFSET", &s->offset);
  if (!rc && !s->has_limit && s->offset && td__accept_kw(p, "LIMIT")) rc = parse_limit(p, s);
  return rc;
}

static int parse_clauses(td_parser *p, td_select *s) {
  td_win_defs *wd = NULL; /* WINDOW name AS (...): query/sql_window.c */
  int rc = parse_source(p, s);
  if (!rc) rc = unsupported_clause(p);
  if (!rc && td__accept_kw(p, "WHERE")) rc = td__parse_expr(p, &s->where);
  if (!rc && td__accept_kw(p, "GROUP")) rc = parse_group_by(p, s);
  if (!rc && td__accept_kw(p, "HAVING")) rc = td__parse_expr(p, &s->having);
  if (!rc && td__is_kw(p, "WINDOW")) rc = td__parse_window_clause(p, &wd);
  if (!rc && !s->qualify && td__is_kw(p, "QUALIFY")) {
    s->qualify_pos = p->tok.pos;
    td__next(p);
    rc = td__parse_expr(p, &s->qualify);
  }
  if (!rc) rc = unsupported_clause(p);
  if (!rc) rc = td__parse_order_limit(p, s);
  if (!rc) rc = unsupported_clause(p);
  if (!rc) rc = td__resolve_windows(s, wd, p->err);
  td__win_defs_free(wd);
  if (rc) return rc;
  if (p->tok.kind == TK_SEMI && !p->nest) td__next(p);
  if (p->tok.kind != TK_EOF && !td__at_set_op(p) && !(p->nest && p->tok.kind == TK_RPAREN)) {
    const char *what = s->has_limit && s->offset ? "end of statement"
                       : s->has_limit ? "OFFSET or end of statement"
                       : s->n_order_by ? "LIMIT, OFFSET or end of statement"
                                       : "WHERE, GROUP BY, HAVING, ORDER BY, LIMIT or end of statement";
    return td__expected(p, what);
  }
  return TD_OK;
}

int td_sql_parse(const char *text, size_t len, td_select **out, td_error *err) {
  td_parser p;
  td__parser_init(&p, text, len, err);
  td_select *s = td_calloc(1, sizeof *s);
  if (!s) return td_err_nomem(err, "parsing SQL");
  p.root = s;
  s->pos = p.tok.pos;
  s->limit_pos = -1;
  s->source_pos = -1;
  int rc = TD_OK;
  static const char *const statements[] = {"INSERT",  "UPDATE",   "DELETE",  "CREATE",
                                           "DROP",    "ALTER",   "PIVOT",    "UNPIVOT", "VALUES",
                                           "FROM",    "COPY",    "SHOW"};
  static const char *const stmt_kw[] = {NULL, "DESCRIBE", "SUMMARIZE", "EXPLAIN"};
  for (int k = 1; k < 4; k++)
    if (td__is_kw(&p, stmt_kw[k])) {
      s->stmt = (td_stmt_kind)k;
      td__next(&p);
      break;
    }
  for (size_t i = 0; i < sizeof statements / sizeof *statements && !rc; i++)
    if (td__is_kw(&p, statements[i]))
      rc = td_err_at(err, TD_EPARSE, p.tok.pos, "%s is not supported at offset %lld (statements "
                     "start with SELECT)", statements[i], (long long)p.tok.pos);
  if (!rc && (s->stmt == TD_STMT_DESCRIBE || s->stmt == TD_STMT_SUMMARIZE) && !td__is_kw(&p, "SELECT")) {
    /* DESCRIBE source: SELECT * FROM source */
    s->stmt_source = true;
    td_select_item *it = grow((void **)&s->items, 0, sizeof *it, err);
    if (!it) rc = TD_ENOMEM;
    else {
      s->n_items = 1;
      it->pos = p.tok.pos;
      it->alias_pos = -1;
    }
    if (!rc) rc = parse_clauses(&p, s);
    if (rc) {
      td_select_free(s);
      return rc;
    }
    *out = s;
    return TD_OK;
  }
  if (!rc) rc = td__parse_query(&p, s);
  if (!rc && p.tok.kind == TK_SEMI) td__next(&p);
  if (!rc && p.tok.kind != TK_EOF) rc = td__expected(&p, "end of statement");
  if (rc) {
    td_select_free(s);
    return rc;
  }
  *out = s;
  return TD_OK;
}

int td__parse_select_core(td_parser *p, td_select *s) {
  s->pos = p->tok.pos;
  int rc = td__accept_kw(p, "SELECT") ? TD_OK : td__expected(p, "SELECT");
  if (!rc) s->distinct = td__accept_kw(p, "DISTINCT");
  if (!rc && s->distinct && td__accept_kw(p, "ON")) { /* DISTINCT ON (exprs) */
    s->distinct = false;
    if (p->tok.kind != TK_LPAREN) rc = td__expected(p, "'(' after DISTINCT ON");
    while (!rc) {
      td__next(p);
      td_expr **slot = grow((void **)&s->distinct_on, s->n_distinct_on, sizeof *slot, p->err);
      rc = slot ? td__parse_expr(p, slot) : TD_ENOMEM;
      if (!rc) s->n_distinct_on++;
      if (rc || p->tok.kind != TK_COMMA) break;
    }
    if (!rc && p->tok.kind != TK_RPAREN) rc = td__expected(p, "')' or ','");
    if (!rc) td__next(p);
  }
  while (!rc) {
    rc = parse_item(p, s);
    if (rc || p->tok.kind != TK_COMMA) break;
    td__next(p);
  }
  if (!rc) rc = parse_clauses(p, s);
  if (!rc && s->gsets) rc = td__expand_grouping_sets(p, s);
  return rc;
}

/* ---- printing ---- */

static void put_expr(td_strbuf *b, const td_expr *e) {
  char *t = NULL;
  if (!b->rc) b->rc = td_expr_print(e, &t, b->err);
  td__sb_put(b, t ? t : "");
  td_free(t);
}

static void put_quoted(td_strbuf *b, const char *s, char q) { td__sb_quoted(b, s, strlen(s), q); }

/* A table function source, name('string', ..., option => 'string'): the
 * source becomes its canonical text (strings re-quoted, one space after
 * each comma) and stays a TD_SOURCE_NAME, so the resolver receives the
 * whole call (e.g. postgres('dbname=x', 'trades')) and parses it.  As in
 * DuckDB, an option may also be written `name = value`, and its value may be
 * TRUE, FALSE or an integer (read_parquet('d', hive_partitioning =
 * true)): the canonical text quotes it ('true'). */
static int parse_call_source(td_parser *p, td_select *s) {
  td_strbuf b = {.rc = TD_OK, .err = p->err};
  td__sb_put(&b, s->source);
  td__sb_put(&b, "(");
  td__next(p);
  for (int n = 0; p->tok.kind != TK_RPAREN; n++) {
    if (n) {
      if (p->tok.kind != TK_COMMA) {
        td_free(b.p);
        return td__expected(p, "',' or ')' in the source's arguments");
      }
      td__next(p);
      td__sb_put(&b, ", ");
    }
    char *text = NULL;
    bool named = is_name_token(p);
    if (named) { /* name => 'value' */
      int rc = td__token_string(p, &text, NULL);
      if (rc) {
        td_free(b.p);
        return rc;
      }
      td__next(p);
      td__sb_put(&b, text);
      td__sb_put(&b, " => ");
      td_free(text);
      if (p->tok.kind != TK_EQ) {
        td_free(b.p);
        return td__expected(p, "'=>' or '=' after an argument name");
      }
      td__next(p);
      if (p->tok.kind == TK_GT) td__next(p);
      bool neg = p->tok.kind == TK_MINUS;
      if (neg) td__next(p);
      if (p->tok.kind == TK_INT || (!neg && (td__is_kw(p, "TRUE") || td__is_kw(p, "FALSE")))) {
        td__sb_put(&b, "'");
        if (neg) td__sb_put(&b, "-");
        for (size_t i = 0; i < p->tok.len; i++) { /* digits, or true/false in lower case */
          char c = p->tok.text[i];
          char one[2] = {(char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c), 0};
          td__sb_put(&b, one);
        }
        td__sb_put(&b, "'");
        td__next(p);
        continue;
      }
      if (neg) {
        td_free(b.p);
        return td__expected(p, "an integer after '-'");
      }
    }
    if (p->tok.kind != TK_STRING) {
      td_free(b.p);
      return td__expected(p, named ? "a quoted string, TRUE, FALSE or an integer as the option's value"
                                  : "a quoted string argument");
    }
    int rc = td__token_string(p, &text, NULL);
    if (rc) {
      td_free(b.p);
      return rc;
    }
    put_quoted(&b, text, '\'');
    td_free(text);
    td__next(p);
  }
  td__next(p);
  td__sb_put(&b, ")");
  if (b.rc) {
    td_free(b.p);
    return b.rc;
  }
  td_free(s->source);
  s->source = b.p;
  return TD_OK;
}

static void put_list(td_strbuf *b, td_expr *const *e, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (i) td__sb_put(b, ", ");
    put_expr(b, e[i]);
  }
}

int td_select_print(const td_select *s, char **out, td_error *err) {
  if (s->n_ctes || s->n_terms || s->n_subs) return td__compose_print(s, out, err); /* query/compose.c */
  td_strbuf b = {.err = err};
  static const char *const stmt_kw[] = {"", "DESCRIBE ", "SUMMARIZE ", "EXPLAIN "};
  td__sb_put(&b, stmt_kw[s->stmt]);
  td__sb_put(&b, s->distinct ? "SELECT DISTINCT " : "SELECT ");
  for (int64_t i = 0; i < s->n_distinct_on; i++) {
    td__sb_put(&b, i ? ", " : "DISTINCT ON (");
    put_expr(&b, s->distinct_on[i]);
    if (i + 1 == s->n_distinct_on) td__sb_put(&b, ") ");
  }
  for (int64_t i = 0; i < s->n_items; i++) {
    if (i) td__sb_put(&b, ", ");
    if (!s->items[i].expr) td__sb_put(&b, "*");
    else put_expr(&b, s->items[i].expr);
    for (int64_t j = 0; j < s->items[i].n_exclude; j++) {
      td__sb_put(&b, j ? ", " : " EXCLUDE (");
      put_quoted(&b, s->items[i].exclude[j], '"');
      if (j + 1 == s->items[i].n_exclude) td__sb_put(&b, ")");
    }
    for (int64_t j = 0; j < s->items[i].n_replace; j++) {
      td__sb_put(&b, j ? ", " : " REPLACE (");
      put_expr(&b, s->items[i].replace[j]);
      td__sb_put(&b, " AS ");
      put_quoted(&b, s->items[i].replace_names[j], '"');
      if (j + 1 == s->items[i].n_replace) td__sb_put(&b, ")");
    }
    if (s->items[i].alias) {
      td__sb_put(&b, " AS ");
      put_quoted(&b, s->items[i].alias, '"');
    }
  }
  if (s->source) td__sb_put(&b, " FROM ");
  if (s->source_kind == TD_SOURCE_PATH) put_quoted(&b, s->source, '\'');
  else if (s->from_sub) td__compose_put_sub(&b, s->from_sub);
  else if (s->source) td__sb_put(&b, s->source);
  char *tail = NULL;
  if (!b.rc) b.rc = td__from_tail_print(s, &tail, err);
  td__sb_put(&b, tail ? tail : "");
  td_free(tail);
  if (s->where) {
    td__sb_put(&b, " WHERE ");
    put_expr(&b, s->where);
  }
  if (s->n_group_by) {
    td__sb_put(&b, " GROUP BY ");
    put_list(&b, s->group_by, s->n_group_by);
  }
  if (s->group_by_all) td__sb_put(&b, " GROUP BY ALL");
  if (s->having) {
    td__sb_put(&b, " HAVING ");
    put_expr(&b, s->having);
  }
  if (s->qualify) {
    td__sb_put(&b, " QUALIFY ");
    put_expr(&b, s->qualify);
  }
  if (s->order_by_all)
    td__sb_put(&b, s->order_all_desc ? (s->order_all_nulls_first ? " ORDER BY ALL DESC NULLS FIRST" : " ORDER BY ALL DESC")
                                     : (s->order_all_nulls_first ? " ORDER BY ALL NULLS FIRST" : " ORDER BY ALL"));
  for (int64_t i = 0; i < s->n_order_by; i++) {
    td__sb_put(&b, i ? ", " : " ORDER BY ");
    put_expr(&b, s->order_by[i].expr);
    if (s->order_by[i].desc) td__sb_put(&b, " DESC");
    if (s->order_by[i].nulls_first) td__sb_put(&b, " NULLS FIRST");
  }
  if (s->has_limit) {
    char buf[40];
    snprintf(buf, sizeof buf, " LIMIT %" PRId64, s->limit);
    td__sb_put(&b, buf);
  }
  if (s->offset) {
    char buf[40];
    snprintf(buf, sizeof buf, " OFFSET %" PRId64, s->offset);
    td__sb_put(&b, buf);
  }
  if (b.rc) {
    td_free(b.p);
    return b.rc;
  }
  *out = b.p;
  return TD_OK;
}

int td_select_item_name(const td_select *s, int64_t i, char **out, td_error *err) {
  const td_select_item *it = &s->items[i];
  const char *fixed = it->alias ? it->alias : it->expr ? NULL : "*";
  if (!fixed) return td_expr_print(it->expr, out, err);
  *out = td_strdup(fixed);
  return *out ? TD_OK : td_err_nomem(err, "naming a column");
}
