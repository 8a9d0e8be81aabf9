/*
 * query/vec.h - internal: dense working vectors of the vectorized evaluator
 * and the aggregation/sort kernels.
 *
 * A vec is either a constant or `n` rows in one of four physical layouts:
 * int64 (all integer types and timestamps), float64, bool (one byte per
 * row, 0/1) or utf8 (offsets + bytes).  Validity is one byte per row
 * (1 = valid) or NULL when every row is valid.  Buffers may be borrowed from
 * the input column or owned (listed in own[], freed by td__vec_free).
 */
#ifndef TD_QUERY_VEC_H
#define TD_QUERY_VEC_H

#include <string.h>

#include "query/expr.h"

/* TD_PHYS_D128: decimal128, 16 bytes per row (unscaled; every operand of
 * one operation has the same scale, arranged by the binder). */
typedef enum td_phys { TD_PHYS_I64, TD_PHYS_F64, TD_PHYS_BOOL, TD_PHYS_STR, TD_PHYS_D128 } td_phys;

typedef struct td_vec {
  td_phys ph;
  int64_t n;
  bool is_const;
  td_value c;              /* constant (utf8 borrowed), c.is_null for a null constant */
  const int64_t *i64;
  const double *f64;
  const uint8_t *b8;
  const int32_t *offs;     /* utf8: offsets of row 0.. (view offset applied) */
  const char *strs;
  const uint8_t *d128;     /* decimal128 rows (16 bytes each) */
  const uint8_t *valid;    /* byte per row, or NULL */
  void *own[4];
} td_vec;

td_phys td__phys_of(td_type_id t);
void td__vec_free(td_vec *v);
/* Makes *out a non-constant vec of n rows of phys ph (not TD_PHYS_STR)
 * owning a new values buffer, *values, to fill, and a copy of like's
 * validity (like: a non-constant vec of n rows).  TD_ENOMEM. */
int td__vec_make(td_vec *out, td_phys ph, int64_t n, const td_vec *like, void **values, td_error *err);
/* Loads column `col` of the batch (or its constant) as a vec of `t`'s phys. */
int td__vec_load(const td_batch *b, int64_t col, td_type_id t, td_vec *out, td_error *err);
/* A constant vec of n rows. */
void td__vec_const(td_vec *v, td_phys ph, const td_value *c, int64_t n);
/* Converts an I64 vec to F64 in place (no-op for F64). */
int td__vec_to_f64(td_vec *v, td_error *err);
/* Widens an int64 vec to 128-bit integers (scale 0), in place: a uint64
 * compared with a signed integer; other layouts are TD_ETYPE. */
int td__vec_to_d128(td_vec *v, td_error *err);
/* Makes a constant vec into an array vec (broadcast). */
int td__vec_materialize(td_vec *v, td_error *err);
/* Moves src (its values, validity and owned buffers) into *dst; src is
 * left empty (freeing it frees nothing). */
void td__vec_move(td_vec *dst, td_vec *src);
/* Ends a function's whole-batch hook (func.h) that filled `out`: sets *done,
 * or when `undecided` (a row it cannot compute exactly) frees `out` and
 * leaves the batch to the row function.  TD_OK. */
static inline int td__vec_done(td_vec *out, bool undecided, bool *done) {
  if (undecided) td__vec_free(out);
  else *done = true;
  return TD_OK;
}
/* Takes ownership of a buffer (freed with the vec). */
void td__vec_own(td_vec *v, void *p);
/* Whether row i is valid. */
static inline bool td__vec_valid(const td_vec *v, int64_t i) {
  if (v->is_const) return !v->c.is_null;
  return !v->valid || v->valid[i];
}
/* Row i as a td_value of type t. */
td_value td__vec_value(const td_vec *v, int64_t i, td_type_id t);
/* LOOP(T, oper) specialised for the comparison `op` (a td_op in scope, one
 * of the six; TD_OP_GE is the default). */
