/*
 * query/agg_rewrite.c - aggregates computed from the incremental ones by a
 * rewrite of the unbound tree before planning: the variances and standard
 * deviations become expressions over count, sum(x) and sum(x * x) (in
 * float64), so they are maintained incrementally on live tables like sum.
 *
 *   var_samp(x)   = (sum(x*x) - sum(x)^2 / count(x)) / (count(x) - 1)   (NULL below 2 values)
 *   var_pop(x)    = (sum(x*x) - sum(x)^2 / count(x)) / count(x)          (NULL without values)
 *   stddev_samp, stddev_pop = sqrt of those; variance = var_samp, stddev = stddev_samp.
 *
 * and the boolean aggregates become sum, min and max over 1/0/NULL:
 *
 *   count_if(x) = sum(CASE WHEN x THEN 1 WHEN NOT x THEN 0 END)  (NULL without values, as DuckDB)
 *   bool_and(x) = min(CASE WHEN x THEN 1 WHEN NOT x THEN 0 END) = 1
 *   bool_or(x)  = max(CASE WHEN x THEN 1 WHEN NOT x THEN 0 END) = 1   (NULL without values)
 *
 * The single-pass formula loses about log10(mean^2 / variance) digits to
 * cancellation (prices of ~1000 with a variance of ~1 keep 10 digits).
 *
 * The moment statistics of one pair (y, x) (DuckDB's argument order) that
 * are plain aggregates of px = CAST(x AS DOUBLE) and py = CAST(y AS DOUBLE)
 * taken only where both are not NULL: regr_avgx/avgy = avg(px)/avg(py),
 * regr_count = count(px) (UINTEGER); and skewness(x), kurtosis(x): DuckDB's
 * sample formulas over sum(x), sum(x^2), sum(x^3), sum(x^4), written as its
 * finalizers compute them (NULL below 3 / 4 values or without spread).
 * (corr, covar_*, regr_slope/intercept/r2/sxx/syy/sxy keep DuckDB's
 * Welford-style state in query/agg.c.)
 */
#include <stdio.h>
#include <string.h>

#include "query/func.h"
#include "query/lex.h"
#include "query/strbuf.h"
#include "util/alloc.h"
#include "util/error.h"

static const struct {
  const char *name;
  bool pop, root;
} stats[] = {{"var_samp", false, false},    {"variance", false, false}, {"var_pop", true, false},
             {"stddev_samp", false, true},  {"stddev", false, true},    {"stddev_pop", true, true}};

static void set_pos(td_expr *e, int64_t pos) {
  e->pos = pos;
  for (int64_t i = 0; i < e->n_args; i++) set_pos(e->args[i], pos);
}

/* The boolean aggregates: their text over x (printed, parenthesized). */
static const struct {
  const char *name, *text;
} bools[] = {{"count_if", "sum(CASE WHEN (%s) THEN 1 WHEN NOT (%s) THEN 0 END)"},
             {"bool_and", "(min(CASE WHEN (%s) THEN 1 WHEN NOT (%s) THEN 0 END) = 1)"},
             {"bool_or", "(max(CASE WHEN (%s) THEN 1 WHEN NOT (%s) THEN 0 END) = 1)"}};

static int bool_index(const char *name) {
  for (int i = 0; i < (int)(sizeof bools / sizeof *bools); i++)
    if (strcmp(name, bools[i].name) == 0) return i;
  return -1;
}

/* The moment statistics: templates over {X} and {Y} (the pair's values,
 * doubles, NULL unless both are non-NULL) and the named parts below,
 * expanded until no brace is left. */
static const struct {
  const char *name;
  int n_args;
  const char *text;
} moments[] = {
    {"regr_avgx", 2, "avg({X})"},
    {"regr_avgy", 2, "avg({Y})"},
    {"regr_count", 2, "CAST(count({X}) AS UINTEGER)"}};

/* The named parts of the templates. */
static const struct {
  const char *name, *text;
} parts[] = {
    {"N", "CAST(count({X}) AS DOUBLE)"}};

static int moment_index(const char *name) {
  for (int i = 0; i < (int)(sizeof moments / sizeof *moments); i++)
    if (strcmp(name, moments[i].name) == 0) return i;
  return -1;
}

/* Appends template t with {X}, {Y} and the parts replaced. */
static void expand(td_strbuf *b, const char *t, const char *x, const char *y) {
  while (*t) {
    const char *o = strchr(t, '{');
    if (!o) {
      td__sb_put(b, t);
      return;
    }
    td__sb_putn(b, t, (size_t)(o - t));
    const char *c = strchr(o, '}');
    size_t n = (size_t)(c - o - 1);
    if (n == 1 && (o[1] == 'X' || o[1] == 'Y')) {
      td__sb_put(b, o[1] == 'X' ? x : y);
    } else {
      for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (strlen(parts[i].name) == n && memcmp(parts[i].name, o + 1, n) == 0) expand(b, parts[i].text, x, y);
    }
    t = c + 1;
  }
}

