/*
 * query/dict_eval.c - expressions over dictionary-encoded columns: an
 * expression that reads one column only, when that column arrives as codes
 * into a dictionary (arrow/dict.h), is evaluated once per dictionary entry
 * (and once for a null) into a table of answers; each row is then one
 * lookup.  Filters select rows by the answers (td__dict_select); any other
 * use (projections, keys, aggregate arguments) gathers them by code
 * (td__dict_eval_vec).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "arrow/dict.h"
#include "query/expr.h"
#include "query/func.h"
#include "query/vec.h"
#include "util/alloc.h"
#include "util/error.h"

static _Atomic int64_t filter_chunks, group_chunks, eval_chunks, view_chunks;

void td__dict_note_group(void) { atomic_fetch_add_explicit(&group_chunks, 1, memory_order_relaxed); }

int64_t td__dict_stats(int64_t *groups) {
  if (groups) *groups = atomic_load(&group_chunks);
  return atomic_load(&filter_chunks);
}

int64_t td__dict_eval_stats(void) { return atomic_load(&eval_chunks); }

int64_t td__dict_view_stats(void) { return atomic_load(&view_chunks); }

/* The one column `e` reads (-1: none yet; -2: several, or a function whose
 * value may differ between calls). */
static void only_column(const td_expr *e, int64_t *col) {
  if (*col == -2) return;
  if (e->kind == TD_EXPR_COLUMN) {
    *col = *col == -1 || *col == e->column ? e->column : -2;
    return;
  }
  if (e->kind == TD_EXPR_CALL && ((e->fn && e->fn->is_volatile) || (e->name && (strcmp(e->name, "random") == 0 ||
                                                                                   strcmp(e->name, "now") == 0)))) {
    *col = -2;
    return;
  }
  /* an IN over literals (its set built) reads its operand alone: a list
   * of a million items is not walked a batch */
  const int64_t n = e->kind == TD_EXPR_IN && e->in_set ? 1 : e->n_args;
  for (int64_t i = 0; i < n; i++) only_column(e->args[i], col);
}

/* e's answers over d's entries into ans (n rows; left zeroed for an empty
 * dictionary) and for a null row into nul (1 row), neither constant. */
static int entry_vecs(const td_expr *e, int64_t col, const td_dict *d, td_vec *ans, td_vec *nul, td_error *err) {
  int64_t n = d->view.length;
  memset(ans, 0, sizeof *ans);
  memset(nul, 0, sizeof *nul);
  td_colview *cols = td_calloc((size_t)col + 1, sizeof *cols);
  td_value *consts = td_calloc((size_t)col + 1, sizeof *consts);
  int rc = cols && consts ? TD_OK : td_err_nomem(err, "evaluating over a dictionary");
  if (rc == TD_OK) {
    consts[col].type = TD_TYPE_UTF8;
    consts[col].is_null = true;
    td_batch nb = {1, cols, consts, NULL, 0};
    rc = td__expr_ev(e, &nb, nul, err);
    if (rc == TD_OK) rc = td__vec_materialize(nul, err);
  }
  if (rc == TD_OK && n > 0) {
    cols[col] = d->view;
    consts[col].type = TD_TYPE_NONE;
    consts[col].is_null = false;
    td_batch db = {n, cols, consts, NULL, 0};
    rc = td__expr_ev(e, &db, ans, err);
    if (rc == TD_OK) rc = td__vec_materialize(ans, err);
    if (rc == TD_OK && ans->ph != nul->ph) rc = td_err(err, TD_EINVAL, "dictionary answers of two layouts");
  }
  td_free(cols);
  td_free(consts);
  return rc;
}

/* Structural equality including what binding decided (types, columns,
 * functions): two trees that answer alike for every row. */
static bool same_tree(const td_expr *a, const td_expr *b) {
  if (a == b) return true;
  if (!td_expr_equal(a, b) || a->type != b->type || a->column != b->column || a->fn != b->fn ||
      (a->tz || b->tz) != (a->tz && b->tz) || (a->tz && strcmp(a->tz, b->tz) != 0))
    return false;
  for (int64_t i = 0; i < a->n_args; i++)
    if (!same_tree(a->args[i], b->args[i])) return false;
  return true;
}

