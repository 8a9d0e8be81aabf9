/*
 * formats/parquet/encoding.h - Parquet value and level encodings, decoded
 * straight into td_array builders.
 *
 * Values of one page are decoded densely (non-null values only) into rows
 * [pos, pos + nn) of the destination array, converted from the physical type
 * to the column's engine type on the way (pq_colinfo.conv).  pq_scatter_nulls
 * then spreads them out over the page's rows using the definition levels.
 * String arrays must be filled in order (pos == rows written so far).
 */
#ifndef TD_PARQUET_ENCODING_H
#define TD_PARQUET_ENCODING_H

#include <stdbool.h>
#include <stdint.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "tabledata/error.h"

/* Physical -> engine conversions. */
enum {
  PQ_CV_BOOL,    /* BOOLEAN -> bool */
  PQ_CV_COPY4,   /* INT32 -> int32, FLOAT -> float32, DATE, TIME(MILLIS) */
  PQ_CV_COPY8,   /* INT64 -> int64, DOUBLE -> float64, TIMESTAMP and TIME of that unit */
  PQ_CV_I32_I8,  /* INT(8, signed) */
  PQ_CV_I32_I16, /* INT(16, signed) */
  PQ_CV_U8,      /* INT(8, unsigned) -> uint8 */
  PQ_CV_U16,     /* INT(16, unsigned) -> uint16 */
  PQ_CV_INT96,   /* INT96 -> timestamp ns */
  PQ_CV_F16,     /* FIXED_LEN_BYTE_ARRAY(2) half float -> float32 */
  PQ_CV_BYTES,   /* BYTE_ARRAY -> utf8 */
  /* Added later. */
  PQ_CV_DEC_I32,  /* INT32 + DECIMAL -> decimal128 */
  PQ_CV_DEC_I64,  /* INT64 + DECIMAL -> decimal128 */
  PQ_CV_DEC_FLBA, /* FIXED_LEN_BYTE_ARRAY(1..16) + DECIMAL (big-endian) -> decimal128 */
  PQ_CV_DEC_BYTES, /* BYTE_ARRAY + DECIMAL (big-endian, 1..16 bytes) -> decimal128 */
  PQ_CV_FLBA      /* FIXED_LEN_BYTE_ARRAY (no logical type, UUID) -> binary of that width */
};

typedef struct pq_colinfo {
  int phys;            /* PQ_BOOLEAN ... PQ_FLBA */
  int32_t type_length; /* FIXED_LEN_BYTE_ARRAY */
  int conv;            /* PQ_CV_* */
  td_type_id type;     /* engine type */
  int pw;              /* physical width in bytes; 0 for BOOLEAN, BYTE_ARRAY */
  bool text;           /* BYTE_ARRAY annotated as text: values must be UTF-8 */
  int precision, scale; /* decimal128 */
} pq_colinfo;

/* RLE / bit-packed hybrid decoder. */
typedef struct pq_rle {
  const uint8_t *p, *end;
  int bw;
  int64_t left;   /* values left in the current run */
  bool packed;
  uint32_t value; /* RLE run value */
  const uint8_t *data;
  int64_t data_bytes, idx; /* bit-packed run: bytes and next value index */
} pq_rle;

void pq_rle_init(pq_rle *d, const uint8_t *p, int64_t n, int bit_width);
/* Decodes exactly n values; false when the data runs out or is malformed. */
bool pq_rle_u32(pq_rle *d, uint32_t *out, int64_t n);

/* Whether RLE definition levels p[0..len) open with one run of at least
 * `rows` ones (every row of the page defined: no per-row flags needed); a
 * constant-time look at the first run header.  False for other encodings
 * or when unsure (pq_decode_levels then decodes them). */
bool pq_levels_all_defined(const uint8_t *p, int64_t len, int encoding, int64_t rows);
/* Definition levels of a flat column (max level 1) as 0/1 flags; counts the
 * defined values into *nn.  `encoding` is RLE or BIT_PACKED. */
int pq_decode_levels(const uint8_t *p, int64_t len, int encoding, int64_t rows, uint8_t *defined,
                     int64_t *nn, td_error *err);

/* Value decoders: nn values into rows [pos, pos+nn) of a.  A value that
 * cannot be represented is TD_ERANGE with a->length set to its index (pos +
 * its rank among the nn values), so the caller can name its row. */
int pq_decode_plain(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                    td_array *a, int64_t pos, td_error *err);
/* Dictionary indices of the nn defined rows among `rows` rows, gathered
 * straight into rows [pos, pos + rows): defined[i] == 0 marks row i null
 * (set in the validity bitmap here, no pq_scatter_nulls pass); defined may
 * be NULL when nn == rows. */
int pq_decode_dict(const pq_colinfo *ci, const td_array *dict, const uint8_t *p, int64_t len,
                   int64_t nn, int64_t rows, const uint8_t *defined, td_array *a, int64_t pos,
                   td_error *err);
/* As pq_decode_dict, for a dictionary of n_dict entries kept apart: the
 * indices themselves become the int32 rows (codes; null rows 0), checked
 * to be below n_dict, with no gather through the dictionary. */
int pq_decode_dict_codes(int64_t n_dict, const uint8_t *p, int64_t len, int64_t nn, int64_t rows,
                         const uint8_t *defined, td_array *a, int64_t pos, td_error *err);
/* Gives a string dictionary the padding pq_decode_dict's short-entry copies
 * read past its data; other types: nothing to do. */
int pq_dict_pad(td_array *dict, td_error *err);
int pq_decode_delta(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                    td_array *a, int64_t pos, td_error *err);
int pq_decode_delta_length(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                           td_array *a, int64_t pos, td_error *err);
int pq_decode_delta_byte_array(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                               td_array *a, int64_t pos, td_error *err);
int pq_decode_byte_stream_split(const pq_colinfo *ci, const uint8_t *p, int64_t len, int64_t nn,
                                td_array *a, int64_t pos, td_error *err);
int pq_decode_bool_rle(const uint8_t *p, int64_t len, int64_t nn, td_array *a, int64_t pos,
                       td_error *err);

/* Spreads the nn dense values at [pos, pos+nn) over rows [pos, pos+rows),
 * marking rows whose defined[i] == 0 null. */
int pq_scatter_nulls(td_array *a, int64_t pos, int64_t rows, int64_t nn, const uint8_t *defined,
                     td_error *err);
/* Sets the validity of rows [pos, pos + rows) from defined[] (creating the
 * bitmap), adding the null rows to a->null_count. */
int pq_put_validity(td_array *a, int64_t pos, int64_t rows, const uint8_t *defined, td_error *err);

/* Converts n physical values (packed little-endian at src) to engine values
 * at dst.  Not for BOOLEAN / BYTE_ARRAY.  Returns -1, or the index of the
 * first value that cannot be represented (a date or timestamp outside the
 * nanosecond range, 1677-2262): values are never wrapped. */
int64_t pq_convert(int conv, const uint8_t *src, int64_t n, void *dst);
/* Text for physical value i at src ("2932896 days since 1970-01-01"). */
void pq_describe_physical(int conv, const uint8_t *src, int64_t i, char *buf, size_t size);

#endif
