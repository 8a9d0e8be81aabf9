/*
 * formats/ipc/ipc_open.c - opening Arrow IPC files and streams: the file
 * footer (schema, dictionary and record batch blocks), the stream message
 * scan (continuation-marked and legacy length prefixes), the batch index
 * (offset, metadata length, body length, rows; bodies are never read here),
 * refresh of growing streams, and close.
 *
 * Big-endian data is rejected (TD_EUNSUPPORTED).  Dictionary batches are
 * indexed per dictionary id; deltas append, and in a stream a dictionary
 * may be replaced between batches (each batch uses the dictionary in effect
 * when it appears; the file format allows no replacement).
 */
#include <stdio.h>
#include <sys/stat.h>

#include "formats/ipc/ipc_internal.h"
#include "util/alloc.h"
#include "util/error.h"

static const char MAGIC[6] = {'A', 'R', 'R', 'O', 'W', '1'};

static void ipc_close(td_file_reader *base);
static int ipc_refresh(td_file_reader *base, td_error *err);

/* IPC files cannot grow: refresh succeeds without change. */
static int file_refresh(td_file_reader *base, td_error *err) { return TD_OK; }

static const td_reader_vtable FILE_VT = {"arrow-file", ipc_read_column, file_refresh, NULL,
                                         ipc_close, ipc_read_column_codes};
static const td_reader_vtable STREAM_VT = {"arrow-stream", ipc_read_column, ipc_refresh, NULL,
                                           ipc_close, ipc_read_column_codes};

int ipc_load_message(ipc_reader *r, const ipc_msg *m, uint8_t **buf, ipc_fb *fb, ipc_tab *msg,
                     td_error *err) {
  const char *path = r->base.io.path;
  *buf = NULL;
  if (m->meta_len < 8 || m->meta_len > IPC_MAX_METADATA)
    return td_err(err, TD_EFORMAT, "'%s': message at offset %lld: metadata length %lld is out of range",
                  path, (long long)m->offset, (long long)m->meta_len);
  uint8_t *b = td_malloc((size_t)m->meta_len);
  if (!b) return td_err_nomem(err, "reading an IPC message header");
  int rc = td_io_read(&r->base.io, b, m->meta_len, m->offset, err);
  if (rc) {
    td_free(b);
    return rc;
  }
  int64_t prefix = ipc_rd_u32(b) == 0xFFFFFFFFu ? 8 : 4;
  int32_t len = ipc_rd_i32(b + prefix - 4);
  if (len <= 0 || len > m->meta_len - prefix) {
    td_free(b);
    return td_err(err, TD_EFORMAT, "'%s': message at offset %lld: flatbuffer length %d does not fit "
                  "its %lld-byte metadata block", path, (long long)m->offset, len, (long long)m->meta_len);
  }
  fb->p = b + prefix;
  fb->n = (uint32_t)len;
  fb->path = path;
  int16_t version = 0;
  rc = ipc_fb_root(fb, msg, err);
  if (!rc) rc = ipc_tab_i16(msg, 0, 0, &version, err);
  if (!rc) rc = ipc_check_version(r, version, err);
  if (rc) {
    td_free(b);
    return rc;
  }
  *buf = b;
  return TD_OK;
}

/* What a message header says, beyond its position. */
typedef struct msg_head {
  uint8_t type;
  int64_t body_len, rows, dict_id;
  bool delta;
} msg_head;

/* Structural checks of a record batch header against the schema and its
 * body: node and buffer counts, node lengths, buffers inside the body. */
