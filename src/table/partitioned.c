/*
 * table/partitioned.c - one row per location, with lazily built constituents.
 *
 * A static partitioned table lists the locations once.  A refreshing one
 * keeps a refreshing source table whose regions are its rows, so it grows
 * with new locations in the update cycles (its listeners hear the new
 * locations); each of its constituents is a refreshing table of that one
 * location.  Merging the constituents gives that source table (live), or a
 * static table of the listed locations.
 */
#include <stdio.h>
#include <string.h>

#include "table/table.h"
#include "util/alloc.h"
#include "util/error.h"

struct td_partitioned_table {
  td_service *service;
  td_provider *provider;
  td_table_options opts;
  pthread_mutex_t lock;
  td_location **locs; /* static: the rows */
  int64_t n;
  td_table *live;     /* refreshing: its regions are the rows */
  td_table **constituents; /* built on first use, by row */
  int64_t n_constituents;
};

/* The rows now: location i of the current version (the snapshot is held by
 * *hold for live tables; release it after).  A live table's rows are its
 * regions less the tombstones of removed locations (ADD_REMOVE). */
static int64_t rows_now(td_partitioned_table *pt, td_snapshot **hold) {
  *hold = NULL;
  if (!pt->live) return pt->n;
  *hold = td_table_snapshot(pt->live);
  int64_t n = 0;
  for (int64_t r = 0; r < (*hold)->n_regions; r++) n += !(*hold)->regions[r].removed;
  return n;
}

/* The region of row i (live), or i (static): stable across removals. */
static int64_t row_slot(const td_snapshot *hold, int64_t i) {
  if (!hold) return i;
  for (int64_t r = 0; r < hold->n_regions; r++)
    if (!hold->regions[r].removed && i-- == 0) return r;
  return -1;
}

static td_location *row_location(const td_partitioned_table *pt, const td_snapshot *hold, int64_t i) {
  return hold ? hold->regions[row_slot(hold, i)].loc : pt->locs[i];
}

int td_make_partitioned_table(td_service *s, const td_table_key *key, const td_table_options *opts,
                              td_partitioned_table **out, td_error *err) {
  if (!out) return td_err(err, TD_EINVAL, "td_make_partitioned_table needs an out pointer");
  *out = NULL;
  if (!s || !key) return td_err(err, TD_EINVAL, "td_make_partitioned_table needs a service and a table key");
  td_provider *p;
  int rc = td_service_provider(s, key, &p, err);
  if (rc) return rc;
  td_location **locs = NULL;
  int64_t kept = 0;
  td_table *live = NULL;
  if (opts && opts->refreshing) rc = td_make_table(s, key, opts, &live, err);
  else rc = td_provider_list_kept(p, opts ? opts->predicate : NULL, opts ? opts->predicate_ctx : NULL, &locs, &kept, err);
  if (rc) return rc;
  td_partitioned_table *pt = td_calloc(1, sizeof *pt);
  if (!pt) {
    td_free(locs);
    td_table_release(live);
    return td_err_nomem(err, "creating a partitioned table");
  }
  pt->service = td_service_retain(s);
  pt->provider = p;
  if (opts) pt->opts = *opts;
  pthread_mutex_init(&pt->lock, NULL);
  pt->locs = locs;
  pt->n = kept;
  pt->live = live;
  *out = pt;
  return TD_OK;
}

int td_partitioned_table_add_listener(td_partitioned_table *pt, td_table_listener fn, void *ctx, int64_t *id,
                                      td_error *err) {
  if (!pt) return td_err(err, TD_EINVAL, "td_partitioned_table_add_listener needs a partitioned table");
  if (!pt->live) return td_err(err, TD_ESTATE, "only refreshing partitioned tables have listeners");
  return td_table_add_listener(pt->live, fn, ctx, id, err);
}

int td_partitioned_table_remove_listener(td_partitioned_table *pt, int64_t id) {
  return pt && pt->live ? td_table_remove_listener(pt->live, id) : TD_ENOTFOUND;
}

void td_partitioned_table_release(td_partitioned_table *pt) {
  if (!pt) return;
  for (int64_t i = 0; i < pt->n_constituents; i++) td_table_release(pt->constituents[i]);
  td_free(pt->constituents);
  td_free(pt->locs);
  td_table_release(pt->live);
  pthread_mutex_destroy(&pt->lock);
  td_service *s = pt->service;
  td_free(pt);
  td_service_free(s);
}

int64_t td_partitioned_table_size(td_partitioned_table *pt) {
  if (!pt) return 0;
  td_snapshot *hold;
  int64_t n = rows_now(pt, &hold);
  td_snapshot_release(hold);
  return n;
}

const td_location_key *td_partitioned_table_key(td_partitioned_table *pt, int64_t i) {
  if (!pt) return NULL;
  td_snapshot *hold;
  int64_t n = rows_now(pt, &hold);
  const td_location_key *k = i >= 0 && i < n ? row_location(pt, hold, i)->key : NULL;
  td_snapshot_release(hold); /* locations live as long as the service */
  return k;
}

