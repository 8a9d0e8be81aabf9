/*
 * tests/core/test_acceptance_contract.c - the contract (spec sections 2-8)
 * checked through the public headers only, as an outside acceptance suite
 * would: a backend written here ("probe"), answering synchronously, whose
 * locations, sizes and answers each test chooses; NULL arguments; the
 * release and move rules of the Arrow C Data and Stream structs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tabledata.h"
#include "test.h"

/* ---- the probe backend: one table "t", partition column P (utf8, unless
 * no_partitions), data column x int64 = 1000 * location index + row (or no
 * data column when zero_columns) ---- */

#define PROBE_MAX 16

typedef struct probe {
  int n_locs;
  td_location_key *keys[PROBE_MAX]; /* announced in this order */
  int64_t sizes[PROBE_MAX];
  int64_t key_index[PROBE_MAX];     /* value base for keys[i] */
  bool no_partitions, zero_columns;
  int n_part;                       /* > 0: these partition columns instead of P utf8 */
  const char *part_names[3];
  td_type_id part_types[3];
  td_type_id repeat_p;              /* != NONE: the data schema repeats P with this type */
  const char *values_failure;       /* answer column_values with this failure */
  int64_t values_extra_rows;        /* answer this many rows more than max */
  int values_corrupt;               /* answer a hand-made broken array (see p_values) */
  int schema_corrupt;               /* answer a hand-made broken schema (see answer_bad_schema) */
  int values_schema_released, values_array_released;
  bool values_moved_schema_cleared, values_moved_array_cleared;
  int64_t answer_size; /* when != INT64_MIN, every size answer */
  td_request loc_sub;
  td_request size_subs[PROBE_MAX];
  int n_size_subs;
  int unsubscribes;
} probe;

static probe *g_probe; /* for the release counters */

static void (*orig_schema_release)(struct ArrowSchema *);
static void (*orig_array_release)(struct ArrowArray *);
static void count_schema_release(struct ArrowSchema *s);
static void count_array_release(struct ArrowArray *a);

static void noop_schema_release(struct ArrowSchema *s) { s->release = NULL; }

/* A data schema broken in way `how`: 1 no format, 2 a struct with one child
 * but no children array, 3 a NULL child, 4 a list column (nested, not
 * carried), 5 a column without a name, 6 a struct child itself released. */
static void answer_bad_schema(int how, td_request req) {
  static struct ArrowSchema child, *kids[1];
  memset(&child, 0, sizeof child);
  child.format = how == 4 ? "+l" : "l";
  child.name = how == 5 ? NULL : "x";
  child.flags = ARROW_FLAG_NULLABLE;
  child.release = how == 6 ? NULL : noop_schema_release;
  static struct ArrowSchema item;
  static struct ArrowSchema *items[1];
  memset(&item, 0, sizeof item);
  item.format = "l";
  item.name = "item";
  item.release = noop_schema_release;
  items[0] = &item;
  if (how == 4) {
    child.n_children = 1;
    child.children = items;
  }
  kids[0] = how == 3 ? NULL : &child;
  struct ArrowSchema top = {0};
  top.format = how == 1 ? NULL : "+s";
  top.name = "";
  top.n_children = 1;
  top.children = how == 2 ? NULL : kids;
  top.release = noop_schema_release;
  td_answer_schema(req, &top, NULL, NULL);
}

static void p_schema(void *self, const td_table_key *t, td_request req) {
  probe *p = self;
  (void)t;
  if (p->schema_corrupt) {
    answer_bad_schema(p->schema_corrupt, req);
    return;
  }
  struct ArrowSchema data, part;
  const char *dn[2] = {"x", "P"};
  td_type_id dt[2] = {TD_TYPE_INT64, p->repeat_p};
  const char *pn[1] = {"P"};
  td_type_id pt[1] = {TD_TYPE_UTF8};
  int64_t nd = p->zero_columns ? 0 : p->repeat_p != TD_TYPE_NONE ? 2 : 1;
  assert_int_equal(td_schema_make(nd, dn, dt, NULL, &data, NULL), TD_OK);
  if (p->n_part > 0) assert_int_equal(td_schema_make(p->n_part, p->part_names, p->part_types, NULL, &part, NULL), TD_OK);
  else if (!p->no_partitions) assert_int_equal(td_schema_make(1, pn, pt, NULL, &part, NULL), TD_OK);
  td_answer_schema(req, &data, p->no_partitions ? NULL : &part, NULL);
}

static void p_locations(void *self, const td_table_key *t, td_request req) {
  probe *p = self;
  (void)t;
  for (int i = 0; i < p->n_locs; i++) td_answer_location(req, p->keys[i], NULL);
  td_answer_success(req, NULL);
}

static int p_find(probe *p, const td_location_key *k) {
  for (int i = 0; i < p->n_locs; i++)
    if (td_location_key_equal(p->keys[i], k)) return i;
  return -1;
}

static void p_size(void *self, const td_table_key *t, const td_location_key *loc, td_request req) {
  probe *p = self;
  (void)t;
  int i = p_find(p, loc);
  assert_true(i >= 0);
  td_answer_size(req, p->answer_size != INT64_MIN ? p->answer_size : p->sizes[i], NULL);
}

static int g_corrupt_released;
static void corrupt_release(struct ArrowArray *a) {
  g_corrupt_released++;
  a->release = NULL;
}

/* An int64 column of n rows broken in way `how`: 1 no buffers array, 2 a
 * negative length, 3 one buffer, 4 a NULL values buffer, 5 null_count
 * larger than the rows. */
static void answer_corrupt(int how, td_request req, int64_t n) {
  static int64_t values[64];
  static const void *bufs[2];
  bufs[0] = NULL;
  bufs[1] = how == 4 ? NULL : values;
  struct ArrowArray arr = {0};
  arr.length = how == 2 ? -n : n;
  arr.null_count = how == 5 ? n + 5 : 0;
  arr.n_buffers = how == 3 ? 1 : 2;
  arr.buffers = how == 1 ? NULL : bufs;
  arr.release = corrupt_release;
  struct ArrowSchema sch;
  assert_int_equal(td_field_schema_make("x", TD_TYPE_INT64, NULL, &sch, NULL), TD_OK);
  td_answer_values(req, &sch, &arr, NULL);
}

