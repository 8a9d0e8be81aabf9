/*
 * util/sys.c - online cores, spinning mutexes and starting threads (see
 * sys.h).
 */
#include "util/sys.h"

#include <sched.h>
#include <unistd.h>

#include "util/alloc.h"

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

#ifdef CPU_SETSIZE
typedef struct away_start {
  void *(*fn)(void *);
  void *arg;
  cpu_set_t home; /* the caller's CPUs, taken back by the new thread */
} away_start;

static void *start_home(void *v) {
  away_start a = *(away_start *)v;
  td_free(v);
  (void)pthread_setaffinity_np(pthread_self(), sizeof a.home, &a.home);
  return a.fn(a.arg);
}
#endif

int td_thread_start(pthread_t *t, void *(*fn)(void *), void *arg) {
#ifdef CPU_SETSIZE
  cpu_set_t home;
  int here = sched_getcpu();
  if (here >= 0 && here < CPU_SETSIZE && pthread_getaffinity_np(pthread_self(), sizeof home, &home) == 0 &&
      CPU_ISSET(here, &home) && CPU_COUNT(&home) > 1) {
    away_start *a = td_malloc(sizeof *a); /* (the thread frees it) */
    pthread_attr_t attr;
    if (a && pthread_attr_init(&attr) == 0) {
      *a = (away_start){fn, arg, home};
      cpu_set_t away = home;
      CPU_CLR(here, &away);
      int rc = pthread_attr_setaffinity_np(&attr, sizeof away, &away) == 0 ? pthread_create(t, &attr, start_home, a) : -1;
      pthread_attr_destroy(&attr);
      if (rc == 0) return 0;
    }
    td_free(a); /* no memory or no attributes: started as usual */
  }
#endif
  return pthread_create(t, NULL, fn, arg);
}
