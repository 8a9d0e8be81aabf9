/*
 * tests/formats/parquet/jsonl.c - expected-value loading (DuckDB JSON lines,
 * expect CSVs) and value comparison for the Parquet conformance tests.
 */
#include "jsonl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Quotes bare NaN / Infinity / -Infinity tokens outside strings. */
static char *quote_specials(const char *line) {
  size_t n = strlen(line);
  char *out = malloc(n * 2 + 16), *o = out;
  bool in_str = false;
  for (size_t i = 0; i < n; i++) {
    char c = line[i];
    if (in_str) {
      *o++ = c;
      if (c == '\\' && i + 1 < n) *o++ = line[++i];
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    const char *tok[] = {"-Infinity", "Infinity", "NaN"};
    bool done = false;
    for (int t = 0; t < 3 && !done; t++) {
      size_t l = strlen(tok[t]);
      if (strncmp(line + i, tok[t], l) == 0) {
        o += sprintf(o, "\"%s\"", tok[t]);
        i += l - 1;
        done = true;
      }
    }
    if (!done) *o++ = c;
  }
  *o = 0;
  return out;
}

json_t *jsonl_load(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  json_t *rows = json_array();
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    if (line[0] == '\n') continue;
    char *q = quote_specials(line);
    json_error_t je;
    json_t *row = json_loads(q, JSON_ALLOW_NUL, &je);
    free(q);
    if (!row) {
      fprintf(stderr, "%s: bad JSON line: %s\n", path, je.text);
      row = json_object();
    }
    json_array_append_new(rows, row);
  }
  free(line);
  fclose(f);
  return rows;
}

/* Splits one CSV record (quotes, no embedded newlines) into JSON values. */
static json_t *csv_fields(const char *line) {
  json_t *arr = json_array();
  const char *p = line;
  for (;;) {
    char buf[4096];
    size_t n = 0;
    bool quoted = false;
    if (*p == '"') {
      quoted = true;
      p++;
      while (*p && !(*p == '"' && p[1] != '"')) {
        if (*p == '"') p++;
        if (n < sizeof buf - 1) buf[n++] = *p;
        p++;
      }
      if (*p == '"') p++;
    } else {
      while (*p && *p != ',' && *p != '\n' && *p != '\r') {
        if (n < sizeof buf - 1) buf[n++] = *p;
        p++;
      }
    }
    buf[n] = 0;
    json_array_append_new(arr, (!quoted && n == 0) ? json_null() : json_stringn(buf, n));
    if (*p != ',') break;
    p++;
  }
  return arr;
}

json_t *csv_load(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  json_t *rows = json_array(), *header = NULL;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    json_t *fields = csv_fields(line);
    if (!header) {
      header = fields;
      continue;
    }
    json_t *row = json_object();
    for (size_t i = 0; i < json_array_size(header) && i < json_array_size(fields); i++) {
      const char *name = json_string_value(json_array_get(header, i));
      while (*name == ' ') name++;
      json_object_set(row, name, json_array_get(fields, i));
    }
    json_decref(fields);
    json_array_append_new(rows, row);
  }
  json_decref(header);
  free(line);
  fclose(f);
  return rows;
}

/* DuckDB prints blobs with \xHH escapes: decode them. */
static size_t unescape_blob(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (s[i] == '\\' && i + 3 < n + 0 && s[i + 1] == 'x' && sscanf(s + i + 2, "%2x", &v) == 1) {
      out[o++] = (char)v;
      i += 3;
    } else {
      out[o++] = s[i];
    }
  }
  return o;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* Parses "YYYY-MM-DD[ HH:MM:SS[.fff...]][+HH[:MM]]"; *digits = fraction
 * digits.  False when it does not parse or lies outside the ns range. */
static bool parse_ts(const char *s, int64_t *ns, int *digits) {
  int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
  if (strstr(s, "(BC)") || sscanf(s, "%d-%d-%d%n", &y, &mo, &d, &n) != 3) return false;
  if (y < 1678 || y > 2261) return false;
  const char *p = s + n;
  int64_t frac = 0;
  *digits = 0;
  if (*p == ' ' || *p == 'T') {
    if (sscanf(p + 1, "%d:%d:%d%n", &h, &mi, &sec, &n) != 3) return false;
    p += 1 + n;
    if (*p == '.') {
      for (p++; *p >= '0' && *p <= '9'; p++, (*digits)++) frac = frac * 10 + (*p - '0');
    }
  }
  for (int k = *digits; k < 9; k++) frac *= 10;
  int64_t off = 0;
  if (*p == '+' || *p == '-') {
    int oh = 0, om = 0;
    sscanf(p + 1, "%d:%d", &oh, &om);
    off = (p[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  *ns = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off) *
         1000000000LL) + frac;
  return true;
}

static bool fail(char *msg, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *msg, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, size, fmt, ap);
  va_end(ap);
  return false;
}

