/*
 * backends/kafka/kafka_api.c - loading librdkafka and binding the functions
 * kafka_api.h lists.
 */
#define TD_DYNLIB_BINDING /* the names below are the library's own */
#include "backends/kafka/kafka_api.h"

#define BIND(f) TD_DYNLIB_BIND(td_rdk, h, f)
TD_DYNLIB_DEFINE(td_rdk, TD_RDK_FUNCS, BIND, "librdkafka.so.1", "Kafka sources", "librdkafka1")
