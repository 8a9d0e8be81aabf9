/*
 * backends/files/files.c - the file backend: creation (discovery and the
 * table schema), opening data files and checking them against the schema,
 * and the backend methods.  Column reads map a row range onto the files of
 * a location and read only those rows (concatenating across files).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "arrow/array.h"
#include "tabledata/keys.h"
#include "backend/ranges.h"
#include "backends/files/files_internal.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sys.h"

#define DECLARED "the declared schema"

void td_file_options_init(td_file_options *opts) {
  if (opts) memset(opts, 0, sizeof *opts);
}

/* ---- subscriptions and failures (under the lock) ---- */

int fb_subs_add(td_file_backend *fb, fb_subs *s, td_request r) {
  int rc = td_request_list_add(s, r);
  if (rc == TD_OK) fb->n_subs++;
  return rc;
}

static bool subs_remove(td_file_backend *fb, fb_subs *s, td_request r) {
  bool found = td_request_list_remove(s, r);
  if (found) fb->n_subs--;
  return found;
}

/* Answers a failure to every subscription of `s` and forgets them. */
static void subs_fail(td_file_backend *fb, fb_subs *s, const char *message) {
  for (int64_t i = 0; i < s->n; i++) td_answer_failure(s->reqs[i], message, NULL);
  fb->n_subs -= s->n;
  s->n = 0;
}

void fb_location_fail(td_file_backend *fb, fb_location *loc, const char *message) {
  if (loc->failure) return;
  loc->failure = td_strdup(message);
  if (!loc->failure) loc->failure = td_strdup("out of memory");
  subs_fail(fb, &loc->size_subs, message);
}

void fb_fail_location_subs(td_file_backend *fb, const char *message) { subs_fail(fb, &fb->loc_subs, message); }

/* ---- files ---- */

void fb_file_free(td_file_backend *fb, fb_file *f) {
  if (!f) return;
  if (f->reader) {
    fb->closed_bytes += atomic_load(&f->reader->io.bytes_read);
    td_reader_close(f->reader);
  }
  if (f->ahead) {
    fb->closed_bytes += atomic_load(&f->ahead->io.bytes_read);
    td_reader_close(f->ahead);
  }
  td_free(f->colmap);
  td_free(f->partmap);
  td_free(f->name);
  td_free(f->path);
  td_free(f);
}

static int open_reader(td_file_backend *fb, const fb_file *f, td_file_reader **r, td_error *err) {
  switch (f->fmt) {
#ifdef TD_HAVE_PARQUET
    case FB_PARQUET: return td_parquet_open(f->path, r, err);
#endif
#ifdef TD_HAVE_IPC
    case FB_IPC: return td_ipc_open(f->path, r, err);
#endif
#ifdef TD_HAVE_CSV
    case FB_CSV: {
      td_csv_options o = {fb->has_decl ? &fb->decl : fb->schema_source ? &fb->file_schema : NULL,
                          fb->csv_delimiter, fb->csv_sample_rows, fb->csv_quote, fb->csv_null,
                          /* unwatched, a file is read as finished: its last line counts
                           * without a newline; watched, only once the newline comes */
                          .complete = !fb->watching};
      return td_csv_open(f->path, &o, r, err);
    }
#endif
    default: {
      static const char *const names[] = {"", "Parquet", "Arrow IPC", "CSV"};
      return td_err(err, TD_EUNSUPPORTED, "'%s': this build of tabledata has no %s reader", f->path,
                    names[f->fmt]);
    }
  }
}

static const char *unsupported_reason(const td_unsupported_column *u, int64_t n, const char *name) {
  for (int64_t i = 0; i < n; i++)
    if (strcmp(u[i].name, name) == 0) return u[i].reason;
  return NULL;
}

/* The reader's schema must be the table's: same names, same types, same
 * order (or, with a declared schema, the declared columns by name). */
static int check_schema(td_file_backend *fb, fb_file *f, const td_file_reader *r, td_error *err) {
  const td_schema *fs = &r->schema, *ts = &fb->data;
  char a[64], b[64];
  f->colmap = td_calloc((size_t)(ts->n_fields ? ts->n_fields : 1), sizeof *f->colmap);
  if (!f->colmap) return td_err_nomem(err, "checking a file's schema");
  /* partition columns also stored in the file (checked when admitted) */
  int64_t n_in_file = 0;
  for (int64_t p = 0; p < fb->part.n_fields; p++) {
    int64_t j = td_schema_find(fs, fb->part.fields[p].name);
    if (j < 0) continue;
    if (!f->partmap) {
      if (!(f->partmap = td_malloc((size_t)fb->part.n_fields * sizeof *f->partmap)))
        return td_err_nomem(err, "checking a file's schema");
      for (int64_t q = 0; q < fb->part.n_fields; q++) f->partmap[q] = -1;
    }
    f->partmap[p] = j;
    n_in_file++;
  }
  int64_t next = 0; /* positional: the file's columns, partition columns skipped */
  for (int64_t i = 0; i < ts->n_fields; i++) {
    const td_field *want = &ts->fields[i];
    while (!fb->has_decl && next < fs->n_fields && td_schema_find(&fb->part, fs->fields[next].name) >= 0) next++;
    int64_t j = fb->has_decl ? td_schema_find(fs, want->name) : next++;
    if (j < 0 || j >= fs->n_fields) {
      const char *why = unsupported_reason(r->unsupported, r->n_unsupported, want->name);
      if (why) return td_err(err, TD_EUNSUPPORTED, "'%s': column '%s' (%s in %s) is not supported here: %s",
                             f->path, want->name, td_field_type_text(want, a, sizeof a), fb->schema_source, why);
      return td_err(err, TD_EFORMAT, "'%s': has no column '%s' (%s in %s)", f->path, want->name,
                    td_field_type_text(want, a, sizeof a), fb->schema_source);
    }
    const td_field *got = &fs->fields[j];
    if (strcmp(got->name, want->name))
      return td_err(err, TD_EFORMAT, "'%s': column %lld is '%s' (%s), expected '%s' (%s) as in %s", f->path,
                    (long long)i + 1, got->name, td_field_type_text(got, a, sizeof a), want->name,
                    td_field_type_text(want, b, sizeof b), fb->schema_source);
    if (!td_field_same_type(got, want))
      return td_err(err, TD_EFORMAT, "'%s': column '%s' is %s here but %s in %s", f->path, want->name,
                    td_field_type_text(got, a, sizeof a), td_field_type_text(want, b, sizeof b), fb->schema_source);
    f->colmap[i] = j;
  }
  if (fb->has_decl) return TD_OK;
  while (next < fs->n_fields && td_schema_find(&fb->part, fs->fields[next].name) >= 0) next++;
  if (fs->n_fields > ts->n_fields + n_in_file)
    return td_err(err, TD_EFORMAT, "'%s': has an extra column '%s' (%s) that %s does not have", f->path,
                  fs->fields[next].name, td_field_type_text(&fs->fields[next], a, sizeof a), fb->schema_source);
  for (int64_t i = 0; i < r->n_unsupported; i++)
    if (!unsupported_reason(fb->unsup, fb->n_unsup, r->unsupported[i].name))
      return td_err(err, TD_EFORMAT, "'%s': has a column '%s' that %s does not have (%s)", f->path,
                    r->unsupported[i].name, fb->schema_source, r->unsupported[i].reason);
  return TD_OK;
}

