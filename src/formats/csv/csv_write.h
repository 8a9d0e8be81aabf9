/*
 * formats/csv/csv_write.h - writing Arrow batches as CSV (RFC 4180): one
 * piece of code for `tabledata query --format csv` (cli/printer.c) and
 * COPY ... TO 'x.csv' (query/copy.c).  Nulls are empty fields; an empty
 * string is "" so it reads back as a string, not a null; values print as
 * td_value_format prints them (timestamps ISO-8601 UTC).
 */
#ifndef TD_FORMATS_CSV_WRITE_H
#define TD_FORMATS_CSV_WRITE_H

#include <stdbool.h>
#include <stdio.h>

#include "tabledata.h"

/* One field: quoted (quotes doubled) when it holds a comma, a quote or a
 * line break, or when it is empty and `quote_empty`. */
void td_csv_put_field(FILE *out, const char *s, size_t n, bool quote_empty);
/* One value (nothing for a null). */
void td_csv_put_value(FILE *out, const td_value *v);
/* The header line: the schema's column names. */
void td_csv_put_header(FILE *out, const struct ArrowSchema *schema);
/* Rows [begin, end) of the struct batch, one line each.  Errors: those of
 * td_arrow_get_value (a malformed batch). */
int td_csv_put_rows(FILE *out, const struct ArrowSchema *schema, const struct ArrowArray *batch, int64_t begin,
                    int64_t end, td_error *err);

#endif
