/*
 * tests/backends/kafka/test_kafka_broker.c - the Kafka backend against a real
 * Apache Kafka cluster (KRaft), started by broker_test.sh, which passes the
 * brokers in TD_KAFKA_BROKER, their number in TD_KAFKA_NODES and a command
 * that stops, starts or restarts node I in TD_KAFKA_CTL.  What librdkafka's
 * mock cluster (test_kafka) cannot show: producers appending while a live
 * table follows (the table equals what was produced), offset holes from an
 * aborted transaction (markers and aborted records) and from compaction
 * leaving no wrong row, a broker restart in the middle of a stream and a
 * partition leader change (its leader stopped; needs 2 nodes or more)
 * losing nothing.  Without TD_KAFKA_BROKER the program skips (77).
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arrow/schema.h"
#include "tabledata.h"
#include "tabledata/kafka_backend.h"
#include "test.h"

static const char *g_bs, *g_ctl;
static int g_nodes;

/* Runs "<TD_KAFKA_CTL> action node". */
static void ctl(const char *action, int node) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s %d", g_ctl, action, node);
  printf("%s\n", cmd);
  fflush(stdout);
  if (system(cmd) != 0) fail_msg("'%s' failed", cmd);
}

/* ---- helpers ---- */

static rd_kafka_conf_t *conf_new(void) {
  char e[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers", g_bs, e, sizeof e), RD_KAFKA_CONF_OK);
  return c;
}

static rd_kafka_t *producer_new(const char *transactional_id) {
  char e[512];
  rd_kafka_conf_t *c = conf_new();
  rd_kafka_conf_set(c, "linger.ms", "1", e, sizeof e);
  rd_kafka_conf_set(c, "enable.idempotence", "true", e, sizeof e); /* retries across a restart add no duplicate */
  if (transactional_id) rd_kafka_conf_set(c, "transactional.id", transactional_id, e, sizeof e);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  if (!p) fail_msg("producer: %s", e);
  return p;
}

/* Creates `topic` with `parts` partitions and the given topic configs. */
static void create_topic(const char *topic, int parts, const char *const *cfg, int n_cfg) {
  char e[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf_new(), e, sizeof e);
  assert_non_null(rk);
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, parts, -1, e, sizeof e); /* the brokers' default replication */
  assert_non_null(nt);
  for (int i = 0; i < n_cfg; i += 2) rd_kafka_NewTopic_set_config(nt, cfg[i], cfg[i + 1]);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
  assert_non_null(ev);
  const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
  assert_non_null(res);
  size_t n;
  const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
  assert_int_equal(n, 1);
  if (rd_kafka_topic_result_error(tr[0])) fail_msg("creating %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_destroy(rk);
  /* Metadata reaches the broker's listeners shortly after. */
  usleep(500000);
}

static void produce(rd_kafka_t *p, const char *topic, int32_t partition, const char *key, const char *payload) {
  rd_kafka_resp_err_t r;
  do {
    r = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)payload, strlen(payload)),
                          RD_KAFKA_V_KEY((void *)key, strlen(key)), RD_KAFKA_V_END);
    if (r == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(p, 10);
  } while (r == RD_KAFKA_RESP_ERR__QUEUE_FULL);
  assert_int_equal(r, RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* The key of record `id`: "k<id % keys>"; with keys 0, "u<id>" (written
 * once) for every third id and "k<id % 10>" (overwritten) for the others,
 * so compaction keeps scattered records. */
static void key_of(int64_t id, int64_t keys, char *k, size_t size) {
  if (keys == 0 && id % 3 == 0) snprintf(k, size, "u%lld", (long long)id);
  else snprintf(k, size, "k%lld", (long long)(id % (keys ? keys : 10)));
}

/* Record `id`: key key_of(id, keys), payload {"id": id, "v": id * 3}. */
static void produce_id(rd_kafka_t *p, const char *topic, int32_t partition, int64_t id, int64_t keys) {
  char b[100], k[32];
  snprintf(b, sizeof b, "{\"id\": %lld, \"v\": %lld}", (long long)id, (long long)(id * 3));
  key_of(id, keys, k, sizeof k);
  produce(p, topic, partition, k, b);
}

static void flush(rd_kafka_t *p) { assert_int_equal(rd_kafka_flush(p, 120000), RD_KAFKA_RESP_ERR_NO_ERROR); }

typedef struct opened {
  td_kafka_backend *kb;
  td_service *svc;
  td_table *t;
} opened;

static void open_table(const char *topic, bool live, opened *o) {
  memset(o, 0, sizeof *o);
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.schema = "id int64, v int64";
  ko.index_step = 64;
  ko.poll_ms = 100;
  ko.timeout_ms = 30000;
  td_error err;
  TD_ASSERT_OK(td_kafka_backend_new(g_bs, topic, &ko, &o->kb, &err), &err);
  td_service_options so;
  td_service_options_init(&so);
  so.update_period_ms = 0;
  so.page_size = 256;
  TD_ASSERT_OK(td_service_new(td_kafka_backend_backend(o->kb), &so, &o->svc, &err), &err);
  td_table_key *k;
  TD_ASSERT_OK(td_table_key_new(topic, &k, &err), &err);
  td_table_options to;
  td_table_options_init(&to);
  to.refreshing = live;
  TD_ASSERT_OK(td_make_table(o->svc, k, &to, &o->t, &err), &err);
  td_table_key_release(k);
}

static void close_table(opened *o) {
  td_table_release(o->t);
  td_service_free(o->svc);
  td_kafka_backend_release(o->kb);
}

/* A table's rows: partition, offset, id, v, key. */
typedef struct rows_t {
  int64_t n;
  int64_t *part, *off, *id, *v;
  char (*key)[16];
} rows_t;

static void read_rows(td_table *t, rows_t *out) {
  td_error err;
  int64_t n = td_table_size(t);
  struct ArrowArray a;
  struct ArrowSchema s;
  TD_ASSERT_OK(td_table_read(t, NULL, 0, 0, n, &a, &err), &err);
  TD_ASSERT_OK(td_table_schema(t, &s, &err), &err);
  out->n = n;
  out->part = calloc((size_t)n + 1, sizeof *out->part);
  out->off = calloc((size_t)n + 1, sizeof *out->off);
  out->id = calloc((size_t)n + 1, sizeof *out->id);
  out->v = calloc((size_t)n + 1, sizeof *out->v);
  out->key = calloc((size_t)n + 1, sizeof *out->key);
  const char *names[5] = {"partition", "offset", "id", "v", "key"};
  for (int c = 0; c < 5; c++) {
    int64_t ci = td_table_column_index(t, names[c]);
    if (ci < 0) fail_msg("no column %s", names[c]);
    for (int64_t r = 0; r < n; r++) {
      td_value v;
      TD_ASSERT_OK(td_arrow_get_value(s.children[ci], a.children[ci], r, &v, &err), &err);
      assert_false(v.is_null);
      switch (c) {
        case 0: out->part[r] = v.v.i; break;
        case 1: out->off[r] = v.v.i; break;
        case 2: out->id[r] = v.v.i; break;
        case 3: out->v[r] = v.v.i; break;
        default: snprintf(out->key[r], sizeof out->key[r], "%.*s", (int)v.v.s.len, v.v.s.ptr); break;
      }
    }
  }
  s.release(&s);
  a.release(&a);
}

static void free_rows(rows_t *r) {
  free(r->part);
  free(r->off);
  free(r->id);
  free(r->v);
  free(r->key);
}

/* What a plain read_committed consumer sees of one partition: offsets and ids. */
static int64_t consume_all(const char *topic, int32_t partition, int64_t **offs, int64_t **ids) {
  char e[512];
  rd_kafka_conf_t *c = conf_new();
  rd_kafka_conf_set(c, "group.id", "td-broker-test-check", e, sizeof e);
  rd_kafka_conf_set(c, "enable.auto.commit", "false", e, sizeof e);
  rd_kafka_conf_set(c, "isolation.level", "read_committed", e, sizeof e);
  rd_kafka_conf_set(c, "enable.partition.eof", "true", e, sizeof e);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
  assert_non_null(rk);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
  assert_int_equal(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(l);
  int64_t n = 0, cap = 1024;
  *offs = malloc((size_t)cap * sizeof **offs);
  *ids = malloc((size_t)cap * sizeof **ids);
  for (int idle = 0; idle < 300;) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) {
      idle++;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      break;
    }
    assert_int_equal(m->err, RD_KAFKA_RESP_ERR_NO_ERROR);
    if (n == cap) {
      cap *= 2;
      *offs = realloc(*offs, (size_t)cap * sizeof **offs);
      *ids = realloc(*ids, (size_t)cap * sizeof **ids);
    }
    long long id = -1;
    char buf[128];
    snprintf(buf, sizeof buf, "%.*s", (int)m->len, (const char *)m->payload);
    assert_int_equal(sscanf(buf, "{\"id\": %lld", &id), 1);
    (*offs)[n] = m->offset;
    (*ids)[n++] = id;
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return n;
}

/* Every row is the record the consumer saw at its offset (per partition,
 * in offset order), with v = 3 id and the key of its id. */
static void assert_table_is_topic(td_table *t, const char *topic, int parts, int64_t keys) {
  rows_t r;
  read_rows(t, &r);
  int64_t at = 0;
  for (int32_t p = 0; p < parts; p++) {
    int64_t *offs, *ids;
    int64_t n = consume_all(topic, p, &offs, &ids);
    for (int64_t i = 0; i < n; i++, at++) {
      assert_true(at < r.n);
      assert_int_equal(r.part[at], p);
      assert_int_equal(r.off[at], offs[i]);
      assert_int_equal(r.id[at], ids[i]);
      assert_int_equal(r.v[at], 3 * ids[i]);
      char k[16];
      key_of(ids[i], keys, k, sizeof k);
      assert_string_equal(r.key[at], k);
    }
    free(offs);
    free(ids);
  }
  assert_int_equal(at, r.n);
  free_rows(&r);
}

/* ---- producers while a live table follows ---- */

typedef struct writer {
  const char *topic;
  int parts;
  int64_t from, to;
  useconds_t pause; /* between records */
} writer;

static void *write_main(void *arg) {
  writer *w = arg;
  rd_kafka_t *p = producer_new(NULL);
  for (int64_t i = w->from; i < w->to; i++) {
    produce_id(p, w->topic, (int32_t)(i % w->parts), i, 1000000);
    rd_kafka_poll(p, 0);
    if (w->pause) usleep(w->pause);
  }
  flush(p);
  rd_kafka_destroy(p);
  return NULL;
}

typedef struct follow_ctx {
  atomic_int cycles, failures;
  char error[TD_ERROR_MESSAGE_SIZE];
} follow_ctx;

static void on_update(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)t, (void)u;
  follow_ctx *f = ctx;
  if (e) {
    snprintf(f->error, sizeof f->error, "%s", e->message);
    atomic_fetch_add(&f->failures, 1);
  } else {
    atomic_fetch_add(&f->cycles, 1);
  }
}

