/*
 * query/dict_eval.c - filters over dictionary-encoded columns: a predicate
 * that reads one column only, when that column arrives as codes into a
 * dictionary (arrow/dict.h), is evaluated once per dictionary entry (and
 * once for a null) into a table of answers; each row is then one lookup.
 */
#include <stdatomic.h>
#include <string.h>

#include "arrow/dict.h"
#include "query/expr.h"
#include "util/alloc.h"
#include "util/error.h"

static _Atomic int64_t filter_chunks, group_chunks;

void td__dict_note_group(void) { atomic_fetch_add_explicit(&group_chunks, 1, memory_order_relaxed); }

int64_t td__dict_stats(int64_t *groups) {
  if (groups) *groups = atomic_load(&group_chunks);
  return atomic_load(&filter_chunks);
}

/* The one column `e` reads (-1: none yet; -2: several, or a function whose
 * value may differ between calls). */
static void only_column(const td_expr *e, int64_t *col) {
  if (*col == -2) return;
  if (e->kind == TD_EXPR_COLUMN) {
    *col = *col == -1 || *col == e->column ? e->column : -2;
    return;
  }
  if (e->kind == TD_EXPR_CALL && e->name && (strcmp(e->name, "random") == 0 || strcmp(e->name, "now") == 0)) {
    *col = -2;
    return;
  }
  for (int64_t i = 0; i < e->n_args; i++) only_column(e->args[i], col);
}

/* pass[0..n) for the entries, pass[n] for a null row. */
static int entry_answers(const td_expr *e, int64_t col, const td_dict *d, uint8_t *pass, td_error *err) {
  int64_t n = d->view.length;
  td_colview *cols = td_calloc((size_t)col + 1, sizeof *cols);
  td_value *consts = td_calloc((size_t)col + 1, sizeof *consts);
  int rc = cols && consts ? TD_OK : td_err_nomem(err, "filtering a dictionary");
  td_array r;
  memset(&r, 0, sizeof r);
  if (rc == TD_OK && n > 0) {
    cols[col] = d->view;
    td_batch db = {n, cols, consts, NULL, 0};
    rc = td_expr_eval(e, &db, &r, err);
    for (int64_t i = 0; rc == TD_OK && i < n; i++)
      pass[i] = (!r.validity || td_bit_get(r.validity, i)) && td_bit_get(r.values, i);
    td_array_reset(&r);
  }
  if (rc == TD_OK) { /* the null row */
    consts[col].type = TD_TYPE_UTF8;
    consts[col].is_null = true;
    td_batch nb = {1, cols, consts, NULL, 0};
    rc = td_expr_eval(e, &nb, &r, err);
    if (rc == TD_OK) pass[n] = (!r.validity || td_bit_get(r.validity, 0)) && td_bit_get(r.values, 0);
    td_array_reset(&r);
  }
  td_free(cols);
  td_free(consts);
  return rc;
}

/* The rows of `in` (or 0..n) whose code passes, into out; pnull for a null
 * row.  Without a selection, validity is read a byte (8 rows) at a time and
 * a byte of all valid rows takes the plain lookup. */
static int64_t pass_rows(const td_colview *v, const uint8_t *pass, uint8_t pnull, const uint32_t *in, int64_t n,
                         uint32_t *out) {
  const int32_t *codes = v->codes + v->offset;
  const uint8_t *valid = v->validity;
  int64_t k = 0, off = v->offset;
  if (!valid) {
    if (in)
      for (int64_t j = 0; j < n; j++) {
        out[k] = in[j];
        k += pass[codes[in[j]]];
      }
    else
      for (int64_t j = 0; j < n; j++) {
        out[k] = (uint32_t)j;
        k += pass[codes[j]];
      }
    return k;
  }
  int64_t j = 0;
  if (!in && (off & 7) == 0) {
    const uint8_t *vb = valid + off / 8;
    for (; j + 8 <= n; j += 8) {
      uint8_t m = vb[j / 8];
      if (m == 0xff)
        for (int64_t t = j; t < j + 8; t++) {
          out[k] = (uint32_t)t;
          k += pass[codes[t]];
        }
      else
        for (int64_t t = j; t < j + 8; t++) {
          out[k] = (uint32_t)t;
          k += (m >> (t - j)) & 1 ? pass[codes[t]] : pnull;
        }
    }
  }
  for (; j < n; j++) {
    uint32_t i = in ? in[j] : (uint32_t)j;
    out[k] = i;
    k += td_bit_get(valid, off + i) ? pass[codes[i]] : pnull;
  }
  return k;
}

int td__dict_select(const td_expr *e, const td_batch *b, const uint32_t *in, int64_t n, uint32_t *out,
                    int64_t *n_out, bool *done, td_error *err) {
  *done = false;
  int64_t col = -1;
  only_column(e, &col);
  if (col < 0 || (b->consts && b->consts[col].type != TD_TYPE_NONE)) return TD_OK;
  const td_colview *v = &b->cols[col];
  if (!v->codes || !v->dict) return TD_OK;
  const td_dict *d = v->dict;
  uint8_t *pass = td_malloc((size_t)d->view.length + 1);
  if (!pass) return td_err_nomem(err, "filtering a dictionary");
  int rc = entry_answers(e, col, d, pass, err);
  if (rc == TD_OK) {
    *n_out = pass_rows(v, pass, pass[d->view.length], in, n, out);
    *done = true;
    atomic_fetch_add_explicit(&filter_chunks, 1, memory_order_relaxed);
  }
  td_free(pass);
  return rc;
}
