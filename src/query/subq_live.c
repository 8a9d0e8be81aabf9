/*
 * query/subq_live.c - subqueries in expressions of live queries (see
 * subq_live.h): slots holding a live subquery's current value, the three
 * internal functions that read them, and the gate operator that makes the
 * outer chain recompute when a value changes.
 *
 * Ordering within a cycle.  When the outer source and a subquery's table
 * tick in the same cycle (or are the same table), the gate may hear the
 * source's append before or after the slot changes.  The gate therefore
 * never re-reads its source when a slot changes: it republishes the rows it
 * already passed on (same chunks, as "replaced"), and rows the source
 * appended but has not delivered yet arrive afterwards as an append,
 * evaluated with the new value.  Either order ends with every row
 * evaluated against the final value of every slot.
 */
#include "query/subq_live.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "query/compose.h"
#include "query/func.h"
#include "query/inset.h"
#include "query/lex.h"
#include "query/ops.h"
#include "table/table.h"
#include "table/update.h"
#include "util/alloc.h"
#include "util/error.h"

/* One binding of IN's operand type: the list bound with x as column 0. */
typedef struct in_view {
  td_type_id type;
  char *tz;
  td_expr *bound; /* NULL while the list is empty */
} in_view;

struct td_subq_slot {
  _Atomic int64_t refs;
  int64_t id;
  int kind;
  int64_t pos;
  td_table *table;
  int64_t listener;
  td_type_id type; /* column 0 (scalar, IN) */
  char *tz;
  /* the value */
  td_value scalar;
  char *scalar_bytes;
  bool exists;
  td_expr *list;  /* IN: unbound "__x IN (literals)"; NULL when empty */
  td_expr *self;  /* IN: list bound with x of the column's type */
  in_view *views;
  int64_t n_views;
  /* the gates to tell (weak: a gate unregisters when freed), under the
   * update lock */
  td_table **gates;
  int64_t n_gates;
  bool in_listener; /* on_sub is running: a last release there defers */
  bool zombie;      /* ... and on_sub frees the slot when it ends */
};

/* ---- the registry: slot ids to slots, for the binder ---- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static td_subq_slot **reg;
static int64_t reg_n, reg_cap, reg_next_id;

static int reg_add(td_subq_slot *s, td_error *err) {
  pthread_mutex_lock(&reg_lock);
  int rc = TD_OK;
  if (reg_n == reg_cap) {
    int64_t cap = reg_cap ? 2 * reg_cap : 8;
    td_subq_slot **a = td_realloc(reg, (size_t)cap * sizeof *a);
    if (!a) rc = td_err_nomem(err, "planning a live subquery");
    else {
      reg = a;
      reg_cap = cap;
    }
  }
  if (rc == TD_OK) {
    s->id = ++reg_next_id;
    reg[reg_n++] = s;
  }
  pthread_mutex_unlock(&reg_lock);
  return rc;
}

static void reg_remove(td_subq_slot *s) {
  pthread_mutex_lock(&reg_lock);
  for (int64_t i = 0; i < reg_n; i++)
    if (reg[i] == s) {
      reg[i] = reg[--reg_n];
      break;
    }
  if (reg_n == 0) { /* nothing left: no memory held between queries */
    td_free(reg);
    reg = NULL;
    reg_cap = 0;
  }
  pthread_mutex_unlock(&reg_lock);
}

/* The slot with this id (retained), or NULL (also once its last
 * reference is gone). */
static td_subq_slot *reg_find(int64_t id) {
  td_subq_slot *s = NULL;
  pthread_mutex_lock(&reg_lock);
  for (int64_t i = 0; i < reg_n && !s; i++)
    if (reg[i]->id == id) s = reg[i];
  int64_t n = s ? atomic_load(&s->refs) : 0;
  while (n > 0 && !atomic_compare_exchange_weak(&s->refs, &n, n + 1)) {
  }
  pthread_mutex_unlock(&reg_lock);
  return n > 0 ? s : NULL;
}

/* ---- slots ---- */

static void views_free(in_view *v, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    td_free(v[i].tz);
    td_expr_free(v[i].bound);
  }
  td_free(v);
}

