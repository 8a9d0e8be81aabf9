/*
 * query/sql.h - the SQL subset: statement AST and parser.
 *
 *   SELECT [DISTINCT] item [, item ...] FROM source
 *     [WHERE expr] [GROUP BY ALL | expr [, ...]] [HAVING expr]
 *     [ORDER BY expr [ASC|DESC] [NULLS FIRST|LAST] [, ...]]
 *     [LIMIT n] [OFFSET m] [;]
 *   item   := '*' [EXCLUDE (name [, ...])] | expr [[AS] alias]
 *   source := identifier | 'path string'
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
} td_select_item;

typedef struct td_order_item {
  td_expr *expr;
  bool desc;
  int64_t pos;
  bool nulls_first;  /* NULLS FIRST (nulls come last by default) */
} td_order_item;

typedef enum td_source_kind {
  TD_SOURCE_NAME, /* an identifier: a table name such as demo */
  TD_SOURCE_PATH  /* a single-quoted string: a file or directory path */
} td_source_kind;

typedef struct td_select {
  int64_t pos;                 /* offset of SELECT */
  bool distinct;
  int64_t n_items;
  td_select_item *items;
  td_source_kind source_kind;
  char *source;                /* name or path (quotes removed) */
  int64_t source_pos;
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
  int64_t offset;              /* OFFSET m (0 if none) */
} td_select;

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
