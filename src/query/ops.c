/*
 * query/ops.c - the table operators: select (filter + projection), slice
 * (head / tail), sort and aggregation, as derived tables.
 *
 * Incremental rules (see docs/DESIGN.md, "Queries"):
 *   select  appends the rows a source delta added that pass the filter;
 *   agg     folds the added rows into its aggregation state, then republishes
 *           the groups (new ones appended, changed ones listed);
 *   slice, sort  recompute their result whenever the source changes.
 * A "replaced" delta (the initial fill, or a source that changed in place)
 * makes every operator start over.
 */
#include "query/ops.h"
#include "query/func.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/dict.h"
#include "query/par.h"
#include "query/prune.h"
#include "query/sort.h"
#include "query/sql_window.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- helpers ---- */

td_colview td_builder_view(const td_array *a) {
  td_colview v;
  memset(&v, 0, sizeof v);
  v.type = a->type;
  v.length = a->length;
  v.null_count = a->null_count;
  v.validity = a->null_count ? a->validity : NULL;
  if (td_type_is_varlen(a->type)) {
    v.offsets = a->offsets;
    v.data = a->data ? a->data : "";
  } else {
    v.values = a->values;
  }
  return v;
}

int td_expr_field(const td_expr *e, const td_schema *src, const char *name, td_schema *into, td_error *err) {
  td_type_id t = e->type == TD_TYPE_NONE ? TD_TYPE_BOOL : e->type;
  if (src && e->kind == TD_EXPR_COLUMN && e->column >= 0 && e->column < src->n_fields &&
      td_type_small(src->fields[e->column].type) == t)
    t = src->fields[e->column].type;
  return td_schema_add(into, name, t, e->tz, true, err);
}

/* Adds the columns `e` references to the set `have` (a bool per column). */
static int add_columns(const td_expr *e, bool *have, int64_t n_fields, td_error *err) {
  if (!e) return TD_OK;
  int64_t stack[64], *cols = stack;
  int64_t n = td_expr_columns(e, stack, 64);
  if (n > 64) {
    cols = td_malloc((size_t)n * sizeof *cols);
    if (!cols) return td_err_nomem(err, "planning a query");
    n = td_expr_columns(e, cols, n);
  }
  for (int64_t i = 0; i < n; i++)
    if (cols[i] >= 0 && cols[i] < n_fields) have[cols[i]] = true;
  if (cols != stack) td_free(cols);
  return TD_OK;
}

/* The sorted column list of a bool set. */
static int set_to_list(const bool *have, int64_t n_fields, int64_t **out, int64_t *n_out, td_error *err) {
  int64_t *l = td_malloc((size_t)(n_fields + 1) * sizeof *l);
  if (!l) return td_err_nomem(err, "planning a query");
  int64_t n = 0;
  for (int64_t i = 0; i < n_fields; i++)
    if (have[i]) l[n++] = i;
  *out = l;
  *n_out = n;
  return TD_OK;
}

int td_select_spec_columns(td_select_spec *spec, td_error *err) {
  bool *have = td_calloc((size_t)spec->n_fields + 1, sizeof *have);
  if (!have) return td_err_nomem(err, "planning a query");
  int rc = add_columns(spec->filter, have, spec->n_fields, err);
  if (!spec->items)
    for (int64_t i = 0; i < spec->n_fields; i++) have[i] = true;
  for (int64_t i = 0; rc == TD_OK && spec->items && i < spec->n_items; i++)
    rc = add_columns(spec->items[i], have, spec->n_fields, err);
  if (rc == TD_OK) rc = set_to_list(have, spec->n_fields, &spec->cols, &spec->n_cols, err);
  td_free(have);
  return rc;
}

void td_select_spec_reset(td_select_spec *spec) {
  td_expr_free(spec->filter);
  for (int64_t i = 0; spec->items && i < spec->n_items; i++) td_expr_free(spec->items[i]);
  td_free(spec->items);
  td_free(spec->cols);
  memset(spec, 0, sizeof *spec);
}

int td_select_scratch_init(td_select_scratch *s, int64_t n_fields, td_error *err) {
  memset(s, 0, sizeof *s);
  s->cols = td_calloc((size_t)n_fields + 1, sizeof *s->cols);
  s->consts = td_calloc((size_t)n_fields + 1, sizeof *s->consts);
  if (!s->cols || !s->consts) {
    td_select_scratch_reset(s);
    return td_err_nomem(err, "running a query");
  }
  return TD_OK;
}

void td_select_scratch_reset(td_select_scratch *s) {
  td_free(s->cols);
  td_free(s->consts);
  td_free(s->sel);
  memset(s, 0, sizeof *s);
}

/* Fills a td_batch from a scanned chunk: column c of the source is
 * scratch->cols[c] or scratch->consts[c]. */
void td_batch_of_chunk(td_select_scratch *s, const td_scan *sc, const td_chunk *ch, td_batch *b) {
  for (int64_t i = 0; i < sc->n_cols; i++) {
    int64_t c = sc->cols[i];
    if (ch->consts[i]) {
      s->consts[c] = *ch->consts[i];
      if (s->consts[c].type == TD_TYPE_NONE) s->consts[c].type = TD_TYPE_BOOL;
    } else {
      s->cols[c] = ch->views[i];
      s->consts[c].type = TD_TYPE_NONE;
    }
  }
  b->length = ch->length;
  b->cols = s->cols;
  b->consts = s->consts;
  b->sel = NULL;
  b->n_sel = 0;
}

static int ensure_sel(td_select_scratch *s, int64_t n, td_error *err) {
  if (n <= s->sel_cap) return TD_OK;
  uint32_t *sel = td_realloc(s->sel, (size_t)n * sizeof *sel);
  if (!sel) return td_err_nomem(err, "filtering");
  s->sel = sel;
  s->sel_cap = n;
  return TD_OK;
}

bool td__expr_per_row(const td_expr *e) {
  if (e->kind == TD_EXPR_CALL && e->fn && e->fn->is_volatile && strcmp(e->fn->name, "random") == 0) return true;
  for (int64_t i = 0; i < e->n_args; i++)
    if (td__expr_per_row(e->args[i])) return true;
  return false;
}

bool td_expr_all_const(const td_expr *e, const td_batch *b) {
  if (!e) return true;
  if (td__expr_per_row(e)) return false;
  int64_t cols[64];
  int64_t n = td_expr_columns(e, cols, 64);
  if (n > 64) return false;
  for (int64_t i = 0; i < n; i++)
    if (b->consts[cols[i]].type == TD_TYPE_NONE) return false;
  return true;
}

/* Gathers the selected rows of every scanned, non-constant source column,
 * block by block so each block's source rows are still in cache for the
 * next column; gathered[c] receives source column c. */
#define TD_GATHER_BLOCK 4096
static int gather_selected(const td_batch *b, const td_scan *sc, const uint32_t *sel, int64_t n, td_array *gathered,
                           td_error *err) {
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < sc->n_cols; i++) {
    int64_t c = sc->cols[i];
    if (b->consts[c].type == TD_TYPE_NONE) rc = td_array_init(&gathered[c], b->cols[c].type, n, err);
  }
  for (int64_t from = 0; rc == TD_OK && from < n; from += TD_GATHER_BLOCK) {
    int64_t m = n - from < TD_GATHER_BLOCK ? n - from : TD_GATHER_BLOCK;
    for (int64_t i = 0; rc == TD_OK && i < sc->n_cols; i++) {
      int64_t c = sc->cols[i];
      if (b->consts[c].type == TD_TYPE_NONE)
        rc = td_array_append_gather(&gathered[c], &b->cols[c], sel + from, NULL, m, err);
    }
  }
  return rc;
}

/* Output columns from a batch whose every row is kept: source columns are
 * shared (views of `owners`, or of the scanned chunk), expressions computed. */
/* The position of source column `col` among the scan's columns (sorted, as
 * td_select_spec_columns lists them: a binary search; else a linear one). */
static int64_t scan_index(const td_scan *sc, int64_t col) {
  int64_t lo = 0, hi = sc->n_cols;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (sc->cols[mid] < col) lo = mid + 1;
    else hi = mid;
  }
  if (lo < sc->n_cols && sc->cols[lo] == col) return lo;
  int64_t k = 0;
  while (sc->cols[k] != col) k++;
  return k;
}

int td__expr_eval_const(const td_expr *e, const td_batch *b, td_array *a, td_value *out, td_error *err) {
  if (e->type == TD_TYPE_NONE) { /* an untyped NULL: no array holds it */
    *out = td_value_null(TD_TYPE_NONE);
    return TD_OK;
  }
  td_batch one = {1, b->cols, b->consts, NULL, 0};
  int rc = td_expr_eval(e, &one, a, err);
  if (rc) return rc;
  td_colview v = td_builder_view(a);
  *out = td_colview_value(&v, 0);
  return TD_OK;
}

static int fill_columns(const td_select_spec *spec, const td_batch *b, td_dchunk *c, const td_scan *sc,
                        const td_chunk *ch, td_shared_array *const *owners, td_error *err) {
  int64_t n_out = spec->items ? spec->n_items : spec->n_fields;
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < n_out; i++) {
    const td_expr *e = spec->items ? spec->items[i] : NULL;
    int64_t col = e ? (e->kind == TD_EXPR_COLUMN ? e->column : -1) : i;
    if (col >= 0) {
      if (b->consts[col].type != TD_TYPE_NONE) {
        rc = td_dchunk_set_const(c, i, &b->consts[col], err);
      } else if (owners) {
        td_dchunk_set_view(c, i, &b->cols[col], owners[col]);
      } else {
        int64_t k = scan_index(sc, col);
        td_dchunk_set_view(c, i, &ch->views[k], ch->owners[k]);
      }
    } else if (td_expr_all_const(e, b)) {
      td_array a;
      td_value v;
      memset(&a, 0, sizeof a);
      rc = td__expr_eval_const(e, b, &a, &v, err);
      if (rc == TD_OK) rc = td_dchunk_set_const(c, i, &v, err);
      td_array_reset(&a);
    } else {
      td_array a;
      memset(&a, 0, sizeof a);
      rc = td_expr_eval(e, b, &a, err);
      if (rc == TD_OK) rc = td_dchunk_set_array(c, i, &a, err);
      td_array_reset(&a);
    }
  }
  return rc;
}

/*
 * The fused fast path of a common filter: `column OP constant` over an int64
 * (or timestamp) or float64 column without nulls, keeping output columns
 * that are plain 8- or 4-byte columns without nulls.  One pass writes every
 * output column for every row and advances only past kept rows (branch-free),
 * instead of a selection vector then a gather per column.
 */
/* One kept-row copy of up to four 8-byte columns per row. */
#define TD_FUSED_BODY(COND)                                              \
  do {                                                                   \
    switch (nc) {                                                        \
      case 1:                                                            \
        for (int64_t i = 0; i < len; i++) {                              \
          d[0][k] = s[0][i];                                             \
          k += (COND);                                                   \
        }                                                                \
        break;                                                           \
      case 2:                                                            \
        for (int64_t i = 0; i < len; i++) {                              \
          d[0][k] = s[0][i];                                             \
          d[1][k] = s[1][i];                                             \
          k += (COND);                                                   \
        }                                                                \
        break;                                                           \
      case 3:                                                            \
        for (int64_t i = 0; i < len; i++) {                              \
          d[0][k] = s[0][i];                                             \
          d[1][k] = s[1][i];                                             \
          d[2][k] = s[2][i];                                             \
          k += (COND);                                                   \
        }                                                                \
        break;                                                           \
      default:                                                           \
        for (int64_t i = 0; i < len; i++) {                              \
          d[0][k] = s[0][i];                                             \
          d[1][k] = s[1][i];                                             \
          d[2][k] = s[2][i];                                             \
          d[3][k] = s[3][i];                                             \
          k += (COND);                                                   \
        }                                                                \
        break;                                                           \
    }                                                                    \
  } while (0)

