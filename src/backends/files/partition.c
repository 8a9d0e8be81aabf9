/*
 * backends/files/partition.c - partition values from hive-style directory
 * names: `name=value` components (URL-decoded), __HIVE_DEFAULT_PARTITION__
 * as null.  A declared partition schema gives a column its type (integers,
 * floats, bool, ISO-8601 timestamps); otherwise, unless inference is off,
 * the type is inferred from all the values found by discovery the way
 * DuckDB's hive_types_autocast does (int64 when every value is an integer
 * without leading zeros, date32 when every value is a YYYY-MM-DD date,
 * timestamp when every value is a date or a date and time), else utf8.  Components of the path itself (a partition directory or a
 * file inside a hive tree given as the path) count as partitions too.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/files/files_internal.h"
#include "keys/keys.h"
#include "util/alloc.h"
#include "util/error.h"

#define HIVE_NULL "__HIVE_DEFAULT_PARTITION__"

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void fb_url_decode(char *s) {
  char *w = s;
  for (const char *r = s; *r; r++) {
    int hi, lo;
    if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0) {
      *w++ = (char)(hi * 16 + lo);
      r += 2;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

/* ---- ISO-8601 timestamps ---- */

static bool take_digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return true;
}

static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
  static const int k[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : k[m - 1];
}

/* Time of day after the date: [T| ]HH:MM[:SS[.f...]]; adds to *ns. */
static bool parse_time(const char **p, int64_t *ns) {
  int hh, mi, ss = 0;
  const char *s = *p;
  if (!take_digits(&s, 2, &hh) || *s++ != ':' || !take_digits(&s, 2, &mi)) return false;
  if (*s == ':' && (s++, !take_digits(&s, 2, &ss))) return false;
  if (hh > 23 || mi > 59 || ss > 59) return false;
  int64_t frac = 0;
  if (*s == '.') {
    s++;
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
      if (digits < 9) frac = frac * 10 + (*s - '0');
      digits++;
      s++;
    }
    if (digits == 0) return false;
    for (int i = digits; i < 9; i++) frac *= 10;
  }
  *ns += ((int64_t)hh * 3600 + mi * 60 + ss) * 1000000000LL + frac;
  *p = s;
  return true;
}

/* Zone: Z, or +HH, +HH:MM, +HHMM (and -); sets *offset_s. */
static bool parse_zone(const char **p, int64_t *offset_s) {
  const char *s = *p;
  *offset_s = 0;
  if (*s == 'Z' || *s == 'z') {
    *p = s + 1;
    return true;
  }
  if (*s != '+' && *s != '-') return true;
  int sign = *s++ == '-' ? -1 : 1, hh, mi = 0;
  if (!take_digits(&s, 2, &hh)) return false;
  if (*s == ':') s++;
  if (*s >= '0' && *s <= '9' && !take_digits(&s, 2, &mi)) return false;
  if (hh > 23 || mi > 59) return false;
  *offset_s = sign * (hh * 3600 + mi * 60);
  *p = s;
  return true;
}

int fb_parse_timestamp(const char *text, int64_t *ns) {
  const char *s = text;
  int y, m, d;
  if (!take_digits(&s, 4, &y) || *s++ != '-' || !take_digits(&s, 2, &m) || *s++ != '-' ||
      !take_digits(&s, 2, &d))
    return TD_EPARSE;
  if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return TD_EPARSE;
  int64_t tod = 0, zone = 0;
  if ((*s == 'T' || *s == 't' || *s == ' ') && (s++, !parse_time(&s, &tod))) return TD_EPARSE;
  if (!parse_zone(&s, &zone) || *s) return TD_EPARSE;
  int64_t secs = days_from_civil(y, m, d) * 86400 - zone, out;
  if (__builtin_mul_overflow(secs, (int64_t)1000000000, &out) || __builtin_add_overflow(out, tod, &out))
    return TD_ERANGE;
  *ns = out;
  return TD_OK;
}

/* ---- typed values ---- */

