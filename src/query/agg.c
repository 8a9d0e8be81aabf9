/*
 * query/agg.c - incremental hash aggregation.
 *
 * Groups live in an open-addressing hash table (slot -> group id + 1; the
 * hash of every group is kept).  A batch is processed in chunks of rows in
 * two phases: (1) map every row to a group id, (2) for each aggregate, a
 * loop specialized by aggregate kind, input type and nullability folds the
 * input into per-group state arrays indexed by group id.
 *
 * Fast paths:
 *   - One integer key: a direct map (key - dbase -> group id) over the
 *     window of keys seen so far while their range is small, remapped when a
 *     key falls outside and the range still fits; other keys go through the
 *     hash table.  With a single aggregate the lookup and the fold are fused
 *     into one loop (no group-id buffer).
 *   - One utf8 key: keys of at most 8 bytes are read with one 8-byte load and
 *     looked up in an index holding them inline (word + length -> group);
 *     longer keys go through the hash table (precomputed hashes, length +
 *     memcmp).  Fused with a single aggregate like the integer key.
 *   - All keys constant (partition columns): one lookup per batch.
 * Changed-group tracking: a group is recorded the first time a batch touches
 * it (per-group epoch); once every group has been touched the loops stop
 * checking.  Aggregates whose state needs a per-group flag (sum: non-empty,
 * integer min/max: has a value) set it once per touched group after the
 * batch when the input has no nulls; min/max keep a sentinel (+-max, +-inf)
 * while unset.
 */
#include "query/agg.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/dict.h"
#include "query/par.h"
#include "query/vec.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/hindex.h"

typedef struct str_slot {
  char *p;
  size_t len;
} str_slot;

/* A block of a key store's string bytes (store.bump), its bytes after it. */
typedef struct str_chunk {
  struct str_chunk *next;
} str_chunk;
enum { STR_CHUNK = 64 << 10 };

/* Per-group values of one key or one aggregate. */
typedef struct store {
  td_phys ph;
  int64_t *i;
  double *f;
  str_slot *s;
  td_i128 *d;   /* decimal128 values and sums */
  uint8_t *nul; /* keys, first/last: value is null */
  uint8_t *has; /* aggregates: a value has been set (a sum: one of its inputs was not null) */
  int64_t *cnt; /* count, count(*), avg and the moments: their rows */
  uint8_t ovf; /* an integer sum overflowed int64 */
  uint8_t imp; /* untracked states (td_agg_set_bulk): the flags the batches so far left to
                  post_batch, IMP_* */
  int scale;   /* decimal128 input: its scale */
  /* keys (set once a group): strings packed into chunks, not one allocation
   * each (millions of groups: millions of mallocs, and the workers of a
   * parallel aggregation share the program's one malloc arena and its
   * lock: cli/main.c) */
  bool bump;
  str_chunk *chunks;
  char *cur;
  size_t left;
} store;

/* An untracked state's aggregate: no batch yet; every group has a value
 * (a sum, an integer min/max: its has flag set when the group is made, not
 * after each batch by post_batch); the loops set the flags themselves. */
enum { IMP_NONE, IMP_POST, IMP_SET };

enum {
  CHUNK = 2048,        /* rows mapped per group-id buffer */
  TRACK_STEP = 256,    /* rows between checks for "every group touched" */
  DMAP_MIN = 1024,     /* smallest direct map */
  DMAP_MAX = 65536,    /* key ranges up to this use a direct map */
  DMAP_DENSE = 4,      /* wider ranges too while they hold a group per DMAP_DENSE keys */
  DMAP_DENSE_MAX = 1 << 24 /* ... up to this many entries (64 MiB) */
};
/* "no group" in the direct map; group ids stay below 2^31 (grow_groups), so
 * the high bit tells unknown entries apart. */
#define NO_GROUP UINT32_MAX

/* A hash-table slot: the top 32 bits of the group's key hash (a tag) over
 * group id + 1; 0 = empty.  A probe passes the slots of other keys on their
 * tags, without reading those groups' hashes or keys (8 bytes a group at
 * random places: with millions of groups, a wait for memory each). */
typedef uint64_t tslot;
static inline tslot slot_make(uint64_t h, uint32_t g) { return (h & ~(uint64_t)UINT32_MAX) | ((uint64_t)g + 1); }
/* Whether slot e (not empty) may hold a key of hash h: its tag is h's. */
static inline bool slot_tagged(tslot e, uint64_t h) { return ((e ^ h) >> 32) == 0; }
static inline uint32_t slot_group(tslot e) { return (uint32_t)e - 1u; }

/* The direct map's entry d: its group, NO_GROUP (0 - 1) when unknown. */
static inline uint32_t dmap_at(const uint32_t *m, uint64_t d) { return m[d] - 1u; }

/* A utf8 key of at most 8 bytes: its bytes zero-padded, its length. */
typedef struct sslot {
  uint64_t w;
  uint32_t len;
  uint32_t g; /* NO_GROUP: empty slot */
} sslot;

struct td_agg {
  int64_t n_keys, n_aggs;
  td_agg_key *keys;
  td_agg_spec *specs;
  store *kst, *ast;
  int64_t n_groups, cap;
  /* hash table of tslot (0 = empty) */
  tslot *table;
  uint64_t *hashes; /* per group; not written for a group made lazy (group_hash) */
  int64_t table_cap, n_tabled;
  /* Groups from defer_from on (-1: none) were made by a merge without a
   * table slot (their hashes written; groups the lazy direct map covers
   * need none): every lookup first puts them in (table_sync).  A one-shot
   * query's last merge appends millions of new groups and never looks one
   * up again.  `defer`: the merge's walk is making such groups. */
  int64_t defer_from;
  bool defer;
  /* one integer key: a group whose key the direct map covers is there and
   * maybe not in the table (the map is the index of its range); ends, the
   * table completed, before any lookup but int_miss and find_group */
  bool lazy;
  uint8_t *changed;
  uint32_t *changed_list;
  int64_t n_changed;
  /* every group changed (an untracked state's end): neither the flags nor
   * the list are kept until td_agg_take_changed */
  bool all_changed;
  bool moved; /* td_agg_result_move took arrays: only counts and td_agg_free from here on */
  /* one integer key: direct map of keys in [dbase, dbase + dcap) */
  uint32_t *dmap; /* group id + 1, 0 = unknown (look in the hash table): a td_grow_block
                    block, grown in place when it can */
  int64_t dbase, dcap; /* dcap: 0 or a power of two */
  int64_t kmin, kmax; /* range of the keys looked up in the hash table */
  bool krange;
  uint32_t null_g;  /* one key: group of the null key, NO_GROUP = unknown */
  uint32_t dnull[3]; /* dict2_map: group of a null string with false, true, null */
  /* one utf8 key: index of the keys of at most 8 bytes (open addressing) */
  struct sslot *stab;
  int64_t stab_cap, stab_n;
  /* one utf8 key arriving as dictionary codes: group of each entry of the
   * dictionary with id dgid_id (NO_GROUP: not seen yet) */
  uint32_t *dgid;
  int64_t dgid_cap;
  struct sidmap *sm; /* dict2_map's strings across dictionaries, NULL until needed */
  uint64_t dgid_id;
  int64_t dgid_n;                           /* its entries */
  int dgid_nparts;                          /* its parts (td_dict.n_parts) */
  uint64_t dgid_part_id[TD_DICT_PARTS];
  int64_t dgid_part_base[TD_DICT_PARTS];
  /* dicti_map: its rows and lookups so far; off once most rows looked up
   * (the strings are then decoded, map_multi) */
  int64_t dicti_rows, dicti_misses;
  bool dicti_off;
  uint32_t *gids;   /* scratch: group of each row of a chunk */
  uint64_t *hbuf;   /* scratch: combined key hash of each row of a chunk */
  /* bulk mode begun without groups (td_agg_set_bulk): batches record no
   * touched or changed groups; every group is changed when it ends
   * (leave_untracked: all_changed), and the flags post_batch sets are
   * written when a group is made (store.imp) */
  bool untracked;
  bool bulk; /* td_agg_set_bulk(a, true) until td_agg_settle */
  uint32_t *epoch;   /* per group: last batch that touched it */
  uint32_t *touched; /* groups touched by the current batch */
  int64_t n_touched;
  uint32_t cur_epoch;
  td_aggx **ext; /* per aggregate: the state of a kind of query/agg_more.h, else NULL */
  store *vst;    /* per aggregate: arg_max/arg_min's compared value (ast holds the arg; its
                    has flag: a value was seen), else an empty store */
  int64_t *col2;    /* per aggregate: arg_max/arg_min's value column (td_agg_set_arg_value) */
  double **mom;     /* per aggregate: a pair statistic's state (MW doubles a group), else NULL */
  td_type_id *type2; /* ... and its type, NONE until set */
  struct dseen *dseen; /* per aggregate: distinct_codes' entries seen (NULL until used) */
  const td_batch *batch; /* the batch td_agg_update folds (its code views: gdistinct_codes) */
  struct partkeys *pk; /* keys mixing constants and data columns (part_update), NULL until used */
  /* an index state of part_update (no aggregates): called with the groups
   * of each chunk of rows once they are mapped */
  int (*sink)(void *ctx, const uint32_t *gids, int64_t j0, int64_t j1, td_error *err);
  void *sink_ctx;
};

/* A filter in front of a global count(DISTINCT)'s set: what is marked here
 * is in the set already.  A utf8 input arriving as codes: the entries of
 * dictionary `id` (seen, a byte each).  An integer input: the values
 * lo .. lo + nbits - 1 (bits); losing marks only costs lookups again.
 * `exact`: the integer bitmap is the state instead, the set is empty (see
 * distinct_ints).  `spilled`: values went to the set, or will when the
 * states' sets merge (td_agg_merge_all merges them after every state's
 * bitmap): never exact again, though the set may look empty still. */
typedef struct dseen {
  uint64_t id;
  uint8_t *seen;
  int64_t cap;
  uint64_t *hash; /* by groups (gdistinct_codes): each entry's key hash, of dictionary id, */
  uint32_t *lastg; /* and the last group it entered the set for (NO_GROUP: none) */
  int64_t hcap;
  uint64_t *bits;
  int64_t lo, nbits;
  bool exact, spilled;
  /* grouped count(DISTINCT) of integers in bulk mode (gbits_add): gw words
   * of marks a group, for the values glo .. glo + 64 * gw - 1, for the
   * first gcap groups; gone once the marks entered the set (gbits_flush) */
  uint64_t *gb;
  int64_t gw, gcap, glo;
  bool goff;
} dseen;

/* An int64 sum of aggregate k that left int64. */
static int sum_overflow(td_error *err, int64_t k) {
  return td_err(err, TD_ERANGE, "the integer sum of aggregate %lld does not fit in int64", (long long)k);
}

static int moved_error(td_error *err) {
  return td_err(err, TD_EINVAL, "the aggregation's result arrays were moved out (td_agg_result_move)");
}

/* ---- growth ---- */

/* The per-group arrays grow as td_grow_block blocks (a million groups: no
 * copy of every array at each doubling, nor the smaller copies left behind
 * in the heap, already faulted in); new slots are zero. */
static int grow_array(void **p, int64_t cap, size_t width) {
  return td_grow_block(p, (size_t)cap * width) ? TD_ENOMEM : TD_OK;
}

static int grow_store(store *s, bool agg, int64_t cap, int64_t old) {
  int rc = TD_OK;
  if (s->ph == TD_PHYS_F64) rc = grow_array((void **)&s->f, cap, sizeof *s->f);
  else if (s->ph == TD_PHYS_STR) /* store_set reads a slot before it writes it: its pages written now (a
                                      zero page read, then written, is a TLB flush of every worker) */
    rc = td_grow_block_probed((void **)&s->s, (size_t)cap * sizeof *s->s) ? TD_ENOMEM : TD_OK;
  else if (s->ph == TD_PHYS_D128) rc = grow_array((void **)&s->d, cap, sizeof *s->d);
  else rc = grow_array((void **)&s->i, cap, sizeof *s->i);
  if (!rc) rc = grow_array((void **)&s->nul, cap, 1);
  if (!rc && agg) rc = grow_array((void **)&s->has, cap, 1);
  if (!rc && agg) rc = grow_array((void **)&s->cnt, cap, sizeof *s->cnt);
  if (!rc && agg && s->ph != TD_PHYS_F64) rc = grow_array((void **)&s->f, cap, sizeof *s->f);
  return rc;
}

static void free_store(store *s, int64_t n) {
  if (s->s && !s->bump)
    for (int64_t g = 0; g < n; g++) td_free(s->s[g].p);
  for (str_chunk *c = s->chunks, *next; c; c = next) {
    next = c->next;
    td_free(c);
  }
  td_free_block(s->i);
  td_free_block(s->f);
  td_free_block(s->s);
  td_free_block(s->d);
  td_free_block(s->nul);
  td_free_block(s->has);
  td_free_block(s->cnt);
}

static inline bool is_arg(td_agg_kind k) { return k >= TD_AGG_ARG_MAX && k <= TD_AGG_ARG_MIN_NULL; }
/* Moment statistics keep, per group, MW doubles at mom[k][MW * g]: a pair
 * statistic the means of y and x, the squared deviations of y and x, the
 * co-moment (DuckDB's Welford-style updates); skewness and kurtosis the sums
 * of x, x^2, x^3, x^4.  The count is the store's cnt. */
enum { MW = 5, M_MY = 0, M_MX, M_DY, M_DX, M_C };
static inline bool is_argmax(td_agg_kind k) { return k == TD_AGG_ARG_MAX || k == TD_AGG_ARG_MAX_NULL; }
static inline bool is_bits(td_agg_kind k) { return k == TD_AGG_BIT_AND || k == TD_AGG_BIT_OR || k == TD_AGG_BIT_XOR; }

static int grow_groups(td_agg *a, td_error *err) {
  if (a->n_groups < a->cap) return TD_OK;
  if (a->cap >= (int64_t)UINT32_MAX / 2) return td_err(err, TD_ERANGE, "too many groups");
  int64_t cap = a->cap ? a->cap * 2 : 16;
  int rc = grow_array((void **)&a->hashes, cap, sizeof *a->hashes);
  if (!rc) rc = grow_array((void **)&a->changed, cap, 1);
  if (!rc) rc = grow_array((void **)&a->changed_list, cap, sizeof *a->changed_list);
  if (!rc) rc = grow_array((void **)&a->epoch, cap, sizeof *a->epoch);
  if (!rc) rc = grow_array((void **)&a->touched, cap, sizeof *a->touched);
  for (int64_t k = 0; !rc && k < a->n_keys; k++) rc = grow_store(&a->kst[k], false, cap, a->cap);
  for (int64_t k = 0; !rc && k < a->n_aggs; k++) rc = grow_store(&a->ast[k], true, cap, a->cap);
  for (int64_t k = 0; !rc && k < a->n_aggs; k++)
    if (a->type2[k] != TD_TYPE_NONE) rc = grow_store(&a->vst[k], false, cap, a->cap);
  for (int64_t k = 0; !rc && k < a->n_aggs; k++)
    if (td_agg_is_moment(a->specs[k].kind)) rc = grow_array((void **)&a->mom[k], cap * MW, sizeof(double));
  if (rc) return td_err_nomem(err, "growing an aggregation");
  for (int64_t k = 0; k < a->n_aggs; k++)
    if (a->ext[k] && (rc = td__aggx_grow(a->ext[k], cap, err)) != TD_OK) return rc;
  a->cap = cap;
  return TD_OK;
}

/* Whether group g's key is in the direct map's range (its index while lazy). */
static inline bool in_dmap(const td_agg *a, uint32_t g) {
  return !a->kst[0].nul[g] && (uint64_t)a->kst[0].i[g] - (uint64_t)a->dbase < (uint64_t)a->dcap;
}

/* The key hash of group g.  A group the direct map covers while lazy may
 * have none written (new_group_in): one integer key hashes as td_mix64 of
 * its value, which is also what a written one holds. */
static inline uint64_t group_hash(const td_agg *a, uint32_t g) {
  return a->lazy && in_dmap(a, g) ? td_mix64((uint64_t)a->kst[0].i[g]) : a->hashes[g];
}

/* Files group g of hash h in the first free slot of its probe. */
static inline void table_put(tslot *table, uint64_t mask, uint64_t h, uint32_t g) {
  uint64_t s = h & mask;
  while (table[s]) s = (s + 1) & mask;
  table[s] = slot_make(h, g);
}

/* Files groups from..n_groups-1 (those the lazy direct map does not
 * index) in table (cap slots, room for them); returns how many.  A table
 * past the caches has the slot of the group 16 on fetched ahead (the
 * writes land at random places; the hashes are read in order). */
static int64_t table_fill(td_agg *a, tslot *table, int64_t cap, int64_t from) {
  const uint64_t mask = (uint64_t)cap - 1;
  const bool ahead = cap >= 1 << 16 && !a->lazy;
  int64_t n = 0;
  for (int64_t g = from; g < a->n_groups; g++) {
    if (ahead && g + 16 < a->n_groups) __builtin_prefetch(&table[a->hashes[g + 16] & mask], 1);
    if (a->lazy && in_dmap(a, (uint32_t)g)) continue;
    table_put(table, mask, a->hashes[g], (uint32_t)g);
    n++;
  }
  return n;
}

static void rehash(td_agg *a, tslot *table, int64_t cap) {
  a->n_tabled = table_fill(a, table, cap, 0);
  a->defer_from = -1;
}

/* Whether a table of cap slots holds n groups: a load of at most 3/4.  A
 * probe passes other keys' slots on their tags, 8 to a cache line, so a
 * fuller table costs little, and its memory is fresh pages at every
 * doubling (12.5M groups at a load of at most 1/2: peak RSS 960 MB, at 3/4
 * 700, no slower). */
static inline bool table_holds(int64_t n, int64_t cap) { return n * 4 <= cap * 3; }

/* Room in the hash table for `extra` more groups (table_holds). */
static int reserve_table(td_agg *a, int64_t extra, td_error *err) {
  if (table_holds(a->n_tabled + extra, a->table_cap)) return TD_OK;
  int64_t cap = a->table_cap ? a->table_cap * 2 : 64;
  while (!table_holds(a->n_tabled + extra, cap)) cap *= 2;
  tslot *t = td_calloc_probed((size_t)cap, sizeof *t);
  if (!t) return td_err_nomem(err, "growing an aggregation hash table");
  rehash(a, t, cap);
  td_free(a->table);
  a->table = t;
  a->table_cap = cap;
  return TD_OK;
}

static int grow_table(td_agg *a, td_error *err) { return reserve_table(a, 1, err); }

/* Puts the groups a merge made without a table slot (defer_from) in the
 * table: called before any lookup. */
static int table_sync(td_agg *a, td_error *err) {
  if (a->defer_from < 0) return TD_OK;
  /* at most this many need slots (the lazy map indexes some of them) */
  const int64_t n = a->n_groups - a->defer_from;
  if (!table_holds(a->n_tabled + n, a->table_cap)) return reserve_table(a, n, err); /* (its rehash files them) */
  a->n_tabled += table_fill(a, a->table, a->table_cap, a->defer_from);
  a->defer_from = -1;
  return TD_OK;
}

/* Ends lazy mode: every group in the hash table. */
static int table_complete(td_agg *a, td_error *err) {
  if (!a->lazy) return TD_OK;
  for (int64_t g = 0; g < a->n_groups; g++) a->hashes[g] = group_hash(a, (uint32_t)g);
  a->lazy = false;
  a->n_tabled = a->n_groups;
  int64_t cap = a->table_cap ? a->table_cap : 64;
  while (!table_holds(a->n_groups + 1, cap)) cap *= 2;
  tslot *t = td_calloc_probed((size_t)cap, sizeof *t);
  if (!t) {
    a->lazy = true;
    return td_err_nomem(err, "growing an aggregation hash table");
  }
  rehash(a, t, cap);
  td_free(a->table);
  a->table = t;
  a->table_cap = cap;
  return TD_OK;
}

/* ---- creation ---- */

static void part_free(struct partkeys *pk);
static void sidmap_free(struct sidmap *sm);

void td_agg_free(td_agg *a) {
  if (!a) return;
  for (int64_t k = 0; a->kst && k < a->n_keys; k++) free_store(&a->kst[k], a->n_groups);
  for (int64_t k = 0; a->ast && k < a->n_aggs; k++) free_store(&a->ast[k], a->n_groups);
  for (int64_t k = 0; a->vst && k < a->n_aggs; k++) free_store(&a->vst[k], a->n_groups);
  td_free(a->vst);
  td_free(a->col2);
  td_free(a->type2);
  for (int64_t k = 0; a->mom && k < a->n_aggs; k++) td_free_block(a->mom[k]);
  td_free(a->mom);
  for (int64_t k = 0; a->ext && k < a->n_aggs; k++) td__aggx_free(a->ext[k]);
  td_free(a->ext);
  for (int64_t k = 0; a->dseen && k < a->n_aggs; k++)
    td_free(a->dseen[k].seen), td_free(a->dseen[k].bits), td_free(a->dseen[k].hash), td_free(a->dseen[k].lastg),
        td_free(a->dseen[k].gb);
  td_free(a->dseen);
  td_free(a->kst);
  td_free(a->ast);
  td_free(a->keys);
  td_free(a->specs);
  td_free(a->table);
  td_free_block(a->hashes);
  td_free_block(a->changed);
  td_free_block(a->changed_list);
  td_free(a->gids);
  td_free(a->hbuf);
  td_free_block(a->epoch);
  td_free_block(a->touched);
  td_free_block(a->dmap);
  td_free(a->stab);
  td_free(a->dgid);
  sidmap_free(a->sm);
  part_free(a->pk);
  td_free(a);
}

static void mark_changed(td_agg *a, uint32_t g) {
  if (a->untracked || a->all_changed || a->changed[g]) return;
  a->changed[g] = 1;
  a->changed_list[a->n_changed++] = g;
}

static int new_group(td_agg *a, uint64_t h, uint32_t *out, td_error *err);

/* Records that the current batch touched group g. */
static inline void touch(td_agg *a, uint32_t g) {
  if (a->untracked || a->epoch[g] == a->cur_epoch) return;
  a->epoch[g] = a->cur_epoch;
  a->touched[a->n_touched++] = g;
}