#define TD_FUSED_OPS(A, C)                                  \
  switch (op) {                                             \
    case TD_OP_EQ: TD_FUSED_BODY((A)[i] == (C)); break;     \
    case TD_OP_NE: TD_FUSED_BODY((A)[i] != (C)); break;     \
    case TD_OP_LT: TD_FUSED_BODY((A)[i] < (C)); break;      \
    case TD_OP_LE: TD_FUSED_BODY((A)[i] <= (C)); break;     \
    case TD_OP_GT: TD_FUSED_BODY((A)[i] > (C)); break;      \
    default: TD_FUSED_BODY((A)[i] >= (C)); break;           \
  }

/* Writes every row of the nc columns s[] to d[], advancing past kept rows
 * only; returns the number kept. */
static int64_t fused_rows(const td_colview *f, td_op op, double fc, int64_t ic, const int64_t *const *s,
                          int64_t *const *d, int64_t nc, int64_t len) {
  int64_t k = 0;
  if (f->type == TD_TYPE_FLOAT64) {
    const double *a = (const double *)f->values + f->offset;
    TD_FUSED_OPS(a, fc)
  } else {
    const int64_t *a = (const int64_t *)f->values + f->offset;
    TD_FUSED_OPS(a, ic)
  }
  return k;
}

/* Tries the fused path; *done is false when it does not apply. */
static int select_fused(const td_select_spec *spec, const td_batch *b, const td_chunk *ch, td_dchunk **out,
                        bool *done, td_error *err) {
  *done = false;
  const td_expr *f = spec->filter;
  if (!f || f->kind != TD_EXPR_BINARY || f->op < TD_OP_EQ || f->op > TD_OP_GE || !spec->items ||
      spec->n_items > 4)
    return TD_OK;
  const td_expr *col = f->args[0], *lit = f->args[1];
  td_op op = f->op;
  if (col->kind != TD_EXPR_COLUMN || lit->kind != TD_EXPR_LITERAL || lit->lit.is_null) return TD_OK;
  const td_colview *fv = &b->cols[col->column];
  if (b->consts[col->column].type != TD_TYPE_NONE || fv->validity) return TD_OK;
  bool fl = fv->type == TD_TYPE_FLOAT64;
  if (!(fl || fv->type == TD_TYPE_INT64 || fv->type == TD_TYPE_TIMESTAMP)) return TD_OK;
  if (fl != (lit->lit.type == TD_TYPE_FLOAT64)) return TD_OK;
  if (!fl && lit->lit.type != TD_TYPE_INT64 && lit->lit.type != TD_TYPE_TIMESTAMP) return TD_OK;
  const int64_t *src[4];
  int64_t *dst[4];
  td_array arrs[4];
  int64_t nc = spec->n_items;
  for (int64_t j = 0; j < nc; j++) {
    const td_expr *e = spec->items[j];
    if (e->kind != TD_EXPR_COLUMN || b->consts[e->column].type != TD_TYPE_NONE) return TD_OK;
    const td_colview *v = &b->cols[e->column];
    if (v->validity || td_type_width(v->type) != 8) return TD_OK;
    src[j] = (const int64_t *)v->values + v->offset;
  }
  int rc = TD_OK;
  int64_t made = 0;
  while (rc == TD_OK && made < nc) {
    rc = td_array_init(&arrs[made], b->cols[spec->items[made]->column].type, ch->length + 1, err);
    if (rc == TD_OK) dst[made] = (int64_t *)arrs[made].values, made++;
  }
  if (rc == TD_OK) {
    *done = true;
    int64_t n = fused_rows(fv, op, fl ? lit->lit.v.f : 0, fl ? 0 : lit->lit.v.i, src, dst, nc, ch->length);
    if (n > 0) {
      rc = td_dchunk_new(nc, n, out, err);
      for (int64_t j = 0; rc == TD_OK && j < nc; j++) {
        arrs[j].length = n;
        rc = td_dchunk_set_array(*out, j, &arrs[j], err);
      }
      if (rc) {
        td_dchunk_release(*out);
        *out = NULL;
      }
    }
  }
  for (int64_t j = 0; j < made; j++) td_array_reset(&arrs[j]);
  return rc;
}

int td_select_defer(const td_select_spec *spec, td_scan *sc, td_error *err) {
  if (spec->keep_codes && !spec->filter)
    for (int64_t i = 0; i < sc->n_cols; i++) td_scan_allow_codes(sc, i);
  if (!spec->filter || sc->table->kind != TD_TABLE_SOURCE) return TD_OK;
  bool *in_filter = td_calloc((size_t)spec->n_fields + 1, sizeof *in_filter);
  if (!in_filter) return td_err_nomem(err, "planning a query");
  int rc = add_columns(spec->filter, in_filter, spec->n_fields, err);
  for (int64_t i = 0; rc == TD_OK && i < sc->n_cols; i++) {
    if (sc->cols[i] < spec->n_fields && !in_filter[sc->cols[i]]) td_scan_defer(sc, i);
    /* Dictionary columns arrive as codes: the filter runs on them, and
     * td_select_chunk decodes only the rows it keeps (a gather). */
    td_scan_allow_codes(sc, i);
  }
  td_free(in_filter);
  return rc;
}

bool td__dict_kept(const td_colview *v, const td_shared_array *owner) {
  return owner && owner->array.dictionary && td_dict_of(owner->array.dictionary) == v->dict;
}

int td_select_chunk(const td_select_spec *spec, td_select_scratch *s, td_scan *sc, td_chunk *ch,
                    td_dchunk **out, td_error *err) {
  *out = NULL;
  td_batch b;
  td_batch_of_chunk(s, sc, ch, &b);
  int64_t n = ch->length;
  bool lazy = !sc->loaded, narrowed = false;
  if (!lazy) {
    bool fused;
    int frc = select_fused(spec, &b, ch, out, &fused, err);
    if (frc || fused) return frc;
  }
  if (spec->filter) {
    /* Late materialization: with lazy columns, the filter runs on its own
     * columns and the others are fetched only when some row passes. */
    int rc = ensure_sel(s, ch->length, err);
    if (rc == TD_OK) rc = td_expr_select(spec->filter, &b, NULL, 0, s->sel, &n, err);
    if (rc || n == 0) return rc;
    if (lazy) {
      /* Survivors within at most half the chunk: the chunk narrows to
       * them, and the other columns are fetched for those rows only (in a
       * file, only the pages holding them are decoded). */
      int64_t first = s->sel[0], span = s->sel[n - 1] + 1 - first, pos0 = ch->pos;
      if (span * 2 > ch->length) first = 0, span = ch->length;
      if ((rc = td_scan_load_rows(sc, ch, first, span, err)) != TD_OK) return rc;
      if (ch->pos != pos0) {
        narrowed = true;
        for (int64_t k = 0; k < n; k++) s->sel[k] -= (uint32_t)(ch->pos - pos0);
      }
      td_batch_of_chunk(s, sc, ch, &b);
    }
  }
  int64_t n_out = spec->items ? spec->n_items : spec->n_fields;
  td_dchunk *c;
  int rc = td_dchunk_new(n_out, n, &c, err);
  if (rc) return rc;
  bool codes = false; /* views of codes are decoded by the gather, never shared */
  bool keep = spec->keep_codes && !spec->filter;
  for (int64_t i = 0; i < sc->n_cols && rc == TD_OK; i++) {
    if (keep && ch->views[i].codes && !td__dict_kept(&ch->views[i], ch->owners[i])) rc = td_scan_decode(sc, i, err);
    codes = codes || (ch->views[i].codes && !keep);
  }
  if (rc) {
    td_dchunk_release(c);
    return rc;
  }
  if (n == ch->length && !codes && !narrowed) { /* every row: share the scanned pages */
    rc = fill_columns(spec, &b, c, sc, ch, NULL, err);
  } else { /* the selected rows, gathered, then computed */
    td_array *g = td_calloc((size_t)spec->n_fields + 1, sizeof *g);
    td_shared_array **owners = td_calloc((size_t)spec->n_fields + 1, sizeof *owners);
    rc = g && owners ? gather_selected(&b, sc, s->sel, n, g, err) : td_err_nomem(err, "filtering");
    for (int64_t i = 0; rc == TD_OK && i < sc->n_cols; i++) {
      int64_t col = sc->cols[i];
      if (b.consts[col].type != TD_TYPE_NONE) continue;
      td_type_id type = g[col].type;
      struct ArrowArray arr;
      rc = td_array_export(&g[col], &arr, err);
      if (rc == TD_OK) rc = td_shared_array_new(&arr, &owners[col], err);
      if (rc == TD_OK) rc = td_colview_init(&s->cols[col], type, &owners[col]->array, err);
    }
    if (rc == TD_OK) {
      b.length = n;
      rc = fill_columns(spec, &b, c, sc, ch, owners, err);
    }
    for (int64_t i = 0; g && i < spec->n_fields; i++) {
      td_array_reset(&g[i]);
      if (owners) td_shared_array_release(owners[i]);
    }
    td_free(g);
    td_free(owners);
  }
  if (rc) {
    td_dchunk_release(c);
    return rc;
  }
  *out = c;
  return TD_OK;
}

/* The position ranges a delta asks an operator to process. */
static int64_t delta_ranges(const td_source_delta *d, int64_t whole[2], const int64_t **ranges) {
  if (d->replaced) {
    whole[0] = 0;
    whole[1] = d->snap->size;
    *ranges = whole;
    return 1;
  }
  *ranges = d->ranges;
  return d->n_ranges;
}

