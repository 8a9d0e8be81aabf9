/*
 * backends/kafka/kafka_decode.c - Kafka payloads to column values: the
 * declared schema's parser, schema inference from sampled payloads, and the
 * decoding of one payload (a JSON object through jansson, or one CSV line
 * through the CSV reader's splitter and value parsers) into builders.
 * Depends on formats/csv (splitting, value parsing, inference) and jansson;
 * never on librdkafka.
 */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backends/kafka/kafka_internal.h"
#include "formats/csv/csv_split.h"
#include "formats/csv/csv_values.h"
#include "formats/reader.h"
#include "util/alloc.h"
#include "util/error.h"

#define MAX_COLUMNS 1024

void td__kf_schema_reset(td_kf_schema *s) {
  for (int64_t i = 0; s->cols && i < s->n; i++) td_free(s->cols[i].name);
  td_free(s->cols);
  s->cols = NULL;
  s->n = 0;
}

static const char *type_tz(td_type_id t) { return td_type_is_timestamp(t) ? "UTC" : NULL; }

/* Appends a column (takes `name`). */
static int schema_add(td_kf_schema *s, char *name, td_type_id type, td_error *err) {
  if (!name) return td_err_nomem(err, "a column name");
  if (s->n == MAX_COLUMNS) {
    td_free(name);
    return td_err(err, TD_EINVAL, "more than %d payload columns", MAX_COLUMNS);
  }
  for (int64_t i = 0; i < s->n; i++)
    if (strcmp(s->cols[i].name, name) == 0) {
      int rc = td_err(err, TD_EINVAL, "payload column '%s' is named twice", name);
      td_free(name);
      return rc;
    }
  td_kf_column *c = td_realloc(s->cols, (size_t)(s->n + 1) * sizeof *c);
  if (!c) {
    td_free(name);
    return td_err_nomem(err, "a column");
  }
  s->cols = c;
  c[s->n].name = name;
  c[s->n].type = type;
  c[s->n].tz = type_tz(type);
  s->n++;
  return TD_OK;
}

static char *strndup_td(const char *s, size_t n) {
  char *r = td_malloc(n + 1);
  if (r) {
    memcpy(r, s, n);
    r[n] = 0;
  }
  return r;
}

int td__kf_schema_parse(const char *text, td_kf_schema *out, td_error *err) {
  td__kf_schema_reset(out);
  const char *p = text;
  int rc = TD_OK;
  while (rc == TD_OK && *p) {
    while (isspace((unsigned char)*p)) p++;
    const char *name = p;
    while (*p && !isspace((unsigned char)*p) && *p != ',') p++;
    size_t nl = (size_t)(p - name);
    while (isspace((unsigned char)*p)) p++;
    const char *type = p;
    while (*p && !isspace((unsigned char)*p) && *p != ',') p++;
    size_t tl = (size_t)(p - type);
    while (isspace((unsigned char)*p)) p++;
    if (*p && *p != ',') tl = 0;
    if (*p == ',') p++;
    td_type_id t = TD_TYPE_NONE;
    for (int id = TD_TYPE_BOOL; id <= TD_TYPE_UINT32 && tl; id++) {
      const char *tn = td_type_name((td_type_id)id);
      if (tn && strlen(tn) == tl && strncmp(tn, type, tl) == 0) t = (td_type_id)id;
    }
    if (!nl || t == TD_TYPE_NONE) {
      rc = td_err(err, TD_EINVAL,
                  "schema '%s': expected 'name type' entries separated by commas (types: bool, int8, int16, int32, "
                  "int64, uint8, uint16, uint32, float32, float64, utf8, timestamp, timestamp_ms, date32 ...), "
                  "found '%.*s'",
                  text, (int)(nl + (tl ? tl + 1 : 0) + (tl ? 0 : strcspn(type, ","))), name);
      break;
    }
    rc = schema_add(out, strndup_td(name, nl), t, err);
  }
  if (rc == TD_OK && out->n == 0) rc = td_err(err, TD_EINVAL, "schema '%s' declares no column", text);
  if (rc) td__kf_schema_reset(out);
  return rc;
}

