/*
 * query/setops.c - INTERSECT [ALL] and EXCEPT [ALL] as a chain of existing
 * live operators plus one small one.
 *
 * Each side is tagged with a count column (left: 1, 0; right: 0, 1), the
 * two are concatenated (UNION ALL, query/union.c) and grouped by every
 * column with the two counts summed: the group of a row holds how often it
 * occurs on each side (GROUP BY's equality: nulls equal).  INTERSECT keeps
 * the groups with both counts positive, EXCEPT those with only a left
 * count; the ALL forms compute the multiplicity (least(l, r), l - r), keep
 * the positive ones and repeat each row that often (the repeat operator
 * below, recomputed from its whole input whenever it changes).  On live
 * sides the concatenation and the aggregation are incremental; the filter
 * and the repeat recompute from the aggregation's groups in a cycle that
 * changes them: O(groups) per cycle.
 */
#include "query/setops.h"

#include <stdio.h>
#include <string.h>

#include "query/compose.h"
#include "query/sql_window.h"
#include "query/strbuf.h"
#include "table/table.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- the repeat operator: row i of the source (its last column an int64
 * count) n_i times, without the count column ---- */

static int repeat_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  td_table *src = t->source;
  int64_t nf = src->def->n_fields, n = d->snap->size, m = 0;
  td_array *cols = td_calloc((size_t)nf + 1, sizeof *cols);
  struct ArrowArray *arrs = td_calloc((size_t)nf + 1, sizeof *arrs);
  td_colview *views = td_calloc((size_t)nf + 1, sizeof *views);
  int64_t *idx = NULL;
  td_dchunk *c = NULL;
  int rc = cols && arrs && views ? TD_OK : td_err_nomem(err, "computing INTERSECT/EXCEPT ALL");
  if (rc == TD_OK) rc = td__read_all(src, d->snap, cols, arrs, views, err);
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    td_value v = td_colview_value(&views[nf - 1], i);
    if (!v.is_null && v.v.i > 0) m += v.v.i;
  }
  if (rc == TD_OK && !(idx = td_malloc((size_t)(m + 1) * sizeof *idx)))
    rc = td_err_nomem(err, "computing INTERSECT/EXCEPT ALL");
  for (int64_t i = 0, k = 0; rc == TD_OK && i < n; i++) {
    td_value v = td_colview_value(&views[nf - 1], i);
    for (int64_t r = 0; !v.is_null && r < v.v.i; r++) idx[k++] = i;
  }
  if (rc == TD_OK) rc = td_dchunk_new(nf - 1, m, &c, err);
  for (int64_t i = 0; rc == TD_OK && i < nf - 1; i++) {
    td_array g;
    rc = td_array_init(&g, views[i].type, m, err);
    if (rc == TD_OK) rc = td_array_append_gather(&g, &views[i], NULL, idx, m, err);
    if (rc == TD_OK) rc = td_dchunk_set_array(c, i, &g, err);
    td_array_reset(&g);
  }
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, &c, 1, d->version, &out->snap, err);
  out->replaced = true;
  if (c) td_dchunk_release(c);
  for (int64_t i = 0; cols && i < nf; i++) td_array_reset(&cols[i]);
  for (int64_t i = 0; arrs && i < nf; i++)
    if (arrs[i].release) td_arrow_array_release(&arrs[i]);
  td_free(cols);
  td_free(arrs);
  td_free(views);
  td_free(idx);
  return rc;
}

static void repeat_free(void *p) { (void)p; }

static const td_op_vtable repeat_vt = {repeat_apply, repeat_free, false};

static int repeat_rows(td_table *src, td_table **out, td_error *err) {
  td_schema def;
  td_schema_init(&def);
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i + 1 < src->def->n_fields; i++) {
    const td_field *f = &src->def->fields[i];
    rc = td_schema_add(&def, f->name, f->type, f->tz, f->nullable, err);
  }
  if (rc == TD_OK) rc = td_derived_new(src, &def, &repeat_vt, NULL, out, err);
  td_schema_reset(&def);
  return rc;
}

/* ---- the chain ---- */