static int int_range(td_type_id t, int64_t *lo, int64_t *hi) {
  switch (t) {
    case TD_TYPE_INT8: *lo = INT8_MIN, *hi = INT8_MAX; break;
    case TD_TYPE_INT16: *lo = INT16_MIN, *hi = INT16_MAX; break;
    case TD_TYPE_INT32: *lo = INT32_MIN, *hi = INT32_MAX; break;
    case TD_TYPE_UINT16: *lo = 0, *hi = UINT16_MAX; break;
    case TD_TYPE_UINT8: *lo = 0, *hi = UINT8_MAX; break;
    case TD_TYPE_UINT32: *lo = 0, *hi = UINT32_MAX; break;
    default: *lo = INT64_MIN, *hi = INT64_MAX; break;
  }
  return TD_OK;
}

static int bad_value(const td_field *f, const char *text, td_error *err) {
  char t[64];
  return td_err(err, TD_EFORMAT,
                "partition column '%s': '%s' is not a valid %s (declare its type: --partition-types '%s VARCHAR', "
                "or --partition-types none)",
                f->name, text, td_field_type_text(f, t, sizeof t), f->name);
}

int fb_parse_value(const td_field *f, const char *text, td_value *out, td_error *err) {
  if (strcmp(text, HIVE_NULL) == 0) {
    *out = td_value_null(f->type);
    return TD_OK;
  }
  char *end = NULL;
  errno = 0;
  if (td_type_is_varlen(f->type)) { /* the directory name's bytes */
    *out = td_value_str(text);
    out->type = f->type;
  } else if (td_type_is_integer(f->type)) {
    int64_t lo, hi;
    int_range(f->type, &lo, &hi);
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno || v < lo || v > hi) return bad_value(f, text, err);
    *out = td_value_int(f->type, v);
  } else if (td_type_is_float(f->type)) {
    double v = strtod(text, &end);
    if (!*text || *end || (errno && isfinite(v))) return bad_value(f, text, err);
    *out = td_value_double(f->type, v);
  } else if (f->type == TD_TYPE_BOOL) {
    if (strcasecmp(text, "true") && strcasecmp(text, "false")) return bad_value(f, text, err);
    *out = td_value_bool(strcasecmp(text, "true") == 0);
  } else if (f->type == TD_TYPE_TIMESTAMP) {
    int64_t ns;
    if (fb_parse_timestamp(text, &ns) != TD_OK) return bad_value(f, text, err);
    *out = td_value_int(TD_TYPE_TIMESTAMP, ns);
  } else if (f->type == TD_TYPE_DATE32) {
    int64_t days;
    if (!td_parse_date(text, strlen(text), &days)) return bad_value(f, text, err);
    *out = td_value_int(TD_TYPE_DATE32, days);
  } else {
    return bad_value(f, text, err);
  }
  return TD_OK;
}

/* ---- location keys ---- */

typedef struct hive_parts {
  int64_t n;
  char **names, **values; /* decoded, owned */
} hive_parts;

static void parts_reset(hive_parts *h) {
  for (int64_t i = 0; i < h->n; i++) {
    td_free(h->names[i]);
    td_free(h->values[i]);
  }
  td_free(h->names);
  td_free(h->values);
  memset(h, 0, sizeof *h);
}

/* Splits `rel` into its name=value components. */
static int split_parts(const char *rel, hive_parts *h, td_error *err) {
  memset(h, 0, sizeof *h);
  int64_t cap = 1;
  for (const char *p = rel; *p; p++) cap += *p == '/';
  h->names = td_calloc((size_t)cap, sizeof *h->names);
  h->values = td_calloc((size_t)cap, sizeof *h->values);
  if (!h->names || !h->values) return td_err_nomem(err, "parsing partition directories");
  for (const char *p = rel; *p;) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    if (eq && eq != p) {
      h->names[h->n] = td_strndup(p, (size_t)(eq - p));
      h->values[h->n] = td_strndup(eq + 1, len - (size_t)(eq - p) - 1);
      if (!h->names[h->n] || !h->values[h->n]) {
        h->n++;
        return td_err_nomem(err, "parsing partition directories");
      }
      fb_url_decode(h->names[h->n]);
      fb_url_decode(h->values[h->n]);
      h->n++;
    }
    p += len;
    if (*p == '/') p++;
  }
  return TD_OK;
}

