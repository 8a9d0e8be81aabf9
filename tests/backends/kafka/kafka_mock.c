/*
 * tests/backends/kafka/kafka_mock.c - a librdkafka mock cluster in its own
 * process, for tests in other languages (python/tests/test_kafka.py):
 *   kafka_mock TOPIC PARTITIONS
 * prints the bootstrap servers on a line, then for each line N read from
 * stdin produces N more JSON records {"id": i, "sym": "S<i%7>"} (id i to
 * partition i % PARTITIONS), flushes and prints "ok".  Exits at end of input.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: kafka_mock TOPIC PARTITIONS\n");
    return 2;
  }
  int parts = atoi(argv[2]);
  char e[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "log_level", "0", e, sizeof e);
  rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  rd_kafka_mock_cluster_t *mc = mrk ? rd_kafka_mock_cluster_new(mrk, 1) : NULL;
  if (!mc || parts <= 0 || rd_kafka_mock_topic_create(mc, argv[1], parts, 1)) {
    fprintf(stderr, "kafka_mock: cannot start a mock cluster\n");
    return 1;
  }
  const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
  c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", bs, e, sizeof e);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  printf("%s\n", bs);
  fflush(stdout);
  long long id = 0;
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    long long n = atoll(line);
    for (long long i = 0; i < n; i++, id++) {
      char b[100];
      int len = snprintf(b, sizeof b, "{\"id\": %lld, \"sym\": \"S%lld\"}", id, id % 7);
      while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(argv[1]), RD_KAFKA_V_PARTITION((int32_t)(id % parts)),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(b, (size_t)len),
                               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    }
    rd_kafka_flush(p, 10000);
    printf("ok\n");
    fflush(stdout);
  }
  rd_kafka_destroy(p);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(mrk);
  return 0;
}
