/*
 * backends/kafka/kafka_arrow.c - Arrow IPC stream payloads (format arrow):
 * each record's value is a whole IPC stream (a schema message and record
 * batches) read with the project's IPC reader over the payload's bytes.
 * Its rows count, its schema (for a table without a declared one) and the
 * decoding of a range of its rows into the column builders.
 */
#include <stdio.h>
#include <string.h>

#include "arrow/schema.h"
#include "backends/kafka/kafka_internal.h"
#include "formats/reader.h"
#include "util/alloc.h"
#include "util/error.h"

static int open_payload(const char *payload, size_t len, td_file_reader **r, char *why, size_t why_size) {
  td_error e;
  td_error_clear(&e);
  if (td_ipc_open_mem(payload, (int64_t)len, "payload", r, &e) == TD_OK) {
    if ((*r)->n_unsupported == 0) return TD_OK;
    snprintf(why, why_size, "Arrow IPC column '%s': %s", (*r)->unsupported[0].name, (*r)->unsupported[0].reason);
    td_reader_close(*r);
    *r = NULL;
    return TD_EUNSUPPORTED;
  }
  snprintf(why, why_size, "not an Arrow IPC stream: %s", e.message);
  return e.code ? e.code : TD_EFORMAT;
}

int64_t td__kf_arrow_rows(const char *payload, size_t len) {
  if (!payload) return 1; /* a tombstone: one row of nulls */
  td_file_reader *r;
  char why[8];
  if (open_payload(payload, len, &r, why, sizeof why) != TD_OK) return 1;
  int64_t n = r->num_rows;
  td_reader_close(r);
  return n;
}

/* The kafka columns' time zones are static strings. */
static bool static_tz(const td_field *f, const char **tz) {
  *tz = NULL;
  if (td_type_has_param(f->type) && !td_type_is_timestamp(f->type)) return false; /* decimal128 */
  if (!f->tz) return true;
  if (strcmp(f->tz, "UTC") != 0) return false;
  *tz = "UTC";
  return true;
}

int td__kf_arrow_schema(const char *payload, size_t len, td_kf_schema *out, char *why, size_t why_size) {
  td__kf_schema_reset(out);
  out->format = TD_KF_ARROW;
  td_file_reader *r;
  int rc = open_payload(payload, len, &r, why, why_size);
  if (rc) return rc;
  const td_schema *s = &r->schema;
  if (s->n_fields == 0) rc = TD_EINVAL, snprintf(why, why_size, "the Arrow IPC schema has no column");
  if (!rc && !(out->cols = td_calloc((size_t)s->n_fields, sizeof *out->cols)))
    rc = TD_ENOMEM, snprintf(why, why_size, "out of memory for the schema");
  for (int64_t i = 0; !rc && i < s->n_fields; i++) {
    const td_field *f = &s->fields[i];
    char t[64];
    if (!static_tz(f, &out->cols[i].tz)) {
      rc = TD_EUNSUPPORTED;
      snprintf(why, why_size, "Arrow IPC column '%s' of type %s: the Kafka backend carries timestamps in UTC or "
               "without a time zone and no decimals", f->name, td_field_type_text(f, t, sizeof t));
    } else if (!(out->cols[i].name = td_strdup(f->name))) {
      rc = TD_ENOMEM, snprintf(why, why_size, "out of memory for the schema");
    } else {
      out->cols[i].type = f->type;
      out->n = i + 1;
    }
  }
  td_reader_close(r);
  if (rc) td__kf_schema_reset(out);
  return rc;
}

/* Why the message's schema is not the table's, or false when it is. */
static bool differs(const td_kf_schema *s, const td_schema *m, char *why, size_t why_size) {
  if (m->n_fields != s->n) {
    snprintf(why, why_size, "the message's Arrow schema has %lld columns, the table's %lld", (long long)m->n_fields,
             (long long)s->n);
    return true;
  }
  for (int64_t i = 0; i < s->n; i++) {
    const td_field *f = &m->fields[i];
    if (strcmp(f->name, s->cols[i].name) != 0) {
      snprintf(why, why_size, "column %lld of the message's Arrow schema is '%s', the table's is '%s'",
               (long long)i + 1, f->name, s->cols[i].name);
      return true;
    }
    if (f->type != s->cols[i].type) {
      char t[64];
      snprintf(why, why_size, "column '%s' of the message's Arrow schema is %s, the table's is %s", f->name,
               td_field_type_text(f, t, sizeof t), td_type_name(s->cols[i].type));
      return true;
    }
  }
  return false;
}

bool td__kf_arrow_decode(const td_kf_schema *s, const char *payload, size_t len, int64_t lo, int64_t n,
                         td_builder **bs, char *why, size_t why_size) {
  if (!payload) { /* a tombstone */
    for (int64_t i = 0; i < s->n; i++)
      if (td_builder_append_null(bs[i], NULL) != TD_OK) {
        snprintf(why, why_size, "out of memory");
        return false;
      }
    return true;
  }
  td_file_reader *r;
  if (open_payload(payload, len, &r, why, why_size) != TD_OK) return false;
  bool ok = !differs(s, &r->schema, why, why_size);
  if (ok && (lo < 0 || lo + n > r->num_rows)) {
    snprintf(why, why_size, "rows %lld..%lld asked for, the message has %lld", (long long)lo, (long long)(lo + n),
             (long long)r->num_rows);
    ok = false;
  }
  struct ArrowArray *cols = ok ? td_calloc((size_t)s->n, sizeof *cols) : NULL;
  if (ok && !cols) snprintf(why, why_size, "out of memory"), ok = false;
  td_error e;
  td_error_clear(&e);
  /* Every column is read before any is appended: a failure leaves the
   * builders as they were. */
  for (int64_t i = 0; ok && i < s->n; i++)
    if (td_reader_read(r, i, lo, n, &cols[i], &e) != TD_OK) {
      snprintf(why, why_size, "column '%s': %s", s->cols[i].name, e.message);
      ok = false;
    }
  for (int64_t i = 0; ok && i < s->n; i++) {
    struct ArrowSchema f;
    if (td_field_export(&r->schema.fields[i], &f, &e) != TD_OK) {
      snprintf(why, why_size, "%s", e.message);
      ok = false;
      break;
    }
    for (int64_t k = 0; ok && k < n; k++) {
      td_value v;
      if (td_arrow_get_value(&f, &cols[i], k, &v, &e) != TD_OK || td_builder_append_value(bs[i], &v, &e) != TD_OK) {
        snprintf(why, why_size, "column '%s' row %lld: %s", s->cols[i].name, (long long)(lo + k), e.message);
        ok = false;
      }
    }
    f.release(&f);
  }
  for (int64_t i = 0; cols && i < s->n; i++)
    if (cols[i].release) cols[i].release(&cols[i]);
  td_free(cols);
  td_reader_close(r);
  return ok;
}