/* Rows of partition p are ids p, p + parts, ... in offset order, consecutive offsets. */
static void assert_ids(td_table *t, int parts, int64_t total) {
  rows_t r;
  read_rows(t, &r);
  assert_int_equal(r.n, total);
  int64_t next[8] = {0}, last_off[8];
  for (int p = 0; p < parts; p++) next[p] = p, last_off[p] = -1;
  for (int64_t i = 0; i < r.n; i++) {
    int64_t p = r.part[i];
    assert_true(p >= 0 && p < parts);
    assert_int_equal(r.id[i], next[p]);
    assert_int_equal(r.v[i], 3 * r.id[i]);
    if (last_off[p] >= 0) assert_true(r.off[i] > last_off[p]);
    last_off[p] = r.off[i];
    next[p] += parts;
  }
  free_rows(&r);
}

static void test_broker_live(void **state) {
  (void)state;
  create_topic("td_live", 2, NULL, 0);
  writer w0 = {"td_live", 2, 0, 20, 0};
  write_main(&w0);
  opened o;
  open_table("td_live", true, &o);
  td_error err;
  follow_ctx f;
  memset(&f, 0, sizeof f);
  TD_ASSERT_OK(td_table_add_listener(o.t, on_update, &f, NULL, &err), &err);
  writer w = {"td_live", 2, 20, 4000, 200};
  pthread_t th;
  pthread_create(&th, NULL, write_main, &w);
  for (int k = 0; k < 5; k++) { /* every snapshot while it grows is a prefix per partition */
    usleep(200000);
    rows_t r;
    read_rows(o.t, &r);
    free_rows(&r);
  }
  pthread_join(th, NULL);
  TD_ASSERT_OK(td_table_wait(o.t, 0, 4000, 60000, &err), &err);
  assert_ids(o.t, 2, 4000);
  assert_table_is_topic(o.t, "td_live", 2, 1000000);
  assert_true(atomic_load(&f.cycles) > 1);
  if (atomic_load(&f.failures)) fail_msg("live table failed: %s", f.error);
  close_table(&o);
}

