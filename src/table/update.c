/*
 * table/update.c - refreshing tables: subscriptions, update cycles and
 * listeners (see update.h for the design and its invariants).
 */
#include "table/update.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pages/cache.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sys.h"

struct td_graph {
  _Atomic int64_t refs; /* the service's, and the thread's while it runs */
  td_service *service;
  pthread_mutex_t lock; /* recursive: cycles, refreshing tables, listeners */
  pthread_mutex_t sig;  /* the fields below, up to `tables` */
  pthread_cond_t wake, done;
  bool dirty, force, stop, started;
  pthread_t thread;
  int64_t period_ms;
  int64_t cycles_started, cycles_done;
  _Atomic int64_t cpu_ns;
  td_table **tables; /* refreshing tables, under lock */
  int64_t n_tables, cap_tables;
  int64_t cursor;    /* the table a cycle is updating; -1 outside cycles */
  bool in_cycle;     /* a cycle is running (its tables, then the deferred ones) */
  td_table **deferred; /* derived tables to apply at the end of the cycle, under lock */
  int64_t n_deferred, cap_deferred;
};

/* ---- lifetime and the thread ---- */

int td_graph_new(td_service *s, td_graph **out, td_error *err) {
  td_graph *g = td_calloc(1, sizeof *g);
  if (!g) return td_err_nomem(err, "creating the update graph");
  atomic_init(&g->refs, 1);
  atomic_init(&g->cpu_ns, 0);
  g->cursor = -1;
  g->service = s;
  g->period_ms = s->opts.update_period_ms;
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&g->lock, &ma);
  pthread_mutexattr_destroy(&ma);
  pthread_mutex_init(&g->sig, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&g->wake, &ca);
  pthread_cond_init(&g->done, &ca);
  pthread_condattr_destroy(&ca);
  *out = g;
  return TD_OK;
}

static void graph_release(td_graph *g) {
  if (atomic_fetch_sub(&g->refs, 1) != 1) return;
  td_free(g->tables);
  td_free(g->deferred);
  pthread_mutex_destroy(&g->lock);
  pthread_mutex_destroy(&g->sig);
  pthread_cond_destroy(&g->wake);
  pthread_cond_destroy(&g->done);
  td_free(g);
}

void td_graph_notify(void *graph) {
  td_graph *g = graph;
  pthread_mutex_lock(&g->sig);
  if (!g->dirty) { /* a flood of notifications wakes the thread once */
    g->dirty = true;
    pthread_cond_signal(&g->wake);
  }
  pthread_mutex_unlock(&g->sig);
}

static void add_ms(struct timespec *t, int64_t ms) {
  t->tv_sec += ms / 1000;
  t->tv_nsec += (ms % 1000) * 1000000L;
  if (t->tv_nsec >= 1000000000L) {
    t->tv_sec++;
    t->tv_nsec -= 1000000000L;
  }
}

static bool before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static int64_t thread_cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return td_timespec_ns(t);
}

static void run_cycle(td_graph *g, int64_t no, int64_t cpu0);

static void *graph_main(void *arg) {
  td_graph *g = arg;
  /* The first period starts with the thread: a change that arrives just
   * after the first refreshing table is made waits for its boundary like
   * any other (td_service_flush does not). */
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  add_ms(&next, g->period_ms);
  pthread_mutex_lock(&g->sig);
  for (;;) {
    for (;;) {
      if (g->stop || g->force) break;
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (g->dirty && (g->period_ms <= 0 || !before(&now, &next))) break;
      if (g->dirty) pthread_cond_timedwait(&g->wake, &g->sig, &next);
      else pthread_cond_wait(&g->wake, &g->sig);
    }
    if (g->stop) break;
    g->dirty = g->force = false;
    int64_t no = ++g->cycles_started;
    pthread_mutex_unlock(&g->sig);
    run_cycle(g, no, thread_cpu_ns()); /* may stop the graph (the last table released) */
    clock_gettime(CLOCK_MONOTONIC, &next);
    add_ms(&next, g->period_ms);
    pthread_mutex_lock(&g->sig);
  }
  pthread_mutex_unlock(&g->sig);
  graph_release(g);
  return NULL;
}

/* Under lock: starts the thread with the first refreshing table. */
static int ensure_started(td_graph *g, td_error *err) {
  pthread_mutex_lock(&g->sig);
  int rc = TD_OK;
  if (!g->started) {
    atomic_fetch_add(&g->refs, 1);
    if (pthread_create(&g->thread, NULL, graph_main, g) != 0) {
      atomic_fetch_sub(&g->refs, 1);
      rc = td_err(err, TD_ENOMEM, "cannot start the update thread: %s", strerror(errno));
    } else {
      g->started = true;
    }
  }
  pthread_mutex_unlock(&g->sig);
  return rc;
}

