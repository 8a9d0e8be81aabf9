/*
 * tests/support/sample_env.h - a service over the seeds' sample table
 * (cli/sample.h) behind a call-logging proxy, for tests of tables built on
 * it: open with an update period and page size, make static or refreshing
 * tables, close.
 */
#ifndef TD_TEST_SAMPLE_ENV_H
#define TD_TEST_SAMPLE_ENV_H

#include <stdbool.h>

#include "proxy_backend.h"
#include "tabledata.h"

typedef struct td_sample_env {
  td_memory_backend *mb;
  td_proxy proxy;
  td_service *svc;
  td_table_key *key; /* "sample" */
} td_sample_env;

/* Fails the test on error.  page_size 0: the service default. */
void td_sample_env_open(td_sample_env *e, int64_t period_ms, int64_t page_size);
void td_sample_env_close(td_sample_env *e);
/* A table of every location (static or refreshing); fails the test on error. */
td_table *td_sample_env_table(td_sample_env *e, bool refreshing);

#endif
