/*
 * tests/query/test_dict_codes.c - dictionary-encoded utf8 columns kept as
 * codes through filters and group-bys (arrow/dict.h, query/dict_eval.c).
 *
 * A test backend serves table "t" (partition P, data columns s utf8 with
 * nulls and v int64) either plainly or with s answered as Arrow dictionary
 * arrays: every request gets its own dictionary (a rotation of the words
 * plus an entry no row uses, and a second entry of the first word's string,
 * which half its rows use: legal in Parquet, two codes for one string), so
 * the dictionary is replaced between pages,
 * and every third block of rows is answered plain (a location mixing
 * dictionary and plain pages).  Every query must give the same text on the
 * dictionary service as on the plain one, and the fast paths must run;
 * windows partitioned by the string (read as codes, query/win_codes.c) too.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include "arrow/schema.h"
#include "formats/parquet/writer.h"
#include "arrow/dict.h"
#include "query/agg.h"
#include "query/expr.h"
#include "query/vec.h"
#include "query/sql_window.h"
#include "tabledata.h"
#include "test.h"
#include "mtable.h"

#define NW 6
#define RG 50
/* one word longer than 8 bytes: the group-by's short-key index skips it */
static const char *const words[NW] = {"alpha", "beta", "gamma", "delta", "ab", "zeta-is-a-long-word"};

typedef struct dk {
  pthread_mutex_t lock;
  bool dict;      /* answer s as dictionary arrays */
  bool bad;       /* an index out of range */
  int64_t n_locs; /* locations L0.. */
  int64_t rows;   /* rows per location */
  td_request sub;
  bool has_sub;
} dk;

/* The word of row r of location l, or -1 for null. */
/* Writes the builder's column (freed) as one batch of w. */
static void write_column(td_parquet_writer *w, td_builder *b) {
  td_error err;
  struct ArrowArray col, batch;
  td_builder_finish(b, &col, NULL);
  td_builder_free(b);
  TD_ASSERT_OK(td_batch_make(1, &col, &batch, &err), &err);
  TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
  batch.release(&batch);
}

static int word_of(int64_t l, int64_t r) { return r % 7 == 3 ? -1 : (int)((r * 5 + l * 3 + r / 50) % NW); }

static void d_schema(void *self, const td_table_key *t, td_request r) {
  (void)self, (void)t;
  const char *names[2] = {"s", "v"};
  td_type_id types[2] = {TD_TYPE_UTF8, TD_TYPE_INT64};
  const char *pn[1] = {"P"};
  td_type_id pt[1] = {TD_TYPE_UTF8};
  struct ArrowSchema ds, ps;
  td_schema_make(2, names, types, NULL, &ds, NULL);
  td_schema_make(1, pn, pt, NULL, &ps, NULL);
  td_answer_schema(r, &ds, &ps, NULL);
}

/* Answers every location of d and success; false after answering a failure
 * (an allocation sweep failed a key's allocation). */
static bool answer_locations(dk *d, td_request r) {
  for (int64_t i = 0; i < d->n_locs; i++) {
    td_location_key *k = td_script_key(i);
    if (!k) {
      td_answer_failure(r, "out of memory making a location key", NULL);
      return false;
    }
    td_answer_location(r, k, NULL);
    td_location_key_release(k);
  }
  td_answer_success(r, NULL);
  return true;
}

static void d_locations(void *self, const td_table_key *t, td_request r) {
  dk *d = self;
  (void)t;
  answer_locations(d, r);
}

static void d_sub_locs(void *self, const td_table_key *t, td_request r) {
  dk *d = self;
  (void)t;
  pthread_mutex_lock(&d->lock);
  if (!answer_locations(d, r)) {
    pthread_mutex_unlock(&d->lock);
    return;
  }
  d->sub = r;
  d->has_sub = true;
  pthread_mutex_unlock(&d->lock);
}

static void d_size(void *self, const td_table_key *t, const td_location_key *l, td_request r) {
  dk *d = self;
  (void)t, (void)l;
  td_answer_size(r, d->rows, NULL);
}

static void d_sub_size(void *self, const td_table_key *t, const td_location_key *l, td_request r) {
  dk *d = self;
  (void)t, (void)l;
  td_answer_size(r, d->rows, NULL);
  td_answer_success(r, NULL);
}

static void d_unsub(void *self, td_request r) { (void)self, (void)r; }

/* A dictionary array of rows [off, off + n) of location l. */
typedef struct dict_priv {
  uint8_t *valid;
  int32_t *codes;
  const void *bufs[2];
  struct ArrowArray entries;
} dict_priv;

static void dict_release(struct ArrowArray *a) {
  dict_priv *p = a->private_data;
  free(p->valid);
  free(p->codes);
  p->entries.release(&p->entries);
  free(p);
  a->release = NULL;
}

static void schema_release(struct ArrowSchema *s) {
  free(s->dictionary);
  s->release = NULL;
}

static void answer_dict(dk *d, int64_t l, int64_t off, int64_t n, const char *col, td_request r) {
  int rot = (int)((l * 7 + off / RG + off) % NW);
  td_builder *b;
  td_builder_new(TD_TYPE_UTF8, &b, NULL);
  for (int i = 0; i < NW; i++) td_builder_append_str(b, words[(i + rot) % NW], -1, NULL);
  char unused[32];
  snprintf(unused, sizeof unused, "unused-%lld", (long long)off);
  td_builder_append_str(b, unused, -1, NULL);
  td_builder_append_str(b, words[rot], -1, NULL); /* entry NW + 1: entry 0 again */
  dict_priv *p = calloc(1, sizeof *p);
  td_builder_finish(b, &p->entries, NULL);
  td_builder_free(b);
  p->valid = calloc((size_t)(n + 8) / 8, 1);
  p->codes = calloc((size_t)n + 1, sizeof *p->codes);
  int64_t nulls = 0;
  for (int64_t i = 0; i < n; i++) {
    int w = word_of(l, off + i);
    if (w < 0) {
      nulls++;
      p->codes[i] = 77; /* garbage under a null: never read */
    } else {
      p->valid[i / 8] |= (uint8_t)(1u << (i % 8));
      p->codes[i] = (w - rot + NW) % NW;
      if (p->codes[i] == 0 && i % 2 == 1) p->codes[i] = NW + 1;
    }
  }
  if (d->bad && n > 1) p->codes[1] = NW + 5, p->valid[0] |= 2;
  p->bufs[0] = p->valid;
  p->bufs[1] = p->codes;
  struct ArrowArray arr = {0};
  arr.length = n;
  arr.null_count = nulls;
  arr.n_buffers = 2;
  arr.buffers = p->bufs;
  arr.dictionary = &p->entries;
  arr.private_data = p;
  arr.release = dict_release;
  struct ArrowSchema *ds = calloc(1, sizeof *ds);
  ds->format = "u";
  ds->name = "";
  ds->release = schema_release; /* never called: owned by the parent */
  struct ArrowSchema sch = {0};
  sch.format = "i";
  sch.name = col;
  sch.flags = ARROW_FLAG_NULLABLE;
  sch.dictionary = ds;
  sch.release = schema_release;
  td_answer_values(r, &sch, &arr, NULL);
}