void td_graph_stop(td_graph *g) {
  if (!g) return;
  pthread_mutex_lock(&g->sig);
  bool started = g->started;
  g->stop = true;
  pthread_cond_broadcast(&g->wake);
  pthread_cond_broadcast(&g->done);
  pthread_mutex_unlock(&g->sig);
  if (started) {
    if (pthread_equal(pthread_self(), g->thread)) pthread_detach(g->thread);
    else pthread_join(g->thread, NULL);
  }
  g->service = NULL;
  graph_release(g);
}

void td_graph_stats(td_graph *g, int64_t *cycles, int64_t *cpu_ns) {
  pthread_mutex_lock(&g->sig);
  *cycles = g->cycles_done;
  pthread_mutex_unlock(&g->sig);
  *cpu_ns = atomic_load(&g->cpu_ns);
}

int td_graph_flush(td_graph *g, int64_t timeout_ms, td_error *err) {
  pthread_mutex_lock(&g->sig);
  if (!g->started) {
    pthread_mutex_unlock(&g->sig);
    return TD_OK; /* no refreshing table, nothing to apply */
  }
  if (pthread_equal(pthread_self(), g->thread)) {
    pthread_mutex_unlock(&g->sig);
    return td_err(err, TD_ESTATE, "td_service_flush cannot wait for a cycle from inside a listener");
  }
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  add_ms(&deadline, timeout_ms);
  int64_t target = g->cycles_started + 1;
  g->force = true;
  pthread_cond_signal(&g->wake);
  int rc = TD_OK;
  while (g->cycles_done < target && !g->stop) {
    if (pthread_cond_timedwait(&g->done, &g->sig, &deadline) == ETIMEDOUT && g->cycles_done < target) {
      rc = td_err(err, TD_ETIMEOUT, "no update cycle completed within %lld ms", (long long)timeout_ms);
      break;
    }
  }
  pthread_mutex_unlock(&g->sig);
  return rc;
}

bool td_graph_on_update_thread(td_graph *g) {
  pthread_mutex_lock(&g->sig);
  bool on = g->started && pthread_equal(pthread_self(), g->thread);
  pthread_mutex_unlock(&g->sig);
  return on;
}

/* ---- subscriptions ---- */

/* Ends a subscription: the backend's unsubscribe, exactly once, unless the
 * subscription failed. */
static void close_sub(td_service *s, td_call *c) {
  if (!c) return;
  if (td_call_close(s, c)) {
    atomic_fetch_add(&s->calls[TD_METHOD_UNSUBSCRIBE], 1);
    s->backend.vtable->unsubscribe(s->backend.self, td_call_request(s, c));
  }
  td_call_end(s, c);
}

/* Starts a subscription and waits for its initial answers (up to its
 * success or failure).  A failure as its first answer (refused outright),
 * or no answer in time, is the error; a subscription that failed after
 * delivering anything is returned (FAILED): the tables made on it fail in
 * the next cycle (Deephaven's behaviour). */
static int subscribe(td_graph *g, td_method m, td_provider *p, td_location *l, td_call **out, td_error *err) {
  td_service *s = g->service;
  char desc[768];
  if (l)
    snprintf(desc, sizeof desc, "subscribe_to_table_location_size(table '%s', location '%s')",
             td_table_key_name(p->key), l->name);
  else
    snprintf(desc, sizeof desc, "subscribe_to_table_locations(table '%s')", td_table_key_name(p->key));
  td_call *c;
  int rc = td_call_begin(s, m, desc, &c, err);
  if (rc) return rc;
  c->notify = td_graph_notify;
  c->notify_ctx = g;
  if (l) c->size_floor = atomic_load(&l->size);
  else c->allow_removal = p->update_mode == TD_UPDATE_ADD_REMOVE;
  if (l) s->backend.vtable->subscribe_to_table_location_size(s->backend.self, p->key, l->key, td_call_request(s, c));
  else s->backend.vtable->subscribe_to_table_locations(s->backend.self, p->key, td_call_request(s, c));
  rc = td_call_wait(s, c, err);
  if (rc == TD_ETIMEOUT) {
    /* Abandoned, not failed: the backend may hold it, so tell it once. */
    atomic_fetch_add(&s->calls[TD_METHOD_UNSUBSCRIBE], 1);
    s->backend.vtable->unsubscribe(s->backend.self, td_call_request(s, c));
  } else if (rc) {
    bool late = false;
    char msg[8];
    td_call_failure(s, c, &late, msg, sizeof msg);
    if (late) rc = TD_OK;
  }
  if (rc) {
    td_call_end(s, c);
    return rc;
  }
  *out = c;
  return TD_OK;
}

