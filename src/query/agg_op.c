/*
 * query/agg_op.c - the aggregation operator (GROUP BY, DISTINCT, aggregates).
 *
 * Normal mode folds each processed chunk into an incremental td_agg state:
 * keys and aggregate inputs are source columns (shared views), constants, or
 * expressions computed per chunk; an optional filter gives a selection
 * vector, so WHERE + aggregation never materializes the filtered rows.
 *
 * Region mode answers queries whose every referenced column is a partition
 * column from location keys and sizes alone: each location with rows is one
 * constant row, and counts and sums are weighted by the location's size:
 *   count(*) -> sum(size)      count(x) -> sum(x is null ? 0 : size)
 *   sum(x)   -> sum(x * size)  avg(x)   -> sum(x * size) / sum(size if x)
 *   min, max, first, last      -> the same over the constant rows
 * No column data is read in region mode.
 *
 * Statistics mode answers a global min/max of data columns (no key, no
 * filter, a static source, integer and temporal columns only) from each
 * location's column statistics (the backend's column_range); the first
 * location without them turns the operator to normal mode for good.
 *
 * Retraction (normal mode on an ADD_REMOVE source table): the state also
 * keeps a hidden count(*) and, per sum, a hidden count of its input.  When
 * locations are removed, their rows are read back from the source snapshot
 * the state last folded (`prev`: the cycle drops their pages only after
 * every derived table has updated), folded into a state of their own and
 * subtracted (td_agg_retract); groups whose min/max/first/last the removed
 * rows may have held are recomputed from one scan of the new snapshot, and
 * groups with no row left disappear.  If the removed rows cannot be read,
 * the operator recomputes everything.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrow/dict.h"
#include "backend/ranges.h"
#include "query/join.h"
#include "query/ops.h"
#include "query/par.h"
#include "query/prune.h"
#include "query/scalar.h"
#include "query/vec.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

typedef struct agg_op {
  td_agg_plan plan;
  bool region_mode;
  bool stats_mode; /* min/max from column statistics (see stats_fold) */
  int64_t n_fields;
  int64_t *cols; /* source columns read (normal mode) */
  int64_t n_cols;
  /* kernel layout: columns [0, n_keys) keys, then one per kernel aggregate */
  int64_t n_kaggs;
  td_agg_key *kkeys;
  td_agg_spec *kspecs;
  int64_t *kmap; /* region mode: output agg j -> first kernel agg index */
  td_agg *state;
  td_select_scratch scratch;
  td_colview *bcols;
  td_value *bconsts;
  td_array *tmp; /* n_tmp computed inputs */
  struct td_dict **held; /* n_tmp: the dictionaries of keys viewed as codes (bind_key) */
  int64_t n_tmp;
  td_range_filter rf; /* skips pages the filter rejects from metadata */
  /* retraction (see above) */
  bool retracts;
  int64_t rows_k;      /* the hidden count(*) kernel aggregate */
  int64_t *companion;  /* per kernel aggregate: a sum's hidden count, else -1 */
  td_snapshot *prev;   /* the source snapshot the state last folded */
  int64_t rescans;     /* scans for groups to recompute (tests) */
  int64_t fallbacks;   /* removals recomputed whole: removed rows unreadable (tests) */
  /* Over a join not made yet (td__join_pending): the table's source is the
   * join's left table and its chunks are joined and folded one at a time
   * (td__join_fold), the join never made. */
  td_table *join;
} agg_op;

void td_agg_plan_reset(td_agg_plan *p) {
  td_expr_free(p->filter);
  for (int64_t i = 0; i < p->n_keys; i++) {
    td_expr_free(p->keys[i]);
    td_free(p->key_names[i]);
  }
  for (int64_t i = 0; i < p->n_aggs; i++) {
    td_expr_free(p->inputs[i]);
    if (p->inputs2) td_expr_free(p->inputs2[i]);
    td_free(p->agg_names[i]);
    if (p->params) td_free((char *)p->params[i].sep);
  }
  td_free(p->params);
  td_free(p->keys);
  td_free(p->key_names);
  td_free(p->inputs);
  td_free(p->inputs2);
  td_free(p->agg_names);
  td_free(p->kinds);
  memset(p, 0, sizeof *p);
}

static void agg_free(void *v) {
  agg_op *op = v;
  if (!op) return;
  for (int64_t i = 0; op->tmp && i < op->n_tmp; i++) td_array_reset(&op->tmp[i]);
  for (int64_t i = 0; op->held && i < op->n_tmp; i++) td_dict_release(op->held[i]);
  td_free(op->tmp);
  td_free(op->held);
  td_range_filter_reset(&op->rf);
  td_agg_plan_reset(&op->plan);
  td_agg_free(op->state);
  td_select_scratch_reset(&op->scratch);
  td_free(op->cols);
  td_free(op->kkeys);
  td_free(op->kspecs);
  td_free(op->kmap);
  td_free(op->bcols);
  td_free(op->bconsts);
  td_free(op->companion);
  td_table_release(op->join);
  td_snapshot_release(op->prev);
  td_free(op);
}

#define view_of td_builder_view

/* What one worker folds chunks with: its state and scratch (worker 0 uses
 * the operator's own). */
typedef struct agg_worker {
  td_agg *state;
  td_select_scratch *scratch;
  td_colview *bcols;
  td_value *bconsts;
  td_array *tmp;
  struct td_dict **held; /* the dictionary a key's view of codes reads (bind_key) */
} agg_worker;

static agg_worker main_worker(agg_op *op) {
  return (agg_worker){op->state, &op->scratch, op->bcols, op->bconsts, op->tmp, op->held};
}

/* Kernel column k := expression e over batch b (view, constant or computed). */
static int bind_input(agg_worker *w, int64_t k, const td_expr *e, const td_batch *b, td_error *err) {
  if (!e) { /* count(*) */
    w->bconsts[k] = td_value_int(TD_TYPE_INT64, 0);
    return TD_OK;
  }
  if (e->kind == TD_EXPR_COLUMN) {
    if (b->consts[e->column].type != TD_TYPE_NONE) w->bconsts[k] = b->consts[e->column];
    else {
      w->bcols[k] = b->cols[e->column];
      w->bconsts[k].type = TD_TYPE_NONE;
    }
    return TD_OK;
  }
  if (td_expr_all_const(e, b)) { /* not td_expr_eval_row: its node scratch is shared by the workers */
    td_array_reset(&w->tmp[k]);
    return td__expr_eval_const(e, b, &w->tmp[k], &w->bconsts[k], err);
  }
  td_array_reset(&w->tmp[k]);
  int rc = td_expr_eval(e, b, &w->tmp[k], err);
  if (rc) return rc;
  w->bcols[k] = view_of(&w->tmp[k]);
  w->bconsts[k].type = TD_TYPE_NONE;
  return TD_OK;
}

/* Key column k := expression e over batch b: as codes into a dictionary of
 * e's answers when e reads one dictionary column (td__dict_eval_view: the
 * state groups on the codes, one lookup an entry, instead of hashing each
 * row's string), else as bind_input makes it. */
