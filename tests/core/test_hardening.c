/*
 * tests/core/test_hardening.c - the engine promises of issue 8, each tried
 * the way an independent tester would: listeners that release their table,
 * sliced Arrow answers, the cache budget against what it keeps alive, failed
 * shared subscriptions, answers after the service is gone, sizes that shrink
 * and grow back between cycles, big location batches, partition values on
 * unpartitioned tables, when a subscription failure is td_make_table's error,
 * very wide schemas, and backend methods that make or read tables of their
 * own service (item 11).  Test names carry the item number.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tabledata.h"
#include "test.h"

/* ---- hand-made Arrow arrays (a producer other than the library) ---- */

typedef struct hand_priv {
  void *bufs[3];
  const void *cbufs[3];
  struct ArrowArray *kid_ptrs[1];
  struct ArrowArray kid;
  _Atomic int64_t *live; /* bytes still alive, when counted */
  int64_t bytes;
} hand_priv;

static void hand_release(struct ArrowArray *a) {
  hand_priv *p = a->private_data;
  if (a->n_children && p->kid.release) p->kid.release(&p->kid);
  for (int i = 0; i < 3; i++) free(p->bufs[i]);
  if (p->live) atomic_fetch_sub(p->live, p->bytes);
  free(p);
  a->release = NULL;
}

/* Gives `p` a validity bitmap of `n` rows from `valid` (none when NULL) and
 * returns the nulls inside the window [offset, offset + length). */
static int64_t hand_validity(hand_priv *p, const bool *valid, int64_t n, int64_t offset, int64_t length) {
  int64_t nulls = 0;
  if (!valid) return 0;
  p->bufs[0] = calloc((size_t)(n + 8) / 8 + 1, 1);
  for (int64_t i = 0; i < n; i++) {
    if (valid[i]) ((uint8_t *)p->bufs[0])[i / 8] |= (uint8_t)(1u << (i % 8));
    else if (i >= offset && i < offset + length) nulls++;
  }
  return nulls;
}

/* An int64 array of `n` rows at `offset` (values[i] for buffer row i; row i
 * null when valid && !valid[i]). */
static void hand_int64(const int64_t *values, const bool *valid, int64_t n, int64_t offset, int64_t length,
                       struct ArrowArray *out) {
  hand_priv *p = calloc(1, sizeof *p);
  p->bufs[1] = malloc((size_t)(n ? n : 1) * 8);
  memcpy(p->bufs[1], values, (size_t)n * 8);
  int64_t nulls = hand_validity(p, valid, n, offset, length);
  p->cbufs[0] = p->bufs[0];
  p->cbufs[1] = p->bufs[1];
  memset(out, 0, sizeof *out);
  out->length = length;
  out->offset = offset;
  out->null_count = nulls;
  out->n_buffers = 2;
  out->buffers = p->cbufs;
  out->private_data = p;
  out->release = hand_release;
}

/* A one-child struct of `length` rows at `offset` over `kid` (taken); rows
 * with struct_valid[i] false are null at the struct level. */
static void hand_struct(struct ArrowArray *kid, int64_t offset, int64_t length, const bool *struct_valid, int64_t n,
                        struct ArrowArray *out) {
  hand_priv *p = calloc(1, sizeof *p);
  p->kid = *kid;
  kid->release = NULL;
  p->kid_ptrs[0] = &p->kid;
  int64_t nulls = hand_validity(p, struct_valid, n, offset, length);
  p->cbufs[0] = p->bufs[0];
  memset(out, 0, sizeof *out);
  out->length = length;
  out->offset = offset;
  out->null_count = nulls;
  out->n_buffers = 1;
  out->buffers = p->cbufs;
  out->n_children = 1;
  out->children = p->kid_ptrs;
  out->private_data = p;
  out->release = hand_release;
}

/* ---- a scriptable backend: table "t", data columns x (or c0..cN-1) ---- */

enum { SUB_AUTO, SUB_FAIL_FIRST, SUB_DATA_THEN_FAIL, SUB_SUCCESS_THEN_FAIL, SUB_MANUAL };
enum { VAL_PLAIN, VAL_SLICED_STRUCT, VAL_BIG_BUFFER };

#define HB_MAX_SUBS 4096

typedef struct hb {
  pthread_mutex_t lock;
  int64_t n_locs;
  int64_t *sizes;
  bool partitioned;  /* partition schema P (utf8) */
  bool key_values;   /* keys carry P=<...> even when not partitioned */
  int values_mode;
  int loc_sub_mode, size_sub_mode;
  int64_t n_cols;     /* 0: one column "x"; else c0..c<n-1> */
  bool dup_column;    /* the wide schema repeats its last name */
  int64_t big_rows;   /* VAL_BIG_BUFFER: rows of the buffer an answer slices */
  _Atomic int64_t live_bytes;
  td_request loc_subs[64];
  int n_loc_subs;
  td_request size_subs[HB_MAX_SUBS];
  int64_t size_sub_loc[HB_MAX_SUBS];
  int n_size_subs;
  _Atomic int n_unsub;
  td_request kept; /* the last request of any kind */
  /* Reentrant calls (item 11): the service, what to try, and what came back. */
  td_service *svc;
  int reenter; /* 1: table_schema of "t" makes "u" and "t"; 2: column_values reads its own page */
  int reenter_rc[2];
  char reenter_msg[TD_ERROR_MESSAGE_SIZE];
} hb;

static void hb_init(hb *b, int64_t n_locs, int64_t size) {
  memset(b, 0, sizeof *b);
  pthread_mutex_init(&b->lock, NULL);
  b->n_locs = n_locs;
  b->sizes = calloc((size_t)n_locs + 1, sizeof *b->sizes);
  for (int64_t i = 0; i < n_locs; i++) b->sizes[i] = size;
}

static void hb_destroy(hb *b) {
  free(b->sizes);
  pthread_mutex_destroy(&b->lock);
}

static td_location_key *hb_key(const hb *b, int64_t i) {
  char id[32];
  snprintf(id, sizeof id, "L%06lld", (long long)i);
  td_location_key *k;
  td_error err;
  if (b->partitioned || b->key_values) {
    const char *names[1] = {"P"};
    td_value v = td_value_str(id);
    TD_ASSERT_OK(td_location_key_new(NULL, 1, names, &v, &k, &err), &err);
  } else {
    TD_ASSERT_OK(td_location_key_new(id, 0, NULL, NULL, &k, &err), &err);
  }
  return k;
}