static int push_loc(td_location ***arr, int64_t *n, int64_t *cap, td_location *l) {
  if (*n == *cap) {
    int64_t nc = *cap ? *cap * 2 : 16;
    td_location **a = td_realloc(*arr, (size_t)nc * sizeof *a);
    if (!a) return TD_ENOMEM;
    *arr = a;
    *cap = nc;
  }
  (*arr)[(*n)++] = l;
  return TD_OK;
}

/* Keeps the locations of arr[0 .. *n) that are not removed. */
static void compact_removed(td_location **arr, int64_t *n) {
  int64_t k = 0;
  for (int64_t i = 0; i < *n; i++)
    if (!arr[i]->removed) arr[k++] = arr[i];
  *n = k;
}

/* A removal the subscription delivered: the location must be one it added
 * and has not removed since (else the provider fails, TD_ECONTRACT). */
static int take_removal(td_provider *p, const td_location_key *key, bool fresh, td_error *e) {
  td_location *l = td_provider_find(p, key);
  if (!l || !l->delivered) {
    char name[256];
    td_location_key_format(key, name, sizeof name);
    return td_err(e, TD_ECONTRACT,
                  "table '%s': location '%s' was removed but its location subscription never added it "
                  "(or removed it already)",
                  td_table_key_name(p->key), name);
  }
  td_provider_forget(p, l);
  l->delivered = false;
  if (fresh && push_loc(&p->gone, &p->n_gone, &p->cap_gone, l) != TD_OK)
    return td_err_nomem(e, "removing a location");
  return TD_OK;
}

/* Interns what the location subscription delivered since the last drain,
 * appending to p->seen (and p->fresh when `fresh`); removals (ADD_REMOVE)
 * leave both lists and go to p->gone (when `fresh`).  `initial`: only its
 * initial answers, and not its failure. */
static void drain_provider(td_graph *g, td_provider *p, bool fresh, bool initial) {
  if (!p->loc_sub || p->fail_code) return;
  td_location_key **keys;
  bool *removed;
  int64_t n;
  char msg[TD_ERROR_MESSAGE_SIZE];
  int rc = td_call_take_locations(g->service, p->loc_sub, initial, &keys, &removed, &n, msg, sizeof msg);
  td_error e;
  td_error_clear(&e);
  bool any_removed = false;
  for (int64_t i = 0; i < n; i++) {
    td_location *l;
    bool is_new;
    if (!p->fail_code) {
      int r;
      if (removed && removed[i]) {
        any_removed = true;
        r = take_removal(p, keys[i], fresh, &e);
      } else {
        r = td_provider_intern(p, keys[i], &l, &is_new, &e);
        if (r == TD_OK && ((!l->delivered && push_loc(&p->seen, &p->n_seen, &p->cap_seen, l) != TD_OK) ||
                           (fresh && push_loc(&p->fresh, &p->n_fresh, &p->cap_fresh, l) != TD_OK)))
          r = td_err_nomem(&e, "receiving a location");
        if (r == TD_OK) l->delivered = true;
      }
      if (r) {
        p->fail_code = r;
        snprintf(p->fail_msg, sizeof p->fail_msg, "%s", e.message);
      }
    }
    td_location_key_release(keys[i]);
  }
  td_free(keys);
  td_free(removed);
  if (any_removed) {
    compact_removed(p->seen, &p->n_seen);
    compact_removed(p->fresh, &p->n_fresh);
  }
  if (rc && !p->fail_code) {
    p->fail_code = rc;
    snprintf(p->fail_msg, sizeof p->fail_msg, "%s", msg);
  }
}

static void fail_location(td_location *l, int code, const char *msg) {
  if (l->fail_code) return;
  l->fail_code = code;
  l->fail_msg = td_strdup(msg);
}

/* Applies the latest size the location's subscription reported (`initial`:
 * the size of its initial answers, and not its failure). */
static void drain_location(td_graph *g, td_location *l, bool initial) {
  if (!l->size_sub || l->fail_code) return;
  int64_t size, n_sizes;
  char msg[TD_ERROR_MESSAGE_SIZE];
  int rc = td_call_peek_size(g->service, l->size_sub, initial, &size, &n_sizes, msg, sizeof msg);
  if (rc) {
    fail_location(l, rc, msg);
    return;
  }
  td_error e;
  td_error_clear(&e);
  if (n_sizes > 0 && size >= TD_MAX_LOCATION_ROWS)
    rc = td_err(&e, TD_ERANGE, "table '%s', location '%s': size %lld exceeds the limit of 2^43 rows",
                td_table_key_name(l->provider->key), l->name, (long long)size);
  else if (n_sizes > 0) rc = td_location_set_size(l, size, &e);
  if (rc) fail_location(l, rc, e.message);
}

