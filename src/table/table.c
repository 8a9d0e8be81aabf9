/*
 * table/table.c - source tables: construction, snapshots, metadata, reads.
 */
#include "table/table.h"

#include "table/update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

int td_snapshot_new(td_location *const *locs, const int64_t *sizes, int64_t n, int64_t version,
                    td_snapshot **out, td_error *err) {
  *out = NULL;
  td_snapshot *s = td_calloc(1, sizeof *s);
  td_region *r = n ? td_malloc((size_t)n * sizeof *r) : NULL;
  if (!s || (n && !r)) {
    td_free(s);
    td_free(r);
    return td_err_nomem(err, "building a table snapshot");
  }
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    r[i].loc = locs[i];
    r[i].size = sizes[i];
    r[i].row_begin = total;
    r[i].removed = false;
    total += sizes[i];
  }
  atomic_init(&s->refs, 1);
  s->version = version;
  s->n_regions = n;
  s->regions = r;
  s->size = total;
  *out = s;
  return TD_OK;
}

void td_snapshot_release(td_snapshot *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
  for (int64_t i = 0; i < s->n_chunks; i++) td_dchunk_release(s->chunks[i]);
  td_free(s->chunks);
  td_free(s->chunk_begin);
  td_free(s->regions);
  td_free(s);
}

void td_table_publish(td_table *t, td_snapshot *snap) {
  pthread_mutex_lock(&t->lock);
  td_snapshot *old = t->snap;
  t->snap = snap;
  pthread_mutex_unlock(&t->lock);
  td_snapshot_release(old);
}

td_snapshot *td_table_snapshot(td_table *t) {
  if (atomic_load(&t->pending)) td_derived_fill(t);
  pthread_mutex_lock(&t->lock);
  td_snapshot *s = t->snap;
  atomic_fetch_add(&s->refs, 1);
  pthread_mutex_unlock(&t->lock);
  return s;
}

int64_t td_snapshot_region_of(const td_snapshot *s, int64_t pos) {
  int64_t lo = 0, hi = s->n_regions - 1;
  while (lo < hi) { /* last region with row_begin <= pos and size > 0 */
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (s->regions[mid].row_begin <= pos) lo = mid;
    else hi = mid - 1;
  }
  while (lo < s->n_regions && s->regions[lo].row_begin + s->regions[lo].size <= pos) lo++;
  return lo;
}

int td_table_alloc(td_service *s, td_provider *p, const td_table_options *opts, td_table **out,
                   td_error *err) {
  td_table *t = td_calloc(1, sizeof *t);
  if (!t) return td_err_nomem(err, "creating a table");
  atomic_init(&t->refs, 1);
  t->service = td_service_retain(s);
  t->provider = p;
  t->def = &p->def;
  t->n_partition = p->n_partition;
  if (opts) t->opts = *opts;
  pthread_mutex_init(&t->lock, NULL);
  *out = t;
  return TD_OK;
}

int td_table_build_static(td_service *s, td_provider *p, td_location *const *locs, int64_t n,
                          const td_table_options *opts, td_table **out, td_error *err) {
  *out = NULL;
  if (n > TD_MAX_REGIONS)
    return td_err(err, TD_ERANGE, "table '%s' has %lld locations; a table holds at most 2^20",
                  td_table_key_name(p->key), (long long)n);
  int64_t *sizes = n ? td_calloc((size_t)n, sizeof *sizes) : NULL;
  td_call **calls = n ? td_calloc((size_t)n, sizeof *calls) : NULL;
  int rc = TD_OK;
  if (n && (!sizes || !calls)) rc = td_err_nomem(err, "sizing locations");
  /* Ask for every size first so a slow backend answers them concurrently. */
  int64_t started = 0;
  while (rc == TD_OK && started < n) {
    rc = td_location_size_begin(locs[started], &calls[started], err);
    if (rc == TD_OK) started++;
  }
  for (int64_t i = 0; i < started; i++) {
    td_error e2;
    int r2 = td_location_size_finish(locs[i], calls[i], &sizes[i], rc ? &e2 : err);
    if (rc == TD_OK) rc = r2;
  }
  td_table *t = NULL;
  if (rc == TD_OK) rc = td_table_alloc(s, p, opts, &t, err);
  if (rc == TD_OK) rc = td_snapshot_new(locs, sizes, n, 0, &t->snap, err);
  td_free(sizes);
  td_free(calls);
  if (rc) {
    td_table_release(t);
    return rc;
  }
  *out = t;
  return TD_OK;
}

