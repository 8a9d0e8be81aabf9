/*
 * tests/support/typed_columns.c - the typed test table of typed_columns.h.
 */
#include "typed_columns.h"

#include <stdio.h>
#include <string.h>

#include "arrow/array.h"
#include "test.h"

const td_type_id td_test_types[TD_TEST_NCOLS] = {TD_TYPE_BOOL,   TD_TYPE_INT8,    TD_TYPE_INT16,   TD_TYPE_INT32,
                                                 TD_TYPE_INT64,  TD_TYPE_UINT16,  TD_TYPE_FLOAT32, TD_TYPE_FLOAT64,
                                                 TD_TYPE_UTF8,   TD_TYPE_TIMESTAMP};
bool td_test_with_nulls = true;

void td_test_schema(td_schema *s, bool nullable) {
  static const char *names[TD_TEST_NCOLS] = {"b", "i8", "i16", "i32", "i64", "u16", "f32", "f64", "s", "ts"};
  td_schema_init(s);
  for (int i = 0; i < TD_TEST_NCOLS; i++)
    TD_ASSERT_OK(td_schema_add(s, names[i], td_test_types[i], i == 9 ? "UTC" : NULL, nullable, NULL), NULL);
}

bool td_test_is_null(int col, int64_t row) { return td_test_with_nulls && (row * 7 + col) % 11 == 3; }

int64_t td_test_value(int col, int64_t row) {
  int64_t v = (row * 2654435761LL + col * 97) % 30000 - 15000 * (col != 5);
  if (td_test_types[col] == TD_TYPE_INT8) v %= 128;
  if (td_test_types[col] == TD_TYPE_BOOL) v &= 1;
  if (td_test_types[col] == TD_TYPE_TIMESTAMP) v *= 1000000007;
  return v;
}

struct ArrowArray td_test_column(int col, int64_t row0, int64_t n, int64_t skip) {
  td_type_id type = td_test_types[col];
  td_array a;
  TD_ASSERT_OK(td_array_init(&a, type, n + skip, NULL), NULL);
  char buf[32];
  for (int64_t k = -skip; k < n; k++) {
    int64_t row = row0 + k;
    if (k >= 0 && td_test_is_null(col, row)) {
      TD_ASSERT_OK(td_array_append_null(&a, NULL), NULL);
    } else if (type == TD_TYPE_UTF8) {
      int len = snprintf(buf, sizeof buf, "v%lld", (long long)td_test_value(col, row));
      TD_ASSERT_OK(td_array_append_str(&a, buf, row % 5 == 0 ? 0 : len, NULL), NULL);
    } else if (td_type_is_float(type)) {
      TD_ASSERT_OK(td_array_append_double(&a, (double)td_test_value(col, row) / 4, NULL), NULL);
    } else {
      TD_ASSERT_OK(td_array_append_int(&a, td_test_value(col, row), NULL), NULL);
    }
  }
  struct ArrowArray out;
  TD_ASSERT_OK(td_array_export(&a, &out, NULL), NULL);
  out.offset = skip;
  out.length = n;
  out.null_count = 0;
  for (int64_t k = 0; k < n; k++) out.null_count += td_test_is_null(col, row0 + k);
  return out;
}

struct ArrowArray td_test_batch(int64_t row0, int64_t n, int64_t skip) {
  struct ArrowArray kids[TD_TEST_NCOLS], batch;
  for (int c = 0; c < TD_TEST_NCOLS; c++) kids[c] = td_test_column(c, row0, n, skip);
  TD_ASSERT_OK(td_struct_array_make(TD_TEST_NCOLS, kids, n, &batch, NULL), NULL);
  return batch;
}

void td_test_check_rows(td_file_reader *r, int64_t offset, int64_t n) {
  for (int c = 0; c < TD_TEST_NCOLS; c++) {
    td_type_id type = td_test_types[c];
    struct ArrowArray a;
    td_error err;
    TD_ASSERT_OK(td_reader_read(r, c, offset, n, &a, &err), &err);
    TD_ASSERT_OK(td_array_validate(type, &a, &err), &err);
    struct ArrowArray expect = td_test_column(c, offset, n, 0);
    td_colview gv, ev;
    TD_ASSERT_OK(td_colview_init(&gv, type, &a, NULL), NULL);
    TD_ASSERT_OK(td_colview_init(&ev, type, &expect, NULL), NULL);
    for (int64_t i = 0; i < n; i++) {
      td_value x = td_colview_value(&gv, i), y = td_colview_value(&ev, i);
      assert_int_equal(x.is_null, y.is_null);
      if (x.is_null) continue;
      if (type == TD_TYPE_UTF8) {
        assert_int_equal(x.v.s.len, y.v.s.len);
        assert_memory_equal(x.v.s.ptr, y.v.s.ptr, x.v.s.len);
      } else if (td_type_is_float(type)) {
        assert_true(x.v.f == y.v.f);
      } else {
        assert_int_equal(td_colview_int(&gv, i), td_colview_int(&ev, i));
      }
    }
    a.release(&a);
    expect.release(&expect);
  }
}
