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
 *     size is >= the size here, unless the location was removed: then the
 *     region is `removed`, with size 0, in every later snapshot.
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
  bool removed; /* a removed location's tombstone (size 0) */
} td_region;

/* One immutable piece of a derived table: `length` rows of every column,
 * each either a view (kept alive by its owner) or a constant. */
typedef struct td_dchunk {
  _Atomic int64_t refs;
  int64_t length;
  int64_t n_cols;
  td_colview *views;
  td_shared_array **owners;
  td_value *consts; /* consts[i].type != TD_TYPE_NONE: column i is constant */
  char **const_strs; /* owned bytes of string constants */
} td_dchunk;

typedef struct td_snapshot {
  _Atomic int64_t refs;
  int64_t version;
  int64_t size;
  /* source tables */
  int64_t n_regions;
  td_region *regions;
  /* derived tables */
  int64_t n_chunks;
  td_dchunk **chunks;
  int64_t *chunk_begin; /* first position of each chunk */
} td_snapshot;

typedef struct td_listener_entry {
  int64_t id;
  td_table_listener fn;
  void *ctx;
  bool removed;
} td_listener_entry;

typedef enum td_table_kind { TD_TABLE_SOURCE, TD_TABLE_DERIVED } td_table_kind;

/* A change of a derived table's source, in source positions. */
typedef struct td_source_delta {
  td_snapshot *snap;  /* the source's snapshot after the change */
  bool replaced;      /* recompute from snap (also the initial fill) */
  int64_t n_ranges;   /* else: appended rows, position ranges [begin, end) */
  const int64_t *ranges; /* 2 * n_ranges */
  int64_t version;       /* the version to stamp on the new snapshot */
  /* Operators that retract (td_op_vtable.retracts), on a source table: the
   * regions whose locations this change removed (tombstones in snap; their
   * rows are those the region had in the snapshot of the previous change). */
  int64_t n_removed;
  const int64_t *removed;
} td_source_delta;

/* The result of applying a delta: filled by the operator for listeners. */
typedef struct td_op_result {
  td_snapshot *snap;       /* the new snapshot (taken), or NULL: unchanged */
  bool replaced;
  int64_t appended_from;   /* !replaced: positions [appended_from, snap->size) are new */
  int64_t *changed;        /* positions of changed rows (owned, td_free) */
  int64_t n_changed;
  int64_t *removed;        /* replaced: rows that left, their positions in the previous version (owned) */
  int64_t n_removed;
} td_op_result;

/* What a derived table does when its source changes (query/ops.c). */
typedef struct td_op_vtable {
  /* Computes the table's next snapshot from a source delta.  Runs on the
   * update thread (refreshing sources) or in td_derived_new. */
  int (*apply)(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err);
  void (*free)(void *op);
  /* apply takes removals of a source table's locations (n_removed) instead
   * of a replaced delta. */
  bool retracts;
} td_op_vtable;

struct td_table {
  _Atomic int64_t refs;
  td_table_kind kind;
  td_service *service;
  td_provider *provider; /* source tables; derived: the root source's */
  const td_schema *def;  /* the provider's definition, or own_def */
  td_schema own_def;     /* derived tables */
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
  int64_t pins;  /* dispatches of its listeners in progress */
  bool zombie;   /* released during a dispatch: freed when it ends */
  void *owned_ctx; /* freed with the table (a predicate context it owns) */
  void (*owned_ctx_free)(void *ctx);
  /* Derived tables: */
  td_table *source;
  int64_t source_listener; /* id of the listener on a refreshing source */
  const td_op_vtable *op_vt;
  void *op;
  bool row_preserving; /* row i comes from source row i (a projection) */
  /* A derived table with a second live input (a join's or a UNION's right
   * side, a live subquery) gathers what its inputs tell it in a cycle and
   * applies it once, after all of them (td_derived_defer), so its readers
   * and listeners never see one input's change without the other's. */
  bool defer;
  bool queued;          /* in the graph's deferred list (under its lock) */
  uint64_t seq;         /* creation order: every input of a table is older */
  bool pend_replaced;   /* the source's gathered change: replaced, ... */
  int64_t *pend_ranges; /* ... or appended position ranges (pairs) */
  int64_t n_pend, cap_pend;
  /* Worker threads its operators may use to read it (0: every core); a
   * derived table takes its source's (query/par.h). */
  int threads;
  /* A lazy derived table (td_derived_new_lazy) is filled when first read:
   * pending until then; fill_lock (lazy tables only) lets one reader fill. */
  bool lazy;
  _Atomic bool pending;
  pthread_mutex_t fill_lock;
};

/* Frees a table whose last reference is gone (and, if refreshing, that has
 * left the update graph). */