static void slot_free(td_subq_slot *s) {
  td_table_release(s->table);
  td_free(s->tz);
  td_free(s->scalar_bytes);
  td_expr_free(s->list);
  td_expr_free(s->self);
  views_free(s->views, s->n_views);
  td_free(s->gates);
  td_free(s);
}

/* The last reference: the listener goes under the update lock, which
 * waits for a cycle that may be calling it on the update thread; released
 * from that very listener, the slot is freed when it returns. */
void td__subq_slot_release(td_subq_slot *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
  reg_remove(s);
  td_graph *g = s->table->service->graph;
  bool live = s->table->refreshing;
  if (live) td_graph_lock(g);
  if (s->listener) td_table_remove_listener(s->table, s->listener);
  s->listener = 0;
  bool defer = s->in_listener;
  s->zombie = defer;
  if (live) td_graph_unlock(g);
  if (!defer) slot_free(s);
}

/* "__x IN (...)" bound with __x of type (type, tz) as column 0. */
static int bind_list(const td_expr *list, td_type_id type, const char *tz, td_expr **out, td_error *err) {
  *out = NULL;
  if (!list) return TD_OK;
  td_schema sc;
  td_schema_init(&sc);
  int rc = td_schema_add(&sc, "__x", type, tz, true, err);
  if (rc == TD_OK) rc = td_expr_bind(list, &sc, 0, out, err);
  td_schema_reset(&sc);
  return rc;
}

typedef struct fill {
  td_expr *list;
  int64_t n;
  td_value first;
} fill;

static int add_value(fill *f, td_value v, int64_t pos, td_error *err) {
  if (f->n++ == 0) f->first = v;
  if (!f->list) return TD_OK;
  td_expr *l = td__expr_new(TD_EXPR_LITERAL, pos, err);
  if (!l) return TD_ENOMEM;
  l->lit = v;
  if (td_type_is_varlen(v.type) && !v.is_null) {
    char *b = td_strndup(v.v.s.ptr, v.v.s.len);
    if (!b) {
      td_expr_free(l);
      return td_err_nomem(err, "reading a live subquery");
    }
    l->lit.v.s.ptr = b;
  }
  return td__expr_add(f->list, l, err);
}

/* Reads column 0 of snapshot snap of t into f (every row when f->list,
 * else the first; its strings borrowed from the scan: copied by the
 * caller while it is open). */
static int read_rows(td_subq_slot *s, td_snapshot *snap, fill *f, char **first_bytes, td_error *err) {
  td_scan sc;
  int64_t col = 0;
  int rc = td_scan_init(&sc, s->table, snap, &col, 1, 0, snap->size, err);
  if (rc) return rc;
  for (;;) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    for (int64_t i = 0; rc == TD_OK && i < ch.length && (f->list || f->n == 0); i++) {
      td_value v = ch.consts[0] ? *ch.consts[0] : td_colview_value(&ch.views[0], i);
      rc = add_value(f, v, s->pos, err);
      if (rc == TD_OK && f->n == 1 && td_type_is_varlen(v.type) && !v.is_null) {
        if (!(*first_bytes = td_strndup(v.v.s.ptr, v.v.s.len))) rc = td_err_nomem(err, "reading a live subquery");
        else f->first.v.s.ptr = *first_bytes;
      }
    }
    if (rc) break;
  }
  td_scan_release(&sc);
  return rc;
}

static bool same_value(const td_value *a, const td_value *b) {
  bool an = a->is_null || a->type == TD_TYPE_NONE, bn = b->is_null || b->type == TD_TYPE_NONE;
  if (an || bn) return an == bn;
  if (td_type_is_varlen(a->type))
    return a->v.s.len == b->v.s.len && (a->v.s.len == 0 || memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0);
  if (a->type == TD_TYPE_BOOL) return a->v.b == b->v.b;
  return a->v.d.lo == b->v.d.lo && (a->type != TD_TYPE_DECIMAL128 || a->v.d.hi == b->v.d.hi);
}

