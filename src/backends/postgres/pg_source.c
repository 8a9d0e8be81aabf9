/*
 * backends/postgres/pg_source.c - FROM sources for the PostgreSQL backend:
 * "postgresql://.../table?options" URIs and postgres('conninfo', 'table',
 * 'option=value' ...) arguments, turned into td_postgres_backend_new calls.
 *
 * Options (URI query parameters or 'name=value' arguments):
 *   key=COLUMN  xid=COLUMN  locations=COL[,COL...]  numeric=float64
 *   poll_ms=N   channel=NAME
 * Other URI query parameters stay in the URI for libpq.
 */
#include <stdlib.h>
#include <string.h>

#include "tabledata/postgres_backend.h"
#include "util/alloc.h"
#include "util/call_args.h"
#include "util/error.h"

typedef struct opt_store {
  td_postgres_options o;
  char *strs[8];
  int n_strs;
  char *locs_buf;
  const char *locs[64];
} opt_store;

static void store_reset(opt_store *s) {
  for (int i = 0; i < s->n_strs; i++) td_free(s->strs[i]);
  td_free(s->locs_buf);
}

/* Decodes %XX escapes in place. */
static void url_decode(char *s) {
  char *w = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '%' && p[1] && p[2]) {
      char hex[3] = {p[1], p[2], 0};
      char *end;
      long v = strtol(hex, &end, 16);
      if (!*end) {
        *w++ = (char)v;
        p += 2;
        continue;
      }
    }
    *w++ = *p;
  }
  *w = 0;
}

/* Applies "name=value" (len bytes) if it is one of ours: 1 taken, 0 not
 * ours, negative error. */
static int apply(opt_store *s, const char *nv, size_t len, td_error *err) {
  const char *eq = memchr(nv, '=', len);
  if (!eq) return 0;
  size_t nl = (size_t)(eq - nv);
  char *v = td_malloc(len - nl);
  if (!v) return -td_err_nomem(err, "an option");
  memcpy(v, eq + 1, len - nl - 1);
  v[len - nl - 1] = 0;
  url_decode(v);
#define IS(x) (nl == strlen(x) && memcmp(nv, x, nl) == 0)
  int taken = 1;
  if (IS("key")) s->o.key_column = v;
  else if (IS("xid")) s->o.xid_column = v;
  else if (IS("channel")) s->o.notify_channel = v;
  else if (IS("numeric")) {
    if (strcmp(v, "float64") != 0) {
      td_free(v);
      return -td_err(err, TD_EINVAL, "option numeric: expected 'float64'");
    }
    s->o.numeric_as_float64 = true;
  } else if (IS("poll_ms")) {
    char *end;
    s->o.poll_ms = strtoll(v, &end, 10);
    if (*end || end == v || s->o.poll_ms <= 0) {
      td_free(v);
      return -td_err(err, TD_EINVAL, "option poll_ms: expected a positive number of milliseconds");
    }
  } else if (IS("locations")) {
    td_free(s->locs_buf);
    s->locs_buf = v;
    s->o.n_location_columns = 0;
    for (char *p = v; p && *p && s->o.n_location_columns < 64;) {
      char *c = strchr(p, ',');
      if (c) *c = 0;
      s->locs[s->o.n_location_columns++] = p;
      p = c ? c + 1 : NULL;
    }
    s->o.location_columns = s->locs;
    return 1;
  } else taken = 0;
#undef IS
  if (!taken) {
    td_free(v);
    return 0;
  }
  if (s->n_strs == 8) { /* each option is kept until the backend is made */
    td_free(v);
    return -td_err(err, TD_EINVAL, "too many options (8 at most)");
  }
  s->strs[s->n_strs++] = v;
  return 1;
}