static int bind_key(agg_worker *w, int64_t k, const td_expr *e, const td_batch *b, td_error *err) {
  td_dict_release(w->held[k]);
  w->held[k] = NULL;
  bool done = false;
  if (e && e->kind != TD_EXPR_COLUMN) {
    int rc = td__dict_eval_view(e, b, &w->bcols[k], &w->held[k], &done, err);
    if (rc) return rc;
  }
  if (!done) return bind_input(w, k, e, b, err);
  w->bconsts[k].type = TD_TYPE_NONE;
  return TD_OK;
}

/* The error of an integer sum that left int64, naming the aggregate as the
 * user wrote it ("sum(Size * Price)"). */
static int sum_overflow(const agg_op *op, const td_agg *state, td_error *err) {
  static const char *const names[] = {"?",   "count", "count", "sum",  "min", "max", "avg", "first", "last",
                                      "count", "sum",   "avg",   "approx_count_distinct", "quantile_cont",
                                      "quantile_disc", "string_agg", "string_agg", "any_value", "arg_max", "arg_min", "arg_max_null", "arg_min_null", "product",
                                      "bit_and", "bit_or", "bit_xor", "covar_pop", "covar_samp", "corr",
                                      "regr_slope", "regr_intercept", "regr_r2", "regr_sxx", "regr_syy", "regr_sxy",
                                      "skewness", "kurtosis"};
  int64_t k = td_agg_overflowed(state), j = 0;
  while (j + 1 < op->plan.n_aggs && op->kmap[j + 1] <= k) j++;
  const td_expr *in = op->plan.inputs[j];
  char *text = NULL;
  td_error tmp;
  if (in && td_expr_print(in, &text, &tmp) != TD_OK) text = NULL;
  bool dec = in && in->type == TD_TYPE_DECIMAL128;
  int rc = td_err_at(err, TD_ERANGE, in ? in->pos : -1, "%s overflow in %s(%.200s): the sum does not fit in %s (at offset %lld)",
                     dec ? "decimal" : "integer", names[op->plan.kinds[j]], in ? (text ? text : "?") : "*",
                     dec ? "38 digits" : "int64", (long long)(in ? in->pos : -1));
  td_free(text);
  return rc;
}

static int fold_chunk(agg_op *op, agg_worker *w, const td_scan *sc, const td_chunk *ch, td_error *err) {
  td_batch b;
  td_select_scratch *s = w->scratch;
  td_batch_of_chunk(s, sc, ch, &b);
  const uint32_t *sel = NULL;
  int64_t n = ch->length;
  int rc = TD_OK;
  if (op->plan.filter) {
    if (s->sel_cap < ch->length) {
      uint32_t *ns = td_realloc(s->sel, (size_t)ch->length * sizeof *ns);
      if (!ns) return td_err_nomem(err, "filtering");
      s->sel = ns;
      s->sel_cap = ch->length;
    }
    if ((rc = td_expr_select(op->plan.filter, &b, NULL, 0, s->sel, &n, err)) != TD_OK) return rc;
    if (n == 0) return TD_OK;
    sel = s->sel;
    b.sel = sel; /* inputs of rows the filter dropped cannot fail */
    b.n_sel = n;
  }
  for (int64_t k = 0; rc == TD_OK && k < op->plan.n_keys; k++) rc = bind_key(w, k, op->plan.keys[k], &b, err);
  for (int64_t j = 0; rc == TD_OK && j < op->plan.n_aggs; j++)
    rc = bind_input(w, op->plan.n_keys + j, op->plan.inputs[j], &b, err);
  for (int64_t j = 0; rc == TD_OK && j < op->plan.n_aggs; j++) /* arg_max's values after every input */
    if (op->plan.inputs2 && op->plan.inputs2[j])
      rc = bind_input(w, op->plan.n_keys + op->plan.n_aggs + j, op->plan.inputs2[j], &b, err);
  if (rc) return rc;
  td_batch kb = {ch->length, w->bcols, w->bconsts, NULL, 0};
  rc = td_agg_update(w->state, &kb, sel, n, err);
  return rc == TD_ERANGE && td_agg_overflowed(w->state) >= 0 ? sum_overflow(op, w->state, err) : rc;
}

/* Folds rows [begin, end) of the source snapshot into worker w's state;
 * when `failed` is given, stops early once it is below `unit` (a unit
 * before this one failed: its error is the one reported). */
static int fold_range(agg_op *op, agg_worker *w, td_table *src, td_snapshot *snap, int64_t begin, int64_t end,
                      const _Atomic int64_t *failed, int64_t unit, td_error *err) {
  td_scan sc;
  int rc = td_scan_init(&sc, src, snap, op->cols, op->n_cols, begin, end, err);
  if (rc) return rc;
  /* every input is read through td__vec_load, the filter and the keys */
  for (int64_t i = 0; i < sc.n_cols; i++) td_scan_allow_codes(&sc, i);
  td_range_filter_attach(&op->rf, &sc);
  while (!(failed && atomic_load_explicit(failed, memory_order_relaxed) < unit)) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    if ((rc = fold_chunk(op, w, &sc, &ch, err)) != TD_OK) break;
  }
  td_scan_release(&sc);
  return rc;
}

/* Folds a joined chunk (td__join_fold's callback). */
typedef struct join_fold {
  agg_op *op;
  agg_worker *w;
} join_fold;

static int fold_joined(void *ctx, td_snapshot *snap, td_error *err) {
  join_fold *f = ctx;
  return fold_range(f->op, f->w, f->op->join, snap, 0, snap->size, NULL, 0, err);
}

/* Folds rows [begin, end) of the source snapshot: read, or over a join not
 * made, the left rows joined chunk by chunk. */
static int fold_part(agg_op *op, agg_worker *w, td_table *src, td_snapshot *snap, int64_t begin, int64_t end,
                     const _Atomic int64_t *failed, int64_t unit, td_error *err) {
  if (!op->join) return fold_range(op, w, src, snap, begin, end, failed, unit, err);
  join_fold f = {op, w};
  return td__join_fold(op->join, snap, begin, end, op->cols, op->n_cols, fold_joined, &f, NULL, err);
}

/* ---- parallel folding: runs of units, each its own state, merged in order ----
 *
 * The rows are cut into units (chunks of one location grouped as for scans,
 * td__par_group); worker i starts with run i, a contiguous range of units of
 * about equal rows, and folds them from the front into the run's state.  A
 * worker whose run is done takes the back half of the units left in the run
 * with the most (a new run, with a state of its own), so no worker idles
 * while another has units to go: a range of slower pages (dictionary
 * pages, pages the planning cached) or a worker the machine preempted no
 * longer sets the time.  Each run folds a contiguous range of rows in row
 * order, so merging the runs' states in position order is one state fed
 * every row in order (td_agg_merge).  When the order does not matter
 * (td_agg_plan.unordered) a worker whose run is done takes the back half of
 * the most units left into the state it holds, however many groups it has:
 * no new state, no extra merge, and the workers end together.  A failure
 * stops only units after the failed one, and the error reported is the
 * first failed unit's: the one thread's error. */

