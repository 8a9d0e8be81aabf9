/*
 * tests/backends/files/test_files_live.c - a refreshing table over a watched
 * temporary tree: new partition directories and files, an Arrow IPC stream
 * and a CSV file growing (partial records first), a new file in an existing
 * location, then a truncated file failing the table once.  Run under TSan.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "files_util.h"
#include "formats/parquet/writer.h"
#include "test.h"

typedef struct listen_ctx {
  pthread_mutex_t lock;
  int64_t added_rows, new_locations, updates, failures;
  char error[TD_ERROR_MESSAGE_SIZE];
} listen_ctx;

static void on_update(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)t;
  listen_ctx *c = ctx;
  pthread_mutex_lock(&c->lock);
  if (e) {
    c->failures++;
    snprintf(c->error, sizeof c->error, "%s", e->message);
  } else {
    c->updates++;
    c->new_locations += u->n_new_locations;
    for (int64_t i = 0; i < u->n_added; i++) c->added_rows += u->added[i].end_row - u->added[i].first_row;
  }
  pthread_mutex_unlock(&c->lock);
}

/* Sum of x (column 1: after the partition column P) over the whole table. */
static int64_t sum_x(td_table *t, int64_t *count) {
  int64_t sum;
  fu_sum(t, 1, 0, td_table_size(t), &sum, count);
  return sum;
}

static int64_t tri(int64_t a, int64_t b) { return (a + b - 1) * (b - a) / 2; } /* a + ... + (b-1) */

static void test_live(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "P=a");
  int fd;
  td_ipc_stream_writer *w = fu_stream_open(root, "P=a/f.arrows", TD_TYPE_INT64, &fd);
  fu_stream_batch(w, TD_TYPE_INT64, 0, 10);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  td_service *svc = fu_service(fb, 16);
  td_table_options o = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
  assert_int_equal(td_table_size(t), 10);
  listen_ctx c = {.lock = PTHREAD_MUTEX_INITIALIZER};
  int64_t id;
  TD_ASSERT_OK(td_table_add_listener(t, on_update, &c, &id, &err), &err);
  int64_t count;

  /* the stream grows */
  fu_stream_batch(w, TD_TYPE_INT64, 10, 25);
  assert_int_equal(fu_wait_size(svc, t, 35), 35);
  assert_int_equal(sum_x(t, &count), tri(0, 35));

  /* a new partition directory with a file */
  fu_mkdirs(root, "P=b/deeper");
  fu_write_stream(root, "P=b/f.arrows", TD_TYPE_INT64, 1000, 5);
  assert_int_equal(fu_wait_size(svc, t, 40), 40);
  assert_int_equal(td_table_location_count(t), 2);

  /* a new file in an existing location, sorting after the others */
  fu_write_stream(root, "P=b/g.arrows", TD_TYPE_INT64, 1005, 7);
  assert_int_equal(fu_wait_size(svc, t, 47), 47);
  assert_int_equal(sum_x(t, &count), tri(0, 35) + tri(1000, 1012));

#ifdef TD_HAVE_CSV
  /* a CSV file growing: partial lines count only when complete */
  fu_mkdirs(root, "P=c");
  fu_write_text(root, "P=c/f.csv", "x,s\n2000,u\n2001,v\n20", false);
  assert_int_equal(fu_wait_size(svc, t, 49), 49);
  fu_write_text(root, "P=c/f.csv", "02,w\n2003,", true);
  assert_int_equal(fu_wait_size(svc, t, 50), 50);
  fu_write_text(root, "P=c/f.csv", "x\n", true);
  assert_int_equal(fu_wait_size(svc, t, 51), 51);
  assert_int_equal(sum_x(t, &count), tri(0, 35) + tri(1000, 1012) + tri(2000, 2004));
