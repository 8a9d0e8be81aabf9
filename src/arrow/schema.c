/*
 * arrow/schema.c - td_schema and ArrowSchema import/export.
 */
#include "arrow/schema.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

const char *td_type_name(td_type_id type) {
  switch (type) {
    case TD_TYPE_NONE: return "null";
    case TD_TYPE_BOOL: return "bool";
    case TD_TYPE_INT8: return "int8";
    case TD_TYPE_INT16: return "int16";
    case TD_TYPE_INT32: return "int32";
    case TD_TYPE_INT64: return "int64";
    case TD_TYPE_UINT16: return "uint16";
    case TD_TYPE_FLOAT32: return "float32";
    case TD_TYPE_FLOAT64: return "float64";
    case TD_TYPE_UTF8: return "utf8";
    case TD_TYPE_TIMESTAMP: return "timestamp";
    case TD_TYPE_DATE32: return "date32";
    case TD_TYPE_DATE64: return "date64";
    case TD_TYPE_TIMESTAMP_S: return "timestamp_s";
    case TD_TYPE_TIMESTAMP_MS: return "timestamp_ms";
    case TD_TYPE_TIMESTAMP_US: return "timestamp_us";
    case TD_TYPE_TIME32_S: return "time32_s";
    case TD_TYPE_TIME32_MS: return "time32_ms";
    case TD_TYPE_TIME64_US: return "time64_us";
    case TD_TYPE_TIME64_NS: return "time64_ns";
    case TD_TYPE_UINT8: return "uint8";
    case TD_TYPE_UINT32: return "uint32";
    case TD_TYPE_DECIMAL128: return "decimal128";
    case TD_TYPE_UINT64: return "uint64";
    case TD_TYPE_BINARY: return "binary";
    case TD_TYPE_LARGE_UTF8: return "large_utf8";
    case TD_TYPE_LARGE_BINARY: return "large_binary";
    case TD_TYPE_DURATION_S: return "duration_s";
    case TD_TYPE_DURATION_MS: return "duration_ms";
    case TD_TYPE_DURATION_US: return "duration_us";
    case TD_TYPE_DURATION_NS: return "duration_ns";
  }
  return "unknown";
}

const char *td_type_format(td_type_id type) {
  switch (type) {
    case TD_TYPE_NONE: return "n";
    case TD_TYPE_BOOL: return "b";
    case TD_TYPE_INT8: return "c";
    case TD_TYPE_INT16: return "s";
    case TD_TYPE_INT32: return "i";
    case TD_TYPE_INT64: return "l";
    case TD_TYPE_UINT16: return "S";
    case TD_TYPE_FLOAT32: return "f";
    case TD_TYPE_FLOAT64: return "g";
    case TD_TYPE_UTF8: return "u";
    case TD_TYPE_TIMESTAMP: return "tsn:";
    case TD_TYPE_DATE32: return "tdD";
    case TD_TYPE_DATE64: return "tdm";
    case TD_TYPE_TIMESTAMP_S: return "tss:";
    case TD_TYPE_TIMESTAMP_MS: return "tsm:";
    case TD_TYPE_TIMESTAMP_US: return "tsu:";
    case TD_TYPE_TIME32_S: return "tts";
    case TD_TYPE_TIME32_MS: return "ttm";
    case TD_TYPE_TIME64_US: return "ttu";
    case TD_TYPE_TIME64_NS: return "ttn";
    case TD_TYPE_UINT8: return "C";
    case TD_TYPE_UINT32: return "I";
    case TD_TYPE_DECIMAL128: return "d:";
    case TD_TYPE_UINT64: return "L";
    case TD_TYPE_BINARY: return "z";
    case TD_TYPE_LARGE_UTF8: return "U";
    case TD_TYPE_LARGE_BINARY: return "Z";
    case TD_TYPE_DURATION_S: return "tDs";
    case TD_TYPE_DURATION_MS: return "tDm";
    case TD_TYPE_DURATION_US: return "tDu";
    case TD_TYPE_DURATION_NS: return "tDn";
  }
  return "?";
}

