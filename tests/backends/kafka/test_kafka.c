/*
 * tests/backends/kafka/test_kafka.c - the Kafka backend against librdkafka's
 * in-process mock cluster (rd_kafka_mock_cluster_new; no broker needed):
 * a static topic read whole, a live table following concurrent producers
 * (per partition, in order), a partition whose head retention deleted (row
 * positions are not offsets), retention under a live table (a clear
 * failure), a transactional producer with an aborted transaction (the table
 * equals what a read_committed consumer sees), schema sampling (JSON, CSV)
 * and declared schemas, undecodable payloads, lazy reads (a late page does
 * not consume the partition), sources and the CLI; Arrow IPC stream payloads
 * of several rows (static and live, a schema mismatch, garbage).
 *
 * Not covered here: a real Apache Kafka broker (KRaft).  librdkafka 2.0's
 * mock cluster writes no transaction markers and does not filter aborted
 * records, so offset holes from transactions and compaction need a real
 * broker: test_kafka_broker.c (broker_test.sh starts one).
 */
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arrow/schema.h"
#include "formats/ipc/ipc_writer.h"
#include "tabledata.h"
#include "tabledata/kafka_backend.h"
#include "test.h"

static rd_kafka_t *g_mock_rk, *g_prod;
static rd_kafka_mock_cluster_t *g_mock;
static const char *g_bs;

/* ---- helpers ---- */

static rd_kafka_t *producer_new(const char *transactional_id) {
  char e[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers", g_bs, e, sizeof e), RD_KAFKA_CONF_OK);
  rd_kafka_conf_set(c, "linger.ms", "1", e, sizeof e);
  if (transactional_id) rd_kafka_conf_set(c, "transactional.id", transactional_id, e, sizeof e);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  assert_non_null(p);
  return p;
}

static void produce(rd_kafka_t *p, const char *topic, int32_t partition, const char *key, const char *payload,
                    size_t len) {
  rd_kafka_resp_err_t r;
  do {
    r = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)payload, len),
                          RD_KAFKA_V_KEY((void *)key, key ? strlen(key) : 0), RD_KAFKA_V_END);
    if (r == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(p, 10);
  } while (r == RD_KAFKA_RESP_ERR__QUEUE_FULL);
  assert_int_equal(r, RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void produce_json(const char *topic, int32_t partition, int64_t id) {
  char b[200], k[32];
  snprintf(b, sizeof b, "{\"id\": %lld, \"sym\": \"S%lld\", \"px\": %lld.5, \"ok\": %s}", (long long)id,
           (long long)(id % 7), (long long)id, id % 2 ? "true" : "false");
  snprintf(k, sizeof k, "k%lld", (long long)id);
  produce(g_prod, topic, partition, k, b, strlen(b));
}

static void flush(rd_kafka_t *p) { assert_int_equal(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR); }

typedef struct opened {
  td_kafka_backend *kb;
  td_service *svc;
  td_table *t;
} opened;

static int open_table(const char *topic, const td_kafka_options *ko, bool live, int64_t page_size, opened *o,
                      td_error *err) {
  memset(o, 0, sizeof *o);
  int rc = td_kafka_backend_new(g_bs, topic, ko, &o->kb, err);
  if (rc) return rc;
  td_service_options so;
  td_service_options_init(&so);
  so.update_period_ms = 0;
  if (page_size) so.page_size = page_size;
  if ((rc = td_service_new(td_kafka_backend_backend(o->kb), &so, &o->svc, err))) return rc;
  td_table_key *k;
  if ((rc = td_table_key_new(topic, &k, err))) return rc;
  td_table_options to;
  td_table_options_init(&to);
  to.refreshing = live;
  rc = td_make_table(o->svc, k, &to, &o->t, err);
  td_table_key_release(k);
  return rc;
}

static void close_table(opened *o) {
  td_table_release(o->t);
  td_service_free(o->svc);
  td_kafka_backend_release(o->kb);
}

static td_value cell(td_table *t, const struct ArrowArray *a, int64_t row, const char *name) {
  int64_t c = td_table_column_index(t, name);
  if (c < 0) fail_msg("no column %s", name);
  struct ArrowSchema s;
  td_error err;
  TD_ASSERT_OK(td_table_schema(t, &s, &err), &err);
  td_value v;
  TD_ASSERT_OK(td_arrow_get_value(s.children[c], a->children[c], row, &v, &err), &err);
  s.release(&s);
  return v;
}

/* Checks that every row of `t` is the record produce_json(p, id) wrote with
 * id = p + n_parts * offset - base, partition by partition in offset order,
 * and returns the number of rows. */
static int64_t check_rows(td_table *t, int32_t n_parts, int64_t base) {
  td_error err;
  int64_t n = td_table_size(t);
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, n, &a, &err), &err);
  int64_t last_part = -1, last_off = -1;
  for (int64_t r = 0; r < n; r++) {
    int64_t p = cell(t, &a, r, "partition").v.i, off = cell(t, &a, r, "offset").v.i;
    int64_t id = cell(t, &a, r, "id").v.i;
    if (p == last_part) assert_int_equal(off, last_off + 1); /* no hole on the mock: every record, once */
    else assert_true(p > last_part);
    last_part = p, last_off = off;
    assert_int_equal(id, p + n_parts * (off - base));
    td_value k = cell(t, &a, r, "key");
    char want[32];
    snprintf(want, sizeof want, "k%lld", (long long)id);
    assert_int_equal(k.v.s.len, strlen(want));
    assert_memory_equal(k.v.s.ptr, want, k.v.s.len);
    assert_false(cell(t, &a, r, "timestamp").is_null);
  }
  a.release(&a);
  return n;
}