static int64_t hb_loc_of(const hb *b, const td_location_key *k) {
  const char *s = td_location_key_identity(k);
  if (td_location_key_partition_count(k) > 0) s = td_location_key_partition_value(k, 0)->v.s.ptr;
  (void)b;
  return atoll(s + 1);
}

/* Makes a static table of `name` on b->svc (and releases it); returns the
 * result, keeping the message. */
static int hb_make_other(hb *b, const char *name) {
  td_error err;
  td_error_clear(&err);
  td_table_key *k;
  TD_ASSERT_OK(td_table_key_new(name, &k, &err), &err);
  td_table_options o = {NULL, NULL, false};
  td_table *t = NULL;
  int rc = td_make_table(b->svc, k, &o, &t, &err);
  if (rc == TD_OK && b->reenter == 2) { /* the page being fetched by this very call */
    struct ArrowArray out;
    rc = td_table_read(t, NULL, 0, 0, 1, &out, &err);
    if (rc == TD_OK) out.release(&out);
  }
  if (rc) snprintf(b->reenter_msg, sizeof b->reenter_msg, "%s", err.message);
  td_table_release(t);
  td_table_key_release(k);
  return rc;
}

static void hb_schema(void *self, const td_table_key *t, td_request req) {
  hb *b = self;
  td_error err;
  if (b->reenter == 1 && strcmp(td_table_key_name(t), "t") == 0) {
    b->reenter = 0; /* "u" and "t" below answer plainly */
    b->reenter_rc[0] = hb_make_other(b, "u");
    b->reenter_rc[1] = hb_make_other(b, "t");
  }
  struct ArrowSchema ds, ps;
  if (b->n_cols == 0) {
    const char *names[] = {"x"};
    td_type_id types[] = {TD_TYPE_INT64};
    TD_ASSERT_OK(td_schema_make(1, names, types, NULL, &ds, &err), &err);
  } else {
    char **names = malloc((size_t)b->n_cols * sizeof *names);
    td_type_id *types = malloc((size_t)b->n_cols * sizeof *types);
    for (int64_t i = 0; i < b->n_cols; i++) {
      names[i] = malloc(32);
      snprintf(names[i], 32, "c%lld", (long long)(b->dup_column && i == b->n_cols - 1 ? i - 1 : i));
      types[i] = TD_TYPE_INT64;
    }
    TD_ASSERT_OK(td_schema_make(b->n_cols, (const char *const *)names, types, NULL, &ds, &err), &err);
    for (int64_t i = 0; i < b->n_cols; i++) free(names[i]);
    free(names);
    free(types);
  }
  if (b->partitioned) {
    const char *pn[] = {"P"};
    td_type_id pt[] = {TD_TYPE_UTF8};
    TD_ASSERT_OK(td_schema_make(1, pn, pt, NULL, &ps, &err), &err);
  }
  td_answer_schema(req, &ds, b->partitioned ? &ps : NULL, NULL);
}

static void hb_locations(void *self, const td_table_key *t, td_request req) {
  (void)t;
  hb *b = self;
  for (int64_t i = 0; i < b->n_locs; i++) {
    td_location_key *k = hb_key(b, i);
    td_answer_location(req, k, NULL);
    td_location_key_release(k);
  }
  td_answer_success(req, NULL);
}

static void hb_size(void *self, const td_table_key *t, const td_location_key *l, td_request req) {
  (void)t;
  hb *b = self;
  td_answer_size(req, b->sizes[hb_loc_of(b, l)], NULL);
}

/* Row r of location l, column c: l * 1000000 + c * 1000 + r. */
static int64_t hb_value(int64_t l, int64_t c, int64_t r) { return l * 1000000 + c * 1000 + r; }

static void hb_values(void *self, const td_table_key *t, const td_location_key *lk, const char *column,
                      int64_t offset, int64_t min_rows, int64_t max_rows, td_request req) {
  (void)t;
  (void)max_rows;
  hb *b = self;
  td_error err;
  if (b->reenter == 2) {
    b->reenter_rc[0] = hb_make_other(b, "t");
    b->reenter = 0;
  }
  int64_t l = hb_loc_of(b, lk), c = column[0] == 'c' ? atoll(column + 1) : 0, n = min_rows;
  struct ArrowSchema sch;
  TD_ASSERT_OK(td_field_schema_make(column, TD_TYPE_INT64, NULL, &sch, &err), &err);
  struct ArrowArray arr;
  if (b->values_mode == VAL_PLAIN) {
    int64_t *v = malloc((size_t)(n + 1) * 8);
    for (int64_t i = 0; i < n; i++) v[i] = hb_value(l, c, offset + i);
    hand_int64(v, NULL, n, 0, n, &arr);
    free(v);
  } else if (b->values_mode == VAL_SLICED_STRUCT) {
    /* The child holds 2 + 3 + n + 4 rows and is itself sliced by 2; the
     * struct slices it again by 3: rows of other answers around ours, and
     * rows r with r % 5 == 1 null in the child, r % 5 == 3 null in the
     * struct. */
    int64_t total = n + 9;
    int64_t *v = malloc((size_t)total * 8);
    bool *valid = malloc((size_t)total), *svalid = malloc((size_t)total);
    for (int64_t i = 0; i < total; i++) {
      int64_t r = offset + i - 5;
      v[i] = i < 5 || i >= 5 + n ? -7 : hb_value(l, c, r);
      valid[i] = i < 5 || i >= 5 + n ? false : r % 5 != 1;
    }
    for (int64_t i = 0; i < total - 2; i++) {
      int64_t r = offset + i - 3;
      svalid[i] = i < 3 || i >= 3 + n ? false : r % 5 != 3;
    }
    struct ArrowArray kid;
    hand_int64(v, valid, total, 2, total - 2, &kid);
    kid.null_count = -1;
    hand_struct(&kid, 3, n, svalid, total - 2, &arr);
    free(v);
    free(valid);
    free(svalid);
    struct ArrowSchema *f = malloc(sizeof *f);
    *f = sch;
    const char *names[] = {column};
    td_type_id types[] = {TD_TYPE_INT64};
    TD_ASSERT_OK(td_schema_make(1, names, types, NULL, &sch, &err), &err);
    f->release(f);
    free(f);
  } else { /* VAL_BIG_BUFFER: a slice at the end of a big buffer, counted */
    int64_t total = b->big_rows + n;
    int64_t *v = malloc((size_t)total * 8);
    for (int64_t i = 0; i < n; i++) v[b->big_rows + i] = hb_value(l, c, offset + i);
    hand_int64(v, NULL, total, b->big_rows, n, &arr);
    free(v);
    hand_priv *p = arr.private_data;
    p->live = &b->live_bytes;
    p->bytes = total * 8;
    atomic_fetch_add(&b->live_bytes, p->bytes);
  }
  td_answer_values(req, &sch, &arr, NULL);
}

