/*
 * backends/memory/memory.c - the in-memory backend.
 *
 * Tables hold a data schema, an optional partition schema and locations;
 * a location holds its rows as a list of appended chunks (struct arrays,
 * shared so that answers can be zero-copy views).  Small appends without
 * nulls are copied into *segments* instead: chunks whose columns have room
 * for more rows and grow in place, past the end of any view handed out
 * (readers never look there), bounded at multiples of TD_MEM_SEGMENT_ROWS
 * rows of the location.  The tail page of a live location is then one
 * view of one segment that the engine widens as rows arrive (pages/fetch.c)
 * instead of copying the page at every append.  One mutex guards
 * everything; answers are sent after it is released, except subscription
 * notifications, which are sent under it so that they reach subscribers in
 * the order the changes happened (answers never call back into a backend).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "backend/request_list.h"
#include "keys/key_index.h"
#include "tabledata/memory_backend.h"
#include "util/alloc.h"
#include "util/error.h"

/* Segments end at multiples of this many rows of a location: the default
 * page size, so that each page of a live location lies in one segment. */
#define TD_MEM_SEGMENT_ROWS 65536

/* A segment's columns: room for `cap` rows, never reallocated (views of
 * them are out); the chunk's struct array and its children point here. */
typedef struct mem_seg {
  int64_t n_cols, cap;
  td_array *cols;              /* engine layout: large types narrowed */
  struct ArrowArray *kids;     /* the struct's children, lengths kept up */
  struct ArrowArray **kid_ptrs;
  const void **bufs;           /* 3 per column */
  const void *root_buf;        /* the struct's (absent) validity */
} mem_seg;

typedef struct mem_chunk {
  td_shared_array *data; /* struct array: one child per data column */
  int64_t start;         /* first row of the chunk within the location */
  mem_seg *seg;          /* a segment (data's private data), else NULL */
} mem_chunk;


typedef struct mem_location {
  td_location_key *key;
  mem_chunk *chunks;
  int64_t n_chunks, cap_chunks;
  int64_t size;
  td_request_list size_subs;
} mem_location;

typedef struct mem_table {
  char *name;
  td_schema data, part;
  bool has_part;
  mem_location **locs;
  int64_t n_locs, cap_locs;
  td_key_index index;
  td_request_list loc_subs;
  td_update_mode mode; /* declared in the schema answer */
} mem_table;

/* Where a live subscription is listed, so that unsubscribe finds it in
 * O(1) whatever the number of locations. */
typedef struct sub_slot {
  struct td_service *service;
  uint64_t id;             /* 0: empty */
  td_request_list *list;   /* NULL: removed (a tombstone) */
} sub_slot;

struct td_memory_backend {
  _Atomic int64_t refs;
  pthread_mutex_t lock;
  mem_table **tables;
  int64_t n_tables;
  sub_slot *subs;
  int64_t subs_cap, subs_used; /* used: live slots and tombstones */
};

/* ---- housekeeping ---- */

static const td_location_key *mem_key_of(const void *item) { return ((const mem_location *)item)->key; }

static void location_free(mem_location *l) {
  for (int64_t i = 0; i < l->n_chunks; i++) td_shared_array_release(l->chunks[i].data);
  td_free(l->chunks);
  td_request_list_reset(&l->size_subs);
  td_location_key_release(l->key);
  td_free(l);
}

static void table_free(mem_table *t) {
  for (int64_t i = 0; i < t->n_locs; i++) location_free(t->locs[i]);
  td_free(t->locs);
  td_key_index_reset(&t->index);
  td_request_list_reset(&t->loc_subs);
  td_schema_reset(&t->data);
  td_schema_reset(&t->part);
  td_free(t->name);
  td_free(t);
}

int td_memory_backend_new(td_memory_backend **out, td_error *err) {
  if (!out) return td_err(err, TD_EINVAL, "td_memory_backend_new needs an out pointer");
  td_memory_backend *mb = td_calloc(1, sizeof *mb);
  *out = NULL;
  if (!mb) return td_err_nomem(err, "creating a memory backend");
  atomic_init(&mb->refs, 1);
  pthread_mutex_init(&mb->lock, NULL);
  *out = mb;
  return TD_OK;
}

td_memory_backend *td_memory_backend_retain(td_memory_backend *mb) {
  if (mb) atomic_fetch_add(&mb->refs, 1);
  return mb;
}

void td_memory_backend_release(td_memory_backend *mb) {
  if (!mb || atomic_fetch_sub(&mb->refs, 1) != 1) return;
  for (int64_t i = 0; i < mb->n_tables; i++) table_free(mb->tables[i]);
  td_free(mb->tables);
  td_free(mb->subs);
  pthread_mutex_destroy(&mb->lock);
  td_free(mb);
}

static mem_table *find_table(td_memory_backend *mb, const char *name) {
  for (int64_t i = 0; i < mb->n_tables; i++)
    if (strcmp(mb->tables[i]->name, name) == 0) return mb->tables[i];
  return NULL;
}