/* The first data file gives the table's data schema. */
static int take_schema(td_file_backend *fb, const fb_file *f, const td_file_reader *r, td_error *err) {
  int rc = td_schema_copy(&r->schema, &fb->file_schema, err);
  if (rc) return rc;
  for (int64_t i = 0; i < r->schema.n_fields && !rc; i++) /* partition columns come from the directories */
    if (td_schema_find(&fb->part, r->schema.fields[i].name) < 0)
      rc = td_schema_add(&fb->data, r->schema.fields[i].name, r->schema.fields[i].type, r->schema.fields[i].tz,
                         r->schema.fields[i].nullable, err);
  if (rc) return rc;
  if (r->n_unsupported && !(fb->unsup = td_calloc((size_t)r->n_unsupported, sizeof *fb->unsup)))
    return td_err_nomem(err, "copying the unsupported columns");
  for (int64_t i = 0; i < r->n_unsupported; i++, fb->n_unsup++) {
    fb->unsup[i].name = td_strdup(r->unsupported[i].name);
    fb->unsup[i].reason = td_strdup(r->unsupported[i].reason);
    if (!fb->unsup[i].name || !fb->unsup[i].reason) {
      fb->n_unsup++;
      return td_err_nomem(err, "copying the unsupported columns");
    }
  }
  if (!(fb->schema_source = td_strdup(f->path))) return td_err_nomem(err, "opening the first file");
  return TD_OK;
}

/* Whether a reader's format can grow in place (Arrow IPC streams, CSV). */
static bool fb_reader_grows(const td_file_reader *r) {
  return r->vt->refresh && strcmp(r->vt->format_name, "arrow-file") != 0;
}

/* Whether `path` still names the file the reader opened, as it was then. */
static bool fb_unchanged(const td_file_reader *r, const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && (int64_t)st.st_size == r->io.open_size && (uint64_t)st.st_ino == r->io.ino &&
         td_timespec_ns(st.st_mtim) == r->io.open_mtime_ns;
}

/* Opens f's reader (see fb_file_open) until the file is the same before and
 * after the open; the bytes read by readers let go are added to *closed.
 * Reads only the backend's fixed settings: a sizer runs it without the
 * lock. */
static int open_checked(td_file_backend *fb, const fb_file *f, td_file_reader **out, int64_t *closed,
                        td_error *err) {
  td_file_reader *r = NULL;
  *out = NULL;
  for (int attempt = 0;; attempt++) {
    int rc = open_reader(fb, f, &r, err);
    if (rc) return rc;
    if (fb_reader_grows(r) || fb_unchanged(r, f->path)) break;
    *closed += atomic_load(&r->io.bytes_read);
    td_reader_close(r);
    r = NULL;
    if (attempt == 2)
      return td_err(err, TD_EIO, "'%s' changed while it was opened (still being written?)", f->path);
  }
  *out = r;
  return TD_OK;
}

int fb_file_open(td_file_backend *fb, fb_file *f, td_error *err) {
  if (f->reader) return TD_OK;
  /* The size is taken before the reader scans the file: if the file grows
   * meanwhile, the recorded size is still one the reader has seen all of, so
   * the next change of size makes it refresh and count the rest.  A format
   * that cannot grow (Parquet, Arrow IPC files) must not change while it is
   * opened: a writer that finishes the file in place between the stat and
   * the scan would otherwise leave a recorded size the file no longer has
   * ("was modified" later).  Such a file is opened again until the stat of
   * the descriptor when it was opened and a stat of the path after the scan
   * agree; one that keeps changing stays pending (it is still being
   * written) and is tried again at its next change. */
  td_file_reader *r = NULL;
  int rc = TD_OK;
  const char *ext = strrchr(f->name, '.');
  bool fixed = f->fmt == FB_PARQUET ||
               (f->fmt == FB_IPC && ext && (strcasecmp(ext, ".arrow") == 0 || strcasecmp(ext, ".feather") == 0));
  f->waits_close = fixed && fb_is_being_written(fb, f->path);
  if (f->waits_close) { /* opened when its writer closes it */
    f->pending = true;
    return td_err(err, TD_EIO, "'%s' is being written (waiting for its writer to close it)", f->path);
  }
  if (f->ahead) { /* opened by a sizer */
    r = f->ahead;
    f->ahead = NULL;
  } else {
    rc = open_checked(fb, f, &r, &fb->closed_bytes, err);
  }
  /* Only a file that ends too early (or vanished, or kept changing) may
   * still be being written; any other error is permanent and fails the
   * location. */
  f->pending = rc == TD_EIO || (rc && rc != TD_ENOMEM && err && err->position == TD_READER_INCOMPLETE);
  if (rc) return rc;
  if (!fb->schema_source) rc = take_schema(fb, f, r, err);
  if (!rc) rc = check_schema(fb, f, r, err);
  if (rc) {
    fb->closed_bytes += atomic_load(&r->io.bytes_read);
    td_reader_close(r);
    td_free(f->colmap);
    f->colmap = NULL;
    td_free(f->partmap);
    f->partmap = NULL;
    return rc;
  }
  f->reader = r;
  f->rows = r->num_rows;
  f->fsize = r->io.open_size;
  f->inode = r->io.ino;
  f->mtime_ns = r->io.open_mtime_ns;
  f->ctime_ns = r->io.open_ctime_ns;
  return TD_OK;
}

/* A stored value agrees with its partition value when it reads back as it,
 * or (a utf8 partition) when the partition text reads as the stored value. */
static bool value_agrees(const td_field *pf, const td_value *pv, const td_value *fv) {
  if (pv->is_null || fv->is_null) return pv->is_null == fv->is_null;
  if (pv->type == fv->type) return td_value_compare(pv, fv) == 0;
  char text[256];
  if (fv->type == TD_TYPE_UTF8)
    snprintf(text, sizeof text, "%.*s", (int)(fv->v.s.len < 255 ? fv->v.s.len : 255), fv->v.s.ptr);
  else
    td_value_format(fv, text, sizeof text);
  td_value parsed;
  td_error e;
  if (fb_parse_value(pf, text, &parsed, &e) == TD_OK && td_value_compare(&parsed, pv) == 0) return true;
  if (pv->type != TD_TYPE_UTF8) return false;
  /* a utf8 partition value read as the stored type (2024-01-01 and a date
   * stored as a timestamp at midnight) */
  snprintf(text, sizeof text, "%.*s", (int)(pv->v.s.len < 255 ? pv->v.s.len : 255), pv->v.s.ptr);
  td_field as_stored = {pf->name, fv->type, NULL, true};
  return fb_parse_value(&as_stored, text, &parsed, &e) == TD_OK && td_value_compare(&parsed, fv) == 0;
}

