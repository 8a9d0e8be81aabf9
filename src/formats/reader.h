/*
 * formats/reader.h - the common interface of the file format readers.
 *
 * One td_file_reader is one open data file (Parquet, Arrow IPC file or
 * stream, CSV).  The file backend maps a location's column_values requests
 * onto read_column calls, so a reader must:
 *   - read only the byte ranges that cover the requested rows (td_io_read);
 *   - be safe for concurrent read_column calls from several threads
 *     (lazily filled caches take the reader's own lock);
 *   - reject malformed input with TD_EFORMAT (or TD_EUNSUPPORTED for valid
 *     but unsupported features), naming the file and what was wrong, never
 *     reading out of bounds, and never allocating more than the file can
 *     justify (sizes from headers are checked against the file size and
 *     against sane limits before allocating).
 * `schema` lists the readable columns in file order; columns of types the
 * engine cannot carry are listed in `unsupported` with a reason instead.
 */
#ifndef TD_FORMATS_READER_H
#define TD_FORMATS_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "arrow/schema.h"
#include "formats/io.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"
#include "tabledata/types.h"

typedef struct td_file_reader td_file_reader;

typedef struct td_unsupported_column {
  char *name;
  char *reason; /* e.g. "nested type list<int32> is not supported" */
} td_unsupported_column;

/* Min/max statistics of one chunk of rows (a Parquet row group).  String
 * min/max bytes are owned by the reader and live until it is closed. */
typedef struct td_chunk_stats {
  int64_t row_begin;
  int64_t row_count;
  bool has_min_max;
  td_value min, max;
  int64_t null_count; /* -1 when unknown */
  /* A float column's min/max leave NaN out (NaN sorts greatest, so max is
   * no bound of the order): true when the rows are known to hold no NaN
   * (a nan_count of 0, or a writer that omits float bounds whenever a NaN
   * is present), and max then bounds every value.  False for other types. */
  bool no_nan;
} td_chunk_stats;

typedef struct td_reader_vtable {
  const char *format_name; /* "parquet", "arrow-file", "arrow-stream", "csv" */
  /* Rows [offset, offset + n) of schema column `col` as an array of that
   * column's type; `out` is owned by the caller.  Requires
   * 0 <= offset, offset + n <= num_rows. */
  int (*read_column)(td_file_reader *r, int64_t col, int64_t offset, int64_t n,
                     struct ArrowArray *out, td_error *err);
  /* Re-examines a file that may have grown (Arrow IPC stream, CSV) and
   * updates num_rows to count only complete record batches or lines.  A file
   * that shrank or was replaced is TD_EFORMAT.  NULL for formats that cannot
   * grow (Parquet, Arrow IPC file). */
  int (*refresh)(td_file_reader *r, td_error *err);
  /* Per-chunk statistics of column `col`, or NULL (and *n = 0) if none.
   * Borrowed; valid until close.  May be NULL. */
  const td_chunk_stats *(*column_stats)(td_file_reader *r, int64_t col, int64_t *n);
  void (*close)(td_file_reader *r); /* frees everything, including r */
  /* As read_column, but a utf8 column may come back as a dictionary array
   * (int32 codes, its dictionary made by td_dict_export: arrow/dict.h).
   * May be NULL (then read_column serves). */
  int (*read_column_codes)(td_file_reader *r, int64_t col, int64_t offset, int64_t n,
                           struct ArrowArray *out, td_error *err);
} td_reader_vtable;

struct td_file_reader {
  const td_reader_vtable *vt;
  td_schema schema;
  int64_t n_unsupported;
  td_unsupported_column *unsupported;
  int64_t num_rows;
  td_io io;
};

/* Convenience wrappers (NULL-safe close). */
static inline int td_reader_read(td_file_reader *r, int64_t col, int64_t offset, int64_t n,
                                 struct ArrowArray *out, td_error *err) {
  return r->vt->read_column(r, col, offset, n, out, err);
}
static inline int td_reader_read_codes(td_file_reader *r, int64_t col, int64_t offset, int64_t n,
                                       struct ArrowArray *out, td_error *err) {
  return (r->vt->read_column_codes ? r->vt->read_column_codes : r->vt->read_column)(r, col, offset, n, out, err);
}
static inline void td_reader_close(td_file_reader *r) {
  if (r) r->vt->close(r);
}

/* Helpers shared by the readers (formats/reader.c). */
int td_reader_add_unsupported(td_file_reader *r, const char *name, const char *reason,
                              td_error *err);
/* Frees schema, unsupported list and io (not r itself). */
void td_reader_base_release(td_file_reader *r);
/* True when [s, s+n) is valid UTF-8 (no overlong forms, surrogates or code
 * points above U+10FFFF; NUL is valid).  Every reader that produces utf8
 * values checks them with it and fails naming the file, column and row. */
bool td_utf8_valid(const char *s, int64_t n);
/* True when every byte of [s, s+n) is ASCII (below 0x80), checked eight
 * bytes at a time: then every string inside the span is valid UTF-8, and a
 * reader validates a page's strings with one call instead of one a row. */
bool td_ascii_only(const char *s, int64_t n);

/* Constructors, one per format.  Each opens `path`, reads only the metadata
 * it needs (Parquet footer, IPC schema and block index, CSV header and a
 * sample), and fails with an error naming the file. */
typedef struct td_csv_options {
  const td_schema *schema; /* declared schema, or NULL to infer */
  char delimiter;          /* 0: ',' */
  int64_t sample_rows;     /* rows used for inference; 0: 1000; -1: all */
  char quote;              /* 0: '"' */
  const char *null_str;    /* an unquoted field equal to it is null (besides empty); NULL: none */
  /* The file is finished: a last line without a newline is a record (and a
   * header).  Otherwise (a file that may still be written) it counts only
   * once its newline comes.  Either way, a refresh that finds the file grown
   * after a last line counted without its newline wants the new bytes to
   * start with that newline (else "the last line ... was extended"). */
  bool complete;
} td_csv_options;

int td_parquet_open(const char *path, td_file_reader **out, td_error *err);
int td_ipc_open(const char *path, td_file_reader **out, td_error *err); /* file or stream */
/* The same over `n` bytes in memory (borrowed: they must outlive the
 * reader); `name` names them in messages.  Refresh must not be called. */
int td_ipc_open_mem(const void *data, int64_t n, const char *name, td_file_reader **out, td_error *err);
int td_csv_open(const char *path, const td_csv_options *opts, td_file_reader **out,
                td_error *err);

/* Whether the switch `name` (an environment variable, read once into
 * *cache, which starts at -1) is on: anything but "0" or unset is on.  The
 * readers' measuring switches (TD_PARQUET_DICT_CODES, TD_IPC_DICT_CODES). */
bool td_reader_switch_on(const char *name, _Atomic int *cache);

#endif
