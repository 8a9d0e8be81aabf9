/*
 * cli/changes.c - a live query's changes as add / update / remove records
 * (jsonl, csv, Arrow IPC); see changes.h for the model.
 *
 * Which columns identify an aggregation group comes from the query text
 * (the internal SQL parser): the select items equal to a GROUP BY
 * expression.  Recomputed results are compared with a copy of the previous
 * version (one batch), keyed by the text of those columns (or of the whole
 * row).
 */
#include "changes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrow/schema.h"
#include "formats/ipc/ipc_writer.h"
#include "printer.h"
#include "query/expr.h"
#include "query/sql.h"
#include "ticker.h"

typedef enum op { OP_ADD, OP_UPDATE, OP_REMOVE } op;
static const char *const k_op_names[3] = {"add", "update", "remove"};

typedef struct record {
  op op;
  const struct ArrowArray *batch;
  int64_t row;
} record;

struct td_changes {
  td_changes_format format;
  int fd;
  FILE *out;                 /* text formats: a stream on a copy of fd */
  td_printer p;              /* text formats */
  struct ArrowSchema schema; /* the result's */
  td_ipc_stream_writer *w;   /* arrow */
  td_type_id *types;         /* arrow: the result's column types */
  bool *key;                 /* columns that identify a group */
  bool keyed;                /* group columns known: updates are keyed */
  bool snapshot;             /* compare each version with the previous one */
  struct ArrowArray prev;    /* snapshot: the previous version's rows */
  record *recs;
  int64_t n_recs, cap_recs;
  int rc;
  td_error err;
};

/* ---- which columns identify a group ---- */

/* Fills c->key, c->keyed and c->snapshot from the query text. */
static void classify(td_changes *c, const char *sql, int64_t n_cols) {
  c->snapshot = true; /* unless the query says otherwise */
  td_select *q = NULL;
  td_error e;
  if (td_sql_parse(sql, strlen(sql), &q, &e) != TD_OK) return;
  bool agg = q->n_group_by > 0 || q->distinct;
  for (int64_t i = 0; i < q->n_items; i++) agg |= q->items[i].expr && td_expr_has_agg(q->items[i].expr);
  bool recomputed = q->n_order_by > 0 || q->has_limit;
  if (agg && !q->distinct && q->n_items == n_cols) {
    c->keyed = true;
    for (int64_t g = 0; g < q->n_group_by; g++) {
      const td_expr *ge = q->group_by[g];
      bool found = false;
      for (int64_t i = 0; i < q->n_items; i++) {
        const td_select_item *it = &q->items[i];
        bool same = it->expr && td_expr_equal(it->expr, ge);
        same |= ge->kind == TD_EXPR_COLUMN && it->alias && strcmp(it->alias, ge->name) == 0;
        if (same) c->key[i] = found = true;
      }
      c->keyed &= found;
    }
  }
  if (!c->keyed) memset(c->key, 0, (size_t)n_cols * sizeof *c->key);
  /* a UNION, FROM subquery or CTE may replace its rows (an aggregation
   * inside): compare snapshots unless keyed by the outer GROUP BY */
  bool composed = q->n_terms > 0 || q->from_sub || q->n_ctes > 0;
  c->snapshot = recomputed || (agg && !c->keyed) || (composed && !c->keyed);
  td_select_free(q);
}

/* ---- records ---- */

static void fail(td_changes *c, const td_error *e) {
  if (c->rc) return;
  c->rc = e->code ? e->code : TD_EIO;
  c->err = *e;
}

static void add_record(td_changes *c, op o, const struct ArrowArray *b, int64_t row) {
  if (c->n_recs == c->cap_recs) {
    int64_t cap = c->cap_recs ? c->cap_recs * 2 : 256;
    record *r = realloc(c->recs, (size_t)cap * sizeof *r);
    if (!r) {
      td_error e = {.code = TD_ENOMEM};
      snprintf(e.message, sizeof e.message, "out of memory collecting changes");
      fail(c, &e);
      return;
    }
    c->recs = r;
    c->cap_recs = cap;
  }
  c->recs[c->n_recs++] = (record){o, b, row};
}

