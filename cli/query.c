/*
 * cli/query.c - `tabledata query` and `tabledata follow`: SQL over the demo
 * table or files.
 *
 *   query   runs a static query and prints the result (grid, csv, jsonl, or
 *           an Arrow IPC stream with --format arrow).  Queries without
 *           aggregation or ORDER BY stream: rows print as pages are read.
 *   follow  runs the query on a refreshing source and prints what each
 *           update cycle changed: new rows of a plain select, new and
 *           changed rows of an aggregation (or the whole result when it was
 *           recomputed, as for ORDER BY), until Ctrl-C or --duration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "changes.h"
#include "commands.h"
#include "file_opts.h"
#include "printer.h"
#include "progress.h"
#include "sample.h"
#include "ticker.h"
#include "tui.h"

static const char k_query_help[] =
    "usage: tabledata query [--format grid|csv|jsonl|arrow] [--stats] [--timing] [--threads N] \"SELECT ... FROM <source> ...\"\n\n"
    "Runs a SQL query and prints the result.  <source> is demo (the seeds' sample table)\n"
    "or a quoted path to a directory of hive-partitioned data files or a single file:\n"
    "  SELECT Exchange, count(*) FROM demo GROUP BY Exchange\n"
    "  SELECT * FROM '/tmp/ticks/parquet' WHERE Date = '2024-01-02' LIMIT 10\n"
    "(/tmp/ticks is the sample dataset that 'tabledata gen-sample /tmp/ticks' writes),\n"
    "or DuckDB's read_parquet('glob' [, hive_partitioning = true]), read_csv('path' [, delim = ';', ...])\n"
    "or a PostgreSQL table: postgres('conninfo', 'table' [, key => 'id', ...]) or\n"
    "'postgresql://host/db/table' (docs/POSTGRES.md)\n"
    "or a Kafka topic: kafka('host:port', 'topic' [, format => 'json'|'csv'|'arrow', ...]) or\n"
    "'kafka://host:port/topic?format=json' (docs/KAFKA.md)\n\n"
    "  --format F   grid (default), csv, jsonl, or arrow (an Arrow IPC stream on stdout)\n"
    "  --stats      print backend calls, rows and bytes fetched and page cache hits to stderr\n"
    "  --timing     print the query's run time (from planning to the last row) to stderr\n"
    "  --threads N  worker threads for scans, aggregations, ORDER BY ... LIMIT and listing\n"
    "               the directories of a file tree\n"
    "               (default 0: every core; 1: none besides the main thread)\n"
    "The SQL subset is described in README.md (Queries).\n"
    "  tabledata query --partition-types none \"SELECT Date, count(*) FROM '/tmp/ticks/csv' GROUP BY Date\"\n"
    "  tabledata query \"SELECT count(*) FROM '/tmp/ticks/parquet/**/*.parquet'\"\n\n";

static const char k_follow_help[] =
    "usage: tabledata follow [--format grid|csv|jsonl|arrow] [--duration SECONDS] [--period MS] [--rate R] \"SELECT ...\"\n\n"
    "Runs a query on a refreshing source and shows how its result changes after each\n"
    "update cycle.  FROM demo follows the live demo (a writer appends ticks at --rate\n"
    "rows per second); FROM 'path' follows files.\n\n"
    "On a terminal the result is a grid redrawn in place: rows in the query's order,\n"
    "changed cells in reverse video for one cycle, a footer with the version, row\n"
    "count, the source's rows per second and the cycle time.  Keys: q quits, arrows\n"
    "or h/j/k/l scroll, PgUp/PgDn, g/G top/bottom.\n"
    "Otherwise (or with --format csv|jsonl|arrow) one record per changed row: its\n"
    "op (add, update for an aggregation group, remove), the result version, then\n"
    "the row: jsonl (the default), csv (header op,version,...), or arrow (an Arrow\n"
    "IPC stream, one record batch per cycle).  --format grid off a terminal prints a\n"
    "log of the changes for people.\n\n"
    "  --duration S  stop after S seconds (default: until q or Ctrl-C)\n"
    "  --period MS   update cycle period; 0 = immediate mode (default 1000)\n"
    "  --rate R      demo writer rows per second (default 20)\n"
    "  --threads N   worker threads for the initial result and large cycles (default 0: every core)\n\n"
    "Example:\n"
    "  tabledata follow --duration 3 --period 200 \"SELECT Exchange, count(*) FROM demo GROUP BY Exchange\"\n\n";

