/*
 * query/join.c - joins of two tables as derived tables: hash joins (inner,
 * left, full, semi, anti, natural) and as-of joins (aj, raj), behind
 * tabledata/join.h.
 *
 * The operator is a derived table over the left table (table/derived.c
 * feeds it the left side's deltas) with a second listener on a refreshing
 * right table.  It keeps both sides' rows as contiguous column copies
 * (`store`) and an index of the right side by key (`kindex`: an open-
 * addressing table of key groups, each chaining its right rows in row
 * order; as-of joins also keep each group's (on value, row) pairs sorted).
 *   - left rows appended: joined against the index, output appended;
 *   - right changed: its new rows enter the index (a replaced right side is
 *     reloaded), then the whole result is recomputed from the left store;
 *   - full join: every change recomputes (an appended left row may match a
 *     right row that was listed unmatched).
 * Output rows are built by gathering left and right rows by index (-1: a
 * null row) into new arrays: one chunk per apply.  An as-of left join on a
 * static right side keeps no left rows (pass_fixed).  A static join (neither
 * side refreshing, not full) keeps no left copy: workers probe the left
 * snapshot's pages where they lie and gather a chunk per page (static_join).
 */
#include "tabledata/join.h"

#include <ctype.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/dict.h"
#include "query/join.h"
#include "query/ops.h"
#include "query/par.h"
#include "table/update.h"
#include "util/alloc.h"
#include "util/error.h"

#define TD_JOIN_MAX_KEYS 64

typedef enum jkind { J_HASH, J_AJ, J_RAJ } jkind;
typedef enum kclass { KC_INT, KC_FLOAT, KC_STR } kclass;

/* Every column of one side, copied contiguously, in arrival order. */
typedef struct store {
  int64_t n_cols, n;
  td_array *cols;
  td_colview *views;
} store;

/* Longest string key a group holds inline. */
#define TD_JOIN_INLINE_KEY 16

/* One key group of the right side.  A single integer key, or a single
 * string key of at most TD_JOIN_INLINE_KEY bytes, is held in the group
 * itself (`inl`): a probe then compares against the group, not against the
 * right store's row `rep` (a cache miss per probed row). */
typedef struct group {
  /* what a probe and a live as-of match read: the first 64 bytes */
  uint64_t hash;
  union {
    int64_t i;
    char s[TD_JOIN_INLINE_KEY];   /* zero-padded */
    uint64_t w[TD_JOIN_INLINE_KEY / 8]; /* the same bytes, compared a word at a time */
  } key;
  uint8_t klen;
  bool inl;
  bool rep_left; /* `rep` is a left row (as-of joins index left keys too) */
  /* as-of left joins: */
  bool lsorted;         /* the group's left rows came in on-value order */
  bool rend;            /* the right pairs are sorted and end_ts, end_row hold */
  int64_t ltail, llast; /* its last left row (-1: none) and that row's on value */
  int64_t end_ts, end_row; /* the last (aj) or first (raj) right pair */
  int64_t rep;          /* a right row with this key (for comparisons) */
  int64_t head, tail, count;
} group;

/* As-of joins, per group: (on value, row) pairs, sorted when `sorted`.
 * When sorted, first/last hold the first and last pair, so that a live
 * probe past either end (the usual case) reads no pair array. */
typedef struct asof_vec {
  int64_t *ts, *rows, n, cap;
  bool sorted;
  int64_t first_ts, first_row, last_ts, last_row;
  /* right vectors of a live as-of join: the pairs before this sync's new
   * rows (n_old, still sorted) and the new rows' least and greatest value */
  bool touched;
  int64_t n_old, new_min, new_max;
} asof_vec;

typedef struct kindex {
  group *g;
  asof_vec *av;      /* as-of joins: one per group */
  int64_t *touched;  /* as-of left joins: groups given right rows by this sync */
  int64_t n_touched;
  int64_t n_groups, cap_groups;
  /* per slot: the group's hash's high 32 bits (a tag) and group + 1; 0 =
   * empty.  A probe passes over other keys' slots by their tags without
   * reading their groups (each a cache miss). */
  uint64_t *slots;
  int64_t n_slots; /* a power of two */
  int64_t *next;   /* per right row: the next row of its group, -1 */
  int64_t cap_next;
} kindex;

typedef struct join_op {
  jkind kind;
  td_join_type type;
  td_table *right;
  int64_t right_listener;
  bool right_reset;   /* reload the right side at the next apply */
  bool right_changed; /* the next apply recomputes from the stores */
  int64_t n_keys;
  int64_t lkey[TD_JOIN_MAX_KEYS], rkey[TD_JOIN_MAX_KEYS];
  kclass cls[TD_JOIN_MAX_KEYS];
  int64_t lon, ron; /* as-of columns */
  bool strict;      /* as-of: > (aj) or < (raj) instead of >= / <= */
  store L, R;
  kindex ix;
  int64_t *rloaded; /* a source right table: rows loaded per region */
  int64_t n_rloaded;
  int64_t *out_right; /* right columns in the result, -1 ended */
  int64_t n_out_right;
  /* As-of left joins on a refreshing left side: per right column of the
   * result, the slab that appended rows' values go into (table.h). */
  td_slab *slabs;
  bool *full_key;     /* per left column: a key column (full join coalesces) */
  int64_t *full_rkey; /* its right column */
  /* As-of left joins (aj, raj): one result row per left row, in order, so
   * result position == left row.  The left store keeps only the key and on
   * columns; the result's left columns are views of the left table's
   * pages; lmatch[i] is left row i's right row (-1: none). */
  bool pass;
  bool *lneed; /* per left column: copied into the left store */
  int64_t *lmatch;
  int64_t *lprev; /* per left row: the group's previous left row, -1 */
  int64_t cap_lmatch;
  /* As-of left joins on a static right side (`fixed`): no right rows ever
   * come, so no left row is kept: each appended chunk's key and on columns
   * are copied into the scratch store S, matched into smatch (both reused
   * every cycle) and gathered; n_left counts the left rows joined. */
  bool fixed;
  store S;
  int64_t *smatch, cap_smatch, n_left;
  bool static_done; /* static_join made the result (the left store is empty) */
  td_dict **rdict;  /* static joins: per right output column, its rows as a dictionary (set_right_codes) */
  bool deferred; /* td__join_deferred: a lazy table (made when first read) */
  /* static probes (one_rows): per group, its one right row, -3: several
   * (what a dictionary memo's entries take without reading the groups) */
  int32_t *one_row;
  int64_t n_one_row;
  /* static hash joins on one string key (one_rows): the groups of keys of
   * at most 8 bytes by their bytes, one slot read a dictionary entry */
  struct word_slot *wix;
  uint64_t wix_mask; /* slots - 1; 0: none */
  int wix_shift;
} join_op;

/* ---- stores ---- */

static void store_views(store *s) {
  for (int64_t i = 0; i < s->n_cols; i++) {
    const td_array *a = &s->cols[i];
    td_colview *v = &s->views[i];
    memset(v, 0, sizeof *v);
    v->type = a->type;
    v->length = a->length;
    v->null_count = a->null_count;
    v->validity = a->validity;
    v->values = a->values;
    v->offsets = a->offsets;
    v->data = a->data;
  }
}

static int store_init(store *s, const td_schema *def, td_error *err) {
  s->n_cols = def->n_fields;
  s->n = 0;
  s->cols = td_calloc((size_t)s->n_cols + 1, sizeof *s->cols);
  s->views = td_calloc((size_t)s->n_cols + 1, sizeof *s->views);
  if (!s->cols || !s->views) return td_err_nomem(err, "creating a join");
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < s->n_cols; i++) rc = td_array_init(&s->cols[i], def->fields[i].type, 0, err);
  store_views(s);
  return rc;
}

static void store_reset(store *s) {
  for (int64_t i = 0; s->cols && i < s->n_cols; i++) td_array_reset(&s->cols[i]);
  td_free(s->cols);
  td_free(s->views);
  memset(s, 0, sizeof *s);
}

static void store_clear(store *s) {
  for (int64_t i = 0; i < s->n_cols; i++) {
    td_array *a = &s->cols[i];
    td_type_id t = a->type;
    td_array_reset(a);
    a->type = t;
  }
  s->n = 0;
  store_views(s);
}

/* Empties the store, keeping its buffers (a scratch store reused every cycle). */
static void store_truncate(store *s) {
  for (int64_t i = 0; i < s->n_cols; i++) {
    td_array *a = &s->cols[i];
    a->length = a->null_count = a->data_length = 0;
    td_free(a->validity);
    a->validity = NULL;
  }
  s->n = 0;
  store_views(s);
}

/* Makes room for n more rows in the columns `need` marks (NULL: all). */
static int store_reserve(store *s, const bool *need, int64_t n, td_error *err) {
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < s->n_cols; i++) { /* grow geometrically: appends stay linear */
    td_array *a = &s->cols[i];
    int64_t want = a->length + n;
    if ((!need || need[i]) && want > a->capacity)
      rc = td_array_reserve(a, want > 2 * a->capacity ? want : 2 * a->capacity, err);
  }
  return rc;
}

/* Appends a scanned chunk's rows: the columns `need` marks (NULL: all). */
static int store_append(store *s, const bool *need, const td_chunk *ch, td_error *err) {
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < s->n_cols; i++)
    if (!need || need[i])
      rc = ch->consts[i] ? td_array_append_const(&s->cols[i], ch->consts[i], ch->length, err)
                         : td_array_append_view(&s->cols[i], &ch->views[i], 0, ch->length, err);
  if (rc == TD_OK) s->n += ch->length;
  store_views(s);
  return rc;
}

/* Appends positions [begin, end) of `snap` of table `t`. */
static int store_load(store *s, td_table *t, td_snapshot *snap, int64_t begin, int64_t end, td_error *err) {
  td_scan sc;
  int rc = store_reserve(s, NULL, end - begin, err);
  if (rc == TD_OK) rc = td_scan_init(&sc, t, snap, NULL, 0, begin, end, err);
  else return rc;
  while (rc == TD_OK) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    rc = store_append(s, NULL, &ch, err);
  }
  td_scan_release(&sc);
  store_views(s);
  return rc;
}

/* ---- keys ---- */

static uint64_t mix(uint64_t h, uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 33);
}

#define TD_JOIN_HASH_SEED 0x84222325cbf29ce4ull

/* What key_hash mixes for a string key (FNV-1a and the length). */
static inline uint64_t str_hash(const char *p, int64_t len) {
  uint64_t x = 0xcbf29ce484222325ull;
  for (int64_t j = 0; j < len; j++) x = (x ^ (uint8_t)p[j]) * 0x100000001b3ull;
  return x ^ (uint64_t)len;
}

/* The hash of row i's key; false when a key column is null. */
static bool key_hash(const join_op *op, const store *s, const int64_t *kc, int64_t i, uint64_t *out) {
  uint64_t h = TD_JOIN_HASH_SEED;
  for (int64_t k = 0; k < op->n_keys; k++) {
    const td_colview *v = &s->views[kc[k]];
    if (!td_colview_valid(v, i)) return false;
    switch (op->cls[k]) {
      case KC_INT: h = mix(h, (uint64_t)td_colview_int(v, i)); break;
      case KC_FLOAT: {
        double d = td_colview_double(v, i);
        if (d == 0) d = 0;
        if (isnan(d)) d = NAN;
        uint64_t b;
        memcpy(&b, &d, sizeof b);
        h = mix(h, b);
        break;
      }
      default: {
        int64_t len;
        const char *p = td_colview_str(v, i, &len);
        h = mix(h, str_hash(p, len));
        break;
      }
    }
  }
  *out = h;
  return true;
}

static bool key_eq(const join_op *op, const store *a, const int64_t *ac, int64_t ai, const store *b,
                   const int64_t *bc, int64_t bi) {
  for (int64_t k = 0; k < op->n_keys; k++) {
    const td_colview *x = &a->views[ac[k]], *y = &b->views[bc[k]];
    switch (op->cls[k]) {
      case KC_INT:
        if (td_colview_int(x, ai) != td_colview_int(y, bi)) return false;
        break;
      case KC_FLOAT: {
        double p = td_colview_double(x, ai), q = td_colview_double(y, bi);
        if (!(p == q || (isnan(p) && isnan(q)))) return false;
        break;
      }
      default: {
        int64_t lp, lq;
        const char *p = td_colview_str(x, ai, &lp), *q = td_colview_str(y, bi, &lq);
        if (lp != lq || memcmp(p, q, (size_t)lp) != 0) return false;
        break;
      }
    }
  }
  return true;
}

/* Row i of store `s` (key columns kc) has group g's key (null checked by
 * the caller's key_hash). */
static bool group_eq(const join_op *op, const group *g, const store *s, const int64_t *kc, int64_t i) {
  if (!g->inl)
    return g->rep_left ? key_eq(op, s, kc, i, &op->L, op->lkey, g->rep) : key_eq(op, s, kc, i, &op->R, op->rkey, g->rep);
  const td_colview *v = &s->views[kc[0]];
  if (op->cls[0] == KC_INT) return td_colview_int(v, i) == g->key.i;
  int64_t len;
  const char *p = td_colview_str(v, i, &len);
  return len == g->klen && memcmp(p, g->key.s, (size_t)len) == 0;
}

