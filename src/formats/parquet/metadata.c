/*
 * formats/parquet/metadata.c - decoding Parquet's Thrift structures
 * (FileMetaData, SchemaElement, RowGroup, ColumnChunk, Statistics,
 * PageHeader, OffsetIndex) with the compact protocol reader.
 */
#include "formats/parquet/metadata.h"

#include <string.h>

#include "formats/parquet/thrift.h"
#include "util/alloc.h"
#include "util/error.h"

/* Reads an i32-valued field into *out, failing on values out of range. */
static int32_t get_i32(tc_reader *r, int type) {
  int64_t v = tc_int(r, type);
  if (v < INT32_MIN || v > INT32_MAX) {
    tc_fail(r, "32-bit field out of range");
    return 0;
  }
  return (int32_t)v;
}

/* Visits the fields of a nested struct with `fn`; unknown ones skipped. */
typedef void (*field_fn)(tc_reader *r, int16_t id, int type, void *ctx);
static void read_struct(tc_reader *r, int type, field_fn fn, void *ctx) {
  if (type != TC_STRUCT) {
    tc_fail(r, "expected a struct field");
    return;
  }
  if (!tc_enter(r)) return;
  int16_t last = 0, id;
  int t;
  while (tc_field(r, &last, &id, &t)) fn(r, id, t, ctx);
  tc_leave(r);
}


/* ---- LogicalType ---- */

static void time_unit_field(tc_reader *r, int16_t id, int type, void *ctx) {
  *(int *)ctx = (id >= 1 && id <= 3) ? id : PQ_UNIT_NONE;
  tc_skip(r, type);
}
static void time_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_logical *l = ctx;
  if (id == 1) l->utc = tc_bool(r, type);
  else if (id == 2) read_struct(r, type, time_unit_field, &l->unit);
  else tc_skip(r, type);
}
static void int_type_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_logical *l = ctx;
  if (id == 1) l->bit_width = (int)tc_int(r, type);
  else if (id == 2) l->is_signed = tc_bool(r, type);
  else tc_skip(r, type);
}
static void decimal_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_logical *l = ctx;
  if (id == 1) l->scale = get_i32(r, type);
  else if (id == 2) l->precision = get_i32(r, type);
  else tc_skip(r, type);
}
static void logical_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_logical *l = ctx;
  l->kind = id;
  if (id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP) read_struct(r, type, time_field, l);
  else if (id == PQ_LT_INTEGER) read_struct(r, type, int_type_field, l);
  else if (id == PQ_LT_DECIMAL) read_struct(r, type, decimal_field, l);
  else tc_skip(r, type);
}

/* ---- SchemaElement ---- */

typedef struct elem_ctx {
  pq_schema_elem *e;
  const uint8_t *name;
  int32_t name_len;
  bool has_type, has_children;
} elem_ctx;

/* The smallest valid encodings of the structs decoded into arrays, so that
 * list counts are checked against what the bytes can hold before anything
 * is allocated (tc_list_min): a SchemaElement has a name (field header and
 * length: 2 bytes), a type or a child count (2) and a stop byte; a RowGroup
 * a columns list (2), total_byte_size (2), num_rows (2) and a stop; a
 * ColumnChunk its ColumnMetaData (header and stop: 2) with type, encodings,
 * path_in_schema, codec, num_values, both sizes and data_page_offset (2
 * each), and its own stop. */
#define MIN_SCHEMA_ELEM_BYTES 5
#define MIN_ROW_GROUP_BYTES 7
#define MIN_COLUMN_CHUNK_BYTES 19

static void schema_field(tc_reader *r, int16_t id, int type, void *ctx) {
  elem_ctx *c = ctx;
  pq_schema_elem *e = c->e;
  switch (id) {
    case 1:
      e->type = get_i32(r, type);
      c->has_type = true;
      break;
    case 2: e->type_length = get_i32(r, type); break;
    case 3: e->repetition = get_i32(r, type); break;
    case 4: c->name = tc_binary(r, type, &c->name_len); break;
    case 5:
      e->num_children = get_i32(r, type);
      c->has_children = true;
      break;
    case 6: e->converted = get_i32(r, type); break;
    case 7: e->scale = get_i32(r, type); break;
    case 8: e->precision = get_i32(r, type); break;
    case 10: read_struct(r, type, logical_field, &e->logical); break;
    default: tc_skip(r, type); break;
  }
}

