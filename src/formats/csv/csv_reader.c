/*
 * formats/csv/csv_reader.c - td_csv_open: the CSV implementation of
 * td_file_reader.
 *
 * Open reads the header, then scans the rest of the file once in large
 * positioned chunks (csv_split on each record: quote state, field counts,
 * newlines), remembering the byte offset and line number of every
 * CSV_INDEX_STRIDE-th record.  When no schema is declared the first
 * sample_rows records are also fed to the type inference during that scan.
 * read_column seeks to the nearest index mark, skips records up to the
 * requested offset and parses only the requested column of the requested
 * rows.  refresh continues the scan from the end of the last complete record.
 * docs/CSV.md states the rules.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arrow/array.h"
#include "formats/csv/csv_split.h"
#include "formats/csv/csv_values.h"
#include "formats/reader.h"
#include "keys/keys.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

#define CSV_INDEX_STRIDE 1024
#define CSV_SCAN_CHUNK ((int64_t)1 << 20)
#define CSV_MIN_READ ((int64_t)16 << 10)
#define CSV_DEFAULT_SAMPLE 1000

/* A record start: byte offset and the number of newlines before it. */
typedef struct csv_mark {
  int64_t offset;
  int64_t line;
} csv_mark;

typedef struct csv_reader {
  td_file_reader base;
  csv_dialect dialect;
  int64_t ncols;
  bool inferred;       /* the schema came from the sample */
  char *null_str;      /* an unquoted field equal to it is null; NULL: none */
  int64_t null_len;
  int64_t sample_rows; /* rows the inference looked at */
  uint64_t inode;
  int64_t header_end;
  int64_t header_line;    /* newlines before header_end */
  int64_t header_line_no; /* line number of the header (1 unless blank lines precede it) */
  pthread_mutex_t lock; /* guards index, num_rows, data_end, data_line, seen_size */
  pthread_mutex_t refresh_lock;
  csv_mark *index; /* index[k]: start of record k * CSV_INDEX_STRIDE */
  int64_t n_index, cap_index;
  int64_t data_end;  /* byte after the last complete record */
  int64_t data_line; /* newlines before data_end */
  int64_t seen_size; /* file size at the last scan */
  bool open_tail;    /* the last record (or the header) before data_end has no newline */
} csv_reader;

/* ---- buffered positioned reading ---------------------------------------- */

typedef struct csv_buf {
  td_io *io;
  char *data;
  int64_t cap, len, pos; /* data[pos, len) not yet consumed */
  int64_t file_off;      /* file offset of data[0] */
  int64_t limit;         /* nothing at or beyond this offset is read */
  bool eof;              /* data ends at limit */
  bool ends;             /* limit is the end of a finished file: it ends the last record */
} csv_buf;

static void buf_init(csv_buf *b, td_io *io, int64_t from, int64_t limit) {
  memset(b, 0, sizeof *b);
  b->io = io;
  b->file_off = from;
  b->limit = limit;
  b->eof = from >= limit;
}

/* (No arithmetic on a NULL buffer: it stays NULL, with pos and len 0.) */
static const char *buf_cur(const csv_buf *b) { return b->data ? b->data + b->pos : b->data; }
static const char *buf_end(const csv_buf *b) { return b->data ? b->data + b->len : b->data; }

/* Keeps the unconsumed bytes and appends up to `chunk` more. */
static int buf_fill(csv_buf *b, int64_t chunk, td_error *err) {
  if (b->pos) {
    memmove(b->data, b->data + b->pos, (size_t)(b->len - b->pos));
    b->file_off += b->pos;
    b->len -= b->pos;
    b->pos = 0;
  }
  int64_t remain = b->limit - (b->file_off + b->len);
  int64_t want = remain < chunk ? remain : chunk;
  if (want <= 0) {
    b->eof = true;
    return TD_OK;
  }
  if (b->len + want > b->cap) {
    int64_t cap = b->cap + b->cap / 2;
    if (cap < b->len + want) cap = b->len + want;
    if (cap > b->len + remain) cap = b->len + remain;
    char *d = td_realloc(b->data, (size_t)cap);
    if (!d) return td_err_nomem(err, "growing the CSV read buffer");
    b->data = d;
    b->cap = cap;
  }
  int64_t got;
  int rc = td_io_read_some(b->io, b->data + b->len, want, b->file_off + b->len, &got, err);
  if (rc) return rc;
  b->len += got;
  if (got < want) b->limit = b->file_off + b->len; /* the file shrank */
  b->eof = b->file_off + b->len >= b->limit;
  return TD_OK;
}

static void buf_free(csv_buf *b) {
  td_free(b->data);
  b->data = NULL;
}

