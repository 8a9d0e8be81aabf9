/*
 * arrow/dict.c - shared dictionaries of dictionary-encoded utf8 columns,
 * the check of dictionary arrays from backends, and the one decoder that
 * turns codes back into strings (arrow/dict.h).
 */
#include "arrow/dict.h"

#include "util/alloc.h"
#include "util/error.h"

static _Atomic uint64_t next_id = 1;

int td_dict_wrap(td_shared_array *keep, const struct ArrowArray *entries, td_dict **out, td_error *err) {
  *out = NULL;
  td_colview v;
  int rc = td_colview_init(&v, TD_TYPE_UTF8, entries, err);
  if (rc) return rc;
  if (entries->dictionary || entries->n_children)
    return td_err(err, TD_ECONTRACT, "a dictionary must be a flat utf8 array, found one with %s",
                  entries->dictionary ? "its own dictionary" : "children");
  if (v.validity && td_bits_count(v.validity, v.offset, v.length) != v.length)
    return td_err(err, TD_ECONTRACT, "a dictionary has null entries");
  td_dict *d = td_calloc(1, sizeof *d);
  if (!d) return td_err_nomem(err, "keeping a dictionary");
  atomic_init(&d->refs, 1);
  d->id = atomic_fetch_add(&next_id, 1);
  d->view = v;
  d->view.validity = NULL;
  d->view.null_count = 0;
  d->keep = td_shared_array_retain(keep);
  d->bytes = (v.length + 1) * 4 + (v.length > 0 ? v.offsets[v.offset + v.length] - v.offsets[v.offset] : 0);
  *out = d;
  return TD_OK;
}

int td_dict_copy(const td_array *entries, td_dict **out, td_error *err) {
  *out = NULL;
  if (entries->type != TD_TYPE_UTF8 || entries->null_count > 0)
    return td_err(err, TD_ECONTRACT, "a dictionary is a utf8 array without nulls, found %s with %lld nulls",
                  td_type_name(entries->type), (long long)entries->null_count);
  int64_t n = entries->length, bytes = entries->data_length;
  td_array copy;
  struct ArrowArray arr;
  td_shared_array *sh = NULL;
  int rc = td_array_init(&copy, TD_TYPE_UTF8, n, err);
  if (rc) return rc;
  if (!(rc = td_array_reserve_data(&copy, bytes, err))) {
    memcpy(copy.offsets, entries->offsets, (size_t)(n + 1) * sizeof *copy.offsets);
    if (bytes) memcpy(copy.data, entries->data, (size_t)bytes);
    copy.length = n;
    copy.data_length = bytes;
    rc = td_array_export(&copy, &arr, err);
  }
  td_array_reset(&copy);
  if (!rc) rc = td_shared_array_new(&arr, &sh, err);
  if (!rc) rc = td_dict_wrap(sh, &sh->array, out, err);
  td_shared_array_release(sh);
  return rc;
}

td_dict *td_dict_retain(td_dict *d) {
  if (d) atomic_fetch_add(&d->refs, 1);
  return d;
}

void td_dict_release(td_dict *d) {
  if (!d || atomic_fetch_sub(&d->refs, 1) != 1) return;
  td_shared_array_release(d->keep);
  td_free(d);
}

typedef struct dict_export {
  const void *buffers[3];
  td_dict *d;
} dict_export;

static void dict_export_release(struct ArrowArray *a) {
  if (!a || !a->release) return;
  dict_export *x = a->private_data;
  td_dict_release(x->d);
  td_free(x);
  a->release = NULL;
}

int td_dict_export(td_dict *d, struct ArrowArray *out, td_error *err) {
  dict_export *x = td_calloc(1, sizeof *x);
  if (!x) return td_err_nomem(err, "exporting a dictionary");
  x->buffers[0] = NULL;
  x->buffers[1] = d->view.offsets;
  x->buffers[2] = d->view.data;
  x->d = td_dict_retain(d);
  memset(out, 0, sizeof *out);
  out->length = d->view.length;
  out->offset = d->view.offset;
  out->n_buffers = 3;
  out->buffers = x->buffers;
  out->private_data = x;
  out->release = dict_export_release;
  return TD_OK;
}

td_dict *td_dict_of(const struct ArrowArray *entries) {
  if (!entries || entries->release != dict_export_release) return NULL;
  return ((dict_export *)entries->private_data)->d;
}

typedef struct dict_attach {
  struct ArrowArray codes, entries;
} dict_attach;

static void dict_attach_release(struct ArrowArray *a) {
  if (!a || !a->release) return;
  dict_attach *x = a->private_data;
  td_arrow_array_release(&x->codes);
  td_arrow_array_release(&x->entries);
  td_free(x);
  a->release = NULL;
}

