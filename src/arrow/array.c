/*
 * arrow/array.c - builders, views, validation and export of column arrays.
 */
#include "arrow/array.h"

#include <limits.h>
#include <stdio.h>

#include "arrow/dict.h"
#include "arrow/schema.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

/* Set bits of the whole words from `bits`, 64 bits a word. */
#define COUNT_WORDS(name, attr)                                   \
  attr static int64_t name(const uint8_t *bits, int64_t words) { \
    int64_t c = 0;                                                \
    for (int64_t k = 0; k < words; k++) {                         \
      uint64_t w;                                                 \
      memcpy(&w, bits + 8 * k, 8);                                \
      c += __builtin_popcountll(w);                               \
    }                                                             \
    return c;                                                     \
  }
COUNT_WORDS(count_words, )
/* The build targets baseline x86-64, where __builtin_popcountll is a call
 * into libgcc's table loop; on a CPU with POPCNT (asked each call: one load)
 * a word is one instruction.  Not an ifunc (target_clones): its resolver
 * runs before TSan's runtime is up. */
#if defined(__x86_64__) && defined(__GNUC__)
COUNT_WORDS(count_words_popcnt, __attribute__((target("popcnt"))))
#define HAVE_POPCNT_CLONE 1
#endif

int64_t td_bits_count(const uint8_t *bits, int64_t begin, int64_t n) {
  int64_t c = 0, i = begin, end = begin + n;
  while (i < end && (i & 7)) c += td_bit_get(bits, i++);
  int64_t words = end > i ? (end - i) / 64 : 0;
#ifdef HAVE_POPCNT_CLONE
  if (__builtin_cpu_supports("popcnt")) c += count_words_popcnt(bits + (i >> 3), words);
  else
#endif
    c += count_words(bits + (i >> 3), words);
  i += 64 * words;
  while (i < end) c += td_bit_get(bits, i++);
  return c;
}

/* Branch-free, so that it vectorizes: every offset's top bit and every
 * difference's are ORed together.  Offsets of 0 or more (top bit clear)
 * differ by less than 2^(bits-1) either way, so a difference's top bit is
 * set exactly when the offset decreased; a negative offset sets it anyway
 * (and the first one is negative, or some offset decreased after it). */
bool td_offsets_sorted(const void *offsets, int64_t n, int width) {
  if (width == 8) {
    const int64_t *o = offsets;
    uint64_t acc = (uint64_t)o[0];
    for (int64_t i = 1; i <= n; i++) acc |= (uint64_t)o[i] | ((uint64_t)o[i] - (uint64_t)o[i - 1]);
    return !(acc >> 63);
  }
  const int32_t *o = offsets;
  uint32_t acc = (uint32_t)o[0];
  for (int64_t i = 1; i <= n; i++) acc |= (uint32_t)o[i] | ((uint32_t)o[i] - (uint32_t)o[i - 1]);
  return !(acc >> 31);
}

/* Bits [from, from + n) of src onto [at, at + n) of dst, copied or ANDed
 * in: bit by bit up to a byte of dst, then whole bytes of dst (each made of
 * one source byte when both sides share their bit position, else of two),
 * then the last bits. */
static void bits_move(uint8_t *dst, int64_t at, const uint8_t *src, int64_t from, int64_t n, bool and_in) {
  int64_t i = 0;
  for (; i < n && ((at + i) & 7); i++)
    td_bit_put(dst, at + i, td_bit_get(src, from + i) && (!and_in || td_bit_get(dst, at + i)));
  int64_t bytes = (n - i) / 8;
  unsigned sh = (unsigned)((from + i) & 7);
  uint8_t *d = dst + (at + i) / 8;
  const uint8_t *s = src + (from + i) / 8;
  if (bytes && !sh && !and_in) memcpy(d, s, (size_t)bytes);
  else if (!sh)
    for (int64_t k = 0; k < bytes; k++) d[k] &= s[k];
  else /* byte k of dst spans bits sh.. of s[k] and ..sh-1 of s[k + 1]: both inside [from, from + n) */
    for (int64_t k = 0; k < bytes; k++) {
      uint8_t b = (uint8_t)(s[k] >> sh | (unsigned)s[k + 1] << (8 - sh));
      d[k] = and_in ? (uint8_t)(d[k] & b) : b;
    }
  i += bytes * 8;
  for (; i < n; i++) td_bit_put(dst, at + i, td_bit_get(src, from + i) && (!and_in || td_bit_get(dst, at + i)));
}

void td_bits_copy(uint8_t *dst, int64_t at, const uint8_t *src, int64_t from, int64_t n) {
  bits_move(dst, at, src, from, n, false);
}

static int64_t bitmap_bytes(int64_t n) { return (n + 7) / 8; }

int td_array_init(td_array *a, td_type_id type, int64_t capacity, td_error *err) {
  memset(a, 0, sizeof *a);
  a->type = type;
  if (type == TD_TYPE_NONE) return td_err(err, TD_EINVAL, "cannot build an array without a type");
  return td_array_reserve(a, capacity < 16 ? 16 : capacity, err);
}

void td_array_reset(td_array *a) {
  td_free(a->validity);
  td_free(a->values);
  td_free(a->offsets);
  td_free(a->data);
  td_type_id t = a->type;
  memset(a, 0, sizeof *a);
  a->type = t;
}

