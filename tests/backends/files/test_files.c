/*
 * tests/backends/files/test_files.c - the file backend over the shared ticks
 * fixture (Parquet, Arrow IPC, CSV) against DuckDB's answers, partition
 * pruning and laziness (bytes read), and discovery rules and errors on
 * temporary trees.
 */
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrow/schema.h"
#include "formats/parquet/writer.h"
#include "backends/files/files_internal.h"
#include "files_util.h"
#include "proxy_backend.h"
#include "query/ops.h"
#include "table/table.h"
#include "util/alloc.h"
#include "test.h"

/* ---- the ticks fixture ---- */

static void ticks_schema(struct ArrowSchema *out) {
  td_schema s;
  td_schema_init(&s);
  static const struct {
    const char *name;
    td_type_id type;
  } cols[] = {{"Timestamp", TD_TYPE_TIMESTAMP}, {"Symbol", TD_TYPE_UTF8}, {"Price", TD_TYPE_FLOAT64},
              {"Size", TD_TYPE_INT32},          {"Volume", TD_TYPE_INT64}, {"Bid", TD_TYPE_FLOAT32},
              {"Flag", TD_TYPE_BOOL},           {"Lot", TD_TYPE_INT16},    {"Tick", TD_TYPE_INT8},
              {"Code", TD_TYPE_UINT16}};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
    TD_ASSERT_OK(td_schema_add(&s, cols[i].name, cols[i].type, cols[i].type == TD_TYPE_TIMESTAMP ? "UTC" : NULL,
                               true, NULL),
                 NULL);
  TD_ASSERT_OK(td_schema_export(&s, out, NULL), NULL);
  td_schema_reset(&s);
}

static td_file_backend *open_ticks(const char *fmt) {
  char rel[64];
  snprintf(rel, sizeof rel, "fixtures/ticks/%s", fmt);
  td_file_options o;
  td_file_options_init(&o);
  struct ArrowSchema decl = {0};
  if (strcmp(fmt, "csv") == 0) {
    ticks_schema(&decl);
    o.schema = &decl;
  }
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(td_test_testdata(rel), &o, &fb, &err), &err);
  if (decl.release) decl.release(&decl);
  return fb;
}

static const char *part_str(const td_location_key *k, const char *name, char *buf) {
  const td_value *v = td_location_key_find(k, name);
  assert_non_null(v);
  /* Date=2024-01-03 is a date32 (hive_types_autocast), Exchange=BZX utf8 */
  assert_int_equal(v->type, strcmp(name, "Date") == 0 ? TD_TYPE_DATE32 : TD_TYPE_UTF8);
  td_value_format(v, buf, 64);
  return buf;
}

static void check_ticks(const char *fmt) {
  td_file_backend *fb = open_ticks(fmt);
  td_service *svc = fu_service(fb, 0);
  td_table *t;
  td_error err;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), 53835);
  assert_int_equal(td_table_location_count(t), 15);
  assert_int_equal(td_table_num_columns(t), 12);
  assert_string_equal(td_table_column_name(t, 0), "Date");
  assert_string_equal(td_table_column_name(t, 1), "Exchange");
  assert_true(td_table_column_is_partition(t, 0) && td_table_column_is_partition(t, 1));
  assert_false(td_table_column_is_partition(t, 2));
  struct ArrowSchema sch;
  TD_ASSERT_OK(td_table_schema(t, &sch, &err), &err);
  assert_string_equal(sch.children[0]->format, "tdD"); /* Date=YYYY-MM-DD partitions are dates */
  /* DuckDB's Parquet timestamps are not adjusted to UTC: no time zone */
  assert_string_equal(sch.children[2]->format, strcmp(fmt, "parquet") ? "tsn:UTC" : "tsn:");
  assert_string_equal(sch.children[5]->format, "i");
  assert_string_equal(sch.children[11]->format, "S");
  sch.release(&sch);

  json_error_t je;
  json_t *root = json_load_file(td_test_testdata("fixtures/ticks/expected.json"), 0, &je);
  assert_non_null(root);
  json_t *res = json_object_get(json_object_get(json_object_get(root, "queries"), "by_partition"), "result");
  assert_int_equal(json_array_size(res), 15);
  int64_t vol_col = td_table_column_index(t, "Volume");
  for (int64_t i = 0; i < 15; i++) {
    const td_location_key *k = td_table_location(t, i);
    char date[64], exch[64];
    part_str(k, "Date", date);
    part_str(k, "Exchange", exch);
    int64_t begin = td_table_region_start(t, i), end = i < 14 ? td_table_region_start(t, i + 1) : td_table_size(t);
    bool found = false;
    for (size_t j = 0; j < json_array_size(res); j++) {
      json_t *r = json_array_get(res, j);
      if (strcmp(json_string_value(json_object_get(r, "Date")), date) ||
          strcmp(json_string_value(json_object_get(r, "Exchange")), exch))
        continue;
      found = true;
      int64_t sum, count;
      fu_sum(t, vol_col, begin, end, &sum, &count);
      assert_int_equal(end - begin, strtoll(json_string_value(json_object_get(r, "n")), NULL, 10));
      assert_int_equal(sum, strtoll(json_string_value(json_object_get(r, "vol")), NULL, 10));
    }
    assert_true(found);
  }
  json_decref(root);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
}