/* ---- holes ---- */

/* Committed, aborted, committed: the aborted records and the markers leave
 * holes in the offsets; the table has the committed rows only. */
static void test_broker_aborted_transaction(void **state) {
  (void)state;
  create_topic("td_txn", 1, NULL, 0);
  rd_kafka_t *p = producer_new("td-broker-test-txn");
  rd_kafka_error_t *e = rd_kafka_init_transactions(p, 60000);
  if (e) fail_msg("init_transactions: %s", rd_kafka_error_string(e));
  for (int round = 0; round < 3; round++) {
    assert_null(rd_kafka_begin_transaction(p));
    for (int64_t i = 0; i < 50; i++) produce_id(p, "td_txn", 0, round * 50 + i, 1000000);
    flush(p); /* written to the log before the abort (else librdkafka drops them unsent) */
    e = round == 1 ? rd_kafka_abort_transaction(p, 60000) : rd_kafka_commit_transaction(p, 60000);
    if (e) fail_msg("ending transaction %d: %s", round, rd_kafka_error_string(e));
  }
  rd_kafka_destroy(p);
  /* A commit returns before its markers are written: until then the last
   * stable offset (a read_committed reader's end) stays before it. */
  for (int64_t seen = 0, i = 0; seen < 100 && i < 300; i++) {
    int64_t *offs, *ids;
    seen = consume_all("td_txn", 0, &offs, &ids);
    free(offs);
    free(ids);
    if (seen < 100) usleep(100000);
  }
  opened o;
  open_table("td_txn", false, &o);
  rows_t r;
  read_rows(o.t, &r);
  assert_int_equal(r.n, 100);
  int64_t holes = 0;
  for (int64_t i = 0; i < r.n; i++) {
    assert_int_equal(r.id[i], i < 50 ? i : i + 50); /* 50..99 were aborted */
    if (i > 0 && r.off[i] != r.off[i - 1] + 1) holes++;
  }
  assert_int_equal(holes, 1); /* a commit marker, the aborted records and their marker */
  printf("aborted transaction: row 49 at offset %lld, row 50 at %lld\n", (long long)r.off[49], (long long)r.off[50]);
  assert_true(r.off[50] >= r.off[49] + 52);
  free_rows(&r);
  assert_table_is_topic(o.t, "td_txn", 1, 1000000);
  close_table(&o);
}