static void hb_sub_answer(hb *b, int mode, td_request sub, int64_t loc) {
  if (mode == SUB_MANUAL) return;
  if (mode == SUB_FAIL_FIRST) {
    td_answer_failure(sub, "refused outright", NULL);
    return;
  }
  if (loc < 0) {
    for (int64_t i = 0; i < b->n_locs; i++) {
      td_location_key *k = hb_key(b, i);
      td_answer_location(sub, k, NULL);
      td_location_key_release(k);
    }
  } else {
    td_answer_size(sub, b->sizes[loc], NULL);
  }
  if (mode == SUB_DATA_THEN_FAIL) {
    td_answer_failure(sub, "lost after data", NULL);
    return;
  }
  td_answer_success(sub, NULL);
  if (mode == SUB_SUCCESS_THEN_FAIL) td_answer_failure(sub, "lost after success", NULL);
}

static void hb_sub_locations(void *self, const td_table_key *t, td_request sub) {
  (void)t;
  hb *b = self;
  pthread_mutex_lock(&b->lock);
  if (b->n_loc_subs < 64) b->loc_subs[b->n_loc_subs++] = sub;
  b->kept = sub;
  pthread_mutex_unlock(&b->lock);
  hb_sub_answer(b, b->loc_sub_mode, sub, -1);
}

static void hb_sub_size(void *self, const td_table_key *t, const td_location_key *l, td_request sub) {
  (void)t;
  hb *b = self;
  int64_t loc = hb_loc_of(b, l);
  pthread_mutex_lock(&b->lock);
  if (b->n_size_subs < HB_MAX_SUBS) {
    b->size_subs[b->n_size_subs] = sub;
    b->size_sub_loc[b->n_size_subs++] = loc;
  }
  b->kept = sub;
  pthread_mutex_unlock(&b->lock);
  hb_sub_answer(b, b->size_sub_mode, sub, loc);
}

static void hb_unsub(void *self, td_request sub) {
  (void)sub;
  hb *b = self;
  atomic_fetch_add(&b->n_unsub, 1);
}

static const td_backend_vtable hb_vt = {hb_schema, hb_locations, hb_size, hb_values, hb_sub_locations,
                                        hb_sub_size, hb_unsub, NULL, NULL, NULL};

/* The last size subscription of location `loc`. */
static td_request hb_size_sub(hb *b, int64_t loc) {
  td_request r = {0};
  pthread_mutex_lock(&b->lock);
  for (int i = 0; i < b->n_size_subs; i++)
    if (b->size_sub_loc[i] == loc) r = b->size_subs[i];
  pthread_mutex_unlock(&b->lock);
  return r;
}

typedef struct reports {
  _Atomic int n;
  char last[TD_ERROR_MESSAGE_SIZE];
} reports;

static void on_error(void *ctx, int code, const char *msg) {
  (void)code;
  reports *r = ctx;
  r->n++;
  snprintf(r->last, sizeof r->last, "%s", msg);
}

typedef struct env {
  hb b;
  reports reps;
  td_service *svc;
  td_table_key *key;
} env;

static void env_open_opts(env *e, int64_t page_size, int64_t cache_bytes, int64_t period_ms) {
  memset(&e->reps, 0, sizeof e->reps);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = page_size;
  if (cache_bytes >= 0) o.cache_bytes = cache_bytes;
  o.update_period_ms = period_ms;
  o.request_timeout_ms = 600000;
  o.on_error = on_error;
  o.on_error_ctx = &e->reps;
  td_error err;
  td_backend be = {&hb_vt, &e->b};
  TD_ASSERT_OK(td_service_new(be, &o, &e->svc, &err), &err);
  TD_ASSERT_OK(td_table_key_new("t", &e->key, &err), &err);
}

static void env_open(env *e) { env_open_opts(e, 4, -1, 86400000); } /* cycles when flushed */

static void env_close(env *e) {
  td_table_key_release(e->key);
  td_service_free(e->svc);
  hb_destroy(&e->b);
}

static td_table *make(env *e, bool refreshing) {
  td_error err;
  td_table_options o = {NULL, NULL, refreshing};
  td_table *t;
  TD_ASSERT_OK(td_make_table(e->svc, e->key, &o, &t, &err), &err);
  return t;
}

/* Generous: sanitizers and valgrind make big cycles slow. */
static void flush(env *e) {
  td_error err;
  TD_ASSERT_OK(td_service_flush(e->svc, 900000, &err), &err);
}

typedef struct recorder {
  int calls, errors;
  char error[TD_ERROR_MESSAGE_SIZE];
} recorder;

static void record(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)t;
  (void)u;
  recorder *r = ctx;
  if (e) {
    r->errors++;
    snprintf(r->error, sizeof r->error, "%s", e->message);
  } else {
    r->calls++;
  }
}

/* ---- item 1: releasing a table's last reference inside its listener ---- */

static void release_table(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)u;
  (void)e;
  int *calls = ctx;
  (*calls)++;
  td_table_release(t);
}

