/*
 * query/sql_from.h - planning FROM with table aliases and JOIN clauses
 * (query/sql_from.c), for the SQL planner (query/plan.c).
 */
#ifndef TD_QUERY_SQL_FROM_H
#define TD_QUERY_SQL_FROM_H

#include "query/sql.h"
#include "table/table.h"
#include "tabledata/query.h"

/* Builds the joins of `q` (q->n_joins > 0) over `first` (the table of its
 * first source, borrowed): resolves each joined source with opts' resolver
 * (once per source), builds the joins left to right, rewrites the
 * statement's qualified column names (t.col) into the joined table's names,
 * and binds WHERE against it into *filter (NULL when none).  *out receives
 * the joined table.  Errors: TD_EPARSE / TD_ETYPE with err->position (an
 * unsupported ON condition, an unknown alias or column), the resolver's,
 * td_make_table's and the joins' errors. */
int td__plan_from(td_select *q, td_query_options *opts, td_table *first, td_table **out, td_expr **filter,
                  td_error *err);
/* The AND of q's WHERE conjuncts that read only columns of its first
 * source (schema `def`), unbound, its names unqualified: what may filter the
 * first source before the joins.  NULL (TD_OK) when there is none or q has a
 * FULL join (whose unmatched rows a filter on either side would change).
 * TD_ENOMEM. */
int td__first_conjuncts(const td_select *q, const td_schema *def, td_expr **out, td_error *err);
/* How many join right sides planning cut by their first table's keys
 * (semi-join reduction, sql_from.c: reduce_join) so far (tests). */
int64_t td__join_reductions(void);
/* How many inner joins' right sides planning filtered by WHERE's conditions
 * on them alone (sql_from.c: filter_right) so far (tests). */
int64_t td__join_right_filters(void);

/* One source: rewrites alias.col and source.col into col.  TD_ENOMEM. */
int td__strip_alias(td_select *q, td_error *err);

/* Whether statement q may read a column named `col` of its FROM source: q
 * references it (as col or alias.col), or reads every column ('*', an
 * expression subquery), or its references could not be collected (no
 * memory).  Never false for a column q reads. */
bool td__select_reads(const td_select *q, const char *col);

#endif
