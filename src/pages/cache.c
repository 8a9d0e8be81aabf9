/*
 * pages/cache.c - byte-bounded page cache with single-flight fills and a
 * scan-resistant policy (2Q): a page enters a small probationary segment and
 * is promoted to the main, least-recently-used segment when it is read again
 * (or when it was evicted from probation recently: its key is remembered as a
 * ghost).  A one-pass scan thus cycles through the probationary segment only,
 * neither filling the budget nor evicting the pages that are read repeatedly.
 */
#include "pages/cache.h"

#include "arrow/dict.h"

#include <pthread.h>
#include <string.h>

#include "arrow/schema.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sys.h"

typedef struct entry {
  uint64_t loc;
  int64_t col, page;
  td_page_data *data; /* NULL until the first fill completes, and for ghosts */
  bool filling;
  pthread_t filler; /* the thread filling it, while `filling` */
  bool main;  /* in the main segment (read more than once), else probationary */
  bool ghost; /* evicted from probation; only the key is kept */
  struct entry *hnext;
  struct entry *prev, *next; /* its segment's list (or the ghost list), most recent first */
} entry;

/* A root held by cached pages, charged once. */
typedef struct root_node {
  const void *root;
  int64_t pages, bytes;
  int64_t main_pages; /* of `pages`, those in the main segment */
  struct root_node *next;
} root_node;

#define TD_ROOT_BUCKETS 1024

struct td_page_cache {
  pthread_mutex_t lock;
  pthread_cond_t filled;
  entry **buckets;
  int64_t n_buckets, n_entries;
  root_node *roots[TD_ROOT_BUCKETS];
  entry lru;   /* sentinel: the main segment */
  entry prob;  /* sentinel: the probationary segment */
  entry ghost; /* sentinel: keys evicted from probation, newest first */
  int64_t n_ghosts, max_ghosts;
  int64_t budget, bytes, pages;
  int64_t prob_budget, prob_bytes; /* roots no main page refers to */
  int64_t hits, misses, evictions;
};

/* ---- page data ---- */

static int64_t data_bytes(td_type_id type, const struct ArrowArray *a) {
  int64_t n = a->length;
  int64_t bytes = a->null_count != 0 ? (n + 7) / 8 : 0;
  if (type == TD_TYPE_UTF8 && a->dictionary) {
    bytes += n * 4; /* codes; the dictionary is counted with the root */
  } else if (td_type_is_varlen(type)) {
    const int32_t *o = (const int32_t *)a->buffers[1] + a->offset;
    bytes += (n + 1) * 4 + (n > 0 ? o[n] - o[0] : 0);
  } else {
    int w = td_type_width(type);
    bytes += w ? n * w : (n + 7) / 8;
  }
  return bytes + (int64_t)sizeof(td_page_data);
}

int td_page_data_new(td_type_id type, struct ArrowArray *array, td_page_data **out, td_error *err) {
  *out = NULL;
  td_page_data *d = td_calloc(1, sizeof *d);
  if (!d) {
    td_arrow_array_release(array);
    return td_err_nomem(err, "caching a page");
  }
  int rc = td_shared_array_new(array, &d->owner, err);
  if (rc == TD_OK) rc = td_colview_init(&d->view, type, &d->owner->array, err);
  if (rc == TD_OK && d->view.codes) {
    const struct ArrowArray *entries = d->owner->array.dictionary;
    td_dict *own = td_dict_of(entries);
    if (own) d->dict = td_dict_retain(own);
    else rc = td_dict_wrap(d->owner, entries, &d->dict, err);
    d->view.dict = d->dict;
  }
  if (rc) {
    td_dict_release(d->dict);
    td_shared_array_release(d->owner);
    td_free(d);
    return rc;
  }
  atomic_init(&d->refs, 1);
  d->array = &d->owner->array;
  d->type = type;
  d->rows = d->array->length;
  d->bytes = data_bytes(type, d->array);
  /* What it keeps alive: the shared array behind a view, or itself. */
  td_shared_array *root = td_array_view_root(d->array);
  int64_t reach = td_array_extent_bytes(type, d->array) + (int64_t)sizeof(td_page_data);
  if (root) {
    d->root = root;
    /* Unknown size: a flat root laid out like the page (a view is of an
     * array of its own type) reaches as far as its rows do. */
    bool flat_like = root->array.n_children == 0 && root->array.n_buffers == d->array->n_buffers;
    d->root_bytes = root->bytes > 0 ? root->bytes : flat_like ? td_array_extent_bytes(type, &root->array) : reach;
    if (d->root_bytes < reach) d->root_bytes = reach;
  } else {
    d->root = d;
    d->root_bytes = reach;
  }
  /* The dictionary is charged with every root that uses it (at most once
   * per root: pages viewing one decoded segment share it). */
  if (d->dict) d->root_bytes += d->dict->bytes;
  *out = d;
  return TD_OK;
}

