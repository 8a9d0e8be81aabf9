/*
 * tests/formats/ipc/test_ipc_golden.c - reads every Arrow integration
 * "gold" file (file and stream form) and compares each supported column with
 * the case's integration JSON; unsupported columns must be listed with a
 * reason; big-endian cases must fail clearly.
 */
#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "arrow/array.h"
#include "formats/reader.h"
#include "test.h"

static json_t *load_json_gz(const char *path) {
  gzFile gz = gzopen(path, "rb");
  if (!gz) return NULL;
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  int k;
  while ((k = gzread(gz, buf + len, (unsigned)(cap - len - 1))) > 0) {
    len += (size_t)k;
    if (cap - len < 2) buf = realloc(buf, cap *= 2);
  }
  gzclose(gz);
  buf[len] = 0;
  json_error_t je;
  json_t *j = json_loads(buf, 0, &je);
  free(buf);
  return j;
}

static const char *jtype(json_t *f) { return json_string_value(json_object_get(json_object_get(f, "type"), "name")); }

/* Whether the engine reads a JSON-described field. */
static bool expect_supported(json_t *f) {
  const char *t = jtype(f);
  json_t *ty = json_object_get(f, "type");
  bool str = !strcmp(t, "utf8") || !strcmp(t, "binary") || !strcmp(t, "largeutf8") || !strcmp(t, "largebinary");
  if (json_object_get(f, "dictionary")) return str;
  if (!strcmp(t, "utf8view") || !strcmp(t, "binaryview")) return true; /* read as utf8 */
  if (!strcmp(t, "fixedsizebinary")) return true;                      /* read as binary */
  if (str || !strcmp(t, "bool") || !strcmp(t, "timestamp") || !strcmp(t, "date") ||
      !strcmp(t, "time") || !strcmp(t, "duration")) /* durations: int64 of the unit, every unit */
    return true;
  if (!strcmp(t, "int")) return true; /* every width, uint64 too (its values compared as unsigned) */
  if (!strcmp(t, "floatingpoint")) return true; /* HALF widens to float32 */
  if (!strcmp(t, "decimal")) { /* decimal128 only (bitWidth absent means 128) */
    json_t *bw = json_object_get(ty, "bitWidth");
    return !bw || json_integer_value(bw) == 128;
  }
  return false;
}

static int64_t jint(json_t *v) {
  if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10);
  if (json_is_true(v)) return 1;
  if (json_is_false(v)) return 0;
  return json_integer_value(v);
}

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

/* Expected bytes of a string-typed JSON value into buf; returns length. */
static size_t jbytes(json_t *v, bool binary, char *buf, size_t cap) {
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (!binary) {
    if (n > cap) n = cap;
    memcpy(buf, s, n);
    return n;
  }
  size_t k = 0;
  for (size_t i = 0; i + 1 < n && k < cap; i += 2) buf[k++] = (char)(hexval(s[i]) * 16 + hexval(s[i + 1]));
  return k;
}

static int64_t unit_scale(const char *unit) {
  if (!strcmp(unit, "SECOND")) return 1000000000;
  if (!strcmp(unit, "MILLISECOND")) return 1000000;
  if (!strcmp(unit, "MICROSECOND")) return 1000;
  if (!strcmp(unit, "DAY")) return INT64_C(86400000000000);
  return 1;
}

typedef struct expect_ctx {
  json_t *doc, *field;
  int64_t col_index; /* position among the JSON fields */
} expect_ctx;

static json_t *dict_column(json_t *doc, int64_t id) {
  json_t *d;
  size_t i;
  json_array_foreach(json_object_get(doc, "dictionaries"), i, d) {
    if (json_integer_value(json_object_get(d, "id")) == id)
      return json_array_get(json_object_get(json_object_get(d, "data"), "columns"), 0);
  }
  return NULL;
}

/* Compares row `i` of `got` with JSON column `jc` row `k`; returns 0 if equal,
 * 1 if different, 2 if the expected value overflows nanoseconds. */
