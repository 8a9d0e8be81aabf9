/*
 * tests/support/mtable.c - the query tests' memory table "m" and row
 * comparison (see mtable.h).
 */
#include "mtable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/sql.h"
#include "test.h"
#include "util/alloc.h"

void mt_live_equals_static(const char *sql, bool removal) {
  mt_env e;
  mt_open(&e, 8, removal);
  td_error err;
  td_query_options live_o = {.resolver = mt_resolve, .resolver_ctx = &e, .refreshing = true},
                   static_o = {.resolver = mt_resolve, .resolver_ctx = &e, .refreshing = false};
  td_table *live;
  TD_ASSERT_OK(td_query(sql, &live_o, &live, &err), &err);
  static const char *parts[4] = {"a", "b", "c", "d"};
  for (int step = 0; step < 10; step++) {
    if (removal && step % 3 == 2) {
      td_location_key *k = mt_pkey(parts[1 + rand_r(&e.seed) % 3]);
      if (td_memory_backend_location_size(e.mb, "m", k) >= 0)
        TD_ASSERT_OK(td_memory_backend_remove_location(e.mb, "m", k, &err), &err);
      td_location_key_release(k);
    }
    int n_ops = 1 + rand_r(&e.seed) % 3;
    for (int i = 0; i < n_ops; i++) mt_add_rows(&e, parts[rand_r(&e.seed) % 4], rand_r(&e.seed) % 23);
    TD_ASSERT_OK(td_service_flush(e.svc, 10000, &err), &err);
    td_table *st;
    TD_ASSERT_OK(td_query(sql, &static_o, &st, &err), &err);
    mt_assert_same_rows(live, st, true);
    td_table_release(st);
  }
  td_table_release(live);
  mt_close(&e);
}

void mt_mem_same_threads(mt_mem *m, const char *sql) {
  td_query_options qo = mt_mem_options(m, 1);
  char *one = mt_query_text(sql, &qo);
  for (int th = 2; th <= 4; th += 2) {
    qo = mt_mem_options(m, th);
    char *more = mt_query_text(sql, &qo);
    if (strcmp(one, more) != 0) fail_msg("%s: %d threads differ:\n%.300s\n%.300s", sql, th, more, one);
    free(more);
  }
  free(one);
}

