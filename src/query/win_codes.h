/*
 * query/win_codes.h - internal: a string column read for the window
 * operator as int32 codes into one dictionary of its distinct values, so
 * that a PARTITION BY string costs 4 bytes a row (not the string) and is
 * hashed and compared as an integer.
 */
#ifndef TD_QUERY_WIN_CODES_H
#define TD_QUERY_WIN_CODES_H

#include "table/table.h"

/* Rows [begin, end) of the utf8 column `col` of src's snapshot `snap`:
 * *out (the caller releases it) a dictionary array of int32 codes into one
 * td_dict holding each distinct value once, in first-seen order; *view its
 * utf8 view (codes and dict set: operators above decode it when they read
 * it, td_scan); *key an int32 view of the same codes (nulls kept), equal
 * exactly when the strings are.  Pages that arrive as codes of their own
 * dictionaries are mapped once per dictionary.  TD_ENOMEM; TD_ERANGE past
 * 2^31 distinct values or 2 GiB of them. */
int td__read_codes(td_table *src, td_snapshot *snap, int64_t col, int64_t begin, int64_t end, struct ArrowArray *out,
                   td_colview *view, td_colview *key, td_error *err);

#endif
