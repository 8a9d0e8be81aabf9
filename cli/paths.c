/*
 * cli/paths.c - FROM 'path' sources: a file backend per path.
 */
#include <string.h>

#include "commands.h"

int td_cli_open_path(const char *path, const td_service_options *opts, td_service **svc, td_table_key **key,
                     td_error *err) {
  *svc = NULL;
  *key = NULL;
  td_file_backend *fb;
  int rc = td_file_backend_new(path, NULL, &fb, err);
  if (rc) return rc;
  rc = td_service_new(td_file_backend_backend(fb), opts, svc, err);
  if (rc == TD_OK) rc = td_table_key_new(td_file_backend_table_name(fb), key, err);
  td_file_backend_release(fb);
  if (rc) {
    td_service_free(*svc);
    *svc = NULL;
  }
  return rc;
}
