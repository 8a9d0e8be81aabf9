/*
 * backends/postgres/pg_types.c - PostgreSQL types to tabledata types, and the
 * decoder of PostgreSQL's binary formats (COPY FORMAT binary and binary
 * query results).  Pure functions over bytes: no libpq here.
 *
 * Binary formats (all big-endian):
 *   bool 1 byte; int2/int4/int8 (and xid8) two's complement; float4/float8
 *   IEEE 754; text the bytes (client_encoding UTF8); date int32 days since
 *   2000-01-01; timestamp[tz] int64 microseconds since 2000-01-01 00:00 UTC;
 *   numeric int16 ndigits, int16 weight, uint16 sign, int16 dscale, then
 *   ndigits base-10000 digits, the first weighing 10000^weight.
 * Infinite dates and timestamps, and values outside the nanosecond range
 * (years 1677..2262), are errors: a value is never changed silently.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backends/postgres/pg_internal.h"
#include "util/alloc.h"

enum {
  OID_BOOL = 16,
  OID_BYTEA = 17,
  OID_NAME = 19,
  OID_INT8 = 20,
  OID_INT2 = 21,
  OID_INT4 = 23,
  OID_TEXT = 25,
  OID_FLOAT4 = 700,
  OID_FLOAT8 = 701,
  OID_BPCHAR = 1042,
  OID_VARCHAR = 1043,
  OID_DATE = 1082,
  OID_TIMESTAMP = 1114,
  OID_TIMESTAMPTZ = 1184,
  OID_NUMERIC = 1700,
  OID_XID8 = 5069
};

/* Seconds from 1970-01-01 to 2000-01-01. */
#define PG_EPOCH_S INT64_C(946684800)

bool td__pg_map_type(uint32_t oid, bool numeric_as_float64, td_pg_kind *kind, td_type_id *type, const char **tz,
                     const char **reason) {
  *tz = NULL;
  *reason = NULL;
  switch (oid) {
    case OID_BOOL: *kind = TD_PG_BOOL, *type = TD_TYPE_BOOL; return true;
    case OID_INT2: *kind = TD_PG_INT2, *type = TD_TYPE_INT16; return true;
    case OID_INT4: *kind = TD_PG_INT4, *type = TD_TYPE_INT32; return true;
    case OID_INT8:
    case OID_XID8: *kind = TD_PG_INT8, *type = TD_TYPE_INT64; return true;
    case OID_FLOAT4: *kind = TD_PG_FLOAT4, *type = TD_TYPE_FLOAT32; return true;
    case OID_FLOAT8: *kind = TD_PG_FLOAT8, *type = TD_TYPE_FLOAT64; return true;
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_NAME: *kind = TD_PG_TEXT, *type = TD_TYPE_UTF8; return true;
    case OID_BYTEA: *kind = TD_PG_TEXT, *type = TD_TYPE_BINARY; return true; /* binary format: the bytes */
    case OID_DATE: *kind = TD_PG_DATE, *type = TD_TYPE_TIMESTAMP; return true;
    case OID_TIMESTAMP: *kind = TD_PG_TIMESTAMP, *type = TD_TYPE_TIMESTAMP; return true;
    case OID_TIMESTAMPTZ: *kind = TD_PG_TIMESTAMPTZ, *type = TD_TYPE_TIMESTAMP, *tz = "UTC"; return true;
    case OID_NUMERIC:
      if (numeric_as_float64) {
        *kind = TD_PG_NUMERIC, *type = TD_TYPE_FLOAT64;
        return true;
      }
      *reason = "numeric has no exact tabledata type (there is no decimal type); open with numeric=float64 "
                "(option numeric_as_float64) to read it as float64";
      return false;
    default: *reason = "this PostgreSQL type is not mapped (cast it to a mapped type in a view)"; return false;
  }
}

static bool bad(char *why, size_t n, const char *fmt, long long a) {
  snprintf(why, n, fmt, a);
  return false;
}

/* Microseconds since 2000-01-01 to nanoseconds since 1970, range-checked. */
static bool us_to_ns(int64_t us, int64_t *ns) {
  const int64_t off = PG_EPOCH_S * 1000000;
  if (us > INT64_MAX / 1000 - off || us < INT64_MIN / 1000 - off) return false;
  *ns = (us + off) * 1000;
  return true;
}

static bool decode_numeric(const char *p, int32_t len, double *out, char *why, size_t n) {
  if (len < 8) return bad(why, n, "a numeric of %lld bytes (at least 8 expected)", len);
  int ndigits = (int16_t)td__pg_u16(p);
  int weight = (int16_t)td__pg_u16(p + 2);
  uint16_t sign = td__pg_u16(p + 4);
  if (ndigits < 0 || len != 8 + 2 * ndigits) return bad(why, n, "a numeric of %lld bytes that does not match its digit count", len);
  if (sign == 0xC000) {
    *out = NAN;
    return true;
  }
  if (sign == 0xD000 || sign == 0xF000) {
    *out = sign == 0xD000 ? INFINITY : -INFINITY;
    return true;
  }
  if (sign != 0 && sign != 0x4000) return bad(why, n, "a numeric with an unknown sign word 0x%llx", sign);
  /* Horner over base-10000 digits; exact enough for float64 (the option
   * says values are rounded). */
  double v = 0;
  for (int i = 0; i < ndigits; i++) {
    uint16_t d = td__pg_u16(p + 8 + 2 * i);
    if (d >= 10000) return bad(why, n, "a numeric digit %lld out of range (base 10000)", d);
    v = v * 10000 + d;
  }
  v *= pow(10000.0, (double)(weight - ndigits + 1));
  *out = sign == 0x4000 ? -v : v;
  return true;
}

