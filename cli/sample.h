/*
 * cli/sample.h - the seeds' example table "sample", built through the public
 * API and the in-memory backend: partition columns Ticker and Exchange, data
 * columns Boolean, Byte, Char, Short, Int, Long, NPLong, Float, Double,
 * String, Datetime, two rows per add.
 */
#ifndef TD_CLI_SAMPLE_H
#define TD_CLI_SAMPLE_H

#include "tabledata.h"

#define TD_SAMPLE_TABLE "sample"

/* Creates a memory backend holding table "sample" with the seeds' three
 * locations GOOG/NYSE, MSFT/BZX, MSFT/BZY. */
int td_sample_create(td_memory_backend **out, td_error *err);
/* The seeds' add_ticker_data: adds location ticker/exchange with the two
 * sample rows, or appends the two rows if it exists. */
int td_sample_add_ticker(td_memory_backend *mb, const char *ticker, const char *exchange, td_error *err);
/* A moving quote for one location, for td_sample_add_ticks. */
typedef struct td_sample_quote {
  double price;     /* last price (Double); 0: not started */
  int64_t seq;      /* ticks written (Int) */
  int64_t volume;   /* cumulative size (NPLong) */
  unsigned seed;
} td_sample_quote;

/* Appends two ticks to location ticker/exchange (adding it if needed) whose
 * values move: Datetime = now_ns (and now_ns + 1 µs), Double a random walk
 * of the price, Float its change, Boolean an uptick, Int a sequence number,
 * Long a trade size, NPLong the cumulative size, String/Char the side ("buy"
 * 'B' or "sell" 'S'), Byte/Short small counters.  `q` carries the location's
 * state from call to call (zero it for a new location). */
int td_sample_add_ticks(td_memory_backend *mb, const char *ticker, const char *exchange, td_sample_quote *q,
                        int64_t now_ns, td_error *err);
/* The location key the sample uses for ticker/exchange (caller releases). */
int td_sample_key(const char *ticker, const char *exchange, td_location_key **out, td_error *err);

#endif
