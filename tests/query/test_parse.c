/*
 * tests/query/test_parse.c - parser, printer, binder: valid statements,
 * error positions and messages, allocation failures, fuzz smoke test.
 */
#include <stdlib.h>
#include <string.h>

#include "mtable.h"
#include "query/expr.h"
#include "query/sql.h"
#include "test.h"
#include "util/alloc.h"

/* The canonical text of `in`, which parses back to the same text. */
static void check_sql(const char *in, const char *canon) { mt_sql_round_trip(in, canon); }

static void test_valid_sql(void **state) {
  (void)state;
  check_sql("select * from demo", "SELECT * FROM demo");
  check_sql("SELECT Key, sum(Value) FROM demo GROUP BY Key;",
            "SELECT Key, sum(Value) FROM demo GROUP BY Key");
  check_sql("SELECT DISTINCT a AS x, b y FROM 'dir/it''s' WHERE a > 1 AND NOT b = 'q' "
            "ORDER BY a DESC, b ASC LIMIT 10",
            "SELECT DISTINCT a AS \"x\", b AS \"y\" FROM 'dir/it''s' WHERE a > 1 AND NOT b = 'q' "
            "ORDER BY a DESC, b LIMIT 10");
  check_sql("SELECT SUM(Price*Size), COUNT(*) from t", "SELECT sum(Price * Size), count(*) FROM t");
  check_sql("select \"My Col\", \"select\" from t where x in (1, 2.5, 'a', null, true)",
            "SELECT \"My Col\", \"select\" FROM t WHERE x IN (1, 2.5, 'a', NULL, true)");
  check_sql("select (a+b)*c, a-(b-c), a-b-c, -a, -(-1), not not x from t",
            "SELECT (a + b) * c, a - (b - c), a - b - c, -a, -(-1), NOT NOT x FROM t");
  check_sql("select x from t where a between 1 and 2 or b not between 3 and 4 or c is not null "
            "or d is null or e not in (1)",
            "SELECT x FROM t WHERE a BETWEEN 1 AND 2 OR b NOT BETWEEN 3 AND 4 OR c IS NOT NULL "
            "OR d IS NULL OR e NOT IN (1)");
  check_sql("select x from t where (a or b) and c", "SELECT x FROM t WHERE (a OR b) AND c");
  check_sql("select x from t where a != b and a <> b and a == b and 1e3 = .5",
            "SELECT x FROM t WHERE a <> b AND a <> b AND a = b AND 1000.0 = 0.5");
  check_sql("select x from t -- comment\n", "SELECT x FROM t");
}

static void test_sql_ast(void **state) {
  (void)state;
  td_error err;
  td_select *s;
  const char *q = "SELECT a AS x, sum(b) FROM 'p.csv' WHERE a > 1 ORDER BY SUM(b) DESC LIMIT 5";
  TD_ASSERT_OK(td_sql_parse(q, strlen(q), &s, &err), &err);
  assert_int_equal(s->n_items, 2);
  assert_string_equal(s->items[0].alias, "x");
  assert_int_equal(s->items[0].alias_pos, 12);
  assert_int_equal(s->items[1].pos, 15);
  assert_int_equal(s->source_kind, TD_SOURCE_PATH);
  assert_string_equal(s->source, "p.csv");
  assert_int_equal(s->source_pos, 27);
  assert_true(s->has_limit);
  assert_int_equal(s->limit, 5);
  assert_true(s->order_by[0].desc);
  assert_true(td_expr_equal(s->order_by[0].expr, s->items[1].expr));
  assert_true(td_expr_has_agg(s->order_by[0].expr));
  assert_false(td_expr_has_agg(s->where));
  assert_int_equal(s->where->pos, 43);
  char *name;
  TD_ASSERT_OK(td_select_item_name(s, 1, &name, &err), &err);
  assert_string_equal(name, "sum(b)");
  td_free(name);
  TD_ASSERT_OK(td_select_item_name(s, 0, &name, &err), &err);
  assert_string_equal(name, "x");
  td_free(name);
  td_select_free(s);
}

