/*
 * query/eval.c - vectorized evaluation of bound expressions over batches.
 *
 * Each node is evaluated once per batch into a td_vec by a type-specialized
 * loop over all rows (no per-row dispatch on node kind).  Predicates have a
 * selection-vector path: comparisons of a column with a constant write row
 * indices in a branch-free loop, AND narrows a selection, OR merges two.
 */
#include <string.h>

#include "query/eval_cond.h"
#include "query/func.h"
#include "query/inset.h"
#include "query/scalar.h"
#include "query/vec.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

static int ev(const td_expr *e, const td_batch *b, td_vec *out, td_error *err);

static void *new_rows(td_vec *v, int64_t n, size_t width, td_error *err) {
  void *p = td_malloc((size_t)(n > 0 ? n : 1) * width);
  if (!p) td_err_nomem(err, "allocating an evaluation vector");
  else td__vec_own(v, p);
  return p;
}

/* out->valid = a.valid & b.valid (either may be a constant or NULL). */
static int combine_valid(td_vec *out, const td_vec *a, const td_vec *b, td_error *err) {
  const uint8_t *x = a && !a->is_const ? a->valid : NULL;
  const uint8_t *y = b && !b->is_const ? b->valid : NULL;
  if (!x && !y) return TD_OK;
  uint8_t *v = new_rows(out, out->n, 1, err);
  if (!v) return TD_ENOMEM;
  if (x && y)
    for (int64_t i = 0; i < out->n; i++) v[i] = x[i] & y[i];
  else
    memcpy(v, x ? x : y, (size_t)out->n);
  out->valid = v;
  return TD_OK;
}

static void start(td_vec *out, td_phys ph, int64_t n) {
  memset(out, 0, sizeof *out);
  out->ph = ph;
  out->n = n;
}

/* Data pointer of a vec with an index mask: constants read slot 0. */
typedef struct operand {
  const void *p;
  int64_t mask;
  union {
    int64_t i;
    double f;
    uint8_t b;
  } c;
} operand;

static void operand_of(const td_vec *v, operand *o) {
  o->mask = v->is_const ? 0 : -1;
  switch (v->ph) {
    case TD_PHYS_I64: o->c.i = v->is_const ? v->c.v.i : 0; o->p = v->is_const ? (void *)&o->c.i : v->i64; break;
    case TD_PHYS_F64: o->c.f = v->is_const ? v->c.v.f : 0; o->p = v->is_const ? (void *)&o->c.f : v->f64; break;
    case TD_PHYS_BOOL: o->c.b = v->is_const && v->c.v.b; o->p = v->is_const ? (void *)&o->c.b : v->b8; break;
    case TD_PHYS_STR: o->p = NULL; break;
    case TD_PHYS_D128: o->p = NULL; break; /* read with d128_at */
  }
}

/* Row i of a decimal128 vec (constants: their value). */
static inline td_i128 d128_at(const td_vec *v, int64_t i) {
  return v->is_const ? td_dec_of(&v->c) : td_dec_load(v->d128 + i * 16);
}

static void cmp_d128(td_op op, const td_vec *l, const td_vec *rt, uint8_t *r, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    td_i128 a = d128_at(l, i), b_ = d128_at(rt, i);
    int c = (a > b_) - (a < b_);
    switch (op) {
      case TD_OP_EQ: r[i] = c == 0; break;
      case TD_OP_NE: r[i] = c != 0; break;
      case TD_OP_LT: r[i] = c < 0; break;
      case TD_OP_LE: r[i] = c <= 0; break;
      case TD_OP_GT: r[i] = c > 0; break;
      case TD_OP_GE: r[i] = c >= 0; break;
      default: r[i] = 0; break;
    }
  }
}

/* ---- arithmetic ---- */

#define ARITH_LOOP(T, EXPR)                                          \
  do {                                                               \
    const T *A = x.p, *B = y.p;                                      \
    T *R = r;                                                        \
    for (int64_t i = 0; i < n; i++) {                                \
      T a = A[i & x.mask], b_ = B[i & y.mask];                       \
      R[i] = EXPR;                                                   \
    }                                                                \
  } while (0)

/* Integer + - *: each row checked with the compiler's overflow builtins,
 * one flag for the whole loop. */
#define OVF_LOOP(FN)                                                 \
  do {                                                               \
    const int64_t *A = x.p, *B = y.p;                                \
    int64_t *R = r;                                                  \
    unsigned o_ = 0;                                                 \
    for (int64_t i = 0; i < n; i++) o_ |= FN(A[i & x.mask], B[i & y.mask], &R[i]); \
    ovf = o_ != 0;                                                   \
  } while (0)

static bool int_overflows(td_op op, int64_t a, int64_t b) {
  int64_t r;
  if (op == TD_OP_ADD) return __builtin_add_overflow(a, b, &r);
  if (op == TD_OP_SUB) return __builtin_sub_overflow(a, b, &r);
  if (op == TD_OP_MUL) return __builtin_mul_overflow(a, b, &r);
  return __builtin_sub_overflow((int64_t)0, b, &r); /* NEG of b */
}

/* After a loop flagged an overflow: whether one of the rows that matter
 * (valid, and in b->sel when the caller gave one) overflowed; rows that are
 * null or filtered out hold arbitrary values. */
static bool overflow_matters(td_op op, const operand *x, const operand *y, const uint8_t *valid,
                             const td_batch *b) {
  const int64_t *A = x->p, *B = y->p;
  int64_t n = b->sel ? b->n_sel : b->length;
  for (int64_t j = 0; j < n; j++) {
    int64_t i = b->sel ? (int64_t)b->sel[j] : j;
    if ((!valid || valid[i]) && int_overflows(op, A[i & x->mask], B[i & y->mask])) return true;
  }
  return false;
}

