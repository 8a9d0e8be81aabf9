/*
 * pages/fetch.c - column_values requests that fill (or grow) cached pages.
 *
 * The tail page of a growing location grows in place: its first growth
 * copies the rows into a *grow root*, an array with room for 4x its rows
 * (at least 1024, at most the page size), and each page data is a view of
 * the root's first rows.  Later growths append the new rows after the ones
 * held, where no reader looks (a reader's view ends at its rows), so a
 * cycle costs its new rows, not the page's, and a page of live appends is
 * copied about once.  A growth that does not fit, or whose rows have nulls
 * (a validity byte would be shared with readers), copies into a new root.
 *
 * A backend that appends in place (the memory backend's segments) answers
 * the suffix in the very buffers the held rows are viewed in, right after
 * them: the grown page is then one wider view of the answer, nothing
 * copied (`continues`).
 */
#include "pages/fetch.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

typedef struct fill_ctx {
  td_location *loc;
  int64_t col, page;
} fill_ctx;

/* Asks the backend for rows [offset, offset + min_rows .. max_rows). */
static int request_rows(td_location *loc, int64_t col, int64_t offset, int64_t min_rows,
                        int64_t max_rows, struct ArrowArray *out, td_error *err) {
  td_provider *p = loc->provider;
  td_service *s = p->service;
  const td_field *f = &p->def.fields[col];
  char desc[768];
  snprintf(desc, sizeof desc,
           "column_values(table '%s', location '%s', column '%s', offset %lld, min_rows %lld, max_rows %lld)",
           td_table_key_name(p->key), loc->name, f->name, (long long)offset, (long long)min_rows,
           (long long)max_rows);
  td_call *c;
  int rc = td_call_begin(s, TD_METHOD_COLUMN_VALUES, desc, &c, err);
  if (rc) return rc;
  td_schema tmp;
  td_schema_init(&tmp);
  if ((rc = td_schema_add(&tmp, f->name, f->type, f->tz, f->nullable, err)) != TD_OK) {
    td_call_end(s, c);
    return rc;
  }
  c->expect = tmp.fields[0]; /* set before the backend sees the request */
  td_free(tmp.fields);
  c->min_rows = min_rows;
  c->max_rows = max_rows;
  s->backend.vtable->column_values(s->backend.self, p->key, loc->key, f->name, offset, min_rows,
                                   max_rows, td_call_request(s, c));
  rc = td_call_wait(s, c, err);
  if (rc == TD_OK) td_arrow_array_move(&c->values, out);
  td_call_end(s, c);
  return rc;
}

/* ---- grow roots ---- */

typedef struct grow_root {
  td_array a; /* a.length rows filled, room for a.capacity */
  const void *buffers[3];
} grow_root;

static void grow_root_release(struct ArrowArray *arr) {
  if (!arr || !arr->release) return;
  grow_root *g = arr->private_data;
  td_array_reset(&g->a);
  td_free(g);
  arr->release = NULL;
}

/* Types whose rows are appended without touching the bytes of earlier rows. */
static bool growable(td_type_id t) { return td_type_is_varlen(t) || (t != TD_TYPE_BOOL && td_type_width(t) > 0); }

/* The grow root `have` views, when its filled rows are exactly have's. */
static grow_root *grow_root_of(const td_page_data *have) {
  td_shared_array *r = td_array_view_root(have->array);
  if (!r || r->array.release != grow_root_release) return NULL;
  grow_root *g = r->array.private_data;
  return g->a.length == have->rows ? g : NULL;
}

/* Page data: rows [0, rows) of the root `r`. */
static int root_page(td_type_id type, td_shared_array *r, int64_t rows, td_page_data **out, td_error *err) {
  struct ArrowArray v;
  int rc = td_array_export_view(&r->array, 0, rows, r, &v, err);
  if (rc) return rc;
  return td_page_data_new(type, &v, out, err);
}

/* Rows `have` then `got` (no nulls in either) as page data of a grow root:
 * appended in place when have's root has room, else copied into a new one
 * with room for 4x the rows (at least 1024, at most `ps`). */
static int grow_page(td_type_id type, const td_page_data *have, const td_colview *got, int64_t ps,
                     td_page_data **out, td_error *err) {
  int64_t held = have->rows, rows = held + got->length;
  int64_t bytes = td_type_is_varlen(type) ? got->offsets[got->offset + got->length] - got->offsets[got->offset] : 0;
  grow_root *g = grow_root_of(have);
  td_shared_array *r = g ? td_array_view_root(have->array) : NULL;
  if (g && rows <= g->a.capacity && g->a.data_length + bytes <= g->a.data_capacity) {
    int rc = td_array_append_view(&g->a, got, 0, got->length, err); /* no reallocation: it fits */
    return rc ? rc : root_page(type, r, rows, out, err);
  }
  int64_t cap = 4 * rows > 1024 ? 4 * rows : 1024;
  if (cap > ps) cap = ps;
  g = td_calloc(1, sizeof *g);
  if (!g) return td_err_nomem(err, "growing a page");
  int rc = td_array_init(&g->a, type, cap, err);
  if (rc == TD_OK && td_type_is_varlen(type)) {
    int64_t held_bytes = held ? have->view.offsets[have->view.offset + held] - have->view.offsets[have->view.offset] : 0;
    rc = td_array_reserve_data(&g->a, 4 * (held_bytes + bytes) + 64, err);
  }
  if (rc == TD_OK) rc = td_array_append_view(&g->a, &have->view, 0, held, err);
  if (rc == TD_OK) rc = td_array_append_view(&g->a, got, 0, got->length, err);
  if (rc) {
    td_array_reset(&g->a);
    td_free(g);
    return rc;
  }
  struct ArrowArray root;
  memset(&root, 0, sizeof root);
  g->buffers[0] = NULL;
  g->buffers[1] = td_type_is_varlen(type) ? (const void *)g->a.offsets : (const void *)g->a.values;
  g->buffers[2] = g->a.data;
  root.length = rows; /* the rows filled when it was made; views name their own */
  root.n_buffers = td_type_is_varlen(type) ? 3 : 2;
  root.buffers = g->buffers;
  root.private_data = g;
  root.release = grow_root_release;
  rc = td_shared_array_new(&root, &r, err);
  if (rc) return rc;
  r->bytes = td_type_is_varlen(type) ? (cap + 1) * 4 + g->a.data_capacity : cap * td_type_width(type);
  rc = root_page(type, r, rows, out, err);
  td_shared_array_release(r); /* the page data holds it */
  return rc;
}

