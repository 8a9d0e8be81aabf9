/*
 * backends/kafka/kafka_api.c - loading librdkafka and binding the functions
 * kafka_api.h lists.
 */
#define TD_DYNLIB_BINDING /* the names below are the libraries' own */
#include "backends/kafka/kafka_api.h"

td_rdk_api td_rdk;

static const char *bind_all(void *h) {
#define BIND(f) TD_DYNLIB_BIND(td_rdk, h, f)
  TD_RDK_FUNCS(BIND)
#undef BIND
  return NULL;
}

static td_dynlib lib = TD_DYNLIB_INIT("librdkafka.so.1", "Kafka sources", "librdkafka1", bind_all);

int td_rdk_load(td_error *err) { return td_dynlib_load(&lib, err); }