int td_chunk_list_push(td_chunk_list *l, td_dchunk *c, td_error *err) {
  if (l->n == l->cap) {
    int64_t cap = l->cap ? l->cap * 2 : 16;
    td_dchunk **v = td_realloc(l->v, (size_t)cap * sizeof *v);
    if (!v) {
      td_dchunk_release(c);
      return td_err_nomem(err, "collecting results");
    }
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = c;
  return TD_OK;
}

void td_chunk_list_reset(td_chunk_list *l) {
  for (int64_t i = 0; i < l->n; i++) td_dchunk_release(l->v[i]);
  td_free(l->v);
  memset(l, 0, sizeof *l);
}

/*
 * Scans by units (one chunk each: a page of a location or a derived chunk)
 * taken in increasing order from a shared counter by up to `threads`
 * workers; fn(ctx, worker, unit, scan) reads the unit's chunks from a scan
 * of just that unit.  Results filed per unit (or carrying positions) make
 * the outcome independent of the number of workers and their timing.
 */
typedef int (*unit_fn)(void *ctx, int worker, int64_t unit, td_scan *sc, td_error *err);

typedef struct unit_run {
  td_table *src;
  td_snapshot *snap;
  const int64_t *cols;
  int64_t n_cols;
  td_range_filter *rf;
  int64_t *bounds;
  int64_t n_units;
  const int64_t *order; /* the units in the order taken (NULL: increasing) */
  _Atomic int64_t next;
  atomic_bool stop;
  unit_fn fn;
  void *ctx;
} unit_run;

static int unit_worker(void *v, int worker, td_error *err) {
  unit_run *u = v;
  int rc = TD_OK;
  while (rc == TD_OK && !atomic_load_explicit(&u->stop, memory_order_relaxed)) {
    int64_t k = atomic_fetch_add(&u->next, 1);
    if (k >= u->n_units) break;
    if (u->order) k = u->order[k];
    td_scan sc;
    rc = td_scan_init(&sc, u->src, u->snap, u->cols, u->n_cols, u->bounds[k], u->bounds[k + 1], err);
    if (rc) break;
    if (u->rf) td_range_filter_attach(u->rf, &sc);
    rc = u->fn(u->ctx, worker, k, &sc, err);
    td_scan_release(&sc);
  }
  if (rc) atomic_store(&u->stop, true);
  return rc;
}

/* Splits rows [begin, end) into units (*n_units, the caller frees
 * *bounds) and picks the number of workers; with several workers the
 * chunks are grouped into larger units unless `per_chunk`. */
static int units_plan(td_table *t, td_snapshot *snap, int64_t begin, int64_t end, bool per_chunk, int64_t **bounds,
                      int64_t *n_units, int *workers, td_error *err) {
  int rc = td__par_units(t->source, snap, begin, end, bounds, n_units, err);
  *workers = rc ? 1 : td__par_workers(t->threads, *n_units);
  if (rc == TD_OK && !per_chunk) td__par_group(t->source, snap, *workers, *bounds, n_units);
  return rc;
}

/* Runs fn over every unit on `workers` workers, which take the units in
 * increasing order, or in `order` (NULL: increasing). */
static int run_units(td_table *src, td_snapshot *snap, const int64_t *cols, int64_t n_cols, td_range_filter *rf,
                     int64_t *bounds, int64_t n_units, const int64_t *order, int workers, unit_fn fn, void *ctx,
                     td_error *err) {
  unit_run u = {src, snap, cols, n_cols, rf, bounds, n_units, order, 0, false, fn, ctx};
  atomic_init(&u.next, 0);
  atomic_init(&u.stop, false);
  return td__par_run(workers, unit_worker, &u, err);
}

/* Publishes `more` after the current chunks (or instead, when replaced). */
static int finish_append(td_table *t, const td_source_delta *d, td_chunk_list *more, td_op_result *out,
                         td_error *err) {
  td_snapshot *cur = td_table_snapshot(t);
  if (!d->replaced && more->n == 0) {
    td_snapshot_release(cur);
    return TD_OK; /* nothing new */
  }
  int rc = td_snapshot_derived(d->replaced ? NULL : cur, more->v, more->n, d->version, &out->snap, err);
  out->replaced = d->replaced;
  out->appended_from = d->replaced ? 0 : cur->size;
  td_snapshot_release(cur);
  return rc;
}

/* ---- select: filter and/or projection ---- */

typedef struct select_op {
  td_select_spec spec;
  td_select_scratch scratch;
  td_range_filter rf; /* skips pages the filter rejects from metadata */
} select_op;

/* One unit's output chunks (usually one, or none).  With a head (static
 * input), units are taken in increasing order, so every unit before a
 * taken one is taken too, and a unit is not needed once the units before
 * it are known to hold the rows wanted:
 *   - the units finished in order from unit 0 (the `frontier`, their rows
 *     `prefix`), with the rows so far of the unit at the frontier, reach
 *     the head: every unit after the frontier stops (`enough`);
 *   - the finished units (`done_rows`) all lie before this unit
 *     (`done_max` < it) and reach the head: this unit stops (a unit before
 *     it may still run, and be needed: a worker ran ahead of a slow one). */
typedef struct select_par {
  select_op *op;
  td_select_scratch scratch[TD_PAR_MAX]; /* worker 0 uses op->scratch */
  td_chunk_list *out;                    /* per unit */
  int64_t head;                          /* 0: every row */
  pthread_mutex_t lock;                  /* what follows but `enough` */
  int64_t frontier, prefix, n_units, done_rows, done_max;
  int64_t *rows; /* per finished unit: its rows, -1 while not finished */
  atomic_bool enough;
} select_par;

/* Unit `unit` has made `rows` rows so far (it ended when `ended`): whether
 * it is not needed any more. */
static bool select_enough(select_par *p, int64_t unit, int64_t rows, bool ended) {
  pthread_mutex_lock(&p->lock);
  if (ended) {
    p->rows[unit] = rows;
    p->done_rows += rows;
    if (unit > p->done_max) p->done_max = unit;
    while (p->frontier < p->n_units && p->rows[p->frontier] >= 0) p->prefix += p->rows[p->frontier++];
  }
  bool all = p->prefix >= p->head || (unit == p->frontier && p->prefix + rows >= p->head);
  bool mine = all || (p->done_max < unit && p->done_rows >= p->head);
  pthread_mutex_unlock(&p->lock);
  if (all) atomic_store(&p->enough, true);
  return mine;
}

static int select_unit(void *ctx, int worker, int64_t unit, td_scan *sc, td_error *err) {
  select_par *p = ctx;
  td_select_scratch *s = worker ? &p->scratch[worker] : &p->op->scratch;
  if (p->head && (atomic_load(&p->enough) || select_enough(p, unit, 0, false))) { /* after the rows wanted */
    select_enough(p, unit, 0, true);
    return TD_OK;
  }
  int rc = td_select_defer(&p->op->spec, sc, err); /* late materialization */
  int64_t rows = 0;
  for (; rc == TD_OK;) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(sc, &ch, &done, err)) != TD_OK || done) break;
    td_dchunk *c;
    if ((rc = td_select_chunk(&p->op->spec, s, sc, &ch, &c, err)) != TD_OK) break;
    if (c && (rc = td_chunk_list_push(&p->out[unit], c, err)) != TD_OK) break;
    rows += c ? c->length : 0;
    if (p->head && (atomic_load(&p->enough) || select_enough(p, unit, rows, false))) break;
  }
  if (rc == TD_OK && p->head) select_enough(p, unit, rows, true);
  return rc;
}

static int select_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  select_op *op = t->op;
  int64_t whole[2];
  const int64_t *r;
  int64_t nr = delta_ranges(d, whole, &r);
  td_chunk_list more = {0};
  select_par *p = td_calloc(1, sizeof *p);
  int rc = p ? TD_OK : td_err_nomem(err, "filtering");
  if (p) {
    p->op = op;
    pthread_mutex_init(&p->lock, NULL);
  }
  for (int64_t k = 0; rc == TD_OK && k < nr; k++) {
    int64_t *bounds = NULL, n_units = 0;
    int workers = 1;
    rc = units_plan(t, d->snap, r[2 * k], r[2 * k + 1], false, &bounds, &n_units, &workers, err);
    p->out = rc ? NULL : td_calloc((size_t)n_units + 1, sizeof *p->out);
    if (rc == TD_OK && !p->out) rc = td_err_nomem(err, "filtering");
    for (int w = 1; rc == TD_OK && w < workers; w++)
      if (!p->scratch[w].cols) rc = td_select_scratch_init(&p->scratch[w], op->spec.n_fields, err);
    /* a head over a static input: the units from the first, stopping once
     * the rows wanted are made (one range: a static input's whole) */
    p->head = op->spec.head > 0 && !t->refreshing && nr == 1 ? op->spec.head : 0;
    p->frontier = p->prefix = p->done_rows = 0;
    p->done_max = -1;
    p->n_units = n_units;
    atomic_init(&p->enough, false);
    td_free(p->rows);
    p->rows = NULL;
    if (rc == TD_OK && p->head && !(p->rows = td_malloc((size_t)(n_units + 1) * sizeof *p->rows)))
      rc = td_err_nomem(err, "filtering");
    for (int64_t u = 0; rc == TD_OK && p->head && u < n_units; u++) p->rows[u] = -1;
    if (rc == TD_OK)
      rc = run_units(t->source, d->snap, op->spec.cols, op->spec.n_cols, &op->rf, bounds, n_units, NULL, workers,
                     select_unit, p, err);
    for (int64_t u = 0; p->out && u < n_units; u++) { /* in source order */
      for (int64_t i = 0; i < p->out[u].n; i++) {
        if (rc == TD_OK) rc = td_chunk_list_push(&more, p->out[u].v[i], err);
        else td_dchunk_release(p->out[u].v[i]);
      }
      td_free(p->out[u].v);
    }
    td_free(p->out);
    td_free(bounds);
  }
  if (rc == TD_OK) rc = finish_append(t, d, &more, out, err);
  td_chunk_list_reset(&more);
  for (int w = 1; p && w < TD_PAR_MAX; w++) td_select_scratch_reset(&p->scratch[w]);
  if (p) {
    pthread_mutex_destroy(&p->lock);
    td_free(p->rows);
  }
  td_free(p);
  return rc;
}

static void select_free(void *p) {
  select_op *op = p;
  if (!op) return;
  td_range_filter_reset(&op->rf);
  td_select_spec_reset(&op->spec);
  td_select_scratch_reset(&op->scratch);
  td_free(op);
}

static const td_op_vtable select_vt = {select_apply, select_free, false};

int td_op_select(td_table *source, td_select_spec *spec, const td_schema *def, td_table **out,
                 td_error *err) {
  *out = NULL;
  select_op *op = td_calloc(1, sizeof *op);
  if (!op) {
    td_select_spec_reset(spec);
    return td_err_nomem(err, "creating a query");
  }
  op->spec = *spec;
  memset(spec, 0, sizeof *spec);
  int rc = op->spec.cols ? TD_OK : td_select_spec_columns(&op->spec, err);
  if (rc == TD_OK) rc = td_select_scratch_init(&op->scratch, op->spec.n_fields, err);
  if (rc == TD_OK) rc = td_range_filter_init(&op->rf, op->spec.filter, source, err);
  if (rc) {
    select_free(op);
    return rc;
  }
  bool keeps_rows = !op->spec.filter;
  rc = td_derived_new(source, def, &select_vt, op, out, err);
  if (rc == TD_OK) (*out)->row_preserving = keeps_rows;
  return rc;
}

/* ---- slice: head and tail ---- */

typedef struct slice_op {
  int64_t n; /* -1: no limit (OFFSET alone) */
  bool tail;
  int64_t offset; /* head only: rows skipped first */
} slice_op;

/* Chunks viewing source rows [begin, end), all columns. */
static int view_range(td_table *src, td_snapshot *snap, int64_t begin, int64_t end, td_chunk_list *into,
                      td_error *err) {
  td_scan sc;
  int rc = td_scan_init(&sc, src, snap, NULL, 0, begin, end, err);
  while (rc == TD_OK) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    td_dchunk *c;
    if ((rc = td_dchunk_new(sc.n_cols, ch.length, &c, err)) != TD_OK) break;
    for (int64_t i = 0; rc == TD_OK && i < sc.n_cols; i++) {
      if (ch.consts[i]) rc = td_dchunk_set_const(c, i, ch.consts[i], err);
      else td_dchunk_set_view(c, i, &ch.views[i], ch.owners[i]);
    }
    if (rc) td_dchunk_release(c);
    else rc = td_chunk_list_push(into, c, err);
  }
  td_scan_release(&sc);
  return rc;
}

static int slice_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  slice_op *op = t->op;
  int64_t size = d->snap->size, n = op->n >= 0 && op->n < size ? op->n : size;
  int64_t begin = op->tail ? size - n : op->offset < size ? op->offset : size;
  if (begin + n > size) n = size - begin;
  td_chunk_list l = {0};
  int rc = view_range(t->source, d->snap, begin, begin + n, &l, err);
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, l.v, l.n, d->version, &out->snap, err);
  out->replaced = true;
  td_chunk_list_reset(&l);
  return rc;
}

static void plain_free(void *p) { td_free(p); }
static const td_op_vtable slice_vt = {slice_apply, plain_free, false};

int td_op_slice(td_table *source, int64_t n, bool tail, td_table **out, td_error *err) {
  *out = NULL;
  if (n < 0) return td_err(err, TD_EINVAL, "%s expects n >= 0, got %lld", tail ? "tail" : "head", (long long)n);
  slice_op *op = td_malloc(sizeof *op);
  if (!op) return td_err_nomem(err, "creating a query");
  op->n = n;
  op->tail = tail;
  op->offset = 0;
  return td_derived_new(source, source->def, &slice_vt, op, out, err);
}