static void d_values(void *self, const td_table_key *t, const td_location_key *lk, const char *col, int64_t off,
                     int64_t mn, int64_t mx, td_request r) {
  dk *d = self;
  (void)t, (void)mx;
  int64_t l = td_script_index(lk), n = mn;
  bool is_s = strcmp(col, "s") == 0;
  if (is_s && d->dict && (off / RG) % 3 != 2) {
    answer_dict(d, l, off, n, col, r);
    return;
  }
  td_type_id ty = is_s ? TD_TYPE_UTF8 : TD_TYPE_INT64;
  td_builder *b;
  td_builder_new(ty, &b, NULL);
  for (int64_t i = 0; i < n; i++) {
    if (!is_s) td_builder_append_int(b, off + i, NULL);
    else if (word_of(l, off + i) < 0) td_builder_append_null(b, NULL);
    else td_builder_append_str(b, words[word_of(l, off + i)], -1, NULL);
  }
  struct ArrowArray arr;
  td_builder_finish(b, &arr, NULL);
  td_builder_free(b);
  struct ArrowSchema wrapper, sch;
  td_schema_make(1, &col, &ty, NULL, &wrapper, NULL);
  sch = *wrapper.children[0];
  wrapper.children[0]->release = NULL;
  wrapper.release(&wrapper);
  td_answer_values(r, &sch, &arr, NULL);
}

static const td_backend_vtable dk_vt = {d_schema, d_locations, d_size,  d_values,
                                        d_sub_locs, d_sub_size, d_unsub, NULL, NULL, NULL};

typedef struct env {
  dk dict, plain;
  td_service *sd, *sp;
  td_service *sf; /* optional: a Parquet file served by the file backend, as "d" */
  const char *f_table;
} env;

static int resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key,
                   td_error *err) {
  env *e = ctx;
  if (is_path || (strcmp(name, "d") != 0 && strcmp(name, "p") != 0)) {
    err->code = TD_ENOTFOUND;
    snprintf(err->message, sizeof err->message, "no table %s", name);
    return TD_ENOTFOUND;
  }
  int rc = td_table_key_new(name[0] == 'd' && e->sf ? e->f_table : "t", key, err);
  if (rc == TD_OK) *svc = td_service_retain(name[0] == 'p' ? e->sp : e->sf ? e->sf : e->sd);
  return rc;
}

static void env_open(env *e, int64_t n_locs, int64_t rows, int64_t page_size) {
  memset(e, 0, sizeof *e);
  dk *both[2] = {&e->dict, &e->plain};
  td_service **svcs[2] = {&e->sd, &e->sp};
  for (int i = 0; i < 2; i++) {
    pthread_mutex_init(&both[i]->lock, NULL);
    both[i]->dict = i == 0;
    both[i]->n_locs = n_locs;
    both[i]->rows = rows;
    td_service_options o;
    td_service_options_init(&o);
    o.page_size = page_size;
    o.update_period_ms = 3600 * 1000;
    td_backend be = {&dk_vt, both[i]};
    td_error err;
    TD_ASSERT_OK(td_service_new(be, &o, svcs[i], &err), &err);
  }
}

static void env_close(env *e) {
  td_service_free(e->sd);
  td_service_free(e->sp);
  pthread_mutex_destroy(&e->dict.lock);
  pthread_mutex_destroy(&e->plain.lock);
}

/* Options resolving names in e. */
static td_query_options options_of(env *e) {
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = e;
  return qo;
}

/* The query's text on the dictionary service ('T' replaced by d) and on the
 * plain one (p): must be equal; returns it (caller frees). */
static char *same(env *e, const char *sql, int threads) {
  char q[512];
  td_query_options qo = options_of(e);
  qo.threads = threads;
  char *out[2];
  for (int i = 0; i < 2; i++) {
    snprintf(q, sizeof q, "%s", sql);
    char *t = strstr(q, " T");
    assert_non_null(t);
    t[1] = i == 0 ? 'd' : 'p';
    out[i] = mt_query_text(q, &qo);
  }
  if (strcmp(out[0], out[1]) != 0) fail_msg("%s\n  dict:  %.300s\n  plain: %.300s", sql, out[0], out[1]);
  free(out[1]);
  return out[0];
}

/* same() for each of the n queries at 1, 2, 4 ... up to max_threads threads. */
static void same_each(env *e, const char *const *qs, size_t n, int max_threads) {
  for (size_t i = 0; i < n; i++)
    for (int th = 1; th <= max_threads; th *= 2) free(same(e, qs[i], th));
}

static const char *const filters[] = {
    "s = 'beta'", "s <> 'beta'", "s IN ('alpha', 'gamma')", "s NOT IN ('alpha')", "s LIKE 'a%'",
    "s NOT LIKE '%a'", "s IS NULL", "s IS NOT NULL", "s > 'c'", "upper(s) = 'BETA'",
    "s = 'beta' OR s IS NULL", "coalesce(s, 'x') = 'x'", "length(s) = 2", "s = 'nothing'",
    "s = 'unused-0'", "s = 'beta' AND v > 100", "v < 60 AND s IN ('zeta-is-a-long-word', 'ab')",
};

/* GLOB with a literal between '*'s compares bytes (td__vec_pattern); the
 * same pattern with a one-character class ([a] for a) goes through the
 * matcher row by row: the answers agree, dictionary and plain, and are not
 * empty. */
static void test_glob_shapes(void **state) {
  (void)state;
  static const char *const pairs[][2] = {
      {"s GLOB 'a*'", "s GLOB '[a]*'"},           {"s GLOB '*a'", "s GLOB '*[a]'"},
      {"s GLOB '*et*'", "s GLOB '*[e]t*'"},       {"s GLOB 'beta'", "s GLOB '[b]eta'"},
      {"s NOT GLOB 'a*'", "s NOT GLOB '[a]*'"},   {"s GLOB '**'", "s IS NOT NULL"},
      {"s GLOB 'zeta-is*'", "s GLOB 'zeta-i[s]*'"},
  };
  env e;
  env_open(&e, 3, 400, 64);
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
    for (int th = 1; th <= 2; th++) {
      char a[256], b[256];
      snprintf(a, sizeof a, "SELECT count(*), sum(v) FROM T WHERE %s", pairs[i][0]);
      snprintf(b, sizeof b, "SELECT count(*), sum(v) FROM T WHERE %s", pairs[i][1]);
      char *x = same(&e, a, th), *y = same(&e, b, th);
      if (strcmp(x, y) != 0) fail_msg("%s: %s\n%s: %s", a, x, b, y);
      assert_true(strncmp(x, "0|", 2) != 0);
      free(x);
      free(y);
    }
  env_close(&e);
}

/* Every predicate form: the same answer as the decoded path, through the
 * dictionary filter: pages of 64 rows (one block of 64 codes), and of 200
 * (three blocks and a tail): no entry, one, two (two codes of one string,
 * IN) or many passing, with and without the null row passing. */
