/*
 * examples/refreshing_backend.c - a complete refreshing backend in C.
 *
 * Table "trades", partitioned by Symbol (utf8), with data columns Seq
 * (int64), Price (float64) and Qty (int64).  The backend keeps its own
 * storage (growing arrays per symbol, behind a mutex) and implements all six
 * methods plus unsubscribe:
 *   - static calls (schema, locations, size, column values) answer inside
 *     the call;
 *   - subscriptions are remembered with their td_request; a writer thread
 *     appends rows and adds symbols and answers the subscriptions from its
 *     own thread, later (new sizes, new locations);
 *   - unsubscribe finds the subscription by its request id and forgets it.
 * main() builds a refreshing table with a listener that prints the rows each
 * update cycle added, runs a live SQL aggregation over the backend through a
 * source resolver, waits (td_table_wait) for the writer's last row, and
 * checks every figure it prints.  The test suite runs it (example_refreshing).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tabledata.h>
#include <time.h>

enum { MAX_SYMBOLS = 8, MAX_SUBS = 64, ROUNDS = 4, ROWS_PER_ROUND = 2, FIRST_ROWS = 3 };

/* ---- the storage ---- */

typedef struct symbol_data {
  char name[16];
  td_location_key *key;
  int64_t n, cap;
  int64_t *seq, *qty;
  double *price;
} symbol_data;

typedef struct subscription {
  td_request req;
  td_location_key *loc; /* the location of a size subscription; NULL: locations */
} subscription;

typedef struct store {
  pthread_mutex_t lock;
  symbol_data syms[MAX_SYMBOLS];
  int n_syms;
  subscription subs[MAX_SUBS];
  int n_subs;
  int unsubscribed;
} store;

/* Row i of symbol number s: deterministic, so the output can be checked. */
static void append_rows(symbol_data *d, int s, int64_t n) {
  if (d->n + n > d->cap) {
    d->cap = (d->n + n) * 2;
    d->seq = realloc(d->seq, (size_t)d->cap * sizeof *d->seq);
    d->qty = realloc(d->qty, (size_t)d->cap * sizeof *d->qty);
    d->price = realloc(d->price, (size_t)d->cap * sizeof *d->price);
    if (!d->seq || !d->qty || !d->price) abort();
  }
  for (int64_t k = 0; k < n; k++, d->n++) {
    d->seq[d->n] = d->n;
    d->price[d->n] = 100.0 * (s + 1) + 0.25 * (double)d->n;
    d->qty[d->n] = 10 * (d->n + 1);
  }
}

/* Under the lock: a new symbol with its first rows. */
static symbol_data *add_symbol(store *st, const char *name) {
  symbol_data *d = &st->syms[st->n_syms];
  snprintf(d->name, sizeof d->name, "%s", name);
  const char *names[] = {"Symbol"};
  td_value value = td_value_str(name);
  if (td_location_key_new(NULL, 1, names, &value, &d->key, NULL) != TD_OK) abort();
  append_rows(d, st->n_syms, FIRST_ROWS);
  st->n_syms++;
  return d;
}

static symbol_data *find_symbol(store *st, const td_location_key *key) {
  const td_value *v = td_location_key_find(key, "Symbol");
  for (int i = 0; v && i < st->n_syms; i++)
    if (strlen(st->syms[i].name) == v->v.s.len && memcmp(st->syms[i].name, v->v.s.ptr, v->v.s.len) == 0)
      return &st->syms[i];
  return NULL;
}

/* ---- the six methods ---- */

static void schema(void *self, const td_table_key *table, td_request req) {
  if (strcmp(td_table_key_name(table), "trades") != 0) {
    td_answer_failure(req, "no such table (this backend serves 'trades')", NULL);
    return;
  }
  const char *data_names[] = {"Seq", "Price", "Qty"};
  td_type_id data_types[] = {TD_TYPE_INT64, TD_TYPE_FLOAT64, TD_TYPE_INT64};
  const char *part_names[] = {"Symbol"};
  td_type_id part_types[] = {TD_TYPE_UTF8};
  struct ArrowSchema data, part;
  td_schema_make(3, data_names, data_types, NULL, &data, NULL);
  td_schema_make(1, part_names, part_types, NULL, &part, NULL);
  td_answer_schema(req, &data, &part, NULL); /* takes both */
}

