/*
 * formats/parquet/writer.h - the project's Parquet file writer.
 *
 * Writes flat Parquet files: row groups of a configured number of rows (or
 * one per written batch), one v1 data page per written slice of a column,
 * RLE / bit-packed hybrid definition levels for nullable columns, values
 * dictionary-encoded (RLE_DICTIONARY, PLAIN dictionary page) with a fallback
 * to PLAIN once the dictionary passes its byte limit or when the first page
 * repeats too little, uncompressed, snappy or zstd pages, column-chunk
 * statistics (min, max, null count) and type-defined column orders.  Every
 * tabledata type maps to a physical type plus a logical type: int8/int16
 * and uint8/uint16/uint32 as INT32 with INTEGER annotations, utf8 as
 * BYTE_ARRAY STRING, decimal128 as FIXED_LEN_BYTE_ARRAY(16) DECIMAL(p,s),
 * date32 as DATE, date64 as DATE (days, rounded down), timestamps as INT64
 * TIMESTAMP in their unit (seconds as MILLIS) adjusted to UTC when the
 * field has a time zone, times as TIME (time32 seconds as MILLIS).  Readable
 * by Apache Arrow, DuckDB, Polars and tabledata's own reader.  The file
 * descriptor stays owned by the caller.  After an error the writer can only
 * be aborted.
 */
#ifndef TD_FORMATS_PARQUET_WRITER_H
#define TD_FORMATS_PARQUET_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "arrow/schema.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"

typedef struct td_parquet_writer td_parquet_writer;

#define TD_PARQUET_ROW_GROUP_SIZE 122880 /* DuckDB's default */

typedef struct td_parquet_write_options {
  int codec;              /* PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY or PQ_CODEC_ZSTD */
  int zstd_level;         /* 3 by default */
  int64_t row_group_size; /* rows per row group; 0: one row group per write call */
  bool dictionary;        /* dictionary-encode columns other than bool */
  int64_t dict_limit;     /* dictionary bytes after which a chunk goes on PLAIN (1 MiB) */
} td_parquet_write_options;

/* Defaults: snappy, row groups of TD_PARQUET_ROW_GROUP_SIZE, dictionary on. */
void td_parquet_write_options_init(td_parquet_write_options *o);

/* Copies `schema` and writes the leading magic to `fd`.  Errors: TD_EINVAL
 * (an unknown codec, a negative row group size, a column of null type),
 * TD_EIO (write failed), TD_ENOMEM. */
int td_parquet_writer_open_with(int fd, const td_schema *schema, const td_parquet_write_options *opts,
                                td_parquet_writer **out, td_error *err);

/* td_parquet_writer_open_with with one row group per write call, no
 * dictionary, and snappy pages when `snappy` (else uncompressed).  Errors: TD_EIO (write
 * failed), TD_ENOMEM. */
int td_parquet_writer_open(int fd, const td_schema *schema, bool snappy, td_parquet_writer **out,
                           td_error *err);
/* Writes `batch` (a struct array "+s" with one child per schema field, of
 * the field's type; children may have offsets and validity bitmaps): its
 * rows join the open row group, which is written out each time it reaches
 * the row group size (at once with size 0).  The batch is borrowed.  Errors: TD_EINVAL (wrong number of
 * children or nulls in a non-nullable field), TD_EIO, TD_ENOMEM. */
int td_parquet_writer_write(td_parquet_writer *w, const struct ArrowArray *batch, td_error *err);
/* Writes the footer and frees the writer (NULL is fine); the writer is freed
 * even when the final write fails.  Errors: TD_EIO, TD_ENOMEM. */
int td_parquet_writer_close(td_parquet_writer *w, td_error *err);
/* Frees the writer without writing the footer (the file is left invalid). */
void td_parquet_writer_abort(td_parquet_writer *w);

#endif
