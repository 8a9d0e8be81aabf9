/*
 * table/table.h - internal layout of source tables, snapshots and scans.
 *
 * A table's state is an immutable, reference-counted snapshot: the included
 * locations in region order with the size each has in this version.  Readers
 * take the current snapshot (td_table_snapshot) and work on it, so a read
 * that overlaps an update sees the table entirely before or after it; an
 * update publishes a new snapshot under table->lock.
 *
 * Invariants:
 *  1. regions[i].row_begin == sum of regions[0..i).size; size == total.
 *  2. Region i of every later snapshot of the same table is the same
 *     location (regions are appended, never reordered or reused), and its
 *     size is >= the size here.
 */
#ifndef TD_TABLE_TABLE_H
#define TD_TABLE_TABLE_H

#include <pthread.h>
#include <stdatomic.h>

#include "pages/fetch.h"
#include "service/provider.h"
#include "tabledata/table.h"

typedef struct td_region {
  td_location *loc;
  int64_t size;
  int64_t row_begin;
} td_region;

typedef struct td_snapshot {
  _Atomic int64_t refs;
  int64_t version;
  int64_t n_regions;
  td_region *regions;
  int64_t size;
} td_snapshot;

typedef struct td_listener_entry {
  int64_t id;
  td_table_listener fn;
  void *ctx;
  bool removed;
} td_listener_entry;

struct td_table {
  _Atomic int64_t refs;
  td_service *service;
  td_provider *provider;
  const td_schema *def; /* the provider's definition */
  int64_t n_partition;
  td_table_options opts;
  pthread_mutex_t lock; /* guards snap and the failure fields */
  td_snapshot *snap;
  int fail_code;        /* non-zero once a refreshing table failed */
  char fail_msg[TD_ERROR_MESSAGE_SIZE];
  /* Refreshing tables (under the update graph's lock): */
  bool refreshing;
  bool fail_told;       /* listeners got the failure */
  td_key_index included; /* location key -> td_location, for duplicates */
  td_listener_entry *listeners;
  int64_t n_listeners, cap_listeners, next_listener_id;
};

/* Allocates a table with no snapshot yet. */
int td_table_alloc(td_service *s, td_provider *p, const td_table_options *opts, td_table **out, td_error *err);

/* Builds a snapshot of `n` locations (in region order) with `sizes`. */
int td_snapshot_new(td_location *const *locs, const int64_t *sizes, int64_t n, int64_t version,
                    td_snapshot **out, td_error *err);
td_snapshot *td_table_snapshot(td_table *t); /* retained */
void td_snapshot_release(td_snapshot *s);
/* Region containing position pos (0 <= pos < size). */
int64_t td_snapshot_region_of(const td_snapshot *s, int64_t pos);

/* Builds a static table over `locs` (already filtered and ordered), asking
 * the backend for their sizes. */
int td_table_build_static(td_service *s, td_provider *p, td_location *const *locs, int64_t n,
                          const td_table_options *opts, td_table **out, td_error *err);

/* ---- scans: the one way engine code reads column data ---- */

typedef struct td_chunk {
  int64_t pos;    /* table position of the first row */
  int64_t length; /* rows in the chunk (>= 1) */
  int64_t region;
  td_location *loc;
  int64_t row;         /* row within the location of the first row */
  int64_t page_offset; /* row within the page of the first row */
  /* Per scanned column: the page (data columns) or the constant value
   * (partition columns; the other is NULL).  Pages are held by the scan
   * until the next td_scan_next. */
  td_page_data **pages;
  const td_value **consts;
} td_chunk;

typedef struct td_scan {
  td_table *table;
  td_snapshot *snap;
  int64_t n_cols;
  int64_t *cols;
  int64_t pos, end;
  td_page_data **pages;
  const td_value **consts;
} td_scan;

/* Scans rows [begin, end) of the given columns (NULL: all) of snapshot
 * `snap` (NULL: the current one). */
int td_scan_init(td_scan *sc, td_table *t, td_snapshot *snap, const int64_t *cols, int64_t n_cols,
                 int64_t begin, int64_t end, td_error *err);
/* Next chunk (at most one page of one location); *done when finished. */
int td_scan_next(td_scan *sc, td_chunk *chunk, bool *done, td_error *err);
void td_scan_release(td_scan *sc);

/* Appends `n` copies of a constant to a builder. */
int td_array_append_const(td_array *a, const td_value *v, int64_t n, td_error *err);

#endif
