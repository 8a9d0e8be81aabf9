/*
 * query/window.c - td_table_update_by (tabledata/update_by.h): per-key
 * rolling sums, means, minima, maxima and counts over tick or time windows,
 * cumulative ones, row numbers and lags, as a derived table whose rows are
 * the source's rows (its columns shared) plus the computed columns.
 *
 * Each key (the `by` values of a row, serialized to bytes and hashed) owns,
 * per operation, a deque of its window's (ts, value) entries and running
 * sum and count, so rows appended to a refreshing source are computed from
 * that state alone: a cycle costs the appended rows (times the window for
 * min and max, which scan their deque).
 */
#include "tabledata/update_by.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "query/ops.h"
#include "util/alloc.h"
#include "util/error.h"

#define TD_UB_MAX 64

/* One key's window state for one operation. */
typedef struct wstate {
  double *f;
  int64_t *i, *ts;
  uint8_t *ok;
  int64_t head, n, cap; /* deque: entries head .. head+n-1 (mod cap) */
  double sum, min, max; /* running (sum, count: the deque's valid entries) */
  int64_t cnt, rows;
  int64_t last_ts;
  bool has_ts, has_mm;
} wstate;

typedef struct ub_op {
  int64_t n_ops, n_by;
  td_rolling ops[TD_UB_MAX];
  int64_t in[TD_UB_MAX], tcol[TD_UB_MAX];
  td_type_id out_type[TD_UB_MAX];
  int64_t by[TD_UB_MAX];
  char names[TD_UB_MAX][64], tsnames[TD_UB_MAX][64]; /* for messages */
  int64_t n_fields;
  /* keys: serialized bytes -> group */
  char **kbytes;
  size_t *klen;
  uint64_t *khash;
  int64_t n_groups, cap_groups;
  uint32_t *slots;
  int64_t n_slots;
  wstate **st; /* st[op][group] */
  char *buf;
  size_t buf_cap;
} ub_op;

/* ---- values of a scanned chunk column (view or constant) ---- */

typedef struct col {
  const td_colview *v;
  const td_value *c;
} col;

static bool c_valid(const col *c, int64_t i) { return c->c ? !c->c->is_null : td_colview_valid(c->v, i); }
static double c_double(const col *c, int64_t i) {
  if (c->c) return c->c->type == TD_TYPE_FLOAT64 || c->c->type == TD_TYPE_FLOAT32 ? c->c->v.f : (double)c->c->v.i;
  return td_colview_double(c->v, i);
}
static int64_t c_int(const col *c, int64_t i) { return c->c ? c->c->v.i : td_colview_int(c->v, i); }
static td_value c_value(const col *c, int64_t i) { return c->c ? *c->c : td_colview_value(c->v, i); }

/* ---- keys ---- */

static int buf_need(ub_op *op, size_t n, td_error *err) {
  if (n <= op->buf_cap) return TD_OK;
  size_t cap = op->buf_cap ? op->buf_cap : 256;
  while (cap < n) cap *= 2;
  char *b = td_realloc(op->buf, cap);
  if (!b) return td_err_nomem(err, "computing update_by");
  op->buf = b;
  op->buf_cap = cap;
  return TD_OK;
}

/* Serializes row i's key into op->buf; *len its length. */
static int key_bytes(ub_op *op, const col *keys, int64_t i, size_t *len, td_error *err) {
  size_t at = 0;
  if (!op->buf && buf_need(op, 1, err)) return TD_ENOMEM; /* never NULL, even for no keys */
  for (int64_t k = 0; k < op->n_by; k++) {
    td_value v = c_value(&keys[k], i);
    size_t need = at + 1 + 8 + (td_type_is_varlen(v.type) && !v.is_null ? v.v.s.len + 8 : 0);
    int rc = buf_need(op, need, err);
    if (rc) return rc;
    op->buf[at++] = v.is_null ? 0 : 1;
    if (v.is_null) continue;
    if (td_type_is_varlen(v.type)) {
      uint64_t l = v.v.s.len;
      memcpy(op->buf + at, &l, 8);
      memcpy(op->buf + at + 8, v.v.s.ptr, v.v.s.len);
      at += 8 + v.v.s.len;
    } else if (v.type == TD_TYPE_FLOAT64 || v.type == TD_TYPE_FLOAT32) {
      double d = v.v.f == 0 ? 0 : isnan(v.v.f) ? NAN : v.v.f;
      memcpy(op->buf + at, &d, 8);
      at += 8;
    } else {
      int64_t x = v.type == TD_TYPE_BOOL ? v.v.b : v.v.i;
      memcpy(op->buf + at, &x, 8);
      at += 8;
    }
  }
  *len = at;
  return TD_OK;
}

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