int td_array_reserve(td_array *a, int64_t capacity, td_error *err) {
  if (capacity <= a->capacity) return TD_OK;
  if (capacity > ((int64_t)1 << 40)) return td_err(err, TD_ERANGE, "array capacity %lld is too large", (long long)capacity);
  if (a->validity) {
    uint8_t *v = td_realloc(a->validity, (size_t)bitmap_bytes(capacity));
    if (!v) return td_err_nomem(err, "growing a validity bitmap");
    memset(v + bitmap_bytes(a->capacity), 0xff, (size_t)(bitmap_bytes(capacity) - bitmap_bytes(a->capacity)));
    a->validity = v;
  }
  if (td_type_is_varlen(a->type)) {
    int32_t *o = td_realloc(a->offsets, (size_t)(capacity + 1) * sizeof *o);
    if (!o) return td_err_nomem(err, "growing string offsets");
    if (a->capacity == 0) o[0] = 0;
    a->offsets = o;
  } else {
    int w = td_type_width(a->type);
    size_t bytes = w ? (size_t)capacity * (size_t)w : (size_t)bitmap_bytes(capacity);
    uint8_t *v = td_realloc(a->values, bytes);
    if (!v) return td_err_nomem(err, "growing column values");
    if (!w) memset(v + bitmap_bytes(a->capacity), 0, bytes - (size_t)bitmap_bytes(a->capacity));
    a->values = v;
  }
  a->capacity = capacity;
  return TD_OK;
}

int td_array_reserve_data(td_array *a, int64_t bytes, td_error *err) {
  if (bytes <= a->data_capacity) return TD_OK;
  if (bytes > INT32_MAX) return td_err(err, TD_ERANGE, "string data of %lld bytes exceeds the 2 GiB limit of one utf8 array", (long long)bytes);
  int64_t cap = a->data_capacity ? a->data_capacity : 64;
  while (cap < bytes) cap *= 2;
  if (cap > INT32_MAX) cap = INT32_MAX;
  char *d = td_realloc(a->data, (size_t)cap);
  if (!d) return td_err_nomem(err, "growing string data");
  a->data = d;
  a->data_capacity = cap;
  return TD_OK;
}

static int grow_for_one(td_array *a, td_error *err) {
  if (a->length < a->capacity) return TD_OK;
  return td_array_reserve(a, a->capacity * 2, err);
}

/* Makes the validity bitmap (every slot valid) if there is none. */
static int need_validity(td_array *a, td_error *err) {
  if (a->validity) return TD_OK;
  a->validity = td_malloc((size_t)bitmap_bytes(a->capacity));
  if (!a->validity) return td_err_nomem(err, "allocating a validity bitmap");
  memset(a->validity, 0xff, (size_t)bitmap_bytes(a->capacity));
  return TD_OK;
}

int td_array_set_null(td_array *a, int64_t i, td_error *err) {
  int rc = need_validity(a, err);
  if (rc) return rc;
  if (td_bit_get(a->validity, i)) {
    td_bit_clear(a->validity, i);
    a->null_count++;
  }
  return TD_OK;
}

int td_array_and_validity(td_array *a, int64_t at, const uint8_t *bits, int64_t from, int64_t n, td_error *err) {
  if (n <= 0 || td_bits_count(bits, from, n) == n) return TD_OK;
  int rc = need_validity(a, err);
  if (rc) return rc;
  int64_t before = td_bits_count(a->validity, at, n);
  bits_move(a->validity, at, bits, from, n, true);
  a->null_count += before - td_bits_count(a->validity, at, n);
  return TD_OK;
}

static void mark_valid(td_array *a, int64_t i) {
  if (a->validity) td_bit_set(a->validity, i);
}

int td_array_append_null(td_array *a, td_error *err) {
  int rc = grow_for_one(a, err);
  if (rc) return rc;
  int64_t i = a->length;
  if (td_type_is_varlen(a->type)) a->offsets[i + 1] = a->offsets[i];
  else if (a->type == TD_TYPE_BOOL) td_bit_clear(a->values, i);
  else memset(a->values + i * td_type_width(a->type), 0, (size_t)td_type_width(a->type));
  a->length++;
  rc = td_array_set_null(a, i, err);
  if (rc) a->length--;
  return rc;
}

int td_array_append_int(td_array *a, int64_t v, td_error *err) {
  int rc = grow_for_one(a, err);
  if (rc) return rc;
  int64_t i = a->length;
  switch (a->type) {
    case TD_TYPE_BOOL: td_bit_put(a->values, i, v != 0); break;
    case TD_TYPE_INT8: ((int8_t *)a->values)[i] = (int8_t)v; break;
    case TD_TYPE_INT16: ((int16_t *)a->values)[i] = (int16_t)v; break;
    case TD_TYPE_UINT16: ((uint16_t *)a->values)[i] = (uint16_t)v; break;
    case TD_TYPE_UINT8: ((uint8_t *)a->values)[i] = (uint8_t)v; break;
    case TD_TYPE_UINT32: ((uint32_t *)a->values)[i] = (uint32_t)v; break;
    case TD_TYPE_INT32:
    case TD_TYPE_DATE32:
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS: ((int32_t *)a->values)[i] = (int32_t)v; break;
    case TD_TYPE_INT64:
    case TD_TYPE_UINT64:
    case TD_TYPE_TIMESTAMP:
    case TD_TYPE_DATE64:
    case TD_TYPE_TIMESTAMP_S:
    case TD_TYPE_TIMESTAMP_MS:
    case TD_TYPE_TIMESTAMP_US:
    case TD_TYPE_TIME64_US:
    case TD_TYPE_TIME64_NS:
    case TD_TYPE_DURATION_S:
    case TD_TYPE_DURATION_MS:
    case TD_TYPE_DURATION_US:
    case TD_TYPE_DURATION_NS: ((int64_t *)a->values)[i] = v; break;
    case TD_TYPE_FLOAT32: ((float *)a->values)[i] = (float)v; break;
    case TD_TYPE_FLOAT64: ((double *)a->values)[i] = (double)v; break;
    default: return td_err(err, TD_ETYPE, "cannot append an integer to a %s array", td_type_name(a->type));
  }
  mark_valid(a, i);
  a->length++;
  return TD_OK;
}