/* Rewrites moment statistic m of call e into *out. */
static int rewrite_moment(const td_expr *e, int m, td_expr **out, td_error *err) {
  if (e->n_args != moments[m].n_args || e->star)
    return td_err_at(err, TD_ETYPE, e->pos, "%s expects %d argument%s at offset %lld", e->name, moments[m].n_args,
                     moments[m].n_args > 1 ? "s" : "", (long long)e->pos);
  char *a[2] = {NULL, NULL};
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < e->n_args; i++) rc = td_expr_print(e->args[i], &a[i], err);
  td_strbuf x = {.err = err}, y = {.err = err}, t = {.err = err};
  if (rc == TD_OK) {
    /* y is args[0], x args[1] (DuckDB's order); one argument: x */
    const char *xs = a[e->n_args - 1], *ys = a[0];
    const char *xy[2][2] = {{xs, ys}, {ys, xs}};
    td_strbuf *sb[2] = {&x, &y};
    for (int i = 0; i < 2; i++) {
      if (e->n_args == 2) {
        td__sb_put(sb[i], "CASE WHEN (");
        td__sb_put(sb[i], xy[i][1]);
        td__sb_put(sb[i], ") IS NOT NULL THEN ");
      }
      td__sb_put(sb[i], "CAST((");
      td__sb_put(sb[i], xy[i][0]);
      td__sb_put(sb[i], ") AS DOUBLE)");
      if (e->n_args == 2) td__sb_put(sb[i], " END");
    }
    rc = x.rc ? x.rc : y.rc;
  }
  if (rc == TD_OK) {
    expand(&t, moments[m].text, x.p, y.p);
    rc = t.rc;
  }
  if (rc == TD_OK) rc = td_expr_parse(t.p, t.len, out, err);
  td_free(a[0]);
  td_free(a[1]);
  td_free(x.p);
  td_free(y.p);
  td_free(t.p);
  return rc;
}

bool td__is_stat_agg(const char *name) {
  for (size_t i = 0; i < sizeof stats / sizeof *stats; i++)
    if (strcmp(name, stats[i].name) == 0) return true;
  return bool_index(name) >= 0 || moment_index(name) >= 0;
}

int td__rewrite_stat_aggs(td_expr **slot, td_error *err) {
  td_expr *e = *slot;
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = td__rewrite_stat_aggs(&e->args[i], err);
    if (rc) return rc;
  }
  if (e->kind != TD_EXPR_CALL) return TD_OK;
  int m = moment_index(e->name);
  if (m >= 0) {
    td_expr *r;
    int rc = rewrite_moment(e, m, &r, err);
    if (rc) return rc;
    set_pos(r, e->pos);
    td_expr_free(e);
    *slot = r;
    return TD_OK;
  }
  int k = -1, b = bool_index(e->name);
  for (int i = 0; i < (int)(sizeof stats / sizeof *stats); i++)
    if (strcmp(e->name, stats[i].name) == 0) k = i;
  if (k < 0 && b < 0) return TD_OK;
  if (e->n_args != 1 || e->star)
    return td_err_at(err, TD_ETYPE, e->pos, "%s expects 1 argument at offset %lld", e->name, (long long)e->pos);
  char *x = NULL;
  int rc = td_expr_print(e->args[0], &x, err);
  if (rc) return rc;
  size_t cap = 16 * strlen(x) + 512;
  char *text = td_malloc(cap);
  if (!text) {
    td_free(x);
    return td_err_nomem(err, "planning an aggregate");
  }
  /* x is printed in full and parenthesized: its text re-parses to itself */
  if (b >= 0)
    snprintf(text, cap, bools[b].text, x, x);
  else
    snprintf(text, cap,
           "CASE WHEN count((%s)) > %d THEN %s(greatest(0.0, sum(CAST((%s) AS DOUBLE) * CAST((%s) AS DOUBLE)) - "
           "sum(CAST((%s) AS DOUBLE)) * sum(CAST((%s) AS DOUBLE)) / count((%s))) / (count((%s)) - %d)) END",
           x, stats[k].pop ? 0 : 1, stats[k].root ? "sqrt" : "", x, x, x, x, x, x, stats[k].pop ? 0 : 1);
  td_free(x);
  td_expr *r;
  rc = td_expr_parse(text, strlen(text), &r, err);
  td_free(text);
  if (rc) return rc;
  set_pos(r, e->pos);
  td_expr_free(e);
  *slot = r;
  return TD_OK;
}