static int grow_slots(ub_op *op, td_error *err) {
  int64_t n = op->n_slots ? 2 * op->n_slots : 64;
  uint32_t *s = td_calloc((size_t)n, sizeof *s);
  if (!s) return td_err_nomem(err, "computing update_by");
  for (int64_t g = 0; g < op->n_groups; g++) {
    int64_t p = (int64_t)(op->khash[g] & (uint64_t)(n - 1));
    while (s[p]) p = (p + 1) & (n - 1);
    s[p] = (uint32_t)(g + 1);
  }
  td_free(op->slots);
  op->slots = s;
  op->n_slots = n;
  return TD_OK;
}

/* The group of the key in op->buf[0..len), created when new. */
static int group_of(ub_op *op, size_t len, int64_t *g, td_error *err) {
  uint64_t h = hash_bytes(op->buf, len);
  if (op->n_slots) {
    for (int64_t p = (int64_t)(h & (uint64_t)(op->n_slots - 1));; p = (p + 1) & (op->n_slots - 1)) {
      uint32_t e = op->slots[p];
      if (!e) break;
      if (op->khash[e - 1] == h && op->klen[e - 1] == len && memcmp(op->kbytes[e - 1], op->buf, len) == 0) {
        *g = e - 1;
        return TD_OK;
      }
    }
  }
  int rc = TD_OK;
  if (2 * (op->n_groups + 1) > op->n_slots && (rc = grow_slots(op, err)) != TD_OK) return rc;
  if (op->n_groups == op->cap_groups) {
    int64_t cap = op->cap_groups ? 2 * op->cap_groups : 64;
    char **kb = td_realloc(op->kbytes, (size_t)cap * sizeof *kb);
    if (kb) op->kbytes = kb;
    size_t *kl = kb ? td_realloc(op->klen, (size_t)cap * sizeof *kl) : NULL;
    if (kl) op->klen = kl;
    uint64_t *kh = kl ? td_realloc(op->khash, (size_t)cap * sizeof *kh) : NULL;
    if (kh) op->khash = kh;
    for (int64_t j = 0; kh && j < op->n_ops; j++) {
      wstate *s = td_realloc(op->st[j], (size_t)cap * sizeof *s);
      if (!s) {
        kh = NULL;
        break;
      }
      op->st[j] = s;
    }
    if (!kh) return td_err_nomem(err, "computing update_by");
    op->cap_groups = cap;
  }
  int64_t id = op->n_groups;
  op->kbytes[id] = td_malloc(len + 1);
  if (!op->kbytes[id]) return td_err_nomem(err, "computing update_by");
  memcpy(op->kbytes[id], op->buf, len);
  op->klen[id] = len;
  op->khash[id] = h;
  for (int64_t j = 0; j < op->n_ops; j++) memset(&op->st[j][id], 0, sizeof op->st[j][id]);
  op->n_groups++;
  int64_t p = (int64_t)(h & (uint64_t)(op->n_slots - 1));
  while (op->slots[p]) p = (p + 1) & (op->n_slots - 1);
  op->slots[p] = (uint32_t)(id + 1);
  *g = id;
  return TD_OK;
}

static void wstate_free(wstate *s) {
  td_free(s->f);
  td_free(s->i);
  td_free(s->ts);
  td_free(s->ok);
}

