/*
 * query/strbuf.h - internal: a growable NUL-terminated text buffer for
 * printing SQL and expressions (capacity doubles, so printing is linear).
 * The first allocation failure sets rc (with a message in err when err is
 * not NULL) and every later put does nothing; the owner frees p.
 */
#ifndef TD_QUERY_STRBUF_H
#define TD_QUERY_STRBUF_H

#include <stddef.h>
#include <string.h>

#include "tabledata/error.h"

typedef struct td_strbuf {
  char *p;
  size_t len, cap;
  int rc;
  td_error *err; /* may be NULL */
} td_strbuf;

/* Appends n bytes of s. */
void td__sb_putn(td_strbuf *b, const char *s, size_t n);
/* Appends the string s. */
static inline void td__sb_put(td_strbuf *b, const char *s) { td__sb_putn(b, s, strlen(s)); }
/* Appends n bytes of s between quotes q, doubling each q inside. */
void td__sb_quoted(td_strbuf *b, const char *s, size_t n, char q);

#endif
