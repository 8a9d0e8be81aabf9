/*
 * query/sql_window.c - SQL window functions: the OVER clause's parser and
 * printer, the planner's extraction of windows (QUALIFY and DISTINCT ON
 * included), and the window operator that computes them.
 *
 * The operator puts the rows in (PARTITION BY, ORDER BY) order (each
 * partition found by hashing and sorted alone, query/win_part.c; stable, so
 * ties keep arrival order), walks each partition's peer groups and frames
 * (partitions shared among workers), and
 * writes each function's value back at the row's source position.  Frames
 * only grow at both ends as the current row advances, so aggregates slide:
 * sums and counts add the entering rows and subtract the leaving ones,
 * min and max keep a monotone deque.  Semantics follow DuckDB (see
 * src/query/README.md and docs/DESIGN.md).  On a live source each
 * partition keeps its rows and walk state, so appended rows that sort after
 * their partition's last are computed alone (O(appended x window)); other
 * changes recompute.
 */
#include "query/sql_window.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "query/firstrow.h"
#include "query/ops.h"
#include "query/par.h"
#include "query/sort.h"
#include "query/win_codes.h"
#include "query/win_part.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- parsing ---- */

static bool is_over(const td_expr *e) { return e->kind == TD_EXPR_CALL && strcmp(e->name, "over") == 0; }

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

/* A frame bound's kind. */
enum { BD_UNB_PREC, BD_PREC, BD_CUR, BD_FOLL, BD_UNB_FOLL };

/* One frame bound: *kind (BD_*), *n its offset (n PRECEDING / FOLLOWING),
 * *interval when n is an interval in nanoseconds (RANGE only). */
