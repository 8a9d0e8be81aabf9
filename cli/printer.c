/*
 * cli/printer.c - grid, CSV and JSON-lines output of Arrow batches.
 */
#include "printer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/csv/csv_write.h"

bool td_format_parse(const char *s, td_format *out) {
  if (strcmp(s, "grid") == 0) *out = TD_FORMAT_GRID;
  else if (strcmp(s, "csv") == 0) *out = TD_FORMAT_CSV;
  else if (strcmp(s, "jsonl") == 0 || strcmp(s, "json") == 0) *out = TD_FORMAT_JSONL;
  else return false;
  return true;
}

static int printer_init(td_printer *p, td_format format, FILE *out, struct ArrowSchema *schema, bool with_ops,
                        td_error *err) {
  memset(p, 0, sizeof *p);
  p->format = format;
  p->out = out;
  p->schema = *schema;
  p->with_ops = with_ops && format != TD_FORMAT_GRID;
  p->op = "add";
  schema->release = NULL;
  if (format == TD_FORMAT_GRID) return td_grid_init(&p->grid, &p->schema, err);
  if (format == TD_FORMAT_CSV) {
    if (p->with_ops) fputs("op,version,", out);
    td_csv_put_header(out, &p->schema);
  }
  return TD_OK;
}

int td_printer_init(td_printer *p, td_format format, FILE *out, struct ArrowSchema *schema, td_error *err) {
  return printer_init(p, format, out, schema, false, err);
}

int td_printer_init_ops(td_printer *p, td_format format, FILE *out, struct ArrowSchema *schema, td_error *err) {
  return printer_init(p, format, out, schema, true, err);
}


static void json_string(FILE *out, const char *s, size_t n) {
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c == '\n') fputs("\\n", out);
    else if (c == '\r') fputs("\\r", out);
    else if (c == '\t') fputs("\\t", out);
    else if (c < 0x20) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

static void json_value(FILE *out, const td_value *v) {
  char buf[128];
  if (v->is_null) fputs("null", out);
  else if (td_type_is_text(v->type)) json_string(out, v->v.s.ptr, v->v.s.len);
  else if (td_type_is_binary(v->type)) { /* a string of \xHH escapes, as DuckDB writes a BLOB */
    size_t n = td_binary_format(v->v.s.ptr, v->v.s.len, NULL, 0);
    char *t = malloc(n + 1);
    if (!t) fputs("null", out);
    else {
      td_binary_format(v->v.s.ptr, v->v.s.len, t, n + 1);
      json_string(out, t, n);
      free(t);
    }
  }
  else if (td_type_is_temporal(v->type) || td_type_is_duration(v->type)) {
    td_value_format(v, buf, sizeof buf);
    json_string(out, buf, strlen(buf));
  } else if ((v->type == TD_TYPE_FLOAT32 || v->type == TD_TYPE_FLOAT64) && !isfinite(v->v.f)) {
    fputs("null", out); /* JSON has no NaN or infinity */
  } else {
    td_value_format(v, buf, sizeof buf);
    fputs(buf, out);
  }
}

static void grid_line(td_printer *p, char *const *cells) { td_grid_line(p->out, p->grid.n_cols, p->widths, cells); }

/* Fixes the grid's widths from the rows held, prints header and rows. */
static void grid_release_sample(td_printer *p) {
  td_grid *g = &p->grid;
  if (!p->header_done) {
    p->widths = calloc((size_t)g->n_cols + 1, sizeof *p->widths);
    if (!p->widths) return;
    td_grid_widths(g, p->widths);
    grid_line(p, g->names);
    td_grid_rule(p->out, g->n_cols, p->widths);
    p->header_done = true;
  }
  for (int64_t r = 0; r < g->n_rows; r++) grid_line(p, &g->cells[r * g->n_cols]);
  for (int64_t i = 0; i < g->n_rows * g->n_cols; i++) free(g->cells[i]);
  g->n_rows = 0;
}

int td_printer_rows(td_printer *p, const struct ArrowArray *batch, int64_t begin, int64_t end, td_error *err) {
  const struct ArrowSchema *s = &p->schema;
  if (p->format == TD_FORMAT_GRID) {
    struct ArrowArray part = *batch; /* a shallow window over the batch */
    part.offset = batch->offset + begin;
    part.length = end - begin;
    int rc = td_grid_add(&p->grid, s, &part, err);
    if (rc) return rc;
    p->rows += end - begin;
    if (p->header_done || p->grid.n_rows >= TD_GRID_SAMPLE) grid_release_sample(p);
    return TD_OK;
  }
  for (int64_t r = begin; r < end; r++) {
    if (p->format == TD_FORMAT_JSONL) fputc('{', p->out);
    if (p->with_ops)
      fprintf(p->out, p->format == TD_FORMAT_JSONL ? "\"op\":\"%s\",\"version\":%lld%s" : "%s,%lld%s", p->op,
              (long long)p->version, s->n_children ? "," : "");
    for (int64_t c = 0; c < s->n_children; c++) {
      td_value v;
      int rc = td_arrow_get_value(s->children[c], batch->children[c], batch->offset + r, &v, err);
      if (rc) return rc;
      if (p->format == TD_FORMAT_CSV) {
        if (c) fputc(',', p->out);
        td_csv_put_value(p->out, &v);
      } else {
        if (c) fputc(',', p->out);
        json_string(p->out, s->children[c]->name, strlen(s->children[c]->name));
        fputc(':', p->out);
        json_value(p->out, &v);
      }
    }
    fputs(p->format == TD_FORMAT_JSONL ? "}\n" : "\n", p->out);
  }
  p->rows += end - begin;
  return TD_OK;
}

void td_printer_flush(td_printer *p) {
  if (p->format == TD_FORMAT_GRID) grid_release_sample(p);
  fflush(p->out);
}

void td_printer_reset(td_printer *p) {
  td_grid_reset(&p->grid);
  free(p->widths);
  if (p->schema.release) p->schema.release(&p->schema);
  memset(p, 0, sizeof *p);
}
