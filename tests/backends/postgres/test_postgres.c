/*
 * tests/backends/postgres/test_postgres.c - the PostgreSQL backend against a
 * real server started for the run (pg_server.h; exit 77 when PostgreSQL is
 * not installed): every mapped type with nulls, paging through the sparse
 * key index, partitions as locations with pruning, distinct values as
 * locations, URIs, a live table whose concurrent writers commit out of order
 * (never a skipped or duplicated row), a new and a dropped partition, a
 * server restart, and bad input (missing table, no key, permissions,
 * undecodable values).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_server.h"
#include "tabledata.h"
#include "tabledata/postgres_backend.h"
#include "test.h"

static pg_server g_srv;
static PGconn *g_c;

/* ---- helpers ---- */

typedef struct opened {
  td_postgres_backend *pb;
  td_service *svc;
  td_table *t;
} opened;

static int open_table(const char *table, const td_postgres_options *po, bool live, int64_t page_size, opened *o,
                      td_error *err) {
  memset(o, 0, sizeof *o);
  int rc = td_postgres_backend_new(g_srv.conninfo, table, po, &o->pb, err);
  if (rc) return rc;
  td_service_options so;
  td_service_options_init(&so);
  so.update_period_ms = 0;
  if (page_size) so.page_size = page_size;
  if ((rc = td_service_new(td_postgres_backend_backend(o->pb), &so, &o->svc, err))) return rc;
  td_table_key *k;
  if ((rc = td_table_key_new(td_postgres_backend_table_name(o->pb), &k, err))) return rc;
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
  td_postgres_backend_release(o->pb);
}

/* Value (row, column) of a struct array read with td_table_read. */
static td_value cell(td_table *t, const struct ArrowSchema *s, const struct ArrowArray *a, int64_t row,
                     const char *name) {
  int64_t c = td_table_column_index(t, name);
  if (c < 0) fail_msg("no column %s", name);
  td_value v;
  td_error err;
  TD_ASSERT_OK(td_arrow_get_value(s->children[c], a->children[c], row, &v, &err), &err);
  return v;
}

/* ---- static tables ---- */

static void make_types_table(void) {
  pg_exec(g_c,
          "DROP TABLE IF EXISTS types;"
          "CREATE TABLE types(id int8 PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, "
          "t text, vc varchar(10), d date, ts timestamp, tz timestamptz, n numeric(10,2), j json);"
          "INSERT INTO types VALUES "
          "(1, true, -2, 3, -4000000000, 1.5, -2.25, 'h\xc3\xa9llo', 'ab', '2024-01-02', '2024-01-02 03:04:05.123456',"
          " '2024-01-02 03:04:05.5+02', 12.34, '{}'),"
          "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
          "(3, false, 32767, -2147483648, 9223372036854775807, -0.5, 1e300, '', 'xyz', '1970-01-01', "
          "'1969-12-31 23:59:59.999999', '2262-01-01 00:00:00+00', -0.01, '[]')");
}