static void test_item1_release_in_listener(void **state) {
  (void)state;
  env e;
  hb_init(&e.b, 2, 4);
  env_open(&e);
  td_error err;
  /* Twice: once on an update, once on a failure. */
  for (int round = 0; round < 2; round++) {
    td_table *t = make(&e, true);
    int released = 0;
    recorder after = {0};
    TD_ASSERT_OK(td_table_add_listener(t, release_table, &released, NULL, &err), &err);
    TD_ASSERT_OK(td_table_add_listener(t, record, &after, NULL, &err), &err);
    int unsub = atomic_load(&e.b.n_unsub);
    td_request sub = hb_size_sub(&e.b, 1);
    e.b.sizes[1] = 9;
    if (round == 0) TD_ASSERT_OK(td_answer_size(sub, 9, &err), &err);
    else TD_ASSERT_OK(td_answer_failure(sub, "gone", &err), &err);
    flush(&e);
    assert_int_equal(released, 1);
    /* The table is gone: its later listeners are not called with it. */
    assert_int_equal(after.calls + after.errors, 0);
    /* Its subscriptions ended (the failed one is never unsubscribed). */
    assert_int_equal(atomic_load(&e.b.n_unsub) - unsub, round == 0 ? 3 : 2);
  }
  env_close(&e);
}

/* A derived table whose listener releases it, and its source with it. */
static void test_item1_release_derived_in_listener(void **state) {
  (void)state;
  env e;
  hb_init(&e.b, 1, 4);
  env_open(&e);
  td_error err;
  td_table *t = make(&e, true);
  td_table *d;
  TD_ASSERT_OK(td_table_where(t, "x >= 0", &d, &err), &err);
  td_table_release(t);
  int released = 0;
  recorder after = {0};
  TD_ASSERT_OK(td_table_add_listener(d, release_table, &released, NULL, &err), &err);
  TD_ASSERT_OK(td_table_add_listener(d, record, &after, NULL, &err), &err);
  TD_ASSERT_OK(td_answer_size(hb_size_sub(&e.b, 0), 9, &err), &err);
  flush(&e);
  assert_int_equal(released, 1);
  assert_int_equal(after.calls, 0);
  assert_int_equal(atomic_load(&e.b.n_unsub), 2);
  env_close(&e);
}

/* ---- item 2: sliced Arrow answers ---- */

static void check_x(td_table *t, int64_t begin, int64_t end, bool sliced) {
  td_error err;
  int64_t col = td_table_column_index(t, "x");
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, &col, 1, begin, end, &out, &err), &err);
  struct ArrowSchema f;
  TD_ASSERT_OK(td_field_schema_make("x", TD_TYPE_INT64, NULL, &f, &err), &err);
  for (int64_t i = begin; i < end; i++) {
    td_value v;
    TD_ASSERT_OK(td_arrow_get_value(&f, out.children[0], i - begin, &v, &err), &err);
    int64_t loc = i / 10, row = i % 10; /* 10 rows per location */
    bool null = sliced && (row % 5 == 1 || row % 5 == 3);
    if (null != v.is_null) fail_msg("row %lld: expected %s, got %s", (long long)i, null ? "null" : "a value",
                                    v.is_null ? "null" : "a value");
    if (!null) assert_int_equal(v.v.i, hb_value(loc, 0, row));
  }
  f.release(&f);
  out.release(&out);
}

static void test_item2_sliced_struct_values(void **state) {
  (void)state;
  env e;
  hb_init(&e.b, 3, 10);
  e.b.values_mode = VAL_SLICED_STRUCT;
  env_open(&e);
  td_table *t = make(&e, false);
  check_x(t, 0, 30, true);
  check_x(t, 7, 23, true);
  /* Streams hand out views of the same pages. */
  td_error err;
  struct ArrowArrayStream st;
  TD_ASSERT_OK(td_table_stream(t, NULL, 0, &st, &err), &err);
  int64_t row = 0;
  for (;;) {
    struct ArrowArray b;
    assert_int_equal(st.get_next(&st, &b), 0);
    if (!b.release) break;
    struct ArrowSchema f;
    TD_ASSERT_OK(td_field_schema_make("x", TD_TYPE_INT64, NULL, &f, &err), &err);
    for (int64_t i = 0; i < b.length; i++, row++) {
      td_value v;
      TD_ASSERT_OK(td_arrow_get_value(&f, b.children[0], i, &v, &err), &err);
      bool null = row % 10 % 5 == 1 || row % 10 % 5 == 3;
      assert_int_equal(v.is_null, null);
      if (!null) assert_int_equal(v.v.i, hb_value(row / 10, 0, row % 10));
    }
    f.release(&f);
    b.release(&b);
  }
  assert_int_equal(row, 30);
  st.release(&st);
  td_table_release(t);
  env_close(&e);
}

static void test_item2_sliced_partition_struct(void **state) {
  (void)state;
  td_error err;
  /* Partition values: a struct of one int64 column P, rows [10, 11, 12, 13],
   * sliced to row 2 (struct offset 2), over a child itself sliced by 1. */
  int64_t v[5] = {-1, 10, 11, 12, 13};
  struct ArrowArray kid, s;
  hand_int64(v, NULL, 5, 1, 4, &kid);
  hand_struct(&kid, 2, 1, NULL, 4, &s);
  const char *names[] = {"P"};
  td_type_id types[] = {TD_TYPE_INT64};
  struct ArrowSchema sch;
  TD_ASSERT_OK(td_schema_make(1, names, types, NULL, &sch, &err), &err);
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_from_arrow("id", &sch, &s, &k, &err), &err);
  assert_int_equal(td_location_key_partition_value(k, 0)->v.i, 12);
  td_location_key_release(k);
  /* A null struct row makes the values null. */
  bool sv[4] = {true, true, false, true};
  hand_int64(v, NULL, 5, 1, 4, &kid);
  hand_struct(&kid, 2, 1, sv, 4, &s);
  TD_ASSERT_OK(td_schema_make(1, names, types, NULL, &sch, &err), &err);
  TD_ASSERT_OK(td_location_key_from_arrow("id", &sch, &s, &k, &err), &err);
  assert_true(td_location_key_partition_value(k, 0)->is_null);
  td_location_key_release(k);
  /* A struct whose child is too short for its slice is rejected. */
  hand_int64(v, NULL, 5, 1, 2, &kid);
  hand_struct(&kid, 2, 1, NULL, 4, &s);
  TD_ASSERT_OK(td_schema_make(1, names, types, NULL, &sch, &err), &err);
  assert_int_equal(td_location_key_from_arrow("id", &sch, &s, &k, &err), TD_ECONTRACT);
}

