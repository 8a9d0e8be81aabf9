/*
 * tabledata/postgres_backend.h - a PostgreSQL table or view as a table.
 *
 * A PostgreSQL backend serves one table: a PostgreSQL table or view reached
 * through libpq.  Its locations are the table's leaf declarative partitions
 * (pg_partition_tree; partition column `partition`, the partition's name) or
 * the distinct values of columns the caller names (those columns become the
 * partition columns), or one location for a plain table.  Rows are ordered by
 * an append-only key column (default: a single-column primary key); column
 * values are read in binary with COPY (SELECT ... ORDER BY key ...) TO
 * STDOUT (FORMAT binary), a page at a time, seeking by key through a sparse
 * index of key values at page boundaries rather than with OFFSET scans.
 *
 * Live growth needs a commit horizon (docs/POSTGRES.md): an xid8 column
 * filled by DEFAULT pg_current_xact_id().  Rows are then ordered by
 * (xid column, key) and a location's size counts only the rows whose
 * inserting transaction precedes pg_snapshot_xmin(pg_current_snapshot()):
 * every transaction below that horizon has ended, so no row can later appear
 * inside the counted prefix, whatever order transactions commit in.  Sizes
 * are polled every poll_ms; LISTEN on `notify_channel` only wakes the poll
 * early.  Without an xid8 column the table is static (sizes are counted once).
 *
 * A partition that is dropped (or a distinct value whose rows disappear)
 * fails the table's subscriptions with a message naming it: the engine has
 * no location removal yet.  Deleted or updated rows are not supported (a
 * shrinking size fails the table).
 */
#ifndef TABLEDATA_POSTGRES_BACKEND_H
#define TABLEDATA_POSTGRES_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/backend.h"
#include "tabledata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_postgres_backend td_postgres_backend;

typedef struct td_postgres_options {
  /* The append-only ordering key (unique, never updated), or NULL for the
   * table's single-column primary key.  Borrowed for the call. */
  const char *key_column;
  /* The xid8 column filled by DEFAULT pg_current_xact_id() that gives the
   * commit horizon, or NULL: the table's only xid8 column if it has exactly
   * one, else the table is static.  Borrowed. */
  const char *xid_column;
  /* Columns whose distinct values are the locations (they become partition
   * columns), or n_location_columns = 0: partitions of a partitioned table,
   * else one location.  Borrowed. */
  const char *const *location_columns;
  int64_t n_location_columns;
  /* numeric columns read as float64 (rounding to 53 bits).  Default false:
   * numeric columns are listed as unsupported (tabledata has no decimal
   * type, and a value is never changed silently). */
  bool numeric_as_float64;
  int64_t poll_ms;            /* size and location polling interval; 0: 500 */
  const char *notify_channel; /* LISTEN channel that wakes the poll, or NULL */
} td_postgres_options;

/* Fills `opts` with the defaults (above).  Never fails. */
TD_API void td_postgres_options_init(td_postgres_options *opts);

/* Connects with `conninfo` (a libpq connection string or postgresql:// URI),
 * finds `table` (a name as PostgreSQL resolves it: 'trades', 'public."My
 * Table"'), its columns, key, horizon column and kind of locations.
 * Errors: TD_EIO (connection or server failure, the server's message),
 * TD_ENOTFOUND (no such table, key or location column), TD_EINVAL (bad
 * options: no key, a key of the wrong kind, partitions and location columns
 * together), TD_ENOMEM. */
TD_API int td_postgres_backend_new(const char *conninfo, const char *table, const td_postgres_options *opts,
                                   td_postgres_backend **out, td_error *err);
TD_API td_postgres_backend *td_postgres_backend_retain(td_postgres_backend *pb);
TD_API void td_postgres_backend_release(td_postgres_backend *pb); /* NULL is fine */
/* The backend handle for td_service_new (holds a new reference). */
TD_API td_backend td_postgres_backend_backend(td_postgres_backend *pb);
/* The name of the one table the backend serves (`table` as given). */
TD_API const char *td_postgres_backend_table_name(const td_postgres_backend *pb);
/* True when the table grows (it has a horizon column). */
TD_API bool td_postgres_backend_is_live(const td_postgres_backend *pb);
/* Columns left out of the schema, as "name: reason\n" lines.  Like snprintf:
 * always NUL-terminates, returns the length wanted. */
TD_API size_t td_postgres_backend_unsupported(const td_postgres_backend *pb, char *buf, size_t size);
/* Wakes the poll at once (as a NOTIFY on the channel would). */
TD_API void td_postgres_backend_wake(td_postgres_backend *pb);

/* Opens a FROM source of the query language or CLI: `spec` is either
 * "postgresql://host/db/.../table" or "postgres://..." (the last path
 * segment is the table, the rest the libpq URI, query parameters included,
 * except key=, xid=, locations=a,b, numeric=float64, poll_ms=, channel=,
 * which are the options), or the arguments of postgres('conninfo', 'table'
 * [, 'option=value' ...]) given as conninfo and table with the options in
 * `extra` (n_extra strings "name=value").  Errors: those of
 * td_postgres_backend_new, TD_EINVAL for a malformed spec or option. */
TD_API int td_postgres_backend_open_uri(const char *uri, td_postgres_backend **out, td_error *err);
TD_API int td_postgres_backend_open_args(const char *conninfo, const char *table, const char *const *extra,
                                         int64_t n_extra, td_postgres_backend **out, td_error *err);

/* True for the FROM sources td_postgres_backend_open_source opens: a
 * "postgresql://" or "postgres://" URI, or call text "postgres(...". */
TD_API bool td_postgres_is_source(const char *source);
/* Opens a FROM source as the query parser hands it to a resolver: a URI
 * (as td_postgres_backend_open_uri) or the canonical text of a table
 * function call, postgres('conninfo', 'table', name => 'value' ...)
 * (named arguments are options).  Errors: those of the two openers,
 * TD_EINVAL for anything else. */
TD_API int td_postgres_backend_open_source(const char *source, td_postgres_backend **out, td_error *err);

#ifdef __cplusplus
}
#endif

#endif
