/*
 * query/agg_more.c - the states of count/sum/avg(DISTINCT), approximate
 * distinct counts (HyperLogLog), quantiles and string_agg (see agg_more.h).
 *
 * Values live in one entry array per aggregate; each group chains its
 * entries (head[g], entry.next), strings are copied into one byte buffer.
 * Distinct aggregates also index the entries by (group, value) in an
 * open-addressing table, so a value enters its group once.  Results that
 * need every value (quantiles, distinct sums) sort the group's values and
 * are cached per group until the group changes: on a live table a cycle
 * recomputes only the groups it touched.  Distinct sums add the values in
 * sorted order, so float results do not depend on the order rows arrived
 * in (nor on the thread count).
 *
 * count(DISTINCT x) of an integer, bool or double x keeps no entries: the
 * value's hash is a bijection of it (see add_val), so the set alone, slots
 * of (hash, group), is the state ("compact" sets, filled up to 3/4), a
 * third of the memory per distinct (group, value) pair.  A compact set of
 * more than SPLIT_AT pairs is XPARTS independent tables, a pair's table
 * chosen by its value's hash alone (never its group, whose id differs between parallel workers' states):
 * in bulk mode (td__aggx_bulk) pairs only append to their part's buffer and
 * each part's table is built from its buffer at once (td__aggx_settle), from
 * a few hundred KiB that stay in cache instead of one probe of a table of
 * every pair per row; parallel workers' parts merge part by part on all
 * workers (td__aggx_merge_parts).  Other partial states merge in bulk
 * (td__aggx_merge_map): one pass over the other state's entries, in their
 * order.
 */
#include "query/agg_more.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "query/vec.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

enum { HLL_P = 12, HLL_M = 1 << HLL_P };
#define NO_ENT UINT32_MAX

typedef union xval {
  int64_t i;
  double f;
  td_i128 d;
  struct {
    uint64_t off, len;
  } s;
} xval;

typedef struct xent {
  xval v;
  uint64_t h;
  uint32_t next; /* the group's next entry, NO_ENT at the end */
  uint32_t g;
} xent;

/* A slot of the distinct set: the entry's hash and group beside its index,
 * so that a probe reads the entry only when both match (and not at all for
 * the kinds whose hash is a bijection of the value, see add_val). */
typedef struct xslot {
  uint64_t h;
  uint32_t g;
  uint32_t e; /* entry + 1, 0 = empty */
} xslot;

/* One part of a compact set: its table and, in bulk mode, the pairs waiting
 * to enter it. */
typedef struct xpart {
  xslot *set;
  int64_t cap, n;
  uint64_t *ph; /* pending pairs: hashes and groups */
  uint32_t *pg;
  int64_t np, pcap;
} xpart;

enum {
  XPART_BITS = 8,
  XPARTS = 1 << XPART_BITS,
  SPLIT_AT = 1 << 15, /* pairs of a one-part set (held or waiting) before it splits in XPARTS */
  PEND_MAX = 1 << 23 /* pending pairs of a state before they enter the tables (96 MiB; 12 bytes
                        a pair where a set takes 21-32 bytes a distinct pair) */
};
int64_t td__aggx_pend_max = PEND_MAX;

/* What results use while computing (the state is const there). */
typedef struct xscratch {
  xval *vals;
  int64_t cap;
} xscratch;

struct td_aggx {
  td_agg_kind kind;
  td_type_id type;
  td_phys ph;
  double q;
  char *sep;
  size_t sep_len;
  int scale; /* decimal128 input */
  int64_t cap;
  int64_t *cnt;   /* entries (distinct values) of each group */
  uint32_t *head; /* first entry of each group */
  xent *ents;
  int64_t n_ents, ents_cap;
  int64_t *ecnt; /* mode, entropy: each entry's count of rows (beside ents) */
  char *sbuf; /* string values */
  size_t sb_len, sb_cap;
  xslot *set;    /* distinct kinds: open addressing over the entries */
  int64_t set_cap;
  bool compact;  /* count(DISTINCT) of a fixed-width value: the set is the state */
  bool bulk;     /* compact: pairs wait in their parts' buffers (td__aggx_bulk) */
  xpart *parts;  /* compact: XPARTS tables, instead of set */
  int pbits;     /* 0: parts[0] only (a small set: few allocations), else XPART_BITS */
  int64_t n_pend;
  bool typed;    /* quantile of integers, bools or doubles: values in tv */
  int64_t **tv;  /* typed: each group's values (cnt[g] of them) as order keys (see num_key) */
  uint8_t **reg; /* HyperLogLog registers of each group (NULL: no value yet) */
  char **str;    /* string_agg: each group's text (NULL: no value yet) */
  size_t *slen, *scap;
  uint8_t *cstate; /* cached result: 0 stale, 1 value, 2 null */
  xval *cache;
  xscratch *scr;
};

/* mode and entropy: the distinct set's entries, each with its count of rows */
static bool counts_values(td_agg_kind k) { return k == TD_AGG_MODE || k == TD_AGG_ENTROPY; }

bool td__aggx_kind(td_agg_kind kind) {
  return (kind >= TD_AGG_COUNT_DISTINCT && kind <= TD_AGG_STRING_AGG_DISTINCT) || counts_values(kind);
}

/* The kinds whose values enter a group once (looked up in the set). */
static bool is_distinct(td_agg_kind k) {
  return k == TD_AGG_COUNT_DISTINCT || k == TD_AGG_SUM_DISTINCT || k == TD_AGG_AVG_DISTINCT ||
         k == TD_AGG_STRING_AGG_DISTINCT || counts_values(k);
}
static bool keeps_values(td_agg_kind k) {
  return is_distinct(k) || k == TD_AGG_QUANTILE_CONT || k == TD_AGG_QUANTILE_DISC;
}

int td__aggx_new(td_agg_kind kind, td_type_id type, const td_agg_param *p, td_aggx **out, td_error *err) {
  *out = NULL;
  td_aggx *x = td_calloc(1, sizeof *x);
  if (!x) return td_err_nomem(err, "creating an aggregate");
  x->kind = kind;
  x->type = type;
  x->ph = td__phys_of(type);
  x->compact = kind == TD_AGG_COUNT_DISTINCT && x->ph != TD_PHYS_STR && x->ph != TD_PHYS_D128;
  x->typed = (kind == TD_AGG_QUANTILE_CONT || kind == TD_AGG_QUANTILE_DISC) &&
             (x->ph == TD_PHYS_F64 || x->ph == TD_PHYS_I64 || x->ph == TD_PHYS_BOOL);
  x->q = p ? p->q : 0.5;
  const char *sep = p && p->sep ? p->sep : ",";
  x->sep_len = p && p->sep ? p->sep_len : 1;
  x->sep = td_malloc(x->sep_len + 1);
  x->scr = td_calloc(1, sizeof *x->scr);
  if (x->compact) x->parts = td_calloc(XPARTS, sizeof *x->parts);
  if (!x->sep || !x->scr || (x->compact && !x->parts)) {
    td__aggx_free(x);
    return td_err_nomem(err, "creating an aggregate");
  }
  memcpy(x->sep, sep, x->sep_len);
  *out = x;
  return TD_OK;
}

