/*
 * formats/reader.c - pieces shared by every format reader.
 */
#include "formats/reader.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

int td_reader_add_unsupported(td_file_reader *r, const char *name, const char *reason,
                              td_error *err) {
  td_unsupported_column *u =
      td_realloc(r->unsupported, (size_t)(r->n_unsupported + 1) * sizeof *u);
  if (!u) return td_err_nomem(err, "listing unsupported columns");
  r->unsupported = u;
  u[r->n_unsupported].name = td_strdup(name);
  u[r->n_unsupported].reason = td_strdup(reason);
  if (!u[r->n_unsupported].name || !u[r->n_unsupported].reason) {
    td_free(u[r->n_unsupported].name);
    td_free(u[r->n_unsupported].reason);
    return td_err_nomem(err, "listing unsupported columns");
  }
  r->n_unsupported++;
  return TD_OK;
}

void td_reader_base_release(td_file_reader *r) {
  td_schema_reset(&r->schema);
  for (int64_t i = 0; i < r->n_unsupported; i++) {
    td_free(r->unsupported[i].name);
    td_free(r->unsupported[i].reason);
  }
  td_free(r->unsupported);
  r->unsupported = NULL;
  r->n_unsupported = 0;
  td_io_close(&r->io);
}

/* ---- UTF-8: one validator for every reader (CSV fields, Arrow IPC strings) ---- */

/* Length of the valid multi-byte sequence at s (lead byte c >= 0x80), or 0. */
static int utf8_seq(const uint8_t *s, int64_t left) {
  uint8_t c = s[0];
  int n;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (left < n) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (int i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return n;
}

bool td_utf8_valid(const char *str, int64_t n) {
  const uint8_t *s = (const uint8_t *)str;
  int64_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!(w & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    int k = utf8_seq(s + i, n - i);
    if (!k) return false;
    i += k;
  }
  return true;
}

bool td_ascii_only(const char *str, int64_t n) {
  const uint8_t *s = (const uint8_t *)str;
  uint64_t acc = 0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) { /* four words a step, one test */
    uint64_t w[4];
    memcpy(w, s + i, 32);
    acc |= w[0] | w[1] | w[2] | w[3];
    if (acc & 0x8080808080808080ull) return false;
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    acc |= w;
  }
  for (; i < n; i++) acc |= s[i];
  return !(acc & 0x8080808080808080ull);
}

bool td_reader_switch_on(const char *name, _Atomic int *cache) {
  int v = atomic_load_explicit(cache, memory_order_relaxed);
  if (v < 0) {
    const char *e = getenv(name);
    v = !(e && strcmp(e, "0") == 0);
    atomic_store_explicit(cache, v, memory_order_relaxed);
  }
  return v;
}
