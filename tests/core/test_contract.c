/*
 * tests/core/test_contract.c - every way a backend can break the contract
 * gives a clear error naming table, location, column and what was expected
 * against what arrived; none crashes or leaks.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy_backend.h"
#include "tabledata.h"
#include "test.h"

typedef struct reports {
  int n;
  char last[TD_ERROR_MESSAGE_SIZE];
} reports;

static void on_error(void *ctx, int code, const char *msg) {
  reports *r = ctx;
  r->n++;
  snprintf(r->last, sizeof r->last, "%s", msg);
}

typedef struct env {
  td_script script;
  reports reps;
  td_service *svc;
  td_table_key *key;
} env;

static void env_open(env *e, int64_t timeout_ms) {
  memset(&e->reps, 0, sizeof e->reps);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 8;
  o.request_timeout_ms = timeout_ms;
  o.on_error = on_error;
  o.on_error_ctx = &e->reps;
  td_error err;
  TD_ASSERT_OK(td_service_new(td_script_backend(&e->script), &o, &e->svc, &err), &err);
  TD_ASSERT_OK(td_table_key_new("t", &e->key, &err), &err);
}

static void env_close(env *e) {
  td_script_join(&e->script);
  td_table_key_release(e->key);
  td_service_free(e->svc);
}

/* Reads rows [0, 4) of x and returns the status. */
static int read_x(env *e, td_error *err) {
  td_table *t;
  int rc = td_make_table(e->svc, e->key, NULL, &t, err);
  if (rc) return rc;
  int64_t col = td_table_column_index(t, "x");
  struct ArrowArray out;
  rc = td_table_read(t, &col, 1, 0, 4, &out, err);
  if (rc == TD_OK) {
    const int64_t *v = out.children[0]->buffers[1];
    for (int i = 0; i < 4; i++) assert_int_equal(v[i], i);
    out.release(&out);
  }
  td_table_release(t);
  return rc;
}

static void expect_values_error(td_script_mode mode, int code, const char *what) {
  env e;
  td_script_init(&e.script, 2, 5);
  e.script.values_mode = mode;
  env_open(&e, 5000);
  td_error err;
  td_error_clear(&err);
  assert_int_equal(read_x(&e, &err), code);
  /* The message names the method, table, location and column ... */
  TD_ASSERT_CONTAINS(err.message, "column_values(table 't', location 'P=L0', column 'x', offset 0");
  /* ... and what was expected against what arrived. */
  TD_ASSERT_CONTAINS(err.message, what);
  env_close(&e);
}

static void test_wrong_type(void **s) {
  (void)s;
  expect_values_error(TD_SCRIPT_WRONG_TYPE, TD_ECONTRACT, "expected type int64, got int32");
}
static void test_wrong_name(void **s) {
  (void)s;
  expect_values_error(TD_SCRIPT_WRONG_NAME, TD_ECONTRACT, "expected column 'x', got column 'y'");
}
static void test_too_few(void **s) {
  (void)s;
  expect_values_error(TD_SCRIPT_TOO_FEW, TD_ECONTRACT, "expected between 5 and 8 rows, got 4");
}
static void test_too_many(void **s) {
  (void)s;
  expect_values_error(TD_SCRIPT_TOO_MANY, TD_ECONTRACT, "expected between 5 and 8 rows, got 9");
}
static void test_two_columns(void **s) {
  (void)s;
  expect_values_error(TD_SCRIPT_TWO_COLUMNS, TD_ECONTRACT, "expected exactly one column 'x', got 2 columns");
}
static void test_failure_answer(void **s) {
  (void)s;
  expect_values_error(TD_SCRIPT_FAIL, TD_EBACKEND, "failed: disk on fire");
}

static void test_second_answer(void **s) {
  (void)s;
  env e;
  td_script_init(&e.script, 2, 5);
  e.script.values_mode = TD_SCRIPT_TWICE;
  env_open(&e, 5000);
  td_error err;
  TD_ASSERT_OK(read_x(&e, &err), &err); /* the first answer counts */
  assert_int_equal(e.reps.n, 1);
  TD_ASSERT_CONTAINS(e.reps.last, "column values answer ignored");
  TD_ASSERT_CONTAINS(e.reps.last, "column_values(table 't', location 'P=L0', column 'x'");
  TD_ASSERT_CONTAINS(e.reps.last, "already answered");
  td_counters c;
  td_service_counters(e.svc, &c);
  assert_int_equal(c.rejected_answers, 1);
  env_close(&e);
}

