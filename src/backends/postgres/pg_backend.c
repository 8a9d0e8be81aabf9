/*
 * backends/postgres/pg_backend.c - the PostgreSQL backend: opening a table
 * (catalog queries for columns, key, horizon column and locations), the six
 * backend methods, and the poll thread that grows sizes to the commit
 * horizon and discovers new locations.
 *
 * Row order.  A location's rows are ordered by ORDER BY key (static tables)
 * or ORDER BY xid, key (live tables: `xid` is the xid8 column filled by
 * pg_current_xact_id()).  The size of a live location counts the rows with
 * xid < pg_snapshot_xmin(pg_current_snapshot()): every transaction below that
 * horizon has ended, and a new transaction always gets a larger xid, so the
 * counted rows are a prefix of the order that never changes (invariant 1).
 *
 * Reads.  column_values(offset, n) runs
 *   COPY (SELECT col, xid::text, key::text FROM rel t WHERE <location>
 *         AND (xid, key) >= <tuple of row o> ORDER BY ... OFFSET offset - o
 *         LIMIT n + 1) TO STDOUT (FORMAT binary)
 * where o <= offset is the nearest entry of the location's sparse index
 * (row offset -> key tuple).  The extra row gives the tuple of row
 * offset + n, the start of the next page, so sequential scans never OFFSET.
 * Only rows inside the counted prefix enter the index (invariant 1 makes
 * their tuples final).
 *
 * Threads.  Engine calls take a connection from a pool (libpq connections
 * are not shared between threads).  The poll thread owns one connection
 * (LISTENing on the channel when one is set).  `mu` guards locations,
 * subscriptions and the index; answers are sent under it so that nothing is
 * sent on a subscription after unsubscribe returns.  `size_mu` serializes
 * size counting (it updates a location's counted prefix).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/request_list.h"
#include "backends/postgres/pg_api.h"
#include "backends/postgres/pg_internal.h"
#include "tabledata/arrow_build.h"
#include "tabledata/keys.h"
#include "tabledata/postgres_backend.h"
#include "util/alloc.h"
#include "util/error.h"

#define PARTITION_COLUMN "partition"
#define OID_XID8 5069u
/* How long a lost connection is retried by the poll before subscriptions fail. */
#define RECONNECT_WINDOW_S 10.0

typedef struct pg_entry {
  int64_t offset; /* the row whose tuple this is */
  char *xid, *key;
} pg_entry;

typedef struct pg_loc pg_loc;

typedef struct pg_stashed {
  pg_loc *loc;
  int64_t col, offset, n;
  struct ArrowArray array;
} pg_stashed;

struct pg_loc {
  td_location_key *key;
  char *name;  /* for messages: the partition name or "col=value/..." */
  char *rel;   /* the relation to read */
  char *where; /* the location's condition on the table ("" for none) */
  pg_entry *idx;
  int64_t n_idx, cap_idx;
  int64_t counted;      /* rows in the final prefix (live) or counted (static) */
  char *last_xid, *last_key; /* tuple of row counted - 1 (live) */
  int64_t reported;     /* last size answered to size subscriptions */
  td_request_list size_subs;
  bool gone;
};

struct td_postgres_backend {
  atomic_int refs;
  char *conninfo, *table, *rel;
  uint32_t oid;
  td_pg_column *cols, *lcols;
  int64_t n_cols, n_lcols;
  char *key, *key_type, *xid; /* quoted identifiers; xid NULL when static */
  char *unsupported;
  bool partitioned;
  int64_t poll_ms;
  char *channel;
  pthread_mutex_t mu, size_mu;
  PGconn **pool;
  int64_t n_pool, cap_pool;
  pg_loc **locs;
  int64_t n_locs, cap_locs;
  td_request_list loc_subs;
  pg_stashed stash[64]; /* STASH_MAX */
  int64_t n_stash;
  pthread_t thread;
  bool thread_started, stop;
  int wake[2];
};

/* ---- small strings ---- */

typedef struct sbuf {
  char *s;
  size_t len, cap;
  bool oom;
} sbuf;

