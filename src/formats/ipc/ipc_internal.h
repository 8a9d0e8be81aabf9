/*
 * formats/ipc/ipc_internal.h - private pieces of the Arrow IPC reader and
 * writer: a bounds-checked flatbuffer reader, a small flatbuffer builder,
 * the Arrow metadata constants (Message.fbs, Schema.fbs, File.fbs) and the
 * reader's column and batch descriptors.
 *
 * The host is assumed to be little-endian (as the files we accept are).
 */
#ifndef TD_FORMATS_IPC_INTERNAL_H
#define TD_FORMATS_IPC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "arrow/array.h"
#include "formats/reader.h"

/* ---- Flatbuffer reading: every access is checked against the buffer. ---- */
typedef struct ipc_fb {
  const uint8_t *p;
  uint32_t n;
  const char *path; /* for messages */
} ipc_fb;

typedef struct ipc_tab {
  const ipc_fb *fb;
  uint32_t pos, vt;
  uint16_t vt_size, tab_size;
} ipc_tab;

typedef struct ipc_vec {
  const ipc_fb *fb;
  uint32_t pos; /* first element */
  uint32_t len;
} ipc_vec;

int ipc_fb_root(const ipc_fb *fb, ipc_tab *t, td_error *err);
/* In an Arrow IPC Schema message of n bytes (as Parquet writers store it,
 * base64-decoded, under "ARROW:schema"; with or without its continuation
 * marker and length): the TimeUnit (0 s .. 3 ns) of top-level field `name`
 * when it is a Duration, else -1 (also when the message is malformed). */
int ipc_schema_duration_unit(const uint8_t *msg, size_t n, const char *name);
int ipc_tab_i64(const ipc_tab *t, int id, int64_t def, int64_t *out, td_error *err);
int ipc_tab_i32(const ipc_tab *t, int id, int32_t def, int32_t *out, td_error *err);
int ipc_tab_i16(const ipc_tab *t, int id, int16_t def, int16_t *out, td_error *err);
int ipc_tab_u8(const ipc_tab *t, int id, uint8_t def, uint8_t *out, td_error *err);
/* Sub-table; *present is false (and rc TD_OK) when the field is absent. */
int ipc_tab_table(const ipc_tab *t, int id, ipc_tab *sub, bool *present, td_error *err);
/* Vector of elem_size-byte elements (4 for offsets); absent = empty. */
int ipc_tab_vector(const ipc_tab *t, int id, uint32_t elem_size, ipc_vec *v, td_error *err);
int ipc_vec_table(const ipc_vec *v, uint32_t i, ipc_tab *t, td_error *err);
/* String (absent = NULL, len 0). */
int ipc_tab_string(const ipc_tab *t, int id, const char **s, uint32_t *len, td_error *err);

