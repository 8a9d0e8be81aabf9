/*
 * query/api.c - small public entry points built on the operators:
 * td_query_options_init and td_table_select_distinct (an agg_by with group
 * columns and no aggregates, so it is live and incremental like agg_by).
 */
#include <string.h>

#include "tabledata/query.h"
#include "util/error.h"

void td_query_options_init(td_query_options *opts) {
  if (opts) memset(opts, 0, sizeof *opts);
}

int td_table_select_distinct(td_table *source, const char *const *columns, int64_t n, td_table **out,
                             td_error *err) {
  *out = NULL;
  if (!source || !columns || n < 1)
    return td_err(err, TD_EINVAL, "select_distinct needs a table and at least one column (got %lld)",
                  (long long)n);
  return td_table_agg_by(source, NULL, 0, columns, n, out, err);
}
