/*
 * tabledata/types.h - the column types tabledata carries, and typed scalars.
 *
 * Types map one to one onto Arrow formats: bool "b", int8 "c", int16 "s",
 * int32 "i", int64 "l", uint16 "S", float32 "f", float64 "g", utf8 "u",
 * timestamp "tsn:<tz>" (nanoseconds, optional time zone).  Nulls are never
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
  TD_TYPE_TIMESTAMP /* int64 nanoseconds since the Unix epoch */
} td_type_id;

/* The lower-case name of a type ("int64", "timestamp", ...).  Static. */
TD_API const char *td_type_name(td_type_id type);

/*
 * A typed scalar, used for partition values and query literals.
 * Integer types, uint16 and timestamps use `i`; floats use `f`; bool uses
 * `b`; utf8 uses `s` (not necessarily NUL-terminated; who owns the bytes is
 * said by each function that hands out or takes a td_value).
 */
typedef struct td_value {
  td_type_id type;
  bool is_null;
  union {
    bool b;
    int64_t i;
    double f;
    struct {
      const char *ptr;
      size_t len;
    } s;
  } v;
} td_value;

/* Constructors for td_value; the string one borrows `s` (NUL-terminated). */
TD_API td_value td_value_null(td_type_id type);
TD_API td_value td_value_bool(bool b);
TD_API td_value td_value_int(td_type_id type, int64_t i);
TD_API td_value td_value_double(td_type_id type, double f);
TD_API td_value td_value_str(const char *s);

#ifdef __cplusplus
}
#endif

#endif /* TABLEDATA_TYPES_H */
