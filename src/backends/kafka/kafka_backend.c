/*
 * backends/kafka/kafka_backend.c - the Kafka backend: opening a topic
 * (metadata, schema sampling), the six backend methods, the position index
 * and the follower thread that grows sizes as records arrive.
 *
 * Rows and offsets.  A partition's rows are its records in offset order, as
 * a consumer sees them (read_committed by default: aborted records and
 * transaction markers never show).  Offsets have holes, so each location
 * keeps a position index: entries (row, offset) for rows 0, step, 2*step ...
 * recorded as records are counted (invariant 1: entries only ever append,
 * rows and offsets both increasing).  A location's size `counted` is the
 * number of records seen; `next_offset` is one past the last one.
 *
 * Counting.  Several consumers may see the same records (a size call scans
 * to the end with a pooled handle while the follower consumes ahead); each
 * feeds record() in offset order, starting at next_offset as it was when it
 * started, and record() drops offsets below next_offset.  So every record
 * is counted exactly once, in order (invariant 2): a feeder that delivers
 * offset o has delivered every record between its start and o, and those
 * not counted before were counted by it.
 *
 * Reads.  column_values(row, n) finds the last index entry at or before
 * `row`, assigns a pooled consumer to that entry's offset, checks the first
 * record is that offset (else retention or compaction removed it: the read
 * fails, naming topic, partition and offset), skips to `row`, decodes n
 * records (all columns; the others are stashed for the engine's next
 * requests) and checks every index entry it passes.
 *
 * Threads.  Consumer handles are pooled (one thread uses a handle at a
 * time).  The follower thread owns one handle assigned to every partition
 * with a size subscription.  `mu` guards locations, index, subscriptions
 * and the stash; answers are sent under it, so nothing is sent on a
 * subscription after unsubscribe returns.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/request_list.h"
#include "backends/kafka/kafka_api.h"
#include "backends/kafka/kafka_internal.h"
#include "formats/reader.h"
#include "tabledata/arrow_build.h"
#include "tabledata/kafka_backend.h"
#include "tabledata/keys.h"
#include "util/alloc.h"
#include "util/error.h"

#define PARTITION_COLUMN "partition"
#define STASH_MAX 64
#define STASH_COLUMNS 32
#define POLL_SLICE_MS 50
#define TAIL_ROWS 8192
/* How long a size subscription counts before its first answer (the
 * follower counts the rest), well inside the engine's request timeout. */
#define SUBSCRIBE_SCAN_MS 5000.0
#define TAIL_BYTES (8 << 20)

typedef struct kf_entry {
  int64_t row, offset;
} kf_entry;

/* A record the follower kept (payload and key copied). */
typedef struct kf_raw {
  int64_t offset, ts;
  char *payload, *key; /* NULL: none */
  size_t len, key_len;
} kf_raw;

typedef struct kf_loc {
  int32_t partition;
  td_location_key *key;
  kf_entry *idx;
  int64_t n_idx, cap_idx;
  int64_t counted, next_offset; /* invariant 2 */
  int64_t reported;             /* last size answered to subscriptions */
  td_request_list size_subs;
  char *failure; /* set once the location failed (retention, topic deleted) */
  /* The tail: the last records the follower counted, rows [tail_row,
   * tail_row + tail_n) (invariant 3: contiguous and ending at `counted`),
   * a ring of TAIL_ROWS from tail_head, at most TAIL_BYTES of payload. */
  kf_raw *tail;
  int64_t tail_row, tail_n, tail_head, tail_bytes;
  bool followed; /* the follower consumes it */
} kf_loc;

typedef struct kf_stashed {
  kf_loc *loc;
  int64_t col, row, n;
  struct ArrowArray array;
} kf_stashed;

struct td_kafka_backend {
  atomic_int refs;
  char *brokers, *topic;
  char **config;
  int64_t n_config;
  td_kf_schema schema;
  int64_t n_cols; /* schema.n + 3: key, timestamp, offset */
  int64_t poll_ms, timeout_ms, step;
  pthread_mutex_t mu;
  rd_kafka_t **pool;
  int64_t n_pool, cap_pool;
  kf_loc **locs;
  int64_t n_locs, cap_locs;
  td_request_list loc_subs;
  kf_stashed stash[STASH_MAX];
  int64_t n_stash;
  pthread_t thread;
  bool thread_started, stop, reassign;
  atomic_llong values_consumed, values_decoded, counted, index_entries;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ---- handles ---- */

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk, (void)level, (void)fac, (void)buf;
}
static void quiet_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)rk, (void)err, (void)reason, (void)opaque;
}

/* A new consumer for assign()-driven reads (no group membership, no
 * commits). */
