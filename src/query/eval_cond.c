/*
 * query/eval_cond.c - whole-batch evaluation of the conditional forms CASE
 * (searched; the parser turns a simple CASE into one), coalesce and ifnull.
 *
 * Each argument is evaluated once over the batch, and only over the rows
 * that still need it (a td_batch selection): a WHEN over the rows no earlier
 * WHEN took, a THEN over the rows its WHEN took, the ELSE over the rest, a
 * coalesce argument over the rows where every earlier one was NULL.  The
 * pieces are then scattered into one result vec.  So an error an argument
 * would raise in rows it does not decide (an integer overflow, a CAST that
 * fails) is not raised, as in DuckDB and as the row path does
 * (td__cond_eval_row).  Result values are the row hooks' (func_core.c):
 * integers meeting a float result become doubles; other mixes of layouts
 * fall back to the row-at-a-time path.  greatest, least (of numbers) and
 * nullif (of integers) evaluate every argument, as the row path does, and
 * combine them a whole argument at a time.
 */
#include <string.h>

#include "query/eval_cond.h"
#include "query/scalar.h"
#include "query/vec.h"
#include "util/alloc.h"
#include "util/error.h"

typedef enum cond_kind { COND_NONE, COND_CASE, COND_COALESCE, COND_GREATEST, COND_LEAST, COND_NULLIF } cond_kind;

static cond_kind kind_of(const td_func *f) {
  if (!f) return COND_NONE;
  if (strcmp(f->name, "case") == 0 || strcmp(f->name, "if") == 0) return COND_CASE;
  if (strcmp(f->name, "coalesce") == 0 || strcmp(f->name, "ifnull") == 0) return COND_COALESCE;
  if (strcmp(f->name, "greatest") == 0) return COND_GREATEST;
  if (strcmp(f->name, "least") == 0) return COND_LEAST;
  if (strcmp(f->name, "nullif") == 0) return COND_NULLIF;
  return COND_NONE;
}

/* The lazy forms: an argument only over the rows it decides. */
static bool is_lazy(cond_kind k) { return k == COND_CASE || k == COND_COALESCE; }

/* Whether argument i of e gives values (not conditions). */
static bool is_value_arg(const td_expr *e, cond_kind k, int64_t i) {
  return k == COND_COALESCE || i % 2 == 1 || i == e->n_args - 1;
}

/* Whether a value of type `a` lands in a result of type `r` without a
 * change of layout the scatter cannot make (ints into doubles it can). */
static bool fits(const td_expr *e, const td_expr *arg) {
  td_type_id r = e->type, a = arg->type;
  if (a == TD_TYPE_NONE) return true;
  td_phys rp = td__phys_of(r), ap = td__phys_of(a);
  if (rp == TD_PHYS_D128 || ap == TD_PHYS_D128)
    return a == r && (e->tz == arg->tz || (e->tz && arg->tz && strcmp(e->tz, arg->tz) == 0));
  return ap == rp || (rp == TD_PHYS_F64 && ap == TD_PHYS_I64);
}

/* One evaluated argument and the rows it decides (disjoint from other pieces'). */
typedef struct piece {
  td_vec v;
  const uint32_t *rows;
  int64_t n;
} piece;

/* Rows of in[0..n) not in the sorted subset a[0..na); out may be in. */
static int64_t minus(const uint32_t *in, int64_t n, const uint32_t *a, int64_t na, uint32_t *out) {
  int64_t k = 0, j = 0;
  for (int64_t t = 0; t < n; t++) {
    uint32_t i = in[t];
    if (j < na && a[j] == i) j++;
    else out[k++] = i;
  }
  return k;
}

/* Evaluates x over the rows `rows` of b (every row still gets a value). */
static int eval_on(const td_expr *x, const td_batch *b, const uint32_t *rows, int64_t n, td_vec *out,
                   td_error *err) {
  td_batch nb = *b;
  nb.sel = rows;
  nb.n_sel = n;
  return td__eval_vec(x, &nb, out, err);
}

