/*
 * formats/csv/csv_split.c - the RFC 4180 record splitter and its helpers
 * (unescaping doubled quotes, UTF-8 validation).
 */
#include "formats/csv/csv_split.h"

#include <string.h>

void csv_dialect_init(csv_dialect *d, char delim, char quote) {
  memset(d, 0, sizeof *d);
  d->delim = delim;
  d->quote = quote;
  d->special[(uint8_t)delim] = 1;
  d->special[(uint8_t)quote] = 1;
  d->special['\n'] = 1;
  d->special['\r'] = 1;
}

/* Skips blank lines ("\n", "\r\n" or a lone "\r") at p.  Returns the first
 * byte of the record; *more is set when more data is needed to decide (a CR
 * at the end of a buffer that may continue: it may be half of a CRLF). */
static const char *skip_blank_lines(const char *p, const char *end, bool at_eof,
                                    int64_t *skipped, bool *more) {
  *more = false;
  for (;;) {
    if (p == end) return p;
    if (*p == '\n') {
      p++;
      (*skipped)++;
    } else if (*p == '\r') {
      if (p + 1 == end && !at_eof) {
        *more = true;
        return p;
      }
      p += p + 1 < end && p[1] == '\n' ? 2 : 1;
      (*skipped)++;
    } else {
      return p;
    }
  }
}

static csv_status bad(csv_rec *rec, int64_t field, int64_t line, const char *what) {
  rec->bad_field = field;
  rec->bad_line = line;
  rec->bad_what = what;
  return CSV_BAD;
}

csv_status csv_split(const csv_dialect *d, const char *p, const char *end, csv_eof eof,
                     int64_t lo, int64_t cap, csv_field *out, csv_rec *rec) {
  memset(rec, 0, sizeof *rec);
  const bool at_eof = eof != CSV_MORE, eof_ends = eof == CSV_EOF_ENDS;
  bool more;
  p = skip_blank_lines(p, end, at_eof, &rec->skipped_lines, &more);
  if (more) return CSV_NEED_MORE;
  rec->start = p;
  if (p == end) return at_eof ? CSV_END : CSV_NEED_MORE;
  const csv_status short_data = at_eof ? CSV_PARTIAL : CSV_NEED_MORE;
  const uint8_t *special = d->special;
  const char delim = d->delim;
  int64_t field = 0, lines = 0;
  for (;;) {
    csv_field f;
    if (p < end && *p == d->quote) {
      const int64_t open_line = lines;
      const char *q = p + 1;
      bool esc = false;
      for (;;) {
        while (q < end && *q != d->quote) {
          if (*q == '\n') lines++;
          q++;
        }
        if (q == end) {
          if (!at_eof) return CSV_NEED_MORE;
          rec->bad_field = field;
          rec->bad_line = open_line;
          rec->bad_what = "unterminated quoted field";
          return CSV_UNTERMINATED;
        }
        if (q + 1 == end) {
          if (eof_ends) break; /* the file's end closes the record */
          return short_data;
        }
        if (q[1] != d->quote) break;
        esc = true;
        q += 2;
      }
      f.ptr = p + 1;
      f.len = q - (p + 1);
      f.quoted = true;
      f.escaped = esc;
      p = q + 1; /* < end, unless the file's end ends the record */
      if (p == end) {
        /* the last record, ended by the file's end */
      } else if (*p == '\r') {
        if (p + 1 == end && !at_eof) return CSV_NEED_MORE;
        if (p + 1 < end && p[1] == '\n') p++; /* CRLF; a lone CR ends the record too */
      } else if (*p != delim && *p != '\n') {
        return bad(rec, field, lines, "unexpected character after a closing quote");
      }
    } else {
      const char *q = p;
      while (q < end && !special[(uint8_t)*q]) q++;
      if (q == end && !eof_ends) return short_data;
      if (q < end && *q == d->quote) return bad(rec, field, lines, "quote inside an unquoted field");
      f.ptr = p;
      f.len = q - p;
      f.quoted = false;
      f.escaped = false;
      if (q < end && *q == '\r') {
        if (q + 1 == end && !at_eof) return CSV_NEED_MORE;
        if (q + 1 < end && q[1] == '\n') q++; /* CRLF; a lone CR ends the record too */
      }
      p = q;
    }
    if (field >= lo && field - lo < cap) out[field - lo] = f;
    field++;
    if (p == end) { /* eof_ends: the last record, without a newline */
      rec->end = p;
      rec->nfields = field;
      rec->lines = lines;
      return CSV_REC;
    }
    if (*p == delim) {
      p++;
      continue;
    }
    p++; /* the '\n' (or the lone '\r') */
    lines++;
    rec->end = p;
    rec->nfields = field;
    rec->lines = lines;
    return CSV_REC;
  }
}

int64_t csv_unescape(const csv_field *f, char quote, char *dst) {
  if (!f->escaped) {
    if (f->len) memcpy(dst, f->ptr, (size_t)f->len);
    return f->len;
  }
  int64_t n = 0;
  for (int64_t i = 0; i < f->len; i++) {
    dst[n++] = f->ptr[i];
    if (f->ptr[i] == quote && i + 1 < f->len && f->ptr[i + 1] == quote) i++;
  }
  return n;
}
