/*
 * query/plan.c - the public table operations (tabledata/query.h) and the SQL
 * planner that composes them.
 *
 * SQL plan, in order:
 *   1. WHERE is bound against the source's definition and split into
 *      conjuncts; those on partition columns only become the location
 *      predicate of the source table (pruned locations are never sized,
 *      subscribed or read), the whole filter is applied to the rows.
 *   2. Without aggregation: one select (filter + projection), then sort
 *      (ORDER BY result columns), then head (LIMIT).
 *   3. With GROUP BY, aggregates or DISTINCT: one aggregation (the filter is
 *      fused into it: no filtered copy), whose columns are the group keys
 *      __k<i> and aggregates __a<j>; then sort, head, and a final projection
 *      that computes the select items from those columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/agg_order.h"
#include "query/compose.h"
#include "query/func.h"
#include "query/lex.h"
#include "query/join.h"
#include "query/ops.h"
#include "query/par_stream.h"
#include "query/prune.h"
#include "query/sql.h"
#include "query/sql_from.h"
#include "query/copy.h"
#include "query/sql_window.h"
#include "query/stmts.h"
#include "query/strbuf.h"
#include "tabledata/query.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/hindex.h"

/* ---- items: "expr [AS name]" ---- */

static int parse_item(const char *text, td_expr **e, char **name, td_error *err) {
  *e = NULL;
  *name = NULL;
  td_parser p;
  td__parser_init(&p, text, strlen(text), err); /* reads the first token */
  int rc = td__parse_expr(&p, e);
  if (rc) return rc;
  if (td__accept_kw(&p, "AS") || (p.tok.kind == TK_IDENT && !td__is_reserved(p.tok.text, p.tok.len)) ||
      p.tok.kind == TK_QIDENT) {
    size_t n;
    if (p.tok.kind != TK_IDENT && p.tok.kind != TK_QIDENT) rc = td__expected(&p, "a column name after AS");
    else if (p.tok.kind == TK_QIDENT) rc = td__token_string(&p, name, &n);
    else if (!(*name = td_strndup(p.tok.text, p.tok.len))) rc = td_err_nomem(err, "parsing a column name");
    if (rc == TD_OK) td__next(&p);
  }
  if (rc == TD_OK && p.tok.kind != TK_EOF) rc = td__expected(&p, "the end of the expression");
  if (rc == TD_OK && !*name) rc = td_expr_print(*e, name, err);
  if (rc) {
    td_expr_free(*e);
    td_free(*name);
    *e = NULL;
    *name = NULL;
  }
  return rc;
}

/* ---- location predicates from partition conjuncts ---- */

typedef struct pred_ctx {
  td_expr **conj; /* bound partition-only conjuncts */
  int64_t n;
  int64_t n_fields;
  char **names;   /* partition column names, by field index */
  td_type_id *types;
  int64_t n_partition;
  td_location_predicate user;
  void *user_ctx;
  int64_t kept, pruned; /* locations decided so far (EXPLAIN), atomic */
} pred_ctx;

static void pred_free(void *v) {
  pred_ctx *c = v;
  if (!c) return;
  for (int64_t i = 0; i < c->n; i++) td_expr_free(c->conj[i]);
  for (int64_t i = 0; i < c->n_partition; i++) td_free(c->names[i]);
  td_free(c->conj);
  td_free(c->names);
  td_free(c->types);
  td_free(c);
}

static bool pred_eval(void *v, const td_location_key *key) {
  pred_ctx *c = v;
  if (c->user && !c->user(c->user_ctx, key)) {
    __atomic_add_fetch(&c->pruned, 1, __ATOMIC_RELAXED);
    return false;
  }
  td_value row[256];
  td_value *r = c->n_fields <= 256 ? row : td_calloc((size_t)c->n_fields, sizeof *r);
  if (!r) return true; /* cannot decide: keep (the row filter still applies) */
  for (int64_t i = 0; i < c->n_fields; i++) r[i] = td_value_null(TD_TYPE_NONE);
  for (int64_t i = 0; i < c->n_partition; i++) {
    const td_value *pv = td_location_key_find(key, c->names[i]);
    r[i] = pv ? *pv : td_value_null(c->types[i]);
  }
  bool keep = true;
  for (int64_t i = 0; keep && i < c->n; i++) {
    td_value out;
    keep = td_expr_eval_row(c->conj[i], r, &out, NULL) == TD_OK && !out.is_null && out.v.b;
  }
  if (r != row) td_free(r);
  __atomic_add_fetch(keep ? &c->kept : &c->pruned, 1, __ATOMIC_RELAXED);
  return keep;
}

/* Splits a bound filter: partition-only conjuncts go to a new predicate
 * context (NULL if none); *has_data tells whether other conjuncts remain. */
static int split_filter(const td_expr *f, const td_schema *def, int64_t n_partition, pred_ctx **out,
                        bool *has_data, td_error *err) {
  *out = NULL;
  *has_data = false;
  const td_expr *conj[256];
  int64_t n = td_expr_conjuncts(f, conj, 256);
  if (n > 256) {
    *has_data = true; /* very long filters are just filters */
    return TD_OK;
  }
  bool *part = td_calloc((size_t)def->n_fields + 1, sizeof *part);
  pred_ctx *c = td_calloc(1, sizeof *c);
  int rc = part && c ? TD_OK : td_err_nomem(err, "planning a filter");
  if (rc == TD_OK) {
    for (int64_t i = 0; i < n_partition; i++) part[i] = true;
    c->conj = td_calloc((size_t)n + 1, sizeof *c->conj);
    c->names = td_calloc((size_t)n_partition + 1, sizeof *c->names);
    c->types = td_calloc((size_t)n_partition + 1, sizeof *c->types);
    if (!c->conj || !c->names || !c->types) rc = td_err_nomem(err, "planning a filter");
  }
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    if (n_partition > 0 && td_expr_only_columns(conj[i], part, def->n_fields) && td_expr_columns(conj[i], NULL, 0) > 0) {
      rc = td_expr_clone(conj[i], &c->conj[c->n], err);
      if (rc == TD_OK) c->n++;
    } else {
      *has_data = true;
    }
  }
  if (rc == TD_OK) {
    c->n_fields = def->n_fields;
    c->n_partition = n_partition;
    for (int64_t i = 0; rc == TD_OK && i < n_partition; i++) {
      c->types[i] = def->fields[i].type;
      if (!(c->names[i] = td_strdup(def->fields[i].name))) rc = td_err_nomem(err, "planning a filter");
    }
  }
  td_free(part);
  if (rc || (c && c->n == 0)) {
    pred_free(c);
    return rc;
  }
  *out = c;
  return TD_OK;
}

/* The schema of a table key (loading the provider). */
static int key_definition(td_service *s, const td_table_key *key, const td_schema **def, int64_t *n_partition,
                          td_error *err) {
  td_provider *p;
  int rc = td_service_provider(s, key, &p, err);
  if (rc) return rc;
  *def = &p->def;
  *n_partition = p->n_partition;
  return TD_OK;
}

/* A source table with the filter's partition conjuncts as its predicate;
 * *filter_out receives the bound filter when it has other conjuncts. */
static int make_source(td_service *s, const td_table_key *key, const td_expr *filter_unbound,
                       const td_table_options *opts, td_table **out, td_expr **filter_out, td_error *err) {
  *out = NULL;
  *filter_out = NULL;
  const td_schema *def;
  int64_t np;
  int rc = key_definition(s, key, &def, &np, err);
  if (rc) return rc;
  td_table_options o;
  if (opts) o = *opts;
  else memset(&o, 0, sizeof o);
  pred_ctx *pc = NULL;
  td_expr *bound = NULL;
  bool has_data = false;
  if (filter_unbound) {
    rc = td_expr_bind(filter_unbound, def, 0, &bound, err);
    if (rc == TD_OK && bound->type != TD_TYPE_BOOL)
      rc = td_err_at(err, TD_ETYPE, filter_unbound->pos, "a filter must be a bool expression, found %s",
                     td_type_name(bound->type));
    if (rc == TD_OK) rc = split_filter(bound, def, np, &pc, &has_data, err);
  }
  if (rc == TD_OK && pc) {
    pc->user = o.predicate;
    pc->user_ctx = o.predicate_ctx;
    o.predicate = pred_eval;
    o.predicate_ctx = pc;
  }
  if (rc == TD_OK) rc = td_make_table(s, key, &o, out, err);
  if (rc == TD_OK && pc) {
    (*out)->owned_ctx = pc;
    (*out)->owned_ctx_free = pred_free;
    pc = NULL;
  }
  pred_free(pc);
  if (rc == TD_OK && has_data) *filter_out = bound;
  else td_expr_free(bound);
  return rc;
}

/* ---- the table operations ---- */

static int where_bound(td_table *src, td_expr *bound, td_table **out, td_error *err) {
  td_select_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.filter = bound;
  spec.n_fields = src->def->n_fields;
  return td_op_select(src, &spec, src->def, out, err);
}

int td_table_where(td_table *src, const char *filter, td_table **out, td_error *err) {
  if (!out) return td_err(err, TD_EINVAL, "td_table_where needs an out pointer");
  *out = NULL;
  if (!src || !filter) return td_err(err, TD_EINVAL, "td_table_where needs a table and a filter");
  td_expr *e, *b = NULL;
  int rc = td_expr_parse(filter, strlen(filter), &e, err);
  if (rc) return rc;
  rc = td_expr_bind(e, src->def, 0, &b, err);
  if (rc == TD_OK && b->type != TD_TYPE_BOOL)
    rc = td_err_at(err, TD_ETYPE, e->pos, "a filter must be a bool expression, found %s", td_type_name(b->type));
  td_expr_free(e);
  if (rc) {
    td_expr_free(b);
    return rc;
  }
  return where_bound(src, b, out, err);
}