#define SCATTER(T, DST, SRC, CONSTV)                                      \
  do {                                                                    \
    T *d_ = (T *)(DST);                                                   \
    if (v->is_const) {                                                    \
      T c_ = CONSTV;                                                      \
      for (int64_t j = 0; j < p->n; j++) d_[p->rows[j]] = c_, valid[p->rows[j]] = 1; \
    } else {                                                              \
      const T *s_ = (const T *)(SRC);                                     \
      for (int64_t j = 0; j < p->n; j++) {                                \
        uint32_t r_ = p->rows[j];                                         \
        d_[r_] = s_[r_];                                                  \
        valid[r_] = vv ? vv[r_] : 1;                                      \
      }                                                                   \
    }                                                                     \
  } while (0)

/* Fixed-width result: each piece's rows copied into one buffer. */
static int assemble_fixed(td_phys ph, piece *ps, int64_t np, uint8_t *valid, void *data, td_error *err) {
  for (int64_t k = 0; k < np; k++) {
    piece *p = &ps[k];
    td_vec *v = &p->v;
    if (v->is_const && v->c.is_null) continue;
    if (ph == TD_PHYS_F64 && v->ph == TD_PHYS_I64) {
      int rc = td__vec_to_f64(v, err);
      if (rc) return rc;
    }
    const uint8_t *vv = v->is_const ? NULL : v->valid;
    switch (ph) {
      case TD_PHYS_I64: SCATTER(int64_t, data, v->i64, v->c.v.i); break;
      case TD_PHYS_F64: SCATTER(double, data, v->f64, v->c.v.f); break;
      case TD_PHYS_BOOL: SCATTER(uint8_t, data, v->b8, (uint8_t)(v->c.v.b != 0)); break;
      case TD_PHYS_D128: {
        uint8_t *d = data, c[16];
        if (v->is_const) {
          memcpy(c, &v->c.v.d.lo, 8);
          memcpy(c + 8, &v->c.v.d.hi, 8);
        }
        for (int64_t j = 0; j < p->n; j++) {
          uint32_t r = p->rows[j];
          memcpy(d + (size_t)r * 16, v->is_const ? c : v->d128 + (size_t)r * 16, 16);
          valid[r] = vv ? vv[r] : 1;
        }
        break;
      }
      case TD_PHYS_STR: break;
    }
  }
  return TD_OK;
}

/* String result: which piece each row comes from, then offsets, then bytes. */
static int assemble_strings(td_vec *out, piece *ps, int64_t np, uint8_t *valid, td_error *err) {
  int64_t n = out->n;
  int32_t *offs = td_malloc((size_t)(n + 1) * sizeof *offs);
  int32_t *from = td_malloc((size_t)(n ? n : 1) * sizeof *from);
  if (!offs || !from) {
    td_free(offs);
    td_free(from);
    return td_err_nomem(err, "evaluating a conditional expression");
  }
  td__vec_own(out, offs);
  out->offs = offs;
  memset(from, 0xff, (size_t)(n ? n : 1) * sizeof *from); /* -1: NULL */
  for (int64_t k = 0; k < np; k++) {
    const td_vec *v = &ps[k].v;
    for (int64_t j = 0; j < ps[k].n; j++) {
      uint32_t r = ps[k].rows[j];
      bool ok = td__vec_valid(v, r);
      valid[r] = ok;
      from[r] = ok ? (int32_t)k : -1;
    }
  }
  int64_t total = 0;
  offs[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    if (from[i] >= 0) {
      const td_vec *v = &ps[from[i]].v;
      total += v->is_const ? (int64_t)v->c.v.s.len : v->offs[i + 1] - v->offs[i];
    }
    if (total > INT32_MAX) {
      td_free(from);
      return td_err(err, TD_ERANGE, "a string result exceeds 2 GiB in one batch");
    }
    offs[i + 1] = (int32_t)total;
  }
  char *s = td_malloc((size_t)(total ? total : 1));
  if (!s) {
    td_free(from);
    return td_err_nomem(err, "evaluating a conditional expression");
  }
  td__vec_own(out, s);
  out->strs = s;
  for (int64_t i = 0; i < n; i++) {
    int64_t len = offs[i + 1] - offs[i];
    if (!len) continue;
    const td_vec *v = &ps[from[i]].v;
    memcpy(s + offs[i], v->is_const ? v->c.v.s.ptr : v->strs + v->offs[i], (size_t)len);
  }
  td_free(from);
  return TD_OK;
}