/*
 * The answers of one expression over one dictionary, kept per thread:
 * every chunk of a row group (or file) shares its dictionary, so its
 * entries are evaluated once for the chunks a worker reads rather than once
 * a chunk.  A few slots per thread, the least recently used replaced; each
 * holds a copy of the tree (compared with same_tree, so a freed tree's
 * address being reused cannot match) and a reference to the dictionary
 * (the answers may borrow its buffers).  A failed evaluation is kept too
 * (failed), so its cost is paid once.  Freed when the thread ends.
 */
enum { MEMO_SLOTS = 4 };
typedef struct memo_slot {
  td_expr *e;
  td_dict *d;
  td_vec ans, nul;
  td_dict *ans_dict; /* the answers as a dictionary (td__dict_eval_view), made once */
  bool failed;
  uint64_t used;
} memo_slot;
typedef struct memo {
  memo_slot slot[MEMO_SLOTS];
  uint64_t tick;
} memo;

static void slot_reset(memo_slot *s) {
  td_expr_free(s->e);
  td_dict_release(s->d);
  td_dict_release(s->ans_dict);
  td__vec_free(&s->ans);
  td__vec_free(&s->nul);
  memset(s, 0, sizeof *s);
}

static void memo_free(void *p) {
  memo *m = p;
  for (int i = 0; m && i < MEMO_SLOTS; i++) slot_reset(&m->slot[i]);
  td_free(m);
}

static pthread_key_t memo_key;
static bool memo_key_ok;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static void memo_key_init(void) { memo_key_ok = pthread_key_create(&memo_key, memo_free) == 0; }

/* The answers of e over d (column col): *s, evaluated now or before;
 * s->failed when some entry's evaluation failed.  Errors: TD_ENOMEM. */
static int memo_answers(const td_expr *e, int64_t col, const td_dict *d, memo_slot **out, td_error *err) {
  pthread_once(&memo_once, memo_key_init);
  memo *m = memo_key_ok ? pthread_getspecific(memo_key) : NULL;
  if (!m && memo_key_ok && (m = td_calloc(1, sizeof *m)) && pthread_setspecific(memo_key, m) != 0) {
    td_free(m);
    m = NULL;
  }
  static _Thread_local memo_slot one; /* without a key: not kept */
  memo_slot *s = &one;
  if (m) {
    s = &m->slot[0];
    for (int i = 0; i < MEMO_SLOTS; i++) {
      memo_slot *t = &m->slot[i];
      if (t->d && t->d->id == d->id && same_tree(t->e, e)) {
        t->used = ++m->tick;
        *out = t;
        return TD_OK;
      }
      if (t->used < s->used) s = t;
    }
    s->used = ++m->tick;
  }
  slot_reset(s);
  int rc = td_expr_clone(e, &s->e, err);
  if (rc) return rc;
  s->d = td_dict_retain((td_dict *)d); /* the count only: the entries stay as they are */
  td_error tmp;
  td_error_clear(&tmp);
  /* An entry whose answer fails (CAST of a string that is no number) may
   * be one no row uses: the caller then evaluates the rows, and only a
   * row's error is reported. */
  rc = entry_vecs(e, col, d, &s->ans, &s->nul, &tmp);
  if (rc == TD_ENOMEM) {
    if (err) *err = tmp;
    slot_reset(s);
    return rc;
  }
  s->failed = rc != TD_OK;
  *out = s;
  return TD_OK;
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
  memo_slot *s;
  int rc = memo_answers(e, col, d, &s, err);
  if (rc || s->failed || s->nul.ph != TD_PHYS_BOOL) return rc;
  const int64_t nd = d->view.length;
  uint8_t *pass = td_malloc((size_t)nd + 1);
  if (!pass) return td_err_nomem(err, "filtering a dictionary");
  for (int64_t i = 0; i < nd; i++) pass[i] = (!s->ans.valid || s->ans.valid[i]) && s->ans.b8[i];
  pass[nd] = (!s->nul.valid || s->nul.valid[0]) && s->nul.b8[0];
  {
    *n_out = pass_rows(v, pass, nd, pass[nd], in, n, out);
    *done = true;
    atomic_fetch_add_explicit(&filter_chunks, 1, memory_order_relaxed);
  }
  td_free(pass);
  return rc;
}

