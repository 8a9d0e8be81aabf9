/*
 * formats/ipc/ipc_writer.h - Arrow IPC stream (and file) writer.
 *
 * Writes the Arrow IPC stream format (continuation-marked messages,
 * metadata version V5, little-endian, 8-byte aligned buffers, uncompressed
 * unless asked for ZSTD)
 * to a file descriptor: the schema on open, one record batch per call, the
 * end-of-stream marker on close.  Readable by Apache Arrow (C++, JS, ...).
 * The descriptor stays owned by the caller.
 */
#ifndef TD_FORMATS_IPC_WRITER_H
#define TD_FORMATS_IPC_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrow/schema.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"

typedef struct td_ipc_stream_writer td_ipc_stream_writer;

/* Copies `schema` and writes the Schema message to `fd`. */
int td_ipc_stream_writer_open(int fd, const td_schema *schema, td_ipc_stream_writer **out,
                              td_error *err);
/* The same writer for the Arrow IPC *file* format (.arrow/.feather v2):
 * "ARROW1" and padding, then the stream, and on close the footer (the
 * schema and each record batch's Block), its length and "ARROW1" again,
 * so readers such as pyarrow.ipc.open_file can seek to any batch. */
int td_ipc_file_writer_open(int fd, const td_schema *schema, td_ipc_stream_writer **out, td_error *err);
/* Writes one record batch: `batch` is a struct array ("+s") with one child
 * per schema field, of the field's type.  Children may have offsets and
 * validity bitmaps.  The batch is borrowed, not released. */
int td_ipc_stream_writer_write(td_ipc_stream_writer *w, const struct ArrowArray *batch,
                               td_error *err);
/* Compresses the buffers of the record batches written from now on with
 * ZSTD (BodyCompression, BUFFER method), or stops doing so. */
void td_ipc_stream_writer_compress(td_ipc_stream_writer *w, bool zstd);
/* The Schema message of `schema` as it starts a stream (continuation
 * marker, length, flatbuffer), in a new buffer of *n bytes the caller frees
 * with td_free: what Parquet writers store, base64-encoded, as the footer's
 * "ARROW:schema" value. */
int td_ipc_schema_bytes(const td_schema *schema, uint8_t **out, size_t *n, td_error *err);
/* Writes the end-of-stream marker and frees the writer (NULL is fine).  The
 * writer is freed even when the final write fails. */
int td_ipc_stream_writer_close(td_ipc_stream_writer *w, td_error *err);
/* Frees the writer without writing the end-of-stream marker. */
void td_ipc_stream_writer_abort(td_ipc_stream_writer *w);

#endif
