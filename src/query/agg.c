/*
 * query/agg.c - incremental hash aggregation.
 *
 * Each batch is processed in two vectorized phases: (1) map every row to a
 * group id (open-addressing hash table; a specialized loop for one integer
 * key), (2) for each aggregate, a type-specialized loop that folds the input
 * column into per-group state arrays indexed by group id.
 */
#include "query/agg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query/vec.h"
#include "util/alloc.h"
#include "util/error.h"

typedef struct str_slot {
  char *p;
  size_t len;
} str_slot;

/* Per-group values of one key or one aggregate. */
typedef struct store {
  td_phys ph;
  int64_t *i;
  double *f;
  str_slot *s;
  uint8_t *nul; /* keys, first/last: value is null */
  uint8_t *has; /* aggregates: a value has been set */
  int64_t *cnt;
} store;

enum { TD_DIRECT = 1024 };

struct td_agg {
  int64_t n_keys, n_aggs;
  td_agg_key *keys;
  td_agg_spec *specs;
  store *kst, *ast;
  int64_t n_groups, cap;
  /* hash table: slot -> group id + 1 (0 = empty) */
  uint32_t *table;
  uint64_t *hashes; /* per group */
  int64_t table_cap;
  uint8_t *changed;
  uint32_t *changed_list;
  int64_t n_changed;
  /* one integer key: direct map of keys in [direct_base, +TD_DIRECT) */
  uint32_t *direct; /* group id + 1, 0 = unknown */
  int64_t direct_base;
  bool direct_set;
  uint32_t *gids; /* scratch: group of each row of the batch */
  uint32_t *epoch;   /* per group: last batch that touched it */
  uint32_t *touched; /* groups touched by the current batch */
  int64_t n_touched;
  uint32_t cur_epoch;
  uint64_t *rh;   /* scratch: hash of each row */
  int64_t scratch_cap;
};

/* ---- growth ---- */

static int grow_array(void **p, int64_t cap, size_t width, int64_t old) {
  void *q = td_realloc(*p, (size_t)cap * width);
  if (!q) return TD_ENOMEM;
  memset((char *)q + (size_t)old * width, 0, (size_t)(cap - old) * width);
  *p = q;
  return TD_OK;
}

static int grow_store(store *s, bool agg, int64_t cap, int64_t old) {
  int rc = TD_OK;
  if (s->ph == TD_PHYS_F64) rc = grow_array((void **)&s->f, cap, sizeof *s->f, old);
  else if (s->ph == TD_PHYS_STR) rc = grow_array((void **)&s->s, cap, sizeof *s->s, old);
  else rc = grow_array((void **)&s->i, cap, sizeof *s->i, old);
  if (!rc) rc = grow_array((void **)&s->nul, cap, 1, old);
  if (!rc && agg) rc = grow_array((void **)&s->has, cap, 1, old);
  if (!rc && agg) rc = grow_array((void **)&s->cnt, cap, sizeof *s->cnt, old);
  if (!rc && agg && s->ph != TD_PHYS_F64) rc = grow_array((void **)&s->f, cap, sizeof *s->f, old);
  return rc;
}

static void free_store(store *s, int64_t n) {
  if (s->s)
    for (int64_t g = 0; g < n; g++) td_free(s->s[g].p);
  td_free(s->i);
  td_free(s->f);
  td_free(s->s);
  td_free(s->nul);
  td_free(s->has);
  td_free(s->cnt);
}

static int grow_groups(td_agg *a, td_error *err) {
  if (a->n_groups < a->cap) return TD_OK;
  if (a->cap >= (int64_t)UINT32_MAX / 2) return td_err(err, TD_ERANGE, "too many groups");
  int64_t cap = a->cap ? a->cap * 2 : 16;
  int rc = grow_array((void **)&a->hashes, cap, sizeof *a->hashes, a->cap);
  if (!rc) rc = grow_array((void **)&a->changed, cap, 1, a->cap);
  if (!rc) rc = grow_array((void **)&a->changed_list, cap, sizeof *a->changed_list, a->cap);
  if (!rc) rc = grow_array((void **)&a->epoch, cap, sizeof *a->epoch, a->cap);
  if (!rc) rc = grow_array((void **)&a->touched, cap, sizeof *a->touched, a->cap);
  for (int64_t k = 0; !rc && k < a->n_keys; k++) rc = grow_store(&a->kst[k], false, cap, a->cap);
  for (int64_t k = 0; !rc && k < a->n_aggs; k++) rc = grow_store(&a->ast[k], true, cap, a->cap);
  if (rc) return td_err_nomem(err, "growing an aggregation");
  a->cap = cap;
  return TD_OK;
}

