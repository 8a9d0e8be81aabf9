/*
 * query/vec.c - loading column views and constants into working vectors,
 * with type-specialized conversion loops.
 */
#include "query/vec.h"

#include <stdint.h>
#include <string.h>

#include "arrow/dict.h"
#include "query/scalar.h"
#include "util/decimal.h"
#include "util/alloc.h"
#include "util/error.h"

td_phys td__phys_of(td_type_id t) {
  if (t == TD_TYPE_BOOL) return TD_PHYS_BOOL;
  if (td_type_is_varlen(t)) return TD_PHYS_STR;
  if (t == TD_TYPE_DECIMAL128 || t == TD_TYPE_UINT64) return TD_PHYS_D128; /* uint64: exact as int128 */
  if (td_type_is_float(t)) return TD_PHYS_F64;
  return TD_PHYS_I64;
}

void td__vec_own(td_vec *v, void *p) {
  for (int i = 0; i < 4; i++)
    if (!v->own[i]) {
      v->own[i] = p;
      return;
    }
  td_free(p); /* never happens: at most 4 buffers per vec */
}

int td__vec_make(td_vec *out, td_phys ph, int64_t n, const td_vec *like, void **values, td_error *err) {
  size_t w = ph == TD_PHYS_BOOL ? 1 : ph == TD_PHYS_D128 ? 16 : 8;
  void *r = td_malloc((size_t)(n ? n : 1) * w);
  uint8_t *v = like->valid ? td_malloc((size_t)(n ? n : 1)) : NULL;
  if (!r || (like->valid && !v)) {
    td_free(r);
    td_free(v);
    return td_err_nomem(err, "evaluating an expression");
  }
  if (v) memcpy(v, like->valid, (size_t)n);
  memset(out, 0, sizeof *out);
  out->ph = ph;
  out->n = n;
  if (ph == TD_PHYS_F64) out->f64 = r;
  else if (ph == TD_PHYS_I64) out->i64 = r;
  else if (ph == TD_PHYS_BOOL) out->b8 = r;
  else out->d128 = r;
  out->valid = v;
  td__vec_own(out, r);
  if (v) td__vec_own(out, v);
  *values = r;
  return TD_OK;
}

void td__vec_move(td_vec *dst, td_vec *src) {
  *dst = *src;
  memset(src, 0, sizeof *src);
}

void td__vec_free(td_vec *v) {
  for (int i = 0; i < 4; i++) td_free(v->own[i]);
  memset(v, 0, sizeof *v);
}

void td__vec_const(td_vec *v, td_phys ph, const td_value *c, int64_t n) {
  memset(v, 0, sizeof *v);
  v->ph = ph;
  v->n = n;
  v->is_const = true;
  v->c = *c;
  if (c->type == TD_TYPE_NONE) v->c.is_null = true;
  if (!v->c.is_null && ph == TD_PHYS_F64 && !td_type_is_float(c->type))
    v->c = td_value_double(TD_TYPE_FLOAT64, td__value_double(c));
}

static void *alloc_rows(td_vec *v, int64_t n, size_t width, td_error *err) {
  void *p = td_malloc((size_t)(n > 0 ? n : 1) * width);
  if (!p) {
    td_err_nomem(err, "allocating an evaluation vector");
    return NULL;
  }
  td__vec_own(v, p);
  return p;
}

static void unpack_bits(const uint8_t *bits, int64_t off, int64_t n, uint8_t *out) {
  int64_t i = 0;
  if ((off & 7) == 0) {
    const uint8_t *b = bits + (off >> 3);
    for (; i + 8 <= n; i += 8) {
      uint8_t w = b[i >> 3];
      for (int k = 0; k < 8; k++) out[i + k] = (w >> k) & 1;
    }
  }
  for (; i < n; i++) out[i] = td_bit_get(bits, off + i);
}

#define CONVERT_LOOP(T_IN, T_OUT)                                       \
  do {                                                                  \
    const T_IN *src = (const T_IN *)c->values + c->offset;              \
    for (int64_t i = 0; i < n; i++) dst[i] = (T_OUT)src[i];              \
  } while (0)