/* ---- static reads ---- */

static void test_static(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "static", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int64_t i = 0; i < 300; i++) produce_json("static", (int32_t)(i % 3), i);
  flush(g_prod);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.index_step = 7; /* reads start from index entries inside pages */
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("static", &ko, false, 16, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), 300);
  assert_int_equal(td_table_location_count(o.t), 3);
  static const struct {
    const char *name;
    td_type_id type;
  } want[] = {{"id", TD_TYPE_INT64},        {"sym", TD_TYPE_UTF8},        {"px", TD_TYPE_FLOAT64},
              {"ok", TD_TYPE_BOOL},         {"key", TD_TYPE_UTF8},        {"timestamp", TD_TYPE_TIMESTAMP_MS},
              {"offset", TD_TYPE_INT64},    {"partition", TD_TYPE_INT32}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    int64_t c = td_table_column_index(o.t, want[i].name);
    if (c < 0) fail_msg("no column %s", want[i].name);
    assert_int_equal(td_table_column_type(o.t, c), want[i].type);
  }
  assert_int_equal(check_rows(o.t, 3, 0), 300);
  close_table(&o);
}

/* ---- live ---- */

typedef struct follow_ctx {
  pthread_mutex_t mu;
  int64_t cycles, failures;
  char failure[1024];
} follow_ctx;

static void on_update(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  follow_ctx *f = ctx;
  (void)t, (void)u;
  pthread_mutex_lock(&f->mu);
  if (e) {
    f->failures++;
    snprintf(f->failure, sizeof f->failure, "%s", e->message);
  } else {
    f->cycles++;
  }
  pthread_mutex_unlock(&f->mu);
}

typedef struct writer {
  const char *topic;
  int32_t n_parts;
  int64_t from, n;
} writer;

static void *write_main(void *arg) {
  writer *w = arg;
  for (int64_t i = w->from; i < w->from + w->n; i++) {
    produce_json(w->topic, (int32_t)(i % w->n_parts), i);
    if (i % 100 == 0) usleep(2000);
  }
  rd_kafka_flush(g_prod, 10000);
  return NULL;
}

/* Producers append while a live table follows: the table ends equal to
 * what was produced, per partition in order, every row once. */
static void test_live(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "live", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int64_t i = 0; i < 10; i++) produce_json("live", (int32_t)(i % 2), i);
  flush(g_prod);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.index_step = 64;
  ko.poll_ms = 50;
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("live", &ko, true, 128, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), 10);
  follow_ctx f;
  memset(&f, 0, sizeof f);
  pthread_mutex_init(&f.mu, NULL);
  TD_ASSERT_OK(td_table_add_listener(o.t, on_update, &f, NULL, &err), &err);
  writer w = {"live", 2, 10, 3000};
  pthread_t th;
  pthread_create(&th, NULL, write_main, &w);
  /* Read while it grows: every snapshot is a correct prefix per partition. */
  for (int k = 0; k < 5; k++) {
    usleep(50000);
    check_rows(o.t, 2, 0);
  }
  pthread_join(th, NULL);
  TD_ASSERT_OK(td_table_wait(o.t, 0, 3010, 20000, &err), &err);
  /* A burst larger than the follower takes between two size answers. */
  for (int64_t i = 3010; i < 13010; i++) produce_json("live", (int32_t)(i % 2), i);
  flush(g_prod);
  TD_ASSERT_OK(td_table_wait(o.t, 0, 13010, 20000, &err), &err);
  usleep(100000);
  assert_int_equal(check_rows(o.t, 2, 0), 13010);
  pthread_mutex_lock(&f.mu);
  assert_true(f.cycles > 1);
  assert_int_equal(f.failures, 0);
  pthread_mutex_unlock(&f.mu);
  close_table(&o);
  pthread_mutex_destroy(&f.mu);
}

/* ---- holes and retention ---- */

static char *big_payload(int64_t id, size_t size) {
  char *b = malloc(size + 1);
  int n = snprintf(b, size, "{\"id\": %lld, \"sym\": \"S\", \"px\": 0.5, \"ok\": true, \"pad\": \"", (long long)id);
  memset(b + n, 'x', size - (size_t)n - 2);
  memcpy(b + size - 2, "\"}", 2);
  b[size] = 0;
  return b;
}

static void produce_big(const char *topic, int64_t from, int64_t n) {
  for (int64_t i = from; i < from + n; i++) {
    char *b = big_payload(i, 200000);
    char k[32];
    snprintf(k, sizeof k, "k%lld", (long long)i);
    produce(g_prod, topic, 0, k, b, strlen(b));
    free(b);
  }
  flush(g_prod);
}

/* The mock keeps about 5 MB a partition, deleting the head beyond that (as
 * retention does): a table opened later starts at the first offset left, so
 * row 0 is not offset 0. */
