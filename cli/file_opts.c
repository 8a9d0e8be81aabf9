/*
 * cli/file_opts.c - parsing the file options shared by query, follow,
 * schema and locations (--schema, --partition-types, --csv-delim,
 * --csv-quote, --csv-sample-rows, --csv-null) into td_file_options.
 */
#include "file_opts.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"

const char td_cli_file_opts_help[] =
    "File options (for paths to data files, and FROM 'path' sources):\n"
    "  --schema 'name TYPE, ...'  declare the data columns (or @file holding that text);\n"
    "                     types: BOOLEAN TINYINT SMALLINT INTEGER BIGINT USMALLINT REAL\n"
    "                     DOUBLE VARCHAR TIMESTAMP TIMESTAMPTZ DECIMAL(p,s) UTINYINT UINTEGER DATE\n"
    "  --partition-types 'Name TYPE, ...' | auto | none\n"
    "                     types of partition columns; auto (default) infers BIGINT, DATE\n"
    "                     and TIMESTAMP from the directory names, none keeps VARCHAR\n"
    "  --csv-delim C      CSV field delimiter (default ','; 'tab' or '\\t' for a tab)\n"
    "  --csv-quote C      CSV quote character (default '\"')\n"
    "  --csv-sample-rows N|all  rows used to infer CSV column types (default 1000)\n"
    "  --csv-null STR     an unquoted CSV field equal to STR is null (besides empty fields)\n";

static const td_file_options *g_file_options;

void td_cli_set_file_options(const td_file_options *fo) { g_file_options = fo; }
const td_file_options *td_cli_file_options(void) { return g_file_options; }

void td_cli_file_opts_init(td_cli_file_opts *o) {
  memset(o, 0, sizeof *o);
  td_file_options_init(&o->fo);
}

void td_cli_file_opts_reset(td_cli_file_opts *o) {
  if (o->schema.release) o->schema.release(&o->schema);
  if (o->parts.release) o->parts.release(&o->parts);
  td_cli_file_opts_init(o);
}

/* ---- "name TYPE, ..." ---- */

static const struct {
  const char *name;
  td_type_id type;
  bool utc;
} k_types[] = {
    {"BOOLEAN", TD_TYPE_BOOL, false},    {"BOOL", TD_TYPE_BOOL, false},          {"TINYINT", TD_TYPE_INT8, false},
    {"INT8", TD_TYPE_INT8, false},       {"SMALLINT", TD_TYPE_INT16, false},     {"INT16", TD_TYPE_INT16, false},
    {"INTEGER", TD_TYPE_INT32, false},   {"INT", TD_TYPE_INT32, false},          {"INT32", TD_TYPE_INT32, false},
    {"BIGINT", TD_TYPE_INT64, false},    {"INT64", TD_TYPE_INT64, false},        {"USMALLINT", TD_TYPE_UINT16, false},
    {"UINT16", TD_TYPE_UINT16, false},   {"UTINYINT", TD_TYPE_UINT8, false},    {"UINT8", TD_TYPE_UINT8, false},
    {"UINTEGER", TD_TYPE_UINT32, false}, {"UINT32", TD_TYPE_UINT32, false},
    {"UBIGINT", TD_TYPE_UINT64, false},  {"UINT64", TD_TYPE_UINT64, false},  {"DATE", TD_TYPE_DATE32, false},   {"REAL", TD_TYPE_FLOAT32, false},       {"FLOAT", TD_TYPE_FLOAT32, false},
    {"FLOAT32", TD_TYPE_FLOAT32, false}, {"DOUBLE", TD_TYPE_FLOAT64, false},     {"FLOAT64", TD_TYPE_FLOAT64, false},
    {"VARCHAR", TD_TYPE_UTF8, false},    {"TEXT", TD_TYPE_UTF8, false},          {"STRING", TD_TYPE_UTF8, false},
    {"UTF8", TD_TYPE_UTF8, false},       {"TIMESTAMP", TD_TYPE_TIMESTAMP, false}, {"TIMESTAMPTZ", TD_TYPE_TIMESTAMP, true},
    {"BLOB", TD_TYPE_BINARY, false},     {"BYTEA", TD_TYPE_BINARY, false},       {"BINARY", TD_TYPE_BINARY, false},
    {"VARBINARY", TD_TYPE_BINARY, false},
};

static const char *skip_ws(const char *p) {
  while (isspace((unsigned char)*p)) p++;
  return p;
}

