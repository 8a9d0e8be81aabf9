/*
 * formats/parquet/reader.c - the Parquet td_file_reader: opening a file
 * (footer only), mapping its flat schema to engine types, per-row-group
 * statistics, and read_column over the row groups that cover a row range.
 */
#include "formats/parquet/reader.h"

#include <math.h>
#include <string.h>

#include "arrow/array.h"
#include "arrow/dict.h"
#include "formats/ipc/ipc_internal.h"
#include "formats/parquet/schema_map.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

static const td_reader_vtable pq_vtable;

/* ---- statistics ---- */

/* One statistics value converted to the column's engine type. */
static bool stat_value(const pq_column *c, const uint8_t *p, int32_t len, td_value *out) {
  const pq_colinfo *ci = &c->ci;
  out->type = ci->type;
  out->is_null = false;
  if (ci->conv == PQ_CV_BYTES || (ci->conv == PQ_CV_FLBA && len == ci->pw)) {
    out->v.s.ptr = (const char *)p;
    out->v.s.len = (size_t)len;
    return true;
  }
  if (ci->conv == PQ_CV_BOOL) {
    if (len < 1) return false;
    out->v.b = p[0] != 0;
    return true;
  }
  if (ci->conv == PQ_CV_INT96 || ci->type == TD_TYPE_DECIMAL128 || len != ci->pw) return false; /* no decimal pruning yet */
  union {
    int8_t i8;
    int16_t i16;
    uint16_t u16;
    uint8_t u8;
    uint32_t u32;
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
  } v;
  if (pq_convert(ci->conv, p, 1, &v) >= 0) return false; /* no statistics rather than a wrapped one */
  switch (ci->type) {
    case TD_TYPE_INT8: out->v.i = v.i8; break;
    case TD_TYPE_INT16: out->v.i = v.i16; break;
    case TD_TYPE_UINT16: out->v.i = v.u16; break;
    case TD_TYPE_UINT8: out->v.i = v.u8; break;
    case TD_TYPE_UINT32: out->v.i = v.u32; break;
    case TD_TYPE_UINT64: out->v.u = (uint64_t)v.i64; break;
    case TD_TYPE_INT32:
    case TD_TYPE_DATE32:
    case TD_TYPE_TIME32_MS: out->v.i = v.i32; break;
    case TD_TYPE_INT64:
    case TD_TYPE_TIMESTAMP:
    case TD_TYPE_TIMESTAMP_MS:
    case TD_TYPE_TIMESTAMP_US:
    case TD_TYPE_TIME64_US:
    case TD_TYPE_TIME64_NS:
    case TD_TYPE_DURATION_S:
    case TD_TYPE_DURATION_MS:
    case TD_TYPE_DURATION_US:
    case TD_TYPE_DURATION_NS: out->v.i = v.i64; break;
    case TD_TYPE_FLOAT32: out->v.f = v.f32; return !isnan(out->v.f);
    case TD_TYPE_FLOAT64: out->v.f = v.f64; return !isnan(out->v.f);
    default: return false;
  }
  return true;
}

/* Legacy min/max used the signed order: only trust them where that is right. */
static bool legacy_ok(const pq_column *c) {
  if (c->ci.type == TD_TYPE_UINT32 || c->ci.type == TD_TYPE_UINT64) return false; /* unsigned, read by COPY4/8 */
  switch (c->ci.conv) {
    case PQ_CV_BYTES:
    case PQ_CV_FLBA:
    case PQ_CV_U8:
    case PQ_CV_U16:
    case PQ_CV_F16:
    case PQ_CV_INT96: return false;
    default: return true;
  }
}