int td_array_append_double(td_array *a, double v, td_error *err) {
  if (a->type == TD_TYPE_FLOAT32 || a->type == TD_TYPE_FLOAT64) {
    int rc = grow_for_one(a, err);
    if (rc) return rc;
    if (a->type == TD_TYPE_FLOAT32) ((float *)a->values)[a->length] = (float)v;
    else ((double *)a->values)[a->length] = v;
    mark_valid(a, a->length);
    a->length++;
    return TD_OK;
  }
  return td_err(err, TD_ETYPE, "cannot append a floating-point value to a %s array", td_type_name(a->type));
}

int td_array_append_str(td_array *a, const char *s, int64_t len, td_error *err) {
  if (!td_type_is_varlen(a->type))
    return td_err(err, TD_ETYPE, "cannot append a string to a %s array", td_type_name(a->type));
  int rc = grow_for_one(a, err);
  if (rc) return rc;
  rc = td_array_reserve_data(a, a->data_length + len, err);
  if (rc) return rc;
  if (len) memcpy(a->data + a->data_length, s, (size_t)len);
  a->data_length += len;
  a->offsets[a->length + 1] = (int32_t)a->data_length;
  mark_valid(a, a->length);
  a->length++;
  return TD_OK;
}

int td_array_append_value(td_array *a, const td_value *v, td_error *err) {
  if (v->is_null || v->type == TD_TYPE_NONE) return td_array_append_null(a, err);
  if (td_type_is_varlen(a->type)) {
    if (!td_type_is_varlen(v->type))
      return td_err(err, TD_ETYPE, "cannot append a %s value to a %s array", td_type_name(v->type),
                    td_type_name(a->type));
    return td_array_append_str(a, v->v.s.ptr, (int64_t)v->v.s.len, err);
  }
  if (td_type_is_varlen(v->type))
    return td_err(err, TD_ETYPE, "cannot append a %s value to a %s array", td_type_name(v->type),
                  td_type_name(a->type));
  if (a->type == TD_TYPE_DECIMAL128 || v->type == TD_TYPE_DECIMAL128) {
    /* the value is taken as unscaled in the array's scale (callers align it) */
    if (a->type != v->type)
      return td_err(err, TD_ETYPE, "cannot append a %s value to a %s array", td_type_name(v->type),
                    td_type_name(a->type));
    int rc = grow_for_one(a, err);
    if (rc) return rc;
    td_dec_store(a->values + a->length * 16, td_dec_of(v));
    mark_valid(a, a->length);
    a->length++;
    return TD_OK;
  }
  if (td_type_is_float(v->type)) {
    if (td_type_is_float(a->type)) return td_array_append_double(a, v->v.f, err);
    return td_array_append_int(a, (int64_t)v->v.f, err);
  }
  if (v->type == TD_TYPE_BOOL) return td_array_append_int(a, v->v.b, err);
  if (v->type == TD_TYPE_UINT64 && td_type_is_float(a->type)) return td_array_append_double(a, (double)v->v.u, err);
  return td_array_append_int(a, v->v.i, err);
}

/* ---- export ---- */

typedef struct array_priv {
  const void *buffers[3];
  void *owned[3];
  bool block1; /* owned[1] is a td_grow_block block (td_array_export_block) */
  struct ArrowArray **children;
  struct ArrowArray *child_storage;
} array_priv;

static void array_release(struct ArrowArray *arr) {
  if (!arr || !arr->release) return;
  array_priv *p = arr->private_data;
  for (int64_t i = 0; i < arr->n_children; i++) td_arrow_array_release(arr->children[i]);
  for (int i = 0; i < 3; i++) {
    if (i == 1 && p->block1) td_free_block(p->owned[i]);
    else td_free(p->owned[i]);
  }
  td_free(p->children);
  td_free(p->child_storage);
  td_free(p);
  arr->release = NULL;
}

/* Makes `out` a flat array of `length` rows owning p and its buffers: the
 * validity bits given here (NULL, or present only when nulls > 0), the
 * others set in p by the caller. */
static void export_flat(struct ArrowArray *out, array_priv *p, int64_t length, uint8_t *validity, int64_t nulls,
                        int64_t n_buffers) {
  memset(out, 0, sizeof *out);
  out->length = length;
  out->null_count = nulls;
  p->buffers[0] = nulls ? validity : NULL;
  p->owned[0] = validity;
  out->n_buffers = n_buffers;
  out->buffers = p->buffers;
  out->private_data = p;
  out->release = array_release;
}

int td_array_export(td_array *a, struct ArrowArray *out, td_error *err) {
  array_priv *p = td_calloc(1, sizeof *p);
  if (!p) return td_err_nomem(err, "exporting an array");
  const bool varlen = td_type_is_varlen(a->type);
  if (varlen && !a->data) {
    int rc = td_array_reserve_data(a, 1, err);
    if (rc) {
      td_free(p);
      return rc;
    }
  }
  if (varlen) {
    p->buffers[1] = p->owned[1] = a->offsets;
    p->buffers[2] = p->owned[2] = a->data;
  } else {
    p->buffers[1] = p->owned[1] = a->values;
  }
  export_flat(out, p, a->length, a->validity, a->null_count, varlen ? 3 : 2);
  a->validity = NULL;
  a->values = NULL;
  a->offsets = NULL;
  a->data = NULL;
  td_array_reset(a);
  return TD_OK;
}