static int check_batch(ipc_reader *r, const ipc_msg *m, const ipc_tab *rb, int64_t body_len,
                       bool top, td_error *err) {
  ipc_vec nodes, bufs, counts;
  int64_t rows, variadic = 0;
  const char *path = r->base.io.path;
  int rc = ipc_tab_i64(rb, 0, 0, &rows, err);
  if (!rc) rc = ipc_tab_vector(rb, 1, 16, &nodes, err);
  if (!rc) rc = ipc_tab_vector(rb, 2, 16, &bufs, err);
  if (!rc) rc = ipc_tab_vector(rb, 4, 8, &counts, err);
  if (rc) return rc;
  for (uint32_t i = 0; i < counts.len; i++) {
    int64_t k = ipc_rd_i64(counts.fb->p + counts.pos + 8 * i);
    if (k < 0 || k > (int64_t)bufs.len) variadic = -1;
    if (variadic >= 0) variadic += k;
  }
  if (top && r->layout_known &&
      (nodes.len != r->layout_nodes || counts.len != r->layout_views ||
       (int64_t)bufs.len != r->layout_bufs + variadic))
    return td_err(err, TD_EFORMAT, "'%s': record batch at offset %lld has %u field nodes and %u buffers, "
                  "the schema needs %lld and %lld", path, (long long)m->offset, nodes.len, bufs.len,
                  (long long)r->layout_nodes, (long long)(r->layout_bufs + (variadic > 0 ? variadic : 0)));
  for (uint32_t i = 0; i < nodes.len; i++) {
    const uint8_t *p = nodes.fb->p + nodes.pos + 16u * i;
    int64_t len = ipc_rd_i64(p), nulls = ipc_rd_i64(p + 8);
    if (len < 0 || nulls < 0 || nulls > len || (i == 0 && len != rows))
      return td_err(err, TD_EFORMAT, "'%s': batch at offset %lld: field node %u has length %lld and null "
                    "count %lld (batch length %lld)", path, (long long)m->offset, i, (long long)len,
                    (long long)nulls, (long long)rows);
  }
  for (uint32_t i = 0; i < bufs.len; i++) {
    const uint8_t *p = bufs.fb->p + bufs.pos + 16u * i;
    int64_t off = ipc_rd_i64(p), len = ipc_rd_i64(p + 8);
    if (off < 0 || len < 0 || off > body_len || len > body_len - off)
      return td_err(err, TD_EFORMAT, "'%s': batch at offset %lld: buffer %u (offset %lld, length %lld) "
                    "lies outside the %lld-byte body", path, (long long)m->offset, i, (long long)off,
                    (long long)len, (long long)body_len);
  }
  return TD_OK;
}

/* Reads the header of message `m`; parses the schema if `schema` is set. */
static int read_head(ipc_reader *r, const ipc_msg *m, bool schema, msg_head *h, td_error *err) {
  uint8_t *buf;
  ipc_fb fb;
  ipc_tab msg, hdr, rb;
  bool has = false;
  int rc = ipc_load_message(r, m, &buf, &fb, &msg, err);
  if (rc) return rc;
  memset(h, 0, sizeof *h);
  rc = ipc_tab_u8(&msg, 1, 0, &h->type, err);
  if (!rc) rc = ipc_tab_i64(&msg, 3, 0, &h->body_len, err);
  if (!rc) rc = ipc_tab_table(&msg, 2, &hdr, &has, err);
  if (!rc && !has) rc = td_err(err, TD_EFORMAT, "'%s': message at offset %lld has no header",
                               r->base.io.path, (long long)m->offset);
  if (!rc && h->body_len < 0)
    rc = td_err(err, TD_EFORMAT, "'%s': message at offset %lld has negative body length",
                r->base.io.path, (long long)m->offset);
  if (rc) goto done;
  if (h->type == IPC_MSG_SCHEMA) {
    if (schema) {
      int16_t v;
      rc = ipc_tab_i16(&msg, 0, 0, &v, err);
      r->version = v;
      if (!rc) rc = ipc_schema_read(r, &hdr, err);
    }
  } else if (h->type == IPC_MSG_BATCH) {
    rc = ipc_tab_i64(&hdr, 0, 0, &h->rows, err);
    if (!rc) rc = check_batch(r, m, &hdr, m->body_len >= 0 ? m->body_len : h->body_len, true, err);
  } else if (h->type == IPC_MSG_DICT) {
    uint8_t delta = 0;
    rc = ipc_tab_i64(&hdr, 0, 0, &h->dict_id, err);
    if (!rc) rc = ipc_tab_u8(&hdr, 2, 0, &delta, err);
    if (!rc) rc = ipc_tab_table(&hdr, 1, &rb, &has, err);
    if (!rc && !has) rc = td_err(err, TD_EFORMAT, "'%s': dictionary batch at offset %lld has no data",
                                 r->base.io.path, (long long)m->offset);
    if (!rc) rc = ipc_tab_i64(&rb, 0, 0, &h->rows, err);
    if (!rc) rc = check_batch(r, m, &rb, m->body_len >= 0 ? m->body_len : h->body_len, false, err);
    h->delta = delta != 0;
  } else {
    rc = td_err(err, TD_EUNSUPPORTED, "'%s': message at offset %lld has unsupported type %d "
                "(expected a schema, dictionary or record batch)", r->base.io.path,
                (long long)m->offset, h->type);
  }
  if (!rc && h->rows < 0)
    rc = td_err(err, TD_EFORMAT, "'%s': message at offset %lld has negative length %lld",
                r->base.io.path, (long long)m->offset, (long long)h->rows);
done:
  td_free(buf);
  return rc;
}