static int arith(const td_expr *e, const td_batch *b, td_vec *l, td_vec *rt, td_vec *out, td_error *err) {
  td_op op = e->op;
  td_type_id type = e->type;
  int64_t n = l->n;
  if (type == TD_TYPE_FLOAT64) {
    int rc = td__vec_to_f64(l, err);
    if (!rc) rc = td__vec_to_f64(rt, err);
    if (rc) return rc;
  }
  start(out, td__phys_of(type), n);
  int rc = combine_valid(out, l, rt, err);
  if (rc) return rc;
  void *r = new_rows(out, n, 8, err);
  if (!r) return TD_ENOMEM;
  operand x, y;
  operand_of(l, &x);
  operand_of(rt, &y);
  if (td__int_result(type) && op == TD_OP_DIV) { /* a span / an integer */
    out->i64 = r;
    const int64_t *A = x.p, *B = y.p;
    int64_t zeros = 0;
    unsigned ovf = 0;
    for (int64_t i = 0; i < n; i++) {
      int k = td__span_div(A[i & x.mask], B[i & y.mask], (int64_t *)r + i);
      zeros += k == 1;
      ovf |= k == 2;
    }
    if (ovf) { /* INT64_MIN / -1 in a row that matters */
      int64_t m = b->sel ? b->n_sel : b->length;
      for (int64_t j = 0; j < m; j++) {
        int64_t i = b->sel ? (int64_t)b->sel[j] : j;
        if ((!out->valid || out->valid[i]) && A[i & x.mask] == INT64_MIN && B[i & y.mask] == -1)
          return td__overflow_error(e, err);
      }
    }
    if (zeros) { /* x / 0 is NULL */
      uint8_t *v = (uint8_t *)out->valid;
      if (!v) {
        if (!(v = new_rows(out, n, 1, err))) return TD_ENOMEM;
        memset(v, 1, (size_t)n);
        out->valid = v;
      }
      for (int64_t i = 0; i < n; i++) v[i] &= B[i & y.mask] != 0;
    }
    return TD_OK;
  }
  if (td__int_result(type)) { /* int64, and spans and timestamps (bind_span_arith) */
    out->i64 = r;
    bool ovf;
    if (op == TD_OP_ADD) OVF_LOOP(__builtin_add_overflow);
    else if (op == TD_OP_SUB) OVF_LOOP(__builtin_sub_overflow);
    else OVF_LOOP(__builtin_mul_overflow);
    if (ovf && overflow_matters(op, &x, &y, out->valid, b)) return td__overflow_error(e, err);
    return TD_OK;
  }
  out->f64 = r;
  if (op == TD_OP_ADD) ARITH_LOOP(double, a + b_);
  else if (op == TD_OP_SUB) ARITH_LOOP(double, a - b_);
  else if (op == TD_OP_MUL) ARITH_LOOP(double, a * b_);
  else {
    ARITH_LOOP(double, b_ != 0 ? a / b_ : 0);
    const double *B = y.p;
    int64_t zeros = 0;
    for (int64_t i = 0; i < n; i++) zeros += B[i & y.mask] == 0;
    if (zeros) { /* x / 0 is NULL */
      uint8_t *v = (uint8_t *)out->valid;
      if (!v) {
        v = new_rows(out, n, 1, err);
        if (!v) return TD_ENOMEM;
        memset(v, 1, (size_t)n);
        out->valid = v;
      }
      for (int64_t i = 0; i < n; i++) v[i] &= B[i & y.mask] != 0;
    }
  }
  return TD_OK;
}

/* ---- comparisons ---- */

#define CMP_LOOP(T, OPER)                                              \
  do {                                                                 \
    const T *A = x.p, *B = y.p;                                        \
    for (int64_t i = 0; i < n; i++) r[i] = A[i & x.mask] OPER B[i & y.mask]; \
  } while (0)

#define CMP_SWITCH(T) OP_SWITCH(CMP_LOOP, T)

/* Brings two comparable vecs to the same physical layout. */
static int unify(td_vec *l, td_vec *r, td_error *err) {
  if (l->ph == r->ph) return TD_OK;
  /* the binder lets only uint64 (scale 0) meet a signed integer this way */
  if (l->ph == TD_PHYS_D128 && r->ph == TD_PHYS_I64) return td__vec_to_d128(r, err);
  if (r->ph == TD_PHYS_D128 && l->ph == TD_PHYS_I64) return td__vec_to_d128(l, err);
  int rc = td__vec_to_f64(l, err);
  return rc ? rc : td__vec_to_f64(r, err);
}

/* Three-way byte order of a and b (td_value_compare's string order). */
static inline int str_order(const char *a, size_t al, const char *b, size_t bl) {
  size_t m = al < bl ? al : bl;
  int c = m ? memcmp(a, b, m) : 0;
  if (c) return c < 0 ? -1 : 1;
  return (al > bl) - (al < bl);
}

/* A string column against a constant (`col OP c`): no per-row values built,
 * equality decided on the length first; null rows give 0. */
static void cmp_strings_const(td_op op, const td_vec *v, const td_value *c, uint8_t *r, int64_t n) {
  const int32_t *o = v->offs;
  const char *s = v->strs, *cp = c->v.s.ptr;
  size_t cl = c->v.s.len;
  if (op == TD_OP_EQ || op == TD_OP_NE) {
    uint8_t eq = op == TD_OP_EQ;
    if (cl == 0) {
      for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)((o[i + 1] == o[i]) == eq);
    } else {
      /* Same length, then the last byte (where similar values tend to
       * differ), then the rest. */
      char last = cp[cl - 1];
      for (int64_t i = 0; i < n; i++) {
        size_t len = (size_t)(o[i + 1] - o[i]);
        r[i] = (uint8_t)((len == cl && s[o[i + 1] - 1] == last && memcmp(s + o[i], cp, cl - 1) == 0) == eq);
      }
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      int k = str_order(s + o[i], (size_t)(o[i + 1] - o[i]), cp, cl);
      r[i] = op == TD_OP_LT ? k < 0 : op == TD_OP_LE ? k <= 0 : op == TD_OP_GT ? k > 0 : k >= 0;
    }
  }
  if (v->valid)
    for (int64_t i = 0; i < n; i++) r[i] &= v->valid[i];
}