int td_make_table_where(td_service *s, const td_table_key *key, const char *filter, const td_table_options *opts,
                        td_table **out, td_error *err) {
  *out = NULL;
  if (!s || !key) return td_err(err, TD_EINVAL, "td_make_table_where needs a service and a table key");
  td_expr *e = NULL, *rest;
  int rc = filter && *filter ? td_expr_parse(filter, strlen(filter), &e, err) : TD_OK;
  td_table *src;
  if (rc == TD_OK) rc = make_source(s, key, e, opts, &src, &rest, err);
  td_expr_free(e);
  if (rc) return rc;
  if (!rest) {
    *out = src;
    return TD_OK;
  }
  rc = where_bound(src, rest, out, err);
  td_table_release(src);
  return rc;
}

int td_table_view(td_table *src, const char *const *columns, int64_t n, td_table **out, td_error *err) {
  return td__table_view(src, columns, n, false, out, err);
}

int td__table_view(td_table *src, const char *const *columns, int64_t n, bool keep_codes, td_table **out,
                   td_error *err) {
  *out = NULL;
  if (!src || n < 1 || !columns) return td_err(err, TD_EINVAL, "td_table_view needs a table and columns");
  td_select_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.n_fields = src->def->n_fields;
  spec.items = td_calloc((size_t)n, sizeof *spec.items);
  td_schema def;
  td_schema_init(&def);
  int rc = spec.items ? TD_OK : td_err_nomem(err, "creating a view");
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    td_expr *e;
    char *name;
    if ((rc = parse_item(columns[i], &e, &name, err)) != TD_OK) break;
    rc = td_expr_bind(e, src->def, 0, &spec.items[i], err);
    if (rc == TD_OK) {
      spec.n_items = i + 1;
      if (td_schema_find(&def, name) >= 0) rc = td_err(err, TD_EINVAL, "column name '%s' appears twice", name);
      else rc = td_expr_field(spec.items[i], src->def, name, &def, err);
    }
    td_expr_free(e);
    td_free(name);
  }
  bool plain = true;
  for (int64_t i = 0; rc == TD_OK && i < n; i++) plain = plain && spec.items[i]->kind == TD_EXPR_COLUMN;
  spec.keep_codes = keep_codes && plain;
  if (rc == TD_OK) rc = td_op_select(src, &spec, &def, out, err); /* takes spec */
  else td_select_spec_reset(&spec);
  td_schema_reset(&def);
  return rc;
}

int td_table_head(td_table *src, int64_t n, td_table **out, td_error *err) {
  if (!src || !out) return td_err(err, TD_EINVAL, "td_table_head needs a table and an out pointer");
  const int64_t *cols;
  const bool *desc;
  int64_t n_keys;
  /* the head of a sort not computed yet: a top-N of the sort's source */
  if (n >= 0 && td_op_unsorted_sort(src, &cols, &desc, &n_keys))
    return td_op_topn(src->source, cols, desc, n_keys, n, out, err);
  return td_op_slice(src, n, false, out, err);
}

int td_table_tail(td_table *src, int64_t n, td_table **out, td_error *err) {
  if (!src || !out) return td_err(err, TD_EINVAL, "td_table_tail needs a table and an out pointer");
  return td_op_slice(src, n, true, out, err);
}

int td_table_sort(td_table *src, const char *const *columns, const bool *descending, int64_t n, td_table **out,
                  td_error *err) {
  if (!src || !columns || !out) return td_err(err, TD_EINVAL, "td_table_sort needs a table, columns and an out pointer");
  *out = NULL;
  int64_t cols[64];
  if (n < 1 || n > 64) return td_err(err, TD_EINVAL, "sort takes 1 to 64 columns, got %lld", (long long)n);
  for (int64_t i = 0; i < n; i++) {
    cols[i] = td_schema_find(src->def, columns[i]);
    if (cols[i] < 0) return td_err(err, TD_EINVAL, "sort: unknown column '%s'", columns[i]);
  }
  return td_op_sort_lazy(src, cols, descending, n, out, err);
}

/* An aggregate call "f(x)" bound against def (arg_max(arg, val): val to
 * *input2, else NULL there). */
static int bind_agg(const td_expr *e, const td_schema *def, td_agg_kind *kind, td_expr **input, td_expr **input2,
                    td_agg_param *param, td_error *err) {
  *input = *input2 = NULL;
  if (e->kind != TD_EXPR_CALL || td_agg_kind_from_name(e->name) == TD_AGG_NONE)
    return td_err_at(err, TD_ETYPE, e->pos, "expected an aggregate such as sum(x) at offset %lld",
                     (long long)e->pos);
  *kind = td_agg_kind_from_name(e->name);
  if (e->star && *kind != TD_AGG_COUNT) return td__agg_star_error(e, err); /* sum(*): not count(*) */
  if (e->star) {
    *kind = TD_AGG_COUNT_STAR;
    return TD_OK;
  }
  int lo, hi;
  td__agg_arity(*kind, e->name, &lo, &hi);
  if (e->n_args < lo || e->n_args > hi)
    return td_err_at(err, TD_ETYPE, e->pos, "%s takes %s at offset %lld", e->name,
                     hi == 1 ? "one argument" : lo == 2 ? "two arguments" : "one or two arguments", (long long)e->pos);
  for (int64_t i = 0; i < e->n_args; i++)
    if (td_expr_has_agg(e->args[i]))
      return td_err_at(err, TD_ETYPE, e->args[i]->pos, "aggregates cannot be nested at offset %lld",
                       (long long)e->args[i]->pos);
  int rc = td__agg_bind_param(e, *kind, param, err);
  if (rc == TD_OK && td_agg_two_inputs(*kind)) {
    rc = td__agg_bind_input2(e, *kind, def, input2, err);
    if (rc == TD_OK && (*input2)->type == TD_TYPE_NONE)
      rc = td_err_at(err, TD_ETYPE, e->args[1]->pos, "%s of an untyped NULL at offset %lld", e->name,
                     (long long)e->args[1]->pos);
    else if (rc == TD_OK && td_agg_is_pair_stat(*kind) && (*input2)->type != TD_TYPE_FLOAT64)
      rc = td_err_at(err, TD_ETYPE, e->args[1]->pos, "%s expects a numeric argument, found %s at offset %lld",
                     e->name, td_type_name((*input2)->type), (long long)e->args[1]->pos);
    if (rc) {
      td_expr_free(*input2);
      *input2 = NULL;
    }
  }
  if (rc == TD_OK) rc = td__agg_bind_input(e, *kind, def, input, err);
  if (rc == TD_OK && td_agg_result_type(*kind, (*input)->type) == TD_TYPE_NONE) {
    /* name the aggregate as the user wrote it, not the plan's column */
    char *text = NULL;
    td_error tmp;
    if (td_expr_print(e, &text, &tmp) != TD_OK) text = NULL;
    if (td_type_is_duration((*input)->type)) /* DuckDB has no sum(INTERVAL); avg: not yet */
      rc = td_err_at(err, TD_EUNSUPPORTED, e->args[0]->pos,
                     "%s of a duration is not supported in %.200s at offset %lld (epoch(x) is its seconds as a double)",
                     e->name, text ? text : e->name, (long long)e->args[0]->pos);
    else
      rc = td_err_at(err, TD_ETYPE, e->args[0]->pos, "%s expects a numeric argument, found %s in %.200s at offset %lld",
                     e->name, td_type_name((*input)->type), text ? text : e->name, (long long)e->args[0]->pos);
    td_free(text);
    td_expr_free(*input);
    *input = NULL;
  }
  if (rc) {
    td_expr_free(*input2);
    *input2 = NULL;
  }
  if (rc && param->sep) { /* the plan frees the params of bound aggregates only */
    td_free((char *)param->sep);
    param->sep = NULL;
  }
  return rc;
}

static int plan_alloc(td_agg_plan *p, int64_t n_keys, int64_t n_aggs, td_error *err) {
  memset(p, 0, sizeof *p);
  p->keys = td_calloc((size_t)n_keys + 1, sizeof *p->keys);
  p->key_names = td_calloc((size_t)n_keys + 1, sizeof *p->key_names);
  p->inputs = td_calloc((size_t)n_aggs + 1, sizeof *p->inputs);
  p->inputs2 = td_calloc((size_t)n_aggs + 1, sizeof *p->inputs2);
  p->agg_names = td_calloc((size_t)n_aggs + 1, sizeof *p->agg_names);
  p->kinds = td_calloc((size_t)n_aggs + 1, sizeof *p->kinds);
  p->params = td_calloc((size_t)n_aggs + 1, sizeof *p->params);
  if (!p->keys || !p->key_names || !p->inputs || !p->inputs2 || !p->agg_names || !p->kinds || !p->params) {
    td_agg_plan_reset(p);
    return td_err_nomem(err, "planning an aggregation");
  }
  return TD_OK;
}

int td_table_agg_by(td_table *src, const char *const *aggs, int64_t n_aggs, const char *const *by, int64_t n_by,
                    td_table **out, td_error *err) {
  *out = NULL;
  if (!src || (n_aggs < 1 && n_by < 1) || (n_aggs > 0 && !aggs) || (n_by > 0 && !by))
    return td_err(err, TD_EINVAL, "agg_by needs aggregates or group columns");
  td_agg_plan p;
  int rc = plan_alloc(&p, n_by, n_aggs, err);
  for (int64_t i = 0; rc == TD_OK && i < n_by; i++) {
    td_expr *e;
    if ((rc = parse_item(by[i], &e, &p.key_names[i], err)) != TD_OK) break;
    p.n_keys = i + 1; /* the name is the plan's now, bound or not */
    rc = td_expr_bind(e, src->def, 0, &p.keys[i], err);
    td_expr_free(e);
  }
  for (int64_t j = 0; rc == TD_OK && j < n_aggs; j++) {
    td_expr *e;
    if ((rc = parse_item(aggs[j], &e, &p.agg_names[j], err)) != TD_OK) break;
    p.n_aggs = j + 1;
    rc = bind_agg(e, src->def, &p.kinds[j], &p.inputs[j], &p.inputs2[j], &p.params[j], err);
    td_expr_free(e);
  }
  if (rc) {
    td_agg_plan_reset(&p);
    return rc;
  }
  return td_op_agg(src, &p, out, err);
}