static int add_batch(ipc_reader *r, ipc_msg m, td_error *err) {
  if (m.rows > INT64_MAX - r->base.num_rows)
    return td_err(err, TD_EFORMAT, "'%s': total row count overflows", r->base.io.path);
  if (r->n_batches == r->cap_batches) {
    int64_t cap = r->cap_batches ? r->cap_batches * 2 : 16;
    ipc_msg *b = td_realloc(r->batches, (size_t)cap * sizeof *b);
    if (!b) return td_err_nomem(err, "indexing record batches");
    r->batches = b;
    r->cap_batches = cap;
  }
  m.row_begin = r->base.num_rows;
  m.seq = r->n_dict_msgs;
  r->batches[r->n_batches++] = m;
  r->base.num_rows += m.rows;
  return TD_OK;
}

static int add_dict_msg(ipc_reader *r, ipc_msg m, const msg_head *h, td_error *err) {
  for (int64_t i = 0; i < r->n_dicts; i++) {
    ipc_dict *d = &r->dicts[i];
    if (d->id != h->dict_id) continue;
    if (d->n_msgs > 0 && !h->delta && r->is_file)
      return td_err(err, TD_EFORMAT, "'%s': dictionary %lld is replaced at offset %lld; the IPC file "
                    "format allows deltas only (replacement is for streams)", r->base.io.path,
                    (long long)h->dict_id, (long long)m.offset);
    if (d->n_msgs == 0 && h->delta)
      return td_err(err, TD_EFORMAT, "'%s': delta for dictionary %lld at offset %lld comes before "
                    "the dictionary", r->base.io.path, (long long)h->dict_id, (long long)m.offset);
    ipc_msg *ms = td_realloc(d->msgs, (size_t)(d->n_msgs + 1) * sizeof *ms);
    if (!ms) return td_err_nomem(err, "indexing dictionaries");
    d->msgs = ms;
    m.seq = r->n_dict_msgs;
    m.delta = h->delta;
    ms[d->n_msgs++] = m;
  }
  r->n_dict_msgs++;
  return TD_OK; /* dictionaries of unsupported columns are ignored */
}

static int index_message(ipc_reader *r, ipc_msg m, const msg_head *h, td_error *err) {
  m.rows = h->rows;
  if (h->type == IPC_MSG_BATCH) return add_batch(r, m, err);
  if (h->type == IPC_MSG_DICT) return add_dict_msg(r, m, h, err);
  return td_err(err, TD_EFORMAT, "'%s': unexpected schema message at offset %lld",
                r->base.io.path, (long long)m.offset);
}

/* ---- File format. ---- */

static int read_blocks(ipc_reader *r, const ipc_vec *blocks, int64_t limit, uint8_t want,
                       td_error *err) {
  for (uint32_t i = 0; i < blocks->len; i++) {
    const uint8_t *p = blocks->fb->p + blocks->pos + 24u * i;
    ipc_msg m = {ipc_rd_i64(p), ipc_rd_i32(p + 8), ipc_rd_i64(p + 16), 0, 0, 0, false};
    if (m.offset < 8 || m.meta_len < 8 || m.body_len < 0 || m.offset > limit ||
        m.meta_len > limit - m.offset || m.body_len > limit - m.offset - m.meta_len)
      return td_err(err, TD_EFORMAT, "'%s': footer block %u (offset %lld, metadata %lld, body %lld) "
                    "lies outside the file's data (%lld bytes)", r->base.io.path, i,
                    (long long)m.offset, (long long)m.meta_len, (long long)m.body_len, (long long)limit);
    msg_head h;
    int rc = read_head(r, &m, false, &h, err);
    if (rc) return rc;
    if (h.type != want)
      return td_err(err, TD_EFORMAT, "'%s': footer block %u points at a message of type %d, expected %d",
                    r->base.io.path, i, h.type, want);
    if ((rc = index_message(r, m, &h, err))) return rc;
  }
  return TD_OK;
}