static int check_specs(const td_agg_spec *aggs, int64_t n, td_error *err) {
  for (int64_t k = 0; k < n; k++) {
    if (aggs[k].kind == TD_AGG_COUNT_STAR) continue;
    if (aggs[k].kind <= TD_AGG_NONE || aggs[k].kind > TD_AGG_ENTROPY)
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
  a->null_g = NO_GROUP;
  a->defer_from = -1;
  a->dnull[0] = a->dnull[1] = a->dnull[2] = NO_GROUP;
  a->kst = td_calloc((size_t)(n_keys + 1), sizeof *a->kst);
  a->ast = td_calloc((size_t)(n_aggs + 1), sizeof *a->ast);
  a->ext = td_calloc((size_t)(n_aggs + 1), sizeof *a->ext);
  a->vst = td_calloc((size_t)(n_aggs + 1), sizeof *a->vst);
  a->col2 = td_calloc((size_t)(n_aggs + 1), sizeof *a->col2);
  a->type2 = td_calloc((size_t)(n_aggs + 1), sizeof *a->type2);
  a->mom = td_calloc((size_t)(n_aggs + 1), sizeof *a->mom);
  if (!a->keys || !a->specs || !a->kst || !a->ast || !a->ext || !a->vst || !a->col2 || !a->type2 || !a->mom) {
    td_agg_free(a);
    return td_err_nomem(err, "creating an aggregation");
  }
  if (n_keys) memcpy(a->keys, keys, (size_t)n_keys * sizeof *keys);
  if (n_aggs) memcpy(a->specs, aggs, (size_t)n_aggs * sizeof *aggs);
  for (int64_t k = 0; k < n_keys; k++) a->kst[k].ph = td__phys_of(keys[k].type), a->kst[k].bump = true;
  a->lazy = n_keys == 1 && a->kst[0].ph == TD_PHYS_I64;
  for (int64_t k = 0; k < n_aggs; k++) {
    td_phys ph = td__phys_of(aggs[k].type);
    if (aggs[k].kind == TD_AGG_COUNT_STAR || aggs[k].kind == TD_AGG_COUNT) ph = TD_PHYS_I64;
    a->ast[k].ph = ph;
    if (td__aggx_kind(aggs[k].kind) && (rc = td__aggx_new(aggs[k].kind, aggs[k].type, NULL, &a->ext[k], err))) {
      td_agg_free(a);
      return rc;
    }
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

int td_agg_set_arg_value(td_agg *a, int64_t k, int64_t column, td_type_id type, td_error *err) {
  if (k < 0 || k >= a->n_aggs || !td_agg_two_inputs(a->specs[k].kind) || type == TD_TYPE_NONE || column < 0 ||
      a->type2[k] != TD_TYPE_NONE || (td_agg_is_pair_stat(a->specs[k].kind) && type != TD_TYPE_FLOAT64))
    return td_err(err, TD_EINVAL, "aggregate %lld is not an arg_max/arg_min (or a pair statistic of float64) without its "
                  "second input", (long long)k);
  a->vst[k].ph = td__phys_of(type);
  if (grow_store(&a->vst[k], false, a->cap, 0)) return td_err_nomem(err, "creating an aggregation");
  a->col2[k] = column;
  a->type2[k] = type;
  return TD_OK;
}

void td_agg_set_decimal_scale(td_agg *a, int64_t k, int scale) {
  if (k >= 0 && k < a->n_aggs) a->ast[k].scale = scale;
  if (k >= 0 && k < a->n_aggs && a->ext[k]) td__aggx_set_scale(a->ext[k], scale);
}

int td_agg_set_param(td_agg *a, int64_t k, const td_agg_param *p, td_error *err) {
  return k >= 0 && k < a->n_aggs && a->ext[k] ? td__aggx_set_param(a->ext[k], p, err) : TD_OK;
}

int64_t td_agg_overflowed(const td_agg *a) {
  for (int64_t k = 0; k < a->n_aggs; k++)
    if (a->ast[k].ovf) return k;
  return -1;
}

td_type_id td_agg_output_type(const td_agg *a, int64_t i) {
  if (i < 0 || i >= a->n_keys + a->n_aggs) return TD_TYPE_NONE;
  if (i < a->n_keys) return a->keys[i].type;
  const td_agg_spec *s = &a->specs[i - a->n_keys];
  return td_agg_result_type(s->kind, s->type);
}

/* ---- hashing and key comparison ---- */

static inline uint64_t combine(uint64_t h, uint64_t kh) { return td_mix64(h * 0x9e3779b97f4a7c15ULL + kh); }

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TD_AGG_LE 1 /* an 8-byte load masked to n bytes = the first n bytes */
#else
#define TD_AGG_LE 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TD_AGG_PREFETCH(p) __builtin_prefetch(p)
#else
#define TD_AGG_PREFETCH(p) ((void)(p))
#endif
#define ROW_SEL(j) ((int64_t)sel[j])
#define ROW_ALL(j) ((int64_t)(j))

static inline uint64_t load8(const char *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* Hash of a string of at most 8 bytes given as w (its bytes, zero-padded). */
static inline uint64_t short_str_hash(uint64_t w, size_t n) {
  return td_mix64(w ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL));
}

static uint64_t hash_bytes(const char *p, size_t n) {
  if (n <= 8) {
    uint64_t w = 0;
    if (n) memcpy(&w, p, n);
    return short_str_hash(w, n);
  }
  uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ULL;
  for (; n >= 8; p += 8, n -= 8) {
    h = (h ^ load8(p)) * 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
  }
  uint64_t w = 0;
  if (n) memcpy(&w, p, n);
  return td_mix64(h ^ w);
}

static double norm_double(double d) {
  if (isnan(d)) return NAN;
  return d == 0 ? 0.0 : d;
}

#define NULL_HASH 0x9ae16a3b2f90404fULL

static inline uint64_t f64_hash(double d) {
  d = norm_double(d);
  uint64_t bits;
  memcpy(&bits, &d, 8);
  return td_mix64(bits);
}

/* A decimal's hash, from its 128-bit integer (the same for a value and a
 * vector row). */
static uint64_t d128_hash(td_i128 x) {
  const unsigned __int128 u = (unsigned __int128)x;
  return td_mix64(td_mix64((uint64_t)u) ^ (uint64_t)(u >> 64));
}

/* The hash of a row is the value hash of its key with one key, else the
 * values hashes combined. */
static uint64_t value_hash(const td_value *v, td_phys ph) {
  if (v->is_null) return NULL_HASH;
  switch (ph) {
    case TD_PHYS_F64: return f64_hash(v->v.f);
    case TD_PHYS_STR: return hash_bytes(v->v.s.ptr, v->v.s.len);
    case TD_PHYS_BOOL: return td_mix64((uint64_t)v->v.b + 1);
    case TD_PHYS_D128: return d128_hash(td_dec_of(v));
    default: return td_mix64((uint64_t)v->v.i);
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
    case TD_PHYS_D128: {
      td_value d = td_dec_value(0, 0, s->d[g]);
      v.v.d = d.v.d;
      break;
    }
    default: v.v.i = s->i[g]; break;
  }
  return v;
}

static int cmp_values(const td_value *x, const td_value *y, td_phys ph) {
  switch (ph) {
    case TD_PHYS_F64: /* NaN is greatest, all NaNs equal */
      if (isnan(x->v.f) || isnan(y->v.f)) return (int)isnan(x->v.f) - (int)isnan(y->v.f);
      return x->v.f < y->v.f ? -1 : x->v.f > y->v.f;
    case TD_PHYS_BOOL: return (int)x->v.b - (int)y->v.b;
    case TD_PHYS_STR: {
      size_t n = x->v.s.len < y->v.s.len ? x->v.s.len : y->v.s.len;
      int c = n ? memcmp(x->v.s.ptr, y->v.s.ptr, n) : 0;
      if (c) return c;
      return x->v.s.len < y->v.s.len ? -1 : x->v.s.len > y->v.s.len;
    }
    case TD_PHYS_D128: {
      td_i128 a = td_dec_of(x), b = td_dec_of(y);
      return a < b ? -1 : a > b;
    }
    default: return x->v.i < y->v.i ? -1 : x->v.i > y->v.i;
  }
}

/* Whether key value x equals the key stored for group g (nulls equal). */
static bool value_matches(const store *s, int64_t g, td_type_id type, const td_value *x) {
  if (x->is_null != (s->nul[g] != 0)) return false;
  if (x->is_null) return true;
  td_value y = store_value(s, g, type);
  if (s->ph == TD_PHYS_F64)
    return norm_double(x->v.f) == norm_double(y.v.f) || (isnan(x->v.f) && isnan(y.v.f));
  return cmp_values(x, &y, s->ph) == 0;
}

static bool key_equal(const td_agg *a, uint32_t g, const td_vec *kv, int64_t r) {
  for (int64_t k = 0; k < a->n_keys; k++) {
    td_value x = td__vec_value(&kv[k], r, a->keys[k].type);
    if (!value_matches(&a->kst[k], g, a->keys[k].type, &x)) return false;
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
    case TD_PHYS_D128: s->d[g] = td_dec_of(v); break;
    case TD_PHYS_STR: {
      str_slot *sl = &s->s[g];
      if (s->bump) { /* into the current chunk, or a new one */
        const size_t len = v->v.s.len;
        if (len > s->left) {
          const size_t want = len > STR_CHUNK / 4 ? len : STR_CHUNK;
          str_chunk *c = td_malloc(sizeof *c + want);
          if (!c) return td_err_nomem(err, "storing a string in an aggregation");
          c->next = s->chunks;
          s->chunks = c;
          s->cur = (char *)(c + 1);
          s->left = want;
        }
        if (len) memcpy(s->cur, v->v.s.ptr, len);
        sl->p = s->cur;
        sl->len = len;
        s->cur += len;
        s->left -= len;
        break;
      }
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

/* Groups [g0, g1)'s starting values: each aggregate's (min/max: a sentinel
 * while no value was seen, see the fold ops; product and bit_and: their
 * identity; else 0) and the flag or count its fold tests, written even when
 * zero: a fresh page first read maps the shared zero page, and the write
 * after it copies the page and flushes the TLB of every CPU running this
 * process (an interrupt per page under threads).  Marked changed. */
static void init_groups(td_agg *a, uint32_t g0, uint32_t g1) {
  for (int64_t k = 0; k < a->n_aggs; k++) {
    store *st = &a->ast[k];
    const td_agg_kind kind = a->specs[k].kind;
    const bool mn = kind == TD_AGG_MIN, mx = kind == TD_AGG_MAX;
    const bool bits = kind == TD_AGG_BIT_OR || kind == TD_AGG_BIT_XOR;
    if (kind == TD_AGG_PRODUCT || kind == TD_AGG_AVG) {
      const double v = kind == TD_AGG_PRODUCT ? 1.0 : 0;
      for (uint32_t g = g0; g < g1; g++) st->f[g] = v;
    } else if (kind == TD_AGG_BIT_AND) {
      for (uint32_t g = g0; g < g1; g++) st->i[g] = -1;
    } else if (st->ph == TD_PHYS_I64 && (kind == TD_AGG_SUM || mn || mx || bits)) {
      const int64_t v = mn ? INT64_MAX : mx ? INT64_MIN : 0;
      for (uint32_t g = g0; g < g1; g++) st->i[g] = v;
    } else if (st->ph == TD_PHYS_F64 && (kind == TD_AGG_SUM || mn || mx)) {
      const double v = mn ? INFINITY : mx ? -INFINITY : 0;
      for (uint32_t g = g0; g < g1; g++) st->f[g] = v;
    }
    if (kind == TD_AGG_COUNT || kind == TD_AGG_COUNT_STAR || kind == TD_AGG_AVG)
      memset(st->cnt + g0, 0, (size_t)(g1 - g0) * sizeof *st->cnt);
    /* an untracked state's implied flag (store.imp) written now, where the
     * group's other values are, not by settle_flags for every group at the
     * end (a serial pass over fresh memory after parallel workers) */
    if (a->untracked && st->imp == IMP_POST) memset(st->has + g0, 1, g1 - g0);
    else if (kind == TD_AGG_FIRST || kind == TD_AGG_ANY_VALUE || kind == TD_AGG_SUM || ((mn || mx) && st->ph == TD_PHYS_F64))
      memset(st->has + g0, 0, g1 - g0);
  }
  for (uint32_t g = g0; g < g1; g++) mark_changed(a, g);
}

/* A new group of key hash h, in the hash table unless `untabled` (lazy
 * mode, a key the direct map covers: the caller puts it there). */
static int new_group_in(td_agg *a, uint64_t h, bool untabled, uint32_t *out, td_error *err) {
  int rc = grow_groups(a, err);
  if (!rc && !untabled && !a->defer) rc = grow_table(a, err);
  if (rc) return rc;
  uint32_t g = (uint32_t)a->n_groups++;
  if (!untabled) { /* (an untabled group's hash is its key's: group_hash) */
    a->hashes[g] = h;
    if (!a->defer) {
      table_put(a->table, (uint64_t)a->table_cap - 1, h, g);
      a->n_tabled++;
    } else if (a->defer_from < 0) { /* its slot later (table_sync) */
      a->defer_from = g;
    }
  }
  init_groups(a, g, g + 1);
  *out = g;
  return TD_OK;
}

static int new_group(td_agg *a, uint64_t h, uint32_t *out, td_error *err) { return new_group_in(a, h, false, out, err); }

static int add_group(td_agg *a, uint64_t h, const td_vec *kv, int64_t r, uint32_t *g,
                     td_error *err) {
  int rc = new_group(a, h, g, err);
  for (int64_t k = 0; !rc && k < a->n_keys; k++) {
    td_value v = td__vec_value(&kv[k], r, a->keys[k].type);
    rc = store_set(&a->kst[k], *g, &v, err);
  }
  return rc;
}

/* ---- mapping rows to groups ---- */

/* Row j of a batch (through the selection vector if any). */
#define ROW(j) (sel ? (int64_t)sel[j] : (int64_t)(j))

static uint64_t row_hash(const td_agg *a, const td_vec *kv, int64_t r) {
  uint64_t h = 0;
  for (int64_t k = 0; k < a->n_keys; k++) {
    td_value v = td__vec_value(&kv[k], r, a->keys[k].type);
    uint64_t kh = value_hash(&v, kv[k].ph);
    h = a->n_keys == 1 ? kh : combine(h, kh);
  }
  return h;
}

/* Group of row r through the hash table, added if new (any keys). */
static int lookup_row(td_agg *a, const td_vec *kv, int64_t r, uint32_t *out, td_error *err) {
  int rc = table_complete(a, err);
  if (rc) return rc;
  uint64_t h = row_hash(a, kv, r);
  int64_t mask = a->table_cap - 1, s = (int64_t)(h & (uint64_t)mask);
  tslot e;
  while ((e = a->table[s])) {
    if (slot_tagged(e, h) && key_equal(a, slot_group(e), kv, r)) {
      *out = slot_group(e);
      return TD_OK;
    }
    s = (s + 1) & mask;
  }
  return add_group(a, h, kv, r, out, err);
}

/* Group ids of rows j0..j1-1 into gids[0..] (generic: any keys). */
static int map_generic(td_agg *a, const td_vec *kv, const uint32_t *sel, int64_t j0, int64_t j1,
                       td_error *err) {
  bool all_const = true;
  for (int64_t k = 0; k < a->n_keys; k++) all_const &= kv[k].is_const;
  uint32_t g = 0;
  for (int64_t j = j0; j < j1; j++) {
    if (!all_const || j == j0) {
      int rc = lookup_row(a, kv, ROW(j), &g, err);
      if (rc) return rc;
      touch(a, g);
    }
    a->gids[j - j0] = g;
  }
  return TD_OK;
}

/*
 * Any keys, column-wise: the combined hash of every row of rows j0..j1-1 is
 * computed one key column at a time (the same hash row_hash gives), then
 * each row probes the table comparing keys straight from the vectors and
 * the group stores: no td_value per row.  Only a new group boxes its keys.
 */
static void hash_key_column(const td_vec *v, const uint32_t *sel, int64_t j0, int64_t j1, uint64_t *H,
                            bool first, bool single) {
  const int64_t n = j1 - j0;
#define TD_HASH_ROWS(EXPR)                                          \
  for (int64_t j = 0; j < n; j++) {                                 \
    const int64_t r = sel ? (int64_t)sel[j0 + j] : j0 + j;          \
    const uint64_t kh = v->valid && !v->valid[r] ? NULL_HASH : (EXPR); \
    H[j] = single ? kh : combine(first ? 0 : H[j], kh);             \
  }
  if (v->is_const) {
    uint64_t kh = value_hash(&v->c, v->ph);
    for (int64_t j = 0; j < n; j++) H[j] = single ? kh : combine(first ? 0 : H[j], kh);
    return;
  }
  switch (v->ph) {
    case TD_PHYS_I64: TD_HASH_ROWS(td_mix64((uint64_t)v->i64[r])); break;
    case TD_PHYS_BOOL: TD_HASH_ROWS(td_mix64((uint64_t)(v->b8[r] != 0) + 1)); break;
    case TD_PHYS_F64: TD_HASH_ROWS(f64_hash(v->f64[r])); break;
    case TD_PHYS_STR:
      TD_HASH_ROWS(hash_bytes(v->strs + v->offs[r], (size_t)(v->offs[r + 1] - v->offs[r])));
      break;
    case TD_PHYS_D128: TD_HASH_ROWS(d128_hash(td_dec_load(v->d128 + r * 16))); break;
  }
#undef TD_HASH_ROWS
}

/* Whether row r of the key vectors equals group g's keys. */
static bool row_matches(const td_agg *a, uint32_t g, const td_vec *kv, int64_t r) {
  for (int64_t k = 0; k < a->n_keys; k++) {
    const td_vec *v = &kv[k];
    const store *s = &a->kst[k];
    if (v->is_const) {
      if (!value_matches(s, g, a->keys[k].type, &v->c)) return false;
      continue;
    }
    const bool is_null = v->valid && !v->valid[r];
    if (is_null != (s->nul[g] != 0)) return false;
    if (is_null) continue;
    switch (v->ph) {
      case TD_PHYS_I64:
        if (s->i[g] != v->i64[r]) return false;
        break;
      case TD_PHYS_BOOL:
        if ((s->i[g] != 0) != (v->b8[r] != 0)) return false;
        break;
      case TD_PHYS_F64: {
        double x = v->f64[r], y = s->f[g];
        if (!(norm_double(x) == norm_double(y) || (isnan(x) && isnan(y)))) return false;
        break;
      }
      case TD_PHYS_STR: {
        const int64_t o = v->offs[r];
        const size_t len = (size_t)(v->offs[r + 1] - o);
        if (s->s[g].len != len || (len && memcmp(s->s[g].p, v->strs + o, len) != 0)) return false;
        break;
      }
      case TD_PHYS_D128:
        if (s->d[g] != td_dec_load(v->d128 + r * 16)) return false;
        break;
    }
  }
  return true;
}

/* The second stage of a two-stage prefetch: the keys of the group in slot
 * e (read after the slot itself was prefetched) when its tag is h's, so
 * that a probe for hash h compares them without waiting. */
static inline void prefetch_keys(const td_agg *a, tslot e, uint64_t h) {
  if (!e || !slot_tagged(e, h)) return;
  const uint32_t g = slot_group(e);
  for (int64_t k = 0; k < a->n_keys && k < 2; k++) {
    const store *s = &a->kst[k];
    TD_AGG_PREFETCH(&s->nul[g]);
    switch (s->ph) {
      case TD_PHYS_F64: TD_AGG_PREFETCH(&s->f[g]); break;
      case TD_PHYS_STR: TD_AGG_PREFETCH(&s->s[g]); break;
      case TD_PHYS_D128: TD_AGG_PREFETCH(&s->d[g]); break;
      default: TD_AGG_PREFETCH(&s->i[g]); break;
    }
  }
}

/* A third stage: the bytes of the first key of the group in slot e when
 * it is a string (its slot fetched by prefetch_keys). */
static inline void prefetch_key_bytes(const td_agg *a, tslot e, uint64_t h) {
  if (!e || !slot_tagged(e, h) || a->n_keys == 0 || a->kst[0].ph != TD_PHYS_STR) return;
  TD_AGG_PREFETCH(a->kst[0].s[slot_group(e)].p);
}

/* The group of row r of the key vectors, whose combined hash is h (added
 * if new). */
static int multi_find(td_agg *a, const td_vec *kv, int64_t r, uint64_t h, uint32_t *out, td_error *err) {
  int rc = table_complete(a, err);
  if (rc) return rc;
  const int64_t mask = a->table_cap - 1;
  tslot e;
  for (int64_t s = (int64_t)(h & (uint64_t)mask); (e = a->table[s]); s = (s + 1) & mask)
    if (slot_tagged(e, h) && row_matches(a, slot_group(e), kv, r)) {
      *out = slot_group(e);
      return TD_OK;
    }
  return add_group(a, h, kv, r, out, err);
}

static int map_multi(td_agg *a, const td_vec *kv, const uint32_t *sel, int64_t j0, int64_t j1,
                     td_error *err) {
  uint64_t *H = a->hbuf;
  for (int64_t k = 0; k < a->n_keys; k++) hash_key_column(&kv[k], sel, j0, j1, H, k == 0, a->n_keys == 1);
  for (int64_t j = j0; j < j1; j++) {
    if (a->table) { /* a large table's misses overlap: the slot of the row 16 ahead, the keys of the group 8 ahead */
      const uint64_t mask = (uint64_t)a->table_cap - 1;
      if (j + 16 < j1) TD_AGG_PREFETCH(&a->table[H[j + 16 - j0] & mask]);
      if (j + 8 < j1) prefetch_keys(a, a->table[H[j + 8 - j0] & mask], H[j + 8 - j0]);
      if (j + 4 < j1) prefetch_key_bytes(a, a->table[H[j + 4 - j0] & mask], H[j + 4 - j0]);
    }
    uint32_t g;
    int rc = multi_find(a, kv, ROW(j), H[j - j0], &g, err);
    if (rc) return rc;
    touch(a, g);
    a->gids[j - j0] = g;
  }
  return TD_OK;
}

/* Records group g of integer key v in the direct map, moving or growing the
 * map when v is outside it and the range of keys still fits. */
static int dmap_note(td_agg *a, int64_t v, uint32_t g, td_error *err) {
  uint64_t d = (uint64_t)v - (uint64_t)a->dbase;
  if (d < (uint64_t)a->dcap) {
    a->dmap[d] = g + 1;
    return TD_OK;
  }
  if (!a->krange) a->kmin = a->kmax = v;
  if (v < a->kmin) a->kmin = v;
  if (v > a->kmax) a->kmax = v;
  a->krange = true;
  uint64_t span = (uint64_t)a->kmax - (uint64_t)a->kmin + 1;
  /* a wide range is mapped while it is dense (many groups: id % 1000000),
   * so the map costs at most a few words per group; otherwise the hash
   * table serves keys outside */
  const bool dense = span <= (uint64_t)DMAP_DENSE * (uint64_t)a->n_groups && span <= DMAP_DENSE_MAX / 2;
  if (span > DMAP_MAX && !dense) return TD_OK;
  const int64_t max = span > DMAP_MAX ? DMAP_DENSE_MAX : DMAP_MAX;
  /* Keys past the top of the map (ascending keys, as id % 1000000 has)
   * grow it in place: the same base, at least twice the entries, its pages
   * remapped rather than copied, only the new room written (zero).
   * Otherwise a new map centred on the keys. */
  const uint64_t need = (uint64_t)a->kmax - (uint64_t)a->dbase + 1;
  const bool in_place = a->dcap > 0 && a->kmin >= a->dbase && need <= (uint64_t)max;
  int64_t size = DMAP_MIN;
  if (in_place)
    while (((uint64_t)size < 2 * need || size < 2 * a->dcap) && size < max) size *= 2;
  else
    while ((uint64_t)size < 2 * span && size < max) size *= 2;
  uint32_t *m = in_place ? a->dmap : NULL;
  /* its pages mapped now: a lookup reads an entry before a new group writes
   * it, and a page read first is the zero page, which the write then
   * replaces with a TLB flush interrupting the other workers (1.8k of them
   * in a 2-thread GROUP BY id % 1000000) */
  if (td_grow_block_probed((void **)&m, (size_t)size * sizeof *m)) return td_err_nomem(err, "aggregating");
  uint64_t base = in_place ? (uint64_t)a->dbase : (uint64_t)a->kmin - ((uint64_t)size - span) / 2;
  const store *ks = &a->kst[0];
  bool left = false; /* a key the new map leaves out */
  for (int64_t h = 0; h < a->n_groups; h++) {
    uint64_t dh = (uint64_t)ks->i[h] - base;
    if (!ks->nul[h] && dh < (uint64_t)size) m[dh] = (uint32_t)h + 1;
    else left |= !ks->nul[h];
  }
  /* lazy: the old map's groups outside the new one need the table first */
  int rc = left ? table_complete(a, err) : TD_OK;
  if (rc) {
    if (!in_place) td_free_block(m);
    else a->dmap = m; /* grown; its entries are still right */
    return rc;
  }
  if (!in_place) td_free_block(a->dmap);
  td_free(a->stab);
  a->dmap = m;
  a->dbase = (int64_t)base;
  a->dcap = size;
  return TD_OK;
}

/* One integer key, lazy: a new group for key v at d in the direct map (the
 * map is its index; its hash is its key's, group_hash). */
static int new_mapped_group(td_agg *a, int64_t v, uint64_t d, uint32_t *out, td_error *err) {
  int rc = new_group_in(a, 0, true, out, err);
  if (rc) return rc;
  a->kst[0].nul[*out] = 0;
  a->kst[0].i[*out] = v;
  a->dmap[d] = *out + 1;
  return TD_OK;
}

/* One integer key's hash table, read by the fused loops for keys outside
 * the direct map's range (the table has every such group, lazy or not). */
typedef struct int_table {
  const tslot *table;
  uint64_t mask;
  const int64_t *keys;
  const uint8_t *nul;
} int_table;

static inline int_table int_table_of(const td_agg *a) {
  int_table t = {a->table, (uint64_t)a->table_cap - 1, a->kst[0].i, a->kst[0].nul};
  return t;
}

/* The group of key v (is_null: the null key; h its hash) in the table,
 * NO_GROUP when it has none (new: int_miss makes it). */
static inline uint32_t int_probe_h(const int_table *t, uint64_t h, bool is_null, int64_t v) {
  if (!t->table) return NO_GROUP;
  for (uint64_t s = h & t->mask;; s = (s + 1) & t->mask) {
    const tslot e = t->table[s];
    if (!e) return NO_GROUP;
    const uint32_t c = slot_group(e);
    /* (a null key's group holds 0: its flag decides) */
    if (slot_tagged(e, h) && (is_null || t->keys[c] == v) && t->nul[c] == is_null) return c;
  }
}

/* The group of a non-null key outside the direct map's range. */
static inline uint32_t int_probe(const int_table *t, int64_t v) {
  return int_probe_h(t, td_mix64((uint64_t)v), false, v);
}

/* One integer key: group of row r when the direct map does not know it. */
static int int_miss(td_agg *a, const td_vec *kv, int64_t r, uint32_t *out, td_error *err) {
  bool is_null = kv->valid && !kv->valid[r];
  int64_t v = kv->i64[r];
  const uint64_t d = (uint64_t)v - (uint64_t)a->dbase;
  if (a->lazy && !is_null && d < (uint64_t)a->dcap) { /* the map knows every key of its range */
    if (a->dmap[d] != 0) {
      *out = dmap_at(a->dmap, d);
      return TD_OK;
    }
    return new_mapped_group(a, v, d, out, err);
  }
  const uint64_t h = is_null ? NULL_HASH : td_mix64((uint64_t)v);
  const int_table t = int_table_of(a);
  uint32_t g = int_probe_h(&t, h, is_null, v);
  if (g == NO_GROUP) { /* a new group: its key stored as is (no td_value) */
    int rc = new_group(a, h, &g, err);
    if (rc) return rc;
    a->kst[0].nul[g] = is_null;
    a->kst[0].i[g] = is_null ? 0 : v;
  }
  *out = g;
  if (is_null) {
    a->null_g = g;
    return TD_OK;
  }
  return dmap_note(a, v, g, err);
}

/*
 * int_miss for row j of rows j..j1-1 (through sel).  When it made a group
 * in the direct map's range (lazy), the rows after it whose keys are in that
 * range and new too get theirs now, in row order, up to the first row that
 * is not such (null, outside the map, or known): a run of new keys (the
 * first pass over id % 1000000) then costs the fused loop one miss instead
 * of one a row, and the loop folds those rows as known.  Groups are made in
 * row order, as one miss a row makes them.
 */
static int int_miss_ahead(td_agg *a, const td_vec *kv, const uint32_t *sel, int64_t j, int64_t j1, uint32_t *out,
                          td_error *err) {
  const int64_t n0 = a->n_groups;
  int rc = int_miss(a, kv, sel ? (int64_t)sel[j] : j, out, err);
  if (rc || a->n_groups == n0 || !a->lazy) return rc;
  const int64_t *kd = kv->i64;
  const uint8_t *valid = kv->valid;
  const uint64_t base = (uint64_t)a->dbase, dcap = (uint64_t)a->dcap;
  /* the run's groups made as many at a time as the arrays have room for:
   * keys and map entries in the loop, the aggregates' starting values
   * after it (init_groups) */
  for (int64_t i = j + 1; i < j1;) {
    if ((rc = grow_groups(a, err)) != TD_OK) return rc;
    const uint32_t g0 = (uint32_t)a->n_groups;
    const int64_t stop = j1 - i < a->cap - a->n_groups ? j1 : i + (a->cap - a->n_groups);
    uint32_t *dmap = a->dmap, g = g0;
    int64_t *keys = a->kst[0].i;
    uint8_t *nul = a->kst[0].nul;
    bool more = true;
    for (; i < stop; i++, g++) {
      const int64_t r = sel ? (int64_t)sel[i] : i;
      const uint64_t d = (uint64_t)kd[r] - base;
      if ((valid && !valid[r]) || d >= dcap || dmap[d] != 0) {
        more = false;
        break;
      }
      keys[g] = kd[r];
      nul[g] = 0;
      dmap[d] = g + 1;
    }
    a->n_groups = g;
    init_groups(a, g0, g);
    if (!more) break;
  }
  return TD_OK;
}

/* One utf8 key: group of row r through the hash table, added if new. */
static int str_lookup(td_agg *a, const td_vec *kv, int64_t r, uint32_t *out, td_error *err) {
  if (kv->valid && !kv->valid[r]) {
    if (a->null_g == NO_GROUP) {
      int rc = lookup_row(a, kv, r, &a->null_g, err);
      if (rc) return rc;
    }
    *out = a->null_g;
    return TD_OK;
  }
  const store *ks = &a->kst[0];
  const int64_t o = kv->offs[r];
  const size_t len = (size_t)(kv->offs[r + 1] - o);
  const char *p = kv->strs + o;
  const uint64_t h = hash_bytes(p, len);
  int64_t mask = a->table_cap - 1;
  tslot e;
  for (int64_t s = (int64_t)(h & (uint64_t)mask); (e = a->table[s]); s = (s + 1) & mask) {
    uint32_t c = slot_group(e);
    if (slot_tagged(e, h) && !ks->nul[c] && ks->s[c].len == len &&
        (len == 0 || memcmp(ks->s[c].p, p, len) == 0)) {
      *out = c;
      return TD_OK;
    }
  }
  return add_group(a, h, kv, r, out, err);
}

/* Makes a->dgid the map of dictionary d, `width` slots per entry (NO_GROUP:
 * not seen yet). */
static int dict_switch(td_agg *a, const td_dict *d, int64_t width, td_error *err) {
  const int64_t nd = d->view.length;
  if (a->dgid_id == d->id) return TD_OK;
  if (nd * width > a->dgid_cap) {
    uint32_t *m = td_realloc(a->dgid, (size_t)(nd * width) * sizeof *m);
    if (!m) return td_err_nomem(err, "grouping on a dictionary");
    a->dgid = m;
    a->dgid_cap = nd * width;
  }
  /* Row groups joined by td_dict_concat: the map of the previous
   * dictionary carries over when it is the first part of this one, or
   * when this one is a part of it (the order a scan meets them in). */
  int64_t keep = 0, from = 0;
  if (d->n_parts > 0 && d->part_id[0] == a->dgid_id) keep = a->dgid_n < nd ? a->dgid_n : nd;
  for (int i = 0; i < a->dgid_nparts; i++)
    if (a->dgid_part_id[i] == d->id) {
      from = a->dgid_part_base[i];
      keep = a->dgid_n - from < nd ? a->dgid_n - from : nd;
    }
  if (keep > 0 && from > 0) memmove(a->dgid, a->dgid + from * width, (size_t)(keep * width) * sizeof *a->dgid);
  for (int64_t i = (keep > 0 ? keep : 0) * width; i < nd * width; i++) a->dgid[i] = NO_GROUP;
  a->dgid_id = d->id;
  a->dgid_n = nd;
  a->dgid_nparts = d->n_parts;
  for (int i = 0; i < d->n_parts; i++) {
    a->dgid_part_id[i] = d->part_id[i];
    a->dgid_part_base[i] = d->part_base[i];
  }
  return TD_OK;
}

/* The entries of dictionary d as a utf8 vector (row i = entry i). */
static td_vec dict_vec(const td_dict *d) {
  td_vec dv;
  memset(&dv, 0, sizeof dv);
  dv.ph = TD_PHYS_STR;
  dv.n = d->view.length;
  dv.offs = d->view.offsets + d->view.offset;
  dv.strs = d->view.data;
  return dv;
}

/* Group of the keys vals[0..n_keys) through the hash table, added if new
 * (boxed: for the first row of a key combination only). */
static int lookup_values(td_agg *a, const td_value *vals, uint32_t *out, td_error *err) {
  uint64_t h = 0;
  for (int64_t k = 0; k < a->n_keys; k++) h = combine(h, value_hash(&vals[k], a->kst[k].ph));
  const int64_t mask = a->table_cap - 1;
  tslot e;
  for (int64_t s = (int64_t)(h & (uint64_t)mask); (e = a->table[s]); s = (s + 1) & mask) {
    bool eq = slot_tagged(e, h);
    for (int64_t k = 0; eq && k < a->n_keys; k++)
      eq = value_matches(&a->kst[k], slot_group(e), a->keys[k].type, &vals[k]);
    if (eq) {
      *out = slot_group(e);
      return TD_OK;
    }
  }
  int rc = new_group(a, h, out, err);
  for (int64_t k = 0; !rc && k < a->n_keys; k++) rc = store_set(&a->kst[k], *out, &vals[k], err);
  return rc;
}

/* The group of a two-key state's pair whose string (key sk) is entry
 * `code` of dictionary vector dv (or null: snull) and whose other key is
 * row r of ov (or null: onull), looked up by value (lookup_values: the
 * hash map_multi gives, so rows of decoded batches land in the same groups). */
static int code_pair_group(td_agg *a, int64_t sk, const td_vec *dv, int32_t code, bool snull, const td_vec *ov,
                           int64_t r, bool onull, uint32_t *out, td_error *err) {
  td_value vals[2];
  const td_type_id ot = a->keys[1 - sk].type;
  vals[sk] = snull ? td_value_null(TD_TYPE_UTF8) : td__vec_value(dv, code, TD_TYPE_UTF8);
  vals[1 - sk] = onull ? td_value_null(ot) : td__vec_value(ov, r, ot);
  return lookup_values(a, vals, out, err);
}

/*
 * dict2_map's memory across dictionaries.  A Parquet file brings one
 * dictionary a row group (DuckDB's: 122,880 rows), mostly of the same
 * strings, and each new dictionary's pairs were looked up by value (a boxed
 * string hashed and compared, 15k a row group of 5k strings and a bool).
 * Here each distinct string gets an id once (a table of its bytes), each
 * (id, bool or null) its group (sgrp, 3 an id), and each entry of the
 * current dictionary its id (dsid, looked up on the entry's first row): a
 * new dictionary costs a hash and a compare an entry it uses.  Group ids
 * never change within a state, so the pairs' groups stay valid.
 */
typedef struct sidmap {
  hindex ix; /* of the sids, by their strings' hashes */
  int64_t n;
  char *bytes; /* the strings, sid i at off[i] .. off[i + 1] */
  int64_t blen, bcap;
  int64_t *off;
  uint32_t *sgrp; /* 3 a sid: the groups of (sid, false), (sid, true), (sid, null) */
  int64_t idcap;  /* sids off and sgrp have room for */
  uint32_t *dsid; /* per entry of dictionary did: its sid, NO_GROUP: not looked up */
  int64_t dcap;
  uint64_t did;
} sidmap;

static void sidmap_free(sidmap *sm) {
  if (!sm) return;
  hindex_reset(&sm->ix);
  td_free(sm->bytes);
  td_free(sm->off);
  td_free(sm->sgrp);
  td_free(sm->dsid);
  td_free(sm);
}

typedef struct sid_key {
  const sidmap *sm;
  const char *p;
  int64_t len;
} sid_key;

static bool sid_eq(const void *ctx, int64_t id) {
  const sid_key *k = ctx;
  const int64_t *off = k->sm->off;
  return off[id + 1] - off[id] == k->len && (k->len == 0 || memcmp(k->sm->bytes + off[id], k->p, (size_t)k->len) == 0);
}

/* The id of string p[0..len), added if new. */
static int sid_of(sidmap *sm, const char *p, int64_t len, uint32_t *out, td_error *err) {
  const uint64_t h = hash_bytes(p, (size_t)len);
  const sid_key key = {sm, p, len};
  const int64_t found = hindex_find(&sm->ix, h, sid_eq, &key);
  if (found >= 0) {
    *out = (uint32_t)found;
    return TD_OK;
  }
  if (sm->n + 2 > sm->idcap) {
    int64_t c = sm->idcap ? sm->idcap * 2 : 1024;
    int64_t *o = td_realloc(sm->off, (size_t)c * sizeof *o);
    if (o) sm->off = o;
    uint32_t *g = o ? td_realloc(sm->sgrp, (size_t)(3 * c) * sizeof *g) : NULL;
    if (g) sm->sgrp = g;
    if (!o || !g) return td_err_nomem(err, "grouping on a dictionary");
    sm->idcap = c;
  }
  if (sm->blen + len > sm->bcap) {
    int64_t c = sm->bcap ? sm->bcap * 2 : 16384;
    while (c < sm->blen + len) c *= 2;
    char *b = td_realloc(sm->bytes, (size_t)c);
    if (!b) return td_err_nomem(err, "grouping on a dictionary");
    sm->bytes = b;
    sm->bcap = c;
  }
  const int64_t id = sm->n;
  int rc = hindex_put(&sm->ix, h, id, "grouping on a dictionary", err);
  if (rc) return rc;
  if (id == 0) sm->off[0] = 0;
  if (len) memcpy(sm->bytes + sm->blen, p, (size_t)len);
  sm->blen += len;
  sm->off[id + 1] = sm->blen;
  for (int k = 0; k < 3; k++) sm->sgrp[3 * id + k] = NO_GROUP;
  sm->n++;
  *out = (uint32_t)id;
  return TD_OK;
}

/* The sid map with its entry ids for dictionary d (all unknown when d is new). */
static int sidmap_for(td_agg *a, const td_dict *d, td_error *err) {
  if (!a->sm && !(a->sm = td_calloc(1, sizeof *a->sm))) return td_err_nomem(err, "grouping on a dictionary");
  sidmap *sm = a->sm;
  const int64_t nd = d->view.length;
  if (sm->dsid && sm->did == d->id) return TD_OK;
  if (nd > sm->dcap || !sm->dsid) {
    uint32_t *m = td_realloc(sm->dsid, (size_t)(nd ? nd : 1) * sizeof *m);
    if (!m) return td_err_nomem(err, "grouping on a dictionary");
    sm->dsid = m;
    sm->dcap = nd ? nd : 1;
  }
  memset(sm->dsid, 0xff, (size_t)nd * sizeof *sm->dsid);
  sm->did = d->id;
  return TD_OK;
}

/*
 * Two keys, a utf8 one arriving as dictionary codes (key sk) and a bool
 * (the other, vector bv): a row's group is dgid[code * 3 + b] (b: 0, 1, 2
 * for null), the entry looked up (hashed, the same hash map_multi gives)
 * the first time a row of this dictionary uses it (code_pair_group); rows
 * whose string is null use dnull[b].
 */
static int dict2_map(td_agg *a, int64_t sk, const td_colview *v, const td_vec *bv, const uint32_t *sel,
                     int64_t j0, int64_t j1, td_error *err) {
  const td_dict *d = v->dict;
  int rc = dict_switch(a, d, 3, err);
  if (rc) return rc;
  const td_vec dv = dict_vec(d);
  const int32_t *codes = v->codes + v->offset;
  const uint8_t *valid = v->validity;
  const uint8_t *bvals = bv->b8, *bvalid = bv->valid;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t r = sel ? sel[j] : j;
    const uint32_t b = bvalid && !bvalid[r] ? 2 : bvals[r] != 0;
    const bool snull = valid && !td_bit_get(valid, v->offset + r);
    uint32_t *slot = snull ? &a->dnull[b] : &a->dgid[(int64_t)codes[r] * 3 + b];
    uint32_t g = *slot;
    if (g == NO_GROUP && !snull) { /* the pair's group through its string's id */
      const int32_t c = codes[r];
      if ((rc = sidmap_for(a, d, err)) != TD_OK) return rc;
      sidmap *sm = a->sm;
      if (sm->dsid[c] == NO_GROUP &&
          (rc = sid_of(sm, dv.strs + dv.offs[c], dv.offs[c + 1] - dv.offs[c], &sm->dsid[c], err)) != TD_OK)
        return rc;
      uint32_t *pg = &sm->sgrp[3 * (int64_t)sm->dsid[c] + b];
      if (*pg == NO_GROUP && (rc = code_pair_group(a, sk, &dv, c, false, bv, r, b == 2, pg, err)) != TD_OK) return rc;
      *slot = g = *pg;
    } else if (g == NO_GROUP) {
      if ((rc = code_pair_group(a, sk, &dv, codes[r], snull, bv, r, b == 2, &g, err)) != TD_OK) return rc;
      *slot = g;
    }
    a->gids[j - j0] = g;
    touch(a, g);
  }
  return TD_OK;
}

/*
 * Two keys, a utf8 one arriving as dictionary codes (key sk) and an
 * integer-like one (the other, vector iv: an integer, timestamp, date):
 * each dictionary entry remembers its last pair's group (dgid[code * 3],
 * the integer's halves at + 1 and + 2), so a row repeating its string's
 * last integer (a string's rows in time order, grouped by hour) costs a
 * compare, not a decoded string and its hash; other rows, and rows with a
 * null, look their pair up (lookup_values: the hash map_multi gives, so
 * either finds the other's groups).  Counts the lookups in dicti_misses.
 */
static int dicti_map(td_agg *a, int64_t sk, const td_colview *v, const td_vec *iv, const uint32_t *sel,
                     int64_t j0, int64_t j1, td_error *err) {
  const td_dict *d = v->dict;
  int rc = dict_switch(a, d, 3, err);
  if (rc) return rc;
  const td_vec dv = dict_vec(d);
  const int32_t *codes = v->codes + v->offset;
  const uint8_t *valid = v->validity, *ivalid = iv->valid;
  const int64_t *ix = iv->i64;
  uint32_t *m = a->dgid;
  int64_t misses = 0;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t r = sel ? sel[j] : j;
    const bool snull = valid && !td_bit_get(valid, v->offset + r), inull = ivalid && !ivalid[r];
    const uint32_t lo = (uint32_t)ix[r], hi = (uint32_t)((uint64_t)ix[r] >> 32);
    uint32_t *slot = snull || inull ? NULL : &m[(int64_t)codes[r] * 3];
    uint32_t g = slot && slot[1] == lo && slot[2] == hi ? slot[0] : NO_GROUP;
    if (g == NO_GROUP) {
      if ((rc = code_pair_group(a, sk, &dv, codes[r], snull, iv, r, inull, &g, err)) != TD_OK) break;
      misses++;
      if (slot) {
        slot[0] = g;
        slot[1] = lo;
        slot[2] = hi;
      }
    }
    a->gids[j - j0] = g;
    touch(a, g);
  }
  a->dicti_rows += j1 - j0;
  a->dicti_misses += misses;
  return rc;
}

static const uint64_t low_masks[9] = {
    0, 0xff, 0xffff, 0xffffff, 0xffffffffULL, 0xffffffffffULL, 0xffffffffffffULL,
    0xffffffffffffffULL, ~0ULL};

static inline uint64_t sslot_index(uint64_t w, size_t len, int shift) {
  return ((w ^ len) * 0x9e3779b97f4a7c15ULL) >> shift;
}

static int stab_shift(int64_t cap) {
  int s = 64;
  while (cap > 1) cap >>= 1, s--;
  return s;
}

/* Grows the short-key index if needed for one more key. */
static int stab_reserve(td_agg *a, td_error *err) {
  if ((a->stab_n + 1) * 4 > a->stab_cap) {
    int64_t cap = a->stab_cap ? a->stab_cap * 2 : 64;
    sslot *t = td_malloc((size_t)cap * sizeof *t);
    if (!t) return td_err_nomem(err, "aggregating");
    for (int64_t s = 0; s < cap; s++) t[s].g = NO_GROUP;
    int shift = stab_shift(cap);
    for (int64_t i = 0; i < a->stab_cap; i++) {
      if (a->stab[i].g == NO_GROUP) continue;
      uint64_t s = sslot_index(a->stab[i].w, a->stab[i].len, shift);
      while (t[s].g != NO_GROUP) s = (s + 1) & (uint64_t)(cap - 1);
      t[s] = a->stab[i];
    }
    td_free(a->stab);
    a->stab = t;
    a->stab_cap = cap;
  }
  return TD_OK;
}

/* Adds short key (w, len) of group g to the index. */
static int stab_add(td_agg *a, uint64_t w, size_t len, uint32_t g, td_error *err) {
  int rc = stab_reserve(a, err);
  if (rc) return rc;
  uint64_t s = sslot_index(w, len, stab_shift(a->stab_cap));
  while (a->stab[s].g != NO_GROUP) s = (s + 1) & (uint64_t)(a->stab_cap - 1);
  a->stab[s].w = w;
  a->stab[s].len = (uint32_t)len;
  a->stab[s].g = g;
  a->stab_n++;
  return TD_OK;
}


/* One utf8 key: group of row r when the short-key index does not know it;
 * a key of at most 8 bytes starting at or before load_end is added to it. */
static int str_miss(td_agg *a, const td_vec *kv, int64_t r, int64_t load_end, uint32_t *out,
                    td_error *err) {
  int rc = str_lookup(a, kv, r, out, err);
  if (rc || (kv->valid && !kv->valid[r])) return rc;
  const int64_t o = kv->offs[r];
  const size_t len = (size_t)(kv->offs[r + 1] - o);
  if (len > 8 || o > load_end) return TD_OK;
  const uint64_t w = load8(kv->strs + o) & low_masks[len];
  const uint64_t smask = (uint64_t)a->stab_cap - 1;
  for (uint64_t s = sslot_index(w, len, stab_shift(a->stab_cap)); a->stab[s].g != NO_GROUP;
       s = (s + 1) & smask)
    if (a->stab[s].w == w && a->stab[s].len == len) return TD_OK;
  return stab_add(a, w, len, *out, err);
}

/*
 * One utf8 key arriving as codes into a dictionary (arrow/dict.h).  A new
 * dictionary's entries of at most 8 bytes are first looked up in the
 * short-key index in bulk (64 slots prefetched, then probed) when the rows
 * left in the batch outnumber them: the groups already known fill dgid
 * without hashing a string, and nothing is added (an entry no row uses
 * makes no group).  Then a row's group is dgid[code]; an entry still
 * unknown is looked up (hashed) when a row first uses it, and a short one
 * teaches the index, so the next dictionary finds it in bulk.
 */
static void dict_premap(td_agg *a, const td_vec *dv) {
  enum { BLOCK = 64 };
  const int32_t *offs = dv->offs;
  const char *strs = dv->strs;
  const int64_t nd = dv->n, load_end = TD_AGG_LE ? (int64_t)offs[nd] - 8 : -1;
  const sslot *stab = a->stab;
  const uint64_t smask = (uint64_t)a->stab_cap - 1;
  const int shift = stab_shift(a->stab_cap);
  uint32_t *dgid = a->dgid;
  for (int64_t i = 0; i < nd; i += BLOCK) {
    const int64_t m = nd - i < BLOCK ? nd - i : BLOCK;
    uint64_t W[BLOCK], S[BLOCK];
    uint32_t L[BLOCK]; /* 0xff: not looked up here (known, long or near the end) */
    for (int64_t k = 0; k < m; k++) {
      const int64_t o = offs[i + k];
      const uint64_t len = (uint64_t)(offs[i + k + 1] - o);
      L[k] = dgid[i + k] != NO_GROUP || len > 8 || o > load_end ? 0xff : (uint32_t)len;
      if (L[k] == 0xff) continue;
      W[k] = load8(strs + o) & low_masks[len];
      S[k] = sslot_index(W[k], len, shift);
      TD_AGG_PREFETCH(&stab[S[k]]);
    }
    for (int64_t k = 0; k < m; k++) {
      if (L[k] == 0xff) continue;
      uint64_t s = S[k];
      uint32_t g;
      while ((g = stab[s].g) != NO_GROUP && (stab[s].w != W[k] || stab[s].len != L[k])) s = (s + 1) & smask;
      dgid[i + k] = g;
    }
  }
}

/* A new dictionary (rows_left: the batch's rows from here on, all in it):
 * dgid made its map, and filled in bulk when the rows outnumber its entries. */
static int dict_enter(td_agg *a, const td_dict *d, int64_t rows_left, td_error *err) {
  const bool fresh = a->dgid_id != d->id;
  int rc = dict_switch(a, d, 1, err);
  if (rc || (rc = stab_reserve(a, err))) return rc;
  const td_vec dv = dict_vec(d);
  if (fresh && a->stab_n > 0 && rows_left >= dv.n) dict_premap(a, &dv);
  return TD_OK;
}

/* Group of row r (a null, or an entry dgid does not know yet), through the
 * hash table; a short entry teaches the short-key index. */
static int dict_miss(td_agg *a, const td_colview *v, int64_t r, uint32_t *out, td_error *err) {
  const td_vec dv = dict_vec(v->dict);
  if (v->validity && !td_bit_get(v->validity, v->offset + r)) {
    static const int32_t zero_offs[2] = {0, 0};
    static const uint8_t null_valid[1] = {0};
    td_vec nv = dv;
    nv.n = 1;
    nv.offs = zero_offs;
    nv.strs = "";
    nv.valid = null_valid;
    return str_lookup(a, &nv, 0, out, err);
  }
  const int32_t c = v->codes[v->offset + r];
  const int64_t load_end = TD_AGG_LE ? (int64_t)dv.offs[dv.n] - 8 : -1;
  int rc = str_miss(a, &dv, c, load_end, out, err);
  if (rc == TD_OK) a->dgid[c] = *out;
  return rc;
}

/*
 * Two keys, a plain utf8 one (key sk, vector sv) and a bool (the other, bv):
 * a string of at most 8 bytes is its first word, so the short-key index
 * (unused with two keys) maps (word, length | b << 8) to the group (b: 0, 1,
 * 2 for a null bool) without hashing or comparing the string; a row it does
 * not know goes through the hash table (map_multi's hash, so rows of other
 * batches, decoded or as dictionary codes, land in the same groups) and
 * teaches it; a null string's group is dnull[b], as in dict2_map.
 */
static int str2_map(td_agg *a, int64_t sk, const td_vec *kv, const uint32_t *sel, int64_t j0, int64_t j1,
                    int64_t batch_len, td_error *err) {
  enum { BLOCK = 16 }; /* rows whose index slots are prefetched before any is probed */
  const td_vec *sv = &kv[sk], *bv = &kv[1 - sk];
  const int32_t *offs = sv->offs;
  const char *strs = sv->strs;
  const uint8_t *svalid = sv->valid, *bvals = bv->b8, *bvalid = bv->valid;
  const int64_t load_end = TD_AGG_LE ? (int64_t)offs[batch_len] - 8 : -1;
  int rc = stab_reserve(a, err);
  for (int64_t j = j0; rc == TD_OK && j < j1; j += BLOCK) {
    const int64_t n = j1 - j < BLOCK ? j1 - j : BLOCK;
    uint64_t W[BLOCK], S[BLOCK];
    uint32_t LB[BLOCK]; /* length | b << 8; 0xff: no short key (a null or long string) */
    const sslot *stab = a->stab;
    const int shift = stab_shift(a->stab_cap);
    for (int64_t i = 0; i < n; i++) {
      const int64_t r = ROW(j + i);
      const uint32_t b = bvalid && !bvalid[r] ? 2 : bvals[r] != 0;
      const int64_t o = offs[r];
      const size_t len = (size_t)(offs[r + 1] - o);
      LB[i] = (svalid && !svalid[r]) || len > 8 || o > load_end ? 0xff : (uint32_t)len | b << 8;
      W[i] = LB[i] == 0xff ? b : load8(strs + o) & low_masks[len];
      S[i] = sslot_index(W[i], LB[i], shift);
      __builtin_prefetch(&stab[S[i]]);
    }
    for (int64_t i = 0; rc == TD_OK && i < n; i++) {
      const int64_t r = ROW(j + i);
      uint32_t g = NO_GROUP;
      if (LB[i] != 0xff) {
        const uint64_t smask = (uint64_t)a->stab_cap - 1;
        uint64_t s = a->stab == stab ? S[i] : sslot_index(W[i], LB[i], stab_shift(a->stab_cap));
        while ((g = a->stab[s].g) != NO_GROUP && (a->stab[s].w != W[i] || a->stab[s].len != LB[i]))
          s = (s + 1) & smask;
      } else if (svalid && !svalid[r]) {
        g = a->dnull[W[i]];
      }
      if (g == NO_GROUP) {
        const bool snull = svalid && !svalid[r];
        const uint32_t b = bvalid && !bvalid[r] ? 2 : bvals[r] != 0;
        const uint64_t sh = snull ? NULL_HASH : hash_bytes(strs + offs[r], (size_t)(offs[r + 1] - offs[r]));
        const uint64_t bh = b == 2 ? NULL_HASH : td_mix64((uint64_t)b + 1);
        const uint64_t h = sk == 0 ? combine(combine(0, sh), bh) : combine(combine(0, bh), sh);
        rc = multi_find(a, kv, r, h, &g, err);
        if (rc == TD_OK && snull) a->dnull[b] = g;
        if (rc == TD_OK && LB[i] != 0xff) rc = stab_add(a, W[i], LB[i], g, err);
        if (rc) break;
      }
      a->gids[j + i - j0] = g;
      touch(a, g);
    }
  }
  return rc;
}

/* ---- folding inputs into per-group state ---- */

/*
 * Specialized per-row steps.  *_V variants read a validity vector; the
 * others have no nulls.  Without nulls, the "has a value" flag of a sum and
 * of an integer min/max is set after the batch for every touched group
 * (post_batch); min/max compare against the sentinel of new_group.  A sum's
 * flag is a byte (has), not a count: a million groups' flags are 1 MiB of
 * fresh memory, not 8.
 */
typedef enum fop {
  OP_GENERIC,
  OP_COUNT, OP_COUNT_V,
  OP_SUM_I, OP_SUM_I_V, OP_SUM_F, OP_SUM_F_V,
  OP_AVG_I, OP_AVG_I_V, OP_AVG_F, OP_AVG_F_V,
  OP_MIN_I, OP_MIN_I_V, OP_MAX_I, OP_MAX_I_V,
  OP_MIN_F, OP_MIN_F_V, OP_MAX_F, OP_MAX_F_V,
  OP_FIRST_I, OP_FIRST_F, OP_LAST_I, OP_LAST_F,
  OP_ANY_I, OP_ANY_I_V, OP_ANY_F, OP_ANY_F_V,
  OP_PROD_I, OP_PROD_I_V, OP_PROD_F, OP_PROD_F_V,
  OP_BAND, OP_BAND_V, OP_BOR, OP_BOR_V, OP_BXOR, OP_BXOR_V,
  OP_GIDS, /* mapping only: write group ids */
  N_OPS
} fop;

static fop choose_op(const td_agg_spec *sp, const td_vec *in, const store *s) {
  if (sp->kind == TD_AGG_COUNT_STAR) return OP_COUNT;
  if (in->is_const) return OP_GENERIC;
  const bool v = in->valid != NULL, i = in->ph == TD_PHYS_I64 && s->ph == TD_PHYS_I64,
             f = in->ph == TD_PHYS_F64 && s->ph == TD_PHYS_F64;
  switch (sp->kind) {
    case TD_AGG_COUNT: return v ? OP_COUNT_V : OP_COUNT;
    case TD_AGG_SUM:
      if (i) return v ? OP_SUM_I_V : OP_SUM_I;
      if (f) return v ? OP_SUM_F_V : OP_SUM_F;
      return OP_GENERIC;
    case TD_AGG_AVG:
      if (in->ph == TD_PHYS_I64) return v ? OP_AVG_I_V : OP_AVG_I;
      if (in->ph == TD_PHYS_F64) return v ? OP_AVG_F_V : OP_AVG_F;
      return OP_GENERIC;
    case TD_AGG_MIN:
      if (i) return v ? OP_MIN_I_V : OP_MIN_I;
      if (f) return v ? OP_MIN_F_V : OP_MIN_F;
      return OP_GENERIC;
    case TD_AGG_MAX:
      if (i) return v ? OP_MAX_I_V : OP_MAX_I;
      if (f) return v ? OP_MAX_F_V : OP_MAX_F;
      return OP_GENERIC;
    case TD_AGG_FIRST:
      if (!v && i) return OP_FIRST_I;
      if (!v && f) return OP_FIRST_F;
      return OP_GENERIC;
    case TD_AGG_LAST:
      if (!v && i) return OP_LAST_I;
      if (!v && f) return OP_LAST_F;
      return OP_GENERIC;
    case TD_AGG_ANY_VALUE:
      if (i) return v ? OP_ANY_I_V : OP_ANY_I;
      if (f) return v ? OP_ANY_F_V : OP_ANY_F;
      return OP_GENERIC;
    case TD_AGG_PRODUCT:
      if (in->ph == TD_PHYS_I64 && sp->type != TD_TYPE_UINT64) return v ? OP_PROD_I_V : OP_PROD_I;
      if (in->ph == TD_PHYS_F64) return v ? OP_PROD_F_V : OP_PROD_F;
      return OP_GENERIC;
    case TD_AGG_BIT_AND: return i ? (v ? OP_BAND_V : OP_BAND) : OP_GENERIC;
    case TD_AGG_BIT_OR: return i ? (v ? OP_BOR_V : OP_BOR) : OP_GENERIC;
    case TD_AGG_BIT_XOR: return i ? (v ? OP_BXOR_V : OP_BXOR) : OP_GENERIC;
    default: return OP_GENERIC;
  }
}

/* What a fold step works on. */
typedef struct fctx {
  store *st;
  const td_vec *in;
} fctx;

/* Local copies of the state pointers (reloaded after groups grow). */
#define FOLD_PTRS                                                       \
  int64_t *I = c->st->i;                                                \
  uint64_t *U = (uint64_t *)c->st->i;                                   \
  double *F = c->st->f;                                                 \
  int64_t *C = c->st->cnt;                                              \
  uint8_t *H = c->st->has;                                              \
  uint8_t *N = c->st->nul;                                              \
  (void)I, (void)U, (void)F, (void)C, (void)H, (void)N
#define FOLD_PTRS_RELOAD                                                \
  (I = c->st->i, U = (uint64_t *)c->st->i, F = c->st->f, C = c->st->cnt, H = c->st->has, N = c->st->nul)

#define FOLD_INPUTS                                                     \
  const int64_t *XI = c->in ? c->in->i64 : NULL;                        \
  const double *XF = c->in ? c->in->f64 : NULL;                         \
  const uint8_t *V = c->in ? c->in->valid : NULL;                       \
  unsigned OV = 0; /* integer sums: some addition overflowed */         \
  (void)XI, (void)XF, (void)V
/* Hands the overflow flag of a fold loop to its store. */
#define FOLD_DONE (c->st->ovf |= (uint8_t)(OV != 0))

/* Row r of group g; G is the group-id buffer (OP_GIDS). */
#define BODY_OP_COUNT C[g]++
#define BODY_OP_COUNT_V C[g] += V[r]
/* integer sums check each addition (one flag per loop, see FOLD_DONE) */
#define BODY_OP_SUM_I OV |= __builtin_add_overflow(I[g], XI[r], &I[g])
#define BODY_OP_SUM_I_V OV |= __builtin_add_overflow(I[g], XI[r] & -(int64_t)V[r], &I[g]); H[g] |= V[r]
#define BODY_OP_SUM_F F[g] += XF[r]
#define BODY_OP_SUM_F_V F[g] += V[r] ? XF[r] : 0.0; H[g] |= V[r]
#define BODY_OP_AVG_I F[g] += (double)XI[r]; C[g]++
#define BODY_OP_AVG_I_V F[g] += V[r] ? (double)XI[r] : 0.0; C[g] += V[r]
#define BODY_OP_AVG_F F[g] += XF[r]; C[g]++
#define BODY_OP_AVG_F_V F[g] += V[r] ? XF[r] : 0.0; C[g] += V[r]
#define BODY_OP_MIN_I if (XI[r] < I[g]) I[g] = XI[r]
#define BODY_OP_MAX_I if (XI[r] > I[g]) I[g] = XI[r]
#define BODY_OP_MIN_I_V if (V[r]) { H[g] = 1; if (XI[r] < I[g]) I[g] = XI[r]; }
#define BODY_OP_MAX_I_V if (V[r]) { H[g] = 1; if (XI[r] > I[g]) I[g] = XI[r]; }
/* NaN is greater than every other float (as in ORDER BY): max takes a NaN
 * and keeps it; min takes any value over a NaN, and a first value (even NaN)
 * over the sentinel, so "has a value" is kept per row for floats. */
#define BODY_OP_MIN_F { double x_ = XF[r]; if (x_ < F[g] || F[g] != F[g] || !H[g]) F[g] = x_; H[g] = 1; }
#define BODY_OP_MAX_F { double x_ = XF[r]; if (x_ > F[g] || x_ != x_) F[g] = x_; H[g] = 1; }
#define BODY_OP_MIN_F_V if (V[r]) BODY_OP_MIN_F
#define BODY_OP_MAX_F_V if (V[r]) BODY_OP_MAX_F
/* first / last without nulls: the value, its "has a value" flag, not null */
#define BODY_OP_FIRST_I if (!H[g]) { I[g] = XI[r]; H[g] = 1; N[g] = 0; }
#define BODY_OP_FIRST_F if (!H[g]) { F[g] = XF[r]; H[g] = 1; N[g] = 0; }
#define BODY_OP_LAST_I I[g] = XI[r]; H[g] = 1; N[g] = 0
#define BODY_OP_LAST_F F[g] = XF[r]; H[g] = 1; N[g] = 0
/* any_value: the first non-null value; product and the bit aggregates
 * start from their identity (new_group: 1.0, all ones for and, 0) */
#define BODY_OP_ANY_I if (!H[g]) { I[g] = XI[r]; H[g] = 1; }
#define BODY_OP_ANY_I_V if (V[r] && !H[g]) { I[g] = XI[r]; H[g] = 1; }
#define BODY_OP_ANY_F if (!H[g]) { F[g] = XF[r]; H[g] = 1; }
#define BODY_OP_ANY_F_V if (V[r] && !H[g]) { F[g] = XF[r]; H[g] = 1; }
#define BODY_OP_PROD_I F[g] *= (double)XI[r]; H[g] = 1
#define BODY_OP_PROD_I_V if (V[r]) { F[g] *= (double)XI[r]; H[g] = 1; }
#define BODY_OP_PROD_F F[g] *= XF[r]; H[g] = 1
#define BODY_OP_PROD_F_V if (V[r]) { F[g] *= XF[r]; H[g] = 1; }
#define BODY_OP_BAND I[g] &= XI[r]; H[g] = 1
#define BODY_OP_BAND_V if (V[r]) { I[g] &= XI[r]; H[g] = 1; }
#define BODY_OP_BOR I[g] |= XI[r]; H[g] = 1
#define BODY_OP_BOR_V if (V[r]) { I[g] |= XI[r]; H[g] = 1; }
#define BODY_OP_BXOR I[g] ^= XI[r]; H[g] = 1
#define BODY_OP_BXOR_V if (V[r]) { I[g] ^= XI[r]; H[g] = 1; }
#define BODY_OP_GIDS G[jr - j0] = g

typedef void fold_fn(const fctx *c, const uint32_t *gids, const uint32_t *sel, int64_t j0,
                     int64_t j1);

/* Folds rows j0..j1-1 whose groups are gids[0..]. */
#define DEFINE_FOLD(OP)                                                          \
  static void fold_##OP(const fctx *c, const uint32_t *gids, const uint32_t *sel, \
                        int64_t j0, int64_t j1) {                                \
    FOLD_PTRS;                                                                   \
    FOLD_INPUTS;                                                                 \
    if (sel)                                                                     \
      for (int64_t j = j0; j < j1; j++) {                                        \
        const int64_t r = sel[j];                                                \
        const uint32_t g = gids[j - j0];                                         \
        (void)r;                                                                 \
        BODY_##OP;                                                               \
      }                                                                          \
    else                                                                         \
      for (int64_t j = j0; j < j1; j++) {                                        \
        const int64_t r = j;                                                     \
        const uint32_t g = gids[j - j0];                                         \
        (void)r;                                                                 \
        BODY_##OP;                                                               \
      }                                                                          \
    FOLD_DONE;                                                                   \
  }

/* No keys (a global aggregate): the one group's state lives in locals for
 * the whole loop, so a sum or a min/max is a register loop, not a
 * load/store per row through a group-id buffer. */
#define DEFINE_FOLD0(OP)                                                          \
  static void fold0_##OP(const fctx *c, const uint32_t *sel, int64_t j0, int64_t j1) { \
    store *st_ = c->st;                                                           \
    int64_t i_ = st_->i ? st_->i[0] : 0, c_ = st_->cnt[0];                        \
    double f_ = st_->f ? st_->f[0] : 0;                                           \
    uint8_t h_ = st_->has[0], n_ = st_->nul[0];                                   \
    int64_t *I = &i_;                                                             \
    double *F = &f_;                                                              \
    int64_t *C = &c_;                                                             \
    uint8_t *H = &h_;                                                             \
    uint8_t *N = &n_;                                                             \
    (void)I, (void)F, (void)C, (void)H, (void)N;                                  \
    FOLD_INPUTS;                                                                  \
    const uint32_t g = 0;                                                         \
    if (sel)                                                                      \
      for (int64_t j = j0; j < j1; j++) {                                         \
        const int64_t r = sel[j];                                                 \
        (void)r;                                                                  \
        BODY_##OP;                                                                \
      }                                                                           \
    else                                                                          \
      for (int64_t r = j0; r < j1; r++) {                                         \
        (void)r;                                                                  \
        BODY_##OP;                                                                \
      }                                                                           \
    if (st_->i) st_->i[0] = i_;                                                   \
    if (st_->f) st_->f[0] = f_;                                                   \
    st_->cnt[0] = c_;                                                             \
    st_->has[0] = h_;                                                             \
    st_->nul[0] = n_;                                                             \
    FOLD_DONE;                                                                    \
  }

/* The end of a fused map's row step: out of the loop at a key the index does
 * not know, else the group recorded as touched (TRACK) and the row folded. */
#define MAP_ROW_FOLD(TRACK, OP)                                        \
  if (g == NO_GROUP) break;                                            \
  (void)r, (void)jr;                                                   \
  if (TRACK && epoch[g] != cur) {                                      \
    epoch[g] = cur;                                                    \
    touched[nt++] = g;                                                 \
  }                                                                    \
  BODY_##OP

/* Keys the direct map does not cover (a range too sparse for it: id %
 * 1000000 * 7) probe a table past the caches, then the group's hash and key
 * at random places: the slot of the row INT_AHEAD rows on is prefetched, and
 * the hash and key of the group in the slot of the row INT_AHEAD / 2 on
 * (by then cached), so that the loop finds both without waiting. */
#define INT_AHEAD 16
static inline void int_prefetch(const int_table *t, int64_t v, uint64_t base, uint64_t dcap) {
  if ((uint64_t)v - base >= dcap && t->table) TD_AGG_PREFETCH(&t->table[td_mix64((uint64_t)v) & t->mask]);
}
static inline void int_prefetch2(const int_table *t, int64_t v, uint64_t base, uint64_t dcap) {
  if ((uint64_t)v - base < dcap || !t->table) return;
  const uint64_t h = td_mix64((uint64_t)v);
  const tslot e = t->table[h & t->mask];
  if (e && slot_tagged(e, h)) {
    TD_AGG_PREFETCH(&t->keys[slot_group(e)]);
    TD_AGG_PREFETCH(&t->nul[slot_group(e)]);
  }
}

/*
 * One integer key, fused lookup + fold of rows j0..j1-1 (OP_GIDS: lookup
 * only, into a->gids[0..]).  The inner loop runs while the direct map knows
 * the key; a miss goes through int_miss and the loop resumes.  The touched
 * groups are recorded until every group has been touched in this batch.
 */
#define INT_LOOP(ROWFN, TRACK, KV, OP)                                  \
  for (; j < end; j++) {                                               \
    const int64_t r = ROWFN(j), jr = j;                                \
    const uint64_t d = (uint64_t)kd[r] - base;                         \
    if (j + INT_AHEAD < j1) int_prefetch(&ih, kd[ROWFN(j + INT_AHEAD)], base, dcap); \
    if (j + INT_AHEAD / 2 < j1) int_prefetch2(&ih, kd[ROWFN(j + INT_AHEAD / 2)], base, dcap); \
    uint32_t g = d < dcap ? dmap_at(dmap, d) : int_probe(&ih, kd[r]);  \
    if (KV && !kvalid[r]) g = null_g;                                  \
    MAP_ROW_FOLD(TRACK, OP);                                           \
  }

/* Untracked, no key nulls: blocks of 4 rows checked at once (dcap is a
 * power of two, so one d >= dcap shows in the OR), then one row at a time
 * up to the next block or a miss. */
#define INT_STEP4(ROWEXPR, OP, K)                                      \
  {                                                                    \
    const int64_t r = r##K, jr = j + K;                                \
    const uint32_t g = g##K;                                           \
    (void)r, (void)jr;                                                 \
    BODY_##OP;                                                         \
  }
#define INT_BLOCKS(ROWEXPR, OP)                                        \
  for (;;) {                                                           \
    for (; end - j >= 4; j += 4) {                                     \
      const int64_t r0 = ROWEXPR(j), r1 = ROWEXPR(j + 1),              \
                    r2 = ROWEXPR(j + 2), r3 = ROWEXPR(j + 3);          \
      const uint64_t d0 = (uint64_t)kd[r0] - base,                     \
                     d1 = (uint64_t)kd[r1] - base,                     \
                     d2 = (uint64_t)kd[r2] - base,                     \
                     d3 = (uint64_t)kd[r3] - base;                     \
      if ((d0 | d1 | d2 | d3) >= dcap) break;                          \
      const uint32_t g0 = dmap_at(dmap, d0), g1 = dmap_at(dmap, d1),   \
                     g2 = dmap_at(dmap, d2), g3 = dmap_at(dmap, d3);   \
      if ((g0 | g1 | g2 | g3) & 0x80000000u) break;                    \
      INT_STEP4(ROWEXPR, OP, 0)                                        \
      INT_STEP4(ROWEXPR, OP, 1)                                        \
      INT_STEP4(ROWEXPR, OP, 2)                                        \
      INT_STEP4(ROWEXPR, OP, 3)                                        \
    }                                                                  \
    const int64_t stop_ = end;                                         \
    end = end - j > 4 ? j + 4 : end;                                   \
    INT_LOOP(ROWEXPR, 0, 0, OP)                                        \
    const bool miss_ = j < end;                                        \
    end = stop_;                                                       \
    if (miss_ || j == end) break;                                      \
  }


#define INT_LOOPS(TRACK, OP)                                           \
  do {                                                                 \
    if (sel) {                                                         \
      if (kvalid) INT_LOOP(ROW_SEL, TRACK, 1, OP)                      \
      else if (TRACK) INT_LOOP(ROW_SEL, TRACK, 0, OP)                  \
      else INT_BLOCKS(ROW_SEL, OP)                                     \
    } else {                                                           \
      if (kvalid) INT_LOOP(ROW_ALL, TRACK, 1, OP)                      \
      else if (TRACK) INT_LOOP(ROW_ALL, TRACK, 0, OP)                  \
      else INT_BLOCKS(ROW_ALL, OP)                                     \
    }                                                                  \
  } while (0)

/*
 * The driver of the fused maps (integer, string, dictionary codes) over rows
 * j0..j1-1: SETUP reads the key's index into locals, the loops (LOOPS_T
 * recording touched groups, until every group is touched; LOOPS_U not) run
 * while the index knows the key; at a row it does not know, MISS (an int
 * expression setting g) finds its group, the row is folded (and EXTRA
 * done) and the loops resume.
 */
#define MAP_DRIVE(OP, SETUP, LOOPS_T, LOOPS_U, MISS, EXTRA)                      \
  int64_t j = j0;                                                               \
  while (j < j1) {                                                              \
    FOLD_PTRS;                                                                  \
    SETUP                                                                       \
    const uint32_t null_g = a->null_g, cur = a->cur_epoch;                      \
    uint32_t *epoch = a->epoch, *touched = a->touched;                          \
    int64_t nt = a->n_touched, end;                                             \
    if (nt < a->n_groups && !a->untracked) {                                    \
      end = j1 - j > TRACK_STEP ? j + TRACK_STEP : j1;                          \
      LOOPS_T;                                                                  \
    } else {                                                                    \
      end = j1;                                                                 \
      LOOPS_U;                                                                  \
    }                                                                           \
    a->n_touched = nt;                                                          \
    if (j == end) continue;                                                     \
    const int64_t r = ROW(j), jr = j;                                           \
    uint32_t g;                                                                 \
    (void)jr, (void)r;                                                          \
    const int rc_ = MISS;                                                       \
    if (rc_) return rc_;                                                        \
    touch(a, g);                                                                \
    FOLD_PTRS_RELOAD; /* the groups may have grown */                           \
    BODY_##OP;                                                                  \
    EXTRA;                                                                      \
    j++;                                                                        \
  }                                                                             \
  FOLD_DONE;                                                                    \
  return TD_OK

#define INT_SETUP                                                        \
  const uint32_t *dmap = a->dmap;                                        \
  const uint64_t base = (uint64_t)a->dbase, dcap = (uint64_t)a->dcap;    \
  const int_table ih = int_table_of(a);

typedef int int_map_fn(td_agg *a, const td_vec *kv, const uint32_t *sel, int64_t j0,
                       int64_t j1, const fctx *c, td_error *err);

#define DEFINE_INT_MAP(OP)                                                        \
  static int int_map_##OP(td_agg *a, const td_vec *kv, const uint32_t *sel,       \
                          int64_t j0, int64_t j1, const fctx *c, td_error *err) { \
    const int64_t *kd = kv->i64;                                                  \
    const uint8_t *kvalid = kv->valid;                                            \
    uint32_t *G = a->gids;                                                        \
    (void)G;                                                                      \
    FOLD_INPUTS;                                                                  \
    /* a miss: the direct map does not know this row's key */                   \
    MAP_DRIVE(OP, INT_SETUP, INT_LOOPS(1, OP), INT_LOOPS(0, OP),                  \
              int_miss_ahead(a, kv, sel, j, j1, &g, err), (void)0);               \
  }

/*
 * One utf8 key, fused lookup + fold of rows j0..j1-1 (OP_GIDS: lookup only),
 * like the integer driver: the inner loop runs while the short-key index
 * knows the key.  The slot of the row STR_AHEAD rows on is prefetched: with
 * thousands of keys the index is past the first-level caches, and a live
 * cycle finds it evicted, so each probe would wait for memory in turn.
 */
#define STR_AHEAD 16
#define STR_LOOP(ROWFN, TRACK, KV, OP)                                 \
  for (; j < end; j++) {                                               \
    const int64_t r = ROWFN(j), jr = j;                                \
    uint32_t g;                                                        \
    if (j + STR_AHEAD < j1) { /* the slot of a row ahead */            \
      const int64_t ra = ROWFN(j + STR_AHEAD), oa = offs[ra];          \
      const uint64_t la = (uint64_t)(offs[ra + 1] - oa);               \
      if (la <= 8 && oa <= load_end)                                   \
        TD_AGG_PREFETCH(                                               \
            &stab[sslot_index(load8(strs + oa) & low_masks[la], la, shift)]); \
    }                                                                  \
    if (KV && !kvalid[r]) {                                            \
      g = null_g;                                                      \
    } else {                                                           \
      const int64_t o = offs[r];                                       \
      const uint64_t len = (uint64_t)(offs[r + 1] - o);                \
      if ((len > 8) | (o > load_end)) break;                           \
      const uint64_t w = load8(strs + o) & low_masks[len];             \
      uint64_t s = sslot_index(w, len, shift);                         \
      while ((g = stab[s].g) != NO_GROUP &&                            \
             (stab[s].w != w || stab[s].len != len))                   \
        s = (s + 1) & smask;                                           \
    }                                                                  \
    MAP_ROW_FOLD(TRACK, OP);                                           \
  }

#define STR_LOOPS(TRACK, OP)                                           \
  do {                                                                 \
    if (sel) {                                                         \
      if (kvalid) STR_LOOP(ROW_SEL, TRACK, 1, OP)                      \
      else STR_LOOP(ROW_SEL, TRACK, 0, OP)                             \
    } else {                                                           \
      if (kvalid) STR_LOOP(ROW_ALL, TRACK, 1, OP)                      \
      else STR_LOOP(ROW_ALL, TRACK, 0, OP)                             \
    }                                                                  \
  } while (0)

typedef int str_map_fn(td_agg *a, const td_vec *kv, const uint32_t *sel, int64_t j0,
                       int64_t j1, int64_t batch_len, const fctx *c, td_error *err);

#define STR_SETUP                                                        \
  const sslot *stab = a->stab;                                           \
  const uint64_t smask = (uint64_t)a->stab_cap - 1;                      \
  const int shift = stab_shift(a->stab_cap);

#define DEFINE_STR_MAP(OP)                                                        \
  static int str_map_##OP(td_agg *a, const td_vec *kv, const uint32_t *sel,       \
                          int64_t j0, int64_t j1, int64_t batch_len,              \
                          const fctx *c, td_error *err) {                         \
    const int32_t *offs = kv->offs;                                               \
    const char *strs = kv->strs;                                                  \
    const uint8_t *kvalid = kv->valid;                                            \
    /* rows starting at or before this offset can be read with 8-byte loads */   \
    const int64_t load_end = TD_AGG_LE ? (int64_t)offs[batch_len] - 8 : -1;       \
    uint32_t *G = a->gids;                                                        \
    (void)G;                                                                      \
    FOLD_INPUTS;                                                                  \
    int rc = stab_reserve(a, err);                                                \
    if (rc) return rc;                                                            \
    /* a miss: the short-key index does not know this row's key */              \
    MAP_DRIVE(OP, STR_SETUP, STR_LOOPS(1, OP), STR_LOOPS(0, OP),                  \
              str_miss(a, kv, r, load_end, &g, err), (void)0);                    \
  }

