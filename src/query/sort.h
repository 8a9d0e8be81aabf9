/*
 * query/sort.h - the ORDER BY kernel: a stable sort permutation over the
 * key columns of a materialized table.
 *
 * Ordering per key: numbers by value, utf8 bytewise (memcmp, shorter prefix
 * first), bool false < true, timestamps by instant; NaN sorts after every
 * other float.  Nulls come LAST for both ASC and DESC (DuckDB's default);
 * DESC reverses only the non-null order.  Ties keep input order (stable).
 */
#ifndef TD_QUERY_SORT_H
#define TD_QUERY_SORT_H

#include "query/expr.h"

typedef struct td_sort_key {
  const td_colview *col; /* at least n_rows rows */
  bool desc;
} td_sort_key;

/* Writes into perm[0..n_rows-1] the row indices in sorted order.  perm is
 * caller-owned.  TD_EINVAL for a column shorter than n_rows; TD_ENOMEM if the
 * merge buffer cannot be allocated. */
int td_sort_permutation(const td_sort_key *keys, int64_t n_keys, int64_t n_rows, int64_t *perm,
                        td_error *err);

/* Compares row i of the key columns `keys` with row j of the key columns
 * `other` (the same types, in the same order; other[k].desc is ignored) by
 * the rules above: < 0 when row i comes first, 0 when they tie. */
int td_sort_compare(const td_sort_key *keys, int64_t n_keys, int64_t i, const td_sort_key *other, int64_t j);

/* td_sort_permutation over the given rows: rows[0..n) rearranged into the
 * sorted order (ties keep their order in rows).  tmp: room for n rows. */
void td_sort_rows(const td_sort_key *keys, int64_t n_keys, int64_t *rows, int64_t n, int64_t *tmp);

/* A hash of row `row` of the key columns: rows that tie under
 * td_sort_compare on every key hash alike (nulls alike, -0 as 0, every NaN
 * alike). */
uint64_t td_sort_hash(const td_sort_key *keys, int64_t n_keys, int64_t row);

/* Codes of one key (what the radix pass of a large sort orders by): a
 * 64-bit code per row whose unsigned order is the key's order (DESC
 * applied, nulls last) wherever two codes differ.  Equal codes tie exactly
 * for numbers, booleans and temporals and for strings of at most seven
 * bytes; a null's code is UINT64_MAX, which one value of some types shares.
 * td__sort_has_codes: the key's type has codes (not decimal128);
 * td__sort_codes writes the codes of rows 0..n of k->col into code[0..n);
 * td__sort_code_exact: rows whose codes both equal `code` tie on a key of
 * a varlen (string, binary) type or not, descending or not (false for
 * UINT64_MAX and for strings longer than seven bytes). */
bool td__sort_has_codes(const td_colview *c);
void td__sort_codes(const td_sort_key *k, int64_t n, uint64_t *code);
static inline bool td__sort_code_exact(bool varlen, bool desc, uint64_t code) {
  return code != UINT64_MAX && (!varlen || ((desc ? ~code : code) & 0xff) < 8);
}

#endif
