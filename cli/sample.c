/*
 * cli/sample.c - the seeds' example data through the public API only.
 */
#include "sample.h"

#include <stdio.h>
#include <string.h>

/* 2024-10-01T12:30:00 and 12:45:00 America/New_York (EDT, UTC-4). */
static const int64_t k_times[2] = {1727800200000000000LL, 1727801100000000000LL};

static int build_rows(struct ArrowArray *out, td_error *err) {
  static const td_type_id types[11] = {TD_TYPE_BOOL,  TD_TYPE_INT8,    TD_TYPE_UINT16, TD_TYPE_INT16,
                                       TD_TYPE_INT32, TD_TYPE_INT64,   TD_TYPE_INT64,  TD_TYPE_FLOAT32,
                                       TD_TYPE_FLOAT64, TD_TYPE_UTF8,  TD_TYPE_TIMESTAMP};
  struct ArrowArray cols[11];
  memset(cols, 0, sizeof cols);
  int rc = TD_OK;
  for (int c = 0; rc == TD_OK && c < 11; c++) {
    td_builder *b;
    if ((rc = td_builder_new(types[c], &b, err)) != TD_OK) break;
    for (int r = 0; rc == TD_OK && r < 2; r++) {
      int64_t sign = r == 0 ? 1 : -1;
      switch (types[c]) {
        case TD_TYPE_BOOL: rc = td_builder_append_int(b, r == 0, err); break;
        case TD_TYPE_UINT16: rc = td_builder_append_int(b, "-1"[r], err); break; /* chars '-' '1' */
        case TD_TYPE_FLOAT32:
        case TD_TYPE_FLOAT64: rc = td_builder_append_double(b, 1.01 * (double)sign, err); break;
        case TD_TYPE_UTF8: rc = td_builder_append_str(b, r == 0 ? "foo" : "bar", -1, err); break;
        case TD_TYPE_TIMESTAMP: rc = td_builder_append_int(b, k_times[r], err); break;
        default: rc = td_builder_append_int(b, sign, err); break;
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

int td_sample_key(const char *ticker, const char *exchange, td_location_key **out, td_error *err) {
  const char *names[2] = {"Ticker", "Exchange"};
  td_value vals[2] = {td_value_str(ticker), td_value_str(exchange)};
  char id[256];
  snprintf(id, sizeof id, "%s:%s", ticker, exchange);
  return td_location_key_new(id, 2, names, vals, out, err);
}

int td_sample_add_ticker(td_memory_backend *mb, const char *ticker, const char *exchange, td_error *err) {
  td_location_key *key;
  int rc = td_sample_key(ticker, exchange, &key, err);
  if (rc) return rc;
  struct ArrowArray rows;
  if ((rc = build_rows(&rows, err)) == TD_OK) {
    if (td_memory_backend_location_size(mb, TD_SAMPLE_TABLE, key) < 0)
      rc = td_memory_backend_add_location(mb, TD_SAMPLE_TABLE, key, &rows, err);
    else
      rc = td_memory_backend_append(mb, TD_SAMPLE_TABLE, key, &rows, err);
  }
  td_location_key_release(key);
  return rc;
}

int td_sample_create(td_memory_backend **out, td_error *err) {
  static const char *names[11] = {"Boolean", "Byte",  "Char",   "Short",  "Int",     "Long",
                                  "NPLong",  "Float", "Double", "String", "Datetime"};
  static const td_type_id types[11] = {TD_TYPE_BOOL,  TD_TYPE_INT8,    TD_TYPE_UINT16, TD_TYPE_INT16,
                                       TD_TYPE_INT32, TD_TYPE_INT64,   TD_TYPE_INT64,  TD_TYPE_FLOAT32,
                                       TD_TYPE_FLOAT64, TD_TYPE_UTF8,  TD_TYPE_TIMESTAMP};
  static const char *tzs[11] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "UTC"};
  static const char *pnames[2] = {"Ticker", "Exchange"};
  static const td_type_id ptypes[2] = {TD_TYPE_UTF8, TD_TYPE_UTF8};
  *out = NULL;
  td_memory_backend *mb;
  int rc = td_memory_backend_new(&mb, err);
  if (rc) return rc;
  struct ArrowSchema ds = {0}, ps = {0};
  rc = td_schema_make(11, names, types, tzs, &ds, err);
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