/* ---- SQL ---- */


static uint64_t name_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h ^ (h >> 31);
}

/* Equality callbacks: ctx points to {array, key}. */
typedef struct name_key {
  char *const *names;
  const char *name;
} name_key;
static bool name_eq(const void *ctx, int64_t i) {
  const name_key *k = ctx;
  return strcmp(k->names[i], k->name) == 0;
}
typedef struct expr_key {
  const td_expr *const *exprs;
  const td_expr *e;
} expr_key;
static bool expr_eq(const void *ctx, int64_t i) {
  const expr_key *k = ctx;
  return td_expr_equal(k->exprs[i], k->e);
}

typedef struct sql_plan {
  td_select *q;
  bool q_borrowed;      /* a composed statement's part: not freed here */
  int64_t n_items;      /* after expanding '*' */
  td_expr **items;      /* unbound, owned */
  char **names;
  bool aggregate;
  /* aggregation */
  const td_expr **keys; /* unbound group keys (borrowed from q or items) */
  int64_t n_keys;
  const td_expr **aggs; /* unbound aggregate calls (borrowed) */
  int64_t n_aggs, cap_aggs;
  hindex key_ix, agg_ix; /* of keys and aggs, by td_expr_hash */
  td_win_set *win;       /* windows, QUALIFY, DISTINCT ON (query/sql_window.c) */
} sql_plan;

static void sql_plan_reset(sql_plan *sp) {
  for (int64_t i = 0; i < sp->n_items; i++) {
    td_expr_free(sp->items[i]);
    td_free(sp->names[i]);
  }
  td_free(sp->items);
  td_free(sp->names);
  td_free(sp->keys);
  td_free(sp->aggs);
  hindex_reset(&sp->key_ix);
  hindex_reset(&sp->agg_ix);
  td__window_set_free(sp->win);
  if (!sp->q_borrowed) td_select_free(sp->q);
  memset(sp, 0, sizeof *sp);
}


/* Names item i, whose name an earlier item has, "<name> #<position>"
 * (with more '#' until no item has that name). */
static int rename_dup(sql_plan *sp, int64_t i, td_error *err) {
  size_t len = strlen(sp->names[i]) + 48;
  char *name = td_malloc(len);
  if (!name) return td_err_nomem(err, "planning a query");
  for (int hashes = 1;; hashes++) {
    snprintf(name, len, "%s %.*s%lld", sp->names[i], hashes < 16 ? hashes : 16, "################", (long long)i + 1);
    bool taken = false;
    for (int64_t j = 0; j < sp->n_items && !taken; j++) taken = sp->names[j] && strcmp(sp->names[j], name) == 0;
    if (!taken || hashes >= 16) break;
  }
  td_free(sp->names[i]);
  sp->names[i] = name;
  return TD_OK;
}

/* Whether e names column `name` somewhere. */
static bool expr_names(const td_expr *e, const char *name) {
  if (!e) return false;
  if (e->kind == TD_EXPR_COLUMN && e->name && strcmp(e->name, name) == 0) return true;
  for (int64_t i = 0; i < e->n_args; i++)
    if (expr_names(e->args[i], name)) return true;
  return false;
}

/* Whether a FROM subquery's items may be narrowed to those its outer
 * statement reads: it maps rows one to one to its source's (no DISTINCT,
 * aggregation, set operation or QUALIFY, which an item could change), and
 * no ORDER BY names an item by its position. */
static bool prunable(const td_select *q) {
  if (!q->outer || q->stmt != TD_STMT_SELECT || q->distinct || q->n_distinct_on || q->n_terms || q->later_term ||
      q->n_group_by || q->group_by_all || q->having || q->qualify)
    return false;
  for (int64_t i = 0; i < q->n_items; i++)
    if (q->items[i].expr && td_expr_has_agg(q->items[i].expr)) return false;
  for (int64_t i = 0; i < q->n_order_by; i++)
    if (q->order_by[i].expr->kind == TD_EXPR_LITERAL) return false;
  return true;
}

/* Whether a FROM subquery's item named `name` is read: by its outer
 * statement, or by its own ORDER BY (an alias). */
static bool item_read(const td_select *q, const char *name) {
  bool r = td__select_reads(q->outer, name);
  for (int64_t k = 0; k < q->n_order_by && !r; k++) r = expr_names(q->order_by[k].expr, name);
  return r;
}

/* A FROM subquery's items narrowed to those read (item_read), at least one
 * (the first, when none is): `SELECT count(*) FROM (SELECT * FROM t WHERE
 * x > 1)` computes one column, not all of t's. */
static void prune_items(sql_plan *sp) {
  const td_select *q = sp->q;
  if (!prunable(q)) return;
  bool any = false;
  for (int64_t i = 0; i < sp->n_items && !any; i++) any = item_read(q, sp->names[i]);
  int64_t n = 0;
  for (int64_t i = 0; i < sp->n_items; i++) {
    if (any ? item_read(q, sp->names[i]) : i == 0) {
      sp->items[n] = sp->items[i];
      sp->names[n++] = sp->names[i];
    } else {
      td_expr_free(sp->items[i]);
      td_free(sp->names[i]);
    }
  }
  sp->n_items = n;
}

/* Expands '*' and names the items. */
static int expand_items(sql_plan *sp, const td_schema *def, td_error *err) {
  const td_select *q = sp->q;
  int64_t n = 0;
  for (int64_t i = 0; i < q->n_items; i++) n += q->items[i].expr ? 1 : def->n_fields;
  sp->items = td_calloc((size_t)n + 1, sizeof *sp->items);
  sp->names = td_calloc((size_t)n + 1, sizeof *sp->names);
  if (!sp->items || !sp->names) return td_err_nomem(err, "planning a query");
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < q->n_items; i++) {
    const td_select_item *it = &q->items[i];
    for (int64_t x = 0; !it->expr && x < it->n_exclude; x++)
      if (rc == TD_OK && td_schema_find(def, it->exclude[x]) < 0)
        rc = td_err_at(err, TD_ETYPE, it->pos, "EXCLUDE names '%s', which is not a column, at offset %lld",
                       it->exclude[x], (long long)it->pos);
    for (int64_t x = 0; !it->expr && x < it->n_replace; x++)
      if (rc == TD_OK && td_schema_find(def, it->replace_names[x]) < 0)
        rc = td_err_at(err, TD_ETYPE, it->replace[x]->pos, "REPLACE names '%s', which is not a column, at offset %lld",
                       it->replace_names[x], (long long)it->replace[x]->pos);
    if (!q->items[i].expr) {
      for (int64_t c = 0; rc == TD_OK && c < def->n_fields; c++) {
        bool skip = false;
        for (int64_t x = 0; x < it->n_exclude; x++) skip |= strcmp(it->exclude[x], def->fields[c].name) == 0;
        if (skip) continue;
        int64_t r = -1; /* REPLACE: this column's expression */
        for (int64_t x = 0; x < it->n_replace && r < 0; x++)
          if (strcmp(it->replace_names[x], def->fields[c].name) == 0) r = x;
        if (r >= 0) {
          rc = td_expr_clone(it->replace[r], &sp->items[sp->n_items], err);
          if (rc == TD_OK && !(sp->names[sp->n_items] = td_strdup(def->fields[c].name)))
            rc = td_err_nomem(err, "planning a query");
          sp->n_items++;
          continue;
        }
        sp->items[sp->n_items] = td__column_ref(def->fields[c].name, q->items[i].pos, err);
        sp->names[sp->n_items] = td_strdup(def->fields[c].name);
        if (!sp->items[sp->n_items] || !sp->names[sp->n_items]) rc = td_err_nomem(err, "planning a query");
        sp->n_items++;
      }
      continue;
    }
    rc = td_expr_clone(q->items[i].expr, &sp->items[sp->n_items], err);
    if (rc == TD_OK) rc = td_select_item_name(q, i, &sp->names[sp->n_items], err);
    sp->n_items++;
  }
  hindex names;
  memset(&names, 0, sizeof names);
  for (int64_t i = 0; rc == TD_OK && i < sp->n_items; i++) {
    name_key k = {sp->names, sp->names[i]};
    uint64_t h = name_hash(sp->names[i]);
    if (hindex_find(&names, h, name_eq, &k) >= 0 && q->later_term) {
      rc = rename_dup(sp, i, err); /* "x" becomes "x #2" (the column's position) */
      if (rc == TD_OK) rc = hindex_put(&names, name_hash(sp->names[i]), i, "planning a query", err);
    } else if (hindex_find(&names, h, name_eq, &k) >= 0)
      rc = td_err_at(err, TD_ETYPE, sp->items[i]->pos,
                     "the result has two columns named '%s' (use AS to rename one) at offset %lld", sp->names[i],
                     (long long)sp->items[i]->pos);
    else rc = hindex_put(&names, h, i, "planning a query", err);
  }
  hindex_reset(&names);
  if (rc == TD_OK) prune_items(sp);
  return rc;
}

/* Collects the distinct aggregate calls under e. */
static int collect_aggs(sql_plan *sp, const td_expr *e, td_error *err) {
  if (e->kind == TD_EXPR_CALL && td_agg_kind_from_name(e->name) != TD_AGG_NONE) {
    expr_key k = {sp->aggs, e};
    uint64_t h = td_expr_hash(e);
    if (hindex_find(&sp->agg_ix, h, expr_eq, &k) >= 0) return TD_OK;
    int rc = hindex_put(&sp->agg_ix, h, sp->n_aggs, "planning a query", err);
    if (rc) return rc;
    if (sp->n_aggs == sp->cap_aggs) {
      int64_t cap = sp->cap_aggs ? sp->cap_aggs * 2 : 8;
      const td_expr **a = td_realloc(sp->aggs, (size_t)cap * sizeof *a);
      if (!a) return td_err_nomem(err, "planning a query");
      sp->aggs = a;
      sp->cap_aggs = cap;
    }
    sp->aggs[sp->n_aggs++] = e;
    return TD_OK;
  }
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = collect_aggs(sp, e->args[i], err);
    if (rc) return rc;
  }
  return TD_OK;
}