/* Splits the next record, refilling the buffer as needed. */
static int buf_split(csv_buf *b, const csv_dialect *d, int64_t chunk, int64_t lo, int64_t cap,
                     csv_field *out, csv_rec *rec, csv_status *st, td_error *err) {
  for (;;) {
    *st = csv_split(d, buf_cur(b), buf_end(b), b->eof ? (b->ends ? CSV_EOF_ENDS : CSV_EOF) : CSV_MORE, lo,
                    cap, out, rec);
    if (*st != CSV_NEED_MORE) return TD_OK;
    /* The record goes on past the buffer and is split again from its start:
     * ask for as much again as the buffer holds, so that a long record
     * costs O(its length) in all (not O(length^2 / chunk)). */
    int64_t held = b->len - b->pos;
    int rc = buf_fill(b, held > chunk ? held : chunk, err);
    if (rc) return rc;
  }
}

/* ---- error messages ------------------------------------------------------ */

/* "line L, column C ('name')" for column index col (-1: no column). */
static const char *where(const csv_reader *r, int64_t line, int64_t col, char *buf, size_t size) {
  if (col < 0)
    snprintf(buf, size, "line %lld", (long long)line);
  else if (col < r->base.schema.n_fields)
    snprintf(buf, size, "line %lld, column %lld ('%s')", (long long)line, (long long)col + 1,
             r->base.schema.fields[col].name);
  else
    snprintf(buf, size, "line %lld, column %lld", (long long)line, (long long)col + 1);
  return buf;
}

/* The error for a record csv_split could not accept (CSV_BAD,
 * CSV_UNTERMINATED) whose first line is `line`. */
static int split_error(const csv_reader *r, const csv_rec *rec, int64_t line, td_error *err) {
  char w[256];
  where(r, line + rec->bad_line, rec->bad_field, w, sizeof w);
  if (rec->bad_line)
    return td_err(err, TD_EFORMAT, "'%s': %s: %s (in the record that starts at line %lld)",
                  r->base.io.path, w, rec->bad_what, (long long)line);
  return td_err(err, TD_EFORMAT, "'%s': %s: %s", r->base.io.path, w, rec->bad_what);
}

static int count_error(const csv_reader *r, int64_t line, int64_t found, td_error *err) {
  return td_err(err, TD_EFORMAT, "'%s': line %lld: expected %lld fields (as in the header), found %lld",
                r->base.io.path, (long long)line, (long long)r->ncols, (long long)found);
}

/* ---- the row index scan -------------------------------------------------- */

typedef struct csv_scan {
  int64_t rows;  /* complete records so far */
  int64_t end;   /* byte after the last complete record */
  int64_t line;  /* newlines before `end` */
  csv_mark *marks; /* new index marks */
  int64_t n_marks, cap_marks;
  bool open_tail;   /* the record (or header) before `end` has no newline */
  csv_status tail;  /* CSV_END, CSV_PARTIAL or CSV_UNTERMINATED */
  csv_rec tail_rec; /* for CSV_UNTERMINATED */
} csv_scan;

static int push_mark(csv_scan *s, td_error *err) {
  if (s->n_marks == s->cap_marks) {
    int64_t cap = s->cap_marks ? s->cap_marks * 2 : 16;
    csv_mark *m = td_realloc(s->marks, (size_t)cap * sizeof *m);
    if (!m) return td_err_nomem(err, "growing the CSV row index");
    s->marks = m;
    s->cap_marks = cap;
  }
  s->marks[s->n_marks].offset = s->end;
  s->marks[s->n_marks].line = s->line;
  s->n_marks++;
  return TD_OK;
}

/* True when the field is the null string (unquoted). */
static bool is_null_str(const csv_reader *r, const csv_field *f) {
  return r->null_str && !f->quoted && f->len == r->null_len && memcmp(f->ptr, r->null_str, (size_t)f->len) == 0;
}

static void sample_record(const csv_reader *r, csv_infer *inf, const csv_field *fields, int64_t n) {
  for (int64_t c = 0; c < n; c++)
    if (fields[c].len && !is_null_str(r, &fields[c])) csv_infer_add(&inf[c], fields[c].ptr, fields[c].len);
}

/* Whether a complete record ends with its newline (not with a finished
 * file's end). */
static bool ends_line(const csv_rec *rec) { return rec->end[-1] == '\n' || rec->end[-1] == '\r'; }

/* Scans records from b (positioned at s->end) to its limit.  With `inf`,
 * records before sample_rows are split in full (into `fields`) and sampled. */
