/*
 * cli/sample.c - the seeds' example data through the public API only.
 */
#include "sample.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2024-10-01T12:30:00 and 12:45:00 America/New_York (EDT, UTC-4). */
static const int64_t k_times[2] = {1727800200000000000LL, 1727801100000000000LL};

static const td_type_id k_types[11] = {TD_TYPE_BOOL,    TD_TYPE_INT8, TD_TYPE_UINT16, TD_TYPE_INT16,
                                       TD_TYPE_INT32,   TD_TYPE_INT64, TD_TYPE_INT64, TD_TYPE_FLOAT32,
                                       TD_TYPE_FLOAT64, TD_TYPE_UTF8, TD_TYPE_TIMESTAMP};

/* Two rows of the sample's 11 columns: floats from dv, strings from sv, the
 * other columns from iv. */
static int build_batch(const int64_t iv[2][11], const double dv[2][11], const char *const sv[2],
                       struct ArrowArray *out, td_error *err) {
  struct ArrowArray cols[11];
  memset(cols, 0, sizeof cols);
  int rc = TD_OK;
  for (int c = 0; rc == TD_OK && c < 11; c++) {
    td_builder *b;
    if ((rc = td_builder_new(k_types[c], &b, err)) != TD_OK) break;
    for (int r = 0; rc == TD_OK && r < 2; r++) {
      switch (k_types[c]) {
        case TD_TYPE_FLOAT32:
        case TD_TYPE_FLOAT64: rc = td_builder_append_double(b, dv[r][c], err); break;
        case TD_TYPE_UTF8: rc = td_builder_append_str(b, sv[r], -1, err); break;
        default: rc = td_builder_append_int(b, iv[r][c], err); break;
      }
    }
    if (rc == TD_OK) rc = td_builder_finish(b, &cols[c], err);
    td_builder_free(b);
  }
  if (rc) {
    for (int c = 0; c < 11; c++)
      if (cols[c].release) cols[c].release(&cols[c]);
    return rc;
  }
  return td_batch_make(11, cols, out, err);
}

/* The seeds' two rows. */
static int build_rows(struct ArrowArray *out, td_error *err) {
  int64_t iv[2][11];
  double dv[2][11];
  for (int r = 0; r < 2; r++) {
    int64_t sign = r == 0 ? 1 : -1;
    for (int c = 0; c < 11; c++) {
      iv[r][c] = sign;
      dv[r][c] = 1.01 * (double)sign;
    }
    iv[r][0] = r == 0;        /* Boolean */
    iv[r][2] = "-1"[r];       /* Char: '-' '1' */
    iv[r][10] = k_times[r];   /* Datetime */
  }
  const char *sv[2] = {"foo", "bar"};
  return build_batch(iv, dv, sv, out, err);
}

int td_sample_key(const char *ticker, const char *exchange, td_location_key **out, td_error *err) {
  const char *names[2] = {"Ticker", "Exchange"};
  td_value vals[2] = {td_value_str(ticker), td_value_str(exchange)};
  char id[256];
  snprintf(id, sizeof id, "%s:%s", ticker, exchange);
  return td_location_key_new(id, 2, names, vals, out, err);
}

/* Adds location ticker/exchange with `rows`, or appends them; takes `rows`. */
static int add_rows(td_memory_backend *mb, const char *ticker, const char *exchange, struct ArrowArray *rows,
                    td_error *err) {
  td_location_key *key;
  int rc = td_sample_key(ticker, exchange, &key, err);
  if (rc) {
    rows->release(rows);
    return rc;
  }
  if (td_memory_backend_location_size(mb, TD_SAMPLE_TABLE, key) < 0)
    rc = td_memory_backend_add_location(mb, TD_SAMPLE_TABLE, key, rows, err);
  else
    rc = td_memory_backend_append(mb, TD_SAMPLE_TABLE, key, rows, err);
  td_location_key_release(key);
  return rc;
}

int td_sample_add_ticker(td_memory_backend *mb, const char *ticker, const char *exchange, td_error *err) {
  struct ArrowArray rows;
  int rc = build_rows(&rows, err);
  return rc ? rc : add_rows(mb, ticker, exchange, &rows, err);
}

