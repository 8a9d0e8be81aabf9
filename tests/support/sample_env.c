/*
 * tests/support/sample_env.c - the sample-table service for tests.
 */
#include "sample_env.h"

#include "sample.h"
#include "test.h"

void td_sample_env_open(td_sample_env *e, int64_t period_ms, int64_t page_size) {
  td_error err;
  TD_ASSERT_OK(td_sample_create(&e->mb, &err), &err);
  td_proxy_init(&e->proxy);
  td_service_options o;
  td_service_options_init(&o);
  o.update_period_ms = period_ms;
  if (page_size > 0) o.page_size = page_size;
  TD_ASSERT_OK(td_service_new(td_proxy_backend(&e->proxy, td_memory_backend_backend(e->mb)), &o, &e->svc, &err),
               &err);
  TD_ASSERT_OK(td_table_key_new(TD_SAMPLE_TABLE, &e->key, &err), &err);
}

void td_sample_env_close(td_sample_env *e) {
  td_table_key_release(e->key);
  td_service_free(e->svc);
  td_memory_backend_release(e->mb);
  td_proxy_destroy(&e->proxy);
}

td_table *td_sample_env_table(td_sample_env *e, bool refreshing) {
  td_error err;
  td_table_options o;
  td_table_options_init(&o);
  o.refreshing = refreshing;
  td_table *t;
  TD_ASSERT_OK(td_make_table(e->svc, e->key, &o, &t, &err), &err);
  return t;
}