static void test_filters(void **state) {
  (void)state;
  static const int64_t page_sizes[] = {64, 200};
  for (size_t ps = 0; ps < 2; ps++) {
    env e;
    env_open(&e, 3, 400, page_sizes[ps]);
    int64_t before = td__dict_stats(NULL);
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
      for (int th = 1; th <= 2; th++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*), sum(v) FROM T WHERE %s", filters[i]);
        free(same(&e, sql, th));
        snprintf(sql, sizeof sql, "SELECT P, count(*), min(v) FROM T WHERE %s GROUP BY P ORDER BY P", filters[i]);
        free(same(&e, sql, th));
      }
    }
    char *t = same(&e, "SELECT count(*) FROM T WHERE s = 'beta'", 1);
    /* 3 x 400 rows, 1 in 7 null, 1 in 6 of the rest beta-ish: not zero */
    assert_true(strcmp(t, "0|;") != 0);
    free(t);
    assert_true(td__dict_stats(NULL) > before);
    env_close(&e);
  }
}

/* Group by on codes == group by on decoded strings; no group for a
 * dictionary entry no row uses; other outputs decoded. */
static void test_group_by(void **state) {
  (void)state;
  env e;
  env_open(&e, 3, 400, 64);
  int64_t g0, g1;
  td__dict_stats(&g0);
  const char *qs[] = {
      "SELECT s, count(*), sum(v), min(v), max(v), avg(v) FROM T GROUP BY s ORDER BY s",
      "SELECT s, count(*) FROM T WHERE v > 30 GROUP BY s ORDER BY s",
      /* folded in the lookup loop: one aggregate, or one beside count(*) */
      "SELECT s, count(*), sum(v) FROM T GROUP BY s ORDER BY s",
      "SELECT s, max(v), count(*) FROM T WHERE v % 3 <> 0 GROUP BY s ORDER BY s",
      "SELECT s, sum(v) FROM T WHERE v < 300 GROUP BY s ORDER BY s",
      "SELECT s, count(*), avg(v) FROM T GROUP BY s ORDER BY s",
      "SELECT s FROM T GROUP BY s ORDER BY s",
      "SELECT s, count(*) FROM T WHERE s LIKE '%a' GROUP BY s ORDER BY s",
      "SELECT s, P, count(*), sum(v) FROM T GROUP BY s, P ORDER BY s, P",
      "SELECT P, s, count(*) FROM T GROUP BY P, s ORDER BY P, s",
      "SELECT min(s), max(s), count(s), count(*) FROM T",
      "SELECT upper(s) AS u, count(*) FROM T GROUP BY u ORDER BY u",
      "SELECT s, v FROM T WHERE s = 'delta' ORDER BY v LIMIT 7",
      "SELECT * FROM T WHERE v BETWEEN 60 AND 70 ORDER BY P, v",
      "SELECT DISTINCT s FROM T ORDER BY s",
  };
  same_each(&e, qs, sizeof qs / sizeof *qs, 2);
  char *t = same(&e, "SELECT count(*) FROM (SELECT s FROM T GROUP BY s) x", 1);
  assert_string_equal(t, "7|;"); /* six words and null: no unused entry */
  free(t);
  td__dict_stats(&g1);
  assert_true(g1 > g0);
  env_close(&e);
}

/* Windows partitioned by the string (and the location's constant P): the
 * operator reads them as codes into one dictionary of its own, from pages
 * of changing dictionaries, plain pages and nulls; the same text as on the
 * plain service, and as over a projection (a WHERE keeping every row). */
static void test_windows(void **state) {
  (void)state;
  env e;
  env_open(&e, 3, 400, 64);
  td_query_options qo = options_of(&e);
  static const char *const qs[] = {
      "SELECT s, v, sum(v) OVER (PARTITION BY s ORDER BY v ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS a, "
      "count(*) OVER (PARTITION BY s) AS c FROM T%s ORDER BY s, v, a",
      "SELECT P, s, v, row_number() OVER (PARTITION BY s, P ORDER BY v DESC) AS rn, avg(v) OVER (PARTITION BY s "
      "ORDER BY v RANGE BETWEEN 10 PRECEDING AND CURRENT ROW) AS m FROM T%s ORDER BY P, s, v, rn",
  };
  for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
    char sql[512], where[512];
    snprintf(sql, sizeof sql, qs[i], "");
    snprintf(where, sizeof where, qs[i], " WHERE v IS NULL OR v >= 0");
    for (int th = 1; th <= 2; th++) {
      char *a = same(&e, sql, th), *b = same(&e, where, th);
      assert_string_equal(a, b);
      assert_true(strlen(a) > 1000);
      free(a);
      free(b);
    }
    td_table *t;
    td_error err;
    char *d = strstr(sql, " T");
    d[1] = 'd';
    TD_ASSERT_OK(td_query(sql, &qo, &t, &err), &err);
    assert_true(td__window_reads_source(t) > 0); /* read as codes, not through a projection */
    td_table_release(t);
  }
  env_close(&e);
}

/* Top-N on a string key: read as codes (each entry compared with the
 * threshold once per dictionary and threshold) or plain (prefix first):
 * the same rows on both services, and the first k rows of the full stable
 * sort (ties by position, nulls last, NULLS FIRST, descending, a second
 * key, the string key twice, a projection, a filter), at 1 and 2 threads
 * with one dictionary per page and duplicate entries. */
static void test_topn(void **state) {
  (void)state;
  static const char *const orders[] = {
      "SELECT s, v, P FROM T ORDER BY s",
      "SELECT s, v FROM T ORDER BY s DESC",
      "SELECT v, P FROM T ORDER BY s, v DESC",
      "SELECT s, v FROM T ORDER BY s DESC, v",
      "SELECT s, v FROM T ORDER BY s NULLS FIRST, v",
      "SELECT s, v FROM T ORDER BY s DESC NULLS LAST, P, v DESC",
      "SELECT * FROM T ORDER BY s, s DESC, v",
      "SELECT v, s FROM T ORDER BY v % 5, s DESC, v",
      "SELECT s, v * 2 AS w FROM T ORDER BY s, w",
      "SELECT s, v FROM T WHERE v % 3 = 1 ORDER BY s DESC",
      "SELECT s FROM T ORDER BY s DESC",
  };
  static const int ks[] = {1, 4, 17, 90};
  for (int ps = 0; ps < 2; ps++) {
    env e;
    env_open(&e, 3, 1200, ps ? 200 : 64);
    for (size_t q = 0; q < sizeof orders / sizeof *orders; q++)
      for (int th = 1; th <= 2; th++) {
        char *full = same(&e, orders[q], th);
        for (size_t k = 0; k < sizeof ks / sizeof *ks; k++) {
          char sql[256];
          snprintf(sql, sizeof sql, "%s LIMIT %d", orders[q], ks[k]);
          char *top = same(&e, sql, th);
          size_t len = strlen(top);
          int rows = 0;
          for (size_t i = 0; i < len; i++) rows += top[i] == ';';
          assert_int_equal(rows, ks[k]);
          if (strncmp(top, full, len) != 0) fail_msg("%s (%d threads):\n%.300s\nfull:\n%.300s", sql, th, top, full);
          free(top);
        }
        free(full);
      }
    env_close(&e);
  }
}

/* A backend answering an index outside its dictionary breaks the contract. */
static void test_bad_index(void **state) {
  (void)state;
  env e;
  env_open(&e, 1, 40, 64);
  e.dict.bad = true;
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = &e;
  td_table *t = NULL;
  td_error err;
  int rc = td_query("SELECT count(*) FROM d WHERE s = 'beta'", &qo, &t, &err);
  assert_int_not_equal(rc, TD_OK);
  assert_non_null(strstr(err.message, "out of range"));
  rc = td_query("SELECT s, v FROM d ORDER BY s LIMIT 3", &qo, &t, &err); /* top-N reading codes */
  assert_int_not_equal(rc, TD_OK);
  assert_non_null(strstr(err.message, "out of range"));
  env_close(&e);
}

