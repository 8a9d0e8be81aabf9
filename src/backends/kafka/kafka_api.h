/*
 * backends/kafka/kafka_api.h - the librdkafka functions the Kafka backend
 * calls, reached through a table filled when the backend is first made
 * (util/dynlib.h: a process that reads no topic never loads librdkafka).
 * Include this instead of <librdkafka/rdkafka.h>.
 */
#ifndef TD_BACKENDS_KAFKA_API_H
#define TD_BACKENDS_KAFKA_API_H

#include <librdkafka/rdkafka.h>

#include "util/dynlib.h"

#define TD_RDK_FUNCS(X) \
  X(rd_kafka_assign) \
  X(rd_kafka_conf_destroy) \
  X(rd_kafka_conf_new) \
  X(rd_kafka_conf_set) \
  X(rd_kafka_conf_set_error_cb) \
  X(rd_kafka_conf_set_log_cb) \
  X(rd_kafka_consume_queue) \
  X(rd_kafka_consume_start_queue) \
  X(rd_kafka_consume_stop) \
  X(rd_kafka_consumer_close) \
  X(rd_kafka_consumer_poll) \
  X(rd_kafka_destroy) \
  X(rd_kafka_err2str) \
  X(rd_kafka_last_error) \
  X(rd_kafka_message_destroy) \
  X(rd_kafka_message_timestamp) \
  X(rd_kafka_metadata) \
  X(rd_kafka_metadata_destroy) \
  X(rd_kafka_new) \
  X(rd_kafka_query_watermark_offsets) \
  X(rd_kafka_queue_destroy) \
  X(rd_kafka_queue_new) \
  X(rd_kafka_topic_destroy) \
  X(rd_kafka_topic_new) \
  X(rd_kafka_topic_partition_list_add) \
  X(rd_kafka_topic_partition_list_destroy) \
  X(rd_kafka_topic_partition_list_new)

typedef struct td_rdk_api {
  TD_RDK_FUNCS(TD_DYNLIB_SLOT)
} td_rdk_api;

extern td_rdk_api td_rdk;

/* Loads librdkafka.so.1 (once); TD_EUNSUPPORTED when it cannot be. */
int td_rdk_load(td_error *err);

/* Calls below go through the table (not in the file that fills it);
 * function-like, so a struct tag of the same name stays itself. */
#ifndef TD_DYNLIB_BINDING
#define rd_kafka_assign(...) ((td_rdk.td_rd_kafka_assign)(__VA_ARGS__))
#define rd_kafka_conf_destroy(...) ((td_rdk.td_rd_kafka_conf_destroy)(__VA_ARGS__))
#define rd_kafka_conf_new(...) ((td_rdk.td_rd_kafka_conf_new)(__VA_ARGS__))
#define rd_kafka_conf_set(...) ((td_rdk.td_rd_kafka_conf_set)(__VA_ARGS__))
#define rd_kafka_conf_set_error_cb(...) ((td_rdk.td_rd_kafka_conf_set_error_cb)(__VA_ARGS__))
#define rd_kafka_conf_set_log_cb(...) ((td_rdk.td_rd_kafka_conf_set_log_cb)(__VA_ARGS__))
#define rd_kafka_consume_queue(...) ((td_rdk.td_rd_kafka_consume_queue)(__VA_ARGS__))
#define rd_kafka_consume_start_queue(...) ((td_rdk.td_rd_kafka_consume_start_queue)(__VA_ARGS__))
#define rd_kafka_consume_stop(...) ((td_rdk.td_rd_kafka_consume_stop)(__VA_ARGS__))
#define rd_kafka_consumer_close(...) ((td_rdk.td_rd_kafka_consumer_close)(__VA_ARGS__))
#define rd_kafka_consumer_poll(...) ((td_rdk.td_rd_kafka_consumer_poll)(__VA_ARGS__))
#define rd_kafka_destroy(...) ((td_rdk.td_rd_kafka_destroy)(__VA_ARGS__))
#define rd_kafka_err2str(...) ((td_rdk.td_rd_kafka_err2str)(__VA_ARGS__))
#define rd_kafka_last_error(...) ((td_rdk.td_rd_kafka_last_error)(__VA_ARGS__))
#define rd_kafka_message_destroy(...) ((td_rdk.td_rd_kafka_message_destroy)(__VA_ARGS__))
#define rd_kafka_message_timestamp(...) ((td_rdk.td_rd_kafka_message_timestamp)(__VA_ARGS__))
#define rd_kafka_metadata(...) ((td_rdk.td_rd_kafka_metadata)(__VA_ARGS__))
#define rd_kafka_metadata_destroy(...) ((td_rdk.td_rd_kafka_metadata_destroy)(__VA_ARGS__))
#define rd_kafka_new(...) ((td_rdk.td_rd_kafka_new)(__VA_ARGS__))
#define rd_kafka_query_watermark_offsets(...) ((td_rdk.td_rd_kafka_query_watermark_offsets)(__VA_ARGS__))
#define rd_kafka_queue_destroy(...) ((td_rdk.td_rd_kafka_queue_destroy)(__VA_ARGS__))
#define rd_kafka_queue_new(...) ((td_rdk.td_rd_kafka_queue_new)(__VA_ARGS__))
#define rd_kafka_topic_destroy(...) ((td_rdk.td_rd_kafka_topic_destroy)(__VA_ARGS__))
#define rd_kafka_topic_new(...) ((td_rdk.td_rd_kafka_topic_new)(__VA_ARGS__))
#define rd_kafka_topic_partition_list_add(...) ((td_rdk.td_rd_kafka_topic_partition_list_add)(__VA_ARGS__))
#define rd_kafka_topic_partition_list_destroy(...) ((td_rdk.td_rd_kafka_topic_partition_list_destroy)(__VA_ARGS__))
#define rd_kafka_topic_partition_list_new(...) ((td_rdk.td_rd_kafka_topic_partition_list_new)(__VA_ARGS__))
#endif

#endif
