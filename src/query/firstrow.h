/*
 * query/firstrow.h - internal: the first row per key of a derived snapshot
 * in one hashed pass (QUALIFY row_number() ... = 1 and DISTINCT ON without
 * sorting the table), and the gather of rows by position.
 */
#ifndef TD_QUERY_FIRSTROW_H
#define TD_QUERY_FIRSTROW_H

#include "table/table.h"

/* For each distinct value of columns keys[0..n_part) of `snap` (a derived
 * table's snapshot: chunks), the position of its first row in the order of
 * columns keys[n_part..n_keys) (desc[k]: descending; the query/sort.h
 * rules: nulls last) with ties going to the lower position: the row a
 * stable sort would put first, i.e. row_number() = 1.  `threads` workers
 * (td__par_workers) each take a contiguous run of chunks; their partial
 * maps are merged in run order.  With `ties`, every row that ties its
 * partition's first on the ORDER BY columns (rank() = 1).  *pos
 * (td_malloc'd, the caller frees it) receives the *n positions in
 * increasing order.  TD_ENOMEM. */
int td__first_rows(const td_snapshot *snap, const td_schema *def, const int64_t *keys, const bool *desc,
                   int64_t n_keys, int64_t n_part, bool ties, int threads, int64_t **pos, int64_t *n,
                   td_error *err);

/* td__first_rows keeping up to k rows per partition: the first k of a
 * stable sort (row_number() <= k), or with `ties` every row whose rank is
 * at most k (rank() <= k: the rows not sorting after the partition's k-th).
 * *nums (when nums is not NULL; td_malloc'd, the caller frees it) receives
 * each kept row's row_number, or its rank with `ties`.  TD_ENOMEM. */
int td__top_rows(const td_snapshot *snap, const td_schema *def, const int64_t *keys, const bool *desc,
                 int64_t n_keys, int64_t n_part, int64_t k, bool ties, int threads, int64_t **pos, int64_t **nums,
                 int64_t *n, td_error *err);

/* Rows pos[0..n) of `snap` (a derived snapshot with def's columns) copied
 * into one new chunk *out of def->n_fields + n_extra columns; the extra
 * columns are left for the caller to set.  TD_ENOMEM. */
int td__gather_rows(const td_snapshot *snap, const td_schema *def, const int64_t *pos, int64_t n, int64_t n_extra,
                    td_dchunk **out, td_error *err);

#endif
