/*
 * service/provider.c - table definitions, interned locations and their sizes.
 */
#include "service/provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

static const td_location_key *location_key_of(const void *item) {
  return ((const td_location *)item)->key;
}

/* Builds the definition from the backend's schemas (spec 3, rule 1). */
static int build_definition(td_provider *p, const td_call *c, td_error *err) {
  const char *table = td_table_key_name(p->key);
  int rc = td_schema_copy(&c->partition_schema, &p->def, err);
  if (rc) return rc;
  p->n_partition = p->def.n_fields;
  for (int64_t i = 0; i < c->data_schema.n_fields; i++) {
    const td_field *f = &c->data_schema.fields[i];
    int64_t j = td_schema_find(&p->def, f->name);
    if (j >= 0 && j < p->n_partition) {
      if (!td_field_same_type(f, &p->def.fields[j])) {
        char a[96], b[96];
        return td_err(err, TD_ECONTRACT,
                      "table '%s': column '%s' is a partition column of type %s but the data schema says %s",
                      table, f->name, td_field_type_text(&p->def.fields[j], a, sizeof a),
                      td_field_type_text(f, b, sizeof b));
      }
      continue; /* the data schema may repeat partition columns */
    }
    if (j >= 0) return td_err(err, TD_ECONTRACT, "table '%s': column '%s' appears twice", table, f->name);
    rc = td_schema_add(&p->def, f->name, f->type, f->tz, f->nullable, err);
    if (rc) return rc;
  }
  return TD_OK;
}

int td_provider_new(td_service *s, const td_table_key *key, td_provider **out, td_error *err) {
  *out = NULL;
  td_provider *p = td_calloc(1, sizeof *p);
  if (!p) return td_err_nomem(err, "creating a location provider");
  p->service = s;
  p->key = td_table_key_retain((td_table_key *)key);
  td_schema_init(&p->def);
  td_key_index_init(&p->index, location_key_of);
  pthread_mutex_init(&p->lock, NULL);
  char desc[256];
  snprintf(desc, sizeof desc, "table_schema(table '%s')", td_table_key_name(key));
  td_call *c;
  int rc = td_call_begin(s, TD_METHOD_TABLE_SCHEMA, desc, &c, err);
  if (rc == TD_OK) {
    s->backend.vtable->table_schema(s->backend.self, key, td_call_request(s, c));
    rc = td_call_wait(s, c, err);
    if (rc == TD_OK) rc = build_definition(p, c, err);
    p->update_mode = c->update_mode;
    td_call_end(s, c);
  }
  if (rc) {
    td_provider_free(p);
    return rc;
  }
  *out = p;
  return TD_OK;
}

static void location_free(td_location *l) {
  td_free(l->fail_msg);
  td_location_key_release(l->key);
  td_free(l->name);
  td_free(l->values);
  td_free(l);
}

void td_provider_free(td_provider *p) {
  if (!p) return;
  for (int64_t i = 0; i < p->n_locs; i++) location_free(p->locs[i]);
  td_free(p->locs);
  td_free(p->seen);
  td_free(p->fresh);
  td_free(p->gone);
  td_key_index_reset(&p->index);
  td_schema_reset(&p->def);
  td_table_key_release(p->key);
  pthread_mutex_destroy(&p->lock);
  td_free(p);
}

/* Checks a key against the definition and maps its values onto the
 * partition columns (spec 2, 3 rule 2). */