/* The answer `got` holds the rows right after have's in the same buffers
 * (equal base pointers: one live allocation, which got keeps alive), both
 * without nulls. */
static bool continues(td_type_id type, const td_page_data *have, const struct ArrowArray *got) {
  const td_colview *v = &have->view;
  if (v->codes || got->dictionary || v->null_count != 0 || got->null_count != 0 || got->n_children != 0 ||
      got->offset != v->offset + have->rows || type == TD_TYPE_BOOL)
    return false;
  if (td_type_is_varlen(type))
    return got->n_buffers == 3 && !got->buffers[0] && got->buffers[1] == v->offsets && got->buffers[2] == v->data;
  return got->n_buffers == 2 && !got->buffers[0] && got->buffers[1] == v->values && v->values;
}

static int fill(void *vctx, const td_page_data *have, td_page_data **out, td_error *err) {
  fill_ctx *x = vctx;
  td_location *loc = x->loc;
  int64_t ps = loc->provider->service->opts.page_size;
  const td_field *f = &loc->provider->def.fields[x->col];
  int64_t held = have ? have->rows : 0;
  int64_t size = atomic_load(&loc->size);
  int64_t start = x->page * ps;
  int64_t offset = start + held;
  int64_t end = size < start + ps ? size : start + ps;
  if (end <= offset)
    return td_err(err, TD_ERANGE, "table '%s', location '%s', column '%s': page %lld has no rows to fetch",
                  td_table_key_name(loc->provider->key), loc->name, f->name, (long long)x->page);
  struct ArrowArray got;
  int rc = request_rows(loc, x->col, offset, end - offset, ps - held, &got, err);
  if (rc) return rc;
  if (!have) return td_page_data_new(f->type, &got, out, err);
  if (continues(td_type_small(f->type), have, &got)) { /* widened: rows [0, held) are the same bytes */
    got.offset -= held;
    got.length += held;
    return td_page_data_new(f->type, &got, out, err);
  }
  td_colview v;
  if (have->view.codes || got.dictionary) { /* codes: the grown page is decoded */
    td_page_data *more;
    if ((rc = td_page_data_new(f->type, &got, &more, err)) != TD_OK) return rc;
    td_array a;
    struct ArrowArray merged;
    rc = td_array_init(&a, f->type, held + more->rows, err);
    if (rc == TD_OK) rc = td_array_append_view(&a, &have->view, 0, held, err);
    if (rc == TD_OK) rc = td_array_append_view(&a, &more->view, 0, more->rows, err);
    if (rc == TD_OK) rc = td_array_export(&a, &merged, err);
    td_array_reset(&a);
    td_page_data_release(more);
    return rc ? rc : td_page_data_new(f->type, &merged, out, err);
  }
  if (growable(f->type) && have->view.null_count == 0 && got.null_count == 0) {
    rc = td_colview_init(&v, f->type, &got, err);
    if (rc == TD_OK) rc = grow_page(f->type, have, &v, ps, out, err);
    td_arrow_array_release(&got);
    return rc;
  }
  /* Grow: the rows held, then the suffix that arrived. */
  td_array a;
  rc = td_array_init(&a, f->type, held + got.length, err);
  if (rc == TD_OK) rc = td_array_append_view(&a, &have->view, 0, held, err);
  if (rc == TD_OK) rc = td_colview_init(&v, f->type, &got, err);
  if (rc == TD_OK) rc = td_array_append_view(&a, &v, 0, got.length, err);
  td_arrow_array_release(&got);
  struct ArrowArray merged;
  if (rc == TD_OK) rc = td_array_export(&a, &merged, err);
  td_array_reset(&a);
  if (rc) return rc;
  return td_page_data_new(f->type, &merged, out, err);
}

int td_fetch_page(td_location *loc, int64_t col, int64_t page, int64_t need_rows, td_page_data **out,
                  td_error *err) {
  fill_ctx x = {loc, col, page};
  int rc = td_page_cache_get(loc->provider->service->cache, loc->id, col, page, need_rows, fill, &x, out, err);
  if (rc == TD_ESTATE)
    td_err_prefix(err, rc, "table '%s', location '%s', column '%s': ", td_table_key_name(loc->provider->key),
                  loc->name, loc->provider->def.fields[col].name);
  return rc;
}

int td_fetch_rows(td_location *loc, int64_t col, int64_t offset, int64_t n, td_page_data **out, int64_t *first,
                  td_error *err) {
  td_service *s = loc->provider->service;
  int64_t ps = s->opts.page_size, page = offset / ps;
  *first = offset - page * ps;
  if ((*out = td_page_cache_peek(s->cache, loc->id, col, page, *first + n))) return TD_OK;
  *first = 0;
  struct ArrowArray got;
  int rc = request_rows(loc, col, offset, n, n, &got, err);
  if (rc) return rc;
  return td_page_data_new(loc->provider->def.fields[col].type, &got, out, err);
}
