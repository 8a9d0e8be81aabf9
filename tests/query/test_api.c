/*
 * tests/query/test_api.c - td_table_select_distinct (static, over data and
 * partition columns, expressions, live and incremental, errors) and
 * td_query_options_init with a user resolver (found, not found).
 */
#include <string.h>

#include "sample.h"
#include "tabledata.h"
#include "test.h"

typedef struct env {
  td_memory_backend *mb;
  td_service *svc;
  td_table_key *key;
} env;

static void env_open(env *e) {
  td_error err;
  TD_ASSERT_OK(td_sample_create(&e->mb, &err), &err);
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = 0;
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(e->mb), &o, &e->svc, &err), &err);
  TD_ASSERT_OK(td_table_key_new(TD_SAMPLE_TABLE, &e->key, &err), &err);
}

static void env_close(env *e) {
  td_table_key_release(e->key);
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
}

static td_table *make(env *e, bool live) {
  td_error err;
  td_table_options o;
  td_table_options_init(&o);
  o.refreshing = live;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e->svc, e->key, &o, &t, &err), &err);
  return t;
}

/* All rows of `t` as "a|b,a|b,...". */
static void text(td_table *t, char *buf, size_t size) {
  td_error err;
  struct ArrowArray a;
  struct ArrowSchema s;
  int64_t n = td_table_size(t), nc = td_table_num_columns(t);
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, n, &a, &err), &err);
  TD_ASSERT_OK(td_table_schema(t, &s, &err), &err);
  size_t len = 0;
  buf[0] = 0;
  for (int64_t r = 0; r < n; r++) {
    for (int64_t c = 0; c < nc; c++) {
      td_value v;
      TD_ASSERT_OK(td_arrow_get_value(s.children[c], a.children[c], r, &v, &err), &err);
      char one[64];
      td_value_format(&v, one, sizeof one);
      len += (size_t)snprintf(buf + len, size - len, "%s%s", one, c + 1 < nc ? "|" : ",");
    }
  }
  a.release(&a);
  s.release(&s);
}

static void test_distinct_static(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e);
  td_table *t = make(&e, false);
  char got[1024];
  td_table *d;
  const char *ticker[] = {"Ticker"};
  TD_ASSERT_OK(td_table_select_distinct(t, ticker, 1, &d, &err), &err);
  text(d, got, sizeof got);
  assert_string_equal(got, "GOOG,MSFT,");
  assert_int_equal(td_table_num_columns(d), 1);
  assert_string_equal(td_table_column_name(d, 0), "Ticker");
  td_table_release(d);

  /* Partition and data columns together, first-seen order. */
  const char *two[] = {"Exchange", "Int"};
  TD_ASSERT_OK(td_table_select_distinct(t, two, 2, &d, &err), &err);
  text(d, got, sizeof got);
  assert_string_equal(got, "NYSE|1,NYSE|-1,BZX|1,BZX|-1,BZY|1,BZY|-1,");
  td_table_release(d);

  /* Expressions with names. */
  const char *expr[] = {"Int * 10 AS x"};
  TD_ASSERT_OK(td_table_select_distinct(t, expr, 1, &d, &err), &err);
  text(d, got, sizeof got);
  assert_string_equal(got, "10,-10,");
  assert_string_equal(td_table_column_name(d, 0), "x");
  td_table_release(d);

  /* Errors. */
  d = t;
  assert_int_equal(td_table_select_distinct(t, ticker, 0, &d, &err), TD_EINVAL);
  assert_null(d);
  assert_int_equal(td_table_select_distinct(t, NULL, 1, &d, &err), TD_EINVAL);
  assert_int_equal(td_table_select_distinct(NULL, ticker, 1, &d, &err), TD_EINVAL);
  const char *bad[] = {"Nope"};
  assert_int_equal(td_table_select_distinct(t, bad, 1, &d, &err), TD_ETYPE);
  TD_ASSERT_CONTAINS(err.message, "Nope");
  /* The same failure through agg_by leaks nothing (valgrind run). */
  const char *bad_agg[] = {"sum(Nope)"};
  assert_int_equal(td_table_agg_by(t, bad_agg, 1, bad, 1, &d, &err), TD_ETYPE);
  assert_int_equal(td_table_agg_by(t, bad_agg, 1, ticker, 1, &d, &err), TD_ETYPE);
  const char *syntax[] = {"Int +"};
  assert_int_equal(td_table_select_distinct(t, syntax, 1, &d, &err), TD_EPARSE);
  assert_null(d);
  td_table_release(t);
  env_close(&e);
}