#define FOR_FOLD_OPS(X)                                                       \
  X(OP_COUNT) X(OP_COUNT_V) X(OP_SUM_I) X(OP_SUM_I_V) X(OP_SUM_F) X(OP_SUM_F_V) \
  X(OP_AVG_I) X(OP_AVG_I_V) X(OP_AVG_F) X(OP_AVG_F_V) X(OP_MIN_I) X(OP_MIN_I_V) \
  X(OP_MAX_I) X(OP_MAX_I_V) X(OP_MIN_F) X(OP_MIN_F_V) X(OP_MAX_F) X(OP_MAX_F_V) \
  X(OP_FIRST_I) X(OP_FIRST_F) X(OP_LAST_I) X(OP_LAST_F) X(OP_ANY_I) X(OP_ANY_I_V)    \
  X(OP_ANY_F) X(OP_ANY_F_V) X(OP_PROD_I) X(OP_PROD_I_V) X(OP_PROD_F) X(OP_PROD_F_V) \
  X(OP_BAND) X(OP_BAND_V) X(OP_BOR) X(OP_BOR_V) X(OP_BXOR) X(OP_BXOR_V)

FOR_FOLD_OPS(DEFINE_FOLD)
FOR_FOLD_OPS(DEFINE_FOLD0)
FOR_FOLD_OPS(DEFINE_INT_MAP)
DEFINE_INT_MAP(OP_GIDS)
FOR_FOLD_OPS(DEFINE_STR_MAP)
DEFINE_STR_MAP(OP_GIDS)