/* A refreshing group-by: a new location arrives with other dictionaries. */
static void test_live(void **state) {
  (void)state;
  env e;
  env_open(&e, 2, 200, 64);
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = &e;
  qo.refreshing = true;
  td_table *live;
  td_error err;
  TD_ASSERT_OK(td_query("SELECT s, count(*), sum(v) FROM d WHERE s <> 'beta' GROUP BY s", &qo, &live, &err), &err);
  char *t0 = mt_table_text(live, false);
  pthread_mutex_lock(&e.dict.lock);
  e.dict.n_locs = 3;
  td_location_key *k = td_script_key(2);
  td_answer_location(e.dict.sub, k, NULL);
  td_location_key_release(k);
  pthread_mutex_unlock(&e.dict.lock);
  TD_ASSERT_OK(td_service_flush(e.sd, 10000, &err), &err);
  char *t1 = mt_table_text(live, false);
  assert_string_not_equal(t0, t1);
  e.plain.n_locs = 3;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = &e;
  char *want = mt_query_text("SELECT s, count(*), sum(v) FROM p WHERE s <> 'beta' GROUP BY s", &qo);
  assert_string_equal(t1, want);
  free(t0);
  free(t1);
  free(want);
  td_table_release(live);
  env_close(&e);
}

/* Serves the file at path as "d" through e->sf (pages of page_size rows);
 * the caller releases the backend with file_close. */
static td_file_backend *file_open(env *e, const char *path, int64_t page_size) {
  td_error err;
  td_file_backend *fb;
  TD_ASSERT_OK(td_file_backend_new(path, NULL, &fb, &err), &err);
  e->f_table = td_file_backend_table_name(fb);
  td_service_options o;
  td_service_options_init(&o);
  o.page_size = page_size;
  TD_ASSERT_OK(td_service_new(td_file_backend_backend(fb), &o, &e->sf, &err), &err);
  return fb;
}

static void file_close(env *e, td_file_backend *fb) {
  td_service_free(e->sf);
  td_file_backend_release(fb);
  e->sf = NULL;
}

/* The Parquet reader: a file written dictionary-encoded (a dictionary per
 * row group) is decoded to codes, and every query answers as on the plain
 * backend. */
static void test_parquet(void **state) {
  (void)state;
  env e;
  env_open(&e, 3, 400, 64);
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = &e;
  char sql[512];
  const char *path = td_test_scratch_path("d.parquet");
  snprintf(sql, sizeof sql, "COPY (SELECT s, v, P FROM p) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 250)", path);
  free(mt_query_text(sql, &qo));
  td_file_backend *fb = file_open(&e, path, 100); /* pages inside and across row groups */
  int64_t f0, g0, f1, g1;
  f0 = td__dict_stats(&g0);
  for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
    snprintf(sql, sizeof sql, "SELECT count(*), sum(v) FROM T WHERE %s", filters[i]);
    free(same(&e, sql, 2));
  }
  free(same(&e, "SELECT s, count(*), sum(v), min(v) FROM T GROUP BY s ORDER BY s", 1));
  free(same(&e, "SELECT s, P, count(*) FROM T GROUP BY s, P ORDER BY s, P", 2));
  free(same(&e, "SELECT P, s, v FROM T WHERE s = 'ab' ORDER BY P, v LIMIT 9", 1));
  f1 = td__dict_stats(&g1);
  assert_true(f1 > f0);
  assert_true(g1 > g0);
  file_close(&e, fb);
  env_close(&e);
}

/* One count(*) query on the file service "d" as text. */
static char *on_file(env *e, const char *sql) {
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = e;
  return mt_query_text(sql, &qo);
}

/* A chunk whose dictionary outgrows its limit goes on PLAIN mid-way: the
 * dictionary-encoded pages and the plain ones both answer right. */
static void test_parquet_plain_fallback(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("mixed.parquet");
  td_schema sch;
  td_schema_init(&sch);
  td_error err;
  TD_ASSERT_OK(td_schema_add(&sch, "s", TD_TYPE_UTF8, NULL, true, &err), &err);
  td_parquet_write_options wo;
  td_parquet_write_options_init(&wo);
  wo.row_group_size = 9000; /* one row group: the chunk starts on a dictionary */
  wo.dict_limit = 200;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  td_parquet_writer *w;
  TD_ASSERT_OK(td_parquet_writer_open_with(fd, &sch, &wo, &w, &err), &err);
  for (int part = 0; part < 3; part++) { /* pages of words, unique strings (the dictionary outgrows its limit), words again (PLAIN) */
    td_builder *b;
    td_builder_new(TD_TYPE_UTF8, &b, NULL);
    for (int i = 0; i < 3000; i++) {
      char v[32];
      if (part != 1 && i % 9 == 4) td_builder_append_null(b, NULL);
      else {
        if (part != 1) snprintf(v, sizeof v, "w%d", i % 4);
        else snprintf(v, sizeof v, "u%05d", i);
        td_builder_append_str(b, v, -1, NULL);
      }
    }
    write_column(w, b);
  }
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  close(fd);
  td_schema_reset(&sch);
  env e;
  memset(&e, 0, sizeof e);
  td_file_backend *fb = file_open(&e, path, 1000);
  e.sp = e.sf;
  char *t = on_file(&e, "SELECT count(*) FROM d WHERE s = 'w1'");
  assert_string_equal(t, "1334|;"); /* twice: i % 4 == 1 and i % 9 != 4, i < 3000 */
  free(t);
  int64_t f0 = td__dict_stats(NULL);
  t = on_file(&e, "SELECT count(*) FROM d WHERE s LIKE 'u%'");
  assert_string_equal(t, "3000|;");
  free(t);
  t = on_file(&e, "SELECT count(*), count(s) FROM d WHERE s IS NULL OR s = 'u00007'");
  assert_string_equal(t, "667|1|;");
  free(t);
  t = on_file(&e, "SELECT count(*) FROM (SELECT s, count(*) FROM d GROUP BY s) x");
  assert_string_equal(t, "3005|;"); /* four words, null, 3000 unique */
  free(t);
  t = on_file(&e, "SELECT s, count(*) FROM d WHERE s < 'w2' AND s > 'u02998' GROUP BY s ORDER BY s");
  assert_string_equal(t, "u02999|1|;w0|1332|;w1|1334|;");
  free(t);
  assert_true(td__dict_stats(NULL) > f0);
  file_close(&e, fb);
}

/* Arrow IPC dictionary columns (pyarrow streams whose dictionary is
 * replaced between batches, or extended by deltas) run filters and
 * group-bys on codes where an engine page lies in one generation, on
 * strings where it spans two; the answers are pyarrow's. */
