/*
 * tests/formats/parquet/test_parquet.c - the Parquet reader against the
 * shared conformance files (DuckDB's readings and the expect CSVs), the
 * ticks fixture, every malformed file, laziness and allocation failures.
 */
#include <dirent.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arrow/array.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/reader.h"
#include "formats/reader.h"
#include "tabledata/keys.h"
#include "jsonl.h"
#include "test.h"
#include "util/alloc.h"

#define BATCH 4096

/* Sorted names of the regular files in dir (recursively when asked), as
 * paths relative to dir. */
typedef struct names {
  char **v;
  size_t n, cap;
} names;

static void names_add(names *ns, const char *s) {
  if (ns->n == ns->cap) {
    ns->cap = ns->cap ? ns->cap * 2 : 64;
    ns->v = realloc(ns->v, ns->cap * sizeof *ns->v);
  }
  ns->v[ns->n++] = strdup(s);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_dir(const char *root, const char *rel, bool recursive, names *ns) {
  char path[4096];
  snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char sub[4096], full[8192];
    snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
    snprintf(full, sizeof full, "%s/%s", root, sub);
    struct stat st;
    if (stat(full, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (recursive) list_dir(root, sub, true, ns);
    } else {
      names_add(ns, sub);
    }
  }
  closedir(d);
  qsort(ns->v, ns->n, sizeof *ns->v, cmp_str);
}
static void names_free(names *ns) {
  for (size_t i = 0; i < ns->n; i++) free(ns->v[i]);
  free(ns->v);
}
static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* Reads every readable column of r in batches, comparing with `rows` when
 * given.  Returns the number of mismatching columns; *first_err receives
 * the first read error code (0 if none). */
static int check_columns(td_file_reader *r, const json_t *rows, bool csv, int *read_err,
                         char *errmsg, size_t errsize) {
  int bad_cols = 0;
  *read_err = 0;
  for (int64_t c = 0; c < r->schema.n_fields; c++) {
    const char *name = r->schema.fields[c].name;
    if (rows && json_array_size(rows) != (size_t)r->num_rows) {
      printf("    row count %lld, expected %zu\n", (long long)r->num_rows, json_array_size(rows));
      return 1;
    }
    int64_t mismatches = 0, skipped = 0;
    for (int64_t off = 0; off < r->num_rows; off += BATCH) {
      int64_t n = r->num_rows - off < BATCH ? r->num_rows - off : BATCH;
      struct ArrowArray a;
      td_error err;
      int rc = td_reader_read(r, c, off, n, &a, &err);
      if (rc) {
        if (!*read_err) snprintf(errmsg, errsize, "%s", err.message);
        if (!*read_err) *read_err = rc;
        printf("    column %s: read failed: %s: %s\n", name, td_status_name(rc), err.message);
        bad_cols++;
        break;
      }
      TD_ASSERT_OK(td_array_validate(r->schema.fields[c].type, &a, &err), &err);
      assert_int_equal(a.length, n);
      td_colview v;
      TD_ASSERT_OK(td_colview_init(&v, r->schema.fields[c].type, &a, &err), &err);
      for (int64_t i = 0; rows && i < n; i++) {
        const json_t *row = json_array_get(rows, (size_t)(off + i));
        const json_t *want = json_object_get(row, name);
        if (!want && csv) { /* one expect file's header drops the ':' its column names end with */
          char trimmed[256];
          snprintf(trimmed, sizeof trimmed, "%s", name);
          size_t tl = strlen(trimmed);
          if (tl && trimmed[tl - 1] == ':') trimmed[tl - 1] = 0;
          want = json_object_get(row, trimmed);
        }
        if (!want && !csv) continue;
        char msg[512];
        bool skip = false;
        if (v.type == TD_TYPE_DECIMAL128) { /* DuckDB's JSON holds the number: compare value / 10^scale */
          int prec = 0, scale = 0;
          sscanf(r->schema.fields[c].tz, "%d,%d", &prec, &scale);
          __int128 g;
          memcpy(&g, (const uint8_t *)v.values + (v.offset + i) * 16, 16);
          double gd = (double)g, w = json_is_string(want) ? atof(json_string_value(want)) : json_number_value(want);
          for (int k = 0; k < scale; k++) gd /= 10;
          bool ok = td_colview_valid(&v, i) ? !json_is_null(want) && fabs(gd - w) <= 1e-9 * fmax(1.0, fabs(w))
                                            : json_is_null(want);
          if (!ok && mismatches++ < 3) printf("    column %s row %lld: expected %g, got %g\n", name, (long long)(off + i), w, gd);
          continue;
        }
        if (!value_matches(&v, i, want, csv, msg, sizeof msg, &skip)) {
          if (mismatches++ < 3) printf("    column %s row %lld: %s\n", name, (long long)(off + i), msg);
        }
        skipped += skip;
      }
      a.release(&a);
    }
    if (mismatches) {
      printf("    column %s: %lld mismatching rows\n", name, (long long)mismatches);
      bad_cols++;
    }
    if (skipped) printf("    column %s: %lld values outside the nanosecond range not compared\n", name, (long long)skipped);
  }
  return bad_cols;
}

static void print_unsupported(const td_file_reader *r) {
  for (int64_t i = 0; i < r->n_unsupported; i++) {
    printf("    unsupported %s: %s\n", r->unsupported[i].name, r->unsupported[i].reason);
    assert_true(strlen(r->unsupported[i].reason) > 10);
  }
}

static void test_conformance(void **state) {
  (void)state;
  char dir[4096], path[8192], exp_path[8192];
  snprintf(dir, sizeof dir, "%s", td_test_testdata("parquet/conformance"));
  names ns = {0};
  list_dir(dir, "", false, &ns);
  int files = 0, full = 0, partial = 0, refused = 0, wrong = 0;
  for (size_t k = 0; k < ns.n; k++) {
    const char *f = ns.v[k];
    if (!ends_with(f, ".parquet")) continue;
    files++;
    snprintf(path, sizeof path, "%s/%s", dir, f);
    snprintf(exp_path, sizeof exp_path, "%s/%s.jsonl", td_test_testdata("parquet/expected-duckdb"), f);
    json_t *rows = jsonl_load(exp_path);
    if (rows && json_array_size(rows) == 0) { /* DuckDB could not read it */
      json_decref(rows);
      rows = NULL;
    }
    bool csv = false;
    if (strstr(f, "delta_")) {
      char csv_path[8192];
      snprintf(csv_path, sizeof csv_path, "%s/%.*s_expect.csv", dir, (int)(strlen(f) - 8), f);
      json_t *c = csv_load(csv_path);
      if (c) {
        json_decref(rows);
        rows = c;
        csv = true;
      }
    }
    td_file_reader *r;
    td_error err;
    int rc = td_parquet_open(path, &r, &err);
    if (rc) {
      printf("REFUSED  %s: %s: %s\n", f, td_status_name(rc), err.message);
      assert_true(rc == TD_EFORMAT || rc == TD_EUNSUPPORTED);
      TD_ASSERT_CONTAINS(err.message, f);
      refused++;
      json_decref(rows);
      continue;
    }
    int read_err;
    char msg[1024] = "";
    int bad = check_columns(r, rows, csv, &read_err, msg, sizeof msg);
    if (read_err) { /* TD_ERANGE: values outside the nanosecond range (int96_from_spark) */
      assert_true(read_err == TD_EFORMAT || read_err == TD_EUNSUPPORTED || read_err == TD_ERANGE);
      TD_ASSERT_CONTAINS(msg, f);
    }
    const char *verdict = bad ? (read_err && bad == 1 ? "READFAIL" : "MISMATCH")
                          : r->n_unsupported ? "PARTIAL " : "PASS    ";
    printf("%s %s (%lld rows, %lld columns%s)\n", verdict, f, (long long)r->num_rows,
           (long long)r->schema.n_fields, rows ? (csv ? ", vs expect.csv" : ", vs DuckDB") : ", no reference");
    print_unsupported(r);
    if (bad && !read_err) wrong++;
    else if (bad) refused++;
    else if (r->n_unsupported) partial++;
    else full++;
    td_reader_close(r);
    json_decref(rows);
  }
  printf("conformance: %d files: %d pass fully, %d partially, %d refused/failed, %d wrong\n", files,
         full, partial, refused, wrong);
  names_free(&ns);
  assert_int_equal(wrong, 0);
}

/* ---- the ticks fixture ---- */

typedef struct ticks_acc {
  int64_t rows, symbols, volumes, flags, lot, tick, code, max_ts, hot_flagged;
  double bid;
  double price_lo, price_hi; /* from the row group statistics */
} ticks_acc;

static const struct {
  const char *name;
  td_type_id type;
  const char *tz;
} ticks_schema[] = {{"Timestamp", TD_TYPE_TIMESTAMP, "UTC"}, {"Symbol", TD_TYPE_UTF8, NULL},
                    {"Price", TD_TYPE_FLOAT64, NULL},        {"Size", TD_TYPE_INT32, NULL},
                    {"Volume", TD_TYPE_INT64, NULL},         {"Bid", TD_TYPE_FLOAT32, NULL},
                    {"Flag", TD_TYPE_BOOL, NULL},            {"Lot", TD_TYPE_INT16, NULL},
                    {"Tick", TD_TYPE_INT8, NULL},            {"Code", TD_TYPE_UINT16, NULL}};

static void read_whole(td_file_reader *r, int64_t col, struct ArrowArray *a, td_colview *v) {
  td_error err;
  TD_ASSERT_OK(td_reader_read(r, col, 0, r->num_rows, a, &err), &err);
  TD_ASSERT_OK(td_colview_init(v, r->schema.fields[col].type, a, &err), &err);
}

static void ticks_file(const char *path, ticks_acc *acc) {
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  assert_int_equal(r->schema.n_fields, 10);
  for (int c = 0; c < 10; c++) {
    const td_field *f = &r->schema.fields[c];
    assert_string_equal(f->name, ticks_schema[c].name);
    assert_int_equal(f->type, ticks_schema[c].type);
    /* DuckDB writes Timestamp with isAdjustedToUTC = false, so the file
     * itself carries no zone; accept either. */
    if (f->tz) assert_string_equal(f->tz, ticks_schema[c].tz ? ticks_schema[c].tz : "(none)");
  }
  acc->rows += r->num_rows;
  struct ArrowArray a[10];
  td_colview v[10];
  for (int c = 0; c < 10; c++) read_whole(r, c, &a[c], &v[c]);
  for (int64_t i = 0; i < r->num_rows; i++) {
    acc->symbols += td_colview_valid(&v[1], i);
    acc->volumes += td_colview_valid(&v[4], i);
    acc->flags += td_colview_valid(&v[6], i);
    acc->bid += td_colview_double(&v[5], i);
    acc->lot += td_colview_int(&v[7], i);
    acc->tick += td_colview_int(&v[8], i);
    acc->code += td_colview_int(&v[9], i);
    if (td_colview_int(&v[0], i) > acc->max_ts) acc->max_ts = td_colview_int(&v[0], i);
    if (td_colview_double(&v[2], i) > 900 && td_colview_valid(&v[6], i) && td_colview_int(&v[6], i))
      acc->hot_flagged++;
  }
  for (int c = 0; c < 10; c++) a[c].release(&a[c]);
  int64_t ns;
  const td_chunk_stats *st = r->vt->column_stats(r, 2, &ns);
  assert_non_null(st);
  for (int64_t k = 0; k < ns; k++) {
    assert_true(st[k].has_min_max);
    if (st[k].min.v.f < acc->price_lo) acc->price_lo = st[k].min.v.f;
    if (st[k].max.v.f > acc->price_hi) acc->price_hi = st[k].max.v.f;
  }
  td_reader_close(r);
}

static int64_t jint(const json_t *q, const char *key) {
  return strtoll(json_string_value(json_object_get(json_array_get(json_object_get(q, "result"), 0), key)), NULL, 10);
}

static void test_ticks(void **state) {
  (void)state;
  char root[4096];
  snprintf(root, sizeof root, "%s", td_test_testdata("fixtures/ticks/parquet"));
  names ns = {0};
  list_dir(root, "", true, &ns);
  ticks_acc acc = {0};
  acc.price_lo = 1e300;
  acc.price_hi = -1e300;
  acc.max_ts = INT64_MIN;
  int files = 0;
  for (size_t i = 0; i < ns.n; i++) {
    if (!ends_with(ns.v[i], "data_0.parquet")) continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", root, ns.v[i]);
    ticks_file(path, &acc);
    files++;
  }
  names_free(&ns);
  json_t *exp = json_load_file(td_test_testdata("fixtures/ticks/expected.json"), 0, NULL);
  assert_non_null(exp);
  const json_t *q = json_object_get(exp, "queries");
  printf("ticks: %d files, %lld rows\n", files, (long long)acc.rows);
  assert_int_equal(files, 15);
  assert_int_equal(acc.rows, 53835);
  const json_t *nulls = json_object_get(q, "nulls"), *types = json_object_get(q, "types");
  assert_int_equal(acc.symbols, jint(nulls, "symbols"));
  assert_int_equal(acc.volumes, jint(nulls, "volumes"));
  assert_int_equal(acc.flags, jint(nulls, "flags"));
  assert_int_equal(acc.lot, jint(types, "lot"));
  assert_int_equal(acc.tick, jint(types, "tick"));
  assert_int_equal(acc.code, jint(types, "code"));
  double bid = json_real_value(json_object_get(json_array_get(json_object_get(types, "result"), 0), "bid"));
  assert_true(fabs(acc.bid - bid) <= 1e-6 * fabs(bid));
  const char *ts = json_string_value(json_object_get(json_array_get(json_object_get(types, "ts_epoch_ns"), 0), "ts"));
  assert_int_equal(acc.max_ts, strtoll(ts, NULL, 10));
  int64_t hot = 0;
  const json_t *filt = json_object_get(json_object_get(q, "data_filter"), "result");
  for (size_t i = 0; i < json_array_size(filt); i++)
    hot += strtoll(json_string_value(json_object_get(json_array_get(filt, i), "n")), NULL, 10);
  assert_int_equal(acc.hot_flagged, hot);
  /* Row group statistics: overall min/max price across partitions. */
  double lo = 1e300, hi = -1e300;
  const json_t *parts = json_object_get(json_object_get(q, "by_partition"), "result");
  for (size_t i = 0; i < json_array_size(parts); i++) {
    const json_t *p = json_array_get(parts, i);
    lo = fmin(lo, json_number_value(json_object_get(p, "lo")));
    hi = fmax(hi, json_number_value(json_object_get(p, "hi")));
  }
  assert_true(acc.price_lo == lo && acc.price_hi == hi);
  json_decref(exp);
}

/* ---- malformed files ---- */

/* Opens and reads every column of every row in batches; returns the first
 * failure (0 when everything read). */
static int read_everything(const char *path, td_error *err) {
  td_file_reader *r;
  int rc = td_parquet_open(path, &r, err);
  if (rc) return rc;
  for (int64_t c = 0; c < r->schema.n_fields && !rc; c++) {
    for (int64_t off = 0; off < r->num_rows && !rc; off += 65536) {
      int64_t n = r->num_rows - off < 65536 ? r->num_rows - off : 65536;
      struct ArrowArray a;
      rc = td_reader_read(r, c, off, n, &a, err);
      if (!rc) {
        int vr = td_array_validate(r->schema.fields[c].type, &a, NULL);
        assert_int_equal(vr, TD_OK);
        a.release(&a);
      }
    }
  }
  td_reader_close(r);
  return rc;
}

static void test_malformed(void **state) {
  (void)state;
  char root[4096];
  snprintf(root, sizeof root, "%s", td_test_testdata("parquet/malformed"));
  names ns = {0};
  list_dir(root, "", true, &ns);
  int rejected = 0, read_ok = 0;
  for (size_t i = 0; i < ns.n; i++) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", root, ns.v[i]);
    td_error err;
    int rc = read_everything(path, &err);
    const char *base = strrchr(ns.v[i], '/') ? strrchr(ns.v[i], '/') + 1 : ns.v[i];
    if (rc) {
      printf("rejected %s: %s: %s\n", ns.v[i], td_status_name(rc), err.message);
      assert_true(rc == TD_EFORMAT || rc == TD_EUNSUPPORTED);
      TD_ASSERT_CONTAINS(err.message, base);
      rejected++;
    } else {
      printf("read     %s\n", ns.v[i]);
      read_ok++;
    }
  }
  printf("malformed: %zu files, %d rejected, %d read\n", ns.n, rejected, read_ok);
  assert_true(ns.n > 50);
  names_free(&ns);
}