#endif
  int64_t size = td_table_size(t);
  pthread_mutex_lock(&c.lock);
  assert_int_equal(c.added_rows, size - 10);
  assert_int_equal(c.failures, 0);
  pthread_mutex_unlock(&c.lock);

  /* truncation fails the table, once */
  assert_int_equal(ftruncate(fd, 100), 0);
  for (int i = 0; i < 250 && td_table_status(t, NULL) == TD_OK; i++) {
    TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
    usleep(20000);
  }
  assert_int_not_equal(td_table_status(t, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "P=a/f.arrows");
  TD_ASSERT_CONTAINS(err.message, "truncated");
  TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
  pthread_mutex_lock(&c.lock);
  assert_int_equal(c.failures, 1);
  TD_ASSERT_CONTAINS(c.error, "truncated");
  pthread_mutex_unlock(&c.lock);

  td_ipc_stream_writer_abort(w);
  close(fd);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

/* A file removed from a location of several files, or replaced, fails its
 * location's size subscription with a message naming it. */
static void check_failure(const char *what) {
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "P=a");
  fu_write_stream(root, "P=a/m.arrows", TD_TYPE_INT64, 0, 10);
  fu_write_stream(root, "P=a/n.arrows", TD_TYPE_INT64, 10, 5);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  td_service *svc = fu_service(fb, 0);
  td_table_options o = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
  char path[128];
  snprintf(path, sizeof path, "%s/P=a/m.arrows", root);
  const char *expect = NULL;
  if (strcmp(what, "removed") == 0) {
    assert_int_equal(unlink(path), 0);
    expect = "m.arrows' was removed, but its location 'P=a' has other data files";
  } else {
    fu_write_stream(root, "P=a/tmp.bin", TD_TYPE_INT64, 0, 12);
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s/P=a/tmp.bin", root);
    assert_int_equal(rename(tmp, path), 0);
    expect = "m.arrows' was replaced";
  }
  for (int i = 0; i < 250 && td_table_status(t, NULL) == TD_OK; i++) {
    TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
    usleep(20000);
  }
  assert_int_not_equal(td_table_status(t, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, expect);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

typedef struct removal_ctx {
  pthread_mutex_t lock;
  int64_t removed_rows, removed_locations, failures;
} removal_ctx;

static void on_removal(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)t;
  removal_ctx *c = ctx;
  pthread_mutex_lock(&c->lock);
  if (e) c->failures++;
  for (int64_t i = 0; !e && i < u->n_removed; i++) {
    c->removed_locations++;
    c->removed_rows += u->removed[i].end_row - u->removed[i].first_row;
  }
  pthread_mutex_unlock(&c->lock);
}

/* Waits until the table has `n` rows in live regions. */
static void wait_rows(td_service *svc, td_table *t, int64_t n) {
  td_error err;
  for (int i = 0; i < 250 && td_table_size(t) != n; i++) {
    TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
    usleep(20000);
  }
  assert_int_equal(td_table_size(t), n);
}

/* Deleting a location's only data file, or its partition directory (rm -r,
 * or moved away), removes the location: its rows leave the table, which
 * keeps working; data files in the directory again add it anew. */
static void test_live_removal(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "P=a");
  fu_mkdirs(root, "P=b");
  fu_mkdirs(root, "P=c");
  fu_mkdirs(root, "P=d");
  fu_write_stream(root, "P=a/f.arrows", TD_TYPE_INT64, 0, 10);
  fu_write_stream(root, "P=b/f.arrows", TD_TYPE_INT64, 100, 5);
  fu_write_stream(root, "P=b/g.arrows", TD_TYPE_INT64, 105, 5);
  fu_write_stream(root, "P=c/f.arrows", TD_TYPE_INT64, 200, 7);
  fu_write_stream(root, "P=d/f.arrows", TD_TYPE_INT64, 300, 3);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  td_service *svc = fu_service(fb, 4);
  td_table_options o = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
  removal_ctx c = {.lock = PTHREAD_MUTEX_INITIALIZER};
  TD_ASSERT_OK(td_table_add_listener(t, on_removal, &c, NULL, &err), &err);
  assert_int_equal(td_table_size(t), 30);
  int64_t count;
  assert_int_equal(sum_x(t, &count), tri(0, 10) + tri(100, 110) + tri(200, 207) + tri(300, 303));
  char path[160], to[160];
  /* the only file of P=a */
  snprintf(path, sizeof path, "%s/P=a/f.arrows", root);
  assert_int_equal(unlink(path), 0);
  wait_rows(svc, t, 20);
  assert_int_equal(sum_x(t, &count), tri(100, 110) + tri(200, 207) + tri(300, 303));
  /* the partition directory P=c, files and all */
  snprintf(path, sizeof path, "%s/P=c", root);
  fu_rmtree(path);
  wait_rows(svc, t, 13);
  /* P=d moved out of the tree */
  snprintf(path, sizeof path, "%s/P=d", root);
  snprintf(to, sizeof to, "%s/../%s-moved", root, strrchr(root, '/') + 1);
  assert_int_equal(rename(path, to), 0);
  wait_rows(svc, t, 10);
  fu_rmtree(to);
  assert_int_equal(sum_x(t, &count), tri(100, 110));
  assert_int_equal(td_table_status(t, &err), TD_OK);
  /* P=a comes back with other rows: a new region */
  fu_write_stream(root, "P=a/h.arrows", TD_TYPE_INT64, 500, 4);
  wait_rows(svc, t, 14);
  assert_int_equal(sum_x(t, &count), tri(100, 110) + tri(500, 504));
  assert_int_equal(td_table_location_count(t), 5);
  pthread_mutex_lock(&c.lock);
  assert_int_equal(c.removed_locations, 3);
  assert_int_equal(c.removed_rows, 20);
  assert_int_equal(c.failures, 0);
  pthread_mutex_unlock(&c.lock);
  /* A static table lists what is there now. */
  td_table *st;
  TD_ASSERT_OK(fu_table(svc, fb, NULL, &st, &err), &err);
  assert_int_equal(td_table_size(st), 14);
  td_table_release(st);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

static void test_live_failures(void **state) {
  (void)state;
  check_failure("removed");
  check_failure("replaced");
}

/* A live location reads its files in arrival order: a new file whose name
 * sorts first appends its rows (UUID names, as DuckDB's APPEND writes);
 * files being written (tmp_*, *.tmp, hidden, _*) are not read until renamed. */
static void test_arrival_order(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "P=a");
  fu_write_stream(root, "P=a/m.arrows", TD_TYPE_INT64, 100, 10);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  td_service *svc = fu_service(fb, 0);
  td_table_options o = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
  fu_write_stream(root, "P=a/a.arrows", TD_TYPE_INT64, 0, 3);
  assert_int_equal(fu_wait_size(svc, t, 13), 13);
  int64_t sum, n;
  fu_sum(t, 1, 0, 10, &sum, &n); /* x (after the partition column) */
  assert_int_equal(sum, 1045);   /* the old rows stay first */
  fu_sum(t, 1, 10, 13, &sum, &n);
  assert_int_equal(sum, 3);
  /* files being written are ignored */
  fu_write_stream(root, "P=a/tmp_b.arrows", TD_TYPE_INT64, 0, 5);
  fu_write_stream(root, "P=a/.c.arrows", TD_TYPE_INT64, 0, 5);
  fu_write_stream(root, "P=a/_d.arrows", TD_TYPE_INT64, 0, 5);
  fu_write_stream(root, "P=a/e.arrows.tmp", TD_TYPE_INT64, 0, 5);
  fu_write_stream(root, "P=a/f_x.tmp", TD_TYPE_INT64, 0, 5);
  fu_write_text(root, "P=a/_SUCCESS", "", false);
  for (int i = 0; i < 10; i++) {
    TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
    usleep(20000);
  }
  assert_int_equal(td_table_size(t), 13);
  char a[128], b[128];
  snprintf(a, sizeof a, "%s/P=a/tmp_b.arrows", root);
  snprintf(b, sizeof b, "%s/P=a/0-b.arrows", root);
  assert_int_equal(rename(a, b), 0);
  assert_int_equal(fu_wait_size(svc, t, 18), 18);
  assert_int_equal(td_table_status(t, NULL), TD_OK);
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

/* The bytes of a Parquet file of x = x0 .. x0 + n - 1 (int64); *len set. */
static uint8_t *parquet_bytes(int64_t x0, int64_t n, size_t *len) {
  char tmpl[] = "/tmp/td_live_pq_XXXXXX";
  int fd = mkstemp(tmpl);
  assert_true(fd >= 0);
  td_error err;
  td_schema s;
  td_schema_init(&s);
  TD_ASSERT_OK(td_schema_add(&s, "x", TD_TYPE_INT64, NULL, true, &err), &err);
  td_parquet_writer *w;
  TD_ASSERT_OK(td_parquet_writer_open(fd, &s, false, &w, &err), &err);
  td_array x;
  TD_ASSERT_OK(td_array_init(&x, TD_TYPE_INT64, n, &err), &err);
  for (int64_t i = 0; i < n; i++) TD_ASSERT_OK(td_array_append_int(&x, x0 + i, &err), &err);
  struct ArrowArray col, batch;
  TD_ASSERT_OK(td_array_export(&x, &col, &err), &err);
  TD_ASSERT_OK(td_batch_make(1, &col, &batch, &err), &err);
  TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  td_schema_reset(&s);
  off_t size = lseek(fd, 0, SEEK_END);
  uint8_t *b = malloc((size_t)size);
  assert_int_equal(pread(fd, b, (size_t)size, 0), size);
  close(fd);
  unlink(tmpl);
  *len = (size_t)size;
  return b;
}

/* A live table over P=a/first.parquet (10 rows, x = 0..9) while a writer
 * has P=a/second.parquet open (fd), created empty: the two in-place
 * writing tests below. */
typedef struct in_place {
  char root[64];
  uint8_t *ten;
  size_t n10;
  td_file_backend *fb;
  td_service *svc;
  td_table *t;
  int fd;
} in_place;

static void in_place_open(in_place *f) {
  char path[128];
  fu_tmpdir(f->root);
  fu_mkdirs(f->root, "P=a");
  f->ten = parquet_bytes(0, 10, &f->n10);
  snprintf(path, sizeof path, "%s/P=a/first.parquet", f->root);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, f->ten, f->n10), (ssize_t)f->n10);
  close(fd);
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(f->root, NULL, &f->fb, &err), &err);
  f->svc = fu_service(f->fb, 0);
  td_table_options o = {NULL, NULL, true};
  TD_ASSERT_OK(fu_table(f->svc, f->fb, &o, &f->t, &err), &err);
  assert_int_equal(fu_wait_size(f->svc, f->t, 10), 10);
  snprintf(path, sizeof path, "%s/P=a/second.parquet", f->root);
  f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(f->fd >= 0);
}

