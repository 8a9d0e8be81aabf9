/*
 * pages/fetch.h - filling pages from the backend (spec 5).
 *
 * To fill page p of a location of size s, holding f rows of it already:
 *   offset   = p * page_size + f
 *   min_rows = min(s, (p + 1) * page_size) - offset
 *   max_rows = page_size - f
 * where s is the latest size the backend reported for the location.  A page
 * that grows keeps its f rows and appends the answer: held rows are never
 * fetched again.
 */
#ifndef TD_PAGES_FETCH_H
#define TD_PAGES_FETCH_H

#include "pages/cache.h"
#include "service/provider.h"

/* Data of page `page` of column `col` (a data column of the definition) of
 * `loc`, holding at least `need_rows` rows (retained; release it). */
int td_fetch_page(td_location *loc, int64_t col, int64_t page, int64_t need_rows, td_page_data **out,
                  td_error *err);

/* Rows [offset, offset + n) of column `col` of `loc` (inside its size),
 * from the cached page holding them when there is one (*first: the index
 * of row `offset` in the data), else asked of the backend for exactly
 * those rows and not cached (*first 0): a few rows a selective filter kept
 * need not bring whole pages in.  Retained; release it. */
int td_fetch_rows(td_location *loc, int64_t col, int64_t offset, int64_t n, td_page_data **out, int64_t *first,
                  td_error *err);

#endif
