/*
 * query/prune.h - skipping data a filter rejects, from metadata alone.
 *
 * The conjuncts of a bound filter that compare a data column with a constant
 * (`col OP c`, `c OP col`, `col BETWEEN a AND b`, `col IN (a, b, ...)`)
 * become range terms.  Before a scan fetches a page
 * of a location, each term asks the backend's optional column_range method
 * for the min and max of those rows; when some term cannot hold for any
 * value in [min, max], the rows are skipped unread (nulls never pass a
 * comparison, so they cannot be lost).
 */
#ifndef TD_QUERY_PRUNE_H
#define TD_QUERY_PRUNE_H

#include "query/expr.h"
#include "table/table.h"

typedef struct td_range_term {
  int64_t column;
  td_op op; /* as "column op value" */
  td_value value;
  const td_expr *in; /* instead: "column IN (in->args[1..])", literals (borrowed) */
  const td_value **items; /* in's non-null items in order (owned array): a search a range */
  int64_t n_items;
} td_range_term;

typedef struct td_range_filter {
  td_table *source; /* borrowed */
  td_range_term *terms;
  int64_t n;
} td_range_filter;

/* Collects the terms of `filter` (bound over `source`, may be NULL); an
 * empty filter when the source is not a source table or its backend has no
 * column_range.  Literal strings are borrowed from `filter`. */
int td_range_filter_init(td_range_filter *rf, const td_expr *filter, td_table *source, td_error *err);
void td_range_filter_reset(td_range_filter *rf);
/* Sets the scan's skip hook when there are terms. */
void td_range_filter_attach(td_range_filter *rf, td_scan *sc);

#endif