/* ---- sources ---- */

#define TD_CLI_CACHED_SOURCES 16

typedef struct sources {
  td_service_options opts;
  /* The sources resolved so far, by their text: a statement that names one
   * source several times (self-joins, subqueries, the terms of GROUP BY
   * ROLLUP) reads it through one service and its page cache. */
  int n_cached;
  char *cached_name[TD_CLI_CACHED_SOURCES];
  td_service *cached_svc[TD_CLI_CACHED_SOURCES];
  td_table_key *cached_key[TD_CLI_CACHED_SOURCES];
  td_memory_backend *demo_mb;
  td_service *demo;
  td_service *last; /* the service of the last source resolved */
  td_table_key *last_key; /* and its table key */
  td_progress *progress;
} sources;

static int resolve(void *ctx, const char *name, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  sources *s = ctx;
  if (is_path || td_cli_is_postgres(name) || td_cli_is_kafka(name) || td_file_is_source(name)) {
    for (int i = 0; i < s->n_cached; i++)
      if (strcmp(s->cached_name[i], name) == 0) {
        /* td_query releases the service it is given: a new reference */
        *svc = td_service_retain(s->cached_svc[i]);
        *key = td_table_key_retain(s->cached_key[i]);
        return TD_OK;
      }
    int rc = td_cli_open_path(name, &s->opts, svc, key, err);
    if (rc == TD_OK && s->n_cached < TD_CLI_CACHED_SOURCES && (s->cached_name[s->n_cached] = strdup(name))) {
      s->cached_svc[s->n_cached] = td_service_retain(*svc);
      s->cached_key[s->n_cached] = td_table_key_retain(*key);
      s->n_cached++;
    }
    if (rc == TD_OK) {
      td_service_free(s->last);
      s->last = td_service_retain(*svc);
      td_table_key_release(s->last_key);
      s->last_key = td_table_key_retain(*key);
      td_progress_set_service(s->progress, *svc);
    }
    return rc;
  }
  if (strcmp(name, "demo") != 0) {
    err->code = TD_ENOTFOUND;
    snprintf(err->message, sizeof err->message, "unknown source '%s' (expected demo, a quoted path, read_parquet('path'), read_csv('path'), postgres('conninfo', 'table') or kafka('host:port', 'topic'))", name);
    return TD_ENOTFOUND;
  }
  int rc = TD_OK;
  if (!s->demo) {
    rc = td_sample_create(&s->demo_mb, err);
    if (rc == TD_OK) rc = td_service_new(td_memory_backend_backend(s->demo_mb), &s->opts, &s->demo, err);
    if (rc) return rc;
  }
  if ((rc = td_table_key_new(TD_SAMPLE_TABLE, key, err)) != TD_OK) return rc;
  /* td_query releases the service it is given: hand it a new reference. */
  *svc = td_service_retain(s->demo);
  td_service_free(s->last);
  s->last = td_service_retain(s->demo);
  td_table_key_release(s->last_key);
  s->last_key = td_table_key_retain(*key);
  td_progress_set_service(s->progress, s->demo);
  return TD_OK;
}

static void sources_close(sources *s) {
  for (int i = 0; i < s->n_cached; i++) {
    free(s->cached_name[i]);
    td_service_free(s->cached_svc[i]);
    td_table_key_release(s->cached_key[i]);
  }
  s->n_cached = 0;
  td_cli_paths_release();
  td_table_key_release(s->last_key);
  td_service_free(s->last);
  td_service_free(s->demo);
  td_memory_backend_release(s->demo_mb);
}

/* ---- options ---- */

typedef struct qargs {
  const char *sql;
  const char *format;
  bool stats, timing;
  double duration, period, rate;
  double threads; /* --threads: 0 = every core */
} qargs;

/* The file options of the command line (static: the process's lifetime). */
static td_cli_file_opts g_files;

