/*
 * query/strbuf.c - the growable text buffer of SQL and expression printing
 * (see strbuf.h).
 */
#include "query/strbuf.h"

#include "util/alloc.h"
#include "util/error.h"

void td__sb_putn(td_strbuf *b, const char *s, size_t n) {
  if (b->rc) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) cap *= 2;
    char *q = td_realloc(b->p, cap);
    if (!q) {
      b->rc = td_err_nomem(b->err, "printing SQL");
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void td__sb_quoted(td_strbuf *b, const char *s, size_t n, char q) {
  td__sb_putn(b, &q, 1);
  for (size_t i = 0; i < n; i++) {
    td__sb_putn(b, s + i, 1);
    if (s[i] == q) td__sb_putn(b, &q, 1);
  }
  td__sb_putn(b, &q, 1);
}
