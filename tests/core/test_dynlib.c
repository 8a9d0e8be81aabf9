/*
 * tests/core/test_dynlib.c - optional client libraries loaded on first use
 * (util/dynlib.h): a process that links tabledata has neither librdkafka nor
 * libpq loaded until a backend of theirs is made; a library that cannot be
 * opened, or lacks a function, fails every load with one clear message; one
 * that loads has its functions bound and callable.
 */
#include <dlfcn.h>
#include <string.h>

#include "tabledata.h"
#include "test.h"
#include "util/dynlib.h"

static double (*my_cos)(double);

static const char *bind_cos(void *h) { return td_dynlib_sym(h, "cos", &my_cos) ? NULL : "cos"; }

static const char *bind_missing(void *h) {
  void (*f)(void);
  if (!td_dynlib_sym(h, "cos", &my_cos)) return "cos";
  return td_dynlib_sym(h, "td_no_such_function", &f) ? NULL : "td_no_such_function";
}

static void test_not_loaded_at_start(void **state) {
  (void)state;
  /* RTLD_NOLOAD: a handle only if the library is in the process already */
  void *h = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (h) fail_msg("librdkafka is loaded in a process that made no Kafka backend");
  h = dlopen("libpq.so.5", RTLD_NOW | RTLD_NOLOAD);
  if (h) fail_msg("libpq is loaded in a process that made no PostgreSQL backend");
}

static void test_missing_library(void **state) {
  (void)state;
  static td_dynlib lib = TD_DYNLIB_INIT("libtd-no-such-library.so.9", "Widget sources", "libwidget9", bind_cos);
  td_error err;
  for (int i = 0; i < 2; i++) { /* the failure is remembered, with its message */
    td_error_clear(&err);
    assert_int_equal(td_dynlib_load(&lib, &err), TD_EUNSUPPORTED);
    assert_int_equal(err.code, TD_EUNSUPPORTED);
    TD_ASSERT_CONTAINS(err.message, "Widget sources need libtd-no-such-library.so.9");
    TD_ASSERT_CONTAINS(err.message, "Debian package libwidget9");
    TD_ASSERT_CONTAINS(err.message, "cannot be loaded");
  }
  assert_int_equal(td_dynlib_load(&lib, NULL), TD_EUNSUPPORTED); /* no error struct: the code alone */
}

static void test_missing_function(void **state) {
  (void)state;
  static td_dynlib lib = TD_DYNLIB_INIT("libm.so.6", "Math sources", "libc6", bind_missing);
  td_error err;
  assert_int_equal(td_dynlib_load(&lib, &err), TD_EUNSUPPORTED);
  TD_ASSERT_CONTAINS(err.message, "libm.so.6");
  TD_ASSERT_CONTAINS(err.message, "has no function td_no_such_function");
}

static void test_loads_and_binds(void **state) {
  (void)state;
  static td_dynlib lib = TD_DYNLIB_INIT("libm.so.6", "Math sources", "libc6", bind_cos);
  td_error err;
  my_cos = NULL;
  TD_ASSERT_OK(td_dynlib_load(&lib, &err), &err);
  assert_non_null(my_cos);
  volatile double zero = 0.0; /* a call through the bound pointer, not a constant */
  assert_true(my_cos(zero) == 1.0);
  TD_ASSERT_OK(td_dynlib_load(&lib, &err), &err); /* once per process: again is a no-op */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_not_loaded_at_start),
      cmocka_unit_test(test_missing_library),
      cmocka_unit_test(test_missing_function),
      cmocka_unit_test(test_loads_and_binds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
