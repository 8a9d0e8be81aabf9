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

bool td_cli_is_postgres(const char *source) {
  return strncmp(source, "postgresql://", 13) == 0 || strncmp(source, "postgres://", 11) == 0 ||
         strncmp(source, "postgres(", 9) == 0;
}

/* Opens a PostgreSQL source (td_cli_is_postgres). */
static int open_postgres(const char *source, const td_service_options *opts, td_service **svc, td_table_key **key,
                         td_error *err) {
#ifdef TD_HAVE_POSTGRES
  td_postgres_backend *pb = NULL;
  int rc = td_postgres_backend_open_source(source, &pb, err);
  if (rc) return rc;
  rc = td_service_new(td_postgres_backend_backend(pb), opts, svc, err);
  if (rc == TD_OK) rc = td_table_key_new(td_postgres_backend_table_name(pb), key, err);
  td_postgres_backend_release(pb);
  return rc;
#else
  (void)source, (void)opts, (void)svc, (void)key;
  return td_err(err, TD_EUNSUPPORTED, "this tabledata was built without PostgreSQL (TD_WITH_POSTGRES=OFF)");
#endif
}

bool td_cli_is_kafka(const char *source) {
  return strncmp(source, "kafka://", 8) == 0 || strncmp(source, "kafka(", 6) == 0;
}

/* Opens a Kafka source (td_cli_is_kafka). */
static int open_kafka(const char *source, const td_service_options *opts, td_service **svc, td_table_key **key,
                      td_error *err) {
#ifdef TD_HAVE_KAFKA
  td_kafka_backend *kb = NULL;
  int rc = td_kafka_backend_open_source(source, &kb, err);
  if (rc) return rc;
  rc = td_service_new(td_kafka_backend_backend(kb), opts, svc, err);
  if (rc == TD_OK) rc = td_table_key_new(td_kafka_backend_table_name(kb), key, err);
  td_kafka_backend_release(kb);
  return rc;
#else
  (void)source, (void)opts, (void)svc, (void)key;
  return td_err(err, TD_EUNSUPPORTED, "this tabledata was built without Kafka (TD_WITH_KAFKA=OFF)");
#endif
}

int td_cli_open_path(const char *path, const td_service_options *opts, td_service **svc, td_table_key **key,
                     td_error *err) {
  *svc = NULL;
  *key = NULL;
  int rc;
  if (td_cli_is_postgres(path)) {
    rc = open_postgres(path, opts, svc, key, err);
  } else if (td_cli_is_kafka(path)) {
    rc = open_kafka(path, opts, svc, key, err);
  } else {
    td_file_backend *fb;
    rc = td_file_backend_new(path, td_cli_file_options(), &fb, err);
    if (rc) return rc;
    rc = td_service_new(td_file_backend_backend(fb), opts, svc, err);
    if (rc == TD_OK) rc = td_table_key_new(td_file_backend_table_name(fb), key, err);
    td_file_backend_release(fb);
  }
  if (rc) {
    td_service_free(*svc);
    *svc = NULL;
  }
  return rc;
}
