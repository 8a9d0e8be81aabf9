/*
 * formats/ipc/ipc_stream.c - td_write_ipc_stream: an ArrowArrayStream
 * written as an Arrow IPC stream (the public face of the stream writer).
 */
#include <stdio.h>

#include "arrow/array.h"
#include "formats/ipc/ipc_writer.h"
#include "tabledata/arrow_build.h"
#include "util/error.h"

int td_write_ipc_stream(int fd, struct ArrowArrayStream *stream, td_error *err) {
  if (!stream || !stream->release) return td_err(err, TD_EINVAL, "td_write_ipc_stream needs a stream (not released)");
  struct ArrowSchema as;
  if (stream->get_schema(stream, &as) != 0) {
    const char *m = stream->get_last_error(stream);
    return td_err(err, TD_EIO, "reading the stream's schema: %s", m ? m : "unknown error");
  }
  td_schema s;
  int rc = td_schema_import(&as, &s, err);
  as.release(&as);
  if (rc) return rc;
  td_ipc_stream_writer *w;
  rc = td_ipc_stream_writer_open(fd, &s, &w, err);
  td_schema_reset(&s);
  if (rc) return rc;
  for (;;) {
    struct ArrowArray b;
    if (stream->get_next(stream, &b) != 0) {
      const char *m = stream->get_last_error(stream);
      td_ipc_stream_writer_abort(w);
      return td_err(err, TD_EIO, "%s", m ? m : "the stream failed");
    }
    if (!b.release) break;
    rc = td_ipc_stream_writer_write(w, &b, err);
    b.release(&b);
    if (rc) {
      td_ipc_stream_writer_abort(w);
      return rc;
    }
  }
  return td_ipc_stream_writer_close(w, err);
}
