/*
 * util/sys.h - small facts about the system every layer asks for: how many
 * cores are online, a timespec as nanoseconds, the kind of mutex the shared
 * caches use, and how helper threads are started.
 */
#ifndef TD_UTIL_SYS_H
#define TD_UTIL_SYS_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Online cores, between 1 and `max` (sysconf reads sysfs: tens of us, so
 * callers ask only when they need it). */
int td_online_cores(int max);

/* t as nanoseconds since its epoch. */
static inline int64_t td_timespec_ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

/* The locks that every read of every worker takes for a moment (the page
 * cache, the readers' caches, the descriptor pool, a file backend's index):
 * a thread that finds one held spins briefly before it sleeps (glibc's
 * adaptive mutex).  With many small reads two workers meet on them
 * constantly, and a plain mutex puts the second through the scheduler each
 * time (10,000 tiny locations, 2 workers: ~1,250 sleeps each, the parallel
 * read slower than one thread's). */
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#define TD_SPIN_MUTEX_INITIALIZER PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#else
#define TD_SPIN_MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#endif
void td_spin_mutex_init(pthread_mutex_t *m);

/* pthread_create(t, NULL, fn, arg) for the library's worker and helper
 * threads, started on another CPU than the caller's.  A new thread is
 * queued on its creator's CPU and can wait there behind the creator (which
 * goes on working) until the scheduler moves it: on these VMs the second
 * worker of a 10 ms scan started 0.05-4.3 ms after it was asked for, half
 * the time after more than 1 ms.  So (Linux) the thread is created allowed
 * on the caller's CPUs but the one the caller runs on, and takes the
 * caller's whole set back before it calls fn; afterwards the scheduler may
 * move it anywhere, and a caller allowed on one CPU changes nothing.
 * Returns pthread_create's result (0: started). */
int td_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