static rd_kafka_t *handle_new(td_kafka_backend *kb, td_error *err) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (!conf) {
    td_err_nomem(err, "a Kafka consumer");
    return NULL;
  }
  char e[512];
  const char *fixed[][2] = {
      {"bootstrap.servers", kb->brokers}, {"group.id", "tabledata"},     {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"}, {"enable.partition.eof", "true"}, {"auto.offset.reset", "error"},
      {"fetch.wait.max.ms", "10"},      {"fetch.error.backoff.ms", "20"},
      {"topic.metadata.refresh.interval.ms", "10000"}, {"allow.auto.create.topics", "false"},
  };
  rd_kafka_conf_set_log_cb(conf, quiet_log);
  rd_kafka_conf_set_error_cb(conf, quiet_error);
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
    if (rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], e, sizeof e) != RD_KAFKA_CONF_OK) {
      td_err(err, TD_EINVAL, "topic '%s': librdkafka property %s: %s", kb->topic, fixed[i][0], e);
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  for (int64_t i = 0; i < kb->n_config; i++) {
    char *eq = strchr(kb->config[i], '=');
    *eq = 0;
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, kb->config[i], eq + 1, e, sizeof e);
    *eq = '=';
    if (r != RD_KAFKA_CONF_OK) {
      td_err(err, TD_EINVAL, "topic '%s': librdkafka property '%s': %s", kb->topic, kb->config[i], e);
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
  if (!rk) {
    td_err(err, TD_EIO, "topic '%s': cannot make a Kafka consumer: %s", kb->topic, e);
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

static void handle_free(rd_kafka_t *rk) {
  if (!rk) return;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

static rd_kafka_t *handle_get(td_kafka_backend *kb, td_error *err) {
  pthread_mutex_lock(&kb->mu);
  rd_kafka_t *rk = kb->n_pool ? kb->pool[--kb->n_pool] : NULL;
  pthread_mutex_unlock(&kb->mu);
  return rk ? rk : handle_new(kb, err);
}

static void handle_put(td_kafka_backend *kb, rd_kafka_t *rk) {
  if (!rk) return;
  pthread_mutex_lock(&kb->mu);
  if (kb->n_pool == kb->cap_pool) {
    int64_t cap = kb->cap_pool ? kb->cap_pool * 2 : 4;
    rd_kafka_t **p = td_realloc(kb->pool, (size_t)cap * sizeof *p);
    if (p) kb->pool = p, kb->cap_pool = cap;
  }
  if (kb->n_pool < kb->cap_pool) {
    kb->pool[kb->n_pool++] = rk;
    rk = NULL;
  }
  pthread_mutex_unlock(&kb->mu);
  handle_free(rk);
}

/* Assigns `rk` to the given partitions at the given offsets (n = 0:
 * unassigns). */
static int assign(td_kafka_backend *kb, rd_kafka_t *rk, const int32_t *parts, const int64_t *offsets, int n,
                  td_error *err) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
  if (!l) return td_err_nomem(err, "a partition list");
  for (int i = 0; i < n; i++) rd_kafka_topic_partition_list_add(l, kb->topic, parts[i])->offset = offsets[i];
  rd_kafka_resp_err_t r = rd_kafka_assign(rk, n ? l : NULL);
  rd_kafka_topic_partition_list_destroy(l);
  if (r) return td_err(err, TD_EIO, "topic '%s': assigning partitions: %s", kb->topic, rd_kafka_err2str(r));
  return TD_OK;
}

/* ---- locations and the position index (under mu) ---- */

static kf_loc *loc_find(td_kafka_backend *kb, const td_location_key *key) {
  for (int64_t i = 0; i < kb->n_locs; i++)
    if (td_location_key_equal(kb->locs[i]->key, key)) return kb->locs[i];
  return NULL;
}

static kf_loc *loc_of(td_kafka_backend *kb, int32_t partition) {
  return partition >= 0 && partition < kb->n_locs ? kb->locs[partition] : NULL;
}

static void tail_clear(kf_loc *l);

static void loc_free(kf_loc *l) {
  if (!l) return;
  tail_clear(l);
  td_free(l->tail);
  td_location_key_release(l->key);
  td_free(l->idx);
  td_request_list_reset(&l->size_subs);
  td_free(l->failure);
  td_free(l);
}

/* Adds locations for partitions [kb->n_locs, n); answers them to the
 * location subscriptions. */
static int locs_grow(td_kafka_backend *kb, int32_t n, td_error *err) {
  if (n > kb->cap_locs) {
    kf_loc **p = td_realloc(kb->locs, (size_t)n * sizeof *p);
    if (!p) return td_err_nomem(err, "locations");
    kb->locs = p;
    kb->cap_locs = n;
  }
  while (kb->n_locs < n) {
    kf_loc *l = td_calloc(1, sizeof *l);
    if (!l) return td_err_nomem(err, "a location");
    l->partition = (int32_t)kb->n_locs;
    char name[32];
    snprintf(name, sizeof name, "%d", l->partition);
    td_value v = td_value_int(TD_TYPE_INT32, l->partition);
    const char *pn = PARTITION_COLUMN;
    int rc = td_location_key_new(name, 1, &pn, &v, &l->key, err);
    if (rc) {
      td_free(l);
      return rc;
    }
    kb->locs[kb->n_locs++] = l;
    for (int64_t k = 0; k < kb->loc_subs.n; k++) td_answer_location(kb->loc_subs.reqs[k], l->key, NULL);
  }
  return TD_OK;
}

static void raw_free(kf_raw *r) {
  td_free(r->payload);
  td_free(r->key);
  memset(r, 0, sizeof *r);
}

static kf_raw *tail_at(kf_loc *l, int64_t i) { return &l->tail[(l->tail_head + i) % TAIL_ROWS]; }

static void tail_pop(kf_loc *l) {
  kf_raw *r = tail_at(l, 0);
  l->tail_bytes -= (int64_t)(r->len + r->key_len);
  raw_free(r);
  l->tail_head = (l->tail_head + 1) % TAIL_ROWS;
  l->tail_row++;
  l->tail_n--;
}

static void tail_clear(kf_loc *l) {
  while (l->tail_n) tail_pop(l);
}

/* Keeps a copy of the record just counted as row counted - 1 (invariant
 * 3; a failed allocation only empties the tail, which is a cache). */
static void tail_push(kf_loc *l, const rd_kafka_message_t *m) {
  if (!l->tail && !(l->tail = td_calloc(TAIL_ROWS, sizeof *l->tail))) return;
  if (l->tail_row + l->tail_n != l->counted - 1) { /* rows counted by a scan in between */
    tail_clear(l);
    l->tail_row = l->counted - 1;
  }
  size_t size = m->len + m->key_len;
  if (size > TAIL_BYTES / 4) {
    tail_clear(l);
    l->tail_row = l->counted;
    return;
  }
  while (l->tail_n == TAIL_ROWS || (l->tail_n && l->tail_bytes + (int64_t)size > TAIL_BYTES)) tail_pop(l);
  kf_raw *r = tail_at(l, l->tail_n);
  rd_kafka_timestamp_type_t tt;
  r->offset = m->offset;
  r->ts = rd_kafka_message_timestamp(m, &tt);
  r->len = m->payload ? m->len : 0;
  r->key_len = m->key ? m->key_len : 0;
  r->payload = m->payload ? td_malloc(m->len + 1) : NULL;
  r->key = m->key ? td_malloc(m->key_len + 1) : NULL;
  if ((m->payload && !r->payload) || (m->key && !r->key)) {
    raw_free(r);
    tail_clear(l);
    l->tail_row = l->counted;
    return;
  }
  if (r->payload) memcpy(r->payload, m->payload, m->len);
  if (r->key) memcpy(r->key, m->key, m->key_len);
  l->tail_n++;
  l->tail_bytes += (int64_t)size;
}

/* The rows a record holds: one, or its batches' for Arrow IPC payloads. */
static int64_t msg_rows(const td_kafka_backend *kb, const rd_kafka_message_t *m) {
  if (kb->schema.format != TD_KF_ARROW) return 1;
  return td__kf_arrow_rows(m->payload, m->payload ? m->len : 0);
}

/* Counts the `rows` rows of the record at `offset` if it is past what was
 * counted (invariant 2), recording an index entry at the record when `step`
 * rows or more passed since the last one (so entries are at records' first
 * rows, every `step` rows for one-row records); the follower (`m` given)
 * keeps a copy in the tail (one-row formats only). */
static void record(td_kafka_backend *kb, kf_loc *l, int64_t offset, int64_t rows, const rd_kafka_message_t *m) {
  if (offset < l->next_offset || l->failure) return;
  if (l->n_idx == 0 || l->counted - l->idx[l->n_idx - 1].row >= kb->step) {
    if (l->n_idx == l->cap_idx) {
      int64_t cap = l->cap_idx ? l->cap_idx * 2 : 16;
      kf_entry *p = td_realloc(l->idx, (size_t)cap * sizeof *p);
      if (!p) { /* the index must be complete: stop counting here */
        l->failure = td_strdup("out of memory for the position index");
        return;
      }
      l->idx = p;
      l->cap_idx = cap;
    }
    l->idx[l->n_idx].row = l->counted;
    l->idx[l->n_idx].offset = offset;
    l->n_idx++;
    atomic_fetch_add(&kb->index_entries, 1);
  }
  l->counted += rows;
  l->next_offset = offset + 1;
  atomic_fetch_add(&kb->counted, rows);
  if (m && kb->schema.format != TD_KF_ARROW) tail_push(l, m);
}

/* Fails location `l` with `message` (under mu): its size subscriptions
 * hear it once and later reads return it. */
static void loc_fail(kf_loc *l, const char *message) {
  if (!l->failure) l->failure = td_strdup(message);
  for (int64_t i = 0; i < l->size_subs.n; i++) td_answer_failure(l->size_subs.reqs[i], message, NULL);
  l->size_subs.n = 0;
}

/* The message for records deleted under rows of the table. */
static void retention_message(td_kafka_backend *kb, kf_loc *l, int64_t low, char *m, size_t n) {
  snprintf(m, n,
           "topic '%s' partition %d: retention deleted the partition's head up to offset %lld (its low watermark), "
           "past offset %lld (row %lld) that the table holds; the location fails (docs/KAFKA.md)",
           kb->topic, l->partition, (long long)low, (long long)(l->n_idx ? l->idx[0].offset : l->next_offset),
           (long long)(l->n_idx ? l->idx[0].row : l->counted));
}

/* ---- consuming ---- */

typedef int (*record_cb)(void *ctx, const rd_kafka_message_t *m, td_error *err);

/* Consumes partition `l` from `offset` (RD_KAFKA_OFFSET_BEGINNING too),
 * calling `cb` per record until it returns 1 (enough) or the partition's
 * end; *at_end says which.  Errors: the callback's, TD_EIO (no answer
 * within timeout_ms, or retention removed `offset`: the message says
 * so). */
static int consume(td_kafka_backend *kb, rd_kafka_t *rk, kf_loc *l, int64_t offset, record_cb cb, void *ctx,
                   bool *at_end, td_error *err) {
  *at_end = false;
  int rc = assign(kb, rk, &l->partition, &offset, 1, err);
  if (rc) return rc;
  double deadline = now_ms() + (double)kb->timeout_ms;
  char last[300] = "no answer";
  for (;;) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, POLL_SLICE_MS);
    if (!m) {
      if (now_ms() > deadline) {
        rc = td_err(err, TD_EIO, "topic '%s' partition %d: no answer from brokers '%s' within %lld ms (%s)",
                    kb->topic, l->partition, kb->brokers, (long long)kb->timeout_ms, last);
        break;
      }
      continue;
    }
    if (m->err) {
      rd_kafka_resp_err_t e = m->err;
      bool ours = m->rkt && m->partition == l->partition;
      if (ours && e == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        rd_kafka_message_destroy(m);
        *at_end = true;
        break;
      }
      if (ours && (e == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || e == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)) {
        int64_t lo = -1, hi = -1;
        rd_kafka_query_watermark_offsets(rk, kb->topic, l->partition, &lo, &hi, (int)kb->timeout_ms);
        rc = td_err(err, TD_EIO,
                    "topic '%s' partition %d: offset %lld is gone: retention deleted the partition's head (it now "
                    "starts at offset %lld)",
                    kb->topic, l->partition, (long long)offset, (long long)lo);
        rd_kafka_message_destroy(m);
        break;
      }
      if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
        rc = td_err(err, TD_EIO, "topic '%s' partition %d: %s", kb->topic, l->partition, rd_kafka_err2str(e));
        rd_kafka_message_destroy(m);
        break;
      }
      snprintf(last, sizeof last, "%s", rd_kafka_err2str(e)); /* transient: librdkafka retries */
      rd_kafka_message_destroy(m);
      continue;
    }
    int r = m->partition == l->partition ? cb(ctx, m, err) : 0;
    rd_kafka_message_destroy(m);
    if (r < 0) {
      rc = err ? err->code : TD_EIO;
      break;
    }
    if (r > 0) break;
    deadline = now_ms() + (double)kb->timeout_ms;
  }
  assign(kb, rk, NULL, NULL, 0, NULL);
  return rc;
}

