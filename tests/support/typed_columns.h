/*
 * tests/support/typed_columns.h - a deterministic table of every engine type
 * (bool, int8, int16, int32, int64, uint16, float32, float64, utf8,
 * timestamp with tz UTC) for the file writer tests: columns for any row
 * range (with nulls at fixed rows unless td_test_with_nulls is false, and
 * optionally hidden behind an offset), and a check that a file reader gives
 * back exactly those values.
 */
#ifndef TD_TEST_TYPED_COLUMNS_H
#define TD_TEST_TYPED_COLUMNS_H

#include <stdbool.h>
#include <stdint.h>

#include "arrow/schema.h"
#include "formats/reader.h"
#include "tabledata/arrow_abi.h"

#define TD_TEST_NCOLS 10
extern const td_type_id td_test_types[TD_TEST_NCOLS];
extern bool td_test_with_nulls; /* default true */

/* Fields b, i8, i16, i32, i64, u16, f32, f64, s, ts (tz UTC). */
void td_test_schema(td_schema *s, bool nullable);
bool td_test_is_null(int col, int64_t row);
/* The integer behind row `row` of column `col` (floats hold it / 4). */
int64_t td_test_value(int col, int64_t row);
/* Column `col` for rows [row0, row0 + n), behind `skip` junk rows of offset. */
struct ArrowArray td_test_column(int col, int64_t row0, int64_t n, int64_t skip);
/* A record batch of every column for rows [row0, row0 + n). */
struct ArrowArray td_test_batch(int64_t row0, int64_t n, int64_t skip);
/* Asserts that the reader's rows [offset, offset + n) are the table's. */
void td_test_check_rows(td_file_reader *r, int64_t offset, int64_t n);

#endif
