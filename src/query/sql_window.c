/*
 * query/sql_window.c - SQL window functions: the OVER clause's parser and
 * printer, the planner's extraction of windows (QUALIFY and DISTINCT ON
 * included), and the window operator that computes them.
 *
 * The operator sorts the rows by (PARTITION BY, ORDER BY) (stable, so ties
 * keep arrival order), walks each partition's peer groups and frames, and
 * writes each function's value back at the row's source position.  Frames
 * only grow at both ends as the current row advances, so aggregates slide:
 * sums and counts add the entering rows and subtract the leaving ones,
 * min and max keep a monotone deque.  Semantics follow DuckDB (see
 * src/query/README.md and docs/DESIGN.md).
 */
#include "query/sql_window.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "query/ops.h"
#include "query/sort.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- parsing ---- */

static int not_supported(td_parser *p, const char *what) {
  return td_err_at(p->err, TD_EPARSE, p->tok.pos, "%s is not supported at offset %lld", what, (long long)p->tok.pos);
}

static int add_int(td_parser *p, td_expr *e, int64_t v, int64_t pos) {
  td_expr *l = td__expr_new(TD_EXPR_LITERAL, pos, p->err);
  if (!l) return TD_ENOMEM;
  l->lit = td_value_int(TD_TYPE_INT64, v);
  return td__expr_add(e, l, p->err);
}

static int64_t unit_ns(const char *u) {
  static const char *const names[] = {"nanosecond", "microsecond", "millisecond", "second",
                                      "minute",     "hour",        "day",         "week"};
  static const int64_t ns[] = {1, 1000, 1000000, 1000000000, 60000000000, 3600000000000, 86400000000000,
                               604800000000000};
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
    if (strcmp(u, names[i]) == 0) return ns[i];
  return 0;
}

/* One frame bound: UNBOUNDED PRECEDING (-1), CURRENT ROW (0) or
 * n PRECEDING; `end` for the bound after AND, which must be CURRENT ROW. */
static int parse_bound(td_parser *p, bool rows, bool end, int64_t *n, bool *interval) {
  if (td__accept_kw(p, "UNBOUNDED")) {
    if (td__is_kw(p, "FOLLOWING")) return not_supported(p, "UNBOUNDED FOLLOWING (frames past the current row)");
    if (end) return not_supported(p, "a frame ending before the current row");
    if (!td__accept_kw(p, "PRECEDING")) return td__expected(p, "PRECEDING after UNBOUNDED");
    *n = -1;
    return TD_OK;
  }
  if (td__accept_kw(p, "CURRENT")) {
    if (!td__accept_kw(p, "ROW")) return td__expected(p, "ROW after CURRENT");
    *n = 0;
    return TD_OK;
  }
  int64_t pos = p->tok.pos;
  td_expr *x = NULL;
  int rc = td__parse_unary(p, &x);
  if (rc) return rc;
  bool is_int = x->kind == TD_EXPR_LITERAL && !x->lit.is_null && x->lit.type == TD_TYPE_INT64 && x->lit.v.i >= 0;
  bool is_iv = x->kind == TD_EXPR_CALL && strcmp(x->name, "interval") == 0 && x->n_args == 2 &&
               x->args[0]->kind == TD_EXPR_LITERAL && x->args[0]->lit.type == TD_TYPE_INT64 &&
               x->args[1]->kind == TD_EXPR_LITERAL && x->args[1]->lit.type == TD_TYPE_UTF8;
  if (is_int) *n = x->lit.v.i;
  if (is_iv) *n = x->args[0]->lit.v.i * unit_ns(x->args[1]->lit.v.s.ptr);
  *interval = is_iv;
  td_expr_free(x);
  if (!is_int && !(is_iv && !rows && *n >= 0))
    return td_err_at(p->err, TD_EPARSE, pos,
                     rows ? "expected a non-negative integer before PRECEDING at offset %lld"
                          : "expected a non-negative integer or an INTERVAL before PRECEDING at offset %lld",
                     (long long)pos);
  if (td__is_kw(p, "FOLLOWING")) return not_supported(p, "FOLLOWING (frames past the current row)");
  if (end) return not_supported(p, "a frame ending before the current row");
  if (!td__accept_kw(p, "PRECEDING")) return td__expected(p, "PRECEDING or FOLLOWING");
  return TD_OK;
}

static int parse_frame(td_parser *p, td_expr *e) {
  if (td__is_kw(p, "GROUPS")) return not_supported(p, "GROUPS frames");
  bool rows = td__is_kw(p, "ROWS");
  if (!rows && !td__is_kw(p, "RANGE")) return TD_OK;
  td__next(p);
  int64_t n = 0, end = 0;
  bool iv = false, iv2 = false;
  bool between = td__accept_kw(p, "BETWEEN");
  int rc = parse_bound(p, rows, false, &n, &iv);
  if (!rc && between) {
    if (!td__accept_kw(p, "AND")) return td__expected(p, "AND in the frame");
    rc = parse_bound(p, rows, true, &end, &iv2);
  }
  if (rc) return rc;
  e->args[2]->lit.v.i = rows ? TD_WFRAME_ROWS : TD_WFRAME_RANGE;
  e->args[3]->lit.v.i = n;
  e->args[4]->lit.v.i = iv;
  return TD_OK;
}

/* expr {',' expr} appended to e; *count how many. */
static int parse_list(td_parser *p, td_expr *e, bool order, int64_t *count) {
  for (*count = 0;;) {
    td_expr *x;
    int64_t pos = p->tok.pos;
    int rc = td__parse_expr(p, &x);
    if (!rc) rc = td__expr_add(e, x, p->err);
    if (rc) return rc;
    ++*count;
    if (order) {
      int64_t flags = 0;
      if (td__accept_kw(p, "DESC")) flags |= 1;
      else td__accept_kw(p, "ASC");
      if (td__accept_kw(p, "NULLS")) {
        if (td__accept_kw(p, "FIRST")) flags |= 2;
        else if (!td__accept_kw(p, "LAST")) return td__expected(p, "FIRST or LAST after NULLS");
      }
      if ((rc = add_int(p, e, flags, pos)) != TD_OK) return rc;
    }
    if (p->tok.kind != TK_COMMA) return TD_OK;
    td__next(p);
  }
}

