/*
 * query/firstrow.c - the first row per key of a derived snapshot in one
 * hashed pass (see firstrow.h): what `QUALIFY row_number() OVER (PARTITION
 * BY p ORDER BY o) = 1` and `DISTINCT ON (p) ... ORDER BY p, o` keep,
 * without sorting the table.
 *
 * Each worker walks a contiguous run of chunks and keeps, per distinct
 * partition key, the position of the best row so far; a row replaces it only
 * when it sorts strictly before it (rows arrive in increasing position, so
 * a tie keeps the earlier row, as a stable sort does).  The maps are merged
 * in run order with the same rule, so the winner does not depend on the
 * thread count.  For `rank() = 1` a second pass keeps every row that ties
 * its partition's best.  The key columns are compared where they lie (no copy);
 * a constant column of a chunk (a hive partition) is materialized for that
 * chunk only.
 *
 * With one partition key, each chunk's rows are first turned into the sort
 * codes (query/sort.h) of the partition key and of the first ORDER BY key,
 * a pass over the chunk; entries keep their codes, so a row whose codes are
 * exact is hashed, matched and ranked on 64-bit integers without reading
 * the kept rows' chunks.  Rows with inexact codes (nulls, strings of eight
 * bytes or more) take the whole comparison; equal values have equal codes,
 * so a value is either always exact or never.
 */
#include "query/firstrow.h"

#include <stdlib.h>
#include <string.h>

#include "query/ops.h"
#include "query/par.h"
#include "query/sort.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/hash.h"

/* A row: its chunk, its row in the chunk and the code of its first ORDER
 * BY key (0 without codes). */
typedef struct fr_row {
  int64_t chunk, row;
  uint64_t ocode;
} fr_row;

/* One partition: its hash, its partition key's code (0 without codes) and
 * how many of its best rows so far are kept (at most k, in sorted order, at
 * rows[entry * k]). */
typedef struct fr_entry {
  uint64_t hash, pcode;
  int64_t n;
} fr_entry;

/* A row offered: fr_row and its partition key's code. */
typedef struct fr_probe {
  fr_row row;
  uint64_t pcode;
} fr_probe;

typedef struct fr_map {
  fr_entry *e;
  fr_row *rows; /* cap * k */
  int64_t n, cap;
  int64_t *slots; /* entry + 1, 0 empty */
  int64_t n_slots;
} fr_map;

typedef struct fr_ctx {
  const td_snapshot *snap;
  int64_t n_keys, n_part, k; /* k: rows kept per partition */
  td_sort_key *keys;  /* n_chunks x n_keys, over views */
  bool pcoded, ocoded; /* partition / first ORDER BY key compared by codes first */
  bool varlen[2], desc[2]; /* of those keys: where a code is exact (exact()) */
  int64_t *bounds;    /* chunk runs: worker w takes [bounds[w], bounds[w + 1]) */
  fr_map maps[TD_PAR_MAX];
  /* ties: per worker, the positions of its run's rows that tie their
   * partition's best (maps[0], read only by then) */
  int64_t *tied[TD_PAR_MAX], *tied_rank[TD_PAR_MAX]; /* positions and ranks */
  int64_t n_tied[TD_PAR_MAX], cap_tied[TD_PAR_MAX];
} fr_ctx;

static void map_reset(fr_map *m) {
  td_free(m->e);
  td_free(m->rows);
  td_free(m->slots);
  memset(m, 0, sizeof *m);
}

/* Room for one more entry of k rows (the slots at most half full). */
static int map_room(fr_map *m, int64_t k, td_error *err) {
  if (m->n == m->cap) {
    int64_t cap = m->cap ? 2 * m->cap : 64;
    fr_entry *e = td_realloc(m->e, (size_t)cap * sizeof *e);
    if (e) m->e = e;
    fr_row *r = e ? td_realloc(m->rows, (size_t)(cap * k) * sizeof *r) : NULL;
    if (!r) return td_err_nomem(err, "keeping the first row per key");
    m->rows = r;
    m->cap = cap;
  }
  if (2 * (m->n + 1) <= m->n_slots) return TD_OK;
  int64_t n_slots = m->n_slots ? 2 * m->n_slots : 128;
  int64_t *slots = td_calloc((size_t)n_slots, sizeof *slots);
  if (!slots) return td_err_nomem(err, "keeping the first row per key");
  for (int64_t i = 0; i < m->n; i++) {
    int64_t s = (int64_t)(m->e[i].hash & (uint64_t)(n_slots - 1));
    while (slots[s]) s = (s + 1) & (n_slots - 1);
    slots[s] = i + 1;
  }
  td_free(m->slots);
  m->slots = slots;
  m->n_slots = n_slots;
  return TD_OK;
}

