/*
 * arrow/schema.h - tabledata's schema model and its Arrow C Data conversions.
 *
 * A td_schema is an owned list of named, typed fields.  It converts to and
 * from ArrowSchema (a struct "+s" whose children are the fields).  Anything
 * outside the types of tabledata/types.h is rejected with TD_EUNSUPPORTED,
 * naming the field and its Arrow format string.
 */
#ifndef TD_ARROW_SCHEMA_H
#define TD_ARROW_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"
#include "tabledata/types.h"

typedef struct td_field {
  char *name;
  td_type_id type;
  char *tz; /* timestamps (any unit): time zone name, or NULL for none;
               decimal128: its "precision,scale" (always set); else NULL */
  bool nullable;
} td_field;

/* Name lookups are hashed once a schema has more than a few fields (the
 * index maps names to the first field of that name), so building and
 * searching a schema of n columns costs O(n), not O(n^2). */
typedef struct td_schema {
  int64_t n_fields;
  td_field *fields;
  int64_t cap;       /* fields allocated */
  uint64_t *index;   /* open addressing: name hash tag | field + 1, 0 = empty;
                        NULL when small */
  int64_t index_cap; /* a power of two, > 2 * n_fields */
} td_schema;

void td_schema_init(td_schema *s);
void td_schema_reset(td_schema *s); /* frees everything; leaves an empty schema */
/* `tz`: a timestamp's time zone (or NULL); for decimal128 its "p,s"
 * parameter, required (TD_EINVAL without a valid one). */
int td_schema_add(td_schema *s, const char *name, td_type_id type, const char *tz,
                  bool nullable, td_error *err);
int td_schema_copy(const td_schema *src, td_schema *dst, td_error *err);
/* Index of the field called `name`, or -1. */
int64_t td_schema_find(const td_schema *s, const char *name);
bool td_field_same_type(const td_field *a, const td_field *b);
/* Writes "int64", "timestamp[ns, tz=UTC]" or "decimal128(38,2)" into buf. */
const char *td_field_type_text(const td_field *f, char *buf, size_t size);

/* Arrow format string of a type without time zone ("l", "tsn:"). Static. */
const char *td_type_format(td_type_id type);
/* Parses an Arrow format string.  On success *tz points into `format` (or is
 * NULL) for timestamps, and at "p,s" for decimal128 ("d:p,s").  Unsupported formats: TD_EUNSUPPORTED. */
int td_type_from_format(const char *format, td_type_id *type, const char **tz,
                        td_error *err);
/* Bytes per value of a fixed-width type; 0 for bool (bits) and utf8. */
int td_type_width(td_type_id type);
bool td_type_is_integer(td_type_id type); /* int8..int64, uint16 */
bool td_type_is_float(td_type_id type);
/* Types whose fields carry a parameter in td_field.tz: timestamps (time
 * zone) and decimal128 ("precision,scale"). */
bool td_type_has_param(td_type_id type);

/* Imports a struct schema ("+s") whose children become the fields.  Does not
 * take ownership of `in`. */
int td_schema_import(const struct ArrowSchema *in, td_schema *out, td_error *err);
/* Imports one field (a non-struct ArrowSchema). */
int td_field_import(const struct ArrowSchema *in, td_field *out, td_error *err);
void td_field_reset(td_field *f);
/* Exports as a struct schema; `out` is owned by the caller afterwards. */
int td_schema_export(const td_schema *s, struct ArrowSchema *out, td_error *err);
int td_field_export(const td_field *f, struct ArrowSchema *out, td_error *err);

#endif