/* Holds row r's key (store s, key columns kc) in group g when it is short enough. */
static void group_hold_key(const join_op *op, group *g, const store *s, const int64_t *kc, int64_t r) {
  g->inl = false;
  if (op->n_keys != 1) return;
  const td_colview *v = &s->views[kc[0]];
  if (op->cls[0] == KC_INT) {
    g->key.i = td_colview_int(v, r);
    g->inl = true;
  } else if (op->cls[0] == KC_STR) {
    int64_t len;
    const char *p = td_colview_str(v, r, &len);
    if (len > TD_JOIN_INLINE_KEY) return;
    memcpy(g->key.s, p, (size_t)len);
    g->klen = (uint8_t)len;
    g->inl = true;
  }
}

/* A single short string key (the usual symbol) as pass_left reads it: its
 * bytes zero-padded into words, compared with a group's inline key a word
 * at a time; len -1: longer than an inline key. */
typedef struct short_key {
  uint64_t w[TD_JOIN_INLINE_KEY / 8];
  int64_t len;
} short_key;

/* Row i of string view v: its key words and its hash (key_hash's, one key). */
static inline void short_hash(const td_colview *v, int64_t i, short_key *k, uint64_t *h) {
  int64_t len;
  const char *p = td_colview_str(v, i, &len);
  k->w[0] = k->w[1] = 0;
  k->len = len <= TD_JOIN_INLINE_KEY ? len : -1;
  if (k->len >= 0) memcpy(k->w, p, (size_t)len);
  *h = mix(TD_JOIN_HASH_SEED, str_hash(p, len));
}

static inline uint64_t slot_make(uint64_t h, int64_t g) {
  return (h & 0xffffffff00000000ULL) | (uint64_t)(g + 1);
}
static inline bool slot_tagged(uint64_t e, uint64_t h) { return (e >> 32) == (h >> 32); }
static inline int64_t slot_group(uint64_t e) { return (int64_t)(uint32_t)e - 1; }

/* The group of a row of store `s` (key columns kc, hash h), or -1.  With k
 * (the row's single short string key), inline group keys are compared a
 * word at a time. */
static inline int64_t ix_find(const join_op *op, const store *s, const int64_t *kc, int64_t i, uint64_t h,
                              const short_key *k) {
  const kindex *x = &op->ix;
  if (!x->n_slots) return -1;
  for (int64_t p = (int64_t)(h & (uint64_t)(x->n_slots - 1));; p = (p + 1) & (x->n_slots - 1)) {
    uint64_t e = x->slots[p];
    if (!e) return -1;
    if (!slot_tagged(e, h)) continue;
    const group *g = &x->g[slot_group(e)];
    if (g->hash != h) continue;
    if (k && g->inl ? g->klen == k->len && g->key.w[0] == k->w[0] && g->key.w[1] == k->w[1]
                    : group_eq(op, g, s, kc, i))
      return slot_group(e);
  }
}

/* The first group whose slot has hash h's tag (most likely h's group), or
 * -1: what a block's lookups prefetch. */
static inline int64_t ix_hint(const kindex *x, uint64_t h) {
  for (int64_t p = (int64_t)(h & (uint64_t)(x->n_slots - 1));; p = (p + 1) & (x->n_slots - 1)) {
    uint64_t e = x->slots[p];
    if (!e) return -1;
    if (slot_tagged(e, h)) return slot_group(e);
  }
}

#if defined(__GNUC__) || defined(__clang__)
#define TD_JOIN_PREFETCH(p) __builtin_prefetch(p)
#else
#define TD_JOIN_PREFETCH(p) ((void)(p))
#endif

/* Fetches the slot a probe of hash h reads first (ok false: no probe). */
static inline void prefetch_slot(const kindex *x, bool ok, uint64_t h) {
  if (ok && x->n_slots) TD_JOIN_PREFETCH(&x->slots[h & (uint64_t)(x->n_slots - 1)]);
}

/* Fetches the group a probe of hash h most likely reads: its first 64
 * bytes (what a probe and a live match read), which may span two lines. */
static inline void prefetch_group(const kindex *x, bool ok, uint64_t h) {
  int64_t g = ok && x->n_slots ? ix_hint(x, h) : -1;
  if (g < 0) return;
  TD_JOIN_PREFETCH(&x->g[g]);
  TD_JOIN_PREFETCH((const char *)&x->g[g] + 63);
}

/* Rows are hashed and looked up a block at a time: the block's slots, then
 * the groups they name, are prefetched before any row is probed, so the
 * cache misses of a large index overlap instead of following one another. */
#define TD_JOIN_BLOCK 32

/* The hashes of rows [i, i + n) of store `s` (ok[k] false: a null key),
 * their slots and groups prefetched. */
static void hash_block(const join_op *op, const store *s, const int64_t *kc, int64_t i, int64_t n, uint64_t *h,
                       bool *ok) {
  const kindex *x = &op->ix;
  for (int64_t k = 0; k < n; k++) {
    ok[k] = key_hash(op, s, kc, i + k, &h[k]);
    prefetch_slot(x, ok[k], h[k]);
  }
  for (int64_t k = 0; k < n; k++) prefetch_group(x, ok[k], h[k]);
}

static int ix_grow_slots(kindex *x, td_error *err) {
  int64_t n = x->n_slots ? x->n_slots * 2 : 64;
  uint64_t *sl = td_calloc((size_t)n, sizeof *sl);
  if (!sl) return td_err_nomem(err, "indexing a join");
  for (int64_t g = 0; g < x->n_groups; g++) {
    int64_t p = (int64_t)(x->g[g].hash & (uint64_t)(n - 1));
    while (sl[p]) p = (p + 1) & (n - 1);
    sl[p] = slot_make(x->g[g].hash, g);
  }
  td_free(x->slots);
  x->slots = sl;
  x->n_slots = n;
  return TD_OK;
}

static void ix_reset(kindex *x) {
  for (int64_t g = 0; x->av && g < x->n_groups; g++) {
    td_free(x->av[g].ts);
    td_free(x->av[g].rows);
  }
  td_free(x->av);
  td_free(x->touched);
  td_free(x->g);
  td_free(x->slots);
  td_free(x->next);
  memset(x, 0, sizeof *x);
}

/* Whether pair (ta, ra) comes before (tb, rb): by on value, then row. */
static inline bool pair_before(int64_t ta, int64_t ra, int64_t tb, int64_t rb) {
  return ta < tb || (ta == tb && ra < rb);
}

/* Sorts a group's (on value, row) pairs by on value, then row: a bottom-up
 * merge of the runs already in order (a right side's on values mostly
 * arrive in order, in long runs), through one scratch pair of arrays. */
static int group_sort(asof_vec *g, td_error *err) {
  int64_t n = g->n;
  bool in_order = true;
  for (int64_t i = 1; i < n && in_order; i++)
    in_order = pair_before(g->ts[i - 1], g->rows[i - 1], g->ts[i], g->rows[i]);
  if (!in_order) {
    int64_t *buf = td_malloc((size_t)(3 * n + 2) * sizeof *buf);
    if (!buf) return td_err_nomem(err, "sorting an as-of join's right side");
    int64_t *ts = g->ts, *rows = g->rows, *ts2 = buf, *rows2 = buf + n, *runs = buf + 2 * n, n_runs = 0;
    runs[n_runs++] = 0;
    for (int64_t i = 1; i < n; i++)
      if (!pair_before(ts[i - 1], rows[i - 1], ts[i], rows[i])) runs[n_runs++] = i;
    runs[n_runs] = n;
    while (n_runs > 1) { /* merge runs 2k and 2k + 1 from (ts, rows) into (ts2, rows2) */
      int64_t m = 0;
      for (int64_t k = 0; k < n_runs; k += 2) {
        int64_t a = runs[k], ae = runs[k + 1], b = ae, be = k + 1 < n_runs ? runs[k + 2] : ae, o = a;
        while (a < ae && b < be) {
          bool left = !pair_before(ts[b], rows[b], ts[a], rows[a]);
          int64_t at = left ? a++ : b++;
          ts2[o] = ts[at], rows2[o++] = rows[at];
        }
        for (; a < ae; a++) ts2[o] = ts[a], rows2[o++] = rows[a];
        for (; b < be; b++) ts2[o] = ts[b], rows2[o++] = rows[b];
        runs[m++] = runs[k];
      }
      runs[m] = n;
      n_runs = m;
      int64_t *t = ts; ts = ts2, ts2 = t;
      t = rows, rows = rows2, rows2 = t;
    }
    if (ts != g->ts) {
      memcpy(g->ts, ts, (size_t)n * sizeof *ts);
      memcpy(g->rows, rows, (size_t)n * sizeof *rows);
    }
    td_free(buf);
  }
  g->sorted = true;
  if (n > 0) {
    g->first_ts = g->ts[0], g->first_row = g->rows[0];
    g->last_ts = g->ts[n - 1], g->last_row = g->rows[n - 1];
  }
  return TD_OK;
}

/* Grows the two parallel arrays *a and *b to cap entries each. */
static int grow_two(int64_t **a, int64_t **b, int64_t cap, td_error *err) {
  int64_t *na = td_realloc(*a, (size_t)cap * sizeof *na);
  if (na) *a = na;
  int64_t *nb = na ? td_realloc(*b, (size_t)cap * sizeof *nb) : NULL;
  if (!nb) return td_err_nomem(err, "joining");
  *b = nb;
  return TD_OK;
}

static int group_push(asof_vec *g, int64_t ts, int64_t row, td_error *err) {
  if (g->n == g->cap) {
    int64_t cap = g->cap ? g->cap * 2 : 4;
    int rc = grow_two(&g->ts, &g->rows, cap, err);
    if (rc) return rc;
    g->cap = cap;
  }
  if (g->n > 0 && ts < g->last_ts) g->sorted = false;
  if (g->n == 0) g->first_ts = ts, g->first_row = row;
  g->last_ts = ts, g->last_row = row; /* until sorted again when !sorted */
  g->ts[g->n] = ts;
  g->rows[g->n++] = row;
  return TD_OK;
}

/* Formats row i's key of store s for messages. */
static void key_text(const join_op *op, const store *s, const int64_t *kc, int64_t i, char *buf, size_t size) {
  size_t at = 0;
  buf[0] = 0;
  for (int64_t k = 0; k < op->n_keys && at + 2 < size; k++) {
    td_value v = td_colview_value(&s->views[kc[k]], i);
    if (k) at += (size_t)snprintf(buf + at, size - at, ", ");
    if (at < size) at += td_value_format(&v, buf + at, size - at);
  }
}

/* A new group for row r of store s (key columns kc, hash h): *out. */
static int ix_new_group(join_op *op, const store *s, const int64_t *kc, int64_t r, uint64_t h, int64_t *out,
                        td_error *err) {
  kindex *x = &op->ix;
  bool on = op->kind != J_HASH;
  if (2 * (x->n_groups + 1) > x->n_slots) {
    int rc = ix_grow_slots(x, err);
    if (rc) return rc;
  }
  if (x->n_groups == x->cap_groups) {
    int64_t cap = x->cap_groups ? x->cap_groups * 2 : 64;
    group *ng = td_realloc(x->g, (size_t)cap * sizeof *ng);
    if (ng) x->g = ng;
    asof_vec *na = ng && on ? td_realloc(x->av, (size_t)cap * sizeof *na) : NULL;
    if (na) x->av = na;
    int64_t *nt = na && op->pass ? td_realloc(x->touched, (size_t)cap * sizeof *nt) : NULL;
    if (nt) x->touched = nt;
    if (!ng || (on && !na) || (op->pass && !nt)) return td_err_nomem(err, "indexing a join");
    x->cap_groups = cap;
  }
  int64_t g = x->n_groups++;
  group *gr = &x->g[g];
  memset(gr, 0, sizeof *gr);
  gr->hash = h;
  gr->rep = r;
  gr->rep_left = s == &op->L;
  gr->head = gr->tail = gr->ltail = -1;
  gr->count = 0;
  gr->lsorted = true;
  group_hold_key(op, gr, s, kc, r);
  if (on) {
    memset(&x->av[g], 0, sizeof x->av[g]);
    x->av[g].sorted = true;
  }
  int64_t p = (int64_t)(h & (uint64_t)(x->n_slots - 1));
  while (x->slots[p]) p = (p + 1) & (x->n_slots - 1);
  x->slots[p] = slot_make(h, g);
  *out = g;
  return TD_OK;
}

