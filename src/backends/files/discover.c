/*
 * backends/files/discover.c - walking the directory tree: listing data files
 * and subdirectories, turning each directory that holds data files into a
 * location, and bringing known locations up to date (new, grown, truncated,
 * replaced, rewritten or removed files).  The same code serves discovery,
 * rescans and the watcher, so a rescan is always idempotent.  Listings and
 * a location's files are both in name order and are merged, locations are
 * found by directory through a hash, and a walk visits each directory
 * (device and inode) once: discovery is near-linear and symlink loops end.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/files/files_internal.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sys.h"

/* Names writers use for files not finished yet, or for bookkeeping, as
 * DuckDB and Spark skip them: hidden (.x), _x (_SUCCESS, _temporary,
 * _committed_...), tmp_x, x.tmp. */
bool fb_hidden(const char *name) {
  size_t n = strlen(name);
  return name[0] == '.' || name[0] == '_' || strncmp(name, "tmp_", 4) == 0 ||
         (n > 4 && strcasecmp(name + n - 4, ".tmp") == 0);
}

fb_format fb_format_of(const td_file_backend *fb, const char *name) {
  static const struct {
    const char *ext;
    fb_format fmt;
  } k[] = {{".parquet", FB_PARQUET}, {".arrow", FB_IPC},  {".feather", FB_IPC}, {".ipc", FB_IPC},
           {".arrows", FB_IPC},      {".stream", FB_IPC}, {".csv", FB_CSV}};
  if (fb_hidden(name)) return FB_NONE;
  if (fb && fb->forced != FB_NONE) return fb->forced;
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof k / sizeof k[0]; i++)
    if (strcasecmp(dot, k[i].ext) == 0) return k[i].fmt;
  return FB_NONE;
}

/* One path component of `p` and `n` (up to '/' or the end) against each other. */
static bool component_match(const char *p, const char *n, size_t *pl, size_t *nl) {
  *pl = strcspn(p, "/");
  *nl = strcspn(n, "/");
  char a[1024], b[1024];
  if (*pl >= sizeof a || *nl >= sizeof b) return false;
  memcpy(a, p, *pl);
  a[*pl] = '\0';
  memcpy(b, n, *nl);
  b[*nl] = '\0';
  return fnmatch(a, b, FNM_PERIOD) == 0;
}

bool fb_glob_match(const char *p, const char *n) {
  if (p[0] == '*' && p[1] == '*' && (p[2] == '/' || !p[2])) {
    const char *rest = p[2] ? p + 3 : p + 2;
    if (!*rest) return true; /* a trailing ** takes everything below */
    for (const char *q = n;; q++) { /* any number of directories, none included */
      if (fb_glob_match(rest, q)) return true;
      if (!(q = strchr(q, '/'))) return false;
    }
  }
  size_t pl, nl;
  if (!component_match(p, n, &pl, &nl)) return false;
  if (!p[pl] || !n[nl]) return !p[pl] && !n[nl];
  return fb_glob_match(p + pl + 1, n + nl + 1);
}

/* Drops the data files of `l` (the listing of `dir`) that the glob does not take. */
static void glob_filter(const td_file_backend *fb, const char *dir, fb_listing *l) {
  size_t rl = strlen(fb->root);
  const char *rel = strncmp(dir, fb->root, rl) == 0 ? dir + rl : dir;
  while (*rel == '/') rel++;
  int64_t w = 0;
  for (int64_t i = 0; i < l->n; i++) {
    bool keep = l->e[i].is_dir;
    if (!keep) {
      char *path = rel[0] ? fb_join(rel, l->e[i].name) : td_strdup(l->e[i].name);
      keep = path && fb_glob_match(fb->glob, path);
      td_free(path);
    }
    if (keep) l->e[w++] = l->e[i];
    else td_free(l->e[i].name);
  }
  l->n = w;
}

char *fb_join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  bool slash = la && lb && a[la - 1] != '/';
  char *s = td_malloc(la + lb + 2);
  if (!s) return NULL;
  memcpy(s, a, la);
  if (slash) s[la++] = '/';
  memcpy(s + la, b, lb + 1);
  return s;
}

void fb_listing_reset(fb_listing *l) {
  for (int64_t i = 0; i < l->n; i++) td_free(l->e[i].name);
  td_free(l->e);
  memset(l, 0, sizeof *l);
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const fb_entry *)a)->name, ((const fb_entry *)b)->name);
}