enum { AGG_MIN_ROWS = 16384 }; /* rows a worker must have to be worth starting */
enum { AGG_STEAL_ROWS = 8 };      /* rows a steal must take per group of the thief's state (take_unit) */

static atomic_bool agg_skew; /* tests: run 0 starts with every unit */

void td__agg_par_skew(bool on) { atomic_store(&agg_skew, on); }

static _Atomic int64_t runs_merged, shared_steals;
int64_t td__agg_runs_merged(void) { return atomic_load(&runs_merged); }
int64_t td__agg_shared_steals(void) { return atomic_load(&shared_steals); }

typedef struct agg_run {
  int64_t start, next, end; /* units [start, next) taken, [next, end) left (end drops when stolen from) */
  td_agg *state;            /* run 0: the operator's; NULL until the owner makes it */
  bool took;                /* a unit was folded into state (in an unordered steal, maybe not from this range) */
} agg_run;

typedef struct agg_par {
  agg_op *op;
  td_table *src;
  td_snapshot *snap;
  int n;
  bool unordered;           /* steals fold into the thief's state (td_agg_plan.unordered) */
  bool skew;                /* tests (td__agg_par_skew): run 0 has every unit, and worker 0
                               waits for the others to start before it folds */
  _Atomic int started;      /* workers started (skew only) */
  int64_t *bounds, n_units; /* unit u: rows [bounds[u], bounds[u + 1]) */
  agg_run *runs;            /* room for n + n_units: every steal adds one */
  int64_t n_runs;
  pthread_mutex_t lock; /* the runs' next and end, n_runs */
  _Atomic int64_t failed; /* the first unit that failed (n_units: none) */
  int64_t fail_unit[TD_PAR_MAX];
  int rc[TD_PAR_MAX];
  td_error err[TD_PAR_MAX];
  agg_worker w[TD_PAR_MAX];
  td_select_scratch scratch[TD_PAR_MAX];
} agg_par;

/* The parameters of the plan's aggregates (quantiles, separators) into a
 * new state. */
static int set_params(const agg_op *op, td_agg *state, td_error *err) {
  int rc = TD_OK;
  for (int64_t j = 0; rc == TD_OK && op->plan.params && j < op->plan.n_aggs; j++)
    rc = td_agg_set_param(state, op->kmap[j], &op->plan.params[j], err);
  return rc;
}

static int empty_state(agg_op *op, td_agg **out, td_error *err);

/* A new empty partial state of the operator's aggregation (bulk mode). */
static int part_state(agg_op *op, td_agg **out, td_error *err) {
  int rc = empty_state(op, out, err);
  if (rc == TD_OK) td_agg_set_bulk(*out, true);
  return rc;
}

/* The next unit for the worker on run *r (under p->lock): the run's next,
 * or the first of the back half of the units left in the run with the most
 * (*r becomes that new run, *fresh set; unordered: *r's own range becomes
 * those units, its state stays); -1 when no unit is left. */
static int64_t take_unit(agg_par *p, int64_t *r, bool *fresh) {
  int64_t failed = atomic_load(&p->failed);
  agg_run *run = &p->runs[*r];
  *fresh = false;
  if (run->next < run->end && run->next < failed) {
    run->took = true;
    return run->next++;
  }
  int64_t best = -1, most = 0;
  for (int64_t j = 0; j < p->n_runs; j++) {
    int64_t left = (p->runs[j].end < failed ? p->runs[j].end : failed) - p->runs[j].next;
    if (left > most) {
      most = left;
      best = j;
    }
  }
  if (best < 0) return -1;
  int64_t take = (most + 1) / 2, at = p->runs[best].end - take; /* the back of what is left, never past failed */
  if (p->runs[best].end > failed) at = failed - take;
  if (p->unordered) { /* the thief's run becomes those units; its state goes on */
    p->runs[best].end = at;
    run->start = at;
    run->next = at + 1;
    run->end = at + take;
    run->took = true;
    atomic_fetch_add(&shared_steals, 1);
    return at;
  }
  /* A new run's state, and its merge, cost about as much as folding
   * AGG_STEAL_ROWS rows per group the thief's last state held: with many
   * groups (each state holds most of them) a steal of less loses. */
  const td_agg *mine = run->state;
  int64_t groups = mine ? td_agg_group_count(mine) : 0;
  if (groups > 0 && p->bounds[at + take] - p->bounds[at] < AGG_STEAL_ROWS * groups) return -1;
  agg_run *nr = &p->runs[p->n_runs];
  nr->start = at;
  nr->next = at + 1;
  nr->end = at + take;
  nr->state = NULL;
  nr->took = true;
  p->runs[best].end = at;
  *r = p->n_runs++;
  *fresh = true;
  return at;
}

static int agg_par_worker(void *ctx, int i, td_error *err) {
  (void)err; /* each worker's failure is kept with its unit */
  agg_par *p = ctx;
  agg_worker *w = &p->w[i];
  int64_t r = i;
  p->fail_unit[i] = p->n_units;
  if (p->skew) { /* so that the others find units to take however the threads are scheduled (up to 2 s) */
    atomic_fetch_add(&p->started, 1);
    for (int k = 0; i == 0 && k < 20000 && atomic_load(&p->started) < p->n; k++) {
      struct timespec ts = {0, 100000};
      nanosleep(&ts, NULL);
    }
  }
  for (;;) {
    bool fresh;
    pthread_mutex_lock(&p->lock);
    int64_t k = take_unit(p, &r, &fresh);
    pthread_mutex_unlock(&p->lock);
    if (k < 0) break;
    td_error_clear(&p->err[i]);
    int rc = fresh ? part_state(p->op, &p->runs[r].state, &p->err[i]) : TD_OK;
    w->state = p->runs[r].state;
    if (rc == TD_OK)
      rc = fold_part(p->op, w, p->src, p->snap, p->bounds[k], p->bounds[k + 1], &p->failed, k, &p->err[i]);
    if (rc) {
      p->fail_unit[i] = k;
      p->rc[i] = rc;
      int64_t f = atomic_load(&p->failed);
      while (k < f && !atomic_compare_exchange_weak(&p->failed, &f, k)) {
      }
      break;
    }
  }
  return TD_OK;
}

static void agg_worker_free(agg_worker *w, int64_t n_tmp) {
  if (w->scratch) td_select_scratch_reset(w->scratch);
  for (int64_t i = 0; w->tmp && i < n_tmp; i++) td_array_reset(&w->tmp[i]);
  for (int64_t i = 0; w->held && i < n_tmp; i++) td_dict_release(w->held[i]);
  td_free(w->held);
  td_free(w->tmp);
  td_free(w->bcols);
  td_free(w->bconsts);
}

/* The runs' states merged into op->state in position order (run 0 is
 * op->state, the first), then the first failure if any. */