static void p_values(void *self, const td_table_key *t, const td_location_key *loc, const char *col,
                     int64_t offset, int64_t min_rows, int64_t max_rows, td_request req) {
  probe *p = self;
  (void)t;
  (void)min_rows;
  assert_string_equal(col, "x");
  if (p->values_failure) {
    td_answer_failure(req, p->values_failure, NULL);
    return;
  }
  int i = p_find(p, loc);
  assert_true(i >= 0);
  if (p->values_corrupt) {
    answer_corrupt(p->values_corrupt, req, min_rows);
    return;
  }
  td_builder *b;
  assert_int_equal(td_builder_new(TD_TYPE_INT64, &b, NULL), TD_OK);
  int64_t n = max_rows + p->values_extra_rows;
  if (offset + n > p->sizes[i] && !p->values_extra_rows) n = p->sizes[i] - offset;
  for (int64_t r = 0; r < n; r++) td_builder_append_int(b, p->key_index[i] * 1000 + offset + r, NULL);
  struct ArrowArray arr;
  struct ArrowSchema sch;
  assert_int_equal(td_builder_finish(b, &arr, NULL), TD_OK);
  td_builder_free(b);
  assert_int_equal(td_field_schema_make("x", TD_TYPE_INT64, NULL, &sch, NULL), TD_OK);
  /* Count the releases: the callbacks are wrapped (answers come one at a
   * time, synchronously, so one saved callback of each kind suffices). */
  orig_schema_release = sch.release;
  orig_array_release = arr.release;
  sch.release = count_schema_release;
  arr.release = count_array_release;
  td_answer_values(req, &sch, &arr, NULL);
  p->values_moved_schema_cleared = sch.release == NULL;
  p->values_moved_array_cleared = arr.release == NULL;
}

static void p_sub_locations(void *self, const td_table_key *t, td_request sub) {
  probe *p = self;
  (void)t;
  p->loc_sub = sub;
  for (int i = 0; i < p->n_locs; i++) td_answer_location(sub, p->keys[i], NULL);
  td_answer_success(sub, NULL);
}

static void p_sub_size(void *self, const td_table_key *t, const td_location_key *loc, td_request sub) {
  probe *p = self;
  (void)t;
  int i = p_find(p, loc);
  assert_true(i >= 0);
  p->size_subs[i] = sub;
  p->n_size_subs++;
  td_answer_size(sub, p->sizes[i], NULL);
  td_answer_success(sub, NULL);
}

static void p_unsub(void *self, td_request sub) {
  probe *p = self;
  (void)sub;
  p->unsubscribes++;
}

static const td_backend_vtable probe_vt = {p_schema, p_locations, p_size, p_values, p_sub_locations,
                                           p_sub_size, p_unsub, NULL, NULL, NULL};

static void count_schema_release(struct ArrowSchema *s) {
  g_probe->values_schema_released++;
  s->release = orig_schema_release;
  s->release(s);
}
static void count_array_release(struct ArrowArray *a) {
  g_probe->values_array_released++;
  a->release = orig_array_release;
  a->release(a);
}

static td_location_key *pkey(const char *v) {
  const char *names[1] = {"P"};
  td_value val = v ? td_value_str(v) : td_value_null(TD_TYPE_UTF8);
  td_location_key *k;
  td_error err;
  TD_ASSERT_OK(td_location_key_new(NULL, 1, names, &val, &k, &err), &err);
  return k;
}

static void probe_add(probe *p, const char *v, int64_t index, int64_t size) {
  p->keys[p->n_locs] = pkey(v);
  p->key_index[p->n_locs] = index;
  p->sizes[p->n_locs] = size;
  p->n_locs++;
}

typedef struct env {
  probe p;
  td_service *svc;
  td_table_key *key;
  int reports;
  char last_report[TD_ERROR_MESSAGE_SIZE];
} env;

static void on_error(void *ctx, int code, const char *msg) {
  env *e = ctx;
  (void)code;
  e->reports++;
  snprintf(e->last_report, sizeof e->last_report, "%s", msg);
}

static void env_init(env *e) {
  memset(e, 0, sizeof *e);
  e->p.answer_size = INT64_MIN;
  g_probe = &e->p;
}

static void env_open(env *e, int64_t page_size) {
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = page_size;
  o.request_timeout_ms = 5000;
  o.update_period_ms = 3600 * 1000;
  o.on_error = on_error;
  o.on_error_ctx = e;
  td_backend b = {&probe_vt, &e->p};
  td_error err;
  TD_ASSERT_OK(td_service_new(b, &o, &e->svc, &err), &err);
  TD_ASSERT_OK(td_table_key_new("t", &e->key, &err), &err);
}

static void env_close(env *e) {
  td_table_key_release(e->key);
  td_service_free(e->svc);
  for (int i = 0; i < e->p.n_locs; i++) td_location_key_release(e->p.keys[i]);
}

/* td_make_table (static) must fail with `code`; err gets the message. */
static void make_fails(env *e, int code, td_error *err) {
  td_error_clear(err);
  td_table *t = NULL;
  int rc = td_make_table(e->svc, e->key, NULL, &t, err);
  if (rc != code) fail_msg("expected %s, got %s: %s", td_status_name(code), td_status_name(rc), err->message);
  assert_null(t);
}

static int64_t x_at(td_table *t, int64_t row) {
  td_error err;
  int64_t col = td_table_column_index(t, "x");
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, &col, 1, row, row + 1, &out, &err), &err);
  int64_t v = ((const int64_t *)out.children[0]->buffers[1])[out.children[0]->offset];
  out.release(&out);
  return v;
}

/* ---- section 2/4: duplicates and ordering of a static table ---- */

