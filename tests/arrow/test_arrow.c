/*
 * tests/arrow/test_arrow.c - schema import/export, builders, views, validation.
 */
#include <stdlib.h>
#include <string.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "keys/keys.h"
#include "test.h"
#include "util/alloc.h"
#include "util/decimal.h"

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
  assert_int_equal(td_type_from_format("tiM", &t, &tz, &err), TD_EUNSUPPORTED); /* interval[months] */
  assert_int_equal(td_type_from_format("tDx", &t, &tz, &err), TD_EUNSUPPORTED);
  static const char *const dfmt[] = {"tDs", "tDm", "tDu", "tDn"}; /* durations: one type per unit */
  for (int i = 0; i < 4; i++) {
    TD_ASSERT_OK(td_type_from_format(dfmt[i], &t, &tz, &err), &err);
    assert_int_equal(t, TD_TYPE_DURATION_S + i);
    assert_null(tz);
    assert_string_equal(td_type_format(t), dfmt[i]);
    assert_true(td_type_is_duration(t) && !td_type_is_temporal(t));
    assert_int_equal(td_type_width(t), 8);
  }
  assert_int_equal(td_duration_unit_ns(TD_TYPE_DURATION_MS), 1000000);
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

/* td_offsets_sorted against the row-by-row rule (first >= 0, never
 * decreasing) for both widths, including values whose difference overflows
 * a signed subtraction. */
static void test_offsets_sorted(void **state) {
  (void)state;
  enum { N = 40 };
  int64_t o8[N + 1];
  int32_t o4[N + 1];
  const int64_t big8[] = {0, 1, 5, INT64_MAX / 2, INT64_MAX - 1, INT64_MAX, -1, INT64_MIN};
  const int32_t big4[] = {0, 1, 5, INT32_MAX / 2, INT32_MAX - 1, INT32_MAX, -1, INT32_MIN};
  for (int64_t n = 0; n <= N; n++)
    for (int64_t at = 0; at <= n; at++)
      for (int k = 0; k < 8; k++)
        for (int up = 0; up < 2; up++) { /* offsets 0, 1, 2, ... with slot `at` set to a big value */
          for (int64_t i = 0; i <= n; i++) o8[i] = o4[i] = (int32_t)i;
          o8[at] = big8[k];
          o4[at] = big4[k];
          if (up) /* the later offsets from the big one on, so only a negative one breaks it */
            for (int64_t i = at + 1; i <= n; i++) o8[i] = o8[at], o4[i] = o4[at];
          bool ok8 = o8[0] >= 0, ok4 = o4[0] >= 0;
          for (int64_t i = 1; i <= n; i++) ok8 = ok8 && o8[i] >= o8[i - 1], ok4 = ok4 && o4[i] >= o4[i - 1];
          assert_int_equal(td_offsets_sorted(o8, n, 8), ok8);
          assert_int_equal(td_offsets_sorted(o4, n, 4), ok4);
        }
}

/* td_bits_copy and td_array_and_validity at every bit position of source
 * and destination, against bit-by-bit copies. */
/* td_bits_count: any start bit and length, whole words through the POPCNT
 * path or libgcc's, against a count bit by bit. */
static void test_bits_count(void **state) {
  (void)state;
  uint8_t bits[80];
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (size_t i = 0; i < sizeof bits; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    bits[i] = (uint8_t)x;
  }
  for (int64_t begin = 0; begin < 70; begin++)
    for (int64_t n = 0; begin + n <= 8 * (int64_t)sizeof bits; n += n < 140 ? 1 : 61) {
      int64_t want = 0;
      for (int64_t i = begin; i < begin + n; i++) want += td_bit_get(bits, i);
      assert_int_equal(td_bits_count(bits, begin, n), want);
    }
  memset(bits, 0xff, sizeof bits);
  assert_int_equal(td_bits_count(bits, 3, 8 * 80 - 3), 8 * 80 - 3);
}