/* ---- Statistics, ColumnMetaData, ColumnChunk, RowGroup ---- */

static void stats_field(tc_reader *r, int16_t id, int type, void *ctx) {
  struct {
    pq_stats s;
    const uint8_t *lmin, *lmax;
    int32_t lmin_len, lmax_len;
  } *c = ctx;
  switch (id) {
    case 1: c->lmax = tc_binary(r, type, &c->lmax_len); break;
    case 2: c->lmin = tc_binary(r, type, &c->lmin_len); break;
    case 3: c->s.null_count = tc_int(r, type); break;
    case 5: c->s.max = tc_binary(r, type, &c->s.max_len); break;
    case 6: c->s.min = tc_binary(r, type, &c->s.min_len); break;
    case 9: /* nan_count; a writer that put something else there is not believed */
      if (type == TC_I64 || type == TC_I32) c->s.nan_count = tc_int(r, type);
      else tc_skip(r, type);
      break;
    default: tc_skip(r, type); break;
  }
}

static void read_stats(tc_reader *r, int type, pq_stats *out) {
  struct {
    pq_stats s;
    const uint8_t *lmin, *lmax;
    int32_t lmin_len, lmax_len;
  } c;
  memset(&c, 0, sizeof c);
  c.s.null_count = c.s.nan_count = -1;
  read_struct(r, type, stats_field, &c);
  if (!c.s.min && !c.s.max && c.lmin && c.lmax) {
    c.s.min = c.lmin;
    c.s.max = c.lmax;
    c.s.min_len = c.lmin_len;
    c.s.max_len = c.lmax_len;
    c.s.legacy = true;
  }
  *out = c.s;
}

static void column_meta_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_column_chunk *c = ctx;
  switch (id) {
    case 1: c->type = get_i32(r, type); break;
    case 4: c->codec = get_i32(r, type); break;
    case 5: c->num_values = tc_int(r, type); break;
    case 6: c->total_uncompressed_size = tc_int(r, type); break;
    case 7: c->total_compressed_size = tc_int(r, type); break;
    case 9: c->data_page_offset = tc_int(r, type); break;
    case 11: c->dictionary_page_offset = tc_int(r, type); break;
    case 12: read_stats(r, type, &c->stats); break;
    default: tc_skip(r, type); break;
  }
}

static void column_chunk_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_column_chunk *c = ctx;
  switch (id) {
    case 3:
      c->has_meta = true;
      read_struct(r, type, column_meta_field, c);
      break;
    case 4: c->offset_index_offset = tc_int(r, type); break;
    case 5: c->offset_index_length = get_i32(r, type); break;
    case 6: c->column_index_offset = tc_int(r, type); break;
    case 7: c->column_index_length = get_i32(r, type); break;
    default: tc_skip(r, type); break;
  }
}

typedef struct rg_ctx {
  pq_row_group *g;
  int nomem;
} rg_ctx;

static void row_group_field(tc_reader *r, int16_t id, int type, void *ctx) {
  rg_ctx *c = ctx;
  if (id == 3) {
    c->g->num_rows = tc_int(r, type);
    return;
  }
  if (id != 1 || c->g->columns) {
    tc_skip(r, type);
    return;
  }
  int et;
  int64_t n = tc_list_min(r, type, &et, MIN_COLUMN_CHUNK_BYTES);
  if (!tc_ok(r)) return;
  if (n && et != TC_STRUCT) {
    tc_fail(r, "row group columns are not structs");
    return;
  }
  c->g->columns = td_calloc((size_t)(n ? n : 1), sizeof *c->g->columns);
  if (!c->g->columns) {
    c->nomem = 1;
    tc_fail(r, "out of memory");
    return;
  }
  c->g->n_columns = (int32_t)n;
  for (int64_t i = 0; i < n && tc_ok(r); i++) {
    pq_column_chunk *cc = &c->g->columns[i];
    cc->dictionary_page_offset = -1;
    cc->offset_index_offset = -1;
    cc->column_index_offset = -1;
    cc->type = -1;
    cc->stats.null_count = cc->stats.nan_count = -1;
    read_struct(r, TC_STRUCT, column_chunk_field, cc);
    if (tc_ok(r) && !cc->has_meta) tc_fail(r, "a column chunk has no metadata (encrypted columns are not supported)");
  }
}

