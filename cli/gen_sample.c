/*
 * cli/gen_sample.c - `tabledata gen-sample DIR`: writes a deterministic,
 * realistic dataset of market ticks for the README's and docs' examples and
 * for trying the program on real files.
 *
 * The dataset is a hive tree per format:
 *   DIR/parquet/Date=2024-01-02/Exchange=NYSE/data.parquet   (snappy, 65,536-row row groups)
 *   DIR/arrow/Date=2024-01-02/Exchange=NYSE/data.arrows      (Arrow IPC stream)
 *   DIR/csv/Date=2024-01-02/Exchange=NYSE/data.csv           (RFC 4180 with a header)
 * with the same rows in each: trading days from 2024-01-02 (weekends
 * skipped) times the exchanges NYSE, NASDAQ and BZX.  Columns: Timestamp
 * (ns, UTC, increasing within a location, 14:30-21:00 UTC), Symbol (utf8,
 * nullable), Price (float64, a random walk per symbol), Size (int32), Volume
 * (int64, running volume of the symbol, nullable), Bid (float32), Flag
 * (bool, nullable), Lot (int16), Tick (int8: -1, 0, 1), Code (uint16).
 * Every location draws from its own generator seeded by (seed, date,
 * exchange), so a given --rows/--days/--seed gives the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arrow/schema.h"
#include "commands.h"
#include "formats/ipc/ipc_writer.h"
#include "formats/parquet/writer.h"
#include "util/error.h"

static const char k_help[] =
    "usage: tabledata gen-sample DIR [--rows N] [--days D] [--format parquet|arrow|csv|all] [--seed S]\n\n"
    "Writes a deterministic sample dataset of market ticks: a hive tree\n"
    "DIR/<format>/Date=YYYY-MM-DD/Exchange=NYSE|NASDAQ|BZX/data.<ext> per format\n"
    "(parquet: snappy Parquet; arrow: Arrow IPC streams; csv: CSV with a header),\n"
    "the same rows in each.  Existing files of the same names are overwritten.\n"
    "Columns: Timestamp, Symbol, Price, Size, Volume, Bid, Flag, Lot, Tick, Code.\n\n"
    "  --rows N     total rows over all locations (default 1000000; tens of\n"
    "               millions are fine: per row about 27 bytes of Parquet, 47 of\n"
    "               Arrow IPC and 73 of CSV)\n"
    "  --days D     trading days from 2024-01-02 (default 5; 3 exchanges each)\n"
    "  --format F   parquet, arrow, csv or all (default all)\n"
    "  --seed S     generator seed (default 1)\n\n"
    "Example:\n"
    "  tabledata gen-sample /tmp/ticks --rows 300000\n"
    "  tabledata query \"SELECT Symbol, count(*), avg(Price) FROM '/tmp/ticks/parquet' GROUP BY Symbol\"\n";

#define BATCH_ROWS 65536
#define N_COLS 10
#define N_EXCHANGES 3
#define N_SYMBOLS 10

static const char *const k_exchanges[N_EXCHANGES] = {"NYSE", "NASDAQ", "BZX"};
static const struct {
  const char *name;
  double price;
} k_symbols[N_SYMBOLS] = {{"AAPL", 185.6},  {"MSFT", 370.9}, {"GOOG", 139.6}, {"AMZN", 149.9},
                          {"NVDA", 481.7},  {"META", 346.3}, {"TSLA", 248.4}, {"AVGO", 1110.0},
                          {"NFLX", 468.5},  {"COST", 660.2}};
static const char *const k_names[N_COLS] = {"Timestamp", "Symbol", "Price", "Size", "Volume",
                                            "Bid",       "Flag",   "Lot",   "Tick", "Code"};
static const td_type_id k_types[N_COLS] = {TD_TYPE_TIMESTAMP, TD_TYPE_UTF8,  TD_TYPE_FLOAT64, TD_TYPE_INT32,
                                           TD_TYPE_INT64,     TD_TYPE_FLOAT32, TD_TYPE_BOOL,  TD_TYPE_INT16,
                                           TD_TYPE_INT8,      TD_TYPE_UINT16};
static const bool k_nullable[N_COLS] = {false, true, false, false, true, false, true, false, false, false};
static const uint16_t k_codes[] = {0, 1, 12, 14, 37, 41, 53};

enum { FMT_PARQUET = 1, FMT_ARROW = 2, FMT_CSV = 4 };

/* splitmix64: small, fast and fully determined by its state. */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* mkdir -p for a path we build (components separated by '/'). */
static int make_dirs(const char *path, td_error *err) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return td_err(err, TD_EINVAL, "path too long: %s", path);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || !*p) {
      char c = *p;
      *p = 0;
      if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return td_err(err, TD_EIO, "cannot create directory '%s': %s", buf, strerror(errno));
      if (!c) break;
      *p = c;
    }
  }
  return TD_OK;
}

