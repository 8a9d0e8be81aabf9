/*
 * tests/core/test_core.c - the core engine on static tables: the seeds'
 * example, laziness and page offsets, the page cache, the partitioned table
 * and location predicates, streams, and threads.
 */
#include <sys/mman.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_backend.h"
#include "sample.h"
#include "tabledata.h"
#include "test.h"
#include "util/alloc.h"
#include "util/call_args.h"

/* ---- helpers ---- */

typedef struct fixture {
  td_memory_backend *mb;
  td_proxy proxy;
  td_service *svc;
  td_table_key *key;
} fixture;

static void fixture_open(fixture *f, td_memory_backend *mb, const td_service_options *o) {
  td_error err;
  f->mb = mb;
  td_proxy_init(&f->proxy);
  TD_ASSERT_OK(td_service_new(td_proxy_backend(&f->proxy, td_memory_backend_backend(mb)), o, &f->svc, &err), &err);
}

static void fixture_close(fixture *f) {
  td_table_key_release(f->key);
  td_service_free(f->svc);
  td_memory_backend_release(f->mb);
  td_proxy_destroy(&f->proxy);
}

/* A memory backend with table "big": partition column Part (int32), data
 * columns a (int64 = loc * 1e6 + row) and s (utf8 "r<row>"). */
static td_memory_backend *make_big(int n_locs, int64_t rows) {
  td_error err;
  td_memory_backend *mb;
  TD_ASSERT_OK(td_memory_backend_new(&mb, &err), &err);
  const char *names[2] = {"a", "s"};
  td_type_id types[2] = {TD_TYPE_INT64, TD_TYPE_UTF8};
  const char *pn[1] = {"Part"};
  td_type_id pt[1] = {TD_TYPE_INT32};
  struct ArrowSchema ds, ps;
  TD_ASSERT_OK(td_schema_make(2, names, types, NULL, &ds, &err), &err);
  TD_ASSERT_OK(td_schema_make(1, pn, pt, NULL, &ps, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(mb, "big", &ds, &ps, &err), &err);
  ds.release(&ds);
  ps.release(&ps);
  for (int l = 0; l < n_locs; l++) {
    const char *kn[1] = {"Part"};
    td_value kv[1] = {td_value_int(TD_TYPE_INT32, l)};
    td_location_key *k;
    TD_ASSERT_OK(td_location_key_new(NULL, 1, kn, kv, &k, &err), &err);
    td_builder *a, *s;
    td_builder_new(TD_TYPE_INT64, &a, NULL);
    td_builder_new(TD_TYPE_UTF8, &s, NULL);
    for (int64_t r = 0; r < rows; r++) {
      char buf[32];
      snprintf(buf, sizeof buf, "r%lld", (long long)r);
      td_builder_append_int(a, l * 1000000LL + r, NULL);
      td_builder_append_str(s, buf, -1, NULL);
    }
    struct ArrowArray cols[2], batch;
    td_builder_finish(a, &cols[0], NULL);
    td_builder_finish(s, &cols[1], NULL);
    td_builder_free(a);
    td_builder_free(s);
    TD_ASSERT_OK(td_batch_make(2, cols, &batch, &err), &err);
    TD_ASSERT_OK(td_memory_backend_add_location(mb, "big", k, &batch, &err), &err);
    td_location_key_release(k);
  }
  return mb;
}

static void append_big(td_memory_backend *mb, int loc, int64_t from, int64_t n) {
  td_error err;
  const char *kn[1] = {"Part"};
  td_value kv[1] = {td_value_int(TD_TYPE_INT32, loc)};
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_new(NULL, 1, kn, kv, &k, &err), &err);
  td_builder *a, *s;
  td_builder_new(TD_TYPE_INT64, &a, NULL);
  td_builder_new(TD_TYPE_UTF8, &s, NULL);
  for (int64_t r = from; r < from + n; r++) {
    char buf[32];
    snprintf(buf, sizeof buf, "r%lld", (long long)r);
    td_builder_append_int(a, loc * 1000000LL + r, NULL);
    td_builder_append_str(s, buf, -1, NULL);
  }
  struct ArrowArray cols[2], batch;
  td_builder_finish(a, &cols[0], NULL);
  td_builder_finish(s, &cols[1], NULL);
  td_builder_free(a);
  td_builder_free(s);
  TD_ASSERT_OK(td_batch_make(2, cols, &batch, &err), &err);
  TD_ASSERT_OK(td_memory_backend_append(mb, "big", k, &batch, &err), &err);
  td_location_key_release(k);
}

static td_value value_at(const struct ArrowArray *batch, const struct ArrowSchema *schema, int64_t col, int64_t row) {
  td_value v;
  td_error err;
  TD_ASSERT_OK(td_arrow_get_value(schema->children[col], batch->children[col], row, &v, &err), &err);
  return v;
}

/* ---- the seeds' example ---- */