/* Whether rows with code `code` of the partition key (k 0) or the first
 * ORDER BY key (k 1) tie exactly by it (from the key's type and
 * direction, which every chunk shares). */
static inline bool exact(const fr_ctx *x, int k, uint64_t code) {
  return td__sort_code_exact(x->varlen[k], x->desc[k], code);
}

/* Row a against row b on the ORDER BY keys (< 0: a first). */
static int order_cmp(const fr_ctx *x, fr_row a, fr_row b) {
  if (x->n_keys == x->n_part) return 0;
  int64_t from = x->n_part;
  if (x->ocoded) {
    if (a.ocode != b.ocode) return a.ocode < b.ocode ? -1 : 1;
    if (exact(x, 1, a.ocode)) from++;
    if (from == x->n_keys) return 0;
  }
  return td_sort_compare(x->keys + a.chunk * x->n_keys + from, x->n_keys - from, a.row,
                         x->keys + b.chunk * x->n_keys + from, b.row);
}

/* The entry of probe p's partition (hash h) in m, or NULL. */
static fr_entry *find(const fr_ctx *x, const fr_map *m, uint64_t h, const fr_probe *p) {
  const bool pex = x->pcoded && exact(x, 0, p->pcode);
  for (int64_t s = (int64_t)(h & (uint64_t)(m->n_slots - 1)); m->n_slots && m->slots[s];
       s = (s + 1) & (m->n_slots - 1)) {
    fr_entry *e = &m->e[m->slots[s] - 1];
    if (e->hash != h) continue;
    if (pex) { /* an exact code matches only its own code */
      if (e->pcode == p->pcode) return e;
      continue;
    }
    if (x->pcoded && exact(x, 0, e->pcode)) continue;
    const fr_row *b = &m->rows[(m->slots[s] - 1) * x->k];
    if (td_sort_compare(x->keys + p->row.chunk * x->n_keys, x->n_part, p->row.row, x->keys + b->chunk * x->n_keys,
                        b->row) == 0)
      return e;
  }
  return NULL;
}

/* Offers probe p (hash h) to map m: it starts its partition's entry, or
 * enters the partition's sorted rows after those it ties (rows are offered
 * in increasing position) when fewer than k are kept or it sorts strictly
 * before the last, which then drops out. */
static int offer(const fr_ctx *x, fr_map *m, uint64_t h, const fr_probe *p, td_error *err) {
  fr_entry *e = find(x, m, h, p);
  if (e) {
    fr_row *v = &m->rows[(e - m->e) * x->k];
    int64_t q = e->n;
    while (q > 0 && order_cmp(x, p->row, v[q - 1]) < 0) q--;
    if (q >= x->k) return TD_OK;
    if (e->n < x->k) e->n++;
    memmove(&v[q + 1], &v[q], (size_t)(e->n - 1 - q) * sizeof *v);
    v[q] = p->row;
    return TD_OK;
  }
  int rc = map_room(m, x->k, err);
  if (rc) return rc;
  int64_t s = (int64_t)(h & (uint64_t)(m->n_slots - 1));
  while (m->slots[s]) s = (s + 1) & (m->n_slots - 1);
  m->slots[s] = m->n + 1;
  m->rows[m->n * x->k] = p->row;
  m->e[m->n++] = (fr_entry){h, p->pcode, 1};
  return TD_OK;
}

/* One worker's scratch: the codes of a chunk's rows. */
typedef struct fr_codes {
  uint64_t *p, *o;
  int64_t cap;
} fr_codes;

/* The hash of chunk c's row r, its partition code pc. */
static uint64_t row_hash(const fr_ctx *x, int64_t c, int64_t r, uint64_t pc) {
  if (x->pcoded && exact(x, 0, pc)) {
    return td_mix64(pc); /* a full mix: a string's code varies in its high bytes */
  }
  return td_sort_hash(x->keys + c * x->n_keys, x->n_part, r);
}