static void test_ticks_parquet(void **state) { (void)state, check_ticks("parquet"); }
static void test_ticks_arrow(void **state) { (void)state, check_ticks("arrow"); }
#ifdef TD_HAVE_CSV
static void test_ticks_csv(void **state) { (void)state, check_ticks("csv"); }
#else
static void test_ticks_csv(void **state) {
  (void)state;
  td_file_backend *fb;
  td_error err;
  assert_int_equal(td_file_backend_new(td_test_testdata("fixtures/ticks/csv"), NULL, &fb, &err), TD_EUNSUPPORTED);
  TD_ASSERT_CONTAINS(err.message, "no CSV reader");
}
#endif

/* ---- pruning and laziness ---- */

static bool keep_one(void *ctx, const td_location_key *k) {
  (void)ctx;
  char d[64], e[64];
  return strcmp(part_str(k, "Date", d), "2024-01-04") == 0 && strcmp(part_str(k, "Exchange", e), "BZX") == 0;
}

static int64_t g_total;
static int add_size(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)p, (void)f;
  if (flag == FTW_F) g_total += st->st_size;
  return 0;
}
static int64_t tree_bytes(const char *path) {
  g_total = 0;
  nftw(path, add_size, 16, FTW_PHYS);
  return g_total;
}

static void check_pruned(const char *fmt) {
  td_file_backend *fb = open_ticks(fmt);
  td_proxy p;
  td_proxy_init(&p);
  td_service_options o;
  td_service_options_init(&o);
  td_service *svc;
  td_error err;
  TD_ASSERT_OK(td_service_new(td_proxy_backend(&p, td_file_backend_backend(fb)), &o, &svc, &err), &err);
  int64_t before = td_file_backend_bytes_read(fb);
  td_table_options to = {keep_one, NULL, false};
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, &to, &t, &err), &err);
  assert_int_equal(td_table_location_count(t), 1);
  assert_int_equal(td_proxy_count(&p, TD_METHOD_TABLE_LOCATION_SIZE, NULL), 1);
  int64_t sum, count;
  fu_sum(t, td_table_column_index(t, "Size"), 0, td_table_size(t), &sum, &count);
  assert_int_equal(count, 1269);
  assert_int_equal(sum, 639056);
  char rel[64];
  snprintf(rel, sizeof rel, "fixtures/ticks/%s", fmt);
  int64_t read = td_file_backend_bytes_read(fb) - before, total = tree_bytes(td_test_testdata(rel));
  if (read * 5 > total) fail_msg("%s: read %lld bytes of %lld", fmt, (long long)read, (long long)total);
  td_table_release(t);
  td_service_free(svc);
  td_proxy_destroy(&p);
  td_file_backend_release(fb);
}

static void test_pruned(void **state) {
  (void)state;
  check_pruned("parquet");
  check_pruned("arrow");
#ifdef TD_HAVE_CSV
  check_pruned("csv");
#endif
}

/* One column of one partition reads a small part of that partition's file. */
static void check_lazy(const char *fmt, const char *file) {
  td_file_backend *fb = open_ticks(fmt);
  td_service *svc = fu_service(fb, 0);
  td_table_options to = {keep_one, NULL, false};
  td_table *t;
  td_error err;
  TD_ASSERT_OK(fu_table(svc, fb, &to, &t, &err), &err);
  int64_t before = td_file_backend_bytes_read(fb), sum, count;
  fu_sum(t, td_table_column_index(t, "Tick"), 0, td_table_size(t), &sum, &count);
  assert_int_equal(count, 1269);
  char rel[128];
  snprintf(rel, sizeof rel, "fixtures/ticks/%s/Date=2024-01-04/Exchange=BZX/%s", fmt, file);
  struct stat st;
  assert_int_equal(stat(td_test_testdata(rel), &st), 0);
  int64_t read = td_file_backend_bytes_read(fb) - before;
  if (read * 4 > st.st_size) fail_msg("%s: one column read %lld bytes of %lld", fmt, (long long)read, (long long)st.st_size);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
}

static void test_lazy(void **state) {
  (void)state;
  check_lazy("parquet", "data_0.parquet");
  check_lazy("arrow", "data_0.arrows");
}

/* ---- discovery on temporary trees ---- */