/* The partition columns a file also stores (DuckDB's WRITE_PARTITION_COLUMNS)
 * must hold its location's values in every row. */
static int check_partition_values(td_file_backend *fb, const fb_location *loc, fb_file *f, td_error *err) {
  for (int64_t p = 0; p < fb->part.n_fields; p++) {
    int64_t j = f->partmap[p];
    if (j < 0 || f->rows == 0) continue;
    const td_field *ff = &f->reader->schema.fields[j];
    const td_value *pv = td_location_key_partition_value(loc->key, p);
    struct ArrowArray a = {0};
    int rc = td_reader_read(f->reader, j, 0, f->rows, &a, err);
    if (rc) return td_err_prefix(err, rc, "'%s': reading partition column '%s': ", f->path, ff->name);
    td_colview v;
    rc = td_colview_init(&v, ff->type, &a, err);
    for (int64_t row = 0; !rc && row < f->rows; row++) {
      td_value fv = td_colview_value(&v, row);
      if (value_agrees(&fb->part.fields[p], pv, &fv)) continue;
      char got[128], want[128];
      td_value_format(&fv, got, sizeof got);
      td_value_format(pv, want, sizeof want);
      rc = td_err(err, TD_EFORMAT,
                  "'%s' row %lld: column '%s' holds '%s' but its partition directory says '%s' (a partition column "
                  "stored in the files must agree with the directory names)",
                  f->path, (long long)row + 1, ff->name, got, want);
    }
    if (a.release) a.release(&a);
    if (rc) return rc;
  }
  return TD_OK;
}

bool fb_rows_after(const fb_location *loc, int64_t idx) {
  for (int64_t i = idx + 1; i < loc->n_files; i++)
    if (loc->files[i]->rows > 0) return true;
  return false;
}

int fb_file_admit(td_file_backend *fb, fb_location *loc, int64_t idx, td_error *err) {
  fb_file *f = loc->files[idx];
  int rc = fb_file_open(fb, f, err);
  if (rc == TD_ENOMEM || (rc && f->pending && fb->watching)) return rc; /* tried again later */
  if (rc) {
    fb_location_fail(fb, loc, err->message);
    return rc;
  }
  f->pending = false;
  if (f->partmap && (rc = check_partition_values(fb, loc, f, err)) != TD_OK) {
    if (rc != TD_ENOMEM) fb_location_fail(fb, loc, err->message);
    return rc;
  }
  if (fb->watching && !f->has_sum) { /* what a rewrite in place would change */
    f->has_sum = fb_file_checksum(f, f->fsize, &f->head_sum, &f->tail_sum);
    f->sum_size = f->fsize;
  }
  /* (Before the location is opened no later file has been counted.)  A
   * file that was pending counted no rows: it moves to the end (arrival
   * order), so no row moves. */
  if (f->rows > 0 && loc->opened && fb_rows_after(loc, idx)) {
    memmove(loc->files + idx, loc->files + idx + 1, (size_t)(loc->n_files - idx - 1) * sizeof *loc->files);
    loc->files[loc->n_files - 1] = f;
  }
  return rc;
}

void fb_location_resize(td_file_backend *fb, fb_location *loc) {
  int64_t size = 0;
  for (int64_t i = 0; i < loc->n_files; i++) {
    if (__builtin_add_overflow(size, loc->files[i]->rows, &size)) {
      char msg[TD_ERROR_MESSAGE_SIZE];
      snprintf(msg, sizeof msg, "'%s': the row counts of its files overflow (more than %lld rows) at '%s' (%lld rows)",
               loc->dir, (long long)INT64_MAX, loc->files[i]->path, (long long)loc->files[i]->rows);
      fb_location_fail(fb, loc, msg);
      return;
    }
  }
  if (size <= loc->size) return;
  loc->size = size;
  for (int64_t i = 0; i < loc->size_subs.n; i++) td_answer_size(loc->size_subs.reqs[i], size, NULL);
}

void fb_location_settle(td_file_backend *fb, fb_location *loc) {
  while (loc->opening) pthread_cond_wait(&fb->opened, &fb->lock);
}

int fb_location_open(td_file_backend *fb, fb_location *loc, td_error *err) {
  fb_location_settle(fb, loc);
  if (loc->failure) return td_err(err, TD_EFAILED, "%s", loc->failure);
  if (loc->opened) return TD_OK;
  for (int64_t i = 0; i < loc->n_files; i++) {
    int rc = fb_file_admit(fb, loc, i, err);
    if (loc->failure || rc == TD_ENOMEM) return rc;
  }
  loc->opened = true;
  fb_location_resize(fb, loc);
  if (loc->failure) return td_err(err, TD_EFORMAT, "%s", loc->failure);
  return TD_OK;
}

/* ---- creation ---- */

static const td_location_key *key_of(const void *item) { return ((const fb_location *)item)->key; }

/* After the first walk: infers the partition types and, when one is not
 * utf8 any more, rebuilds the location keys (nobody has seen them yet). */
static int infer_partitions(td_file_backend *fb, td_error *err) {
  bool changed = false;
  int rc = fb->infer_parts ? fb_infer_partition_types(fb, &changed, err) : TD_OK;
  if (rc || !changed) return rc;
  td_key_index_reset(&fb->index);
  td_key_index_init(&fb->index, key_of);
  for (int64_t i = 0; i < fb->n_locs; i++) {
    fb_location *l = fb->locs[i];
    td_location_key *k;
    if ((rc = fb_location_key(fb, l->rel, &k, err))) return rc;
    td_location_key_release(l->key);
    l->key = k;
    if (td_key_index_put(&fb->index, l) != TD_OK) return td_err_nomem(err, "indexing locations");
  }
  return TD_OK;
}

static int set_root_plain(td_file_backend *fb, const char *path, td_error *err);

/* A glob path: the root is its leading glob-free directories. */
static int set_glob_root(td_file_backend *fb, const char *path, const char *magic, td_error *err) {
  const char *slash = magic;
  while (slash > path && slash[-1] != '/') slash--;
  fb->root = slash > path ? td_strndup(path, (size_t)(slash - path - (slash - path > 1))) : td_strdup(".");
  fb->glob = td_strdup(slash);
  if (!fb->root || !fb->glob) return td_err_nomem(err, "creating a file backend");
  struct stat st;
  if (stat(fb->root, &st) != 0 || !S_ISDIR(st.st_mode))
    return td_err(err, TD_EIO, "'%s': the directory '%s' before the pattern does not exist", path, fb->root);
  return fb_root_parts(fb, fb->root, err);
}

