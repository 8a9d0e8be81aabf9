/*
 * query/inset.c - hash sets of IN lists (see inset.h): open addressing over
 * a power-of-two table of at least twice the number of items; integer items
 * alone are kept bare, in a bitmap over their range when that is dense
 * enough, else in a table of values probed a few rows ahead.
 */
#include "query/inset.h"

#include <math.h>
#include <string.h>

#include "query/scalar.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/hash.h"

enum { K_EMPTY, K_INT, K_DBL, K_STR, K_BOOL };

typedef struct entry {
  uint8_t kind;
  int64_t i;      /* K_INT, K_BOOL */
  double f;       /* K_DBL (normalized: no -0.0, never NaN) */
  const char *p;  /* K_STR, borrowed */
  size_t len;
} entry;

struct td_in_set {
  entry *t; /* every item, when some item is not an integer (else NULL) */
  uint64_t mask;
  bool has_null, has_dbl;
  /* When every item is an integer: the distinct items (n_ints of them), and
   * either a bitmap over [lo, lo + span) when the items are dense enough
   * that it is at most 8 bytes an item (ids of a subquery: a fraction of
   * the table's), or a table of bare values (mask + 1 slots: INT64_MIN marks
   * an empty slot, has_min tells whether it is an item). */
  int64_t *ints;
  int64_t n_ints;
  uint64_t *bits;
  int64_t lo;
  uint64_t span;
  int64_t *itab;
  bool has_min;
};

#define ITAB_EMPTY INT64_MIN


static uint64_t hash_of(const entry *e) {
  uint64_t h;
  switch (e->kind) {
    case K_DBL: memcpy(&h, &e->f, 8); return td_mix64(h ^ 0x5bd1e995ULL);
    case K_STR:
      h = 1469598103934665603ULL ^ e->len;
      for (size_t k = 0; k < e->len; k++) h = (h ^ (unsigned char)e->p[k]) * 1099511628211ULL;
      return td_mix64(h);
    default: return td_mix64((uint64_t)e->i + e->kind);
  }
}

static bool same(const entry *a, const entry *b) {
  if (a->kind != b->kind) return false;
  switch (a->kind) {
    case K_DBL: return a->f == b->f;
    case K_STR: return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
    default: return a->i == b->i;
  }
}

/* The slot holding e, or the empty slot where it would go. */
static entry *slot(const td_in_set *s, const entry *e) {
  uint64_t i = hash_of(e) & s->mask;
  while (s->t[i].kind != K_EMPTY && !same(&s->t[i], e)) i = (i + 1) & s->mask;
  return &s->t[i];
}

/* The entry of a non-null value compared against operand type xt; false
 * when it can never match (NaN). */
static bool entry_of(const td_value *v, td_type_id xt, entry *e) {
  memset(e, 0, sizeof *e);
  if (td_type_is_varlen(v->type)) {
    e->kind = K_STR;
    e->p = v->v.s.ptr;
    e->len = v->v.s.len;
  } else if (v->type == TD_TYPE_BOOL) {
    e->kind = K_BOOL;
    e->i = v->v.b;
  } else if (td__is_intlike(v->type) && td__is_intlike(xt)) {
    e->kind = K_INT;
    e->i = v->v.i;
  } else {
    double d = td__value_double(v);
    if (isnan(d)) return false;
    e->kind = K_DBL;
    e->f = d == 0 ? 0.0 : d;
  }
  return true;
}

/* Adds integer v to the int-only set; *added when it was not there. */
static void int_add(td_in_set *s, int64_t v) {
  if (s->bits) {
    const uint64_t d = (uint64_t)v - (uint64_t)s->lo, m = 1ULL << (d & 63);
    if (s->bits[d >> 6] & m) return;
    s->bits[d >> 6] |= m;
  } else if (v == ITAB_EMPTY) {
    if (s->has_min) return;
    s->has_min = true;
  } else {
    uint64_t h = td_mix64((uint64_t)v) & s->mask;
    for (; s->itab[h] != ITAB_EMPTY; h = (h + 1) & s->mask)
      if (s->itab[h] == v) return;
    s->itab[h] = v;
  }
  s->ints[s->n_ints++] = v;
}

/* The set of integer items (items 1.. of e, every non-null one K_INT against
 * xt; n of them, in [lo, hi]). */
static int build_ints(td_in_set *s, const td_expr *e, td_type_id xt, int64_t n, int64_t lo, int64_t hi) {
  s->ints = td_malloc((size_t)(n ? n : 1) * sizeof *s->ints);
  if (!s->ints) return TD_ENOMEM;
  const uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0: the whole int64 range */
  if (n > 8 && span != 0 && span / 64 <= (uint64_t)n) {
    s->lo = lo;
    s->span = span;
    if (!(s->bits = td_calloc(span / 64 + 1, sizeof *s->bits))) return TD_ENOMEM;
  } else if (n > 8) {
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)n) cap *= 2;
    s->mask = cap - 1;
    if (!(s->itab = td_malloc(cap * sizeof *s->itab))) return TD_ENOMEM;
    for (uint64_t i = 0; i < cap; i++) s->itab[i] = ITAB_EMPTY;
  }
  for (int64_t i = 1; i < e->n_args; i++) {
    const td_value *v = &e->args[i]->lit;
    entry en;
    if (v->is_null || v->type == TD_TYPE_NONE || !entry_of(v, xt, &en)) continue;
    if (s->bits || s->itab) {
      int_add(s, en.i);
      continue;
    }
    bool seen = false; /* a few items: compared */
    for (int64_t k = 0; k < s->n_ints && !seen; k++) seen = s->ints[k] == en.i;
    if (!seen) s->ints[s->n_ints++] = en.i;
  }
  return TD_OK;
}