static int build_stats(pq_reader *r, pq_column *c, td_error *err) {
  int32_t n = r->meta.n_row_groups;
  bool any = false;
  if (n == 0) return TD_OK;
  td_chunk_stats *st = td_calloc((size_t)n, sizeof *st);
  if (!st) return td_err_nomem(err, "collecting column statistics");
  for (int32_t g = 0; g < n; g++) {
    const pq_row_group *rg = &r->meta.row_groups[g];
    const pq_stats *s = &rg->columns[c->leaf].stats;
    st[g].row_begin = rg->first_row;
    st[g].row_count = rg->num_rows;
    st[g].null_count = s->null_count;
    if (s->min && s->max && (!s->legacy || legacy_ok(c)) &&
        stat_value(c, s->min, s->min_len, &st[g].min) &&
        stat_value(c, s->max, s->max_len, &st[g].max))
      st[g].has_min_max = true;
    bool fl = c->ci.type == TD_TYPE_FLOAT32 || c->ci.type == TD_TYPE_FLOAT64;
    st[g].no_nan = fl && st[g].has_min_max && (s->nan_count == 0 || r->float_bounds_no_nan);
    any |= st[g].has_min_max || s->null_count >= 0;
  }
  if (!any) {
    td_free(st);
    return TD_OK;
  }
  c->stats = st;
  c->n_stats = n;
  return TD_OK;
}

/* Page statistics of row group g from its page index into *out (grown as
 * needed); false when it has none usable (the row group's are used). */
static bool page_index_stats(pq_reader *r, int64_t col, int32_t g, td_chunk_stats **out, int64_t *n, int64_t *cap,
                             uint8_t **buf) {
  pq_column *c = &r->cols[col];
  const pq_row_group *rg = &r->meta.row_groups[g];
  const pq_column_chunk *cc = &rg->columns[c->leaf];
  *buf = NULL;
  if (cc->column_index_offset < 0 || cc->column_index_length <= 0 || cc->column_index_length > PQ_MAX_INDEX_BYTES)
    return false;
  pq_oindex *oi = pq_get_oindex(r, col, g);
  pthread_mutex_lock(&r->lock);
  int state = oi->state;
  pthread_mutex_unlock(&r->lock);
  if (state != 1) return false; /* page rows are known from an offset index only */
  pq_page_stats *ps = NULL;
  int64_t np = 0;
  if (pq_read_range(r, cc->column_index_offset, cc->column_index_length, buf, NULL) != TD_OK) return false;
  if (pq_column_index_parse(*buf, cc->column_index_length, &ps, &np, NULL) != TD_OK || np != oi->n) {
    td_free(ps);
    return false;
  }
  if (*n + np > *cap) {
    int64_t nc = (*n + np) * 2;
    td_chunk_stats *grown = td_realloc(*out, (size_t)nc * sizeof *grown);
    if (!grown) {
      td_free(ps);
      return false;
    }
    *out = grown;
    *cap = nc;
  }
  for (int64_t i = 0; i < np; i++) {
    td_chunk_stats *st = &(*out)[*n + i];
    memset(st, 0, sizeof *st);
    int64_t first = oi->locs[i].first_row, end = i + 1 < np ? oi->locs[i + 1].first_row : rg->num_rows;
    st->row_begin = rg->first_row + first;
    st->row_count = end - first;
    st->null_count = ps[i].null_count;
    /* A null page's bounds are empty; the page index's min/max are the
     * current (not legacy) order, like Statistics.min_value. */
    if (!ps[i].null_page && ps[i].min && ps[i].max && stat_value(c, ps[i].min, ps[i].min_len, &st->min) &&
        stat_value(c, ps[i].max, ps[i].max_len, &st->max))
      st->has_min_max = true;
    st->no_nan = st->has_min_max && c->stats && c->stats[g].no_nan; /* the row group has none */
  }
  *n += np;
  td_free(ps);
  return true;
}