int td_memory_backend_add_table(td_memory_backend *mb, const char *name,
                                const struct ArrowSchema *data_schema,
                                const struct ArrowSchema *partition_schema, td_error *err) {
  if (!mb || !name || !data_schema) return td_err(err, TD_EINVAL, "a table needs a backend, a name and a data schema");
  mem_table *t = td_calloc(1, sizeof *t);
  if (!t || !(t->name = td_strdup(name))) {
    td_free(t);
    return td_err_nomem(err, "adding a table");
  }
  td_key_index_init(&t->index, mem_key_of);
  int rc = td_schema_import(data_schema, &t->data, err);
  if (rc == TD_OK && partition_schema && partition_schema->release) {
    t->has_part = true;
    rc = td_schema_import(partition_schema, &t->part, err);
  }
  if (rc) {
    table_free(t);
    return td_err_prefix(err, rc, "table '%s': ", name);
  }
  pthread_mutex_lock(&mb->lock);
  mem_table **nt = NULL;
  if (find_table(mb, name)) rc = td_err(err, TD_EINVAL, "table '%s' exists already", name);
  else if (!(nt = td_realloc(mb->tables, (size_t)(mb->n_tables + 1) * sizeof *nt)))
    rc = td_err_nomem(err, "adding a table");
  if (rc == TD_OK) {
    mb->tables = nt;
    mb->tables[mb->n_tables++] = t;
  }
  pthread_mutex_unlock(&mb->lock);
  if (rc) table_free(t);
  return rc;
}

/* Data that does not fit the schema is the caller's mistake: TD_EINVAL, as
 * memory_backend.h says, whatever code the check gave (and with or without
 * `err`: td_err_prefix keeps the check's code). */
static int invalid_data(int rc, td_error *err) {
  int code = rc == TD_ENOMEM ? TD_ENOMEM : TD_EINVAL;
  if (err) err->code = code;
  return code;
}

/* Checks that `data` is a struct array matching the table's data schema. */
static int check_data(const mem_table *t, const struct ArrowArray *data, td_error *err) {
  int rc = td_struct_validate(data, err);
  if (rc) return invalid_data(td_err_prefix(err, rc, "table '%s': ", t->name), err);
  if (data->n_children != t->data.n_fields)
    return td_err(err, TD_EINVAL, "table '%s': expected data with %lld columns, got %lld", t->name,
                  (long long)t->data.n_fields, (long long)data->n_children);
  for (int64_t i = 0; i < t->data.n_fields; i++) {
    const struct ArrowArray *c = data->children[i];
    rc = td_array_validate(t->data.fields[i].type, c, err);
    if (rc) return invalid_data(td_err_prefix(err, rc, "table '%s', column '%s': ", t->name, t->data.fields[i].name), err);
    if (c->length < data->offset + data->length)
      return td_err(err, TD_EINVAL, "table '%s', column '%s': %lld rows, expected %lld", t->name,
                    t->data.fields[i].name, (long long)(c->length - data->offset), (long long)data->length);
  }
  return TD_OK;
}

/* Checks a key's partition values against the partition schema. */
static int check_key(const mem_table *t, const td_location_key *key, td_error *err) {
  if (!t->has_part) return TD_OK; /* values of unpartitioned tables are ignored */
  int64_t n = td_location_key_partition_count(key);
  for (int64_t i = 0; i < n; i++) {
    const char *name = td_location_key_partition_name(key, i);
    const td_value *v = td_location_key_partition_value(key, i);
    int64_t j = td_schema_find(&t->part, name);
    if (j < 0)
      return td_err(err, TD_EINVAL, "table '%s': '%s' is not a partition column", t->name, name);
    if (!v->is_null && v->type != t->part.fields[j].type)
      return td_err(err, TD_EINVAL, "table '%s': partition column '%s' is %s, got a %s value", t->name, name,
                    td_type_name(t->part.fields[j].type), td_type_name(v->type));
  }
  return TD_OK;
}

static sub_slot *sub_find(td_memory_backend *mb, td_request r);

/* Under the lock: tells every subscriber in `list` about a new location
 * (`key`) or size.  A subscription the engine no longer takes (it failed:
 * the engine never unsubscribes those) is dropped, so dead ones neither
 * pile up nor get told again. */
static void notify(td_memory_backend *mb, td_request_list *list, td_location_key *key, int64_t size) {
  for (int64_t i = list->n - 1; i >= 0; i--) {
    td_request r = list->reqs[i];
    int rc = key ? td_answer_location(r, key, NULL) : td_answer_size(r, size, NULL);
    if (rc == TD_ESTATE) {
      td_request_list_remove(list, r);
      sub_slot *s = sub_find(mb, r);
      if (s) s->list = NULL;
    }
  }
}

/* A checked batch whose rows are null at the struct level becomes one
 * without struct nulls (those rows null in every column); takes `data`. */