/* A compact copy of `d`'s rows (its own root). */
static int page_data_compact(const td_page_data *d, td_page_data **out, td_error *err) {
  td_array a;
  struct ArrowArray arr;
  int rc = td_array_init(&a, d->type, d->rows, err);
  if (rc == TD_OK) rc = td_array_append_view(&a, &d->view, 0, d->rows, err);
  if (rc == TD_OK) rc = td_array_export(&a, &arr, err);
  td_array_reset(&a);
  if (rc) return rc;
  return td_page_data_new(d->type, &arr, out, err);
}

td_page_data *td_page_data_retain(td_page_data *d) {
  if (d) atomic_fetch_add(&d->refs, 1);
  return d;
}

void td_page_data_release(td_page_data *d) {
  if (!d || atomic_fetch_sub(&d->refs, 1) != 1) return;
  td_dict_release(d->dict);
  td_shared_array_release(d->owner);
  td_free(d);
}

/* ---- the cache ---- */

int td_page_cache_new(int64_t budget, td_page_cache **out, td_error *err) {
  td_page_cache *c = td_calloc(1, sizeof *c);
  if (c) c->buckets = td_calloc(1024, sizeof *c->buckets);
  if (!c || !c->buckets) {
    td_free(c);
    *out = NULL;
    return td_err_nomem(err, "creating the page cache");
  }
  c->n_buckets = 1024;
  c->budget = budget;
  c->prob_budget = budget / TD_PAGE_PROBATION_DIV;
  if (c->prob_budget > TD_PAGE_PROBATION_MAX) c->prob_budget = TD_PAGE_PROBATION_MAX;
  c->max_ghosts = budget / TD_PAGE_GHOST_BYTES > 256 ? budget / TD_PAGE_GHOST_BYTES : 256;
  c->lru.prev = c->lru.next = &c->lru;
  c->prob.prev = c->prob.next = &c->prob;
  c->ghost.prev = c->ghost.next = &c->ghost;
  td_spin_mutex_init(&c->lock);
  pthread_cond_init(&c->filled, NULL);
  *out = c;
  return TD_OK;
}

void td_page_cache_free(td_page_cache *c) {
  if (!c) return;
  for (int i = 0; i < TD_ROOT_BUCKETS; i++) {
    for (root_node *r = c->roots[i], *next; r; r = next) {
      next = r->next;
      td_free(r);
    }
  }
  for (int64_t i = 0; i < c->n_buckets; i++) {
    for (entry *e = c->buckets[i], *next; e; e = next) {
      next = e->hnext;
      td_page_data_release(e->data);
      td_free(e);
    }
  }
  td_free(c->buckets);
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->filled);
  td_free(c);
}