/* A compacted topic: records of keys written once and of 10 keys
 * overwritten, rolled into closed segments the cleaner compacts; a table opened afterwards has the surviving records
 * only, each the one at its offset. */
static void test_broker_compacted(void **state) {
  (void)state;
  static const char *const cfg[] = {"cleanup.policy",    "compact", "segment.ms",       "100",
                                    "min.cleanable.dirty.ratio", "0.001", "delete.retention.ms", "0",
                                    "min.compaction.lag.ms", "0"};
  create_topic("td_compact", 1, cfg, 10);
  rd_kafka_t *p = producer_new(NULL);
  int64_t id = 0, *offs = NULL, *ids = NULL, n = 0;
  time_t until = time(NULL) + 90;
  do { /* keep writing (each write after segment.ms rolls a segment) until the cleaner ran */
    for (int i = 0; i < 100; i++, id++) produce_id(p, "td_compact", 0, id, 0);
    flush(p);
    usleep(300000);
    free(offs);
    free(ids);
    n = consume_all("td_compact", 0, &offs, &ids);
  } while (n == id && time(NULL) < until);
  rd_kafka_destroy(p);
  free(offs);
  free(ids);
  if (n == id) fail_msg("the broker did not compact td_compact within 90 s (%lld records)", (long long)n);
  /* The cleaner goes on with the segments rolled last: a record the table
   * indexed and the cleaner removed before the read is (rightly) an error
   * of the table, so the table is opened once two reads 2 s apart agree. */
  for (int64_t before = -1; n != before && time(NULL) < until + 60;) {
    before = n;
    sleep(2);
    n = consume_all("td_compact", 0, &offs, &ids);
    free(offs);
    free(ids);
  }
  opened o;
  open_table("td_compact", false, &o);
  rows_t r;
  read_rows(o.t, &r);
  assert_true(r.n < id);
  int64_t holes = 0;
  for (int64_t i = 1; i < r.n; i++) holes += r.off[i] != r.off[i - 1] + 1;
  assert_true(holes > 0);
  assert_int_equal(r.id[r.n - 1], id - 1); /* the latest record survives */
  /* One idempotent producer wrote id i at offset i: every row is the record
   * at its offset (the cleaner may still be running, so no second read is
   * compared), with its own key and value, and every key written once is
   * there. */
  int64_t once = 0;
  for (int64_t i = 0; i < r.n; i++) {
    assert_int_equal(r.off[i], r.id[i]);
    assert_int_equal(r.v[i], 3 * r.id[i]);
    char k[16];
    key_of(r.id[i], 0, k, sizeof k);
    assert_string_equal(r.key[i], k);
    once += r.id[i] % 3 == 0;
  }
  assert_int_equal(once, (id + 2) / 3);
  printf("compacted: %lld records produced, %lld in the table\n", (long long)id, (long long)r.n);
  free_rows(&r);
  close_table(&o);
}