int td_type_width(td_type_id type) {
  switch (type) {
    case TD_TYPE_INT8:
    case TD_TYPE_UINT8: return 1;
    case TD_TYPE_INT16:
    case TD_TYPE_UINT16: return 2;
    case TD_TYPE_INT32:
    case TD_TYPE_UINT32:
    case TD_TYPE_FLOAT32:
    case TD_TYPE_DATE32:
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS: return 4;
    case TD_TYPE_INT64:
    case TD_TYPE_UINT64:
    case TD_TYPE_FLOAT64:
    case TD_TYPE_TIMESTAMP:
    case TD_TYPE_DATE64:
    case TD_TYPE_TIMESTAMP_S:
    case TD_TYPE_TIMESTAMP_MS:
    case TD_TYPE_TIMESTAMP_US:
    case TD_TYPE_TIME64_US:
    case TD_TYPE_TIME64_NS:
    case TD_TYPE_DURATION_S:
    case TD_TYPE_DURATION_MS:
    case TD_TYPE_DURATION_US:
    case TD_TYPE_DURATION_NS: return 8;
    case TD_TYPE_DECIMAL128: return 16;
    default: return 0;
  }
}

bool td_type_is_varlen(td_type_id t) { return td_type_is_text(t) || td_type_is_binary(t); }
bool td_type_is_text(td_type_id t) { return t == TD_TYPE_UTF8 || t == TD_TYPE_LARGE_UTF8; }
bool td_type_is_binary(td_type_id t) { return t == TD_TYPE_BINARY || t == TD_TYPE_LARGE_BINARY; }
td_type_id td_type_small(td_type_id t) {
  return t == TD_TYPE_LARGE_UTF8 ? TD_TYPE_UTF8 : t == TD_TYPE_LARGE_BINARY ? TD_TYPE_BINARY : t;
}

bool td_type_is_timestamp(td_type_id t) {
  return t == TD_TYPE_TIMESTAMP || t == TD_TYPE_TIMESTAMP_S || t == TD_TYPE_TIMESTAMP_MS ||
         t == TD_TYPE_TIMESTAMP_US;
}

bool td_type_is_temporal(td_type_id t) { return td_type_unit_ns(t) != 0; }

bool td_type_is_duration(td_type_id t) { return t >= TD_TYPE_DURATION_S && t <= TD_TYPE_DURATION_NS; }

int64_t td_duration_unit_ns(td_type_id t) {
  switch (t) {
    case TD_TYPE_DURATION_S: return 1000000000;
    case TD_TYPE_DURATION_MS: return 1000000;
    case TD_TYPE_DURATION_US: return 1000;
    case TD_TYPE_DURATION_NS: return 1;
    default: return 0;
  }
}

int64_t td_type_unit_ns(td_type_id t) {
  switch (t) {
    case TD_TYPE_TIMESTAMP:
    case TD_TYPE_TIME64_NS: return 1;
    case TD_TYPE_TIMESTAMP_US:
    case TD_TYPE_TIME64_US: return 1000;
    case TD_TYPE_TIMESTAMP_MS:
    case TD_TYPE_DATE64:
    case TD_TYPE_TIME32_MS: return 1000000;
    case TD_TYPE_TIMESTAMP_S:
    case TD_TYPE_TIME32_S: return 1000000000;
    case TD_TYPE_DATE32: return 86400000000000LL;
    default: return 0;
  }
}

bool td_type_is_integer(td_type_id t) {
  return t == TD_TYPE_INT8 || t == TD_TYPE_INT16 || t == TD_TYPE_INT32 ||
         t == TD_TYPE_INT64 || t == TD_TYPE_UINT16 || t == TD_TYPE_UINT8 || t == TD_TYPE_UINT32;
}

bool td_type_is_float(td_type_id t) { return t == TD_TYPE_FLOAT32 || t == TD_TYPE_FLOAT64; }

