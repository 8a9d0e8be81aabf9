/*
 * tests/backends/files/test_files_sizers.c - a static tree's locations
 * sized on helper threads (the file backend's sizers): with 1, 2, 4 and 7
 * threads the same locations, sizes and values, the sizes answered by the
 * sizers when there are threads to spare; a location whose file is corrupt
 * fails the table with the message one thread gives; two tables built at
 * once over one backend (one sizing while the other reads, then a second
 * build that lists the locations again) agree.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/files/files_internal.h"
#include "files_util.h"
#include "pq_build.h"
#include "test.h"

enum { PARTS = 520 }; /* the sizers start at 512 locations */

/* A tree of PARTS one-file partitions p=000..: Parquet files of
 * 1 + i % 5 rows x = 100 * i + row. */
static void make_tree(char *root) {
  fu_tmpdir(root);
  for (int i = 0; i < PARTS; i++) {
    char rel[64], path[192];
    snprintf(rel, sizeof rel, "p=%03d", i);
    fu_mkdirs(root, rel);
    int64_t v[5];
    for (int r = 0; r < 5; r++) v[r] = 100 * i + r;
    pqb_spec s = {.phys = 2, .converted = -1, .rows = 1 + i % 5, .page_rows = 5, .values = v};
    snprintf(path, sizeof path, "%s/%s/a.parquet", root, rel);
    assert_int_equal(pqb_write(path, &s), 0);
  }
}

static int open_table(const char *root, int threads, td_file_backend **fb, td_service **svc, td_table **t,
                      td_error *err) {
  td_file_options o;
  td_file_options_init(&o);
  o.threads = threads;
  *svc = NULL;
  *t = NULL;
  int rc = td_file_backend_new(root, &o, fb, err);
  if (rc) return rc;
  *svc = fu_service(*fb, 0);
  rc = fu_table(*svc, *fb, NULL, t, err);
  return rc;
}

static void close_all(td_file_backend *fb, td_service *svc, td_table *t) {
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
}

static int64_t sized_ahead(td_file_backend *fb) {
  pthread_mutex_lock(&fb->lock);
  int64_t n = fb->sized_ahead;
  pthread_mutex_unlock(&fb->lock);
  return n;
}

static void test_threads_agree(void **state) {
  (void)state;
  char root[64];
  make_tree(root);
  const int threads[] = {1, 2, 4, 7};
  int64_t size0 = -1, sum0 = -1;
  for (int k = 0; k < 4; k++) {
    td_file_backend *fb;
    td_service *svc;
    td_table *t;
    td_error err;
    TD_ASSERT_OK(open_table(root, threads[k], &fb, &svc, &t, &err), &err);
    assert_int_equal(td_table_location_count(t), PARTS);
    int64_t sum, count;
    fu_sum(t, td_table_column_index(t, "x"), 0, td_table_size(t), &sum, &count);
    if (k == 0) {
      size0 = td_table_size(t);
      sum0 = sum;
      assert_int_equal(sized_ahead(fb), 0); /* one thread: sized in the call */
    } else {
      assert_int_equal(td_table_size(t), size0);
      assert_int_equal(sum, sum0);
      assert_int_equal(sized_ahead(fb), PARTS); /* every size from a sizer */
    }
    for (int64_t i = 0; i < td_table_location_count(t); i++) {
      char key[32], want[32];
      td_location_key_format(td_table_location(t, i), key, sizeof key);
      snprintf(want, sizeof want, "p=%03lld", (long long)i);
      TD_ASSERT_CONTAINS(key, want);
    }
    close_all(fb, svc, t);
  }
  int64_t want = 0, rows = 0;
  for (int i = 0; i < PARTS; i++)
    for (int r = 0; r < 1 + i % 5; r++) want += 100 * i + r, rows++;
  assert_int_equal(size0, rows);
  assert_int_equal(sum0, want);
  fu_rmtree(root);
}

/* A corrupt file: the table fails with the one-thread message (the sizer's
 * failed open is opened again under the lock, which reports it). */
static void test_corrupt_file_same_error(void **state) {
  (void)state;
  char root[64];
  make_tree(root);
  fu_write_text(root, "p=017/b.parquet", "not a parquet file, but long enough to have a tail PAR1", false);
  char msg[2][TD_ERROR_MESSAGE_SIZE];
  const int threads[] = {1, 4};
  for (int k = 0; k < 2; k++) {
    td_file_backend *fb;
    td_service *svc;
    td_table *t;
    td_error err;
    int rc = open_table(root, threads[k], &fb, &svc, &t, &err);
    assert_int_not_equal(rc, TD_OK);
    TD_ASSERT_CONTAINS(err.message, "p=017/b.parquet");
    snprintf(msg[k], sizeof msg[k], "%s", err.message);
    close_all(fb, svc, t);
  }
  assert_string_equal(msg[1], msg[0]);
  fu_rmtree(root);
}

typedef struct builder {
  td_file_backend *fb;
  int64_t size, sum;
  int rc;
} builder;

static void *build(void *arg) {
  builder *b = arg;
  td_service *svc = fu_service(b->fb, 0);
  td_table *t = NULL;
  td_error err;
  b->rc = fu_table(svc, b->fb, NULL, &t, &err);
  if (b->rc == TD_OK) {
    int64_t count;
    b->size = td_table_size(t);
    fu_sum(t, td_table_column_index(t, "x"), 0, b->size, &b->sum, &count);
  }
  td_table_release(t);
  td_service_free(svc);
  return NULL;
}

/* Tables built at once over one backend: sizes answered by sizers while
 * another table reads (and lists the tree again); every table agrees. */
static void test_tables_at_once(void **state) {
  (void)state;
  char root[64];
  make_tree(root);
  td_file_options o;
  td_file_options_init(&o);
  o.threads = 3;
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, &o, &fb, &err), &err);
  enum { N = 4 };
  builder b[N];
  pthread_t th[N];
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < N; i++) {
      b[i] = (builder){fb, -1, -1, -1};
      assert_int_equal(pthread_create(&th[i], NULL, build, &b[i]), 0);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
      assert_int_equal(b[i].rc, TD_OK);
      assert_int_equal(b[i].size, b[0].size);
      assert_int_equal(b[i].sum, b[0].sum);
    }
  }
  assert_true(b[0].size > 0);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_agree),
      cmocka_unit_test(test_corrupt_file_same_error),
      cmocka_unit_test(test_tables_at_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