static void locations(void *self, const td_table_key *table, td_request req) {
  store *st = self;
  pthread_mutex_lock(&st->lock); /* answers never call back: fine under our lock */
  for (int i = 0; i < st->n_syms; i++) td_answer_location(req, st->syms[i].key, NULL);
  pthread_mutex_unlock(&st->lock);
  td_answer_success(req, NULL);
}

static void size(void *self, const td_table_key *table, const td_location_key *loc, td_request req) {
  store *st = self;
  pthread_mutex_lock(&st->lock);
  symbol_data *d = find_symbol(st, loc);
  if (d) td_answer_size(req, d->n, NULL);
  else td_answer_failure(req, "unknown symbol", NULL);
  pthread_mutex_unlock(&st->lock);
}

static void values(void *self, const td_table_key *table, const td_location_key *loc, const char *column,
                   int64_t offset, int64_t min_rows, int64_t max_rows, td_request req) {
  store *st = self;
  pthread_mutex_lock(&st->lock);
  symbol_data *d = find_symbol(st, loc);
  int64_t n = d ? d->n - offset : -1; /* rows available from offset... */
  if (n > max_rows) n = max_rows;     /* ...up to max_rows (>= min_rows: sizes only grow) */
  if (!d || n < min_rows) {
    pthread_mutex_unlock(&st->lock);
    td_answer_failure(req, "rows out of range", NULL);
    return;
  }
  bool is_price = strcmp(column, "Price") == 0;
  td_builder *b;
  td_builder_new(is_price ? TD_TYPE_FLOAT64 : TD_TYPE_INT64, &b, NULL);
  for (int64_t i = offset; i < offset + n; i++) {
    if (is_price) td_builder_append_double(b, d->price[i], NULL);
    else td_builder_append_int(b, strcmp(column, "Seq") == 0 ? d->seq[i] : d->qty[i], NULL);
  }
  pthread_mutex_unlock(&st->lock);
  struct ArrowArray array;
  struct ArrowSchema field;
  td_builder_finish(b, &array, NULL);
  td_builder_free(b);
  td_field_schema_make(column, is_price ? TD_TYPE_FLOAT64 : TD_TYPE_INT64, NULL, &field, NULL);
  td_answer_values(req, &field, &array, NULL); /* takes both */
}

/* Remembers the subscription, then sends what exists and success, all under
 * the lock so the writer can neither slip a change in between nor miss it. */
static void subscribe_locations(void *self, const td_table_key *table, td_request sub) {
  store *st = self;
  pthread_mutex_lock(&st->lock);
  st->subs[st->n_subs++] = (subscription){sub, NULL};
  for (int i = 0; i < st->n_syms; i++) td_answer_location(sub, st->syms[i].key, NULL);
  td_answer_success(sub, NULL);
  pthread_mutex_unlock(&st->lock);
}

static void subscribe_size(void *self, const td_table_key *table, const td_location_key *loc, td_request sub) {
  store *st = self;
  pthread_mutex_lock(&st->lock);
  symbol_data *d = find_symbol(st, loc);
  if (!d) {
    td_answer_failure(sub, "unknown symbol", NULL); /* a failed subscription is never unsubscribed */
  } else {
    /* The key is borrowed for the call: keep our own reference. */
    st->subs[st->n_subs++] = (subscription){sub, td_location_key_retain((td_location_key *)loc)};
    td_answer_size(sub, d->n, NULL);
    td_answer_success(sub, NULL);
  }
  pthread_mutex_unlock(&st->lock);
}

/* By request id: after this returns we send nothing more on it. */
static void unsubscribe(void *self, td_request sub) {
  store *st = self;
  pthread_mutex_lock(&st->lock);
  for (int i = 0; i < st->n_subs; i++) {
    if (st->subs[i].req.id == sub.id) {
      td_location_key_release(st->subs[i].loc);
      st->subs[i] = st->subs[--st->n_subs];
      st->unsubscribed++;
      break;
    }
  }
  pthread_mutex_unlock(&st->lock);
}

static const td_backend_vtable trades_vtable = {
    .table_schema = schema,
    .table_locations = locations,
    .table_location_size = size,
    .column_values = values,
    .subscribe_to_table_locations = subscribe_locations,
    .subscribe_to_table_location_size = subscribe_size,
    .unsubscribe = unsubscribe,
};

