/*
 * query/win_codes.c - a string column read as int32 codes into one
 * dictionary of its distinct values (see win_codes.h): a hash of the
 * values seen, each page dictionary's entries mapped once, plain strings
 * (pages without a dictionary, a location's constant) looked up per row.
 */
#include "query/win_codes.h"

#include <string.h>

#include "arrow/dict.h"
#include "util/alloc.h"
#include "util/error.h"

/* The distinct values so far. */
typedef struct gdict {
  td_array entries; /* utf8, no nulls: value of code c */
  uint64_t *hs;     /* hash of each entry */
  int64_t hs_cap;
  int32_t *slots; /* code + 1, 0 empty; at most half full */
  int64_t n_slots;
  uint64_t map_id; /* the page dictionary whose entries map holds the codes of (0: none) */
  int32_t *map;
  int64_t map_cap;
} gdict;

static uint64_t str_hash(const char *s, int64_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int64_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
  return (h ^ (h >> 31)) * 0x9e3779b97f4a7c15ULL;
}

static void put_slot(int32_t *slots, int64_t n_slots, uint64_t h, int32_t code) {
  int64_t i = (int64_t)(h >> 32) & (n_slots - 1);
  while (slots[i]) i = (i + 1) & (n_slots - 1);
  slots[i] = code + 1;
}

/* *code: the code of the string s[0..n), added when new. */
static int gdict_code(gdict *d, const char *s, int64_t n, int32_t *code, td_error *err) {
  uint64_t h = str_hash(s, n);
  for (int64_t i = d->n_slots ? (int64_t)(h >> 32) & (d->n_slots - 1) : 0; d->n_slots && d->slots[i];
       i = (i + 1) & (d->n_slots - 1)) {
    int32_t c = d->slots[i] - 1, o = d->entries.offsets[c];
    if (d->hs[c] == h && d->entries.offsets[c + 1] - o == n && memcmp(d->entries.data + o, s, (size_t)n) == 0) {
      *code = c;
      return TD_OK;
    }
  }
  int64_t c = d->entries.length;
  if (c >= INT32_MAX - 1)
    return td_err(err, TD_ERANGE, "a window's string key has at most %d distinct values, found more", INT32_MAX - 1);
  if (c == d->hs_cap) {
    int64_t cap = d->hs_cap ? 2 * d->hs_cap : 1024;
    uint64_t *hs = td_realloc(d->hs, (size_t)cap * sizeof *hs);
    if (!hs) return td_err_nomem(err, "reading a window's string key");
    d->hs = hs;
    d->hs_cap = cap;
  }
  int rc = td_array_append_str(&d->entries, s, n, err);
  if (rc) return rc;
  d->hs[c] = h;
  if (2 * (c + 1) > d->n_slots) { /* rehash at half full */
    int64_t n2 = d->n_slots ? 2 * d->n_slots : 2048;
    int32_t *s2 = td_calloc((size_t)n2, sizeof *s2);
    if (!s2) return td_err_nomem(err, "reading a window's string key");
    for (int64_t k = 0; k <= c; k++) put_slot(s2, n2, d->hs[k], (int32_t)k);
    td_free(d->slots);
    d->slots = s2;
    d->n_slots = n2;
  } else {
    put_slot(d->slots, d->n_slots, h, (int32_t)c);
  }
  *code = (int32_t)c;
  return TD_OK;
}

/* The codes of the page dictionary pd's entries into d->map. */
static int gdict_map(gdict *d, const td_dict *pd, td_error *err) {
  if (pd->id == d->map_id) return TD_OK;
  int64_t m = pd->view.length;
  if (m > d->map_cap) {
    int32_t *map = td_realloc(d->map, (size_t)m * sizeof *map);
    if (!map) return td_err_nomem(err, "reading a window's string key");
    d->map = map;
    d->map_cap = m;
  }
  d->map_id = 0;
  int rc = TD_OK;
  for (int64_t e = 0; rc == TD_OK && e < m; e++) {
    int64_t len;
    const char *s = td_colview_str(&pd->view, e, &len);
    rc = gdict_code(d, s, len, &d->map[e], err);
  }
  if (rc == TD_OK) d->map_id = pd->id;
  return rc;
}

/* Appends the codes of one scanned chunk's rows. */
static int append_chunk(gdict *d, const td_chunk *ch, td_array *codes, td_error *err) {
  int rc = TD_OK;
  if (ch->consts[0]) { /* a location's constant */
    const td_value *v = ch->consts[0];
    int32_t c = 0;
    if (!v->is_null) rc = gdict_code(d, v->v.s.ptr, (int64_t)v->v.s.len, &c, err);
    for (int64_t r = 0; rc == TD_OK && r < ch->length; r++)
      rc = v->is_null ? td_array_append_null(codes, err) : td_array_append_int(codes, c, err);
    return rc;
  }
  const td_colview *v = &ch->views[0];
  if (v->codes && (rc = gdict_map(d, v->dict, err)) != TD_OK) return rc;
  for (int64_t r = 0; rc == TD_OK && r < ch->length; r++) {
    if (!td_colview_valid(v, r)) {
      rc = td_array_append_null(codes, err);
      continue;
    }
    int32_t c;
    if (v->codes) c = d->map[v->codes[v->offset + r]];
    else {
      int64_t len;
      const char *s = td_colview_str(v, r, &len);
      rc = gdict_code(d, s, len, &c, err);
    }
    if (rc == TD_OK) rc = td_array_append_int(codes, c, err);
  }
  return rc;
}

int td__read_codes(td_table *src, td_snapshot *snap, int64_t col, int64_t begin, int64_t end, struct ArrowArray *out,
                   td_colview *view, td_colview *key, td_error *err) {
  memset(out, 0, sizeof *out);
  gdict d;
  memset(&d, 0, sizeof d);
  td_array codes;
  memset(&codes, 0, sizeof codes);
  td_scan sc;
  int rc = td_scan_init(&sc, src, snap, &col, 1, begin, end, err);
  if (rc == TD_OK) {
    td_scan_allow_codes(&sc, 0);
    rc = td_array_init(&d.entries, TD_TYPE_UTF8, 1024, err);
  }
  if (rc == TD_OK) rc = td_array_init(&codes, TD_TYPE_INT32, end - begin, err);
  while (rc == TD_OK) {
    td_chunk ch;
    bool done;
    if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
    rc = append_chunk(&d, &ch, &codes, err);
  }
  td_scan_release(&sc);
  td_dict *dict = NULL;
  struct ArrowArray arr;
  if (rc == TD_OK) rc = td_dict_copy(&d.entries, &dict, err);
  if (rc == TD_OK) rc = td_array_export(&codes, &arr, err);
  if (rc == TD_OK) rc = td_dict_attach(&arr, dict, out, err); /* arr released on failure */
  td_dict_release(dict);                                      /* out holds its own */
  if (rc == TD_OK) rc = td_colview_init(view, TD_TYPE_UTF8, out, err);
  if (rc == TD_OK) {
    view->dict = td_dict_of(out->dictionary);
    memset(key, 0, sizeof *key);
    key->type = TD_TYPE_INT32;
    key->length = view->length;
    key->offset = view->offset;
    key->null_count = view->null_count;
    key->validity = view->validity;
    key->values = view->codes;
  }
  if (rc && out->release) td_arrow_array_release(out);
  td_array_reset(&d.entries);
  td_array_reset(&codes);
  td_free(d.hs);
  td_free(d.slots);
  td_free(d.map);
  return rc;
}