static void test_head_deleted(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "trimmed", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  produce_big("trimmed", 0, 60);
  int64_t lo, hi;
  assert_int_equal(rd_kafka_query_watermark_offsets(g_prod, "trimmed", 0, &lo, &hi, 5000), 0);
  assert_true(lo > 0);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.index_step = 5;
  ko.schema = "id int64, sym utf8, px float64, ok bool";
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("trimmed", &ko, false, 8, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), hi - lo);
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 0, hi - lo, &a, &err), &err);
  for (int64_t r = 0; r < hi - lo; r++) {
    assert_int_equal(cell(o.t, &a, r, "offset").v.i, lo + r);
    assert_int_equal(cell(o.t, &a, r, "id").v.i, lo + r);
  }
  a.release(&a);
  close_table(&o);
}

/* Retention deleting rows a live table holds fails the location, naming
 * topic, partition and offset; reads never return other records. */
static void test_retention_under_table(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "retention", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int64_t i = 0; i < 5; i++) produce_json("retention", 0, i);
  flush(g_prod);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.poll_ms = 30;
  ko.schema = "id int64, sym utf8, px float64, ok bool";
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("retention", &ko, true, 4, &o, &err), &err);
  follow_ctx f;
  memset(&f, 0, sizeof f);
  pthread_mutex_init(&f.mu, NULL);
  TD_ASSERT_OK(td_table_add_listener(o.t, on_update, &f, NULL, &err), &err);
  produce_big("retention", 5, 60);
  for (int i = 0; i < 200; i++) {
    pthread_mutex_lock(&f.mu);
    int64_t failed = f.failures;
    pthread_mutex_unlock(&f.mu);
    if (failed) break;
    usleep(50000);
  }
  pthread_mutex_lock(&f.mu);
  assert_int_equal(f.failures, 1);
  TD_ASSERT_CONTAINS(f.failure, "topic 'retention' partition 0: retention deleted the partition's head up to offset");
  TD_ASSERT_CONTAINS(f.failure, "past offset 0 (row 0)");
  pthread_mutex_unlock(&f.mu);
  struct ArrowArray a;
  assert_int_not_equal(td_table_read(o.t, NULL, 0, 0, 1, &a, &err), TD_OK);
  close_table(&o);
  pthread_mutex_destroy(&f.mu);
}

/* A transactional producer with an aborted transaction: the table equals
 * what a read_committed consumer of the same partition sees, in order.
 * (On a real broker the aborted records and the markers are holes in the
 * offsets; librdkafka 2.0's mock keeps the aborted records and writes no
 * markers, so here this checks the table against the consumer.) */
static void test_transactions(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "txn", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_t *p = producer_new("td-test-txn");
  rd_kafka_error_t *e = rd_kafka_init_transactions(p, 10000);
  assert_null(e);
  int64_t id = 0;
  for (int round = 0; round < 4; round++) {
    assert_null(rd_kafka_begin_transaction(p));
    for (int i = 0; i < 5; i++, id++) {
      char b[100], k[32];
      snprintf(b, sizeof b, "{\"id\": %lld, \"round\": %d}", (long long)id, round);
      snprintf(k, sizeof k, "k%lld", (long long)id);
      produce(p, "txn", 0, k, b, strlen(b));
    }
    flush(p);
    e = round == 1 ? rd_kafka_abort_transaction(p, 10000) : rd_kafka_commit_transaction(p, 10000);
    assert_null(e);
  }
  rd_kafka_destroy(p);
  /* The reference: a plain read_committed consumer. */
  char er[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", g_bs, er, sizeof er);
  rd_kafka_conf_set(c, "group.id", "ref", er, sizeof er);
  rd_kafka_conf_set(c, "enable.partition.eof", "true", er, sizeof er);
  rd_kafka_t *cs = rd_kafka_new(RD_KAFKA_CONSUMER, c, er, sizeof er);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, "txn", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(cs, l);
  rd_kafka_topic_partition_list_destroy(l);
  int64_t ref_off[64], n_ref = 0;
  for (;;) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(cs, 5000);
    assert_non_null(m);
    bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    if (!m->err && n_ref < 64) ref_off[n_ref++] = m->offset;
    rd_kafka_message_destroy(m);
    if (eof) break;
  }
  rd_kafka_consumer_close(cs);
  rd_kafka_destroy(cs);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.index_step = 3;
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("txn", &ko, false, 4, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), n_ref);
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 0, n_ref, &a, &err), &err);
  for (int64_t r = 0; r < n_ref; r++) assert_int_equal(cell(o.t, &a, r, "offset").v.i, ref_off[r]);
  a.release(&a);
  close_table(&o);
}

/* ---- schemas ---- */