/* Adds right rows [from, R.n) to the index. */
static int ix_add(join_op *op, int64_t from, td_error *err) {
  kindex *x = &op->ix;
  int rc = TD_OK;
  if (op->R.n > x->cap_next) {
    int64_t cap = op->R.n * 2;
    int64_t *nx = td_realloc(x->next, (size_t)cap * sizeof *nx);
    if (!nx) return td_err_nomem(err, "indexing a join");
    x->next = nx;
    x->cap_next = cap;
  }
  const td_colview *on = op->kind != J_HASH ? &op->R.views[op->ron] : NULL;
  uint64_t hb[TD_JOIN_BLOCK];
  bool okb[TD_JOIN_BLOCK];
  for (int64_t r = from; rc == TD_OK && r < op->R.n; r++) {
    x->next[r] = -1;
    if ((r - from) % TD_JOIN_BLOCK == 0)
      hash_block(op, &op->R, op->rkey, r, op->R.n - r < TD_JOIN_BLOCK ? op->R.n - r : TD_JOIN_BLOCK, hb, okb);
    uint64_t h = hb[(r - from) % TD_JOIN_BLOCK];
    if (!okb[(r - from) % TD_JOIN_BLOCK]) continue;
    if (on && !td_colview_valid(on, r)) continue;
    int64_t g = ix_find(op, &op->R, op->rkey, r, h, NULL);
    if (g < 0 && (rc = ix_new_group(op, &op->R, op->rkey, r, h, &g, err)) != TD_OK) break;
    group *gr = &x->g[g];
    if (op->type == TD_JOIN_NATURAL && op->kind == J_HASH && gr->tail >= 0) {
      char kb[256];
      key_text(op, &op->R, op->rkey, r, kb, sizeof kb);
      return td_err(err, TD_EINVAL, "natural_join: the right table has more than one row for key (%s)", kb);
    }
    if (gr->tail >= 0) x->next[gr->tail] = r;
    else gr->head = r;
    gr->tail = r;
    gr->count++;
    if (!on) continue;
    int64_t ts = td_colview_int(on, r);
    asof_vec *av = &x->av[g];
    if (op->pass && !av->touched) {
      av->touched = true;
      av->n_old = av->n;
      av->new_min = av->new_max = ts;
      x->touched[x->n_touched++] = g;
    } else if (op->pass) {
      if (ts < av->new_min) av->new_min = ts;
      if (ts > av->new_max) av->new_max = ts;
    }
    rc = group_push(av, ts, r, err);
  }
  return rc;
}

/* ---- matching ---- */

typedef struct pairs {
  int64_t *l, *r;
  int64_t n, cap;
  bool ident; /* probe_rows' dictionary path found each left row from 0 once, in order, with a right row */
} pairs;

/* Room for `more` pairs after p->n. */
static int pairs_reserve(pairs *p, int64_t more, td_error *err) {
  if (p->n + more <= p->cap) return TD_OK;
  int64_t cap = p->cap ? p->cap * 2 : 1024;
  while (cap < p->n + more) cap *= 2;
  int rc = grow_two(&p->l, &p->r, cap, err);
  if (rc == TD_OK) p->cap = cap;
  return rc;
}

static int pairs_push(pairs *p, int64_t l, int64_t r, td_error *err) {
  int rc = pairs_reserve(p, 1, err);
  if (rc) return rc;
  p->ident = false;
  p->l[p->n] = l;
  p->r[p->n++] = r;
  return TD_OK;
}

static void pairs_reset(pairs *p) {
  td_free(p->l);
  td_free(p->r);
  memset(p, 0, sizeof *p);
}

/* The first index of v[0, n) whose value is above x (le: v[i] <= x holds
 * before it) or at least x (!le), v sorted: galloped from index p (a
 * guess: the answer is mostly a few steps on, in the cache lines just
 * read), then bisected. */