/* Whether every item of list a is an item of b (sets, nulls included). */
static bool items_in(const td_expr *a, const td_expr *b) {
  bool b_null = td__in_set_has_null(b->in_set);
  for (int64_t i = 1; i < a->n_args; i++) {
    const td_value *v = &a->args[i]->lit;
    if (v->is_null || v->type == TD_TYPE_NONE ? !b_null : !td__in_set_has(b->in_set, v)) return false;
  }
  return true;
}

/* Whether two bound lists hold the same set of items. */
static bool same_list(const td_expr *a, const td_expr *b) {
  if (!a || !b) return a == b;
  if (a->in_set && b->in_set) return items_in(a, b) && items_in(b, a);
  if (a->n_args != b->n_args) return false; /* no set (decimals): the same items in order */
  for (int64_t i = 1; i < a->n_args; i++)
    if (!same_value(&a->args[i]->lit, &b->args[i]->lit)) return false;
  return true;
}

/* Refills s from its table's current snapshot; *changed when the value
 * differs.  On failure s keeps its previous value. */
static int refill(td_subq_slot *s, bool *changed, td_error *err) {
  *changed = false;
  td_snapshot *snap = td_table_snapshot(s->table);
  int rc = TD_OK;
  if (s->kind == TD_SUBQ_EXISTS) {
    *changed = s->exists != (snap->size > 0);
    s->exists = snap->size > 0;
    td_snapshot_release(snap);
    return TD_OK;
  }
  if (s->kind == TD_SUBQ_SCALAR && snap->size > 1) {
    td_snapshot_release(snap);
    return td_err_at(err, TD_ETYPE, s->pos, "a scalar subquery returned %lld rows at offset %lld (expected at most one)",
                     (long long)snap->size, (long long)s->pos);
  }
  fill f = {NULL, 0, td_value_null(s->type)};
  char *bytes = NULL;
  td_expr *self = NULL;
  in_view *views = NULL;
  if (s->kind == TD_SUBQ_IN && snap->size > 0) {
    td_expr *x = td__expr_new(TD_EXPR_COLUMN, s->pos, err);
    f.list = td__expr_new(TD_EXPR_IN, s->pos, err);
    if (x && !(x->name = td_strdup("__x"))) rc = td_err_nomem(err, "reading a live subquery");
    if (!x || !f.list) rc = TD_ENOMEM;
    if (rc == TD_OK) rc = td__expr_add(f.list, x, err);
    else td_expr_free(x);
  }
  if (rc == TD_OK) rc = read_rows(s, snap, &f, &bytes, err);
  td_snapshot_release(snap);
  if (s->kind == TD_SUBQ_SCALAR) {
    if (rc == TD_OK) {
      *changed = !same_value(&s->scalar, &f.first);
      td_free(s->scalar_bytes);
      s->scalar = f.first;
      s->scalar_bytes = bytes;
    } else {
      td_free(bytes);
    }
    return rc;
  }
  td_free(bytes);
  if (rc == TD_OK) rc = bind_list(f.list, s->type, s->tz, &self, err);
  if (rc == TD_OK && s->n_views && !(views = td_calloc((size_t)s->n_views, sizeof *views)))
    rc = td_err_nomem(err, "reading a live subquery");
  for (int64_t i = 0; rc == TD_OK && i < s->n_views; i++) {
    views[i].type = s->views[i].type;
    if (s->views[i].tz && !(views[i].tz = td_strdup(s->views[i].tz))) rc = td_err_nomem(err, "reading a live subquery");
    if (rc == TD_OK) rc = bind_list(f.list, views[i].type, views[i].tz, &views[i].bound, err);
  }
  if (rc) {
    td_expr_free(f.list);
    td_expr_free(self);
    views_free(views, views ? s->n_views : 0);
    return rc;
  }
  *changed = !same_list(s->self, self);
  td_expr_free(s->list);
  td_expr_free(s->self);
  views_free(s->views, s->n_views);
  s->list = f.list;
  s->self = self;
  s->views = views;
  return TD_OK;
}

static void gate_mark(td_table *g);

/* The slot's listener on its table: refill, then the gates recompute when
 * the value changed; a failure fails them. */
