/*
 * fuzz/fuzz_sql.c - libFuzzer target for the query layer: the input is a SQL
 * statement, run with td_query against a small in-memory table (so the
 * planner, the operators, aggregation, sort, pruning and the evaluators all
 * run) and read in full; then run again through td_query_stream (the
 * streamed plain-query path); the parsed statement is also bound item by
 * item and printed back.  Errors are fine; crashes, leaks and sanitizer
 * reports are not.
 *
 * Table (any FROM name or path resolves to it): partition P utf8 (locations
 * 'a', 'b', 'c' with 0 rows); data columns Key int64 (nulls, extremes), Price
 * float64 (NaN, -0.0, infinities, nulls), Sym utf8 (empty, nulls, UTF-8), Ts
 * timestamp UTC (extremes), Flag bool.  Page size 3, so queries see several
 * pages.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arrow/schema.h"
#include "query/expr.h"
#include "query/sql.h"
#include "tabledata.h"
#include "util/alloc.h"

enum { NCOLS = 5 };

static td_memory_backend *g_mb;
static td_service *g_svc;

static void add_location(const char *part, int n, int seed) {
  static const char *const syms[] = {"AAPL", "", "MSFT", "名前", "a,b", "GOOG"};
  static const double prices[] = {1.5, -0.0, 0.0, NAN, INFINITY, -INFINITY, 100.25, -3};
  static const int64_t keys[] = {0, 1, -1, 7, INT64_MAX, INT64_MIN, 42, 3};
  td_type_id types[NCOLS] = {TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8, TD_TYPE_TIMESTAMP, TD_TYPE_BOOL};
  td_builder *b[NCOLS];
  for (int c = 0; c < NCOLS; c++) td_builder_new(types[c], &b[c], NULL);
  for (int r = 0; r < n; r++) {
    int k = r + seed;
    if (k % 5 == 4) td_builder_append_null(b[0], NULL);
    else td_builder_append_int(b[0], keys[k % 8], NULL);
    if (k % 7 == 6) td_builder_append_null(b[1], NULL);
    else td_builder_append_double(b[1], prices[k % 8], NULL);
    if (k % 6 == 5) td_builder_append_null(b[2], NULL);
    else td_builder_append_str(b[2], syms[k % 6], -1, NULL);
    td_builder_append_int(b[3], k % 9 == 0 ? INT64_MIN + 1 : (int64_t)k * 86400000000000LL, NULL);
    td_builder_append_int(b[4], k % 3 == 0, NULL);
  }
  struct ArrowArray cols[NCOLS], batch;
  for (int c = 0; c < NCOLS; c++) {
    td_builder_finish(b[c], &cols[c], NULL);
    td_builder_free(b[c]);
  }
  td_batch_make(NCOLS, cols, &batch, NULL);
  const char *pn = "P";
  td_value pv = td_value_str(part);
  td_location_key *key;
  td_location_key_new(part, 1, &pn, &pv, &key, NULL);
  td_memory_backend_add_location(g_mb, "t", key, &batch, NULL);
  td_location_key_release(key);
}

static void setup(void) {
  if (g_svc) return;
  const char *names[NCOLS] = {"Key", "Price", "Sym", "Ts", "Flag"};
  td_type_id types[NCOLS] = {TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8, TD_TYPE_TIMESTAMP, TD_TYPE_BOOL};
  const char *tzs[NCOLS] = {NULL, NULL, NULL, "UTC", NULL};
  const char *pn = "P";
  td_type_id pt = TD_TYPE_UTF8;
  struct ArrowSchema ds, ps;
  td_memory_backend_new(&g_mb, NULL);
  td_schema_make(NCOLS, names, types, tzs, &ds, NULL);
  td_schema_make(1, &pn, &pt, NULL, &ps, NULL);
  td_memory_backend_add_table(g_mb, "t", &ds, &ps, NULL);
  ds.release(&ds);
  ps.release(&ps);
  add_location("a", 11, 0);
  add_location("b", 8, 3);
  add_location("c", 0, 0);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 3;
  td_service_new(td_memory_backend_backend(g_mb), &o, &g_svc, NULL);
}

static int resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  (void)ctx, (void)name, (void)is_path;
  *svc = td_service_retain(g_svc);
  return td_table_key_new("t", key, err);
}

/* Bind each expression of the statement on its own (the binder's paths for
 * items that the planner would reject first) and evaluate it on one row. */
