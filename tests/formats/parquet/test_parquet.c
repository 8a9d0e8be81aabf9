/*
 * tests/formats/parquet/test_parquet.c - the Parquet reader against the
 * shared conformance files (DuckDB's readings and the expect CSVs), the
 * ticks fixture, every malformed file, laziness and allocation failures.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arrow/array.h"
#include "formats/reader.h"
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
        bool skip;
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
    if (read_err) {
      assert_true(read_err == TD_EFORMAT || read_err == TD_EUNSUPPORTED);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conformance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
