/*
 * cli/files_cmd.c - `tabledata schema <path>` (partition and data columns
 * with their types, and the columns that cannot be read) and
 * `tabledata locations <path>` (one line per location: partition values,
 * row count, files), through the file backend and the public API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "file_opts.h"
#include "files_cmd.h"
#include "tabledata.h"
#include "tabledata/file_backend.h"

static const char k_schema_help[] =
    "usage: tabledata schema [file options] <path>\n\n"
    "Prints the columns of the table that a directory of data files (hive-style\n"
    "name=value partition directories holding .parquet, .arrow/.feather/.ipc,\n"
    ".arrows/.stream or .csv files) or a single data file gives: partition columns\n"
    "first (marked 'partition'), then the data columns, one per line with its\n"
    "type, then the columns that cannot be read, with the reason.\n\n"
    "Example (after 'tabledata gen-sample /tmp/ticks'):\n"
    "  tabledata schema /tmp/ticks/parquet\n"
    "  tabledata schema --partition-types none /tmp/ticks/csv\n\n";

static const char k_locations_help[] =
    "usage: tabledata locations [file options] <path>\n\n"
    "Prints one line per location (partition directory) of a directory of data\n"
    "files, in location order: its partition values, its row count and its files\n"
    "(read as one, in name order).\n\n"
    "Example (after 'tabledata gen-sample /tmp/ticks'):\n"
    "  tabledata locations /tmp/ticks/csv\n"
    "  tabledata locations '/tmp/ticks/parquet/*/Exchange=BZX/*.parquet'\n\n";

/* A readable type from an Arrow format string. */
static const char *type_text(const char *format, char *buf, size_t size) {
  static const struct {
    const char *f, *name;
  } k[] = {{"b", "bool"},   {"c", "int8"},    {"s", "int16"},   {"i", "int32"}, {"l", "int64"},
           {"S", "uint16"}, {"f", "float32"}, {"g", "float64"}, {"u", "utf8"},
           {"C", "uint8"}, {"I", "uint32"}, {"L", "uint64"}, {"tdD", "date32"}, {"tdm", "date64"}, {"tts", "time32[s]"}, {"ttm", "time32[ms]"},
           {"ttu", "time64[us]"}, {"ttn", "time64[ns]"}, {"z", "binary"}, {"U", "large_utf8"}, {"Z", "large_binary"}};
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (strcmp(format, k[i].f) == 0) return k[i].name;
  static const char *const units[][2] = {{"tsn:", "ns"}, {"tss:", "s"}, {"tsm:", "ms"}, {"tsu:", "us"}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strncmp(format, units[i][0], 4) == 0) {
      if (format[4]) snprintf(buf, size, "timestamp[%s, tz=%s]", units[i][1], format + 4);
      else snprintf(buf, size, "timestamp[%s]", units[i][1]);
      return buf;
    }
  if (strncmp(format, "d:", 2) == 0) { /* decimal128 "d:p,s" */
    snprintf(buf, size, "decimal128(%s)", format + 2);
    return buf;
  }
  return format;
}

/* Parses `<path>`, opens the backend, its service and a static table. */
static int open_path(const char *cmd, const char *help, int argc, char **argv, td_file_backend **fb,
                     td_service **svc, td_table **t) {
  td_cli_file_opts fo;
  td_cli_file_opts_init(&fo);
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    int took = td_cli_file_opt(cmd, argc, argv, &i, &fo);
    if (took < 0) {
      td_cli_file_opts_reset(&fo);
      return 2;
    }
    if (took) continue;
    if (argv[i][0] == '-' || path) {
      fprintf(stderr, "tabledata %s: expected one path%s%s\n%s%s", cmd, argv[i][0] == '-' ? ", found an unknown option " : "",
              argv[i][0] == '-' ? argv[i] : "", help, td_cli_file_opts_help);
      td_cli_file_opts_reset(&fo);
      return 2;
    }
    path = argv[i];
  }
  if (!path) {
    fprintf(stderr, "tabledata %s: expected one path\n%s%s", cmd, help, td_cli_file_opts_help);
    td_cli_file_opts_reset(&fo);
    return 2;
  }
  td_error err;
  td_table_key *key = NULL;
  *svc = NULL;
  *t = NULL;
  int rc = td_file_backend_new(path, &fo.fo, fb, &err);
  td_cli_file_opts_reset(&fo);
  if (rc) return td_cli_fail(cmd, &err);
  rc = td_service_new(td_file_backend_backend(*fb), NULL, svc, &err);
  if (!rc) rc = td_table_key_new(td_file_backend_table_name(*fb), &key, &err);
  if (!rc) rc = td_make_table(*svc, key, NULL, t, &err);
  td_table_key_release(key);
  if (rc) {
    td_service_free(*svc);
    td_file_backend_release(*fb);
    return td_cli_fail(cmd, &err);
  }
  return 0;
}