static int scan_records(csv_reader *r, csv_buf *b, csv_scan *s, csv_infer *inf, csv_field *fields,
                        td_error *err) {
  for (;;) {
    bool sampling = inf && s->rows < r->sample_rows;
    csv_rec rec;
    csv_status st;
    int rc = buf_split(b, &r->dialect, CSV_SCAN_CHUNK, 0, sampling ? r->ncols : 0, fields, &rec,
                       &st, err);
    if (rc) return rc;
    int64_t line = s->line + rec.skipped_lines + 1;
    if (st == CSV_BAD) return split_error(r, &rec, line, err);
    if (st != CSV_REC) {
      s->tail = st;
      s->tail_rec = rec;
      return TD_OK;
    }
    if (rec.nfields != r->ncols) return count_error(r, line, rec.nfields, err);
    if (s->rows % CSV_INDEX_STRIDE == 0 && (rc = push_mark(s, err))) return rc;
    if (sampling) sample_record(r, inf, fields, r->ncols);
    int64_t used = rec.end - buf_cur(b);
    b->pos += used;
    s->end += used;
    s->line += rec.skipped_lines + rec.lines;
    s->rows++;
    s->open_tail = !ends_line(&rec);
  }
}

/* Adds the marks of a finished scan to the index and publishes its counts. */
static int commit_scan(csv_reader *r, csv_scan *s, int64_t size, td_error *err) {
  pthread_mutex_lock(&r->lock);
  if (r->n_index + s->n_marks > r->cap_index) {
    int64_t cap = r->cap_index ? r->cap_index : 16;
    while (cap < r->n_index + s->n_marks) cap *= 2;
    csv_mark *m = td_realloc(r->index, (size_t)cap * sizeof *m);
    if (!m) {
      pthread_mutex_unlock(&r->lock);
      return td_err_nomem(err, "growing the CSV row index");
    }
    r->index = m;
    r->cap_index = cap;
  }
  if (s->n_marks) memcpy(r->index + r->n_index, s->marks, (size_t)s->n_marks * sizeof *s->marks);
  r->n_index += s->n_marks;
  r->base.num_rows = s->rows;
  r->data_end = s->end;
  r->data_line = s->line;
  r->seen_size = size;
  r->open_tail = s->open_tail;
  pthread_mutex_unlock(&r->lock);
  return TD_OK;
}

/* ---- the header ---------------------------------------------------------- */

typedef struct named {
  const char *name;
  int64_t col;
} named;

static int named_cmp(const void *a, const void *b) {
  const named *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c) return c;
  return (x->col > y->col) - (x->col < y->col);
}

static void free_names(char **names, int64_t n) {
  if (!names) return;
  for (int64_t i = 0; i < n; i++) td_free(names[i]);
  td_free(names);
}

/* Rejects empty and repeated column names. */
static int check_names(const csv_reader *r, char **names, int64_t n, td_error *err) {
  for (int64_t i = 0; i < n; i++) {
    if (!names[i][0])
      return td_err(err, TD_EFORMAT, "'%s': line %lld, column %lld of the header has an empty name",
                    r->base.io.path, (long long)r->header_line_no, (long long)i + 1);
  }
  named *sorted = td_malloc((size_t)n * sizeof *sorted);
  if (!sorted) return td_err_nomem(err, "checking CSV column names");
  for (int64_t i = 0; i < n; i++) sorted[i] = (named){names[i], i};
  qsort(sorted, (size_t)n, sizeof *sorted, named_cmp);
  /* Report the repeat with the lowest column number. */
  int64_t first = -1, second = INT64_MAX;
  for (int64_t i = 1; i < n; i++) {
    if (!strcmp(sorted[i - 1].name, sorted[i].name) && sorted[i].col < second) {
      second = sorted[i].col;
      first = sorted[i - 1].col;
    }
  }
  td_free(sorted);
  if (first < 0) return TD_OK;
  return td_err(err, TD_EFORMAT, "'%s': column %lld of the header repeats the name '%s' of column %lld",
                r->base.io.path, (long long)second + 1, names[second], (long long)first + 1);
}

/* Turns the header fields into owned, validated names. */
static int header_names(const csv_reader *r, const csv_field *f, int64_t n, char ***out,
                        td_error *err) {
  char **names = td_calloc((size_t)n, sizeof *names);
  if (!names) return td_err_nomem(err, "reading the CSV header");
  for (int64_t i = 0; i < n; i++) {
    names[i] = td_malloc((size_t)f[i].len + 1);
    if (!names[i]) {
      free_names(names, n);
      return td_err_nomem(err, "reading the CSV header");
    }
    int64_t len = csv_unescape(&f[i], r->dialect.quote, names[i]);
    names[i][len] = '\0';
    if (!td_utf8_valid(names[i], len) || (int64_t)strlen(names[i]) != len) {
      free_names(names, n);
      return td_err(err, TD_EFORMAT, "'%s': line %lld, column %lld of the header is not valid UTF-8 text (or holds a NUL byte)",
                    r->base.io.path, (long long)r->header_line_no, (long long)i + 1);
    }
  }
  int rc = check_names(r, names, n, err);
  if (rc) {
    free_names(names, n);
    return rc;
  }
  *out = names;
  return TD_OK;
}

/* Reads the header record from b (at the file start); on success b is just
 * past it, *fields holds room for every column and *names the names. */
