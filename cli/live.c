/*
 * cli/live.c - `tabledata demo --live`: the seeds' refreshing example,
 * continued as a stream of ticks.
 *
 * A refreshing table on the sample table; then the seeds' steps (a new
 * location GOOG/BZX, appends to MSFT/BZX and MSFT/BZY); then a background
 * writer appends rows at --rate rows per second to random locations and now
 * and then adds a location.  A listener prints each cycle: rows added per
 * location, the new size, new locations, and the newest row of each of the
 * last three row ranges the cycle added.  Runs until interrupted or for
 * --duration seconds.  On a terminal, the table is shown instead as a live
 * grid, newest ticks first (cli/tui.c).
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "grid.h"
#include "sample.h"
#include "ticker.h"
#include "tui.h"

/* Prints the last rows of up to three of the ranges a cycle added. */
static void print_newest(td_table *t, const td_table_update *u) {
  td_error err;
  struct ArrowSchema sch;
  if (td_table_schema(t, &sch, &err) != TD_OK) return;
  td_grid g;
  if (td_grid_init(&g, &sch, &err) == TD_OK) {
    for (int64_t i = u->n_added > 3 ? u->n_added - 3 : 0; i < u->n_added; i++) {
      int64_t start = td_table_region_start(t, u->added[i].region);
      int64_t pos = start + u->added[i].end_row - 1;
      struct ArrowArray row;
      if (start >= 0 && td_table_read(t, NULL, 0, pos, pos + 1, &row, &err) == TD_OK) {
        td_grid_add(&g, &sch, &row, &err);
        row.release(&row);
      }
    }
    td_grid_print(&g, stdout);
  }
  td_grid_reset(&g);
  sch.release(&sch);
}

static void on_cycle(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)ctx;
  if (e) {
    printf("table failed: %s\n", e->message);
    fflush(stdout);
    return;
  }
  int64_t added = u->size_after - u->size_before;
  printf("\nversion %lld: +%lld rows in %lld locations, size %lld", (long long)u->version, (long long)added,
         (long long)u->n_added, (long long)u->size_after);
  for (int64_t i = 0; i < u->n_new_locations; i++) {
    char k[128];
    td_location_key_format(u->new_locations[i], k, sizeof k);
    printf("%s%s", i ? ", " : "; new location ", k);
  }
  printf("\n");
  print_newest(t, u);
  fflush(stdout);
}

int td_demo_live(double duration, int64_t period_ms, double rate) {
  td_error err;
  td_error_clear(&err);
  td_memory_backend *mb = NULL;
  td_service *svc = NULL;
  td_table_key *key = NULL;
  td_table *t = NULL;
  td_ticker tk;
  memset(&tk, 0, sizeof tk);
  int rc = td_sample_create(&mb, &err);
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = period_ms;
  if (rc == TD_OK) rc = td_service_new(td_memory_backend_backend(mb), &o, &svc, &err);
  if (rc == TD_OK) rc = td_table_key_new(TD_SAMPLE_TABLE, &key, &err);
  td_table_options to = {NULL, NULL, true};
  if (rc == TD_OK) rc = td_make_table(svc, key, &to, &t, &err);
  bool tui = td_tui_available();
  if (rc == TD_OK && !tui) {
    printf("refreshing table '%s' (update period %lld ms%s): %lld rows\n\n", TD_SAMPLE_TABLE, (long long)period_ms,
           period_ms == 0 ? ", immediate mode" : "", (long long)td_table_size(t));
    rc = td_cli_print_table(t, stdout, &err);
  }
  if (rc == TD_OK && !tui) rc = td_table_add_listener(t, on_cycle, NULL, NULL, &err);
  /* The seeds' steps: a new location, then appends to two others. */
  if (rc == TD_OK) rc = td_sample_add_ticker(mb, "GOOG", "BZX", &err);
  if (rc == TD_OK) rc = td_sample_add_ticker(mb, "MSFT", "BZX", &err);
  if (rc == TD_OK) rc = td_sample_add_ticker(mb, "MSFT", "BZY", &err);
  if (rc == TD_OK) rc = td_ticker_start(&tk, mb, rate);
  if (rc == TD_OK && tui) {
    const char *by = "Datetime";
    bool desc = true;
    td_table *newest = NULL;
    rc = td_table_sort(t, &by, &desc, 1, &newest, &err);
    if (rc == TD_OK) rc = td_tui_run(newest, t, svc, "demo --live: table 'sample', newest ticks first", duration, &err);
    td_table_release(newest);
  } else if (rc == TD_OK) {
    td_wait_interrupt(duration);
  }
  td_ticker_stop(&tk);
  if (rc == TD_OK) {
    td_service_flush(svc, 5000, NULL);
    td_counters c;
    td_service_counters(svc, &c);
    printf("\nstopped: %lld rows in %lld locations after %lld update cycles\n", (long long)td_table_size(t),
           (long long)td_table_location_count(t), (long long)c.update_cycles);
  }
  td_table_release(t);
  td_table_key_release(key);
  td_service_free(svc);
  td_memory_backend_release(mb);
  return rc ? td_cli_fail("demo", &err) : 0;
}
