/*
 * cli/grid.c - aligned text grids (public API only).
 */
#include "grid.h"

#include <stdlib.h>
#include <string.h>

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

void td_grid_print(const td_grid *g, FILE *out) {
  size_t *w = calloc((size_t)g->n_cols + 1, sizeof *w);
  if (!w) return;
  for (int64_t c = 0; c < g->n_cols; c++) {
    w[c] = strlen(g->names[c]);
    for (int64_t r = 0; r < g->n_rows; r++) {
      size_t n = strlen(g->cells[r * g->n_cols + c]);
      if (n > w[c]) w[c] = n;
    }
  }
  for (int64_t c = 0; c < g->n_cols; c++)
    fprintf(out, "%s%-*s", c ? " | " : "", c + 1 < g->n_cols ? (int)w[c] : 0, g->names[c]);
  fputc('\n', out);
  for (int64_t c = 0; c < g->n_cols; c++) {
    fprintf(out, "%s", c ? "-+-" : "");
    for (size_t i = 0; i < w[c]; i++) fputc('-', out);
  }
  fputc('\n', out);
  for (int64_t r = 0; r < g->n_rows; r++) {
    for (int64_t c = 0; c < g->n_cols; c++)
      fprintf(out, "%s%-*s", c ? " | " : "", c + 1 < g->n_cols ? (int)w[c] : 0, g->cells[r * g->n_cols + c]);
    fputc('\n', out);
  }
  free(w);
}

void td_grid_reset(td_grid *g) {
  for (int64_t i = 0; i < g->n_rows * g->n_cols; i++) free(g->cells[i]);
  for (int64_t c = 0; g->names && c < g->n_cols; c++) free(g->names[c]);
  free(g->cells);
  free(g->names);
  memset(g, 0, sizeof *g);
}
