/*
 * table/update.h - the update graph: refreshing tables, subscriptions and
 * update cycles (spec 6).
 *
 * One graph per service, created with it; its thread starts with the first
 * refreshing table.  Backend notifications (new locations, new sizes,
 * failures) are stored in their subscription calls by the answer functions,
 * which then only mark the graph dirty (td_graph_notify).  The update thread
 * runs a cycle when dirty: immediately (update_period_ms == 0, bursts
 * coalesce into one cycle) or at the next period boundary.
 *
 * A cycle, holding the graph lock:
 *   1. drains each provider's location subscription once (new locations are
 *      interned and remembered as that cycle's `fresh` list);
 *   2. drains each included location's size subscription once;
 *   3. per refreshing table: includes the fresh locations its predicate keeps
 *      (subscribing to their sizes), in location-key order after all earlier
 *      regions; publishes a new snapshot if anything grew; then calls its
 *      listeners in registration order.
 * Readers never take the graph lock: they read snapshots.
 *
 * Invariants:
 *  1. A provider has a location subscription iff loc_sub_refs > 0, a
 *     location a size subscription iff size_sub_refs > 0; the last table to
 *     drop a reference unsubscribes, exactly once, unless the subscription
 *     failed.
 *  2. Cycles, refreshing-table creation and teardown, and listener changes
 *     are serialized by the graph lock (recursive, so listeners may create
 *     and release tables and remove listeners).
 *  3. A failed table keeps its last snapshot; its listeners hear the error
 *     once; reads report it.
 */
#ifndef TD_TABLE_UPDATE_H
#define TD_TABLE_UPDATE_H

#include "table/table.h"

typedef struct td_graph td_graph;

int td_graph_new(td_service *s, td_graph **out, td_error *err);
/* Stops the thread (joining it unless called from it) and drops the
 * service's reference. */
void td_graph_stop(td_graph *g);
/* The notify hook of subscription calls. */
void td_graph_notify(void *graph);

/* Builds a refreshing table of provider `p` (predicate in opts). */
int td_graph_make_table(td_graph *g, td_provider *p, const td_table_options *opts, td_table **out,
                        td_error *err);
/* A refreshing table's last reference is gone: a source table leaves the
 * graph and drops its subscriptions.  True when the table may be freed now;
 * false when its listeners are being called (it was released from one of
 * them): td_graph_dispatch frees it when it ends. */
bool td_graph_retire_table(td_graph *g, td_table *t);
/* Under the graph lock: queues t (td_derived_defer) for the end of the
 * running cycle, where queued tables are applied oldest first (so each
 * after its inputs); outside a cycle t is applied at once. */
void td_graph_defer(td_graph *g, td_table *t);
/* Takes t out of the queue (a derived table being destroyed). */
void td_graph_undefer(td_graph *g, td_table *t);
int td_graph_add_listener(td_graph *g, td_table *t, td_table_listener fn, void *ctx, int64_t *id,
                          td_error *err);
int td_graph_remove_listener(td_graph *g, td_table *t, int64_t id);
int td_graph_flush(td_graph *g, int64_t timeout_ms, td_error *err);
/* True on the graph's update thread (inside a cycle or a listener). */
bool td_graph_on_update_thread(td_graph *g);
void td_graph_stats(td_graph *g, int64_t *cycles, int64_t *cpu_ns);
/* The update lock (recursive), for building derived tables atomically with
 * respect to cycles. */
void td_graph_lock(td_graph *g);
void td_graph_unlock(td_graph *g);
/* Calls a table's listeners (under the update lock).  The table stays
 * allocated until the dispatch ends, even when a listener releases its last
 * reference; the listeners after that one are not called. */
void td_graph_dispatch(td_table *t, const td_table_update *u, const td_error *e);
/* Fails a table; its listeners hear it once. */
void td_graph_fail_table(td_table *t, int code, const char *msg);

#endif
