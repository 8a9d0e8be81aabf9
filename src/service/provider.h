/*
 * service/provider.h - location providers and locations.
 *
 * One provider per table key per service (spec 2): it holds the table
 * definition (partition columns first, then data columns), and every location
 * the service has ever been told about for that key, interned by location key
 * so that all tables on the key share one td_location (and so one set of
 * cached pages).  A location removed by an ADD_REMOVE table's subscription
 * leaves the index (so a key added again is a new location, with new pages)
 * but stays allocated, with `removed` set: every location is freed with the
 * service, so the keys the engine hands out stay valid.
 *
 * Invariants:
 *  1. def.fields[0 .. n_partition) are the partition columns, in partition
 *     schema order; the rest are data columns in data schema order.
 *  2. A location's `size` only grows: td_location_set_size rejects a smaller
 *     size with TD_ECONTRACT and leaves the old one.
 *  3. A location's `values[i]` is its value for partition column i (null when
 *     its key does not mention that column).
 */
#ifndef TD_SERVICE_PROVIDER_H
#define TD_SERVICE_PROVIDER_H

#include <pthread.h>
#include <stdatomic.h>

#include "arrow/schema.h"
#include "keys/key_index.h"
#include "keys/keys.h"
#include "service/service.h"
#include "tabledata/table.h"

typedef struct td_location {
  uint64_t id; /* unique within the service; names the location's pages */
  td_location_key *key;
  char *name;       /* formatted key, for messages */
  td_value *values; /* per partition column (strings borrowed from key) */
  _Atomic int64_t size; /* latest size the backend reported (max) */
  struct td_provider *provider;
  /* Refreshing tables (all under the update graph's lock): */
  td_call *size_sub;       /* size subscription, shared by every refreshing table */
  int64_t size_sub_refs;   /* refreshing tables that include the location */
  int64_t drained_cycle;   /* the cycle that last drained size_sub */
  int fail_code;           /* non-zero once the location failed (shrink, failure) */
  char *fail_msg;
  bool delivered;          /* in the provider's `seen` list */
  bool removed;            /* removed (ADD_REMOVE): never included again */
} td_location;

struct td_provider {
  td_service *service;
  td_table_key *key;
  pthread_mutex_t lock;
  td_schema def;
  int64_t n_partition;
  int update_mode;    /* td_update_mode the schema answer declared */
  td_location **locs; /* interned, in arrival order */
  int64_t n_locs, cap_locs;
  td_key_index index; /* key -> location */
  bool ignored_values_told; /* on_error heard that partition values are ignored */
  /* Refreshing tables (all under the update graph's lock): */
  td_call *loc_sub;         /* location subscription, shared per table key */
  int64_t loc_sub_refs;     /* refreshing tables on this key */
  td_location **seen;       /* locations the subscription delivered, in order */
  int64_t n_seen, cap_seen;
  int64_t drained_cycle;    /* the cycle that last drained loc_sub */
  td_location **fresh;      /* delivered in that cycle */
  int64_t n_fresh, cap_fresh;
  td_location **gone;       /* removed in that cycle */
  int64_t n_gone, cap_gone;
  int fail_code;            /* non-zero once the location subscription failed */
  char fail_msg[TD_ERROR_MESSAGE_SIZE];
};

int td_provider_new(td_service *s, const td_table_key *key, td_provider **out, td_error *err);
void td_provider_free(td_provider *p);
/* Interns `key`: the existing location with an equal key, or a new one after
 * checking the key against the definition (TD_ECONTRACT naming both keys when
 * they disagree).  *is_new tells which. */
int td_provider_intern(td_provider *p, td_location_key *key, td_location **out, bool *is_new,
                       td_error *err);
/* The interned (not removed) location with key `key`, or NULL. */
td_location *td_provider_find(td_provider *p, const td_location_key *key);
/* A location removal: the location leaves the index (a later equal key is
 * interned as a new location) and is marked removed; it stays allocated. */
void td_provider_forget(td_provider *p, td_location *l);
/* Raises the location's size (TD_ECONTRACT if it would shrink). */
int td_location_set_size(td_location *loc, int64_t size, td_error *err);
/* Starts / finishes asking for the size (to overlap many requests). */
int td_location_size_begin(td_location *loc, td_call **call, td_error *err);
int td_location_size_finish(td_location *loc, td_call *call, int64_t *size, td_error *err);
/* qsort comparator of td_location* in location-key order. */
int td_location_order(const void *a, const void *b);
/* Lists the table's locations (table_locations), interning each; the result
 * is in location-key order without duplicates (caller frees the array). */
int td_provider_list(td_provider *p, td_location ***out, int64_t *n_out, td_error *err);
/* The same, keeping only the locations `predicate` accepts (NULL: all). */
int td_provider_list_kept(td_provider *p, td_location_predicate predicate, void *ctx, td_location ***out,
                          int64_t *n_out, td_error *err);

#endif