static void test_static_order_duplicates_nulls(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "c", 3, 1);
  probe_add(&e.p, "a", 1, 1);
  probe_add(&e.p, NULL, 0, 1);
  probe_add(&e.p, "b", 2, 1);
  probe_add(&e.p, "a", 1, 1); /* a duplicate: ignored */
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  assert_int_equal(td_table_location_count(t), 4);
  assert_int_equal(td_table_size(t), 4);
  /* Location-key order, nulls first. */
  for (int64_t i = 0; i < 4; i++) assert_int_equal(x_at(t, i), i * 1000);
  const td_value *v0 = td_location_key_find(td_table_location(t, 0), "P");
  assert_non_null(v0);
  assert_true(v0->is_null);
  td_table_release(t);
  env_close(&e);
}

/* ---- section 4: sizes ---- */

static void test_negative_size_is_error(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "a", 0, 4);
  e.p.answer_size = -5;
  env_open(&e, 8);
  td_error err;
  make_fails(&e, TD_ECONTRACT, &err);
  TD_ASSERT_CONTAINS(err.message, "-5");
  TD_ASSERT_CONTAINS(err.message, "P=a");
  env_close(&e);
}

static void test_size_past_row_bits_is_range(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "a", 0, 4);
  e.p.answer_size = TD_MAX_LOCATION_ROWS + 1;
  env_open(&e, 8);
  td_error err;
  make_fails(&e, TD_ERANGE, &err);
  TD_ASSERT_CONTAINS(err.message, "P=a");
  env_close(&e);
}

/* A location of size 0 exists but has no rows; a table of only empty
 * locations reads and streams as empty. */
static void test_empty_locations(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "a", 0, 0);
  probe_add(&e.p, "b", 1, 3);
  probe_add(&e.p, "c", 2, 0);
  env_open(&e, 2);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  assert_int_equal(td_table_location_count(t), 3);
  assert_int_equal(td_table_size(t), 3);
  assert_int_equal(x_at(t, 0), 1000);
  assert_int_equal(td_table_row_key(t, 0), (int64_t)1 << 43);
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 3, 3, &out, &err), &err);
  assert_int_equal(out.length, 0);
  assert_int_equal(out.n_children, 2);
  out.release(&out);
  struct ArrowArrayStream s;
  TD_ASSERT_OK(td_table_stream(t, NULL, 0, &s, &err), &err);
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray b;
    assert_int_equal(s.get_next(&s, &b), 0);
    if (!b.release) break;
    rows += b.length;
    b.release(&b);
  }
  assert_int_equal(rows, 3);
  s.release(&s);
  assert_null(s.release);
  td_table_release(t);
  env_close(&e);
}

/* A table without locations. */
static void test_no_locations(void **state) {
  (void)state;
  env e;
  env_init(&e);
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), 0);
  assert_int_equal(td_table_location_count(t), 0);
  assert_null(td_table_location(t, 0));
  assert_int_equal(td_table_row_key(t, 0), -1);
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, 0, &out, &err), &err);
  assert_int_equal(out.length, 0);
  out.release(&out);
  assert_int_equal(td_table_read(t, NULL, 0, 0, 1, &out, &err), TD_ERANGE);
  struct ArrowArrayStream s;
  TD_ASSERT_OK(td_table_stream(t, NULL, 0, &s, &err), &err);
  struct ArrowSchema sch;
  assert_int_equal(s.get_schema(&s, &sch), 0);
  assert_int_equal(sch.n_children, 2);
  sch.release(&sch);
  struct ArrowArray b;
  assert_int_equal(s.get_next(&s, &b), 0);
  assert_null(b.release);
  assert_int_equal(s.get_next(&s, &b), 0); /* again: still the end */
  assert_null(b.release);
  s.release(&s);
  td_table_release(t);
  env_close(&e);
}

/* Zero data columns and no partition columns. */
static void test_zero_columns(void **state) {
  (void)state;
  env e;
  env_init(&e);
  e.p.no_partitions = true;
  e.p.zero_columns = true;
  e.p.keys[0] = NULL;
  TD_ASSERT_OK(td_location_key_standalone(&e.p.keys[0], NULL), NULL);
  e.p.sizes[0] = 5;
  e.p.n_locs = 1;
  env_open(&e, 2);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  assert_int_equal(td_table_num_columns(t), 0);
  assert_int_equal(td_table_size(t), 5);
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 1, 4, &out, &err), &err);
  assert_int_equal(out.length, 3);
  assert_int_equal(out.n_children, 0);
  out.release(&out);
  struct ArrowArrayStream s;
  TD_ASSERT_OK(td_table_stream(t, NULL, 0, &s, &err), &err);
  int64_t rows = 0;
  for (int guard = 0; guard < 100; guard++) {
    struct ArrowArray b;
    assert_int_equal(s.get_next(&s, &b), 0);
    if (!b.release) break;
    rows += b.length;
    b.release(&b);
  }
  assert_int_equal(rows, 5);
  s.release(&s);
  td_table_release(t);
  env_close(&e);
}

/* ---- section 3: answers ---- */

static void test_backend_failure_message(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "a", 0, 4);
  e.p.values_failure = "disk on fire (errno 5)";
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  struct ArrowArray out;
  td_error_clear(&err);
  assert_int_equal(td_table_read(t, NULL, 0, 0, 2, &out, &err), TD_EBACKEND);
  TD_ASSERT_CONTAINS(err.message, "disk on fire (errno 5)");
  TD_ASSERT_CONTAINS(err.message, "column_values");
  TD_ASSERT_CONTAINS(err.message, "P=a");
  td_table_release(t);
  env_close(&e);
}