static int fold_struct_nulls(const mem_table *t, struct ArrowArray *data, td_error *err) {
  if (!td_struct_has_nulls(data)) return TD_OK;
  int64_t n = data->n_children, length = data->length;
  struct ArrowArray *cols = td_calloc((size_t)n + 1, sizeof *cols);
  td_shared_array *owner;
  if (!cols) {
    td_arrow_array_release(data);
    return td_err_nomem(err, "appending rows");
  }
  int rc = td_shared_array_new(data, &owner, err);
  int64_t done = 0;
  for (; rc == TD_OK && done < n; done++)
    rc = td_struct_child_export(&owner->array, done, t->data.fields[done].type, owner, &cols[done], err);
  td_shared_array_release(owner);
  if (rc == TD_OK) rc = td_struct_array_make(n, cols, length, data, err);
  else
    for (int64_t i = 0; i < done; i++) td_arrow_array_release(&cols[i]);
  td_free(cols);
  return rc;
}

/* Under the lock: adds a chunk at the location's end (takes `sa`). */
static int push_chunk(mem_location *l, td_shared_array *sa, mem_seg *seg, td_error *err) {
  if (l->n_chunks == l->cap_chunks) {
    int64_t cap = l->cap_chunks ? l->cap_chunks * 2 : 4;
    mem_chunk *c = td_realloc(l->chunks, (size_t)cap * sizeof *c);
    if (!c) {
      td_shared_array_release(sa);
      return td_err_nomem(err, "appending rows");
    }
    l->chunks = c;
    l->cap_chunks = cap;
  }
  l->chunks[l->n_chunks++] = (mem_chunk){sa, l->size, seg};
  return TD_OK;
}

/* ---- segments ---- */

static void seg_kid_release(struct ArrowArray *a) {
  if (a) a->release = NULL; /* the segment owns the buffers */
}

static void seg_release(struct ArrowArray *a) {
  if (!a || !a->release) return;
  mem_seg *g = a->private_data;
  for (int64_t i = 0; g->cols && i < g->n_cols; i++) td_array_reset(&g->cols[i]);
  td_free(g->cols);
  td_free(g->kids);
  td_free(g->kid_ptrs);
  td_free(g->bufs);
  td_free(g);
  a->release = NULL;
}

/* Types whose rows are appended without touching the bytes of earlier rows
 * (bool packs eight rows a byte). */
static bool seg_type(td_type_id t) { return td_type_is_varlen(t) || (t != TD_TYPE_BOOL && td_type_width(t) > 0); }

/* A checked batch (large columns narrowed, struct nulls folded) goes into
 * segments: fewer rows than a segment, no nulls, no dictionaries. */
static bool seg_takes(const mem_table *t, const struct ArrowArray *data) {
  if (data->length >= TD_MEM_SEGMENT_ROWS || t->data.n_fields == 0) return false; /* big batches stay zero-copy */
  for (int64_t i = 0; i < t->data.n_fields; i++) {
    const struct ArrowArray *c = data->children[i];
    if (!seg_type(t->data.fields[i].type) || c->dictionary) return false;
    if (c->null_count != 0 && c->n_buffers > 0 && c->buffers[0] &&
        td_bits_count(c->buffers[0], c->offset + data->offset, data->length) != data->length)
      return false;
  }
  return true;
}

/* Bytes of rows [from, from + n) of varlen column v (batch row offset `o`). */
static int64_t seg_bytes(const td_colview *v, int64_t o, int64_t from, int64_t n) {
  int64_t b = v->offset + o + from;
  return v->offsets[b + n] - v->offsets[b];
}

/* How many of the n rows from `from` of `data` fit in segment g. */
static int64_t seg_room(const mem_table *t, const mem_seg *g, const struct ArrowArray *data, int64_t from,
                        int64_t n) {
  int64_t k = g->cap - g->cols[0].length < n ? g->cap - g->cols[0].length : n;
  for (int64_t i = 0; k > 0 && i < t->data.n_fields; i++) {
    const td_array *a = &g->cols[i];
    td_colview v;
    if (!td_type_is_varlen(a->type) || td_colview_init(&v, a->type, data->children[i], NULL) != TD_OK) continue;
    int64_t room = a->data_capacity - a->data_length, lo = 0, hi = k;
    while (lo < hi) { /* the most rows whose bytes fit */
      int64_t mid = lo + (hi - lo + 1) / 2;
      if (seg_bytes(&v, data->offset, from, mid) <= room) lo = mid;
      else hi = mid - 1;
    }
    k = lo;
  }
  return k;
}

/* A new segment at the location's end, with room for at least the first of
 * the n rows from `from` of `data`: up to the next multiple of
 * TD_MEM_SEGMENT_ROWS, but no more than the location has rows or 16 such
 * batches hold (so that small locations stay small; room is doubled as
 * they grow); string data for twice the batch's bytes a row, at least 16. */
