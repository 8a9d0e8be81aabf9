/*
 * cli/serve_request.c - the request parser of `tabledata serve` (see
 * serve_request.h): routes, query-string decoding, the SQL body (text or
 * JSON {"sql": ...}), the output format and the token.
 */
#include "serve_request.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(td_serve_request *r, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->message, sizeof r->message, fmt, ap);
  va_end(ap);
  r->route = TD_ROUTE_ERROR;
  r->status = status;
  return status;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes n bytes of a query-string component ('+' is a space) into a new
 * string; NULL with *bad set on a bad escape or an encoded NUL. */
static char *url_decode(const char *s, size_t n, bool *bad) {
  char *out = malloc(n + 1);
  if (!out) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '+') c = ' ';
    else if (c == '%') {
      if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
        *bad = true;
        free(out);
        return NULL;
      }
      c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      if (c == 0) {
        *bad = true;
        free(out);
        return NULL;
      }
      i += 2;
    }
    out[k++] = c;
  }
  out[k] = 0;
  return out;
}

/* Takes the query-string parameters the routes know; 400 on others. */
static int parse_query(td_serve_request *r, const char *q, char **sql, char **source, char **format) {
  while (q && *q) {
    const char *amp = strchr(q, '&');
    size_t len = amp ? (size_t)(amp - q) : strlen(q);
    const char *eq = memchr(q, '=', len);
    if (len == 0) {
      q = amp ? amp + 1 : q + len;
      continue;
    }
    if (!eq) return fail(r, 400, "bad query parameter '%.*s' (expected name=value)", (int)(len > 40 ? 40 : len), q);
    size_t klen = (size_t)(eq - q);
    char **dst = NULL;
    if (klen == 3 && memcmp(q, "sql", 3) == 0) dst = sql;
    else if (klen == 6 && memcmp(q, "source", 6) == 0) dst = source;
    else if (klen == 6 && memcmp(q, "format", 6) == 0) dst = format;
    else if (klen == 5 && memcmp(q, "token", 5) == 0) dst = &r->token;
    else return fail(r, 400, "unknown query parameter '%.*s' (expected sql, source, format or token)",
                     (int)(klen > 40 ? 40 : klen), q);
    if (*dst) return fail(r, 400, "query parameter '%.*s' given twice", (int)klen, q);
    size_t vlen = len - klen - 1;
    if (vlen > TD_SERVE_MAX_SQL) return fail(r, 413, "query parameter '%.*s' longer than %d bytes", (int)klen, q,
                                             TD_SERVE_MAX_SQL);
    bool bad = false;
    *dst = url_decode(eq + 1, vlen, &bad);
    if (!*dst) return bad ? fail(r, 400, "bad percent-encoding in query parameter '%.*s'", (int)klen, q)
                          : fail(r, 500, "out of memory");
    q = amp ? amp + 1 : q + len;
  }
  return 200;
}