#define OP_SWITCH(LOOP, T)             \
  switch (op) {                        \
    case TD_OP_EQ: LOOP(T, ==); break; \
    case TD_OP_NE: LOOP(T, !=); break; \
    case TD_OP_LT: LOOP(T, <); break;  \
    case TD_OP_LE: LOOP(T, <=); break; \
    case TD_OP_GT: LOOP(T, >); break;  \
    default: LOOP(T, >=); break;       \
  }
/* The rows of `in` (or 0..n) of the integer column view c (int8..int64,
 * uint8..uint32, int32/int64 temporal; no codes) whose value, as an int64,
 * stands in relation op (TD_OP_EQ..TD_OP_GE) to cv, into out (sorted, as
 * many as n); null rows never pass.  Exactly the rows of the widened
 * int64 vec compared with cv.  false (nothing written) for another type or
 * op (query/sel_int.c). */
bool td__sel_int_column(td_op op, const td_colview *c, int64_t cv, const uint32_t *in, int64_t n, uint32_t *out,
                        int64_t *n_out);

/* The vectorized evaluator (eval.c): e over every row of b into out (which
 * may be constant or borrow b's buffers). */
int td__expr_ev(const td_expr *e, const td_batch *b, td_vec *out, td_error *err);
/* When e (neither a column nor a literal) reads one column only, that
 * column of b arrives as dictionary codes and the dictionary has no more
 * entries than b has rows: e evaluated once per entry and once for a null
 * row, gathered by code into out (*done set).  A failing entry (one no row
 * may use) leaves *done false and reports nothing: the caller evaluates the
 * rows.  Errors: TD_ENOMEM, TD_ERANGE past 2 GiB of strings
 * (query/dict_eval.c). */
int td__dict_eval_vec(const td_expr *e, const td_batch *b, td_vec *out, bool *done, td_error *err);
/* The same for a text answer, as a view: the rows keep the column's codes,
 * into a dictionary of e's answers over its entries (made once per
 * dictionary and thread), so that a group-by on e groups on codes.  Only
 * when every entry answers a string and a null row answers null (else
 * *done stays false).  *out borrows the column's codes and validity and
 * *keep, a reference to the answers' dictionary the caller releases once
 * it is done with *out.  Errors: TD_ENOMEM. */
int td__dict_eval_view(const td_expr *e, const td_batch *b, td_colview *out, struct td_dict **keep, bool *done,
                       td_error *err);
/* Tests: batches evaluated through td__dict_eval_vec, and through
 * td__dict_eval_view, since the process started. */
int64_t td__dict_eval_stats(void);
int64_t td__dict_view_stats(void);

/* 64 bits of an Arrow bitmap from bit `pos` (the 64 bits lie inside it). */
static inline uint64_t td__bits64(const uint8_t *bits, int64_t pos) {
  const uint8_t *p = bits + (pos >> 3);
  int sh = (int)(pos & 7);
  uint64_t w = 0;
  for (int i = 0; i < 8; i++) w |= (uint64_t)p[i] << (8 * i);
  if (sh) w = (w >> sh) | ((uint64_t)p[8] << (64 - sh));
  return w;
}

/* 64 bytes, each 0 or 1, as 64 bits (byte 0 lowest): eight bytes a
 * multiply each. */
static inline uint64_t td__pack64(const uint8_t *b) {
  uint64_t m = 0;
  for (int t = 0; t < 8; t++) {
    uint64_t x;
    memcpy(&x, b + 8 * t, 8);
    m |= ((x * 0x0102040810204080ull) >> 56) << (8 * t);
  }
  return m;
}

/* Writes base + the position of every set bit of m to out[k..]; the new k. */
static inline int64_t td__sel_bits(uint64_t m, uint32_t base, uint32_t *out, int64_t k) {
  while (m) {
    out[k++] = base + (uint32_t)__builtin_ctzll(m);
    m &= m - 1;
  }
  return k;
}

#endif