int td_op_slice_range(td_table *source, int64_t offset, int64_t n, td_table **out, td_error *err) {
  *out = NULL;
  if (offset < 0) return td_err(err, TD_EINVAL, "OFFSET expects m >= 0, got %lld", (long long)offset);
  slice_op *op = td_malloc(sizeof *op);
  if (!op) return td_err_nomem(err, "creating a query");
  op->n = n < 0 ? -1 : n;
  op->tail = false;
  op->offset = offset;
  return td_derived_new(source, source->def, &slice_vt, op, out, err);
}

/* ---- sort ---- */

typedef struct sort_op {
  int64_t *cols;
  bool *desc;
  int64_t n;
  int64_t limit; /* top-N: keep this many rows; -1: all */
  /* top-N fused with the projection below it (td_op_select_topn): the
   * source is the projection's source, each scanned chunk is projected
   * and fed to the top-N at once, so the projection is never materialized */
  td_select_spec *sel;
  td_range_filter rf; /* the projection's filter: pages it rejects are skipped */
} sort_op;

static int topn_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err);

/* Reads every column of a snapshot into contiguous arrays (also for the
 * window operator, query/sql_window.h). */
int td__read_all(td_table *src, td_snapshot *snap, td_array *cols, struct ArrowArray *arrs, td_colview *views,
                 td_error *err) {
  return td__read_range(src, snap, NULL, 0, 0, snap->size, cols, arrs, views, err);
}

int td__read_range(td_table *src, td_snapshot *snap, const int64_t *which, int64_t n_which, int64_t begin,
                   int64_t end, td_array *cols, struct ArrowArray *arrs, td_colview *views, td_error *err) {
  int64_t nf = which ? n_which : src->def->n_fields;
  td_scan sc;
  int rc = td_scan_init(&sc, src, snap, which, n_which, begin, end, err);
  for (int64_t i = 0; rc == TD_OK && i < nf; i++)
    rc = td_array_init(&cols[i], src->def->fields[which ? which[i] : i].type, end - begin, err);
  while (rc == TD_OK) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    for (int64_t i = 0; rc == TD_OK && i < nf; i++)
      rc = ch.consts[i] ? td_array_append_const(&cols[i], ch.consts[i], ch.length, err)
                        : td_array_append_view(&cols[i], &ch.views[i], 0, ch.length, err);
  }
  td_scan_release(&sc);
  for (int64_t i = 0; rc == TD_OK && i < nf; i++) {
    td_type_id type = cols[i].type;
    rc = td_array_export(&cols[i], &arrs[i], err);
    if (rc == TD_OK) rc = td_colview_init(&views[i], type, &arrs[i], err);
  }
  return rc;
}

static int sort_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  sort_op *op = t->op;
  td_table *src = t->source;
  int64_t nf = src->def->n_fields, n = d->snap->size;
  if (op->sel || (op->limit >= 0 && op->limit < n / 2)) return topn_apply(t, d, out, err);
  int64_t m = op->limit >= 0 && op->limit < n ? op->limit : n; /* rows kept */
  td_array *cols = td_calloc((size_t)nf + 1, sizeof *cols);
  struct ArrowArray *arrs = td_calloc((size_t)nf + 1, sizeof *arrs);
  td_colview *views = td_calloc((size_t)nf + 1, sizeof *views);
  td_sort_key *keys = td_calloc((size_t)op->n + 1, sizeof *keys);
  int64_t *perm = td_malloc((size_t)(n + 1) * sizeof *perm);
  td_dchunk *c = NULL;
  int rc = cols && arrs && views && keys && perm ? TD_OK : td_err_nomem(err, "sorting");
  if (rc == TD_OK) rc = td__read_all(src, d->snap, cols, arrs, views, err);
  for (int64_t k = 0; rc == TD_OK && k < op->n; k++) keys[k] = (td_sort_key){&views[op->cols[k]], op->desc[k]};
  if (rc == TD_OK) rc = td_sort_permutation(keys, op->n, n, perm, err);
  if (rc == TD_OK) rc = td_dchunk_new(nf, m, &c, err);
  for (int64_t i = 0; rc == TD_OK && i < nf; i++) {
    td_array g;
    rc = td_array_init(&g, views[i].type, m, err);
    if (rc == TD_OK) rc = td_array_append_gather(&g, &views[i], NULL, perm, m, err);
    if (rc == TD_OK) rc = td_dchunk_set_array(c, i, &g, err);
    td_array_reset(&g);
  }
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, &c, 1, d->version, &out->snap, err);
  out->replaced = true;
  td_dchunk_release(c);
  for (int64_t i = 0; cols && arrs && i < nf; i++) { /* both zeroed until read_all */
    td_array_reset(&cols[i]);
    td_arrow_array_release(&arrs[i]);
  }
  td_free(cols);
  td_free(arrs);
  td_free(views);
  td_free(keys);
  td_free(perm);
  return rc;
}

static void sort_free(void *p) {
  sort_op *op = p;
  if (!op) return;
  if (op->sel) {
    td_select_spec_reset(op->sel);
    td_free(op->sel);
    td_range_filter_reset(&op->rf);
  }
  td_free(op->cols);
  td_free(op->desc);
  td_free(op);
}

static const td_op_vtable sort_vt = {sort_apply, sort_free, false};

/* A sort (limit < 0) or top-N of `source`, or with `spec` (taken, also on
 * failure) a top-N of that projection of `source` whose rows have schema
 * `def`. */
static int make_sort(td_table *source, td_select_spec *spec, const td_schema *def, const int64_t *cols,
                     const bool *desc, int64_t n, int64_t limit, bool lazy, td_table **out, td_error *err) {
  *out = NULL;
  sort_op *op = td_calloc(1, sizeof *op);
  if (op) {
    op->cols = td_malloc((size_t)(n + 1) * sizeof *op->cols);
    op->desc = td_malloc((size_t)(n + 1) * sizeof *op->desc);
    if (spec && (op->sel = td_calloc(1, sizeof *op->sel)) != NULL) {
      *op->sel = *spec;
      memset(spec, 0, sizeof *spec);
    }
  }
  if (spec) td_select_spec_reset(spec);
  if (!op || !op->cols || !op->desc || (spec && !op->sel)) {
    sort_free(op);
    return td_err_nomem(err, "creating a sort");
  }
  int rc = !op->sel || op->sel->cols ? TD_OK : td_select_spec_columns(op->sel, err);
  if (rc == TD_OK && op->sel) rc = td_range_filter_init(&op->rf, op->sel->filter, source, err);
  if (rc) {
    sort_free(op);
    return rc;
  }
  for (int64_t i = 0; i < n; i++) {
    op->cols[i] = cols[i];
    op->desc[i] = desc ? desc[i] : false;
  }
  op->n = n;
  op->limit = limit;
  return (lazy ? td_derived_new_lazy : td_derived_new)(source, spec ? def : source->def, &sort_vt, op, out, err);
}

int td_op_sort(td_table *source, const int64_t *cols, const bool *desc, int64_t n, td_table **out,
               td_error *err) {
  return make_sort(source, NULL, NULL, cols, desc, n, -1, false, out, err);
}

int td_op_sort_lazy(td_table *source, const int64_t *cols, const bool *desc, int64_t n, td_table **out,
                    td_error *err) {
  return make_sort(source, NULL, NULL, cols, desc, n, -1, true, out, err);
}

bool td_op_unsorted_sort(td_table *t, const int64_t **cols, const bool **desc, int64_t *n) {
  if (t->kind != TD_TABLE_DERIVED || t->op_vt != &sort_vt || !atomic_load(&t->pending)) return false;
  const sort_op *op = t->op;
  if (op->limit >= 0 || op->sel) return false;
  *cols = op->cols;
  *desc = op->desc;
  *n = op->n;
  return true;
}

/* ---- top-N: ORDER BY ... LIMIT k ---- */

/*
 * Each worker keeps a buffer of candidate rows (every column, plus the
 * row's source position) in the order it met them.  Once the buffer holds
 * more than `cap` rows it is compacted: sorted by the keys then position,
 * cut to the first k, and its last row becomes the threshold; a later row
 * enters only when it sorts strictly before the threshold (a tie loses, its
 * position being later: a worker meets units in increasing order).  At the
 * end the buffers are appended together and compacted once more, so the
 * result is exactly the first k rows of a stable sort.
 */
typedef struct topn_buf {
  td_array *cols; /* nf builders */
  td_array pos;
  td_array *thr;  /* per key: the threshold row */
  int64_t thr_pos; /* ... and its position: a row tying it on every key wins when earlier */
  bool has_thr;
  td_array *cst;  /* per key: a constant key column of one chunk, materialized */
  uint32_t *sel;
  int64_t sel_cap;
  const td_value **cptr; /* fused projection: per column its constant or NULL */
  /* a dictionary-encoded first key (topn_str_cmp): per entry of dictionary
   * dict_id its comparison with the threshold's first key, dres[e], known
   * where dstamp[e] == dgen; a new threshold or dictionary is a new
   * generation */
  uint64_t dict_id;
  int64_t dcap;
  uint32_t *dstamp;
  int8_t *dres;
  uint32_t dgen;
} topn_buf;

typedef struct topn_ctx {
  const sort_op *op;
  const td_schema *def;
  int64_t cap;
  topn_buf b[TD_PAR_MAX];
  td_select_scratch scratch[TD_PAR_MAX]; /* fused projection: per worker */
  /* late materialization (topn_late): the buffers hold the keys only, key
   * k being scanned column sk[k]; op and def describe those keys */
  const int64_t *sk;
  /* the scanned column of the first key when the scan may hand it out as
   * dictionary codes (a string key no other key reads), else -1 */
  int64_t codes_col;
  /* late materialization's page skipping (topn_late_skip): the source, the
   * first key's source column (-1: none), per worker its hook's context */
  td_table *src;
  int64_t skip_col;
  /* with several workers: the k best first-key scores (the value, negated
   * when ascending, NaN +inf when descending; greater is better) of the
   * rows in the workers' buffers, each row once (by position), and the
   * k-th of them (-inf: fewer than k), which a page's best score must
   * reach or it cannot hold a winner, whichever worker reads it */
  _Atomic double shared;
  pthread_mutex_t shared_lock;
  struct topn_score {
    double score;
    int64_t pos;
  } *best;
  int64_t n_best;
  struct topn_skip {
    struct topn_ctx *x;
    int worker;
    td_scan_skip_fn prev; /* the filter's range terms (prune.h), checked first */
    void *prev_ctx;
  } skip[TD_PAR_MAX];
  /* a late scan under a filter: the filter (over the source's columns,
   * evaluated on the scanned key and filter columns) and per worker the
   * keys of the rows it keeps, gathered (op->n arrays) */
  const td_expr *filter;
  td_array *fkeys[TD_PAR_MAX];
} topn_ctx;

static void topn_buf_reset(topn_buf *b, int64_t nf, int64_t nk) {
  for (int64_t i = 0; b->cols && i < nf; i++) td_array_reset(&b->cols[i]);
  for (int64_t k = 0; b->thr && k < nk; k++) td_array_reset(&b->thr[k]);
  for (int64_t k = 0; b->cst && k < nk; k++) td_array_reset(&b->cst[k]);
  td_array_reset(&b->pos);
  td_free(b->cols);
  td_free(b->thr);
  td_free(b->cst);
  td_free(b->sel);
  td_free(b->cptr);
  td_free(b->dstamp);
  td_free(b->dres);
  memset(b, 0, sizeof *b);
}

static int topn_buf_init(topn_buf *b, const td_schema *def, int64_t nk, td_error *err) {
  memset(b, 0, sizeof *b);
  b->cols = td_calloc((size_t)def->n_fields + 1, sizeof *b->cols);
  b->thr = td_calloc((size_t)nk + 1, sizeof *b->thr);
  b->cst = td_calloc((size_t)nk + 1, sizeof *b->cst);
  b->cptr = td_calloc((size_t)def->n_fields + 1, sizeof *b->cptr);
  if (!b->cols || !b->thr || !b->cst || !b->cptr) return td_err_nomem(err, "keeping the top rows");
  int rc = td_array_init(&b->pos, TD_TYPE_INT64, 0, err);
  for (int64_t i = 0; rc == TD_OK && i < def->n_fields; i++) rc = td_array_init(&b->cols[i], def->fields[i].type, 0, err);
  return rc;
}