static void test_bit_ranges(void **state) {
  (void)state;
  td_error err;
  uint8_t src[16], dst[16], want[16];
  for (int i = 0; i < 16; i++) src[i] = (uint8_t)(0x5a ^ (i * 37));
  for (int64_t from = 0; from < 12; from++)
    for (int64_t at = 0; at < 12; at++)
      for (int64_t n = 0; n + from <= 100 && n + at <= 100; n += 7) {
        memset(dst, 0xa5, sizeof dst);
        memcpy(want, dst, sizeof want);
        for (int64_t i = 0; i < n; i++) td_bit_put(want, at + i, td_bit_get(src, from + i));
        td_bits_copy(dst, at, src, from, n);
        assert_memory_equal(dst, want, sizeof dst);

        /* AND into a validity bitmap with some slots already null */
        td_array a;
        TD_ASSERT_OK(td_array_init(&a, TD_TYPE_INT64, 128, &err), &err);
        for (int64_t i = 0; i < 128; i++) TD_ASSERT_OK(td_array_append_int(&a, i, &err), &err);
        TD_ASSERT_OK(td_array_set_null(&a, at, &err), &err);
        TD_ASSERT_OK(td_array_set_null(&a, 120, &err), &err);
        bool valid[128];
        int64_t nulls = 0;
        for (int64_t i = 0; i < 128; i++) {
          valid[i] = i != at && i != 120 && (i < at || i >= at + n || td_bit_get(src, from + i - at));
          nulls += !valid[i];
        }
        TD_ASSERT_OK(td_array_and_validity(&a, at, src, from, n, &err), &err);
        assert_int_equal(a.null_count, nulls);
        for (int64_t i = 0; i < 128; i++) assert_int_equal(td_bit_get(a.validity, i), valid[i]);
        td_array_reset(&a);
      }
  /* all ones: no bitmap is made */
  td_array a;
  TD_ASSERT_OK(td_array_init(&a, TD_TYPE_INT64, 64, &err), &err);
  memset(src, 0xff, sizeof src);
  TD_ASSERT_OK(td_array_and_validity(&a, 3, src, 5, 50, &err), &err);
  assert_null(a.validity);
  assert_int_equal(a.null_count, 0);
  /* the bitmap cannot be allocated */
  src[2] = 0;
  td__alloc_fail_after(0);
  assert_int_equal(td_array_and_validity(&a, 3, src, 5, 50, &err), TD_ENOMEM);
  td__alloc_fail_after(-1);
  assert_null(a.validity);
  TD_ASSERT_OK(td_array_and_validity(&a, 3, src, 5, 50, &err), &err);
  assert_int_equal(a.null_count, 8);
  td_array_reset(&a);
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

/* decimal128: the "p,s" parameter through schemas and Arrow, exact text both ways, ordering. */
static void test_decimal(void **state) {
  (void)state;
  td_error err;
  td_schema s;
  td_schema_init(&s);
  TD_ASSERT_OK(td_schema_add(&s, "d", TD_TYPE_DECIMAL128, "38,10,128", true, &err), &err);
  assert_string_equal(s.fields[0].tz, "38,10"); /* canonical */
  assert_int_equal(td_schema_add(&s, "e", TD_TYPE_DECIMAL128, NULL, true, &err), TD_EINVAL);
  assert_int_equal(td_schema_add(&s, "e", TD_TYPE_DECIMAL128, "39,1", true, &err), TD_EINVAL);
  assert_int_equal(td_schema_add(&s, "e", TD_TYPE_DECIMAL128, "5,6", true, &err), TD_EINVAL);
  struct ArrowSchema as;
  TD_ASSERT_OK(td_schema_export(&s, &as, &err), &err);
  assert_string_equal(as.children[0]->format, "d:38,10");
  td_schema back;
  TD_ASSERT_OK(td_schema_import(&as, &back, &err), &err);
  as.release(&as);
  assert_true(td_field_same_type(&s.fields[0], &back.fields[0]));
  char text[64];
  assert_string_equal(td_field_type_text(&back.fields[0], text, sizeof text), "decimal128(38,10)");
  td_schema_reset(&back);
  td_schema_reset(&s);
  td_type_id t;
  const char *param;
  assert_int_equal(td_type_from_format("d:0,0", &t, &param, &err), TD_EUNSUPPORTED);
  assert_int_equal(td_type_from_format("d:10,2,256", &t, &param, &err), TD_EUNSUPPORTED);
  /* text */
  td_i128 v, max38 = td_dec_pow10(38) - 1;
  assert_true(td_dec_parse("-12.3", 5, 9, 2, &v) && v == -1230);
  assert_true(td_dec_parse(" +.5 ", 5, 3, 1, &v) && v == 5);
  assert_true(td_dec_parse("1.2300", 6, 9, 2, &v) && v == 123); /* trailing zeros beyond the scale */
  assert_true(td_dec_parse("1e3", 3, 9, 0, &v) && v == 1000);
  assert_true(td_dec_parse("99999999999999999999999999999999999999", 38, 38, 0, &v) && v == max38);
  assert_false(td_dec_parse("1.234", 5, 9, 2, &v));   /* too many fraction digits */
  assert_false(td_dec_parse("1000", 4, 3, 0, &v));    /* beyond the precision */
  assert_false(td_dec_parse("100000000000000000000000000000000000000", 39, 38, 0, &v));
  assert_false(td_dec_parse("1.2.3", 5, 9, 2, &v));
  assert_false(td_dec_parse("", 0, 9, 2, &v));
  assert_false(td_dec_parse("-", 1, 9, 2, &v));
  assert_false(td_dec_parse("1e", 2, 9, 2, &v));
  char buf[64];
  td_dec_format(-max38, 38, buf, sizeof buf);
  assert_string_equal(buf, "-0.99999999999999999999999999999999999999");
  td_dec_format(-5, 2, buf, sizeof buf);
  assert_string_equal(buf, "-0.05");
  td_dec_format(1200, 2, buf, sizeof buf);
  assert_string_equal(buf, "12.00");
  td_dec_format(0, 0, buf, sizeof buf);
  assert_string_equal(buf, "0");
  td_value x = td_value_decimal(38, 2, 1230, 0), y = td_dec_value(5, 1, 123), z = td_value_int(TD_TYPE_INT64, 12);
  td_value_format(&x, buf, sizeof buf);
  assert_string_equal(buf, "12.30");
  assert_int_equal(td_value_compare(&x, &y), 0); /* 12.30 = 12.3 */
  assert_int_equal(td_value_hash(&x), td_value_hash(&y));
  assert_true(td_value_compare(&x, &z) > 0);
  td_value big = td_dec_value(38, 0, max38), small = td_dec_value(38, 38, -max38);
  assert_true(td_value_compare(&big, &small) > 0 && td_value_compare(&small, &big) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema_roundtrip),   cmocka_unit_test(test_unsupported_format),
      cmocka_unit_test(test_decimal),
      cmocka_unit_test(test_builder_and_view),   cmocka_unit_test(test_validate_rejects),
      cmocka_unit_test(test_bool_and_nulls),     cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_offsets_sorted),     cmocka_unit_test(test_bit_ranges), cmocka_unit_test(test_bits_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