static int load_i64(const td_colview *c, int64_t n, td_vec *v, td_error *err) {
  if (c->type == TD_TYPE_INT64 || td_type_is_duration(c->type) ||
      (td_type_is_temporal(c->type) && td_type_width(c->type) == 8)) {
    v->i64 = (const int64_t *)c->values + c->offset;
    return TD_OK;
  }
  int64_t *dst = alloc_rows(v, n, sizeof *dst, err);
  if (!dst) return TD_ENOMEM;
  switch (c->type) {
    case TD_TYPE_INT8: CONVERT_LOOP(int8_t, int64_t); break;
    case TD_TYPE_INT16: CONVERT_LOOP(int16_t, int64_t); break;
    case TD_TYPE_UINT16: CONVERT_LOOP(uint16_t, int64_t); break;
    case TD_TYPE_UINT8: CONVERT_LOOP(uint8_t, int64_t); break;
    case TD_TYPE_UINT32: CONVERT_LOOP(uint32_t, int64_t); break;
    case TD_TYPE_INT32:
    case TD_TYPE_DATE32:
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS: CONVERT_LOOP(int32_t, int64_t); break;
    default:
      for (int64_t i = 0; i < n; i++) dst[i] = td_colview_int(c, i);
      break;
  }
  v->i64 = dst;
  return TD_OK;
}

static int load_f64(const td_colview *c, int64_t n, td_vec *v, td_error *err) {
  if (c->type == TD_TYPE_FLOAT64) {
    v->f64 = (const double *)c->values + c->offset;
    return TD_OK;
  }
  double *dst = alloc_rows(v, n, sizeof *dst, err);
  if (!dst) return TD_ENOMEM;
  if (c->type == TD_TYPE_FLOAT32) CONVERT_LOOP(float, double);
  else
    for (int64_t i = 0; i < n; i++) dst[i] = td_colview_double(c, i);
  v->f64 = dst;
  return TD_OK;
}

int td__vec_load(const td_batch *b, int64_t col, td_type_id t, td_vec *out, td_error *err) {
  memset(out, 0, sizeof *out);
  td_phys ph = td__phys_of(t);
  if (b->consts && b->consts[col].type != TD_TYPE_NONE) {
    td__vec_const(out, ph, &b->consts[col], b->length);
    return TD_OK;
  }
  const td_colview *c = &b->cols[col];
  int64_t n = b->length;
  out->ph = ph;
  out->n = n;
  int rc = TD_OK;
  if (ph == TD_PHYS_I64) rc = load_i64(c, n, out, err);
  else if (ph == TD_PHYS_F64) rc = load_f64(c, n, out, err);
  else if (ph == TD_PHYS_STR && c->codes) { /* dictionary codes: decoded (arrow/dict.h) */
    td_array a;
    rc = td_array_init(&a, TD_TYPE_UTF8, n, err);
    if (rc == TD_OK) rc = td_dict_decode(&a, c, 0, n, NULL, err);
    if (rc == TD_OK) {
      if (!a.data && !(a.data = td_malloc(1))) rc = td_err_nomem(err, "decoding a dictionary column");
    }
    if (rc == TD_OK) {
      td__vec_own(out, a.offsets);
      td__vec_own(out, a.data);
      out->offs = a.offsets;
      out->strs = a.data;
      a.offsets = NULL;
      a.data = NULL;
    }
    td_array_reset(&a);
  } else if (ph == TD_PHYS_STR) {
    out->offs = c->offsets + c->offset;
    out->strs = c->data;
  } else if (ph == TD_PHYS_D128) {
    if (c->type == TD_TYPE_UINT64) { /* widened once: every comparison and sum is exact */
      uint8_t *dst = alloc_rows(out, n, 16, err);
      const uint64_t *src = (const uint64_t *)c->values + c->offset;
      if (!dst) rc = TD_ENOMEM;
      else
        for (int64_t i = 0; i < n; i++) td_dec_store(dst + i * 16, (td_i128)src[i]);
      out->d128 = dst;
    } else if (c->type != TD_TYPE_DECIMAL128)
      rc = td_err(err, TD_ETYPE, "cannot read a %s column as decimal128", td_type_name(c->type));
    else out->d128 = (const uint8_t *)c->values + c->offset * 16;
  } else {
    uint8_t *dst = alloc_rows(out, n, 1, err);
    if (!dst) rc = TD_ENOMEM;
    else unpack_bits(c->values, c->offset, n, dst);
    out->b8 = dst;
  }
  if (!rc && c->validity && c->null_count != 0) {
    uint8_t *valid = alloc_rows(out, n, 1, err);
    if (!valid) rc = TD_ENOMEM;
    else unpack_bits(c->validity, c->offset, n, valid);
    out->valid = valid;
  }
  if (rc) td__vec_free(out);
  return rc;
}

int td__vec_to_f64(td_vec *v, td_error *err) {
  if (v->ph == TD_PHYS_F64) return TD_OK;
  if (v->ph == TD_PHYS_D128) return td_err(err, TD_ETYPE, "decimal128 values are not converted to float64 here");
  v->ph = TD_PHYS_F64;
  if (v->is_const) {
    if (!v->c.is_null) v->c = td_value_double(TD_TYPE_FLOAT64, (double)v->c.v.i);
    return TD_OK;
  }
  double *dst = alloc_rows(v, v->n, sizeof *dst, err);
  if (!dst) return TD_ENOMEM;
  for (int64_t i = 0; i < v->n; i++) dst[i] = (double)v->i64[i];
  v->f64 = dst;
  return TD_OK;
}

