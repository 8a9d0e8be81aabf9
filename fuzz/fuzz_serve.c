/*
 * fuzz/fuzz_serve.c - libFuzzer target for the request parser of
 * `tabledata serve` (cli/serve_request.c): method, path, query string,
 * headers and body, split from the input at newlines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "get"};
  if (size < 1) return 0;
  const char *method = methods[data[0] % 6];
  data++, size--;
  /* Five NUL-terminated fields (path, query, accept, content type,
   * authorization) cut at newlines, then the body (any bytes). */
  char *copy = malloc(size + 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  copy[size] = 0;
  char *fields[5] = {NULL, NULL, NULL, NULL, NULL};
  char *p = copy;
  size_t used = 0;
  for (int i = 0; i < 5 && used < size; i++) {
    char *nl = memchr(p, '\n', size - used);
    fields[i] = p;
    if (!nl) {
      used = size;
      break;
    }
    *nl = 0;
    used += (size_t)(nl - p) + 1;
    p = nl + 1;
  }
  const char *body = used < size ? copy + used : NULL;
  td_serve_request r;
  td_serve_parse(method, fields[0] ? fields[0] : "/", fields[1], fields[2], fields[3], fields[4], body,
                 body ? size - used : 0, &r);
  if (r.status == 200 && (r.route == TD_ROUTE_QUERY || r.route == TD_ROUTE_LIVE) && !r.sql) abort();
  td_serve_token_equal("s3cret", r.token);
  td_serve_valid_name(fields[1]);
  td_serve_request_reset(&r);
  free(copy);
  return 0;
}
