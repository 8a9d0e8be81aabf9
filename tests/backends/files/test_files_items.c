/*
 * tests/backends/files/test_files_items.c - the file backend on trees built
 * at run time for the hardening items of issue 8: more data files than
 * descriptors (item 15), row counts that overflow (item 16), symlink loops
 * (item 17), files rewritten in place under a live table (item 27) and a
 * new location that disagrees with the schema (item 28).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files_util.h"
#include "formats/io.h"
#include "pq_build.h"
#include "test.h"

static int64_t tri(int64_t a, int64_t b) { return (a + b - 1) * (b - a) / 2; } /* a + ... + (b-1) */

static td_file_backend *backend(const char *root) {
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  return fb;
}

/* Flushes until the table failed (or 5 s pass); returns its status. */
static int wait_failure(td_service *svc, td_table *t, td_error *err) {
  for (int i = 0; i < 250 && td_table_status(t, NULL) == TD_OK; i++) {
    TD_ASSERT_OK(td_service_flush(svc, 5000, err), err);
    usleep(20000);
  }
  return td_table_status(t, err);
}

/* ---- item 15 ---- */

static void check_many_files(const char *root, int64_t files, bool refreshing) {
  td_file_backend *fb = backend(root);
  td_service *svc = fu_service(fb, 0);
  td_table_options o = {NULL, NULL, refreshing};
  td_table *t;
  td_error err;
  TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
  if (refreshing) fu_wait_size(svc, t, 2 * files);
  assert_int_equal(td_table_size(t), 2 * files);
  int64_t sum, count;
  fu_sum(t, 0, 0, td_table_size(t), &sum, &count);
  assert_int_equal(count, 2 * files);
  assert_int_equal(sum, tri(0, 2 * files));
  printf("item 15: %lld files, %s: %lld descriptors open (pool limit %lld)\n", (long long)files,
         refreshing ? "live" : "static", (long long)td_io_pool_open_count(), (long long)td_io_pool_limit());
  assert_true(td_io_pool_open_count() <= td_io_pool_limit());
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
}

static void test_item15_more_files_than_descriptors(void **state) {
  (void)state;
  enum { FILES = 3000 };
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "d");
  for (int i = 0; i < FILES; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "d/f%05d.arrows", i);
    fu_write_stream(root, rel, TD_TYPE_INT64, 2 * i, 2);
  }
  struct rlimit old, low;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  low = old;
  low.rlim_cur = 256;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  check_many_files(root, FILES, false);
  check_many_files(root, FILES, true);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  fu_rmtree(root);
}

/* The pool reads the descriptor limit every 64 opens, not at each: when
 * the limit drops under what it keeps meanwhile, an open that runs out of
 * descriptors (EMFILE) reads the limit again, closes pooled descriptors
 * and opens; every file still reads (reopened on demand). */
static void test_item15_limit_lowered_between_reads(void **state) {
  (void)state;
  enum { N = 40 };
  char root[64], path[128];
  fu_tmpdir(root);
  fu_write_stream(root, "f.arrows", TD_TYPE_INT64, 0, 1);
  snprintf(path, sizeof path, "%s/f.arrows", root);
  static td_io io[N];
  td_error err;
  TD_ASSERT_OK(td_io_open(&io[0], path, &err), &err); /* the pool's limit read under the old limit */
  struct rlimit old, low;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  int lowest = dup(0); /* the lowest free descriptor */
  assert_true(lowest >= 0);
  close(lowest);
  low = old;
  low.rlim_cur = (rlim_t)lowest + 10; /* room for the pool's least (8) and two more */
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  for (int i = 1; i < N; i++) TD_ASSERT_OK(td_io_open(&io[i], path, &err), &err);
  for (int i = 0; i < N; i++) {
    char b[4];
    TD_ASSERT_OK(td_io_read(&io[i], b, sizeof b, 0, &err), &err);
  }
  assert_true(td_io_pool_open_count() <= td_io_pool_limit());
  for (int i = 0; i < N; i++) td_io_close(&io[i]);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  fu_rmtree(root);
}

/* ---- item 16 ---- */

static void test_item16_row_count_overflow(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  for (int i = 0; i < 3; i++) {
    char p[128];
    snprintf(p, sizeof p, "%s/f%d.parquet", root, i);
    pqb_spec s = {.phys = 2, .converted = -1, .rows = 4, .page_rows = 4, .claim_rows = ((int64_t)1 << 62) - 1};
    assert_int_equal(pqb_write(p, &s), 0);
  }
  td_file_backend *fb = backend(root);
  td_service *svc = fu_service(fb, 0);
  td_table *t = NULL;
  td_error err;
  int rc = fu_table(svc, fb, NULL, &t, &err);
  printf("item 16: %s: %s\n", td_status_name(rc), rc ? err.message : "opened");
  if (rc == TD_OK) {
    printf("item 16: a table of %lld rows\n", (long long)td_table_size(t));
    td_table_release(t);
  }
  assert_int_not_equal(rc, TD_OK);
  TD_ASSERT_CONTAINS(err.message, "overflow");
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

/* ---- item 17 ---- */

static void test_item17_symlink_loop(void **state) {
  (void)state;
  char root[64], p[256], target[256];
  fu_tmpdir(root);
  fu_mkdirs(root, "a");
  fu_write_stream(root, "a/f.arrows", TD_TYPE_INT64, 0, 3);
  snprintf(p, sizeof p, "%s/a/loop", root);
  snprintf(target, sizeof target, "%s/a", root);
  assert_int_equal(symlink(target, p), 0); /* a/loop -> a */
  snprintf(p, sizeof p, "%s/b", root);
  assert_int_equal(symlink(target, p), 0); /* b -> a: the same directory twice */
  td_file_backend *fb = backend(root);
  td_service *svc = fu_service(fb, 0);
  td_table *t;
  td_error err;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &t, &err), &err);
  printf("item 17: %lld rows in %lld locations\n", (long long)td_table_size(t),
         (long long)td_table_location_count(t));
  assert_int_equal(td_table_location_count(t), 1);
  assert_int_equal(td_table_size(t), 3);
  td_table_release(t);
  /* and under a watcher */
  td_table_options o = {NULL, NULL, true};
  TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
  assert_int_equal(td_table_size(t), 3);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