static int read_header(csv_reader *r, csv_buf *b, csv_scan *s, csv_field **fields, char ***names,
                       td_error *err) {
  int64_t cap = 64;
  for (;;) {
    csv_field *f = td_realloc(*fields, (size_t)cap * sizeof *f);
    if (!f) return td_err_nomem(err, "reading the CSV header");
    *fields = f;
    csv_rec rec;
    csv_status st;
    int rc = buf_split(b, &r->dialect, CSV_SCAN_CHUNK, 0, cap, f, &rec, &st, err);
    if (rc) return rc;
    int64_t line = rec.skipped_lines + 1;
    switch (st) {
      case CSV_REC: break;
      case CSV_END:
        return td_err_at(err, TD_EFORMAT, TD_READER_INCOMPLETE, "'%s': the file is empty; expected a header row of column names",
                      r->base.io.path);
      case CSV_PARTIAL:
        return td_err_at(err, TD_EFORMAT, TD_READER_INCOMPLETE, "'%s': line %lld: the header row has no terminating newline",
                      r->base.io.path, (long long)line);
      default: return split_error(r, &rec, line, err);
    }
    if (rec.nfields > cap) {
      cap = rec.nfields;
      continue;
    }
    r->header_line_no = line;
    rc = header_names(r, f, rec.nfields, names, err);
    if (rc) return rc;
    r->ncols = rec.nfields;
    int64_t used = rec.end - buf_cur(b);
    b->pos += used;
    s->end = b->file_off + b->pos;
    s->line = rec.skipped_lines + rec.lines;
    s->open_tail = !ends_line(&rec);
    r->header_end = s->end;
    r->header_line = s->line;
    return TD_OK;
  }
}

/* ---- schema -------------------------------------------------------------- */

static int check_declared(csv_reader *r, const td_schema *decl, char **names, td_error *err) {
  if (decl->n_fields != r->ncols)
    return td_err(err, TD_EFORMAT, "'%s': the header has %lld columns but the declared schema has %lld",
                  r->base.io.path, (long long)r->ncols, (long long)decl->n_fields);
  for (int64_t i = 0; i < r->ncols; i++) {
    td_type_id t = decl->fields[i].type;
    if ((t < TD_TYPE_BOOL || t > TD_TYPE_TIMESTAMP) && t != TD_TYPE_DECIMAL128 && t != TD_TYPE_UINT8 &&
        t != TD_TYPE_UINT32 && t != TD_TYPE_UINT64 && t != TD_TYPE_DATE32) {
      char tt[64];
      return td_err(err, TD_EUNSUPPORTED,
                    "'%s': declared column '%s' is %s, which the CSV reader does not parse (it reads BOOLEAN, "
                    "integers, UTINYINT, USMALLINT, UINTEGER, UBIGINT, REAL, DOUBLE, DECIMAL(p,s), VARCHAR, DATE, TIMESTAMP)",
                    r->base.io.path, decl->fields[i].name, td_field_type_text(&decl->fields[i], tt, sizeof tt));
    }
    if (strcmp(decl->fields[i].name, names[i]))
      return td_err(err, TD_EFORMAT,
                    "'%s': column %lld of the header is '%s' but the declared schema names '%s'",
                    r->base.io.path, (long long)i + 1, names[i], decl->fields[i].name);
  }
  return td_schema_copy(decl, &r->base.schema, err);
}

/* Before the scan: the names (error messages use them), typed utf8. */
static int placeholder_schema(csv_reader *r, char **names, td_error *err) {
  for (int64_t i = 0; i < r->ncols; i++) {
    int rc = td_schema_add(&r->base.schema, names[i], TD_TYPE_UTF8, NULL, true, err);
    if (rc) return rc;
  }
  return TD_OK;
}

/* After the scan: the inferred types. */
static int inferred_types(csv_reader *r, const csv_infer *inf, td_error *err) {
  for (int64_t i = 0; i < r->ncols; i++) {
    td_field *f = &r->base.schema.fields[i];
    const char *tz;
    f->type = csv_infer_type(&inf[i], &tz);
    if (tz && !(f->tz = td_strdup(tz))) return td_err_nomem(err, "inferring the CSV schema");
  }
  return TD_OK;
}

/* ---- open ---------------------------------------------------------------- */

static const td_reader_vtable csv_vtable;

/* Everything open allocates on the way; freed at its end. */
typedef struct open_ctx {
  csv_buf buf;
  csv_scan scan;
  csv_field *fields;
  char **names;
  csv_infer *inf;
} open_ctx;

static void open_ctx_free(open_ctx *o, int64_t ncols) {
  buf_free(&o->buf);
  td_free(o->scan.marks);
  td_free(o->fields);
  free_names(o->names, ncols);
  td_free(o->inf);
}

