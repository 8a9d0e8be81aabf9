/*
 * query/inset.c - hash sets of IN lists (see inset.h): open addressing over
 * a power-of-two table of at least twice the number of items.
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
  entry *t;
  uint64_t mask;
  bool has_null, has_dbl;
  int64_t *ints;    /* the distinct items when every one is K_INT (else NULL) */
  int64_t n_ints;
  /* ... and again as a table of bare values (mask + 1 slots, 8 bytes each:
   * a fifth of `t`'s, so a large list's probes stay in cache): INT64_MIN
   * marks an empty slot, has_min tells whether it is an item */
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

int td__in_set_build(const td_expr *e, td_in_set **out, td_error *err) {
  *out = NULL;
  td_type_id xt = e->args[0]->type;
  if (xt == TD_TYPE_NONE || xt == TD_TYPE_DECIMAL128 || xt == TD_TYPE_UINT64) return TD_OK; /* decimals: compared one by one, exactly */
  for (int64_t i = 1; i < e->n_args; i++)
    if (e->args[i]->kind != TD_EXPR_LITERAL) return TD_OK;
  td_in_set *s = td_calloc(1, sizeof *s);
  uint64_t cap = 16;
  while (cap < 2 * (uint64_t)e->n_args) cap *= 2;
  if (s) s->t = td_calloc(cap, sizeof *s->t);
  if (!s || !s->t) {
    td__in_set_free(s);
    return td_err_nomem(err, "building the set of an IN list");
  }
  s->mask = cap - 1;
  bool all_int = true;
  for (int64_t i = 1; i < e->n_args; i++) {
    const td_value *v = &e->args[i]->lit;
    if (v->is_null || v->type == TD_TYPE_NONE) {
      s->has_null = true;
      continue;
    }
    entry en;
    if (!entry_of(v, xt, &en)) continue;
    s->has_dbl |= en.kind == K_DBL;
    all_int &= en.kind == K_INT;
    entry *at = slot(s, &en);
    if (at->kind == K_EMPTY) *at = en;
  }
  if (all_int) { /* the items again, for the batch probe */
    s->ints = td_malloc((s->mask + 1) * sizeof *s->ints);
    if (!s->ints) {
      td__in_set_free(s);
      return td_err_nomem(err, "building the set of an IN list");
    }
    for (uint64_t i = 0; i <= s->mask; i++)
      if (s->t[i].kind == K_INT) s->ints[s->n_ints++] = s->t[i].i;
    if (s->n_ints > 8 && (s->itab = td_malloc((s->mask + 1) * sizeof *s->itab)) == NULL) {
      td__in_set_free(s);
      return td_err_nomem(err, "building the set of an IN list");
    }
    for (uint64_t i = 0; s->itab && i <= s->mask; i++) s->itab[i] = ITAB_EMPTY;
    for (int64_t k = 0; s->itab && k < s->n_ints; k++) {
      int64_t v = s->ints[k];
      if (v == ITAB_EMPTY) {
        s->has_min = true;
        continue;
      }
      uint64_t h = td_mix64((uint64_t)v) & s->mask;
      while (s->itab[h] != ITAB_EMPTY) h = (h + 1) & s->mask;
      s->itab[h] = v;
    }
  }
  *out = s;
  return TD_OK;
}

bool td__in_set_has_ints(const td_in_set *s, const int64_t *x, int64_t n, uint8_t *found) {
  if (!s->ints) return false;
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
  const int64_t *t = s->itab;
  const uint64_t mask = s->mask;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = x[i];
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
  td_free(s->t);
  td_free(s);
}

bool td__in_set_has(const td_in_set *s, const td_value *x) {
  entry en;
  if (!entry_of(x, x->type, &en)) return false;
  if (slot(s, &en)->kind != K_EMPTY) return true;
  if (en.kind != K_INT || !s->has_dbl) return false;
  /* an integer x against float items compares as double */
  en.kind = K_DBL;
  en.f = (double)en.i;
  en.f = en.f == 0 ? 0.0 : en.f;
  return slot(s, &en)->kind != K_EMPTY;
}

bool td__in_set_has_null(const td_in_set *s) { return s->has_null; }