typedef struct scan_ctx {
  td_kafka_backend *kb;
  kf_loc *l;
  double stop_at; /* now_ms() after which to stop, or 0 */
} scan_ctx;

static int scan_cb(void *ctx, const rd_kafka_message_t *m, td_error *err) {
  scan_ctx *s = ctx;
  (void)err;
  int64_t rows = msg_rows(s->kb, m);
  pthread_mutex_lock(&s->kb->mu);
  record(s->kb, s->l, m->offset, rows, NULL);
  pthread_mutex_unlock(&s->kb->mu);
  return s->stop_at > 0 && now_ms() > s->stop_at ? 1 : 0;
}

/* Counts the records of `l` up to the partition's end, or for `budget_ms`
 * at most (> 0: a size subscription answers what was counted by then, and
 * the follower counts the rest). */
static int scan_to_end(td_kafka_backend *kb, kf_loc *l, double budget_ms, td_error *err) {
  pthread_mutex_lock(&kb->mu);
  int64_t from = l->counted ? l->next_offset : RD_KAFKA_OFFSET_BEGINNING;
  char *failure = l->failure ? td_strdup(l->failure) : NULL;
  bool failed = l->failure != NULL;
  pthread_mutex_unlock(&kb->mu);
  if (failed) {
    int rc = td_err(err, TD_EIO, "%s", failure ? failure : "the location failed");
    td_free(failure);
    return rc;
  }
  rd_kafka_t *rk = handle_get(kb, err);
  if (!rk) return err ? err->code : TD_EIO;
  scan_ctx s = {kb, l, budget_ms > 0 ? now_ms() + budget_ms : 0};
  bool end;
  int rc = consume(kb, rk, l, from, scan_cb, &s, &end, err);
  handle_put(kb, rk);
  return rc;
}

/* ---- reading rows ---- */

typedef struct read_ctx {
  td_kafka_backend *kb;
  kf_loc *l;
  int64_t row;         /* the row of the next record */
  int64_t first, n;    /* rows wanted */
  kf_entry *checks;    /* index entries inside the range read, to verify */
  int64_t n_checks, next_check;
  td_builder **bs;
} read_ctx;