int td_array_export_block(int64_t length, void *values, uint8_t *validity, int64_t null_count,
                          struct ArrowArray *out, td_error *err) {
  array_priv *p = td_calloc(1, sizeof *p);
  if (!p) return td_err_nomem(err, "exporting an array");
  p->buffers[1] = p->owned[1] = values;
  p->block1 = true;
  export_flat(out, p, length, validity, null_count, 2);
  return TD_OK;
}

int td_struct_array_make(int64_t n, struct ArrowArray *children, int64_t length,
                         struct ArrowArray *out, td_error *err) {
  array_priv *p = td_calloc(1, sizeof *p);
  struct ArrowArray *storage = n ? td_malloc((size_t)n * sizeof *storage) : NULL;
  struct ArrowArray **ptrs = n ? td_malloc((size_t)n * sizeof *ptrs) : NULL;
  if (!p || (n && (!storage || !ptrs))) {
    td_free(p);
    td_free(storage);
    td_free(ptrs);
    for (int64_t i = 0; i < n; i++) td_arrow_array_release(&children[i]);
    return td_err_nomem(err, "building a record batch");
  }
  for (int64_t i = 0; i < n; i++) {
    td_arrow_array_move(&children[i], &storage[i]);
    ptrs[i] = &storage[i];
  }
  memset(out, 0, sizeof *out);
  out->length = length;
  out->n_buffers = 1;
  out->buffers = p->buffers; /* buffers[0] == NULL: no struct-level nulls */
  out->n_children = n;
  out->children = ptrs;
  p->children = ptrs;
  p->child_storage = storage;
  out->private_data = p;
  out->release = array_release;
  return TD_OK;
}

/* ---- views and validation ---- */

static int expected_buffers(td_type_id type) { return td_type_is_varlen(type) ? 3 : 2; }

int td_colview_init(td_colview *v, td_type_id type, const struct ArrowArray *a, td_error *err) {
  memset(v, 0, sizeof *v);
  if (!a || !a->release) return td_err(err, TD_EINVAL, "array is released or NULL");
  int nb = type == TD_TYPE_UTF8 && a->dictionary ? 2 : expected_buffers(type);
  if (a->n_buffers != nb)
    return td_err(err, TD_ECONTRACT, "a %s array has %d buffers, found %lld", td_type_name(type), nb,
                  (long long)a->n_buffers);
  if (!a->buffers)
    return td_err(err, TD_ECONTRACT, "a %s array has %d buffers, found no buffers array", td_type_name(type), nb);
  if (a->length < 0 || a->offset < 0)
    return td_err(err, TD_ECONTRACT, "array has negative length or offset");
  v->type = type;
  v->length = a->length;
  v->offset = a->offset;
  v->null_count = a->null_count;
  v->validity = a->null_count == 0 ? NULL : a->buffers[0];
  if (type == TD_TYPE_UTF8 && a->dictionary) {
    v->codes = a->buffers[1];
    if (!v->codes && a->length > 0) return td_err(err, TD_ECONTRACT, "dictionary array has no indices buffer");
  } else if (td_type_is_varlen(type)) {
    v->offsets = a->buffers[1];
    v->data = a->buffers[2];
    if (!v->offsets) return td_err(err, TD_ECONTRACT, "utf8 array has no offsets buffer");
    if (!v->data) v->data = "";
  } else {
    v->values = a->buffers[1];
    if (!v->values && a->length > 0) return td_err(err, TD_ECONTRACT, "array has no values buffer");
  }
  return TD_OK;
}

/* Checks the 64-bit offsets of a large_utf8 / large_binary array from
 * outside (3 buffers, monotonic, in bounds of nothing larger than int64). */
static int validate_large(td_type_id type, const struct ArrowArray *a, td_error *err) {
  if (!a || !a->release) return td_err(err, TD_EINVAL, "array is released or NULL");
  if (a->n_buffers != 3)
    return td_err(err, TD_ECONTRACT, "a %s array has 3 buffers, found %lld", td_type_name(type),
                  (long long)a->n_buffers);
  if (a->length < 0 || a->offset < 0) return td_err(err, TD_ECONTRACT, "array has negative length or offset");
  if (!a->buffers || !a->buffers[1]) return td_err(err, TD_ECONTRACT, "%s array has no offsets buffer", td_type_name(type));
  if (a->length == 0) return TD_OK;
  const int64_t *o = (const int64_t *)a->buffers[1] + a->offset;
  if (o[0] < 0) return td_err(err, TD_ECONTRACT, "%s array starts at negative offset %lld", td_type_name(type), (long long)o[0]);
  for (int64_t i = 0, sorted = td_offsets_sorted(o, a->length, 8); !sorted && i < a->length; i++)
    if (o[i + 1] < o[i])
      return td_err(err, TD_ECONTRACT, "%s offsets decrease at row %lld (%lld then %lld)", td_type_name(type),
                    (long long)i, (long long)o[i], (long long)o[i + 1]);
  if (o[a->length] > o[0] && !a->buffers[2])
    return td_err(err, TD_ECONTRACT, "%s array has bytes but no data buffer", td_type_name(type));
  return TD_OK;
}

