/*
 * cli/serve.c - `tabledata serve`: an HTTP server (civetweb) over sources
 * named at start.
 *
 *   GET  /            the web page (built into the program: web/dist)
 *   GET  /api/tables  the sources: names, columns, types, rows, locations (JSON)
 *   POST /api/query   SQL over the named sources -> an Arrow IPC stream, or
 *                     JSON with Accept: application/json or ?format=json
 *   GET  /api/live    WebSocket: a live query (cli/serve_live.c)
 *
 * Safe to expose: binds 127.0.0.1 unless told otherwise, and elsewhere only
 * with --token (checked on every request and socket, in constant time) or
 * --insecure; queries reach named sources only (a quoted path is refused);
 * the SQL subset has no statement that writes; results are bounded in rows
 * and time; clients are bounded in number; malformed requests get a 4xx.
 */

#include "serve.h"

#include <civetweb.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "printer.h"
#include "sample.h"
#include "serve_request.h"

extern const unsigned char td_serve_page[];
extern const size_t td_serve_page_len;

static const char k_serve_help[] =
    "usage: tabledata serve --source NAME[=PATH] [--source ...] [options]\n\n"
    "Serves the named sources over HTTP: a web page with a live grid and chart at /,\n"
    "GET /api/tables (names, schemas, sizes), POST /api/query (SQL -> Arrow IPC stream,\n"
    "or JSON with Accept: application/json or ?format=json) and a WebSocket live query\n"
    "at /api/live?sql=... (a snapshot, then one Arrow IPC delta per update cycle).\n"
    "--source demo serves the live demo table (a writer appends --rate rows/s);\n"
    "--source NAME=PATH a directory of data files or one file, watched for changes.\n"
    "PATH may also be a database or stream: 'postgresql://host/db/table' or\n"
    "'kafka://host:port/topic?format=json' (docs/POSTGRES.md, docs/KAFKA.md).\n"
    "Queries name sources only: a quoted path in a query is refused.\n\n"
    "  --host H          address to listen on (default 127.0.0.1); another address\n"
    "                    needs --token or --insecure\n"
    "  --port P          port (default 8080; 0 picks a free one)\n"
    "  --token T         every request must carry 'Authorization: Bearer T' or ?token=T\n"
    "  --insecure        allow listening beyond localhost without a token\n"
    "  --max-rows N      rows a query or live result may hold (default 1000000)\n"
    "  --max-time MS     time a query may take to produce its rows (default 10000)\n"
    "  --max-clients N   concurrent WebSocket clients (default 64)\n"
    "  --queue-bytes B   deltas queued for a slow WebSocket client before they are\n"
    "                    coalesced into a fresh snapshot (default 8388608)\n"
    "  --period MS       update cycle period of live sources (default 200)\n"
    "  --rate R          demo writer rows per second (default 20)\n"
    "  --duration S      stop after S seconds (default: until Ctrl-C)\n\n"
    "Example (open the printed address in a browser; --duration stops it after 2 s):\n"
    "  tabledata serve --port 0 --duration 2 --source demo --source ticks=/tmp/ticks/parquet\n"
    "  curl -s -d \"SELECT Symbol, count(*) FROM ticks GROUP BY Symbol\" \\\n"
    "       'http://127.0.0.1:8080/api/query?format=json'\n";

/* ---- sources ---- */

int td_serve_resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key,
                     td_error *err) {
  td_serve *s = ctx;
  if (is_path || td_file_is_source(name)) {
    err->code = TD_ENOTFOUND;
    snprintf(err->message, sizeof err->message,
             "paths are not reachable through the server: name a source given to --source (found '%.200s')", name);
    return TD_ENOTFOUND;
  }
  for (int i = 0; i < s->n_sources; i++) {
    if (strcmp(s->sources[i].name, name) != 0) continue;
    int rc = td_table_key_new(td_table_key_name(s->sources[i].key), key, err);
    if (rc) return rc;
    *svc = td_service_retain(s->sources[i].svc);
    return TD_OK;
  }
  err->code = TD_ENOTFOUND;
  int k = snprintf(err->message, sizeof err->message, "unknown source '%.100s' (the sources are", name);
  for (int i = 0; i < s->n_sources && k > 0 && (size_t)k < sizeof err->message; i++)
    k += snprintf(err->message + k, sizeof err->message - (size_t)k, "%s %s", i ? "," : "", s->sources[i].name);
  if (k > 0 && (size_t)k < sizeof err->message) snprintf(err->message + k, sizeof err->message - (size_t)k, ")");
  return TD_ENOTFOUND;
}

