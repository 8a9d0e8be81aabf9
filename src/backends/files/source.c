/*
 * backends/files/source.c - DuckDB's file table functions as FROM sources:
 * read_parquet('path' [, option = value ...]) (and parquet_scan),
 * read_csv / read_csv_auto, and read_ipc / read_arrow / read_feather,
 * turned into a file backend whose files are all read as that format, with
 * the options DuckDB users write (hive_partitioning, hive_types_autocast,
 * delim, quote, nullstr, header, sample_size, auto_detect).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tabledata/file_backend.h"
#include "util/alloc.h"
#include "util/call_args.h"
#include "util/error.h"

typedef struct fn_kind {
  const char *name;
  int format;
} fn_kind;

static const fn_kind k_fns[] = {
    {"read_parquet", TD_FILE_FORMAT_PARQUET}, {"parquet_scan", TD_FILE_FORMAT_PARQUET},
    {"read_csv", TD_FILE_FORMAT_CSV},         {"read_csv_auto", TD_FILE_FORMAT_CSV},
    {"read_ipc", TD_FILE_FORMAT_IPC},         {"read_arrow", TD_FILE_FORMAT_IPC},
    {"read_feather", TD_FILE_FORMAT_IPC},
};

/* The table function `source` calls, or NULL. */
static const fn_kind *fn_of(const char *source) {
  if (!source) return NULL;
  for (size_t i = 0; i < sizeof k_fns / sizeof *k_fns; i++) {
    size_t n = strlen(k_fns[i].name);
    if (strncasecmp(source, k_fns[i].name, n) == 0 && source[n] == '(') return &k_fns[i];
  }
  return NULL;
}

bool td_file_is_source(const char *source) { return fn_of(source) != NULL; }

/* A boolean option's value: 1 true, 0 false, -1 neither. */
static int bool_of(const char *v) {
  if (!strcasecmp(v, "true") || !strcmp(v, "1")) return 1;
  if (!strcasecmp(v, "false") || !strcmp(v, "0")) return 0;
  return -1;
}

/* One character, or a two-character escape (\t) as DuckDB's delim takes. */
static int char_of(const char *v) {
  if (v[0] && !v[1]) return (unsigned char)v[0];
  if (v[0] == '\\' && v[1] == 't' && !v[2]) return '\t';
  return -1;
}

/* Applies "name=value" to `o` (strings point into nv); `fn` names the call
 * in messages. */
static int apply(const fn_kind *fn, char *nv, td_file_options *o, td_error *err) {
  char *eq = strchr(nv, '=');
  *eq = '\0';
  const char *name = nv, *v = eq + 1;
  bool csv = fn->format == TD_FILE_FORMAT_CSV;
  int b = bool_of(v);
  if (!strcasecmp(name, "hive_partitioning")) {
    if (b == 1 || !strcasecmp(v, "auto")) return TD_OK;
    if (b == 0)
      return td_err(err, TD_EUNSUPPORTED,
                    "%s: hive_partitioning = false is not supported (key=value directories are always "
                    "partition columns)", fn->name);
    return td_err(err, TD_EINVAL, "%s: option hive_partitioning: expected true or false, found '%s'", fn->name, v);
  }
  if (!strcasecmp(name, "hive_types_autocast")) {
    if (b < 0)
      return td_err(err, TD_EINVAL, "%s: option hive_types_autocast: expected true or false, found '%s'", fn->name, v);
    o->partition_types = b ? TD_PARTITION_TYPES_AUTO : TD_PARTITION_TYPES_NONE;
    return TD_OK;
  }
  if (!strcasecmp(name, "union_by_name") || !strcasecmp(name, "filename")) {
    if (b == 0) return TD_OK;
    return td_err(err, TD_EUNSUPPORTED, "%s: option %s is not supported", fn->name, name);
  }
  if (csv && (!strcasecmp(name, "delim") || !strcasecmp(name, "sep") || !strcasecmp(name, "delimiter"))) {
    int c = char_of(v);
    if (c <= 0 || c == '\n' || c == '\r')
      return td_err(err, TD_EINVAL, "%s: option %s: expected one character (or '\\t'), found '%s'", fn->name, name, v);
    o->csv_delimiter = (char)c;
    return TD_OK;
  }
  if (csv && !strcasecmp(name, "quote")) {
    int c = char_of(v);
    if (c <= 0 || c == '\n' || c == '\r')
      return td_err(err, TD_EINVAL, "%s: option quote: expected one character, found '%s'", fn->name, v);
    o->csv_quote = (char)c;
    return TD_OK;
  }
  if (csv && (!strcasecmp(name, "nullstr") || !strcasecmp(name, "null"))) {
    o->csv_null = v;
    return TD_OK;
  }
  if (csv && !strcasecmp(name, "sample_size")) {
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || end == v || n == 0 || n < -1)
      return td_err(err, TD_EINVAL, "%s: option sample_size: expected a positive number of rows or -1, found '%s'",
                    fn->name, v);
    o->csv_sample_rows = n;
    return TD_OK;
  }
  if (csv && (!strcasecmp(name, "header") || !strcasecmp(name, "auto_detect"))) {
    if (b == 1) return TD_OK;
    if (b == 0)
      return td_err(err, TD_EUNSUPPORTED, "%s: %s = false is not supported (CSV files have a header line)", fn->name,
                    name);
    return td_err(err, TD_EINVAL, "%s: option %s: expected true or false, found '%s'", fn->name, name, v);
  }
  return td_err(err, TD_EINVAL, "%s: unknown option '%s' (expected %s)", fn->name, name,
                csv ? "hive_partitioning, hive_types_autocast, delim, quote, nullstr, header, sample_size or "
                      "auto_detect"
                    : "hive_partitioning or hive_types_autocast");
}

int td_file_backend_open_source(const char *source, const td_file_options *base, td_file_backend **out,
                                td_error *err) {
  if (out) *out = NULL;
  const fn_kind *fn = fn_of(source);
  if (!fn || !out) return td_err(err, TD_EINVAL, "'%s' is not a file table function", source ? source : "(null)");
  char usage[160];
  snprintf(usage, sizeof usage, "%s(): expected %s('path or glob' [, option = value ...])", fn->name, fn->name);
  char **args = NULL;
  int n = 0;
  int rc = td_call_args_split(source, 1, usage, &args, &n, err);
  if (rc) return rc;
  td_file_options o;
  td_file_options_init(&o);
  if (base) o = *base;
  o.format = fn->format;
  for (int i = 1; rc == TD_OK && i < n; i++) rc = apply(fn, args[i], &o, err);
  if (rc == TD_OK) rc = td_file_backend_new(args[0], &o, out, err);
  td_free(args);
  return rc;
}
