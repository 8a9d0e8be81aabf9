/*
 * examples/stock_prices.c - the Java seed's stock-prices example
 * (java-table-data-service.md), ported to the six-method backend.
 *
 * The seed builds the table from layered classes: a service that makes one
 * location provider per table key, a provider that lists date locations, a
 * location that reports its row count and makes column locations, and column
 * regions that fill pages.  This file keeps those layers, each as a small C
 * type with the seed's methods, and the backend vtable at the bottom routes
 * each of the six methods to the layer that answers it.  The engine does what
 * the seed's abstract base classes and PartitionAwareSourceTable do
 * (caching providers, paging, row keys, assembling the table).  The mapping
 * is written down in docs/JAVA_MAPPING.md.  The test suite runs this program
 * (example_stock_prices).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <tabledata.h>

/* ---- the seed's in-memory data: date partition -> (column -> array) ---- */

enum { ROWS = 3, DATES = 2 };

typedef struct partition_data {
  const char *date;
  const char *symbol[ROWS];
  double price[ROWS];
  int64_t volume[ROWS];
} partition_data;

static const partition_data k_partitions[DATES] = {
    {"2024-01-01", {"AAPL", "GOOGL", "MSFT"}, {150.25, 2800.50, 380.75}, {1000000, 500000, 750000}},
    {"2024-01-02", {"AAPL", "GOOGL", "MSFT"}, {152.75, 2810.00, 382.25}, {1200000, 600000, 800000}},
};

/* ---- TableKey: StockPricesKey ---- */
/* An ImmutableTableKey whose instances are all equal: a td_table_key named
 * "StockPrices" (keys compare and hash by name). */
static const char *const k_table_name = "StockPrices";

/* ---- TableLocationKey: DateLocationKey ---- */
/* A PartitionedTableLocationKey with partitions {"Date": date}. */
static td_location_key *date_location_key(const char *date) {
  const char *names[] = {"Date"};
  td_value value = td_value_str(date);
  td_location_key *key = NULL;
  td_location_key_new(NULL, 1, names, &value, &key, NULL);
  return key;
}

/* ---- ColumnLocation and its regions: StockColumnLocation ---- */
/* exists(): the column is in columnArrays.  makeColumnRegion<Type>() returns
 * a region whose readChunkPage(firstRowPosition, minimumSize, destination)
 * appends minimumSize values: here, column_values(offset, min_rows, ...)
 * answers rows [offset, offset + min_rows) as one Arrow array. */
typedef struct column_location {
  const partition_data *data;
  const char *name;
} column_location;

static bool column_exists(const column_location *c) {
  return strcmp(c->name, "Symbol") == 0 || strcmp(c->name, "Price") == 0 || strcmp(c->name, "Volume") == 0;
}

static td_type_id column_type(const column_location *c) {
  return strcmp(c->name, "Symbol") == 0 ? TD_TYPE_UTF8 : strcmp(c->name, "Price") == 0 ? TD_TYPE_FLOAT64 : TD_TYPE_INT64;
}

static void read_chunk_page(const column_location *c, int64_t first_row, int64_t minimum_size, td_request req) {
  td_type_id type = column_type(c);
  td_builder *b;
  td_builder_new(type, &b, NULL);
  for (int64_t i = first_row; i < first_row + minimum_size; i++) {
    if (type == TD_TYPE_UTF8) td_builder_append_str(b, c->data->symbol[i], -1, NULL);
    else if (type == TD_TYPE_FLOAT64) td_builder_append_double(b, c->data->price[i], NULL);
    else td_builder_append_int(b, c->data->volume[i], NULL);
  }
  struct ArrowArray array;
  struct ArrowSchema field;
  td_builder_finish(b, &array, NULL);
  td_builder_free(b);
  td_field_schema_make(c->name, type, NULL, &field, NULL);
  td_answer_values(req, &field, &array, NULL);
}

/* ---- TableLocation: StockTableLocation ---- */
/* One date partition.  refresh() reports the row count (handleUpdate);
 * activateUnderlyingDataSource() reports it and calls activationSuccessful
 * (a size subscription: the size, then success); the subscription token is
 * the subscription's request id (matchSubscriptionToken); deactivate is
 * unsubscribe.  The data never grows, as in the seed. */
typedef struct table_location {
  td_location_key *key;
  const partition_data *data;
  int64_t row_count;
  bool active;
  uint64_t token;
} table_location;

static column_location make_column_location(table_location *l, const char *name) {
  return (column_location){l->data, name};
}

static void location_refresh(table_location *l, td_request req) { td_answer_size(req, l->row_count, NULL); }

static void location_activate(table_location *l, td_request sub) {
  l->active = true;
  l->token = sub.id;
  td_answer_size(sub, l->row_count, NULL); /* handleUpdate(flat(rowCount)) */
  td_answer_success(sub, NULL);            /* activationSuccessful(token) */
}

static void location_deactivate(table_location *l) { l->active = false; }