/* The codes of chunk c's rows into f (grown as needed). */
static int chunk_codes(const fr_ctx *x, int64_t c, int64_t len, fr_codes *f, td_error *err) {
  if (!x->pcoded && !x->ocoded) return TD_OK;
  if (len > f->cap) {
    td_free(f->p);
    td_free(f->o);
    f->p = td_malloc((size_t)len * sizeof *f->p);
    f->o = td_malloc((size_t)len * sizeof *f->o);
    f->cap = f->p && f->o ? len : 0;
    if (!f->cap) return td_err_nomem(err, "keeping the first row per key");
  }
  const td_sort_key *k = x->keys + c * x->n_keys;
  if (x->pcoded) td__sort_codes(&k[0], len, f->p);
  if (x->ocoded) td__sort_codes(&k[x->n_part], len, f->o);
  return TD_OK;
}

static fr_probe probe_at(const fr_ctx *x, const fr_codes *f, int64_t c, int64_t r) {
  return (fr_probe){{c, r, x->ocoded ? f->o[r] : 0}, x->pcoded ? f->p[r] : 0};
}

static int fr_worker(void *ctx, int worker, td_error *err) {
  fr_ctx *x = ctx;
  fr_map *m = &x->maps[worker];
  fr_codes f = {0};
  int rc = TD_OK;
  for (int64_t c = x->bounds[worker]; rc == TD_OK && c < x->bounds[worker + 1]; c++) {
    int64_t len = x->snap->chunks[c]->length;
    rc = chunk_codes(x, c, len, &f, err);
    for (int64_t r = 0; rc == TD_OK && r < len; r++) {
      fr_probe p = probe_at(x, &f, c, r);
      rc = offer(x, m, row_hash(x, c, r, p.pcode), &p, err);
    }
  }
  td_free(f.p);
  td_free(f.o);
  return rc;
}

/* The second pass of ties (rank() <= k): the rows of the worker's run that
 * do not sort after their partition's k-th row (every row of a partition
 * of fewer than k), in position order, with their rank: one more than the
 * kept rows that sort strictly before them (those are all among the k). */
static int fr_tie_worker(void *ctx, int worker, td_error *err) {
  fr_ctx *x = ctx;
  const fr_map *m = &x->maps[0];
  fr_codes f = {0};
  int rc = TD_OK;
  for (int64_t c = x->bounds[worker]; rc == TD_OK && c < x->bounds[worker + 1]; c++) {
    int64_t len = x->snap->chunks[c]->length;
    rc = chunk_codes(x, c, len, &f, err);
    for (int64_t r = 0; rc == TD_OK && r < len; r++) {
      fr_probe p = probe_at(x, &f, c, r);
      const fr_entry *e = find(x, m, row_hash(x, c, r, p.pcode), &p); /* every row's partition is there */
      const fr_row *v = &m->rows[(e - m->e) * x->k];
      if (e->n == x->k && order_cmp(x, p.row, v[e->n - 1]) > 0) continue;
      int64_t rank = 1;
      while (rank <= e->n && order_cmp(x, p.row, v[rank - 1]) > 0) rank++;
      if (x->n_tied[worker] == x->cap_tied[worker]) {
        int64_t cap = x->cap_tied[worker] ? 2 * x->cap_tied[worker] : 256;
        int64_t *t = td_realloc(x->tied[worker], (size_t)cap * sizeof *t);
        if (t) x->tied[worker] = t;
        int64_t *q = t ? td_realloc(x->tied_rank[worker], (size_t)cap * sizeof *q) : NULL;
        if (!q) {
          rc = td_err_nomem(err, "keeping the first rows per key");
          break;
        }
        x->tied_rank[worker] = q;
        x->cap_tied[worker] = cap;
      }
      x->tied_rank[worker][x->n_tied[worker]] = rank;
      x->tied[worker][x->n_tied[worker]++] = x->snap->chunk_begin[c] + r;
    }
  }
  td_free(f.p);
  td_free(f.o);
  return rc;
}

/* A kept row: its position and its row number. */
typedef struct fr_out {
  int64_t pos, num;
} fr_out;

static int cmp_pos(const void *a, const void *b) {
  int64_t x = ((const fr_out *)a)->pos, y = ((const fr_out *)b)->pos;
  return (x > y) - (x < y);
}

