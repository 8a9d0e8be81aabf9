/*
 * formats/ipc/flatbuf.c - a minimal flatbuffer reader (every offset, vtable
 * and vector checked against the buffer) and a back-to-front builder used
 * by the IPC stream writer.
 */
#include "formats/ipc/ipc_internal.h"
#include "util/alloc.h"
#include "util/error.h"

static int fb_bad(const ipc_fb *fb, const char *what, uint64_t pos, td_error *err) {
  return td_err(err, TD_EFORMAT, "'%s': malformed flatbuffer metadata: %s at byte %llu of %u",
                fb->path, what, (unsigned long long)pos, fb->n);
}

static int table_at(const ipc_fb *fb, uint64_t pos, ipc_tab *t, td_error *err) {
  if (pos + 4 > fb->n || (pos & 3)) return fb_bad(fb, "table offset out of range", pos, err);
  int64_t vt = (int64_t)pos - ipc_rd_i32(fb->p + pos);
  if (vt < 0 || vt + 4 > (int64_t)fb->n || (vt & 1))
    return fb_bad(fb, "vtable offset out of range", pos, err);
  uint16_t vs, ts;
  memcpy(&vs, fb->p + vt, 2);
  memcpy(&ts, fb->p + vt + 2, 2);
  if (vs < 4 || (vs & 1) || vt + vs > (int64_t)fb->n) return fb_bad(fb, "bad vtable size", (uint64_t)vt, err);
  if (ts < 4 || pos + ts > fb->n) return fb_bad(fb, "bad table size", pos, err);
  t->fb = fb;
  t->pos = (uint32_t)pos;
  t->vt = (uint32_t)vt;
  t->vt_size = vs;
  t->tab_size = ts;
  return TD_OK;
}

int ipc_fb_root(const ipc_fb *fb, ipc_tab *t, td_error *err) {
  if (fb->n < 8) return fb_bad(fb, "buffer too small", 0, err);
  return table_at(fb, ipc_rd_u32(fb->p), t, err);
}

/* Offset of field `id` inside the table, 0 when absent. */
static uint16_t field_off(const ipc_tab *t, int id) {
  uint32_t slot = 4u + 2u * (uint32_t)id;
  if (slot + 2 > t->vt_size) return 0;
  uint16_t off;
  memcpy(&off, t->fb->p + t->vt + slot, 2);
  return off;
}

/* Copies a `size`-byte scalar field; returns 1 if present, 0 if absent. */
static int scalar(const ipc_tab *t, int id, void *out, uint32_t size, td_error *err) {
  uint16_t off = field_off(t, id);
  if (!off) return 0;
  if ((uint32_t)off + size > t->tab_size) return fb_bad(t->fb, "field outside its table", t->pos, err), -1;
  memcpy(out, t->fb->p + t->pos + off, size);
  return 1;
}

#define SCALAR_GETTER(name, T)                                                  \
  int name(const ipc_tab *t, int id, T def, T *out, td_error *err) {           \
    T v;                                                                        \
    int got = scalar(t, id, &v, sizeof v, err);                                \
    if (got < 0) return TD_EFORMAT;                                             \
    *out = got ? v : def;                                                       \
    return TD_OK;                                                               \
  }
SCALAR_GETTER(ipc_tab_i64, int64_t)
SCALAR_GETTER(ipc_tab_i32, int32_t)
SCALAR_GETTER(ipc_tab_i16, int16_t)
SCALAR_GETTER(ipc_tab_u8, uint8_t)

/* Follows the uoffset stored in field `id`; *target = 0 when absent. */
static int follow(const ipc_tab *t, int id, uint64_t *target, td_error *err) {
  uint32_t rel;
  int got = scalar(t, id, &rel, 4, err);
  if (got < 0) return TD_EFORMAT;
  *target = 0;
  if (!got) return TD_OK;
  uint64_t at = (uint64_t)t->pos + field_off(t, id);
  if (rel == 0 || at + rel >= t->fb->n) return fb_bad(t->fb, "offset out of range", at, err);
  *target = at + rel;
  return TD_OK;
}

int ipc_tab_table(const ipc_tab *t, int id, ipc_tab *sub, bool *present, td_error *err) {
  uint64_t target;
  int rc = follow(t, id, &target, err);
  if (rc) return rc;
  *present = target != 0;
  return target ? table_at(t->fb, target, sub, err) : TD_OK;
}

int ipc_tab_vector(const ipc_tab *t, int id, uint32_t elem_size, ipc_vec *v, td_error *err) {
  uint64_t target;
  int rc = follow(t, id, &target, err);
  if (rc) return rc;
  v->fb = t->fb;
  v->pos = 0;
  v->len = 0;
  if (!target) return TD_OK;
  if (target + 4 > t->fb->n) return fb_bad(t->fb, "vector out of range", target, err);
  uint32_t len = ipc_rd_u32(t->fb->p + target);
  if ((uint64_t)len * elem_size > t->fb->n - target - 4)
    return fb_bad(t->fb, "vector longer than the buffer", target, err);
  v->pos = (uint32_t)(target + 4);
  v->len = len;
  return TD_OK;
}

int ipc_vec_table(const ipc_vec *v, uint32_t i, ipc_tab *t, td_error *err) {
  uint64_t at = (uint64_t)v->pos + 4u * (uint64_t)i;
  uint32_t rel = ipc_rd_u32(v->fb->p + at);
  if (rel == 0 || at + rel >= v->fb->n) return fb_bad(v->fb, "vector element offset out of range", at, err);
  return table_at(v->fb, at + rel, t, err);
}