/* ---- TableLocationProvider: StockTableLocationProvider ---- */
/* refresh() announces every known location (handleTableLocationKeyAdded);
 * activateUnderlyingDataSource() does the same on a subscription, then
 * activationSuccessful; makeTableLocation(key) looks the location up. */
typedef struct location_provider {
  td_table_key *table_key;
  table_location locations[DATES];
  int n_locations;
  bool active;
  uint64_t token;
} location_provider;

static table_location *make_table_location(location_provider *p, const td_location_key *key) {
  for (int i = 0; i < p->n_locations; i++)
    if (td_location_key_equal(p->locations[i].key, key)) return &p->locations[i];
  return NULL;
}

static void provider_refresh(location_provider *p, td_request req) {
  for (int i = 0; i < p->n_locations; i++) td_answer_location(req, p->locations[i].key, NULL);
  td_answer_success(req, NULL);
}

static void provider_activate(location_provider *p, td_request sub) {
  p->active = true;
  p->token = sub.id;
  provider_refresh(p, sub); /* every location, then activationSuccessful */
}

/* ---- AbstractTableDataService: StockDataService ---- */
/* makeTableLocationProvider(tableKey) builds a provider with one
 * StockTableLocation per date.  The engine caches one provider per table key
 * (as AbstractTableDataService does), so it is built once, here lazily. */
typedef struct stock_data_service {
  pthread_mutex_t lock;
  const partition_data *partitions;
  int n_partitions;
  location_provider provider; /* for the one table key this service knows */
  bool made;
  int activations, deactivations;
} stock_data_service;

static location_provider *make_table_location_provider(stock_data_service *s, const td_table_key *key) {
  if (strcmp(td_table_key_name(key), k_table_name) != 0) return NULL;
  if (!s->made) {
    location_provider *p = &s->provider;
    for (int i = 0; i < s->n_partitions; i++)
      p->locations[i] = (table_location){date_location_key(s->partitions[i].date), &s->partitions[i], ROWS, false, 0};
    p->n_locations = s->n_partitions;
    s->made = true;
  }
  return &s->provider;
}

/* ---- the six methods: each routed to its layer ---- */

/* The TableDefinition: Date is a partitioning column (its values come from
 * the location keys), Symbol, Price and Volume are data columns. */
static void table_schema(void *self, const td_table_key *table, td_request req) {
  if (!make_table_location_provider(self, table)) {
    td_answer_failure(req, "StockDataService serves only StockPrices", NULL);
    return;
  }
  const char *data_names[] = {"Symbol", "Price", "Volume"};
  td_type_id data_types[] = {TD_TYPE_UTF8, TD_TYPE_FLOAT64, TD_TYPE_INT64};
  const char *part_names[] = {"Date"};
  td_type_id part_types[] = {TD_TYPE_UTF8};
  struct ArrowSchema data, part;
  td_schema_make(3, data_names, data_types, NULL, &data, NULL);
  td_schema_make(1, part_names, part_types, NULL, &part, NULL);
  td_answer_schema(req, &data, &part, NULL);
}

static void table_locations(void *self, const td_table_key *table, td_request req) {
  stock_data_service *s = self;
  pthread_mutex_lock(&s->lock);
  provider_refresh(make_table_location_provider(s, table), req);
  pthread_mutex_unlock(&s->lock);
}

static void table_location_size(void *self, const td_table_key *table, const td_location_key *loc, td_request req) {
  stock_data_service *s = self;
  pthread_mutex_lock(&s->lock);
  table_location *l = make_table_location(make_table_location_provider(s, table), loc);
  if (l) location_refresh(l, req);
  else td_answer_failure(req, "unknown date", NULL);
  pthread_mutex_unlock(&s->lock);
}

static void column_values(void *self, const td_table_key *table, const td_location_key *loc, const char *column,
                          int64_t offset, int64_t min_rows, int64_t max_rows, td_request req) {
  stock_data_service *s = self;
  pthread_mutex_lock(&s->lock);
  table_location *l = make_table_location(make_table_location_provider(s, table), loc);
  column_location c = l ? make_column_location(l, column) : (column_location){NULL, column};
  pthread_mutex_unlock(&s->lock);
  if (!l || !column_exists(&c)) td_answer_failure(req, "no such column location", NULL);
  else read_chunk_page(&c, offset, min_rows, req);
}

static void subscribe_locations(void *self, const td_table_key *table, td_request sub) {
  stock_data_service *s = self;
  pthread_mutex_lock(&s->lock);
  provider_activate(make_table_location_provider(s, table), sub);
  s->activations++;
  pthread_mutex_unlock(&s->lock);
}

static void subscribe_size(void *self, const td_table_key *table, const td_location_key *loc, td_request sub) {
  stock_data_service *s = self;
  pthread_mutex_lock(&s->lock);
  table_location *l = make_table_location(make_table_location_provider(s, table), loc);
  if (l) {
    location_activate(l, sub);
    s->activations++;
  } else {
    td_answer_failure(sub, "unknown date", NULL);
  }
  pthread_mutex_unlock(&s->lock);
}