static void test_sampling(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "mixed", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const char *msgs[] = {
      "{\"a\": 1, \"b\": 2, \"c\": \"2024-01-02T03:04:05Z\", \"d\": \"x\", \"e\": {\"n\": [1]}, \"f\": null, \"g\": true}",
      "{\"a\": 2, \"b\": 2.5, \"c\": \"2024-01-03T00:00:00Z\", \"d\": 7, \"g\": false, \"h\": \"late\"}",
  };
  for (size_t i = 0; i < 2; i++) produce(g_prod, "mixed", 0, NULL, msgs[i], strlen(msgs[i]));
  flush(g_prod);
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("mixed", NULL, false, 0, &o, &err), &err);
  static const struct {
    const char *name;
    td_type_id type;
  } want[] = {{"a", TD_TYPE_INT64}, {"b", TD_TYPE_FLOAT64}, {"c", TD_TYPE_TIMESTAMP}, {"d", TD_TYPE_UTF8},
              {"e", TD_TYPE_UTF8},  {"f", TD_TYPE_UTF8},    {"g", TD_TYPE_BOOL},      {"h", TD_TYPE_UTF8}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    int64_t c = td_table_column_index(o.t, want[i].name);
    if (c < 0) fail_msg("no column %s", want[i].name);
    assert_int_equal(td_table_column_type(o.t, c), want[i].type);
  }
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 0, 2, &a, &err), &err);
  assert_true(cell(o.t, &a, 0, "b").v.f == 2.0);
  assert_int_equal(cell(o.t, &a, 1, "c").v.i, 1704240000000000000LL);
  td_value d = cell(o.t, &a, 1, "d"), e = cell(o.t, &a, 0, "e");
  assert_memory_equal(d.v.s.ptr, "7", 1);
  assert_int_equal(e.v.s.len, strlen("{\"n\":[1]}"));
  assert_true(cell(o.t, &a, 0, "f").is_null && cell(o.t, &a, 0, "h").is_null && cell(o.t, &a, 0, "key").is_null);
  a.release(&a);
  close_table(&o);

  /* CSV lines, sampled with the names given, and declared. */
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "csv", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const char *lines[] = {"1,2.5,hello\n", "2,3,\"a, b\"", "3,,"};
  for (size_t i = 0; i < 3; i++) produce(g_prod, "csv", 0, NULL, lines[i], strlen(lines[i]));
  flush(g_prod);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.format = "csv";
  ko.columns = "n,x,s";
  TD_ASSERT_OK(open_table("csv", &ko, false, 0, &o, &err), &err);
  assert_int_equal(td_table_column_type(o.t, td_table_column_index(o.t, "n")), TD_TYPE_INT64);
  assert_int_equal(td_table_column_type(o.t, td_table_column_index(o.t, "x")), TD_TYPE_FLOAT64);
  assert_int_equal(td_table_column_type(o.t, td_table_column_index(o.t, "s")), TD_TYPE_UTF8);
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 0, 3, &a, &err), &err);
  td_value s = cell(o.t, &a, 1, "s");
  assert_int_equal(s.v.s.len, 4);
  assert_memory_equal(s.v.s.ptr, "a, b", 4);
  assert_true(cell(o.t, &a, 2, "x").is_null);
  a.release(&a);
  close_table(&o);
  ko.columns = NULL;
  ko.schema = "n int32, x float32, s utf8";
  TD_ASSERT_OK(open_table("csv", &ko, false, 0, &o, &err), &err);
  assert_int_equal(td_table_column_type(o.t, td_table_column_index(o.t, "n")), TD_TYPE_INT32);
  assert_int_equal(td_table_size(o.t), 3);
  close_table(&o);

  /* Declared schemas that do not parse, and names the backend uses. */
  td_kafka_backend *kb;
  ko.schema = "n int33";
  assert_int_equal(td_kafka_backend_new(g_bs, "csv", &ko, &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "found 'n int33'");
  ko.schema = "offset int64, n int32";
  assert_int_equal(td_kafka_backend_new(g_bs, "csv", &ko, &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "a column named 'offset'");
  ko.schema = NULL;
  ko.format = "avro";
  assert_int_equal(td_kafka_backend_new(g_bs, "csv", &ko, &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "expected json, csv or arrow");
  /* An empty topic has nothing to sample. */
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "empty", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(td_kafka_backend_new(g_bs, "empty", NULL, &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "topic 'empty' has no record to sample a schema from");
}

/* ---- bad payloads ---- */

static void test_bad_payloads(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "bad", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int64_t i = 0; i < 10; i++) produce_json("bad", 0, i);
  produce(g_prod, "bad", 0, NULL, "not json {", 10);                       /* offset 10 */
  produce(g_prod, "bad", 0, NULL, "{\"id\": \"abc\"}", 13);                /* offset 11 */
  produce(g_prod, "bad", 0, NULL, "[1, 2]", 6);                            /* offset 12 */
  produce(g_prod, "bad", 0, "\xff\x01", "{\"id\": 1.5}", 11);                 /* offset 13 */
  flush(g_prod);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  td_kafka_backend *kb;
  td_error err;
  /* Sampling meets the bad record. */
  assert_int_equal(td_kafka_backend_new(g_bs, "bad", &ko, &kb, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "topic 'bad' partition 0 offset 10: sampling the schema: the payload is not JSON");
  ko.sample = 5;
  ko.index_step = 4;
  opened o;
  TD_ASSERT_OK(open_table("bad", &ko, false, 10, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), 14);
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 0, 10, &a, &err), &err);
  a.release(&a);
  assert_int_not_equal(td_table_read(o.t, NULL, 0, 10, 11, &a, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "topic 'bad' partition 0 offset 10 (row 10): the payload is not JSON");
  close_table(&o);
  /* Each bad record alone (pages of one row). */
  static const char *why[] = {"offset 11 (row 11): field 'id': expected int64, found a string",
                              "offset 12 (row 12): expected a JSON object, found an array",
                              "offset 13 (row 13): field 'id': expected int64, found a real number"};
  TD_ASSERT_OK(open_table("bad", &ko, false, 1, &o, &err), &err);
  for (int i = 0; i < 3; i++) {
    assert_int_not_equal(td_table_read(o.t, NULL, 0, 11 + i, 12 + i, &a, &err), TD_OK);
    TD_ASSERT_CONTAINS(err.message, why[i]);
  }
  /* The key that is not UTF-8 reads as hex (key column alone: its own page). */
  int64_t kc = td_table_column_index(o.t, "key");
  TD_ASSERT_OK(td_table_read(o.t, &kc, 1, 9, 10, &a, &err), &err);
  a.release(&a);
  close_table(&o);
  ko.schema = "id utf8";
  TD_ASSERT_OK(open_table("bad", &ko, false, 1, &o, &err), &err);
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 13, 14, &a, &err), &err);
  td_value k = cell(o.t, &a, 0, "key");
  assert_int_equal(k.v.s.len, 6);
  assert_memory_equal(k.v.s.ptr, "0xff01", 6);
  a.release(&a);
  close_table(&o);
}