/* Rewrites an item over the aggregation's output: group keys become __k<i>,
 * aggregates __a<j>; a column outside both is an error. */
/* The group key equal to e, or -1. */
static int64_t key_index(const sql_plan *sp, const td_expr *e) {
  expr_key kk = {sp->keys, e};
  return hindex_find(&sp->key_ix, td_expr_hash(e), expr_eq, &kk);
}

static int rewrite(const sql_plan *sp, const td_expr *e, td_expr **out, td_error *err) {
  char name[32];
  expr_key ka = {sp->aggs, e};
  int64_t ki = key_index(sp, e);
  if (ki >= 0) {
    snprintf(name, sizeof name, "__k%lld", (long long)ki);
    return (*out = td__column_ref(name, e->pos, err)) ? TD_OK : TD_ENOMEM;
  }
  int64_t aj = hindex_find(&sp->agg_ix, td_expr_hash(e), expr_eq, &ka);
  if (aj >= 0) {
    snprintf(name, sizeof name, "__a%lld", (long long)aj);
    return (*out = td__column_ref(name, e->pos, err)) ? TD_OK : TD_ENOMEM;
  }
  if (e->kind == TD_EXPR_COLUMN)
    return td_err_at(err, TD_ETYPE, e->pos,
                     "column '%s' must appear in GROUP BY or inside an aggregate at offset %lld", e->name,
                     (long long)e->pos);
  td_expr *c;
  int rc = td_expr_clone(e, &c, err);
  if (rc) return rc;
  for (int64_t i = 0; i < c->n_args; i++) td_expr_free(c->args[i]);
  int64_t n = c->n_args;
  c->n_args = 0;
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    td_expr *a;
    rc = rewrite(sp, e->args[i], &a, err);
    if (rc == TD_OK) rc = td__expr_add(c, a, err);
  }
  if (rc) {
    td_expr_free(c);
    return rc;
  }
  *out = c;
  return TD_OK;
}

/* A positional reference: an integer literal in ORDER BY or GROUP BY names
 * the select item at that 1-based position (after '*' is expanded).
 * *idx is the item's index, or -1 when e is not an integer literal.  A
 * position outside the select list is TD_ETYPE at the literal. */
static int positional(const sql_plan *sp, const td_expr *e, const char *clause, int64_t *idx, td_error *err) {
  *idx = -1;
  if (e->kind != TD_EXPR_LITERAL || e->lit.is_null || e->lit.type != TD_TYPE_INT64) return TD_OK;
  int64_t v = e->lit.v.i;
  if (v < 1 || v > sp->n_items)
    return td_err_at(err, TD_ETYPE, e->pos,
                     "%s position %lld is not in the select list at offset %lld (expected 1 to %lld)", clause,
                     (long long)v, (long long)e->pos, (long long)sp->n_items);
  *idx = v - 1;
  return TD_OK;
}

/* The select item an ORDER BY expression names (alias or equal
 * expression), or -1. */
static int64_t order_item(const sql_plan *sp, const td_expr *e) {
  if (e->kind == TD_EXPR_COLUMN)
    for (int64_t i = 0; i < sp->n_items; i++)
      if (strcmp(sp->names[i], e->name) == 0) return i;
  for (int64_t i = 0; i < sp->n_items; i++)
    if (td_expr_equal(sp->items[i], e)) return i;
  return -1;
}

/* A select op computing bound items; takes `items` (and `filter`).  With
 * n_keys > 0: the top `keep` rows of that projection by order/desc, fused
 * (td_op_select_topn: the projection is never materialized); without, a
 * `keep` > 0 is a LIMIT's head (td_select_spec.head: a static scan stops
 * once its first rows hold it). */
static int project_top(td_table *src, td_expr *filter, td_expr **items, int64_t n, char **names,
                       const int64_t *order, const bool *desc, int64_t n_keys, int64_t keep, td_table **out,
                       td_error *err) {
  td_select_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.filter = filter;
  spec.items = items;
  spec.n_items = n;
  spec.n_fields = src->def->n_fields;
  spec.head = n_keys == 0 ? keep : 0; /* a LIMIT without ORDER BY: the first rows */
  td_schema def;
  td_schema_init(&def);
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < n; i++) rc = td_expr_field(items[i], src->def, names[i], &def, err);
  if (rc == TD_OK && n_keys > 0) rc = td_op_select_topn(src, &spec, &def, order, desc, n_keys, keep, out, err);
  else if (rc == TD_OK) rc = td_op_select(src, &spec, &def, out, err);
  else td_select_spec_reset(&spec);
  td_schema_reset(&def);
  return rc;
}

static int project(td_table *src, td_expr *filter, td_expr **items, int64_t n, char **names, td_table **out,
                   td_error *err) {
  return project_top(src, filter, items, n, names, NULL, NULL, 0, 0, out, err);
}

int td__sql_project(td_table *src, td_expr *filter, td_expr **items, int64_t n, char **names, td_table **out,
                    td_error *err) {
  return project(src, filter, items, n, names, out, err);
}

static void free_exprs(td_expr **v, int64_t n) {
  for (int64_t i = 0; v && i < n; i++) td_expr_free(v[i]);
  td_free(v);
}

/*
 * The end of every plan: project the items (computed over `in`: `over[i]`
 * unbound, already rewritten for aggregations) plus hidden columns for ORDER
 * BY expressions that are not items, sort, limit, and drop the hidden
 * columns.  `filter` (bound over `in`, taken) is applied first.
 */
static int finish(sql_plan *sp, td_table *in, td_expr *filter, td_expr *const *over, td_table **out,
                  td_error *err) {
  const td_select *q = sp->q;
  /* sort keys: one per ORDER BY item, plus a hidden "x IS NOT NULL" key
   * before each NULLS FIRST item (false sorts first) */
  int64_t n = sp->n_items, total = n, order[128], n_keys = 0;
  bool desc[128];
  int64_t n_hidden = 2 * q->n_order_by;
  td_expr **bound = td_calloc((size_t)(n + n_hidden) + 1, sizeof *bound);
  char **names = td_calloc((size_t)(n + n_hidden) + 1, sizeof *names);
  int rc = bound && names ? TD_OK : td_err_nomem(err, "planning a query");
  if (rc == TD_OK && q->n_order_by > 64)
    rc = td_err_at(err, TD_EPARSE, q->order_by[64].pos, "ORDER BY takes at most 64 columns");
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    rc = td_expr_bind(over[i], in->def, 0, &bound[i], err);
    names[i] = sp->names[i];
  }
  for (int64_t i = 0; rc == TD_OK && i < q->n_order_by; i++) {
    const td_order_item *o = &q->order_by[i];
    int64_t at;
    rc = positional(sp, o->expr, "ORDER BY", &at, err);
    if (rc == TD_OK && at < 0) at = order_item(sp, o->expr);
    td_expr *h = NULL;
    if (rc == TD_OK && (at < 0 || o->nulls_first))
      rc = at >= 0 ? td_expr_clone(over[at], &h, err)
           : sp->aggregate ? rewrite(sp, o->expr, &h, err) : td_expr_clone(o->expr, &h, err);
    if (rc == TD_OK && o->nulls_first) { /* the hidden key "h IS NOT NULL" */
      td_expr *nn = td__expr_new(TD_EXPR_IS_NULL, o->pos, err), *hc = NULL;
      rc = nn ? td_expr_clone(h, &hc, err) : TD_ENOMEM;
      if (rc == TD_OK) {
        nn->negated = true;
        rc = td__expr_add(nn, hc, err);
      }
      if (rc == TD_OK) rc = td_expr_bind(nn, in->def, 0, &bound[total], err);
      td_expr_free(nn);
      char name[32];
      snprintf(name, sizeof name, "__n%lld", (long long)i);
      if (rc == TD_OK && !(names[total] = td_strdup(name))) rc = td_err_nomem(err, "planning a query");
      if (rc == TD_OK) {
        desc[n_keys] = false;
        order[n_keys++] = total++;
      }
    }
    if (rc == TD_OK && at < 0) {
      rc = td_expr_bind(h, in->def, 0, &bound[total], err);
      char name[32];
      snprintf(name, sizeof name, "__o%lld", (long long)i);
      if (rc == TD_OK && !(names[total] = td_strdup(name))) rc = td_err_nomem(err, "planning a query");
      if (rc == TD_OK) at = total++;
    }
    td_expr_free(h);
    if (rc == TD_OK) {
      desc[n_keys] = o->desc;
      order[n_keys++] = at;
    }
  }
  td_table *t = NULL;
  /* top-N: never sorts the whole input, nor materializes the projection */
  bool top = n_keys > 0 && q->has_limit;
  if (rc == TD_OK) {
    int64_t keep = !q->has_limit ? 0 : q->offset > INT64_MAX - q->limit ? INT64_MAX : q->offset + q->limit;
    rc = project_top(in, filter, bound, total, names, order, desc, top ? n_keys : 0, keep, &t, err);
    bound = NULL;
    filter = NULL;
  }
  td_table *next;
  if (rc == TD_OK && n_keys > 0 && !top && (rc = td_op_sort(t, order, desc, n_keys, &next, err)) == TD_OK) {
    td_table_release(t);
    t = next;
  }
  if (rc == TD_OK && q->offset > 0 &&
      (rc = td_op_slice_range(t, q->offset, q->has_limit ? q->limit : -1, &next, err)) == TD_OK) {
    td_table_release(t);
    t = next;
  } else if (rc == TD_OK && q->has_limit && n_keys == 0 && (rc = td_op_slice(t, q->limit, false, &next, err)) == TD_OK) {
    td_table_release(t);
    t = next;
  }
  if (rc == TD_OK && total > n) { /* drop the hidden ORDER BY columns */
    td_expr **keep = td_calloc((size_t)n + 1, sizeof *keep);
    if (!keep) rc = td_err_nomem(err, "planning a query");
    for (int64_t i = 0; rc == TD_OK && i < n; i++) {
      td_expr *c = td__column_ref(sp->names[i], 0, err);
      rc = c ? td_expr_bind(c, t->def, 0, &keep[i], err) : TD_ENOMEM;
      td_expr_free(c);
    }
    if (rc == TD_OK && (rc = project(t, NULL, keep, n, sp->names, &next, err)) == TD_OK) {
      td_table_release(t);
      t = next;
    } else if (rc) {
      free_exprs(keep, n);
    }
  }
  for (int64_t i = n; names && i < total; i++) td_free(names[i]);
  td_free(names);
  free_exprs(bound, total);
  td_expr_free(filter);
  if (rc) {
    td_table_release(t);
    return rc;
  }
  *out = t;
  return TD_OK;
}