static int agg_par_finish(agg_par *p, td_error *err) {
  agg_op *op = p->op;
  int first = -1;
  for (int i = 0; i < p->n; i++)
    if (p->fail_unit[i] < p->n_units && (first < 0 || p->fail_unit[i] < p->fail_unit[first])) first = i;
  if (first >= 0) {
    if (err) *err = p->err[first];
    return p->rc[first];
  }
  td_agg **sv = td_malloc((size_t)p->n_runs * sizeof *sv);
  int64_t *at = td_malloc((size_t)p->n_runs * sizeof *at); /* the runs merged, by start */
  if (!sv || !at) {
    td_free(sv);
    td_free(at);
    return td_err_nomem(err, "aggregating");
  }
  int64_t m = 0;
  for (int64_t j = 1; j < p->n_runs; j++) { /* the runs that took units, inserted by start */
    if (!p->runs[j].took) continue;
    int64_t i = m++;
    for (; i > 0 && p->runs[at[i - 1]].start > p->runs[j].start; i--) at[i] = at[i - 1];
    at[i] = j;
  }
  for (int64_t j = 0; j < m; j++) sv[j] = p->runs[at[j]].state;
  atomic_fetch_add(&runs_merged, m + 1);
  if (getenv("TD_PAR_TRACE")) /* (docs/DESIGN.md, "Measuring the split") */
    fprintf(stderr, "td agg: %lld units, %lld runs merged\n", (long long)p->n_units, (long long)m + 1);
  int rc = td_agg_merge_all(op->state, sv, (int)m, p->n, err);
  if (rc == TD_ERANGE && td_agg_overflowed(op->state) >= 0) rc = sum_overflow(op, op->state, err);
  td_free(sv);
  td_free(at);
  return rc;
}

/* Folds rows [begin, end) into op->state, with up to t->threads workers. */
static int fold_rows(td_table *t, agg_op *op, td_snapshot *snap, int64_t begin, int64_t end, td_error *err) {
  int rc = op->join ? td__join_fold_ready(op->join, snap->size, err) : TD_OK;
  if (rc) return rc;
  int n = td__par_workers(op->join ? op->join->threads : t->threads, td__par_work(t->source, snap, begin, end, AGG_MIN_ROWS));
  int64_t *bounds = NULL, n_units = 0;
  if (n > 1 && td__par_units(t->source, snap, begin, end, &bounds, &n_units, err) != TD_OK) return TD_ENOMEM;
  if (n > 1) {
    td__par_group(t->source, snap, n, bounds, &n_units);
    if (n_units < n) n = (int)n_units;
  }
  agg_worker w0 = main_worker(op);
  td_agg_set_bulk(op->state, true); /* count(DISTINCT) pairs collected, then set part by part */
  if (n <= 1) {
    td_free(bounds);
    int rf = fold_part(op, &w0, t->source, snap, begin, end, NULL, 0, err);
    int rs = td_agg_settle(op->state, rf ? NULL : err);
    return rf ? rf : rs;
  }
  agg_par *p = td_calloc(1, sizeof *p);
  agg_run *runs = td_calloc((size_t)(n + n_units), sizeof *runs);
  if (!p || !runs) {
    td_free(p);
    td_free(runs);
    td_free(bounds);
    td_agg_settle(op->state, NULL);
    return td_err_nomem(err, "aggregating");
  }
  p->op = op;
  p->src = t->source;
  p->snap = snap;
  p->n = n;
  p->unordered = op->plan.unordered; /* set for static sources only (plan.c) */
  p->bounds = bounds;
  p->n_units = n_units;
  p->runs = runs;
  p->n_runs = n;
  atomic_init(&p->failed, n_units);
  atomic_init(&p->started, 0);
  pthread_mutex_init(&p->lock, NULL);
  bool skew = p->skew = atomic_load(&agg_skew);
  for (int i = 0, u = 0; i < n; i++) { /* run i: the units from about row begin + i / n of the rows */
    int64_t to = i + 1 < n ? begin + (end - begin) / n * (i + 1) + ((end - begin) % n) * (i + 1) / n : end;
    if (skew) to = i == 0 ? end : begin;
    runs[i].start = runs[i].next = u;
    while (u < n_units && (i + 1 == n || bounds[u] < to)) u++;
    runs[i].end = u;
  }
  runs[0].state = op->state;
  p->w[0] = w0;
  for (int i = 1; rc == TD_OK && i < n; i++) {
    agg_worker *w = &p->w[i];
    w->scratch = &p->scratch[i];
    w->bcols = td_calloc((size_t)op->n_tmp + 1, sizeof *w->bcols);
    w->bconsts = td_calloc((size_t)op->n_tmp + 1, sizeof *w->bconsts);
    w->tmp = td_calloc((size_t)op->n_tmp + 1, sizeof *w->tmp);
    w->held = td_calloc((size_t)op->n_tmp + 1, sizeof *w->held);
    rc = w->bcols && w->bconsts && w->tmp && w->held ? TD_OK : td_err_nomem(err, "aggregating");
    if (rc == TD_OK) rc = td_select_scratch_init(w->scratch, op->n_fields, err);
    if (rc == TD_OK) rc = part_state(op, &runs[i].state, err);
  }
  if (rc == TD_OK) rc = td__par_run(n, agg_par_worker, p, err);
  if (rc == TD_OK) rc = agg_par_finish(p, err);
  int rs = td_agg_settle(op->state, rc ? NULL : err);
  if (rc == TD_OK) rc = rs;
  for (int i = 1; i < n; i++) agg_worker_free(&p->w[i], op->n_tmp);
  for (int64_t j = 1; j < p->n_runs; j++) td_agg_free(runs[j].state);
  pthread_mutex_destroy(&p->lock);
  td_free(runs);
  td_free(bounds);
  td_free(p);
  return rc;
}

/* ---- region mode ---- */

/* One constant row per location: keys and weighted aggregate inputs. */
static int fold_regions(agg_op *op, td_table *src, const td_snapshot *snap, td_error *err) {
  td_value *row = td_calloc((size_t)op->n_fields + 1, sizeof *row);
  if (!row) return td_err_nomem(err, "aggregating locations");
  int rc = TD_OK;
  int64_t nk = op->plan.n_keys;
  for (int64_t r = 0; rc == TD_OK && r < snap->n_regions; r++) {
    const td_region *reg = &snap->regions[r];
    if (reg->size == 0) continue;
    for (int64_t c = 0; c < src->n_partition; c++) row[c] = reg->loc->values[c];
    if (op->plan.filter) {
      td_value keep;
      if ((rc = td_expr_eval_row(op->plan.filter, row, &keep, err)) != TD_OK) break;
      if (keep.is_null || !keep.v.b) continue;
    }
    for (int64_t k = 0; rc == TD_OK && k < nk; k++) rc = td_expr_eval_row(op->plan.keys[k], row, &op->bconsts[k], err);
    double w = (double)reg->size;
    for (int64_t j = 0; rc == TD_OK && j < op->plan.n_aggs; j++) {
      int64_t k = nk + op->kmap[j];
      td_value x = td_value_null(TD_TYPE_BOOL);
      if (op->plan.inputs[j] && (rc = td_expr_eval_row(op->plan.inputs[j], row, &x, err)) != TD_OK) break;
      switch (op->plan.kinds[j]) {
        case TD_AGG_COUNT_STAR: op->bconsts[k] = td_value_int(TD_TYPE_INT64, reg->size); break;
        case TD_AGG_COUNT: op->bconsts[k] = td_value_int(TD_TYPE_INT64, x.is_null ? 0 : reg->size); break;
        case TD_AGG_SUM:
        case TD_AGG_AVG:
          if (x.is_null) op->bconsts[k] = td_value_null(op->kspecs[op->kmap[j]].type);
          else if (op->kspecs[op->kmap[j]].type == TD_TYPE_FLOAT64)
            op->bconsts[k] = td_value_double(TD_TYPE_FLOAT64,
                                             (td_type_is_float(x.type) ? x.v.f : (double)x.v.i) * w);
          else if (__builtin_mul_overflow(x.v.i, reg->size, &op->bconsts[k].v.i))
            rc = td__overflow_error(op->plan.inputs[j], err);
          else op->bconsts[k] = td_value_int(TD_TYPE_INT64, op->bconsts[k].v.i);
          if (op->plan.kinds[j] == TD_AGG_AVG)
            op->bconsts[k + 1] = td_value_int(TD_TYPE_INT64, x.is_null ? 0 : reg->size);
          break;
        default: op->bconsts[k] = x; break;
      }
    }
    td_batch kb = {1, op->bcols, op->bconsts, NULL, 0};
    if (rc == TD_OK) rc = td_agg_update(op->state, &kb, NULL, 1, err);
    if (rc == TD_ERANGE && td_agg_overflowed(op->state) >= 0) rc = sum_overflow(op, op->state, err);
  }
  td_free(row);
  return rc;
}