/* The writers of one location, one per selected format. */
typedef struct loc_out {
  int pq_fd, ipc_fd;
  FILE *csv;
  td_parquet_writer *pq;
  td_ipc_stream_writer *ipc;
} loc_out;

static int open_file(const char *dir, int fmt, const char *date, const char *exch, const char *ext, int *fd,
                     td_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/Date=%s/Exchange=%s", dir,
           fmt == FMT_PARQUET ? "parquet" : fmt == FMT_ARROW ? "arrow" : "csv", date, exch);
  int rc = make_dirs(path, err);
  if (rc) return rc;
  size_t n = strlen(path);
  snprintf(path + n, sizeof path - n, "/data.%s", ext);
  *fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (*fd < 0) return td_err(err, TD_EIO, "cannot create '%s': %s", path, strerror(errno));
  return TD_OK;
}

static int loc_open(loc_out *o, const char *dir, int formats, const char *date, const char *exch,
                    const td_schema *schema, td_error *err) {
  memset(o, 0, sizeof *o);
  o->pq_fd = o->ipc_fd = -1;
  int rc = TD_OK;
  if (formats & FMT_PARQUET) {
    rc = open_file(dir, FMT_PARQUET, date, exch, "parquet", &o->pq_fd, err);
    if (!rc) rc = td_parquet_writer_open(o->pq_fd, schema, true, &o->pq, err);
  }
  if (!rc && (formats & FMT_ARROW)) {
    rc = open_file(dir, FMT_ARROW, date, exch, "arrows", &o->ipc_fd, err);
    if (!rc) rc = td_ipc_stream_writer_open(o->ipc_fd, schema, &o->ipc, err);
  }
  if (!rc && (formats & FMT_CSV)) {
    int fd;
    rc = open_file(dir, FMT_CSV, date, exch, "csv", &fd, err);
    if (!rc && !(o->csv = fdopen(fd, "w"))) {
      close(fd);
      rc = td_err(err, TD_EIO, "cannot open CSV output: %s", strerror(errno));
    }
    for (int i = 0; !rc && i < N_COLS; i++) fprintf(o->csv, "%s%s", i ? "," : "", k_names[i]);
    if (!rc) fputc('\n', o->csv);
  }
  return rc;
}

static int loc_write(loc_out *o, const struct ArrowArray *batch, td_error *err) {
  int rc = TD_OK;
  if (o->pq) rc = td_parquet_writer_write(o->pq, batch, err);
  if (!rc && o->ipc) rc = td_ipc_stream_writer_write(o->ipc, batch, err);
  return rc;
}

/* Finishes every file (on failure: frees everything, keeps the first error). */
static int loc_close(loc_out *o, int rc, td_error *err) {
  td_error scratch;
  td_error *e = rc ? &scratch : err;
  if (rc) {
    td_parquet_writer_abort(o->pq);
    td_ipc_stream_writer_abort(o->ipc);
  } else {
    rc = td_parquet_writer_close(o->pq, e);
    int r2 = td_ipc_stream_writer_close(o->ipc, rc ? &scratch : e);
    if (!rc) rc = r2;
  }
  if (o->csv && fclose(o->csv) != 0 && !rc) rc = td_err(err, TD_EIO, "cannot write CSV: %s", strerror(errno));
  if (o->pq_fd >= 0 && close(o->pq_fd) != 0 && !rc) rc = td_err(err, TD_EIO, "cannot write Parquet: %s", strerror(errno));
  if (o->ipc_fd >= 0 && close(o->ipc_fd) != 0 && !rc)
    rc = td_err(err, TD_EIO, "cannot write Arrow IPC: %s", strerror(errno));
  return rc;
}

/* The state of one location's generator. */
typedef struct gen {
  uint64_t rng;
  int64_t t0, step; /* first timestamp, spacing in ns */
  int64_t row;      /* rows made so far */
  double price[N_SYMBOLS];
  int64_t volume[N_SYMBOLS];
} gen;

/* Builds the next `n` rows as a record batch, and writes them to `csv`
 * too when it is not NULL (timestamps as ISO-8601 UTC, prices in cents). */