int td__parse_over(td_parser *p, td_expr *e) {
  td__next(p); /* OVER */
  if (p->tok.kind != TK_LPAREN)
    return p->tok.kind == TK_IDENT || p->tok.kind == TK_QIDENT ? not_supported(p, "a named window (OVER name)")
                                                              : td__expected(p, "'(' after OVER");
  td__next(p);
  td_expr *fn = td__expr_new(TD_EXPR_CALL, e->pos, p->err);
  if (!fn) return TD_ENOMEM;
  td_expr tmp = *fn; /* e becomes the "over" node, fn the call */
  *fn = *e;
  *e = tmp;
  e->name = td_strdup("over");
  if (!e->name) {
    td_expr_free(fn);
    return td_err_nomem(p->err, "parsing a window");
  }
  int rc = td__expr_add(e, fn, p->err);
  for (int i = 0; i < 4 && !rc; i++) rc = add_int(p, e, 0, e->pos);
  int64_t np = 0, no = 0;
  if (!rc && td__accept_kw(p, "PARTITION")) {
    rc = td__accept_kw(p, "BY") ? parse_list(p, e, false, &np) : td__expected(p, "BY after PARTITION");
    if (!rc) e->args[1]->lit.v.i = np;
  }
  if (!rc && td__accept_kw(p, "ORDER"))
    rc = td__accept_kw(p, "BY") ? parse_list(p, e, true, &no) : td__expected(p, "BY after ORDER");
  if (!rc) rc = parse_frame(p, e);
  if (!rc && td__is_kw(p, "EXCLUDE")) rc = not_supported(p, "EXCLUDE in a window frame");
  if (!rc && p->tok.kind != TK_RPAREN)
    rc = td__expected(p, no ? "a frame (ROWS or RANGE) or ')'" : "PARTITION BY, ORDER BY, a frame or ')'");
  if (!rc) td__next(p);
  return rc ? rc : td__expr_check_height(e, p->err);
}

static void put_expr(td_strbuf *b, const td_expr *e) {
  char *t = NULL;
  if (!b->rc) b->rc = td_expr_print(e, &t, b->err);
  td__sb_put(b, t ? t : "");
  td_free(t);
}

static void put_int(td_strbuf *b, int64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  td__sb_put(b, buf);
}

void td__print_over(td_strbuf *b, const td_expr *e) {
  td_expr *const *a = e->args;
  int64_t np = a[1]->lit.v.i, kind = a[2]->lit.v.i, n = a[3]->lit.v.i;
  put_expr(b, a[0]);
  td__sb_put(b, " OVER (");
  for (int64_t i = 0; i < np; i++) {
    td__sb_put(b, i ? ", " : "PARTITION BY ");
    put_expr(b, a[5 + i]);
  }
  for (int64_t i = 5 + np; i + 1 < e->n_args; i += 2) {
    td__sb_put(b, i > 5 + np ? ", " : np ? " ORDER BY " : "ORDER BY ");
    put_expr(b, a[i]);
    if (a[i + 1]->lit.v.i & 1) td__sb_put(b, " DESC");
    if (a[i + 1]->lit.v.i & 2) td__sb_put(b, " NULLS FIRST");
  }
  if (kind != TD_WFRAME_DEFAULT) {
    td__sb_put(b, e->n_args > 5 ? " " : "");
    td__sb_put(b, kind == TD_WFRAME_ROWS ? "ROWS BETWEEN " : "RANGE BETWEEN ");
    if (n < 0) td__sb_put(b, "UNBOUNDED");
    else if (a[4]->lit.v.i) td__sb_put(b, "INTERVAL '");
    if (n >= 0) put_int(b, n);
    if (n >= 0 && a[4]->lit.v.i) td__sb_put(b, " nanoseconds'");
    td__sb_put(b, " PRECEDING AND CURRENT ROW");
  }
  td__sb_put(b, ")");
}

/* ---- planning ---- */

struct td_win_set {
  td_expr **over; /* the distinct "over" nodes, owned; column __w<j> */
  int64_t n, cap;
};

void td__window_set_free(td_win_set *w) {
  if (!w) return;
  for (int64_t j = 0; j < w->n; j++) td_expr_free(w->over[j]);
  td_free(w->over);
  td_free(w);
}

int64_t td__window_count(const td_win_set *w) { return w ? w->n : 0; }
const td_expr *td__window_at(const td_win_set *w, int64_t j) { return w->over[j]; }

static bool is_over(const td_expr *e) { return e->kind == TD_EXPR_CALL && strcmp(e->name, "over") == 0; }

static const td_expr *find_over(const td_expr *e) {
  if (is_over(e)) return e;
  for (int64_t i = 0; i < e->n_args; i++) {
    const td_expr *f = find_over(e->args[i]);
    if (f) return f;
  }
  return NULL;
}

static td_expr *wcol(int64_t j, int64_t pos, td_error *err) {
  char name[32];
  snprintf(name, sizeof name, "__w%lld", (long long)j);
  td_expr *c = td__expr_new(TD_EXPR_COLUMN, pos, err);
  if (c && !(c->name = td_strdup(name))) {
    td_expr_free(c);
    td_err_nomem(err, "planning a window");
    return NULL;
  }
  return c;
}

/* Takes the "over" node e into the set (or frees it for an equal one);
 * *j its column. */