static int open_scan(csv_reader *r, open_ctx *o, const td_csv_options *opts, int64_t size,
                     td_error *err) {
  int rc = read_header(r, &o->buf, &o->scan, &o->fields, &o->names, err);
  if (rc) return rc;
  if (opts && opts->schema) {
    rc = check_declared(r, opts->schema, o->names, err);
    if (rc) return rc;
  } else {
    r->inferred = true;
    rc = placeholder_schema(r, o->names, err);
    if (rc) return rc;
    o->inf = td_malloc((size_t)r->ncols * sizeof *o->inf);
    if (!o->inf) return td_err_nomem(err, "inferring the CSV schema");
    for (int64_t i = 0; i < r->ncols; i++) csv_infer_init(&o->inf[i]);
  }
  rc = scan_records(r, &o->buf, &o->scan, o->inf, o->fields, err);
  if (rc) return rc;
  if (o->inf && (rc = inferred_types(r, o->inf, err))) return rc;
  if (o->scan.tail == CSV_UNTERMINATED)
    return split_error(r, &o->scan.tail_rec, o->scan.line + o->scan.tail_rec.skipped_lines + 1, err);
  if (o->inf && o->scan.rows < r->sample_rows) r->sample_rows = o->scan.rows;
  return commit_scan(r, &o->scan, size, err);
}

static int check_options(const char *path, const td_csv_options *opts, td_error *err) {
  if (!path) return td_err(err, TD_EINVAL, "td_csv_open: no path");
  if (!opts) return TD_OK;
  char d = opts->delimiter ? opts->delimiter : ',', q = opts->quote ? opts->quote : '"';
  if (d == q || d == '\n' || d == '\r')
    return td_err(err, TD_EINVAL, "'%s': the CSV delimiter cannot be the quote, CR or LF", path);
  if (q == '\n' || q == '\r')
    return td_err(err, TD_EINVAL, "'%s': the CSV quote cannot be CR or LF", path);
  if (opts->sample_rows < -1)
    return td_err(err, TD_EINVAL, "'%s': sample_rows must be -1 (all) or more (got %lld)", path,
                  (long long)opts->sample_rows);
  return TD_OK;
}

int td_csv_open(const char *path, const td_csv_options *opts, td_file_reader **out,
                td_error *err) {
  if (!out) return td_err(err, TD_EINVAL, "td_csv_open: no output pointer");
  *out = NULL;
  int rc = check_options(path, opts, err);
  if (rc) return rc;
  csv_reader *r = td_calloc(1, sizeof *r);
  if (!r) return td_err_nomem(err, "opening a CSV file");
  r->base.vt = &csv_vtable;
  td_schema_init(&r->base.schema);
  r->base.io.fd = -1;
  pthread_mutex_init(&r->lock, NULL);
  pthread_mutex_init(&r->refresh_lock, NULL);
  csv_dialect_init(&r->dialect, opts && opts->delimiter ? opts->delimiter : ',',
                   opts && opts->quote ? opts->quote : '"');
  r->sample_rows = opts && opts->sample_rows ? opts->sample_rows : CSV_DEFAULT_SAMPLE;
  if (r->sample_rows < 0) r->sample_rows = INT64_MAX; /* the whole file */
  if (opts && opts->null_str && opts->null_str[0]) {
    r->null_len = (int64_t)strlen(opts->null_str);
    if (!(r->null_str = td_strdup(opts->null_str))) rc = td_err_nomem(err, "opening a CSV file");
  }
  open_ctx o;
  memset(&o, 0, sizeof o);
  int64_t size = 0;
  if (!rc) rc = td_io_open(&r->base.io, path, err);
  if (!rc) rc = td_io_stat_at_open(&r->base.io, &size, &r->inode, err);
  if (!rc) {
    buf_init(&o.buf, &r->base.io, 0, size);
    o.buf.ends = opts && opts->complete;
    rc = buf_fill(&o.buf, CSV_SCAN_CHUNK, err);
  }
  if (!rc && o.buf.len >= 3 && !memcmp(o.buf.data, "\xEF\xBB\xBF", 3)) o.buf.pos = 3; /* BOM */
  if (!rc) rc = open_scan(r, &o, opts, size, err);
  open_ctx_free(&o, r->ncols);
  if (rc) {
    if (rc == TD_ENOMEM && err) td_err_prefix(err, rc, "'%s': ", path);
    csv_vtable.close(&r->base);
    return rc;
  }
  *out = &r->base;
  return TD_OK;
}

/* ---- reading a column ---------------------------------------------------- */

typedef struct col_ctx {
  const csv_reader *r;
  int64_t col;
  td_type_id type;
  td_array arr;
  char *scratch; /* unescaped text */
  int64_t scratch_cap;
} col_ctx;

/* "cannot parse 'x' as int32" or "'300' is out of range for int8", with a
 * hint to declare a schema when the type was inferred. */