bool td_type_has_param(td_type_id t) { return td_type_is_timestamp(t) || t == TD_TYPE_DECIMAL128; }

int td_type_from_format(const char *format, td_type_id *type, const char **tz,
                        td_error *err) {
  *tz = NULL;
  if (!format) return td_err(err, TD_EINVAL, "schema has no format string");
  if (format[0] && !format[1]) {
    switch (format[0]) {
      case 'b': *type = TD_TYPE_BOOL; return TD_OK;
      case 'c': *type = TD_TYPE_INT8; return TD_OK;
      case 's': *type = TD_TYPE_INT16; return TD_OK;
      case 'i': *type = TD_TYPE_INT32; return TD_OK;
      case 'l': *type = TD_TYPE_INT64; return TD_OK;
      case 'S': *type = TD_TYPE_UINT16; return TD_OK;
      case 'C': *type = TD_TYPE_UINT8; return TD_OK;
      case 'I': *type = TD_TYPE_UINT32; return TD_OK;
      case 'L': *type = TD_TYPE_UINT64; return TD_OK;
      case 'f': *type = TD_TYPE_FLOAT32; return TD_OK;
      case 'g': *type = TD_TYPE_FLOAT64; return TD_OK;
      case 'u': *type = TD_TYPE_UTF8; return TD_OK;
      case 'z': *type = TD_TYPE_BINARY; return TD_OK;
      case 'U': *type = TD_TYPE_LARGE_UTF8; return TD_OK;
      case 'Z': *type = TD_TYPE_LARGE_BINARY; return TD_OK;
      default: break;
    }
  }
  for (td_type_id d = TD_TYPE_DURATION_S; d <= TD_TYPE_DURATION_NS; d++)
    if (strcmp(format, td_type_format(d)) == 0) {
      *type = d;
      return TD_OK;
    }
  static const td_type_id temporal[] = {TD_TYPE_TIMESTAMP,   TD_TYPE_TIMESTAMP_S, TD_TYPE_TIMESTAMP_MS,
                                         TD_TYPE_TIMESTAMP_US, TD_TYPE_DATE32,     TD_TYPE_DATE64,
                                         TD_TYPE_TIME32_S,    TD_TYPE_TIME32_MS,   TD_TYPE_TIME64_US,
                                         TD_TYPE_TIME64_NS};
  if (strncmp(format, "d:", 2) == 0) {
    int p, sc;
    if (!td_dec_params(format + 2, &p, &sc))
      return td_err(err, TD_EUNSUPPORTED,
                    "unsupported Arrow decimal '%s' (expected d:precision,scale with precision 1..38 and "
                    "0 <= scale <= precision, 128 bits)",
                    format);
    *type = TD_TYPE_DECIMAL128;
    *tz = format + 2;
    return TD_OK;
  }
  for (size_t i = 0; i < sizeof temporal / sizeof temporal[0]; i++) {
    const char *f = td_type_format(temporal[i]);
    size_t n = strlen(f);
    if (td_type_is_timestamp(temporal[i]) ? strncmp(format, f, n) == 0 : strcmp(format, f) == 0) {
      *type = temporal[i];
      *tz = td_type_is_timestamp(temporal[i]) && format[n] ? format + n : NULL;
      return TD_OK;
    }
  }
  return td_err(err, TD_EUNSUPPORTED,
                "unsupported Arrow type '%s' (supported: bool, int8, int16, int32, "
                "int64, uint8, uint16, uint32, uint64, float32, float64, utf8, large_utf8, binary, large_binary, date32, date64, timestamp[s|ms|us|ns], "
                "time32[s|ms], time64[us|ns], duration[s|ms|us|ns], decimal128)",
                format);
}

void td_schema_init(td_schema *s) { memset(s, 0, sizeof *s); }

void td_field_reset(td_field *f) {
  td_free(f->name);
  td_free(f->tz);
  memset(f, 0, sizeof *f);
}