/* Writes the records collected for `version` and forgets them. */
static void flush_records(td_changes *c, int64_t version) {
  td_error e;
  td_error_clear(&e);
  if (c->format == TD_CHANGES_ARROW) {
    int64_t n = c->schema.n_children;
    td_builder *bs[2] = {NULL, NULL};
    struct ArrowArray *cols = calloc((size_t)n + 2, sizeof *cols);
    td_builder **vb = calloc((size_t)n + 1, sizeof *vb);
    int rc = cols && vb ? TD_OK : TD_ENOMEM;
    if (rc == TD_OK) rc = td_builder_new(TD_TYPE_UTF8, &bs[0], &e);
    if (rc == TD_OK) rc = td_builder_new(TD_TYPE_INT64, &bs[1], &e);
    for (int64_t k = 0; rc == TD_OK && k < n; k++) rc = td_builder_new(c->types[k], &vb[k], &e);
    for (int64_t r = 0; rc == TD_OK && r < c->n_recs; r++) {
      const record *rec = &c->recs[r];
      rc = td_builder_append_str(bs[0], k_op_names[rec->op], -1, &e);
      if (rc == TD_OK) rc = td_builder_append_int(bs[1], version, &e);
      for (int64_t k = 0; rc == TD_OK && k < n; k++) {
        td_value v;
        rc = td_arrow_get_value(c->schema.children[k], rec->batch->children[k], rec->batch->offset + rec->row, &v, &e);
        if (rc == TD_OK) rc = td_builder_append_value(vb[k], &v, &e);
      }
    }
    if (rc == TD_OK) rc = td_builder_finish(bs[0], &cols[0], &e);
    if (rc == TD_OK) rc = td_builder_finish(bs[1], &cols[1], &e);
    for (int64_t k = 0; rc == TD_OK && k < n; k++) rc = td_builder_finish(vb[k], &cols[k + 2], &e);
    struct ArrowArray batch = {0};
    if (rc == TD_OK) rc = td_batch_make(n + 2, cols, &batch, &e);
    else
      for (int64_t k = 0; cols && k < n + 2; k++)
        if (cols[k].release) cols[k].release(&cols[k]);
    if (rc == TD_OK) {
      rc = td_ipc_stream_writer_write(c->w, &batch, &e);
      batch.release(&batch);
    }
    td_builder_free(bs[0]);
    td_builder_free(bs[1]);
    for (int64_t k = 0; vb && k < n; k++) td_builder_free(vb[k]);
    free(vb);
    free(cols);
    if (rc) {
      if (rc == TD_ENOMEM && !e.message[0]) snprintf(e.message, sizeof e.message, "out of memory writing a batch");
      e.code = rc;
      fail(c, &e);
    }
  } else {
    c->p.version = version;
    for (int64_t r = 0; r < c->n_recs && !c->rc; r++) {
      c->p.op = k_op_names[c->recs[r].op];
      if (td_printer_rows(&c->p, c->recs[r].batch, c->recs[r].row, c->recs[r].row + 1, &e)) fail(c, &e);
    }
    td_printer_flush(&c->p);
    if (ferror(c->out) && !c->rc) {
      int en = errno;
      td_error_clear(&e);
      e.code = TD_EIO;
      snprintf(e.message, sizeof e.message, "writing the output failed: %s", strerror(en));
      fail(c, &e);
    }
  }
  c->n_recs = 0;
}

/* ---- comparing versions ---- */

typedef struct keyed_row {
  char *key, *full; /* texts of the key columns and of the whole row */
  int side;         /* 0: previous version, 1: current */
  int64_t row;
} keyed_row;

/* The text of row `row`'s columns (only those with key[c] when key). */
static char *row_text(td_changes *c, const struct ArrowArray *b, int64_t row, const bool *key) {
  size_t len = 0, cap = 64;
  char *s = malloc(cap);
  for (int64_t k = 0; s && k < c->schema.n_children; k++) {
    if (key && !key[k]) continue;
    td_value v;
    td_error e;
    if (td_arrow_get_value(c->schema.children[k], b->children[k], b->offset + row, &v, &e) != TD_OK) {
      free(s);
      return NULL;
    }
    /* formatted in place once (len < cap here); again after growing when cut */
    size_t n = v.is_null ? 1 : td_value_format(&v, s + len, cap - len);
    if (len + n + 2 > cap) {
      while (len + n + 2 > cap) cap *= 2;
      char *t = realloc(s, cap);
      if (!t) {
        free(s);
        return NULL;
      }
      s = t;
      if (!v.is_null) td_value_format(&v, s + len, cap - len);
    }
    if (v.is_null) s[len] = '\x1e'; /* null differs from any text */
    len += n;
    s[len++] = '\x1f';
  }
  if (s) s[len] = 0;
  return s;
}