static int value_error(const col_ctx *c, int64_t line, const char *s, int64_t n, bool range,
                       td_error *err) {
  char w[256], type[64];
  where(c->r, line, c->col, w, sizeof w);
  td_field_type_text(&c->r->base.schema.fields[c->col], type, sizeof type);
  int shown = n > 80 ? 80 : (int)n;
  char hint[512] = "";
  const char *name = c->r->base.schema.fields[c->col].name;
  if (c->r->inferred)
    snprintf(hint, sizeof hint,
             " (the type was inferred from the first %lld rows; declare the column's type with "
             "--schema '%s VARCHAR, ...' or read the whole sample with --csv-sample-rows all)",
             (long long)c->r->sample_rows, name);
  return td_err(err, TD_EFORMAT, "'%s': %s: %s'%.*s%s'%s %s%s", c->r->base.io.path, w,
                range ? "" : "cannot parse ", shown, s, n > shown ? "..." : "",
                range ? " is out of range for" : " as", type, hint);
}

/* The text of a field, unescaped when needed. */
static int field_text(col_ctx *c, const csv_field *f, const char **s, int64_t *n, td_error *err) {
  if (!f->escaped) {
    *s = f->ptr;
    *n = f->len;
    return TD_OK;
  }
  if (f->len > c->scratch_cap) {
    char *p = td_realloc(c->scratch, (size_t)f->len);
    if (!p) return td_err_nomem(err, "unescaping a CSV field");
    c->scratch = p;
    c->scratch_cap = f->len;
  }
  *n = csv_unescape(f, c->r->dialect.quote, c->scratch);
  *s = c->scratch;
  return TD_OK;
}

static bool int_in_range(td_type_id t, int64_t v) {
  switch (t) {
    case TD_TYPE_INT8: return v >= INT8_MIN && v <= INT8_MAX;
    case TD_TYPE_INT16: return v >= INT16_MIN && v <= INT16_MAX;
    case TD_TYPE_INT32: return v >= INT32_MIN && v <= INT32_MAX;
    case TD_TYPE_UINT16: return v >= 0 && v <= UINT16_MAX;
    case TD_TYPE_UINT8: return v >= 0 && v <= UINT8_MAX;
    case TD_TYPE_UINT32: return v >= 0 && v <= UINT32_MAX;
    default: return true;
  }
}

static void store_int(td_array *a, int64_t i, int64_t v) {
  switch (a->type) {
    case TD_TYPE_INT8: ((int8_t *)a->values)[i] = (int8_t)v; break;
    case TD_TYPE_INT16: ((int16_t *)a->values)[i] = (int16_t)v; break;
    case TD_TYPE_UINT16: ((uint16_t *)a->values)[i] = (uint16_t)v; break;
    case TD_TYPE_UINT8: ((uint8_t *)a->values)[i] = (uint8_t)v; break;
    case TD_TYPE_UINT32: ((uint32_t *)a->values)[i] = (uint32_t)v; break;
    case TD_TYPE_INT32: ((int32_t *)a->values)[i] = (int32_t)v; break;
    default: ((int64_t *)a->values)[i] = v; break;
  }
}

/* Parses text s[0, n) into slot i of a fixed-width array. */
static int put_fixed(col_ctx *c, int64_t i, const char *s, int64_t n, int64_t line, td_error *err) {
  td_array *a = &c->arr;
  bool ok = true;
  switch (c->type) {
    case TD_TYPE_BOOL: {
      bool b = false;
      ok = csv_parse_bool(s, n, true, &b);
      td_bit_put(a->values, i, b);
      break;
    }
    case TD_TYPE_FLOAT32: ok = csv_parse_f32(s, n, &((float *)a->values)[i]); break;
    case TD_TYPE_FLOAT64: ok = csv_parse_f64(s, n, &((double *)a->values)[i]); break;
    case TD_TYPE_TIMESTAMP: {
      bool tz;
      ok = csv_parse_timestamp(s, n, &((int64_t *)a->values)[i], &tz);
      break;
    }
    case TD_TYPE_DATE32: {
      int64_t days = 0;
      ok = td_parse_date(s, (size_t)n, &days);
      ((int32_t *)a->values)[i] = (int32_t)days;
      break;
    }
    case TD_TYPE_UINT64: { /* 0..2^64-1 exactly: digits, an optional '+' */
      uint64_t v = 0;
      int64_t k = n > 0 && s[0] == '+';
      ok = k < n;
      for (; ok && k < n; k++) {
        if (s[k] < '0' || s[k] > '9') ok = false;
        else if (v > (UINT64_MAX - (uint64_t)(s[k] - '0')) / 10) return value_error(c, line, s, n, true, err);
        else v = v * 10 + (uint64_t)(s[k] - '0');
      }
      ((uint64_t *)a->values)[i] = v;
      break;
    }
    case TD_TYPE_DECIMAL128: { /* exact; more fraction digits than the scale is an error */
      int p = 0, sc = 0;
      td_i128 v = 0;
      td_dec_params(c->r->base.schema.fields[c->col].tz, &p, &sc);
      ok = td_dec_parse(s, (size_t)n, p, sc, &v);
      td_dec_store(a->values + i * 16, v);
      break;
    }
    default: {
      int64_t v = 0;
      bool lz;
      csv_int_result res = csv_parse_int(s, n, &v, &lz);
      if (res == CSV_INT_OK && !int_in_range(c->type, v)) res = CSV_INT_OVERFLOW;
      if (res == CSV_INT_OVERFLOW) return value_error(c, line, s, n, true, err);
      ok = res == CSV_INT_OK;
      store_int(a, i, v);
    }
  }
  return ok ? TD_OK : value_error(c, line, s, n, false, err);
}

