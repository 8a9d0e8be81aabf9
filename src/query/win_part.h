/*
 * query/win_part.h - internal: the window operator's row order without a
 * global sort.  Rows are grouped by their PARTITION BY values (hashed), and
 * each partition alone is sorted by the ORDER BY columns; the order inside
 * a partition is the one a stable sort of all rows by (partition keys,
 * order keys) gives it, so every window value is the same.
 */
#ifndef TD_QUERY_WIN_PART_H
#define TD_QUERY_WIN_PART_H

#include "query/sort.h"

/* The partitions of rows [0, n) by keys[0..n_part) (the query/sort.h
 * rules: nulls tie nulls), each sorted stably by keys[n_part..n_keys)
 * (desc as given, nulls last).  perm[0..n) (caller-owned) receives the rows
 * partition after partition, partitions in the order of their first row;
 * *starts (td_malloc'd, the caller frees it) the *n_parts + 1 bounds,
 * partition i being perm[starts[i] .. starts[i + 1]).  Up to `threads`
 * workers (td__par_workers) sort the partitions.  TD_ENOMEM. */
int td__win_partition(const td_sort_key *keys, int64_t n_keys, int64_t n_part, int64_t n, int threads, int64_t *perm,
                      int64_t **starts, int64_t *n_parts, td_error *err);

/* The partitions of rows [0, n) by keys[0..n_part) without ordering them:
 * *gid (td_malloc'd, the caller frees it; NULL when n_part is 0: every row
 * is partition 0) the partition of each row, *n_groups an upper bound of
 * the partition numbers (some may have no rows).  One small-range integer
 * key (a bool, a string read as codes) is its own number (value - min,
 * nulls last), no hashing; others are hashed (partitions numbered by first
 * row) on up to `threads` workers.  TD_ENOMEM, TD_ERANGE past UINT32_MAX
 * rows. */
int td__win_groups(const td_sort_key *keys, int64_t n_part, int64_t n, int threads, uint32_t **gid,
                   int64_t *n_groups, td_error *err);

#endif
