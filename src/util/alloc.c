/*
 * util/alloc.c - allocation funnel with a fault-injection switch for tests.
 */
#include "util/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static _Atomic int64_t fail_budget = -1; /* < 0: never fail */
static _Atomic int64_t alloc_count = 0;

static int should_fail(void) {
  atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
  int64_t b = atomic_load_explicit(&fail_budget, memory_order_relaxed);
  if (b < 0) return 0;
  while (b > 0) {
    if (atomic_compare_exchange_weak(&fail_budget, &b, b - 1)) return 0;
    if (b < 0) return 0;
  }
  return 1;
}

void *td_malloc(size_t size) {
  if (should_fail()) return NULL;
  return malloc(size ? size : 1);
}

void *td_calloc(size_t n, size_t size) {
  if (should_fail()) return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

void *td_realloc(void *ptr, size_t size) {
  if (should_fail()) return NULL;
  return realloc(ptr, size ? size : 1);
}

void td_free(void *ptr) { free(ptr); }

void *td_malloc_pages(size_t size) {
  if (should_fail()) return NULL;
  enum { PAGE = 4096, HUGE = 2 << 20 };
  size_t align = size >= HUGE ? HUGE : PAGE;
  size = (size + align - 1) / align * align;
  void *p = NULL;
  if (posix_memalign(&p, align, size ? size : align) != 0) return NULL;
  /* advice only: failures (an older kernel, huge pages off) change nothing */
#ifdef MADV_HUGEPAGE
  if (align == HUGE) (void)madvise(p, size, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
  (void)madvise(p, size, MADV_POPULATE_WRITE);
#endif
  return p;
}

char *td_strndup(const char *s, size_t n) {
  char *r = td_malloc(n + 1);
  if (!r) return NULL;
  memcpy(r, s, n);
  r[n] = '\0';
  return r;
}

char *td_strdup(const char *s) { return td_strndup(s, strlen(s)); }

int64_t td__alloc_fail_after(int64_t n) {
  atomic_store(&fail_budget, n);
  return atomic_exchange(&alloc_count, 0);
}
