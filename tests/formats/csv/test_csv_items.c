/*
 * tests/formats/csv/test_csv_items.c - the CSV reader on files written at
 * run time for the hardening items of issue 8: one very long record is read
 * in a number of reads logarithmic in its length, so re-splitting it from
 * its start stays linear (item 13); timestamps outside the nanosecond range
 * are errors naming the line and column, never wrapped values (item 18).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "formats/reader.h"
#include "test.h"

static const char *tmp_path(const char *name) {
  static char buf[256];
  snprintf(buf, sizeof buf, "/tmp/td_csv_items_%d_%s", (int)getpid(), name);
  return buf;
}

static void test_item13_long_record_linear(void **state) {
  (void)state;
  const char *path = tmp_path("long.csv");
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  const int64_t len = (int64_t)64 << 20;
  char *field = malloc((size_t)len);
  assert_non_null(field);
  memset(field, 'a', (size_t)len);
  fputs("id,text\n1,", f);
  assert_int_equal(fwrite(field, 1, (size_t)len, f), (size_t)len);
  fputs("\n2,b\n", f);
  fclose(f);
  free(field);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_csv_open(path, NULL, &r, &err), &err);
  int64_t reads = r->io.reads;
  printf("item 13: a 64 MiB record opened with %lld reads\n", (long long)reads);
  assert_int_equal(r->num_rows, 2);
  assert_true(reads < 20); /* geometric refills: ~log2(64 MiB / 1 MiB) */
  struct ArrowArray a;
  TD_ASSERT_OK(td_reader_read(r, 1, 0, 2, &a, &err), &err);
  td_colview v;
  TD_ASSERT_OK(td_colview_init(&v, TD_TYPE_UTF8, &a, &err), &err);
  assert_int_equal(v.offsets[v.offset + 1] - v.offsets[v.offset], len);
  a.release(&a);
  td_reader_close(r);
  unlink(path);
}

static void test_item18_timestamps_out_of_range(void **state) {
  (void)state;
  const char *path = tmp_path("ts.csv");
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs("t\n2024-01-01T00:00:00Z\n9999-12-31T00:00:00Z\n", f);
  fclose(f);
  td_schema s;
  td_schema_init(&s);
  td_error err;
  TD_ASSERT_OK(td_schema_add(&s, "t", TD_TYPE_TIMESTAMP, "UTC", true, &err), &err);
  td_csv_options o = {.schema = &s};
  td_file_reader *r;
  int rc = td_csv_open(path, &o, &r, &err);
  if (rc == TD_OK) {
    struct ArrowArray a;
    rc = td_reader_read(r, 0, 0, 2, &a, &err);
    if (rc == TD_OK) a.release(&a);
    td_reader_close(r);
  }
  printf("item 18: %s: %s\n", td_status_name(rc), err.message);
  assert_int_equal(rc, TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "line 3");
  TD_ASSERT_CONTAINS(err.message, "'t'");
  /* inferred: the text stays text, unchanged */
  TD_ASSERT_OK(td_csv_open(path, NULL, &r, &err), &err);
  assert_int_equal(r->schema.fields[0].type, TD_TYPE_UTF8);
  td_reader_close(r);
  td_schema_reset(&s);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_item13_long_record_linear),
      cmocka_unit_test(test_item18_timestamps_out_of_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