static int plain_query(sql_plan *sp, td_table *src, td_expr *filter, td_table **out, td_error *err) {
  if (!sp->win) return finish(sp, src, filter, sp->items, out, err);
  td_table *w; /* the window columns, then QUALIFY as the filter */
  td_expr *qualify;
  int rc = td__window_build(sp->win, sp->q, sp->items, sp->n_items, src, filter, &w, &qualify, err);
  if (rc == TD_OK) {
    rc = finish(sp, w, qualify, sp->items, out, err);
    td_table_release(w);
  }
  return rc;
}

/* Whether e is the source column `name` itself among the group keys. */
static bool is_key_column(const sql_plan *sp, const char *name) {
  for (int64_t i = 0; i < sp->n_keys; i++)
    if (sp->keys[i]->kind == TD_EXPR_COLUMN && strcmp(sp->keys[i]->name, name) == 0) return true;
  return false;
}

/* HAVING may name a select alias (as in DuckDB: one that is not a grouped
 * source column, which could not be named there otherwise): each such name
 * in *slot becomes a copy of the item. */
static int having_aliases(const sql_plan *sp, const td_schema *def, td_expr **slot, td_error *err) {
  td_expr *e = *slot;
  if (e->kind == TD_EXPR_COLUMN && (td_schema_find(def, e->name) < 0 || !is_key_column(sp, e->name))) {
    for (int64_t k = 0; k < sp->n_items; k++)
      if (strcmp(sp->names[k], e->name) == 0) {
        td_expr *c;
        int rc = td_expr_clone(sp->items[k], &c, err);
        if (rc) return rc;
        td_expr_free(e);
        *slot = c;
        return TD_OK;
      }
    return TD_OK;
  }
  if (e->kind == TD_EXPR_CALL && td_agg_kind_from_name(e->name) != TD_AGG_NONE) return TD_OK; /* sum(v): the column */
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = having_aliases(sp, def, &e->args[i], err);
    if (rc) return rc;
  }
  return TD_OK;
}

/* Whether an aggregation's result may be built from its rows in any order
 * (td_agg_plan.unordered): a one-shot query whose ORDER BY names every
 * group key (so distinct groups never tie and the sort alone fixes the
 * order of the groups), over keys that are not floats (0.0 and -0.0 group
 * apart but sort as equals), with only aggregates whose value does not
 * depend on the order of the rows (float sums and averages: up to the last
 * bits, as the parallel merge already allows). */
static bool agg_unordered(const sql_plan *sp, const td_agg_plan *p, const td_table *src) {
  const td_select *q = sp->q;
  if (src->refreshing || p->n_keys == 0 || p->n_keys > 64 || q->n_order_by == 0) return false;
  for (int64_t j = 0; j < p->n_aggs; j++) {
    td_type_id in = p->inputs[j] ? p->inputs[j]->type : TD_TYPE_INT64;
    switch (p->kinds[j]) {
    case TD_AGG_COUNT_STAR: case TD_AGG_COUNT: case TD_AGG_SUM: case TD_AGG_AVG: case TD_AGG_COUNT_DISTINCT:
    case TD_AGG_SUM_DISTINCT: case TD_AGG_AVG_DISTINCT: case TD_AGG_APPROX_DISTINCT: case TD_AGG_BIT_AND:
    case TD_AGG_BIT_OR: case TD_AGG_BIT_XOR:
      break;
    case TD_AGG_MIN: case TD_AGG_MAX: /* min(0.0, -0.0) is the first seen */
      if (td_type_is_float(in)) return false;
      break;
    default:
      return false;
    }
  }
  for (int64_t k = 0; k < p->n_keys; k++)
    if (td_type_is_float(p->keys[k]->type)) return false;
  bool seen[64] = {false};
  int64_t covered = 0;
  for (int64_t i = 0; i < q->n_order_by; i++) {
    const td_expr *e = q->order_by[i].expr;
    int64_t at;
    if (positional(sp, e, "ORDER BY", &at, NULL) != TD_OK) return false;
    if (at < 0) at = order_item(sp, e);
    int64_t ki = key_index(sp, at >= 0 ? sp->items[at] : e); /* what rewrite makes __k<ki> */
    if (ki >= 0 && ki < p->n_keys && !seen[ki]) {
      seen[ki] = true;
      covered++;
    }
  }
  return covered == p->n_keys;
}

static int agg_query(sql_plan *sp, td_table *src, td_expr *filter, td_table **out, td_error *err) {
  const td_select *q = sp->q;
  int rc = TD_OK;
  /* Group keys: GROUP BY, or the items of a DISTINCT without it, unless
   * they aggregate: then they are one row, which DISTINCT keeps. */
  bool items_agg = false;
  for (int64_t i = 0; i < sp->n_items && !items_agg; i++) items_agg = td_expr_has_agg(sp->items[i]);
  int64_t nk = q->n_group_by ? q->n_group_by : (q->distinct && !items_agg ? sp->n_items : 0);
  int64_t *all = NULL; /* GROUP BY ALL: the items without aggregates */
  if (q->group_by_all) {
    all = td_calloc((size_t)sp->n_items + 1, sizeof *all);
    if (!all) rc = td_err_nomem(err, "planning a query");
    nk = 0;
    for (int64_t i = 0; all && i < sp->n_items; i++)
      if (!td_expr_has_agg(sp->items[i])) all[nk++] = i;
  }
  sp->keys = td_calloc((size_t)nk + 1, sizeof *sp->keys);
  if (!sp->keys) rc = td_err_nomem(err, "planning a query");
  for (int64_t i = 0; rc == TD_OK && i < nk; i++) {
    int64_t pos = all ? all[i] : -1;
    if (q->n_group_by) rc = positional(sp, q->group_by[i], "GROUP BY", &pos, err);
    if (rc == TD_OK && q->n_group_by && pos < 0 && q->group_by[i]->kind == TD_EXPR_COLUMN &&
        td_schema_find(src->def, q->group_by[i]->name) < 0) /* an alias of a select item */
      for (int64_t k = 0; k < sp->n_items && pos < 0; k++)
        if (strcmp(sp->names[k], q->group_by[i]->name) == 0) pos = k;
    if (rc == TD_OK && pos >= 0 && td_expr_has_agg(sp->items[pos]))
      rc = td_err_at(err, TD_ETYPE, q->group_by[i]->pos,
                     "GROUP BY position %lld refers to an aggregate (%s) at offset %lld", (long long)pos + 1,
                     sp->names[pos], (long long)q->group_by[i]->pos);
    sp->keys[i] = pos >= 0 ? sp->items[pos] : q->n_group_by ? q->group_by[i] : sp->items[i];
    expr_key k = {sp->keys, sp->keys[i]};
    uint64_t h = td_expr_hash(sp->keys[i]);
    if (rc == TD_OK && hindex_find(&sp->key_ix, h, expr_eq, &k) < 0) rc = hindex_put(&sp->key_ix, h, i, "planning a query", err);
  }
  td_free(all);
  sp->n_keys = nk;
  td_expr *agg_order = NULL; /* string_agg(x ORDER BY y): query/agg_order.c */
  for (int64_t i = 0; rc == TD_OK && i < sp->n_items; i++) rc = td__agg_order_strip(sp->items[i], &agg_order, err);
  if (rc == TD_OK && q->having) rc = having_aliases(sp, src->def, &sp->q->having, err);
  if (rc == TD_OK) rc = td__agg_order_strip(q->having, &agg_order, err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_order_by; i++) rc = td__agg_order_strip(q->order_by[i].expr, &agg_order, err);
  for (int64_t i = 0; rc == TD_OK && i < sp->n_items; i++) rc = collect_aggs(sp, sp->items[i], err);
  if (rc == TD_OK && q->having) rc = collect_aggs(sp, q->having, err);
  for (int64_t i = 0; rc == TD_OK && i < q->n_order_by; i++) rc = collect_aggs(sp, q->order_by[i].expr, err);
  td_agg_plan p;
  if (rc == TD_OK) rc = plan_alloc(&p, sp->n_keys, sp->n_aggs, err);
  if (rc) {
    td_expr_free(agg_order);
    td_expr_free(filter);
    return rc;
  }
  p.filter = filter;
  for (int64_t i = 0; rc == TD_OK && i < sp->n_keys; i++) {
    if (td_expr_has_agg(sp->keys[i]))
      rc = td_err_at(err, TD_ETYPE, sp->keys[i]->pos, "GROUP BY cannot use an aggregate at offset %lld",
                     (long long)sp->keys[i]->pos);
    else rc = td_expr_bind(sp->keys[i], src->def, 0, &p.keys[i], err);
    if (rc == TD_OK) {
      char name[32];
      snprintf(name, sizeof name, "__k%lld", (long long)i);
      if (!(p.key_names[i] = td_strdup(name))) rc = td_err_nomem(err, "planning a query");
      p.n_keys = i + 1;
    }
  }
  for (int64_t j = 0; rc == TD_OK && j < sp->n_aggs; j++) {
    rc = bind_agg(sp->aggs[j], src->def, &p.kinds[j], &p.inputs[j], &p.inputs2[j], &p.params[j], err);
    if (rc == TD_OK) {
      char name[32];
      snprintf(name, sizeof name, "__a%lld", (long long)j);
      if (!(p.agg_names[j] = td_strdup(name))) rc = td_err_nomem(err, "planning a query");
      p.n_aggs = j + 1;
    }
  }
  /* Rewrite the items over the aggregation's output before building it, so
   * that errors come first. */
  td_expr **rew = td_calloc((size_t)sp->n_items + 1, sizeof *rew);
  if (rc == TD_OK && !rew) rc = td_err_nomem(err, "planning a query");
  for (int64_t i = 0; rc == TD_OK && i < sp->n_items; i++) rc = rewrite(sp, sp->items[i], &rew[i], err);
  td_expr *having = NULL, *having_bound = NULL;
  if (rc == TD_OK && q->having) rc = rewrite(sp, q->having, &having, err);
  td_table *agg = NULL, *sorted = NULL;
  if (rc == TD_OK && agg_order) rc = td__agg_order_source(src, agg_order, &sorted, err);
  td_expr_free(agg_order);
  if (rc == TD_OK) p.unordered = !sorted && agg_unordered(sp, &p, src);
  if (rc == TD_OK) rc = td_op_agg(sorted ? sorted : src, &p, &agg, err);
  else td_agg_plan_reset(&p);
  td_table_release(sorted);
  if (rc == TD_OK && having) rc = td_expr_bind(having, agg->def, 0, &having_bound, err);
  if (rc == TD_OK && having_bound && having_bound->type != TD_TYPE_BOOL)
    rc = td_err_at(err, TD_ETYPE, q->having->pos, "HAVING expects a bool condition, found %s at offset %lld",
                   td_type_name(having_bound->type), (long long)q->having->pos);
  if (rc == TD_OK) {
    rc = finish(sp, agg, having_bound, rew, out, err);
    having_bound = NULL;
  }
  td_expr_free(having);
  td_expr_free(having_bound);
  free_exprs(rew, sp->n_items);
  td_table_release(agg);
  return rc;
}