/* Whether x (of an integer or float layout, non-null) beats the best so
 * far y: NaN above every number, as row_extreme (func_core.c) orders. */
static inline bool beats_f64(double x, double y, bool great) {
  if (great) return x != x ? y == y : y == y && x > y;
  return y != y ? x == x : x == x && x < y;
}

/* greatest / least of integer or float results, nullif of integers: every
 * argument over the batch (as the row path), combined an argument at a
 * time in one loop over the rows. */
static int eval_strict(const td_expr *e, cond_kind k, const td_batch *b, td_vec *out, td_error *err) {
  int64_t n = b->length, na = e->n_args;
  td_phys ph = td__phys_of(e->type);
  double *rf = NULL;
  int64_t *ri = NULL;
  uint8_t *valid = td_calloc((size_t)(n ? n : 1), 1);
  void *data = td_calloc((size_t)(n ? n : 1), 8);
  out->ph = ph;
  out->n = n;
  if (valid) td__vec_own(out, valid);
  if (data) td__vec_own(out, data);
  if (!valid || !data) return td_err_nomem(err, "evaluating a conditional expression");
  if (ph == TD_PHYS_F64) out->f64 = rf = data;
  else out->i64 = ri = data;
  out->valid = valid;
  td_vec v, w;
  int rc = TD_OK;
  if (k == COND_NULLIF) {
    rc = td__eval_vec(e->args[0], b, &v, err);
    if (rc) return rc;
    rc = td__eval_vec(e->args[1], b, &w, err);
    if (rc) {
      td__vec_free(&v);
      return rc;
    }
    int64_t vm = v.is_const ? 0 : -1, wm = w.is_const ? 0 : -1;
    const int64_t *x = v.is_const ? &v.c.v.i : v.i64, *y = w.is_const ? &w.c.v.i : w.i64;
    for (int64_t i = 0; i < n; i++) {
      bool xv = td__vec_valid(&v, i), yv = td__vec_valid(&w, i);
      ri[i] = x[i & vm];
      valid[i] = xv && !(yv && x[i & vm] == y[i & wm]);
    }
    td__vec_free(&v);
    td__vec_free(&w);
    return TD_OK;
  }
  bool great = k == COND_GREATEST;
  for (int64_t a = 0; !rc && a < na; a++) {
    rc = td__eval_vec(e->args[a], b, &v, err);
    if (rc) break;
    if (v.is_const && v.c.is_null) {
      td__vec_free(&v);
      continue;
    }
    if (ph == TD_PHYS_F64) rc = td__vec_to_f64(&v, err);
    int64_t m = v.is_const ? 0 : -1;
    const uint8_t *vv = v.is_const ? NULL : v.valid;
    if (rc) {
    } else if (ph == TD_PHYS_F64) {
      const double *x = v.is_const ? &v.c.v.f : v.f64;
      for (int64_t i = 0; i < n; i++) {
        double xi = x[i & m];
        bool take = (!vv || vv[i]) && (!valid[i] || beats_f64(xi, rf[i], great));
        rf[i] = take ? xi : rf[i];
        valid[i] |= take;
      }
    } else {
      const int64_t *x = v.is_const ? &v.c.v.i : v.i64;
      for (int64_t i = 0; i < n; i++) {
        int64_t xi = x[i & m];
        bool take = (!vv || vv[i]) && (!valid[i] || (great ? xi > ri[i] : xi < ri[i]));
        ri[i] = take ? xi : ri[i];
        valid[i] |= take;
      }
    }
    td__vec_free(&v);
  }
  return rc;
}