static void test_types(void **state) {
  (void)state;
  make_types_table();
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("types", NULL, false, 0, &o, &err), &err);
  char uns[512];
  td_postgres_backend_unsupported(o.pb, uns, sizeof uns);
  TD_ASSERT_CONTAINS(uns, "n: numeric(10,2): numeric has no exact tabledata type");
  TD_ASSERT_CONTAINS(uns, "j: json:");
  assert_false(td_postgres_backend_is_live(o.pb));
  assert_int_equal(td_table_num_columns(o.t), 12);
  assert_int_equal(td_table_size(o.t), 3);
  assert_int_equal(td_table_column_type(o.t, td_table_column_index(o.t, "d")), TD_TYPE_TIMESTAMP);
  assert_string_equal(td_table_column_timezone(o.t, td_table_column_index(o.t, "tz")), "UTC");
  const char *ts_tz = td_table_column_timezone(o.t, td_table_column_index(o.t, "ts"));
  assert_true(ts_tz == NULL || *ts_tz == 0);
  assert_int_equal(td_table_column_type(o.t, td_table_column_index(o.t, "i2")), TD_TYPE_INT16);
  struct ArrowSchema s;
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_schema(o.t, &s, &err), &err);
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 0, 3, &a, &err), &err);
  assert_int_equal(cell(o.t, &s, &a, 0, "id").v.i, 1);
  assert_true(cell(o.t, &s, &a, 0, "b").v.b);
  assert_int_equal(cell(o.t, &s, &a, 0, "i2").v.i, -2);
  assert_int_equal(cell(o.t, &s, &a, 0, "i4").v.i, 3);
  assert_int_equal(cell(o.t, &s, &a, 0, "i8").v.i, -4000000000LL);
  assert_true(cell(o.t, &s, &a, 0, "f4").v.f == 1.5);
  assert_true(cell(o.t, &s, &a, 0, "f8").v.f == -2.25);
  td_value tv = cell(o.t, &s, &a, 0, "t");
  assert_int_equal(tv.v.s.len, 6);
  assert_memory_equal(tv.v.s.ptr, "h\xc3\xa9llo", 6);
  assert_int_equal(cell(o.t, &s, &a, 0, "d").v.i, 1704153600LL * 1000000000);
  assert_int_equal(cell(o.t, &s, &a, 0, "ts").v.i, 1704164645123456000LL);
  assert_int_equal(cell(o.t, &s, &a, 0, "tz").v.i, 1704157445500000000LL);
  const char *cols[] = {"b", "i2", "i4", "i8", "f4", "f8", "t", "vc", "d", "ts", "tz"};
  for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
    if (!cell(o.t, &s, &a, 1, cols[i]).is_null) fail_msg("row 2, column %s: expected null", cols[i]);
    if (cell(o.t, &s, &a, 2, cols[i]).is_null) fail_msg("row 3, column %s: unexpected null", cols[i]);
  }
  assert_false(cell(o.t, &s, &a, 2, "b").v.b);
  assert_int_equal(cell(o.t, &s, &a, 2, "i2").v.i, 32767);
  assert_int_equal(cell(o.t, &s, &a, 2, "i4").v.i, -2147483648LL);
  assert_int_equal(cell(o.t, &s, &a, 2, "i8").v.i, 9223372036854775807LL);
  assert_true(cell(o.t, &s, &a, 2, "f8").v.f == 1e300);
  assert_int_equal(cell(o.t, &s, &a, 2, "t").v.s.len, 0);
  assert_int_equal(cell(o.t, &s, &a, 2, "d").v.i, 0);
  assert_int_equal(cell(o.t, &s, &a, 2, "ts").v.i, -1000);
  assert_int_equal(cell(o.t, &s, &a, 2, "tz").v.i, 9214646400LL * 1000000000);
  a.release(&a);
  s.release(&s);
  close_table(&o);

  /* numeric as float64 only when asked. */
  td_postgres_options po;
  td_postgres_options_init(&po);
  po.numeric_as_float64 = true;
  TD_ASSERT_OK(open_table("types", &po, false, 0, &o, &err), &err);
  assert_int_equal(td_table_num_columns(o.t), 13);
  TD_ASSERT_OK(td_table_schema(o.t, &s, &err), &err);
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 0, 3, &a, &err), &err);
  assert_true(cell(o.t, &s, &a, 0, "n").v.f == 12.34);
  assert_true(cell(o.t, &s, &a, 1, "n").is_null);
  assert_true(cell(o.t, &s, &a, 2, "n").v.f == -0.01);
  a.release(&a);
  s.release(&s);
  close_table(&o);

  /* Type changes after opening: converted by the server when a cast exists
   * (never decoded as the old type), a clear error naming the column when not. */
  TD_ASSERT_OK(open_table("types", NULL, false, 0, &o, &err), &err);
  pg_exec(g_c, "ALTER TABLE types ALTER COLUMN i4 TYPE text; ALTER TABLE types ALTER COLUMN b TYPE date USING NULL");
  int64_t col = td_table_column_index(o.t, "i4");
  TD_ASSERT_OK(td_table_read(o.t, &col, 1, 0, 3, &a, &err), &err);
  assert_int_equal(((const int32_t *)a.children[0]->buffers[1])[a.children[0]->offset], 3);
  a.release(&a);
  col = td_table_column_index(o.t, "b");
  assert_int_not_equal(td_table_read(o.t, &col, 1, 0, 3, &a, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "table 'types', location '', column 'b'");
  TD_ASSERT_CONTAINS(err.message, "cannot cast type date to boolean");
  close_table(&o);
}