/* The first aggregate call in e, or NULL. */
static const td_expr *first_agg(const td_expr *e) {
  if (e->kind == TD_EXPR_CALL && td_agg_kind_from_name(e->name) != TD_AGG_NONE) return e;
  for (int64_t i = 0; i < e->n_args; i++) {
    const td_expr *a = first_agg(e->args[i]);
    if (a) return a;
  }
  return NULL;
}

/* Checks a query's arguments and parses it into *q. */
static int parse_query(const char *sql, td_query_options *opts, td_select **q, td_error *err) {
  *q = NULL;
  if (!sql || !opts || !opts->resolver) return td_err(err, TD_EINVAL, "a query needs SQL text and a source resolver");
  if (opts->threads < 0)
    return td_err(err, TD_EINVAL, "query threads must be 0 (every core) or more, got %d", opts->threads);
  return td_sql_parse(sql, strlen(sql), q, err);
}

/* Resolves the source of a parsed statement (sp->q) and builds the pruned
 * source table. */
/* ORDER BY ALL: ORDER BY 1, 2, ..., n over the expanded items, each with
 * the clause's direction and null placement (as DuckDB). */
static int order_by_all(sql_plan *sp, td_error *err) {
  td_select *q = sp->q;
  td_order_item *o = td_calloc((size_t)sp->n_items + 1, sizeof *o);
  if (!o) return td_err_nomem(err, "planning ORDER BY ALL");
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < sp->n_items; i++) {
    int64_t pos = q->order_all_pos;
    o[i] = (td_order_item){td__expr_new(TD_EXPR_LITERAL, pos, err), q->order_all_desc, pos, q->order_all_nulls_first};
    if (!o[i].expr) rc = TD_ENOMEM;
    else o[i].expr->lit = td_value_int(TD_TYPE_INT64, i + 1);
  }
  if (rc) {
    for (int64_t i = 0; i < sp->n_items; i++) td_expr_free(o[i].expr);
    td_free(o);
    return rc;
  }
  for (int64_t i = 0; i < q->n_order_by; i++) td_expr_free(q->order_by[i].expr);
  td_free(q->order_by);
  q->order_by = o;
  q->n_order_by = sp->n_items;
  q->order_by_all = false;
  return TD_OK;
}

/* The first source of a FROM with joins: pruned by the partition
 * conjuncts of WHERE that read only it (td__first_conjuncts), as a source
 * of its own is (make_source); WHERE still applies to the joined rows. */
static int join_first(const td_select *q, td_service *svc, const td_table_key *key, const td_table_options *o,
                      td_table **first, td_error *err) {
  const td_schema *def;
  int64_t np;
  td_expr *pushed = NULL, *rest = NULL;
  int rc = key_definition(svc, key, &def, &np, err);
  if (rc == TD_OK && np > 0) rc = td__first_conjuncts(q, def, &pushed, err);
  if (rc == TD_OK && pushed && make_source(svc, key, pushed, o, first, &rest, NULL) != TD_OK) *first = NULL;
  td_expr_free(pushed);
  td_expr_free(rest);
  if (rc == TD_OK && !*first) rc = td_make_table(svc, key, o, first, err);
  return rc;
}

static int prepare_q(td_query_options *opts, sql_plan *sp, td_table **src, td_expr **filter, td_error *err) {
  *src = NULL;
  *filter = NULL;
  td_service *svc = NULL;
  td_table_key *key = NULL;
  td_table *given = NULL; /* a subquery, UNION, CTE or no FROM (query/compose.c) */
  int rc = td__compose_source(sp->q, opts, &given, err);
  if (rc) return rc;
  if (!given)
    rc = opts->resolver(opts->resolver_ctx, sp->q->source, sp->q->source_kind == TD_SOURCE_PATH, &svc, &key, err);
  if (rc) {
    td_err_prefix(err, rc, "FROM %s: ", sp->q->source);
    if (err) err->position = sp->q->source_pos;
    return rc;
  }
  td_table_options o;
  memset(&o, 0, sizeof o);
  o.refreshing = opts->refreshing;
  const td_schema *def;
  int64_t np;
  td_table *joined = NULL; /* FROM with JOIN clauses (query/sql_from.c) */
  td_expr *jfilter = NULL;
  if (sp->q->n_joins > 0) {
    td_table *first = td_table_retain(given);
    if (!first) rc = join_first(sp->q, svc, key, &o, &first, err);
    if (rc == TD_OK) rc = td__plan_from(sp->q, opts, first, &joined, &jfilter, err);
    td_table_release(first);
    if (rc == TD_OK) def = joined->def;
  } else if (given) {
    rc = td__strip_alias(sp->q, err);
    def = given->def;
    if (rc == TD_OK && sp->q->where) { /* the filter over the given table */
      rc = td_expr_bind(sp->q->where, def, 0, &jfilter, err);
      if (rc == TD_OK && jfilter->type != TD_TYPE_BOOL)
        rc = td_err_at(err, TD_ETYPE, sp->q->where->pos, "a filter must be a bool expression, found %s",
                       td_type_name(jfilter->type));
    }
    joined = td_table_retain(given);
  } else {
    rc = td__strip_alias(sp->q, err);
    if (rc == TD_OK) rc = key_definition(svc, key, &def, &np, err);
  }
  if (rc == TD_OK) rc = expand_items(sp, def, err);
  if (rc == TD_OK && sp->q->order_by_all) rc = order_by_all(sp, err);
  if (rc == TD_OK)
    rc = td__window_extract(sp->q, def, sp->items, sp->n_items,
                            sp->q->n_group_by > 0 || sp->q->distinct || sp->q->group_by_all || sp->q->having,
                            &sp->win, err);
  for (int64_t i = 0; rc == TD_OK && i < sp->n_items; i++) rc = td__rewrite_stat_aggs(&sp->items[i], err);
  if (rc == TD_OK && sp->q->having) rc = td__rewrite_stat_aggs(&sp->q->having, err);
  for (int64_t i = 0; rc == TD_OK && i < sp->q->n_order_by; i++) rc = td__rewrite_stat_aggs(&sp->q->order_by[i].expr, err);
  for (int64_t i = 0; rc == TD_OK && i < sp->n_items; i++) sp->aggregate |= td_expr_has_agg(sp->items[i]);
  sp->aggregate |= sp->q->n_group_by > 0 || sp->q->distinct || sp->q->group_by_all || sp->q->having;
  const td_expr *agg_item = NULL; /* windows run over rows, not groups */
  for (int64_t i = 0; sp->win && i < sp->n_items && !agg_item; i++) agg_item = first_agg(sp->items[i]);
  if (rc == TD_OK && agg_item)
    rc = td_err_at(err, TD_EPARSE, agg_item->pos, "a window function in a query with aggregates is not "
                   "supported at offset %lld", (long long)agg_item->pos);
  const td_expr *agg_in_where = sp->q->where ? first_agg(sp->q->where) : NULL;
  if (rc == TD_OK && agg_in_where)
    rc = td_err_at(err, TD_ETYPE, agg_in_where->pos, "WHERE cannot use an aggregate (%s) at offset %lld",
                   agg_in_where->name, (long long)agg_in_where->pos);
  if (rc == TD_OK && joined) {
    *src = joined;
    *filter = jfilter;
    joined = NULL;
    jfilter = NULL;
  } else if (rc == TD_OK) {
    rc = make_source(svc, key, sp->q->where, &o, src, filter, err);
  }
  td_table_release(joined);
  td_table_release(given);
  td_expr_free(jfilter);
  if (rc == TD_OK) {
    /* a join not made yet (query/join.h, td__join_deferred): its left side's rows, read without making it */
    opts->source_rows = td_table_size(td__join_pending(*src) ? (*src)->source : *src);
    (*src)->threads = opts->threads; /* operators over it inherit it */
  }
  td_table_key_release(key);
  td_service_free(svc);
  return rc;
}