static int put_null(col_ctx *c, int64_t i, int64_t line, td_error *err) {
  td_array *a = &c->arr;
  if (!c->r->base.schema.fields[c->col].nullable) {
    char w[256];
    return td_err(err, TD_EFORMAT, "'%s': %s: empty value in a column declared not nullable",
                  c->r->base.io.path, where(c->r, line, c->col, w, sizeof w));
  }
  if (c->type == TD_TYPE_UTF8) return td_array_append_null(a, err);
  if (c->type == TD_TYPE_BOOL) td_bit_clear(a->values, i);
  else memset(a->values + i * td_type_width(c->type), 0, (size_t)td_type_width(c->type));
  return td_array_set_null(a, i, err);
}

/* Stores field f as row i of the column.  Empty is null, except that a
 * quoted empty string is an empty string in a utf8 column. */
static int put_value(col_ctx *c, int64_t i, const csv_field *f, int64_t line, td_error *err) {
  if ((f->len == 0 && !(f->quoted && c->type == TD_TYPE_UTF8)) || is_null_str(c->r, f))
    return put_null(c, i, line, err);
  const char *s = NULL;
  int64_t n = 0;
  int rc = field_text(c, f, &s, &n, err);
  if (rc) return rc;
  if (c->type != TD_TYPE_UTF8) return put_fixed(c, i, s, n, line, err);
  if (!td_utf8_valid(s, n)) {
    char w[256];
    return td_err(err, TD_EFORMAT, "'%s': %s: the text is not valid UTF-8", c->r->base.io.path,
                  where(c->r, line, c->col, w, sizeof w));
  }
  return td_array_append_str(&c->arr, s, n, err);
}

/* What read_column needs to know about the file, taken under the lock. */
typedef struct read_plan {
  csv_mark mark; /* start reading here */
  int64_t skip;  /* records to skip after the mark */
  int64_t limit; /* end of the complete records */
  int64_t avg;   /* average bytes per record */
  bool ends;     /* the last record before limit has no newline */
} read_plan;

/* Where to start reading for row `offset`: the nearest index mark. */
static int snapshot(csv_reader *r, int64_t col, int64_t offset, int64_t n, read_plan *p,
                    td_error *err) {
  pthread_mutex_lock(&r->lock);
  int64_t rows = r->base.num_rows;
  bool ok = col >= 0 && col < r->ncols && offset >= 0 && n >= 0 && offset <= rows - n;
  if (ok) {
    int64_t k = offset / CSV_INDEX_STRIDE;
    if (k < r->n_index) {
      p->mark = r->index[k];
      p->skip = offset - k * CSV_INDEX_STRIDE;
    } else { /* no rows yet */
      p->mark.offset = r->header_end;
      p->mark.line = r->header_line;
      p->skip = offset;
    }
    p->limit = r->data_end;
    p->ends = r->open_tail;
    p->avg = rows ? (r->data_end - r->header_end) / rows + 1 : 1;
  }
  pthread_mutex_unlock(&r->lock);
  if (!ok)
    return td_err(err, TD_EINVAL, "'%s': cannot read column %lld, rows [%lld, +%lld): the file has %lld columns and %lld rows",
                  r->base.io.path, (long long)col, (long long)offset, (long long)n,
                  (long long)r->ncols, (long long)rows);
  return TD_OK;
}

static int changed_error(const csv_reader *r, int64_t line, td_error *err) {
  return td_err(err, TD_EFORMAT, "'%s': line %lld: the file changed under the reader (a record seen before is no longer complete)",
                r->base.io.path, (long long)line);
}

/* Walks records from the mark: skips `skip`, then stores n values. */
static int read_rows(col_ctx *c, csv_buf *b, int64_t line, int64_t skip, int64_t n, td_error *err) {
  const csv_reader *r = c->r;
  int64_t chunk = CSV_SCAN_CHUNK;
  for (int64_t k = 0; k < skip + n; k++) {
    bool want = k >= skip;
    csv_field f;
    csv_rec rec;
    csv_status st;
    int rc = buf_split(b, &r->dialect, chunk, c->col, want ? 1 : 0, &f, &rec, &st, err);
    if (rc) return rc;
    int64_t rec_line = line + rec.skipped_lines + 1;
    if (st == CSV_BAD) return split_error(r, &rec, rec_line, err);
    if (st != CSV_REC) return changed_error(r, rec_line, err);
    if (rec.nfields != r->ncols) return count_error(r, rec_line, rec.nfields, err);
    if (want && (rc = put_value(c, k - skip, &f, rec_line, err))) return rc;
    b->pos += rec.end - buf_cur(b);
    line += rec.skipped_lines + rec.lines;
  }
  return TD_OK;
}

