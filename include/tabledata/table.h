/*
 * tabledata/table.h - source tables and partitioned tables.
 *
 * A table assembles the locations of one table key: partition columns first
 * (their values come from the location keys), then the data columns (fetched
 * lazily, page by page, through the service's page cache).  Rows are
 * addressed by position 0..size-1, locations in region order; row keys are
 * (region << 43) | row_in_location.
 *
 * A static table is built from table_locations and the sizes at that moment
 * and never changes.  Tables are reference counted (retain/release) and safe
 * to read from several threads at once.
 */
#ifndef TABLEDATA_TABLE_H
#define TABLEDATA_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"
#include "tabledata/keys.h"
#include "tabledata/service.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_table td_table;
typedef struct td_partitioned_table td_partitioned_table;

#define TD_REGION_BITS 20
#define TD_ROW_BITS 43
#define TD_MAX_REGIONS ((int64_t)1 << TD_REGION_BITS)
#define TD_MAX_LOCATION_ROWS ((int64_t)1 << TD_ROW_BITS)

/* Decides whether a location is part of a table, from its key alone.  Called
 * before any size, subscription or data call for that location; a location it
 * rejects is never touched.  Called from the thread that builds or refreshes
 * the table; must not call into the service. */
typedef bool (*td_location_predicate)(void *ctx, const td_location_key *key);

/* Options of td_make_table and td_make_partitioned_table.  Fill them with
 * td_table_options_init, then set the fields you need (by name): fields may
 * be added in later versions, with init giving them their defaults. */
typedef struct td_table_options {
  td_location_predicate predicate; /* NULL: every location */
  void *predicate_ctx;
  /* A refreshing table subscribes to the table's locations and to the size of
   * each location it includes, and grows in the service's update cycles. */
  bool refreshing;
} td_table_options;

/* Fills `opts` with the defaults: every location, static.  Never fails. */
TD_API void td_table_options_init(td_table_options *opts);

/*
 * Borrowed location keys.  Every `const td_location_key *` the engine hands
 * out (td_table_location, td_partitioned_table_key, and a listener's
 * td_table_update: added[i].location, new_locations[i]) belongs to the
 * service, which keeps every location it was ever told about until it is
 * destroyed (a removed location's key included).  Such a key therefore stays
 * valid, unchanged, for as long as the table it came from (or any other
 * table or reference of that service) is alive, across update cycles of a
 * refreshing table; td_location_key_retain it to keep it longer.  The arrays
 * inside a td_table_update (`added`, `new_locations`, `changed`) are valid
 * only during the listener call.
 */

/* What one update cycle added to (or, in `removed`, removed from) a
 * refreshing table. */
typedef struct td_added_rows {
  int64_t region;                    /* source tables: region index (row keys are
                                        (region << 43) | row); derived tables: -1 */
  const td_location_key *location;   /* source tables; borrowed (see above); else NULL */
  int64_t first_row, end_row;        /* source tables: rows [first_row, end_row) of the
                                        location; derived tables: positions */
} td_added_rows;

typedef struct td_table_update {
  int64_t version;       /* the table version after the cycle (1, 2, ...) */
  int64_t size_before, size_after;
  int64_t n_added;       /* row ranges added, one per location that grew */
  const td_added_rows *added;
  int64_t n_new_locations; /* locations included in this cycle (their rows are in `added`) */
  const td_location_key *const *new_locations;
  /* Derived tables, and source tables in a cycle that removed rows: */
  bool replaced;           /* the whole content changed (sort, tail, a removal...): re-read it */
  int64_t n_changed;       /* aggregations, as-of left joins: positions of rows whose values changed */
  const int64_t *changed;
  /* Location removal (ADD_REMOVE tables, see td_answer_location_removed).
   * Source tables: one entry per removed location, its region and rows
   * [0, end_row) of it: all the rows it had before the cycle (first_row is
   * 0); `removed_begin[i]` is the position its first row had in the previous
   * version.  Rows after it move down; the region keeps its index with no
   * rows and is never reused (a location added again gets a new region).
   * Derived tables report a removal as `replaced`, except aggregations,
   * which retract: they list the groups that changed, or, when groups
   * left, are `replaced` with one entry per group that left here (region
   * -1, location NULL, rows [p, p + 1) and removed_begin[i] = p, its
   * position in the previous version).  Valid only during the listener
   * call. */
  int64_t n_removed;
  const td_added_rows *removed;
  const int64_t *removed_begin;
} td_table_update;

