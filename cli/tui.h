/*
 * cli/tui.h - the live terminal view of `tabledata follow` and `tabledata
 * demo --live`: a refreshing table redrawn in place, like top(1).
 *
 * The screen (the terminal's alternate screen, plain ANSI/VT100 escape
 * sequences) shows a header line with the column names, as many rows as
 * fit, and a footer: version, row count, the source's rows and rows per
 * second, the update thread's time for the last cycle, and the visible row
 * and column ranges.  Cells are cut to at most TD_TUI_CELL_MAX characters
 * (a cut cell ends in '~'); columns that do not fit are reached by
 * scrolling.  After an update cycle, the cells that changed (a new row: all
 * of it) show in reverse video until the next cycle.  Rows are in the
 * table's order (a query's ORDER BY, LIMIT).
 *
 * Keys: q (or Ctrl-C) quits; <- / -> or h / l scroll a column; up / down or
 * k / j a row; PgUp / PgDn a page; g / Home the top; G / End the bottom, and
 * stay there as rows arrive.  The terminal (raw mode, alternate screen,
 * cursor) is restored on exit, on SIGINT / SIGTERM / SIGHUP / SIGQUIT, and
 * on Ctrl-Z (and set up again on resume).
 */
#ifndef TD_CLI_TUI_H
#define TD_CLI_TUI_H

#include <stdbool.h>

#include "tabledata.h"

#define TD_TUI_CELL_MAX 30

/* True when standard input and output are both terminals (and TERM is not
 * "dumb"): the live view can run. */
bool td_tui_available(void);

/* Shows `view` (a refreshing table) until q, a terminating signal, or
 * `duration` seconds (0: no limit).  `source` (may be NULL: `view`) is the
 * table whose growth gives rows per second; `svc` (may be NULL) gives the
 * update thread's time per cycle.  `title` names what is shown (the query).
 * Returns TD_OK, or an error (terminal set-up, a failed read: err). */
int td_tui_run(td_table *view, td_table *source, td_service *svc, const char *title, double duration,
               td_error *err);

#endif