static void names_text(char *const *names, int64_t n, const td_schema *s, char *buf, size_t size) {
  size_t at = 0;
  buf[0] = '\0';
  for (int64_t i = 0; i < n && at < size; i++)
    at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? ", " : "", names ? names[i] : s->fields[i].name);
}

static int value_kind(const char *v);
static td_type_id kind_type(int kind);

/* First location: fixes the partition columns (declared types or utf8). */
static int fix_parts(td_file_backend *fb, const char *rel, const hive_parts *h, td_error *err) {
  for (int64_t i = 0; i < h->n; i++) {
    for (int64_t j = 0; j < i; j++)
      if (strcmp(h->names[i], h->names[j]) == 0)
        return td_err(err, TD_EFORMAT, "'%s/%s': partition column '%s' appears twice", fb->root, rel,
                      h->names[i]);
    int64_t d = td_schema_find(&fb->part_decl, h->names[i]);
    const td_field *df = d >= 0 ? &fb->part_decl.fields[d] : NULL;
    td_type_id t = df ? df->type : TD_TYPE_UTF8;
    if (!df && fb->infer_parts && !fb->discovering) { /* a first location appearing later: its own values */
      t = kind_type(value_kind(h->values[i]));
    }
    int rc = td_schema_add(&fb->part, h->names[i], t, df ? df->tz : NULL, true, err);
    if (rc) return rc;
  }
  for (int64_t d = 0; d < fb->part_decl.n_fields; d++)
    if (td_schema_find(&fb->part, fb->part_decl.fields[d].name) < 0)
      return td_err(err, TD_EFORMAT, "'%s/%s': declared partition column '%s' is not among its directory names",
                    fb->root, rel, fb->part_decl.fields[d].name);
  fb->parts_source = td_strdup(rel);
  if (!fb->parts_source) return td_err_nomem(err, "discovering partitions");
  fb->parts_known = true;
  return TD_OK;
}

static int check_parts(td_file_backend *fb, const char *rel, const hive_parts *h, td_error *err) {
  bool same = h->n == fb->part.n_fields;
  for (int64_t i = 0; same && i < h->n; i++) same = strcmp(h->names[i], fb->part.fields[i].name) == 0;
  if (same) return TD_OK;
  char got[256], want[256];
  names_text(h->names, h->n, NULL, got, sizeof got);
  names_text(NULL, fb->part.n_fields, &fb->part, want, sizeof want);
  if (!fb->parts_source)
    return td_err(err, TD_EFORMAT,
                  "'%s/%s': partition columns [%s], expected [%s]: a table started on an empty tree has the "
                  "partition columns it was given (declare them with --partition-types, e.g. '%s VARCHAR')",
                  fb->root, rel, got, want, h->n ? h->names[0] : "name");
  return td_err(err, TD_EFORMAT,
                "'%s/%s': partition columns [%s], expected [%s] (the same names in the same order as '%s/%s')",
                fb->root, rel, got, want, fb->root, fb->parts_source ? fb->parts_source : "");
}

/* Splits the path's own components and then `rel`. */
static int split_all(const td_file_backend *fb, const char *rel, hive_parts *h, td_error *err) {
  memset(h, 0, sizeof *h);
  if (!fb->root_parts || !fb->root_parts[0]) return split_parts(rel, h, err);
  char *all = rel[0] ? fb_join(fb->root_parts, rel) : td_strdup(fb->root_parts);
  if (!all) return td_err_nomem(err, "parsing partition directories");
  int rc = split_parts(all, h, err);
  td_free(all);
  return rc;
}