static int parse_args(const char *cmd, const char *help, int argc, char **argv, bool follow, qargs *a) {
  memset(a, 0, sizeof *a);
  a->format = "grid";
  a->period = 1000;
  a->rate = 20;
  bool options_done = false;
  td_cli_file_opts_init(&g_files);
  td_cli_set_file_options(&g_files.fo);
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    double *num = NULL;
    int took;
    if (options_done) {
      if (a->sql) {
        fprintf(stderr, "tabledata %s: expected one query, found a second argument '%s'\n", cmd, o);
        return 2;
      }
      a->sql = o;
      continue;
    }
    if (strcmp(o, "--format") == 0 && i + 1 < argc) a->format = argv[++i];
    else if (strcmp(o, "--stats") == 0 && !follow) a->stats = true;
    else if (strcmp(o, "--timing") == 0 && !follow) a->timing = true;
    else if (follow && strcmp(o, "--duration") == 0) num = &a->duration;
    else if (follow && strcmp(o, "--period") == 0) num = &a->period;
    else if (follow && strcmp(o, "--rate") == 0) num = &a->rate;
    else if (strcmp(o, "--threads") == 0) num = &a->threads;
    else if (strcmp(o, "--") == 0 && !options_done) { /* the rest are not options */
      options_done = true;
      continue;
    } else if (!strpbrk(o, " \t\r\n") && (took = td_cli_file_opt(cmd, argc, argv, &i, &g_files)) != 0) {
      if (took < 0) return 2;
    } else if (o[0] == '-' && o[1] && !options_done && !strpbrk(o, " \t\r\n")) {
      /* An argument with white space is a query, not an option, even one
       * that starts with a "--" comment. */
      fprintf(stderr, "tabledata %s: unknown option '%s'\n%s%s", cmd, o, help, td_cli_file_opts_help);
      return 2;
    } else if (!a->sql) a->sql = o;
    else {
      fprintf(stderr, "tabledata %s: expected one query, found a second argument '%s'\n", cmd, o);
      return 2;
    }
    if (num) {
      char *end;
      if (i + 1 >= argc || (*num = strtod(argv[i + 1], &end), *end || end == argv[i + 1] || *num < 0)) {
        fprintf(stderr, "tabledata %s: %s expects a number >= 0\n", cmd, o);
        return 2;
      }
      if (num == &a->threads && (*num != (double)(int)*num || *num > 1024)) {
        fprintf(stderr, "tabledata %s: --threads expects a whole number of threads from 0 to 1024, found '%s'\n", cmd,
                argv[i + 1]);
        return 2;
      }
      i++;
    }
  }
  if (!a->sql) {
    fprintf(stderr, "tabledata %s: expected a query\n%s", cmd, help);
    return 2;
  }
  /* file trees are walked with as many threads as the query runs on */
  g_files.fo.threads = a->threads > 64 ? 64 : (int)a->threads;
  return 0;
}

/* Prints where a query error points, under the query text (the caret
 * counts characters, not bytes, so it stays under UTF-8 text). */
/* The reason column `name` of a file source cannot be read, or NULL
 * (points into buf). */
static const char *unqueryable_reason(const char *name, char *buf, size_t size) {
  td_cli_unqueryable(buf, size);
  size_t nl = strlen(name);
  for (char *line = buf; *line;) {
    char *end = strchr(line, '\n');
    if (end) *end = '\0';
    if (strncmp(line, name, nl) == 0 && line[nl] == ':' && line[nl + 1] == ' ') return line + nl + 2;
    if (!end) break;
    line = end + 1;
  }
  return NULL;
}

/* A note on standard error when SELECT * leaves out columns that cannot be
 * read (nested types...): they do not vanish silently. */
