/*
 * util/sys.c - online cores and spinning mutexes (see sys.h).
 */
#include "util/sys.h"

#include <unistd.h>

int td_online_cores(int max) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  return n > max ? max : (int)n;
}

void td_spin_mutex_init(pthread_mutex_t *m) {
  pthread_mutexattr_t a;
  if (pthread_mutexattr_init(&a) != 0) {
    pthread_mutex_init(m, NULL);
    return;
  }
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
  (void)pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
  pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
}
