/*
 * query/sort.c - stable multi-key sort permutation.
 *
 * A large sort first orders the rows by a 64-bit code of their first key
 * (radix sort, stable): codes compare as the key does, so only rows whose
 * codes tie are then compared whole (bottom-up merge sort, also stable).  A
 * code ties exactly for numbers, booleans and temporals; for strings it is
 * the first seven bytes and the length (up to 8: "longer"), exact for
 * strings of at most seven bytes.  A null's code is UINT64_MAX, which one
 * value of some types shares, so that run is always compared whole.  The
 * result is the merge sort's alone (a total order and stability fix it).
 */
#include "query/sort.h"

#include <math.h>
#include <string.h>

#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

/* Non-null comparison of row i of c and row j of d (same type). */
static int cmp_valid(const td_colview *c, int64_t i, const td_colview *d, int64_t j) {
  switch (c->type) {
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: {
      double x = td_colview_double(c, i), y = td_colview_double(d, j);
      bool nx = isnan(x), ny = isnan(y);
      if (nx || ny) return nx - ny;
      return (x > y) - (x < y);
    }
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_UTF8:
    case TD_TYPE_LARGE_BINARY: {
      int64_t lx, ly;
      const char *x = td_colview_str(c, i, &lx), *y = td_colview_str(d, j, &ly);
      int64_t n = lx < ly ? lx : ly;
      int r = n ? memcmp(x, y, (size_t)n) : 0;
      if (r) return r < 0 ? -1 : 1;
      return (lx > ly) - (lx < ly);
    }
    case TD_TYPE_UINT64: {
      uint64_t x = ((const uint64_t *)c->values)[c->offset + i], y = ((const uint64_t *)d->values)[d->offset + j];
      return (x > y) - (x < y);
    }
    case TD_TYPE_DECIMAL128: { /* one column: one scale */
      td_i128 x = td_dec_load((const uint8_t *)c->values + (c->offset + i) * 16);
      td_i128 y = td_dec_load((const uint8_t *)c->values + (c->offset + j) * 16);
      return (x > y) - (x < y);
    }
    default: {
      int64_t x = td_colview_int(c, i), y = td_colview_int(d, j);
      return (x > y) - (x < y);
    }
  }
}

int td_sort_compare(const td_sort_key *keys, int64_t nk, int64_t i, const td_sort_key *other, int64_t j) {
  for (int64_t k = 0; k < nk; k++) {
    const td_colview *c = keys[k].col, *d = other[k].col;
    bool vi = td_colview_valid(c, i), vj = td_colview_valid(d, j);
    if (!vi || !vj) {
      if (vi != vj) return vi ? -1 : 1; /* nulls last */
      continue;
    }
    int r = cmp_valid(c, i, d, j);
    if (r) return keys[k].desc ? -r : r;
  }
  return 0;
}

static int cmp_rows(const td_sort_key *keys, int64_t nk, int64_t i, int64_t j) {
  return td_sort_compare(keys, nk, i, keys, j);
}

static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 29;
  return h;
}

/* A hash of row i of v: rows that tie under td_sort_compare hash alike. */
static uint64_t cell_hash(const td_colview *v, int64_t i) {
  if (!td_colview_valid(v, i)) return 0x5bd1e995;
  switch (v->type) {
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_UTF8:
    case TD_TYPE_LARGE_BINARY: {
      int64_t len;
      const char *s = td_colview_str(v, i, &len);
      uint64_t h = 0xcbf29ce484222325ULL;
      for (int64_t k = 0; k < len; k++) h = (h ^ (uint8_t)s[k]) * 0x100000001b3ULL;
      return h;
    }
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: {
      double d = td_colview_double(v, i);
      if (d == 0) d = 0;         /* -0 ties 0 */
      if (d != d) return 0x7ff8; /* NaNs tie */
      uint64_t u;
      memcpy(&u, &d, sizeof u);
      return u;
    }
    case TD_TYPE_UINT64: return ((const uint64_t *)v->values)[v->offset + i];
    case TD_TYPE_DECIMAL128: {
      td_i128 x = td_dec_load((const uint8_t *)v->values + (v->offset + i) * 16);
      return (uint64_t)x ^ mix((uint64_t)(x >> 64));
    }
    default: return (uint64_t)td_colview_int(v, i);
  }
}

uint64_t td_sort_hash(const td_sort_key *keys, int64_t n_keys, int64_t row) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (int64_t k = 0; k < n_keys; k++) h = mix(h ^ cell_hash(keys[k].col, row));
  return h;
}

void td_sort_rows(const td_sort_key *keys, int64_t n_keys, int64_t *rows, int64_t n, int64_t *tmp) {
  if (n < 2 || n_keys == 0) return;
  int64_t *src = rows, *dst = tmp;
  for (int64_t w = 1; w < n; w *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * w) {
      int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      int64_t a = lo, b = mid, o = lo;
      while (a < mid && b < hi) dst[o++] = cmp_rows(keys, n_keys, src[b], src[a]) < 0 ? src[b++] : src[a++];
      while (a < mid) dst[o++] = src[a++];
      while (b < hi) dst[o++] = src[b++];
    }
    int64_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != rows) memcpy(rows, src, (size_t)n * sizeof *rows);
}

bool td__sort_has_codes(const td_colview *c) { return c->type != TD_TYPE_DECIMAL128; }