/* ---- FileMetaData ---- */

typedef struct meta_ctx {
  pq_file_meta *m;
  int nomem;
} meta_ctx;

static void read_schema_list(tc_reader *r, int type, meta_ctx *c) {
  int et;
  int64_t n = tc_list_min(r, type, &et, MIN_SCHEMA_ELEM_BYTES);
  if (!tc_ok(r)) return;
  if (et != TC_STRUCT || n == 0) {
    tc_fail(r, "schema is not a non-empty list of structs");
    return;
  }
  /* The names are copied into one arena: each takes at most its encoded
   * bytes (the length varint pays for the NUL). */
  int64_t arena = r->end - r->p, used = 0;
  c->m->schema = td_calloc((size_t)n, sizeof *c->m->schema);
  c->m->names = td_malloc((size_t)arena + 1);
  if (!c->m->schema || !c->m->names) {
    c->nomem = 1;
    tc_fail(r, "out of memory");
    return;
  }
  for (int64_t i = 0; i < n && tc_ok(r); i++) {
    pq_schema_elem *e = &c->m->schema[i];
    e->type = -1;
    e->converted = -1;
    elem_ctx ec = {e, NULL, 0, false, false};
    read_struct(r, TC_STRUCT, schema_field, &ec);
    if (!tc_ok(r)) break;
    if (!ec.name || (!ec.has_type && !ec.has_children)) {
      tc_fail(r, ec.name ? "a schema element has neither a type nor children" : "a schema element has no name");
      break;
    }
    if (used + ec.name_len + 1 > arena + 1) { /* cannot happen: names lie inside the bytes */
      tc_fail(r, "schema names exceed the metadata");
      break;
    }
    e->name = c->m->names + used;
    memcpy(e->name, ec.name, (size_t)ec.name_len);
    e->name[ec.name_len] = '\0';
    used += ec.name_len + 1;
    c->m->n_schema = (int32_t)(i + 1);
  }
}

static void read_row_groups(tc_reader *r, int type, meta_ctx *c) {
  int et;
  int64_t n = tc_list_min(r, type, &et, MIN_ROW_GROUP_BYTES);
  if (!tc_ok(r)) return;
  if (n && et != TC_STRUCT) {
    tc_fail(r, "row groups are not structs");
    return;
  }
  c->m->row_groups = td_calloc((size_t)(n ? n : 1), sizeof *c->m->row_groups);
  if (!c->m->row_groups) {
    c->nomem = 1;
    tc_fail(r, "out of memory");
    return;
  }
  for (int64_t i = 0; i < n && tc_ok(r); i++) {
    rg_ctx rc = {&c->m->row_groups[i], 0};
    c->m->n_row_groups = (int32_t)(i + 1);
    read_struct(r, TC_STRUCT, row_group_field, &rc);
    if (rc.nomem) c->nomem = 1;
  }
}

/* KeyValue {1: key, 2: value}. */
typedef struct key_value {
  const uint8_t *key, *value;
  int32_t key_len, value_len;
} key_value;

static void key_value_field(tc_reader *r, int16_t id, int type, void *ctx) {
  key_value *kv = ctx;
  if (id == 1) kv->key = tc_binary(r, type, &kv->key_len);
  else if (id == 2) kv->value = tc_binary(r, type, &kv->value_len);
  else tc_skip(r, type);
}

/* key_value_metadata: keeps the value of "ARROW:schema". */
static void read_key_values(tc_reader *r, int type, meta_ctx *c) {
  int et;
  int64_t n = tc_list_min(r, type, &et, 1);
  if (!tc_ok(r)) return;
  if (n && et != TC_STRUCT) {
    tc_fail(r, "key-value metadata is not a list of structs");
    return;
  }
  static const char key[] = "ARROW:schema";
  for (int64_t i = 0; i < n && tc_ok(r); i++) {
    key_value kv = {NULL, NULL, 0, 0};
    read_struct(r, TC_STRUCT, key_value_field, &kv);
    if (kv.key && kv.value && kv.key_len == (int32_t)(sizeof key - 1) && memcmp(kv.key, key, sizeof key - 1) == 0) {
      c->m->arrow_schema = kv.value;
      c->m->arrow_schema_len = kv.value_len;
    }
  }
}