static void test_inconsistent_partitions(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "A=1");
  fu_mkdirs(root, "B=2");
  fu_write_stream(root, "A=1/f.arrows", TD_TYPE_INT64, 0, 10);
  fu_write_stream(root, "B=2/f.arrows", TD_TYPE_INT64, 0, 10);
  td_file_backend *fb;
  td_error err;
  assert_int_equal(td_file_backend_new(root, NULL, &fb, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "B=2");
  TD_ASSERT_CONTAINS(err.message, "partition columns [B], expected [A]");
  /* a data file at the root next to partition directories */
  fu_rmtree(root);
  fu_tmpdir(root);
  fu_mkdirs(root, "A=1");
  fu_write_stream(root, "A=1/f.arrows", TD_TYPE_INT64, 0, 10);
  fu_write_stream(root, "top.arrows", TD_TYPE_INT64, 0, 10);
  assert_int_equal(td_file_backend_new(root, NULL, &fb, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "partition columns");
  fu_rmtree(root);
  /* nothing to read */
  fu_tmpdir(root);
  assert_int_equal(td_file_backend_new(root, NULL, &fb, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "no data files");
  assert_int_equal(td_file_backend_new("/nonexistent/td", NULL, &fb, &err), TD_EIO);
  TD_ASSERT_CONTAINS(err.message, "/nonexistent/td");
  fu_rmtree(root);
}

static void test_disagreeing_file(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "A=1");
  fu_mkdirs(root, "A=2");
  fu_write_stream(root, "A=1/f.arrows", TD_TYPE_INT64, 0, 10);
  fu_write_stream(root, "A=2/f.arrows", TD_TYPE_INT32, 0, 10);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err); /* discovery does not open A=2 */
  td_service *svc = fu_service(fb, 0);
  td_table *t;
  assert_int_not_equal(fu_table(svc, fb, NULL, &t, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "A=2/f.arrows");
  TD_ASSERT_CONTAINS(err.message, "column 'x' is int32 here but int64");
  /* the good location alone still works */
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

static void test_ignored_and_null(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "A=__HIVE_DEFAULT_PARTITION__");
  fu_mkdirs(root, "A=x%2Fy%20z");
  fu_mkdirs(root, ".hidden=1");
  fu_write_stream(root, "A=__HIVE_DEFAULT_PARTITION__/f.arrows", TD_TYPE_INT64, 0, 7);
  fu_write_stream(root, "A=x%2Fy%20z/f.arrows", TD_TYPE_INT64, 100, 5);
  fu_write_stream(root, "A=x%2Fy%20z/.f.arrows", TD_TYPE_INT64, 0, 5);
  fu_write_stream(root, ".hidden=1/f.arrows", TD_TYPE_INT64, 0, 5);
  fu_write_text(root, "A=x%2Fy%20z/notes.txt", "hello\n", false);
  fu_write_text(root, "A=x%2Fy%20z/_SUCCESS", "", false);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  td_service *svc = fu_service(fb, 0);
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  assert_int_equal(td_table_location_count(t), 2);
  assert_int_equal(td_table_size(t), 12);
  const td_value *v0 = td_location_key_find(td_table_location(t, 0), "A");
  assert_true(v0->is_null); /* nulls first */
  const td_value *v1 = td_location_key_find(td_table_location(t, 1), "A");
  assert_int_equal(v1->v.s.len, 5);
  assert_memory_equal(v1->v.s.ptr, "x/y z", 5);
  int64_t sum, count;
  fu_sum(t, 1, 7, 12, &sum, &count);
  assert_int_equal(sum, 100 + 101 + 102 + 103 + 104);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

static void part_schema(struct ArrowSchema *out, const char *name, td_type_id type, const char *tz) {
  td_schema s;
  td_schema_init(&s);
  TD_ASSERT_OK(td_schema_add(&s, name, type, tz, true, NULL), NULL);
  TD_ASSERT_OK(td_schema_export(&s, out, NULL), NULL);
  td_schema_reset(&s);
}

static void test_declared_partition_types(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "N=0042/T=2024-01-02T03:04:05.5Z");
  fu_write_stream(root, "N=0042/T=2024-01-02T03:04:05.5Z/f.arrows", TD_TYPE_INT64, 0, 3);
  td_file_backend *fb;
  td_error err;
  /* undeclared: strings as written, leading zeros kept */
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  td_service *svc = fu_service(fb, 0);
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  const td_value *n = td_location_key_find(td_table_location(t, 0), "N");
  assert_int_equal(n->type, TD_TYPE_UTF8);
  assert_memory_equal(n->v.s.ptr, "0042", 4);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  /* declared int32 and timestamp */
  struct ArrowSchema ps;
  td_schema s;
  td_schema_init(&s);
  TD_ASSERT_OK(td_schema_add(&s, "N", TD_TYPE_INT32, NULL, true, NULL), NULL);
  TD_ASSERT_OK(td_schema_add(&s, "T", TD_TYPE_TIMESTAMP, "UTC", true, NULL), NULL);
  TD_ASSERT_OK(td_schema_export(&s, &ps, NULL), NULL);
  td_schema_reset(&s);
  td_file_options o;
  td_file_options_init(&o);
  o.partition_schema = &ps;
  TD_ASSERT_OK(td_file_backend_new(root, &o, &fb, &err), &err);
  ps.release(&ps);
  svc = fu_service(fb, 0);
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  n = td_location_key_find(td_table_location(t, 0), "N");
  assert_int_equal(n->type, TD_TYPE_INT32);
  assert_int_equal(n->v.i, 42);
  const td_value *ts = td_location_key_find(td_table_location(t, 0), "T");
  assert_int_equal(ts->type, TD_TYPE_TIMESTAMP);
  assert_int_equal(ts->v.i, 1704164645500000000LL);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  /* a value that does not parse */
  fu_mkdirs(root, "N=4x2/T=2024-01-02");
  fu_write_stream(root, "N=4x2/T=2024-01-02/f.arrows", TD_TYPE_INT64, 0, 3);
  part_schema(&ps, "N", TD_TYPE_INT32, NULL);
  o.partition_schema = &ps;
  assert_int_equal(td_file_backend_new(root, &o, &fb, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "N=4x2");
  TD_ASSERT_CONTAINS(err.message, "'4x2' is not a valid int32");
  ps.release(&ps);
  fu_rmtree(root);
}

static void test_single_file_and_partition_clash(void **state) {
  (void)state;
  char root[64], path[128];
  fu_tmpdir(root);
  fu_write_stream(root, "one.arrows", TD_TYPE_INT64, 5, 20);
  snprintf(path, sizeof path, "%s/one.arrows", root);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(path, NULL, &fb, &err), &err);
  assert_string_equal(td_file_backend_table_name(fb), path);
  td_service *svc = fu_service(fb, 0);
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), 20);
  assert_int_equal(td_table_location_count(t), 1);
  assert_int_equal(td_location_key_partition_count(td_table_location(t, 0)), 0);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  /* not a data file */
  fu_write_text(root, "x.txt", "x\n", false);
  snprintf(path, sizeof path, "%s/x.txt", root);
  assert_int_equal(td_file_backend_new(path, NULL, &fb, &err), TD_EUNSUPPORTED);
  TD_ASSERT_CONTAINS(err.message, "x.txt");
  /* (a partition column that the files have too: test_files_layouts) */
  fu_rmtree(root);
}

