/*
 * formats/io.c - pread-based file access with read counters, over a
 * process-wide pool of descriptors bounded by the descriptor limit (see
 * io.h): least recently used descriptors are closed when room is needed and
 * reopened on demand, checking that the path still names the same file.
 */
#include "formats/io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/reader.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sys.h"

#define TD_IO_SMALL_FILE ((int64_t)128 << 10)

static pthread_mutex_t g_pool_lock = TD_SPIN_MUTEX_INITIALIZER;
static td_io *g_head, *g_tail; /* open pooled descriptors, most recent first */
static int64_t g_open;

int64_t td_io_pool_limit(void) {
  struct rlimit rl;
  int64_t soft = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (int64_t)rl.rlim_cur : 4096;
  int64_t n = soft / 4;
  return n < 8 ? 8 : n > 1024 ? 1024 : n;
}

/* The limit as make_room uses it: read again every 64 calls and after an
 * open that ran out of descriptors, not at each open (a table of 10,000
 * small files opens each twice).  Under the pool lock. */
static int64_t g_limit;
static int g_limit_age;

static int64_t pool_limit(bool fresh) {
  if (fresh || g_limit == 0 || ++g_limit_age >= 64) {
    g_limit = td_io_pool_limit();
    g_limit_age = 0;
  }
  return g_limit;
}

int64_t td_io_pool_open_count(void) {
  pthread_mutex_lock(&g_pool_lock);
  int64_t n = g_open;
  pthread_mutex_unlock(&g_pool_lock);
  return n;
}

/* Under the pool lock. */
static void unlink_io(td_io *io) {
  if (io->prev) io->prev->next = io->next;
  else g_head = io->next;
  if (io->next) io->next->prev = io->prev;
  else g_tail = io->prev;
  io->prev = io->next = NULL;
  g_open--;
}

static void push_front(td_io *io) {
  io->prev = NULL;
  io->next = g_head;
  if (g_head) g_head->prev = io;
  else g_tail = io;
  g_head = io;
  g_open++;
}

/* Under the pool lock: takes unused descriptors out of the pool until one
 * more fits.  The first `cap` of them go to out[] for the caller to close
 * once it has let go of the lock (close(2) is a system call, and every
 * read of a pooled file takes the lock); returns how many.  The others,
 * when a lowered descriptor limit makes many go at once, are closed here. */
static int make_room(bool fresh, int *out, int cap) {
  int64_t limit = pool_limit(fresh);
  int k = 0;
  for (td_io *v = g_tail; v && g_open >= limit;) {
    td_io *prev = v->prev;
    if (v->pins == 0) {
      unlink_io(v);
      if (k < cap) out[k++] = v->fd;
      else close(v->fd);
      v->fd = -1;
    }
    v = prev;
  }
  return k;
}

static void close_all(const int *fds, int n) {
  for (int i = 0; i < n; i++) close(fds[i]);
}

/* open(2) of a pooled file, without the pool lock; out of descriptors,
 * the pool's limit is read again and room made under it before one more
 * try. */
static int open_pooled(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
    pthread_mutex_lock(&g_pool_lock);
    make_room(true, NULL, 0);
    pthread_mutex_unlock(&g_pool_lock);
    fd = open(path, O_RDONLY | O_CLOEXEC);
  }
  return fd;
}

/* Opens io's file again (the pool closed it) and checks it is the same
 * file; without the pool lock, so reads of other files go on meanwhile. */
static int reopen(td_io *io, int *out, td_error *err) {
  int fd = open_pooled(io->path);
  if (fd < 0) return td_err(err, TD_EIO, "cannot open '%s': %s", io->path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return td_err(err, TD_EIO, "cannot stat '%s': %s", io->path, strerror(e));
  }
  if ((uint64_t)st.st_dev != io->dev || (uint64_t)st.st_ino != io->ino) {
    close(fd);
    return td_err(err, TD_EFORMAT, "'%s' was replaced (a new file under the same name) since it was opened",
                  io->path);
  }
  *out = fd;
  return TD_OK;
}

/* The descriptor for one read (reopened when the pool closed it); pinned
 * until release_fd. */