static int add_window(td_win_set *w, td_expr *e, int64_t *j, td_error *err) {
  for (int64_t i = 0; i < e->n_args; i++) {
    const td_expr *inner = i ? find_over(e->args[i]) : NULL;
    for (int64_t k = 0; !inner && !i && k < e->args[0]->n_args; k++) inner = find_over(e->args[0]->args[k]);
    if (inner) {
      int64_t pos = inner->pos;
      td_expr_free(e);
      return td_err_at(err, TD_EPARSE, pos, "a window function inside a window is not supported at offset %lld",
                       (long long)pos);
    }
  }
  for (int64_t i = 0; i < w->n; i++)
    if (td_expr_equal(w->over[i], e)) {
      td_expr_free(e);
      *j = i;
      return TD_OK;
    }
  if (w->n == w->cap) {
    int64_t cap = w->cap ? 2 * w->cap : 8;
    td_expr **o = td_realloc(w->over, (size_t)cap * sizeof *o);
    if (!o) {
      td_expr_free(e);
      return td_err_nomem(err, "planning a window");
    }
    w->over = o;
    w->cap = cap;
  }
  w->over[w->n] = e;
  *j = w->n++;
  return TD_OK;
}

static int replace(td_win_set *w, td_expr **slot, td_error *err) {
  td_expr *e = *slot;
  if (!is_over(e)) {
    for (int64_t i = 0; i < e->n_args; i++) {
      int rc = replace(w, &e->args[i], err);
      if (rc) return rc;
    }
    return TD_OK;
  }
  int64_t pos = e->pos, j;
  *slot = NULL;
  int rc = add_window(w, e, &j, err);
  if (rc == TD_OK && !(*slot = wcol(j, pos, err))) rc = TD_ENOMEM;
  return rc;
}

/* row_number() OVER (PARTITION BY DISTINCT ON's keys ORDER BY the query's
 * ORDER BY): DISTINCT ON keeps the rows where it is 1. */
static int distinct_on(td_select *q, td_expr **items, int64_t n_items, td_win_set *w, td_error *err) {
  td_parser p = {.err = err};
  td_expr *e = td__expr_new(TD_EXPR_CALL, q->distinct_on[0]->pos, err);
  td_expr *fn = td__expr_new(TD_EXPR_CALL, q->distinct_on[0]->pos, err);
  int rc = e && fn ? TD_OK : TD_ENOMEM;
  if (rc == TD_OK && (!(e->name = td_strdup("over")) || !(fn->name = td_strdup("row_number"))))
    rc = td_err_nomem(err, "planning DISTINCT ON");
  if (rc == TD_OK) {
    rc = td__expr_add(e, fn, err);
    fn = NULL;
  }
  for (int i = 0; i < 4 && rc == TD_OK; i++) rc = add_int(&p, e, i == 0 ? q->n_distinct_on : 0, e->pos);
  for (int64_t i = 0; rc == TD_OK && i < q->n_distinct_on; i++) {
    td_expr *c;
    rc = td_expr_clone(q->distinct_on[i], &c, err);
    if (rc == TD_OK) rc = td__expr_add(e, c, err);
  }
  for (int64_t i = 0; rc == TD_OK && i < q->n_order_by; i++) {
    const td_expr *o = q->order_by[i].expr;
    if (o->kind == TD_EXPR_LITERAL && !o->lit.is_null && o->lit.type == TD_TYPE_INT64 && o->lit.v.i >= 1 &&
        o->lit.v.i <= n_items)
      o = items[o->lit.v.i - 1];
    td_expr *c;
    rc = td_expr_clone(o, &c, err);
    if (rc == TD_OK) rc = td__expr_add(e, c, err);
    if (rc == TD_OK) rc = add_int(&p, e, (q->order_by[i].desc ? 1 : 0) | (q->order_by[i].nulls_first ? 2 : 0), o->pos);
  }
  td_expr_free(fn);
  int64_t j = -1;
  if (rc == TD_OK) rc = add_window(w, e, &j, err);
  else td_expr_free(e);
  /* QUALIFY (old) AND __w<j> = 1 */
  td_expr *eq = rc == TD_OK ? td__expr_new(TD_EXPR_BINARY, q->distinct_on[0]->pos, err) : NULL;
  td_expr *c = eq ? wcol(j, eq->pos, err) : NULL;
  if (rc == TD_OK) rc = c ? TD_OK : TD_ENOMEM;
  if (rc == TD_OK) {
    eq->op = TD_OP_EQ;
    rc = td__expr_add(eq, c, err);
  }
  if (rc == TD_OK) rc = add_int(&p, eq, 1, eq->pos);
  if (rc == TD_OK && q->qualify) {
    td_expr *and = td__expr_new(TD_EXPR_BINARY, eq->pos, err);
    rc = and ? td__expr_add(and, q->qualify, err) : TD_ENOMEM;
    q->qualify = NULL;
    if (rc == TD_OK) rc = td__expr_add(and, eq, err);
    eq = NULL;
    if (and) and->op = TD_OP_AND;
    if (rc == TD_OK) q->qualify = and;
    else td_expr_free(and);
  } else if (rc == TD_OK) {
    q->qualify = eq;
    eq = NULL;
  }
  td_expr_free(eq);
  return rc;
}

/* QUALIFY may name select items by alias (a column of the source wins). */
static int qualify_aliases(const td_select *q, const td_schema *def, td_expr **slot, td_error *err) {
  td_expr *e = *slot;
  if (e->kind == TD_EXPR_COLUMN && td_schema_find(def, e->name) < 0)
    for (int64_t i = 0; i < q->n_items; i++)
      if (q->items[i].alias && q->items[i].expr && strcmp(q->items[i].alias, e->name) == 0) {
        td_expr *c;
        int rc = td_expr_clone(q->items[i].expr, &c, err);
        if (rc) return rc;
        td_expr_free(e);
        *slot = c;
        return TD_OK;
      }
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = qualify_aliases(q, def, &e->args[i], err);
    if (rc) return rc;
  }
  return TD_OK;
}