/* ---- values from text (CSV fields, JSON strings for temporal columns) ---- */

static bool int_in_range(td_type_id t, int64_t v) {
  switch (t) {
    case TD_TYPE_INT8: return v >= INT8_MIN && v <= INT8_MAX;
    case TD_TYPE_INT16: return v >= INT16_MIN && v <= INT16_MAX;
    case TD_TYPE_INT32: case TD_TYPE_DATE32: case TD_TYPE_TIME32_S: case TD_TYPE_TIME32_MS:
      return v >= INT32_MIN && v <= INT32_MAX;
    case TD_TYPE_UINT8: return v >= 0 && v <= UINT8_MAX;
    case TD_TYPE_UINT16: return v >= 0 && v <= UINT16_MAX;
    case TD_TYPE_UINT32: return v >= 0 && v <= (int64_t)UINT32_MAX;
    default: return true;
  }
}

static bool is_int_type(td_type_id t) {
  return t == TD_TYPE_INT8 || t == TD_TYPE_INT16 || t == TD_TYPE_INT32 || t == TD_TYPE_INT64 || t == TD_TYPE_UINT8 ||
         t == TD_TYPE_UINT16 || t == TD_TYPE_UINT32;
}

/* A value of type `t` from the text [s, s+n) (not NUL-terminated). */
static bool text_value(td_type_id t, const char *s, int64_t n, td_value *v, char *why, size_t why_size) {
  v->type = t;
  v->is_null = false;
  int64_t i;
  bool lz;
  if (t == TD_TYPE_UTF8) {
    if (!td_utf8_valid(s, n)) {
      snprintf(why, why_size, "a string that is not valid UTF-8");
      return false;
    }
    v->v.s.ptr = s;
    v->v.s.len = (size_t)n;
    return true;
  }
  if (t == TD_TYPE_BOOL) {
    if (csv_parse_bool(s, n, true, &v->v.b)) return true;
  } else if (t == TD_TYPE_FLOAT32 || t == TD_TYPE_FLOAT64) {
    if (csv_parse_f64(s, n, &v->v.f)) return true;
  } else if (is_int_type(t) || td_type_is_temporal(t)) {
    csv_int_result r = csv_parse_int(s, n, &i, &lz);
    if (r == CSV_INT_OK && int_in_range(t, i)) {
      v->v.i = i;
      return true;
    }
    int64_t ns;
    bool tz;
    if (r != CSV_INT_OK && (td_type_is_timestamp(t) || t == TD_TYPE_DATE32 || t == TD_TYPE_DATE64) &&
        csv_parse_timestamp(s, n, &ns, &tz)) {
      int64_t unit = td_type_unit_ns(t);
      v->v.i = ns / unit - (ns % unit < 0 ? 1 : 0);
      return true;
    }
  }
  snprintf(why, why_size, "expected %s, found '%.*s'", td_type_name(t), (int)(n < 60 ? n : 60), s);
  return false;
}

/* ---- JSON ---- */

static const char *json_kind(const json_t *j) {
  switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
  }
}

/* A value of column type `t` from JSON `j` (NULL: missing).  Text for utf8
 * columns of non-string values is allocated into *owned (free it). */