/* Lets the watcher hear the writer for `cycles` update cycles: the open
 * file must not be taken. */
static void in_place_still_waits(in_place *f, int cycles) {
  td_error err;
  for (int i = 0; i < cycles; i++) {
    TD_ASSERT_OK(td_service_flush(f->svc, 5000, &err), &err);
    usleep(20000);
  }
  assert_int_equal(td_table_size(f->t), 10);
}

/* Closes the writer's file (IN_CLOSE_WRITE): it must be taken, 20 rows. */
static void in_place_close_and_take(in_place *f) {
  close(f->fd);
  assert_int_equal(fu_wait_size(f->svc, f->t, 20), 20);
  assert_int_equal(td_table_status(f->t, NULL), TD_OK);
}

static void in_place_free(in_place *f) {
  td_table_release(f->t);
  td_service_free(f->svc);
  td_file_backend_release(f->fb);
  free(f->ten);
  fu_rmtree(f->root);
}

/* A Parquet file written in place under its final name (as DuckDB's COPY
 * ... APPEND does): a complete-looking 1-row file first, then, through the
 * same descriptor, rewritten as the final 10-row file.  The watcher waits
 * for the writer to close it (IN_CLOSE_WRITE): the table never sees the
 * intermediate file and never fails as 'modified'. */
