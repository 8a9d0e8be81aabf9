/*
 * query/lex.c - tokenizer for expressions and SQL, and parser error helpers.
 */
#include "query/lex.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/error.h"

static const char *const reserved[] = {
    "SELECT", "DISTINCT", "FROM", "WHERE", "GROUP", "BY",   "ORDER", "ASC",   "DESC", "LIMIT",
    "AS",     "AND",      "OR",   "NOT",   "IN",    "BETWEEN", "IS", "NULL", "TRUE", "FALSE",
    "CASE",   "WHEN",     "THEN", "ELSE",  "END",   "LIKE",    "ILIKE", "CAST", "INTERVAL",
    "HAVING", "OFFSET", "UNION", "INTERSECT", "EXCEPT"};

bool td__is_reserved(const char *s, size_t len) {
  for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
    if (strlen(reserved[i]) == len && strncasecmp(reserved[i], s, len) == 0) return true;
  return false;
}

void td__parser_init(td_parser *p, const char *src, size_t len, td_error *err) {
  memset(p, 0, sizeof *p);
  p->src = src;
  p->len = len;
  p->err = err;
  td__next(p);
}

static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

size_t td__utf8_len(const char *s, size_t avail) {
  const unsigned char *u = (const unsigned char *)s;
  if (avail < 2 || u[0] < 0xC2 || u[0] > 0xF4) return 0;
  size_t n = u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;
  if (avail < n) return 0;
  /* the second byte's range excludes overlong forms, surrogates and > U+10FFFF */
  unsigned char lo = u[0] == 0xE0 ? 0xA0 : u[0] == 0xF0 ? 0x90 : 0x80;
  unsigned char hi = u[0] == 0xED ? 0x9F : u[0] == 0xF4 ? 0x8F : 0xBF;
  if (u[1] < lo || u[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if ((u[i] & 0xC0) != 0x80) return 0;
  return n;
}

size_t td__ident_char(const char *s, size_t avail, bool first) {
  if (!avail) return 0;
  unsigned char c = (unsigned char)*s;
  if (c >= 0x80) return td__utf8_len(s, avail);
  return (isalpha(c) || c == '_' || (!first && isdigit(c))) ? 1 : 0;
}

/* Scans a quoted token starting at the quote; doubled quotes are escapes. */
static td_tok_kind scan_quoted(td_parser *p, char q, td_tok_kind kind) {
  size_t i = p->at + 1;
  for (;;) {
    if (i >= p->len) return TK_ERROR;
    if (p->src[i] == q) {
      if (i + 1 < p->len && p->src[i + 1] == q) {
        i += 2;
        continue;
      }
      p->at = i + 1;
      return kind;
    }
    i++;
  }
}

static td_tok_kind scan_number(td_parser *p) {
  const char *s = p->src;
  size_t i = p->at;
  bool is_float = false;
  while (i < p->len && isdigit((unsigned char)s[i])) i++;
  if (i < p->len && s[i] == '.') {
    is_float = true;
    i++;
    while (i < p->len && isdigit((unsigned char)s[i])) i++;
  }
  if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < p->len && (s[j] == '+' || s[j] == '-')) j++;
    if (j < p->len && isdigit((unsigned char)s[j])) {
      is_float = true;
      i = j;
      while (i < p->len && isdigit((unsigned char)s[i])) i++;
    }
  }
  if (i < p->len && ident_char(s[i])) {
    while (i < p->len && ident_char(s[i])) i++;
    p->at = i;
    return TK_ERROR;
  }
  p->at = i;
  return is_float ? TK_FLOAT : TK_INT;
}

static td_tok_kind scan_operator(td_parser *p) {
  char c = p->src[p->at];
  char d = p->at + 1 < p->len ? p->src[p->at + 1] : '\0';
  size_t n = 1;
  td_tok_kind k;
  switch (c) {
    case '(': k = TK_LPAREN; break;
    case ')': k = TK_RPAREN; break;
    case ',': k = TK_COMMA; break;
    case ';': k = TK_SEMI; break;
    case '*': k = TK_STAR; break;
    case '+': k = TK_PLUS; break;
    case '-': k = TK_MINUS; break;
    case '/': k = d == '/' ? TK_DSLASH : TK_SLASH; n = d == '/' ? 2 : 1; break;
    case '.': k = TK_DOT; break;
    case '%': k = TK_PERCENT; break;
    case '|': k = d == '|' ? TK_CONCAT : TK_ERROR; n = d == '|' ? 2 : 1; break;
    case ':': k = d == ':' ? TK_DCOLON : TK_ERROR; n = d == ':' ? 2 : 1; break;
    case '=': k = TK_EQ; n = d == '=' ? 2 : 1; break;
    case '!': k = d == '=' ? TK_NE : TK_ERROR; n = d == '=' ? 2 : 1; break;
    case '<':
      if (d == '=') k = TK_LE, n = 2;
      else if (d == '>') k = TK_NE, n = 2;
      else k = TK_LT;
      break;
    case '>':
      if (d == '=') k = TK_GE, n = 2;
      else k = TK_GT;
      break;
    default: k = TK_ERROR; break;
  }
  p->at += n;
  return k;
}

