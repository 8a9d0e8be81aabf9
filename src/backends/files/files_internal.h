/*
 * backends/files/files_internal.h - the file backend's state, shared by its
 * sources: discovery and directory syncing (discover.c), partition values
 * (partition.c), opening and reading files and the backend methods
 * (files.c), and the inotify watcher (watch.c).
 *
 * Locking: `watch_lock` serializes starting and stopping the watcher and is
 * taken before `lock`; `lock` guards everything else (locations, files,
 * subscriptions, reader row counts and refreshes).  Readers are never closed
 * before the backend is freed, so column reads run outside the lock on
 * reader pointers taken under it.  Answers are sent under `lock` (they never
 * call back into the backend), so subscribers see changes in order.
 *
 * The one exception: a sizer (static trees, files.c) opens the files of a
 * location whose size was asked without the lock, the location marked
 * `opening` meanwhile; whatever would open, list or drop its files first
 * waits (`opened`, fb_location_settle) until the readers are handed back.
 */
#ifndef TD_BACKENDS_FILES_INTERNAL_H
#define TD_BACKENDS_FILES_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arrow/schema.h"
#include "backend/request_list.h"
#include "formats/reader.h"
#include "keys/key_index.h"
#include "tabledata/file_backend.h"

typedef enum fb_format { FB_NONE = 0, FB_PARQUET, FB_IPC, FB_CSV } fb_format;

typedef struct fb_file {
  char *name; /* base name: files of a location are read in name order */
  char *path; /* full path */
  fb_format fmt;
  td_file_reader *reader; /* NULL until opened */
  td_file_reader *ahead;  /* opened by a sizer without the lock, not yet checked and adopted (fb_file_open) */
  int64_t *colmap;        /* table data column -> reader column */
  int64_t *partmap;       /* partition column -> reader column (-1: not in the file); NULL: none */
  bool pending;           /* watched: could not be opened yet (being written) */
  bool waits_close;       /* pending because its writer has it open: tried again when closed */
  int64_t rows;           /* complete rows counted so far */
  int64_t fsize;          /* file size at the last look */
  uint64_t inode;
  int64_t mtime_ns, ctime_ns; /* at the last look */
  /* Checksums of the first and the last FB_SUM_BYTES of the file's first
   * sum_size bytes (has_sum once taken): a file rewritten in place keeps its
   * inode and perhaps its size, but not these. */
  bool has_sum;
  int64_t sum_size;
  uint64_t head_sum, tail_sum;
} fb_file;

#define FB_SUM_BYTES 4096

typedef td_request_list fb_subs; /* counted in td_file_backend.n_subs */

typedef struct fb_location {
  td_location_key *key;
  char *rel; /* directory relative to the root ("" for the root itself) */
  char *dir; /* full directory path */
  fb_file **files;
  int64_t n_files, cap_files;
  bool opened;   /* every file opened and checked; `size` is valid */
  bool opening;  /* a sizer is opening its files without the lock (fb_location_settle waits) */
  char *failure; /* set once the location failed (sticky) */
  int64_t size;
  bool listed; /* its directory was just listed: the next size answer needs no new listing */
  fb_subs size_subs;
  uint64_t dev, ino; /* the directory's identity */
  /* Removed (its directory has no data file any more): unlisted, answered
   * as absent, and told to location subscribers as a removal.  Data files
   * appearing again revive it as a new location (the engine sees the key
   * added again).  Its old files stay open in `dead` (column reads run
   * outside the lock on reader pointers) until the backend is freed. */
  bool removed;
  fb_file **dead;
  int64_t n_dead;
} fb_location;

typedef struct fb_watch {
  int wd;
  char *rel;
} fb_watch;

/* One directory entry of interest: a data file or a subdirectory. */
typedef struct fb_entry {
  char *name;
  bool is_dir;
  fb_format fmt;
  uint64_t inode, dev;
  int64_t size;
  int64_t mtime_ns, ctime_ns;
} fb_entry;

