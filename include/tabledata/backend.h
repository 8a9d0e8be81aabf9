/*
 * tabledata/backend.h - the backend contract: six methods and their answers.
 *
 * A backend is a vtable plus a `self` pointer.  The engine calls a method with
 * a td_request handle; the backend answers through the td_answer_* functions,
 * either inside the call or later from any thread.  A td_request is a small
 * value (copy it freely); it stays safe to use for ever: answers to a request
 * that is no longer pending are rejected with TD_ESTATE and reported, never a
 * crash.  That holds after td_service_free too: an answer to a request of a
 * freed service is dropped with TD_ESTATE (there is no hook left to report
 * it to), and td_service_free waits for the answers running when it is
 * called.  Answer functions never call back into the backend, so a backend may
 * answer while holding its own locks.
 *
 *   method                              answers
 *   table_schema(table)                 td_answer_schema once
 *   table_locations(table)              td_answer_location per location, then
 *                                       td_answer_success
 *   table_location_size(table, loc)     td_answer_size once
 *   column_values(table, loc, column,   td_answer_values once, with between
 *       offset, min_rows, max_rows)     min_rows and max_rows rows
 *   subscribe_to_table_locations(table) td_answer_location per existing
 *                                       location, td_answer_success, then
 *                                       td_answer_location per new location
 *                                       and (add-remove tables only)
 *                                       td_answer_location_removed per
 *                                       location that went away
 *   subscribe_to_table_location_size    td_answer_size (current size),
 *       (table, loc)                    td_answer_success, then td_answer_size
 *                                       per new size
 *   unsubscribe(subscription)           nothing; after it returns, nothing
 *                                       sent on that subscription has effect
 * Any method may answer td_answer_failure(req, message) instead.  The engine
 * never calls unsubscribe for a subscription that failed, and calls it exactly
 * once otherwise.
 *
 * Keys passed to a method are borrowed for the duration of the call: retain
 * them to keep them (e.g. to answer later).  `column` likewise.
 */
#ifndef TABLEDATA_BACKEND_H
#define TABLEDATA_BACKEND_H

#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"
#include "tabledata/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

struct td_service;

/* A handle to one request or subscription of one service. */
typedef struct td_request {
  struct td_service *service;
  uint64_t id;
} td_request;

typedef struct td_backend_vtable {
  void (*table_schema)(void *self, const td_table_key *table, td_request req);
  void (*table_locations)(void *self, const td_table_key *table, td_request req);
  void (*table_location_size)(void *self, const td_table_key *table,
                              const td_location_key *location, td_request req);
  void (*column_values)(void *self, const td_table_key *table, const td_location_key *location,
                        const char *column, int64_t offset, int64_t min_rows, int64_t max_rows,
                        td_request req);
  void (*subscribe_to_table_locations)(void *self, const td_table_key *table, td_request sub);
  void (*subscribe_to_table_location_size)(void *self, const td_table_key *table,
                                           const td_location_key *location, td_request sub);
  void (*unsubscribe)(void *self, td_request sub);
  /* Called once when the service that owns the backend is freed.  May be NULL. */
  void (*release)(void *self);
  /* Optional (may be NULL): the smallest and largest non-null values of rows
   * [offset, offset + n) of a column, if known without reading them (from
   * file metadata such as Parquet row-group statistics).  Answers at once:
   * true with *min and *max set, or false when unknown.  Strings must stay
   * valid as long as the backend.  The engine uses it to skip pages a data
   * filter rejects as a whole, without fetching them; bounds wider than
   * the values are fine. */
  bool (*column_range)(void *self, const td_table_key *table, const td_location_key *location, const char *column,
                       int64_t offset, int64_t n, td_value *min, td_value *max);
  /* Optional (may be NULL): whether rows [offset, offset + n) of a
   * floating-point column are known to hold no NaN, without reading them
   * (Parquet's nan_count, or a writer known to omit float statistics when
   * a NaN is present).  column_range's bounds leave NaN out, and NaN sorts
   * greatest, so only with this answer true does its max bound every value
   * of the rows (the engine then skips pages a descending ORDER BY ... LIMIT
   * cannot use).  Answers at once; false when unknown. */
  bool (*column_no_nan)(void *self, const td_table_key *table, const td_location_key *location, const char *column,
                        int64_t offset, int64_t n);
} td_backend_vtable;