static int compare_row(const td_colview *got, int64_t i, json_t *field, json_t *jc, int64_t k, json_t *doc) {
  bool valid = jint(json_array_get(json_object_get(jc, "VALIDITY"), (size_t)k)) != 0;
  json_t *v = json_array_get(json_object_get(jc, "DATA"), (size_t)k);
  const char *t = jtype(field);
  json_t *dict = json_object_get(field, "dictionary");
  if (valid && dict) {
    json_t *dc = dict_column(doc, json_integer_value(json_object_get(dict, "id")));
    int64_t idx = jint(v);
    valid = jint(json_array_get(json_object_get(dc, "VALIDITY"), (size_t)idx)) != 0;
    v = json_array_get(json_object_get(dc, "DATA"), (size_t)idx);
  }
  if (valid != td_colview_valid(got, i)) return 1;
  if (!valid) return 0;
  if (td_type_is_varlen(got->type)) {
    static char buf[1 << 16];
    size_t n;
    json_t *view = json_array_get(json_object_get(jc, "VIEWS"), (size_t)k);
    if (view && json_object_get(view, "INLINED")) { /* Utf8View / BinaryView */
      n = jbytes(json_object_get(view, "INLINED"), strstr(t, "binary") != NULL, buf, sizeof buf);
    } else if (view) { /* out of line: a slice of a variadic buffer (hex) */
      json_t *vb = json_array_get(json_object_get(jc, "VARIADIC_DATA_BUFFERS"),
                                  (size_t)jint(json_object_get(view, "BUFFER_INDEX")));
      static char whole[1 << 16];
      size_t wn = jbytes(vb, true, whole, sizeof whole);
      size_t off = (size_t)jint(json_object_get(view, "OFFSET")), sz = (size_t)jint(json_object_get(view, "SIZE"));
      if (off > wn || sz > wn - off) return 1;
      memcpy(buf, whole + off, sz);
      n = sz;
    } else {
      n = jbytes(v, strstr(t, "binary") != NULL, buf, sizeof buf);
    }
    int64_t len;
    const char *s = td_colview_str(got, i, &len);
    return (size_t)len != n || memcmp(s, buf, n) != 0;
  }
  if (got->type == TD_TYPE_FLOAT32 || got->type == TD_TYPE_FLOAT64) {
    double e = json_number_value(v), g = td_colview_double(got, i);
    if (got->type == TD_TYPE_FLOAT32) return fabs((double)(float)e - g) > 1e-6 * fabs(e) + 1e-30;
    return fabs(e - g) > 1e-12 * fabs(e);
  }
  if (got->type == TD_TYPE_DECIMAL128) { /* the unscaled value as decimal text */
    const char *txt = json_string_value(v);
    bool neg = txt && *txt == '-';
    unsigned __int128 u = 0;
    for (const char *c = txt + neg; txt && *c; c++) u = u * 10 + (unsigned)(*c - '0');
    __int128 want = neg ? -(__int128)u : (__int128)u, have;
    memcpy(&have, (const uint8_t *)got->values + (got->offset + i) * 16, 16);
    return have != want;
  }
  int64_t e = jint(v);
  if (!strcmp(t, "int") && !json_is_true(json_object_get(json_object_get(field, "type"), "isSigned")) &&
      json_is_string(v))
    e = (int64_t)strtoull(json_string_value(v), NULL, 10);
  /* dates, times, timestamps and durations keep the file's unit: the values are equal as written */
  return td_colview_int(got, i) != e;
}

