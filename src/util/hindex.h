/*
 * util/hindex.h - a hash index of the entries of an array held elsewhere
 * (names, expressions, interned strings): open addressing, slot -> entry
 * index + 1 beside the entry's hash, at most half full.  Lookups compare
 * candidates with the caller's equality, so the index never copies keys.
 */
#ifndef TD_UTIL_HINDEX_H
#define TD_UTIL_HINDEX_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

typedef struct hindex {
  uint64_t *h;
  int64_t *v;
  int64_t cap, n;
} hindex;

static inline void hindex_reset(hindex *x) {
  td_free(x->h);
  td_free(x->v);
  memset(x, 0, sizeof *x);
}

/* The index of an entry with hash h that eq(ctx, index) accepts, or -1. */
static inline int64_t hindex_find(const hindex *x, uint64_t h, bool (*eq)(const void *ctx, int64_t i),
                                  const void *ctx) {
  if (!x->cap) return -1;
  for (int64_t s = (int64_t)(h & (uint64_t)(x->cap - 1)); x->v[s]; s = (s + 1) & (x->cap - 1))
    if (x->h[s] == h && eq(ctx, x->v[s] - 1)) return x->v[s] - 1;
  return -1;
}

/* Adds entry i with hash h (not there yet).  Errors: TD_ENOMEM ("... while
 * `what`"), the index unchanged. */
static inline int hindex_put(hindex *x, uint64_t h, int64_t i, const char *what, td_error *err) {
  if ((x->n + 1) * 2 > x->cap) {
    int64_t cap = x->cap ? x->cap * 2 : 64;
    uint64_t *nh = td_calloc((size_t)cap, sizeof *nh);
    int64_t *nv = td_calloc((size_t)cap, sizeof *nv);
    if (!nh || !nv) {
      td_free(nh);
      td_free(nv);
      return td_err_nomem(err, what);
    }
    for (int64_t s = 0; s < x->cap; s++) {
      if (!x->v[s]) continue;
      int64_t t = (int64_t)(x->h[s] & (uint64_t)(cap - 1));
      while (nv[t]) t = (t + 1) & (cap - 1);
      nh[t] = x->h[s];
      nv[t] = x->v[s];
    }
    td_free(x->h);
    td_free(x->v);
    x->h = nh;
    x->v = nv;
    x->cap = cap;
  }
  int64_t s = (int64_t)(h & (uint64_t)(x->cap - 1));
  while (x->v[s]) s = (s + 1) & (x->cap - 1);
  x->h[s] = h;
  x->v[s] = i + 1;
  x->n++;
  return TD_OK;
}

#endif