static int listing_add(const td_file_backend *fb, fb_listing *l, const char *name, const struct stat *st, td_error *err) {
  if (l->n == l->cap) {
    int64_t cap = l->cap ? l->cap * 2 : 16;
    fb_entry *e = td_realloc(l->e, (size_t)cap * sizeof *e);
    if (!e) return td_err_nomem(err, "listing a directory");
    l->e = e;
    l->cap = cap;
  }
  fb_entry *e = &l->e[l->n];
  if (!(e->name = td_strdup(name))) return td_err_nomem(err, "listing a directory");
  e->is_dir = S_ISDIR(st->st_mode);
  e->fmt = e->is_dir ? FB_NONE : fb_format_of(fb, name);
  e->inode = (uint64_t)st->st_ino;
  e->dev = (uint64_t)st->st_dev;
  e->size = (int64_t)st->st_size;
  e->mtime_ns = td_timespec_ns(st->st_mtim);
  e->ctime_ns = td_timespec_ns(st->st_ctim);
  l->n++;
  return TD_OK;
}

/* Adds `name` if it is a data file or a directory (hidden ones skipped);
 * dfd is the directory's descriptor (-1: use the path).  A directory that
 * getdents names as one (DT_DIR) is not stat'ed: its identity, which is all
 * the walk keeps of a directory entry, is its entry's inode (`ino`) on the
 * listed directory's device (*dev, from one fstat of dfd when first needed;
 * 0: not yet).  On a tree of 20,000 partition directories that is 20,000
 * fewer system calls.  (A mount point inside the tree is named by the
 * inode it covers: its identity is still the same on every walk.) */
static int consider(const td_file_backend *fb, int dfd, const char *dir, const char *name, unsigned char type,
                    uint64_t ino, uint64_t *dev, fb_listing *l, td_error *err) {
  if (fb_hidden(name)) return TD_OK;
  /* neither a directory (or a link to one) nor a data file: no stat */
  if (type != DT_UNKNOWN && type != DT_DIR && type != DT_LNK && fb_format_of(fb, name) == FB_NONE) return TD_OK;
  struct stat st;
  int rc = TD_OK, got;
  if (dfd >= 0 && type == DT_DIR && *dev == 0) {
    struct stat ds;
    *dev = fstat(dfd, &ds) == 0 ? (uint64_t)ds.st_dev + 1 : 0;
  }
  if (dfd >= 0 && type == DT_DIR && *dev != 0) {
    memset(&st, 0, sizeof st);
    st.st_mode = S_IFDIR;
    st.st_ino = (ino_t)ino;
    st.st_dev = (dev_t)(*dev - 1);
    got = 0;
  } else if (dfd >= 0) {
    got = fstatat(dfd, name, &st, 0);
  } else {
    char *p = fb_join(dir, name);
    if (!p) return td_err_nomem(err, "listing a directory");
    got = stat(p, &st);
    td_free(p);
  }
  if (got == 0 && (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && fb_format_of(fb, name) != FB_NONE)))
    rc = listing_add(fb, l, name, &st, err);
  return rc;
}

void (*fb__list_hook)(const char *dir);

/* fb_list of the directory `dir`, opened as `name` under the directory
 * descriptor `parent` (AT_FDCWD: name is dir): a walk opens a directory's
 * subdirectories by their names under it, so that the kernel looks up one
 * path component, not every component of the tree's path again. */
static int list_at(td_file_backend *fb, int parent, const char *name, const char *dir, fb_listing *out,
                   td_error *err) {
  memset(out, 0, sizeof *out);
  int rc = TD_OK;
  if (fb->single_name) { /* one data file: only it counts */
    rc = consider(fb, -1, dir, fb->single_name, DT_UNKNOWN, 0, NULL, out, err);
    if (!rc && out->n && out->e[0].is_dir) fb_listing_reset(out);
    return rc;
  }
  /* getdents64 on the descriptor: opendir would also fstat it and
   * allocate, once for each of a tree's (maybe 20,000) directories */
  int dfd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return TD_OK;
    return td_err(err, TD_EIO, "'%s': cannot list the directory: %s", dir, strerror(errno));
  }
  if (fb__list_hook) fb__list_hook(dir);
  _Alignas(struct dirent64) char buf[16384];
  uint64_t dev = 0; /* the directory's device + 1, once known */
  for (ssize_t n; rc == TD_OK && (n = getdents64(dfd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == ENOENT) { /* removed since it was opened: gone, as when the open finds no directory */
      fb_listing_reset(out);
      break;
    }
    if (n < 0) {
      rc = td_err(err, TD_EIO, "'%s': cannot list the directory: %s", dir, strerror(errno));
      break;
    }
    for (ssize_t at = 0; rc == TD_OK && at < n;) {
      const struct dirent64 *de = (const struct dirent64 *)(buf + at);
      rc = consider(fb, dfd, dir, de->d_name, de->d_type, (uint64_t)de->d_ino, &dev, out, err);
      at += de->d_reclen;
    }
  }
  close(dfd);
  if (!rc && fb->glob) glob_filter(fb, dir, out);
  if (rc) fb_listing_reset(out);
  else if (out->n > 1) qsort(out->e, (size_t)out->n, sizeof *out->e, entry_cmp);
  return rc;
}

