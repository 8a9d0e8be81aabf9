/*
 * query/copy.c - the COPY statement (query/copy.h):
 *
 *   COPY (SELECT ...) TO 'path' [(option [, ...])]
 *   COPY source TO 'path' [(option [, ...])]       -- SELECT * FROM source
 *   options: FORMAT parquet|csv|arrow|arrows, COMPRESSION snappy|zstd|uncompressed,
 *            PARTITION_BY (col [, ...]), OVERWRITE [bool],
 *            OVERWRITE_OR_IGNORE [bool], ROW_GROUP_SIZE n
 *
 * The query runs as a stream (td_query_stream) and each batch goes to a
 * sink: the Parquet writer, the CSV writer of formats/csv or the Arrow IPC
 * writer (the file format for .arrow/.feather/.ipc and FORMAT arrow, the
 * stream format for .arrows and FORMAT arrows).  Output is written under a temporary name next to the
 * target and renamed at the end, so a failure leaves nothing behind and
 * never a partial file.  With PARTITION_BY the target is a directory of
 * col=value/.../data_0.<ext> files (values URL-encoded as DuckDB does,
 * nulls as __HIVE_DEFAULT_PARTITION__, partition columns not stored).
 */
#include "query/copy.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "formats/csv/csv_write.h"
#include "formats/ipc/ipc_writer.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/writer.h"
#include "query/lex.h"
#include "query/stmts.h"
#include "query/strbuf.h"
#include "util/alloc.h"
#include "util/error.h"

/* FMT_ARROW: the Arrow IPC file format (magic, footer); FMT_ARROWS: the
 * IPC stream format. */
enum { FMT_CSV, FMT_PARQUET, FMT_ARROW, FMT_ARROWS };
static const char *const FMT_EXT[] = {"csv", "parquet", "arrow", "arrows"};

typedef struct copy_stmt {
  char *inner;      /* the query to run */
  int64_t shift;    /* offset of inner's text in the statement */
  char *path;
  int format;       /* -1: from the extension */
  int codec;
  int64_t row_group_size;
  char **part;      /* PARTITION_BY columns */
  int64_t n_part;
  bool overwrite, overwrite_or_ignore;
} copy_stmt;

static void stmt_free(copy_stmt *c) {
  td_free(c->inner);
  td_free(c->path);
  for (int64_t i = 0; i < c->n_part; i++) td_free(c->part[i]);
  td_free(c->part);
}

bool td__is_copy(const char *sql) {
  if (!sql) return false;
  td_parser p;
  td__parser_init(&p, sql, strlen(sql), NULL);
  return td__is_kw(&p, "COPY");
}

/* ---- parsing ---- */

static int bad_value(td_parser *p, const char *option, const char *expected) {
  char what[160];
  snprintf(what, sizeof what, "%s after %s", expected, option);
  return td__expected(p, what);
}