typedef struct fb_listing {
  fb_entry *e;
  int64_t n, cap;
} fb_listing;

/* Directory identities (device, inode) seen by one walk: each directory is
 * visited once, however many names (symlinks) lead to it. */
typedef struct fb_idset {
  uint64_t (*k)[2];
  int64_t n, cap; /* open addressing; cap a power of two */
} fb_idset;

/* Locations by their directory (`rel`), hashed. */
typedef struct fb_relmap {
  struct fb_location **slots;
  int64_t n, cap;
} fb_relmap;

struct td_file_backend {
  _Atomic int64_t refs;
  pthread_mutex_t lock;
  pthread_mutex_t watch_lock;
  char *name;        /* the table name: the path as given */
  char *root;        /* the directory (the parent directory of a single file) */
  char *single_name; /* base name of the file when the path is one data file */
  fb_format forced;   /* td_file_options.format: every file is read as this (FB_NONE: by extension) */
  char *root_parts;  /* name=value components of the root path itself ("" none) */
  char *glob;        /* pattern data files' paths under the root must match, or NULL */
  bool infer_parts;  /* partition types inferred (hive_types_autocast) */
  bool discovering;  /* the first walk: partition types not inferred yet */
  bool walked;       /* the tree was just walked (creation): the first locations answer needs no new walk */
  char csv_quote;
  char *csv_null;
  char csv_delimiter;
  int64_t csv_sample_rows;
  bool has_decl;
  td_schema decl;      /* declared data schema */
  td_schema part_decl; /* declared partition types */
  td_schema part;      /* partition columns (fixed after discovery) */
  td_schema data;      /* data columns (fixed after discovery) */
  td_schema file_schema; /* the first file's columns, stored partition columns included */
  char *schema_source; /* the first file's path, or "the declared schema" */
  td_unsupported_column *unsup; /* the first file's unsupported columns */
  int64_t n_unsup;
  bool parts_known;
  char *parts_source; /* the directory that fixed the partition names */
  fb_location **locs;
  int64_t n_locs, cap_locs;
  fb_relmap rels;
  td_key_index index;
  fb_subs loc_subs;
  int64_t n_subs; /* all live subscriptions */
  /* the watcher */
  bool watching;
  pthread_t thread;
  int ino_fd, wake_fd;
  fb_watch *watches; /* indexed by watch descriptor (rel NULL: none) */
  int64_t cap_watches;
  /* Files written to (IN_MODIFY) and not closed by their writer
   * yet (IN_CLOSE_WRITE), as full paths: a Parquet or Arrow IPC file among
   * them is not opened (watch.c, fb_is_being_written). */
  char **writing;
  int64_t n_writing, cap_writing;
  int64_t closed_bytes;
  int threads; /* td_file_options.threads resolved (>= 1): threads that list a directory's subdirectories
                  and size locations */
  /* Sizing on helper threads (static trees, files.c): size requests of
   * locations not opened yet, queued [next_job, n_jobs); up to `threads`
   * sizers take them; `opened` is signalled when a location's opening ends
   * and when a sizer stops. */
  struct fb_size_job *jobs;
  int64_t n_jobs, cap_jobs, next_job;
  struct fb_sizer *sizers; /* `threads` slots */
  int sizers_running;
  int64_t sized_ahead; /* size requests the sizers answered (tests) */
  pthread_cond_t opened;
};

/* Under the lock: waits until no sizer is opening loc's files. */
void fb_location_settle(td_file_backend *fb, fb_location *loc);

/* ---- watch.c ---- */
/* Whether the watcher saw `path` written to and not closed since (only
 * while watching; under fb->lock). */
bool fb_is_being_written(const td_file_backend *fb, const char *path);

/* ---- discover.c ---- */
/* Format of a file name: the backend's forced format (td_file_options
 * .format) for every file that is not hidden, else by extension; FB_NONE
 * for hidden files and unknown extensions. */
fb_format fb_format_of(const td_file_backend *fb, const char *name);
bool fb_hidden(const char *name);
/* Lists `dir`: data files and subdirectories, sorted by name.  A missing
 * directory lists as empty. */
