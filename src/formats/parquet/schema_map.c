/*
 * formats/parquet/schema_map.c - maps Parquet schema elements (physical,
 * logical and legacy converted types) onto engine types, and describes the
 * columns that cannot be read (nested groups, decimals, ...) for the
 * reader's list of unsupported columns.
 */
#include "formats/parquet/schema_map.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

static const char *phys_name(int t) {
  static const char *names[] = {"boolean", "int32",  "int64",  "int96",
                                "float",   "double", "binary", "fixed_len_byte_array"};
  return t >= 0 && t < 8 ? names[t] : "unknown";
}

static const char *unit_name(int u) {
  return u == PQ_UNIT_MILLIS ? "MILLIS" : u == PQ_UNIT_MICROS ? "MICROS" : u == PQ_UNIT_NANOS ? "NANOS" : "?";
}

static bool set(pq_colinfo *ci, int conv, td_type_id type) {
  ci->conv = conv;
  ci->type = type;
  return true;
}

static bool fail(char *why, size_t n, const char *fmt, ...) TD_PRINTF(3, 4);
static bool fail(char *why, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, n, fmt, ap);
  va_end(ap);
  return false;
}

/* Integer annotations: logical INTEGER or legacy INT_n / UINT_n. */
static bool int_kind(const pq_schema_elem *e, int *bits, bool *is_signed) {
  if (e->logical.kind == PQ_LT_INTEGER) {
    *bits = e->logical.bit_width;
    *is_signed = e->logical.is_signed;
    return true;
  }
  static const struct { int ct, bits; bool s; } m[] = {
      {PQ_CT_INT_8, 8, true},    {PQ_CT_INT_16, 16, true},   {PQ_CT_INT_32, 32, true},
      {PQ_CT_INT_64, 64, true},  {PQ_CT_UINT_8, 8, false},   {PQ_CT_UINT_16, 16, false},
      {PQ_CT_UINT_32, 32, false}, {PQ_CT_UINT_64, 64, false}};
  for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
    if (e->converted == m[i].ct) {
      *bits = m[i].bits;
      *is_signed = m[i].s;
      return true;
    }
  return false;
}

/* DECIMAL (logical or legacy) on INT32, INT64, FIXED_LEN_BYTE_ARRAY(<= 16)
 * or BYTE_ARRAY: decimal128 of the same precision and scale.  Returns 0 when
 * the column is no decimal, 1 when mapped, -1 when refused (why set). */
static int map_decimal(const pq_schema_elem *e, pq_colinfo *ci, char *why, size_t n) {
  const pq_logical *l = &e->logical;
  int p, sc;
  if (l->kind == PQ_LT_DECIMAL) p = l->precision, sc = l->scale;
  else if (e->converted == PQ_CT_DECIMAL && l->kind == PQ_LT_NONE) p = e->precision, sc = e->scale;
  else return 0;
  if (p < 1 || p > TD_DECIMAL128_MAX_PRECISION || sc < 0 || sc > p)
    return fail(why, n, "DECIMAL(%d,%d) is not supported (precision 1..38, 0 <= scale <= precision)", p, sc) - 1;
  int conv;
  switch (e->type) {
    case PQ_INT32: conv = PQ_CV_DEC_I32, ci->pw = 4; break;
    case PQ_INT64: conv = PQ_CV_DEC_I64, ci->pw = 8; break;
    case PQ_BYTE_ARRAY: conv = PQ_CV_DEC_BYTES; break;
    case PQ_FLBA:
      if (e->type_length < 1 || e->type_length > 16)
        return fail(why, n, "DECIMAL(%d,%d) on FIXED_LEN_BYTE_ARRAY(%d) is not supported (1 to 16 bytes)", p, sc,
                    e->type_length) - 1;
      conv = PQ_CV_DEC_FLBA, ci->pw = e->type_length;
      break;
    default: return fail(why, n, "DECIMAL(%d,%d) on %s is not supported", p, sc, phys_name(e->type)) - 1;
  }
  ci->precision = p;
  ci->scale = sc;
  set(ci, conv, TD_TYPE_DECIMAL128);
  return 1;
}

/* Annotations that no physical type can carry here. */
static bool unsupported_annotation(const pq_schema_elem *e, char *why, size_t n) {
  const pq_logical *l = &e->logical;
  if (e->converted == PQ_CT_INTERVAL)
    return !fail(why, n, "INTERVAL is not supported");
  static const struct { int kind; const char *name; } other[] = {
      {PQ_LT_BSON, "BSON"},         {PQ_LT_VARIANT, "VARIANT"},
      {PQ_LT_GEOMETRY, "GEOMETRY"}, {PQ_LT_GEOGRAPHY, "GEOGRAPHY"}};
  for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
    if (l->kind == other[i].kind) return !fail(why, n, "%s is not supported", other[i].name);
  if (l->kind == PQ_LT_NONE && e->converted == PQ_CT_BSON)
    return !fail(why, n, "BSON is not supported");
  return false;
}

