/*
 * tabledata/update_by.h - Deephaven's update_by: per-key rolling and
 * cumulative columns added to every row (the window functions of SQL over
 * PARTITION BY keys, in row order).
 *
 * The result has every column of the source, then one column per
 * operation; row i of the result is row i of the source (its columns are
 * shared, not copied).  Each operation reads the rows of the same key
 * (`by` columns; nulls are a key of their own; n_by == 0: one key) that
 * come before it in row order -- on a refreshing source, arrival order.
 * Live: a cycle computes only the appended rows (each key keeps its window
 * state: the last `ticks` values, or the values within `window_ns`), so a
 * cycle costs the appended rows times the window's work; listeners hear the
 * positions appended.  A replaced source (an aggregation above it changed
 * rows) recomputes everything.
 */
#ifndef TABLEDATA_UPDATE_BY_H
#define TABLEDATA_UPDATE_BY_H

#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/error.h"
#include "tabledata/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum td_roll_kind {
  TD_ROLL_SUM,        /* float64: sum of the non-null values in the window; null when none */
  TD_ROLL_AVG,        /* float64: their mean; null when none */
  TD_ROLL_MIN,        /* float64 */
  TD_ROLL_MAX,        /* float64 */
  TD_ROLL_COUNT,      /* int64: non-null values in the window */
  TD_ROLL_ROW_NUMBER, /* int64: 1, 2, ... per key (column, ticks, ts ignored) */
  TD_ROLL_LAG         /* the value `ticks` rows earlier in the key (null before); the
                         input's type for integer, time and float64 columns */
} td_roll_kind;

typedef struct td_rolling {
  td_roll_kind kind;
  const char *column; /* input: a numeric, date, time or timestamp column */
  const char *name;   /* output column name */
  /* The window, for SUM .. COUNT: with `ts` NULL, the current row and the
   * ticks - 1 rows before it (ticks >= 1; SQL's ROWS BETWEEN ticks-1
   * PRECEDING AND CURRENT ROW); with `ts` (a timestamp or integer column),
   * the rows whose ts is in (t - window_ns, t] for the current row's t
   * (RANGE BETWEEN window PRECEDING AND CURRENT ROW, excluding its start).
   * ticks == 0 and ts NULL: cumulative (every row so far).  For LAG, ticks
   * is the offset (>= 1). */
  int64_t ticks;
  const char *ts;
  int64_t window_ns;
} td_rolling;

/* Adds the `n_ops` columns to `source`, per key of the `by` columns.
 * Time windows need each key's ts values non-decreasing in row order: a
 * row whose ts is earlier than its key's previous row fails the call with
 * TD_EINVAL (or, arriving in a later cycle, fails the result table), as
 * does a null ts.
 * Errors: TD_EINVAL (NULL source, ops or out; n_ops < 1 or > 64; n_by
 * outside 0..64; a bad window: ticks < 0, ticks == 0 for LAG, window_ns <=
 * 0 with ts; NULL or duplicate names), TD_ETYPE (an unknown column, an
 * input or ts column of another type); those common to every operation
 * (tabledata/query.h).  *out receives one reference (td_table_release). */
TD_API int td_table_update_by(td_table *source, const td_rolling *ops, int64_t n_ops, const char *const *by,
                              int64_t n_by, td_table **out, td_error *err);

#ifdef __cplusplus
}
#endif

#endif