/* Checks schema column `col` (JSON field index j) against every batch. */
static int check_column(td_file_reader *r, int64_t col, json_t *doc, size_t j, char *msg, size_t msz) {
  json_t *field = json_array_get(json_object_get(json_object_get(doc, "schema"), "fields"), j);
  int64_t rows = r->num_rows;
  /* Expected overflow? */
  int overflow = 0;
  struct ArrowArray a;
  td_error err;
  int rc = td_reader_read(r, col, 0, rows, &a, &err);
  td_colview v;
  if (!rc) {
    rc = td_colview_init(&v, r->schema.fields[col].type, &a, &err);
    if (!rc) rc = td_array_validate(td_type_small(r->schema.fields[col].type), &a, &err);
  }
  int64_t row = 0;
  json_t *b;
  size_t bi;
  int bad = 0;
  json_array_foreach(json_object_get(doc, "batches"), bi, b) {
    json_t *jc = json_array_get(json_object_get(b, "columns"), j);
    int64_t cnt = json_integer_value(json_object_get(b, "count"));
    for (int64_t k = 0; k < cnt; k++, row++) {
      if (rc) {
        /* only the overflow check matters without data */
        const char *t = jtype(field);
        if (!strcmp(t, "timestamp") || !strcmp(t, "date")) {
          bool valid = jint(json_array_get(json_object_get(jc, "VALIDITY"), (size_t)k)) != 0;
          int64_t e = jint(json_array_get(json_object_get(jc, "DATA"), (size_t)k));
          int64_t sc = unit_scale(json_string_value(json_object_get(json_object_get(field, "type"), "unit")));
          if (valid && sc > 1 && (e > INT64_MAX / sc || e < -(INT64_MAX / sc))) overflow = 1;
        }
        continue;
      }
      int c = compare_row(&v, row, field, jc, k, doc);
      if (c == 2) overflow = 1;
      else if (c && !bad) {
        bad = 1;
        snprintf(msg, msz, "column %s row %lld differs", json_string_value(json_object_get(field, "name")), (long long)row);
      }
    }
  }
  if (!rc) a.release(&a);
  if (rc) {
    if (overflow && rc == TD_ERANGE) return 0; /* out-of-range dates: a clear error is expected */
    snprintf(msg, msz, "column %lld: %s", (long long)col, err.message);
    return 1;
  }
  if (overflow) {
    snprintf(msg, msz, "column %lld read values that overflow nanoseconds", (long long)col);
    return 1;
  }
  /* A partial read across the batch boundary must match the full read. */
  if (!bad && rows > 2) {
    struct ArrowArray full, part;
    td_colview fv, pv;
    TD_ASSERT_OK(td_reader_read(r, col, 0, rows, &full, &err), &err);
    TD_ASSERT_OK(td_reader_read(r, col, 1, rows - 2, &part, &err), &err);
    td_colview_init(&fv, r->schema.fields[col].type, &full, NULL);
    td_colview_init(&pv, r->schema.fields[col].type, &part, NULL);
    for (int64_t i = 0; i < rows - 2; i++) {
      td_value x = td_colview_value(&fv, i + 1), y = td_colview_value(&pv, i);
      if (x.is_null != y.is_null || (!x.is_null && (td_type_is_varlen(x.type) ? x.v.s.len != y.v.s.len || memcmp(x.v.s.ptr, y.v.s.ptr, x.v.s.len)
                                                                            : memcmp(&x.v, &y.v, sizeof x.v)))) {
        snprintf(msg, msz, "partial read of column %lld differs at row %lld", (long long)col, (long long)i);
        bad = 1;
        break;
      }
    }
    full.release(&full);
    part.release(&part);
  }
  return bad;
}