bool td__cond_is(const td_expr *e) {
  cond_kind k = kind_of(e->fn);
  if (k == COND_NONE) return false;
  if (!is_lazy(k)) { /* integer or float results; nullif of two integers */
    td_phys ph = td__phys_of(e->type);
    if (ph != TD_PHYS_I64 && ph != TD_PHYS_F64) return false;
    for (int64_t i = 0; i < e->n_args; i++) {
      td_type_id t = e->args[i]->type;
      td_phys ap = td__phys_of(t);
      if (k == COND_NULLIF ? t == TD_TYPE_NONE || ap != TD_PHYS_I64 : !fits(e, e->args[i])) return false;
    }
    return k != COND_NULLIF || ph == TD_PHYS_I64;
  }
  for (int64_t i = 0; i < e->n_args; i++)
    if (is_value_arg(e, k, i) && !fits(e, e->args[i])) return false;
  return true;
}

int td__cond_eval_vec(const td_expr *e, const td_batch *b, td_vec *out, bool *done, td_error *err) {
  *done = false;
  memset(out, 0, sizeof *out);
  cond_kind k = kind_of(e->fn);
  int64_t n = b->length, na = e->n_args;
  if (k == COND_NONE || n > (int64_t)UINT32_MAX || !td__cond_is(e)) return TD_OK;
  *done = true;
  if (!is_lazy(k)) {
    int rc = eval_strict(e, k, b, out, err);
    if (rc) td__vec_free(out);
    return rc;
  }
  /* rows: the pieces' rows, carved one after another (they are disjoint);
   * rem: the rows still undecided */
  uint32_t *rows = td_malloc((size_t)(n ? n : 1) * sizeof *rows);
  uint32_t *rem = td_malloc((size_t)(n ? n : 1) * sizeof *rem);
  piece *ps = td_calloc((size_t)na + 1, sizeof *ps);
  int rc = rows && rem && ps ? TD_OK : td_err_nomem(err, "evaluating a conditional expression");
  int64_t np = 0, used = 0, nrem = 0;
  if (!rc) {
    if (b->sel) memcpy(rem, b->sel, (size_t)b->n_sel * sizeof *rem), nrem = b->n_sel;
    else
      for (nrem = 0; nrem < n; nrem++) rem[nrem] = (uint32_t)nrem;
  }
  if (!rc && k == COND_CASE) {
    int64_t i = 0;
    for (; !rc && i + 1 < na && nrem > 0; i += 2) {
      uint32_t *taken = rows + used;
      int64_t nt = 0;
      rc = td__eval_select(e->args[i], b, rem, nrem, taken, &nt, err);
      if (rc || nt == 0) continue;
      rc = eval_on(e->args[i + 1], b, taken, nt, &ps[np].v, err);
      if (rc) break;
      ps[np].rows = taken;
      ps[np++].n = nt;
      used += nt;
      nrem = minus(rem, nrem, taken, nt, rem);
    }
    if (!rc && na % 2 && nrem > 0) { /* the ELSE over what is left */
      memcpy(rows + used, rem, (size_t)nrem * sizeof *rem);
      rc = eval_on(e->args[na - 1], b, rows + used, nrem, &ps[np].v, err);
      if (!rc) {
        ps[np].rows = rows + used;
        ps[np++].n = nrem;
      }
    }
  } else if (!rc) { /* coalesce / ifnull */
    for (int64_t i = 0; !rc && i < na && nrem > 0; i++) {
      td_vec *v = &ps[np].v;
      rc = eval_on(e->args[i], b, rem, nrem, v, err);
      if (rc) break;
      uint32_t *taken = rows + used;
      int64_t nt = 0, left = 0;
      if (v->is_const) {
        if (!v->c.is_null) memcpy(taken, rem, (size_t)nrem * sizeof *rem), nt = nrem, nrem = 0;
      } else {
        for (int64_t j = 0; j < nrem; j++) {
          uint32_t r = rem[j];
          bool ok = !v->valid || v->valid[r];
          taken[nt] = r;
          rem[left] = r;
          nt += ok;
          left += !ok;
        }
        nrem = left;
      }
      if (nt == 0) {
        td__vec_free(v);
        continue;
      }
      ps[np].rows = taken;
      ps[np++].n = nt;
      used += nt;
    }
  }
  /* the result: rows no piece decided (or outside b->sel) are NULL */
  td_phys ph = td__phys_of(e->type);
  out->ph = ph;
  out->n = n;
  uint8_t *valid = NULL;
  if (!rc) {
    valid = td_malloc((size_t)(n ? n : 1));
    if (!valid) rc = td_err_nomem(err, "evaluating a conditional expression");
    else {
      td__vec_own(out, valid);
      memset(valid, 0, (size_t)n);
    }
  }
  if (!rc && ph == TD_PHYS_STR) {
    rc = assemble_strings(out, ps, np, valid, err);
  } else if (!rc) {
    size_t w = ph == TD_PHYS_BOOL ? 1 : ph == TD_PHYS_D128 ? 16 : 8;
    void *data = td_calloc((size_t)(n ? n : 1), w);
    if (!data) rc = td_err_nomem(err, "evaluating a conditional expression");
    else {
      td__vec_own(out, data);
      if (ph == TD_PHYS_I64) out->i64 = data;
      else if (ph == TD_PHYS_F64) out->f64 = data;
      else if (ph == TD_PHYS_BOOL) out->b8 = data;
      else out->d128 = data;
      rc = assemble_fixed(ph, ps, np, valid, data, err);
    }
  }
  if (!rc) {
    /* every row valid: no validity (the consumers' faster paths) */
    int64_t nvalid = 0;
    for (int64_t i = 0; i < n; i++) nvalid += valid[i];
    out->valid = nvalid == n ? NULL : valid;
  }
  for (int64_t t = 0; t < np; t++) td__vec_free(&ps[t].v);
  td_free(ps);
  td_free(rows);
  td_free(rem);
  if (rc) td__vec_free(out);
  return rc;
}