static bool utf8_or_hex(td_builder *b, const char *p, size_t n, td_error *err) {
  if (td_utf8_valid(p, (int64_t)n)) return td_builder_append_str(b, p, (int64_t)n, err) == TD_OK;
  char *h = td_malloc(2 * n + 3);
  if (!h) return td_err_nomem(err, "a key") == TD_OK;
  h[0] = '0', h[1] = 'x';
  for (size_t i = 0; i < n; i++) snprintf(h + 2 + 2 * i, 3, "%02x", (unsigned char)p[i]);
  bool ok = td_builder_append_str(b, h, (int64_t)(2 * n + 2), err) == TD_OK;
  td_free(h);
  return ok;
}

/* Appends rows [lo, lo + n) of one record (its only row, lo 0 and n 1,
 * but for Arrow IPC payloads): payload fields, then key, timestamp and
 * offset repeated per row.  r->row is the record's first row. */
static int decode_record(read_ctx *r, int64_t offset, const char *payload, size_t len, const char *key,
                         size_t key_len, int64_t ts, int64_t lo, int64_t n, td_error *err) {
  td_kafka_backend *kb = r->kb;
  char why[400];
  bool decoded = kb->schema.format == TD_KF_ARROW
                     ? td__kf_arrow_decode(&kb->schema, payload, len, lo, n, r->bs, why, sizeof why)
                     : td__kf_decode(&kb->schema, payload, len, r->bs, why, sizeof why);
  if (!decoded)
    return td_err(err, TD_EFORMAT, "topic '%s' partition %d offset %lld (row %lld): %s", kb->topic, r->l->partition,
                  (long long)offset, (long long)(r->row + lo), why);
  int64_t k = kb->schema.n;
  td_error e;
  bool ok = true;
  for (int64_t i = 0; ok && i < n; i++) {
    ok = key ? utf8_or_hex(r->bs[k], key, key_len, &e) : td_builder_append_null(r->bs[k], &e) == TD_OK;
    ok = ok && (ts >= 0 ? td_builder_append_int(r->bs[k + 1], ts, &e) : td_builder_append_null(r->bs[k + 1], &e)) == TD_OK;
    ok = ok && td_builder_append_int(r->bs[k + 2], offset, &e) == TD_OK;
  }
  if (!ok) return td_err(err, TD_ENOMEM, "%s", e.message);
  atomic_fetch_add(&kb->values_decoded, 1);
  return TD_OK;
}

static int read_cb(void *ctx, const rd_kafka_message_t *m, td_error *err) {
  read_ctx *r = ctx;
  td_kafka_backend *kb = r->kb;
  atomic_fetch_add(&kb->values_consumed, 1);
  if (r->next_check < r->n_checks) {
    const kf_entry *c = &r->checks[r->next_check];
    if (c->row == r->row) {
      if (m->offset != c->offset)
        return -td_err(err, TD_EIO,
                       "topic '%s' partition %d: the record of row %lld at offset %lld is gone (found offset %lld "
                       "there: retention or compaction removed records the table holds)",
                       kb->topic, r->l->partition, (long long)c->row, (long long)c->offset, (long long)m->offset);
      r->next_check++;
    }
  }
  int64_t rows = msg_rows(kb, m);
  int64_t lo = r->row > r->first ? r->row : r->first;
  int64_t hi = r->row + rows < r->first + r->n ? r->row + rows : r->first + r->n;
  if (lo < hi) { /* else before the page, or up to the entry after it */
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    if (decode_record(r, m->offset, m->payload, m->payload ? m->len : 0, m->key, m->key_len, ts, lo - r->row,
                      hi - lo, err) != TD_OK)
      return -(err ? err->code : TD_EFORMAT);
  }
  r->row += rows;
  return r->row >= r->first + r->n && r->next_check == r->n_checks ? 1 : 0;
}

static td_type_id col_type(const td_kafka_backend *kb, int64_t c, const char **tz) {
  int64_t k = kb->schema.n;
  *tz = c < k ? kb->schema.cols[c].tz : c == k + 1 ? "UTC" : NULL;
  return c < k ? kb->schema.cols[c].type : c == k ? TD_TYPE_UTF8 : c == k + 1 ? TD_TYPE_TIMESTAMP_MS : TD_TYPE_INT64;
}

static const char *col_name(const td_kafka_backend *kb, int64_t c) {
  int64_t k = kb->schema.n;
  return c < k ? kb->schema.cols[c].name : c == k ? "key" : c == k + 1 ? "timestamp" : "offset";
}

static void stash_drop(td_kafka_backend *kb, int64_t i) {
  if (kb->stash[i].array.release) kb->stash[i].array.release(&kb->stash[i].array);
  memmove(kb->stash + i, kb->stash + i + 1, (size_t)(kb->n_stash - i - 1) * sizeof *kb->stash);
  kb->n_stash--;
}

static bool stash_take(td_kafka_backend *kb, kf_loc *l, int64_t col, int64_t row, int64_t n, struct ArrowArray *out) {
  pthread_mutex_lock(&kb->mu);
  bool found = false;
  for (int64_t i = 0; i < kb->n_stash && !found; i++) {
    kf_stashed *e = &kb->stash[i];
    if (e->loc == l && e->col == col && e->row == row && e->n == n) {
      *out = e->array;
      e->array.release = NULL;
      stash_drop(kb, i);
      found = true;
    }
  }
  pthread_mutex_unlock(&kb->mu);
  return found;
}

/* Rows [row, row + n) of column `want` of `l`, decoding every column and
 * stashing the others (tables of at most STASH_COLUMNS columns). */
