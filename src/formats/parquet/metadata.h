/*
 * formats/parquet/metadata.h - Parquet's footer (FileMetaData), page headers
 * and offset index, decoded from Thrift into plain structs.
 *
 * Binary fields (names, statistics) point into the buffer they were decoded
 * from, which the caller keeps alive.  Only the fields the reader uses are
 * kept; everything else is skipped.
 */
#ifndef TD_PARQUET_METADATA_H
#define TD_PARQUET_METADATA_H

#include <stdbool.h>
#include <stdint.h>

#include "tabledata/error.h"

/* Physical types, converted types, encodings, codecs, page types. */
enum { PQ_BOOLEAN, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_FLBA };
enum {
  PQ_CT_UTF8 = 0, PQ_CT_MAP = 1, PQ_CT_MAP_KEY_VALUE = 2, PQ_CT_LIST = 3, PQ_CT_ENUM = 4,
  PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIME_MILLIS = 7, PQ_CT_TIME_MICROS = 8,
  PQ_CT_TIMESTAMP_MILLIS = 9, PQ_CT_TIMESTAMP_MICROS = 10, PQ_CT_UINT_8 = 11,
  PQ_CT_UINT_16 = 12, PQ_CT_UINT_32 = 13, PQ_CT_UINT_64 = 14, PQ_CT_INT_8 = 15,
  PQ_CT_INT_16 = 16, PQ_CT_INT_32 = 17, PQ_CT_INT_64 = 18, PQ_CT_JSON = 19, PQ_CT_BSON = 20,
  PQ_CT_INTERVAL = 21
};
/* LogicalType union members (their Thrift field ids). */
enum {
  PQ_LT_NONE = 0, PQ_LT_STRING = 1, PQ_LT_MAP = 2, PQ_LT_LIST = 3, PQ_LT_ENUM = 4,
  PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIME = 7, PQ_LT_TIMESTAMP = 8, PQ_LT_INTEGER = 10,
  PQ_LT_UNKNOWN = 11, PQ_LT_JSON = 12, PQ_LT_BSON = 13, PQ_LT_UUID = 14, PQ_LT_FLOAT16 = 15,
  PQ_LT_VARIANT = 16, PQ_LT_GEOMETRY = 17, PQ_LT_GEOGRAPHY = 18
};
enum { PQ_UNIT_NONE, PQ_UNIT_MILLIS, PQ_UNIT_MICROS, PQ_UNIT_NANOS };
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
enum {
  PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
  PQ_ENC_DELTA_BINARY_PACKED = 5, PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
  PQ_ENC_DELTA_BYTE_ARRAY = 7, PQ_ENC_RLE_DICTIONARY = 8, PQ_ENC_BYTE_STREAM_SPLIT = 9
};
enum {
  PQ_CODEC_UNCOMPRESSED = 0, PQ_CODEC_SNAPPY = 1, PQ_CODEC_GZIP = 2, PQ_CODEC_LZO = 3,
  PQ_CODEC_BROTLI = 4, PQ_CODEC_LZ4 = 5, PQ_CODEC_ZSTD = 6, PQ_CODEC_LZ4_RAW = 7
};
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };

typedef struct pq_logical {
  int kind;     /* PQ_LT_* */
  int unit;     /* TIME/TIMESTAMP */
  bool utc;     /* TIME/TIMESTAMP isAdjustedToUTC */
  int bit_width; /* INTEGER */
  bool is_signed;
  int scale, precision; /* DECIMAL */
} pq_logical;

typedef struct pq_schema_elem {
  int type; /* physical type, or -1 for groups */
  int32_t type_length;
  int repetition; /* PQ_REQUIRED when absent */
  char *name;     /* NUL-terminated, in pq_file_meta.names */
  int32_t num_children;
  int converted; /* -1 when absent */
  int32_t scale, precision;
  pq_logical logical;
} pq_schema_elem;

typedef struct pq_stats {
  const uint8_t *min, *max; /* NULL when absent */
  int32_t min_len, max_len;
  bool legacy;              /* from the deprecated min/max fields */
  int64_t null_count;       /* -1 when absent */
  int64_t nan_count;        /* field 9 (float columns); -1 when absent: NaN may be present */
} pq_stats;

typedef struct pq_column_chunk {
  bool has_meta;
  int type;
  int codec;
  int64_t num_values;
  int64_t total_uncompressed_size, total_compressed_size;
  int64_t data_page_offset;
  int64_t dictionary_page_offset; /* -1 when absent */
  int64_t offset_index_offset;    /* -1 when absent */
  int32_t offset_index_length;
  int64_t column_index_offset;    /* -1 when absent */
  int32_t column_index_length;
  pq_stats stats;
} pq_column_chunk;

typedef struct pq_row_group {
  int64_t num_rows;
  int64_t first_row; /* computed: rows before this group */
  int32_t n_columns;
  pq_column_chunk *columns;
} pq_row_group;

typedef struct pq_file_meta {
  int64_t num_rows;
  int32_t n_schema;
  pq_schema_elem *schema;
  char *names; /* the schema's names, one arena */
  int32_t n_row_groups;
  pq_row_group *row_groups;
  const uint8_t *created_by; /* into the footer buffer; NULL when absent */
  int32_t created_by_len;
  /* The "ARROW:schema" key-value (base64 of an Arrow IPC Schema message,
   * which pyarrow and Polars write): into the footer buffer; NULL when absent. */
  const uint8_t *arrow_schema;
  int32_t arrow_schema_len;
} pq_file_meta;

/* Decodes FileMetaData from buf[0..n).  On error: TD_EFORMAT describing
 * what was wrong (without the file name; the caller prefixes it). */
int pq_meta_parse(const uint8_t *buf, int64_t n, pq_file_meta *out, td_error *err);
void pq_meta_free(pq_file_meta *m);

typedef struct pq_page_header {
  int type;
  int32_t uncompressed_size, compressed_size;
  int32_t num_values; /* data pages (v1, v2) and dictionary pages */
  int encoding;
  int def_encoding; /* v1 */
  int32_t num_nulls, num_rows; /* v2 */
  int32_t def_len, rep_len;    /* v2 */
  bool is_compressed;          /* v2 (default true) */
} pq_page_header;

/* Decodes a page header from buf[0..n); *used receives its size. */
int pq_page_header_parse(const uint8_t *buf, int64_t n, pq_page_header *out, int64_t *used,
                         td_error *err);

typedef struct pq_page_location {
  int64_t offset;
  int32_t size;
  int64_t first_row;
} pq_page_location;

/* A ColumnIndex (the page index's statistics): per page, whether it holds
 * only nulls, its min and max (pointing into the decoded buffer) and its
 * null count (-1 when absent). */
typedef struct pq_page_stats {
  bool null_page;
  const uint8_t *min, *max;
  int32_t min_len, max_len;
  int64_t null_count;
} pq_page_stats;

/* Decodes a ColumnIndex; *pages is td_malloc'ed. */
int pq_column_index_parse(const uint8_t *buf, int64_t n, pq_page_stats **pages, int64_t *n_pages,
                          td_error *err);

/* Decodes an OffsetIndex; *locs is td_malloc'ed. */
int pq_offset_index_parse(const uint8_t *buf, int64_t n, pq_page_location **locs,
                          int64_t *n_locs, td_error *err);

#endif