/* ---- Arrow IPC payloads ---- */

/* Message m of an Arrow topic: 1 + m % 4 rows with ids m * 10 + j, sym
 * "S<id>" but null at j == 1, px id + 0.5 (int64 ids when `px_int`), in
 * two record batches when it has three rows or more; key "k<m>". */
static char *arrow_payload(int64_t m, bool px_int, size_t *len) {
  int64_t rows = 1 + m % 4;
  const char *names[] = {"id", "sym", "px"};
  td_type_id types[] = {TD_TYPE_INT64, TD_TYPE_UTF8, px_int ? TD_TYPE_INT64 : TD_TYPE_FLOAT64};
  const char *tzs[] = {NULL, NULL, NULL};
  struct ArrowSchema as;
  td_schema sch;
  td_error err;
  TD_ASSERT_OK(td_schema_make(3, names, types, tzs, &as, &err), &err);
  TD_ASSERT_OK(td_schema_import(&as, &sch, &err), &err);
  as.release(&as);
  FILE *f = tmpfile();
  assert_non_null(f);
  td_ipc_stream_writer *w;
  TD_ASSERT_OK(td_ipc_stream_writer_open(fileno(f), &sch, &w, &err), &err);
  td_schema_reset(&sch);
  int64_t split = rows >= 3 ? 2 : rows;
  for (int64_t lo = 0; lo < rows; lo = split, split = rows) {
    td_builder *bs[3];
    for (int c = 0; c < 3; c++) TD_ASSERT_OK(td_builder_new(types[c], &bs[c], &err), &err);
    for (int64_t j = lo; j < split; j++) {
      int64_t id = m * 10 + j;
      char sym[32];
      snprintf(sym, sizeof sym, "S%lld", (long long)id);
      TD_ASSERT_OK(td_builder_append_int(bs[0], id, &err), &err);
      TD_ASSERT_OK(j == 1 ? td_builder_append_null(bs[1], &err) : td_builder_append_str(bs[1], sym, -1, &err), &err);
      TD_ASSERT_OK(px_int ? td_builder_append_int(bs[2], id, &err) : td_builder_append_double(bs[2], (double)id + 0.5, &err),
                   &err);
    }
    struct ArrowArray cols[3], batch;
    for (int c = 0; c < 3; c++) {
      TD_ASSERT_OK(td_builder_finish(bs[c], &cols[c], &err), &err);
      td_builder_free(bs[c]);
    }
    TD_ASSERT_OK(td_batch_make(3, cols, &batch, &err), &err);
    TD_ASSERT_OK(td_ipc_stream_writer_write(w, &batch, &err), &err);
    batch.release(&batch);
  }
  TD_ASSERT_OK(td_ipc_stream_writer_close(w, &err), &err);
  long n = ftell(f);
  assert_true(n > 0);
  char *b = malloc((size_t)n);
  rewind(f);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void produce_arrow(const char *topic, int32_t partition, int64_t m, bool px_int) {
  size_t len;
  char *b = arrow_payload(m, px_int, &len), k[32];
  snprintf(k, sizeof k, "k%lld", (long long)m);
  produce(g_prod, topic, partition, k, b, len);
  free(b);
}

/* Checks that `t` holds exactly messages 0 .. n_msgs - 1 of arrow_payload,
 * message m in partition m % 2 at offset m / 2, partition by partition;
 * returns the number of rows. */
static int64_t check_arrow_rows(td_table *t, int64_t n_msgs) {
  td_error err;
  int64_t n = td_table_size(t), r = 0;
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, n, &a, &err), &err);
  for (int64_t p = 0; p < 2; p++)
    for (int64_t m = p; m < n_msgs; m += 2)
      for (int64_t j = 0; j < 1 + m % 4; j++, r++) {
        assert_true(r < n);
        int64_t id = m * 10 + j;
        assert_int_equal(cell(t, &a, r, "partition").v.i, p);
        assert_int_equal(cell(t, &a, r, "offset").v.i, m / 2);
        assert_int_equal(cell(t, &a, r, "id").v.i, id);
        td_value sym = cell(t, &a, r, "sym");
        if (j == 1) {
          assert_true(sym.is_null);
        } else {
          char want[32];
          snprintf(want, sizeof want, "S%lld", (long long)id);
          assert_false(sym.is_null);
          assert_int_equal(sym.v.s.len, strlen(want));
          assert_memory_equal(sym.v.s.ptr, want, sym.v.s.len);
        }
        assert_true(cell(t, &a, r, "px").v.f == (double)id + 0.5);
        td_value k = cell(t, &a, r, "key");
        char want[32];
        snprintf(want, sizeof want, "k%lld", (long long)m);
        assert_int_equal(k.v.s.len, strlen(want));
        assert_memory_equal(k.v.s.ptr, want, k.v.s.len);
        assert_false(cell(t, &a, r, "timestamp").is_null);
      }
  assert_int_equal(r, n);
  a.release(&a);
  return n;
}

