/*
 * arrow/array.h - owned column arrays (builders), read-only views of any
 * ArrowArray, validation of arrays that come from outside, and export.
 *
 * td_array  - an owned, contiguous column being built (offset 0).  Fill it
 *             with the append functions, or in bulk: td_array_init(a, t, n),
 *             write n values straight into a->values, set a->length = n, and
 *             call td_array_set_null() for null slots.  td_array_export()
 *             moves the buffers into an ArrowArray whose release frees them.
 * td_colview - a borrowed view of one ArrowArray of a known type, with the
 *             array's offset applied by the accessors.  Valid while the
 *             ArrowArray it views is.
 */
#ifndef TD_ARROW_ARRAY_H
#define TD_ARROW_ARRAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"
#include "tabledata/types.h"

static inline bool td_bit_get(const uint8_t *bits, int64_t i) {
  return (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void td_bit_set(uint8_t *bits, int64_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static inline void td_bit_clear(uint8_t *bits, int64_t i) {
  bits[i >> 3] &= (uint8_t)~(1u << (i & 7));
}
static inline void td_bit_put(uint8_t *bits, int64_t i, bool v) {
  if (v) td_bit_set(bits, i);
  else td_bit_clear(bits, i);
}
/* Number of set bits in [begin, begin+n). */
int64_t td_bits_count(const uint8_t *bits, int64_t begin, int64_t n);
/* Whether the n + 1 offsets (`width` 4 or 8 bytes each, aligned) start at
 * 0 or more and never decrease: one pass without an early exit, which
 * vectorizes; callers look for the failing row only when it says false. */
bool td_offsets_sorted(const void *offsets, int64_t n, int width);
/* Bits [from, from + n) of src to bits [at, at + n) of dst, at any bit
 * positions (whole bytes at a time between the ends); the other bits of dst
 * are kept.  Reads no byte of src outside the bits it copies. */
void td_bits_copy(uint8_t *dst, int64_t at, const uint8_t *src, int64_t from, int64_t n);

typedef struct td_array {
  td_type_id type;
  int64_t length;
  int64_t capacity;
  int64_t null_count;
  uint8_t *validity; /* NULL while every value is valid */
  uint8_t *values;   /* fixed-width values, or the bit-packed values of bool */
  int32_t *offsets;  /* utf8 only: capacity + 1 entries */
  char *data;        /* utf8 only */
  int64_t data_length;
  int64_t data_capacity;
} td_array;

int td_array_init(td_array *a, td_type_id type, int64_t capacity, td_error *err);
void td_array_reset(td_array *a);
int td_array_reserve(td_array *a, int64_t capacity, td_error *err);
int td_array_reserve_data(td_array *a, int64_t bytes, td_error *err);
int td_array_append_null(td_array *a, td_error *err);
/* For int8..int64, uint16, timestamp and bool (non-zero = true).  The value
 * is not range-checked: callers convert first. */
int td_array_append_int(td_array *a, int64_t v, td_error *err);
int td_array_append_double(td_array *a, double v, td_error *err);
int td_array_append_str(td_array *a, const char *s, int64_t len, td_error *err);
/* Appends a scalar of the array's type (or a null of any type). */
int td_array_append_value(td_array *a, const td_value *v, td_error *err);
/* Marks slot i (< length) null, creating the validity bitmap if needed. */
int td_array_set_null(td_array *a, int64_t i, td_error *err);
/* Marks null each slot at + k (< capacity, k < n) whose bit from + k of
 * `bits` (an Arrow validity bitmap) is 0, as td_array_set_null would, a byte
 * at a time; slots whose bit is 1 keep what they had.  No bitmap is made
 * when every bit is 1.  Fails only when the bitmap cannot be allocated. */
int td_array_and_validity(td_array *a, int64_t at, const uint8_t *bits, int64_t from, int64_t n, td_error *err);
/* Moves the contents into `out` (which the caller must release) and resets
 * `a`.  On failure `a` is left as it was and `out` untouched. */
int td_array_export(td_array *a, struct ArrowArray *out, td_error *err);

typedef struct td_colview {
  td_type_id type;
  int64_t length;
  int64_t offset; /* applied by the accessors below */
  int64_t null_count;
  const uint8_t *validity; /* NULL: no nulls */
  const void *values;      /* fixed width or bool bits; NULL for utf8 */
  const int32_t *offsets;  /* utf8 */
  const char *data;        /* utf8 */
  /* Dictionary-encoded utf8 (arrow/dict.h): codes of the rows into dict,
   * offsets and data NULL.  Only consumers that asked for codes see these. */
  const int32_t *codes;
  const struct td_dict *dict;
} td_colview;

/* Views `a` as a column of `type`; checks only the buffer layout (cheap).
 * A utf8 dictionary array gives a view with codes set and dict NULL (the
 * page that owns the array attaches its td_dict).
 * Use td_array_validate() for arrays from untrusted producers. */
int td_colview_init(td_colview *v, td_type_id type, const struct ArrowArray *a, td_error *err);
/* Full check of an ArrowArray of `type`: buffer count and presence, no
 * children, null_count consistent, utf8 offsets monotonic and in bounds.
 * large_utf8 and large_binary are checked with 64-bit offsets (the Arrow
 * layout a producer outside the engine uses); see td_array_narrow. */
int td_array_validate(td_type_id type, const struct ArrowArray *a, td_error *err);
/* Copies a validated large_utf8 / large_binary array (64-bit offsets) into
 * the engine's layout (32-bit offsets) as `out`, an array of `type` owned by
 * the caller.  More than 2 GiB of bytes: TD_ERANGE. */
int td_array_narrow(td_type_id type, const struct ArrowArray *a, struct ArrowArray *out, td_error *err);
/* td_array_narrow into the same place: releases `slot` (a validated large
 * array, possibly a struct's child: the Arrow C interface lets a consumer
 * release a child on its own) and moves the narrowed copy there. */
int td_array_narrow_in_place(td_type_id type, struct ArrowArray *slot, td_error *err);
/* td_colview_init for an array in the Arrow layout of `type` (what a
 * td_table stream hands out): large_utf8 / large_binary are narrowed into
 * `tmp` (the caller releases it after the view; zeroed for other types). */
int td_colview_init_arrow(td_colview *v, td_type_id type, const struct ArrowArray *a, struct ArrowArray *tmp,
                          td_error *err);
/* Copies the rows of a varlen view (32-bit offsets) into a new array with
 * 64-bit offsets (the Arrow layout of "U" and "Z"), owned by the caller. */
int td_array_widen(const td_colview *v, struct ArrowArray *out, td_error *err);
/* True for the types whose Arrow layout differs from the engine's pages. */
static inline bool td_type_is_large(td_type_id t) {
  return t == TD_TYPE_LARGE_UTF8 || t == TD_TYPE_LARGE_BINARY;
}
/* True for utf8 and large_utf8, or binary and large_binary (either order):
 * their pages are the same, so values of one mix with the other (a
 * comparison, a UNION, a join key). */
static inline bool td_type_same_varlen(td_type_id a, td_type_id b) {
  return td_type_is_varlen(a) && td_type_small(a) == td_type_small(b);
}

static inline bool td_colview_valid(const td_colview *v, int64_t i) {
  return !v->validity || td_bit_get(v->validity, v->offset + i);
}
static inline int64_t td_colview_int(const td_colview *v, int64_t i) {
  int64_t j = v->offset + i;
  switch (v->type) {
    case TD_TYPE_BOOL: return td_bit_get((const uint8_t *)v->values, j);
    case TD_TYPE_INT8: return ((const int8_t *)v->values)[j];
    case TD_TYPE_INT16: return ((const int16_t *)v->values)[j];
    case TD_TYPE_UINT16: return ((const uint16_t *)v->values)[j];
    case TD_TYPE_UINT8: return ((const uint8_t *)v->values)[j];
    case TD_TYPE_UINT32: return ((const uint32_t *)v->values)[j];
    case TD_TYPE_INT32:
    case TD_TYPE_DATE32:
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS: return ((const int32_t *)v->values)[j];
    case TD_TYPE_INT64:
    case TD_TYPE_UINT64: /* the bits; callers that care read v.u */
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
    case TD_TYPE_DURATION_NS: return ((const int64_t *)v->values)[j];
    case TD_TYPE_FLOAT32: return (int64_t)((const float *)v->values)[j];
    case TD_TYPE_FLOAT64: return (int64_t)((const double *)v->values)[j];
    default: return 0;
  }
}
static inline double td_colview_double(const td_colview *v, int64_t i) {
  int64_t j = v->offset + i;
  switch (v->type) {
    case TD_TYPE_FLOAT32: return ((const float *)v->values)[j];
    case TD_TYPE_FLOAT64: return ((const double *)v->values)[j];
    case TD_TYPE_UINT64: return (double)((const uint64_t *)v->values)[j];
    default: return (double)td_colview_int(v, i);
  }
}
static inline const char *td_colview_str(const td_colview *v, int64_t i, int64_t *len) {
  int64_t j = v->offset + i;
  *len = v->offsets[j + 1] - v->offsets[j];
  return v->data + v->offsets[j];
}
/* The value at row i as a td_value (strings borrow the array's bytes). */
td_value td_colview_value(const td_colview *v, int64_t i);

/* Appends rows [begin, begin+n) of `src` (same type) to `a`. */
int td_array_append_view(td_array *a, const td_colview *src, int64_t begin, int64_t n,
                         td_error *err);

/* Exports a fixed-width column of `length` values whose values buffer is a
 * td_grow_block block (util/alloc.h), moved in without a copy: the array's
 * release frees it with td_free_block.  `validity` (bits allocated with
 * td_malloc, NULL: no nulls) and its `null_count` are moved in too.  On
 * failure (TD_ENOMEM) nothing is taken. */
int td_array_export_block(int64_t length, void *values, uint8_t *validity, int64_t null_count,
                          struct ArrowArray *out, td_error *err);

/* Releases a live ArrowArray / ArrowSchema; NULL or released is fine. */
void td_arrow_array_release(struct ArrowArray *a);
void td_arrow_schema_release(struct ArrowSchema *s);
/* Moves src into dst (dst must not be live). */
void td_arrow_array_move(struct ArrowArray *src, struct ArrowArray *dst);
void td_arrow_schema_move(struct ArrowSchema *src, struct ArrowSchema *dst);

/* A reference-counted owner of one ArrowArray, so several zero-copy views
 * can keep it alive.  td_shared_array_new takes (moves) `src`. */
typedef struct td_shared_array {
  _Atomic int64_t refs;
  struct ArrowArray array;
  int64_t bytes; /* the memory it keeps alive, when its creator knows it
                    (0: unknown; the page cache then estimates it) */
} td_shared_array;
int td_shared_array_new(struct ArrowArray *src, td_shared_array **out, td_error *err);
td_shared_array *td_shared_array_retain(td_shared_array *s);
void td_shared_array_release(td_shared_array *s); /* NULL is fine */

/* The shared array a view made by td_array_export_view keeps alive (the
 * innermost, when views are of views), or NULL for any other array. */
td_shared_array *td_array_view_root(const struct ArrowArray *a);
/* The bytes a flat array of `type` reaches from the start of its buffers to
 * its last row (offset + length rows): what it keeps alive at least. */
int64_t td_array_extent_bytes(td_type_id type, const struct ArrowArray *a);

/* Exports rows [begin, begin+length) of the flat array `src` as `out`,
 * sharing its buffers (no copy).  `out` keeps `owner` alive: it takes one
 * reference to it (released by out's release callback). */
int td_array_export_view(const struct ArrowArray *src, int64_t begin, int64_t length,
                         td_shared_array *owner, struct ArrowArray *out, td_error *err);

/* Appends the rows of `src` at indices idx32[0..n) (or idx64 when idx32 is
 * NULL) to `a` (same type).  Indices are relative to the view. */
int td_array_append_gather(td_array *a, const td_colview *src, const uint32_t *idx32,
                           const int64_t *idx64, int64_t n, td_error *err);

/* Exports the rows a view covers (v->offset, v->length) as an array sharing
 * its buffers; `out` keeps `owner` (the view's buffers' owner) alive. */
int td_colview_export(const td_colview *v, td_shared_array *owner, struct ArrowArray *out,
                      td_error *err);

/* td_colview_export, and td_array_export, for arrays handed out of the
 * engine: large_utf8 / large_binary rows are copied with 64-bit offsets.
 * `type` is the column's declared type, which decides the layout: a view
 * of utf8 pages may serve a large_utf8 column (a UNION of both). */
int td_colview_export_arrow(const td_colview *v, td_type_id type, td_shared_array *owner, struct ArrowArray *out,
                            td_error *err);
int td_array_export_arrow(td_array *a, struct ArrowArray *out, td_error *err);

/* Checks the layout of a struct array from outside: its (validity) buffer,
 * non-negative offset and length, a null count that agrees with its bitmap,
 * and every child long enough for the struct's rows (struct row j is child
 * row offset + j, the child's own offset applied on top). */
int td_struct_validate(const struct ArrowArray *s, td_error *err);
/* True when some row of struct `s` is null at the struct level. */
bool td_struct_has_nulls(const struct ArrowArray *s);
/* The rows of struct `s` (a validated struct, kept alive by `owner`) in its
 * flat child `i` of `type`, as `out`: a zero-copy view keeping `owner` alive
 * when the struct has no nulls of its own, else a copy in which the
 * struct's nulls are nulls. */
int td_struct_child_export(const struct ArrowArray *s, int64_t i, td_type_id type, td_shared_array *owner,
                           struct ArrowArray *out, td_error *err);

/* Builds a struct array ("+s") of `length` rows from `n` children, taking
 * them (they are moved even on failure, and then released). */
int td_struct_array_make(int64_t n, struct ArrowArray *children, int64_t length,
                         struct ArrowArray *out, td_error *err);

#endif