/* Types whose Parquet/Arrow statistics are exact bounds of the non-null
 * values: signed integers, dates, times and timestamps; floats too, where
 * the backend knows the rows hold no NaN (statistics leave NaN out, and it
 * sorts greatest) and the bound is not a zero (writers may give -0 for +0
 * and the reverse: stats_fold checks both).  No strings or binary
 * (truncated statistics), no unsigned (legacy signed order), no decimals. */
static bool stats_exact_type(td_type_id t) {
  switch (t) {
    case TD_TYPE_FLOAT32: case TD_TYPE_FLOAT64:
    case TD_TYPE_INT8: case TD_TYPE_INT16: case TD_TYPE_INT32: case TD_TYPE_INT64:
    case TD_TYPE_TIMESTAMP: case TD_TYPE_TIMESTAMP_S: case TD_TYPE_TIMESTAMP_MS: case TD_TYPE_TIMESTAMP_US:
    case TD_TYPE_DATE32: case TD_TYPE_DATE64: case TD_TYPE_TIME32_S: case TD_TYPE_TIME32_MS:
    case TD_TYPE_TIME64_US: case TD_TYPE_TIME64_NS: return true;
    default: return false;
  }
}

/* Whether statistics mode may answer the plan (TD_MINMAX_STATS=0 turns it
 * off, for measuring). */
static bool stats_plan(const td_agg_plan *p, const td_table *source) {
  const char *env = getenv("TD_MINMAX_STATS");
  if ((env && strcmp(env, "0") == 0) || source->kind != TD_TABLE_SOURCE || source->refreshing || p->filter ||
      p->n_keys > 0 || p->n_aggs == 0 || !source->service->backend.vtable->column_range ||
      !td_backend_exact_ranges(source->service->backend.vtable))
    return false;
  for (int64_t j = 0; j < p->n_aggs; j++) {
    const td_expr *e = p->inputs[j];
    if ((p->kinds[j] != TD_AGG_MIN && p->kinds[j] != TD_AGG_MAX) || !e || e->kind != TD_EXPR_COLUMN ||
        e->column < source->n_partition || !stats_exact_type(e->type))
      return false;
  }
  return true;
}

/* Statistics mode: folds each location's min or max of every aggregate's
 * column; false (the state left partly folded) when a location has none. */
static int stats_fold(agg_op *op, td_table *src, const td_snapshot *snap, bool *known, td_error *err) {
  const td_backend *b = &src->service->backend;
  *known = true;
  int rc = TD_OK;
  for (int64_t r = 0; rc == TD_OK && *known && r < snap->n_regions; r++) {
    const td_region *reg = &snap->regions[r];
    if (reg->size == 0) continue;
    for (int64_t j = 0; *known && j < op->plan.n_aggs; j++) {
      const td_expr *e = op->plan.inputs[j];
      td_value mn, mx;
      memset(&mn, 0, sizeof mn);
      memset(&mx, 0, sizeof mx);
      const char *name = src->def->fields[e->column].name;
      *known = b->vtable->column_range(b->self, reg->loc->provider->key, reg->loc->key, name, 0, reg->size, &mn,
                                       &mx) &&
               !mn.is_null && !mx.is_null && mn.type == e->type && mx.type == e->type;
      const td_value *v = op->plan.kinds[j] == TD_AGG_MIN ? &mn : &mx;
      if (*known && td_type_is_float(e->type)) /* exact without NaN, and not a zero of either sign */
        *known = v->v.f == v->v.f && v->v.f != 0 && b->vtable->column_no_nan &&
                 b->vtable->column_no_nan(b->self, reg->loc->provider->key, reg->loc->key, name, 0, reg->size);
      op->bconsts[op->kmap[j]] = *v;
    }
    td_batch kb = {1, op->bcols, op->bconsts, NULL, 0};
    if (*known) rc = td_agg_update(op->state, &kb, NULL, 1, err);
  }
  return rc;
}

/* Region mode: output arrays from the kernel's (counts of nothing are 0,
 * averages divide). */
static int region_outputs(agg_op *op, td_array *kout, td_array *out, td_error *err) {
  int64_t nk = op->plan.n_keys, n = kout[0].length;
  for (int64_t i = 0; i < nk; i++) {
    out[i] = kout[i];
    memset(&kout[i], 0, sizeof kout[i]);
  }
  int rc = TD_OK;
  for (int64_t j = 0; rc == TD_OK && j < op->plan.n_aggs; j++) {
    td_agg_kind kind = op->plan.kinds[j];
    td_array *src = &kout[nk + op->kmap[j]];
    td_colview v = view_of(src);
    td_type_id t = kind == TD_AGG_COUNT || kind == TD_AGG_COUNT_STAR ? TD_TYPE_INT64
                   : kind == TD_AGG_AVG                              ? TD_TYPE_FLOAT64
                                                                     : src->type;
    if (kind != TD_AGG_COUNT && kind != TD_AGG_COUNT_STAR && kind != TD_AGG_AVG) {
      out[nk + j] = *src;
      memset(src, 0, sizeof *src);
      continue;
    }
    rc = td_array_init(&out[nk + j], t, n, err);
    td_colview cnt = kind == TD_AGG_AVG ? view_of(&kout[nk + op->kmap[j] + 1]) : v;
    for (int64_t g = 0; rc == TD_OK && g < n; g++) {
      if (kind != TD_AGG_AVG) {
        rc = td_array_append_int(&out[nk + j], td_colview_valid(&v, g) ? td_colview_int(&v, g) : 0, err);
      } else if (!td_colview_valid(&v, g) || !td_colview_valid(&cnt, g) || td_colview_int(&cnt, g) == 0) {
        rc = td_array_append_null(&out[nk + j], err);
      } else {
        rc = td_array_append_double(&out[nk + j], td_colview_double(&v, g) / (double)td_colview_int(&cnt, g), err);
      }
    }
  }
  return rc;
}

