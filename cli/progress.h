/*
 * cli/progress.h - the progress line of `tabledata query`: once a query has
 * run for a second, a line on stderr (only when stderr is a terminal) shows
 * the percentage of source rows done (scanned, or skipped unread thanks to
 * statistics), the rows done of the total, and the rate, refreshed four times a second from a thread of its own, until
 * the query ends.  It works the same for streamed results, sorts and
 * aggregations (which scan everything before their first row).
 */
#ifndef TD_CLI_PROGRESS_H
#define TD_CLI_PROGRESS_H

#include <stdint.h>

#include "tabledata.h"

typedef struct td_progress td_progress;

/* Starts the progress thread; NULL (and nothing shown) when stderr is not a
 * terminal or the thread cannot start.  `total` is read atomically: the
 * query planner publishes the source's row count there (td_query_options'
 * source_rows) before it reads any row. */
td_progress *td_progress_start(const int64_t *total);
/* The service whose counters measure the scan (the query's source); NULL-safe.
 * Takes a reference. */
void td_progress_set_service(td_progress *p, td_service *svc);
/* Stops showing the line (clears it), e.g. before rows go to a terminal. */
void td_progress_quiet(td_progress *p);
/* Stops the thread, clears the line, frees everything; NULL-safe. */
void td_progress_stop(td_progress *p);

#endif