static void rehash(td_agg *a, uint32_t *table, int64_t cap) {
  for (int64_t g = 0; g < a->n_groups; g++) {
    uint64_t h = a->hashes[g];
    int64_t s = (int64_t)(h & (uint64_t)(cap - 1));
    while (table[s]) s = (s + 1) & (cap - 1);
    table[s] = (uint32_t)g + 1;
  }
}

static int grow_table(td_agg *a, td_error *err) {
  if ((a->n_groups + 1) * 2 <= a->table_cap) return TD_OK;
  int64_t cap = a->table_cap ? a->table_cap * 2 : 64;
  uint32_t *t = td_calloc((size_t)cap, sizeof *t);
  if (!t) return td_err_nomem(err, "growing an aggregation hash table");
  rehash(a, t, cap);
  td_free(a->table);
  a->table = t;
  a->table_cap = cap;
  return TD_OK;
}

/* ---- creation ---- */

void td_agg_free(td_agg *a) {
  if (!a) return;
  for (int64_t k = 0; a->kst && k < a->n_keys; k++) free_store(&a->kst[k], a->n_groups);
  for (int64_t k = 0; a->ast && k < a->n_aggs; k++) free_store(&a->ast[k], a->n_groups);
  td_free(a->kst);
  td_free(a->ast);
  td_free(a->keys);
  td_free(a->specs);
  td_free(a->table);
  td_free(a->hashes);
  td_free(a->changed);
  td_free(a->changed_list);
  td_free(a->gids);
  td_free(a->epoch);
  td_free(a->touched);
  td_free(a->direct);
  td_free(a->rh);
  td_free(a);
}

static void mark_changed(td_agg *a, uint32_t g) {
  if (a->changed[g]) return;
  a->changed[g] = 1;
  a->changed_list[a->n_changed++] = g;
}

static int new_group(td_agg *a, uint64_t h, uint32_t *out, td_error *err);

/* Records that the current batch touched group g. */
static inline void touch(td_agg *a, uint32_t g) {
  if (a->epoch[g] == a->cur_epoch) return;
  a->epoch[g] = a->cur_epoch;
  a->touched[a->n_touched++] = g;
}

static int check_specs(const td_agg_spec *aggs, int64_t n, td_error *err) {
  for (int64_t k = 0; k < n; k++) {
    if (aggs[k].kind == TD_AGG_COUNT_STAR) continue;
    if (aggs[k].kind <= TD_AGG_NONE || aggs[k].kind > TD_AGG_LAST)
      return td_err(err, TD_EINVAL, "aggregate %lld has no valid kind", (long long)k);
    if (td_agg_result_type(aggs[k].kind, aggs[k].type) == TD_TYPE_NONE)
      return td_err(err, TD_ETYPE, "aggregate %lld does not accept %s input", (long long)k,
                    td_type_name(aggs[k].type));
  }
  return TD_OK;
}

