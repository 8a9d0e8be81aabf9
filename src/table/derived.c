/*
 * table/derived.c - derived tables: the results of query operators.
 *
 * A derived table's snapshot is a list of immutable chunks (td_dchunk), each
 * column a zero-copy view of source pages, a computed array, or a constant.
 * The operator (query/ops.c) turns source deltas into new snapshots.  On a
 * refreshing source, a listener on the source applies each change in the
 * same update cycle, right after the source, then calls the derived table's
 * own listeners.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/update.h"
#include "util/alloc.h"
#include "util/error.h"

int td_dchunk_new(int64_t n_cols, int64_t length, td_dchunk **out, td_error *err) {
  *out = NULL;
  td_dchunk *c = td_calloc(1, sizeof *c);
  if (c) {
    c->views = td_calloc((size_t)n_cols + 1, sizeof *c->views);
    c->owners = td_calloc((size_t)n_cols + 1, sizeof *c->owners);
    c->consts = td_calloc((size_t)n_cols + 1, sizeof *c->consts);
    c->const_strs = td_calloc((size_t)n_cols + 1, sizeof *c->const_strs);
  }
  if (!c || !c->views || !c->owners || !c->consts || !c->const_strs) {
    if (c) {
      td_free(c->views);
      td_free(c->owners);
      td_free(c->consts);
      td_free(c->const_strs);
      td_free(c);
    }
    return td_err_nomem(err, "building a result chunk");
  }
  atomic_init(&c->refs, 1);
  c->n_cols = n_cols;
  c->length = length;
  *out = c;
  return TD_OK;
}

void td_dchunk_set_view(td_dchunk *c, int64_t i, const td_colview *v, td_shared_array *owner) {
  c->views[i] = *v;
  c->owners[i] = td_shared_array_retain(owner);
}

int td_dchunk_set_const(td_dchunk *c, int64_t i, const td_value *v, td_error *err) {
  c->consts[i] = *v;
  if (c->consts[i].type == TD_TYPE_NONE) c->consts[i].type = TD_TYPE_BOOL; /* an untyped null */
  if (td_type_is_varlen(v->type) && !v->is_null) {
    c->const_strs[i] = td_strndup(v->v.s.ptr, v->v.s.len);
    if (!c->const_strs[i]) {
      memset(&c->consts[i], 0, sizeof c->consts[i]);
      return td_err_nomem(err, "building a result chunk");
    }
    c->consts[i].v.s.ptr = c->const_strs[i];
  }
  return TD_OK;
}

int td_dchunk_set_array(td_dchunk *c, int64_t i, td_array *a, td_error *err) {
  td_type_id type = a->type;
  struct ArrowArray arr;
  int rc = td_array_export(a, &arr, err);
  return rc ? rc : td_dchunk_set_arrow(c, i, type, &arr, err);
}

int td_dchunk_set_arrow(td_dchunk *c, int64_t i, td_type_id type, struct ArrowArray *arr, td_error *err) {
  td_shared_array *owner;
  int rc = td_shared_array_new(arr, &owner, err);
  if (rc) return rc;
  rc = td_colview_init(&c->views[i], type, &owner->array, err);
  if (rc) {
    td_shared_array_release(owner);
    return rc;
  }
  c->owners[i] = owner;
  return TD_OK;
}

void td_dchunk_release(td_dchunk *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
  for (int64_t i = 0; i < c->n_cols; i++) {
    td_shared_array_release(c->owners[i]);
    td_free(c->const_strs[i]);
  }
  td_free(c->views);
  td_free(c->owners);
  td_free(c->consts);
  td_free(c->const_strs);
  td_free(c);
}

