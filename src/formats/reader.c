/*
 * formats/reader.c - pieces shared by every format reader.
 */
#include "formats/reader.h"

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
