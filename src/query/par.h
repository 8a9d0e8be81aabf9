/*
 * query/par.h - internal: the worker pool of static operations (parallel
 * scans of a snapshot) and how their work is split.
 *
 * An operation asks for `threads` workers (0: one per online core); it gets
 * fewer when the work has fewer units (a unit is one chunk of the scan: a
 * page of one location, or a derived chunk).  Workers run only inside
 * td__par_run, which returns when every worker has finished, so the caller
 * (the update thread for refreshing tables) stays the single writer of every
 * table.  Determinism is the caller's: either each worker folds runs of
 * consecutive units (query/agg_op.c) and the partial results are merged in
 * position order, or workers take units in increasing order from a shared
 * counter and each result is filed under its unit (or carries its row
 * positions).
 */
#ifndef TD_QUERY_PAR_H
#define TD_QUERY_PAR_H

#include <stdatomic.h>

#include "table/table.h"

enum { TD_PAR_MAX = 64 };

/* Online cores (at least 1, at most TD_PAR_MAX). */
int td__par_cores(void);

/* Workers for `n_units` units of work given a requested thread count
 * (0: td__par_cores()): between 1 and n_units. */
int td__par_workers(int threads, int64_t n_units);

/* Units of work in rows [begin, end) of `snap` for td__par_workers: one per
 * `min_rows` rows, and for a source table one per TD_PAR_LOCATIONS of the
 * locations they span, whatever their rows (each location's first read goes
 * to the backend: opening a file, reading a page).  So a query over 10,000
 * locations of 3 rows each uses the workers the same rows in one location
 * would not. */
enum { TD_PAR_LOCATIONS = 16 };
int64_t td__par_work(const td_table *t, const td_snapshot *snap, int64_t begin, int64_t end, int64_t min_rows);

/* One worker's body; worker 0 runs on the calling thread. */
typedef int (*td_par_fn)(void *ctx, int worker, td_error *err);

/* Runs fn(ctx, w, ...) for w in [0, n) at the same time and waits for all.
 * Returns TD_OK, or the error of the lowest-numbered failed worker (its
 * message in err).  A worker whose thread cannot be started runs on the
 * calling thread after worker 0. */
int td__par_run(int n, td_par_fn fn, void *ctx, td_error *err);

/* Chunk units of rows [begin, end) of `snap`: *bounds receives n + 1
 * increasing positions (td_malloc'd, the caller frees it), unit i being
 * [bounds[i], bounds[i + 1]). */
int td__par_units(const td_table *t, const td_snapshot *snap, int64_t begin, int64_t end, int64_t **bounds,
                  int64_t *n, td_error *err);

/* Groups the chunk units of td__par_units (in place; *n shrinks) for
 * `workers` workers: consecutive chunks of one location form one unit of
 * up to a quarter of a worker's share of the rows.  Adjacent engine pages
 * of a location often share a file page (a Parquet data page of 122,880
 * rows spans two 64k-row engine pages); as separate units taken by two
 * workers, each decoded it.  Nothing changes for one worker. */
void td__par_group(const td_table *t, const td_snapshot *snap, int workers, int64_t *bounds, int64_t *n);

/* Tests only: when on, a parallel aggregation's first worker starts with
 * every unit and the others take theirs from it (query/agg_op.c); it waits
 * (up to 2 s) for the others to start, so they find units to take. */
void td__agg_par_skew(bool on);
/* How many runs parallel aggregations merged so far, the first run of each
 * included (tests: a steal that would not pay is not made). */
int64_t td__agg_runs_merged(void);
/* How many steals of unordered aggregations (td_agg_plan.unordered) went
 * on in the thief's own state so far (tests). */
int64_t td__agg_shared_steals(void);

#endif