/* td_answer_values moves its structs: the caller's are marked released. */
static void test_answer_values_moves(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "a", 0, 4);
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  assert_int_equal(x_at(t, 2), 2);
  assert_true(e.p.values_moved_schema_cleared);
  assert_true(e.p.values_moved_array_cleared);
  td_table_release(t);
  /* Also when the answer is rejected (too many rows). */
  e.p.values_extra_rows = 3;
  e.p.values_moved_schema_cleared = e.p.values_moved_array_cleared = false;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  int64_t col = td_table_column_index(t, "x");
  struct ArrowArray out;
  /* Page 0 is in this service's cache: ask again through a fresh service. */
  td_table_release(t);
  td_table_key_release(e.key);
  td_service_free(e.svc);
  env_open(&e, 8);
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  td_error_clear(&err);
  assert_int_equal(td_table_read(t, &col, 1, 0, 2, &out, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "expected between 4 and 8 rows, got 11");
  assert_true(e.p.values_moved_schema_cleared);
  assert_true(e.p.values_moved_array_cleared);
  td_table_release(t);
  env_close(&e);
  /* Both answers' structs were released exactly once each. */
  assert_int_equal(e.p.values_schema_released, 2);
  assert_int_equal(e.p.values_array_released, 2);
}

/* ---- section 8: Arrow release rules on what the engine hands out ---- */

static void test_read_children_released_early(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "a", 0, 20);
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 3, 19, &out, &err), &err);
  /* Move child 1 (x) out, release child 0 early, then the parent; the moved
   * child stays valid after the parent and the table are gone. */
  struct ArrowArray x = *out.children[1];
  out.children[1]->release = NULL;
  out.children[0]->release(out.children[0]);
  assert_null(out.children[0]->release);
  out.release(&out);
  assert_null(out.release);
  td_table_release(t);
  assert_int_equal(x.length, 16);
  const int64_t *v = x.buffers[1];
  for (int64_t i = 0; i < 16; i++) assert_int_equal(v[x.offset + i], 3 + i);
  x.release(&x);
  env_close(&e);
}

static void test_stream_outlives_batches(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "a", 0, 20);
  probe_add(&e.p, "b", 1, 5);
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  struct ArrowArrayStream s;
  TD_ASSERT_OK(td_table_stream(t, NULL, 0, &s, &err), &err);
  td_table_release(t); /* the stream holds its own reference */
  struct ArrowArray batches[8];
  int n = 0;
  for (;;) {
    assert_true(n < 8);
    assert_int_equal(s.get_next(&s, &batches[n]), 0);
    if (!batches[n].release) break;
    n++;
  }
  assert_int_equal(n, 4); /* 8 + 8 + 4 rows of a, 5 of b */
  s.release(&s);
  assert_null(s.release);
  env_close(&e); /* service freed: batches must stay readable */
  int64_t expect[4] = {0, 8, 16, 1000};
  for (int i = 0; i < n; i++) {
    struct ArrowArray *x = batches[i].children[1];
    assert_int_equal(((const int64_t *)x->buffers[1])[x->offset], expect[i]);
    batches[i].release(&batches[i]);
  }
}

/* ---- very long partition values ---- */

/* A 100,000-byte partition value: the key formats in full (the length
 * returned is the whole text's, as snprintf), the location is served, and
 * an error naming it stays within the message size. */
static void test_long_partition_value(void **state) {
  (void)state;
  size_t n = 100000;
  char *big = malloc(n + 1);
  assert_non_null(big);
  memset(big, 'v', n);
  big[n] = '\0';
  big[n - 1] = 'Z';
  env e;
  env_init(&e);
  probe_add(&e.p, big, 0, 3);
  char small[16];
  size_t want = td_location_key_format(e.p.keys[0], small, sizeof small);
  assert_int_equal(want, 2 + n); /* "P=" + the value */
  assert_int_equal(strlen(small), sizeof small - 1);
  char *full = malloc(want + 1);
  assert_int_equal(td_location_key_format(e.p.keys[0], full, want + 1), want);
  assert_int_equal(full[want - 1], 'Z');
  assert_int_equal(td_location_key_format(e.p.keys[0], NULL, 0), want);
  free(full);
  e.p.values_failure = "no";
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), 3);
  struct ArrowArray out;
  assert_int_equal(td_table_read(t, NULL, 0, 0, 3, &out, &err), TD_EBACKEND);
  assert_true(strlen(err.message) < TD_ERROR_MESSAGE_SIZE);
  TD_ASSERT_CONTAINS(err.message, "column_values");
  e.p.values_failure = NULL;
  td_partitioned_table *pt;
  TD_ASSERT_OK(td_make_partitioned_table(e.svc, e.key, NULL, &pt, &err), &err);
  struct ArrowSchema ps;
  TD_ASSERT_OK(td_partitioned_table_read(pt, &ps, &out, &err), &err);
  td_value v;
  TD_ASSERT_OK(td_arrow_get_value(ps.children[0], out.children[0], 0, &v, &err), &err);
  assert_int_equal(v.v.s.len, n);
  TD_ASSERT_OK(td_arrow_get_value(ps.children[1], out.children[1], 0, &v, &err), &err);
  assert_int_equal(v.v.s.len, 2 + n); /* __location: the whole key */
  out.release(&out);
  ps.release(&ps);
  td_partitioned_table_release(pt);
  td_table_release(t);
  free(big);
  env_close(&e);
}

/* ---- section 6: what a refreshing table reports per cycle ---- */

typedef struct cycle_log {
  int calls, errors;
  td_table_update last;
  td_added_rows added[8];
  char new_names[8][32];
  char error[TD_ERROR_MESSAGE_SIZE];
} cycle_log;

static void log_cycle(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  cycle_log *l = ctx;
  (void)t;
  if (e) {
    l->errors++;
    snprintf(l->error, sizeof l->error, "%s", e->message);
    return;
  }
  l->calls++;
  l->last = *u;
  for (int64_t i = 0; i < u->n_added && i < 8; i++) l->added[i] = u->added[i];
  for (int64_t i = 0; i < u->n_new_locations && i < 8; i++)
    td_location_key_format(u->new_locations[i], l->new_names[i], sizeof l->new_names[i]);
}

static void flush(env *e) {
  td_error err;
  TD_ASSERT_OK(td_service_flush(e->svc, 10000, &err), &err);
}

/* One cycle: new locations (out of key order, one of size 0, one a
 * duplicate) and growth of an old one are reported together, new
 * locations in key order after the old ones; a size answered again
 * unchanged is no update; a smaller size fails the table and names the
 * location, the rows seen before staying readable. */