static int parse_bound(td_parser *p, bool rows, int *kind, int64_t *n, bool *interval) {
  *n = 0;
  *interval = false;
  if (td__accept_kw(p, "UNBOUNDED")) {
    *kind = td__accept_kw(p, "FOLLOWING") ? BD_UNB_FOLL : BD_UNB_PREC;
    if (*kind == BD_UNB_PREC && !td__accept_kw(p, "PRECEDING")) return td__expected(p, "PRECEDING or FOLLOWING after UNBOUNDED");
    return TD_OK;
  }
  if (td__accept_kw(p, "CURRENT")) {
    if (!td__accept_kw(p, "ROW")) return td__expected(p, "ROW after CURRENT");
    *kind = BD_CUR;
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
  if (is_iv && unit_ns(x->args[1]->lit.v.s.ptr) == 0) { /* months are no fixed length */
    td_expr_free(x);
    return td_err_at(p->err, TD_EPARSE, pos, "an interval of months or years in a frame is not supported at offset %lld",
                     (long long)pos);
  }
  if (is_iv && __builtin_mul_overflow(x->args[0]->lit.v.i, unit_ns(x->args[1]->lit.v.s.ptr), n)) *n = -1;
  *interval = is_iv;
  td_expr_free(x);
  if (!is_int && !(is_iv && !rows && *n >= 0))
    return td_err_at(p->err, TD_EPARSE, pos,
                     rows ? "expected a non-negative integer before PRECEDING or FOLLOWING at offset %lld"
                          : "expected a non-negative integer or an INTERVAL before PRECEDING or FOLLOWING at offset %lld",
                     (long long)pos);
  if (td__accept_kw(p, "FOLLOWING")) *kind = BD_FOLL;
  else if (td__accept_kw(p, "PRECEDING")) *kind = BD_PREC;
  else return td__expected(p, "PRECEDING or FOLLOWING");
  return TD_OK;
}

static int frame_error(td_parser *p, int64_t pos, const char *what) {
  return td_err_at(p->err, TD_EPARSE, pos, "%s at offset %lld", what, (long long)pos);
}

/* [ROWS | RANGE] bound | BETWEEN bound AND bound, into e's args[2..4]
 * (sql_window.h). */
static int parse_frame(td_parser *p, td_expr *e) {
  if (td__is_kw(p, "GROUPS")) return not_supported(p, "GROUPS frames");
  bool rows = td__is_kw(p, "ROWS");
  if (!rows && !td__is_kw(p, "RANGE")) return TD_OK;
  td__next(p);
  int64_t n = 0, n2 = 0, pos = p->tok.pos, pos2 = pos;
  int k1, k2 = BD_CUR;
  bool iv = false, iv2 = false;
  bool between = td__accept_kw(p, "BETWEEN");
  pos = pos2 = p->tok.pos;
  int rc = parse_bound(p, rows, &k1, &n, &iv);
  if (!rc && between) {
    if (!td__accept_kw(p, "AND")) return td__expected(p, "AND in the frame");
    pos2 = p->tok.pos;
    rc = parse_bound(p, rows, &k2, &n2, &iv2);
  }
  if (rc) return rc;
  if (k1 == BD_UNB_FOLL) return frame_error(p, pos, "a frame cannot start at UNBOUNDED FOLLOWING");
  if (k2 == BD_UNB_PREC) return frame_error(p, pos2, "a frame cannot end at UNBOUNDED PRECEDING");
  if (k1 == BD_FOLL && !between) return frame_error(p, pos, "a frame starting from a following row cannot end with the current row");
  if (k1 == BD_FOLL && (k2 == BD_CUR || k2 == BD_PREC))
    return frame_error(p, pos2, "a frame starting from a following row cannot have preceding rows");
  if (k1 == BD_CUR && k2 == BD_PREC) return frame_error(p, pos2, "a frame starting from the current row cannot have preceding rows");
  if (!rows && k1 == BD_FOLL) return frame_error(p, pos, "a RANGE frame starting at n FOLLOWING is not supported");
  if (!rows && k2 == BD_PREC) return frame_error(p, pos2, "a RANGE frame ending at n PRECEDING is not supported");
  int start = k1 == BD_FOLL ? TD_WB_FOLLOWING : TD_WB_DEFAULT;
  int stop = k2 == BD_FOLL ? TD_WB_FOLLOWING : k2 == BD_UNB_FOLL ? TD_WB_UNBOUNDED : k2 == BD_PREC ? TD_WB_PRECEDING
                                                                                                    : TD_WB_DEFAULT;
  e->args[2]->lit.v.i = (rows ? TD_WFRAME_ROWS : TD_WFRAME_RANGE) | (iv ? TD_WF_START_IV : 0) |
                        (iv2 ? TD_WF_END_IV : 0) | (int64_t)start << 8 | (int64_t)stop << 12;
  e->args[3]->lit.v.i = k1 == BD_UNB_PREC ? -1 : k1 == BD_CUR ? 0 : n;
  e->args[4]->lit.v.i = n2;
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

/* The call e becomes the "over" node holding it, with np, frame and offsets 0. */
static int make_over(td_parser *p, td_expr *e) {
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
  return rc;
}

/* '(' [PARTITION BY ...] [ORDER BY ...] [frame] ')' after the call e, which
 * becomes the "over" node. */
static int parse_named(td_parser *p, td_expr *e, bool paren);

static int parse_spec(td_parser *p, td_expr *e) {
  td__next(p); /* '(' */
  if (p->tok.kind == TK_QIDENT || (p->tok.kind == TK_IDENT && !td__is_kw(p, "PARTITION") && !td__is_kw(p, "ORDER") &&
                                   !td__is_kw(p, "ROWS") && !td__is_kw(p, "RANGE") && !td__is_kw(p, "GROUPS")))
    return parse_named(p, e, true); /* OVER (name) */
  int rc = make_over(p, e);
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

/* OVER name (paren: OVER (name), nothing else inside): an "over" node
 * flagged TD_WF_NAMED whose args[5] is a column of that name, until the
 * WINDOW clause's definition replaces it. */
static int parse_named(td_parser *p, td_expr *e, bool paren) {
  int64_t pos = p->tok.pos;
  td_expr *c = td__expr_new(TD_EXPR_COLUMN, pos, p->err);
  int rc = c ? td__token_string(p, &c->name, NULL) : TD_ENOMEM;
  if (rc == TD_OK) td__next(p);
  if (rc == TD_OK && paren && p->tok.kind != TK_RPAREN)
    rc = td_err_at(p->err, TD_EPARSE, pos, "a window name with more inside OVER (...) is not supported at offset %lld",
                   (long long)pos);
  else if (rc == TD_OK && paren)
    td__next(p);
  if (rc == TD_OK) rc = make_over(p, e);
  if (rc == TD_OK) {
    rc = td__expr_add(e, c, p->err);
    c = NULL;
  }
  td_expr_free(c);
  if (rc == TD_OK) e->args[2]->lit.v.i = TD_WF_NAMED | (paren ? TD_WF_COPY : 0);
  return rc;
}

int td__parse_over(td_parser *p, td_expr *e) {
  td__next(p); /* OVER */
  if (p->tok.kind == TK_LPAREN) return parse_spec(p, e);
  if (p->tok.kind != TK_IDENT && p->tok.kind != TK_QIDENT) return td__expected(p, "'(' or a window name after OVER");
  return parse_named(p, e, false);
}

/* The WINDOW clause's definitions: each an "over" node of a placeholder call. */
struct td_win_defs {
  char **names;
  td_expr **over;
  int64_t n, cap;
};

void td__win_defs_free(td_win_defs *d) {
  if (!d) return;
  for (int64_t i = 0; i < d->n; i++) {
    td_free(d->names[i]);
    td_expr_free(d->over[i]);
  }
  td_free(d->names);
  td_free(d->over);
  td_free(d);
}

static const td_expr *find_def(const td_win_defs *d, const char *name) {
  for (int64_t i = 0; d && i < d->n; i++)
    if (strcasecmp(d->names[i], name) == 0) return d->over[i];
  return NULL;
}

int td__parse_window_clause(td_parser *p, td_win_defs **out) {
  td__next(p); /* WINDOW */
  td_win_defs *d = *out ? *out : td_calloc(1, sizeof *d);
  if (!d) return td_err_nomem(p->err, "parsing WINDOW");
  *out = d;
  for (;;) {
    if (p->tok.kind != TK_IDENT && p->tok.kind != TK_QIDENT) return td__expected(p, "a window name after WINDOW");
    int64_t pos = p->tok.pos;
    char *name = NULL;
    int rc = td__token_string(p, &name, NULL);
    if (rc) return rc;
    if (find_def(d, name)) {
      rc = td_err_at(p->err, TD_EPARSE, pos, "the window %s is defined twice at offset %lld", name, (long long)pos);
      td_free(name);
      return rc;
    }
    if (d->n == d->cap) {
      int64_t cap = d->cap ? 2 * d->cap : 4;
      char **nm = td_realloc(d->names, (size_t)cap * sizeof *nm);
      if (nm) d->names = nm;
      td_expr **ov = nm ? td_realloc(d->over, (size_t)cap * sizeof *ov) : NULL;
      if (!ov) {
        td_free(name);
        return td_err_nomem(p->err, "parsing WINDOW");
      }
      d->over = ov;
      d->cap = cap;
    }
    d->names[d->n] = name;
    d->over[d->n] = td__expr_new(TD_EXPR_CALL, pos, p->err);
    if (!d->over[d->n]) {
      td_free(name);
      return TD_ENOMEM;
    }
    d->n++;
    td_expr *e = d->over[d->n - 1];
    if (!(e->name = td_strdup("row_number"))) return td_err_nomem(p->err, "parsing WINDOW");
    td__next(p);
    if (!td__accept_kw(p, "AS")) return td__expected(p, "AS after the window name");
    if (p->tok.kind != TK_LPAREN) return td__expected(p, "'(' after AS");
    if ((rc = parse_spec(p, e)) != TD_OK) return rc;
    if (p->tok.kind != TK_COMMA) return TD_OK;
    td__next(p);
  }
}

/* Every OVER name in e takes its definition's PARTITION BY, ORDER BY and frame. */
static int resolve(td_expr *e, const td_win_defs *d, td_error *err) {
  if (!e) return TD_OK;
  if (is_over(e) && e->n_args == 6 && (e->args[2]->lit.v.i & TD_WF_NAMED)) {
    const td_expr *def = find_def(d, e->args[5]->name);
    if (!def)
      return td_err_at(err, TD_EPARSE, e->args[5]->pos, "the window %s is not defined (WINDOW %s AS (...)) at offset %lld",
                       e->args[5]->name, e->args[5]->name, (long long)e->args[5]->pos);
    if ((e->args[2]->lit.v.i & TD_WF_COPY) && (def->args[2]->lit.v.i & 15) != TD_WFRAME_DEFAULT) /* as DuckDB */
      return td_err_at(err, TD_EPARSE, e->args[5]->pos, "cannot copy the window %s (OVER (%s)) because it has a frame "
                       "clause at offset %lld", e->args[5]->name, e->args[5]->name, (long long)e->args[5]->pos);
    for (int64_t i = 1; i < e->n_args; i++) td_expr_free(e->args[i]);
    e->n_args = 1;
    for (int64_t i = 1; i < def->n_args; i++) {
      td_expr *c;
      int rc = td_expr_clone(def->args[i], &c, err);
      if (rc == TD_OK) rc = td__expr_add(e, c, err);
      if (rc) return rc;
    }
    return resolve(e->args[0], d, err);
  }
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = resolve(e->args[i], d, err);
    if (rc) return rc;
  }
  return TD_OK;
}

int td__resolve_windows(td_select *s, const td_win_defs *d, td_error *err) {
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < s->n_items; i++) rc = resolve(s->items[i].expr, d, err);
  for (int64_t i = 0; rc == TD_OK && i < s->n_order_by; i++) rc = resolve(s->order_by[i].expr, d, err);
  for (int64_t i = 0; rc == TD_OK && i < s->n_group_by; i++) rc = resolve(s->group_by[i], d, err);
  for (int64_t i = 0; rc == TD_OK && i < s->n_distinct_on; i++) rc = resolve(s->distinct_on[i], d, err);
  if (rc == TD_OK) rc = resolve(s->where, d, err);
  if (rc == TD_OK) rc = resolve(s->having, d, err);
  if (rc == TD_OK) rc = resolve(s->qualify, d, err);
  return rc;
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
  int64_t np = a[1]->lit.v.i, kind = a[2]->lit.v.i & 15, n = a[3]->lit.v.i, n2 = a[4]->lit.v.i;
  int64_t start = a[2]->lit.v.i >> 8 & 15, stop = a[2]->lit.v.i >> 12 & 15;
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
    else if (a[2]->lit.v.i & TD_WF_START_IV) td__sb_put(b, "INTERVAL '");
    if (n >= 0) put_int(b, n);
    if (n >= 0 && a[2]->lit.v.i & TD_WF_START_IV) td__sb_put(b, " nanoseconds'");
    td__sb_put(b, start == TD_WB_FOLLOWING ? " FOLLOWING AND " : " PRECEDING AND ");
    if (stop == TD_WB_UNBOUNDED) td__sb_put(b, "UNBOUNDED FOLLOWING");
    else if (stop == TD_WB_DEFAULT) td__sb_put(b, "CURRENT ROW");
    else {
      if (a[2]->lit.v.i & TD_WF_END_IV) td__sb_put(b, "INTERVAL '");
      put_int(b, n2);
      if (a[2]->lit.v.i & TD_WF_END_IV) td__sb_put(b, " nanoseconds'");
      td__sb_put(b, stop == TD_WB_FOLLOWING ? " FOLLOWING" : " PRECEDING");
    }
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


const td_expr *td__find_over(const td_expr *e) {
  if (is_over(e)) return e;
  for (int64_t i = 0; i < e->n_args; i++) {
    const td_expr *f = td__find_over(e->args[i]);
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
    const td_expr *inner = i ? td__find_over(e->args[i]) : NULL;
    for (int64_t k = 0; !inner && !i && k < e->args[0]->n_args; k++) inner = td__find_over(e->args[0]->args[k]);
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

/* Whether e is a comparison of q's item named by its alias, when that item
 * is row_number() or rank() OVER (...) (and no source column has the
 * name), with an integer literal: `rn = 1`, `rn <= 3`, `1 = rn`. */
static bool rank_bound(const td_select *q, const td_schema *def, const td_expr *e) {
  if (e->kind != TD_EXPR_BINARY || e->n_args != 2 || e->op < TD_OP_EQ || e->op > TD_OP_GE) return false;
  for (int s = 0; s < 2; s++) {
    const td_expr *c = e->args[s], *l = e->args[1 - s];
    if (c->kind != TD_EXPR_COLUMN || l->kind != TD_EXPR_LITERAL || l->lit.is_null || l->lit.type != TD_TYPE_INT64 ||
        td_schema_find(def, c->name) >= 0)
      continue;
    for (int64_t i = 0; i < q->n_items; i++) {
      const td_expr *x = q->items[i].expr;
      if (q->items[i].alias && x && strcmp(q->items[i].alias, c->name) == 0)
        return is_over(x) && (strcmp(x->args[0]->name, "row_number") == 0 || strcmp(x->args[0]->name, "rank") == 0);
    }
  }
  return false;
}

/* A FROM subquery whose outer statement filters on its row number (`SELECT
 * ... FROM (SELECT ..., row_number() OVER (...) AS rn FROM t) WHERE rn = 1`):
 * the first such conjunct of the outer WHERE becomes q's QUALIFY too (the
 * outer WHERE still applies; it keeps every row then), so the first rows
 * (or top k) per partition are found without the window's sort.  Only when
 * nothing in q applies after QUALIFY that the filter could change (LIMIT,
 * OFFSET, DISTINCT, set operations), and the outer reads q alone. */
static int push_rank_filter(td_select *q, const td_schema *def, td_error *err) {
  const td_select *o = q->outer;
  if (!o || o->from_sub != q || o->n_joins || !o->where || q->qualify || q->has_limit || q->offset || q->distinct ||
      q->n_distinct_on || q->n_terms || q->n_group_by || q->group_by_all || q->having)
    return TD_OK;
  const td_expr *stack[64], *hit = NULL;
  int n = 0;
  stack[n++] = o->where;
  while (n > 0 && !hit) {
    const td_expr *e = stack[--n];
    if (e->kind == TD_EXPR_BINARY && e->op == TD_OP_AND && e->n_args == 2 && n + 2 <= 64) {
      stack[n++] = e->args[1];
      stack[n++] = e->args[0];
    } else if (rank_bound(q, def, e)) {
      hit = e;
    }
  }
  if (!hit) return TD_OK;
  int rc = td_expr_clone(hit, &q->qualify, err);
  q->qualify_pos = hit->pos;
  return rc;
}

int td__window_extract(td_select *q, const td_schema *def, td_expr **items, int64_t n_items, bool aggregate,
                       td_win_set **out, td_error *err) {
  *out = NULL;
  int rc = aggregate ? TD_OK : push_rank_filter(q, def, err);
  if (rc) return rc;
  const td_expr *first = q->qualify;
  for (int64_t i = 0; !first && i < n_items; i++) first = td__find_over(items[i]);
  for (int64_t i = 0; !first && i < q->n_order_by; i++) first = td__find_over(q->order_by[i].expr);
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
  W_SUM, W_AVG, W_MIN, W_MAX, W_COUNT, W_COUNT_STAR, W_NTILE, W_PERCENT_RANK, W_CUME_DIST, W_NTH
} wkind;

/* A RANGE frame's end: the current row's last peer, the partition's end,
 * or the last row whose key is within n_after after the current row's. */
enum { R_PEERS, R_UNBOUNDED, R_FOLLOWING };

enum { F_WHOLE, F_PEERS, F_ROWS, F_RANGE };

typedef struct wfn {
  wkind kind;
  int64_t arg, dflt, offset; /* input columns (-1: none); lag/lead offset */
  int64_t n_keys, n_part;    /* sort keys: partition, then order */
  int64_t keys[TD_WIN_MAX_KEYS];
  bool desc[TD_WIN_MAX_KEYS];
  int frame;
  int64_t lo, hi;            /* F_ROWS: the frame is rows k + lo .. k + hi (INT64_MIN / MAX: unbounded) */
  int64_t n;                 /* F_RANGE: the start's offset in the key's units (-1: unbounded, 0: current row) */
  int range_end;             /* F_RANGE: R_* */
  int64_t n_after;           /* R_FOLLOWING: the end's offset */
  int64_t range_col;
  bool range_desc;
  td_type_id out;
} wfn;

/* A partition's walk state, positions relative to its first row in window
 * order.  On a live table each partition keeps its own between cycles. */
/* A compensated float sum: finite values in sum + comp, the others counted. */
typedef struct kacc {
  double sum, comp;
  int64_t nonfinite[3]; /* NaN, +inf, -inf (kept out of sum) */
} kacc;

typedef struct wst {
  int64_t peer_start, peer_end, dense, lo, hi, cnt, isum, ptr, ptr2;
  kacc k;
  int64_t *dq; /* min/max: monotone deque of positions [head, tail) */
  int64_t head, tail, cap;
} wst;

/* A live partition: its input rows in window order and the walk state after
 * the last one. */
typedef struct wpart {
  int64_t *rows;
  int64_t len, cap;
  uint64_t hash;
  wst st;
} wpart;

/* One function's live partitions, found by the hash of their keys. */
typedef struct wparts {
  wpart *p;
  int64_t n, cap;
  int64_t *slots; /* open addressing: partition + 1, 0 empty */
  int64_t n_slots;
} wparts;

typedef struct wop {
  int64_t n_fns;
  wfn *fns;
  /* Incremental maintenance on a live source (docs/DESIGN.md): */
  bool inc;        /* every function can compute appended rows alone */
  bool built;      /* the state below matches the published result */
  int64_t n_cols;  /* input columns */
  int64_t *in_cols; /* static and fused: input column i is source column in_cols[i] (else NULL: the
                      source is the projection itself) */
  bool *codes;     /* ... and read as codes into one dictionary: a string only the PARTITION BYs read */
  bool *used;      /* the input columns the functions read ... */
  td_array *mat;   /* ... materialized: rows [0, n_mat) */
  int64_t n_mat;
  wparts *parts;   /* per function */
  int64_t n_incremental, n_recomputed; /* cycles of each kind */
} wop;

/* One function's pass over some partitions. */
typedef struct wpass {
  const wfn *f;
  const td_colview *views;
  const int64_t *perm; /* the current partition's rows in window order */
  td_sort_key keys[TD_WIN_MAX_KEYS];
  const int64_t *ord; /* the one ORDER BY column when int64 without nulls (else NULL) */
  int64_t base;     /* the outputs below are for input rows [base, base + n) */
  int64_t *idx;     /* value kinds: source row, -1 null, -2 default */
  int64_t *iv;      /* int64 results */
  double *fv;       /* float64 results */
  uint8_t *ok;
} wpass;

static bool value_kind(wkind k) {
  return k == W_LAG || k == W_LEAD || k == W_FIRST || k == W_LAST || k == W_MIN || k == W_MAX || k == W_NTH;
}

/* Whether an appended row can be computed from its partition's state
 * alone, the earlier rows keeping their values: not lead (it looks past the
 * row), not without ORDER BY (the whole partition is the frame, and the
 * order is arrival order).  last_value's frame ends at the row's last peer:
 * a tie recomputes (peer_sensitive). */
static bool incremental_fn(const wfn *f) {
  bool ahead = (f->frame == F_ROWS && f->hi > 0) || (f->frame == F_RANGE && f->range_end != R_PEERS);
  bool sized = f->kind == W_NTILE || f->kind == W_PERCENT_RANK || f->kind == W_CUME_DIST; /* the partition's size */
  return f->n_keys > f->n_part && f->kind != W_LEAD && f->kind != W_NTH && !ahead && !sized;
}

/* Whether a row tying its predecessor on the ORDER BY changes that
 * predecessor's value: frames ending at the current row's last peer. */
static bool peer_sensitive(const wfn *f) {
  return (f->frame == F_PEERS || f->frame == F_RANGE) && f->kind != W_ROW_NUMBER && f->kind != W_RANK &&
         f->kind != W_DENSE_RANK && f->kind != W_LAG && f->kind != W_FIRST;
}

/* Whether partition positions a and b tie on keys [from, to). */
static bool ties(const wpass *w, int64_t from, int64_t to, int64_t a, int64_t b) {
  if (w->ord && from == w->f->n_part) return w->ord[w->perm[a]] == w->ord[w->perm[b]];
  return td_sort_compare(w->keys + from, to - from, w->perm[a], w->keys + from, w->perm[b]) == 0;
}

/* The RANGE frame test: the key of partition position k is at most n
 * after s's in the order's direction (both not null). */
static bool in_range(const wpass *w, int64_t s, int64_t k, int64_t n) {
  const td_colview *c = &w->views[w->f->range_col];
  int64_t rs = w->perm[s], rk = w->perm[k];
  if (w->ord) { /* the range column is the one ORDER BY column */
    __int128 d = (__int128)w->ord[rk] - w->ord[rs];
    return (w->f->range_desc ? -d : d) <= n;
  }
  if (!td_colview_valid(c, rs) || !td_colview_valid(c, rk)) return false;
  if (c->type == TD_TYPE_FLOAT64 || c->type == TD_TYPE_FLOAT32) {
    double d = td_colview_double(c, rk) - td_colview_double(c, rs);
    return (w->f->range_desc ? -d : d) <= (double)n;
  }
  __int128 d = (__int128)td_colview_int(c, rk) - td_colview_int(c, rs);
  return (w->f->range_desc ? -d : d) <= n;
}

/* k + off clamped to [0, pe] (off INT64_MIN / INT64_MAX: unbounded). */
static int64_t frame_at(int64_t k, int64_t off, int64_t pe) {
  __int128 x = (__int128)k + off;
  return x < 0 ? 0 : x > pe ? pe : (int64_t)x;
}

/* DuckDB's ntile: row k of pe rows in n buckets, the first ones a row larger. */
static int64_t ntile_of(int64_t k, int64_t pe, int64_t n) {
  if (n > pe) n = pe;
  int64_t size = pe / n, large = pe - n * size, small_from = large * (size + 1);
  return k < small_from ? 1 + k / (size + 1) : 1 + large + (k - small_from) / size;
}

/* Compensated (Neumaier) summation of the finite values entering (dir 1)
 * and leaving (-1) a sliding frame: no drift beyond the last bits.  NaN and
 * the infinities are counted instead, so one that leaves the frame leaves
 * no NaN behind (inf - inf) and the sum is DuckDB's (ksum_value). */
static void ksum(kacc *st, double x, int dir) {
  if (!isfinite(x)) {
    st->nonfinite[isnan(x) ? 0 : x > 0 ? 1 : 2] += dir;
    return;
  }
  double *s = &st->sum, *c = &st->comp;
  x *= dir;
  double t = *s + x;
  *c += fabs(*s) >= fabs(x) ? (*s - t) + x : (x - t) + *s;
  *s = t;
}

static double ksum_value(const kacc *s) {
  if (s->nonfinite[0] || (s->nonfinite[1] && s->nonfinite[2])) return NAN;
  return s->nonfinite[1] ? INFINITY : s->nonfinite[2] ? -INFINITY : s->sum + s->comp;
}

/* Room for one more deque entry. */
static int dq_room(wst *s, td_error *err) {
  if (s->tail < s->cap) return TD_OK;
  if (s->head >= s->cap / 2 && s->head > 0) {
    memmove(s->dq, s->dq + s->head, (size_t)(s->tail - s->head) * sizeof *s->dq);
    s->tail -= s->head;
    s->head = 0;
    return TD_OK;
  }
  int64_t cap = s->cap ? 2 * s->cap : 16;
  int64_t *q = td_realloc(s->dq, (size_t)cap * sizeof *q);
  if (!q) return td_err_nomem(err, "computing a window");
  s->dq = q;
  s->cap = cap;
  return TD_OK;
}

/* Row k of a partition of pe rows (w->perm): its value into the outputs. */
static int step(wpass *w, wst *s, int64_t pe, int64_t k, td_error *err) {
  const wfn *f = w->f;
  const td_colview *arg = f->arg >= 0 ? &w->views[f->arg] : NULL;
  td_sort_key one = {arg, false};
  bool mx = f->kind == W_MAX, fl = arg && (arg->type == TD_TYPE_FLOAT64 || arg->type == TD_TYPE_FLOAT32);
  if (k == s->peer_end) {
    s->peer_start = k;
    for (s->peer_end = k + 1; s->peer_end < pe && ties(w, f->n_part, f->n_keys, k, s->peer_end);) s->peer_end++;
    s->dense++;
  }
  int64_t row = w->perm[k], fs = 0, fe = pe, o = row - w->base;
  if (f->frame == F_PEERS) fe = s->peer_end;
  else if (f->frame == F_ROWS) {
    fs = frame_at(k, f->lo, pe);
    fe = f->hi == INT64_MAX ? pe : frame_at(k, f->hi + 1, pe);
    if (fe < fs) fe = fs; /* empty (both still grow with k) */
  } else if (f->frame == F_RANGE) {
    bool null = !w->ord && !td_colview_valid(&w->views[f->range_col], row); /* its null peers only */
    fe = f->range_end == R_UNBOUNDED ? pe : s->peer_end;
    if (f->n < 0) fs = 0;
    else if (f->n == 0 || null) fs = s->peer_start;
    else {
      while (s->ptr < k && !in_range(w, s->ptr, k, f->n)) s->ptr++;
      fs = s->ptr;
    }
    if (f->range_end == R_FOLLOWING && !null) {
      if (s->ptr2 < s->peer_end) s->ptr2 = s->peer_end;
      while (s->ptr2 < pe && in_range(w, k, s->ptr2, f->n_after)) s->ptr2++;
      fe = s->ptr2;
    }
  }
  int64_t v = 0, at = -1;
  bool ok = true;
  switch (f->kind) {
    case W_ROW_NUMBER: v = k + 1; break;
    case W_RANK: v = s->peer_start + 1; break;
    case W_DENSE_RANK: v = s->dense; break;
    case W_LAG: at = k - f->offset >= 0 ? w->perm[k - f->offset] : f->dflt >= 0 ? -2 : -1; break;
    case W_LEAD: at = k + f->offset < pe ? w->perm[k + f->offset] : f->dflt >= 0 ? -2 : -1; break;
    case W_FIRST: at = fs < fe ? w->perm[fs] : -1; break;
    case W_NTH: at = f->offset >= 1 && f->offset <= fe - fs ? w->perm[fs + f->offset - 1] : -1; break;
    case W_NTILE:
      if (f->offset > 0) v = ntile_of(k, pe, f->offset);
      else ok = false; /* ntile(NULL) */
      break;
    case W_PERCENT_RANK: w->fv[o] = pe > 1 ? (double)s->peer_start / (double)(pe - 1) : 0; break;
    case W_CUME_DIST: w->fv[o] = (double)s->peer_end / (double)pe; break;
    case W_LAST: at = fs < fe ? w->perm[fe - 1] : -1; break;
    case W_COUNT_STAR: v = fe - fs; break;
    default:
      for (; s->hi < fe; s->hi++) { /* rows entering the frame */
        int64_t r = w->perm[s->hi];
        if (!td_colview_valid(arg, r)) continue;
        s->cnt++;
        if (f->kind == W_MIN || f->kind == W_MAX) {
          while (s->tail > s->head) {
            int c = td_sort_compare(&one, 1, w->perm[s->dq[s->tail - 1]], &one, r);
            if (mx ? c > 0 : c < 0) break;
            s->tail--;
          }
          int rc = dq_room(s, err);
          if (rc) return rc;
          s->dq[s->tail++] = s->hi;
        } else if (fl) ksum(&s->k, td_colview_double(arg, r), 1);
        else s->isum = (int64_t)((uint64_t)s->isum + (uint64_t)td_colview_int(arg, r)); /* wraps, no UB */
      }
      for (; s->lo < fs; s->lo++) { /* rows leaving it */
        int64_t r = w->perm[s->lo];
        if (!td_colview_valid(arg, r)) continue;
        s->cnt--;
        if (fl) ksum(&s->k, td_colview_double(arg, r), -1);
        else if (f->kind != W_MIN && f->kind != W_MAX) s->isum = (int64_t)((uint64_t)s->isum - (uint64_t)td_colview_int(arg, r));
      }
      while (s->tail > s->head && s->dq[s->head] < s->lo) s->head++;
      if (s->cnt == 0) s->k.sum = s->k.comp = 0, s->isum = 0; /* no drift once empty */
      if (f->kind == W_COUNT) v = s->cnt;
      else if (f->kind == W_MIN || f->kind == W_MAX) at = s->tail > s->head ? w->perm[s->dq[s->head]] : -1;
      else if (!s->cnt) ok = false;
      else if (f->kind == W_AVG) w->fv[o] = (fl ? ksum_value(&s->k) : (double)s->isum) / (double)s->cnt;
      else if (fl) w->fv[o] = ksum_value(&s->k);
      else v = s->isum;
  }
  if (value_kind(f->kind)) w->idx[o] = at;
  else {
    w->ok[o] = ok;
    if (w->iv) w->iv[o] = v;
  }
  return TD_OK;
}

/* A default value of lag/lead as the output type. */
static td_value as_out(td_value v, td_type_id out) {
  if (v.is_null || v.type == out) return v;
  if (out == TD_TYPE_FLOAT64 || out == TD_TYPE_FLOAT32)
    return td_value_double(out, v.type == TD_TYPE_FLOAT64 || v.type == TD_TYPE_FLOAT32 ? v.v.f : (double)v.v.i);
  return td_value_int(out, v.v.i);
}

/* A pass of f over input columns `views` with outputs for input rows
 * [base, base + n); numbers are written straight into the array a (made
 * here), values of the input (lag ... max) into a by emit. */
static int pass_init(wpass *w, const wfn *f, const td_colview *views, int64_t base, int64_t n, td_array *a,
                     td_error *err) {
  memset(w, 0, sizeof *w);
  w->f = f;
  w->views = views;
  w->base = base;
  for (int64_t k = 0; k < f->n_keys; k++) w->keys[k] = (td_sort_key){&views[f->keys[k]], f->desc[k]};
  const td_colview *o = f->n_keys == f->n_part + 1 ? &views[f->keys[f->n_part]] : NULL;
  if (o && (!o->validity || o->null_count == 0) && td_type_width(o->type) == 8 && o->type != TD_TYPE_UINT64 &&
      o->type != TD_TYPE_FLOAT64)
    w->ord = (const int64_t *)o->values + o->offset;
  if (value_kind(f->kind)) w->idx = td_malloc((size_t)(n + 1) * sizeof *w->idx);
  else {
    int rc = td_array_init(a, f->out, n, err);
    if (rc) return rc;
    if (f->out == TD_TYPE_INT64) w->iv = (int64_t *)a->values;
    else w->fv = (double *)a->values;
  }
  w->ok = td_malloc((size_t)n + 1);
  return (w->idx || w->iv || w->fv) && w->ok ? TD_OK : td_err_nomem(err, "computing a window");
}

static void pass_free(wpass *w) {
  td_free(w->idx);
  td_free(w->ok);
}

/* The pass's n outputs into a (numbers: their nulls). */
static int emit(const wpass *w, int64_t n, td_array *a, td_error *err) {
  const wfn *f = w->f;
  if (!value_kind(f->kind)) {
    int rc = TD_OK;
    for (int64_t r = 0; rc == TD_OK && r < n; r++)
      if (!w->ok[r]) {
        if (w->iv) w->iv[r] = 0;
        else w->fv[r] = 0;
        rc = td_array_set_null(a, r, err);
      }
    a->length = n;
    return rc;
  }
  int rc = td_array_init(a, f->out, n, err);
  for (int64_t r = 0; rc == TD_OK && r < n; r++) {
    td_value v = w->idx[r] >= 0   ? td_colview_value(&w->views[f->arg], w->idx[r])
                 : w->idx[r] == -2 ? as_out(td_colview_value(&w->views[f->dflt], w->base + r), f->out)
                                   : td_value_null(f->out);
    rc = v.is_null ? td_array_append_null(a, err) : td_array_append_value(a, &v, err);
  }
  return rc;
}

/* ---- live partitions ---- */

static uint64_t key_hash(const wpass *w, int64_t row) { return td_sort_hash(w->keys, w->f->n_part, row); }

static void parts_reset(wparts *ps) {
  for (int64_t i = 0; i < ps->n; i++) {
    td_free(ps->p[i].rows);
    td_free(ps->p[i].st.dq);
  }
  td_free(ps->p);
  td_free(ps->slots);
  memset(ps, 0, sizeof *ps);
}

/* A new empty partition of hash h; *out its index. */
static int part_new(wparts *ps, uint64_t h, int64_t *out, td_error *err) {
  if (2 * (ps->n + 1) > ps->n_slots) {
    int64_t n_slots = ps->n_slots ? 2 * ps->n_slots : 64;
    int64_t *slots = td_calloc((size_t)n_slots, sizeof *slots);
    if (!slots) return td_err_nomem(err, "computing a window");
    for (int64_t i = 0; i < ps->n; i++) {
      int64_t s = (int64_t)(ps->p[i].hash & (uint64_t)(n_slots - 1));
      while (slots[s]) s = (s + 1) & (n_slots - 1);
      slots[s] = i + 1;
    }
    td_free(ps->slots);
    ps->slots = slots;
    ps->n_slots = n_slots;
  }
  if (ps->n == ps->cap) {
    int64_t cap = ps->cap ? 2 * ps->cap : 16;
    wpart *p = td_realloc(ps->p, (size_t)cap * sizeof *p);
    if (!p) return td_err_nomem(err, "computing a window");
    ps->p = p;
    ps->cap = cap;
  }
  int64_t s = (int64_t)(h & (uint64_t)(ps->n_slots - 1));
  while (ps->slots[s]) s = (s + 1) & (ps->n_slots - 1);
  ps->slots[s] = ps->n + 1;
  memset(&ps->p[ps->n], 0, sizeof ps->p[ps->n]);
  ps->p[ps->n].hash = h;
  *out = ps->n++;
  return TD_OK;
}

/* Room for n rows in partition p. */
static int part_room(wpart *p, int64_t n, td_error *err) {
  if (p->len + n <= p->cap) return TD_OK;
  int64_t cap = p->cap ? 2 * p->cap : 4;
  while (cap < p->len + n) cap *= 2;
  int64_t *r = td_realloc(p->rows, (size_t)cap * sizeof *r);
  if (!r) return td_err_nomem(err, "computing a window");
  p->rows = r;
  p->cap = cap;
  return TD_OK;
}

/* The partition of input row `row` (a new one when none). */
static int part_of(wparts *ps, const wpass *w, int64_t row, int64_t *out, td_error *err) {
  uint64_t h = key_hash(w, row);
  for (int64_t s = ps->n_slots ? (int64_t)(h & (uint64_t)(ps->n_slots - 1)) : 0; ps->n_slots && ps->slots[s];
       s = (s + 1) & (ps->n_slots - 1)) {
    const wpart *p = &ps->p[ps->slots[s] - 1];
    if (p->hash == h && p->len > 0 && td_sort_compare(w->keys, w->f->n_part, p->rows[0], w->keys, row) == 0) {
      *out = ps->slots[s] - 1;
      return TD_OK;
    }
  }
  return part_new(ps, h, out, err);
}

static void state_reset(wop *op) {
  op->built = false;
  op->n_mat = 0;
  for (int64_t c = 0; op->mat && c < op->n_cols; c++) td_array_reset(&op->mat[c]);
  for (int64_t j = 0; op->parts && j < op->n_fns; j++) parts_reset(&op->parts[j]);
}

/* ---- computing ---- */

/* Partitions of one function walked by workers: each takes the next
 * partition, its own state, and writes the outputs of its partition's rows
 * (rows are in one partition only: no two workers write one output). */
typedef struct walk {
  const wpass *w;
  const int64_t *perm, *starts;
  int64_t n_parts;
  atomic_llong next;
} walk;

static int walk_worker(void *v, int worker, td_error *err) {
  (void)worker;
  walk *x = v;
  wpass w = *x->w;
  wst one;
  memset(&one, 0, sizeof one);
  int rc = TD_OK;
  for (int64_t g; rc == TD_OK && (g = atomic_fetch_add(&x->next, 1)) < x->n_parts;) {
    int64_t *dq = one.dq, cap = one.cap, p0 = x->starts[g], len = x->starts[g + 1] - p0;
    memset(&one, 0, sizeof one);
    one.dq = dq;
    one.cap = cap;
    w.perm = x->perm + p0;
    for (int64_t k = 0; rc == TD_OK && k < len; k++) rc = step(&w, &one, len, k, err);
  }
  td_free(one.dq);
  return rc;
}

/* Function j over all n rows in window order (perm, partition i being
 * perm[starts[i] .. starts[i + 1])) into the builder a, with up to
 * `threads` workers; on a live source each partition's rows and final
 * state are kept (op->parts), by one worker. */
static int run_fn(wop *op, int64_t j, const td_colview *views, const int64_t *perm, const int64_t *starts,
                  int64_t n_parts, int64_t n, int threads, td_array *a, td_error *err) {
  const wfn *f = &op->fns[j];
  wparts *ps = op->inc ? &op->parts[j] : NULL;
  wpass w;
  int rc = pass_init(&w, f, views, 0, n, a, err);
  for (int64_t g = 0; rc == TD_OK && ps && g < n_parts; g++) {
    int64_t p0 = starts[g], len = starts[g + 1] - p0, pi;
    if ((rc = part_new(ps, key_hash(&w, perm[p0]), &pi, err)) != TD_OK ||
        (rc = part_room(&ps->p[pi], len, err)) != TD_OK)
      break;
    wpart *p = &ps->p[pi];
    memcpy(p->rows, perm + p0, (size_t)len * sizeof *p->rows);
    p->len = len;
    w.perm = p->rows;
    for (int64_t k = 0; rc == TD_OK && k < len; k++) rc = step(&w, &p->st, len, k, err);
  }
  if (rc == TD_OK && !ps) {
    enum { MIN_ROWS = 1 << 15 }; /* rows per worker worth a thread */
    walk x = {.w = &w, .perm = perm, .starts = starts, .n_parts = n_parts};
    atomic_init(&x.next, 0);
    int64_t units = n / MIN_ROWS < n_parts ? n / MIN_ROWS : n_parts;
    rc = td__par_run(td__par_workers(threads, units), walk_worker, &x, err);
  }
  if (rc == TD_OK) rc = emit(&w, n, a, err);
  pass_free(&w);
  return rc;
}

/* Whether f's frame is its whole partition in arrival order (no ORDER BY,
 * no frame clause) and its value one per partition, or the row's place in
 * it: computed by whole_fn, without ordering the rows. */
static bool whole_kind(const wfn *f) {
  return f->frame == F_WHOLE && f->n_keys == f->n_part && f->kind != W_LAG && f->kind != W_LEAD &&
         f->kind < W_NTILE;
}

/* One partition's aggregate over its whole frame. */
typedef struct gagg {
  kacc k;
  int64_t cnt, isum, rows;
  int64_t at; /* the row whose value it is (first, last, min, max), -1 none */
} gagg;

/* Row r of the argument one.col into its partition's aggregate p (kind:
 * first/last/min/max keep a row, sum/avg/count add a valid value). */
static void fold_row(wkind kind, const td_sort_key *one, bool fl, gagg *p, int64_t r) {
  const td_colview *arg = one->col;
  if (kind == W_FIRST || kind == W_LAST) {
    if (kind == W_LAST || p->at < 0) p->at = r;
  } else if (!td_colview_valid(arg, r)) {
  } else if (kind == W_MIN || kind == W_MAX) {
    int c = p->at < 0 ? 0 : td_sort_compare(one, 1, p->at, one, r);
    if (kind == W_MAX ? c <= 0 : c >= 0) p->at = r;
  } else {
    p->cnt++;
    if (fl) ksum(&p->k, td_colview_double(arg, r), 1);
    else if (kind != W_COUNT) p->isum = (int64_t)((uint64_t)p->isum + (uint64_t)td_colview_int(arg, r)); /* wraps as the walk's */
  }
}

/* Function f (whole_kind but row_number) over n rows in one partition: its
 * one value into *cst (nothing per row: the result's column is constant). */
static int whole_const(const wfn *f, const td_colview *views, int64_t n, td_value *cst, td_error *err) {
  (void)err;
  const td_colview *arg = f->arg >= 0 ? &views[f->arg] : NULL;
  td_sort_key one = {arg, false};
  bool fl = arg && (arg->type == TD_TYPE_FLOAT64 || arg->type == TD_TYPE_FLOAT32);
  gagg g = {.at = -1};
  bool reads = f->kind != W_COUNT_STAR && f->kind != W_RANK && f->kind != W_DENSE_RANK;
  for (int64_t r = 0; reads && r < n; r++) fold_row(f->kind, &one, fl, &g, r);
  switch (f->kind) {
    case W_RANK:
    case W_DENSE_RANK: *cst = td_value_int(TD_TYPE_INT64, 1); break;
    case W_COUNT_STAR: *cst = td_value_int(TD_TYPE_INT64, n); break;
    case W_COUNT: *cst = td_value_int(TD_TYPE_INT64, g.cnt); break;
    case W_FIRST:
    case W_LAST:
    case W_MIN:
    case W_MAX: *cst = g.at < 0 ? td_value_null(f->out) : td_colview_value(arg, g.at); break;
    default:
      if (!g.cnt) *cst = td_value_null(f->out);
      else if (f->kind == W_AVG) *cst = td_value_double(TD_TYPE_FLOAT64, (fl ? ksum_value(&g.k) : (double)g.isum) / (double)g.cnt);
      else if (fl) *cst = td_value_double(TD_TYPE_FLOAT64, ksum_value(&g.k));
      else *cst = td_value_int(TD_TYPE_INT64, g.isum);
  }
  return TD_OK;
}

/* Rows of workers' contiguous ranges given their partition's value. */
typedef struct gather {
  const uint32_t *gid;
  const gagg *g;
  bool fl;
  wpass *w;
  int64_t n;
  int workers;
} gather;

static int gather_worker(void *v, int worker, td_error *err) {
  (void)err;
  gather *x = v;
  wpass *w = x->w;
  wkind kind = w->f->kind;
  for (int64_t r = x->n * worker / x->workers, e = x->n * (worker + 1) / x->workers; r < e; r++) {
    const gagg *p = &x->g[x->gid ? x->gid[r] : 0];
    w->ok[r] = true;
    switch (kind) {
      case W_FIRST:
      case W_LAST:
      case W_MIN:
      case W_MAX: w->idx[r] = p->at; break;
      case W_COUNT_STAR: w->iv[r] = p->rows; break;
      case W_COUNT: w->iv[r] = p->cnt; break;
      default:
        if (!p->cnt) w->ok[r] = false;
        else if (kind == W_AVG) w->fv[r] = (x->fl ? ksum_value(&p->k) : (double)p->isum) / (double)p->cnt;
        else if (x->fl) w->fv[r] = ksum_value(&p->k);
        else w->iv[r] = p->isum;
    }
  }
  return TD_OK;
}

/* Function f (whole_kind) over n rows, row r in partition gid[r] (gid NULL:
 * one partition) of ng, into the builder a: one pass folds each partition's
 * rows in arrival order (so every value is the walk's: sums add in the same
 * order, min and max keep the last of equal values), a second (row ranges on up to
 * `threads` workers) gives each row its partition's value. */
static int whole_fn(const wfn *f, const td_colview *views, const uint32_t *gid, int64_t ng, int64_t n, int threads,
                    td_array *a, td_value *cst, td_error *err) {
  cst->type = TD_TYPE_NONE;
  if (!gid && f->kind != W_ROW_NUMBER) return whole_const(f, views, n, cst, err);
  wpass w;
  int rc = pass_init(&w, f, views, 0, n, a, err);
  gagg *g = rc == TD_OK ? td_malloc((size_t)(ng + 1) * sizeof *g) : NULL;
  if (rc == TD_OK && !g) rc = td_err_nomem(err, "computing a window");
  if (rc) {
    pass_free(&w);
    return rc;
  }
  for (int64_t i = 0; i < ng; i++) g[i] = (gagg){.at = -1};
  const td_colview *arg = f->arg >= 0 ? &views[f->arg] : NULL;
  td_sort_key one = {arg, false};
  bool fl = arg && (arg->type == TD_TYPE_FLOAT64 || arg->type == TD_TYPE_FLOAT32);
  for (int64_t r = 0; r < n; r++) {
    gagg *p = &g[gid ? gid[r] : 0];
    p->rows++;
    if (f->kind == W_ROW_NUMBER) w.iv[r] = p->rows;
    else if (f->kind == W_RANK || f->kind == W_DENSE_RANK) w.iv[r] = 1; /* every row a peer */
    else if (f->kind != W_COUNT_STAR) fold_row(f->kind, &one, fl, p, r);
  }
  bool numbered = f->kind == W_ROW_NUMBER || f->kind == W_RANK || f->kind == W_DENSE_RANK;
  if (numbered) memset(w.ok, 1, (size_t)n);
  enum { MIN_ROWS = 1 << 16 }; /* rows per worker worth a thread */
  gather x = {.gid = gid, .g = g, .fl = fl, .w = &w, .n = n, .workers = td__par_workers(threads, n / MIN_ROWS)};
  if (!numbered) rc = td__par_run(x.workers, gather_worker, &x, err);
  td_free(g);
  if (rc) {
    pass_free(&w);
    return rc;
  }
  rc = emit(&w, n, a, err);
  pass_free(&w);
  return rc;
}

/* Function j for appended input rows [b, b + m) from the live partitions
 * (views: op->mat); *fallback when a row needs a recompute: it sorts before
 * its partition's last row, or ties it where that changes the last row. */
static int append_fn(wop *op, int64_t j, const td_colview *views, int64_t b, int64_t m, td_array *a,
                     bool *fallback, td_error *err) {
  const wfn *f = &op->fns[j];
  wparts *ps = &op->parts[j];
  wpass w;
  int rc = pass_init(&w, f, views, b, m, a, err);
  for (int64_t r = b; rc == TD_OK && r < b + m; r++) {
    int64_t pi;
    if ((rc = part_of(ps, &w, r, &pi, err)) != TD_OK) break;
    wpart *p = &ps->p[pi];
    if (p->len > 0) {
      const td_sort_key *ok = w.keys + f->n_part;
      int c = td_sort_compare(ok, f->n_keys - f->n_part, p->rows[p->len - 1], ok, r);
      if (c > 0 || (c == 0 && peer_sensitive(f))) {
        *fallback = true;
        break;
      }
      if (c == 0 && p->st.peer_end == p->len) p->st.peer_end++; /* joins the last peer group */
    }
    if ((rc = part_room(p, 1, err)) != TD_OK) break;
    p->rows[p->len++] = r;
    w.perm = p->rows;
    rc = step(&w, &p->st, p->len, p->len - 1, err);
  }
  if (rc == TD_OK && !*fallback) rc = emit(&w, m, a, err);
  pass_free(&w);
  return rc;
}

static bool same_sort(const wfn *a, const wfn *b) {
  if (a->n_keys != b->n_keys || a->n_part != b->n_part) return false;
  for (int64_t k = 0; k < a->n_keys; k++)
    if (a->keys[k] != b->keys[k] || a->desc[k] != b->desc[k]) return false;
  return true;
}

/* The input's columns of some rows, read into contiguous arrays. */
typedef struct wread {
  int64_t nf;
  td_array *cols;
  struct ArrowArray *arrs;
  td_colview *views;
  td_colview *keys; /* as views, but a column read as codes is their int32 view (win_codes.h) */
} wread;

/* Rows [begin, end) of the source columns which[0..n_which) (NULL: all),
 * column i as codes into one dictionary when codes[i] (codes NULL: none). */
static int read_rows(td_table *src, td_snapshot *snap, const int64_t *which, int64_t n_which, const bool *codes,
                     int64_t begin, int64_t end, wread *rd, td_error *err) {
  int64_t nf = rd->nf = which ? n_which : src->def->n_fields;
  rd->cols = td_calloc((size_t)nf + 1, sizeof *rd->cols);
  rd->arrs = td_calloc((size_t)nf + 1, sizeof *rd->arrs);
  rd->views = td_calloc((size_t)nf + 1, sizeof *rd->views);
  rd->keys = td_calloc((size_t)nf + 1, sizeof *rd->keys);
  if (!rd->cols || !rd->arrs || !rd->views || !rd->keys) return td_err_nomem(err, "computing a window");
  int rc = TD_OK;
  if (!codes) {
    rc = td__read_range(src, snap, which, n_which, begin, end, rd->cols, rd->arrs, rd->views, err);
  } else { /* the plain columns in one scan, into their places */
    int64_t *plain = td_calloc((size_t)nf + 1, sizeof *plain), *at = td_calloc((size_t)nf + 1, sizeof *at), m = 0;
    td_array *c = td_calloc((size_t)nf + 1, sizeof *c);
    struct ArrowArray *a = td_calloc((size_t)nf + 1, sizeof *a);
    td_colview *v = td_calloc((size_t)nf + 1, sizeof *v);
    rc = plain && at && c && a && v ? TD_OK : td_err_nomem(err, "computing a window");
    for (int64_t i = 0; rc == TD_OK && i < nf; i++)
      if (!codes[i]) plain[m] = which[i], at[m++] = i;
    if (rc == TD_OK && m > 0) rc = td__read_range(src, snap, plain, m, begin, end, c, a, v, err);
    for (int64_t k = 0; plain && at && c && a && v && k < m; k++) { /* moved even on failure: read_free frees them */
      rd->cols[at[k]] = c[k];
      rd->arrs[at[k]] = a[k];
      rd->views[at[k]] = v[k];
    }
    td_free(plain);
    td_free(at);
    td_free(c);
    td_free(a);
    td_free(v);
    for (int64_t i = 0; rc == TD_OK && i < nf; i++)
      if (codes[i]) rc = td__read_codes(src, snap, which[i], begin, end, &rd->arrs[i], &rd->views[i], &rd->keys[i], err);
  }
  for (int64_t i = 0; rc == TD_OK && i < nf; i++)
    if (!codes || !codes[i]) rd->keys[i] = rd->views[i];
  return rc;
}

static void read_free(wread *rd) {
  for (int64_t i = 0; rd->cols && rd->arrs && i < rd->nf; i++) {
    td_array_reset(&rd->cols[i]);
    if (rd->arrs[i].release) td_arrow_array_release(&rd->arrs[i]);
  }
  td_free(rd->cols);
  td_free(rd->arrs);
  td_free(rd->views);
  td_free(rd->keys);
}

/* The input's columns of rd into chunk c (shared, not copied). */
static int share_inputs(td_dchunk *c, wread *rd, td_error *err) {
  for (int64_t i = 0; i < rd->nf; i++) {
    td_shared_array *sh;
    int rc = td_shared_array_new(&rd->arrs[i], &sh, err);
    if (rc) return rc;
    td_dchunk_set_view(c, i, &rd->views[i], sh);
    td_shared_array_release(sh);
  }
  return TD_OK;
}

/* Publishes n rows whose column i is the view v[i] kept alive by sh[i]
 * (i < n_cols), or the constant cst[i] when its type is not NONE, as chunks of at most WIN_CHUNK rows viewing them: an
 * operator above computes per chunk, so an expression over the windows
 * (round(avg(...) OVER ...)) holds one chunk's values, not the whole
 * column's. */
enum { WIN_CHUNK = 1 << 16 };
static int publish(const td_colview *v, td_shared_array *const *sh, const td_value *cst, int64_t n_cols, int64_t n,
                   int64_t version, td_snapshot **snap, td_error *err) {
  td_chunk_list l = {0};
  int rc = TD_OK;
  for (int64_t b = 0; rc == TD_OK && (b < n || b == 0); b += WIN_CHUNK) {
    int64_t len = n - b < WIN_CHUNK ? n - b : WIN_CHUNK;
    td_dchunk *c;
    if ((rc = td_dchunk_new(n_cols, len, &c, err)) != TD_OK) break;
    for (int64_t i = 0; rc == TD_OK && i < n_cols; i++) {
      if (cst[i].type != TD_TYPE_NONE) {
        rc = td_dchunk_set_const(c, i, &cst[i], err);
        continue;
      }
      td_colview cv = v[i];
      cv.offset += b;
      cv.length = len;
      cv.null_count = cv.validity ? len - td_bits_count(cv.validity, cv.offset, len) : 0;
      if (cv.null_count == 0) cv.validity = NULL;
      td_dchunk_set_view(c, i, &cv, sh[i]);
    }
    if (rc == TD_OK) rc = td_chunk_list_push(&l, c, err);
    else td_dchunk_release(c);
  }
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, l.v, l.n, version, snap, err);
  td_chunk_list_reset(&l);
  return rc;
}

/* Every row from the source snapshot: sorts, walks every partition, and on
 * a live source keeps the state that later appends continue from. */
static int win_full(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  wop *op = t->op;
  td_table *src = t->source;
  int64_t nf = op->n_cols, n = d->snap->size;
  state_reset(op);
  op->n_recomputed++;
  wread rd;
  memset(&rd, 0, sizeof rd);
  int64_t *perm = td_malloc((size_t)(n + 1) * sizeof *perm), *starts = NULL, n_parts = 0;
  /* the result's columns: the input's, then the functions' */
  td_shared_array **sh = td_calloc((size_t)(nf + op->n_fns) + 1, sizeof *sh);
  td_colview *v = td_calloc((size_t)(nf + op->n_fns) + 1, sizeof *v);
  td_value *cst = td_calloc((size_t)(nf + op->n_fns) + 1, sizeof *cst); /* a constant column's value (type NONE: none) */
  int rc = perm && sh && v && cst ? TD_OK : td_err_nomem(err, "computing a window");
  if (rc == TD_OK) rc = read_rows(src, d->snap, op->in_cols, op->n_cols, op->codes, 0, n, &rd, err);
  for (int64_t i = 0; rc == TD_OK && op->inc && i < nf; i++)
    if (op->used[i] && (rc = td_array_init(&op->mat[i], rd.views[i].type, n, err)) == TD_OK)
      rc = td_array_append_view(&op->mat[i], &rd.views[i], 0, n, err);
  /* the rows ordered for function perm_of (-1: none yet); partitioned for group_of */
  int64_t perm_of = -1, group_of = -1, n_groups = 0;
  uint32_t *gid = NULL;
  for (int64_t j = 0; rc == TD_OK && j < op->n_fns; j++) {
    const wfn *f = &op->fns[j];
    bool whole = !op->inc && whole_kind(f);
    td_sort_key keys[TD_WIN_MAX_KEYS];
    for (int64_t k = 0; k < f->n_keys; k++) keys[k] = (td_sort_key){&rd.keys[f->keys[k]], f->desc[k]};
    if (whole && (group_of < 0 || !same_sort(f, &op->fns[group_of]))) {
      td_free(gid);
      rc = td__win_groups(keys, f->n_part, n, t->threads, &gid, &n_groups, err);
      group_of = j;
    } else if (!whole && (perm_of < 0 || !same_sort(f, &op->fns[perm_of]))) {
      td_free(starts);
      rc = td__win_partition(keys, f->n_keys, f->n_part, n, t->threads, perm, &starts, &n_parts, err);
      perm_of = j;
    }
    td_array a;
    memset(&a, 0, sizeof a);
    if (rc == TD_OK && whole) rc = whole_fn(f, rd.keys, gid, n_groups, n, t->threads, &a, &cst[nf + j], err);
    else if (rc == TD_OK) rc = run_fn(op, j, rd.keys, perm, starts, n_parts, n, t->threads, &a, err);
    struct ArrowArray arr;
    td_type_id type = a.type;
    if (rc == TD_OK && cst[nf + j].type != TD_TYPE_NONE) { /* one value: a constant column */
    } else if (rc == TD_OK && (rc = td_array_export(&a, &arr, err)) == TD_OK &&
        (rc = td_shared_array_new(&arr, &sh[nf + j], err)) == TD_OK)
      rc = td_colview_init(&v[nf + j], type, &sh[nf + j]->array, err);
    td_array_reset(&a);
  }
  for (int64_t i = 0; rc == TD_OK && i < nf; i++) { /* the input's columns, shared */
    v[i] = rd.views[i];
    rc = td_shared_array_new(&rd.arrs[i], &sh[i], err);
  }
  td_free(perm); /* before the result's chunks are made */
  perm = NULL;
  td_free(gid);
  if (rc == TD_OK) rc = publish(v, sh, cst, nf + op->n_fns, n, d->version, &out->snap, err);
  out->replaced = true;
  if (rc == TD_OK && op->inc) {
    op->n_mat = n;
    op->built = true;
  }
  for (int64_t i = 0; sh && i < nf + op->n_fns; i++) td_shared_array_release(sh[i]);
  td_free(sh);
  td_free(v);
  td_free(cst);
  read_free(&rd);
  td_free(starts);
  return rc;
}

/* Appended rows only, from the live partitions; *fallback when they need a
 * recompute (nothing published then). */
static int win_append(td_table *t, const td_source_delta *d, td_op_result *out, bool *fallback, td_error *err) {
  wop *op = t->op;
  td_table *src = t->source;
  td_snapshot *cur = td_table_snapshot(t);
  int64_t b = cur->size, e = d->snap->size, m = e - b, nf = op->n_cols;
  if (d->n_ranges == 1 && m == 0 && d->ranges[0] == d->ranges[1]) { /* nothing appended */
    td_snapshot_release(cur);
    return TD_OK;
  }
  if (d->n_ranges != 1 || d->ranges[0] != b || d->ranges[1] != e || b != op->n_mat || m < 0) {
    *fallback = true;
    td_snapshot_release(cur);
    return TD_OK;
  }
  op->built = false; /* until the state is consistent again */
  wread rd;
  memset(&rd, 0, sizeof rd);
  td_colview *mv = td_calloc((size_t)nf + 1, sizeof *mv);
  td_dchunk *c = NULL;
  int rc = mv ? TD_OK : td_err_nomem(err, "computing a window");
  if (rc == TD_OK) rc = read_rows(src, d->snap, op->in_cols, op->n_cols, op->codes, b, e, &rd, err);
  for (int64_t i = 0; rc == TD_OK && i < nf; i++)
    if (op->used[i] && (rc = td_array_append_view(&op->mat[i], &rd.views[i], 0, m, err)) == TD_OK)
      mv[i] = td_builder_view(&op->mat[i]);
  if (rc == TD_OK) rc = td_dchunk_new(nf + op->n_fns, m, &c, err);
  for (int64_t j = 0; rc == TD_OK && !*fallback && j < op->n_fns; j++) {
    td_array a;
    memset(&a, 0, sizeof a);
    rc = append_fn(op, j, mv, b, m, &a, fallback, err);
    if (rc == TD_OK && !*fallback) rc = td_dchunk_set_array(c, nf + j, &a, err);
    td_array_reset(&a);
  }
  if (rc == TD_OK && !*fallback) rc = share_inputs(c, &rd, err);
  if (rc == TD_OK && !*fallback) rc = td_snapshot_derived(cur, &c, 1, d->version, &out->snap, err);
  if (rc == TD_OK && !*fallback) {
    out->replaced = false;
    out->appended_from = b;
    op->n_mat = e;
    op->built = true;
    op->n_incremental++;
  }
  td_dchunk_release(c);
  read_free(&rd);
  td_free(mv);
  td_snapshot_release(cur);
  return rc;
}

static int win_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  wop *op = t->op;
  if (!d->replaced && op->inc && op->built) {
    bool fallback = false;
    int rc = win_append(t, d, out, &fallback, err);
    if (rc || !fallback) return rc;
  }
  return win_full(t, d, out, err);
}

static void win_free(void *p) {
  wop *op = p;
  if (!op) return;
  state_reset(op);
  td_free(op->parts);
  td_free(op->mat);
  td_free(op->used);
  td_free(op->in_cols);
  td_free(op->codes);
  td_free(op->fns);
  td_free(op);
}

static const td_op_vtable win_vt = {win_apply, win_free, false};


/* ---- QUALIFY row_number() OVER (...) = 1: the first row per partition ---- */

/* Static tables compute it in one hashed pass (query/firstrow.c), as does
 * `rank() ... = 1` (every row tying the first). */

/* On a live source, `QUALIFY row_number() OVER (PARTITION BY p ORDER BY o)
 * = 1` (DISTINCT ON's form too) is one row per partition: the first in
 * (o, arrival) order.  The operator keeps partition i as result row i and
 * compares each appended row with its partition's row, so any appended row
 * (in order or not) costs O(1) plus the rewrite of the result's rows
 * (O(partitions), columns gathered in runs); a removal recomputes. */
typedef struct wtop {
  wfn f;          /* the row_number window (its keys) */
  wparts parts;   /* partition i is result row i (hashes only) */
  bool built;     /* parts match the published result */
  bool ties;      /* rank() = 1 (static only): every row tying the first */
  int64_t k;      /* > 1: `<= k` (static only, top_k_full), the QUALIFY applied after */
  int64_t n_incremental, n_recomputed;
} wtop;

/* The result: column c of row i from `from[i]` (-1: the current result
 * `cur`'s row i, else that row of `rd`), __w0 = 1. */
static int top_chunk(const td_dchunk *cur, const wread *rd, const int64_t *from, int64_t n, td_dchunk **out,
                     td_error *err) {
  int rc = td_dchunk_new(rd->nf + 1, n, out, err);
  for (int64_t c = 0; rc == TD_OK && c < rd->nf; c++) {
    td_array a;
    memset(&a, 0, sizeof a);
    rc = td_array_init(&a, rd->views[c].type, n, err);
    for (int64_t i = 0, e; rc == TD_OK && i < n; i = e) {
      if (from[i] >= 0) {
        rc = td_array_append_view(&a, &rd->views[c], from[i], 1, err);
        e = i + 1;
        continue;
      }
      for (e = i + 1; e < n && from[e] < 0;) e++; /* a run of kept rows */
      rc = td_array_append_view(&a, &cur->views[c], i, e - i, err);
    }
    if (rc == TD_OK) rc = td_dchunk_set_array(*out, c, &a, err);
    td_array_reset(&a);
  }
  td_value one = td_value_int(TD_TYPE_INT64, 1);
  if (rc == TD_OK) rc = td_dchunk_set_const(*out, rd->nf, &one, err);
  return rc;
}

static int top_full(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  wtop *op = t->op;
  const wfn *f = &op->f;
  parts_reset(&op->parts);
  op->n_recomputed++;
  int64_t *from = NULL, np = 0;
  td_dchunk *c = NULL;
  int rc = td__first_rows(d->snap, t->source->def, f->keys, f->desc, f->n_keys, f->n_part, op->ties, t->threads,
                          &from, &np, err);
  if (rc == TD_OK) rc = td__gather_rows(d->snap, t->source->def, from, np, 1, &c, err);
  td_value one = td_value_int(TD_TYPE_INT64, 1);
  if (rc == TD_OK) rc = td_dchunk_set_const(c, t->source->def->n_fields, &one, err);
  /* partition i is result row i (its hash, for appends) */
  wpass w;
  memset(&w, 0, sizeof w);
  w.f = f;
  for (int64_t k = 0; c && k < f->n_keys; k++) w.keys[k] = (td_sort_key){&c->views[f->keys[k]], f->desc[k]};
  for (int64_t i = 0; rc == TD_OK && t->refreshing && i < np; i++) {
    int64_t pi;
    rc = part_new(&op->parts, key_hash(&w, i), &pi, err);
  }
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, &c, 1, d->version, &out->snap, err);
  out->replaced = true;
  op->built = rc == TD_OK;
  td_dchunk_release(c);
  td_free(from);
  return rc;
}

/* Appended rows: each replaces its partition's row when it sorts before
 * it, or starts a partition (a new result row). */
static int top_append(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  wtop *op = t->op;
  const wfn *f = &op->f;
  td_snapshot *cur = td_table_snapshot(t);
  int64_t b = d->ranges[0], e = d->ranges[1], m = e - b, n_old = cur->size;
  const td_dchunk *old = cur->n_chunks ? cur->chunks[0] : NULL;
  wread rd;
  memset(&rd, 0, sizeof rd);
  int64_t *from = td_malloc((size_t)(n_old + m + 1) * sizeof *from);
  int64_t *changed = td_malloc((size_t)(n_old + 1) * sizeof *changed), n_changed = 0, np = n_old;
  int rc = from && changed ? TD_OK : td_err_nomem(err, "computing a window");
  if (rc == TD_OK) rc = read_rows(t->source, d->snap, NULL, 0, NULL, b, e, &rd, err);
  wpass nw, ow; /* keys over the appended rows and over the result */
  memset(&nw, 0, sizeof nw);
  memset(&ow, 0, sizeof ow);
  nw.f = ow.f = f;
  for (int64_t k = 0; rc == TD_OK && k < f->n_keys; k++) {
    nw.keys[k] = (td_sort_key){&rd.views[f->keys[k]], f->desc[k]};
    if (old) ow.keys[k] = (td_sort_key){&old->views[f->keys[k]], f->desc[k]};
  }
  for (int64_t i = 0; rc == TD_OK && i < n_old; i++) from[i] = -1;
  for (int64_t r = 0; rc == TD_OK && r < m; r++) {
    uint64_t h = key_hash(&nw, r);
    int64_t at = -1;
    for (int64_t s = (int64_t)(h & (uint64_t)(op->parts.n_slots - 1)); op->parts.n_slots && op->parts.slots[s];
         s = (s + 1) & (op->parts.n_slots - 1)) {
      int64_t i = op->parts.slots[s] - 1;
      if (op->parts.p[i].hash != h) continue;
      const wpass *iw = from[i] < 0 ? &ow : &nw;
      int64_t ir = from[i] < 0 ? i : from[i];
      if (td_sort_compare(nw.keys, f->n_part, r, iw->keys, ir) != 0) continue;
      at = i;
      if (td_sort_compare(nw.keys + f->n_part, f->n_keys - f->n_part, r, iw->keys + f->n_part, ir) < 0) {
        if (from[i] < 0 && i < n_old) changed[n_changed++] = i;
        from[i] = r;
      }
      break;
    }
    if (at < 0 && (rc = part_new(&op->parts, h, &at, err)) == TD_OK) from[np++] = r;
  }
  td_dchunk *c = NULL;
  if (rc == TD_OK && (n_changed || np > n_old)) {
    rc = top_chunk(old, &rd, from, np, &c, err);
    if (rc == TD_OK) rc = td_snapshot_derived(NULL, &c, 1, d->version, &out->snap, err);
    out->replaced = false;
    out->appended_from = n_old;
    out->changed = changed;
    out->n_changed = n_changed;
    changed = NULL;
  }
  if (rc == TD_OK) op->n_incremental++;
  else op->built = false;
  td_dchunk_release(c);
  read_free(&rd);
  td_free(from);
  td_free(changed);
  td_snapshot_release(cur);
  return rc;
}

/* QUALIFY row_number() / rank() ... <= k over a static input: per
 * partition the first k rows of a stable sort (rank: every row ranked at
 * most k) in one hashed pass (td__top_rows), in input order, with the
 * window's value; no window sort. */
static int top_k_full(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  wtop *op = t->op;
  const wfn *f = &op->f;
  op->n_recomputed++;
  int64_t *from = NULL, *num = NULL, np = 0, nf = t->source->def->n_fields;
  td_dchunk *c = NULL;
  td_array a;
  memset(&a, 0, sizeof a);
  int rc = td__top_rows(d->snap, t->source->def, f->keys, f->desc, f->n_keys, f->n_part, op->k, op->ties,
                        t->threads, &from, &num, &np, err);
  if (rc == TD_OK) rc = td__gather_rows(d->snap, t->source->def, from, np, 1, &c, err);
  if (rc == TD_OK) rc = td_array_init(&a, TD_TYPE_INT64, np, err);
  for (int64_t i = 0; rc == TD_OK && i < np; i++) rc = td_array_append_int(&a, num[i], err);
  if (rc == TD_OK) rc = td_dchunk_set_array(c, nf, &a, err);
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, &c, 1, d->version, &out->snap, err);
  out->replaced = true;
  td_array_reset(&a);
  td_dchunk_release(c);
  td_free(from);
  td_free(num);
  return rc;
}