int td__window_extract(td_select *q, const td_schema *def, td_expr **items, int64_t n_items, bool aggregate,
                       td_win_set **out, td_error *err) {
  *out = NULL;
  const td_expr *first = q->qualify;
  for (int64_t i = 0; !first && i < n_items; i++) first = find_over(items[i]);
  for (int64_t i = 0; !first && i < q->n_order_by; i++) first = find_over(q->order_by[i].expr);
  if (!first && q->n_distinct_on == 0) return TD_OK;
  if (aggregate) {
    int64_t pos = first == q->qualify && first ? q->qualify_pos : first ? first->pos : q->distinct_on[0]->pos;
    const char *what = !first ? "DISTINCT ON with aggregates or DISTINCT"
                       : first == q->qualify ? "QUALIFY in a query with aggregates or DISTINCT"
                                             : "a window function in a query with aggregates or DISTINCT";
    return td_err_at(err, TD_EPARSE, pos, "%s is not supported at offset %lld", what, (long long)pos);
  }
  td_win_set *w = td_calloc(1, sizeof *w);
  if (!w) return td_err_nomem(err, "planning a window");
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < n_items; i++) rc = replace(w, &items[i], err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_order_by; i++) rc = replace(w, &q->order_by[i].expr, err);
  if (rc == TD_OK && q->qualify) rc = qualify_aliases(q, def, &q->qualify, err);
  if (rc == TD_OK && q->qualify) rc = replace(w, &q->qualify, err);
  if (rc == TD_OK && q->n_distinct_on) rc = distinct_on(q, items, n_items, w, err);
  if (rc) {
    td__window_set_free(w);
    return rc;
  }
  *out = w;
  return TD_OK;
}

/* ---- the window operator ---- */

#define TD_WIN_MAX_KEYS 64

typedef enum wkind {
  W_ROW_NUMBER, W_RANK, W_DENSE_RANK, W_LAG, W_LEAD, W_FIRST, W_LAST,
  W_SUM, W_AVG, W_MIN, W_MAX, W_COUNT, W_COUNT_STAR
} wkind;

enum { F_WHOLE, F_PEERS, F_ROWS, F_RANGE };

typedef struct wfn {
  wkind kind;
  int64_t arg, dflt, offset; /* input columns (-1: none); lag/lead offset */
  int64_t n_keys, n_part;    /* sort keys: partition, then order */
  int64_t keys[TD_WIN_MAX_KEYS];
  bool desc[TD_WIN_MAX_KEYS];
  int frame;
  int64_t n;                 /* F_ROWS: rows before (-1: all); F_RANGE: offset in the key's units */
  int64_t range_col;
  bool range_desc;
  td_type_id out;
} wfn;

typedef struct wop {
  int64_t n_fns;
  wfn *fns;
} wop;

/* Per-partition scratch of one function's pass. */
typedef struct wpass {
  const wfn *f;
  const td_colview *views;
  const int64_t *perm;
  td_sort_key keys[TD_WIN_MAX_KEYS];
  int64_t *idx;     /* value kinds: source row, -1 null, -2 default */
  int64_t *iv;      /* int64 results */
  double *fv;       /* float64 results */
  uint8_t *ok;
  int64_t *dq;      /* min/max deque of sorted positions */
} wpass;

static bool value_kind(wkind k) {
  return k == W_LAG || k == W_LEAD || k == W_FIRST || k == W_LAST || k == W_MIN || k == W_MAX;
}

/* Whether sorted positions a and b tie on keys [from, to). */
static bool ties(const wpass *w, int64_t from, int64_t to, int64_t a, int64_t b) {
  return td_sort_compare(w->keys + from, to - from, w->perm[a], w->keys + from, w->perm[b]) == 0;
}

/* The RANGE frame test: the key of sorted position s is within n of k's. */
static bool in_range(const wpass *w, int64_t s, int64_t k) {
  const td_colview *c = &w->views[w->f->range_col];
  int64_t rs = w->perm[s], rk = w->perm[k];
  if (!td_colview_valid(c, rs)) return false;
  if (c->type == TD_TYPE_FLOAT64 || c->type == TD_TYPE_FLOAT32) {
    double d = td_colview_double(c, rk) - td_colview_double(c, rs);
    return (w->f->range_desc ? -d : d) <= (double)w->f->n;
  }
  __int128 d = (__int128)td_colview_int(c, rk) - td_colview_int(c, rs);
  return (w->f->range_desc ? -d : d) <= w->f->n;
}

/* Compensated (Neumaier) summation: rows entering and leaving a sliding
 * frame leave no drift beyond the last bits. */
static void ksum(double *s, double *c, double x) {
  double t = *s + x;
  *c += fabs(*s) >= fabs(x) ? (*s - t) + x : (x - t) + *s;
  *s = t;
}

