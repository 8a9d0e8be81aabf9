/*
 * query/setops.h - INTERSECT [ALL] and EXCEPT [ALL] of two tables
 * (query/setops.c); UNION is query/union.c.
 */
#ifndef TD_QUERY_SETOPS_H
#define TD_QUERY_SETOPS_H

#include <stdbool.h>

#include "arrow/schema.h"
#include "tabledata/error.h"
#include "tabledata/table.h"

/* The set operation before a term of a compound statement (td_select's
 * term_op). */
enum { TD_SETOP_UNION = 0, TD_SETOP_INTERSECT = 1, TD_SETOP_EXCEPT = 2 };

/* left INTERSECT / EXCEPT [ALL] right (op TD_SETOP_INTERSECT or
 * TD_SETOP_EXCEPT), over two tables of the same column types (the
 * caller conforms them), named as left.  Rows compare as in GROUP BY
 * (nulls equal).  Without ALL each distinct row appears once; with ALL a
 * row present l times in left and r times in right appears min(l, r)
 * (INTERSECT ALL) or max(l - r, 0) (EXCEPT ALL) times.  Live when either
 * side is refreshing (see docs/DESIGN.md for the cost).  Errors: TD_ENOMEM,
 * TD_ETYPE (a column type that cannot be a group key). */
int td__set_op(td_table *left, td_table *right, int op, bool all, td_table **out, td_error *err);

/* Projection items "source name" AS "name" for each column of def (the
 * source names from src, by position), then copies of the n_more extra
 * items: a new array of def->n_fields + n_more strings (free with
 * td__col_items_free).  Errors: TD_ENOMEM. */
int td__col_items(const td_schema *src, const td_schema *def, const char *const *more, int64_t n_more,
                  char ***out, td_error *err);
void td__col_items_free(char **items, int64_t n);

#endif
