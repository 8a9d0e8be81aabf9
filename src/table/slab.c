/*
 * table/slab.c - column slabs (table/table.h): append-only blocks that hold
 * the small fixed-width result columns a live operator makes each cycle,
 * so that a cycle writes into pages mapped beforehand (td_malloc_pages)
 * instead of faulting in a fresh allocation's pages one at a time.
 */
#include <stdatomic.h>
#include <string.h>

#include "table/table.h"
#include "util/alloc.h"
#include "util/error.h"

enum {
  SLAB_MIN_BYTES = 64 << 10,
  SLAB_MAX_BYTES = 4 << 20,
  /* chunks start at a multiple of 8 rows: their validity bytes never
   * share a byte (a reader may be reading the previous chunk's) */
  SLAB_ALIGN_ROWS = 8,
};

static _Atomic int64_t blocks_made;

int64_t td__slab_blocks(void) { return atomic_load(&blocks_made); }

/* The bytes of n rows' values (bool: bits). */
static int64_t values_bytes(td_type_id type, int64_t n) {
  int w = td_type_width(type);
  return w > 0 ? n * w : (n + 7) / 8;
}

bool td_slab_serves(td_type_id type, int64_t n) {
  if (td_type_is_varlen(type) || (td_type_width(type) <= 0 && type != TD_TYPE_BOOL)) return false;
  return n > 0 && values_bytes(type, n) <= SLAB_MAX_BYTES / 4;
}

/* A new block for at least n rows, twice the last one's size or more. */
static int new_block(td_slab *s, td_type_id type, int64_t n, td_error *err) {
  int64_t bytes = 2 * s->bytes > SLAB_MIN_BYTES ? 2 * s->bytes : SLAB_MIN_BYTES;
  while (bytes < 4 * values_bytes(type, n + SLAB_ALIGN_ROWS)) bytes *= 2;
  if (bytes > SLAB_MAX_BYTES) bytes = SLAB_MAX_BYTES;
  int w = td_type_width(type);
  int64_t cap = (w > 0 ? bytes / w : bytes * 8) / SLAB_ALIGN_ROWS * SLAB_ALIGN_ROWS;
  td_array blk;
  memset(&blk, 0, sizeof blk);
  blk.type = type;
  blk.values = td_malloc_pages((size_t)bytes);
  blk.validity = blk.values ? td_malloc((size_t)(cap / 8)) : NULL;
  if (!blk.validity) {
    td_free(blk.values);
    return td_err_nomem(err, "making a column slab");
  }
  blk.length = blk.capacity = cap;
  uint8_t *values = blk.values, *validity = blk.validity;
  struct ArrowArray arr;
  td_shared_array *block;
  int rc = td_array_export(&blk, &arr, err); /* the block's buffers are freed with it */
  if (rc == TD_OK) rc = td_shared_array_new(&arr, &block, err);
  if (rc) {
    td_array_reset(&blk);
    return rc;
  }
  block->bytes = bytes + cap / 8;
  atomic_fetch_add(&blocks_made, 1);
  td_slab_reset(s);
  s->type = type;
  s->block = block;
  s->values = values;
  s->validity = validity;
  s->cap = cap;
  s->bytes = bytes;
  return TD_OK;
}

int td_slab_begin(td_slab *s, td_type_id type, int64_t n, td_array *a, td_error *err) {
  memset(a, 0, sizeof *a);
  int64_t start = (s->used + SLAB_ALIGN_ROWS - 1) / SLAB_ALIGN_ROWS * SLAB_ALIGN_ROWS;
  if (!s->block || s->type != type || start + n > s->cap) {
    int rc = new_block(s, type, n, err);
    if (rc) return rc;
    start = 0;
  }
  s->start = start;
  a->type = type;
  a->capacity = n;
  a->values = s->values + values_bytes(type, start);
  return TD_OK;
}

void td_slab_commit(td_slab *s, td_array *a, td_dchunk *c, int64_t i) {
  int64_t n = a->length;
  if (a->null_count > 0) /* the array's own bitmap (start is a multiple of 8) */
    memcpy(s->validity + s->start / 8, a->validity, (size_t)((n + 7) / 8));
  td_colview v;
  memset(&v, 0, sizeof v);
  v.type = a->type;
  v.length = n;
  v.offset = s->start;
  v.null_count = a->null_count;
  v.validity = a->null_count > 0 ? s->validity : NULL;
  v.values = s->values;
  td_dchunk_set_view(c, i, &v, s->block);
  s->used = s->start + n;
  td_slab_drop(a);
}

void td_slab_drop(td_array *a) {
  td_free(a->validity); /* the values are the slab's */
  memset(a, 0, sizeof *a);
}

void td_slab_reset(td_slab *s) {
  td_shared_array_release(s->block);
  td_type_id type = s->type;
  int64_t bytes = s->bytes;
  memset(s, 0, sizeof *s);
  s->type = type;
  s->bytes = bytes;
}
