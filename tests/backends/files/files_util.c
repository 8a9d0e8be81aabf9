/*
 * tests/backends/files/files_util.c - helpers for the file backend tests
 * (see files_util.h).
 */
#include "files_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "test.h"

void fu_tmpdir(char *out) {
  strcpy(out, "/tmp/td_files_XXXXXX");
  assert_non_null(mkdtemp(out));
}

void fu_rmtree(const char *path) { td_test_rmtree(path); }

void fu_mkdirs(const char *root, const char *rel) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  for (char *s = p + strlen(root) + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    mkdir(p, 0755);
    *s = '/';
  }
  mkdir(p, 0755);
}

static void make_schema(td_schema *s, td_type_id xtype) {
  td_schema_init(s);
  TD_ASSERT_OK(td_schema_add(s, "x", xtype, NULL, true, NULL), NULL);
  TD_ASSERT_OK(td_schema_add(s, "s", TD_TYPE_UTF8, NULL, true, NULL), NULL);
}

td_ipc_stream_writer *fu_stream_open(const char *root, const char *rel, td_type_id xtype, int *fd) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  *fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(*fd >= 0);
  td_schema s;
  make_schema(&s, xtype);
  td_ipc_stream_writer *w;
  td_error err;
  TD_ASSERT_OK(td_ipc_stream_writer_open(*fd, &s, &w, &err), &err);
  td_schema_reset(&s);
  return w;
}

void fu_stream_batch(td_ipc_stream_writer *w, td_type_id xtype, int64_t x0, int64_t n) {
  td_array x, s;
  TD_ASSERT_OK(td_array_init(&x, xtype, n, NULL), NULL);
  TD_ASSERT_OK(td_array_init(&s, TD_TYPE_UTF8, n, NULL), NULL);
  for (int64_t i = 0; i < n; i++) {
    char buf[32];
    int len = snprintf(buf, sizeof buf, "s%lld", (long long)(x0 + i));
    TD_ASSERT_OK(td_array_append_int(&x, x0 + i, NULL), NULL);
    TD_ASSERT_OK(td_array_append_str(&s, buf, len, NULL), NULL);
  }
  struct ArrowArray kids[2], batch;
  TD_ASSERT_OK(td_array_export(&x, &kids[0], NULL), NULL);
  TD_ASSERT_OK(td_array_export(&s, &kids[1], NULL), NULL);
  TD_ASSERT_OK(td_struct_array_make(2, kids, n, &batch, NULL), NULL);
  td_error err;
  TD_ASSERT_OK(td_ipc_stream_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
}

void fu_write_stream(const char *root, const char *rel, td_type_id xtype, int64_t x0, int64_t n) {
  int fd;
  td_ipc_stream_writer *w = fu_stream_open(root, rel, xtype, &fd);
  if (n) fu_stream_batch(w, xtype, x0, n);
  td_error err;
  TD_ASSERT_OK(td_ipc_stream_writer_close(w, &err), &err);
  close(fd);
}

void fu_write_text(const char *root, const char *rel, const char *text, bool append) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  FILE *f = fopen(p, append ? "ab" : "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

td_service *fu_service(td_file_backend *fb, int64_t page_size) {
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = 0;
  if (page_size) o.page_size = page_size;
  td_service *svc;
  td_error err;
  TD_ASSERT_OK(td_service_new(td_file_backend_backend(fb), &o, &svc, &err), &err);
  return svc;
}

int fu_table(td_service *svc, td_file_backend *fb, const td_table_options *opts, td_table **out, td_error *err) {
  td_table_key *k;
  TD_ASSERT_OK(td_table_key_new(td_file_backend_table_name(fb), &k, NULL), NULL);
  int rc = td_make_table(svc, k, opts, out, err);
  td_table_key_release(k);
  return rc;
}

void fu_sum(td_table *t, int64_t col, int64_t begin, int64_t end, int64_t *sum, int64_t *count) {
  *sum = *count = 0;
  if (end <= begin) return;
  struct ArrowArray a;
  td_error err;
  TD_ASSERT_OK(td_table_read(t, &col, 1, begin, end, &a, &err), &err);
  struct ArrowSchema sch;
  TD_ASSERT_OK(td_table_schema(t, &sch, &err), &err);
  td_type_id type;
  const char *tz;
  TD_ASSERT_OK(td_type_from_format(sch.children[col]->format, &type, &tz, &err), &err);
  td_colview v;
  TD_ASSERT_OK(td_colview_init(&v, type, a.children[0], &err), &err);
  for (int64_t i = 0; i < v.length; i++) {
    if (!td_colview_valid(&v, i)) continue;
    *sum += td_colview_int(&v, i);
    (*count)++;
  }
  sch.release(&sch);
  a.release(&a);
}

int64_t fu_wait_size(td_service *svc, td_table *t, int64_t size) {
  for (int i = 0; i < 250; i++) {
    td_error err;
    TD_ASSERT_OK(td_service_flush(svc, 5000, &err), &err);
    if (td_table_size(t) == size || td_table_status(t, NULL) != TD_OK) break;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return td_table_size(t);
}
