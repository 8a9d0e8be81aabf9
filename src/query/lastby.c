/*
 * query/lastby.c - Deephaven's last_by / first_by (tabledata/join.h) as a
 * grouped aggregation: the keys, then last(c) / first(c) of every other
 * column.  td_table_agg_by makes it incremental on refreshing sources (a
 * cycle folds only the appended rows and lists the groups it changed).
 */
#include <stdio.h>
#include <string.h>

#include "query/ops.h"
#include "tabledata/join.h"
#include "tabledata/query.h"
#include "util/alloc.h"
#include "util/error.h"

/* `name` as a quoted identifier ("" doubles a quote); td_malloc'd. */
static char *quoted(const char *name) {
  size_t n = strlen(name), q = 0;
  for (size_t i = 0; i < n; i++) q += name[i] == '"';
  char *s = td_malloc(n + q + 3), *p = s;
  if (!s) return NULL;
  *p++ = '"';
  for (size_t i = 0; i < n; i++) {
    if (name[i] == '"') *p++ = '"';
    *p++ = name[i];
  }
  *p++ = '"';
  *p = 0;
  return s;
}

static int by_row(td_table *src, const char *const *keys, int64_t n_keys, bool last, td_table **out,
                  td_error *err) {
  if (out) *out = NULL;
  const char *what = last ? "last_by" : "first_by";
  if (!src || !out || (n_keys > 0 && !keys))
    return td_err(err, TD_EINVAL, "%s: expected a table, keys and an output pointer, found NULL", what);
  if (n_keys < 0 || n_keys > 64)
    return td_err(err, TD_EINVAL, "%s: expected 0 to 64 keys, found %lld", what, (long long)n_keys);
  const td_schema *def = src->def;
  char **by = td_calloc((size_t)n_keys + 1, sizeof *by);
  char **aggs = td_calloc((size_t)def->n_fields + 1, sizeof *aggs);
  int64_t n_aggs = 0;
  int rc = by && aggs ? TD_OK : td_err_nomem(err, what);
  for (int64_t k = 0; rc == TD_OK && k < n_keys; k++) {
    if (!keys[k] || td_schema_find(def, keys[k]) < 0)
      rc = td_err(err, TD_ETYPE, "%s: no column %s in the table", what, keys[k] ? keys[k] : "(NULL)");
    else if (!(by[k] = quoted(keys[k])))
      rc = td_err_nomem(err, what);
  }
  for (int64_t c = 0; rc == TD_OK && c < def->n_fields; c++) {
    bool key = false;
    for (int64_t k = 0; k < n_keys; k++) key = key || strcmp(keys[k], def->fields[c].name) == 0;
    if (key) continue;
    char *q = quoted(def->fields[c].name);
    size_t len = q ? 2 * strlen(q) + 16 : 0;
    aggs[n_aggs] = q ? td_malloc(len) : NULL;
    if (!aggs[n_aggs]) rc = td_err_nomem(err, what);
    else snprintf(aggs[n_aggs++], len, "%s(%s) AS %s", last ? "last" : "first", q, q);
    td_free(q);
  }
  if (rc == TD_OK && n_keys == 0 && n_aggs == 0)
    rc = td_err(err, TD_EINVAL, "%s: the table has no columns", what);
  if (rc == TD_OK)
    rc = td_table_agg_by(src, (const char *const *)aggs, n_aggs, (const char *const *)by, n_keys, out, err);
  for (int64_t k = 0; by && k < n_keys; k++) td_free(by[k]);
  for (int64_t c = 0; aggs && c < n_aggs; c++) td_free(aggs[c]);
  td_free(by);
  td_free(aggs);
  return rc;
}

int td_table_last_by(td_table *source, const char *const *keys, int64_t n_keys, td_table **out, td_error *err) {
  return by_row(source, keys, n_keys, true, out, err);
}

int td_table_first_by(td_table *source, const char *const *keys, int64_t n_keys, td_table **out, td_error *err) {
  return by_row(source, keys, n_keys, false, out, err);
}