static bool json_value(td_type_id t, json_t *j, td_value *v, char **owned, char *why, size_t why_size) {
  *owned = NULL;
  if (!j || json_is_null(j)) {
    *v = td_value_null(t);
    return true;
  }
  v->type = t;
  v->is_null = false;
  if (t == TD_TYPE_UTF8) {
    if (json_is_string(j)) {
      v->v.s.ptr = json_string_value(j);
      v->v.s.len = json_string_length(j);
      return true;
    }
    *owned = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!*owned) {
      snprintf(why, why_size, "out of memory");
      return false;
    }
    v->v.s.ptr = *owned;
    v->v.s.len = strlen(*owned);
    return true;
  }
  if (t == TD_TYPE_BOOL && json_is_boolean(j)) {
    v->v.b = json_is_true(j);
    return true;
  }
  if ((t == TD_TYPE_FLOAT32 || t == TD_TYPE_FLOAT64) && json_is_number(j)) {
    v->v.f = json_number_value(j);
    return true;
  }
  if ((is_int_type(t) || td_type_is_temporal(t)) && json_is_integer(j)) {
    json_int_t i = json_integer_value(j);
    if (int_in_range(t, i)) {
      v->v.i = i;
      return true;
    }
    snprintf(why, why_size, "expected %s, found %lld (out of range)", td_type_name(t), (long long)i);
    return false;
  }
  if (td_type_is_temporal(t) && json_is_string(j))
    return text_value(t, json_string_value(j), (int64_t)json_string_length(j), v, why, why_size);
  snprintf(why, why_size, "expected %s, found %s", td_type_name(t), json_kind(j));
  return false;
}

static json_t *json_parse(const char *payload, size_t len, char *why, size_t why_size) {
  json_error_t je;
  json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    snprintf(why, why_size, "the payload is not JSON: %s (byte %d)", je.text, je.position);
    return NULL;
  }
  if (!json_is_object(root)) {
    snprintf(why, why_size, "expected a JSON object, found %s", json_kind(root));
    json_decref(root);
    return NULL;
  }
  return root;
}

/* ---- CSV ---- */

/* Splits one CSV payload into at most `cap` fields (NUL-terminated copy in
 * *buf, which the caller frees).  Returns the number of fields or -1. */
static int64_t csv_fields(const char *payload, size_t len, csv_field *f, int64_t cap, char **buf, char *why,
                          size_t why_size) {
  *buf = td_malloc(len + 2);
  if (!*buf) {
    snprintf(why, why_size, "out of memory");
    return -1;
  }
  memcpy(*buf, payload, len);
  size_t n = len;
  if (n == 0 || (*buf)[n - 1] != '\n') (*buf)[n++] = '\n';
  (*buf)[n] = 0;
  csv_dialect d;
  csv_dialect_init(&d, ',', '"');
  csv_rec rec;
  csv_status st = csv_split(&d, *buf, *buf + n, CSV_EOF, 0, cap, f, &rec);
  if (st == CSV_END) return 0;
  if (st != CSV_REC) {
    snprintf(why, why_size, "the payload is not a CSV line: %s", rec.bad_what ? rec.bad_what : "malformed");
    return -1;
  }
  if (rec.end != *buf + n) {
    snprintf(why, why_size, "the payload holds more than one CSV line");
    return -1;
  }
  return rec.nfields;
}

/* ---- decoding ---- */