static void test_refreshing_cycle_report(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "m", 0, 2);
  env_open(&e, 4);
  td_error err;
  td_table_options o;
  td_table_options_init(&o);
  o.refreshing = true;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, &o, &t, &err), &err);
  cycle_log l;
  memset(&l, 0, sizeof l);
  TD_ASSERT_OK(td_table_add_listener(t, log_cycle, &l, NULL, &err), &err);
  assert_int_equal(td_table_size(t), 2);
  /* Batch: "z" (3 rows), "a" (empty), "a" again, and "m" grows to 5. */
  probe_add(&e.p, "z", 2, 3);
  probe_add(&e.p, "a", 1, 0);
  TD_ASSERT_OK(td_answer_location(e.p.loc_sub, e.p.keys[1], &err), &err);
  TD_ASSERT_OK(td_answer_location(e.p.loc_sub, e.p.keys[2], &err), &err);
  td_location_key *dup = pkey("a");
  td_answer_location(e.p.loc_sub, dup, NULL);
  td_location_key_release(dup);
  e.p.sizes[0] = 5;
  TD_ASSERT_OK(td_answer_size(e.p.size_subs[0], 5, &err), &err);
  flush(&e);
  assert_int_equal(l.calls, 1);
  assert_int_equal(l.errors, 0);
  assert_int_equal(l.last.version, 1);
  assert_int_equal(l.last.size_before, 2);
  assert_int_equal(l.last.size_after, 8);
  assert_int_equal(l.last.n_new_locations, 2);
  assert_string_equal(l.new_names[0], "P=a");
  assert_string_equal(l.new_names[1], "P=z");
  assert_int_equal(td_table_location_count(t), 3);
  assert_int_equal(l.last.n_added, 2); /* m: [2, 5), z: [0, 3); a added nothing */
  assert_int_equal(l.added[0].region, 0);
  assert_int_equal(l.added[0].first_row, 2);
  assert_int_equal(l.added[0].end_row, 5);
  assert_int_equal(l.added[1].region, 2);
  assert_int_equal(l.added[1].first_row, 0);
  assert_int_equal(l.added[1].end_row, 3);
  assert_false(l.last.replaced);
  assert_int_equal(l.last.n_removed, 0);
  for (int64_t i = 0; i < 5; i++) assert_int_equal(x_at(t, i), i);
  for (int64_t i = 0; i < 3; i++) assert_int_equal(x_at(t, 5 + i), 2000 + i);
  assert_int_equal(td_table_row_key(t, 5), (int64_t)2 << 43);
  /* The empty location grows: it keeps its region 1. */
  e.p.sizes[2] = 2; /* keys[2] is "a" */
  TD_ASSERT_OK(td_answer_size(e.p.size_subs[2], 2, &err), &err);
  /* The same size again: nothing to report for m. */
  TD_ASSERT_OK(td_answer_size(e.p.size_subs[0], 5, &err), &err);
  flush(&e);
  assert_int_equal(l.calls, 2);
  assert_int_equal(l.last.n_added, 1);
  assert_int_equal(l.added[0].region, 1);
  assert_int_equal(l.added[0].end_row, 2);
  assert_int_equal(l.last.n_new_locations, 0);
  assert_int_equal(td_table_row_key(t, 5), ((int64_t)1 << 43) | 0);
  assert_int_equal(x_at(t, 5), 1000);
  /* Only that: no cycle at all when nothing changed. */
  TD_ASSERT_OK(td_answer_size(e.p.size_subs[0], 5, &err), &err);
  flush(&e);
  assert_int_equal(l.calls, 2);
  assert_int_equal(td_table_version(t), 2);
  /* A smaller size: the table fails, naming the location and both sizes. */
  td_answer_size(e.p.size_subs[1], 1, NULL); /* keys[1] is "z" */
  flush(&e);
  assert_int_equal(l.errors, 1);
  TD_ASSERT_CONTAINS(l.error, "P=z");
  TD_ASSERT_CONTAINS(l.error, "3");
  TD_ASSERT_CONTAINS(l.error, "1");
  td_error_clear(&err);
  assert_int_equal(td_table_status(t, &err), TD_EFAILED);
  TD_ASSERT_CONTAINS(err.message, "P=z");
  assert_int_equal(td_table_size(t), 10);
  struct ArrowArray out;
  assert_int_equal(td_table_read(t, NULL, 0, 0, 1, &out, &err), TD_EFAILED);
  /* The last release unsubscribes the locations and the sizes of m and a;
   * z's size subscription failed (its shrinking answer was refused with
   * TD_ECONTRACT), and a failed subscription is never unsubscribed. */
  td_table_release(t);
  assert_int_equal(e.p.unsubscribes, 3);
  env_close(&e);
}

/* ---- section 3, rules 1-3: partition columns and values ---- */

static td_location_key *key2(const char *n1, td_value v1, const char *n2, td_value v2, int n) {
  const char *names[2] = {n1, n2};
  td_value vals[2] = {v1, v2};
  td_location_key *k;
  td_error err;
  TD_ASSERT_OK(td_location_key_new(NULL, n, names, vals, &k, &err), &err);
  return k;
}

static void add_key(probe *p, td_location_key *k, int64_t index, int64_t size) {
  p->keys[p->n_locs] = k;
  p->key_index[p->n_locs] = index;
  p->sizes[p->n_locs] = size;
  p->n_locs++;
}

/* Typed partition columns (int64 D, utf8 S): a missing value is null,
 * nulls sort first, numbers by value; the definition is partition columns
 * first; column_values is never asked for them. */
