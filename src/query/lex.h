/*
 * query/lex.h - internal: the tokenizer and parser state shared by the
 * expression parser (parse.c) and the SQL parser (sql.c).
 */
#ifndef TD_QUERY_LEX_H
#define TD_QUERY_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/expr.h"

typedef enum td_tok_kind {
  TK_EOF,
  TK_IDENT,   /* bare identifier or keyword */
  TK_QIDENT,  /* "quoted identifier" */
  TK_INT,
  TK_FLOAT,
  TK_STRING,  /* 'string' */
  TK_LPAREN, TK_RPAREN, TK_COMMA, TK_SEMI, TK_STAR, TK_PLUS, TK_MINUS, TK_SLASH,
  TK_EQ, TK_NE, TK_LT, TK_LE, TK_GT, TK_GE,
  TK_DOT,     /* '.' of a qualified name t.col */
  TK_PERCENT, TK_CONCAT /* || */, TK_DCOLON /* :: */, TK_DSLASH /* // */,
  TK_ERROR    /* bad character or unterminated quote */
} td_tok_kind;

typedef struct td_token {
  td_tok_kind kind;
  int64_t pos;       /* byte offset */
  const char *text;  /* points into the input */
  size_t len;
} td_token;

typedef struct td_parser {
  const char *src;
  size_t len;
  size_t at;         /* next byte to scan */
  td_token tok;      /* current token */
  int depth;         /* recursion depth of the expression parser */
  int nest;          /* subqueries open: ')' may end a statement */
  struct td_select *root; /* the statement: owns subqueries of expressions
                           * (NULL: a bare expression, subqueries refused) */
  td_error *err;
} td_parser;

void td__parser_init(td_parser *p, const char *src, size_t len, td_error *err);
/* Byte length of the identifier character at s[0 .. avail): an ASCII
 * letter or '_', a digit unless `first`, or one whole well-formed UTF-8
 * sequence of 2 to 4 bytes (any non-ASCII character); 0 otherwise. */
size_t td__ident_char(const char *s, size_t avail, bool first);
/* Length of the well-formed UTF-8 sequence of 2 to 4 bytes at s, or 0. */
size_t td__utf8_len(const char *s, size_t avail);
/* Advances to the next token (a TK_ERROR token is kept as current). */
void td__next(td_parser *p);
/* Whether the current token is the keyword `kw` (upper case, any case in input). */
bool td__is_kw(const td_parser *p, const char *kw);
/* Whether an identifier text is a reserved keyword. */
bool td__is_reserved(const char *s, size_t len);
/* Consumes keyword `kw` if present. */
bool td__accept_kw(td_parser *p, const char *kw);
/* Reports "expected <what> at offset N, found '<tok>'" (TD_EPARSE). */
int td__expected(td_parser *p, const char *what);
/* Parses one expression at the current token. */
int td__parse_expr(td_parser *p, td_expr **out);
/* Entry points of parse.c used by parse_forms.c, and the reverse: one
 * level of the grammar each (parse.c's header comment). */
int td__parse_concat(td_parser *p, td_expr **out);
int td__parse_unary(td_parser *p, td_expr **out);
int td__parse_args(td_parser *p, td_expr *e);
/* CASE, CAST, INTERVAL, EXTRACT, typed literals, unsupported forms at the
 * current token: *done tells whether the token started one. */
int td__parse_special_form(td_parser *p, td_expr **out, bool *done);
/* '::' type after *x (the current token is '::'): *x becomes the CAST. */
int td__parse_cast_suffix(td_parser *p, td_expr **x);
/* Copies the unquoted text of an identifier or string token into a new
 * NUL-terminated string (handles doubled quotes); *out_len may be NULL. */
int td__token_string(td_parser *p, char **out, size_t *out_len);
/* The value of the current TK_INT token into *out, read within the token
 * (the statement's text may end right after it: a length-delimited
 * buffer, no NUL); false beyond int64. */
bool td__token_int(const td_parser *p, int64_t *out);
/* At the '.' after the name of column `e`: reads the column name and makes
 * e->name "qualifier.column" (query/sql_from.c; the planner resolves it). */
int td__parse_qualified(td_parser *p, td_expr *e);

/* ---- node helpers (expr.c) ---- */
/* A new node with no children; TD_ENOMEM via err. */
td_expr *td__expr_new(td_expr_kind kind, int64_t pos, td_error *err);
/* A new COLUMN node naming `name` at pos, or NULL (TD_ENOMEM in err). */
td_expr *td__column_ref(const char *name, int64_t pos, td_error *err);
/* Appends a child (taking it; freed on failure). */
int td__expr_add(td_expr *e, td_expr *child, td_error *err);
/* Recomputes e->height from its children; TD_EPARSE if too deep. */
int td__expr_check_height(td_expr *e, td_error *err);

#endif