static int top_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  wtop *op = t->op;
  if (op->k > 1) return top_k_full(t, d, out, err);
  /* one range: the input is a derived table (appends at its end) */
  if (!d->replaced && d->n_ranges == 1 && op->built) return top_append(t, d, out, err);
  return top_full(t, d, out, err);
}

static void top_free(void *p) {
  wtop *op = p;
  if (!op) return;
  parts_reset(&op->parts);
  td_free(op);
}

static const td_op_vtable top_vt = {top_apply, top_free, false};

/* Whether QUALIFY is exactly `__w0 = 1` (either way round). */
static bool qualify_first(const td_expr *q) {
  if (!q || q->kind != TD_EXPR_BINARY || q->op != TD_OP_EQ || q->n_args != 2) return false;
  for (int s = 0; s < 2; s++) {
    const td_expr *c = q->args[s], *l = q->args[1 - s];
    if (c->kind == TD_EXPR_COLUMN && strcmp(c->name, "__w0") == 0 && l->kind == TD_EXPR_LITERAL && !l->lit.is_null &&
        l->lit.type == TD_TYPE_INT64 && l->lit.v.i == 1)
      return true;
  }
  return false;
}

/* k when QUALIFY is `__w0 <= k` or `__w0 < k + 1` (either way round) for
 * some k > 1, else 0. */
