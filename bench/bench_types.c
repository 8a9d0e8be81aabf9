/*
 * bench/bench_types.c - reading each column type from Parquet, as MB/s of
 * decoded values: the temporal and unsigned types (which keep their unit and
 * width: a plain copy) must cost no more per byte than int64 and int32, utf8
 * being the reference for variable-width data.
 *
 * usage: bench_types [ROWS] [REPEATS]
 *        bench_types --files REPEATS FILE...   (column 0 of each Parquet or
 *        Arrow IPC file, e.g. the decimal, string view and large string files
 *        bench/bench_types.py writes with pyarrow and times with DuckDB)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "bench_util.h"
#include "formats/parquet/writer.h"
#include "formats/reader.h"

static const td_type_id k_types[] = {TD_TYPE_INT64,     TD_TYPE_INT32,     TD_TYPE_UTF8,
                                     TD_TYPE_DATE32,    TD_TYPE_TIMESTAMP, TD_TYPE_TIMESTAMP_MS,
                                     TD_TYPE_TIMESTAMP_US, TD_TYPE_TIME64_US, TD_TYPE_TIME32_MS};

/* One Parquet file of `rows` values of type t (about 1/16 nulls). */
static void write_file(const char *path, td_type_id t, int64_t rows) {
  td_error err;
  td_schema s;
  td_schema_init(&s);
  check(td_schema_add(&s, "x", t, td_type_is_timestamp(t) ? "UTC" : NULL, true, &err), &err);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(path);
    exit(1);
  }
  td_parquet_writer *w;
  check(td_parquet_writer_open(fd, &s, false, &w, &err), &err);
  const int64_t chunk = 1 << 20;
  for (int64_t done = 0; done < rows; done += chunk) {
    int64_t n = rows - done < chunk ? rows - done : chunk;
    td_array a;
    check(td_array_init(&a, t, n, &err), &err);
    for (int64_t i = 0; i < n; i++) {
      uint64_t h = (uint64_t)(done + i) * 0x9E3779B97F4A7C15ull;
      if ((h >> 60) == 0) check(td_array_append_null(&a, &err), &err);
      else if (t == TD_TYPE_UTF8) check(td_array_append_str(&a, "abcdefgh", 8, &err), &err);
      else check(td_array_append_int(&a, (int64_t)(h >> 40), &err), &err);
    }
    struct ArrowArray col, batch;
    check(td_array_export(&a, &col, &err), &err);
    check(td_batch_make(1, &col, &batch, &err), &err);
    check(td_parquet_writer_write(w, &batch, &err), &err);
    batch.release(&batch);
  }
  check(td_parquet_writer_close(w, &err), &err);
  close(fd);
  td_schema_reset(&s);
}

/* Decoded bytes of column 0 of a read: values (16 for a decimal), or
 * offsets + string bytes (readers answer every variable-length type with
 * 32-bit offsets). */
static int64_t decoded_bytes(td_type_id t, const struct ArrowArray *a) {
  if (!td_type_is_varlen(t)) return a->length * td_type_width(t);
  const int32_t *o = a->buffers[1];
  return a->length * 4 + (a->length ? o[a->offset + a->length] - o[a->offset] : 0);
}

static int bench_files(int repeats, int n, char **paths) {
  printf("bench_types --files: best of %d reads of column 0\n", repeats);
  for (int k = 0; k < n; k++) {
    const char *p = paths[k];
    size_t len = strlen(p);
    bool pq = len > 8 && strcmp(p + len - 8, ".parquet") == 0;
    td_error err;
    td_file_reader *r;
    check(pq ? td_parquet_open(p, &r, &err) : td_ipc_open(p, &r, &err), &err);
    td_type_id t = r->schema.fields[0].type;
    double best = 1e30;
    int64_t bytes = 0;
    for (int rep = 0; rep < repeats; rep++) {
      struct ArrowArray a;
      double t0 = now();
      check(td_reader_read(r, 0, 0, r->num_rows, &a, &err), &err);
      double dt = now() - t0;
      bytes = decoded_bytes(t, &a);
      a.release(&a);
      if (dt < best) best = dt;
    }
    char tt[64];
    const char *base = strrchr(p, '/');
    printf("  %-28s %-18s %8.0f MB/s  %7.1f Mrows/s\n", base ? base + 1 : p,
           td_field_type_text(&r->schema.fields[0], tt, sizeof tt), (double)bytes / best / 1e6,
           (double)r->num_rows / best / 1e6);
    td_reader_close(r);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 3 && strcmp(argv[1], "--files") == 0) return bench_files(atoi(argv[2]), argc - 3, argv + 3);
  int64_t rows = argc > 1 ? atoll(argv[1]) : 4000000;
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  char dir[] = "/tmp/bench_types_XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  printf("bench_types: %lld rows per file, best of %d reads\n", (long long)rows, repeats);
  double ref8 = 0;
  for (size_t k = 0; k < sizeof k_types / sizeof k_types[0]; k++) {
    td_type_id t = k_types[k];
    char path[256];
    snprintf(path, sizeof path, "%s/%s.parquet", dir, td_type_name(t));
    write_file(path, t, rows);
    td_error err;
    td_file_reader *r;
    check(td_parquet_open(path, &r, &err), &err);
    if (r->schema.fields[0].type != t) {
      fprintf(stderr, "bench: %s read back as %s\n", td_type_name(t), td_type_name(r->schema.fields[0].type));
      return 1;
    }
    double best = 1e30;
    int64_t bytes = 0;
    for (int rep = 0; rep < repeats; rep++) {
      struct ArrowArray a;
      double t0 = now();
      check(td_reader_read(r, 0, 0, rows, &a, &err), &err);
      double dt = now() - t0;
      bytes = t == TD_TYPE_UTF8 ? rows * 4 + 8 * rows : rows * td_type_width(t); /* offsets + data */
      a.release(&a);
      if (dt < best) best = dt;
    }
    td_reader_close(r);
    unlink(path);
    double mbs = (double)bytes / best / 1e6;
    if (t == TD_TYPE_INT64) ref8 = mbs;
    printf("  %-13s %8.0f MB/s  (%.2f x int64)\n", td_type_name(t), mbs, mbs / ref8);
  }
  rmdir(dir);
  return 0;
}