/* Returns 0 on a match; msg explains otherwise. */
static int check_case(const char *path, json_t *doc, bool bigendian, char *msg, size_t msz) {
  td_file_reader *r;
  td_error err;
  int rc = td_ipc_open(path, &r, &err);
  if (bigendian) {
    if (rc == TD_EUNSUPPORTED && strstr(err.message, "big-endian")) {
      snprintf(msg, msz, "rejected: %s", err.message);
      return 0;
    }
    snprintf(msg, msz, "big-endian file not rejected clearly (rc %d)", rc);
    if (!rc) td_reader_close(r);
    return 1;
  }
  if (rc) {
    snprintf(msg, msz, "open failed: %s", err.message);
    return 1;
  }
  json_t *fields = json_object_get(json_object_get(doc, "schema"), "fields");
  int64_t expect_rows = 0;
  json_t *b;
  size_t i;
  json_array_foreach(json_object_get(doc, "batches"), i, b) expect_rows += json_integer_value(json_object_get(b, "count"));
  int bad = 0;
  if (r->num_rows != expect_rows) {
    snprintf(msg, msz, "rows %lld, expected %lld", (long long)r->num_rows, (long long)expect_rows);
    bad = 1;
  }
  int64_t sc = 0, uc = 0;
  json_t *f;
  json_array_foreach(fields, i, f) {
    if (bad) break;
    const char *name = json_string_value(json_object_get(f, "name"));
    if (expect_supported(f)) {
      if (sc >= r->schema.n_fields || strcmp(r->schema.fields[sc].name, name)) {
        snprintf(msg, msz, "field %s missing from the schema", name);
        bad = 1;
      } else {
        bad = check_column(r, sc++, doc, i, msg, msz);
      }
    } else if (uc >= r->n_unsupported || strcmp(r->unsupported[uc].name, name) || !*r->unsupported[uc].reason) {
      snprintf(msg, msz, "field %s (%s) should be listed as unsupported", name, jtype(f));
      bad = 1;
    } else {
      uc++;
    }
  }
  if (!bad && (sc != r->schema.n_fields || uc != r->n_unsupported)) {
    snprintf(msg, msz, "schema has extra columns");
    bad = 1;
  }
  if (!bad) snprintf(msg, msz, "%lld rows, %lld columns, %lld unsupported%s%s", (long long)r->num_rows,
                     (long long)sc, (long long)uc, uc ? ": e.g. " : "", uc ? r->unsupported[0].reason : "");
  td_reader_close(r);
  return bad;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_golden(void **state) {
  (void)state;
  char root[4096];
  snprintf(root, sizeof root, "%s", td_test_testdata("arrow-ipc/golden"));
  DIR *d = opendir(root);
  assert_non_null(d);
  char *versions[64];
  int nv = 0;
  struct dirent *e;
  while ((e = readdir(d)) && nv < 64)
    if (e->d_name[0] != '.') versions[nv++] = strdup(e->d_name);
  closedir(d);
  qsort(versions, (size_t)nv, sizeof *versions, cmpstr);
  int pass = 0, total = 0;
  for (int v = 0; v < nv; v++) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", root, versions[v]);
    DIR *dd = opendir(dir);
    char *cases[256];
    int nc = 0;
    while ((e = readdir(dd)) && nc < 256) {
      size_t l = strlen(e->d_name);
      if (l > 8 && !strcmp(e->d_name + l - 8, ".json.gz")) cases[nc++] = strndup(e->d_name, l - 8);
    }
    closedir(dd);
    qsort(cases, (size_t)nc, sizeof *cases, cmpstr);
    bool big = strstr(versions[v], "bigendian") != NULL;
    for (int c = 0; c < nc; c++) {
      char path[4500];
      snprintf(path, sizeof path, "%s/%s.json.gz", dir, cases[c]);
      json_t *doc = load_json_gz(path);
      assert_non_null(doc);
      static const char *forms[] = {"arrow_file", "stream"};
      for (int fo = 0; fo < 2; fo++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, cases[c], forms[fo]);
        FILE *fp = fopen(path, "rb");
        if (!fp) continue;
        fclose(fp);
        char msg[1400];
        int bad = check_case(path, doc, big, msg, sizeof msg);
        total++;
        pass += !bad;
        printf("%s %s/%s.%s: %s\n", bad ? "FAIL" : "ok  ", versions[v], cases[c], forms[fo], msg);
      }
      json_decref(doc);
      free(cases[c]);
    }
    free(versions[v]);
  }
  printf("golden: %d of %d cases pass\n", pass, total);
  assert_int_equal(pass, total);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
