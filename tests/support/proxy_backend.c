/*
 * tests/support/proxy_backend.c - logging proxy and scripted test backends.
 */
#include "proxy_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- proxy ---- */

static void log_call(td_proxy *p, td_method m, const td_location_key *loc, const char *col, int64_t off,
                     int64_t mn, int64_t mx, td_request req) {
  pthread_mutex_lock(&p->lock);
  if (p->n_log < (int64_t)(sizeof p->log / sizeof *p->log)) {
    td_call_log *l = &p->log[p->n_log++];
    memset(l, 0, sizeof *l);
    l->method = m;
    if (loc) td_location_key_format(loc, l->location, sizeof l->location);
    if (col) snprintf(l->column, sizeof l->column, "%s", col);
    l->offset = off;
    l->min_rows = mn;
    l->max_rows = mx;
    l->req = req;
  }
  pthread_mutex_unlock(&p->lock);
}

static void p_schema(void *self, const td_table_key *t, td_request r) {
  td_proxy *p = self;
  log_call(p, TD_METHOD_TABLE_SCHEMA, NULL, NULL, 0, 0, 0, r);
  p->inner.vtable->table_schema(p->inner.self, t, r);
}
static void p_locations(void *self, const td_table_key *t, td_request r) {
  td_proxy *p = self;
  log_call(p, TD_METHOD_TABLE_LOCATIONS, NULL, NULL, 0, 0, 0, r);
  p->inner.vtable->table_locations(p->inner.self, t, r);
}
static void p_size(void *self, const td_table_key *t, const td_location_key *l, td_request r) {
  td_proxy *p = self;
  log_call(p, TD_METHOD_TABLE_LOCATION_SIZE, l, NULL, 0, 0, 0, r);
  p->inner.vtable->table_location_size(p->inner.self, t, l, r);
}
static void p_values(void *self, const td_table_key *t, const td_location_key *l, const char *c, int64_t off,
                     int64_t mn, int64_t mx, td_request r) {
  td_proxy *p = self;
  log_call(p, TD_METHOD_COLUMN_VALUES, l, c, off, mn, mx, r);
  p->inner.vtable->column_values(p->inner.self, t, l, c, off, mn, mx, r);
}
static void p_sub_locs(void *self, const td_table_key *t, td_request r) {
  td_proxy *p = self;
  log_call(p, TD_METHOD_SUBSCRIBE_LOCATIONS, NULL, NULL, 0, 0, 0, r);
  p->inner.vtable->subscribe_to_table_locations(p->inner.self, t, r);
}
static void p_sub_size(void *self, const td_table_key *t, const td_location_key *l, td_request r) {
  td_proxy *p = self;
  log_call(p, TD_METHOD_SUBSCRIBE_SIZE, l, NULL, 0, 0, 0, r);
  p->inner.vtable->subscribe_to_table_location_size(p->inner.self, t, l, r);
}
static void p_unsub(void *self, td_request r) {
  td_proxy *p = self;
  log_call(p, TD_METHOD_UNSUBSCRIBE, NULL, NULL, 0, 0, 0, r);
  p->inner.vtable->unsubscribe(p->inner.self, r);
}
static bool p_range(void *self, const td_table_key *t, const td_location_key *l, const char *c, int64_t off,
                    int64_t n, td_value *mn, td_value *mx) {
  td_proxy *p = self;
  return p->inner.vtable->column_range && p->inner.vtable->column_range(p->inner.self, t, l, c, off, n, mn, mx);
}
static bool p_no_nan(void *self, const td_table_key *t, const td_location_key *l, const char *c, int64_t off,
                     int64_t n) {
  td_proxy *p = self;
  return p->inner.vtable->column_no_nan && p->inner.vtable->column_no_nan(p->inner.self, t, l, c, off, n);
}

static void p_release(void *self) {
  td_proxy *p = self;
  if (p->inner.vtable->release) p->inner.vtable->release(p->inner.self);
}

static const td_backend_vtable proxy_vt = {p_schema,   p_locations, p_size,  p_values,
                                           p_sub_locs, p_sub_size,  p_unsub, p_release, p_range, p_no_nan};

void td_proxy_init(td_proxy *p) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->lock, NULL);
}
void td_proxy_destroy(td_proxy *p) { pthread_mutex_destroy(&p->lock); }