static void cmp_strings(td_op op, const td_vec *l, const td_vec *rt, uint8_t *r, int64_t n) {
  if (!l->is_const && rt->is_const && !rt->c.is_null) {
    cmp_strings_const(op, l, &rt->c, r, n);
    return;
  }
  if (l->is_const && !l->c.is_null && !rt->is_const) {
    cmp_strings_const(td_op_mirror(op), rt, &l->c, r, n);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    td_value a = td__vec_value(l, i, TD_TYPE_UTF8), b_ = td__vec_value(rt, i, TD_TYPE_UTF8), o;
    if (a.is_null || b_.is_null) {
      r[i] = 0;
      continue;
    }
    td__scalar_binary(op, TD_TYPE_BOOL, &a, &b_, &o);
    r[i] = o.v.b;
  }
}

static bool is_null_const(const td_vec *v) { return v->is_const && v->c.is_null; }

/* l OP r into a bool vec; both may be constants (not both). */
static int compare(td_op op, td_vec *l, td_vec *rt, td_vec *out, td_error *err) {
  int64_t n = l->n;
  int rc = unify(l, rt, err);
  if (rc) return rc;
  start(out, TD_PHYS_BOOL, n);
  rc = combine_valid(out, l, rt, err);
  if (rc) return rc;
  uint8_t *r = new_rows(out, n, 1, err);
  if (!r) return TD_ENOMEM;
  out->b8 = r;
  operand x, y;
  operand_of(l, &x);
  operand_of(rt, &y);
  switch (l->ph) {
    case TD_PHYS_I64: CMP_SWITCH(int64_t); break;
    case TD_PHYS_F64: CMP_SWITCH(double); break;
    case TD_PHYS_BOOL: CMP_SWITCH(uint8_t); break;
    case TD_PHYS_STR: cmp_strings(op, l, rt, r, n); break;
    case TD_PHYS_D128: cmp_d128(op, l, rt, r, n); break;
  }
  return TD_OK;
}

/* Evaluates both operands of a binary node; *done is set when the result is
 * a constant (both constant, or a null constant operand). */
static int binary_consts(const td_expr *e, td_vec *l, td_vec *r, td_vec *out, bool *done, td_error *err) {
  *done = false;
  if (e->op != TD_OP_AND && e->op != TD_OP_OR && (is_null_const(l) || is_null_const(r))) {
    td_value nul = td_value_null(e->type);
    td__vec_const(out, td__phys_of(e->type), &nul, l->n);
    *done = true;
  } else if (l->is_const && r->is_const) {
    td_value v;
    if (e->op == TD_OP_AND || e->op == TD_OP_OR) v = td__scalar_logic(e->op, &l->c, &r->c);
    else if (!td__scalar_binary(e->op, e->type, &l->c, &r->c, &v)) return td__overflow_error(e, err);
    td__vec_const(out, td__phys_of(e->type), &v, l->n);
    *done = true;
  }
  return TD_OK;
}

/* ---- logic ---- */

/* 3-valued AND/OR over bool vecs (constants broadcast). */
static int logic(td_op op, td_vec *l, td_vec *rt, td_vec *out, td_error *err) {
  if (l->is_const) l->ph = TD_PHYS_BOOL; /* an untyped NULL literal */
  if (rt->is_const) rt->ph = TD_PHYS_BOOL;
  int rc = td__vec_materialize(l, err);
  if (!rc) rc = td__vec_materialize(rt, err);
  if (rc) return rc;
  int64_t n = l->n;
  start(out, TD_PHYS_BOOL, n);
  uint8_t *r = new_rows(out, n, 1, err);
  if (!r) return TD_ENOMEM;
  out->b8 = r;
  const uint8_t *a = l->b8, *b = rt->b8, *va = l->valid, *vb = rt->valid;
  if (!va && !vb) {
    if (op == TD_OP_AND)
      for (int64_t i = 0; i < n; i++) r[i] = a[i] & b[i];
    else
      for (int64_t i = 0; i < n; i++) r[i] = a[i] | b[i];
    return TD_OK;
  }
  uint8_t *v = new_rows(out, n, 1, err);
  if (!v) return TD_ENOMEM;
  out->valid = v;
  uint8_t dom = op == TD_OP_OR; /* the value that decides alone */
  for (int64_t i = 0; i < n; i++) {
    uint8_t av = va ? va[i] : 1, bv = vb ? vb[i] : 1;
    uint8_t decided = (av & (a[i] == dom)) | (bv & (b[i] == dom));
    r[i] = decided ? dom : (uint8_t)!dom;
    v[i] = decided | (av & bv);
  }
  return TD_OK;
}

static int not_vec(td_vec *a, td_vec *out, td_error *err) {
  if (a->is_const) {
    td_value v = td__scalar_logic(TD_OP_NOT, &a->c, NULL);
    td__vec_const(out, TD_PHYS_BOOL, &v, a->n);
    return TD_OK;
  }
  start(out, TD_PHYS_BOOL, a->n);
  int rc = combine_valid(out, a, NULL, err);
  uint8_t *r = rc ? NULL : new_rows(out, a->n, 1, err);
  if (!r) return TD_ENOMEM;
  for (int64_t i = 0; i < a->n; i++) r[i] = !a->b8[i];
  out->b8 = r;
  return TD_OK;
}

static int is_null(const td_expr *e, td_vec *a, td_vec *out, td_error *err) {
  if (a->is_const || !a->valid) {
    td_value v = td_value_bool((a->is_const && a->c.is_null) != e->negated);
    td__vec_const(out, TD_PHYS_BOOL, &v, a->n);
    return TD_OK;
  }
  start(out, TD_PHYS_BOOL, a->n);
  uint8_t *r = new_rows(out, a->n, 1, err);
  if (!r) return TD_ENOMEM;
  uint8_t flip = !e->negated;
  for (int64_t i = 0; i < a->n; i++) r[i] = a->valid[i] ^ flip;
  out->b8 = r;
  return TD_OK;
}

/* ---- node dispatch (once per node per batch) ---- */

