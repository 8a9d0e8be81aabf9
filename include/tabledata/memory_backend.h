/*
 * tabledata/memory_backend.h - the in-memory backend.
 *
 * Holds tables of Arrow data in memory and serves them through the backend
 * contract: the reference backend for embedders and tests (the seeds'
 * TestBackend, done right).  Data is added as Arrow struct arrays (one child
 * per data column); column_values answers are zero-copy slices when the rows
 * requested lie in one appended chunk, and a copy otherwise.  Appends of
 * fewer than 65,536 rows without nulls are copied into segments that grow
 * in place (an answer then continues the rows of the one before in the same
 * buffers, so a live table's tail page grows without copies); bigger ones
 * are kept as they are.  All functions
 * are thread-safe; appends, new locations and removed locations notify
 * subscribers.
 */
#ifndef TABLEDATA_MEMORY_BACKEND_H
#define TABLEDATA_MEMORY_BACKEND_H

#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/backend.h"
#include "tabledata/error.h"
#include "tabledata/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_memory_backend td_memory_backend;

/* Creates an empty in-memory backend; *out receives one reference.
 * Errors: TD_ENOMEM. */
TD_API int td_memory_backend_new(td_memory_backend **out, td_error *err);
TD_API td_memory_backend *td_memory_backend_retain(td_memory_backend *mb);
TD_API void td_memory_backend_release(td_memory_backend *mb); /* NULL is fine */
/* The backend handle for td_service_new; it holds a new reference to `mb`
 * (released when the service is freed). */
TD_API td_backend td_memory_backend_backend(td_memory_backend *mb);

/* Adds a table.  The schemas are borrowed (copied): struct schemas with one
 * child per column; `partition_schema` may be NULL.
 * Errors: TD_EINVAL (NULL name or schema, exists already, bad schema),
 * TD_EUNSUPPORTED (a column type tabledata does not carry), TD_ENOMEM. */
TD_API int td_memory_backend_add_table(td_memory_backend *mb, const char *table,
                                       const struct ArrowSchema *data_schema,
                                       const struct ArrowSchema *partition_schema, td_error *err);
/* Adds a location with its first rows.  `data` (a struct array with one child
 * per data column, in schema order; may be NULL for none) is taken (moved).
 * The key's partition values must match the table's partition schema (a
 * table without one takes any, and the engine ignores them).
 * Errors: TD_ENOTFOUND (no such table), TD_EINVAL (NULL key, location
 * exists, data or key does not match the schema), TD_ENOMEM.  The key is
 * retained (the caller keeps its reference). */
TD_API int td_memory_backend_add_location(td_memory_backend *mb, const char *table,
                                          td_location_key *key, struct ArrowArray *data,
                                          td_error *err);
/* Appends rows to a location and notifies its size subscribers; `data` is
 * taken (moved).  Errors: TD_ENOTFOUND (no such table or location),
 * TD_EINVAL (NULL key or data, data that does not match the schema),
 * TD_ENOMEM. */
TD_API int td_memory_backend_append(td_memory_backend *mb, const char *table,
                                    const td_location_key *key, struct ArrowArray *data,
                                    td_error *err);
/* Declares the table's update mode (td_update_mode, backend.h), answered
 * with its schema; the default is TD_UPDATE_ADD_ONLY.  Set it before any
 * service asks for the schema.  Errors: TD_ENOTFOUND (no such table),
 * TD_EINVAL (unknown mode). */
TD_API int td_memory_backend_set_update_mode(td_memory_backend *mb, const char *table, td_update_mode mode,
                                             td_error *err);
/* Removes a location and its rows, and tells the location subscribers
 * (td_answer_location_removed): their refreshing tables drop its rows in the
 * next cycle.  A reader still holding an older version of a table that
 * reads pages of it not yet fetched gets a failure answer ("does not
 * exist").  Errors: TD_ENOTFOUND (no such table or location), TD_EINVAL
 * (NULL key), TD_ECONTRACT (the location is removed here, but a subscriber
 * refused the removal because the table is not TD_UPDATE_ADD_REMOVE: its
 * tables fail; the message is the engine's). */
TD_API int td_memory_backend_remove_location(td_memory_backend *mb, const char *table,
                                             const td_location_key *key, td_error *err);
/* Current size of a location, or -1 if unknown. */
TD_API int64_t td_memory_backend_location_size(td_memory_backend *mb, const char *table,
                                               const td_location_key *key);

#ifdef __cplusplus
}
#endif

#endif