int td__aggx_set_param(td_aggx *x, const td_agg_param *p, td_error *err) {
  x->q = p->q;
  if (!p->sep) return TD_OK;
  char *s = td_malloc(p->sep_len + 1);
  if (!s) return td_err_nomem(err, "setting a separator");
  memcpy(s, p->sep, p->sep_len);
  td_free(x->sep);
  x->sep = s;
  x->sep_len = p->sep_len;
  return TD_OK;
}

void td__aggx_set_scale(td_aggx *x, int scale) { x->scale = scale; }

void td__aggx_free(td_aggx *x) {
  if (!x) return;
  for (int64_t g = 0; g < x->cap; g++) {
    if (x->reg) td_free(x->reg[g]);
    if (x->str) td_free(x->str[g]);
    if (x->tv) td_free(x->tv[g]);
  }
  td_free(x->tv);
  if (x->scr) td_free(x->scr->vals);
  td_free(x->scr);
  td_free(x->reg);
  td_free(x->str);
  td_free(x->slen);
  td_free(x->scap);
  td_free(x->cnt);
  td_free(x->head);
  td_free(x->ents);
  td_free(x->ecnt);
  td_free(x->sbuf);
  td_free(x->set);
  for (int i = 0; x->parts && i < XPARTS; i++) {
    td_free(x->parts[i].set);
    td_free(x->parts[i].ph);
    td_free(x->parts[i].pg);
  }
  td_free(x->parts);
  td_free(x->cstate);
  td_free(x->cache);
  td_free(x->sep);
  td_free(x);
}

static int grow(void **p, int64_t cap, size_t width, int64_t old, int fill) {
  void *q = td_realloc(*p, (size_t)cap * width);
  if (!q) return TD_ENOMEM;
  memset((char *)q + (size_t)old * width, fill, (size_t)(cap - old) * width);
  *p = q;
  return TD_OK;
}

int td__aggx_grow(td_aggx *x, int64_t cap, td_error *err) {
  if (cap <= x->cap) return TD_OK;
  int64_t old = x->cap;
  int rc = grow((void **)&x->cnt, cap, sizeof *x->cnt, old, 0);
  if (!rc) rc = grow((void **)&x->cstate, cap, 1, old, 0);
  if (!rc) rc = grow((void **)&x->cache, cap, sizeof *x->cache, old, 0);
  if (!rc && x->typed) rc = grow((void **)&x->tv, cap, sizeof *x->tv, old, 0);
  if (!rc && keeps_values(x->kind) && !x->compact && !x->typed) rc = grow((void **)&x->head, cap, sizeof *x->head, old, 0xff);
  if (!rc && x->kind == TD_AGG_APPROX_DISTINCT) rc = grow((void **)&x->reg, cap, sizeof *x->reg, old, 0);
  if (!rc && td_agg_joins_text(x->kind)) {
    rc = grow((void **)&x->str, cap, sizeof *x->str, old, 0);
    if (!rc) rc = grow((void **)&x->slen, cap, sizeof *x->slen, old, 0);
    if (!rc) rc = grow((void **)&x->scap, cap, sizeof *x->scap, old, 0);
  }
  if (rc) return td_err_nomem(err, "growing an aggregate");
  x->cap = cap;
  return TD_OK;
}

/* ---- values ---- */

static const char *sptr(const td_aggx *x, const xval *v) { return x->sbuf ? x->sbuf + v->s.off : ""; }

static int cmp_val(const td_aggx *x, const xval *a, const xval *b) {
  switch (x->ph) {
    case TD_PHYS_F64: /* NaN greatest, all NaNs equal; -0.0 == 0.0 */
      if (isnan(a->f) || isnan(b->f)) return (int)isnan(a->f) - (int)isnan(b->f);
      return a->f < b->f ? -1 : a->f > b->f;
    case TD_PHYS_STR: {
      size_t n = a->s.len < b->s.len ? a->s.len : b->s.len;
      int c = n ? memcmp(sptr(x, a), sptr(x, b), n) : 0;
      if (c) return c;
      return a->s.len < b->s.len ? -1 : a->s.len > b->s.len;
    }
    case TD_PHYS_D128: return a->d < b->d ? -1 : a->d > b->d;
    default: return a->i < b->i ? -1 : a->i > b->i;
  }
}

/* The entry form of v; strings are appended to sbuf (bytes from `src` when
 * they come from another state). */
static int to_val(td_aggx *x, const td_value *v, xval *out, td_error *err) {
  memset(out, 0, sizeof *out);
  switch (x->ph) {
    /* mode returns a value as first seen (-0.0 stays; equal to 0.0 in holds) */
    case TD_PHYS_F64: out->f = v->v.f == 0 && !counts_values(x->kind) ? 0.0 : v->v.f; break;
    case TD_PHYS_BOOL: out->i = v->v.b; break;
    case TD_PHYS_D128: out->d = td_dec_of(v); break;
    case TD_PHYS_I64: out->i = v->v.i; break;
    case TD_PHYS_STR: {
      size_t n = v->v.s.len;
      if (x->sb_len + n > x->sb_cap) {
        size_t cap = x->sb_cap ? x->sb_cap : 4096;
        while (cap < x->sb_len + n) cap *= 2;
        char *p = td_realloc(x->sbuf, cap);
        if (!p) return td_err_nomem(err, "storing a string in an aggregate");
        x->sbuf = p;
        x->sb_cap = cap;
      }
      if (n) memcpy(x->sbuf + x->sb_len, v->v.s.ptr, n);
      out->s.off = x->sb_len;
      out->s.len = n;
      x->sb_len += n;
      break;
    }
  }
  return TD_OK;
}

static td_value from_val(const td_aggx *x, const xval *v, td_type_id t) {
  td_value r;
  memset(&r, 0, sizeof r);
  r.type = t;
  switch (td__phys_of(t)) {
    case TD_PHYS_F64: r.v.f = v->f; break;
    case TD_PHYS_BOOL: r.v.b = v->i != 0; break;
    case TD_PHYS_D128: {
      td_value d = td_dec_value(0, 0, v->d);
      r.v.d = d.v.d;
      break;
    }
    case TD_PHYS_STR:
      r.v.s.ptr = sptr(x, v);
      r.v.s.len = (size_t)v->s.len;
      break;
    default: r.v.i = v->i; break;
  }
  return r;
}

/* The order key of a number of a typed state: integers and bools as they
 * are; a double's bits made to order as signed integers (negative values'
 * magnitude bits flipped), after -0.0 became 0.0 and every NaN the one
 * positive NaN, so NaN orders above +inf and all NaNs are equal (cmp_val's
 * order). */