/* The memory backend takes sliced record batches too. */
static void test_item2_sliced_memory_batches(void **state) {
  (void)state;
  td_error err;
  td_memory_backend *mb;
  TD_ASSERT_OK(td_memory_backend_new(&mb, &err), &err);
  const char *names[] = {"x"};
  td_type_id types[] = {TD_TYPE_INT64};
  struct ArrowSchema ds;
  TD_ASSERT_OK(td_schema_make(1, names, types, NULL, &ds, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(mb, "t", &ds, NULL, &err), &err);
  ds.release(&ds);
  int64_t v[8] = {-1, -1, 0, 1, 2, 3, -1, -1};
  bool sv[8] = {true, true, false, true, true, true, true, true};
  struct ArrowArray kid, s;
  hand_int64(v, NULL, 8, 1, 7, &kid);
  hand_struct(&kid, 1, 4, sv, 7, &s); /* rows 0, null, 2, 3 */
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_standalone(&k, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_location(mb, "t", k, &s, &err), &err);
  td_service *svc;
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(mb), NULL, &svc, &err), &err);
  td_table_key *tk;
  TD_ASSERT_OK(td_table_key_new("t", &tk, &err), &err);
  td_table *t;
  TD_ASSERT_OK(td_make_table(svc, tk, NULL, &t, &err), &err);
  assert_int_equal(td_table_size(t), 4);
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, 4, &out, &err), &err);
  struct ArrowSchema f;
  TD_ASSERT_OK(td_field_schema_make("x", TD_TYPE_INT64, NULL, &f, &err), &err);
  for (int64_t i = 0; i < 4; i++) {
    td_value x;
    TD_ASSERT_OK(td_arrow_get_value(&f, out.children[0], i, &x, &err), &err);
    assert_int_equal(x.is_null, i == 1);
    if (i != 1) assert_int_equal(x.v.i, i);
  }
  f.release(&f);
  out.release(&out);
  td_table_release(t);
  td_table_key_release(tk);
  td_location_key_release(k);
  td_service_free(svc);
  td_memory_backend_release(mb);
}

/* ---- item 3: the cache budget bounds what the cache keeps alive ---- */

static void test_item3_budget_after_big_page(void **state) {
  (void)state;
  env e;
  /* 200 locations of 1 row (small pages), then one of 4000 rows read as a
   * single page: inserting it must evict as many small pages as needed. */
  hb_init(&e.b, 201, 1);
  e.b.sizes[200] = 4000;
  const int64_t budget = 40000;
  env_open_opts(&e, 4096, budget, 100000);
  td_table *t = make(&e, false);
  td_error err;
  int64_t col = td_table_column_index(t, "x");
  struct ArrowArray out;
  /* Read twice: pages read again are in the main segment (scan resistance
   * keeps pages read once in a small probationary one). */
  for (int pass = 0; pass < 2; pass++) {
    TD_ASSERT_OK(td_table_read(t, &col, 1, 0, 200, &out, &err), &err);
    out.release(&out);
  }
  td_counters c;
  td_service_counters(e.svc, &c);
  assert_int_equal(c.cache_pages, 200);
  TD_ASSERT_OK(td_table_read(t, &col, 1, 200, 4200, &out, &err), &err);
  out.release(&out);
  td_service_counters(e.svc, &c);
  if (c.cache_bytes > budget) fail_msg("cache holds %lld bytes, budget %lld", (long long)c.cache_bytes, (long long)budget);
  td_table_release(t);
  env_close(&e);
}

static void test_item3_slices_of_big_buffers(void **state) {
  (void)state;
  env e;
  /* Every answer is 4 rows at the end of a 1 MiB buffer. */
  hb_init(&e.b, 50, 16);
  e.b.values_mode = VAL_BIG_BUFFER;
  e.b.big_rows = 131072;
  const int64_t budget = 4 << 20;
  env_open_opts(&e, 4, budget, 100000);
  td_table *t = make(&e, false);
  td_error err;
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, td_table_size(t), &out, &err), &err);
  for (int64_t i = 0; i < 800; i += 37) {
    const int64_t *x = out.children[0]->buffers[1];
    assert_int_equal(x[i], hb_value(i / 16, 0, i % 16));
  }
  out.release(&out);
  td_counters c;
  td_service_counters(e.svc, &c);
  int64_t live = atomic_load(&e.b.live_bytes);
  if (live > budget) fail_msg("the cache keeps %lld bytes of answers alive, budget %lld", (long long)live, (long long)budget);
  assert_true(c.cache_bytes <= budget);
  td_table_release(t);
  env_close(&e);
  assert_int_equal(atomic_load(&e.b.live_bytes), 0);
}

/* ---- item 4: a new table on a failed shared subscription ---- */

static void test_item4_new_table_on_failed_subscription(void **state) {
  (void)state;
  env e;
  hb_init(&e.b, 2, 4);
  env_open(&e);
  td_error err;
  /* The location subscription fails: a new table fails at once with it. */
  td_table *a = make(&e, true);
  TD_ASSERT_OK(td_answer_failure(e.b.loc_subs[0], "directory vanished", &err), &err);
  td_table_options o = {NULL, NULL, true};
  td_table *b = NULL;
  assert_int_equal(td_make_table(e.svc, e.key, &o, &b, &err), TD_EBACKEND);
  TD_ASSERT_CONTAINS(err.message, "directory vanished");
  assert_null(b);
  flush(&e);
  assert_int_equal(td_table_status(a, NULL), TD_EFAILED);
  assert_int_equal(td_make_table(e.svc, e.key, &o, &b, &err), TD_EBACKEND);
  TD_ASSERT_CONTAINS(err.message, "directory vanished");
  td_table_release(a);
  /* Once every table of it is gone, a new table subscribes afresh. */
  b = make(&e, true);
  assert_int_equal(e.b.n_loc_subs, 2);
  /* A failed size subscription: the same. */
  TD_ASSERT_OK(td_answer_failure(hb_size_sub(&e.b, 1), "file gone", &err), &err);
  td_table *c = NULL;
  assert_int_equal(td_make_table(e.svc, e.key, &o, &c, &err), TD_EBACKEND);
  TD_ASSERT_CONTAINS(err.message, "file gone");
  flush(&e);
  assert_int_equal(td_table_status(b, NULL), TD_EFAILED);
  assert_int_equal(td_make_table(e.svc, e.key, &o, &c, &err), TD_EBACKEND);
  TD_ASSERT_CONTAINS(err.message, "file gone");
  td_table_release(b);
  env_close(&e);
}

