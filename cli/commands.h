/*
 * cli/commands.h - the CLI's commands and shared helpers.
 */
#ifndef TD_CLI_COMMANDS_H
#define TD_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "tabledata.h"

typedef struct td_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} td_command;

int td_cmd_demo(int argc, char **argv);
int td_cmd_query(int argc, char **argv);
int td_cmd_follow(int argc, char **argv);
int td_cmd_gen_sample(int argc, char **argv); /* cli/gen_sample.c */
int td_cmd_serve(int argc, char **argv);      /* cli/serve.c */

/* A service and table key for a data file or directory (cli/paths.c). */
/* Columns that the file sources opened so far cannot read, as "name: reason\n"
 * lines (like snprintf: returns the length wanted). */
size_t td_cli_unqueryable(char *buf, size_t size);
/* Releases the file backends td_cli_open_path kept for td_cli_unqueryable. */
void td_cli_paths_release(void);
int td_cli_open_path(const char *path, const td_service_options *opts, td_service **svc, td_table_key **key,
                     td_error *err);
/* True for a PostgreSQL FROM source: a postgresql:// or postgres:// URI, or
 * the text of a postgres(...) call (cli/paths.c; td_cli_open_path opens it). */
bool td_cli_is_postgres(const char *source);
/* True for a Kafka FROM source: a kafka:// URI or the text of a kafka(...)
 * call (cli/paths.c; td_cli_open_path opens it). */
bool td_cli_is_kafka(const char *source);
/* The live demo (cli/live.c). */
int td_demo_live(double duration, int64_t period_ms, double rate);

/* True when argv holds --help or -h (and prints `help` to stdout). */
bool td_cli_wants_help(int argc, char **argv, const char *help);
/* Prints "tabledata <cmd>: <message>" to stderr and returns 1. */
int td_cli_fail(const char *cmd, const td_error *err);
/* Prints a whole table as a grid. */
int td_cli_print_table(td_table *t, FILE *out, td_error *err);

#endif