int ipc_tab_string(const ipc_tab *t, int id, const char **s, uint32_t *len, td_error *err) {
  ipc_vec v;
  int rc = ipc_tab_vector(t, id, 1, &v, err);
  if (rc) return rc;
  *s = v.len || v.pos ? (const char *)v.fb->p + v.pos : NULL;
  *len = v.len;
  return TD_OK;
}

/* ------------------------------------------------------------------------ */
/* Builder.  Objects are pushed downwards from the end of `buf`; a reference
 * is the value of `used` right after the object was pushed. */

void ipc_fbb_init(ipc_fbb *b) { memset(b, 0, sizeof *b); }
void ipc_fbb_free(ipc_fbb *b) {
  td_free(b->buf);
  memset(b, 0, sizeof *b);
}

static bool fbb_grow(ipc_fbb *b, size_t need) {
  if (b->failed) return false;
  if (b->cap - b->used >= need) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->used < need) cap *= 2;
  uint8_t *nb = td_malloc(cap);
  if (!nb) {
    b->failed = true;
    return false;
  }
  if (b->used) memcpy(nb + cap - b->used, b->buf + b->cap - b->used, b->used);
  td_free(b->buf);
  b->buf = nb;
  b->cap = cap;
  return true;
}

/* Pads so that after pushing `n` more bytes `used` is a multiple of `align`. */
static void fbb_align(ipc_fbb *b, size_t n, size_t align) {
  size_t pad = (align - (b->used + n) % align) % align;
  if (pad == 0 || !fbb_grow(b, pad)) return;
  memset(b->buf + b->cap - b->used - pad, 0, pad);
  b->used += pad;
}

static void fbb_push(ipc_fbb *b, const void *p, size_t n) {
  if (n == 0 || !fbb_grow(b, n)) return;
  b->used += n;
  memcpy(b->buf + b->cap - b->used, p, n);
}

static void fbb_push_u32(ipc_fbb *b, uint32_t v) {
  fbb_align(b, 4, 4);
  fbb_push(b, &v, 4);
}

static void fbb_push_offset(ipc_fbb *b, ipc_ref target) {
  fbb_align(b, 4, 4);
  uint32_t rel = (uint32_t)(b->used + 4 - target);
  fbb_push(b, &rel, 4);
}

ipc_ref ipc_fbb_string(ipc_fbb *b, const char *s, size_t len) {
  uint8_t nul = 0;
  fbb_align(b, len + 1 + 4, 4);
  fbb_push(b, &nul, 1);
  fbb_push(b, s, len);
  fbb_push(b, &(uint32_t){(uint32_t)len}, 4);
  return (ipc_ref)b->used;
}

ipc_ref ipc_fbb_vec_tables(ipc_fbb *b, const ipc_ref *items, size_t n) {
  fbb_align(b, 4 * n + 4, 4);
  for (size_t i = n; i-- > 0;) fbb_push_offset(b, items[i]);
  fbb_push(b, &(uint32_t){(uint32_t)n}, 4);
  return (ipc_ref)b->used;
}

ipc_ref ipc_fbb_vec_structs(ipc_fbb *b, const void *data, size_t n, size_t elem_size) {
  fbb_align(b, n * elem_size, 8);
  fbb_align(b, n * elem_size + 4, 4);
  fbb_push(b, data, n * elem_size);
  fbb_push(b, &(uint32_t){(uint32_t)n}, 4);
  return (ipc_ref)b->used;
}

void ipc_fbb_start(ipc_fbb *b) {
  memset(b->field_set, 0, sizeof b->field_set);
  b->table_start = b->used;
}

static void fbb_field(ipc_fbb *b, int id, const void *v, size_t n) {
  fbb_align(b, n, n);
  fbb_push(b, v, n);
  b->field_ref[id] = (uint32_t)b->used;
  b->field_set[id] = 1;
}

void ipc_fbb_add_i64(ipc_fbb *b, int id, int64_t v) { fbb_field(b, id, &v, 8); }
void ipc_fbb_add_i32(ipc_fbb *b, int id, int32_t v) { fbb_field(b, id, &v, 4); }
void ipc_fbb_add_i16(ipc_fbb *b, int id, int16_t v) { fbb_field(b, id, &v, 2); }
void ipc_fbb_add_u8(ipc_fbb *b, int id, uint8_t v) { fbb_field(b, id, &v, 1); }
void ipc_fbb_add_ref(ipc_fbb *b, int id, ipc_ref r) {
  fbb_push_offset(b, r);
  b->field_ref[id] = (uint32_t)b->used;
  b->field_set[id] = 1;
}

ipc_ref ipc_fbb_end(ipc_fbb *b) {
  fbb_push_u32(b, 0); /* soffset to the vtable, patched below */
  ipc_ref table = (ipc_ref)b->used;
  int n = 0;
  for (int i = 0; i < IPC_FBB_MAX_FIELDS; i++)
    if (b->field_set[i]) n = i + 1;
  uint16_t vt[2 + IPC_FBB_MAX_FIELDS];
  vt[0] = (uint16_t)(4 + 2 * n);
  vt[1] = (uint16_t)(table - b->table_start);
  for (int i = 0; i < n; i++) vt[2 + i] = b->field_set[i] ? (uint16_t)(table - b->field_ref[i]) : 0;
  fbb_align(b, vt[0], 2);
  fbb_push(b, vt, vt[0]);
  if (b->failed) return 0;
  int32_t soff = (int32_t)(b->used - table);
  memcpy(b->buf + b->cap - table, &soff, 4);
  return table;
}

bool ipc_fbb_finish(ipc_fbb *b, ipc_ref root) {
  fbb_align(b, 4, 8);
  fbb_push_offset(b, root);
  return !b->failed;
}
