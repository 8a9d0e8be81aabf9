/*
 * table/stream.c - a table as an ArrowArrayStream of page-sized batches.
 *
 * Data columns of a batch are zero-copy views of cached pages (each keeps its
 * page alive); partition columns are built as constant arrays.
 */
#include <stdio.h>
#include <string.h>

#include "table/table.h"
#include "util/alloc.h"
#include "util/error.h"

typedef struct stream_priv {
  td_table *table;
  td_scan scan;
  td_schema schema;
  char last_error[TD_ERROR_MESSAGE_SIZE];
} stream_priv;

static int stream_fail(stream_priv *p, int rc, const td_error *e) {
  snprintf(p->last_error, sizeof p->last_error, "%s", e->message);
  return rc == TD_ENOMEM ? 12 /* ENOMEM */ : 5 /* EIO */;
}

static int get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  stream_priv *p = st->private_data;
  td_error e;
  td_error_clear(&e);
  int rc = td_schema_export(&p->schema, out, &e);
  return rc ? stream_fail(p, rc, &e) : 0;
}

static int const_array(const td_value *v, td_type_id type, int64_t n, struct ArrowArray *out,
                       td_error *err) {
  td_array a;
  int rc = td_array_init(&a, type, n, err);
  if (rc == TD_OK) rc = td_array_append_const(&a, v, n, err);
  if (rc == TD_OK) rc = td_array_export_arrow(&a, out, err);
  td_array_reset(&a);
  return rc;
}

static int get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  stream_priv *p = st->private_data;
  td_error e;
  td_error_clear(&e);
  td_chunk ch;
  bool done;
  memset(out, 0, sizeof *out);
  int rc = td_scan_next(&p->scan, &ch, &done, &e);
  if (rc) return stream_fail(p, rc, &e);
  if (done) return 0; /* out->release == NULL marks the end */
  int64_t n = p->scan.n_cols;
  struct ArrowArray *kids = td_calloc((size_t)n + 1, sizeof *kids);
  if (!kids) return stream_fail(p, td_err_nomem(&e, "building a batch"), &e);
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    if (ch.consts[i])
      rc = const_array(ch.consts[i], p->schema.fields[i].type, ch.length, &kids[i], &e);
    else
      rc = td_colview_export_arrow(&ch.views[i], p->schema.fields[i].type, ch.owners[i], &kids[i], &e);
  }
  if (rc) {
    for (int64_t i = 0; i < n; i++) td_arrow_array_release(&kids[i]);
    td_free(kids);
    return stream_fail(p, rc, &e);
  }
  rc = td_struct_array_make(n, kids, ch.length, out, &e);
  td_free(kids);
  return rc ? stream_fail(p, rc, &e) : 0;
}

static const char *get_last_error(struct ArrowArrayStream *st) {
  stream_priv *p = st->private_data;
  return p->last_error[0] ? p->last_error : NULL;
}

static void release(struct ArrowArrayStream *st) {
  if (!st || !st->release) return;
  stream_priv *p = st->private_data;
  td_scan_release(&p->scan);
  td_schema_reset(&p->schema);
  td_table_release(p->table);
  td_free(p);
  st->release = NULL;
}

int td_table_stream(td_table *t, const int64_t *cols, int64_t n_cols, struct ArrowArrayStream *out,
                    td_error *err) {
  if (!t || !out) return td_err(err, TD_EINVAL, "td_table_stream needs a table and an out stream");
  memset(out, 0, sizeof *out);
  stream_priv *p = td_calloc(1, sizeof *p);
  if (!p) return td_err_nomem(err, "creating a stream");
  td_schema_init(&p->schema);
  td_snapshot *snap = td_table_snapshot(t);
  int rc = td_scan_init(&p->scan, t, snap, cols, n_cols, 0, snap->size, err);
  td_snapshot_release(snap);
  for (int64_t i = 0; rc == TD_OK && i < p->scan.n_cols; i++) {
    const td_field *f = &t->def->fields[p->scan.cols[i]];
    rc = td_schema_add(&p->schema, f->name, f->type, f->tz, f->nullable, err);
  }
  if (rc) {
    td_scan_release(&p->scan);
    td_schema_reset(&p->schema);
    td_free(p);
    return rc;
  }
  p->table = td_table_retain(t);
  out->get_schema = get_schema;
  out->get_next = get_next;
  out->get_last_error = get_last_error;
  out->release = release;
  out->private_data = p;
  return TD_OK;
}
