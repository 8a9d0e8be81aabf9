/*
 * backends/kafka/kafka_source.c - FROM sources for the Kafka backend:
 * "kafka://host:port[,host:port]/topic?format=json&..." URIs and the
 * canonical text of kafka('brokers', 'topic', name => 'value' ...) calls,
 * turned into td_kafka_backend_new calls.
 *
 * Options (query parameters or named arguments): format, schema, columns,
 * sample, poll_ms, timeout_ms, index_step; a name with a dot is a
 * librdkafka property (security.protocol=ssl, isolation.level=...).
 */
#include <stdlib.h>
#include <string.h>

#include "tabledata/kafka_backend.h"
#include "util/alloc.h"
#include "util/call_args.h"
#include "util/error.h"

#define MAX_OPTIONS 32

typedef struct opt_store {
  td_kafka_options o;
  char *strs[MAX_OPTIONS];
  int n_strs;
  const char *config[MAX_OPTIONS];
} opt_store;

static void url_decode(char *s) {
  char *w = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '%' && p[1] && p[2]) {
      char hex[3] = {p[1], p[2], 0}, *end;
      long v = strtol(hex, &end, 16);
      if (!*end) {
        *w++ = (char)v;
        p += 2;
        continue;
      }
    }
    *w++ = *p == '+' ? ' ' : *p;
  }
  *w = 0;
}

static int number(const char *name, const char *v, int64_t *out, td_error *err) {
  char *end;
  long long n = strtoll(v, &end, 10);
  if (*end || end == v || n <= 0) return td_err(err, TD_EINVAL, "kafka option %s: expected a positive number, found '%s'", name, v);
  *out = n;
  return TD_OK;
}

/* Applies "name=value" (`len` bytes, URL-decoded when `url`). */
static int apply(opt_store *s, const char *nv, size_t len, bool url, td_error *err) {
  if (s->n_strs == MAX_OPTIONS) return td_err(err, TD_EINVAL, "kafka source: more than %d options", MAX_OPTIONS);
  char *v = td_malloc(len + 1);
  if (!v) return td_err_nomem(err, "an option");
  memcpy(v, nv, len);
  v[len] = 0;
  if (url) url_decode(v);
  s->strs[s->n_strs++] = v;
  char *eq = strchr(v, '=');
  if (!eq) return td_err(err, TD_EINVAL, "kafka option '%s': expected name=value", v);
  const char *val = eq + 1;
  size_t nl = (size_t)(eq - v);
#define IS(x) (nl == strlen(x) && memcmp(v, x, nl) == 0)
  if (IS("format")) s->o.format = val;
  else if (IS("schema")) s->o.schema = val;
  else if (IS("columns")) s->o.columns = val;
  else if (IS("sample")) return number("sample", val, &s->o.sample, err);
  else if (IS("poll_ms")) return number("poll_ms", val, &s->o.poll_ms, err);
  else if (IS("timeout_ms")) return number("timeout_ms", val, &s->o.timeout_ms, err);
  else if (IS("index_step")) return number("index_step", val, &s->o.index_step, err);
  else if (memchr(v, '.', nl)) s->config[s->o.n_config++] = v;
  else
    return td_err(err, TD_EINVAL,
                  "kafka: unknown option '%.*s' (expected format, schema, columns, sample, poll_ms, timeout_ms, "
                  "index_step, or a librdkafka property such as security.protocol)",
                  (int)nl, v);
#undef IS
  return TD_OK;
}

static void store_reset(opt_store *s) {
  for (int i = 0; i < s->n_strs; i++) td_free(s->strs[i]);
}

static int open_uri(const char *uri, opt_store *s, td_kafka_backend **out, td_error *err) {
  const char *p = uri + 8; /* "kafka://" */
  const char *q = strchr(p, '?');
  const char *base_end = q ? q : p + strlen(p);
  const char *slash = memchr(p, '/', (size_t)(base_end - p));
  if (!slash || slash == p || slash + 1 == base_end)
    return td_err(err, TD_EINVAL, "'%s': expected kafka://host:port[,host:port...]/topic[?option=value&...]", uri);
  char *brokers = td_malloc((size_t)(slash - p) + 1), *topic = td_malloc((size_t)(base_end - slash));
  int rc = brokers && topic ? TD_OK : td_err_nomem(err, "a URI");
  if (rc == TD_OK) {
    memcpy(brokers, p, (size_t)(slash - p));
    brokers[slash - p] = 0;
    memcpy(topic, slash + 1, (size_t)(base_end - slash - 1));
    topic[base_end - slash - 1] = 0;
    url_decode(topic);
  }
  for (const char *o = q ? q + 1 : NULL; rc == TD_OK && o && *o;) {
    const char *amp = strchr(o, '&');
    size_t len = amp ? (size_t)(amp - o) : strlen(o);
    if (len) rc = apply(s, o, len, true, err);
    o = amp ? amp + 1 : NULL;
  }
  s->o.config = s->config;
  if (rc == TD_OK) rc = td_kafka_backend_new(brokers, topic, &s->o, out, err);
  td_free(brokers);
  td_free(topic);
  return rc;
}

static int open_call(const char *call, opt_store *s, td_kafka_backend **out, td_error *err) {
  char **args;
  int n;
  int rc = td_call_args_split(call, 2, "kafka(): expected kafka('host:port', 'topic' [, option => 'value' ...])", &args,
                              &n, err);
  for (int i = 2; rc == TD_OK && i < n; i++) rc = apply(s, args[i], strlen(args[i]), false, err);
  s->o.config = s->config;
  if (rc == TD_OK) rc = td_kafka_backend_new(args[0], args[1], &s->o, out, err);
  td_free(args);
  return rc;
}

bool td_kafka_is_source(const char *source) {
  return source && (strncmp(source, "kafka://", 8) == 0 || strncmp(source, "kafka(", 6) == 0);
}

int td_kafka_backend_open_source(const char *source, td_kafka_backend **out, td_error *err) {
  if (err) td_error_clear(err);
  if (out) *out = NULL;
  if (!td_kafka_is_source(source) || !out)
    return td_err(err, TD_EINVAL, "'%s' is not a Kafka source (kafka://host:port/topic or kafka('host:port', 'topic'))",
                  source ? source : "(null)");
  opt_store s;
  memset(&s, 0, sizeof s);
  td_kafka_options_init(&s.o);
  int rc = strncmp(source, "kafka://", 8) == 0 ? open_uri(source, &s, out, err) : open_call(source, &s, out, err);
  store_reset(&s);
  return rc;
}