static bool starts_with_ci(const char *s, const char *prefix) {
  for (; *prefix; s++, prefix++) {
    char a = *s, b = *prefix;
    if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

static bool contains_ci(const char *s, const char *word) {
  for (; s && *s; s++)
    if (starts_with_ci(s, word)) return true;
  return false;
}

/* The SQL of a POST body: JSON {"sql": "..."} or the text itself. */
static int body_sql(td_serve_request *r, const char *content_type, const char *body, size_t n, char **sql) {
  if (n > TD_SERVE_MAX_SQL) return fail(r, 413, "request body longer than %d bytes", TD_SERVE_MAX_SQL);
  if (content_type && starts_with_ci(content_type, "application/json")) {
    json_error_t je;
    json_t *doc = json_loadb(body ? body : "", n, JSON_REJECT_DUPLICATES, &je);
    if (!doc) return fail(r, 400, "bad JSON body: %s at line %d column %d", je.text, je.line, je.column);
    json_t *s = json_is_object(doc) ? json_object_get(doc, "sql") : NULL;
    if (!json_is_string(s)) {
      json_decref(doc);
      return fail(r, 400, "the JSON body must be an object with a string member \"sql\"");
    }
    size_t len = json_string_length(s);
    const char *v = json_string_value(s);
    if (memchr(v, 0, len)) {
      json_decref(doc);
      return fail(r, 400, "the SQL holds a NUL character");
    }
    *sql = strdup(v);
    json_decref(doc);
  } else {
    if (content_type && !starts_with_ci(content_type, "text/plain") &&
        !starts_with_ci(content_type, "application/sql") &&
        !starts_with_ci(content_type, "application/x-www-form-urlencoded"))
      return fail(r, 415, "unsupported Content-Type (expected text/plain, application/sql or application/json)");
    if (body && memchr(body, 0, n)) return fail(r, 400, "the SQL holds a NUL character");
    *sql = malloc(n + 1);
    if (*sql) {
      if (n) memcpy(*sql, body, n);
      (*sql)[n] = 0;
    }
  }
  return *sql ? 200 : fail(r, 500, "out of memory");
}

bool td_serve_valid_name(const char *name) {
  if (!name || !((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_')) return false;
  size_t n = 0;
  for (const char *p = name; *p; p++, n++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return false;
  return n <= 64;
}

static bool blank(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return false;
  return true;
}

int td_serve_parse(const char *method, const char *path, const char *query, const char *accept,
                   const char *content_type, const char *authorization, const char *body, size_t body_len,
                   td_serve_request *r) {
  memset(r, 0, sizeof *r);
  r->status = 200;
  char *qsql = NULL, *source = NULL, *format = NULL;
  if (!method || !path) {
    fail(r, 400, "malformed request line");
    goto out;
  }
  bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0, post = strcmp(method, "POST") == 0;
  if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) r->route = TD_ROUTE_PAGE;
  else if (strcmp(path, "/api/tables") == 0) r->route = TD_ROUTE_TABLES;
  else if (strcmp(path, "/api/query") == 0) r->route = TD_ROUTE_QUERY;
  else if (strcmp(path, "/api/live") == 0) r->route = TD_ROUTE_LIVE;
  else {
    fail(r, 404, "no such resource (expected /, /api/tables, /api/query or /api/live)");
    goto out;
  }
  if (r->route == TD_ROUTE_QUERY ? !post : !get) {
    fail(r, 405, "method %.16s not allowed here (expected %s)", method, r->route == TD_ROUTE_QUERY ? "POST" : "GET");
    goto out;
  }
  if (parse_query(r, query, &qsql, &source, &format) != 200) goto out;
  if (authorization && !r->token) {
    if (!starts_with_ci(authorization, "bearer ")) {
      fail(r, 401, "bad Authorization header (expected 'Bearer <token>')");
      goto out;
    }
    const char *t = authorization + 7;
    while (*t == ' ') t++;
    if (!(r->token = strdup(t))) {
      fail(r, 500, "out of memory");
      goto out;
    }
  }
  if (format) {
    if (strcmp(format, "json") == 0) r->json = true;
    else if (strcmp(format, "arrow") != 0) {
      fail(r, 400, "bad format '%.40s' (expected arrow or json)", format);
      goto out;
    }
  } else if (accept && contains_ci(accept, "application/json") && !contains_ci(accept, "vnd.apache.arrow")) {
    r->json = true;
  }
  if (r->route == TD_ROUTE_QUERY) {
    if (qsql || source) {
      fail(r, 400, "POST /api/query takes the SQL in the body, not in the query string");
      goto out;
    }
    if (body_sql(r, content_type, body, body_len, &r->sql) != 200) goto out;
  } else if (r->route == TD_ROUTE_LIVE) {
    if (qsql && source) {
      fail(r, 400, "give sql or source, not both");
      goto out;
    }
    if (source) {
      if (!td_serve_valid_name(source)) {
        fail(r, 400, "bad source name '%.64s'", source);
        goto out;
      }
      size_t n = strlen(source) + 32;
      if (!(r->sql = malloc(n))) {
        fail(r, 500, "out of memory");
        goto out;
      }
      snprintf(r->sql, n, "SELECT * FROM %s", source);
    } else {
      r->sql = qsql;
      qsql = NULL;
    }
    if (!r->sql) {
      fail(r, 400, "GET /api/live needs ?sql=SELECT... or ?source=NAME");
      goto out;
    }
  } else if (r->route == TD_ROUTE_TABLES && (qsql || source)) {
    /* The page takes them (its script reads them); /api/tables does not. */
    fail(r, 400, "this resource takes no sql or source parameter");
    goto out;
  }
  if (r->sql && blank(r->sql)) fail(r, 400, "empty query (expected SELECT ...)");
out:
  free(qsql);
  free(source);
  free(format);
  if (r->status != 200) {
    free(r->sql);
    r->sql = NULL;
  }
  return r->status;
}

void td_serve_request_reset(td_serve_request *r) {
  free(r->sql);
  free(r->token);
  memset(r, 0, sizeof *r);
}

bool td_serve_token_equal(const char *expected, const char *given) {
  if (!expected || !given) return false;
  size_t n = strlen(expected), m = strlen(given);
  volatile unsigned char diff = (unsigned char)(n != m);
  /* Reads `expected` in full whatever `given` holds: the time depends on
   * the expected token's length only. */
  for (size_t i = 0; i < n; i++) {
    unsigned char g = i < m ? (unsigned char)given[i] : 0;
    diff |= (unsigned char)(expected[i] ^ g);
  }
  return diff == 0;
}