void mt_mem_add_t(mt_mem *m) {
  td_error err;
  static const char *const g[] = {"a", "a", "a", "a", "b", "b", "c"}, *s[] = {"x", "y", NULL, "x", "z", NULL, NULL};
  static const int64_t iv[] = {1, 2, 2, 0, 5, 0, 0};
  static const bool inull[] = {0, 0, 0, 1, 0, 1, 1}, fnull[] = {0, 0, 0, 1, 0, 0, 1};
  static const double fv[] = {1.0, 4.0, 2.0, 0, -0.0, 0.0, 0};
  td_builder *b[4];
  const td_type_id types[4] = {TD_TYPE_UTF8, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  for (int c = 0; c < 4; c++) TD_ASSERT_OK(td_builder_new(types[c], &b[c], &err), &err);
  for (int r = 0; r < 7; r++) {
    td_builder_append_str(b[0], g[r], -1, NULL);
    if (inull[r]) td_builder_append_null(b[1], NULL);
    else td_builder_append_int(b[1], iv[r], NULL);
    if (fnull[r]) td_builder_append_null(b[2], NULL);
    else td_builder_append_double(b[2], fv[r], NULL);
    if (!s[r]) td_builder_append_null(b[3], NULL);
    else td_builder_append_str(b[3], s[r], -1, NULL);
  }
  struct ArrowArray cols[4];
  for (int c = 0; c < 4; c++) {
    TD_ASSERT_OK(td_builder_finish(b[c], &cols[c], &err), &err);
    td_builder_free(b[c]);
  }
  const char *names[4] = {"g", "i", "f", "s"};
  mt_mem_add(m, "t", true, "all", 4, names, types, NULL, cols);
}

td_location_key *mt_pkey(const char *p) {
  const char *n = "P";
  td_value v = td_value_str(p);
  td_location_key *k;
  td_location_key_new(p, 1, &n, &v, &k, NULL);
  return k;
}

void mt_add_rows(mt_env *e, const char *part, int64_t n) {
  td_builder *b[4];
  td_type_id t[4] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  for (int i = 0; i < 4; i++) td_builder_new(t[i], &b[i], NULL);
  for (int64_t r = 0; r < n; r++) {
    int64_t x = rand_r(&e->seed) % 1000;
    td_builder_append_int(b[0], x % 5, NULL);
    if (x % 7 == 0) td_builder_append_null(b[1], NULL);
    else td_builder_append_int(b[1], x, NULL);
    td_builder_append_double(b[2], (double)x / 8.0, NULL);
    char s[16];
    snprintf(s, sizeof s, "s%lld", (long long)(x % 3));
    td_builder_append_str(b[3], s, -1, NULL);
  }
  mt_put_builders(e->mb, "m", part, b, 4);
}

void mt_put_builders(td_memory_backend *mb, const char *table, const char *part, td_builder **b, int n) {
  td_error err;
  struct ArrowArray cols[16], batch;
  assert_true(n <= 16);
  for (int i = 0; i < n; i++) {
    td_builder_finish(b[i], &cols[i], NULL);
    td_builder_free(b[i]);
  }
  TD_ASSERT_OK(td_batch_make(n, cols, &batch, &err), &err);
  td_location_key *k = mt_pkey(part);
  if (td_memory_backend_location_size(mb, table, k) < 0)
    TD_ASSERT_OK(td_memory_backend_add_location(mb, table, k, &batch, &err), &err);
  else
    TD_ASSERT_OK(td_memory_backend_append(mb, table, k, &batch, &err), &err);
  td_location_key_release(k);
}

void mt_add_table(td_memory_backend *mb, const char *name) {
  td_error err;
  const char *names[4] = {"k", "v", "x", "s"};
  td_type_id types[4] = {TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_UTF8};
  const char *pn = "P";
  td_type_id pt = TD_TYPE_UTF8;
  struct ArrowSchema ds, ps;
  td_schema_make(4, names, types, NULL, &ds, NULL);
  td_schema_make(1, &pn, &pt, NULL, &ps, NULL);
  TD_ASSERT_OK(td_memory_backend_add_table(mb, name, &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
}

void mt_open(mt_env *e, int64_t page_size, bool add_remove) {
  td_error err;
  memset(e, 0, sizeof *e);
  e->seed = 7;
  TD_ASSERT_OK(td_memory_backend_new(&e->mb, &err), &err);
  mt_add_table(e->mb, "m");
  if (add_remove) TD_ASSERT_OK(td_memory_backend_set_update_mode(e->mb, "m", TD_UPDATE_ADD_REMOVE, &err), &err);
  mt_add_rows(e, "a", 30);
  mt_add_rows(e, "b", 17);
  mt_add_rows(e, "c", 0);
  td_proxy_init(&e->proxy);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = page_size;
  o.update_period_ms = 3600 * 1000; /* cycles only on flush */
  TD_ASSERT_OK(td_service_new(td_proxy_backend(&e->proxy, td_memory_backend_backend(e->mb)), &o, &e->svc, &err),
               &err);
  TD_ASSERT_OK(td_table_key_new("m", &e->key, &err), &err);
}

void mt_close(mt_env *e) {
  td_table_key_release(e->key);
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
  td_proxy_destroy(&e->proxy);
}

td_table *mt_source(mt_env *e, bool refreshing) {
  td_error err;
  td_table_options o = {NULL, NULL, refreshing};
  td_table *t;
  TD_ASSERT_OK(td_make_table(e->svc, e->key, &o, &t, &err), &err);
  return t;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

mt_rows mt_rows_of(td_table *t, bool sorted) {
  td_error err;
  int64_t n = td_table_size(t);
  mt_rows r = {calloc((size_t)n + 1, sizeof(char *)), n};
  struct ArrowArray a;
  struct ArrowSchema s;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, n, &a, &err), &err);
  TD_ASSERT_OK(td_table_schema(t, &s, &err), &err);
  for (int64_t i = 0; i < n; i++) {
    char line[1024] = "";
    for (int64_t c = 0; c < s.n_children; c++) {
      td_value v;
      char buf[128];
      TD_ASSERT_OK(td_arrow_get_value(s.children[c], a.children[c], i, &v, &err), &err);
      if (v.type == TD_TYPE_FLOAT64 && !v.is_null) snprintf(buf, sizeof buf, "%.9g", v.v.f);
      else td_value_format(&v, buf, sizeof buf);
      strncat(line, buf, sizeof line - strlen(line) - 2);
      strcat(line, "|");
    }
    r.v[i] = strdup(line);
  }
  if (sorted) qsort(r.v, (size_t)n, sizeof *r.v, cmp_str);
  a.release(&a);
  s.release(&s);
  return r;
}

void mt_rows_free(mt_rows *r) {
  for (int64_t i = 0; i < r->n; i++) free(r->v[i]);
  free(r->v);
}

void mt_assert_same_rows(td_table *a, td_table *b, bool sorted) {
  mt_rows x = mt_rows_of(a, sorted), y = mt_rows_of(b, sorted);
  if (x.n != y.n) fail_msg("%lld rows vs %lld rows", (long long)x.n, (long long)y.n);
  for (int64_t i = 0; i < x.n; i++)
    if (strcmp(x.v[i], y.v[i]) != 0) fail_msg("row %lld: %s vs %s", (long long)i, x.v[i], y.v[i]);
  mt_rows_free(&x);
  mt_rows_free(&y);
}

int mt_resolve_in(td_service *s, const char *names, const char *name, bool is_path, td_service **svc,
                  td_table_key **key, td_error *err) {
  bool known = false;
  for (const char *w = names; *w && !known; w += strspn(w, " ")) {
    size_t len = strcspn(w, " ");
    known = len == strlen(name) && strncmp(w, name, len) == 0;
    w += len;
  }
  if (is_path || !known) {
    err->code = TD_ENOTFOUND;
    snprintf(err->message, sizeof err->message, "no table %s", name);
    return TD_ENOTFOUND;
  }
  int rc = td_table_key_new(name, key, err); /* on failure nothing is set (the resolver contract) */
  if (rc == TD_OK) *svc = td_service_retain(s);
  return rc;
}

int mt_resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  return mt_resolve_in(((mt_env *)ctx)->svc, "m", name, is_path, svc, key, err);
}

int64_t mt_stream_rows(struct ArrowArrayStream *st) {
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray a;
    assert_int_equal(st->get_next(st, &a), 0);
    if (!a.release) break;
    rows += a.length;
    a.release(&a);
  }
  st->release(st);
  return rows;
}