static void note_star(const char *cmd, const char *sql) {
  const char *p = sql;
  bool star = false;
  while (*p && !star) { /* "SELECT *" or ", *" in the text, whatever the spacing and case */
    if (*p == '*') {
      const char *q = p;
      while (q > sql && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\n')) q--;
      star = (q > sql && q[-1] == ',') || (q - sql >= 6 && strncasecmp(q - 6, "select", 6) == 0);
    }
    p++;
  }
  if (!star) return;
  char buf[4096];
  if (!td_cli_unqueryable(buf, sizeof buf)) return;
  fprintf(stderr, "tabledata %s: note: * leaves out the columns that cannot be queried:\n", cmd);
  for (char *line = buf; *line;) {
    char *end = strchr(line, '\n');
    if (end) *end = '\0';
    fprintf(stderr, "  %s\n", line);
    if (!end) break;
    line = end + 1;
  }
}

static int query_fail(const char *cmd, const char *sql, const td_error *err) {
  char name[256], buf[4096];
  const char *why = NULL;
  if (err->code == TD_ETYPE && sscanf(err->message, "unknown column '%255[^']'", name) == 1)
    why = unqueryable_reason(name, buf, sizeof buf);
  if (why)
    fprintf(stderr, "tabledata %s: column '%s' cannot be queried: %s (a query may use the other columns; "
            "`tabledata schema` lists them)\n", cmd, name, why);
  else fprintf(stderr, "tabledata %s: %s\n", cmd, err->message);
  if ((err->code == TD_EPARSE || err->code == TD_ETYPE || err->code == TD_ERANGE) && err->position >= 0 &&
      err->position <= (int64_t)strlen(sql) && !strchr(sql, '\n')) {
    char *pre = strndup(sql, (size_t)err->position); /* the caret under the token, in terminal columns */
    fprintf(stderr, "  %s\n  %*s^\n", sql, pre ? (int)td_grid_text_width(pre) : 0, "");
    free(pre);
  }
  return 1;
}

/* TD_EIO with the reason when writing standard output failed (a full disk,
 * a closed pipe); TD_OK otherwise.  `flush` pushes buffered rows out first. */
static int check_stdout(bool flush, td_error *err) {
  if ((flush && fflush(stdout) != 0) || ferror(stdout)) {
    err->code = TD_EIO;
    snprintf(err->message, sizeof err->message, "writing standard output failed: %s", strerror(errno));
    return TD_EIO;
  }
  return TD_OK;
}

static void print_stats(td_service *svc) {
  if (!svc) return;
  td_counters c;
  td_service_counters(svc, &c);
  fprintf(stderr, "backend calls:");
  for (int m = 0; m < TD_METHOD_COUNT; m++)
    if (c.calls[m]) fprintf(stderr, " %s=%lld", td_method_name((td_method)m), (long long)c.calls[m]);
  fprintf(stderr, "\nrows fetched: %lld, bytes fetched: %lld, rows scanned: %lld, rows skipped by statistics: %lld\n",
          (long long)c.rows_received, (long long)c.bytes_received, (long long)c.rows_scanned,
          (long long)c.rows_skipped);
  fprintf(stderr, "page cache: %lld hits, %lld misses, %lld evictions, %lld bytes held\n", (long long)c.cache_hits,
          (long long)c.cache_misses, (long long)c.cache_evictions, (long long)c.cache_bytes);
}

/* ---- query ---- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int td_cmd_query(int argc, char **argv) {
  if (td_cli_wants_help(argc, argv, k_query_help)) {
    fputs(td_cli_file_opts_help, stdout);
    return 0;
  }
  qargs a;
  int rc = parse_args("query", k_query_help, argc, argv, false, &a);
  if (rc) return rc;
  td_format fmt = TD_FORMAT_GRID;
  bool arrow = strcmp(a.format, "arrow") == 0;
  if (!arrow && !td_format_parse(a.format, &fmt)) {
    fprintf(stderr, "tabledata query: --format expects grid, csv, jsonl or arrow, found '%s'\n", a.format);
    return 2;
  }
  td_error err;
  td_error_clear(&err);
  sources src;
  memset(&src, 0, sizeof src);
  td_service_options_init(&src.opts);
  td_query_options qo = {.resolver = resolve, .resolver_ctx = &src, .refreshing = false, .threads = (int)a.threads};
  struct ArrowArrayStream st;
  double t0 = now_s();
  struct timespec tc0;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &tc0);
  src.progress = td_progress_start(&qo.source_rows);
  rc = td_query_stream(a.sql, &qo, &st, &err);
  if (rc) {
    td_progress_stop(src.progress);
    rc = query_fail("query", a.sql, &err); /* names unreadable columns: before closing the sources */
    sources_close(&src);
    return rc;
  }
  note_star("query", a.sql);
  bool rows_to_terminal = isatty(1);
  if (arrow) {
    rc = td_write_ipc_stream(1, &st, &err);
  } else {
    struct ArrowSchema schema;
    td_printer p;
    memset(&p, 0, sizeof p);
    if (st.get_schema(&st, &schema) != 0) {
      rc = TD_EIO;
      snprintf(err.message, sizeof err.message, "%s", st.get_last_error(&st));
    } else {
      rc = td_printer_init(&p, fmt, stdout, &schema, &err);
    }
    while (rc == TD_OK) {
      struct ArrowArray b;
      if (st.get_next(&st, &b) != 0) {
        rc = TD_EIO;
        snprintf(err.message, sizeof err.message, "%s", st.get_last_error(&st));
        break;
      }
      if (!b.release) break;
      if (rows_to_terminal) td_progress_quiet(src.progress); /* rows and the line share the screen */
      rc = td_printer_rows(&p, &b, 0, b.length, &err);
      b.release(&b);
      if (rc == TD_OK) rc = check_stdout(false, &err); /* stop at the first failed write */
    }
    td_progress_stop(src.progress);
    src.progress = NULL;
    if (rc == TD_OK) td_printer_flush(&p);
    td_printer_reset(&p);
  }
  td_progress_stop(src.progress);
  st.release(&st);
  td_error werr; /* the first error is the one to report */
  int wrc = check_stdout(true, rc ? &werr : &err);
  if (rc == TD_OK) rc = wrc;
  if (a.timing) fprintf(stderr, "time: %.3f ms\n", (now_s() - t0) * 1e3);
  if (getenv("TD_PAR_TRACE")) { /* the process's CPU time of the query, beside the workers' (query/par.c) */
    struct timespec tc1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &tc1);
    fprintf(stderr, "td query: cpu %.1f ms\n", (double)(tc1.tv_sec - tc0.tv_sec) * 1e3 + (double)(tc1.tv_nsec - tc0.tv_nsec) / 1e6);
  }
  if (a.stats) print_stats(src.last);
  sources_close(&src);
  return rc ? td_cli_fail("query", &err) : 0;
}

