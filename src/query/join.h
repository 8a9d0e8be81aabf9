/*
 * query/join.h - what the SQL planner needs of the join operators beyond
 * tabledata/join.h.
 */
#ifndef TD_QUERY_JOIN_H
#define TD_QUERY_JOIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "table/table.h"
#include "tabledata/join.h"

/* td_table_aj (reverse: td_table_raj); `inner` drops the left rows without
 * a match (SQL's ASOF JOIN; ASOF LEFT JOIN keeps them, as aj does).  With
 * `defer`, a join of two static tables, the left one a source table whose
 * key and as-of columns are data columns, is made when first read, as
 * td__join_deferred's (an aggregation folds it instead). */
int td__asof_join(td_table *left, td_table *right, const char *const *keys, int64_t n_keys, const char *on,
                  bool reverse, bool inner, bool defer, td_table **out, td_error *err);

/* Chunks whose dictionary-encoded key static joins probed through its
 * entries (every join of the process, for tests). */
int64_t td__join_dict_chunks(void);
/* Dictionary entries whose lookups carried over from the dictionary before
 * (a part of td_dict_concat's, or the whole; every join, for tests). */
int64_t td__join_dict_carried(void);
/* Right string columns static joins handed on as codes (a column of a
 * result chunk each; every join of the process, for tests). */
int64_t td__join_right_codes(void);

/* td_table_join, except that an inner or left join of two static tables,
 * the left one a source table keyed on data columns, is made when first
 * read (td_derived_new_lazy) rather than now: an aggregation over it folds
 * it chunk by chunk instead (td__join_fold), reading only the columns it
 * needs and keeping no result. */
int td__join_deferred(td_table *left, td_table *right, td_join_type type, const char *const *keys, int64_t n_keys,
                      td_table **out, td_error *err);
/* Whether t is such a join not made yet (nothing has read it). */
bool td__join_pending(const td_table *t);
/* Indexes the right side of pending join t for td__join_fold, on the
 * calling thread, before any fold; left_rows: the left side's size. */
int td__join_fold_ready(td_table *t, int64_t left_rows, td_error *err);
/* Joins rows [begin, end) of the left snapshot `lsnap` (of t->source) one
 * chunk at a time and calls fold with each result chunk as a one-chunk
 * snapshot of t's columns (the reader takes dictionary codes), in order.
 * Only t's columns cols[0..n_cols) hold data (the others are null
 * constants).  Stops early when *stop is set.  Errors: fold's, TD_ENOMEM. */
typedef int (*td__join_fold_fn)(void *ctx, td_snapshot *snap, td_error *err);
int td__join_fold(td_table *t, td_snapshot *lsnap, int64_t begin, int64_t end, const int64_t *cols, int64_t n_cols,
                  td__join_fold_fn fold, void *ctx, const atomic_bool *stop, td_error *err);
/* Result chunks td__join_fold made (every join of the process, for tests). */
int64_t td__join_fold_chunks(void);

#endif