typedef struct td_backend {
  const td_backend_vtable *vtable;
  void *self;
} td_backend;

/*
 * Answers.  Each returns TD_OK when the answer was taken.  Otherwise the
 * answer had no effect and the return says why (err gets the message):
 *   TD_ESTATE     the request is not pending (answered already, timed out,
 *                 unsubscribed, failed); also reported to the service's
 *                 on_error hook;
 *   TD_ECONTRACT  the answer breaks the contract (wrong kind of answer, wrong
 *                 type, wrong row count...); the request fails with this
 *                 error, which names table, location, column and what was
 *                 expected against what arrived;
 *   TD_EINVAL     an empty request handle (no service);
 *   TD_ENOMEM     the answer could not be stored (the request fails with it).
 */
/* Takes (moves) both schemas; `partition_schema` may be NULL (unpartitioned).
 * Schemas are Arrow structs ("+s") with one child per column. */
TD_API int td_answer_schema(td_request req, struct ArrowSchema *data_schema,
                            struct ArrowSchema *partition_schema, td_error *err);
/*
 * Update modes (Deephaven's TableUpdateMode, for a table's set of
 * locations).  A backend declares a table's mode with td_answer_schema_mode;
 * td_answer_schema declares TD_UPDATE_ADD_ONLY.  Only an ADD_REMOVE table
 * may remove locations: a td_answer_location_removed on any other table
 * breaks the contract.  STATIC, APPEND_ONLY and ADD_ONLY are accepted as
 * declarations and otherwise behave alike (locations come, never go).
 */
typedef enum td_update_mode {
  TD_UPDATE_ADD_ONLY = 0,   /* the default: locations are added, never removed */
  TD_UPDATE_STATIC = 1,     /* no location is ever added or removed */
  TD_UPDATE_APPEND_ONLY = 2,/* as ADD_ONLY (rows are only ever appended) */
  TD_UPDATE_ADD_REMOVE = 3  /* locations are added and may be removed */
} td_update_mode;

/* td_answer_schema plus the table's update mode (see td_update_mode).
 * Errors: those of td_answer_schema; TD_ECONTRACT for an unknown mode. */
TD_API int td_answer_schema_mode(td_request req, struct ArrowSchema *data_schema,
                                 struct ArrowSchema *partition_schema, td_update_mode mode,
                                 td_error *err);
/* The engine takes its own reference to `key`; the caller keeps its own. */
TD_API int td_answer_location(td_request req, td_location_key *key, td_error *err);
/* On a location subscription of an ADD_REMOVE table: the location `key`
 * (added earlier on this subscription) is gone.  In the next update cycle
 * its rows leave every refreshing table that includes it, at once; its
 * size subscription is ended (unsubscribe) and its cached pages dropped.  A
 * later td_answer_location with an equal key adds it again as a new
 * location (new region, pages fetched afresh).  The key is borrowed.
 * Errors: TD_ECONTRACT when the table was not declared ADD_REMOVE, or the
 * request is not a location subscription (the subscription fails, naming
 * the location).  Removing a location the subscription never added (or
 * removed already) is checked in the next cycle: the table's refreshing
 * tables fail with TD_ECONTRACT naming the location. */
TD_API int td_answer_location_removed(td_request req, const td_location_key *key, td_error *err);
TD_API int td_answer_size(td_request req, int64_t size, td_error *err);
/* Takes (moves) both.  `schema` is the column's field (name = the column) or
 * a struct with exactly that one field; `array` matches it. */
TD_API int td_answer_values(td_request req, struct ArrowSchema *schema, struct ArrowArray *array,
                            td_error *err);
TD_API int td_answer_success(td_request req, td_error *err);
TD_API int td_answer_failure(td_request req, const char *message, td_error *err);

#ifdef __cplusplus
}
#endif

#endif