/* ---- item 5: answers after td_service_free ---- */

static void test_item5_answer_after_service_free(void **state) {
  (void)state;
  env e;
  hb_init(&e.b, 2, 4);
  env_open(&e);
  td_error err;
  td_table *t = make(&e, true);
  /* A failed subscription is never unsubscribed: the backend may keep it. */
  td_request held = e.b.loc_subs[0];
  TD_ASSERT_OK(td_answer_failure(held, "broken", &err), &err);
  td_table_release(t);
  td_request size_sub = hb_size_sub(&e.b, 0);
  td_table_key_release(e.key);
  td_service_free(e.svc);
  td_location_key *k = hb_key(&e.b, 7);
  assert_int_equal(td_answer_location(held, k, &err), TD_ESTATE);
  assert_int_equal(td_answer_size(size_sub, 10, &err), TD_ESTATE);
  assert_int_equal(td_answer_success(held, &err), TD_ESTATE);
  assert_int_equal(td_answer_failure(size_sub, "late", &err), TD_ESTATE);
  struct ArrowSchema sch;
  struct ArrowArray arr;
  int64_t v[1] = {1};
  TD_ASSERT_OK(td_field_schema_make("x", TD_TYPE_INT64, NULL, &sch, &err), &err);
  hand_int64(v, NULL, 1, 0, 1, &arr);
  assert_int_equal(td_answer_values(held, &sch, &arr, &err), TD_ESTATE);
  assert_null(sch.release);
  assert_null(arr.release);
  td_location_key_release(k);
  hb_destroy(&e.b);
}

typedef struct late_answerer {
  td_request req;
  _Atomic bool stop;
  _Atomic int64_t answers;
} late_answerer;

static void *answer_loop(void *arg) {
  late_answerer *a = arg;
  while (!atomic_load(&a->stop)) {
    td_answer_size(a->req, atomic_load(&a->answers) + 100, NULL);
    atomic_fetch_add(&a->answers, 1);
  }
  return NULL;
}

/* Answers racing with td_service_free, on services made and freed again. */
static void test_item5_answers_racing_service_free(void **state) {
  (void)state;
  for (int round = 0; round < 20; round++) {
    env e;
    hb_init(&e.b, 1, 4);
    env_open_opts(&e, 4, -1, 0);
    td_table *t = make(&e, true);
    late_answerer a = {hb_size_sub(&e.b, 0), false, 0};
    pthread_t th;
    pthread_create(&th, NULL, answer_loop, &a);
    while (atomic_load(&a.answers) < 10) sched_yield();
    td_table_release(t);
    td_table_key_release(e.key);
    td_service_free(e.svc);
    int64_t n = atomic_load(&a.answers);
    while (atomic_load(&a.answers) < n + 10) sched_yield();
    atomic_store(&a.stop, true);
    pthread_join(th, NULL);
    hb_destroy(&e.b);
  }
}

/* ---- item 6: a size that shrinks and grows back between cycles ---- */

static void test_item6_shrink_and_regrow_between_cycles(void **state) {
  (void)state;
  env e;
  hb_init(&e.b, 1, 4);
  env_open(&e);
  td_error err;
  td_table *t = make(&e, true);
  recorder r = {0};
  TD_ASSERT_OK(td_table_add_listener(t, record, &r, NULL, &err), &err);
  td_request sub = hb_size_sub(&e.b, 0);
  assert_int_equal(td_answer_size(sub, 3, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "size shrank from 4 to 3");
  assert_int_equal(td_answer_size(sub, 6, &err), TD_ESTATE);
  flush(&e);
  assert_int_equal(r.errors, 1);
  TD_ASSERT_CONTAINS(r.error, "size shrank from 4 to 3");
  assert_int_equal(td_table_size(t), 4);
  td_table_release(t);

  /* Against a size the engine learnt from another request. */
  e.b.sizes[0] = 8;
  td_table *st = make(&e, false); /* sizes the location at 8 */
  e.b.sizes[0] = 4;
  td_table_options o = {NULL, NULL, true};
  assert_int_equal(td_make_table(e.svc, e.key, &o, &t, &err), TD_ECONTRACT);
  TD_ASSERT_CONTAINS(err.message, "size shrank from 8 to 4");
  td_table_release(st);
  env_close(&e);
}

/* ---- item 7: big location batches ---- */

typedef struct batch_rec {
  int64_t new_locations;
  int64_t rows;
} batch_rec;

static void count_batch(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)t;
  batch_rec *r = ctx;
  assert_null(e);
  r->new_locations += u->n_new_locations;
  r->rows += u->size_after - u->size_before;
  for (int64_t i = 1; i < u->n_new_locations; i++)
    assert_true(td_location_key_compare(u->new_locations[i - 1], u->new_locations[i]) < 0);
}

static void test_item7_large_location_batches(void **state) {
  (void)state;
  env e;
  const int64_t n = 100000;
  hb_init(&e.b, 2 * n, 1);
  e.b.n_locs = n;
  env_open(&e);
  td_error err;
  td_table *t = make(&e, true);
  assert_int_equal(td_table_location_count(t), n);
  batch_rec r = {0, 0};
  TD_ASSERT_OK(td_table_add_listener(t, count_batch, &r, NULL, &err), &err);
  /* A second batch, in reverse order, each location twice. */
  for (int64_t i = 2 * n - 1; i >= n; i--) {
    td_location_key *k = hb_key(&e.b, i);
    TD_ASSERT_OK(td_answer_location(e.b.loc_subs[0], k, &err), &err);
    TD_ASSERT_OK(td_answer_location(e.b.loc_subs[0], k, &err), &err);
    td_location_key_release(k);
  }
  flush(&e);
  assert_int_equal(r.new_locations, n);
  assert_int_equal(td_table_location_count(t), 2 * n);
  assert_int_equal(td_table_size(t), 2 * n);
  for (int64_t i = 0; i < 2 * n; i += 9973) {
    char want[32];
    snprintf(want, sizeof want, "L%06lld", (long long)i);
    assert_string_equal(td_location_key_identity(td_table_location(t, i)), want);
  }
  td_table_release(t);
  env_close(&e);
}

