/*
 * query/union.c - UNION ALL of two tables as a derived table.
 *
 * The operator is a derived table over the left table (table/derived.c
 * feeds it the left side's deltas) with a second listener on a refreshing
 * right table, like a join.  It keeps each side as a list of zero-copy
 * chunks (views of the sides' pages or chunks).  Rows appended to either
 * side are appended to the result in arrival order; a replaced side (an
 * aggregation that changed rows, a removed location) rebuilds the result
 * as the left rows, then the right rows (with a static left side and a live
 * right one, the sides swap: the live side drives the operator).  Costs: an append is O(new rows)
 * pointer work, a rebuild O(chunks).
 */
#include <string.h>

#include "query/compose.h"
#include "query/ops.h"
#include "table/table.h"
#include "table/update.h"
#include "util/alloc.h"
#include "util/error.h"

typedef struct union_op {
  td_table *right;
  int64_t right_listener;
  td_chunk_list L, R;
  bool from_right;     /* the next apply is the right side's change */
  bool right_reset;    /* ... which replaced it */
  td_snapshot *rsnap;  /* the right snapshot of that change */
  int64_t *rranges;    /* its appended position ranges */
  int64_t n_rranges;
} union_op;


int td__dchunks_of(td_table *t, td_snapshot *snap, int64_t begin, int64_t end,
                   int (*add)(void *ctx, td_dchunk *c, td_error *err), void *ctx, td_error *err) {
  if (end <= begin) return TD_OK;
  td_scan sc;
  int rc = td_scan_init(&sc, t, snap, NULL, 0, begin, end, err);
  if (rc) return rc;
  int64_t nc = t->def->n_fields;
  for (;;) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    td_dchunk *c;
    if ((rc = td_dchunk_new(nc, ch.length, &c, err)) != TD_OK) break;
    for (int64_t i = 0; rc == TD_OK && i < nc; i++) {
      if (ch.consts[i]) rc = td_dchunk_set_const(c, i, ch.consts[i], err);
      else td_dchunk_set_view(c, i, &ch.views[i], ch.owners[i]);
    }
    if (rc == TD_OK) rc = add(ctx, c, err);
    else td_dchunk_release(c);
    if (rc) break;
  }
  td_scan_release(&sc);
  return rc;
}

typedef struct slice_to {
  td_chunk_list *to, *also;
} slice_to;

static int add_piece(void *ctx, td_dchunk *c, td_error *err) {
  slice_to *s = ctx;
  int rc = TD_OK;
  if (s->also) {
    atomic_fetch_add(&c->refs, 1);
    rc = td_chunk_list_push(s->also, c, err);
  }
  if (rc == TD_OK) rc = td_chunk_list_push(s->to, c, err);
  else td_dchunk_release(c);
  return rc;
}

/* Appends rows [begin, end) of t's snapshot `snap` as chunks to `to` (and
 * to `also` when not NULL: the chunks new in this apply). */
static int slice(td_table *t, td_snapshot *snap, int64_t begin, int64_t end, td_chunk_list *to, td_chunk_list *also,
                 td_error *err) {
  slice_to s = {to, also};
  return td__dchunks_of(t, snap, begin, end, add_piece, &s, err);
}

static int union_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  union_op *op = t->op;
  td_chunk_list added = {0};
  bool replaced = false;
  int rc = TD_OK;
  /* The left side's change, then the right side's (one apply per cycle). */
  if (d->replaced) {
    td_chunk_list_reset(&op->L);
    rc = slice(t->source, d->snap, 0, d->snap->size, &op->L, NULL, err);
    replaced = true;
  } else {
    for (int64_t k = 0; rc == TD_OK && k < d->n_ranges; k++)
      rc = slice(t->source, d->snap, d->ranges[2 * k], d->ranges[2 * k + 1], &op->L, &added, err);
  }
  if (op->from_right && rc == TD_OK) {
    if (op->right_reset) {
      td_chunk_list_reset(&op->R);
      rc = slice(op->right, op->rsnap, 0, op->rsnap->size, &op->R, NULL, err);
      replaced = true;
    }
    /* appended right rows; when the left side replaced, all is rebuilt below */
    for (int64_t k = 0; !op->right_reset && rc == TD_OK && k < op->n_rranges; k++)
      rc = slice(op->right, op->rsnap, op->rranges[2 * k], op->rranges[2 * k + 1], &op->R, replaced ? NULL : &added,
                 err);
  }
  if (op->from_right) { /* taken, even on failure (the table then fails) */
    op->from_right = op->right_reset = false;
    op->n_rranges = 0;
    td_snapshot_release(op->rsnap);
    op->rsnap = NULL;
  }
  if (rc == TD_OK && replaced) { /* the left rows, then the right rows */
    td_dchunk **all = td_malloc((size_t)(op->L.n + op->R.n + 1) * sizeof *all);
    if (!all) rc = td_err_nomem(err, "updating a UNION");
    if (all) {
      if (op->L.n) memcpy(all, op->L.v, (size_t)op->L.n * sizeof *all);
      if (op->R.n) memcpy(all + op->L.n, op->R.v, (size_t)op->R.n * sizeof *all);
      rc = td_snapshot_derived(NULL, all, op->L.n + op->R.n, d->version, &out->snap, err);
      out->replaced = true;
    }
    td_free(all);
  } else if (rc == TD_OK && added.n > 0) {
    td_snapshot *cur = td_table_snapshot(t);
    rc = td_snapshot_derived(cur, added.v, added.n, d->version, &out->snap, err);
    out->appended_from = cur->size;
    td_snapshot_release(cur);
  }
  td_chunk_list_reset(&added);
  return rc;
}