/* An identifier or string option value, lower-cased into buf. */
static int word_value(td_parser *p, char *buf, size_t size) {
  if (p->tok.kind != TK_IDENT && p->tok.kind != TK_STRING) return -1;
  char *s = NULL;
  int rc = td__token_string(p, &s, NULL);
  if (rc) return rc;
  snprintf(buf, size, "%s", s);
  for (char *q = buf; *q; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
  td_free(s);
  td__next(p);
  return TD_OK;
}

static int parse_bool_opt(td_parser *p, bool *out) {
  *out = true;
  if (p->tok.kind == TK_COMMA || p->tok.kind == TK_RPAREN) return TD_OK;
  char v[16];
  if (p->tok.kind == TK_INT && p->tok.len == 1 && (p->tok.text[0] == '0' || p->tok.text[0] == '1')) {
    *out = p->tok.text[0] == '1';
    td__next(p);
    return TD_OK;
  }
  int rc = word_value(p, v, sizeof v);
  if (rc == TD_OK && (!strcmp(v, "true") || !strcmp(v, "false"))) {
    *out = v[0] == 't';
    return TD_OK;
  }
  return rc > 0 ? rc : td__expected(p, "true or false");
}

static int parse_partition(td_parser *p, copy_stmt *c) {
  bool paren = p->tok.kind == TK_LPAREN;
  if (paren) td__next(p);
  do {
    if (c->n_part && p->tok.kind == TK_COMMA) td__next(p);
    if (p->tok.kind != TK_IDENT && p->tok.kind != TK_QIDENT) return td__expected(p, "a column name in PARTITION_BY");
    char **np = td_realloc(c->part, (size_t)(c->n_part + 1) * sizeof *np);
    if (!np) return td_err_nomem(p->err, "parsing COPY");
    c->part = np;
    int rc = td__token_string(p, &c->part[c->n_part], NULL);
    if (rc) return rc;
    c->n_part++;
    td__next(p);
  } while (paren && p->tok.kind == TK_COMMA);
  if (paren) {
    if (p->tok.kind != TK_RPAREN) return td__expected(p, "',' or ')' in PARTITION_BY");
    td__next(p);
  }
  return TD_OK;
}

static int parse_option(td_parser *p, copy_stmt *c) {
  if (p->tok.kind != TK_IDENT) return td__expected(p, "a COPY option");
  char name[64];
  snprintf(name, sizeof name, "%.*s", (int)(p->tok.len < 63 ? p->tok.len : 63), p->tok.text);
  int64_t pos = p->tok.pos;
  td__next(p);
  char v[32];
  if (!strcasecmp(name, "FORMAT")) {
    int rc = word_value(p, v, sizeof v);
    if (rc > 0) return rc;
    if (!rc && !strcmp(v, "parquet")) c->format = FMT_PARQUET;
    else if (!rc && !strcmp(v, "csv")) c->format = FMT_CSV;
    else if (!rc && (!strcmp(v, "arrow") || !strcmp(v, "ipc") || !strcmp(v, "feather"))) c->format = FMT_ARROW;
    else if (!rc && (!strcmp(v, "arrows") || !strcmp(v, "arrow_stream"))) c->format = FMT_ARROWS;
    else return bad_value(p, "FORMAT", "parquet, csv, arrow (IPC file) or arrows (IPC stream)");
    return TD_OK;
  }
  if (!strcasecmp(name, "COMPRESSION") || !strcasecmp(name, "CODEC")) {
    int rc = word_value(p, v, sizeof v);
    if (rc > 0) return rc;
    if (!rc && !strcmp(v, "snappy")) c->codec = PQ_CODEC_SNAPPY;
    else if (!rc && !strcmp(v, "zstd")) c->codec = PQ_CODEC_ZSTD;
    else if (!rc && (!strcmp(v, "uncompressed") || !strcmp(v, "none"))) c->codec = PQ_CODEC_UNCOMPRESSED;
    else return bad_value(p, "COMPRESSION", "snappy, zstd or uncompressed");
    return TD_OK;
  }
  if (!strcasecmp(name, "PARTITION_BY")) return parse_partition(p, c);
  if (!strcasecmp(name, "OVERWRITE")) return parse_bool_opt(p, &c->overwrite);
  if (!strcasecmp(name, "OVERWRITE_OR_IGNORE")) return parse_bool_opt(p, &c->overwrite_or_ignore);
  if (!strcasecmp(name, "ROW_GROUP_SIZE")) {
    if (p->tok.kind != TK_INT) return bad_value(p, "ROW_GROUP_SIZE", "a row count");
    if (!td__token_int(p, &c->row_group_size) || c->row_group_size < 1)
      return bad_value(p, "ROW_GROUP_SIZE", "a row count of 1 or more");
    td__next(p);
    return TD_OK;
  }
  return td_err_at(p->err, TD_EUNSUPPORTED, pos,
                   "COPY option %s is not supported at offset %lld (expected FORMAT, COMPRESSION, PARTITION_BY, "
                   "OVERWRITE, OVERWRITE_OR_IGNORE or ROW_GROUP_SIZE)",
                   name, (long long)pos);
}

static int parse_copy(const char *sql, copy_stmt *c, td_error *err) {
  memset(c, 0, sizeof *c);
  c->format = -1;
  c->codec = PQ_CODEC_SNAPPY;
  c->row_group_size = TD_PARQUET_ROW_GROUP_SIZE;
  td_parser p;
  td__parser_init(&p, sql, strlen(sql), err);
  td__next(&p); /* COPY */
  int64_t start, end;
  bool query = p.tok.kind == TK_LPAREN;
  if (query) {
    start = p.tok.pos + 1;
    int depth = 0;
    do {
      if (p.tok.kind == TK_LPAREN) depth++;
      if (p.tok.kind == TK_RPAREN) depth--;
      if (depth > 0) td__next(&p);
    } while (depth > 0 && p.tok.kind != TK_EOF && p.tok.kind != TK_ERROR);
    if (p.tok.kind != TK_RPAREN) return td__expected(&p, "')' closing COPY's query");
    end = p.tok.pos;
    td__next(&p);
  } else {
    start = p.tok.pos;
    int depth = 0;
    while (p.tok.kind != TK_EOF && p.tok.kind != TK_ERROR && !(depth == 0 && td__is_kw(&p, "TO"))) {
      depth += (p.tok.kind == TK_LPAREN) - (p.tok.kind == TK_RPAREN);
      td__next(&p);
    }
    end = p.tok.pos;
    if (end == start) return td__expected(&p, "a source or (SELECT ...) after COPY");
  }
  if (!td__accept_kw(&p, "TO")) return td__expected(&p, "TO");
  if (p.tok.kind != TK_STRING) return td__expected(&p, "a quoted target path after TO");
  int rc = td__token_string(&p, &c->path, NULL);
  if (rc) return rc;
  td__next(&p);
  if (p.tok.kind == TK_LPAREN) {
    td__next(&p);
    while (p.tok.kind != TK_RPAREN) {
      rc = parse_option(&p, c);
      if (rc) return rc;
      if (p.tok.kind == TK_COMMA) td__next(&p);
      else if (p.tok.kind != TK_RPAREN) return td__expected(&p, "',' or ')' after a COPY option");
    }
    td__next(&p);
  }
  if (p.tok.kind == TK_SEMI) td__next(&p);
  if (p.tok.kind != TK_EOF) return td__expected(&p, "(options) or end of statement");
  td_strbuf b = {.err = err};
  if (!query) td__sb_put(&b, "SELECT * FROM ");
  td__sb_putn(&b, sql + start, (size_t)(end - start));
  if (b.rc) {
    td_free(b.p);
    return b.rc;
  }
  c->inner = b.p;
  c->shift = query ? start : start - 14;
  if (c->format < 0) {
    const char *dot = strrchr(c->path, '.');
    const char *slash = strrchr(c->path, '/');
    c->format = FMT_CSV; /* DuckDB's default */
    if (dot && (!slash || dot > slash)) {
      if (!strcasecmp(dot, ".parquet") || !strcasecmp(dot, ".pq")) c->format = FMT_PARQUET;
      else if (!strcasecmp(dot, ".arrow") || !strcasecmp(dot, ".ipc") || !strcasecmp(dot, ".feather"))
        c->format = FMT_ARROW;
      else if (!strcasecmp(dot, ".arrows")) c->format = FMT_ARROWS;
    }
  }
  return TD_OK;
}

/* ---- sinks: one open output file ---- */

typedef struct sink {
  int format;
  int fd;
  FILE *csv;
  td_parquet_writer *pq;
  td_ipc_stream_writer *ipc;
} sink;

static int sink_open(sink *s, const copy_stmt *c, const char *path, const td_schema *schema,
                     const struct ArrowSchema *aschema, td_error *err) {
  memset(s, 0, sizeof *s);
  s->format = c->format;
  s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (s->fd < 0) return td_err(err, TD_EIO, "COPY: cannot create '%s': %s", path, strerror(errno));
  int rc = TD_OK;
  if (c->format == FMT_PARQUET) {
    td_parquet_write_options o;
    td_parquet_write_options_init(&o);
    o.codec = c->codec;
    o.row_group_size = c->row_group_size;
    rc = td_parquet_writer_open_with(s->fd, schema, &o, &s->pq, err);
  } else if (c->format == FMT_ARROW) {
    rc = td_ipc_file_writer_open(s->fd, schema, &s->ipc, err);
  } else if (c->format == FMT_ARROWS) {
    rc = td_ipc_stream_writer_open(s->fd, schema, &s->ipc, err);
  } else {
    s->csv = fdopen(s->fd, "w");
    if (!s->csv) rc = td_err(err, TD_EIO, "COPY: cannot write '%s': %s", path, strerror(errno));
    else td_csv_put_header(s->csv, aschema);
  }
  if (rc) {
    if (s->csv) fclose(s->csv);
    else close(s->fd);
    s->fd = -1;
    s->csv = NULL;
  }
  return rc;
}

static int sink_write(sink *s, const struct ArrowSchema *aschema, const struct ArrowArray *batch, td_error *err) {
  if (s->pq) return td_parquet_writer_write(s->pq, batch, err);
  if (s->ipc) return td_ipc_stream_writer_write(s->ipc, batch, err);
  int rc = td_csv_put_rows(s->csv, aschema, batch, 0, batch->length, err);
  if (!rc && ferror(s->csv)) rc = td_err(err, TD_EIO, "COPY: cannot write CSV: %s", strerror(errno));
  return rc;
}

/* Finishes (ok) or abandons the file; errors only when finishing. */
static int sink_close(sink *s, bool ok, td_error *err) {
  int rc = TD_OK;
  if (s->pq) {
    if (ok) rc = td_parquet_writer_close(s->pq, err);
    else td_parquet_writer_abort(s->pq);
  } else if (s->ipc) {
    if (ok) rc = td_ipc_stream_writer_close(s->ipc, err);
    else td_ipc_stream_writer_abort(s->ipc);
  }
  if (s->csv) {
    if (fclose(s->csv) != 0 && ok && !rc) rc = td_err(err, TD_EIO, "COPY: cannot write CSV: %s", strerror(errno));
  } else if (s->fd >= 0) {
    if (close(s->fd) != 0 && ok && !rc) rc = td_err(err, TD_EIO, "COPY: cannot close the output: %s", strerror(errno));
  }
  memset(s, 0, sizeof *s);
  s->fd = -1;
  return rc;
}

/* ---- partitions ---- */

typedef struct part {
  char *dir;     /* "a=1/b=x" */
  sink out;
  uint32_t *rows; /* rows of the current batch */
  int64_t n_rows, cap_rows;
} part;

typedef struct copy_run {
  const copy_stmt *c;
  const char *root;         /* temporary target: a file, or the directory */
  td_schema schema;         /* the query's columns */
  td_schema out_schema;     /* without partition columns */
  struct ArrowSchema aschema, out_aschema;
  int64_t *part_cols, *keep_cols;
  int64_t n_keep;
  part *parts;
  int64_t n_parts, cap_parts;
  int64_t rows;
} copy_run;

/* Appends value text URL-encoded (unreserved characters kept) as DuckDB does. */
static void put_escaped(td_strbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
        ch == '_' || ch == '.' || ch == '~') {
      td__sb_putn(b, (const char *)&ch, 1);
    } else {
      char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
      td__sb_putn(b, e, 3);
    }
  }
}

