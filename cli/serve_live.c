/*
 * cli/serve_live.c - live queries over WebSocket for `tabledata serve`.
 *
 * Clients of the same SQL share one hub: one refreshing query result (a
 * td_table from td_query) with one listener.  Each update cycle the listener
 * encodes the cycle's delta once (an Arrow IPC stream of the changed and
 * inserted rows) and queues it, reference counted, to every client.  A
 * message is one binary frame: a 4-byte little-endian length, a JSON header
 * ({"type":"snapshot"|"delta"|"error", "version", "size", "changed":
 * [positions], "inserted": [[at, n], ...]}), then the IPC stream: the rows of
 * `changed` in that order, then those of `inserted` (positions in the new
 * version, applied in order).
 *
 * Each client has a sender thread that writes its queue (civetweb writes
 * block, with the request timeout).  A client's queue is bounded in bytes:
 * when a delta would overflow it, the queue is dropped and the client is
 * resynchronised with a fresh snapshot (its deltas coalesce into one
 * snapshot); a write that fails or times out drops the client.
 *
 * Snapshots and deltas meet at a version: a snapshot's stream is opened at
 * version V (td_table_stream, the version unchanged across the call) under
 * the hub's lock, so no delta past V was broadcast yet; the client takes the
 * deltas of versions after V, queued behind the snapshot.  Lock order:
 * server mu, hub mu, client mu.
 */
#include <civetweb.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "serve_request.h"

typedef struct msg {
  _Atomic int refs;
  size_t len;
  unsigned char *data;
} msg;

typedef struct client {
  struct mg_connection *conn;
  td_serve *srv;
  td_serve_hub *hub;
  struct client *next; /* in the hub's list */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  msg **q;
  size_t nq, capq, qbytes;
  bool resync, closing, stop, dead, started;
  int64_t min_version;
  pthread_t thread;
} client;

struct td_serve_hub {
  td_serve *srv;
  char *sql;
  td_table *t;
  int64_t listener;
  int refs;       /* clients; guarded by srv->mu */
  bool failed;    /* the query failed: new clients get a new hub */
  pthread_mutex_t mu;
  int64_t last_version; /* the last version broadcast */
  client *clients;
  td_serve_hub *next; /* in the server's list */
};

/* ---- messages ---- */

static void msg_release(msg *m) {
  if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
    free(m->data);
    free(m);
  }
}

/* A message of `header` (a JSON object, taken) and a copy of `ipc`. */
static msg *msg_make(json_t *header, const unsigned char *ipc, size_t ipc_len) {
  char *h = header ? json_dumps(header, JSON_COMPACT) : NULL;
  json_decref(header);
  msg *m = h ? calloc(1, sizeof *m) : NULL;
  size_t hl = h ? strlen(h) : 0;
  if (m) m->data = malloc(4 + hl + ipc_len);
  if (!m || !m->data) {
    free(m);
    free(h);
    return NULL;
  }
  m->data[0] = (unsigned char)(hl & 0xff);
  m->data[1] = (unsigned char)((hl >> 8) & 0xff);
  m->data[2] = (unsigned char)((hl >> 16) & 0xff);
  m->data[3] = (unsigned char)((hl >> 24) & 0xff);
  memcpy(m->data + 4, h, hl);
  if (ipc_len) memcpy(m->data + 4 + hl, ipc, ipc_len);
  m->len = 4 + hl + ipc_len;
  atomic_init(&m->refs, 1);
  free(h);
  return m;
}

/* A message over `buf` (taken), whose first 4 + strlen(header) bytes were
 * left free by td_serve_ipc_encode's prefix; `header` is freed. */
static msg *msg_own(unsigned char *buf, size_t len, char *header) {
  size_t hl = strlen(header);
  msg *m = calloc(1, sizeof *m);
  if (!m) {
    free(buf);
    free(header);
    return NULL;
  }
  buf[0] = (unsigned char)(hl & 0xff);
  buf[1] = (unsigned char)((hl >> 8) & 0xff);
  buf[2] = (unsigned char)((hl >> 16) & 0xff);
  buf[3] = (unsigned char)((hl >> 24) & 0xff);
  memcpy(buf + 4, header, hl);
  free(header);
  m->data = buf;
  m->len = len;
  atomic_init(&m->refs, 1);
  return m;
}