int td_array_validate(td_type_id type, const struct ArrowArray *a, td_error *err) {
  if (type == TD_TYPE_LARGE_UTF8 || type == TD_TYPE_LARGE_BINARY) {
    int rc = validate_large(type, a, err);
    if (rc) return rc;
    type = TD_TYPE_UTF8; /* the rest of the checks do not read the offsets */
    if (a->n_children != 0 || a->dictionary)
      return td_err(err, TD_ECONTRACT, "a flat array has no children or dictionary");
    if (a->null_count > 0 && !a->buffers[0])
      return td_err(err, TD_ECONTRACT, "array reports %lld nulls but has no validity bitmap", (long long)a->null_count);
    if (a->null_count > 0 && a->length - td_bits_count(a->buffers[0], a->offset, a->length) != a->null_count)
      return td_err(err, TD_ECONTRACT, "array reports %lld nulls, its validity bitmap has %lld", (long long)a->null_count,
                    (long long)(a->length - td_bits_count(a->buffers[0], a->offset, a->length)));
    if (a->null_count < -1)
      return td_err(err, TD_ECONTRACT, "array reports a negative null count %lld", (long long)a->null_count);
    return TD_OK;
  }
  td_colview v;
  int rc = td_colview_init(&v, type, a, err);
  if (rc) return rc;
  if (a->n_children != 0 || a->dictionary)
    return td_err(err, TD_ECONTRACT, "a %s array has no children or dictionary, found %lld children%s",
                  td_type_name(type), (long long)a->n_children, a->dictionary ? " and a dictionary" : "");
  if (a->null_count != 0) {
    if (!a->buffers[0]) {
      if (a->null_count > 0) /* -1 (unknown) without a bitmap: no nulls */
        return td_err(err, TD_ECONTRACT, "array reports %lld nulls but has no validity bitmap",
                      (long long)a->null_count);
    } else if (a->null_count > 0) {
      int64_t valid = td_bits_count(a->buffers[0], a->offset, a->length);
      if (a->length - valid != a->null_count)
        return td_err(err, TD_ECONTRACT, "array reports %lld nulls, its validity bitmap has %lld",
                      (long long)a->null_count, (long long)(a->length - valid));
    } else if (a->null_count != -1) {
      return td_err(err, TD_ECONTRACT, "array reports a negative null count %lld", (long long)a->null_count);
    }
  }
  if (td_type_is_varlen(type) && a->length > 0) {
    const int32_t *o = v.offsets + a->offset;
    if (o[0] < 0) return td_err(err, TD_ECONTRACT, "utf8 array starts at negative offset %d", o[0]);
    for (int64_t i = 0, sorted = td_offsets_sorted(o, a->length, 4); !sorted && i < a->length; i++)
      if (o[i + 1] < o[i])
        return td_err(err, TD_ECONTRACT, "utf8 offsets decrease at row %lld (%d then %d)", (long long)i, o[i],
                      o[i + 1]);
    if (o[a->length] > 0 && !a->buffers[2])
      return td_err(err, TD_ECONTRACT, "utf8 array has string bytes but no data buffer");
  }
  return TD_OK;
}

int td_array_narrow(td_type_id type, const struct ArrowArray *a, struct ArrowArray *out, td_error *err) {
  const int64_t *o = (const int64_t *)a->buffers[1] + a->offset;
  int64_t bytes = a->length ? o[a->length] - o[0] : 0;
  if (bytes > INT32_MAX)
    return td_err(err, TD_ERANGE, "a %s array of %lld bytes exceeds the engine's 2 GiB page limit",
                  td_type_name(type), (long long)bytes);
  td_array b;
  int rc = td_array_init(&b, type, a->length, err);
  if (rc == TD_OK) rc = td_array_reserve_data(&b, bytes, err);
  if (rc == TD_OK) {
    const char *d = a->buffers[2] ? (const char *)a->buffers[2] : "";
    if (bytes) memcpy(b.data, d + o[0], (size_t)bytes);
    for (int64_t i = 0; i <= a->length; i++) b.offsets[i] = (int32_t)(o[i] - o[0]);
    b.data_length = bytes;
    b.length = a->length;
    const uint8_t *bits = a->null_count != 0 ? a->buffers[0] : NULL;
    for (int64_t i = 0; bits && rc == TD_OK && i < a->length; i++)
      if (!td_bit_get(bits, a->offset + i)) rc = td_array_set_null(&b, i, err);
  }
  if (rc == TD_OK) rc = td_array_export(&b, out, err);
  td_array_reset(&b);
  return rc;
}

int td_array_narrow_in_place(td_type_id type, struct ArrowArray *slot, td_error *err) {
  struct ArrowArray narrow;
  int rc = td_array_narrow(type, slot, &narrow, err);
  if (rc) return rc;
  td_arrow_array_release(slot);
  td_arrow_array_move(&narrow, slot);
  return TD_OK;
}

int td_colview_init_arrow(td_colview *v, td_type_id type, const struct ArrowArray *a, struct ArrowArray *tmp,
                          td_error *err) {
  memset(tmp, 0, sizeof *tmp);
  if (!td_type_is_large(type)) return td_colview_init(v, type, a, err);
  if (!a || !a->release || a->n_buffers != 3 || !a->buffers || !a->buffers[1])
    return td_err(err, TD_ECONTRACT, "a %s array has 3 buffers with offsets", td_type_name(type));
  struct ArrowArray whole = *a; /* every row from 0, so the view keeps a's offset */
  whole.length += whole.offset;
  whole.offset = 0;
  whole.null_count = a->null_count ? -1 : 0;
  int rc = td_array_narrow(type, &whole, tmp, err);
  if (rc == TD_OK) rc = td_colview_init(v, type, tmp, err);
  if (rc) {
    td_arrow_array_release(tmp);
    return rc;
  }
  v->offset = a->offset;
  v->length = a->length;
  return TD_OK;
}

int td_colview_export_arrow(const td_colview *v, td_type_id type, td_shared_array *owner, struct ArrowArray *out,
                            td_error *err) {
  return td_type_is_large(type) ? td_array_widen(v, out, err) : td_colview_export(v, owner, out, err);
}

int td_array_export_arrow(td_array *a, struct ArrowArray *out, td_error *err) {
  if (!td_type_is_large(a->type)) return td_array_export(a, out, err);
  td_colview v = {.type = a->type, .length = a->length, .validity = a->null_count ? a->validity : NULL,
                  .offsets = a->offsets, .data = a->data ? a->data : ""};
  int rc = td_array_widen(&v, out, err);
  if (rc == TD_OK) td_array_reset(a);
  return rc;
}