int td_partitioned_table_read(td_partitioned_table *pt, struct ArrowSchema *schema_out,
                              struct ArrowArray *out, td_error *err) {
  if (!pt || !out) return td_err(err, TD_EINVAL, "td_partitioned_table_read needs a partitioned table and an out array");
  const td_provider *p = pt->provider;
  int64_t nc = p->n_partition + 1;
  td_snapshot *hold;
  int64_t n_rows = rows_now(pt, &hold);
  td_schema sch;
  td_schema_init(&sch);
  td_array *b = td_calloc((size_t)nc, sizeof *b);
  struct ArrowArray *kids = td_calloc((size_t)nc, sizeof *kids);
  int rc = (b && kids) ? TD_OK : td_err_nomem(err, "reading a partitioned table");
  for (int64_t c = 0; rc == TD_OK && c < nc; c++) {
    const td_field *f = c < p->n_partition ? &p->def.fields[c] : NULL;
    rc = f ? td_schema_add(&sch, f->name, f->type, f->tz, true, err)
           : td_schema_add(&sch, "__location", TD_TYPE_UTF8, NULL, false, err);
    if (rc == TD_OK) rc = td_array_init(&b[c], sch.fields[c].type, n_rows, err);
  }
  for (int64_t i = 0, r = 0; rc == TD_OK && i < n_rows; i++, r++) {
    while (hold && hold->regions[r].removed) r++;
    const td_location *l = hold ? hold->regions[r].loc : pt->locs[i];
    for (int64_t c = 0; rc == TD_OK && c < p->n_partition; c++) rc = td_array_append_value(&b[c], &l->values[c], err);
    if (rc == TD_OK) rc = td_array_append_str(&b[nc - 1], l->name, (int64_t)strlen(l->name), err);
  }
  td_snapshot_release(hold);
  int64_t exported = 0;
  for (; rc == TD_OK && exported < nc; exported++) rc = td_array_export(&b[exported], &kids[exported], err);
  if (rc == TD_OK) rc = td_struct_array_make(nc, kids, n_rows, out, err);
  else
    for (int64_t c = 0; c < exported; c++) td_arrow_array_release(&kids[c]);
  if (rc == TD_OK && schema_out) {
    rc = td_schema_export(&sch, schema_out, err);
    if (rc) td_arrow_array_release(out);
  }
  for (int64_t c = 0; b && c < nc; c++) td_array_reset(&b[c]);
  td_free(b);
  td_free(kids);
  td_schema_reset(&sch);
  return rc;
}

/* A live constituent keeps exactly its location. */
static bool same_location(void *ctx, const td_location_key *key) {
  return td_location_key_equal(((const td_location *)ctx)->key, key);
}

int td_partitioned_table_constituent(td_partitioned_table *pt, int64_t i, td_table **out, td_error *err) {
  if (!pt || !out) return td_err(err, TD_EINVAL, "td_partitioned_table_constituent needs a partitioned table and an out pointer");
  *out = NULL;
  td_snapshot *hold;
  int64_t n = rows_now(pt, &hold);
  td_location *loc = i >= 0 && i < n ? row_location(pt, hold, i) : NULL;
  /* Constituents are cached by region (live) or row (static). */
  int64_t slot = loc ? row_slot(hold, i) : -1, n_slots = hold ? hold->n_regions : n;
  td_snapshot_release(hold);
  if (!loc)
    return td_err(err, TD_ERANGE, "row %lld is out of range (the partitioned table has %lld rows)", (long long)i,
                  (long long)n);
  i = slot;
  pthread_mutex_lock(&pt->lock);
  int rc = TD_OK;
  if (i >= pt->n_constituents) {
    td_table **c = td_realloc(pt->constituents, (size_t)(n_slots + 1) * sizeof *c);
    if (!c) rc = td_err_nomem(err, "building a constituent table");
    else {
      memset(c + pt->n_constituents, 0, (size_t)(n_slots + 1 - pt->n_constituents) * sizeof *c);
      pt->constituents = c;
      pt->n_constituents = n_slots + 1;
    }
  }
  if (rc == TD_OK && !pt->constituents[i]) {
    if (pt->live) {
      td_table_options o;
      td_table_options_init(&o);
      o.predicate = same_location;
      o.predicate_ctx = loc;
      o.refreshing = true;
      rc = td_make_table(pt->service, pt->provider->key, &o, &pt->constituents[i], err);
    } else {
      rc = td_table_build_static(pt->service, pt->provider, &loc, 1, &pt->opts, &pt->constituents[i], err);
    }
  }
  if (rc == TD_OK) *out = td_table_retain(pt->constituents[i]);
  pthread_mutex_unlock(&pt->lock);
  return rc;
}

int td_partitioned_table_merge(td_partitioned_table *pt, td_table **out, td_error *err) {
  *out = NULL;
  if (!pt) return td_err(err, TD_EINVAL, "td_partitioned_table_merge needs a partitioned table");
  /* Live: the table behind the rows is the merge (its regions are the rows,
   * in row order, and it grows in the same cycles). */
  if (pt->live) {
    *out = td_table_retain(pt->live);
    return TD_OK;
  }
  return td_table_build_static(pt->service, pt->provider, pt->locs, pt->n, &pt->opts, out, err);
}