/* Sorts the buffer (keys, then position) and keeps its first `limit` rows. */
static int score_cmp(const void *a, const void *b) {
  const struct topn_score *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Merges the first-key scores of worker buffer b's rows (its k best, just
 * compacted) into x->best and raises x->shared (late top-N, several
 * workers; x->best has room for 2k). */
static void topn_share(topn_ctx *x, const topn_buf *b) {
  if (!x->best) return;
  td_colview kv = td_builder_view(&b->cols[0]);
  const int64_t *pos = (const int64_t *)b->pos.values;
  bool desc = x->op->desc[0];
  int64_t k = x->op->limit, m = b->pos.length < k ? b->pos.length : k;
  pthread_mutex_lock(&x->shared_lock);
  int64_t n = x->n_best;
  for (int64_t i = 0; i < m; i++) {
    if (!td_colview_valid(&kv, i)) continue; /* nulls sort last: no bound */
    td_value v = td_colview_value(&kv, i);
    double d = td_type_is_float(v.type) ? v.v.f : (double)v.v.i; /* rounding keeps the order (not strictly) */
    if (d != d) {
      if (!desc) continue; /* NaN sorts last ascending */
      d = INFINITY;
    }
    x->best[n++] = (struct topn_score){desc ? d : -d, pos[i]};
  }
  qsort(x->best, (size_t)n, sizeof *x->best, score_cmp);
  int64_t u = 0;
  for (int64_t i = 0; i < n && u < k; i++)
    if (u == 0 || x->best[i].pos != x->best[u - 1].pos) x->best[u++] = x->best[i];
  x->n_best = u;
  if (u == k && x->best[k - 1].score > atomic_load_explicit(&x->shared, memory_order_relaxed))
    atomic_store_explicit(&x->shared, x->best[k - 1].score, memory_order_relaxed);
  pthread_mutex_unlock(&x->shared_lock);
}

/* A new generation of b's dictionary comparisons (the stamps restart from
 * zero when the counter wraps). */
static void topn_new_gen(topn_buf *b) {
  if (++b->dgen == 0) {
    if (b->dcap) memset(b->dstamp, 0, (size_t)b->dcap * sizeof *b->dstamp);
    b->dgen = 1;
  }
}

/* b's comparisons for the entries of dictionary d. */
static int topn_dict_room(topn_buf *b, const td_dict *d, td_error *err) {
  if (b->dict_id == d->id && b->dcap >= d->view.length) return TD_OK;
  const int64_t n = d->view.length;
  if (n > b->dcap) {
    uint32_t *st = td_realloc(b->dstamp, (size_t)n * sizeof *st);
    if (st) b->dstamp = st;
    int8_t *r = st ? td_realloc(b->dres, (size_t)n) : NULL;
    if (!r) return td_err_nomem(err, "keeping the top rows");
    b->dres = r;
    memset(b->dstamp + b->dcap, 0, (size_t)(n - b->dcap) * sizeof *st);
    b->dcap = n;
  }
  b->dict_id = d->id;
  topn_new_gen(b);
  return TD_OK;
}

/* The first 8 bytes of s (zero-padded) as a big-endian integer: two strings
 * whose prefixes differ order as the prefixes do (a string that ends sooner
 * pads with zeros, lower than any byte that differs). */
static inline uint64_t str_prefix(const char *s, int64_t n) {
  const uint8_t *u = (const uint8_t *)s;
  if (n < 8) { /* bytes shifted in (a short copy to memory would stall the load) */
    uint64_t w = 0;
    for (int64_t k = 0; k < n; k++) w = w << 8 | u[k];
    return n > 0 ? w << (8 * (8 - n)) : 0;
  }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t w;
  memcpy(&w, s, 8);
  return __builtin_bswap64(w);
#else
  uint64_t w = 0;
  for (int k = 0; k < 8; k++) w = w << 8 | u[k];
  return w;
#endif
}

/* The string threshold of a top-N's first key, with its prefix. */
typedef struct topn_sthr {
  const char *p;
  int64_t n;
  uint64_t pre;
} topn_sthr;

/* Byte order of string s (n bytes) against the threshold t (td_sort_compare's
 * order of two non-null strings): the prefixes decide unless equal. */
static inline int str_cmp_thr(const char *s, int64_t n, const topn_sthr *t) {
  const uint64_t pre = str_prefix(s, n);
  if (pre != t->pre) return pre < t->pre ? -1 : 1;
  const int64_t m = n < t->n ? n : t->n;
  const int r = m > 8 ? memcmp(s + 8, t->p + 8, (size_t)(m - 8)) : 0;
  if (r) return r < 0 ? -1 : 1;
  return (n > t->n) - (n < t->n);
}

/* Row i of the first key c0 (a string column, plain or dictionary codes)
 * against the threshold t (NULL: a null threshold), as td_sort_compare
 * orders the first key (nulls last, then bytes, reversed when descending). */
static inline int topn_str_cmp(topn_buf *b, const td_colview *c0, int64_t i, const topn_sthr *t, bool desc) {
  if (!td_colview_valid(c0, i)) return t ? 1 : 0;
  if (!t) return -1;
  int c;
  if (c0->codes) {
    const int32_t e = c0->codes[c0->offset + i];
    if (b->dstamp[e] == b->dgen) {
      c = b->dres[e];
    } else {
      int64_t n;
      const char *s = td_colview_str(&c0->dict->view, e, &n);
      c = str_cmp_thr(s, n, t);
      b->dres[e] = (int8_t)c;
      b->dstamp[e] = b->dgen;
    }
  } else {
    int64_t n;
    const char *s = td_colview_str(c0, i, &n);
    c = str_cmp_thr(s, n, t);
  }
  return desc ? -c : c;
}

static bool is_str_type(td_type_id t) {
  return t == TD_TYPE_UTF8 || t == TD_TYPE_BINARY || t == TD_TYPE_LARGE_UTF8 || t == TD_TYPE_LARGE_BINARY;
}

static int topn_compact(topn_ctx *x, topn_buf *b, td_error *err) {
  const sort_op *op = x->op;
  int64_t nf = x->def->n_fields, n = b->pos.length, m = n < op->limit ? n : op->limit;
  td_colview *v = td_calloc((size_t)nf + 2, sizeof *v);
  td_sort_key *keys = td_calloc((size_t)op->n + 2, sizeof *keys);
  int64_t *perm = td_malloc((size_t)(n + 1) * sizeof *perm);
  td_array *g = td_calloc((size_t)nf + 2, sizeof *g);
  int rc = v && keys && perm && g ? TD_OK : td_err_nomem(err, "keeping the top rows");
  if (rc == TD_OK) {
    for (int64_t i = 0; i < nf; i++) v[i] = td_builder_view(&b->cols[i]);
    v[nf] = td_builder_view(&b->pos);
    for (int64_t k = 0; k < op->n; k++) keys[k] = (td_sort_key){&v[op->cols[k]], op->desc[k]};
    keys[op->n] = (td_sort_key){&v[nf], false};
    rc = td_sort_permutation(keys, op->n + 1, n, perm, err);
  }
  for (int64_t i = 0; rc == TD_OK && i <= nf; i++) {
    rc = td_array_init(&g[i], i < nf ? b->cols[i].type : TD_TYPE_INT64, m, err);
    if (rc == TD_OK) rc = td_array_append_gather(&g[i], &v[i], NULL, perm, m, err);
  }
  if (rc == TD_OK) {
    for (int64_t i = 0; i < nf; i++) {
      td_array_reset(&b->cols[i]);
      b->cols[i] = g[i];
      memset(&g[i], 0, sizeof g[i]);
    }
    td_array_reset(&b->pos);
    b->pos = g[nf];
    memset(&g[nf], 0, sizeof g[nf]);
  }
  if (rc == TD_OK && m == op->limit && m > 0) { /* the threshold: the last row kept */
    for (int64_t k = 0; rc == TD_OK && k < op->n; k++) {
      td_colview cv = td_builder_view(&b->cols[op->cols[k]]);
      td_array_reset(&b->thr[k]);
      rc = td_array_init(&b->thr[k], cv.type, 1, err);
      if (rc == TD_OK) rc = td_array_append_view(&b->thr[k], &cv, m - 1, 1, err);
    }
    b->thr_pos = ((const int64_t *)b->pos.values)[m - 1];
    b->has_thr = rc == TD_OK;
    topn_new_gen(b);
    if (b->has_thr) topn_share(x, b);
  }
  for (int64_t i = 0; g && i <= nf; i++) td_array_reset(&g[i]);
  td_free(g);
  td_free(v);
  td_free(keys);
  td_free(perm);
  return rc;
}

/* Rows i0..i1-1 of one chunk (its row i at position pos + i, or pos +
 * rows[i] when rows, of len, is given) that sort before the threshold, into
 * b->sel (indices into the chunk); the count.  A
 * row tying the threshold on every key sorts before it when its position is
 * smaller (units may come out of position order: topn_unit_order).  When
 * the first key is an int64, timestamp or float64 column without nulls in
 * the chunk, it decides every row it tells apart from the threshold with
 * one typed comparison; only rows equal on it compare the further keys. */
static int64_t topn_candidates(const topn_ctx *x, topn_buf *b, const td_sort_key *ck, int64_t pos,
                               const uint32_t *rows, int64_t len, int64_t i0, int64_t i1) {
  const sort_op *op = x->op;
  int64_t m = 0, rel = b->thr_pos - pos; /* a tie wins at i < rel */
  if (rows) { /* row i at pos + rows[i] (increasing): the ties that win are the rows before rel */
    int64_t lo = 0, hi = len;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo) / 2;
      if ((int64_t)rows[mid] < rel) lo = mid + 1;
      else hi = mid;
    }
    rel = lo;
  }
  if (!b->has_thr) {
    for (int64_t i = i0; i < i1; i++) b->sel[m++] = (uint32_t)i;
    return m;
  }
  td_sort_key tk[64];
  td_colview tv[64];
  for (int64_t k = 0; k < op->n; k++) {
    tv[k] = td_builder_view(&b->thr[k]);
    tk[k] = (td_sort_key){&tv[k], op->desc[k]};
  }
  const td_colview *c0 = ck[0].col;
  const bool more = op->n > 1, desc = op->desc[0];
  bool fast = (!c0->validity || c0->null_count == 0) && td_colview_valid(&tv[0], 0) &&
              (c0->type == TD_TYPE_FLOAT64 || c0->type == TD_TYPE_INT64 || c0->type == TD_TYPE_TIMESTAMP);
  /* c < 0: row i sorts before the threshold on the first key */
#define TOPN_SCAN(CMP)                                                      \
  for (int64_t i = i0; i < i1; i++) {                                       \
    int c = (CMP);                                                          \
    if (desc) c = -c;                                                       \
    if (c == 0 && more) c = td_sort_compare(ck + 1, op->n - 1, i, tk + 1, 0); \
    b->sel[m] = (uint32_t)i;                                                \
    m += c < 0 || (c == 0 && i < rel);                                      \
  }
  /* one key: a branch-free pass, the row's index stored and kept or not */
