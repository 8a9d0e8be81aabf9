/*
 * tests/formats/ipc/test_ipc_write.c - the IPC stream writer read back by
 * the reader (all engine types, nulls, child offsets), a stream growing in
 * pieces with refresh, truncation and replacement, laziness of column
 * reads, and concurrent reads.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrow/array.h"
#include "formats/ipc/ipc_internal.h"
#include "formats/ipc/ipc_writer.h"
#include "test.h"

#define NCOLS 10
static const td_type_id TYPES[NCOLS] = {TD_TYPE_BOOL, TD_TYPE_INT8, TD_TYPE_INT16, TD_TYPE_INT32, TD_TYPE_INT64,
                                        TD_TYPE_UINT16, TD_TYPE_FLOAT32, TD_TYPE_FLOAT64, TD_TYPE_UTF8, TD_TYPE_TIMESTAMP};

static void make_schema(td_schema *s) {
  static const char *names[NCOLS] = {"b", "i8", "i16", "i32", "i64", "u16", "f32", "f64", "s", "ts"};
  td_schema_init(s);
  for (int i = 0; i < NCOLS; i++)
    TD_ASSERT_OK(td_schema_add(s, names[i], TYPES[i], i == 9 ? "UTC" : NULL, true, NULL), NULL);
}

static bool is_null(int col, int64_t row) { return (row * 7 + col) % 11 == 3; }
static int64_t ival(int col, int64_t row) { return (row * 2654435761LL + col * 97) % 30000 - 15000 * (col != 5); }

/* A column of n rows for global rows [row0, row0 + n), exported with `skip`
 * leading junk rows hidden behind an offset. */
static struct ArrowArray make_column(int col, int64_t row0, int64_t n, int64_t skip) {
  td_array a;
  TD_ASSERT_OK(td_array_init(&a, TYPES[col], n + skip, NULL), NULL);
  char buf[32];
  for (int64_t k = -skip; k < n; k++) {
    int64_t row = row0 + k;
    if (k >= 0 && is_null(col, row)) {
      TD_ASSERT_OK(td_array_append_null(&a, NULL), NULL);
    } else if (TYPES[col] == TD_TYPE_UTF8) {
      int len = snprintf(buf, sizeof buf, "v%lld", (long long)ival(col, row));
      TD_ASSERT_OK(td_array_append_str(&a, buf, row % 5 == 0 ? 0 : len, NULL), NULL);
    } else if (TYPES[col] == TD_TYPE_FLOAT32 || TYPES[col] == TD_TYPE_FLOAT64) {
      TD_ASSERT_OK(td_array_append_double(&a, (double)ival(col, row) / 4, NULL), NULL);
    } else {
      int64_t v = ival(col, row);
      if (TYPES[col] == TD_TYPE_INT8) v %= 128;
      if (TYPES[col] == TD_TYPE_BOOL) v &= 1;
      if (TYPES[col] == TD_TYPE_TIMESTAMP) v *= 1000000007;
      TD_ASSERT_OK(td_array_append_int(&a, v, NULL), NULL);
    }
  }
  struct ArrowArray out;
  TD_ASSERT_OK(td_array_export(&a, &out, NULL), NULL);
  out.offset = skip;
  out.length = n;
  out.null_count = 0;
  for (int64_t k = 0; k < n; k++) out.null_count += is_null(col, row0 + k);
  return out;
}