static uint64_t hash_key(uint64_t loc, int64_t col, int64_t page) {
  uint64_t h = loc * 0x9e3779b97f4a7c15ull;
  h ^= (uint64_t)col * 0xc2b2ae3d27d4eb4full + (h >> 29);
  h ^= (uint64_t)page * 0x165667b19e3779f9ull + (h >> 32);
  return h ^ (h >> 31);
}

static entry **slot_of(td_page_cache *c, uint64_t loc, int64_t col, int64_t page) {
  entry **pp = &c->buckets[hash_key(loc, col, page) & (uint64_t)(c->n_buckets - 1)];
  while (*pp && !((*pp)->loc == loc && (*pp)->col == col && (*pp)->page == page)) pp = &(*pp)->hnext;
  return pp;
}

/* ---- roots (under the lock) ---- */

static root_node **root_slot(td_page_cache *c, const void *root) {
  uint64_t h = ((uint64_t)(uintptr_t)root >> 4) * 0x9e3779b97f4a7c15ull;
  root_node **pp = &c->roots[(h ^ (h >> 29)) & (TD_ROOT_BUCKETS - 1)];
  while (*pp && (*pp)->root != root) pp = &(*pp)->next;
  return pp;
}

static bool root_held(td_page_cache *c, const void *root) { return *root_slot(c, root) != NULL; }

/* A cached page refers to d's root: charge the root the first time. */
static int charge(td_page_cache *c, const td_page_data *d) {
  root_node **pp = root_slot(c, d->root);
  if (!*pp) {
    root_node *r = td_calloc(1, sizeof *r);
    if (!r) return TD_ENOMEM;
    r->root = d->root;
    *pp = r;
  }
  root_node *r = *pp;
  r->pages++;
  if (d->root_bytes > r->bytes) { /* a root of unknown size: the most any page reaches */
    c->bytes += d->root_bytes - r->bytes;
    if (r->main_pages == 0) c->prob_bytes += d->root_bytes - r->bytes;
    r->bytes = d->root_bytes;
  }
  c->pages++;
  return TD_OK;
}

/* A page of root `d->root` enters (+1) or leaves (-1) the main segment. */
static void count_main(td_page_cache *c, const td_page_data *d, int delta) {
  root_node *r = *root_slot(c, d->root);
  if (!r) return;
  if (delta > 0 && r->main_pages++ == 0) c->prob_bytes -= r->bytes;
  if (delta < 0 && --r->main_pages == 0) c->prob_bytes += r->bytes;
}

static void uncharge(td_page_cache *c, const td_page_data *d) {
  root_node **pp = root_slot(c, d->root);
  root_node *r = *pp;
  c->pages--;
  if (!r || --r->pages > 0) return;
  c->bytes -= r->bytes;
  if (r->main_pages == 0) c->prob_bytes -= r->bytes;
  *pp = r->next;
  td_free(r);
}

static void lru_unlink(entry *e) {
  if (!e->prev) return;
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->prev = e->next = NULL;
}

static void list_front(entry *head, entry *e) {
  lru_unlink(e);
  e->next = head->next;
  e->prev = head;
  head->next->prev = e;
  head->next = e;
}

/* Under the lock: e (holding data) becomes the most recent of its segment;
 * a probationary page read again (`promote`) moves to the main segment. */
static void touch(td_page_cache *c, entry *e, bool promote) {
  if (promote && !e->main) {
    e->main = true;
    if (e->data) count_main(c, e->data, +1);
  }
  list_front(e->main ? &c->lru : &c->prob, e);
}

static void grow_buckets(td_page_cache *c) {
  int64_t nb = c->n_buckets * 2;
  entry **b = td_calloc((size_t)nb, sizeof *b);
  if (!b) return; /* keep the longer chains */
  for (int64_t i = 0; i < c->n_buckets; i++) {
    for (entry *e = c->buckets[i], *next; e; e = next) {
      next = e->hnext;
      uint64_t k = hash_key(e->loc, e->col, e->page) & (uint64_t)(nb - 1);
      e->hnext = b[k];
      b[k] = e;
    }
  }
  td_free(c->buckets);
  c->buckets = b;
  c->n_buckets = nb;
}