int td_agg_create(const td_agg_key *keys, int64_t n_keys, const td_agg_spec *aggs,
                  int64_t n_aggs, td_agg **out, td_error *err) {
  if (n_keys < 0 || n_aggs < 0) return td_err(err, TD_EINVAL, "negative column counts");
  int rc = check_specs(aggs, n_aggs, err);
  if (rc) return rc;
  td_agg *a = td_calloc(1, sizeof *a);
  if (!a) return td_err_nomem(err, "creating an aggregation");
  a->n_keys = n_keys;
  a->n_aggs = n_aggs;
  a->keys = td_malloc((size_t)(n_keys + 1) * sizeof *a->keys);
  a->specs = td_malloc((size_t)(n_aggs + 1) * sizeof *a->specs);
  a->kst = td_calloc((size_t)(n_keys + 1), sizeof *a->kst);
  a->ast = td_calloc((size_t)(n_aggs + 1), sizeof *a->ast);
  if (!a->keys || !a->specs || !a->kst || !a->ast) {
    td_agg_free(a);
    return td_err_nomem(err, "creating an aggregation");
  }
  if (n_keys) memcpy(a->keys, keys, (size_t)n_keys * sizeof *keys);
  if (n_aggs) memcpy(a->specs, aggs, (size_t)n_aggs * sizeof *aggs);
  for (int64_t k = 0; k < n_keys; k++) a->kst[k].ph = td__phys_of(keys[k].type);
  for (int64_t k = 0; k < n_aggs; k++) {
    td_phys ph = td__phys_of(aggs[k].type);
    if (aggs[k].kind == TD_AGG_COUNT_STAR || aggs[k].kind == TD_AGG_COUNT) ph = TD_PHYS_I64;
    a->ast[k].ph = ph;
  }
  uint32_t g;
  rc = grow_groups(a, err);
  if (!rc) rc = grow_table(a, err);
  if (!rc && n_keys == 0) rc = new_group(a, 0, &g, err);
  if (rc) {
    td_agg_free(a);
    return rc;
  }
  *out = a;
  return TD_OK;
}

int64_t td_agg_group_count(const td_agg *a) { return a->n_groups; }

td_type_id td_agg_output_type(const td_agg *a, int64_t i) {
  if (i < 0 || i >= a->n_keys + a->n_aggs) return TD_TYPE_NONE;
  if (i < a->n_keys) return a->keys[i].type;
  const td_agg_spec *s = &a->specs[i - a->n_keys];
  return td_agg_result_type(s->kind, s->type);
}

/* ---- hashing and key comparison ---- */

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
static inline uint64_t combine(uint64_t h, uint64_t kh) { return mix64(h * 0x9e3779b97f4a7c15ULL + kh); }

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 0x100000001b3ULL;
  return mix64(h);
}

static double norm_double(double d) {
  if (isnan(d)) return NAN;
  return d == 0 ? 0.0 : d;
}

static uint64_t value_hash(const td_value *v, td_phys ph) {
  if (v->is_null) return 0x9ae16a3b2f90404fULL;
  uint64_t bits;
  switch (ph) {
    case TD_PHYS_F64: {
      double d = norm_double(v->v.f);
      memcpy(&bits, &d, 8);
      return mix64(bits);
    }
    case TD_PHYS_STR: return hash_bytes(v->v.s.ptr, v->v.s.len);
    case TD_PHYS_BOOL: return mix64((uint64_t)v->v.b + 1);
    default: return mix64((uint64_t)v->v.i);
  }
}

static td_value store_value(const store *s, int64_t g, td_type_id type) {
  if (s->nul[g]) return td_value_null(type);
  td_value v;
  memset(&v, 0, sizeof v);
  v.type = type;
  switch (s->ph) {
    case TD_PHYS_F64: v.v.f = s->f[g]; break;
    case TD_PHYS_STR: v.v.s.ptr = s->s[g].p ? s->s[g].p : ""; v.v.s.len = s->s[g].len; break;
    case TD_PHYS_BOOL: v.v.b = s->i[g] != 0; break;
    default: v.v.i = s->i[g]; break;
  }
  return v;
}

static int cmp_values(const td_value *x, const td_value *y, td_phys ph) {
  switch (ph) {
    case TD_PHYS_F64: return x->v.f < y->v.f ? -1 : x->v.f > y->v.f;
    case TD_PHYS_BOOL: return (int)x->v.b - (int)y->v.b;
    case TD_PHYS_STR: {
      size_t n = x->v.s.len < y->v.s.len ? x->v.s.len : y->v.s.len;
      int c = n ? memcmp(x->v.s.ptr, y->v.s.ptr, n) : 0;
      if (c) return c;
      return x->v.s.len < y->v.s.len ? -1 : x->v.s.len > y->v.s.len;
    }
    default: return x->v.i < y->v.i ? -1 : x->v.i > y->v.i;
  }
}