void td_table_destroy(td_table *t);
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
  int64_t region; /* source tables: the region and row within it; else -1 */
  td_location *loc;
  int64_t row;
  /* Per scanned column: a view of exactly the chunk's rows and the owner
   * of its buffers, or (consts[i] != NULL) a constant.  Valid until the
   * next td_scan_next. */
  td_colview *views;
  td_shared_array **owners;
  const td_value **consts;
} td_chunk;

/* Decides from metadata alone that rows [row, row + n) of a location cannot
 * pass a filter (they are then skipped unread). */
typedef bool (*td_scan_skip_fn)(void *ctx, const td_location *loc, int64_t row, int64_t n);

typedef struct td_scan {
  td_table *table;
  td_scan_skip_fn skip; /* optional, source tables: set after td_scan_init */
  void *skip_ctx;
  td_snapshot *snap;
  int64_t n_cols;
  int64_t *cols;
  int64_t pos, end;
  td_page_data **pages; /* held for the current chunk */
  td_colview *views;
  td_shared_array **owners;
  const td_value **consts;
  /* Late materialization: lazy[i] columns (data columns of a source table)
   * are not fetched by td_scan_next but by td_scan_load, for the chunks
   * that need them; n_lazy counts them; loaded: whether this chunk has. */
  bool *lazy;
  int64_t n_lazy;
  bool loaded;
  /* Dictionary-encoded pages (arrow/dict.h): columns whose consumer takes
   * codes (codes_ok[i]) get the page's code view; the others get the rows
   * decoded into decoded[i] (held for the current chunk). */
  bool *codes_ok;
  td_shared_array **decoded;
} td_scan;

/* Scans rows [begin, end) of the given columns (NULL: all) of snapshot
 * `snap` (NULL: the current one).  With a snapshot given, a lazy table
 * not filled yet (td_derived_new_lazy) stays so. */
int td_scan_init(td_scan *sc, td_table *t, td_snapshot *snap, const int64_t *cols, int64_t n_cols,
                 int64_t begin, int64_t end, td_error *err);
/* Next chunk (at most one page of one location); *done when finished. */
int td_scan_next(td_scan *sc, td_chunk *chunk, bool *done, td_error *err);
/* Scanned column i (an index into the scan's columns) becomes lazy: its
 * pages are fetched only by td_scan_load.  Ignored for derived tables and
 * partition columns, which cost nothing to read. */
void td_scan_defer(td_scan *sc, int64_t i);
/* Scanned column i may be handed out as codes into a dictionary (a
 * td_colview with codes set) when its pages (or a derived table's chunks:
 * a view made with td_select_spec.keep_codes) are dictionary-encoded: the
 * caller reads it only through paths that understand codes (td__vec_load,
 * filters, group-by keys).  Other columns always see plain utf8. */
void td_scan_allow_codes(td_scan *sc, int64_t i);
/* Replaces the current chunk's view of scanned column i, when it holds
 * codes, by its rows decoded to utf8 (owned by the scan until the next
 * chunk).  Errors: TD_ENOMEM. */
int td_scan_decode(td_scan *sc, int64_t i, td_error *err);
/* Fetches the lazy columns of the current chunk (views, owners), once. */
int td_scan_load(td_scan *sc, td_chunk *chunk, td_error *err);
/* Narrows the current chunk of a source table to its rows [first, first + n)
 * (pos, row, length and the fetched columns' views) and fetches the lazy
 * columns for those rows only (td_fetch_rows: a cached page holding them,
 * else just those rows from the backend, not cached).  The whole chunk
 * when it is most of its page (over 1/16 of the rows the page holds), or a
 * chunk loaded already, is td_scan_load.  Errors: TD_EINVAL (rows outside
 * the chunk), a fetch's. */
int td_scan_load_rows(td_scan *sc, td_chunk *ch, int64_t first, int64_t n, td_error *err);
void td_scan_release(td_scan *sc);
/* The end of the chunk td_scan_next would return at position `pos` of
 * `snap` (ignoring skip hooks), at most `end`: a page of a location, or the
 * rest of a derived chunk.  Parallel readers split work on these bounds so
 * that no page is read by two workers. */
int64_t td_scan_chunk_end(const td_table *t, const td_snapshot *snap, int64_t pos, int64_t end);
/* The start of the chunk holding position pos (pos itself or earlier). */
int64_t td_scan_chunk_start(const td_table *t, const td_snapshot *snap, int64_t pos);