static inline int64_t dbl_key(double f) {
  f = isnan(f) ? NAN : f == 0 ? 0.0 : f;
  int64_t b;
  memcpy(&b, &f, 8);
  return b < 0 ? b ^ INT64_MAX : b;
}
static inline int64_t num_key(const td_aggx *x, const td_value *v) {
  return x->ph == TD_PHYS_BOOL ? (int64_t)v->v.b : x->ph == TD_PHYS_F64 ? dbl_key(v->v.f) : v->v.i;
}

static xval key_val(const td_aggx *x, int64_t k) {
  xval r;
  memset(&r, 0, sizeof r);
  if (x->ph != TD_PHYS_F64) r.i = k;
  else {
    if (k < 0) k ^= INT64_MAX;
    memcpy(&r.f, &k, 8);
  }
  return r;
}

/* Room in typed group g for m more values: a group of n values has room for
 * max(4, n rounded up to a power of two), so no capacity is stored. */
static int64_t tv_cap(int64_t n) {
  int64_t c = 4;
  while (c < n) c *= 2;
  return c;
}
static int tv_room(td_aggx *x, uint32_t g, int64_t m, td_error *err) {
  const int64_t n = x->cnt[g];
  if (x->tv[g] && n + m <= tv_cap(n)) return TD_OK;
  int64_t *p = td_realloc(x->tv[g], (size_t)tv_cap(n + m) * sizeof *p);
  if (!p) return td_err_nomem(err, "storing aggregate values");
  x->tv[g] = p;
  return TD_OK;
}
static inline int tv_push(td_aggx *x, uint32_t g, int64_t k, td_error *err) {
  const int64_t n = x->cnt[g];
  if (n < 4 ? n == 0 : (n & (n - 1)) == 0) { /* full (see tv_cap) */
    int rc = tv_room(x, g, 1, err);
    if (rc) return rc;
  }
  x->tv[g][n] = k;
  x->cnt[g] = n + 1;
  x->cstate[g] = 0;
  return TD_OK;
}

static inline uint64_t xmix(uint64_t h) {
  h ^= h >> 31;
  h *= 0x9e3779b97f4a7c15ULL;
  h ^= h >> 29;
  return h;
}
static inline uint64_t set_hash(uint64_t h, uint32_t g) { return xmix(h ^ ((uint64_t)g * 0xc4ceb9fe1a85ec53ULL)); }

/* The part of a compact set that holds value hash h (the top bits of a
 * product: every bit of h counts; set_hash picks the slot from low bits of
 * another mix, so a part's table is evenly filled). */
static inline uint32_t part_of(const td_aggx *x, uint64_t h) {
  return x->pbits ? (uint32_t)((h * 0xd6e8feb86659fd93ULL) >> (64 - XPART_BITS)) : 0;
}

static int part_rehash(xpart *p, td_error *err) {
  int64_t cap = p->cap ? p->cap * 2 : 64;
  xslot *t = td_calloc_probed((size_t)cap, sizeof *t);
  if (!t) return td_err_nomem(err, "growing a distinct set");
  for (int64_t o = 0; o < p->cap; o++) { /* the slots move as they are */
    if (!p->set[o].e) continue;
    int64_t s = (int64_t)(set_hash(p->set[o].h, p->set[o].g) & (uint64_t)(cap - 1));
    while (t[s].e) s = (s + 1) & (cap - 1);
    t[s] = p->set[o];
  }
  td_free(p->set);
  p->set = t;
  p->cap = cap;
  return TD_OK;
}

/* Adds pair (g, h) to part p unless it holds it; a new pair counts in
 * cnt[g] (cnt NULL: a pair moving, known new). */
static inline int part_add(xpart *p, uint32_t g, uint64_t h, int64_t *cnt, td_error *err) {
  if ((p->n + 1) * 4 > p->cap * 3) {
    int rc = part_rehash(p, err);
    if (rc) return rc;
  }
  if (!cnt) {
    int64_t s = (int64_t)(set_hash(h, g) & (uint64_t)(p->cap - 1));
    while (p->set[s].e) s = (s + 1) & (p->cap - 1);
    p->set[s] = (xslot){h, g, 1};
    p->n++;
    return TD_OK;
  }
  const int64_t mask = p->cap - 1;
  int64_t s = (int64_t)(set_hash(h, g) & (uint64_t)mask);
  for (const xslot *t; (t = &p->set[s])->e; s = (s + 1) & mask)
    if (t->h == h && t->g == g) return TD_OK;
  p->set[s] = (xslot){h, g, 1};
  p->n++;
  cnt[g]++;
  return TD_OK;
}

/* Adds n pairs (G[i] through map unless map is NULL; NO_ENT skipped). */
static int part_fold(xpart *p, const uint64_t *H, const uint32_t *G, int64_t n, const uint32_t *map, int64_t *cnt,
                     td_error *err) {
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    const uint32_t g = map ? map[G[i]] : G[i];
    if (g != NO_ENT) rc = part_add(p, g, H[i], cnt, err);
  }
  return rc;
}

static void part_drop_pending(td_aggx *x, xpart *p) {
  x->n_pend -= p->np;
  td_free(p->ph);
  td_free(p->pg);
  p->ph = NULL;
  p->pg = NULL;
  p->np = p->pcap = 0;
}

static int pend_push(xpart *p, uint32_t g, uint64_t h, td_error *err) {
  if (p->np == p->pcap) {
    int64_t cap = p->pcap ? p->pcap * 2 : 256;
    uint64_t *nh = td_realloc(p->ph, (size_t)cap * sizeof *nh);
    if (nh) p->ph = nh;
    uint32_t *ng = nh ? td_realloc(p->pg, (size_t)cap * sizeof *ng) : NULL;
    if (!ng) return td_err_nomem(err, "counting distinct values");
    p->pg = ng;
    p->pcap = cap;
  }
  p->ph[p->np] = h;
  p->pg[p->np++] = g;
  return TD_OK;
}

static int pend_add(td_aggx *x, uint32_t g, uint64_t h, td_error *err) {
  int rc = pend_push(&x->parts[part_of(x, h)], g, h, err);
  if (rc) return rc;
  if (++x->n_pend >= td__aggx_pend_max) return td__aggx_settle(x, err);
  return !x->pbits && x->n_ents + x->n_pend >= SPLIT_AT ? td__aggx_split(x, err) : TD_OK;
}

int64_t td__aggx_size(const td_aggx *x) { return x->compact ? x->n_ents + x->n_pend : 0; }

int td__aggx_split(td_aggx *x, td_error *err) {
  if (!x->compact || x->pbits) return TD_OK;
  xpart old = x->parts[0];
  memset(&x->parts[0], 0, sizeof old);
  x->pbits = XPART_BITS;
  int rc = TD_OK;
  for (int64_t o = 0; rc == TD_OK && o < old.cap; o++)
    if (old.set[o].e) rc = part_add(&x->parts[part_of(x, old.set[o].h)], old.set[o].g, old.set[o].h, NULL, err);
  for (int64_t j = 0; rc == TD_OK && j < old.np; j++) rc = pend_push(&x->parts[part_of(x, old.ph[j])], old.pg[j], old.ph[j], err);
  td_free(old.set);
  td_free(old.ph);
  td_free(old.pg);
  return rc;
}

