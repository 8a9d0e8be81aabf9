/*
 * bench/bench_kafka.c - the Kafka backend on librdkafka's in-process mock
 * cluster, against a plain librdkafka consumer loop decoding the same JSON
 * with the same library (jansson):
 *   1. throughput: rows/s from the first produce until all N rows are
 *      visible in a live table (counted, then read and decoded), against
 *      the consumer loop receiving and decoding the same N records;
 *   2. latency: produce -> listener p50/p99 (the listener reads the new
 *      rows' values, which carry their send time), against produce -> the
 *      consumer loop's decode.
 * Usage: bench_kafka [rows (default 100000)] [latency samples (default 500)]
 */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tabledata.h"
#include "tabledata/kafka_backend.h"

#define PARTS 4
static const char *g_bs;
static atomic_int g_plain_ready; /* the plain consumer reached the partition's end once */
static const char *k_schema = "id int64, sym utf8, px float64, t int64";

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, const char *msg) {
  fprintf(stderr, "bench_kafka: %s: %s\n", what, msg);
  exit(1);
}

static rd_kafka_t *producer(void) {
  char e[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", g_bs, e, sizeof e);
  rd_kafka_conf_set(c, "linger.ms", "0", e, sizeof e);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  if (!p) die("producer", e);
  return p;
}

static void produce(rd_kafka_t *p, const char *topic, int64_t id, int32_t part) {
  char b[160];
  int n = snprintf(b, sizeof b, "{\"id\": %lld, \"sym\": \"S%lld\", \"px\": %lld.25, \"t\": %lld}", (long long)id,
                   (long long)(id % 50), (long long)(id % 1000), (long long)now_ns());
  while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(b, (size_t)n),
                           RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
    rd_kafka_poll(p, 1);
}

typedef struct prod_args {
  const char *topic;
  int64_t n;
  int parts;
  int64_t gap_us; /* between records (latency runs) */
} prod_args;

static void *produce_main(void *arg) {
  prod_args *a = arg;
  rd_kafka_t *p = producer();
  for (int64_t i = 0; i < a->n; i++) {
    produce(p, a->topic, i, (int32_t)(i % a->parts));
    if (a->gap_us) {
      rd_kafka_poll(p, 0);
      usleep((useconds_t)a->gap_us);
    }
  }
  if (rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("producer", "records not delivered within 120 s");
  rd_kafka_destroy(p);
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* ---- tabledata ---- */

typedef struct lat_ctx {
  int64_t *lat;
  int64_t n, cap;
  int64_t tcol;
} lat_ctx;

static void on_update(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  lat_ctx *l = ctx;
  if (e || !u) return;
  struct ArrowArray a;
  td_error err;
  if (td_table_read(t, &l->tcol, 1, u->size_before, u->size_after, &a, &err) != TD_OK) die("read", err.message);
  int64_t now = now_ns();
  const int64_t *v = (const int64_t *)a.children[0]->buffers[1] + a.children[0]->offset;
  for (int64_t i = 0; i < a.length && l->n < l->cap; i++) l->lat[l->n++] = now - v[i];
  a.release(&a);
}

static td_table *open_live(const char *topic, td_kafka_backend **kb, td_service **svc) {
  td_error err;
  td_kafka_options ko;
  td_kafka_options_init(&ko);
  ko.schema = k_schema;
  if (td_kafka_backend_new(g_bs, topic, &ko, kb, &err)) die("backend", err.message);
  td_service_options so;
  td_service_options_init(&so);
  so.update_period_ms = 0;
  if (td_service_new(td_kafka_backend_backend(*kb), &so, svc, &err)) die("service", err.message);
  td_table_key *k;
  td_table_key_new(topic, &k, &err);
  td_table_options to;
  td_table_options_init(&to);
  to.refreshing = true;
  td_table *t;
  if (td_make_table(*svc, k, &to, &t, &err)) die("table", err.message);
  td_table_key_release(k);
  return t;
}

static void td_throughput(int64_t n, double *counted_rps, double *read_rps) {
  td_kafka_backend *kb;
  td_service *svc;
  td_table *t = open_live("tp_td", &kb, &svc);
  prod_args pa = {"tp_td", n, PARTS, 0};
  pthread_t th;
  int64_t t0 = now_ns();
  pthread_create(&th, NULL, produce_main, &pa);
  td_error err;
  if (td_table_wait(t, 0, n, 120000, &err)) die("wait", err.message);
  int64_t t1 = now_ns();
  struct ArrowArray a;
  if (td_table_read(t, NULL, 0, 0, n, &a, &err)) die("read", err.message);
  int64_t t2 = now_ns();
  a.release(&a);
  pthread_join(th, NULL);
  *counted_rps = (double)n / ((double)(t1 - t0) * 1e-9);
  *read_rps = (double)n / ((double)(t2 - t0) * 1e-9);
  td_table_release(t);
  td_service_free(svc);
  td_kafka_backend_release(kb);
}

static void td_latency(int64_t n, int64_t *lat) {
  td_kafka_backend *kb;
  td_service *svc;
  td_table *t = open_live("lat_td", &kb, &svc);
  lat_ctx l = {lat, 0, n, td_table_column_index(t, "t")};
  td_error err;
  if (td_table_add_listener(t, on_update, &l, NULL, &err)) die("listener", err.message);
  prod_args pa = {"lat_td", n, 1, 2000};
  pthread_t th;
  pthread_create(&th, NULL, produce_main, &pa);
  pthread_join(th, NULL);
  if (td_table_wait(t, 0, n, 60000, &err)) die("wait", err.message);
  usleep(200000);
  td_table_release(t);
  td_service_free(svc);
  td_kafka_backend_release(kb);
  if (l.n != n) fprintf(stderr, "bench_kafka: the listener saw %lld of %lld rows\n", (long long)l.n, (long long)n);
}

/* ---- the plain consumer loop ---- */

/* Consumes `n` records of `topic` from the beginning, decoding each JSON
 * payload's fields as the backend does; latencies into lat when given. */
static void plain_consume(const char *topic, int parts, int64_t n, int64_t *lat) {
  char e[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", g_bs, e, sizeof e);
  rd_kafka_conf_set(c, "group.id", "plain", e, sizeof e);
  rd_kafka_conf_set(c, "fetch.wait.max.ms", "10", e, sizeof e); /* as the backend sets them */
  rd_kafka_conf_set(c, "fetch.error.backoff.ms", "20", e, sizeof e);
  rd_kafka_conf_set(c, "enable.auto.commit", "false", e, sizeof e);
  rd_kafka_conf_set(c, "enable.partition.eof", "true", e, sizeof e);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; p++) rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  int64_t got = 0, sum = 0;
  while (got < n) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) atomic_store(&g_plain_ready, 1);
    if (!m->err) {
      json_t *j = json_loadb(m->payload, m->len, 0, NULL);
      if (!j) die("plain", "bad JSON");
      sum += json_integer_value(json_object_get(j, "id")) + (int64_t)json_string_length(json_object_get(j, "sym"));
      double px = json_real_value(json_object_get(j, "px"));
      int64_t t = json_integer_value(json_object_get(j, "t"));
      if (lat) lat[got] = now_ns() - t;
      sum += (int64_t)px;
      json_decref(j);
      got++;
    }
    rd_kafka_message_destroy(m);
  }
  if (sum == -1) printf("(%lld)\n", (long long)sum);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

typedef struct plain_args {
  const char *topic;
  int parts;
  int64_t n;
  int64_t *lat;
} plain_args;

static void *plain_main(void *arg) {
  plain_args *a = arg;
  plain_consume(a->topic, a->parts, a->n, a->lat);
  return NULL;
}

static double plain_throughput(int64_t n) {
  atomic_store(&g_plain_ready, 0);
  prod_args pa = {"tp_plain", n, PARTS, 0};
  plain_args ca = {"tp_plain", PARTS, n, NULL};
  pthread_t tp, tc;
  int64_t t0 = now_ns();
  pthread_create(&tc, NULL, plain_main, &ca);
  pthread_create(&tp, NULL, produce_main, &pa);
  pthread_join(tc, NULL);
  int64_t t1 = now_ns();
  pthread_join(tp, NULL);
  return (double)n / ((double)(t1 - t0) * 1e-9);
}

static void plain_latency(int64_t n, int64_t *lat) {
  atomic_store(&g_plain_ready, 0);
  prod_args pa = {"lat_plain", n, 1, 2000};
  plain_args ca = {"lat_plain", 1, n, lat};
  pthread_t tp, tc;
  pthread_create(&tc, NULL, plain_main, &ca);
  while (!atomic_load(&g_plain_ready)) usleep(1000); /* fetching before the first record, as the table's follower */
  pthread_create(&tp, NULL, produce_main, &pa);
  pthread_join(tp, NULL);
  pthread_join(tc, NULL);
}

int main(int argc, char **argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 100000, nl = argc > 2 ? atoll(argv[2]) : 500;
  if (n <= 0 || nl <= 0) die("usage", "bench_kafka [rows] [latency samples]");
  char e[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "log_level", "0", e, sizeof e);
  rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  rd_kafka_mock_cluster_t *mc = mrk ? rd_kafka_mock_cluster_new(mrk, 1) : NULL;
  if (!mc) die("mock cluster", "cannot start");
  g_bs = rd_kafka_mock_cluster_bootstraps(mc);
  const char *topics[] = {"tp_td", "tp_plain"};
  for (int i = 0; i < 2; i++) rd_kafka_mock_topic_create(mc, topics[i], PARTS, 1);
  rd_kafka_mock_topic_create(mc, "lat_td", 1, 1);
  rd_kafka_mock_topic_create(mc, "lat_plain", 1, 1);

  double counted, read_all;
  td_throughput(n, &counted, &read_all);
  double plain = plain_throughput(n);
  printf("kafka (librdkafka %s mock cluster, %d partitions, %lld JSON rows):\n", rd_kafka_version_str(), PARTS,
         (long long)n);
  printf("  produce -> visible in a live table: %.0f rows/s counted, %.0f rows/s read and decoded; "
         "plain consumer loop decoding the same JSON: %.0f rows/s (ratio %.2f)\n",
         counted, read_all, plain, read_all / plain);

  int64_t *lt = calloc((size_t)nl, sizeof *lt), *lp = calloc((size_t)nl, sizeof *lp);
  td_latency(nl, lt);
  plain_latency(nl, lp);
  qsort(lt, (size_t)nl, sizeof *lt, cmp_i64);
  qsort(lp, (size_t)nl, sizeof *lp, cmp_i64);
  double t50 = (double)lt[nl / 2] * 1e-6, t99 = (double)lt[nl * 99 / 100] * 1e-6;
  double p50 = (double)lp[nl / 2] * 1e-6, p99 = (double)lp[nl * 99 / 100] * 1e-6;
  printf("  produce -> listener (values read), %lld records at 500/s: p50 %.2f ms, p99 %.2f ms; plain consumer "
         "loop: p50 %.2f ms, p99 %.2f ms (ratio p50 %.1f, p99 %.1f)\n",
         (long long)nl, t50, t99, p50, p99, t50 / p50, t99 / p99);
  free(lt);
  free(lp);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(mrk);
  return 0;
}
