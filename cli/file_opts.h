/*
 * cli/file_opts.h - the file backend options every command that reads
 * files takes (query, follow, schema, locations): a declared schema,
 * partition types and the CSV dialect.  One parser serves all of them.
 */
#ifndef TD_CLI_FILE_OPTS_H
#define TD_CLI_FILE_OPTS_H

#include <stdbool.h>

#include "tabledata.h"
#include "tabledata/file_backend.h"

/* The help lines for the options (for each command's --help). */
extern const char td_cli_file_opts_help[];

typedef struct td_cli_file_opts {
  td_file_options fo;          /* points into the fields below */
  struct ArrowSchema schema;   /* --schema (released: none) */
  struct ArrowSchema parts;    /* --partition-types (released: none) */
  char null_str[256];
} td_cli_file_opts;

void td_cli_file_opts_init(td_cli_file_opts *o);
void td_cli_file_opts_reset(td_cli_file_opts *o);

/* If argv[*i] is a file option, takes it (and its value: *i advances) and
 * returns 1; returns 0 when it is not one; prints an error naming `cmd` and
 * returns -1 when its value is wrong. */
int td_cli_file_opt(const char *cmd, int argc, char **argv, int *i, td_cli_file_opts *o);

/* Parses "name TYPE, name TYPE, ..." (SQL type names: BOOLEAN, TINYINT,
 * SMALLINT, INTEGER, BIGINT, USMALLINT, REAL, DOUBLE, VARCHAR, TIMESTAMP,
 * TIMESTAMPTZ and their aliases) into a struct schema.  Errors: TD_EPARSE
 * (the message says what was expected where). */
int td_cli_parse_schema(const char *text, struct ArrowSchema *out, td_error *err);

/* The options td_cli_open_path gives every file backend it opens (NULL:
 * the defaults).  Borrowed: must outlive the opening. */
void td_cli_set_file_options(const td_file_options *fo);
const td_file_options *td_cli_file_options(void);

#endif
