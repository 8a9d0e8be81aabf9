/*
 * formats/io.h - positioned, counted reads of one file.
 *
 * Format readers never load whole files: they read the byte ranges they need
 * with td_io_read (pread underneath, safe from several threads at once).
 * Every read is counted so tests can prove laziness (bytes and calls).
 */
#ifndef TD_FORMATS_IO_H
#define TD_FORMATS_IO_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "tabledata/error.h"

typedef struct td_io {
  int fd;
  char *path;
  _Atomic int64_t bytes_read;
  _Atomic int64_t reads;
} td_io;

/* Opens `path` read-only.  Errors: TD_EIO naming the path and errno text. */
int td_io_open(td_io *io, const char *path, td_error *err);
/* Takes ownership of an open descriptor (closed by td_io_close). */
int td_io_open_fd(td_io *io, int fd, const char *name, td_error *err);
void td_io_close(td_io *io);
/* Current file size (fstat), and its identity for replacement detection. */
int td_io_stat(td_io *io, int64_t *size, uint64_t *inode, td_error *err);
/* Reads exactly n bytes at offset.  A short read is TD_EFORMAT ("unexpected
 * end of file: wanted N bytes at offset O, file has S"). */
int td_io_read(td_io *io, void *buf, int64_t n, int64_t offset, td_error *err);
/* Reads up to n bytes at offset; *got receives the count (0 at EOF). */
int td_io_read_some(td_io *io, void *buf, int64_t n, int64_t offset, int64_t *got,
                    td_error *err);

#endif
