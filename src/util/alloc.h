/*
 * util/alloc.h - the one allocation funnel of the library.
 *
 * Every library allocation goes through td_malloc/td_calloc/td_realloc so that
 * tests can make the N-th allocation fail (td__alloc_fail_after) and prove
 * that error paths release what they took.  The failure switch is a test hook,
 * not configuration; it is process-wide and defaults to "never fail".
 */
#ifndef TD_UTIL_ALLOC_H
#define TD_UTIL_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *td_malloc(size_t size);
void *td_calloc(size_t n, size_t size);
void *td_realloc(void *ptr, size_t size);
void td_free(void *ptr);
char *td_strdup(const char *s);
char *td_strndup(const char *s, size_t n);
/* A block for long-lived bulk data (freed with td_free), its pages mapped
 * now rather than faulted in one at a time on first write (page aligned,
 * MADV_POPULATE_WRITE).  On a system without that advice it is an ordinary
 * allocation.  No block asks for transparent huge pages: on a VM whose free
 * memory goes back to the host, a fresh huge page cost 3-14 ms a MiB to
 * fault in, a 4 KiB one about 1 (docs/DESIGN.md, "Huge pages"). */
void *td_malloc_pages(size_t size);

/* td_calloc for a table that is probed (read before written: hash tables).
 * From 256 KiB its pages are mapped writable now (MADV_POPULATE_WRITE): a
 * fresh page read first maps the shared zero page, and the write after it
 * copies the page and flushes the TLB of every CPU running the process, an
 * interrupt a page when threads share the work.  Free it with td_free. */
void *td_calloc_probed(size_t n, size_t size);

/* A growable block for a large array that grows often (an aggregation's
 * per-group arrays): *p (NULL: none yet) grows or shrinks to `size` bytes,
 * its contents kept and any new bytes zero; TD_OK, or -1 with *p untouched
 * when memory runs out.  From 1 MiB on the block is a mapping of its own
 * that grows with mremap: no copy, and no freed
 * smaller copy left behind in the heap, already faulted in, for nothing to
 * reuse.  Free it with td_free_block only (NULL is ignored). */
int td_grow_block(void **p, size_t size);
/* td_grow_block for a probed array (read before written: a direct map):
 * its new bytes are written now (zero), so their pages are mapped
 * writable, for the reason td_calloc_probed gives. */
int td_grow_block_probed(void **p, size_t size);
void td_free_block(void *p);

/* Test hook: the next `n` allocations succeed, every later one fails, until
 * called again with n < 0 (never fail).  Returns how many allocations were
 * made since the previous call (0 at the first: allocations are counted
 * only once a test has called it). */
int64_t td__alloc_fail_after(int64_t n);

#endif
