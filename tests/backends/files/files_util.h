/*
 * tests/backends/files/files_util.h - helpers for the file backend tests:
 * temporary trees, Arrow IPC stream files of a small two-column schema
 * (x int64 or int32 = x0 + row, s utf8 = "s<x>"), tables over a file
 * backend, and waiting for a refreshing table to reach a size.
 */
#ifndef TD_TEST_FILES_UTIL_H
#define TD_TEST_FILES_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "formats/ipc/ipc_writer.h"
#include "tabledata.h"
#include "tabledata/file_backend.h"

/* mkdtemp under /tmp; `out` gets the path (size >= 64). */
void fu_tmpdir(char *out);
/* rm -r of a temporary tree. */
void fu_rmtree(const char *path);
/* mkdir -p of root/rel. */
void fu_mkdirs(const char *root, const char *rel);
/* Opens root/rel for writing (truncating) and writes the schema message. */
td_ipc_stream_writer *fu_stream_open(const char *root, const char *rel, td_type_id xtype, int *fd);
void fu_stream_batch(td_ipc_stream_writer *w, td_type_id xtype, int64_t x0, int64_t n);
/* A whole stream file of `n` rows starting at x0, closed. */
void fu_write_stream(const char *root, const char *rel, td_type_id xtype, int64_t x0, int64_t n);
/* Writes text to root/rel (appending when `append`). */
void fu_write_text(const char *root, const char *rel, const char *text, bool append);

/* A service (immediate updates, page size `page_size` or default) over `fb`. */
td_service *fu_service(td_file_backend *fb, int64_t page_size);
/* Builds a table of the backend's one table. */
int fu_table(td_service *svc, td_file_backend *fb, const td_table_options *opts, td_table **out, td_error *err);
/* Sum and count of int column `col` over rows [begin, end). */
void fu_sum(td_table *t, int64_t col, int64_t begin, int64_t end, int64_t *sum, int64_t *count);
/* Flushes until the table has `size` rows (or 5 s pass); returns its size. */
int64_t fu_wait_size(td_service *svc, td_table *t, int64_t size);

#endif
