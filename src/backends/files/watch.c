/*
 * backends/files/watch.c - the watcher thread: inotify watches on every
 * directory of the tree; each event re-syncs the directory it happened in
 * (new subdirectories are watched and scanned, new files become locations
 * or extend them, grown streams and CSV files are refreshed, truncated,
 * replaced or removed files fail their location).  A queue overflow rescans
 * the whole tree.  The thread runs while subscriptions exist and is woken
 * for shutdown through an eventfd.  Files written to and not yet closed by
 * their writer (IN_CLOSE_WRITE) are remembered, so that a Parquet or Arrow
 * IPC file written in place under its final name is opened only once it is
 * complete (the open-again loop of fb_file_open stays for files that were
 * being written before the watch started).  A new data file is looked at
 * once its directory has been quiet for 50 ms, so the first write of a
 * writer that creates and then writes is heard first.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/files/files_internal.h"
#include "util/alloc.h"
#include "util/error.h"

#define WATCH_MASK                                                                                         \
  (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | \
   IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR)

/* Watches are indexed by their descriptor (small integers). */
static fb_watch *find_watch(td_file_backend *fb, int wd) {
  return wd >= 0 && wd < fb->cap_watches && fb->watches[wd].rel ? &fb->watches[wd] : NULL;
}

static void drop_watch(td_file_backend *fb, int wd) {
  fb_watch *w = find_watch(fb, wd);
  if (!w) return;
  td_free(w->rel);
  w->rel = NULL;
}

/* True when root/rel is (still) the directory of identity st. */
static bool same_dir(td_file_backend *fb, const char *rel, const struct stat *st) {
  char *dir = fb_join(fb->root, rel);
  struct stat s2;
  bool same = dir && stat(dir, &s2) == 0 && s2.st_dev == st->st_dev && s2.st_ino == st->st_ino;
  td_free(dir);
  return same;
}

bool fb_watch_add(td_file_backend *fb, const char *rel) {
  char *dir = fb_join(fb->root, rel);
  if (!dir) return false;
  struct stat st;
  int wd = stat(dir, &st) == 0 ? inotify_add_watch(fb->ino_fd, dir, WATCH_MASK) : -1;
  td_free(dir);
  if (wd < 0) return false;
  fb_watch *w = find_watch(fb, wd);
  if (w) {
    /* The same directory: under a second name (a symlink: keep the first),
     * or renamed (take the new name). */
    if (strcmp(w->rel, rel) == 0 || same_dir(fb, w->rel, &st)) return false;
    char *r = td_strdup(rel);
    if (r) {
      td_free(w->rel);
      w->rel = r;
    }
    return true;
  }
  if (wd >= fb->cap_watches) {
    int64_t cap = fb->cap_watches ? fb->cap_watches : 16;
    while (cap <= wd) cap *= 2;
    fb_watch *nw = td_realloc(fb->watches, (size_t)cap * sizeof *nw);
    if (!nw) return false;
    memset(nw + fb->cap_watches, 0, (size_t)(cap - fb->cap_watches) * sizeof *nw);
    fb->watches = nw;
    fb->cap_watches = cap;
  }
  char *r = td_strdup(rel);
  if (!r) return false;
  fb->watches[wd] = (fb_watch){wd, r};
  return true;
}

/* Under the lock: re-syncs after events; a failure to list or a directory
 * whose partitions disagree fails the locations subscriptions. */
static void resync(td_file_backend *fb, const int *wds, int64_t n, bool overflow) {
  td_error err;
  int rc = TD_OK;
  if (overflow || fb->single_name) {
    rc = fb_sync_tree(fb, true, &err);
  } else {
    for (int64_t i = 0; i < n && rc == TD_OK; i++) {
      fb_watch *w = find_watch(fb, wds[i]);
      if (!w) continue;
      char *rel = td_strdup(w->rel); /* syncing may move the watch array */
      rc = rel ? fb_sync_dir(fb, rel, false, &err) : td_err_nomem(&err, "watching");
      td_free(rel);
    }
  }
  if (rc) fb_fail_location_subs(fb, err.message);
}

static int64_t find_writing(const td_file_backend *fb, const char *path) {
  for (int64_t i = 0; i < fb->n_writing; i++)
    if (strcmp(fb->writing[i], path) == 0) return i;
  return -1;
}

bool fb_is_being_written(const td_file_backend *fb, const char *path) {
  return fb->watching && find_writing(fb, path) >= 0;
}

/* Notes a write (on) or the end of writing (off) of a file of watch wd. */
static void mark_writing(td_file_backend *fb, int wd, const char *name, bool on) {
  fb_watch *w = find_watch(fb, wd);
  if (!w || !name[0] || fb_format_of(fb, name) == FB_NONE) return;
  char *dir = fb_join(fb->root, w->rel), *path = dir ? fb_join(dir, name) : NULL;
  td_free(dir);
  if (!path) return; /* without memory: the open-again loop still guards */
  int64_t i = find_writing(fb, path);
  if (on && i < 0 && fb->n_writing < 4096) {
    if (fb->n_writing == fb->cap_writing) {
      int64_t cap = fb->cap_writing ? fb->cap_writing * 2 : 8;
      char **nw = td_realloc(fb->writing, (size_t)cap * sizeof *nw);
      if (!nw) {
        td_free(path);
        return;
      }
      fb->writing = nw;
      fb->cap_writing = cap;
    }
    fb->writing[fb->n_writing++] = path;
    return;
  }
  if (!on && i >= 0) {
    td_free(fb->writing[i]);
    fb->writing[i] = fb->writing[--fb->n_writing];
  }
  td_free(path);
}