/* ---- follow ---- */

typedef struct follower {
  td_printer p;
  bool header;
  td_error err;
  int failed;          /* set (atomically) once the live query failed */
  td_error fail;       /* why, written before `failed` */
} follower;

/* Records the first failure of a live query and ends the wait. */
static void follow_failed(follower *f, const td_error *e) {
  if (__atomic_load_n(&f->failed, __ATOMIC_ACQUIRE)) return;
  f->fail = *e;
  __atomic_store_n(&f->failed, 1, __ATOMIC_RELEASE);
  td_interrupt();
}

/* Prints rows [begin, end) of the current version. */
static void print_range(follower *f, td_table *t, int64_t begin, int64_t end) {
  for (int64_t b = begin; b < end; b += 4096) {
    int64_t e = end - b > 4096 ? b + 4096 : end;
    struct ArrowArray rows;
    if (td_table_read(t, NULL, 0, b, e, &rows, &f->err) != TD_OK) return;
    td_printer_rows(&f->p, &rows, 0, rows.length, &f->err);
    rows.release(&rows);
  }
}

static void on_change(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  follower *f = ctx;
  if (e) {
    td_error why = *e;
    snprintf(why.message, sizeof why.message, "the live query failed: %.900s", e->message);
    follow_failed(f, &why);
    return;
  }
  if (__atomic_load_n(&f->failed, __ATOMIC_ACQUIRE)) return;
  if (f->p.format != TD_FORMAT_JSONL)
    printf("-- version %lld: %lld rows%s\n", (long long)u->version, (long long)u->size_after,
           u->replaced ? " (recomputed)" : "");
  if (u->replaced) print_range(f, t, 0, u->size_after);
  else {
    for (int64_t i = 0; i < u->n_changed; i++) print_range(f, t, u->changed[i], u->changed[i] + 1);
    for (int64_t i = 0; i < u->n_added; i++) print_range(f, t, u->added[i].first_row, u->added[i].end_row);
  }
  td_printer_flush(&f->p);
  td_error werr;
  if (check_stdout(true, &werr)) follow_failed(f, &werr);
}

/* The live grid on a terminal (cli/tui.c); the source table gives rows/s. */
static int follow_tui(sources *src, td_table *t, const qargs *a, td_error *err) {
  td_table *source = NULL;
  td_table_options to;
  td_table_options_init(&to);
  to.refreshing = true;
  if (src->last && src->last_key) td_make_table(src->last, src->last_key, &to, &source, err);
  td_ticker tk;
  memset(&tk, 0, sizeof tk);
  int rc = src->demo_mb ? td_ticker_start(&tk, src->demo_mb, a->rate) : TD_OK;
  if (rc == TD_OK) rc = td_tui_run(t, source, src->last, a->sql, a->duration, err);
  td_ticker_stop(&tk);
  td_table_release(source);
  return rc;
}