static int64_t first_past(const int64_t *v, int64_t n, int64_t x, bool le, int64_t p) {
#define TD_BEFORE(i) (le ? v[i] <= x : v[i] < x)
  int64_t lo, hi, step = 1;
  if (p < n && TD_BEFORE(p)) { /* the answer is past p */
    lo = hi = p + 1;
    while (hi < n && TD_BEFORE(hi)) {
      lo = hi + 1;
      hi = lo + step;
      step *= 2;
    }
    if (hi > n) hi = n;
  } else { /* at or before p */
    hi = p;
    for (;;) {
      int64_t q = hi - step;
      if (q < 0) {
        lo = 0;
        break;
      }
      if (TD_BEFORE(q)) {
        lo = q + 1;
        break;
      }
      hi = q;
      step *= 2;
    }
  }
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (TD_BEFORE(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
#undef TD_BEFORE
}

/* Where on value lts most likely falls in group g (in [0, n]): as if the
 * group's values were spread evenly between its first and last. */
static inline int64_t asof_guess(const asof_vec *g, int64_t lts) {
  double span = (double)g->last_ts - (double)g->first_ts;
  double at = span > 0 ? ((double)lts - (double)g->first_ts) / span * (double)g->n : 0;
  return at <= 0 ? 0 : at >= (double)g->n ? g->n : (int64_t)at;
}

/* The as-of match of on value lts in group g (sorted), or -1.  The search
 * starts where lts falls between the group's first and last values, as if
 * they were spread evenly (on values such as times mostly are): a group of
 * thousands of pairs, past the caches, is then read at one or two places
 * instead of a bisection's dozen. */
static int64_t asof_find(const join_op *op, const asof_vec *g, int64_t lts) {
  if (g->n == 0) return -1;
  /* Live data asks mostly for the latest (aj) or earliest (raj) entry. */
  if (op->kind == J_AJ && g->last_ts <= lts) return g->last_row;
  if (op->kind == J_RAJ && g->first_ts >= lts) return g->first_row;
  bool aj = op->kind == J_AJ; /* aj: the last pair with ts <= lts; raj: the first with ts >= lts */
  int64_t lo = first_past(g->ts, g->n, lts, aj, asof_guess(g, lts));
  if (aj) return lo > 0 ? g->rows[lo - 1] : -1;
  return lo < g->n ? g->rows[lo] : -1;
}

/* The as-of match of on value lts in group g (sorted here if needed): *r,
 * -1 when none. */
static int asof_match(const join_op *op, asof_vec *g, int64_t lts, int64_t *r, td_error *err) {
  *r = -1;
  if (!g->sorted) {
    int rc = group_sort(g, err);
    if (rc) return rc;
  }
  if (op->strict && lts == (op->kind == J_AJ ? INT64_MIN : INT64_MAX)) return TD_OK;
  *r = asof_find(op, g, op->strict ? (op->kind == J_AJ ? lts - 1 : lts + 1) : lts);
  return TD_OK;
}

/* Emits the result pairs of left row i (its on column `on`, NULL for hash
 * joins) whose key is in group g (-1: none); `matched` (full
 * join) marks right rows. */
static int emit_row(const join_op *op, const td_colview *on, int64_t i, int64_t g, pairs *p, bool *matched,
                    td_error *err) {
  if (on) {
    int64_t r = -1;
    int rc = TD_OK;
    if (g >= 0 && td_colview_valid(on, i) &&
        (rc = asof_match(op, &op->ix.av[g], td_colview_int(on, i), &r, err)))
      return rc;
    return r >= 0 || op->type != TD_JOIN_INNER ? pairs_push(p, i, r, err) : TD_OK;
  }
  switch (op->type) {
    case TD_JOIN_SEMI: return g >= 0 ? pairs_push(p, i, -1, err) : TD_OK;
    case TD_JOIN_ANTI: return g < 0 ? pairs_push(p, i, -1, err) : TD_OK;
    default:
      if (g < 0) return op->type != TD_JOIN_INNER ? pairs_push(p, i, -1, err) : TD_OK;
      for (int64_t r = op->ix.g[g].head; r >= 0; r = op->ix.next[r]) {
        int rc = pairs_push(p, i, r, err);
        if (rc) return rc;
        if (matched) matched[r] = true;
      }
      return TD_OK;
  }
}

/* A key of at most 8 bytes (zero-padded into w) and its group + 1 (0: an
 * empty slot). */
typedef struct word_slot {
  uint64_t w;
  int32_t len, g1;
} word_slot;

static inline uint64_t word_hash(uint64_t w, int64_t len) { return (w ^ (uint64_t)len) * 0x9e3779b97f4a7c15ull; }

/* The group of key word w of `len` bytes (at most 8), -1: none (op->wix set). */
static inline int64_t word_find(const join_op *op, uint64_t w, int64_t len) {
  for (uint64_t i = word_hash(w, len) >> op->wix_shift;; i = (i + 1) & op->wix_mask) {
    const word_slot *e = &op->wix[i];
    if (e->g1 == 0) return -1;
    if (e->w == w && e->len == len) return e->g1 - 1;
  }
}

/* Indexes the groups of a hash join on one string key whose keys fit in a
 * word (op->wix; every key of at most 8 bytes is such a group's, inline).
 * Left unset for a large right side (its memory) or when one fails. */
static void word_index(join_op *op) {
  int64_t n = op->ix.n_groups, slots = 64;
  op->wix_mask = 0;
  if (op->kind != J_HASH || op->n_keys != 1 || op->cls[0] != KC_STR || n > (1 << 22)) return;
  while (slots < 2 * n) slots *= 2;
  word_slot *v = td_realloc(op->wix, (size_t)slots * sizeof *v);
  if (!v) return; /* the probes hash instead */
  op->wix = v;
  memset(v, 0, (size_t)slots * sizeof *v);
  int shift = 64;
  for (int64_t s = slots; s > 1; s /= 2) shift--;
  for (int64_t g = 0; g < n; g++) {
    const group *gr = &op->ix.g[g];
    if (!gr->inl || gr->klen > 8 || gr->rep_left) continue;
    uint64_t i = word_hash(gr->key.w[0], gr->klen) >> shift;
    while (v[i].g1) i = (i + 1) & (uint64_t)(slots - 1);
    v[i] = (word_slot){gr->key.w[0], gr->klen, (int32_t)(g + 1)};
  }
  op->wix_shift = shift;
  op->wix_mask = (uint64_t)(slots - 1);
}

/* Group g's one right row: -1 for no group (g -1), -3 for several rows. */
static inline int32_t group_row(const join_op *op, int64_t g) {
  if (g < 0) return -1;
  if (g < op->n_one_row) return op->one_row[g];
  int64_t r = op->ix.g[g].head;
  return r >= 0 && r <= INT32_MAX && op->ix.next[r] < 0 ? (int32_t)r : -3;
}

/* Fills op->one_row for the index's groups, before static probes read
 * it (the index does not change while they run). */
static int one_rows(join_op *op, td_error *err) {
  int64_t n = op->ix.n_groups;
  op->n_one_row = 0;
  int32_t *v = td_realloc(op->one_row, (size_t)(n + 1) * sizeof *v);
  if (!v) return td_err_nomem(err, "joining");
  op->one_row = v;
  for (int64_t g = 0; g < n; g++) v[g] = group_row(op, g);
  op->n_one_row = n;
  if (n < INT32_MAX) word_index(op);
  return TD_OK;
}

/* A worker's groups of one dictionary's entries (-2: not looked up yet):
 * a dictionary-encoded key hashes each entry once, not each row. */
typedef struct dict_memo {
  uint64_t id;
  int64_t *group, cap, n;
  int32_t *row; /* per entry: its group's one right row, -1: no group, -3: several rows; -2: not looked up */
  int n_parts;  /* the dictionary's parts (td_dict_concat): what the next one may share */
  uint64_t part_id[TD_DICT_PARTS];
  int64_t part_base[TD_DICT_PARTS];
  int64_t *group2, cap2; /* the next dictionary's entries, while the memo's carry over */
  int32_t *row2;
} dict_memo;

/* The group of entry e of dictionary view `dv` (a single string key). */
static int64_t entry_group(const join_op *op, dict_memo *m, const td_colview *dv, int64_t e) {
  if (m->group[e] != -2) return m->group[e];
  store one = {.n_cols = 1, .n = dv->length, .views = (td_colview *)dv};
  const int64_t zero = 0;
  uint64_t h;
  int64_t g = key_hash(op, &one, &zero, e, &h) ? ix_find(op, &one, &zero, e, h, NULL) : -1;
  return m->group[e] = g;
}

/* The right row of entry e when its group has exactly one (-1: no group,
 * -3: several rows or none). */
static inline int32_t entry_row(const join_op *op, dict_memo *m, const td_colview *dv, int64_t e) {
  if (m->row[e] != -2) return m->row[e];
  return m->row[e] = group_row(op, entry_group(op, m, dv, e));
}

static _Atomic int64_t dict_chunks;

int64_t td__join_dict_chunks(void) { return atomic_load(&dict_chunks); }

/* Grows the memo's entries `*g`, `*r` (capacity *cap) to n. */
static int memo_grow(int64_t **g, int32_t **r, int64_t *cap, int64_t n, td_error *err) {
  if (n < *cap) return TD_OK;
  int64_t *ng = td_realloc(*g, (size_t)(n + 1) * sizeof *ng);
  if (ng) *g = ng;
  int32_t *nr = ng ? td_realloc(*r, (size_t)(n + 1) * sizeof *nr) : NULL;
  if (!nr) return td_err_nomem(err, "joining");
  *r = nr;
  *cap = n + 1;
  return TD_OK;
}

/* Where dictionary `id`'s entries start in the memo's dictionary (itself or
 * one of its parts), -1: not there; *len: how many. */
static int64_t memo_place(const dict_memo *m, uint64_t id, int64_t *len) {
  if (m->group && m->id == id) {
    *len = m->n;
    return 0;
  }
  for (int i = 0; m->group && i < m->n_parts; i++)
    if (m->part_id[i] == id) {
      *len = (i + 1 < m->n_parts ? m->part_base[i + 1] : m->n) - m->part_base[i];
      return m->part_base[i];
    }
  return -1;
}

static _Atomic int64_t dict_carried;

int64_t td__join_dict_carried(void) { return atomic_load(&dict_carried); }

/* Readies m for dictionary d (ids are never reused).  Row groups joined by
 * td_dict_concat share dictionaries: the entries of a part (or of the
 * whole) the previous dictionary had carry over instead of being looked up
 * again, so a scan looks each row group's dictionary up once. */
static int memo_for(dict_memo *m, const td_dict *d, td_error *err) {
  if (m->group && m->id == d->id) return TD_OK;
  int64_t n = d->view.length;
  int rc = memo_grow(&m->group2, &m->row2, &m->cap2, n, err);
  if (rc) return rc;
  for (int64_t e = 0; e < n; e++) m->group2[e] = m->row2[e] = -2;
  /* the new dictionary itself (one part: the previous one's first, last
   * or only part) or each of its parts (the previous one, or its parts) */
  int np = d->n_parts > 0 ? d->n_parts : 1;
  for (int i = 0; i < np; i++) {
    uint64_t id = d->n_parts > 0 ? d->part_id[i] : d->id;
    int64_t base = d->n_parts > 0 ? d->part_base[i] : 0;
    int64_t end = d->n_parts > 0 && i + 1 < np ? d->part_base[i + 1] : n, len = 0;
    int64_t from = memo_place(m, id, &len);
    if (from < 0 || len != end - base) continue;
    memcpy(m->group2 + base, m->group + from, (size_t)len * sizeof *m->group);
    memcpy(m->row2 + base, m->row + from, (size_t)len * sizeof *m->row);
    atomic_fetch_add_explicit(&dict_carried, len, memory_order_relaxed);
  }
  int64_t *tg = m->group, tc = m->cap;
  int32_t *tr = m->row;
  m->group = m->group2, m->row = m->row2, m->cap = m->cap2;
  m->group2 = tg, m->row2 = tr, m->cap2 = tc;
  m->id = d->id;
  m->n = n;
  m->n_parts = d->n_parts;
  for (int i = 0; i < d->n_parts; i++) {
    m->part_id[i] = d->part_id[i];
    m->part_base[i] = d->part_base[i];
  }
  return TD_OK;
}

/* Frees the memo's entries. */
static void memo_free(dict_memo *m) {
  td_free(m->group);
  td_free(m->row);
  td_free(m->group2);
  td_free(m->row2);
}

/* Looks every entry of dictionary view dv up at once, a block at a time:
 * hash_block's prefetches overlap the index's cache misses, which a lookup
 * per entry on first use (entry_group) takes one after another.  What a
 * chunk of at least as many rows as entries would look up anyway. */
static void memo_fill(const join_op *op, dict_memo *m, const td_colview *dv) {
  store one = {.n_cols = 1, .n = dv->length, .views = (td_colview *)dv};
  const int64_t zero = 0;
  uint64_t hb[TD_JOIN_BLOCK];
  bool okb[TD_JOIN_BLOCK];
  short_key sk[TD_JOIN_BLOCK];
  /* utf8 entries (a dictionary has no nulls): short_hash and ix_find's word compare */
  bool fast = op->n_keys == 1 && op->cls[0] == KC_STR && dv->offsets && !dv->validity;
  for (int64_t b = 0; b < dv->length; b += TD_JOIN_BLOCK) {
    int64_t n = dv->length - b < TD_JOIN_BLOCK ? dv->length - b : TD_JOIN_BLOCK, todo = 0;
    for (int64_t k = 0; k < n; k++) todo += m->group[b + k] == -2;
    if (todo == 0) continue; /* carried over from a dictionary sharing the entries */
    if (fast && op->wix_mask) { /* the block's slots fetched, then read */
      int64_t lens[TD_JOIN_BLOCK];
      for (int64_t k = 0; k < n; k++) {
        const char *p = td_colview_str(dv, b + k, &lens[k]);
        hb[k] = 0;
        if (lens[k] > 8) continue;
        memcpy(&hb[k], p, (size_t)lens[k]);
        TD_JOIN_PREFETCH(&op->wix[word_hash(hb[k], lens[k]) >> op->wix_shift]);
      }
      for (int64_t k = 0; k < n; k++) {
        if (m->group[b + k] != -2 || lens[k] > 8) continue;
        m->group[b + k] = word_find(op, hb[k], lens[k]);
        m->row[b + k] = group_row(op, m->group[b + k]);
        todo--;
      }
    }
    if (todo == 0) continue;
    if (fast) {
      for (int64_t k = 0; k < n; k++) {
        short_hash(dv, b + k, &sk[k], &hb[k]);
        okb[k] = true;
        prefetch_slot(&op->ix, true, hb[k]);
      }
      for (int64_t k = 0; k < n; k++) prefetch_group(&op->ix, true, hb[k]);
    } else {
      hash_block(op, &one, &zero, b, n, hb, okb);
    }
    for (int64_t k = 0; k < n; k++)
      if (m->group[b + k] == -2) {
        m->group[b + k] = !okb[k] ? -1 : ix_find(op, &one, &zero, b + k, hb[k], fast && sk[k].len >= 0 ? &sk[k] : NULL);
        m->row[b + k] = group_row(op, m->group[b + k]);
      }
  }
}

/* Readies `m` for the dictionary of key view kv of a chunk of `rows` rows:
 * every entry looked up when the chunk has at least as many rows. */
static int memo_chunk(const join_op *op, dict_memo *m, const td_colview *kv, int64_t rows, td_error *err) {
  bool fresh = !m->group || m->id != kv->dict->id;
  int rc = memo_for(m, kv->dict, err);
  if (rc == TD_OK && fresh && kv->dict->view.length <= rows) memo_fill(op, m, &kv->dict->view);
  atomic_fetch_add_explicit(&dict_chunks, 1, memory_order_relaxed);
  return rc;
}

/* Matches rows [from, to) of store `s` (left key columns op->lkey): hashed
 * and probed a block at a time, or, when `memo` is given and the single
 * key column is dictionary codes, through the groups of its entries. */
static int probe_rows(const join_op *op, const store *s, int64_t from, int64_t to, dict_memo *memo, pairs *p,
                      bool *matched, td_error *err) {
  int rc = TD_OK;
  const td_colview *on = op->kind != J_HASH ? &s->views[op->lon] : NULL;
  const td_colview *kv = op->n_keys == 1 && op->cls[0] == KC_STR ? &s->views[op->lkey[0]] : NULL;
  bool dict = memo && kv && kv->codes && kv->dict;
  const td_colview *dv = dict ? &kv->dict->view : NULL;
  const int32_t *codes = dict ? kv->codes + kv->offset : NULL;
  p->ident = false;
  if (dict && !on && !matched && (op->type == TD_JOIN_INNER || op->type == TD_JOIN_LEFT)) {
    /* a row whose key has one right row (a reference table): written
     * straight into the pairs, reserved for one a row */
    if ((rc = pairs_reserve(p, to - from, err)) != TD_OK) return rc;
    int64_t n = p->n, n0 = p->n, *pl = p->l, *pr = p->r;
    const int32_t *rows = memo->row;
    bool nulls = kv->validity != NULL, once = true; /* once: every row emitted once, with a right row */
    for (int64_t i = from; i < to; i++) {
      int32_t r = nulls && !td_colview_valid(kv, i) ? -1 : rows[codes[i]];
      if (r == -2) r = entry_row(op, memo, dv, codes[i]);
      if (r >= 0 && n < p->cap) {
        pl[n] = i;
        pr[n++] = r;
        continue;
      }
      once = false;
      if (r == -1 && op->type != TD_JOIN_LEFT) continue;
      p->n = n;
      rc = emit_row(op, NULL, i, r == -1 ? -1 : entry_group(op, memo, dv, codes[i]), p, NULL, err);
      if (rc) return rc;
      n = p->n, pl = p->l, pr = p->r;
    }
    p->n = n;
    p->ident = once && from == 0 && n0 == 0;
    return rc;
  }
  /* A block's groups are found first; an as-of join then fetches the
   * places its searches will most likely read before any is made, so that
   * their cache misses overlap instead of following one another. */
  uint64_t hb[TD_JOIN_BLOCK];
  bool okb[TD_JOIN_BLOCK];
  int64_t gb[TD_JOIN_BLOCK];
  for (int64_t b = from; rc == TD_OK && b < to; b += TD_JOIN_BLOCK) {
    int64_t n = to - b < TD_JOIN_BLOCK ? to - b : TD_JOIN_BLOCK;
    if (dict) {
      for (int64_t k = 0; k < n; k++)
        gb[k] = td_colview_valid(kv, b + k) ? entry_group(op, memo, dv, codes[b + k]) : -1;
    } else {
      hash_block(op, s, op->lkey, b, n, hb, okb);
      for (int64_t k = 0; k < n; k++) gb[k] = okb[k] ? ix_find(op, s, op->lkey, b + k, hb[k], NULL) : -1;
    }
    for (int64_t k = 0; on && k < n; k++) {
      const asof_vec *g = gb[k] >= 0 ? &op->ix.av[gb[k]] : NULL;
      if (!g || g->n == 0 || !td_colview_valid(on, b + k)) continue;
      int64_t at = asof_guess(g, td_colview_int(on, b + k));
      if (at == g->n) at--;
      TD_JOIN_PREFETCH(g->ts + at);
      TD_JOIN_PREFETCH(g->rows + (at > 0 ? at - 1 : at));
    }
    for (int64_t k = 0; rc == TD_OK && k < n; k++) rc = emit_row(op, on, b + k, gb[k], p, matched, err);
  }
  return rc;
}

/* Matches left rows [from, L.n); `matched` (full join) marks right rows. */
static int match_rows(join_op *op, int64_t from, pairs *p, bool *matched, td_error *err) {
  int rc = probe_rows(op, &op->L, from, op->L.n, NULL, p, matched, err);
  if (rc == TD_OK && matched)
    for (int64_t r = 0; rc == TD_OK && r < op->R.n; r++)
      if (!matched[r]) rc = pairs_push(p, -1, r, err);
  return rc;
}

/* Appends rows idx[0..n) of `v` to `a`; index -1 appends a null. */
static int gather(td_array *a, const td_colview *v, const int64_t *idx, int64_t n, td_error *err) {
  int64_t base = a->length, nulls = 0;
  for (int64_t k = 0; k < n; k++) nulls += idx[k] < 0;
  if (nulls == 0) return td_array_append_gather(a, v, NULL, idx, n, err);
  if (v->length == 0 || nulls == n) {
    int rc = TD_OK;
    for (int64_t k = 0; rc == TD_OK && k < n; k++) rc = td_array_append_null(a, err);
    return rc;
  }
  int64_t *tmp = td_malloc((size_t)n * sizeof *tmp);
  if (!tmp) return td_err_nomem(err, "joining");
  for (int64_t k = 0; k < n; k++) tmp[k] = idx[k] < 0 ? 0 : idx[k];
  int rc = td_array_append_gather(a, v, NULL, tmp, n, err);
  for (int64_t k = 0; rc == TD_OK && k < n; k++)
    if (idx[k] < 0) rc = td_array_set_null(a, base + k, err);
  td_free(tmp);
  return rc;
}

/* Appends left rows idx[0..n) of `v` (never -1) to `a`: gathered, or
 * decoded when `v` holds dictionary codes. */
static int gather_left(td_array *a, const td_colview *v, const int64_t *idx, int64_t n, td_error *err) {
  if (!v->codes) return gather(a, v, idx, n, err);
  uint32_t *i32 = td_malloc((size_t)n * sizeof *i32 + 1);
  if (!i32) return td_err_nomem(err, "joining");
  for (int64_t k = 0; k < n; k++) i32[k] = (uint32_t)idx[k];
  int rc = td_dict_decode(a, v, 0, n, i32, err);
  td_free(i32);
  return rc;
}

/* Whether the pairs list every row of store `ls` once, in order (an inner
 * or left join whose rows each matched at most one right row). */
static bool pairs_identity(const store *ls, const pairs *p) {
  if (p->n != ls->n) return false;
  if (p->ident) return true;
  for (int64_t k = 0; k < p->n; k++)
    if (p->l[k] != k) return false;
  return true;
}

/* Sets column i of chunk c to codes into dictionary d (the right store's
 * column `rc`, copied): each result row's right row number.  For a string
 * column with few distinct rows (a reference table), 4 bytes a row instead
 * of the string, and consumers that take codes (group-by keys, filters)
 * look each right row up once. */
static _Atomic int64_t right_code_chunks;

int64_t td__join_right_codes(void) { return atomic_load(&right_code_chunks); }

static int set_right_codes(td_dchunk *c, int64_t i, td_dict *d, const pairs *p, td_error *err) {
  atomic_fetch_add_explicit(&right_code_chunks, 1, memory_order_relaxed);
  td_array a;
  int rc = td_array_init(&a, TD_TYPE_INT32, p->n, err);
  if (rc) return rc;
  int32_t *v = (int32_t *)a.values;
  for (int64_t k = 0; k < p->n; k++) v[k] = (int32_t)p->r[k];
  a.length = p->n;
  struct ArrowArray arr, codes;
  td_shared_array *sh = NULL;
  td_colview view;
  rc = td_array_export(&a, &codes, err);
  td_array_reset(&a);
  if (rc == TD_OK) rc = td_dict_attach(&codes, d, &arr, err);
  if (rc == TD_OK) rc = td_shared_array_new(&arr, &sh, err);
  if (rc == TD_OK) rc = td_colview_init(&view, TD_TYPE_UTF8, &sh->array, err);
  if (rc == TD_OK) {
    view.dict = d;
    td_dchunk_set_view(c, i, &view, sh);
  }
  td_shared_array_release(sh);
  return rc;
}

/* Whether every pair has a right row (no null to encode). */
static bool pairs_all_right(const pairs *p) {
  for (int64_t k = 0; k < p->n; k++)
    if (p->r[k] < 0) return false;
  return true;
}

/* The result chunk of the pairs, its left rows those of store `ls` whose
 * column i is the constant consts[i] when consts and consts[i] are set.
 * With `owners` (those of ls's views, a scanned chunk) and pairs listing
 * every left row once in order, the left columns share ls's views (codes
 * too, when their owner keeps the dictionary) instead of being copied. */
static int build_chunk(const join_op *op, const store *ls, const td_value *const *consts,
                       td_shared_array *const *owners, td_dict *const *rdict, const bool *need, const pairs *p,
                       td_dchunk **out, td_error *err) {
  *out = NULL;
  int64_t nl = ls->n_cols, n_out = nl + op->n_out_right;
  td_dchunk *c;
  int rc = td_dchunk_new(n_out, p->n, &c, err);
  bool share = owners && !op->full_key && pairs_identity(ls, p);
  bool rcodes = rdict && (p->ident || pairs_all_right(p));
  for (int64_t i = 0; rc == TD_OK && i < n_out; i++) {
    bool left = i < nl;
    const td_colview *v = left ? &ls->views[i] : &op->R.views[op->out_right[i - nl]];
    if (need && !need[i]) { /* a column the consumer does not read */
      td_value null = td_value_null(left ? op->L.views[i].type : v->type);
      rc = td_dchunk_set_const(c, i, &null, err);
      continue;
    }
    if (share && left && !(consts && consts[i]) && owners[i] && (!v->codes || td__dict_kept(v, owners[i]))) {
      td_dchunk_set_view(c, i, v, owners[i]);
      continue;
    }
    if (rcodes && !left && rdict[i - nl]) {
      rc = set_right_codes(c, i, rdict[i - nl], p, err);
      continue;
    }
    td_array a; /* the type of the left store's column: a constant's view has none */
    rc = td_array_init(&a, left ? op->L.views[i].type : v->type, p->n, err);
    if (rc == TD_OK && left && consts && consts[i]) {
      rc = td_array_append_const(&a, consts[i], p->n, err);
    } else if (rc == TD_OK && left && op->full_key && op->full_key[i]) {
      /* full join key: the left value, else (right-only rows, listed last) the right one */
      int64_t m = 0;
      while (m < p->n && p->l[m] >= 0) m++;
      rc = gather(&a, v, p->l, m, err);
      if (rc == TD_OK) rc = gather(&a, &op->R.views[op->full_rkey[i]], p->r + m, p->n - m, err);
    } else if (rc == TD_OK) {
      rc = left && v->codes ? gather_left(&a, v, p->l, p->n, err)
           : !left && p->ident ? td_array_append_gather(&a, v, NULL, p->r, p->n, err) /* no null to place */
                               : gather(&a, v, left ? p->l : p->r, p->n, err);
    }
    if (rc == TD_OK) rc = td_dchunk_set_array(c, i, &a, err);
    td_array_reset(&a);
  }
  if (rc) {
    td_dchunk_release(c);
    return rc;
  }
  *out = c;
  return TD_OK;
}

/* Brings the right store and index up to the right table's current rows.
 * A source table grows per region (rows appended to an early location come
 * before later locations' rows), a derived one at its end. */
static int sync_right(join_op *op, td_error *err) {
  op->n_one_row = 0; /* the groups may change: one_rows makes them again */
  op->wix_mask = 0;
  td_snapshot *rs = td_table_snapshot(op->right);
  int rc = TD_OK;
  bool source = op->right->kind == TD_TABLE_SOURCE;
  if (op->right_reset || (!source && rs->size < op->R.n)) {
    store_clear(&op->R);
    ix_reset(&op->ix);
    op->n_rloaded = 0;
    op->right_reset = false;
  }
  int64_t from = op->R.n;
  if (source && rs->n_regions > op->n_rloaded) {
    int64_t *l = td_realloc(op->rloaded, (size_t)rs->n_regions * sizeof *l);
    if (!l) rc = td_err_nomem(err, "joining");
    else op->rloaded = l;
    while (rc == TD_OK && op->n_rloaded < rs->n_regions) op->rloaded[op->n_rloaded++] = 0;
  }
  for (int64_t r = 0; source && rc == TD_OK && r < rs->n_regions; r++) {
    const td_region *g = &rs->regions[r];
    if (g->size > op->rloaded[r])
      rc = store_load(&op->R, op->right, rs, g->row_begin + op->rloaded[r], g->row_begin + g->size, err);
    if (rc == TD_OK) op->rloaded[r] = g->size;
  }
  if (!source && rc == TD_OK && rs->size > from) rc = store_load(&op->R, op->right, rs, from, rs->size, err);
  if (rc == TD_OK && op->R.n > from) rc = ix_add(op, from, err);
  td_snapshot_release(rs);
  return rc;
}

/* ---- as-of left joins: incremental on both sides (op->pass) ---- */

static int lmatch_reserve(join_op *op, int64_t n, td_error *err) {
  if (n <= op->cap_lmatch) return TD_OK;
  int64_t cap = n > 2 * op->cap_lmatch ? n : 2 * op->cap_lmatch;
  int rc = grow_two(&op->lmatch, &op->lprev, cap, err);
  if (rc == TD_OK) op->cap_lmatch = cap;
  return rc;
}

/* Matches left rows [from, to) of store `s` into match[from, to): hashed
 * and probed a block at a time, a single string key by short_hash and
 * ix_find's word compare, once a row.  `index` (the left store): the rows are also
 * chained into their groups, and a key the right side lacks gets a group of
 * its own, for right rows to come. */
static int match_left(join_op *op, const store *s, int64_t from, int64_t to, bool index, int64_t *match,
                      td_error *err) {
  int rc = TD_OK;
  const td_colview *on = &s->views[op->lon];
  const td_colview *kv = &s->views[op->lkey[0]];
  bool fast = op->n_keys == 1 && op->cls[0] == KC_STR && kv->offsets && !kv->codes;
  enum { BLOCK = 64 };
  uint64_t hs[BLOCK];
  bool ok[BLOCK];
  short_key sk[BLOCK];
  for (int64_t b = from; rc == TD_OK && b < to; b += BLOCK) {
    int64_t n = to - b < BLOCK ? to - b : BLOCK;
    /* Hash the block, then fetch its slots and groups ahead of the probes
     * (the index is larger than the caches: a probe is a cache miss or two). */
    const kindex *x = &op->ix;
    for (int64_t k = 0; k < n; k++) {
      if (fast) {
        ok[k] = td_colview_valid(on, b + k) && td_colview_valid(kv, b + k);
        if (ok[k]) short_hash(kv, b + k, &sk[k], &hs[k]);
      } else {
        ok[k] = td_colview_valid(on, b + k) && key_hash(op, s, op->lkey, b + k, &hs[k]);
      }
      prefetch_slot(x, ok[k], hs[k]);
    }
    for (int64_t k = 0; k < n; k++) prefetch_group(x, ok[k], hs[k]);
    for (int64_t k = 0; rc == TD_OK && k < n; k++) {
      int64_t i = b + k;
      match[i] = -1;
      if (index) op->lprev[i] = -1;
      if (!ok[k]) continue;
      int64_t g = ix_find(op, s, op->lkey, i, hs[k], fast && sk[k].len >= 0 ? &sk[k] : NULL);
      if (g < 0 && !index) continue;
      if (g < 0 && (rc = ix_new_group(op, s, op->lkey, i, hs[k], &g, err)) != TD_OK) break;
      group *gr = &op->ix.g[g];
      int64_t lts = td_colview_int(on, i);
      if (index) {
        if (gr->ltail >= 0 && lts < gr->llast) gr->lsorted = false;
        op->lprev[i] = gr->ltail;
        gr->ltail = i;
        gr->llast = lts;
      }
      /* live data asks mostly past the right side's end: read no pair array */
      if (gr->rend && !op->strict && (op->kind == J_AJ ? gr->end_ts <= lts : gr->end_ts >= lts))
        match[i] = gr->end_row;
      else
        rc = asof_match(op, &op->ix.av[g], lts, &match[i], err);
    }
  }
  return rc;
}

/* Indexes left rows [from, L.n) by key and matches them into lmatch. */
static int pass_left(join_op *op, int64_t from, td_error *err) {
  int rc = lmatch_reserve(op, op->L.n, err);
  return rc ? rc : match_left(op, &op->L, from, op->L.n, true, op->lmatch, err);
}

/* The first index of sorted v[0..n) holding a value >= x (strict: > x). */
static int64_t first_at_least(const int64_t *v, int64_t n, int64_t x, bool strict) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (v[mid] < x || (strict && v[mid] == x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static int push_pos(int64_t **v, int64_t *n, int64_t *cap, int64_t x, td_error *err) {
  if (*n == *cap) {
    int64_t c = *cap ? 2 * *cap : 256;
    int64_t *nv = td_realloc(*v, (size_t)c * sizeof *nv);
    if (!nv) return td_err_nomem(err, "joining");
    *v = nv;
    *cap = c;
  }
  (*v)[(*n)++] = x;
  return TD_OK;
}

/* Re-evaluates the left rows whose match the right rows of this sync may
 * change (Deephaven's aj re-evaluates the affected rows), per group given
 * right rows: aj, left values from the least new value up to the first old
 * value above the greatest new one; raj, from the last old value below the
 * least new one up to the greatest new one.  Appending right rows in order
 * reaches only the left rows since the previous last right row: walking a
 * group's left rows back from its last, a group whose left rows came in
 * on-value order stops below the range; one whose did not is walked whole.
 * Left rows whose match changed are added to *mods; every touched group's
 * right pairs are sorted. */
static int pass_reeval(join_op *op, int64_t **mods, int64_t *n_mods, int64_t *cap_mods, td_error *err) {
  kindex *x = &op->ix;
  int rc = TD_OK;
  for (int64_t t = 0; t < x->n_touched; t++) {
    group *gr = &x->g[x->touched[t]];
    asof_vec *av = &x->av[x->touched[t]];
    av->touched = false;
    if (rc) continue;
    int64_t lo, hi;
    if (op->kind == J_AJ) {
      int64_t k = first_at_least(av->ts, av->n_old, av->new_max, true);
      lo = av->new_min;
      hi = k < av->n_old ? av->ts[k] : INT64_MAX;
    } else {
      int64_t k = first_at_least(av->ts, av->n_old, av->new_min, false);
      lo = k > 0 ? av->ts[k - 1] : INT64_MIN;
      hi = av->new_max;
    }
    if (!av->sorted) rc = group_sort(av, err);
    gr->rend = rc == TD_OK && av->n > 0;
    gr->end_ts = op->kind == J_AJ ? av->last_ts : av->first_ts;
    gr->end_row = op->kind == J_AJ ? av->last_row : av->first_row;
    const td_colview *on = &op->L.views[op->lon];
    for (int64_t i = rc ? -1 : gr->ltail; i >= 0; i = op->lprev[i]) {
      int64_t lts = td_colview_int(on, i), r;
      if (lts < lo && gr->lsorted) break;
      if (lts < lo || lts > hi) continue;
      if ((rc = asof_match(op, av, lts, &r, err)) != TD_OK) break;
      if (r == op->lmatch[i]) continue;
      op->lmatch[i] = r;
      if ((rc = push_pos(mods, n_mods, cap_mods, i, err)) != TD_OK) break;
    }
  }
  x->n_touched = 0;
  return rc;
}

/* Sets c's right columns: the right rows match[0, n), gathered (`slab`:
 * into the column slabs, when they take them). */
static int pass_right_cols(join_op *op, td_dchunk *c, const int64_t *match, int64_t n, bool slab, td_error *err) {
  int rc = TD_OK;
  for (int64_t j = 0; rc == TD_OK && j < op->n_out_right; j++) {
    const td_colview *v = &op->R.views[op->out_right[j]];
    td_array a;
    if (slab && td_slab_serves(v->type, n)) {
      rc = td_slab_begin(&op->slabs[j], v->type, n, &a, err);
      if (rc == TD_OK && (rc = gather(&a, v, match, n, err)) == TD_OK) td_slab_commit(&op->slabs[j], &a, c, op->L.n_cols + j);
      else td_slab_drop(&a);
      continue;
    }
    rc = td_array_init(&a, v->type, n, err);
    if (rc == TD_OK) rc = gather(&a, v, match, n, err);
    if (rc == TD_OK) rc = td_dchunk_set_array(c, op->L.n_cols + j, &a, err);
    td_array_reset(&a);
  }
  return rc;
}

/* A result chunk for n result rows: its left columns are those of `ch` (a
 * scanned chunk of the left table) or else of `old` (a published result
 * chunk), shared; its right columns are the right rows match[0, n),
 * gathered (rows appended to a live result: into the column slabs). */
static int pass_chunk(join_op *op, const td_chunk *ch, const td_dchunk *old, const int64_t *match, td_dchunk **out,
                      td_error *err) {
  int64_t nl = op->L.n_cols, n = ch ? ch->length : old->length;
  td_dchunk *c;
  int rc = td_dchunk_new(nl + op->n_out_right, n, &c, err);
  for (int64_t i = 0; rc == TD_OK && i < nl; i++) {
    const td_value *k = ch ? ch->consts[i] : old->consts[i].type != TD_TYPE_NONE ? &old->consts[i] : NULL;
    if (k) rc = td_dchunk_set_const(c, i, k, err);
    else td_dchunk_set_view(c, i, ch ? &ch->views[i] : &old->views[i], ch ? ch->owners[i] : old->owners[i]);
  }
  if (rc == TD_OK) rc = pass_right_cols(op, c, match, n, ch && op->slabs, err);
  if (rc) {
    td_dchunk_release(c);
    c = NULL;
  }
  *out = c;
  return rc;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Sorts distinct positions: by flags over their span when it is narrow
 * (right rows in order change recent left rows), else by qsort. */
static int sort_positions(int64_t *v, int64_t n, td_error *err) {
  if (n < 2) return TD_OK;
  int64_t lo = v[0], hi = v[0];
  for (int64_t i = 1; i < n; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  if (hi - lo >= 8 * n) {
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    return TD_OK;
  }
  uint8_t *seen = td_calloc((size_t)(hi - lo + 1), 1);
  if (!seen) return td_err_nomem(err, "joining");
  for (int64_t i = 0; i < n; i++) seen[v[i] - lo] = 1;
  for (int64_t p = lo, k = 0; p <= hi; p++)
    if (seen[p - lo]) v[k++] = p;
  td_free(seen);
  return TD_OK;
}

/* Chunks of the next result: `v` (borrowed, or owned when made here). */
typedef struct chunk_vec {
  td_dchunk **v;
  bool *own;
  int64_t n, cap;
} chunk_vec;

static int cv_push(chunk_vec *cv, td_dchunk *c, bool own, td_error *err) {
  if (cv->n == cv->cap) {
    int64_t cap = cv->cap ? 2 * cv->cap : 16;
    td_dchunk **nv = td_realloc(cv->v, (size_t)cap * sizeof *nv);
    if (nv) cv->v = nv;
    bool *no = nv ? td_realloc(cv->own, (size_t)cap * sizeof *no) : NULL;
    if (!no) {
      if (own) td_dchunk_release(c);
      return td_err_nomem(err, "joining");
    }
    cv->own = no;
    cv->cap = cap;
  }
  cv->v[cv->n] = c;
  cv->own[cv->n++] = own;
  return TD_OK;
}

static void cv_reset(chunk_vec *cv) {
  for (int64_t i = 0; i < cv->n; i++)
    if (cv->own[i]) td_dchunk_release(cv->v[i]);
  td_free(cv->v);
  td_free(cv->own);
}

/* A fixed join's result chunk for scanned left chunk `ch`: its key and on
 * columns copied into the scratch store, matched and gathered. */
static int pass_fixed(td_table *t, const td_chunk *ch, td_dchunk **out, td_error *err) {
  join_op *op = t->op;
  store *s = &op->S;
  int rc = s->cols ? TD_OK : store_init(s, t->source->def, err);
  if (rc) store_reset(s); /* made again next time */
  if (rc == TD_OK) store_truncate(s);
  if (rc == TD_OK) rc = store_reserve(s, op->lneed, ch->length, err);
  if (rc == TD_OK) rc = store_append(s, op->lneed, ch, err);
  if (rc == TD_OK && ch->length > op->cap_smatch) {
    int64_t *m = td_realloc(op->smatch, (size_t)ch->length * sizeof *m);
    if (!m) return td_err_nomem(err, "joining");
    op->smatch = m;
    op->cap_smatch = ch->length;
  }
  if (rc == TD_OK) rc = match_left(op, s, 0, s->n, false, op->smatch, err);
  if (rc == TD_OK) rc = pass_chunk(op, ch, NULL, op->smatch, out, err);
  if (rc == TD_OK) op->n_left += ch->length;
  return rc;
}

/* Appends left rows [begin, end) of the delta's snapshot: stored (key and
 * on columns), matched, and made into result chunks (a fixed join: through
 * pass_fixed, nothing stored). */
static int pass_append(td_table *t, const td_source_delta *d, int64_t begin, int64_t end, chunk_vec *cv,
                       td_error *err) {
  join_op *op = t->op;
  td_scan sc;
  int64_t want = end - begin;
  /* A live join's first load leaves room for the appends to come: the first
   * cycles grow into it instead of reallocating the whole state. */
  if (t->refreshing && op->L.n == 0) want += want / 4 + 4096;
  int rc = op->fixed ? TD_OK : store_reserve(&op->L, op->lneed, want, err);
  if (rc == TD_OK && !op->fixed) rc = lmatch_reserve(op, op->L.n + want, err);
  if (rc == TD_OK) rc = td_scan_init(&sc, t->source, d->snap, NULL, 0, begin, end, err);
  if (rc) return rc;
  while (rc == TD_OK) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    int64_t from = op->L.n;
    td_dchunk *c = NULL;
    if (op->fixed) {
      rc = pass_fixed(t, &ch, &c, err);
    } else {
      rc = store_append(&op->L, op->lneed, &ch, err);
      if (rc == TD_OK) rc = pass_left(op, from, err);
      if (rc == TD_OK) rc = pass_chunk(op, &ch, NULL, op->lmatch + from, &c, err);
    }
    if (rc == TD_OK) rc = cv_push(cv, c, true, err);
  }
  td_scan_release(&sc);
  return rc;
}

/* As-of left join: appended left rows are matched and appended; appended
 * right rows re-evaluate the affected left rows, whose result chunks are
 * remade (left columns shared, right ones gathered) and listed as changed;
 * a replaced right side rematches every left row (replaced); a replaced
 * left side starts over. */
static int pass_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  join_op *op = t->op;
  /* a fixed join keeps no matches to redo: any reset starts over from the left */
  bool left_reset = d->replaced || (op->fixed && op->right_reset);
  op->right_changed = false;
  if (left_reset) {
    store_clear(&op->L);
    op->n_left = 0;
    op->right_reset = true; /* the index holds left rows too */
  }
  bool reset = op->right_reset;
  int64_t *mods = NULL, n_mods = 0, cap_mods = 0;
  int rc = sync_right(op, err);
  if (rc == TD_OK) rc = pass_reeval(op, &mods, &n_mods, &cap_mods, err);
  if (rc == TD_OK && reset) rc = pass_left(op, 0, err);
  td_snapshot *cur = td_table_snapshot(t);
  chunk_vec cv = {0};
  if (rc == TD_OK) rc = sort_positions(mods, n_mods, err);
  for (int64_t k = 0, m = 0; rc == TD_OK && !left_reset && k < cur->n_chunks; k++) {
    td_dchunk *c = cur->chunks[k];
    int64_t b = cur->chunk_begin[k], e = b + c->length;
    bool hit = reset;
    for (; m < n_mods && mods[m] < e; m++) hit = true;
    if (!hit) {
      rc = cv_push(&cv, c, false, err);
      continue;
    }
    td_dchunk *nc = NULL;
    rc = pass_chunk(op, NULL, c, op->lmatch + b, &nc, err);
    if (rc == TD_OK) rc = cv_push(&cv, nc, true, err);
  }
  int64_t whole[2] = {0, d->snap->size};
  const int64_t *ranges = left_reset ? whole : d->ranges;
  int64_t n_ranges = left_reset ? 1 : d->n_ranges;
  for (int64_t k = 0; rc == TD_OK && k < n_ranges; k++) rc = pass_append(t, d, ranges[2 * k], ranges[2 * k + 1], &cv, err);
  if (rc == TD_OK && (left_reset || reset || n_mods > 0 || (op->fixed ? op->n_left : op->L.n) > cur->size))
    rc = td_snapshot_derived(NULL, cv.v, cv.n, d->version, &out->snap, err);
  if (rc == TD_OK && out->snap) {
    out->replaced = left_reset || reset;
    out->appended_from = out->replaced ? 0 : cur->size;
    if (!out->replaced && n_mods > 0) {
      out->changed = mods;
      out->n_changed = n_mods;
      mods = NULL;
    }
  }
  cv_reset(&cv);
  td_free(mods);
  td_snapshot_release(cur);
  return rc;
}

/* ---- static joins: the left side scanned, probed and gathered in parallel ---- */

/* A static join (neither side refreshing; not full) is made once: the
 * right side is indexed on the calling thread, then workers take units of
 * the left snapshot (pages) in order from a shared counter, probe each
 * scanned chunk's rows where they lie (a dictionary-encoded string key
 * through its entries' groups) and gather its result chunk, filed under
 * the unit: the result lists the left rows in order whatever the thread
 * count, and no copy of the left side is kept. */
typedef struct static_run {
  const join_op *op;
  td_table *src;
  td_snapshot *snap;
  const int64_t *bounds;
  int64_t n_units;
  _Atomic int64_t next;
  _Atomic bool stop;
  chunk_vec *out;             /* per unit */
  dict_memo memo[TD_PAR_MAX]; /* per worker */
  pairs pairs[TD_PAR_MAX];    /* per worker */
  store tmp[TD_PAR_MAX];      /* per worker: a chunk whose key is a constant, copied */
} static_run;

/* Copies chunk `ch` of the left table into the worker's store `s`. */
static int static_copy(store *s, const td_table *src, const td_chunk *ch, td_error *err) {
  int rc = s->cols ? TD_OK : store_init(s, src->def, err);
  if (rc == TD_OK) store_clear(s);
  for (int64_t i = 0; rc == TD_OK && i < s->n_cols; i++)
    rc = ch->consts[i]          ? td_array_append_const(&s->cols[i], ch->consts[i], ch->length, err)
         : ch->views[i].codes ? td_dict_decode(&s->cols[i], &ch->views[i], 0, ch->length, NULL, err)
                              : td_array_append_view(&s->cols[i], &ch->views[i], 0, ch->length, err);
  s->n = ch->length;
  store_views(s);
  return rc;
}

static int static_unit(static_run *u, int worker, int64_t k, td_error *err) {
  const join_op *op = u->op;
  td_scan sc;
  int rc = td_scan_init(&sc, u->src, u->snap, NULL, 0, u->bounds[k], u->bounds[k + 1], err);
  if (rc) return rc;
  if (op->n_keys == 1 && op->cls[0] == KC_STR) td_scan_allow_codes(&sc, op->lkey[0]);
  pairs *p = &u->pairs[worker];
  while (rc == TD_OK) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    bool copy = op->kind != J_HASH && ch.consts[op->lon];
    for (int64_t j = 0; j < op->n_keys; j++) copy = copy || ch.consts[op->lkey[j]];
    store view = {.n_cols = op->L.n_cols, .n = ch.length, .views = ch.views};
    const store *s = copy ? &u->tmp[worker] : &view;
    if (copy) rc = static_copy(&u->tmp[worker], u->src, &ch, err);
    const td_colview *kv = op->n_keys == 1 ? &s->views[op->lkey[0]] : NULL;
    if (rc == TD_OK && kv && kv->codes && kv->dict) rc = memo_chunk(op, &u->memo[worker], kv, ch.length, err);
    p->n = 0;
    if (rc == TD_OK) rc = probe_rows(op, s, 0, ch.length, &u->memo[worker], p, NULL, err);
    td_dchunk *c = NULL;
    if (rc == TD_OK && p->n > 0) rc = build_chunk(op, s, copy ? NULL : ch.consts, copy ? NULL : ch.owners, op->rdict, NULL, p, &c, err);
    if (rc == TD_OK && c) rc = cv_push(&u->out[k], c, true, err);
  }
  td_scan_release(&sc);
  return rc;
}

static int static_worker(void *v, int worker, td_error *err) {
  static_run *u = v;
  int rc = TD_OK;
  while (rc == TD_OK && !atomic_load_explicit(&u->stop, memory_order_relaxed)) {
    int64_t k = atomic_fetch_add(&u->next, 1);
    if (k >= u->n_units) break;
    rc = static_unit(u, worker, k, err);
  }
  if (rc) atomic_store(&u->stop, true);
  return rc;
}

/* The right output columns a static join hands on as codes into a copy of
 * the right column (set_right_codes): utf8 without nulls, whose rows are
 * fewer than a sixteenth of the left side's (a dictionary pays when its
 * entries repeat).  *out (NULL entries for the other columns) holds a
 * reference to each dictionary; made once (join_free frees it). */
static int right_dicts(const join_op *op, int64_t left_rows, td_dict ***out, td_error *err) {
  if (*out) return TD_OK;
  *out = td_calloc((size_t)op->n_out_right + 1, sizeof **out);
  if (!*out) return td_err_nomem(err, "joining");
  int rc = TD_OK;
  for (int64_t j = 0; rc == TD_OK && j < op->n_out_right; j++) {
    const td_array *a = &op->R.cols[op->out_right[j]];
    if (a->type == TD_TYPE_UTF8 && a->null_count == 0 && a->length < INT32_MAX && a->length * 16 <= left_rows)
      rc = td_dict_copy(a, &(*out)[j], err);
  }
  return rc;
}

/* Sorts the as-of groups not in order, shared out among workers a batch
 * of groups at a time. */
typedef struct sort_run {
  kindex *x;
  _Atomic int64_t next;
  _Atomic bool stop;
} sort_run;

enum { SORT_BATCH = 64 };

static int sort_worker(void *v, int worker, td_error *err) {
  (void)worker;
  sort_run *u = v;
  int rc = TD_OK;
  while (rc == TD_OK && !atomic_load_explicit(&u->stop, memory_order_relaxed)) {
    int64_t b = atomic_fetch_add(&u->next, SORT_BATCH);
    if (b >= u->x->n_groups) break;
    for (int64_t g = b; rc == TD_OK && g < b + SORT_BATCH && g < u->x->n_groups; g++)
      if (!u->x->av[g].sorted) rc = group_sort(&u->x->av[g], err);
  }
  if (rc) atomic_store(&u->stop, true);
  return rc;
}

static int sort_groups(kindex *x, int threads, td_error *err) {
  if (x->n_groups == 0) return TD_OK;
  sort_run u = {.x = x};
  atomic_init(&u.next, 0);
  atomic_init(&u.stop, false);
  return td__par_run(td__par_workers(threads, (x->n_groups + SORT_BATCH - 1) / SORT_BATCH), sort_worker, &u, err);
}

/* The whole result of a static join over the left snapshot d->snap. */
static int static_join(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  join_op *op = t->op;
  int rc = sync_right(op, err);
  if (rc == TD_OK && op->kind != J_HASH) rc = sort_groups(&op->ix, t->threads, err); /* probes only read */
  if (rc == TD_OK) rc = one_rows(op, err);
  int64_t *bounds = NULL, n_units = 0;
  if (rc == TD_OK) rc = td__par_units(t->source, d->snap, 0, d->snap->size, &bounds, &n_units, err);
  static_run *u = rc == TD_OK ? td_calloc(1, sizeof *u) : NULL;
  if (u) u->out = td_calloc((size_t)n_units + 1, sizeof *u->out);
  if (rc == TD_OK && (!u || !u->out)) rc = td_err_nomem(err, "joining");
  if (rc == TD_OK) rc = right_dicts(op, d->snap->size, &op->rdict, err);
  if (rc == TD_OK) {
    u->op = op;
    u->src = t->source;
    u->snap = d->snap;
    u->bounds = bounds;
    u->n_units = n_units;
    atomic_init(&u->next, 0);
    atomic_init(&u->stop, false);
    rc = td__par_run(td__par_workers(t->threads, n_units), static_worker, u, err);
  }
  chunk_vec all = {0};
  for (int64_t k = 0; rc == TD_OK && k < n_units; k++)
    for (int64_t j = 0; rc == TD_OK && j < u->out[k].n; j++) rc = cv_push(&all, u->out[k].v[j], false, err);
  if (rc == TD_OK) rc = td_snapshot_derived(NULL, all.v, all.n, d->version, &out->snap, err);
  if (rc == TD_OK) {
    out->replaced = true;
    op->static_done = true;
  }
  cv_reset(&all);
  for (int64_t k = 0; u && u->out && k < n_units; k++) cv_reset(&u->out[k]);
  for (int w = 0; u && w < TD_PAR_MAX; w++) {
    memo_free(&u->memo[w]);
    pairs_reset(&u->pairs[w]);
    store_reset(&u->tmp[w]);
  }
  if (u) td_free(u->out);
  td_free(u);
  td_free(bounds);
  return rc;
}

static int join_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  join_op *op = t->op;
  if (op->pass) return pass_apply(t, d, out, err);
  if (!t->refreshing && !op->right->refreshing && op->type != TD_JOIN_FULL && op->L.n == 0 && !op->static_done)
    return static_join(t, d, out, err);
  /* a static join applied again (not expected) starts from the whole left side */
  bool again = op->static_done;
  op->static_done = false;
  int rc = sync_right(op, err);
  if (rc) return rc;
  bool recompute = again || d->replaced || op->right_changed || op->type == TD_JOIN_FULL;
  int64_t from = op->L.n;
  if (again || d->replaced) {
    store_clear(&op->L);
    rc = store_load(&op->L, t->source, d->snap, 0, d->snap->size, err);
  } else {
    for (int64_t k = 0; rc == TD_OK && k < d->n_ranges; k++)
      rc = store_load(&op->L, t->source, d->snap, d->ranges[2 * k], d->ranges[2 * k + 1], err);
  }
  op->right_changed = false;
  if (rc) return rc;
  if (!recompute && op->L.n == from) return TD_OK;
  pairs p = {0};
  bool *matched = NULL;
  if (op->type == TD_JOIN_FULL && op->kind == J_HASH) {
    matched = td_calloc((size_t)op->R.n + 1, sizeof *matched);
    if (!matched) return td_err_nomem(err, "joining");
  }
  rc = match_rows(op, recompute ? 0 : from, &p, matched, err);
  td_free(matched);
  td_dchunk *c = NULL;
  if (rc == TD_OK && p.n > 0) rc = build_chunk(op, &op->L, NULL, NULL, NULL, NULL, &p, &c, err);
  pairs_reset(&p);
  if (rc) return rc;
  td_snapshot *cur = td_table_snapshot(t);
  if (recompute) {
    rc = td_snapshot_derived(NULL, &c, c ? 1 : 0, d->version, &out->snap, err);
    out->replaced = true;
  } else if (c) {
    rc = td_snapshot_derived(cur, &c, 1, d->version, &out->snap, err);
    out->appended_from = cur->size;
  }
  td_snapshot_release(cur);
  td_dchunk_release(c);
  return rc;
}

static void join_free(void *p) {
  join_op *op = p;
  if (!op) return;
  if (op->right_listener) td_table_remove_listener(op->right, op->right_listener);
  td_table_release(op->right);
  store_reset(&op->L);
  store_reset(&op->R);
  ix_reset(&op->ix);
  td_free(op->rloaded);
  td_free(op->out_right);
  for (int64_t j = 0; op->slabs && j < op->n_out_right; j++) td_slab_reset(&op->slabs[j]);
  td_free(op->slabs);
  td_free(op->full_key);
  td_free(op->full_rkey);
  td_free(op->lneed);
  td_free(op->lmatch);
  td_free(op->lprev);
  store_reset(&op->S);
  td_free(op->smatch);
  for (int64_t j = 0; op->rdict && j < op->n_out_right; j++) td_dict_release(op->rdict[j]);
  td_free(op->rdict);
  td_free(op->one_row);
  td_free(op->wix);
  td_free(op);
}

static const td_op_vtable join_vt = {join_apply, join_free, false};

/* The join's listener on a refreshing right table. */
static void on_right(void *ctx, td_table *right, const td_table_update *u, const td_error *e) {
  (void)right;
  td_table *t = ctx;
  if (e) {
    td_graph_fail_table(t, e->code, e->message);
    return;
  }
  join_op *op = t->op;
  if (u->replaced || u->n_changed > 0) op->right_reset = true;
  op->right_changed = true;
  td_derived_defer(t); /* applied once, with the left side's change of the cycle */
}

/* ---- building ---- */

static bool is_int_type(td_type_id t) {
  return t == TD_TYPE_INT8 || t == TD_TYPE_INT16 || t == TD_TYPE_INT32 || t == TD_TYPE_INT64 ||
         t == TD_TYPE_UINT8 || t == TD_TYPE_UINT16 || t == TD_TYPE_UINT32;
}
static bool is_float_type(td_type_id t) { return t == TD_TYPE_FLOAT32 || t == TD_TYPE_FLOAT64; }

/* Splits "a", "a=b", "a>=b", "a<=b" (spaces trimmed) into two names. */
static int split_spec(const char *spec, char *l, char *r, size_t size, const char *what, td_error *err) {
  if (!spec) return td_err(err, TD_EINVAL, "%s: expected a column name, found NULL", what);
  const char *eq = strpbrk(spec, "=<>");
  const char *lend = eq ? eq : spec + strlen(spec);
  const char *rbeg = eq ? eq + 1 : spec;
  if (eq && (*eq == '<' || *eq == '>') && eq[1] == '=') rbeg = eq + 2;
  const char *rend = spec + strlen(spec);
  const char *lb = spec;
  while (lb < lend && isspace((unsigned char)*lb)) lb++;
  while (lend > lb && isspace((unsigned char)lend[-1])) lend--;
  while (rbeg < rend && isspace((unsigned char)*rbeg)) rbeg++;
  while (rend > rbeg && isspace((unsigned char)rend[-1])) rend--;
  if (!eq) rbeg = lb, rend = lend;
  if (lend == lb || rend == rbeg || (size_t)(lend - lb) >= size || (size_t)(rend - rbeg) >= size)
    return td_err(err, TD_EINVAL, "%s: expected \"name\" or \"left=right\", found \"%s\"", what, spec);
  memcpy(l, lb, (size_t)(lend - lb));
  l[lend - lb] = 0;
  memcpy(r, rbeg, (size_t)(rend - rbeg));
  r[rend - rbeg] = 0;
  return TD_OK;
}

static int find_col(td_table *t, const char *name, const char *side, int64_t *out, td_error *err) {
  *out = td_schema_find(t->def, name);
  if (*out < 0) return td_err(err, TD_ETYPE, "join: no column %s in the %s table", name, side);
  return TD_OK;
}

/* Resolves a key pair and decides how its values compare. */
static int bind_key(td_table *left, td_table *right, const char *spec, bool exact, int64_t *lc, int64_t *rc_,
                    kclass *cls, td_error *err) {
  char l[256], r[256];
  if (spec && strpbrk(spec, "<>"))
    return td_err(err, TD_EINVAL, "join key: expected \"name\" or \"left=right\", found \"%s\"", spec);
  int rc = split_spec(spec, l, r, sizeof l, "join key", err);
  if (rc == TD_OK) rc = find_col(left, l, "left", lc, err);
  if (rc == TD_OK) rc = find_col(right, r, "right", rc_, err);
  if (rc) return rc;
  const td_field *a = &left->def->fields[*lc], *b = &right->def->fields[*rc_];
  bool same = td_field_same_type(a, b) || td_type_same_varlen(a->type, b->type);
  if (!same && (exact || !((is_int_type(a->type) && is_int_type(b->type)) ||
                           (is_float_type(a->type) && is_float_type(b->type))))) {
    char ta[64], tb[64];
    return td_err(err, TD_ETYPE, "join key %s is %s on the left but %s on the right", l,
                  td_field_type_text(a, ta, sizeof ta), td_field_type_text(b, tb, sizeof tb));
  }
  *cls = td_type_is_varlen(a->type) ? KC_STR : is_float_type(a->type) ? KC_FLOAT : KC_INT;
  return TD_OK;
}

static bool is_on_type(td_type_id t) {
  return is_int_type(t) || t == TD_TYPE_TIMESTAMP || t == TD_TYPE_DATE32 || t == TD_TYPE_DATE64 ||
         t == TD_TYPE_TIMESTAMP_S || t == TD_TYPE_TIMESTAMP_MS || t == TD_TYPE_TIMESTAMP_US ||
         t == TD_TYPE_TIME32_S || t == TD_TYPE_TIME32_MS || t == TD_TYPE_TIME64_US || t == TD_TYPE_TIME64_NS ||
         td_type_is_duration(t);
}

/* The result definition: left columns, then the right ones (not keys). */
static int make_def(join_op *op, td_table *left, td_table *right, td_schema *def, td_error *err) {
  const td_schema *ld = left->def, *rd = right->def;
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < ld->n_fields; i++) {
    const td_field *f = &ld->fields[i];
    bool nullable = f->nullable || op->type == TD_JOIN_FULL;
    rc = td_schema_add(def, f->name, f->type, f->tz, nullable, err);
  }
  if (rc || (op->kind == J_HASH && (op->type == TD_JOIN_SEMI || op->type == TD_JOIN_ANTI))) return rc;
  op->out_right = td_malloc((size_t)(rd->n_fields + 1) * sizeof *op->out_right);
  if (!op->out_right) return td_err_nomem(err, "creating a join");
  if (op->kind != J_HASH && op->type == TD_JOIN_LEFT && left->refreshing) {
    op->slabs = td_calloc((size_t)rd->n_fields + 1, sizeof *op->slabs);
    if (!op->slabs) return td_err_nomem(err, "creating a join");
  }
  for (int64_t j = 0; rc == TD_OK && j < rd->n_fields; j++) {
    bool key = false;
    for (int64_t k = 0; k < op->n_keys; k++) key = key || op->rkey[k] == j;
    if (key) continue;
    const td_field *f = &rd->fields[j];
    char name[512];
    snprintf(name, sizeof name, "%s", f->name);
    if (td_schema_find(def, name) >= 0) snprintf(name, sizeof name, "%s_right", f->name);
    if (td_schema_find(def, name) >= 0)
      return td_err(err, TD_ETYPE, "join: the result would have two columns called %s", name);
    rc = td_schema_add(def, name, f->type, f->tz, true, err);
    op->out_right[op->n_out_right++] = j;
  }
  return rc;
}

static int join_make(td_table *left, td_table *right, jkind kind, td_join_type type, const char *const *keys,
                     int64_t n_keys, const char *on, bool defer, td_table **out, td_error *err) {
  if (out) *out = NULL;
  if (!left || !right || !out || (n_keys > 0 && !keys))
    return td_err(err, TD_EINVAL, "join: expected two tables, keys and an output pointer, found NULL");
  if (n_keys < (kind == J_HASH ? 1 : 0) || n_keys > TD_JOIN_MAX_KEYS)
    return td_err(err, TD_EINVAL, "join: expected %d to %d keys, found %lld", kind == J_HASH ? 1 : 0,
                  TD_JOIN_MAX_KEYS, (long long)n_keys);
  if (kind == J_HASH && (type < TD_JOIN_INNER || type > TD_JOIN_NATURAL))
    return td_err(err, TD_EINVAL, "join: unknown join type %d", (int)type);
  if (right->refreshing && left->refreshing && right->service != left->service)
    return td_err(err, TD_EINVAL, "join: a refreshing right table must belong to the left table's service");
  int rc = td_table_status(right, err);
  if (rc) return rc;
  join_op *op = td_calloc(1, sizeof *op);
  if (!op) return td_err_nomem(err, "creating a join");
  op->kind = kind;
  op->type = kind == J_HASH || type == TD_JOIN_INNER ? type : TD_JOIN_LEFT;
  op->n_keys = n_keys;
  op->right = td_table_retain(right);
  td_schema def;
  td_schema_init(&def);
  for (int64_t k = 0; rc == TD_OK && k < n_keys; k++)
    rc = bind_key(left, right, keys[k], op->type == TD_JOIN_FULL, &op->lkey[k], &op->rkey[k], &op->cls[k], err);
  if (rc == TD_OK && kind != J_HASH) {
    char l[256], r[256];
    rc = split_spec(on, l, r, sizeof l, kind == J_AJ ? "aj column" : "raj column", err);
    const char *opc = rc == TD_OK ? strpbrk(on, "<>") : NULL;
    if (opc && ((*opc == '>') != (kind == J_AJ)))
      rc = td_err(err, TD_EINVAL, "%s: expected %s in \"%s\"", kind == J_AJ ? "aj" : "raj",
                  kind == J_AJ ? ">= or >" : "<= or <", on);
    op->strict = opc && opc[1] != '=';
    if (rc == TD_OK) rc = find_col(left, l, "left", &op->lon, err);
    if (rc == TD_OK) rc = find_col(right, r, "right", &op->ron, err);
    if (rc == TD_OK) {
      const td_field *a = &left->def->fields[op->lon], *b = &right->def->fields[op->ron];
      char ta[64], tb[64];
      if (!is_on_type(a->type) || !td_field_same_type(a, b))
        rc = td_err(err, TD_ETYPE,
                    "as-of join: expected columns of one integer, date, time, timestamp or duration type, found %s %s and %s %s",
                    l, td_field_type_text(a, ta, sizeof ta), r, td_field_type_text(b, tb, sizeof tb));
    }
  }
  if (rc == TD_OK) rc = make_def(op, left, right, &def, err);
  op->pass = kind != J_HASH && op->type == TD_JOIN_LEFT;
  op->fixed = op->pass && !right->refreshing;
  if (rc == TD_OK && op->pass) {
    op->lneed = td_calloc((size_t)left->def->n_fields + 1, sizeof *op->lneed);
    if (!op->lneed) rc = td_err_nomem(err, "creating a join");
    for (int64_t k = 0; rc == TD_OK && k < n_keys; k++) op->lneed[op->lkey[k]] = true;
    if (rc == TD_OK) op->lneed[op->lon] = true;
  }
  if (rc == TD_OK && op->type == TD_JOIN_FULL) {
    op->full_key = td_calloc((size_t)left->def->n_fields + 1, sizeof *op->full_key);
    op->full_rkey = td_calloc((size_t)left->def->n_fields + 1, sizeof *op->full_rkey);
    if (!op->full_key || !op->full_rkey) rc = td_err_nomem(err, "creating a join");
    for (int64_t k = 0; rc == TD_OK && k < n_keys; k++) {
      op->full_key[op->lkey[k]] = true;
      op->full_rkey[op->lkey[k]] = op->rkey[k];
    }
  }
  if (rc == TD_OK) rc = store_init(&op->L, left->def, err);
  if (rc == TD_OK) rc = store_init(&op->R, right->def, err);
  /* deferred: a static join whose left keys (and as-of column) are data
   * columns (a partition column's chunks are constants) */
  op->deferred = defer && (kind == J_HASH || op->lon >= left->n_partition);
  for (int64_t k = 0; k < n_keys; k++) op->deferred = op->deferred && op->lkey[k] >= left->n_partition;
  if (rc) {
    td_schema_reset(&def);
    join_free(op);
    return rc;
  }
  /* Build and subscribe to both sides with no cycle in between. */
  td_graph *g = left->service->graph;
  bool live = left->refreshing;
  if (live) td_graph_lock(g);
  rc = (op->deferred ? td_derived_new_lazy : td_derived_new)(left, &def, &join_vt, op, out, err);
  td_schema_reset(&def);
  if (rc == TD_OK && live && right->refreshing) {
    (*out)->defer = true;
    rc = td_table_add_listener(right, on_right, *out, &op->right_listener, err);
  }
  if (live) td_graph_unlock(g);
  if (rc && *out) {
    td_table_release(*out);
    *out = NULL;
  }
  return rc;
}

int td_table_join(td_table *left, td_table *right, td_join_type type, const char *const *keys, int64_t n_keys,
                  td_table **out, td_error *err) {
  return join_make(left, right, J_HASH, type, keys, n_keys, NULL, false, out, err);
}

/* ---- deferred static joins: folded into an aggregation chunk by chunk ---- */

int td__join_deferred(td_table *left, td_table *right, td_join_type type, const char *const *keys, int64_t n_keys,
                      td_table **out, td_error *err) {
  bool defer = (type == TD_JOIN_INNER || type == TD_JOIN_LEFT) && left->kind == TD_TABLE_SOURCE &&
               !left->refreshing && !right->refreshing;
  return join_make(left, right, J_HASH, type, keys, n_keys, NULL, defer, out, err);
}

bool td__join_pending(const td_table *t) {
  return t && t->kind == TD_TABLE_DERIVED && t->op_vt == &join_vt && ((const join_op *)t->op)->deferred &&
         atomic_load(&((td_table *)t)->pending);
}

int td__join_fold_ready(td_table *t, int64_t left_rows, td_error *err) {
  join_op *op = t->op;
  int rc = sync_right(op, err);
  if (rc == TD_OK && op->kind != J_HASH) rc = sort_groups(&op->ix, t->threads, err); /* probes only read */
  if (rc == TD_OK) rc = one_rows(op, err);
  return rc ? rc : right_dicts(op, left_rows, &op->rdict, err);
}

static _Atomic int64_t fold_chunks;

int64_t td__join_fold_chunks(void) { return atomic_load(&fold_chunks); }

int td__join_fold(td_table *t, td_snapshot *lsnap, int64_t begin, int64_t end, const int64_t *cols, int64_t n_cols,
                  td__join_fold_fn fold, void *ctx, const atomic_bool *stop, td_error *err) {
  const join_op *op = t->op;
  int64_t nl = op->L.n_cols, n_out = nl + op->n_out_right, ns = 0;
  bool *need = td_calloc((size_t)n_out + 1, sizeof *need);
  int64_t *scols = td_calloc((size_t)nl + 1, sizeof *scols);
  td_colview *views = td_calloc((size_t)nl + 1, sizeof *views);
  td_shared_array **owners = td_calloc((size_t)nl + 1, sizeof *owners);
  const td_value **consts = td_calloc((size_t)nl + 1, sizeof *consts);
  int rc = need && scols && views && owners && consts ? TD_OK : td_err_nomem(err, "joining");
  for (int64_t i = 0; rc == TD_OK && i < n_cols; i++) need[cols[i]] = true;
  for (int64_t k = 0; rc == TD_OK && k < op->n_keys; k++) need[op->lkey[k]] = true;
  if (rc == TD_OK && op->kind != J_HASH) need[op->lon] = true;
  for (int64_t i = 0; rc == TD_OK && i < nl; i++)
    if (need[i]) scols[ns++] = i;
  td_scan sc;
  bool scanning = false;
  if (rc == TD_OK) rc = td_scan_init(&sc, t->source, lsnap, scols, ns, begin, end, err);
  scanning = rc == TD_OK;
  for (int64_t k = 0; scanning && k < ns; k++) { /* the reader takes codes; the probe, of a single key */
    bool key = false;
    for (int64_t j = 0; j < op->n_keys; j++) key = key || op->lkey[j] == scols[k];
    if (!key || (op->n_keys == 1 && op->cls[0] == KC_STR)) td_scan_allow_codes(&sc, k);
  }
  dict_memo memo = {0};
  pairs p = {0};
  while (rc == TD_OK && !(stop && atomic_load_explicit(stop, memory_order_relaxed))) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    for (int64_t k = 0; k < ns; k++) {
      views[scols[k]] = ch.views[k];
      owners[scols[k]] = ch.owners[k];
      consts[scols[k]] = ch.consts[k];
    }
    bool const_key = op->kind != J_HASH && consts[op->lon]; /* a partition column: a constant's view holds no rows */
    for (int64_t k = 0; k < op->n_keys; k++) const_key = const_key || consts[op->lkey[k]];
    if (const_key) {
      rc = td_err(err, TD_EUNSUPPORTED, "a deferred join's key is a partition column");
      break;
    }
    store view = {.n_cols = nl, .n = ch.length, .views = views};
    const td_colview *kv = op->n_keys == 1 ? &views[op->lkey[0]] : NULL;
    if (kv && kv->codes && kv->dict) rc = memo_chunk(op, &memo, kv, ch.length, err);
    p.n = 0;
    if (rc == TD_OK) rc = probe_rows(op, &view, 0, ch.length, &memo, &p, NULL, err);
    td_dchunk *c = NULL;
    td_snapshot *one = NULL;
    if (rc == TD_OK && p.n > 0) rc = build_chunk(op, &view, consts, owners, op->rdict, need, &p, &c, err);
    if (rc == TD_OK && c) rc = td_snapshot_derived(NULL, &c, 1, lsnap->version, &one, err);
    td_dchunk_release(c);
    if (rc == TD_OK && one) {
      atomic_fetch_add_explicit(&fold_chunks, 1, memory_order_relaxed);
      rc = fold(ctx, one, err);
    }
    td_snapshot_release(one);
  }
  if (scanning) td_scan_release(&sc);
  memo_free(&memo);
  pairs_reset(&p);
  td_free(need);
  td_free(scols);
  td_free(views);
  td_free(owners);
  td_free(consts);
  return rc;
}

