/*
 * formats/csv/csv_split.h - splitting CSV bytes into records and fields.
 *
 * csv_split() looks at one record at the start of an in-memory buffer and
 * reports where it ends, how many fields it has and (optionally) where some
 * of its fields are.  It is stateless: when the buffer ends before the record
 * does it says CSV_NEED_MORE and the caller refills and calls again from the
 * same place.  The same function serves the header, the row index scan, the
 * inference sample and the column reads, so every path applies one set of
 * RFC 4180 rules: fields separated by the delimiter, records ended by LF,
 * CRLF or a lone CR (as DuckDB and pyarrow), quoted fields may hold delimiters, newlines and doubled quotes, a
 * quote inside an unquoted field or after a closing quote is an error.
 * Blank lines (LF, CRLF or CR alone) between records are skipped.
 */
#ifndef TD_FORMATS_CSV_SPLIT_H
#define TD_FORMATS_CSV_SPLIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct csv_dialect {
  char delim;
  char quote;           /* '"' unless told otherwise */
  uint8_t special[256]; /* 1 for the delimiter, the quote, '\n' and '\r' */
} csv_dialect;

void csv_dialect_init(csv_dialect *d, char delim, char quote);

typedef struct csv_field {
  const char *ptr; /* inside the quotes for a quoted field */
  int64_t len;
  bool quoted;
  bool escaped; /* holds doubled quotes: unescape before use */
} csv_field;

typedef enum csv_status {
  CSV_REC,          /* one complete record */
  CSV_NEED_MORE,    /* the buffer ends inside the record (not at_eof) */
  CSV_END,          /* nothing but blank lines up to the end (at_eof) */
  CSV_PARTIAL,      /* at_eof: the last record has no terminating newline */
  CSV_UNTERMINATED, /* at_eof: a quoted field is still open */
  CSV_BAD           /* a quote where none may be */
} csv_status;

typedef struct csv_rec {
  const char *start;     /* first byte of the record (after blank lines) */
  const char *end;       /* byte after its newline (CSV_REC) */
  int64_t nfields;       /* CSV_REC */
  int64_t skipped_lines; /* blank lines skipped before the record */
  int64_t lines;         /* newlines inside the record, its terminator included */
  /* CSV_BAD and CSV_UNTERMINATED: where (field 0-based, newlines since the
   * record start) and what. */
  int64_t bad_field;
  int64_t bad_line;
  const char *bad_what;
} csv_rec;

/* What the end of the bytes given to csv_split is. */
typedef enum csv_eof {
  CSV_MORE = 0,    /* more bytes may follow: a record cut by the end is CSV_NEED_MORE */
  CSV_EOF = 1,     /* the end of the data: a record cut by it is CSV_PARTIAL */
  CSV_EOF_ENDS = 2 /* the end of a finished file: it also ends the last record (CSV_REC,
                    * whose end is `end`), as a newline would */
} csv_eof;

/* Splits the record at p (blank lines first skipped).  Fields with index in
 * [lo, lo + cap) are stored in out[index - lo]; pass cap = 0 to only find
 * the end.  `eof` says what `end` is. */
csv_status csv_split(const csv_dialect *d, const char *p, const char *end, csv_eof eof,
                     int64_t lo, int64_t cap, csv_field *out, csv_rec *rec);

/* Copies a quoted field's text with doubled quotes undone; returns the new
 * length (<= f->len).  dst must hold f->len bytes. */
int64_t csv_unescape(const csv_field *f, char quote, char *dst);

#endif
