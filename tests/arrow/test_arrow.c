/*
 * tests/arrow/test_arrow.c - schema import/export, builders, views, validation.
 */
#include <stdlib.h>
#include <string.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "test.h"
#include "util/alloc.h"

static void test_schema_roundtrip(void **state) {
  (void)state;
  td_error err;
  td_schema s;
  td_schema_init(&s);
  TD_ASSERT_OK(td_schema_add(&s, "a", TD_TYPE_INT64, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(&s, "ts", TD_TYPE_TIMESTAMP, "UTC", false, &err), &err);
  TD_ASSERT_OK(td_schema_add(&s, "s", TD_TYPE_UTF8, NULL, true, &err), &err);
  struct ArrowSchema as;
  TD_ASSERT_OK(td_schema_export(&s, &as, &err), &err);
  assert_string_equal(as.format, "+s");
  assert_int_equal(as.n_children, 3);
  assert_string_equal(as.children[1]->format, "tsn:UTC");
  assert_string_equal(as.children[1]->name, "ts");
  td_schema back;
  TD_ASSERT_OK(td_schema_import(&as, &back, &err), &err);
  as.release(&as);
  assert_null(as.release);
  assert_int_equal(back.n_fields, 3);
  assert_true(td_field_same_type(&s.fields[1], &back.fields[1]));
  assert_string_equal(back.fields[1].tz, "UTC");
  assert_true(back.fields[0].nullable);
  assert_false(back.fields[1].nullable);
  td_schema_reset(&s);
  td_schema_reset(&back);
}

static void test_unsupported_format(void **state) {
  (void)state;
  td_error err;
  td_type_id t;
  const char *tz;
  assert_int_equal(td_type_from_format("+l", &t, &tz, &err), TD_EUNSUPPORTED);
  TD_ASSERT_CONTAINS(err.message, "'+l'");
  assert_int_equal(td_type_from_format("tDs", &t, &tz, &err), TD_EUNSUPPORTED);
  TD_ASSERT_OK(td_type_from_format("tsu:UTC", &t, &tz, &err), &err);
  assert_int_equal(t, TD_TYPE_TIMESTAMP_US);
  assert_string_equal(tz, "UTC");
  TD_ASSERT_OK(td_type_from_format("tdD", &t, &tz, &err), &err);
  assert_int_equal(t, TD_TYPE_DATE32);
  assert_null(tz);
}

static void test_builder_and_view(void **state) {
  (void)state;
  td_error err;
  td_array a;
  TD_ASSERT_OK(td_array_init(&a, TD_TYPE_UTF8, 1, &err), &err);
  for (int i = 0; i < 100; i++) {
    if (i % 7 == 0) TD_ASSERT_OK(td_array_append_null(&a, &err), &err);
    else {
      char buf[16];
      int n = snprintf(buf, sizeof buf, "v%d", i);
      TD_ASSERT_OK(td_array_append_str(&a, buf, n, &err), &err);
    }
  }
  struct ArrowArray arr;
  TD_ASSERT_OK(td_array_export(&a, &arr, &err), &err);
  assert_int_equal(arr.length, 100);
  assert_int_equal(arr.null_count, 15);
  TD_ASSERT_OK(td_array_validate(TD_TYPE_UTF8, &arr, &err), &err);
  td_colview v;
  TD_ASSERT_OK(td_colview_init(&v, TD_TYPE_UTF8, &arr, &err), &err);
  assert_false(td_colview_valid(&v, 0));
  int64_t len;
  const char *s = td_colview_str(&v, 13, &len);
  assert_int_equal(len, 3);
  assert_memory_equal(s, "v13", 3);
  /* copy a range through append_view */
  td_array b;
  TD_ASSERT_OK(td_array_init(&b, TD_TYPE_UTF8, 4, &err), &err);
  TD_ASSERT_OK(td_array_append_view(&b, &v, 10, 20, &err), &err);
  assert_int_equal(b.length, 20);
  assert_int_equal(b.null_count, 3); /* 14, 21, 28 */
  struct ArrowArray barr;
  TD_ASSERT_OK(td_array_export(&b, &barr, &err), &err);
  td_colview bv;
  TD_ASSERT_OK(td_colview_init(&bv, TD_TYPE_UTF8, &barr, &err), &err);
  s = td_colview_str(&bv, 5, &len);
  assert_memory_equal(s, "v15", 3);
  assert_false(td_colview_valid(&bv, 4));
  barr.release(&barr);
  arr.release(&arr);
}

static void test_validate_rejects(void **state) {
  (void)state;
  td_error err;
  td_array a;
  TD_ASSERT_OK(td_array_init(&a, TD_TYPE_UTF8, 4, &err), &err);
  TD_ASSERT_OK(td_array_append_str(&a, "abc", 3, &err), &err);
  TD_ASSERT_OK(td_array_append_str(&a, "de", 2, &err), &err);
  struct ArrowArray arr;
  TD_ASSERT_OK(td_array_export(&a, &arr, &err), &err);
  int32_t *off = (int32_t *)arr.buffers[1];
  off[1] = 4; off[2] = 2; /* decreasing */
  assert_int_equal(td_array_validate(TD_TYPE_UTF8, &arr, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "decrease");
  assert_int_equal(td_array_validate(TD_TYPE_INT64, &arr, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "buffers");
  arr.release(&arr);
}

static void test_bool_and_nulls(void **state) {
  (void)state;
  td_error err;
  td_array a;
  TD_ASSERT_OK(td_array_init(&a, TD_TYPE_BOOL, 2, &err), &err);
  for (int i = 0; i < 70; i++) {
    if (i == 3) TD_ASSERT_OK(td_array_append_null(&a, &err), &err);
    else TD_ASSERT_OK(td_array_append_int(&a, i % 2, &err), &err);
  }
  struct ArrowArray arr;
  TD_ASSERT_OK(td_array_export(&a, &arr, &err), &err);
  TD_ASSERT_OK(td_array_validate(TD_TYPE_BOOL, &arr, &err), &err);
  td_colview v;
  TD_ASSERT_OK(td_colview_init(&v, TD_TYPE_BOOL, &arr, &err), &err);
  assert_int_equal(td_colview_int(&v, 69), 1);
  assert_int_equal(td_colview_int(&v, 68), 0);
  assert_false(td_colview_valid(&v, 3));
  assert_true(td_colview_valid(&v, 4));
  arr.release(&arr);
}

static void test_alloc_failures(void **state) {
  (void)state;
  /* Every allocation point of a schema export fails cleanly. */
  for (int64_t n = 0; n < 64; n++) {
    td_schema s;
    td_schema_init(&s);
    td_error err;
    td__alloc_fail_after(n);
    int rc = td_schema_add(&s, "a", TD_TYPE_INT32, NULL, true, &err);
    if (rc == TD_OK) rc = td_schema_add(&s, "b", TD_TYPE_TIMESTAMP, "UTC", true, &err);
    struct ArrowSchema as = {0};
    if (rc == TD_OK) rc = td_schema_export(&s, &as, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      as.release(&as);
      td_schema_reset(&s);
      break;
    }
    assert_int_equal(rc, TD_ENOMEM);
    assert_null(as.release);
    td_schema_reset(&s);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema_roundtrip),   cmocka_unit_test(test_unsupported_format),
      cmocka_unit_test(test_builder_and_view),   cmocka_unit_test(test_validate_rejects),
      cmocka_unit_test(test_bool_and_nulls),     cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
