/*
 * cli/grid.h - rendering Arrow record batches as an aligned text grid.
 *
 * Rows are collected as text (for small results such as the demo) and
 * printed with columns padded to their widest cell; nulls print as "null".
 */
#ifndef TD_CLI_GRID_H
#define TD_CLI_GRID_H

#include <stdio.h>

#include "tabledata.h"

typedef struct td_grid {
  int64_t n_cols;
  char **names;
  char **cells; /* row-major, n_rows * n_cols */
  int64_t n_rows, cap_rows;
} td_grid;

int td_grid_init(td_grid *g, const struct ArrowSchema *schema, td_error *err);
/* Adds the rows of a struct batch described by `schema`. */
int td_grid_add(td_grid *g, const struct ArrowSchema *schema, const struct ArrowArray *batch, td_error *err);
void td_grid_print(const td_grid *g, FILE *out);
/* The terminal columns UTF-8 text s takes. */
size_t td_grid_text_width(const char *s);
/* w[c]: the widest of column c's name and cells (n_cols entries). */
void td_grid_widths(const td_grid *g, size_t *w);
/* One line of cells, each but the last padded to w, joined by " | "; the
 * rule under the header ("-+-"). */
void td_grid_line(FILE *out, int64_t n_cols, const size_t *w, char *const *cells);
void td_grid_rule(FILE *out, int64_t n_cols, const size_t *w);
void td_grid_reset(td_grid *g);

#endif