/* The failure of a shared subscription, drained (`code`, `msg`) or not yet
 * (its call): a new table on it fails at once with it (issue 8). */
static int shared_failure(td_graph *g, td_call *c, int code, const char *msg, td_error *err) {
  if (code) return td_err(err, code, "%s", msg);
  char m[TD_ERROR_MESSAGE_SIZE];
  int rc = td_call_failure(g->service, c, NULL, m, sizeof m);
  return rc ? td_err(err, rc, "%s", m) : TD_OK;
}

static int acquire_loc_sub(td_graph *g, td_provider *p, td_error *err) {
  if (p->loc_sub) {
    int rc = shared_failure(g, p->loc_sub, p->fail_code, p->fail_msg, err);
    if (rc == TD_OK) p->loc_sub_refs++;
    return rc;
  }
  /* A fresh subscription: forget what an earlier, ended one delivered. */
  for (int64_t i = 0; i < p->n_seen; i++) p->seen[i]->delivered = false;
  p->n_seen = p->n_fresh = p->n_gone = 0;
  p->fail_code = 0;
  p->fail_msg[0] = '\0';
  int rc = subscribe(g, TD_METHOD_SUBSCRIBE_LOCATIONS, p, NULL, &p->loc_sub, err);
  if (rc) return rc;
  p->loc_sub_refs = 1;
  /* The table starts from the initial answers: a location among them that
   * disagrees with the table is td_make_table's error. */
  drain_provider(g, p, false, true);
  if (p->fail_code) {
    rc = td_err(err, p->fail_code, "%s", p->fail_msg);
    p->loc_sub_refs = 0;
    close_sub(g->service, p->loc_sub);
    p->loc_sub = NULL;
    return rc;
  }
  /* Failed after delivering them: the table is made, and fails in the next
   * cycle (the failure marked the graph dirty). */
  p->fail_code = td_call_failure(g->service, p->loc_sub, NULL, p->fail_msg, sizeof p->fail_msg);
  return TD_OK;
}

static void release_loc_sub(td_graph *g, td_provider *p) {
  if (--p->loc_sub_refs > 0) return;
  close_sub(g->service, p->loc_sub);
  p->loc_sub = NULL;
}

static void release_size_sub(td_graph *g, td_location *l);

static int acquire_size_sub(td_graph *g, td_location *l, td_error *err) {
  if (l->size_sub) {
    int rc = shared_failure(g, l->size_sub, l->fail_code, l->fail_msg ? l->fail_msg : "location failed", err);
    if (rc == TD_OK) l->size_sub_refs++;
    return rc;
  }
  int rc = subscribe(g, TD_METHOD_SUBSCRIBE_SIZE, l->provider, l, &l->size_sub, err);
  if (rc) return rc;
  l->size_sub_refs = 1;
  /* An initial size that cannot be taken is td_make_table's error. */
  drain_location(g, l, true);
  if (l->fail_code) {
    rc = td_err(err, l->fail_code, "%s", l->fail_msg ? l->fail_msg : "location failed");
    release_size_sub(g, l);
    return rc;
  }
  /* Failed after its initial answers: the tables fail in the next cycle. */
  char msg[TD_ERROR_MESSAGE_SIZE];
  int frc = td_call_failure(g->service, l->size_sub, NULL, msg, sizeof msg);
  if (frc) fail_location(l, frc, msg);
  return TD_OK;
}

static void release_size_sub(td_graph *g, td_location *l) {
  if (--l->size_sub_refs > 0) return;
  close_sub(g->service, l->size_sub);
  l->size_sub = NULL;
  /* A failure belongs to the subscription that ended: a later table
   * subscribes afresh. */
  l->fail_code = 0;
  td_free(l->fail_msg);
  l->fail_msg = NULL;
}

/* ---- tables ---- */

/* True when the backend removed `l` since the last drain (ADD_REMOVE): a
 * failure of its size subscription is then no reason to fail the table (the
 * next cycle removes it). */
static bool being_removed(td_graph *g, const td_location *l) {
  td_provider *p = l->provider;
  return p->update_mode == TD_UPDATE_ADD_REMOVE && p->loc_sub && td_call_has_removal(g->service, p->loc_sub, l->key);
}

static bool keeps(const td_table *t, const td_location *l) {
  return !t->opts.predicate || t->opts.predicate(t->opts.predicate_ctx, l->key);
}

