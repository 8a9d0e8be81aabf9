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
#include "query/vec.h"
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
 * row.  Without a selection, 64 rows at a time: their answers (0 or 1)
 * packed into a word, merged with the validity word, and only the passing
 * rows written.  When one or two entries pass (`=`, or `=` over two row
 * groups' dictionaries joined), the answers are compares of the codes with
 * them (a loop the compiler vectorizes); else a lookup per row, where a
 * code outside the dictionary (possible only on a null row) reads the
 * null row's answer. */
static int64_t pass_rows(const td_colview *v, const uint8_t *pass, int64_t n_dict, uint8_t pnull, const uint32_t *in,
                         int64_t n, uint32_t *out) {
  const int32_t *codes = v->codes + v->offset;
  const uint8_t *valid = v->validity && v->null_count != 0 ? v->validity : NULL;
  int64_t k = 0, off = v->offset, j = 0;
  if (!in) {
    int64_t hits = 0;
    int32_t p[2] = {-1, -1};
    for (int64_t e = 0; e < n_dict && hits <= 2; e++)
      if (pass[e]) p[hits < 2 ? hits : 0] = (int32_t)e, hits++;
    if (hits == 0 && (!valid || !pnull)) return 0;
    if (hits == 1) p[1] = p[0];
    uint8_t hit[64];
    for (; j + 64 <= n; j += 64) {
      uint64_t m = 0;
      if (hits <= 2) {
        const int32_t *c = codes + j;
        for (int t = 0; t < 64; t++) hit[t] = (uint8_t)((c[t] == p[0]) | (c[t] == p[1]));
        m = td__pack64(hit);
      } else {
        for (int t = 0; t < 64; t++) {
          uint32_t c = (uint32_t)codes[j + t];
          m |= (uint64_t)pass[c < (uint64_t)n_dict ? c : (uint64_t)n_dict] << t;
        }
      }
      if (valid) {
        uint64_t vb = td__bits64(valid, off + j);
        m = (m & vb) | (pnull ? ~vb : 0);
      }
      k = td__sel_bits(m, (uint32_t)j, out, k);
    }
  }
  for (; j < n; j++) {
    uint32_t i = in ? in[j] : (uint32_t)j;
    out[k] = i;
    k += !valid || td_bit_get(valid, off + i) ? pass[codes[i]] : pnull;
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
    *n_out = pass_rows(v, pass, d->view.length, pass[d->view.length], in, n, out);
    *done = true;
    atomic_fetch_add_explicit(&filter_chunks, 1, memory_order_relaxed);
  }
  td_free(pass);
  return rc;
}