static int seg_new(const mem_table *t, mem_location *l, const struct ArrowArray *data, int64_t from, int64_t n,
                   td_error *err) {
  int64_t r = l->size, end = (r / TD_MEM_SEGMENT_ROWS + 1) * TD_MEM_SEGMENT_ROWS;
  int64_t cap = 16 * n > r ? 16 * n : r;
  if (cap < 1024) cap = 1024;
  if (cap > end - r) cap = end - r;
  int64_t nc = t->data.n_fields, k = n < cap ? n : cap;
  mem_seg *g = td_calloc(1, sizeof *g);
  if (!g) return td_err_nomem(err, "appending rows");
  g->n_cols = nc;
  g->cap = cap;
  g->cols = td_calloc((size_t)nc + 1, sizeof *g->cols);
  g->kids = td_calloc((size_t)nc + 1, sizeof *g->kids);
  g->kid_ptrs = td_calloc((size_t)nc + 1, sizeof *g->kid_ptrs);
  g->bufs = td_calloc(3 * (size_t)nc + 1, sizeof *g->bufs);
  struct ArrowArray root = {0};
  root.n_buffers = 1;
  root.buffers = &g->root_buf;
  root.n_children = nc;
  root.children = g->kid_ptrs;
  root.private_data = g;
  root.release = seg_release;
  int rc = g->cols && g->kids && g->kid_ptrs && g->bufs ? TD_OK : td_err_nomem(err, "appending rows");
  for (int64_t i = 0; rc == TD_OK && i < nc; i++) {
    td_array *a = &g->cols[i];
    rc = td_array_init(a, td_type_small(t->data.fields[i].type), cap, err);
    if (rc == TD_OK && td_type_is_varlen(a->type)) {
      td_colview v;
      rc = td_colview_init(&v, a->type, data->children[i], err);
      int64_t bytes = rc == TD_OK ? seg_bytes(&v, data->offset, from, k) : 0;
      int64_t per = 2 * bytes / (k ? k : 1);
      if (rc == TD_OK) rc = td_array_reserve_data(a, cap * (per > 16 ? per : 16) + bytes + 64, err);
    }
    struct ArrowArray *kid = &g->kids[i];
    kid->n_buffers = td_type_is_varlen(a->type) ? 3 : 2;
    kid->buffers = &g->bufs[3 * i];
    g->bufs[3 * i + 1] = td_type_is_varlen(a->type) ? (const void *)a->offsets : (const void *)a->values;
    g->bufs[3 * i + 2] = a->data;
    kid->release = seg_kid_release;
    g->kid_ptrs[i] = kid;
  }
  if (rc) {
    seg_release(&root);
    return rc;
  }
  td_shared_array *sa;
  if ((rc = td_shared_array_new(&root, &sa, err)) != TD_OK) return rc;
  return push_chunk(l, sa, g, err);
}

/* Copies rows [from, from + k) of `data` into the segment of chunk c. */
static int seg_put(mem_chunk *c, const struct ArrowArray *data, int64_t from, int64_t k, td_error *err) {
  mem_seg *g = c->seg;
  int rc = TD_OK;
  for (int64_t i = 0; rc == TD_OK && i < g->n_cols; i++) {
    td_colview v;
    rc = td_colview_init(&v, g->cols[i].type, data->children[i], err);
    if (rc == TD_OK) rc = td_array_append_view(&g->cols[i], &v, data->offset + from, k, err); /* fits: no realloc */
    g->kids[i].length = g->cols[i].length;
  }
  c->data->array.length = g->cols[0].length;
  return rc;
}

/* Cuts chunk c's segment back to `rows` (rows no view has seen). */
static void seg_truncate(mem_chunk *c, int64_t rows) {
  mem_seg *g = c->seg;
  for (int64_t i = 0; i < g->n_cols; i++) {
    td_array *a = &g->cols[i];
    a->length = rows;
    if (td_type_is_varlen(a->type)) a->data_length = a->offsets[rows];
    g->kids[i].length = rows;
  }
  c->data->array.length = rows;
}

/* Under the lock: copies a batch into the location's segments (takes
 * `data`); all or nothing. */
static int seg_append(const mem_table *t, mem_location *l, struct ArrowArray *data, td_error *err) {
  int64_t n_chunks = l->n_chunks, size = l->size;
  mem_chunk *tail = n_chunks ? &l->chunks[n_chunks - 1] : NULL;
  int64_t tail_rows = tail && tail->seg ? tail->data->array.length : -1;
  int rc = TD_OK;
  for (int64_t from = 0; rc == TD_OK && from < data->length;) {
    mem_chunk *c = l->n_chunks ? &l->chunks[l->n_chunks - 1] : NULL;
    int64_t k = c && c->seg ? seg_room(t, c->seg, data, from, data->length - from) : 0;
    if (k == 0) {
      rc = seg_new(t, l, data, from, data->length - from, err);
      continue;
    }
    rc = seg_put(c, data, from, k, err);
    from += k;
    l->size += k;
  }
  if (rc) { /* undo: the rows were never visible */
    for (int64_t i = n_chunks; i < l->n_chunks; i++) td_shared_array_release(l->chunks[i].data);
    l->n_chunks = n_chunks;
    l->size = size;
    if (tail_rows >= 0) seg_truncate(&l->chunks[n_chunks - 1], tail_rows);
  }
  td_arrow_array_release(data);
  return rc;
}

/* Under the lock: appends a chunk (takes `data`); `small` rows may be
 * copied into segments. */