/* ---- item 8: partition values on a table without a partition schema ---- */

static void test_item8_unpartitioned_ignores_partition_values(void **state) {
  (void)state;
  env e;
  hb_init(&e.b, 6, 2);
  e.b.n_locs = 3;
  e.b.key_values = true;
  env_open(&e);
  td_table *t = make(&e, false);
  assert_int_equal(td_table_location_count(t), 3);
  assert_int_equal(td_table_num_columns(t), 1);
  check_x(t, 0, 0, false);
  td_error err;
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, 6, &out, &err), &err);
  const int64_t *x = out.children[0]->buffers[1];
  assert_int_equal(x[3], hb_value(1, 0, 1));
  out.release(&out);
  assert_int_equal(e.reps.n, 1);
  TD_ASSERT_CONTAINS(e.reps.last, "no partition columns");
  TD_ASSERT_CONTAINS(e.reps.last, "ignored");
  /* Refreshing: more such locations, still reported once. */
  td_table *live = make(&e, true);
  td_location_key *k = hb_key(&e.b, 5);
  TD_ASSERT_OK(td_answer_location(e.b.loc_subs[0], k, &err), &err);
  td_location_key_release(k);
  flush(&e);
  assert_int_equal(td_table_location_count(live), 4);
  assert_int_equal(td_table_status(live, NULL), TD_OK);
  assert_int_equal(e.reps.n, 1);
  td_table_release(live);
  td_table_release(t);
  env_close(&e);
}

/* ---- item 9: when a subscription failure is td_make_table's error ---- */

static void test_item9_subscription_failure_timing(void **state) {
  (void)state;
  for (int sizes = 0; sizes < 2; sizes++) {
    for (int mode = SUB_FAIL_FIRST; mode <= SUB_SUCCESS_THEN_FAIL; mode++) {
      env e;
      hb_init(&e.b, 2, 4);
      if (sizes) e.b.size_sub_mode = mode;
      else e.b.loc_sub_mode = mode;
      env_open(&e);
      td_table_options o = {NULL, NULL, true};
      td_table *t = NULL;
      td_error err;
      int rc = td_make_table(e.svc, e.key, &o, &t, &err);
      if (mode == SUB_FAIL_FIRST) {
        /* Refused outright: td_make_table's error. */
        assert_int_equal(rc, TD_EBACKEND);
        TD_ASSERT_CONTAINS(err.message, "refused outright");
        assert_null(t);
      } else {
        /* It delivered something: a table, which then fails. */
        TD_ASSERT_OK(rc, &err);
        recorder r = {0};
        TD_ASSERT_OK(td_table_add_listener(t, record, &r, NULL, &err), &err);
        flush(&e);
        assert_int_equal(r.errors, 1);
        TD_ASSERT_CONTAINS(r.error, mode == SUB_DATA_THEN_FAIL ? "lost after data" : "lost after success");
        assert_int_equal(td_table_status(t, NULL), TD_EFAILED);
        td_table_release(t);
      }
      env_close(&e);
    }
  }
}

/* ---- item 10: wide schemas ---- */