int td_serve_status_of(int code) {
  switch (code) {
  case TD_EPARSE:
  case TD_ETYPE:
  case TD_EINVAL:
  case TD_EUNSUPPORTED: return 400;
  case TD_ENOTFOUND: return 404;
  case TD_ETIMEOUT: return 504;
  default: return 500;
  }
}

static int open_sources(td_serve *s, td_error *err) {
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = s->period_ms;
  for (int i = 0; i < s->n_sources; i++) {
    td_serve_source *src = &s->sources[i];
    int rc;
    if (src->path) {
      rc = td_cli_open_path(src->path, &o, &src->svc, &src->key, err);
    } else {
      rc = td_sample_create(&src->demo_mb, err);
      if (rc == TD_OK) rc = td_service_new(td_memory_backend_backend(src->demo_mb), &o, &src->svc, err);
      if (rc == TD_OK) rc = td_table_key_new(TD_SAMPLE_TABLE, &src->key, err);
    }
    if (rc) return rc;
  }
  return TD_OK;
}

static void close_sources(td_serve *s) {
  for (int i = 0; i < s->n_sources; i++) {
    td_ticker_stop(&s->sources[i].ticker);
    td_table_key_release(s->sources[i].key);
    td_service_free(s->sources[i].svc);
    td_memory_backend_release(s->sources[i].demo_mb);
  }
}

/* ---- Arrow IPC into memory ---- */

int td_serve_ipc_encode(struct ArrowArrayStream *stream, size_t prefix, unsigned char **out, size_t *len,
                        td_error *err) {
  *out = NULL;
  *len = 0;
  int fd = memfd_create("td-serve-ipc", MFD_CLOEXEC);
  if (fd < 0) {
    err->code = TD_EIO;
    snprintf(err->message, sizeof err->message, "memfd_create: %s", strerror(errno));
    return TD_EIO;
  }
  int rc = prefix && lseek(fd, (off_t)prefix, SEEK_SET) < 0 ? TD_EIO : TD_OK;
  if (rc == TD_OK) rc = td_write_ipc_stream(fd, stream, err);
  off_t size = rc == TD_OK ? lseek(fd, 0, SEEK_END) : -1;
  if (rc == TD_OK && size < 0) rc = TD_EIO;
  unsigned char *buf = rc == TD_OK ? malloc((size_t)size) : NULL;
  if (rc == TD_OK && !buf) {
    rc = err->code = TD_ENOMEM;
    snprintf(err->message, sizeof err->message, "out of memory encoding %lld bytes", (long long)size);
  }
  for (off_t done = 0; rc == TD_OK && done < size;) {
    ssize_t k = pread(fd, buf + done, (size_t)(size - done), done);
    if (k <= 0) {
      rc = err->code = TD_EIO;
      snprintf(err->message, sizeof err->message, "reading back the IPC stream: %s", strerror(errno));
    } else {
      done += k;
    }
  }
  close(fd);
  if (rc) {
    free(buf);
    return rc;
  }
  memset(buf, 0, prefix);
  *out = buf;
  *len = (size_t)size;
  return TD_OK;
}

typedef struct batch_list {
  struct ArrowSchema schema;
  struct ArrowArray *batches;
  int64_t n, next;
} batch_list;

static int bl_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  /* Each stream here is read once: the schema moves out on the first call. */
  batch_list *b = st->private_data;
  if (!b->schema.release) return EINVAL;
  *out = b->schema;
  b->schema.release = NULL;
  return 0;
}

