/*
 * formats/io.c - pread-based file access with read counters.
 */
#include "formats/io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/error.h"

int td_io_open(td_io *io, const char *path, td_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    memset(io, 0, sizeof *io);
    io->fd = -1;
    return td_err(err, TD_EIO, "cannot open '%s': %s", path, strerror(errno));
  }
  return td_io_open_fd(io, fd, path, err);
}

int td_io_open_fd(td_io *io, int fd, const char *name, td_error *err) {
  memset(io, 0, sizeof *io);
  io->fd = fd;
  io->path = td_strdup(name ? name : "(anonymous)");
  if (!io->path) {
    close(fd);
    io->fd = -1;
    return td_err_nomem(err, "opening a file");
  }
  return TD_OK;
}

void td_io_close(td_io *io) {
  if (io->fd >= 0) close(io->fd);
  io->fd = -1;
  td_free(io->path);
  io->path = NULL;
}

int td_io_stat(td_io *io, int64_t *size, uint64_t *inode, td_error *err) {
  struct stat st;
  if (fstat(io->fd, &st) != 0) return td_err(err, TD_EIO, "cannot stat '%s': %s", io->path, strerror(errno));
  if (size) *size = (int64_t)st.st_size;
  if (inode) *inode = (uint64_t)st.st_ino;
  return TD_OK;
}

int td_io_read_some(td_io *io, void *buf, int64_t n, int64_t offset, int64_t *got,
                    td_error *err) {
  int64_t done = 0;
  atomic_fetch_add_explicit(&io->reads, 1, memory_order_relaxed);
  while (done < n) {
    ssize_t r = pread(io->fd, (char *)buf + done, (size_t)(n - done), (off_t)(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return td_err(err, TD_EIO, "cannot read '%s' at offset %lld: %s", io->path,
                    (long long)(offset + done), strerror(errno));
    }
    if (r == 0) break;
    done += r;
  }
  atomic_fetch_add_explicit(&io->bytes_read, done, memory_order_relaxed);
  *got = done;
  return TD_OK;
}

int td_io_read(td_io *io, void *buf, int64_t n, int64_t offset, td_error *err) {
  if (n < 0 || offset < 0)
    return td_err(err, TD_EFORMAT, "'%s': invalid read of %lld bytes at offset %lld", io->path,
                  (long long)n, (long long)offset);
  int64_t got;
  int rc = td_io_read_some(io, buf, n, offset, &got, err);
  if (rc) return rc;
  if (got != n) {
    int64_t size = -1;
    td_io_stat(io, &size, NULL, NULL);
    return td_err(err, TD_EFORMAT,
                  "'%s': unexpected end of file: wanted %lld bytes at offset %lld, the file has %lld",
                  io->path, (long long)n, (long long)offset, (long long)size);
  }
  return TD_OK;
}
