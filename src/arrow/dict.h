/*
 * arrow/dict.h - dictionary-encoded string columns: int32 codes into a
 * shared, reference-counted dictionary of utf8 entries.
 *
 * A backend may answer a utf8 column as an Arrow dictionary array (int32
 * indices, a utf8 dictionary).  The page keeps the codes and one td_dict;
 * a td_colview of such a page has `codes` and `dict` set and no offsets or
 * data.  Only consumers that say they understand codes (filters and
 * group-bys, through td_scan_allow_codes) ever see such a view; everything
 * else receives the rows decoded to plain utf8 by td_dict_decode, the one
 * place where codes become strings.
 *
 * Each td_dict has a process-unique id, never reused, so per-dictionary
 * results (a filter's bitmap, a group-by's entry -> group map) can be keyed
 * by it without holding a reference.
 */
#ifndef TD_ARROW_DICT_H
#define TD_ARROW_DICT_H

#include "arrow/array.h"

typedef struct td_dict {
  _Atomic int64_t refs;
  uint64_t id;              /* unique in the process */
  td_colview view;          /* the entries: utf8, no nulls */
  td_shared_array *keep;    /* keeps view's buffers alive */
  int64_t bytes;            /* memory of the entries (offsets + data) */
  /* Made by td_dict_concat of up to TD_DICT_PARTS dictionaries: their ids,
   * each one's entries starting at base[i] (n_parts 0 otherwise), so that
   * per-dictionary results carry over between a part and the whole. */
  int n_parts;
  uint64_t part_id[4];
  int64_t part_base[4];
} td_dict;
#define TD_DICT_PARTS 4

/* A dictionary viewing the utf8 array `entries`, whose buffers `keep`
 * (retained) keeps alive.  Errors: TD_ECONTRACT when `entries` is not a
 * valid utf8 array or has nulls; TD_ENOMEM.  The caller owns *out (refs 1). */
int td_dict_wrap(td_shared_array *keep, const struct ArrowArray *entries, td_dict **out, td_error *err);
/* A dictionary holding a copy of the utf8 array `entries` (no nulls), for a
 * reader whose decoded entries change later (the next generation of an
 * Arrow IPC dictionary).  Errors: TD_ECONTRACT when `entries` has nulls;
 * TD_ENOMEM.  The caller owns *out (refs 1). */
int td_dict_copy(const td_array *entries, td_dict **out, td_error *err);
td_dict *td_dict_retain(td_dict *d);
void td_dict_release(td_dict *d); /* NULL is fine */

/* Exports d's entries as a utf8 ArrowArray (zero-copy) holding a reference
 * to d: a reader puts it as the `dictionary` of the arrays it answers, so
 * that every page of one dictionary shares one td_dict.  Errors: TD_ENOMEM. */
int td_dict_export(td_dict *d, struct ArrowArray *out, td_error *err);
/* The td_dict an array made by td_dict_export carries, else NULL. */
td_dict *td_dict_of(const struct ArrowArray *entries);

/* A new dictionary holding the entries of ds[0..n) end to end: the codes of
 * ds[i]'s rows become codes into it once the lengths of ds[0..i) are added.
 * For rows that span several dictionaries (row groups, record batches).
 * Errors: TD_EUNSUPPORTED past int32 entries or bytes; TD_ENOMEM.  The
 * caller owns *out (refs 1). */
int td_dict_concat(td_dict *const *ds, int64_t n, td_dict **out, td_error *err);

/* Makes `codes` (an int32 array, moved) the indices of a dictionary array
 * `out` whose dictionary is td_dict_export(d).  Errors: TD_ENOMEM (codes is
 * then released). */
int td_dict_attach(struct ArrowArray *codes, td_dict *d, struct ArrowArray *out, td_error *err);

/* True when every c[i] of c[0..n) is below `limit` (dictionary indices
 * against a dictionary's length).  One pass without an early exit, so it
 * vectorizes: for a limit of at most 2^31, c < limit exactly when neither
 * c nor (limit - 1) - c (mod 2^32) has its top bit set (a c above the
 * limit wraps the difference past 2^31, a c of 2^31 or more sets its own);
 * larger limits compare directly. */
static inline bool td_codes_below(const uint32_t *c, int64_t n, uint64_t limit) {
  if (n <= 0) return true;
  if (limit == 0) return false;
  if (limit > (1ull << 31)) {
    uint32_t hi = 0;
    for (int64_t i = 0; i < n; i++) hi = c[i] > hi ? c[i] : hi;
    return hi < limit;
  }
  uint32_t top = (uint32_t)(limit - 1), bad = 0;
  for (int64_t i = 0; i < n; i++) bad |= c[i] | (top - c[i]);
  return !(bad >> 31);
}

/* Checks a dictionary array answered for a utf8 column: two buffers
 * (validity, int32 indices), no children, a valid utf8 dictionary without
 * nulls, and every index of a valid row within the dictionary.  Errors:
 * TD_ECONTRACT saying what was found. */
int td_dict_array_validate(const struct ArrowArray *a, td_error *err);

/* Appends rows [begin, begin + n) of the code view `v` (or, when idx is not
 * NULL, the rows idx[0..n) relative to the view) to the utf8 array `a`,
 * decoded; null rows stay null.  Errors: TD_ENOMEM. */
int td_dict_decode(td_array *a, const td_colview *v, int64_t begin, int64_t n, const uint32_t *idx,
                   td_error *err);

#endif