#define TOPN_ONE(BEATS)                  \
  for (int64_t i = i0; i < i1; i++) {    \
    b->sel[m] = (uint32_t)i;             \
    m += (BEATS);                        \
  }
  if (fast && c0->type == TD_TYPE_FLOAT64) {
    const double *a = (const double *)c0->values + c0->offset, t = td_colview_double(&tv[0], 0);
    if (t != t) fast = false; /* a NaN threshold: the general rule */
    else if (!more && desc) TOPN_ONE((a[i] > t) | (a[i] != a[i]) | ((a[i] == t) & (i < rel))) /* NaN: greatest */
    else if (!more) TOPN_ONE((a[i] < t) | ((a[i] == t) & (i < rel)))
    else TOPN_SCAN(a[i] != a[i] ? 1 : (a[i] > t) - (a[i] < t))
  } else if (fast) {
    const int64_t *a = (const int64_t *)c0->values + c0->offset, t = td_colview_int(&tv[0], 0);
    if (!more && desc) TOPN_ONE((a[i] > t) | ((a[i] == t) & (i < rel)))
    else if (!more) TOPN_ONE((a[i] < t) | ((a[i] == t) & (i < rel)))
    else TOPN_SCAN((a[i] > t) - (a[i] < t))
  }
#undef TOPN_ONE
#undef TOPN_SCAN
  if (fast) return m;
  if (c0->codes || is_str_type(c0->type)) { /* a string first key: prefixes, or a comparison per entry */
    topn_sthr t = {0};
    const bool tnull = !td_colview_valid(&tv[0], 0);
    if (!tnull) {
      t.p = td_colview_str(&tv[0], 0, &t.n);
      t.pre = str_prefix(t.p, t.n);
    }
    const td_dict *d = c0->dict;
    if (c0->codes && !more && !tnull && d->view.length > 0) {
      /* one key, a threshold that is not null: a pass over the codes, an
       * entry compared the first time it comes; a null row never wins
       * (nulls sort last), whatever its code */
      const uint8_t *valid = c0->validity && c0->null_count != 0 ? c0->validity : NULL;
      const int32_t *code = c0->codes + c0->offset;
      const uint32_t gen = b->dgen;
      uint32_t *stamp = b->dstamp, *sel = b->sel;
      int8_t *res = b->dres;
      const int8_t win = desc ? 1 : -1; /* the entry's comparison that beats the threshold */
      for (int64_t i = i0; i < i1; i++) {
        const bool ok = !valid || td_bit_get(valid, c0->offset + i);
        const int32_t e = ok ? code[i] : 0;
        if (stamp[e] != gen) {
          int64_t n;
          const char *p = td_colview_str(&d->view, e, &n);
          res[e] = (int8_t)str_cmp_thr(p, n, &t);
          stamp[e] = gen;
        }
        const int8_t c = res[e];
        sel[m] = (uint32_t)i;
        m += ok & ((c == win) | ((c == 0) & (i < rel)));
      }
      return m;
    }
    for (int64_t i = i0; i < i1; i++) {
      int c = topn_str_cmp(b, c0, i, tnull ? NULL : &t, desc);
      if (c == 0 && more) c = td_sort_compare(ck + 1, op->n - 1, i, tk + 1, 0);
      b->sel[m] = (uint32_t)i;
      m += c < 0 || (c == 0 && i < rel);
    }
    return m;
  }
  for (int64_t i = i0; i < i1; i++) {
    int c = td_sort_compare(ck, op->n, i, tk, 0);
    if (c < 0 || (c == 0 && i < rel)) b->sel[m++] = (uint32_t)i;
  }
  return m;
}

/* Feeds one chunk of rows (per column a view, or consts[c] != NULL a
 * constant; row i at position pos + i, or pos + rows[i] when rows is given:
 * the rows a filter kept, increasing) to worker buffer b, in
 * windows of at most x->cap rows so that the buffer is compacted, and a
 * threshold known, before a large chunk is copied whole. */
static int topn_feed(topn_ctx *x, topn_buf *b, const td_colview *views, const td_value *const *consts, int64_t pos,
                     const uint32_t *rows, int64_t len, td_error *err) {
  const sort_op *op = x->op;
  int64_t nf = x->def->n_fields;
  int rc = TD_OK;
  td_sort_key ck[64];
  td_colview cv[64];
  if (b->sel_cap < len) {
    uint32_t *s = td_realloc(b->sel, (size_t)len * sizeof *s);
    if (!s) return td_err_nomem(err, "keeping the top rows");
    b->sel = s;
    b->sel_cap = len;
  }
  for (int64_t k = 0; rc == TD_OK && k < op->n; k++) {
    int64_t c = op->cols[k];
    if (consts[c]) { /* a partition column: as many copies as rows */
      td_array_reset(&b->cst[k]);
      rc = td_array_init(&b->cst[k], x->def->fields[c].type, len, err);
      if (rc == TD_OK) rc = td_array_append_const(&b->cst[k], consts[c], len, err);
      cv[k] = td_builder_view(&b->cst[k]);
    } else {
      cv[k] = views[c];
    }
    ck[k] = (td_sort_key){&cv[k], op->desc[k]};
  }
  if (rc == TD_OK && cv[0].codes)
    rc = cv[0].dict ? topn_dict_room(b, cv[0].dict, err)
                    : td_err(err, TD_ECONTRACT, "a dictionary-encoded sort key without its dictionary");
  for (int64_t i0 = 0; rc == TD_OK && i0 < len; i0 += x->cap) {
    int64_t m = topn_candidates(x, b, ck, pos, rows, len, i0, len - i0 > x->cap ? i0 + x->cap : len);
    if (m == 0) continue;
    for (int64_t i = 0; rc == TD_OK && i < nf; i++)
      rc = consts[i] ? td_array_append_const(&b->cols[i], consts[i], m, err)
                     : td_array_append_gather(&b->cols[i], &views[i], b->sel, NULL, m, err);
    for (int64_t j = 0; rc == TD_OK && j < m; j++)
      rc = td_array_append_int(&b->pos, pos + (rows ? rows[b->sel[j]] : b->sel[j]), err);
    /* cut to k after every window that added rows: the threshold follows
     * the k-th row seen so far (a stale one lets most rows in, and lets no
     * page be skipped); once it is tight few rows enter, so the sort is
     * short */
    if (rc == TD_OK && b->pos.length > op->limit) rc = topn_compact(x, b, err);
  }
  return rc;
}

static int topn_unit(void *ctx, int worker, int64_t unit, td_scan *sc, td_error *err) {
  (void)unit;
  topn_ctx *x = ctx;
  topn_buf *b = &x->b[worker];
  const td_select_spec *spec = x->op->sel;
  int rc = spec ? td_select_defer(spec, sc, err) : TD_OK; /* late materialization */
  if (!spec && x->codes_col >= 0) td_scan_allow_codes(sc, x->codes_col);
  while (rc == TD_OK) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(sc, &ch, &done, err)) != TD_OK || done) break;
    if (!spec) {
      rc = topn_feed(x, b, ch.views, ch.consts, ch.pos, NULL, ch.length, err);
      continue;
    }
    /* the projected rows of the chunk: positions ch.pos + i keep their order */
    td_dchunk *c = NULL;
    rc = td_select_chunk(spec, &x->scratch[worker], sc, &ch, &c, err);
    for (int64_t i = 0; rc == TD_OK && c && i < c->n_cols; i++)
      b->cptr[i] = c->consts[i].type != TD_TYPE_NONE ? &c->consts[i] : NULL;
    if (rc == TD_OK && c) rc = topn_feed(x, b, c->views, b->cptr, ch.pos, NULL, c->length, err);
    td_dchunk_release(c);
  }
  return rc;
}

/* Late materialization's skip hook: whether rows [row, row + n) of `loc`
 * cannot enter the worker's buffer, from the first key's range in the
 * backend's metadata (column_range: the non-null values).  A page is
 * skipped only when its best value sorts strictly after the threshold: a
 * tie may still win on the next keys, or on its position (units come best
 * first, not in position order).  Nulls sort last, so rows outside the
 * range never win.  NaN sorts
 * greatest and float statistics leave it out: ascending, a NaN row never
 * beats a threshold that is a number (nor ties one); descending, the max
 * bounds the rows only when the backend knows they hold no NaN
 * (column_no_nan), and a NaN threshold is beaten by nothing (with one key:
 * a NaN row ties it) but is tied by NaN rows alone. */
static bool topn_late_skip(void *ctx, const td_location *loc, int64_t row, int64_t n) {
  const struct topn_skip *sk = ctx;
  if (sk->prev && sk->prev(sk->prev_ctx, loc, row, n)) return true; /* no row passes the filter */
  topn_ctx *x = sk->x;
  const topn_buf *b = &x->b[sk->worker];
  td_value t, mn, mx;
  bool own = false;
  if (b->has_thr) {
    td_colview tv = td_builder_view(&b->thr[0]);
    if ((own = td_colview_valid(&tv, 0))) t = td_colview_value(&tv, 0);
  }
  double shared = atomic_load_explicit(&x->shared, memory_order_relaxed);
  if (!own && shared == -INFINITY) return false;
  memset(&mn, 0, sizeof mn);
  memset(&mx, 0, sizeof mx);
  const td_backend *be = &x->src->service->backend;
  const char *name = x->src->def->fields[x->skip_col].name;
  bool desc = x->op->desc[0], fl = td_type_is_float(x->src->def->fields[x->skip_col].type);
  if (own && fl && t.v.f != t.v.f) {
    if (desc) /* only a NaN row can tie a NaN threshold; none beats it */
      return be->vtable->column_no_nan(be->self, loc->provider->key, loc->key, name, row, n);
    own = false; /* ascending, NaN sorts last: any number beats it */
  }
  if (!be->vtable->column_range(be->self, loc->provider->key, loc->key, name, row, n, &mn, &mx)) return false;
  if (mn.is_null || mx.is_null || mn.type == TD_TYPE_NONE || mx.type == TD_TYPE_NONE) return false;
  if (fl != td_type_is_float(mn.type) || (fl && (mn.v.f != mn.v.f || mx.v.f != mx.v.f))) return false;
  bool after = own && (desc ? td_value_compare(&mx, &t) < 0 : td_value_compare(&mn, &t) > 0);
  if (!after && shared > -INFINITY) {
    double d = fl ? (desc ? mx.v.f : mn.v.f) : (double)(desc ? mx.v.i : mn.v.i);
    after = (desc ? d : -d) < shared;
  }
  if (!after) return false;
  return !fl || !desc || be->vtable->column_no_nan(be->self, loc->provider->key, loc->key, name, row, n);
}

/* The order in which a late top-N's key scan takes its units: best first
 * by the first key's range in the metadata (descending: greatest max;
 * ascending: least min), units without a usable range first, ties in
 * position order.  The buffers' threshold then nears its final value after
 * a few units and most pages are skipped (in position order it is the k-th
 * of the rows seen so far).  Out of order, a row tying the threshold on
 * every key wins by its position (topn_candidates).  *out (caller frees) is
 * NULL when there is nothing to order by. */
typedef struct {
  double best; /* the unit's best value, as a double, negated when ascending; +inf: unknown */
  int64_t unit;
} unit_rank;

static int rank_cmp(const void *a, const void *b) {
  const unit_rank *x = a, *y = b;
  if (x->best != y->best) return x->best > y->best ? -1 : 1;
  return (x->unit > y->unit) - (x->unit < y->unit);
}