static void test_seed_example(void **state) {
  (void)state;
  td_error err;
  fixture f = {0};
  td_memory_backend *mb;
  TD_ASSERT_OK(td_sample_create(&mb, &err), &err);
  fixture_open(&f, mb, NULL);
  TD_ASSERT_OK(td_table_key_new("sample", &f.key, &err), &err);
  td_table *t;
  TD_ASSERT_OK(td_make_table(f.svc, f.key, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), 6);
  assert_int_equal(td_table_location_count(t), 3);
  static const char *names[13] = {"Ticker", "Exchange", "Boolean", "Byte",  "Char",   "Short",   "Int",
                                  "Long",   "NPLong",   "Float",   "Double", "String", "Datetime"};
  static const char *formats[13] = {"u", "u", "b", "c", "S", "s", "i", "l", "l", "f", "g", "u", "tsn:UTC"};
  struct ArrowSchema schema;
  TD_ASSERT_OK(td_table_schema(t, &schema, &err), &err);
  assert_int_equal(schema.n_children, 13);
  for (int c = 0; c < 13; c++) {
    assert_string_equal(schema.children[c]->name, names[c]);
    assert_string_equal(schema.children[c]->format, formats[c]);
  }
  assert_true(td_table_column_is_partition(t, 0));
  assert_true(td_table_column_is_partition(t, 1));
  assert_false(td_table_column_is_partition(t, 2));
  struct ArrowArray all;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, 6, &all, &err), &err);
  assert_int_equal(all.length, 6);
  static const char *tick[3] = {"GOOG", "MSFT", "MSFT"}, *exch[3] = {"NYSE", "BZX", "BZY"};
  for (int r = 0; r < 6; r++) {
    int l = r / 2, k = r % 2;
    for (int c = 0; c < 13; c++) assert_false(value_at(&all, &schema, c, r).is_null);
    td_value v = value_at(&all, &schema, 0, r);
    assert_memory_equal(v.v.s.ptr, tick[l], 4);
    v = value_at(&all, &schema, 1, r);
    assert_int_equal(v.v.s.len, strlen(exch[l]));
    assert_memory_equal(v.v.s.ptr, exch[l], v.v.s.len);
    assert_int_equal(value_at(&all, &schema, 2, r).v.b, k == 0);
    int64_t sign = k == 0 ? 1 : -1;
    assert_int_equal(value_at(&all, &schema, 3, r).v.i, sign);
    assert_int_equal(value_at(&all, &schema, 4, r).v.i, k == 0 ? '-' : '1');
    for (int c = 5; c <= 8; c++) assert_int_equal(value_at(&all, &schema, c, r).v.i, sign);
    assert_float_equal(value_at(&all, &schema, 9, r).v.f, (float)(1.01 * sign), 0);
    assert_float_equal(value_at(&all, &schema, 10, r).v.f, 1.01 * sign, 0);
    v = value_at(&all, &schema, 11, r);
    assert_memory_equal(v.v.s.ptr, k == 0 ? "foo" : "bar", 3);
    assert_int_equal(value_at(&all, &schema, 12, r).v.i, k == 0 ? 1727800200000000000LL : 1727801100000000000LL);
  }
  for (int c = 0; c < 13; c++) assert_int_equal(all.children[c]->null_count, 0);
  all.release(&all);
  schema.release(&schema);
  /* row keys: region << 43 | row */
  assert_int_equal(td_table_row_key(t, 0), 0);
  assert_int_equal(td_table_row_key(t, 3), ((int64_t)1 << 43) | 1);
  assert_int_equal(td_table_row_key(t, 5), ((int64_t)2 << 43) | 1);
  assert_int_equal(td_table_row_key(t, 6), -1);
  td_table_release(t);
  fixture_close(&f);
}

/* ---- laziness and page offsets ---- */

/* Opens `f` over make_big(n_locs, rows) with service options `o` and
 * returns a static table of "big". */
static td_table *open_big(fixture *f, int n_locs, int64_t rows, const td_service_options *o) {
  td_error err;
  fixture_open(f, make_big(n_locs, rows), o);
  TD_ASSERT_OK(td_table_key_new("big", &f->key, &err), &err);
  td_table *t;
  TD_ASSERT_OK(td_make_table(f->svc, f->key, NULL, &t, &err), &err);
  return t;
}


/* Streams int64 column `col` of t to its end: its rows, the sum of its
 * values, and the most bytes svc's cache held after any batch. */
static void scan_column(td_table *t, td_service *svc, int64_t col, int64_t *rows, int64_t *sum, int64_t *max_bytes) {
  td_error err;
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_table_stream(t, &col, 1, &st, &err), &err);
  *rows = *sum = *max_bytes = 0;
  for (;;) {
    struct ArrowArray b;
    assert_int_equal(st.get_next(&st, &b), 0);
    if (!b.release) break;
    const int64_t *v = (const int64_t *)b.children[0]->buffers[1] + b.children[0]->offset;
    for (int64_t i = 0; i < b.length; i++) *sum += v[i];
    *rows += b.length;
    td_counters c;
    td_service_counters(svc, &c);
    if (c.cache_bytes > *max_bytes) *max_bytes = c.cache_bytes;
    b.release(&b);
  }
  st.release(&st);
}