/*
 * One utf8 key arriving as dictionary codes, fused lookup + fold of rows
 * j0..j1-1 (OP_GIDS: lookup only, into a->gids[0..]): a row's group is
 * dgid[code] (null_g for a null), the loop runs while the map knows it.
 * CNT: a count(*) beside the aggregate (store cc) is counted in the same
 * loop (the common "count(*), sum(x)").
 */
#define DICT_LOOP(ROWFN, TRACK, KV, OP, CNT)                           \
  for (; j < end; j++) {                                               \
    const int64_t r = ROWFN(j), jr = j;                                \
    uint32_t g;                                                        \
    if (KV && !td_bit_get(valid, voff + r)) g = null_g;                \
    else g = dgid[codes[r]];                                           \
    MAP_ROW_FOLD(TRACK, OP);                                           \
    if (CNT) CC[g]++;                                                  \
  }
#define DICT_LOOPS(TRACK, OP, CNT)                                     \
  do {                                                                 \
    if (sel) {                                                         \
      if (valid) DICT_LOOP(ROW_SEL, TRACK, 1, OP, CNT)                 \
      else DICT_LOOP(ROW_SEL, TRACK, 0, OP, CNT)                       \
    } else {                                                           \
      if (valid) DICT_LOOP(ROW_ALL, TRACK, 1, OP, CNT)                 \
      else DICT_LOOP(ROW_ALL, TRACK, 0, OP, CNT)                       \
    }                                                                  \
  } while (0)

typedef int dict_map_fn(td_agg *a, const td_colview *v, const uint32_t *sel, int64_t j0, int64_t j1,
                        const fctx *c, store *cc, td_error *err);

#define DICT_SETUP(CNT)                                                  \
  int64_t *CC = CNT ? cc->cnt : NULL;                                    \
  const uint32_t *dgid = a->dgid;                                        \
  (void)CC;

#define DEFINE_DICT_MAP_(NAME, OP, CNT)                                           \
  static int NAME(td_agg *a, const td_colview *v, const uint32_t *sel, int64_t j0, \
                  int64_t j1, const fctx *c, store *cc, td_error *err) {         \
    const int32_t *codes = v->codes + v->offset;                                  \
    const uint8_t *valid = v->validity;                                           \
    const int64_t voff = v->offset;                                               \
    uint32_t *G = a->gids;                                                        \
    (void)G, (void)cc;                                                            \
    FOLD_INPUTS;                                                                  \
    /* a miss: row j's entry (or its null) has no group in the map yet */       \
    MAP_DRIVE(OP, DICT_SETUP(CNT), DICT_LOOPS(1, OP, CNT), DICT_LOOPS(0, OP, CNT), \
              dict_miss(a, v, r, &g, err), if (CNT) cc->cnt[g]++);                \
  }
#define DEFINE_DICT_MAP(OP) \
  DEFINE_DICT_MAP_(dict_map_##OP, OP, 0) DEFINE_DICT_MAP_(dict_mapc_##OP, OP, 1)

FOR_FOLD_OPS(DEFINE_DICT_MAP)
DEFINE_DICT_MAP_(dict_map_OP_GIDS, OP_GIDS, 0)

#define FOLD_ENTRY(OP) [OP] = fold_##OP,
#define INT_MAP_ENTRY(OP) [OP] = int_map_##OP,
static fold_fn *const fold_fns[N_OPS] = {FOR_FOLD_OPS(FOLD_ENTRY)};
typedef void fold0_fn(const fctx *c, const uint32_t *sel, int64_t j0, int64_t j1);
#define FOLD0_ENTRY(OP) [OP] = fold0_##OP,
static fold0_fn *const fold0_fns[N_OPS] = {FOR_FOLD_OPS(FOLD0_ENTRY)};

/* A global min or max of int64 rows without nulls or a selection (OP_MIN_I,
 * OP_MAX_I): four independent compare-and-move chains where fold0's loop has
 * one, so a row need not wait for the previous row's compare (a 100M-row
 * min/max(ts) spent half its time in that chain). */
#define EXTREME_STEP(a, x) a = (max ? (x) > a : (x) < a) ? (x) : a
static void fold0_extreme(const fctx *c, int64_t n, bool max) {
  const int64_t *x = c->in->i64;
  int64_t a0 = c->st->i[0], a1 = a0, a2 = a0, a3 = a0, r = 0;
  for (; r + 4 <= n; r += 4) {
    EXTREME_STEP(a0, x[r]);
    EXTREME_STEP(a1, x[r + 1]);
    EXTREME_STEP(a2, x[r + 2]);
    EXTREME_STEP(a3, x[r + 3]);
  }
  for (; r < n; r++) EXTREME_STEP(a0, x[r]);
  EXTREME_STEP(a0, a1);
  EXTREME_STEP(a2, a3);
  EXTREME_STEP(a0, a2);
  c->st->i[0] = a0;
}
#undef EXTREME_STEP

/* A global sum of doubles without nulls (OP_SUM_F): eight partial sums
 * where fold0's loop has one chain of dependent additions (4 cycles a row:
 * the 100M-row sum(price) spent 12% of its time there); they meet in a
 * fixed tree, so a batch's sum does not depend on anything but its rows
 * (its last bits differ from adding the rows in order, as the parallel
 * merge's do). */
static void fold0_sum_f(const fctx *c, const uint32_t *sel, int64_t n) {
  const double *x = c->in->f64;
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t r = 0;
  if (sel)
    for (; r + 8 <= n; r += 8)
      for (int k = 0; k < 8; k++) a[k] += x[sel[r + k]];
  else
    for (; r + 8 <= n; r += 8)
      for (int k = 0; k < 8; k++) a[k] += x[r + k];
  double t = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  for (; r < n; r++) t += x[sel ? sel[r] : r];
  c->st->f[0] += t;
}
#define STR_MAP_ENTRY(OP) [OP] = str_map_##OP,
static int_map_fn *const int_map_fns[N_OPS] = {FOR_FOLD_OPS(INT_MAP_ENTRY)[OP_GIDS] = int_map_OP_GIDS};
static str_map_fn *const str_map_fns[N_OPS] = {FOR_FOLD_OPS(STR_MAP_ENTRY)[OP_GIDS] = str_map_OP_GIDS};
#define DICT_MAP_ENTRY(OP) [OP] = dict_map_##OP,
#define DICT_MAPC_ENTRY(OP) [OP] = dict_mapc_##OP,
static dict_map_fn *const dict_map_fns[N_OPS] = {FOR_FOLD_OPS(DICT_MAP_ENTRY)[OP_GIDS] = dict_map_OP_GIDS};
static dict_map_fn *const dict_mapc_fns[N_OPS] = {FOR_FOLD_OPS(DICT_MAPC_ENTRY)};

/* The generic per-row step of one aggregate. */
static int fold_value(store *s, td_agg_kind kind, uint32_t g, const td_value *v, td_error *err) {
  switch (kind) {
    case TD_AGG_COUNT_STAR: s->cnt[g]++; return TD_OK;
    case TD_AGG_COUNT: s->cnt[g] += !v->is_null; return TD_OK;
    case TD_AGG_SUM:
    case TD_AGG_AVG:
      if (v->is_null) return TD_OK;
      if (kind == TD_AGG_SUM) s->has[g] = 1;
      else s->cnt[g]++;
      if (s->ph == TD_PHYS_D128) /* exact; a sum beyond 38 digits is an error */
        s->ovf |= __builtin_add_overflow(s->d[g], td_dec_of(v), &s->d[g]) ||
                  !td_dec_fits(s->d[g], TD_DECIMAL128_MAX_PRECISION);
      else if (kind == TD_AGG_SUM && s->ph == TD_PHYS_I64) s->ovf |= __builtin_add_overflow(s->i[g], v->v.i, &s->i[g]);
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
    case TD_AGG_ANY_VALUE:
      if (v->is_null || s->has[g]) return TD_OK;
      s->has[g] = 1;
      return store_set(s, g, v, err);
    case TD_AGG_PRODUCT: {
      if (v->is_null) return TD_OK;
      double x = td_type_is_float(v->type)         ? v->v.f
                 : v->type == TD_TYPE_UINT64         ? (double)(uint64_t)v->v.i
                 : v->type == TD_TYPE_DECIMAL128     ? (double)td_dec_of(v) / (double)td_dec_pow10(s->scale)
                                                     : (double)v->v.i;
      s->f[g] *= x; /* from the identity */
      s->has[g] = 1;
      return TD_OK;
    }
    case TD_AGG_BIT_AND:
    case TD_AGG_BIT_OR:
    case TD_AGG_BIT_XOR:
      if (v->is_null) return TD_OK;
      s->i[g] = kind == TD_AGG_BIT_AND ? s->i[g] & v->v.i : kind == TD_AGG_BIT_OR ? s->i[g] | v->v.i : s->i[g] ^ v->v.i;
      s->has[g] = 1;
      return TD_OK;
    default:
      s->has[g] = 1;
      return store_set(s, g, v, err);
  }
}

static int dseen_of(td_agg *a, td_error *err);
static const td_colview *distinct_codes_input(const td_agg *a, const td_batch *b, int64_t k);

/* A grouped count(DISTINCT) or string_agg(DISTINCT) of a utf8 column
 * arriving as dictionary codes, rows j0..j1-1 (groups a->gids[0..]): each
 * entry of a dictionary is hashed once, a row's value is its entry (no
 * string decoded, none hashed a row), its place in the set prefetched a
 * block ahead.  Each entry remembers the last group it entered the set
 * for: a row of that group again (groups in runs: a partition key, sorted
 * rows) costs a compare, not a probe and a string compare. */
static int gdistinct_codes(td_agg *a, int64_t k, const td_colview *v, const uint32_t *sel, int64_t j0, int64_t j1,
                           td_error *err) {
  enum { BLOCK = 16 };
  if (dseen_of(a, err)) return TD_ENOMEM;
  dseen *ds = &a->dseen[k];
  const td_dict *d = v->dict;
  const td_vec dv = dict_vec(d);
  const int64_t nd = d->view.length;
  if (ds->id != d->id || !ds->hash) {
    if (nd > ds->hcap || !ds->hash) {
      uint64_t *h = td_realloc(ds->hash, (size_t)(nd ? nd : 1) * sizeof *h);
      if (h) ds->hash = h;
      uint32_t *l = h ? td_realloc(ds->lastg, (size_t)(nd ? nd : 1) * sizeof *l) : NULL;
      if (l) ds->lastg = l;
      if (!h || !l) return td_err_nomem(err, "counting distinct values");
      ds->hcap = nd;
    }
    memset(ds->lastg, 0xff, (size_t)nd * sizeof *ds->lastg);
    for (int64_t c = 0; c < nd; c++) {
      const td_value x = td__vec_value(&dv, c, TD_TYPE_UTF8);
      ds->hash[c] = value_hash(&x, TD_PHYS_STR);
    }
    ds->id = d->id;
  }
  td__dict_note_group();
  const int32_t *codes = v->codes + v->offset;
  const uint8_t *valid = v->validity;
  const uint64_t *H = ds->hash;
  uint32_t *L = ds->lastg;
  td_aggx *x = a->ext[k];
  int32_t cs[BLOCK];
  for (int64_t b = j0; b < j1; b += BLOCK) {
    const int64_t n = j1 - b < BLOCK ? j1 - b : BLOCK;
    for (int64_t i = 0; i < n; i++) {
      const int64_t r = ROW(b + i);
      const uint32_t g = a->gids[b + i - j0];
      cs[i] = (valid && !td_bit_get(valid, v->offset + r)) || L[codes[r]] == g ? -1 : codes[r];
      if (cs[i] >= 0) td__aggx_prefetch(x, g, H[cs[i]]);
    }
    for (int64_t i = 0; i < n; i++) {
      const int32_t c = cs[i];
      const uint32_t g = a->gids[b + i - j0];
      if (c < 0 || L[c] == g) continue; /* null, or in the set (an earlier row of the block) */
      const td_value val = td__vec_value(&dv, c, TD_TYPE_UTF8);
      int rc = td__aggx_add(x, g, &val, H[c], err);
      if (rc) return rc;
      L[c] = g;
    }
  }
  return TD_OK;
}

/* The holistic aggregates (agg_more.c), a block of values at a time: each
 * value's place in a distinct set is prefetched before any is added. */
/* The least and greatest valid values among rows j0..j1-1 (through sel) of
 * an int64 vector; false when none is valid. */
static bool vec_range(const td_vec *in, const uint32_t *sel, int64_t j0, int64_t j1, int64_t *lo, int64_t *hi) {
  const int64_t *x = in->i64;
  *lo = INT64_MAX;
  *hi = INT64_MIN;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t r = ROW(j);
    if (in->valid && !in->valid[r]) continue;
    *lo = x[r] < *lo ? x[r] : *lo;
    *hi = x[r] > *hi ? x[r] : *hi;
  }
  return *lo <= *hi;
}

/*
 * Grouped count(DISTINCT x) of integers in bulk mode (a one-shot query's
 * fold): while every value seen lies in a window of at most GB_MAX_WORDS
 * words of bits and the groups' marks take at most GB_MAX_BYTES, each group
 * marks its values in its own words of one array (`GROUP BY sym` of
 * `count(DISTINCT qty)`, qty 1..1000: 16 words a group) instead of sending
 * every row's (group, value) pair to the set.  The marks are the state
 * (the set holds nothing while they exist: they start only on an empty
 * set): a group's count is its marks, partial states merge by OR through
 * the group map (gbits_merge), and settling keeps them.  A value outside
 * the window widens it while it stays narrow enough; otherwise, or when the
 * groups outgrow the budget, or a batch comes that is not for them (out of
 * bulk mode, a constant input), or an operation that works on the set
 * (retraction, resetting or dropping groups), the marks go into the set
 * (gbits_flush) and everything is the set's from then on (goff).
 */
enum { GB_MAX_WORDS = 64, GB_MAX_BYTES = 64 << 20 };

/* The marks of aggregate k into its set, and the bitmap gone for good. */
/* The pairs marked in y's first ng groups into set x, group g as map[g]
 * (g itself without a map; NO_GROUP: skipped). */
