/*
 * util/sys.h - small facts about the system every layer asks for: how many
 * cores are online, a timespec as nanoseconds, and the kind of mutex the
 * shared caches use.
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

#endif