static int append_chunk(const mem_table *t, mem_location *l, struct ArrowArray *data, bool small, td_error *err) {
  if (data->length == 0) {
    td_arrow_array_release(data);
    return TD_OK;
  }
  for (int64_t i = 0; i < t->data.n_fields; i++) /* large strings: stored with 32-bit offsets */
    if (td_type_is_large(t->data.fields[i].type)) {
      int nrc = td_array_narrow_in_place(t->data.fields[i].type, data->children[i], err);
      if (nrc) {
        td_arrow_array_release(data);
        return td_err_prefix(err, nrc, "table '%s', column '%s': ", t->name, t->data.fields[i].name);
      }
    }
  int frc = fold_struct_nulls(t, data, err);
  if (frc) return frc;
  if (small && seg_takes(t, data)) return seg_append(t, l, data, err);
  int64_t rows = data->length;
  td_shared_array *sa;
  int rc = td_shared_array_new(data, &sa, err);
  if (rc) return rc;
  for (int64_t i = 0; i < t->data.n_fields; i++) /* what its views keep alive */
    sa->bytes += td_array_extent_bytes(t->data.fields[i].type, sa->array.children[i]);
  if ((rc = push_chunk(l, sa, NULL, err)) == TD_OK) l->size += rows;
  return rc;
}

int td_memory_backend_add_location(td_memory_backend *mb, const char *table, td_location_key *key,
                                   struct ArrowArray *data, td_error *err) {
  struct ArrowArray d = {0};
  if (data && data->release) td_arrow_array_move(data, &d);
  if (!mb || !table || !key) {
    td_arrow_array_release(&d);
    return td_err(err, TD_EINVAL, "a location needs a backend, a table name and a key");
  }
  pthread_mutex_lock(&mb->lock);
  mem_table *t = find_table(mb, table);
  mem_location *l = NULL;
  int rc = TD_OK;
  if (!t) rc = td_err(err, TD_ENOTFOUND, "no table '%s'", table);
  else if (td_key_index_get(&t->index, key)) {
    char k[256];
    td_location_key_format(key, k, sizeof k);
    rc = td_err(err, TD_EINVAL, "table '%s': location '%s' exists already", table, k);
  } else if ((rc = check_key(t, key, err)) == TD_OK && (!d.release || (rc = check_data(t, &d, err)) == TD_OK)) {
    l = td_calloc(1, sizeof *l);
    mem_location **nl = NULL;
    if (!l || (t->n_locs == t->cap_locs &&
               !(nl = td_realloc(t->locs, (size_t)(t->cap_locs ? t->cap_locs * 2 : 16) * sizeof *nl)))) {
      rc = td_err_nomem(err, "adding a location");
    } else {
      if (nl) {
        t->locs = nl;
        t->cap_locs = t->cap_locs ? t->cap_locs * 2 : 16;
      }
      l->key = td_location_key_retain(key);
      if (td_key_index_put(&t->index, l) != TD_OK) rc = td_err_nomem(err, "adding a location");
    }
    if (rc == TD_OK) {
      t->locs[t->n_locs++] = l;
      if (d.release) rc = append_chunk(t, l, &d, false, err); /* cannot fail but for memory */
      notify(mb, &t->loc_subs, key, 0);
      l = NULL;
    }
  }
  pthread_mutex_unlock(&mb->lock);
  if (l) location_free(l);
  td_arrow_array_release(&d);
  return rc;
}

int td_memory_backend_append(td_memory_backend *mb, const char *table, const td_location_key *key,
                             struct ArrowArray *data, td_error *err) {
  struct ArrowArray d = {0};
  if (data && data->release) td_arrow_array_move(data, &d);
  if (!mb || !table || !d.release || !key) {
    td_arrow_array_release(&d); /* taken even on failure */
    return td_err(err, TD_EINVAL, "an append needs a backend, a table name, a location key and data");
  }
  pthread_mutex_lock(&mb->lock);
  mem_table *t = find_table(mb, table);
  mem_location *l = t ? td_key_index_get(&t->index, key) : NULL;
  int rc = TD_OK;
  if (!t) rc = td_err(err, TD_ENOTFOUND, "no table '%s'", table);
  else if (!l) {
    char k[256];
    td_location_key_format(key, k, sizeof k);
    rc = td_err(err, TD_ENOTFOUND, "table '%s' has no location '%s'", table, k);
  } else if ((rc = check_data(t, &d, err)) == TD_OK) {
    int64_t before = l->size;
    rc = append_chunk(t, l, &d, true, err);
    if (rc == TD_OK && l->size != before) notify(mb, &l->size_subs, NULL, l->size);
  }
  pthread_mutex_unlock(&mb->lock);
  td_arrow_array_release(&d);
  return rc;
}

int64_t td_memory_backend_location_size(td_memory_backend *mb, const char *table,
                                        const td_location_key *key) {
  if (!mb || !table || !key) return -1;
  pthread_mutex_lock(&mb->lock);
  mem_table *t = find_table(mb, table);
  mem_location *l = t ? td_key_index_get(&t->index, key) : NULL;
  int64_t n = l ? l->size : -1;
  pthread_mutex_unlock(&mb->lock);
  return n;
}

/* ---- the subscription index (under the lock) ---- */

static uint64_t sub_hash(td_request r) {
  uint64_t h = (r.id ^ (uint64_t)(uintptr_t)r.service) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 31);
}

