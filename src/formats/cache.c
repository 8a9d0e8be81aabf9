/*
 * formats/cache.c - the readers' shared byte-bounded LRU cache (cache.h).
 */
#include "formats/cache.h"

#include <stddef.h>

td_fcache_entry *td_fcache_find(td_fcache *c, const void *owner, bool (*match)(const td_fcache_entry *e, const void *arg),
                                const void *arg) {
  td_fcache_entry *found = NULL;
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < c->slots; i++) {
    td_fcache_entry *e = c->e[i];
    if (e && e->owner == owner && match(e, arg) && (!found || e->stamp > found->stamp)) found = e;
  }
  if (found) {
    found->refs++;
    found->stamp = ++c->clock;
  }
  pthread_mutex_unlock(&c->lock);
  return found;
}

/* Under the lock: drops slot i (freeing the entry when nobody holds it). */
static void evict(td_fcache *c, int i) {
  td_fcache_entry *e = c->e[i];
  c->e[i] = NULL;
  c->bytes -= e->bytes;
  e->cached = false;
  if (e->refs == 0) e->free(e);
}

void td_fcache_put(td_fcache *c, td_fcache_entry *e) {
  e->refs = 1;
  pthread_mutex_lock(&c->lock);
  for (;;) {
    int empty = -1, oldest = -1;
    for (int i = 0; i < c->slots; i++) {
      if (!c->e[i]) empty = i;
      else if (oldest < 0 || c->e[i]->stamp < c->e[oldest]->stamp) oldest = i;
    }
    if (empty >= 0 && (c->bytes + e->bytes <= c->budget || oldest < 0)) {
      c->e[empty] = e;
      c->bytes += e->bytes;
      e->cached = true;
      e->stamp = ++c->clock;
      break;
    }
    evict(c, oldest);
  }
  pthread_mutex_unlock(&c->lock);
}

void td_fcache_retain(td_fcache *c, td_fcache_entry *e) {
  pthread_mutex_lock(&c->lock);
  e->refs++;
  pthread_mutex_unlock(&c->lock);
}

void td_fcache_release(td_fcache *c, td_fcache_entry *e) {
  if (!e) return;
  pthread_mutex_lock(&c->lock);
  bool drop = --e->refs == 0 && !e->cached;
  pthread_mutex_unlock(&c->lock);
  if (drop) e->free(e);
}

void td_fcache_clear(td_fcache *c, const void *owner) {
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < c->slots; i++)
    if (c->e[i] && c->e[i]->owner == owner) evict(c, i);
  pthread_mutex_unlock(&c->lock);
}

void td_fcache_forget(td_fcache *c, td_fcache_entry *e) {
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < c->slots; i++)
    if (c->e[i] == e) {
      c->e[i] = NULL;
      c->bytes -= e->bytes;
      e->cached = false;
    }
  pthread_mutex_unlock(&c->lock);
}
