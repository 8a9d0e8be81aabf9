/*
 * tests/formats/parquet/jsonl.h - loading DuckDB's JSON-lines readings and
 * the *_expect.csv files, and comparing reader output against them.
 */
#ifndef TD_TEST_PARQUET_JSONL_H
#define TD_TEST_PARQUET_JSONL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "arrow/array.h"

/* One JSON object per line (DuckDB's NaN/Infinity tokens become strings).
 * Returns a JSON array of the rows, or NULL when the file is missing. */
json_t *jsonl_load(const char *path);

/* A CSV file with a header as a JSON array of objects whose values are
 * strings (null for an empty unquoted field).  NULL when missing. */
json_t *csv_load(const char *path);

/* Compares row i of `v` with the expected JSON value; on mismatch writes a
 * description into msg and returns false.  *skipped is set when the expected
 * value cannot be represented (a timestamp outside the nanosecond range). */
bool value_matches(const td_colview *v, int64_t i, const json_t *want, bool from_csv,
                   char *msg, size_t msg_size, bool *skipped);

#endif
