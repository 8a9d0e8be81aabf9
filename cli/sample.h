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
/* The location key the sample uses for ticker/exchange (caller releases). */
int td_sample_key(const char *ticker, const char *exchange, td_location_key **out, td_error *err);

#endif