int fb_location_key(td_file_backend *fb, const char *rel, td_location_key **out, td_error *err) {
  hive_parts h;
  *out = NULL;
  int rc = split_all(fb, rel, &h, err);
  if (!rc) rc = fb->parts_known ? check_parts(fb, rel, &h, err) : fix_parts(fb, rel, &h, err);
  td_value *vals = NULL;
  if (!rc && h.n && !(vals = td_calloc((size_t)h.n, sizeof *vals))) rc = td_err_nomem(err, "partition values");
  for (int64_t i = 0; !rc && i < h.n; i++) {
    rc = fb_parse_value(&fb->part.fields[i], h.values[i], &vals[i], err);
    if (rc) td_err_prefix(err, rc, "'%s/%s': ", fb->root, rel);
  }
  if (!rc) rc = td_location_key_new(rel, h.n, (const char *const *)h.names, vals, out, err);
  td_free(vals);
  parts_reset(&h);
  return rc;
}

/* ---- type inference (hive_types_autocast) ---- */

/* The inferred kind of one value: 0 utf8, 1 integer, 2 date, 3 timestamp. */
static int value_kind(const char *v) {
  const char *p = v + (v[0] == '-');
  if (*p >= '0' && *p <= '9') {
    const char *q = p;
    while (*q >= '0' && *q <= '9') q++;
    if (!*q) {
      if (p[0] == '0' && p[1]) return 0; /* leading zeros keep a string */
      errno = 0;
      (void)strtoll(v, NULL, 10);
      return errno ? 0 : 1;
    }
  }
  int64_t ns, days;
  if (td_parse_date(v, strlen(v), &days)) return 2;
  if (fb_parse_timestamp(v, &ns) != TD_OK) return 0;
  return 3;
}

static td_type_id kind_type(int kind) {
  return kind == 1 ? TD_TYPE_INT64 : kind == 2 ? TD_TYPE_DATE32 : kind == 3 ? TD_TYPE_TIMESTAMP : TD_TYPE_UTF8;
}

/* The type every value of column i agrees on. */
static td_type_id infer_column(td_file_backend *fb, int64_t i, td_error *err, int *rc) {
  int kind = -1; /* none seen yet */
  *rc = TD_OK;
  for (int64_t l = 0; l < fb->n_locs && kind != 0; l++) {
    hive_parts h;
    if ((*rc = split_all(fb, fb->locs[l]->rel, &h, err))) {
      parts_reset(&h);
      return TD_TYPE_UTF8;
    }
    if (i < h.n && strcmp(h.values[i], HIVE_NULL) != 0) {
      int k = value_kind(h.values[i]);
      /* dates and timestamps together are timestamps, as in DuckDB */
      kind = kind < 0 || kind == k ? k : (kind >= 2 && k >= 2) ? 3 : 0;
    }
    parts_reset(&h);
  }
  return kind_type(kind);
}

int fb_infer_partition_types(td_file_backend *fb, bool *changed, td_error *err) {
  *changed = false;
  for (int64_t i = 0; i < fb->part.n_fields; i++) {
    td_field *f = &fb->part.fields[i];
    if (td_schema_find(&fb->part_decl, f->name) >= 0) continue;
    int rc;
    td_type_id t = infer_column(fb, i, err, &rc);
    if (rc) return rc;
    if (t != f->type) {
      f->type = t;
      *changed = true;
    }
  }
  return TD_OK;
}

int fb_root_parts(td_file_backend *fb, const char *dir, td_error *err) {
  /* the name=value components of `dir`, in order */
  size_t n = strlen(dir), at = 0;
  char *out = td_malloc(n + 1);
  if (!out) return td_err_nomem(err, "parsing the path");
  for (const char *p = dir; *p;) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    if (eq && eq != p) {
      if (at) out[at++] = '/';
      memcpy(out + at, p, len);
      at += len;
    }
    p += len;
    while (*p == '/') p++;
  }
  out[at] = '\0';
  fb->root_parts = out;
  return TD_OK;
}
