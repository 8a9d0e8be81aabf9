/*
 * backends/kafka/kafka_internal.h - shared pieces of the Kafka backend: the
 * payload schema (declared or sampled) and the decoding of one payload into
 * column builders (kafka_decode.c; Arrow IPC payloads: kafka_arrow.c).  librdkafka-free: kafka_backend.c alone
 * talks to brokers.
 */
#ifndef TD_KAFKA_INTERNAL_H
#define TD_KAFKA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tabledata/arrow_build.h"
#include "tabledata/error.h"
#include "tabledata/types.h"

typedef enum td_kf_format { TD_KF_JSON, TD_KF_CSV, TD_KF_ARROW } td_kf_format;

typedef struct td_kf_column {
  char *name;
  td_type_id type;
  const char *tz; /* static: "UTC" for timestamps, else NULL */
} td_kf_column;

/* The payload's columns. */
typedef struct td_kf_schema {
  td_kf_format format;
  td_kf_column *cols;
  int64_t n;
} td_kf_schema;

void td__kf_schema_reset(td_kf_schema *s);
/* Parses "name type, name type ..." (td_type_name names).  Errors:
 * TD_EINVAL naming the entry that does not parse, TD_ENOMEM. */
int td__kf_schema_parse(const char *text, td_kf_schema *out, td_error *err);

/* Schema inference from sampled payloads. */
typedef struct td_kf_sampler td_kf_sampler;
/* `columns`: CSV column names "a,b" or NULL. */
int td__kf_sampler_new(td_kf_format format, const char *columns, td_kf_sampler **out, td_error *err);
/* Adds one payload; false with `why` when it cannot be decoded at all. */
bool td__kf_sampler_add(td_kf_sampler *s, const char *payload, size_t len, char *why, size_t why_size);
/* The inferred schema (fields in order of first appearance; a field never
 * seen with a value is utf8).  Errors: TD_EINVAL (no column), TD_ENOMEM. */
int td__kf_sampler_finish(td_kf_sampler *s, td_kf_schema *out, td_error *err);
void td__kf_sampler_free(td_kf_sampler *s);

/* Decodes one payload into one value per column, appended to bs[i] (the
 * schema's columns, in order).  On a payload that does not decode (not an
 * object, a field of the wrong type, too few CSV fields...) returns false
 * with the reason in `why` and the builders unchanged in length (the row is
 * not half appended: the caller fails the read).  A NULL payload (a
 * tombstone) is a row of nulls. */
bool td__kf_decode(const td_kf_schema *s, const char *payload, size_t len, td_builder **bs, char *why,
                   size_t why_size);

/* Arrow IPC stream payloads (kafka_arrow.c): a payload is one whole stream
 * and holds its batches' rows.  The rows of a payload: 1 for a NULL payload
 * (a tombstone, a row of nulls) and for one that does not decode (its read
 * fails with the reason). */
int64_t td__kf_arrow_rows(const char *payload, size_t len);
/* The payload's schema as the table's (format TD_KF_ARROW).  Errors, with
 * the reason in `why`: TD_EFORMAT (not an IPC stream), TD_EUNSUPPORTED (a
 * column type the backend does not carry), TD_EINVAL (no column),
 * TD_ENOMEM. */
int td__kf_arrow_schema(const char *payload, size_t len, td_kf_schema *out, char *why, size_t why_size);
/* Appends rows [lo, lo + n) of the payload to bs[i] (the schema's columns).
 * False with `why` when the payload is not an IPC stream, its schema differs
 * from `s` (names the column and what differs) or lacks those rows; the
 * builders are then unchanged.  A NULL payload appends one row of nulls. */
bool td__kf_arrow_decode(const td_kf_schema *s, const char *payload, size_t len, int64_t lo, int64_t n,
                         td_builder **bs, char *why, size_t why_size);

#endif
