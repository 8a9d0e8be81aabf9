/*
 * formats/io.h - positioned, counted reads of one file.
 *
 * Format readers never load whole files: they read the byte ranges they need
 * with td_io_read (pread underneath, safe from several threads at once).
 * Every read is counted so tests can prove laziness (bytes and calls).
 *
 * Descriptors are pooled: a td_io opened by path holds a descriptor only
 * while it is in the process-wide pool, which keeps at most a quarter of
 * the descriptor limit (RLIMIT_NOFILE, at most 1024) open and closes the
 * least recently used one that no read is using when it needs room.  A
 * file is reopened on demand and must still be the same file (device and
 * inode), else the read fails naming it ("was replaced").  So a table of
 * more files than the descriptor limit reads them all.
 */
#ifndef TD_FORMATS_IO_H
#define TD_FORMATS_IO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tabledata/error.h"

typedef struct td_io {
  int fd;       /* -1 while closed by the pool */
  char *path;
  const uint8_t *mem; /* td_io_open_mem: the bytes read (borrowed); td_io_open_small: the file (owned) */
  int64_t mem_size;
  bool whole; /* td_io_open_small read the file whole into `mem` (owned, counted in the budget) */
  _Atomic int64_t bytes_read;
  _Atomic int64_t reads;
  _Atomic int64_t hints, hinted_bytes; /* td_io_willneed calls that reached the kernel, their bytes */
  /* the pool (guarded by its lock) */
  bool pooled;  /* opened by path: may be closed and reopened */
  uint64_t dev, ino;
  int64_t open_size, open_mtime_ns, open_ctime_ns; /* fstat when td_io_open opened it */
  int pins;     /* reads using fd now */
  struct td_io *prev, *next; /* open pooled descriptors, most recent first */
} td_io;

/* An open error caused by the file ending before the metadata a reader
 * needs (a header, schema or footer still being written) has
 * err->position == TD_READER_INCOMPLETE (td_io_read's short reads, and the
 * readers' own "too small" / "no footer magic" / "empty" errors), so that a
 * watcher tries the file again when it changes.  Every other open error
 * (malformed data, values that do not parse, a schema that disagrees) is
 * permanent. */
#define TD_READER_INCOMPLETE ((int64_t)-2)

/* Opens `path` read-only.  Errors: TD_EIO naming the path and errno text. */
int td_io_open(td_io *io, const char *path, td_error *err);
/* Like td_io_open, but a file of at most `max` bytes (when it was opened)
 * is read whole at once into memory and its descriptor closed: its reads
 * are then copies (counted as reads), no descriptor is reopened for them,
 * and td_io_stat gives the size and inode it had.  For formats whose
 * files do not grow once written (Parquet): a table of 10,000 small files
 * otherwise opens each twice (the footer when sized, the pool having closed
 * it by the time its column is read) and reads each three times.  The bytes
 * held so are bounded process-wide (TD_IO_WHOLE_BUDGET); past that, or when
 * the file changes size while read, it is opened as by td_io_open.  Errors:
 * td_io_open's; TD_ENOMEM. */
int td_io_open_small(td_io *io, const char *path, int64_t max, td_error *err);
/* Bytes held by files read whole now (tests). */
int64_t td_io_whole_bytes(void);
/* Tests: called with the path of a file about to be read whole, after its
 * fstat (to change the file in between). */
extern void (*td__io_whole_hook)(const char *path);
/* Takes ownership of an open descriptor (closed by td_io_close; never
 * closed by the pool). */
int td_io_open_fd(td_io *io, int fd, const char *name, td_error *err);
/* Reads from `n` bytes in memory instead of a file (borrowed: they must
 * outlive the td_io); `name` names them in messages. */
int td_io_open_mem(td_io *io, const void *data, int64_t n, const char *name, td_error *err);
void td_io_close(td_io *io);
/* The number of pooled descriptors open now, and the pool's limit (tests). */
int64_t td_io_pool_open_count(void);
int64_t td_io_pool_limit(void);
/* Current file size (fstat), and its identity for replacement detection. */
int td_io_stat(td_io *io, int64_t *size, uint64_t *inode, td_error *err);
/* The size and inode the file had when td_io_open opened it (no system
 * call), as td_io_stat would have given then; for other kinds of td_io,
 * td_io_stat.  What a reader's open records, so the file it describes is
 * the one the descriptor holds, whatever the path names later. */
int td_io_stat_at_open(td_io *io, int64_t *size, uint64_t *inode, td_error *err);
/* Reads exactly n bytes at offset.  A short read is TD_EFORMAT ("unexpected
 * end of file: wanted N bytes at offset O, file has S"). */
int td_io_read(td_io *io, void *buf, int64_t n, int64_t offset, td_error *err);
/* Reads up to n bytes at offset; *got receives the count (0 at EOF). */
int td_io_read_some(td_io *io, void *buf, int64_t n, int64_t offset, int64_t *got,
                    td_error *err);
/* Asks the kernel to start reading [offset, offset + n) into the file cache
 * (posix_fadvise WILLNEED) and returns without waiting.  A reader that
 * knows which bytes a scan reads next hints them, so that the reads of a
 * file that is not cached overlap the decoding and each other instead of
 * waiting one after another.  Advice only: it never fails, and it does
 * nothing for memory, for n <= 0, for a file of at most 128 KiB when it
 * was opened (its first read brings it in whole), or with TD_IO_PREFETCH=0
 * (measuring).
 * Counted in `hints` and `hinted_bytes`. */
void td_io_willneed(td_io *io, int64_t offset, int64_t n);

#endif
