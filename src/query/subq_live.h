/*
 * query/subq_live.h - subqueries in expressions of live queries: the
 * subquery's current value in a slot that the outer expressions read, and
 * the gate that makes the outer operator chain recompute when a slot
 * changes (query/subq_live.c; docs/DESIGN.md, "Live subqueries").
 *
 * A slot holds a refreshing subquery table (one column for scalar and IN,
 * any for EXISTS) and its value: the scalar (NULL without rows), the IN
 * list with SQL's null rules, or EXISTS's truth.  It listens to its table:
 * after each change it is refilled and, when the value differs, each gate
 * that depends on it republishes its rows as replaced, so that every
 * operator after it recomputes with the new value.  The expressions read a
 * slot through three internal functions (the function registry, func.h):
 *   __subq_value(id)            the scalar
 *   __subq_in(x, id, negated)   x [NOT] IN the list
 *   __subq_exists(id)           EXISTS
 * where id names a registered slot (a process-wide registry: the binder
 * has no context pointer).  A slot is filled and read on the update thread
 * (or while the query is planned under the update lock).
 */
#ifndef TD_QUERY_SUBQ_LIVE_H
#define TD_QUERY_SUBQ_LIVE_H

#include "query/expr.h"
#include "tabledata/table.h"

typedef struct td_subq_slot td_subq_slot;

enum { TD_SUBQ_SCALAR, TD_SUBQ_IN, TD_SUBQ_EXISTS };

/* A new slot (refs 1) over the refreshing table `sub` (retained) of kind
 * TD_SUBQ_*, filled from its current rows and listening to it; pos is the
 * subquery's offset for errors.  Call under the update lock of sub's
 * graph.  Errors: TD_ETYPE (a scalar subquery with more than one row),
 * TD_ENOMEM, those of reading sub. */
int td__subq_slot_new(td_table *sub, int kind, int64_t pos, td_subq_slot **out, td_error *err);
void td__subq_slot_release(td_subq_slot *s); /* NULL allowed */

/* The call node that reads slot s in place of a placeholder: the scalar,
 * EXISTS, or `x [NOT] IN` (x taken, also on failure).  TD_ENOMEM. */
int td__subq_call(td_subq_slot *s, td_expr *x, bool negated, int64_t pos, td_expr **out, td_error *err);

/* src (retained) gated on the slots: a derived table with src's rows that
 * passes src's appends on, and republishes its rows as replaced whenever
 * a slot's value changes.  A static src with live slots is driven by the
 * first slot's table.  Errors: TD_EINVAL (slots of another service's
 * update graph), TD_ENOMEM, those of reading src. */
int td__subq_gate(td_table *src, td_subq_slot *const *slots, int64_t n, td_table **out, td_error *err);

/* Tests: the gate below t (t or one of its sources), or none (-1): the
 * cycles in which its slots changed (recomputes); *appends: the source
 * appends it passed on. */
int64_t td__subq_stats(const td_table *t, int64_t *appends);

#endif