/* Loads the page-index statistics of column col (once). */
static void load_page_stats(pq_reader *r, int64_t col) {
  pq_column *c = &r->cols[col];
  int32_t ng = r->meta.n_row_groups;
  td_chunk_stats *st = NULL;
  int64_t n = 0, cap = 0, n_bufs = 0, pages = 0;
  uint8_t **bufs = td_calloc((size_t)ng + 1, sizeof *bufs);
  bool ok = bufs != NULL;
  for (int32_t g = 0; ok && g < ng; g++) {
    uint8_t *buf;
    if (page_index_stats(r, col, g, &st, &n, &cap, &buf)) {
      bufs[n_bufs++] = buf;
      pages++;
      continue;
    }
    td_free(buf);
    if (n + 1 > cap) {
      int64_t nc = (n + 1) * 2;
      td_chunk_stats *grown = td_realloc(st, (size_t)nc * sizeof *grown);
      if (!grown) {
        ok = false;
        break;
      }
      st = grown;
      cap = nc;
    }
    if (c->stats) {
      st[n++] = c->stats[g];
    } else {
      const pq_row_group *rg = &r->meta.row_groups[g];
      st[n++] = (td_chunk_stats){rg->first_row, rg->num_rows, false, {0}, {0}, -1, false};
    }
  }
  pthread_mutex_lock(&r->lock);
  bool keep = ok && pages > 0 && !c->page_tried;
  if (keep) {
    c->page_stats = st;
    c->n_page_stats = n;
    c->index_bufs = bufs;
    c->n_index_bufs = n_bufs;
  }
  c->page_tried = true;
  pthread_mutex_unlock(&r->lock);
  if (!keep) {
    td_free(st);
    for (int64_t i = 0; bufs && i < n_bufs; i++) td_free(bufs[i]);
    td_free(bufs);
  }
}

/* ---- schema ---- */

typedef struct walk {
  const pq_schema_elem *s;
  int32_t n;
} walk;

/* Counts the leaves of the subtree at *i, advancing *i past it. */
static int count_leaves(const walk *w, int32_t *i, int64_t *leaves, int depth, td_error *err) {
  if (*i >= w->n) return td_err(err, TD_EFORMAT, "schema tree is truncated at element %d", *i);
  if (depth > 64) return td_err(err, TD_EFORMAT, "schema is nested more than 64 levels deep");
  const pq_schema_elem *e = &w->s[(*i)++];
  if (e->num_children < 0 || e->num_children > w->n)
    return td_err(err, TD_EFORMAT, "schema element '%s' has %d children", e->name, e->num_children);
  if (e->num_children == 0) {
    if (e->type < 0 || e->type > PQ_FLBA)
      return td_err(err, TD_EFORMAT, "schema element '%s' has no valid physical type", e->name);
    (*leaves)++;
    return TD_OK;
  }
  for (int32_t k = 0; k < e->num_children; k++) {
    int rc = count_leaves(w, i, leaves, depth + 1, err);
    if (rc) return rc;
  }
  return TD_OK;
}

/* Decodes base64 text (RFC 4648, '=' padding, no line breaks) into a new
 * buffer; NULL (and *n 0) when it is not valid base64 or memory runs out. */
static uint8_t *base64_decode(const uint8_t *s, size_t len, size_t *n) {
  *n = 0;
  while (len && s[len - 1] == '=') len--;
  uint8_t *out = td_malloc(len / 4 * 3 + 3);
  if (!out) return NULL;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int c = s[i], v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
                    : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
    if (v < 0) {
      td_free(out);
      *n = 0;
      return NULL;
    }
    acc = (acc << 6) | (uint32_t)v;
    if ((bits += 6) >= 8) out[(*n)++] = (uint8_t)(acc >> (bits -= 8));
  }
  return out;
}

static int add_column(pq_reader *r, const pq_schema_elem *e, int32_t leaf, const uint8_t *arrow_schema,
                      size_t arrow_len, td_error *err) {
  pq_colinfo ci;
  const char *tz;
  char why[256];
  if (!pq_map_type(e, &ci, &tz, why, sizeof why)) return td_reader_add_unsupported(&r->base, e->name, why, err);
  int unit = ci.type == TD_TYPE_INT64 && arrow_schema ? ipc_schema_duration_unit(arrow_schema, arrow_len, e->name) : -1;
  if (unit >= 0) ci.type = (td_type_id)(TD_TYPE_DURATION_S + unit); /* an Arrow duration stored as INT64 */
  if (e->type == PQ_FLBA && (e->type_length <= 0 || e->type_length > (1 << 20)))
    return td_err(err, TD_EFORMAT, "column '%s' has fixed length %d", e->name, e->type_length);
  int64_t k = r->base.schema.n_fields;
  pq_column *cols = td_realloc(r->cols, (size_t)(k + 1) * sizeof *cols);
  if (!cols) return td_err_nomem(err, "listing columns");
  r->cols = cols;
  memset(&cols[k], 0, sizeof cols[k]);
  cols[k].leaf = leaf;
  cols[k].max_def = e->repetition == PQ_OPTIONAL ? 1 : 0;
  cols[k].ci = ci;
  char dparam[16];
  if (ci.type == TD_TYPE_DECIMAL128) td_dec_param_text(ci.precision, ci.scale, dparam, sizeof dparam), tz = dparam;
  return td_schema_add(&r->base.schema, e->name, ci.type, tz, e->repetition == PQ_OPTIONAL, err);
}