static int topn_unit_order(const topn_ctx *x, const td_snapshot *snap, const int64_t *bounds, int64_t n_units,
                           int64_t **out, td_error *err) {
  *out = NULL;
  if (x->skip_col < 0 || n_units < 2) return TD_OK;
  unit_rank *r = td_malloc((size_t)n_units * sizeof *r);
  int64_t *order = td_malloc((size_t)n_units * sizeof *order);
  if (!r || !order) {
    td_free(r);
    td_free(order);
    return td_err_nomem(err, "ordering a top-N's scan");
  }
  const td_backend *be = &x->src->service->backend;
  const char *name = x->src->def->fields[x->skip_col].name;
  bool desc = x->op->desc[0];
  for (int64_t u = 0; u < n_units; u++) {
    r[u] = (unit_rank){INFINITY, u};
    int64_t reg_i = td_snapshot_region_of(snap, bounds[u]);
    if (reg_i < 0) continue;
    const td_region *reg = &snap->regions[reg_i];
    int64_t row = bounds[u] - reg->row_begin, n = bounds[u + 1] - bounds[u];
    td_value mn, mx;
    memset(&mn, 0, sizeof mn);
    memset(&mx, 0, sizeof mx);
    if (reg->size == 0 || row < 0 || row + n > reg->size ||
        !be->vtable->column_range(be->self, reg->loc->provider->key, reg->loc->key, name, row, n, &mn, &mx))
      continue;
    const td_value *v = desc ? &mx : &mn;
    if (v->is_null || v->type == TD_TYPE_NONE) continue;
    double d = td_type_is_float(v->type) ? v->v.f : (double)v->v.i; /* only an order: rounding is fine */
    if (d == d) r[u].best = desc ? d : -d;
  }
  qsort(r, (size_t)n_units, sizeof *r, rank_cmp);
  for (int64_t u = 0; u < n_units; u++) order[u] = r[u].unit;
  td_free(r);
  *out = order;
  return TD_OK;
}

/* The source column whose metadata topn_late_skip reads: the first key's,
 * when it is a data column of an integer, temporal or float type (a
 * descending float key only when the backend can tell NaN-free rows) and
 * the backend knows ranges; else -1. */
static int64_t topn_skip_column(const td_table *src, const sort_op *op, int64_t kc0) {
  const td_backend_vtable *vt = src->service->backend.vtable;
  if (!vt->column_range || kc0 < src->n_partition) return -1;
  td_type_id ty = src->def->fields[kc0].type;
  bool ok = td_type_is_integer(ty) || ty == TD_TYPE_UINT8 || ty == TD_TYPE_UINT32 || ty == TD_TYPE_DATE32 ||
            ty == TD_TYPE_DATE64 || td_type_is_timestamp(ty) ||
            (td_type_is_float(ty) && (!op->desc[0] || vt->column_no_nan));
  return ok ? kc0 : -1;
}

/* Late materialization: a unit of the key-only scan.  Key k of chunk rows
 * is scanned column x->sk[k]; rows map one to one to positions. */
static int topn_late_unit(void *ctx, int worker, int64_t unit, td_scan *sc, td_error *err) {
  (void)unit;
  topn_ctx *x = ctx;
  int64_t nk = x->op->n;
  td_colview v[64];
  const td_value *cp[64];
  int rc = TD_OK;
  if (x->skip_col >= 0) { /* pages no row of which can beat the threshold */
    x->skip[worker] = (struct topn_skip){x, worker, sc->skip, sc->skip_ctx};
    sc->skip = topn_late_skip;
    sc->skip_ctx = &x->skip[worker];
  }
  if (x->codes_col >= 0) td_scan_allow_codes(sc, x->codes_col);
  for (int64_t i = 0; x->filter && i < sc->n_cols; i++) td_scan_allow_codes(sc, i); /* the filter runs on codes */
  while (rc == TD_OK) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(sc, &ch, &done, err)) != TD_OK || done) break;
    if (x->filter) { /* the kept rows' keys, gathered, at their own positions */
      td_select_scratch *s = &x->scratch[worker];
      td_batch bt;
      td_batch_of_chunk(s, sc, &ch, &bt);
      int64_t n = 0;
      rc = ensure_sel(s, ch.length, err);
      if (rc == TD_OK) rc = td_expr_select(x->filter, &bt, NULL, 0, s->sel, &n, err);
      td_array *g = x->fkeys[worker];
      for (int64_t k = 0; rc == TD_OK && n > 0 && k < nk; k++) {
        cp[k] = ch.consts[x->sk[k]];
        if (cp[k]) continue;
        td_array_reset(&g[k]);
        rc = td_array_init(&g[k], x->def->fields[k].type, n, err);
        if (rc == TD_OK) rc = td_array_append_gather(&g[k], &ch.views[x->sk[k]], s->sel, NULL, n, err);
        v[k] = td_builder_view(&g[k]);
      }
      if (rc == TD_OK && n > 0) rc = topn_feed(x, &x->b[worker], v, cp, ch.pos, s->sel, n, err);
      continue;
    }
    for (int64_t k = 0; k < nk; k++) {
      v[k] = ch.views[x->sk[k]];
      cp[k] = ch.consts[x->sk[k]];
    }
    rc = topn_feed(x, &x->b[worker], v, cp, ch.pos, NULL, ch.length, err);
  }
  return rc;
}

bool td__expr_volatile(const td_expr *e) {
  if (e->fn && e->fn->is_volatile) return true;
  for (int64_t i = 0; i < e->n_args; i++)
    if (td__expr_volatile(e->args[i])) return true;
  return false;
}

/*
 * Whether a top-N reads only its keys (and its filter's columns) in the
 * scan and fetches the other columns for the k winners alone (late
 * materialization): a source table (a position names a row of a location;
 * a filter's kept rows keep theirs, topn_feed's rows), every key
 * a column (of the source, or a projection item that is a column), k small
 * beside the rows (each winner fetches its page of every other column), and
 * either fewer columns to scan than the full read or a first key whose
 * metadata can skip pages (topn_skip_column: only the late scan skips, so
 * `SELECT price ... ORDER BY price DESC LIMIT 10` takes it too; the winners'
 * columns are then copied from the key buffer).  kc[k]: key k's source column.
 */
static bool topn_late(const td_table *src, const sort_op *op, int64_t rows, int64_t *kc, const bool *in_filter) {
  if (src->kind != TD_TABLE_SOURCE || op->limit < 1 || op->limit > 4096 || op->limit * 64 > rows) return false;
  if (in_filter && td__expr_volatile(op->sel->filter)) return false; /* a winner's row is read again through it */
  int64_t distinct = 0;
  for (int64_t c = 0; in_filter && c < src->def->n_fields; c++) distinct += in_filter[c];
  for (int64_t k = 0; k < op->n; k++) {
    const td_expr *e = op->sel ? op->sel->items[op->cols[k]] : NULL;
    if (e && e->kind != TD_EXPR_COLUMN) return false;
    kc[k] = e ? e->column : op->cols[k];
    bool dup = in_filter && in_filter[kc[k]];
    for (int64_t j = 0; j < k; j++) dup |= kc[j] == kc[k];
    distinct += !dup;
  }
  return distinct < (op->sel ? op->sel->n_cols : src->def->n_fields) || topn_skip_column(src, op, kc[0]) >= 0;
}

/* Late materialization, after the key scan: the winners' rows (positions
 * kb->pos, in their final order, keys kb->cols) of every output column.
 * When every output column is a source column (no projection, or items
 * that are columns), a key column is copied from the buffer and only the
 * other columns are scanned, a row at a time (one page each per winner);
 * otherwise each row is read whole through the projection.  The page cache
 * keeps a page fetched once while it is read.  Each winner's pages are
 * decoded alone (a Parquet page of `id`: a snappy segment), so workers take
 * the winners from a shared counter, each appending its rows to its own
 * columns; the rows are then gathered in winner order, and the error is the
 * one of the first winner that failed, whatever the workers' timing. */
typedef struct fetch_ctx {
  td_table *src;
  td_snapshot *snap;
  const sort_op *op;
  const td_schema *def;
  td_select_scratch *scratch; /* per worker */
  const topn_buf *kb;
  bool direct;
  const int64_t *okey, *at, *scol; /* output i: key buffer column (or -1), else its index in the scan */
  int64_t n_sc, m;
  int workers;
  _Atomic int64_t next;                 /* the next winner to take */
  td_array *cols[TD_PAR_MAX];           /* per worker: the rows it read, of every output column */
  int64_t *slot;                        /* winner j: worker * m + its row there */
  int64_t failed[TD_PAR_MAX];           /* per worker: the winner it failed on (m: none) */
  int rc[TD_PAR_MAX];
  td_error err[TD_PAR_MAX];
} fetch_ctx;

/* Winners [j0, j1) into the columns `cols`. */
static int fetch_run(const fetch_ctx *f, td_select_scratch *scratch, int64_t j0, int64_t j1, td_array *cols,
                     td_error *err) {
  const sort_op *op = f->op;
  int64_t nf = f->def->n_fields;
  int rc = TD_OK;
  for (int64_t j = j0; rc == TD_OK && j < j1; j++) {
    int64_t p = ((const int64_t *)f->kb->pos.values)[j];
    td_scan sc;
    td_chunk ch;
    bool done = true;
    td_dchunk *c = NULL;
    memset(&sc, 0, sizeof sc);
    memset(&ch, 0, sizeof ch);
    if (!f->direct || f->n_sc > 0) {
      rc = f->direct ? td_scan_init(&sc, f->src, f->snap, f->scol, f->n_sc, p, p + 1, err)
                     : td_scan_init(&sc, f->src, f->snap, op->sel ? op->sel->cols : NULL,
                                    op->sel ? op->sel->n_cols : 0, p, p + 1, err);
      if (rc) break;
      for (int64_t i = 0; i < sc.n_cols; i++) td_scan_defer(&sc, i); /* one row: not its pages */
      rc = td_scan_next(&sc, &ch, &done, err);
      if (rc == TD_OK && done) rc = td_err(err, TD_ESTATE, "top-N: row %lld is gone", (long long)p);
      if (rc == TD_OK) rc = td_scan_load_rows(&sc, &ch, 0, ch.length, err);
    }
    if (rc == TD_OK && !f->direct && op->sel) rc = td_select_chunk(op->sel, scratch, &sc, &ch, &c, err);
    if (rc == TD_OK && !f->direct && op->sel && (!c || c->length != 1))
      rc = td_err(err, TD_ESTATE, "top-N: row %lld has no projection", (long long)p);
    for (int64_t i = 0; rc == TD_OK && i < nf; i++) {
      if (f->direct && f->okey[i] >= 0) {
        td_colview kv = td_builder_view(&f->kb->cols[f->okey[i]]);
        rc = td_array_append_view(&cols[i], &kv, j, 1, err);
      } else if (c) {
        rc = c->consts[i].type != TD_TYPE_NONE ? td_array_append_const(&cols[i], &c->consts[i], 1, err)
                                                : td_array_append_view(&cols[i], &c->views[i], 0, 1, err);
      } else {
        int64_t s = f->direct ? f->at[i] : i;
        rc = ch.consts[s] ? td_array_append_const(&cols[i], ch.consts[s], 1, err)
                          : td_array_append_view(&cols[i], &ch.views[s], 0, 1, err);
      }
    }
    td_dchunk_release(c);
    if (!f->direct || f->n_sc > 0) td_scan_release(&sc);
  }
  return rc;
}

static int fetch_worker(void *ctx, int w, td_error *err) {
  (void)err; /* each worker's error is kept with the winner it failed on */
  fetch_ctx *f = ctx;
  f->failed[w] = f->m;
  for (int64_t j, n = 0; (j = atomic_fetch_add(&f->next, 1)) < f->m; n++) {
    td_error_clear(&f->err[w]);
    if ((f->rc[w] = fetch_run(f, &f->scratch[w], j, j + 1, f->cols[w], &f->err[w])) != TD_OK) {
      f->failed[w] = j;
      break;
    }
    f->slot[j] = (int64_t)w * f->m + n;
  }
  return TD_OK;
}