int td__first_rows(const td_snapshot *snap, const td_schema *def, const int64_t *keys, const bool *desc,
                   int64_t n_keys, int64_t n_part, bool ties, int threads, int64_t **pos, int64_t *n,
                   td_error *err) {
  return td__top_rows(snap, def, keys, desc, n_keys, n_part, 1, ties, threads, pos, NULL, n, err);
}

int td__top_rows(const td_snapshot *snap, const td_schema *def, const int64_t *keys, const bool *desc,
                 int64_t n_keys, int64_t n_part, int64_t keep, bool ties, int threads, int64_t **pos,
                 int64_t **nums, int64_t *n, td_error *err) {
  *pos = NULL;
  if (nums) *nums = NULL;
  *n = 0;
  int64_t nc = snap->n_chunks;
  fr_ctx *x = td_calloc(1, sizeof *x);
  td_colview *views = td_calloc((size_t)(nc * n_keys) + 1, sizeof *views);
  td_array *cst = td_calloc((size_t)(nc * n_keys) + 1, sizeof *cst); /* materialized constants */
  int rc = x && views && cst ? TD_OK : td_err_nomem(err, "keeping the first row per key");
  if (rc == TD_OK) {
    x->snap = snap;
    x->n_keys = n_keys;
    x->n_part = n_part;
    x->k = keep < 1 ? 1 : keep;
    x->keys = td_calloc((size_t)(nc * n_keys) + 1, sizeof *x->keys);
    if (!x->keys) rc = td_err_nomem(err, "keeping the first row per key");
  }
  for (int64_t c = 0; rc == TD_OK && c < nc; c++) {
    const td_dchunk *ch = snap->chunks[c];
    for (int64_t k = 0; rc == TD_OK && k < n_keys; k++) {
      int64_t i = c * n_keys + k, col = keys[k];
      if (ch->consts[col].type != TD_TYPE_NONE) {
        rc = td_array_init(&cst[i], def->fields[col].type, ch->length, err);
        if (rc == TD_OK) rc = td_array_append_const(&cst[i], &ch->consts[col], ch->length, err);
        views[i] = td_builder_view(&cst[i]);
      } else {
        views[i] = ch->views[col];
      }
      x->keys[i] = (td_sort_key){&views[i], desc[k]};
    }
  }
  if (rc == TD_OK && nc > 0) { /* codes: the type decides, so chunk 0's views serve */
    x->pcoded = n_part == 1 && td__sort_has_codes(x->keys[0].col);
    x->ocoded = n_keys > n_part && td__sort_has_codes(x->keys[n_part].col);
    for (int k = 0; k < 2; k++) {
      const td_sort_key *key = k == 0 ? (x->pcoded ? &x->keys[0] : NULL) : (x->ocoded ? &x->keys[n_part] : NULL);
      x->varlen[k] = key && td_type_is_varlen(key->col->type);
      x->desc[k] = key && key->desc;
    }
  }
  /* contiguous runs of chunks of about equal rows, one per worker */
  int workers = rc == TD_OK ? td__par_workers(threads, nc) : 1;
  int64_t bounds[TD_PAR_MAX + 1];
  if (rc == TD_OK) {
    x->bounds = bounds;
    bounds[0] = 0;
    for (int w = 1, c = 0; w < workers; w++) {
      int64_t goal = snap->size / workers * w;
      while (c < nc && snap->chunk_begin[c] < goal) c++;
      bounds[w] = c;
    }
    bounds[workers] = nc;
    rc = td__par_run(workers, fr_worker, x, err);
  }
  /* the later runs' entries into the first run's map */
  fr_map *acc = x ? &x->maps[0] : NULL;
  for (int w = 1; rc == TD_OK && w < workers; w++) /* each entry's rows in order, as met */
    for (int64_t i = 0; rc == TD_OK && i < x->maps[w].n; i++)
      for (int64_t j = 0; rc == TD_OK && j < x->maps[w].e[i].n; j++) {
        fr_probe p = {x->maps[w].rows[i * x->k + j], x->maps[w].e[i].pcode};
        rc = offer(x, acc, x->maps[w].e[i].hash, &p, err);
      }
  if (rc == TD_OK && ties) rc = td__par_run(workers, fr_tie_worker, x, err);
  int64_t n_out = 0;
  for (int w = 0; rc == TD_OK && ties && w < workers; w++) n_out += x->n_tied[w];
  for (int64_t i = 0; rc == TD_OK && !ties && i < acc->n; i++) n_out += acc->e[i].n;
  int64_t *out = rc == TD_OK ? td_malloc((size_t)(n_out + 1) * sizeof *out) : NULL;
  int64_t *num = rc == TD_OK && nums ? td_malloc((size_t)(n_out + 1) * sizeof *num) : NULL;
  fr_out *kept = rc == TD_OK && !ties ? td_malloc((size_t)(n_out + 1) * sizeof *kept) : NULL;
  if (rc == TD_OK && (!out || (nums && !num) || (!ties && !kept))) rc = td_err_nomem(err, "keeping the first row per key");
  if (rc == TD_OK && ties) { /* the runs in order: positions increase */
    n_out = 0;
    for (int w = 0; w < workers; w++) {
      if (x->n_tied[w]) memcpy(out + n_out, x->tied[w], (size_t)x->n_tied[w] * sizeof *out);
      if (num && x->n_tied[w]) memcpy(num + n_out, x->tied_rank[w], (size_t)x->n_tied[w] * sizeof *num);
      n_out += x->n_tied[w];
    }
  } else if (rc == TD_OK) {
    n_out = 0;
    for (int64_t i = 0; i < acc->n; i++)
      for (int64_t j = 0; j < acc->e[i].n; j++) {
        fr_row b = acc->rows[i * x->k + j];
        kept[n_out++] = (fr_out){snap->chunk_begin[b.chunk] + b.row, j + 1};
      }
    qsort(kept, (size_t)n_out, sizeof *kept, cmp_pos);
    for (int64_t i = 0; i < n_out; i++) {
      out[i] = kept[i].pos;
      if (num) num[i] = kept[i].num;
    }
  }
  if (rc == TD_OK) {
    *pos = out;
    if (nums) *nums = num;
    *n = n_out;
  } else {
    td_free(out);
    td_free(num);
  }
  td_free(kept);
  for (int w = 0; x && w < TD_PAR_MAX; w++) {
    map_reset(&x->maps[w]);
    td_free(x->tied[w]);
    td_free(x->tied_rank[w]);
  }
  for (int64_t i = 0; cst && i < nc * n_keys; i++) td_array_reset(&cst[i]);
  if (x) td_free(x->keys);
  td_free(x);
  td_free(views);
  td_free(cst);
  return rc;
}

