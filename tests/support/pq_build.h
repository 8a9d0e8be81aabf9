/*
 * tests/support/pq_build.h - writes small (or adversarial) Parquet files for
 * tests at run time: one flat column, one row group, uncompressed v1 data
 * pages, PLAIN or RLE_DICTIONARY encoded, with or without an offset index,
 * and row counts that may lie.  Thrift compact encoding is done by hand so
 * tests need no Parquet library.
 */
#ifndef TD_TEST_PQ_BUILD_H
#define TD_TEST_PQ_BUILD_H

#include <stdbool.h>
#include <stdint.h>

typedef struct pqb_spec {
  const char *name;   /* column name ("x" when NULL) */
  int phys;           /* 1 INT32, 2 INT64 (Parquet physical type) */
  int converted;      /* converted type (6 DATE, 9 TIMESTAMP_MILLIS...), -1 none */
  int64_t rows;       /* rows of the column */
  int64_t page_rows;  /* rows per data page */
  const int64_t *values; /* PLAIN values (rows of them), or NULL: x = row */
  bool dict_constant; /* RLE_DICTIONARY pages: every row is `constant` */
  int64_t constant;
  bool offset_index;  /* write an OffsetIndex for the chunk */
  int64_t claim_rows; /* > 0: the row group and file claim this many rows */
} pqb_spec;

/* Writes the file; returns 0, or -1 (errno set) when writing failed. */
int pqb_write(const char *path, const pqb_spec *s);

/* Thrift compact writing, for tests that build their own footers. */
typedef struct pqb_buf {
  uint8_t *p;
  int64_t n, cap;
} pqb_buf;
void pqb_put(pqb_buf *b, const void *src, int64_t n);
void pqb_byte(pqb_buf *b, uint8_t v);
void pqb_varint(pqb_buf *b, uint64_t v);
/* Field header (id delta from *last) of compact type `type`. */
void pqb_field(pqb_buf *b, int16_t *last, int16_t id, int type);
void pqb_i64(pqb_buf *b, int16_t *last, int16_t id, int type, int64_t v);
void pqb_str(pqb_buf *b, int16_t *last, int16_t id, const char *s);
/* List header: n elements of compact type `elem`. */
void pqb_list(pqb_buf *b, int16_t *last, int16_t id, int64_t n, int elem);
void pqb_free(pqb_buf *b);
/* Writes data + footer + length + PAR1 around footer bytes `meta`. */
int pqb_write_raw(const char *path, const uint8_t *data, int64_t n_data, const uint8_t *meta, int64_t n_meta);

#endif