static int ev_binary(const td_expr *e, const td_batch *b, td_vec *out, td_error *err) {
  td_vec l, r;
  int rc = ev(e->args[0], b, &l, err);
  if (rc) return rc;
  rc = ev(e->args[1], b, &r, err);
  if (rc) {
    td__vec_free(&l);
    return rc;
  }
  bool done;
  rc = binary_consts(e, &l, &r, out, &done, err);
  if (!rc && !done) {
    if (e->op == TD_OP_AND || e->op == TD_OP_OR) rc = logic(e->op, &l, &r, out, err);
    else if (e->op <= TD_OP_DIV) rc = arith(e, b, &l, &r, out, err);
    else rc = compare(e->op, &l, &r, out, err);
    if (rc) td__vec_free(out);
  }
  td__vec_free(&l);
  td__vec_free(&r);
  return rc;
}

/* x IN (literals) through the node's hash set: one lookup per row. */
static int ev_in_set(const td_expr *e, td_vec *x, td_vec *out, td_error *err) {
  const td_in_set *s = e->in_set;
  bool has_null = td__in_set_has_null(s);
  td_type_id xt = e->args[0]->type;
  /* found: TRUE; else NULL when x or an item is NULL; else FALSE */
  if (x->is_const) {
    td_value v = x->c.is_null ? td_value_null(TD_TYPE_BOOL)
                 : td__in_set_has(s, &x->c) ? td_value_bool(!e->negated)
                 : has_null ? td_value_null(TD_TYPE_BOOL)
                            : td_value_bool(e->negated);
    td__vec_const(out, TD_PHYS_BOOL, &v, x->n);
    return TD_OK;
  }
  int64_t n = x->n;
  start(out, TD_PHYS_BOOL, n);
  uint8_t *r = new_rows(out, n, 1, err);
  uint8_t *v = r && (has_null || x->valid) ? new_rows(out, n, 1, err) : NULL;
  if (!r || ((has_null || x->valid) && !v)) return TD_ENOMEM;
  if (x->ph == TD_PHYS_I64 && td__in_set_has_ints(s, x->i64, n, r)) { /* found into r */
    for (int64_t i = 0; i < n; i++) {
      uint8_t valid = !x->valid || x->valid[i], found = r[i] & valid;
      r[i] = found ^ (uint8_t)e->negated;
      if (v) v[i] = found | (valid & !has_null);
    }
    out->b8 = r;
    out->valid = v;
    return TD_OK;
  }
  for (int64_t i = 0; i < n; i++) {
    bool valid = !x->valid || x->valid[i], found = false;
    if (valid) {
      td_value xv = td__vec_value(x, i, xt);
      found = td__in_set_has(s, &xv);
    }
    r[i] = found != e->negated;
    if (v) v[i] = found || (valid && !has_null);
  }
  out->b8 = r;
  out->valid = v;
  return TD_OK;
}

/* x IN (a, b, ...) == x = a OR x = b OR ...; NOT IN negates that. */
static int ev_in(const td_expr *e, const td_batch *b, td_vec *out, td_error *err) {
  td_vec x, acc;
  int rc = ev(e->args[0], b, &x, err);
  if (rc) return rc;
  if (e->in_set) {
    rc = ev_in_set(e, &x, out, err);
    if (rc) td__vec_free(out);
    td__vec_free(&x);
    return rc;
  }
  td_value f = td_value_bool(false);
  td__vec_const(&acc, TD_PHYS_BOOL, &f, b->length);
  for (int64_t i = 1; !rc && i < e->n_args; i++) {
    td_vec item, eq, next;
    memset(&eq, 0, sizeof eq);
    memset(&next, 0, sizeof next);
    rc = ev(e->args[i], b, &item, err);
    if (rc) break;
    if (is_null_const(&x) || is_null_const(&item) || (x.is_const && item.is_const)) {
      td_value v;
      td__scalar_binary(TD_OP_EQ, TD_TYPE_BOOL, &x.c, &item.c, &v);
      td__vec_const(&eq, TD_PHYS_BOOL, &v, b->length);
    } else {
      rc = compare(TD_OP_EQ, &x, &item, &eq, err);
    }
    if (!rc) {
      if (acc.is_const && eq.is_const) {
        td_value v = td__scalar_logic(TD_OP_OR, &acc.c, &eq.c);
        td__vec_const(&next, TD_PHYS_BOOL, &v, b->length);
      } else {
        rc = logic(TD_OP_OR, &acc, &eq, &next, err);
      }
    }
    td__vec_free(&item);
    td__vec_free(&eq);
    td__vec_free(&acc);
    if (rc) td__vec_free(&next);
    else acc = next;
  }
  td__vec_free(&x);
  if (rc) {
    td__vec_free(&acc);
    return rc;
  }
  if (!e->negated) {
    *out = acc;
    return TD_OK;
  }
  rc = not_vec(&acc, out, err);
  td__vec_free(&acc);
  return rc;
}

static int ev_neg(const td_expr *e, const td_batch *b, td_vec *a, td_vec *out, td_error *err) {
  if (a->is_const) {
    bool overflow = false;
    td_value v = td__scalar_neg(e->type, &a->c, &overflow);
    if (overflow) return td__overflow_error(e, err);
    td__vec_const(out, td__phys_of(e->type), &v, a->n);
    return TD_OK;
  }
  start(out, a->ph, a->n);
  int rc = combine_valid(out, a, NULL, err);
  void *r = rc ? NULL : new_rows(out, a->n, 8, err);
  if (!r) return TD_ENOMEM;
  if (a->ph == TD_PHYS_I64) {
    int64_t *d = r;
    unsigned o_ = 0;
    for (int64_t i = 0; i < a->n; i++) o_ |= __builtin_sub_overflow((int64_t)0, a->i64[i], &d[i]);
    out->i64 = d;
    operand x;
    operand_of(a, &x);
    if (o_ && overflow_matters(TD_OP_NEG, &x, &x, out->valid, b)) return td__overflow_error(e, err);
  } else {
    double *d = r;
    for (int64_t i = 0; i < a->n; i++) d[i] = -a->f64[i];
    out->f64 = d;
  }
  return TD_OK;
}