static void test_written_in_place(void **state) {
  (void)state;
  in_place f;
  in_place_open(&f);
  size_t n1;
  uint8_t *one = parquet_bytes(1000, 1, &n1);
  assert_int_equal(write(f.fd, one, n1), (ssize_t)n1); /* a valid file, not the final one */
  in_place_still_waits(&f, 10);
  assert_int_equal(ftruncate(f.fd, 0), 0);
  assert_int_equal(pwrite(f.fd, f.ten, f.n10, 0), (ssize_t)f.n10);
  in_place_close_and_take(&f);
  int64_t sum, count;
  fu_sum(f.t, 1, 10, 20, &sum, &count); /* x of the second file: 0..9, not 1000 */
  assert_int_equal(sum, 45);
  assert_int_equal(count, 10);
  free(one);
  in_place_free(&f);
}

/* A Parquet file whose writer writes all of it and then keeps it open: the
 * watcher sees it at its final size while it is open, so it waits; closing
 * changes no size, and the file must be taken when its writer closes it. */
static void test_closed_at_final_size(void **state) {
  (void)state;
  in_place f;
  in_place_open(&f);
  assert_int_equal(write(f.fd, f.ten, f.n10), (ssize_t)f.n10); /* the whole file; still open */
  in_place_still_waits(&f, 20); /* the watcher lists it at its final size, open */
  in_place_close_and_take(&f);  /* no change of size */
  in_place_free(&f);
}

/* An empty directory with a declared schema: locations appear later; the
 * partition columns are fixed with the schema (none declared: a partition
 * directory fails, naming the option). */