static void key_codes(const td_sort_key *k, int64_t n, uint64_t *code) {
  const td_colview *c = k->col;
  const uint64_t flip = k->desc ? ~(uint64_t)0 : 0, sign = (uint64_t)1 << 63;
  for (int64_t i = 0; i < n; i++) {
    if (!td_colview_valid(c, i)) {
      code[i] = UINT64_MAX;
      continue;
    }
    uint64_t b;
    switch (c->type) {
      case TD_TYPE_FLOAT32:
      case TD_TYPE_FLOAT64: {
        double x = td_colview_double(c, i);
        if (isnan(x)) { /* above +inf, every NaN alike */
          b = UINT64_C(0xfff8000000000000);
        } else {
          if (x == 0) x = 0; /* -0 ties 0 */
          memcpy(&b, &x, sizeof b);
          b = b & sign ? ~b : b | sign;
        }
        break;
      }
      case TD_TYPE_UTF8:
      case TD_TYPE_BINARY:
      case TD_TYPE_LARGE_UTF8:
      case TD_TYPE_LARGE_BINARY: {
        int64_t len;
        const char *x = td_colview_str(c, i, &len);
        b = (uint64_t)(len < 8 ? len : 8);
        for (int64_t j = 0; j < 7 && j < len; j++) b |= (uint64_t)(uint8_t)x[j] << (56 - 8 * j);
        break;
      }
      case TD_TYPE_UINT64: b = ((const uint64_t *)c->values)[c->offset + i]; break;
      default: b = (uint64_t)td_colview_int(c, i) ^ sign; break;
    }
    code[i] = b ^ flip;
  }
}

/* Sorts (code, row) pairs by code, stably: least significant byte first,
 * skipping the bytes every code shares.  c2, r2: room for n each; count:
 * zeroed counts of each byte's values. */
static void radix_pairs(uint64_t *code, int64_t *rows, int64_t n, uint64_t *c2, int64_t *r2, int64_t (*count)[256]) {
  enum { B = 8 };
  for (int64_t i = 0; i < n; i++)
    for (int b = 0; b < B; b++) count[b][(code[i] >> (8 * b)) & 0xff]++;
  uint64_t *cs = code, *cd = c2;
  int64_t *rs = rows, *rd = r2;
  for (int b = 0; b < B; b++) {
    if (count[b][(code[0] >> (8 * b)) & 0xff] == n) continue; /* one value of this byte */
    int64_t at = 0;
    for (int v = 0; v < 256; v++) {
      int64_t k = count[b][v];
      count[b][v] = at;
      at += k;
    }
    for (int64_t i = 0; i < n; i++) {
      int64_t to = count[b][(cs[i] >> (8 * b)) & 0xff]++;
      cd[to] = cs[i];
      rd[to] = rs[i];
    }
    uint64_t *tc = cs;
    cs = cd;
    cd = tc;
    int64_t *tr = rs;
    rs = rd;
    rd = tr;
  }
  if (cs != code) {
    memcpy(code, cs, (size_t)n * sizeof *code);
    memcpy(rows, rs, (size_t)n * sizeof *rows);
  }
}

void td__sort_codes(const td_sort_key *k, int64_t n, uint64_t *code) { key_codes(k, n, code); }

int td_sort_permutation(const td_sort_key *keys, int64_t n_keys, int64_t n_rows, int64_t *perm,
                        td_error *err) {
  for (int64_t k = 0; k < n_keys; k++)
    if (keys[k].col->length < n_rows)
      return td_err(err, TD_EINVAL, "sort key %lld has %lld rows, expected %lld", (long long)k,
                    (long long)keys[k].col->length, (long long)n_rows);
  for (int64_t i = 0; i < n_rows; i++) perm[i] = i;
  if (n_rows < 2 || n_keys == 0) return TD_OK;
  int64_t *tmp = td_malloc((size_t)n_rows * sizeof *tmp);
  if (!tmp) return td_err_nomem(err, "sorting");
  bool coded = n_rows >= 512 && td__sort_has_codes(keys[0].col);
  uint64_t *code = coded ? td_malloc((size_t)n_rows * sizeof *code) : NULL;
  uint64_t *c2 = coded ? td_malloc((size_t)n_rows * sizeof *c2) : NULL;
  int64_t(*count)[256] = coded ? td_calloc(8, sizeof *count) : NULL;
  if (coded && (!code || !c2 || !count)) coded = false; /* the merge sort alone needs less */
  if (!coded) {
    td_free(code);
    td_free(c2);
    td_free(count);
    td_sort_rows(keys, n_keys, perm, n_rows, tmp);
    td_free(tmp);
    return TD_OK;
  }
  key_codes(&keys[0], n_rows, code);
  radix_pairs(code, perm, n_rows, c2, tmp, count);
  td_free(count);
  for (int64_t i = 0, j; i < n_rows; i = j) { /* runs of one code */
    for (j = i + 1; j < n_rows && code[j] == code[i];) j++;
    if (j - i < 2) continue;
    if (td__sort_code_exact(td_type_is_varlen(keys[0].col->type), keys[0].desc, code[i])) {
      if (n_keys > 1) td_sort_rows(keys + 1, n_keys - 1, perm + i, j - i, tmp);
    } else {
      td_sort_rows(keys, n_keys, perm + i, j - i, tmp);
    }
  }
  td_free(code);
  td_free(c2);
  td_free(tmp);
  return TD_OK;
}