static int ev_unary(const td_expr *e, const td_batch *b, td_vec *out, td_error *err) {
  td_vec a;
  int rc = ev(e->args[0], b, &a, err);
  if (rc) return rc;
  if (e->kind == TD_EXPR_IS_NULL) rc = is_null(e, &a, out, err);
  else if (e->op == TD_OP_NOT) rc = not_vec(&a, out, err);
  else rc = ev_neg(e, b, &a, out, err);
  if (rc) td__vec_free(out);
  td__vec_free(&a);
  return rc;
}

/* ---- registered functions (func.h): arguments as vectors, then row by row ---- */

typedef struct fn_out {
  int64_t *i64;
  double *f64;
  uint8_t *b8, *valid, *d128;
  int32_t *offs;
  td_fbuf strs;
} fn_out;

static int fn_store(const td_expr *e, fn_out *o, int64_t i, const td_value *r, td_error *err) {
  bool null = r->is_null || r->type == TD_TYPE_NONE;
  o->valid[i] = !null;
  switch (td__phys_of(e->type)) {
    case TD_PHYS_I64: o->i64[i] = null ? 0 : td_type_is_float(r->type) ? (int64_t)r->v.f : r->v.i; break;
    case TD_PHYS_F64: o->f64[i] = null ? 0 : td__value_double(r); break;
    case TD_PHYS_BOOL: o->b8[i] = !null && r->v.b; break;
    case TD_PHYS_D128: td_dec_store(o->d128 + i * 16, null ? (td_i128)0 : td_dec_of(r)); break;
    case TD_PHYS_STR: {
      int rc = null ? TD_OK : td__fbuf_put(&o->strs, r->v.s.ptr, r->v.s.len, err);
      if (rc) return rc;
      if (o->strs.len > INT32_MAX)
        return td_err(err, TD_ERANGE, "a string result exceeds 2 GiB in one batch");
      o->offs[i + 1] = (int32_t)o->strs.len;
      break;
    }
  }
  return TD_OK;
}

static int ev_func(const td_expr *e, const td_batch *b, td_vec *out, td_error *err) {
  int64_t n = b->length, k = e->n_args;
  td_vec *a = td_calloc((size_t)(k ? k : 1), sizeof *a);
  td_value *vals = td_calloc((size_t)(k ? k : 1), sizeof *vals);
  td_fbuf scratch = {0};
  fn_out o;
  memset(&o, 0, sizeof o);
  int rc = a && vals ? TD_OK : td_err_nomem(err, "evaluating a function");
  int64_t done = 0;
  for (; !rc && done < k; done++) rc = ev(e->args[done], b, &a[done], err);
  bool whole = false; /* the function's batch hook computed every row */
  if (!rc && e->fn->vec && (rc = e->fn->vec(e, a, n, out, &whole, err)) == TD_OK && whole) {
    for (int64_t t = 0; t < done; t++) td__vec_free(&a[t]);
    td_free(a);
    td_free(vals);
    return TD_OK;
  }
  td_phys ph = td__phys_of(e->type);
  start(out, ph, n);
  if (!rc) {
    o.valid = new_rows(out, n, 1, err);
    void *data = !o.valid ? NULL
                 : ph == TD_PHYS_STR ? new_rows(out, n + 1, sizeof(int32_t), err)
                 : new_rows(out, n, ph == TD_PHYS_BOOL ? 1 : ph == TD_PHYS_D128 ? 16 : 8, err);
    rc = data ? TD_OK : TD_ENOMEM;
    if (!rc) {
      if (ph == TD_PHYS_I64) out->i64 = o.i64 = data;
      else if (ph == TD_PHYS_F64) out->f64 = o.f64 = data;
      else if (ph == TD_PHYS_BOOL) out->b8 = o.b8 = data;
      else if (ph == TD_PHYS_D128) out->d128 = o.d128 = data;
      else out->offs = o.offs = data;
      out->valid = o.valid;
      if (o.offs) o.offs[0] = 0;
    }
  }
  /* Only the rows that matter (b->sel) are computed: an error in a row a
   * filter dropped is not reported; the others are null. */
  int64_t m = b->sel ? b->n_sel : n, prev = -1;
  for (int64_t j = 0; !rc && j < m; j++) {
    int64_t i = b->sel ? (int64_t)b->sel[j] : j;
    td_value null = td_value_null(e->type);
    for (int64_t r = prev + 1; !rc && r < i; r++) rc = fn_store(e, &o, r, &null, err);
    prev = i;
    bool any_null = false;
    for (int64_t t = 0; t < k; t++) {
      vals[t] = td__vec_value(&a[t], i, e->args[t]->type);
      any_null |= vals[t].is_null || vals[t].type == TD_TYPE_NONE;
    }
    td_value r;
    scratch.len = 0;
    if (rc) break;
    if (any_null && e->fn->null_in_null_out) r = td_value_null(e->type);
    else rc = e->fn->row(e, vals, &r, &scratch, err);
    if (!rc) rc = fn_store(e, &o, i, &r, err);
  }
  td_value null = td_value_null(e->type);
  for (int64_t r = prev + 1; !rc && r < n; r++) rc = fn_store(e, &o, r, &null, err);
  if (!rc && ph == TD_PHYS_STR) {
    if (!o.strs.p && !(o.strs.p = td_malloc(1))) rc = td_err_nomem(err, "evaluating a function");
    if (!rc) {
      td__vec_own(out, o.strs.p);
      out->strs = o.strs.p;
      o.strs.p = NULL;
    }
  }
  for (int64_t t = 0; t < done; t++) td__vec_free(&a[t]);
  td_free(a);
  td_free(vals);
  td_free(scratch.p);
  td_free(o.strs.p);
  if (rc) td__vec_free(out);
  return rc;
}