void td_table_options_init(td_table_options *opts) {
  if (opts) memset(opts, 0, sizeof *opts);
}

int td_make_table(td_service *s, const td_table_key *key, const td_table_options *opts,
                  td_table **out, td_error *err) {
  if (!out) return td_err(err, TD_EINVAL, "td_make_table needs an out pointer");
  *out = NULL;
  if (!s || !key) return td_err(err, TD_EINVAL, "td_make_table needs a service and a table key");
  td_provider *p;
  int rc = td_service_provider(s, key, &p, err);
  if (rc) return rc;
  if (opts && opts->refreshing) return td_graph_make_table(s->graph, p, opts, out, err);
  td_location **locs;
  int64_t kept;
  rc = td_provider_list_kept(p, opts ? opts->predicate : NULL, opts ? opts->predicate_ctx : NULL, &locs, &kept, err);
  if (rc) return rc;
  rc = td_table_build_static(s, p, locs, kept, opts, out, err);
  td_free(locs);
  return rc;
}

td_table *td_table_retain(td_table *t) {
  if (t) atomic_fetch_add(&t->refs, 1);
  return t;
}

void td_table_release(td_table *t) {
  if (!t || atomic_fetch_sub(&t->refs, 1) != 1) return;
  if (t->kind == TD_TABLE_DERIVED) td_derived_destroy(t);
  /* A refreshing table leaves the graph now (unsubscribing); one released
   * from its own listener is freed when that dispatch ends. */
  if (t->refreshing && !td_graph_retire_table(t->service->graph, t)) return;
  td_table_destroy(t);
}

void td_table_destroy(td_table *t) {
  td_snapshot_release(t->snap);
  td_free(t->listeners);
  if (t->owned_ctx_free) t->owned_ctx_free(t->owned_ctx);
  pthread_mutex_destroy(&t->lock);
  if (t->lazy) pthread_mutex_destroy(&t->fill_lock);
  td_service *s = t->service;
  td_free(t);
  td_service_free(s);
}

bool td_table_is_refreshing(const td_table *t) { return t && t->refreshing; }

int64_t td_table_version(td_table *t) {
  if (!t) return 0;
  td_snapshot *s = td_table_snapshot(t);
  int64_t v = s->version;
  td_snapshot_release(s);
  return v;
}

int td_table_status(td_table *t, td_error *err) {
  if (!t) return td_err(err, TD_EINVAL, "td_table_status needs a table");
  if (atomic_load(&t->pending)) td_derived_fill(t);
  pthread_mutex_lock(&t->lock);
  int rc = t->fail_code ? td_err(err, TD_EFAILED, "table '%s' has failed: %s", td_table_key_name(t->provider->key),
                                 t->fail_msg)
                        : TD_OK;
  pthread_mutex_unlock(&t->lock);
  return rc;
}

int td_table_add_listener(td_table *t, td_table_listener fn, void *ctx, int64_t *id, td_error *err) {
  if (!t || !fn) return td_err(err, TD_EINVAL, "a listener needs a table and a function");
  return td_graph_add_listener(t->service->graph, t, fn, ctx, id, err);
}

int td_table_remove_listener(td_table *t, int64_t id) {
  if (!t || !t->refreshing) return TD_ENOTFOUND;
  return td_graph_remove_listener(t->service->graph, t, id);
}

int td_table_schema(td_table *t, struct ArrowSchema *out, td_error *err) {
  if (!t || !out) return td_err(err, TD_EINVAL, "td_table_schema needs a table and an out schema");
  return td_schema_export(t->def, out, err);
}

int64_t td_table_num_columns(const td_table *t) { return t ? t->def->n_fields : 0; }

const char *td_table_column_name(const td_table *t, int64_t c) {
  return t && c >= 0 && c < t->def->n_fields ? t->def->fields[c].name : NULL;
}

td_type_id td_table_column_type(const td_table *t, int64_t c) {
  return t && c >= 0 && c < t->def->n_fields ? t->def->fields[c].type : TD_TYPE_NONE;
}

const char *td_table_column_timezone(const td_table *t, int64_t c) {
  if (!t || c < 0 || c >= t->def->n_fields || !td_type_is_timestamp(t->def->fields[c].type)) return NULL;
  const char *tz = t->def->fields[c].tz;
  return tz && tz[0] ? tz : NULL;
}

bool td_table_column_is_partition(const td_table *t, int64_t c) { return t && c >= 0 && c < t->n_partition; }

int64_t td_table_column_index(const td_table *t, const char *name) {
  return t && name ? td_schema_find(t->def, name) : -1;
}