/* Region mode: what changed between the published result and a new one.
 * When the old groups are the first rows of the new result (same keys, in
 * order) the update is "appended + changed rows"; otherwise "replaced". */
static int diff_results(const td_snapshot *old, const td_dchunk *c, int64_t n_keys, td_op_result *out,
                        td_error *err) {
  int64_t n_old = old->size;
  if (old->n_chunks != 1 || n_old > c->length) return TD_OK; /* replaced */
  const td_dchunk *o = old->chunks[0];
  for (int64_t k = 0; k < n_keys; k++)
    for (int64_t g = 0; g < n_old; g++) {
      td_value a = td_colview_value(&o->views[k], g), b = td_colview_value(&c->views[k], g);
      if (!td_value_equal(&a, &b)) return TD_OK;
    }
  out->changed = td_malloc((size_t)(n_old + 1) * sizeof *out->changed);
  if (!out->changed) return td_err_nomem(err, "comparing results");
  for (int64_t g = 0; g < n_old; g++) {
    bool same = true;
    for (int64_t j = n_keys; same && j < c->n_cols; j++) {
      td_value a = td_colview_value(&o->views[j], g), b = td_colview_value(&c->views[j], g);
      same = td_value_equal(&a, &b) && a.is_null == b.is_null;
    }
    if (!same) out->changed[out->n_changed++] = g;
  }
  out->replaced = false;
  out->appended_from = n_old;
  return TD_OK;
}

/* ---- apply ---- */

/* An empty state of the operator's layout. */
static int empty_state(agg_op *op, td_agg **out, td_error *err) {
  int rc = td_agg_create(op->kkeys, op->plan.n_keys, op->kspecs, op->n_kaggs, out, err);
  if (!rc) rc = set_params(op, *out, err);
  for (int64_t j = 0; !rc && op->plan.inputs2 && j < op->plan.n_aggs; j++) /* bound by fold_chunk after every input */
    if (op->plan.inputs2[j])
      rc = td_agg_set_arg_value(*out, op->kmap[j], op->plan.n_keys + op->plan.n_aggs + j, op->plan.inputs2[j]->type, err);
  for (int64_t j = 0; !rc && j < op->plan.n_aggs; j++) {
    const td_expr *in = op->plan.inputs[j];
    int p, sc;
    if (in && in->type == TD_TYPE_DECIMAL128 && td_dec_params(in->tz, &p, &sc))
      td_agg_set_decimal_scale(*out, op->kmap[j], sc);
  }
  return rc;
}

static int new_state(agg_op *op, td_error *err) {
  td_agg_free(op->state);
  op->state = NULL;
  return empty_state(op, &op->state, err);
}

/* Folds rows [begin, end) of each range of `snap` into a new state *out
 * (fold_rows works on op->state, which is set aside meanwhile). */
static int fold_apart(td_table *t, agg_op *op, td_snapshot *snap, const int64_t *ranges, int64_t n, td_agg **out,
                      td_error *err) {
  td_agg *main = op->state;
  int rc = empty_state(op, &op->state, err);
  for (int64_t i = 0; rc == TD_OK && i < n; i++) rc = fold_rows(t, op, snap, ranges[2 * i], ranges[2 * i + 1], err);
  *out = op->state;
  op->state = main;
  if (rc) {
    td_agg_free(*out);
    *out = NULL;
  }
  return rc;
}

/* Subtracts the rows of the removed regions (as `prev` has them) from the
 * state; *redo lists the groups to recompute from the remaining rows. */
static int retract_removed(td_table *t, agg_op *op, const td_source_delta *d, uint32_t **redo, int64_t *n_redo,
                           td_error *err) {
  *redo = NULL;
  *n_redo = 0;
  if (!op->prev) return td_err(err, TD_ESTATE, "no earlier snapshot to retract rows from");
  for (int64_t k = 0; k < op->n_kaggs; k++) /* distinct, quantile and string_agg states keep values: recompute */
    if (op->kspecs[k].kind > TD_AGG_LAST)
      return td_err(err, TD_EUNSUPPORTED, "aggregate %lld cannot retract rows", (long long)k);
  int64_t *ranges = td_malloc((size_t)d->n_removed * 2 * sizeof *ranges);
  if (!ranges) return td_err_nomem(err, "retracting removed rows");
  int64_t n = 0;
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < d->n_removed; i++) {
    int64_t r = d->removed[i];
    if (r < 0 || r >= op->prev->n_regions)
      rc = td_err(err, TD_ESTATE, "removed region %lld is not in the earlier snapshot", (long long)r);
    else if (op->prev->regions[r].size > 0) {
      ranges[2 * n] = op->prev->regions[r].row_begin;
      ranges[2 * n + 1] = ranges[2 * n] + op->prev->regions[r].size;
      n++;
    }
  }
  td_agg *gone = NULL;
  if (rc == TD_OK) rc = fold_apart(t, op, op->prev, ranges, n, &gone, err);
  td_free(ranges);
  if (rc == TD_OK) rc = td_agg_retract(op->state, gone, op->rows_k, op->companion, redo, n_redo, err);
  td_agg_free(gone);
  return rc;
}

/* Removal: retracts, folds the appended rows, recomputes the groups that
 * need it and drops the empty ones (their old positions in *dropped).
 * Fails only when the result cannot be made; any other problem (removed
 * rows that cannot be read back) recomputes everything. */
static int apply_removal(td_table *t, agg_op *op, const td_source_delta *d, int64_t **dropped, int64_t *n_dropped,
                         bool *fresh, td_error *err) {
  uint32_t *redo = NULL;
  int64_t n_redo = 0;
  td_error tmp;
  td_error_clear(&tmp);
  int rc = retract_removed(t, op, d, &redo, &n_redo, &tmp);
  for (int64_t k = 0; rc == TD_OK && k < d->n_ranges; k++)
    rc = fold_rows(t, op, d->snap, d->ranges[2 * k], d->ranges[2 * k + 1], &tmp);
  if (rc == TD_OK && n_redo > 0) {
    int64_t whole[2] = {0, d->snap->size};
    td_agg *full = NULL;
    op->rescans++;
    rc = fold_apart(t, op, d->snap, whole, 1, &full, &tmp);
    if (rc == TD_OK) rc = td_agg_reset_groups(op->state, full, redo, n_redo, &tmp);
    td_agg_free(full);
  }
  td_free(redo);
  if (rc == TD_OK) rc = td_agg_drop_empty(&op->state, op->rows_k, dropped, n_dropped, &tmp);
  if (rc == TD_OK) return TD_OK;
  /* Recompute everything. */
  op->fallbacks++;
  *fresh = true;
  rc = new_state(op, err);
  if (rc == TD_OK) rc = fold_rows(t, op, d->snap, 0, d->snap->size, err);
  return rc;
}

