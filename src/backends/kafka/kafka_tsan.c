/*
 * backends/kafka/kafka_tsan.c - built only under ThreadSanitizer
 * (TD_SANITIZE=thread): C11 <threads.h> over pthreads, so that TSan sees
 * librdkafka's threads and locks.
 *
 * Debian's librdkafka uses glibc's C11 threads (thrd_create, mtx_lock,
 * cnd_wait ...), which reach glibc's pthread code internally, past TSan's
 * interceptors (GCC 12's libtsan has none for <threads.h>): TSan knows
 * neither the threads (it crashes when one calls an intercepted function)
 * nor the locks (false races on data handed between librdkafka's threads
 * and ours).  Defined here, these functions interpose glibc's (a program's
 * or libtabledata's definitions come first in symbol lookup) and call the
 * pthread functions TSan intercepts.  glibc's mtx_t and cnd_t have the
 * layout of pthread_mutex_t and pthread_cond_t (its own mtx_lock casts).
 * Not library logic: the thread start record uses malloc, not the funnel.
 * The functions are exported (libtabledata is built with hidden
 * visibility), and kafka_backend.c calls td__kafka_tsan_shim so that a
 * static link keeps this object.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "glibc's mtx_t is a pthread_mutex_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "glibc's cnd_t is a pthread_cond_t");
_Static_assert(sizeof(thrd_t) == sizeof(pthread_t), "glibc's thrd_t is a pthread_t");

#define SHIM __attribute__((visibility("default")))

void td__kafka_tsan_shim(void);
void td__kafka_tsan_shim(void) {}

static int thrd_code(int rc) {
  switch (rc) {
    case 0: return thrd_success;
    case ENOMEM: return thrd_nomem;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    default: return thrd_error;
  }
}

typedef struct thrd_start_rec {
  thrd_start_t fn;
  void *arg;
} thrd_start_rec;

static void *thrd_trampoline(void *p) {
  thrd_start_rec s = *(thrd_start_rec *)p;
  free(p);
  return (void *)(intptr_t)s.fn(s.arg);
}

SHIM int thrd_create(thrd_t *thr, thrd_start_t func, void *arg) {
  thrd_start_rec *s = malloc(sizeof *s);
  if (!s) return thrd_nomem;
  s->fn = func;
  s->arg = arg;
  pthread_t t;
  int rc = pthread_create(&t, NULL, thrd_trampoline, s);
  if (rc) {
    free(s);
    return thrd_code(rc);
  }
  *thr = (thrd_t)t;
  return thrd_success;
}

SHIM int thrd_join(thrd_t thr, int *res) {
  void *r;
  int rc = pthread_join((pthread_t)thr, &r);
  if (rc == 0 && res) *res = (int)(intptr_t)r;
  return thrd_code(rc);
}

SHIM int thrd_detach(thrd_t thr) { return thrd_code(pthread_detach((pthread_t)thr)); }

SHIM void thrd_exit(int res) { pthread_exit((void *)(intptr_t)res); }

SHIM int mtx_init(mtx_t *m, int type) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  if (type & mtx_recursive) pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  int rc = pthread_mutex_init((pthread_mutex_t *)m, &a);
  pthread_mutexattr_destroy(&a);
  return thrd_code(rc);
}

SHIM int mtx_lock(mtx_t *m) { return thrd_code(pthread_mutex_lock((pthread_mutex_t *)m)); }
SHIM int mtx_trylock(mtx_t *m) { return thrd_code(pthread_mutex_trylock((pthread_mutex_t *)m)); }
SHIM int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts) {
  return thrd_code(pthread_mutex_timedlock((pthread_mutex_t *)m, ts));
}
SHIM int mtx_unlock(mtx_t *m) { return thrd_code(pthread_mutex_unlock((pthread_mutex_t *)m)); }
SHIM void mtx_destroy(mtx_t *m) { pthread_mutex_destroy((pthread_mutex_t *)m); }

SHIM int cnd_init(cnd_t *c) { return thrd_code(pthread_cond_init((pthread_cond_t *)c, NULL)); }
SHIM int cnd_signal(cnd_t *c) { return thrd_code(pthread_cond_signal((pthread_cond_t *)c)); }
SHIM int cnd_broadcast(cnd_t *c) { return thrd_code(pthread_cond_broadcast((pthread_cond_t *)c)); }
SHIM int cnd_wait(cnd_t *c, mtx_t *m) { return thrd_code(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m)); }
SHIM int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts) {
  return thrd_code(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts));
}
SHIM void cnd_destroy(cnd_t *c) { pthread_cond_destroy((pthread_cond_t *)c); }