static void keys_reset(ub_op *op) {
  for (int64_t g = 0; g < op->n_groups; g++) {
    td_free(op->kbytes[g]);
    for (int64_t j = 0; j < op->n_ops; j++) wstate_free(&op->st[j][g]);
  }
  op->n_groups = 0;
  td_free(op->slots);
  op->slots = NULL;
  op->n_slots = 0;
}

/* ---- windows ---- */

static int dq_push(wstate *s, double f, int64_t i, int64_t ts, bool ok, td_error *err) {
  if (s->n == s->cap) {
    int64_t cap = s->cap ? 2 * s->cap : 8;
    double *nf = td_malloc((size_t)cap * sizeof *nf);
    int64_t *ni = td_malloc((size_t)cap * sizeof *ni), *nt = td_malloc((size_t)cap * sizeof *nt);
    uint8_t *no = td_malloc((size_t)cap);
    if (!nf || !ni || !nt || !no) {
      td_free(nf);
      td_free(ni);
      td_free(nt);
      td_free(no);
      return td_err_nomem(err, "computing update_by");
    }
    for (int64_t k = 0; k < s->n; k++) {
      int64_t at = (s->head + k) % (s->cap ? s->cap : 1);
      nf[k] = s->f[at], ni[k] = s->i[at], nt[k] = s->ts[at], no[k] = s->ok[at];
    }
    wstate_free(s);
    s->f = nf, s->i = ni, s->ts = nt, s->ok = no;
    s->head = 0;
    s->cap = cap;
  }
  int64_t at = (s->head + s->n) % s->cap;
  s->f[at] = f, s->i[at] = i, s->ts[at] = ts, s->ok[at] = ok;
  s->n++;
  if (ok) s->sum += f, s->cnt++;
  return TD_OK;
}

static void dq_pop(wstate *s) {
  int64_t at = s->head;
  if (s->ok[at]) s->sum -= s->f[at], s->cnt--;
  s->head = (s->head + 1) % s->cap;
  s->n--;
  if (s->cnt == 0) s->sum = 0; /* no drift once empty */
}

/* Min or max of the deque's valid entries; false when none. */
static bool dq_extreme(const wstate *s, bool max, double *out) {
  bool any = false;
  double m = 0;
  for (int64_t k = 0; k < s->n; k++) {
    int64_t at = (s->head + k) % s->cap;
    if (!s->ok[at]) continue;
    double f = s->f[at];
    if (!any || (max ? f > m : f < m)) m = f;
    any = true;
  }
  *out = m;
  return any;
}