/* Picks, from `cand`, the locations the table keeps and has not included
 * yet, in location-key order, subscribing to their sizes: O(n log n) for a
 * batch of n (a location that comes twice in the batch is interned once, so
 * the copies sort next to each other).  On failure the subscriptions taken
 * here are dropped again. */
static int include_new(td_graph *g, td_table *t, td_location *const *cand, int64_t n, td_location ***out,
                       int64_t *n_out, td_error *err) {
  td_location **picked = NULL;
  int64_t np = 0, cap = 0;
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    td_location *l = cand[i];
    if (l->removed || td_key_index_get(&t->included, l->key) || !keeps(t, l)) continue;
    if (push_loc(&picked, &np, &cap, l) != TD_OK) rc = td_err_nomem(err, "including locations");
  }
  if (rc == TD_OK && np > 1) {
    qsort(picked, (size_t)np, sizeof *picked, td_location_order);
    int64_t u = 1;
    for (int64_t i = 1; i < np; i++)
      if (picked[i] != picked[u - 1]) picked[u++] = picked[i];
    np = u;
  }
  int64_t acquired = 0;
  while (rc == TD_OK && acquired < np) {
    rc = acquire_size_sub(g, picked[acquired], err);
    if (rc == TD_OK) acquired++;
    else if (being_removed(g, picked[acquired])) { /* gone already: not included */
      memmove(&picked[acquired], &picked[acquired + 1], (size_t)(np - acquired - 1) * sizeof *picked);
      np--;
      rc = TD_OK;
    }
  }
  for (int64_t i = 0; rc == TD_OK && i < np; i++)
    if (td_key_index_put(&t->included, picked[i]) != TD_OK) rc = td_err_nomem(err, "including locations");
  if (rc) {
    for (int64_t i = 0; i < acquired; i++) release_size_sub(g, picked[i]);
    td_free(picked);
    return rc;
  }
  *out = picked;
  *n_out = np;
  return TD_OK;
}

static const td_location_key *table_key_of(const void *item) { return ((const td_location *)item)->key; }

int td_graph_make_table(td_graph *g, td_provider *p, const td_table_options *opts, td_table **out,
                        td_error *err) {
  *out = NULL;
  const td_backend_vtable *vt = g->service->backend.vtable;
  if (!vt->subscribe_to_table_locations || !vt->subscribe_to_table_location_size || !vt->unsubscribe)
    return td_err(err, TD_EUNSUPPORTED,
                  "table '%s': a refreshing table needs the backend's subscribe and unsubscribe methods",
                  td_table_key_name(p->key));
  int rc = ensure_started(g, err);
  if (rc) return rc;
  pthread_mutex_lock(&g->lock);
  td_table *t = NULL;
  td_location **locs = NULL;
  int64_t n = 0;
  bool have_sub = false;
  if ((rc = acquire_loc_sub(g, p, err)) != TD_OK) goto done;
  have_sub = true;
  if ((rc = td_table_alloc(g->service, p, opts, &t, err)) != TD_OK) goto done;
  t->refreshing = true;
  td_key_index_init(&t->included, table_key_of);
  if ((rc = include_new(g, t, p->seen, p->n_seen, &locs, &n, err)) != TD_OK) goto done;
  int64_t *sizes = n ? td_malloc((size_t)n * sizeof *sizes) : NULL;
  if (n && !sizes) rc = td_err_nomem(err, "building a table");
  for (int64_t i = 0; rc == TD_OK && i < n; i++) sizes[i] = atomic_load(&locs[i]->size);
  if (rc == TD_OK && n > TD_MAX_REGIONS)
    rc = td_err(err, TD_ERANGE, "table '%s' has %lld locations; a table holds at most 2^20",
                td_table_key_name(p->key), (long long)n);
  if (rc == TD_OK) rc = td_snapshot_new(locs, sizes, n, 0, &t->snap, err);
  td_free(sizes);
  if (rc == TD_OK && g->n_tables == g->cap_tables) {
    int64_t cap = g->cap_tables ? g->cap_tables * 2 : 8;
    td_table **nt = td_realloc(g->tables, (size_t)cap * sizeof *nt);
    if (!nt) rc = td_err_nomem(err, "registering a refreshing table");
    else {
      g->tables = nt;
      g->cap_tables = cap;
    }
  }
  if (rc == TD_OK) g->tables[g->n_tables++] = t;
  else
    for (int64_t i = 0; i < n; i++) release_size_sub(g, locs[i]);
done:
  if (rc) {
    if (have_sub) release_loc_sub(g, p);
    if (t) {
      t->refreshing = false; /* nothing to drop any more */
      td_key_index_reset(&t->included); /* the locations include_new indexed */
      td_table_release(t);
    }
    t = NULL;
  }
  pthread_mutex_unlock(&g->lock);
  td_free(locs);
  *out = t;
  return rc;
}

