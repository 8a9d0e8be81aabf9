/*
 * query/compose.h - SQL composition: WITH (common table expressions),
 * subqueries in FROM and JOIN, UNION [ALL], subqueries in expressions
 * (scalar, IN, EXISTS) and SELECT without FROM (query/compose.c parses and
 * plans them; query/union.c is the UNION ALL operator).
 */
#ifndef TD_QUERY_COMPOSE_H
#define TD_QUERY_COMPOSE_H

#include "query/lex.h"
#include "query/sql.h"
#include "query/strbuf.h"
#include "tabledata/query.h"

/* The names in scope while a statement is planned: one frame per WITH. */
typedef struct td_cenv {
  const struct td_cenv *parent;
  int64_t n;
  char **names;     /* borrowed from the statement */
  td_table **tables;
  struct td_select *root; /* the statement: its subs list */
  /* Live queries: the slots of this statement's live expression
   * subqueries (query/subq_live.h), which its source is gated on. */
  struct td_subq_slot **live;
  int64_t n_live;
  char *text; /* the root statement of an EXPLAIN: its text as parsed */
} td_cenv;

/* ---- parsing (called by query/sql.c and query/parse.c) ---- */

/* One SELECT (SELECT [DISTINCT] items [FROM ...] clauses) into s: sql.c. */
int td__parse_select_core(td_parser *p, td_select *s);
/* [WITH ...] select {UNION [ALL] select} [ORDER BY] [LIMIT] [OFFSET] into s
 * (a new statement, fields zero), up to the end of the statement or, in a
 * subquery, its ')'. */
int td__parse_query(td_parser *p, td_select *s);
/* At '(' SELECT|WITH ...: parses the parenthesized query into *out. */
int td__parse_subquery(td_parser *p, td_select **out);
/* Whether the current token is UNION, INTERSECT or EXCEPT. */
bool td__at_set_op(const td_parser *p);
/* [ORDER BY ...] [LIMIT n] [OFFSET m] into s (query/sql.c). */
int td__parse_order_limit(td_parser *p, td_select *s);
/* Whether the current token is '(' followed by SELECT or WITH. */
bool td__at_subquery(const td_parser *p);
/* A subquery in an expression at '(' (kind "__scalar_subquery",
 * "__in_subquery") or at EXISTS ("__exists"): appends it to the root
 * statement's list and returns the placeholder call kind(index).  Without
 * a root statement: "a subquery is not supported" (TD_EPARSE). */
int td__parse_expr_subquery(td_parser *p, const char *kind, td_expr **out);
/* td_select_print of a statement with WITH, set operations or expression
 * subqueries (query/sql.c hands them over): the text parses back to the
 * same statement. */
int td__compose_print(const td_select *s, char **out, td_error *err);
/* Appends "(" the text of sub ")" to b (FROM and JOIN subqueries). */
void td__compose_put_sub(td_strbuf *b, const td_select *sub);
/* Frees the composition fields of s. */
void td__compose_free(td_select *s);
/* A new statement with its "none" positions set, or NULL (TD_ENOMEM). */
td_select *td__select_new(td_error *err);

/* ---- planning ---- */

/* Plans statement q (borrowed; its expressions are rewritten in place)
 * with the names of env in scope: its CTEs first, then its expression
 * subqueries (each evaluated once, over static tables), then the SELECT.
 * Errors: those of td_query; TD_ETYPE for UNION mismatches, a scalar
 * subquery with more than one row or column, correlated subqueries. */
int td__plan_query(td_select *q, td_query_options *opts, const td_cenv *env, td_table **out, td_error *err);
/* The table behind q's source when composition gives it (a subquery, a
 * UNION, no FROM, a CTE name): a new reference in *out, else *out = NULL
 * (the resolver's source). */
int td__compose_source(td_select *q, td_query_options *opts, td_table **out, td_error *err);
/* The same for a JOIN clause's source. */
int td__compose_join_source(const td_select *q, const td_join_clause *j, td_query_options *opts, td_table **out,
                            td_error *err);
/* Appends to IN node `in` a literal item (at in's position) for every
 * distinct value of column `col` of static table t, in first-seen order;
 * one NULL unless skip_nulls.  `distinct`: the rows are known distinct
 * (nothing is looked up).  TD_ENOMEM, or the scan's error. */
int td__in_list_append(td_table *t, int64_t col, bool skip_nulls, bool distinct, td_expr *in, td_error *err);
/* Plans one SELECT whose source is resolved (query/plan.c). */
int td__plan_select(td_select *q, td_query_options *opts, td_table **out, td_error *err);
/* The text of the statement q explains (EXPLAIN's first line): the
 * SELECT as parsed, printed before planning rewrote it (subqueries put
 * back), without the EXPLAIN keyword.  *out is new (td_free).  TD_ENOMEM. */
int td__explain_text(const td_select *q, char **out, td_error *err);
/* Whether a parsed statement needs composition (streams build it first). */
bool td__is_composed(const td_select *q);

/* The UNION ALL of two tables of the same column types (query/union.c):
 * left's rows then right's; live when left is refreshing (rows appended to
 * either side are appended).  Errors: TD_ETYPE (different types), TD_EINVAL
 * (a refreshing right side of another service). */
int td__union_all(td_table *left, td_table *right, td_table **out, td_error *err);
/* Rows [begin, end) of t's snapshot `snap` as new zero-copy derived chunks
 * (views of its pages or chunks), each handed to add (which takes it, also
 * on failure).  Errors: those of scans, TD_ENOMEM, add's. */
struct td_snapshot;
struct td_dchunk;
int td__dchunks_of(td_table *t, struct td_snapshot *snap, int64_t begin, int64_t end,
                   int (*add)(void *ctx, struct td_dchunk *c, td_error *err), void *ctx, td_error *err);

#endif