/* Several files in one location read as one, across page boundaries. */
static void test_many_files(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "P=a");
  fu_write_stream(root, "P=a/f1.arrows", TD_TYPE_INT64, 0, 100);
  fu_write_stream(root, "P=a/f2.arrows", TD_TYPE_INT64, 100, 0);
  fu_write_stream(root, "P=a/f3.arrows", TD_TYPE_INT64, 100, 150);
  fu_write_stream(root, "P=a/f4.arrows", TD_TYPE_INT64, 250, 30);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  td_service *svc = fu_service(fb, 64);
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), 280);
  int64_t col = 1;
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(t, &col, 1, 0, 280, &a, &err), &err);
  const int64_t *x = (const int64_t *)a.children[0]->buffers[1] + a.children[0]->offset;
  for (int64_t i = 0; i < 280; i++) assert_int_equal(x[i], i);
  a.release(&a);
  col = 2;
  TD_ASSERT_OK(td_table_read(t, &col, 1, 95, 105, &a, &err), &err);
  const int32_t *off = (const int32_t *)a.children[0]->buffers[1] + a.children[0]->offset;
  const char *data = a.children[0]->buffers[2];
  assert_memory_equal(data + off[0], "s95", 3);
  assert_memory_equal(data + off[9], "s104", 4);
  a.release(&a);
  char files[1024];
  td_file_backend_location_files(fb, td_table_location(t, 0), files, sizeof files);
  TD_ASSERT_CONTAINS(files, "P=a/f1.arrows\n");
  TD_ASSERT_CONTAINS(files, "P=a/f4.arrows");
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

/* Every allocation failure during discovery and a first read is a clean
 * TD_ENOMEM (or a failure answer), without leaks (run under ASan). */