static void count_entries(td_aggx *x) {
  x->n_ents = 0;
  for (int i = 0; i < XPARTS; i++) x->n_ents += x->parts[i].n;
}

void td__aggx_bulk(td_aggx *x, bool on) { x->bulk = on && x->compact; }

int td__aggx_settle(td_aggx *x, td_error *err) {
  int rc = x->compact && x->n_ents + x->n_pend >= SPLIT_AT ? td__aggx_split(x, err) : TD_OK;
  for (int i = 0; x->compact && x->n_pend && i < XPARTS; i++) {
    xpart *p = &x->parts[i];
    if (rc == TD_OK) rc = part_fold(p, p->ph, p->pg, p->np, NULL, x->cnt, err);
    part_drop_pending(x, p);
  }
  if (x->compact) count_entries(x);
  return rc;
}

int td__aggx_merge_parts(td_aggx *x, const td_aggx *const *ys, const uint32_t *const *maps, int n,
                         _Atomic int *next, int64_t *cnt, td_error *err) {
  int rc = TD_OK;
  for (int i; rc == TD_OK && (i = atomic_fetch_add(next, 1)) < XPARTS;) {
    xpart *d = &x->parts[i];
    rc = part_fold(d, d->ph, d->pg, d->np, NULL, cnt, err);
    for (int w = 0; rc == TD_OK && w < n; w++) {
      const xpart *s = &ys[w]->parts[i];
      rc = part_fold(d, s->ph, s->pg, s->np, maps[w], cnt, err);
      for (int64_t o = 0; rc == TD_OK && o < s->cap; o++) {
        const xslot *t = &s->set[o];
        if (t->e && maps[w][t->g] != NO_ENT) rc = part_add(d, maps[w][t->g], t->h, cnt, err);
      }
    }
  }
  return rc;
}

void td__aggx_merge_done(td_aggx *x, const int64_t *cnt) {
  for (int64_t g = 0; g < x->cap; g++) x->cnt[g] += cnt[g];
  for (int i = 0; i < XPARTS; i++) part_drop_pending(x, &x->parts[i]); /* folded by td__aggx_merge_parts */
  count_entries(x);
}

/* Whether the distinct set (not compact) needs to grow before one more entry. */
static bool set_room(const td_aggx *x, int64_t m) {
  /* mode and entropy: up to 3/4 full (a grouped mode may hold nearly a
   * pair a row: half the table's memory); the others up to 1/2 */
  return counts_values(x->kind) ? (x->n_ents + m) * 4 <= x->set_cap * 3 : (x->n_ents + m) * 2 <= x->set_cap;
}
static bool set_full(const td_aggx *x) { return !set_room(x, 1); }

static int rehash_set(td_aggx *x, td_error *err) {
  int64_t cap = x->set_cap ? x->set_cap * 2 : 1024;
  xslot *t = td_calloc_probed((size_t)cap, sizeof *t);
  if (!t) return td_err_nomem(err, "growing a distinct set");
  for (int64_t e = 0; e < x->n_ents; e++) {
    int64_t s = (int64_t)(set_hash(x->ents[e].h, x->ents[e].g) & (uint64_t)(cap - 1));
    while (t[s].e) s = (s + 1) & (cap - 1);
    t[s] = (xslot){x->ents[e].h, x->ents[e].g, (uint32_t)e + 1};
  }
  td_free(x->set);
  x->set = t;
  x->set_cap = cap;
  return TD_OK;
}

/* Whether entry c holds value v (equal as group keys: -0.0 is 0.0, NaNs
 * are one value). */
static bool holds(const td_aggx *x, const xent *c, const td_value *v) {
  switch (x->ph) {
    case TD_PHYS_F64: return c->v.f == v->v.f || (isnan(c->v.f) && isnan(v->v.f));
    case TD_PHYS_STR:
      return c->v.s.len == v->v.s.len && (!v->v.s.len || memcmp(sptr(x, &c->v), v->v.s.ptr, v->v.s.len) == 0);
    case TD_PHYS_D128: return c->v.d == td_dec_of(v);
    case TD_PHYS_BOOL: return c->v.i == v->v.b;
    default: return c->v.i == v->v.i;
  }
}

/* Appends entry xv (hash h, count m) to group g's chain, at set slot `slot`
 * (-1: none). */
static int new_entry(td_aggx *x, uint32_t g, const xval *xv, uint64_t h, int64_t m, int64_t slot, td_error *err) {
  if (x->n_ents >= (int64_t)UINT32_MAX - 1) return td_err(err, TD_ERANGE, "too many values in an aggregate");
  if (x->n_ents == x->ents_cap) {
    int64_t cap = x->ents_cap ? x->ents_cap * 2 : 256;
    xent *n = td_realloc(x->ents, (size_t)cap * sizeof *n);
    if (n) x->ents = n;
    int64_t *c = n && counts_values(x->kind) ? td_realloc(x->ecnt, (size_t)cap * sizeof *c) : NULL;
    if (c) x->ecnt = c;
    if (!n || (counts_values(x->kind) && !c)) return td_err_nomem(err, "storing aggregate values");
    x->ents_cap = cap;
  }
  uint32_t e = (uint32_t)x->n_ents++;
  x->ents[e] = (xent){*xv, h, x->head[g], g};
  if (x->ecnt) x->ecnt[e] = m;
  x->head[g] = e;
  x->cnt[g]++;
  x->cstate[g] = 0;
  if (slot >= 0) x->set[slot] = (xslot){h, g, e + 1};
  return TD_OK;
}

/* Adds value v (non-null) to group g's chain; distinct kinds look it up
 * first and skip a value the group has (nothing is copied then), mode and
 * entropy add m to its count instead. */
static int add_valn(td_aggx *x, uint32_t g, const td_value *v, uint64_t h, int64_t m, td_error *err) {
  int64_t slot = -1;
  if (x->typed) return tv_push(x, g, num_key(x, v), err);
  if (x->compact) {
    if (x->bulk) return pend_add(x, g, h, err);
    int64_t before = x->cnt[g];
    int rc = part_add(&x->parts[part_of(x, h)], g, h, x->cnt, err);
    x->n_ents += x->cnt[g] - before;
    return rc == TD_OK && !x->pbits && x->n_ents >= SPLIT_AT ? td__aggx_split(x, err) : rc;
  }
  if (is_distinct(x->kind)) {
    if (set_full(x)) {
      int rc = rehash_set(x, err);
      if (rc) return rc;
    }
    /* h is the value's key hash (agg.c's value_hash): for integers, bools
     * and (normalized) doubles a bijection of the value, so equal hashes
     * are equal values and the entry is not read */
    const bool exact = x->ph != TD_PHYS_STR && x->ph != TD_PHYS_D128;
    int64_t mask = x->set_cap - 1, s = (int64_t)(set_hash(h, g) & (uint64_t)mask);
    for (const xslot *t; (t = &x->set[s])->e; s = (s + 1) & mask)
      if (t->h == h && t->g == g && (exact || holds(x, &x->ents[t->e - 1], v))) {
        if (x->ecnt) {
          x->ecnt[t->e - 1] += m;
          x->cstate[g] = 0;
        }
        return TD_OK;
      }
    slot = s;
  }
  if (x->n_ents >= (int64_t)UINT32_MAX - 1) return td_err(err, TD_ERANGE, "too many values in an aggregate");
  xval xv;
  int rc = to_val(x, v, &xv, err);
  return rc ? rc : new_entry(x, g, &xv, h, m, slot, err);
}