static int part_dir(copy_run *r, const struct ArrowArray *batch, int64_t row, td_strbuf *b, td_error *err) {
  b->len = 0;
  if (b->p) b->p[0] = '\0';
  for (int64_t k = 0; k < r->c->n_part; k++) {
    int64_t col = r->part_cols[k];
    td_value v;
    int rc = td_arrow_get_value(r->aschema.children[col], batch->children[col], batch->offset + row, &v, err);
    if (rc) return rc;
    if (k) td__sb_put(b, "/");
    put_escaped(b, r->schema.fields[col].name, strlen(r->schema.fields[col].name));
    td__sb_put(b, "=");
    if (v.is_null) {
      td__sb_put(b, "__HIVE_DEFAULT_PARTITION__");
    } else if (td_type_is_varlen(v.type)) {
      put_escaped(b, v.v.s.ptr, v.v.s.len);
    } else {
      char buf[128];
      size_t n = td_value_format(&v, buf, sizeof buf);
      put_escaped(b, buf, n < sizeof buf ? n : sizeof buf - 1);
    }
  }
  return b->rc;
}

/* mkdir -p of path's directories below (and including) dir components. */
static int make_dirs(const char *path, td_error *err) {
  char *tmp = td_strdup(path);
  if (!tmp) return td_err_nomem(err, "COPY");
  for (char *q = tmp + 1; *q; q++) {
    if (*q != '/') continue;
    *q = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
      int rc = td_err(err, TD_EIO, "COPY: cannot create directory '%s': %s", tmp, strerror(errno));
      td_free(tmp);
      return rc;
    }
    *q = '/';
  }
  td_free(tmp);
  return TD_OK;
}