static int map_schema(pq_reader *r, td_error *err) {
  const pq_file_meta *m = &r->meta;
  walk w = {m->schema, m->n_schema};
  const pq_schema_elem *root = &m->schema[0];
  int32_t i = 1;
  int64_t leaves = 0;
  if (root->num_children < 0 || root->num_children >= m->n_schema + 1)
    return td_err(err, TD_EFORMAT, "schema root claims %d children", root->num_children);
  size_t arrow_len = 0; /* the writer's Arrow schema: which INT64 columns are durations */
  uint8_t *arrow = m->arrow_schema ? base64_decode(m->arrow_schema, (size_t)m->arrow_schema_len, &arrow_len) : NULL;
  for (int32_t k = 0; k < root->num_children; k++) {
    int32_t at = i;
    int64_t first_leaf = leaves;
    int rc = count_leaves(&w, &i, &leaves, 1, err);
    if (rc) {
      td_free(arrow);
      return rc;
    }
    const pq_schema_elem *e = &m->schema[at];
    if (e->num_children > 0 || e->repetition == PQ_REPEATED) {
      char why[512];
      pq_describe_nested(m->schema, m->n_schema, at, why, sizeof why);
      rc = td_reader_add_unsupported(&r->base, e->name, why, err);
    } else {
      rc = add_column(r, e, (int32_t)first_leaf, arrow, arrow_len, err);
    }
    if (rc) {
      td_free(arrow);
      return rc;
    }
  }
  td_free(arrow);
  if (i != m->n_schema)
    return td_err(err, TD_EFORMAT, "schema has %d elements but its tree covers %d", m->n_schema, i);
  for (int32_t g = 0; g < m->n_row_groups; g++) {
    if (m->row_groups[g].n_columns != leaves)
      return td_err(err, TD_EFORMAT, "row group %d has %d column chunks, the schema has %lld columns",
                    g, m->row_groups[g].n_columns, (long long)leaves);
  }
  return TD_OK;
}

static int check_row_groups(pq_reader *r, td_error *err) {
  int64_t total = 0;
  for (int32_t g = 0; g < r->meta.n_row_groups; g++) {
    pq_row_group *rg = &r->meta.row_groups[g];
    if (rg->num_rows < 0 || rg->num_rows > INT64_MAX / 2 - total)
      return td_err(err, TD_EFORMAT, "row group %d has %lld rows", g, (long long)rg->num_rows);
    rg->first_row = total;
    total += rg->num_rows;
  }
  r->base.num_rows = total;
  return TD_OK;
}

/* ---- open ---- */

static int read_footer(pq_reader *r, td_error *err) {
  int64_t size;
  uint64_t inode;
  int rc = td_io_stat_at_open(&r->base.io, &size, &inode, err);
  if (rc) return rc;
  r->file_size = size;
  if (size < 12)
    return td_err_at(err, TD_EFORMAT, TD_READER_INCOMPLETE, "file is %lld bytes, too small for Parquet (at least 12 expected)",
                  (long long)size);
  uint8_t tail[8];
  if ((rc = td_io_read(&r->base.io, tail, 8, size - 8, err))) return rc;
  if (memcmp(tail + 4, "PARE", 4) == 0)
    return td_err(err, TD_EUNSUPPORTED, "encrypted Parquet files (magic PARE) are not supported");
  /* Like other readers, only the trailing magic is required. */
  if (memcmp(tail + 4, "PAR1", 4))
    return td_err_at(err, TD_EFORMAT, TD_READER_INCOMPLETE, "missing the PAR1 magic bytes at the end of the file");
  uint32_t len;
  memcpy(&len, tail, 4);
  if (len == 0 || len > size - 12 || len > PQ_MAX_FOOTER_BYTES)
    return td_err(err, TD_EFORMAT, "footer length %u does not fit the file (%lld bytes)", len,
                  (long long)size);
  r->footer = td_malloc(len);
  if (!r->footer) return td_err_nomem(err, "reading the footer");
  if ((rc = td_io_read(&r->base.io, r->footer, len, size - 8 - len, err))) return rc;
  return pq_meta_parse(r->footer, len, &r->meta, err);
}

