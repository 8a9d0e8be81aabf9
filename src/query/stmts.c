/*
 * query/stmts.c - DESCRIBE and SUMMARIZE results (EXPLAIN's rows are made by
 * query/plan.c, which knows the plan): each is an ordinary static table, so
 * every output format and the server show it unchanged.  The rows are
 * built with the Arrow builders and served by a private memory backend.
 */
#include "query/stmts.h"

#include <stdio.h>
#include <string.h>

#include "arrow/schema.h"
#include "query/strbuf.h"
#include "table/table.h"
#include "util/alloc.h"
#include "util/error.h"

int td__rows_table(int64_t n_cols, const char *const *names, const td_type_id *types, td_builder **cols,
                   td_table **out, td_error *err) {
  *out = NULL;
  struct ArrowArray arrays[16], batch = {0};
  struct ArrowSchema schema = {0};
  memset(arrays, 0, sizeof arrays);
  int rc = n_cols <= 16 ? TD_OK : td_err(err, TD_EINVAL, "a statement result has at most 16 columns");
  int64_t built = 0;
  for (; rc == TD_OK && built < n_cols; built++) rc = td_builder_finish(cols[built], &arrays[built], err);
  for (int64_t i = 0; i < n_cols; i++) td_builder_free(cols[i]);
  if (rc) {
    for (int64_t i = 0; i < built; i++)
      if (arrays[i].release) arrays[i].release(&arrays[i]);
    return rc;
  }
  rc = td_batch_make(n_cols, arrays, &batch, err);
  if (rc == TD_OK) rc = td_schema_make(n_cols, names, types, NULL, &schema, err);
  td_memory_backend *mb = NULL;
  td_location_key *lk = NULL;
  td_table_key *key = NULL;
  td_service *svc = NULL;
  if (rc == TD_OK) rc = td_memory_backend_new(&mb, err);
  if (rc == TD_OK) rc = td_memory_backend_add_table(mb, "result", &schema, NULL, err);
  if (rc == TD_OK) rc = td_location_key_new("result", 0, NULL, NULL, &lk, err);
  if (rc == TD_OK) rc = td_memory_backend_add_location(mb, "result", lk, &batch, err);
  if (rc == TD_OK) rc = td_service_new(td_memory_backend_backend(mb), NULL, &svc, err);
  if (rc == TD_OK) rc = td_table_key_new("result", &key, err);
  if (rc == TD_OK) {
    td_table_options o;
    td_table_options_init(&o);
    rc = td_make_table(svc, key, &o, out, err);
  }
  if (batch.release) batch.release(&batch);
  if (schema.release) schema.release(&schema);
  td_table_key_release(key);
  td_location_key_release(lk);
  td_service_free(svc);
  td_memory_backend_release(mb);
  return rc;
}

/* n builders of the given types (NULLs on failure, all freed). */
static int builders(int64_t n, const td_type_id *types, td_builder **b, td_error *err) {
  memset(b, 0, (size_t)n * sizeof *b);
  for (int64_t i = 0; i < n; i++) {
    int rc = td_builder_new(types[i], &b[i], err);
    if (rc) {
      for (int64_t j = 0; j < i; j++) td_builder_free(b[j]);
      return rc;
    }
  }
  return TD_OK;
}

static void free_builders(int64_t n, td_builder **b) {
  for (int64_t i = 0; i < n; i++) td_builder_free(b[i]);
}

/* Appends column c's name and type text. */
static int name_and_type(td_table *t, int64_t c, td_builder **b, td_error *err) {
  char buf[96];
  int rc = td_builder_append_str(b[0], t->def->fields[c].name, -1, err);
  if (rc == TD_OK)
    rc = td_builder_append_str(b[1], td_field_type_text(&t->def->fields[c], buf, sizeof buf), -1, err);
  return rc;
}

int td__describe(td_table *t, td_table **out, td_error *err) {
  static const char *const names[] = {"column_name", "column_type", "is_partition"};
  static const td_type_id types[] = {TD_TYPE_UTF8, TD_TYPE_UTF8, TD_TYPE_BOOL};
  td_builder *b[3];
  int rc = builders(3, types, b, err);
  if (rc) return rc;
  for (int64_t c = 0; rc == TD_OK && c < t->def->n_fields; c++) {
    rc = name_and_type(t, c, b, err);
    if (rc == TD_OK) rc = td_builder_append_int(b[2], td_table_column_is_partition(t, c), err);
  }
  if (rc) {
    free_builders(3, b);
    return rc;
  }
  return td__rows_table(3, names, types, b, out, err);
}

/* "agg("column")" with the name quoted for the expression parser. */
static char *agg_text(const char *agg, const char *column, td_error *err) {
  td_strbuf s = {.err = err};
  td__sb_put(&s, agg);
  td__sb_put(&s, "(");
  td__sb_quoted(&s, column, strlen(column), '"');
  td__sb_put(&s, ")");
  if (s.rc) {
    td_free(s.p);
    return NULL;
  }
  return s.p;
}

/* Whether min/max take the type (ordered scalars). */
static bool orderable(td_type_id t) { return t != TD_TYPE_BOOL && t != TD_TYPE_NONE; }

/* The aggregation over every column: count(*), then per column count(c)
 * and, when orderable, min(c), max(c); *slot[c] is the index of count(c). */