static void test_item10_wide_schema(void **state) {
  (void)state;
  env e;
  const int64_t n = 100000;
  hb_init(&e.b, 2, 3);
  e.b.n_cols = n;
  e.b.partitioned = true;
  env_open(&e);
  td_table *t = make(&e, false);
  assert_int_equal(td_table_num_columns(t), n + 1);
  assert_int_equal(td_table_column_index(t, "P"), 0);
  for (int64_t i = 0; i < n; i += 997) {
    char name[32];
    snprintf(name, sizeof name, "c%lld", (long long)i);
    assert_int_equal(td_table_column_index(t, name), i + 1);
    assert_string_equal(td_table_column_name(t, i + 1), name);
  }
  assert_int_equal(td_table_column_index(t, "c100000"), -1);
  assert_int_equal(td_table_column_index(t, "x"), -1);
  td_error err;
  int64_t cols[3] = {n, 1, 77778};
  struct ArrowArray out;
  TD_ASSERT_OK(td_table_read(t, cols, 3, 2, 5, &out, &err), &err);
  const int64_t *a = out.children[0]->buffers[1], *b = out.children[1]->buffers[1], *c = out.children[2]->buffers[1];
  assert_int_equal(a[0], hb_value(0, n - 1, 2));
  assert_int_equal(b[1], hb_value(1, 0, 0));
  assert_int_equal(c[2], hb_value(1, 77777, 1));
  out.release(&out);
  td_table_release(t);
  env_close(&e);

  /* A duplicate name among them is still found. */
  hb_init(&e.b, 1, 1);
  e.b.n_cols = n;
  e.b.dup_column = true;
  env_open(&e);
  td_table_options o = {NULL, NULL, false};
  assert_int_not_equal(td_make_table(e.svc, e.key, &o, &t, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "c99998");
  env_close(&e);
}

/* Location keys with very many partition values: duplicates still found,
 * in O(n log n). */
static void test_item10_wide_location_keys(void **state) {
  (void)state;
  const int64_t n = 100000;
  char **names = malloc((size_t)n * sizeof *names);
  td_value *vals = malloc((size_t)n * sizeof *vals);
  for (int64_t i = 0; i < n; i++) {
    names[i] = malloc(32);
    snprintf(names[i], 32, "p%lld", (long long)i);
    vals[i] = td_value_int(TD_TYPE_INT64, i);
  }
  td_location_key *k;
  td_error err;
  TD_ASSERT_OK(td_location_key_new("id", n, (const char *const *)names, vals, &k, &err), &err);
  assert_int_equal(td_location_key_partition_count(k), n);
  td_location_key_release(k);
  snprintf(names[n - 1], 32, "p%lld", (long long)(n / 2));
  assert_int_equal(td_location_key_new("id", n, (const char *const *)names, vals, &k, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "appears twice");
  for (int64_t i = 0; i < n; i++) free(names[i]);
  free(names);
  free(vals);
}

/* ---- the memory backend forgets subscriptions the engine dropped ---- */

static td_backend_vtable capture_vt;
static const td_backend_vtable *inner_vt;
static td_request captured_size_sub;

static void capture_sub_size(void *self, const td_table_key *t, const td_location_key *l, td_request sub) {
  captured_size_sub = sub;
  inner_vt->subscribe_to_table_location_size(self, t, l, sub);
}

static void test_item5_backend_drops_dead_subscriptions(void **state) {
  (void)state;
  td_error err;
  td_memory_backend *mb;
  TD_ASSERT_OK(td_memory_backend_new(&mb, &err), &err);
  const char *names[] = {"x"};
  td_type_id types[] = {TD_TYPE_INT64};
  struct ArrowSchema ds;
  TD_ASSERT_OK(td_schema_make(1, names, types, NULL, &ds, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(mb, "t", &ds, NULL, &err), &err);
  ds.release(&ds);
  td_location_key *k;
  TD_ASSERT_OK(td_location_key_standalone(&k, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_location(mb, "t", k, NULL, &err), &err);
  td_backend be = td_memory_backend_backend(mb);
  inner_vt = be.vtable;
  capture_vt = *be.vtable;
  capture_vt.subscribe_to_table_location_size = capture_sub_size;
  be.vtable = &capture_vt;
  reports reps = {0};
  td_service_options o;
  td_service_options_init(&o);
  o.on_error = on_error;
  o.on_error_ctx = &reps;
  td_service *svc;
  TD_ASSERT_OK(td_service_new(be, &o, &svc, &err), &err);
  td_table_key *tk;
  TD_ASSERT_OK(td_table_key_new("t", &tk, &err), &err);
  td_table_options to = {NULL, NULL, true};
  td_table *t;
  TD_ASSERT_OK(td_make_table(svc, tk, &to, &t, &err), &err);
  TD_ASSERT_OK(td_answer_failure(captured_size_sub, "gone", &err), &err);
  for (int i = 0; i < 3; i++) {
    td_builder *b;
    TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &b, &err), &err);
    TD_ASSERT_OK(td_builder_append_int(b, i, &err), &err);
    struct ArrowArray col, batch;
    TD_ASSERT_OK(td_builder_finish(b, &col, &err), &err);
    td_builder_free(b);
    TD_ASSERT_OK(td_batch_make(1, &col, &batch, &err), &err);
    TD_ASSERT_OK(td_memory_backend_append(mb, "t", k, &batch, &err), &err);
  }
  /* The first notification finds the subscription dead; no more after. */
  assert_int_equal(reps.n, 1);
  td_table_release(t);
  td_table_key_release(tk);
  td_location_key_release(k);
  td_service_free(svc);
  td_memory_backend_release(mb);
}

/* ---- item 11: backend methods that reach back into the engine ---- */

/* table_schema making tables: another key works (table_schema used to run
 * under the service's providers lock: a deadlock), its own key is TD_ESTATE
 * (it would wait for itself), and the table it answers for is made. */
static void test_item11_table_schema_makes_tables(void **state) {
  (void)state;
  env e;
  hb_init(&e.b, 2, 10);
  env_open(&e);
  e.b.svc = e.svc;
  e.b.reenter = 1;
  td_table *t = make(&e, false);
  assert_int_equal(e.b.reenter_rc[0], TD_OK);
  assert_int_equal(e.b.reenter_rc[1], TD_ESTATE);
  TD_ASSERT_CONTAINS(e.b.reenter_msg, "table 't'");
  TD_ASSERT_CONTAINS(e.b.reenter_msg, "wait for itself");
  assert_int_equal(td_table_size(t), 20);
  check_x(t, 0, 20, false);
  td_table_release(t);
  env_close(&e);
}

/* column_values reading the page it is filling: TD_ESTATE naming the table,
 * location and column (it waited on itself for ever); the read goes on. */
static void test_item11_values_read_their_own_page(void **state) {
  (void)state;
  env e;
  hb_init(&e.b, 1, 10);
  env_open(&e);
  e.b.svc = e.svc;
  td_table *t = make(&e, false);
  e.b.reenter = 2;
  check_x(t, 0, 10, false);
  assert_int_equal(e.b.reenter_rc[0], TD_ESTATE);
  TD_ASSERT_CONTAINS(e.b.reenter_msg, "table 't', location 'L000000', column 'x'");
  TD_ASSERT_CONTAINS(e.b.reenter_msg, "wait for itself");
  td_table_release(t);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_item1_release_in_listener),
      cmocka_unit_test(test_item1_release_derived_in_listener),
      cmocka_unit_test(test_item2_sliced_struct_values),
      cmocka_unit_test(test_item2_sliced_partition_struct),
      cmocka_unit_test(test_item2_sliced_memory_batches),
      cmocka_unit_test(test_item3_budget_after_big_page),
      cmocka_unit_test(test_item3_slices_of_big_buffers),
      cmocka_unit_test(test_item4_new_table_on_failed_subscription),
      cmocka_unit_test(test_item5_answer_after_service_free),
      cmocka_unit_test(test_item5_answers_racing_service_free),
      cmocka_unit_test(test_item6_shrink_and_regrow_between_cycles),
      cmocka_unit_test(test_item7_large_location_batches),
      cmocka_unit_test(test_item8_unpartitioned_ignores_partition_values),
      cmocka_unit_test(test_item9_subscription_failure_timing),
      cmocka_unit_test(test_item10_wide_schema),
      cmocka_unit_test(test_item10_wide_location_keys),
      cmocka_unit_test(test_item5_backend_drops_dead_subscriptions),
      cmocka_unit_test(test_item11_table_schema_makes_tables),
      cmocka_unit_test(test_item11_values_read_their_own_page),
  };
  if (getenv("TD_TEST_FILTER")) cmocka_set_test_filter(getenv("TD_TEST_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