static int ev(const td_expr *e, const td_batch *b, td_vec *out, td_error *err) {
  memset(out, 0, sizeof *out);
  if (e->kind != TD_EXPR_COLUMN && e->kind != TD_EXPR_LITERAL) { /* of one dictionary column: once per entry */
    bool done;
    int rc = td__dict_eval_vec(e, b, out, &done, err);
    if (rc || done) return rc;
  }
  if (e->fn) {
    bool cond_done; /* CASE, coalesce: each argument over its own rows (eval_cond.c) */
    int rc = td__cond_eval_vec(e, b, out, &cond_done, err);
    return rc || cond_done ? rc : ev_func(e, b, out, err);
  }
  switch (e->kind) {
    case TD_EXPR_LITERAL: td__vec_const(out, td__phys_of(e->type), &e->lit, b->length); return TD_OK;
    case TD_EXPR_COLUMN: return td__vec_load(b, e->column, e->type, out, err);
    case TD_EXPR_UNARY:
    case TD_EXPR_IS_NULL: return ev_unary(e, b, out, err);
    case TD_EXPR_BINARY: return ev_binary(e, b, out, err);
    case TD_EXPR_IN: return ev_in(e, b, out, err);
    default: break;
  }
  return td_err_at(err, TD_EINVAL, e->pos,
                   "%s at offset %lld cannot be evaluated per row (bind it first; aggregates are "
                   "computed by the aggregation operator)",
                   e->kind == TD_EXPR_CALL ? "an aggregate call" : "an unbound BETWEEN",
                   (long long)e->pos);
}

/* ---- results as arrays ---- */

#define NARROW_LOOP(T)                                                  \
  do {                                                                  \
    T *d = (T *)a->values;                                              \
    for (int64_t i = 0; i < n; i++) d[i] = (T)v->i64[i & m];             \
  } while (0)

static void store_ints(const td_vec *v, td_array *a, int64_t n, int64_t m) {
  switch (a->type) {
    case TD_TYPE_INT8: NARROW_LOOP(int8_t); break;
    case TD_TYPE_INT16: NARROW_LOOP(int16_t); break;
    case TD_TYPE_UINT16: NARROW_LOOP(uint16_t); break;
    case TD_TYPE_UINT8: NARROW_LOOP(uint8_t); break;
    case TD_TYPE_UINT32: NARROW_LOOP(uint32_t); break;
    case TD_TYPE_INT32:
    case TD_TYPE_DATE32:
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS: NARROW_LOOP(int32_t); break;
    default: NARROW_LOOP(int64_t); break;
  }
}

static void pack_bytes(const uint8_t *bytes, int64_t m, int64_t n, uint8_t *bits) {
  memset(bits, 0, (size_t)((n + 7) / 8));
  for (int64_t i = 0; i < n; i++) bits[i >> 3] |= (uint8_t)((bytes[i & m] & 1) << (i & 7));
}

static int store_strings(const td_vec *v, td_array *a, int64_t n, td_error *err) {
  if (v->is_const) {
    for (int64_t i = 0; i < n; i++) {
      int rc = td__vec_valid(v, i) ? td_array_append_str(a, v->c.v.s.ptr, (int64_t)v->c.v.s.len, err)
                                   : td_array_append_null(a, err);
      if (rc) return rc;
    }
    return TD_OK;
  }
  int64_t base = n ? v->offs[0] : 0, bytes = n ? v->offs[n] - base : 0;
  int rc = td_array_reserve_data(a, bytes, err);
  if (rc) return rc;
  if (bytes) memcpy(a->data, v->strs + base, (size_t)bytes);
  for (int64_t i = 0; i <= n; i++) a->offsets[i] = v->offs[i] - (int32_t)base;
  a->data_length = bytes;
  a->length = n;
  return TD_OK;
}

static int store_validity(const td_vec *v, td_array *a, int64_t n, td_error *err) {
  const uint8_t *valid = v->is_const ? NULL : v->valid;
  uint8_t zero = 0;
  if (v->is_const && v->c.is_null) valid = &zero;
  if (!valid || a->validity) return TD_OK; /* const strings set nulls while appending */
  int64_t m = v->is_const ? 0 : -1;
  a->validity = td_malloc((size_t)((a->capacity + 7) / 8));
  if (!a->validity) return td_err_nomem(err, "allocating a validity bitmap");
  memset(a->validity, 0xff, (size_t)((a->capacity + 7) / 8));
  pack_bytes(valid, m, n, a->validity);
  a->null_count = n - td_bits_count(a->validity, 0, n);
  return TD_OK;
}

/* The values buffer of v, of 8-byte values (I64 or F64) when type stores
 * them as they are, taken from v's owned buffers (v no longer frees it);
 * NULL when v does not own one such. */
static void *take_values(td_vec *v, td_type_id type, int64_t n) {
  const void *p = v->is_const ? NULL : v->ph == TD_PHYS_I64 ? (const void *)v->i64 : v->ph == TD_PHYS_F64 ? (const void *)v->f64 : NULL;
  if (!p || n < 1 || td_type_width(type) != 8 || (v->ph == TD_PHYS_F64) != td_type_is_float(type)) return NULL;
  for (int i = 0; i < 4; i++)
    if (v->own[i] == p) {
      v->own[i] = NULL;
      return (void *)p;
    }
  return NULL;
}

/* The array of v's n rows as type; an owned buffer of v's 8-byte values
 * moves into it (a computed key or projection is not copied again). */