static int nomem(td_error *err) {
  err->code = TD_ENOMEM;
  snprintf(err->message, sizeof err->message, "out of memory");
  return TD_ENOMEM;
}

static msg *error_msg(const char *message) {
  return msg_make(json_pack("{s:s, s:s}", "type", "error", "error", message), NULL, 0);
}

/* Queues `m` to `c` (c->mu held).  Overflow coalesces: the queue is dropped
 * and the client will get a fresh snapshot instead.  `force` (errors)
 * always queues.  The caller wakes the sender after unlocking c->mu (woken
 * under the lock, it would only block again on the mutex). */
static void enqueue(td_serve *s, client *c, msg *m, bool force) {
  if (!force && (int64_t)(c->qbytes + m->len) > s->queue_bytes) {
    for (size_t i = 0; i < c->nq; i++) msg_release(c->q[i]);
    c->nq = 0;
    c->qbytes = 0;
    c->resync = true;
    return;
  }
  if (c->nq == c->capq) {
    size_t cap = c->capq ? 2 * c->capq : 8;
    msg **nq = realloc(c->q, cap * sizeof *nq);
    if (!nq) {
      c->closing = true;
      return;
    }
    c->q = nq;
    c->capq = cap;
  }
  atomic_fetch_add(&m->refs, 1);
  c->q[c->nq++] = m;
  c->qbytes += m->len;
}

/* ---- encoding ---- */

/* Encodes the rows [begin, end) runs of `t` (read now) as an IPC stream. */
static int encode_ranges(td_table *t, const int64_t (*ranges)[2], int64_t n, size_t prefix, unsigned char **out,
                         size_t *len, td_error *err) {
  struct ArrowSchema schema;
  int rc = td_table_schema(t, &schema, err);
  if (rc) return rc;
  struct ArrowArray *batches = calloc((size_t)n + 1, sizeof *batches);
  if (!batches) {
    schema.release(&schema);
    err->code = TD_ENOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
    return TD_ENOMEM;
  }
  int64_t k = 0;
  for (; k < n && rc == TD_OK; k++) rc = td_table_read(t, NULL, 0, ranges[k][0], ranges[k][1], &batches[k], err);
  if (rc) {
    for (int64_t i = 0; i < k - 1; i++) batches[i].release(&batches[i]);
    free(batches);
    schema.release(&schema);
    return rc;
  }
  struct ArrowArrayStream st;
  rc = td_serve_batch_stream(&schema, batches, n, &st, err);
  if (rc == TD_OK) {
    rc = td_serve_ipc_encode(&st, prefix, out, len, err);
    st.release(&st);
  }
  return rc;
}

/* A snapshot message of `st` (released; one version of the table,
 * `version`); NULL with err set on failure (TD_ERANGE: more rows than
 * max_rows). */
static msg *snapshot_msg(td_serve *s, struct ArrowArrayStream *st, int64_t version, td_error *err) {
  struct ArrowArrayStream all;
  int64_t rows = 0;
  int status;
  if (td_serve_collect(st, s->max_rows, s->max_time_ms, &all, &rows, &status, err) != TD_OK) return NULL;
  json_t *hj = json_pack("{s:s, s:I, s:I}", "type", "snapshot", "version", (json_int_t)version, "size",
                         (json_int_t)rows);
  char *header = hj ? json_dumps(hj, JSON_COMPACT) : NULL;
  json_decref(hj);
  unsigned char *ipc = NULL;
  size_t len = 0;
  int rc = header ? td_serve_ipc_encode(&all, 4 + strlen(header), &ipc, &len, err) : nomem(err);
  all.release(&all);
  if (rc) {
    free(header);
    return NULL;
  }
  msg *m = msg_own(ipc, len, header);
  if (!m) nomem(err);
  return m;
}