static int marks_into(td_aggx *x, const dseen *y, int64_t ng, const uint32_t *map, td_error *err) {
  for (int64_t g = 0; g < ng; g++) {
    const uint32_t to = map ? map[g] : (uint32_t)g;
    for (int64_t w = 0; to != NO_GROUP && w < y->gw; w++)
      for (uint64_t m = y->gb[g * y->gw + w]; m; m &= m - 1) {
        uint64_t v = (uint64_t)y->glo + (uint64_t)(w * 64 + __builtin_ctzll(m));
        int rc = td__aggx_add_hash(x, to, td_mix64(v), err);
        if (rc) return rc;
      }
  }
  return TD_OK;
}

/* Whether marks of `words` words a group for cap groups stay in budget. */
static bool gbits_fit(int64_t words, int64_t cap) {
  return words <= GB_MAX_WORDS && (double)cap * (double)words * 8 <= GB_MAX_BYTES;
}

static int gbits_flush(td_agg *a, int64_t k, td_error *err) {
  dseen *ds = a->dseen ? &a->dseen[k] : NULL;
  if (!ds || !ds->gb) {
    if (ds) ds->goff = true;
    return TD_OK;
  }
  int rc = marks_into(a->ext[k], ds, ds->gcap, NULL, err);
  td_free(ds->gb);
  ds->gb = NULL;
  ds->goff = true;
  return rc;
}

/* Every aggregate's marks into its set (nothing for a state without). */
static int gbits_flush_all(td_agg *a, td_error *err) {
  int rc = TD_OK;
  for (int64_t k = 0; a->dseen && k < a->n_aggs; k++) {
    if (!a->dseen[k].gb) continue;
    int r = gbits_flush(a, k, err);
    if (rc == TD_OK) rc = r;
  }
  return rc;
}

/* Group g's count of distinct values when aggregate k's marks are its
 * state (*count), else false. */
static bool gbits_count(const td_agg *a, int64_t k, uint32_t g, int64_t *count) {
  const dseen *ds = a->dseen ? &a->dseen[k] : NULL;
  if (!ds || !ds->gb) return false;
  *count = 0;
  for (int64_t w = 0; (int64_t)g < ds->gcap && w < ds->gw; w++)
    *count += __builtin_popcountll(ds->gb[(int64_t)g * ds->gw + w]);
  return true;
}

/* Lays the marks out again for window (lo, words) and cap groups. */
static int gbits_layout(dseen *ds, int64_t lo, int64_t words, int64_t cap, td_error *err) {
  uint64_t *m = td_calloc((size_t)(cap * words), sizeof *m);
  if (!m) return td_err_nomem(err, "counting distinct values");
  const int64_t shift = ds->gb ? (ds->glo - lo) / 64 : 0; /* both windows start on a multiple of 64 */
  for (int64_t g = 0; ds->gb && g < ds->gcap; g++)
    memcpy(m + g * words + shift, ds->gb + g * ds->gw, (size_t)ds->gw * sizeof *m);
  td_free(ds->gb);
  ds->gb = m;
  ds->glo = lo;
  ds->gw = words;
  ds->gcap = cap;
  return TD_OK;
}

/* Rows j0..j1-1 (groups a->gids) of aggregate k's input marked in the
 * groups' bitmaps (*done), or nothing done when the bitmaps are off. */
static int gbits_add(td_agg *a, int64_t k, const td_vec *in, const uint32_t *sel, int64_t j0, int64_t j1, bool *done,
                     td_error *err) {
  *done = false;
  if (!a->bulk || a->n_keys == 0 || a->specs[k].kind != TD_AGG_COUNT_DISTINCT || in->is_const ||
      in->ph != TD_PHYS_I64 || a->ast[k].ph != TD_PHYS_I64 || (a->dseen && a->dseen[k].goff))
    return a->dseen && a->dseen[k].gb ? gbits_flush(a, k, err) : TD_OK; /* not for the marks */
  if (dseen_of(a, err)) return TD_ENOMEM;
  dseen *ds = &a->dseen[k];
  if (!ds->gb && td__aggx_size(a->ext[k]) > 0) { /* pairs in the set already: it stays the state */
    ds->goff = true;
    return TD_OK;
  }
  const int64_t *x = in->i64;
  const uint8_t *valid = in->valid;
  int64_t lo, hi;
  if (!vec_range(in, sel, j0, j1, &lo, &hi)) { /* no value */
    *done = true;
    return TD_OK;
  }
  int64_t nlo = ds->gb && ds->glo < lo ? ds->glo : lo, nhi = ds->gb && ds->glo + 64 * ds->gw - 1 > hi ? ds->glo + 64 * ds->gw - 1 : hi;
  if (nlo < INT64_MIN / 2 || nhi > INT64_MAX / 2) return gbits_flush(a, k, err);
  nlo = nlo >= 0 ? nlo / 64 * 64 : -((-nlo + 63) / 64 * 64);
  const int64_t words = (nhi - nlo) / 64 + 1;
  int64_t cap = ds->gcap > a->n_groups ? ds->gcap : a->n_groups;
  if (cap > ds->gcap) cap = cap < 2 * ds->gcap ? 2 * ds->gcap : cap; /* groups come a few at a time */
  if (!gbits_fit(words, cap)) return gbits_flush(a, k, err);
  if (!ds->gb || words != ds->gw || nlo != ds->glo || cap != ds->gcap) {
    int rc = gbits_layout(ds, nlo, words, cap, err);
    if (rc) return rc;
  }
  uint64_t *gb = ds->gb;
  const uint32_t *G = a->gids;
  const int64_t gw = ds->gw;
  const uint64_t base = (uint64_t)ds->glo;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t r = ROW(j);
    if (valid && !valid[r]) continue;
    const uint64_t d = (uint64_t)x[r] - base;
    gb[(int64_t)G[j - j0] * gw + (int64_t)(d >> 6)] |= 1ULL << (d & 63);
  }
  *done = true;
  return TD_OK;
}

static int fold_ext(td_agg *a, int64_t k, const td_vec *in, const uint32_t *sel, int64_t j0, int64_t j1,
                    td_error *err) {
  enum { BLOCK = 16 };
  const td_agg_spec *sp = &a->specs[k];
  td_aggx *x = a->ext[k];
  const td_colview *dc = a->n_keys && a->batch ? distinct_codes_input(a, a->batch, k) : NULL;
  if (dc) return gdistinct_codes(a, k, dc, sel, j0, j1, err); /* (strings: never marks) */
  if (sp->kind == TD_AGG_COUNT_DISTINCT && a->n_keys > 0) { /* the marks, or the set from now on */
    bool done = false;
    int grc = gbits_add(a, k, in, sel, j0, j1, &done, err);
    if (grc || done) return grc;
  }
  if (td__aggx_by_vec(x) && !in->is_const && in->ph == a->ast[k].ph)
    return td__aggx_add_vec(x, a->gids, in, sel, j0, j1, err); /* quantiles of numbers */
  if (td__aggx_counts_fixed(x) && !in->is_const && in->ph == a->ast[k].ph) { /* mode, entropy of numbers */
    hash_key_column(in, sel, j0, j1, a->hbuf, true, true);
    return td__aggx_count_vec(x, a->gids, a->hbuf, in, sel, j0, j1, err);
  }
  if (td__aggx_sketch(x) && !in->is_const && in->ph == a->ast[k].ph) { /* hashed column-wise */
    hash_key_column(in, sel, j0, j1, a->hbuf, true, true);
    return td__aggx_add_hashes(x, a->gids, a->hbuf, j1 - j0, in->valid, sel, j0, err);
  }
  if (td__aggx_by_hash(x) && !in->is_const && in->ph == a->ast[k].ph) {
    /* count(DISTINCT) of fixed-width values: hashed column-wise, no value
     * boxed (hbuf is free once the rows are mapped) */
    uint64_t *H = a->hbuf;
    const uint32_t *G = a->gids;
    hash_key_column(in, sel, j0, j1, H, true, true);
    for (int64_t b = 0; b < j1 - j0; b += BLOCK) {
      int64_t n = j1 - j0 - b < BLOCK ? j1 - j0 - b : BLOCK;
      for (int64_t i = b; i < b + n; i++) td__aggx_prefetch(x, G[i], H[i]);
      for (int64_t i = b; i < b + n; i++) {
        if (in->valid && !in->valid[ROW(j0 + i)]) continue;
        int rc = td__aggx_add_hash(x, G[i], H[i], err);
        if (rc) return rc;
      }
    }
    return TD_OK;
  }
  td_value v[BLOCK];
  uint64_t h[BLOCK];
  for (int64_t b = j0; b < j1; b += BLOCK) {
    int64_t n = j1 - b < BLOCK ? j1 - b : BLOCK;
    for (int64_t i = 0; i < n; i++) {
      v[i] = td__vec_value(in, ROW(b + i), sp->type);
      h[i] = value_hash(&v[i], a->ast[k].ph);
      td__aggx_prefetch(a->ext[k], a->gids[b + i - j0], h[i]);
    }
    for (int64_t i = 0; i < n; i++) {
      int rc = td__aggx_add(a->ext[k], a->gids[b + i - j0], &v[i], h[i], err);
      if (rc) return rc;
    }
  }
  return TD_OK;
}

/* Whether value x (row r of a float column) beats the group's current c:
 * greater (max) or less (min) as min/max order floats (NaN greatest). */
static inline bool f_beats(double x, double c, bool max) {
  return max ? x > c || (x != x && c == c) : x < c || (c != c && x == x);
}

/* arg_max / arg_min of rows j0..j1-1 (groups a->gids[0..]): where the row's
 * value beats the group's (strictly: the first row wins ties), both the
 * value and the row's arg are stored.  Integer and float values compare in
 * typed loops; a value or arg is boxed only when it is stored. */
static int fold_arg(td_agg *a, int64_t k, const td_vec *in, const td_vec *vin, const uint32_t *sel, int64_t j0,
                    int64_t j1, td_error *err) {
  const td_agg_spec *sp = &a->specs[k];
  const bool max = is_argmax(sp->kind), keep_null = sp->kind >= TD_AGG_ARG_MAX_NULL;
  store *s = &a->ast[k], *vs = &a->vst[k];
  const uint32_t *G = a->gids;
  const bool ti = !vin->is_const && vin->ph == TD_PHYS_I64 && vs->ph == TD_PHYS_I64,
             tf = !vin->is_const && vin->ph == TD_PHYS_F64 && vs->ph == TD_PHYS_F64;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t r = ROW(j);
    const uint32_t g = G[j - j0];
    if (!keep_null && !td__vec_valid(in, r)) continue; /* DuckDB: a null arg's row is skipped */
    if (ti || tf) {
      if (vin->valid && !vin->valid[r]) continue;
      if (ti) {
        int64_t x = vin->i64[r];
        if (s->has[g] && !(max ? x > vs->i[g] : x < vs->i[g])) continue;
        vs->i[g] = x;
      } else {
        double x = vin->f64[r];
        if (s->has[g] && !f_beats(x, vs->f[g], max)) continue;
        vs->f[g] = x;
      }
      vs->nul[g] = 0;
    } else {
      td_value v = td__vec_value(vin, r, a->type2[k]);
      if (v.is_null) continue;
      if (s->has[g]) {
        td_value cur = store_value(vs, g, a->type2[k]);
        int c = cmp_values(&v, &cur, vs->ph);
        if (max ? c <= 0 : c >= 0) continue;
      }
      int rc = store_set(vs, g, &v, err);
      if (rc) return rc;
    }
    s->has[g] = 1;
    td_value x = td__vec_value(in, r, sp->type);
    int rc = store_set(s, g, &x, err);
    if (rc) return rc;
  }
  return TD_OK;
}

/* A pair statistic of rows j0..j1-1 (groups a->gids[0..]): y from `in`, x
 * from `xin` (float64), pairs with a null skipped; DuckDB's updates. */
static void fold_pair(td_agg *a, int64_t k, const td_vec *in, const td_vec *xin, const uint32_t *sel, int64_t j0,
                      int64_t j1) {
  store *s = &a->ast[k];
  double *M = a->mom[k];
  const uint32_t *G = a->gids;
  const bool typed = !in->is_const && !xin->is_const;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t r = ROW(j);
    double y, x;
    if (typed) {
      if ((in->valid && !in->valid[r]) || (xin->valid && !xin->valid[r])) continue;
      y = in->f64[r], x = xin->f64[r];
    } else {
      td_value vy = td__vec_value(in, r, TD_TYPE_FLOAT64), vx = td__vec_value(xin, r, TD_TYPE_FLOAT64);
      if (vy.is_null || vx.is_null) continue;
      y = vy.v.f, x = vx.v.f;
    }
    const uint32_t g = G[j - j0];
    double *m = M + (size_t)g * MW;
    const double n = (double)++s->cnt[g];
    const double dx = x - m[M_MX], mx = m[M_MX] + dx / n;
    const double dy = y - m[M_MY], my = m[M_MY] + dy / n;
    m[M_C] += dx * (y - my);
    m[M_DX] += (x - mx) * dx;
    m[M_DY] += (y - my) * dy;
    m[M_MX] = mx;
    m[M_MY] = my;
    s->has[g] = 1;
  }
}

/* skewness / kurtosis of rows j0..j1-1: DuckDB's power sums. */
static void fold_powers(td_agg *a, int64_t k, const td_vec *in, const uint32_t *sel, int64_t j0, int64_t j1) {
  store *s = &a->ast[k];
  double *M = a->mom[k];
  const uint32_t *G = a->gids;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t r = ROW(j);
    double x;
    if (!in->is_const) {
      if (in->valid && !in->valid[r]) continue;
      x = in->f64[r];
    } else {
      if (in->c.is_null) continue;
      x = in->c.v.f;
    }
    const uint32_t g = G[j - j0];
    double *m = M + (size_t)g * MW;
    const double x2 = x * x; /* pow(x, 2) exactly; the cube and fourth power within an ulp of pow's */
    s->cnt[g]++;
    m[0] += x;
    m[1] += x2;
    m[2] += x2 * x;
    m[3] += x2 * x2;
    s->has[g] = 1;
  }
}

/* Aggregates folded a value at a time (in: aggregate k's input; an
 * arg_max's value vector is in[a->n_aggs], see load_inputs). */
static int fold_generic(td_agg *a, int64_t k, const td_vec *in, const uint32_t *sel, int64_t j0,
                        int64_t j1, td_error *err) {
  const td_agg_spec *sp = &a->specs[k];
  if (a->ext[k]) return fold_ext(a, k, in, sel, j0, j1, err);
  if (is_arg(sp->kind)) return fold_arg(a, k, in, in + a->n_aggs, sel, j0, j1, err);
  if (td_agg_is_pair_stat(sp->kind)) {
    fold_pair(a, k, in, in + a->n_aggs, sel, j0, j1);
    return TD_OK;
  }
  if (td_agg_is_moment(sp->kind)) {
    fold_powers(a, k, in, sel, j0, j1);
    return TD_OK;
  }
  if (sp->kind == TD_AGG_ANY_VALUE) { /* only rows of groups without a value yet are read */
    const uint8_t *H = a->ast[k].has;
    for (int64_t j = j0; j < j1; j++) {
      if (H[a->gids[j - j0]] || !td__vec_valid(in, ROW(j))) continue;
      td_value v = td__vec_value(in, ROW(j), sp->type);
      int rc = fold_value(&a->ast[k], sp->kind, a->gids[j - j0], &v, err);
      if (rc) return rc;
    }
    return TD_OK;
  }
  for (int64_t j = j0; j < j1; j++) {
    td_value v = td__vec_value(in, ROW(j), sp->type);
    int rc = a->ext[k] ? td__aggx_add(a->ext[k], a->gids[j - j0], &v, value_hash(&v, a->ast[k].ph), err)
                       : fold_value(&a->ast[k], sp->kind, a->gids[j - j0], &v, err);
    if (rc) return rc;
  }
  return TD_OK;
}

/* Aggregate k's input when it is a global count, count(DISTINCT), min,
 * max, mode or entropy of a utf8 column arriving as dictionary codes (count_codes,
 * distinct_codes, minmax_codes fold it: no string decoded), or a grouped
 * count(DISTINCT) or string_agg(DISTINCT) of one (gdistinct_codes), else
 * NULL. */
static const td_colview *distinct_codes_input(const td_agg *a, const td_batch *b, int64_t k) {
  const td_agg_spec *sp = &a->specs[k];
  if (sp->type != TD_TYPE_UTF8) return NULL;
  if (a->n_keys) {
    if (a->sink || (sp->kind != TD_AGG_COUNT_DISTINCT && sp->kind != TD_AGG_STRING_AGG_DISTINCT)) return NULL;
  } else if (sp->kind != TD_AGG_COUNT_DISTINCT && sp->kind != TD_AGG_MIN && sp->kind != TD_AGG_MAX &&
             sp->kind != TD_AGG_COUNT && sp->kind != TD_AGG_MODE && sp->kind != TD_AGG_ENTROPY) {
    return NULL;
  }
  if (b->consts && b->consts[sp->column].type != TD_TYPE_NONE) return NULL;
  return b->cols[sp->column].codes && b->cols[sp->column].dict ? &b->cols[sp->column] : NULL;
}

/* A global count(DISTINCT) over dictionary codes: each entry of a
 * dictionary enters the distinct set (hashed, compared by string) the first
 * time a row uses it; other rows cost one byte lookup. */
static int dseen_of(td_agg *a, td_error *err) {
  if (!a->dseen && !(a->dseen = td_calloc((size_t)a->n_aggs, sizeof *a->dseen)))
    return td_err_nomem(err, "counting distinct values");
  return TD_OK;
}

static int distinct_codes(td_agg *a, int64_t k, const td_colview *v, const uint32_t *sel, int64_t n,
                          td_error *err) {
  if (dseen_of(a, err)) return TD_ENOMEM;
  dseen *ds = &a->dseen[k];
  const td_dict *d = v->dict;
  const int64_t nd = d->view.length;
  if (ds->id != d->id || !ds->seen) {
    if (nd > ds->cap) {
      uint8_t *m = td_realloc(ds->seen, (size_t)nd);
      if (!m) return td_err_nomem(err, "counting distinct values");
      ds->seen = m;
      ds->cap = nd;
    }
    if (nd) memset(ds->seen, 0, (size_t)nd);
    ds->id = d->id;
  }
  td__dict_note_group();
  const td_vec dv = dict_vec(d);
  const int32_t *codes = v->codes + v->offset;
  const uint8_t *valid = v->validity;
  uint8_t *seen = ds->seen;
  for (int64_t j = 0; j < n; j++) {
    const int64_t r = ROW(j);
    if (valid && !td_bit_get(valid, v->offset + r)) continue;
    const int32_t c = codes[r];
    if (seen[c]) continue;
    td_value x = td__vec_value(&dv, c, TD_TYPE_UTF8);
    int rc = td__aggx_add(a->ext[k], 0, &x, hash_bytes(x.v.s.ptr, x.v.s.len), err);
    if (rc) return rc;
    seen[c] = 1;
  }
  return TD_OK;
}

/* A global mode or entropy over dictionary codes: the rows of each code are
 * counted, then each code used enters the value counts once with its count,
 * in the order of the codes' first rows (mode's first-seen tie rule). */
static int count_codes_of(td_agg *a, int64_t k, const td_colview *v, const uint32_t *sel, int64_t n,
                          td_error *err) {
  const td_dict *d = v->dict;
  const int64_t nd = d->view.length;
  int64_t *cnt = td_calloc((size_t)(nd ? nd : 1), sizeof *cnt);
  int32_t *order = td_malloc((size_t)(nd ? nd : 1) * sizeof *order);
  if (!cnt || !order) {
    td_free(cnt);
    td_free(order);
    return td_err_nomem(err, "counting values");
  }
  td__dict_note_group();
  const int32_t *codes = v->codes + v->offset;
  const uint8_t *valid = v->validity;
  int64_t m = 0;
  for (int64_t j = 0; j < n; j++) {
    const int64_t r = ROW(j);
    if (valid && !td_bit_get(valid, v->offset + r)) continue;
    const int32_t c = codes[r];
    if (!cnt[c]++) order[m++] = c;
  }
  const td_vec dv = dict_vec(d);
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < m; i++) {
    td_value x = td__vec_value(&dv, order[i], TD_TYPE_UTF8);
    rc = td__aggx_add_count(a->ext[k], 0, &x, hash_bytes(x.v.s.ptr, x.v.s.len), cnt[order[i]], err);
  }
  td_free(cnt);
  td_free(order);
  return rc;
}

/* A global count over dictionary codes: the valid rows. */
static void count_codes(td_agg *a, int64_t k, const td_colview *v, const uint32_t *sel, int64_t n) {
  const uint8_t *valid = v->validity && v->null_count != 0 ? v->validity : NULL;
  int64_t c = n;
  if (valid && !sel) {
    c = td_bits_count(valid, v->offset, n);
  } else if (valid) {
    c = 0;
    for (int64_t j = 0; j < n; j++) c += td_bit_get(valid, v->offset + sel[j]);
  }
  a->ast[k].cnt[0] += c;
}

/* A global min or max over dictionary codes: the entries the rows use
 * (each marked once in dseen's bytes, all clear again on return), then the
 * extreme of those entries alone folded into the state. */
static int minmax_codes(td_agg *a, int64_t k, const td_colview *v, const uint32_t *sel, int64_t n, td_error *err) {
  if (dseen_of(a, err)) return TD_ENOMEM;
  dseen *ds = &a->dseen[k];
  const td_dict *d = v->dict;
  const int64_t nd = d->view.length;
  if (nd > ds->cap) {
    uint8_t *m = td_realloc(ds->seen, (size_t)nd);
    if (!m) return td_err_nomem(err, "folding min/max");
    memset(m, 0, (size_t)nd);
    ds->seen = m;
    ds->cap = nd;
  }
  int32_t *used = td_malloc((size_t)(n < nd ? n : nd) * sizeof *used + 1);
  if (!used) return td_err_nomem(err, "folding min/max");
  td__dict_note_group();
  const int32_t *codes = v->codes + v->offset;
  const uint8_t *valid = v->validity && v->null_count != 0 ? v->validity : NULL;
  uint8_t *seen = ds->seen;
  int64_t m = 0;
  for (int64_t j = 0; j < n; j++) {
    const int64_t r = ROW(j);
    if (valid && !td_bit_get(valid, v->offset + r)) continue;
    const int32_t c = codes[r];
    if (!seen[c]) seen[c] = 1, used[m++] = c;
  }
  const td_vec dv = dict_vec(d);
  const bool mx = a->specs[k].kind == TD_AGG_MAX;
  td_value best = td_value_null(TD_TYPE_UTF8);
  for (int64_t t = 0; t < m; t++) {
    seen[used[t]] = 0;
    td_value x = td__vec_value(&dv, used[t], TD_TYPE_UTF8);
    int c = best.is_null ? 0 : cmp_values(&x, &best, TD_PHYS_STR);
    if (best.is_null || (mx ? c > 0 : c < 0)) best = x;
  }
  td_free(used);
  return fold_value(&a->ast[k], a->specs[k].kind, 0, &best, err);
}

enum {
  DSEEN_MAX_BITS = 1 << 26, /* an integer filter's widest window (8 MiB) */
  EXACT_MAX_SPAN = 1 << 24  /* the widest range of values an exact bitmap holds (window <= 4 MiB) */
};

/* Fits a window of nb bits (a power of two, at least 4096 and twice the
 * span where DSEEN_MAX_BITS allows) around values nlo .. nhi, inside int64;
 * false when they span more than max_span. */
static bool fit_window(int64_t nlo, int64_t nhi, uint64_t max_span, int64_t *lo, int64_t *nbits) {
  const uint64_t sign = 1ULL << 63, blo = (uint64_t)nlo ^ sign, bhi = (uint64_t)nhi ^ sign; /* ordered as unsigned */
  const uint64_t span = bhi - blo + 1;
  if (span == 0 || span > max_span) return false;
  uint64_t nb = 4096;
  while (nb < 2 * span && nb < DSEEN_MAX_BITS) nb *= 2;
  const uint64_t pad = (nb - span) / 2; /* room to both sides */
  uint64_t bl = blo >= pad ? blo - pad : 0;
  if (bl > UINT64_MAX - (nb - 1)) bl = UINT64_MAX - (nb - 1);
  *lo = (int64_t)(bl ^ sign);
  *nbits = (int64_t)nb;
  return true;
}

/* The last value of ds's window. */
static int64_t win_last(const dseen *ds) { return (int64_t)((uint64_t)ds->lo + (uint64_t)(ds->nbits - 1)); }

/* ORs the marks of window (from, from_lo, from_nbits) into window (to,
 * to_lo, to_nbits), which covers it. */
static void or_marks(uint64_t *to, int64_t to_lo, int64_t to_nbits, const uint64_t *from, int64_t from_lo,
                     int64_t from_nbits) {
  const uint64_t off = (uint64_t)from_lo - (uint64_t)to_lo;
  const int64_t w0 = (int64_t)(off >> 6), tw = to_nbits / 64;
  const unsigned s = (unsigned)(off & 63);
  for (int64_t w = 0; w < from_nbits / 64; w++) {
    const uint64_t m = from[w];
    if (!m) continue;
    to[w0 + w] |= m << s;
    if (s && w0 + w + 1 < tw) to[w0 + w + 1] |= m >> (64 - s);
  }
}

/* Moves ds's window to (lo, nbits), the marks kept. */
static int rewindow(dseen *ds, int64_t lo, int64_t nbits, td_error *err) {
  uint64_t *m = td_calloc((size_t)(nbits / 64), sizeof *m);
  if (!m) return td_err_nomem(err, "counting distinct values");
  if (ds->bits) or_marks(m, lo, nbits, ds->bits, ds->lo, ds->nbits);
  td_free(ds->bits);
  ds->bits = m;
  ds->lo = lo;
  ds->nbits = nbits;
  return TD_OK;
}