static int vec_to_array(td_vec *v, td_type_id type, int64_t n, td_array *a, td_error *err) {
  void *moved = take_values(v, type, n);
  if (moved) {
    memset(a, 0, sizeof *a);
    a->type = type;
    a->values = moved;
    a->capacity = a->length = n;
    int rc = store_validity(v, a, n, err);
    if (rc) td_array_reset(a);
    return rc;
  }
  int rc = td_array_init(a, type, n, err);
  if (rc) return rc;
  int64_t m = v->is_const ? 0 : -1;
  operand o;
  operand_of(v, &o);
  switch (v->ph) {
    case TD_PHYS_STR: rc = store_strings(v, a, n, err); break;
    case TD_PHYS_BOOL: pack_bytes(o.p, m, n, a->values); break;
    case TD_PHYS_F64:
      if (type == TD_TYPE_FLOAT32) {
        float *d = (float *)a->values;
        for (int64_t i = 0; i < n; i++) d[i] = (float)((const double *)o.p)[i & m];
      } else {
        double *d = (double *)a->values;
        for (int64_t i = 0; i < n; i++) d[i] = ((const double *)o.p)[i & m];
      }
      break;
    case TD_PHYS_I64: {
      td_vec tmp = *v;
      tmp.i64 = o.p;
      store_ints(&tmp, a, n, m);
      break;
    }
    case TD_PHYS_D128:
      if (type == TD_TYPE_UINT64) /* a uint64 column's own values: they fit */
        for (int64_t i = 0; i < n; i++) ((uint64_t *)a->values)[i] = (uint64_t)d128_at(v, i);
      else
        for (int64_t i = 0; i < n; i++) td_dec_store(a->values + i * 16, d128_at(v, i));
      break;
  }
  a->length = n;
  if (!rc) rc = store_validity(v, a, n, err);
  if (rc) td_array_reset(a);
  return rc;
}

int td__expr_ev(const td_expr *e, const td_batch *b, td_vec *out, td_error *err) { return ev(e, b, out, err); }

int td_expr_eval(const td_expr *e, const td_batch *b, td_array *out, td_error *err) {
  td_vec v;
  memset(out, 0, sizeof *out);
  int rc = ev(e, b, &v, err);
  if (rc) return rc;
  if (v.is_const && v.c.is_null) v.c.type = e->type;
  rc = vec_to_array(&v, e->type == TD_TYPE_NONE ? TD_TYPE_BOOL : e->type, b->length, out, err);
  td__vec_free(&v);
  return rc;
}

/* ---- selection vectors ---- */

/* Rows of `in` (or all n rows) where the bool vec is TRUE. */
static int64_t filter_true(const td_vec *v, const uint32_t *in, int64_t n, uint32_t *out) {
  int64_t k = 0;
  if (v->is_const) {
    if (v->c.is_null || !v->c.v.b) return 0;
    for (int64_t j = 0; j < n; j++) out[j] = in ? in[j] : (uint32_t)j;
    return n;
  }
  const uint8_t *b = v->b8, *valid = v->valid;
  if (in && valid)
    for (int64_t j = 0; j < n; j++) out[k] = in[j], k += b[in[j]] & valid[in[j]];
  else if (in)
    for (int64_t j = 0; j < n; j++) out[k] = in[j], k += b[in[j]];
  else if (valid)
    for (int64_t i = 0; i < n; i++) out[k] = (uint32_t)i, k += b[i] & valid[i];
  else
    for (int64_t i = 0; i < n; i++) out[k] = (uint32_t)i, k += b[i];
  return k;
}

#define SEL_LOOPS(T, OPER)                                                              \
  do {                                                                                  \
    const T *A = data;                                                                  \
    T c = cval;                                                                         \
    if (in && valid)                                                                    \
      for (int64_t j = 0; j < n; j++) {                                                 \
        uint32_t i = in[j];                                                             \
        out[k] = i;                                                                     \
        k += (A[i] OPER c) & valid[i];                                                  \
      }                                                                                 \
    else if (in)                                                                        \
      for (int64_t j = 0; j < n; j++) {                                                 \
        uint32_t i = in[j];                                                             \
        out[k] = i;                                                                     \
        k += A[i] OPER c;                                                               \
      }                                                                                 \
    else if (valid)                                                                     \
      for (int64_t i = 0; i < n; i++) out[k] = (uint32_t)i, k += (A[i] OPER c) & valid[i]; \
    else                                                                                \
      for (int64_t i = 0; i < n; i++) out[k] = (uint32_t)i, k += A[i] OPER c;           \
  } while (0)

#define SEL_SWITCH(T) OP_SWITCH(SEL_LOOPS, T)

static int64_t sel_i64(td_op op, const int64_t *data, int64_t cval, const uint8_t *valid,
                       const uint32_t *in, int64_t n, uint32_t *out) {
  int64_t k = 0;
  SEL_SWITCH(int64_t);
  return k;
}

static int64_t sel_f64(td_op op, const double *data, double cval, const uint8_t *valid,
                       const uint32_t *in, int64_t n, uint32_t *out) {
  int64_t k = 0;
  SEL_SWITCH(double);
  return k;
}

td_op td_op_mirror(td_op op) {
  switch (op) {
    case TD_OP_LT: return TD_OP_GT;
    case TD_OP_LE: return TD_OP_GE;
    case TD_OP_GT: return TD_OP_LT;
    case TD_OP_GE: return TD_OP_LE;
    default: return op;
  }
}

/* An integer column compared with a non-null integer literal, read from
 * the column's own values (query/sel_int.c): the rows the widened vec
 * would give, without widening it. */
static bool sel_int_literal(const td_expr *e, const td_batch *b, const uint32_t *in, int64_t n, uint32_t *out,
                            int64_t *n_out) {
  const td_expr *c = e->args[0], *k = e->args[1];
  td_op op = e->op;
  if (c->kind == TD_EXPR_LITERAL) {
    c = e->args[1];
    k = e->args[0];
    op = td_op_mirror(op);
  }
  if (c->kind != TD_EXPR_COLUMN || k->kind != TD_EXPR_LITERAL || c->fn || k->fn) return false;
  if (k->lit.is_null || k->lit.type == TD_TYPE_NONE || td__phys_of(k->lit.type) != TD_PHYS_I64 ||
      td__phys_of(k->type) != TD_PHYS_I64 || td__phys_of(c->type) != TD_PHYS_I64)
    return false;
  if (b->consts && b->consts[c->column].type != TD_TYPE_NONE) return false;
  return td__sel_int_column(op, &b->cols[c->column], k->lit.v.i, in, n, out, n_out);
}