/* Many pages with gaps in the keys: sequential and random reads agree with
 * the SQL order (the sparse index must seek right). */
static void test_paging(void **state) {
  (void)state;
  pg_exec(g_c, "DROP TABLE IF EXISTS big; CREATE TABLE big(k int4 PRIMARY KEY, v int8);"
               "INSERT INTO big SELECT i * 3 + (i % 2), i FROM generate_series(0, 2499) i");
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("big", NULL, false, 100, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), 2500);
  int64_t col = td_table_column_index(o.t, "v");
  struct ArrowArray a;
  /* Random access first (no index yet), then a full scan, then again. */
  const int64_t starts[] = {1234, 7, 2400, 0, 999};
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < sizeof starts / sizeof *starts; i++) {
      TD_ASSERT_OK(td_table_read(o.t, &col, 1, starts[i], starts[i] + 100, &a, &err), &err);
      const int64_t *v = (const int64_t *)a.children[0]->buffers[1];
      for (int64_t r = 0; r < 100; r++)
        if (v[r + a.children[0]->offset] != starts[i] + r) fail_msg("row %lld: %lld", (long long)(starts[i] + r), (long long)v[r]);
      a.release(&a);
    }
    TD_ASSERT_OK(td_table_read(o.t, &col, 1, 0, 2500, &a, &err), &err);
    const int64_t *v = (const int64_t *)a.children[0]->buffers[1];
    for (int64_t r = 0; r < 2500; r++) assert_int_equal(v[r + a.children[0]->offset], r);
    a.release(&a);
  }
  close_table(&o);
}

static td_service *g_resolve_svc;
static const char *g_resolve_name;
static char g_resolved[512];

static int resolve(void *ctx, const char *source, bool is_path, td_service **svc, td_table_key **key, td_error *err) {
  (void)ctx;
  (void)is_path;
  snprintf(g_resolved, sizeof g_resolved, "%s", source);
  *svc = td_service_retain(g_resolve_svc);
  return td_table_key_new(g_resolve_name, key, err);
}

static void make_events(void) {
  pg_exec(g_c, "DROP TABLE IF EXISTS ev;"
               "CREATE TABLE ev(id bigserial, xid xid8 NOT NULL DEFAULT pg_current_xact_id(), k text NOT NULL, v int8,"
               " PRIMARY KEY (k, id)) PARTITION BY LIST (k);"
               "CREATE TABLE ev_a PARTITION OF ev FOR VALUES IN ('a');"
               "CREATE TABLE ev_b PARTITION OF ev FOR VALUES IN ('b');"
               "INSERT INTO ev(k, v) SELECT CASE WHEN i % 3 = 0 THEN 'a' ELSE 'b' END, i FROM generate_series(1, 300) i");
}

static void test_partitions(void **state) {
  (void)state;
  make_events();
  td_postgres_options po;
  td_postgres_options_init(&po);
  po.key_column = "id";
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("ev", &po, false, 0, &o, &err), &err);
  assert_int_equal(td_table_location_count(o.t), 2);
  assert_int_equal(td_table_size(o.t), 300);
  assert_true(td_table_column_is_partition(o.t, 0));
  assert_string_equal(td_table_column_name(o.t, 0), "partition");
  /* Pruning: a condition on the partition column asks one location only. */
  g_resolve_svc = o.svc;
  g_resolve_name = "ev";
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  td_counters before, after;
  td_service_counters(o.svc, &before);
  td_table *r;
  TD_ASSERT_OK(td_query("SELECT count(*) AS n, sum(v) AS s FROM postgres('dbname=x',\n'ev',key=>'id', 'a''b') "
                        "WHERE partition = 'ev_a'",
                        &qo, &r, &err),
               &err);
  /* A table function source reaches the resolver as its canonical text. */
  assert_string_equal(g_resolved, "postgres('dbname=x', 'ev', key => 'id', 'a''b')");
  td_service_counters(o.svc, &after);
  assert_int_equal(after.calls[TD_METHOD_TABLE_LOCATION_SIZE] - before.calls[TD_METHOD_TABLE_LOCATION_SIZE], 1);
  struct ArrowArray a;
  struct ArrowSchema s;
  TD_ASSERT_OK(td_table_schema(r, &s, &err), &err);
  TD_ASSERT_OK(td_table_read(r, NULL, 0, 0, 1, &a, &err), &err);
  assert_int_equal(cell(r, &s, &a, 0, "n").v.i, 100);
  assert_int_equal(cell(r, &s, &a, 0, "s").v.i, pg_scalar(g_c, "SELECT sum(v) FROM ev_a"));
  a.release(&a);
  s.release(&s);
  td_table_release(r);
  close_table(&o);
}