static int acquire_fd(td_io *io, int *fd, td_error *err) {
  if (!io->pooled) {
    *fd = io->fd;
    return TD_OK;
  }
  pthread_mutex_lock(&g_pool_lock);
  int spare = -1;
  if (io->fd < 0) {
    pthread_mutex_unlock(&g_pool_lock);
    int rc = reopen(io, &spare, err);
    if (rc) return rc;
    pthread_mutex_lock(&g_pool_lock);
  }
  int victims[4], n_victims = 0;
  if (io->fd >= 0) { /* open already, or another read reopened it meanwhile */
    unlink_io(io);
  } else {
    n_victims = make_room(false, victims, 4);
    io->fd = spare;
    spare = -1;
  }
  push_front(io);
  io->pins++;
  *fd = io->fd;
  pthread_mutex_unlock(&g_pool_lock);
  close_all(victims, n_victims);
  if (spare >= 0) close(spare);
  return TD_OK;
}

static void release_fd(td_io *io) {
  if (!io->pooled) return;
  pthread_mutex_lock(&g_pool_lock);
  io->pins--;
  pthread_mutex_unlock(&g_pool_lock);
}

/* Opens `path` (room made in the pool first) and records its fstat; the
 * descriptor is not in the pool yet (pool_add). */
static int open_recorded(td_io *io, const char *path, td_error *err) {
  memset(io, 0, sizeof *io);
  io->fd = -1;
  int victims[4];
  pthread_mutex_lock(&g_pool_lock);
  int n_victims = make_room(false, victims, 4);
  pthread_mutex_unlock(&g_pool_lock);
  close_all(victims, n_victims);
  int fd = open_pooled(path), e = errno;
  if (fd < 0) return td_err(err, TD_EIO, "cannot open '%s': %s", path, strerror(e));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    e = errno;
    close(fd);
    return td_err(err, TD_EIO, "cannot stat '%s': %s", path, strerror(e));
  }
  int rc = td_io_open_fd(io, fd, path, err);
  if (rc) return rc;
  io->dev = (uint64_t)st.st_dev;
  io->ino = (uint64_t)st.st_ino;
  io->open_size = (int64_t)st.st_size;
  io->open_mtime_ns = td_timespec_ns(st.st_mtim);
  io->open_ctime_ns = td_timespec_ns(st.st_ctim);
  return TD_OK;
}

static void pool_add(td_io *io) {
  io->pooled = true;
  pthread_mutex_lock(&g_pool_lock);
  push_front(io);
  pthread_mutex_unlock(&g_pool_lock);
}

int td_io_open(td_io *io, const char *path, td_error *err) {
  int rc = open_recorded(io, path, err);
  if (rc == TD_OK) pool_add(io);
  return rc;
}

/* Bytes of files held whole (td_io_open_small), at most TD_IO_WHOLE_BUDGET. */
#define TD_IO_WHOLE_BUDGET ((int64_t)64 << 20)
static _Atomic int64_t g_whole_bytes;

int64_t td_io_whole_bytes(void) { return atomic_load(&g_whole_bytes); }

/* Takes n bytes of the whole-file budget; false when they do not fit. */
static bool whole_reserve(int64_t n) {
  int64_t have = atomic_load(&g_whole_bytes);
  do {
    if (have + n > TD_IO_WHOLE_BUDGET) return false;
  } while (!atomic_compare_exchange_weak(&g_whole_bytes, &have, have + n));
  return true;
}

void (*td__io_whole_hook)(const char *path);

/* Reads all of io's file (open_size bytes, its descriptor open and not
 * pooled) into memory and lets the descriptor go; false (nothing changed) when the budget is
 * spent, memory is short or the file does not hold open_size bytes now. */