static int summary_aggs(td_table *t, int64_t *slot, td_table **agg, td_error *err) {
  int64_t n = t->def->n_fields, m = 0;
  char **aggs = td_calloc((size_t)(3 * n + 1), sizeof *aggs);
  if (!aggs) return td_err_nomem(err, "summarizing");
  int rc = TD_OK;
  aggs[m++] = td_strdup("count(*)");
  if (!aggs[0]) rc = td_err_nomem(err, "summarizing");
  for (int64_t c = 0; rc == TD_OK && c < n; c++) {
    const char *col = t->def->fields[c].name;
    slot[c] = m;
    aggs[m++] = agg_text("count", col, err);
    if (orderable(t->def->fields[c].type)) {
      aggs[m++] = agg_text("min", col, err);
      aggs[m++] = agg_text("max", col, err);
    }
    if (!aggs[m - 1] || !aggs[slot[c]]) rc = err ? err->code : TD_ENOMEM;
  }
  if (rc == TD_OK) rc = td_table_agg_by(t, (const char *const *)aggs, m, NULL, 0, agg, err);
  for (int64_t i = 0; i < m; i++) td_free(aggs[i]);
  td_free(aggs);
  return rc;
}

/* Appends value j of the one-row result as text (or null). */
static int append_text(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t j, td_builder *b,
                       td_error *err) {
  td_value v;
  int rc = td_arrow_get_value(s->children[j], a->children[j], 0, &v, err);
  if (rc) return rc;
  if (v.is_null) return td_builder_append_null(b, err);
  char buf[128];
  size_t len = td_value_format(&v, buf, sizeof buf);
  if (len < sizeof buf) return td_builder_append_str(b, buf, (int64_t)len, err);
  char *big = td_malloc(len + 1);
  if (!big) return td_err_nomem(err, "summarizing");
  td_value_format(&v, big, len + 1);
  rc = td_builder_append_str(b, big, (int64_t)len, err);
  td_free(big);
  return rc;
}

static int64_t int_at(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t j) {
  td_value v;
  if (td_arrow_get_value(s->children[j], a->children[j], 0, &v, NULL) || v.is_null) return 0;
  return v.v.i;
}

/* The count of distinct non-null values of column c. */
static int distinct_count(td_table *t, int64_t c, int64_t *out, td_error *err) {
  td_strbuf s = {.err = err};
  td__sb_quoted(&s, t->def->fields[c].name, strlen(t->def->fields[c].name), '"');
  size_t name_len = s.p ? strlen(s.p) : 0;
  td__sb_put(&s, " IS NOT NULL");
  if (s.rc) {
    td_free(s.p);
    return s.rc;
  }
  td_table *nn = NULL, *d = NULL;
  int rc = td_table_where(t, s.p, &nn, err);
  s.p[name_len] = '\0';
  const char *cols[] = {s.p};
  if (rc == TD_OK) rc = td_table_select_distinct(nn, cols, 1, &d, err);
  if (rc == TD_OK) *out = td_table_size(d);
  td_table_release(d);
  td_table_release(nn);
  td_free(s.p);
  return rc;
}

int td__summarize(td_table *t, td_table **out, td_error *err) {
  static const char *const names[] = {"column_name", "column_type", "min",  "max",
                                      "null_count",  "approx_unique", "count"};
  static const td_type_id types[] = {TD_TYPE_UTF8,  TD_TYPE_UTF8,  TD_TYPE_UTF8, TD_TYPE_UTF8,
                                     TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_INT64};
  int64_t n = t->def->n_fields;
  int64_t *slot = td_calloc((size_t)n + 1, sizeof *slot);
  if (!slot) return td_err_nomem(err, "summarizing");
  td_table *agg = NULL;
  struct ArrowArray row = {0};
  struct ArrowSchema sch = {0};
  td_builder *b[7] = {0};
  int rc = summary_aggs(t, slot, &agg, err);
  if (rc == TD_OK) rc = td_table_read(agg, NULL, 0, 0, 1, &row, err);
  if (rc == TD_OK) rc = td_table_schema(agg, &sch, err);
  if (rc == TD_OK) rc = builders(7, types, b, err);
  int64_t rows = rc == TD_OK ? int_at(&sch, &row, 0) : 0;
  for (int64_t c = 0; rc == TD_OK && c < n; c++) {
    int64_t j = slot[c], nonnull = int_at(&sch, &row, j), uniq = 0;
    rc = name_and_type(t, c, b, err);
    bool ord = orderable(t->def->fields[c].type);
    if (rc == TD_OK) rc = ord ? append_text(&sch, &row, j + 1, b[2], err) : td_builder_append_null(b[2], err);
    if (rc == TD_OK) rc = ord ? append_text(&sch, &row, j + 2, b[3], err) : td_builder_append_null(b[3], err);
    if (rc == TD_OK) rc = td_builder_append_int(b[4], rows - nonnull, err);
    if (rc == TD_OK) rc = distinct_count(t, c, &uniq, err);
    if (rc == TD_OK) rc = td_builder_append_int(b[5], uniq, err);
    if (rc == TD_OK) rc = td_builder_append_int(b[6], rows, err);
  }
  if (row.release) row.release(&row);
  if (sch.release) sch.release(&sch);
  td_table_release(agg);
  td_free(slot);
  if (rc) {
    free_builders(7, b);
    return rc;
  }
  return td__rows_table(7, names, types, b, out, err);
}
