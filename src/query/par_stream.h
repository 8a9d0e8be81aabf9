/*
 * query/par_stream.h - internal: the parallel producer of a lazy query
 * stream (a plain SELECT with or without WHERE, query/plan.c).  Workers
 * filter and project scan units ahead of the consumer (at most two units
 * per worker held); chunks come out in the order of the one-thread stream.
 */
#ifndef TD_QUERY_PAR_STREAM_H
#define TD_QUERY_PAR_STREAM_H

#include "query/ops.h"
#include "query/prune.h"

typedef struct td_par_stream td_par_stream;

/* Starts workers over rows [0, snap->size) of `src` for `spec` (its cols
 * filled), skipping pages `rf` (may be NULL) rejects; src, snap, spec and rf
 * are borrowed until td__par_stream_free.  *out = NULL (and TD_OK) when one
 * worker would do or no thread could be started: the caller streams on its
 * own thread.  Errors: TD_ENOMEM. */
int td__par_stream_new(td_table *src, td_snapshot *snap, const td_select_spec *spec, td_range_filter *rf,
                       int threads, td_par_stream **out, td_error *err);
/* The next output chunk (the caller releases it), or *out = NULL at the
 * end.  Errors: those of the scan and the filter, as the one-thread stream
 * meets them (the rows before the failing unit are delivered first). */
int td__par_stream_next(td_par_stream *p, td_dchunk **out, td_error *err);
/* Stops and joins the workers and frees p (NULL is allowed). */
void td__par_stream_free(td_par_stream *p);

#endif
