/*
 * examples/squares_backend.c - a complete backend in C: table "squares",
 * partitioned by "Block" (int64), each block holding `rows` computed values
 * n * n.  Answers synchronously; never stores data.
 */
#include <stdio.h>
#include <string.h>
#include <tabledata.h>

enum { BLOCKS = 4, ROWS = 1000 };

static void schema(void *self, const td_table_key *table, td_request req) {
  const char *data_names[] = {"n", "square"};
  td_type_id data_types[] = {TD_TYPE_INT64, TD_TYPE_INT64};
  const char *part_names[] = {"Block"};
  td_type_id part_types[] = {TD_TYPE_INT64};
  struct ArrowSchema data, part;
  if (strcmp(td_table_key_name(table), "squares") != 0) {
    td_answer_failure(req, "no such table", NULL);
    return;
  }
  td_schema_make(2, data_names, data_types, NULL, &data, NULL);
  td_schema_make(1, part_names, part_types, NULL, &part, NULL);
  td_answer_schema(req, &data, &part, NULL); /* takes both schemas */
}

static void locations(void *self, const td_table_key *table, td_request req) {
  const char *names[] = {"Block"};
  for (int64_t b = 0; b < BLOCKS; b++) {
    td_value value = td_value_int(TD_TYPE_INT64, b);
    td_location_key *key;
    td_location_key_new(NULL, 1, names, &value, &key, NULL);
    td_answer_location(req, key, NULL); /* the engine keeps its own reference */
    td_location_key_release(key);
  }
  td_answer_success(req, NULL);
}

static void size(void *self, const td_table_key *table, const td_location_key *loc, td_request req) {
  td_answer_size(req, ROWS, NULL);
}

static void values(void *self, const td_table_key *table, const td_location_key *loc, const char *column,
                   int64_t offset, int64_t min_rows, int64_t max_rows, td_request req) {
  int64_t block = td_location_key_find(loc, "Block")->v.i;
  td_builder *b;
  td_builder_new(TD_TYPE_INT64, &b, NULL);
  for (int64_t i = offset; i < offset + min_rows; i++) {
    int64_t n = block * ROWS + i;
    td_builder_append_int(b, strcmp(column, "n") == 0 ? n : n * n, NULL);
  }
  struct ArrowArray array;
  td_builder_finish(b, &array, NULL);
  td_builder_free(b);
  struct ArrowSchema field;
  td_field_schema_make(column, TD_TYPE_INT64, NULL, &field, NULL);
  td_answer_values(req, &field, &array, NULL); /* takes both */
}

static const td_backend_vtable squares_vtable = {
    .table_schema = schema,
    .table_locations = locations,
    .table_location_size = size,
    .column_values = values,
};

int main(void) {
  td_error err;
  td_service *service;
  td_backend backend = {&squares_vtable, NULL};
  if (td_service_new(backend, NULL, &service, &err) != TD_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  td_table_key *key;
  td_table *table;
  td_table_key_new("squares", &key, NULL);
  if (td_make_table(service, key, NULL, &table, &err) != TD_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  /* Stream one column: each batch is one page of one location. */
  int64_t column = td_table_column_index(table, "square");
  struct ArrowArrayStream stream;
  td_table_stream(table, &column, 1, &stream, NULL);
  int64_t sum = 0;
  struct ArrowArray batch;
  for (;;) {
    if (stream.get_next(&stream, &batch) != 0) {
      fprintf(stderr, "%s\n", stream.get_last_error(&stream));
      return 1;
    }
    if (!batch.release) break; /* end of stream */
    const struct ArrowArray *c = batch.children[0];
    const int64_t *v = (const int64_t *)c->buffers[1] + c->offset;
    for (int64_t i = 0; i < c->length; i++) sum += v[i];
    batch.release(&batch);
  }
  stream.release(&stream);
  printf("%lld rows, sum of squares %lld\n", (long long)td_table_size(table), (long long)sum);
  td_table_release(table);
  td_table_key_release(key);
  td_service_free(service);
  return 0;
}