static bool key_equal(const td_agg *a, uint32_t g, const td_vec *kv, int64_t r) {
  for (int64_t k = 0; k < a->n_keys; k++) {
    const store *s = &a->kst[k];
    td_value x = td__vec_value(&kv[k], r, a->keys[k].type);
    if (x.is_null != (s->nul[g] != 0)) return false;
    if (x.is_null) continue;
    td_value y = store_value(s, g, a->keys[k].type);
    if (s->ph == TD_PHYS_F64) {
      if (norm_double(x.v.f) != norm_double(y.v.f) && !(isnan(x.v.f) && isnan(y.v.f))) return false;
    } else if (cmp_values(&x, &y, s->ph) != 0) {
      return false;
    }
  }
  return true;
}

/* Sets per-group value g of a store (strings copied). */
static int store_set(store *s, int64_t g, const td_value *v, td_error *err) {
  s->nul[g] = v->is_null;
  if (v->is_null) return TD_OK;
  switch (s->ph) {
    case TD_PHYS_F64: s->f[g] = v->v.f; break;
    case TD_PHYS_BOOL: s->i[g] = v->v.b; break;
    case TD_PHYS_I64: s->i[g] = v->v.i; break;
    case TD_PHYS_STR: {
      str_slot *sl = &s->s[g];
      if (v->v.s.len > sl->len || !sl->p) {
        char *p = td_realloc(sl->p, v->v.s.len + 1);
        if (!p) return td_err_nomem(err, "storing a string in an aggregation");
        sl->p = p;
      }
      if (v->v.s.len) memcpy(sl->p, v->v.s.ptr, v->v.s.len);
      sl->len = v->v.s.len;
      break;
    }
  }
  return TD_OK;
}

static int new_group(td_agg *a, uint64_t h, uint32_t *out, td_error *err) {
  int rc = grow_groups(a, err);
  if (!rc) rc = grow_table(a, err);
  if (rc) return rc;
  uint32_t g = (uint32_t)a->n_groups++;
  a->hashes[g] = h;
  int64_t mask = a->table_cap - 1, s = (int64_t)(h & (uint64_t)mask);
  while (a->table[s]) s = (s + 1) & mask;
  a->table[s] = g + 1;
  mark_changed(a, g);
  *out = g;
  return TD_OK;
}

static int add_group(td_agg *a, uint64_t h, const td_vec *kv, int64_t r, uint32_t *g,
                     td_error *err) {
  int rc = new_group(a, h, g, err);
  for (int64_t k = 0; !rc && k < a->n_keys; k++) {
    td_value v = td__vec_value(&kv[k], r, a->keys[k].type);
    rc = store_set(&a->kst[k], *g, &v, err);
  }
  return rc;
}

/* Group ids of the rows (generic: any number and types of keys). */
static int map_generic(td_agg *a, const td_vec *kv, const uint32_t *sel, int64_t n,
                       td_error *err) {
  for (int64_t j = 0; j < n; j++) {
    int64_t r = sel ? sel[j] : j;
    uint64_t h = 0;
    for (int64_t k = 0; k < a->n_keys; k++) {
      td_value v = td__vec_value(&kv[k], r, a->keys[k].type);
      h = combine(h, value_hash(&v, kv[k].ph));
    }
    int64_t mask = a->table_cap - 1, s = (int64_t)(h & (uint64_t)mask);
    uint32_t e, g = UINT32_MAX;
    while ((e = a->table[s])) {
      if (a->hashes[e - 1] == h && key_equal(a, e - 1, kv, r)) {
        g = e - 1;
        break;
      }
      s = (s + 1) & mask;
    }
    if (g == UINT32_MAX) {
      int rc = add_group(a, h, kv, r, &g, err);
      if (rc) return rc;
    }
    a->gids[j] = g;
    touch(a, g);
  }
  return TD_OK;
}

/* Group of integer key v through the hash table (adding it if new). */
static int int_key_slow(td_agg *a, const td_vec *kv, int64_t r, int64_t v, uint32_t *out,
                        td_error *err) {
  uint64_t h = combine(0, mix64((uint64_t)v));
  int64_t mask = a->table_cap - 1, s = (int64_t)(h & (uint64_t)mask);
  uint32_t e;
  while ((e = a->table[s])) {
    if (a->kst[0].i[e - 1] == v && !a->kst[0].nul[e - 1]) {
      *out = e - 1;
      return TD_OK;
    }
    s = (s + 1) & mask;
  }
  return add_group(a, h, kv, r, out, err);
}

