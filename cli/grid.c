/*
 * cli/grid.c - aligned text grids (public API only), padded to the
 * terminal width of their text (wide characters take two columns).
 */
#include "grid.h"

#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

int td_grid_init(td_grid *g, const struct ArrowSchema *schema, td_error *err) {
  memset(g, 0, sizeof *g);
  g->n_cols = schema->n_children;
  g->names = calloc((size_t)g->n_cols + 1, sizeof *g->names);
  if (!g->names) return TD_ENOMEM;
  for (int64_t c = 0; c < g->n_cols; c++) {
    g->names[c] = strdup(schema->children[c]->name ? schema->children[c]->name : "");
    if (!g->names[c]) return TD_ENOMEM;
  }
  (void)err;
  return TD_OK;
}

int td_grid_add(td_grid *g, const struct ArrowSchema *schema, const struct ArrowArray *batch, td_error *err) {
  for (int64_t r = 0; r < batch->length; r++) {
    if (g->n_rows == g->cap_rows) {
      int64_t cap = g->cap_rows ? g->cap_rows * 2 : 64;
      char **c = realloc(g->cells, (size_t)(cap * g->n_cols + 1) * sizeof *c);
      if (!c) return TD_ENOMEM;
      g->cells = c;
      g->cap_rows = cap;
    }
    for (int64_t c = 0; c < g->n_cols; c++) {
      td_value v;
      int rc = td_arrow_get_value(schema->children[c], batch->children[c], batch->offset + r, &v, err);
      if (rc) return rc;
      char tmp[64]; /* formatted once; again only when longer than this */
      size_t n = td_value_format(&v, tmp, sizeof tmp);
      char *s = malloc(n + 1);
      if (!s) return TD_ENOMEM;
      if (n < sizeof tmp) memcpy(s, tmp, n + 1);
      else td_value_format(&v, s, n + 1);
      g->cells[g->n_rows * g->n_cols + c] = s;
    }
    g->n_rows++;
  }
  return TD_OK;
}

/* The terminal columns of UTF-8 text: wcwidth of each character in a
 * C.UTF-8 locale (East Asian wide characters take 2, combining marks 0),
 * or one per character when that locale is missing; a byte that is not
 * UTF-8, or a control character, counts 1. */
static locale_t utf8;
static void open_utf8(void) { utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

size_t td_grid_text_width(const char *s) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, open_utf8);
  locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
  size_t w = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    unsigned c = *p;
    int k = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    uint32_t cp = k > 0 ? c & (0x3F >> k) : c;
    int i = 1;
    for (; k > 0 && i <= k && (p[i] & 0xC0) == 0x80; i++) cp = cp << 6 | (p[i] & 0x3F);
    if (k < 0 || i <= k) { /* not UTF-8: the byte alone */
      w++;
      p++;
      continue;
    }
    int cw = utf8 ? wcwidth((wchar_t)cp) : 1;
    w += cw < 0 ? 1 : (size_t)cw;
    p += i;
  }
  if (utf8) uselocale(old);
  return w;
}

void td_grid_widths(const td_grid *g, size_t *w) {
  for (int64_t c = 0; c < g->n_cols; c++) {
    w[c] = td_grid_text_width(g->names[c]);
    for (int64_t r = 0; r < g->n_rows; r++) {
      size_t n = td_grid_text_width(g->cells[r * g->n_cols + c]);
      if (n > w[c]) w[c] = n;
    }
  }
}

void td_grid_line(FILE *out, int64_t n_cols, const size_t *w, char *const *cells) {
  for (int64_t c = 0; c < n_cols; c++) {
    fputs(c ? " | " : "", out);
    fputs(cells[c], out);
    if (c + 1 < n_cols)
      for (size_t n = td_grid_text_width(cells[c]); n < w[c]; n++) fputc(' ', out);
  }
  fputc('\n', out);
}

void td_grid_rule(FILE *out, int64_t n_cols, const size_t *w) {
  for (int64_t c = 0; c < n_cols; c++) {
    fputs(c ? "-+-" : "", out);
    for (size_t i = 0; i < w[c]; i++) fputc('-', out);
  }
  fputc('\n', out);
}

void td_grid_print(const td_grid *g, FILE *out) {
  size_t *w = calloc((size_t)g->n_cols + 1, sizeof *w);
  if (!w) return;
  td_grid_widths(g, w);
  td_grid_line(out, g->n_cols, w, g->names);
  td_grid_rule(out, g->n_cols, w);
  for (int64_t r = 0; r < g->n_rows; r++) td_grid_line(out, g->n_cols, w, &g->cells[r * g->n_cols]);
  free(w);
}

void td_grid_reset(td_grid *g) {
  for (int64_t i = 0; i < g->n_rows * g->n_cols; i++) free(g->cells[i]);
  for (int64_t c = 0; g->names && c < g->n_cols; c++) free(g->names[c]);
  free(g->cells);
  free(g->names);
  memset(g, 0, sizeof *g);
}