static int set_root(td_file_backend *fb, const char *path, td_error *err) {
  struct stat st;
  const char *magic = strpbrk(path, "*?[");
  if (magic && stat(path, &st) != 0) return set_glob_root(fb, path, magic, err);
  int rc = set_root_plain(fb, path, err);
  if (!rc) rc = fb_root_parts(fb, fb->root, err);
  return rc;
}

static int set_root_plain(td_file_backend *fb, const char *path, td_error *err) {
  struct stat st;
  if (stat(path, &st) != 0)
    return td_err(err, TD_EIO, "'%s': %s (expected a directory or a data file)", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    fb->root = td_strndup(path, n);
    return fb->root ? TD_OK : td_err_nomem(err, "creating a file backend");
  }
  char *a = td_strdup(path), *b = td_strdup(path);
  if (a && b && S_ISREG(st.st_mode) && fb_format_of(fb, basename(b)) != FB_NONE) {
    fb->root = td_strdup(dirname(a));
    fb->single_name = td_strdup(basename(b));
  }
  td_free(a);
  td_free(b);
  if (!a || !b || (fb->root && !fb->single_name)) return td_err_nomem(err, "creating a file backend");
  if (!fb->root)
    return td_err(err, TD_EUNSUPPORTED,
                  "'%s': not a data file (expected .parquet, .arrow, .feather, .ipc, .arrows, .stream or .csv)",
                  path);
  return TD_OK;
}

static int import_options(td_file_backend *fb, const td_file_options *o, td_error *err) {
  fb->csv_delimiter = o ? o->csv_delimiter : 0;
  fb->csv_sample_rows = o ? o->csv_sample_rows : 0;
  fb->csv_quote = o ? o->csv_quote : 0;
  fb->infer_parts = !o || o->partition_types != TD_PARTITION_TYPES_NONE;
  if (o && (o->threads < 0 || o->threads > 64))
    return td_err(err, TD_EINVAL, "td_file_options.threads: expected 0 (one per core) to 64, found %d", o->threads);
  fb->threads = o && o->threads ? o->threads : td_online_cores(64);
  static const fb_format forced[] = {FB_NONE, FB_PARQUET, FB_CSV, FB_IPC};
  int f = o ? o->format : TD_FILE_FORMAT_AUTO;
  if (f < 0 || f >= (int)(sizeof forced / sizeof *forced))
    return td_err(err, TD_EINVAL, "td_file_options.format: expected TD_FILE_FORMAT_AUTO, _PARQUET, _CSV or _IPC, found %d", f);
  fb->forced = forced[f];
  if (o && o->csv_null && !(fb->csv_null = td_strdup(o->csv_null))) return td_err_nomem(err, "copying options");
  int rc = TD_OK;
  if (o && o->schema && o->schema->release) {
    fb->has_decl = true;
    if ((rc = td_schema_import(o->schema, &fb->decl, err))) return td_err_prefix(err, rc, "declared schema: ");
  }
  if (o && o->partition_schema && o->partition_schema->release &&
      (rc = td_schema_import(o->partition_schema, &fb->part_decl, err)))
    return td_err_prefix(err, rc, "declared partition schema: ");
  return rc;
}

/* After the walk: the data schema and its agreement with the partitions. */
static int settle_schema(td_file_backend *fb, td_error *err) {
  int rc = TD_OK;
  if (!fb->parts_known) {
    rc = td_schema_copy(&fb->part_decl, &fb->part, err);
    fb->parts_known = true;
  }
  if (!rc && fb->has_decl) {
    /* declared partition columns come from the directories */
    for (int64_t i = 0; !rc && i < fb->decl.n_fields; i++)
      if (td_schema_find(&fb->part, fb->decl.fields[i].name) < 0)
        rc = td_schema_add(&fb->data, fb->decl.fields[i].name, fb->decl.fields[i].type, fb->decl.fields[i].tz,
                           fb->decl.fields[i].nullable, err);
    if (!rc && !(fb->schema_source = td_strdup(DECLARED))) rc = td_err_nomem(err, "creating a file backend");
  } else if (!rc) {
    fb_location *first = fb->n_locs ? fb->locs[0] : NULL;
    if (!first || !first->n_files)
      return td_err(err, TD_EFORMAT,
                    "'%s': no data files (.parquet, .arrow, .feather, .ipc, .arrows, .stream, .csv); declare a "
                    "schema (--schema 'name TYPE, ...') to start from an empty tree",
                    fb->name);
    rc = fb_file_open(fb, first->files[0], err);
  }
  return rc;
}


static void sizers_stop(td_file_backend *fb);

static void backend_free(td_file_backend *fb) {
  sizers_stop(fb);
  fb_locations_free(fb);
  td_key_index_reset(&fb->index);
  for (int64_t i = 0; i < fb->n_unsup; i++) {
    td_free(fb->unsup[i].name);
    td_free(fb->unsup[i].reason);
  }
  td_free(fb->unsup);
  td_request_list_reset(&fb->loc_subs);
  td_free(fb->watches);
  td_schema_reset(&fb->decl);
  td_schema_reset(&fb->part_decl);
  td_schema_reset(&fb->part);
  td_schema_reset(&fb->data);
  td_schema_reset(&fb->file_schema);
  td_free(fb->root_parts);
  td_free(fb->glob);
  td_free(fb->csv_null);
  td_free(fb->schema_source);
  td_free(fb->parts_source);
  td_free(fb->name);
  td_free(fb->root);
  td_free(fb->single_name);
  pthread_mutex_destroy(&fb->lock);
  pthread_mutex_destroy(&fb->watch_lock);
  pthread_cond_destroy(&fb->opened);
  td_free(fb);
}