/* One name: "quoted" or a run of characters up to whitespace or ','. */
static const char *take_name(const char *p, char *buf, size_t size) {
  size_t n = 0;
  if (*p == '"') {
    for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
      if (*p == '"') p++;
      if (n + 1 < size) buf[n++] = *p;
    }
    if (*p != '"') return NULL;
    p++;
  } else {
    while (*p && !isspace((unsigned char)*p) && *p != ',')
      if (n + 1 < size) buf[n++] = *p++;
      else p++;
  }
  buf[n] = '\0';
  return n ? p : NULL;
}

int td_cli_parse_schema(const char *text, struct ArrowSchema *out, td_error *err) {
  enum { MAX = 1024 };
  static char names[MAX][128];
  static char dparams[MAX][16];
  const char *pn[MAX], *tz[MAX];
  td_type_id types[MAX];
  int64_t n = 0;
  const char *p = skip_ws(text);
  for (;;) {
    while (*p == ',' || isspace((unsigned char)*p)) p++; /* empty entries (lines of a file) */
    if (!*p) break;
    if (n == MAX) return td_err(err, TD_EPARSE, "--schema: more than %d columns", MAX);
    const char *q = take_name(p, names[n], sizeof names[n]);
    if (!q) return td_err(err, TD_EPARSE, "--schema: expected a column name at '%.20s'", p);
    p = skip_ws(q);
    char type[64];
    size_t tl = 0;
    int depth = 0; /* DECIMAL(p,s): the comma inside parentheses belongs to the type */
    while (*p && (*p != ',' || depth > 0) && tl + 1 < sizeof type) {
      depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
      type[tl++] = *p++;
    }
    while (tl && isspace((unsigned char)type[tl - 1])) tl--;
    type[tl] = '\0';
    if (!tl) return td_err(err, TD_EPARSE, "--schema: column '%s' has no type (expected 'name TYPE, ...')", names[n]);
    size_t k = 0;
    const char *with_tz = "TIMESTAMP WITH TIME ZONE";
    bool found = false;
    if (strcasecmp(type, with_tz) == 0) {
      types[n] = TD_TYPE_TIMESTAMP;
      tz[n] = "UTC";
      found = true;
    }
    if (!found && (strncasecmp(type, "DECIMAL", 7) == 0 || strncasecmp(type, "NUMERIC", 7) == 0)) {
      /* DECIMAL(p,s), DECIMAL(p) (scale 0) or DECIMAL (DuckDB's default 18,3) */
      int prec = 18, scale = 3, used = 0;
      const char *a = skip_ws(type + 7);
      if (*a == '(') {
        scale = 0;
        if (sscanf(a, "(%d , %d )%n", &prec, &scale, &used) < 2 && sscanf(a, "(%d )%n", &prec, &used) < 1) used = 0;
        if (!used || a[used] || prec < 1 || prec > 38 || scale < 0 || scale > prec)
          return td_err(err, TD_EPARSE,
                        "--schema: column '%s': bad decimal type '%s' (expected DECIMAL(p,s) with 1 <= p <= 38 and "
                        "0 <= s <= p)",
                        names[n], type);
      } else if (*a) {
        return td_err(err, TD_EPARSE, "--schema: column '%s': unknown type '%s'", names[n], type);
      }
      snprintf(dparams[n], sizeof dparams[n], "%d,%d", prec, scale);
      types[n] = TD_TYPE_DECIMAL128;
      tz[n] = dparams[n];
      found = true;
    }
    for (; !found && k < sizeof k_types / sizeof k_types[0]; k++)
      if (strcasecmp(type, k_types[k].name) == 0) {
        types[n] = k_types[k].type;
        tz[n] = k_types[k].utc ? "UTC" : NULL;
        found = true;
      }
    if (!found)
      return td_err(err, TD_EPARSE,
                    "--schema: column '%s': unknown type '%s' (expected BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT, "
                    "UTINYINT, USMALLINT, UINTEGER, REAL, DOUBLE, DECIMAL(p,s), VARCHAR, BLOB, DATE, TIMESTAMP or TIMESTAMPTZ)",
                    names[n], type);
    pn[n] = names[n];
    n++;
  }
  if (!n) return td_err(err, TD_EPARSE, "--schema: expected 'name TYPE, ...', found nothing");
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < i; j++)
      if (strcmp(pn[i], pn[j]) == 0) return td_err(err, TD_EPARSE, "--schema: column '%s' appears twice", pn[i]);
  return td_schema_make(n, pn, types, tz, out, err);
}