int td_array_widen(const td_colview *v, struct ArrowArray *out, td_error *err) {
  array_priv *p = td_calloc(1, sizeof *p);
  int64_t n = v->length, base = n ? v->offsets[v->offset] : 0;
  int64_t bytes = n ? v->offsets[v->offset + n] - base : 0;
  int64_t *off = td_malloc((size_t)(n + 1) * sizeof *off);
  char *data = td_malloc((size_t)bytes + 1);
  uint8_t *bits = v->validity ? td_malloc((size_t)bitmap_bytes(n)) : NULL;
  if (!p || !off || !data || (v->validity && !bits)) {
    td_free(p);
    td_free(off);
    td_free(data);
    td_free(bits);
    return td_err_nomem(err, "exporting a large string array");
  }
  for (int64_t i = 0; i <= n; i++) off[i] = n ? v->offsets[v->offset + i] - base : 0;
  if (bytes) memcpy(data, v->data + base, (size_t)bytes);
  int64_t nulls = 0;
  if (bits) {
    memset(bits, 0, (size_t)bitmap_bytes(n));
    for (int64_t i = 0; i < n; i++)
      if (td_colview_valid(v, i)) td_bit_set(bits, i);
      else nulls++;
  }
  p->buffers[1] = p->owned[1] = off;
  p->buffers[2] = p->owned[2] = data;
  export_flat(out, p, n, bits, nulls, 3);
  return TD_OK;
}

int td_struct_validate(const struct ArrowArray *s, td_error *err) {
  if (!s || !s->release) return td_err(err, TD_EINVAL, "struct array is released or NULL");
  if (s->length < 0 || s->offset < 0)
    return td_err(err, TD_ECONTRACT, "struct array has negative length %lld or offset %lld", (long long)s->length,
                  (long long)s->offset);
  if (s->n_buffers != 1 && s->n_buffers != 0) /* 0: some producers omit the absent bitmap */
    return td_err(err, TD_ECONTRACT, "a struct array has 1 buffer, found %lld", (long long)s->n_buffers);
  if (s->n_children < 0 || (s->n_children > 0 && !s->children))
    return td_err(err, TD_ECONTRACT, "struct array has no children array");
  const uint8_t *bits = s->n_buffers > 0 && s->buffers ? s->buffers[0] : NULL;
  if (s->null_count > 0 && !bits)
    return td_err(err, TD_ECONTRACT, "struct array reports %lld nulls but has no validity bitmap",
                  (long long)s->null_count);
  if (s->null_count > 0 && s->length - td_bits_count(bits, s->offset, s->length) != s->null_count)
    return td_err(err, TD_ECONTRACT, "struct array reports %lld nulls, its validity bitmap has %lld",
                  (long long)s->null_count, (long long)(s->length - td_bits_count(bits, s->offset, s->length)));
  if (s->null_count < -1)
    return td_err(err, TD_ECONTRACT, "struct array reports a negative null count %lld", (long long)s->null_count);
  for (int64_t i = 0; i < s->n_children; i++) {
    const struct ArrowArray *c = s->children[i];
    if (!c || !c->release) return td_err(err, TD_ECONTRACT, "child %lld of a struct array is released", (long long)i);
    if (c->length < s->offset + s->length)
      return td_err(err, TD_ECONTRACT,
                    "child %lld of a struct array of %lld rows at offset %lld has only %lld rows", (long long)i,
                    (long long)s->length, (long long)s->offset, (long long)c->length);
  }
  return TD_OK;
}

bool td_struct_has_nulls(const struct ArrowArray *s) {
  const uint8_t *bits = s->buffers && s->n_buffers > 0 ? s->buffers[0] : NULL;
  if (!bits || s->null_count == 0 || s->length == 0) return false;
  return s->null_count > 0 || td_bits_count(bits, s->offset, s->length) != s->length;
}

int td_struct_child_export(const struct ArrowArray *s, int64_t i, td_type_id type, td_shared_array *owner,
                           struct ArrowArray *out, td_error *err) {
  const struct ArrowArray *c = s->children[i];
  if (!td_struct_has_nulls(s)) return td_array_export_view(c, s->offset, s->length, owner, out, err);
  td_colview v;
  td_array a;
  int rc = td_colview_init(&v, type, c, err);
  if (rc) return rc;
  if ((rc = td_array_init(&a, type, s->length, err)) == TD_OK)
    rc = td_array_append_view(&a, &v, s->offset, s->length, err);
  const uint8_t *bits = s->buffers[0];
  for (int64_t j = 0; rc == TD_OK && j < s->length; j++)
    if (!td_bit_get(bits, s->offset + j)) rc = td_array_set_null(&a, j, err);
  if (rc == TD_OK) rc = td_array_export(&a, out, err);
  td_array_reset(&a);
  return rc;
}

td_value td_colview_value(const td_colview *v, int64_t i) {
  td_value r;
  memset(&r, 0, sizeof r);
  r.type = v->type;
  if (!td_colview_valid(v, i)) {
    r.is_null = true;
    return r;
  }
  switch (v->type) {
    case TD_TYPE_BOOL: r.v.b = td_colview_int(v, i) != 0; break;
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: r.v.f = td_colview_double(v, i); break;
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_UTF8:
    case TD_TYPE_LARGE_BINARY: {
      int64_t len;
      if (v->codes) r.v.s.ptr = td_colview_str(&v->dict->view, v->codes[v->offset + i], &len);
      else r.v.s.ptr = td_colview_str(v, i, &len);
      r.v.s.len = (size_t)len;
      break;
    }
    case TD_TYPE_DECIMAL128: /* precision and scale: the caller's (the view has none) */
      memcpy(&r.v.d.lo, (const uint8_t *)v->values + (v->offset + i) * 16, 8);
      memcpy(&r.v.d.hi, (const uint8_t *)v->values + (v->offset + i) * 16 + 8, 8);
      break;
    default: r.v.i = td_colview_int(v, i); break;
  }
  return r;
}

