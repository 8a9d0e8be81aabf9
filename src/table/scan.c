/*
 * table/scan.c - chunked reads of a table snapshot: a page of one location at
 * a time for source tables, a slice of one chunk for derived tables.  Every
 * engine read (td_table_read, streams, query operators) goes through here.
 */
#include <string.h>

#include "table/table.h"
#include "util/alloc.h"
#include "util/error.h"

static void drop_pages(td_scan *sc) {
  for (int64_t i = 0; i < sc->n_cols; i++) {
    td_page_data_release(sc->pages[i]);
    sc->pages[i] = NULL;
    td_shared_array_release(sc->decoded[i]);
    sc->decoded[i] = NULL;
  }
}

int td_scan_init(td_scan *sc, td_table *t, td_snapshot *snap, const int64_t *cols, int64_t n_cols,
                 int64_t begin, int64_t end, td_error *err) {
  memset(sc, 0, sizeof *sc);
  /* a given snapshot of a lazy table not filled yet (an operator's own
   * chunks, query/join.h's td__join_fold) does not fill it */
  int frc = snap && atomic_load(&t->pending) ? TD_OK : td_table_status(t, err);
  if (frc) return frc;
  if (cols && n_cols < 0)
    return td_err(err, TD_EINVAL, "expected a column count >= 0 with column indices, found %lld", (long long)n_cols);
  int64_t nc = cols ? n_cols : t->def->n_fields;
  for (int64_t i = 0; cols && i < n_cols; i++)
    if (cols[i] < 0 || cols[i] >= t->def->n_fields)
      return td_err(err, TD_EINVAL, "column index %lld is out of range (the table has %lld columns)",
                    (long long)cols[i], (long long)t->def->n_fields);
  sc->snap = snap ? (atomic_fetch_add(&snap->refs, 1), snap) : td_table_snapshot(t);
  if (begin < 0 || end < begin || end > sc->snap->size) {
    int rc = td_err(err, TD_ERANGE, "rows [%lld, %lld) are out of range (the table has %lld rows)",
                    (long long)begin, (long long)end, (long long)sc->snap->size);
    td_snapshot_release(sc->snap);
    sc->snap = NULL;
    return rc;
  }
  sc->cols = td_malloc((size_t)(nc + 1) * sizeof *sc->cols);
  sc->pages = td_calloc((size_t)nc + 1, sizeof *sc->pages);
  sc->views = td_calloc((size_t)nc + 1, sizeof *sc->views);
  sc->owners = td_calloc((size_t)nc + 1, sizeof *sc->owners);
  sc->consts = td_calloc((size_t)nc + 1, sizeof *sc->consts);
  sc->lazy = td_calloc((size_t)nc + 1, sizeof *sc->lazy);
  sc->codes_ok = td_calloc((size_t)nc + 1, sizeof *sc->codes_ok);
  sc->decoded = td_calloc((size_t)nc + 1, sizeof *sc->decoded);
  if (!sc->cols || !sc->pages || !sc->views || !sc->owners || !sc->consts || !sc->lazy || !sc->codes_ok ||
      !sc->decoded) {
    td_scan_release(sc);
    return td_err_nomem(err, "starting a scan");
  }
  for (int64_t i = 0; i < nc; i++) sc->cols[i] = cols ? cols[i] : i;
  sc->n_cols = nc;
  sc->table = t;
  sc->pos = begin;
  sc->end = end;
  return TD_OK;
}

/* A view of `v`'s rows [from, from + n). */
static td_colview slice(const td_colview *v, int64_t from, int64_t n) {
  td_colview s = *v;
  s.offset += from;
  s.length = n;
  return s;
}

/* Fetches the page holding the chunk's rows of scanned column i. */
static int fetch_column(td_scan *sc, const td_chunk *ch, int64_t i, td_error *err) {
  int64_t ps = sc->table->service->opts.page_size;
  int64_t page = ch->row / ps;
  int rc = td_fetch_page(ch->loc, sc->cols[i], page, ch->row + ch->length - page * ps, &sc->pages[i], err);
  if (rc) return rc;
  sc->views[i] = slice(&sc->pages[i]->view, ch->row - page * ps, ch->length);
  sc->owners[i] = sc->pages[i]->owner;
  if (sc->views[i].codes && !sc->codes_ok[i]) return td_scan_decode(sc, i, err); /* for this chunk */
  return TD_OK;
}