/* Changes as records for programs (cli/changes.c): jsonl, csv or arrow. */
static int follow_changes(sources *src, td_table *t, const qargs *a, td_changes_format cf, td_error *err) {
  td_changes *ch = NULL;
  int64_t lid = -1;
  td_ticker tk;
  memset(&tk, 0, sizeof tk);
  int rc = td_changes_open(t, a->sql, cf, STDOUT_FILENO, &ch, err);
  if (rc == TD_OK) rc = td_table_add_listener(t, td_changes_on_cycle, ch, &lid, err);
  if (rc == TD_OK && src->demo_mb) rc = td_ticker_start(&tk, src->demo_mb, a->rate);
  if (rc == TD_OK) td_wait_interrupt(a->duration);
  td_ticker_stop(&tk);
  /* What arrived before the end is written before the end. */
  if (rc == TD_OK && src->last) td_service_flush(src->last, 5000, NULL);
  if (lid >= 0) td_table_remove_listener(t, lid);
  int crc = td_changes_close(ch, rc ? NULL : err);
  return rc ? rc : crc;
}

int td_cmd_follow(int argc, char **argv) {
  if (td_cli_wants_help(argc, argv, k_follow_help)) {
    fputs(td_cli_file_opts_help, stdout);
    return 0;
  }
  qargs a;
  int rc = parse_args("follow", k_follow_help, argc, argv, true, &a);
  if (rc) return rc;
  bool format_given = false;
  for (int i = 1; i + 1 < argc; i++) format_given |= strcmp(argv[i], "--format") == 0;
  td_format fmt = TD_FORMAT_GRID;
  bool arrow = strcmp(a.format, "arrow") == 0;
  if (!arrow && !td_format_parse(a.format, &fmt)) {
    fprintf(stderr, "tabledata follow: --format expects grid, csv, jsonl or arrow, found '%s'\n", a.format);
    return 2;
  }
  /* A terminal gets the live grid; elsewhere the default is jsonl. */
  bool tui = fmt == TD_FORMAT_GRID && !arrow && td_tui_available();
  if (!format_given && !tui) fmt = TD_FORMAT_JSONL;
  td_error err;
  td_error_clear(&err);
  sources src;
  memset(&src, 0, sizeof src);
  td_service_options_init(&src.opts);
  src.opts.update_period_ms = (int64_t)a.period;
  td_query_options qo = {.resolver = resolve, .resolver_ctx = &src, .refreshing = true, .threads = (int)a.threads};
  td_table *t = NULL;
  rc = td_query(a.sql, &qo, &t, &err);
  if (rc) {
    rc = query_fail("follow", a.sql, &err);
    sources_close(&src);
    return rc;
  }
  note_star("follow", a.sql);
  if (tui || arrow || fmt != TD_FORMAT_GRID) {
    if (tui) rc = follow_tui(&src, t, &a, &err);
    else
      rc = follow_changes(&src, t, &a,
                          arrow ? TD_CHANGES_ARROW : fmt == TD_FORMAT_CSV ? TD_CHANGES_CSV : TD_CHANGES_JSONL, &err);
    td_table_release(t);
    sources_close(&src);
    return rc ? td_cli_fail("follow", &err) : 0;
  }
  /* --format grid, not on a terminal: a log of the changes, for people. */
  follower f;
  memset(&f, 0, sizeof f);
  td_ticker tk;
  memset(&tk, 0, sizeof tk);
  struct ArrowSchema schema;
  rc = td_table_schema(t, &schema, &err);
  if (rc == TD_OK) rc = td_printer_init(&f.p, fmt, stdout, &schema, &err);
  if (rc == TD_OK) {
    if (fmt != TD_FORMAT_JSONL) printf("-- version 0: %lld rows\n", (long long)td_table_size(t));
    print_range(&f, t, 0, td_table_size(t));
    td_printer_flush(&f.p);
    rc = check_stdout(true, &err);
    if (rc == TD_OK) rc = td_table_add_listener(t, on_change, &f, NULL, &err);
  }
  if (rc == TD_OK && src.demo_mb) rc = td_ticker_start(&tk, src.demo_mb, a.rate);
  if (rc == TD_OK) td_wait_interrupt(a.duration);
  td_ticker_stop(&tk);
  td_table_release(t); /* no listener call after this */
  if (rc == TD_OK && __atomic_load_n(&f.failed, __ATOMIC_ACQUIRE)) {
    err = f.fail;
    rc = err.code ? err.code : TD_EFAILED;
  }
  td_printer_reset(&f.p);
  sources_close(&src);
  return rc ? td_cli_fail("follow", &err) : 0;
}