static void test_laziness(void **state) {
  (void)state;
  td_error err;
  fixture f = {0};
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 10;
  td_table *t = open_big(&f, 3, 25, &o);
  td_counters c;
  td_service_counters(f.svc, &c);
  assert_int_equal(c.calls[TD_METHOD_COLUMN_VALUES], 0);
  assert_int_equal(c.calls[TD_METHOD_TABLE_LOCATION_SIZE], 3);
  assert_int_equal(td_table_size(t), 75);

  /* Rows 2..5 of column a: one page of one location. */
  int64_t col_a = td_table_column_index(t, "a");
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, &col_a, 1, 2, 6, &out, &err), &err);
  assert_int_equal(((const int64_t *)out.children[0]->buffers[1])[0], 2);
  out.release(&out);
  td_service_counters(f.svc, &c);
  assert_int_equal(c.calls[TD_METHOD_COLUMN_VALUES], 1);
  assert_int_equal(td_proxy_count(&f.proxy, TD_METHOD_COLUMN_VALUES, NULL), 1);
  td_call_log *l = &f.proxy.log[f.proxy.n_log - 1];
  assert_string_equal(l->column, "a");
  assert_int_equal(l->offset, 0);
  assert_int_equal(l->min_rows, 10);
  assert_int_equal(l->max_rows, 10);

  /* The whole of column a: 3 pages per location; column s untouched. */
  TD_ASSERT_OK(td_table_read(t, &col_a, 1, 0, 75, &out, &err), &err);
  for (int64_t i = 0; i < 75; i++)
    assert_int_equal(((const int64_t *)out.children[0]->buffers[1])[i], (i / 25) * 1000000 + i % 25);
  out.release(&out);
  td_service_counters(f.svc, &c);
  assert_int_equal(c.calls[TD_METHOD_COLUMN_VALUES], 9);
  assert_int_equal(c.cache_hits, 1); /* page 0 of location 0 again */
  for (int64_t i = 0; i < f.proxy.n_log; i++)
    if (f.proxy.log[i].method == TD_METHOD_COLUMN_VALUES) assert_string_equal(f.proxy.log[i].column, "a");
  /* The tail page of a location: rows 20..25, min 5, max 10. */
  bool saw_tail = false;
  for (int64_t i = 0; i < f.proxy.n_log; i++) {
    l = &f.proxy.log[i];
    if (l->method == TD_METHOD_COLUMN_VALUES && l->offset == 20) {
      assert_int_equal(l->min_rows, 5);
      assert_int_equal(l->max_rows, 10);
      saw_tail = true;
    }
  }
  assert_true(saw_tail);

  /* The location grows: a new static table sees 28 rows in location 0;
   * reading them fetches only the missing suffix of the tail page. */
  append_big(f.mb, 0, 25, 3);
  td_table *t2;
  TD_ASSERT_OK(td_make_table(f.svc, f.key, NULL, &t2, &err), &err);
  assert_int_equal(td_table_size(t2), 78);
  assert_int_equal(td_table_size(t), 75); /* static tables never change */
  int64_t before = f.proxy.n_log;
  TD_ASSERT_OK(td_table_read(t2, &col_a, 1, 20, 28, &out, &err), &err);
  for (int64_t i = 0; i < 8; i++) assert_int_equal(((const int64_t *)out.children[0]->buffers[1])[i], 20 + i);
  out.release(&out);
  int64_t fetches = 0;
  for (int64_t i = before; i < f.proxy.n_log; i++) {
    l = &f.proxy.log[i];
    if (l->method != TD_METHOD_COLUMN_VALUES) continue;
    fetches++;
    assert_int_equal(l->offset, 25);
    assert_int_equal(l->min_rows, 3);
    assert_int_equal(l->max_rows, 5);
  }
  assert_int_equal(fetches, 1);
  td_table_release(t2);
  td_table_release(t);
  fixture_close(&f);
}

/* ---- the cache budget ---- */

static void test_cache_budget(void **state) {
  (void)state;
  td_error err;
  fixture f = {0};
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 100;
  o.cache_bytes = 8 * 1024; /* ~9 pages of int64 */
  td_table *t = open_big(&f, 4, 1000, &o);
  int64_t cols[2] = {td_table_column_index(t, "a"), td_table_column_index(t, "s")};
  for (int pass = 0; pass < 2; pass++) {
    struct ArrowArrayStream st;
    TD_ASSERT_OK(td_table_stream(t, cols, 2, &st, &err), &err);
    int64_t row = 0;
    for (;;) {
      struct ArrowArray b;
      assert_int_equal(st.get_next(&st, &b), 0);
      if (!b.release) break;
      td_counters c;
      td_service_counters(f.svc, &c);
      assert_true(c.cache_bytes <= o.cache_bytes);
      const int64_t *a = (const int64_t *)b.children[0]->buffers[1] + b.children[0]->offset;
      for (int64_t i = 0; i < b.length; i++, row++) assert_int_equal(a[i], (row / 1000) * 1000000 + row % 1000);
      b.release(&b);
    }
    assert_int_equal(row, 4000);
    st.release(&st);
  }
  td_counters c;
  td_service_counters(f.svc, &c);
  assert_true(c.cache_evictions > 0);
  assert_true(c.cache_bytes <= o.cache_bytes);
  /* Evicted pages are fetched again: two passes of 40 pages x 2 columns. */
  assert_int_equal(c.calls[TD_METHOD_COLUMN_VALUES], 160);
  td_table_release(t);
  fixture_close(&f);
}

