/*
 * query/win_part.c - the window operator's row order (see win_part.h):
 * rows hashed into their partitions (one pass, a counting sort by partition
 * keeps each partition's rows in row order), then each partition sorted by
 * the ORDER BY columns on its own, partitions shared among workers.
 *
 * Workers group contiguous row ranges into maps of their own, merged in
 * range order, so partitions are numbered by first row at any thread
 * count.  A single non-string ORDER BY column (the usual `ORDER BY ts`) is sorted
 * as (order-preserving 64-bit key, row) pairs: nulls set apart and put last
 * in row order, the rest by a stable merge sort of the pairs, skipped when
 * the partition is already in order.  Other ORDER BY lists use the general
 * comparison (td_sort_rows).
 */
#include "query/win_part.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "query/par.h"
#include "util/alloc.h"
#include "util/error.h"

/* Partitions found so far: each one's first row and hash. */
typedef struct gmap {
  int64_t *fr;
  uint64_t *hs;
  int64_t n, cap;
  int64_t *slots; /* partition + 1, 0 empty; at most half full */
  int64_t n_slots;
} gmap;

static void gmap_free(gmap *m) {
  td_free(m->fr);
  td_free(m->hs);
  td_free(m->slots);
  memset(m, 0, sizeof *m);
}

/* *g: the partition of row r (hash h), added when new. */
static int gmap_find(gmap *m, const td_sort_key *keys, int64_t n_part, uint64_t h, int64_t r, int64_t *g,
                     td_error *err) {
  int64_t s = m->n_slots ? (int64_t)(h & (uint64_t)(m->n_slots - 1)) : 0;
  for (; m->n_slots && m->slots[s]; s = (s + 1) & (m->n_slots - 1)) {
    int64_t c = m->slots[s] - 1;
    if (m->hs[c] == h && td_sort_compare(keys, n_part, m->fr[c], keys, r) == 0) {
      *g = c;
      return TD_OK;
    }
  }
  if (m->n == m->cap) {
    int64_t cap = m->cap ? 2 * m->cap : 1024;
    int64_t *f2 = td_realloc(m->fr, (size_t)cap * sizeof *f2);
    if (f2) m->fr = f2;
    uint64_t *h2 = f2 ? td_realloc(m->hs, (size_t)cap * sizeof *h2) : NULL;
    if (!h2) return td_err_nomem(err, "partitioning a window");
    m->hs = h2;
    m->cap = cap;
  }
  if (2 * (m->n + 1) > m->n_slots) { /* rehash at half full */
    int64_t n2 = m->n_slots ? 2 * m->n_slots : 2048, *s2 = td_calloc((size_t)n2, sizeof *s2);
    if (!s2) return td_err_nomem(err, "partitioning a window");
    for (int64_t i = 0; i < m->n; i++) {
      int64_t t = (int64_t)(m->hs[i] & (uint64_t)(n2 - 1));
      while (s2[t]) t = (t + 1) & (n2 - 1);
      s2[t] = i + 1;
    }
    td_free(m->slots);
    m->slots = s2;
    m->n_slots = n2;
    s = (int64_t)(h & (uint64_t)(n2 - 1));
    while (m->slots[s]) s = (s + 1) & (n2 - 1);
  }
  *g = m->n++;
  m->fr[*g] = r;
  m->hs[*g] = h;
  m->slots[s] = *g + 1;
  return TD_OK;
}

/* Grouping by workers: worker w numbers the partitions of rows
 * [bounds[w], bounds[w + 1]) in maps[w]; the maps are then merged in
 * worker order (a partition's number: its place by first row). */
typedef struct gctx {
  const td_sort_key *keys;
  int64_t n_part;
  uint32_t *gid;
  int64_t bounds[TD_PAR_MAX + 1];
  gmap maps[TD_PAR_MAX];
  int64_t *to[TD_PAR_MAX]; /* worker w's partition -> merged partition */
} gctx;