/* Row i of op j for group state s: appends the output to a. */
static int compute(ub_op *op, int64_t j, wstate *s, const col *in, const col *tc, int64_t i, td_array *a,
                   td_error *err) {
  const td_rolling *r = &op->ops[j];
  if (r->kind == TD_ROLL_ROW_NUMBER) return td_array_append_int(a, ++s->rows, err);
  bool ok = c_valid(in, i);
  double f = ok ? c_double(in, i) : 0;
  int64_t iv = ok ? c_int(in, i) : 0;
  int rc = TD_OK;
  if (r->kind == TD_ROLL_LAG) {
    bool have = s->n == r->ticks;
    int64_t at = s->head;
    if (!have || !s->ok[at]) rc = td_array_append_null(a, err);
    else if (op->out_type[j] == TD_TYPE_FLOAT64) rc = td_array_append_double(a, s->f[at], err);
    else rc = td_array_append_int(a, s->i[at], err);
    if (rc == TD_OK) rc = dq_push(s, f, iv, 0, ok, err);
    if (rc == TD_OK && s->n > r->ticks) dq_pop(s);
    return rc;
  }
  bool cumulative = r->ticks == 0 && !r->ts;
  if (cumulative) {
    if (ok) {
      s->sum += f;
      s->cnt++;
      if (!s->has_mm || f < s->min) s->min = f;
      if (!s->has_mm || f > s->max) s->max = f;
      s->has_mm = true;
    }
  } else if (r->ts) {
    if (!c_valid(tc, i)) return td_err(err, TD_EINVAL, "update_by %s: the time column %s has a null", r->name, r->ts);
    int64_t t = c_int(tc, i);
    if (s->has_ts && t < s->last_ts)
      return td_err(err, TD_EINVAL, "update_by %s: %s goes back in time within a key (%lld after %lld)", r->name,
                    r->ts, (long long)t, (long long)s->last_ts);
    s->has_ts = true;
    s->last_ts = t;
    if ((rc = dq_push(s, f, iv, t, ok, err)) != TD_OK) return rc;
    while (s->n > 0 && s->ts[s->head] <= t - r->window_ns) dq_pop(s);
  } else {
    if ((rc = dq_push(s, f, iv, 0, ok, err)) != TD_OK) return rc;
    if (s->n > r->ticks) dq_pop(s);
  }
  double m;
  switch (r->kind) {
    case TD_ROLL_COUNT: return td_array_append_int(a, s->cnt, err);
    case TD_ROLL_SUM: return s->cnt ? td_array_append_double(a, s->sum, err) : td_array_append_null(a, err);
    case TD_ROLL_AVG:
      return s->cnt ? td_array_append_double(a, s->sum / (double)s->cnt, err) : td_array_append_null(a, err);
    default: {
      bool max = r->kind == TD_ROLL_MAX;
      bool any = cumulative ? s->has_mm : dq_extreme(s, max, &m);
      if (cumulative) m = max ? s->max : s->min;
      return any ? td_array_append_double(a, m, err) : td_array_append_null(a, err);
    }
  }
}

/* Output chunk for one scanned chunk. */
static int ub_chunk(ub_op *op, const td_scan *sc, const td_chunk *ch, td_dchunk **out, td_error *err) {
  int64_t nf = op->n_fields, n = ch->length;
  col *all = td_calloc((size_t)nf + 1, sizeof *all);
  td_array *arr = td_calloc((size_t)op->n_ops + 1, sizeof *arr);
  int64_t *grp = td_malloc((size_t)(n + 1) * sizeof *grp);
  int rc = all && arr && grp ? TD_OK : td_err_nomem(err, "computing update_by");
  for (int64_t c = 0; rc == TD_OK && c < sc->n_cols; c++) {
    all[c].v = ch->consts[c] ? NULL : &ch->views[c];
    all[c].c = ch->consts[c];
  }
  col keys[TD_UB_MAX];
  for (int64_t k = 0; rc == TD_OK && k < op->n_by; k++) keys[k] = all[op->by[k]];
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    size_t len;
    rc = key_bytes(op, keys, i, &len, err);
    if (rc == TD_OK) rc = group_of(op, len, &grp[i], err);
  }
  for (int64_t j = 0; rc == TD_OK && j < op->n_ops; j++) {
    rc = td_array_init(&arr[j], op->out_type[j], n, err);
    const col *in = op->in[j] >= 0 ? &all[op->in[j]] : NULL;
    const col *tc = op->tcol[j] >= 0 ? &all[op->tcol[j]] : NULL;
    for (int64_t i = 0; rc == TD_OK && i < n; i++) rc = compute(op, j, &op->st[j][grp[i]], in, tc, i, &arr[j], err);
  }
  td_dchunk *c = NULL;
  if (rc == TD_OK) rc = td_dchunk_new(nf + op->n_ops, n, &c, err);
  for (int64_t i = 0; rc == TD_OK && i < nf; i++) {
    if (ch->consts[i]) rc = td_dchunk_set_const(c, i, ch->consts[i], err);
    else td_dchunk_set_view(c, i, &ch->views[i], ch->owners[i]);
  }
  for (int64_t j = 0; rc == TD_OK && j < op->n_ops; j++) rc = td_dchunk_set_array(c, nf + j, &arr[j], err);
  for (int64_t j = 0; arr && j < op->n_ops; j++) td_array_reset(&arr[j]);
  td_free(all);
  td_free(arr);
  td_free(grp);
  if (rc) {
    td_dchunk_release(c);
    return rc;
  }
  *out = c;
  return TD_OK;
}

