/*
 * tests/formats/csv/test_csv.c - the CSV reader: inference and values on the
 * shared files, the ticks fixture against DuckDB's answers, RFC 4180 edge
 * cases and their errors, growing files, malformed inputs, laziness,
 * allocation failures and concurrent reads.
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "formats/reader.h"
#include "test.h"
#include "util/alloc.h"

/* ---- helpers ------------------------------------------------------------- */

typedef struct col {
  struct ArrowArray arr;
  td_colview v;
} col;

static void read_col(td_file_reader *r, int64_t c, int64_t off, int64_t n, col *out) {
  td_error err;
  TD_ASSERT_OK(td_reader_read(r, c, off, n, &out->arr, &err), &err);
  TD_ASSERT_OK(td_array_validate(r->schema.fields[c].type, &out->arr, &err), &err);
  TD_ASSERT_OK(td_colview_init(&out->v, r->schema.fields[c].type, &out->arr, &err), &err);
  assert_int_equal(out->v.length, n);
}

static void col_free(col *c) { td_arrow_array_release(&c->arr); }

static void assert_str(const td_colview *v, int64_t i, const char *want) {
  assert_true(td_colview_valid(v, i));
  int64_t len;
  const char *s = td_colview_str(v, i, &len);
  if ((int64_t)strlen(want) != len || memcmp(s, want, (size_t)len))
    fail_msg("row %lld: expected '%s', got '%.*s'", (long long)i, want, (int)len, s);
}

static td_file_reader *open_ok(const char *path, const td_csv_options *opts) {
  td_error err;
  td_file_reader *r = NULL;
  TD_ASSERT_OK(td_csv_open(path, opts, &r, &err), &err);
  assert_non_null(r);
  assert_string_equal(r->vt->format_name, "csv");
  return r;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fwrite(text, 1, strlen(text), f);
  fclose(f);
}

static void append_file(const char *path, const char *text) {
  FILE *f = fopen(path, "ab");
  assert_non_null(f);
  fwrite(text, 1, strlen(text), f);
  fclose(f);
}

static const char *tmp_path(const char *name) {
  static char buf[512];
  snprintf(buf, sizeof buf, "/tmp/td_csv_test_%d_%s", (int)getpid(), name);
  return buf;
}

/* Opens `text` as a CSV file; returns the status and fills err. */
static int open_text(const char *text, const td_csv_options *opts, td_file_reader **r,
                     td_error *err) {
  const char *path = tmp_path("case.csv");
  write_file(path, text);
  *r = NULL;
  return td_csv_open(path, opts, r, err);
}

static td_file_reader *open_text_ok(const char *text, const td_csv_options *opts) {
  td_error err;
  td_file_reader *r;
  TD_ASSERT_OK(open_text(text, opts, &r, &err), &err);
  return r;
}

/* Opens `text` expecting failure with a message containing `needle`. */
static void open_fails(const char *text, const td_csv_options *opts, int code, const char *needle) {
  td_error err;
  td_file_reader *r;
  int rc = open_text(text, opts, &r, &err);
  if (rc != code) fail_msg("expected %s, got %s: %s", td_status_name(code), td_status_name(rc), rc ? err.message : "");
  assert_null(r);
  TD_ASSERT_CONTAINS(err.message, needle);
  TD_ASSERT_CONTAINS(err.message, "td_csv_test_");
}

/* Reading column c of every row of `text` fails with `needle`. */
static void read_fails(const char *text, const td_csv_options *opts, int64_t c, const char *needle) {
  td_file_reader *r = open_text_ok(text, opts);
  td_error err;
  struct ArrowArray a;
  int rc = td_reader_read(r, c, 0, r->num_rows, &a, &err);
  if (rc == TD_OK) {
    td_arrow_array_release(&a);
    fail_msg("reading column %lld succeeded; expected an error with '%s'", (long long)c, needle);
  }
  assert_int_equal(rc, TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, needle);
  td_reader_close(r);
}

static void assert_type(const td_file_reader *r, int64_t c, td_type_id t, const char *tz) {
  const td_field *f = &r->schema.fields[c];
  if (f->type != t)
    fail_msg("column %s: expected %s, inferred %s", f->name, td_type_name(t), td_type_name(f->type));
  if (tz) assert_string_equal(f->tz, tz);
  else assert_null(f->tz);
}

static double col_sum(const td_colview *v) {
  double s = 0;
  for (int64_t i = 0; i < v->length; i++)
    if (td_colview_valid(v, i)) s += td_colview_double(v, i);
  return s;
}

static int64_t col_isum(const td_colview *v) {
  int64_t s = 0;
  for (int64_t i = 0; i < v->length; i++)
    if (td_colview_valid(v, i)) s += td_colview_int(v, i);
  return s;
}

/* ---- 1. the shared aggregate files --------------------------------------- */

