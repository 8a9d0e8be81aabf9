/*
 * table/partitioned.c - one row per location, with lazily built constituents.
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
  td_location **locs;
  int64_t n;
  td_table **constituents; /* built on first use */
};

int td_make_partitioned_table(td_service *s, const td_table_key *key, const td_table_options *opts,
                              td_partitioned_table **out, td_error *err) {
  *out = NULL;
  if (!s || !key) return td_err(err, TD_EINVAL, "td_make_partitioned_table needs a service and a table key");
  td_provider *p;
  int rc = td_service_provider(s, key, &p, err);
  if (rc) return rc;
  td_location **locs;
  int64_t kept;
  rc = td_provider_list_kept(p, opts ? opts->predicate : NULL, opts ? opts->predicate_ctx : NULL, &locs, &kept, err);
  if (rc) return rc;
  td_partitioned_table *pt = td_calloc(1, sizeof *pt);
  td_table **cons = td_calloc((size_t)kept + 1, sizeof *cons);
  if (!pt || !cons) {
    td_free(pt);
    td_free(cons);
    td_free(locs);
    return td_err_nomem(err, "creating a partitioned table");
  }
  pt->service = td_service_retain(s);
  pt->provider = p;
  if (opts) pt->opts = *opts;
  pthread_mutex_init(&pt->lock, NULL);
  pt->locs = locs;
  pt->n = kept;
  pt->constituents = cons;
  *out = pt;
  return TD_OK;
}

void td_partitioned_table_release(td_partitioned_table *pt) {
  if (!pt) return;
  for (int64_t i = 0; i < pt->n; i++) td_table_release(pt->constituents[i]);
  td_free(pt->constituents);
  td_free(pt->locs);
  pthread_mutex_destroy(&pt->lock);
  td_service *s = pt->service;
  td_free(pt);
  td_service_free(s);
}

int64_t td_partitioned_table_size(td_partitioned_table *pt) { return pt->n; }

const td_location_key *td_partitioned_table_key(td_partitioned_table *pt, int64_t i) {
  return i >= 0 && i < pt->n ? pt->locs[i]->key : NULL;
}

int td_partitioned_table_read(td_partitioned_table *pt, struct ArrowSchema *schema_out,
                              struct ArrowArray *out, td_error *err) {
  const td_provider *p = pt->provider;
  int64_t nc = p->n_partition + 1;
  td_schema sch;
  td_schema_init(&sch);
  td_array *b = td_calloc((size_t)nc, sizeof *b);
  struct ArrowArray *kids = td_calloc((size_t)nc, sizeof *kids);
  int rc = (b && kids) ? TD_OK : td_err_nomem(err, "reading a partitioned table");
  for (int64_t c = 0; rc == TD_OK && c < nc; c++) {
    const td_field *f = c < p->n_partition ? &p->def.fields[c] : NULL;
    rc = f ? td_schema_add(&sch, f->name, f->type, f->tz, true, err)
           : td_schema_add(&sch, "__location", TD_TYPE_UTF8, NULL, false, err);
    if (rc == TD_OK) rc = td_array_init(&b[c], sch.fields[c].type, pt->n, err);
  }
  for (int64_t i = 0; rc == TD_OK && i < pt->n; i++) {
    for (int64_t c = 0; rc == TD_OK && c < p->n_partition; c++)
      rc = td_array_append_value(&b[c], &pt->locs[i]->values[c], err);
    if (rc == TD_OK)
      rc = td_array_append_str(&b[nc - 1], pt->locs[i]->name, (int64_t)strlen(pt->locs[i]->name), err);
  }
  int64_t exported = 0;
  for (; rc == TD_OK && exported < nc; exported++) rc = td_array_export(&b[exported], &kids[exported], err);
  if (rc == TD_OK) rc = td_struct_array_make(nc, kids, pt->n, out, err);
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

int td_partitioned_table_constituent(td_partitioned_table *pt, int64_t i, td_table **out, td_error *err) {
  *out = NULL;
  if (i < 0 || i >= pt->n)
    return td_err(err, TD_ERANGE, "row %lld is out of range (the partitioned table has %lld rows)",
                  (long long)i, (long long)pt->n);
  pthread_mutex_lock(&pt->lock);
  int rc = TD_OK;
  if (!pt->constituents[i])
    rc = td_table_build_static(pt->service, pt->provider, &pt->locs[i], 1, &pt->opts,
                               &pt->constituents[i], err);
  if (rc == TD_OK) *out = td_table_retain(pt->constituents[i]);
  pthread_mutex_unlock(&pt->lock);
  return rc;
}
