/*
 * query/join.h - what the SQL planner needs of the join operators beyond
 * tabledata/join.h.
 */
#ifndef TD_QUERY_JOIN_H
#define TD_QUERY_JOIN_H

#include <stdbool.h>

#include "tabledata/join.h"

/* td_table_aj (reverse: td_table_raj); `inner` drops the left rows without
 * a match (SQL's ASOF JOIN; ASOF LEFT JOIN keeps them, as aj does). */
int td__asof_join(td_table *left, td_table *right, const char *const *keys, int64_t n_keys, const char *on,
                  bool reverse, bool inner, td_table **out, td_error *err);

/* Chunks whose dictionary-encoded key static joins probed through its
 * entries (every join of the process, for tests). */
int64_t td__join_dict_chunks(void);
/* Right string columns static joins handed on as codes (a column of a
 * result chunk each; every join of the process, for tests). */
int64_t td__join_right_codes(void);

#endif