int td_table_natural_join(td_table *left, td_table *right, const char *const *keys, int64_t n_keys, td_table **out,
                          td_error *err) {
  return join_make(left, right, J_HASH, TD_JOIN_NATURAL, keys, n_keys, NULL, false, out, err);
}

int td_table_aj(td_table *left, td_table *right, const char *const *keys, int64_t n_keys, const char *on,
                td_table **out, td_error *err) {
  return join_make(left, right, J_AJ, TD_JOIN_LEFT, keys, n_keys, on, false, out, err);
}

int td_table_raj(td_table *left, td_table *right, const char *const *keys, int64_t n_keys, const char *on,
                 td_table **out, td_error *err) {
  return join_make(left, right, J_RAJ, TD_JOIN_LEFT, keys, n_keys, on, false, out, err);
}

int td__asof_join(td_table *left, td_table *right, const char *const *keys, int64_t n_keys, const char *on,
                  bool reverse, bool inner, bool defer, td_table **out, td_error *err) {
  defer = defer && left->kind == TD_TABLE_SOURCE && !left->refreshing && !right->refreshing;
  return join_make(left, right, reverse ? J_RAJ : J_AJ, inner ? TD_JOIN_INNER : TD_JOIN_LEFT, keys, n_keys, on, defer,
                   out, err);
}
