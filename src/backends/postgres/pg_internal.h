/*
 * backends/postgres/pg_internal.h - shared pieces of the PostgreSQL backend:
 * the PostgreSQL types it maps (pg_types.c) and the binary COPY decoder.
 * Depends on libpq only through pg_backend.c; this header is libpq-free.
 */
#ifndef TD_PG_INTERNAL_H
#define TD_PG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tabledata/arrow_build.h"
#include "tabledata/types.h"

/* How a PostgreSQL type's binary representation is decoded. */
typedef enum td_pg_kind {
  TD_PG_BOOL,
  TD_PG_INT2,
  TD_PG_INT4,
  TD_PG_INT8, /* int8 and xid8 */
  TD_PG_FLOAT4,
  TD_PG_FLOAT8,
  TD_PG_NUMERIC, /* to float64, only when asked for */
  TD_PG_TEXT,    /* text, varchar, bpchar, name; bytea (as binary) */
  TD_PG_DATE,    /* to a timestamp at midnight UTC */
  TD_PG_TIMESTAMP,
  TD_PG_TIMESTAMPTZ
} td_pg_kind;

typedef struct td_pg_column {
  char *name;
  char *type_sql; /* format_type(), for casts of literals */
  uint32_t oid;
  td_pg_kind kind;
  td_type_id type;
  const char *tz; /* static: "UTC" for timestamptz, else NULL */
} td_pg_column;

/* Maps a type oid; false with *reason (static text) when it is not carried. */
bool td__pg_map_type(uint32_t oid, bool numeric_as_float64, td_pg_kind *kind, td_type_id *type, const char **tz,
                     const char **reason);

/* Decodes one binary field (len < 0: SQL NULL) into a td_value (strings
 * borrow `buf`).  On a value that cannot be carried returns false with the
 * reason in `why`. */
bool td__pg_decode_value(td_pg_kind kind, const char *buf, int32_t len, td_value *out, char *why, size_t why_size);

/* Big-endian readers. */
static inline uint16_t td__pg_u16(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint16_t)((u[0] << 8) | u[1]);
}
static inline uint32_t td__pg_u32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3];
}
static inline uint64_t td__pg_u64(const char *p) { return ((uint64_t)td__pg_u32(p) << 32) | td__pg_u32(p + 4); }

/*
 * A parser of COPY ... (FORMAT binary) output fed chunk by chunk: the
 * 11-byte signature, flags and header extension, then tuples (int16 field
 * count, then per field an int32 length, -1 for NULL, and the bytes), then
 * the int16 -1 trailer.
 */
typedef struct td_pg_copy {
  char *buf;
  size_t len, cap, pos;
  bool header_done, trailer;
  int64_t tuples;
} td_pg_copy;

/* Appends a chunk.  Returns false on allocation failure. */
bool td__pg_copy_feed(td_pg_copy *c, const char *data, size_t n);
/* The next complete tuple: 1 with fields[i]/lens[i] set (pointing into the
 * parser's buffer, valid until the next feed), 0 when more input is needed
 * or the trailer was read, -1 on malformed input (why set).  `n_fields` is
 * the number expected. */
int td__pg_copy_next(td_pg_copy *c, int n_fields, const char **fields, int32_t *lens, char *why, size_t why_size);
void td__pg_copy_reset(td_pg_copy *c);

#endif