static void test_ipc(void **state) {
  (void)state;
  static const struct { const char *file; int64_t page; } cases[] = {
      {"arrow-ipc/writers/dict_replace.arrows", 3}, /* pages = batches: codes */
      {"arrow-ipc/writers/dict_replace.arrows", 4}, /* pages span generations: strings */
      {"arrow-ipc/writers/dict_delta.arrows", 3},
  };
  static const char *const want[][3] = {
      {"2|;", "-|1|;a|1|;b|2|;q|2|;x|1|;z|1|;", "2|;"},
      {"2|;", "-|1|;a|1|;b|2|;q|2|;x|1|;z|1|;", "2|;"},
      {"2|;", "a|2|;b|2|;c|1|;d|1|;e|1|;", "2|;"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    env e;
    memset(&e, 0, sizeof e);
    td_file_backend *fb = file_open(&e, td_test_testdata(cases[i].file), cases[i].page);
    e.sp = e.sf;
    int64_t g0, g1, f0 = td__dict_stats(&g0);
    char *t = on_file(&e, "SELECT count(*) FROM d WHERE s = 'b'");
    assert_string_equal(t, want[i][0]);
    free(t);
    t = on_file(&e, "SELECT coalesce(s, '-'), count(*) FROM d GROUP BY s ORDER BY 1");
    assert_string_equal(t, want[i][1]);
    free(t);
    t = on_file(&e, "SELECT count(*) FROM d WHERE s IS NULL OR s < 'b'");
    assert_string_equal(t, want[i][2]);
    free(t);
    int64_t f1 = td__dict_stats(&g1);
    if (cases[i].page == 3) { /* the codes paths ran */
      assert_true(f1 > f0);
      assert_true(g1 > g0);
    }
    file_close(&e, fb);
  }
}

/* Row i of spans.parquet: null, an empty string or one of three words. */
static const char *span_value(int i) { return i % 11 == 5 ? NULL : i % 5 == 0 ? "" : i % 3 == 0 ? "k0" : i % 3 == 1 ? "k1" : "k2"; }

/* Pages that cross row groups (each with its dictionary) stay codes: every
 * page of a filter runs through the dictionary filter; empty strings and
 * nulls answer right in filters, group-bys and a plain SELECT ... WHERE,
 * whose kept rows are decoded (and whose filter runs on codes). */
static void test_parquet_spans(void **state) {
  (void)state;
  enum { ROWS = 3000, RGS = 700, PAGE = 256 };
  const char *path = td_test_scratch_path("spans.parquet");
  td_schema sch;
  td_schema_init(&sch);
  td_error err;
  TD_ASSERT_OK(td_schema_add(&sch, "s", TD_TYPE_UTF8, NULL, true, &err), &err);
  td_parquet_write_options wo;
  td_parquet_write_options_init(&wo);
  wo.row_group_size = RGS; /* a dictionary per row group; pages of 256 rows cross them */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  td_parquet_writer *w;
  TD_ASSERT_OK(td_parquet_writer_open_with(fd, &sch, &wo, &w, &err), &err);
  td_builder *b;
  td_builder_new(TD_TYPE_UTF8, &b, NULL);
  for (int i = 0; i < ROWS; i++) {
    const char *v = span_value(i);
    if (v) td_builder_append_str(b, v, -1, NULL);
    else td_builder_append_null(b, NULL);
  }
  write_column(w, b);
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  close(fd);
  td_schema_reset(&sch);
  int empty = 0, nulls = 0, k[3] = {0, 0, 0};
  for (int i = 0; i < ROWS; i++) {
    const char *v = span_value(i);
    if (!v) nulls++;
    else if (!*v) empty++;
    else k[v[1] - '0']++;
  }
  env e;
  memset(&e, 0, sizeof e);
  td_file_backend *fb = file_open(&e, path, PAGE);
  e.sp = e.sf;
  char want[256];
  int64_t f0 = td__dict_stats(NULL);
  char *t = on_file(&e, "SELECT count(*) FROM d WHERE s = ''");
  int64_t f1 = td__dict_stats(NULL);
  snprintf(want, sizeof want, "%d|;", empty);
  assert_string_equal(t, want);
  free(t);
  assert_int_equal(f1 - f0, (ROWS + PAGE - 1) / PAGE); /* every page, those across row groups too */
  t = on_file(&e, "SELECT count(*) FROM d WHERE s IN ('k1', '') OR s IS NULL");
  snprintf(want, sizeof want, "%d|;", k[1] + empty + nulls);
  assert_string_equal(t, want);
  free(t);
  t = on_file(&e, "SELECT s, count(*) FROM d WHERE s IS NOT NULL GROUP BY s ORDER BY s");
  snprintf(want, sizeof want, "|%d|;k0|%d|;k1|%d|;k2|%d|;", empty, k[0], k[1], k[2]);
  assert_string_equal(t, want);
  free(t);
  /* A plain SELECT: the filter on codes, the kept rows decoded. */
  f0 = td__dict_stats(NULL);
  t = on_file(&e, "SELECT s, length(s) AS n FROM d WHERE s LIKE 'k%' AND s <> 'k0' LIMIT 4");
  f1 = td__dict_stats(NULL);
  assert_string_equal(t, "k1|2|;k2|2|;k1|2|;k1|2|;"); /* rows 1, 2, 4, 7 */
  free(t);
  assert_true(f1 > f0);
  t = on_file(&e, "SELECT count(*), count(s), sum(length(s)) FROM (SELECT s FROM d WHERE s = '' OR s = 'k2' OR s IS NULL) x");
  snprintf(want, sizeof want, "%d|%d|%d|;", empty + k[2] + nulls, empty + k[2], 2 * k[2]);
  assert_string_equal(t, want);
  free(t);
  file_close(&e, fb);
}

/* Two keys, a string on codes beside a bool (either order, nulls in either),
 * and a global count(DISTINCT) of the string on codes: the same answers as
 * on decoded strings, the codes paths run, at 1, 2 and 4 threads; every
 * allocation failure of them is an error, never a wrong answer. */
static void test_two_keys_distinct(void **state) {
  (void)state;
  env e;
  env_open(&e, 3, 400, 64);
  int64_t g0, g1;
  td__dict_stats(&g0);
  const char *qs[] = {
      "SELECT s, v % 3 = 0 AS b, count(*), sum(v) FROM T GROUP BY s, b ORDER BY s, b",
      "SELECT v % 2 = 1 AS b, s, count(*), min(v) FROM T GROUP BY b, s ORDER BY b, s",
      "SELECT s, case when v % 5 = 0 then NULL else v % 3 = 0 end AS b, count(*), sum(v) FROM T "
      "GROUP BY s, b ORDER BY s, b",
      "SELECT s, v > 30 AS b, count(*) FROM T WHERE v % 4 <> 1 GROUP BY s, b ORDER BY s, b",
      "SELECT s, v < 0 AS b, count(*) FROM T WHERE v > 1000000 GROUP BY s, b ORDER BY s, b",
      "SELECT count(DISTINCT s), count(*), count(s) FROM T",
      "SELECT count(DISTINCT s), count(DISTINCT v % 7), max(s) FROM T WHERE v > 100",
      "SELECT count(DISTINCT s) FROM T WHERE s IS NULL",
      "SELECT count(DISTINCT s) FROM T WHERE v > 1000000",
  };
  same_each(&e, qs, sizeof qs / sizeof *qs, 4);
  td__dict_stats(&g1);
  char *t = same(&e, "SELECT count(DISTINCT s) FROM T", 2);
  assert_string_equal(t, "6|;"); /* six words, no unused entry, no null */
  free(t);
  td__dict_stats(&g0);
  assert_true(g0 > g1); /* through distinct_codes */
  t = same(&e, "SELECT count(*) FROM (SELECT s, v % 2 = 0 AS b FROM T GROUP BY s, b) x", 1);
  assert_string_equal(t, "14|;"); /* six words and null, each with both values */
  free(t);
  td__dict_stats(&g1);
  assert_true(g1 > g0); /* through dict2_map */
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = &e;
  qo.threads = 1;
  mt_query_alloc_sweep(&qo, "SELECT s, v % 3 = 0 AS b, count(*) FROM d GROUP BY s, b", true);
  mt_query_alloc_sweep(&qo, "SELECT count(DISTINCT s), count(*) FROM d", false);
  env_close(&e);
}

/* count(DISTINCT s) and string_agg(DISTINCT s) by groups read the codes
 * (each entry hashed once per dictionary, gdistinct_codes): the same
 * answers as on decoded strings at 1, 2 and 4 threads, with nulls, filters,
 * changing dictionaries and plain pages; allocation failures are errors. */
static void test_grouped_distinct_codes(void **state) {
  (void)state;
  env e;
  env_open(&e, 3, 400, 64);
  const char *qs[] = {
      "SELECT v % 7 AS k, count(DISTINCT s), count(*) FROM T GROUP BY k ORDER BY k",
      "SELECT P, count(DISTINCT s), string_agg(DISTINCT s, '/') FROM T GROUP BY P ORDER BY P",
      "SELECT v % 3 AS k, string_agg(DISTINCT s), count(DISTINCT s), count(s) FROM T WHERE v % 5 <> 2 "
      "GROUP BY k ORDER BY k",
      "SELECT s, count(DISTINCT s) FROM T GROUP BY s ORDER BY s",
      "SELECT v % 11 AS k, count(DISTINCT s) FROM T WHERE s IS NULL GROUP BY k ORDER BY k",
      "SELECT v AS k, count(DISTINCT s) FROM T WHERE v < 50 GROUP BY k ORDER BY k",
  };
  same_each(&e, qs, sizeof qs / sizeof *qs, 4);
  int64_t g0, g1; /* an integer key: only the distinct input is read as codes */
  td__dict_stats(&g0);
  free(same(&e, qs[0], 1));
  td__dict_stats(&g1);
  assert_true(g1 > g0);
  char *t = same(&e, "SELECT P, count(DISTINCT s), string_agg(DISTINCT s, ' ') FROM T GROUP BY P ORDER BY P", 2);
  assert_non_null(strstr(t, "|6|")); /* a location holds all six words */
  free(t);
  td_query_options qo = options_of(&e);
  qo.threads = 1;
  mt_query_alloc_sweep(&qo, "SELECT v % 5 AS k, count(DISTINCT s), string_agg(DISTINCT s) FROM d GROUP BY k", true);
  env_close(&e);
}

/* Two keys, a string on codes beside an integer-like key (either order,
 * nulls in either, under a filter): the same answers (groups in the same
 * order) as on decoded strings at 1, 2 and 4 threads, through dicti_map
 * (each entry's last pair remembered), also when nearly every row is a new
 * pair (v itself: after DICTI_TRIAL rows the strings are decoded instead,
 * map_multi, and the groups made by both paths are found by both); every
 * allocation failure is an error, never a wrong answer. */
static void test_two_keys_int(void **state) {
  (void)state;
  env e;
  env_open(&e, 3, 30000, 4096);
  int64_t g0, g1;
  td__dict_stats(&g0);
  const char *qs[] = {
      "SELECT s, v / 50 AS k, count(*), sum(v) FROM T GROUP BY s, k ORDER BY s, k",
      "SELECT s, v % 7 AS k, count(*), min(v) FROM T GROUP BY s, k",
      "SELECT v % 5 AS k, s, count(*) FROM T GROUP BY k, s",
      "SELECT s, case when v % 11 = 0 then NULL else v / 100 end AS k, count(*), max(v) FROM T "
      "GROUP BY s, k",
      "SELECT s, v / 1000 AS k, count(*) FROM T WHERE v % 4 <> 1 GROUP BY s, k",
      "SELECT s, v, count(*) FROM T GROUP BY s, v ORDER BY count(*) DESC, s, v LIMIT 20",
      "SELECT count(*), count(DISTINCT k) FROM (SELECT s, v AS k FROM T GROUP BY s, v) x",
      "SELECT s, -1 - v % 2 AS k, count(*) FROM T GROUP BY s, k", /* -1: the halves of an empty slot */
  };
  same_each(&e, qs, sizeof qs / sizeof *qs, 4);
  td__dict_stats(&g1);
  assert_true(g1 > g0); /* through dicti_map */
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = &e;
  qo.threads = 1;
  mt_query_alloc_sweep(&qo, "SELECT s, v % 7 AS k, count(*) FROM d WHERE v < 3000 GROUP BY s, k", true);
  env_close(&e);
}

/* Keys mixing the partition column P with the string on codes (several
 * dictionaries a location, plain pages among them) or other data keys, in
 * either order: the same text (groups in the same order) as with P made an
 * ordinary column (CASE ... END, evaluated per row), at 1, 2 and 4 threads,
 * through the partition-key path. */
static void test_partition_keys(void **state) {
  (void)state;
  env e;
  env_open(&e, 5, 400, 64);
  static const char *const qs[][2] = {
      {"SELECT P, s, count(*), sum(v), min(v) FROM d GROUP BY P, s",
       "SELECT CASE WHEN v >= 0 THEN P END AS P, s, count(*), sum(v), min(v) FROM d GROUP BY 1, 2"},
      {"SELECT s, P, count(*) FROM d WHERE v % 3 <> 1 GROUP BY s, P",
       "SELECT s, CASE WHEN v >= 0 THEN P END AS P, count(*) FROM d WHERE v % 3 <> 1 GROUP BY 1, 2"},
      {"SELECT P, v % 5 AS m, s, max(s), first(v) FROM d GROUP BY P, m, s",
       "SELECT CASE WHEN v >= 0 THEN P END AS P, v % 5 AS m, s, max(s), first(v) FROM d GROUP BY 1, 2, 3"},
      {"SELECT v % 4 AS m, P, avg(v) FROM d GROUP BY m, P",
       "SELECT v % 4 AS m, CASE WHEN v >= 0 THEN P END AS P, avg(v) FROM d GROUP BY 1, 2"},
  };
  td_query_options qo = options_of(&e);
  for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
    for (int th = 1; th <= 4; th *= 2) {
      qo.threads = th;
      int64_t before = td__agg_part_batches();
      char *x = mt_query_text(qs[i][0], &qo);
      assert_true(td__agg_part_batches() > before);
      assert_true(strlen(x) > 100); /* groups of every location */
      char *y = mt_query_text(qs[i][1], &qo);
      if (strcmp(x, y) != 0) fail_msg("%s (%d threads)\n  part:  %.300s\n  plain: %.300s", qs[i][0], th, x, y);
      free(x);
      free(y);
    }
  env_close(&e);
}

/* A global min or max of the string on codes (minmax_codes: the entries the
 * rows use, not every entry of the dictionary) and its count (count_codes):
 * the answers of the decoded strings, with filters, all-null and empty
 * inputs, at 1, 2 and 4 threads. */
static void test_minmax_codes(void **state) {
  (void)state;
  env e;
  env_open(&e, 3, 400, 64);
  const char *qs[] = {
      "SELECT min(s), max(s), count(*) FROM T",
      "SELECT min(s), max(s) FROM T WHERE v > 100",
      "SELECT max(s), min(s), count(DISTINCT s) FROM T WHERE v % 3 = 1",
      "SELECT min(s), max(s) FROM T WHERE s IS NULL",
      "SELECT min(s), max(s) FROM T WHERE v > 1000000",
      "SELECT min(s) FROM T WHERE s <> 'alpha' AND s < 'zeta'",
      "SELECT max(s), sum(v) FROM T WHERE s IS NULL OR v < 50",
      "SELECT count(s), count(*), count(DISTINCT s) FROM T",
      "SELECT count(s), min(s) FROM T WHERE v % 5 = 2",
      "SELECT count(s) FROM T WHERE s IS NULL",
  };
  same_each(&e, qs, sizeof qs / sizeof *qs, 4);
  int64_t g0, g1;
  td__dict_stats(&g0);
  char *t = same(&e, "SELECT min(s), max(s) FROM T WHERE v > 10", 1);
  td__dict_stats(&g1);
  assert_true(g1 > g0); /* through minmax_codes */
  free(t);
  t = same(&e, "SELECT min(s), max(s) FROM T WHERE s IS NULL", 1);
  assert_string_equal(t, "null|null|;");
  free(t);
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = &e;
  qo.threads = 1;
  mt_query_alloc_sweep(&qo, "SELECT min(s), max(s) FROM d WHERE v > 10", false);
  env_close(&e);
}

/* Many groups on codes: 3000 unique strings and words in a Parquet file
 * whose dictionary gives way to PLAIN pages mid-chunk; two keys (beside a
 * bool, beside an integer) and count(DISTINCT) give what the decoded key
 * (s || '') gives. */
static void test_two_keys_many(void **state) {
  (void)state;
  const char *path = td_test_scratch_path("many.parquet");
  td_schema sch;
  td_schema_init(&sch);
  td_error err;
  TD_ASSERT_OK(td_schema_add(&sch, "s", TD_TYPE_UTF8, NULL, true, &err), &err);
  TD_ASSERT_OK(td_schema_add(&sch, "f", TD_TYPE_BOOL, NULL, true, &err), &err);
  td_parquet_write_options wo;
  td_parquet_write_options_init(&wo);
  wo.row_group_size = 2500; /* several dictionaries */
  wo.dict_limit = 2000;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  td_parquet_writer *w;
  TD_ASSERT_OK(td_parquet_writer_open_with(fd, &sch, &wo, &w, &err), &err);
  for (int part = 0; part < 3; part++) {
    td_builder *b, *f;
    td_builder_new(TD_TYPE_UTF8, &b, NULL);
    td_builder_new(TD_TYPE_BOOL, &f, NULL);
    for (int i = 0; i < 3000; i++) {
      char v[32];
      if (part != 1 && i % 9 == 4) td_builder_append_null(b, NULL);
      else {
        if (part != 1) snprintf(v, sizeof v, "w%d", i % 4);
        else snprintf(v, sizeof v, "u%05d", i);
        td_builder_append_str(b, v, -1, NULL);
      }
      if (i % 13 == 7) td_builder_append_null(f, NULL);
      else td_builder_append_int(f, (i / 3 + part) % 2, NULL);
    }
    struct ArrowArray cols[2], batch;
    td_builder_finish(b, &cols[0], NULL);
    td_builder_finish(f, &cols[1], NULL);
    td_builder_free(b);
    td_builder_free(f);
    TD_ASSERT_OK(td_batch_make(2, cols, &batch, &err), &err);
    TD_ASSERT_OK(td_parquet_writer_write(w, &batch, &err), &err);
    batch.release(&batch);
  }
  TD_ASSERT_OK(td_parquet_writer_close(w, &err), &err);
  close(fd);
  td_schema_reset(&sch);
  env e;
  memset(&e, 0, sizeof e);
  td_file_backend *fb = file_open(&e, path, 700);
  e.sp = e.sf;
  int64_t g0, g1;
  td__dict_stats(&g0);
  static const char *const pairs[][2] = {
      {"SELECT s, f, count(*) FROM d GROUP BY s, f ORDER BY s, f",
       "SELECT s || '' AS s, f, count(*) FROM d GROUP BY 1, f ORDER BY s, f"},
      {"SELECT f, s, count(*) FROM d WHERE s > 'u01000' GROUP BY f, s ORDER BY f, s",
       "SELECT f, s || '' AS s, count(*) FROM d WHERE s > 'u01000' GROUP BY f, 2 ORDER BY f, s"},
      {"SELECT count(DISTINCT s), count(*) FROM d", "SELECT count(DISTINCT s || ''), count(*) FROM d"},
      /* beside an integer key (dicti_map): a null string's code is no entry's */
      {"SELECT s, CAST(f AS BIGINT) AS k, count(*) FROM d GROUP BY s, k",
       "SELECT s || '' AS s, CAST(f AS BIGINT) AS k, count(*) FROM d GROUP BY 1, k"},
  };
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
    for (int th = 1; th <= 4; th *= 2) {
      td_query_options qo;
      td_query_options_init(&qo);
      qo.resolver = resolve;
      qo.resolver_ctx = &e;
      qo.threads = th;
      char *x = mt_query_text(pairs[i][0], &qo), *y = mt_query_text(pairs[i][1], &qo);
      if (strcmp(x, y) != 0) fail_msg("%s\n  codes: %.300s\n  plain: %.300s", pairs[i][0], x, y);
      free(x);
      free(y);
    }
  }
  char *t = on_file(&e, "SELECT count(DISTINCT s) FROM d");
  assert_string_equal(t, "3004|;"); /* four words, 3000 unique */
  free(t);
  td__dict_stats(&g1);
  assert_true(g1 > g0);
  file_close(&e, fb);
}

