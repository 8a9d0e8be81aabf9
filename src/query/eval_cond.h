/*
 * query/eval_cond.h - internal: the conditional forms CASE, coalesce and
 * ifnull evaluated lazily, an argument only over the rows it decides
 * (query/eval_cond.c), by both evaluators; greatest, least and nullif a
 * batch at a time.
 */
#ifndef TD_QUERY_EVAL_COND_H
#define TD_QUERY_EVAL_COND_H

#include "query/func.h"

struct td_vec;

/* Whether bound node e is a CASE, coalesce, ifnull, greatest, least or
 * nullif the batch path takes (its arguments' layouts fit its result's). */
bool td__cond_is(const td_expr *e);
/* The batch path: *done false (nothing done) when e is not one it takes;
 * else *out is the result over b's rows (NULL outside b->sel) and an error
 * is one an argument raised in a row it decides. */
int td__cond_eval_vec(const td_expr *e, const td_batch *b, struct td_vec *out, bool *done, td_error *err);
/* The row path of CASE, coalesce, ifnull (every type): *done false when e
 * is not one; else the conditions in order and then only the chosen
 * argument. */
int td__cond_eval_row(const td_expr *e, const td_value *row, td_value *out, bool *done, td_error *err);

/* eval.c's evaluator for eval_cond.c: a node over a batch into a vec, and
 * the rows of in[0..n) where a bool node is TRUE (out may not be in). */
int td__eval_vec(const td_expr *e, const td_batch *b, struct td_vec *out, td_error *err);
int td__eval_select(const td_expr *e, const td_batch *b, const uint32_t *in, int64_t n, uint32_t *out,
                    int64_t *n_out, td_error *err);

#endif
