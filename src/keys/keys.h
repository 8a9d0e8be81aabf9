/*
 * keys/keys.h - internal layout of table and location keys, and value helpers.
 *
 * Keys are immutable after construction, so their fields may be read from any
 * thread without locks; only the reference count changes (atomically).
 */
#ifndef TD_KEYS_KEYS_H
#define TD_KEYS_KEYS_H

#include <stdatomic.h>

#include "tabledata/keys.h"

struct td_table_key {
  _Atomic int64_t refs;
  uint64_t hash;
  char *name;
};

struct td_location_key {
  _Atomic int64_t refs;
  uint64_t hash;
  char *identity;
  int64_t n;
  char **names;
  td_value *values; /* utf8 values point into owned copies */
};

uint64_t td_hash_bytes(const void *data, size_t n, uint64_t seed);
/* Hash of a scalar (type-independent for equal values of the same type). */
uint64_t td_value_hash(const td_value *v);
bool td_value_equal(const td_value *a, const td_value *b);
/* Exact order of a decimal128 and a decimal128 or integer value (scales aligned). */
int td_value_compare_decimal(const td_value *a, const td_value *b);
/* Parses "YYYY-MM-DD" (years 1..9999) into days since 1970-01-01. */
bool td_parse_date(const char *s, size_t n, int64_t *days);
/* Formats ns since the epoch as "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ". */
size_t td_format_timestamp(int64_t ns, char *buf, size_t size);
/* Formats a value of a temporal type exactly in its unit: date32 (and a
 * date64 at midnight) "YYYY-MM-DD"; timestamps "YYYY-MM-DDTHH:MM:SS[.fff|
 * .ffffff|.fffffffff]Z" (digits of the unit; ns as td_format_timestamp);
 * times of day "HH:MM:SS[.fraction]". */
size_t td_format_temporal(td_type_id type, int64_t v, char *buf, size_t size);
/* A duration of `type`'s unit as DuckDB prints an INTERVAL that holds days
 * and time: "[-]N day[s]" when a whole day or more, then "[-]HH:MM:SS" with
 * the fraction's trailing zeros dropped (omitted when the days are exact;
 * "00:00:00" for zero).  Snprintf's contract. */
size_t td_format_duration(td_type_id type, int64_t v, char *buf, size_t size);
/* Writes the decimal text of v at p (`is_unsigned`: v's bits as a uint64),
 * "-" first when negative, no terminator: at most TD_INT_TEXT bytes.
 * Returns the count written. */
enum { TD_INT_TEXT = 20 };
size_t td_int_text(int64_t v, bool is_unsigned, char *p);

#endif