static int ub_apply(td_table *t, const td_source_delta *d, td_op_result *out, td_error *err) {
  ub_op *op = t->op;
  int64_t whole[2] = {0, d->snap->size};
  const int64_t *r = d->replaced ? whole : d->ranges;
  int64_t nr = d->replaced ? 1 : d->n_ranges;
  if (d->replaced) keys_reset(op);
  td_dchunk **more = NULL;
  int64_t n_more = 0, cap = 0;
  int rc = TD_OK;
  for (int64_t k = 0; rc == TD_OK && k < nr; k++) {
    td_scan sc;
    if ((rc = td_scan_init(&sc, t->source, d->snap, NULL, 0, r[2 * k], r[2 * k + 1], err)) != TD_OK) break;
    for (;;) {
      td_chunk ch;
      bool done;
      if ((rc = td_scan_next(&sc, &ch, &done, err)) != TD_OK || done) break;
      td_dchunk *c;
      if ((rc = ub_chunk(op, &sc, &ch, &c, err)) != TD_OK) break;
      if (n_more == cap) {
        cap = cap ? 2 * cap : 16;
        td_dchunk **m = td_realloc(more, (size_t)cap * sizeof *m);
        if (!m) {
          td_dchunk_release(c);
          rc = td_err_nomem(err, "computing update_by");
          break;
        }
        more = m;
      }
      more[n_more++] = c;
    }
    td_scan_release(&sc);
  }
  if (rc == TD_OK && (d->replaced || n_more > 0)) {
    td_snapshot *cur = td_table_snapshot(t);
    rc = td_snapshot_derived(d->replaced ? NULL : cur, more, n_more, d->version, &out->snap, err);
    out->replaced = d->replaced;
    out->appended_from = d->replaced ? 0 : cur->size;
    td_snapshot_release(cur);
  }
  for (int64_t i = 0; i < n_more; i++) td_dchunk_release(more[i]);
  td_free(more);
  return rc;
}

static void ub_free(void *p) {
  ub_op *op = p;
  if (!op) return;
  keys_reset(op);
  for (int64_t j = 0; j < op->n_ops; j++) td_free(op->st[j]);
  td_free(op->st);
  td_free(op->kbytes);
  td_free(op->klen);
  td_free(op->khash);
  td_free(op->buf);
  td_free(op);
}

static const td_op_vtable ub_vt = {ub_apply, ub_free, false};

static bool numeric_or_time(td_type_id t) { return !td_type_is_varlen(t) && t != TD_TYPE_NONE && t != TD_TYPE_BOOL; }