/* Under the lock: removes e from the map and the LRU list, and chains it on
 * *dropped (its data is released and the entry freed by drop_all, outside
 * the lock). */
static void remove_entry(td_page_cache *c, entry *e, entry **dropped) {
  entry **pp = slot_of(c, e->loc, e->col, e->page);
  if (*pp == e) *pp = e->hnext;
  lru_unlink(e);
  if (e->ghost) c->n_ghosts--;
  if (e->data) {
    if (e->main) count_main(c, e->data, -1);
    uncharge(c, e->data);
  }
  c->n_entries--;
  e->hnext = *dropped;
  *dropped = e;
}

static void drop_all(entry *dropped) {
  for (entry *e = dropped, *next; e; e = next) {
    next = e->hnext;
    td_page_data_release(e->data);
    td_free(e);
  }
}

/* Under the lock: a probationary page leaves, its key kept as a ghost (its
 * data goes to *dropped with a stripped entry). */
static int ghost_entry(td_page_cache *c, entry *e, entry **dropped) {
  entry *husk = td_calloc(1, sizeof *husk);
  if (!husk) return TD_ENOMEM;
  lru_unlink(e);
  uncharge(c, e->data);
  husk->data = e->data;
  husk->hnext = *dropped;
  *dropped = husk;
  e->data = NULL;
  e->ghost = true;
  list_front(&c->ghost, e);
  if (++c->n_ghosts > c->max_ghosts) remove_entry(c, c->ghost.prev, dropped);
  return TD_OK;
}

/* Under the lock: evicts until within budget, as many pages as it takes (a
 * page whose root other pages share frees nothing until the last of them
 * goes): probationary pages first, least recently used first, also while
 * they exceed their share; main pages only when no probationary page is
 * left to evict. */
static void evict(td_page_cache *c, entry **dropped) {
  entry *e = c->prob.prev;
  while ((c->bytes > c->budget || c->prob_bytes > c->prob_budget) && e != &c->prob) {
    entry *prev = e->prev;
    if (!e->filling) {
      if (ghost_entry(c, e, dropped) != TD_OK) remove_entry(c, e, dropped);
      c->evictions++;
    }
    e = prev;
  }
  e = c->lru.prev;
  while (c->bytes > c->budget && e != &c->lru) {
    entry *prev = e->prev;
    if (!e->filling) {
      remove_entry(c, e, dropped);
      c->evictions++;
    }
    e = prev;
  }
}

td_page_data *td_page_cache_peek(td_page_cache *c, uint64_t loc, int64_t col, int64_t page, int64_t need_rows) {
  td_page_data *d = NULL;
  pthread_mutex_lock(&c->lock);
  entry *e = *slot_of(c, loc, col, page);
  if (e && e->data && e->data->rows >= need_rows) {
    d = td_page_data_retain(e->data);
    touch(c, e, true);
    c->hits++;
  }
  pthread_mutex_unlock(&c->lock);
  return d;
}