char *mt_table_text(td_table *t, bool float9) {
  td_error err;
  int64_t n = td_table_size(t);
  struct ArrowArray a;
  struct ArrowSchema s;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, n, &a, &err), &err);
  TD_ASSERT_OK(td_table_schema(t, &s, &err), &err);
  size_t cap = 256, len = 0;
  char *out = calloc(cap, 1);
  for (int64_t r = 0; r < n; r++) {
    for (int64_t c = 0; c < s.n_children; c++) {
      td_value v;
      char buf[128];
      TD_ASSERT_OK(td_arrow_get_value(s.children[c], a.children[c], r, &v, &err), &err);
      if (float9 && v.type == TD_TYPE_FLOAT64 && !v.is_null) snprintf(buf, sizeof buf, "%.9g", v.v.f);
      else td_value_format(&v, buf, sizeof buf);
      size_t k = strlen(buf);
      while (len + k + 3 > cap) out = realloc(out, cap *= 2);
      memcpy(out + len, buf, k);
      len += k;
      out[len++] = '|';
    }
    out[len++] = ';';
    out[len] = '\0';
  }
  a.release(&a);
  s.release(&s);
  return out;
}

td_table *mt_run(mt_env *e, const char *sql, bool live) { return mt_run_threads(e, sql, live, 0); }