int td__vec_to_d128(td_vec *v, td_error *err) {
  if (v->ph == TD_PHYS_D128) return TD_OK;
  if (v->ph != TD_PHYS_I64) return td_err(err, TD_ETYPE, "only integers are widened to 128 bits");
  v->ph = TD_PHYS_D128;
  if (v->is_const) {
    if (!v->c.is_null) v->c = td_dec_value(TD_DECIMAL128_MAX_PRECISION, 0, (td_i128)v->c.v.i);
    return TD_OK;
  }
  uint8_t *dst = alloc_rows(v, v->n, 16, err);
  if (!dst) return TD_ENOMEM;
  for (int64_t i = 0; i < v->n; i++) td_dec_store(dst + i * 16, (td_i128)v->i64[i]);
  v->d128 = dst;
  return TD_OK;
}

int td__vec_materialize(td_vec *v, td_error *err) {
  if (!v->is_const) return TD_OK;
  int64_t n = v->n;
  td_value c = v->c;
  v->is_const = false;
  if (c.is_null) {
    uint8_t *valid = alloc_rows(v, n, 1, err);
    if (!valid) return TD_ENOMEM;
    memset(valid, 0, (size_t)n);
    v->valid = valid;
  }
  switch (v->ph) {
    case TD_PHYS_I64: {
      int64_t *d = alloc_rows(v, n, sizeof *d, err);
      if (!d) return TD_ENOMEM;
      for (int64_t i = 0; i < n; i++) d[i] = c.is_null ? 0 : c.v.i;
      v->i64 = d;
      return TD_OK;
    }
    case TD_PHYS_F64: {
      double *d = alloc_rows(v, n, sizeof *d, err);
      if (!d) return TD_ENOMEM;
      for (int64_t i = 0; i < n; i++) d[i] = c.is_null ? 0 : c.v.f;
      v->f64 = d;
      return TD_OK;
    }
    case TD_PHYS_BOOL: {
      uint8_t *d = alloc_rows(v, n, 1, err);
      if (!d) return TD_ENOMEM;
      memset(d, !c.is_null && c.v.b, (size_t)n);
      v->b8 = d;
      return TD_OK;
    }
    case TD_PHYS_D128: {
      uint8_t *d = alloc_rows(v, n, 16, err);
      if (!d) return TD_ENOMEM;
      for (int64_t i = 0; i < n; i++) {
        memcpy(d + i * 16, &c.v.d.lo, 8);
        memcpy(d + i * 16 + 8, &c.v.d.hi, 8);
      }
      v->d128 = d;
      return TD_OK;
    }
    case TD_PHYS_STR: {
      int32_t *o = alloc_rows(v, n + 1, sizeof *o, err);
      if (!o) return TD_ENOMEM;
      int64_t len = c.is_null ? 0 : (int64_t)c.v.s.len;
      o[0] = 0;
      if (n * len > INT32_MAX)
        return td_err(err, TD_ERANGE, "a constant string repeated %lld times exceeds 2 GiB",
                      (long long)n);
      char *d = alloc_rows(v, n * len + 1, 1, err);
      if (!d) return TD_ENOMEM;
      for (int64_t i = 0; i < n; i++) {
        if (len) memcpy(d + i * len, c.v.s.ptr, (size_t)len);
        o[i + 1] = (int32_t)((i + 1) * len);
      }
      v->offs = o;
      v->strs = d;
      return TD_OK;
    }
  }
  return TD_OK;
}

td_value td__vec_value(const td_vec *v, int64_t i, td_type_id t) {
  if (!td__vec_valid(v, i)) return td_value_null(t);
  if (v->is_const) return v->c;
  td_value r;
  memset(&r, 0, sizeof r);
  r.type = t;
  switch (v->ph) {
    case TD_PHYS_I64: r.v.i = v->i64[i]; break;
    case TD_PHYS_F64: r.v.f = v->f64[i]; break;
    case TD_PHYS_BOOL: r.v.b = v->b8[i] != 0; break;
    case TD_PHYS_STR:
      r.v.s.ptr = v->strs + v->offs[i];
      r.v.s.len = (size_t)(v->offs[i + 1] - v->offs[i]);
      break;
    case TD_PHYS_D128:
      memcpy(&r.v.d.lo, v->d128 + i * 16, 8);
      memcpy(&r.v.d.hi, v->d128 + i * 16 + 8, 8);
      break;
  }
  return r;
}