void td_schema_reset(td_schema *s) {
  for (int64_t i = 0; i < s->n_fields; i++) td_field_reset(&s->fields[i]);
  td_free(s->fields);
  td_free(s->index);
  td_schema_init(s);
}

/* Schemas of up to this many fields are searched linearly. */
#define TD_SCHEMA_LINEAR 16

static uint64_t name_hash(const char *name) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 1099511628211ull;
  h ^= h >> 33; /* mix the high bits into the low ones the index uses */
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 33);
}

/* An index slot: the name's hash in the high 32 bits (compared before the
 * name itself), field + 1 in the low 32 bits; 0 is empty. */
#define TD_SLOT_FIELD(x) ((int64_t)((uint64_t)(x) & 0xffffffffu) - 1)
#define TD_SLOT_TAG(h) ((uint64_t)(h) >> 32 << 32)

/* Adds field i to the index unless a field of that name is there already. */
static void index_put(td_schema *s, int64_t i) {
  uint64_t h = name_hash(s->fields[i].name), mask = (uint64_t)s->index_cap - 1, k = h & mask;
  for (; s->index[k]; k = (k + 1) & mask)
    if (TD_SLOT_TAG(s->index[k]) == TD_SLOT_TAG(h) &&
        strcmp(s->fields[TD_SLOT_FIELD(s->index[k])].name, s->fields[i].name) == 0)
      return;
  s->index[k] = TD_SLOT_TAG(h) | (i + 1);
}

/* Keeps the index in step with a field just appended.  Without memory for
 * a bigger index the schema falls back to linear search (still correct). */
static void index_added(td_schema *s) {
  if (s->n_fields <= TD_SCHEMA_LINEAR || s->n_fields >= INT32_MAX) return;
  if (s->index && s->n_fields * 2 < s->index_cap) {
    index_put(s, s->n_fields - 1);
    return;
  }
  int64_t cap = 64;
  while (cap < s->n_fields * 4) cap *= 2;
  td_free(s->index);
  s->index = td_calloc((size_t)cap, sizeof *s->index);
  s->index_cap = s->index ? cap : 0;
  for (int64_t i = 0; s->index && i < s->n_fields; i++) index_put(s, i);
}

/* Room for one more field (capacity doubles). */
static int reserve_one(td_schema *s, td_error *err) {
  if (s->n_fields < s->cap) return TD_OK;
  int64_t cap = s->cap ? s->cap * 2 : 4;
  td_field *nf = td_realloc(s->fields, (size_t)cap * sizeof *nf);
  if (!nf) return td_err_nomem(err, "adding a schema field");
  s->fields = nf;
  s->cap = cap;
  return TD_OK;
}

int td_schema_add(td_schema *s, const char *name, td_type_id type, const char *tz,
                  bool nullable, td_error *err) {
  int rc = reserve_one(s, err);
  if (rc) return rc;
  char dparam[16];
  if (type == TD_TYPE_DECIMAL128) { /* the "p,s" parameter, canonical */
    int p, sc;
    if (!td_dec_params(tz, &p, &sc))
      return td_err(err, TD_EINVAL, "decimal128 column '%s' needs a precision and scale (\"p,s\"), found '%s'",
                    name ? name : "", tz ? tz : "");
    td_dec_param_text(p, sc, dparam, sizeof dparam);
    tz = dparam;
  }
  td_field *f = &s->fields[s->n_fields];
  memset(f, 0, sizeof *f);
  f->name = td_strdup(name ? name : "");
  f->tz = (td_type_has_param(type) && tz && *tz) ? td_strdup(tz) : NULL;
  if (!f->name || (td_type_has_param(type) && tz && *tz && !f->tz)) {
    td_field_reset(f);
    if (s->n_fields == 0) { /* leave an empty schema as empty as it was */
      td_free(s->fields);
      s->fields = NULL;
      s->cap = 0;
    }
    return td_err_nomem(err, "adding a schema field");
  }
  f->type = type;
  f->nullable = nullable;
  s->n_fields++;
  index_added(s);
  return TD_OK;
}