td_table *mt_run_threads(mt_env *e, const char *sql, bool live, int threads) {
  td_query_options o;
  td_query_options_init(&o);
  o.resolver = mt_resolve;
  o.resolver_ctx = e;
  o.refreshing = live;
  if (threads > 0) o.threads = threads;
  td_table *t = NULL;
  td_error err;
  int rc = td_query(sql, &o, &t, &err);
  if (rc) fail_msg("%s: %s", sql, err.message);
  return t;
}

void mt_mem_open(mt_mem *m, int64_t page_size) {
  *m = (mt_mem){0};
  td_error err;
  TD_ASSERT_OK(td_memory_backend_new(&m->mb, &err), &err);
  td_service_options o;
  td_service_options_init(&o);
  if (page_size > 0) o.page_size = page_size;
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(m->mb), &o, &m->svc, &err), &err);
}

void mt_mem_paths(mt_mem *m, int64_t page_size) {
  m->paths = true;
  m->path_page_size = page_size;
}

void mt_mem_add(mt_mem *m, const char *table, bool new_table, const char *loc, int ncols, const char *const *names,
                const td_type_id *types, const char *const *tz, struct ArrowArray *cols) {
  td_error err;
  if (new_table) {
    struct ArrowSchema ds;
    TD_ASSERT_OK(td_schema_make(ncols, names, types, tz, &ds, &err), &err);
    TD_ASSERT_OK(td_memory_backend_add_table(m->mb, table, &ds, NULL, &err), &err);
    ds.release(&ds);
  }
  struct ArrowArray batch;
  TD_ASSERT_OK(td_batch_make(ncols, cols, &batch, &err), &err);
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_new(loc, 0, NULL, NULL, &k, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_location(m->mb, table, k, &batch, &err), &err);
  td_location_key_release(k);
}

td_table *mt_mem_table(mt_mem *m, const char *name) {
  td_error err;
  td_table_key *key;
  td_table *t;
  TD_ASSERT_OK(td_table_key_new(name, &key, &err), &err);
  TD_ASSERT_OK(td_make_table(m->svc, key, NULL, &t, &err), &err);
  td_table_key_release(key);
  return t;
}

void mt_expect_formats(td_table *t, int n, const char *const *formats) {
  td_error err;
  struct ArrowSchema s;
  TD_ASSERT_OK(td_table_schema(t, &s, &err), &err);
  for (int c = 0; c < n; c++) assert_string_equal(s.children[c]->format, formats[c]);
  s.release(&s);
}

void mt_mem_close(mt_mem *m) {
  td_service_free(m->svc);
  td_memory_backend_release(m->mb);
  td_file_backend_release(m->fb);
  m->fb = NULL;
}

int mt_mem_resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  mt_mem *m = ctx;
  if (is_path && m->paths) return mt_resolve_path(name, m->path_page_size, &m->fb, svc, key, err);
  *svc = td_service_retain(m->svc);
  return td_table_key_new(name, key, err);
}

td_query_options mt_mem_options(mt_mem *m, int threads) {
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = mt_mem_resolve;
  qo.resolver_ctx = m;
  qo.threads = threads;
  return qo;
}

static char *query_text(const char *sql, td_query_options *qo, bool float9) {
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_query(sql, qo, &t, &err), &err);
  char *text = mt_table_text(t, float9);
  td_table_release(t);
  return text;
}

char *mt_query_text(const char *sql, td_query_options *qo) { return query_text(sql, qo, false); }