int td_array_append_view(td_array *a, const td_colview *src, int64_t begin, int64_t n,
                         td_error *err) {
  if (n <= 0) return TD_OK;
  int rc = td_array_reserve(a, a->length + n, err);
  if (rc) return rc;
  if (src->codes) return td_dict_decode(a, src, begin, n, NULL, err);
  int64_t dst = a->length;
  int64_t so = src->offset + begin;
  if (td_type_is_varlen(a->type)) {
    int32_t base = src->offsets[so];
    int64_t bytes = src->offsets[so + n] - base;
    rc = td_array_reserve_data(a, a->data_length + bytes, err);
    if (rc) return rc;
    if (bytes) memcpy(a->data + a->data_length, src->data + base, (size_t)bytes);
    for (int64_t i = 0; i < n; i++)
      a->offsets[dst + i + 1] = (int32_t)(a->data_length + (src->offsets[so + i + 1] - base));
    a->data_length += bytes;
  } else if (a->type == TD_TYPE_BOOL) {
    const uint8_t *bits = src->values;
    for (int64_t i = 0; i < n; i++) td_bit_put(a->values, dst + i, td_bit_get(bits, so + i));
  } else {
    int w = td_type_width(a->type);
    memcpy(a->values + dst * w, (const uint8_t *)src->values + so * w, (size_t)(n * w));
  }
  if (src->validity) {
    for (int64_t i = 0; i < n; i++) {
      if (!td_bit_get(src->validity, so + i)) {
        a->length = dst + i + 1; /* set_null requires the slot to exist */
        rc = td_array_set_null(a, dst + i, err);
        if (rc) {
          a->length = dst;
          return rc;
        }
      } else if (a->validity) {
        td_bit_set(a->validity, dst + i);
      }
    }
  } else if (a->validity) {
    for (int64_t i = 0; i < n; i++) td_bit_set(a->validity, dst + i);
  }
  a->length = dst + n;
  return TD_OK;
}

void td_arrow_array_release(struct ArrowArray *a) {
  if (a && a->release) a->release(a);
}
void td_arrow_schema_release(struct ArrowSchema *s) {
  if (s && s->release) s->release(s);
}
void td_arrow_array_move(struct ArrowArray *src, struct ArrowArray *dst) {
  *dst = *src;
  src->release = NULL;
}
void td_arrow_schema_move(struct ArrowSchema *src, struct ArrowSchema *dst) {
  *dst = *src;
  src->release = NULL;
}

int td_shared_array_new(struct ArrowArray *src, td_shared_array **out, td_error *err) {
  td_shared_array *s = td_malloc(sizeof *s);
  if (!s) {
    td_arrow_array_release(src);
    *out = NULL;
    return td_err_nomem(err, "sharing an array");
  }
  atomic_init(&s->refs, 1);
  s->bytes = 0;
  td_arrow_array_move(src, &s->array);
  *out = s;
  return TD_OK;
}

td_shared_array *td_shared_array_retain(td_shared_array *s) {
  if (s) atomic_fetch_add(&s->refs, 1);
  return s;
}

void td_shared_array_release(td_shared_array *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
  td_arrow_array_release(&s->array);
  td_free(s);
}

typedef struct view_priv {
  const void *buffers[3];
  td_shared_array *owner;
  struct ArrowArray dict; /* a td_dict's entries (td_dict_export), or released */
} view_priv;

static void view_release(struct ArrowArray *a) {
  if (!a || !a->release) return;
  view_priv *p = a->private_data;
  td_arrow_array_release(&p->dict);
  td_shared_array_release(p->owner);
  td_free(p);
  a->release = NULL;
}

td_shared_array *td_array_view_root(const struct ArrowArray *a) {
  td_shared_array *root = NULL;
  while (a && a->release == view_release) {
    root = ((const view_priv *)a->private_data)->owner;
    a = &root->array;
  }
  return root;
}

int64_t td_array_extent_bytes(td_type_id type, const struct ArrowArray *a) {
  int64_t n = a->offset + a->length;
  int64_t bytes = a->n_buffers > 0 && a->buffers[0] ? (n + 7) / 8 : 0;
  if (type == TD_TYPE_UTF8 && a->dictionary) {
    bytes += n * 4; /* int32 codes */
  } else if (td_type_is_varlen(type)) {
    const int32_t *o = a->n_buffers > 1 ? a->buffers[1] : NULL;
    bytes += (n + 1) * 4 + (o && n > 0 && o[n] > 0 ? o[n] : 0);
  } else {
    int w = td_type_width(type);
    bytes += w ? n * w : (n + 7) / 8;
  }
  return bytes;
}

int td_array_export_view(const struct ArrowArray *src, int64_t begin, int64_t length,
                         td_shared_array *owner, struct ArrowArray *out, td_error *err) {
  if (src->n_buffers > 3 || src->n_children != 0 || (src->dictionary && !td_dict_of(src->dictionary)))
    return td_err(err, TD_EINVAL, "only flat arrays and arrays of a td_dict can be viewed");
  view_priv *p = td_calloc(1, sizeof *p);
  if (!p) return td_err_nomem(err, "exporting an array view");
  if (src->dictionary) {
    int rc = td_dict_export(td_dict_of(src->dictionary), &p->dict, err);
    if (rc) {
      td_free(p);
      return rc;
    }
  }
  for (int64_t i = 0; i < src->n_buffers; i++) p->buffers[i] = src->buffers[i];
  p->owner = td_shared_array_retain(owner);
  memset(out, 0, sizeof *out);
  out->length = length;
  out->offset = src->offset + begin;
  out->null_count = src->null_count == 0 ? 0 : (begin == 0 && length == src->length ? src->null_count : -1);
  out->n_buffers = src->n_buffers;
  out->buffers = p->buffers;
  out->dictionary = src->dictionary ? &p->dict : NULL;
  out->private_data = p;
  out->release = view_release;
  return TD_OK;
}