/* ---- a broker restart mid-stream ---- */

/* Follows `topic` (2 partitions) while a writer produces 3000 records at
 * about 500/s and `disrupt` runs after 1 s; the table ends equal to what was
 * produced, and never failed. */
static void follow_through(const char *topic, void (*disrupt)(const char *topic)) {
  create_topic(topic, 2, NULL, 0);
  writer w0 = {topic, 2, 0, 20, 0};
  write_main(&w0);
  opened o;
  open_table(topic, true, &o);
  td_error err;
  follow_ctx f;
  memset(&f, 0, sizeof f);
  TD_ASSERT_OK(td_table_add_listener(o.t, on_update, &f, NULL, &err), &err);
  writer w = {topic, 2, 20, 3000, 2000};
  pthread_t th;
  pthread_create(&th, NULL, write_main, &w);
  usleep(1000000);
  disrupt(topic);
  pthread_join(th, NULL);
  TD_ASSERT_OK(td_table_wait(o.t, 0, 3000, 120000, &err), &err);
  if (atomic_load(&f.failures)) fail_msg("live table failed: %s", f.error);
  assert_ids(o.t, 2, 3000);
  assert_table_is_topic(o.t, topic, 2, 1000000);
  close_table(&o);
}

/* ---- a broker restart mid-stream ---- */

static void restart_node1(const char *topic) {
  (void)topic;
  ctl("restart", 1);
}

static void test_broker_restart(void **state) {
  (void)state;
  follow_through("td_restart", restart_node1);
}

/* ---- a partition leader change mid-stream ---- */

/* The leader of partition p of `topic` (-1: none or unknown). */
static int32_t leader_of(const char *topic, int32_t p) {
  char e[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf_new(), e, sizeof e);
  assert_non_null(rk);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  int32_t leader = -1;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < md->topic_cnt; i++)
      for (int j = 0; j < md->topics[i].partition_cnt; j++)
        if (md->topics[i].partitions[j].id == p && !md->topics[i].partitions[j].err)
          leader = md->topics[i].partitions[j].leader;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return leader;
}

static void stop_leader(const char *topic) {
  int32_t old = leader_of(topic, 0), now = old;
  assert_true(old >= 1 && old <= g_nodes);
  ctl("stop", old);
  for (int i = 0; i < 600 && (now == old || now < 0); i++) {
    usleep(100000);
    now = leader_of(topic, 0);
  }
  printf("partition 0 of %s: leader %d, then %d\n", topic, old, now);
  assert_true(now >= 1 && now != old);
}

static void test_broker_leader_change(void **state) {
  (void)state;
  if (g_nodes < 2) {
    printf("leader change: skipped: one broker (TD_KAFKA_NODES=%d)\n", g_nodes);
    skip();
  }
  follow_through("td_leader", stop_leader);
}

int main(void) {
  g_bs = getenv("TD_KAFKA_BROKER");
  g_ctl = getenv("TD_KAFKA_CTL");
  g_nodes = getenv("TD_KAFKA_NODES") ? atoi(getenv("TD_KAFKA_NODES")) : 1;
  if (!g_bs || !*g_bs || !g_ctl) {
    printf("test_kafka_broker: skipped: TD_KAFKA_BROKER or TD_KAFKA_CTL is not set (run through broker_test.sh)\n");
    return 77;
  }
  printf("test_kafka_broker: Apache Kafka, %d KRaft node(s) at %s\n", g_nodes, g_bs);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_broker_live),
      cmocka_unit_test(test_broker_aborted_transaction),
      cmocka_unit_test(test_broker_compacted),
      cmocka_unit_test(test_broker_restart),
      cmocka_unit_test(test_broker_leader_change),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