static bool read_whole(td_io *io) {
  const int64_t n = io->open_size;
  if (!whole_reserve(n)) return false;
  uint8_t *buf = td_malloc((size_t)n + 1);
  int64_t done = 0;
  if (buf && td__io_whole_hook) td__io_whole_hook(io->path);
  /* One byte past the end: a file that grew since its fstat is not taken.
   * A read that stops at the size fstat gave is the file's end (a regular
   * file reads short only there), so the usual read is one pread, not a
   * second one to see the end (10,000 tiny files: 10,000 system calls). */
  while (buf && done < n + 1) {
    ssize_t r = pread(io->fd, buf + done, (size_t)(n + 1 - done), (off_t)done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    done += r;
    if (done == n) break;
  }
  if (!buf || done != n) {
    td_free(buf);
    atomic_fetch_sub(&g_whole_bytes, n);
    return false;
  }
  atomic_fetch_add_explicit(&io->reads, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&io->bytes_read, n, memory_order_relaxed);
  close(io->fd);
  io->fd = -1;
  io->mem = buf;
  io->mem_size = n;
  io->whole = true;
  return true;
}

int td_io_open_small(td_io *io, const char *path, int64_t max, td_error *err) {
  int rc = open_recorded(io, path, err);
  if (rc == TD_OK && (io->open_size > max || !read_whole(io))) pool_add(io);
  return rc;
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

int td_io_open_mem(td_io *io, const void *data, int64_t n, const char *name, td_error *err) {
  memset(io, 0, sizeof *io);
  io->fd = -1;
  io->mem = data ? data : (const uint8_t *)"";
  io->mem_size = data && n > 0 ? n : 0;
  io->path = td_strdup(name ? name : "(memory)");
  return io->path ? TD_OK : td_err_nomem(err, "opening a buffer");
}

void td_io_close(td_io *io) {
  if (io->whole) {
    td_free((void *)io->mem);
    atomic_fetch_sub(&g_whole_bytes, io->mem_size);
    io->mem = NULL;
    io->whole = false;
  }
  if (io->pooled) {
    pthread_mutex_lock(&g_pool_lock);
    if (io->fd >= 0) unlink_io(io);
    pthread_mutex_unlock(&g_pool_lock);
    io->pooled = false;
  }
  if (io->fd >= 0) close(io->fd);
  io->fd = -1;
  td_free(io->path);
  io->path = NULL;
}

int td_io_stat(td_io *io, int64_t *size, uint64_t *inode, td_error *err) {
  if (io->mem) {
    if (size) *size = io->mem_size;
    if (inode) *inode = io->whole ? io->ino : 0;
    return TD_OK;
  }
  int fd;
  int rc = acquire_fd(io, &fd, err);
  if (rc) return rc;
  struct stat st;
  rc = fstat(fd, &st) == 0 ? TD_OK : td_err(err, TD_EIO, "cannot stat '%s': %s", io->path, strerror(errno));
  release_fd(io);
  if (rc) return rc;
  if (size) *size = (int64_t)st.st_size;
  if (inode) *inode = (uint64_t)st.st_ino;
  return TD_OK;
}

int td_io_stat_at_open(td_io *io, int64_t *size, uint64_t *inode, td_error *err) {
  if (!io->pooled && !io->whole) return td_io_stat(io, size, inode, err);
  if (size) *size = io->open_size;
  if (inode) *inode = io->ino;
  return TD_OK;
}

int td_io_read_some(td_io *io, void *buf, int64_t n, int64_t offset, int64_t *got,
                    td_error *err) {
  int64_t done = 0;
  if (io->mem) {
    done = offset >= io->mem_size ? 0 : io->mem_size - offset < n ? io->mem_size - offset : n;
    if (done > 0) memcpy(buf, io->mem + offset, (size_t)done);
    atomic_fetch_add_explicit(&io->reads, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&io->bytes_read, done, memory_order_relaxed);
    *got = done > 0 ? done : 0;
    return TD_OK;
  }
  int fd;
  int rc = acquire_fd(io, &fd, err);
  if (rc) return rc;
  atomic_fetch_add_explicit(&io->reads, 1, memory_order_relaxed);
  while (done < n) {
    ssize_t r = pread(fd, (char *)buf + done, (size_t)(n - done), (off_t)(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      rc = td_err(err, TD_EIO, "cannot read '%s' at offset %lld: %s", io->path, (long long)(offset + done),
                  strerror(errno));
      break;
    }
    if (r == 0) break;
    done += r;
  }
  release_fd(io);
  if (rc) return rc;
  atomic_fetch_add_explicit(&io->bytes_read, done, memory_order_relaxed);
  *got = done;
  return TD_OK;
}
void td_io_willneed(td_io *io, int64_t offset, int64_t n) {
  static _Atomic int on = -1;
  int fd;
  /* A file no larger than the kernel's default readahead (128 KiB) comes in
   * whole with its first read: hinting it costs a system call for nothing
   * (one for each of 10,000 small files). */
  if (io->mem || n <= 0 || offset < 0 || (io->pooled && io->open_size <= TD_IO_SMALL_FILE) ||
      !td_reader_switch_on("TD_IO_PREFETCH", &on) ||
      acquire_fd(io, &fd, NULL) != TD_OK)
    return;
  if (posix_fadvise(fd, (off_t)offset, (off_t)n, POSIX_FADV_WILLNEED) == 0) {
    atomic_fetch_add_explicit(&io->hints, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&io->hinted_bytes, n, memory_order_relaxed);
  }
  release_fd(io);
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
    return td_err_at(err, TD_EFORMAT, TD_READER_INCOMPLETE,
                     "'%s': unexpected end of file: wanted %lld bytes at offset %lld, the file has %lld",
                     io->path, (long long)n, (long long)offset, (long long)size);
  }
  return TD_OK;
}
