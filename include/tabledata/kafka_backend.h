/*
 * tabledata/kafka_backend.h - a Kafka topic as a table.
 *
 * A Kafka backend serves one table: a topic reached through librdkafka.  Its
 * locations are the topic's partitions (partition column `partition`,
 * int32); a location's rows are the partition's records in offset order.
 * Columns: the fields of the decoded payload (JSON objects or CSV lines,
 * with a declared schema or one sampled from the first records; or Arrow
 * IPC streams, one per record, of one or more rows each, with a declared
 * schema or the first record's), then `key`
 * (utf8; a key that is not valid UTF-8 reads as "0x" and hex digits),
 * `timestamp` (timestamp in ms, null when the record has none) and `offset`
 * (int64, the record's offset).
 *
 * Offsets have holes (transaction markers, aborted records, compaction), so
 * a row position is never a raw offset: the backend keeps, per partition, a
 * position index (row -> offset of the record holding it, an entry at a
 * record's first row once `index_step` rows passed since the last) built
 * as records are seen.  A location's size is the number of records seen up
 * to the end of the partition (the last stable offset under read_committed,
 * librdkafka's default).  Column values are read lazily: seek to the index
 * entry at or before the first row asked for, consume the range (and on to
 * the next index entry, verifying the indexed offsets), decode it.
 *
 * A live table's sizes grow as one consumer per backend follows every
 * subscribed partition ("consumes ahead": it counts records and extends the
 * index, keeping no payloads).  Retention that deletes the head of a
 * partition below a row the table has (the low watermark passes the offset
 * of row 0) fails the location with a message naming topic, partition and
 * offset; so does a read that finds an indexed record gone (compaction).
 * Payloads that cannot be decoded (or, in format arrow, whose schema is not
 * the table's) fail the read with topic, partition and offset.  docs/KAFKA.md has the details.
 */
#ifndef TABLEDATA_KAFKA_BACKEND_H
#define TABLEDATA_KAFKA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/backend.h"
#include "tabledata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_kafka_backend td_kafka_backend;

typedef struct td_kafka_options {
  /* "json" (default: each payload one JSON object), "csv" (each payload
   * one CSV line) or "arrow" (each payload one Arrow IPC stream: a schema
   * message and record batches, all of whose rows are rows of the table;
   * key, timestamp and offset repeat on each).  Borrowed. */
  const char *format;
  /* The payload's columns, "name type, name type ..." with td_type_name()
   * names (bool, int32, int64, float64, utf8, timestamp, timestamp_ms...),
   * or NULL to sample it from the first records.  Borrowed. */
  const char *schema;
  /* CSV without a declared schema: the column names, "a,b,c" (default
   * column0, column1 ...).  Borrowed. */
  const char *columns;
  int64_t sample;      /* records sampled for the schema; 0: 100 */
  int64_t poll_ms;     /* watermark (retention) and partition poll; 0: 1000 */
  int64_t timeout_ms;  /* how long a read or count waits for brokers; 0: 10000 */
  int64_t index_step;  /* rows between position index entries; 0: 1024 */
  /* librdkafka properties ("name=value", e.g. "security.protocol=ssl",
   * "isolation.level=read_uncommitted") set on every handle.  Borrowed. */
  const char *const *config;
  int64_t n_config;
} td_kafka_options;

/* Fills `opts` with the defaults (above).  Never fails. */
TD_API void td_kafka_options_init(td_kafka_options *opts);

/* Connects to `brokers` ("host:port[,host:port...]"), finds `topic` and
 * its partitions, and declares or samples the payload schema.
 * Errors: TD_EIO (brokers unreachable within timeout_ms, a librdkafka
 * error), TD_ENOTFOUND (no such topic), TD_EINVAL (bad options, a declared
 * schema that does not parse, an empty topic without a declared schema, a
 * payload column named partition, key, timestamp or offset), TD_EFORMAT (a
 * sampled payload that cannot be decoded: names partition and offset),
 * TD_ENOMEM. */
TD_API int td_kafka_backend_new(const char *brokers, const char *topic, const td_kafka_options *opts,
                                td_kafka_backend **out, td_error *err);
TD_API td_kafka_backend *td_kafka_backend_retain(td_kafka_backend *kb);
TD_API void td_kafka_backend_release(td_kafka_backend *kb); /* NULL is fine */
/* The backend handle for td_service_new (holds a new reference). */
TD_API td_backend td_kafka_backend_backend(td_kafka_backend *kb);
/* The name of the one table the backend serves (the topic). */
TD_API const char *td_kafka_backend_table_name(const td_kafka_backend *kb);

/* Counters, for tests and benchmarks. */
typedef struct td_kafka_stats {
  int64_t values_consumed; /* records consumed by column_values reads (skipped or decoded) */
  int64_t values_decoded;  /* records decoded by column_values reads */
  int64_t counted;         /* records counted into sizes (all partitions) */
  int64_t index_entries;   /* position index entries (all partitions) */
} td_kafka_stats;
/* Copies the counters.  Never fails. */
TD_API void td_kafka_backend_stats(const td_kafka_backend *kb, td_kafka_stats *out);

/* Opens a FROM source of the query language or CLI: "kafka://host:port[,
 * host:port...]/topic?format=json&schema=...", or kafka('brokers', 'topic',
 * name => 'value' ...) as its canonical call text.  Options (query
 * parameters or named arguments): format, schema, columns, sample, poll_ms,
 * timeout_ms, index_step; a name with a dot is a librdkafka property.
 * Errors: those of td_kafka_backend_new, TD_EINVAL for a malformed source
 * or option. */
TD_API int td_kafka_backend_open_source(const char *source, td_kafka_backend **out, td_error *err);
/* True for the FROM sources td_kafka_backend_open_source opens: a
 * "kafka://" URI or call text "kafka(". */
TD_API bool td_kafka_is_source(const char *source);

#ifdef __cplusplus
}
#endif

#endif