static int read_rows(td_kafka_backend *kb, kf_loc *l, int64_t want, int64_t row, int64_t n, struct ArrowArray *out,
                     td_error *err) {
  if (stash_take(kb, l, want, row, n, out)) return TD_OK;
  read_ctx r = {.kb = kb, .l = l, .first = row, .n = n};
  int rc = TD_OK;
  int64_t start = 0;
  bool all = kb->n_cols <= STASH_COLUMNS, from_tail = false;
  r.bs = td_calloc((size_t)kb->n_cols, sizeof *r.bs);
  if (!r.bs) rc = td_err_nomem(err, "column builders");
  for (int64_t i = 0; rc == TD_OK && i < kb->n_cols; i++) {
    const char *tz;
    rc = td_builder_new(col_type(kb, i, &tz), &r.bs[i], err);
  }
  pthread_mutex_lock(&kb->mu);
  if (rc) {
  } else if (l->failure) rc = td_err(err, TD_EIO, "%s", l->failure);
  else if (row + n > l->counted)
    rc = td_err(err, TD_ECONTRACT, "topic '%s' partition %d: rows %lld..%lld asked for, %lld counted", kb->topic,
                l->partition, (long long)row, (long long)(row + n), (long long)l->counted);
  else if (row >= l->tail_row && row + n <= l->tail_row + l->tail_n) {
    /* Rows the follower kept: decoded from memory (a few thousand at most,
     * under mu so they are not evicted meanwhile). */
    from_tail = true;
    r.row = row;
    for (int64_t i = row - l->tail_row; rc == TD_OK && i < row - l->tail_row + n; i++) {
      const kf_raw *w = tail_at(l, i);
      rc = decode_record(&r, w->offset, w->payload, w->len, w->key, w->key_len, w->ts, 0, 1, err);
      r.row++;
    }
  } else {
    int64_t lo = 0, hi = l->n_idx - 1; /* the last entry with entry.row <= row */
    while (lo < hi) {
      int64_t mid = (lo + hi + 1) / 2;
      if (l->idx[mid].row <= row) lo = mid;
      else hi = mid - 1;
    }
    /* The entries to verify: the one the read starts from, those inside
     * the page and the first after it, so that a record removed anywhere
     * before the page's end (compaction) shifts a checked offset. */
    int64_t end = lo;
    while (end < l->n_idx && l->idx[end].row < row + n) end++;
    if (end < l->n_idx) end++;
    r.checks = td_malloc((size_t)(end - lo + 1) * sizeof *r.checks);
    if (!r.checks) rc = td_err_nomem(err, "index entries");
    else {
      memcpy(r.checks, l->idx + lo, (size_t)(end - lo) * sizeof *r.checks);
      r.n_checks = end - lo;
      r.row = l->idx[lo].row;
      start = l->idx[lo].offset;
    }
  }
  pthread_mutex_unlock(&kb->mu);
  if (rc == TD_OK && !from_tail) {
    rd_kafka_t *rk = handle_get(kb, err);
    bool end = false;
    if (!rk) rc = err ? err->code : TD_EIO;
    else rc = consume(kb, rk, l, start, read_cb, &r, &end, err);
    handle_put(kb, rk);
  }
  if (rc == TD_OK && !from_tail && (r.row < row + n || r.next_check < r.n_checks))
    rc = td_err(err, TD_EIO,
                "topic '%s' partition %d: expected %lld records from row %lld and the record of row %lld, the partition "
                "ended after row %lld (records the table holds were deleted)",
                kb->topic, l->partition, (long long)n, (long long)row,
                (long long)(r.n_checks ? r.checks[r.n_checks - 1].row : row + n - 1), (long long)(r.row - 1));
  if (rc == TD_OK) rc = td_builder_finish(r.bs[want], out, err);
  if (rc == TD_OK && all) {
    pthread_mutex_lock(&kb->mu);
    for (int64_t i = 0; i < kb->n_cols; i++) {
      struct ArrowArray other;
      if (i == want || td_builder_finish(r.bs[i], &other, NULL) != TD_OK) continue;
      if (kb->n_stash == STASH_MAX) stash_drop(kb, 0);
      kf_stashed *e = &kb->stash[kb->n_stash++];
      e->loc = l, e->col = i, e->row = row, e->n = n, e->array = other;
    }
    pthread_mutex_unlock(&kb->mu);
  }
  for (int64_t i = 0; r.bs && i < kb->n_cols; i++) td_builder_free(r.bs[i]);
  td_free(r.bs);
  td_free(r.checks);
  return rc;
}

/* ---- the backend methods ---- */

static void fail(td_request req, const td_error *e) { td_answer_failure(req, e->message, NULL); }

static void m_schema(void *self, const td_table_key *table, td_request req) {
  td_kafka_backend *kb = self;
  (void)table;
  td_error e;
  td_error_clear(&e);
  const char **names = td_calloc((size_t)kb->n_cols, sizeof *names);
  const char **tzs = td_calloc((size_t)kb->n_cols, sizeof *tzs);
  td_type_id *types = td_calloc((size_t)kb->n_cols, sizeof *types);
  struct ArrowSchema data, part;
  int rc = names && tzs && types ? TD_OK : td_err_nomem(&e, "a schema");
  for (int64_t i = 0; rc == TD_OK && i < kb->n_cols; i++) {
    names[i] = col_name(kb, i);
    types[i] = col_type(kb, i, &tzs[i]);
  }
  if (rc == TD_OK) rc = td_schema_make(kb->n_cols, names, types, tzs, &data, &e);
  if (rc == TD_OK) {
    const char *pn = PARTITION_COLUMN, *ptz = NULL;
    td_type_id pt = TD_TYPE_INT32;
    if ((rc = td_schema_make(1, &pn, &pt, &ptz, &part, &e)) != TD_OK) data.release(&data);
  }
  td_free(names);
  td_free(tzs);
  td_free(types);
  if (rc) fail(req, &e);
  else td_answer_schema(req, &data, &part, NULL);
}

/* Re-reads the topic's partition count with `rk` and adds new locations. */
static int refresh_partitions(td_kafka_backend *kb, rd_kafka_t *rk, td_error *err) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, kb->topic, NULL);
  if (!rkt) return td_err(err, TD_EIO, "topic '%s': %s", kb->topic, rd_kafka_err2str(rd_kafka_last_error()));
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t r = rd_kafka_metadata(rk, 0, rkt, &md, (int)kb->timeout_ms);
  int rc = TD_OK;
  if (r)
    rc = td_err(err, TD_EIO, "topic '%s': cannot reach brokers '%s' within %lld ms: %s", kb->topic, kb->brokers,
                (long long)kb->timeout_ms, rd_kafka_err2str(r));
  else if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    rc = td_err(err, TD_ENOTFOUND, "topic '%s' does not exist on brokers '%s'", kb->topic, kb->brokers);
  else if (md->topics[0].err)
    rc = td_err(err, TD_EIO, "topic '%s': %s", kb->topic, rd_kafka_err2str(md->topics[0].err));
  else {
    pthread_mutex_lock(&kb->mu);
    rc = locs_grow(kb, md->topics[0].partition_cnt, err);
    pthread_mutex_unlock(&kb->mu);
  }
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return rc;
}

static void answer_known(td_kafka_backend *kb, td_request req) {
  for (int64_t i = 0; i < kb->n_locs; i++) td_answer_location(req, kb->locs[i]->key, NULL);
}

static void m_locations(void *self, const td_table_key *table, td_request req) {
  td_kafka_backend *kb = self;
  (void)table;
  pthread_mutex_lock(&kb->mu);
  answer_known(kb, req);
  td_answer_success(req, NULL);
  pthread_mutex_unlock(&kb->mu);
}

static kf_loc *loc_lookup(td_kafka_backend *kb, const td_location_key *key, td_error *e) {
  pthread_mutex_lock(&kb->mu);
  kf_loc *l = loc_find(kb, key);
  pthread_mutex_unlock(&kb->mu);
  if (!l) {
    char k[200];
    td_location_key_format(key, k, sizeof k);
    td_err(e, TD_ENOTFOUND, "topic '%s': unknown location %s", kb->topic, k);
  }
  return l;
}