static void test_empty_start(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  struct ArrowSchema ds;
  const char *names[] = {"x", "s"};
  td_type_id types[] = {TD_TYPE_INT64, TD_TYPE_UTF8};
  td_error err;
  TD_ASSERT_OK(td_schema_make(2, names, types, NULL, &ds, &err), &err);
  td_file_options fo;
  td_file_options_init(&fo);
  fo.schema = &ds;
  td_file_backend *fb;
  TD_ASSERT_OK(td_file_backend_new(root, &fo, &fb, &err), &err);
  ds.release(&ds);
  td_service *svc = fu_service(fb, 0);
  td_table_options o = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
  assert_int_equal(td_table_size(t), 0);
  fu_write_stream(root, "x.arrows", TD_TYPE_INT64, 0, 4);
  assert_int_equal(fu_wait_size(svc, t, 4), 4);
  fu_mkdirs(root, "D=7");
  fu_write_stream(root, "D=7/x.arrows", TD_TYPE_INT64, 0, 4);
  for (int i = 0; i < 250 && td_table_status(t, NULL) == TD_OK; i++) {
    TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
    usleep(20000);
  }
  assert_int_not_equal(td_table_status(t, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "--partition-types");
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

/* The watcher stops with the last subscription and starts again. */
static void test_watch_restart(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  fu_mkdirs(root, "P=a");
  fu_write_stream(root, "P=a/f.arrows", TD_TYPE_INT64, 0, 4);
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, NULL, &fb, &err), &err);
  td_service *svc = fu_service(fb, 0);
  td_table_options o = {NULL, NULL, true};
  for (int round = 0; round < 3; round++) {
    td_table *t;
    TD_ASSERT_OK(fu_table(svc, fb, &o, &t, &err), &err);
    assert_int_equal(td_table_location_count(t), round + 1);
    char rel[32];
    snprintf(rel, sizeof rel, "P=n%d", round);
    fu_mkdirs(root, rel);
    strcat(rel, "/f.arrows");
    fu_write_stream(root, rel, TD_TYPE_INT64, 0, 4);
    assert_int_equal(fu_wait_size(svc, t, 4 * (round + 2)), 4 * (round + 2));
    td_table_release(t);
  }
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

/* An empty tree with declared schemas fills up while watched. */
static void test_empty_tree(void **state) {
  (void)state;
  char root[64];
  fu_tmpdir(root);
  td_schema s;
  struct ArrowSchema data, part;
  td_schema_init(&s);
  TD_ASSERT_OK(td_schema_add(&s, "x", TD_TYPE_INT64, NULL, true, NULL), NULL);
  TD_ASSERT_OK(td_schema_add(&s, "s", TD_TYPE_UTF8, NULL, true, NULL), NULL);
  TD_ASSERT_OK(td_schema_export(&s, &data, NULL), NULL);
  td_schema_reset(&s);
  TD_ASSERT_OK(td_schema_add(&s, "Day", TD_TYPE_INT32, NULL, true, NULL), NULL);
  TD_ASSERT_OK(td_schema_export(&s, &part, NULL), NULL);
  td_schema_reset(&s);
  td_file_options o;
  td_file_options_init(&o);
  o.schema = &data;
  o.partition_schema = &part;
  td_file_backend *fb;
  td_error err;
  TD_ASSERT_OK(td_file_backend_new(root, &o, &fb, &err), &err);
  data.release(&data);
  part.release(&part);
  td_service *svc = fu_service(fb, 0);
  td_table_options to = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(fu_table(svc, fb, &to, &t, &err), &err);
  assert_int_equal(td_table_size(t), 0);
  fu_mkdirs(root, "Day=7");
  fu_write_stream(root, "Day=7/f.arrows", TD_TYPE_INT64, 0, 9);
  assert_int_equal(fu_wait_size(svc, t, 9), 9);
  const td_value *v = td_location_key_find(td_table_location(t, 0), "Day");
  assert_int_equal(v->type, TD_TYPE_INT32);
  assert_int_equal(v->v.i, 7);
  /* a directory whose partition names disagree fails the table */
  fu_mkdirs(root, "Other=1");
  fu_write_stream(root, "Other=1/f.arrows", TD_TYPE_INT64, 0, 2);
  for (int i = 0; i < 250 && td_table_status(t, NULL) == TD_OK; i++) {
    TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
    usleep(20000);
  }
  assert_int_not_equal(td_table_status(t, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "Other=1");
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
  fu_rmtree(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_live),
      cmocka_unit_test(test_live_failures), cmocka_unit_test(test_live_removal),
      cmocka_unit_test(test_arrival_order),
      cmocka_unit_test(test_written_in_place),
      cmocka_unit_test(test_closed_at_final_size),
      cmocka_unit_test(test_empty_start),
      cmocka_unit_test(test_watch_restart),
      cmocka_unit_test(test_empty_tree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
