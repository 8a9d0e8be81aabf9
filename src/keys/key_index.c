/*
 * keys/key_index.c - open-addressing hash index over location keys.
 */
#include "keys/key_index.h"

#include <stdbool.h>

#include "util/alloc.h"

void td_key_index_init(td_key_index *idx, td_key_of_fn key_of) {
  idx->slots = NULL;
  idx->cap = idx->n = 0;
  idx->key_of = key_of;
}

void td_key_index_reset(td_key_index *idx) {
  td_free(idx->slots);
  td_key_index_init(idx, idx->key_of);
}

/* The key's hash with its high bits mixed into the low ones the table
 * uses (FNV-style hashes of similar keys differ mostly in high bits, and
 * linear probing turns such clusters into long runs). */
static uint64_t mixed(const td_location_key *key) {
  uint64_t h = td_location_key_hash(key);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 33);
}

static int64_t slot_of(void **slots, int64_t cap, td_key_of_fn key_of, const td_location_key *key) {
  int64_t i = (int64_t)(mixed(key) & (uint64_t)(cap - 1));
  while (slots[i] && !td_location_key_equal(key_of(slots[i]), key)) i = (i + 1) & (cap - 1);
  return i;
}

void *td_key_index_get(const td_key_index *idx, const td_location_key *key) {
  if (!idx->cap) return NULL;
  return idx->slots[slot_of(idx->slots, idx->cap, idx->key_of, key)];
}

int td_key_index_put(td_key_index *idx, void *item) {
  if ((idx->n + 1) * 2 > idx->cap) {
    int64_t cap = idx->cap ? idx->cap * 2 : 64;
    void **s = td_calloc((size_t)cap, sizeof *s);
    if (!s) return TD_ENOMEM;
    for (int64_t i = 0; i < idx->cap; i++)
      if (idx->slots[i]) s[slot_of(s, cap, idx->key_of, idx->key_of(idx->slots[i]))] = idx->slots[i];
    td_free(idx->slots);
    idx->slots = s;
    idx->cap = cap;
  }
  idx->slots[slot_of(idx->slots, idx->cap, idx->key_of, idx->key_of(item))] = item;
  idx->n++;
  return TD_OK;
}

void *td_key_index_remove(td_key_index *idx, const td_location_key *key) {
  if (!idx->cap) return NULL;
  int64_t i = slot_of(idx->slots, idx->cap, idx->key_of, key);
  void *item = idx->slots[i];
  if (!item) return NULL;
  /* Backward-shift deletion: later items of the probe run move into the
   * hole when their home slot does not lie cyclically in (hole, j]. */
  int64_t mask = idx->cap - 1, hole = i;
  for (int64_t j = (i + 1) & mask; idx->slots[j]; j = (j + 1) & mask) {
    int64_t home = (int64_t)(mixed(idx->key_of(idx->slots[j])) & (uint64_t)mask);
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      idx->slots[hole] = idx->slots[j];
      hole = j;
    }
  }
  idx->slots[hole] = NULL;
  idx->n--;
  return item;
}