/* ---- EXPLAIN, DESCRIBE, SUMMARIZE ---- */

/* Adds the names of the columns e references to `used` (by field index). */
static void mark_columns(const td_expr *e, const td_schema *def, bool *used) {
  if (!e) return;
  if (e->kind == TD_EXPR_COLUMN) {
    int64_t c = td_schema_find(def, e->name);
    if (c >= 0) used[c] = true;
  }
  for (int64_t i = 0; i < e->n_args; i++) mark_columns(e->args[i], def, used);
}

static void put_expr_text(td_strbuf *b, const td_expr *e) {
  char *t = NULL;
  if (!b->rc) b->rc = td_expr_print(e, &t, b->err);
  td__sb_put(b, t ? t : "");
  td_free(t);
}

/* Ends the current line: appends it to the builder and empties the buffer. */
static void plan_line(td_strbuf *b, td_builder *out) {
  if (!b->rc) b->rc = td_builder_append_str(out, b->p ? b->p : "", (int64_t)b->len, b->err);
  b->len = 0;
  if (b->p) b->p[0] = '\0';
}

enum { EXPLAIN_MAX_KEYS = 10 }; /* kept location keys listed */

/* A location key as its partition values ("Date=2024-01-02/Exchange=NYSE"),
 * or its identity when it has none. */
static void put_key(td_strbuf *b, const td_location_key *k) {
  int64_t n = td_location_key_partition_count(k);
  if (n == 0) td__sb_put(b, td_location_key_identity(k));
  for (int64_t i = 0; i < n; i++) {
    char v[128];
    td_value_format(td_location_key_partition_value(k, i), v, sizeof v);
    if (i) td__sb_put(b, "/");
    td__sb_put(b, td_location_key_partition_name(k, i));
    td__sb_put(b, "=");
    td__sb_put(b, v);
  }
}

/* The plan as text rows, from the source table as built (locations pruned
 * and sized, no column value read) and the parsed statement. */
static int explain(const sql_plan *sp, td_table *src, td_table **out, td_error *err) {
  const td_select *q = sp->q;
  td_builder *col = NULL;
  int rc = td_builder_new(TD_TYPE_UTF8, &col, err);
  if (rc) return rc;
  td_strbuf b = {.err = err};
  char buf[256], *text = NULL;
  if (!b.rc) b.rc = td__explain_text(q, &text, err); /* the statement as parsed, then the plan */
  td__sb_put(&b, "statement: ");
  td__sb_put(&b, text ? text : "");
  td_free(text);
  plan_line(&b, col);
  td__sb_put(&b, "source: ");
  td__sb_put(&b, q->source ? q->source : "none (SELECT without FROM: one row)");
  if (q->n_joins) {
    snprintf(buf, sizeof buf, " with %lld join(s)", (long long)q->n_joins);
    td__sb_put(&b, buf);
  }
  plan_line(&b, col);
  /* with joins: the first source's locations, under the join (and the
   * views and filters planning put between them) */
  td_table *base = src;
  for (td_table *t = src; q->n_joins && t && t->kind == TD_TABLE_DERIVED; t = t->source)
    if (t->source && t->source->kind == TD_TABLE_SOURCE) base = t->source;
  int64_t nloc = td_table_location_count(base);
  const pred_ctx *pc = base->owned_ctx_free == pred_free ? base->owned_ctx : NULL;
  if (pc)
    snprintf(buf, sizeof buf, "locations: %lld kept, %lld pruned by partition filters", (long long)nloc,
             (long long)__atomic_load_n(&pc->pruned, __ATOMIC_RELAXED));
  else
    snprintf(buf, sizeof buf, "locations: %lld (no partition filter)", (long long)nloc);
  td__sb_put(&b, buf);
  plan_line(&b, col);
  if (nloc > 0) {
    td__sb_put(&b, "kept:");
    for (int64_t i = 0; i < nloc && i < EXPLAIN_MAX_KEYS; i++) {
      td__sb_put(&b, i ? ", " : " ");
      put_key(&b, td_table_location(base, i));
    }
    if (nloc > EXPLAIN_MAX_KEYS) {
      snprintf(buf, sizeof buf, ", ... (%lld more)", (long long)(nloc - EXPLAIN_MAX_KEYS));
      td__sb_put(&b, buf);
    }
    plan_line(&b, col);
  }
  snprintf(buf, sizeof buf, "rows: %lld in the kept locations", (long long)td_table_size(base));
  td__sb_put(&b, buf);
  plan_line(&b, col);
  /* columns: the data columns whose pages are read; partition columns come from the location keys */
  const td_schema *def = src->def;
  bool *used = td_calloc((size_t)def->n_fields + 1, sizeof *used);
  if (!used) b.rc = td_err_nomem(err, "explaining a query");
  if (used) {
    for (int64_t i = 0; i < sp->n_items; i++) mark_columns(sp->items[i], def, used);
    mark_columns(q->where, def, used);
    mark_columns(q->having, def, used);
    for (int64_t i = 0; i < q->n_group_by; i++) mark_columns(q->group_by[i], def, used);
    for (int64_t i = 0; i < q->n_order_by; i++) mark_columns(q->order_by[i].expr, def, used);
    mark_columns(q->qualify, def, used);
    for (int64_t j = 0; j < td__window_count(sp->win); j++) mark_columns(td__window_at(sp->win, j), def, used);
    for (int part = 0; part < 2; part++) {
      int n = 0;
      td__sb_put(&b, part ? "partition columns (from location keys):" : "columns read:");
      for (int64_t c = 0; c < def->n_fields; c++)
        if (used[c] && td_table_column_is_partition(src, c) == (part == 1)) {
          td__sb_put(&b, n++ ? ", " : " ");
          td__sb_quoted(&b, def->fields[c].name, strlen(def->fields[c].name), '"');
        }
      if (n == 0) td__sb_put(&b, " none");
      plan_line(&b, col);
    }
    td_free(used);
  }
  if (q->where) {
    td__sb_put(&b, "filter: ");
    put_expr_text(&b, q->where);
    plan_line(&b, col);
  }
  if (sp->aggregate) {
    td__sb_put(&b, q->distinct && !q->n_group_by ? "aggregate: DISTINCT" : "aggregate:");
    if (q->group_by_all) td__sb_put(&b, " GROUP BY ALL");
    for (int64_t i = 0; i < q->n_group_by; i++) {
      td__sb_put(&b, i ? ", " : " GROUP BY ");
      put_expr_text(&b, q->group_by[i]);
    }
    plan_line(&b, col);
    if (q->having) {
      td__sb_put(&b, "having: ");
      put_expr_text(&b, q->having);
      plan_line(&b, col);
    }
  }
  td__sb_put(&b, "project:");
  for (int64_t i = 0; i < sp->n_items; i++) {
    td__sb_put(&b, i ? ", " : " ");
    td__sb_put(&b, sp->names[i]);
  }
  plan_line(&b, col);
  if (q->n_order_by) {
    td__sb_put(&b, q->has_limit ? "top-N: ORDER BY " : "sort: ORDER BY ");
    for (int64_t i = 0; i < q->n_order_by; i++) {
      if (i) td__sb_put(&b, ", ");
      put_expr_text(&b, q->order_by[i].expr);
      if (q->order_by[i].desc) td__sb_put(&b, " DESC");
      if (q->order_by[i].nulls_first) td__sb_put(&b, " NULLS FIRST");
    }
    if (q->has_limit) {
      snprintf(buf, sizeof buf, " (keeps %lld rows)", (long long)(q->limit + q->offset));
      td__sb_put(&b, buf);
    }
    plan_line(&b, col);
  }
  if (q->has_limit || q->offset) {
    if (q->has_limit) snprintf(buf, sizeof buf, "limit: %lld offset %lld", (long long)q->limit, (long long)q->offset);
    else snprintf(buf, sizeof buf, "offset: %lld", (long long)q->offset);
    td__sb_put(&b, buf);
    plan_line(&b, col);
  }
  td_free(b.p);
  if (b.rc) {
    td_builder_free(col);
    return b.rc;
  }
  static const char *const names[] = {"plan"};
  static const td_type_id types[] = {TD_TYPE_UTF8};
  return td__rows_table(1, names, types, &col, out, err);
}

/* Builds the statement's result from the prepared plan; takes `filter`. */
static int run_statement(sql_plan *sp, td_table *src, td_expr *filter, td_table **out, td_error *err) {
  td_select *q = sp->q;
  if (q->stmt == TD_STMT_EXPLAIN || (q->stmt == TD_STMT_DESCRIBE && q->stmt_source)) {
    td_expr_free(filter);
    return q->stmt == TD_STMT_EXPLAIN ? explain(sp, src, out, err) : td__describe(src, out, err);
  }
  if (q->stmt == TD_STMT_DESCRIBE) { /* the result's columns, from the query with LIMIT 0 */
    q->has_limit = true;
    q->limit = 0;
    q->offset = 0;
  }
  td_table *t = NULL;
  int rc = sp->aggregate ? agg_query(sp, src, filter, &t, err) : plain_query(sp, src, filter, &t, err);
  if (rc) return rc;
  if (q->stmt == TD_STMT_SELECT) {
    *out = t;
    return TD_OK;
  }
  rc = q->stmt == TD_STMT_DESCRIBE ? td__describe(t, out, err) : td__summarize(t, out, err);
  td_table_release(t);
  return rc;
}

/* Parses, resolves the source and builds the pruned source table (a
 * statement without composition). */
static int prepare(const char *sql, td_query_options *opts, sql_plan *sp, td_table **src, td_expr **filter,
                   td_error *err) {
  memset(sp, 0, sizeof *sp);
  *src = NULL;
  *filter = NULL;
  int rc = parse_query(sql, opts, &sp->q, err);
  return rc ? rc : prepare_q(opts, sp, src, filter, err);
}