static bool map_int32(const pq_schema_elem *e, pq_colinfo *ci, char *why, size_t n) {
  int bits;
  bool s;
  if (e->logical.kind == PQ_LT_DATE || (e->logical.kind == PQ_LT_NONE && e->converted == PQ_CT_DATE))
    return set(ci, PQ_CV_COPY4, TD_TYPE_DATE32);
  if ((e->logical.kind == PQ_LT_TIME && e->logical.unit == PQ_UNIT_MILLIS) ||
      (e->logical.kind == PQ_LT_NONE && e->converted == PQ_CT_TIME_MILLIS))
    return set(ci, PQ_CV_COPY4, TD_TYPE_TIME32_MS);
  if (e->logical.kind == PQ_LT_TIME)
    return fail(why, n, "TIME(%s) on int32 is not supported", unit_name(e->logical.unit));
  if (!int_kind(e, &bits, &s)) return set(ci, PQ_CV_COPY4, TD_TYPE_INT32);
  if (s && bits == 8) return set(ci, PQ_CV_I32_I8, TD_TYPE_INT8);
  if (s && bits == 16) return set(ci, PQ_CV_I32_I16, TD_TYPE_INT16);
  if (s && bits == 32) return set(ci, PQ_CV_COPY4, TD_TYPE_INT32);
  if (!s && bits == 8) return set(ci, PQ_CV_U8, TD_TYPE_UINT8);
  if (!s && bits == 16) return set(ci, PQ_CV_U16, TD_TYPE_UINT16);
  if (!s && bits == 32) return set(ci, PQ_CV_COPY4, TD_TYPE_UINT32);
  return fail(why, n, "INT(%d, %s) on int32 is not supported", bits, s ? "signed" : "unsigned");
}

static bool map_int64(const pq_schema_elem *e, pq_colinfo *ci, const char **tz, char *why,
                      size_t n) {
  const pq_logical *l = &e->logical;
  if (l->kind == PQ_LT_TIMESTAMP) {
    *tz = l->utc ? "UTC" : NULL;
    /* the unit is kept: no rescaling, so every value of the file reads */
    if (l->unit == PQ_UNIT_MILLIS) return set(ci, PQ_CV_COPY8, TD_TYPE_TIMESTAMP_MS);
    if (l->unit == PQ_UNIT_MICROS) return set(ci, PQ_CV_COPY8, TD_TYPE_TIMESTAMP_US);
    if (l->unit == PQ_UNIT_NANOS) return set(ci, PQ_CV_COPY8, TD_TYPE_TIMESTAMP);
    return fail(why, n, "TIMESTAMP with an unknown unit is not supported");
  }
  if (l->kind == PQ_LT_NONE && (e->converted == PQ_CT_TIMESTAMP_MILLIS ||
                                e->converted == PQ_CT_TIMESTAMP_MICROS)) {
    *tz = "UTC";
    return set(ci, PQ_CV_COPY8,
               e->converted == PQ_CT_TIMESTAMP_MILLIS ? TD_TYPE_TIMESTAMP_MS : TD_TYPE_TIMESTAMP_US);
  }
  if (l->kind == PQ_LT_TIME) {
    if (l->unit == PQ_UNIT_MICROS) return set(ci, PQ_CV_COPY8, TD_TYPE_TIME64_US);
    if (l->unit == PQ_UNIT_NANOS) return set(ci, PQ_CV_COPY8, TD_TYPE_TIME64_NS);
    return fail(why, n, "TIME(%s) on int64 is not supported", unit_name(l->unit));
  }
  if (l->kind == PQ_LT_NONE && e->converted == PQ_CT_TIME_MICROS)
    return set(ci, PQ_CV_COPY8, TD_TYPE_TIME64_US);
  int bits;
  bool s;
  if (!int_kind(e, &bits, &s) || (s && bits == 64)) return set(ci, PQ_CV_COPY8, TD_TYPE_INT64);
  if (!s && bits == 64) return set(ci, PQ_CV_COPY8, TD_TYPE_UINT64);
  return fail(why, n, "INT(%d) on int64 is not supported", bits);
}