bool td__pg_decode_value(td_pg_kind kind, const char *buf, int32_t len, td_value *out, char *why, size_t n) {
  static const td_type_id types[] = {TD_TYPE_BOOL,    TD_TYPE_INT16,   TD_TYPE_INT32,    TD_TYPE_INT64,
                                     TD_TYPE_FLOAT32, TD_TYPE_FLOAT64, TD_TYPE_FLOAT64,  TD_TYPE_UTF8,
                                     TD_TYPE_TIMESTAMP, TD_TYPE_TIMESTAMP, TD_TYPE_TIMESTAMP};
  memset(out, 0, sizeof *out);
  out->type = types[kind];
  if (len < 0) {
    out->is_null = true;
    return true;
  }
  static const int32_t sizes[] = {1, 2, 4, 8, 4, 8, -1, -1, 4, 8, 8};
  if (sizes[kind] >= 0 && len != sizes[kind])
    return snprintf(why, n, "a value of %d bytes where %d were expected", (int)len, (int)sizes[kind]), false;
  switch (kind) {
    case TD_PG_BOOL: out->v.b = buf[0] != 0; return true;
    case TD_PG_INT2: out->v.i = (int16_t)td__pg_u16(buf); return true;
    case TD_PG_INT4: out->v.i = (int32_t)td__pg_u32(buf); return true;
    case TD_PG_INT8: out->v.i = (int64_t)td__pg_u64(buf); return true;
    case TD_PG_FLOAT4: {
      uint32_t u = td__pg_u32(buf);
      float f;
      memcpy(&f, &u, 4);
      out->v.f = f;
      return true;
    }
    case TD_PG_FLOAT8: {
      uint64_t u = td__pg_u64(buf);
      memcpy(&out->v.f, &u, 8);
      return true;
    }
    case TD_PG_NUMERIC: return decode_numeric(buf, len, &out->v.f, why, n);
    case TD_PG_TEXT:
      out->v.s.ptr = buf;
      out->v.s.len = (size_t)len;
      return true;
    case TD_PG_DATE: {
      int32_t days = (int32_t)td__pg_u32(buf);
      if (days == INT32_MAX || days == INT32_MIN)
        return snprintf(why, n, "the date %sinfinity, which a timestamp cannot hold", days == INT32_MIN ? "-" : ""),
               false;
      if (!us_to_ns((int64_t)days * 86400 * 1000000, &out->v.i))
        return bad(why, n, "a date %lld days from 2000-01-01, outside the nanosecond timestamp range (1677..2262)",
                   days);
      return true;
    }
    case TD_PG_TIMESTAMP:
    case TD_PG_TIMESTAMPTZ: {
      int64_t us = (int64_t)td__pg_u64(buf);
      if (us == INT64_MAX || us == INT64_MIN)
        return snprintf(why, n, "the timestamp %sinfinity, which tabledata cannot hold", us == INT64_MIN ? "-" : ""),
               false;
      if (!us_to_ns(us, &out->v.i))
        return bad(why, n, "a timestamp %lld us from 2000-01-01, outside the nanosecond range (years 1677..2262)",
                   (long long)us);
      return true;
    }
  }
  return bad(why, n, "an unknown decoder %lld", kind);
}

/* ---- COPY binary stream ---- */

static const char k_signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

bool td__pg_copy_feed(td_pg_copy *c, const char *data, size_t n) {
  if (c->pos > 0 && c->pos == c->len) c->pos = c->len = 0;
  if (c->pos > (1u << 20) && c->pos * 2 > c->len) {
    memmove(c->buf, c->buf + c->pos, c->len - c->pos);
    c->len -= c->pos;
    c->pos = 0;
  }
  if (c->len + n > c->cap) {
    size_t cap = c->cap ? c->cap : 65536;
    while (cap < c->len + n) cap *= 2;
    char *b = td_realloc(c->buf, cap);
    if (!b) return false;
    c->buf = b;
    c->cap = cap;
  }
  memcpy(c->buf + c->len, data, n);
  c->len += n;
  return true;
}

int td__pg_copy_next(td_pg_copy *c, int n_fields, const char **fields, int32_t *lens, char *why, size_t n) {
  const char *b = c->buf + c->pos;
  size_t avail = c->len - c->pos;
  if (c->trailer) return 0;
  if (!c->header_done) {
    if (avail < 19) return 0;
    if (memcmp(b, k_signature, 11) != 0) return snprintf(why, n, "COPY output without the PGCOPY signature"), -1;
    uint32_t ext = td__pg_u32(b + 15);
    if (avail < 19 + (size_t)ext) return 0;
    c->pos += 19 + ext;
    c->header_done = true;
    b = c->buf + c->pos;
    avail = c->len - c->pos;
  }
  if (avail < 2) return 0;
  int16_t nf = (int16_t)td__pg_u16(b);
  if (nf == -1) {
    c->trailer = true;
    c->pos += 2;
    return 0;
  }
  if (nf != n_fields)
    return snprintf(why, n, "a COPY tuple of %d fields where %d were expected", (int)nf, n_fields), -1;
  size_t off = 2;
  for (int i = 0; i < nf; i++) {
    if (avail < off + 4) return 0;
    int32_t l = (int32_t)td__pg_u32(b + off);
    off += 4;
    if (l < -1) return snprintf(why, n, "a COPY field length %d", (int)l), -1;
    if (l > 0 && avail < off + (size_t)l) return 0;
    fields[i] = b + off;
    lens[i] = l;
    if (l > 0) off += (size_t)l;
  }
  c->pos += off;
  c->tuples++;
  return 1;
}

void td__pg_copy_reset(td_pg_copy *c) {
  td_free(c->buf);
  memset(c, 0, sizeof *c);
}