td_backend td_proxy_backend(td_proxy *p, td_backend inner) {
  p->inner = inner;
  td_backend b = {&proxy_vt, p};
  return b;
}

td_request td_proxy_last(td_proxy *p, td_method m, const char *location) {
  td_request r = {NULL, 0};
  pthread_mutex_lock(&p->lock);
  for (int64_t i = 0; i < p->n_log; i++)
    if (p->log[i].method == m && (!location || strcmp(p->log[i].location, location) == 0)) r = p->log[i].req;
  pthread_mutex_unlock(&p->lock);
  return r;
}

int64_t td_proxy_count(td_proxy *p, td_method m, const char *location) {
  int64_t n = 0;
  pthread_mutex_lock(&p->lock);
  for (int64_t i = 0; i < p->n_log; i++)
    if (p->log[i].method == m && (!location || strcmp(p->log[i].location, location) == 0)) n++;
  pthread_mutex_unlock(&p->lock);
  return n;
}

/* ---- script ---- */

td_location_key *td_script_key(int64_t i) {
  char v[32];
  snprintf(v, sizeof v, "L%lld", (long long)i);
  const char *names[1] = {"P"};
  td_value vals[1] = {td_value_str(v)};
  td_location_key *k = NULL;
  td_location_key_new(NULL, 1, names, vals, &k, NULL);
  return k;
}

void td_script_init(td_script *s, int64_t n_locs, int64_t size) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  s->n_locs = n_locs;
  for (int64_t i = 0; i < n_locs; i++) s->sizes[i] = size;
}

int64_t td_script_index(const td_location_key *k) {
  const td_value *v = td_location_key_find(k, "P");
  return v && !v->is_null ? atoll(v->v.s.ptr + 1) : -1;
}

static void s_schema(void *self, const td_table_key *t, td_request r) {
  td_script *s = self;
  const char *names[1] = {"x"};
  td_type_id types[1] = {TD_TYPE_INT64};
  const char *pn[1] = {"P"};
  td_type_id pt[1] = {TD_TYPE_UTF8};
  struct ArrowSchema ds, ps;
  td_schema_make(1, names, types, NULL, &ds, NULL);
  td_schema_make(1, pn, pt, NULL, &ps, NULL);
  if (s->schema_mode == TD_SCRIPT_UNSUPPORTED) {
    /* Turn x into an interval of months. */
    struct ArrowSchema *x = ds.children[0];
    x->format = "tiM"; /* interval[months], not carried; static storage: the release frees the private copy */
  }
  td_answer_schema(r, &ds, &ps, NULL);
}

static void s_locations(void *self, const td_table_key *t, td_request r) {
  td_script *s = self;
  for (int64_t i = 0; i < s->n_locs; i++) {
    td_location_key *k = td_script_key(i);
    td_answer_location(r, k, NULL);
    td_location_key_release(k);
  }
  if (s->locations_mode == TD_SCRIPT_DISAGREE) {
    const char *names[1] = {"Q"};
    td_value vals[1] = {td_value_str("odd")};
    td_location_key *k;
    td_location_key_new(NULL, 1, names, vals, &k, NULL);
    td_answer_location(r, k, NULL);
    td_location_key_release(k);
  }
  td_answer_success(r, NULL);
}

static void s_size(void *self, const td_table_key *t, const td_location_key *l, td_request r) {
  td_script *s = self;
  pthread_mutex_lock(&s->lock);
  int64_t size = s->sizes[td_script_index(l)];
  pthread_mutex_unlock(&s->lock);
  if (s->size_mode == TD_SCRIPT_SILENT) {
    pthread_mutex_lock(&s->lock);
    s->silent[s->n_silent++] = r;
    pthread_mutex_unlock(&s->lock);
    return;
  }
  td_answer_size(r, size, NULL);
}

typedef struct async_answer {
  td_request req;
  struct ArrowSchema schema;
  struct ArrowArray array;
} async_answer;

static void *async_thread(void *arg) {
  async_answer *a = arg;
  struct timespec ts = {0, 5 * 1000 * 1000};
  nanosleep(&ts, NULL);
  td_answer_values(a->req, &a->schema, &a->array, NULL);
  free(a);
  return NULL;
}