static int open_file(ipc_reader *r, td_error *err) {
  const char *path = r->base.io.path;
  int64_t size = r->file_size;
  uint8_t tail[10];
  if (size < 18)
    return td_err_at(err, TD_EFORMAT, TD_READER_INCOMPLETE, "'%s': %lld bytes is too small for an Arrow IPC file",
                     path, (long long)size);
  int rc = td_io_read(&r->base.io, tail, 10, size - 10, err);
  if (rc) return rc;
  if (memcmp(tail + 4, MAGIC, 6) != 0)
    return td_err_at(err, TD_EFORMAT, TD_READER_INCOMPLETE, "'%s': no ARROW1 magic at the end of the file (truncated?)",
                     path);
  int32_t flen = ipc_rd_i32(tail);
  if (flen <= 0 || flen > size - 18 || flen > IPC_MAX_METADATA)
    return td_err(err, TD_EFORMAT, "'%s': footer length %d is out of range for a %lld-byte file",
                  path, flen, (long long)size);
  int64_t fstart = size - 10 - flen;
  uint8_t *buf = td_malloc((size_t)flen);
  if (!buf) return td_err_nomem(err, "reading an IPC footer");
  ipc_fb fb = {buf, (uint32_t)flen, path};
  ipc_tab footer, schema;
  ipc_vec dicts, batches;
  bool has_schema;
  int16_t version = 0;
  rc = td_io_read(&r->base.io, buf, flen, fstart, err);
  if (!rc) rc = ipc_fb_root(&fb, &footer, err);
  if (!rc) rc = ipc_tab_i16(&footer, 0, 0, &version, err);
  /* Some old writers leave Footer.version at its default (V1); the
   * messages' own versions are checked instead. */
  if (!rc && version > IPC_V5) rc = ipc_check_version(r, version, err);
  if (!rc) rc = ipc_tab_table(&footer, 1, &schema, &has_schema, err);
  if (!rc && !has_schema) rc = td_err(err, TD_EFORMAT, "'%s': the footer has no schema", path);
  r->version = version < IPC_V4 ? IPC_V4 : version;
  if (!rc) rc = ipc_schema_read(r, &schema, err);
  if (!rc) rc = ipc_tab_vector(&footer, 2, 24, &dicts, err);
  if (!rc) rc = ipc_tab_vector(&footer, 3, 24, &batches, err);
  if (!rc) rc = read_blocks(r, &dicts, fstart, IPC_MSG_DICT, err);
  if (!rc) rc = read_blocks(r, &batches, fstart, IPC_MSG_BATCH, err);
  td_free(buf);
  return rc;
}

/* ---- Stream format. ---- */

/* Reads the length prefix at `pos`.  Sets *state: 0 incomplete, 1 message
 * (m filled except body_len), 2 end-of-stream marker. */
static int read_prefix(ipc_reader *r, int64_t pos, int64_t size, ipc_msg *m, int *state,
                       td_error *err) {
  uint8_t p[8];
  *state = 0;
  if (size - pos < 4) return TD_OK;
  int rc = td_io_read(&r->base.io, p, size - pos < 8 ? 4 : 8, pos, err);
  if (rc) return rc;
  int64_t prefix = 4;
  if (ipc_rd_u32(p) == 0xFFFFFFFFu) {
    if (size - pos < 8) return TD_OK;
    prefix = 8;
  }
  int32_t len = ipc_rd_i32(p + prefix - 4);
  if (len == 0) {
    *state = 2;
    m->meta_len = prefix;
    return TD_OK;
  }
  if (len < 0 || len > IPC_MAX_METADATA)
    return td_err(err, TD_EFORMAT, "'%s': message at offset %lld has metadata length %d, expected 1..%lld",
                  r->base.io.path, (long long)pos, len, (long long)IPC_MAX_METADATA);
  m->offset = pos;
  m->meta_len = prefix + len;
  if (m->meta_len > size - pos) return TD_OK;
  *state = 1;
  return TD_OK;
}

/* Indexes the complete messages from r->scan_pos up to `size`. */
static int scan_stream(ipc_reader *r, int64_t size, td_error *err) {
  while (!r->ended) {
    int64_t pos = r->scan_pos;
    ipc_msg m = {0, 0, -1, 0, 0, 0, false}; /* body length from the header */
    int state;
    msg_head h;
    int rc = read_prefix(r, pos, size, &m, &state, err);
    if (rc || state == 0) return rc;
    if (state == 2) {
      if (pos == 0)
        return td_err(err, TD_EFORMAT, "'%s': the stream ends before its schema message", r->base.io.path);
      r->ended = true;
      r->scan_pos = pos + m.meta_len;
      break;
    }
    bool first = pos == 0;
    if ((rc = read_head(r, &m, first, &h, err))) return rc;
    if (first && h.type != IPC_MSG_SCHEMA)
      return td_err(err, TD_EFORMAT, "'%s': the stream starts with a message of type %d, expected a schema",
                    r->base.io.path, h.type);
    m.body_len = h.body_len;
    if (h.body_len > size - pos - m.meta_len) return TD_OK; /* body not fully written yet */
    if (!first && (rc = index_message(r, m, &h, err))) return rc;
    r->scan_pos = pos + m.meta_len + h.body_len;
  }
  return TD_OK;
}