/* Called on the service's update thread after a cycle changed the table,
 * once the table is consistent (reads see the new version).  `update` is
 * NULL and `error` set exactly once when the table fails (error->code is the
 * cause: TD_EBACKEND, TD_ECONTRACT, TD_ETIMEOUT, TD_ERANGE, TD_ENOMEM, ...);
 * after that the listener is not called again.  Callbacks may read tables,
 * add or remove listeners (their own included) and release tables, the table
 * they are called for included (its remaining listeners are then not called);
 * they must not wait for a cycle (td_service_flush, td_table_wait: TD_ESTATE). */
typedef void (*td_table_listener)(void *ctx, td_table *table, const td_table_update *update,
                                  const td_error *error);

/* Builds a table of `key` (NULL opts: static, every location).
 * Static: calls table_schema (once per table key per service),
 * table_locations, and table_location_size for each location the predicate
 * keeps.  Refreshing: subscribes to the key's locations (one subscription per
 * key, shared by all its refreshing tables) and to the size of each included
 * location, waiting for each subscription's initial answers.  No column data
 * is read.  Refreshing needs the backend's subscribe and unsubscribe methods
 * (else TD_EUNSUPPORTED).
 * Subscription failures, as in Deephaven: a location or size subscription
 * whose first answer is a failure (refused outright), or whose initial
 * answers cannot be taken (a location key that disagrees, a shrinking or
 * too large size), makes td_make_table fail with that error.  One that
 * failed after delivering anything (a location, a size, its success), even
 * before its success answer, gives a table that fails in the next update
 * cycle (its listeners hear it).  A subscription is shared by the tables of
 * a key (or location): while a failed one is still held by some table, a new
 * refreshing table that needs it fails at once with the original error;
 * once every table holding it is released, the next one subscribes afresh.
 * Errors: TD_EINVAL (NULL service or key); TD_EUNSUPPORTED (refreshing, and
 * the backend has no subscribe or unsubscribe method; or a column type the
 * engine does not carry); from the backend's answers TD_EBACKEND (it answered
 * a failure), TD_ECONTRACT (a wrong answer: bad schema, disagreeing location
 * keys, ...), TD_ETIMEOUT (no answer within the service's request timeout);
 * TD_ERANGE (more than 2^20 locations or 2^43 rows in one); TD_ENOMEM.
 * Ownership: `key` is borrowed (the service retains what it keeps); *out
 * receives one reference (td_table_release), NULL on failure. */
TD_API int td_make_table(td_service *service, const td_table_key *key,
                         const td_table_options *opts, td_table **out, td_error *err);
/* Adds a reference; returns `table`. */
TD_API td_table *td_table_retain(td_table *table);
/* Drops a reference; the last one unsubscribes a refreshing table (the
 * backend's unsubscribe has been called when it returns).  NULL is fine. */
TD_API void td_table_release(td_table *table);

/* Registers a listener on a refreshing table (a source table or a table
 * derived from one); listeners of a table are called in registration order.
 * *id (may be NULL) identifies it for removal.  `ctx` is borrowed: keep it
 * alive until the listener is removed, hears an error, or the table is freed.
 * Errors: TD_EINVAL (NULL fn), TD_ESTATE (static table), TD_EFAILED (the
 * table has failed), TD_ENOMEM. */
TD_API int td_table_add_listener(td_table *table, td_table_listener fn, void *ctx, int64_t *id,
                                 td_error *err);
/* Removes a listener; safe from inside any callback.  When it returns (from
 * a thread other than the update thread) the listener is not running and
 * will not be called again.  Returns TD_OK, or TD_ENOTFOUND if the id is
 * unknown (or the table is static). */