static void bind_one(const td_expr *e, const td_schema *s, int flags) {
  td_expr *b = NULL;
  td_error err;
  char *text = NULL;
  if (td_expr_bind(e, s, flags, &b, &err) == TD_OK && td_expr_print(b, &text, &err) == TD_OK) {
    td_value row[NCOLS + 1];
    row[0] = td_value_str("a");
    row[1] = td_value_int(TD_TYPE_INT64, 7);
    row[2] = td_value_double(TD_TYPE_FLOAT64, 1.5);
    row[3] = td_value_str("abc");
    row[4] = td_value_int(TD_TYPE_TIMESTAMP, 0);
    row[5] = td_value_bool(true);
    td_value out;
    if (!td_expr_has_agg(b)) (void)td_expr_eval_row(b, row, &out, &err);
  }
  td_free(text);
  td_expr_free(b);
}

static void parse_and_bind(const char *sql, size_t size) {
  td_select *q = NULL;
  td_error err;
  if (td_sql_parse(sql, size, &q, &err) != TD_OK) return;
  td_schema s;
  td_schema_init(&s);
  td_schema_add(&s, "P", TD_TYPE_UTF8, NULL, true, NULL);
  td_schema_add(&s, "Key", TD_TYPE_INT64, NULL, true, NULL);
  td_schema_add(&s, "Price", TD_TYPE_FLOAT64, NULL, true, NULL);
  td_schema_add(&s, "Sym", TD_TYPE_UTF8, NULL, true, NULL);
  td_schema_add(&s, "Ts", TD_TYPE_TIMESTAMP, "UTC", true, NULL);
  td_schema_add(&s, "Flag", TD_TYPE_BOOL, NULL, true, NULL);
  for (int64_t i = 0; i < q->n_items; i++)
    if (q->items[i].expr) bind_one(q->items[i].expr, &s, TD_BIND_ALLOW_AGG);
  if (q->where) bind_one(q->where, &s, 0);
  for (int64_t i = 0; i < q->n_group_by; i++) bind_one(q->group_by[i], &s, 0);
  for (int64_t i = 0; i < q->n_order_by; i++) bind_one(q->order_by[i].expr, &s, TD_BIND_ALLOW_AGG);
  char *text = NULL;
  (void)td_select_print(q, &text, &err);
  td_free(text);
  td_select_free(q);
  td_schema_reset(&s);
}

/* Runs the query and reads every row (results are small: the table has 19). */
static void run_query(const char *sql) {
  td_error err;
  td_query_options qo = {.resolver = resolve, .resolver_ctx = NULL, .refreshing = false};
  td_table *t = NULL;
  if (td_query(sql, &qo, &t, &err) == TD_OK) {
    int64_t n = td_table_size(t);
    struct ArrowArray a;
    if (n >= 0 && n <= 100000 && td_table_read(t, NULL, 0, 0, n, &a, &err) == TD_OK) a.release(&a);
    td_table_release(t);
  }
  struct ArrowArrayStream st;
  if (td_query_stream(sql, &qo, &st, &err) == TD_OK) {
    struct ArrowSchema sch;
    if (st.get_schema(&st, &sch) == 0) sch.release(&sch);
    for (int i = 0; i < 64; i++) {
      struct ArrowArray b;
      if (st.get_next(&st, &b) != 0 || !b.release) break;
      b.release(&b);
    }
    st.release(&st);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16) return 0;
  setup();
  char *sql = td_malloc(size + 1);
  if (!sql) return 0;
  memcpy(sql, data, size);
  sql[size] = '\0';
  parse_and_bind((const char *)data, size);
  if (strlen(sql) == size) run_query(sql); /* td_query takes NUL-terminated text */
  td_free(sql);
  return 0;
}
