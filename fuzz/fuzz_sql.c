/*
 * fuzz/fuzz_sql.c - libFuzzer target: parse the input as SQL and, when it
 * parses, bind every expression of the statement against a fixed schema and
 * print it back.  Must never crash, leak or trip a sanitizer.
 */
#include <stddef.h>
#include <stdint.h>

#include "arrow/schema.h"
#include "query/expr.h"
#include "query/sql.h"
#include "util/alloc.h"

static void bind_one(const td_expr *e, const td_schema *s, int flags) {
  td_expr *b = NULL;
  td_error err;
  char *text = NULL;
  if (td_expr_bind(e, s, flags, &b, &err) == TD_OK && td_expr_print(b, &text, &err) == TD_OK) {
    td_value row[4];
    row[0] = td_value_int(TD_TYPE_INT64, 7);
    row[1] = td_value_double(TD_TYPE_FLOAT64, 1.5);
    row[2] = td_value_str("abc");
    row[3] = td_value_int(TD_TYPE_TIMESTAMP, 0);
    td_value out;
    if (!td_expr_has_agg(b)) (void)td_expr_eval_row(b, row, &out, &err);
  }
  td_free(text);
  td_expr_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  td_schema s;
  td_schema_init(&s);
  td_schema_add(&s, "Key", TD_TYPE_INT64, NULL, true, NULL);
  td_schema_add(&s, "Price", TD_TYPE_FLOAT64, NULL, true, NULL);
  td_schema_add(&s, "Sym", TD_TYPE_UTF8, NULL, true, NULL);
  td_schema_add(&s, "Ts", TD_TYPE_TIMESTAMP, "UTC", true, NULL);
  td_select *q = NULL;
  td_error err;
  if (td_sql_parse((const char *)data, size, &q, &err) == TD_OK) {
    for (int64_t i = 0; i < q->n_items; i++)
      if (q->items[i].expr) bind_one(q->items[i].expr, &s, TD_BIND_ALLOW_AGG);
    if (q->where) bind_one(q->where, &s, 0);
    for (int64_t i = 0; i < q->n_group_by; i++) bind_one(q->group_by[i], &s, 0);
    for (int64_t i = 0; i < q->n_order_by; i++) bind_one(q->order_by[i].expr, &s, TD_BIND_ALLOW_AGG);
    char *text = NULL;
    (void)td_select_print(q, &text, &err);
    td_free(text);
    td_select_free(q);
  }
  td_schema_reset(&s);
  return 0;
}