/* The text of --schema: the value itself, or the contents of @file. */
static char *schema_text(const char *cmd, const char *v) {
  if (v[0] != '@') return strdup(v);
  FILE *f = fopen(v + 1, "rb");
  if (!f) {
    fprintf(stderr, "tabledata %s: --schema: cannot read '%s'\n", cmd, v + 1);
    return NULL;
  }
  char *buf = NULL;
  size_t n = 0, cap = 0, got;
  char chunk[4096];
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (n + got + 1 > cap) {
      cap = (n + got + 1) * 2;
      char *nb = realloc(buf, cap);
      if (!nb) break;
      buf = nb;
    }
    memcpy(buf + n, chunk, got);
    n += got;
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  else buf = strdup("");
  for (char *c = buf; c && *c; c++) /* lines as commas, so a file may hold one column a line */
    if (*c == '\n' || *c == '\r') *c = ',';
  return buf;
}

/* A one-character value: the character itself, or 'tab' / '\t'. */
static int one_char(const char *cmd, const char *opt, const char *v, char *out) {
  if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0) *out = '\t';
  else if (strlen(v) == 1 && v[0] != '\n' && v[0] != '\r') *out = v[0];
  else {
    fprintf(stderr, "tabledata %s: %s expects one character (or 'tab'), found '%s'\n", cmd, opt, v);
    return -1;
  }
  return 1;
}

int td_cli_file_opt(const char *cmd, int argc, char **argv, int *i, td_cli_file_opts *o) {
  static const char *const k_opts[] = {"--schema",    "--partition-types", "--csv-delim",
                                       "--csv-quote", "--csv-sample-rows", "--csv-null"};
  const char *opt = argv[*i];
  size_t which = 0;
  while (which < sizeof k_opts / sizeof k_opts[0] && strcmp(opt, k_opts[which]) != 0) which++;
  if (which == sizeof k_opts / sizeof k_opts[0]) return 0;
  if (*i + 1 >= argc) {
    fprintf(stderr, "tabledata %s: %s needs a value\n", cmd, opt);
    return -1;
  }
  const char *v = argv[++*i];
  td_error err;
  switch (which) {
    case 0: {
      char *text = schema_text(cmd, v);
      if (!text) return -1;
      if (o->schema.release) o->schema.release(&o->schema);
      int rc = td_cli_parse_schema(text, &o->schema, &err);
      free(text);
      if (rc) {
        fprintf(stderr, "tabledata %s: %s\n", cmd, err.message);
        return -1;
      }
      o->fo.schema = &o->schema;
      return 1;
    }
    case 1:
      if (o->parts.release) o->parts.release(&o->parts);
      o->fo.partition_schema = NULL;
      if (strcasecmp(v, "auto") == 0) o->fo.partition_types = TD_PARTITION_TYPES_AUTO;
      else if (strcasecmp(v, "none") == 0) o->fo.partition_types = TD_PARTITION_TYPES_NONE;
      else if (td_cli_parse_schema(v, &o->parts, &err) != TD_OK) {
        fprintf(stderr, "tabledata %s: --partition-types (expected auto, none or 'Name TYPE, ...'): %s\n", cmd,
                err.message + (strncmp(err.message, "--schema: ", 10) == 0 ? 10 : 0));
        return -1;
      } else o->fo.partition_schema = &o->parts;
      return 1;
    case 2: return one_char(cmd, opt, v, &o->fo.csv_delimiter);
    case 3: return one_char(cmd, opt, v, &o->fo.csv_quote);
    case 4: {
      char *end;
      long long n = strtoll(v, &end, 10);
      if (strcasecmp(v, "all") == 0) o->fo.csv_sample_rows = -1;
      else if (*v && !*end && n > 0) o->fo.csv_sample_rows = n;
      else {
        fprintf(stderr, "tabledata %s: --csv-sample-rows expects a number > 0 or 'all', found '%s'\n", cmd, v);
        return -1;
      }
      return 1;
    }
    default:
      if (strlen(v) >= sizeof o->null_str) {
        fprintf(stderr, "tabledata %s: --csv-null: at most %zu bytes\n", cmd, sizeof o->null_str - 1);
        return -1;
      }
      strcpy(o->null_str, v);
      o->fo.csv_null = o->null_str;
      return 1;
  }
}