/* Expressions of s alone outside filters (query/dict_eval.c's gather):
 * projections, group keys, aggregate arguments and ORDER BY keys, each
 * evaluated once per dictionary entry, give the text of the plain service:
 * results null for an entry (nullif) or not null for a null row
 * (coalesce), two entries of one result (left, the repeated entry) merged
 * into one group, string and fixed-width results. */
static void test_functions(void **state) {
  (void)state;
  env e;
  env_open(&e, 3, 400, 64);
  int64_t before = td__dict_eval_stats(), views = td__dict_view_stats();
  const char *qs[] = {
      "SELECT upper(s) AS u, count(*) FROM T GROUP BY u ORDER BY u",
      /* keys grouped on codes into the answers' dictionary (td__dict_eval_view):
       * answers shared by several entries, a pattern's groups, a null row's
       * answer that is not null (concat: not viewed), two columns (not viewed) */
      "SELECT regexp_extract(s, '([a-z])[a-z]*', 1) AS c, count(*), sum(v) FROM T GROUP BY c ORDER BY c",
      "SELECT s || '-' AS c, count(*), min(v) FROM T GROUP BY c ORDER BY c",
      "SELECT concat(s, 'x') AS c, count(*), max(v) FROM T GROUP BY c ORDER BY c",
      "SELECT s || '-' || CAST(v % 3 AS VARCHAR) AS c, count(*) FROM T GROUP BY c ORDER BY c",
      "SELECT upper(s) AS u, v % 2 AS p, count(*) FROM T GROUP BY u, p ORDER BY u, p",
      "SELECT length(s), count(*) FROM T GROUP BY 1 ORDER BY 1",
      "SELECT sum(length(s)), max(upper(s)), min(substr(s, 2, 3)), count(lower(s)) FROM T",
      "SELECT coalesce(s, 'none') AS c, count(*) FROM T GROUP BY c ORDER BY c",
      "SELECT nullif(s, 'beta') AS c, count(*), sum(v) FROM T GROUP BY c ORDER BY c",
      "SELECT left(s, 1) AS c, count(*), sum(v) FROM T GROUP BY c ORDER BY c",
      "SELECT v, upper(s), s || '!', length(s) * 2, s IS NULL FROM T ORDER BY v LIMIT 30",
      "SELECT v FROM T ORDER BY reverse(s), v LIMIT 20",
      "SELECT v, lower(s) FROM T WHERE v > 100 AND v < 140 ORDER BY v",
      "SELECT starts_with(s, 'a') AS x, contains(s, 'e') AS y, strpos(s, 'a') AS z, count(*) FROM T GROUP BY x, y, z "
      "ORDER BY x, y, z",
      "SELECT trim(s, 'a'), replace(s, 'a', 'AA'), right(s, 2), ends_with(s, 'a') FROM T ORDER BY v LIMIT 40",
      "SELECT CASE WHEN s = 'beta' then 1.5 ELSE 0 END AS b, count(*) FROM T GROUP BY b ORDER BY b",
      "SELECT count(*) FROM T WHERE length(s) > 4 AND v % 2 = 0",
      /* an entry no row uses fails (the dictionary's unused-N): no error */
      "SELECT sum(CAST(CASE WHEN s LIKE 'unused%' then 'x' ELSE '7' END AS INT)) FROM T",
      "SELECT count(*) FROM T WHERE CAST(CASE WHEN s LIKE 'unused%' then 'x' ELSE '7' END AS INT) = 7",
  };
  same_each(&e, qs, sizeof qs / sizeof *qs, 2);
  assert_true(td__dict_eval_stats() > before);
  assert_true(td__dict_view_stats() > views);
  /* an entry rows use fails: the same error as row by row */
  const char *bad[] = {"SELECT sum(CAST(s AS INT)) FROM T", "SELECT count(*) FROM T WHERE CAST(s AS INT) = 1"};
  for (size_t i = 0; i < 2; i++) {
    char msg[2][sizeof(td_error){0}.message];
    for (int k = 0; k < 2; k++) {
      char q[256];
      snprintf(q, sizeof q, "%s", bad[i]);
      strstr(q, " T")[1] = k == 0 ? 'd' : 'p';
      td_query_options qo = options_of(&e);
      td_table *t = NULL;
      td_error err;
      int rc = td_query(q, &qo, &t, &err);
      assert_int_equal(rc, TD_ETYPE);
      snprintf(msg[k], sizeof msg[k], "%s", err.message);
    }
    assert_string_equal(msg[0], msg[1]);
  }
  env_close(&e);
}

