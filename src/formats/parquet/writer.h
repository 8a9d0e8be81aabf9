/*
 * formats/parquet/writer.h - a small Parquet file writer.
 *
 * Writes flat Parquet files: one row group per written batch, one data page
 * (v1, PLAIN encoding) per column chunk, definition levels for nullable
 * columns, uncompressed or snappy pages, column-chunk statistics (min, max,
 * null count) and type-defined column orders.  Every tabledata type maps to
 * a physical type plus a logical type (int8/int16 and uint16 as INT32 with
 * INTEGER annotations, utf8 as BYTE_ARRAY STRING, timestamps as INT64
 * TIMESTAMP(NANOS) adjusted to UTC when the field has a time zone).
 * Readable by Apache Arrow, DuckDB and tabledata's own reader.  The file
 * descriptor stays owned by the caller.
 */
#ifndef TD_FORMATS_PARQUET_WRITER_H
#define TD_FORMATS_PARQUET_WRITER_H

#include <stdbool.h>

#include "arrow/schema.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"

typedef struct td_parquet_writer td_parquet_writer;

/* Copies `schema` and writes the leading magic to `fd`.  `snappy` selects
 * snappy-compressed pages (else uncompressed).  Errors: TD_EIO (write
 * failed), TD_ENOMEM. */
int td_parquet_writer_open(int fd, const td_schema *schema, bool snappy, td_parquet_writer **out,
                           td_error *err);
/* Writes `batch` (a struct array "+s" with one child per schema field, of
 * the field's type; children may have offsets and validity bitmaps) as one
 * row group.  The batch is borrowed.  Errors: TD_EINVAL (wrong number of
 * children or nulls in a non-nullable field), TD_EIO, TD_ENOMEM. */
int td_parquet_writer_write(td_parquet_writer *w, const struct ArrowArray *batch, td_error *err);
/* Writes the footer and frees the writer (NULL is fine); the writer is freed
 * even when the final write fails.  Errors: TD_EIO, TD_ENOMEM. */
int td_parquet_writer_close(td_parquet_writer *w, td_error *err);
/* Frees the writer without writing the footer (the file is left invalid). */
void td_parquet_writer_abort(td_parquet_writer *w);

#endif