static int add_val(td_aggx *x, uint32_t g, const td_value *v, uint64_t h, td_error *err) {
  return add_valn(x, g, v, h, 1, err);
}

static inline void hll_put(uint8_t *reg, uint64_t h) {
  h = xmix(h); /* the key hash of small integers has weak low bits */
  const uint32_t idx = (uint32_t)(h >> (64 - HLL_P));
  const uint64_t rest = (h << HLL_P) | (1ULL << (HLL_P - 1));
  const uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
  if (rank > reg[idx]) reg[idx] = rank;
}

static int hll_add(td_aggx *x, uint32_t g, uint64_t h, td_error *err) {
  if (!x->reg[g] && !(x->reg[g] = td_calloc(HLL_M, 1))) return td_err_nomem(err, "creating a HyperLogLog sketch");
  hll_put(x->reg[g], h);
  return TD_OK;
}

bool td__aggx_sketch(const td_aggx *x) { return x->kind == TD_AGG_APPROX_DISTINCT; }

int td__aggx_add_hashes(td_aggx *x, const uint32_t *G, const uint64_t *H, int64_t n, const uint8_t *valid,
                        const uint32_t *sel, int64_t j0, td_error *err) {
  for (int64_t i = 0; i < n;) {
    /* a run of one group (all of a global aggregate's rows): its registers
     * in hand */
    const uint32_t g = G[i];
    if (!x->reg[g] && !(x->reg[g] = td_calloc(HLL_M, 1))) return td_err_nomem(err, "creating a HyperLogLog sketch");
    uint8_t *reg = x->reg[g];
    for (; i < n && G[i] == g; i++) {
      if (valid && !valid[sel ? (int64_t)sel[j0 + i] : j0 + i]) continue;
      hll_put(reg, H[i]);
    }
  }
  return TD_OK;
}

static int str_append(td_aggx *x, uint32_t g, const char *p, size_t n, td_error *err) {
  bool first = !x->str[g];
  size_t need = x->slen[g] + (first ? 0 : x->sep_len) + n + 1;
  if (need > x->scap[g]) {
    size_t cap = x->scap[g] ? x->scap[g] * 2 : 32;
    while (cap < need) cap *= 2;
    char *q = td_realloc(x->str[g], cap);
    if (!q) return td_err_nomem(err, "concatenating strings");
    x->str[g] = q;
    x->scap[g] = cap;
  }
  if (!first) {
    memcpy(x->str[g] + x->slen[g], x->sep, x->sep_len);
    x->slen[g] += x->sep_len;
  }
  if (n) memcpy(x->str[g] + x->slen[g], p, n);
  x->slen[g] += n;
  return TD_OK;
}

void td__aggx_prefetch(const td_aggx *x, uint32_t g, uint64_t h) {
#if defined(__GNUC__) || defined(__clang__)
  if (x->compact) {
    const xpart *p = &x->parts[part_of(x, h)];
    if (!x->bulk && p->cap) __builtin_prefetch(&p->set[set_hash(h, g) & (uint64_t)(p->cap - 1)]);
  } else if (x->set_cap && is_distinct(x->kind))
    __builtin_prefetch(&x->set[set_hash(h, g) & (uint64_t)(x->set_cap - 1)]);
#else
  (void)x, (void)g, (void)h;
#endif
}

bool td__aggx_by_hash(const td_aggx *x) { return x->compact; }

int td__aggx_add_hash(td_aggx *x, uint32_t g, uint64_t h, td_error *err) { return add_val(x, g, NULL, h, err); }

int td__aggx_add(td_aggx *x, uint32_t g, const td_value *v, uint64_t h, td_error *err) {
  if (v->is_null) return TD_OK;
  if (x->kind == TD_AGG_APPROX_DISTINCT) return hll_add(x, g, h, err);
  if (x->kind == TD_AGG_STRING_AGG) return str_append(x, g, v->v.s.ptr, v->v.s.len, err);
  return add_val(x, g, v, h, err);
}

bool td__aggx_counts(const td_aggx *x) { return counts_values(x->kind); }

int td__aggx_add_count(td_aggx *x, uint32_t g, const td_value *v, uint64_t h, int64_t m, td_error *err) {
  return v->is_null || m <= 0 ? TD_OK : add_valn(x, g, v, h, m, err);
}

bool td__aggx_counts_fixed(const td_aggx *x) {
  return counts_values(x->kind) && (x->ph == TD_PHYS_I64 || x->ph == TD_PHYS_F64 || x->ph == TD_PHYS_BOOL);
}

int td__aggx_count_vec(td_aggx *x, const uint32_t *G, const uint64_t *H, const struct td_vec *in, const uint32_t *sel,
                       int64_t j0, int64_t j1, td_error *err) {
  enum { BLOCK = 16 };
  const uint8_t *valid = in->valid;
  for (int64_t b = j0; b < j1; b += BLOCK) {
    const int64_t e1 = j1 - b < BLOCK ? j1 : b + BLOCK;
    /* room first: the prefetched slots stay where they are */
    while (!set_room(x, e1 - b)) {
      int rc = rehash_set(x, err);
      if (rc) return rc;
    }
    const int64_t mask = x->set_cap - 1;
    for (int64_t j = b; j < e1; j++) td__aggx_prefetch(x, G[j - j0], H[j - j0]);
    for (int64_t j = b; j < e1; j++) {
      const int64_t r = sel ? (int64_t)sel[j] : j;
      if (valid && !valid[r]) continue;
      /* the hash is a bijection of the value (agg.c's key hash): the entry
       * is not read */
      const uint64_t h = H[j - j0];
      const uint32_t g = G[j - j0];
      int64_t s = (int64_t)(set_hash(h, g) & (uint64_t)mask);
      const xslot *t;
      for (; (t = &x->set[s])->e; s = (s + 1) & mask)
        if (t->h == h && t->g == g) break;
      if (t->e) {
        x->ecnt[t->e - 1]++;
        x->cstate[g] = 0;
        continue;
      }
      xval xv;
      memset(&xv, 0, sizeof xv);
      if (x->ph == TD_PHYS_F64) xv.f = in->f64[r]; /* as first seen: -0.0 stays */
      else xv.i = x->ph == TD_PHYS_BOOL ? in->b8[r] != 0 : in->i64[r];
      int rc = new_entry(x, g, &xv, h, 1, s, err);
      if (rc) return rc;
    }
  }
  return TD_OK;
}

