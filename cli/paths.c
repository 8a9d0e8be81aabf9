/*
 * cli/paths.c - FROM 'path' sources: a file backend per path (with the
 * file options of the command line).
 */
#include <string.h>

#include "commands.h"
#include "file_opts.h"

int td_cli_open_path(const char *path, const td_service_options *opts, td_service **svc, td_table_key **key,
                     td_error *err) {
  *svc = NULL;
  *key = NULL;
  td_file_backend *fb;
  int rc = td_file_backend_new(path, td_cli_file_options(), &fb, err);
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