static void test_alloc_failures(void **state) {
  (void)state;
  const char *path = td_test_testdata("fixtures/ticks/arrow");
  for (int64_t n = 0;; n++) {
    td__alloc_fail_after(n);
    td_file_backend *fb = NULL;
    td_error err;
    int rc = td_file_backend_new(path, NULL, &fb, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      td_file_backend_release(fb);
      break;
    }
    if (rc != TD_ENOMEM) fail_msg("allocation %lld: %s: %s", (long long)n, td_status_name(rc), err.message);
    assert_true(n < 100000);
  }
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(path, NULL, &fb, &err), &err);
  td_service *svc = fu_service(fb, 0);
  td_table *ref;
  int64_t ref_sum, ref_count;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &ref, &err), &err);
  fu_sum(ref, 6, 0, td_table_size(ref), &ref_sum, &ref_count);
  td_table_release(ref);
  td_service_free(svc);
  svc = fu_service(fb, 0); /* a new cache */
  td_table_key *key;
  TD_ASSERT_OK(td_table_key_new(td_file_backend_table_name(fb), &key, &err), &err);
  for (int64_t n = 0;; n++) {
    td_table *t = NULL;
    td__alloc_fail_after(n);
    int rc = td_make_table(svc, key, NULL, &t, &err);
    int64_t sum = 0, count = 0;
    struct ArrowArray a = {0};
    int64_t col = 6;
    if (rc == TD_OK) rc = td_table_read(t, &col, 1, 0, td_table_size(t), &a, &err);
    td__alloc_fail_after(-1);
    if (a.release) a.release(&a);
    if (rc == TD_OK) fu_sum(t, 6, 0, td_table_size(t), &sum, &count);
    td_table_release(t);
    if (rc == TD_OK) {
      assert_int_equal(count, ref_count);
      assert_int_equal(sum, ref_sum);
      break;
    }
    assert_true(n < 100000);
  }
  td_table_key_release(key);
  td_service_free(svc);
  td_file_backend_release(fb);
}

typedef struct reader_arg {
  td_table *t;
  int64_t begin, end, sum;
} reader_arg;

/* Row-group statistics let a data filter skip pages unread: the same count
 * as the statistics-free Arrow copy, with rows skipped and fewer reads. */
static int64_t count_where(const char *fmt, const char *filter, td_counters *c) {
  td_file_backend *fb = open_ticks(fmt);
  td_service *svc;
  td_error err;
  TD_ASSERT_OK(td_service_new(td_file_backend_backend(fb), NULL, &svc, &err), &err);
  td_table_key *key;
  TD_ASSERT_OK(td_table_key_new(td_file_backend_table_name(fb), &key, &err), &err);
  td_table *t;
  TD_ASSERT_OK(td_make_table_where(svc, key, filter, NULL, &t, &err), &err);
  int64_t n = td_table_size(t);
  td_service_counters(svc, c);
  td_table_release(t);
  td_table_key_release(key);
  td_service_free(svc);
  td_file_backend_release(fb);
  return n;
}

static void test_statistics_skip(void **state) {
  (void)state;
  static const char *filters[] = {"Timestamp >= '2024-01-09'", "Timestamp < '2024-01-03T12:00:00' AND Size > 10",
                                  "'2024-01-12' <= Timestamp", "Price > 1000000"};
  for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
    td_counters cp, ca;
    int64_t np = count_where("parquet", filters[i], &cp), na = count_where("arrow", filters[i], &ca);
    assert_int_equal(np, na);
    assert_int_equal(ca.rows_skipped, 0); /* Arrow IPC files carry no statistics */
    if (i != 1) {
      assert_true(cp.rows_skipped > 0);
      assert_true(cp.calls[TD_METHOD_COLUMN_VALUES] < ca.calls[TD_METHOD_COLUMN_VALUES]);
    }
  }
}

/* A top-N's key scan over Parquet skips pages whose statistics say no row
 * can beat the threshold: the rows of the statistics-free Arrow copy, in
 * the same order, with rows skipped (a descending float key too: the
 * fixtures' writer, DuckDB 1.5.6, writes float bounds only for row groups
 * without NaN). */
static double topn_of(const char *fmt, const char *const *keys, const bool *desc, int64_t nk, int64_t limit,
                      int64_t page_size, td_counters *c, int64_t *rows) {
  td_file_backend *fb = open_ticks(fmt);
  td_service *svc = fu_service(fb, page_size);
  td_table *t, *top;
  td_error err;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  int64_t cols[4];
  for (int64_t k = 0; k < nk; k++) cols[k] = td_table_column_index(t, keys[k]);
  TD_ASSERT_OK(td_op_topn(t, cols, desc, nk, limit, &top, &err), &err);
  *rows = td_table_size(top);
  int64_t rc_cols[4] = {td_table_column_index(top, "Timestamp"), td_table_column_index(top, "Price"),
                        td_table_column_index(top, "Size"), td_table_column_index(top, "Volume")};
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(top, rc_cols, 4, 0, *rows, &a, &err), &err);
  double sig = 0; /* an order-sensitive signature of the rows */
  for (int64_t i = 0; i < a.length; i++) {
    double v = 0;
    for (int k = 0; k < 4; k++) {
      const struct ArrowArray *ch = a.children[k];
      const uint8_t *valid = ch->buffers[0];
      int64_t at = ch->offset + i;
      if (valid && !(valid[at / 8] >> (at % 8) & 1)) {
        v += 0.5 * (k + 1);
        continue;
      }
      v += k == 0 ? (double)((const int64_t *)ch->buffers[1])[at] / 1e9
           : k == 1 ? ((const double *)ch->buffers[1])[at]
           : k == 2 ? 3.0 * ((const int32_t *)ch->buffers[1])[at]
                    : 7.0 * (double)((const int64_t *)ch->buffers[1])[at];
    }
    sig += (double)(i + 1) * v;
  }
  a.release(&a);
  td_service_counters(svc, c);
  td_table_release(top);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  return sig;
}