static void test_distinct_locations(void **state) {
  (void)state;
  pg_exec(g_c, "DROP TABLE IF EXISTS trades; CREATE TABLE trades(id int4 PRIMARY KEY, sym text, ex int2, px float8);"
               "INSERT INTO trades SELECT i, CASE WHEN i % 2 = 0 THEN 'A''s' ELSE 'B' END, i % 3, i * 0.5 "
               "FROM generate_series(1, 60) i; INSERT INTO trades VALUES (61, NULL, 0, 1)");
  const char *locs[] = {"sym", "ex"};
  td_postgres_options po;
  td_postgres_options_init(&po);
  po.location_columns = locs;
  po.n_location_columns = 2;
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("trades", &po, false, 0, &o, &err), &err);
  assert_int_equal(td_table_location_count(o.t), 7);
  assert_int_equal(td_table_size(o.t), 61);
  assert_string_equal(td_table_column_name(o.t, 0), "sym");
  assert_int_equal(td_table_column_type(o.t, 1), TD_TYPE_INT16);
  assert_int_equal(td_table_num_columns(o.t), 4);
  /* Every row is in the location its values say. */
  struct ArrowSchema s;
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_schema(o.t, &s, &err), &err);
  TD_ASSERT_OK(td_table_read(o.t, NULL, 0, 0, 61, &a, &err), &err);
  int64_t sum = 0;
  for (int64_t r = 0; r < 61; r++) {
    int64_t id = cell(o.t, &s, &a, r, "id").v.i;
    sum += id;
    td_value sym = cell(o.t, &s, &a, r, "sym");
    if (id == 61) assert_true(sym.is_null);
    else assert_int_equal(sym.v.s.len, id % 2 == 0 ? 3 : 1);
    assert_int_equal(cell(o.t, &s, &a, r, "ex").v.i, id == 61 ? 0 : id % 3);
  }
  assert_int_equal(sum, 61 * 62 / 2);
  a.release(&a);
  s.release(&s);
  close_table(&o);
}

static void test_uri(void **state) {
  (void)state;
  char uri[400];
  snprintf(uri, sizeof uri, "postgresql:///postgres/trades?host=%s&port=5432&user=postgres&locations=ex&poll_ms=20",
           g_srv.dir);
  td_postgres_backend *pb;
  td_error err;
  TD_ASSERT_OK(td_postgres_backend_open_uri(uri, &pb, &err), &err);
  assert_string_equal(td_postgres_backend_table_name(pb), "trades");
  td_postgres_backend_release(pb);
  assert_int_equal(td_postgres_backend_open_uri("postgresql://host/", &pb, &err), TD_EINVAL);
  const char *extra[] = {"key=id", "numeric=float64"};
  TD_ASSERT_OK(td_postgres_backend_open_args(g_srv.conninfo, "types", extra, 2, &pb, &err), &err);
  td_postgres_backend_release(pb);
  const char *bad[] = {"colour=red"};
  assert_int_equal(td_postgres_backend_open_args(g_srv.conninfo, "types", bad, 1, &pb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "unknown option 'colour=red'");
}

/* The CLI: postgres('conninfo', 'table', option => 'value') and URIs in
 * tabledata query. */
static void run_cli(const char *sql, char *out, size_t size) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s query --format csv \"%s\" 2>&1", TD_CLI, sql);
  td_test_run(cmd, out, size);
}