/* The version numbers after `prefix` in created_by, as far as they go
 * (missing ones 0); false when created_by does not start with prefix. */
static bool writer_version(const pq_file_meta *m, const char *prefix, int v[3]) {
  size_t n = strlen(prefix), len = m->created_by ? (size_t)m->created_by_len : 0;
  v[0] = v[1] = v[2] = 0;
  if (len <= n || memcmp(m->created_by, prefix, n)) return false;
  for (int k = 0; k < 3 && n < len; k++) {
    for (; n < len && m->created_by[n] >= '0' && m->created_by[n] <= '9' && v[k] < 100000; n++)
      v[k] = v[k] * 10 + (m->created_by[n] - '0');
    if (n >= len || m->created_by[n] != '.') break;
    n++;
  }
  return true;
}

/* Writer quirks recognised from created_by. */
static void writer_quirks(pq_reader *r) {
  int v[3];
  if (writer_version(&r->meta, "parquet-cpp version ", v)) r->v2_always_compressed = v[0] < 3;
  if (writer_version(&r->meta, "DuckDB version v", v))
    r->float_bounds_no_nan = v[0] > 1 || (v[0] == 1 && (v[1] > 5 || (v[1] == 5 && v[2] >= 6)));
}

/* A file this small is read whole when opened (td_io_open_small): one read
 * instead of a read of the footer's length, one of the footer and one more
 * of each column chunk (a reopened descriptor each, in a table of more
 * such files than the pool keeps open). */
#define PQ_WHOLE_FILE ((int64_t)64 << 10)

static int open_reader(pq_reader *r, const char *path, td_error *err) {
  int rc = td_io_open_small(&r->base.io, path, PQ_WHOLE_FILE, err);
  if (rc) return rc;
  if ((rc = read_footer(r, err)) || (rc = map_schema(r, err)) || (rc = check_row_groups(r, err)))
    return rc;
  writer_quirks(r);
  for (int64_t c = 0; c < r->base.schema.n_fields; c++)
    if ((rc = build_stats(r, &r->cols[c], err))) return rc;
  int64_t n_oi = (int64_t)r->meta.n_row_groups * r->base.schema.n_fields;
  r->oindex = td_calloc((size_t)(n_oi ? n_oi : 1), sizeof *r->oindex);
  if (!r->oindex) return td_err_nomem(err, "allocating the offset index table");
  return TD_OK;
}

static void pq_close(td_file_reader *base) {
  pq_reader *r = (pq_reader *)base;
  pq_cache_clear(r);
  if (r->oindex) {
    int64_t n = (int64_t)r->meta.n_row_groups * r->base.schema.n_fields;
    for (int64_t i = 0; i < n; i++) td_free(r->oindex[i].locs);
    td_free(r->oindex);
  }
  for (int64_t c = 0; c < r->base.schema.n_fields; c++) {
    pq_column *pc = &r->cols[c];
    td_free(pc->stats);
    td_free(pc->page_stats);
    for (int64_t i = 0; i < pc->n_index_bufs; i++) td_free(pc->index_bufs[i]);
    td_free(pc->index_bufs);
  }
  td_free(r->cols);
  pq_meta_free(&r->meta);
  td_free(r->footer);
  pthread_mutex_destroy(&r->lock);
  pthread_mutex_destroy(&r->walk_lock);
  pthread_mutex_destroy(&r->seg_lock);
  pthread_cond_destroy(&r->seg_done);
  td_reader_base_release(&r->base);
  td_free(r);
}