int td_colview_export(const td_colview *v, td_shared_array *owner, struct ArrowArray *out,
                      td_error *err) {
  if (v->codes) { /* exported decoded */
    td_array a;
    int rc = td_array_init(&a, TD_TYPE_UTF8, v->length, err);
    if (rc == TD_OK) rc = td_dict_decode(&a, v, 0, v->length, NULL, err);
    if (rc == TD_OK) rc = td_array_export(&a, out, err);
    td_array_reset(&a);
    return rc;
  }
  struct ArrowArray src;
  const void *bufs[3];
  memset(&src, 0, sizeof src);
  bufs[0] = v->validity;
  if (td_type_is_varlen(v->type)) {
    bufs[1] = v->offsets;
    bufs[2] = v->data;
    src.n_buffers = 3;
  } else {
    bufs[1] = v->values;
    src.n_buffers = 2;
  }
  src.buffers = bufs;
  src.offset = v->offset;
  src.length = v->length;
  src.null_count = v->validity ? -1 : 0;
  return td_array_export_view(&src, 0, v->length, owner, out, err);
}

#define TD_GATHER_IDX(k) (idx32 ? (int64_t)idx32[k] : idx64[k])

int td_array_append_gather(td_array *a, const td_colview *src, const uint32_t *idx32,
                           const int64_t *idx64, int64_t n, td_error *err) {
  if (n <= 0) return TD_OK;
  if (src->codes && idx32) return td_dict_decode(a, src, 0, n, idx32, err);
  if (src->codes) { /* 64-bit indices: one row at a time */
    for (int64_t k = 0; k < n; k++) {
      int rc = td_dict_decode(a, src, idx64[k], 1, NULL, err);
      if (rc) return rc;
    }
    return TD_OK;
  }
  int rc = td_array_reserve(a, a->length + n, err);
  if (rc) return rc;
  int64_t dst = a->length, so = src->offset;
  switch (a->type) {
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_UTF8:
    case TD_TYPE_LARGE_BINARY: {
      int64_t bytes = 0;
      for (int64_t k = 0; k < n; k++) {
        int64_t j = so + TD_GATHER_IDX(k);
        bytes += src->offsets[j + 1] - src->offsets[j];
      }
      if ((rc = td_array_reserve_data(a, a->data_length + bytes, err)) != TD_OK) return rc;
      for (int64_t k = 0; k < n; k++) {
        int64_t j = so + TD_GATHER_IDX(k);
        int32_t len = src->offsets[j + 1] - src->offsets[j];
        if (len) memcpy(a->data + a->data_length, src->data + src->offsets[j], (size_t)len);
        a->data_length += len;
        a->offsets[dst + k + 1] = (int32_t)a->data_length;
      }
      break;
    }
    case TD_TYPE_BOOL:
      for (int64_t k = 0; k < n; k++)
        td_bit_put(a->values, dst + k, td_bit_get(src->values, so + TD_GATHER_IDX(k)));
      break;
    case TD_TYPE_INT8:
    case TD_TYPE_UINT8: {
      const int8_t *v = (const int8_t *)src->values + so;
      int8_t *o = (int8_t *)a->values + dst;
      for (int64_t k = 0; k < n; k++) o[k] = v[TD_GATHER_IDX(k)];
      break;
    }
    case TD_TYPE_INT16:
    case TD_TYPE_UINT16: {
      const int16_t *v = (const int16_t *)src->values + so;
      int16_t *o = (int16_t *)a->values + dst;
      for (int64_t k = 0; k < n; k++) o[k] = v[TD_GATHER_IDX(k)];
      break;
    }
    case TD_TYPE_INT32:
    case TD_TYPE_UINT32:
    case TD_TYPE_FLOAT32:
    case TD_TYPE_DATE32:
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS: {
      const int32_t *v = (const int32_t *)src->values + so;
      int32_t *o = (int32_t *)a->values + dst;
      for (int64_t k = 0; k < n; k++) o[k] = v[TD_GATHER_IDX(k)];
      break;
    }
    case TD_TYPE_DECIMAL128: {
      const uint8_t *v = (const uint8_t *)src->values + so * 16;
      uint8_t *o = a->values + dst * 16;
      for (int64_t k = 0; k < n; k++) memcpy(o + k * 16, v + TD_GATHER_IDX(k) * 16, 16);
      break;
    }
    default: {
      const int64_t *v = (const int64_t *)src->values + so;
      int64_t *o = (int64_t *)a->values + dst;
      if (idx32)
        for (int64_t k = 0; k < n; k++) o[k] = v[idx32[k]];
      else
        for (int64_t k = 0; k < n; k++) o[k] = v[idx64[k]];
      break;
    }
  }
  a->length = dst + n;
  if (src->validity || a->validity) {
    for (int64_t k = 0; k < n; k++) {
      bool valid = !src->validity || td_bit_get(src->validity, so + TD_GATHER_IDX(k));
      if (!valid) {
        if ((rc = td_array_set_null(a, dst + k, err)) != TD_OK) return rc;
      } else if (a->validity) {
        td_bit_set(a->validity, dst + k);
      }
    }
  }
  return TD_OK;
}