static void test_timeout_and_late_answer(void **s) {
  (void)s;
  env e;
  td_script_init(&e.script, 2, 5);
  e.script.values_mode = TD_SCRIPT_SILENT;
  env_open(&e, 50);
  td_error err;
  assert_int_equal(read_x(&e, &err), TD_ETIMEOUT);
  TD_ASSERT_CONTAINS(err.message, "did not answer column_values(table 't', location 'P=L0', column 'x'");
  TD_ASSERT_CONTAINS(err.message, "within 50 ms");
  /* A late answer is rejected and reported, not a crash. */
  assert_int_equal(e.script.n_silent, 1);
  struct ArrowSchema sch;
  const char *name = "x";
  td_type_id ty = TD_TYPE_INT64;
  td_schema_make(1, &name, &ty, NULL, &sch, NULL);
  td_builder *b;
  td_builder_new(TD_TYPE_INT64, &b, NULL);
  struct ArrowArray arr;
  td_builder_finish(b, &arr, NULL);
  td_builder_free(b);
  td_error late;
  assert_int_equal(td_answer_values(e.script.silent[0], &sch, &arr, &late), TD_ESTATE);
  assert_null(sch.release); /* taken even when rejected */
  assert_null(arr.release);
  TD_ASSERT_CONTAINS(late.message, "no longer pending");
  assert_int_equal(e.reps.n, 1);
  td_counters c;
  td_service_counters(e.svc, &c);
  assert_int_equal(c.timeouts, 1);
  env_close(&e);
}

static void test_async_answers(void **s) {
  (void)s;
  env e;
  td_script_init(&e.script, 3, 20);
  e.script.values_mode = TD_SCRIPT_ASYNC;
  env_open(&e, 5000);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, 60, &out, &err), &err);
  const int64_t *v = out.children[1]->buffers[1];
  for (int i = 0; i < 60; i++) assert_int_equal(v[i], (i / 20) * 1000000 + i % 20);
  out.release(&out);
  td_table_release(t);
  env_close(&e);
}

static void test_unsupported_type(void **s) {
  (void)s;
  env e;
  td_script_init(&e.script, 1, 5);
  e.script.schema_mode = TD_SCRIPT_UNSUPPORTED;
  env_open(&e, 5000);
  td_error err;
  td_table *t;
  assert_int_equal(td_make_table(e.svc, e.key, NULL, &t, &err), TD_EUNSUPPORTED);
  TD_ASSERT_CONTAINS(err.message, "table_schema(table 't')");
  TD_ASSERT_CONTAINS(err.message, "column 'x'");
  TD_ASSERT_CONTAINS(err.message, "'tiM'");
  env_close(&e);
}

static void test_disagreeing_keys(void **s) {
  (void)s;
  env e;
  td_script_init(&e.script, 2, 5);
  e.script.locations_mode = TD_SCRIPT_DISAGREE;
  env_open(&e, 5000);
  td_error err;
  td_table *t;
  assert_int_equal(td_make_table(e.svc, e.key, NULL, &t, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "location 'Q=odd' disagrees with location 'P=L0'");
  TD_ASSERT_CONTAINS(err.message, "'Q' is not a partition column");
  env_close(&e);
}

static void test_shrinking_size(void **s) {
  (void)s;
  env e;
  td_script_init(&e.script, 2, 5);
  env_open(&e, 5000);
  td_error err;
  td_table *t1, *t2;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t1, &err), &err);
  e.script.sizes[1] = 3;
  assert_int_equal(td_make_table(e.svc, e.key, NULL, &t2, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "table 't', location 'P=L1': size shrank from 5 to 3");
  /* The rows already seen stay as they were. */
  assert_int_equal(td_table_size(t1), 10);
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t1, NULL, 0, 5, 10, &out, &err), &err);
  assert_int_equal(((const int64_t *)out.children[1]->buffers[1])[4], 1000004);
  out.release(&out);
  td_table_release(t1);
  env_close(&e);
}

static void test_bad_arguments(void **s) {
  (void)s;
  env e;
  td_script_init(&e.script, 1, 5);
  env_open(&e, 5000);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  struct ArrowArray out;
  assert_int_equal(td_table_read(t, NULL, 0, 3, 9, &out, &err), TD_ERANGE);
  TD_ASSERT_CONTAINS(err.message, "rows [3, 9) are out of range (the table has 5 rows)");
  int64_t bad = 7;
  assert_int_equal(td_table_read(t, &bad, 1, 0, 1, &out, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "column index 7 is out of range");
  td_request bogus = {e.svc, 987654};
  assert_int_equal(td_answer_size(bogus, 1, &err), TD_ESTATE);
  TD_ASSERT_CONTAINS(err.message, "request #987654 is not pending");
  td_table_release(t);
  td_backend none = {NULL, NULL};
  td_service *svc;
  assert_int_equal(td_service_new(none, NULL, &svc, &err), TD_EINVAL);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wrong_type),       cmocka_unit_test(test_wrong_name),
      cmocka_unit_test(test_too_few),          cmocka_unit_test(test_too_many),
      cmocka_unit_test(test_two_columns),      cmocka_unit_test(test_failure_answer),
      cmocka_unit_test(test_second_answer),    cmocka_unit_test(test_timeout_and_late_answer),
      cmocka_unit_test(test_async_answers),    cmocka_unit_test(test_unsupported_type),
      cmocka_unit_test(test_disagreeing_keys), cmocka_unit_test(test_shrinking_size),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