/* One int64-like key without nulls: the hot path.  Keys near the first one
 * seen are looked up in a direct map, others through the hash table. */
static int map_int_key(td_agg *a, const td_vec *kv, const uint32_t *sel, int64_t n,
                       td_error *err) {
  const int64_t *data = kv->i64;
  if (!a->direct) {
    a->direct = td_calloc(TD_DIRECT, sizeof *a->direct);
    if (!a->direct) return td_err_nomem(err, "aggregating");
  }
  if (!a->direct_set && n > 0) {
    a->direct_base = (int64_t)((uint64_t)data[sel ? sel[0] : 0] - TD_DIRECT / 4);
    a->direct_set = true;
  }
  uint32_t *restrict direct = a->direct, *restrict gids = a->gids;
  const uint64_t base = (uint64_t)a->direct_base;
  int64_t j = 0;
  while (j < n) {
    /* tight loop over keys already in the direct map */
    uint32_t *restrict epoch = a->epoch, *restrict touched = a->touched;
    const uint32_t cur = a->cur_epoch;
    int64_t nt = a->n_touched;
#define DIRECT_LOOP(ROW)                                      \
  for (; j < n; j++) {                                        \
    uint64_t d = (uint64_t)data[ROW] - base;                  \
    uint32_t slot = d < TD_DIRECT ? direct[d] : 0;            \
    if (!slot) break;                                         \
    uint32_t g = slot - 1;                                    \
    gids[j] = g;                                              \
    if (epoch[g] != cur) {                                    \
      epoch[g] = cur;                                         \
      touched[nt++] = g;                                      \
    }                                                         \
  }
    if (sel) DIRECT_LOOP(sel[j]) else DIRECT_LOOP(j)
#undef DIRECT_LOOP
    a->n_touched = nt;
    if (j == n) break;
    /* a key outside the map: the hash table (may grow the arrays) */
    int64_t r = sel ? sel[j] : j;
    int64_t v = data[r];
    uint64_t d = (uint64_t)v - base;
    uint32_t g;
    int rc = int_key_slow(a, kv, r, v, &g, err);
    if (rc) return rc;
    if (d < TD_DIRECT) direct[d] = g + 1;
    gids[j++] = g;
    touch(a, g);
  }
  return TD_OK;
}

/* ---- folding inputs into per-group state ---- */

/* The generic per-row step of one aggregate. */
static int fold_value(store *s, td_agg_kind kind, uint32_t g, const td_value *v, td_error *err) {
  switch (kind) {
    case TD_AGG_COUNT_STAR: s->cnt[g]++; return TD_OK;
    case TD_AGG_COUNT: s->cnt[g] += !v->is_null; return TD_OK;
    case TD_AGG_SUM:
    case TD_AGG_AVG:
      if (v->is_null) return TD_OK;
      s->cnt[g]++;
      if (kind == TD_AGG_SUM && s->ph == TD_PHYS_I64) s->i[g] = (int64_t)((uint64_t)s->i[g] + (uint64_t)v->v.i);
      else s->f[g] += s->ph == TD_PHYS_F64 ? v->v.f : (double)v->v.i;
      return TD_OK;
    case TD_AGG_MIN:
    case TD_AGG_MAX: {
      if (v->is_null) return TD_OK;
      if (s->has[g]) {
        td_value cur = store_value(s, g, v->type);
        int c = cmp_values(v, &cur, s->ph);
        if (kind == TD_AGG_MIN ? c >= 0 : c <= 0) return TD_OK;
      }
      s->has[g] = 1;
      return store_set(s, g, v, err);
    }
    case TD_AGG_FIRST:
      if (s->has[g]) return TD_OK;
      s->has[g] = 1;
      return store_set(s, g, v, err);
    default:
      s->has[g] = 1;
      return store_set(s, g, v, err);
  }
}

#define ROWS_LOOP(BODY)                                              \
  do {                                                               \
    if (sel)                                                         \
      for (int64_t j = 0; j < n; j++) {                              \
        int64_t r = sel[j];                                          \
        uint32_t g = gids[j];                                        \
        BODY;                                                        \
      }                                                              \
    else                                                             \
      for (int64_t j = 0; j < n; j++) {                              \
        int64_t r = j;                                               \
        uint32_t g = gids[j];                                        \
        BODY;                                                        \
      }                                                              \
  } while (0)