static void s_values(void *self, const td_table_key *t, const td_location_key *l, const char *col, int64_t off,
                     int64_t mn, int64_t mx, td_request r) {
  td_script *s = self;
  td_script_mode m = s->values_mode;
  if (m == TD_SCRIPT_FAIL) {
    td_answer_failure(r, "disk on fire", NULL);
    return;
  }
  if (m == TD_SCRIPT_SILENT) {
    pthread_mutex_lock(&s->lock);
    s->silent[s->n_silent++] = r;
    pthread_mutex_unlock(&s->lock);
    return;
  }
  int64_t n = m == TD_SCRIPT_TOO_FEW ? mn - 1 : m == TD_SCRIPT_TOO_MANY ? mx + 1 : mn;
  int64_t li = td_script_index(l);
  td_builder *b;
  td_builder_new(m == TD_SCRIPT_WRONG_TYPE ? TD_TYPE_INT32 : TD_TYPE_INT64, &b, NULL);
  for (int64_t i = 0; i < n; i++) td_builder_append_int(b, li * 1000000 + off + i, NULL);
  struct ArrowArray arr;
  td_builder_finish(b, &arr, NULL);
  td_builder_free(b);
  const char *name = m == TD_SCRIPT_WRONG_NAME ? "y" : col;
  td_type_id ty = m == TD_SCRIPT_WRONG_TYPE ? TD_TYPE_INT32 : TD_TYPE_INT64;
  struct ArrowSchema sch;
  if (m == TD_SCRIPT_TWO_COLUMNS) {
    const char *names[2] = {col, "extra"};
    td_type_id types[2] = {TD_TYPE_INT64, TD_TYPE_INT64};
    td_schema_make(2, names, types, NULL, &sch, NULL);
    td_builder_new(TD_TYPE_INT64, &b, NULL);
    for (int64_t i = 0; i < n; i++) td_builder_append_int(b, i, NULL);
    struct ArrowArray cols[2];
    cols[0] = arr;
    td_builder_finish(b, &cols[1], NULL);
    td_builder_free(b);
    td_batch_make(2, cols, &arr, NULL);
  } else {
    struct ArrowSchema wrapper;
    td_schema_make(1, &name, &ty, NULL, &wrapper, NULL);
    /* Use the field itself (the other accepted form is the one-column struct). */
    sch = *wrapper.children[0];
    wrapper.children[0]->release = NULL;
    wrapper.release(&wrapper);
  }
  if (m == TD_SCRIPT_ASYNC) {
    async_answer *a = malloc(sizeof *a);
    a->req = r;
    a->schema = sch;
    a->array = arr;
    pthread_mutex_lock(&s->lock);
    pthread_create(&s->threads[s->n_threads++], NULL, async_thread, a);
    pthread_mutex_unlock(&s->lock);
    return;
  }
  if (m == TD_SCRIPT_TWICE) {
    struct ArrowSchema sch2;
    struct ArrowArray arr2;
    const char *nm = col;
    td_type_id t64 = TD_TYPE_INT64;
    struct ArrowSchema w2;
    td_schema_make(1, &nm, &t64, NULL, &w2, NULL);
    sch2 = *w2.children[0];
    w2.children[0]->release = NULL;
    w2.release(&w2);
    td_builder_new(TD_TYPE_INT64, &b, NULL);
    for (int64_t i = 0; i < n; i++) td_builder_append_int(b, 0, NULL);
    td_builder_finish(b, &arr2, NULL);
    td_builder_free(b);
    td_answer_values(r, &sch, &arr, NULL);
    td_answer_values(r, &sch2, &arr2, NULL); /* the second answer */
    return;
  }
  td_answer_values(r, &sch, &arr, NULL);
}

static void s_unsub(void *self, td_request r) {}

static const td_backend_vtable script_vt = {s_schema, s_locations, s_size, s_values, NULL, NULL, s_unsub, NULL, NULL, NULL};

td_backend td_script_backend(td_script *s) {
  td_backend b = {&script_vt, s};
  return b;
}

void td_script_join(td_script *s) {
  for (int i = 0; i < s->n_threads; i++) pthread_join(s->threads[i], NULL);
  s->n_threads = 0;
}