static int cmp_keyed(const void *a, const void *b) {
  const keyed_row *x = a, *y = b;
  int d = strcmp(x->key, y->key);
  if (d) return d;
  if (x->side != y->side) return x->side - y->side;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* Records what changed from c->prev to `cur` (both whole versions). */
static void diff_versions(td_changes *c, const struct ArrowArray *cur) {
  int64_t n_old = c->prev.release ? c->prev.length : 0, n = n_old + cur->length;
  keyed_row *rows = calloc((size_t)n + 1, sizeof *rows);
  bool ok = rows != NULL;
  for (int64_t i = 0; ok && i < n; i++) {
    const struct ArrowArray *b = i < n_old ? &c->prev : cur;
    rows[i].side = i < n_old ? 0 : 1;
    rows[i].row = i < n_old ? i : i - n_old;
    rows[i].full = row_text(c, b, rows[i].row, NULL);
    rows[i].key = c->keyed ? row_text(c, b, rows[i].row, c->key) : rows[i].full;
    ok = rows[i].full && rows[i].key;
  }
  if (!ok) {
    td_error e = {.code = TD_ENOMEM};
    snprintf(e.message, sizeof e.message, "out of memory comparing versions");
    fail(c, &e);
  } else {
    qsort(rows, (size_t)n, sizeof *rows, cmp_keyed);
    for (int64_t i = 0; i < n;) {
      int64_t j = i, olds = 0;
      while (j < n && strcmp(rows[j].key, rows[i].key) == 0) olds += rows[j++].side == 0;
      int64_t news = j - i - olds;
      for (int64_t k = 0; k < olds || k < news; k++) {
        if (k < olds && k < news) {
          if (strcmp(rows[i + k].full, rows[i + olds + k].full) != 0) add_record(c, OP_UPDATE, cur, rows[i + olds + k].row);
        } else if (k < olds) {
          add_record(c, OP_REMOVE, &c->prev, rows[i + k].row);
        } else {
          add_record(c, OP_ADD, cur, rows[i + olds + k].row);
        }
      }
      i = j;
    }
  }
  for (int64_t i = 0; rows && i < n; i++) {
    if (rows[i].key != rows[i].full) free(rows[i].key);
    free(rows[i].full);
  }
  free(rows);
}

/* Reads rows [begin, end) and records them as `o`; the batch lives in *b. */
static bool read_rows(td_changes *c, td_table *t, int64_t begin, int64_t end, struct ArrowArray *b) {
  td_error e;
  if (td_table_read(t, NULL, 0, begin, end, b, &e) != TD_OK) {
    fail(c, &e);
    return false;
  }
  return true;
}

/* Holds the batches a cycle's records point into. */
typedef struct batches {
  struct ArrowArray *b;
  int64_t n, cap;
} batches;

static struct ArrowArray *new_batch(batches *bs) {
  if (bs->n == bs->cap) {
    int64_t cap = bs->cap ? bs->cap * 2 : 16;
    struct ArrowArray *b = realloc(bs->b, (size_t)cap * sizeof *b);
    if (!b) return NULL;
    bs->b = b;
    bs->cap = cap;
  }
  memset(&bs->b[bs->n], 0, sizeof *bs->b);
  return &bs->b[bs->n++];
}

static void free_batches(batches *bs) {
  for (int64_t i = 0; i < bs->n; i++)
    if (bs->b[i].release) bs->b[i].release(&bs->b[i]);
  free(bs->b);
}

/* Records rows [begin, end) of `t` as `o`. */
static void record_range(td_changes *c, batches *bs, td_table *t, op o, int64_t begin, int64_t end) {
  for (int64_t s = begin; s < end && !c->rc; s += 65536) {
    struct ArrowArray *b = new_batch(bs);
    if (!b || !read_rows(c, t, s, end - s > 65536 ? s + 65536 : end, b)) return;
    for (int64_t r = 0; r < b->length; r++) add_record(c, o, b, r);
  }
}

/* Writes one version: the whole current result compared with the previous
 * one (snapshot mode), or the update's added and changed rows. */
static void write_version(td_changes *c, td_table *t, const td_table_update *u) {
  batches bs = {0};
  int64_t version = u ? u->version : 0;
  if (c->snapshot) {
    struct ArrowArray cur;
    if (read_rows(c, t, 0, td_table_size(t), &cur)) {
      diff_versions(c, &cur);
      flush_records(c, version);
      if (c->prev.release) c->prev.release(&c->prev);
      c->prev = cur;
    }
  } else {
    if (!u) record_range(c, &bs, t, OP_ADD, 0, td_table_size(t));
    for (int64_t i = 0; u && i < u->n_changed; i++) record_range(c, &bs, t, OP_UPDATE, u->changed[i], u->changed[i] + 1);
    for (int64_t i = 0; u && i < u->n_added; i++)
      record_range(c, &bs, t, OP_ADD, u->added[i].first_row, u->added[i].end_row);
    flush_records(c, version);
  }
  c->n_recs = 0;
  free_batches(&bs);
}

void td_changes_on_cycle(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  td_changes *c = ctx;
  if (e) { /* the live query failed: record why and end the follow at once */
    td_error why = *e;
    snprintf(why.message, sizeof why.message, "the live query failed: %.900s", e->message);
    fail(c, &why);
    td_interrupt();
    return;
  }
  if (!c->rc) write_version(c, t, u);
}

int td_changes_open(td_table *result, const char *sql, td_changes_format format, int fd, td_changes **out,
                    td_error *err) {
  *out = NULL;
  td_changes *c = calloc(1, sizeof *c);
  if (!c) {
    err->code = TD_ENOMEM;
    snprintf(err->message, sizeof err->message, "out of memory starting the output");
    return TD_ENOMEM;
  }
  c->format = format;
  c->fd = fd;
  int rc = td_table_schema(result, &c->schema, err);
  int64_t n = rc == TD_OK ? c->schema.n_children : 0;
  if (rc == TD_OK && !(c->key = calloc((size_t)n + 1, sizeof *c->key))) rc = TD_ENOMEM;
  if (rc == TD_OK) classify(c, sql, n);
  /* Locations that may go away (ADD_REMOVE): a cycle may take rows out of
   * the result, which only a comparison with the previous version tells
   * (remove records carry the rows' last values). */
  if (rc == TD_OK && td_table_update_mode(result) == TD_UPDATE_ADD_REMOVE) c->snapshot = true;
  if (rc == TD_OK && format == TD_CHANGES_ARROW) {
    td_schema in, o;
    td_schema_init(&o);
    rc = td_schema_import(&c->schema, &in, err);
    if (rc == TD_OK) {
      if (!(c->types = calloc((size_t)n + 1, sizeof *c->types))) rc = TD_ENOMEM;
      if (rc == TD_OK) rc = td_schema_add(&o, "op", TD_TYPE_UTF8, NULL, false, err);
      if (rc == TD_OK) rc = td_schema_add(&o, "version", TD_TYPE_INT64, NULL, false, err);
      for (int64_t k = 0; rc == TD_OK && k < n; k++) {
        c->types[k] = in.fields[k].type;
        rc = td_schema_add(&o, in.fields[k].name, in.fields[k].type, in.fields[k].tz, true, err);
      }
      if (rc == TD_OK) rc = td_ipc_stream_writer_open(fd, &o, &c->w, err);
      td_schema_reset(&in);
    }
    td_schema_reset(&o);
  } else if (rc == TD_OK) {
    int dfd = dup(fd);
    c->out = dfd >= 0 ? fdopen(dfd, "w") : NULL;
    if (!c->out) {
      if (dfd >= 0) close(dfd);
      rc = TD_EIO;
      snprintf(err->message, sizeof err->message, "cannot write to descriptor %d", fd);
    } else {
      struct ArrowSchema s;
      rc = td_table_schema(result, &s, err);
      if (rc == TD_OK)
        rc = td_printer_init_ops(&c->p, format == TD_CHANGES_CSV ? TD_FORMAT_CSV : TD_FORMAT_JSONL, c->out, &s, err);
    }
  }
  if (rc == TD_ENOMEM && !err->message[0]) snprintf(err->message, sizeof err->message, "out of memory");
  if (rc == TD_OK) {
    write_version(c, result, NULL);
    if (c->rc) {
      rc = c->rc;
      *err = c->err;
    }
  }
  if (rc) {
    err->code = rc;
    td_ipc_stream_writer_abort(c->w);
    c->w = NULL;
    td_changes_close(c, NULL);
    return rc;
  }
  *out = c;
  return TD_OK;
}

int td_changes_close(td_changes *c, td_error *err) {
  if (!c) return TD_OK;
  td_error e;
  td_error_clear(&e);
  if (c->w && td_ipc_stream_writer_close(c->w, &e) != TD_OK) fail(c, &e);
  if (c->out) {
    td_printer_reset(&c->p);
    bool bad = ferror(c->out) != 0;
    if ((fclose(c->out) != 0 || bad) && !c->rc) {
      c->rc = TD_EIO;
      snprintf(c->err.message, sizeof c->err.message, "writing the output failed");
    }
  }
  int rc = c->rc;
  if (rc && err) *err = c->err;
  if (c->prev.release) c->prev.release(&c->prev);
  if (c->schema.release) c->schema.release(&c->schema);
  free(c->types);
  free(c->key);
  free(c->recs);
  free(c);
  return rc;
}