/* The location, counted up to the partition's end; NULL when that failed
 * (then `req` was answered with the failure). */
static kf_loc *counted_loc(td_kafka_backend *kb, const td_location_key *location, double budget_ms, td_request req) {
  td_error e;
  td_error_clear(&e);
  kf_loc *l = loc_lookup(kb, location, &e);
  if (!l || scan_to_end(kb, l, budget_ms, &e) != TD_OK) {
    fail(req, &e);
    return NULL;
  }
  return l;
}

static void m_size(void *self, const td_table_key *table, const td_location_key *location, td_request req) {
  td_kafka_backend *kb = self;
  (void)table;
  kf_loc *l = counted_loc(kb, location, 0, req);
  if (!l) return;
  pthread_mutex_lock(&kb->mu);
  td_answer_size(req, l->counted, NULL);
  pthread_mutex_unlock(&kb->mu);
}

static void m_values(void *self, const td_table_key *table, const td_location_key *location, const char *column,
                     int64_t offset, int64_t min_rows, int64_t max_rows, td_request req) {
  td_kafka_backend *kb = self;
  (void)table, (void)max_rows;
  td_error e;
  td_error_clear(&e);
  kf_loc *l = loc_lookup(kb, location, &e);
  int64_t col = -1;
  for (int64_t i = 0; i < kb->n_cols && col < 0; i++)
    if (strcmp(col_name(kb, i), column) == 0) col = i;
  if (l && col < 0) td_err(&e, TD_ENOTFOUND, "topic '%s': no column '%s'", kb->topic, column);
  struct ArrowSchema s;
  struct ArrowArray a;
  const char *tz;
  td_type_id t = col >= 0 ? col_type(kb, col, &tz) : TD_TYPE_NONE;
  if (!l || col < 0 || read_rows(kb, l, col, offset, min_rows, &a, &e) != TD_OK) {
    fail(req, &e);
    return;
  }
  if (td_field_schema_make(column, t, tz, &s, &e) != TD_OK) {
    a.release(&a);
    fail(req, &e);
    return;
  }
  td_answer_values(req, &s, &a, NULL);
}

static void *follow_main(void *arg);

/* Starts the follower thread (under mu). */
static void ensure_thread(td_kafka_backend *kb) {
  kb->reassign = true;
  if (kb->thread_started) return;
  if (pthread_create(&kb->thread, NULL, follow_main, kb) == 0) kb->thread_started = true;
}

static void m_sub_locations(void *self, const td_table_key *table, td_request sub) {
  td_kafka_backend *kb = self;
  (void)table;
  pthread_mutex_lock(&kb->mu);
  answer_known(kb, sub);
  if (td_request_list_add(&kb->loc_subs, sub) != TD_OK) td_answer_failure(sub, "out of memory", NULL);
  else {
    td_answer_success(sub, NULL);
    ensure_thread(kb);
  }
  pthread_mutex_unlock(&kb->mu);
}

static void m_sub_size(void *self, const td_table_key *table, const td_location_key *location, td_request sub) {
  td_kafka_backend *kb = self;
  (void)table;
  kf_loc *l = counted_loc(kb, location, SUBSCRIBE_SCAN_MS, sub);
  if (!l) return;
  pthread_mutex_lock(&kb->mu);
  if (l->failure) td_answer_failure(sub, l->failure, NULL);
  else if (td_request_list_add(&l->size_subs, sub) != TD_OK) td_answer_failure(sub, "out of memory", NULL);
  else {
    td_answer_size(sub, l->counted, NULL);
    td_answer_success(sub, NULL);
    if (l->reported < l->counted) l->reported = l->counted;
    ensure_thread(kb);
  }
  pthread_mutex_unlock(&kb->mu);
}

static void m_unsubscribe(void *self, td_request sub) {
  td_kafka_backend *kb = self;
  pthread_mutex_lock(&kb->mu);
  if (!td_request_list_remove(&kb->loc_subs, sub))
    for (int64_t i = 0; i < kb->n_locs; i++)
      if (td_request_list_remove(&kb->locs[i]->size_subs, sub)) {
        kb->reassign = true;
        break;
      }
  pthread_mutex_unlock(&kb->mu);
}

static void m_release(void *self) { td_kafka_backend_release(self); }

static const td_backend_vtable kf_vtable = {
    m_schema, m_locations, m_size, m_values, m_sub_locations, m_sub_size, m_unsubscribe, m_release, NULL, NULL,
};

/* ---- the follower ---- */

/* The follower's consumer: the legacy per-partition API, so that starting
 * one partition never restarts the others (a global re-assign could hand
 * over records of the old assignment after those of the new one, which
 * would skip records; invariant 2 needs each feeder's records in order). */
typedef struct follower {
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  rd_kafka_queue_t *q;
} follower;

/* Starts following every partition that got a size subscription, at its
 * next offset, and stops those that lost theirs (the list under mu, the
 * calls outside). */
static void follow_update(td_kafka_backend *kb, follower *f) {
  pthread_mutex_lock(&kb->mu);
  kb->reassign = false;
  int n = 0;
  int32_t *parts = td_calloc((size_t)kb->n_locs + 1, sizeof *parts);
  int64_t *offs = td_calloc((size_t)kb->n_locs + 1, sizeof *offs); /* -1: stop */
  for (int64_t i = 0; parts && offs && i < kb->n_locs; i++) {
    kf_loc *l = kb->locs[i];
    bool want = l->size_subs.n && !l->failure;
    if (want == l->followed) continue;
    l->followed = want;
    parts[n] = l->partition;
    offs[n++] = !want ? -1 : l->counted ? l->next_offset : RD_KAFKA_OFFSET_BEGINNING;
  }
  if (!parts || !offs) kb->reassign = true; /* try again */
  pthread_mutex_unlock(&kb->mu);
  for (int i = 0; parts && offs && i < n; i++) {
    if (offs[i] == -1) rd_kafka_consume_stop(f->rkt, parts[i]);
    else rd_kafka_consume_start_queue(f->rkt, parts[i], offs[i], f->q);
  }
  td_free(parts);
  td_free(offs);
}

/* Answers sizes that grew (under mu). */
static void answer_sizes(td_kafka_backend *kb) {
  for (int64_t i = 0; i < kb->n_locs; i++) {
    kf_loc *l = kb->locs[i];
    if (l->failure || l->counted <= l->reported) continue;
    for (int64_t k = 0; k < l->size_subs.n; k++) td_answer_size(l->size_subs.reqs[k], l->counted, NULL);
    l->reported = l->counted;
  }
}

/* Retention: a low watermark above the first offset the table holds fails
 * the location; new partitions become locations. */
