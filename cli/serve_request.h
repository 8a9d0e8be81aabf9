/*
 * cli/serve_request.h - the request parser of `tabledata serve`: what an
 * HTTP request or WebSocket upgrade asks for (route, SQL, output format,
 * token), decided from the method, path, query string, a few headers and
 * the body, with the 4xx status and message of a malformed request.  Pure
 * (no sockets, no tables), so it is fuzzed on its own (fuzz/fuzz_serve.c).
 */
#ifndef TD_CLI_SERVE_REQUEST_H
#define TD_CLI_SERVE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

typedef enum td_route {
  TD_ROUTE_ERROR,  /* malformed: status and message say why */
  TD_ROUTE_PAGE,   /* GET /           the web page */
  TD_ROUTE_TABLES, /* GET /api/tables the sources: names, schemas, sizes */
  TD_ROUTE_QUERY,  /* POST /api/query SQL -> Arrow IPC stream or JSON */
  TD_ROUTE_LIVE,   /* GET /api/live?sql=... | ?source=NAME  (WebSocket) */
} td_route;

#define TD_SERVE_MAX_SQL 65536

typedef struct td_serve_request {
  td_route route;
  int status;        /* 200, or the 4xx of a malformed request */
  char message[256]; /* why, when status is not 200 */
  bool json;         /* answer JSON (Accept: application/json or ?format=json) */
  char *sql;         /* owned; the query (QUERY, LIVE) */
  char *token;       /* owned; from ?token= or "Authorization: Bearer", else NULL */
} td_serve_request;

/* Parses a request.  `query` (the raw query string, without '?'), `accept`,
 * `content_type`, `authorization` and `body` may be NULL; `body` has
 * `body_len` bytes (not NUL-terminated).  Always fills `out` (release with
 * td_serve_request_reset); returns out->status.  Statuses: 404 unknown
 * path, 405 wrong method, 400 bad parameter, body or encoding, 413 SQL
 * longer than TD_SERVE_MAX_SQL, 500 out of memory. */
int td_serve_parse(const char *method, const char *path, const char *query, const char *accept,
                   const char *content_type, const char *authorization, const char *body, size_t body_len,
                   td_serve_request *out);
void td_serve_request_reset(td_serve_request *r);

/* Compares a given token with the expected one in time that depends only
 * on the expected token's length (not on where they differ).  NULL given
 * never matches. */
bool td_serve_token_equal(const char *expected, const char *given);

/* True when `name` can name a source: [A-Za-z_][A-Za-z0-9_]{0,63}. */
bool td_serve_valid_name(const char *name);

#endif