static int gen_batch(gen *g, const char *date, FILE *csv, int64_t n, td_builder **b, struct ArrowArray *out,
                     td_error *err) {
  int rc = TD_OK;
  for (int64_t i = 0; i < n && rc == TD_OK; i++, g->row++) {
    uint64_t r = next_u64(&g->rng);
    int s = (int)(r % N_SYMBOLS);
    double old = g->price[s];
    double p = old * (1.0 + (next_unit(&g->rng) - 0.5) * 0.002);
    p = round(p * 100.0) / 100.0;
    g->price[s] = p;
    int32_t size = (int32_t)(1 + (next_u64(&g->rng) % 20) * ((r >> 8) % 3 == 0 ? 100 : 10));
    g->volume[s] += size;
    int64_t ts = g->t0 + g->row * g->step + (int64_t)(next_u64(&g->rng) % (uint64_t)(g->step > 1 ? g->step : 1));
    uint64_t q = r >> 16;
    rc = td_builder_append_int(b[0], ts, err);
    if (!rc) rc = q % 200 == 0 ? td_builder_append_null(b[1], err) : td_builder_append_str(b[1], k_symbols[s].name, -1, err);
    if (!rc) rc = td_builder_append_double(b[2], p, err);
    if (!rc) rc = td_builder_append_int(b[3], size, err);
    if (!rc) rc = (q >> 8) % 100 == 0 ? td_builder_append_null(b[4], err) : td_builder_append_int(b[4], g->volume[s], err);
    if (!rc) rc = td_builder_append_double(b[5], (float)(p - 0.01 * (double)(1 + (q >> 16) % 5)), err);
    if (!rc) rc = (q >> 20) % 50 == 0 ? td_builder_append_null(b[6], err) : td_builder_append_int(b[6], (q >> 26) & 1, err);
    if (!rc) rc = td_builder_append_int(b[7], size / 100, err);
    if (!rc) rc = td_builder_append_int(b[8], (p > old) - (p < old), err);
    uint16_t code = k_codes[(q >> 28) % (sizeof k_codes / sizeof *k_codes)];
    if (!rc) rc = td_builder_append_int(b[9], code, err);
    if (csv) {
      int64_t ns = ts % 86400000000000LL, secs = ns / 1000000000;
      long long cents = llround(p * 100.0);
      fprintf(csv, "%sT%02d:%02d:%02d.%09lldZ,%s,%lld.%02lld,%d,", date, (int)(secs / 3600), (int)(secs / 60 % 60),
              (int)(secs % 60), (long long)(ns % 1000000000), q % 200 == 0 ? "" : k_symbols[s].name, cents / 100,
              cents % 100, size);
      if ((q >> 8) % 100 != 0) fprintf(csv, "%lld", (long long)g->volume[s]);
      long long bid = llround((double)(float)(p - 0.01 * (double)(1 + (q >> 16) % 5)) * 100.0);
      fprintf(csv, ",%lld.%02lld,%s,%d,%d,%u\n", bid / 100, bid % 100,
              (q >> 20) % 50 == 0 ? "" : (q >> 26) & 1 ? "true" : "false", size / 100, (p > old) - (p < old),
              (unsigned)code);
    }
  }
  if (rc) return rc;
  struct ArrowArray cols[N_COLS];
  int made = 0;
  for (; made < N_COLS && rc == TD_OK; made++) rc = td_builder_finish(b[made], &cols[made], err);
  if (rc) {
    for (int i = 0; i < made - 1; i++) cols[i].release(&cols[i]);
    return rc;
  }
  return td_batch_make(N_COLS, cols, out, err);
}

typedef struct gen_opts {
  const char *dir;
  int64_t rows, days;
  uint64_t seed;
  int formats;
} gen_opts;