int td_file_backend_new(const char *path, const td_file_options *opts, td_file_backend **out, td_error *err) {
  if (!out) return td_err(err, TD_EINVAL, "td_file_backend_new: no output pointer");
  *out = NULL;
  if (!path || !*path) return td_err(err, TD_EINVAL, "td_file_backend_new: no path");
  td_file_backend *fb = td_calloc(1, sizeof *fb);
  if (!fb) return td_err_nomem(err, "creating a file backend");
  atomic_init(&fb->refs, 1);
  td_spin_mutex_init(&fb->lock);
  pthread_mutex_init(&fb->watch_lock, NULL);
  pthread_cond_init(&fb->opened, NULL);
  fb->ino_fd = fb->wake_fd = -1;
  td_key_index_init(&fb->index, key_of);
  td_schema_init(&fb->decl);
  td_schema_init(&fb->part_decl);
  td_schema_init(&fb->part);
  td_schema_init(&fb->data);
  td_schema_init(&fb->file_schema);
  int rc = (fb->name = td_strdup(path)) ? TD_OK : td_err_nomem(err, "creating a file backend");
  if (!rc) rc = import_options(fb, opts, err);
  if (!rc) rc = set_root(fb, path, err);
  fb->discovering = true;
  if (!rc) rc = fb_sync_tree(fb, true, err);
  fb->discovering = false;
  fb->walked = true;
  if (!rc) rc = infer_partitions(fb, err);
  if (!rc) rc = settle_schema(fb, err);
  if (rc) {
    backend_free(fb);
    return rc;
  }
  *out = fb;
  return TD_OK;
}

td_file_backend *td_file_backend_retain(td_file_backend *fb) {
  if (fb) atomic_fetch_add(&fb->refs, 1);
  return fb;
}

void td_file_backend_release(td_file_backend *fb) {
  if (!fb || atomic_fetch_sub(&fb->refs, 1) != 1) return;
  pthread_mutex_lock(&fb->watch_lock);
  fb_watch_stop(fb, true);
  pthread_mutex_unlock(&fb->watch_lock);
  backend_free(fb);
}

const char *td_file_backend_table_name(const td_file_backend *fb) { return fb ? fb->name : NULL; }

int64_t td_file_backend_bytes_read(td_file_backend *fb) {
  if (!fb) return 0;
  pthread_mutex_lock(&fb->lock);
  int64_t n = fb->closed_bytes;
  for (int64_t i = 0; i < fb->n_locs; i++)
    for (int64_t j = 0; j < fb->locs[i]->n_files; j++)
      if (fb->locs[i]->files[j]->reader) n += atomic_load(&fb->locs[i]->files[j]->reader->io.bytes_read);
  pthread_mutex_unlock(&fb->lock);
  return n;
}

/* ---- the backend methods ---- */

/* Whether `tk` names this backend's table (NULL: checked before), else
 * false with the reason in `why`. */
static bool lookup_table(td_file_backend *fb, const td_table_key *tk, char *why, size_t size) {
  if (tk && strcmp(td_table_key_name(tk), fb->name) != 0) {
    snprintf(why, size, "no table '%s' (this file backend serves '%s')", td_table_key_name(tk), fb->name);
    return false;
  }
  return true;
}

/* Under the lock: the location of `lk` (NULL lk: just the table; NULL tk:
 * the table was checked), opened, or false with the reason in `why`. */
static bool lookup(td_file_backend *fb, const td_table_key *tk, const td_location_key *lk, fb_location **loc,
                   char *why, size_t size) {
  if (!lookup_table(fb, tk, why, size)) return false;
  if (!lk) return true;
  *loc = td_key_index_get(&fb->index, lk);
  if (*loc && (*loc)->removed) *loc = NULL;
  if (!*loc) {
    char k[256];
    td_location_key_format(lk, k, sizeof k);
    snprintf(why, size, "table '%s' has no location '%s'", fb->name, k);
    return false;
  }
  td_error e;
  if (fb_location_open(fb, *loc, &e) != TD_OK) {
    snprintf(why, size, "%s", e.message);
    return false;
  }
  return true;
}

static void f_table_schema(void *self, const td_table_key *tk, td_request req) {
  td_file_backend *fb = self;
  struct ArrowSchema ds = {0}, ps = {0};
  char why[TD_ERROR_MESSAGE_SIZE];
  td_error e;
  bool ok = lookup(fb, tk, NULL, NULL, why, sizeof why); /* schemas are fixed: no lock */
  if (ok && (td_schema_export(&fb->data, &ds, &e) != TD_OK ||
             (fb->part.n_fields && td_schema_export(&fb->part, &ps, &e) != TD_OK))) {
    ok = false;
    snprintf(why, sizeof why, "%s", e.message);
    td_arrow_schema_release(&ds);
  }
  /* Deleted data files and partition directories remove their locations. */
  if (ok) td_answer_schema_mode(req, &ds, ps.release ? &ps : NULL, TD_UPDATE_ADD_REMOVE, NULL);
  else td_answer_failure(req, why, NULL);
}

static void f_table_locations(void *self, const td_table_key *tk, td_request req) {
  td_file_backend *fb = self;
  char why[TD_ERROR_MESSAGE_SIZE];
  td_error e;
  pthread_mutex_lock(&fb->lock);
  bool ok = lookup(fb, tk, NULL, NULL, why, sizeof why);
  /* A static table re-walks its tree for each locations request, except the
   * first after creation (the walk that just discovered it): a one-shot
   * query over N locations lists each directory once, not three times. */
  if (ok && !fb->watching && !fb->walked && fb_sync_tree(fb, true, &e) != TD_OK) {
    ok = false;
    snprintf(why, sizeof why, "%s", e.message);
  }
  fb->walked = false;
  for (int64_t i = 0; ok && i < fb->n_locs; i++)
    if (!fb->locs[i]->removed) td_answer_location(req, fb->locs[i]->key, NULL);
  pthread_mutex_unlock(&fb->lock);
  if (ok) td_answer_success(req, NULL);
  else td_answer_failure(req, why, NULL);
}

/* Under the lock: answers the size of `lk`, opening its files first. */
static void answer_size(td_file_backend *fb, const td_table_key *tk, const td_location_key *lk, td_request req) {
  char why[TD_ERROR_MESSAGE_SIZE];
  fb_location *loc = NULL;
  bool ok = lookup(fb, tk, lk, &loc, why, sizeof why);
  if (ok && !fb->watching && !loc->listed) fb_sync_location(fb, loc);
  if (loc) loc->listed = false;
  if (ok && !fb->watching) {
    if (loc->failure) {
      ok = false;
      snprintf(why, sizeof why, "%s", loc->failure);
    }
  }
  if (ok) td_answer_size(req, loc->size, NULL);
  else td_answer_failure(req, why, NULL);
}

/* ---- sizing on helper threads ----
 *
 * A static tree's size requests of locations not opened yet (a query over
 * 10,000 partitions asks for every size before it waits for the first, so
 * that a backend may answer them together) go to a queue that up to
 * `threads` sizers drain: a sizer opens a location's files without the lock
 * (the location `opening`: fb_location_settle makes anything that would
 * open, list or drop them wait), then answers as f_location_size does,
 * under the lock, the readers adopted and checked by fb_file_open.  The
 * answers, and the errors, are the ones one thread gives; a file whose
 * open fails is opened again under the lock, which reports it. */
typedef struct fb_size_job {
  td_location_key *key; /* retained */
  td_request req;
} fb_size_job;