static void follow_check(td_kafka_backend *kb, rd_kafka_t *rk) {
  for (int64_t i = 0;; i++) {
    pthread_mutex_lock(&kb->mu);
    kf_loc *l = i < kb->n_locs ? kb->locs[i] : NULL;
    bool want = l && l->size_subs.n && !l->failure && l->n_idx;
    int64_t first = want ? l->idx[0].offset : 0;
    pthread_mutex_unlock(&kb->mu);
    if (!l) break;
    if (!want) continue;
    int64_t lo = -1, hi = -1;
    if (rd_kafka_query_watermark_offsets(rk, kb->topic, l->partition, &lo, &hi, (int)kb->poll_ms) != 0) continue;
    if (lo > first) {
      char m[600];
      pthread_mutex_lock(&kb->mu);
      retention_message(kb, l, lo, m, sizeof m);
      loc_fail(l, m);
      kb->reassign = true;
      pthread_mutex_unlock(&kb->mu);
    }
  }
  pthread_mutex_lock(&kb->mu);
  bool want_locs = kb->loc_subs.n > 0;
  pthread_mutex_unlock(&kb->mu);
  td_error e;
  if (want_locs && refresh_partitions(kb, rk, &e) == TD_ENOTFOUND) {
    pthread_mutex_lock(&kb->mu);
    for (int64_t k = 0; k < kb->loc_subs.n; k++) td_answer_failure(kb->loc_subs.reqs[k], e.message, NULL);
    kb->loc_subs.n = 0;
    for (int64_t i = 0; i < kb->n_locs; i++) loc_fail(kb->locs[i], e.message);
    pthread_mutex_unlock(&kb->mu);
  }
}

static bool follower_open(td_kafka_backend *kb, follower *f) {
  td_error e;
  memset(f, 0, sizeof *f);
  if (!(f->rk = handle_new(kb, &e))) return false;
  f->rkt = rd_kafka_topic_new(f->rk, kb->topic, NULL);
  f->q = rd_kafka_queue_new(f->rk);
  return f->rkt && f->q;
}

static void follower_close(td_kafka_backend *kb, follower *f) {
  pthread_mutex_lock(&kb->mu);
  for (int64_t i = 0; i < kb->n_locs; i++)
    if (kb->locs[i]->followed && f->rkt) {
      kb->locs[i]->followed = false;
      rd_kafka_consume_stop(f->rkt, kb->locs[i]->partition);
    }
  pthread_mutex_unlock(&kb->mu);
  if (f->q) rd_kafka_queue_destroy(f->q);
  if (f->rkt) rd_kafka_topic_destroy(f->rkt);
  if (f->rk) rd_kafka_destroy(f->rk);
}

static void *follow_main(void *arg) {
  td_kafka_backend *kb = arg;
  follower f;
  memset(&f, 0, sizeof f);
  double next_check = now_ms() + (double)kb->poll_ms;
  for (;;) {
    pthread_mutex_lock(&kb->mu);
    bool stop = kb->stop, reassign = kb->reassign;
    pthread_mutex_unlock(&kb->mu);
    if (stop) break;
    if (!f.rk && !follower_open(kb, &f)) {
      follower_close(kb, &f);
      memset(&f, 0, sizeof f);
      struct timespec ts = {0, 100 * 1000000L};
      nanosleep(&ts, NULL);
      continue;
    }
    if (reassign) follow_update(kb, &f);
    /* Up to 4096 records between size answers. */
    rd_kafka_message_t *m = rd_kafka_consume_queue(f.q, POLL_SLICE_MS);
    for (int k = 0; m; k++) {
      if (!m->err) {
        int64_t rows = msg_rows(kb, m);
        pthread_mutex_lock(&kb->mu);
        kf_loc *l = loc_of(kb, m->partition);
        if (l) record(kb, l, m->offset, rows, m);
        pthread_mutex_unlock(&kb->mu);
      } else if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        int64_t lo = -1, hi = -1;
        rd_kafka_query_watermark_offsets(f.rk, kb->topic, m->partition, &lo, &hi, (int)kb->timeout_ms);
        char msg[600];
        pthread_mutex_lock(&kb->mu);
        kf_loc *l = loc_of(kb, m->partition);
        if (l) {
          retention_message(kb, l, lo, msg, sizeof msg);
          loc_fail(l, msg);
        }
        kb->reassign = true;
        pthread_mutex_unlock(&kb->mu);
      }
      rd_kafka_message_destroy(m);
      m = k + 1 < 4096 ? rd_kafka_consume_queue(f.q, 0) : NULL;
    }
    pthread_mutex_lock(&kb->mu);
    answer_sizes(kb);
    pthread_mutex_unlock(&kb->mu);
    if (now_ms() >= next_check) {
      follow_check(kb, f.rk);
      next_check = now_ms() + (double)kb->poll_ms;
    }
  }
  follower_close(kb, &f);
  return NULL;
}

/* ---- opening ---- */

typedef struct sample_ctx {
  td_kafka_backend *kb;
  td_kf_sampler *s;
  int64_t got, want;
  int32_t partition;
} sample_ctx;

static int sample_cb(void *ctx, const rd_kafka_message_t *m, td_error *err) {
  sample_ctx *c = ctx;
  char why[400];
  if (c->kb->schema.format == TD_KF_ARROW) { /* the first stream's schema */
    if (!m->payload) return 0;
    int rc = td__kf_arrow_schema(m->payload, m->len, &c->kb->schema, why, sizeof why);
    if (rc)
      return -td_err(err, rc, "topic '%s' partition %d offset %lld: taking the schema: %s", c->kb->topic, m->partition,
                     (long long)m->offset, why);
    c->got++;
    return 1;
  }
  if (!td__kf_sampler_add(c->s, m->payload, m->len, why, sizeof why))
    return -td_err(err, TD_EFORMAT, "topic '%s' partition %d offset %lld: sampling the schema: %s", c->kb->topic,
                   m->partition, (long long)m->offset, why);
  if (m->payload) c->got++;
  return c->got >= c->want ? 1 : 0;
}

static int sample_schema(td_kafka_backend *kb, td_kf_format fmt, const char *columns, int64_t want, td_error *err) {
  td_kf_sampler *s = NULL;
  kb->schema.format = fmt;
  if (fmt == TD_KF_ARROW) want = 1; /* the first record's stream has the schema */
  int rc = td__kf_sampler_new(fmt == TD_KF_ARROW ? TD_KF_JSON : fmt, columns, &s, err);
  if (rc) return rc;
  rd_kafka_t *rk = handle_get(kb, err);
  if (!rk) rc = err ? err->code : TD_EIO;
  sample_ctx c = {kb, s, 0, want, 0};
  for (int64_t i = 0; rc == TD_OK && i < kb->n_locs && c.got < want; i++) {
    bool end;
    rc = consume(kb, rk, kb->locs[i], RD_KAFKA_OFFSET_BEGINNING, sample_cb, &c, &end, err);
  }
  handle_put(kb, rk);
  if (rc == TD_OK && c.got == 0)
    rc = td_err(err, TD_EINVAL,
                "topic '%s' has no record to sample a schema from: declare one (schema => 'name type, ...')",
                kb->topic);
  if (rc == TD_OK && fmt != TD_KF_ARROW) rc = td__kf_sampler_finish(s, &kb->schema, err);
  td__kf_sampler_free(s);
  return rc;
}