static int generate(const gen_opts *o, int64_t *locations, td_error *err) {
  td_schema schema;
  td_schema_init(&schema);
  int rc = TD_OK;
  for (int i = 0; i < N_COLS && rc == TD_OK; i++)
    rc = td_schema_add(&schema, k_names[i], k_types[i], i == 0 ? "UTC" : NULL, k_nullable[i], err);
  td_builder *b[N_COLS] = {0};
  for (int i = 0; i < N_COLS && rc == TD_OK; i++) rc = td_builder_new(k_types[i], &b[i], err);
  int64_t n_loc = o->days * N_EXCHANGES, day = days_from_civil(2024, 1, 2);
  for (int64_t d = 0; d < o->days && rc == TD_OK; d++, day++) {
    while ((day + 4) % 7 == 0 || (day + 4) % 7 == 6) day++; /* 1970-01-01 was a Thursday */
    time_t secs = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[16];
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    for (int e = 0; e < N_EXCHANGES && rc == TD_OK; e++) {
      int64_t idx = d * N_EXCHANGES + e;
      int64_t rows = o->rows / n_loc + (idx < o->rows % n_loc);
      gen g;
      memset(&g, 0, sizeof g);
      g.rng = o->seed * 0x100000001B3ull ^ (uint64_t)(idx + 1) * 0xD6E8FEB86659FD93ull;
      g.t0 = day * 86400000000000LL + (14 * 3600 + 1800) * 1000000000LL;
      g.step = rows > 0 ? (int64_t)(6.5 * 3600 * 1e9) / rows : 1;
      for (int s = 0; s < N_SYMBOLS; s++) {
        g.price[s] = round(k_symbols[s].price * (1.0 + 0.01 * (double)d + 0.0005 * e) * 100.0) / 100.0;
        g.volume[s] = 0;
      }
      loc_out out;
      rc = loc_open(&out, o->dir, o->formats, date, k_exchanges[e], &schema, err);
      for (int64_t left = rows; rc == TD_OK && left > 0;) {
        int64_t n = left < BATCH_ROWS ? left : BATCH_ROWS;
        struct ArrowArray batch;
        rc = gen_batch(&g, date, out.csv, n, b, &batch, err);
        if (rc) break;
        rc = loc_write(&out, &batch, err);
        batch.release(&batch);
        left -= n;
      }
      rc = loc_close(&out, rc, err);
    }
  }
  for (int i = 0; i < N_COLS; i++) td_builder_free(b[i]);
  td_schema_reset(&schema);
  *locations = n_loc;
  return rc;
}

static bool parse_count(const char *s, int64_t min, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < min) return false;
  *out = v;
  return true;
}

int td_cmd_gen_sample(int argc, char **argv) {
  if (td_cli_wants_help(argc, argv, k_help)) return 0;
  gen_opts o = {NULL, 1000000, 5, 1, FMT_PARQUET | FMT_ARROW | FMT_CSV};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int64_t v;
    bool has_arg = i + 1 < argc;
    if (strcmp(a, "--rows") == 0 && has_arg) {
      if (!parse_count(argv[++i], 0, &o.rows)) goto bad_number;
    } else if (strcmp(a, "--days") == 0 && has_arg) {
      if (!parse_count(argv[++i], 1, &o.days) || o.days > 10000) goto bad_number;
    } else if (strcmp(a, "--seed") == 0 && has_arg) {
      if (!parse_count(argv[++i], 0, &v)) goto bad_number;
      o.seed = (uint64_t)v;
    } else if (strcmp(a, "--format") == 0 && has_arg) {
      const char *f = argv[++i];
      o.formats = strcmp(f, "parquet") == 0 ? FMT_PARQUET
                  : strcmp(f, "arrow") == 0 ? FMT_ARROW
                  : strcmp(f, "csv") == 0   ? FMT_CSV
                  : strcmp(f, "all") == 0   ? FMT_PARQUET | FMT_ARROW | FMT_CSV
                                            : 0;
      if (!o.formats) {
        fprintf(stderr, "tabledata gen-sample: --format expects parquet, arrow, csv or all, found '%s'\n", f);
        return 2;
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "tabledata gen-sample: unknown option '%s'\n%s", a, k_help);
      return 2;
    } else if (!o.dir) {
      o.dir = a;
    } else {
      fprintf(stderr, "tabledata gen-sample: expected one directory, found a second argument '%s'\n", a);
      return 2;
    }
    continue;
  bad_number:
    fprintf(stderr, "tabledata gen-sample: %s expects a whole number%s, found '%s'\n", a,
            strcmp(a, "--days") == 0 ? " from 1 to 10000" : " >= 0", argv[i]);
    return 2;
  }
  if (!o.dir) {
    fprintf(stderr, "tabledata gen-sample: expected a directory\n%s", k_help);
    return 2;
  }
  td_error err;
  td_error_clear(&err);
  int64_t locations = 0;
  int rc = make_dirs(o.dir, &err);
  if (!rc) rc = generate(&o, &locations, &err);
  if (rc) return td_cli_fail("gen-sample", &err);
  printf("wrote %lld rows in %lld locations (Date x Exchange) to", (long long)o.rows, (long long)locations);
  if (o.formats & FMT_PARQUET) printf(" %s/parquet", o.dir);
  if (o.formats & FMT_ARROW) printf(" %s/arrow", o.dir);
  if (o.formats & FMT_CSV) printf(" %s/csv", o.dir);
  printf("\n");
  return 0;
}