int td__cond_eval_row(const td_expr *e, const td_value *row, td_value *out, bool *done, td_error *err) {
  cond_kind k = kind_of(e->fn);
  *done = is_lazy(k);
  if (!*done) return TD_OK;
  int64_t na = e->n_args, i = 0;
  const td_expr *pick = NULL;
  td_value v;
  int rc = TD_OK;
  if (k == COND_CASE) {
    for (; !pick && i + 1 < na; i += 2) {
      rc = td_expr_eval_row(e->args[i], row, &v, err);
      if (rc) return rc;
      if (!v.is_null && v.type != TD_TYPE_NONE && v.v.b) pick = e->args[i + 1];
    }
    if (!pick && na % 2) pick = e->args[na - 1];
    if (!pick) {
      *out = td_value_null(e->type);
      return TD_OK;
    }
    rc = td_expr_eval_row(pick, row, &v, err);
    if (rc) return rc;
  } else {
    v = td_value_null(e->type);
    for (; i < na; i++) {
      rc = td_expr_eval_row(e->args[i], row, &v, err);
      if (rc) return rc;
      if (!v.is_null && v.type != TD_TYPE_NONE) break;
    }
  }
  /* as func_core.c's coerce */
  if (v.is_null || v.type == TD_TYPE_NONE) *out = td_value_null(e->type);
  else if (td_type_is_float(e->type) && !td_type_is_float(v.type)) *out = td_value_double(e->type, td__value_double(&v));
  else *out = v, out->type = e->type;
  return TD_OK;
}