static int map_partitions(td_provider *p, const td_location_key *key, const char *name,
                          td_value **out, td_error *err) {
  const char *table = td_table_key_name(p->key);
  char other[256] = "";
  if (p->n_locs) snprintf(other, sizeof other, "%s", p->locs[0]->name);
#define TD_DISAGREE_(...)                                                                  \
  do {                                                                                    \
    char why_[512];                                                                       \
    snprintf(why_, sizeof why_, __VA_ARGS__);                                             \
    if (other[0])                                                                         \
      return td_err(err, TD_ECONTRACT, "table '%s': location '%s' disagrees with location '%s': %s", \
                    table, name, other, why_);                                            \
    return td_err(err, TD_ECONTRACT, "table '%s': location '%s': %s", table, name, why_); \
  } while (0)
  if (p->n_partition > 0 && key->n == 0)
    TD_DISAGREE_("the table is partitioned by %lld columns but the location has no partition values",
                 (long long)p->n_partition);
  if (p->n_partition == 0 && key->n > 0) {
    /* As Deephaven does: a table without partition columns ignores the
     * partition values of its locations (reported once per table key). */
    if (!p->ignored_values_told) {
      p->ignored_values_told = true;
      char msg[TD_ERROR_MESSAGE_SIZE];
      snprintf(msg, sizeof msg,
               "table '%s' has no partition columns: the partition values of its locations are ignored "
               "(first: location '%s')",
               table, name);
      td_service_warn(p->service, TD_ECONTRACT, msg);
    }
    *out = NULL;
    return TD_OK;
  }
  td_value *vals = p->n_partition ? td_calloc((size_t)p->n_partition, sizeof *vals) : NULL;
  if (p->n_partition && !vals) return td_err_nomem(err, "mapping partition values");
  for (int64_t i = 0; i < p->n_partition; i++) vals[i] = td_value_null(p->def.fields[i].type);
  int64_t next = 0;
  for (int64_t k = 0; k < key->n; k++) {
    int64_t j = td_schema_find(&p->def, key->names[k]);
    const char *why = NULL;
    if (j < 0 || j >= p->n_partition) why = "is not a partition column of the table";
    else if (j < next) why = "is out of order (partition values follow the partition schema's order)";
    else if (!key->values[k].is_null && key->values[k].type != p->def.fields[j].type) why = "has the wrong type";
    if (why) {
      td_free(vals);
      if (j >= 0 && j < p->n_partition && !key->values[k].is_null &&
          key->values[k].type != p->def.fields[j].type)
        TD_DISAGREE_("partition column '%s' has type %s, expected %s", key->names[k],
                     td_type_name(key->values[k].type), td_type_name(p->def.fields[j].type));
      TD_DISAGREE_("partition column '%s' %s", key->names[k], why);
    }
    vals[j] = key->values[k];
    next = j + 1;
  }
#undef TD_DISAGREE_
  *out = vals;
  return TD_OK;
}

int td_provider_intern(td_provider *p, td_location_key *key, td_location **out, bool *is_new,
                       td_error *err) {
  *out = NULL;
  *is_new = false;
  pthread_mutex_lock(&p->lock);
  td_location *hit = td_key_index_get(&p->index, key);
  if (hit) {
    pthread_mutex_unlock(&p->lock);
    *out = hit;
    return TD_OK;
  }
  int rc = TD_OK;
  td_location *l = td_calloc(1, sizeof *l);
  size_t need = l ? td_location_key_format(key, NULL, 0) + 1 : 0;
  if (!l || !(l->name = td_malloc(need))) {
    rc = td_err_nomem(err, "adding a location");
    goto fail;
  }
  td_location_key_format(key, l->name, need);
  if ((rc = map_partitions(p, key, l->name, &l->values, err)) != TD_OK) goto fail;
  if (p->n_locs == p->cap_locs) {
    int64_t cap = p->cap_locs ? p->cap_locs * 2 : 16;
    td_location **nl = td_realloc(p->locs, (size_t)cap * sizeof *nl);
    if (!nl) {
      rc = td_err_nomem(err, "adding a location");
      goto fail;
    }
    p->locs = nl;
    p->cap_locs = cap;
  }
  l->key = td_location_key_retain(key);
  if (td_key_index_put(&p->index, l) != TD_OK) {
    td_location_key_release(l->key);
    rc = td_err_nomem(err, "adding a location");
    goto fail;
  }
  l->provider = p;
  l->id = atomic_fetch_add(&p->service->next_location_id, 1) + 1;
  atomic_init(&l->size, 0);
  p->locs[p->n_locs++] = l;
  pthread_mutex_unlock(&p->lock);
  *out = l;
  *is_new = true;
  return TD_OK;
fail:
  pthread_mutex_unlock(&p->lock);
  if (l) {
    td_free(l->name);
    td_free(l->values);
    td_free(l);
  }
  return rc;
}

td_location *td_provider_find(td_provider *p, const td_location_key *key) {
  pthread_mutex_lock(&p->lock);
  td_location *l = td_key_index_get(&p->index, key);
  pthread_mutex_unlock(&p->lock);
  return l;
}