/* One partition: sorted positions [ps, pe). */
static void partition(wpass *w, int64_t ps, int64_t pe) {
  const wfn *f = w->f;
  const td_colview *arg = f->arg >= 0 ? &w->views[f->arg] : NULL;
  td_sort_key one = {arg, false};
  bool mx = f->kind == W_MAX;
  int64_t peer_start = ps, peer_end = ps, dense = 0, lo = ps, hi = ps, cnt = 0, isum = 0, head = 0, tail = 0,
          ptr = ps;
  double fsum = 0, comp = 0;
  bool fl = arg && (arg->type == TD_TYPE_FLOAT64 || arg->type == TD_TYPE_FLOAT32);
  for (int64_t k = ps; k < pe; k++) {
    if (k == peer_end) {
      peer_start = k;
      for (peer_end = k + 1; peer_end < pe && ties(w, f->n_part, f->n_keys, k, peer_end);) peer_end++;
      dense++;
    }
    int64_t row = w->perm[k], fs = ps, fe = pe;
    if (f->frame == F_PEERS) fe = peer_end;
    else if (f->frame == F_ROWS) fs = f->n < 0 || k - f->n < ps ? ps : k - f->n, fe = k + 1;
    else if (f->frame == F_RANGE) {
      fe = peer_end;
      if (!td_colview_valid(&w->views[f->range_col], row)) fs = peer_start;
      else {
        while (ptr < k && !in_range(w, ptr, k)) ptr++;
        fs = ptr;
      }
    }
    int64_t v = 0, at = -1;
    bool ok = true;
    switch (f->kind) {
      case W_ROW_NUMBER: v = k - ps + 1; break;
      case W_RANK: v = peer_start - ps + 1; break;
      case W_DENSE_RANK: v = dense; break;
      case W_LAG: at = k - f->offset >= ps ? w->perm[k - f->offset] : f->dflt >= 0 ? -2 : -1; break;
      case W_LEAD: at = k + f->offset < pe ? w->perm[k + f->offset] : f->dflt >= 0 ? -2 : -1; break;
      case W_FIRST: at = fs < fe ? w->perm[fs] : -1; break;
      case W_LAST: at = fs < fe ? w->perm[fe - 1] : -1; break;
      case W_COUNT_STAR: v = fe - fs; break;
      default:
        for (; hi < fe; hi++) { /* rows entering the frame */
          int64_t r = w->perm[hi];
          if (!td_colview_valid(arg, r)) continue;
          cnt++;
          if (f->kind == W_MIN || f->kind == W_MAX) {
            while (tail > head) {
              int c = td_sort_compare(&one, 1, w->perm[w->dq[tail - 1]], &one, r);
              if (mx ? c > 0 : c < 0) break;
              tail--;
            }
            w->dq[tail++] = hi;
          } else if (fl) ksum(&fsum, &comp, td_colview_double(arg, r));
          else isum += td_colview_int(arg, r);
        }
        for (; lo < fs; lo++) { /* rows leaving it */
          int64_t r = w->perm[lo];
          if (!td_colview_valid(arg, r)) continue;
          cnt--;
          if (fl) ksum(&fsum, &comp, -td_colview_double(arg, r));
          else if (f->kind != W_MIN && f->kind != W_MAX) isum -= td_colview_int(arg, r);
        }
        while (tail > head && w->dq[head] < lo) head++;
        if (cnt == 0) fsum = comp = 0, isum = 0; /* no drift once empty */
        if (f->kind == W_COUNT) v = cnt;
        else if (f->kind == W_MIN || f->kind == W_MAX) at = tail > head ? w->perm[w->dq[head]] : -1;
        else if (!cnt) ok = false;
        else if (f->kind == W_AVG) w->fv[row] = (fl ? fsum + comp : (double)isum) / (double)cnt;
        else if (fl) w->fv[row] = fsum + comp;
        else v = isum;
    }
    if (value_kind(f->kind)) w->idx[row] = at;
    else {
      w->ok[row] = ok;
      if (w->iv) w->iv[row] = v;
    }
  }
}

/* A default value of lag/lead as the output type. */
static td_value as_out(td_value v, td_type_id out) {
  if (v.is_null || v.type == out) return v;
  if (out == TD_TYPE_FLOAT64 || out == TD_TYPE_FLOAT32)
    return td_value_double(out, v.type == TD_TYPE_FLOAT64 || v.type == TD_TYPE_FLOAT32 ? v.v.f : (double)v.v.i);
  return td_value_int(out, v.v.i);
}

/* Function f over all n rows (sorted by perm) into the builder a. */
static int run_fn(const wfn *f, const td_colview *views, const int64_t *perm, int64_t n, td_array *a,
                  td_error *err) {
  wpass w;
  memset(&w, 0, sizeof w);
  w.f = f;
  w.views = views;
  w.perm = perm;
  for (int64_t k = 0; k < f->n_keys; k++) w.keys[k] = (td_sort_key){&views[f->keys[k]], f->desc[k]};
  bool val = value_kind(f->kind);
  if (val) w.idx = td_malloc((size_t)(n + 1) * sizeof *w.idx);
  else if (f->out == TD_TYPE_INT64) w.iv = td_malloc((size_t)(n + 1) * sizeof *w.iv);
  else w.fv = td_malloc((size_t)(n + 1) * sizeof *w.fv);
  w.ok = td_malloc((size_t)n + 1);
  w.dq = td_malloc((size_t)(n + 1) * sizeof *w.dq);
  int rc = (w.idx || w.iv || w.fv) && w.ok && w.dq ? TD_OK : td_err_nomem(err, "computing a window");
  for (int64_t ps = 0, pe; rc == TD_OK && ps < n; ps = pe) {
    for (pe = ps + 1; pe < n && ties(&w, 0, f->n_part, ps, pe);) pe++;
    partition(&w, ps, pe);
  }
  if (rc == TD_OK) rc = td_array_init(a, f->out, n, err);
  for (int64_t r = 0; rc == TD_OK && r < n; r++) {
    if (!val) {
      rc = !w.ok[r] ? td_array_append_null(a, err)
           : w.iv   ? td_array_append_int(a, w.iv[r], err)
                    : td_array_append_double(a, w.fv[r], err);
      continue;
    }
    td_value v = w.idx[r] >= 0   ? td_colview_value(&views[f->arg], w.idx[r])
                 : w.idx[r] == -2 ? as_out(td_colview_value(&views[f->dflt], r), f->out)
                                  : td_value_null(f->out);
    rc = v.is_null ? td_array_append_null(a, err) : td_array_append_value(a, &v, err);
  }
  td_free(w.idx);
  td_free(w.iv);
  td_free(w.fv);
  td_free(w.ok);
  td_free(w.dq);
  return rc;
}