/* Scan resistance: a full scan of 4x the budget neither fills the cache nor
 * evicts a page that was read repeatedly before it. */
static void test_cache_scan_resistant(void **state) {
  (void)state;
  td_error err;
  fixture f = {0};
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 100;
  o.cache_bytes = 64 * 1024; /* 4 locations x 8000 int64 rows: 4x the budget */
  td_table *t = open_big(&f, 4, 8000, &o);
  int64_t col = td_table_column_index(t, "a");
  struct ArrowArray out;
  for (int i = 0; i < 3; i++) { /* the hot page: read three times */
    TD_ASSERT_OK(td_table_read(t, &col, 1, 0, 100, &out, &err), &err);
    out.release(&out);
  }
  td_counters c;
  td_service_counters(f.svc, &c);
  assert_int_equal(c.calls[TD_METHOD_COLUMN_VALUES], 1);
  int64_t rows, sum, max_bytes;
  scan_column(t, f.svc, col, &rows, &sum, &max_bytes);
  assert_int_equal(rows, 32000);
  assert_int_equal(sum, 6000000LL * 8000 + 4 * (8000LL * 7999 / 2)); /* a = l * 10^6 + row in location l */
  /* Within budget throughout, and the scan's pages held at most the
   * probationary share (1/16) beside the hot page. */
  if (max_bytes > o.cache_bytes) fail_msg("cache held %lld bytes, budget %lld", (long long)max_bytes, (long long)o.cache_bytes);
  td_service_counters(f.svc, &c);
  if (c.cache_bytes > o.cache_bytes / 16 + 2048)
    fail_msg("after the scan the cache holds %lld bytes", (long long)c.cache_bytes);
  int64_t calls = c.calls[TD_METHOD_COLUMN_VALUES];
  assert_int_equal(calls, 1 + 320 - 1); /* every page once; the hot one was a hit */
  TD_ASSERT_OK(td_table_read(t, &col, 1, 0, 100, &out, &err), &err);
  assert_int_equal(((const int64_t *)out.children[0]->buffers[1])[5], 5);
  out.release(&out);
  td_service_counters(f.svc, &c);
  assert_int_equal(c.calls[TD_METHOD_COLUMN_VALUES], calls); /* still cached */
  /* A second scan soon after: its pages were evicted from probation
   * recently (ghosts), so they are read into the main segment and a third
   * scan is served from the cache. */
  for (int pass = 0; pass < 2; pass++) {
    TD_ASSERT_OK(td_table_read(t, &col, 1, 28000, 32000, &out, &err), &err);
    out.release(&out);
    td_service_counters(f.svc, &c);
    if (pass == 0) assert_true(c.calls[TD_METHOD_COLUMN_VALUES] - calls <= 40);
    else assert_int_equal(c.calls[TD_METHOD_COLUMN_VALUES], calls); /* the third scan: all hits */
    calls = c.calls[TD_METHOD_COLUMN_VALUES];
  }
  assert_true(c.cache_bytes <= o.cache_bytes);
  td_table_release(t);
  fixture_close(&f);
}

/* With the default budget (1 GiB), a one-pass scan keeps at most the
 * probationary cap (1 MiB, TD_PAGE_PROBATION_MAX) of pages it read once,
 * during the scan and after it: its memory is what it reads at once. */
static void test_cache_probation_cap(void **state) {
  (void)state;
  fixture f = {0};
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 1024; /* 8 KiB pages; 4 x 131,072 int64 rows: 4 MiB */
  td_table *t = open_big(&f, 4, 131072, &o);
  int64_t col = td_table_column_index(t, "a"), rows, sum, max_bytes;
  scan_column(t, f.svc, col, &rows, &sum, &max_bytes);
  assert_int_equal(rows, 4 * 131072);
  assert_int_equal(sum, 6000000LL * 131072 + 4 * (131072LL * 131071 / 2)); /* a = l * 10^6 + row in location l */
  td_counters c;
  td_service_counters(f.svc, &c);
  assert_int_equal(c.calls[TD_METHOD_COLUMN_VALUES], 4 * 128);
  const int64_t cap = (int64_t)1 << 20, page = 1024 * 8;
  if (max_bytes > cap + page) fail_msg("a one-pass scan held %lld bytes of pages, cap %lld", (long long)max_bytes, (long long)cap);
  if (c.cache_bytes > cap + page) fail_msg("after the scan the cache holds %lld bytes", (long long)c.cache_bytes);
  assert_true(c.cache_evictions >= 4 * 128 - (cap + page) / page);
  td_table_release(t);
  fixture_close(&f);
}

/* ---- partitioned table and predicates ---- */

static bool only_part_1(void *ctx, const td_location_key *k) {
  (void)ctx;
  const td_value *v = td_location_key_find(k, "Part");
  return v && !v->is_null && v->v.i == 1;
}