int td_postgres_backend_open_args(const char *conninfo, const char *table, const char *const *extra,
                                  int64_t n_extra, td_postgres_backend **out, td_error *err) {
  opt_store s;
  memset(&s, 0, sizeof s);
  td_postgres_options_init(&s.o);
  int rc = TD_OK;
  for (int64_t i = 0; i < n_extra && rc == TD_OK; i++) {
    int t = apply(&s, extra[i], strlen(extra[i]), err);
    if (t < 0) rc = -t;
    else if (t == 0)
      rc = td_err(err, TD_EINVAL,
                  "postgres(): unknown option '%s' (expected key=, xid=, locations=, numeric=float64, poll_ms=, "
                  "channel=)",
                  extra[i]);
  }
  if (rc == TD_OK) rc = td_postgres_backend_new(conninfo, table, &s.o, out, err);
  store_reset(&s);
  return rc;
}

int td_postgres_backend_open_uri(const char *uri, td_postgres_backend **out, td_error *err) {
  if (out) *out = NULL;
  if (!uri || !out) return td_err(err, TD_EINVAL, "td_postgres_backend_open_uri: NULL argument");
  size_t scheme = strncmp(uri, "postgresql://", 13) == 0 ? 13 : strncmp(uri, "postgres://", 11) == 0 ? 11 : 0;
  if (!scheme) return td_err(err, TD_EINVAL, "'%s' is not a postgresql:// URI", uri);
  const char *q = strchr(uri, '?');
  size_t base_len = q ? (size_t)(q - uri) : strlen(uri);
  const char *slash = NULL;
  for (const char *p = uri + scheme; p < uri + base_len; p++)
    if (*p == '/') slash = p;
  if (!slash || slash + 1 == uri + base_len)
    return td_err(err, TD_EINVAL, "'%s': expected postgresql://host/database/table (the last path segment is the table)",
                  uri);
  opt_store s;
  memset(&s, 0, sizeof s);
  td_postgres_options_init(&s.o);
  char *table = td_malloc((size_t)(uri + base_len - slash));
  char *conn = td_malloc(strlen(uri) + 1);
  int rc = table && conn ? TD_OK : td_err_nomem(err, "a URI");
  if (rc == TD_OK) {
    memcpy(table, slash + 1, (size_t)(uri + base_len - slash - 1));
    table[uri + base_len - slash - 1] = 0;
    url_decode(table);
    size_t cl = (size_t)(slash - uri);
    memcpy(conn, uri, cl);
    size_t w = cl;
    char sep = '?';
    for (const char *p = q ? q + 1 : NULL; p && *p && rc == TD_OK;) {
      const char *amp = strchr(p, '&');
      size_t len = amp ? (size_t)(amp - p) : strlen(p);
      int t = apply(&s, p, len, err);
      if (t < 0) rc = -t;
      else if (t == 0) {
        conn[w++] = sep;
        memcpy(conn + w, p, len);
        w += len;
        sep = '&';
      }
      p = amp ? amp + 1 : NULL;
    }
    conn[w] = 0;
  }
  if (rc == TD_OK) rc = td_postgres_backend_new(conn, table, &s.o, out, err);
  td_free(table);
  td_free(conn);
  store_reset(&s);
  return rc;
}

bool td_postgres_is_source(const char *source) {
  return source && (strncmp(source, "postgresql://", 13) == 0 || strncmp(source, "postgres://", 11) == 0 ||
                    strncmp(source, "postgres(", 9) == 0);
}

int td_postgres_backend_open_source(const char *source, td_postgres_backend **out, td_error *err) {
  if (out) *out = NULL;
  if (!td_postgres_is_source(source) || !out)
    return td_err(err, TD_EINVAL, "'%s' is not a PostgreSQL source", source ? source : "(null)");
  if (strncmp(source, "postgres(", 9) != 0) return td_postgres_backend_open_uri(source, out, err);
  char **args = NULL;
  int n = 0;
  int rc = td_call_args_split(source, 2, "postgres(): expected postgres('conninfo', 'table' [, option => 'value' ...])",
                              &args, &n, err);
  if (rc) return rc;
  rc = td_postgres_backend_open_args(args[0], args[1], (const char *const *)args + 2, n - 2, out, err);
  td_free(args);
  return rc;
}