static sub_slot *sub_find(td_memory_backend *mb, td_request r) {
  if (!mb->subs_cap) return NULL;
  uint64_t mask = (uint64_t)mb->subs_cap - 1;
  for (uint64_t k = sub_hash(r) & mask; mb->subs[k].id; k = (k + 1) & mask)
    if (mb->subs[k].id == r.id && mb->subs[k].service == r.service) return &mb->subs[k];
  return NULL;
}

static void sub_place(sub_slot *slots, int64_t cap, sub_slot s) {
  uint64_t mask = (uint64_t)cap - 1, k = sub_hash((td_request){s.service, s.id}) & mask;
  while (slots[k].id) k = (k + 1) & mask;
  slots[k] = s;
}

/* Lists `sub` in `list` and indexes it. */
static int sub_add(td_memory_backend *mb, td_request_list *list, td_request sub) {
  if ((mb->subs_used + 1) * 2 > mb->subs_cap) {
    int64_t live = 0;
    for (int64_t i = 0; i < mb->subs_cap; i++) live += mb->subs[i].list != NULL;
    int64_t cap = 64;
    while (cap < (live + 1) * 4) cap *= 2;
    sub_slot *ns = td_calloc((size_t)cap, sizeof *ns);
    if (!ns) return TD_ENOMEM;
    for (int64_t i = 0; i < mb->subs_cap; i++)
      if (mb->subs[i].list) sub_place(ns, cap, mb->subs[i]);
    td_free(mb->subs);
    mb->subs = ns;
    mb->subs_cap = cap;
    mb->subs_used = live;
  }
  if (td_request_list_add(list, sub) != TD_OK) return TD_ENOMEM;
  sub_place(mb->subs, mb->subs_cap, (sub_slot){sub.service, sub.id, list});
  mb->subs_used++;
  return TD_OK;
}

/* ---- the backend methods ---- */

/* Under the lock: finds table and location or answers a failure. */
static bool lookup(td_memory_backend *mb, const td_table_key *tk, const td_location_key *lk,
                   mem_table **t, mem_location **l, char *why, size_t why_size) {
  *t = find_table(mb, td_table_key_name(tk));
  if (!*t) {
    snprintf(why, why_size, "table '%s' does not exist", td_table_key_name(tk));
    return false;
  }
  if (!lk) return true;
  *l = td_key_index_get(&(*t)->index, lk);
  if (!*l) {
    char k[256];
    td_location_key_format(lk, k, sizeof k);
    snprintf(why, why_size, "location '%s' does not exist in table '%s'", k, td_table_key_name(tk));
    return false;
  }
  return true;
}

int td_memory_backend_set_update_mode(td_memory_backend *mb, const char *table, td_update_mode mode,
                                      td_error *err) {
  if (!mb || !table) return td_err(err, TD_EINVAL, "setting an update mode needs a backend and a table name");
  if (mode < TD_UPDATE_ADD_ONLY || mode > TD_UPDATE_ADD_REMOVE)
    return td_err(err, TD_EINVAL, "unknown update mode %d", (int)mode);
  pthread_mutex_lock(&mb->lock);
  mem_table *t = find_table(mb, table);
  if (t) t->mode = mode;
  pthread_mutex_unlock(&mb->lock);
  return t ? TD_OK : td_err(err, TD_ENOTFOUND, "no table '%s'", table);
}

int td_memory_backend_remove_location(td_memory_backend *mb, const char *table, const td_location_key *key,
                                      td_error *err) {
  if (!mb || !table || !key) return td_err(err, TD_EINVAL, "removing a location needs a backend, a table name and its key");
  pthread_mutex_lock(&mb->lock);
  mem_table *t = find_table(mb, table);
  mem_location *l = t ? td_key_index_remove(&t->index, key) : NULL;
  int rc = TD_OK;
  if (!t) rc = td_err(err, TD_ENOTFOUND, "no table '%s'", table);
  else if (!l) {
    char k[256];
    td_location_key_format(key, k, sizeof k);
    rc = td_err(err, TD_ENOTFOUND, "table '%s' has no location '%s'", table, k);
  } else {
    for (int64_t i = 0; i < t->n_locs; i++) {
      if (t->locs[i] == l) {
        memmove(&t->locs[i], &t->locs[i + 1], (size_t)(t->n_locs - i - 1) * sizeof *t->locs);
        t->n_locs--;
        break;
      }
    }
    /* Its size subscriptions end here: unsubscribe must not find the list. */
    for (int64_t i = 0; i < l->size_subs.n; i++) {
      sub_slot *ss = sub_find(mb, l->size_subs.reqs[i]);
      if (ss) ss->list = NULL;
    }
    for (int64_t i = t->loc_subs.n - 1; i >= 0; i--) {
      td_request r = t->loc_subs.reqs[i];
      td_error e;
      int arc = td_answer_location_removed(r, l->key, &e);
      if (arc == TD_ESTATE || arc == TD_ECONTRACT) { /* dead, or failed by this answer */
        td_request_list_remove(&t->loc_subs, r);
        sub_slot *ss = sub_find(mb, r);
        if (ss) ss->list = NULL;
      }
      if (arc == TD_ECONTRACT && rc == TD_OK) rc = td_err(err, arc, "%s", e.message);
    }
    location_free(l);
  }
  pthread_mutex_unlock(&mb->lock);
  return rc;
}

