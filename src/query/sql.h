/*
 * query/sql.h - the SQL subset: statement AST and parser.
 *
 *   SELECT [DISTINCT] item [, item ...] FROM source
 *     [WHERE expr] [GROUP BY ALL | expr [, ...]] [HAVING expr]
 *     [ORDER BY expr [ASC|DESC] [NULLS FIRST|LAST] [, ...]]
 *     [LIMIT n] [OFFSET m] [;]
 *   or DESCRIBE|SUMMARIZE (SELECT ... | source [WHERE ...]), EXPLAIN SELECT ...
 *   item   := '*' [EXCLUDE (name [, ...])] | expr [[AS] alias]
 *   source := identifier | 'path string' | (query)
 *   query  := [WITH name AS (query) [, ...]] select {UNION [ALL] select}
 *             [ORDER BY ...] [LIMIT n] [OFFSET m]  (query/compose.c)
 *
 * Keywords are case-insensitive; see src/query/README.md for the grammar of
 * expressions.  The parser only builds the tree: names are resolved later by
 * binding each expression (query/expr.h) against the source's schema.
 */
#ifndef TD_QUERY_SQL_H
#define TD_QUERY_SQL_H

#include "query/expr.h"

typedef struct td_select_item {
  td_expr *expr;     /* NULL for '*' */
  char *alias;       /* NULL when none was given */
  int64_t pos;       /* offset of the item's first token */
  int64_t alias_pos; /* offset of the alias, or -1 */
  char **exclude;    /* '*' EXCLUDE (names): owned names */
  int64_t n_exclude;
  td_expr **replace; /* '*' REPLACE (expr AS name, ...): the column `replace_names[k]` becomes replace[k] */
  char **replace_names;
  int64_t n_replace;
} td_select_item;

typedef struct td_order_item {
  td_expr *expr;
  bool desc;
  int64_t pos;
  bool nulls_first;  /* NULLS FIRST (nulls come last by default) */
} td_order_item;

typedef enum td_source_kind {
  TD_SOURCE_NAME, /* an identifier: a table name such as demo */
  TD_SOURCE_PATH,  /* a single-quoted string: a file or directory path */
  TD_SOURCE_SUBQUERY /* FROM (SELECT ...) or a UNION (query/compose.c) */
} td_source_kind;

/* A JOIN clause of FROM (query/sql_from.c). */
typedef enum td_sql_join {
  TD_SQL_JOIN_INNER, TD_SQL_JOIN_LEFT, TD_SQL_JOIN_FULL, TD_SQL_JOIN_SEMI, TD_SQL_JOIN_ANTI,
  TD_SQL_JOIN_ASOF,     /* inner: left rows without a match are dropped */
  TD_SQL_JOIN_ASOF_LEFT
} td_sql_join;

typedef struct td_join_clause {
  td_sql_join type;
  int64_t pos;                 /* offset of the clause's first keyword */
  td_source_kind source_kind;
  char *source;
  int64_t source_pos;
  char *alias;                 /* NULL when none */
  char **using_cols;           /* USING (a, b) */
  int64_t n_using;
  td_expr *on;                 /* ON expr, else NULL */
  struct td_select *sub;       /* JOIN (SELECT ...): the subquery, else NULL */
} td_join_clause;

/* The statement around the SELECT (query/stmts.c builds the others'
 * results): DESCRIBE / SUMMARIZE take a SELECT or a bare source (parsed as
 * SELECT * FROM source, stmt_source set); EXPLAIN takes a SELECT. */
typedef enum td_stmt_kind { TD_STMT_SELECT, TD_STMT_DESCRIBE, TD_STMT_SUMMARIZE, TD_STMT_EXPLAIN } td_stmt_kind;

