/*
 * cli/paths.c - FROM sources that are not the demo: a file backend per
 * 'path' (with the file options of the command line), and PostgreSQL tables,
 * as 'postgresql://host/db/table' URIs or postgres('conninfo', 'table' [,
 * option => 'value' ...]) calls, and Kafka topics, as
 * 'kafka://host:port/topic?format=json' URIs or kafka('host:port', 'topic'
 * [, format => 'json' ...]) calls.
 */
#include <string.h>

#include "commands.h"
#include "file_opts.h"
#include "util/error.h"
#ifdef TD_HAVE_POSTGRES
#include "tabledata/postgres_backend.h"
#endif
#ifdef TD_HAVE_KAFKA
#include "tabledata/kafka_backend.h"
#endif

/* The file backends opened for FROM 'path' sources, kept to name the
 * columns they cannot read (td_cli_unqueryable). */
#define TD_CLI_MAX_FB 16
static td_file_backend *g_fbs[TD_CLI_MAX_FB];
static int g_nfb;

size_t td_cli_unqueryable(char *buf, size_t size) {
  size_t n = 0;
  if (size) buf[0] = '\0';
  for (int i = 0; i < g_nfb; i++) n += td_file_backend_unsupported(g_fbs[i], n < size ? buf + n : NULL, n < size ? size - n : 0);
  return n;
}

void td_cli_paths_release(void) {
  for (int i = 0; i < g_nfb; i++) td_file_backend_release(g_fbs[i]);
  g_nfb = 0;
}

bool td_cli_is_postgres(const char *source) {
  return strncmp(source, "postgresql://", 13) == 0 || strncmp(source, "postgres://", 11) == 0 ||
         strncmp(source, "postgres(", 9) == 0;
}

bool td_cli_is_kafka(const char *source) {
  return strncmp(source, "kafka://", 8) == 0 || strncmp(source, "kafka(", 6) == 0;
}

/* The backend of a PostgreSQL (td_cli_is_postgres) or Kafka
 * (td_cli_is_kafka) source, a new reference in *b, and its table's key. */
static int open_remote(const char *source, td_backend *b, td_table_key **key, td_error *err) {
  int rc = TD_EUNSUPPORTED;
  (void)b, (void)key;
  if (td_cli_is_postgres(source)) {
#ifdef TD_HAVE_POSTGRES
    td_postgres_backend *pb = NULL;
    rc = td_postgres_backend_open_source(source, &pb, err);
    if (rc == TD_OK && (rc = td_table_key_new(td_postgres_backend_table_name(pb), key, err)) == TD_OK)
      *b = td_postgres_backend_backend(pb);
    td_postgres_backend_release(pb);
#else
    rc = td_err(err, TD_EUNSUPPORTED, "this tabledata was built without PostgreSQL (TD_WITH_POSTGRES=OFF)");
#endif
  } else {
#ifdef TD_HAVE_KAFKA
    td_kafka_backend *kb = NULL;
    rc = td_kafka_backend_open_source(source, &kb, err);
    if (rc == TD_OK && (rc = td_table_key_new(td_kafka_backend_table_name(kb), key, err)) == TD_OK)
      *b = td_kafka_backend_backend(kb);
    td_kafka_backend_release(kb);
#else
    rc = td_err(err, TD_EUNSUPPORTED, "this tabledata was built without Kafka (TD_WITH_KAFKA=OFF)");
#endif
  }
  return rc;
}

int td_cli_open_path(const char *path, const td_service_options *opts, td_service **svc, td_table_key **key,
                     td_error *err) {
  *svc = NULL;
  *key = NULL;
  int rc;
  if (td_cli_is_postgres(path) || td_cli_is_kafka(path)) {
    td_backend b;
    rc = open_remote(path, &b, key, err);
    if (rc == TD_OK) rc = td_service_new(b, opts, svc, err);
  } else {
    td_file_backend *fb;
    rc = td_file_is_source(path) ? td_file_backend_open_source(path, td_cli_file_options(), &fb, err)
                                 : td_file_backend_new(path, td_cli_file_options(), &fb, err);
    if (rc) return rc;
    rc = td_service_new(td_file_backend_backend(fb), opts, svc, err);
    if (rc == TD_OK) rc = td_table_key_new(td_file_backend_table_name(fb), key, err);
    if (rc == TD_OK && g_nfb < TD_CLI_MAX_FB) g_fbs[g_nfb++] = fb; /* released by td_cli_paths_release */
    else td_file_backend_release(fb);
  }
  if (rc) {
    td_service_free(*svc);
    *svc = NULL;
    td_table_key_release(*key);
    *key = NULL;
  }
  return rc;
}