int fb_list(td_file_backend *fb, const char *dir, fb_listing *out, td_error *err) {
  return list_at(fb, AT_FDCWD, dir, dir, out, err);
}

/* ---- directory identities and locations by directory ---- */

static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

/* Adds (dev, ino): 1, or 0 when it was there already, -1 without memory. */
static int idset_add(fb_idset *s, uint64_t dev, uint64_t ino) {
  if (2 * (s->n + 1) > s->cap) {
    int64_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t(*k)[2] = td_calloc((size_t)cap, sizeof *k);
    if (!k) return -1;
    for (int64_t i = 0; i < s->cap; i++) {
      if (!s->k[i][0] && !s->k[i][1]) continue;
      int64_t j = (int64_t)(mix(s->k[i][0] * 31 + s->k[i][1]) & (uint64_t)(cap - 1));
      while (k[j][0] || k[j][1]) j = (j + 1) & (cap - 1);
      k[j][0] = s->k[i][0];
      k[j][1] = s->k[i][1];
    }
    td_free(s->k);
    s->k = k;
    s->cap = cap;
  }
  uint64_t a = dev + 1, b = ino; /* (0, 0) marks an empty slot */
  int64_t j = (int64_t)(mix(a * 31 + b) & (uint64_t)(s->cap - 1));
  for (; s->k[j][0] || s->k[j][1]; j = (j + 1) & (s->cap - 1))
    if (s->k[j][0] == a && s->k[j][1] == b) return 0;
  s->k[j][0] = a;
  s->k[j][1] = b;
  s->n++;
  return 1;
}

static uint64_t str_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

static fb_location *find_location(td_file_backend *fb, const char *rel) {
  fb_relmap *m = &fb->rels;
  if (!m->cap) return NULL;
  for (int64_t j = (int64_t)(str_hash(rel) & (uint64_t)(m->cap - 1)); m->slots[j]; j = (j + 1) & (m->cap - 1))
    if (strcmp(m->slots[j]->rel, rel) == 0) return m->slots[j];
  return NULL;
}

/* Makes room for one more location. */
static int relmap_reserve(fb_relmap *m) {
  if (2 * (m->n + 1) > m->cap) {
    int64_t cap = m->cap ? m->cap * 2 : 64;
    fb_location **s = td_calloc((size_t)cap, sizeof *s);
    if (!s) return TD_ENOMEM;
    for (int64_t i = 0; i < m->cap; i++) {
      if (!m->slots[i]) continue;
      int64_t j = (int64_t)(str_hash(m->slots[i]->rel) & (uint64_t)(cap - 1));
      while (s[j]) j = (j + 1) & (cap - 1);
      s[j] = m->slots[i];
    }
    td_free(m->slots);
    m->slots = s;
    m->cap = cap;
  }
  return TD_OK;
}

/* After relmap_reserve: cannot fail. */
static void relmap_insert(fb_relmap *m, fb_location *l) {
  int64_t j = (int64_t)(str_hash(l->rel) & (uint64_t)(m->cap - 1));
  while (m->slots[j]) j = (j + 1) & (m->cap - 1);
  m->slots[j] = l;
  m->n++;
}

/* ---- locations ---- */

