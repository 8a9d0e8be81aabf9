/*
 * tests/formats/parquet/test_parquet_inflight.c - two threads reading rows
 * of the same column chunk at once decode it once: the second waits for the
 * first's segment and reads its rows from it (pq_get_segment).  The first
 * thread is held inside its decode (pq__segment_hook) until the second is
 * seen waiting, so the overlap is certain, not left to timing.  When the
 * first decode fails (a corrupt page header), the waiter decodes on its own and
 * gets its own error.  Labelled `threads`: run under TSan.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/parquet/reader.h"
#include "formats/parquet/writer.h"
#include "formats/reader.h"
#include "test.h"
#include "typed_columns.h"

enum { ROWS = 50000, COL_I64 = 4 };

static _Atomic int decodes;
static _Atomic bool saw_waiter;
static int64_t waits0; /* pq__inflight_waits() when the pair started */

/* The first decode waits (up to 10 s) until another thread waits for it. */
static void hold_first_decode(void) {
  if (atomic_fetch_add(&decodes, 1) > 0) return;
  for (int i = 0; i < 10000; i++) {
    if (pq__inflight_waits() > waits0) {
      atomic_store(&saw_waiter, true);
      return;
    }
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
}

typedef struct reader_job {
  td_file_reader *r;
  int64_t offset, n;
  int rc;
  td_error err;
  struct ArrowArray out;
} reader_job;

static void *read_rows(void *v) {
  reader_job *j = v;
  j->rc = td_reader_read(j->r, COL_I64, j->offset, j->n, &j->out, &j->err);
  return NULL;
}

static void write_file(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  td_schema s;
  td_test_with_nulls = false;
  td_test_schema(&s, false);
  td_parquet_writer *w;
  td_error err;
  TD_ASSERT_OK(td_parquet_writer_open(fd, &s, true, &w, &err), &err); /* snappy, one row group */
  struct ArrowArray batch = td_test_batch(0, ROWS, 0);
  TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  td_schema_reset(&s);
  td_test_with_nulls = true;
  close(fd);
}

/* Thread a reads rows [0, 20000) and is held in its decode; thread b,
 * started then, reads [30000, 50000) of the same chunk. */
static void run_pair(td_file_reader *r, reader_job *a, reader_job *b) {
  atomic_store(&decodes, 0);
  atomic_store(&saw_waiter, false);
  waits0 = pq__inflight_waits();
  pq__segment_hook = hold_first_decode;
  *a = (reader_job){.r = r, .offset = 0, .n = 20000};
  *b = (reader_job){.r = r, .offset = 30000, .n = 20000};
  pthread_t ta, tb;
  assert_int_equal(pthread_create(&ta, NULL, read_rows, a), 0);
  while (atomic_load(&decodes) == 0) nanosleep(&(struct timespec){0, 100000}, NULL); /* a is decoding */
  assert_int_equal(pthread_create(&tb, NULL, read_rows, b), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  pq__segment_hook = NULL;
  assert_true(atomic_load(&saw_waiter));
  assert_int_equal(pq__inflight_waits() - waits0, 1);
}

/* The test file at path, open; *cc its i64 column's chunk. */
static td_file_reader *open_file(const char *path, const pq_column_chunk **cc) {
  write_file(path);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  pq_reader *pr = (pq_reader *)r;
  *cc = &pr->meta.row_groups[0].columns[pr->cols[COL_I64].leaf];
  return r;
}

static void check_values(const reader_job *j) {
  assert_int_equal(j->out.length, j->n);
  const int64_t *v = (const int64_t *)j->out.buffers[1] + j->out.offset;
  for (int64_t i = 0; i < j->n; i++) assert_int_equal(v[i], td_test_value(COL_I64, j->offset + i));
}

static void test_second_reader_waits(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("inflight.parquet");
  const pq_column_chunk *cc;
  td_file_reader *r = open_file(path, &cc);
  int64_t bytes0 = atomic_load(&r->io.bytes_read);
  reader_job a, b;
  run_pair(r, &a, &b);
  TD_ASSERT_OK(a.rc, &a.err);
  TD_ASSERT_OK(b.rc, &b.err);
  assert_int_equal(atomic_load(&decodes), 1); /* b took a's segment */
  check_values(&a);
  check_values(&b);
  /* one read of the chunk: b read nothing from the file */
  assert_true(atomic_load(&r->io.bytes_read) - bytes0 <= cc->total_compressed_size + 4096);
  a.out.release(&a.out);
  b.out.release(&b.out);
  td_reader_close(r);
  unlink(path);
}

/* The first decode fails: the waiter decodes by itself and reports its own
 * error, the same one (nothing is cached). */
static void test_waiter_after_failed_decode(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("inflight_bad.parquet");
  const pq_column_chunk *cc;
  td_file_reader *r = open_file(path, &cc);
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  uint8_t junk[64];
  memset(junk, 0xff, sizeof junk);
  int64_t at = cc->data_page_offset; /* the page header: not a valid thrift struct */
  assert_int_equal(pwrite(fd, junk, sizeof junk, (off_t)at), (ssize_t)sizeof junk);
  close(fd);
  reader_job a, b;
  run_pair(r, &a, &b);
  assert_int_equal(a.rc, TD_EFORMAT);
  assert_int_equal(b.rc, TD_EFORMAT);
  assert_int_equal(atomic_load(&decodes), 2);
  assert_non_null(strstr(a.err.message, "i64"));
  assert_string_equal(a.err.message, b.err.message);
  td_reader_close(r);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_second_reader_waits),
      cmocka_unit_test(test_waiter_after_failed_decode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