static void test_topn_statistics_skip(void **state) {
  (void)state;
  static const struct {
    const char *keys[3];
    bool desc[3];
    int64_t nk, limit;
    bool skips;
  } cases[] = {
      {{"Timestamp"}, {true}, 1, 5, true},
      {{"Timestamp"}, {false}, 1, 3, true},
      {{"Timestamp", "Size"}, {true, false}, 2, 4, true},
      {{"Size", "Timestamp"}, {true, true}, 2, 6, false}, /* Size ties: the next key decides */
      {{"Price"}, {false}, 1, 5, false},
      {{"Price"}, {true}, 1, 5, true}, /* descending float: the writer proves no NaN */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    td_counters cp, ca;
    int64_t np, na;
    double sp = topn_of("parquet", cases[i].keys, cases[i].desc, cases[i].nk, cases[i].limit, 256, &cp, &np);
    double sa = topn_of("arrow", cases[i].keys, cases[i].desc, cases[i].nk, cases[i].limit, 256, &ca, &na);
    printf("top-N %s%s: %lld rows skipped of %lld\n", cases[i].keys[0], cases[i].desc[0] ? " DESC" : "",
           (long long)cp.rows_skipped, (long long)(cp.rows_skipped + cp.rows_scanned));
    assert_int_equal(np, cases[i].limit);
    assert_int_equal(np, na);
    assert_true(sp == sa);
    assert_int_equal(ca.rows_skipped, 0);
    if (cases[i].skips) assert_true(cp.rows_skipped > 0);
  }
}

/* Writes root/f.parquet (our writer: nan_count = 0 only for row groups
 * without NaN) of columns f, id (the row) and v (3 id), row groups of 1000 rows: group 0 holds 0..999,
 * group 1 small values and one NaN (row 1500; its bounds leave NaN out, as
 * Parquet asks), groups 2-5 small values and no NaN. */
static void write_nan_groups(const char *root) {
  char path[256];
  snprintf(path, sizeof path, "%s/f.parquet", root);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  td_error err;
  td_schema sch;
  td_schema_init(&sch);
  TD_ASSERT_OK(td_schema_add(&sch, "f", TD_TYPE_FLOAT64, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(&sch, "id", TD_TYPE_INT64, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(&sch, "v", TD_TYPE_INT64, NULL, true, &err), &err);
  td_parquet_writer *w;
  TD_ASSERT_OK(td_parquet_writer_open(fd, &sch, false, &w, &err), &err);
  for (int64_t g = 0; g < 6; g++) {
    td_builder *b, *id, *v;
    TD_ASSERT_OK(td_builder_new(TD_TYPE_FLOAT64, &b, &err), &err);
    TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &id, &err), &err);
    TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &v, &err), &err);
    for (int64_t i = g * 1000; i < (g + 1) * 1000; i++) {
      td_builder_append_double(b, g == 0 ? (double)i : i == 1500 ? NAN : (double)(i % 100) / 10.0, NULL);
      td_builder_append_int(id, i, NULL);
      td_builder_append_int(v, 3 * i, NULL);
    }
    struct ArrowArray col[3], batch;
    TD_ASSERT_OK(td_builder_finish(b, &col[0], &err), &err);
    TD_ASSERT_OK(td_builder_finish(id, &col[1], &err), &err);
    TD_ASSERT_OK(td_builder_finish(v, &col[2], &err), &err);
    td_builder_free(b);
    td_builder_free(id);
    td_builder_free(v);
    TD_ASSERT_OK(td_batch_make(3, col, &batch, &err), &err);
    TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
    batch.release(&batch);
  }
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  td_schema_reset(&sch);
  close(fd);
}

/* A descending float key skips only row groups the file proves NaN-free:
 * the group whose bounds (0..9.9) lie below the threshold but which holds
 * a NaN (sorting greatest) is read, and its NaN comes first. */
