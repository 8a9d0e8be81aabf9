/*
 * tests/support/pq_build.c - a tiny Parquet writer for tests (see
 * pq_build.h): hand-encoded Thrift compact footers and page headers.
 */
#include "pq_build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_I32 = 5, T_I64 = 6, T_BIN = 8, T_LIST = 9, T_STRUCT = 12 };

void pqb_put(pqb_buf *b, const void *src, int64_t n) {
  if (b->n + n > b->cap) {
    int64_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->n + n) cap *= 2;
    b->p = realloc(b->p, (size_t)cap);
    if (!b->p) abort();
    b->cap = cap;
  }
  memcpy(b->p + b->n, src, (size_t)n);
  b->n += n;
}

void pqb_byte(pqb_buf *b, uint8_t v) { pqb_put(b, &v, 1); }

void pqb_varint(pqb_buf *b, uint64_t v) {
  while (v >= 0x80) {
    pqb_byte(b, (uint8_t)(v | 0x80));
    v >>= 7;
  }
  pqb_byte(b, (uint8_t)v);
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

void pqb_field(pqb_buf *b, int16_t *last, int16_t id, int type) {
  int delta = id - *last;
  if (delta > 0 && delta <= 15) {
    pqb_byte(b, (uint8_t)(delta << 4 | type));
  } else {
    pqb_byte(b, (uint8_t)type);
    pqb_varint(b, zigzag(id));
  }
  *last = id;
}

void pqb_i64(pqb_buf *b, int16_t *last, int16_t id, int type, int64_t v) {
  pqb_field(b, last, id, type);
  pqb_varint(b, zigzag(v));
}

void pqb_str(pqb_buf *b, int16_t *last, int16_t id, const char *s) {
  pqb_field(b, last, id, T_BIN);
  pqb_varint(b, strlen(s));
  pqb_put(b, s, (int64_t)strlen(s));
}

void pqb_list(pqb_buf *b, int16_t *last, int16_t id, int64_t n, int elem) {
  pqb_field(b, last, id, T_LIST);
  if (n < 15) {
    pqb_byte(b, (uint8_t)(n << 4 | elem));
  } else {
    pqb_byte(b, (uint8_t)(0xf0 | elem));
    pqb_varint(b, (uint64_t)n);
  }
}

void pqb_free(pqb_buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

int pqb_write_raw(const char *path, const uint8_t *data, int64_t n_data, const uint8_t *meta, int64_t n_meta) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  uint32_t len = (uint32_t)n_meta;
  bool ok = fwrite("PAR1", 1, 4, f) == 4 && (n_data == 0 || fwrite(data, 1, (size_t)n_data, f) == (size_t)n_data) &&
            (n_meta == 0 || fwrite(meta, 1, (size_t)n_meta, f) == (size_t)n_meta) && fwrite(&len, 1, 4, f) == 4 &&
            fwrite("PAR1", 1, 4, f) == 4;
  if (fclose(f) != 0) ok = false;
  if (!ok && !errno) errno = EIO;
  return ok ? 0 : -1;
}

/* A page header: type 0 data (v1) or 2 dictionary. */
static void page_header(pqb_buf *b, int type, int64_t body, int64_t values, int encoding) {
  int16_t last = 0, l2 = 0;
  pqb_i64(b, &last, 1, T_I32, type);
  pqb_i64(b, &last, 2, T_I32, body);
  pqb_i64(b, &last, 3, T_I32, body);
  pqb_field(b, &last, type == 2 ? 7 : 5, T_STRUCT);
  pqb_i64(b, &l2, 1, T_I32, values);
  pqb_i64(b, &l2, 2, T_I32, encoding);
  if (type == 0) {
    pqb_i64(b, &l2, 3, T_I32, 3);
    pqb_i64(b, &l2, 4, T_I32, 3);
  }
  pqb_byte(b, 0);
  pqb_byte(b, 0);
}

typedef struct page_loc {
  int64_t offset, size, first;
} page_loc;

int pqb_write(const char *path, const pqb_spec *s) {
  int w = s->phys == 1 ? 4 : 8;
  pqb_buf data = {0}, body = {0}, meta = {0};
  int64_t n_pages = s->page_rows > 0 ? (s->rows + s->page_rows - 1) / s->page_rows : 0;
  page_loc *locs = calloc((size_t)(n_pages ? n_pages : 1), sizeof *locs);
  int64_t dict_off = -1, base = 4; /* after the leading magic */
  if (s->dict_constant) {
    dict_off = base;
    body.n = 0;
    pqb_put(&body, &s->constant, w);
    page_header(&data, 2, body.n, 1, 0);
    pqb_put(&data, body.p, body.n);
  }
  for (int64_t p = 0; p < n_pages; p++) {
    int64_t first = p * s->page_rows, n = s->rows - first < s->page_rows ? s->rows - first : s->page_rows;
    body.n = 0;
    if (s->dict_constant) {
      pqb_byte(&body, 1);                  /* bit width */
      pqb_varint(&body, (uint64_t)n << 1); /* one RLE run of index 0 */
      pqb_byte(&body, 0);
    } else {
      for (int64_t i = 0; i < n; i++) {
        int64_t v = s->values ? s->values[first + i] : first + i;
        pqb_put(&body, &v, w);
      }
    }
    locs[p].offset = base + data.n;
    locs[p].first = first;
    page_header(&data, 0, body.n, n, s->dict_constant ? 8 : 0);
    pqb_put(&data, body.p, body.n);
    locs[p].size = base + data.n - locs[p].offset;
  }
  int64_t chunk_start = dict_off >= 0 ? dict_off : (n_pages ? locs[0].offset : base);
  int64_t chunk_len = base + data.n - chunk_start;
  int64_t oi_off = base + data.n, oi_len = 0;
  if (s->offset_index && n_pages) {
    int16_t last = 0;
    pqb_list(&data, &last, 1, n_pages, T_STRUCT);
    for (int64_t p = 0; p < n_pages; p++) {
      int16_t l2 = 0;
      pqb_i64(&data, &l2, 1, T_I64, locs[p].offset);
      pqb_i64(&data, &l2, 2, T_I32, locs[p].size);
      pqb_i64(&data, &l2, 3, T_I64, locs[p].first);
      pqb_byte(&data, 0);
    }
    pqb_byte(&data, 0);
    oi_len = base + data.n - oi_off;
  }
  int64_t rows = s->claim_rows > 0 ? s->claim_rows : s->rows;
  int16_t last = 0, l2, l3;
  pqb_i64(&meta, &last, 1, T_I32, 1);
  pqb_list(&meta, &last, 2, 2, T_STRUCT);
  l2 = 0; /* root */
  pqb_str(&meta, &l2, 4, "schema");
  pqb_i64(&meta, &l2, 5, T_I32, 1);
  pqb_byte(&meta, 0);
  l2 = 0; /* the column */
  pqb_i64(&meta, &l2, 1, T_I32, s->phys);
  pqb_i64(&meta, &l2, 3, T_I32, 0);
  pqb_str(&meta, &l2, 4, s->name ? s->name : "x");
  if (s->converted >= 0) pqb_i64(&meta, &l2, 6, T_I32, s->converted);
  pqb_byte(&meta, 0);
  pqb_i64(&meta, &last, 3, T_I64, rows);
  pqb_list(&meta, &last, 4, 1, T_STRUCT);
  l2 = 0; /* the row group */
  pqb_list(&meta, &l2, 1, 1, T_STRUCT);
  l3 = 0; /* the column chunk */
  pqb_i64(&meta, &l3, 2, T_I64, chunk_start);
  pqb_field(&meta, &l3, 3, T_STRUCT);
  {
    int16_t l4 = 0;
    pqb_i64(&meta, &l4, 1, T_I32, s->phys);
    pqb_list(&meta, &l4, 2, 1, T_I32);
    pqb_varint(&meta, zigzag(s->dict_constant ? 8 : 0));
    pqb_list(&meta, &l4, 3, 1, T_BIN);
    pqb_varint(&meta, strlen(s->name ? s->name : "x"));
    pqb_put(&meta, s->name ? s->name : "x", (int64_t)strlen(s->name ? s->name : "x"));
    pqb_i64(&meta, &l4, 4, T_I32, 0);
    pqb_i64(&meta, &l4, 5, T_I64, rows);
    pqb_i64(&meta, &l4, 6, T_I64, chunk_len);
    pqb_i64(&meta, &l4, 7, T_I64, chunk_len);
    pqb_i64(&meta, &l4, 9, T_I64, n_pages ? locs[0].offset : chunk_start);
    if (dict_off >= 0) pqb_i64(&meta, &l4, 11, T_I64, dict_off);
    pqb_byte(&meta, 0);
  }
  if (oi_len) {
    pqb_i64(&meta, &l3, 4, T_I64, oi_off);
    pqb_i64(&meta, &l3, 5, T_I32, oi_len);
  }
  pqb_byte(&meta, 0);
  pqb_i64(&meta, &l2, 2, T_I64, chunk_len);
  pqb_i64(&meta, &l2, 3, T_I64, rows);
  pqb_byte(&meta, 0);
  pqb_byte(&meta, 0);
  int rc = pqb_write_raw(path, data.p, data.n, meta.p, meta.n);
  free(locs);
  pqb_free(&data);
  pqb_free(&body);
  pqb_free(&meta);
  return rc;
}
