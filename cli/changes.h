/*
 * cli/changes.h - `tabledata follow` for programs: what each update cycle
 * changes in a live query's result, as operations.
 *
 * Every record is one row of the result with an operation and the version
 * of the result it leads to:
 *   add     a new row (version 0: the initial result, all adds)
 *   update  an aggregation group's new values; it replaces the row with the
 *           same values in the group columns (the GROUP BY expressions that
 *           are in the select list; no GROUP BY: the only row)
 *   remove  a row that left the result (ORDER BY ... LIMIT, top-N groups,
 *           rows of a removed location); carries the row's last values
 * Plain selects only add, unless the source removes locations
 * (TD_UPDATE_ADD_REMOVE: a deleted file or partition directory, a dropped
 * PostgreSQL partition): then every result is compared with the previous
 * version, as recomputed results are.  Aggregations add new groups and update changed
 * ones.  Results that are recomputed (ORDER BY, LIMIT) are compared with the
 * previous version, by group columns for aggregations, else by whole rows
 * (a multiset): a row that changes is then a remove and an add.  Applying
 * the records in order to an empty result gives the current result (as a
 * multiset; the order of rows is the query's, not the records').
 *
 * Formats: jsonl (one object per record: "op", "version", then the
 * columns), csv (header op,version,<columns>; no other lines) and arrow (an
 * Arrow IPC stream with columns op (utf8), version (int64), then the
 * result's columns; one record batch per cycle with the cycle's records).
 */
#ifndef TD_CLI_CHANGES_H
#define TD_CLI_CHANGES_H

#include "tabledata.h"

typedef struct td_changes td_changes;

typedef enum td_changes_format { TD_CHANGES_JSONL, TD_CHANGES_CSV, TD_CHANGES_ARROW } td_changes_format;

/* Starts writing the changes of `result` (the live table of query `sql`) to
 * descriptor `fd`, and writes version 0 (the current rows, as adds).  *out
 * is the caller's (td_changes_close).  Errors: TD_ENOMEM, TD_EIO, those of
 * reading the result. */
int td_changes_open(td_table *result, const char *sql, td_changes_format format, int fd, td_changes **out,
                    td_error *err);
/* A td_table_listener (ctx: the td_changes) that writes one cycle. */
void td_changes_on_cycle(void *ctx, td_table *t, const td_table_update *u, const td_error *e);
/* Ends the output (arrow: the end-of-stream marker) and frees `c` (NULL is
 * fine).  Returns the first error met while writing, if any (in err). */
int td_changes_close(td_changes *c, td_error *err);

#endif
