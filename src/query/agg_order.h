/*
 * query/agg_order.h - ORDER BY inside an aggregate call
 * (string_agg(x, sep ORDER BY y), first(x ORDER BY y), last(...)) and the
 * refusal of list-valued aggregates (query/agg_order.c).
 *
 * The parser appends the ORDER BY as a last argument, a call named
 * "__agg_order" whose arguments are the keys (a key sorted descending is
 * wrapped in "__desc").  The planner strips it before the aggregates are
 * bound: the aggregation then reads its source sorted by those keys
 * (stable), and string_agg, first and last fold rows in that order.
 */
#ifndef TD_QUERY_AGG_ORDER_H
#define TD_QUERY_AGG_ORDER_H

#include "query/expr.h"
#include "query/lex.h"
#include "table/table.h"

/* At ORDER inside aggregate call e (its arguments parsed): parses ORDER BY
 * key [ASC|DESC] {, ...} into e's last argument.  Errors (TD_EPARSE): not
 * an aggregate, NULLS FIRST, bad syntax. */
int td__parse_agg_order(td_parser *p, td_expr *e);
/* At the '(' of call e: "list results are not supported" (TD_EPARSE at
 * the name) for array_agg, list and the like, "the aggregate mode() is not
 * supported" for mode, entropy and a few more; TD_OK otherwise. */
int td__check_list_agg(td_parser *p, const td_expr *e);
/* Whether e is the "__agg_order" argument. */
bool td__is_agg_order(const td_expr *e);
/* Removes the ORDER BY argument of every aggregate call under *e.  Those of
 * string_agg, first and last must all be the same: the first is moved to
 * *order (when *order is NULL), the others compared with it (TD_EPARSE
 * "different ORDER BY in aggregates is not supported" at the call);
 * the ORDER BY of other aggregates (no effect on their value) is dropped. */
int td__agg_order_strip(td_expr *e, td_expr **order, td_error *err);
/* src sorted (stably) by the keys of `order` (an "__agg_order" node):
 * columns are src's, then one hidden column per computed key.  Errors:
 * those of binding the keys (TD_ETYPE). */
int td__agg_order_source(td_table *src, const td_expr *order, td_table **out, td_error *err);

#endif