static void on_sub(void *ctx, td_table *sub, const td_table_update *u, const td_error *e) {
  (void)sub;
  (void)u;
  td_subq_slot *s = ctx;
  if (s->zombie) return;
  s->in_listener = true; /* a gate's release below may drop the last reference */
  td_error err;
  td_error_clear(&err);
  bool changed = false;
  int rc = e ? e->code : refill(s, &changed, &err);
  if (e) td_err(&err, e->code, "%s", e->message);
  int64_t n = rc || changed ? s->n_gates : 0;
  td_table **gates = n ? td_malloc((size_t)n * sizeof *gates) : NULL;
  if (n && !gates) { /* cannot even list them: fail them all in place */
    for (int64_t i = 0; i < s->n_gates; i++) td_graph_fail_table(s->gates[i], TD_ENOMEM, "out of memory updating a live subquery");
    n = 0;
  }
  if (n) memcpy(gates, s->gates, (size_t)n * sizeof *gates);
  for (int64_t i = 0; i < n; i++) {
    bool still = false; /* not freed by an earlier gate's listeners */
    for (int64_t k = 0; k < s->n_gates && !still; k++) still = s->gates[k] == gates[i];
    if (still && rc) td_graph_fail_table(gates[i], rc, err.message);
    else if (still) gate_mark(gates[i]);
  }
  td_free(gates);
  s->in_listener = false;
  if (s->zombie) slot_free(s);
}

int td__subq_slot_new(td_table *sub, int kind, int64_t pos, td_subq_slot **out, td_error *err) {
  *out = NULL;
  td_subq_slot *s = td_calloc(1, sizeof *s);
  if (!s) return td_err_nomem(err, "planning a live subquery");
  atomic_init(&s->refs, 1);
  s->kind = kind;
  s->pos = pos;
  s->table = td_table_retain(sub);
  s->type = sub->def->n_fields ? sub->def->fields[0].type : TD_TYPE_BOOL;
  s->scalar = td_value_null(s->type);
  int rc = TD_OK;
  const char *tz = sub->def->n_fields ? sub->def->fields[0].tz : NULL;
  if (tz && !(s->tz = td_strdup(tz))) rc = td_err_nomem(err, "planning a live subquery");
  if (rc == TD_OK) rc = reg_add(s, err);
  bool changed;
  if (rc == TD_OK) rc = refill(s, &changed, err);
  if (rc == TD_OK) rc = td_table_add_listener(sub, on_sub, s, &s->listener, err);
  if (rc) {
    td__subq_slot_release(s);
    return rc;
  }
  *out = s;
  return TD_OK;
}

/* ---- the call nodes ---- */

static int add_lit(td_expr *e, td_value v, td_error *err) {
  td_expr *l = td__expr_new(TD_EXPR_LITERAL, e->pos, err);
  if (!l) return TD_ENOMEM;
  l->lit = v;
  return td__expr_add(e, l, err);
}

int td__subq_call(td_subq_slot *s, td_expr *x, bool negated, int64_t pos, td_expr **out, td_error *err) {
  *out = NULL;
  static const char *const names[] = {"__subq_value", "__subq_in", "__subq_exists"};
  td_expr *e = td__expr_new(TD_EXPR_CALL, pos, err);
  int rc = e ? TD_OK : TD_ENOMEM;
  if (rc == TD_OK && !(e->name = td_strdup(names[s->kind]))) rc = td_err_nomem(err, "planning a live subquery");
  if (rc == TD_OK && x) {
    rc = td__expr_add(e, x, err);
    x = NULL;
  }
  if (rc == TD_OK) rc = add_lit(e, td_value_int(TD_TYPE_INT64, s->id), err);
  if (rc == TD_OK && s->kind == TD_SUBQ_IN) rc = add_lit(e, td_value_bool(negated), err);
  td_expr_free(x);
  if (rc) {
    td_expr_free(e);
    return rc;
  }
  *out = e;
  return TD_OK;
}