int td__col_items(const td_schema *src, const td_schema *def, const char *const *more, int64_t n_more,
                  char ***out, td_error *err) {
  int64_t n = def->n_fields;
  char **items = td_calloc((size_t)(n + n_more) + 1, sizeof *items);
  int rc = items ? TD_OK : td_err_nomem(err, "planning INTERSECT/EXCEPT");
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    td_strbuf b = {.err = err};
    const char *name = src->fields[i].name;
    td__sb_quoted(&b, name, strlen(name), '"');
    td__sb_put(&b, " AS ");
    name = def->fields[i].name;
    td__sb_quoted(&b, name, strlen(name), '"');
    rc = b.rc;
    items[i] = b.p;
  }
  for (int64_t i = 0; rc == TD_OK && i < n_more; i++)
    if (!(items[n + i] = td_strdup(more[i]))) rc = td_err_nomem(err, "planning INTERSECT/EXCEPT");
  if (rc) {
    for (int64_t i = 0; items && i < n + n_more; i++) td_free(items[i]);
    td_free(items);
    return rc;
  }
  *out = items;
  return TD_OK;
}

void td__col_items_free(char **items, int64_t n) {
  for (int64_t i = 0; items && i < n; i++) td_free(items[i]);
  td_free(items);
}

/* t viewed as its columns plus `more` (items_of). */
static int view_plus(td_table *t, const td_schema *def, const char *const *more, int64_t n_more, td_table **out,
                     td_error *err) {
  char **items;
  int rc = td__col_items(t->def, def, more, n_more, &items, err);
  if (rc) return rc;
  rc = td_table_view(t, (const char *const *)items, def->n_fields + n_more, out, err);
  td__col_items_free(items, def->n_fields + n_more);
  return rc;
}

int td__set_op(td_table *left, td_table *right, int op, bool all, td_table **out, td_error *err) {
  *out = NULL;
  const td_schema *def = left->def;
  int64_t n = def->n_fields;
  static const char *const tag_l[] = {"CAST(1 AS BIGINT) AS __td_setop_l", "CAST(0 AS BIGINT) AS __td_setop_r"};
  static const char *const tag_r[] = {"CAST(0 AS BIGINT) AS __td_setop_l", "CAST(1 AS BIGINT) AS __td_setop_r"};
  static const char *const sums[] = {"sum(__td_setop_l) AS __td_setop_l", "sum(__td_setop_r) AS __td_setop_r"};
  td_table *l = NULL, *r = NULL, *u = NULL, *g = NULL, *f = NULL, *v = NULL;
  char **keys = NULL;
  int rc = view_plus(left, def, tag_l, 2, &l, err);
  if (rc == TD_OK) rc = view_plus(right, def, tag_r, 2, &r, err);
  if (rc == TD_OK) rc = td__union_all(l, r, &u, err);
  if (rc == TD_OK) rc = td__col_items(def, def, NULL, 0, &keys, err);
  if (rc == TD_OK) rc = td_table_agg_by(u, sums, 2, (const char *const *)keys, n, &g, err);
  if (rc == TD_OK && !all) {
    rc = td_table_where(g, op == TD_SETOP_INTERSECT ? "__td_setop_l > 0 AND __td_setop_r > 0"
                                                    : "__td_setop_l > 0 AND __td_setop_r = 0", &f, err);
    if (rc == TD_OK) rc = view_plus(f, def, NULL, 0, out, err);
  } else if (rc == TD_OK) {
    const char *count[] = {op == TD_SETOP_INTERSECT ? "least(__td_setop_l, __td_setop_r) AS __td_setop_n"
                                                    : "__td_setop_l - __td_setop_r AS __td_setop_n"};
    rc = view_plus(g, def, count, 1, &v, err);
    if (rc == TD_OK) rc = td_table_where(v, "__td_setop_n > 0", &f, err);
    if (rc == TD_OK) rc = repeat_rows(f, out, err);
  }
  td__col_items_free(keys, n);
  td_table_release(l);
  td_table_release(r);
  td_table_release(u);
  td_table_release(g);
  td_table_release(f);
  td_table_release(v);
  return rc;
}