/* The >2 GB brotli map: reading it must stay bounded. */
static void test_large_string_map(void **state) {
  (void)state;
  td_error err;
  int rc = read_everything(td_test_testdata("parquet/conformance/large_string_map.brotli.parquet"), &err);
  printf("large_string_map: %s %s\n", td_status_name(rc), rc ? err.message : "");
  assert_true(rc == TD_OK || rc == TD_EFORMAT || rc == TD_EUNSUPPORTED);
}

/* ---- laziness ---- */

static void test_laziness(void **state) {
  (void)state;
  const char *path = td_test_testdata("parquet/conformance/alltypes_tiny_pages_plain.parquet");
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  int64_t size, after_open = r->io.bytes_read;
  uint64_t ino;
  TD_ASSERT_OK(td_io_stat(&r->io, &size, &ino, &err), &err);
  int64_t col = td_schema_find(&r->schema, "int_col");
  assert_true(col >= 0);
  struct ArrowArray a;
  TD_ASSERT_OK(td_reader_read(r, col, 3000, 10, &a, &err), &err);
  td_colview v;
  TD_ASSERT_OK(td_colview_init(&v, TD_TYPE_INT32, &a, &err), &err);
  json_t *rows = jsonl_load(td_test_testdata("parquet/expected-duckdb/alltypes_tiny_pages_plain.parquet.jsonl"));
  for (int i = 0; i < 10; i++)
    assert_int_equal(td_colview_int(&v, i),
                     json_integer_value(json_object_get(json_array_get(rows, 3000 + i), "int_col")));
  json_decref(rows);
  a.release(&a);
  int64_t used = r->io.bytes_read - after_open;
  printf("laziness: file %lld bytes, footer %lld bytes, 10 rows of one column read %lld bytes\n",
         (long long)size, (long long)after_open, (long long)used);
  assert_true(after_open < size / 4);
  assert_true(used < size / 50);
  td_reader_close(r);
}