/* The slot named by argument i of e (retained), or a TD_ETYPE error. */
static int slot_of(const td_expr *e, int64_t i, int kind, td_subq_slot **out, td_error *err) {
  const td_expr *a = e->args[i];
  *out = a->kind == TD_EXPR_LITERAL && !a->lit.is_null && a->lit.type == TD_TYPE_INT64 ? reg_find(a->lit.v.i) : NULL;
  if (*out && (*out)->kind == kind) return TD_OK;
  td__subq_slot_release(*out);
  *out = NULL;
  return td_err_at(err, TD_ETYPE, e->pos, "unknown function '%s' at offset %lld", e->name, (long long)e->pos);
}

static int bind_value(td_expr *e, td_error *err) {
  td_subq_slot *s;
  int rc = slot_of(e, 0, TD_SUBQ_SCALAR, &s, err);
  if (rc) return rc;
  e->type = s->type;
  td_free(e->tz);
  e->tz = s->tz ? td_strdup(s->tz) : NULL;
  if (s->tz && !e->tz) rc = td_err_nomem(err, "binding a live subquery");
  td__subq_slot_release(s);
  return rc;
}

static int bind_exists(td_expr *e, td_error *err) {
  td_subq_slot *s;
  int rc = slot_of(e, 0, TD_SUBQ_EXISTS, &s, err);
  td__subq_slot_release(s);
  e->type = TD_TYPE_BOOL;
  return rc;
}

static int bind_in(td_expr *e, td_error *err) {
  td_subq_slot *s;
  int rc = slot_of(e, 1, TD_SUBQ_IN, &s, err);
  td__subq_slot_release(s);
  e->type = TD_TYPE_BOOL;
  return rc;
}

/* fn_state of the scalar and EXISTS nodes: the slot. */
static int prepare_slot(td_expr *e, td_error *err) {
  td_subq_slot *s;
  int rc = slot_of(e, 0, strcmp(e->name, "__subq_value") == 0 ? TD_SUBQ_SCALAR : TD_SUBQ_EXISTS, &s, err);
  if (rc == TD_OK) e->fn_state = s;
  return rc;
}

static void release_slot(void *state) { td__subq_slot_release(state); }

/* fn_state of an IN node: its slot and view (the binding of x's type). */
typedef struct in_state {
  td_subq_slot *slot;
  int64_t view;
} in_state;

static int prepare_in(td_expr *e, td_error *err) {
  td_subq_slot *s;
  int rc = slot_of(e, 1, TD_SUBQ_IN, &s, err);
  if (rc) return rc;
  td_type_id type = e->args[0]->type == TD_TYPE_NONE ? s->type : e->args[0]->type;
  const char *tz = e->args[0]->type == TD_TYPE_NONE ? s->tz : e->args[0]->tz;
  int64_t v = 0;
  while (v < s->n_views && !(s->views[v].type == type && (s->views[v].tz == tz || (tz && s->views[v].tz && strcmp(tz, s->views[v].tz) == 0))))
    v++;
  if (v == s->n_views) { /* a new operand type: bind the current list for it (type errors show here) */
    in_view nv = {type, NULL, NULL};
    in_view *a = NULL;
    if (tz && !(nv.tz = td_strdup(tz))) rc = td_err_nomem(err, "binding a live subquery");
    if (rc == TD_OK) {
      /* an empty list still checks the types, against a null item */
      td_expr *probe = NULL;
      if (!s->list) {
        probe = td__expr_new(TD_EXPR_IN, s->pos, err);
        td_expr *x = probe ? td__expr_new(TD_EXPR_COLUMN, s->pos, err) : NULL;
        rc = x && !(x->name = td_strdup("__x")) ? td_err_nomem(err, "binding a live subquery") : !x ? TD_ENOMEM : TD_OK;
        if (rc == TD_OK) rc = td__expr_add(probe, x, err);
        else td_expr_free(x);
        if (rc == TD_OK) rc = add_lit(probe, td_value_null(s->type), err);
        td_expr *tmp = NULL;
        if (rc == TD_OK) rc = bind_list(probe, type, tz, &tmp, err);
        td_expr_free(tmp);
        td_expr_free(probe);
      } else {
        rc = bind_list(s->list, type, tz, &nv.bound, err);
      }
    }
    if (rc == TD_OK && !(a = td_realloc(s->views, (size_t)(s->n_views + 1) * sizeof *a)))
      rc = td_err_nomem(err, "binding a live subquery");
    if (rc) {
      td_free(nv.tz);
      td_expr_free(nv.bound);
      td__subq_slot_release(s);
      return rc;
    }
    s->views = a;
    s->views[s->n_views++] = nv;
  }
  in_state *st = td_malloc(sizeof *st);
  if (!st) {
    td__subq_slot_release(s);
    return td_err_nomem(err, "binding a live subquery");
  }
  st->slot = s;
  st->view = v;
  e->fn_state = st;
  return TD_OK;
}