static int bl_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  batch_list *b = st->private_data;
  if (b->next >= b->n) {
    memset(out, 0, sizeof *out);
    return 0;
  }
  *out = b->batches[b->next];
  b->batches[b->next++].release = NULL;
  return 0;
}

static const char *bl_error(struct ArrowArrayStream *st) {
  (void)st;
  return "batch list failed";
}

static void bl_release(struct ArrowArrayStream *st) {
  batch_list *b = st->private_data;
  for (int64_t i = 0; i < b->n; i++)
    if (b->batches[i].release) b->batches[i].release(&b->batches[i]);
  free(b->batches);
  if (b->schema.release) b->schema.release(&b->schema);
  free(b);
  st->release = NULL;
}

int td_serve_batch_stream(struct ArrowSchema *schema, struct ArrowArray *batches, int64_t n,
                          struct ArrowArrayStream *out, td_error *err) {
  batch_list *b = calloc(1, sizeof *b);
  if (!b) {
    for (int64_t i = 0; i < n; i++) batches[i].release(&batches[i]);
    free(batches);
    schema->release(schema);
    err->code = TD_ENOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
    return TD_ENOMEM;
  }
  b->schema = *schema;
  schema->release = NULL;
  b->batches = batches;
  b->n = n;
  out->get_schema = bl_schema;
  out->get_next = bl_next;
  out->get_last_error = bl_error;
  out->release = bl_release;
  out->private_data = b;
  return TD_OK;
}

/* ---- answers ---- */

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Payload Too Large";
  case 415: return "Unsupported Media Type";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return status < 500 ? "Bad Request" : "Internal Server Error";
  }
}

static void send_body(struct mg_connection *conn, int status, const char *type, const void *body, size_t len) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n%s\r\n",
            status, reason(status), type, len,
            status == 401 ? "WWW-Authenticate: Bearer realm=\"tabledata\"\r\n" : "");
  const struct mg_request_info *ri = mg_get_request_info(conn);
  if (len && !(ri && ri->request_method && strcmp(ri->request_method, "HEAD") == 0)) mg_write(conn, body, len);
}

void td_serve_send_error(struct mg_connection *conn, int status, const char *message, int64_t position) {
  json_t *o = json_pack("{s:s, s:i}", "error", message, "status", status);
  if (o && position >= 0) json_object_set_new(o, "position", json_integer(position));
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  if (text) send_body(conn, status, "application/json", text, strlen(text));
  else send_body(conn, 500, "text/plain", "out of memory", 13);
  free(text);
  json_decref(o);
}