int td_table_update_by(td_table *source, const td_rolling *ops, int64_t n_ops, const char *const *by, int64_t n_by,
                       td_table **out, td_error *err) {
  if (out) *out = NULL;
  if (!source || !ops || !out || (n_by > 0 && !by))
    return td_err(err, TD_EINVAL, "update_by: expected a table, operations and an output pointer, found NULL");
  if (n_ops < 1 || n_ops > TD_UB_MAX || n_by < 0 || n_by > TD_UB_MAX)
    return td_err(err, TD_EINVAL, "update_by: expected 1 to 64 operations and 0 to 64 keys, found %lld and %lld",
                  (long long)n_ops, (long long)n_by);
  const td_schema *def = source->def;
  ub_op *op = td_calloc(1, sizeof *op);
  if (!op) return td_err_nomem(err, "creating update_by");
  op->n_ops = n_ops;
  op->n_by = n_by;
  op->n_fields = def->n_fields;
  op->st = td_calloc((size_t)n_ops, sizeof *op->st);
  int rc = op->st ? TD_OK : td_err_nomem(err, "creating update_by");
  td_schema out_def;
  td_schema_init(&out_def);
  if (rc == TD_OK) rc = td_schema_copy(def, &out_def, err);
  for (int64_t k = 0; rc == TD_OK && k < n_by; k++) {
    op->by[k] = by[k] ? td_schema_find(def, by[k]) : -1;
    if (op->by[k] < 0) rc = td_err(err, TD_ETYPE, "update_by: no key column %s", by[k] ? by[k] : "(NULL)");
  }
  for (int64_t j = 0; rc == TD_OK && j < n_ops; j++) {
    const td_rolling *r = &ops[j];
    op->ops[j] = *r;
    op->in[j] = op->tcol[j] = -1;
    if (!r->name || td_schema_find(&out_def, r->name) >= 0) {
      rc = td_err(err, TD_EINVAL, "update_by: operation %lld needs a new column name, found %s", (long long)j,
                  r->name ? r->name : "NULL");
      break;
    }
    op->ops[j].name = op->ops[j].ts = op->ops[j].column = NULL;
    if (r->kind < TD_ROLL_SUM || r->kind > TD_ROLL_LAG) {
      rc = td_err(err, TD_EINVAL, "update_by %s: unknown operation %d", r->name, (int)r->kind);
      break;
    }
    if (r->kind != TD_ROLL_ROW_NUMBER) {
      op->in[j] = r->column ? td_schema_find(def, r->column) : -1;
      if (op->in[j] < 0) {
        rc = td_err(err, TD_ETYPE, "update_by %s: no column %s", r->name, r->column ? r->column : "(NULL)");
        break;
      }
      td_type_id it = def->fields[op->in[j]].type;
      if (!numeric_or_time(it)) {
        rc = td_err(err, TD_ETYPE, "update_by %s: expected a numeric or time column, found %s %s", r->name,
                    r->column, td_type_name(it));
        break;
      }
      bool fl = it == TD_TYPE_FLOAT64 || it == TD_TYPE_FLOAT32;
      op->out_type[j] = r->kind == TD_ROLL_COUNT ? TD_TYPE_INT64
                        : r->kind == TD_ROLL_LAG ? (fl ? TD_TYPE_FLOAT64 : it)
                                                 : TD_TYPE_FLOAT64;
    } else {
      op->out_type[j] = TD_TYPE_INT64;
    }
    if (r->kind == TD_ROLL_LAG && (r->ticks < 1 || r->ts))
      rc = td_err(err, TD_EINVAL, "update_by %s: lag needs an offset >= 1 in ticks and no ts", r->name);
    else if (r->ticks < 0 || (r->ts && r->window_ns <= 0))
      rc = td_err(err, TD_EINVAL, "update_by %s: expected ticks >= 0 or a positive time window", r->name);
    else if (r->ts && r->kind != TD_ROLL_ROW_NUMBER) {
      op->tcol[j] = td_schema_find(def, r->ts);
      td_type_id tt = op->tcol[j] >= 0 ? def->fields[op->tcol[j]].type : TD_TYPE_NONE;
      if (op->tcol[j] < 0 || !numeric_or_time(tt) || tt == TD_TYPE_FLOAT64 || tt == TD_TYPE_FLOAT32)
        rc = td_err(err, TD_ETYPE, "update_by %s: expected a timestamp or integer time column, found %s", r->name,
                    r->ts);
    }
    const td_field *in = op->in[j] >= 0 ? &def->fields[op->in[j]] : NULL;
    if (rc == TD_OK)
      rc = td_schema_add(&out_def, r->name, op->out_type[j], in && op->out_type[j] == in->type ? in->tz : NULL, true,
                         err);
    snprintf(op->names[j], sizeof op->names[j], "%s", r->name);
    snprintf(op->tsnames[j], sizeof op->tsnames[j], "%s", r->ts ? r->ts : "");
    op->ops[j].column = NULL; /* the caller's strings are not kept */
    op->ops[j].name = op->names[j];
    op->ops[j].ts = r->ts ? op->tsnames[j] : NULL;
  }
  if (rc) {
    td_schema_reset(&out_def);
    ub_free(op);
    return rc;
  }
  rc = td_derived_new(source, &out_def, &ub_vt, op, out, err);
  td_schema_reset(&out_def);
  return rc;
}