static int agg_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  agg_op *op = t->op;
  int64_t nk = op->plan.n_keys, nout = nk + op->plan.n_aggs;
  td_snapshot *cur = td_table_snapshot(t);
  int64_t old_groups = cur->size;
  td_snapshot_release(cur);
  bool fresh = d->replaced || op->region_mode || op->stats_mode || (d->n_removed > 0 && !op->retracts);
  int rc = fresh ? new_state(op, err)
           : op->state ? TD_OK
                       : td_err(err, TD_EINVAL, "an aggregation of a static source was applied a second time");
  int64_t *dropped = NULL, n_dropped = 0;
  if (rc == TD_OK && op->region_mode) rc = fold_regions(op, t->source, d->snap, err);
  bool stats_done = false;
  if (rc == TD_OK && op->stats_mode && (rc = stats_fold(op, t->source, d->snap, &stats_done, err)) == TD_OK &&
      !stats_done) { /* a location without statistics: read the data, now and from now on */
    op->stats_mode = false;
    rc = new_state(op, err);
  }
  if (rc == TD_OK && !fresh && d->n_removed > 0) {
    rc = apply_removal(t, op, d, &dropped, &n_dropped, &fresh, err);
  } else if (rc == TD_OK && !op->region_mode && !stats_done) {
    int64_t whole[2] = {0, d->snap->size};
    const int64_t *r = fresh ? whole : d->ranges;
    int64_t nr = fresh ? 1 : d->n_ranges;
    for (int64_t k = 0; rc == TD_OK && k < nr; k++) rc = fold_rows(t, op, d->snap, r[2 * k], r[2 * k + 1], err);
  }
  if (op->retracts) { /* what the state has folded, for the next removal */
    td_snapshot_release(op->prev);
    op->prev = NULL;
    if (rc == TD_OK) {
      op->prev = d->snap;
      atomic_fetch_add(&d->snap->refs, 1);
    }
  }
  int64_t nkout = nk + op->n_kaggs;
  td_array *kout = td_calloc((size_t)nkout + 1, sizeof *kout);
  td_array *res = td_calloc((size_t)nout + 1, sizeof *res);
  /* A static source's aggregation is applied once: its state's key and
   * sum arrays become the result's columns (no copy of a million groups
   * into fresh memory), and the state goes once the chunk is built. */
  const bool once = fresh && !t->refreshing && !op->region_mode && nkout == nout;
  struct ArrowArray *moved = once ? td_calloc((size_t)nout + 1, sizeof *moved) : NULL;
  uint32_t *groups = NULL;
  int64_t n_groups_changed = 0;
  td_dchunk *c = NULL;
  if (rc == TD_OK && (!kout || !res || (once && !moved))) rc = td_err_nomem(err, "aggregating");
  if (rc == TD_OK) rc = once ? td_agg_result_move(op->state, kout, moved, err) : td_agg_result(op->state, kout, err);
  if (rc == TD_OK) {
    if (op->region_mode) rc = region_outputs(op, kout, res, err);
    else
      for (int64_t i = 0; i < nout; i++) {
        res[i] = kout[i];
        memset(&kout[i], 0, sizeof kout[i]);
      }
  }
  /* a fresh result replaces the table: which groups changed is not needed */
  if (rc == TD_OK) rc = td_agg_take_changed(op->state, fresh ? NULL : &groups, &n_groups_changed, err);
  int64_t n_groups = rc == TD_OK ? td_agg_group_count(op->state) : 0; /* no state after a failed new_state */
  if (rc == TD_OK) rc = td_dchunk_new(nout, n_groups, &c, err);
  for (int64_t i = 0; rc == TD_OK && i < nout; i++)
    rc = moved && moved[i].release ? td_dchunk_set_arrow(c, i, res[i].type, &moved[i], err)
                                   : td_dchunk_set_array(c, i, &res[i], err);
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, &c, 1, d->version, &out->snap, err);
  if (rc == TD_OK && op->region_mode && !d->replaced) {
    td_snapshot *prev = td_table_snapshot(t);
    out->replaced = true;
    rc = diff_results(prev, c, nk, out, err);
    td_snapshot_release(prev);
  } else if (rc == TD_OK && n_dropped > 0) { /* positions moved: replaced, naming the rows that left */
    out->replaced = true;
    out->removed = dropped;
    out->n_removed = n_dropped;
    dropped = NULL;
  } else if (rc == TD_OK) {
    out->replaced = fresh;
    out->appended_from = fresh ? 0 : old_groups;
    /* Changed rows: groups that existed before and changed (new groups are
     * the appended positions). */
    if (!fresh && n_groups_changed > 0) {
      out->changed = td_malloc((size_t)n_groups_changed * sizeof *out->changed);
      if (!out->changed) rc = td_err_nomem(err, "aggregating");
      for (int64_t i = 0; rc == TD_OK && i < n_groups_changed; i++)
        if (groups[i] < old_groups) out->changed[out->n_changed++] = groups[i];
    }
  }
  td_dchunk_release(c);
  if (once && rc == TD_OK) { /* its arrays are the result's now */
    td_agg_free(op->state);
    op->state = NULL;
  }
  for (int64_t i = 0; moved && i < nout; i++) td_arrow_array_release(&moved[i]);
  td_free(moved);
  for (int64_t i = 0; kout && i < nkout; i++) td_array_reset(&kout[i]);
  for (int64_t i = 0; res && i < nout; i++) td_array_reset(&res[i]);
  td_free(kout);
  td_free(res);
  td_free(groups);
  td_free(dropped);
  return rc;
}

static const td_op_vtable agg_vt = {agg_apply, agg_free, true};

int64_t td__agg_retract_stats(const td_table *t, int64_t *fallbacks) {
  if (t->op_vt != &agg_vt) return *fallbacks = -1;
  const agg_op *op = t->op;
  *fallbacks = op->fallbacks;
  return op->rescans;
}

/* Whether expression e references only columns < n_partition. */
static bool partition_only(const td_expr *e, int64_t n_partition) {
  if (!e) return true;
  if (td__expr_per_row(e)) return false;
  int64_t cols[64];
  int64_t n = td_expr_columns(e, cols, 64);
  if (n > 64) return false;
  for (int64_t i = 0; i < n; i++)
    if (cols[i] >= n_partition) return false;
  return true;
}

/* The source columns the filter, keys and inputs read. */
static int collect_columns(agg_op *op, td_error *err) {
  const td_agg_plan *p = &op->plan;
  int64_t n_exprs = 1 + p->n_keys + 2 * p->n_aggs;
  bool *have = td_calloc((size_t)op->n_fields + 1, sizeof *have);
  int64_t *cols = td_malloc((size_t)(op->n_fields + 1) * sizeof *cols);
  op->cols = td_malloc((size_t)(op->n_fields + 1) * sizeof *op->cols);
  int rc = have && cols && op->cols ? TD_OK : td_err_nomem(err, "planning an aggregation");
  for (int64_t i = 0; rc == TD_OK && i < n_exprs; i++) {
    const td_expr *e = i == 0                        ? p->filter
                       : i <= p->n_keys              ? p->keys[i - 1]
                       : i <= p->n_keys + p->n_aggs  ? p->inputs[i - 1 - p->n_keys]
                       : p->inputs2                  ? p->inputs2[i - 1 - p->n_keys - p->n_aggs]
                                                     : NULL;
    int64_t n = e ? td_expr_columns(e, cols, op->n_fields + 1) : 0;
    for (int64_t c = 0; c < n && c <= op->n_fields; c++) have[cols[c]] = true;
  }
  for (int64_t c = 0; rc == TD_OK && c < op->n_fields; c++)
    if (have[c]) op->cols[op->n_cols++] = c;
  td_free(have);
  td_free(cols);
  return rc;
}