void mt_expect_rows(td_query_options *qo, const char *sql, bool float9, const char *want) {
  char *got = query_text(sql, qo, float9);
  if (strcmp(got, want) != 0) fail_msg("%s\n  got:  %s\n  want: %s", sql, got, want);
  free(got);
}

void mt_expect_error_at(td_query_options *qo, const char *sql, int code, int64_t pos, const char *text) {
  td_error err;
  td_error_clear(&err);
  td_table *t = NULL;
  int rc = td_query(sql, qo, &t, &err);
  if (rc != code || !strstr(err.message, text))
    fail_msg("'%s': got %s: %s (wanted %s: %s)", sql, td_status_name(rc), rc ? err.message : "",
             td_status_name(code), text);
  assert_null(t);
  if (pos >= 0 && err.position != pos)
    fail_msg("%s: position %lld, expected %lld (%s)", sql, (long long)err.position, (long long)pos, err.message);
}

void mt_expect_error(td_query_options *qo, const char *sql, int code, const char *text) {
  mt_expect_error_at(qo, sql, code, -1, text);
}

char *mt_mem_text(mt_mem *m, const char *sql) {
  td_query_options qo = mt_mem_options(m, 0);
  return mt_query_text(sql, &qo);
}

void mt_mem_expect_rows(mt_mem *m, const char *sql, const char *want) {
  td_query_options qo = mt_mem_options(m, 0);
  mt_expect_rows(&qo, sql, false, want);
}

void mt_mem_expect_error(mt_mem *m, const char *sql, int code, const char *text) {
  td_query_options qo = mt_mem_options(m, 0);
  mt_expect_error(&qo, sql, code, text);
}

void mt_query_alloc_sweep(td_query_options *qo, const char *sql, bool sorted) {
  td_error err;
  td_table *want = NULL;
  TD_ASSERT_OK(td_query(sql, qo, &want, &err), &err);
  for (int64_t n = 0;; n++) {
    td__alloc_fail_after(n);
    td_table *t = NULL;
    int rc = td_query(sql, qo, &t, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      mt_assert_same_rows(t, want, sorted);
      td_table_release(t);
      break;
    }
    /* a test backend whose own allocation failed answers a failure saying so */
    bool backend_oom = rc == TD_EBACKEND && strstr(err.message, "out of memory");
    if ((rc != TD_ENOMEM && !backend_oom) || !err.message[0])
      fail_msg("'%s' with allocation %lld failing: got %s: %s (wanted TD_ENOMEM)", sql, (long long)n,
               td_status_name(rc), err.message);
    assert_null(t);
  }
  td_table_release(want);
}

int mt_resolve_path(const char *path, int64_t page_size, td_file_backend **last, td_service **svc,
                    td_table_key **key, td_error *err) {
  td_file_backend *fb;
  td_file_options fo;
  td_file_options_init(&fo);
  int rc = td_file_backend_new(path, &fo, &fb, err);
  if (rc) return rc;
  td_service_options so;
  td_service_options_init(&so);
  if (page_size > 0) so.page_size = page_size;
  rc = td_service_new(td_file_backend_backend(fb), &so, svc, err);
  if (!rc) rc = td_table_key_new(td_file_backend_table_name(fb), key, err);
  td_file_backend_release(*last);
  *last = fb;
  return rc;
}

void mt_sql_round_trip(const char *in, const char *canon) {
  td_error err;
  td_select *s, *s2;
  char *t, *t2;
  TD_ASSERT_OK(td_sql_parse(in, strlen(in), &s, &err), &err);
  TD_ASSERT_OK(td_select_print(s, &t, &err), &err);
  if (strcmp(t, canon) != 0) fail_msg("%s\n  printed %s\n  expected %s", in, t, canon);
  TD_ASSERT_OK(td_sql_parse(t, strlen(t), &s2, &err), &err);
  TD_ASSERT_OK(td_select_print(s2, &t2, &err), &err);
  assert_string_equal(t2, canon);
  td_free(t);
  td_free(t2);
  td_select_free(s);
  td_select_free(s2);
}