void td_provider_forget(td_provider *p, td_location *l) {
  pthread_mutex_lock(&p->lock);
  if (!l->removed && td_key_index_get(&p->index, l->key) == l) td_key_index_remove(&p->index, l->key);
  l->removed = true;
  pthread_mutex_unlock(&p->lock);
}

int td_location_set_size(td_location *loc, int64_t size, td_error *err) {
  int64_t cur = atomic_load(&loc->size);
  while (size > cur) {
    if (atomic_compare_exchange_weak(&loc->size, &cur, size)) return TD_OK;
  }
  if (size < cur)
    return td_err(err, TD_ECONTRACT, "table '%s', location '%s': size shrank from %lld to %lld (sizes only grow)",
                  td_table_key_name(loc->provider->key), loc->name, (long long)cur, (long long)size);
  return TD_OK;
}

int td_location_size_begin(td_location *loc, td_call **call, td_error *err) {
  td_service *s = loc->provider->service;
  char desc[512];
  snprintf(desc, sizeof desc, "table_location_size(table '%s', location '%s')",
           td_table_key_name(loc->provider->key), loc->name);
  int rc = td_call_begin(s, TD_METHOD_TABLE_LOCATION_SIZE, desc, call, err);
  if (rc) return rc;
  s->backend.vtable->table_location_size(s->backend.self, loc->provider->key, loc->key,
                                         td_call_request(s, *call));
  return TD_OK;
}

int td_location_size_finish(td_location *loc, td_call *call, int64_t *size, td_error *err) {
  td_service *s = loc->provider->service;
  int rc = td_call_wait(s, call, err);
  if (rc == TD_OK) {
    if (call->size >= TD_MAX_LOCATION_ROWS)
      rc = td_err(err, TD_ERANGE, "table '%s', location '%s': size %lld exceeds the limit of 2^43 rows",
                  td_table_key_name(loc->provider->key), loc->name, (long long)call->size);
    else rc = td_location_set_size(loc, call->size, err);
    if (rc == TD_OK && size) *size = call->size;
  }
  td_call_end(s, call);
  return rc;
}

int td_location_order(const void *a, const void *b) {
  const td_location *x = *(td_location *const *)a, *y = *(td_location *const *)b;
  return td_location_key_compare(x->key, y->key);
}

int td_provider_list(td_provider *p, td_location ***out, int64_t *n_out, td_error *err) {
  *out = NULL;
  *n_out = 0;
  td_service *s = p->service;
  char desc[256];
  snprintf(desc, sizeof desc, "table_locations(table '%s')", td_table_key_name(p->key));
  td_call *c;
  int rc = td_call_begin(s, TD_METHOD_TABLE_LOCATIONS, desc, &c, err);
  if (rc) return rc;
  s->backend.vtable->table_locations(s->backend.self, p->key, td_call_request(s, c));
  rc = td_call_wait(s, c, err);
  td_location **locs = NULL;
  int64_t n = 0;
  if (rc == TD_OK && c->n_locs) {
    locs = td_malloc((size_t)c->n_locs * sizeof *locs);
    if (!locs) rc = td_err_nomem(err, "listing locations");
  }
  for (int64_t i = 0; rc == TD_OK && i < c->n_locs; i++) {
    td_location *l;
    bool fresh;
    rc = td_provider_intern(p, c->locs[i], &l, &fresh, err);
    if (rc) break;
    locs[n++] = l;
  }
  if (rc == TD_OK && n > 1) {
    /* Location-key order; a duplicate location is ignored (spec 4). */
    qsort(locs, (size_t)n, sizeof *locs, td_location_order);
    int64_t u = 1;
    for (int64_t i = 1; i < n; i++)
      if (locs[i] != locs[u - 1]) locs[u++] = locs[i];
    n = u;
  }
  td_call_end(s, c);
  if (rc) {
    td_free(locs);
    return rc;
  }
  *out = locs;
  *n_out = n;
  return TD_OK;
}

int td_provider_list_kept(td_provider *p, td_location_predicate predicate, void *ctx, td_location ***out,
                          int64_t *n_out, td_error *err) {
  int rc = td_provider_list(p, out, n_out, err);
  if (rc || !predicate) return rc;
  int64_t kept = 0;
  for (int64_t i = 0; i < *n_out; i++)
    if (predicate(ctx, (*out)[i]->key)) (*out)[kept++] = (*out)[i];
  *n_out = kept;
  return TD_OK;
}