static void drop_table(td_graph *g, td_table *t) {
  for (int64_t i = 0; i < g->n_tables; i++) {
    if (g->tables[i] == t) {
      memmove(&g->tables[i], &g->tables[i + 1], (size_t)(g->n_tables - i - 1) * sizeof *g->tables);
      g->n_tables--;
      if (i <= g->cursor) g->cursor--; /* released from a listener of this cycle */
      break;
    }
  }
  for (int64_t i = 0; t->snap && i < t->snap->n_regions; i++)
    if (!t->snap->regions[i].removed) release_size_sub(g, t->snap->regions[i].loc);
  release_loc_sub(g, t->provider);
  td_key_index_reset(&t->included);
}

bool td_graph_retire_table(td_graph *g, td_table *t) {
  pthread_mutex_lock(&g->lock); /* waits for a running cycle, unless inside it */
  if (t->kind == TD_TABLE_SOURCE) drop_table(g, t);
  bool now = t->pins == 0;
  t->zombie = !now;
  pthread_mutex_unlock(&g->lock);
  return now;
}

void td_graph_defer(td_graph *g, td_table *t) {
  pthread_mutex_lock(&g->lock);
  bool later = g->in_cycle;
  if (later && !t->queued && g->n_deferred == g->cap_deferred) {
    int64_t cap = g->cap_deferred ? g->cap_deferred * 2 : 8;
    td_table **d = td_realloc(g->deferred, (size_t)cap * sizeof *d);
    if (d) {
      g->deferred = d;
      g->cap_deferred = cap;
    } else {
      later = false; /* no room to queue it: apply it now */
    }
  }
  if (later && !t->queued) {
    g->deferred[g->n_deferred++] = t;
    t->queued = true;
  }
  if (!later && !t->queued) td_derived_run_deferred(t);
  pthread_mutex_unlock(&g->lock);
}

void td_graph_undefer(td_graph *g, td_table *t) {
  pthread_mutex_lock(&g->lock);
  for (int64_t i = 0; t->queued && i < g->n_deferred; i++)
    if (g->deferred[i] == t) {
      g->deferred[i] = g->deferred[--g->n_deferred];
      t->queued = false;
    }
  pthread_mutex_unlock(&g->lock);
}

/* The deferred tables of a cycle, oldest first: a table's inputs are older
 * than it, so each is applied after every deferred input of it (applying
 * one may queue younger ones). */
static void run_deferred(td_graph *g) {
  while (g->n_deferred > 0) {
    int64_t k = 0;
    for (int64_t i = 1; i < g->n_deferred; i++)
      if (g->deferred[i]->seq < g->deferred[k]->seq) k = i;
    td_table *t = g->deferred[k];
    g->deferred[k] = g->deferred[--g->n_deferred];
    t->queued = false;
    if (atomic_load(&t->refs) > 0) td_derived_run_deferred(t);
  }
}

/* ---- listeners ---- */

int td_graph_add_listener(td_graph *g, td_table *t, td_table_listener fn, void *ctx, int64_t *id,
                          td_error *err) {
  if (!t->refreshing) return td_err(err, TD_ESTATE, "only refreshing tables have listeners");
  pthread_mutex_lock(&g->lock);
  int rc = TD_OK;
  if (t->fail_code) rc = td_err(err, TD_EFAILED, "the table has failed: %s", t->fail_msg);
  else if (t->n_listeners == t->cap_listeners) {
    int64_t cap = t->cap_listeners ? t->cap_listeners * 2 : 4;
    td_listener_entry *l = td_realloc(t->listeners, (size_t)cap * sizeof *l);
    if (!l) rc = td_err_nomem(err, "adding a listener");
    else {
      t->listeners = l;
      t->cap_listeners = cap;
    }
  }
  if (rc == TD_OK) {
    td_listener_entry *e = &t->listeners[t->n_listeners++];
    e->id = ++t->next_listener_id;
    e->fn = fn;
    e->ctx = ctx;
    e->removed = false;
    if (id) *id = e->id;
  }
  pthread_mutex_unlock(&g->lock);
  return rc;
}

int td_graph_remove_listener(td_graph *g, td_table *t, int64_t id) {
  pthread_mutex_lock(&g->lock);
  int rc = TD_ENOTFOUND;
  for (int64_t i = 0; i < t->n_listeners; i++) {
    if (t->listeners[i].id == id && !t->listeners[i].removed) {
      t->listeners[i].removed = true; /* compacted after any dispatch */
      rc = TD_OK;
    }
  }
  pthread_mutex_unlock(&g->lock);
  return rc;
}