static void test_partition_values_typed_missing(void **state) {
  (void)state;
  env e;
  env_init(&e);
  e.p.n_part = 2;
  e.p.part_names[0] = "D";
  e.p.part_types[0] = TD_TYPE_INT64;
  e.p.part_names[1] = "S";
  e.p.part_types[1] = TD_TYPE_UTF8;
  add_key(&e.p, key2("D", td_value_int(TD_TYPE_INT64, 10), "S", td_value_str("b"), 2), 3, 1);
  add_key(&e.p, key2("D", td_value_int(TD_TYPE_INT64, 9), "S", td_value_str("z"), 2), 1, 1);
  add_key(&e.p, key2("D", td_value_int(TD_TYPE_INT64, 10), "S", td_value_null(TD_TYPE_UTF8), 2), 2, 1);
  add_key(&e.p, key2("D", td_value_int(TD_TYPE_INT64, 10), "S", td_value_null(TD_TYPE_UTF8), 1), 2, 1);
  add_key(&e.p, key2("D", td_value_null(TD_TYPE_INT64), "S", td_value_str("a"), 2), 0, 1);
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  assert_int_equal(td_table_num_columns(t), 3);
  assert_string_equal(td_table_column_name(t, 0), "D");
  assert_int_equal(td_table_column_type(t, 0), TD_TYPE_INT64);
  assert_true(td_table_column_is_partition(t, 1));
  assert_false(td_table_column_is_partition(t, 2));
  /* "D=10" alone is another key than "D=10/S=null" (the partition maps
   * differ), but reads as S null. */
  assert_int_equal(td_table_location_count(t), 5);
  struct ArrowArray out;
  struct ArrowSchema sch;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, 5, &out, &err), &err);
  TD_ASSERT_OK(td_table_schema(t, &sch, &err), &err);
  /* null D first; then 9; then 10 with S null (twice) before S "b". */
  int64_t want_x[5] = {0, 1000, 2000, 2000, 3000};
  for (int64_t r = 0; r < 5; r++) {
    td_value d, sv, x;
    TD_ASSERT_OK(td_arrow_get_value(sch.children[0], out.children[0], r, &d, &err), &err);
    TD_ASSERT_OK(td_arrow_get_value(sch.children[1], out.children[1], r, &sv, &err), &err);
    TD_ASSERT_OK(td_arrow_get_value(sch.children[2], out.children[2], r, &x, &err), &err);
    assert_int_equal(x.v.i, want_x[r]);
    assert_int_equal(d.is_null, r == 0);
    assert_int_equal(sv.is_null, r == 2 || r == 3);
  }
  out.release(&out);
  sch.release(&sch);
  td_table_release(t);
  env_close(&e);
}

/* A location key whose partition columns disagree with the others' (other
 * names, or the same names in another order) is rejected, naming both. */
static void test_disagreeing_key_order(void **state) {
  (void)state;
  env e;
  env_init(&e);
  e.p.n_part = 2;
  e.p.part_names[0] = "A";
  e.p.part_types[0] = TD_TYPE_UTF8;
  e.p.part_names[1] = "B";
  e.p.part_types[1] = TD_TYPE_UTF8;
  add_key(&e.p, key2("A", td_value_str("1"), "B", td_value_str("2"), 2), 0, 1);
  add_key(&e.p, key2("B", td_value_str("2"), "A", td_value_str("3"), 2), 1, 1);
  env_open(&e, 8);
  td_error err;
  make_fails(&e, TD_ECONTRACT, &err);
  TD_ASSERT_CONTAINS(err.message, "B=2/A=3");
  TD_ASSERT_CONTAINS(err.message, "A=1/B=2");
  env_close(&e);
}

/* A partition value of another type than the partition schema's. */
static void test_partition_value_wrong_type(void **state) {
  (void)state;
  env e;
  env_init(&e);
  e.p.n_part = 1;
  e.p.part_names[0] = "D";
  e.p.part_types[0] = TD_TYPE_INT64;
  add_key(&e.p, key2("D", td_value_str("x"), NULL, td_value_null(TD_TYPE_NONE), 1), 0, 1);
  env_open(&e, 8);
  td_error err;
  make_fails(&e, TD_ECONTRACT, &err);
  TD_ASSERT_CONTAINS(err.message, "D=x");
  TD_ASSERT_CONTAINS(err.message, "int64");
  env_close(&e);
}

/* A partitioned table's location without partition values is an error. */
static void test_location_without_partition_values(void **state) {
  (void)state;
  env e;
  env_init(&e);
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_new("id1", 0, NULL, NULL, &k, NULL), NULL);
  add_key(&e.p, k, 0, 1);
  env_open(&e, 8);
  td_error err;
  make_fails(&e, TD_ECONTRACT, &err);
  TD_ASSERT_CONTAINS(err.message, "id1");
  env_close(&e);
}

/* The data schema may repeat a partition column with the same type (it is
 * not doubled, nor asked for); with another type it is an error. */
static void test_data_schema_repeats_partition(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "a", 0, 2);
  e.p.repeat_p = TD_TYPE_UTF8;
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  assert_int_equal(td_table_num_columns(t), 2);
  assert_int_equal(td_table_column_index(t, "P"), 0);
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, 2, &out, &err), &err); /* p_values asserts column "x" */
  out.release(&out);
  td_table_release(t);
  td_table_key_release(e.key);
  td_service_free(e.svc);
  e.p.repeat_p = TD_TYPE_INT32;
  env_open(&e, 8);
  make_fails(&e, TD_ECONTRACT, &err);
  TD_ASSERT_CONTAINS(err.message, "P");
  TD_ASSERT_CONTAINS(err.message, "int32");
  TD_ASSERT_CONTAINS(err.message, "utf8");
  env_close(&e);
}

/* ---- section 3 rule 4: broken arrays from a backend ---- */

static void test_broken_value_arrays(void **state) {
  (void)state;
  const char *expect[6] = {NULL, "buffers", "negative length", "buffers", "no values buffer", "nulls"};
  for (int how = 1; how <= 5; how++) {
    env e;
    env_init(&e);
    probe_add(&e.p, "a", 0, 4);
    e.p.values_corrupt = how;
    g_corrupt_released = 0;
    env_open(&e, 8);
    td_error err;
    td_table *t;
    TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
    struct ArrowArray out;
    td_error_clear(&err);
    assert_int_equal(td_table_read(t, NULL, 0, 0, 4, &out, &err), TD_ECONTRACT);
    TD_ASSERT_CONTAINS(err.message, "column_values(table 't', location 'P=a', column 'x'");
    TD_ASSERT_CONTAINS(err.message, expect[how]);
    td_table_release(t);
    env_close(&e);
    assert_int_equal(g_corrupt_released, 1); /* released exactly once */
  }
}