static int find_part(copy_run *r, const char *dir, part **out, td_error *err) {
  for (int64_t i = r->n_parts - 1; i >= 0; i--)
    if (!strcmp(r->parts[i].dir, dir)) {
      *out = &r->parts[i];
      return TD_OK;
    }
  if (r->n_parts == r->cap_parts) {
    int64_t cap = r->cap_parts ? r->cap_parts * 2 : 8;
    part *np = td_realloc(r->parts, (size_t)cap * sizeof *np);
    if (!np) return td_err_nomem(err, "COPY");
    r->parts = np;
    r->cap_parts = cap;
  }
  part *pt = &r->parts[r->n_parts];
  memset(pt, 0, sizeof *pt);
  pt->out.fd = -1;
  pt->dir = td_strdup(dir);
  if (!pt->dir) return td_err_nomem(err, "COPY");
  r->n_parts++;
  td_strbuf path = {.err = err};
  td__sb_put(&path, r->root);
  td__sb_put(&path, "/");
  td__sb_put(&path, dir);
  td__sb_put(&path, "/data_0.");
  td__sb_put(&path, FMT_EXT[r->c->format]);
  int rc = path.rc;
  if (!rc) rc = make_dirs(path.p, err);
  if (!rc) rc = sink_open(&pt->out, r->c, path.p, &r->out_schema, &r->out_aschema, err);
  td_free(path.p);
  *out = pt;
  return rc;
}