/* A small chunk without an offset index (at most 4 KiB) is read once: the
 * walk of its page headers reads it whole, and its dictionary and data
 * pages are decoded from those bytes, not read again. */
static void test_small_chunk_read_once(void **state) {
  (void)state;
  const char *path = td_test_testdata("parquet/conformance/alltypes_dictionary.parquet");
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(path, &r, &err), &err);
  const pq_reader *p = (const pq_reader *)r;
  int64_t col = td_schema_find(&r->schema, "int_col");
  assert_true(col >= 0);
  const pq_column_chunk *cc = &p->meta.row_groups[0].columns[p->cols[col].leaf];
  assert_true(cc->dictionary_page_offset > 0 && cc->total_compressed_size <= 4096);
  int64_t bytes0 = atomic_load(&r->io.bytes_read), reads0 = atomic_load(&r->io.reads);
  struct ArrowArray a;
  TD_ASSERT_OK(td_reader_read(r, col, 0, 2, &a, &err), &err);
  td_colview v;
  TD_ASSERT_OK(td_colview_init(&v, TD_TYPE_INT32, &a, &err), &err);
  assert_int_equal(td_colview_int(&v, 0), 0);
  assert_int_equal(td_colview_int(&v, 1), 1);
  a.release(&a);
  assert_int_equal(atomic_load(&r->io.reads) - reads0, 1);
  int64_t bytes = atomic_load(&r->io.bytes_read) - bytes0;
  assert_true(bytes >= cc->total_compressed_size && bytes <= cc->total_compressed_size + 100); /* (chunk_bounds' slack) */
  td_reader_close(r);
}