static void release_in(void *state) {
  in_state *st = state;
  td__subq_slot_release(st->slot);
  td_free(st);
}

static int row_value(const td_expr *e, const td_value *args, td_value *out, td_fbuf *buf, td_error *err) {
  (void)args;
  const td_subq_slot *s = e->fn_state;
  *out = s->scalar;
  if (td_type_is_varlen(out->type) && !out->is_null) {
    int rc = td__fbuf_put(buf, s->scalar.v.s.ptr, s->scalar.v.s.len, err);
    if (rc) return rc;
    td__fbuf_value(buf, 0, out);
    out->type = s->scalar.type;
  }
  return TD_OK;
}

static int row_exists(const td_expr *e, const td_value *args, td_value *out, td_fbuf *buf, td_error *err) {
  (void)args;
  (void)buf;
  (void)err;
  *out = td_value_bool(((const td_subq_slot *)e->fn_state)->exists);
  return TD_OK;
}

static int row_in(const td_expr *e, const td_value *args, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  const in_state *st = e->fn_state;
  bool negated = args[2].v.b;
  const td_expr *b = st->slot->list ? st->slot->views[st->view].bound : NULL;
  if (!b) { /* x IN (no rows) is false, even for a null x */
    *out = td_value_bool(negated);
    return TD_OK;
  }
  td_value r;
  int rc = td_expr_eval_row(b, &args[0], &r, err);
  if (rc) return rc;
  *out = negated && !r.is_null ? td_value_bool(!r.v.b) : r;
  return TD_OK;
}

const td_func td__funcs_subq[] = {
    {"__subq_value", 1, 1, bind_value, row_value, false, true, prepare_slot, release_slot, NULL},
    {"__subq_in", 3, 3, bind_in, row_in, false, true, prepare_in, release_in, NULL},
    {"__subq_exists", 1, 1, bind_exists, row_exists, false, true, prepare_slot, release_slot, NULL},
    {NULL, 0, 0, NULL, NULL, false, false, NULL, NULL, NULL},
};

/* ---- the gate ---- */

typedef struct gate_op {
  td_table *rows;      /* the outer source */
  td_table *self;      /* the gate table, once made */
  bool drives;         /* rows is the gate's source (else a slot's table is) */
  bool filled;
  bool slots_changed;  /* the next apply republishes */
  td_subq_slot **slots;
  int64_t n_slots;
  int64_t n_recomputes, n_appends;
} gate_op;

static int chunk_add(void *ctx, td_dchunk *c, td_error *err) { return td_chunk_list_push(ctx, c, err); }

static int gate_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  gate_op *op = t->op;
  td_snapshot *cur = td_table_snapshot(t);
  td_chunk_list l = {0};
  int rc = TD_OK;
  bool rows_changed = op->drives && (d->replaced || d->n_ranges > 0);
  if (op->slots_changed && op->filled && !rows_changed) { /* the rows it has, as replaced */
    op->slots_changed = false;
    op->n_recomputes++;
    rc = td_snapshot_derived(cur, NULL, 0, d->version, &out->snap, err);
    out->replaced = true;
  } else if (!op->filled || (op->drives && d->replaced) || op->slots_changed) { /* (re)filled */
    if (op->slots_changed && op->filled) op->n_recomputes++;
    td_snapshot *snap = op->drives ? d->snap : td_table_snapshot(op->rows);
    if (op->drives) atomic_fetch_add(&snap->refs, 1);
    rc = td__dchunks_of(op->rows, snap, 0, snap->size, chunk_add, &l, err);
    td_snapshot_release(snap);
    if (rc == TD_OK) rc = td_snapshot_derived(NULL, l.v, l.n, d->version, &out->snap, err);
    out->replaced = true;
    op->filled = rc == TD_OK;
    op->slots_changed = false;
  } else if (op->drives && d->n_ranges > 0) {
    for (int64_t k = 0; rc == TD_OK && k < d->n_ranges; k++)
      rc = td__dchunks_of(op->rows, d->snap, d->ranges[2 * k], d->ranges[2 * k + 1], chunk_add, &l, err);
    if (rc == TD_OK && l.n) {
      rc = td_snapshot_derived(cur, l.v, l.n, d->version, &out->snap, err);
      out->appended_from = cur->size;
      op->n_appends++;
    }
  }
  td_chunk_list_reset(&l);
  td_snapshot_release(cur);
  return rc;
}

