/*
 * bench/bench_files.c - the file backend's costs that must stay near-linear
 * (issue 8): discovering and opening a directory of many files (items 15),
 * and opening a CSV file whose one record is long (item 13).  Each figure is
 * printed with the ratio of the per-unit cost at the large size to the
 * small one (about 1 when linear).
 *
 * Usage: bench_files [files] [record MiB]   (defaults 16000, 128)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "tabledata/file_backend.h"

static char g_root[64];

static void rmtree(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
  if (system(cmd) != 0) fprintf(stderr, "bench: could not remove %s\n", g_root);
}

/* Seconds to build a static table over `dir` and learn its size. */
static double open_table(const char *dir, int64_t *rows) {
  td_error err;
  double t0 = now();
  td_file_backend *fb;
  check(td_file_backend_new(dir, NULL, &fb, &err), &err);
  td_service *svc;
  check(td_service_new(td_file_backend_backend(fb), NULL, &svc, &err), &err);
  td_table_key *k;
  check(td_table_key_new(td_file_backend_table_name(fb), &k, &err), &err);
  td_table *t;
  check(td_make_table(svc, k, NULL, &t, &err), &err);
  *rows = td_table_size(t);
  double s = now() - t0;
  td_table_release(t);
  td_table_key_release(k);
  td_service_free(svc);
  td_file_backend_release(fb);
  return s;
}

static double many_files(int64_t n) {
  char dir[128];
  snprintf(dir, sizeof dir, "%s/files%lld", g_root, (long long)n);
  mkdir(dir, 0755);
  for (int64_t i = 0; i < n; i++) {
    char p[256];
    snprintf(p, sizeof p, "%s/f%07lld.csv", dir, (long long)i);
    FILE *f = fopen(p, "w");
    if (!f) exit(1);
    fprintf(f, "x\n%lld\n", (long long)i);
    fclose(f);
  }
  int64_t rows;
  double s = open_table(dir, &rows);
  if (rows != n) fprintf(stderr, "bench: %lld rows, expected %lld\n", (long long)rows, (long long)n);
  return s;
}

static double long_record(int64_t mib) {
  char dir[128], p[256];
  snprintf(dir, sizeof dir, "%s/long%lld", g_root, (long long)mib);
  mkdir(dir, 0755);
  snprintf(p, sizeof p, "%s/f.csv", dir);
  FILE *f = fopen(p, "w");
  if (!f) exit(1);
  char *chunk = malloc(1 << 20);
  memset(chunk, 'a', 1 << 20);
  fputs("id,text\n1,", f);
  for (int64_t i = 0; i < mib; i++) fwrite(chunk, 1, 1 << 20, f);
  fputs("\n", f);
  fclose(f);
  free(chunk);
  int64_t rows;
  return open_table(dir, &rows);
}

int main(int argc, char **argv) {
  int64_t files = argc > 1 ? atoll(argv[1]) : 16000, mib = argc > 2 ? atoll(argv[2]) : 128;
  snprintf(g_root, sizeof g_root, "/tmp/td_bench_files.XXXXXX");
  if (!mkdtemp(g_root)) return 1;
  double a = many_files(files / 16), b = many_files(files);
  printf("files: %lld files in one directory open in %.3f s; %lld in %.3f s: per-file cost ratio %.2f\n",
         (long long)(files / 16), a, (long long)files, b, (b / (double)files) / (a / (double)(files / 16)));
  double c = long_record(mib / 16 ? mib / 16 : 1), d = long_record(mib);
  printf("csv: a %lld MiB record opens in %.3f s; %lld MiB in %.3f s: per-byte cost ratio %.2f\n",
         (long long)(mib / 16 ? mib / 16 : 1), c, (long long)mib, d, (d / (double)mib) / (c / (double)(mib / 16 ? mib / 16 : 1)));
  rmtree();
  return 0;
}