int td_snapshot_derived(const td_snapshot *base, td_dchunk *const *more, int64_t n_more, int64_t version,
                        td_snapshot **out, td_error *err) {
  *out = NULL;
  int64_t nb = base ? base->n_chunks : 0, n = nb + n_more;
  td_snapshot *s = td_calloc(1, sizeof *s);
  td_dchunk **chunks = td_malloc((size_t)(n + 1) * sizeof *chunks);
  int64_t *begin = td_malloc((size_t)(n + 1) * sizeof *begin);
  if (!s || !chunks || !begin) {
    td_free(s);
    td_free(chunks);
    td_free(begin);
    return td_err_nomem(err, "building a result snapshot");
  }
  int64_t size = 0;
  for (int64_t i = 0; i < n; i++) {
    td_dchunk *c = i < nb ? base->chunks[i] : more[i - nb];
    atomic_fetch_add(&c->refs, 1);
    chunks[i] = c;
    begin[i] = size;
    size += c->length;
  }
  atomic_init(&s->refs, 1);
  s->version = version;
  s->size = size;
  s->n_chunks = n;
  s->chunks = chunks;
  s->chunk_begin = begin;
  *out = s;
  return TD_OK;
}

/* Applies a delta and tells the derived table's listeners.  `same` (row
 * preserving tables) is the source's update, whose changed and appended
 * positions are this table's too. */
static int apply(td_table *t, td_source_delta *d, bool notify, const td_table_update *same, td_error *err) {
  td_snapshot *cur = td_table_snapshot(t);
  d->version = notify ? cur->version + 1 : 0;
  td_snapshot_release(cur);
  td_op_result r;
  memset(&r, 0, sizeof r);
  int rc = t->op_vt->apply(t, d, &r, err);
  if (rc || !r.snap) { /* failed, or nothing changed */
    td_snapshot_release(r.snap);
    td_free(r.changed);
    td_free(r.removed);
    return rc;
  }
  td_snapshot *old = td_table_snapshot(t);
  td_table_publish(t, r.snap);
  if (notify) {
    td_added_rows added = {-1, NULL, r.appended_from, r.snap->size};
    td_table_update u;
    memset(&u, 0, sizeof u);
    /* Rows that left (groups of an aggregation): position p is [p, p + 1). */
    td_added_rows *gone = r.n_removed ? td_malloc((size_t)r.n_removed * sizeof *gone) : NULL;
    if (gone) {
      for (int64_t i = 0; i < r.n_removed; i++) gone[i] = (td_added_rows){-1, NULL, r.removed[i], r.removed[i] + 1};
      u.n_removed = r.n_removed;
      u.removed = gone;
      u.removed_begin = r.removed;
    }
    u.version = r.snap->version;
    u.size_before = old->size;
    u.size_after = r.snap->size;
    u.replaced = r.replaced;
    u.n_added = !r.replaced && r.snap->size > r.appended_from ? 1 : 0;
    u.added = &added;
    u.n_changed = r.n_changed;
    u.changed = r.changed;
    if (same && !same->replaced) {
      u.replaced = false;
      u.n_changed = same->n_changed;
      u.changed = same->changed;
      added.first_row = same->size_before;
      u.n_added = r.snap->size > same->size_before ? 1 : 0;
    }
    td_graph_dispatch(t, &u, NULL);
    td_free(gone);
  }
  td_snapshot_release(old);
  td_free(r.changed);
  td_free(r.removed);
  return TD_OK;
}

/* A table that defers (t->defer) notes its source's change for the end of
 * the cycle: appended ranges add up; a replaced source (or a removal)
 * replaces them. */
static int gather(td_table *t, const td_source_delta *d, td_error *err) {
  if (d->replaced || d->n_removed > 0) {
    t->pend_replaced = true;
    t->n_pend = 0;
  } else if (!t->pend_replaced && d->n_ranges > 0) {
    if (t->n_pend + d->n_ranges > t->cap_pend) {
      int64_t cap = t->cap_pend * 2 > t->n_pend + d->n_ranges ? t->cap_pend * 2 : t->n_pend + d->n_ranges;
      int64_t *r = td_realloc(t->pend_ranges, (size_t)cap * 2 * sizeof *r);
      if (!r) return td_err_nomem(err, "updating a derived table");
      t->pend_ranges = r;
      t->cap_pend = cap;
    }
    memcpy(t->pend_ranges + 2 * t->n_pend, d->ranges, (size_t)d->n_ranges * 2 * sizeof *d->ranges);
    t->n_pend += d->n_ranges;
  }
  td_derived_defer(t);
  return TD_OK;
}