TD_API int td_table_remove_listener(td_table *table, int64_t id);
TD_API bool td_table_is_refreshing(const td_table *table);
/* The table's current version (0 at creation, +1 per cycle that changed it). */
TD_API int64_t td_table_version(td_table *table);
/* TD_OK, or TD_EFAILED when a refreshing table has failed (err receives the
 * cause's message). */
TD_API int td_table_status(td_table *table, td_error *err);

/* Waits until the table's version is >= min_version and its size >=
 * min_size (pass 0 for a bound you do not need), or the timeout passes.
 * timeout_ms < 0 waits for ever, 0 only checks.  Returns TD_OK as soon as
 * both hold (at once if they hold already, even on a failed table: its last
 * version stays readable).  On a refreshing table, TD_OK also means the
 * update cycle that brought the table there has finished, its listeners
 * included, so what they recorded can be read at once.  Errors: TD_ETIMEOUT (not reached in time; the
 * message gives the version and size reached), TD_EFAILED (the table failed
 * before reaching them; the message gives the cause), TD_ESTATE (a static
 * table that does not meet them, as it never changes; or called from a
 * listener, i.e. on the update thread, which would wait for itself),
 * TD_EINVAL (NULL table), TD_ENOMEM.  Thread-safe; any number of threads may
 * wait on one table. */
TD_API int td_table_wait(td_table *table, int64_t min_version, int64_t min_size, int64_t timeout_ms,
                         td_error *err);

/* The table definition as an Arrow struct schema, partition columns first.
 * `out` is owned by the caller.  Errors: TD_ENOMEM. */
TD_API int td_table_schema(td_table *table, struct ArrowSchema *out, td_error *err);
TD_API int64_t td_table_num_columns(const td_table *table);
/* The name of column `column`: borrowed, valid while the table is; NULL when
 * out of range. */
TD_API const char *td_table_column_name(const td_table *table, int64_t column);
/* The type of column `column`, or TD_TYPE_NONE when out of range. */
TD_API td_type_id td_table_column_type(const td_table *table, int64_t column);
/* The time zone of a timestamp column ("UTC", "America/New_York"), borrowed,
 * valid while the table is; NULL when the column has no time zone, is not a
 * timestamp, or is out of range. */
TD_API const char *td_table_column_timezone(const td_table *table, int64_t column);
/* True when column `column` is a partition column (false when out of range). */
TD_API bool td_table_column_is_partition(const td_table *table, int64_t column);
/* Index of the column called `name`, or -1. */
TD_API int64_t td_table_column_index(const td_table *table, const char *name);

/* Current number of rows. */
TD_API int64_t td_table_size(td_table *table);
/* Number of included locations, and the i-th in region order (borrowed, see
 * "Borrowed location keys" above; NULL when out of range).  A removed
 * location keeps its region (with no rows): it is still counted and listed
 * (td_table_region_removed tells it). */
TD_API int64_t td_table_location_count(td_table *table);
TD_API const td_location_key *td_table_location(td_table *table, int64_t i);
/* The update mode the backend declared for the table's key (for a derived
 * table, its source's): TD_UPDATE_ADD_REMOVE when locations may be removed
 * (see td_answer_schema_mode). */
TD_API td_update_mode td_table_update_mode(const td_table *table);
/* True when region `region` held a location that has been removed. */
TD_API bool td_table_region_removed(td_table *table, int64_t region);
/* The position of the first row of region `region` in the current version,
 * or -1 when out of range (position of row r of the region: start + r). */
TD_API int64_t td_table_region_start(td_table *table, int64_t region);
/* The row key of position `pos`, or -1 when out of range. */
TD_API int64_t td_table_row_key(td_table *table, int64_t pos);

/* Reads rows [begin, end) of the given columns (indices; NULL means all, in
 * order) into one contiguous struct array with one child per column, from
 * one version of the table.  `out` is owned by the caller.
 * Errors: TD_ERANGE (bad range), TD_EINVAL (bad column index, or indices
 * with n_columns < 0), TD_EFAILED
 * (the table has failed), TD_ENOMEM, and the errors of the backend's
 * column_values answers (TD_EBACKEND, TD_ECONTRACT, TD_ETIMEOUT). */
TD_API int td_table_read(td_table *table, const int64_t *columns, int64_t n_columns, int64_t begin,
                         int64_t end, struct ArrowArray *out, td_error *err);