int td__in_set_build(const td_expr *e, td_in_set **out, td_error *err) {
  *out = NULL;
  td_type_id xt = e->args[0]->type;
  if (xt == TD_TYPE_NONE || xt == TD_TYPE_DECIMAL128 || xt == TD_TYPE_UINT64) return TD_OK; /* decimals: compared one by one, exactly */
  for (int64_t i = 1; i < e->n_args; i++)
    if (e->args[i]->kind != TD_EXPR_LITERAL) return TD_OK;
  td_in_set *s = td_calloc(1, sizeof *s);
  if (!s) return td_err_nomem(err, "building the set of an IN list");
  /* the items' kinds first: integers alone need no entry table */
  bool all_int = true;
  int64_t n = 0, lo = INT64_MAX, hi = INT64_MIN;
  for (int64_t i = 1; i < e->n_args; i++) {
    const td_value *v = &e->args[i]->lit;
    entry en;
    if (v->is_null || v->type == TD_TYPE_NONE) {
      s->has_null = true;
      continue;
    }
    if (!entry_of(v, xt, &en)) continue;
    s->has_dbl |= en.kind == K_DBL;
    all_int &= en.kind == K_INT;
    n++;
    if (en.kind == K_INT) {
      lo = en.i < lo ? en.i : lo;
      hi = en.i > hi ? en.i : hi;
    }
  }
  if (all_int) {
    if (build_ints(s, e, xt, n, lo, hi) != TD_OK) {
      td__in_set_free(s);
      return td_err_nomem(err, "building the set of an IN list");
    }
    *out = s;
    return TD_OK;
  }
  uint64_t cap = 16;
  while (cap < 2 * (uint64_t)e->n_args) cap *= 2;
  if (!(s->t = td_calloc(cap, sizeof *s->t))) {
    td__in_set_free(s);
    return td_err_nomem(err, "building the set of an IN list");
  }
  s->mask = cap - 1;
  for (int64_t i = 1; i < e->n_args; i++) {
    const td_value *v = &e->args[i]->lit;
    entry en;
    if (v->is_null || v->type == TD_TYPE_NONE || !entry_of(v, xt, &en)) continue;
    entry *at = slot(s, &en);
    if (at->kind == K_EMPTY) *at = en;
  }
  *out = s;
  return TD_OK;
}

/* Whether integer v is an item of an int-only set. */
static inline bool int_has(const td_in_set *s, int64_t v) {
  if (s->bits) {
    const uint64_t d = (uint64_t)v - (uint64_t)s->lo;
    return d < s->span && (s->bits[d >> 6] >> (d & 63) & 1);
  }
  if (!s->itab) {
    for (int64_t k = 0; k < s->n_ints; k++)
      if (s->ints[k] == v) return true;
    return false;
  }
  if (v == ITAB_EMPTY) return s->has_min;
  for (uint64_t h = td_mix64((uint64_t)v) & s->mask; s->itab[h] != ITAB_EMPTY; h = (h + 1) & s->mask)
    if (s->itab[h] == v) return true;
  return false;
}

/* Slots of a bare-value table past this many are fetched ahead (a table
 * larger than the caches: each probe would wait for memory in turn). */
enum { ITAB_AHEAD_SLOTS = 1 << 15, ITAB_AHEAD = 16 };

bool td__in_set_has_ints(const td_in_set *s, const int64_t *x, int64_t n, uint8_t *found) {
  if (s->t) return false;
  const int64_t *it = s->ints;
  int64_t k = s->n_ints;
  if (k <= 8) { /* a compare with each item: a loop the compiler vectorizes */
    memset(found, 0, (size_t)n);
    for (int64_t t = 0; t < k; t++) {
      int64_t c = it[t];
      for (int64_t i = 0; i < n; i++) found[i] |= x[i] == c;
    }
    return true;
  }
  if (s->bits) {
    const uint64_t *bits = s->bits, lo = (uint64_t)s->lo, span = s->span;
    for (int64_t i = 0; i < n; i++) {
      const uint64_t d = (uint64_t)x[i] - lo;
      found[i] = d < span && (bits[d >> 6] >> (d & 63) & 1);
    }
    return true;
  }
  const int64_t *t = s->itab;
  const uint64_t mask = s->mask;
  const bool ahead = mask + 1 > ITAB_AHEAD_SLOTS;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = x[i];
    if (ahead && i + ITAB_AHEAD < n) __builtin_prefetch(&t[td_mix64((uint64_t)x[i + ITAB_AHEAD]) & mask]);
    uint64_t h = td_mix64((uint64_t)v) & mask;
    uint8_t f = v == ITAB_EMPTY && s->has_min;
    for (int64_t e; !f && (e = t[h]) != ITAB_EMPTY; h = (h + 1) & mask) f = e == v;
    found[i] = f;
  }
  return true;
}

void td__in_set_free(td_in_set *s) {
  if (!s) return;
  td_free(s->ints);
  td_free(s->itab);
  td_free(s->bits);
  td_free(s->t);
  td_free(s);
}

bool td__in_set_has(const td_in_set *s, const td_value *x) {
  entry en;
  if (!entry_of(x, x->type, &en)) return false;
  if (!s->t) return en.kind == K_INT && int_has(s, en.i);
  if (slot(s, &en)->kind != K_EMPTY) return true;
  if (en.kind != K_INT || !s->has_dbl) return false;
  /* an integer x against float items compares as double */
  en.kind = K_DBL;
  en.f = (double)en.i;
  en.f = en.f == 0 ? 0.0 : en.f;
  return slot(s, &en)->kind != K_EMPTY;
}

bool td__in_set_has_null(const td_in_set *s) { return s->has_null; }