/* Calls fn(v, ctx) for every value marked in ds's window, in order. */
static int each_mark(const dseen *ds, int (*fn)(int64_t v, void *ctx, td_error *err), void *ctx, td_error *err) {
  for (int64_t w = 0; ds->bits && w < ds->nbits / 64; w++)
    for (uint64_t m = ds->bits[w]; m; m &= m - 1) {
      int rc = fn((int64_t)((uint64_t)ds->lo + (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(m)), ctx, err);
      if (rc) return rc;
    }
  return TD_OK;
}

static int add_to_set(int64_t v, void *x, td_error *err) { return td__aggx_add_hash(x, 0, td_mix64((uint64_t)v), err); }

/* An exact bitmap's count: its marks. */
static int64_t count_marks(const dseen *ds) { return td_bits_count((const uint8_t *)ds->bits, 0, ds->nbits); }

/* Aggregate k's exact bitmap (the state of a global count(DISTINCT) of
 * integers), NULL if it has none. */
static const dseen *exact_of(const td_agg *a, int64_t k) {
  return a->dseen && a->dseen[k].exact ? &a->dseen[k] : NULL;
}

/* Ends aggregate k's exact bitmap: its values enter the set, and the
 * bitmap stays as the set's filter (what it marks is in the set). */
static int spill_exact(td_agg *a, int64_t k, td_error *err) {
  if (a->dseen) a->dseen[k].spilled = true;
  if (!exact_of(a, k)) return TD_OK;
  a->dseen[k].exact = false;
  return each_mark(&a->dseen[k], add_to_set, a->ext[k], err);
}

/*
 * A global count(DISTINCT) of integers.  While the values seen span at most
 * EXACT_MAX_SPAN, a bitmap over a window around them is the state (exact:
 * the set holds nothing, the count is the marks; 1M distinct ids % 1000000
 * in 10M rows: a 256 KiB bitmap instead of a 32 MiB set per worker, merged
 * by OR, see merge_exact).  The window starts around the first batch's
 * values and widens (marks kept) to cover later ones.  A batch that would
 * widen it past EXACT_MAX_SPAN, or another path adding to the set, spills
 * the marks into the set (spill_exact); from then on the bitmap is a filter
 * in front of the set: a value is hashed into the set once, later rows cost
 * a bit test, and the window widens while it stays under DSEEN_MAX_BITS,
 * values outside going to the set directly.
 */
static int distinct_ints(td_agg *a, int64_t k, const td_vec *in, const uint32_t *sel, int64_t n, td_error *err) {
  if (dseen_of(a, err)) return TD_ENOMEM;
  dseen *ds = &a->dseen[k];
  td_aggx *agg = a->ext[k];
  const int64_t *x = in->i64;
  const uint8_t *valid = in->valid;
  int64_t lo, hi;
  if (!vec_range(in, sel, 0, n, &lo, &hi)) return TD_OK;
  if (!ds->bits && !ds->spilled && td__aggx_size(agg) == 0) ds->exact = true; /* the first values */
  if (!ds->bits || lo < ds->lo || (uint64_t)hi - (uint64_t)ds->lo >= (uint64_t)ds->nbits) {
    const int64_t nlo = ds->bits && ds->lo < lo ? ds->lo : lo;
    const int64_t nhi = ds->bits && win_last(ds) > hi ? win_last(ds) : hi;
    int64_t wlo, wbits;
    int rc = TD_OK;
    if (ds->exact && !fit_window(nlo, nhi, EXACT_MAX_SPAN, &wlo, &wbits)) rc = spill_exact(a, k, err);
    if (rc == TD_OK && fit_window(nlo, nhi, DSEEN_MAX_BITS, &wlo, &wbits)) rc = rewindow(ds, wlo, wbits, err);
    if (rc) return rc;
  }
  uint64_t *bits = ds->bits;
  const uint64_t base = (uint64_t)ds->lo, nb = bits ? (uint64_t)ds->nbits : 0;
  if (ds->exact) { /* every value is in the window */
    for (int64_t j = 0; j < n; j++) {
      const int64_t r = ROW(j);
      if (valid && !valid[r]) continue;
      const uint64_t d = (uint64_t)x[r] - base;
      bits[d >> 6] |= 1ULL << (d & 63);
    }
    return TD_OK;
  }
  for (int64_t j = 0; j < n; j++) {
    const int64_t r = ROW(j);
    if (valid && !valid[r]) continue;
    const uint64_t d = (uint64_t)x[r] - base;
    if (d < nb) {
      const uint64_t bit = 1ULL << (d & 63);
      if (bits[d >> 6] & bit) continue;
      bits[d >> 6] |= bit;
    }
    int rc = td__aggx_add_hash(agg, 0, td_mix64((uint64_t)x[r]), err);
    if (rc) {
      if (d < nb) bits[d >> 6] &= ~(1ULL << (d & 63)); /* not in the set */
      return rc;
    }
  }
  return TD_OK;
}

/* Folds the exact bitmaps of b's global count(DISTINCT)s into a (after its
 * groups merged, before the sets do): two bitmaps OR into a window covering
 * both while it spans at most EXACT_MAX_SPAN, else a's spills and b's marks
 * enter a's set, as they do when a's state is a set; b's set spills a's
 * bitmap. */
static int merge_exact(td_agg *a, const td_agg *b, td_error *err) {
  for (int64_t k = 0; a->n_keys == 0 && k < a->n_aggs; k++) {
    if (!a->ext[k] || !td__aggx_by_hash(a->ext[k])) continue;
    const dseen *y = exact_of(b, k);
    int rc = TD_OK;
    if (!y) { /* b's values, if any, are in its set (merged into a's now or later) */
      if (td__aggx_size(b->ext[k]) > 0 && !(rc = dseen_of(a, err))) rc = spill_exact(a, k, err);
      if (rc) return rc;
      continue;
    }
    if (!y->bits) continue;
    if ((rc = dseen_of(a, err))) return rc;
    dseen *x = &a->dseen[k];
    if (!x->bits && !x->spilled && td__aggx_size(a->ext[k]) == 0) x->exact = true; /* nothing yet */
    int64_t wlo = 0, wbits = 0;
    if (x->exact) {
      const int64_t nlo = x->bits && x->lo < y->lo ? x->lo : y->lo;
      const int64_t nhi = x->bits && win_last(x) > win_last(y) ? win_last(x) : win_last(y);
      if (!x->bits) {
        rc = rewindow(x, y->lo, y->nbits, err); /* y's window */
      } else if (x->lo <= y->lo && win_last(y) <= win_last(x)) {
        /* x covers y */
      } else if (!fit_window(nlo, nhi, 2 * (uint64_t)EXACT_MAX_SPAN, &wlo, &wbits)) {
        rc = spill_exact(a, k, err);
      } else {
        rc = rewindow(x, wlo, wbits, err);
      }
    }
    if (rc) return rc;
    if (x->exact) or_marks(x->bits, x->lo, x->nbits, y->bits, y->lo, y->nbits);
    else if ((rc = each_mark(y, add_to_set, a->ext[k], err))) return rc;
  }
  return TD_OK;
}

/* Flags that the no-null loops leave to the end of the batch. */
static void post_batch(td_agg *a, int64_t k, fop op) {
  store *s = &a->ast[k];
  if (op == OP_SUM_I || op == OP_SUM_F || op == OP_MIN_I || op == OP_MAX_I)
    for (int64_t t = 0; t < a->n_touched; t++) s->has[a->touched[t]] = 1;
}

/* Ends the implied flags of an untracked state's aggregates (store.imp):
 * every group has a value, and new_group_in wrote its flag (an aggregate's
 * imp is set by its first batch, before that batch makes any group, and an
 * untracked state begins without groups); from then on the loops set them. */
static void settle_flags(td_agg *a) {
  for (int64_t k = 0; k < a->n_aggs; k++)
    if (a->ast[k].imp != IMP_NONE) a->ast[k].imp = IMP_SET;
}

/* Ends an untracked state's shortcut: the flags are already written (by
 * new_group_in), every group (all made since it began without groups) is
 * changed; batches from here on track. */
static void leave_untracked(td_agg *a) {
  if (!a->untracked) return;
  a->untracked = false;
  a->all_changed = a->n_groups > 0;
  for (int64_t k = 0; k < a->n_aggs; k++) a->ast[k].imp = IMP_NONE;
}

/* An untracked state about to fold a batch with `op` into aggregate k: an
 * op that needs post_batch's flags after one that sets them itself (or the
 * reverse) ends the shortcut, before any group of the batch is made. */
static void note_op(td_agg *a, int64_t k, fop op) {
  const uint8_t want = op == OP_SUM_I || op == OP_SUM_F || op == OP_MIN_I || op == OP_MAX_I ? IMP_POST : IMP_SET;
  store *s = &a->ast[k];
  if (s->imp == IMP_NONE) s->imp = want;
  else if (s->imp != want) leave_untracked(a);
}

/* ---- one batch ---- */

enum { MAP_NONE, MAP_INT, MAP_STR, MAP_MULTI, MAP_GENERIC, MAP_DICT, MAP_DICT2, MAP_DICTI, MAP_STR2 };
/* rows dicti_map groups before its lookups are counted against it */
enum { DICTI_TRIAL = 1 << 16 };

/* A key on dictionary codes folds in its lookup loop: one aggregate (*fk),
 * or two of which one is a count without nulls (*ck, counted beside *fk);
 * *ck -1 when none. */
static bool dict_fusable(const td_agg *a, const fop *ops, int64_t *fk, int64_t *ck) {
  *fk = *ck = -1;
  if (a->n_aggs == 1 && ops[0] != OP_GENERIC) *fk = 0;
  else if (a->n_aggs == 2 && ops[0] == OP_COUNT && ops[1] != OP_GENERIC) *fk = 1, *ck = 0;
  else if (a->n_aggs == 2 && ops[1] == OP_COUNT && ops[0] != OP_GENERIC) *fk = 0, *ck = 1;
  return *fk >= 0;
}

/* Loads the aggregates' inputs of batch b and picks their fold loops. */
static int load_inputs(td_agg *a, const td_batch *b, td_vec *in, fop *ops, td_error *err) {
  int rc = TD_OK;
  for (int64_t k = 0; !rc && k < a->n_aggs; k++) {
    const td_agg_spec *sp = &a->specs[k];
    if (sp->kind != TD_AGG_COUNT_STAR && !distinct_codes_input(a, b, k))
      rc = td__vec_load(b, sp->column, sp->type, &in[k], err);
    if (!rc && td_agg_two_inputs(sp->kind))
      rc = a->type2[k] == TD_TYPE_NONE
               ? td_err(err, TD_EINVAL, "aggregate %lld (arg_max/arg_min) has no value column", (long long)k)
               : td__vec_load(b, a->col2[k], a->type2[k], &in[a->n_aggs + k], err);
    ops[k] = choose_op(sp, &in[k], &a->ast[k]);
    if (a->untracked) note_op(a, k, ops[k]);
  }
  return rc;
}

/* Folds rows j0..j1-1, whose groups are a->gids[0..], into every aggregate. */
static int fold_rows(td_agg *a, const td_vec *in, const fop *ops, const uint32_t *sel, int64_t j0, int64_t j1,
                     td_error *err) {
  int rc = TD_OK;
  for (int64_t k = 0; !rc && k < a->n_aggs; k++) {
    if (ops[k] == OP_GENERIC) {
      rc = fold_generic(a, k, &in[k], sel, j0, j1, err);
    } else {
      fctx c = {&a->ast[k], &in[k]};
      fold_fns[ops[k]](&c, a->gids, sel, j0, j1);
    }
  }
  return rc;
}

/* The end of a batch: a sum that overflowed fails it, else the flags left
 * to the end are set and the groups it touched marked changed. */
static int finish_batch(td_agg *a, const fop *ops, td_error *err) {
  for (int64_t k = 0; k < a->n_aggs; k++)
    if (a->ast[k].ovf)
      return a->ast[k].ph == TD_PHYS_D128
                 ? td_err(err, TD_ERANGE, "the decimal sum of aggregate %lld exceeds 38 digits", (long long)k)
                 : sum_overflow(err, k);
  for (int64_t k = 0; k < a->n_aggs; k++) post_batch(a, k, ops[k]);
  for (int64_t t = 0; t < a->n_touched; t++) mark_changed(a, a->touched[t]);
  return TD_OK;
}

/*
 * Keys mixing constants (partition columns: one value a chunk) and data
 * columns.  Rather than hashing the combined key of every row, the rows are
 * mapped on the data keys alone by an index state `sub` (no aggregates; its
 * fast paths: dictionary codes, the integer direct map, short strings, the
 * combined key of several), then each sub group to this state's group for
 * the batch's constants: `loc` (sub group -> group, for partition `pid`, the
 * last batch's; its set entries listed in `lset`), filled from the pairs
 * (partition, sub group) -> group `xk`/`xg`, a pair met first through the
 * hash table (lookup_values: the hash and the groups map_multi gives, so
 * batches taking either path share groups).  Partitions are the groups of an
 * index state `pidx` on the constant keys.  Rows fold in order into the same
 * states as on the generic path: the result is the same.  Made for one split
 * of the keys into constants and columns; a batch splitting them otherwise
 * remakes it.
 */
typedef struct partkeys {
  uint8_t *is_const; /* per key: a constant in the batches this is made for */
  td_agg *pidx, *sub;
  td_value *vals; /* scratch: the keys of a new pair */
  uint32_t pid;
  uint32_t *loc, *lset;
  int64_t loc_cap, n_lset;
  uint32_t *pend; /* part_sink's scratch, CHUNK entries */
  uint64_t *xk; /* pair (partition << 32 | sub group); UINT64_MAX: empty */
  uint32_t *xg;
  int64_t x_cap, x_n;
} partkeys;

static _Atomic int64_t part_batches; /* td__agg_part_batches */

int64_t td__agg_part_batches(void) { return atomic_load_explicit(&part_batches, memory_order_relaxed); }

static void part_free(partkeys *pk) {
  if (!pk) return;
  td_agg_free(pk->pidx);
  td_agg_free(pk->sub);
  td_free(pk->is_const);
  td_free(pk->vals);
  td_free(pk->loc);
  td_free(pk->lset);
  td_free(pk->pend);
  td_free(pk->xk);
  td_free(pk->xg);
  td_free(pk);
}

static bool key_is_const(const td_agg *a, const td_batch *b, int64_t k) {
  return b->consts && b->consts[a->keys[k].column].type != TD_TYPE_NONE;
}

/* Whether batch b takes part_update: two keys or more, some constant in it
 * and some not. */
static bool part_applies(const td_agg *a, const td_batch *b) {
  if (a->n_keys < 2 || !b->consts) return false;
  int64_t nc = 0;
  for (int64_t k = 0; k < a->n_keys; k++) nc += key_is_const(a, b, k);
  return nc > 0 && nc < a->n_keys;
}

/* Grows the pairs table to hold one more. */
static int part_xreserve(partkeys *pk, td_error *err) {
  if ((pk->x_n + 1) * 2 <= pk->x_cap) return TD_OK;
  const int64_t cap = pk->x_cap ? pk->x_cap * 2 : 1024;
  uint64_t *xk = td_malloc((size_t)cap * sizeof *xk);
  uint32_t *xg = td_malloc((size_t)cap * sizeof *xg);
  if (!xk || !xg) {
    td_free(xk);
    td_free(xg);
    return td_err_nomem(err, "grouping on partition columns");
  }
  memset(xk, 0xff, (size_t)cap * sizeof *xk);
  for (int64_t i = 0; i < pk->x_cap; i++) {
    if (pk->xk[i] == UINT64_MAX) continue;
    uint64_t s = td_mix64(pk->xk[i]) & (uint64_t)(cap - 1);
    while (xk[s] != UINT64_MAX) s = (s + 1) & (uint64_t)(cap - 1);
    xk[s] = pk->xk[i];
    xg[s] = pk->xg[i];
  }
  td_free(pk->xk);
  td_free(pk->xg);
  pk->xk = xk;
  pk->xg = xg;
  pk->x_cap = cap;
  return TD_OK;
}

/* Makes a->pk the one for b's split of the keys. */
static int part_prepare(td_agg *a, const td_batch *b, td_error *err) {
  partkeys *pk = a->pk;
  bool same = pk != NULL;
  for (int64_t k = 0; same && k < a->n_keys; k++) same = pk->is_const[k] == key_is_const(a, b, k);
  if (same) return TD_OK;
  part_free(pk);
  a->pk = pk = td_calloc(1, sizeof *pk);
  td_agg_key *ck = td_malloc((size_t)a->n_keys * sizeof *ck), *dk = td_malloc((size_t)a->n_keys * sizeof *dk);
  int rc = TD_OK;
  if (!pk || !ck || !dk || !(pk->is_const = td_malloc((size_t)a->n_keys)) ||
      !(pk->vals = td_calloc((size_t)a->n_keys, sizeof *pk->vals)) || !(pk->pend = td_malloc(CHUNK * sizeof *pk->pend))) {
    rc = td_err_nomem(err, "grouping on partition columns");
  } else {
    int64_t nc = 0, nd = 0;
    for (int64_t k = 0; k < a->n_keys; k++) {
      pk->is_const[k] = key_is_const(a, b, k);
      if (pk->is_const[k]) ck[nc++] = a->keys[k];
      else dk[nd++] = a->keys[k];
    }
    pk->pid = NO_GROUP;
    rc = td_agg_create(ck, nc, NULL, 0, &pk->pidx, err);
    if (!rc) rc = td_agg_create(dk, nd, NULL, 0, &pk->sub, err);
    if (!rc) rc = part_xreserve(pk, err);
  }
  td_free(ck);
  td_free(dk);
  if (rc) {
    part_free(a->pk);
    a->pk = NULL;
  }
  return rc;
}

/* The slot of pair `key` in the pairs table, or the empty slot it would take. */
static uint64_t part_xslot(const partkeys *pk, uint64_t key) {
  const uint64_t mask = (uint64_t)pk->x_cap - 1;
  uint64_t i = td_mix64(key) & mask;
  while (pk->xk[i] != UINT64_MAX && pk->xk[i] != key) i = (i + 1) & mask;
  return i;
}

/* The group of sub group s in the current partition (added if new). */
static int part_group(td_agg *a, const td_vec *kv, uint32_t s, uint32_t *out, td_error *err) {
  partkeys *pk = a->pk;
  const uint64_t key = (uint64_t)pk->pid << 32 | s;
  uint64_t i = part_xslot(pk, key);
  if (pk->xk[i] == key) {
    *out = pk->xg[i];
    return TD_OK;
  }
  for (int64_t k = 0, d = 0; k < a->n_keys; k++)
    pk->vals[k] = pk->is_const[k] ? kv[k].c : store_value(&pk->sub->kst[d++], s, a->keys[k].type);
  int rc = lookup_values(a, pk->vals, out, err);
  if (rc || (rc = part_xreserve(pk, err))) return rc;
  i = part_xslot(pk, key);
  pk->xk[i] = key;
  pk->xg[i] = *out;
  pk->x_n++;
  return TD_OK;
}

/* What part_sink folds: the state, its constant keys and inputs. */
typedef struct part_ctx {
  td_agg *a;
  const td_vec *kv, *in;
  const fop *ops;
  const uint32_t *sel;
} part_ctx;

/* The sub index mapped rows j0..j1-1 to its groups sg[0..]: their groups
 * here, then the fold. */
static int part_sink(void *ctx, const uint32_t *sg, int64_t j0, int64_t j1, td_error *err) {
  const part_ctx *c = ctx;
  td_agg *a = c->a;
  partkeys *pk = a->pk;
  const int64_t ns = pk->sub->n_groups;
  if (ns > pk->loc_cap) {
    int64_t cap = pk->loc_cap ? pk->loc_cap : 1024;
    while (cap < ns) cap *= 2;
    uint32_t *loc = td_realloc(pk->loc, (size_t)cap * sizeof *loc);
    if (loc) pk->loc = loc;
    uint32_t *lset = loc ? td_realloc(pk->lset, (size_t)cap * sizeof *lset) : NULL;
    if (!lset) return td_err_nomem(err, "grouping on partition columns");
    pk->lset = lset;
    for (int64_t i = pk->loc_cap; i < cap; i++) loc[i] = NO_GROUP;
    pk->loc_cap = cap;
  }
  /* the sub groups met first in this partition, in row order (the order
   * their groups are made in), their pairs' slots prefetched */
  const uint32_t pending = NO_GROUP - 1;
  uint32_t *loc = pk->loc, *pend = pk->pend;
  int64_t np = 0;
  for (int64_t j = j0; j < j1; j++) {
    const uint32_t s = sg[j - j0];
    if (loc[s] != NO_GROUP) continue;
    loc[s] = pending;
    pend[np++] = s;
    TD_AGG_PREFETCH(&pk->xk[td_mix64((uint64_t)pk->pid << 32 | s) & ((uint64_t)pk->x_cap - 1)]);
  }
  int rc = TD_OK;
  for (int64_t i = 0; i < np; i++) {
    uint32_t g = NO_GROUP;
    if (rc == TD_OK && (rc = part_group(a, c->kv, pend[i], &g, err)) == TD_OK) pk->lset[pk->n_lset++] = pend[i];
    loc[pend[i]] = g;
  }
  if (rc) return rc;
  for (int64_t j = j0; j < j1; j++) {
    const uint32_t g = loc[sg[j - j0]];
    touch(a, g);
    a->gids[j - j0] = g;
  }
  return fold_rows(a, c->in, c->ops, c->sel, j0, j1, err);
}

/* A batch part_applies to. */
static int part_update(td_agg *a, const td_batch *b, const uint32_t *sel, int64_t n, td_vec *kv, td_vec *in,
                       fop *ops, td_error *err) {
  static const uint32_t row0 = 0;
  atomic_fetch_add_explicit(&part_batches, 1, memory_order_relaxed);
  int rc = part_prepare(a, b, err);
  if (!rc) rc = load_inputs(a, b, in, ops, err);
  for (int64_t k = 0; !rc && k < a->n_keys; k++)
    if (a->pk->is_const[k]) rc = td__vec_load(b, a->keys[k].column, a->keys[k].type, &kv[k], err);
  partkeys *pk = a->pk;
  if (!rc) rc = td_agg_update(pk->pidx, b, &row0, 1, err);
  if (rc) return rc;
  const uint32_t pid = pk->pidx->touched[0];
  if (pid != pk->pid) {
    for (int64_t i = 0; i < pk->n_lset; i++) pk->loc[pk->lset[i]] = NO_GROUP;
    pk->n_lset = 0;
    pk->pid = pid;
  }
  part_ctx c = {a, kv, in, ops, sel};
  pk->sub->sink = part_sink;
  pk->sub->sink_ctx = &c;
  rc = td_agg_update(pk->sub, b, sel, n, err);
  pk->sub->sink = NULL;
  pk->sub->sink_ctx = NULL;
  return rc ? rc : finish_batch(a, ops, err);
}

static int update(td_agg *a, const td_batch *b, const uint32_t *sel, int64_t n, td_vec *kv,
                  td_vec *in, fop *ops, td_error *err) {
  if (part_applies(a, b)) return part_update(a, b, sel, n, kv, in, ops, err);
  int rc = TD_OK;
  const td_colview *dkey = NULL; /* a utf8 key arriving as dictionary codes */
  int64_t sk = -1; /* its index: the one key, or one of two beside a bool or an integer-like key */
  for (int64_t k = 0; k < a->n_keys && a->n_keys <= 2 && sk < 0; k++)
    if (a->keys[k].type == TD_TYPE_UTF8 && !(b->consts && b->consts[a->keys[k].column].type != TD_TYPE_NONE) &&
        b->cols[a->keys[k].column].codes &&
        (a->n_keys == 1 || a->keys[1 - k].type == TD_TYPE_BOOL ||
         (td__phys_of(a->keys[1 - k].type) == TD_PHYS_I64 && !a->dicti_off)))
      sk = k;
  if (sk >= 0) dkey = &b->cols[a->keys[sk].column];
  for (int64_t k = 0; !rc && k < a->n_keys; k++)
    if (k != sk) rc = td__vec_load(b, a->keys[k].column, a->keys[k].type, &kv[k], err);
  if (!rc && a->n_keys == 2 && dkey && (kv[1 - sk].is_const || (kv[1 - sk].ph != TD_PHYS_BOOL && kv[1 - sk].ph != TD_PHYS_I64))) {
    dkey = NULL; /* a constant other key: the generic loop, the strings decoded */
    rc = td__vec_load(b, a->keys[sk].column, a->keys[sk].type, &kv[sk], err);
  }
  if (!rc) rc = load_inputs(a, b, in, ops, err);
  if (rc) return rc;
  int map = MAP_GENERIC;
  int64_t fk, ck;
  if (dkey) {
    map = a->n_keys == 1 ? MAP_DICT : kv[1 - sk].ph == TD_PHYS_BOOL ? MAP_DICT2 : MAP_DICTI;
    td__dict_note_group();
  }
  else if (a->n_keys == 0) map = MAP_NONE;
  else if (a->n_keys == 1 && !kv[0].is_const && kv[0].ph == TD_PHYS_I64) map = MAP_INT;
  else if (a->n_keys == 1 && !kv[0].is_const && kv[0].ph == TD_PHYS_STR)
    /* keys of more than 8 bytes on average (the short-key index holds up to
     * 8): hashed a chunk at a time and looked up with their table slots,
     * groups and bytes fetched ahead (map_multi), not one miss a row */
    map = kv[0].offs[b->length] - kv[0].offs[0] > 8 * b->length ? MAP_MULTI : MAP_STR;
  else if (a->n_keys == 2 && !kv[0].is_const && !kv[1].is_const &&
           ((kv[0].ph == TD_PHYS_STR && kv[1].ph == TD_PHYS_BOOL) || (kv[0].ph == TD_PHYS_BOOL && kv[1].ph == TD_PHYS_STR))) {
    map = MAP_STR2;
    sk = kv[0].ph == TD_PHYS_STR ? 0 : 1;
  } else
    for (int64_t k = 0; k < a->n_keys; k++)
      if (!kv[k].is_const) map = MAP_MULTI; /* else every key is constant: one lookup */

  if (map == MAP_NONE) {
    touch(a, 0);
    memset(a->gids, 0, (size_t)(n < CHUNK ? n : CHUNK) * sizeof *a->gids);
    for (int64_t k = 0; !rc && k < a->n_aggs; k++) {
      const td_colview *dc = distinct_codes_input(a, b, k);
      if (dc) {
        if (a->specs[k].kind == TD_AGG_COUNT) count_codes(a, k, dc, sel, n);
        else if (a->ext[k] && td__aggx_counts(a->ext[k])) rc = count_codes_of(a, k, dc, sel, n, err);
        else rc = a->specs[k].kind == TD_AGG_COUNT_DISTINCT ? distinct_codes(a, k, dc, sel, n, err)
                                                             : minmax_codes(a, k, dc, sel, n, err);
      } else if (a->specs[k].kind == TD_AGG_COUNT_DISTINCT && td__aggx_by_hash(a->ext[k]) && !in[k].is_const &&
                 in[k].ph == TD_PHYS_I64 && a->ast[k].ph == TD_PHYS_I64) {
        rc = distinct_ints(a, k, &in[k], sel, n, err);
      } else if (ops[k] == OP_GENERIC) {
        rc = spill_exact(a, k, err); /* values enter the set directly */
        for (int64_t j0 = 0; !rc && j0 < n; j0 += CHUNK) rc = fold_generic(a, k, &in[k], sel, j0, n - j0 > CHUNK ? j0 + CHUNK : n, err);
      } else {
        fctx c = {&a->ast[k], &in[k]};
        if (!sel && (ops[k] == OP_MIN_I || ops[k] == OP_MAX_I)) fold0_extreme(&c, n, ops[k] == OP_MAX_I);
        else if (ops[k] == OP_SUM_F) fold0_sum_f(&c, sel, n);
        else fold0_fns[ops[k]](&c, sel, 0, n);
      }
    }
  } else if (map == MAP_DICT && dict_fusable(a, ops, &fk, &ck)) {
    /* fused: no group-id buffer */
    fctx c = {&a->ast[fk], &in[fk]};
    rc = dict_enter(a, dkey->dict, n, err);
    if (!rc) rc = (ck >= 0 ? dict_mapc_fns : dict_map_fns)[ops[fk]](a, dkey, sel, 0, n, &c, ck >= 0 ? &a->ast[ck] : NULL, err);
  } else if ((map == MAP_INT || map == MAP_STR) && a->n_aggs == 1 && ops[0] != OP_GENERIC) {
    /* fused: no group-id buffer */
    fctx c = {&a->ast[0], &in[0]};
    if (map == MAP_INT) rc = int_map_fns[ops[0]](a, &kv[0], sel, 0, n, &c, err);
    else rc = str_map_fns[ops[0]](a, &kv[0], sel, 0, n, b->length, &c, err);
  } else {
    for (int64_t j0 = 0; !rc && j0 < n; j0 += CHUNK) {
      int64_t j1 = n - j0 > CHUNK ? j0 + CHUNK : n;
      if (map == MAP_INT) {
        fctx c = {&a->ast[0], NULL};
        rc = int_map_fns[OP_GIDS](a, &kv[0], sel, j0, j1, &c, err);
      } else if (map == MAP_STR) {
        fctx c = {&a->ast[0], NULL};
        rc = str_map_fns[OP_GIDS](a, &kv[0], sel, j0, j1, b->length, &c, err);
      } else if (map == MAP_DICT) {
        fctx c = {&a->ast[0], NULL};
        rc = dict_enter(a, dkey->dict, n - j0, err);
        if (!rc) rc = dict_map_OP_GIDS(a, dkey, sel, j0, j1, &c, NULL, err);
      } else if (map == MAP_DICT2) {
        rc = dict2_map(a, sk, dkey, &kv[1 - sk], sel, j0, j1, err);
      } else if (map == MAP_DICTI) {
        rc = dicti_map(a, sk, dkey, &kv[1 - sk], sel, j0, j1, err);
      } else if (map == MAP_STR2) {
        rc = str2_map(a, sk, kv, sel, j0, j1, b->length, err);
      } else if (map == MAP_MULTI) {
        rc = map_multi(a, kv, sel, j0, j1, err);
      } else if (map == MAP_GENERIC) {
        rc = map_generic(a, kv, sel, j0, j1, err);
      }
      if (!rc) rc = a->sink ? a->sink(a->sink_ctx, a->gids, j0, j1, err) : fold_rows(a, in, ops, sel, j0, j1, err);
    }
    /* most rows looked up: decoding the strings (map_multi) costs less */
    if (map == MAP_DICTI && a->dicti_rows >= DICTI_TRIAL && a->dicti_misses * 2 > a->dicti_rows) a->dicti_off = true;
  }
  return rc ? rc : finish_batch(a, ops, err);
}

int td_agg_update(td_agg *a, const td_batch *b, const uint32_t *sel, int64_t n_sel,
                  td_error *err) {
  int64_t n = sel ? n_sel : b->length;
  if (a->moved) return moved_error(err);
  if (n <= 0) return TD_OK;
  int rs = table_sync(a, err);
  if (rs) return rs;
  if (!a->gids) a->gids = td_malloc(CHUNK * sizeof *a->gids);
  if (!a->hbuf) a->hbuf = td_malloc(CHUNK * sizeof *a->hbuf);
  if (!a->gids || !a->hbuf) return td_err_nomem(err, "aggregating a batch");
  if (++a->cur_epoch == 0) { /* wrapped: forget old epochs */
    memset(a->epoch, 0, (size_t)a->cap * sizeof *a->epoch);
    a->cur_epoch = 1;
  }
  a->n_touched = 0;
  td_vec kv_local[4], in_local[16]; /* in: each aggregate's input, then arg_max's values */
  td_vec *kv = kv_local, *in = in_local;
  fop ops_local[8], *ops = ops_local;
  if (a->n_keys > 4) kv = td_calloc((size_t)a->n_keys, sizeof *kv);
  if (a->n_aggs > 8) {
    in = td_calloc((size_t)a->n_aggs * 2, sizeof *in);
    ops = td_calloc((size_t)a->n_aggs, sizeof *ops);
  }
  int rc = TD_OK;
  if (!kv || !in || !ops) {
    rc = td_err_nomem(err, "aggregating a batch");
  } else {
    memset(kv, 0, (size_t)(a->n_keys ? a->n_keys : 1) * sizeof *kv);
    memset(in, 0, (size_t)(a->n_aggs ? 2 * a->n_aggs : 1) * sizeof *in);
    a->batch = b;
    rc = update(a, b, sel, n, kv, in, ops, err);
    a->batch = NULL;
    for (int64_t k = 0; k < a->n_keys; k++) td__vec_free(&kv[k]);
    for (int64_t k = 0; k < 2 * a->n_aggs; k++) td__vec_free(&in[k]);
  }
  if (kv != kv_local) td_free(kv);
  if (in != in_local) td_free(in);
  if (ops != ops_local) td_free(ops);
  return rc;
}

/* ---- merging partial states ---- */

/* merge_state of a moment statistic: DuckDB's combine of the pair state,
 * the power sums add. */
static void merge_moment(td_agg *a, int64_t k, uint32_t d, const td_agg *b, uint32_t g) {
  store *x = &a->ast[k];
  const store *y = &b->ast[k];
  if (!y->cnt[g]) return;
  double *p = a->mom[k] + (size_t)d * MW;
  const double *q = b->mom[k] + (size_t)g * MW;
  if (!x->cnt[d]) {
    memcpy(p, q, MW * sizeof *p);
  } else if (!td_agg_is_pair_stat(a->specs[k].kind)) {
    for (int i = 0; i < 4; i++) p[i] += q[i];
  } else {
    const double na = (double)x->cnt[d], nb = (double)y->cnt[g], n = na + nb;
    const double ex = p[M_MX] - q[M_MX], ey = p[M_MY] - q[M_MY];
    p[M_C] = p[M_C] + q[M_C] + ex * ey * na * nb / n;
    p[M_DX] = p[M_DX] + q[M_DX] + ex * ex * na * nb / n;
    p[M_DY] = p[M_DY] + q[M_DY] + ey * ey * na * nb / n;
    p[M_MX] = (na * p[M_MX] + nb * q[M_MX]) / n;
    p[M_MY] = (na * p[M_MY] + nb * q[M_MY]) / n;
  }
  x->cnt[d] += y->cnt[g];
  x->has[d] = 1;
}

/* Folds group g of `b` (aggregate k) into group d of `a`: b's rows come
 * after a's in input order.  Not the aggregates of agg_more.h: the caller
 * merges those in bulk (merge_ext) once it knows where every group goes.
 * Writes group d of `a` only (merge_aggs sets the overflow flag), so
 * workers may merge distinct groups at once. */
static int merge_state(td_agg *a, int64_t k, uint32_t d, const td_agg *b, uint32_t g, td_error *err) {
  const td_agg_spec *sp = &a->specs[k];
  store *x = &a->ast[k];
  const store *y = &b->ast[k];
  if (a->ext[k]) return TD_OK;
  if (td_agg_is_moment(sp->kind)) {
    merge_moment(a, k, d, b, g);
    return TD_OK;
  }
  switch (sp->kind) {
    case TD_AGG_COUNT_STAR:
    case TD_AGG_COUNT: x->cnt[d] += y->cnt[g]; return TD_OK;
    case TD_AGG_SUM:
    case TD_AGG_AVG:
      if (sp->kind == TD_AGG_SUM ? !y->has[g] : !y->cnt[g]) return TD_OK;
      if (x->ph == TD_PHYS_D128) {
        if (__builtin_add_overflow(x->d[d], y->d[g], &x->d[d]) || !td_dec_fits(x->d[d], TD_DECIMAL128_MAX_PRECISION))
          return td_err(err, TD_ERANGE, "the decimal sum of aggregate %lld does not fit in 38 digits", (long long)k);
      } else if (sp->kind == TD_AGG_SUM && x->ph == TD_PHYS_I64) {
        if (__builtin_add_overflow(x->i[d], y->i[g], &x->i[d]))
          return sum_overflow(err, k);
      } else {
        x->f[d] += y->f[g];
      }
      if (sp->kind == TD_AGG_SUM) x->has[d] = 1;
      else x->cnt[d] += y->cnt[g];
      return TD_OK;
    case TD_AGG_MIN:
    case TD_AGG_MAX: {
      if (!y->has[g]) return TD_OK;
      td_value v = store_value(y, g, sp->type);
      if (x->has[d]) {
        td_value cur = store_value(x, d, sp->type);
        int c = cmp_values(&v, &cur, x->ph);
        if (sp->kind == TD_AGG_MIN ? c >= 0 : c <= 0) return TD_OK;
      }
      x->has[d] = 1;
      return store_set(x, d, &v, err);
    }
    case TD_AGG_FIRST:
    case TD_AGG_ANY_VALUE:
      if (x->has[d] || !y->has[g]) return TD_OK;
      break;
    case TD_AGG_ARG_MAX:
    case TD_AGG_ARG_MIN:
    case TD_AGG_ARG_MAX_NULL:
    case TD_AGG_ARG_MIN_NULL: { /* b's value only when it beats a's (a's rows come first) */
      if (!y->has[g]) return TD_OK;
      td_value nv = store_value(&b->vst[k], g, a->type2[k]);
      if (x->has[d]) {
        td_value cur = store_value(&a->vst[k], d, a->type2[k]);
        int c = cmp_values(&nv, &cur, a->vst[k].ph);
        if (is_argmax(sp->kind) ? c <= 0 : c >= 0) return TD_OK;
      }
      int rc = store_set(&a->vst[k], d, &nv, err);
      if (rc) return rc;
      break;
    }
    case TD_AGG_PRODUCT:
      if (!y->has[g]) return TD_OK;
      x->f[d] *= y->f[g]; /* both from the identity */
      x->has[d] = 1;
      return TD_OK;
    case TD_AGG_BIT_AND:
    case TD_AGG_BIT_OR:
    case TD_AGG_BIT_XOR:
      if (!y->has[g]) return TD_OK;
      x->i[d] = sp->kind == TD_AGG_BIT_AND ? x->i[d] & y->i[g]
                : sp->kind == TD_AGG_BIT_OR  ? x->i[d] | y->i[g]
                                             : x->i[d] ^ y->i[g];
      x->has[d] = 1;
      return TD_OK;
    default: /* last */
      if (!y->has[g]) return TD_OK;
      break;
  }
  td_value v = store_value(y, g, sp->type);
  x->has[d] = 1;
  return store_set(x, d, &v, err);
}

/* Every aggregate of group g of `b` folded into group d of `a` (merge_state);
 * on TD_ERANGE *bad is the aggregate whose sum left its type (the caller
 * sets its overflow flag: the parallel merge does once its workers end). */
static int merge_aggs(td_agg *a, uint32_t d, const td_agg *b, uint32_t g, int64_t *bad, td_error *err) {
  int rc = TD_OK;
  int64_t k = 0;
  for (; rc == TD_OK && k < a->n_aggs; k++) rc = merge_state(a, k, d, b, g, err);
  if (rc == TD_ERANGE) *bad = k - 1;
  return rc;
}

/* merge_aggs with the overflow flag set on TD_ERANGE. */
static int merge_aggs_flag(td_agg *a, uint32_t d, const td_agg *b, uint32_t g, td_error *err) {
  int64_t bad = -1;
  int rc = merge_aggs(a, d, b, g, &bad, err);
  if (rc == TD_ERANGE && bad >= 0) a->ast[bad].ovf = 1;
  return rc;
}

/* Whether key k of group d of `a` equals key k of group g of `b`, read
 * straight from the stores (nulls equal; floats as in value_matches). */
static bool store_key_equal(const store *x, uint32_t d, const store *y, uint32_t g) {
  if (x->nul[d] != y->nul[g]) return false;
  if (x->nul[d]) return true;
  switch (x->ph) {
    case TD_PHYS_F64: {
      double p = x->f[d], q = y->f[g];
      return norm_double(p) == norm_double(q) || (isnan(p) && isnan(q));
    }
    case TD_PHYS_STR:
      return x->s[d].len == y->s[g].len && (x->s[d].len == 0 || memcmp(x->s[d].p, y->s[g].p, x->s[d].len) == 0);
    case TD_PHYS_D128: return x->d[d] == y->d[g];
    default: return x->i[d] == y->i[g];
  }
}

/* The group of `a` whose key is the key of group g of `b` (both states hash
 * keys the same way), NO_GROUP if none. */
static uint32_t find_group(const td_agg *a, const td_agg *b, uint32_t g) {
  if (a->n_keys == 0) return 0;
  if (a->lazy && !b->kst[0].nul[g]) {
    const uint64_t o = (uint64_t)b->kst[0].i[g] - (uint64_t)a->dbase;
    if (o < (uint64_t)a->dcap) return dmap_at(a->dmap, o);
  }
  const uint64_t h = group_hash(b, g);
  const int64_t mask = a->table_cap - 1;
  tslot e;
  for (int64_t s = (int64_t)(h & (uint64_t)mask); (e = a->table[s]); s = (s + 1) & mask) {
    bool same = slot_tagged(e, h);
    for (int64_t k = 0; same && k < a->n_keys; k++)
      same = store_key_equal(&a->kst[k], slot_group(e), &b->kst[k], g);
    if (same) return slot_group(e);
  }
  return NO_GROUP;
}

/* Folds the agg_more.h aggregates of every group g of `b` into group
 * map[g] of `a` (NO_GROUP: not merged); map has b->n_groups entries.  With
 * `later`, compact distinct sets are left to merge_parts. */
static int merge_ext(td_agg *a, const td_agg *b, const uint32_t *map, bool later, td_error *err) {
  int rc = TD_OK;
  for (int64_t k = 0; rc == TD_OK && k < a->n_aggs; k++)
    if (a->ext[k] && !(later && td__aggx_by_hash(a->ext[k])))
      rc = td__aggx_merge_map(a->ext[k], b->ext[k], map, b->n_groups, err);
  return rc;
}

/* Whether `a` has aggregates of agg_more.h (merged by merge_ext). */
static bool has_ext(const td_agg *a) {
  for (int64_t k = 0; k < a->n_aggs; k++)
    if (a->ext[k]) return true;
  return false;
}

/* A group map for merge_ext over n groups, every entry NO_GROUP; NULL when
 * `a` needs none (*rc TD_OK) or on allocation failure (*rc set). */
static uint32_t *ext_map(const td_agg *a, int64_t n, int *rc, td_error *err) {
  *rc = TD_OK;
  if (!has_ext(a)) return NULL;
  uint32_t *m = td_malloc((size_t)(n + 1) * sizeof *m);
  if (!m) {
    *rc = td_err_nomem(err, "merging aggregations");
    return NULL;
  }
  memset(m, 0xff, (size_t)(n + 1) * sizeof *m);
  return m;
}

/* The group of `a` with the key of group g of `b`, NO_GROUP if none; reads
 * `a` only.  One integer key: a's direct map first (it knows most keys of a
 * dense range; NO_GROUP there means "ask the hash table"); *mapped: lazy and
 * in the map's range, the map is the index. */
static uint32_t lookup_group(const td_agg *a, const td_agg *b, uint32_t g, bool *mapped) {
  const bool ikey = a->n_keys == 1 && a->kst[0].ph == TD_PHYS_I64 && !b->kst[0].nul[g];
  uint32_t d = NO_GROUP;
  *mapped = false;
  if (ikey) {
    uint64_t o = (uint64_t)b->kst[0].i[g] - (uint64_t)a->dbase;
    if (o < (uint64_t)a->dcap) d = dmap_at(a->dmap, o);
    *mapped = a->lazy && o < (uint64_t)a->dcap;
  }
  if (d == NO_GROUP && !*mapped) d = find_group(a, b, g);
  return d;
}

/* Folds group g of `b` into `a` (its group of the same key, added if new;
 * kv: scratch for string keys); map[g] (when map is set) receives it.
 * `known_new`: `a` has no group of g's key (the parallel merge found none,
 * and b's keys are distinct), so it is not looked up. */
static int merge_group(td_agg *a, const td_agg *b, uint32_t g, td_value *kv, uint32_t *map, bool known_new,
                       td_error *err) {
  const bool ikey = a->n_keys == 1 && a->kst[0].ph == TD_PHYS_I64 && !b->kst[0].nul[g];
  bool mapped = ikey && a->lazy && (uint64_t)b->kst[0].i[g] - (uint64_t)a->dbase < (uint64_t)a->dcap;
  uint32_t d = known_new ? NO_GROUP : lookup_group(a, b, g, &mapped);
  int rc = TD_OK;
  if (d == NO_GROUP) {
    rc = new_group_in(a, group_hash(b, g), mapped, &d, err);
    for (int64_t k = 0; rc == TD_OK && k < a->n_keys; k++) {
      store *x = &a->kst[k];
      const store *y = &b->kst[k];
      if (x->ph == TD_PHYS_STR || x->ph == TD_PHYS_D128 || y->nul[g]) { /* owned bytes / a wide value */
        kv[k] = store_value(y, g, b->keys[k].type);
        rc = store_set(x, d, &kv[k], err);
      } else {
        x->nul[d] = 0;
        if (x->ph == TD_PHYS_F64) x->f[d] = y->f[g];
        else x->i[d] = y->i[g];
      }
    }
    if (rc == TD_OK && ikey) rc = dmap_note(a, b->kst[0].i[g], d, err);
  }
  if (rc == TD_OK) rc = merge_aggs_flag(a, d, b, g, err);
  if (rc == TD_OK) mark_changed(a, d);
  if (rc == TD_OK && map) map[g] = d;
  return rc;
}

/* Key values scratch for n keys: `local` when it is large enough. */
static td_value *key_scratch(int64_t n, td_value *local) {
  return n <= 8 ? local : td_calloc((size_t)n, sizeof *local);
}

/* ---- merging the groups a large state shares with the target, in parallel ----
 *
 * Workers take chunks of b's groups from a counter; a group whose key `a`
 * already has is merged into that group at once (its aggregates only: no
 * two of b's groups share a group of `a`, and lookups only read a's index),
 * a new one is left for the caller, which then walks b's groups in order as
 * the serial merge does: new groups appended in b's order, every group
 * marked changed in that order.  So the state is the serial merge's.  Two
 * partial states of one aggregation meet nearly the same keys (1M groups
 * over 10M rows: each worker's state has every group), so nearly all the
 * merge runs on the workers.  A failure keeps the lowest failed chunk's
 * error: the first in group order, as the serial merge reports. */
static int64_t pmerge_min = 1 << 16, pmerge_chunk = 1 << 13; /* groups: a state merged in parallel, a chunk */

void td__agg_merge_sizes(int64_t min_groups, int64_t chunk) {
  pmerge_min = min_groups > 0 ? min_groups : 1 << 16;
  pmerge_chunk = chunk > 0 ? chunk : 1 << 13;
}

typedef struct pmerge {
  td_agg *a;
  const td_agg *b;
  uint32_t *dst; /* per group of b: its group in a, NO_GROUP when new */
  int64_t chunk, n_chunks; /* groups a chunk */
  _Atomic int64_t next, failed; /* the next chunk; the lowest failed (n_chunks: none) */
  int64_t fail_chunk[TD_PAR_MAX], bad[TD_PAR_MAX];
  int64_t n_new[TD_PAR_MAX]; /* groups each worker left for the caller */
  int rc[TD_PAR_MAX];
  td_error err[TD_PAR_MAX];
} pmerge;

/* Whether every aggregate of `a` merges in merge_simple's loops. */
static bool merges_simply(const td_agg *a) {
  for (int64_t k = 0; k < a->n_aggs; k++) {
    const td_agg_kind kind = a->specs[k].kind;
    const td_phys ph = a->ast[k].ph;
    if (a->ext[k] || td_agg_is_moment(kind)) return false;
    if (kind == TD_AGG_COUNT || kind == TD_AGG_COUNT_STAR) continue;
    if (kind == TD_AGG_SUM && (ph == TD_PHYS_I64 || ph == TD_PHYS_F64)) continue;
    if (kind == TD_AGG_AVG && ph != TD_PHYS_D128) continue;
    if ((kind == TD_AGG_MIN || kind == TD_AGG_MAX) && ph == TD_PHYS_I64) continue;
    return false;
  }
  return true;
}

/* merge_state of aggregate k for groups g0..g1-1 of b into groups d[0..]
 * of `a` (NO_GROUP: skipped), as one loop over the groups (merges_simply's
 * kinds); an integer sum that overflows: *bad_g, the first such group. */
static void merge_simple(td_agg *a, int64_t k, const td_agg *b, int64_t g0, int64_t g1, const uint32_t *d,
                         int64_t *bad_g) {
  store *x = &a->ast[k];
  const store *y = &b->ast[k];
  const td_agg_kind kind = a->specs[k].kind;
  const int64_t n = g1 - g0;
  if (kind == TD_AGG_COUNT || kind == TD_AGG_COUNT_STAR) {
    const int64_t *yc = y->cnt + g0;
    for (int64_t j = 0; j < n; j++)
      if (d[j] != NO_GROUP) x->cnt[d[j]] += yc[j];
  } else if (kind == TD_AGG_AVG) {
    const int64_t *yc = y->cnt + g0;
    const double *yf = y->f + g0;
    for (int64_t j = 0; j < n; j++)
      if (d[j] != NO_GROUP && yc[j]) x->f[d[j]] += yf[j], x->cnt[d[j]] += yc[j];
  } else if (kind == TD_AGG_SUM && x->ph == TD_PHYS_F64) {
    const uint8_t *yh = y->has + g0;
    const double *yf = y->f + g0;
    for (int64_t j = 0; j < n; j++)
      if (d[j] != NO_GROUP && yh[j]) x->f[d[j]] += yf[j], x->has[d[j]] = 1;
  } else if (kind == TD_AGG_SUM) {
    const uint8_t *yh = y->has + g0;
    const int64_t *yi = y->i + g0;
    for (int64_t j = 0; j < n; j++)
      if (d[j] != NO_GROUP && yh[j]) {
        if (__builtin_add_overflow(x->i[d[j]], yi[j], &x->i[d[j]]) && *bad_g < 0) *bad_g = g0 + j;
        x->has[d[j]] = 1;
      }
  } else { /* integer min / max */
    const bool mn = kind == TD_AGG_MIN;
    const uint8_t *yh = y->has + g0;
    const int64_t *yi = y->i + g0;
    for (int64_t j = 0; j < n; j++)
      if (d[j] != NO_GROUP && yh[j]) {
        const uint32_t e = d[j];
        if (!x->has[e] || (mn ? yi[j] < x->i[e] : yi[j] > x->i[e])) x->i[e] = yi[j], x->nul[e] = 0;
        x->has[e] = 1;
      }
  }
}

/* The groups of `a` of b's groups g0..g1-1 into d[0..] (lookup_group; a
 * lazy direct map read inline).  Keys the map does not cover probe a's
 * table: the slot of the group 16 on is prefetched, and the hash of the
 * group in the slot of the one 8 on (as the fused loops do). */
static void lookup_groups(const td_agg *a, const td_agg *b, int64_t g0, int64_t g1, uint32_t *d) {
  const bool ikey = a->n_keys == 1 && a->kst[0].ph == TD_PHYS_I64 && a->lazy;
  const uint64_t base = (uint64_t)a->dbase, dcap = (uint64_t)a->dcap, mask = (uint64_t)a->table_cap - 1;
  const bool ahead = a->table && a->n_keys > 0 && a->table_cap >= 1 << 16;
  for (int64_t g = g0; g < g1; g++) {
    if (ahead && g + 16 < g1) TD_AGG_PREFETCH(&a->table[group_hash(b, (uint32_t)(g + 16)) & mask]);
    if (ahead && g + 8 < g1) {
      const uint64_t h = group_hash(b, (uint32_t)(g + 8));
      prefetch_keys(a, a->table[h & mask], h);
    }
    const uint64_t o = ikey ? (uint64_t)b->kst[0].i[g] - base : dcap;
    bool mapped;
    d[g - g0] = o < dcap && !b->kst[0].nul[g] ? dmap_at(a->dmap, o) : lookup_group(a, b, (uint32_t)g, &mapped);
  }
}

/* Records chunk c's failure (the lowest failed chunk stops the others). */
static void pmerge_failed(pmerge *p, int t, int64_t c, int rc) {
  p->rc[t] = rc;
  p->fail_chunk[t] = c;
  int64_t f = atomic_load(&p->failed);
  while (c < f && !atomic_compare_exchange_weak(&p->failed, &f, c)) {
  }
}

static int pmerge_worker(void *ctx, int t, td_error *err) {
  (void)err; /* kept with the chunk that failed */
  pmerge *p = ctx;
  p->fail_chunk[t] = p->n_chunks;
  const bool simple = merges_simply(p->a);
  for (int64_t c; (c = atomic_fetch_add(&p->next, 1)) < p->n_chunks && c < atomic_load(&p->failed);) {
    const int64_t g0 = c * p->chunk, end = (c + 1) * p->chunk < p->b->n_groups ? (c + 1) * p->chunk : p->b->n_groups;
    uint32_t *ds = p->dst + g0;
    lookup_groups(p->a, p->b, g0, end, ds);
    for (int64_t g = g0; g < end; g++) p->n_new[t] += ds[g - g0] == NO_GROUP;
    if (simple) { /* aggregate by aggregate; a failure: the first overflow in group order */
      int64_t bad_g = -1;
      for (int64_t k = 0; k < p->a->n_aggs; k++) {
        int64_t gk = -1;
        merge_simple(p->a, k, p->b, g0, end, ds, &gk);
        if (gk >= 0 && (bad_g < 0 || gk < bad_g)) bad_g = gk, p->bad[t] = k;
      }
      if (bad_g >= 0) {
        sum_overflow(&p->err[t], p->bad[t]);
        pmerge_failed(p, t, c, TD_ERANGE);
        return TD_OK;
      }
      continue;
    }
    for (int64_t g = g0; g < end; g++) {
      const uint32_t d = ds[g - g0];
      int rc = d == NO_GROUP ? TD_OK : merge_aggs(p->a, d, p->b, (uint32_t)g, &p->bad[t], &p->err[t]);
      if (rc) {
        pmerge_failed(p, t, c, rc);
        return TD_OK;
      }
    }
  }
  return TD_OK;
}

/* b's groups that `a` has, merged by `threads` workers: *dst (td_malloc'd,
 * b->n_groups entries) receives each group's target, NO_GROUP for the
 * *n_new new ones. */
static int merge_found(td_agg *a, const td_agg *b, int threads, uint32_t **dst, int64_t *n_new, td_error *err) {
  pmerge *p = td_calloc(1, sizeof *p);
  *dst = td_malloc((size_t)b->n_groups * sizeof **dst);
  if (!p || !*dst) {
    td_free(p);
    td_free(*dst);
    *dst = NULL;
    return td_err_nomem(err, "merging aggregations");
  }
  p->a = a;
  p->b = b;
  p->dst = *dst;
  p->chunk = pmerge_chunk;
  p->n_chunks = (b->n_groups + p->chunk - 1) / p->chunk;
  atomic_init(&p->next, 0);
  atomic_init(&p->failed, p->n_chunks);
  int n = threads < TD_PAR_MAX ? threads : TD_PAR_MAX;
  if (n > p->n_chunks) n = (int)p->n_chunks;
  int rc = td__par_run(n, pmerge_worker, p, err);
  *n_new = 0;
  for (int t = 0; t < n; t++) *n_new += p->n_new[t];
  int first = -1;
  for (int t = 0; rc == TD_OK && t < n; t++)
    if (p->fail_chunk[t] < p->n_chunks && (first < 0 || p->fail_chunk[t] < p->fail_chunk[first])) first = t;
  if (first >= 0) {
    rc = p->rc[first];
    if (err) *err = p->err[first];
    if (rc == TD_ERANGE) a->ast[p->bad[first]].ovf = 1;
  }
  td_free(p);
  return rc;
}

/* td_agg_merge, the groups `a` has merged by `threads` workers when b has
 * many (merge_found); with `keep`, the group map is returned in *keep (NULL
 * when `a` needs none) and the compact distinct sets are not merged. */
/* b's marks into a, after merge_one's group walk (map[g]: the group of a
 * that b's group g went to): ORed into a's marks over a window covering
 * both while it is narrow enough, else into a's set (a's marks first); a's
 * marks go into its set when b's values are in b's set. */
static int gbits_merge(td_agg *a, const td_agg *b, const uint32_t *map, td_error *err) {
  for (int64_t k = 0; k < a->n_aggs; k++) {
    dseen *x = a->dseen && a->dseen[k].gb ? &a->dseen[k] : NULL;
    const dseen *y = b->dseen && b->dseen[k].gb ? &b->dseen[k] : NULL;
    int rc = TD_OK;
    if (!y) {
      if (x && td__aggx_size(b->ext[k]) > 0) rc = gbits_flush(a, k, err);
      if (rc) return rc;
      continue;
    }
    const int64_t ng = y->gcap < b->n_groups ? y->gcap : b->n_groups;
    if (x) {
      const int64_t lo = x->glo < y->glo ? x->glo : y->glo;
      const int64_t xe = x->glo + 64 * x->gw, ye = y->glo + 64 * y->gw, words = ((xe > ye ? xe : ye) - lo) / 64;
      const int64_t cap = x->gcap > a->n_groups ? x->gcap : a->n_groups;
      if (gbits_fit(words, cap)) {
        if ((lo != x->glo || words != x->gw || cap != x->gcap) && (rc = gbits_layout(x, lo, words, cap, err)) != TD_OK)
          return rc;
        const int64_t sh = (y->glo - x->glo) / 64;
        for (int64_t g = 0; g < ng; g++)
          for (int64_t w = 0; map[g] != NO_GROUP && w < y->gw; w++)
            x->gb[(int64_t)map[g] * x->gw + sh + w] |= y->gb[g * y->gw + w];
        continue;
      }
      if ((rc = gbits_flush(a, k, err)) != TD_OK) return rc;
    }
    if ((rc = marks_into(a->ext[k], y, ng, map, err)) != TD_OK) return rc; /* into a's set */
  }
  return TD_OK;
}

static int merge_one(td_agg *a, const td_agg *b, uint32_t **keep, int threads, td_error *err) {
  if (a->moved || b->moved) return moved_error(err);
  if (a->n_keys != b->n_keys || a->n_aggs != b->n_aggs)
    return td_err(err, TD_EINVAL, "merging aggregations of %lld/%lld columns into %lld/%lld", (long long)b->n_keys,
                  (long long)b->n_aggs, (long long)a->n_keys, (long long)a->n_aggs);
  int rc = table_sync(a, err);
  if (rc) return rc;
  td_value local[8], *kv = key_scratch(a->n_keys, local);
  if (!kv) return td_err_nomem(err, "merging aggregations");
  settle_flags(a); /* groups the merge makes get their flags from b's */
  uint32_t *map = ext_map(a, b->n_groups, &rc, err), *dst = NULL;
  int64_t n_new = b->n_groups;
  if (rc == TD_OK && threads > 1 && a->n_keys && b->n_groups >= pmerge_min)
    rc = merge_found(a, b, threads, &dst, &n_new, err);
  /* the walk appends new groups and marks the others changed: not needed
   * when there are none and nothing is recorded */
  const bool walk = n_new > 0 || map || !(a->untracked || a->all_changed);
  /* the new groups the workers found are appended without their table
   * slots, which the next lookup makes, if any comes (table_sync): millions
   * of new groups (GROUP BY a key unique per row, each worker's keys new to
   * the other) and a one-shot query, whose last merge this is */
  a->defer = dst && n_new >= pmerge_min && a->n_keys > 0;
  for (int64_t g = 0; walk && rc == TD_OK && g < b->n_groups; g++) {
    if (!dst || dst[g] == NO_GROUP) {
      rc = merge_group(a, b, (uint32_t)g, kv, map, dst != NULL, err);
      continue;
    }
    mark_changed(a, dst[g]);
    if (map) map[g] = dst[g];
  }
  a->defer = false;
  td_free(dst);
  if (rc == TD_OK && map) rc = gbits_merge(a, b, map, err);
  if (rc == TD_OK) rc = merge_exact(a, b, err);
  if (rc == TD_OK && map) rc = merge_ext(a, b, map, keep != NULL, err);
  if (keep) *keep = map;
  else td_free(map);
  if (kv != local) td_free(kv);
  return rc;
}

int td_agg_merge(td_agg *a, const td_agg *b, td_error *err) { return merge_one(a, b, NULL, 1, err); }

void td_agg_set_bulk(td_agg *a, bool on) {
  a->bulk = on; /* (marks made stay the state: gbits_add) */
  for (int64_t k = 0; k < a->n_aggs; k++)
    if (a->ext[k]) td__aggx_bulk(a->ext[k], on);
  if (!on) leave_untracked(a);
  else if (a->n_groups == 0) a->untracked = true; /* (imp is IMP_NONE while tracked) */
}

int td_agg_settle(td_agg *a, td_error *err) {
  leave_untracked(a);
  int rc = TD_OK;
  a->bulk = false;
  for (int64_t k = 0; k < a->n_aggs; k++)
    if (a->ext[k]) {
      int r = td__aggx_settle(a->ext[k], err);
      if (rc == TD_OK) rc = r;
      td__aggx_bulk(a->ext[k], false);
    }
  return rc;
}

/* The parallel merge of the compact distinct sets of td_agg_merge_all. */
typedef struct merge_par {
  td_aggx *x;
  const td_aggx **ys;
  const uint32_t **maps;
  int n, threads;
  int64_t **cnt; /* each worker's new pairs per group */
  _Atomic int next; /* the next part to merge */
} merge_par;

static int merge_par_worker(void *ctx, int t, td_error *err) {
  merge_par *p = ctx;
  return td__aggx_merge_parts(p->x, p->ys, p->maps, p->n, &p->next, p->cnt[t], err);
}

static int merge_parts(td_agg *a, int64_t k, td_agg *const *bs, uint32_t **maps, int n, int threads,
                       td_error *err) {
  merge_par p = {a->ext[k], td_calloc((size_t)n, sizeof *p.ys), (const uint32_t **)maps, n, threads,
                 td_calloc((size_t)threads, sizeof *p.cnt), 0};
  atomic_init(&p.next, 0);
  int rc = p.ys && p.cnt ? TD_OK : td_err_nomem(err, "merging aggregations");
  for (int w = 0; rc == TD_OK && w < n; w++) p.ys[w] = bs[w]->ext[k];
  for (int t = 0; rc == TD_OK && t < threads; t++)
    if (!(p.cnt[t] = td_calloc((size_t)a->cap + 1, sizeof *p.cnt[t]))) rc = td_err_nomem(err, "merging aggregations");
  if (rc == TD_OK) rc = td__par_run(threads, merge_par_worker, &p, err);
  for (int t = 0; rc == TD_OK && t < threads; t++) td__aggx_merge_done(p.x, p.cnt[t]);
  for (int t = 0; p.cnt && t < threads; t++) td_free(p.cnt[t]);
  td_free(p.cnt);
  td_free(p.ys);
  return rc;
}

int td_agg_merge_all(td_agg *a, td_agg *const *bs, int n, int threads, td_error *err) {
  uint32_t **maps = td_calloc((size_t)n + 1, sizeof *maps);
  if (!maps) return td_err_nomem(err, "merging aggregations");
  int rc = TD_OK;
  for (int i = 0; rc == TD_OK && i < n; i++) rc = merge_one(a, bs[i], &maps[i], threads, err);
  for (int64_t k = 0; rc == TD_OK && k < a->n_aggs; k++) {
    if (!a->ext[k] || !td__aggx_by_hash(a->ext[k])) continue;
    int64_t size = td__aggx_size(a->ext[k]);
    for (int i = 0; i < n; i++) size += td__aggx_size(bs[i]->ext[k]);
    if (threads <= 1 || size < 1 << 16) { /* small: one after the other */
      for (int i = 0; rc == TD_OK && i < n; i++)
        rc = td__aggx_merge_map(a->ext[k], bs[i]->ext[k], maps[i], bs[i]->n_groups, err);
      continue;
    }
    rc = td__aggx_split(a->ext[k], err);
    for (int i = 0; rc == TD_OK && i < n; i++) rc = td__aggx_split(bs[i]->ext[k], err);
    if (rc == TD_OK) rc = merge_parts(a, k, bs, maps, n, threads, err);
  }
  for (int i = 0; i < n; i++) td_free(maps[i]);
  td_free(maps);
  return rc;
}

/* ---- retraction ---- */

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return a < b ? -1 : a > b;
}