static int group_worker(void *v, int w, td_error *err) {
  gctx *x = v;
  int rc = TD_OK;
  for (int64_t r = x->bounds[w], g; rc == TD_OK && r < x->bounds[w + 1]; r++)
    if ((rc = gmap_find(&x->maps[w], x->keys, x->n_part, td_sort_hash(x->keys, x->n_part, r), r, &g, err)) == TD_OK)
      x->gid[r] = (uint32_t)g;
  return rc;
}

static int renumber_worker(void *v, int w, td_error *err) {
  (void)err;
  gctx *x = v;
  if (w > 0)
    for (int64_t r = x->bounds[w]; r < x->bounds[w + 1]; r++) x->gid[r] = (uint32_t)x->to[w][x->gid[r]];
  return TD_OK;
}

/* The partitions of n rows on up to `workers` workers: gid[r] the
 * partition of row r, partitions numbered by first row; *n_groups how
 * many. */
static int group_rows(const td_sort_key *keys, int64_t n_part, int64_t n, int workers, uint32_t *gid,
                      int64_t *n_groups, td_error *err) {
  gctx *x = td_calloc(1, sizeof *x);
  if (!x) return td_err_nomem(err, "partitioning a window");
  x->keys = keys;
  x->n_part = n_part;
  x->gid = gid;
  for (int w = 0; w <= workers; w++) x->bounds[w] = n * w / workers;
  int rc = td__par_run(workers, group_worker, x, err);
  gmap *m = &x->maps[0];
  for (int w = 1; rc == TD_OK && w < workers; w++) {
    const gmap *p = &x->maps[w];
    if (!(x->to[w] = td_malloc((size_t)p->n * sizeof *x->to[w] + 1))) rc = td_err_nomem(err, "partitioning a window");
    for (int64_t i = 0; rc == TD_OK && i < p->n; i++) rc = gmap_find(m, keys, n_part, p->hs[i], p->fr[i], &x->to[w][i], err);
  }
  if (rc == TD_OK) rc = td__par_run(workers, renumber_worker, x, err);
  *n_groups = m->n;
  for (int w = 0; w < workers; w++) {
    gmap_free(&x->maps[w]);
    td_free(x->to[w]);
  }
  td_free(x);
  return rc;
}

/* Whether column c is an integer of at most 32 bits whose non-null values
 * span at most `limit` (*lo the least, *span how many): its values number
 * its partitions directly. */
static bool small_range(const td_colview *c, int64_t n, int64_t limit, int64_t *lo, int64_t *span) {
  switch (c->type) {
    case TD_TYPE_BOOL:
    case TD_TYPE_INT8:
    case TD_TYPE_UINT8:
    case TD_TYPE_INT16:
    case TD_TYPE_UINT16:
    case TD_TYPE_INT32:
    case TD_TYPE_UINT32:
    case TD_TYPE_DATE32: break;
    default: return false;
  }
  int64_t mn = INT64_MAX, mx = INT64_MIN;
  if (c->type == TD_TYPE_INT32 || c->type == TD_TYPE_DATE32) { /* string codes: the common case */
    const int32_t *v = (const int32_t *)c->values + c->offset;
    for (int64_t r = 0; r < n; r++)
      if (!c->validity || c->null_count == 0 || td_colview_valid(c, r)) {
        mn = v[r] < mn ? v[r] : mn;
        mx = v[r] > mx ? v[r] : mx;
      }
  } else {
    for (int64_t r = 0; r < n; r++)
      if (td_colview_valid(c, r)) {
        int64_t x = td_colview_int(c, r);
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
      }
  }
  if (mn > mx) mn = mx = 0; /* every value null */
  *lo = mn;
  *span = mx - mn + 1;
  return *span <= limit;
}

