/*
 * cli/printer.h - writing result batches as text: an aligned grid, CSV
 * (RFC 4180) or JSON lines.  Timestamps print as ISO-8601 UTC with
 * nanoseconds in every format; nulls print as "null" (grid), an empty field
 * (CSV) or null (JSON).
 *
 * The grid collects the first rows (up to TD_GRID_SAMPLE) to size its
 * columns, then streams the rest with those widths (longer cells widen their
 * row only); CSV and JSON lines stream every batch as it comes.
 */
#ifndef TD_CLI_PRINTER_H
#define TD_CLI_PRINTER_H

#include <stdio.h>

#include "grid.h"
#include "tabledata.h"

#define TD_GRID_SAMPLE 1000

typedef enum td_format { TD_FORMAT_GRID, TD_FORMAT_CSV, TD_FORMAT_JSONL } td_format;

typedef struct td_printer {
  td_format format;
  FILE *out;
  struct ArrowSchema schema; /* owned copy */
  td_grid grid;              /* grid: rows not printed yet */
  size_t *widths;            /* grid: fixed once the header is printed */
  bool header_done;
  int64_t rows;
  /* csv and jsonl with td_printer_init_ops: each row starts with an
   * operation and a version (`follow` for programs, cli/changes.c). */
  bool with_ops;
  const char *op;
  int64_t version;
} td_printer;

/* Parses "grid", "csv", "jsonl"; false otherwise. */
bool td_format_parse(const char *s, td_format *out);
/* Takes (moves) `schema`. */
int td_printer_init(td_printer *p, td_format format, FILE *out, struct ArrowSchema *schema, td_error *err);
/* Like td_printer_init (csv or jsonl) but every row begins with p->op and
 * p->version: a leading "op" and "version" member (jsonl), or columns (csv,
 * header op,version,<columns>). */
int td_printer_init_ops(td_printer *p, td_format format, FILE *out, struct ArrowSchema *schema, td_error *err);
/* Rows [begin, end) of a struct batch. */
int td_printer_rows(td_printer *p, const struct ArrowArray *batch, int64_t begin, int64_t end, td_error *err);
/* Prints what is still held (the grid's sample). */
void td_printer_flush(td_printer *p);
void td_printer_reset(td_printer *p);

#endif