int td_parquet_open(const char *path, td_file_reader **out, td_error *err) {
  *out = NULL;
  pq_reader *r = td_calloc(1, sizeof *r);
  if (!r) return td_err_nomem(err, "opening a Parquet file");
  r->base.vt = &pq_vtable;
  r->base.io.fd = -1;
  td_schema_init(&r->base.schema);
  if (pthread_mutex_init(&r->lock, NULL) || pthread_mutex_init(&r->walk_lock, NULL) ||
      pthread_mutex_init(&r->seg_lock, NULL) || pthread_cond_init(&r->seg_done, NULL)) {
    td_free(r);
    return td_err(err, TD_ENOMEM, "cannot create a mutex for Parquet file '%s'", path);
  }
  int rc = open_reader(r, path, err);
  if (rc) {
    pq_close(&r->base);
    return td_err_prefix(err, rc, "parquet file '%s': ", path);
  }
  *out = &r->base;
  return TD_OK;
}

/* ---- reading ---- */

/* Binary search: the row group holding row `row`. */
static int32_t find_row_group(const pq_reader *r, int64_t row) {
  int32_t lo = 0, hi = r->meta.n_row_groups - 1;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo + 1) / 2;
    if (r->meta.row_groups[mid].first_row <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/* The `ahead` of pq_get_segment for a read [offset, offset + n) touching
 * row group rg: the end of the last read of the same size, going on from
 * this one, that starts inside rg.  A scan reads on in steps of n, so when
 * rg's end falls inside such a read, that read crosses into the next row
 * group, and a segment of rg that goes on into it serves that read as a
 * view.  (Asking only about the next read left every boundary decoded at
 * a read that stays inside its row group uncovered: with DuckDB's 122,880-row
 * groups and 65,536-row pages, 9 of a 1.56M-row file's 24 pages were
 * copies across a boundary, 5 now; a file of one or two row groups had
 * none either way.) */
static int64_t read_ahead(const pq_row_group *rg, int64_t offset, int64_t n) {
  int64_t end = rg->first_row + rg->num_rows;
  if (n <= 0 || end <= offset) return offset + n;
  return offset + (end - offset + n - 1) / n * n;
}

static int read_rows(pq_reader *r, int64_t col, int64_t offset, int64_t n, bool narrow, td_array *a,
                     int32_t *rg_at, td_error *err) {
  int64_t start = offset, end = offset + n;
  for (int32_t g = find_row_group(r, offset); g < r->meta.n_row_groups && offset < end; g++) {
    const pq_row_group *rg = &r->meta.row_groups[g];
    *rg_at = g;
    if (rg->num_rows == 0) continue;
    int64_t lo = offset - rg->first_row;
    int64_t hi = (end < rg->first_row + rg->num_rows ? end : rg->first_row + rg->num_rows) - rg->first_row;
    pq_seg *s;
    int rc = pq_get_segment(r, col, g, lo, hi, narrow ? PQ_NARROW : read_ahead(rg, start, n), &s, err);
    if (rc) return rc;
    rc = td_array_append_view(a, &s->view, rg->first_row + lo - s->file_first, hi - lo, err);
    pq_seg_release_read(r, s, rg->first_row + hi);
    if (rc) return rc;
    offset += hi - lo;
  }
  return TD_OK;
}

/* Rows [offset, offset + n) over several row groups whose segments all hold
 * codes: one array of codes into the segments' dictionaries joined end to
 * end (td_dict_concat), so that filters and group-bys keep working on codes
 * across a row group boundary.  *done is false (nothing made) when some
 * segment holds strings. */
static int read_codes(pq_reader *r, int64_t col, int64_t offset, int64_t n, struct ArrowArray *out, bool *done,
                      int32_t *rg_at, td_error *err) {
  *done = false;
  int64_t end = offset + n, m = 0;
  int32_t g0 = find_row_group(r, offset), g = g0;
  while (g < r->meta.n_row_groups && r->meta.row_groups[g].first_row < end) g++;
  int32_t ng = g - g0;
  pq_seg **segs = td_calloc((size_t)ng, sizeof *segs);
  td_dict **ds = td_calloc((size_t)ng, sizeof *ds);
  int rc = segs && ds ? TD_OK : td_err_nomem(err, "reading dictionary codes");
  bool codes = true;
  for (g = g0; rc == TD_OK && codes && g < g0 + ng; g++) {
    const pq_row_group *rg = &r->meta.row_groups[g];
    *rg_at = g;
    if (rg->num_rows == 0) continue;
    int64_t lo = (offset > rg->first_row ? offset : rg->first_row) - rg->first_row;
    int64_t hi = (end < rg->first_row + rg->num_rows ? end : rg->first_row + rg->num_rows) - rg->first_row;
    if ((rc = pq_get_segment(r, col, g, lo, hi, 0, &segs[m], err)) != TD_OK) break;
    codes = segs[m]->td != NULL;
    ds[m] = segs[m]->td;
    m++;
  }
  td_dict *joined = NULL;
  td_array a;
  memset(&a, 0, sizeof a);
  if (rc == TD_OK && codes) rc = td_dict_concat(ds, m, &joined, err);
  if (rc == TD_OK && codes) rc = td_array_init(&a, TD_TYPE_INT32, n, err);
  int32_t base = 0;
  for (int64_t k = 0, at = offset; rc == TD_OK && codes && k < m; k++) {
    const pq_seg *s = segs[k];
    const pq_row_group *rg = &r->meta.row_groups[s->rg]; /* (codes: one row group a segment) */
    int64_t lo = at - s->file_first;
    int64_t rows = (end < rg->first_row + rg->num_rows ? end : rg->first_row + rg->num_rows) - at;
    const td_colview *v = &s->view;
    const int32_t *c = v->codes + v->offset + lo;
    int32_t *dst = (int32_t *)a.values + a.length;
    for (int64_t i = 0; i < rows; i++) dst[i] = c[i] + base;
    if (v->validity && !a.validity) { /* the bitmap, all valid (set_null allocates it) */
      if ((rc = td_array_set_null(&a, 0, err)) == TD_OK) td_bit_set(a.validity, 0);
      a.null_count = 0;
    }
    if (v->validity && rc == TD_OK) td_bits_copy(a.validity, a.length, v->validity, v->offset + lo, rows);
    a.length += rows;
    at += rows;
    base += (int32_t)ds[k]->view.length;
  }
  if (a.validity) a.null_count = a.length - td_bits_count(a.validity, 0, a.length);
  struct ArrowArray arr;
  if (rc == TD_OK && codes) rc = td_array_export(&a, &arr, err);
  if (rc == TD_OK && codes) rc = td_dict_attach(&arr, joined, out, err);
  if (rc == TD_OK) *done = codes;
  td_array_reset(&a);
  td_dict_release(joined);
  for (int64_t k = 0; k < m; k++) pq_seg_release_read(r, segs[k], end);
  td_free(segs);
  td_free(ds);
  return rc;
}

static int read_column(td_file_reader *base, int64_t col, int64_t offset, int64_t n, bool codes,
                       struct ArrowArray *out, td_error *err) {
  pq_reader *r = (pq_reader *)base;
  if (col < 0 || col >= base->schema.n_fields || offset < 0 || n < 0 || offset > base->num_rows ||
      n > base->num_rows - offset)
    return td_err(err, TD_EINVAL,
                  "parquet file '%s': rows [%lld, +%lld) of column %lld requested; the file has "
                  "%lld rows and %lld columns",
                  base->io.path, (long long)offset, (long long)n, (long long)col,
                  (long long)base->num_rows, (long long)base->schema.n_fields);
  /* Rows inside one decoded segment: a view of it, no copy.  The segment
   * of the first row group goes on into the next when this read or the
   * last read of this size starting in this row group crosses into it
   * (read_ahead). */
  int32_t g = find_row_group(r, offset);
  const pq_row_group *rg = &r->meta.row_groups[g];
  /* A few rows (at most 1/16 of the row group) not where the column's last
   * read ended: a narrow read (a selective filter's survivors,
   * td_fetch_rows), whose page is decoded only up to its last row.  A scan
   * reads on from where it ended, and its reads are not narrow. */
  int64_t last = atomic_exchange_explicit(&r->cols[col].read_end, offset + n + 1, memory_order_relaxed);
  bool narrow = n > 0 && n * 16 <= rg->num_rows && last != offset + 1;
  if (n > 0 && (offset == 0 || last == offset + 1)) pq_hint_ahead(r, col, g); /* a scan */
  if (n > 0) {
    pq_seg *s;
    int64_t lo = offset - rg->first_row, end = rg->first_row + rg->num_rows;
    int64_t hi = (offset + n < end ? offset + n : end) - rg->first_row;
    int rc = pq_get_segment(r, col, g, lo, hi, narrow ? PQ_NARROW : read_ahead(rg, offset, n), &s, err);
    /* A view keeps the whole segment alive: only for segments not much
     * bigger than the rows asked for (else the rows are copied below). */
    bool got = !rc, view = got && offset + n <= s->file_first + s->view.length &&
                           (s->view.length <= 4 * n || s->ce.bytes <= PQ_VIEW_BYTES) && (codes || !s->view.codes);
    if (view) rc = td_array_export_view(&s->shared->array, offset - s->file_first, n, s->shared, out, err);
    if (got && view) pq_seg_release_read(r, s, offset + n);
    else if (got) pq_seg_release(r, s);
    if (rc || view)
      return rc ? td_err_prefix(err, rc, "parquet file '%s', column '%s', row group %d: ", base->io.path,
                                base->schema.fields[col].name, g)
                : TD_OK;
  }
  bool done = false;
  int rc = codes && n > 0 && base->schema.fields[col].type == TD_TYPE_UTF8 ? read_codes(r, col, offset, n, out, &done, &g, err)
                                                                            : TD_OK;
  if (rc || done)
    return rc ? td_err_prefix(err, rc, "parquet file '%s', column '%s', row group %d: ", base->io.path,
                              base->schema.fields[col].name, g)
              : TD_OK;
  td_array a;
  rc = td_array_init(&a, base->schema.fields[col].type, n, err);
  if (!rc) rc = read_rows(r, col, offset, n, narrow, &a, &g, err);
  if (!rc) rc = td_array_export(&a, out, err);
  if (rc) {
    td_array_reset(&a);
    return td_err_prefix(err, rc, "parquet file '%s', column '%s', row group %d: ", base->io.path,
                         base->schema.fields[col].name, g);
  }
  return TD_OK;
}

static int pq_read_column(td_file_reader *base, int64_t col, int64_t offset, int64_t n,
                          struct ArrowArray *out, td_error *err) {
  return read_column(base, col, offset, n, false, out, err);
}

/* Rows inside one segment decoded to codes come back as a view of its codes
 * and dictionary; anything else as pq_read_column. */
static int pq_read_column_codes(td_file_reader *base, int64_t col, int64_t offset, int64_t n,
                                struct ArrowArray *out, td_error *err) {
  return read_column(base, col, offset, n, true, out, err);
}

static const td_chunk_stats *pq_column_stats(td_file_reader *base, int64_t col, int64_t *n) {
  pq_reader *r = (pq_reader *)base;
  *n = 0;
  if (col < 0 || col >= base->schema.n_fields) return NULL;
  pq_column *c = &r->cols[col];
  pthread_mutex_lock(&r->lock);
  bool tried = c->page_tried;
  pthread_mutex_unlock(&r->lock);
  if (!tried) load_page_stats(r, col);
  pthread_mutex_lock(&r->lock);
  const td_chunk_stats *st = c->page_stats ? c->page_stats : c->stats;
  *n = c->page_stats ? c->n_page_stats : c->n_stats;
  pthread_mutex_unlock(&r->lock);
  return st;
}

static const td_reader_vtable pq_vtable = {
    .format_name = "parquet",
    .read_column = pq_read_column,
    .read_column_codes = pq_read_column_codes,
    .refresh = NULL,
    .column_stats = pq_column_stats,
    .close = pq_close,
};