int fb_list(td_file_backend *fb, const char *dir, fb_listing *out, td_error *err);
/* Tests: called with a directory fb_list has opened, before it reads it. */
extern void (*fb__list_hook)(const char *dir);
void fb_listing_reset(fb_listing *l);
/* Under the lock: brings the tree (or the directory `rel`) up to date.
 * `deep`: look into every subdirectory, not only new ones.  A directory
 * reached again (symlink loops, two names for one directory) is skipped. */
int fb_sync_tree(td_file_backend *fb, bool deep, td_error *err);
int fb_sync_dir(td_file_backend *fb, const char *rel, bool deep, td_error *err);
/* Under the lock: (re)takes the checksums of f's first `size` bytes.  False
 * when the file cannot be read. */
bool fb_file_checksum(fb_file *f, int64_t size, uint64_t *head, uint64_t *tail);
/* Under the lock: updates one location from a listing of its directory. */
void fb_sync_location(td_file_backend *fb, fb_location *loc);
char *fb_join(const char *a, const char *b);
void fb_locations_free(td_file_backend *fb);

/* ---- partition.c ---- */
/* Builds the key of the location at `rel` (components name=value).  Fixes
 * the partition columns on first use; checks them afterwards. */
int fb_location_key(td_file_backend *fb, const char *rel, td_location_key **out, td_error *err);
/* Parses `text` as a value of `f`'s type (strings borrow `text`). */
int fb_parse_value(const td_field *f, const char *text, td_value *out, td_error *err);
int fb_parse_timestamp(const char *s, int64_t *ns);
void fb_url_decode(char *s);
/* After discovery: gives undeclared partition columns the type all their
 * values agree on; *changed when a type is not utf8 any more. */
int fb_infer_partition_types(td_file_backend *fb, bool *changed, td_error *err);
/* Sets fb->root_parts from the directory path `dir`. */
int fb_root_parts(td_file_backend *fb, const char *dir, td_error *err);
/* True when `name` (a path relative to the root) matches the glob. */
bool fb_glob_match(const char *pat, const char *name);

/* ---- files.c ---- */
int fb_subs_add(td_file_backend *fb, fb_subs *s, td_request r);
/* Under the lock: fails a location (once): answers every size subscription. */
void fb_location_fail(td_file_backend *fb, fb_location *loc, const char *message);
/* Under the lock: fails every locations subscription. */
void fb_fail_location_subs(td_file_backend *fb, const char *message);
/* Under the lock: opens every file of the location and sets its size.
 * Errors other than TD_ENOMEM fail the location (for good). */
int fb_location_open(td_file_backend *fb, fb_location *loc, td_error *err);
/* Under the lock: recomputes the size and tells subscribers if it grew. */
void fb_location_resize(td_file_backend *fb, fb_location *loc);
int fb_file_open(td_file_backend *fb, fb_file *f, td_error *err);
/* Under the lock: opens a file of an opened location; a file that cannot be
 * opened yet while watched stays pending (0 rows).  Fails the location on a
 * schema mismatch, or when rows would move (rows appear before other rows);
 * TD_ENOMEM leaves the file to be tried again. */
int fb_file_admit(td_file_backend *fb, fb_location *loc, int64_t idx, td_error *err);
/* True when a file after `idx` holds rows. */
bool fb_rows_after(const fb_location *loc, int64_t idx);
void fb_file_free(td_file_backend *fb, fb_file *f);

/* ---- watch.c ---- */
/* With watch_lock held and lock not: starts the watcher (no-op if running). */
int fb_watch_start(td_file_backend *fb, td_error *err);
/* With watch_lock held and lock not: stops it if no subscription is left
 * (or always, with `force`). */
void fb_watch_stop(td_file_backend *fb, bool force);
/* Under the lock: watches directory `rel`; true when it was not watched. */
bool fb_watch_add(td_file_backend *fb, const char *rel);


#endif
