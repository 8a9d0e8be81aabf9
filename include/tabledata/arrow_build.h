/*
 * tabledata/arrow_build.h - building Arrow arrays and schemas.
 *
 * Backends answer with Arrow C Data structs; these helpers build them
 * without another library: a column builder per type, record batches
 * (struct arrays) from columns, and struct schemas from names and types.
 * Everything built is owned by the caller (release it, or hand it to a
 * function that takes it).
 */
#ifndef TABLEDATA_ARROW_BUILD_H
#define TABLEDATA_ARROW_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"
#include "tabledata/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_builder td_builder;

/* A builder of one column of `type`; *out is the caller's (td_builder_free).
 * Errors: TD_EINVAL (TD_TYPE_NONE or an unknown type), TD_ENOMEM. */
TD_API int td_builder_new(td_type_id type, td_builder **out, td_error *err);
TD_API void td_builder_free(td_builder *b); /* NULL is fine */
TD_API int64_t td_builder_length(const td_builder *b);
/* Appends.  Errors (all of them): TD_ETYPE (a value of the wrong kind for
 * the builder's type: a string to an int64 builder...), TD_ENOMEM; the
 * builder is unchanged on failure. */
TD_API int td_builder_append_null(td_builder *b, td_error *err);
/* For bool, integer types, uint16 and timestamps (ns since the epoch); a
 * uint64 takes the value's bits ((int64_t)UINT64_MAX is 2^64-1). */
TD_API int td_builder_append_int(td_builder *b, int64_t value, td_error *err);
TD_API int td_builder_append_double(td_builder *b, double value, td_error *err);
/* `len` < 0 means strlen(s). */
TD_API int td_builder_append_str(td_builder *b, const char *s, int64_t len, td_error *err);
TD_API int td_builder_append_value(td_builder *b, const td_value *v, td_error *err);
/* Moves what was built into `out` (the caller's) and empties the builder
 * for reuse.  Errors: TD_ENOMEM. */
TD_API int td_builder_finish(td_builder *b, struct ArrowArray *out, td_error *err);

/* A record batch (struct array) of `n` columns of equal length.  Takes
 * (moves) the columns, even on failure; `out` is the caller's.
 * Errors: TD_EINVAL (lengths differ), TD_ENOMEM. */
TD_API int td_batch_make(int64_t n, struct ArrowArray *columns, struct ArrowArray *out, td_error *err);

/* A struct schema of `n` nullable columns.  `tzs` may be NULL (no time
 * zones), else tzs[i] is the zone of timestamp column i or NULL, and for a
 * decimal128 column its "precision,scale" (required: TD_EINVAL without a
 * valid one).  Names and zones are copied; `out` is the caller's.
 * Errors: TD_ENOMEM, TD_EINVAL. */
TD_API int td_schema_make(int64_t n, const char *const *names, const td_type_id *types,
                          const char *const *tzs, struct ArrowSchema *out, td_error *err);

/* The schema of one nullable column (a field, not a struct), as a
 * column_values answer wants it.  `tz` may be NULL (a decimal128 needs its
 * "precision,scale" there).  `out` is the caller's.
 * Errors: TD_ENOMEM. */
TD_API int td_field_schema_make(const char *name, td_type_id type, const char *tz, struct ArrowSchema *out,
                                td_error *err);

/* Writes every batch of `stream` to file descriptor `fd` as an Arrow IPC
 * stream (uncompressed, little-endian), ending with the end-of-stream
 * marker.  The stream stays owned by the caller.  Errors: TD_EIO (write or
 * stream failure), TD_EUNSUPPORTED (a type the writer cannot write). */
TD_API int td_write_ipc_stream(int fd, struct ArrowArrayStream *stream, td_error *err);

/* Reads row `row` of a flat array described by `field` (a non-struct
 * schema) as a td_value; strings borrow the array's bytes.
 * Errors: TD_EUNSUPPORTED (a format tabledata does not carry), TD_ERANGE
 * (row), TD_EINVAL (NULL or released array, no format), TD_ECONTRACT (an
 * array whose buffers do not fit its type). */
TD_API int td_arrow_get_value(const struct ArrowSchema *field, const struct ArrowArray *array,
                              int64_t row, td_value *out, td_error *err);

#ifdef __cplusplus
}
#endif

#endif