static void close_all(td_file_backend *fb, td_service *svc, td_table *t) {
  td_table_release(t);
  td_service_free(svc);
  td_file_backend_release(fb);
}

/* The command's help followed by the file options. */
static bool wants_help(int argc, char **argv, const char *help) {
  if (!td_cli_wants_help(argc, argv, help)) return false;
  fputs(td_cli_file_opts_help, stdout);
  return true;
}

int td_cmd_schema(int argc, char **argv) {
  if (wants_help(argc, argv, k_schema_help)) return 0;
  td_file_backend *fb;
  td_service *svc;
  td_table *t;
  int rc = open_path("schema", k_schema_help, argc, argv, &fb, &svc, &t);
  if (rc) return rc;
  struct ArrowSchema sch;
  td_error err;
  if ((rc = td_table_schema(t, &sch, &err)) != TD_OK) {
    close_all(fb, svc, t);
    return td_cli_fail("schema", &err);
  }
  int width = 4;
  for (int64_t i = 0; i < sch.n_children; i++)
    if ((int)strlen(sch.children[i]->name) > width) width = (int)strlen(sch.children[i]->name);
  for (int64_t i = 0; i < sch.n_children; i++) {
    char buf[128];
    const char *type = type_text(sch.children[i]->format, buf, sizeof buf);
    if (td_table_column_is_partition(t, i)) printf("%-*s  %-24s partition\n", width, sch.children[i]->name, type);
    else printf("%-*s  %s\n", width, sch.children[i]->name, type);
  }
  sch.release(&sch);
  size_t n = td_file_backend_unsupported(fb, NULL, 0);
  char *unsup = n ? malloc(n + 1) : NULL;
  if (unsup) { /* each in the list, as "name  not queryable: reason" */
    td_file_backend_unsupported(fb, unsup, n + 1);
    for (char *line = unsup; *line;) {
      char *end = strchr(line, '\n'), *colon = strstr(line, ": ");
      if (end) *end = '\0';
      if (colon) *colon = '\0';
      printf("%-*s  not queryable: %s\n", width, line, colon ? colon + 2 : "");
      if (!end) break;
      line = end + 1;
    }
    free(unsup);
  }
  close_all(fb, svc, t);
  return 0;
}

/* The files of a location, comma-separated (caller frees). */
static char *files_of(td_file_backend *fb, const td_location_key *key) {
  size_t n = td_file_backend_location_files(fb, key, NULL, 0);
  char *s = malloc(n + 1);
  if (!s) return NULL;
  td_file_backend_location_files(fb, key, s, n + 1);
  for (char *p = s; *p; p++)
    if (*p == '\n') *p = ',';
  return s;
}

int td_cmd_locations(int argc, char **argv) {
  if (wants_help(argc, argv, k_locations_help)) return 0;
  td_file_backend *fb;
  td_service *svc;
  td_table *t;
  int rc = open_path("locations", k_locations_help, argc, argv, &fb, &svc, &t);
  if (rc) return rc;
  int64_t n = td_table_location_count(t);
  for (int64_t i = 0; i < n; i++) {
    const td_location_key *key = td_table_location(t, i);
    int64_t np = td_location_key_partition_count(key);
    for (int64_t j = 0; j < np; j++) {
      char v[256];
      td_value_format(td_location_key_partition_value(key, j), v, sizeof v);
      printf("%s=%s  ", td_location_key_partition_name(key, j), v);
    }
    int64_t end = i + 1 < n ? td_table_region_start(t, i + 1) : td_table_size(t);
    char *files = files_of(fb, key);
    printf("rows=%lld  files=%s\n", (long long)(end - td_table_region_start(t, i)), files ? files : "?");
    free(files);
  }
  printf("%lld location%s, %lld rows\n", (long long)n, n == 1 ? "" : "s", (long long)td_table_size(t));
  close_all(fb, svc, t);
  return 0;
}
