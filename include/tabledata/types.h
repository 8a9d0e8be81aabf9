/*
 * tabledata/types.h - the column types tabledata carries, and typed scalars.
 *
 * Types map one to one onto Arrow formats: bool "b", int8 "c", int16 "s",
 * int32 "i", int64 "l", uint8 "C", uint16 "S", uint32 "I", uint64 "L", float32 "f", float64 "g", utf8 "u",
 * timestamp "tsn:<tz>" (nanoseconds, optional time zone), and the temporal
 * types date32 "tdD", date64 "tdm", timestamp in s/ms/us "tss:", "tsm:",
 * "tsu:" and time of day "tts", "ttm", "ttu", "ttn", and durations "tDs",
 * "tDm", "tDu", "tDn" (signed int64 spans).  Each keeps its unit:
 * values are never rescaled, so no range is lost.  decimal128 "d:p,s" keeps
 * its precision and scale (a column's, a field's "type parameter" text
 * "p,s"; a value's td_value.precision/scale).  binary "z", large_utf8 "U"
 * and large_binary "Z" are variable-length like utf8: arrays a backend
 * hands in or the engine hands out have the Arrow layout of the format
 * (64-bit offsets for "U" and "Z"); inside the engine every page of the
 * four has 32-bit offsets (see td_type_is_varlen).  Nulls are never
 * sentinels: a td_value has an explicit is_null flag, arrays validity bitmaps.
 */
#ifndef TABLEDATA_TYPES_H
#define TABLEDATA_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tabledata/api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum td_type_id {
  TD_TYPE_NONE = 0, /* no type: a null literal, or "unknown" */
  TD_TYPE_BOOL,
  TD_TYPE_INT8,
  TD_TYPE_INT16,
  TD_TYPE_INT32,
  TD_TYPE_INT64,
  TD_TYPE_UINT16,
  TD_TYPE_FLOAT32,
  TD_TYPE_FLOAT64,
  TD_TYPE_UTF8,
  TD_TYPE_TIMESTAMP, /* int64 nanoseconds since the Unix epoch */
  /* Added later; the values above keep their numbers (ABI). */
  TD_TYPE_DATE32,       /* int32 days since 1970-01-01 ("tdD") */
  TD_TYPE_DATE64,       /* int64 milliseconds since the epoch ("tdm") */
  TD_TYPE_TIMESTAMP_S,  /* int64 seconds since the epoch ("tss:<tz>") */
  TD_TYPE_TIMESTAMP_MS, /* int64 milliseconds ("tsm:<tz>") */
  TD_TYPE_TIMESTAMP_US, /* int64 microseconds ("tsu:<tz>") */
  TD_TYPE_TIME32_S,     /* int32 seconds since midnight ("tts") */
  TD_TYPE_TIME32_MS,    /* int32 milliseconds since midnight ("ttm") */
  TD_TYPE_TIME64_US,    /* int64 microseconds since midnight ("ttu") */
  TD_TYPE_TIME64_NS,    /* int64 nanoseconds since midnight ("ttn") */
  TD_TYPE_UINT8,        /* "C" */
  TD_TYPE_UINT32,       /* "I" */
  TD_TYPE_DECIMAL128,   /* "d:p,s": 128-bit two's complement unscaled integer,
                           precision 1..38 and scale 0..precision kept per column */
  TD_TYPE_UINT64,       /* "L": every value 0..2^64-1 exact (td_value.v.u) */
  TD_TYPE_BINARY,       /* "z": bytes, never checked as UTF-8 */
  TD_TYPE_LARGE_UTF8,   /* "U": utf8 with 64-bit offsets at the Arrow boundary */
  TD_TYPE_LARGE_BINARY, /* "Z": binary with 64-bit offsets at the Arrow boundary */
  TD_TYPE_DURATION_S,   /* "tDs": int64 span of seconds (may be negative) */
  TD_TYPE_DURATION_MS,  /* "tDm": int64 span of milliseconds */
  TD_TYPE_DURATION_US,  /* "tDu": int64 span of microseconds */
  TD_TYPE_DURATION_NS   /* "tDn": int64 span of nanoseconds */
} td_type_id;

/* The lower-case name of a type ("int64", "timestamp", ...).  Static. */
TD_API const char *td_type_name(td_type_id type);
/* Timestamps of any unit (they may carry a time zone). */
TD_API bool td_type_is_timestamp(td_type_id type);
/* Dates, times and timestamps of any unit: values are int64 counts of the
 * unit in td_value.v.i and print as ISO-8601 text. */
TD_API bool td_type_is_temporal(td_type_id type);
/* Durations (time spans) of any unit: int64 counts of the unit in
 * td_value.v.i; they print as DuckDB prints an INTERVAL ("1 day 02:00:00"). */
TD_API bool td_type_is_duration(td_type_id type);
/* Nanoseconds per unit of a duration type (1e9 for duration_s); 0 for
 * other types. */
TD_API int64_t td_duration_unit_ns(td_type_id type);
/* utf8, large_utf8, binary and large_binary: values in td_value.v.s. */
TD_API bool td_type_is_varlen(td_type_id type);
/* utf8 and large_utf8: text, valid UTF-8. */
TD_API bool td_type_is_text(td_type_id type);
/* binary and large_binary: bytes, never checked as UTF-8. */
TD_API bool td_type_is_binary(td_type_id type);
/* The type with 32-bit offsets of the same kind (large_utf8 -> utf8,
 * large_binary -> binary); every other type is returned as is. */
TD_API td_type_id td_type_small(td_type_id type);
/* Maximum precision of a decimal128. */
#define TD_DECIMAL128_MAX_PRECISION 38
/* Nanoseconds per unit of a temporal type (86400e9 for date32, 1e6 for
 * date64); 0 for other types. */
TD_API int64_t td_type_unit_ns(td_type_id type);

/*
 * A typed scalar, used for partition values and query literals.
 * Integer types, uint16, all temporal and duration types use `i` (in the type's unit); floats use `f`; bool uses
 * `b`; utf8, large_utf8, binary and large_binary use `s` (not necessarily NUL-terminated; who owns the bytes is
 * said by each function that hands out or takes a td_value).  decimal128
 * uses `d` (the unscaled value, lo + hi * 2^64, two's complement) with
 * `precision` and `scale` (0 for every other type).  uint64 uses `u`, which
 * is `d.lo` (so `d.hi` is 0 and the value reads as a 128-bit integer too).
 */
typedef struct td_value {
  td_type_id type;
  bool is_null;
  uint8_t precision; /* decimal128 only */
  uint8_t scale;     /* decimal128 only */
  union {
    bool b;
    int64_t i;
    uint64_t u;
    double f;
    struct {
      const char *ptr;
      size_t len;
    } s;
    struct {
      uint64_t lo;
      int64_t hi;
    } d;
  } v;
} td_value;

/* Constructors for td_value; the string one borrows `s` (NUL-terminated). */
TD_API td_value td_value_null(td_type_id type);
TD_API td_value td_value_bool(bool b);
TD_API td_value td_value_int(td_type_id type, int64_t i);
TD_API td_value td_value_double(td_type_id type, double f);
TD_API td_value td_value_str(const char *s);
/* A decimal128 value: unscaled lo + hi * 2^64 (two's complement), read as
 * that integer / 10^scale.  Precision and scale are not checked here. */
TD_API td_value td_value_decimal(int precision, int scale, uint64_t lo, int64_t hi);
/* A uint64 value (v.u = u, v.d.hi = 0). */
TD_API td_value td_value_uint64(uint64_t u);

#ifdef __cplusplus
}
#endif

#endif /* TABLEDATA_TYPES_H */