int td__win_groups(const td_sort_key *keys, int64_t n_part, int64_t n, int threads, uint32_t **gid,
                   int64_t *n_groups, td_error *err) {
  *gid = NULL;
  *n_groups = 1;
  if (n > (int64_t)UINT32_MAX - 1)
    return td_err(err, TD_ERANGE, "a window over at most %lld rows, found %lld", (long long)UINT32_MAX - 1,
                  (long long)n);
  if (n_part == 0 || n == 0) return TD_OK;
  uint32_t *g = td_malloc((size_t)n * sizeof *g);
  if (!g) return td_err_nomem(err, "partitioning a window");
  int64_t lo, span, limit = n / 2 < (1 << 20) ? n / 2 : (1 << 20);
  const td_colview *c = keys[0].col;
  int rc = TD_OK;
  if (n_part == 1 && small_range(c, n, limit > 4096 ? limit : 4096, &lo, &span)) {
    bool nulls = c->validity && c->null_count > 0;
    if (c->type == TD_TYPE_INT32 || c->type == TD_TYPE_DATE32) {
      const int32_t *v = (const int32_t *)c->values + c->offset;
      for (int64_t r = 0; r < n; r++) g[r] = (uint32_t)(v[r] - lo);
    } else {
      for (int64_t r = 0; r < n; r++) g[r] = (uint32_t)(td_colview_int(c, r) - lo);
    }
    for (int64_t r = 0; nulls && r < n; r++)
      if (!td_colview_valid(c, r)) g[r] = (uint32_t)span;
    *n_groups = span + 1;
  } else {
    enum { MIN_ROWS = 1 << 16 }; /* rows per worker worth a thread */
    rc = group_rows(keys, n_part, n, td__par_workers(threads, n / MIN_ROWS), g, n_groups, err);
  }
  if (rc) {
    td_free(g);
    return rc;
  }
  *gid = g;
  return TD_OK;
}

/* An order-preserving unsigned key of a non-null cell of a column that
 * query/sort.c compares as a number: floats by value (-0 as 0, NaN after
 * every other value), the rest as signed integers but uint64. */
static uint64_t ukey(const td_colview *c, int64_t r) {
  switch (c->type) {
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: {
      double d = td_colview_double(c, r);
      if (isnan(d)) return UINT64_MAX;
      if (d == 0) d = 0;
      uint64_t u;
      memcpy(&u, &d, sizeof u);
      return u >> 63 ? ~u : u | (1ULL << 63);
    }
    case TD_TYPE_UINT64: return ((const uint64_t *)c->values)[c->offset + r];
    default: return (uint64_t)td_colview_int(c, r) ^ (1ULL << 63);
  }
}

/* Whether ukey orders column c as td_sort_compare does. */
static bool has_ukey(const td_colview *c) {
  switch (c->type) {
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_UTF8:
    case TD_TYPE_LARGE_BINARY:
    case TD_TYPE_DECIMAL128:
    case TD_TYPE_NONE: return false;
    default: return true;
  }
}

typedef struct kr {
  uint64_t k;
  int64_t row;
} kr;

