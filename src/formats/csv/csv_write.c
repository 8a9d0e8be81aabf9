/*
 * formats/csv/csv_write.c - CSV output of Arrow batches (csv_write.h).
 */
#include "formats/csv/csv_write.h"

#include <string.h>

#include "util/alloc.h"

void td_csv_put_field(FILE *out, const char *s, size_t n, bool quote_empty) {
  bool q = (n == 0 && quote_empty) || memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n) ||
           memchr(s, '\r', n);
  if (!q) {
    fwrite(s, 1, n, out);
    return;
  }
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') fputc('"', out);
    fputc(s[i], out);
  }
  fputc('"', out);
}

void td_csv_put_value(FILE *out, const td_value *v) {
  if (v->is_null) return;
  if (td_type_is_text(v->type)) {
    td_csv_put_field(out, v->v.s.ptr, v->v.s.len, true);
    return;
  }
  if (td_type_is_binary(v->type)) { /* \xHH escapes, as DuckDB writes a BLOB */
    size_t n = td_binary_format(v->v.s.ptr, v->v.s.len, NULL, 0);
    char *t = td_malloc(n + 1);
    if (!t) return; /* nothing to report through: the field is left empty */
    td_binary_format(v->v.s.ptr, v->v.s.len, t, n + 1);
    td_csv_put_field(out, t, n, true);
    td_free(t);
    return;
  }
  char buf[128];
  td_value_format(v, buf, sizeof buf);
  fputs(buf, out);
}

void td_csv_put_header(FILE *out, const struct ArrowSchema *schema) {
  for (int64_t c = 0; c < schema->n_children; c++) {
    const char *n = schema->children[c]->name;
    fputs(c ? "," : "", out);
    td_csv_put_field(out, n, strlen(n), false);
  }
  fputc('\n', out);
}

int td_csv_put_rows(FILE *out, const struct ArrowSchema *schema, const struct ArrowArray *batch, int64_t begin,
                    int64_t end, td_error *err) {
  for (int64_t r = begin; r < end; r++) {
    for (int64_t c = 0; c < schema->n_children; c++) {
      td_value v;
      int rc = td_arrow_get_value(schema->children[c], batch->children[c], batch->offset + r, &v, err);
      if (rc) return rc;
      if (c) fputc(',', out);
      td_csv_put_value(out, &v);
    }
    fputc('\n', out);
  }
  return TD_OK;
}