/* Writes the rows of pt in batch (without the partition columns). */
static int write_part_rows(copy_run *r, part *pt, const struct ArrowArray *batch, td_error *err) {
  struct ArrowArray *kids = td_calloc((size_t)r->n_keep + 1, sizeof *kids);
  if (!kids) return td_err_nomem(err, "COPY");
  int rc = TD_OK;
  for (int64_t k = 0; rc == TD_OK && k < r->n_keep; k++) {
    int64_t col = r->keep_cols[k];
    td_colview v;
    td_array a;
    td_type_id type = r->schema.fields[col].type;
    struct ArrowArray child = *batch->children[col], tmp;
    child.offset += batch->offset;
    child.length = batch->length;
    rc = td_colview_init_arrow(&v, type, &child, &tmp, err);
    if (rc == TD_OK) rc = td_array_init(&a, type, pt->n_rows, err);
    if (rc == TD_OK) {
      rc = td_array_append_gather(&a, &v, pt->rows, NULL, pt->n_rows, err);
      if (rc == TD_OK) rc = td_array_export(&a, &kids[k], err);
      td_array_reset(&a);
    }
    td_arrow_array_release(&tmp);
    if (rc == TD_OK && td_type_is_large(type)) { /* the writers take the Arrow layout */
      struct ArrowArray narrow;
      td_arrow_array_move(&kids[k], &narrow);
      if ((rc = td_colview_init(&v, type, &narrow, err)) == TD_OK) rc = td_array_widen(&v, &kids[k], err);
      td_arrow_array_release(&narrow);
    }
  }
  struct ArrowArray sub = {0};
  if (rc == TD_OK) rc = td_struct_array_make(r->n_keep, kids, pt->n_rows, &sub, err);
  else
    for (int64_t k = 0; k < r->n_keep; k++)
      if (kids[k].release) kids[k].release(&kids[k]);
  td_free(kids);
  if (rc == TD_OK) rc = sink_write(&pt->out, &r->out_aschema, &sub, err);
  if (sub.release) sub.release(&sub);
  return rc;
}