static bool same_sort(const wfn *a, const wfn *b) {
  if (a->n_keys != b->n_keys || a->n_part != b->n_part) return false;
  for (int64_t k = 0; k < a->n_keys; k++)
    if (a->keys[k] != b->keys[k] || a->desc[k] != b->desc[k]) return false;
  return true;
}

static int win_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  wop *op = t->op;
  td_table *src = t->source;
  int64_t nf = src->def->n_fields, n = d->snap->size;
  td_array *cols = td_calloc((size_t)nf + 1, sizeof *cols);
  struct ArrowArray *arrs = td_calloc((size_t)nf + 1, sizeof *arrs);
  td_colview *views = td_calloc((size_t)nf + 1, sizeof *views);
  int64_t *perm = td_malloc((size_t)(n + 1) * sizeof *perm);
  td_dchunk *c = NULL;
  int rc = cols && arrs && views && perm ? TD_OK : td_err_nomem(err, "computing a window");
  if (rc == TD_OK) rc = td__read_all(src, d->snap, cols, arrs, views, err);
  if (rc == TD_OK) rc = td_dchunk_new(nf + op->n_fns, n, &c, err);
  for (int64_t j = 0; rc == TD_OK && j < op->n_fns; j++) {
    const wfn *f = &op->fns[j];
    if (j == 0 || !same_sort(f, &op->fns[j - 1])) {
      td_sort_key keys[TD_WIN_MAX_KEYS];
      for (int64_t k = 0; k < f->n_keys; k++) keys[k] = (td_sort_key){&views[f->keys[k]], f->desc[k]};
      rc = td_sort_permutation(keys, f->n_keys, n, perm, err);
    }
    td_array a;
    memset(&a, 0, sizeof a);
    if (rc == TD_OK) rc = run_fn(f, views, perm, n, &a, err);
    if (rc == TD_OK) rc = td_dchunk_set_array(c, nf + j, &a, err);
    td_array_reset(&a);
  }
  for (int64_t i = 0; rc == TD_OK && i < nf; i++) { /* the input's columns, shared */
    td_shared_array *sh;
    rc = td_shared_array_new(&arrs[i], &sh, err);
    if (rc == TD_OK) {
      td_dchunk_set_view(c, i, &views[i], sh);
      td_shared_array_release(sh);
    }
  }
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, &c, 1, d->version, &out->snap, err);
  out->replaced = true;
  td_dchunk_release(c);
  for (int64_t i = 0; cols && i < nf; i++) {
    td_array_reset(&cols[i]);
    if (arrs[i].release) td_arrow_array_release(&arrs[i]);
  }
  td_free(cols);
  td_free(arrs);
  td_free(views);
  td_free(perm);
  return rc;
}

static void win_free(void *p) {
  wop *op = p;
  if (!op) return;
  td_free(op->fns);
  td_free(op);
}

static const td_op_vtable win_vt = {win_apply, win_free, false};

/* ---- building ---- */

/* The hidden input columns of the windows (computed by one projection). */
typedef struct hidden {
  td_expr **items; /* bound */
  char **names;
  int64_t n, cap;
  const td_schema *def;
  int64_t base;    /* the projection's columns before the hidden ones */
} hidden;

/* Binds e over the source as a new hidden column; *col its index in the
 * projection (after the source's columns), *type its type. */
static int hide(hidden *h, const td_expr *e, int64_t *col, td_error *err) {
  if (h->n == h->cap) {
    int64_t cap = 2 * h->cap + 16;
    td_expr **it = td_realloc(h->items, (size_t)cap * sizeof *it);
    if (it) h->items = it;
    char **nm = it ? td_realloc(h->names, (size_t)cap * sizeof *nm) : NULL;
    if (!nm) return td_err_nomem(err, "planning a window");
    h->names = nm;
    h->cap = cap;
  }
  char name[32];
  snprintf(name, sizeof name, "__wx%lld", (long long)h->n);
  h->items[h->n] = NULL;
  if (!(h->names[h->n] = td_strdup(name))) return td_err_nomem(err, "planning a window");
  int rc = td_expr_bind(e, h->def, 0, &h->items[h->n], err);
  h->n++;
  *col = h->base + h->n - 1;
  return rc;
}