/* Reads the pending events; collects the directories they happened in. */
static void drain(td_file_backend *fb, int *wds, int64_t *n, int64_t cap, bool *overflow, int64_t *ignored,
                  int64_t *n_ignored, bool *created) {
  _Alignas(struct inotify_event) char buf[16384];
  for (;;) {
    ssize_t got = read(fb->ino_fd, buf, sizeof buf);
    if (got <= 0) return;
    for (char *p = buf; p < buf + got;) {
      const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
      p += sizeof *ev + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) *overflow = true;
      if (ev->mask & IN_IGNORED) {
        if (*n_ignored < cap) ignored[(*n_ignored)++] = ev->wd;
        continue;
      }
      if (ev->wd < 0) continue;
      if (ev->len && !(ev->mask & IN_ISDIR) && (ev->mask & IN_CREATE) && fb_format_of(fb, ev->name) != FB_NONE)
        *created = true;
      if (ev->len && !(ev->mask & IN_ISDIR) &&
          (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))) {
        pthread_mutex_lock(&fb->lock);
        /* a write marks the file; IN_CREATE alone does not (a hard link is created, not written) */
        mark_writing(fb, ev->wd, ev->name, (ev->mask & IN_MODIFY) != 0);
        pthread_mutex_unlock(&fb->lock);
      }
      bool seen = false;
      for (int64_t i = 0; i < *n && !seen; i++) seen = wds[i] == ev->wd;
      if (!seen && *n < cap) wds[(*n)++] = ev->wd;
      else if (!seen) *overflow = true;
    }
  }
}

enum { SETTLE_MS = 50, SETTLE_MAX_MS = 500 };

static void *watch_main(void *arg) {
  td_file_backend *fb = arg;
  enum { CAP = 256 };
  int wds[CAP];
  int64_t ignored[CAP];
  for (;;) {
    struct pollfd p[2] = {{fb->ino_fd, POLLIN, 0}, {fb->wake_fd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    int64_t n = 0, n_ignored = 0;
    bool overflow = false, created = false;
    drain(fb, wds, &n, CAP, &overflow, ignored, &n_ignored, &created);
    /* A data file just created may be written next (open, then write): wait
     * until the directory is quiet for SETTLE_MS (at most SETTLE_MAX_MS) so
     * its first write is heard, and it waits for IN_CLOSE_WRITE, before it
     * is opened; a hard link or a rename is simply taken SETTLE_MS later. */
    for (int waited = 0; created && waited < SETTLE_MAX_MS; waited += SETTLE_MS) {
      struct pollfd q = {fb->ino_fd, POLLIN, 0};
      if (poll(&q, 1, SETTLE_MS) <= 0) break;
      created = false;
      drain(fb, wds, &n, CAP, &overflow, ignored, &n_ignored, &created);
    }
    pthread_mutex_lock(&fb->lock);
    resync(fb, wds, n, overflow);
    for (int64_t i = 0; i < n_ignored; i++) drop_watch(fb, (int)ignored[i]);
    pthread_mutex_unlock(&fb->lock);
  }
  return NULL;
}

static void close_fds(td_file_backend *fb) {
  if (fb->ino_fd >= 0) close(fb->ino_fd);
  if (fb->wake_fd >= 0) close(fb->wake_fd);
  fb->ino_fd = fb->wake_fd = -1;
  for (int64_t i = 0; i < fb->cap_watches; i++) {
    td_free(fb->watches[i].rel);
    fb->watches[i].rel = NULL;
  }
  for (int64_t i = 0; i < fb->n_writing; i++) td_free(fb->writing[i]);
  td_free(fb->writing);
  fb->writing = NULL;
  fb->n_writing = fb->cap_writing = 0;
}

int fb_watch_start(td_file_backend *fb, td_error *err) {
  pthread_mutex_lock(&fb->lock);
  if (fb->watching) {
    pthread_mutex_unlock(&fb->lock);
    return TD_OK;
  }
  int rc = TD_OK;
  fb->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  fb->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fb->ino_fd < 0 || fb->wake_fd < 0)
    rc = td_err(err, TD_EIO, "'%s': cannot watch for changes: %s", fb->name, strerror(errno));
  if (!rc) {
    fb->watching = true; /* watches first, then the scan: nothing is missed */
    rc = fb_sync_tree(fb, false, err);
  }
  if (!rc && pthread_create(&fb->thread, NULL, watch_main, fb) != 0)
    rc = td_err(err, TD_EIO, "'%s': cannot start the watcher thread", fb->name);
  if (rc) {
    fb->watching = false;
    close_fds(fb);
  }
  pthread_mutex_unlock(&fb->lock);
  return rc;
}

void fb_watch_stop(td_file_backend *fb, bool force) {
  pthread_mutex_lock(&fb->lock);
  bool stop = fb->watching && (force || fb->n_subs == 0);
  pthread_mutex_unlock(&fb->lock);
  if (!stop) return;
  uint64_t one = 1;
  if (write(fb->wake_fd, &one, sizeof one) < 0) { /* cannot fail on an eventfd below its limit */
  }
  pthread_join(fb->thread, NULL);
  pthread_mutex_lock(&fb->lock);
  fb->watching = false;
  close_fds(fb);
  pthread_mutex_unlock(&fb->lock);
}