/* The gather directly: an empty dictionary (every row null), answers of
 * each phys, and the null row's answer. */
static void test_gather_empty(void **state) {
  (void)state;
  td_error err;
  td_schema sch;
  td_schema_init(&sch);
  td_schema_add(&sch, "s", TD_TYPE_UTF8, NULL, true, NULL);
  td_array ent;
  TD_ASSERT_OK(td_array_init(&ent, TD_TYPE_UTF8, 0, &err), &err);
  td_dict *d = NULL;
  TD_ASSERT_OK(td_dict_copy(&ent, &d, &err), &err);
  td_array_reset(&ent);
  int32_t codes[5] = {0, 9, -1, 3, 0};
  uint8_t valid[1] = {0};
  td_colview v;
  memset(&v, 0, sizeof v);
  v.type = TD_TYPE_UTF8;
  v.length = 5;
  v.null_count = 5;
  v.validity = valid;
  v.codes = codes;
  v.dict = d;
  td_value c = {0};
  td_batch b = {5, &v, &c, NULL, 0};
  const char *texts[] = {"length(s)", "coalesce(s, 'e')", "s IS NULL", "upper(s)", "coalesce(length(s), 2) * 1.5"};
  const char *want[] = {"null", "e", "1", "null", "3"};
  int64_t before = td__dict_eval_stats();
  for (int i = 0; i < 5; i++) {
    td_expr *pe, *be;
    TD_ASSERT_OK(td_expr_parse(texts[i], strlen(texts[i]), &pe, &err), &err);
    TD_ASSERT_OK(td_expr_bind(pe, &sch, 0, &be, &err), &err);
    td_array r;
    TD_ASSERT_OK(td_expr_eval(be, &b, &r, &err), &err);
    assert_int_equal(r.length, 5);
    for (int64_t k = 0; k < 5; k++) {
      bool null = r.validity && !td_bit_get(r.validity, k);
      char got[32];
      if (null) snprintf(got, sizeof got, "null");
      else if (r.type == TD_TYPE_UTF8) snprintf(got, sizeof got, "%.*s", (int)(r.offsets[k + 1] - r.offsets[k]), r.data + r.offsets[k]);
      else if (r.type == TD_TYPE_BOOL) snprintf(got, sizeof got, "%d", td_bit_get(r.values, k) ? 1 : 0);
      else if (r.type == TD_TYPE_FLOAT64) snprintf(got, sizeof got, "%g", ((double *)r.values)[k]);
      else snprintf(got, sizeof got, "%lld", (long long)((int64_t *)r.values)[k]);
      if (strcmp(got, want[i]) != 0) fail_msg("%s row %lld: %s, want %s", texts[i], (long long)k, got, want[i]);
    }
    td_array_reset(&r);
    td_expr_free(pe);
    td_expr_free(be);
  }
  assert_true(td__dict_eval_stats() >= before + 5);
  td_dict_release(d);
  td_schema_reset(&sch);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filters),
      cmocka_unit_test(test_glob_shapes),
      cmocka_unit_test(test_group_by),
      cmocka_unit_test(test_functions),
      cmocka_unit_test(test_gather_empty),
      cmocka_unit_test(test_bad_index),
      cmocka_unit_test(test_topn),
      cmocka_unit_test(test_windows),
      cmocka_unit_test(test_live),
      cmocka_unit_test(test_parquet),
      cmocka_unit_test(test_parquet_plain_fallback),
      cmocka_unit_test(test_ipc),
      cmocka_unit_test(test_parquet_spans),
      cmocka_unit_test(test_two_keys_distinct),
      cmocka_unit_test(test_grouped_distinct_codes),
      cmocka_unit_test(test_two_keys_int),
      cmocka_unit_test(test_partition_keys),
      cmocka_unit_test(test_minmax_codes),
      cmocka_unit_test(test_two_keys_many),
  };
  return cmocka_run_group_tests(tests, td_test_scratch_setup, td_test_scratch_teardown);
}