int td_schema_copy(const td_schema *src, td_schema *dst, td_error *err) {
  td_schema_init(dst);
  for (int64_t i = 0; i < src->n_fields; i++) {
    const td_field *f = &src->fields[i];
    int rc = td_schema_add(dst, f->name, f->type, f->tz, f->nullable, err);
    if (rc) {
      td_schema_reset(dst);
      return rc;
    }
  }
  return TD_OK;
}

int64_t td_schema_find(const td_schema *s, const char *name) {
  if (!s->index) {
    for (int64_t i = 0; i < s->n_fields; i++)
      if (strcmp(s->fields[i].name, name) == 0) return i;
    return -1;
  }
  if (s->n_fields >= INT32_MAX) { /* beyond what the index holds */
    for (int64_t i = 0; i < s->n_fields; i++)
      if (strcmp(s->fields[i].name, name) == 0) return i;
    return -1;
  }
  uint64_t h = name_hash(name), mask = (uint64_t)s->index_cap - 1, k = h & mask;
  for (; s->index[k]; k = (k + 1) & mask)
    if (TD_SLOT_TAG(s->index[k]) == TD_SLOT_TAG(h) && strcmp(s->fields[TD_SLOT_FIELD(s->index[k])].name, name) == 0)
      return TD_SLOT_FIELD(s->index[k]);
  return -1;
}

bool td_field_same_type(const td_field *a, const td_field *b) {
  if (a->type != b->type) return false;
  if (!td_type_has_param(a->type)) return true;
  const char *ta = a->tz ? a->tz : "", *tb = b->tz ? b->tz : "";
  return strcmp(ta, tb) == 0;
}

const char *td_field_type_text(const td_field *f, char *buf, size_t size) {
  static const char *units[] = {"ns", "s", "ms", "us"};
  if (td_type_is_timestamp(f->type))
    snprintf(buf, size, "timestamp[%s%s%s]",
             units[f->type == TD_TYPE_TIMESTAMP ? 0 : f->type - TD_TYPE_TIMESTAMP_S + 1],
             f->tz ? ", tz=" : "", f->tz ? f->tz : "");
  else if (f->type == TD_TYPE_DECIMAL128)
    snprintf(buf, size, "decimal128(%s)", f->tz ? f->tz : "?");
  else
    snprintf(buf, size, "%s", td_type_name(f->type));
  return buf;
}

int td_field_import(const struct ArrowSchema *in, td_field *out, td_error *err) {
  memset(out, 0, sizeof *out);
  if (!in || !in->release) return td_err(err, TD_EINVAL, "schema is released or NULL");
  td_type_id type = TD_TYPE_NONE;
  const char *tz;
  int rc = td_type_from_format(in->format, &type, &tz, err);
  if (rc) {
    return td_err_prefix(err, rc, "column '%s': ", in->name ? in->name : "");
  }
  if (in->dictionary)
    return td_err(err, TD_EUNSUPPORTED, "column '%s': dictionary-encoded columns are not supported",
                  in->name ? in->name : "");
  if (in->n_children != 0)
    return td_err(err, TD_EUNSUPPORTED, "column '%s': nested type '%s' is not supported",
                  in->name ? in->name : "", in->format);
  td_schema tmp;
  td_schema_init(&tmp);
  rc = td_schema_add(&tmp, in->name ? in->name : "", type, tz,
                     (in->flags & ARROW_FLAG_NULLABLE) != 0, err);
  if (rc) {
    td_schema_reset(&tmp);
    return rc;
  }
  *out = tmp.fields[0];
  td_free(tmp.fields); /* one field: no index */
  return TD_OK;
}