/* Fills f from the "over" node e (column indices over the projection). */
static int plan_fn(const td_expr *e, hidden *h, wfn *f, td_error *err) {
  const td_expr *fn = e->args[0];
  static const struct { const char *name; wkind kind; int min, max; } fns[] = {
      {"row_number", W_ROW_NUMBER, 0, 0}, {"rank", W_RANK, 0, 0},        {"dense_rank", W_DENSE_RANK, 0, 0},
      {"lag", W_LAG, 1, 3},               {"lead", W_LEAD, 1, 3},        {"first_value", W_FIRST, 1, 1},
      {"last_value", W_LAST, 1, 1},       {"sum", W_SUM, 1, 1},          {"avg", W_AVG, 1, 1},
      {"mean", W_AVG, 1, 1},              {"min", W_MIN, 1, 1},          {"max", W_MAX, 1, 1},
      {"count", W_COUNT, 1, 1}};
  memset(f, 0, sizeof *f);
  f->arg = f->dflt = -1;
  size_t i = 0;
  while (i < sizeof fns / sizeof *fns && strcmp(fns[i].name, fn->name) != 0) i++;
  if (i == sizeof fns / sizeof *fns) {
    static const char *const later[] = {"ntile", "percent_rank", "cume_dist", "nth_value"};
    for (size_t k = 0; k < sizeof later / sizeof *later; k++)
      if (strcmp(fn->name, later[k]) == 0)
        return td_err_at(err, TD_EPARSE, fn->pos, "the window function %s is not supported at offset %lld",
                         fn->name, (long long)fn->pos);
    return td_err_at(err, TD_EPARSE, fn->pos,
                     "%s() OVER is not supported at offset %lld (window functions: row_number, rank, dense_rank, "
                     "lag, lead, first_value, last_value, sum, avg, min, max, count)",
                     fn->name, (long long)fn->pos);
  }
  f->kind = fns[i].kind;
  if (f->kind == W_COUNT && fn->star) f->kind = W_COUNT_STAR;
  else if (fn->n_args < fns[i].min || fn->n_args > fns[i].max || fn->star)
    return td_err_at(err, TD_ETYPE, fn->pos, "%s() OVER expects %d to %d arguments, found %lld at offset %lld",
                     fn->name, fns[i].min, fns[i].max, (long long)fn->n_args, (long long)fn->pos);
  int rc = TD_OK;
  td_type_id at = TD_TYPE_NONE;
  if (fn->n_args >= 1 && (rc = hide(h, fn->args[0], &f->arg, err)) == TD_OK) at = h->items[h->n - 1]->type;
  if (rc) return rc;
  bool num = at != TD_TYPE_NONE && at != TD_TYPE_BOOL && !td_type_is_varlen(at) && at != TD_TYPE_DECIMAL128 &&
             td_type_unit_ns(at) == 0;
  bool fl = at == TD_TYPE_FLOAT64 || at == TD_TYPE_FLOAT32;
  if ((f->kind == W_SUM || f->kind == W_AVG) && !num)
    return td_err_at(err, TD_ETYPE, fn->pos, "%s() OVER expects a numeric argument, found %s at offset %lld",
                     fn->name, td_type_name(at), (long long)fn->pos);
  f->out = value_kind(f->kind) ? at : f->kind == W_AVG || (f->kind == W_SUM && fl) ? TD_TYPE_FLOAT64 : TD_TYPE_INT64;
  if (f->kind == W_LAG || f->kind == W_LEAD) {
    f->offset = 1;
    const td_expr *o = fn->n_args >= 2 ? fn->args[1] : NULL;
    if (o && (o->kind != TD_EXPR_LITERAL || o->lit.is_null || o->lit.type != TD_TYPE_INT64 || o->lit.v.i < 0))
      return td_err_at(err, TD_ETYPE, o->pos, "%s expects a non-negative integer offset at offset %lld", fn->name,
                       (long long)o->pos);
    if (o) f->offset = o->lit.v.i;
    const td_expr *dv = fn->n_args == 3 ? fn->args[2] : NULL;
    if (dv && !(dv->kind == TD_EXPR_LITERAL && dv->lit.is_null)) {
      if ((rc = hide(h, dv, &f->dflt, err)) != TD_OK) return rc;
      td_type_id dt = h->items[h->n - 1]->type;
      bool dint = dt != TD_TYPE_FLOAT64 && dt != TD_TYPE_FLOAT32 && !td_type_is_varlen(dt) && dt != TD_TYPE_BOOL &&
                  dt != TD_TYPE_DECIMAL128 && td_type_unit_ns(dt) == 0;
      if (dt != at && !(num && dint) && !(fl && dt == TD_TYPE_FLOAT64))
        return td_err_at(err, TD_ETYPE, dv->pos, "%s's default must have the type of its argument (%s), found %s "
                         "at offset %lld", fn->name, td_type_name(at), td_type_name(dt), (long long)dv->pos);
    }
  }
  int64_t np = e->args[1]->lit.v.i, kind = e->args[2]->lit.v.i, n = e->args[3]->lit.v.i;
  int64_t no = (e->n_args - 5 - np) / 2;
  if (np + 2 * no > TD_WIN_MAX_KEYS)
    return td_err_at(err, TD_EPARSE, e->pos, "a window takes at most %d PARTITION BY and ORDER BY keys at offset %lld",
                     TD_WIN_MAX_KEYS / 2, (long long)e->pos);
  for (int64_t k = 0; rc == TD_OK && k < np; k++) rc = hide(h, e->args[5 + k], &f->keys[f->n_keys++], err);
  f->n_part = np;
  for (int64_t k = 0; rc == TD_OK && k < no; k++) {
    const td_expr *o = e->args[5 + np + 2 * k];
    int64_t flags = e->args[6 + np + 2 * k]->lit.v.i;
    if (flags & 2) { /* NULLS FIRST: "o IS NOT NULL" sorts false first */
      td_expr *nn = td__expr_new(TD_EXPR_IS_NULL, o->pos, err), *oc = NULL;
      rc = nn ? td_expr_clone(o, &oc, err) : TD_ENOMEM;
      if (rc == TD_OK) {
        nn->negated = true;
        rc = td__expr_add(nn, oc, err);
      }
      if (rc == TD_OK) rc = hide(h, nn, &f->keys[f->n_keys++], err);
      td_expr_free(nn);
    }
    f->desc[f->n_keys] = flags & 1;
    if (rc == TD_OK) rc = hide(h, o, &f->keys[f->n_keys++], err);
    f->range_col = f->keys[f->n_keys - 1];
    f->range_desc = flags & 1;
  }
  if (rc) return rc;
  f->frame = no == 0 ? F_WHOLE : F_PEERS;
  if (kind == TD_WFRAME_ROWS) {
    f->frame = F_ROWS;
    f->n = n;
  } else if (kind == TD_WFRAME_RANGE && n >= 0) {
    if (no != 1)
      return td_err_at(err, TD_EPARSE, e->pos, "a RANGE frame with an offset needs exactly one ORDER BY "
                       "expression, found %lld at offset %lld", (long long)no, (long long)e->pos);
    td_type_id kt = h->items[f->range_col - h->base]->type;
    int64_t unit = td_type_unit_ns(kt);
    bool iv = e->args[4]->lit.v.i;
    if (td_type_is_varlen(kt) || kt == TD_TYPE_BOOL || kt == TD_TYPE_DECIMAL128 || (iv && unit <= 0) ||
        (!iv && unit > 0 && n > 0))
      return td_err_at(err, TD_ETYPE, e->pos, "a RANGE frame over %s needs %s offset at offset %lld",
                       td_type_name(kt), unit > 0 ? "an INTERVAL" : "a numeric", (long long)e->pos);
    f->frame = F_RANGE;
    f->n = iv ? n / unit : n;
  }
  return TD_OK;
}