typedef struct td_select {
  int64_t pos;                 /* offset of SELECT */
  td_stmt_kind stmt;
  bool stmt_source;            /* DESCRIBE / SUMMARIZE <source> */
  bool distinct;
  int64_t n_items;
  td_select_item *items;
  td_source_kind source_kind;
  char *source;                /* name or path (quotes removed) */
  int64_t source_pos;
  char *source_alias;          /* FROM source [AS] alias, else NULL */
  int64_t n_joins;             /* JOIN clauses, in order */
  td_join_clause *joins;
  td_expr *where;              /* NULL if none */
  int64_t n_group_by;
  td_expr **group_by;
  int64_t n_order_by;
  td_order_item *order_by;
  bool has_limit;
  int64_t limit;               /* >= 0 */
  int64_t limit_pos;           /* offset of the number, or -1 */
  td_expr *having;             /* NULL if none */
  bool group_by_all;           /* GROUP BY ALL: the items without aggregates */
  bool order_by_all;           /* ORDER BY ALL [DESC] [NULLS FIRST]: every item, left to
                                  right (made order_by items by the planner) */
  bool order_all_desc, order_all_nulls_first;
  int64_t order_all_pos;       /* offset of ALL */
  int64_t offset;              /* OFFSET m (0 if none) */
  /* Composition (query/compose.c): */
  struct td_select *from_sub;  /* FROM (SELECT ...) (source_kind SUBQUERY) */
  bool no_from;                /* SELECT without FROM: over one row */
  int64_t n_ctes;              /* WITH name AS (SELECT ...), in order */
  char **cte_names;
  struct td_select **ctes;
  int64_t n_terms;             /* > 0: the source is the UNION of the terms */
  struct td_select **terms;    /* (items are '*'; ORDER BY / LIMIT apply to it) */
  bool *term_all;              /* term_all[i]: UNION ALL before term i */
  unsigned char *term_op;      /* term_op[i]: the set operation before term i
                                  (TD_SETOP_*, query/setops.h) */
  bool later_term;             /* a set operation's term after the first: its
                                  column names are not the result's, so
                                  duplicates are renamed, not refused */
  int64_t n_subs;              /* the root statement: subqueries of expressions, */
  struct td_select **subs;     /* by the index their placeholder calls carry */
  const struct td_cenv *env;   /* while planned: the CTE names in scope */
  td_expr *qualify;            /* QUALIFY expr, else NULL (query/sql_window.c) */
  int64_t qualify_pos;         /* offset of QUALIFY */
  td_expr **distinct_on;       /* SELECT DISTINCT ON (exprs) */
  int64_t n_distinct_on;
  /* While planned as a FROM subquery: the statement reading it, whose
   * references prune this one's items (query/plan.c, expand_items). */
  const struct td_select *outer;
  struct td_gsets *gsets;      /* while parsed: GROUP BY ROLLUP/CUBE/GROUPING SETS (query/grouping.c) */
} td_select;

/* FROM's tail after the first source: an alias, then JOIN clauses
 * (query/sql_from.c); frees them; their canonical text (" t JOIN ..."). */
struct td_parser;
int td__parse_from_tail(struct td_parser *p, td_select *s);
void td__from_tail_free(td_select *s);
int td__from_tail_print(const td_select *s, char **out, td_error *err);

/* Parses one SELECT statement.  On success *out is a new tree (free with
 * td_select_free).  Syntax errors are TD_EPARSE with err->position at the
 * offending token and a message such as "expected FROM at offset 14, found
 * 'WHERE'"; TD_ENOMEM on allocation failure (nothing leaks). */
int td_sql_parse(const char *text, size_t len, td_select **out, td_error *err);

/* Frees a statement (NULL allowed). */
void td_select_free(td_select *s);

/* Canonical text of a statement (keywords upper case, expressions printed
 * with td_expr_print).  *out is allocated with td_malloc. */
int td_select_print(const td_select *s, char **out, td_error *err);

/* The output column name of select item i: its alias, else the canonical
 * text of its expression ("sum(Price * Size)"); "*" for a star item.
 * *out is allocated with td_malloc. */
int td_select_item_name(const td_select *s, int64_t i, char **out, td_error *err);

#endif