static int cmp_range(const void *a, const void *b) {
  const int64_t *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* One cycle's delta as a message. */
static msg *delta_msg(td_serve *s, td_table *t, const td_table_update *u, td_error *err) {
  if (u->replaced) {
    /* In the listener the table stays at u->version. */
    struct ArrowArrayStream st;
    if (td_table_stream(t, NULL, 0, &st, err) != TD_OK) return NULL;
    return snapshot_msg(s, &st, u->version, err);
  }
  int64_t n = u->n_changed + u->n_added;
  int64_t (*ranges)[2] = calloc((size_t)n + 1, sizeof *ranges);
  json_t *changed = json_array(), *inserted = json_array();
  if (!ranges || !changed || !inserted) {
    free(ranges);
    json_decref(changed);
    json_decref(inserted);
    err->code = TD_ENOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
    return NULL;
  }
  int64_t k = 0;
  for (int64_t i = 0; i < u->n_changed; i++) {
    json_array_append_new(changed, json_integer(u->changed[i]));
    if (k > 0 && ranges[k - 1][1] == u->changed[i]) ranges[k - 1][1]++;
    else {
      ranges[k][0] = u->changed[i];
      ranges[k++][1] = u->changed[i] + 1;
    }
  }
  int64_t first_insert = k;
  for (int64_t i = 0; i < u->n_added; i++) {
    const td_added_rows *a = &u->added[i];
    int64_t at = a->region >= 0 ? td_table_region_start(t, a->region) + a->first_row : a->first_row;
    ranges[k][0] = at;
    ranges[k++][1] = at + (a->end_row - a->first_row);
  }
  qsort(ranges + first_insert, (size_t)(k - first_insert), sizeof *ranges, cmp_range);
  for (int64_t i = first_insert; i < k; i++)
    json_array_append_new(inserted, json_pack("[I, I]", (json_int_t)ranges[i][0],
                                              (json_int_t)(ranges[i][1] - ranges[i][0])));
  json_t *hj = json_pack("{s:s, s:I, s:I, s:o, s:o}", "type", "delta", "version", (json_int_t)u->version, "size",
                         (json_int_t)u->size_after, "changed", changed, "inserted", inserted);
  char *header = hj ? json_dumps(hj, JSON_COMPACT) : NULL;
  json_decref(hj);
  unsigned char *ipc = NULL;
  size_t len = 0;
  int rc = header ? encode_ranges(t, (const int64_t(*)[2])ranges, k, 4 + strlen(header), &ipc, &len, err) : nomem(err);
  free(ranges);
  if (rc) {
    free(header);
    return NULL;
  }
  msg *m = msg_own(ipc, len, header);
  if (!m) nomem(err);
  return m;
}

/* ---- hubs ---- */

static void on_cycle(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  td_serve_hub *h = ctx;
  td_serve *s = h->srv;
  pthread_mutex_lock(&h->mu);
  msg *m = NULL;
  td_error err;
  td_error_clear(&err);
  bool fatal = false;
  if (e) {
    snprintf(err.message, sizeof err.message, "the live query failed: %.900s", e->message);
    fatal = true;
  } else {
    h->last_version = u->version;
    bool any = false;
    for (client *c = h->clients; c; c = c->next) any |= !c->resync && u->version > c->min_version;
    if (u->size_after > s->max_rows) {
      snprintf(err.message, sizeof err.message, "the live result grew past %lld rows (--max-rows)",
               (long long)s->max_rows);
      fatal = true;
    } else if (any && !(m = delta_msg(s, t, u, &err))) {
      fatal = true;
    }
  }
  if (fatal) {
    h->failed = true;
    m = error_msg(err.message);
  }
  for (client *c = h->clients; c && m; c = c->next) {
    pthread_mutex_lock(&c->mu);
    if (fatal) {
      enqueue(s, c, m, true);
      c->closing = true;
    } else if (!c->resync && u->version > c->min_version) {
      enqueue(s, c, m, false);
    }
    pthread_mutex_unlock(&c->mu);
    pthread_cond_signal(&c->cv);
  }
  msg_release(m);
  pthread_mutex_unlock(&h->mu);
}

static void hub_free(td_serve_hub *h) {
  if (!h) return;
  if (h->t) {
    td_table_remove_listener(h->t, h->listener);
    td_table_release(h->t);
  }
  pthread_mutex_destroy(&h->mu);
  free(h->sql);
  free(h);
}

static int hub_get(td_serve *s, const char *sql, td_serve_hub **out, td_error *err) {
  pthread_mutex_lock(&s->mu);
  for (td_serve_hub *h = s->hubs; h; h = h->next) {
    pthread_mutex_lock(&h->mu);
    bool ok = !h->failed && strcmp(h->sql, sql) == 0;
    pthread_mutex_unlock(&h->mu);
    if (ok) {
      h->refs++;
      *out = h;
      pthread_mutex_unlock(&s->mu);
      return TD_OK;
    }
  }
  pthread_mutex_unlock(&s->mu);
  td_serve_hub *h = calloc(1, sizeof *h);
  if (!h || !(h->sql = strdup(sql))) {
    free(h);
    err->code = TD_ENOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
    return TD_ENOMEM;
  }
  h->srv = s;
  pthread_mutex_init(&h->mu, NULL);
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = td_serve_resolve;
  qo.resolver_ctx = s;
  qo.refreshing = true;
  qo.read_only = true;
  int rc = td_query(sql, &qo, &h->t, err);
  if (rc == TD_OK) {
    h->last_version = td_table_version(h->t);
    rc = td_table_add_listener(h->t, on_cycle, h, &h->listener, err);
  }
  if (rc) {
    hub_free(h);
    return rc;
  }
  h->refs = 1;
  pthread_mutex_lock(&s->mu);
  h->next = s->hubs;
  s->hubs = h;
  pthread_mutex_unlock(&s->mu);
  *out = h;
  return TD_OK;
}

static void hub_put(td_serve *s, td_serve_hub *h) {
  pthread_mutex_lock(&s->mu);
  bool last = --h->refs == 0;
  if (last)
    for (td_serve_hub **p = &s->hubs; *p; p = &(*p)->next)
      if (*p == h) {
        *p = h->next;
        break;
      }
  pthread_mutex_unlock(&s->mu);
  if (last) hub_free(h);
}

void td_serve_live_shutdown(td_serve *s) {
  while (s->hubs) {
    td_serve_hub *h = s->hubs;
    s->hubs = h->next;
    hub_free(h);
  }
}

/* ---- clients ---- */

/* Takes a snapshot for `c` and puts it first in its queue; the client
 * then takes the deltas of later versions.  The snapshot's stream is opened
 * under the hub's lock, at a version V stable across the call: the hub has
 * broadcast nothing past V then (its listener waits for the lock), so
 * deltas after V reach the client.  They are queued while the snapshot is
 * encoded (outside the lock) and follow it.  Returns false when the client
 * must close. */
static bool resync(client *c) {
  td_serve_hub *h = c->hub;
  td_error err;
  td_error_clear(&err);
  for (int attempt = 0; attempt < 100; attempt++) {
    struct ArrowArrayStream st;
    pthread_mutex_lock(&h->mu);
    int64_t v = td_table_version(h->t);
    int rc = td_table_stream(h->t, NULL, 0, &st, &err);
    bool stable = rc == TD_OK && td_table_version(h->t) == v;
    if (stable) {
      pthread_mutex_lock(&c->mu);
      for (size_t i = 0; i < c->nq; i++) msg_release(c->q[i]);
      c->nq = 0;
      c->qbytes = 0;
      c->min_version = v;
      c->resync = false;
      pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&h->mu);
    if (rc) break;
    if (!stable) {
      st.release(&st);
      continue;
    }
    msg *m = snapshot_msg(c->srv, &st, v, &err);
    if (!m) break;
    pthread_mutex_lock(&c->mu);
    bool ok = !c->resync; /* else its queue overflowed meanwhile: start again */
    if (ok) {
      size_t before = c->nq;
      enqueue(c->srv, c, m, true);
      if (c->nq == before + 1) {
        memmove(c->q + 1, c->q, before * sizeof *c->q);
        c->q[0] = m;
      }
    }
    pthread_mutex_unlock(&c->mu);
    msg_release(m);
    if (ok) return true;
  }
  if (!err.message[0]) snprintf(err.message, sizeof err.message, "the table changed during every snapshot attempt");
  msg *m = error_msg(err.message);
  pthread_mutex_lock(&c->mu);
  if (m) enqueue(c->srv, c, m, true);
  c->closing = true;
  pthread_mutex_unlock(&c->mu);
  msg_release(m);
  return false;
}

static void *sender(void *arg) {
  client *c = arg;
  pthread_mutex_lock(&c->mu);
  while (!c->stop) {
    if (c->resync && !c->closing) {
      pthread_mutex_unlock(&c->mu);
      resync(c);
      pthread_mutex_lock(&c->mu);
      continue;
    }
    if (c->nq == 0) {
      if (c->closing) break;
      pthread_cond_wait(&c->cv, &c->mu);
      continue;
    }
    msg *m = c->q[0];
    memmove(c->q, c->q + 1, (c->nq - 1) * sizeof *c->q);
    c->nq--;
    c->qbytes -= m->len;
    pthread_mutex_unlock(&c->mu);
    int w = mg_websocket_write(c->conn, MG_WEBSOCKET_OPCODE_BINARY, (const char *)m->data, m->len);
    msg_release(m);
    pthread_mutex_lock(&c->mu);
    if (w <= 0) {
      c->dead = true;
      break;
    }
  }
  bool say_goodbye = c->closing && !c->dead && !c->stop;
  pthread_mutex_unlock(&c->mu);
  if (say_goodbye) mg_websocket_write(c->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "\x03\xe8", 2);
  return NULL;
}

static void client_free(client *c) {
  for (size_t i = 0; i < c->nq; i++) msg_release(c->q[i]);
  free(c->q);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
}

int td_serve_ws_connect(const struct mg_connection *cconn, void *cbdata) {
  td_serve *s = cbdata;
  struct mg_connection *conn = (struct mg_connection *)cconn;
  const struct mg_request_info *ri = mg_get_request_info(conn);
  td_serve_request r;
  int status = td_serve_parse("GET", ri->local_uri, ri->query_string, NULL, NULL,
                              mg_get_header(conn, "Authorization"), NULL, 0, &r);
  if (s->token && !td_serve_token_equal(s->token, r.token)) {
    td_serve_send_error(conn, 401, r.token ? "wrong token" : "this server needs a token (?token=T)", -1);
    td_serve_request_reset(&r);
    return 1;
  }
  if (status != 200) {
    td_serve_send_error(conn, status, r.message, -1);
    td_serve_request_reset(&r);
    return 1;
  }
  if (atomic_fetch_add(&s->clients, 1) >= s->max_clients) {
    atomic_fetch_sub(&s->clients, 1);
    td_serve_send_error(conn, 503, "too many live clients (--max-clients)", -1);
    td_serve_request_reset(&r);
    return 1;
  }
  td_error err;
  td_error_clear(&err);
  td_serve_hub *h = NULL;
  int rc = hub_get(s, r.sql, &h, &err);
  client *c = rc == TD_OK ? calloc(1, sizeof *c) : NULL;
  if (rc == TD_OK && !c) {
    hub_put(s, h);
    rc = err.code = TD_ENOMEM;
    snprintf(err.message, sizeof err.message, "out of memory");
  }
  td_serve_request_reset(&r);
  if (rc) {
    atomic_fetch_sub(&s->clients, 1);
    td_serve_send_error(conn, td_serve_status_of(rc), err.message,
                        rc == TD_EPARSE || rc == TD_ETYPE ? err.position : -1);
    return 1;
  }
  c->conn = conn;
  c->srv = s;
  c->hub = h;
  c->resync = true;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  pthread_mutex_lock(&h->mu);
  c->next = h->clients;
  h->clients = c;
  pthread_mutex_unlock(&h->mu);
  mg_set_user_connection_data(conn, c);
  return 0;
}

void td_serve_ws_ready(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  client *c = mg_get_user_connection_data(conn);
  if (c && pthread_create(&c->thread, NULL, sender, c) == 0) c->started = true;
}

int td_serve_ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata) {
  (void)conn, (void)data, (void)len, (void)cbdata;
  /* Clients only listen; a close frame ends the connection. */
  return (bits & 0x0f) != MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE;
}

void td_serve_ws_close(const struct mg_connection *conn, void *cbdata) {
  td_serve *s = cbdata;
  client *c = mg_get_user_connection_data(conn);
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  c->stop = true;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  if (c->started) pthread_join(c->thread, NULL);
  td_serve_hub *h = c->hub;
  pthread_mutex_lock(&h->mu);
  for (client **p = &h->clients; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  pthread_mutex_unlock(&h->mu);
  hub_put(s, h);
  client_free(c);
  mg_set_user_connection_data((struct mg_connection *)conn, NULL);
  atomic_fetch_sub(&s->clients, 1);
}