/* Calls the table's listeners in registration order; those added during the
 * dispatch wait for the next one; removed ones are skipped, then dropped. */
void td_graph_dispatch(td_table *t, const td_table_update *u, const td_error *e) {
  t->pins++;
  int64_t n = t->n_listeners;
  for (int64_t i = 0; i < n && atomic_load(&t->refs) > 0; i++) {
    td_listener_entry le = t->listeners[i]; /* the array may move during the call */
    if (!le.removed) le.fn(le.ctx, t, u, e);
  }
  int64_t k = 0;
  for (int64_t i = 0; i < t->n_listeners; i++)
    if (!t->listeners[i].removed) t->listeners[k++] = t->listeners[i];
  t->n_listeners = k;
  if (--t->pins == 0 && t->zombie) td_table_destroy(t);
}

void td_graph_fail_table(td_table *t, int code, const char *msg) {
  pthread_mutex_lock(&t->lock);
  bool first = t->fail_code == 0;
  if (first) {
    t->fail_code = code;
    snprintf(t->fail_msg, sizeof t->fail_msg, "%s", msg);
  }
  pthread_mutex_unlock(&t->lock);
  if (!t->fail_told) {
    t->fail_told = true;
    td_error e;
    td_error_clear(&e);
    td_err(&e, code, "%s", t->fail_msg);
    td_graph_dispatch(t, NULL, &e);
  }
}

/* One table's share of a cycle.  Removed locations (ADD_REMOVE) leave the
 * table first, so a key removed and added again in one cycle is included
 * as a new region; their regions stay as tombstones with no rows. */
static void update_table(td_graph *g, td_table *t) {
  if (t->fail_code) return;
  td_provider *p = t->provider;
  if (p->fail_code) {
    td_graph_fail_table(t, p->fail_code, p->fail_msg);
    return;
  }
  td_error e;
  td_error_clear(&e);
  td_snapshot *old = t->snap;
  if (p->n_gone > 0)
    for (int64_t i = 0; i < old->n_regions; i++)
      if (old->regions[i].loc->removed && !old->regions[i].removed)
        td_key_index_remove(&t->included, old->regions[i].loc->key);
  td_location **fresh = NULL;
  int64_t n_fresh = 0;
  int rc = include_new(g, t, p->fresh, p->n_fresh, &fresh, &n_fresh, &e);
  if (rc) {
    td_graph_fail_table(t, rc, e.message);
    return;
  }
  int64_t n = old->n_regions + n_fresh;
  if (n > TD_MAX_REGIONS) {
    for (int64_t i = 0; i < n_fresh; i++) release_size_sub(g, fresh[i]);
    td_free(fresh);
    td_err(&e, TD_ERANGE, "table '%s' would have %lld locations; a table holds at most 2^20",
           td_table_key_name(p->key), (long long)n);
    td_graph_fail_table(t, TD_ERANGE, e.message);
    return;
  }
  td_location **locs = td_malloc((size_t)(n + 1) * sizeof *locs);
  int64_t *sizes = td_malloc((size_t)(n + 1) * sizeof *sizes);
  td_added_rows *added = td_malloc((size_t)(n + 1) * sizeof *added);
  const td_location_key **newkeys = td_malloc((size_t)(n_fresh + 1) * sizeof *newkeys);
  td_added_rows *removed = NULL;
  int64_t *removed_begin = NULL;
  int64_t n_added = 0, n_removed = 0;
  if (p->n_gone > 0) {
    removed = td_malloc((size_t)(old->n_regions + 1) * sizeof *removed);
    removed_begin = td_malloc((size_t)(old->n_regions + 1) * sizeof *removed_begin);
  }
  if (!locs || !sizes || !added || !newkeys || (p->n_gone > 0 && (!removed || !removed_begin))) {
    rc = td_err_nomem(&e, "updating a table");
    goto out;
  }
  for (int64_t i = 0; i < n; i++) {
    td_location *l = i < old->n_regions ? old->regions[i].loc : fresh[i - old->n_regions];
    locs[i] = l;
    if (i < old->n_regions && (old->regions[i].removed || (removed && l->removed))) {
      sizes[i] = 0; /* a tombstone: the region is never reused */
      if (!old->regions[i].removed) {
        removed_begin[n_removed] = old->regions[i].row_begin;
        removed[n_removed++] = (td_added_rows){i, l->key, 0, old->regions[i].size};
      }
      continue;
    }
    int64_t was = i < old->n_regions ? old->regions[i].size : 0;
    if (l->fail_code && being_removed(g, l)) { /* removed next cycle: keep its rows till then */
      sizes[i] = was;
      continue;
    }
    if (l->fail_code) {
      rc = td_err(&e, l->fail_code, "%s", l->fail_msg ? l->fail_msg : "location failed");
      goto out;
    }
    sizes[i] = atomic_load(&l->size);
    if (sizes[i] > was) added[n_added++] = (td_added_rows){i, l->key, was, sizes[i]};
  }
  if (n_added == 0 && n_fresh == 0 && n_removed == 0) goto out; /* nothing changed */
  td_snapshot *snap;
  if ((rc = td_snapshot_new(locs, sizes, n, old->version + 1, &snap, &e)) != TD_OK) goto out;
  for (int64_t i = 0; i < old->n_regions; i++) snap->regions[i].removed = old->regions[i].removed || (removed && locs[i]->removed);
  pthread_mutex_lock(&t->lock);
  t->snap = snap;
  pthread_mutex_unlock(&t->lock);
  /* The removed locations' size subscriptions end with the region. */
  for (int64_t i = 0; i < n_removed; i++) release_size_sub(g, old->regions[removed[i].region].loc);
  for (int64_t i = 0; i < n_fresh; i++) newkeys[i] = fresh[i]->key;
  /* A removal moves later rows: position-based readers re-read. */
  td_table_update u = {snap->version, old->size, snap->size, n_added, added, n_fresh, newkeys, n_removed > 0, 0, NULL,
                       n_removed, removed, removed_begin};
  td_snapshot_release(old);
  td_graph_dispatch(t, &u, NULL);
out:
  td_free(locs);
  td_free(sizes);
  td_free(added);
  td_free(newkeys);
  td_free(removed);
  td_free(removed_begin);
  td_free(fresh);
  if (rc) td_graph_fail_table(t, rc, e.message);
}