static void test_topn_float_nan(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  write_nan_groups(root);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  for (int one = 0; one < 2; one++) { /* with one key, and with id second */
    td_service *svc = fu_service(fb, 250);
    td_table *t, *top;
    TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
    int64_t cols[2] = {0, 1};
    bool desc[2] = {true, false};
    TD_ASSERT_OK(td_op_topn(t, cols, desc, one ? 1 : 2, 3, &top, &err), &err);
    assert_int_equal(td_table_size(top), 3);
    struct ArrowArray a;
    int64_t c0 = 0;
    TD_ASSERT_OK(td_table_read(top, &c0, 1, 0, 3, &a, &err), &err);
    const double *v = (const double *)a.children[0]->buffers[1] + a.children[0]->offset;
    assert_true(isnan(v[0]));
    assert_true(v[1] == 999.0 && v[2] == 998.0);
    a.release(&a);
    td_counters c;
    td_service_counters(svc, &c);
    printf("top-N f DESC (%d keys): %lld rows skipped of %lld\n", one ? 1 : 2, (long long)c.rows_skipped,
           (long long)(c.rows_skipped + c.rows_scanned));
    assert_true(c.rows_skipped >= 3000 && c.rows_skipped <= 4000); /* groups 2-5, not group 1 */
    td_table_release(top);
    td_table_release(t);
    td_service_free(svc);
  }
  td_file_backend_release(fb);
  fu_rmtree(root);
}

/* Writes root/f<f>.parquet (f 0, 1; our writer) of int64 columns v and id
 * (the row's number in f0 then f1) in 16 row groups of 250 rows; row group
 * g holds in v band b = (g % 4) * 8 + (g / 4)
 * * 2 + f, the values b * 1000 .. b * 1000 + 249: every group its own band,
 * rising along each run of four groups. */
static void write_band_files(const char *root) {
  for (int f = 0; f < 2; f++) {
    char path[256];
    snprintf(path, sizeof path, "%s/f%d.parquet", root, f);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    td_error err;
    td_schema sch;
    td_schema_init(&sch);
    TD_ASSERT_OK(td_schema_add(&sch, "v", TD_TYPE_INT64, NULL, true, &err), &err);
    TD_ASSERT_OK(td_schema_add(&sch, "id", TD_TYPE_INT64, NULL, true, &err), &err);
    td_parquet_writer *w;
    TD_ASSERT_OK(td_parquet_writer_open(fd, &sch, false, &w, &err), &err);
    for (int64_t g = 0; g < 16; g++) {
      td_builder *b, *id;
      TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &b, &err), &err);
      TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &id, &err), &err);
      int64_t band = (g % 4) * 8 + (g / 4) * 2 + f;
      for (int64_t i = 0; i < 250; i++) {
        td_builder_append_int(b, band * 1000 + i, NULL);
        td_builder_append_int(id, f * 4000 + g * 250 + i, NULL);
      }
      struct ArrowArray col[2], batch;
      TD_ASSERT_OK(td_builder_finish(b, &col[0], &err), &err);
      TD_ASSERT_OK(td_builder_finish(id, &col[1], &err), &err);
      td_builder_free(b);
      td_builder_free(id);
      TD_ASSERT_OK(td_batch_make(2, col, &batch, &err), &err);
      TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
      batch.release(&batch);
    }
    TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
    td_schema_reset(&sch);
    close(fd);
  }
}

/* top (3 rows) holds in its first column the band files' three greatest v. */
static void assert_top_bands(td_table *top) {
  td_error err;
  assert_int_equal(td_table_size(top), 3);
  struct ArrowArray a;
  int64_t col = 0;
  TD_ASSERT_OK(td_table_read(top, &col, 1, 0, 3, &a, &err), &err);
  const int64_t *v = (const int64_t *)a.children[0]->buffers[1] + a.children[0]->offset;
  assert_int_equal(v[0], 31249);
  assert_int_equal(v[1], 31248);
  assert_int_equal(v[2], 31247);
  a.release(&a);
}

/* A file backend over a new directory root (64 bytes) of write_band_files. */
static td_file_backend *band_backend(char *root) {
  fu_tmpdir(root);
  write_band_files(root);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  return fb;
}

/* A top-N's key scan on two workers takes pages best first one at a time,
 * not grouped four to a unit read in position order: the best page (band
 * 31) and at most the one the other worker took beside it (band 30) are
 * read, every other page being below either worker's threshold or the
 * shared one.  Grouped, the unit holding the best page read its three
 * lower pages first (at least 1,000 rows). */