/* column OP constant: the hot path. */
static int sel_compare(const td_expr *e, const td_batch *b, const uint32_t *in, int64_t n,
                       uint32_t *out, int64_t *n_out, td_error *err) {
  if (sel_int_literal(e, b, in, n, out, n_out)) return TD_OK;
  td_vec l, r, *col, *cst, bv;
  memset(&bv, 0, sizeof bv);
  int rc = ev(e->args[0], b, &l, err);
  if (rc) return rc;
  rc = ev(e->args[1], b, &r, err);
  if (rc) {
    td__vec_free(&l);
    return rc;
  }
  /* A NULL constant first: it has no physical layout to unify with. */
  bool null_operand = is_null_const(&l) || is_null_const(&r);
  if (!null_operand) rc = unify(&l, &r, err);
  td_op op = e->op;
  col = r.is_const ? &l : &r;
  cst = r.is_const ? &r : &l;
  if (col == &r) op = td_op_mirror(op);
  if (rc) {
  } else if (null_operand) {
    *n_out = 0;
  } else if (cst->is_const && !col->is_const && col->ph == TD_PHYS_I64) {
    *n_out = sel_i64(op, col->i64, cst->c.v.i, col->valid, in, n, out);
  } else if (cst->is_const && !col->is_const && col->ph == TD_PHYS_F64) {
    *n_out = sel_f64(op, col->f64, cst->c.v.f, col->valid, in, n, out);
  } else {
    bool done;
    rc = binary_consts(e, &l, &r, &bv, &done, err);
    if (!rc && !done) rc = compare(e->op, &l, &r, &bv, err);
    if (!rc) *n_out = filter_true(&bv, in, n, out);
    td__vec_free(&bv);
  }
  td__vec_free(&l);
  td__vec_free(&r);
  return rc;
}

static int sel(const td_expr *e, const td_batch *b, const uint32_t *in, int64_t n,
               uint32_t *out, int64_t *n_out, td_error *err);

/* Rows of `in` (or 0..total-1) that are not in the sorted subset `a`. */
static int64_t complement(const uint32_t *in, int64_t n, const uint32_t *a, int64_t na,
                          uint32_t *out) {
  int64_t k = 0, j = 0;
  for (int64_t t = 0; t < n; t++) {
    uint32_t i = in ? in[t] : (uint32_t)t;
    if (j < na && a[j] == i) j++;
    else out[k++] = i;
  }
  return k;
}

static int64_t merge(const uint32_t *a, int64_t na, const uint32_t *b, int64_t nb, uint32_t *out) {
  int64_t i = 0, j = 0, k = 0;
  while (i < na && j < nb) out[k++] = a[i] < b[j] ? a[i++] : b[j++];
  while (i < na) out[k++] = a[i++];
  while (j < nb) out[k++] = b[j++];
  return k;
}

static int sel_or(const td_expr *e, const td_batch *b, const uint32_t *in, int64_t n,
                  uint32_t *out, int64_t *n_out, td_error *err) {
  uint32_t *t = td_malloc((size_t)(2 * n + 1) * sizeof *t);
  if (!t) return td_err_nomem(err, "allocating a selection vector");
  uint32_t *a = t, *rest = t + n;
  int64_t na, nr, nb;
  int rc = sel(e->args[0], b, in, n, a, &na, err);
  if (!rc) {
    nr = complement(in, n, a, na, rest);
    rc = sel(e->args[1], b, rest, nr, rest, &nb, err);
  }
  if (!rc) *n_out = merge(a, na, rest, nb, out);
  td_free(t);
  return rc;
}

static int sel(const td_expr *e, const td_batch *b, const uint32_t *in, int64_t n,
               uint32_t *out, int64_t *n_out, td_error *err) {
  td_batch narrowed; /* only the rows of `in` matter for overflow checks */
  if (in) {
    narrowed = *b;
    narrowed.sel = in;
    narrowed.n_sel = n;
    b = &narrowed;
  }
  bool dict_done; /* one column arriving as dictionary codes (query/dict_eval.c) */
  int drc = td__dict_select(e, b, in, n, out, n_out, &dict_done, err);
  if (drc || dict_done) return drc;
  if (e->kind == TD_EXPR_BINARY && e->op == TD_OP_AND) {
    int rc = sel(e->args[0], b, in, n, out, n_out, err);
    if (rc || *n_out == 0) return rc;
    return sel(e->args[1], b, out, *n_out, out, n_out, err);
  }
  if (e->kind == TD_EXPR_BINARY && e->op == TD_OP_OR) return sel_or(e, b, in, n, out, n_out, err);
  if (e->kind == TD_EXPR_BINARY && e->op >= TD_OP_EQ && e->op <= TD_OP_GE)
    return sel_compare(e, b, in, n, out, n_out, err);
  td_vec v;
  int rc = ev(e, b, &v, err);
  if (rc) return rc;
  *n_out = filter_true(&v, in, n, out);
  td__vec_free(&v);
  return TD_OK;
}

int td__eval_vec(const td_expr *e, const td_batch *b, td_vec *out, td_error *err) {
  return ev(e, b, out, err);
}

int td__eval_select(const td_expr *e, const td_batch *b, const uint32_t *in, int64_t n, uint32_t *out,
                    int64_t *n_out, td_error *err) {
  *n_out = 0;
  return sel(e, b, in, n, out, n_out, err);
}

int td_expr_select(const td_expr *e, const td_batch *b, const uint32_t *in_sel, int64_t in_n,
                   uint32_t *out_sel, int64_t *out_n, td_error *err) {
  if (e->type != TD_TYPE_BOOL)
    return td_err_at(err, TD_ETYPE, e->pos, "a filter must be a bool expression, found %s",
                     td_type_name(e->type));
  if (b->length > (int64_t)UINT32_MAX)
    return td_err(err, TD_EINVAL, "a batch of %lld rows exceeds the selection vector limit",
                  (long long)b->length);
  *out_n = 0;
  return sel(e, b, in_sel, in_sel ? in_n : b->length, out_sel, out_n, err);
}