/* Type-specialized loops for the common cases; false if not handled. */
static bool fold_fast(const td_agg *a, store *s, td_agg_kind kind, const td_vec *in,
                      const uint32_t *gids, const uint32_t *sel, int64_t n) {
  if (kind == TD_AGG_COUNT_STAR) {
    int64_t *cnt = s->cnt;
    ROWS_LOOP((void)r; cnt[g]++);
    return true;
  }
  if (in->is_const || in->valid) return false;
  int64_t *cnt = s->cnt;
  if (kind == TD_AGG_COUNT) {
    ROWS_LOOP((void)r; cnt[g]++);
    return true;
  }
  if (in->ph == TD_PHYS_I64 && kind == TD_AGG_SUM) {
    /* for sum, cnt only tells whether a non-null value was seen */
    const int64_t *x = in->i64;
    uint64_t *sum = (uint64_t *)s->i;
    ROWS_LOOP(sum[g] += (uint64_t)x[r]);
    for (int64_t t = 0; t < a->n_touched; t++) cnt[a->touched[t]] |= 1;
    return true;
  }
  if ((in->ph == TD_PHYS_F64 || in->ph == TD_PHYS_I64) && (kind == TD_AGG_SUM || kind == TD_AGG_AVG)) {
    double *sum = s->f;
    if (in->ph == TD_PHYS_F64) {
      const double *x = in->f64;
      ROWS_LOOP(sum[g] += x[r]; cnt[g]++);
    } else {
      const int64_t *x = in->i64;
      ROWS_LOOP(sum[g] += (double)x[r]; cnt[g]++);
    }
    return true;
  }
  if (in->ph == TD_PHYS_I64 && (kind == TD_AGG_MIN || kind == TD_AGG_MAX)) {
    const int64_t *x = in->i64;
    int64_t *m = s->i;
    uint8_t *has = s->has;
    if (kind == TD_AGG_MIN) ROWS_LOOP(if (!has[g] || x[r] < m[g]) { m[g] = x[r]; has[g] = 1; });
    else ROWS_LOOP(if (!has[g] || x[r] > m[g]) { m[g] = x[r]; has[g] = 1; });
    return true;
  }
  return false;
}

static int fold_agg(td_agg *a, int64_t k, const td_batch *b, const uint32_t *sel, int64_t n,
                    td_error *err) {
  const td_agg_spec *sp = &a->specs[k];
  store *s = &a->ast[k];
  td_vec in;
  memset(&in, 0, sizeof in);
  if (sp->kind != TD_AGG_COUNT_STAR) {
    int rc = td__vec_load(b, sp->column, sp->type, &in, err);
    if (rc) return rc;
  }
  int rc = TD_OK;
  if (!fold_fast(a, s, sp->kind, &in, a->gids, sel, n)) {
    for (int64_t j = 0; !rc && j < n; j++) {
      td_value v = td__vec_value(&in, sel ? sel[j] : j, sp->type);
      rc = fold_value(s, sp->kind, a->gids[j], &v, err);
    }
  }
  td__vec_free(&in);
  return rc;
}

static int map_groups(td_agg *a, const td_batch *b, const uint32_t *sel, int64_t n,
                      td_error *err) {
  if (a->n_keys == 0) {
    memset(a->gids, 0, (size_t)n * sizeof *a->gids);
    touch(a, 0);
    mark_changed(a, 0);
    return TD_OK;
  }
  td_vec kv[8], *keys = a->n_keys <= 8 ? kv : td_calloc((size_t)a->n_keys, sizeof *keys);
  if (!keys) return td_err_nomem(err, "aggregating");
  int64_t loaded = 0;
  int rc = TD_OK;
  for (; !rc && loaded < a->n_keys; loaded++) {
    rc = td__vec_load(b, a->keys[loaded].column, a->keys[loaded].type, &keys[loaded], err);
    if (rc) break;
  }
  if (!rc) {
    bool fast = a->n_keys == 1 && keys[0].ph == TD_PHYS_I64 && !keys[0].is_const && !keys[0].valid;
    rc = fast ? map_int_key(a, keys, sel, n, err) : map_generic(a, keys, sel, n, err);
  }
  for (int64_t k = 0; k < loaded; k++) td__vec_free(&keys[k]);
  if (keys != kv) td_free(keys);
  if (rc) return rc;
  for (int64_t t = 0; t < a->n_touched; t++) mark_changed(a, a->touched[t]);
  return TD_OK;
}