static void check_sql_error(const char *q, int64_t pos, const char *msg) {
  td_error err;
  td_select *s = NULL;
  int rc = td_sql_parse(q, strlen(q), &s, &err);
  if (rc != TD_EPARSE) fail_msg("'%s': expected TD_EPARSE, got %d", q, rc);
  assert_null(s);
  if (err.position != pos) fail_msg("'%s': position %lld, expected %lld (%s)", q, (long long)err.position, (long long)pos, err.message);
  TD_ASSERT_CONTAINS(err.message, msg);
}

static void test_sql_errors(void **state) {
  (void)state;
  check_sql_error("", 0, "expected SELECT at offset 0, found end of input");
  check_sql_error("SELEC x FROM t", 0, "found 'SELEC'");
  check_sql_error("SELECT FROM t", 7, "expected an expression at offset 7, found 'FROM'");
  check_sql_error("SELECT a, FROM t", 10, "found 'FROM'");
  check_sql_error("SELECT a FROM", 13, "found end of input");
  check_sql_error("SELECT a b c FROM t", 11, "expected FROM at offset 11, found 'c'");
  check_sql_error("SELECT sum(a FROM t", 13, "expected ')' or ',' at offset 13, found 'FROM'");
  check_sql_error("SELECT (a + b FROM t", 14, "expected ')' at offset 14, found 'FROM'");
  check_sql_error("SELECT a FROM t WHERE", 21, "expected an expression");
  check_sql_error("SELECT a FROM t WHERE a >", 25, "found end of input");
  check_sql_error("SELECT a FROM t GROUP a", 22, "expected BY after GROUP");
  check_sql_error("SELECT a FROM t LIMIT x", 22, "expected a non-negative integer");
  check_sql_error("SELECT a FROM t LIMIT -1", 22, "found '-'");
  check_sql_error("SELECT a FROM t LIMIT 1 2", 24, "expected OFFSET or end of statement");
  check_sql_error("SELECT a FROM t WHERE x = 'abc", 26, "unterminated string literal");
  check_sql_error("SELECT \"abc FROM t", 7, "unterminated quoted identifier");
  check_sql_error("SELECT a FROM t WHERE x # 1", 24, "found '#'");
  check_sql_error("SELECT a FROM t WHERE x IN 1", 27, "expected '(' after IN");
  check_sql_error("SELECT a FROM t WHERE x BETWEEN 1 OR 2", 34, "expected AND in BETWEEN");
  check_sql_error("SELECT a FROM t WHERE x IS 1", 27, "expected NULL, NOT or DISTINCT FROM");
  check_sql_error("SELECT a FROM t WHERE x NOT 1", 28, "expected IN, BETWEEN or LIKE after NOT");
  check_sql_error("SELECT a FROM t WHERE a < b < c", 28, "found '<'");
  check_sql_error("SELECT 12abc FROM t", 7, "found '12abc'");
  check_sql_error("SELECT 99999999999999999999 FROM t", 7, "out of range");
  check_sql_error("SELECT a AS FROM t", 12, "expected an alias after AS");
  check_sql_error("SELECT a FROM t ORDER a", 22, "expected BY after ORDER");
  check_sql_error("SELECT a FROM t; x", 17, "found 'x'");
  check_sql_error("SELECT a FROM select", 14, "expected a table name");
}

static void test_depth_limit(void **state) {
  (void)state;
  size_t n = 100000;
  char *q = malloc(n * 4 + 100);
  strcpy(q, "SELECT ");
  size_t at = 7;
  for (size_t i = 0; i < n; i++) q[at++] = '(';
  q[at++] = 'a';
  for (size_t i = 0; i < n; i++) q[at++] = ')';
  strcpy(q + at, " FROM t");
  td_error err;
  td_select *s;
  assert_int_equal(td_sql_parse(q, strlen(q), &s, &err), TD_EPARSE);
  TD_ASSERT_CONTAINS(err.message, "nested deeper than 256");
  /* long flat chains are limited too (tree height) */
  strcpy(q, "SELECT a");
  at = 8;
  for (size_t i = 0; i < n; i++) q[at++] = '+', q[at++] = 'a';
  strcpy(q + at, " FROM t");
  assert_int_equal(td_sql_parse(q, strlen(q), &s, &err), TD_EPARSE);
  TD_ASSERT_CONTAINS(err.message, "nested deeper than 256");
  strcpy(q, "SELECT ");
  at = 7;
  for (size_t i = 0; i < n; i++) memcpy(q + at, "NOT ", 4), at += 4;
  strcpy(q + at, "a FROM t");
  assert_int_equal(td_sql_parse(q, strlen(q), &s, &err), TD_EPARSE);
  /* 200 levels are fine */
  strcpy(q, "SELECT ");
  at = 7;
  for (size_t i = 0; i < 200; i++) q[at++] = '(';
  q[at++] = 'a';
  for (size_t i = 0; i < 200; i++) q[at++] = ')';
  strcpy(q + at, " FROM t");
  TD_ASSERT_OK(td_sql_parse(q, strlen(q), &s, &err), &err);
  td_select_free(s);
  free(q);
}