static void test_partitioned_and_predicate(void **state) {
  (void)state;
  td_error err;
  fixture f = {0};
  fixture_open(&f, make_big(3, 5), NULL);
  TD_ASSERT_OK(td_table_key_new("big", &f.key, &err), &err);
  td_partitioned_table *pt;
  TD_ASSERT_OK(td_make_partitioned_table(f.svc, f.key, NULL, &pt, &err), &err);
  assert_int_equal(td_partitioned_table_size(pt), 3);
  assert_int_equal(td_proxy_count(&f.proxy, TD_METHOD_TABLE_LOCATION_SIZE, NULL), 0);
  struct ArrowSchema sch;
  struct ArrowArray rows;
  TD_ASSERT_OK(td_partitioned_table_read(pt, &sch, &rows, &err), &err);
  assert_int_equal(rows.length, 3);
  assert_string_equal(sch.children[0]->name, "Part");
  assert_string_equal(sch.children[1]->name, "__location");
  for (int i = 0; i < 3; i++) assert_int_equal(value_at(&rows, &sch, 0, i).v.i, i);
  td_value loc = value_at(&rows, &sch, 1, 2);
  assert_memory_equal(loc.v.s.ptr, "Part=2", 6);
  rows.release(&rows);
  sch.release(&sch);
  td_table *c1;
  TD_ASSERT_OK(td_partitioned_table_constituent(pt, 1, &c1, &err), &err);
  assert_int_equal(td_table_size(c1), 5);
  assert_int_equal(td_proxy_count(&f.proxy, TD_METHOD_TABLE_LOCATION_SIZE, NULL), 1);
  assert_int_equal(td_proxy_count(&f.proxy, TD_METHOD_TABLE_LOCATION_SIZE, "Part=1"), 1);
  struct ArrowArray one;
  TD_ASSERT_OK(td_table_read(c1, NULL, 0, 0, 5, &one, &err), &err);
  assert_int_equal(((const int64_t *)one.children[1]->buffers[1])[4], 1000004);
  one.release(&one);
  td_table *again;
  TD_ASSERT_OK(td_partitioned_table_constituent(pt, 1, &again, &err), &err);
  assert_ptr_equal(again, c1);
  td_table_release(again);
  td_table_release(c1);
  assert_int_equal(td_partitioned_table_constituent(pt, 3, &again, &err), TD_ERANGE);
  td_partitioned_table_release(pt);

  /* A predicate prunes before any size or data call. */
  td_table_options opts = {only_part_1, NULL, false};
  td_table *t;
  TD_ASSERT_OK(td_make_table(f.svc, f.key, &opts, &t, &err), &err);
  assert_int_equal(td_table_size(t), 5);
  struct ArrowArray all;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, 5, &all, &err), &err);
  all.release(&all);
  assert_int_equal(td_proxy_count(&f.proxy, TD_METHOD_TABLE_LOCATION_SIZE, "Part=0"), 0);
  assert_int_equal(td_proxy_count(&f.proxy, TD_METHOD_TABLE_LOCATION_SIZE, "Part=2"), 0);
  assert_int_equal(td_proxy_count(&f.proxy, TD_METHOD_COLUMN_VALUES, "Part=0"), 0);
  assert_int_equal(td_proxy_count(&f.proxy, TD_METHOD_COLUMN_VALUES, "Part=2"), 0);
  /* Part=1's two columns were fetched once, by the constituent above; the
   * pruned table reads them from the shared cache. */
  assert_int_equal(td_proxy_count(&f.proxy, TD_METHOD_COLUMN_VALUES, "Part=1"), 2);
  td_table_release(t);
  fixture_close(&f);
}

/* ---- threads: many readers, one fetch per page ---- */

typedef struct reader_arg {
  td_table *t;
  int64_t sum;
  int rc;
} reader_arg;

static void *reader(void *p) {
  reader_arg *a = p;
  int64_t col = td_table_column_index(a->t, "a");
  struct ArrowArrayStream st;
  td_error err;
  a->rc = td_table_stream(a->t, &col, 1, &st, &err);
  if (a->rc) return NULL;
  for (;;) {
    struct ArrowArray b;
    if ((a->rc = st.get_next(&st, &b)) != 0) break;
    if (!b.release) break;
    const int64_t *v = (const int64_t *)b.children[0]->buffers[1] + b.children[0]->offset;
    for (int64_t i = 0; i < b.length; i++) a->sum += v[i];
    b.release(&b);
  }
  st.release(&st);
  return NULL;
}

static void test_concurrent_readers(void **state) {
  (void)state;
  fixture f = {0};
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 64;
  td_table *t = open_big(&f, 4, 1000, &o);
  int64_t expect = 0;
  for (int l = 0; l < 4; l++)
    for (int r = 0; r < 1000; r++) expect += l * 1000000LL + r;
  enum { N = 8 };
  pthread_t th[N];
  reader_arg args[N];
  for (int i = 0; i < N; i++) {
    args[i] = (reader_arg){t, 0, 0};
    pthread_create(&th[i], NULL, reader, &args[i]);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].rc, 0);
    assert_int_equal(args[i].sum, expect);
  }
  td_counters c;
  td_service_counters(f.svc, &c);
  /* 4 locations x 16 pages: one backend call per page, whatever the race. */
  assert_int_equal(c.calls[TD_METHOD_COLUMN_VALUES], 64);
  td_table_release(t);
  fixture_close(&f);
}

/* ---- stream shape ---- */