typedef struct fb_sizer {
  td_file_backend *fb;
  pthread_t thread;
  bool started; /* thread to join */
  bool running;
} fb_sizer;

/* Fewer locations than this are sized in the call: the handing over of
 * each answer between threads (a wake-up of the waiting engine thread, a
 * cross-CPU interrupt on a virtual machine) costs more than the opens save.
 * With 64 locations of big files (the 100M-row benchmark) sizers made the
 * metadata-only queries 3-4 ms -> 6-13 ms at 2 threads. */
enum { SIZE_AHEAD_MIN_LOCATIONS = 512 };

/* Jobs a sizer takes at once: their files are opened in one stretch
 * without the lock, and answered in one stretch under it (a location's
 * open is ~10 us: taking the lock, and waking whoever waits for it, once a
 * location cost as much). */
enum { SIZE_BATCH = 32 };

/* Under the lock: whether loc's files are still to be opened and may be
 * opened by a sizer (the table's schema known: a first file's is taken
 * under the lock). */
static bool to_open(const td_file_backend *fb, const fb_location *loc) {
  return !loc->opened && !loc->failure && !loc->removed && fb->schema_source;
}

/* Under the lock: whether a sizer may open loc's files without it now. */
static bool may_open_ahead(const td_file_backend *fb, const fb_location *loc) {
  return loc && to_open(fb, loc) && !loc->opening && loc->n_files > 0;
}

static void *sizer_main(void *arg) {
  fb_sizer *me = arg;
  td_file_backend *fb = me->fb;
  fb_size_job jobs[SIZE_BATCH];
  fb_location *mine[SIZE_BATCH];
  pthread_mutex_lock(&fb->lock);
  while (fb->next_job < fb->n_jobs) {
    int n = 0;
    for (; n < SIZE_BATCH && fb->next_job < fb->n_jobs; n++) {
      jobs[n] = fb->jobs[fb->next_job++];
      fb_location *loc = td_key_index_get(&fb->index, jobs[n].key);
      mine[n] = may_open_ahead(fb, loc) ? loc : NULL;
      if (mine[n]) mine[n]->opening = true;
    }
    if (fb->next_job == fb->n_jobs) fb->next_job = fb->n_jobs = 0;
    /* the locations marked are this sizer's: their file lists stay as they
     * are (fb_location_settle), each file's `ahead` is written by it alone */
    pthread_mutex_unlock(&fb->lock);
    int64_t closed = 0;
    for (int k = 0; k < n; k++)
      for (int64_t i = 0; mine[k] && i < mine[k]->n_files; i++) {
        fb_file *f = mine[k]->files[i];
        td_error e;
        if (!f->reader && !f->ahead) (void)open_checked(fb, f, &f->ahead, &closed, &e);
      }
    pthread_mutex_lock(&fb->lock);
    fb->closed_bytes += closed;
    for (int k = 0; k < n; k++)
      if (mine[k]) mine[k]->opening = false;
    pthread_cond_broadcast(&fb->opened);
    for (int k = 0; k < n; k++) {
      answer_size(fb, NULL, jobs[k].key, jobs[k].req);
      td_location_key_release(jobs[k].key);
    }
    fb->sized_ahead += n;
  }
  me->running = false;
  fb->sizers_running--;
  pthread_cond_broadcast(&fb->opened);
  pthread_mutex_unlock(&fb->lock);
  return NULL;
}

/* Under the lock: starts one more sizer when the queue has more jobs than
 * the running ones are likely to finish soon; false when none runs and none
 * could start (the caller then answers in the call). */
static bool sizer_start(td_file_backend *fb) {
  const int64_t queued = fb->n_jobs - fb->next_job;
  if (fb->sizers_running > 0 &&
      (fb->sizers_running >= fb->threads || queued <= SIZE_BATCH * (int64_t)fb->sizers_running))
    return true;
  if (!fb->sizers && !(fb->sizers = td_calloc((size_t)fb->threads, sizeof *fb->sizers))) return fb->sizers_running > 0;
  for (int i = 0; i < fb->threads; i++) {
    fb_sizer *z = &fb->sizers[i];
    if (z->running) continue;
    if (z->started) pthread_join(z->thread, NULL); /* it has stopped: it let go of the lock last */
    z->fb = fb;
    z->started = z->running = td_thread_start(&z->thread, sizer_main, z) == 0;
    if (z->running) fb->sizers_running++;
    break;
  }
  return fb->sizers_running > 0;
}

/* Under the lock: queues the size request of `loc` for the sizers; false
 * when it is answered in the call instead. */
static bool size_later(td_file_backend *fb, fb_location *loc, td_request req) {
  if (fb->watching || fb->threads < 2 || fb->n_locs < SIZE_AHEAD_MIN_LOCATIONS || !to_open(fb, loc)) return false;
  if (fb->n_jobs == fb->cap_jobs) {
    int64_t cap = fb->cap_jobs ? 2 * fb->cap_jobs : 64;
    fb_size_job *j = td_realloc(fb->jobs, (size_t)cap * sizeof *j);
    if (!j) return false;
    fb->jobs = j;
    fb->cap_jobs = cap;
  }
  fb->jobs[fb->n_jobs++] = (fb_size_job){td_location_key_retain(loc->key), req};
  if (sizer_start(fb)) return true;
  td_location_key_release(fb->jobs[--fb->n_jobs].key);
  return false;
}

/* Waits for the sizers to drain the queue and stop, and joins them. */
static void sizers_stop(td_file_backend *fb) {
  pthread_mutex_lock(&fb->lock);
  while (fb->sizers_running > 0) pthread_cond_wait(&fb->opened, &fb->lock);
  pthread_mutex_unlock(&fb->lock);
  for (int i = 0; fb->sizers && i < fb->threads; i++)
    if (fb->sizers[i].started) pthread_join(fb->sizers[i].thread, NULL);
  td_free(fb->sizers);
  td_free(fb->jobs);
}

static void f_location_size(void *self, const td_table_key *tk, const td_location_key *lk, td_request req) {
  td_file_backend *fb = self;
  char why[TD_ERROR_MESSAGE_SIZE];
  fb_location *loc = NULL;
  pthread_mutex_lock(&fb->lock);
  if (!lookup_table(fb, tk, why, sizeof why)) td_answer_failure(req, why, NULL);
  else if (!((loc = td_key_index_get(&fb->index, lk)) && size_later(fb, loc, req))) answer_size(fb, tk, lk, req);
  pthread_mutex_unlock(&fb->lock);
}

/* One file's share of a read. */
typedef struct fb_piece {
  td_file_reader *reader;
  int64_t col, offset, n;
} fb_piece;