/* ---- binder ---- */

static td_schema schema;

static int setup(void **state) {
  (void)state;
  td_schema_init(&schema);
  td_schema_add(&schema, "Price", TD_TYPE_FLOAT64, NULL, true, NULL);
  td_schema_add(&schema, "Size", TD_TYPE_INT32, NULL, true, NULL);
  td_schema_add(&schema, "Sym", TD_TYPE_UTF8, NULL, true, NULL);
  td_schema_add(&schema, "Ts", TD_TYPE_TIMESTAMP, "UTC", true, NULL);
  td_schema_add(&schema, "Flag", TD_TYPE_BOOL, NULL, true, NULL);
  td_schema_add(&schema, "My Col", TD_TYPE_INT64, NULL, true, NULL);
  return 0;
}
static int teardown(void **state) {
  (void)state;
  td_schema_reset(&schema);
  return 0;
}

static int bind_text(const char *text, int flags, td_expr **out, td_error *err) {
  td_expr *e;
  int rc = td_expr_parse(text, strlen(text), &e, err);
  if (rc) return rc;
  rc = td_expr_bind(e, &schema, flags, out, err);
  td_expr_free(e);
  return rc;
}

static void check_bind_error(const char *text, int flags, int code, int64_t pos, const char *msg) {
  td_error err;
  td_expr *e = NULL;
  int rc = bind_text(text, flags, &e, &err);
  if (rc != code) fail_msg("'%s': expected %d, got %d (%s)", text, code, rc, err.message);
  assert_null(e);
  if (err.position != pos) fail_msg("'%s': position %lld, expected %lld (%s)", text, (long long)err.position, (long long)pos, err.message);
  TD_ASSERT_CONTAINS(err.message, msg);
}

static void check_bound(const char *text, td_type_id type, const char *canon) {
  td_error err;
  td_expr *e;
  TD_ASSERT_OK(bind_text(text, TD_BIND_ALLOW_AGG, &e, &err), &err);
  assert_int_equal(e->type, type);
  char *t;
  TD_ASSERT_OK(td_expr_print(e, &t, &err), &err);
  if (strcmp(t, canon) != 0) fail_msg("'%s' bound to '%s', expected '%s'", text, t, canon);
  td_free(t);
  td_expr_free(e);
}