/* Broken schema answers: a clear error (TD_ECONTRACT, or TD_EUNSUPPORTED
 * naming the column and its type), never a crash. */
static void test_broken_schemas(void **state) {
  (void)state;
  for (int how = 1; how <= 6; how++) {
    env e;
    env_init(&e);
    e.p.no_partitions = true;
    e.p.schema_corrupt = how;
    env_open(&e, 8);
    td_error err;
    make_fails(&e, how == 4 ? TD_EUNSUPPORTED : TD_ECONTRACT, &err);
    if (how == 4) TD_ASSERT_CONTAINS(err.message, "'x'");
    TD_ASSERT_CONTAINS(err.message, "table_schema(table 't')");
    env_close(&e);
  }
}

/* A negative column count with column indices is a bad argument
 * (TD_EINVAL naming the count) for td_table_read and td_table_stream: the
 * read asked for a huge allocation (TD_ENOMEM, or an abort under ASan) and
 * the stream was made, with no columns. */
static void test_negative_column_count(void **state) {
  (void)state;
  env e;
  env_init(&e);
  probe_add(&e.p, "a", 0, 3);
  env_open(&e, 8);
  td_error err;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e.svc, e.key, NULL, &t, &err), &err);
  int64_t cols[1] = {1};
  struct ArrowArray out;
  memset(&out, 0, sizeof out);
  td_error_clear(&err);
  assert_int_equal(td_table_read(t, cols, -1, 0, 1, &out, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "-1");
  assert_null(out.release);
  struct ArrowArrayStream s;
  memset(&s, 0, sizeof s);
  td_error_clear(&err);
  assert_int_equal(td_table_stream(t, cols, -1, &s, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "-1");
  assert_null(s.release);
  /* NULL indices still mean every column, whatever the count */
  TD_ASSERT_OK(td_table_read(t, NULL, -1, 0, 1, &out, &err), &err);
  assert_int_equal(out.n_children, 2);
  out.release(&out);
  td_table_release(t);
  env_close(&e);
}

/* Counts releases of a wrapped array (see wrap_counted). */
static int g_wrapped_releases;
static void counted_release(struct ArrowArray *a) {
  struct ArrowArray *inner = a->private_data;
  inner->release(inner);
  free(inner);
  g_wrapped_releases++;
  a->release = NULL;
}
/* Moves `a` into a wrapper whose release is counted. */
static struct ArrowArray wrap_counted(struct ArrowArray *a) {
  struct ArrowArray *inner = malloc(sizeof *inner);
  assert_non_null(inner);
  *inner = *a;
  a->release = NULL;
  struct ArrowArray w = *inner;
  w.private_data = inner;
  w.release = counted_release;
  return w;
}

static struct ArrowArray int_column(td_type_id type, int n) {
  td_builder *b;
  td_error err;
  TD_ASSERT_OK(td_builder_new(type, &b, &err), &err);
  for (int i = 0; i < n; i++)
    TD_ASSERT_OK(type == TD_TYPE_UTF8 ? td_builder_append_str(b, "s", -1, &err) : td_builder_append_int(b, i, &err), &err);
  struct ArrowArray a;
  TD_ASSERT_OK(td_builder_finish(b, &a, &err), &err);
  td_builder_free(b);
  return a;
}

/* The memory backend's data that does not match the table's schema (not a
 * struct array, a column of another type) is TD_EINVAL as memory_backend.h
 * says, with or without an error struct, and the data is released once: the
 * answer was TD_ECONTRACT when an error struct was given (TD_EINVAL
 * without one). */
static void test_memory_backend_bad_data(void **state) {
  (void)state;
  td_memory_backend *mb;
  td_error err;
  TD_ASSERT_OK(td_memory_backend_new(&mb, &err), &err);
  const char *names[1] = {"x"};
  td_type_id types[1] = {TD_TYPE_INT64};
  struct ArrowSchema schema;
  TD_ASSERT_OK(td_schema_make(1, names, types, NULL, &schema, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(mb, "t", &schema, NULL, &err), &err);
  schema.release(&schema);
  td_location_key *key;
  TD_ASSERT_OK(td_location_key_standalone(&key, &err), &err);
  for (int how = 0; how < 4; how++) {
    bool with_err = how % 2;
    struct ArrowArray data;
    if (how < 2) {
      data = int_column(TD_TYPE_INT64, 3); /* not a struct */
    } else {
      struct ArrowArray col = int_column(TD_TYPE_UTF8, 3); /* utf8 for int64 */
      TD_ASSERT_OK(td_batch_make(1, &col, &data, &err), &err);
    }
    struct ArrowArray w = wrap_counted(&data);
    g_wrapped_releases = 0;
    td_error_clear(&err);
    int rc = td_memory_backend_add_location(mb, "t", key, &w, with_err ? &err : NULL);
    if (rc != TD_EINVAL) fail_msg("case %d: expected TD_EINVAL, got %s: %s", how, td_status_name(rc), err.message);
    if (with_err) {
      assert_int_equal(err.code, TD_EINVAL);
      TD_ASSERT_CONTAINS(err.message, "table 't'");
    }
    assert_int_equal(g_wrapped_releases, 1);
    assert_null(w.release);
  }
  assert_int_equal(td_memory_backend_location_size(mb, "t", key), -1);
  td_location_key_release(key);
  td_memory_backend_release(mb);
}

/* td_service_new refuses bad options with TD_EINVAL naming the option and
 * the value, and releases the backend: a negative update period was taken
 * as immediate mode (the header documents 0 for that). */
static int g_backend_releases;
static void counting_backend_release(void *self) {
  (void)self;
  g_backend_releases++;
}
static void test_service_bad_options(void **state) {
  (void)state;
  static const struct {
    int64_t page_size, cache_bytes, period;
    const char *needle;
  } cases[] = {
      {0, 0, 0, "page_size"},
      {((int64_t)1 << 30) + 1, 0, 0, "page_size"},
      {8, -1, 0, "cache_bytes"},
      {8, 0, -1, "update_period_ms"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    td_backend_vtable vt = probe_vt;
    vt.release = counting_backend_release;
    td_backend b = {&vt, NULL};
    td_service_options o;
    td_service_options_init(&o);
    o.page_size = cases[i].page_size;
    o.cache_bytes = cases[i].cache_bytes;
    o.update_period_ms = cases[i].period;
    td_service *svc = (td_service *)&o; /* must be reset to NULL */
    td_error err;
    g_backend_releases = 0;
    assert_int_equal(td_service_new(b, &o, &svc, &err), TD_EINVAL);
    assert_null(svc);
    TD_ASSERT_CONTAINS(err.message, cases[i].needle);
    assert_int_equal(g_backend_releases, 1);
  }
  /* 0 is immediate mode, and fine */
  td_backend_vtable vt = probe_vt;
  vt.release = counting_backend_release;
  td_backend b = {&vt, NULL};
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = 0;
  td_service *svc;
  td_error err;
  TD_ASSERT_OK(td_service_new(b, &o, &svc, &err), &err);
  td_service_free(svc);
}

/* Location key equality, ordering and hashing agree (spec 2: equal keys hash
 * equally, and keys are ordered): for every pair, compare == 0 exactly when
 * equal, equal keys hash alike, and compare is antisymmetric.  Two NaNs of
 * other bit patterns compared 0 but were unequal (their hashes differed);
 * keys with other partition names but the same values compared 0. */
static td_location_key *one_value_key(const char *identity, const char *name, td_value v) {
  td_location_key *k = NULL;
  td_error err;
  TD_ASSERT_OK(td_location_key_new(identity, 1, &name, &v, &k, &err), &err);
  return k;
}
static void test_key_order_agrees_with_equality(void **state) {
  (void)state;
  double nan2;
  uint64_t bits = 0x7ff8000000000123ull; /* another quiet NaN */
  memcpy(&nan2, &bits, sizeof nan2);
  td_value ab0 = td_value_str("ab");
  ab0.v.s.len = 3; /* "ab\0" */
  td_location_key *keys[] = {
      one_value_key(NULL, "f", td_value_double(TD_TYPE_FLOAT64, 0.0)),
      one_value_key(NULL, "f", td_value_double(TD_TYPE_FLOAT64, -0.0)),
      one_value_key(NULL, "f", td_value_double(TD_TYPE_FLOAT64, NAN)),
      one_value_key(NULL, "f", td_value_double(TD_TYPE_FLOAT64, -NAN)),
      one_value_key(NULL, "f", td_value_double(TD_TYPE_FLOAT64, nan2)),
      one_value_key(NULL, "f", td_value_double(TD_TYPE_FLOAT64, 1.5)),
      one_value_key(NULL, "f", td_value_null(TD_TYPE_FLOAT64)),
      one_value_key(NULL, "s", td_value_str("ab")),
      one_value_key(NULL, "t", td_value_str("ab")),
      one_value_key(NULL, "s", ab0),
      one_value_key("x", "s", td_value_str("ab")),
      one_value_key("y", "s", td_value_str("ab")),
      one_value_key(NULL, "s", td_value_null(TD_TYPE_UTF8)),
  };
  const size_t n = sizeof keys / sizeof keys[0];
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < n; j++) {
      int c = td_location_key_compare(keys[i], keys[j]), r = td_location_key_compare(keys[j], keys[i]);
      bool eq = td_location_key_equal(keys[i], keys[j]);
      if ((c == 0) != eq || c != -r || (eq && td_location_key_hash(keys[i]) != td_location_key_hash(keys[j])))
        fail_msg("keys %zu and %zu: compare %d / %d, equal %d, hashes %llx %llx", i, j, c, r, eq,
                 (unsigned long long)td_location_key_hash(keys[i]), (unsigned long long)td_location_key_hash(keys[j]));
    }
  }
  assert_true(td_location_key_equal(keys[0], keys[1]));  /* 0.0 == -0.0 */
  assert_true(td_location_key_equal(keys[2], keys[4]));  /* NaN == NaN */
  assert_true(td_location_key_compare(keys[5], keys[2]) < 0); /* numbers before NaN */
  assert_true(td_location_key_compare(keys[6], keys[0]) < 0); /* nulls first */
  assert_false(td_location_key_equal(keys[7], keys[8]));
  for (size_t i = 0; i < n; i++) td_location_key_release(keys[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_order_duplicates_nulls),
      cmocka_unit_test(test_negative_size_is_error),
      cmocka_unit_test(test_size_past_row_bits_is_range),
      cmocka_unit_test(test_empty_locations),
      cmocka_unit_test(test_no_locations),
      cmocka_unit_test(test_zero_columns),
      cmocka_unit_test(test_backend_failure_message),
      cmocka_unit_test(test_answer_values_moves),
      cmocka_unit_test(test_read_children_released_early),
      cmocka_unit_test(test_stream_outlives_batches),
      cmocka_unit_test(test_long_partition_value),
      cmocka_unit_test(test_refreshing_cycle_report),
      cmocka_unit_test(test_partition_values_typed_missing),
      cmocka_unit_test(test_disagreeing_key_order),
      cmocka_unit_test(test_partition_value_wrong_type),
      cmocka_unit_test(test_location_without_partition_values),
      cmocka_unit_test(test_data_schema_repeats_partition),
      cmocka_unit_test(test_broken_value_arrays),
      cmocka_unit_test(test_broken_schemas),
      cmocka_unit_test(test_negative_column_count),
      cmocka_unit_test(test_memory_backend_bad_data),
      cmocka_unit_test(test_service_bad_options),
      cmocka_unit_test(test_key_order_agrees_with_equality),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