/* The row's slot in the answers: its code, or nd for a null row. */
#define SLOT(r) (vb && !td_bit_get(vb, off + (r)) ? nd : (int64_t)codes[r])

#define GATHER_FIXED(T)                                                          \
  do {                                                                           \
    T *tab = td_malloc((size_t)(nd + 1) * sizeof(T)), *dst = td_malloc((size_t)(n ? n : 1) * sizeof(T)); \
    td__vec_own(out, tab);                                                       \
    td__vec_own(out, dst);                                                       \
    if (!tab || !dst) return td_err_nomem(err, "evaluating over a dictionary");  \
    if (nd) memcpy(tab, src, (size_t)nd * sizeof(T));                            \
    memcpy(tab + nd, nsrc, sizeof(T));                                           \
    for (int64_t r = 0; r < n; r++) dst[r] = tab[SLOT(r)];                       \
    values = dst;                                                                \
  } while (0)

/* out := the answers of each row of the code view v (n rows) by slot. */
static int gather(const td_vec *ans, const td_vec *nul, int64_t nd, const td_colview *v, int64_t n, td_vec *out,
                  td_error *err) {
  const int32_t *codes = v->codes + v->offset;
  const uint8_t *vb = v->validity && v->null_count != 0 ? v->validity : NULL;
  const int64_t off = v->offset;
  memset(out, 0, sizeof *out);
  out->ph = nul->ph;
  out->n = n;
  const void *values = NULL;
  switch (nul->ph) {
    case TD_PHYS_I64:
    case TD_PHYS_F64: { /* the 8 bytes as they are */
      const uint64_t *src = nul->ph == TD_PHYS_I64 ? (const void *)ans->i64 : (const void *)ans->f64;
      const uint64_t *nsrc = nul->ph == TD_PHYS_I64 ? (const void *)nul->i64 : (const void *)nul->f64;
      GATHER_FIXED(uint64_t);
      if (nul->ph == TD_PHYS_I64) out->i64 = values;
      else out->f64 = values;
      break;
    }
    case TD_PHYS_BOOL: {
      const uint8_t *src = ans->b8, *nsrc = nul->b8;
      GATHER_FIXED(uint8_t);
      out->b8 = values;
      break;
    }
    case TD_PHYS_D128: {
      uint8_t *dst = td_malloc((size_t)(n ? n : 1) * 16);
      td__vec_own(out, dst);
      if (!dst) return td_err_nomem(err, "evaluating over a dictionary");
      for (int64_t r = 0; r < n; r++) {
        int64_t k = SLOT(r);
        memcpy(dst + r * 16, k == nd ? nul->d128 : ans->d128 + k * 16, 16);
      }
      out->d128 = dst;
      break;
    }
    case TD_PHYS_STR: {
      int32_t *offs = td_malloc((size_t)(n + 1) * sizeof *offs);
      td__vec_own(out, offs);
      if (!offs) return td_err_nomem(err, "evaluating over a dictionary");
      int64_t total = 0;
      offs[0] = 0;
      for (int64_t r = 0; r < n; r++) {
        int64_t k = SLOT(r);
        total += k == nd ? nul->offs[1] - nul->offs[0] : ans->offs[k + 1] - ans->offs[k];
        if (total > INT32_MAX) return td_err(err, TD_ERANGE, "a string result exceeds 2 GiB in one batch");
        offs[r + 1] = (int32_t)total;
      }
      char *strs = td_malloc((size_t)(total ? total : 1));
      td__vec_own(out, strs);
      if (!strs) return td_err_nomem(err, "evaluating over a dictionary");
      for (int64_t r = 0; r < n; r++) {
        int64_t k = SLOT(r);
        const char *p = k == nd ? nul->strs + nul->offs[0] : ans->strs + ans->offs[k];
        if (offs[r + 1] > offs[r]) memcpy(strs + offs[r], p, (size_t)(offs[r + 1] - offs[r]));
      }
      out->offs = offs;
      out->strs = strs;
      break;
    }
  }
  /* validity: only when some entry's or the null row's answer is null */
  bool any_null = nul->valid && !nul->valid[0];
  for (int64_t k = 0; !any_null && ans->valid && k < nd; k++) any_null = !ans->valid[k];
  if (any_null) {
    uint8_t *tab = td_malloc((size_t)nd + 1), *valid = td_malloc((size_t)(n ? n : 1));
    td__vec_own(out, valid);
    if (!tab || !valid) {
      td_free(tab);
      return td_err_nomem(err, "evaluating over a dictionary");
    }
    for (int64_t k = 0; k < nd; k++) tab[k] = !ans->valid || ans->valid[k];
    tab[nd] = !nul->valid || nul->valid[0];
    for (int64_t r = 0; r < n; r++) valid[r] = tab[SLOT(r)];
    td_free(tab);
    out->valid = valid;
  }
  return TD_OK;
}

