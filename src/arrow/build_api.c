/*
 * arrow/build_api.c - the public builders (tabledata/arrow_build.h) over the
 * internal td_array and td_schema.
 */
#include <string.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "tabledata/arrow_build.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

struct td_builder {
  td_array a;
};

/* A builder function given no builder. */
static int no_builder(td_error *err) { return td_err(err, TD_EINVAL, "no builder (NULL)"); }

int td_builder_new(td_type_id type, td_builder **out, td_error *err) {
  if (!out) return td_err(err, TD_EINVAL, "td_builder_new needs an out pointer");
  *out = NULL;
  if (type == TD_TYPE_NONE || td_type_format(type)[0] == '?')
    return td_err(err, TD_EINVAL, "cannot build a column of type %d", (int)type);
  td_builder *b = td_calloc(1, sizeof *b);
  if (!b) return td_err_nomem(err, "creating a builder");
  int rc = td_array_init(&b->a, type, 0, err);
  if (rc) {
    td_free(b);
    return rc;
  }
  *out = b;
  return TD_OK;
}

void td_builder_free(td_builder *b) {
  if (!b) return;
  td_array_reset(&b->a);
  td_free(b);
}

int64_t td_builder_length(const td_builder *b) { return b ? b->a.length : 0; }
int td_builder_append_null(td_builder *b, td_error *err) {
  return b ? td_array_append_null(&b->a, err) : no_builder(err);
}
int td_builder_append_int(td_builder *b, int64_t v, td_error *err) {
  return b ? td_array_append_int(&b->a, v, err) : no_builder(err);
}
int td_builder_append_double(td_builder *b, double v, td_error *err) {
  return b ? td_array_append_double(&b->a, v, err) : no_builder(err);
}
int td_builder_append_str(td_builder *b, const char *s, int64_t len, td_error *err) {
  if (!b) return no_builder(err);
  if (!s && len != 0) return td_err(err, TD_EINVAL, "td_builder_append_str: NULL string of length %lld", (long long)len);
  return td_array_append_str(&b->a, s ? s : "", len < 0 ? (int64_t)strlen(s) : len, err);
}
int td_builder_append_value(td_builder *b, const td_value *v, td_error *err) {
  if (!b) return no_builder(err);
  if (!v) return td_err(err, TD_EINVAL, "td_builder_append_value: no value (NULL)");
  return td_array_append_value(&b->a, v, err);
}

int td_builder_finish(td_builder *b, struct ArrowArray *out, td_error *err) {
  if (!b) return no_builder(err);
  if (!out) return td_err(err, TD_EINVAL, "td_builder_finish needs an out array");
  td_type_id t = b->a.type;
  int rc = td_array_export(&b->a, out, err);
  if (rc) return rc;
  if (td_type_is_large(t)) { /* the Arrow layout of "U" / "Z": 64-bit offsets */
    struct ArrowArray narrow;
    td_colview v;
    td_arrow_array_move(out, &narrow);
    rc = td_colview_init(&v, t, &narrow, err);
    if (rc == TD_OK) rc = td_array_widen(&v, out, err);
    td_arrow_array_release(&narrow);
    if (rc) return rc;
  }
  return td_array_init(&b->a, t, 0, err);
}

int td_batch_make(int64_t n, struct ArrowArray *columns, struct ArrowArray *out, td_error *err) {
  if (n < 0 || (n > 0 && !columns) || !out) {
    for (int64_t j = 0; columns && j < n; j++) td_arrow_array_release(&columns[j]);
    return td_err(err, TD_EINVAL, "td_batch_make needs %lld columns and an out array", (long long)n);
  }
  int64_t len = n > 0 ? columns[0].length : 0;
  for (int64_t i = 1; i < n; i++) {
    if (columns[i].length != len) {
      int rc = td_err(err, TD_EINVAL, "column %lld has %lld rows, column 0 has %lld", (long long)i,
                      (long long)columns[i].length, (long long)len);
      for (int64_t j = 0; j < n; j++) td_arrow_array_release(&columns[j]);
      return rc;
    }
  }
  return td_struct_array_make(n, columns, len, out, err);
}

int td_schema_make(int64_t n, const char *const *names, const td_type_id *types,
                   const char *const *tzs, struct ArrowSchema *out, td_error *err) {
  if (n < 0 || (n > 0 && (!names || !types)) || !out)
    return td_err(err, TD_EINVAL, "td_schema_make needs %lld names and types and an out schema", (long long)n);
  for (int64_t i = 0; i < n; i++)
    if (!names[i]) return td_err(err, TD_EINVAL, "td_schema_make: column %lld has no name", (long long)i);
  td_schema s;
  td_schema_init(&s);
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < n; i++)
    rc = td_schema_add(&s, names[i], types[i], tzs ? tzs[i] : NULL, true, err);
  if (rc == TD_OK) rc = td_schema_export(&s, out, err);
  td_schema_reset(&s);
  return rc;
}

int td_arrow_get_value(const struct ArrowSchema *field, const struct ArrowArray *array, int64_t row,
                       td_value *out, td_error *err) {
  td_type_id type = TD_TYPE_NONE;
  const char *tz;
  int rc = td_type_from_format(field ? field->format : NULL, &type, &tz, err);
  if (rc) return rc;
  if (!array || !array->release || !out) return td_err(err, TD_EINVAL, "td_arrow_get_value needs an array and an out value");
  if (row < 0 || row >= array->length)
    return td_err(err, TD_ERANGE, "row %lld is out of range (the array has %lld rows)", (long long)row,
                  (long long)array->length);
  td_colview v;
  if (td_type_is_large(type)) { /* 64-bit offsets: read in place */
    if (array->n_buffers != 3 || !array->buffers[1])
      return td_err(err, TD_ECONTRACT, "a %s array has 3 buffers with offsets", td_type_name(type));
    memset(out, 0, sizeof *out);
    out->type = type;
    int64_t j = array->offset + row;
    if (array->null_count != 0 && array->buffers[0] && !td_bit_get(array->buffers[0], j)) {
      out->is_null = true;
      return TD_OK;
    }
    const int64_t *o = array->buffers[1];
    out->v.s.ptr = array->buffers[2] ? (const char *)array->buffers[2] + o[j] : "";
    out->v.s.len = (size_t)(o[j + 1] - o[j]);
    return TD_OK;
  }
  if ((rc = td_colview_init(&v, type, array, err)) != TD_OK) return rc;
  *out = td_colview_value(&v, row);
  if (type == TD_TYPE_DECIMAL128) {
    int p = 0, sc = 0;
    td_dec_params(tz, &p, &sc); /* checked by td_type_from_format */
    out->precision = (uint8_t)p;
    out->scale = (uint8_t)sc;
  }
  return TD_OK;
}

int td_field_schema_make(const char *name, td_type_id type, const char *tz, struct ArrowSchema *out,
                         td_error *err) {
  if (!name || !out) return td_err(err, TD_EINVAL, "td_field_schema_make needs a name and an out schema");
  td_schema s;
  td_schema_init(&s);
  int rc = td_schema_add(&s, name, type, tz, true, err);
  if (rc == TD_OK) rc = td_field_export(&s.fields[0], out, err);
  td_schema_reset(&s);
  return rc;
}