static void test_topn_two_workers_best_pages(void **state) {
  (void)state;
  char root[64];
  td_error err;
  td_file_backend *fb = band_backend(root);
  for (int threads = 1; threads <= 2; threads++) {
    td_service *svc = fu_service(fb, 250);
    td_table *t, *top;
    TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
    t->threads = threads;
    int64_t col = 0;
    bool desc = true;
    TD_ASSERT_OK(td_op_topn(t, &col, &desc, 1, 3, &top, &err), &err);
    assert_top_bands(top);
    struct ArrowArray a;
    int64_t idc = 1; /* read back from the winners' pages: f1's row group 15 */
    TD_ASSERT_OK(td_table_read(top, &idc, 1, 0, 3, &a, &err), &err);
    const int64_t *v = (const int64_t *)a.children[0]->buffers[1] + a.children[0]->offset;
    assert_int_equal(v[0], 7999);
    assert_int_equal(v[2], 7997);
    a.release(&a);
    td_counters c;
    td_service_counters(svc, &c);
    printf("top-N v DESC, %d threads: %lld rows scanned of %lld\n", threads, (long long)c.rows_scanned,
           (long long)(c.rows_skipped + c.rows_scanned));
    /* the key scan's rows, then the three winners' one-row scans */
    assert_int_equal(c.rows_skipped + c.rows_scanned, 8003);
    assert_true(c.rows_scanned >= 253 && c.rows_scanned <= 250 * threads + 3);
    td_table_release(top);
    td_table_release(t);
    td_service_free(svc);
  }
  td_file_backend_release(fb);
  fu_rmtree(root);
}

typedef struct svc_ref {
  td_service *svc;
  td_file_backend *fb;
} svc_ref;

static int resolve_files(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key,
                         td_error *err) {
  svc_ref *r = ctx;
  (void)name;
  (void)is_path;
  *svc = td_service_retain(r->svc);
  return td_table_key_new(td_file_backend_table_name(r->fb), key, err);
}

/* A top-N whose output is its key column alone (`SELECT v ... ORDER BY v
 * DESC LIMIT 3`) skips pages by statistics as one with other columns does:
 * it read all 8,000 rows when only the late key scan skipped pages. */
static void test_topn_key_only_skips(void **state) {
  (void)state;
  char root[64];
  td_error err;
  td_file_backend *fb = band_backend(root);
  const char *sql[] = {"SELECT v FROM t ORDER BY v DESC LIMIT 3", "SELECT v AS w, v FROM t ORDER BY w DESC LIMIT 3"};
  for (int q = 0; q < 2; q++)
    for (int threads = 1; threads <= 2; threads++) {
      svc_ref r = {fu_service(fb, 250), fb};
      td_query_options qo;
      td_query_options_init(&qo);
      qo.resolver = resolve_files;
      qo.resolver_ctx = &r;
      qo.threads = threads;
      td_table *top;
      TD_ASSERT_OK(td_query(sql[q], &qo, &top, &err), &err);
      assert_top_bands(top);
      td_counters c;
      td_service_counters(r.svc, &c);
      printf("%s, %d threads: %lld rows scanned, %lld skipped\n", sql[q], threads, (long long)c.rows_scanned,
             (long long)c.rows_skipped);
      assert_true(c.rows_scanned >= 250 && c.rows_scanned <= 250 * threads);
      assert_int_equal(c.rows_skipped + c.rows_scanned, 8000);
      td_table_release(top);
      td_service_free(r.svc);
    }
  td_file_backend_release(fb);
  fu_rmtree(root);
}

static void *read_thread(void *p) {
  reader_arg *a = p;
  int64_t count;
  fu_sum(a->t, td_table_column_index(a->t, "Volume"), a->begin, a->end, &a->sum, &count);
  return NULL;
}

/* Several threads read at once (run under TSan). */
static void test_concurrent_reads(void **state) {
  (void)state;
  td_file_backend *fb = open_ticks("parquet");
  td_service *svc = fu_service(fb, 700);
  td_table *t;
  td_error err;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  int64_t whole, count;
  reader_arg args[4];
  pthread_t th[4];
  int64_t size = td_table_size(t);
  for (int i = 0; i < 4; i++) {
    args[i] = (reader_arg){t, size * i / 4, size * (i + 1) / 4, 0};
    assert_int_equal(pthread_create(&th[i], NULL, read_thread, &args[i]), 0);
  }
  int64_t total = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    total += args[i].sum;
  }
  fu_sum(t, td_table_column_index(t, "Volume"), 0, size, &whole, &count);
  assert_int_equal(total, whole);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_statistics_skip),
      cmocka_unit_test(test_topn_statistics_skip),
      cmocka_unit_test(test_topn_float_nan),
      cmocka_unit_test(test_topn_two_workers_best_pages),
      cmocka_unit_test(test_topn_key_only_skips),
      cmocka_unit_test(test_ticks_parquet),
      cmocka_unit_test(test_ticks_arrow),
      cmocka_unit_test(test_ticks_csv),
      cmocka_unit_test(test_pruned),
      cmocka_unit_test(test_lazy),
      cmocka_unit_test(test_inconsistent_partitions),
      cmocka_unit_test(test_disagreeing_file),
      cmocka_unit_test(test_ignored_and_null),
      cmocka_unit_test(test_declared_partition_types),
      cmocka_unit_test(test_single_file_and_partition_clash),
      cmocka_unit_test(test_many_files),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_concurrent_reads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