static void test_bind_ok(void **state) {
  (void)state;
  check_bound("Price * Size", TD_TYPE_FLOAT64, "Price * Size");
  check_bound("Size + 1", TD_TYPE_INT64, "Size + 1");
  check_bound("Size / 2", TD_TYPE_FLOAT64, "Size / 2");
  check_bound("1 + 2 * 3", TD_TYPE_INT64, "7");
  check_bound("1 / 0", TD_TYPE_FLOAT64, "NULL");
  check_bound("-(2.5)", TD_TYPE_FLOAT64, "-2.5");
  check_bound("NULL", TD_TYPE_BOOL, "NULL");
  check_bound("NULL + 1", TD_TYPE_INT64, "NULL");
  check_bound("'a' < 'b'", TD_TYPE_BOOL, "true");
  check_bound("Size BETWEEN 1 AND 3", TD_TYPE_BOOL, "Size >= 1 AND Size <= 3");
  check_bound("Size NOT BETWEEN 1 AND 3", TD_TYPE_BOOL, "Size < 1 OR Size > 3");
  check_bound("NOT (Size > 1 AND Sym IS NULL)", TD_TYPE_BOOL, "Size <= 1 OR Sym IS NOT NULL");
  check_bound("NOT Flag", TD_TYPE_BOOL, "NOT Flag");
  check_bound("NOT NOT Flag", TD_TYPE_BOOL, "Flag");
  check_bound("NOT Size IN (1, 2)", TD_TYPE_BOOL, "Size NOT IN (1, 2)");
  check_bound("Ts > '2024-01-02'", TD_TYPE_BOOL, "Ts > '2024-01-02T00:00:00Z'");
  check_bound("Ts IN ('2024-01-02 10:30:00.5+01:00')", TD_TYPE_BOOL,
              "Ts IN ('2024-01-02T09:30:00.500000000Z')");
  check_bound("\"My Col\" = Size", TD_TYPE_BOOL, "\"My Col\" = Size");
  check_bound("sum(Price * Size)", TD_TYPE_FLOAT64, "sum(Price * Size)");
  check_bound("count(*) + 1", TD_TYPE_INT64, "count(*) + 1");
  check_bound("min(Sym)", TD_TYPE_UTF8, "min(Sym)");
  check_bound("avg(Size)", TD_TYPE_FLOAT64, "avg(Size)");
  check_bound("last(Ts)", TD_TYPE_TIMESTAMP, "last(Ts)");
  check_bound("Flag = true", TD_TYPE_BOOL, "Flag = true");
  /* issue 13 audit: a string literal compared with a number is cast to its type (DuckDB) */
  check_bound("Size = '3'", TD_TYPE_BOOL, "Size = 3");
  check_bound("' 2.5' < Price", TD_TYPE_BOOL, "2.5 < Price");
  check_bound("Size IN ('1', 2)", TD_TYPE_BOOL, "Size IN (1, 2)");
  check_bound("-9223372036854775808", TD_TYPE_INT64, "-9223372036854775808"); /* int64, not -uint64 */
  check_bound("Size // 2", TD_TYPE_INT64, "Size // 2");
  check_bound("-7 // 2 + 7.5 // 2", TD_TYPE_FLOAT64, "0.75"); /* -3 + 3.75 */
  check_bound("Size // 0", TD_TYPE_INT64, "Size // 0");
  td_error err;
  td_expr *e;
  TD_ASSERT_OK(bind_text("Price > 1 AND Size < 2 AND (Sym = 'x' OR Flag)", 0, &e, &err), &err);
  const td_expr *c[4];
  assert_int_equal(td_expr_conjuncts(e, c, 4), 3);
  int64_t cols[8];
  assert_int_equal(td_expr_columns(e, cols, 8), 4);
  assert_int_equal(cols[0], 0);
  assert_int_equal(cols[3], 4);
  bool set[6] = {false, false, true, false, true, false};
  assert_false(td_expr_only_columns(e, set, 6));
  assert_true(td_expr_only_columns(c[2], set, 6));
  td_expr_free(e);
}

static void test_bind_errors(void **state) {
  (void)state;
  check_bind_error("Prcie > 1", 0, TD_ETYPE, 0, "unknown column 'Prcie' at offset 0");
  check_bind_error("Size > Prcie", 0, TD_ETYPE, 7, "unknown column 'Prcie' at offset 7");
  check_bind_error("Sym = 1", 0, TD_ETYPE, 4, "cannot compare utf8 with int64 at offset 4");
  check_bind_error("Flag < 1", 0, TD_ETYPE, 5, "cannot compare bool with int64");
  check_bind_error("Ts > 5", 0, TD_ETYPE, 3, "cannot compare timestamp with int64");
  check_bind_error("Ts > '2024-13-01'", 0, TD_ETYPE, 5, "cannot parse '2024-13-01' as a timestamp");
  check_bind_error("Ts IN ('2024-01-01', 'x')", 0, TD_ETYPE, 21, "cannot parse 'x'");
  check_bind_error("Size IN (1, 'a')", 0, TD_ETYPE, 12, "cannot convert 'a' to int32");
  check_bind_error("Size = 'x'", 0, TD_ETYPE, 7, "cannot convert 'x' to int32");
  check_bind_error("Size BETWEEN 1 AND 'z'", 0, TD_ETYPE, 19, "cannot convert 'z' to int32");
  check_bind_error("Sym + 1", 0, TD_ETYPE, 4, "cannot apply '+' to utf8");
  check_bind_error("-Sym", 0, TD_ETYPE, 0, "cannot apply '-' to utf8");
  check_bind_error("Flag * 2", 0, TD_ETYPE, 5, "cannot apply '*' to bool");
  check_bind_error("Size AND Flag", 0, TD_ETYPE, 0, "AND expects a bool operand, found int32");
  check_bind_error("NOT Size", 0, TD_ETYPE, 4, "NOT expects a bool operand");
  check_bind_error("sum(Size) > 1", 0, TD_ETYPE, 0, "aggregate 'sum' is not allowed here");
  check_bind_error("Size > 1 AND count(*) > 1", 0, TD_ETYPE, 13, "aggregate 'count'");
  check_bind_error("sum(max(Size))", TD_BIND_ALLOW_AGG, TD_ETYPE, 4, "inside another aggregate");
  check_bind_error("foo(Size)", TD_BIND_ALLOW_AGG, TD_ETYPE, 0, "unknown function 'foo'");
  check_bind_error("sum(Sym)", TD_BIND_ALLOW_AGG, TD_ETYPE, 4, "sum expects a numeric argument, found utf8");
  check_bind_error("sum(*)", TD_BIND_ALLOW_AGG, TD_ETYPE, 0, "only count(*)");
  check_bind_error("min(Size, Price)", TD_BIND_ALLOW_AGG, TD_ETYPE, 0, "expects 1 argument");
  check_bind_error("\"my col\" > 1", 0, TD_ETYPE, 0, "unknown column 'my col'");
}