TD_PRINTF(2, 3) static void sb_add(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *s = td_realloc(b->s, cap);
    if (!s) {
      b->oom = true;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* "name" with embedded quotes doubled; caller frees. */
static char *quote_ident(const char *name) {
  sbuf b = {0};
  sb_add(&b, "\"");
  for (const char *p = name; *p; p++) sb_add(&b, *p == '"' ? "\"\"" : "%c", *p);
  sb_add(&b, "\"");
  if (b.oom) td_free(b.s);
  return b.oom ? NULL : b.s;
}

/* 'text' as a SQL literal (standard_conforming_strings: quotes doubled). */
static void sb_literal(sbuf *b, const char *s) {
  sb_add(b, "'");
  for (const char *p = s; *p; p++) sb_add(b, *p == '\'' ? "''" : "%c", *p);
  sb_add(b, "'");
}

/* The server's message without its trailing newline. */
static const char *pg_message(const char *m, char *buf, size_t n) {
  snprintf(buf, n, "%s", m && *m ? m : "unknown server error");
  size_t l = strlen(buf);
  while (l && (buf[l - 1] == '\n' || buf[l - 1] == ' ')) buf[--l] = 0;
  return buf;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- connections ---- */

static PGconn *conn_open(td_postgres_backend *pb, td_error *err) {
  PGconn *c = PQconnectdb(pb->conninfo);
  char m[512];
  if (!c) {
    td_err_nomem(err, "a PostgreSQL connection");
    return NULL;
  }
  if (PQstatus(c) != CONNECTION_OK) {
    td_err(err, TD_EIO, "table '%s': cannot connect to PostgreSQL: %s", pb->table,
           pg_message(PQerrorMessage(c), m, sizeof m));
    PQfinish(c);
    return NULL;
  }
  if (PQsetClientEncoding(c, "UTF8") != 0) {
    td_err(err, TD_EIO, "table '%s': cannot set client_encoding UTF8: %s", pb->table,
           pg_message(PQerrorMessage(c), m, sizeof m));
    PQfinish(c);
    return NULL;
  }
  return c;
}

/* A pooled connection, or a new one.  Pooled connections that the server
 * closed meanwhile (a restart) are noticed without blocking and dropped. */
static PGconn *conn_get(td_postgres_backend *pb, td_error *err) {
  for (;;) {
    pthread_mutex_lock(&pb->mu);
    PGconn *c = pb->n_pool ? pb->pool[--pb->n_pool] : NULL;
    pthread_mutex_unlock(&pb->mu);
    if (!c) return conn_open(pb, err);
    if (PQconsumeInput(c) && PQstatus(c) == CONNECTION_OK) return c;
    PQfinish(c);
  }
}

static void conn_put(td_postgres_backend *pb, PGconn *c) {
  if (!c) return;
  if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
    PQfinish(c);
    return;
  }
  pthread_mutex_lock(&pb->mu);
  if (pb->n_pool == pb->cap_pool) {
    int64_t cap = pb->cap_pool ? pb->cap_pool * 2 : 4;
    PGconn **p = td_realloc(pb->pool, (size_t)cap * sizeof *p);
    if (p) pb->pool = p, pb->cap_pool = cap;
  }
  if (pb->n_pool < pb->cap_pool) {
    pb->pool[pb->n_pool++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&pb->mu);
  if (c) PQfinish(c);
}

/* Whether a query's failure was the connection's: libpq marks the
 * connection bad, or (a server shutting down may fail a query before libpq
 * notices the closed socket) the connection cannot answer a trivial query. */
static bool conn_lost(PGconn *c) {
  if (PQstatus(c) != CONNECTION_OK) return true;
  PGresult *r = PQexec(c, "SELECT 1");
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  return !ok || PQstatus(c) != CONNECTION_OK;
}

/* Runs a query; on failure returns NULL with TD_EIO and "<what>: <server
 * message>" in err (and clears the result). */
static PGresult *run(PGconn *c, const char *sql, int nparams, const char *const *params, int binary,
                     const char *what, td_error *err) {
  PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, binary);
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
  char m[512];
  td_err(err, r ? TD_EIO : TD_ENOMEM, "%s: %s", what, pg_message(r ? PQresultErrorMessage(r) : PQerrorMessage(c), m, sizeof m));
  PQclear(r);
  return NULL;
}

/* ---- options ---- */

void td_postgres_options_init(td_postgres_options *opts) {
  if (opts) memset(opts, 0, sizeof *opts);
}

/* ---- the location list ---- */

typedef struct loc_found {
  td_location_key *key;
  char *name, *rel, *where;
} loc_found;

static void found_free(loc_found *f, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    td_location_key_release(f[i].key);
    td_free(f[i].name);
    td_free(f[i].rel);
    td_free(f[i].where);
  }
  td_free(f);
}

static const char *horizon_sql = "pg_snapshot_xmin(pg_current_snapshot())";

/* Lists the locations the table has now (no lock held). */
static int list_locations(td_postgres_backend *pb, PGconn *c, loc_found **out, int64_t *n_out, td_error *err) {
  *out = NULL;
  *n_out = 0;
  char what[300];
  snprintf(what, sizeof what, "table '%s': listing locations", pb->table);
  if (!pb->partitioned && pb->n_lcols == 0) {
    loc_found *f = td_calloc(1, sizeof *f);
    if (!f) return td_err_nomem(err, "a location");
    int rc = td_location_key_standalone(&f->key, err);
    f->name = td_strdup("");
    f->rel = td_strdup(pb->rel);
    f->where = td_strdup("");
    if (rc == TD_OK && (!f->name || !f->rel || !f->where)) rc = td_err_nomem(err, "a location");
    if (rc) {
      found_free(f, 1);
      return rc;
    }
    *out = f;
    *n_out = 1;
    return TD_OK;
  }
  sbuf q = {0};
  if (pb->partitioned) {
    sb_add(&q, "SELECT relid::regclass::text FROM pg_partition_tree(%u::oid) WHERE isleaf ORDER BY 1", pb->oid);
  } else {
    sb_add(&q, "SELECT DISTINCT ");
    for (int64_t i = 0; i < pb->n_lcols; i++) {
      char *qi = quote_ident(pb->lcols[i].name);
      if (!qi) q.oom = true;
      else sb_add(&q, "%st.%s, t.%s::text", i ? ", " : "", qi, qi);
      td_free(qi);
    }
    sb_add(&q, " FROM %s t", pb->rel);
    if (pb->xid) sb_add(&q, " WHERE t.%s < %s", pb->xid, horizon_sql);
  }
  if (q.oom) {
    td_free(q.s);
    return td_err_nomem(err, "a query");
  }
  PGresult *r = run(c, q.s, 0, NULL, 1, what, err);
  td_free(q.s);
  if (!r) return err ? err->code : TD_EIO;
  int rows = PQntuples(r);
  loc_found *f = td_calloc((size_t)rows + 1, sizeof *f);
  int rc = f ? TD_OK : td_err_nomem(err, "locations");
  for (int i = 0; rc == TD_OK && i < rows; i++) {
    sbuf name = {0}, where = {0};
    if (pb->partitioned) {
      const char *leaf = PQgetvalue(r, i, 0);
      td_value v = td_value_str(leaf);
      const char *pn = PARTITION_COLUMN;
      rc = td_location_key_new(leaf, 1, &pn, &v, &f[i].key, err);
      sb_add(&name, "%s", leaf);
      sb_add(&where, "%s", "");
      f[i].rel = td_strdup(leaf);
    } else {
      td_value vals[64];
      const char *names[64];
      int64_t n = pb->n_lcols < 64 ? pb->n_lcols : 64;
      for (int64_t j = 0; rc == TD_OK && j < n; j++) {
        const td_pg_column *lc = &pb->lcols[j];
        names[j] = lc->name;
        bool null = PQgetisnull(r, i, (int)(2 * j));
        char why[200];
        if (!td__pg_decode_value(lc->kind, PQgetvalue(r, i, (int)(2 * j)), null ? -1 : PQgetlength(r, i, (int)(2 * j)),
                                 &vals[j], why, sizeof why)) {
          rc = td_err(err, TD_EFORMAT, "table '%s', location column '%s': %s", pb->table, lc->name, why);
          break;
        }
        char *qi = quote_ident(lc->name);
        const char *text = PQgetvalue(r, i, (int)(2 * j + 1));
        sb_add(&name, "%s%s=%s", j ? "/" : "", lc->name, null ? "null" : text);
        if (j) sb_add(&where, " AND ");
        if (null) sb_add(&where, "t.%s IS NULL", qi ? qi : "");
        else {
          sb_add(&where, "t.%s = ", qi ? qi : "");
          sb_literal(&where, text);
          sb_add(&where, "::%s", lc->type_sql);
        }
        if (!qi) where.oom = true;
        td_free(qi);
      }
      if (rc == TD_OK && !name.oom) rc = td_location_key_new(name.s, n, names, vals, &f[i].key, err);
      f[i].rel = td_strdup(pb->rel);
    }
    f[i].name = name.s;
    f[i].where = where.s;
    if (rc == TD_OK && (name.oom || where.oom || !f[i].rel || !f[i].name || !f[i].where))
      rc = td_err_nomem(err, "a location");
    if (rc) {
      if (!f[i].name) td_free(name.s);
      if (!f[i].where) td_free(where.s);
    }
  }
  PQclear(r);
  if (rc) {
    if (f) found_free(f, rows);
    return rc;
  }
  *out = f;
  *n_out = rows;
  return TD_OK;
}

static void loc_free(pg_loc *l) {
  if (!l) return;
  td_location_key_release(l->key);
  td_free(l->name);
  td_free(l->rel);
  td_free(l->where);
  for (int64_t i = 0; i < l->n_idx; i++) {
    td_free(l->idx[i].xid);
    td_free(l->idx[i].key);
  }
  td_free(l->idx);
  td_free(l->last_xid);
  td_free(l->last_key);
  td_request_list_reset(&l->size_subs);
  td_free(l);
}

/* The location of `key` that is not gone (a dropped partition created again
 * is a new location). */
static pg_loc *loc_find(td_postgres_backend *pb, const td_location_key *key) {
  for (int64_t i = 0; i < pb->n_locs; i++)
    if (!pb->locs[i]->gone && td_location_key_equal(pb->locs[i]->key, key)) return pb->locs[i];
  return NULL;
}

/* Fails every size subscription of `l` (under mu). */
static void loc_fail(pg_loc *l, const char *message) {
  for (int64_t i = 0; i < l->size_subs.n; i++) td_answer_failure(l->size_subs.reqs[i], message, NULL);
  l->size_subs.n = 0;
}

/* Merges what list_locations found into pb->locs (under mu): new locations
 * are added and answered to the location subscriptions; known locations
 * that were not found (a dropped partition, a value whose rows all went)
 * are gone: the location subscriptions hear their removal (the table is
 * ADD_REMOVE), and they stay listed as gone until the backend is freed.
 * Takes the entries of `f` it keeps. */
static int merge_locations(td_postgres_backend *pb, loc_found *f, int64_t n, td_error *err) {
  for (int64_t i = 0; i < pb->n_locs; i++) {
    pg_loc *l = pb->locs[i];
    bool found = false;
    for (int64_t j = 0; j < n && !found; j++) found = f[j].key && td_location_key_equal(f[j].key, l->key);
    if (found || l->gone) continue;
    l->gone = true;
    /* Its size subscriptions end with the removal (the engine unsubscribes). */
    for (int64_t k = 0; k < pb->loc_subs.n; k++) td_answer_location_removed(pb->loc_subs.reqs[k], l->key, NULL);
  }
  for (int64_t j = 0; j < n; j++) {
    if (loc_find(pb, f[j].key)) continue;
    pg_loc *l = td_calloc(1, sizeof *l);
    if (!l) return td_err_nomem(err, "a location");
    if (pb->n_locs == pb->cap_locs) {
      int64_t cap = pb->cap_locs ? pb->cap_locs * 2 : 8;
      pg_loc **p = td_realloc(pb->locs, (size_t)cap * sizeof *p);
      if (!p) {
        td_free(l);
        return td_err_nomem(err, "a location");
      }
      pb->locs = p;
      pb->cap_locs = cap;
    }
    l->key = f[j].key, l->name = f[j].name, l->rel = f[j].rel, l->where = f[j].where;
    f[j].key = NULL, f[j].name = f[j].rel = f[j].where = NULL;
    pb->locs[pb->n_locs++] = l;
    for (int64_t k = 0; k < pb->loc_subs.n; k++) td_answer_location(pb->loc_subs.reqs[k], l->key, NULL);
  }
  return TD_OK;
}

/* list_locations + merge_locations. */
static int refresh_locations(td_postgres_backend *pb, PGconn *c, td_error *err) {
  loc_found *f;
  int64_t n;
  int rc = list_locations(pb, c, &f, &n, err);
  if (rc) return rc;
  pthread_mutex_lock(&pb->mu);
  rc = merge_locations(pb, f, n, err);
  pthread_mutex_unlock(&pb->mu);
  found_free(f, n);
  return rc;
}

/* ---- the sparse index (under mu) ---- */

/* Records that row `offset` has tuple (xid, key); keeps entries sorted. */
static void index_put(pg_loc *l, int64_t offset, const char *xid, const char *key) {
  int64_t i = l->n_idx;
  while (i > 0 && l->idx[i - 1].offset > offset) i--;
  if (i > 0 && l->idx[i - 1].offset == offset) return;
  if (l->n_idx == l->cap_idx) {
    int64_t cap = l->cap_idx ? l->cap_idx * 2 : 16;
    pg_entry *p = td_realloc(l->idx, (size_t)cap * sizeof *p);
    if (!p) return; /* the index is an optimization only */
    l->idx = p;
    l->cap_idx = cap;
  }
  pg_entry e = {offset, xid ? td_strdup(xid) : NULL, td_strdup(key)};
  if ((xid && !e.xid) || !e.key) {
    td_free(e.xid);
    td_free(e.key);
    return;
  }
  memmove(l->idx + i + 1, l->idx + i, (size_t)(l->n_idx - i) * sizeof *l->idx);
  l->idx[i] = e;
  l->n_idx++;
}

/* ---- sizes ---- */

/* Counts the location's rows (live: the final prefix, incrementally from
 * the last counted tuple).  Serialized by size_mu; updates l->counted and
 * answers the size subscriptions that are behind.  On failure returns the
 * error (message names table and location). */
static int count_rows(td_postgres_backend *pb, PGconn *c, pg_loc *l, int64_t *size, td_error *err) {
  pthread_mutex_lock(&pb->size_mu);
  pthread_mutex_lock(&pb->mu);
  int64_t base = pb->xid ? l->counted : 0;
  char *lx = l->last_xid && pb->xid ? td_strdup(l->last_xid) : NULL;
  char *lk = l->last_key && pb->xid ? td_strdup(l->last_key) : NULL;
  bool gone = l->gone;
  pthread_mutex_unlock(&pb->mu);
  int rc = TD_OK;
  char what[400];
  snprintf(what, sizeof what, "table '%s', location '%s': counting rows", pb->table, l->name);
  sbuf q = {0};
  const char *and = *l->where ? " AND " : "";
  if (gone) {
    rc = td_err(err, TD_EFAILED, "table '%s': location '%s' was dropped", pb->table, l->name);
  } else if (!pb->xid) {
    sb_add(&q, "SELECT count(*), NULL, NULL FROM %s t%s%s", l->rel, *l->where ? " WHERE " : "", l->where);
  } else {
    sb_add(&q,
           "WITH td_h AS MATERIALIZED (SELECT %s AS x), "
           "td_r AS MATERIALIZED (SELECT t.%s AS x, t.%s AS k FROM %s t, td_h WHERE t.%s < td_h.x%s%s",
           horizon_sql, pb->xid, pb->key, l->rel, pb->xid, and, l->where);
    if ((lx && lk)) {
      sb_add(&q, " AND (t.%s, t.%s) > (", pb->xid, pb->key);
      sb_literal(&q, lx);
      sb_add(&q, "::xid8, ");
      sb_literal(&q, lk);
      sb_add(&q, "::%s)", pb->key_type);
    }
    sb_add(&q, ") SELECT (SELECT count(*) FROM td_r), "
               "(SELECT td_r.x::text AS lx FROM td_r ORDER BY td_r.x DESC, td_r.k DESC LIMIT 1), "
               "(SELECT td_r.k::text AS lk FROM td_r ORDER BY td_r.x DESC, td_r.k DESC LIMIT 1)");
  }
  if (rc == TD_OK && q.oom) rc = td_err_nomem(err, "a query");
  PGresult *r = NULL;
  if (rc == TD_OK && !(r = run(c, q.s, 0, NULL, 0, what, err))) rc = err ? err->code : TD_EIO;
  td_free(lx);
  td_free(lk);
  if (rc == TD_OK) {
    int64_t n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    pthread_mutex_lock(&pb->mu);
    if (pb->xid) {
      if (n > 0) {
        char *x = td_strdup(PQgetvalue(r, 0, 1)), *k = td_strdup(PQgetvalue(r, 0, 2));
        if (!x || !k) {
          td_free(x);
          td_free(k);
          rc = td_err_nomem(err, "a key");
        } else {
          td_free(l->last_xid);
          td_free(l->last_key);
          l->last_xid = x, l->last_key = k;
          l->counted = base + n;
          index_put(l, l->counted - 1, x, k);
        }
      }
    } else {
      l->counted = n;
    }
    *size = l->counted;
    if (rc == TD_OK && l->counted > l->reported && pb->xid) {
      for (int64_t i = 0; i < l->size_subs.n; i++) td_answer_size(l->size_subs.reqs[i], l->counted, NULL);
      l->reported = l->counted;
    }
    pthread_mutex_unlock(&pb->mu);
  }
  PQclear(r);
  td_free(q.s);
  pthread_mutex_unlock(&pb->size_mu);
  return rc;
}

/* ---- column values ---- */

static int64_t column_find(const td_postgres_backend *pb, const char *name) {
  for (int64_t i = 0; i < pb->n_cols; i++)
    if (strcmp(pb->cols[i].name, name) == 0) return i;
  return -1;
}

/* The stash: columns of a page fetched along with the one asked for, kept
 * until the engine asks for them (each is handed out once), at most
 * STASH_MAX, oldest dropped first (under mu). */
#define STASH_MAX 64
/* Tables with more data columns than this fetch one column per request. */
#define STASH_COLUMNS 32

static void stash_drop(td_postgres_backend *pb, int64_t i) {
  if (pb->stash[i].array.release) pb->stash[i].array.release(&pb->stash[i].array);
  memmove(pb->stash + i, pb->stash + i + 1, (size_t)(pb->n_stash - i - 1) * sizeof *pb->stash);
  pb->n_stash--;
}

static void stash_put(td_postgres_backend *pb, pg_loc *l, int64_t col, int64_t offset, int64_t n,
                      struct ArrowArray *a) {
  if (pb->n_stash == STASH_MAX) stash_drop(pb, 0);
  pg_stashed *e = &pb->stash[pb->n_stash++];
  e->loc = l, e->col = col, e->offset = offset, e->n = n, e->array = *a;
  a->release = NULL;
}

static bool stash_take(td_postgres_backend *pb, pg_loc *l, int64_t col, int64_t offset, int64_t n,
                       struct ArrowArray *out) {
  pthread_mutex_lock(&pb->mu);
  bool found = false;
  for (int64_t i = 0; i < pb->n_stash && !found; i++) {
    pg_stashed *e = &pb->stash[i];
    if (e->loc == l && e->col == col && e->offset == offset && e->n == n) {
      *out = e->array;
      e->array.release = NULL;
      stash_drop(pb, i);
      found = true;
    }
  }
  pthread_mutex_unlock(&pb->mu);
  return found;
}

/* Reads rows [offset, offset + n) of column `want` (an index into
 * pb->cols) of location `l`; with a stash, the other data columns of those
 * rows come in the same COPY and are stashed (a column whose values cannot
 * be decoded is just not stashed: only the column asked for fails). */
static int read_page(td_postgres_backend *pb, pg_loc *l, int64_t want, int64_t offset, int64_t n, bool all,
                     struct ArrowSchema *schema, struct ArrowArray *array, td_error *err) {
  const td_pg_column *col = &pb->cols[want];
  /* Where to start: the nearest index entry at or before offset. */
  pthread_mutex_lock(&pb->mu);
  pg_entry e = {-1, NULL, NULL};
  for (int64_t i = l->n_idx - 1; i >= 0; i--)
    if (l->idx[i].offset <= offset) {
      e.offset = l->idx[i].offset;
      e.xid = l->idx[i].xid ? td_strdup(l->idx[i].xid) : NULL;
      e.key = td_strdup(l->idx[i].key);
      break;
    }
  int64_t counted = l->counted;
  pthread_mutex_unlock(&pb->mu);

  /* The columns to fetch: all data columns (want among them) or want. */
  int64_t nc = all ? pb->n_cols : 1;
  int nf = (int)nc + 2;
  sbuf q = {0};
  sb_add(&q, "COPY (SELECT ");
  for (int64_t i = 0; i < nc; i++) {
    /* Cast to the type seen at open: a column whose type changed since is
     * converted by the server or fails there, never decoded as the old. */
    const td_pg_column *ci = &pb->cols[all ? i : want];
    char *qc = quote_ident(ci->name);
    if (!qc) q.oom = true;
    sb_add(&q, "t.%s::%s, ", qc ? qc : "", ci->type_sql);
    td_free(qc);
  }
  sb_add(&q, "%s%s%s t.%s::text FROM %s t", pb->xid ? "t." : "", pb->xid ? pb->xid : "",
         pb->xid ? "::text," : "NULL::text,", pb->key, l->rel);
  bool where = false;
  if (*l->where) {
    sb_add(&q, " WHERE %s", l->where);
    where = true;
  }
  int64_t skip = offset;
  if (e.offset >= 0 && e.key && (!pb->xid || e.xid)) {
    sb_add(&q, " %s ", where ? "AND" : "WHERE");
    if (pb->xid) {
      sb_add(&q, "(t.%s, t.%s) %s (", pb->xid, pb->key, e.offset == offset ? ">=" : ">");
      sb_literal(&q, e.xid);
      sb_add(&q, "::xid8, ");
    } else {
      sb_add(&q, "(t.%s) %s (", pb->key, e.offset == offset ? ">=" : ">");
    }
    sb_literal(&q, e.key);
    sb_add(&q, "::%s)", pb->key_type);
    skip = e.offset == offset ? 0 : offset - e.offset - 1;
  }
  if (pb->xid) sb_add(&q, " ORDER BY t.%s, t.%s", pb->xid, pb->key);
  else sb_add(&q, " ORDER BY t.%s", pb->key);
  sb_add(&q, " OFFSET %lld LIMIT %lld) TO STDOUT (FORMAT binary)", (long long)skip, (long long)n + 1);
  td_free(e.xid);
  td_free(e.key);
  if (q.oom) {
    td_free(q.s);
    return td_err_nomem(err, "a query");
  }

  int rc = TD_OK;
  td_builder **bs = td_calloc((size_t)nc, sizeof *bs);
  bool *bad_col = td_calloc((size_t)nc, sizeof *bad_col);
  const char **fields = td_calloc((size_t)nf, sizeof *fields);
  int32_t *lens = td_calloc((size_t)nf, sizeof *lens);
  if (!bs || !bad_col || !fields || !lens) rc = td_err_nomem(err, "column builders");
  int64_t wi = all ? want : 0; /* the wanted column's position in the COPY */
  for (int64_t i = 0; rc == TD_OK && i < nc; i++) rc = td_builder_new(pb->cols[all ? i : want].type, &bs[i], err);
  PGconn *c = rc ? NULL : conn_get(pb, err);
  if (!c && rc == TD_OK) rc = err ? err->code : TD_EIO;
  char m[512];
  PGresult *r = c ? PQexec(c, q.s) : NULL;
  if (c && PQresultStatus(r) != PGRES_COPY_OUT && conn_lost(c)) {
    /* A pooled connection the server closed (a restart): one new try. */
    PQclear(r);
    PQfinish(c);
    c = conn_open(pb, err);
    r = c ? PQexec(c, q.s) : NULL;
    if (!c) rc = err ? err->code : TD_EIO;
  }
  td_free(q.s);
  if (c && PQresultStatus(r) != PGRES_COPY_OUT) {
    rc = td_err(err, TD_EIO, "table '%s', location '%s', column '%s': reading rows %lld..%lld: %s", pb->table,
                l->name, col->name, (long long)offset, (long long)(offset + n),
                pg_message(r ? PQresultErrorMessage(r) : PQerrorMessage(c), m, sizeof m));
  }
  PQclear(r);
  td_pg_copy cp = {0};
  int64_t got = 0;
  char next_xid[64] = "", next_key[256] = "";
  bool have_next = false, copying = c && rc == TD_OK;
  while (copying) {
    char *data = NULL;
    int len = PQgetCopyData(c, &data, 0);
    if (len < 0) break;
    bool fed = rc == TD_OK && td__pg_copy_feed(&cp, data, (size_t)len);
    PQfreemem(data);
    if (rc == TD_OK && !fed) rc = td_err_nomem(err, "COPY data");
    char why[300];
    int t;
    while (rc == TD_OK && (t = td__pg_copy_next(&cp, nf, fields, lens, why, sizeof why)) != 0) {
      if (t < 0) {
        rc = td_err(err, TD_EFORMAT, "table '%s', location '%s', column '%s': %s", pb->table, l->name, col->name, why);
        break;
      }
      const char *kx = fields[nf - 2], *kk = fields[nf - 1];
      int32_t lx = lens[nf - 2], lk = lens[nf - 1];
      if (got == n) {
        /* The row after the page: remember where the next page starts. */
        if (lk > 0 && (size_t)lk < sizeof next_key && (lx < 0 || (size_t)lx < sizeof next_xid)) {
          memcpy(next_key, kk, (size_t)lk);
          next_key[lk] = 0;
          if (lx > 0) memcpy(next_xid, kx, (size_t)lx);
          next_xid[lx > 0 ? lx : 0] = 0;
          have_next = true;
        }
        got++;
        continue;
      }
      for (int64_t i = 0; i < nc && rc == TD_OK; i++) {
        if (bad_col[i]) continue;
        td_value v;
        if (!td__pg_decode_value(pb->cols[all ? i : want].kind, fields[i], lens[i], &v, why, sizeof why)) {
          if (i != wi) {
            bad_col[i] = true;
            continue;
          }
          char key[128];
          snprintf(key, sizeof key, "%.*s", lk > 0 ? (int)(lk < 100 ? lk : 100) : 0, kk);
          rc = td_err(err, TD_EFORMAT, "table '%s', location '%s', column '%s', row %lld (key %s): %s", pb->table,
                      l->name, col->name, (long long)(offset + got), key, why);
          break;
        }
        int arc = td_builder_append_value(bs[i], &v, err);
        if (arc && i == wi) rc = arc;
        else if (arc) bad_col[i] = true;
      }
      got++;
    }
  }
  if (c) {
    PGresult *res;
    while ((res = PQgetResult(c)) != NULL) {
      if (rc == TD_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = td_err(err, TD_EIO, "table '%s', location '%s', column '%s': reading rows %lld..%lld: %s", pb->table,
                    l->name, col->name, (long long)offset, (long long)(offset + n),
                    pg_message(PQresultErrorMessage(res), m, sizeof m));
      PQclear(res);
    }
  }
  conn_put(pb, c);
  td__pg_copy_reset(&cp);
  if (rc == TD_OK && td_builder_length(bs[wi]) != n)
    rc = td_err(err, TD_ECONTRACT,
                "table '%s', location '%s': expected %lld rows from row %lld, found %lld (rows were deleted, or "
                "the key %s is not append-only)",
                pb->table, l->name, (long long)n, (long long)offset, (long long)td_builder_length(bs[wi]), pb->key);
  if (rc == TD_OK && have_next && offset + n < counted) {
    pthread_mutex_lock(&pb->mu);
    index_put(l, offset + n, pb->xid ? next_xid : NULL, next_key);
    pthread_mutex_unlock(&pb->mu);
  }
  if (rc == TD_OK) rc = td_builder_finish(bs[wi], array, err);
  if (rc == TD_OK && (rc = td_field_schema_make(col->name, col->type, col->tz, schema, err)) != TD_OK)
    array->release(array);
  if (rc == TD_OK && all) {
    for (int64_t i = 0; i < nc; i++) {
      struct ArrowArray other;
      if (i == wi || bad_col[i] || td_builder_length(bs[i]) != n || td_builder_finish(bs[i], &other, NULL) != TD_OK)
        continue;
      pthread_mutex_lock(&pb->mu);
      stash_put(pb, l, i, offset, n, &other);
      pthread_mutex_unlock(&pb->mu);
    }
  }
  for (int64_t i = 0; bs && i < nc; i++) td_builder_free(bs[i]);
  td_free(bs);
  td_free(bad_col);
  td_free(fields);
  td_free(lens);
  return rc;
}

/* A page of a column: from the stash, else read with the page's other
 * columns, else (when that failed on the server: another column's type
 * changed...) alone, so only the column asked for decides. */
static int read_values(td_postgres_backend *pb, pg_loc *l, int64_t want, int64_t offset, int64_t n,
                       struct ArrowSchema *schema, struct ArrowArray *array, td_error *err) {
  const td_pg_column *col = &pb->cols[want];
  if (stash_take(pb, l, want, offset, n, array)) {
    int rc = td_field_schema_make(col->name, col->type, col->tz, schema, err);
    if (rc) array->release(array);
    return rc;
  }
  bool all = pb->n_cols > 1 && pb->n_cols <= STASH_COLUMNS;
  int rc = read_page(pb, l, want, offset, n, all, schema, array, err);
  if (rc == TD_EIO && all) rc = read_page(pb, l, want, offset, n, false, schema, array, err);
  return rc;
}

/* ---- the backend methods ---- */

static void fail(td_request req, const td_error *e) { td_answer_failure(req, e->message, NULL); }

static void m_schema(void *self, const td_table_key *table, td_request req) {
  td_postgres_backend *pb = self;
  td_error e;
  td_error_clear(&e);
  const char *names[256], *tzs[256];
  td_type_id types[256];
  struct ArrowSchema data, part;
  part.release = NULL;
  int64_t n = pb->n_cols < 256 ? pb->n_cols : 256;
  for (int64_t i = 0; i < n; i++) names[i] = pb->cols[i].name, types[i] = pb->cols[i].type, tzs[i] = pb->cols[i].tz;
  int rc = td_schema_make(n, names, types, tzs, &data, &e);
  if (rc == TD_OK && (pb->partitioned || pb->n_lcols)) {
    int64_t k = pb->partitioned ? 1 : (pb->n_lcols < 256 ? pb->n_lcols : 256);
    for (int64_t i = 0; i < k; i++) {
      names[i] = pb->partitioned ? PARTITION_COLUMN : pb->lcols[i].name;
      types[i] = pb->partitioned ? TD_TYPE_UTF8 : pb->lcols[i].type;
      tzs[i] = pb->partitioned ? NULL : pb->lcols[i].tz;
    }
    if ((rc = td_schema_make(k, names, types, tzs, &part, &e)) != TD_OK) data.release(&data);
  }
  if (rc) fail(req, &e);
  /* Dropped partitions become location removals. */
  else td_answer_schema_mode(req, &data, part.release ? &part : NULL, TD_UPDATE_ADD_REMOVE, NULL);
}

static void answer_known(td_postgres_backend *pb, td_request req) {
  for (int64_t i = 0; i < pb->n_locs; i++)
    if (!pb->locs[i]->gone) td_answer_location(req, pb->locs[i]->key, NULL);
}

static int with_conn(td_postgres_backend *pb, pg_loc *l, int64_t *size, td_error *e);

static void m_locations(void *self, const td_table_key *table, td_request req) {
  td_postgres_backend *pb = self;
  td_error e;
  td_error_clear(&e);
  int rc = with_conn(pb, NULL, NULL, &e);
  if (rc) {
    fail(req, &e);
    return;
  }
  pthread_mutex_lock(&pb->mu);
  answer_known(pb, req);
  td_answer_success(req, NULL);
  pthread_mutex_unlock(&pb->mu);
}

static pg_loc *loc_lookup(td_postgres_backend *pb, const td_location_key *key, td_error *e) {
  pthread_mutex_lock(&pb->mu);
  pg_loc *l = loc_find(pb, key);
  pthread_mutex_unlock(&pb->mu);
  if (!l) {
    char k[200];
    td_location_key_format(key, k, sizeof k);
    td_err(e, TD_ENOTFOUND, "table '%s': unknown location %s", pb->table, k);
  }
  return l;
}

/* count_rows (l != NULL) or refresh_locations on a pooled connection,
 * tried once more on a new connection when the pooled one was closed by
 * the server (a restart). */
static int with_conn(td_postgres_backend *pb, pg_loc *l, int64_t *size, td_error *e) {
  int rc = TD_OK;
  for (int attempt = 0; attempt < 2; attempt++) {
    PGconn *c = attempt ? conn_open(pb, e) : conn_get(pb, e);
    if (!c) return e->code;
    rc = l ? count_rows(pb, c, l, size, e) : refresh_locations(pb, c, e);
    bool lost = rc && conn_lost(c);
    conn_put(pb, c);
    if (!lost) break;
  }
  return rc;
}

static void m_size(void *self, const td_table_key *table, const td_location_key *location, td_request req) {
  td_postgres_backend *pb = self;
  td_error e;
  td_error_clear(&e);
  pg_loc *l = loc_lookup(pb, location, &e);
  int64_t size = 0;
  int rc = l ? with_conn(pb, l, &size, &e) : e.code;
  if (rc) fail(req, &e);
  else td_answer_size(req, size, NULL);
}

static void m_values(void *self, const td_table_key *table, const td_location_key *location, const char *column,
                     int64_t offset, int64_t min_rows, int64_t max_rows, td_request req) {
  td_postgres_backend *pb = self;
  td_error e;
  td_error_clear(&e);
  pg_loc *l = loc_lookup(pb, location, &e);
  int64_t col = column_find(pb, column);
  if (l && col < 0) td_err(&e, TD_ENOTFOUND, "table '%s': no column '%s'", pb->table, column);
  struct ArrowSchema s;
  struct ArrowArray a;
  if (!l || col < 0 || read_values(pb, l, col, offset, min_rows, &s, &a, &e) != TD_OK) fail(req, &e);
  else td_answer_values(req, &s, &a, NULL);
}

static void *poll_main(void *arg);

/* Starts the poll thread (under mu) for a live table. */
static void ensure_thread(td_postgres_backend *pb) {
  if (pb->thread_started || !pb->xid) return;
  if (pthread_create(&pb->thread, NULL, poll_main, pb) == 0) pb->thread_started = true;
}

static void m_sub_locations(void *self, const td_table_key *table, td_request sub) {
  td_postgres_backend *pb = self;
  td_error e;
  td_error_clear(&e);
  int rc = with_conn(pb, NULL, NULL, &e);
  if (rc) {
    fail(sub, &e);
    return;
  }
  pthread_mutex_lock(&pb->mu);
  answer_known(pb, sub);
  if (td_request_list_add(&pb->loc_subs, sub) != TD_OK) td_answer_failure(sub, "out of memory", NULL);
  else {
    td_answer_success(sub, NULL);
    ensure_thread(pb);
  }
  pthread_mutex_unlock(&pb->mu);
}

static void m_sub_size(void *self, const td_table_key *table, const td_location_key *location, td_request sub) {
  td_postgres_backend *pb = self;
  td_error e;
  td_error_clear(&e);
  pg_loc *l = loc_lookup(pb, location, &e);
  int64_t size = 0;
  int rc = l ? with_conn(pb, l, &size, &e) : e.code;
  if (rc) {
    fail(sub, &e);
    return;
  }
  pthread_mutex_lock(&pb->mu);
  if (l->gone) td_answer_failure(sub, "the location was dropped", NULL);
  else if (td_request_list_add(&l->size_subs, sub) != TD_OK) td_answer_failure(sub, "out of memory", NULL);
  else {
    td_answer_size(sub, l->counted, NULL);
    td_answer_success(sub, NULL);
    if (l->reported < l->counted) l->reported = l->counted;
    ensure_thread(pb);
  }
  pthread_mutex_unlock(&pb->mu);
}

static void m_unsubscribe(void *self, td_request sub) {
  td_postgres_backend *pb = self;
  pthread_mutex_lock(&pb->mu);
  if (!td_request_list_remove(&pb->loc_subs, sub))
    for (int64_t i = 0; i < pb->n_locs; i++)
      if (td_request_list_remove(&pb->locs[i]->size_subs, sub)) break;
  pthread_mutex_unlock(&pb->mu);
}

static void m_release(void *self) { td_postgres_backend_release(self); }

static const td_backend_vtable pg_vtable = {
    m_schema, m_locations, m_size, m_values, m_sub_locations, m_sub_size, m_unsubscribe, m_release, NULL, NULL,
};

/* ---- the poll thread ---- */

/* Fails every subscription with `message` (under mu). */
static void fail_all(td_postgres_backend *pb, const char *message) {
  for (int64_t k = 0; k < pb->loc_subs.n; k++) td_answer_failure(pb->loc_subs.reqs[k], message, NULL);
  pb->loc_subs.n = 0;
  for (int64_t i = 0; i < pb->n_locs; i++) loc_fail(pb->locs[i], message);
}

/* One poll: new and dropped locations, then sizes.  Returns TD_OK, or an
 * error whose connection was lost (retried), having failed the affected
 * subscriptions for any other error. */
static int poll_once(td_postgres_backend *pb, PGconn *c, td_error *err) {
  pthread_mutex_lock(&pb->mu);
  bool want_locs = pb->loc_subs.n > 0;
  pthread_mutex_unlock(&pb->mu);
  if (want_locs) {
    int rc = refresh_locations(pb, c, err);
    if (rc) {
      if (conn_lost(c)) return rc;
      pthread_mutex_lock(&pb->mu);
      fail_all(pb, err->message);
      pthread_mutex_unlock(&pb->mu);
      return TD_OK;
    }
  }
  for (int64_t i = 0;; i++) {
    pthread_mutex_lock(&pb->mu);
    pg_loc *l = i < pb->n_locs ? pb->locs[i] : NULL;
    bool want = l && !l->gone && l->size_subs.n > 0;
    pthread_mutex_unlock(&pb->mu);
    if (!l) break;
    if (!want) continue;
    int64_t size;
    int rc = count_rows(pb, c, l, &size, err);
    if (rc) {
      if (conn_lost(c)) return rc;
      /* A partition dropped since the location poll above fails with
       * "relation does not exist": look again, so that the failure says
       * the partition was dropped (merge_locations answers it). */
      td_error again;
      int lrc = refresh_locations(pb, c, &again);
      if (lrc && conn_lost(c)) return lrc;
      pthread_mutex_lock(&pb->mu);
      if (!l->gone) loc_fail(l, err->message);
      pthread_mutex_unlock(&pb->mu);
    }
  }
  return TD_OK;
}

static bool any_subs(td_postgres_backend *pb) {
  if (pb->loc_subs.n) return true;
  for (int64_t i = 0; i < pb->n_locs; i++)
    if (pb->locs[i]->size_subs.n) return true;
  return false;
}

static void *poll_main(void *arg) {
  td_postgres_backend *pb = arg;
  PGconn *c = NULL;
  double failing_since = -1;
  td_error e;
  for (;;) {
    pthread_mutex_lock(&pb->mu);
    bool stop = pb->stop;
    pthread_mutex_unlock(&pb->mu);
    if (stop) break;
    td_error_clear(&e);
    if (!c) {
      c = conn_open(pb, &e);
      if (c && pb->channel) {
        char *qi = quote_ident(pb->channel);
        sbuf q = {0};
        sb_add(&q, "LISTEN %s", qi ? qi : "\"\"");
        PGresult *r = q.oom ? NULL : run(c, q.s, 0, NULL, 0, "LISTEN", &e);
        PQclear(r);
        td_free(q.s);
        td_free(qi);
        if (!r) {
          PQfinish(c);
          c = NULL;
        }
      }
    }
    int rc = c ? poll_once(pb, c, &e) : e.code;
    if (rc) {
      /* The connection was lost (a server restart...): retry for a while. */
      if (c) PQfinish(c);
      c = NULL;
      if (failing_since < 0) failing_since = now_s();
      if (now_s() - failing_since > RECONNECT_WINDOW_S) {
        char m[1400];
        snprintf(m, sizeof m, "table '%s': lost the PostgreSQL server for more than %.0f s: %s", pb->table,
                 RECONNECT_WINDOW_S, e.message);
        pthread_mutex_lock(&pb->mu);
        fail_all(pb, m);
        pthread_mutex_unlock(&pb->mu);
      }
    } else {
      failing_since = -1;
    }
    pthread_mutex_lock(&pb->mu);
    bool idle = !any_subs(pb);
    pthread_mutex_unlock(&pb->mu);
    if (idle) failing_since = -1;
    struct pollfd fds[2] = {{pb->wake[0], POLLIN, 0}, {c ? PQsocket(c) : -1, POLLIN, 0}};
    poll(fds, c ? 2 : 1, (int)pb->poll_ms);
    if (fds[0].revents & POLLIN) {
      char buf[64];
      while (read(pb->wake[0], buf, sizeof buf) > 0) {
      }
    }
    if (c && (fds[1].revents & POLLIN)) {
      PQconsumeInput(c);
      PGnotify *nt;
      while ((nt = PQnotifies(c)) != NULL) PQfreemem(nt);
    }
  }
  if (c) PQfinish(c);
  return NULL;
}

void td_postgres_backend_wake(td_postgres_backend *pb) {
  if (!pb) return;
  char b = 1;
  ssize_t w = write(pb->wake[1], &b, 1);
  (void)w;
}

/* ---- opening ---- */

static void column_reset(td_pg_column *c) {
  td_free(c->name);
  td_free(c->type_sql);
}

static int open_table(td_postgres_backend *pb, const td_postgres_options *o, td_error *err) {
  PGconn *c = conn_open(pb, err);
  if (!c) return err ? err->code : TD_EIO;
  char what[300];
  snprintf(what, sizeof what, "table '%s': reading the catalog", pb->table);
  const char *p1[1] = {pb->table};
  int rc = TD_OK;
  PGresult *r = run(c,
                    "SELECT c.oid, c.relkind, c.oid::regclass::text, has_table_privilege(c.oid, 'SELECT') "
                    "FROM pg_class c WHERE c.oid = to_regclass($1)",
                    1, p1, 0, what, err);
  if (!r) rc = err ? err->code : TD_EIO;
  else if (PQntuples(r) == 0) rc = td_err(err, TD_ENOTFOUND, "table '%s' does not exist in database '%s'", pb->table, PQdb(c));
  else if (strcmp(PQgetvalue(r, 0, 3), "t") != 0)
    rc = td_err(err, TD_EIO, "table '%s': permission denied: role '%s' may not SELECT from it", pb->table, PQuser(c));
  else {
    pb->oid = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
    char kind = PQgetvalue(r, 0, 1)[0];
    pb->partitioned = kind == 'p';
    pb->rel = td_strdup(PQgetvalue(r, 0, 2));
    if (!pb->rel) rc = td_err_nomem(err, "a name");
    else if (kind != 'r' && kind != 'p' && kind != 'v' && kind != 'm' && kind != 'f')
      rc = td_err(err, TD_EINVAL, "'%s' is not a table or view (relkind '%c')", pb->table, kind);
  }
  PQclear(r);
  if (rc) goto done;
  if (pb->partitioned && o->n_location_columns > 0) {
    rc = td_err(err, TD_EINVAL,
                "table '%s' is partitioned: its partitions are the locations, so location columns cannot be named",
                pb->table);
    goto done;
  }
  char oid[16];
  snprintf(oid, sizeof oid, "%u", pb->oid);
  const char *p2[1] = {oid};
  r = run(c,
          "SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), "
          "coalesce((SELECT i.indisprimary AND i.indnatts = 1 FROM pg_index i WHERE i.indrelid = a.attrelid "
          "AND i.indisprimary AND a.attnum = ANY (i.indkey)), false) "
          "FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
          1, p2, 0, what, err);
  if (!r) {
    rc = err ? err->code : TD_EIO;
    goto done;
  }
  int n = PQntuples(r);
  pb->cols = td_calloc((size_t)n + 1, sizeof *pb->cols);
  pb->lcols = td_calloc((size_t)o->n_location_columns + 1, sizeof *pb->lcols);
  sbuf uns = {0};
  sb_add(&uns, "%s", "");
  if (!pb->cols || !pb->lcols) rc = td_err_nomem(err, "columns");
  const char *key = o->key_column, *xid = o->xid_column;
  const char *key_type = NULL, *xid_found = NULL;
  int n_xid8 = 0;
  for (int i = 0; rc == TD_OK && i < n; i++) {
    const char *name = PQgetvalue(r, i, 0);
    uint32_t typ = (uint32_t)strtoul(PQgetvalue(r, i, 1), NULL, 10);
    if (!o->key_column && strcmp(PQgetvalue(r, i, 3), "t") == 0) key = name;
    if (typ == OID_XID8) n_xid8++, xid_found = name;
    int64_t li = -1;
    for (int64_t j = 0; j < o->n_location_columns; j++)
      if (strcmp(o->location_columns[j], name) == 0) li = j;
    td_pg_column col = {0};
    const char *reason;
    if (!td__pg_map_type(typ, o->numeric_as_float64, &col.kind, &col.type, &col.tz, &reason)) {
      if (li >= 0) {
        rc = td_err(err, TD_EINVAL, "table '%s': location column '%s' has type %s: %s", pb->table, name,
                    PQgetvalue(r, i, 2), reason);
        break;
      }
      sb_add(&uns, "%s: %s: %s\n", name, PQgetvalue(r, i, 2), reason);
      continue;
    }
    if (pb->partitioned && strcmp(name, PARTITION_COLUMN) == 0) {
      rc = td_err(err, TD_EINVAL,
                  "table '%s' has a column named '" PARTITION_COLUMN "', the name of its partition column", pb->table);
      break;
    }
    col.oid = typ;
    col.name = td_strdup(name);
    col.type_sql = td_strdup(PQgetvalue(r, i, 2));
    if (!col.name || !col.type_sql) {
      column_reset(&col);
      rc = td_err_nomem(err, "a column");
      break;
    }
    if (li >= 0) pb->lcols[li] = col;
    else pb->cols[pb->n_cols++] = col;
  }
  if (rc == TD_OK) pb->n_lcols = o->n_location_columns;
  for (int64_t j = 0; rc == TD_OK && j < o->n_location_columns; j++)
    if (!pb->lcols[j].name) rc = td_err(err, TD_ENOTFOUND, "table '%s' has no column '%s' (a location column)", pb->table,
                                        o->location_columns[j]);
  if (rc == TD_OK && !key)
    rc = td_err(err, TD_EINVAL,
                "table '%s' has no single-column primary key: name an append-only ordering key (option key=COLUMN)",
                pb->table);
  if (rc == TD_OK && !xid && n_xid8 == 1) xid = xid_found;
  for (int i = 0; rc == TD_OK && i < n; i++) {
    const char *name = PQgetvalue(r, i, 0);
    if (strcmp(name, key) == 0) key_type = PQgetvalue(r, i, 2);
    if (xid && strcmp(name, xid) == 0) {
      xid_found = name;
      if ((uint32_t)strtoul(PQgetvalue(r, i, 1), NULL, 10) != OID_XID8)
        rc = td_err(err, TD_EINVAL, "table '%s': the horizon column '%s' has type %s, expected xid8", pb->table, xid,
                    PQgetvalue(r, i, 2));
    }
  }
  if (rc == TD_OK && !key_type) rc = td_err(err, TD_ENOTFOUND, "table '%s' has no column '%s' (the key)", pb->table, key);
  if (rc == TD_OK && xid && (!xid_found || strcmp(xid_found, xid) != 0))
    rc = td_err(err, TD_ENOTFOUND, "table '%s' has no column '%s' (the horizon column)", pb->table, xid);
  if (rc == TD_OK) {
    pb->key = quote_ident(key);
    pb->key_type = td_strdup(key_type);
    pb->xid = xid ? quote_ident(xid) : NULL;
    if (!pb->key || !pb->key_type || (xid && !pb->xid)) rc = td_err_nomem(err, "a name");
  }
  PQclear(r);
  if (uns.oom && rc == TD_OK) rc = td_err_nomem(err, "a message");
  pb->unsupported = uns.s;
done:
  if (rc == TD_OK) conn_put(pb, c);
  else PQfinish(c);
  return rc;
}

int td_postgres_backend_new(const char *conninfo, const char *table, const td_postgres_options *opts,
                            td_postgres_backend **out, td_error *err) {
  if (err) td_error_clear(err);
  if (!out) return td_err(err, TD_EINVAL, "td_postgres_backend_new: NULL out");
  *out = NULL;
  if (!conninfo || !table || !*table) return td_err(err, TD_EINVAL, "td_postgres_backend_new: a conninfo and a table are needed");
  td_postgres_options defaults;
  td_postgres_options_init(&defaults);
  const td_postgres_options *o = opts ? opts : &defaults;
  if (o->n_location_columns < 0 || o->n_location_columns > 64 || (o->n_location_columns && !o->location_columns))
    return td_err(err, TD_EINVAL, "table '%s': between 0 and 64 location columns expected", table);
  int loaded = td_pq_load(err);
  if (loaded) return loaded;
  td_postgres_backend *pb = td_calloc(1, sizeof *pb);
  if (!pb) return td_err_nomem(err, "a PostgreSQL backend");
  atomic_init(&pb->refs, 1);
  pb->wake[0] = pb->wake[1] = -1;
  pthread_mutex_init(&pb->mu, NULL);
  pthread_mutex_init(&pb->size_mu, NULL);
  pb->poll_ms = o->poll_ms > 0 ? o->poll_ms : 500;
  pb->conninfo = td_strdup(conninfo);
  pb->table = td_strdup(table);
  pb->channel = o->notify_channel ? td_strdup(o->notify_channel) : NULL;
  int rc = TD_OK;
  if (!pb->conninfo || !pb->table || (o->notify_channel && !pb->channel)) rc = td_err_nomem(err, "a PostgreSQL backend");
  else if (pipe2(pb->wake, O_NONBLOCK | O_CLOEXEC) != 0)
    rc = td_err(err, TD_EIO, "table '%s': cannot make a pipe", table);
  if (rc == TD_OK) rc = open_table(pb, o, err);
  if (rc) {
    td_postgres_backend_release(pb);
    return rc;
  }
  *out = pb;
  return TD_OK;
}

td_postgres_backend *td_postgres_backend_retain(td_postgres_backend *pb) {
  if (pb) atomic_fetch_add(&pb->refs, 1);
  return pb;
}

void td_postgres_backend_release(td_postgres_backend *pb) {
  if (!pb || atomic_fetch_sub(&pb->refs, 1) != 1) return;
  if (pb->thread_started) {
    pthread_mutex_lock(&pb->mu);
    pb->stop = true;
    pthread_mutex_unlock(&pb->mu);
    td_postgres_backend_wake(pb);
    pthread_join(pb->thread, NULL);
  }
  while (pb->n_stash) stash_drop(pb, pb->n_stash - 1);
  for (int64_t i = 0; i < pb->n_pool; i++) PQfinish(pb->pool[i]);
  td_free(pb->pool);
  for (int64_t i = 0; i < pb->n_locs; i++) loc_free(pb->locs[i]);
  td_free(pb->locs);
  td_request_list_reset(&pb->loc_subs);
  for (int64_t i = 0; i < pb->n_cols; i++) column_reset(&pb->cols[i]);
  for (int64_t i = 0; i < pb->n_lcols; i++) column_reset(&pb->lcols[i]);
  td_free(pb->cols);
  td_free(pb->lcols);
  if (pb->wake[0] >= 0) close(pb->wake[0]);
  if (pb->wake[1] >= 0) close(pb->wake[1]);
  pthread_mutex_destroy(&pb->mu);
  pthread_mutex_destroy(&pb->size_mu);
  td_free(pb->conninfo);
  td_free(pb->table);
  td_free(pb->rel);
  td_free(pb->key);
  td_free(pb->key_type);
  td_free(pb->xid);
  td_free(pb->unsupported);
  td_free(pb->channel);
  td_free(pb);
}

td_backend td_postgres_backend_backend(td_postgres_backend *pb) {
  td_backend b = {&pg_vtable, td_postgres_backend_retain(pb)};
  return b;
}

const char *td_postgres_backend_table_name(const td_postgres_backend *pb) { return pb ? pb->table : NULL; }

bool td_postgres_backend_is_live(const td_postgres_backend *pb) { return pb && pb->xid; }

size_t td_postgres_backend_unsupported(const td_postgres_backend *pb, char *buf, size_t size) {
  int n = snprintf(buf, size, "%s", pb && pb->unsupported ? pb->unsupported : "");
  return n < 0 ? 0 : (size_t)n;
}