static inline int64_t ipc_rd_i64(const uint8_t *p) {
  int64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline int32_t ipc_rd_i32(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint32_t ipc_rd_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* ---- Flatbuffer building (back to front). ---- */
#define IPC_FBB_MAX_FIELDS 8
typedef struct ipc_fbb {
  uint8_t *buf;
  size_t cap, used; /* data lives in buf[cap - used, cap) */
  uint32_t field_ref[IPC_FBB_MAX_FIELDS];
  uint8_t field_set[IPC_FBB_MAX_FIELDS];
  size_t table_start;
  bool failed;
} ipc_fbb;

/* A built object is named by its distance from the buffer's end. */
typedef uint32_t ipc_ref;

void ipc_fbb_init(ipc_fbb *b);
void ipc_fbb_free(ipc_fbb *b);
ipc_ref ipc_fbb_string(ipc_fbb *b, const char *s, size_t len);
ipc_ref ipc_fbb_vec_tables(ipc_fbb *b, const ipc_ref *items, size_t n);
ipc_ref ipc_fbb_vec_structs(ipc_fbb *b, const void *data, size_t n, size_t elem_size);
void ipc_fbb_start(ipc_fbb *b);
void ipc_fbb_add_i64(ipc_fbb *b, int id, int64_t v);
void ipc_fbb_add_i32(ipc_fbb *b, int id, int32_t v);
void ipc_fbb_add_i16(ipc_fbb *b, int id, int16_t v);
void ipc_fbb_add_u8(ipc_fbb *b, int id, uint8_t v);
void ipc_fbb_add_ref(ipc_fbb *b, int id, ipc_ref r);
ipc_ref ipc_fbb_end(ipc_fbb *b);
/* Writes the root offset; the finished buffer is buf + cap - used, `used`
 * bytes long (a multiple of 8).  False if any allocation failed. */
bool ipc_fbb_finish(ipc_fbb *b, ipc_ref root);

/* ---- Arrow metadata constants. ---- */
enum { IPC_V4 = 3, IPC_V5 = 4 };
enum { IPC_MSG_SCHEMA = 1, IPC_MSG_DICT = 2, IPC_MSG_BATCH = 3 };
enum {
  IPC_T_NULL = 1, IPC_T_INT, IPC_T_FLOAT, IPC_T_BINARY, IPC_T_UTF8, IPC_T_BOOL,
  IPC_T_DECIMAL, IPC_T_DATE, IPC_T_TIME, IPC_T_TIMESTAMP, IPC_T_INTERVAL, IPC_T_LIST,
  IPC_T_STRUCT, IPC_T_UNION, IPC_T_FIXED_BINARY, IPC_T_FIXED_LIST, IPC_T_MAP,
  IPC_T_DURATION, IPC_T_LARGE_BINARY, IPC_T_LARGE_UTF8, IPC_T_LARGE_LIST, IPC_T_RUN_END,
  IPC_T_BINARY_VIEW, IPC_T_UTF8_VIEW, IPC_T_LIST_VIEW, IPC_T_LARGE_LIST_VIEW,
  IPC_T_MAX = IPC_T_LARGE_LIST_VIEW
};
#define IPC_MAX_METADATA ((int64_t)1 << 28) /* sanity bound on one header */

/* ---- Reader descriptors. ---- */
enum { IPC_K_FIXED, IPC_K_BOOL, IPC_K_STR32, IPC_K_STR64, IPC_K_DICT, IPC_K_VIEW, IPC_K_FIXBIN,
       IPC_K_CODES /* a dictionary column read as codes (ipc_read_column_codes only) */ };
enum { IPC_CONV_NONE, IPC_CONV_WIDEN, IPC_CONV_SCALE };

/* Where and how one readable column lives in each record batch. */
typedef struct ipc_col {
  int64_t node, buf, views_before;
  td_type_id type;
  uint8_t kind, conv;
  uint8_t src_width; /* bytes per source value (fixed, dictionary index) */
  bool src_signed;
  int64_t scale; /* IPC_CONV_SCALE: multiplier to nanoseconds */
  int64_t dict; /* IPC_K_DICT: index into ipc_reader.dicts */
  bool binary;  /* Binary / LargeBinary: bytes, not checked as UTF-8 */
  int dec_precision, dec_scale; /* decimal128 */
  int32_t byte_width;           /* IPC_K_FIXBIN: FixedSizeBinary's width */
} ipc_col;

/* One message: [offset, offset + meta_len) holds the prefix and the
 * flatbuffer, the body follows. */
typedef struct ipc_msg {
  int64_t offset, meta_len, body_len;
  int64_t rows, row_begin;
  /* Streams: dictionary messages before this one (a batch uses the
   * dictionaries in effect then); for a dictionary message, its number. */
  int64_t seq;
  bool delta; /* a dictionary message that appends (isDelta) */
} ipc_msg;

#define IPC_DICT_GENS 8
struct td_dict;

typedef struct ipc_dict {
  int64_t id;
  uint8_t kind; /* IPC_K_STR32, IPC_K_STR64 or IPC_K_VIEW */
  bool binary;  /* of Binary values (not checked as UTF-8) */
  int64_t n_msgs;
  ipc_msg *msgs;
  /* `values` holds messages [loaded_from, n_loaded): one generation (a
   * dictionary and its deltas; a stream may replace it by a new one). */
  int64_t loaded_from, n_loaded;
  td_array values;
  /* Codes (ipc_read_column_codes): the td_dict of each of the last
   * IPC_DICT_GENS generations, keyed by the messages [from, to) loaded, so
   * that every batch of one generation shares one td_dict (a delta that
   * arrives later, in a growing stream, makes another). */
  struct {
    int64_t from, to;
    struct td_dict *td;
  } gens[IPC_DICT_GENS];
  int64_t n_gens; /* made so far; slot n_gens % IPC_DICT_GENS is the next */
} ipc_dict;

/* A column's scan, for prefetching (ipc_column.c, hint_ahead): where its
 * last read ended, and the batches [0, hinted) whose buffers of the column
 * were hinted to the kernel. */
typedef struct ipc_ahead {
  _Atomic int64_t read_end, hinted;
} ipc_ahead;

typedef struct ipc_reader {
  td_file_reader base;
  bool is_file;
  int16_t version; /* metadata version of the schema */
  /* FieldNode/Buffer counts every record batch must have (when known). */
  bool layout_known;
  int64_t layout_nodes, layout_bufs, layout_views;
  ipc_col *cols;
  ipc_ahead *ahead; /* base.schema.n_fields */
  ipc_msg *batches;
  int64_t n_batches, cap_batches;
  ipc_dict *dicts;
  int64_t n_dicts;
  int64_t n_dict_msgs; /* dictionary messages indexed so far */
  pthread_mutex_t lock;
  int64_t scan_pos, file_size;
  uint64_t inode;
  bool ended;
} ipc_reader;

/* ipc_schema.c: fills r->base.schema, r->cols, r->dicts from a Schema. */
int ipc_schema_read(ipc_reader *r, const ipc_tab *schema, td_error *err);
/* Metadata version check shared by Footer and Message. */
int ipc_check_version(const ipc_reader *r, int16_t version, td_error *err);

/* ipc_column.c: decodes rows [lo, lo + n) of column `c` of message `m`
 * (a record batch or, for dictionaries, a dictionary batch) onto `out`. */
int ipc_decode(ipc_reader *r, const ipc_msg *m, const ipc_col *c, int64_t lo, int64_t n,
               td_array *out, td_error *err);
int ipc_read_column(td_file_reader *base, int64_t col, int64_t offset, int64_t n,
                    struct ArrowArray *out, td_error *err);
/* As ipc_read_column, but rows of a dictionary-encoded utf8 column whose
 * batches share one dictionary generation come back as a dictionary array
 * (int32 codes, td_dict_export of the generation's td_dict; arrow/dict.h). */
int ipc_read_column_codes(td_file_reader *base, int64_t col, int64_t offset, int64_t n,
                          struct ArrowArray *out, td_error *err);
/* Releases a dictionary's generations (close). */
void ipc_dict_free(ipc_dict *d);
/* Drops the reader's decompressed buffers from the shared cache (close). */
void ipc_plain_clear(const ipc_reader *r);

/* ipc_open.c: reads a message's flatbuffer into a fresh buffer and returns
 * its Message table (caller frees *buf). */
int ipc_load_message(ipc_reader *r, const ipc_msg *m, uint8_t **buf, ipc_fb *fb,
                     ipc_tab *msg, td_error *err);

#endif
