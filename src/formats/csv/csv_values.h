/*
 * formats/csv/csv_values.h - parsing CSV field text into typed values, and
 * inferring a column's type from a sample of its values.
 *
 * The parsers take (pointer, length) text that is not NUL-terminated, never
 * consult the locale for integers, booleans and timestamps, and return false
 * when the whole text is not a value of the type.
 */
#ifndef TD_FORMATS_CSV_VALUES_H
#define TD_FORMATS_CSV_VALUES_H

#include <stdbool.h>
#include <stdint.h>

#include "tabledata/types.h"

/* "true"/"false" in any case; with allow_digits also "1"/"0". */
bool csv_parse_bool(const char *s, int64_t n, bool allow_digits, bool *out);

typedef enum csv_int_result { CSV_INT_OK, CSV_INT_SYNTAX, CSV_INT_OVERFLOW } csv_int_result;
/* [+-]digits into an int64.  *leading_zero is set for "007", "-01". */
csv_int_result csv_parse_int(const char *s, int64_t n, int64_t *out, bool *leading_zero);

/* Decimal numbers with optional fraction and exponent, nan, inf, infinity. */
bool csv_parse_f64(const char *s, int64_t n, double *out);
bool csv_parse_f32(const char *s, int64_t n, float *out);

/* "YYYY-MM-DD" or "YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM"] as
 * nanoseconds since the epoch (converted to UTC when an offset is given;
 * *has_tz then true). */
bool csv_parse_timestamp(const char *s, int64_t n, int64_t *ns, bool *has_tz);

/* Inference of one column: the narrowest of bool, int64, float64,
 * timestamp that every sampled non-empty value parses as, else utf8. */
typedef struct csv_infer {
  unsigned mask; /* candidate types still possible */
  bool seen;     /* some non-empty value was sampled */
  bool tz;       /* some timestamp carried an offset */
} csv_infer;

void csv_infer_init(csv_infer *c);
void csv_infer_add(csv_infer *c, const char *s, int64_t n);
/* The inferred type; *tz receives "UTC" or NULL for timestamps. */
td_type_id csv_infer_type(const csv_infer *c, const char **tz);

#endif
