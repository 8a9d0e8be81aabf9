/*
 * query/grouping.h - internal: GROUP BY ROLLUP / CUBE / GROUPING SETS
 * (query/grouping.c): parsed into grouping sets, then rewritten as a UNION
 * ALL of one grouped SELECT per set.
 */
#ifndef TD_QUERY_GROUPING_H
#define TD_QUERY_GROUPING_H

#include "query/lex.h"
#include "query/sql.h"

typedef struct td_gsets td_gsets;

/* Whether the current token starts ROLLUP, CUBE or GROUPING SETS. */
bool td__at_grouping_sets(const td_parser *p);
/* The rest of a GROUP BY list that holds ROLLUP, CUBE or GROUPING SETS
 * (plain keys parsed before it are taken from s->group_by) into s->gsets:
 * the cross product of its elements' sets. */
int td__parse_grouping_sets(td_parser *p, td_select *s);
/* After s's clauses are parsed: s (with s->gsets) becomes SELECT * FROM
 * (one SELECT per grouping set, UNION ALL) with s's ORDER BY and LIMIT.
 * Errors: TD_EPARSE for what the rewrite cannot take (a JOIN or FROM
 * subquery source, DISTINCT, QUALIFY, SELECT *), naming it. */
int td__expand_grouping_sets(td_parser *p, td_select *s);
void td__gsets_free(td_gsets *g);

#endif