static void test_cli(void **state) {
  (void)state;
  char sql[1024], out[4096];
  snprintf(sql, sizeof sql,
           "SELECT ex, count(*) AS n FROM postgres('host=%s port=5432 user=postgres dbname=postgres', 'trades', "
           "locations => 'ex') GROUP BY ex ORDER BY ex",
           g_srv.dir);
  run_cli(sql, out, sizeof out);
  assert_string_equal(out, "ex,n\n0,21\n1,20\n2,20\n");
  snprintf(sql, sizeof sql, "SELECT sum(v) AS s FROM 'postgresql:///postgres/big?host=%s&port=5432&user=postgres'",
           g_srv.dir);
  run_cli(sql, out, sizeof out);
  assert_string_equal(out, "s\n3123750\n");
  snprintf(sql, sizeof sql, "SELECT * FROM postgres('host=%s port=5432 user=postgres', 'nope')", g_srv.dir);
  run_cli(sql, out, sizeof out);
  TD_ASSERT_CONTAINS(out, "table 'nope' does not exist");
  run_cli("SELECT * FROM postgres('only one')", out, sizeof out);
  TD_ASSERT_CONTAINS(out, "expected postgres('conninfo', 'table'");
}

/* Table-function sources that do not parse say where and why. */
static void test_call_syntax(void **state) {
  (void)state;
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  td_table *r = NULL;
  td_error err;
  static const struct {
    const char *sql, *msg;
  } bad[] = {
      {"SELECT * FROM postgres('a' 'b')", "expected ',' or ')' in the source's arguments"},
      {"SELECT * FROM postgres(key 'x')", "expected '=>' or '=' after an argument name"},
      {"SELECT * FROM postgres(1)", "expected a quoted string argument"},
      {"SELECT * FROM postgres('a',", "expected a quoted string argument"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(td_query(bad[i].sql, &qo, &r, &err), TD_EPARSE);
    TD_ASSERT_CONTAINS(err.message, bad[i].msg);
    assert_null(r);
  }
}

/* ---- bad input ---- */

static void test_bad_input(void **state) {
  (void)state;
  td_postgres_backend *pb;
  td_error err;
  assert_int_equal(td_postgres_backend_new(g_srv.conninfo, "no_such_table", NULL, &pb, &err), TD_ENOTFOUND);
  TD_ASSERT_CONTAINS(err.message, "table 'no_such_table' does not exist");
  assert_int_equal(td_postgres_backend_new("host=/nonexistent port=1", "t", NULL, &pb, &err), TD_EIO);
  TD_ASSERT_CONTAINS(err.message, "cannot connect");
  /* A view has no primary key: the key must be named. */
  pg_exec(g_c, "CREATE OR REPLACE VIEW big_v AS SELECT k, v * 2 AS v2 FROM big");
  assert_int_equal(td_postgres_backend_new(g_srv.conninfo, "big_v", NULL, &pb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "name an append-only ordering key");
  td_postgres_options po;
  td_postgres_options_init(&po);
  po.key_column = "nope";
  assert_int_equal(td_postgres_backend_new(g_srv.conninfo, "big_v", &po, &pb, &err), TD_ENOTFOUND);
  TD_ASSERT_CONTAINS(err.message, "no column 'nope'");
  po.key_column = "k";
  po.xid_column = "v2";
  assert_int_equal(td_postgres_backend_new(g_srv.conninfo, "big_v", &po, &pb, &err), TD_EINVAL);
  TD_ASSERT_CONTAINS(err.message, "expected xid8");
  po.xid_column = NULL;
  opened o;
  TD_ASSERT_OK(open_table("big_v", &po, false, 0, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), 2500);
  close_table(&o);

  /* Permissions: a role that may not read the table. */
  pg_exec(g_c, "DROP ROLE IF EXISTS reader; CREATE ROLE reader LOGIN; GRANT SELECT ON big TO reader");
  char ci[400];
  snprintf(ci, sizeof ci, "host=%s port=5432 user=reader dbname=postgres", g_srv.dir);
  assert_int_equal(td_postgres_backend_new(ci, "types", NULL, &pb, &err), TD_EIO);
  TD_ASSERT_CONTAINS(err.message, "table 'types': permission denied");
  /* Revoked after opening: reads fail naming the table. */
  TD_ASSERT_OK(td_postgres_backend_new(ci, "big", NULL, &pb, &err), &err);
  pg_exec(g_c, "REVOKE SELECT ON big FROM reader");
  td_service *svc;
  TD_ASSERT_OK(td_service_new(td_postgres_backend_backend(pb), NULL, &svc, &err), &err);
  td_table_key *k;
  TD_ASSERT_OK(td_table_key_new("big", &k, &err), &err);
  td_table *t = NULL;
  assert_int_not_equal(td_make_table(svc, k, NULL, &t, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "table 'big'");
  TD_ASSERT_CONTAINS(err.message, "permission denied");
  td_table_key_release(k);
  td_service_free(svc);
  td_postgres_backend_release(pb);

  /* Undecodable values: an infinite date names table, column and row. */
  pg_exec(g_c, "DROP TABLE IF EXISTS dates; CREATE TABLE dates(id int4 PRIMARY KEY, d date, ts timestamp);"
               "INSERT INTO dates VALUES (1, '2024-01-01', now()), (2, 'infinity', now()), (3, '2024-01-01', '3000-01-01')");
  TD_ASSERT_OK(open_table("dates", NULL, false, 0, &o, &err), &err);
  int64_t col = td_table_column_index(o.t, "d");
  struct ArrowArray a;
  assert_int_not_equal(td_table_read(o.t, &col, 1, 0, 3, &a, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "table 'dates', location '', column 'd', row 1 (key 2): the date infinity");
  col = td_table_column_index(o.t, "ts");
  assert_int_not_equal(td_table_read(o.t, &col, 1, 0, 3, &a, &err), TD_OK);
  TD_ASSERT_CONTAINS(err.message, "column 'ts', row 2 (key 3)");
  TD_ASSERT_CONTAINS(err.message, "outside the nanosecond range");
  close_table(&o);
}

/* ---- live ---- */

typedef struct follow_ctx {
  pthread_mutex_t mu;
  int64_t *ids;
  int64_t n, cap, updates, failures;
  char error[TD_ERROR_MESSAGE_SIZE];
} follow_ctx;

/* Reads the ids of each cycle's new rows, in table order. */
static void on_update(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  follow_ctx *f = ctx;
  pthread_mutex_lock(&f->mu);
  if (e) {
    f->failures++;
    snprintf(f->error, sizeof f->error, "%s", e->message);
    pthread_mutex_unlock(&f->mu);
    return;
  }
  f->updates++;
  int64_t col = td_table_column_index(t, "id");
  for (int64_t i = 0; i < u->n_added; i++) {
    struct ArrowArray a;
    td_error err;
    if (td_table_read(t, &col, 1, u->added[i].first_row, u->added[i].end_row, &a, &err) != TD_OK) {
      f->failures++;
      snprintf(f->error, sizeof f->error, "%s", err.message);
      continue;
    }
    const int64_t *v = (const int64_t *)a.children[0]->buffers[1] + a.children[0]->offset;
    for (int64_t r = 0; r < a.length; r++) {
      if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 1024;
        f->ids = realloc(f->ids, (size_t)f->cap * sizeof *f->ids);
      }
      f->ids[f->n++] = v[r];
    }
    a.release(&a);
  }
  pthread_mutex_unlock(&f->mu);
}

typedef struct writer {
  int seed, txs;
} writer;

static void *write_main(void *arg) {
  writer *w = arg;
  PGconn *c = pg_server_connect(&g_srv, NULL);
  unsigned s = (unsigned)w->seed;
  for (int i = 0; i < w->txs; i++) {
    pg_exec(c, "BEGIN");
    int rows = 1 + (int)(rand_r(&s) % 5);
    pg_execf(c, "INSERT INTO live(w, v) SELECT %d, g FROM generate_series(1, %d) g", w->seed, rows);
    usleep((useconds_t)(rand_r(&s) % 20000));
    pg_exec(c, rand_r(&s) % 10 == 0 ? "ROLLBACK" : "COMMIT");
  }
  PQfinish(c);
  return NULL;
}

static void check_follow(follow_ctx *f, const char *sql) {
  PGresult *r = PQexec(g_c, sql);
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  pthread_mutex_lock(&f->mu);
  if (f->n != PQntuples(r)) fail_msg("the listeners saw %lld rows, the SQL table has %d", (long long)f->n, PQntuples(r));
  for (int i = 0; i < PQntuples(r); i++)
    if (f->ids[i] != strtoll(PQgetvalue(r, i, 0), NULL, 10))
      fail_msg("row %d: id %lld seen, %s in the SQL table (skipped or duplicated rows)", i, (long long)f->ids[i],
               PQgetvalue(r, i, 0));
  pthread_mutex_unlock(&f->mu);
  PQclear(r);
}

static void test_live_out_of_order(void **state) {
  (void)state;
  pg_exec(g_c, "DROP TABLE IF EXISTS live; CREATE TABLE live(id bigserial PRIMARY KEY, "
               "xid xid8 NOT NULL DEFAULT pg_current_xact_id(), w int4, v int8)");
  td_postgres_options po;
  td_postgres_options_init(&po);
  po.poll_ms = 20;
  po.notify_channel = "live_rows";
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("live", &po, true, 0, &o, &err), &err);
  assert_true(td_postgres_backend_is_live(o.pb));
  follow_ctx f;
  memset(&f, 0, sizeof f);
  pthread_mutex_init(&f.mu, NULL);
  TD_ASSERT_OK(td_table_add_listener(o.t, on_update, &f, NULL, &err), &err);

  /* An open transaction holds the horizon: a later commit stays invisible. */
  PGconn *a = pg_server_connect(&g_srv, NULL);
  pg_exec(a, "BEGIN; INSERT INTO live(w, v) VALUES (-1, 1)");
  pg_exec(g_c, "INSERT INTO live(w, v) VALUES (-2, 2)");
  usleep(300000);
  assert_int_equal(td_table_size(o.t), 0);
  pg_exec(a, "COMMIT");
  TD_ASSERT_OK(td_table_wait(o.t, 0, 2, 10000, &err), &err);
  PQfinish(a);

  /* Concurrent writers, commits in any order, some rollbacks. */
  enum { W = 4 };
  pthread_t th[W];
  writer ws[W];
  for (int i = 0; i < W; i++) {
    ws[i] = (writer){i + 1, 30};
    pthread_create(&th[i], NULL, write_main, &ws[i]);
  }
  for (int i = 0; i < W; i++) pthread_join(th[i], NULL);
  pg_exec(g_c, "NOTIFY live_rows");
  long long n = pg_scalar(g_c, "SELECT count(*) FROM live");
  TD_ASSERT_OK(td_table_wait(o.t, 0, n, 20000, &err), &err);
  assert_int_equal(td_table_size(o.t), n);
  check_follow(&f, "SELECT id FROM live ORDER BY xid, id");
  assert_int_equal(f.failures, 0);
  close_table(&o);
  free(f.ids);
  pthread_mutex_destroy(&f.mu);
}

static void test_live_partitions(void **state) {
  (void)state;
  make_events();
  td_postgres_options po;
  td_postgres_options_init(&po);
  po.key_column = "id";
  po.poll_ms = 20;
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("ev", &po, true, 0, &o, &err), &err);
  follow_ctx f;
  memset(&f, 0, sizeof f);
  pthread_mutex_init(&f.mu, NULL);
  TD_ASSERT_OK(td_table_add_listener(o.t, on_update, &f, NULL, &err), &err);
  assert_int_equal(td_table_size(o.t), 300);
  pg_exec(g_c, "CREATE TABLE ev_c PARTITION OF ev FOR VALUES IN ('c'); INSERT INTO ev(k, v) VALUES ('c', 1), ('a', 2)");
  TD_ASSERT_OK(td_table_wait(o.t, 0, 302, 10000, &err), &err);
  assert_int_equal(td_table_location_count(o.t), 3);
  /* A dropped partition is a location removal: its rows leave the table,
   * which goes on growing; created again, it is a new location. */
  int64_t before = td_table_size(o.t), b_rows = 0;
  for (int64_t r = 0; r < td_table_location_count(o.t); r++) {
    char name[64];
    td_location_key_format(td_table_location(o.t, r), name, sizeof name);
    if (strstr(name, "ev_b")) b_rows = (r + 1 < td_table_location_count(o.t) ? td_table_region_start(o.t, r + 1)
                                                                             : before) - td_table_region_start(o.t, r);
  }
  assert_true(b_rows > 0);
  pg_exec(g_c, "DROP TABLE ev_b");
  for (int i = 0; i < 500 && td_table_size(o.t) != before - b_rows; i++) usleep(20000);
  assert_int_equal(td_table_size(o.t), before - b_rows);
  assert_int_equal(td_table_status(o.t, &err), TD_OK);
  assert_int_equal(td_table_location_count(o.t), 3);
  int64_t removed_region = -1;
  for (int64_t r = 0; r < 3; r++)
    if (td_table_region_removed(o.t, r)) removed_region = r;
  assert_true(removed_region >= 0);
  pg_exec(g_c, "INSERT INTO ev(k, v) VALUES ('a', 3)");
  TD_ASSERT_OK(td_table_wait(o.t, 0, before - b_rows + 1, 10000, &err), &err);
  pg_exec(g_c, "CREATE TABLE ev_b PARTITION OF ev FOR VALUES IN ('b'); INSERT INTO ev(k, v) VALUES ('b', 4)");
  TD_ASSERT_OK(td_table_wait(o.t, 0, before - b_rows + 2, 10000, &err), &err);
  assert_int_equal(td_table_location_count(o.t), 4);
  assert_int_equal(td_table_status(o.t, &err), TD_OK);
  close_table(&o);
  free(f.ids);
  pthread_mutex_destroy(&f.mu);
}

/* A server restart: the poll reconnects and the table resumes. */
static void test_restart(void **state) {
  (void)state;
  pg_exec(g_c, "DROP TABLE IF EXISTS live; CREATE TABLE live(id bigserial PRIMARY KEY, "
               "xid xid8 NOT NULL DEFAULT pg_current_xact_id(), w int4, v int8);"
               "INSERT INTO live(w, v) VALUES (1, 1), (1, 2)");
  td_postgres_options po;
  td_postgres_options_init(&po);
  po.poll_ms = 50;
  opened o;
  td_error err;
  TD_ASSERT_OK(open_table("live", &po, true, 0, &o, &err), &err);
  assert_int_equal(td_table_size(o.t), 2);
  PQfinish(g_c);
  g_c = NULL;
  assert_true(pg_server_stop(&g_srv, true));
  usleep(300000);
  assert_true(pg_server_restart(&g_srv));
  g_c = pg_server_connect(&g_srv, NULL);
  pg_exec(g_c, "INSERT INTO live(w, v) VALUES (2, 3)");
  TD_ASSERT_OK(td_table_wait(o.t, 0, 3, 10000, &err), &err);
  int64_t col = td_table_column_index(o.t, "v");
  struct ArrowArray a;
  TD_ASSERT_OK(td_table_read(o.t, &col, 1, 0, 3, &a, &err), &err);
  assert_int_equal(((const int64_t *)a.children[0]->buffers[1])[a.children[0]->offset + 2], 3);
  a.release(&a);
  close_table(&o);
}

static int setup(void **state) {
  (void)state;
  if (!pg_server_start(&g_srv)) return -1;
  g_c = pg_server_connect(&g_srv, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (g_c) PQfinish(g_c);
  pg_server_destroy(&g_srv);
  return 0;
}

int main(void) {
  if (!pg_server_bindir()) {
    printf("test_postgres: skipped: the PostgreSQL server binaries (initdb, pg_ctl; Debian package postgresql) "
           "are not installed\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types),        cmocka_unit_test(test_paging),
      cmocka_unit_test(test_partitions),   cmocka_unit_test(test_distinct_locations),
      cmocka_unit_test(test_uri),          cmocka_unit_test(test_cli),
      cmocka_unit_test(test_call_syntax),  cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_live_out_of_order), cmocka_unit_test(test_live_partitions),
      cmocka_unit_test(test_restart),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