static int64_t qualify_top_k(const td_expr *q) {
  if (!q || q->kind != TD_EXPR_BINARY || q->n_args != 2) return 0;
  for (int s = 0; s < 2; s++) {
    const td_expr *c = q->args[s], *l = q->args[1 - s];
    if (c->kind != TD_EXPR_COLUMN || strcmp(c->name, "__w0") != 0 || l->kind != TD_EXPR_LITERAL || l->lit.is_null ||
        l->lit.type != TD_TYPE_INT64)
      continue;
    td_op op = s == 0 ? q->op : td_op_mirror(q->op); /* as "__w0 op l" */
    int64_t k = op == TD_OP_LE ? l->lit.v.i : op == TD_OP_LT && l->lit.v.i > INT64_MIN ? l->lit.v.i - 1 : 0;
    return k > 1 && k <= 1000000 ? k : 0;
  }
  return 0;
}

/* ---- building ---- */

/* The hidden input columns of the windows (computed by one projection). */
typedef struct hidden {
  td_expr **items; /* bound */
  char **names;
  int64_t n, cap;
  const td_schema *def;
  int64_t base;      /* the projection's columns before the hidden ones */
  const int64_t *keep; /* ... source column of each */
} hidden;

/* The source column a column reference e names (-1: e is not one). */
static int64_t plain_column(const hidden *h, const td_expr *e) {
  return e && e->kind == TD_EXPR_COLUMN ? td_schema_find(h->def, e->name) : -1;
}