/* ---- allocation failures ---- */

static void test_alloc_failures(void **state) {
  (void)state;
  const char *path = td_test_testdata("parquet/conformance/alltypes_dictionary.parquet");
  char p[4096];
  snprintf(p, sizeof p, "%s", path);
  for (int64_t n = 0;; n++) {
    td__alloc_fail_after(n);
    td_error err;
    int rc = read_everything(p, &err);
    td__alloc_fail_after(-1);
    if (rc == TD_OK) {
      printf("alloc failures: succeeded after %lld allocations\n", (long long)n);
      break;
    }
    if (rc != TD_ENOMEM) fail_msg("allocation %lld: %s: %s", (long long)n, td_status_name(rc), err.message);
    assert_true(n < 100000);
  }
}

/* ---- concurrent reads ---- */

typedef struct thread_job {
  td_file_reader *r;
  int64_t col;
  const struct ArrowArray *whole;
  unsigned seed;
  int failures;
} thread_job;

static void *reader_thread(void *arg) {
  thread_job *j = arg;
  td_colview all;
  td_colview_init(&all, j->r->schema.fields[j->col].type, j->whole, NULL);
  for (int k = 0; k < 200; k++) {
    int64_t off = rand_r(&j->seed) % j->r->num_rows;
    int64_t n = 1 + rand_r(&j->seed) % 3000;
    if (n > j->r->num_rows - off) n = j->r->num_rows - off;
    struct ArrowArray a;
    if (td_reader_read(j->r, j->col, off, n, &a, NULL)) {
      j->failures++;
      continue;
    }
    td_colview v;
    td_colview_init(&v, all.type, &a, NULL);
    for (int64_t i = 0; i < n; i++) {
      if (td_colview_valid(&v, i) != td_colview_valid(&all, off + i)) j->failures++;
      else if (all.type == TD_TYPE_UTF8) {
        int64_t l1, l2;
        const char *s1 = td_colview_str(&v, i, &l1), *s2 = td_colview_str(&all, off + i, &l2);
        if (l1 != l2 || memcmp(s1, s2, (size_t)l1)) j->failures++;
      } else if (td_colview_int(&v, i) != td_colview_int(&all, off + i)) {
        j->failures++;
      }
    }
    a.release(&a);
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  td_file_reader *r;
  td_error err;
  TD_ASSERT_OK(td_parquet_open(td_test_testdata("parquet/conformance/alltypes_tiny_pages.parquet"), &r, &err), &err);
  for (int64_t col = 0; col < r->schema.n_fields; col++) {
    struct ArrowArray whole;
    TD_ASSERT_OK(td_reader_read(r, col, 0, r->num_rows, &whole, &err), &err);
    pthread_t t[4];
    thread_job jobs[4];
    for (int k = 0; k < 4; k++) {
      jobs[k] = (thread_job){r, col, &whole, (unsigned)(k * 7919 + col), 0};
      assert_int_equal(pthread_create(&t[k], NULL, reader_thread, &jobs[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
      pthread_join(t[k], NULL);
      assert_int_equal(jobs[k].failures, 0);
    }
    whole.release(&whole);
  }
  td_reader_close(r);
}

/* 0-row files from every writer (no row group at all from hyparquet-writer,
 * Polars and DuckDB, which also writes an empty list with element type 0)
 * and a 1-row file from hyparquet-writer. */
static void test_writer_row_counts(void **state) {
  (void)state;
  static const char *const files[] = {"zero_rows_hyparquet", "zero_rows_polars", "zero_rows_duckdb",
                                      "zero_rows_pyarrow", "one_row_hyparquet"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char rel[128];
    snprintf(rel, sizeof rel, "parquet/writers/%s.parquet", files[i]);
    td_file_reader *r;
    td_error err;
    TD_ASSERT_OK(td_parquet_open(td_test_testdata(rel), &r, &err), &err);
    int64_t want = strncmp(files[i], "one", 3) == 0 ? 1 : 0;
    assert_int_equal(r->num_rows, want);
    assert_string_equal(r->schema.fields[0].name, "i");
    assert_int_equal(r->schema.fields[0].type, TD_TYPE_INT64);
    struct ArrowArray a;
    TD_ASSERT_OK(td_reader_read(r, 0, 0, want, &a, &err), &err);
    assert_int_equal(a.length, want);
    if (want) assert_int_equal(((const int64_t *)a.buffers[1])[a.offset], 7);
    a.release(&a);
    td_reader_close(r);
  }
}

/* The page index: files with a ColumnIndex and OffsetIndex (parquet-testing's
 * tiny pages, one row group; and null pages) give per-page statistics that
 * cover every row in order and bound every value read. */
static void test_page_index_stats(void **state) {
  (void)state;
  static const char *const files[] = {"alltypes_tiny_pages.parquet", "alltypes_tiny_pages_plain.parquet",
                                      "int32_with_null_pages.parquet"};
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char rel[128];
    snprintf(rel, sizeof rel, "parquet/conformance/%s", files[f]);
    td_file_reader *r;
    td_error err;
    TD_ASSERT_OK(td_parquet_open(td_test_testdata(rel), &r, &err), &err);
    int64_t finest = 0, null_pages = 0;
    for (int64_t c = 0; c < r->schema.n_fields; c++) {
      int64_t n = 0;
      const td_chunk_stats *st = r->vt->column_stats(r, c, &n);
      if (!st) continue;
      if (n > finest) finest = n;
      struct ArrowArray a;
      td_colview v;
      read_whole(r, c, &a, &v);
      int64_t row = 0;
      for (int64_t i = 0; i < n; i++) {
        assert_int_equal(st[i].row_begin, row); /* in order, no gap */
        int64_t nulls = 0;
        for (int64_t k = row; k < row + st[i].row_count; k++) {
          if (!td_colview_valid(&v, k)) {
            nulls++;
            continue;
          }
          if (!st[i].has_min_max) continue;
          td_value x = td_colview_value(&v, k);
          if (td_value_compare(&x, &st[i].min) < 0 || td_value_compare(&x, &st[i].max) > 0)
            fail_msg("%s column %s row %lld lies outside its page's statistics", files[f], r->schema.fields[c].name,
                     (long long)k);
        }
        if (st[i].null_count >= 0) assert_int_equal(st[i].null_count, nulls);
        if (nulls == st[i].row_count && nulls > 0) {
          assert_false(st[i].has_min_max);
          null_pages++;
        }
        row += st[i].row_count;
      }
      assert_int_equal(row, r->num_rows);
      a.release(&a);
    }
    /* One row group, yet many entries: they come from the page index. */
    if (finest < 10) fail_msg("%s: at most %lld statistics entries per column", files[f], (long long)finest);
    if (f == 2) assert_true(null_pages > 0);
    td_reader_close(r);
  }
}

/* ColumnIndex decoding: a hand-encoded index, and malformed ones (lists of
 * different lengths, truncated, a missing list) rejected with TD_EFORMAT. */
static void test_column_index_parse(void **state) {
  (void)state;
  static const uint8_t ok[] = {0x19, 0x21, 0x01, 0x02,             /* 1: null_pages [true, false] */
                               0x19, 0x28, 0x01, 'a', 0x01, 'b',   /* 2: min_values */
                               0x19, 0x28, 0x01, 'c', 0x01, 'd',   /* 3: max_values */
                               0x15, 0x00,                         /* 4: boundary_order */
                               0x19, 0x26, 0x06, 0x00,             /* 5: null_counts [3, 0] */
                               0x00};
  pq_page_stats *ps;
  int64_t n;
  td_error err;
  TD_ASSERT_OK(pq_column_index_parse(ok, sizeof ok, &ps, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_true(ps[0].null_page);
  assert_false(ps[1].null_page);
  assert_int_equal(ps[0].null_count, 3);
  assert_int_equal(ps[1].null_count, 0);
  assert_int_equal(ps[1].min_len, 1);
  assert_int_equal(ps[1].min[0], 'b');
  assert_int_equal(ps[1].max[0], 'd');
  td_free(ps);
  static const uint8_t uneven[] = {0x19, 0x21, 0x01, 0x02, 0x19, 0x18, 0x01, 'a', 0x19, 0x28, 0x01, 'c', 0x01, 'd', 0x00};
  static const uint8_t no_max[] = {0x19, 0x21, 0x01, 0x02, 0x19, 0x28, 0x01, 'a', 0x01, 'b', 0x00};
  const struct {
    const uint8_t *p;
    size_t n;
  } bad[] = {{uneven, sizeof uneven}, {no_max, sizeof no_max}, {ok, sizeof ok - 1}, {ok, 7}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(pq_column_index_parse(bad[i].p, (int64_t)bad[i].n, &ps, &n, &err), TD_EFORMAT);
    assert_non_null(strstr(err.message, "column index"));
    assert_null(ps);
  }
}

/* The decode paths by page kind (pyarrow's decode_pages_v1/v2 files: 3
 * row groups of 1,000 rows, PLAIN snappy pages of 100 rows): required
 * columns (values decompressed straight into the rows), a nullable column
 * without nulls (levels one run of ones: no per-row flags, no bitmap),
 * nulls on the first and last row of every page, a page of nulls only; read
 * in slices of 777 rows that cross pages and row groups, and whole. */
static void test_decode_paths(void **state) {
  (void)state;
  static const char *const files[] = {"parquet/writers/decode_pages_v1_pyarrow.parquet",
                                      "parquet/writers/decode_pages_v2_pyarrow.parquet"};
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    td_file_reader *r;
    td_error err;
    TD_ASSERT_OK(td_parquet_open(td_test_testdata(files[f]), &r, &err), &err);
    assert_int_equal(r->num_rows, 3000);
    assert_int_equal(r->schema.n_fields, 5);
    assert_false(r->schema.fields[0].nullable);
    assert_true(r->schema.fields[2].nullable);
    for (int64_t slice = 777; slice <= 3000; slice += 3000 - 777) {
      for (int64_t off = 0; off < 3000; off += slice) {
        int64_t n = 3000 - off < slice ? 3000 - off : slice;
        for (int64_t c = 0; c < 5; c++) {
          struct ArrowArray a;
          TD_ASSERT_OK(td_reader_read(r, c, off, n, &a, &err), &err);
          assert_int_equal(a.length, n);
          td_colview v;
          TD_ASSERT_OK(td_colview_init(&v, r->schema.fields[c].type, &a, &err), &err);
          int64_t nulls = 0;
          for (int64_t i = 0; i < n; i++) {
            int64_t row = off + i;
            bool null = (c == 2 && (row % 100 == 0 || row % 100 == 99)) || (c == 4 && row >= 1000 && row < 1100);
            assert_int_equal(!td_colview_valid(&v, i), null);
            nulls += null;
            if (null) continue;
            const void *vals = v.values;
            switch (c) {
              case 0: assert_int_equal(((const int64_t *)vals)[v.offset + i], row * 3); break;
              case 1: assert_true(((const double *)vals)[v.offset + i] == row * 0.5); break;
              case 2: assert_int_equal(((const int32_t *)vals)[v.offset + i], row); break;
              case 3: assert_true(((const double *)vals)[v.offset + i] == row * 1.5); break;
              default: assert_int_equal(((const int64_t *)vals)[v.offset + i], row); break;
            }
          }
          assert_int_equal(a.null_count < 0 ? nulls : a.null_count, nulls);
          if (c == 0 || c == 1 || c == 3) assert_null(a.buffers[0]); /* no bitmap without nulls */
          a.release(&a);
        }
      }
    }
    td_reader_close(r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conformance),      cmocka_unit_test(test_ticks),
      cmocka_unit_test(test_malformed),        cmocka_unit_test(test_large_string_map),
      cmocka_unit_test(test_laziness),        cmocka_unit_test(test_small_chunk_read_once),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_writer_row_counts), cmocka_unit_test(test_page_index_stats),
      cmocka_unit_test(test_column_index_parse), cmocka_unit_test(test_decode_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