static void send_tables(struct mg_connection *conn, td_serve *s) {
  json_t *tables = json_array();
  for (int i = 0; i < s->n_sources && tables; i++) {
    td_serve_source *src = &s->sources[i];
    json_t *o = json_pack("{s:s, s:s?, s:b}", "name", src->name, "path", src->path, "live", 1);
    td_table *t = NULL;
    td_error err;
    td_error_clear(&err);
    if (o && td_make_table(src->svc, src->key, NULL, &t, &err) == TD_OK) {
      json_t *cols = json_array();
      for (int64_t c = 0; c < td_table_num_columns(t); c++) {
        json_t *col = json_pack("{s:s, s:s, s:b}", "name", td_table_column_name(t, c), "type",
                                td_type_name(td_table_column_type(t, c)), "partition",
                                td_table_column_is_partition(t, c));
        const char *tz = td_table_column_timezone(t, c);
        if (col && tz) json_object_set_new(col, "timezone", json_string(tz));
        json_array_append_new(cols, col);
      }
      json_object_set_new(o, "columns", cols);
      json_object_set_new(o, "rows", json_integer(td_table_size(t)));
      json_object_set_new(o, "locations", json_integer(td_table_location_count(t)));
      td_table_release(t);
    } else if (o) {
      json_object_set_new(o, "error", json_string(err.message));
    }
    json_array_append_new(tables, o);
  }
  json_t *doc = json_pack("{s:o}", "tables", tables);
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  if (text) send_body(conn, 200, "application/json", text, strlen(text));
  else td_serve_send_error(conn, 500, "out of memory", -1);
  free(text);
  json_decref(doc);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

int td_serve_collect(struct ArrowArrayStream *st, int64_t max_rows, int64_t max_time_ms,
                     struct ArrowArrayStream *out, int64_t *rows, int *status, td_error *err) {
  double t0 = now_ms();
  struct ArrowSchema schema;
  struct ArrowArray *batches = NULL;
  int64_t n = 0, cap = 0;
  int rc = TD_OK;
  *rows = 0;
  *status = 500;
  if (st->get_schema(st, &schema) != 0) {
    rc = err->code = TD_EIO;
    snprintf(err->message, sizeof err->message, "%s", st->get_last_error(st));
    st->release(st);
    return rc;
  }
  for (;;) {
    if (now_ms() - t0 > (double)max_time_ms) {
      rc = err->code = TD_ETIMEOUT;
      *status = 504;
      snprintf(err->message, sizeof err->message, "the query ran longer than the limit of %lld ms (--max-time)",
               (long long)max_time_ms);
      break;
    }
    struct ArrowArray b;
    if (st->get_next(st, &b) != 0) {
      rc = err->code = TD_EIO;
      snprintf(err->message, sizeof err->message, "%s", st->get_last_error(st));
      break;
    }
    if (!b.release) break;
    *rows += b.length;
    if (*rows > max_rows) {
      b.release(&b);
      rc = err->code = TD_ERANGE;
      *status = 413;
      snprintf(err->message, sizeof err->message,
               "the result has more than %lld rows (--max-rows): add a LIMIT or a WHERE", (long long)max_rows);
      break;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 16;
      struct ArrowArray *nb = realloc(batches, (size_t)cap * sizeof *nb);
      if (!nb) {
        b.release(&b);
        rc = err->code = TD_ENOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        break;
      }
      batches = nb;
    }
    batches[n++] = b;
  }
  st->release(st);
  if (rc) {
    for (int64_t i = 0; i < n; i++) batches[i].release(&batches[i]);
    free(batches);
    schema.release(&schema);
    return rc;
  }
  *status = 200;
  return td_serve_batch_stream(&schema, batches, n, out, err);
}

/* Runs a static query and collects its batches within the limits. */
static int run_query(td_serve *s, const char *sql, struct ArrowArrayStream *out, int *status, td_error *err) {
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = td_serve_resolve;
  qo.resolver_ctx = s;
  qo.read_only = true; /* COPY and any writing statement: 400 */
  struct ArrowArrayStream st;
  int rc = td_query_stream(sql, &qo, &st, err);
  if (rc) {
    *status = td_serve_status_of(rc);
    return rc;
  }
  int64_t rows;
  return td_serve_collect(&st, s->max_rows, s->max_time_ms, out, &rows, status, err);
}

/* The result as JSON: {"columns":[{name,type}],"rows":[{...}]} (rows as
 * `tabledata query --format jsonl` prints them). */
static int encode_json(struct ArrowArrayStream *st, char **out, size_t *len, td_error *err) {
  struct ArrowSchema schema;
  if (st->get_schema(st, &schema) != 0) {
    err->code = TD_ENOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
    return TD_ENOMEM;
  }
  json_t *cols = json_array();
  for (int64_t c = 0; c < schema.n_children; c++)
    json_array_append_new(cols, json_pack("{s:s, s:s}", "name", schema.children[c]->name, "format",
                                          schema.children[c]->format));
  char *ctext = json_dumps(cols, JSON_COMPACT);
  json_decref(cols);
  char *lines = NULL;
  size_t lines_len = 0;
  FILE *f = open_memstream(&lines, &lines_len);
  td_printer p;
  memset(&p, 0, sizeof p);
  int rc = !ctext || !f ? TD_ENOMEM : td_printer_init(&p, TD_FORMAT_JSONL, f, &schema, err);
  while (rc == TD_OK) {
    struct ArrowArray b;
    if (st->get_next(st, &b) != 0 || !b.release) break;
    rc = td_printer_rows(&p, &b, 0, b.length, err);
    b.release(&b);
  }
  if (p.out) td_printer_flush(&p);
  td_printer_reset(&p);
  if (f) fclose(f);
  if (schema.release) schema.release(&schema);
  if (rc == TD_OK && ctext && lines) {
    /* Lines "{...}\n" become a JSON array "[{...},{...}]". */
    size_t n = strlen(ctext) + lines_len + 64;
    char *doc = malloc(n);
    if (doc) {
      size_t k = (size_t)snprintf(doc, n, "{\"columns\":%s,\"rows\":[", ctext);
      for (size_t i = 0; i < lines_len; i++) {
        if (lines[i] != '\n') doc[k++] = lines[i];
        else if (i + 1 < lines_len) doc[k++] = ',';
      }
      k += (size_t)snprintf(doc + k, n - k, "]}");
      *out = doc;
      *len = k;
    } else {
      rc = TD_ENOMEM;
    }
  } else if (rc == TD_OK) {
    rc = TD_ENOMEM;
  }
  if (rc == TD_ENOMEM) {
    err->code = TD_ENOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
  }
  free(ctext);
  free(lines);
  return rc;
}

static void send_query(struct mg_connection *conn, td_serve *s, const td_serve_request *r) {
  td_error err;
  td_error_clear(&err);
  struct ArrowArrayStream st;
  int status;
  int rc = run_query(s, r->sql, &st, &status, &err);
  if (rc) {
    td_serve_send_error(conn, status, err.message,
                        (err.code == TD_EPARSE || err.code == TD_ETYPE) ? err.position : -1);
    return;
  }
  if (r->json) {
    char *doc = NULL;
    size_t len = 0;
    rc = encode_json(&st, &doc, &len, &err);
    if (rc == TD_OK) send_body(conn, 200, "application/json", doc, len);
    free(doc);
  } else {
    unsigned char *buf = NULL;
    size_t len = 0;
    rc = td_serve_ipc_encode(&st, 0, &buf, &len, &err);
    if (rc == TD_OK) send_body(conn, 200, "application/vnd.apache.arrow.stream", buf, len);
    free(buf);
  }
  st.release(&st);
  if (rc) td_serve_send_error(conn, td_serve_status_of(rc), err.message, -1);
}

/* Checks the token of a parsed request; answers 401 and returns false when
 * it is missing or wrong. */
static bool authorized(struct mg_connection *conn, td_serve *s, const td_serve_request *r) {
  if (!s->token) return true;
  if (td_serve_token_equal(s->token, r->token)) return true;
  td_serve_send_error(conn, 401,
                      r->token ? "wrong token" : "this server needs a token ('Authorization: Bearer T' or ?token=T)", -1);
  return false;
}

static int http_handler(struct mg_connection *conn, void *cbdata) {
  td_serve *s = cbdata;
  const struct mg_request_info *ri = mg_get_request_info(conn);
  char *body = NULL;
  size_t body_len = 0;
  if (ri->request_method && strcmp(ri->request_method, "POST") == 0) {
    if (ri->content_length > TD_SERVE_MAX_SQL) {
      td_serve_send_error(conn, 413, "request body too large", -1);
      return 413;
    }
    body = malloc(TD_SERVE_MAX_SQL + 1);
    if (!body) {
      td_serve_send_error(conn, 500, "out of memory", -1);
      return 500;
    }
    for (;;) {
      int k = mg_read(conn, body + body_len, TD_SERVE_MAX_SQL + 1 - body_len);
      if (k <= 0) break;
      body_len += (size_t)k;
      if (body_len > TD_SERVE_MAX_SQL) break;
    }
  }
  td_serve_request r;
  int status = td_serve_parse(ri->request_method, ri->local_uri, ri->query_string, mg_get_header(conn, "Accept"),
                              mg_get_header(conn, "Content-Type"), mg_get_header(conn, "Authorization"), body,
                              body_len, &r);
  free(body);
  if (status != 200) {
    /* The token is checked before anything else is said about the request. */
    if (s->token && status != 401 && !td_serve_token_equal(s->token, r.token)) status = 401;
    if (status == 401) authorized(conn, s, &r);
    else td_serve_send_error(conn, status, r.message, -1);
  } else if (authorized(conn, s, &r)) {
    switch (r.route) {
    case TD_ROUTE_PAGE: send_body(conn, 200, "text/html; charset=utf-8", td_serve_page, td_serve_page_len); break;
    case TD_ROUTE_TABLES: send_tables(conn, s); break;
    case TD_ROUTE_QUERY: send_query(conn, s, &r); break;
    default: td_serve_send_error(conn, 400, "GET /api/live expects a WebSocket upgrade", -1); break;
    }
  } else {
    status = 401;
  }
  td_serve_request_reset(&r);
  return status == 200 ? 200 : status;
}

/* ---- options and main ---- */

typedef struct sargs {
  const char *host, *token;
  int port;
  bool insecure;
  double duration, rate;
} sargs;

static bool is_local(const char *host) {
  return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
         strcmp(host, "[::1]") == 0;
}

static int parse_num(const char *o, const char *v, double lo, double *out) {
  char *end;
  if (!v || (*out = strtod(v, &end), *end || end == v || *out < lo)) {
    fprintf(stderr, "tabledata serve: %s expects a number >= %g\n", o, lo);
    return 2;
  }
  return 0;
}

static int parse_args(int argc, char **argv, td_serve *s, sargs *a) {
  a->host = "127.0.0.1";
  a->port = 8080;
  a->rate = 20;
  s->max_rows = 1000000;
  s->max_time_ms = 10000;
  s->max_clients = 64;
  s->queue_bytes = 8 << 20;
  s->period_ms = 200;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    double num;
    int64_t *lim = NULL;
    double lo = 1;
    if (strcmp(o, "--source") == 0 && v) {
      td_serve_source *src = &s->sources[s->n_sources];
      const char *eq = strchr(v, '=');
      size_t n = eq ? (size_t)(eq - v) : strlen(v);
      if (n >= sizeof src->name) n = sizeof src->name - 1;
      memcpy(src->name, v, n);
      src->name[n] = 0;
      if (!td_serve_valid_name(src->name)) {
        fprintf(stderr, "tabledata serve: bad source name '%s' (expected letters, digits, _)\n", src->name);
        return 2;
      }
      for (int k = 0; k < s->n_sources; k++)
        if (strcmp(s->sources[k].name, src->name) == 0) {
          fprintf(stderr, "tabledata serve: source '%s' named twice\n", src->name);
          return 2;
        }
      if (eq) src->path = eq + 1;
      else if (strcmp(src->name, "demo") != 0) {
        fprintf(stderr, "tabledata serve: --source %s needs a path (NAME=PATH); only demo stands alone\n", src->name);
        return 2;
      }
      s->n_sources++;
      i++;
      continue;
    }
    if (strcmp(o, "--host") == 0 && v) a->host = v;
    else if (strcmp(o, "--token") == 0 && v) a->token = v;
    else if (strcmp(o, "--insecure") == 0) {
      a->insecure = true;
      continue;
    } else if (strcmp(o, "--port") == 0) {
      if (parse_num(o, v, 0, &num) || num > 65535) return 2;
      a->port = (int)num;
    } else if (strcmp(o, "--duration") == 0) {
      if (parse_num(o, v, 0, &a->duration)) return 2;
    } else if (strcmp(o, "--rate") == 0) {
      if (parse_num(o, v, 0, &a->rate)) return 2;
    } else if (strcmp(o, "--max-rows") == 0) lim = &s->max_rows;
    else if (strcmp(o, "--max-time") == 0) lim = &s->max_time_ms;
    else if (strcmp(o, "--max-clients") == 0) lim = &s->max_clients;
    else if (strcmp(o, "--queue-bytes") == 0) lim = &s->queue_bytes;
    else if (strcmp(o, "--period") == 0) {
      lim = &s->period_ms;
      lo = 0;
    } else {
      fprintf(stderr, "tabledata serve: unknown option or missing value '%s'\n%s", o, k_serve_help);
      return 2;
    }
    if (lim) {
      if (parse_num(o, v, lo, &num)) return 2;
      *lim = (int64_t)num;
    }
    i++;
  }
  if (s->n_sources == 0) {
    fprintf(stderr, "tabledata serve: expected at least one --source\n%s", k_serve_help);
    return 2;
  }
  if (a->token && !*a->token) {
    fprintf(stderr, "tabledata serve: --token must not be empty\n");
    return 2;
  }
  if (!is_local(a->host) && !a->token && !a->insecure) {
    fprintf(stderr,
            "tabledata serve: listening on %s (beyond this machine) needs --token T, or --insecure to serve "
            "without one\n",
            a->host);
    return 2;
  }
  s->token = a->token;
  return 0;
}