static void test_timestamps(void **state) {
  (void)state;
  int64_t ns;
  assert_true(td_parse_timestamp("1970-01-01", 10, &ns));
  assert_int_equal(ns, 0);
  assert_true(td_parse_timestamp("2024-01-02T10:30:00", 19, &ns));
  assert_int_equal(ns, 1704191400LL * 1000000000LL);
  assert_true(td_parse_timestamp("2024-01-02 10:30:00.123456789Z", 30, &ns));
  assert_int_equal(ns, 1704191400LL * 1000000000LL + 123456789);
  assert_true(td_parse_timestamp("2024-01-02T10:30:00-02:30", 25, &ns));
  assert_int_equal(ns, (1704191400LL + 9000) * 1000000000LL);
  assert_true(td_parse_timestamp("1969-12-31T23:59:59.5", 21, &ns));
  assert_int_equal(ns, -500000000LL);
  assert_true(td_parse_timestamp("2024-02-29", 10, &ns));
  assert_false(td_parse_timestamp("2023-02-29", 10, &ns));
  assert_false(td_parse_timestamp("2024-01-02T25:00", 16, &ns));
  assert_false(td_parse_timestamp("2024-01-02T10:30:00.1234567891", 30, &ns));
  assert_false(td_parse_timestamp("2024-1-02", 9, &ns));
  assert_false(td_parse_timestamp("2024-01-02x", 11, &ns));
  assert_false(td_parse_timestamp("", 0, &ns));
}

static const char *const corpus[] = {
    "SELECT Price, sum(Size) AS s FROM t WHERE Price > 1.5 AND Sym IN ('a', 'b') GROUP BY Price ORDER BY s DESC LIMIT 3",
    "SELECT count(*) FROM 'x.csv' WHERE Ts BETWEEN '2024-01-01' AND '2024-02-01' OR NOT Flag",
    "SELECT DISTINCT \"My Col\" FROM t WHERE Size IS NOT NULL AND -Price / 2 <> 3e2",
};

/* Parses and binds every part of a statement; returns the first failure. */
static int parse_and_bind(const char *q, size_t len, td_error *err) {
  td_select *s;
  int rc = td_sql_parse(q, len, &s, err);
  if (rc) return rc;
  td_expr *b = NULL;
  for (int64_t i = 0; !rc && i < s->n_items; i++) {
    if (!s->items[i].expr) continue;
    rc = td_expr_bind(s->items[i].expr, &schema, TD_BIND_ALLOW_AGG, &b, err);
    td_expr_free(b);
    b = NULL;
  }
  if (!rc && s->where) rc = td_expr_bind(s->where, &schema, 0, &b, err);
  td_expr_free(b);
  b = NULL;
  for (int64_t i = 0; !rc && i < s->n_group_by; i++) {
    rc = td_expr_bind(s->group_by[i], &schema, 0, &b, err);
    td_expr_free(b);
    b = NULL;
  }
  char *t = NULL;
  if (!rc) rc = td_select_print(s, &t, err);
  td_free(t);
  td_select_free(s);
  return rc;
}