static int write_partitioned(copy_run *r, const struct ArrowArray *batch, td_error *err) {
  td_strbuf key = {.err = err};
  int rc = TD_OK;
  for (int64_t i = 0; i < r->n_parts; i++) r->parts[i].n_rows = 0;
  for (int64_t row = 0; rc == TD_OK && row < batch->length; row++) {
    part *pt = NULL;
    rc = part_dir(r, batch, row, &key, err);
    if (!rc) rc = find_part(r, key.p ? key.p : "", &pt, err);
    if (!rc && pt->n_rows == pt->cap_rows) {
      int64_t cap = pt->cap_rows ? pt->cap_rows * 2 : 1024;
      uint32_t *nr = td_realloc(pt->rows, (size_t)cap * sizeof *nr);
      if (!nr) rc = td_err_nomem(err, "COPY");
      else pt->rows = nr, pt->cap_rows = cap;
    }
    if (!rc) pt->rows[pt->n_rows++] = (uint32_t)row;
  }
  td_free(key.p);
  for (int64_t i = 0; rc == TD_OK && i < r->n_parts; i++)
    if (r->parts[i].n_rows) rc = write_part_rows(r, &r->parts[i], batch, err);
  return rc;
}

/* ---- the target: temporary names, then rename ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void remove_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static const char *merge_src, *merge_dst;
static int merge_rc;

/* Moves one file of the temporary tree into the existing target. */
static int merge_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)ftw;
  if (flag != FTW_F) return 0;
  size_t n = strlen(merge_src);
  char *dst = td_malloc(strlen(merge_dst) + strlen(path + n) + 1);
  if (!dst) return merge_rc = TD_ENOMEM;
  strcpy(dst, merge_dst);
  strcat(dst, path + n);
  int rc = make_dirs(dst, NULL);
  if (!rc && rename(path, dst) != 0) rc = TD_EIO;
  td_free(dst);
  return merge_rc = rc;
}

static bool dir_empty(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  close(fd);
  return rmdir(path) == 0 ? (mkdir(path, 0755), true) : false;
}

static int check_target(const copy_stmt *c, td_error *err) {
  struct stat st;
  if (stat(c->path, &st) != 0) return TD_OK;
  bool dir = S_ISDIR(st.st_mode);
  if (c->n_part) {
    if (!dir)
      return td_err(err, TD_EINVAL, "COPY: '%s' exists and is not a directory (PARTITION_BY writes a directory)",
                    c->path);
    if (!c->overwrite && !c->overwrite_or_ignore && !dir_empty(c->path))
      return td_err(err, TD_EINVAL,
                    "COPY: directory '%s' already exists and is not empty (add OVERWRITE or OVERWRITE_OR_IGNORE)",
                    c->path);
    return TD_OK;
  }
  if (dir) return td_err(err, TD_EINVAL, "COPY: '%s' is a directory, expected a file path", c->path);
  if (!c->overwrite && !c->overwrite_or_ignore)
    return td_err(err, TD_EINVAL, "COPY: '%s' already exists (add OVERWRITE to replace it)", c->path);
  return TD_OK;
}