/* Skips white space and -- line comments. */
static void skip_space(td_parser *p) {
  for (;;) {
    while (p->at < p->len && isspace((unsigned char)p->src[p->at])) p->at++;
    if (p->at + 1 < p->len && p->src[p->at] == '-' && p->src[p->at + 1] == '-') {
      while (p->at < p->len && p->src[p->at] != '\n') p->at++;
      continue;
    }
    return;
  }
}

void td__next(td_parser *p) {
  if (p->tok.kind == TK_ERROR && p->tok.len) return;
  skip_space(p);
  td_token *t = &p->tok;
  t->pos = (int64_t)p->at;
  t->text = p->src + p->at;
  if (p->at >= p->len) {
    t->kind = TK_EOF;
    t->len = 0;
    return;
  }
  char c = p->src[p->at];
  size_t k = td__ident_char(p->src + p->at, p->len - p->at, true);
  if (k) { /* identifiers may hold any non-ASCII character, taken whole */
    do p->at += k;
    while ((k = td__ident_char(p->src + p->at, p->len - p->at, false)) > 0);
    t->kind = TK_IDENT;
  } else if ((unsigned char)c >= 0x80) { /* not UTF-8: one bad byte */
    p->at++;
    t->kind = TK_ERROR;
  } else if (isdigit((unsigned char)c) ||
             (c == '.' && p->at + 1 < p->len && isdigit((unsigned char)p->src[p->at + 1]))) {
    t->kind = scan_number(p);
  } else if (c == '\'') {
    t->kind = scan_quoted(p, '\'', TK_STRING);
    if (t->kind == TK_ERROR) p->at = p->len;
  } else if (c == '"') {
    t->kind = scan_quoted(p, '"', TK_QIDENT);
    if (t->kind == TK_ERROR) p->at = p->len;
  } else {
    t->kind = scan_operator(p);
  }
  t->len = p->at - (size_t)t->pos;
}

bool td__is_kw(const td_parser *p, const char *kw) {
  return p->tok.kind == TK_IDENT && strlen(kw) == p->tok.len &&
         strncasecmp(kw, p->tok.text, p->tok.len) == 0;
}

bool td__accept_kw(td_parser *p, const char *kw) {
  if (!td__is_kw(p, kw)) return false;
  td__next(p);
  return true;
}

int td__expected(td_parser *p, const char *what) {
  const td_token *t = &p->tok;
  if (t->kind == TK_EOF)
    return td_err_at(p->err, TD_EPARSE, t->pos, "expected %s at offset %lld, found end of input",
                     what, (long long)t->pos);
  if (t->kind == TK_ERROR) {
    char c = *t->text;
    if (c == '\'' || c == '"')
      return td_err_at(p->err, TD_EPARSE, t->pos, "unterminated %s starting at offset %lld",
                       c == '\'' ? "string literal" : "quoted identifier", (long long)t->pos);
    if ((unsigned char)c >= 0x80)
      return td_err_at(p->err, TD_EPARSE, t->pos, "expected %s at offset %lld, found the byte 0x%02X, which is not UTF-8",
                       what, (long long)t->pos, (unsigned char)c);
  }
  int n = t->len > 40 ? 40 : (int)t->len;
  while (n < (int)t->len && n > 0 && ((unsigned char)t->text[n] & 0xC0) == 0x80) n--; /* whole characters */
  return td_err_at(p->err, TD_EPARSE, t->pos, "expected %s at offset %lld, found '%.*s'", what,
                   (long long)t->pos, n, t->text);
}

bool td__token_int(const td_parser *p, int64_t *out) {
  char buf[32];
  if (p->tok.len >= sizeof buf) return false; /* more digits than an int64 has, leading zeros aside */
  memcpy(buf, p->tok.text, p->tok.len); /* the statement text need not end after it */
  buf[p->tok.len] = '\0';
  errno = 0;
  long long v = strtoll(buf, NULL, 10);
  *out = v;
  return errno != ERANGE;
}

int td__token_string(td_parser *p, char **out, size_t *out_len) {
  const td_token *t = &p->tok;
  const char *s = t->text;
  size_t n = t->len;
  char q = 0;
  if (t->kind == TK_STRING || t->kind == TK_QIDENT) {
    q = *s;
    s++;
    n -= 2;
  }
  char *r = td_malloc(n + 1);
  if (!r) return td_err_nomem(p->err, "copying a token");
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    r[j++] = s[i];
    if (q && s[i] == q) i++; /* doubled quote */
  }
  r[j] = '\0';
  *out = r;
  if (out_len) *out_len = j;
  return TD_OK;
}