static void m_table_schema(void *self, const td_table_key *tk, td_request req) {
  td_memory_backend *mb = self;
  struct ArrowSchema ds = {0}, ps = {0};
  char why[512];
  mem_table *t;
  mem_location *l;
  pthread_mutex_lock(&mb->lock);
  bool ok = lookup(mb, tk, NULL, &t, &l, why, sizeof why);
  int rc = TD_OK;
  td_error e;
  if (ok) rc = td_schema_export(&t->data, &ds, &e);
  if (ok && rc == TD_OK && t->has_part) rc = td_schema_export(&t->part, &ps, &e);
  pthread_mutex_unlock(&mb->lock);
  if (!ok) td_answer_failure(req, why, NULL);
  else if (rc) {
    td_arrow_schema_release(&ds);
    td_answer_failure(req, e.message, NULL);
  } else td_answer_schema_mode(req, &ds, ps.release ? &ps : NULL, t->mode, NULL);
}

static void m_table_locations(void *self, const td_table_key *tk, td_request req) {
  td_memory_backend *mb = self;
  char why[512];
  mem_table *t;
  mem_location *l;
  pthread_mutex_lock(&mb->lock);
  bool ok = lookup(mb, tk, NULL, &t, &l, why, sizeof why);
  if (ok)
    for (int64_t i = 0; i < t->n_locs; i++) td_answer_location(req, t->locs[i]->key, NULL);
  pthread_mutex_unlock(&mb->lock);
  if (ok) td_answer_success(req, NULL);
  else td_answer_failure(req, why, NULL);
}

static void m_location_size(void *self, const td_table_key *tk, const td_location_key *lk, td_request req) {
  td_memory_backend *mb = self;
  char why[512];
  mem_table *t;
  mem_location *l;
  pthread_mutex_lock(&mb->lock);
  bool ok = lookup(mb, tk, lk, &t, &l, why, sizeof why);
  int64_t size = ok ? l->size : 0;
  pthread_mutex_unlock(&mb->lock);
  if (ok) td_answer_size(req, size, NULL);
  else td_answer_failure(req, why, NULL);
}

