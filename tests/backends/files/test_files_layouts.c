/*
 * tests/backends/files/test_files_layouts.c - hive layouts as real writers
 * make them (issue 10, item 4): partition types inferred like DuckDB's
 * hive_types_autocast or declared, partition columns also stored in the
 * files, a path inside a hive tree, and globs as sources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/files/files_internal.h"
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

/* DuckDB's file table functions (td_file_backend_open_source): the format
 * is forced whatever the file names, options apply, bad options fail
 * naming them, and the forced format reaches a plain td_file_options. */
static void test_table_functions(void **state) {
  (void)state;
  char root[64], src[400], cmd[400];
  fu_tmpdir(root);
  fu_mkdirs(root, "pk=7");
  snprintf(cmd, sizeof cmd, "cp '%s' '%s/pk=7/rows.bin'", td_test_testdata("writers/duckdb_5rows.parquet"), root);
  assert_int_equal(system(cmd), 0);
  fu_write_text(root, "pk=7/notes.txt", "x;s\n1;a\n-;b\n", false);
  assert_true(td_file_is_source("read_parquet('x')"));
  assert_true(td_file_is_source("READ_CSV_AUTO('x')"));
  assert_false(td_file_is_source("read_parquetx('x')"));
  assert_false(td_file_is_source("postgres('a', 'b')"));
  assert_false(td_file_is_source("read_parquet"));
  td_file_backend *fb;
  td_service *svc;
  td_table *t;
  td_error err;
  /* Parquet under a name no extension rule takes; partition types as asked */
  snprintf(src, sizeof src, "read_parquet('%s/*/*.bin', hive_types_autocast => 'false')", root);
  TD_ASSERT_OK(td_file_backend_open_source(src, NULL, &fb, &err), &err);
  svc = fu_service(fb, 0);
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), 5);
  assert_int_equal(part_type(t, "pk"), TD_TYPE_UTF8);
  close_table(fb, svc, t);
  snprintf(src, sizeof src, "parquet_scan('%s/*/*.bin')", root);
  TD_ASSERT_OK(td_file_backend_open_source(src, NULL, &fb, &err), &err);
  svc = fu_service(fb, 0);
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  assert_int_equal(part_type(t, "pk"), TD_TYPE_INT64);
  close_table(fb, svc, t);
  /* CSV under .txt: the dialect and the null string from the options; the
   * base options (a caller's) are kept where the call says nothing */
  td_file_options base;
  td_file_options_init(&base);
  base.partition_types = TD_PARTITION_TYPES_NONE;
  snprintf(src, sizeof src, "read_csv('%s/*/notes.txt', delim => ';', nullstr => '-')", root);
  TD_ASSERT_OK(td_file_backend_open_source(src, &base, &fb, &err), &err);
  svc = fu_service(fb, 0);
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), 2);
  assert_int_equal(part_type(t, "pk"), TD_TYPE_UTF8);
  int64_t sum, count;
  fu_sum(t, td_table_column_index(t, "x"), 0, 2, &sum, &count);
  assert_int_equal(sum, 1);
  assert_int_equal(count, 1);
  close_table(fb, svc, t);
  /* the same through td_file_options.format; an out-of-range format */
  td_file_options o;
  td_file_options_init(&o);
  o.format = TD_FILE_FORMAT_CSV;
  o.csv_delimiter = ';';
  snprintf(src, sizeof src, "%s/pk=7/notes.txt", root);
  TD_ASSERT_OK(open_table(src, &o, &fb, &svc, &t, &err), &err);
  assert_int_equal(td_table_size(t), 2);
  close_table(fb, svc, t);
  assert_int_equal(td_file_backend_new(src, NULL, &fb, &err), TD_EUNSUPPORTED); /* .txt: no format by name */
  o.format = 9;
  assert_int_equal(td_file_backend_new(src, &o, &fb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "found 9");
  /* errors name the function, the option and the value */
  static const struct {
    const char *call;
    int code;
    const char *msg;
  } bad[] = {
      {"read_csv('%s', delim => ';;')", TD_EINVAL, "read_csv: option delim: expected one character (or '\\t'), found ';;'"},
      {"read_csv('%s', quote => '')", TD_EINVAL, "option quote: expected one character, found ''"},
      {"read_csv('%s', sample_size => '0')", TD_EINVAL, "option sample_size: expected a positive number"},
      {"read_csv('%s', header => 'false')", TD_EUNSUPPORTED, "header = false is not supported"},
      {"read_csv('%s', auto_detect => 'no')", TD_EINVAL, "option auto_detect: expected true or false, found 'no'"},
      {"read_parquet('%s', delim => ',')", TD_EINVAL, "read_parquet: unknown option 'delim' (expected hive_partitioning or"},
      {"read_parquet('%s', hive_partitioning => 'false')", TD_EUNSUPPORTED, "hive_partitioning = false is not supported"},
      {"read_parquet('%s', union_by_name => 'true')", TD_EUNSUPPORTED, "option union_by_name is not supported"},
      {"read_parquet('%s', 'second')", TD_EINVAL, "expected read_parquet('path or glob'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(src, sizeof src, bad[i].call, root);
    fb = (td_file_backend *)&err;
    assert_int_equal(td_file_backend_open_source(src, NULL, &fb, &err), bad[i].code);
    assert_null(fb);
    TD_ASSERT_CONTAINS(err.message, bad[i].msg);
  }
  assert_int_equal(td_file_backend_open_source("'plain'", NULL, &fb, &err), TD_EINVAL);
  /* union_by_name => false changes nothing */
  snprintf(src, sizeof src, "read_parquet('%s/*/*.bin', union_by_name => 'false')", root);
  TD_ASSERT_OK(td_file_backend_open_source(src, NULL, &fb, &err), &err);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

/* A tree walked with several threads (a directory's subdirectories listed
 * at once) has the locations, in the order, and the rows of the walk with
 * one: 9 x 12 partition directories and one of 200 (listed with helper
 * threads), a second name for that one (a symlink, visited once: the
 * directories' identities come from their entries), a hidden directory.  A thread count out of range
 * is refused, naming the option. */
static void test_walk_threads(void **state) {
  (void)state;
  char root[64], rel[128], link[256];
  fu_tmpdir(root);
  for (int a = 0; a < 10; a++)
    for (int b = 0; b < (a == 3 ? 200 : 12); b++) { /* a=3: helper threads (one a 64 subdirectories) */
      snprintf(rel, sizeof rel, "a=%d/b=%d", a, b);
      fu_mkdirs(root, rel);
      snprintf(rel, sizeof rel, "a=%d/b=%d/f.arrows", a, b);
      fu_write_stream(root, rel, TD_TYPE_INT64, a * 100 + b, 1 + (a + b) % 3);
    }
  fu_mkdirs(root, ".staging");
  fu_write_stream(root, ".staging/f.arrows", TD_TYPE_INT64, 7, 5);
  snprintf(link, sizeof link, "%s/a=99", root);
  assert_int_equal(symlink("a=3", link), 0);
  static char keys[2][16384];
  int64_t sums[2] = {0, 0}, sizes[2] = {0, 0};
  const int threads[] = {1, 2, 4, 7};
  for (int k = 0; k < 4; k++) {
    td_file_options o;
    td_file_options_init(&o);
    o.threads = threads[k];
    td_file_backend *fb;
    td_service *svc;
    td_table *t;
    td_error err;
    TD_ASSERT_OK(open_table(root, &o, &fb, &svc, &t, &err), &err);
    assert_int_equal(td_table_location_count(t), 9 * 12 + 200);
    char *out = keys[k > 0];
    out[0] = '\0';
    for (int64_t i = 0; i < td_table_location_count(t); i++) {
      char key[128];
      td_location_key_format(td_table_location(t, i), key, sizeof key);
      strncat(out, key, sizeof keys[0] - strlen(out) - 2);
      strcat(out, ";");
    }
    int64_t count;
    sizes[k > 0] = td_table_size(t);
    fu_sum(t, td_table_column_index(t, "x"), 0, sizes[k > 0], &sums[k > 0], &count);
    if (k > 0) {
      assert_string_equal(keys[1], keys[0]);
      assert_int_equal(sizes[1], sizes[0]);
      assert_int_equal(sums[1], sums[0]);
    }
    close_table(fb, svc, t);
  }
  TD_ASSERT_CONTAINS(keys[0], "#a=3/b=199;a=4/b=0#"); /* in order, a=99 not among them */
  assert_null(strstr(keys[0], "a=99"));
  for (int bad = 0; bad < 2; bad++) {
    td_file_options o;
    td_file_options_init(&o);
    o.threads = bad ? 65 : -1;
    td_file_backend *fb = NULL;
    td_error err;
    assert_int_equal(td_file_backend_new(root, &o, &fb, &err), TD_EINVAL);
    assert_null(fb);
    TD_ASSERT_CONTAINS(err.message, "td_file_options.threads: expected 0 (one per core) to 64");
  }
  fu_rmtree(root);
}

/* Removes a=1 (its file, then itself) once the walk has opened it. */
static void remove_a1(const char *dir) {
  size_t n = strlen(dir);
  if (n < 3 || strcmp(dir + n - 3, "a=1") != 0) return;
  char f[512];
  snprintf(f, sizeof f, "%s/f.arrows", dir);
  assert_int_equal(unlink(f), 0);
  assert_int_equal(rmdir(dir), 0);
}

/* A directory removed while the walk lists it (opened, then gone: reading
 * it fails with ENOENT) is a removed directory, as one the open does not
 * find: the table has the other locations and no error. */
static void test_dir_removed_while_listed(void **state) {
  (void)state;
  char root[64], rel[32];
  fu_tmpdir(root);
  for (int a = 0; a < 3; a++) {
    snprintf(rel, sizeof rel, "a=%d", a);
    fu_mkdirs(root, rel);
    snprintf(rel, sizeof rel, "a=%d/f.arrows", a);
    fu_write_stream(root, rel, TD_TYPE_INT64, a * 10, 2);
  }
  td_file_options o;
  td_file_options_init(&o);
  o.threads = 1;
  td_file_backend *fb;
  td_service *svc;
  td_table *t;
  td_error err;
  fb__list_hook = remove_a1;
  int rc = open_table(root, &o, &fb, &svc, &t, &err);
  fb__list_hook = NULL;
  TD_ASSERT_OK(rc, &err);
  assert_int_equal(td_table_location_count(t), 2);
  assert_int_equal(td_table_size(t), 4);
  char key[64];
  td_location_key_format(td_table_location(t, 1), key, sizeof key);
  TD_ASSERT_CONTAINS(key, "a=2");
  close_table(fb, svc, t);
  fu_rmtree(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inferred_types),
      cmocka_unit_test(test_partition_column_in_files),
      cmocka_unit_test(test_path_inside_tree),
      cmocka_unit_test(test_globs),
      cmocka_unit_test(test_table_functions),
      cmocka_unit_test(test_walk_threads),
      cmocka_unit_test(test_dir_removed_while_listed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