static void test_aggregate_inferred(void **state) {
  (void)state;
  td_file_reader *r = open_ok(td_test_testdata("csv/aggregate_test_100.csv"), NULL);
  assert_int_equal(r->schema.n_fields, 13);
  /* The 100th record has no terminating newline: not counted (growth rule). */
  assert_int_equal(r->num_rows, 99);
  assert_type(r, 0, TD_TYPE_UTF8, NULL);
  for (int c = 1; c <= 8; c++) assert_type(r, c, TD_TYPE_INT64, NULL);
  assert_type(r, 9, TD_TYPE_UTF8, NULL); /* uint64 values beyond int64 stay text */
  assert_type(r, 10, TD_TYPE_FLOAT64, NULL);
  assert_type(r, 11, TD_TYPE_FLOAT64, NULL);
  assert_type(r, 12, TD_TYPE_UTF8, NULL);
  col c;
  read_col(r, 0, 0, 99, &c);
  assert_str(&c.v, 0, "c");
  assert_str(&c.v, 98, "b");
  col_free(&c);
  read_col(r, 1, 0, 99, &c);
  assert_int_equal(col_isum(&c.v), 281);
  col_free(&c);
  read_col(r, 2, 0, 99, &c);
  assert_int_equal(col_isum(&c.v), 751);
  col_free(&c);
  read_col(r, 3, 0, 99, &c);
  assert_int_equal(col_isum(&c.v), 248107);
  assert_int_equal(td_colview_int(&c.v, 0), 18109);
  assert_int_equal(td_colview_int(&c.v, 98), 20690);
  col_free(&c);
  read_col(r, 5, 98, 1, &c);
  assert_int_equal(td_colview_int(&c.v, 0), INT64_C(-2027442591571700798));
  col_free(&c);
  read_col(r, 9, 0, 1, &c);
  assert_str(&c.v, 0, "5863949479783605708");
  col_free(&c);
  read_col(r, 11, 0, 99, &c);
  assert_true(fabs(col_sum(&c.v) - 50.85756752041431) < 1e-9);
  assert_true(td_colview_double(&c.v, 0) == 0.9294097332465232);
  col_free(&c);
  read_col(r, 12, 98, 1, &c);
  assert_str(&c.v, 0, "52mKlRE3aHCBZtjECq6sY9OqVf8Dze");
  col_free(&c);
  td_reader_close(r);
}

static void test_aggregate_dates(void **state) {
  (void)state;
  td_file_reader *r = open_ok(td_test_testdata("csv/aggregate_test_100_with_dates.csv"), NULL);
  assert_int_equal(r->schema.n_fields, 15);
  assert_int_equal(r->num_rows, 100); /* CRLF, final newline present */
  assert_type(r, 13, TD_TYPE_TIMESTAMP, NULL);
  assert_type(r, 14, TD_TYPE_TIMESTAMP, NULL);
  col c;
  read_col(r, 1, 0, 100, &c);
  assert_int_equal(col_isum(&c.v), 285);
  col_free(&c);
  read_col(r, 14, 0, 100, &c);
  assert_int_equal(td_colview_int(&c.v, 0), INT64_C(1672563600000000000)); /* 2023-01-01 09:00 */
  assert_int_equal(td_colview_int(&c.v, 99), INT64_C(1672911640920000000)); /* 01-05 09:40:40.920 */
  col_free(&c);
  read_col(r, 13, 1, 1, &c);
  assert_int_equal(td_colview_int(&c.v, 0), INT64_C(1682899200000000000)); /* 2023-05-01 */
  col_free(&c);
  read_col(r, 12, 99, 1, &c); /* the CR of CRLF is not part of the value */
  assert_str(&c.v, 0, "cq4WSAIFwx3wwTUS5bp1wCe71R6U5I");
  col_free(&c);
  td_reader_close(r);
}

/* ---- 2. the ticks fixture ------------------------------------------------ */

typedef struct ticks_totals {
  int64_t rows, symbols, volumes, flags, lot, tick, code, max_ts, files;
  double bid;
  int64_t filter_n[3];    /* Price > 900 and Flag, per exchange BZX, NASDAQ, NYSE */
  int64_t jan4_bzx_size;  /* sum(Size) of Date=2024-01-04/Exchange=BZX */
  json_t *by_partition;   /* expected rows, checked per file */
} ticks_totals;