/* deactivateUnderlyingDataSource: the token (request id) says which layer. */
static void unsubscribe(void *self, td_request sub) {
  stock_data_service *s = self;
  pthread_mutex_lock(&s->lock);
  location_provider *p = &s->provider;
  if (p->active && p->token == sub.id) {
    p->active = false;
    s->deactivations++;
  }
  for (int i = 0; i < p->n_locations; i++) {
    if (p->locations[i].active && p->locations[i].token == sub.id) {
      location_deactivate(&p->locations[i]);
      s->deactivations++;
    }
  }
  pthread_mutex_unlock(&s->lock);
}

static const td_backend_vtable stock_vtable = {
    .table_schema = table_schema,
    .table_locations = table_locations,
    .table_location_size = table_location_size,
    .column_values = column_values,
    .subscribe_to_table_locations = subscribe_locations,
    .subscribe_to_table_location_size = subscribe_size,
    .unsubscribe = unsubscribe,
};

/* ---- Usage: PartitionAwareSourceTable ---- */

static int fail(const char *what, const td_error *err) {
  fprintf(stderr, "%s: %s\n", what, err->message);
  return 1;
}

/* Prints the whole table as rows "Date | Symbol | Price | Volume"; returns
 * the sum of Volume. */
static int64_t print_table(td_table *t) {
  td_error err;
  struct ArrowArray rows;
  struct ArrowSchema schema;
  if (td_table_read(t, NULL, 0, 0, td_table_size(t), &rows, &err) != TD_OK) return -1;
  td_table_schema(t, &schema, NULL);
  int64_t n = td_table_num_columns(t);
  for (int64_t c = 0; c < n; c++) printf("%s%-*s", c ? " | " : "", c + 1 < n ? 10 : 0, td_table_column_name(t, c));
  printf("\n");
  int64_t volume = 0;
  for (int64_t r = 0; r < rows.length; r++) {
    for (int64_t c = 0; c < rows.n_children; c++) {
      td_value v;
      char text[64];
      td_arrow_get_value(schema.children[c], rows.children[c], r, &v, NULL);
      td_value_format(&v, text, sizeof text);
      printf("%s%-*s", c ? " | " : "", c + 1 < n ? 10 : 0, text);
      if (c == rows.n_children - 1) volume += v.v.i;
    }
    printf("\n");
  }
  rows.release(&rows);
  schema.release(&schema);
  return volume;
}

int main(void) {
  stock_data_service data = {.partitions = k_partitions, .n_partitions = DATES};
  pthread_mutex_init(&data.lock, NULL);
  td_error err;
  td_service_options so;
  td_service_options_init(&so);
  so.page_size = 1 << 16; /* the seed's PAGE_SIZE (also the default) */
  td_service *service;
  if (td_service_new((td_backend){&stock_vtable, &data}, &so, &service, &err) != TD_OK) return fail("service", &err);
  td_table_key *key;
  td_table_key_new(k_table_name, &key, NULL);

  /* new PartitionAwareSourceTable(definition, ..., provider, null): a static
   * table (no update source registrar). */
  td_table *stock_prices;
  if (td_make_table(service, key, NULL, &stock_prices, &err) != TD_OK) return fail("table", &err);
  int64_t volume = print_table(stock_prices);
  int64_t rows = td_table_size(stock_prices), locations = td_table_location_count(stock_prices);
  /* The partition column prunes: one date is one location, nothing else read. */
  td_table *day2;
  if (td_make_table_where(service, key, "Date = '2024-01-02'", NULL, &day2, &err) != TD_OK) return fail("where", &err);
  int64_t day2_rows = td_table_size(day2);
  td_table_release(day2);

  /* With an update source (a refreshing table) the provider and locations are
   * activated, and deactivated when the table goes. */
  td_table_options to;
  td_table_options_init(&to);
  to.refreshing = true;
  td_table *live;
  if (td_make_table(service, key, &to, &live, &err) != TD_OK) return fail("refreshing table", &err);
  int64_t live_rows = td_table_size(live);
  td_table_release(live);

  td_table_release(stock_prices);
  td_table_key_release(key);
  td_service_free(service);
  bool ok = rows == 6 && locations == 2 && volume == 4850000 && day2_rows == 3 && live_rows == 6 &&
            data.activations == 3 && data.deactivations == 3;
  printf("StockPrices: %lld rows in %lld locations, sum(Volume) %lld; Date = '2024-01-02': %lld rows; "
         "refreshing: %lld rows, %d activations, %d deactivations: %s\n",
         (long long)rows, (long long)locations, (long long)volume, (long long)day2_rows, (long long)live_rows,
         data.activations, data.deactivations, ok ? "OK" : "WRONG");
  for (int i = 0; i < data.provider.n_locations; i++) td_location_key_release(data.provider.locations[i].key);
  pthread_mutex_destroy(&data.lock);
  return ok ? 0 : 1;
}
