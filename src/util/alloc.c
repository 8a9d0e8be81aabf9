/*
 * util/alloc.c - allocation funnel with a fault-injection switch for tests.
 */
#include "util/alloc.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

static _Atomic int64_t fail_budget = -1; /* < 0: never fail */
static _Atomic int64_t alloc_count = 0;
/* Set by the first td__alloc_fail_after: until then (always, outside
 * tests) an allocation only reads this flag, which no one writes.
 * Counting every allocation in one shared counter made the threads of a
 * parallel scan or aggregation that allocate at once pass its cache line
 * back and forth, for a count only tests read. */
static _Atomic bool armed = false;

static int should_fail(void) {
  if (!atomic_load_explicit(&armed, memory_order_relaxed)) return 0;
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

/* A block's header, before its bytes: its size and, for a mapping, the
 * mapping's length (0: a heap block). */
typedef struct block_head {
  size_t size, map;
  size_t pad[2]; /* the bytes stay 32-byte aligned */
} block_head;

enum { BLOCK_MAP_MIN = 1 << 20, BLOCK_STEP = 2 << 20 };

static block_head *head_of(void *p) { return p ? (block_head *)p - 1 : NULL; }

#if defined(__SANITIZE_THREAD__)
#define TD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TD_TSAN 1
#endif
#endif

#if defined(__linux__) && defined(MREMAP_MAYMOVE)
/* mremap, or under ThreadSanitizer a new mapping, a copy and munmap: the
 * sanitizer does not see a mapping move, so a block that later lands where
 * another thread's moved-away block was (each worker's own) looked like a
 * race with that thread's old accesses. */
static void *remap(void *old, size_t old_len, size_t len) {
#if defined(TD_TSAN)
  void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return m;
  memcpy(m, old, old_len < len ? old_len : len);
  (void)munmap(old, old_len);
  return m;
#else
  return mremap(old, old_len, len, MREMAP_MAYMOVE);
#endif
}
#endif

int td_grow_block(void **p, size_t size) {
  block_head *h = head_of(*p);
  const size_t old = h ? h->size : 0;
  if (should_fail() || size > SIZE_MAX - sizeof *h - BLOCK_STEP) return -1;
  const size_t need = sizeof *h + size;
#if defined(__linux__) && defined(MREMAP_MAYMOVE)
  if (size >= BLOCK_MAP_MIN || (h && h->map)) {
    const size_t len = (need + BLOCK_STEP - 1) / BLOCK_STEP * BLOCK_STEP;
    const bool heap = h && !h->map; /* h is gone once remapped */
    void *m;
    if (h && h->map) {
      m = len == h->map ? (void *)h : remap(h, h->map, len);
    } else {
      m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m != MAP_FAILED && h) memcpy((block_head *)m + 1, h + 1, old < size ? old : size);
    }
    if (m == MAP_FAILED) return -1;
    if (heap) free(h);
    h = m;
    /* bytes past `size` of a mapping stay zero: a shrink clears them */
    if (size < old && len > need) memset((char *)(h + 1) + size, 0, (old < len - sizeof *h ? old : len - sizeof *h) - size);
    h->size = size;
    h->map = len;
    *p = h + 1;
    return 0;
  }
#endif
  block_head *n = realloc(h, need);
  if (!n) return -1;
  if (size > old) memset((char *)(n + 1) + old, 0, size - old);
  n->size = size;
  n->map = 0;
  *p = n + 1;
  return 0;
}

int td_grow_block_probed(void **p, size_t size) {
  block_head *h = head_of(*p);
  const size_t old = h ? h->size : 0;
  if (td_grow_block(p, size)) return -1;
  h = head_of(*p);
  /* written, not MADV_POPULATE_WRITE: populating the map made a Parquet
   * 1M-group query's user time 120-150 ms longer at 1 thread (DESIGN.md
   * "Fresh memory and the result") */
  if (h->map && size > old) memset((char *)*p + old, 0, size - old);
  return 0;
}

void td_free_block(void *p) {
  block_head *h = head_of(p);
  if (!h) return;
#if defined(__linux__) && defined(MREMAP_MAYMOVE)
  if (h->map) {
    (void)munmap(h, h->map);
    return;
  }
#endif
  free(h);
}

enum { PAGE = 4096 };

/* Maps the whole pages inside [p, p + size) writable now.  Advice only: a
 * failure (an older kernel) changes nothing. */
static void populate_write(void *p, size_t size) {
  uintptr_t lo = ((uintptr_t)p + PAGE - 1) / PAGE * PAGE, hi = ((uintptr_t)p + size) / PAGE * PAGE;
#ifdef MADV_POPULATE_WRITE
  if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
  (void)lo, (void)hi;
#endif
}

void *td_malloc_pages(size_t size) {
  if (should_fail()) return NULL;
  size = (size + PAGE - 1) / PAGE * PAGE;
  void *p = NULL;
  if (posix_memalign(&p, PAGE, size ? size : PAGE) != 0) return NULL;
  populate_write(p, size);
  return p;
}

void *td_calloc_probed(size_t n, size_t size) {
  void *p = td_calloc(n, size);
  if (p && n * size >= (256 << 10)) populate_write(p, n * size);
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
  atomic_store(&armed, true);
  atomic_store(&fail_budget, n);
  return atomic_exchange(&alloc_count, 0);
}