/* Under the lock: splits rows [offset, offset + n) over the files. */
static int plan_read(const fb_location *loc, int64_t col, int64_t offset, int64_t min_rows, int64_t n,
                     fb_piece **pieces, int64_t *n_pieces) {
  fb_piece *p = td_calloc((size_t)(loc->n_files ? loc->n_files : 1), sizeof *p);
  if (!p) return TD_ENOMEM;
  int64_t start = 0, k = 0, want = n;
  for (int64_t i = 0; i < loc->n_files && n > 0; i++) {
    const fb_file *f = loc->files[i];
    int64_t end = start + f->rows;
    if (offset < end) {
      int64_t from = offset - start, take = end - offset < n ? end - offset : n;
      p[k++] = (fb_piece){f->reader, f->colmap[col], from, take};
      offset += take;
      n -= take;
      if (want - n >= min_rows) break; /* enough: stop at a file boundary */
    }
    start = end;
  }
  *pieces = p;
  *n_pieces = k;
  return TD_OK;
}

static int read_pieces(td_type_id type, const fb_piece *p, int64_t n, struct ArrowArray *out, td_error *err) {
  if (n == 1) return td_reader_read_codes(p[0].reader, p[0].col, p[0].offset, p[0].n, out, err);
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) total += p[i].n;
  td_array a;
  int rc = td_array_init(&a, type, total, err);
  for (int64_t i = 0; rc == TD_OK && i < n; i++) {
    struct ArrowArray part = {0};
    td_colview v;
    rc = td_reader_read(p[i].reader, p[i].col, p[i].offset, p[i].n, &part, err);
    if (!rc) rc = td_colview_init(&v, type, &part, err);
    if (!rc) rc = td_array_append_view(&a, &v, 0, p[i].n, err);
    td_arrow_array_release(&part);
  }
  if (!rc) rc = td_array_export(&a, out, err);
  td_array_reset(&a);
  return rc;
}

/* A dictionary-encoded utf8 answer: the field `sch` (exported utf8) becomes
 * int32 indices with a utf8 dictionary schema.  False on allocation failure
 * (sch is then released). */
typedef struct dict_schema_priv {
  struct ArrowSchema values;
  void (*release)(struct ArrowSchema *);
  void *private_data;
} dict_schema_priv;

static void dict_schema_release(struct ArrowSchema *s) {
  dict_schema_priv *p = s->private_data;
  s->dictionary = NULL;
  s->format = "u";
  s->private_data = p->private_data;
  s->release = p->release;
  s->release(s);
  td_free(p);
}

static bool dict_schema(struct ArrowSchema *sch) {
  dict_schema_priv *p = td_calloc(1, sizeof *p);
  if (!p) {
    td_arrow_schema_release(sch);
    return false;
  }
  p->values.format = "u";
  p->values.name = "";
  p->release = sch->release;
  p->private_data = sch->private_data;
  sch->format = "i";
  sch->dictionary = &p->values;
  sch->private_data = p;
  sch->release = dict_schema_release;
  return true;
}

static void f_column_values(void *self, const td_table_key *tk, const td_location_key *lk, const char *column,
                            int64_t offset, int64_t min_rows, int64_t max_rows, td_request req) {
  td_file_backend *fb = self;
  char why[TD_ERROR_MESSAGE_SIZE + 256];
  fb_location *loc = NULL;
  fb_piece *pieces = NULL;
  int64_t n_pieces = 0, col = -1;
  pthread_mutex_lock(&fb->lock);
  bool ok = lookup(fb, tk, lk, &loc, why, sizeof why);
  if (ok && (col = td_schema_find(&fb->data, column)) < 0) {
    const char *reason = unsupported_reason(fb->unsup, fb->n_unsup, column);
    ok = false;
    if (reason) snprintf(why, sizeof why, "column '%s' of %s is not supported: %s", column, fb->schema_source, reason);
    else snprintf(why, sizeof why, "table '%s' has no column '%s'", fb->name, column);
  }
  if (ok && (offset < 0 || min_rows < 0 || max_rows < min_rows || offset > loc->size - min_rows)) {
    ok = false;
    snprintf(why, sizeof why, "rows [%lld, %lld) of column '%s' are beyond the location's %lld rows",
             (long long)offset, (long long)(offset + min_rows), column, (long long)loc->size);
  }
  if (ok) {
    int64_t n = loc->size - offset < max_rows ? loc->size - offset : max_rows;
    if (plan_read(loc, col, offset, min_rows, n, &pieces, &n_pieces) != TD_OK) {
      ok = false;
      snprintf(why, sizeof why, "out of memory planning a read");
    }
  }
  pthread_mutex_unlock(&fb->lock);
  struct ArrowSchema sch = {0};
  struct ArrowArray arr = {0};
  td_error e;
  if (ok) {
    td_type_id type = fb->data.fields[col].type;
    td_field layout = fb->data.fields[col];
    layout.type = td_type_small(type); /* readers build large strings with 32-bit offsets */
    int rc = td_field_export(&layout, &sch, &e);
    if (!rc && n_pieces == 0) {
      td_array a;
      rc = td_array_init(&a, type, 0, &e);
      if (!rc) rc = td_array_export(&a, &arr, &e);
      td_array_reset(&a);
    } else if (!rc) {
      rc = read_pieces(type, pieces, n_pieces, &arr, &e);
    }
    if (rc) {
      ok = false;
      snprintf(why, sizeof why, "%s", e.message);
    }
  }
  td_free(pieces);
  if (ok && arr.dictionary && (ok = dict_schema(&sch)) == false) {
    td_arrow_array_release(&arr);
    snprintf(why, sizeof why, "out of memory answering column '%s'", column);
  }
  if (ok) td_answer_values(req, &sch, &arr, NULL);
  else {
    td_arrow_schema_release(&sch);
    td_arrow_array_release(&arr);
    td_answer_failure(req, why, NULL);
  }
}

/* Folds the statistics of rows [from, from + n) of one file into [*mn, *mx]
 * and *no_nan (whether they hold no NaN); false unless min/max statistics
 * cover every one of those rows. */
static bool piece_range(const fb_piece *p, bool first, td_value *mn, td_value *mx, bool *no_nan) {
  int64_t n_stats = 0;
  const td_chunk_stats *st =
      p->reader->vt->column_stats ? p->reader->vt->column_stats(p->reader, p->col, &n_stats) : NULL;
  int64_t covered = 0, lo = p->offset, hi = p->offset + p->n;
  for (int64_t i = 0; st && i < n_stats; i++) {
    int64_t b = st[i].row_begin, e = st[i].row_begin + st[i].row_count;
    if (e <= lo || b >= hi) continue;
    if (!st[i].has_min_max) return false;
    if (first || td_value_compare(&st[i].min, mn) < 0) *mn = st[i].min;
    if (first || td_value_compare(&st[i].max, mx) > 0) *mx = st[i].max;
    *no_nan &= st[i].no_nan;
    first = false;
    covered += (e < hi ? e : hi) - (b > lo ? b : lo);
  }
  return st && covered == p->n;
}