static void test_stream_batches(void **state) {
  (void)state;
  td_error err;
  fixture f = {0};
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = 4;
  td_table *t = open_big(&f, 2, 6, &o);
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_table_stream(t, NULL, 0, &st, &err), &err);
  struct ArrowSchema sch;
  assert_int_equal(st.get_schema(&st, &sch), 0);
  assert_int_equal(sch.n_children, 3);
  int64_t lengths[8], n = 0;
  for (;;) {
    struct ArrowArray b;
    assert_int_equal(st.get_next(&st, &b), 0);
    if (!b.release) break;
    lengths[n++] = b.length;
    td_value part = value_at(&b, &sch, 0, 0);
    td_value s = value_at(&b, &sch, 2, b.length - 1);
    assert_false(part.is_null);
    assert_true(s.v.s.len >= 2);
    b.release(&b);
  }
  /* pages of 4 rows per location of 6: 4 + 2, 4 + 2 */
  assert_int_equal(n, 4);
  assert_int_equal(lengths[0], 4);
  assert_int_equal(lengths[1], 2);
  assert_int_equal(lengths[3], 2);
  sch.release(&sch);
  st.release(&st);
  td_table_release(t);
  fixture_close(&f);
}

/* ---- unpartitioned tables and keys from Arrow ---- */