static void union_free(void *p) {
  union_op *op = p;
  if (!op) return;
  if (op->right_listener) td_table_remove_listener(op->right, op->right_listener);
  td_table_release(op->right);
  td_chunk_list_reset(&op->L);
  td_chunk_list_reset(&op->R);
  td_free(op->rranges);
  td_snapshot_release(op->rsnap);
  td_free(op);
}

static const td_op_vtable union_vt = {union_apply, union_free, false};

/* The operator's listener on a refreshing right table: its appended rows
 * (or its replacement) become the next apply. */
static void on_right(void *ctx, td_table *right, const td_table_update *u, const td_error *e) {
  td_table *t = ctx;
  if (e) {
    td_graph_fail_table(t, e->code, e->message);
    return;
  }
  union_op *op = t->op;
  td_error err;
  td_error_clear(&err);
  int rc = TD_OK;
  td_snapshot_release(op->rsnap); /* the latest covers every change of the cycle */
  op->rsnap = td_table_snapshot(right);
  if (u->replaced || u->n_changed > 0 || u->n_removed > 0) {
    op->right_reset = true;
    op->n_rranges = 0;
  }
  if (!op->right_reset && u->n_added > 0) {
    int64_t *r = td_realloc(op->rranges, (size_t)(op->n_rranges + u->n_added) * 2 * sizeof *r);
    if (!r) rc = td_err_nomem(&err, "updating a UNION");
    else op->rranges = r;
    for (int64_t i = 0; rc == TD_OK && i < u->n_added; i++) {
      const td_added_rows *a = &u->added[i];
      int64_t base = a->region >= 0 ? op->rsnap->regions[a->region].row_begin : 0;
      op->rranges[2 * (op->n_rranges + i)] = base + a->first_row;
      op->rranges[2 * (op->n_rranges + i) + 1] = base + a->end_row;
    }
    if (rc == TD_OK) op->n_rranges += u->n_added;
  }
  if (rc) td_graph_fail_table(t, rc, err.message);
  else if (op->right_reset || op->n_rranges > 0) {
    op->from_right = true;
    td_derived_defer(t); /* applied once, with the left side's change of the cycle */
  }
}

int td__union_all(td_table *left, td_table *right, td_table **out, td_error *err) {
  *out = NULL;
  if (left->def->n_fields != right->def->n_fields)
    return td_err(err, TD_ETYPE, "UNION ALL: %lld columns on the left, %lld on the right",
                  (long long)left->def->n_fields, (long long)right->def->n_fields);
  for (int64_t i = 0; i < left->def->n_fields; i++)
    if (!td_field_same_type(&left->def->fields[i], &right->def->fields[i]) &&
        !td_type_same_varlen(left->def->fields[i].type, right->def->fields[i].type)) {
      char ta[64], tb[64];
      return td_err(err, TD_ETYPE, "UNION column %lld: %s vs %s", (long long)i + 1,
                    td_field_type_text(&left->def->fields[i], ta, sizeof ta),
                    td_field_type_text(&right->def->fields[i], tb, sizeof tb));
    }
  const td_schema *def = left->def; /* names from the left */
  if (!left->refreshing && right->refreshing) { /* a static side (no FROM) with a live one: follow the live one */
    td_table *x = left;
    left = right;
    right = x;
  }
  bool live = left->refreshing && right->refreshing;
  if (live && right->service->graph != left->service->graph)
    return td_err(err, TD_EINVAL, "UNION: the live sides belong to different services");
  int rc = td_table_status(right, err);
  if (rc) return rc;
  union_op *op = td_calloc(1, sizeof *op);
  if (!op) return td_err_nomem(err, "creating a UNION");
  op->right = td_table_retain(right);
  /* Fill from both sides and subscribe with no cycle in between. */
  td_graph *g = left->service->graph;
  if (left->refreshing) td_graph_lock(g);
  td_snapshot *rs = td_table_snapshot(right);
  rc = slice(right, rs, 0, rs->size, &op->R, NULL, err);
  td_snapshot_release(rs);
  if (rc) union_free(op);
  else rc = td_derived_new(left, def, &union_vt, op, out, err);
  if (rc == TD_OK && live) {
    (*out)->defer = true;
    rc = td_table_add_listener(right, on_right, *out, &op->right_listener, err);
  }
  if (left->refreshing) td_graph_unlock(g);
  if (rc && *out) {
    td_table_release(*out);
    *out = NULL;
  }
  return rc;
}