/* Aggregate k of group g as if the group had no rows. */
static void clear_state(td_agg *a, int64_t k, uint32_t g) {
  store *s = &a->ast[k];
  s->cnt[g] = 0;
  s->has[g] = 0;
  s->nul[g] = 0;
  s->f[g] = 0;
  if (s->ph == TD_PHYS_D128) s->d[g] = 0;
  else if (s->ph == TD_PHYS_STR) s->s[g].len = 0;
  else if (s->ph != TD_PHYS_F64) s->i[g] = 0;
  bool mn = a->specs[k].kind == TD_AGG_MIN, mx = a->specs[k].kind == TD_AGG_MAX;
  if (a->specs[k].kind == TD_AGG_PRODUCT) s->f[g] = 1.0; /* the identities of new_group */
  if (a->mom[k]) memset(a->mom[k] + (size_t)g * MW, 0, MW * sizeof(double));
  if (a->specs[k].kind == TD_AGG_BIT_AND) s->i[g] = -1;
  if (mn || mx) { /* the sentinels of new_group */
    if (s->ph == TD_PHYS_I64) s->i[g] = mn ? INT64_MAX : INT64_MIN;
    else if (s->ph == TD_PHYS_F64) s->f[g] = mn ? INFINITY : -INFINITY;
  }
}