/* A temporary name next to the target: ".<name>.tmp-XXXXXX". */
static char *temp_name(const char *path, td_error *err) {
  const char *slash = strrchr(path, '/');
  size_t dn = slash ? (size_t)(slash - path) + 1 : 0;
  char *t = td_malloc(strlen(path) + 16);
  if (!t) {
    td_err_nomem(err, "COPY");
    return NULL;
  }
  memcpy(t, path, dn);
  sprintf(t + dn, ".%s.tmp-XXXXXX", path + dn);
  return t;
}

static int finish_target(const copy_stmt *c, const char *tmp, td_error *err) {
  struct stat st;
  bool exists = stat(c->path, &st) == 0;
  if (exists && c->n_part) {
    if (c->overwrite_or_ignore && !c->overwrite) {
      merge_src = tmp, merge_dst = c->path, merge_rc = 0;
      nftw(tmp, merge_entry, 16, FTW_PHYS);
      remove_tree(tmp);
      return merge_rc ? td_err(err, TD_EIO, "COPY: cannot move the output into '%s'", c->path) : TD_OK;
    }
    remove_tree(c->path);
  }
  if (rename(tmp, c->path) != 0) {
    int rc = td_err(err, TD_EIO, "COPY: cannot rename the output to '%s': %s", c->path, strerror(errno));
    remove_tree(tmp);
    return rc;
  }
  return TD_OK;
}

/* ---- running ---- */

static int setup_columns(copy_run *r, td_error *err) {
  const copy_stmt *c = r->c;
  int64_t n = r->schema.n_fields;
  r->part_cols = td_calloc((size_t)c->n_part + 1, sizeof *r->part_cols);
  r->keep_cols = td_calloc((size_t)n + 1, sizeof *r->keep_cols);
  if (!r->part_cols || !r->keep_cols) return td_err_nomem(err, "COPY");
  for (int64_t k = 0; k < c->n_part; k++) {
    r->part_cols[k] = td_schema_find(&r->schema, c->part[k]);
    if (r->part_cols[k] < 0)
      return td_err(err, TD_ETYPE, "COPY: PARTITION_BY column '%s' is not a column of the query", c->part[k]);
  }
  if (c->n_part && c->n_part == n)
    return td_err(err, TD_EINVAL, "COPY: PARTITION_BY takes every column, expected at least one left to write");
  td_schema_init(&r->out_schema);
  for (int64_t i = 0; i < n; i++) {
    bool is_part = false;
    for (int64_t k = 0; k < c->n_part; k++) is_part |= r->part_cols[k] == i;
    if (is_part) continue;
    r->keep_cols[r->n_keep++] = i;
    const td_field *f = &r->schema.fields[i];
    int rc = td_schema_add(&r->out_schema, f->name, f->type, f->tz, f->nullable, err);
    if (rc) return rc;
  }
  return td_schema_export(&r->out_schema, &r->out_aschema, err);
}

static int run_copy(copy_run *r, struct ArrowArrayStream *st, td_error *err) {
  sink single;
  memset(&single, 0, sizeof single);
  single.fd = -1;
  int rc = TD_OK;
  if (!r->c->n_part) rc = sink_open(&single, r->c, r->root, &r->schema, &r->aschema, err);
  while (rc == TD_OK) {
    struct ArrowArray b;
    if (st->get_next(st, &b) != 0) {
      const char *m = st->get_last_error ? st->get_last_error(st) : NULL;
      rc = td_err(err, TD_EIO, "COPY: reading the query failed: %s", m ? m : "unknown error");
      break;
    }
    if (!b.release) break;
    rc = r->c->n_part ? write_partitioned(r, &b, err) : sink_write(&single, &r->aschema, &b, err);
    r->rows += b.length;
    b.release(&b);
  }
  if (!r->c->n_part) {
    int rc2 = sink_close(&single, rc == TD_OK, err);
    if (!rc) rc = rc2;
  }
  for (int64_t i = 0; i < r->n_parts; i++) {
    int rc2 = sink_close(&r->parts[i].out, rc == TD_OK, err);
    if (!rc) rc = rc2;
  }
  return rc;
}