bool pq_map_type(const pq_schema_elem *e, pq_colinfo *ci, const char **tz, char *why, size_t n) {
  memset(ci, 0, sizeof *ci);
  *tz = NULL;
  ci->phys = e->type;
  ci->type_length = e->type_length;
  int dec = map_decimal(e, ci, why, n);
  if (dec) return dec > 0;
  if (unsupported_annotation(e, why, n)) return false;
  switch (e->type) {
    case PQ_BOOLEAN: return set(ci, PQ_CV_BOOL, TD_TYPE_BOOL);
    case PQ_INT32: ci->pw = 4; return map_int32(e, ci, why, n);
    case PQ_INT64: ci->pw = 8; return map_int64(e, ci, tz, why, n);
    case PQ_INT96: ci->pw = 12; return set(ci, PQ_CV_INT96, TD_TYPE_TIMESTAMP);
    case PQ_FLOAT: ci->pw = 4; return set(ci, PQ_CV_COPY4, TD_TYPE_FLOAT32);
    case PQ_DOUBLE: ci->pw = 8; return set(ci, PQ_CV_COPY8, TD_TYPE_FLOAT64);
    case PQ_BYTE_ARRAY: /* text annotations promise UTF-8: it is checked */
      ci->text = e->logical.kind == PQ_LT_STRING || e->logical.kind == PQ_LT_ENUM || e->logical.kind == PQ_LT_JSON ||
                 (e->logical.kind == PQ_LT_NONE &&
                  (e->converted == PQ_CT_UTF8 || e->converted == PQ_CT_ENUM || e->converted == PQ_CT_JSON));
      return set(ci, PQ_CV_BYTES, ci->text ? TD_TYPE_UTF8 : TD_TYPE_BINARY); /* unannotated: bytes */
    case PQ_FLBA:
      if (e->logical.kind == PQ_LT_FLOAT16) {
        if (e->type_length != 2)
          return fail(why, n, "FLOAT16 with a length of %d bytes is not supported", e->type_length);
        ci->pw = 2;
        return set(ci, PQ_CV_F16, TD_TYPE_FLOAT32);
      }
      if (e->logical.kind == PQ_LT_UUID && e->type_length != 16)
        return fail(why, n, "UUID with a length of %d bytes is not supported (16 expected)", e->type_length);
      if (e->logical.kind != PQ_LT_NONE && e->logical.kind != PQ_LT_UUID)
        return fail(why, n, "FIXED_LEN_BYTE_ARRAY(%d) with logical type %d is not supported", e->type_length,
                    e->logical.kind);
      ci->pw = e->type_length; /* each value its fixed-width bytes (UUID: the 16 bytes, as DuckDB's BLOB) */
      return set(ci, PQ_CV_FLBA, TD_TYPE_BINARY);
    default: return fail(why, n, "physical type %d is not supported", e->type);
  }
}

/* ---- describing unsupported (nested) columns ---- */

typedef struct desc {
  char *buf;
  size_t size, len;
} desc;

static void put(desc *d, const char *s) {
  size_t n = strlen(s);
  if (d->len + n + 1 > d->size) n = d->size > d->len + 1 ? d->size - d->len - 1 : 0;
  memcpy(d->buf + d->len, s, n);
  d->len += n;
  d->buf[d->len] = 0;
}

static void leaf_name(const pq_schema_elem *e, desc *d) {
  pq_colinfo ci;
  const char *tz;
  char why[128];
  if (pq_map_type(e, &ci, &tz, why, sizeof why)) put(d, td_type_name(ci.type));
  else if (e->logical.kind == PQ_LT_DECIMAL || e->converted == PQ_CT_DECIMAL) put(d, "decimal");
  else put(d, phys_name(e->type));
}

static bool is_group(const pq_schema_elem *e) { return e->num_children > 0 || e->type < 0; }

/* Describes the subtree at *i (advancing *i past it). */
static void describe(const pq_schema_elem *s, int32_t n, int32_t *i, desc *d, int depth) {
  if (*i >= n || depth > 64) return;
  const pq_schema_elem *e = &s[(*i)++];
  bool repeated = e->repetition == PQ_REPEATED;
  if (repeated) put(d, "list<");
  bool list = e->logical.kind == PQ_LT_LIST || e->converted == PQ_CT_LIST;
  bool map = e->logical.kind == PQ_LT_MAP || e->converted == PQ_CT_MAP ||
             e->converted == PQ_CT_MAP_KEY_VALUE;
  if (!is_group(e)) {
    leaf_name(e, d);
  } else if ((list || map) && e->num_children == 1 && *i < n && is_group(&s[*i]) &&
             s[*i].repetition == PQ_REPEATED) {
    /* LIST / MAP wrap one repeated group: its children are the element(s). */
    const pq_schema_elem *rep = &s[(*i)++];
    put(d, map ? "map<" : "list<");
    for (int32_t c = 0; c < rep->num_children && *i < n; c++) {
      if (c) put(d, ", ");
      describe(s, n, i, d, depth + 1);
    }
    put(d, ">");
  } else if (list && e->num_children == 1) {
    describe(s, n, i, d, depth + 1); /* a repeated element says "list<...>" itself */
  } else {
    put(d, "struct<");
    for (int32_t c = 0; c < e->num_children && *i < n; c++) {
      if (c) put(d, ", ");
      put(d, s[*i].name);
      put(d, ": ");
      describe(s, n, i, d, depth + 1);
    }
    put(d, ">");
  }
  if (repeated) put(d, ">");
}

void pq_describe_nested(const pq_schema_elem *s, int32_t n, int32_t i, char *buf, size_t size) {
  desc d = {buf, size, 0};
  buf[0] = 0;
  put(&d, "nested type ");
  describe(s, n, &i, &d, 0);
  put(&d, " is not supported");
}
