/*
 * query/stmts.h - results of the exploring statements (DESCRIBE, SUMMARIZE,
 * EXPLAIN): small static tables built from rows of values.
 */
#ifndef TD_QUERY_STMTS_H
#define TD_QUERY_STMTS_H

#include "tabledata.h"

/* A static table of n_cols columns from filled builders (taken: freed even
 * on failure; all of one length), served by a private memory backend.
 * Errors: TD_EINVAL (lengths differ), TD_ENOMEM. */
int td__rows_table(int64_t n_cols, const char *const *names, const td_type_id *types, td_builder **cols,
                   td_table **out, td_error *err);
/* One row per column of t: column_name, column_type (as `tabledata schema`
 * prints it), is_partition.  Reads no data. */
int td__describe(td_table *t, td_table **out, td_error *err);
/* One row per column of t: column_name, column_type, min, max (as text),
 * null_count, approx_unique (exact: the count of distinct non-null
 * values), count.  One aggregation over every column, plus one distinct
 * pass per column. */
int td__summarize(td_table *t, td_table **out, td_error *err);

#endif