/* ---- the writer: answers subscriptions later, from its own thread ---- */

static void *writer(void *arg) {
  store *st = arg;
  static const char *later[] = {NULL, "GOOG", NULL, "NVDA"};
  for (int round = 0; round < ROUNDS; round++) {
    struct timespec pause = {0, 30 * 1000 * 1000};
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&st->lock);
    for (int s = 0; s < st->n_syms; s++) append_rows(&st->syms[s], s, ROWS_PER_ROUND);
    symbol_data *fresh = later[round] ? add_symbol(st, later[round]) : NULL;
    for (int i = 0; i < st->n_subs; i++) {
      subscription *sub = &st->subs[i];
      if (!sub->loc && fresh) td_answer_location(sub->req, fresh->key, NULL);
      if (sub->loc) td_answer_size(sub->req, find_symbol(st, sub->loc)->n, NULL);
    }
    pthread_mutex_unlock(&st->lock);
  }
  return NULL;
}

/* ---- using it ---- */

static void check(int rc, const td_error *err, const char *what) {
  if (rc != TD_OK) {
    fprintf(stderr, "%s: %s: %s\n", what, td_status_name(rc), err->message);
    exit(1);
  }
}

typedef struct printer {
  struct ArrowSchema schema; /* the table's, to read values */
  int64_t rows_seen, cycles;
} printer;

/* Prints the rows a cycle added: for each location that grew, its new rows. */
static void on_update(void *ctx, td_table *table, const td_table_update *u, const td_error *error) {
  printer *p = ctx;
  if (error) {
    fprintf(stderr, "table failed: %s\n", error->message);
    return;
  }
  p->cycles++;
  printf("cycle %lld: %lld -> %lld rows\n", (long long)u->version, (long long)u->size_before,
         (long long)u->size_after);
  for (int64_t i = 0; i < u->n_new_locations; i++) {
    char name[64];
    td_location_key_format(u->new_locations[i], name, sizeof name);
    printf("  new location %s\n", name);
  }
  for (int64_t i = 0; i < u->n_added; i++) {
    const td_added_rows *a = &u->added[i];
    int64_t start = td_table_region_start(table, a->region); /* position of the region's row 0 */
    struct ArrowArray rows;
    td_error err;
    check(td_table_read(table, NULL, 0, start + a->first_row, start + a->end_row, &rows, &err), &err, "read");
    for (int64_t r = 0; r < rows.length; r++) {
      printf("  +");
      for (int64_t c = 0; c < rows.n_children; c++) {
        td_value v;
        char text[64];
        td_arrow_get_value(p->schema.children[c], rows.children[c], r, &v, NULL);
        td_value_format(&v, text, sizeof text);
        printf(" %s=%s", p->schema.children[c]->name, text);
      }
      printf("\n");
    }
    p->rows_seen += rows.length;
    rows.release(&rows);
  }
}

/* SQL names a source; the resolver says which service and table key it is. */
static int resolve(void *ctx, const char *source, bool is_path, td_service **service, td_table_key **key,
                   td_error *err) {
  if (is_path || strcmp(source, "trades") != 0) {
    if (err) {
      err->code = TD_ENOTFOUND;
      snprintf(err->message, sizeof err->message, "unknown source '%s' (try trades)", source);
    }
    return TD_ENOTFOUND;
  }
  *service = td_service_retain(ctx); /* td_query releases both */
  return td_table_key_new("trades", key, err);
}

