/*
 * tests/backends/files/test_files_layouts.c - hive layouts as real writers
 * make them (issue 10, item 4): partition types inferred like DuckDB's
 * hive_types_autocast or declared, partition columns also stored in the
 * files, a path inside a hive tree, and globs as sources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files_util.h"
#include "test.h"

/* The backend over `path`, one table over it; returns the table (svc out). */
static int open_table(const char *path, const td_file_options *o, td_file_backend **fb, td_service **svc,
                      td_table **t, td_error *err) {
  *svc = NULL;
  *t = NULL;
  int rc = td_file_backend_new(path, o, fb, err);
  if (rc) return rc;
  *svc = fu_service(*fb, 0);
  rc = fu_table(*svc, *fb, NULL, t, err);
  if (rc) {
    td_service_free(*svc);
    td_file_backend_release(*fb);
  }
  return rc;
}

static void close_table(td_file_backend *fb, td_service *svc, td_table *t) {
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
}

static td_type_id part_type(td_table *t, const char *name) {
  const td_value *v = td_location_key_find(td_table_location(t, 0), name);
  assert_non_null(v);
  return v->type;
}

/* Every value of a key decides its type: integers (no leading zeros),
 * timestamps; anything else, or a mix, stays utf8. */
static void test_inferred_types(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  const char *dirs[] = {"n=1/z=01/t=2024-01-02T10:30:00/m=1/d=2024-01-01",
                        "n=-20/z=7/t=2024-01-02 11:00:00Z/m=x/d=2024-01-02",
                        "n=__HIVE_DEFAULT_PARTITION__/z=8/t=2024-01-03T00:00:00/m=2/d=2024-01-03"};
  char rel[256];
  for (int i = 0; i < 3; i++) {
    fu_mkdirs(root, dirs[i]);
    snprintf(rel, sizeof rel, "%s/f.arrows", dirs[i]);
    fu_write_stream(root, rel, TD_TYPE_INT64, i * 10, 2);
  }
  td_file_backend *fb;
  td_service *svc;
  td_table *t;
  td_error err;
  TD_ASSERT_OK(open_table(root, NULL, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_location_count(t), 3);
  assert_int_equal(part_type(t, "n"), TD_TYPE_INT64);
  assert_int_equal(part_type(t, "z"), TD_TYPE_UTF8);      /* "01": leading zero */
  assert_int_equal(part_type(t, "t"), TD_TYPE_TIMESTAMP);
  assert_int_equal(part_type(t, "m"), TD_TYPE_UTF8);      /* 1, x, 2: a mix */
  assert_int_equal(part_type(t, "d"), TD_TYPE_DATE32);    /* dates (hive_types_autocast) */
  bool saw_neg = false;
  for (int64_t i = 0; i < td_table_location_count(t); i++) {
    const td_value *v = td_location_key_find(td_table_location(t, i), "n");
    saw_neg |= !v->is_null && v->v.i == -20;
  }
  assert_true(saw_neg);
  close_table(fb, svc, t);
  /* inference off: everything utf8 */
  td_file_options o;
  td_file_options_init(&o);
  o.partition_types = TD_PARTITION_TYPES_NONE;
  TD_ASSERT_OK(open_table(root, &o, &fb, &svc, &t, &err), &err);
  assert_int_equal(part_type(t, "n"), TD_TYPE_UTF8);
  assert_int_equal(part_type(t, "t"), TD_TYPE_UTF8);
  close_table(fb, svc, t);
  /* a declared type wins over the inferred one */
  struct ArrowSchema ps;
  const char *names[] = {"n", "m"};
  td_type_id types[] = {TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  TD_ASSERT_OK(td_schema_make(2, names, types, NULL, &ps, &err), &err);
  td_file_options_init(&o);
  o.partition_schema = &ps;
  TD_ASSERT_OK(open_table(root, &o, &fb, &svc, &t, &err), &err);
  assert_int_equal(part_type(t, "n"), TD_TYPE_FLOAT64);
  assert_int_equal(part_type(t, "t"), TD_TYPE_TIMESTAMP);
  close_table(fb, svc, t);
  ps.release(&ps);
  fu_rmtree(root);
}

/* A partition column the files store too (DuckDB's WRITE_PARTITION_COLUMNS):
 * taken from the directories when the values agree, a clear error naming
 * file and row when they do not. */
static void test_partition_column_in_files(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "x=5");
  fu_mkdirs(root, "x=9");
  fu_write_stream(root, "x=5/a.arrows", TD_TYPE_INT64, 5, 1); /* x = 5, s = "s5" */
  fu_write_stream(root, "x=9/a.arrows", TD_TYPE_INT64, 9, 1);
  td_file_backend *fb;
  td_service *svc;
  td_table *t;
  td_error err;
  TD_ASSERT_OK(open_table(root, NULL, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_size(t), 2);
  assert_int_equal(part_type(t, "x"), TD_TYPE_INT64);
  struct ArrowSchema sch;
  TD_ASSERT_OK(td_table_schema(t, &sch, &err), &err);
  assert_int_equal(sch.n_children, 2); /* x (partition) and s, once each */
  sch.release(&sch);
  close_table(fb, svc, t);
  /* declared as utf8: values still agree ("5" reads back as 5) */
  td_file_options o;
  td_file_options_init(&o);
  o.partition_types = TD_PARTITION_TYPES_NONE;
  TD_ASSERT_OK(open_table(root, &o, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_size(t), 2);
  close_table(fb, svc, t);
  /* a second file whose values disagree */
  fu_write_stream(root, "x=9/b.arrows", TD_TYPE_INT64, 8, 3);
  assert_int_not_equal(open_table(root, NULL, &fb, &svc, &t, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "b.arrows' row 1: column 'x' holds '8' but its partition directory says '9'");
  fu_rmtree(root);
}

/* A path to one partition directory, or to a file inside a hive tree, still
 * has the partition columns of its path. */
static void test_path_inside_tree(void **state) {
  (void)state;
  char root[64], path[160];
  fu_tmpdir(root);
  fu_mkdirs(root, "Y=2024/M=03");
  fu_write_stream(root, "Y=2024/M=03/a.arrows", TD_TYPE_INT64, 0, 4);
  td_file_backend *fb;
  td_service *svc;
  td_table *t;
  td_error err;
  snprintf(path, sizeof path, "%s/Y=2024", root);
  TD_ASSERT_OK(open_table(path, NULL, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_size(t), 4);
  const td_value *y = td_location_key_find(td_table_location(t, 0), "Y");
  assert_non_null(y);
  assert_int_equal(y->type, TD_TYPE_INT64);
  assert_int_equal(y->v.i, 2024);
  const td_value *m = td_location_key_find(td_table_location(t, 0), "M");
  assert_non_null(m);
  assert_int_equal(m->type, TD_TYPE_UTF8);
  close_table(fb, svc, t);
  snprintf(path, sizeof path, "%s/Y=2024/M=03/a.arrows", root);
  TD_ASSERT_OK(open_table(path, NULL, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_size(t), 4);
  assert_int_equal(td_location_key_partition_count(td_table_location(t, 0)), 2);
  assert_non_null(td_location_key_find(td_table_location(t, 0), "Y"));
  close_table(fb, svc, t);
  fu_rmtree(root);
}

/* Globs: `**` any number of directories, `*` one component. */
static void test_globs(void **state) {
  (void)state;
  char root[64], path[160];
  fu_tmpdir(root);
  fu_mkdirs(root, "P=a/deep");
  fu_mkdirs(root, "P=b");
  fu_write_stream(root, "P=a/x.arrows", TD_TYPE_INT64, 0, 1);
  fu_write_stream(root, "P=a/y.arrows", TD_TYPE_INT64, 0, 2);
  fu_write_stream(root, "P=b/x.arrows", TD_TYPE_INT64, 0, 4);
  fu_write_text(root, "P=b/x.csv", "x,s\n1,a\n", false);
  td_file_backend *fb;
  td_service *svc;
  td_table *t;
  td_error err;
  snprintf(path, sizeof path, "%s/**/*.arrows", root);
  TD_ASSERT_OK(open_table(path, NULL, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_size(t), 7);
  assert_string_equal(td_file_backend_table_name(fb), path);
  close_table(fb, svc, t);
  snprintf(path, sizeof path, "%s/*/x.arrows", root);
  TD_ASSERT_OK(open_table(path, NULL, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_size(t), 5);
  assert_int_equal(td_table_location_count(t), 2);
  close_table(fb, svc, t);
  snprintf(path, sizeof path, "%s/P=b/*.csv", root);
  TD_ASSERT_OK(open_table(path, NULL, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_size(t), 1);
  assert_non_null(td_location_key_find(td_table_location(t, 0), "P"));
  close_table(fb, svc, t);
  /* a static table reads a file as finished: a last line without its
   * newline counts */
  fu_write_text(root, "P=b/y.csv", "x,s\n2,b\n3,c", false);
  TD_ASSERT_OK(open_table(path, NULL, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_size(t), 3);
  close_table(fb, svc, t);
  /* errors: no such directory before the pattern; nothing matches */
  snprintf(path, sizeof path, "%s/nope/*.arrows", root);
  assert_int_equal(td_file_backend_new(path, NULL, &fb, &err), TD_EIO);
  TD_ASSERT_CONTAINS(err.message, "before the pattern does not exist");
  snprintf(path, sizeof path, "%s/**/*.parquet", root);
  assert_int_equal(td_file_backend_new(path, NULL, &fb, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "no data files");
  fu_rmtree(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inferred_types),
      cmocka_unit_test(test_partition_column_in_files),
      cmocka_unit_test(test_path_inside_tree),
      cmocka_unit_test(test_globs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