static void test_alloc_failures(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof corpus / sizeof *corpus; k++) {
    td_error err;
    TD_ASSERT_OK(parse_and_bind(corpus[k], strlen(corpus[k]), &err), &err);
    for (int64_t n = 0;; n++) {
      td__alloc_fail_after(n);
      int rc = parse_and_bind(corpus[k], strlen(corpus[k]), &err);
      td__alloc_fail_after(-1);
      if (rc == TD_OK) break;
      if (rc != TD_ENOMEM) fail_msg("fail_after(%lld): %d %s", (long long)n, rc, err.message);
      assert_true(n < 10000);
    }
  }
}

/* td_sql_parse takes a length: a statement whose text ends on an integer,
 * with no NUL after it (a heap copy of exactly its bytes, as fuzz_sql
 * passes), is read within its bytes (ASan: strtoll read past the end on
 * DECIMAL(12 and ROW_GROUP_SIZE 5). */
static void test_unterminated(void **state) {
  (void)state;
  static const char *const texts[] = {"SELECT CAST(x AS DECIMAL(12", "SELECT CAST(x AS DECIMAL(12, 2",
                                      "COPY (SELECT 1) TO 'x.parquet' (ROW_GROUP_SIZE 5", "SELECT 1 LIMIT 12",
                                      "SELECT 123456789012345678901234567890"};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    size_t n = strlen(texts[i]);
    char *exact = malloc(n);
    memcpy(exact, texts[i], n);
    td_select *q = NULL;
    td_error err;
    if (td_sql_parse(exact, n, &q, &err) == TD_OK) td_select_free(q);
    free(exact);
  }
  /* a count beyond int64 is an error naming it (leading zeros are not) */
  td_select *q = NULL;
  td_error err;
  assert_int_equal(td_sql_parse("SELECT 1 LIMIT 99999999999999999999", 35, &q, &err), TD_EPARSE);
  assert_non_null(strstr(err.message, "LIMIT 99999999999999999999 at offset 15 is out of range"));
  assert_int_equal(td_sql_parse("SELECT 1 LIMIT 0000000000000000000000007", 40, &q, &err), TD_OK);
  assert_int_equal(q->limit, 7);
  td_select_free(q);
}

static void test_fuzz_smoke(void **state) {
  (void)state;
  static const char *const pieces[] = {"SELECT", " ", "(", ")", ",", "'", "\"", "*", "+", "-",
                                       "/", "<", ">", "=", "!", "a", "Price", "Sym", "1", "2.5e",
                                       "NOT", "IN", "BETWEEN", "AND", "OR", "IS", "NULL", "FROM",
                                       "WHERE", "GROUP BY", "ORDER BY", "LIMIT", "sum", "count",
                                       "'2024-01-01'", "Ts", ";", "--", "\n", "\0", "\xff"};
  srand(1234);
  char buf[512];
  for (int iter = 0; iter < 4000; iter++) {
    size_t len = 0;
    if (iter % 2) {
      const char *base = corpus[iter % 3];
      len = strlen(base);
      memcpy(buf, base, len);
      for (int m = 0; m < 3; m++) {
        size_t at = (size_t)rand() % len;
        buf[at] = (char)(rand() % 128);
      }
    } else {
      int n = rand() % 30;
      for (int i = 0; i < n; i++) {
        const char *p = pieces[rand() % (int)(sizeof pieces / sizeof *pieces)];
        size_t pl = p[0] ? strlen(p) : 1;
        if (len + pl >= sizeof buf) break;
        memcpy(buf + len, p, pl);
        len += pl;
      }
    }
    td_error err;
    int rc = parse_and_bind(buf, len, &err);
    assert_true(rc == TD_OK || rc == TD_EPARSE || rc == TD_ETYPE);
    if (rc) assert_true(err.position >= 0 && err.position <= (int64_t)len);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_sql),     cmocka_unit_test(test_sql_ast),
      cmocka_unit_test(test_sql_errors),    cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_bind_ok),       cmocka_unit_test(test_bind_errors),
      cmocka_unit_test(test_timestamps),    cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_fuzz_smoke),    cmocka_unit_test(test_unterminated),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