/* The JSON text of a value (static buffer). */
static const char *jtext(const json_t *j) {
  static char buf[256];
  size_t n = json_dumpb(j, buf, sizeof buf - 1, JSON_ENCODE_ANY);
  buf[n < sizeof buf ? n : sizeof buf - 1] = 0;
  return buf;
}

static bool float_matches(double got, const json_t *want, bool f32) {
  double w;
  if (json_is_string(want)) {
    const char *s = json_string_value(want);
    if (!strcmp(s, "NaN")) return isnan(got);
    w = strtod(s, NULL); /* "Infinity", "-Infinity", or a CSV number */
    if (!strcmp(s, "Infinity")) w = INFINITY;
    if (!strcmp(s, "-Infinity")) w = -INFINITY;
  } else {
    w = json_number_value(want);
  }
  if (isinf(w) || isinf(got)) return w == got;
  double tol = (f32 ? 1e-6 : 1e-12) * fmax(1.0, fabs(w));
  return fabs(got - w) <= tol;
}

bool value_matches(const td_colview *v, int64_t i, const json_t *want, bool from_csv,
                   char *msg, size_t msg_size, bool *skipped) {
  *skipped = false;
  bool valid = td_colview_valid(v, i);
  if (!want || json_is_null(want))
    return valid ? fail(msg, msg_size, "expected null, got a value") : true;
  if (!valid) return fail(msg, msg_size, "expected %s, got null", jtext(want));
  switch (v->type) {
    case TD_TYPE_BOOL: {
      bool g = td_colview_int(v, i) != 0, w;
      if (json_is_string(want)) w = !strcmp(json_string_value(want), "true");
      else w = json_is_true(want);
      return g == w ? true : fail(msg, msg_size, "expected %d, got %d", w, g);
    }
    case TD_TYPE_FLOAT32:
    case TD_TYPE_FLOAT64: {
      double g = td_colview_double(v, i);
      return float_matches(g, want, v->type == TD_TYPE_FLOAT32)
                 ? true
                 : fail(msg, msg_size, "expected %s, got %.17g", jtext(want), g);
    }
    case TD_TYPE_UTF8:
    case TD_TYPE_BINARY: {
      int64_t len;
      const char *s = td_colview_str(v, i, &len);
      if (!json_is_string(want)) return fail(msg, msg_size, "expected a non-string");
      const char *w = json_string_value(want);
      size_t wl = json_string_length(want);
      if ((size_t)len == wl && !memcmp(s, w, wl)) return true;
      char *dec = malloc(wl + 1);
      size_t dl = unescape_blob(w, wl, dec);
      bool ok = (size_t)len == dl && !memcmp(s, dec, dl);
      free(dec);
      return ok ? true : fail(msg, msg_size, "expected \"%.60s\", got \"%.*s\"", w, (int)(len > 60 ? 60 : len), s);
    }
    case TD_TYPE_TIMESTAMP: {
      int64_t g = td_colview_int(v, i), w;
      int digits;
      if (!json_is_string(want) || !parse_ts(json_string_value(want), &w, &digits)) {
        *skipped = true;
        return true;
      }
      int64_t diff = g - w;
      bool ok = digits > 6 ? diff == 0 : (diff >= 0 && diff < 1000);
      return ok ? true : fail(msg, msg_size, "expected %s, got %lld ns", json_string_value(want), (long long)g);
    }
    default: {
      int64_t g = td_colview_int(v, i), w;
      if (json_is_string(want)) w = strtoll(json_string_value(want), NULL, 10);
      else if (json_is_integer(want)) w = json_integer_value(want);
      else w = (int64_t)json_number_value(want);
      (void)from_csv;
      return g == w ? true : fail(msg, msg_size, "expected %lld, got %lld", (long long)w, (long long)g);
    }
  }
}