bool td__aggx_by_vec(const td_aggx *x) { return x->typed; }

int td__aggx_add_vec(td_aggx *x, const uint32_t *G, const struct td_vec *in, const uint32_t *sel, int64_t j0,
                     int64_t j1, td_error *err) {
  const uint8_t *valid = in->valid;
  int rc = TD_OK;
#define TD_TV_ROWS(KEY)                                      \
  for (int64_t j = j0; rc == TD_OK && j < j1; j++) {         \
    const int64_t r = sel ? (int64_t)sel[j] : j;             \
    if (!valid || valid[r]) rc = tv_push(x, G[j - j0], (KEY), err); \
  }
  switch (x->ph) {
    case TD_PHYS_F64: TD_TV_ROWS(dbl_key(in->f64[r])); break;
    case TD_PHYS_BOOL: TD_TV_ROWS(in->b8[r] != 0); break;
    default: TD_TV_ROWS(in->i64[r]); break;
  }
#undef TD_TV_ROWS
  return rc;
}

/* Folds group g of y into group d of x (sketches and strings; the kinds
 * that keep values merge in bulk, see td__aggx_merge_map). */
static int merge_group(td_aggx *x, uint32_t d, const td_aggx *y, uint32_t g, td_error *err) {
  if (x->kind == TD_AGG_APPROX_DISTINCT) {
    if (!y->reg[g]) return TD_OK;
    if (!x->reg[d] && !(x->reg[d] = td_calloc(HLL_M, 1))) return td_err_nomem(err, "merging sketches");
    for (int i = 0; i < HLL_M; i++)
      if (y->reg[g][i] > x->reg[d][i]) x->reg[d][i] = y->reg[g][i];
    return TD_OK;
  }
  return y->str[g] ? str_append(x, d, y->str[g], y->slen[g], err) : TD_OK;
}

int td__aggx_merge_map(td_aggx *x, const td_aggx *y, const uint32_t *map, int64_t n, td_error *err) {
  int rc = TD_OK;
  if (x->kind == TD_AGG_APPROX_DISTINCT || x->kind == TD_AGG_STRING_AGG) {
    for (int64_t g = 0; rc == TD_OK && g < n; g++)
      if (map[g] != NO_ENT) rc = merge_group(x, map[g], y, (uint32_t)g, err);
    return rc;
  }
  if (x->typed) { /* each group's values appended */
    for (int64_t g = 0; rc == TD_OK && g < n; g++) {
      const uint32_t d = map[g];
      const int64_t m = y->cnt[g];
      if (d == NO_ENT || !m || (rc = tv_room(x, d, m, err))) continue;
      memcpy(x->tv[d] + x->cnt[d], y->tv[g], (size_t)m * sizeof *y->tv[g]);
      x->cnt[d] += m;
      x->cstate[d] = 0;
    }
    return rc;
  }
  if (y->compact) { /* part by part (x's pending pairs stay pending) */
    const bool bulk = x->bulk;
    x->bulk = false;
    for (int i = 0; rc == TD_OK && i < XPARTS; i++) {
      const xpart *s = &y->parts[i];
      for (int64_t o = 0; rc == TD_OK && o < s->cap; o++)
        if (s->set[o].e && map[s->set[o].g] != NO_ENT) rc = add_val(x, map[s->set[o].g], NULL, s->set[o].h, err);
      for (int64_t j = 0; rc == TD_OK && j < s->np; j++)
        if (map[s->pg[j]] != NO_ENT) rc = add_val(x, map[s->pg[j]], NULL, s->ph[j], err);
    }
    x->bulk = bulk;
    return rc;
  }
  /* entries in y's order: each group's values keep their input order */
  for (int64_t e = 0; rc == TD_OK && e < y->n_ents; e++) {
    const xent *src = &y->ents[e];
    if (map[src->g] == NO_ENT) continue;
    td_value v = from_val(y, &src->v, y->type);
    rc = add_valn(x, map[src->g], &v, src->h, y->ecnt ? y->ecnt[e] : 1, err);
  }
  return rc;
}

/* ---- results ---- */

static int cmp_sort(const void *a, const void *b, void *ctx) { return cmp_val(ctx, a, b); }

/* A qsort with context (glibc's qsort_r is not portable to every libc the
 * project builds on): merge sort of group values, n is small per group. */
static void sort_vals(const td_aggx *x, xval *v, xval *tmp, int64_t n) {
  if (n < 2) return;
  if (n <= 16) {
    for (int64_t i = 1; i < n; i++)
      for (int64_t j = i; j > 0 && cmp_sort(&v[j - 1], &v[j], (void *)x) > 0; j--) {
        xval t = v[j];
        v[j] = v[j - 1];
        v[j - 1] = t;
      }
    return;
  }
  int64_t h = n / 2;
  sort_vals(x, v, tmp, h);
  sort_vals(x, v + h, tmp, n - h);
  int64_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = cmp_sort(&v[j], &v[i], (void *)x) < 0 ? v[j++] : v[i++];
  while (i < h) tmp[k++] = v[i++];
  while (j < n) tmp[k++] = v[j++];
  memcpy(v, tmp, (size_t)n * sizeof *v);
}

/* Room for n values in the scratch (twice: values and a merge buffer). */
static int scratch_room(const td_aggx *x, int64_t n, td_error *err) {
  xscratch *s = x->scr;
  if (2 * n > s->cap) {
    int64_t cap = 2 * n + 16;
    xval *v = td_realloc(s->vals, (size_t)cap * sizeof *v);
    if (!v) return td_err_nomem(err, "sorting the values of a group");
    s->vals = v;
    s->cap = cap;
  }
  return TD_OK;
}

/* Group g's values, sorted, in x->scr->vals[0 .. n). */
static int sorted_values(const td_aggx *x, uint32_t g, int64_t *n, td_error *err) {
  xscratch *s = x->scr;
  *n = x->cnt[g];
  int rc = scratch_room(x, *n, err);
  if (rc) return rc;
  int64_t k = 0;
  for (uint32_t e = x->head[g]; e != NO_ENT; e = x->ents[e].next) s->vals[k++] = x->ents[e].v;
  sort_vals(x, s->vals, s->vals + *n, *n);
  return TD_OK;
}

static double as_double(const td_aggx *x, const xval *v) {
  switch (x->ph) {
    case TD_PHYS_F64: return v->f;
    case TD_PHYS_D128: return (double)v->d / (double)td_dec_pow10(x->scale);
    default: return (double)v->i;
  }
}

/* Where the quantile of n values (n > 0) lies in their sorted order,
 * DuckDB's rules: discrete: the value at ceil(n * q) - 1 (at least 0), lo
 * == hi; continuous: the linear interpolation at (n - 1) * q, between lo
 * and hi at fraction d. */