int td__plan_select(td_select *q, td_query_options *opts, td_table **out, td_error *err) {
  *out = NULL;
  sql_plan sp;
  memset(&sp, 0, sizeof sp);
  sp.q = q;
  sp.q_borrowed = true;
  td_table *src;
  td_expr *filter;
  int rc = prepare_q(opts, &sp, &src, &filter, err);
  if (rc == TD_OK) rc = run_statement(&sp, src, filter, out, err);
  else td_expr_free(filter);
  td_table_release(src);
  sql_plan_reset(&sp);
  return rc;
}

int td_query(const char *sql, td_query_options *opts, td_table **out, td_error *err) {
  if (!sql || !out) return td_err(err, TD_EINVAL, "td_query needs a statement and an out pointer");
  *out = NULL;
  if (opts && td__is_copy(sql)) return td__copy(sql, opts, out, err); /* query/copy.c */
  td_select *q;
  int rc = parse_query(sql, opts, &q, err);
  if (rc == TD_OK) rc = td__plan_query(q, opts, NULL, out, err);
  td_select_free(q);
  return rc;
}

/* ---- lazy streams of plain queries ---- */

typedef struct qstream {
  td_table *src;
  td_scan scan;
  td_range_filter rf;
  td_select_spec spec;
  td_select_scratch scratch;
  td_schema schema;
  int64_t remaining; /* LIMIT; -1: none */
  int threads;
  /* Without LIMIT, workers filter and project ahead (query/par_stream.h),
   * started by the first get_next; with a LIMIT the stream reads no page
   * beyond the rows it returns, on the caller's thread. */
  td_par_stream *par;
  bool par_tried;
  char last_error[TD_ERROR_MESSAGE_SIZE];
} qstream;

static int qs_fail(qstream *q, const td_error *e) {
  snprintf(q->last_error, sizeof q->last_error, "%s", e->message);
  return e->code == TD_ENOMEM ? 12 : 5;
}

static int qs_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  qstream *q = st->private_data;
  td_error e;
  td_error_clear(&e);
  return td_schema_export(&q->schema, out, &e) ? qs_fail(q, &e) : 0;
}

/* Exports a chunk's first n rows as a struct batch. */
static int export_chunk(const td_dchunk *c, const td_schema *s, int64_t n, struct ArrowArray *out, td_error *err) {
  struct ArrowArray *kids = td_calloc((size_t)c->n_cols + 1, sizeof *kids);
  if (!kids) return td_err_nomem(err, "building a batch");
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < c->n_cols; i++) {
    if (c->consts[i].type != TD_TYPE_NONE) {
      td_array a;
      rc = td_array_init(&a, s->fields[i].type, n, err);
      if (rc == TD_OK) rc = td_array_append_const(&a, &c->consts[i], n, err);
      if (rc == TD_OK) rc = td_array_export_arrow(&a, &kids[i], err);
      td_array_reset(&a);
    } else {
      td_colview v = c->views[i];
      v.length = n;
      rc = td_colview_export_arrow(&v, s->fields[i].type, c->owners[i], &kids[i], err);
    }
  }
  if (rc == TD_OK) rc = td_struct_array_make(c->n_cols, kids, n, out, err);
  else
    for (int64_t i = 0; i < c->n_cols; i++) td_arrow_array_release(&kids[i]);
  td_free(kids);
  return rc;
}

static int qs_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  qstream *q = st->private_data;
  td_error e;
  td_error_clear(&e);
  memset(out, 0, sizeof *out);
  if (!q->par_tried) {
    q->par_tried = true;
    if (q->remaining < 0 && td__par_stream_new(q->src, q->scan.snap, &q->spec, &q->rf, q->threads, &q->par, &e))
      return qs_fail(q, &e);
  }
  if (q->par) {
    td_dchunk *c;
    if (td__par_stream_next(q->par, &c, &e)) return qs_fail(q, &e);
    if (!c) return 0; /* end of stream */
    int rc = export_chunk(c, &q->schema, c->length, out, &e);
    td_dchunk_release(c);
    return rc ? qs_fail(q, &e) : 0;
  }
  while (q->remaining != 0) {
    td_chunk ch;
    bool done;
    if (td_scan_next(&q->scan, &ch, &done, &e)) return qs_fail(q, &e);
    if (done) break;
    td_dchunk *c;
    if (td_select_chunk(&q->spec, &q->scratch, &q->scan, &ch, &c, &e)) return qs_fail(q, &e);
    if (!c) continue;
    int64_t n = c->length;
    if (q->remaining > 0 && n > q->remaining) n = q->remaining;
    int rc = export_chunk(c, &q->schema, n, out, &e);
    td_dchunk_release(c);
    if (rc) return qs_fail(q, &e);
    if (q->remaining > 0) q->remaining -= n;
    return 0;
  }
  return 0; /* end of stream */
}

static const char *qs_last_error(struct ArrowArrayStream *st) {
  qstream *q = st->private_data;
  return q->last_error[0] ? q->last_error : NULL;
}

static void qs_release(struct ArrowArrayStream *st) {
  if (!st || !st->release) return;
  qstream *q = st->private_data;
  td__par_stream_free(q->par); /* joins its workers before what they borrow goes */
  td_scan_release(&q->scan);
  td_range_filter_reset(&q->rf);
  td_select_spec_reset(&q->spec);
  td_select_scratch_reset(&q->scratch);
  td_schema_reset(&q->schema);
  td_table_release(q->src);
  td_free(q);
  st->release = NULL;
}

int td_query_stream(const char *sql, td_query_options *opts, struct ArrowArrayStream *out, td_error *err) {
  if (!sql || !out) return td_err(err, TD_EINVAL, "td_query_stream needs a statement and an out stream");
  memset(out, 0, sizeof *out);
  if (!opts) return td_err(err, TD_EINVAL, "a query needs options with a source resolver");
  if (td__is_copy(sql)) { /* query/copy.c: write, then stream the count */
    td_table *t = NULL;
    int rc = td__copy(sql, opts, &t, err);
    if (rc == TD_OK) rc = td_table_stream(t, NULL, 0, out, err);
    td_table_release(t);
    return rc;
  }
  td_query_options o = *opts;
  o.refreshing = false;
  td_select *cq = NULL;
  int rc = parse_query(sql, &o, &cq, err);
  if (rc == TD_OK && td__is_composed(cq)) { /* build the composed result, then stream it */
    td_table *t;
    rc = td__plan_query(cq, &o, NULL, &t, err);
    td_select_free(cq);
    if (rc == TD_OK) {
      __atomic_store_n(&opts->source_rows, o.source_rows, __ATOMIC_RELAXED);
      rc = td_table_stream(t, NULL, 0, out, err);
      td_table_release(t);
    }
    return rc;
  }
  td_select_free(cq);
  sql_plan sp;
  td_table *src;
  td_expr *filter;
  if (rc == TD_OK) rc = prepare(sql, &o, &sp, &src, &filter, err);
  else {
    memset(&sp, 0, sizeof sp);
    src = NULL;
    filter = NULL;
  }
  /* Published before any row is read, for a progress display on another
   * thread (which loads it atomically). */
  if (rc == TD_OK) __atomic_store_n(&opts->source_rows, o.source_rows, __ATOMIC_RELAXED);
  if (rc == TD_OK && (sp.aggregate || sp.win || sp.q->n_order_by > 0 || sp.q->stmt != TD_STMT_SELECT)) {
    /* Needs every row first: build the result, then stream it. */
    td_table *t;
    rc = run_statement(&sp, src, filter, &t, err);
    filter = NULL;
    if (rc == TD_OK) {
      rc = td_table_stream(t, NULL, 0, out, err);
      td_table_release(t);
    }
    td_table_release(src);
    sql_plan_reset(&sp);
    return rc;
  }
  qstream *q = rc == TD_OK ? td_calloc(1, sizeof *q) : NULL;
  if (rc == TD_OK && !q) rc = td_err_nomem(err, "starting a query");
  if (rc == TD_OK) {
    td_schema_init(&q->schema);
    q->spec.filter = filter;
    filter = NULL;
    q->spec.n_fields = src->def->n_fields;
    q->spec.items = td_calloc((size_t)sp.n_items + 1, sizeof *q->spec.items);
    if (!q->spec.items) rc = td_err_nomem(err, "starting a query");
    for (int64_t i = 0; rc == TD_OK && i < sp.n_items; i++) {
      rc = td_expr_bind(sp.items[i], src->def, 0, &q->spec.items[i], err);
      if (rc == TD_OK) {
        q->spec.n_items = i + 1;
        rc = td_expr_field(q->spec.items[i], src->def, sp.names[i], &q->schema, err);
      }
    }
    if (rc == TD_OK) rc = td_select_spec_columns(&q->spec, err);
    if (rc == TD_OK) rc = td_select_scratch_init(&q->scratch, q->spec.n_fields, err);
    if (rc == TD_OK) rc = td_scan_init(&q->scan, src, NULL, q->spec.cols, q->spec.n_cols, 0, td_table_size(src), err);
    if (rc == TD_OK) rc = td_range_filter_init(&q->rf, q->spec.filter, src, err);
    if (rc == TD_OK) td_range_filter_attach(&q->rf, &q->scan);
    if (rc == TD_OK) rc = td_select_defer(&q->spec, &q->scan, err);
    q->remaining = sp.q->has_limit ? sp.q->limit : -1;
    q->threads = o.threads;
    q->src = src;
    src = NULL;
  }
  td_expr_free(filter);
  td_table_release(src);
  sql_plan_reset(&sp);
  if (rc) {
    if (q) {
      struct ArrowArrayStream tmp = {.release = qs_release, .private_data = q};
      qs_release(&tmp);
    }
    return rc;
  }
  out->get_schema = qs_schema;
  out->get_next = qs_next;
  out->get_last_error = qs_last_error;
  out->release = qs_release;
  out->private_data = q;
  return TD_OK;
}