static void ticks_schema(td_schema *s) {
  td_error err;
  td_schema_init(s);
  TD_ASSERT_OK(td_schema_add(s, "Timestamp", TD_TYPE_TIMESTAMP, "UTC", true, &err), &err);
  TD_ASSERT_OK(td_schema_add(s, "Symbol", TD_TYPE_UTF8, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(s, "Price", TD_TYPE_FLOAT64, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(s, "Size", TD_TYPE_INT32, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(s, "Volume", TD_TYPE_INT64, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(s, "Bid", TD_TYPE_FLOAT32, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(s, "Flag", TD_TYPE_BOOL, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(s, "Lot", TD_TYPE_INT16, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(s, "Tick", TD_TYPE_INT8, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(s, "Code", TD_TYPE_UINT16, NULL, true, &err), &err);
}

static int64_t jint(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  assert_non_null(v);
  return json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : json_integer_value(v);
}

static json_t *query_result(json_t *root, const char *name) {
  json_t *q = json_object_get(json_object_get(root, "queries"), name);
  assert_non_null(q);
  return json_object_get(q, "result");
}

/* Checks one file against its by_partition row and adds it to the totals. */
static void ticks_file(const char *path, const char *date, const char *exch, ticks_totals *t) {
  td_schema s;
  ticks_schema(&s);
  td_csv_options o = {.schema = &s};
  td_file_reader *r = open_ok(path, &o);
  td_schema_reset(&s);
  int64_t n = r->num_rows;
  col c[10];
  for (int i = 0; i < 10; i++) read_col(r, i, 0, n, &c[i]);
  int ex = !strcmp(exch, "BZX") ? 0 : !strcmp(exch, "NASDAQ") ? 1 : 2;
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    double price = td_colview_double(&c[2].v, i);
    lo = price < lo ? price : lo;
    hi = price > hi ? price : hi;
    bool flag = td_colview_valid(&c[6].v, i) && td_colview_int(&c[6].v, i);
    if (price > 900 && flag) t->filter_n[ex]++;
    int64_t ts = td_colview_int(&c[0].v, i);
    if (ts > t->max_ts) t->max_ts = ts;
  }
  t->rows += n;
  t->symbols += n - c[1].v.null_count;
  t->volumes += n - c[4].v.null_count;
  t->flags += n - c[6].v.null_count;
  t->lot += col_isum(&c[7].v);
  t->tick += col_isum(&c[8].v);
  t->code += col_isum(&c[9].v);
  t->bid += col_sum(&c[5].v);
  if (!strcmp(date, "2024-01-04") && ex == 0) t->jan4_bzx_size = col_isum(&c[3].v);
  size_t k;
  json_t *row;
  bool found = false;
  json_array_foreach(t->by_partition, k, row) {
    if (strcmp(json_string_value(json_object_get(row, "Date")), date) ||
        strcmp(json_string_value(json_object_get(row, "Exchange")), exch))
      continue;
    found = true;
    assert_int_equal(n, jint(row, "n"));
    assert_int_equal(col_isum(&c[4].v), jint(row, "vol"));
    assert_true(fabs(lo - json_number_value(json_object_get(row, "lo"))) < 1e-9);
    assert_true(fabs(hi - json_number_value(json_object_get(row, "hi"))) < 1e-9);
  }
  assert_true(found);
  t->files++;
  for (int i = 0; i < 10; i++) col_free(&c[i]);
  td_reader_close(r);
}

static void test_ticks_declared(void **state) {
  (void)state;
  json_error_t jerr;
  json_t *root = json_load_file(td_test_testdata("fixtures/ticks/expected.json"), 0, &jerr);
  assert_non_null(root);
  ticks_totals t;
  memset(&t, 0, sizeof t);
  t.max_ts = INT64_MIN;
  t.by_partition = query_result(root, "by_partition");
  char base[1024];
  snprintf(base, sizeof base, "%s", td_test_testdata("fixtures/ticks/csv"));
  DIR *d1 = opendir(base);
  assert_non_null(d1);
  struct dirent *e1;
  while ((e1 = readdir(d1))) {
    if (strncmp(e1->d_name, "Date=", 5)) continue;
    char dir2[1280];
    snprintf(dir2, sizeof dir2, "%s/%s", base, e1->d_name);
    DIR *d2 = opendir(dir2);
    assert_non_null(d2);
    struct dirent *e2;
    while ((e2 = readdir(d2))) {
      if (strncmp(e2->d_name, "Exchange=", 9)) continue;
      char path[1600];
      snprintf(path, sizeof path, "%s/%s/data_0.csv", dir2, e2->d_name);
      ticks_file(path, e1->d_name + 5, e2->d_name + 9, &t);
    }
    closedir(d2);
  }
  closedir(d1);
  assert_int_equal(t.files, 15);
  assert_int_equal(t.rows, 53835);
  json_t *nulls = json_array_get(query_result(root, "nulls"), 0);
  assert_int_equal(t.rows, jint(nulls, "n"));
  assert_int_equal(t.symbols, jint(nulls, "symbols"));
  assert_int_equal(t.volumes, jint(nulls, "volumes"));
  assert_int_equal(t.flags, jint(nulls, "flags"));
  json_t *types = json_array_get(query_result(root, "types"), 0);
  assert_int_equal(t.lot, jint(types, "lot"));
  assert_int_equal(t.tick, jint(types, "tick"));
  assert_int_equal(t.code, jint(types, "code"));
  assert_true(fabs(t.bid - json_number_value(json_object_get(types, "bid"))) < 1e-3);
  json_t *q = json_object_get(json_object_get(root, "queries"), "types");
  assert_int_equal(t.max_ts, jint(json_array_get(json_object_get(q, "ts_epoch_ns"), 0), "ts"));
  json_t *one = json_array_get(query_result(root, "one_partition"), 0);
  assert_int_equal(t.jan4_bzx_size, jint(one, "size"));
  json_t *filter = query_result(root, "data_filter");
  for (int i = 0; i < 3; i++) assert_int_equal(t.filter_n[i], jint(json_array_get(filter, (size_t)i), "n"));
  json_decref(root);
}

static void test_ticks_inferred(void **state) {
  (void)state;
  td_file_reader *r =
      open_ok(td_test_testdata("fixtures/ticks/csv/Date=2024-01-02/Exchange=BZX/data_0.csv"), NULL);
  assert_int_equal(r->num_rows, 4940);
  assert_type(r, 0, TD_TYPE_TIMESTAMP, NULL); /* written without offset */
  assert_type(r, 1, TD_TYPE_UTF8, NULL);
  assert_type(r, 2, TD_TYPE_FLOAT64, NULL);
  assert_type(r, 3, TD_TYPE_INT64, NULL);
  assert_type(r, 4, TD_TYPE_INT64, NULL);
  assert_type(r, 5, TD_TYPE_FLOAT64, NULL);
  assert_type(r, 6, TD_TYPE_BOOL, NULL);
  for (int c = 7; c < 10; c++) assert_type(r, c, TD_TYPE_INT64, NULL);
  col c;
  read_col(r, 4, 0, r->num_rows, &c);
  assert_int_equal(col_isum(&c.v), INT64_C(24170793259));
  col_free(&c);
  td_reader_close(r);
}

/* ---- 3. RFC 4180 edge cases and errors ----------------------------------- */

static void test_quoting(void **state) {
  (void)state;
  td_file_reader *r = open_text_ok(
      "\"na,me\",\"v\"\"al\"\r\n"
      "\"a,b\",\"say \"\"hi\"\"\"\r\n"
      "\"multi\nline\r\nvalue\",\"\"\r\n"
      "plain,\r\n"
      "\n"
      "\"\",x\n",
      NULL);
  assert_string_equal(r->schema.fields[0].name, "na,me");
  assert_string_equal(r->schema.fields[1].name, "v\"al");
  assert_int_equal(r->num_rows, 4); /* the blank line is skipped */
  col c;
  read_col(r, 0, 0, 4, &c);
  assert_str(&c.v, 0, "a,b");
  assert_str(&c.v, 1, "multi\nline\r\nvalue");
  assert_str(&c.v, 2, "plain");
  assert_str(&c.v, 3, ""); /* quoted empty: an empty string */
  col_free(&c);
  read_col(r, 1, 0, 4, &c);
  assert_str(&c.v, 0, "say \"hi\"");
  assert_str(&c.v, 1, "");
  assert_false(td_colview_valid(&c.v, 2)); /* unquoted empty: null */
  assert_str(&c.v, 3, "x");
  assert_int_equal(c.v.null_count, 1);
  col_free(&c);
  read_col(r, 1, 3, 1, &c); /* positioned read after the multi-line record */
  assert_str(&c.v, 0, "x");
  col_free(&c);
  td_reader_close(r);
}

static void test_empty_values_typed(void **state) {
  (void)state;
  td_file_reader *r = open_text_ok("i,f,b,t,s\n1,\"\",true,,\n\"\",2.5,,2024-01-01,\"\"\n,,FALSE,,x\n", NULL);
  assert_type(r, 0, TD_TYPE_INT64, NULL);
  assert_type(r, 1, TD_TYPE_FLOAT64, NULL);
  assert_type(r, 2, TD_TYPE_BOOL, NULL);
  assert_type(r, 3, TD_TYPE_TIMESTAMP, NULL);
  assert_type(r, 4, TD_TYPE_UTF8, NULL);
  col c;
  read_col(r, 0, 0, 3, &c);
  assert_int_equal(c.v.null_count, 2);
  assert_int_equal(td_colview_int(&c.v, 0), 1);
  col_free(&c);
  read_col(r, 1, 0, 3, &c);
  assert_int_equal(c.v.null_count, 2); /* quoted empty is null for non-text */
  col_free(&c);
  read_col(r, 2, 0, 3, &c);
  assert_int_equal(c.v.null_count, 1);
  assert_true(td_colview_int(&c.v, 0));
  assert_false(td_colview_int(&c.v, 2));
  col_free(&c);
  read_col(r, 4, 0, 3, &c);
  assert_int_equal(c.v.null_count, 1);
  assert_str(&c.v, 1, "");
  col_free(&c);
  td_reader_close(r);
}

static void test_inference_rules(void **state) {
  (void)state;
  td_file_reader *r = open_text_ok(
      "zip,big,f,e,ts,tsz,mix,none,neg,b\n"
      "007,9223372036854775808,1,nan,2024-01-02T03:04:05.123456789,2024-01-02T03:04:05+01:00,1,,-5,True\n"
      "012,1,2.5,-inf,2024-01-02,2024-01-02 00:00:00Z,x,,+7,false\n",
      NULL);
  assert_type(r, 0, TD_TYPE_UTF8, NULL);    /* leading zeros kept */
  assert_type(r, 1, TD_TYPE_UTF8, NULL);    /* beyond int64 */
  assert_type(r, 2, TD_TYPE_FLOAT64, NULL); /* ints and decimals */
  assert_type(r, 3, TD_TYPE_FLOAT64, NULL);
  assert_type(r, 4, TD_TYPE_TIMESTAMP, NULL);
  assert_type(r, 5, TD_TYPE_TIMESTAMP, "UTC");
  assert_type(r, 6, TD_TYPE_UTF8, NULL);
  assert_type(r, 7, TD_TYPE_UTF8, NULL); /* all empty */
  assert_type(r, 8, TD_TYPE_INT64, NULL);
  assert_type(r, 9, TD_TYPE_BOOL, NULL);
  col c;
  read_col(r, 0, 0, 2, &c);
  assert_str(&c.v, 0, "007");
  col_free(&c);
  read_col(r, 3, 0, 2, &c);
  assert_true(isnan(td_colview_double(&c.v, 0)));
  assert_true(isinf(td_colview_double(&c.v, 1)) && td_colview_double(&c.v, 1) < 0);
  col_free(&c);
  read_col(r, 4, 0, 2, &c);
  assert_int_equal(td_colview_int(&c.v, 0), INT64_C(1704164645123456789));
  assert_int_equal(td_colview_int(&c.v, 1), INT64_C(1704153600000000000));
  col_free(&c);
  read_col(r, 5, 0, 2, &c);
  assert_int_equal(td_colview_int(&c.v, 0), INT64_C(1704161045000000000)); /* 02:04:05 UTC */
  assert_int_equal(td_colview_int(&c.v, 1), INT64_C(1704153600000000000));
  col_free(&c);
  read_col(r, 8, 0, 2, &c);
  assert_int_equal(td_colview_int(&c.v, 0), -5);
  assert_int_equal(td_colview_int(&c.v, 1), 7);
  col_free(&c);
  td_reader_close(r);
}

static void test_float_parsing(void **state) {
  (void)state;
  const char *vals[] = {"0.1", "1e-300", "1.23456789012345678901234567890e29", "2.2250738585072014e-308",
                        "-0.0", ".5", "5.", "1E+10", "0.30000000000000004", "4.9e-324"};
  char text[1024] = "x\n";
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
    strcat(text, vals[i]);
    strcat(text, "\n");
  }
  td_file_reader *r = open_text_ok(text, NULL);
  assert_type(r, 0, TD_TYPE_FLOAT64, NULL);
  col c;
  read_col(r, 0, 0, r->num_rows, &c);
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
    assert_true(td_colview_double(&c.v, (int64_t)i) == strtod(vals[i], NULL));
  col_free(&c);
  td_reader_close(r);
}

static void test_header_errors(void **state) {
  (void)state;
  open_fails("", NULL, TD_EFORMAT, "empty");
  open_fails("a,,c\n1,2,3\n", NULL, TD_EFORMAT, "column 2 of the header has an empty name");
  open_fails("a,b,a\n1,2,3\n", NULL, TD_EFORMAT, "column 3 of the header repeats the name 'a' of column 1");
  open_fails("\"x\",\"x\"\n", NULL, TD_EFORMAT, "repeats the name 'x'");
  open_fails("a,b", NULL, TD_EFORMAT, "header row has no terminating newline");
  open_fails("a,\"b\n", NULL, TD_EFORMAT, "line 1, column 2: unterminated quoted field");
  open_fails("\n\r\na,\n", NULL, TD_EFORMAT, "line 3, column 2 of the header has an empty name");
}

static void test_structure_errors(void **state) {
  (void)state;
  open_fails("a,b\n1,2\n3,4,5\n", NULL, TD_EFORMAT, "line 3: expected 2 fields (as in the header), found 3");
  open_fails("a,b\n1,2\n3\n", NULL, TD_EFORMAT, "line 3: expected 2 fields (as in the header), found 1");
  open_fails("a,b\n1,x\"y\n", NULL, TD_EFORMAT, "line 2, column 2 ('b'): quote inside an unquoted field");
  open_fails("a,b\n\"1\"x,2\n", NULL, TD_EFORMAT, "line 2, column 1 ('a'): unexpected character after a closing quote");
  open_fails("a,b\n1,2\n\"x\ny\",\"open\nz\n", NULL, TD_EFORMAT, "line 4, column 2 ('b'): unterminated quoted field");
  open_fails("a,b\n\"p\nq\",\"r\ns\"t\n", NULL, TD_EFORMAT, "line 4, column 2 ('b'): unexpected character after a closing quote (in the record that starts at line 2)");
  td_csv_options o = {.delimiter = '"'};
  open_fails("a\n", &o, TD_EINVAL, "delimiter");
}

static void test_declared_errors(void **state) {
  (void)state;
  td_error err;
  td_schema s;
  td_schema_init(&s);
  TD_ASSERT_OK(td_schema_add(&s, "a", TD_TYPE_INT8, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(&s, "b", TD_TYPE_TIMESTAMP, "UTC", true, &err), &err);
  td_csv_options o = {.schema = &s};
  open_fails("a,c\n", &o, TD_EFORMAT, "column 2 of the header is 'c' but the declared schema names 'b'");
  open_fails("a\n", &o, TD_EFORMAT, "the header has 1 columns but the declared schema has 2");
  read_fails("a,b\n1,2024-01-01\n2,\n300,\n", &o, 0,
             "line 4, column 1 ('a'): '300' is out of range for int8");
  read_fails("a,b\n1,2024-01-01\n2,yesterday\n", &o, 1,
             "line 3, column 2 ('b'): cannot parse 'yesterday' as timestamp");
  read_fails("a,b\n\"x\ny\",2024-01-01\n", &o, 0, "line 2, column 1 ('a'): cannot parse 'x\ny' as int8");
  td_file_reader *r = open_text_ok("a,b\n-128,2024-01-01 00:00:00\n127,2024-01-01T00:00:00-05:00\n", &o);
  col c;
  read_col(r, 0, 0, 2, &c);
  assert_int_equal(td_colview_int(&c.v, 0), -128);
  col_free(&c);
  read_col(r, 1, 0, 2, &c);
  assert_int_equal(td_colview_int(&c.v, 0), INT64_C(1704067200000000000));
  assert_int_equal(td_colview_int(&c.v, 1), INT64_C(1704067200000000000) + INT64_C(18000000000000));
  col_free(&c);
  td_reader_close(r);
  s.fields[0].nullable = false;
  read_fails("a,b\n1,\n,\n", &o, 0, "line 3, column 1 ('a'): empty value in a column declared not nullable");
  td_schema_reset(&s);
}

static void test_inferred_mismatch(void **state) {
  (void)state;
  td_csv_options o = {.sample_rows = 2};
  read_fails("n\n1\n2\n3.5\n", &o, 0,
             "line 4, column 1 ('n'): cannot parse '3.5' as int64 (the type was inferred from the first 2 rows; declare the column's type with --schema 'n VARCHAR");
}

static void test_delimiter_and_bom(void **state) {
  (void)state;
  td_csv_options o = {.delimiter = ';'};
  td_file_reader *r = open_text_ok("\xEF\xBB\xBFx;y\n1,5;\"a;b\"\n", &o);
  assert_string_equal(r->schema.fields[0].name, "x");
  assert_type(r, 0, TD_TYPE_UTF8, NULL);
  col c;
  read_col(r, 1, 0, 1, &c);
  assert_str(&c.v, 0, "a;b");
  col_free(&c);
  td_reader_close(r);
}

static void test_read_bounds(void **state) {
  (void)state;
  td_file_reader *r = open_text_ok("a\n1\n", NULL);
  td_error err;
  struct ArrowArray a;
  assert_int_equal(td_reader_read(r, 0, 0, 2, &a, &err), TD_EINVAL);
  assert_int_equal(td_reader_read(r, 1, 0, 1, &a, &err), TD_EINVAL);
  assert_int_equal(td_reader_read(r, 0, -1, 1, &a, &err), TD_EINVAL);
  col c;
  read_col(r, 0, 1, 0, &c);
  col_free(&c);
  td_reader_close(r);
  r = open_text_ok("a,b\n", NULL); /* header only: zero rows */
  assert_int_equal(r->num_rows, 0);
  read_col(r, 1, 0, 0, &c);
  col_free(&c);
  td_reader_close(r);
}

static void test_invalid_utf8(void **state) {
  (void)state;
  read_fails("s\nok\n\xff\xfe\n", NULL, 0, "line 3, column 1 ('s'): the text is not valid UTF-8");
  open_fails("\xc3\x28\n1\n", NULL, TD_EFORMAT, "column 1 of the header is not valid UTF-8");
}

/* ---- 4. growing files ---------------------------------------------------- */

static void refresh_ok(td_file_reader *r) {
  td_error err;
  TD_ASSERT_OK(r->vt->refresh(r, &err), &err);
}

static void test_growth(void **state) {
  (void)state;
  const char *path = tmp_path("grow.csv");
  write_file(path, "id,name\n1,a\n2,");
  td_file_reader *r = open_ok(path, NULL);
  assert_int_equal(r->num_rows, 1);
  refresh_ok(r);
  assert_int_equal(r->num_rows, 1);
  append_file(path, "b\n3,\"multi");
  refresh_ok(r);
  assert_int_equal(r->num_rows, 2);
  append_file(path, "\nline\"");
  refresh_ok(r);
  assert_int_equal(r->num_rows, 2); /* closing quote but no newline yet */
  append_file(path, "\r\n");
  refresh_ok(r);
  assert_int_equal(r->num_rows, 3);
  /* Enough rows to need several index marks. */
  char line[64];
  FILE *f = fopen(path, "ab");
  for (int i = 4; i <= 5000; i++) fprintf(f, "%d,n%d\n", i, i);
  fclose(f);
  refresh_ok(r);
  assert_int_equal(r->num_rows, 5000);
  col c;
  read_col(r, 1, 1, 2, &c);
  assert_str(&c.v, 0, "b");
  assert_str(&c.v, 1, "multi\nline");
  col_free(&c);
  read_col(r, 0, 0, 5000, &c);
  for (int64_t i = 0; i < 5000; i++) assert_int_equal(td_colview_int(&c.v, i), i + 1);
  col_free(&c);
  read_col(r, 1, 4090, 3, &c);
  snprintf(line, sizeof line, "n%d", 4091);
  assert_str(&c.v, 0, line);
  col_free(&c);
  /* A bad complete record is an error naming its line. */
  append_file(path, "x,\"y\"z\n");
  td_error err;
  assert_int_equal(r->vt->refresh(r, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "line 5003, column 2 ('name')");
  assert_int_equal(r->num_rows, 5000);
  td_reader_close(r);
  unlink(path);
}

static void test_truncate_and_replace(void **state) {
  (void)state;
  const char *path = tmp_path("trunc.csv");
  write_file(path, "a\n1\n2\n");
  td_file_reader *r = open_ok(path, NULL);
  write_file(path, "a\n1\n"); /* truncates in place */
  td_error err;
  assert_int_equal(r->vt->refresh(r, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "file was truncated");
  td_reader_close(r);

  write_file(path, "a\n1\n");
  r = open_ok(path, NULL);
  char other[1024];
  snprintf(other, sizeof other, "%s.new", path);
  write_file(other, "a\n1\n2\n3\n");
  assert_int_equal(rename(other, path), 0);
  assert_int_equal(r->vt->refresh(r, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "file was replaced");
  assert_int_equal(r->num_rows, 1);
  td_reader_close(r);
  unlink(path);
}

/* ---- 5. malformed inputs ------------------------------------------------- */

static void test_malformed(void **state) {
  (void)state;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", td_test_testdata("csv/malformed"));
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[1600];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    td_error err;
    td_file_reader *r = NULL;
    int rc = td_csv_open(path, NULL, &r, &err);
    n++;
    if (rc) {
      assert_null(r);
      assert_true(rc == TD_EFORMAT || rc == TD_EUNSUPPORTED);
      printf("  %s: %s: %s\n", e->d_name, td_status_name(rc), err.message);
      continue;
    }
    int64_t failed = 0;
    for (int64_t c = 0; c < r->schema.n_fields; c++) {
      struct ArrowArray a;
      rc = td_reader_read(r, c, 0, r->num_rows, &a, &err);
      if (rc) {
        assert_int_equal(rc, TD_EFORMAT);
        failed++;
      } else {
        td_arrow_array_release(&a);
      }
    }
    printf("  %s: opened, %lld columns, %lld rows, %lld columns failed to read%s%s\n", e->d_name,
           (long long)r->schema.n_fields, (long long)r->num_rows, (long long)failed,
           failed ? "; last: " : "", failed ? err.message : "");
    td_reader_close(r);
  }
  closedir(d);
  assert_true(n >= 7);
}

/* ---- 6. laziness --------------------------------------------------------- */

static void test_laziness(void **state) {
  (void)state;
  const char *path = tmp_path("big.csv");
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fprintf(f, "id,value,label\n");
  const int rows = 100000;
  for (int i = 0; i < rows; i++) fprintf(f, "%d,%d.25,\"label %d, quoted\"\n", i, i, i);
  fclose(f);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  td_file_reader *r = open_ok(path, NULL);
  assert_int_equal(r->num_rows, rows);
  int64_t before = r->io.bytes_read;
  col c;
  read_col(r, 2, 91234, 100, &c);
  assert_str(&c.v, 0, "label 91234, quoted");
  assert_str(&c.v, 99, "label 91333, quoted");
  col_free(&c);
  read_col(r, 1, rows - 1, 1, &c);
  assert_true(td_colview_double(&c.v, 0) == rows - 1 + 0.25);
  col_free(&c);
  int64_t delta = r->io.bytes_read - before;
  printf("  file %lld bytes; two late reads read %lld bytes\n", (long long)st.st_size, (long long)delta);
  assert_true(delta * 20 < (int64_t)st.st_size);
  td_reader_close(r);
  unlink(path);
}

/* ---- 7. allocation failures ---------------------------------------------- */

static int open_and_read(const char *path, const td_csv_options *o, td_error *err) {
  td_file_reader *r;
  int rc = td_csv_open(path, o, &r, err);
  if (rc) return rc;
  for (int64_t c = 0; c < r->schema.n_fields && !rc; c++) {
    struct ArrowArray a;
    rc = td_reader_read(r, c, r->num_rows / 3, r->num_rows - r->num_rows / 3, &a, err);
    if (!rc) td_arrow_array_release(&a);
  }
  if (!rc) rc = r->vt->refresh(r, err);
  td_reader_close(r);
  return rc;
}

static void alloc_failures(const char *path, const td_csv_options *o) {
  for (int64_t n = 0;; n++) {
    td_error err;
    td__alloc_fail_after(n);
    int rc = open_and_read(path, o, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      printf("  %s: succeeded after %lld allocations\n", path, (long long)n);
      return;
    }
    if (rc != TD_ENOMEM) fail_msg("n=%lld: expected TD_ENOMEM, got %s: %s", (long long)n, td_status_name(rc), err.message);
    assert_true(n < 100000);
  }
}

static void test_alloc_failures(void **state) {
  (void)state;
  alloc_failures(td_test_testdata("csv/aggregate_test_100_with_dates.csv"), NULL);
  const char *path = tmp_path("alloc.csv");
  FILE *f = fopen(path, "wb");
  fprintf(f, "a,\"b\"\"\",c\n");
  for (int i = 0; i < 3000; i++) fprintf(f, "%d,\"x\"\"%d\",%s\n", i, i, i % 7 ? "true" : "");
  fclose(f);
  alloc_failures(path, NULL);
  td_schema s;
  ticks_schema(&s);
  td_csv_options o = {.schema = &s};
  alloc_failures(td_test_testdata("fixtures/ticks/csv/Date=2024-01-03/Exchange=BZX/data_0.csv"), &o);
  td_schema_reset(&s);
  unlink(path);
}

/* ---- concurrent reads ---------------------------------------------------- */

typedef struct reader_job {
  td_file_reader *r;
  int seed;
  int failures;
} reader_job;

static void *reader_thread(void *arg) {
  reader_job *j = arg;
  unsigned s = (unsigned)j->seed;
  for (int k = 0; k < 200; k++) {
    s = s * 1103515245u + 12345u;
    int64_t off = (int64_t)(s % 4000u), n = 1 + (int64_t)((s >> 8) % 1000u);
    struct ArrowArray a;
    td_error err;
    if (td_reader_read(j->r, 0, off, n, &a, &err)) {
      j->failures++;
      continue;
    }
    td_colview v;
    if (td_colview_init(&v, TD_TYPE_INT64, &a, &err) || td_colview_int(&v, 0) != off ||
        td_colview_int(&v, n - 1) != off + n - 1)
      j->failures++;
    td_arrow_array_release(&a);
  }
  return NULL;
}

static void test_concurrent_reads(void **state) {
  (void)state;
  const char *path = tmp_path("conc.csv");
  FILE *f = fopen(path, "wb");
  fprintf(f, "id\n");
  for (int i = 0; i < 5000; i++) fprintf(f, "%d\n", i);
  fclose(f);
  td_file_reader *r = open_ok(path, NULL);
  pthread_t th[4];
  reader_job jobs[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (reader_job){r, i + 1, 0};
    pthread_create(&th[i], NULL, reader_thread, &jobs[i]);
  }
  /* Grow the file (and the index) while the readers run. */
  for (int k = 0; k < 20; k++) {
    f = fopen(path, "ab");
    for (int i = 0; i < 1500; i++) fprintf(f, "%d\n", 5000 + k * 1500 + i);
    fclose(f);
    refresh_ok(r);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(jobs[i].failures, 0);
  }
  assert_int_equal(r->num_rows, 35000);
  col c;
  read_col(r, 0, 34000, 1000, &c);
  assert_int_equal(td_colview_int(&c.v, 999), 34999);
  col_free(&c);
  td_reader_close(r);
  unlink(path);
}

/* Issue 10, item 6: offsets as DuckDB and PostgreSQL write them, quoted
 * headers, the quote and delimiter options, a whole-file sample, a null
 * string; each with its error path. */
static void test_dialect_options(void **state) {
  (void)state;
  /* offsets +00, +05:30, -0800 */
  td_file_reader *r = open_text_ok("\"t s\",\"a,b\"\n2024-01-01 10:00:00+00,1\n"
                                   "2024-01-01 10:00:00+05:30,2\n2024-01-01T10:00:00-0800,3\n", NULL);
  assert_type(r, 0, TD_TYPE_TIMESTAMP, "UTC");
  assert_string_equal(r->schema.fields[0].name, "t s");
  assert_string_equal(r->schema.fields[1].name, "a,b");
  col c;
  read_col(r, 0, 0, 3, &c);
  int64_t base = 1704103200LL * 1000000000LL; /* 2024-01-01T10:00:00Z */
  assert_int_equal(td_colview_int(&c.v, 0), base);
  assert_int_equal(td_colview_int(&c.v, 1), base - (5 * 3600 + 1800) * 1000000000LL);
  assert_int_equal(td_colview_int(&c.v, 2), base + 8 * 3600 * 1000000000LL);
  col_free(&c);
  td_reader_close(r);
  /* a bad offset stays text */
  r = open_text_ok("t\n2024-01-01 10:00:00+5\n", NULL);
  assert_type(r, 0, TD_TYPE_UTF8, NULL);
  td_reader_close(r);
  /* delimiter and quote */
  td_csv_options o = {.delimiter = ';', .quote = '\''};
  r = open_text_ok("a;b\n'x;y';2\n'it''s';3\n", &o);
  assert_int_equal(r->num_rows, 2);
  read_col(r, 0, 0, 2, &c);
  assert_str(&c.v, 0, "x;y");
  assert_str(&c.v, 1, "it's");
  col_free(&c);
  td_reader_close(r);
  o.quote = ';';
  open_fails("a;b\n", &o, TD_EINVAL, "cannot be the quote");
  /* the null string */
  td_csv_options on = {.null_str = "NULL"};
  r = open_text_ok("n,s\n1,a\nNULL,NULL\n3,\"NULL\"\n", &on);
  assert_type(r, 0, TD_TYPE_INT64, NULL);
  read_col(r, 0, 0, 3, &c);
  assert_false(td_colview_valid(&c.v, 1));
  assert_int_equal(td_colview_int(&c.v, 2), 3);
  col_free(&c);
  read_col(r, 1, 0, 3, &c);
  assert_false(td_colview_valid(&c.v, 1));
  assert_str(&c.v, 2, "NULL"); /* quoted: a string */
  col_free(&c);
  td_reader_close(r);
  /* without the option NULL is text, and the hint names the options */
  read_fails("n\n1\nNULL\n", &(td_csv_options){.sample_rows = 1}, 0, "--schema 'n VARCHAR");
  /* the whole file as the sample */
  td_csv_options oa = {.sample_rows = -1};
  r = open_text_ok("n\n1\n2\n3\n4.5\n", &oa);
  assert_type(r, 0, TD_TYPE_FLOAT64, NULL);
  td_reader_close(r);
  oa.sample_rows = -2;
  open_fails("n\n1\n", &oa, TD_EINVAL, "sample_rows must be -1");
}

/* A lone CR ends a record, as in DuckDB and pyarrow (old Mac writers end
 * lines with CR alone): such a file was rejected ("the header row has no
 * terminating newline"), and a CR after a closing quote was "unexpected".
 * A CR inside quotes stays in the value; CRLF is still one terminator, also
 * when a growing file's CR and LF arrive apart. */
static void test_cr_line_endings(void **state) {
  (void)state;
  td_file_reader *r = open_text_ok("a,b\r1,x\r\r\"p\rq\",y\r\"z\",w\r", NULL);
  assert_int_equal(r->schema.n_fields, 2);
  assert_string_equal(r->schema.fields[1].name, "b");
  assert_int_equal(r->num_rows, 3);
  col c;
  read_col(r, 0, 0, 3, &c);
  assert_str(&c.v, 0, "1");
  assert_str(&c.v, 1, "p\rq");
  assert_str(&c.v, 2, "z");
  col_free(&c);
  read_col(r, 1, 0, 3, &c);
  assert_str(&c.v, 0, "x");
  assert_str(&c.v, 1, "y");
  assert_str(&c.v, 2, "w");
  col_free(&c);
  td_reader_close(r);
  /* a growing CRLF file cut between CR and LF */
  const char *path = tmp_path("grow_cr.csv");
  write_file(path, "a,b\r\n1,x\r");
  r = open_ok(path, NULL);
  assert_int_equal(r->num_rows, 1);
  append_file(path, "\n2,\"y\"\r");
  refresh_ok(r);
  assert_int_equal(r->num_rows, 2);
  append_file(path, "\n3,z\r\n");
  refresh_ok(r);
  assert_int_equal(r->num_rows, 3);
  read_col(r, 1, 0, 3, &c);
  assert_str(&c.v, 0, "x");
  assert_str(&c.v, 1, "y");
  assert_str(&c.v, 2, "z");
  col_free(&c);
  read_col(r, 0, 0, 3, &c);
  for (int64_t i = 0; i < 3; i++) assert_int_equal(td_colview_int(&c.v, i), i + 1);
  col_free(&c);
  td_reader_close(r);
  unlink(path);
}

/* A finished file (td_csv_options.complete, what the file backend asks when
 * it does not watch the tree) counts a last line without its newline, the
 * header too; a growing one waits for the newline.  A refresh after such a
 * line wants the newline next. */
static void test_complete_last_line(void **state) {
  (void)state;
  const td_csv_options fin = {.complete = true};
  td_file_reader *r = open_text_ok("a,b\n1,x\n2,\"y\"", &fin);
  assert_int_equal(r->num_rows, 2);
  col c;
  read_col(r, 1, 1, 1, &c);
  assert_str(&c.v, 0, "y");
  col_free(&c);
  td_reader_close(r);
  r = open_text_ok("a,b\n1,x\n2,y", NULL); /* not finished: the last line waits */
  assert_int_equal(r->num_rows, 1);
  td_reader_close(r);
  r = open_text_ok("a,b\n1,", &fin); /* an empty last field */
  assert_int_equal(r->num_rows, 1);
  read_col(r, 0, 0, 1, &c);
  assert_int_equal(td_colview_int(&c.v, 0), 1);
  col_free(&c);
  td_reader_close(r);
  r = open_text_ok("a,b", &fin); /* a header alone */
  assert_int_equal(r->schema.n_fields, 2);
  assert_string_equal(r->schema.fields[1].name, "b");
  assert_int_equal(r->num_rows, 0);
  td_reader_close(r);
  open_fails("a,b\n1,2\n3", &fin, TD_EFORMAT, "line 3: expected 2 fields (as in the header), found 1");
  open_fails("a,b\n1,\"x", &fin, TD_EFORMAT, "unterminated quoted field");
  /* growth after a last line counted without its newline */
  const char *path = tmp_path("complete.csv");
  write_file(path, "a,b\n1,x");
  r = open_ok(path, &fin);
  assert_int_equal(r->num_rows, 1);
  append_file(path, "\n2,y\n");
  refresh_ok(r);
  assert_int_equal(r->num_rows, 2);
  read_col(r, 1, 0, 2, &c);
  assert_str(&c.v, 0, "x");
  assert_str(&c.v, 1, "y");
  col_free(&c);
  td_reader_close(r);
  write_file(path, "a,b\n1,x");
  r = open_ok(path, &fin);
  append_file(path, "z\n2,y\n");
  td_error err;
  assert_int_equal(r->vt->refresh(r, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "line 2: the last line, read as complete without a newline, was extended");
  assert_int_equal(r->num_rows, 1); /* nothing counted */
  read_col(r, 1, 0, 1, &c);
  assert_str(&c.v, 0, "x");
  col_free(&c);
  td_reader_close(r);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aggregate_inferred),  cmocka_unit_test(test_aggregate_dates),
      cmocka_unit_test(test_ticks_declared),      cmocka_unit_test(test_ticks_inferred),
      cmocka_unit_test(test_quoting),             cmocka_unit_test(test_empty_values_typed),
      cmocka_unit_test(test_inference_rules),     cmocka_unit_test(test_float_parsing),
      cmocka_unit_test(test_header_errors),       cmocka_unit_test(test_structure_errors),
      cmocka_unit_test(test_declared_errors),     cmocka_unit_test(test_inferred_mismatch),
      cmocka_unit_test(test_delimiter_and_bom),   cmocka_unit_test(test_read_bounds),
      cmocka_unit_test(test_invalid_utf8),        cmocka_unit_test(test_growth),
      cmocka_unit_test(test_truncate_and_replace), cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_laziness),            cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_concurrent_reads),
      cmocka_unit_test(test_dialect_options),
      cmocka_unit_test(test_cr_line_endings),     cmocka_unit_test(test_complete_last_line),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  unlink(tmp_path("case.csv"));
  return rc;
}
