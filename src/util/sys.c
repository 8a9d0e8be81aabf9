/*
 * util/sys.c - online cores (see sys.h).
 */
#include "util/sys.h"

#include <unistd.h>

int td_online_cores(int max) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  return n > max ? max : (int)n;
}