typedef struct rec {
  int64_t calls, appended;
} rec;

static void on_distinct(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  rec *r = ctx;
  if (!u) return;
  r->calls++;
  for (int64_t i = 0; i < u->n_added; i++) r->appended += u->added[i].end_row - u->added[i].first_row;
}

static void test_distinct_live(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e);
  td_table *t = make(&e, true);
  td_table *d;
  const char *ticker[] = {"Ticker"};
  TD_ASSERT_OK(td_table_select_distinct(t, ticker, 1, &d, &err), &err);
  assert_true(td_table_is_refreshing(d));
  rec r = {0, 0};
  TD_ASSERT_OK(td_table_add_listener(d, on_distinct, &r, NULL, &err), &err);
  /* Rows of a known ticker change nothing; a new ticker appends a row. */
  TD_ASSERT_OK(td_sample_add_ticker(e.mb, "MSFT", "BZX", &err), &err);
  TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
  assert_int_equal(td_table_size(d), 2);
  assert_int_equal(r.appended, 0);
  TD_ASSERT_OK(td_sample_add_ticker(e.mb, "AAPL", "NYSE", &err), &err);
  TD_ASSERT_OK(td_table_wait(d, 0, 3, 10000, &err), &err);
  char got[256];
  text(d, got, sizeof got);
  assert_string_equal(got, "GOOG,MSFT,AAPL,");
  assert_int_equal(r.appended, 1);
  td_table_release(d);
  td_table_release(t);
  env_close(&e);
}

/* ---- td_query with a user resolver ---- */

static int resolve(void *ctx, const char *source, bool is_path, td_service **service, td_table_key **key,
                   td_error *err) {
  env *e = ctx;
  if (is_path || strcmp(source, "ticks") != 0) {
    if (err) {
      err->code = TD_ENOTFOUND;
      snprintf(err->message, sizeof err->message, "no source called '%s'", source);
    }
    return TD_ENOTFOUND;
  }
  *service = td_service_retain(e->svc);
  *key = td_table_key_retain(e->key);
  return TD_OK;
}

static void test_query_options_and_resolver(void **state) {
  (void)state;
  td_error err;
  env e;
  env_open(&e);
  td_query_options q;
  memset(&q, 0x5a, sizeof q);
  td_query_options_init(&q);
  assert_null(q.resolver);
  assert_null(q.resolver_ctx);
  assert_false(q.refreshing);
  assert_int_equal(q.source_rows, 0);
  td_table *out = NULL;
  /* No resolver. */
  assert_int_equal(td_query("SELECT * FROM ticks", &q, &out, &err), TD_EINVAL);

  q.resolver = resolve;
  q.resolver_ctx = &e;
  TD_ASSERT_OK(td_query("SELECT DISTINCT Exchange FROM ticks WHERE Ticker = 'MSFT'", &q, &out, &err), &err);
  char got[256];
  text(out, got, sizeof got);
  assert_string_equal(got, "BZX,BZY,");
  assert_int_equal(q.source_rows, 4);
  td_table_release(out);

  /* The resolver's error comes back as is. */
  assert_int_equal(td_query("SELECT * FROM nowhere", &q, &out, &err), TD_ENOTFOUND);
  TD_ASSERT_CONTAINS(err.message, "no source called 'nowhere'");
  assert_null(out);

  /* A live query through the resolver. */
  q.refreshing = true;
  TD_ASSERT_OK(td_query("SELECT Ticker, count(*) AS n FROM ticks GROUP BY Ticker", &q, &out, &err), &err);
  TD_ASSERT_OK(td_sample_add_ticker(e.mb, "GOOG", "BZX", &err), &err);
  TD_ASSERT_OK(td_table_wait(out, 1, 0, 10000, &err), &err);
  text(out, got, sizeof got);
  assert_string_equal(got, "GOOG|4,MSFT|4,");
  td_table_release(out);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_distinct_static),
      cmocka_unit_test(test_distinct_live),
      cmocka_unit_test(test_query_options_and_resolver),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