/* Sets up the kernel layout; region mode may need two kernel aggregates for
 * one output (avg). */
static int layout(agg_op *op, td_error *err) {
  td_agg_plan *p = &op->plan;
  int64_t max_k = p->n_aggs * 2 + 1;
  op->kkeys = td_calloc((size_t)p->n_keys + 1, sizeof *op->kkeys);
  op->kspecs = td_calloc((size_t)max_k, sizeof *op->kspecs);
  op->kmap = td_calloc((size_t)p->n_aggs + 1, sizeof *op->kmap);
  int64_t nb = p->n_keys + max_k;
  op->bcols = td_calloc((size_t)nb, sizeof *op->bcols);
  op->bconsts = td_calloc((size_t)nb, sizeof *op->bconsts);
  op->tmp = td_calloc((size_t)nb, sizeof *op->tmp);
  op->held = td_calloc((size_t)nb, sizeof *op->held);
  op->n_tmp = op->tmp && op->held ? nb : 0;
  if (!op->kkeys || !op->kspecs || !op->kmap || !op->bcols || !op->bconsts || !op->tmp || !op->held)
    return td_err_nomem(err, "planning an aggregation");
  for (int64_t k = 0; k < p->n_keys; k++) op->kkeys[k] = (td_agg_key){k, p->keys[k]->type};
  int64_t n = 0;
  for (int64_t j = 0; j < p->n_aggs; j++) {
    td_type_id in = p->inputs[j] ? p->inputs[j]->type : TD_TYPE_INT64;
    td_agg_kind kind = p->kinds[j];
    op->kmap[j] = n;
    if (op->region_mode) {
      switch (kind) {
        case TD_AGG_COUNT_STAR:
        case TD_AGG_COUNT: kind = TD_AGG_SUM; in = TD_TYPE_INT64; break;
        case TD_AGG_SUM: in = td_type_is_float(in) ? TD_TYPE_FLOAT64 : TD_TYPE_INT64; break;
        case TD_AGG_AVG: kind = TD_AGG_SUM; in = TD_TYPE_FLOAT64; break;
        default: break;
      }
    }
    op->kspecs[n] = (td_agg_spec){kind, p->n_keys + n, in};
    n++;
    if (op->region_mode && p->kinds[j] == TD_AGG_AVG) {
      op->kspecs[n] = (td_agg_spec){TD_AGG_SUM, p->n_keys + n, TD_TYPE_INT64};
      n++;
    }
  }
  if (op->retracts) { /* a hidden count(*), and a hidden count(x) per sum(x) */
    op->companion = td_malloc((size_t)max_k * sizeof *op->companion);
    if (!op->companion) return td_err_nomem(err, "planning an aggregation");
    for (int64_t k = 0; k < max_k; k++) op->companion[k] = -1;
    op->rows_k = n;
    op->kspecs[n] = (td_agg_spec){TD_AGG_COUNT_STAR, p->n_keys + n, TD_TYPE_INT64};
    n++;
    for (int64_t j = 0; j < p->n_aggs; j++)
      if (p->kinds[j] == TD_AGG_SUM) {
        op->companion[op->kmap[j]] = n;
        op->kspecs[n] = (td_agg_spec){TD_AGG_COUNT, op->kspecs[op->kmap[j]].column, op->kspecs[op->kmap[j]].type};
        n++;
      }
  }
  op->n_kaggs = n;
  return TD_OK;
}

int td_op_agg(td_table *source, td_agg_plan *plan, td_table **out, td_error *err) {
  *out = NULL;
  agg_op *op = td_calloc(1, sizeof *op);
  if (!op) {
    td_agg_plan_reset(plan);
    return td_err_nomem(err, "creating an aggregation");
  }
  op->plan = *plan;
  memset(plan, 0, sizeof *plan);
  op->n_fields = source->def->n_fields;
  /* Region mode: a source table and nothing but partition columns. */
  bool region = source->kind == TD_TABLE_SOURCE && partition_only(op->plan.filter, source->n_partition);
  for (int64_t k = 0; region && k < op->plan.n_keys; k++) region = partition_only(op->plan.keys[k], source->n_partition);
  for (int64_t j = 0; region && j < op->plan.n_aggs; j++) region = partition_only(op->plan.inputs[j], source->n_partition);
  /* a location stands for many rows: distinct values are right, quantiles and string_agg are not */
  for (int64_t j = 0; region && j < op->plan.n_aggs; j++)
    region = op->plan.kinds[j] < TD_AGG_QUANTILE_CONT;
  op->region_mode = region;
  op->stats_mode = !region && stats_plan(&op->plan, source);
  op->retracts = !region && source->kind == TD_TABLE_SOURCE && source->refreshing &&
                 source->provider->update_mode == TD_UPDATE_ADD_REMOVE;
  td_schema def;
  td_schema_init(&def);
  int rc = layout(op, err);
  for (int64_t k = 0; rc == TD_OK && k < op->plan.n_keys; k++)
    rc = td_expr_field(op->plan.keys[k], source->def, op->plan.key_names[k], &def, err);
  for (int64_t j = 0; rc == TD_OK && j < op->plan.n_aggs; j++) {
    td_type_id in = op->plan.inputs[j] ? op->plan.inputs[j]->type : TD_TYPE_INT64;
    td_type_id t = td_agg_result_type(op->plan.kinds[j], in);
    if (t == TD_TYPE_NONE)
      rc = td_err_at(err, TD_ETYPE, op->plan.inputs[j] ? op->plan.inputs[j]->pos : -1,
                     "%s cannot aggregate %s values", op->plan.agg_names[j], td_type_name(in));
    else {
      char pbuf[16];
      rc = td_schema_add(&def, op->plan.agg_names[j], t,
                         td_agg_result_param(op->plan.kinds[j], in, op->plan.inputs[j] ? op->plan.inputs[j]->tz : NULL,
                                             pbuf, sizeof pbuf),
                         true, err);
    }
  }
  /* Columns read in normal mode. */
  if (rc == TD_OK && !region) rc = collect_columns(op, err);
  if (rc == TD_OK) rc = td_select_scratch_init(&op->scratch, op->n_fields, err);
  if (rc == TD_OK && !region) rc = td_range_filter_init(&op->rf, op->plan.filter, source, err);
  if (rc) {
    td_schema_reset(&def);
    agg_free(op);
    return rc;
  }
  if (td__join_pending(source)) op->join = td_table_retain(source);
  rc = td_derived_new(op->join ? source->source : source, &def, &agg_vt, op, out, err);
  td_schema_reset(&def);
  return rc;
}