/* Exports the table (or the given columns) as a stream of struct batches
 * over the version current at the call.  Each batch covers the rows of one
 * page of one location; data columns are slices of cached pages (no copies),
 * partition columns are constant arrays.  The stream holds a reference to
 * the table and reads lazily, a page per get_next; a failing get_next
 * (an error of td_table_read) returns ENOMEM or EIO, as the Arrow stream
 * interface wants errno codes, and get_last_error has the message.  `out` is owned by the caller.
 * Errors: TD_EINVAL (bad column index, or indices with n_columns < 0),
 * TD_EFAILED, TD_ENOMEM. */
TD_API int td_table_stream(td_table *table, const int64_t *columns, int64_t n_columns,
                           struct ArrowArrayStream *out, td_error *err);

/*
 * Partitioned tables: one row per location, with the partition columns and
 * the location key; each row's constituent table (that location alone) is
 * built lazily, on first use.  With opts->refreshing the partitioned table
 * grows with new locations in the update cycles (listeners hear them, as
 * new_locations), and its constituents are refreshing tables.
 * Errors of td_make_partitioned_table: those of td_make_table.  *out
 * receives the only reference (td_partitioned_table_release).
 */
TD_API int td_make_partitioned_table(td_service *service, const td_table_key *key,
                                     const td_table_options *opts, td_partitioned_table **out,
                                     td_error *err);
/* Frees the partitioned table (its constituents and merged tables live on
 * while referenced).  NULL is fine. */
TD_API void td_partitioned_table_release(td_partitioned_table *pt);
/* Listeners of a refreshing partitioned table.  Errors: TD_ESTATE (static),
 * and those of td_table_add_listener. */
TD_API int td_partitioned_table_add_listener(td_partitioned_table *pt, td_table_listener fn, void *ctx,
                                             int64_t *id, td_error *err);
/* TD_OK, or TD_ENOTFOUND (unknown id, or a static partitioned table). */
TD_API int td_partitioned_table_remove_listener(td_partitioned_table *pt, int64_t id);
TD_API int64_t td_partitioned_table_size(td_partitioned_table *pt);
/* Location key of row i (location-key order; for a refreshing partitioned
 * table, rows added later come after): borrowed, see "Borrowed location
 * keys" above; NULL when out of range. */
TD_API const td_location_key *td_partitioned_table_key(td_partitioned_table *pt, int64_t i);
/* Reads the partition columns plus a utf8 column "__location" (the formatted
 * key) as one struct array.  `schema_out` (may be NULL) and `out` are owned
 * by the caller.  Errors: TD_ENOMEM. */
TD_API int td_partitioned_table_read(td_partitioned_table *pt, struct ArrowSchema *schema_out,
                                     struct ArrowArray *out, td_error *err);
/* The constituent table of row i; built on first use, cached.  *out receives
 * a new reference.  Errors: TD_ERANGE (no row i), TD_ENOMEM, and those of
 * td_make_table (building it asks the backend for the location's size, or
 * subscribes to it). */
TD_API int td_partitioned_table_constituent(td_partitioned_table *pt, int64_t i, td_table **out,
                                            td_error *err);
/* Merges the constituents into one table (Deephaven's merge()): the rows of
 * every row's constituent, in row order, partition columns included.  Static
 * partitioned table: a static table of its locations, with their sizes at
 * the call.  Refreshing: a refreshing table over the same locations that
 * grows in the same cycles as the partitioned table: rows appended to any
 * constituent and the rows of new constituents appear in it (listeners hear
 * them; new constituents' regions come after the earlier ones).  It shares
 * pages and subscriptions with the constituents and the partitioned table.
 * *out receives one reference; it stays valid after
 * td_partitioned_table_release.  Errors: TD_EINVAL (NULL pt), TD_ENOMEM, and
 * for a static one those of sizing its locations (TD_EBACKEND,
 * TD_ECONTRACT, TD_ETIMEOUT). */
TD_API int td_partitioned_table_merge(td_partitioned_table *pt, td_table **out, td_error *err);

#ifdef __cplusplus
}
#endif

#endif