static void file_meta_field(tc_reader *r, int16_t id, int type, void *ctx) {
  meta_ctx *c = ctx;
  if (id == 2 && !c->m->schema) read_schema_list(r, type, c);
  else if (id == 3) c->m->num_rows = tc_int(r, type);
  else if (id == 4 && !c->m->row_groups) read_row_groups(r, type, c);
  else if (id == 5) read_key_values(r, type, c);
  else if (id == 6) c->m->created_by = tc_binary(r, type, &c->m->created_by_len);
  else tc_skip(r, type);
}

void pq_meta_free(pq_file_meta *m) {
  td_free(m->names);
  td_free(m->schema);
  for (int32_t i = 0; i < m->n_row_groups; i++) td_free(m->row_groups[i].columns);
  td_free(m->row_groups);
  memset(m, 0, sizeof *m);
}

int pq_meta_parse(const uint8_t *buf, int64_t n, pq_file_meta *out, td_error *err) {
  memset(out, 0, sizeof *out);
  tc_reader r;
  tc_init(&r, buf, n);
  meta_ctx c = {out, 0};
  int16_t last = 0, id;
  int t;
  while (tc_field(&r, &last, &id, &t)) file_meta_field(&r, id, t, &c);
  if (c.nomem) {
    pq_meta_free(out);
    return td_err_nomem(err, "decoding the Parquet footer");
  }
  if (!tc_ok(&r)) {
    int64_t at = r.p - r.begin;
    pq_meta_free(out);
    return td_err(err, TD_EFORMAT, "malformed footer metadata (%s, near byte %lld of %lld)",
                  r.bad, (long long)at, (long long)n);
  }
  if (!out->schema) {
    pq_meta_free(out);
    return td_err(err, TD_EFORMAT, "footer metadata has no schema");
  }
  return TD_OK;
}

/* ---- PageHeader ---- */

static void data_page_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_page_header *h = ctx;
  switch (id) {
    case 1: h->num_values = get_i32(r, type); break;
    case 2: h->encoding = get_i32(r, type); break;
    case 3: h->def_encoding = get_i32(r, type); break;
    default: tc_skip(r, type); break;
  }
}
static void dict_page_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_page_header *h = ctx;
  if (id == 1) h->num_values = get_i32(r, type);
  else if (id == 2) h->encoding = get_i32(r, type);
  else tc_skip(r, type);
}
static void data_page_v2_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_page_header *h = ctx;
  switch (id) {
    case 1: h->num_values = get_i32(r, type); break;
    case 2: h->num_nulls = get_i32(r, type); break;
    case 3: h->num_rows = get_i32(r, type); break;
    case 4: h->encoding = get_i32(r, type); break;
    case 5: h->def_len = get_i32(r, type); break;
    case 6: h->rep_len = get_i32(r, type); break;
    case 7: h->is_compressed = tc_bool(r, type); break;
    default: tc_skip(r, type); break;
  }
}
static void page_header_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_page_header *h = ctx;
  switch (id) {
    case 1: h->type = get_i32(r, type); break;
    case 2: h->uncompressed_size = get_i32(r, type); break;
    case 3: h->compressed_size = get_i32(r, type); break;
    case 5: read_struct(r, type, data_page_field, h); break;
    case 7: read_struct(r, type, dict_page_field, h); break;
    case 8: read_struct(r, type, data_page_v2_field, h); break;
    default: tc_skip(r, type); break;
  }
}

int pq_page_header_parse(const uint8_t *buf, int64_t n, pq_page_header *out, int64_t *used,
                         td_error *err) {
  memset(out, 0, sizeof *out);
  out->type = -1;
  out->is_compressed = true;
  tc_reader r;
  tc_init(&r, buf, n);
  int16_t last = 0, id;
  int t;
  while (tc_field(&r, &last, &id, &t)) page_header_field(&r, id, t, out);
  if (!tc_ok(&r))
    return td_err(err, TD_EFORMAT, "malformed page header (%s)", r.bad);
  if (out->compressed_size < 0 || out->uncompressed_size < 0 || out->num_values < 0 ||
      out->def_len < 0 || out->rep_len < 0 || out->num_rows < 0 || out->num_nulls < 0)
    return td_err(err, TD_EFORMAT, "page header has a negative size or count");
  *used = r.p - r.begin;
  return TD_OK;
}

/* ---- OffsetIndex ---- */