/* Derived chunks: new (refs 1) with n_cols columns, all unset. */
int td_dchunk_new(int64_t n_cols, int64_t length, td_dchunk **out, td_error *err);
/* Column i is a view of `v` (copied) kept alive by `owner` (retained). */
void td_dchunk_set_view(td_dchunk *c, int64_t i, const td_colview *v, td_shared_array *owner);
/* Column i is the constant `v` (string bytes copied). */
int td_dchunk_set_const(td_dchunk *c, int64_t i, const td_value *v, td_error *err);
/* Column i takes the built array `a` (exported and owned by the chunk). */
int td_dchunk_set_array(td_dchunk *c, int64_t i, td_array *a, td_error *err);
/* Column i takes (moves) the flat ArrowArray `arr` of `type`, which is
 * released on failure too.  Errors: TD_ENOMEM, TD_ETYPE (a layout `type`
 * does not have). */
int td_dchunk_set_arrow(td_dchunk *c, int64_t i, td_type_id type, struct ArrowArray *arr, td_error *err);
void td_dchunk_release(td_dchunk *c);

/* A column slab (table/slab.c): where a live operator writes the small
 * fixed-width result columns of each cycle.  One block holds the rows of
 * many cycles; each chunk's column is a view of its rows that keeps the
 * block alive.  A cycle then writes into pages mapped when the block was
 * made, instead of a fresh allocation whose every page faults (blocks grow
 * geometrically, 64 KiB to 4 MiB, huge pages from 2 MiB).  Only the rows
 * appended to a table belong in a slab: rows written there live as long
 * as the block, so rows that are later replaced would keep their block's
 * memory.  A block's unused tail is the memory this costs. */
typedef struct td_slab {
  td_type_id type;
  td_shared_array *block;     /* being filled (NULL: none yet) */
  uint8_t *values, *validity;    /* its buffers */
  int64_t used, cap;             /* its rows written, its rows */
  int64_t bytes;                 /* its values' bytes (the next block: at least twice) */
  int64_t start;                 /* the row td_slab_begin handed out */
} td_slab;
/* Whether n rows of `type` go into a slab (a fixed-width type, and few
 * enough rows, up to 1 MiB: a large chunk gets an array of its own). */
bool td_slab_serves(td_type_id type, int64_t n);
/* Readies `a` (overwritten) as an empty array of `type` with room for n
 * rows inside the slab (a new block when the current one is full): fill
 * it with the td_array append functions, at most n rows, then hand it to
 * td_slab_commit, or to td_slab_drop on failure. */
int td_slab_begin(td_slab *s, td_type_id type, int64_t n, td_array *a, td_error *err);
/* Makes column i of chunk c a view of the rows written into `a` (which is
 * emptied). */
void td_slab_commit(td_slab *s, td_array *a, td_dchunk *c, int64_t i);
/* Forgets the rows written into `a` (which is emptied). */
void td_slab_drop(td_array *a);
/* Releases the slab's block (chunks keep their references). */
void td_slab_reset(td_slab *s);
/* Tests: the slab blocks made so far (process-wide). */
int64_t td__slab_blocks(void);
/* A derived snapshot: `base`'s chunks (may be NULL) followed by `more`
 * (references taken), with the given version. */
int td_snapshot_derived(const td_snapshot *base, td_dchunk *const *more, int64_t n_more, int64_t version,
                        td_snapshot **out, td_error *err);
/* Publishes a new snapshot (takes it); drops the old one. */
void td_table_publish(td_table *t, td_snapshot *snap);

/* Builds a derived table over `source` with definition `def` (copied) and
 * operator (vt, op), which it takes even on failure.  Fills it from the
 * source's current snapshot; a refreshing source also updates it in every
 * cycle that changes the source, after the source and before the derived
 * table's own listeners. */
int td_derived_new(td_table *source, const td_schema *def, const td_op_vtable *vt, void *op,
                   td_table **out, td_error *err);
/* td_derived_new, except that over a static source the table is filled
 * when first read (td_table_snapshot, td_table_status), not now: an
 * operator that may never run in full (a sort whose head becomes a top-N,
 * query/plan.c).  The operator must not read its own table's snapshot.  A
 * fill that fails marks the table failed (td_table_status gives the error)
 * and leaves it empty.  Over a refreshing source: td_derived_new. */
int td_derived_new_lazy(td_table *source, const td_schema *def, const td_op_vtable *vt, void *op,
                        td_table **out, td_error *err);
/* Fills a pending lazy table (no effect otherwise). */
void td_derived_fill(td_table *t);
/* A second input of t changed (a join's right side; the operator has noted
 * how, for its next apply): t is applied once at the end of the cycle, with
 * whatever its source brought too (at once when called outside a cycle),
 * and tells its listeners.  On the update thread, under the update lock;
 * failures fail t. */
void td_derived_defer(td_table *t);
/* Applies what td_derived_defer gathered (the graph calls it). */
void td_derived_run_deferred(td_table *t);
void td_derived_destroy(td_table *t);

/* Appends `n` copies of a constant to a builder. */
int td_array_append_const(td_array *a, const td_value *v, int64_t n, td_error *err);

#endif
