/*
 * tabledata/keys.h - table keys and location keys.
 *
 * A table key names one logical table (here: a name string; equal names are
 * equal keys).  A location key names one partition of a table: an ordered
 * list of partition values (column name -> typed value, possibly null) plus an
 * identity string for whatever else the backend needs.  Both are immutable
 * and reference counted: *_retain adds a reference, *_release drops one and
 * frees on the last.  Every function that stores a key retains it; every
 * function that hands a key out says whether the caller owns a reference.
 *
 * Location keys order by their partition values in list order (nulls first,
 * numbers by value with NaN after every number, strings bytewise, false <
 * true), then by identity, then by partition names: td_location_key_compare
 * is 0 exactly when td_location_key_equal is true, and equal keys hash
 * alike (0.0 and -0.0 are equal, as are all NaNs).
 */
#ifndef TABLEDATA_KEYS_H
#define TABLEDATA_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"
#include "tabledata/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_table_key td_table_key;
typedef struct td_location_key td_location_key;

/* Creates a table key named `name` (copied).  *out receives one reference.
 * Errors: TD_EINVAL for a NULL name, TD_ENOMEM. */
TD_API int td_table_key_new(const char *name, td_table_key **out, td_error *err);
TD_API td_table_key *td_table_key_retain(td_table_key *key);
TD_API void td_table_key_release(td_table_key *key); /* NULL is fine */
TD_API const char *td_table_key_name(const td_table_key *key);
TD_API bool td_table_key_equal(const td_table_key *a, const td_table_key *b);
TD_API uint64_t td_table_key_hash(const td_table_key *key);

/* Creates a location key from `n` partition values named `names` (both copied,
 * strings included).  `identity` may be NULL (empty).  Partition names must be
 * non-empty and distinct.  *out receives one reference.
 * Errors: TD_EINVAL (bad names, or a value whose type is TD_TYPE_NONE and is
 * not null), TD_ENOMEM. */
TD_API int td_location_key_new(const char *identity, int64_t n, const char *const *names,
                               const td_value *values, td_location_key **out, td_error *err);
/* Same, with the partition values given as a one-row Arrow struct array (one
 * child per partition column), as the seeds' backends send them.  Takes
 * (moves) `schema` and `values` even on failure.  A NULL schema/array gives a
 * key without partition values.  Errors: TD_EUNSUPPORTED (a partition type
 * tabledata does not carry), TD_ECONTRACT (not a one-row struct, or a
 * partition column without a value), TD_EINVAL (duplicate names),
 * TD_ENOMEM. */
TD_API int td_location_key_from_arrow(const char *identity, struct ArrowSchema *schema,
                                      struct ArrowArray *values, td_location_key **out,
                                      td_error *err);
/* The standalone key of an unpartitioned table (identity "", no values).
 * *out receives one reference.  Errors: TD_ENOMEM. */
TD_API int td_location_key_standalone(td_location_key **out, td_error *err);
TD_API td_location_key *td_location_key_retain(td_location_key *key);
TD_API void td_location_key_release(td_location_key *key); /* NULL is fine */

/* Borrowed; valid while the key is. */
TD_API const char *td_location_key_identity(const td_location_key *key);
TD_API int64_t td_location_key_partition_count(const td_location_key *key);
/* Borrowed; valid while the key is.  NULL when i is out of range. */
TD_API const char *td_location_key_partition_name(const td_location_key *key, int64_t i);
TD_API const td_value *td_location_key_partition_value(const td_location_key *key, int64_t i);
/* The value of partition column `name` (borrowed, string bytes included;
 * valid while the key is), or NULL if the key has none. */
TD_API const td_value *td_location_key_find(const td_location_key *key, const char *name);

TD_API int td_location_key_compare(const td_location_key *a, const td_location_key *b);
TD_API bool td_location_key_equal(const td_location_key *a, const td_location_key *b);
TD_API uint64_t td_location_key_hash(const td_location_key *key);
/* Human-readable form, "Ticker=GOOG/Exchange=NYSE" (+ "#identity" when the
 * identity is not empty; the identity alone when there are no values).
 * Always NUL-terminates; returns the length it wanted (like snprintf). */
TD_API size_t td_location_key_format(const td_location_key *key, char *buf, size_t size);

/* Orders two scalars of the same type: nulls first, then by value. */
TD_API int td_value_compare(const td_value *a, const td_value *b);
/* Writes a scalar as text ("null", "true", "42", "1.5", the string itself,
 * binary bytes as td_binary_format writes them, or an ISO-8601 UTC
 * timestamp with nanoseconds).  Like snprintf. */
TD_API size_t td_value_format(const td_value *v, char *buf, size_t size);
/* Writes `len` bytes as DuckDB prints a BLOB: printable ASCII as is, every
 * other byte and the characters \ " ' as \xHH (two upper-case hex digits).
 * Like snprintf: always NUL-terminates (size > 0), returns the length it
 * wanted. */
TD_API size_t td_binary_format(const void *bytes, size_t len, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