/* Stable sort of a[0..n) by k (b: room for n). */
static void sort_pairs(kr *a, kr *b, int64_t n) {
  enum { RUN = 16 };
  for (int64_t lo = 0; lo < n; lo += RUN) { /* insertion sort of short runs */
    int64_t hi = lo + RUN < n ? lo + RUN : n;
    for (int64_t i = lo + 1; i < hi; i++) {
      kr x = a[i];
      int64_t j = i;
      for (; j > lo && a[j - 1].k > x.k; j--) a[j] = a[j - 1];
      a[j] = x;
    }
  }
  kr *src = a, *dst = b;
  for (int64_t w = RUN; w < n; w *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * w) {
      int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      int64_t i = lo, j = mid, o = lo;
      while (i < mid && j < hi) dst[o++] = src[j].k < src[i].k ? src[j++] : src[i++];
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
    }
    kr *t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

typedef struct pctx {
  const td_sort_key *keys; /* the ORDER BY keys */
  int64_t n_keys;
  int64_t *perm;
  const int64_t *starts;
  int64_t n_groups, max_len;
  atomic_llong next;
} pctx;

/* Sorts rows[0..n) (increasing) by the single key k; tmp: room for 2n pairs. */
static void sort_one(const td_sort_key *k, int64_t *rows, int64_t n, kr *tmp) {
  const td_colview *c = k->col;
  uint64_t flip = k->desc ? UINT64_MAX : 0;
  kr *p = tmp;
  int64_t m = 0, nulls = 0;
  bool sorted = true;
  for (int64_t i = 0; i < n; i++) {
    int64_t r = rows[i];
    if (!td_colview_valid(c, r)) {
      rows[nulls++] = r; /* nulls <= i: not read again */
      continue;
    }
    p[m] = (kr){ukey(c, r) ^ flip, r};
    sorted = sorted && (m == 0 || p[m - 1].k <= p[m].k);
    m++;
  }
  if (nulls) memmove(rows + m, rows, (size_t)nulls * sizeof *rows);
  if (!sorted) sort_pairs(p, tmp + n, m);
  for (int64_t i = 0; i < m; i++) rows[i] = p[i].row;
}

static int sort_worker(void *v, int worker, td_error *err) {
  (void)worker;
  pctx *x = v;
  bool fast = x->n_keys == 1 && has_ukey(x->keys[0].col);
  void *tmp = td_malloc((size_t)x->max_len * (fast ? 2 * sizeof(kr) : sizeof(int64_t)) + 1);
  if (!tmp) return td_err_nomem(err, "sorting a window's partitions");
  for (int64_t g; (g = atomic_fetch_add(&x->next, 1)) < x->n_groups;) {
    int64_t *rows = x->perm + x->starts[g], len = x->starts[g + 1] - x->starts[g];
    if (fast) sort_one(x->keys, rows, len, tmp);
    else td_sort_rows(x->keys, x->n_keys, rows, len, tmp);
  }
  td_free(tmp);
  return TD_OK;
}

int td__win_partition(const td_sort_key *keys, int64_t n_keys, int64_t n_part, int64_t n, int threads, int64_t *perm,
                      int64_t **starts, int64_t *n_parts, td_error *err) {
  *starts = NULL;
  *n_parts = 0;
  if (n > (int64_t)UINT32_MAX)
    return td_err(err, TD_ERANGE, "a window over at most %lld rows, found %lld", (long long)UINT32_MAX,
                  (long long)n);
  for (int64_t k = 0; k < n_keys; k++)
    if (keys[k].col->length < n)
      return td_err(err, TD_EINVAL, "window key %lld has %lld rows, expected %lld", (long long)k,
                    (long long)keys[k].col->length, (long long)n);
  int64_t ng = n > 0, *st = NULL;
  uint32_t *gid = NULL;
  int rc = TD_OK;
  if (n_part > 0 && n > 0) {
    gid = td_malloc((size_t)n * sizeof *gid);
    enum { MIN_ROWS = 1 << 16 }; /* rows per worker worth a thread */
    int workers = td__par_workers(threads, n / MIN_ROWS);
    rc = gid ? group_rows(keys, n_part, n, workers, gid, &ng, err) : td_err_nomem(err, "partitioning a window");
  }
  if (rc == TD_OK && !(st = td_calloc((size_t)ng + 2, sizeof *st))) rc = td_err_nomem(err, "partitioning a window");
  if (rc == TD_OK && !gid) { /* one partition */
    for (int64_t r = 0; r < n; r++) perm[r] = r;
    st[ng] = n;
  } else if (rc == TD_OK) { /* counting sort by partition: rows stay in order within each */
    for (int64_t r = 0; r < n; r++) st[gid[r] + 1]++;
    for (int64_t g = 0; g < ng; g++) st[g + 1] += st[g];
    for (int64_t r = 0; r < n; r++) perm[st[gid[r]]++] = r;
    memmove(st + 1, st, (size_t)ng * sizeof *st);
    st[0] = 0;
  }
  td_free(gid);
  if (rc == TD_OK && n_keys > n_part) {
    pctx x = {.keys = keys + n_part, .n_keys = n_keys - n_part, .perm = perm, .starts = st, .n_groups = ng};
    for (int64_t g = 0; g < ng; g++)
      if (st[g + 1] - st[g] > x.max_len) x.max_len = st[g + 1] - st[g];
    atomic_init(&x.next, 0);
    enum { MIN_ROWS = 1 << 15 }; /* rows per worker worth a thread */
    int64_t units = n / MIN_ROWS < ng ? n / MIN_ROWS : ng;
    rc = td__par_run(td__par_workers(threads, units), sort_worker, &x, err);
  }
  if (rc) {
    td_free(st);
    return rc;
  }
  *starts = st;
  *n_parts = ng;
  return TD_OK;
}
