/*
 * formats/parquet/thrift.h - a bounds-checked decoder of the Thrift compact
 * protocol, just enough for Parquet's footer, page headers and page index.
 *
 * A tc_reader walks a byte range.  Every read checks the range; the first
 * failure latches `bad` (with a short reason) and later reads return zeros,
 * so callers test tc_ok() once after parsing a structure.
 */
#ifndef TD_PARQUET_THRIFT_H
#define TD_PARQUET_THRIFT_H

#include <stdbool.h>
#include <stdint.h>

enum {
  TC_STOP = 0,
  TC_TRUE = 1,
  TC_FALSE = 2,
  TC_BYTE = 3,
  TC_I16 = 4,
  TC_I32 = 5,
  TC_I64 = 6,
  TC_DOUBLE = 7,
  TC_BINARY = 8,
  TC_LIST = 9,
  TC_SET = 10,
  TC_MAP = 11,
  TC_STRUCT = 12
};

#define TC_MAX_DEPTH 32

typedef struct tc_reader {
  const uint8_t *p, *end, *begin;
  int depth;
  const char *bad; /* NULL while fine, else why decoding stopped */
} tc_reader;

static inline void tc_init(tc_reader *r, const uint8_t *p, int64_t n) {
  r->p = r->begin = p;
  r->end = p + n;
  r->depth = 0;
  r->bad = 0;
}
static inline bool tc_ok(const tc_reader *r) { return !r->bad; }
void tc_fail(tc_reader *r, const char *why);

uint64_t tc_varint(tc_reader *r);
int64_t tc_zigzag(tc_reader *r);
/* Next field of the current struct: returns false at STOP (or on error).
 * `last` is the previous field id of this struct (start at 0). */
bool tc_field(tc_reader *r, int16_t *last, int16_t *id, int *type);
/* Reads an integer field of any integer type (i8/i16/i32/i64). */
int64_t tc_int(tc_reader *r, int type);
bool tc_bool(tc_reader *r, int type);
/* Binary/string: pointer into the buffer and its length. */
const uint8_t *tc_binary(tc_reader *r, int type, int32_t *len);
/* List/set header: element type and count (checked against the bytes left). */
int64_t tc_list(tc_reader *r, int type, int *elem_type);
/* The same, for elements that take at least min_bytes (>= 1) each when
 * valid: callers that allocate per element pass the smallest valid encoding
 * so that memory stays proportional to the bytes (a 1-byte struct cannot
 * make a 100-byte element). */
int64_t tc_list_min(tc_reader *r, int type, int *elem_type, int64_t min_bytes);
/* Skips one value of `type` (recursively, depth-limited). */
void tc_skip(tc_reader *r, int type);
/* Struct nesting guard: call on entering / leaving a nested struct. */
bool tc_enter(tc_reader *r);
static inline void tc_leave(tc_reader *r) { r->depth--; }

#endif