int td_cmd_serve(int argc, char **argv) {
  if (td_cli_wants_help(argc, argv, k_serve_help)) return 0;
  td_serve s;
  memset(&s, 0, sizeof s);
  s.sources = calloc((size_t)argc, sizeof *s.sources);
  if (!s.sources) return 1;
  sargs a;
  memset(&a, 0, sizeof a);
  int rc = parse_args(argc, argv, &s, &a);
  if (rc) {
    free(s.sources);
    return rc;
  }
  signal(SIGPIPE, SIG_IGN);
  pthread_mutex_init(&s.mu, NULL);
  td_error err;
  td_error_clear(&err);
  rc = open_sources(&s, &err);
  struct mg_context *ctx = NULL;
  if (rc == TD_OK) {
    char ports[300], threads[32];
    snprintf(ports, sizeof ports, strchr(a.host, ':') && a.host[0] != '[' ? "[%s]:%d" : "%s:%d", a.host, a.port);
    snprintf(threads, sizeof threads, "%lld", (long long)(s.max_clients + 16));
    const char *opts[] = {"listening_ports", ports, "num_threads", threads, "request_timeout_ms", "10000",
                          "websocket_timeout_ms", "30000", "enable_websocket_ping_pong", "yes",
                          "max_request_size", "16384", "enable_keep_alive", "yes",
                          /* a WebSocket frame goes out as two writes (header, payload): with
                           * Nagle the payload waits for the client's delayed ACK */
                          "tcp_nodelay", "1", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    mg_init_library(0);
    ctx = mg_start(&cb, &s, opts);
    if (!ctx) {
      rc = err.code = TD_EIO;
      snprintf(err.message, sizeof err.message, "cannot listen on %s (in use, or not an address of this machine)",
               ports);
    }
  }
  if (rc == TD_OK) {
    mg_set_request_handler(ctx, "/", http_handler, &s);
    mg_set_websocket_handler(ctx, "/api/live", td_serve_ws_connect, td_serve_ws_ready, td_serve_ws_data,
                             td_serve_ws_close, &s);
    struct mg_server_port sp[4];
    int np = mg_get_server_ports(ctx, 4, sp);
    int port = np > 0 ? sp[0].port : a.port;
    for (int i = 0; i < s.n_sources && rc == TD_OK; i++)
      if (!s.sources[i].path) rc = td_ticker_start(&s.sources[i].ticker, s.sources[i].demo_mb, a.rate);
    printf("tabledata serve: listening on http://%s:%d/ (%d source%s)\n", strchr(a.host, ':') ? "[::1]" : a.host,
           port, s.n_sources, s.n_sources == 1 ? "" : "s");
    fflush(stdout);
    if (rc == TD_OK) td_wait_interrupt(a.duration);
  }
  for (int i = 0; i < s.n_sources; i++) td_ticker_stop(&s.sources[i].ticker);
  if (ctx) mg_stop(ctx);
  td_serve_live_shutdown(&s);
  close_sources(&s);
  free(s.sources);
  pthread_mutex_destroy(&s.mu);
  if (ctx) mg_exit_library();
  return rc ? td_cli_fail("serve", &err) : 0;
}
