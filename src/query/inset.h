/*
 * query/inset.h - internal: the hash set of an `x IN (literal, ...)` list.
 *
 * The binder builds one for every bound IN node whose items are all
 * literals, so that evaluating IN costs one lookup per row instead of one
 * comparison per item.  Items are stored in the domain the comparison uses
 * (query/eval_row.c, cmp3): against an integer or timestamp x, integer items
 * as int64 and float items as double; against a float x, every item as
 * double; strings bytewise; bools as 0/1.  NaN items never match (NaN = NaN
 * is false) and -0.0 equals 0.0.  A NULL item is remembered (has_null): a
 * value not found is then NULL, not false.  String items borrow the bytes of
 * the node's literal children, so a set lives exactly as long as its node.
 */
#ifndef TD_QUERY_INSET_H
#define TD_QUERY_INSET_H

#include "query/expr.h"

typedef struct td_in_set td_in_set;

/* Builds the set of bound IN node `e`; *out = NULL (TD_OK) when some item
 * is not a literal or the types do not allow a set.  TD_ENOMEM on failure. */
int td__in_set_build(const td_expr *e, td_in_set **out, td_error *err);
void td__in_set_free(td_in_set *s); /* NULL allowed */
/* Whether an item equals the non-null value x (of the IN operand's type). */
bool td__in_set_has(const td_in_set *s, const td_value *x);
/* Batch membership for an integer operand: found[i] = whether x[i] is an
 * item, for i < n (as td__in_set_has over each value).  false (nothing
 * written) when an item is not an integer; the caller asks td__in_set_has. */
bool td__in_set_has_ints(const td_in_set *s, const int64_t *x, int64_t n, uint8_t *found);
/* Whether an item is NULL. */
bool td__in_set_has_null(const td_in_set *s);

#endif