void td_derived_defer(td_table *t) { td_graph_defer(t->service->graph, t); }

void td_derived_run_deferred(td_table *t) {
  td_source_delta d;
  memset(&d, 0, sizeof d);
  int64_t *ranges = t->pend_ranges;
  d.replaced = t->pend_replaced;
  d.n_ranges = d.replaced ? 0 : t->n_pend;
  d.ranges = ranges;
  t->pend_ranges = NULL;
  t->n_pend = t->cap_pend = 0;
  t->pend_replaced = false;
  td_error err;
  td_error_clear(&err);
  int rc = TD_OK;
  if (!t->fail_code) {
    d.snap = td_table_snapshot(t->source);
    rc = apply(t, &d, true, NULL, &err); /* t may be gone after it (a listener released it) */
    td_snapshot_release(d.snap);
  }
  td_free(ranges);
  if (rc) td_graph_fail_table(t, rc, err.message);
}

/* The derived table's listener on its refreshing source. */
static void on_source(void *ctx, td_table *src, const td_table_update *u, const td_error *e) {
  td_table *t = ctx;
  if (e) {
    td_graph_fail_table(t, e->code, e->message);
    return;
  }
  if (t->fail_code) return;
  td_source_delta d;
  memset(&d, 0, sizeof d);
  d.snap = td_table_snapshot(src);
  d.replaced = u->replaced;
  /* A source table's removal (its only cause of `replaced`) is retracted by
   * operators that can; other operators recompute. */
  bool retract = t->op_vt->retracts && src->kind == TD_TABLE_SOURCE && u->n_removed > 0 && u->n_changed == 0;
  if (retract) d.replaced = false;
  int64_t *ranges = NULL, *gone = NULL;
  td_error err;
  td_error_clear(&err);
  int rc = TD_OK;
  if (!d.replaced && u->n_added > 0) {
    ranges = td_malloc((size_t)u->n_added * 2 * sizeof *ranges);
    if (!ranges) rc = td_err_nomem(&err, "updating a derived table");
    for (int64_t i = 0; rc == TD_OK && i < u->n_added; i++) {
      const td_added_rows *a = &u->added[i];
      int64_t base = a->region >= 0 ? d.snap->regions[a->region].row_begin : 0;
      ranges[2 * i] = base + a->first_row;
      ranges[2 * i + 1] = base + a->end_row;
    }
    d.n_ranges = u->n_added;
    d.ranges = ranges;
  }
  if (retract && rc == TD_OK) {
    gone = td_malloc((size_t)u->n_removed * sizeof *gone);
    if (!gone) rc = td_err_nomem(&err, "updating a derived table");
    for (int64_t i = 0; rc == TD_OK && i < u->n_removed; i++) gone[i] = u->removed[i].region;
    d.n_removed = u->n_removed;
    d.removed = gone;
  }
  /* An aggregation source changes rows in place, and a removal moves rows:
   * recompute from it. */
  if (u->n_changed > 0 || (u->n_removed > 0 && !retract)) d.replaced = true;
  const td_table_update *same = t->row_preserving && u->n_removed == 0 ? u : NULL;
  if (rc == TD_OK && (d.replaced || d.n_ranges > 0 || d.n_removed > 0))
    rc = t->defer ? gather(t, &d, &err) : apply(t, &d, true, same, &err);
  td_free(gone);
  td_free(ranges);
  td_snapshot_release(d.snap);
  if (rc) td_graph_fail_table(t, rc, err.message);
}