bool td__kf_decode(const td_kf_schema *s, const char *payload, size_t len, td_builder **bs, char *why,
                   size_t why_size) {
  td_value *vals = td_calloc((size_t)s->n + 1, sizeof *vals);
  char **owned = td_calloc((size_t)s->n + 1, sizeof *owned);
  csv_field *f = s->format == TD_KF_CSV ? td_calloc((size_t)s->n + 1, sizeof *f) : NULL;
  char *buf = NULL, *text = NULL;
  json_t *root = NULL;
  bool ok = vals && owned && (s->format != TD_KF_CSV || f);
  if (!ok) snprintf(why, why_size, "out of memory");
  if (ok && !payload) {
    for (int64_t i = 0; i < s->n; i++) vals[i] = td_value_null(s->cols[i].type);
  } else if (ok && s->format == TD_KF_JSON) {
    root = json_parse(payload, len, why, why_size);
    ok = root != NULL;
    for (int64_t i = 0; ok && i < s->n; i++) {
      char w[200];
      ok = json_value(s->cols[i].type, json_object_get(root, s->cols[i].name), &vals[i], &owned[i], w, sizeof w);
      if (!ok) snprintf(why, why_size, "field '%s': %s", s->cols[i].name, w);
    }
  } else if (ok) {
    int64_t nf = csv_fields(payload, len, f, s->n, &buf, why, why_size);
    ok = nf >= 0;
    if (ok && nf != s->n) {
      snprintf(why, why_size, "expected %lld CSV fields, found %lld", (long long)s->n, (long long)nf);
      ok = false;
    }
    text = ok ? td_malloc(len + 1) : NULL;
    if (ok && !text) {
      snprintf(why, why_size, "out of memory");
      ok = false;
    }
    char *w = text;
    for (int64_t i = 0; ok && i < s->n; i++) {
      if (f[i].len == 0 && !f[i].quoted) {
        vals[i] = td_value_null(s->cols[i].type);
        continue;
      }
      int64_t n = csv_unescape(&f[i], '"', w);
      char wy[200];
      ok = text_value(s->cols[i].type, w, n, &vals[i], wy, sizeof wy);
      if (!ok) snprintf(why, why_size, "column '%s': %s", s->cols[i].name, wy);
      w += n;
    }
  }
  for (int64_t i = 0; ok && i < s->n; i++) {
    td_error e;
    if (td_builder_append_value(bs[i], &vals[i], &e) != TD_OK) {
      snprintf(why, why_size, "%s", e.message);
      ok = false; /* out of memory: the read fails as a whole */
    }
  }
  for (int64_t i = 0; owned && i < s->n; i++) free(owned[i]); /* jansson's allocator */
  if (root) json_decref(root);
  td_free(vals);
  td_free(owned);
  td_free(f);
  td_free(buf);
  td_free(text);
  return ok;
}

/* ---- sampling ---- */

typedef struct kf_field {
  char *name;
  unsigned seen; /* SEEN_* bits */
  csv_infer strings;
} kf_field;

enum { SEEN_BOOL = 1, SEEN_INT = 2, SEEN_REAL = 4, SEEN_STRING = 8, SEEN_OTHER = 16 };

struct td_kf_sampler {
  td_kf_format format;
  char *columns;
  kf_field *fields;
  int64_t n, cap;
};

int td__kf_sampler_new(td_kf_format format, const char *columns, td_kf_sampler **out, td_error *err) {
  td_kf_sampler *s = td_calloc(1, sizeof *s);
  if (!s) return td_err_nomem(err, "a schema sampler");
  s->format = format;
  if (columns && !(s->columns = td_strdup(columns))) {
    td_free(s);
    return td_err_nomem(err, "a schema sampler");
  }
  *out = s;
  return TD_OK;
}

void td__kf_sampler_free(td_kf_sampler *s) {
  if (!s) return;
  for (int64_t i = 0; i < s->n; i++) td_free(s->fields[i].name);
  td_free(s->fields);
  td_free(s->columns);
  td_free(s);
}

static kf_field *field_get(td_kf_sampler *s, const char *name, size_t nl) {
  for (int64_t i = 0; i < s->n; i++)
    if (strlen(s->fields[i].name) == nl && memcmp(s->fields[i].name, name, nl) == 0) return &s->fields[i];
  if (s->n == MAX_COLUMNS) return NULL;
  if (s->n == s->cap) {
    int64_t cap = s->cap ? s->cap * 2 : 16;
    kf_field *p = td_realloc(s->fields, (size_t)cap * sizeof *p);
    if (!p) return NULL;
    s->fields = p;
    s->cap = cap;
  }
  kf_field *f = &s->fields[s->n];
  memset(f, 0, sizeof *f);
  if (!(f->name = strndup_td(name, nl))) return NULL;
  csv_infer_init(&f->strings);
  s->n++;
  return f;
}