static void quantile_pos(const td_aggx *x, int64_t n, int64_t *lo, int64_t *hi, double *d) {
  if (x->kind == TD_AGG_QUANTILE_DISC) {
    double nq = (double)n * x->q, rn = nearbyint(nq);
    if (fabs(nq - rn) < 1e-9 * (double)n) nq = rn; /* 0.3 * 10 is 3, not 3.0000000000000004 */
    int64_t i = (int64_t)ceil(nq) - 1;
    *lo = *hi = i < 0 ? 0 : i >= n ? n - 1 : i;
    *d = 0;
    return;
  }
  double rn = (double)(n - 1) * x->q, fl = floor(rn);
  *d = rn - fl;
  *lo = (int64_t)fl;
  *hi = (int64_t)ceil(rn);
  if (*hi >= n) *hi = n - 1;
}

/* The quantile from the values a at lo and b at hi (quantile_pos); types
 * without interpolation (strings, bool) take the lower value. */
static void quantile(const td_aggx *x, const xval *a, const xval *b, bool same, double d, td_type_id out_t, xval *r) {
  if (x->kind == TD_AGG_QUANTILE_DISC) {
    *r = *a;
    return;
  }
  if (out_t == TD_TYPE_FLOAT64 && x->ph != TD_PHYS_F64) { /* integers */
    double fa = (double)a->i, fb = (double)b->i;
    r->f = same ? fa : fa + d * (fb - fa);
    return;
  }
  *r = *a;
  if (same) return;
  switch (x->ph) {
    case TD_PHYS_F64: r->f = a->f + d * (b->f - a->f); break;
    /* the difference in double: it may not fit the type */
    case TD_PHYS_I64: { /* rounded half away from zero; at most b (double rounding), no overflow */
      const double dd = round(d * ((double)b->i - (double)a->i)); /* in [0, 2^64] */
      const uint64_t span = (uint64_t)b->i - (uint64_t)a->i, du = dd >= 0x1p64 ? UINT64_MAX : (uint64_t)dd;
      r->i = du >= span ? b->i : (int64_t)((uint64_t)a->i + du);
      break;
    }
    case TD_PHYS_D128: /* truncated toward zero, as DuckDB */
      r->d = a->d + (td_i128)(d * ((double)b->d - (double)a->d));
      break;
    default: break; /* strings, bool: the lower value */
  }
}