/* The column of b that e (neither a column nor a literal) reads alone, when
 * it arrives as codes into a dictionary of no more entries than b has
 * rows (its index in *col); else NULL. */
static const td_colview *dict_column(const td_expr *e, const td_batch *b, int64_t *col) {
  if (e->kind == TD_EXPR_COLUMN || e->kind == TD_EXPR_LITERAL) return NULL;
  *col = -1;
  only_column(e, col);
  if (*col < 0 || (b->consts && b->consts[*col].type != TD_TYPE_NONE)) return NULL;
  const td_colview *v = &b->cols[*col];
  return v->codes && v->dict && v->dict->view.length <= b->length ? v : NULL;
}

int td__dict_eval_vec(const td_expr *e, const td_batch *b, td_vec *out, bool *done, td_error *err) {
  *done = false;
  int64_t col;
  const td_colview *v = dict_column(e, b, &col);
  if (!v) return TD_OK;
  memo_slot *s;
  int rc = memo_answers(e, col, v->dict, &s, err);
  if (rc || s->failed) return rc;
  rc = gather(&s->ans, &s->nul, v->dict->view.length, v, b->length, out, err);
  if (rc) td__vec_free(out);
  else {
    *done = true;
    atomic_fetch_add_explicit(&eval_chunks, 1, memory_order_relaxed);
  }
  return rc;
}

/* The memo's answers over d's entries as a dictionary of their own (made
 * the first time): text answers, none null. */
static int answer_dict(memo_slot *s, int64_t nd, td_error *err) {
  if (s->ans_dict) return TD_OK;
  td_array arr;
  const int32_t *o = s->ans.offs;
  int rc = td_array_init(&arr, TD_TYPE_UTF8, nd, err);
  if (!rc && nd) rc = td_array_reserve_data(&arr, (int64_t)o[nd] - o[0], err);
  for (int64_t i = 0; !rc && i < nd; i++) rc = td_array_append_str(&arr, s->ans.strs + o[i], o[i + 1] - o[i], err);
  if (!rc) rc = td_dict_copy(&arr, &s->ans_dict, err);
  td_array_reset(&arr);
  return rc;
}

int td__dict_eval_view(const td_expr *e, const td_batch *b, td_colview *out, td_dict **keep, bool *done,
                       td_error *err) {
  *done = false;
  *keep = NULL;
  int64_t col;
  const td_colview *v = e->type == TD_TYPE_UTF8 ? dict_column(e, b, &col) : NULL;
  if (!v) return TD_OK;
  memo_slot *s;
  int rc = memo_answers(e, col, v->dict, &s, err);
  if (rc || s->failed || s->ans.ph != TD_PHYS_STR || s->nul.ph != TD_PHYS_STR) return rc;
  const int64_t nd = v->dict->view.length;
  /* a null row, if any, must answer null (its code means nothing), and no
   * entry may */
  const bool nulls = v->validity && v->null_count != 0;
  if (nulls && (!s->nul.valid || s->nul.valid[0])) return TD_OK;
  if (s->ans.valid)
    for (int64_t i = 0; i < nd; i++)
      if (!s->ans.valid[i]) return TD_OK;
  if ((rc = answer_dict(s, nd, err)) != TD_OK) return rc;
  *out = *v;
  out->dict = s->ans_dict;
  *keep = td_dict_retain(s->ans_dict);
  *done = true;
  atomic_fetch_add_explicit(&view_chunks, 1, memory_order_relaxed);
  return TD_OK;
}
