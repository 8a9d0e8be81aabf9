/*
 * pages/fetch.c - column_values requests that fill (or grow) cached pages.
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
  /* Grow: the rows held, then the suffix that arrived. */
  td_array a;
  td_colview v;
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
  return td_page_cache_get(loc->provider->service->cache, loc->id, col, page, need_rows, fill, &x,
                           out, err);
}
