/*
 * formats/cache.h - a process-wide, byte-bounded, least-recently-used cache
 * of reference-counted entries, shared by the format readers for what is
 * expensive to make again (decoded Parquet pages, decompressed Arrow IPC
 * buffers): one budget for every open file, so that many files cannot each
 * keep their own decoded data alive.  The newest entry is always kept,
 * alone if it is bigger than the budget, so consecutive reads of one huge
 * decoded page decode it once.
 *
 * An entry embeds td_fcache_entry as its first member; the cache frees it
 * (through `free`) once it is neither cached nor held.
 */
#ifndef TD_FORMATS_CACHE_H
#define TD_FORMATS_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/sys.h"

#define TD_FCACHE_SLOTS 16

typedef struct td_fcache_entry td_fcache_entry;
struct td_fcache_entry {
  const void *owner; /* the reader it belongs to */
  int64_t bytes;
  void (*free)(td_fcache_entry *e);
  /* the cache's */
  int refs;
  bool cached;
  uint64_t stamp;
};

typedef struct td_fcache {
  pthread_mutex_t lock;
  int64_t budget;
  int slots; /* <= TD_FCACHE_SLOTS */
  td_fcache_entry *e[TD_FCACHE_SLOTS];
  int64_t bytes;
  uint64_t clock;
} td_fcache;

#define TD_FCACHE_INIT(budget_bytes, n_slots) {TD_SPIN_MUTEX_INITIALIZER, (budget_bytes), (n_slots), {0}, 0, 0}

/* The most recently used entry of `owner` that `match` accepts, held (the
 * caller releases it), or NULL. */
td_fcache_entry *td_fcache_find(td_fcache *c, const void *owner, bool (*match)(const td_fcache_entry *e, const void *arg),
                                const void *arg);
/* Caches a new entry the caller holds (refs 1), evicting the least recently
 * used entries to fit the budget. */
void td_fcache_put(td_fcache *c, td_fcache_entry *e);
/* Adds a hold on an entry the caller holds (or knows to be held). */
void td_fcache_retain(td_fcache *c, td_fcache_entry *e);
/* Drops the caller's hold (NULL is fine). */
void td_fcache_release(td_fcache *c, td_fcache_entry *e);
/* Takes the held entry `e` out of the cache (if it is in it): freed when
 * its holders release it. */
void td_fcache_forget(td_fcache *c, td_fcache_entry *e);
/* Drops every entry of `owner` (a reader being closed). */
void td_fcache_clear(td_fcache *c, const void *owner);

#endif