/* A cycle takes no table references: a table whose last reference is
 * dropped elsewhere waits in td_graph_retire_table for the cycle to end, and
 * one released by a listener leaves g->tables at once (adjusting the cursor),
 * so the backend's unsubscribe has happened when td_table_release returns.
 * Only its memory outlives the dispatch that released it (pins).  The
 * cycle's CPU time (from cpu0) is counted before the cycle is marked done,
 * so a td_service_flush that returns sees it in the counters. */
static void run_cycle(td_graph *g, int64_t no, int64_t cpu0) {
  pthread_mutex_lock(&g->lock);
  /* Drain each subscription once, before any table changes. */
  for (int64_t i = 0; i < g->n_tables; i++) {
    td_provider *p = g->tables[i]->provider;
    if (p->drained_cycle != no) {
      p->drained_cycle = no;
      p->n_fresh = p->n_gone = 0;
      drain_provider(g, p, true, false);
    }
    td_snapshot *s = g->tables[i]->snap;
    for (int64_t r = 0; r < s->n_regions; r++) {
      td_location *l = s->regions[r].loc;
      if (!s->regions[r].removed && l->drained_cycle != no) {
        l->drained_cycle = no;
        drain_location(g, l, false);
      }
    }
  }
  g->in_cycle = true;
  for (g->cursor = 0; g->cursor < g->n_tables; g->cursor++) {
    td_table *t = g->tables[g->cursor];
    if (atomic_load(&t->refs) > 0) update_table(g, t); /* else: being released */
  }
  g->cursor = -1;
  run_deferred(g);
  g->in_cycle = false;
  /* Removed locations' pages go once every table has let them go.  (A
   * provider whose tables were all released in this cycle has none left
   * here; its removed pages age out of the cache by LRU.) */
  for (int64_t i = 0; i < g->n_tables; i++) {
    td_provider *p = g->tables[i]->provider;
    for (int64_t k = 0; p->drained_cycle == no && k < p->n_gone; k++)
      td_page_cache_drop_location(g->service->cache, p->gone[k]->id);
    if (p->drained_cycle == no) p->n_gone = 0; /* dropped once */
  }
  pthread_mutex_unlock(&g->lock);
  atomic_fetch_add(&g->cpu_ns, thread_cpu_ns() - cpu0);
  pthread_mutex_lock(&g->sig);
  g->cycles_done = no;
  pthread_cond_broadcast(&g->done);
  pthread_mutex_unlock(&g->sig);
}

void td_graph_lock(td_graph *g) { pthread_mutex_lock(&g->lock); }
void td_graph_unlock(td_graph *g) { pthread_mutex_unlock(&g->lock); }