static void gate_free(void *p) {
  gate_op *op = p;
  if (!op) return;
  for (int64_t i = 0; i < op->n_slots; i++) {
    td_subq_slot *s = op->slots[i];
    td_graph *g = s->table->service->graph; /* a cycle may be reading the list */
    td_graph_lock(g);
    for (int64_t k = 0; op->self && k < s->n_gates; k++)
      if (s->gates[k] == op->self) {
        s->gates[k] = s->gates[--s->n_gates];
        break;
      }
    td_graph_unlock(g);
    td__subq_slot_release(s);
  }
  td_free(op->slots);
  td_table_release(op->rows);
  td_free(op);
}

static const td_op_vtable gate_vt = {gate_apply, gate_free, false};

/* A slot of g changed: g republishes its rows (on the update thread). */
static void gate_mark(td_table *g) {
  gate_op *op = g->op;
  op->slots_changed = true;
  td_derived_defer(g); /* applied once, with the outer rows' change of the cycle */
}

int td__subq_gate(td_table *src, td_subq_slot *const *slots, int64_t n, td_table **out, td_error *err) {
  *out = NULL;
  td_table *driver = src->refreshing || n == 0 ? src : slots[0]->table;
  for (int64_t i = 0; i < n; i++)
    if (slots[i]->table->service->graph != driver->service->graph)
      return td_err_at(err, TD_EINVAL, slots[i]->pos,
                       "a live subquery at offset %lld reads another service than its outer query",
                       (long long)slots[i]->pos);
  gate_op *op = td_calloc(1, sizeof *op);
  if (op) op->slots = td_calloc((size_t)n + 1, sizeof *op->slots);
  if (!op || !op->slots) {
    td_free(op);
    return td_err_nomem(err, "planning a live subquery");
  }
  op->rows = td_table_retain(src);
  op->drives = driver == src;
  for (int64_t i = 0; i < n; i++) {
    atomic_fetch_add(&slots[i]->refs, 1);
    op->slots[op->n_slots++] = slots[i];
  }
  td_graph *g = driver->service->graph;
  if (driver->refreshing) td_graph_lock(g);
  int rc = td_derived_new(driver, src->def, &gate_vt, op, out, err); /* takes op */
  if (rc == TD_OK && n > 0) (*out)->defer = driver->refreshing;
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    td_subq_slot *s = slots[i];
    td_table **a = td_realloc(s->gates, (size_t)(s->n_gates + 1) * sizeof *a);
    if (!a) rc = td_err_nomem(err, "planning a live subquery");
    else {
      s->gates = a;
      s->gates[s->n_gates++] = *out;
      op->self = *out;
    }
  }
  if (rc && *out) {
    op->self = *out; /* unregisters from the slots it reached */
    td_table_release(*out);
    *out = NULL;
  }
  if (driver->refreshing) td_graph_unlock(g);
  if (rc == TD_OK) (*out)->threads = src->threads;
  return rc;
}

int64_t td__subq_stats(const td_table *t, int64_t *appends) {
  for (; t; t = t->source)
    if (t->kind == TD_TABLE_DERIVED && t->op_vt == &gate_vt) {
      const gate_op *op = t->op;
      if (appends) *appends = op->n_appends;
      return op->n_recomputes;
    }
  if (appends) *appends = -1;
  return -1;
}