bool td__kf_sampler_add(td_kf_sampler *s, const char *payload, size_t len, char *why, size_t why_size) {
  if (!payload) return true; /* a tombstone says nothing about types */
  if (s->format == TD_KF_JSON) {
    json_t *root = json_parse(payload, len, why, why_size);
    if (!root) return false;
    const char *k;
    json_t *v;
    bool ok = true;
    json_object_foreach(root, k, v) {
      kf_field *f = field_get(s, k, strlen(k));
      if (!f) {
        snprintf(why, why_size, "out of memory or more than %d fields", MAX_COLUMNS);
        ok = false;
        break;
      }
      if (json_is_boolean(v)) f->seen |= SEEN_BOOL;
      else if (json_is_integer(v)) f->seen |= SEEN_INT;
      else if (json_is_real(v)) f->seen |= SEEN_REAL;
      else if (json_is_string(v)) {
        f->seen |= SEEN_STRING;
        csv_infer_add(&f->strings, json_string_value(v), (int64_t)json_string_length(v));
      } else if (!json_is_null(v)) f->seen |= SEEN_OTHER;
    }
    json_decref(root);
    return ok;
  }
  csv_field fs[MAX_COLUMNS];
  char *buf = NULL;
  int64_t nf = csv_fields(payload, len, fs, MAX_COLUMNS, &buf, why, why_size);
  bool ok = nf >= 0;
  if (ok && s->n && nf != s->n) {
    snprintf(why, why_size, "expected %lld CSV fields (as the first record sampled), found %lld", (long long)s->n,
             (long long)nf);
    ok = false;
  }
  for (int64_t i = s->n; ok && i < nf; i++) {
    char name[32];
    snprintf(name, sizeof name, "column%lld", (long long)i);
    if (!field_get(s, name, strlen(name))) {
      snprintf(why, why_size, "out of memory");
      ok = false;
    }
  }
  for (int64_t i = 0; ok && i < nf && i < MAX_COLUMNS; i++) {
    if (fs[i].len == 0 && !fs[i].quoted) continue;
    s->fields[i].seen |= SEEN_STRING;
    csv_infer_add(&s->fields[i].strings, fs[i].ptr, fs[i].len);
  }
  td_free(buf);
  return ok;
}

int td__kf_sampler_finish(td_kf_sampler *s, td_kf_schema *out, td_error *err) {
  td__kf_schema_reset(out);
  out->format = s->format;
  if (s->columns && s->format == TD_KF_CSV) { /* the names given replace column0, ... */
    int64_t i = 0;
    for (char *p = s->columns; p && *p; i++) {
      char *c = strchr(p, ',');
      size_t nl = c ? (size_t)(c - p) : strlen(p);
      if (i < s->n) {
        char *nm = strndup_td(p, nl);
        if (!nm) return td_err_nomem(err, "a column name");
        td_free(s->fields[i].name);
        s->fields[i].name = nm;
      }
      p = c ? c + 1 : NULL;
    }
    if (i != s->n)
      return td_err(err, TD_EINVAL, "columns '%s' names %lld columns, the sampled CSV lines have %lld", s->columns,
                    (long long)i, (long long)s->n);
  }
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < s->n; i++) {
    kf_field *f = &s->fields[i];
    td_type_id t = TD_TYPE_UTF8;
    const char *tz;
    if (s->format == TD_KF_CSV) t = csv_infer_type(&f->strings, &tz);
    else if (f->seen == SEEN_BOOL) t = TD_TYPE_BOOL;
    else if (f->seen == SEEN_INT) t = TD_TYPE_INT64;
    else if (f->seen == SEEN_REAL || f->seen == (SEEN_INT | SEEN_REAL)) t = TD_TYPE_FLOAT64;
    else if (f->seen == SEEN_STRING && td_type_is_timestamp(csv_infer_type(&f->strings, &tz))) t = TD_TYPE_TIMESTAMP;
    rc = schema_add(out, td_strdup(f->name), t, err);
  }
  if (rc == TD_OK && out->n == 0) rc = td_err(err, TD_EINVAL, "the sampled payloads have no field");
  if (rc) td__kf_schema_reset(out);
  return rc;
}