/* The statistics of rows [offset, offset + n) of a location's column:
 * column_range's bounds and column_no_nan's answer. */
static bool column_stats_range(td_file_backend *fb, const td_table_key *tk, const td_location_key *lk,
                               const char *column, int64_t offset, int64_t n, td_value *mn, td_value *mx,
                               bool *no_nan) {
  char why[TD_ERROR_MESSAGE_SIZE + 256];
  fb_location *loc = NULL;
  fb_piece *pieces = NULL;
  int64_t n_pieces = 0, col;
  bool known = false;
  *no_nan = true;
  pthread_mutex_lock(&fb->lock);
  if (lookup(fb, tk, lk, &loc, why, sizeof why) && (col = td_schema_find(&fb->data, column)) >= 0 && offset >= 0 &&
      n > 0 && offset <= loc->size - n && plan_read(loc, col, offset, n, n, &pieces, &n_pieces) == TD_OK) {
    known = n_pieces > 0;
    for (int64_t i = 0; known && i < n_pieces; i++) known = piece_range(&pieces[i], i == 0, mn, mx, no_nan);
  }
  pthread_mutex_unlock(&fb->lock);
  td_free(pieces);
  return known;
}

static bool f_column_range(void *self, const td_table_key *tk, const td_location_key *lk, const char *column,
                           int64_t offset, int64_t n, td_value *mn, td_value *mx) {
  bool no_nan;
  return column_stats_range(self, tk, lk, column, offset, n, mn, mx, &no_nan);
}

static bool f_column_no_nan(void *self, const td_table_key *tk, const td_location_key *lk, const char *column,
                            int64_t offset, int64_t n) {
  td_value mn, mx;
  bool no_nan;
  return column_stats_range(self, tk, lk, column, offset, n, &mn, &mx, &no_nan) && no_nan;
}

static void f_subscribe_locations(void *self, const td_table_key *tk, td_request sub) {
  td_file_backend *fb = self;
  char why[TD_ERROR_MESSAGE_SIZE];
  td_error e;
  pthread_mutex_lock(&fb->watch_lock);
  bool ok = lookup(fb, tk, NULL, NULL, why, sizeof why);
  if (ok && fb_watch_start(fb, &e) != TD_OK) {
    ok = false;
    snprintf(why, sizeof why, "%s", e.message);
  }
  pthread_mutex_lock(&fb->lock);
  if (ok && fb_subs_add(fb, &fb->loc_subs, sub) != TD_OK) {
    ok = false;
    snprintf(why, sizeof why, "out of memory subscribing");
  }
  if (ok) {
    for (int64_t i = 0; i < fb->n_locs; i++)
      if (!fb->locs[i]->removed) td_answer_location(sub, fb->locs[i]->key, NULL);
    td_answer_success(sub, NULL);
  } else {
    td_answer_failure(sub, why, NULL);
  }
  pthread_mutex_unlock(&fb->lock);
  if (!ok) fb_watch_stop(fb, false);
  pthread_mutex_unlock(&fb->watch_lock);
}

static void f_subscribe_size(void *self, const td_table_key *tk, const td_location_key *lk, td_request sub) {
  td_file_backend *fb = self;
  char why[TD_ERROR_MESSAGE_SIZE];
  td_error e;
  fb_location *loc = NULL;
  pthread_mutex_lock(&fb->watch_lock);
  bool ok = fb_watch_start(fb, &e) == TD_OK;
  if (!ok) snprintf(why, sizeof why, "%s", e.message);
  pthread_mutex_lock(&fb->lock);
  if (ok) ok = lookup(fb, tk, lk, &loc, why, sizeof why);
  if (ok && fb_subs_add(fb, &loc->size_subs, sub) != TD_OK) {
    ok = false;
    snprintf(why, sizeof why, "out of memory subscribing");
  }
  if (ok) {
    td_answer_size(sub, loc->size, NULL);
    td_answer_success(sub, NULL);
  } else {
    td_answer_failure(sub, why, NULL);
  }
  pthread_mutex_unlock(&fb->lock);
  if (!ok) fb_watch_stop(fb, false);
  pthread_mutex_unlock(&fb->watch_lock);
}

static void f_unsubscribe(void *self, td_request sub) {
  td_file_backend *fb = self;
  pthread_mutex_lock(&fb->watch_lock);
  pthread_mutex_lock(&fb->lock);
  bool found = subs_remove(fb, &fb->loc_subs, sub);
  for (int64_t i = 0; i < fb->n_locs && !found; i++) found = subs_remove(fb, &fb->locs[i]->size_subs, sub);
  pthread_mutex_unlock(&fb->lock);
  fb_watch_stop(fb, false);
  pthread_mutex_unlock(&fb->watch_lock);
}

static void f_release(void *self) { td_file_backend_release(self); }

static const td_backend_vtable file_vtable = {
    .table_schema = f_table_schema,
    .table_locations = f_table_locations,
    .table_location_size = f_location_size,
    .column_values = f_column_values,
    .subscribe_to_table_locations = f_subscribe_locations,
    .subscribe_to_table_location_size = f_subscribe_size,
    .unsubscribe = f_unsubscribe,
    .release = f_release,
    .column_range = f_column_range,
    .column_no_nan = f_column_no_nan,
};

td_backend td_file_backend_backend(td_file_backend *fb) {
  td_backend_declare_exact_ranges(&file_vtable); /* Parquet statistics of integers and times */
  td_backend b = {&file_vtable, td_file_backend_retain(fb)};
  return b;
}

/* ---- introspection ---- */

size_t td_file_backend_unsupported(td_file_backend *fb, char *buf, size_t size) {
  size_t at = 0;
  if (size) buf[0] = '\0';
  for (int64_t i = 0; fb && i < fb->n_unsup; i++)
    at += (size_t)snprintf(at < size ? buf + at : NULL, at < size ? size - at : 0, "%s: %s\n", fb->unsup[i].name,
                           fb->unsup[i].reason);
  return at;
}

size_t td_file_backend_location_files(td_file_backend *fb, const td_location_key *key, char *buf, size_t size) {
  size_t at = 0;
  if (size) buf[0] = '\0';
  if (!fb || !key) return 0;
  pthread_mutex_lock(&fb->lock);
  fb_location *loc = td_key_index_get(&fb->index, key);
  for (int64_t i = 0; loc && i < loc->n_files; i++)
    at += (size_t)snprintf(at < size ? buf + at : NULL, at < size ? size - at : 0, "%s%s", i ? "\n" : "",
                           loc->files[i]->path);
  pthread_mutex_unlock(&fb->lock);
  return at;
}