/* Rows of messages 0 .. n_msgs - 1. */
static int64_t arrow_rows(int64_t n_msgs) {
  int64_t n = 0;
  for (int64_t m = 0; m < n_msgs; m++) n += 1 + m % 4;
  return n;
}

/* A static table of Arrow IPC payloads (1 to 4 rows each, nulls, two
 * batches in some): its schema is the first record's, pages and index
 * entries start inside records, and the table equals what was produced. */
static void test_arrow_static(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "arrow", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int64_t m = 0; m < 41; m++) produce_arrow("arrow", (int32_t)(m % 2), m, false);
  flush(g_prod);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.format = "arrow";
  ko.index_step = 3;
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("arrow", &ko, false, 4, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), arrow_rows(41));
  static const struct {
    const char *name;
    td_type_id type;
  } want[] = {{"id", TD_TYPE_INT64},  {"sym", TD_TYPE_UTF8},  {"px", TD_TYPE_FLOAT64},  {"key", TD_TYPE_UTF8},
              {"timestamp", TD_TYPE_TIMESTAMP_MS}, {"offset", TD_TYPE_INT64}, {"partition", TD_TYPE_INT32}};
  assert_int_equal(td_table_num_columns(o.t), 7);
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    int64_t c = td_table_column_index(o.t, want[i].name);
    if (c < 0) fail_msg("no column %s", want[i].name);
    assert_int_equal(td_table_column_type(o.t, c), want[i].type);
  }
  assert_int_equal(check_arrow_rows(o.t, 41), arrow_rows(41));
  /* Row 2 of message 7 (partition 1's fourth record, after messages 1, 3
   * and 5) alone: a page that starts and ends inside a record. */
  int64_t p1 = 0;
  for (int64_t m = 0; m < 41; m += 2) p1 += 1 + m % 4;
  int64_t row = p1 + (1 + 1 % 4) + (1 + 3 % 4) + (1 + 5 % 4) + 2, idc = td_table_column_index(o.t, "id");
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(o.t, &idc, 1, row, row + 1, &a, &err), &err);
  assert_int_equal(a.length, 1);
  assert_int_equal(((const int64_t *)a.children[0]->buffers[1])[a.children[0]->offset], 72);
  a.release(&a);
  close_table(&o);
  /* A declared schema reads the same. */
  ko.schema = "id int64, sym utf8, px float64";
  TD_ASSERT_OK(open_table("arrow", &ko, false, 5, &o, &err), &err);
  assert_int_equal(check_arrow_rows(o.t, 41), arrow_rows(41));
  close_table(&o);
  /* The URI source: kafka://...?format=arrow. */
  char src[600];
  snprintf(src, sizeof src, "kafka://%s/arrow?format=arrow&index_step=5", g_bs);
  memset(&o, 0, sizeof o);
  TD_ASSERT_OK(td_kafka_backend_open_source(src, &o.kb, &err), &err);
  TD_ASSERT_OK(td_service_new(td_kafka_backend_backend(o.kb), NULL, &o.svc, &err), &err);
  td_table_key *k;
  TD_ASSERT_OK(td_table_key_new("arrow", &k, &err), &err);
  td_table_options to;
  td_table_options_init(&to);
  TD_ASSERT_OK(td_make_table(o.svc, k, &to, &o.t, &err), &err);
  td_table_key_release(k);
  assert_int_equal(check_arrow_rows(o.t, 41), arrow_rows(41));
  close_table(&o);
}

static void *arrow_write_main(void *arg) {
  writer *w = arg;
  for (int64_t m = w->from; m < w->from + w->n; m++) {
    produce_arrow(w->topic, (int32_t)(m % 2), m, false);
    if (m % 50 == 0) usleep(2000);
  }
  rd_kafka_flush(g_prod, 10000);
  return NULL;
}

/* A live table of Arrow IPC payloads follows a producer. */
static void test_arrow_live(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "arrow_live", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int64_t m = 0; m < 6; m++) produce_arrow("arrow_live", (int32_t)(m % 2), m, false);
  flush(g_prod);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.format = "arrow";
  ko.index_step = 16;
  ko.poll_ms = 50;
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("arrow_live", &ko, true, 32, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), arrow_rows(6));
  writer w = {"arrow_live", 2, 6, 1000};
  pthread_t th;
  pthread_create(&th, NULL, arrow_write_main, &w);
  pthread_join(th, NULL);
  TD_ASSERT_OK(td_table_wait(o.t, 0, arrow_rows(1006), 20000, &err), &err);
  assert_int_equal(check_arrow_rows(o.t, 1006), arrow_rows(1006));
  close_table(&o);
}

/* A record whose schema is not the table's, and one that is no IPC stream,
 * fail reads of their rows naming topic, partition, offset and why; the
 * rows before them read. */