/* A starting price from the ticker's name (100..600). */
static double start_price(const char *ticker) {
  unsigned h = 0;
  for (const char *p = ticker; *p; p++) h = h * 31 + (unsigned char)*p;
  return 100.0 + (double)(h % 50000) / 100.0;
}

int td_sample_add_ticks(td_memory_backend *mb, const char *ticker, const char *exchange, td_sample_quote *q,
                        int64_t now_ns, td_error *err) {
  if (q->price <= 0) {
    q->price = start_price(ticker);
    if (!q->seed) q->seed = (unsigned)(q->price * 100) ^ (unsigned)(start_price(exchange) * 7919);
  }
  int64_t iv[2][11];
  double dv[2][11];
  const char *sv[2];
  memset(dv, 0, sizeof dv);
  for (int r = 0; r < 2; r++) {
    double step = (double)((int)(rand_r(&q->seed) % 201) - 100) / 100.0; /* -1.00 .. +1.00 */
    double before = q->price;
    q->price = q->price + step > 1.0 ? q->price + step : q->price + 1.0;
    bool buy = rand_r(&q->seed) % 2 == 0;
    int64_t size = 100 * (1 + (int64_t)(rand_r(&q->seed) % 50));
    q->seq++;
    q->volume += size;
    iv[r][0] = q->price >= before;        /* Boolean: uptick */
    iv[r][1] = (int64_t)(q->seq % 100);   /* Byte */
    iv[r][2] = buy ? 'B' : 'S';           /* Char */
    iv[r][3] = (int64_t)(q->seq % 30000); /* Short */
    iv[r][4] = q->seq;                    /* Int */
    iv[r][5] = size;                      /* Long */
    iv[r][6] = q->volume;                 /* NPLong */
    iv[r][7] = iv[r][8] = iv[r][9] = 0;
    dv[r][7] = (double)(float)(q->price - before); /* Float: the change */
    dv[r][8] = (double)(int64_t)(q->price * 100 + 0.5) / 100.0; /* Double: the price, in cents */
    q->price = dv[r][8];
    sv[r] = buy ? "buy" : "sell";
    iv[r][10] = now_ns + r * 1000; /* Datetime */
  }
  struct ArrowArray rows;
  int rc = build_batch(iv, dv, sv, &rows, err);
  return rc ? rc : add_rows(mb, ticker, exchange, &rows, err);
}

int td_sample_create(td_memory_backend **out, td_error *err) {
  static const char *names[11] = {"Boolean", "Byte",  "Char",   "Short",  "Int",     "Long",
                                  "NPLong",  "Float", "Double", "String", "Datetime"};
  static const char *tzs[11] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "UTC"};
  static const char *pnames[2] = {"Ticker", "Exchange"};
  static const td_type_id ptypes[2] = {TD_TYPE_UTF8, TD_TYPE_UTF8};
  *out = NULL;
  td_memory_backend *mb;
  int rc = td_memory_backend_new(&mb, err);
  if (rc) return rc;
  struct ArrowSchema ds = {0}, ps = {0};
  rc = td_schema_make(11, names, k_types, tzs, &ds, err);
  if (rc == TD_OK) rc = td_schema_make(2, pnames, ptypes, NULL, &ps, err);
  if (rc == TD_OK) rc = td_memory_backend_add_table(mb, TD_SAMPLE_TABLE, &ds, &ps, err);
  if (ds.release) ds.release(&ds);
  if (ps.release) ps.release(&ps);
  if (rc == TD_OK) rc = td_sample_add_ticker(mb, "GOOG", "NYSE", err);
  if (rc == TD_OK) rc = td_sample_add_ticker(mb, "MSFT", "BZX", err);
  if (rc == TD_OK) rc = td_sample_add_ticker(mb, "MSFT", "BZY", err);
  if (rc) {
    td_memory_backend_release(mb);
    return rc;
  }
  *out = mb;
  return TD_OK;
}
