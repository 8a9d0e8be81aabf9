/*
 * cli/main.c - the tabledata command-line program: command dispatch.
 *
 * Every command answers --help; errors go to stderr with exit status 1
 * (2 for usage errors).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "files_cmd.h"
#include "tabledata.h"

static const td_command k_commands[] = {
    {"demo", "print the seeds' example table, built through the in-memory backend", td_cmd_demo},
    {"query", "run a SQL query over the demo table or data files", td_cmd_query},
    {"follow", "run a SQL query on a live source and print what each update changes", td_cmd_follow},
    {"schema", "print the columns of a directory of data files (or one file)", td_cmd_schema},
    {"locations", "print the locations of a directory of data files: partitions, rows, files", td_cmd_locations},
    {"serve", "serve named sources over HTTP: a live web page, SQL to Arrow or JSON, WebSocket deltas", td_cmd_serve},
    {"gen-sample", "write a sample dataset of market ticks (Parquet, Arrow IPC, CSV hive trees)", td_cmd_gen_sample},
};

/*
 * Scans allocate and free many page-sized buffers (64K rows of decoded data
 * each).  For a one-shot program the default allocator returns them to the
 * kernel and faults fresh pages back in, which costs more than decoding.
 * So the program (not the library) keeps freed memory in its heap for reuse.
 * There are as many arenas as cores, so each worker thread allocates from
 * its own: with one arena shared, workers that allocate often (opening
 * 10,000 tiny files, making 1M groups) waited on its lock, and one such
 * query ran slower at 2 threads than at 1.  An arena of its own is fresh
 * memory faulted in as it grows: 5-12 MiB more peak RSS at 2 threads
 * (docs/DESIGN.md, "Malloc arenas").  The heap is not advised to use
 * transparent huge pages: on these VMs a fresh huge page is slow to fault
 * in (docs/DESIGN.md, "Huge pages").
 */
static void tune_allocator(void) {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  mallopt(M_ARENA_MAX, cores < 1 ? 1 : cores > 64 ? 64 : (int)cores);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: tabledata <command> [options]\n"
          "       tabledata --help | --version\n\ncommands:\n");
  for (size_t i = 0; i < sizeof k_commands / sizeof *k_commands; i++)
    fprintf(out, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
  fprintf(out, "\nRun 'tabledata <command> --help' for a command's options.\n");
}

int main(int argc, char **argv) {
  tune_allocator();
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