static void test_unpartitioned_and_arrow_keys(void **state) {
  (void)state;
  td_error err;
  td_memory_backend *mb;
  TD_ASSERT_OK(td_memory_backend_new(&mb, &err), &err);
  const char *name = "v";
  td_type_id type = TD_TYPE_INT64;
  struct ArrowSchema ds;
  TD_ASSERT_OK(td_schema_make(1, &name, &type, NULL, &ds, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(mb, "u", &ds, NULL, &err), &err);
  ds.release(&ds);
  /* builders: append_value with values and nulls, length */
  td_builder *b;
  TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &b, &err), &err);
  td_value vals[3] = {td_value_int(TD_TYPE_INT64, 7), td_value_null(TD_TYPE_INT64), td_value_int(TD_TYPE_INT64, -3)};
  for (int i = 0; i < 3; i++) TD_ASSERT_OK(td_builder_append_value(b, &vals[i], &err), &err);
  assert_int_equal(td_builder_length(b), 3);
  td_value s = td_value_str("x");
  assert_int_equal(td_builder_append_value(b, &s, &err), TD_ETYPE);
  struct ArrowArray col, batch;
  TD_ASSERT_OK(td_builder_finish(b, &col, &err), &err);
  assert_int_equal(td_builder_length(b), 0);
  td_builder_free(b);
  TD_ASSERT_OK(td_batch_make(1, &col, &batch, &err), &err);
  td_location_key *solo;
  TD_ASSERT_OK(td_location_key_standalone(&solo, &err), &err);
  assert_string_equal(td_location_key_identity(solo), "");
  assert_int_equal(td_location_key_partition_count(solo), 0);
  char text[64];
  td_location_key_format(solo, text, sizeof text);
  assert_string_equal(text, "(standalone)");
  TD_ASSERT_OK(td_memory_backend_add_location(mb, "u", solo, &batch, &err), &err);
  td_service *svc;
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(mb), NULL, &svc, &err), &err);
  td_table_key *key;
  TD_ASSERT_OK(td_table_key_new("u", &key, &err), &err);
  td_table *t;
  TD_ASSERT_OK(td_make_table(svc, key, NULL, &t, &err), &err);
  assert_int_equal(td_table_num_columns(t), 1);
  assert_false(td_table_column_is_partition(t, 0));
  struct ArrowArray all;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, 3, &all, &err), &err);
  const int64_t *v = all.children[0]->buffers[1];
  assert_int_equal(v[0], 7);
  assert_int_equal(v[2], -3);
  assert_int_equal(all.children[0]->null_count, 1);
  all.release(&all);
  td_table_release(t);
  td_table_key_release(key);

  /* A partitioned table's location without partition values is an error. */
  td_memory_backend *mb2;
  TD_ASSERT_OK(td_sample_create(&mb2, &err), &err);
  struct ArrowArray none;
  td_builder *bb;
  struct ArrowArray cols[11];
  static const td_type_id types[11] = {TD_TYPE_BOOL,  TD_TYPE_INT8,    TD_TYPE_UINT16, TD_TYPE_INT16,
                                       TD_TYPE_INT32, TD_TYPE_INT64,   TD_TYPE_INT64,  TD_TYPE_FLOAT32,
                                       TD_TYPE_FLOAT64, TD_TYPE_UTF8,  TD_TYPE_TIMESTAMP};
  for (int c = 0; c < 11; c++) {
    td_builder_new(types[c], &bb, NULL);
    td_builder_finish(bb, &cols[c], NULL);
    td_builder_free(bb);
  }
  TD_ASSERT_OK(td_batch_make(11, cols, &none, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_location(mb2, TD_SAMPLE_TABLE, solo, &none, &err), &err);
  td_service *svc2;
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(mb2), NULL, &svc2, &err), &err);
  TD_ASSERT_OK(td_table_key_new(TD_SAMPLE_TABLE, &key, &err), &err);
  assert_int_equal(td_make_table(svc2, key, NULL, &t, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "location '(standalone)' disagrees with location 'Ticker=");
  TD_ASSERT_CONTAINS(err.message, "partitioned by 2 columns but the location has no partition values");
  td_table_key_release(key);
  td_service_free(svc2);
  td_memory_backend_release(mb2);

  /* Partition values as a one-row Arrow struct equal the same values given
   * as scalars. */
  const char *pn[2] = {"Ticker", "Exchange"};
  td_type_id pt[2] = {TD_TYPE_UTF8, TD_TYPE_UTF8};
  struct ArrowSchema ps;
  struct ArrowArray pv[2], row;
  const char *strs[2] = {"GOOG", "NYSE"};
  for (int c = 0; c < 2; c++) {
    td_builder_new(TD_TYPE_UTF8, &bb, NULL);
    td_builder_append_str(bb, strs[c], -1, NULL);
    td_builder_finish(bb, &pv[c], NULL);
    td_builder_free(bb);
  }
  TD_ASSERT_OK(td_batch_make(2, pv, &row, &err), &err);
  TD_ASSERT_OK(td_schema_make(2, pn, pt, NULL, &ps, &err), &err);
  td_location_key *from_arrow, *from_values;
  TD_ASSERT_OK(td_location_key_from_arrow("GOOG:NYSE", &ps, &row, &from_arrow, &err), &err);
  assert_null(ps.release); /* taken */
  assert_null(row.release);
  TD_ASSERT_OK(td_sample_key("GOOG", "NYSE", &from_values, &err), &err);
  assert_true(td_location_key_equal(from_arrow, from_values));
  assert_int_equal(td_location_key_hash(from_arrow), td_location_key_hash(from_values));
  assert_int_equal(td_location_key_compare(from_arrow, from_values), 0);
  assert_true(td_location_key_compare(solo, from_values) < 0); /* fewer values first */
  td_location_key_release(from_arrow);
  td_location_key_release(from_values);
  /* Two rows is a contract error; the inputs are taken anyway. */
  for (int c = 0; c < 2; c++) {
    td_builder_new(TD_TYPE_UTF8, &bb, NULL);
    td_builder_append_str(bb, "a", -1, NULL);
    td_builder_append_str(bb, "b", -1, NULL);
    td_builder_finish(bb, &pv[c], NULL);
    td_builder_free(bb);
  }
  TD_ASSERT_OK(td_batch_make(2, pv, &row, &err), &err);
  TD_ASSERT_OK(td_schema_make(2, pn, pt, NULL, &ps, &err), &err);
  assert_int_equal(td_location_key_from_arrow(NULL, &ps, &row, &from_arrow, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "must be one row with 2 columns, found 2 rows");
  assert_null(ps.release);
  assert_null(row.release);
  /* No values at all: a key without partition values. */
  TD_ASSERT_OK(td_location_key_from_arrow("id", NULL, NULL, &from_arrow, &err), &err);
  assert_int_equal(td_location_key_partition_count(from_arrow), 0);
  assert_string_equal(td_location_key_identity(from_arrow), "id");
  td_location_key_release(from_arrow);
  /* Table keys: equal names are equal keys. */
  td_table_key *k1, *k2;
  TD_ASSERT_OK(td_table_key_new("same", &k1, &err), &err);
  TD_ASSERT_OK(td_table_key_new("same", &k2, &err), &err);
  assert_true(td_table_key_equal(k1, k2));
  assert_int_equal(td_table_key_hash(k1), td_table_key_hash(k2));
  td_table_key_release(k1);
  td_table_key_release(k2);
  td_location_key_release(solo);
  td_service_free(svc);
  td_memory_backend_release(mb);
}

/* ---- allocation failures ---- */

extern int64_t td__alloc_fail_after(int64_t n);

static void test_alloc_failures(void **state) {
  (void)state;
  for (int64_t n = 0; n < 2000; n++) {
    td_error err;
    td_memory_backend *mb = NULL;
    td_service *svc = NULL;
    td_table_key *key = NULL;
    td_table *t = NULL;
    struct ArrowArray all = {0};
    td__alloc_fail_after(n);
    int rc = td_sample_create(&mb, &err);
    if (rc == TD_OK) rc = td_service_new(td_memory_backend_backend(mb), NULL, &svc, &err);
    if (rc == TD_OK) rc = td_table_key_new("sample", &key, &err);
    if (rc == TD_OK) rc = td_make_table(svc, key, NULL, &t, &err);
    if (rc == TD_OK) rc = td_table_read(t, NULL, 0, 0, 6, &all, &err);
    td__alloc_fail_after(-1);
    /* Out of memory inside the backend arrives as its failure answer. */
    if (rc == TD_EBACKEND) TD_ASSERT_CONTAINS(err.message, "out of memory");
    else if (rc != TD_OK) {
      if (rc != TD_ENOMEM) fail_msg("allocation %lld: %s: %s", (long long)n, td_status_name(rc), err.message);
    }
    if (all.release) all.release(&all);
    td_table_release(t);
    td_table_key_release(key);
    td_service_free(svc);
    td_memory_backend_release(mb);
    if (rc == TD_OK) return;
  }
  fail_msg("never succeeded");
}

/* The arguments of a table-function source (postgres(...), kafka(...)):
 * quotes undoubled, named ones as "opt=v", and every malformed form refused
 * with the usage and the text found. */
static void test_call_args(void **state) {
  (void)state;
  td_error err;
  char **a;
  int n;
  TD_ASSERT_OK(td_call_args_split("f('a''b', '', x => 'it''s', y => '')", 2, "usage", &a, &n, &err), &err);
  assert_int_equal(n, 4);
  assert_string_equal(a[0], "a'b");
  assert_string_equal(a[1], "");
  assert_string_equal(a[2], "x=it's");
  assert_string_equal(a[3], "y=");
  td_free(a);
  const char *bad[] = {"f('a')", "f('a', 'b', 'c')", "f('a', x => 'v', 'b')", "f('a', 'b", "f('a', x)", "f('a', 'b') x", "f"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    a = (char **)&n;
    assert_int_equal(td_call_args_split(bad[i], 2, "f(): expected f('a', 'b')", &a, &n, &err), TD_EINVAL);
    assert_null(a);
    TD_ASSERT_CONTAINS(err.message, "f(): expected f('a', 'b'), found ");
    TD_ASSERT_CONTAINS(err.message, bad[i]);
  }
}

/* td_grow_block (and td_grow_block_probed): contents kept and new bytes
 * zero while growing from a heap block past 1 MiB into a mapping and on
 * (remapped), after a shrink and a regrow too; a failed growth leaves the
 * block as it was. */
static void grow_block_case(int (*grow)(void **, size_t)) {
  void *p = NULL;
  size_t size = 0;
  for (size_t next = 24; next <= ((size_t)8 << 20); next = next * 2 + 40) {
    assert_int_equal(grow(&p, next), 0);
    const unsigned char *b = p;
    for (size_t i = 0; i < size; i++)
      if (b[i] != (unsigned char)(i * 7 + 1)) fail_msg("byte %zu of %zu lost growing to %zu", i, size, next);
    for (size_t i = size; i < next; i++)
      if (b[i]) fail_msg("new byte %zu of %zu not zero", i, next);
    for (size_t i = size; i < next; i++) ((unsigned char *)p)[i] = (unsigned char)(i * 7 + 1);
    size = next;
  }
  assert_int_equal(grow(&p, 3 << 20), 0); /* shrink, then regrow: the cut bytes come back zero */
  assert_int_equal(grow(&p, 5 << 20), 0);
  const unsigned char *b = p;
  for (size_t i = 0; i < (3 << 20); i++)
    if (b[i] != (unsigned char)(i * 7 + 1)) fail_msg("byte %zu lost shrinking", i);
  for (size_t i = 3 << 20; i < (5 << 20); i++)
    if (b[i]) fail_msg("byte %zu not zero after a shrink and a regrow", i);
  void *before = p;
  td__alloc_fail_after(0);
  assert_int_not_equal(grow(&p, 9 << 20), 0);
  td__alloc_fail_after(-1);
  assert_ptr_equal(p, before);
  assert_int_equal(((unsigned char *)p)[12345], (unsigned char)(12345 * 7 + 1));
  td_free_block(p);
  td_free_block(NULL);
  void *q = NULL; /* a heap block stays one below 1 MiB */
  assert_int_equal(grow(&q, 100), 0);
  assert_int_equal(grow(&q, 1000), 0);
  td_free_block(q);
}

/* How many of the pages of [p, p + n) are resident (mincore). */
static size_t resident_pages(const void *p, size_t n) {
  const size_t page = 4096;
  uintptr_t lo = ((uintptr_t)p + page - 1) / page * page, hi = ((uintptr_t)p + n) / page * page;
  size_t np = hi > lo ? (hi - lo) / page : 0, in = 0;
  unsigned char *v = malloc(np + 1);
  assert_non_null(v);
  assert_int_equal(mincore((void *)lo, hi - lo, v), 0);
  for (size_t i = 0; i < np; i++) in += v[i] & 1;
  free(v);
  return in;
}

static void test_grow_block(void **state) {
  (void)state;
  grow_block_case(td_grow_block);
  grow_block_case(td_grow_block_probed);
  /* a probed block's new pages are written when it grows, an ordinary one's
   * mapped when first touched (a read first would map the zero page, and the write
   * after it interrupt every other core running the process) */
  void *p = NULL, *q = NULL;
  assert_int_equal(td_grow_block(&p, 4 << 20), 0);
  assert_int_equal(td_grow_block_probed(&q, 4 << 20), 0);
  assert_int_equal(td_grow_block_probed(&q, 8 << 20), 0);
  assert_true(resident_pages(p, 4 << 20) < 16);
  assert_int_equal(resident_pages(q, 8 << 20), (8 << 20) / 4096 - 1);
  td_free_block(p);
  td_free_block(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grow_block),
      cmocka_unit_test(test_seed_example),        cmocka_unit_test(test_laziness),
      cmocka_unit_test(test_cache_budget),        cmocka_unit_test(test_cache_scan_resistant), cmocka_unit_test(test_cache_probation_cap),        cmocka_unit_test(test_partitioned_and_predicate),
      cmocka_unit_test(test_concurrent_readers),  cmocka_unit_test(test_stream_batches),
      cmocka_unit_test(test_unpartitioned_and_arrow_keys), cmocka_unit_test(test_alloc_failures), cmocka_unit_test(test_call_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