static int topn_fetch_winners(td_table *src, td_snapshot *snap, const sort_op *op, const td_schema *def,
                              td_select_scratch *scratch, int workers, const topn_buf *kb, const int64_t *kc,
                              td_dchunk **out, td_error *err) {
  int64_t nf = def->n_fields, m = kb->pos.length, n_sc = 0;
  fetch_ctx f;
  memset(&f, 0, sizeof f);
  f.src = src;
  f.snap = snap;
  f.op = op;
  f.def = def;
  f.scratch = scratch;
  f.kb = kb;
  f.direct = true;
  f.m = m;
  int64_t *okey = td_malloc((size_t)(nf + 1) * sizeof *okey);
  int64_t *at = td_malloc((size_t)(nf + 1) * sizeof *at);
  int64_t *scol = td_malloc((size_t)(nf + 1) * sizeof *scol);
  int rc = okey && at && scol ? TD_OK : td_err_nomem(err, "keeping the top rows");
  for (int64_t i = 0; rc == TD_OK && f.direct && i < nf; i++) {
    const td_expr *e = op->sel && op->sel->items ? op->sel->items[i] : NULL;
    f.direct = !e || e->kind == TD_EXPR_COLUMN;
    int64_t c = e ? e->column : i;
    okey[i] = -1;
    for (int64_t k = 0; k < op->n; k++)
      if (kc[k] == c) okey[i] = k;
    if (!f.direct || okey[i] >= 0) continue;
    for (at[i] = 0; at[i] < n_sc && scol[at[i]] != c;) at[i]++;
    if (at[i] == n_sc) scol[n_sc++] = c;
  }
  f.okey = okey;
  f.at = at;
  f.scol = scol;
  f.n_sc = n_sc;
  /* nothing to read when every output column is a key: one worker copies */
  f.workers = f.direct && n_sc == 0 ? 1 : td__par_workers(workers, m);
  atomic_init(&f.next, 0);
  td_array *res = td_calloc((size_t)nf + 1, sizeof *res); /* the rows in winner order */
  f.slot = td_malloc((size_t)(m + 1) * sizeof *f.slot);
  if (rc == TD_OK && (!res || !f.slot)) rc = td_err_nomem(err, "keeping the top rows");
  for (int w = 0; rc == TD_OK && w < f.workers; w++) {
    f.cols[w] = w == 0 && f.workers == 1 ? res : td_calloc((size_t)nf + 1, sizeof *f.cols[w]);
    if (!f.cols[w]) rc = td_err_nomem(err, "keeping the top rows");
    for (int64_t i = 0; rc == TD_OK && f.cols[w] != res && i < nf; i++)
      rc = td_array_init(&f.cols[w][i], def->fields[i].type, m / f.workers + 1, err);
    if (rc == TD_OK && w > 0 && op->sel && !scratch[w].cols)
      rc = td_select_scratch_init(&scratch[w], op->sel->n_fields, err);
  }
  for (int64_t i = 0; rc == TD_OK && i < nf; i++) rc = td_array_init(&res[i], def->fields[i].type, m, err);
  if (rc == TD_OK) rc = td__par_run(f.workers, fetch_worker, &f, err);
  int first = -1; /* the worker that failed on the first winner */
  for (int w = 0; rc == TD_OK && w < f.workers; w++)
    if (f.failed[w] < m && (first < 0 || f.failed[w] < f.failed[first])) first = w;
  if (first >= 0) {
    rc = f.rc[first];
    if (err) *err = f.err[first];
  }
  for (int64_t j = 0; rc == TD_OK && f.workers > 1 && j < m; j++)
    for (int64_t i = 0; rc == TD_OK && i < nf; i++) {
      td_colview v = td_builder_view(&f.cols[f.slot[j] / m][i]);
      rc = td_array_append_view(&res[i], &v, f.slot[j] % m, 1, err);
    }
  if (rc == TD_OK) rc = td_dchunk_new(nf, m, out, err);
  for (int64_t i = 0; rc == TD_OK && i < nf; i++) rc = td_dchunk_set_array(*out, i, &res[i], err);
  for (int w = 0; w < f.workers; w++) {
    for (int64_t i = 0; f.cols[w] && f.cols[w] != res && i < nf; i++) td_array_reset(&f.cols[w][i]);
    if (f.cols[w] != res) td_free(f.cols[w]);
  }
  for (int64_t i = 0; res && i < nf; i++) td_array_reset(&res[i]);
  td_free(res);
  td_free(f.slot);
  td_free(okey);
  td_free(at);
  td_free(scol);
  return rc;
}

static int topn_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  sort_op *op = t->op;
  td_table *src = t->source;
  int64_t nf = t->def->n_fields;
  topn_ctx *x = td_calloc(1, sizeof *x);
  if (!x) return td_err_nomem(err, "keeping the top rows");
  x->op = op;
  x->def = t->def;
  x->cap = op->limit * 2 > 4096 ? op->limit * 2 : 4096;
  atomic_init(&x->shared, -INFINITY);
  /* late materialization: the buffers hold the keys (kdef), sorted by kop */
  int64_t kc[64], sk[64], ident[64], n_s = 0;
  td_field kf[64];
  td_schema kdef = {0};
  sort_op kop = *op;
  const td_expr *filter = op->sel ? op->sel->filter : NULL;
  bool *in_filter = filter ? td_calloc((size_t)src->def->n_fields + 1, sizeof *in_filter) : NULL;
  if (filter && (!in_filter || add_columns(filter, in_filter, src->def->n_fields, err) != TD_OK)) {
    td_free(in_filter);
    td_free(x);
    return td_err_nomem(err, "keeping the top rows");
  }
  int64_t *scol_v = td_malloc((size_t)(src->def->n_fields + 64) * sizeof *scol_v); /* the scan's columns */
  bool late = scol_v && topn_late(src, op, d->snap->size, kc, in_filter);
  if (late) {
    int64_t *scols = scol_v; /* the distinct key and filter columns, in increasing order */
    for (int64_t c = 0; in_filter && c < src->def->n_fields; c++)
      if (in_filter[c]) scols[n_s++] = c;
    for (int64_t k = 0; k < op->n; k++) {
      int64_t at = 0;
      while (at < n_s && scols[at] < kc[k]) at++;
      if (at == n_s || scols[at] != kc[k]) {
        memmove(&scols[at + 1], &scols[at], (size_t)(n_s - at) * sizeof *scols);
        scols[at] = kc[k];
        n_s++;
      }
    }
    x->filter = filter;
    for (int64_t k = 0; k < op->n; k++) {
      for (sk[k] = 0; scols[sk[k]] != kc[k];) sk[k]++;
      kf[k] = src->def->fields[kc[k]];
      ident[k] = k;
    }
    kdef.n_fields = op->n;
    kdef.fields = kf;
    kop.cols = ident;
    kop.sel = NULL;
    x->op = &kop;
    x->def = &kdef;
    x->sk = sk;
    x->src = src;
    x->skip_col = topn_skip_column(src, op, kc[0]);
  }
  /* a string first key read by no other key may come as dictionary codes
   * (topn_candidates compares each entry once per threshold); a fused
   * projection's chunks come decoded */
  x->codes_col = -1;
  if (late || !op->sel) {
    int64_t c0 = late ? sk[0] : op->cols[0];
    bool alone = is_str_type((late ? kf[0] : t->def->fields[c0]).type);
    for (int64_t k = 1; k < op->n; k++) alone &= (late ? sk[k] : op->cols[k]) != c0;
    if (alone) x->codes_col = c0;
  }
  const td_schema *bdef = x->def;
  int64_t nb = bdef->n_fields; /* buffer columns */
  int64_t *bounds = NULL, n_units = 0, *order = NULL;
  int workers = 1;
  td_dchunk *c = NULL;
  /* a late scan taken best first keeps its units a page each: grouped, a
   * unit (a location) is read in position order, and its pages are skipped
   * only once the threshold is the k-th of what it read so far */
  bool ranked = late && op->limit > 0 && x->skip_col >= 0;
  int rc = units_plan(t, d->snap, 0, d->snap->size, ranked, &bounds, &n_units, &workers, err);
  if (rc == TD_OK && late && op->limit > 0) rc = topn_unit_order(x, d->snap, bounds, n_units, &order, err);
  if (rc == TD_OK && late && op->limit > 0 && x->skip_col >= 0 && workers > 1) {
    x->best = td_malloc((size_t)op->limit * 2 * sizeof *x->best);
    if (!x->best) rc = td_err_nomem(err, "keeping the top rows");
    else pthread_mutex_init(&x->shared_lock, NULL);
  }
  for (int w = 0; rc == TD_OK && w < workers; w++) rc = topn_buf_init(&x->b[w], bdef, op->n, err);
  for (int w = 0; rc == TD_OK && op->sel && w < workers; w++)
    rc = td_select_scratch_init(&x->scratch[w], op->sel->n_fields, err);
  for (int w = 0; rc == TD_OK && x->filter && w < workers; w++)
    if (!(x->fkeys[w] = td_calloc((size_t)op->n, sizeof *x->fkeys[w]))) rc = td_err_nomem(err, "keeping the top rows");
  if (rc == TD_OK && op->limit > 0 && late)
    rc = run_units(src, d->snap, scol_v, n_s, x->filter ? &op->rf : NULL, bounds, n_units, order, workers,
                   topn_late_unit, x, err);
  else if (rc == TD_OK && op->limit > 0)
    rc = run_units(src, d->snap, op->sel ? op->sel->cols : NULL, op->sel ? op->sel->n_cols : 0,
                   op->sel ? &op->rf : NULL, bounds, n_units, NULL, workers, topn_unit, x, err);
  /* every buffer into the first, then one last compaction */
  topn_buf *b = &x->b[0];
  for (int w = 1; rc == TD_OK && w < workers; w++) {
    for (int64_t i = 0; rc == TD_OK && i <= nb; i++) {
      td_array *from = i < nb ? &x->b[w].cols[i] : &x->b[w].pos, *into = i < nb ? &b->cols[i] : &b->pos;
      td_colview v = td_builder_view(from);
      rc = td_array_append_view(into, &v, 0, v.length, err);
    }
  }
  if (rc == TD_OK) rc = topn_compact(x, b, err);
  if (rc == TD_OK && late) {
    if (op->sel && !x->scratch[0].cols) rc = td_select_scratch_init(&x->scratch[0], op->sel->n_fields, err);
    if (rc == TD_OK) rc = topn_fetch_winners(src, d->snap, op, t->def, x->scratch, t->threads, b, kc, &c, err);
  } else if (rc == TD_OK) {
    rc = td_dchunk_new(nf, b->pos.length, &c, err);
    for (int64_t i = 0; rc == TD_OK && i < nf; i++) rc = td_dchunk_set_array(c, i, &b->cols[i], err);
  }
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, &c, 1, d->version, &out->snap, err);
  out->replaced = true;
  td_dchunk_release(c);
  for (int w = 0; w < TD_PAR_MAX; w++) {
    topn_buf_reset(&x->b[w], nb, op->n);
    td_select_scratch_reset(&x->scratch[w]);
    for (int64_t k = 0; x->fkeys[w] && k < op->n; k++) td_array_reset(&x->fkeys[w][k]);
    td_free(x->fkeys[w]);
  }
  if (x->best) pthread_mutex_destroy(&x->shared_lock);
  td_free(x->best);
  td_free(x);
  td_free(bounds);
  td_free(order);
  td_free(in_filter);
  td_free(scol_v);
  return rc;
}

int td_op_topn(td_table *source, const int64_t *cols, const bool *desc, int64_t n, int64_t limit, td_table **out,
               td_error *err) {
  return td_op_select_topn(source, NULL, NULL, cols, desc, n, limit, out, err);
}

int td_op_select_topn(td_table *source, td_select_spec *spec, const td_schema *def, const int64_t *cols,
                      const bool *desc, int64_t n, int64_t limit, td_table **out, td_error *err) {
  *out = NULL;
  if (limit < 0 || n < 1 || n > 64) {
    if (spec) td_select_spec_reset(spec);
    return limit < 0 ? td_err(err, TD_EINVAL, "LIMIT expects n >= 0, got %lld", (long long)limit)
                     : td_err(err, TD_EINVAL, "a top-N sorts on 1 to 64 columns, got %lld", (long long)n);
  }
  return make_sort(source, spec, def, cols, desc, n, limit, false, out, err);
}