int64_t td_table_size(td_table *t) {
  if (!t) return 0;
  td_snapshot *s = td_table_snapshot(t);
  int64_t n = s->size;
  td_snapshot_release(s);
  return n;
}

int64_t td_table_location_count(td_table *t) {
  if (!t) return 0;
  td_snapshot *s = td_table_snapshot(t);
  int64_t n = s->n_regions;
  td_snapshot_release(s);
  return n;
}

const td_location_key *td_table_location(td_table *t, int64_t i) {
  if (!t) return NULL;
  td_snapshot *s = td_table_snapshot(t);
  const td_location_key *k = i >= 0 && i < s->n_regions ? s->regions[i].loc->key : NULL;
  td_snapshot_release(s); /* locations live as long as the service, removed ones too */
  return k;
}

td_update_mode td_table_update_mode(const td_table *t) {
  return t && t->provider ? (td_update_mode)t->provider->update_mode : TD_UPDATE_ADD_ONLY;
}

bool td_table_region_removed(td_table *t, int64_t region) {
  if (!t) return false;
  td_snapshot *s = td_table_snapshot(t);
  bool removed = region >= 0 && region < s->n_regions && s->regions[region].removed;
  td_snapshot_release(s);
  return removed;
}

int64_t td_table_region_start(td_table *t, int64_t region) {
  if (!t) return -1;
  td_snapshot *s = td_table_snapshot(t);
  int64_t start = region >= 0 && region < s->n_regions ? s->regions[region].row_begin : -1;
  td_snapshot_release(s);
  return start;
}

int64_t td_table_row_key(td_table *t, int64_t pos) {
  if (!t) return -1;
  td_snapshot *s = td_table_snapshot(t);
  int64_t key = -1;
  if (pos >= 0 && pos < s->size) {
    int64_t r = td_snapshot_region_of(s, pos);
    key = (r << TD_ROW_BITS) | (pos - s->regions[r].row_begin);
  }
  td_snapshot_release(s);
  return key;
}

int td_array_append_const(td_array *a, const td_value *v, int64_t n, td_error *err) {
  int rc = td_array_reserve(a, a->length + n, err);
  for (int64_t i = 0; rc == TD_OK && i < n; i++) rc = td_array_append_value(a, v, err);
  return rc;
}

int td_table_read(td_table *t, const int64_t *cols, int64_t n_cols, int64_t begin, int64_t end,
                  struct ArrowArray *out, td_error *err) {
  if (!t || !out) return td_err(err, TD_EINVAL, "td_table_read needs a table and an out array");
  if (n_cols > 0 && !cols) return td_err(err, TD_EINVAL, "td_table_read: %lld columns but no column indices", (long long)n_cols);
  td_scan sc;
  int rc = td_scan_init(&sc, t, NULL, cols, n_cols, begin, end, err);
  if (rc) return rc;
  td_array *b = td_calloc((size_t)sc.n_cols + 1, sizeof *b);
  if (!b) rc = td_err_nomem(err, "reading a table");
  for (int64_t i = 0; rc == TD_OK && i < sc.n_cols; i++)
    rc = td_array_init(&b[i], t->def->fields[sc.cols[i]].type, end - begin, err);
  bool done = false;
  while (rc == TD_OK) {
    td_chunk ch;
    rc = td_scan_next(&sc, &ch, &done, err);
    if (rc || done) break;
    for (int64_t i = 0; rc == TD_OK && i < sc.n_cols; i++) {
      if (ch.consts[i]) rc = td_array_append_const(&b[i], ch.consts[i], ch.length, err);
      else rc = td_array_append_view(&b[i], &ch.views[i], 0, ch.length, err);
    }
  }
  struct ArrowArray *children = NULL;
  if (rc == TD_OK && !(children = td_calloc((size_t)sc.n_cols + 1, sizeof *children)))
    rc = td_err_nomem(err, "reading a table");
  int64_t exported = 0;
  for (; rc == TD_OK && exported < sc.n_cols; exported++) rc = td_array_export_arrow(&b[exported], &children[exported], err);
  if (rc == TD_OK) rc = td_struct_array_make(sc.n_cols, children, end - begin, out, err);
  else
    for (int64_t i = 0; i < exported; i++) td_arrow_array_release(&children[i]);
  for (int64_t i = 0; b && i < sc.n_cols; i++) td_array_reset(&b[i]);
  td_free(b);
  td_free(children);
  td_scan_release(&sc);
  return rc;
}