/* The type of projection column col. */
static td_type_id col_type(const hidden *h, int64_t col) {
  return col < h->base ? h->def->fields[h->keep[col]].type : h->items[col - h->base]->type;
}

/* Binds e over the source as a new hidden column; *col its index in the
 * projection (after the source's columns).  A source column the
 * projection already has (kept, or hidden before) is not added again: the
 * window reads every column it is given, a string column twice cost a
 * second copy of its bytes. */
static int hide(hidden *h, const td_expr *e, int64_t *col, td_error *err) {
  int64_t c = plain_column(h, e);
  for (int64_t i = 0; c >= 0 && i < h->base + h->n; i++)
    if (i < h->base ? h->keep[i] == c : plain_column(h, h->items[i - h->base]) == c) {
      *col = i;
      return TD_OK;
    }
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
  if (e->args[2]->lit.v.i & TD_WF_NAMED) /* OVER name outside a SELECT's reach of its WINDOW clause */
    return td_err_at(err, TD_EPARSE, e->pos, "the window %s is not defined at offset %lld", e->args[5]->name,
                     (long long)e->pos);
  static const struct { const char *name; wkind kind; int min, max; } fns[] = {
      {"row_number", W_ROW_NUMBER, 0, 0}, {"rank", W_RANK, 0, 0},        {"dense_rank", W_DENSE_RANK, 0, 0},
      {"lag", W_LAG, 1, 3},               {"lead", W_LEAD, 1, 3},        {"first_value", W_FIRST, 1, 1},
      {"last_value", W_LAST, 1, 1},       {"sum", W_SUM, 1, 1},          {"avg", W_AVG, 1, 1},
      {"mean", W_AVG, 1, 1},              {"min", W_MIN, 1, 1},          {"max", W_MAX, 1, 1},
      {"count", W_COUNT, 1, 1},           {"ntile", W_NTILE, 1, 1},      {"percent_rank", W_PERCENT_RANK, 0, 0},
      {"cume_dist", W_CUME_DIST, 0, 0},   {"nth_value", W_NTH, 2, 2}};
  memset(f, 0, sizeof *f);
  f->arg = f->dflt = -1;
  size_t i = 0;
  while (i < sizeof fns / sizeof *fns && strcmp(fns[i].name, fn->name) != 0) i++;
  if (i == sizeof fns / sizeof *fns)
    return td_err_at(err, TD_EPARSE, fn->pos,
                     "%s() OVER is not supported at offset %lld (window functions: row_number, rank, dense_rank, "
                     "percent_rank, cume_dist, ntile, lag, lead, first_value, last_value, nth_value, sum, avg, min, "
                     "max, count)",
                     fn->name, (long long)fn->pos);
  f->kind = fns[i].kind;
  if (f->kind == W_COUNT && fn->star) f->kind = W_COUNT_STAR;
  else if (fn->n_args < fns[i].min || fn->n_args > fns[i].max || fn->star)
    return td_err_at(err, TD_ETYPE, fn->pos, "%s() OVER expects %d to %d arguments, found %lld at offset %lld",
                     fn->name, fns[i].min, fns[i].max, (long long)fn->n_args, (long long)fn->pos);
  int rc = TD_OK;
  td_type_id at = TD_TYPE_NONE;
  if (f->kind == W_NTILE || f->kind == W_NTH) { /* the bucket count / row number: a constant */
    const td_expr *o = fn->args[f->kind == W_NTH];
    bool null = o->kind == TD_EXPR_LITERAL && o->lit.is_null;
    if (!null && (o->kind != TD_EXPR_LITERAL || o->lit.type != TD_TYPE_INT64))
      return td_err_at(err, TD_EPARSE, o->pos, "%s with an argument other than an integer constant is not supported "
                       "at offset %lld", fn->name, (long long)o->pos);
    f->offset = null ? 0 : o->lit.v.i;
    if (f->kind == W_NTILE && !null && f->offset <= 0)
      return td_err_at(err, TD_EINVAL, o->pos, "the argument of ntile must be greater than zero, found %lld at offset "
                       "%lld", (long long)f->offset, (long long)o->pos);
  }
  if (fn->n_args >= 1 && f->kind != W_NTILE && (rc = hide(h, fn->args[0], &f->arg, err)) == TD_OK)
    at = col_type(h, f->arg);
  if (rc) return rc;
  bool num = at != TD_TYPE_NONE && at != TD_TYPE_BOOL && !td_type_is_varlen(at) && at != TD_TYPE_DECIMAL128 &&
             td_type_unit_ns(at) == 0;
  bool fl = at == TD_TYPE_FLOAT64 || at == TD_TYPE_FLOAT32;
  if ((f->kind == W_SUM || f->kind == W_AVG) && !num)
    return td_err_at(err, TD_ETYPE, fn->pos, "%s() OVER expects a numeric argument, found %s at offset %lld",
                     fn->name, td_type_name(at), (long long)fn->pos);
  f->out = value_kind(f->kind) ? at
           : f->kind == W_AVG || (f->kind == W_SUM && fl) || f->kind == W_PERCENT_RANK || f->kind == W_CUME_DIST
               ? TD_TYPE_FLOAT64
               : TD_TYPE_INT64;
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
      td_type_id dt = col_type(h, f->dflt);
      bool dint = dt != TD_TYPE_FLOAT64 && dt != TD_TYPE_FLOAT32 && !td_type_is_varlen(dt) && dt != TD_TYPE_BOOL &&
                  dt != TD_TYPE_DECIMAL128 && td_type_unit_ns(dt) == 0;
      if (dt != at && !(num && dint) && !(fl && dt == TD_TYPE_FLOAT64))
        return td_err_at(err, TD_ETYPE, dv->pos, "%s's default must have the type of its argument (%s), found %s "
                         "at offset %lld", fn->name, td_type_name(at), td_type_name(dt), (long long)dv->pos);
    }
  }
  int64_t np = e->args[1]->lit.v.i, fflags = e->args[2]->lit.v.i, kind = fflags & 15, n = e->args[3]->lit.v.i;
  int64_t start = fflags >> 8 & 15, stop = fflags >> 12 & 15, n2 = e->args[4]->lit.v.i;
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
  bool offset = n > 0 || stop == TD_WB_FOLLOWING; /* a RANGE bound by the key's value */
  if (kind == TD_WFRAME_ROWS) {
    f->frame = F_ROWS;
    f->lo = n < 0 ? INT64_MIN : start == TD_WB_FOLLOWING ? n : -n;
    f->hi = stop == TD_WB_UNBOUNDED ? INT64_MAX : stop == TD_WB_FOLLOWING ? n2 : stop == TD_WB_PRECEDING ? -n2 : 0;
  } else if (kind == TD_WFRAME_RANGE && !offset && no == 0) {
    f->frame = F_WHOLE; /* every row a peer */
  } else if (kind == TD_WFRAME_RANGE && (n >= 0 || stop != TD_WB_DEFAULT)) {
    if (offset && no != 1)
      return td_err_at(err, TD_EPARSE, e->pos, "a RANGE frame with an offset needs exactly one ORDER BY "
                       "expression, found %lld at offset %lld", (long long)no, (long long)e->pos);
    td_type_id kt = offset ? col_type(h, f->range_col) : TD_TYPE_INT64;
    int64_t unit = td_type_unit_ns(kt);
    for (int b = 0; b < 2; b++) { /* each offset: numeric over numbers, an interval over times */
      bool iv = fflags & (b ? TD_WF_END_IV : TD_WF_START_IV), used = b ? stop == TD_WB_FOLLOWING : n > 0;
      if (used && (td_type_is_varlen(kt) || kt == TD_TYPE_BOOL || kt == TD_TYPE_DECIMAL128 || (iv && unit <= 0) ||
                   (!iv && unit > 0)))
        return td_err_at(err, TD_ETYPE, e->pos, "a RANGE frame over %s needs %s offset at offset %lld",
                         td_type_name(kt), unit > 0 ? "an INTERVAL" : "a numeric", (long long)e->pos);
    }
    f->frame = F_RANGE;
    f->n = n > 0 && (fflags & TD_WF_START_IV) ? n / unit : n;
    f->range_end = stop == TD_WB_UNBOUNDED ? R_UNBOUNDED : stop == TD_WB_FOLLOWING ? R_FOLLOWING : R_PEERS;
    f->n_after = stop == TD_WB_FOLLOWING && (fflags & TD_WF_END_IV) ? n2 / unit : n2;
  }
  return TD_OK;
}