int main(void) {
  store st;
  memset(&st, 0, sizeof st);
  pthread_mutex_init(&st.lock, NULL);
  add_symbol(&st, "AAPL");
  add_symbol(&st, "MSFT");

  td_error err;
  td_service_options so;
  td_service_options_init(&so);
  so.update_period_ms = 50; /* changes within 50 ms are applied in one cycle */
  td_service *service;
  td_backend backend = {&trades_vtable, &st};
  check(td_service_new(backend, &so, &service, &err), &err, "service");

  /* A refreshing table and a listener that prints each cycle's rows. */
  td_table_key *key;
  check(td_table_key_new("trades", &key, &err), &err, "key");
  td_table_options to;
  td_table_options_init(&to);
  to.refreshing = true;
  td_table *trades;
  check(td_make_table(service, key, &to, &trades, &err), &err, "table");
  printer p = {.rows_seen = 0};
  check(td_table_schema(trades, &p.schema, &err), &err, "schema");
  int64_t first_size = td_table_size(trades);
  printf("trades: %lld rows in %lld locations at first\n", (long long)first_size,
         (long long)td_table_location_count(trades));
  check(td_table_add_listener(trades, on_update, &p, NULL, &err), &err, "listener");

  /* Live SQL over the backend: the source name goes through the resolver. */
  td_query_options qo;
  td_query_options_init(&qo);
  qo.resolver = resolve;
  qo.resolver_ctx = service;
  qo.refreshing = true;
  td_table *by_symbol;
  check(td_query("SELECT Symbol, count(*) AS n, sum(Qty) AS qty FROM trades GROUP BY Symbol ORDER BY Symbol",
                 &qo, &by_symbol, &err),
        &err, "query");

  /* The writer appends and adds symbols; wait for its last row. */
  pthread_t thread;
  pthread_create(&thread, NULL, writer, &st);
  int64_t final_size = 0; /* 2 symbols from the start, GOOG after round 1, NVDA after round 3 */
  for (int s = 0; s < 4; s++) {
    int64_t rounds = s < 2 ? ROUNDS : s == 2 ? ROUNDS - 2 : 0;
    final_size += FIRST_ROWS + rounds * ROWS_PER_ROUND;
  }
  check(td_table_wait(trades, 0, final_size, 10000, &err), &err, "wait");
  pthread_join(thread, NULL);
  check(td_service_flush(service, 10000, &err), &err, "flush"); /* the query's cycle is done too */

  /* The live query's result now. */
  struct ArrowArray res;
  struct ArrowSchema res_schema;
  check(td_table_read(by_symbol, NULL, 0, 0, td_table_size(by_symbol), &res, &err), &err, "read result");
  check(td_table_schema(by_symbol, &res_schema, &err), &err, "result schema");
  int64_t qty_total = 0;
  char summary[256] = "";
  for (int64_t r = 0; r < res.length; r++) {
    td_value sym, n, qty;
    td_arrow_get_value(res_schema.children[0], res.children[0], r, &sym, NULL);
    td_arrow_get_value(res_schema.children[1], res.children[1], r, &n, NULL);
    td_arrow_get_value(res_schema.children[2], res.children[2], r, &qty, NULL);
    printf("%.*s: %lld rows, qty %lld\n", (int)sym.v.s.len, sym.v.s.ptr, (long long)n.v.i, (long long)qty.v.i);
    snprintf(summary + strlen(summary), sizeof summary - strlen(summary), "%s%.*s=%lld", r ? " " : "",
             (int)sym.v.s.len, sym.v.s.ptr, (long long)n.v.i);
    qty_total += qty.v.i;
  }
  res.release(&res);
  res_schema.release(&res_schema);

  int64_t size = td_table_size(trades), locs = td_table_location_count(trades);
  bool ok = size == final_size && locs == 4 && p.rows_seen == final_size - first_size;

  /* Releasing the tables unsubscribes (by request id) everything. */
  td_table_release(by_symbol);
  td_table_release(trades);
  p.schema.release(&p.schema);
  td_table_key_release(key);
  td_service_free(service);
  pthread_mutex_lock(&st.lock);
  int open = st.n_subs, closed = st.unsubscribed;
  pthread_mutex_unlock(&st.lock);
  ok = ok && open == 0 && closed == 5; /* 1 location subscription + 4 sizes */

  printf("trades: %lld rows in %lld locations; the listener saw %lld new rows; %s; sum(Qty) %lld; "
         "%d subscriptions open after %d unsubscribes: %s\n",
         (long long)size, (long long)locs, (long long)p.rows_seen, summary, (long long)qty_total, open, closed,
         ok ? "OK" : "WRONG");
  for (int i = 0; i < st.n_syms; i++) {
    td_location_key_release(st.syms[i].key);
    free(st.syms[i].seq);
    free(st.syms[i].qty);
    free(st.syms[i].price);
  }
  pthread_mutex_destroy(&st.lock);
  return ok ? 0 : 1;
}