int td_scan_decode(td_scan *sc, int64_t i, td_error *err) {
  if (!sc->views[i].codes) return TD_OK;
  td_array a;
  struct ArrowArray arr;
  int64_t n = sc->views[i].length;
  int rc = td_array_init(&a, TD_TYPE_UTF8, n, err);
  if (rc == TD_OK) rc = td_array_append_view(&a, &sc->views[i], 0, n, err);
  if (rc == TD_OK) rc = td_array_export(&a, &arr, err);
  td_array_reset(&a);
  td_shared_array_release(sc->decoded[i]);
  sc->decoded[i] = NULL;
  if (rc == TD_OK) rc = td_shared_array_new(&arr, &sc->decoded[i], err);
  if (rc == TD_OK) rc = td_colview_init(&sc->views[i], TD_TYPE_UTF8, &sc->decoded[i]->array, err);
  if (rc) return rc;
  sc->owners[i] = sc->decoded[i];
  return TD_OK;
}

void td_scan_allow_codes(td_scan *sc, int64_t i) {
  if (i >= 0 && i < sc->n_cols) sc->codes_ok[i] = true;
}

/* The next chunk of a source table, or *done when the skip hook rejected
 * everything that was left. */
static int next_source(td_scan *sc, td_chunk *ch, bool *done, td_error *err) {
  const td_snapshot *s = sc->snap;
  int64_t ps = sc->table->service->opts.page_size;
  const td_region *reg;
  int64_t r, row, page, stop;
  for (;;) {
    r = td_snapshot_region_of(s, sc->pos);
    reg = &s->regions[r];
    row = sc->pos - reg->row_begin;
    page = row / ps;
    stop = reg->size < (page + 1) * ps ? reg->size : (page + 1) * ps;
    if (stop - row > sc->end - sc->pos) stop = row + (sc->end - sc->pos);
    if (!sc->skip || !sc->skip(sc->skip_ctx, reg->loc, row, stop - row)) break;
    atomic_fetch_add_explicit(&sc->table->service->rows_skipped, stop - row, memory_order_relaxed);
    sc->pos += stop - row; /* rejected as a whole from metadata: not read */
    if (sc->pos >= sc->end) {
      *done = true;
      return TD_OK;
    }
  }
  ch->pos = sc->pos;
  ch->length = stop - row;
  atomic_fetch_add_explicit(&sc->table->service->rows_scanned, ch->length, memory_order_relaxed);
  ch->region = r;
  ch->loc = reg->loc;
  ch->row = row;
  for (int64_t i = 0; i < sc->n_cols; i++) {
    int64_t c = sc->cols[i];
    if (c < sc->table->n_partition) {
      sc->consts[i] = &reg->loc->values[c];
      continue;
    }
    sc->consts[i] = NULL;
    if (sc->lazy[i]) { /* fetched by td_scan_load, if the chunk needs it */
      memset(&sc->views[i], 0, sizeof sc->views[i]);
      sc->owners[i] = NULL;
      continue;
    }
    int rc = fetch_column(sc, ch, i, err);
    if (rc) {
      drop_pages(sc);
      return rc;
    }
  }
  sc->loaded = sc->n_lazy == 0;
  return TD_OK;
}

void td_scan_defer(td_scan *sc, int64_t i) {
  if (sc->table->kind != TD_TABLE_SOURCE || i < 0 || i >= sc->n_cols || sc->lazy[i]) return;
  if (sc->cols[i] < sc->table->n_partition) return;
  sc->lazy[i] = true;
  sc->n_lazy++;
}

int td_scan_load(td_scan *sc, td_chunk *ch, td_error *err) {
  if (sc->loaded || sc->table->kind != TD_TABLE_SOURCE) return TD_OK;
  for (int64_t i = 0; i < sc->n_cols; i++) {
    if (!sc->lazy[i] || sc->consts[i]) continue;
    int rc = fetch_column(sc, ch, i, err);
    if (rc) return rc;
  }
  sc->loaded = true;
  return TD_OK;
}

/* Whether a chunk is most of the rows its page holds: loading it fetches
 * (and caches) the page.  A chunk of a few of them (a scan of a narrow
 * range: a top-N's winners) is loaded with td_fetch_rows instead, which
 * decodes no more of a file's page than those rows. */
static bool most_of_page(const td_scan *sc, const td_chunk *ch) {
  int64_t ps = sc->table->service->opts.page_size, lo = ch->row / ps * ps;
  int64_t size = sc->snap->regions[ch->region].size, held = (size < lo + ps ? size : lo + ps) - lo;
  return ch->length * 16 > held;
}