static int csv_read_column(td_file_reader *base, int64_t col, int64_t offset, int64_t n,
                           struct ArrowArray *out, td_error *err) {
  csv_reader *r = (csv_reader *)base;
  read_plan p;
  memset(&p, 0, sizeof p);
  int rc = snapshot(r, col, offset, n, &p, err);
  if (rc) return rc;
  col_ctx c;
  memset(&c, 0, sizeof c);
  c.r = r;
  c.col = col;
  c.type = r->base.schema.fields[col].type;
  rc = td_array_init(&c.arr, c.type, n, err);
  if (rc) return rc;
  if (c.type != TD_TYPE_UTF8) c.arr.length = n;
  /* The first read covers the expected bytes (plus 1/8); later ones 1 MiB. */
  int64_t first = p.avg * (p.skip + n) + p.avg * (p.skip + n) / 8 + 256;
  if (first < CSV_MIN_READ) first = CSV_MIN_READ;
  if (first > CSV_SCAN_CHUNK) first = CSV_SCAN_CHUNK;
  csv_buf b;
  buf_init(&b, &r->base.io, p.mark.offset, p.limit);
  b.ends = p.ends;
  rc = n ? buf_fill(&b, first, err) : TD_OK;
  if (!rc) rc = read_rows(&c, &b, p.mark.line, p.skip, n, err);
  buf_free(&b);
  td_free(c.scratch);
  if (!rc) rc = td_array_export(&c.arr, out, err);
  td_array_reset(&c.arr);
  return rc;
}

/* ---- growth -------------------------------------------------------------- */

/* The identity check: is `path` still the file that was opened? */
static int check_same_file(csv_reader *r, int64_t size, td_error *err) {
  struct stat st;
  if (stat(r->base.io.path, &st) != 0)
    return td_err(err, TD_EFORMAT, "'%s': file was replaced or removed (%s)", r->base.io.path,
                  strerror(errno));
  if ((uint64_t)st.st_ino != r->inode)
    return td_err(err, TD_EFORMAT, "'%s': file was replaced (a different file now has its name)",
                  r->base.io.path);
  if (size < r->seen_size)
    return td_err(err, TD_EFORMAT, "'%s': file was truncated (it had %lld bytes, now %lld)",
                  r->base.io.path, (long long)r->seen_size, (long long)size);
  return TD_OK;
}

static int refresh_locked(csv_reader *r, td_error *err) {
  int64_t size;
  int rc = td_io_stat(&r->base.io, &size, NULL, err);
  if (!rc) rc = check_same_file(r, size, err);
  if (rc) return rc;
  csv_scan s;
  memset(&s, 0, sizeof s);
  pthread_mutex_lock(&r->lock);
  bool grown = size > r->seen_size;
  s.rows = r->base.num_rows;
  s.end = r->data_end;
  s.line = r->data_line;
  bool open_tail = r->open_tail;
  pthread_mutex_unlock(&r->lock);
  if (!grown) return TD_OK;
  csv_buf b;
  buf_init(&b, &r->base.io, s.end, size);
  rc = buf_fill(&b, CSV_SCAN_CHUNK, err);
  if (!rc && open_tail && b.len > 0 && b.data[0] != '\n' && b.data[0] != '\r')
    rc = td_err(err, TD_EFORMAT,
                "'%s': line %lld: the last line, read as complete without a newline, was extended (expected the "
                "file to go on with a newline, found more of that line)",
                r->base.io.path, (long long)s.line + 1);
  if (!rc) rc = scan_records(r, &b, &s, NULL, NULL, err);
  if (!rc) rc = commit_scan(r, &s, size, err);
  buf_free(&b);
  td_free(s.marks);
  return rc;
}

static int csv_refresh(td_file_reader *base, td_error *err) {
  csv_reader *r = (csv_reader *)base;
  pthread_mutex_lock(&r->refresh_lock);
  int rc = refresh_locked(r, err);
  pthread_mutex_unlock(&r->refresh_lock);
  return rc;
}

static void csv_close(td_file_reader *base) {
  csv_reader *r = (csv_reader *)base;
  td_free(r->index);
  td_free(r->null_str);
  pthread_mutex_destroy(&r->lock);
  pthread_mutex_destroy(&r->refresh_lock);
  td_reader_base_release(&r->base);
  td_free(r);
}

static const td_reader_vtable csv_vtable = {
    .format_name = "csv",
    .read_column = csv_read_column,
    .refresh = csv_refresh,
    .column_stats = NULL,
    .close = csv_close,
};
