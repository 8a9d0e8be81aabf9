/*
 * tabledata/file_backend.h - a directory of data files as a table.
 *
 * A file backend serves one table: a directory tree of hive-style
 * `name=value` directories holding Arrow IPC (file or stream), Parquet or
 * CSV files — or a single file.  Each partition directory is a location;
 * its data files are read as one, in name order, reading only the byte ranges
 * a request needs.  With a refreshing table the tree is watched (inotify):
 * new directories and files become locations or extend them (new files in
 * arrival order, wherever their names sort; writers' temporary files such as
 * tmp_*, *.tmp, _* and hidden files are ignored), growing Arrow
 * IPC stream and CSV files extend their location's size (complete record
 * batches and lines only), and a file that is truncated, replaced or removed
 * fails the subscriptions that depend on it.
 */
#ifndef TABLEDATA_FILE_BACKEND_H
#define TABLEDATA_FILE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tabledata/api.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/backend.h"
#include "tabledata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_file_backend td_file_backend;

typedef struct td_file_options {
  /* Declared data schema (a struct schema), or NULL to take it from the first
   * data file.  Borrowed for the call. */
  const struct ArrowSchema *schema;
  /* Declared types of partition columns (a struct schema naming some or all of
   * them), or NULL: partition values are utf8, as written in the directory
   * names.  Borrowed for the call. */
  const struct ArrowSchema *partition_schema;
  char csv_delimiter;      /* 0: ',' */
  int64_t csv_sample_rows; /* rows used to infer a CSV schema; 0: 1000; -1: the whole file */
  /* Partition columns not in partition_schema: TD_PARTITION_TYPES_AUTO
   * infers int64 / timestamp from all the values (as DuckDB's
   * hive_types_autocast); TD_PARTITION_TYPES_NONE keeps utf8. */
  int partition_types;
  char csv_quote;       /* 0: '"' */
  const char *csv_null; /* a CSV field equal to this (unquoted) is null, besides the empty field; NULL: none.
                         * Borrowed for the call. */
  /* TD_FILE_FORMAT_AUTO (0): a file's format follows its extension, and
   * files of other extensions are not data files.  TD_FILE_FORMAT_PARQUET,
   * _CSV or _IPC: every file under the path (or matching its glob) that is
   * not hidden (.x, _x, tmp_x, x.tmp) is read as that format, whatever its
   * name (read_csv('data/x.tsv')). */
  int format;
  /* Threads that list directories when the tree is walked (the
   * subdirectories of one directory at once: a tree of 10,000 partition
   * directories) and, on a tree that is not watched, open the files of the
   * locations whose sizes a table asks for (at least 512 locations; the
   * answers come from those threads): 0, the default, one per online core;
   * 1 does both one after another in the calling thread.  From 0 to 64
   * (TD_EINVAL otherwise). */
  int threads;
} td_file_options;

#define TD_FILE_FORMAT_AUTO 0
#define TD_FILE_FORMAT_PARQUET 1
#define TD_FILE_FORMAT_CSV 2
#define TD_FILE_FORMAT_IPC 3

#define TD_PARTITION_TYPES_AUTO 0
#define TD_PARTITION_TYPES_NONE 1

/* Fills `opts` with the defaults (no declared schemas, inferred partition
 * types, ',' and '"', 1000 sample rows); set fields by name after it.  Never
 * fails. */
TD_API void td_file_options_init(td_file_options *opts);

/* Discovers the tree under `path` (a directory, one data file, or a glob:
 * components after the first directories may hold `*`, `?` and `[...]`, and
 * a `**` component matches any number of directories; only data files whose
 * paths match are read): partition
 * columns (the same names in the same order everywhere, else TD_EFORMAT
 * naming the offending path), locations, and the schema.
 * Errors: TD_EIO (no such path), TD_EFORMAT, TD_EUNSUPPORTED, TD_ENOMEM. */
TD_API int td_file_backend_new(const char *path, const td_file_options *opts, td_file_backend **out,
                               td_error *err);
/* True for the FROM sources td_file_backend_open_source opens: the text of
 * a call of read_parquet, parquet_scan, read_csv, read_csv_auto, read_ipc,
 * read_arrow or read_feather (as the query parser hands it to a resolver). */
TD_API bool td_file_is_source(const char *source);
/* Opens a file table function source, name('path or glob', option =>
 * 'value', ...) in the parser's canonical text: a file backend over the
 * path (as td_file_backend_new) with `base`'s options (NULL: the defaults),
 * every file read as the function's format (read_csv('x.tsv')), and the
 * DuckDB options: hive_partitioning (true; false is TD_EUNSUPPORTED),
 * hive_types_autocast (true/false: partition_types), and for the CSV
 * functions delim/sep/delimiter (one character or '\t'), quote,
 * nullstr/null, sample_size (rows, -1: the whole file), header and
 * auto_detect (true; false is TD_EUNSUPPORTED).  union_by_name and filename
 * are TD_EUNSUPPORTED unless false.  Errors: those of td_file_backend_new;
 * TD_EINVAL for malformed text, an unknown option or a bad value (the
 * message names them). */
TD_API int td_file_backend_open_source(const char *source, const td_file_options *base, td_file_backend **out,
                                       td_error *err);
TD_API td_file_backend *td_file_backend_retain(td_file_backend *fb);
TD_API void td_file_backend_release(td_file_backend *fb); /* NULL is fine */
/* The backend handle for td_service_new (holds a new reference). */
TD_API td_backend td_file_backend_backend(td_file_backend *fb);
/* The name of the one table the backend serves (the path as given). */
TD_API const char *td_file_backend_table_name(const td_file_backend *fb);
/* Bytes read from data files so far (all reads are counted). */
TD_API int64_t td_file_backend_bytes_read(td_file_backend *fb);
/* Columns of the first data file that cannot be read, as "name: reason\n"
 * lines.  Like snprintf: always NUL-terminates, returns the length wanted. */
TD_API size_t td_file_backend_unsupported(td_file_backend *fb, char *buf, size_t size);
/* The data files of a location, in read order, one path per line.  Like
 * snprintf. */
TD_API size_t td_file_backend_location_files(td_file_backend *fb, const td_location_key *key, char *buf,
                                             size_t size);

#ifdef __cplusplus
}
#endif

#endif