int td__gather_rows(const td_snapshot *snap, const td_schema *def, const int64_t *pos, int64_t n, int64_t n_extra,
                    td_dchunk **out, td_error *err) {
  *out = NULL;
  int64_t nf = def->n_fields;
  int64_t *chunk = td_malloc((size_t)(n + 1) * sizeof *chunk); /* the chunk of each row */
  int rc = chunk ? TD_OK : td_err_nomem(err, "gathering rows");
  for (int64_t i = 0, c = 0; rc == TD_OK && i < n; i++) {
    if (i > 0 && pos[i] < pos[i - 1]) c = 0; /* positions need not increase */
    while (c + 1 < snap->n_chunks && snap->chunk_begin[c + 1] <= pos[i]) c++;
    chunk[i] = c;
  }
  if (rc == TD_OK) rc = td_dchunk_new(nf + n_extra, n, out, err);
  for (int64_t col = 0; rc == TD_OK && col < nf; col++) {
    td_array a;
    memset(&a, 0, sizeof a);
    rc = td_array_init(&a, def->fields[col].type, n, err);
    for (int64_t i = 0, e; rc == TD_OK && i < n; i = e) {
      const td_dchunk *ch = snap->chunks[chunk[i]];
      int64_t r = pos[i] - snap->chunk_begin[chunk[i]];
      for (e = i + 1; e < n && chunk[e] == chunk[i] && pos[e] == pos[e - 1] + 1;) e++; /* a run */
      rc = ch->consts[col].type != TD_TYPE_NONE ? td_array_append_const(&a, &ch->consts[col], e - i, err)
                                                : td_array_append_view(&a, &ch->views[col], r, e - i, err);
    }
    if (rc == TD_OK) rc = td_dchunk_set_array(*out, col, &a, err);
    td_array_reset(&a);
  }
  td_free(chunk);
  if (rc) {
    td_dchunk_release(*out);
    *out = NULL;
  }
  return rc;
}