int td_scan_load_rows(td_scan *sc, td_chunk *ch, int64_t first, int64_t n, td_error *err) {
  if (sc->loaded || sc->table->kind != TD_TABLE_SOURCE || (first == 0 && n == ch->length && most_of_page(sc, ch)))
    return td_scan_load(sc, ch, err);
  if (first < 0 || n < 1 || first > ch->length - n)
    return td_err(err, TD_EINVAL, "rows [%lld, +%lld) of a chunk of %lld rows asked for", (long long)first,
                  (long long)n, (long long)ch->length);
  ch->pos += first;
  ch->row += first;
  ch->length = n;
  for (int64_t i = 0; i < sc->n_cols; i++) {
    if (sc->consts[i]) continue;
    if (!sc->lazy[i]) { /* fetched already: a narrower view */
      sc->views[i] = slice(&sc->views[i], first, n);
      continue;
    }
    int64_t at;
    int rc = td_fetch_rows(ch->loc, sc->cols[i], ch->row, n, &sc->pages[i], &at, err);
    if (rc) return rc;
    sc->views[i] = slice(&sc->pages[i]->view, at, n);
    sc->owners[i] = sc->pages[i]->owner;
    if (sc->views[i].codes && !sc->codes_ok[i] && (rc = td_scan_decode(sc, i, err)) != TD_OK) return rc;
  }
  sc->loaded = true;
  return TD_OK;
}

static int64_t derived_chunk_of(const td_snapshot *s, int64_t pos);

static int next_derived(td_scan *sc, td_chunk *ch, td_error *err) {
  const td_snapshot *s = sc->snap;
  int64_t lo = derived_chunk_of(s, sc->pos);
  const td_dchunk *c = s->chunks[lo];
  int64_t from = sc->pos - s->chunk_begin[lo];
  int64_t n = c->length - from;
  if (n > sc->end - sc->pos) n = sc->end - sc->pos;
  ch->length = n;
  ch->region = -1;
  for (int64_t i = 0; i < sc->n_cols; i++) {
    int64_t col = sc->cols[i];
    if (c->consts[col].type != TD_TYPE_NONE) {
      sc->consts[i] = &c->consts[col];
      continue;
    }
    sc->consts[i] = NULL;
    sc->views[i] = slice(&c->views[col], from, n);
    sc->owners[i] = c->owners[col];
    /* codes kept by a view (td_select_spec.keep_codes), for a reader that did not ask for them */
    if (sc->views[i].codes && !sc->codes_ok[i]) {
      int rc = td_scan_decode(sc, i, err);
      if (rc) return rc;
    }
  }
  return TD_OK;
}

int td_scan_next(td_scan *sc, td_chunk *ch, bool *done, td_error *err) {
  drop_pages(sc);
  memset(ch, 0, sizeof *ch);
  *done = sc->pos >= sc->end;
  if (*done) return TD_OK;
  ch->pos = sc->pos;
  ch->views = sc->views;
  ch->owners = sc->owners;
  ch->consts = sc->consts;
  if (sc->table->kind == TD_TABLE_SOURCE) {
    int rc = next_source(sc, ch, done, err);
    if (rc || *done) return rc;
  } else {
    int rc = next_derived(sc, ch, err);
    if (rc) return rc;
    sc->loaded = true;
  }
  sc->pos += ch->length;
  return TD_OK;
}

/* The derived chunk holding pos (the last with chunk_begin <= pos that has rows there). */
static int64_t derived_chunk_of(const td_snapshot *s, int64_t pos) {
  int64_t lo = 0, hi = s->n_chunks - 1;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (s->chunk_begin[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  while (s->chunk_begin[lo] + s->chunks[lo]->length <= pos) lo++;
  return lo;
}

int64_t td_scan_chunk_end(const td_table *t, const td_snapshot *snap, int64_t pos, int64_t end) {
  int64_t stop;
  if (t->kind == TD_TABLE_SOURCE) {
    int64_t ps = t->service->opts.page_size;
    const td_region *reg = &snap->regions[td_snapshot_region_of(snap, pos)];
    int64_t row = pos - reg->row_begin, page_end = (row / ps + 1) * ps;
    stop = reg->row_begin + (reg->size < page_end ? reg->size : page_end);
  } else {
    int64_t c = derived_chunk_of(snap, pos);
    stop = snap->chunk_begin[c] + snap->chunks[c]->length;
  }
  return stop < end ? stop : end;
}

int64_t td_scan_chunk_start(const td_table *t, const td_snapshot *snap, int64_t pos) {
  if (pos <= 0 || pos >= snap->size) return pos;
  if (t->kind == TD_TABLE_SOURCE) {
    int64_t ps = t->service->opts.page_size;
    const td_region *reg = &snap->regions[td_snapshot_region_of(snap, pos)];
    int64_t row = pos - reg->row_begin;
    return reg->row_begin + row / ps * ps;
  }
  return snap->chunk_begin[derived_chunk_of(snap, pos)];
}

void td_scan_release(td_scan *sc) {
  if (sc->pages && sc->decoded) drop_pages(sc);
  td_free(sc->pages);
  td_free(sc->views);
  td_free(sc->owners);
  td_free(sc->consts);
  td_free(sc->lazy);
  td_free(sc->codes_ok);
  td_free(sc->decoded);
  td_free(sc->cols);
  td_snapshot_release(sc->snap);
  memset(sc, 0, sizeof *sc);
}