static int open_stream(ipc_reader *r, td_error *err) {
  int rc = scan_stream(r, r->file_size, err);
  if (!rc && r->scan_pos == 0)
    rc = td_err_at(err, TD_EFORMAT, TD_READER_INCOMPLETE,
                   "'%s': no complete schema message (expected an Arrow IPC stream or file)", r->base.io.path);
  return rc;
}

static int ipc_refresh(td_file_reader *base, td_error *err) {
  ipc_reader *r = (ipc_reader *)base;
  int64_t size;
  uint64_t inode;
  int rc = td_io_stat(&base->io, &size, &inode, err);
  if (rc) return rc;
  struct stat st; /* the descriptor keeps the old inode: look at the path too */
  if (stat(base->io.path, &st) == 0 && (uint64_t)st.st_ino != r->inode) inode = (uint64_t)st.st_ino;
  pthread_mutex_lock(&r->lock);
  if (size < r->file_size || inode != r->inode) {
    rc = td_err(err, TD_EFORMAT, "'%s': file was truncated/replaced (size %lld, was %lld)",
                base->io.path, (long long)size, (long long)r->file_size);
  } else {
    r->file_size = size;
    rc = scan_stream(r, size, err);
  }
  pthread_mutex_unlock(&r->lock);
  return rc;
}

static void ipc_close(td_file_reader *base) {
  ipc_reader *r = (ipc_reader *)base;
  if (!r) return;
  ipc_plain_clear(r);
  for (int64_t i = 0; i < r->n_dicts; i++) ipc_dict_free(&r->dicts[i]);
  td_free(r->dicts);
  td_free(r->batches);
  td_free(r->cols);
  td_free(r->ahead);
  td_reader_base_release(base);
  pthread_mutex_destroy(&r->lock);
  td_free(r);
}

/* Opens the reader `r` whose io is open (frees r on failure). */
static int ipc_open_io(ipc_reader *r, td_file_reader **out, td_error *err) {
  uint8_t head[8] = {0};
  int rc = td_io_stat_at_open(&r->base.io, &r->file_size, &r->inode, err);
  if (!rc && r->file_size >= 8) rc = td_io_read(&r->base.io, head, 8, 0, err);
  if (!rc) {
    r->is_file = memcmp(head, MAGIC, 6) == 0;
    if (r->is_file) r->base.vt = &FILE_VT;
    rc = r->is_file ? open_file(r, err) : open_stream(r, err);
  }
  if (!rc && !(r->ahead = td_calloc((size_t)r->base.schema.n_fields + 1, sizeof *r->ahead)))
    rc = td_err_nomem(err, "opening an Arrow IPC file");
  if (rc) {
    ipc_close(&r->base);
    return rc;
  }
  *out = &r->base;
  return TD_OK;
}

static ipc_reader *reader_new(void) {
  ipc_reader *r = td_calloc(1, sizeof *r);
  if (!r) return NULL;
  pthread_mutex_init(&r->lock, NULL);
  td_schema_init(&r->base.schema);
  r->base.vt = &STREAM_VT;
  return r;
}

int td_ipc_open(const char *path, td_file_reader **out, td_error *err) {
  *out = NULL;
  ipc_reader *r = reader_new();
  if (!r) return td_err_nomem(err, "opening an Arrow IPC file");
  int rc = td_io_open(&r->base.io, path, err);
  if (rc) {
    pthread_mutex_destroy(&r->lock);
    td_free(r->base.io.path);
    td_free(r);
    return rc;
  }
  return ipc_open_io(r, out, err);
}

int td_ipc_open_mem(const void *data, int64_t n, const char *name, td_file_reader **out, td_error *err) {
  *out = NULL;
  ipc_reader *r = reader_new();
  if (!r) return td_err_nomem(err, "opening an Arrow IPC buffer");
  int rc = td_io_open_mem(&r->base.io, data, n, name, err);
  if (rc) {
    pthread_mutex_destroy(&r->lock);
    td_free(r);
    return rc;
  }
  if ((rc = ipc_open_io(r, out, err))) return rc;
  if (!r->is_file && !r->ended && r->scan_pos != r->file_size) {
    rc = td_err(err, TD_EFORMAT, "'%s': the stream ends inside a message at byte %lld of %lld", r->base.io.path,
                (long long)r->scan_pos, (long long)r->file_size);
    ipc_close(&r->base);
    *out = NULL;
  }
  return rc;
}