int td_page_cache_get(td_page_cache *c, uint64_t loc, int64_t col, int64_t page, int64_t need_rows,
                      td_page_fill_fn fill, void *ctx, td_page_data **out, td_error *err) {
  *out = NULL;
  pthread_mutex_lock(&c->lock);
  entry *e;
  for (;;) {
    e = *slot_of(c, loc, col, page);
    if (e && e->data && e->data->rows >= need_rows) {
      *out = td_page_data_retain(e->data);
      touch(c, e, true);
      c->hits++;
      pthread_mutex_unlock(&c->lock);
      return TD_OK;
    }
    if (!e || !e->filling) break;
    if (pthread_equal(e->filler, pthread_self())) {
      /* The filler itself wants the page (a backend method reading the page
       * it was asked for): waiting would wait for ever. */
      pthread_mutex_unlock(&c->lock);
      return td_err(err, TD_ESTATE,
                    "page %lld is being fetched by this same thread: a backend method read the page it was "
                    "asked for (it would wait for itself)",
                    (long long)page);
    }
    pthread_cond_wait(&c->filled, &c->lock); /* single flight: wait for the filler */
  }
  if (!e) {
    e = td_calloc(1, sizeof *e);
    if (!e) {
      pthread_mutex_unlock(&c->lock);
      return td_err_nomem(err, "caching a page");
    }
    e->loc = loc;
    e->col = col;
    e->page = page;
    entry **pp = slot_of(c, loc, col, page);
    *pp = e;
    if (++c->n_entries > c->n_buckets * 2) grow_buckets(c);
  } else if (e->ghost) { /* read again soon after leaving probation */
    lru_unlink(e);
    c->n_ghosts--;
    e->ghost = false;
    e->main = true;
  } else if (e->data) { /* a page grown: read again */
    touch(c, e, true);
  }
  e->filling = true;
  e->filler = pthread_self();
  c->misses++;
  td_page_data *have = td_page_data_retain(e->data);
  pthread_mutex_unlock(&c->lock);

  td_page_data *fresh = NULL;
  int rc = fill(ctx, have, &fresh, err);
  if (rc == TD_OK && fresh->root_bytes > TD_PAGE_COMPACT_RATIO * fresh->bytes) {
    /* A few rows of a big buffer the cache does not hold yet: copy them. */
    pthread_mutex_lock(&c->lock);
    bool held = root_held(c, fresh->root);
    pthread_mutex_unlock(&c->lock);
    td_page_data *compact;
    if (!held && (rc = page_data_compact(fresh, &compact, err)) == TD_OK) {
      td_page_data_release(fresh);
      fresh = compact;
    }
  }

  entry *dropped = NULL;
  td_page_data *old = NULL;
  pthread_mutex_lock(&c->lock);
  e->filling = false;
  if (rc == TD_OK) {
    *out = td_page_data_retain(fresh);
    if (charge(c, fresh) == TD_OK) {
      old = e->data;
      if (old) {
        if (e->main) count_main(c, old, -1);
        uncharge(c, old);
      }
      e->data = fresh;
      if (e->main) count_main(c, fresh, +1);
      touch(c, e, false);
    } else { /* no memory to account for it: hand it out uncached */
      td_page_data_release(fresh);
      if (!e->data) remove_entry(c, e, &dropped);
    }
    evict(c, &dropped);
  } else {
    td_page_data_release(fresh);
    if (!e->data) remove_entry(c, e, &dropped);
  }
  pthread_cond_broadcast(&c->filled);
  pthread_mutex_unlock(&c->lock);
  drop_all(dropped);
  td_page_data_release(old);
  td_page_data_release(have);
  return rc;
}

void td_page_cache_stats(td_page_cache *c, td_counters *out) {
  pthread_mutex_lock(&c->lock);
  out->cache_hits = c->hits;
  out->cache_misses = c->misses;
  out->cache_evictions = c->evictions;
  out->cache_bytes = c->bytes;
  out->cache_pages = c->pages;
  pthread_mutex_unlock(&c->lock);
}

int64_t td_page_cache_drop_location(td_page_cache *c, uint64_t loc) {
  entry *dropped = NULL;
  int64_t n = 0;
  pthread_mutex_lock(&c->lock);
  entry *const lists[] = {&c->lru, &c->prob, &c->ghost}; /* both segments, and the ghost keys */
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    for (entry *e = lists[i]->next, *next; e != lists[i]; e = next) {
      next = e->next;
      if (e->loc == loc && !e->filling) {
        if (e->data) n++;
        remove_entry(c, e, &dropped);
      }
    }
  }
  pthread_mutex_unlock(&c->lock);
  drop_all(dropped);
  return n;
}