static void location_free(td_file_backend *fb, fb_location *l) {
  for (int64_t i = 0; i < l->n_files; i++) fb_file_free(fb, l->files[i]);
  td_free(l->files);
  for (int64_t i = 0; i < l->n_dead; i++) fb_file_free(fb, l->dead[i]);
  td_free(l->dead);
  td_request_list_reset(&l->size_subs);
  td_free(l->failure);
  td_free(l->rel);
  td_free(l->dir);
  td_location_key_release(l->key);
  td_free(l);
}

static int new_location(td_file_backend *fb, const char *rel, uint64_t dev, uint64_t ino, fb_location **out,
                        td_error *err) {
  *out = NULL;
  fb_location *l = td_calloc(1, sizeof *l);
  if (!l) return td_err_nomem(err, "adding a location");
  l->dev = dev;
  l->ino = ino;
  int rc = TD_OK;
  if (!(l->rel = td_strdup(rel)) || !(l->dir = fb_join(fb->root, rel))) rc = td_err_nomem(err, "adding a location");
  if (!rc) rc = fb_location_key(fb, rel, &l->key, err);
  if (!rc && fb->n_locs == fb->cap_locs) {
    int64_t cap = fb->cap_locs ? fb->cap_locs * 2 : 16;
    fb_location **nl = td_realloc(fb->locs, (size_t)cap * sizeof *nl);
    if (!nl) rc = td_err_nomem(err, "adding a location");
    else {
      fb->locs = nl;
      fb->cap_locs = cap;
    }
  }
  if (!rc && (relmap_reserve(&fb->rels) != TD_OK || td_key_index_put(&fb->index, l) != TD_OK))
    rc = td_err_nomem(err, "adding a location");
  if (!rc) relmap_insert(&fb->rels, l);
  if (rc) {
    location_free(fb, l);
    return rc;
  }
  fb->locs[fb->n_locs++] = l;
  for (int64_t i = 0; i < fb->loc_subs.n; i++) td_answer_location(fb->loc_subs.reqs[i], l->key, NULL);
  *out = l;
  return TD_OK;
}

void fb_locations_free(td_file_backend *fb) {
  for (int64_t i = 0; i < fb->n_locs; i++) location_free(fb, fb->locs[i]);
  td_free(fb->locs);
  fb->locs = NULL;
  fb->n_locs = 0;
  td_free(fb->rels.slots);
  memset(&fb->rels, 0, sizeof fb->rels);
}

static fb_file *new_file(const fb_location *loc, const fb_entry *e) {
  fb_file *f = td_calloc(1, sizeof *f);
  if (!f) return NULL;
  f->name = td_strdup(e->name);
  f->path = fb_join(loc->dir, e->name);
  f->fmt = e->fmt;
  f->inode = e->inode;
  f->fsize = e->size;
  f->mtime_ns = e->mtime_ns;
  f->ctime_ns = e->ctime_ns;
  if (!f->name || !f->path) {
    td_free(f->name);
    td_free(f->path);
    td_free(f);
    return NULL;
  }
  return f;
}

static int insert_file(fb_location *loc, int64_t at, fb_file *f) {
  if (loc->n_files == loc->cap_files) {
    int64_t cap = loc->cap_files ? loc->cap_files * 2 : 4;
    fb_file **nf = td_realloc(loc->files, (size_t)cap * sizeof *nf);
    if (!nf) return TD_ENOMEM;
    loc->files = nf;
    loc->cap_files = cap;
  }
  memmove(loc->files + at + 1, loc->files + at, (size_t)(loc->n_files - at) * sizeof *loc->files);
  loc->files[at] = f;
  loc->n_files++;
  return TD_OK;
}

/* ---- checksums (files rewritten in place) ---- */