void td_kafka_options_init(td_kafka_options *opts) {
  if (opts) memset(opts, 0, sizeof *opts);
}

static int open_topic(td_kafka_backend *kb, const td_kafka_options *o, td_error *err) {
  td_kf_format fmt = TD_KF_JSON;
  if (o->format && strcmp(o->format, "csv") == 0) fmt = TD_KF_CSV;
  else if (o->format && strcmp(o->format, "arrow") == 0) fmt = TD_KF_ARROW;
  else if (o->format && strcmp(o->format, "json") != 0)
    return td_err(err, TD_EINVAL, "topic '%s': format '%s': expected json, csv or arrow", kb->topic, o->format);
  rd_kafka_t *rk = handle_get(kb, err);
  if (!rk) return err ? err->code : TD_EIO;
  int rc = refresh_partitions(kb, rk, err);
  handle_put(kb, rk);
  if (rc) return rc;
  if (o->schema) {
    rc = td__kf_schema_parse(o->schema, &kb->schema, err);
    kb->schema.format = fmt;
  } else {
    rc = sample_schema(kb, fmt, o->columns, o->sample > 0 ? o->sample : 100, err);
  }
  if (rc) return rc;
  for (int64_t i = 0; i < kb->schema.n; i++) {
    const char *n = kb->schema.cols[i].name;
    if (!strcmp(n, PARTITION_COLUMN) || !strcmp(n, "key") || !strcmp(n, "timestamp") || !strcmp(n, "offset"))
      return td_err(err, TD_EINVAL,
                    "topic '%s': the payload has a column named '%s', the name of a column the backend adds "
                    "(partition, key, timestamp, offset)",
                    kb->topic, n);
  }
  kb->n_cols = kb->schema.n + 3;
  return TD_OK;
}

#ifdef TD_KAFKA_TSAN_SHIM
void td__kafka_tsan_shim(void); /* kafka_tsan.c: keeps it linked */
#endif

int td_kafka_backend_new(const char *brokers, const char *topic, const td_kafka_options *opts, td_kafka_backend **out,
                         td_error *err) {
#ifdef TD_KAFKA_TSAN_SHIM
  td__kafka_tsan_shim();
#endif
  if (err) td_error_clear(err);
  if (!out) return td_err(err, TD_EINVAL, "td_kafka_backend_new: NULL out");
  *out = NULL;
  if (!brokers || !*brokers || !topic || !*topic)
    return td_err(err, TD_EINVAL, "td_kafka_backend_new: brokers and a topic are needed");
  td_kafka_options defaults;
  td_kafka_options_init(&defaults);
  const td_kafka_options *o = opts ? opts : &defaults;
  if (o->n_config < 0 || (o->n_config && !o->config))
    return td_err(err, TD_EINVAL, "topic '%s': config: n_config strings expected", topic);
  for (int64_t i = 0; i < o->n_config; i++)
    if (!o->config[i] || !strchr(o->config[i], '='))
      return td_err(err, TD_EINVAL, "topic '%s': librdkafka property '%s': expected name=value", topic,
                    o->config[i] ? o->config[i] : "(null)");
  int loaded = td_rdk_load(err);
  if (loaded) return loaded;
  td_kafka_backend *kb = td_calloc(1, sizeof *kb);
  if (!kb) return td_err_nomem(err, "a Kafka backend");
  atomic_init(&kb->refs, 1);
  pthread_mutex_init(&kb->mu, NULL);
  kb->poll_ms = o->poll_ms > 0 ? o->poll_ms : 1000;
  kb->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
  kb->step = o->index_step > 0 ? o->index_step : 1024;
  kb->brokers = td_strdup(brokers);
  kb->topic = td_strdup(topic);
  kb->config = td_calloc((size_t)o->n_config + 1, sizeof *kb->config);
  int rc = kb->brokers && kb->topic && kb->config ? TD_OK : td_err_nomem(err, "a Kafka backend");
  for (int64_t i = 0; rc == TD_OK && i < o->n_config; i++)
    if ((kb->config[kb->n_config] = td_strdup(o->config[i])) != NULL) kb->n_config++;
    else rc = td_err_nomem(err, "a property");
  if (rc == TD_OK) rc = open_topic(kb, o, err);
  if (rc) {
    td_kafka_backend_release(kb);
    return rc;
  }
  *out = kb;
  return TD_OK;
}

td_kafka_backend *td_kafka_backend_retain(td_kafka_backend *kb) {
  if (kb) atomic_fetch_add(&kb->refs, 1);
  return kb;
}

void td_kafka_backend_release(td_kafka_backend *kb) {
  if (!kb || atomic_fetch_sub(&kb->refs, 1) != 1) return;
  if (kb->thread_started) {
    pthread_mutex_lock(&kb->mu);
    kb->stop = true;
    pthread_mutex_unlock(&kb->mu);
    pthread_join(kb->thread, NULL);
  }
  while (kb->n_stash) stash_drop(kb, kb->n_stash - 1);
  for (int64_t i = 0; i < kb->n_pool; i++) handle_free(kb->pool[i]);
  td_free(kb->pool);
  for (int64_t i = 0; i < kb->n_locs; i++) loc_free(kb->locs[i]);
  td_free(kb->locs);
  td_request_list_reset(&kb->loc_subs);
  td__kf_schema_reset(&kb->schema);
  for (int64_t i = 0; i < kb->n_config; i++) td_free(kb->config[i]);
  td_free(kb->config);
  pthread_mutex_destroy(&kb->mu);
  td_free(kb->brokers);
  td_free(kb->topic);
  td_free(kb);
}

td_backend td_kafka_backend_backend(td_kafka_backend *kb) {
  td_backend b = {&kf_vtable, td_kafka_backend_retain(kb)};
  return b;
}

const char *td_kafka_backend_table_name(const td_kafka_backend *kb) { return kb ? kb->topic : NULL; }

void td_kafka_backend_stats(const td_kafka_backend *kb, td_kafka_stats *out) {
  memset(out, 0, sizeof *out);
  if (!kb) return;
  td_kafka_backend *k = (td_kafka_backend *)kb;
  out->values_consumed = atomic_load(&k->values_consumed);
  out->values_decoded = atomic_load(&k->values_decoded);
  out->counted = atomic_load(&k->counted);
  out->index_entries = atomic_load(&k->index_entries);
}
