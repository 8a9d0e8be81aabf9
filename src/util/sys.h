/*
 * util/sys.h - small facts about the system every layer asks for: how many
 * cores are online, and a timespec as nanoseconds.
 */
#ifndef TD_UTIL_SYS_H
#define TD_UTIL_SYS_H

#include <stdint.h>
#include <time.h>

/* Online cores, between 1 and `max` (sysconf reads sysfs: tens of us, so
 * callers ask only when they need it). */
int td_online_cores(int max);

/* t as nanoseconds since its epoch. */
static inline int64_t td_timespec_ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

#endif