int td_dict_concat(td_dict *const *ds, int64_t n, td_dict **out, td_error *err) {
  *out = NULL;
  int64_t len = 0, bytes = 0;
  for (int64_t i = 0; i < n; i++) {
    const td_colview *v = &ds[i]->view;
    len += v->length;
    bytes += v->length ? v->offsets[v->offset + v->length] - v->offsets[v->offset] : 0;
  }
  if (len > INT32_MAX || bytes > INT32_MAX)
    return td_err(err, TD_EUNSUPPORTED, "joined dictionaries of %lld entries and %lld bytes exceed int32",
                  (long long)len, (long long)bytes);
  td_array a;
  struct ArrowArray arr;
  td_shared_array *sh = NULL;
  int rc = td_array_init(&a, TD_TYPE_UTF8, len, err);
  if (rc) return rc;
  if (!(rc = td_array_reserve_data(&a, bytes, err))) {
    a.offsets[0] = 0;
    for (int64_t i = 0; i < n; i++) {
      const td_colview *v = &ds[i]->view;
      const int32_t *o = v->offsets + v->offset;
      int64_t b = v->length ? o[v->length] - o[0] : 0;
      if (b) memcpy(a.data + a.data_length, v->data + o[0], (size_t)b);
      for (int64_t k = 0; k < v->length; k++) a.offsets[a.length + k + 1] = (int32_t)(a.data_length + o[k + 1] - o[0]);
      a.length += v->length;
      a.data_length += b;
    }
    rc = td_array_export(&a, &arr, err);
  }
  td_array_reset(&a);
  if (!rc) rc = td_shared_array_new(&arr, &sh, err);
  if (!rc) rc = td_dict_wrap(sh, &sh->array, out, err);
  td_shared_array_release(sh);
  if (!rc && n <= TD_DICT_PARTS) {
    (*out)->n_parts = (int)n;
    for (int64_t i = 0, base = 0; i < n; base += ds[i]->view.length, i++) {
      (*out)->part_id[i] = ds[i]->id;
      (*out)->part_base[i] = base;
    }
  }
  return rc;
}

int td_dict_attach(struct ArrowArray *codes, td_dict *d, struct ArrowArray *out, td_error *err) {
  dict_attach *x = td_calloc(1, sizeof *x);
  int rc = x ? td_dict_export(d, &x->entries, err) : td_err_nomem(err, "attaching a dictionary");
  if (rc) {
    td_free(x);
    td_arrow_array_release(codes);
    return rc;
  }
  td_arrow_array_move(codes, &x->codes);
  memset(out, 0, sizeof *out);
  out->length = x->codes.length;
  out->offset = x->codes.offset;
  out->null_count = x->codes.null_count;
  out->n_buffers = 2;
  out->buffers = x->codes.buffers;
  out->dictionary = &x->entries;
  out->private_data = x;
  out->release = dict_attach_release;
  return TD_OK;
}

int td_dict_array_validate(const struct ArrowArray *a, td_error *err) {
  if (!a || !a->release) return td_err(err, TD_EINVAL, "array is released or NULL");
  if (a->n_buffers != 2 || a->n_children != 0 || !a->dictionary)
    return td_err(err, TD_ECONTRACT, "a dictionary array has 2 buffers, no children and a dictionary, "
                  "found %lld buffers and %lld children", (long long)a->n_buffers, (long long)a->n_children);
  td_colview v, dv;
  int rc = td_colview_init(&v, TD_TYPE_UTF8, a, err);
  if (!rc) rc = td_array_validate(TD_TYPE_UTF8, a->dictionary, err);
  if (!rc) rc = td_colview_init(&dv, TD_TYPE_UTF8, a->dictionary, err);
  if (rc) return td_err_prefix(err, rc, "dictionary array: ");
  if (dv.validity && dv.null_count != 0 && td_bits_count(dv.validity, dv.offset, dv.length) != dv.length)
    return td_err(err, TD_ECONTRACT, "a dictionary has null entries");
  if (a->null_count > 0 && !a->buffers[0])
    return td_err(err, TD_ECONTRACT, "array reports %lld nulls but has no validity bitmap",
                  (long long)a->null_count);
  int64_t bitmap_nulls = a->null_count > 0 ? a->length - td_bits_count(a->buffers[0], a->offset, a->length) : 0;
  if (bitmap_nulls != (a->null_count > 0 ? a->null_count : 0))
    return td_err(err, TD_ECONTRACT, "array reports %lld nulls, its bitmap has %lld", (long long)a->null_count,
                  (long long)bitmap_nulls);
  uint32_t n = (uint32_t)dv.length;
  /* Every code in range, null rows' included (how the readers make them):
   * one branch-free pass; only otherwise the row-by-row check. */
  if (td_codes_below((const uint32_t *)v.codes + v.offset, v.length, n)) return TD_OK;
  for (int64_t i = 0; i < v.length; i++) {
    int32_t c = v.codes[v.offset + i];
    if ((uint32_t)c >= n && td_colview_valid(&v, i))
      return td_err(err, TD_ECONTRACT, "dictionary index %d at row %lld is out of range (the dictionary has %u entries)",
                    c, (long long)i, n);
  }
  return TD_OK;
}

int td_dict_decode(td_array *a, const td_colview *v, int64_t begin, int64_t n, const uint32_t *idx,
                   td_error *err) {
  if (n <= 0) return TD_OK;
  const td_colview *d = &v->dict->view;
  const int32_t *offs = d->offsets + d->offset;
  const int32_t *codes = v->codes + v->offset;
  int rc = td_array_reserve(a, a->length + n, err);
  if (rc) return rc;
  int64_t bytes = 0;
  for (int64_t k = 0; k < n; k++) {
    int64_t r = idx ? idx[k] : begin + k;
    if (td_colview_valid(v, r)) bytes += offs[codes[r] + 1] - offs[codes[r]];
  }
  if ((rc = td_array_reserve_data(a, a->data_length + bytes, err)) != TD_OK) return rc;
  int64_t dst = a->length;
  for (int64_t k = 0; k < n; k++) {
    int64_t r = idx ? idx[k] : begin + k;
    if (td_colview_valid(v, r)) {
      int32_t o = offs[codes[r]], len = offs[codes[r] + 1] - o;
      if (len) memcpy(a->data + a->data_length, d->data + o, (size_t)len);
      a->data_length += len;
    }
    a->offsets[dst + k + 1] = (int32_t)a->data_length;
  }
  a->length = dst + n;
  for (int64_t k = 0; v->validity && k < n; k++)
    if (!td_colview_valid(v, idx ? idx[k] : begin + k) && (rc = td_array_set_null(a, dst + k, err)) != TD_OK)
      return rc;
  return TD_OK;
}