/* A derived table over source, not filled yet. */
static int derived_alloc(td_table *source, const td_schema *def, const td_op_vtable *vt, void *op, td_table **out,
                         td_error *err) {
  *out = NULL;
  td_table *t = td_calloc(1, sizeof *t);
  if (!t) {
    vt->free(op);
    return td_err_nomem(err, "creating a derived table");
  }
  static _Atomic uint64_t next_seq;
  atomic_init(&t->refs, 1);
  t->seq = atomic_fetch_add(&next_seq, 1) + 1;
  t->kind = TD_TABLE_DERIVED;
  t->op_vt = vt;
  t->op = op;
  pthread_mutex_init(&t->lock, NULL);
  td_schema_init(&t->own_def);
  t->def = &t->own_def;
  t->service = td_service_retain(source->service);
  t->provider = source->provider;
  t->source = td_table_retain(source);
  t->refreshing = source->refreshing;
  t->threads = source->threads;
  int rc = td_schema_copy(def, &t->own_def, err);
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, NULL, 0, 0, &t->snap, err);
  if (rc == TD_OK) rc = td_table_status(source, err);
  if (rc) {
    td_table_release(t);
    return rc;
  }
  *out = t;
  return TD_OK;
}

int td_derived_new(td_table *source, const td_schema *def, const td_op_vtable *vt, void *op,
                   td_table **out, td_error *err) {
  td_table *t;
  int rc = derived_alloc(source, def, vt, op, &t, err);
  if (rc) return rc;
  /* Fill and subscribe with no cycle in between. */
  td_graph *g = source->service->graph;
  if (t->refreshing) td_graph_lock(g);
  td_source_delta d;
  memset(&d, 0, sizeof d);
  d.snap = td_table_snapshot(source);
  d.replaced = true;
  rc = apply(t, &d, false, NULL, err);
  td_snapshot_release(d.snap);
  if (rc == TD_OK && t->refreshing) rc = td_table_add_listener(source, on_source, t, &t->source_listener, err);
  if (t->refreshing) td_graph_unlock(g);
  if (rc) {
    td_table_release(t);
    return rc;
  }
  *out = t;
  return TD_OK;
}

int td_derived_new_lazy(td_table *source, const td_schema *def, const td_op_vtable *vt, void *op,
                        td_table **out, td_error *err) {
  if (source->refreshing) return td_derived_new(source, def, vt, op, out, err);
  int rc = derived_alloc(source, def, vt, op, out, err);
  if (rc) return rc;
  (*out)->lazy = true;
  pthread_mutex_init(&(*out)->fill_lock, NULL);
  atomic_store(&(*out)->pending, true);
  return TD_OK;
}

void td_derived_fill(td_table *t) {
  if (!t->lazy) return;
  pthread_mutex_lock(&t->fill_lock);
  if (atomic_load(&t->pending)) {
    td_source_delta d;
    memset(&d, 0, sizeof d);
    d.snap = td_table_snapshot(t->source);
    d.replaced = true;
    td_op_result r;
    memset(&r, 0, sizeof r);
    td_error err;
    int rc = t->op_vt->apply(t, &d, &r, &err);
    if (rc == TD_OK && r.snap) td_table_publish(t, r.snap);
    else td_snapshot_release(r.snap);
    td_free(r.changed);
    td_free(r.removed);
    td_snapshot_release(d.snap);
    if (rc) {
      pthread_mutex_lock(&t->lock);
      t->fail_code = rc;
      snprintf(t->fail_msg, sizeof t->fail_msg, "%s", err.message);
      pthread_mutex_unlock(&t->lock);
    }
    atomic_store(&t->pending, false);
  }
  pthread_mutex_unlock(&t->fill_lock);
}

void td_derived_destroy(td_table *t) {
  if (t->refreshing) td_graph_undefer(t->service->graph, t); /* before its operator goes */
  td_free(t->pend_ranges);
  if (t->source_listener) td_table_remove_listener(t->source, t->source_listener);
  if (t->op_vt) t->op_vt->free(t->op);
  td_table_release(t->source);
  td_schema_reset(&t->own_def);
}
