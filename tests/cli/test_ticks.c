/*
 * tests/cli/test_ticks.c - every query of the shared ticks fixture's
 * expected.json, run through the `tabledata query --format jsonl` program on
 * each encoding of the dataset (parquet/, arrow/, csv/), gives DuckDB's
 * answer: integers exactly, floating point within a relative 1e-9,
 * timestamps as the same instant.
 *
 * usage: test_ticks <path of the tabledata program>
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query/expr.h"
#include "test.h"

static const char *g_cli;

/* Runs a query; returns the JSON rows (an array) or NULL. */
static json_t *run(const char *sql, char *errbuf, size_t errsize) {
  char cmd[16384];
  snprintf(cmd, sizeof cmd, "'%s' query --format jsonl \"%s\" 2>&1", g_cli, sql);
  FILE *p = popen(cmd, "r");
  if (!p) return NULL;
  json_t *rows = json_array();
  char line[65536];
  errbuf[0] = '\0';
  while (fgets(line, sizeof line, p)) {
    json_error_t je;
    json_t *row = json_loads(line, 0, &je);
    if (!row) snprintf(errbuf, errsize, "%.1000s", line);
    else json_array_append_new(rows, row);
  }
  int status = pclose(p);
  if (status != 0 && !errbuf[0]) snprintf(errbuf, errsize, "exit status %d", status);
  return rows;
}

static bool as_number(const json_t *v, double *out, int64_t *iout, bool *is_int) {
  if (json_is_integer(v)) {
    *iout = json_integer_value(v);
    *out = (double)*iout;
    *is_int = true;
    return true;
  }
  if (json_is_real(v)) {
    *out = json_real_value(v);
    *is_int = false;
    return true;
  }
  if (json_is_string(v)) { /* DuckDB writes big integers as strings */
    char *end;
    const char *s = json_string_value(v);
    long long x = strtoll(s, &end, 10);
    if (*s && !*end) {
      *iout = x;
      *out = (double)x;
      *is_int = true;
      return true;
    }
  }
  return false;
}

static bool as_time(const json_t *v, int64_t *ns) {
  if (!json_is_string(v)) return false;
  const char *s = json_string_value(v);
  return strlen(s) >= 19 && s[4] == '-' && s[10] && td_parse_timestamp(s, strlen(s), ns);
}

/* Compares one value; describes a mismatch in `why`. */
static bool same(const json_t *want, const json_t *got, char *why, size_t n) {
  int64_t wt, gt;
  if (as_time(want, &wt)) {
    if (as_time(got, &gt) && wt == gt) return true;
    snprintf(why, n, "timestamp %s vs %s", json_string_value(want), json_is_string(got) ? json_string_value(got) : "?");
    return false;
  }
  double wd, gd;
  int64_t wi, gi;
  bool wint, gint;
  if (as_number(want, &wd, &wi, &wint)) {
    if (!as_number(got, &gd, &gi, &gint)) {
      snprintf(why, n, "expected a number, got %s", json_dumps(got, JSON_ENCODE_ANY));
      return false;
    }
    if (wint && gint) {
      if (wi == gi) return true;
      snprintf(why, n, "%lld vs %lld", (long long)wi, (long long)gi);
      return false;
    }
    if (fabs(wd - gd) <= 1e-9 * fmax(1.0, fabs(wd))) return true;
    snprintf(why, n, "%.17g vs %.17g", wd, gd);
    return false;
  }
  if (json_equal(want, got)) return true;
  snprintf(why, n, "%s vs %s", json_dumps(want, JSON_ENCODE_ANY), json_dumps(got, JSON_ENCODE_ANY));
  return false;
}

static int check_format(const char *dir, json_t *queries) {
  int failures = 0;
  const char *name;
  json_t *q;
  json_object_foreach(queries, name, q) {
    const char *sql = json_string_value(json_object_get(q, "sql"));
    char path[4096], text[8192];
    snprintf(path, sizeof path, "%s", td_test_testdata(dir));
    const char *at = strstr(sql, "FROM t");
    snprintf(text, sizeof text, "%.*sFROM '%s'%s", (int)(at - sql), sql, path, at + 6);
    char errbuf[4096];
    json_t *got = run(text, errbuf, sizeof errbuf);
    json_t *want = json_object_get(q, "result");
    bool ok = !errbuf[0] && json_array_size(got) == json_array_size(want);
    char why[512] = "";
    if (errbuf[0]) snprintf(why, sizeof why, "%.400s", errbuf);
    else if (!ok) snprintf(why, sizeof why, "%zu rows, expected %zu", json_array_size(got), json_array_size(want));
    for (size_t r = 0; ok && r < json_array_size(want); r++) {
      const char *col;
      json_t *wv;
      json_object_foreach(json_array_get(want, r), col, wv) {
        json_t *gv = json_object_get(json_array_get(got, r), col);
        if (!gv || !same(wv, gv, why, sizeof why)) {
          ok = false;
          if (!gv) snprintf(why, sizeof why, "row %zu has no column %s", r, col);
          break;
        }
      }
    }
    printf("  %-8s %-14s %s%s%s\n", dir + strlen("fixtures/ticks/"), name, ok ? "ok" : "MISMATCH", ok ? "" : ": ",
           ok ? "" : why);
    failures += !ok;
    json_decref(got);
  }
  return failures;
}

static json_t *load_expected(void) {
  json_error_t je;
  json_t *root = json_load_file(td_test_testdata("fixtures/ticks/expected.json"), 0, &je);
  assert_non_null(root);
  return root;
}

static void run_dir(const char *dir) {
  json_t *root = load_expected();
  int failures = check_format(dir, json_object_get(root, "queries"));
  json_decref(root);
  assert_int_equal(failures, 0);
}

static void test_parquet(void **s) {
  (void)s;
  run_dir("fixtures/ticks/parquet");
}
static void test_arrow(void **s) {
  (void)s;
  run_dir("fixtures/ticks/arrow");
}
static void test_csv(void **s) {
  (void)s;
  run_dir("fixtures/ticks/csv");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_ticks <tabledata program>\n");
    return 2;
  }
  g_cli = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parquet),
      cmocka_unit_test(test_arrow),
#ifdef TD_HAVE_CSV
      cmocka_unit_test(test_csv),
#endif
  };
  (void)test_csv;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
