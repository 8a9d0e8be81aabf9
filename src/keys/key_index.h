/*
 * keys/key_index.h - a hash index from location keys to items.
 *
 * Open addressing over item pointers; `key_of` maps an item to its key.  Not
 * thread-safe: callers hold their own lock.
 */
#ifndef TD_KEYS_KEY_INDEX_H
#define TD_KEYS_KEY_INDEX_H

#include <stdint.h>

#include "tabledata/error.h"
#include "tabledata/keys.h"

typedef const td_location_key *(*td_key_of_fn)(const void *item);

typedef struct td_key_index {
  void **slots;
  int64_t cap, n;
  td_key_of_fn key_of;
} td_key_index;

void td_key_index_init(td_key_index *idx, td_key_of_fn key_of);
void td_key_index_reset(td_key_index *idx);
/* The item whose key equals `key`, or NULL. */
void *td_key_index_get(const td_key_index *idx, const td_location_key *key);
/* Adds an item whose key is not in the index yet.  TD_ENOMEM on failure
 * (the index is unchanged). */
int td_key_index_put(td_key_index *idx, void *item);
/* Removes the item whose key equals `key`; returns it, or NULL when absent. */
void *td_key_index_remove(td_key_index *idx, const td_location_key *key);

#endif
