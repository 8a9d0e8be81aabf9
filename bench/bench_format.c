/*
 * bench/bench_format.c - the cost of printing doubles: ns per value of
 * td_value_format (the shortest text that reads back as the value) on
 * bench-like prices (two decimals), random doubles of every magnitude
 * (random bit patterns) and float32 values.
 * usage: bench_format [values] [repeats]
 */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "bench_util.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1du;
}

/* Best of `repeats` loops over vals, in ns per value; *bytes gets the text length. */
static double run(const double *vals, int64_t n, td_type_id type, int repeats, uint64_t *bytes) {
  double best = 1e300;
  for (int r = 0; r < repeats; r++) {
    uint64_t total = 0;
    char buf[64];
    double t0 = now();
    for (int64_t i = 0; i < n; i++) {
      td_value v = {.type = type, .v.f = vals[i]};
      total += td_value_format(&v, buf, sizeof buf);
    }
    double dt = now() - t0;
    if (dt < best) best = dt;
    *bytes = total;
  }
  return best * 1e9 / (double)n;
}

int main(int argc, char **argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 10000000;
  int repeats = argc > 2 ? atoi(argv[2]) : 3;
  double *vals = malloc((size_t)n * sizeof *vals);
  if (!vals || n <= 0) return 1;
  printf("td_value_format of %" PRId64 " values (best of %d):\n", n, repeats);
  printf("values               ns/value   bytes/value\n");
  for (int kind = 0; kind < 3; kind++) {
    for (int64_t i = 0; i < n; i++) {
      uint64_t u = next();
      double d;
      if (kind == 0) { /* prices: 1.00 .. 999.99 in cents, as the bench data */
        d = (double)(100 + u % 99900) / 100.0;
      } else if (kind == 1) { /* any finite double */
        do {
          memcpy(&d, &u, sizeof d);
          u = next();
        } while (d != d || d - d != 0);
      } else { /* any finite float */
        float f;
        uint32_t w = (uint32_t)u;
        memcpy(&f, &w, sizeof f);
        while (f != f || f - f != 0) {
          w = (uint32_t)next();
          memcpy(&f, &w, sizeof f);
        }
        d = f;
      }
      vals[i] = d;
    }
    uint64_t bytes = 0;
    double ns = run(vals, n, kind == 2 ? TD_TYPE_FLOAT32 : TD_TYPE_FLOAT64, repeats, &bytes);
    static const char *names[] = {"prices (2 decimals)", "random doubles", "random float32"};
    printf("%-20s %9.1f %13.1f\n", names[kind], ns, (double)bytes / (double)n);
  }
  free(vals);
  return 0;
}