/* Marks the source columns e names in used; *all when a name is neither a
 * source column nor a window column (keep every column then). */
static void mark_used(const td_expr *e, const td_schema *def, bool *used, bool *all) {
  if (!e) return;
  if (e->kind == TD_EXPR_COLUMN) {
    int64_t c = td_schema_find(def, e->name);
    if (c >= 0) used[c] = true;
    else if (strncmp(e->name, "__w", 3) != 0) *all = true;
  }
  for (int64_t i = 0; i < e->n_args; i++) mark_used(e->args[i], def, used, all);
}

int td__window_build(td_win_set *w, const td_select *q, td_expr *const *sel, int64_t n_sel, td_table *src,
                     td_expr *filter, td_table **out, td_expr **qualify, td_error *err) {
  *out = NULL;
  *qualify = NULL;
  const td_schema *def = src->def;
  /* the source's columns the rest of the query reads (the window operator
   * materializes what it is given) */
  bool *used = td_calloc((size_t)def->n_fields + 1, sizeof *used), all = false;
  if (!used) {
    td_expr_free(filter);
    return td_err_nomem(err, "planning a window");
  }
  for (int64_t i = 0; i < n_sel; i++) mark_used(sel[i], def, used, &all);
  for (int64_t i = 0; i < q->n_order_by; i++) mark_used(q->order_by[i].expr, def, used, &all);
  mark_used(q->qualify, def, used, &all);
  int64_t nf = 0, *keep = td_calloc((size_t)def->n_fields + 1, sizeof *keep);
  for (int64_t i = 0; keep && i < def->n_fields; i++)
    if (all || used[i]) keep[nf++] = i;
  td_free(used);
  if (!keep) {
    td_expr_free(filter);
    return td_err_nomem(err, "planning a window");
  }
  hidden h = {.def = def, .base = nf};
  wop *op = td_calloc(1, sizeof *op);
  if (op) op->fns = td_calloc((size_t)w->n + 1, sizeof *op->fns);
  int rc = op && op->fns ? TD_OK : td_err_nomem(err, "planning a window");
  for (int64_t j = 0; rc == TD_OK && j < w->n; j++) {
    rc = plan_fn(w->over[j], &h, &op->fns[j], err);
    op->n_fns = j + 1;
  }
  /* the projection: the source's columns, then the hidden ones */
  td_expr **items = td_calloc((size_t)(nf + h.n) + 1, sizeof *items);
  char **names = td_calloc((size_t)(nf + h.n) + 1, sizeof *names);
  if (rc == TD_OK && (!items || !names)) rc = td_err_nomem(err, "planning a window");
  for (int64_t i = 0; rc == TD_OK && i < nf; i++) {
    td_expr *c = td__expr_new(TD_EXPR_COLUMN, 0, err);
    if (c && !(c->name = td_strdup(def->fields[keep[i]].name))) rc = td_err_nomem(err, "planning a window");
    if (rc == TD_OK) rc = c ? td_expr_bind(c, def, 0, &items[i], err) : TD_ENOMEM;
    td_expr_free(c);
    names[i] = def->fields[keep[i]].name;
  }
  for (int64_t i = 0; rc == TD_OK && i < h.n; i++) {
    items[nf + i] = h.items[i];
    names[nf + i] = h.names[i];
    h.items[i] = NULL;
  }
  td_table *pre = NULL;
  if (rc == TD_OK) {
    rc = td__sql_project(src, filter, items, nf + h.n, names, &pre, err);
    items = NULL;
    filter = NULL;
  }
  td_schema odef;
  td_schema_init(&odef);
  if (rc == TD_OK) rc = td_schema_copy(pre->def, &odef, err);
  for (int64_t j = 0; rc == TD_OK && j < op->n_fns; j++) {
    char name[32];
    snprintf(name, sizeof name, "__w%lld", (long long)j);
    const wfn *f = &op->fns[j];
    const td_field *in = f->arg >= 0 ? &pre->def->fields[f->arg] : NULL;
    rc = td_schema_add(&odef, name, f->out, in && in->type == f->out ? in->tz : NULL, true, err);
  }
  td_table *t = NULL;
  if (rc == TD_OK && op->n_fns == 0) { /* QUALIFY without windows */
    t = pre;
    pre = NULL;
    win_free(op);
  } else if (rc == TD_OK) {
    rc = td_derived_new(pre, &odef, &win_vt, op, &t, err);
  } else {
    win_free(op);
  }
  op = NULL;
  td_schema_reset(&odef);
  if (rc == TD_OK && q->qualify) rc = td_expr_bind(q->qualify, t->def, 0, qualify, err);
  if (rc == TD_OK && *qualify && (*qualify)->type != TD_TYPE_BOOL)
    rc = td_err_at(err, TD_ETYPE, q->qualify->pos, "QUALIFY expects a bool condition, found %s at offset %lld",
                   td_type_name((*qualify)->type), (long long)q->qualify->pos);
  if (items)
    for (int64_t i = 0; i < nf + h.n; i++) td_expr_free(items[i]);
  td_free(items);
  td_free(names); /* borrowed names */
  td_free(keep);
  for (int64_t i = 0; i < h.n; i++) {
    td_expr_free(h.items[i]);
    td_free(h.names[i]);
  }
  td_free(h.items);
  td_free(h.names);
  td_expr_free(filter);
  td_table_release(pre);
  if (rc) {
    td_expr_free(*qualify);
    *qualify = NULL;
    td_table_release(t);
    return rc;
  }
  *out = t;
  return TD_OK;
}