/* ---- item 27 ---- */

/* Overwrites one byte at `at` of root/rel in place (same inode, same size). */
static void poke(const char *root, const char *rel, off_t at) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  int fd = open(p, O_RDWR);
  assert_true(fd >= 0);
  unsigned char b;
  assert_int_equal(pread(fd, &b, 1, at), 1);
  b ^= 0x5a;
  assert_int_equal(pwrite(fd, &b, 1, at), 1);
  close(fd);
}

static void check_rewrite(const char *what) {
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "P=a");
  fu_write_stream(root, "P=a/f.arrows", TD_TYPE_INT64, 0, 10);
  td_file_backend *fb = backend(root);
  td_service *svc = fu_service(fb, 0);
  td_table_options o = {NULL, NULL, true};
  td_table *t;
  td_error err;
  TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
  assert_int_equal(td_table_size(t), 10);
  usleep(20000); /* a later modification time */
  if (strcmp(what, "same size") == 0) {
    poke(root, "P=a/f.arrows", 8); /* inside the schema message */
  } else { /* rewritten longer, in place: other rows, then more of them */
    char p[256];
    snprintf(p, sizeof p, "%s/P=a/f.arrows", root);
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    td_schema s;
    td_schema_init(&s);
    TD_ASSERT_OK(td_schema_add(&s, "x", TD_TYPE_INT64, NULL, true, &err), &err);
    TD_ASSERT_OK(td_schema_add(&s, "s", TD_TYPE_UTF8, NULL, true, &err), &err);
    td_ipc_stream_writer *w;
    TD_ASSERT_OK(td_ipc_stream_writer_open(fd, &s, &w, &err), &err);
    fu_stream_batch(w, TD_TYPE_INT64, 500, 10);
    fu_stream_batch(w, TD_TYPE_INT64, 600, 10);
    td_ipc_stream_writer_abort(w);
    close(fd);
    td_schema_reset(&s);
  }
  int rc = wait_failure(svc, t, &err);
  printf("item 27 (%s): %s: %s\n", what, td_status_name(rc), rc ? err.message : "not detected");
  assert_int_not_equal(rc, TD_OK);
  TD_ASSERT_CONTAINS(err.message, "P=a/f.arrows");
  TD_ASSERT_CONTAINS(err.message, "rewritten");
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

static void test_item27_rewrite_in_place(void **state) {
  (void)state;
  check_rewrite("same size");
  check_rewrite("larger");
}

/* ---- item 28 ---- */

/* A live table over P=a/f.<ext> (x int64, s utf8); then a new location
 * P=b whose file disagrees with the schema: created empty first (as a
 * writer does), then written. */
static void check_wrong_schema(const char *what) {
  bool csv = strcmp(what, "csv") == 0;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "P=a");
  if (csv) fu_write_text(root, "P=a/f.csv", "x,s\n1,a\n2,b\n", false);
  else fu_write_stream(root, "P=a/f.arrows", TD_TYPE_INT64, 0, 10);
  td_file_backend *fb = backend(root);
  td_service *svc = fu_service(fb, 0);
  td_table_options o = {NULL, NULL, true};
  td_table *t;
  td_error err;
  TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
  fu_mkdirs(root, "P=b");
  const char *rel = csv ? "P=b/f.csv" : "P=b/f.arrows";
  fu_write_text(root, rel, "", false); /* created empty */
  for (int i = 0; i < 250 && td_table_location_count(t) < 2; i++) {
    TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
    usleep(20000);
  }
  assert_int_equal(td_table_location_count(t), 2);
  if (csv) fu_write_text(root, rel, "x,s,extra\n1,c,d\n", false); /* three columns */
  else fu_write_stream(root, rel, TD_TYPE_INT32, 0, 5); /* x is int32 here */
  int rc = wait_failure(svc, t, &err);
  printf("item 28 (%s): %s: %s\n", what, td_status_name(rc), rc ? err.message : "ignored");
  assert_int_not_equal(rc, TD_OK);
  TD_ASSERT_CONTAINS(err.message, rel);
  TD_ASSERT_CONTAINS(err.message, csv ? "3 columns" : "int32");
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

static void test_item28_new_location_wrong_schema(void **state) {
  (void)state;
  check_wrong_schema("arrow");
  check_wrong_schema("csv");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_item15_more_files_than_descriptors),
      cmocka_unit_test(test_item15_limit_lowered_between_reads),
      cmocka_unit_test(test_item16_row_count_overflow),
      cmocka_unit_test(test_item17_symlink_loop),
      cmocka_unit_test(test_item27_rewrite_in_place),
      cmocka_unit_test(test_item28_new_location_wrong_schema),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