static int64_t chunk_of(const mem_location *l, int64_t row) {
  int64_t lo = 0, hi = l->n_chunks - 1;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (l->chunks[mid].start <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

static void lease_release(struct ArrowArray *a) {
  if (!a || !a->release) return;
  td_shared_array_release(a->private_data);
  a->release = NULL;
}

/* Rows [begin, begin + n) of column `col` of segment chunk c, as a view
 * owned by a *lease*: a shared array of its own that keeps the segment
 * alive and records what the view reaches (this column, from the
 * segment's first row to the view's last), so that the page cache charges
 * a page of a growing segment for the rows it holds, not for the room
 * still empty (nor copies it as a few rows of a big buffer). */
static int lease_view(const mem_chunk *c, td_type_id type, int64_t col, int64_t begin, int64_t n,
                      struct ArrowArray *out, td_error *err) {
  struct ArrowArray la = {0};
  la.private_data = td_shared_array_retain(c->data);
  la.release = lease_release;
  td_shared_array *lease;
  int rc = td_shared_array_new(&la, &lease, err);
  if (rc) return rc;
  rc = td_array_export_view(c->data->array.children[col], begin, n, lease, out, err);
  if (rc == TD_OK) lease->bytes = td_array_extent_bytes(type, out);
  td_shared_array_release(lease); /* the view holds it */
  return rc;
}

/* Under the lock: rows [offset, offset + n) of column `col`, zero-copy when
 * they lie in one chunk. */
static int slice_column(const mem_table *t, const mem_location *l, int64_t col, int64_t offset,
                        int64_t min_rows, int64_t max_rows, struct ArrowArray *out, td_error *err) {
  td_type_id type = t->data.fields[col].type;
  int64_t k = chunk_of(l, offset);
  const mem_chunk *ch = &l->chunks[k];
  const struct ArrowArray *sa = &ch->data->array;
  int64_t chunk_end = ch->start + sa->length;
  if (offset + min_rows <= chunk_end) {
    int64_t n = chunk_end - offset < max_rows ? chunk_end - offset : max_rows;
    if (ch->seg) return lease_view(ch, ch->seg->cols[col].type, col, offset - ch->start, n, out, err);
    return td_array_export_view(sa->children[col], sa->offset + (offset - ch->start), n, ch->data, out, err);
  }
  int64_t want = l->size - offset < max_rows ? l->size - offset : max_rows;
  td_array a;
  int rc = td_array_init(&a, type, want, err);
  for (int64_t done = 0; rc == TD_OK && done < want; k++) {
    ch = &l->chunks[k];
    sa = &ch->data->array;
    td_colview v;
    rc = td_colview_init(&v, type, sa->children[col], err);
    int64_t from = offset + done - ch->start;
    int64_t n = sa->length - from < want - done ? sa->length - from : want - done;
    if (rc == TD_OK) rc = td_array_append_view(&a, &v, sa->offset + from, n, err);
    done += n;
  }
  if (rc == TD_OK) rc = td_array_export(&a, out, err);
  td_array_reset(&a);
  return rc;
}

static int empty_column(td_type_id type, struct ArrowArray *out, td_error *err) {
  td_array a;
  int rc = td_array_init(&a, type, 0, err);
  if (rc == TD_OK) rc = td_array_export(&a, out, err);
  td_array_reset(&a);
  return rc;
}

static void m_column_values(void *self, const td_table_key *tk, const td_location_key *lk,
                            const char *column, int64_t offset, int64_t min_rows, int64_t max_rows,
                            td_request req) {
  td_memory_backend *mb = self;
  char why[TD_ERROR_MESSAGE_SIZE + 64];
  mem_table *t;
  mem_location *l;
  struct ArrowSchema sch = {0};
  struct ArrowArray arr = {0};
  td_error e;
  pthread_mutex_lock(&mb->lock);
  bool ok = lookup(mb, tk, lk, &t, &l, why, sizeof why);
  int64_t col = ok ? td_schema_find(&t->data, column) : -1;
  if (ok && col < 0) {
    ok = false;
    snprintf(why, sizeof why, "table '%s' has no column '%s'", t->name, column);
  } else if (ok && (offset < 0 || min_rows < 0 || offset + min_rows > l->size)) {
    ok = false;
    snprintf(why, sizeof why, "rows [%lld, %lld) of column '%s' are beyond the location's %lld rows",
             (long long)offset, (long long)(offset + min_rows), column, (long long)l->size);
  }
  td_field layout = ok ? t->data.fields[col] : (td_field){0};
  layout.type = td_type_small(layout.type); /* pages of large strings have 32-bit offsets */
  if (ok && (td_field_export(&layout, &sch, &e) != TD_OK ||
             (offset < l->size ? slice_column(t, l, col, offset, min_rows, max_rows, &arr, &e)
                               : empty_column(t->data.fields[col].type, &arr, &e)) != TD_OK)) {
    ok = false;
    snprintf(why, sizeof why, "%s", e.message);
  }
  pthread_mutex_unlock(&mb->lock);
  if (ok) td_answer_values(req, &sch, &arr, NULL);
  else {
    td_arrow_schema_release(&sch);
    td_arrow_array_release(&arr);
    td_answer_failure(req, why, NULL);
  }
}

static void m_subscribe_locations(void *self, const td_table_key *tk, td_request sub) {
  td_memory_backend *mb = self;
  char why[512];
  mem_table *t;
  mem_location *l;
  pthread_mutex_lock(&mb->lock);
  bool ok = lookup(mb, tk, NULL, &t, &l, why, sizeof why);
  if (ok && sub_add(mb, &t->loc_subs, sub) != TD_OK) {
    ok = false;
    snprintf(why, sizeof why, "out of memory");
  }
  if (ok) {
    for (int64_t i = 0; i < t->n_locs; i++) td_answer_location(sub, t->locs[i]->key, NULL);
    td_answer_success(sub, NULL);
  }
  pthread_mutex_unlock(&mb->lock);
  if (!ok) td_answer_failure(sub, why, NULL);
}

static void m_subscribe_size(void *self, const td_table_key *tk, const td_location_key *lk, td_request sub) {
  td_memory_backend *mb = self;
  char why[512];
  mem_table *t;
  mem_location *l;
  pthread_mutex_lock(&mb->lock);
  bool ok = lookup(mb, tk, lk, &t, &l, why, sizeof why);
  if (ok && sub_add(mb, &l->size_subs, sub) != TD_OK) {
    ok = false;
    snprintf(why, sizeof why, "out of memory");
  }
  if (ok) {
    td_answer_size(sub, l->size, NULL);
    td_answer_success(sub, NULL);
  }
  pthread_mutex_unlock(&mb->lock);
  if (!ok) td_answer_failure(sub, why, NULL);
}

static void m_unsubscribe(void *self, td_request sub) {
  td_memory_backend *mb = self;
  pthread_mutex_lock(&mb->lock);
  sub_slot *s = sub_find(mb, sub);
  if (s && s->list) {
    td_request_list_remove(s->list, sub);
    s->list = NULL; /* a tombstone until the next rehash */
  }
  pthread_mutex_unlock(&mb->lock);
}

static void m_release(void *self) { td_memory_backend_release(self); }

static const td_backend_vtable memory_vtable = {
    .table_schema = m_table_schema,
    .table_locations = m_table_locations,
    .table_location_size = m_location_size,
    .column_values = m_column_values,
    .subscribe_to_table_locations = m_subscribe_locations,
    .subscribe_to_table_location_size = m_subscribe_size,
    .unsubscribe = m_unsubscribe,
    .release = m_release,
};

td_backend td_memory_backend_backend(td_memory_backend *mb) {
  td_backend b = {&memory_vtable, td_memory_backend_retain(mb)};
  return b;
}