/* Subtracts group g of `r` (aggregate k) from group d of `a`; *redo when
 * the value cannot be known without the remaining rows. */
static int retract_state(td_agg *a, int64_t k, uint32_t d, const td_agg *r, uint32_t g, bool *redo) {
  const td_agg_spec *sp = &a->specs[k];
  store *x = &a->ast[k];
  const store *y = &r->ast[k];
  if (td_agg_is_moment(sp->kind)) {
    if (y->has[g]) *redo = true;
    return TD_OK;
  }
  switch (sp->kind) {
    case TD_AGG_COUNT_STAR:
    case TD_AGG_COUNT: x->cnt[d] -= y->cnt[g]; return TD_OK;
    case TD_AGG_SUM:
    case TD_AGG_AVG:
      if (sp->kind == TD_AGG_SUM ? !y->has[g] : !y->cnt[g]) return TD_OK;
      if (x->ph == TD_PHYS_D128) x->d[d] -= y->d[g];
      else if (sp->kind == TD_AGG_SUM && x->ph == TD_PHYS_I64) {
        if (__builtin_sub_overflow(x->i[d], y->i[g], &x->i[d])) return TD_ERANGE;
      } else if (!isfinite(x->f[d]) || !isfinite(y->f[g])) *redo = true; /* inf - inf */
      else x->f[d] -= y->f[g];
      if (sp->kind == TD_AGG_AVG) x->cnt[d] -= y->cnt[g]; /* sums: has is a flag (see companion) */
      return TD_OK;
    case TD_AGG_MIN:
    case TD_AGG_MAX: {
      /* The removed rows held the extreme only if their own extreme equals it. */
      if (!y->has[g] || !x->has[d]) return TD_OK;
      td_value u = store_value(y, g, sp->type), v = store_value(x, d, sp->type);
      if (cmp_values(&u, &v, x->ph) == 0) *redo = true;
      return TD_OK;
    }
    case TD_AGG_ANY_VALUE:
    case TD_AGG_ARG_MAX:
    case TD_AGG_ARG_MIN:
    case TD_AGG_ARG_MAX_NULL:
    case TD_AGG_ARG_MIN_NULL:
    case TD_AGG_PRODUCT:
    case TD_AGG_BIT_AND:
    case TD_AGG_BIT_OR:
    case TD_AGG_BIT_XOR: /* not known without the remaining rows (nor the moments, below) */
      if (y->has[g]) *redo = true;
      return TD_OK;
    default: { /* first, last: the removed rows held it only if theirs is equal */
      if (!y->has[g]) return TD_OK;
      td_value u = store_value(y, g, sp->type), v = store_value(x, d, sp->type);
      if (u.is_null == v.is_null && (u.is_null || cmp_values(&u, &v, x->ph) == 0)) *redo = true;
      return TD_OK;
    }
  }
}

int td_agg_retract(td_agg *a, const td_agg *r, int64_t rows_k, const int64_t *companion, uint32_t **redo,
                   int64_t *n_redo, td_error *err) {
  *redo = NULL;
  *n_redo = 0;
  if (a->n_keys != r->n_keys || a->n_aggs != r->n_aggs || rows_k < 0 || rows_k >= a->n_aggs ||
      a->specs[rows_k].kind != TD_AGG_COUNT_STAR)
    return td_err(err, TD_EINVAL, "retracting an aggregation of %lld/%lld columns from one of %lld/%lld",
                  (long long)r->n_keys, (long long)r->n_aggs, (long long)a->n_keys, (long long)a->n_aggs);
  int rc = table_sync(a, err);
  if (rc == TD_OK) rc = gbits_flush_all(a, err); /* these work on the sets */
  if (rc == TD_OK) rc = gbits_flush_all((td_agg *)r, err); /* (r's value unchanged) */
  if (rc) return rc;
  uint32_t *list = td_malloc((size_t)(r->n_groups + 1) * sizeof *list);
  if (!list) rc = td_err_nomem(err, "retracting rows from an aggregation");
  int64_t n = 0;
  for (int64_t g = 0; rc == TD_OK && g < r->n_groups; g++) {
    if (r->ast[rows_k].cnt[g] == 0) continue;
    uint32_t d = find_group(a, r, (uint32_t)g);
    if (d == NO_GROUP || a->ast[rows_k].cnt[d] < r->ast[rows_k].cnt[g]) {
      rc = td_err(err, TD_EINVAL, "retracting %lld rows of a group that has fewer", (long long)r->ast[rows_k].cnt[g]);
      break;
    }
    bool again = false;
    for (int64_t k = 0; rc == TD_OK && k < a->n_aggs; k++) {
      rc = retract_state(a, k, d, r, (uint32_t)g, &again);
      if (rc == TD_ERANGE) rc = td_err(err, TD_ERANGE, "the integer sum of aggregate %lld leaves int64 when rows are removed",
                                       (long long)k);
    }
    for (int64_t k = 0; rc == TD_OK && k < a->n_aggs; k++) /* a sum of no value left is null */
      if (a->specs[k].kind == TD_AGG_SUM && companion[k] >= 0 && a->ast[companion[k]].cnt[d] == 0) clear_state(a, k, d);
    if (rc == TD_OK && a->ast[rows_k].cnt[d] == 0) { /* no row left: empty */
      for (int64_t k = 0; k < a->n_aggs; k++) clear_state(a, k, d);
      again = false;
    }
    if (rc == TD_OK) {
      mark_changed(a, d);
      if (again) list[n++] = d;
    }
  }
  if (rc == TD_OK && n > 0) {
    qsort(list, (size_t)n, sizeof *list, cmp_u32);
    *redo = list;
    *n_redo = n;
  } else {
    td_free(list);
  }
  return rc;
}

int td_agg_reset_groups(td_agg *a, td_agg *full, const uint32_t *groups, int64_t n, td_error *err) {
  if (a->n_keys != full->n_keys || a->n_aggs != full->n_aggs)
    return td_err(err, TD_EINVAL, "resetting groups from an aggregation of another shape");
  int rc = table_sync(full, err);
  if (rc == TD_OK) rc = gbits_flush_all(a, err); /* these work on the sets */
  if (rc == TD_OK) rc = gbits_flush_all(full, err);
  if (rc) return rc;
  uint32_t *map = ext_map(a, full->n_groups, &rc, err);
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    uint32_t d = groups[i];
    uint32_t g = find_group(full, a, d);
    for (int64_t k = 0; k < a->n_aggs; k++) clear_state(a, k, d);
    if (g != NO_GROUP) rc = merge_aggs_flag(a, d, full, g, err);
    if (rc == TD_OK) mark_changed(a, d);
    if (map && g != NO_GROUP) map[g] = d;
  }
  if (rc == TD_OK && n) rc = merge_exact(a, full, err);
  if (rc == TD_OK && map) rc = merge_ext(a, full, map, false, err);
  td_free(map);
  return rc;
}

int td_agg_drop_empty(td_agg **ap, int64_t rows_k, int64_t **dropped, int64_t *n_dropped, td_error *err) {
  td_agg *a = *ap;
  *dropped = NULL;
  *n_dropped = 0;
  int frc = gbits_flush_all(a, err); /* the new state is made from the sets */
  if (frc) return frc;
  int64_t n = 0;
  for (int64_t g = 0; g < a->n_groups; g++) n += a->ast[rows_k].cnt[g] == 0;
  if (n == 0 || a->n_keys == 0) return TD_OK; /* the global group always exists */
  int64_t *list = td_malloc((size_t)n * sizeof *list);
  td_value local[8], *kv = key_scratch(a->n_keys, local);
  td_agg *b = NULL;
  int rc = list && kv ? td_agg_create(a->keys, a->n_keys, a->specs, a->n_aggs, &b, err)
                      : td_err_nomem(err, "dropping empty groups");
  for (int64_t k = 0; rc == TD_OK && k < a->n_aggs; k++) b->ast[k].scale = a->ast[k].scale;
  for (int64_t k = 0; rc == TD_OK && k < a->n_aggs; k++)
    if (a->type2[k] != TD_TYPE_NONE) rc = td_agg_set_arg_value(b, k, a->col2[k], a->type2[k], err);
  n = 0;
  uint32_t *map = rc == TD_OK ? ext_map(b, a->n_groups, &rc, err) : NULL;
  for (int64_t g = 0; rc == TD_OK && g < a->n_groups; g++) {
    if (a->ast[rows_k].cnt[g] == 0) list[n++] = g;
    else rc = merge_group(b, a, (uint32_t)g, kv, map, false, err);
  }
  if (rc == TD_OK && map) rc = merge_ext(b, a, map, false, err);
  td_free(map);
  if (kv != local) td_free(kv);
  if (rc) {
    td_agg_free(b);
    td_free(list);
    return rc;
  }
  td_agg_free(a);
  *ap = b;
  *dropped = list;
  *n_dropped = n;
  return TD_OK;
}

/* ---- results ---- */

/* A pair statistic's result from its state (DuckDB's finalizers): NULL
 * without pairs; a population variance of one value is 0, so corr and
 * regr_slope of a constant are 0/0 = NaN. */
static td_value pair_value(td_agg_kind kind, int64_t cnt, const double *m) {
  const td_value null = td_value_null(TD_TYPE_FLOAT64);
  if (cnt == 0 || (kind == TD_AGG_COVAR_SAMP && cnt < 2)) return null;
  const double n = (double)cnt, cov = m[M_C] / n;
  const double vx = cnt > 1 ? m[M_DX] / n : 0, vy = cnt > 1 ? m[M_DY] / n : 0;
  double r;
  switch (kind) {
    case TD_AGG_COVAR_POP: r = cov; break;
    case TD_AGG_COVAR_SAMP: r = m[M_C] / (n - 1); break;
    case TD_AGG_CORR: r = cov / (sqrt(vx) * sqrt(vy)); break;
    case TD_AGG_REGR_SLOPE: r = cov / vx; break;
    case TD_AGG_REGR_INTERCEPT:
      r = cov / vx;
      if (isnan(r)) return null;
      r = m[M_MY] - r * m[M_MX];
      break;
    case TD_AGG_REGR_R2:
      if (vx == 0) return null;
      if (vy == 0) return td_value_double(TD_TYPE_FLOAT64, 1);
      r = cov / (sqrt(vx) * sqrt(vy));
      r = pow(r, 2);
      break;
    case TD_AGG_REGR_SXX: r = vx * n; break;
    case TD_AGG_REGR_SYY: r = vy * n; break;
    default: r = cov * n; break; /* regr_sxy */
  }
  return td_value_double(TD_TYPE_FLOAT64, r);
}

/* skewness / kurtosis from the power sums m[0..3] of cnt values: DuckDB's
 * finalizers, operation for operation (NULL below 3 / 4 values, or when the
 * second moment is not positive). */
static td_value power_value(td_agg_kind kind, int64_t cnt, const double *m) {
  const td_value null = td_value_null(TD_TYPE_FLOAT64);
  const double n = (double)cnt, t = 1 / n, s = m[0], s2 = m[1], s3 = m[2], s4 = m[3];
  if (kind == TD_AGG_SKEWNESS) {
    if (cnt <= 2) return null;
    double p = pow(t * (s2 - s * s * t), 3);
    if (!(p > 0)) return null;
    double t1 = sqrt(n * (n - 1)) / (n - 2);
    return td_value_double(TD_TYPE_FLOAT64, t1 * t * (s3 - 3 * s2 * s * t + 2 * pow(s, 3) * t * t) / sqrt(p));
  }
  if (cnt <= 3 || s2 - s * s * t == 0) return null;
  double m4 = t * (s4 - 4 * s3 * s * t + 6 * s2 * s * s * t * t - 3 * pow(s, 4) * pow(t, 3));
  double m2 = t * (s2 - s * s * t);
  if (!(m2 > 0)) return null;
  return td_value_double(TD_TYPE_FLOAT64, (n - 1) * ((n + 1) * m4 / (m2 * m2) - 3 * (n - 1)) / ((n - 2) * (n - 3)));
}

static td_value agg_value(const td_agg *a, int64_t k, uint32_t g) {
  const td_agg_spec *sp = &a->specs[k];
  const store *s = &a->ast[k];
  td_type_id t = td_agg_result_type(sp->kind, sp->type);
  if (td_agg_is_pair_stat(sp->kind)) return pair_value(sp->kind, s->cnt[g], a->mom[k] + (size_t)g * MW);
  if (td_agg_is_moment(sp->kind)) return power_value(sp->kind, s->cnt[g], a->mom[k] + (size_t)g * MW);
  switch (sp->kind) {
    case TD_AGG_COUNT_STAR:
    case TD_AGG_COUNT: return td_value_int(TD_TYPE_INT64, s->cnt[g]);
    case TD_AGG_SUM:
      if (!s->has[g]) return td_value_null(t);
      if (t == TD_TYPE_DECIMAL128) return td_dec_value(TD_DECIMAL128_MAX_PRECISION, s->scale, s->d[g]);
      return t == TD_TYPE_INT64 ? td_value_int(t, s->i[g]) : td_value_double(t, s->f[g]);
    case TD_AGG_AVG:
      if (!s->cnt[g]) return td_value_null(t);
      if (s->ph == TD_PHYS_D128) /* the exact sum, divided once */
        return td_value_double(t, (double)s->d[g] / (double)td_dec_pow10(s->scale) / (double)s->cnt[g]);
      return td_value_double(t, s->f[g] / (double)s->cnt[g]);
    case TD_AGG_PRODUCT: return s->has[g] ? td_value_double(t, s->f[g]) : td_value_null(t);
    default:
      if (!s->has[g]) return td_value_null(t);
      return store_value(s, g, t);
  }
}

/* Aggregate k's column when its state is its 8-byte result (first, last,
 * min, max of int64, timestamp or float64 input): copied from the state
 * arrays, nulls where agg_value has them.  False: not such an aggregate. */
static bool result_direct(const td_agg *a, int64_t k, const uint32_t *groups, int64_t n, td_array *out,
                          int *rc, td_error *err) {
  const td_agg_spec *sp = &a->specs[k];
  const store *s = &a->ast[k];
  td_type_id t = td_agg_result_type(sp->kind, sp->type);
  bool kind = sp->kind == TD_AGG_FIRST || sp->kind == TD_AGG_LAST || sp->kind == TD_AGG_MIN || sp->kind == TD_AGG_MAX ||
              sp->kind == TD_AGG_ANY_VALUE || is_arg(sp->kind) || is_bits(sp->kind);
  bool ints = s->ph == TD_PHYS_I64 && (t == TD_TYPE_INT64 || t == TD_TYPE_TIMESTAMP);
  if (!kind || t != sp->type || !(ints || (s->ph == TD_PHYS_F64 && t == TD_TYPE_FLOAT64))) return false;
  const void *src = ints ? (const void *)s->i : (const void *)s->f;
  for (int64_t j = 0; j < n; j++) {
    uint32_t g = groups ? groups[j] : (uint32_t)j;
    if ((int64_t)g >= a->n_groups) {
      *rc = td_err(err, TD_EINVAL, "no group %u", g);
      return true;
    }
    memcpy(out->values + j * 8, (const char *)src + (size_t)g * 8, 8);
  }
  out->length = n;
  *rc = TD_OK;
  for (int64_t j = 0; *rc == TD_OK && j < n; j++) {
    uint32_t g = groups ? groups[j] : (uint32_t)j;
    if (!s->has[g] || s->nul[g]) *rc = td_array_set_null(out, j, err);
  }
  return true;
}

/* Output column c when it is an 8-byte column its state holds as is (int64
 * / timestamp keys and sums, float64 keys and sums, counts): the store's
 * array (its field, so that it can be moved out), null where nul[g] (*nul)
 * or where !has[g] (*has), as store_value / agg_value have them.  NULL: not
 * such a column. */
static void **plain_column(const td_agg *a, int64_t c, const uint8_t **nul, const uint8_t **has) {
  const bool key = c < a->n_keys;
  store *s = key ? &a->kst[c] : &a->ast[c - a->n_keys];
  const td_agg_spec *sp = key ? NULL : &a->specs[c - a->n_keys];
  const td_type_id t = td_agg_output_type(a, c);
  *nul = NULL;
  *has = NULL;
  if (key) {
    if (!(s->ph == TD_PHYS_I64 && (t == TD_TYPE_INT64 || t == TD_TYPE_TIMESTAMP)) &&
        !(s->ph == TD_PHYS_F64 && t == TD_TYPE_FLOAT64))
      return NULL;
    *nul = s->nul;
    return s->ph == TD_PHYS_F64 ? (void **)&s->f : (void **)&s->i;
  }
  if (a->ext[c - a->n_keys]) return NULL;
  if (sp->kind == TD_AGG_COUNT || sp->kind == TD_AGG_COUNT_STAR) return (void **)&s->cnt;
  *has = s->has;
  if (sp->kind == TD_AGG_SUM && s->ph == TD_PHYS_I64 && t == TD_TYPE_INT64) return (void **)&s->i;
  if (sp->kind == TD_AGG_SUM && t == TD_TYPE_FLOAT64) return (void **)&s->f;
  return NULL;
}

/* Whether group g of a plain_column is null. */
static inline bool plain_null(const uint8_t *nul, const uint8_t *has, int64_t g) {
  return nul ? nul[g] != 0 : has && !has[g];
}

/* Output column c when plain_column has it: copied, nulls set.  False: not
 * such a column. */
static bool result_plain(const td_agg *a, int64_t c, const uint32_t *groups, int64_t n, td_array *out, int *rc,
                         td_error *err) {
  const uint8_t *nul, *has;
  void **field = plain_column(a, c, &nul, &has);
  if (!field) return false;
  const void *src = *field;
  *rc = TD_OK;
  for (int64_t j = 0; j < n; j++)
    if (groups && (int64_t)groups[j] >= a->n_groups) {
      *rc = td_err(err, TD_EINVAL, "no group %u", groups[j]);
      return true;
    }
  if (groups)
    for (int64_t j = 0; j < n; j++) memcpy(out->values + j * 8, (const char *)src + (size_t)groups[j] * 8, 8);
  else if (n)
    memcpy(out->values, src, (size_t)n * 8);
  out->length = n;
  for (int64_t j = 0; *rc == TD_OK && (nul || has) && j < n; j++) {
    uint32_t g = groups ? groups[j] : (uint32_t)j;
    if (plain_null(nul, has, g)) *rc = td_array_set_null(out, j, err);
  }
  return true;
}

/* Output column c when it is a utf8 key or a first / last / min / max of
 * utf8 (a string store): the strings copied in one pass, nulls where
 * store_value / agg_value have them.  False: not such a column. */
static bool result_str(const td_agg *a, int64_t c, const uint32_t *groups, int64_t n, td_array *out, int *rc,
                       td_error *err) {
  const bool key = c < a->n_keys;
  const store *s = key ? &a->kst[c] : &a->ast[c - a->n_keys];
  if (s->ph != TD_PHYS_STR || out->type != TD_TYPE_UTF8 || !s->nul) return false;
  if (!key) {
    td_agg_kind kind = a->specs[c - a->n_keys].kind;
    if (a->ext[c - a->n_keys] || !s->has ||
        !(kind == TD_AGG_FIRST || kind == TD_AGG_LAST || kind == TD_AGG_MIN || kind == TD_AGG_MAX ||
          kind == TD_AGG_ANY_VALUE || is_arg(kind)))
      return false;
  }
  int64_t bytes = 0;
  for (int64_t j = 0; j < n; j++) {
    uint32_t g = groups ? groups[j] : (uint32_t)j;
    if ((int64_t)g >= a->n_groups) {
      *rc = td_err(err, TD_EINVAL, "no group %u", g);
      return true;
    }
    if (!s->nul[g] && (key || s->has[g])) bytes += (int64_t)s->s[g].len;
  }
  if (bytes > INT32_MAX) return false; /* the value-by-value path says why */
  if ((*rc = td_array_reserve_data(out, bytes, err)) != TD_OK) return true;
  int64_t at = 0;
  out->offsets[0] = 0;
  for (int64_t j = 0; j < n; j++) {
    uint32_t g = groups ? groups[j] : (uint32_t)j;
    if (!s->nul[g] && (key || s->has[g]) && s->s[g].len) {
      memcpy(out->data + at, s->s[g].p, s->s[g].len);
      at += (int64_t)s->s[g].len;
    }
    out->offsets[j + 1] = (int32_t)at;
  }
  out->data_length = at;
  out->length = n;
  for (int64_t j = 0; *rc == TD_OK && j < n; j++) {
    uint32_t g = groups ? groups[j] : (uint32_t)j;
    if (s->nul[g] || !(key || s->has[g])) *rc = td_array_set_null(out, j, err);
  }
  return true;
}

/* Output column c of the listed groups (all when `groups` is NULL) into
 * out, initialized here. */
static int result_column(const td_agg *a, int64_t c, const uint32_t *groups, int64_t n, td_array *out,
                         td_error *err) {
  int rc = td_array_init(out, td_agg_output_type(a, c), n, err);
  if (!rc && (result_plain(a, c, groups, n, out, &rc, err) || result_str(a, c, groups, n, out, &rc, err) ||
              (c >= a->n_keys && result_direct(a, c - a->n_keys, groups, n, out, &rc, err))))
    return rc;
  for (int64_t j = 0; !rc && j < n; j++) {
    uint32_t g = groups ? groups[j] : (uint32_t)j;
    if ((int64_t)g >= a->n_groups) return td_err(err, TD_EINVAL, "no group %u", g);
    td_value v;
    const dseen *ex = c >= a->n_keys ? exact_of(a, c - a->n_keys) : NULL;
    int64_t marks;
    if (ex) v = td_value_int(TD_TYPE_INT64, ex->bits ? count_marks(ex) : 0);
    else if (c >= a->n_keys && gbits_count(a, c - a->n_keys, g, &marks)) v = td_value_int(TD_TYPE_INT64, marks);
    else if (c >= a->n_keys && a->ext[c - a->n_keys]) rc = td__aggx_value(a->ext[c - a->n_keys], g, &v, err);
    else v = c < a->n_keys ? store_value(&a->kst[c], g, a->keys[c].type) : agg_value(a, c - a->n_keys, g);
    if (rc) return rc;
    rc = td_array_append_value(out, &v, err);
  }
  return rc;
}

int td_agg_result_groups(const td_agg *a, const uint32_t *groups, int64_t n, td_array *out,
                         td_error *err) {
  int64_t ncol = a->n_keys + a->n_aggs;
  for (int64_t c = 0; c < ncol; c++) memset(&out[c], 0, sizeof out[c]);
  if (a->moved) return moved_error(err);
  int rc = TD_OK;
  for (int64_t c = 0; rc == TD_OK && c < ncol; c++) rc = result_column(a, c, groups, n, &out[c], err);
  return rc;
}

int td_agg_result(const td_agg *a, td_array *out, td_error *err) {
  return td_agg_result_groups(a, NULL, a->n_groups, out, err);
}

/* Moves plain column c's array (plain_column: field) out of the state as
 * an Arrow array of its first n values, nulls as the copy would have them. */
static int move_column(void **field, const uint8_t *nul, const uint8_t *has, int64_t n, struct ArrowArray *out,
                       td_error *err) {
  int64_t nulls = 0;
  for (int64_t g = 0; (nul || has) && g < n; g++) nulls += plain_null(nul, has, g);
  uint8_t *bits = nulls ? td_malloc((size_t)(n + 7) / 8) : NULL;
  if (nulls && !bits) return td_err_nomem(err, "building an aggregation's result");
  if (bits) {
    memset(bits, 0, (size_t)(n + 7) / 8);
    for (int64_t g = 0; g < n; g++)
      if (!plain_null(nul, has, g)) td_bit_set(bits, g);
  }
  int rc = td_array_export_block(n, *field, bits, nulls, out, err);
  if (rc) td_free(bits);
  else *field = NULL;
  return rc;
}

int td_agg_result_move(td_agg *a, td_array *out, struct ArrowArray *moved, td_error *err) {
  int64_t ncol = a->n_keys + a->n_aggs, n = a->n_groups;
  for (int64_t c = 0; c < ncol; c++) memset(&out[c], 0, sizeof out[c]), memset(&moved[c], 0, sizeof moved[c]);
  if (a->moved) return moved_error(err);
  int rc = TD_OK;
  for (int64_t c = 0; rc == TD_OK && c < ncol; c++) {
    const uint8_t *nul, *has;
    void **field = n > 0 ? plain_column(a, c, &nul, &has) : NULL;
    if (field && *field) {
      rc = td_array_init(&out[c], td_agg_output_type(a, c), 0, err); /* the type, for the caller */
      if (rc == TD_OK) rc = move_column(field, nul, has, n, &moved[c], err);
    } else {
      rc = result_column(a, c, NULL, n, &out[c], err);
    }
  }
  if (rc == TD_OK) a->moved = true;
  return rc;
}

int td_agg_take_changed(td_agg *a, uint32_t **groups, int64_t *n, td_error *err) {
  const int64_t count = a->all_changed ? a->n_groups : a->n_changed;
  *n = count;
  if (groups) *groups = NULL;
  if (groups && count) {
    uint32_t *g = td_malloc((size_t)count * sizeof *g);
    if (!g) return td_err_nomem(err, "listing changed groups");
    if (count == a->n_groups) /* every group: no sort needed */
      for (int64_t i = 0; i < a->n_groups; i++) g[i] = (uint32_t)i;
    else if (count * 16 >= a->n_groups) { /* many: read the flags in group order */
      int64_t k = 0;
      for (int64_t i = 0; i < a->n_groups; i++)
        if (a->changed[i]) g[k++] = (uint32_t)i;
    } else {
      memcpy(g, a->changed_list, (size_t)count * sizeof *g);
      qsort(g, (size_t)count, sizeof *g, cmp_u32);
    }
    *groups = g;
  }
  for (int64_t i = 0; i < a->n_changed; i++) a->changed[a->changed_list[i]] = 0;
  a->n_changed = 0;
  a->all_changed = false;
  return TD_OK;
}
