/*
 * cli/serve.h - `tabledata serve`: the server's state shared by the HTTP
 * side (cli/serve.c) and the live-query side (cli/serve_live.c).
 */
#ifndef TD_CLI_SERVE_H
#define TD_CLI_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tabledata.h"
#include "ticker.h"

struct mg_connection;

typedef struct td_serve_source {
  char name[65];
  const char *path; /* NULL: the live demo table */
  td_service *svc;
  td_table_key *key;
  td_memory_backend *demo_mb;
  td_ticker ticker;
} td_serve_source;

typedef struct td_serve_hub td_serve_hub;

typedef struct td_serve {
  td_serve_source *sources;
  int n_sources;
  const char *token; /* NULL: no token needed */
  int64_t max_rows, max_time_ms, max_clients, queue_bytes, period_ms;
  _Atomic int64_t clients; /* WebSocket clients connected */
  pthread_mutex_t mu;      /* guards hubs */
  td_serve_hub *hubs;
} td_serve;

/* The resolver of every query: named sources only (td_source_resolver). */
int td_serve_resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key,
                     td_error *err);
/* The HTTP status of a query error. */
int td_serve_status_of(int code);

/* Writes every batch of `stream` as an Arrow IPC stream into a new buffer
 * (*out, *len; free() it), prefixed by `prefix` bytes left zero for the
 * caller.  Errors: those of td_write_ipc_stream, TD_EIO, TD_ENOMEM. */
int td_serve_ipc_encode(struct ArrowArrayStream *stream, size_t prefix, unsigned char **out, size_t *len,
                        td_error *err);
/* A stream over `n` batches (moved in) and `schema` (moved in). */
int td_serve_batch_stream(struct ArrowSchema *schema, struct ArrowArray *batches, int64_t n,
                          struct ArrowArrayStream *out, td_error *err);

/* Reads `st` (released) into a new stream of its batches (`out`), counting
 * *rows.  Errors: TD_ERANGE (more than max_rows rows; *status 413),
 * TD_ETIMEOUT (longer than max_time_ms; 504), TD_EIO, TD_ENOMEM (500). */
int td_serve_collect(struct ArrowArrayStream *st, int64_t max_rows, int64_t max_time_ms,
                     struct ArrowArrayStream *out, int64_t *rows, int *status, td_error *err);

/* WebSocket live queries (cli/serve_live.c), as civetweb's handlers. */
int td_serve_ws_connect(const struct mg_connection *conn, void *cbdata);
void td_serve_ws_ready(struct mg_connection *conn, void *cbdata);
int td_serve_ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata);
void td_serve_ws_close(const struct mg_connection *conn, void *cbdata);
/* Releases what is left of the hubs once the server stopped. */
void td_serve_live_shutdown(td_serve *s);

/* Sends an error answer {"error": message} with `status`. */
void td_serve_send_error(struct mg_connection *conn, int status, const char *message, int64_t position);

#endif