static uint64_t fnv(uint64_t h, const uint8_t *p, int64_t n) {
  for (int64_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

bool fb_file_checksum(fb_file *f, int64_t size, uint64_t *head, uint64_t *tail) {
  int fd = open(f->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  uint8_t buf[FB_SUM_BYTES];
  int64_t n = size < FB_SUM_BYTES ? size : FB_SUM_BYTES, at = size - n;
  bool ok = pread(fd, buf, (size_t)n, 0) == (ssize_t)n;
  *head = fnv(1469598103934665603ull, buf, ok ? n : 0);
  ok = ok && pread(fd, buf, (size_t)n, (off_t)at) == (ssize_t)n;
  *tail = fnv(1469598103934665603ull, buf, ok ? n : 0);
  close(fd);
  return ok;
}

/* Takes f's checksums at its current size (watched files only: a static
 * table reads nothing for them). */
static void take_sum(td_file_backend *fb, fb_file *f) {
  if (fb->watching && fb_file_checksum(f, f->fsize, &f->head_sum, &f->tail_sum)) {
    f->has_sum = true;
    f->sum_size = f->fsize;
  }
}

/* True when f, same inode and not shorter, no longer holds the bytes it
 * held: its times changed and the start or the end of what was seen of it
 * differ.  (Appending keeps both.) */
static bool rewritten(td_file_backend *fb, fb_file *f, const fb_entry *e) {
  if (!f->has_sum) {
    take_sum(fb, f);
    return false;
  }
  if (e->mtime_ns == f->mtime_ns && e->ctime_ns == f->ctime_ns && e->size == f->fsize) return false;
  uint64_t h, t;
  if (!fb_file_checksum(f, f->sum_size, &h, &t)) return false; /* gone: the next listing says so */
  return h != f->head_sum || t != f->tail_sum;
}

/* An opened location: checks one known file against its listing entry.
 * Returns false (after failing the location) when the file cannot go on. */
static bool check_known(td_file_backend *fb, fb_location *loc, int64_t idx, const fb_entry *e) {
  char msg[TD_ERROR_MESSAGE_SIZE + 256];
  td_error err;
  fb_file *f = loc->files[idx];
  if (e && !f->reader) { /* pending: try again when it changed, or its writer closed it */
    /* (closing changes no size: a file seen at its final size while still
     * open would otherwise wait for ever) */
    if (e->size != f->fsize || e->inode != f->inode || (f->waits_close && !fb_is_being_written(fb, f->path))) {
      f->fsize = e->size;
      f->inode = e->inode;
      fb_file_admit(fb, loc, idx, &err);
    }
    return !loc->failure;
  }
  if (!e)
    snprintf(msg, sizeof msg,
             "'%s' was removed, but its location '%s' has other data files: a location loses its rows only "
             "as a whole (delete its every file, or its partition directory)",
             f->path, loc->rel[0] ? loc->rel : ".");
  else if (e->inode != f->inode) snprintf(msg, sizeof msg, "'%s' was replaced (a new file under the same name)", f->path);
  else if (e->size < f->fsize)
    snprintf(msg, sizeof msg, "'%s' was truncated (%lld bytes, was %lld)", f->path, (long long)e->size,
             (long long)f->fsize);
  else if (!f->reader) return true;
  else if (rewritten(fb, f, e))
    snprintf(msg, sizeof msg, "'%s' was rewritten in place (the bytes seen before changed; %lld bytes, was %lld)",
             f->path, (long long)e->size, (long long)f->fsize);
  else if (e->size == f->fsize) {
    f->mtime_ns = e->mtime_ns;
    f->ctime_ns = e->ctime_ns;
    return true;
  } else if (!f->reader->vt->refresh || strcmp(f->reader->vt->format_name, "arrow-file") == 0)
    snprintf(msg, sizeof msg, "'%s' was modified (%lld bytes, was %lld); only Arrow IPC streams and CSV files may grow",
             f->path, (long long)e->size, (long long)f->fsize);
  else if (f->reader->vt->refresh(f->reader, &err) != TD_OK) snprintf(msg, sizeof msg, "%s", err.message);
  else if (f->reader->num_rows > f->rows && fb_rows_after(loc, idx))
    snprintf(msg, sizeof msg, "'%s' grew but later files of its location have rows already: rows would move",
             f->path);
  else {
    f->fsize = e->size;
    f->mtime_ns = e->mtime_ns;
    f->ctime_ns = e->ctime_ns;
    take_sum(fb, f);
    if (f->reader->num_rows > f->rows) f->rows = f->reader->num_rows;
    return true;
  }
  fb_location_fail(fb, loc, msg);
  return false;
}

static bool is_data(const fb_entry *e) { return !e->is_dir && e->fmt != FB_NONE; }

/* New entries of an opened location arrive in modification-time order
 * (then name order). */
typedef struct fb_arrival {
  int64_t mtime_ns;
  const char *name;
  int64_t idx;
} fb_arrival;

static int arrival_cmp(const void *a, const void *b) {
  const fb_arrival *x = a, *y = b;
  if (x->mtime_ns != y->mtime_ns) return x->mtime_ns < y->mtime_ns ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Adds the files of `l` that the location does not have yet (`known` marks
 * the entries it has).  Before the location is opened files are kept in name
 * order (the static order); an opened location appends new files in their
 * order of arrival, wherever their names sort, so rows never move. */
static void add_new_files(td_file_backend *fb, fb_location *loc, const fb_listing *l, const bool *known) {
  fb_arrival *fresh = td_malloc((size_t)(l->n ? l->n : 1) * sizeof *fresh);
  int64_t n = 0;
  if (!fresh) {
    fb_location_fail(fb, loc, "out of memory adding a file");
    return;
  }
  for (int64_t i = 0; i < l->n; i++)
    if (is_data(&l->e[i]) && !known[i]) fresh[n++] = (fb_arrival){l->e[i].mtime_ns, l->e[i].name, i};
  if (loc->opened && n > 1) qsort(fresh, (size_t)n, sizeof *fresh, arrival_cmp);
  int64_t at = 0;
  for (int64_t k = 0; k < n && !loc->failure; k++) {
    const fb_entry *e = &l->e[fresh[k].idx];
    if (loc->opened) at = loc->n_files;
    else
      while (at < loc->n_files && strcmp(loc->files[at]->name, e->name) < 0) at++;
    fb_file *f = new_file(loc, e);
    if (!f || insert_file(loc, at, f) != TD_OK) {
      if (f) fb_file_free(fb, f);
      fb_location_fail(fb, loc, "out of memory adding a file");
      break;
    }
    td_error err;
    if (loc->opened) fb_file_admit(fb, loc, at, &err);
    at++;
  }
  td_free(fresh);
}

static int name_key_cmp(const void *key, const void *e) { return strcmp(key, ((const fb_entry *)e)->name); }

static bool has_data_files(const fb_listing *l);

/* Removes a location whose directory holds no data file any more (the
 * partition directory or its only file was deleted): location subscribers
 * hear td_answer_location_removed; its files move to `dead`. */
static void remove_location(td_file_backend *fb, fb_location *loc) {
  fb_location_settle(fb, loc);
  fb_file **dead = td_realloc(loc->dead, (size_t)(loc->n_dead + loc->n_files + 1) * sizeof *dead);
  if (!dead) {
    fb_location_fail(fb, loc, "out of memory removing a location");
    return;
  }
  loc->dead = dead;
  for (int64_t i = 0; i < loc->n_files; i++) loc->dead[loc->n_dead++] = loc->files[i];
  loc->n_files = 0;
  loc->opened = false;
  loc->size = 0;
  td_free(loc->failure);
  loc->failure = NULL;
  loc->removed = true;
  for (int64_t i = 0; i < fb->loc_subs.n; i++) td_answer_location_removed(fb->loc_subs.reqs[i], loc->key, NULL);
}

/* Updates `loc` from the listing of its directory (in name order; the
 * location's files are in read order). */
static void apply_listing(td_file_backend *fb, fb_location *loc, const fb_listing *l) {
  fb_location_settle(fb, loc);
  if (loc->removed) return;
  if (loc->n_files > 0 && !has_data_files(l)) {
    remove_location(fb, loc);
    return;
  }
  if (loc->failure) return;
  bool *known = td_calloc((size_t)(l->n ? l->n : 1), sizeof *known);
  if (!known) {
    fb_location_fail(fb, loc, "out of memory listing a directory");
    return;
  }
  for (int64_t i = 0; i < loc->n_files;) {
    fb_file *f = loc->files[i];
    const fb_entry *e = l->n ? bsearch(f->name, l->e, (size_t)l->n, sizeof *l->e, name_key_cmp) : NULL;
    if (e && !is_data(e)) e = NULL;
    if (e) known[e - l->e] = true;
    if (loc->opened && (e || f->reader)) {
      if (!check_known(fb, loc, i, e)) break;
      if (loc->files[i] == f) i++; /* (else a pending file moved to the end) */
    } else if (!e) { /* nobody counted rows of it yet: forget it */
      fb_file_free(fb, f);
      memmove(loc->files + i, loc->files + i + 1, (size_t)(loc->n_files - i - 1) * sizeof *loc->files);
      loc->n_files--;
    } else {
      f->inode = e->inode;
      f->fsize = e->size;
      f->mtime_ns = e->mtime_ns;
      f->ctime_ns = e->ctime_ns;
      i++;
    }
  }
  if (!loc->failure) add_new_files(fb, loc, l, known);
  td_free(known);
  loc->listed = true;
  if (loc->opened && !loc->failure) fb_location_resize(fb, loc);
}

void fb_sync_location(td_file_backend *fb, fb_location *loc) {
  fb_listing l;
  td_error err;
  if (loc->failure) return;
  if (fb_list(fb, loc->dir, &l, &err) != TD_OK) {
    fb_location_fail(fb, loc, err.message);
    return;
  }
  apply_listing(fb, loc, &l);
  fb_listing_reset(&l);
}

static bool has_data_files(const fb_listing *l) {
  for (int64_t i = 0; i < l->n; i++)
    if (is_data(&l->e[i])) return true;
  return false;
}

/* ---- listing the subdirectories of a directory at once ---- */

/* A directory's subdirectories, listed by up to fb->threads threads that
 * take the next one from `next`.  fb_list only reads the backend's fixed
 * settings (root, glob, forced format). */
typedef struct child_batch {
  td_file_backend *fb;
  int at;             /* the listed directory, open (AT_FDCWD: it could not be opened) */
  const fb_entry *e;  /* its entries: the subdirectories' names under `at` */
  char **dirs;     /* full paths (NULL: not a directory entry) */
  fb_listing *out; /* out[i]: dirs[i]'s listing, when ok[i] */
  bool *ok;
  int64_t n;
  _Atomic int64_t next;
} child_batch;

static void *list_children_worker(void *arg) {
  child_batch *b = arg;
  for (int64_t i; (i = atomic_fetch_add(&b->next, 1)) < b->n;) {
    td_error e; /* a listing that fails is listed again by the walk, which reports it in order */
    b->ok[i] = b->dirs[i] && list_at(b->fb, b->at, b->at == AT_FDCWD ? b->dirs[i] : b->e[i].name, b->dirs[i],
                                     &b->out[i], &e) == TD_OK;
  }
  return NULL;
}

/* Subdirectories worth listing ahead; subdirectories a helper thread is
 * started for (a listing is ~10 us, a thread's start and hand-over more
 * than a few: the 8 x 8 directories of a 64-location tree listed with a
 * helper for each 8 made a count(*) slower at 2 threads than at 1). */
enum { CHILD_BATCH_MIN = 8, CHILD_THREAD_DIRS = 64 };

static void child_batch_free(child_batch *b) {
  for (int64_t i = 0; i < b->n; i++) {
    if (b->ok && b->ok[i]) fb_listing_reset(&b->out[i]);
    if (b->dirs) td_free(b->dirs[i]);
  }
  td_free(b->dirs);
  td_free(b->out);
  td_free(b->ok);
  memset(b, 0, sizeof *b);
}

/* Lists the subdirectories among the entries of `l` (the listing of rel)
 * ahead of the walk that visits them in order, with up to fb->threads
 * threads: on a tree of 10,000 partition directories the listings (an
 * open, getdents and an fstatat each) overlap (unwatched trees only).  Each
 * is opened by its name under rel, opened once for them all (list_at), also
 * with one thread.  Which of them the walk visits, in which order and under
 * which names stays its own decision (a listing it does not use is
 * dropped).  b->n == 0: nothing listed (a watched tree, few subdirectories,
 * or no memory). */
static void list_children(td_file_backend *fb, const char *rel, const fb_listing *l, child_batch *b) {
  memset(b, 0, sizeof *b);
  int64_t dirs = 0;
  for (int64_t i = 0; i < l->n; i++) dirs += l->e[i].is_dir;
  /* Not for a watched tree: there each directory's watch is added before
   * it is listed, so that a file made in between is either listed or
   * reported; a listing made ahead would miss it for good. */
  if (fb->watching || dirs < CHILD_BATCH_MIN || fb->single_name) return;
  b->fb = fb;
  b->n = l->n;
  b->dirs = td_calloc((size_t)l->n, sizeof *b->dirs);
  b->out = td_calloc((size_t)l->n, sizeof *b->out);
  b->ok = td_calloc((size_t)l->n, sizeof *b->ok);
  bool oom = !b->dirs || !b->out || !b->ok;
  char *base = oom ? NULL : fb_join(fb->root, rel);
  for (int64_t i = 0; base && !oom && i < l->n; i++)
    if (l->e[i].is_dir && !(b->dirs[i] = fb_join(base, l->e[i].name))) oom = true;
  b->at = AT_FDCWD;
  if (!oom && base) {
    int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) b->at = fd;
  }
  b->e = l->e;
  td_free(base);
  if (oom || !base) {
    child_batch_free(b);
    return;
  }
  atomic_init(&b->next, 0);
  int helpers = fb->threads - 1 < dirs / CHILD_THREAD_DIRS ? fb->threads - 1 : (int)(dirs / CHILD_THREAD_DIRS);
  pthread_t t[64];
  int started = 0;
  for (; started < helpers && started < 64; started++)
    if (td_thread_start(&t[started], list_children_worker, b) != 0) break;
  list_children_worker(b);
  for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
  if (b->at != AT_FDCWD) close(b->at);
  b->at = AT_FDCWD;
}

/* Lists the directory `rel` (device and inode `id`, as its parent's
 * listing or a stat found them) and syncs its location and, when deep, the
 * directories under it.  `given`: its listing made ahead (taken), or
 * NULL. */
static int sync_dir(td_file_backend *fb, const char *rel, const uint64_t id[2], bool deep, fb_idset *seen,
                    fb_listing *given, td_error *err) {
  char *dir = fb_join(fb->root, rel);
  if (!dir) return td_err_nomem(err, "scanning a directory");
  fb_listing l;
  int rc = TD_OK;
  if (given) {
    l = *given;
    memset(given, 0, sizeof *given);
  } else {
    rc = fb_list(fb, dir, &l, err);
  }
  fb_location *loc = rc ? NULL : find_location(fb, rel);
  if (!rc && !loc && has_data_files(&l)) {
    rc = new_location(fb, rel, id[0], id[1], &loc, err);
  } else if (!rc && loc && loc->removed && has_data_files(&l)) {
    /* Data files again in a removed location's directory: added anew. */
    loc->dev = id[0];
    loc->ino = id[1];
    loc->removed = false;
    for (int64_t i = 0; i < fb->loc_subs.n; i++) td_answer_location(fb->loc_subs.reqs[i], loc->key, NULL);
  }
  td_free(dir);
  if (rc) {
    fb_listing_reset(&l);
    return rc;
  }
  if (loc) apply_listing(fb, loc, &l);
  child_batch ahead;
  if (deep) list_children(fb, rel, &l, &ahead);
  else memset(&ahead, 0, sizeof ahead);
  for (int64_t i = 0; rc == TD_OK && i < l.n; i++) {
    if (!l.e[i].is_dir || fb->single_name) continue;
    int fresh = idset_add(seen, l.e[i].dev, l.e[i].inode);
    if (fresh == 0) continue; /* reached before in this walk: a symlink loop, or a second name */
    char *sub = fresh < 0 ? NULL : rel[0] ? fb_join(rel, l.e[i].name) : td_strdup(l.e[i].name);
    if (!sub) rc = td_err_nomem(err, "scanning a directory");
    else if ((fb->watching && fb_watch_add(fb, sub)) || deep)
      rc = sync_dir(fb, sub, (const uint64_t[2]){l.e[i].dev, l.e[i].inode}, deep, seen,
                    ahead.n && ahead.ok[i] ? &ahead.out[i] : NULL, err);
    td_free(sub);
  }
  child_batch_free(&ahead);
  fb_listing_reset(&l);
  return rc;
}

int fb_sync_dir(td_file_backend *fb, const char *rel, bool deep, td_error *err) {
  fb_idset seen = {NULL, 0, 0};
  struct stat st;
  char *dir = fb_join(fb->root, rel);
  if (!dir) return td_err_nomem(err, "scanning a directory");
  /* the walk starts having seen the root and this directory */
  bool ok = stat(fb->root, &st) != 0 || idset_add(&seen, (uint64_t)st.st_dev, (uint64_t)st.st_ino) >= 0;
  if (stat(dir, &st) != 0) memset(&st, 0, sizeof st);
  else ok = ok && idset_add(&seen, (uint64_t)st.st_dev, (uint64_t)st.st_ino) >= 0;
  td_free(dir);
  uint64_t id[2] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino};
  int rc = ok ? sync_dir(fb, rel, id, deep, &seen, NULL, err) : td_err_nomem(err, "scanning a directory");
  td_free(seen.k);
  return rc;
}

int fb_sync_tree(td_file_backend *fb, bool deep, td_error *err) {
  if (fb->watching) fb_watch_add(fb, "");
  return fb_sync_dir(fb, "", deep, err);
}