static void run_reset(copy_run *r) {
  td_schema_reset(&r->schema);
  td_schema_reset(&r->out_schema);
  if (r->aschema.release) r->aschema.release(&r->aschema);
  if (r->out_aschema.release) r->out_aschema.release(&r->out_aschema);
  td_free(r->part_cols);
  td_free(r->keep_cols);
  for (int64_t i = 0; i < r->n_parts; i++) {
    td_free(r->parts[i].dir);
    td_free(r->parts[i].rows);
  }
  td_free(r->parts);
}

/* The one-row result: Count = rows written. */
static int count_table(int64_t rows, td_table **out, td_error *err) {
  static const char *const names[] = {"Count"};
  static const td_type_id types[] = {TD_TYPE_INT64};
  td_builder *b = NULL;
  int rc = td_builder_new(TD_TYPE_INT64, &b, err);
  if (rc) return rc;
  rc = td_builder_append_int(b, rows, err);
  if (rc) {
    td_builder_free(b);
    return rc;
  }
  return td__rows_table(1, names, types, &b, out, err);
}

int td__copy(const char *sql, td_query_options *opts, td_table **out, td_error *err) {
  *out = NULL;
  if (opts->read_only)
    return td_err_at(err, TD_EUNSUPPORTED, 0, "COPY is not supported here: this server runs read-only queries");
  copy_stmt c;
  int rc = parse_copy(sql, &c, err);
  if (rc) {
    stmt_free(&c);
    return rc;
  }
  copy_run r;
  memset(&r, 0, sizeof r);
  r.c = &c;
  td_schema_init(&r.schema);
  td_schema_init(&r.out_schema);
  td_query_options o = *opts;
  o.refreshing = false;
  struct ArrowArrayStream st = {0};
  rc = td_query_stream(c.inner, &o, &st, err);
  if (rc && err && err->position >= 0) err->position += c.shift;
  if (!rc && st.get_schema(&st, &r.aschema) != 0)
    rc = td_err(err, TD_ENOMEM, "COPY: cannot get the query's schema");
  if (!rc) rc = td_schema_import(&r.aschema, &r.schema, err);
  if (!rc) rc = setup_columns(&r, err);
  if (!rc) rc = check_target(&c, err);
  char *tmp = rc ? NULL : temp_name(c.path, err);
  if (!rc && !tmp) rc = TD_ENOMEM;
  if (!rc && c.n_part) {
    if (!mkdtemp(tmp))
      rc = td_err(err, TD_EIO, "COPY: cannot create a directory next to '%s': %s", c.path, strerror(errno));
    else chmod(tmp, 0755);
  } else if (!rc) {
    int fd = mkstemp(tmp);
    if (fd < 0) {
      rc = td_err(err, TD_EIO, "COPY: cannot create a file next to '%s': %s", c.path, strerror(errno));
    } else {
      fchmod(fd, 0644);
      close(fd);
    }
  }
  if (!rc) {
    r.root = tmp;
    rc = run_copy(&r, &st, err);
    if (rc) remove_tree(tmp);
    else rc = finish_target(&c, tmp, err);
  }
  if (st.release) st.release(&st);
  if (!rc) rc = count_table(r.rows, out, err);
  td_free(tmp);
  run_reset(&r);
  stmt_free(&c);
  return rc;
}