static void test_arrow_bad(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "arrow_bad", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  produce_arrow("arrow_bad", 0, 2, false);            /* offset 0: rows 0..2 */
  produce_arrow("arrow_bad", 0, 3, true);             /* offset 1: rows 3..6, px int64 */
  produce(g_prod, "arrow_bad", 0, "g", "garbage", 7); /* offset 2: row 7 */
  size_t len;
  char *cut = arrow_payload(1, false, &len);
  produce(g_prod, "arrow_bad", 0, "c", cut, len - 20); /* offset 3: row 8, a stream cut short */
  free(cut);
  flush(g_prod);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.format = "arrow";
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("arrow_bad", &ko, false, 1, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), 9);
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 0, 3, &a, &err), &err);
  assert_int_equal(a.length, 3);
  a.release(&a);
  assert_int_not_equal(td_table_read(o.t, NULL, 0, 4, 5, &a, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "topic 'arrow_bad' partition 0 offset 1 (row 4): column 'px' of the message's "
                                  "Arrow schema is int64, the table's is float64");
  assert_int_not_equal(td_table_read(o.t, NULL, 0, 7, 8, &a, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "topic 'arrow_bad' partition 0 offset 2 (row 7): not an Arrow IPC stream");
  assert_int_not_equal(td_table_read(o.t, NULL, 0, 8, 9, &a, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "topic 'arrow_bad' partition 0 offset 3 (row 8): not an Arrow IPC stream");
  close_table(&o);
  /* A garbage first record: no schema to take. */
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "arrow_garbage", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  produce(g_prod, "arrow_garbage", 0, NULL, "{\"id\": 1}", 9);
  flush(g_prod);
  td_kafka_backend *kb;
  assert_int_equal(td_kafka_backend_new(g_bs, "arrow_garbage", &ko, &kb, &err), TD_EFORMAT);
  TD_ASSERT_CONTAINS(err.message, "topic 'arrow_garbage' partition 0 offset 0: taking the schema: not an Arrow IPC stream");
  ko.format = "avro";
  assert_int_equal(td_kafka_backend_new(g_bs, "arrow_garbage", &ko, &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "expected json, csv or arrow");
}

/* ---- lazy reads ---- */

static void test_lazy(void **state) {
  (void)state;
  assert_int_equal(rd_kafka_mock_topic_create(g_mock, "lazy", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int64_t i = 0; i < 5000; i++) produce_json("lazy", 0, i);
  flush(g_prod);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.index_step = 256;
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("lazy", &ko, false, 100, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), 5000);
  td_kafka_stats before, after;
  td_kafka_backend_stats(o.kb, &before);
  assert_int_equal(before.values_consumed, 0);
  assert_int_equal(before.index_entries, (5000 + 255) / 256);
  int64_t c = td_table_column_index(o.t, "id");
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(o.t, &c, 1, 4950, 4960, &a, &err), &err);
  a.release(&a);
  td_kafka_backend_stats(o.kb, &after);
  /* One page (rows 4900..4999) from the index entry at row 4864. */
  assert_int_equal(after.values_decoded - before.values_decoded, 100);
  assert_int_equal(after.values_consumed - before.values_consumed, 4999 - 4864 + 1);
  /* Another column of the same page: from the stash, nothing consumed. */
  c = td_table_column_index(o.t, "sym");
  TD_ASSERT_OK(td_table_read(o.t, &c, 1, 4950, 4960, &a, &err), &err);
  a.release(&a);
  td_kafka_backend_stats(o.kb, &before);
  assert_int_equal(before.values_consumed, after.values_consumed);
  /* A middle page (rows 2000..2099): from the entry at row 1792 up to the
   * entry after the page (row 2304), which is verified too. */
  c = td_table_column_index(o.t, "id");
  TD_ASSERT_OK(td_table_read(o.t, &c, 1, 2000, 2001, &a, &err), &err);
  assert_int_equal(((const int64_t *)a.children[0]->buffers[1])[a.children[0]->offset], 2000);
  a.release(&a);
  td_kafka_backend_stats(o.kb, &after);
  assert_int_equal(after.values_decoded - before.values_decoded, 100);
  assert_int_equal(after.values_consumed - before.values_consumed, 2304 - 1792 + 1);
  close_table(&o);
}

/* ---- sources and the CLI ---- */

static void test_sources(void **state) {
  (void)state;
  char src[600];
  td_kafka_backend *kb;
  td_error err;
  snprintf(src, sizeof src, "kafka://%s/static?format=json&index_step=7&fetch.wait.max.ms=5", g_bs);
  assert_true(td_kafka_is_source(src));
  TD_ASSERT_OK(td_kafka_backend_open_source(src, &kb, &err), &err);
  assert_string_equal(td_kafka_backend_table_name(kb), "static");
  td_kafka_backend_release(kb);
  snprintf(src, sizeof src, "kafka('%s', 'csv', format => 'csv', schema => 'a int64, b float64, c utf8')", g_bs);
  TD_ASSERT_OK(td_kafka_backend_open_source(src, &kb, &err), &err);
  td_kafka_backend_release(kb);
  snprintf(src, sizeof src, "kafka://%s/static?colour=red", g_bs);
  assert_int_equal(td_kafka_backend_open_source(src, &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "unknown option 'colour'");
  snprintf(src, sizeof src, "kafka://%s/static?no.such.property=1", g_bs);
  assert_int_equal(td_kafka_backend_open_source(src, &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "librdkafka property 'no.such.property=1'");
  assert_int_equal(td_kafka_backend_open_source("kafka://host-only", &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "expected kafka://host:port");
  assert_int_equal(td_kafka_backend_open_source("kafka('one')", &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "expected kafka('host:port', 'topic'");
  /* The mock creates a topic a metadata request names (a real broker
   * answers UNKNOWN_TOPIC_OR_PART: TD_ENOTFOUND "topic ... does not
   * exist"), so here the new topic is empty. */
  snprintf(src, sizeof src, "kafka://%s/nosuchtopic?timeout_ms=3000", g_bs);
  assert_int_equal(td_kafka_backend_open_source(src, &kb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "topic 'nosuchtopic' has no record to sample a schema from");
  assert_int_equal(td_kafka_backend_open_source("kafka://127.0.0.1:1/t?timeout_ms=500", &kb, &err), TD_EIO);
  TD_ASSERT_CONTAINS(err.message, "cannot reach brokers '127.0.0.1:1'");
}

static void run_cli(const char *args, char *out, size_t size) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s %s 2>&1", TD_CLI, args);
  td_test_run(cmd, out, size);
}

static void test_cli(void **state) {
  (void)state;
  char args[1024], out[8192];
  snprintf(args, sizeof args,
           "query --format csv \"SELECT partition, count(*) AS n, sum(id) AS s FROM kafka('%s', 'static', format => "
           "'json') GROUP BY partition ORDER BY partition\"",
           g_bs);
  run_cli(args, out, sizeof out);
  assert_string_equal(out, "partition,n,s\n0,100,14850\n1,100,14950\n2,100,15050\n");
  snprintf(args, sizeof args, "query --format csv \"SELECT id, key FROM 'kafka://%s/static' WHERE id = 41\"", g_bs);
  run_cli(args, out, sizeof out);
  assert_string_equal(out, "id,key\n41,k41\n");
  snprintf(args, sizeof args,
           "follow --format csv --duration 1 --period 100 \"SELECT count(*) AS n FROM 'kafka://%s/static'\"", g_bs);
  run_cli(args, out, sizeof out);
  TD_ASSERT_CONTAINS(out, "300");
  snprintf(args, sizeof args, "query \"SELECT * FROM kafka('%s', 'static', format => 'xml')\"", g_bs);
  run_cli(args, out, sizeof out);
  TD_ASSERT_CONTAINS(out, "format 'xml': expected json, csv or arrow");
}

/* tabledata serve --source NAME=kafka://...: the topic answers queries over
 * HTTP (a request on a raw socket; the port the server prints). */
static void test_serve(void **state) {
  (void)state;
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s serve --port 0 --duration 5 --source k=kafka://%s/static 2>&1", TD_CLI, g_bs);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  char line[512] = "";
  int port = 0;
  while (!port && fgets(line, sizeof line, f)) {
    char *p = strstr(line, "http://127.0.0.1:");
    if (p) port = atoi(p + strlen("http://127.0.0.1:"));
  }
  if (!port) fail_msg("serve printed no port: %s", line);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  const char *sql = "SELECT count(*) AS n, sum(id) AS s FROM k";
  char req[512];
  int n = snprintf(req, sizeof req,
                   "POST /api/query?format=json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                   "%zu\r\n\r\n%s",
                   strlen(sql), sql);
  assert_int_equal(write(fd, req, (size_t)n), n);
  char resp[4096];
  size_t got = 0;
  ssize_t r;
  while (got < sizeof resp - 1 && (r = read(fd, resp + got, sizeof resp - 1 - got)) > 0) got += (size_t)r;
  resp[got] = 0;
  close(fd);
  TD_ASSERT_CONTAINS(resp, "200");
  TD_ASSERT_CONTAINS(resp, "{\"n\":300,\"s\":44850}");
  pclose(f);
}

static int setup(void **state) {
  (void)state;
  char e[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "log_level", "0", e, sizeof e);
  g_mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  if (!g_mock_rk) return -1;
  g_mock = rd_kafka_mock_cluster_new(g_mock_rk, 1);
  if (!g_mock) return -1;
  g_bs = rd_kafka_mock_cluster_bootstraps(g_mock);
  g_prod = producer_new(NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  rd_kafka_destroy(g_prod);
  rd_kafka_mock_cluster_destroy(g_mock);
  rd_kafka_destroy(g_mock_rk);
  return 0;
}

int main(void) {
  printf("test_kafka: librdkafka %s mock cluster (no transaction markers or compaction: test_kafka_broker runs "
         "a real broker)\n",
         rd_kafka_version_str());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static),       cmocka_unit_test(test_live),
      cmocka_unit_test(test_head_deleted), cmocka_unit_test(test_retention_under_table),
      cmocka_unit_test(test_transactions), cmocka_unit_test(test_sampling),
      cmocka_unit_test(test_bad_payloads), cmocka_unit_test(test_lazy),
      cmocka_unit_test(test_sources),      cmocka_unit_test(test_cli),
      cmocka_unit_test(test_serve),        cmocka_unit_test(test_arrow_static),
      cmocka_unit_test(test_arrow_live),   cmocka_unit_test(test_arrow_bad),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