int td_agg_update(td_agg *a, const td_batch *b, const uint32_t *sel, int64_t n_sel,
                  td_error *err) {
  int64_t n = sel ? n_sel : b->length;
  if (n <= 0) return TD_OK;
  if (n > a->scratch_cap) {
    td_free(a->gids);
    a->gids = td_malloc((size_t)n * sizeof *a->gids);
    a->scratch_cap = a->gids ? n : 0;
    if (!a->gids) return td_err_nomem(err, "aggregating a batch");
  }
  if (++a->cur_epoch == 0) { /* wrapped: forget old epochs */
    memset(a->epoch, 0, (size_t)a->cap * sizeof *a->epoch);
    a->cur_epoch = 1;
  }
  a->n_touched = 0;
  int rc = map_groups(a, b, sel, n, err);
  for (int64_t k = 0; !rc && k < a->n_aggs; k++) rc = fold_agg(a, k, b, sel, n, err);
  return rc;
}

/* ---- results ---- */

static td_value agg_value(const td_agg *a, int64_t k, uint32_t g) {
  const td_agg_spec *sp = &a->specs[k];
  const store *s = &a->ast[k];
  td_type_id t = td_agg_result_type(sp->kind, sp->type);
  switch (sp->kind) {
    case TD_AGG_COUNT_STAR:
    case TD_AGG_COUNT: return td_value_int(TD_TYPE_INT64, s->cnt[g]);
    case TD_AGG_SUM:
      if (!s->cnt[g]) return td_value_null(t);
      return t == TD_TYPE_INT64 ? td_value_int(t, s->i[g]) : td_value_double(t, s->f[g]);
    case TD_AGG_AVG:
      if (!s->cnt[g]) return td_value_null(t);
      return td_value_double(t, s->f[g] / (double)s->cnt[g]);
    default:
      if (!s->has[g]) return td_value_null(t);
      return store_value(s, g, t);
  }
}

int td_agg_result_groups(const td_agg *a, const uint32_t *groups, int64_t n, td_array *out,
                         td_error *err) {
  int64_t ncol = a->n_keys + a->n_aggs;
  for (int64_t c = 0; c < ncol; c++) memset(&out[c], 0, sizeof out[c]);
  for (int64_t c = 0; c < ncol; c++) {
    int rc = td_array_init(&out[c], td_agg_output_type(a, c), n, err);
    for (int64_t j = 0; !rc && j < n; j++) {
      uint32_t g = groups ? groups[j] : (uint32_t)j;
      if ((int64_t)g >= a->n_groups) return td_err(err, TD_EINVAL, "no group %u", g);
      td_value v = c < a->n_keys ? store_value(&a->kst[c], g, a->keys[c].type)
                                 : agg_value(a, c - a->n_keys, g);
      rc = td_array_append_value(&out[c], &v, err);
    }
    if (rc) return rc;
  }
  return TD_OK;
}

int td_agg_result(const td_agg *a, td_array *out, td_error *err) {
  return td_agg_result_groups(a, NULL, a->n_groups, out, err);
}

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return a < b ? -1 : a > b;
}

int td_agg_take_changed(td_agg *a, uint32_t **groups, int64_t *n, td_error *err) {
  *groups = NULL;
  *n = a->n_changed;
  if (a->n_changed) {
    uint32_t *g = td_malloc((size_t)a->n_changed * sizeof *g);
    if (!g) return td_err_nomem(err, "listing changed groups");
    memcpy(g, a->changed_list, (size_t)a->n_changed * sizeof *g);
    qsort(g, (size_t)a->n_changed, sizeof *g, cmp_u32);
    *groups = g;
  }
  for (int64_t i = 0; i < a->n_changed; i++) a->changed[a->changed_list[i]] = 0;
  a->n_changed = 0;
  return TD_OK;
}
