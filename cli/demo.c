/*
 * cli/demo.c - `tabledata demo`: the seeds' example, end to end, through the
 * in-memory backend and the public API.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "grid.h"
#include "sample.h"

static const char k_help[] =
    "usage: tabledata demo [--live [--duration SECONDS] [--period MS] [--rate ROWS_PER_SECOND]]\n\n"
    "Builds the seeds' example table 'sample' in the in-memory backend (partition\n"
    "columns Ticker and Exchange; locations GOOG/NYSE, MSFT/BZX, MSFT/BZY with two\n"
    "rows each), makes a table of it through a service and prints it.\n\n"
    "  --live          make a refreshing table instead, run the seeds' refreshing steps\n"
    "                  (new location GOOG/BZX, appends to MSFT/BZX and MSFT/BZY), then keep\n"
    "                  a background writer appending ticks (current timestamps, moving\n"
    "                  prices) and sometimes adding a location.  On a terminal: the table\n"
    "                  as a grid redrawn in place, newest ticks first, new rows in reverse\n"
    "                  video, a footer with version, rows, rows/s and cycle time (q quits,\n"
    "                  arrows or h/j/k/l scroll).  Otherwise, after each update cycle, print\n"
    "                  the rows added, the locations they went to, the new size and new\n"
    "                  locations, and the newest row of each of the last three row ranges\n"
    "                  added; until interrupted\n"
    "  --duration S    stop after S seconds (default: run until Ctrl-C)\n"
    "  --period MS     update cycle period in milliseconds; 0 = immediate mode (default 1000)\n"
    "  --rate R        rows per second the writer appends (default 20)\n\n"
    "Example:\n"
    "  tabledata demo --live --duration 3 --period 500 --rate 40\n";

bool td_cli_wants_help(int argc, char **argv, const char *help) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(help, stdout);
      return true;
    }
  }
  return false;
}

int td_cli_fail(const char *cmd, const td_error *err) {
  fprintf(stderr, "tabledata %s: %s\n", cmd, err->message[0] ? err->message : td_status_text(err->code));
  return 1;
}

int td_cli_print_table(td_table *t, FILE *out, td_error *err) {
  struct ArrowArrayStream st;
  struct ArrowSchema schema = {0};
  int rc = td_table_stream(t, NULL, 0, &st, err);
  if (rc) return rc;
  td_grid g;
  memset(&g, 0, sizeof g);
  if (st.get_schema(&st, &schema) != 0 || (rc = td_grid_init(&g, &schema, err)) != TD_OK) {
    if (!rc) rc = TD_EIO;
    snprintf(err->message, sizeof err->message, "%s", st.get_last_error(&st) ? st.get_last_error(&st) : "no schema");
    goto done;
  }
  for (;;) {
    struct ArrowArray batch;
    if (st.get_next(&st, &batch) != 0) {
      rc = err->code = TD_EIO;
      snprintf(err->message, sizeof err->message, "%s", st.get_last_error(&st));
      break;
    }
    if (!batch.release) break;
    rc = td_grid_add(&g, &schema, &batch, err);
    batch.release(&batch);
    if (rc) break;
  }
  if (rc == TD_OK) td_grid_print(&g, out);
done:
  td_grid_reset(&g);
  if (schema.release) schema.release(&schema);
  st.release(&st);
  return rc;
}

/* Parses a number option's value; prints a usage error on failure. */
static bool number_arg(int argc, char **argv, int *i, double min, double *out) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "tabledata demo: %s needs a value\n", argv[*i]);
    return false;
  }
  char *end;
  double v = strtod(argv[*i + 1], &end);
  if (*end || end == argv[*i + 1] || v < min) {
    fprintf(stderr, "tabledata demo: %s expects a number >= %g, found '%s'\n", argv[*i], min, argv[*i + 1]);
    return false;
  }
  *out = v;
  (*i)++;
  return true;
}

int td_cmd_demo(int argc, char **argv) {
  if (td_cli_wants_help(argc, argv, k_help)) return 0;
  bool live = false;
  double duration = 0, period = 1000, rate = 20;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--live") == 0) live = true;
    else if (strcmp(argv[i], "--duration") == 0) {
      if (!number_arg(argc, argv, &i, 0, &duration)) return 2;
    } else if (strcmp(argv[i], "--period") == 0) {
      if (!number_arg(argc, argv, &i, 0, &period)) return 2;
    } else if (strcmp(argv[i], "--rate") == 0) {
      if (!number_arg(argc, argv, &i, 0.1, &rate)) return 2;
    } else {
      fprintf(stderr, "tabledata demo: unknown option '%s'\n%s", argv[i], k_help);
      return 2;
    }
  }
  if (live) return td_demo_live(duration, (int64_t)period, rate);
  td_error err;
  td_error_clear(&err);
  td_memory_backend *mb = NULL;
  td_service *svc = NULL;
  td_table_key *key = NULL;
  td_table *t = NULL;
  int rc = td_sample_create(&mb, &err);
  if (rc == TD_OK) rc = td_service_new(td_memory_backend_backend(mb), NULL, &svc, &err);
  if (rc == TD_OK) rc = td_table_key_new(TD_SAMPLE_TABLE, &key, &err);
  if (rc == TD_OK) rc = td_make_table(svc, key, NULL, &t, &err);
  if (rc == TD_OK) {
    printf("table '%s': %lld rows in %lld locations\n\n", TD_SAMPLE_TABLE, (long long)td_table_size(t),
           (long long)td_table_location_count(t));
    rc = td_cli_print_table(t, stdout, &err);
  }
  td_table_release(t);
  td_table_key_release(key);
  td_service_free(svc);
  td_memory_backend_release(mb);
  return rc ? td_cli_fail("demo", &err) : 0;
}
