/*
 * pages/cache.h - the page cache shared by all tables of a service.
 *
 * A page is rows [p * page_size, (p + 1) * page_size) of one column of one
 * location.  The cache maps (location id, column, page) to the page's data,
 * an immutable td_page_data that holds the first `rows` rows of the page.
 * Growing a page (the tail page of a growing location) replaces its data with
 * a longer one; readers holding the old data keep using it safely.
 *
 * What a page keeps alive: page data is often a zero-copy view of a bigger
 * array (a backend's chunk, a decoded file segment, a foreign buffer sliced
 * at an offset).  Each page data names its *root*, the memory it keeps
 * alive, with that memory's size: the shared array behind a view (its known
 * size, or for a flat array what its rows reach), else the page's own
 * array from the start of its buffers.  The cache charges each distinct
 * root once, while any cached page refers to it.  A page whose root is not
 * held yet and is more than TD_PAGE_COMPACT_RATIO times the page's own size
 * is copied into a compact array first, so a few rows never pin a big
 * buffer.
 *
 * Invariants:
 *  1. At most one fill per page runs at a time (single flight): a reader that
 *     finds a page being filled waits for that fill instead of starting one.
 *  2. bytes_held == the sum of the sizes of the distinct roots of the data
 *     the cache references, and after every insertion bytes_held <= budget,
 *     unless the only pages left are being filled (pages are evicted least
 *     recently used first, as many as it takes).
 *  4. Scan resistance (2Q): a new page enters the probationary segment; a
 *     page read again (a hit, a grown tail page, or a miss on a key that
 *     probation evicted recently, a "ghost") is in the main segment.  The
 *     roots no main page refers to stay within budget / 16 after every
 *     insertion, and probationary pages are evicted before main ones, so a
 *     one-pass scan neither fills the budget nor evicts pages read repeatedly.
 *  3. Data handed to a reader stays valid until the reader releases it, even
 *     if the page is evicted or grown meanwhile (reference counts).
 */
#ifndef TD_PAGES_CACHE_H
#define TD_PAGES_CACHE_H

#include <stdatomic.h>
#include <stdint.h>

#include "arrow/array.h"
#include "tabledata/service.h"

typedef struct td_page_cache td_page_cache;

#define TD_PAGE_COMPACT_RATIO 16
/* The probationary segment holds at most budget / TD_PAGE_PROBATION_DIV
 * bytes, and never more than TD_PAGE_PROBATION_MAX (1 MiB: a page or two
 * of a one-pass scan, so that its peak memory is what it reads at once
 * rather than a share of the budget, and freed pages are reused while
 * they are still in the caches instead of faulting in new memory); up to
 * budget / TD_PAGE_GHOST_BYTES (at least 256) keys of pages it evicted are
 * remembered, so that a page read again soon enters the main segment
 * directly. */
#define TD_PAGE_PROBATION_DIV 16
#define TD_PAGE_PROBATION_MAX ((int64_t)1 << 20)
#define TD_PAGE_GHOST_BYTES (64 * 1024)

typedef struct td_page_data {
  _Atomic int64_t refs;
  td_shared_array *owner; /* keeps the array alive; views share it */
  const struct ArrowArray *array;
  td_colview view;
  td_type_id type;
  int64_t rows;
  int64_t bytes;          /* the page's own rows, as a compact array would hold them */
  const void *root;       /* identity of the memory it keeps alive */
  int64_t root_bytes;     /* and its size */
  /* A dictionary-encoded utf8 page (arrow/dict.h): view has codes and
   * points at dict; root_bytes also counts the dictionary's entries. */
  struct td_dict *dict;
} td_page_data;

/* Fills or grows a page: given the rows already held (`have`, NULL when the
 * page is new), produce data holding at least the rows the caller needs.
 * Runs without cache locks held. */
typedef int (*td_page_fill_fn)(void *ctx, const td_page_data *have, td_page_data **out,
                               td_error *err);

int td_page_cache_new(int64_t budget_bytes, td_page_cache **out, td_error *err);
void td_page_cache_free(td_page_cache *c);
/* Returns (retained) data of page (loc, col, page) with at least `need_rows`
 * rows, filling it through `fill` if needed. */
int td_page_cache_get(td_page_cache *c, uint64_t loc, int64_t col, int64_t page, int64_t need_rows,
                      td_page_fill_fn fill, void *ctx, td_page_data **out, td_error *err);
/* The data of page (loc, col, page) when the cache holds at least
 * `need_rows` rows of it (retained, counted as a hit), else NULL: nothing
 * is filled or waited for. */
td_page_data *td_page_cache_peek(td_page_cache *c, uint64_t loc, int64_t col, int64_t page, int64_t need_rows);
void td_page_cache_stats(td_page_cache *c, td_counters *out);
/* Drops every cached page of location `loc` (a removed location), in both
 * segments, and its ghost keys; data
 * handed out stays valid (invariant 3).  A page being filled is left to
 * finish and is evicted like any other.  Returns the pages dropped. */
int64_t td_page_cache_drop_location(td_page_cache *c, uint64_t loc);

/* Page data: create from an array of `type` (taken), retain, release.  A
 * utf8 dictionary array (checked by the caller) keeps its codes and a
 * td_dict: the one its dictionary carries when a reader of this library
 * made it (td_dict_export), else a new one over the array's dictionary. */
int td_page_data_new(td_type_id type, struct ArrowArray *array, td_page_data **out, td_error *err);
td_page_data *td_page_data_retain(td_page_data *d);
void td_page_data_release(td_page_data *d);

#endif