static void page_location_field(tc_reader *r, int16_t id, int type, void *ctx) {
  pq_page_location *l = ctx;
  if (id == 1) l->offset = tc_int(r, type);
  else if (id == 2) l->size = get_i32(r, type);
  else if (id == 3) l->first_row = tc_int(r, type);
  else tc_skip(r, type);
}

int pq_offset_index_parse(const uint8_t *buf, int64_t n, pq_page_location **locs,
                          int64_t *n_locs, td_error *err) {
  *locs = NULL;
  *n_locs = 0;
  tc_reader r;
  tc_init(&r, buf, n);
  int16_t last = 0, id;
  int t;
  pq_page_location *out = NULL;
  int64_t count = 0;
  while (tc_field(&r, &last, &id, &t)) {
    if (id != 1 || out) {
      tc_skip(&r, t);
      continue;
    }
    int et;
    count = tc_list(&r, t, &et);
    if (!tc_ok(&r)) break;
    if (et != TC_STRUCT || count == 0) {
      tc_fail(&r, "page locations are not a non-empty list of structs");
      break;
    }
    out = td_calloc((size_t)count, sizeof *out);
    if (!out) return td_err_nomem(err, "decoding an offset index");
    for (int64_t i = 0; i < count && tc_ok(&r); i++) {
      out[i].offset = -1;
      read_struct(&r, TC_STRUCT, page_location_field, &out[i]);
    }
  }
  if (!tc_ok(&r) || !out) {
    td_free(out);
    return td_err(err, TD_EFORMAT, "malformed offset index (%s)", r.bad ? r.bad : "no page locations");
  }
  *locs = out;
  *n_locs = count;
  return TD_OK;
}

/* ---- ColumnIndex ---- */

/* A list field of the ColumnIndex: its length must be the page count
 * (*count, set by the first list read). */
static int64_t index_list(tc_reader *r, int type, int want_elem, int64_t *count) {
  int et;
  int64_t n = tc_list(r, type, &et);
  if (!tc_ok(r)) return -1;
  bool bools = want_elem == TC_TRUE && (et == TC_TRUE || et == TC_FALSE);
  if ((!bools && et != want_elem) || (*count >= 0 && n != *count)) {
    tc_fail(r, "column index lists disagree in type or length");
    return -1;
  }
  *count = n;
  return n;
}

int pq_column_index_parse(const uint8_t *buf, int64_t n, pq_page_stats **pages, int64_t *n_pages,
                          td_error *err) {
  *pages = NULL;
  *n_pages = 0;
  tc_reader r;
  tc_init(&r, buf, n);
  int16_t last = 0, id;
  int t;
  int64_t count = -1;
  pq_page_stats *out = NULL;
  bool seen[6] = {false};
  while (tc_ok(&r) && tc_field(&r, &last, &id, &t)) {
    int want = id == 1 ? TC_TRUE : id == 2 || id == 3 ? TC_BINARY : id == 5 ? TC_I64 : -1;
    if (want < 0 || seen[id]) {
      tc_skip(&r, t);
      continue;
    }
    seen[id] = true;
    int64_t k = index_list(&r, t, want, &count);
    if (k < 0) break;
    if (!out) {
      out = td_calloc((size_t)(k ? k : 1), sizeof *out);
      if (!out) return td_err_nomem(err, "decoding a column index");
      for (int64_t i = 0; i < k; i++) out[i].null_count = -1;
    }
    for (int64_t i = 0; i < k && tc_ok(&r); i++) {
      pq_page_stats *ps = &out[i];
      if (id == 1) ps->null_page = tc_varint(&r) == 1; /* a list's booleans are bytes: 1 true */
      else if (id == 2) ps->min = tc_binary(&r, TC_BINARY, &ps->min_len);
      else if (id == 3) ps->max = tc_binary(&r, TC_BINARY, &ps->max_len);
      else ps->null_count = tc_zigzag(&r);
    }
  }
  if (tc_ok(&r) && (!seen[1] || !seen[2] || !seen[3] || count <= 0)) tc_fail(&r, "missing null_pages, min_values or max_values");
  if (!tc_ok(&r)) {
    td_free(out);
    return td_err(err, TD_EFORMAT, "malformed column index (%s)", r.bad);
  }
  *pages = out;
  *n_pages = count;
  return TD_OK;
}
