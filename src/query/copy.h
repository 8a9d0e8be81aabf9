/*
 * query/copy.h - COPY (SELECT ...) TO 'path' [(options)] and COPY source TO
 * 'path': runs the query as a stream and writes its rows as Parquet (the
 * project's writer), CSV or Arrow IPC, optionally hive-partitioned.
 */
#ifndef TD_QUERY_COPY_H
#define TD_QUERY_COPY_H

#include <stdbool.h>

#include "tabledata.h"

/* Whether the statement starts with the keyword COPY. */
bool td__is_copy(const char *sql);
/* Runs a COPY statement; *out is a one-row table with column "Count" (the
 * rows written).  Errors: TD_EPARSE (with err->position), TD_EUNSUPPORTED
 * (opts->read_only, an unknown option), TD_EINVAL (the target exists and no
 * OVERWRITE was given, a bad option value), TD_ETYPE (an unknown
 * PARTITION_BY column), TD_EIO, and those of the query. */
int td__copy(const char *sql, td_query_options *opts, td_table **out, td_error *err);

#endif