int td_schema_import(const struct ArrowSchema *in, td_schema *out, td_error *err) {
  td_schema_init(out);
  if (!in || !in->release) return td_err(err, TD_EINVAL, "schema is released or NULL");
  if (!in->format || strcmp(in->format, "+s") != 0)
    return td_err(err, TD_EINVAL, "expected a struct schema (format '+s') listing the columns, found format '%s'",
                  in->format ? in->format : "(null)");
  if (in->n_children < 0 || (in->n_children > 0 && !in->children))
    return td_err(err, TD_EINVAL, "a struct schema of %lld columns has no children array", (long long)in->n_children);
  for (int64_t i = 0; i < in->n_children; i++) {
    td_field f;
    if (in->children[i] && in->children[i]->release && !in->children[i]->name)
      return td_err(err, TD_EINVAL, "column %lld of the struct schema has no name (NULL)", (long long)i);
    int rc = td_field_import(in->children[i], &f, err);
    if (rc) {
      td_schema_reset(out);
      return rc;
    }
    if (td_schema_find(out, f.name) >= 0) {
      rc = td_err(err, TD_EINVAL, "duplicate column name '%s' in schema", f.name);
      td_field_reset(&f);
      td_schema_reset(out);
      return rc;
    }
    if ((rc = reserve_one(out, err)) != TD_OK) {
      td_field_reset(&f);
      td_schema_reset(out);
      return rc;
    }
    out->fields[out->n_fields++] = f;
    index_added(out);
  }
  return TD_OK;
}

/* ---- export ---- */

typedef struct schema_priv {
  char *format;
  char *name;
  struct ArrowSchema **children;
} schema_priv;

static void schema_release(struct ArrowSchema *s) {
  if (!s || !s->release) return;
  schema_priv *p = s->private_data;
  for (int64_t i = 0; i < s->n_children; i++) {
    struct ArrowSchema *c = s->children[i];
    if (c->release) c->release(c);
    td_free(c);
  }
  if (p) {
    td_free(p->format);
    td_free(p->name);
    td_free(p->children);
    td_free(p);
  }
  s->release = NULL;
}

static int schema_make(struct ArrowSchema *out, const char *format, const char *name,
                       int64_t flags, int64_t n_children, td_error *err) {
  memset(out, 0, sizeof *out);
  schema_priv *p = td_calloc(1, sizeof *p);
  if (!p) return td_err_nomem(err, "exporting a schema");
  p->format = td_strdup(format);
  p->name = name ? td_strdup(name) : NULL;
  p->children = n_children ? td_calloc((size_t)n_children, sizeof *p->children) : NULL;
  if (!p->format || (name && !p->name) || (n_children && !p->children)) {
    td_free(p->format);
    td_free(p->name);
    td_free(p->children);
    td_free(p);
    return td_err_nomem(err, "exporting a schema");
  }
  out->format = p->format;
  out->name = p->name;
  out->flags = flags;
  out->children = p->children;
  out->n_children = 0; /* grows as children are filled in */
  out->private_data = p;
  out->release = schema_release;
  return TD_OK;
}

int td_field_export(const td_field *f, struct ArrowSchema *out, td_error *err) {
  char fmt[256];
  if (td_type_has_param(f->type))
    snprintf(fmt, sizeof fmt, "%s%s", td_type_format(f->type), f->tz ? f->tz : "");
  else
    snprintf(fmt, sizeof fmt, "%s", td_type_format(f->type));
  return schema_make(out, fmt, f->name, f->nullable ? ARROW_FLAG_NULLABLE : 0, 0, err);
}

int td_schema_export(const td_schema *s, struct ArrowSchema *out, td_error *err) {
  int rc = schema_make(out, "+s", "", 0, s->n_fields, err);
  if (rc) return rc;
  for (int64_t i = 0; i < s->n_fields; i++) {
    struct ArrowSchema *c = td_malloc(sizeof *c);
    if (!c) {
      out->release(out);
      return td_err_nomem(err, "exporting a schema");
    }
    rc = td_field_export(&s->fields[i], c, err);
    if (rc) {
      td_free(c);
      out->release(out);
      return rc;
    }
    out->children[i] = c;
    out->n_children = i + 1;
  }
  return TD_OK;
}
