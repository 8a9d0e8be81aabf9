/*
 * cli/main.c - the tabledata command-line program: command dispatch.
 *
 * Every command answers --help; errors go to stderr with exit status 1
 * (2 for usage errors).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "files_cmd.h"
#include "tabledata.h"

static const td_command k_commands[] = {
    {"demo", "print the seeds' example table, built through the in-memory backend", td_cmd_demo},
    {"query", "run a SQL query over the demo table or data files", td_cmd_query},
    {"follow", "run a SQL query on a live source and print what each update changes", td_cmd_follow},
    {"schema", "print the columns of a directory of data files (or one file)", td_cmd_schema},
    {"locations", "print the locations of a directory of data files: partitions, rows, files", td_cmd_locations},
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: tabledata <command> [options]\n"
          "       tabledata --help | --version\n\ncommands:\n");
  for (size_t i = 0; i < sizeof k_commands / sizeof *k_commands; i++)
    fprintf(out, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
  fprintf(out, "\nRun 'tabledata <command> --help' for a command's options.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("tabledata %s\n", TD_VERSION_STRING);
    return 0;
  }
  for (size_t i = 0; i < sizeof k_commands / sizeof *k_commands; i++)
    if (strcmp(argv[1], k_commands[i].name) == 0) return k_commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "tabledata: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
