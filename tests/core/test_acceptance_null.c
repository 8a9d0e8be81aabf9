/*
 * tests/core/test_acceptance_null.c - every public function given NULL for
 * a handle, a string or an out pointer gives a clear error (TD_EINVAL, or
 * the neutral answer an accessor documents: 0, -1, NULL, false), never a
 * crash.  Each call runs in a child process, so one crash does not hide the
 * others: the test lists every call that crashed.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tabledata.h"
#include "test.h"

static td_service *g_svc;
static td_table *g_t;
static td_table_key *g_key;
static td_location_key *g_loc;
static td_memory_backend *g_mb;

/* A one-location memory table "t" (P utf8 | x int64, 3 rows). */
static void fixture(void) {
  td_error err;
  TD_ASSERT_OK(td_memory_backend_new(&g_mb, &err), &err);
  struct ArrowSchema data, part;
  const char *dn[1] = {"x"}, *pn[1] = {"P"};
  td_type_id dt[1] = {TD_TYPE_INT64}, pt[1] = {TD_TYPE_UTF8};
  TD_ASSERT_OK(td_schema_make(1, dn, dt, NULL, &data, &err), &err);
  TD_ASSERT_OK(td_schema_make(1, pn, pt, NULL, &part, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_table(g_mb, "t", &data, &part, &err), &err);
  data.release(&data);
  part.release(&part);
  td_value v = td_value_str("a");
  TD_ASSERT_OK(td_location_key_new(NULL, 1, pn, &v, &g_loc, &err), &err);
  td_builder *b;
  TD_ASSERT_OK(td_builder_new(TD_TYPE_INT64, &b, &err), &err);
  for (int i = 0; i < 3; i++) TD_ASSERT_OK(td_builder_append_int(b, i, &err), &err);
  struct ArrowArray col, batch;
  TD_ASSERT_OK(td_builder_finish(b, &col, &err), &err);
  td_builder_free(b);
  TD_ASSERT_OK(td_batch_make(1, &col, &batch, &err), &err);
  TD_ASSERT_OK(td_memory_backend_add_location(g_mb, "t", g_loc, &batch, &err), &err);
  TD_ASSERT_OK(td_service_new(td_memory_backend_backend(g_mb), NULL, &g_svc, &err), &err);
  TD_ASSERT_OK(td_table_key_new("t", &g_key, &err), &err);
  TD_ASSERT_OK(td_make_table(g_svc, g_key, NULL, &g_t, &err), &err);
}

static void fixture_free(void) {
  td_table_release(g_t);
  td_table_key_release(g_key);
  td_location_key_release(g_loc);
  td_service_free(g_svc);
  td_memory_backend_release(g_mb);
}

/* Exit codes of a child: 0 as expected, 2 an unexpected result. */
#define EXPECT(cond) \
  do {               \
    if (!(cond)) _exit(2); \
  } while (0)

typedef void (*probe_fn)(void);
typedef struct probe_case {
  const char *name;
  probe_fn fn;
} probe_case;

#define CASE(name, ...)              \
  static void name(void) { __VA_ARGS__; }

static void nop_listener(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  (void)ctx, (void)t, (void)u, (void)e;
}

static td_error e_;
static struct ArrowArray a_;
static struct ArrowSchema s_;
static struct ArrowArrayStream st_;
static char buf_[64];

/* table.h */
CASE(c_table_read_null_table, EXPECT(td_table_read(NULL, NULL, 0, 0, 0, &a_, &e_) == TD_EINVAL))
CASE(c_table_read_null_out, EXPECT(td_table_read(g_t, NULL, 0, 0, 1, NULL, &e_) == TD_EINVAL))
CASE(c_table_read_null_columns, EXPECT(td_table_read(g_t, NULL, 1, 0, 1, &a_, &e_) == TD_EINVAL))
CASE(c_table_stream_null_table, EXPECT(td_table_stream(NULL, NULL, 0, &st_, &e_) == TD_EINVAL))
CASE(c_table_stream_null_out, EXPECT(td_table_stream(g_t, NULL, 0, NULL, &e_) == TD_EINVAL))
CASE(c_table_schema_null_table, EXPECT(td_table_schema(NULL, &s_, &e_) == TD_EINVAL))
CASE(c_table_schema_null_out, EXPECT(td_table_schema(g_t, NULL, &e_) == TD_EINVAL))
CASE(c_make_table_null_service, EXPECT(td_make_table(NULL, g_key, NULL, &g_t, &e_) == TD_EINVAL))
CASE(c_make_table_null_key, EXPECT(td_make_table(g_svc, NULL, NULL, &g_t, &e_) == TD_EINVAL))
CASE(c_make_table_null_out, EXPECT(td_make_table(g_svc, g_key, NULL, NULL, &e_) == TD_EINVAL))
CASE(c_table_retain_null, EXPECT(td_table_retain(NULL) == NULL))
CASE(c_table_add_listener_null, EXPECT(td_table_add_listener(NULL, nop_listener, NULL, NULL, &e_) == TD_EINVAL))
CASE(c_table_remove_listener_null, EXPECT(td_table_remove_listener(NULL, 1) != TD_OK))
CASE(c_table_is_refreshing_null, EXPECT(!td_table_is_refreshing(NULL)))
CASE(c_table_version_null, EXPECT(td_table_version(NULL) <= 0))
CASE(c_table_status_null, EXPECT(td_table_status(NULL, &e_) == TD_EINVAL))
CASE(c_table_wait_null, EXPECT(td_table_wait(NULL, 0, 0, 0, &e_) == TD_EINVAL))
CASE(c_table_num_columns_null, EXPECT(td_table_num_columns(NULL) == 0))
CASE(c_table_column_name_null, EXPECT(td_table_column_name(NULL, 0) == NULL))
CASE(c_table_column_type_null, EXPECT(td_table_column_type(NULL, 0) == TD_TYPE_NONE))
CASE(c_table_column_timezone_null, EXPECT(td_table_column_timezone(NULL, 0) == NULL))
CASE(c_table_column_is_partition_null, EXPECT(!td_table_column_is_partition(NULL, 0)))
CASE(c_table_column_index_null, EXPECT(td_table_column_index(NULL, "x") == -1))
CASE(c_table_column_index_null_name, EXPECT(td_table_column_index(g_t, NULL) == -1))
CASE(c_table_size_null, EXPECT(td_table_size(NULL) == 0))
CASE(c_table_location_count_null, EXPECT(td_table_location_count(NULL) == 0))
CASE(c_table_location_null, EXPECT(td_table_location(NULL, 0) == NULL))
CASE(c_table_update_mode_null, (void)td_table_update_mode(NULL))
CASE(c_table_region_removed_null, EXPECT(!td_table_region_removed(NULL, 0)))
CASE(c_table_region_start_null, EXPECT(td_table_region_start(NULL, 0) == -1))
CASE(c_table_row_key_null, EXPECT(td_table_row_key(NULL, 0) == -1))
CASE(c_make_pt_null_service,
     td_partitioned_table *pt; EXPECT(td_make_partitioned_table(NULL, g_key, NULL, &pt, &e_) == TD_EINVAL))
CASE(c_make_pt_null_out, EXPECT(td_make_partitioned_table(g_svc, g_key, NULL, NULL, &e_) == TD_EINVAL))
CASE(c_pt_release_null, td_partitioned_table_release(NULL))
CASE(c_pt_add_listener_null, EXPECT(td_partitioned_table_add_listener(NULL, nop_listener, NULL, NULL, &e_) != TD_OK))
CASE(c_pt_remove_listener_null, EXPECT(td_partitioned_table_remove_listener(NULL, 1) != TD_OK))
CASE(c_pt_size_null, EXPECT(td_partitioned_table_size(NULL) == 0))
CASE(c_pt_key_null, EXPECT(td_partitioned_table_key(NULL, 0) == NULL))
CASE(c_pt_read_null, EXPECT(td_partitioned_table_read(NULL, NULL, &a_, &e_) == TD_EINVAL))
CASE(c_pt_constituent_null, td_table *t; EXPECT(td_partitioned_table_constituent(NULL, 0, &t, &e_) == TD_EINVAL))
CASE(c_pt_merge_null, td_table *t; EXPECT(td_partitioned_table_merge(NULL, &t, &e_) == TD_EINVAL))
CASE(c_table_options_init_null, td_table_options_init(NULL))
/* service.h */
CASE(c_service_new_no_vtable, td_service *s; td_backend b = {NULL, NULL};
     EXPECT(td_service_new(b, NULL, &s, &e_) == TD_EINVAL))
CASE(c_service_retain_null, EXPECT(td_service_retain(NULL) == NULL))
CASE(c_service_flush_null, EXPECT(td_service_flush(NULL, 0, &e_) == TD_EINVAL))
CASE(c_service_counters_null, td_counters c; td_service_counters(NULL, &c))
CASE(c_service_counters_null_out, td_service_counters(g_svc, NULL))
CASE(c_service_options_init_null, td_service_options_init(NULL))
CASE(c_method_name_bad, EXPECT(td_method_name((td_method)99) != NULL))
/* keys.h */
CASE(c_table_key_new_null, td_table_key *k; EXPECT(td_table_key_new(NULL, &k, &e_) == TD_EINVAL))
CASE(c_table_key_new_null_out, EXPECT(td_table_key_new("t", NULL, &e_) == TD_EINVAL))
CASE(c_table_key_retain_null, EXPECT(td_table_key_retain(NULL) == NULL))
CASE(c_table_key_name_null, EXPECT(td_table_key_name(NULL) == NULL))
CASE(c_table_key_equal_null, EXPECT(!td_table_key_equal(NULL, g_key)))
CASE(c_table_key_hash_null, (void)td_table_key_hash(NULL))
CASE(c_location_key_new_null_names, td_location_key *k;
     EXPECT(td_location_key_new(NULL, 1, NULL, NULL, &k, &e_) == TD_EINVAL))
CASE(c_location_key_new_negative_n, td_location_key *k;
     EXPECT(td_location_key_new(NULL, -1, NULL, NULL, &k, &e_) == TD_EINVAL))
CASE(c_location_key_new_null_out, EXPECT(td_location_key_new(NULL, 0, NULL, NULL, NULL, &e_) == TD_EINVAL))
CASE(c_location_key_from_arrow_null_out,
     EXPECT(td_location_key_from_arrow(NULL, NULL, NULL, NULL, &e_) == TD_EINVAL))
CASE(c_location_key_standalone_null, EXPECT(td_location_key_standalone(NULL, &e_) == TD_EINVAL))
CASE(c_location_key_retain_null, EXPECT(td_location_key_retain(NULL) == NULL))
CASE(c_location_key_identity_null, (void)td_location_key_identity(NULL))
CASE(c_location_key_partition_count_null, EXPECT(td_location_key_partition_count(NULL) == 0))
CASE(c_location_key_partition_name_null, EXPECT(td_location_key_partition_name(NULL, 0) == NULL))
CASE(c_location_key_partition_value_null, EXPECT(td_location_key_partition_value(NULL, 0) == NULL))
CASE(c_location_key_find_null, EXPECT(td_location_key_find(NULL, "P") == NULL))
CASE(c_location_key_find_null_name, EXPECT(td_location_key_find(g_loc, NULL) == NULL))
CASE(c_location_key_compare_null, EXPECT(td_location_key_compare(NULL, g_loc) < 0))
CASE(c_location_key_equal_null, EXPECT(!td_location_key_equal(NULL, g_loc)))
CASE(c_location_key_hash_null, (void)td_location_key_hash(NULL))
CASE(c_location_key_format_null, (void)td_location_key_format(NULL, buf_, sizeof buf_))
CASE(c_location_key_format_null_buf, EXPECT(td_location_key_format(g_loc, NULL, 0) > 0))
CASE(c_value_compare_null, (void)td_value_compare(NULL, NULL))
CASE(c_value_format_null, (void)td_value_format(NULL, buf_, sizeof buf_))
CASE(c_binary_format_null, (void)td_binary_format(NULL, 0, buf_, sizeof buf_))
/* error.h */
CASE(c_error_clear_null, td_error_clear(NULL))
CASE(c_status_name_bad, EXPECT(td_status_name(-7) != NULL))
CASE(c_status_text_bad, EXPECT(td_status_text(999) != NULL))
/* arrow_build.h */
CASE(c_builder_new_null_out, EXPECT(td_builder_new(TD_TYPE_INT64, NULL, &e_) == TD_EINVAL))
CASE(c_builder_length_null, EXPECT(td_builder_length(NULL) == 0))
CASE(c_builder_append_null_null, EXPECT(td_builder_append_null(NULL, &e_) != TD_OK))
CASE(c_builder_append_int_null, EXPECT(td_builder_append_int(NULL, 1, &e_) != TD_OK))
CASE(c_builder_append_double_null, EXPECT(td_builder_append_double(NULL, 1, &e_) != TD_OK))
CASE(c_builder_append_str_null, EXPECT(td_builder_append_str(NULL, "a", 1, &e_) != TD_OK))
CASE(c_builder_append_str_null_s, td_builder *b; td_builder_new(TD_TYPE_UTF8, &b, NULL);
     EXPECT(td_builder_append_str(b, NULL, -1, &e_) != TD_OK))
CASE(c_builder_append_value_null, td_builder *b; td_builder_new(TD_TYPE_UTF8, &b, NULL);
     EXPECT(td_builder_append_value(b, NULL, &e_) != TD_OK))
CASE(c_builder_finish_null, EXPECT(td_builder_finish(NULL, &a_, &e_) != TD_OK))
CASE(c_builder_finish_null_out, td_builder *b; td_builder_new(TD_TYPE_UTF8, &b, NULL);
     EXPECT(td_builder_finish(b, NULL, &e_) != TD_OK))
CASE(c_batch_make_null_columns, EXPECT(td_batch_make(1, NULL, &a_, &e_) == TD_EINVAL))
CASE(c_batch_make_null_out, EXPECT(td_batch_make(0, NULL, NULL, &e_) == TD_EINVAL))
CASE(c_schema_make_null_names, td_type_id ty = TD_TYPE_INT64;
     EXPECT(td_schema_make(1, NULL, &ty, NULL, &s_, &e_) == TD_EINVAL))
CASE(c_schema_make_null_out, EXPECT(td_schema_make(0, NULL, NULL, NULL, NULL, &e_) == TD_EINVAL))
CASE(c_field_schema_make_null_name, EXPECT(td_field_schema_make(NULL, TD_TYPE_INT64, NULL, &s_, &e_) == TD_EINVAL))
CASE(c_field_schema_make_null_out, EXPECT(td_field_schema_make("x", TD_TYPE_INT64, NULL, NULL, &e_) == TD_EINVAL))
CASE(c_write_ipc_stream_null, EXPECT(td_write_ipc_stream(1, NULL, &e_) != TD_OK))
CASE(c_arrow_get_value_null, td_value v; EXPECT(td_arrow_get_value(NULL, NULL, 0, &v, &e_) == TD_EINVAL))
/* memory_backend.h */
CASE(c_mb_new_null, EXPECT(td_memory_backend_new(NULL, &e_) == TD_EINVAL))
CASE(c_mb_retain_null, EXPECT(td_memory_backend_retain(NULL) == NULL))
CASE(c_mb_add_table_null_mb, EXPECT(td_memory_backend_add_table(NULL, "u", NULL, NULL, &e_) == TD_EINVAL))
CASE(c_mb_add_table_null_schema, EXPECT(td_memory_backend_add_table(g_mb, "u", NULL, NULL, &e_) == TD_EINVAL))
CASE(c_mb_add_location_null_mb, EXPECT(td_memory_backend_add_location(NULL, "t", g_loc, NULL, &e_) == TD_EINVAL))
CASE(c_mb_add_location_null_key, EXPECT(td_memory_backend_add_location(g_mb, "t", NULL, NULL, &e_) == TD_EINVAL))
CASE(c_mb_add_location_null_table, EXPECT(td_memory_backend_add_location(g_mb, NULL, g_loc, NULL, &e_) != TD_OK))
CASE(c_mb_append_null_mb, EXPECT(td_memory_backend_append(NULL, "t", g_loc, NULL, &e_) == TD_EINVAL))
CASE(c_mb_append_null_data, EXPECT(td_memory_backend_append(g_mb, "t", g_loc, NULL, &e_) == TD_EINVAL))
CASE(c_mb_append_null_table, EXPECT(td_memory_backend_append(g_mb, NULL, g_loc, NULL, &e_) != TD_OK))
CASE(c_mb_set_mode_null, EXPECT(td_memory_backend_set_update_mode(NULL, "t", TD_UPDATE_STATIC, &e_) != TD_OK))
CASE(c_mb_remove_null_mb, EXPECT(td_memory_backend_remove_location(NULL, "t", g_loc, &e_) != TD_OK))
CASE(c_mb_remove_null_key, EXPECT(td_memory_backend_remove_location(g_mb, "t", NULL, &e_) == TD_EINVAL))
CASE(c_mb_location_size_null, EXPECT(td_memory_backend_location_size(NULL, "t", g_loc) == -1))
CASE(c_mb_location_size_null_key, EXPECT(td_memory_backend_location_size(g_mb, "t", NULL) == -1))
/* file_backend.h */
CASE(c_fb_options_init_null, td_file_options_init(NULL))
CASE(c_fb_new_null_path, td_file_backend *fb; EXPECT(td_file_backend_new(NULL, NULL, &fb, &e_) == TD_EINVAL))
CASE(c_fb_new_null_out, EXPECT(td_file_backend_new("/nonexistent", NULL, NULL, &e_) == TD_EINVAL))
CASE(c_fb_retain_null, EXPECT(td_file_backend_retain(NULL) == NULL))
CASE(c_fb_table_name_null, (void)td_file_backend_table_name(NULL))
CASE(c_fb_bytes_read_null, EXPECT(td_file_backend_bytes_read(NULL) == 0))
CASE(c_fb_unsupported_null, (void)td_file_backend_unsupported(NULL, buf_, sizeof buf_))
CASE(c_fb_location_files_null, (void)td_file_backend_location_files(NULL, g_loc, buf_, sizeof buf_))
/* query.h, join.h */
CASE(c_where_null_source, td_table *t; EXPECT(td_table_where(NULL, "x > 1", &t, &e_) == TD_EINVAL))
CASE(c_where_null_filter, td_table *t; EXPECT(td_table_where(g_t, NULL, &t, &e_) == TD_EINVAL))
CASE(c_where_null_out, EXPECT(td_table_where(g_t, "x > 1", NULL, &e_) == TD_EINVAL))
CASE(c_make_table_where_null, td_table *t;
     EXPECT(td_make_table_where(NULL, g_key, "x > 1", NULL, &t, &e_) == TD_EINVAL))
CASE(c_view_null, td_table *t; EXPECT(td_table_view(NULL, NULL, 0, &t, &e_) == TD_EINVAL))
CASE(c_view_null_columns, td_table *t; EXPECT(td_table_view(g_t, NULL, 1, &t, &e_) == TD_EINVAL))
CASE(c_head_null, td_table *t; EXPECT(td_table_head(NULL, 1, &t, &e_) == TD_EINVAL))
CASE(c_tail_null, td_table *t; EXPECT(td_table_tail(NULL, 1, &t, &e_) == TD_EINVAL))
CASE(c_sort_null, td_table *t; EXPECT(td_table_sort(NULL, NULL, NULL, 0, &t, &e_) == TD_EINVAL))
CASE(c_sort_null_columns, td_table *t; EXPECT(td_table_sort(g_t, NULL, NULL, 1, &t, &e_) == TD_EINVAL))
CASE(c_agg_by_null, td_table *t; EXPECT(td_table_agg_by(NULL, NULL, 0, NULL, 0, &t, &e_) == TD_EINVAL))
CASE(c_agg_by_null_aggs, td_table *t; EXPECT(td_table_agg_by(g_t, NULL, 1, NULL, 0, &t, &e_) == TD_EINVAL))
CASE(c_distinct_null, td_table *t; EXPECT(td_table_select_distinct(NULL, NULL, 0, &t, &e_) == TD_EINVAL))
CASE(c_query_null_sql, td_table *t; EXPECT(td_query(NULL, NULL, &t, &e_) == TD_EINVAL))
CASE(c_query_null_out, EXPECT(td_query("SELECT 1", NULL, NULL, &e_) == TD_EINVAL))
CASE(c_query_stream_null, EXPECT(td_query_stream(NULL, NULL, &st_, &e_) == TD_EINVAL))
CASE(c_query_options_init_null, td_query_options_init(NULL))
CASE(c_join_null, td_table *t; const char *k[1] = {"x"};
     EXPECT(td_table_join(NULL, g_t, TD_JOIN_NATURAL, k, 1, &t, &e_) == TD_EINVAL))
CASE(c_join_null_keys, td_table *t; EXPECT(td_table_join(g_t, g_t, TD_JOIN_NATURAL, NULL, 1, &t, &e_) == TD_EINVAL))
CASE(c_aj_null, td_table *t; EXPECT(td_table_aj(NULL, g_t, NULL, 0, "x", &t, &e_) == TD_EINVAL))
CASE(c_aj_null_on, td_table *t; EXPECT(td_table_aj(g_t, g_t, NULL, 0, NULL, &t, &e_) == TD_EINVAL))
CASE(c_raj_null, td_table *t; EXPECT(td_table_raj(NULL, g_t, NULL, 0, "x", &t, &e_) == TD_EINVAL))
CASE(c_last_by_null, td_table *t; EXPECT(td_table_last_by(NULL, NULL, 0, &t, &e_) == TD_EINVAL))
CASE(c_first_by_null, td_table *t; EXPECT(td_table_first_by(NULL, NULL, 0, &t, &e_) == TD_EINVAL))
CASE(c_update_by_null, td_table *t; EXPECT(td_table_update_by(NULL, NULL, 0, NULL, 0, &t, &e_) == TD_EINVAL))

#define C(name) {#name, name}
static const probe_case cases[] = {
    C(c_table_read_null_table), C(c_table_read_null_out), C(c_table_read_null_columns),
    C(c_table_stream_null_table), C(c_table_stream_null_out), C(c_table_schema_null_table),
    C(c_table_schema_null_out), C(c_make_table_null_service), C(c_make_table_null_key),
    C(c_make_table_null_out), C(c_table_retain_null), C(c_table_add_listener_null),
    C(c_table_remove_listener_null), C(c_table_is_refreshing_null), C(c_table_version_null),
    C(c_table_status_null), C(c_table_wait_null), C(c_table_num_columns_null),
    C(c_table_column_name_null), C(c_table_column_type_null), C(c_table_column_timezone_null),
    C(c_table_column_is_partition_null), C(c_table_column_index_null), C(c_table_column_index_null_name),
    C(c_table_size_null), C(c_table_location_count_null), C(c_table_location_null),
    C(c_table_update_mode_null), C(c_table_region_removed_null), C(c_table_region_start_null),
    C(c_table_row_key_null), C(c_make_pt_null_service), C(c_make_pt_null_out), C(c_pt_release_null),
    C(c_pt_add_listener_null), C(c_pt_remove_listener_null), C(c_pt_size_null), C(c_pt_key_null),
    C(c_pt_read_null), C(c_pt_constituent_null), C(c_pt_merge_null), C(c_table_options_init_null),
    C(c_service_new_no_vtable), C(c_service_retain_null), C(c_service_flush_null),
    C(c_service_counters_null), C(c_service_counters_null_out), C(c_service_options_init_null),
    C(c_method_name_bad), C(c_table_key_new_null), C(c_table_key_new_null_out),
    C(c_table_key_retain_null), C(c_table_key_name_null), C(c_table_key_equal_null),
    C(c_table_key_hash_null), C(c_location_key_new_null_names), C(c_location_key_new_negative_n),
    C(c_location_key_new_null_out), C(c_location_key_from_arrow_null_out),
    C(c_location_key_standalone_null), C(c_location_key_retain_null), C(c_location_key_identity_null),
    C(c_location_key_partition_count_null), C(c_location_key_partition_name_null),
    C(c_location_key_partition_value_null), C(c_location_key_find_null), C(c_location_key_find_null_name),
    C(c_location_key_compare_null), C(c_location_key_equal_null), C(c_location_key_hash_null),
    C(c_location_key_format_null), C(c_location_key_format_null_buf), C(c_value_compare_null),
    C(c_value_format_null), C(c_binary_format_null), C(c_error_clear_null), C(c_status_name_bad),
    C(c_status_text_bad), C(c_builder_new_null_out), C(c_builder_length_null),
    C(c_builder_append_null_null), C(c_builder_append_int_null), C(c_builder_append_double_null),
    C(c_builder_append_str_null), C(c_builder_append_str_null_s), C(c_builder_append_value_null),
    C(c_builder_finish_null), C(c_builder_finish_null_out), C(c_batch_make_null_columns),
    C(c_batch_make_null_out), C(c_schema_make_null_names), C(c_schema_make_null_out),
    C(c_field_schema_make_null_name), C(c_field_schema_make_null_out), C(c_write_ipc_stream_null),
    C(c_arrow_get_value_null), C(c_mb_new_null), C(c_mb_retain_null), C(c_mb_add_table_null_mb),
    C(c_mb_add_table_null_schema), C(c_mb_add_location_null_mb), C(c_mb_add_location_null_key),
    C(c_mb_add_location_null_table), C(c_mb_append_null_mb), C(c_mb_append_null_data),
    C(c_mb_append_null_table), C(c_mb_set_mode_null), C(c_mb_remove_null_mb), C(c_mb_remove_null_key),
    C(c_mb_location_size_null), C(c_mb_location_size_null_key), C(c_fb_options_init_null),
    C(c_fb_new_null_path), C(c_fb_new_null_out), C(c_fb_retain_null), C(c_fb_table_name_null),
    C(c_fb_bytes_read_null), C(c_fb_unsupported_null), C(c_fb_location_files_null),
    C(c_where_null_source), C(c_where_null_filter), C(c_where_null_out), C(c_make_table_where_null),
    C(c_view_null), C(c_view_null_columns), C(c_head_null), C(c_tail_null), C(c_sort_null),
    C(c_sort_null_columns), C(c_agg_by_null), C(c_agg_by_null_aggs), C(c_distinct_null),
    C(c_query_null_sql), C(c_query_null_out), C(c_query_stream_null), C(c_query_options_init_null),
    C(c_join_null), C(c_join_null_keys), C(c_aj_null), C(c_aj_null_on), C(c_raj_null),
    C(c_last_by_null), C(c_first_by_null), C(c_update_by_null),
};

static void test_null_arguments(void **state) {
  (void)state;
  fixture();
  char failures[8192] = "";
  size_t used = 0;
  int n_bad = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      /* cmocka's handlers would catch a crash in the child: restore the defaults. */
      int sigs[5] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
      for (int k = 0; k < 5; k++) signal(sigs[k], SIG_DFL);
      alarm(20);
      td_error_clear(&e_);
      cases[i].fn();
      _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    const char *what = NULL;
    if (WIFSIGNALED(st)) what = strsignal(WTERMSIG(st));
    else if (WEXITSTATUS(st) != 0) what = "unexpected result";
    if (what && used < sizeof failures - 128) {
      n_bad++;
      used += (size_t)snprintf(failures + used, sizeof failures - used, "  %s: %s\n", cases[i].name, what);
    }
  }
  fixture_free();
  if (n_bad) {
    fprintf(stderr, "%d calls with NULL arguments misbehaved:\n%s", n_bad, failures);
    fail_msg("%d calls with NULL arguments misbehaved (listed above)", n_bad);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_null_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