/* On a live input whose every function can compute appended rows alone:
 * the state of incremental maintenance (the columns to materialize, the
 * partitions of each function). */
static int live_setup(wop *op, const td_table *pre, td_error *err) {
  op->n_cols = pre->def->n_fields;
  op->inc = pre->refreshing;
  for (int64_t j = 0; j < op->n_fns; j++) op->inc = op->inc && incremental_fn(&op->fns[j]);
  if (!op->inc) return TD_OK;
  op->used = td_calloc((size_t)op->n_cols + 1, sizeof *op->used);
  op->mat = td_calloc((size_t)op->n_cols + 1, sizeof *op->mat);
  op->parts = td_calloc((size_t)op->n_fns + 1, sizeof *op->parts);
  if (!op->used || !op->mat || !op->parts) return td_err_nomem(err, "planning a window");
  for (int64_t j = 0; j < op->n_fns; j++) {
    const wfn *f = &op->fns[j];
    for (int64_t k = 0; k < f->n_keys; k++) op->used[f->keys[k]] = true;
    if (f->arg >= 0) op->used[f->arg] = true;
    if (f->dflt >= 0) op->used[f->dflt] = true;
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

/* Which input columns of a fused operator are read as codes: strings that
 * are a PARTITION BY key and nothing else the functions read (an ORDER BY
 * compares strings; a value is taken from its column). */
static int codes_setup(wop *op, const td_schema *in, td_error *err) {
  if (!(op->codes = td_calloc((size_t)op->n_cols + 1, sizeof *op->codes))) return td_err_nomem(err, "planning a window");
  for (int64_t j = 0; j < op->n_fns; j++)
    for (int64_t k = 0; k < op->fns[j].n_part; k++)
      op->codes[op->fns[j].keys[k]] = in->fields[op->fns[j].keys[k]].type == TD_TYPE_UTF8;
  for (int64_t j = 0; j < op->n_fns; j++) {
    const wfn *f = &op->fns[j];
    for (int64_t k = f->n_part; k < f->n_keys; k++) op->codes[f->keys[k]] = false;
    if (f->arg >= 0) op->codes[f->arg] = false;
    if (f->dflt >= 0) op->codes[f->dflt] = false;
  }
  return TD_OK;
}

/* Whether e names a select item by its alias (not a source column): an
 * ORDER BY of it reads that item, whose columns the items mark. */
static bool select_alias(const td_select *q, const td_schema *def, const td_expr *e) {
  if (e->kind != TD_EXPR_COLUMN || td_schema_find(def, e->name) >= 0) return false;
  for (int64_t i = 0; i < q->n_items; i++)
    if (q->items[i].alias && q->items[i].expr && strcmp(q->items[i].alias, e->name) == 0) return true;
  return false;
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
  for (int64_t i = 0; i < q->n_order_by; i++)
    if (!select_alias(q, def, q->order_by[i].expr)) mark_used(q->order_by[i].expr, def, used, &all);
  mark_used(q->qualify, def, used, &all);
  int64_t nf = 0, *keep = td_calloc((size_t)def->n_fields + 1, sizeof *keep);
  for (int64_t i = 0; keep && i < def->n_fields; i++)
    if (all || used[i]) keep[nf++] = i;
  td_free(used);
  if (!keep) {
    td_expr_free(filter);
    return td_err_nomem(err, "planning a window");
  }
  hidden h = {.def = def, .base = nf, .keep = keep};
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
  /* Which operator: the first row(s) per partition, or the window
   * operator.  The window operator over a static source without WHERE whose
   * projection only picks source columns reads those columns from the
   * source itself (the projection is never materialized: it would hold the
   * columns a second time, strings decoded). */
  bool refreshing = src->refreshing, fused = false, first_rows = false;
  if (rc == TD_OK && op->n_fns == 1 && (op->fns[0].kind == W_ROW_NUMBER || op->fns[0].kind == W_RANK))
    first_rows = (qualify_first(q->qualify) && (op->fns[0].kind == W_ROW_NUMBER || !refreshing)) ||
          (!refreshing && qualify_top_k(q->qualify) > 1);
  if (rc == TD_OK && op->n_fns > 0 && !first_rows && !refreshing && !filter) {
    fused = true;
    for (int64_t i = 0; i < nf + h.n; i++) fused = fused && items[i]->kind == TD_EXPR_COLUMN;
  }
  td_table *pre = NULL;
  td_schema odef;
  td_schema_init(&odef);
  if (rc == TD_OK && fused) {
    op->n_cols = nf + h.n;
    if (!(op->in_cols = td_calloc((size_t)op->n_cols + 1, sizeof *op->in_cols))) rc = td_err_nomem(err, "planning a window");
    for (int64_t i = 0; rc == TD_OK && i < op->n_cols; i++) {
      op->in_cols[i] = td_schema_find(def, items[i]->name);
      rc = td_expr_field(items[i], def, names[i], &odef, err);
    }
    if (rc == TD_OK) rc = codes_setup(op, &odef, err);
  } else if (rc == TD_OK) {
    rc = td__sql_project(src, filter, items, nf + h.n, names, &pre, err);
    items = NULL;
    filter = NULL;
    if (rc == TD_OK) rc = td_schema_copy(pre->def, &odef, err);
  }
  for (int64_t j = 0, n_in = odef.n_fields; rc == TD_OK && j < op->n_fns; j++) {
    char name[32];
    snprintf(name, sizeof name, "__w%lld", (long long)j);
    const wfn *f = &op->fns[j];
    const td_field *in = f->arg >= 0 && f->arg < n_in ? &odef.fields[f->arg] : NULL;
    rc = td_schema_add(&odef, name, f->out, in && in->type == f->out ? in->tz : NULL, true, err);
  }
  td_table *t = NULL;
  bool first = false; /* QUALIFY is the first-row operator */
  if (rc == TD_OK && fused) {
    rc = td_derived_new(src, &odef, &win_vt, op, &t, err);
  } else if (rc == TD_OK && op->n_fns == 0) { /* QUALIFY without windows */
    t = pre;
    pre = NULL;
    win_free(op);
  } else if (rc == TD_OK && op->n_fns == 1 && qualify_first(q->qualify) &&
             (op->fns[0].kind == W_ROW_NUMBER || (op->fns[0].kind == W_RANK && !pre->refreshing))) {
    /* the first row per partition (rank: the rows tying it, static only) */
    wtop *top = td_calloc(1, sizeof *top);
    if (top) {
      top->f = op->fns[0];
      top->ties = op->fns[0].kind == W_RANK;
    }
    win_free(op);
    rc = top ? td_derived_new(pre, &odef, &top_vt, top, &t, err) : td_err_nomem(err, "planning a window");
    first = true;
  } else if (rc == TD_OK && op->n_fns == 1 && !pre->refreshing && qualify_top_k(q->qualify) > 1 &&
             (op->fns[0].kind == W_ROW_NUMBER || op->fns[0].kind == W_RANK)) {
    /* the first k rows per partition (rank: ranked at most k); the QUALIFY
     * is still applied to the result (every row passes it) */
    wtop *top = td_calloc(1, sizeof *top);
    if (top) {
      top->f = op->fns[0];
      top->ties = op->fns[0].kind == W_RANK;
      top->k = qualify_top_k(q->qualify);
    }
    win_free(op);
    rc = top ? td_derived_new(pre, &odef, &top_vt, top, &t, err) : td_err_nomem(err, "planning a window");
  } else if (rc == TD_OK) {
    rc = live_setup(op, pre, err);
    if (rc == TD_OK) rc = td_derived_new(pre, &odef, &win_vt, op, &t, err);
    else win_free(op);
  } else {
    win_free(op);
  }
  op = NULL;
  td_schema_reset(&odef);
  if (rc == TD_OK && q->qualify && !first) rc = td_expr_bind(q->qualify, t->def, 0, qualify, err);
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

int64_t td__window_stats(const td_table *t, int64_t *recomputed) {
  while (t && t->kind == TD_TABLE_DERIVED && t->op_vt != &win_vt && t->op_vt != &top_vt) t = t->source;
  if (!t || t->kind != TD_TABLE_DERIVED) return -1;
  if (t->op_vt == &top_vt) {
    const wtop *top = t->op;
    if (recomputed) *recomputed = top->n_recomputed;
    return top->n_incremental;
  }
  const wop *op = t->op;
  if (recomputed) *recomputed = op->n_recomputed;
  return op->n_incremental;
}

int64_t td__window_reads_source(const td_table *t) {
  while (t && t->kind == TD_TABLE_DERIVED && t->op_vt != &win_vt && t->op_vt != &top_vt) t = t->source;
  if (!t || t->kind != TD_TABLE_DERIVED || t->op_vt != &win_vt) return -1;
  const wop *op = t->op;
  return op->in_cols ? op->n_cols : 0;
}