static int cmp_i64(const void *a, const void *b) {
  const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Reorders a[0 .. n) so that a[k] is the value sorted order puts there,
 * none before it greater, none after it smaller (introselect: Hoare
 * partitions around a median of three, a sort when they stop halving). */
static void select_nth(int64_t *a, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n - 1;
  int budget = 8;
  for (int64_t m = n; m > 1; m >>= 1) budget += 2;
  while (hi > lo) {
    if (hi - lo < 16 || budget-- == 0) {
      qsort(a + lo, (size_t)(hi - lo + 1), sizeof *a, cmp_i64);
      return;
    }
    const int64_t mid = lo + (hi - lo) / 2, x = a[lo], y = a[mid], z = a[hi];
    const int64_t p = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        const int64_t t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    /* a[lo .. j] <= p, a[i .. hi] >= p, between them p */
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/* The quantile of typed group g: its values are selected in place (their
 * order is no part of the state). */
static void typed_quantile(const td_aggx *x, uint32_t g, td_type_id t, xval *r) {
  const int64_t n = x->cnt[g];
  int64_t *a = x->tv[g], lo, hi;
  double d;
  quantile_pos(x, n, &lo, &hi, &d);
  select_nth(a, n, lo);
  int64_t b = a[lo];
  if (hi != lo) { /* the least value after lo's */
    b = a[lo + 1];
    for (int64_t i = lo + 2; i < n; i++) b = a[i] < b ? a[i] : b;
  }
  const xval va = key_val(x, a[lo]), vb = key_val(x, b);
  quantile(x, &va, &vb, hi == lo, d, t, r);
}

/* Mode: group g's most frequent value, the first seen (the oldest entry:
 * the chain runs newest first) on ties.  Entropy: DuckDB's sum over the
 * values of (c / n) * log2(n / c), n the group's non-null rows, in the
 * entries' order (first seen first: the same at any thread count). */
static void counted(const td_aggx *x, uint32_t g, xval *r) {
  if (x->kind == TD_AGG_MODE) {
    uint32_t best = NO_ENT;
    for (uint32_t e = x->head[g]; e != NO_ENT; e = x->ents[e].next)
      if (best == NO_ENT || x->ecnt[e] >= x->ecnt[best]) best = e;
    *r = x->ents[best].v;
    return;
  }
  int64_t n = 0;
  for (uint32_t e = x->head[g]; e != NO_ENT; e = x->ents[e].next) n += x->ecnt[e];
  /* the entries oldest first: the chain reversed into the scratch */
  uint32_t *ord = (uint32_t *)x->scr->vals;
  int64_t k = x->cnt[g];
  for (uint32_t e = x->head[g]; e != NO_ENT; e = x->ents[e].next) ord[--k] = e;
  double s = 0, dn = (double)n;
  for (int64_t i = 0; i < x->cnt[g]; i++) {
    const double c = (double)x->ecnt[ord[i]];
    s += (c / dn) * log2(dn / c);
  }
  r->f = s;
}

static int compute(const td_aggx *x, uint32_t g, td_type_id t, td_error *err) {
  if (counts_values(x->kind)) {
    int rc = scratch_room(x, x->cnt[g], err);
    if (rc) return rc;
    memset(&x->cache[g], 0, sizeof x->cache[g]);
    counted(x, g, &x->cache[g]);
    x->cstate[g] = 1;
    return TD_OK;
  }
  if (x->typed) {
    memset(&x->cache[g], 0, sizeof x->cache[g]);
    typed_quantile(x, g, t, &x->cache[g]);
    x->cstate[g] = 1;
    return TD_OK;
  }
  int64_t n;
  int rc = sorted_values(x, g, &n, err);
  if (rc) return rc;
  const xval *v = x->scr->vals;
  xval *r = &x->cache[g];
  memset(r, 0, sizeof *r);
  if (x->kind == TD_AGG_QUANTILE_CONT || x->kind == TD_AGG_QUANTILE_DISC) {
    int64_t lo, hi;
    double d;
    quantile_pos(x, n, &lo, &hi, &d);
    quantile(x, &v[lo], &v[hi], lo == hi, d, t, r);
  } else if (x->ph == TD_PHYS_F64 || x->kind == TD_AGG_AVG_DISTINCT) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += as_double(x, &v[i]);
    r->f = x->kind == TD_AGG_AVG_DISTINCT ? s / (double)n : s;
  } else if (x->ph == TD_PHYS_D128) {
    td_i128 s = 0;
    bool ovf = false;
    for (int64_t i = 0; i < n; i++) ovf |= __builtin_add_overflow(s, v[i].d, &s);
    if (ovf || !td_dec_fits(s, TD_DECIMAL128_MAX_PRECISION))
      return td_err(err, TD_ERANGE, "sum(DISTINCT ...) exceeds 38 decimal digits");
    r->d = s;
  } else {
    int64_t s = 0;
    bool ovf = false;
    for (int64_t i = 0; i < n; i++) ovf |= __builtin_add_overflow(s, v[i].i, &s);
    if (ovf) return td_err(err, TD_ERANGE, "sum(DISTINCT ...) does not fit in int64");
    r->i = s;
  }
  x->cstate[g] = 1;
  return TD_OK;
}

static int64_t hll_estimate(const uint8_t *reg) {
  if (!reg) return 0;
  double sum = 0;
  int zeros = 0;
  for (int i = 0; i < HLL_M; i++) {
    sum += ldexp(1.0, -reg[i]);
    zeros += reg[i] == 0;
  }
  double m = HLL_M, e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
  if (e <= 2.5 * m && zeros) e = m * log(m / zeros); /* linear counting for small sets */
  return llround(e);
}

/* string_agg(DISTINCT): group g's distinct values, sorted (the same at any
 * thread count and in any row order), joined by the separator into
 * str[g] (kept until a new value comes: new_entry marks the group stale). */
static int join_distinct(const td_aggx *x, uint32_t g, td_error *err) {
  int64_t n;
  int rc = sorted_values(x, g, &n, err);
  if (rc) return rc;
  const xval *v = x->scr->vals;
  size_t need = 1;
  for (int64_t i = 0; i < n; i++) need += v[i].s.len + (i ? x->sep_len : 0);
  if (need > x->scap[g]) {
    char *q = td_realloc(x->str[g], need);
    if (!q) return td_err_nomem(err, "joining distinct strings");
    x->str[g] = q;
    x->scap[g] = need;
  }
  char *o = x->str[g];
  for (int64_t i = 0; i < n; i++) {
    if (i) {
      memcpy(o, x->sep, x->sep_len);
      o += x->sep_len;
    }
    if (v[i].s.len) memcpy(o, sptr(x, &v[i]), v[i].s.len);
    o += v[i].s.len;
  }
  x->slen[g] = (size_t)(o - x->str[g]);
  x->cstate[g] = 1;
  return TD_OK;
}

int td__aggx_value(const td_aggx *x, uint32_t g, td_value *out, td_error *err) {
  td_type_id t = td_agg_result_type(x->kind, x->type);
  switch (x->kind) {
    case TD_AGG_COUNT_DISTINCT: *out = td_value_int(TD_TYPE_INT64, x->cnt[g]); return TD_OK;
    case TD_AGG_APPROX_DISTINCT: *out = td_value_int(TD_TYPE_INT64, hll_estimate(x->reg[g])); return TD_OK;
    case TD_AGG_STRING_AGG_DISTINCT:
      if (!x->cnt[g]) {
        *out = td_value_null(t);
        return TD_OK;
      }
      if (x->cstate[g] == 0) {
        int rc = join_distinct(x, g, err);
        if (rc) return rc;
      }
      /* fall through */ /* str[g] holds the joined values */
    case TD_AGG_STRING_AGG:
      if (!x->str[g]) *out = td_value_null(t);
      else {
        *out = td_value_null(t);
        out->is_null = false;
        out->v.s.ptr = x->str[g];
        out->v.s.len = x->slen[g];
      }
      return TD_OK;
    default: break;
  }
  if (x->cnt[g] == 0) { /* entropy of no value: 0 (DuckDB) */
    *out = x->kind == TD_AGG_ENTROPY ? td_value_double(TD_TYPE_FLOAT64, 0) : td_value_null(t);
    return TD_OK;
  }
  if (x->cstate[g] == 0) {
    int rc = compute(x, g, t, err);
    if (rc) return rc;
  }
  *out = from_val(x, &x->cache[g], t);
  return TD_OK;
}

/* ---- binding ---- */

void td__agg_arity(td_agg_kind kind, const char *name, int *lo, int *hi) {
  *lo = *hi = 1;
  if (td_agg_joins_text(kind)) *hi = 2;
  else if (td_agg_two_inputs(kind)) *lo = *hi = 2;
  else if ((kind == TD_AGG_QUANTILE_CONT || kind == TD_AGG_QUANTILE_DISC) && strcmp(name, "median") != 0)
    *lo = *hi = 2;
}

static bool has_column(const td_expr *e) {
  if (e->kind == TD_EXPR_COLUMN) return true;
  for (int64_t i = 0; i < e->n_args; i++)
    if (has_column(e->args[i])) return true;
  return false;
}

static int dec_scale(const char *param) {
  int p, s;
  return param && td_dec_params(param, &p, &s) ? s : 0;
}

int td__agg_bind_param(const td_expr *e, td_agg_kind kind, td_agg_param *p, td_error *err) {
  memset(p, 0, sizeof *p);
  p->q = 0.5;
  if (e->n_args < 2 || td_agg_two_inputs(kind)) return TD_OK; /* not a parameter */
  const td_expr *a = e->args[1];
  td_expr *b = NULL;
  td_schema none;
  td_schema_init(&none);
  int rc = has_column(a) ? TD_OK : td_expr_bind(a, &none, 0, &b, err);
  td_schema_reset(&none);
  if (rc) return rc;
  if (!b || b->kind != TD_EXPR_LITERAL || b->lit.is_null) {
    rc = td_err_at(err, TD_ETYPE, a->pos, "the %s of %s must be a constant at offset %lld",
                   td_agg_joins_text(kind) ? "separator" : "quantile", e->name, (long long)a->pos);
  } else if (td_agg_joins_text(kind)) {
    if (!td_type_is_text(b->type))
      rc = td_err_at(err, TD_ETYPE, a->pos, "the separator of string_agg must be a string, found %s at offset %lld",
                     td_type_name(b->type), (long long)a->pos);
    else if (!(p->sep = td_malloc(b->lit.v.s.len + 1)))
      rc = td_err_nomem(err, "binding string_agg");
    else {
      memcpy((char *)p->sep, b->lit.v.s.ptr, b->lit.v.s.len);
      ((char *)p->sep)[b->lit.v.s.len] = 0;
      p->sep_len = b->lit.v.s.len;
    }
  } else {
    bool num = td_type_is_integer(b->type) || td_type_is_float(b->type) || b->type == TD_TYPE_DECIMAL128;
    double q = !num                            ? NAN
               : td_type_is_float(b->type)     ? b->lit.v.f
               : b->type == TD_TYPE_DECIMAL128 ? (double)td_dec_of(&b->lit) / (double)td_dec_pow10(dec_scale(b->tz))
                                               : (double)b->lit.v.i;
    if (!num)
      rc = td_err_at(err, TD_ETYPE, a->pos, "the quantile of %s must be a number, found %s at offset %lld", e->name,
                     td_type_name(b->type), (long long)a->pos);
    else if (!(q >= 0 && q <= 1))
      rc = td_err_at(err, TD_ETYPE, a->pos, "the quantile of %s must be between 0 and 1, found %g at offset %lld",
                     e->name, q, (long long)a->pos);
    else p->q = q;
  }
  td_expr_free(b);
  return rc;
}