static void write_batch(td_ipc_stream_writer *w, int64_t row0, int64_t n, int64_t skip) {
  struct ArrowArray kids[NCOLS], batch;
  for (int c = 0; c < NCOLS; c++) kids[c] = make_column(c, row0, n, skip);
  TD_ASSERT_OK(td_struct_array_make(NCOLS, kids, n, &batch, NULL), NULL);
  td_error err;
  TD_ASSERT_OK(td_ipc_stream_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
}

/* Writes batches of the given sizes to a new temporary file. */
static void write_stream(char *path, const int64_t *sizes, int n, int64_t *rows) {
  strcpy(path, "/tmp/td_ipc_testXXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  td_schema s;
  make_schema(&s);
  td_ipc_stream_writer *w;
  td_error err;
  TD_ASSERT_OK(td_ipc_stream_writer_open(fd, &s, &w, &err), &err);
  *rows = 0;
  for (int i = 0; i < n; i++) {
    write_batch(w, *rows, sizes[i], i % 2 ? 0 : 3);
    *rows += sizes[i];
  }
  TD_ASSERT_OK(td_ipc_stream_writer_close(w, &err), &err);
  td_schema_reset(&s);
  close(fd);
}

static void check_rows(td_file_reader *r, int64_t offset, int64_t n) {
  for (int c = 0; c < NCOLS; c++) {
    struct ArrowArray a;
    td_error err;
    TD_ASSERT_OK(td_reader_read(r, c, offset, n, &a, &err), &err);
    TD_ASSERT_OK(td_array_validate(TYPES[c], &a, &err), &err);
    struct ArrowArray expect = make_column(c, offset, n, 0);
    td_colview gv, ev;
    TD_ASSERT_OK(td_colview_init(&gv, TYPES[c], &a, NULL), NULL);
    TD_ASSERT_OK(td_colview_init(&ev, TYPES[c], &expect, NULL), NULL);
    for (int64_t i = 0; i < n; i++) {
      td_value x = td_colview_value(&gv, i), y = td_colview_value(&ev, i);
      assert_int_equal(x.is_null, y.is_null);
      if (x.is_null) continue;
      if (TYPES[c] == TD_TYPE_UTF8) {
        assert_int_equal(x.v.s.len, y.v.s.len);
        assert_memory_equal(x.v.s.ptr, y.v.s.ptr, x.v.s.len);
      } else if (td_type_is_float(TYPES[c])) {
        assert_true(x.v.f == y.v.f);
      } else {
        assert_int_equal(td_colview_int(&gv, i), td_colview_int(&ev, i));
      }
    }
    a.release(&a);
    expect.release(&expect);
  }
}

static void test_roundtrip(void **state) {
  (void)state;
  char path[64];
  int64_t sizes[] = {1000, 1, 0, 5003, 77}, rows;
  write_stream(path, sizes, 5, &rows);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  assert_string_equal(r->vt->format_name, "arrow-stream");
  assert_int_equal(r->num_rows, rows);
  assert_int_equal(r->schema.n_fields, NCOLS);
  assert_string_equal(r->schema.fields[9].tz, "UTC");
  check_rows(r, 0, rows);
  check_rows(r, 999, 2);
  check_rows(r, 995, 4000);
  check_rows(r, rows, 0);
  struct ArrowArray a;
  assert_int_equal(td_reader_read(r, 0, rows, 1, &a, &err), TD_EINVAL);
  td_reader_close(r);
  unlink(path);
}

static void append(int fd, const uint8_t *p, int64_t n) { assert_int_equal(write(fd, p, (size_t)n), n); }

static void test_growing(void **state) {
  (void)state;
  char path[64];
  int64_t sizes[] = {100, 250, 7}, rows;
  write_stream(path, sizes, 3, &rows);
  /* where each batch ends, from the reader's index */
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  ipc_reader *ir = (ipc_reader *)r;
  int64_t ends[3], first = ir->batches[0].offset;
  for (int i = 0; i < 3; i++) ends[i] = ir->batches[i].offset + ir->batches[i].meta_len + ir->batches[i].body_len;
  td_reader_close(r);
  FILE *fp = fopen(path, "rb");
  static uint8_t buf[1 << 20];
  int64_t total = (int64_t)fread(buf, 1, sizeof buf, fp);
  fclose(fp);

  char gpath[64];
  strcpy(gpath, "/tmp/td_ipc_growXXXXXX");
  int fd = mkstemp(gpath);
  append(fd, buf, first + 3); /* schema and a partial prefix */
  TD_ASSERT_OK(td_ipc_open(gpath, &r, &err), &err);
  assert_int_equal(r->num_rows, 0);
  int64_t at = first + 3;
  for (int64_t cut = at + 1; cut <= total; cut += (cut % 3) ? 13 : 5) {
    append(fd, buf + at, cut - at);
    at = cut;
    TD_ASSERT_OK(r->vt->refresh(r, &err), &err);
    int64_t expect = 0;
    for (int i = 0; i < 3; i++)
      if (ends[i] <= cut) expect += sizes[i];
    assert_int_equal(r->num_rows, expect);
  }
  append(fd, buf + at, total - at);
  TD_ASSERT_OK(r->vt->refresh(r, &err), &err);
  assert_int_equal(r->num_rows, rows);
  check_rows(r, 0, rows);
  /* truncation */
  assert_int_equal(ftruncate(fd, total - 20), 0);
  assert_int_equal(r->vt->refresh(r, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "truncated/replaced");
  td_reader_close(r);
  /* replacement */
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  assert_int_equal(rename(gpath, path), 0);
  assert_int_equal(r->vt->refresh(r, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "truncated/replaced");
  td_reader_close(r);
  close(fd);
  unlink(path);
}

static void test_lazy(void **state) {
  (void)state;
  char path[64];
  int64_t sizes[10], rows;
  for (int i = 0; i < 10; i++) sizes[i] = 10000;
  write_stream(path, sizes, 10, &rows);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  int64_t size, before = atomic_load(&r->io.bytes_read);
  TD_ASSERT_OK(td_io_stat(&r->io, &size, NULL, &err), &err);
  struct ArrowArray a;
  TD_ASSERT_OK(td_reader_read(r, 4, 30000, 10000, &a, &err), &err);
  a.release(&a);
  int64_t used = atomic_load(&r->io.bytes_read) - before;
  printf("lazy: one column of one batch read %lld of %lld bytes (open read %lld)\n", (long long)used,
         (long long)size, (long long)before);
  assert_true(used < size / 50);
  assert_true(before < size / 50);
  td_reader_close(r);
  unlink(path);
}

typedef struct thr {
  td_file_reader *r;
  int seed;
} thr;

static void *reader_thread(void *p) {
  thr *t = p;
  unsigned s = (unsigned)t->seed;
  for (int k = 0; k < 20; k++) {
    int64_t off = rand_r(&s) % (t->r->num_rows - 100);
    check_rows(t->r, off, 1 + rand_r(&s) % 99);
  }
  return NULL;
}

static void test_concurrent(void **state) {
  (void)state;
  char path[64];
  int64_t sizes[] = {300, 400, 500}, rows;
  write_stream(path, sizes, 3, &rows);
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_ipc_open(path, &r, &err), &err);
  pthread_t th[4];
  thr t[4];
  for (int i = 0; i < 4; i++) {
    t[i].r = r;
    t[i].seed = i + 1;
    pthread_create(&th[i], NULL, reader_thread, &t[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  td_reader_close(r);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_growing),
      cmocka_unit_test(test_lazy), cmocka_unit_test(test_concurrent)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
