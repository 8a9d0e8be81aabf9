/*
 * formats/ipc/ipc_schema.c - maps an Arrow IPC Schema (Schema.fbs) onto the
 * reader's td_schema and per-column descriptors.
 *
 * Each top-level field gets its position in the record batches' FieldNode
 * and Buffer lists (pre-order over all fields, children included), so a
 * column can be located without looking at the others.  Types the engine
 * carries map natively or by widening (uint8, uint32, other timestamp units,
 * dates, large/binary strings, string dictionaries); others are listed as
 * unsupported with the reason.  Big-endian schemas are rejected.
 */
#include <stdio.h>

#include "formats/ipc/ipc_internal.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

#define MAX_DEPTH 64
#define MAX_FIELDS_VISITED 100000

static const char *const type_names[] = {
    "none", "null", "int", "floating point", "binary", "utf8", "bool", "decimal", "date",
    "time", "timestamp", "interval", "list", "struct", "union", "fixed-size binary",
    "fixed-size list", "map", "duration", "large binary", "large utf8", "large list",
    "run-end encoded", "binary view", "utf8 view", "list view", "large list view"};

typedef struct layout {
  int64_t nodes, bufs, views, visited;
  bool known; /* false after a type whose buffer layout is unknown */
} layout;

/* Adds field `f` (and its children) to the running FieldNode/Buffer count. */
static int count_layout(const ipc_reader *r, const ipc_tab *f, int depth, layout *l,
                        td_error *err) {
  if (depth > MAX_DEPTH || ++l->visited > MAX_FIELDS_VISITED)
    return td_err(err, TD_EFORMAT, "'%s': schema nesting deeper than %d levels or more than %d fields",
                  r->base.io.path, MAX_DEPTH, MAX_FIELDS_VISITED);
  uint8_t tt;
  ipc_tab dict;
  bool has_dict;
  int rc = ipc_tab_u8(f, 2, 0, &tt, err);
  if (!rc) rc = ipc_tab_table(f, 4, &dict, &has_dict, err);
  if (rc) return rc;
  l->nodes++;
  if (has_dict) { /* indices only; the values travel in dictionary batches */
    l->bufs += 2;
    return TD_OK;
  }
  int own = 0;
  bool children = false;
  switch (tt) {
    case IPC_T_NULL: case IPC_T_RUN_END: own = 0; children = tt == IPC_T_RUN_END; break;
    case IPC_T_INT: case IPC_T_FLOAT: case IPC_T_BOOL: case IPC_T_DECIMAL: case IPC_T_DATE:
    case IPC_T_TIME: case IPC_T_TIMESTAMP: case IPC_T_INTERVAL: case IPC_T_FIXED_BINARY:
    case IPC_T_DURATION: own = 2; break;
    case IPC_T_BINARY: case IPC_T_UTF8: case IPC_T_LARGE_BINARY: case IPC_T_LARGE_UTF8: own = 3; break;
    case IPC_T_BINARY_VIEW: case IPC_T_UTF8_VIEW: own = 2; l->views++; break;
    case IPC_T_LIST: case IPC_T_LARGE_LIST: case IPC_T_MAP: own = 2; children = true; break;
    case IPC_T_LIST_VIEW: case IPC_T_LARGE_LIST_VIEW: own = 3; children = true; break;
    case IPC_T_FIXED_LIST: case IPC_T_STRUCT: own = 1; children = true; break;
    case IPC_T_UNION: {
      ipc_tab u;
      bool has;
      int16_t mode = 0;
      rc = ipc_tab_table(f, 3, &u, &has, err);
      if (!rc && has) rc = ipc_tab_i16(&u, 0, 0, &mode, err);
      if (rc) return rc;
      own = (r->version < IPC_V5 ? 1 : 0) + 1 + (mode == 1 ? 1 : 0);
      children = true;
      break;
    }
    default: l->known = false; return TD_OK;
  }
  l->bufs += own;
  if (!children) return TD_OK;
  ipc_vec kids;
  rc = ipc_tab_vector(f, 5, 4, &kids, err);
  for (uint32_t i = 0; !rc && i < kids.len && l->known; i++) {
    ipc_tab k;
    rc = ipc_vec_table(&kids, i, &k, err);
    if (!rc) rc = count_layout(r, &k, depth + 1, l, err);
  }
  return rc;
}

static int int_type(const ipc_reader *r, const ipc_tab *t, int32_t *bits, bool *is_signed,
                    td_error *err) {
  uint8_t s;
  int rc = ipc_tab_i32(t, 0, 0, bits, err);
  if (!rc) rc = ipc_tab_u8(t, 1, 0, &s, err);
  if (rc) return rc;
  *is_signed = s != 0;
  if (*bits != 8 && *bits != 16 && *bits != 32 && *bits != 64)
    return td_err(err, TD_EFORMAT, "'%s': integer bit width %d is not one of 8, 16, 32, 64",
                  r->base.io.path, (int)*bits);
  return TD_OK;
}

static void set_fixed(ipc_col *c, td_type_id type, int src_width, bool src_signed) {
  c->type = type;
  c->kind = IPC_K_FIXED;
  c->src_width = (uint8_t)src_width;
  c->src_signed = src_signed;
  c->conv = src_width == td_type_width(type) ? IPC_CONV_NONE : IPC_CONV_WIDEN;
}

static int find_dict(ipc_reader *r, int64_t id, uint8_t kind, int64_t *idx, td_error *err) {
  for (int64_t i = 0; i < r->n_dicts; i++) {
    if (r->dicts[i].id != id) continue;
    if (r->dicts[i].kind != kind)
      return td_err(err, TD_EFORMAT, "'%s': dictionary %lld is used with two value types",
                    r->base.io.path, (long long)id);
    *idx = i;
    return TD_OK;
  }
  ipc_dict *d = td_realloc(r->dicts, (size_t)(r->n_dicts + 1) * sizeof *d);
  if (!d) return td_err_nomem(err, "reading an IPC schema");
  r->dicts = d;
  memset(&d[r->n_dicts], 0, sizeof *d);
  d[r->n_dicts].id = id;
  d[r->n_dicts].kind = kind;
  d[r->n_dicts].values.type = TD_TYPE_UTF8;
  *idx = r->n_dicts++;
  return TD_OK;
}

static uint8_t string_kind(uint8_t tt) {
  if (tt == IPC_T_UTF8 || tt == IPC_T_BINARY) return IPC_K_STR32;
  if (tt == IPC_T_LARGE_UTF8 || tt == IPC_T_LARGE_BINARY) return IPC_K_STR64;
  return 0xff;
}

/* The engine type of an IPC string or binary type (each is its own type). */
static td_type_id string_type(uint8_t tt) {
  return tt == IPC_T_BINARY         ? TD_TYPE_BINARY
         : tt == IPC_T_LARGE_UTF8   ? TD_TYPE_LARGE_UTF8
         : tt == IPC_T_LARGE_BINARY ? TD_TYPE_LARGE_BINARY
                                    : TD_TYPE_UTF8;
}

/* Checks the parameters of types the engine does not read, so that a
 * corrupt schema is still reported as such. */
static int check_params(const ipc_reader *r, uint8_t tt, const ipc_tab *t, const char *tname,
                        td_error *err) {
  int16_t unit = 0;
  int32_t width = 0, prec = 0;
  int rc = TD_OK;
  bool ok = true;
  switch (tt) {
    case IPC_T_TIME:
      rc = ipc_tab_i16(t, 0, 1, &unit, err);
      if (!rc) rc = ipc_tab_i32(t, 1, 32, &width, err);
      ok = (unit >= 0 && unit <= 1 && width == 32) || (unit >= 2 && unit <= 3 && width == 64);
      break;
    case IPC_T_DECIMAL:
      rc = ipc_tab_i32(t, 0, 0, &prec, err);
      if (!rc) rc = ipc_tab_i32(t, 2, 128, &width, err);
      ok = prec > 0 && (width == 32 || width == 64 || width == 128 || width == 256);
      break;
    case IPC_T_DURATION: /* unit: TimeUnit = MILLISECOND */
      rc = ipc_tab_i16(t, 0, 1, &unit, err);
      ok = unit >= 0 && unit <= 3;
      break;
    case IPC_T_INTERVAL:
      rc = ipc_tab_i16(t, 0, 0, &unit, err);
      ok = unit >= 0 && unit <= 2;
      break;
    case IPC_T_FIXED_BINARY:
      rc = ipc_tab_i32(t, 0, 0, &width, err);
      ok = width >= 0;
      break;
    default: break;
  }
  if (!rc && !ok)
    rc = td_err(err, TD_EFORMAT, "'%s': invalid %s type parameters (unit %d, width %d, precision %d)",
                r->base.io.path, tname, unit, (int)width, (int)prec);
  return rc;
}

/* Fills `c` for a supported field, or writes why not into `why` (then
 * c->kind is 0xff).  *tz points into the flatbuffer (length *tz_len). */
static int map_field(ipc_reader *r, const ipc_tab *f, ipc_col *c, const char **tz,
                     uint32_t *tz_len, char *why, size_t why_size, td_error *err) {
  uint8_t tt;
  ipc_tab t, dict;
  bool has_t, has_dict;
  int rc = ipc_tab_u8(f, 2, 0, &tt, err);
  if (!rc) rc = ipc_tab_table(f, 3, &t, &has_t, err);
  if (!rc) rc = ipc_tab_table(f, 4, &dict, &has_dict, err);
  if (rc) return rc;
  c->kind = 0xff;
  *tz = NULL;
  *tz_len = 0;
  const char *tname = tt <= IPC_T_MAX ? type_names[tt] : "unknown";
  if (tt == 0 || tt > IPC_T_MAX) {
    snprintf(why, why_size, "unknown type id %d (newer format?) is not supported", tt);
    return TD_OK;
  }
  if (!has_t && tt != IPC_T_NULL)
    return td_err(err, TD_EFORMAT, "'%s': field of type %s has no type table", r->base.io.path, tname);
  if (has_dict) { /* values decoded into one utf8 (or binary) array, whatever their layout */
    uint8_t kind = tt == IPC_T_UTF8_VIEW || tt == IPC_T_BINARY_VIEW ? IPC_K_VIEW : string_kind(tt);
    if (kind == 0xff) {
      snprintf(why, why_size, "dictionary-encoded %s values are not supported (only strings)", tname);
      return TD_OK;
    }
    int64_t id;
    int32_t bits = 32;
    bool sgn = true, has_idx;
    ipc_tab it;
    rc = ipc_tab_i64(&dict, 0, 0, &id, err);
    if (!rc) rc = ipc_tab_table(&dict, 1, &it, &has_idx, err);
    if (!rc && has_idx) rc = int_type(r, &it, &bits, &sgn, err);
    if (!rc) rc = find_dict(r, id, kind, &c->dict, err);
    if (rc) return rc;
    bool bin = tt == IPC_T_BINARY || tt == IPC_T_LARGE_BINARY || tt == IPC_T_BINARY_VIEW;
    r->dicts[c->dict].binary = bin;
    c->type = bin ? TD_TYPE_BINARY : TD_TYPE_UTF8; /* Polars' categoricals: utf8 views */
    c->kind = IPC_K_DICT;
    c->src_width = (uint8_t)(bits / 8);
    c->src_signed = sgn;
    return TD_OK;
  }
  switch (tt) {
    case IPC_T_INT: {
      int32_t bits;
      bool sgn;
      if ((rc = int_type(r, &t, &bits, &sgn, err))) return rc;
      static const td_type_id sig[] = {TD_TYPE_INT8, TD_TYPE_INT16, TD_TYPE_NONE, TD_TYPE_INT32,
                                       TD_TYPE_NONE, TD_TYPE_NONE, TD_TYPE_NONE, TD_TYPE_INT64};
      static const td_type_id uns[] = {TD_TYPE_UINT8, TD_TYPE_UINT16, TD_TYPE_NONE, TD_TYPE_UINT32,
                                       TD_TYPE_NONE, TD_TYPE_NONE, TD_TYPE_NONE, TD_TYPE_UINT64};
      td_type_id out = (sgn ? sig : uns)[bits / 8 - 1];
      if (out == TD_TYPE_NONE) snprintf(why, why_size, "int%d is not supported", (int)bits);
      else set_fixed(c, out, bits / 8, sgn);
      return TD_OK;
    }
    case IPC_T_FLOAT: {
      int16_t prec;
      if ((rc = ipc_tab_i16(&t, 0, 0, &prec, err))) return rc;
      if (prec == 1) set_fixed(c, TD_TYPE_FLOAT32, 4, true);
      else if (prec == 2) set_fixed(c, TD_TYPE_FLOAT64, 8, true);
      else if (prec == 0) set_fixed(c, TD_TYPE_FLOAT32, 2, true); /* half floats widen exactly */
      else snprintf(why, why_size, "unknown float precision");
      return TD_OK;
    }
    case IPC_T_BOOL:
      c->type = TD_TYPE_BOOL;
      c->kind = IPC_K_BOOL;
      return TD_OK;
    case IPC_T_UTF8: case IPC_T_BINARY: case IPC_T_LARGE_UTF8: case IPC_T_LARGE_BINARY:
      c->type = string_type(tt);
      c->kind = string_kind(tt);
      c->binary = tt == IPC_T_BINARY || tt == IPC_T_LARGE_BINARY;
      return TD_OK;
    case IPC_T_UTF8_VIEW: case IPC_T_BINARY_VIEW: /* Polars' strings: read as utf8 / binary */
      c->type = tt == IPC_T_BINARY_VIEW ? TD_TYPE_BINARY : TD_TYPE_UTF8;
      c->kind = IPC_K_VIEW;
      c->binary = tt == IPC_T_BINARY_VIEW;
      return TD_OK;
    case IPC_T_FIXED_BINARY: /* binary, each value its byteWidth bytes */
      if ((rc = check_params(r, tt, &t, tname, err)) || (rc = ipc_tab_i32(&t, 0, 0, &c->byte_width, err)))
        return rc;
      c->type = TD_TYPE_BINARY;
      c->kind = IPC_K_FIXBIN;
      c->binary = true;
      return TD_OK;
    case IPC_T_TIMESTAMP: case IPC_T_DATE: case IPC_T_TIME: {
      /* the unit is kept (no rescaling), so every value reads exactly */
      static const td_type_id ts[] = {TD_TYPE_TIMESTAMP_S, TD_TYPE_TIMESTAMP_MS, TD_TYPE_TIMESTAMP_US,
                                      TD_TYPE_TIMESTAMP};
      static const td_type_id tm[] = {TD_TYPE_TIME32_S, TD_TYPE_TIME32_MS, TD_TYPE_TIME64_US,
                                      TD_TYPE_TIME64_NS};
      int16_t unit;
      int32_t bits = 0;
      if ((rc = ipc_tab_i16(&t, 0, tt == IPC_T_TIMESTAMP ? 0 : 1, &unit, err))) return rc;
      if (tt == IPC_T_TIMESTAMP && (rc = ipc_tab_string(&t, 1, tz, tz_len, err))) return rc;
      if (tt == IPC_T_TIME && (rc = ipc_tab_i32(&t, 1, 32, &bits, err))) return rc;
      td_type_id out = TD_TYPE_NONE;
      if (tt == IPC_T_DATE && (unit == 0 || unit == 1)) out = unit == 0 ? TD_TYPE_DATE32 : TD_TYPE_DATE64;
      else if (tt == IPC_T_TIMESTAMP && unit >= 0 && unit <= 3) out = ts[unit];
      else if (tt == IPC_T_TIME && unit >= 0 && unit <= 3) out = tm[unit];
      if (out == TD_TYPE_NONE)
        return td_err(err, TD_EFORMAT, "'%s': unknown %s unit %d", r->base.io.path, tname, (int)unit);
      if (tt == IPC_T_TIME && bits != td_type_width(out) * 8)
        return td_err(err, TD_EFORMAT, "'%s': %s of unit %d has bit width %d, expected %d",
                      r->base.io.path, tname, (int)unit, (int)bits, td_type_width(out) * 8);
      set_fixed(c, out, td_type_width(out), true);
      return TD_OK;
    }
    case IPC_T_DURATION: { /* int64 of the unit (SECOND..NANOSECOND: duration_s..duration_ns) */
      int16_t unit;
      if ((rc = check_params(r, tt, &t, tname, err)) || (rc = ipc_tab_i16(&t, 0, 1, &unit, err))) return rc;
      set_fixed(c, (td_type_id)(TD_TYPE_DURATION_S + unit), 8, true);
      return TD_OK;
    }
    case IPC_T_DECIMAL: {
      int32_t prec, scale, bits;
      if ((rc = check_params(r, tt, &t, tname, err))) return rc;
      if ((rc = ipc_tab_i32(&t, 0, 0, &prec, err)) || (rc = ipc_tab_i32(&t, 1, 0, &scale, err)) ||
          (rc = ipc_tab_i32(&t, 2, 128, &bits, err)))
        return rc;
      if (bits != 128 || prec > TD_DECIMAL128_MAX_PRECISION || scale < 0 || scale > prec)
        snprintf(why, why_size, "decimal%d(%d, %d) is not supported (decimal128 with 0 <= scale <= precision)",
                 (int)bits, (int)prec, (int)scale);
      else {
        set_fixed(c, TD_TYPE_DECIMAL128, 16, true);
        c->dec_precision = prec;
        c->dec_scale = scale;
      }
      return TD_OK;
    }
    case IPC_T_LIST: case IPC_T_STRUCT: case IPC_T_UNION: case IPC_T_FIXED_LIST: case IPC_T_MAP:
    case IPC_T_LARGE_LIST: case IPC_T_RUN_END: case IPC_T_LIST_VIEW: case IPC_T_LARGE_LIST_VIEW:
      snprintf(why, why_size, "nested type %s is not supported", tname);
      return TD_OK;
    default:
      if ((rc = check_params(r, tt, &t, tname, err))) return rc;
      snprintf(why, why_size, "type %s is not supported", tname);
      return TD_OK;
  }
}

static int add_field(ipc_reader *r, const ipc_tab *f, const layout *at, bool layout_known,
                     td_error *err) {
  const char *name;
  uint32_t name_len, tz_len;
  uint8_t nullable;
  const char *tz;
  char why[160];
  ipc_col c;
  memset(&c, 0, sizeof c);
  int rc = ipc_tab_string(f, 0, &name, &name_len, err);
  if (!rc) rc = ipc_tab_u8(f, 1, 0, &nullable, err);
  if (!rc) rc = map_field(r, f, &c, &tz, &tz_len, why, sizeof why, err);
  if (rc) return rc;
  char *nm = td_strndup(name ? name : "", name_len);
  char dparam[16];
  if (c.kind != 0xff && c.type == TD_TYPE_DECIMAL128) {
    td_dec_param_text(c.dec_precision, c.dec_scale, dparam, sizeof dparam);
    tz = dparam;
    tz_len = (uint32_t)strlen(dparam);
  }
  char *tzs = tz ? td_strndup(tz, tz_len) : NULL;
  if (!nm || (tz && !tzs)) {
    rc = td_err_nomem(err, "reading an IPC schema");
  } else if (c.kind == 0xff || !layout_known) {
    rc = td_reader_add_unsupported(&r->base, nm, c.kind == 0xff ? why
                                   : "follows a field of unknown type, so its buffers cannot be located", err);
  } else {
    c.node = at->nodes;
    c.buf = at->bufs;
    c.views_before = at->views;
    int64_t n = r->base.schema.n_fields;
    ipc_col *cols = td_realloc(r->cols, (size_t)(n + 1) * sizeof *cols);
    if (!cols) rc = td_err_nomem(err, "reading an IPC schema");
    else {
      r->cols = cols;
      cols[n] = c;
      rc = td_schema_add(&r->base.schema, nm, c.type, tzs, nullable != 0, err);
    }
  }
  td_free(nm);
  td_free(tzs);
  return rc;
}

int ipc_schema_read(ipc_reader *r, const ipc_tab *schema, td_error *err) {
  int16_t endian;
  ipc_vec fields;
  int rc = ipc_tab_i16(schema, 0, 0, &endian, err);
  if (rc) return rc;
  if (endian != 0)
    return td_err(err, TD_EUNSUPPORTED, "'%s': big-endian Arrow IPC data is not supported",
                  r->base.io.path);
  if ((rc = ipc_tab_vector(schema, 1, 4, &fields, err))) return rc;
  layout l = {0, 0, 0, 0, true};
  for (uint32_t i = 0; i < fields.len; i++) {
    ipc_tab f;
    layout before = l;
    if ((rc = ipc_vec_table(&fields, i, &f, err))) return rc;
    if (l.known && (rc = count_layout(r, &f, 0, &l, err))) return rc;
    if ((rc = add_field(r, &f, &before, before.known && l.known, err))) return rc;
  }
  r->layout_known = l.known;
  r->layout_nodes = l.nodes;
  r->layout_bufs = l.bufs;
  r->layout_views = l.views;
  return TD_OK;
}

int ipc_check_version(const ipc_reader *r, int16_t version, td_error *err) {
  if (version > IPC_V5)
    return td_err(err, TD_EUNSUPPORTED, "'%s': metadata version V%d is not supported (expected V4 or V5)",
                  r->base.io.path, version + 1);
  if (version < IPC_V4)
    return td_err(err, TD_EUNSUPPORTED,
                  "'%s': metadata version V%d (pre-0.8 Arrow) is not supported (expected V4 or V5)",
                  r->base.io.path, version + 1);
  return TD_OK;
}

int ipc_schema_duration_unit(const uint8_t *msg, size_t n, const char *name) {
  if (n >= 8 && ipc_rd_u32(msg) == 0xFFFFFFFFu) msg += 8, n -= 8; /* continuation marker, length */
  else if (n >= 4) msg += 4, n -= 4;                               /* (pre-1.0) length */
  if (n > UINT32_MAX) return -1;
  ipc_fb fb = {msg, (uint32_t)n, "ARROW:schema"};
  ipc_tab m, schema, f, t;
  ipc_vec fields;
  bool has;
  uint8_t header_type, tt;
  td_error tmp; /* a malformed schema is ignored: the Parquet types stand */
  int unit = -1;
  if (ipc_fb_root(&fb, &m, &tmp) || ipc_tab_u8(&m, 1, 0, &header_type, &tmp) || header_type != 1 ||
      ipc_tab_table(&m, 2, &schema, &has, &tmp) || !has || ipc_tab_vector(&schema, 1, 4, &fields, &tmp))
    goto done;
  for (uint32_t i = 0; i < fields.len; i++) {
    const char *s;
    uint32_t len;
    if (ipc_vec_table(&fields, i, &f, &tmp) || ipc_tab_string(&f, 0, &s, &len, &tmp)) break;
    if (!s || len != strlen(name) || memcmp(s, name, len) != 0) continue;
    int16_t u;
    if (!ipc_tab_u8(&f, 2, 0, &tt, &tmp) && tt == IPC_T_DURATION && !ipc_tab_table(&f, 3, &t, &has, &tmp) &&
        !ipc_tab_i16(&t, 0, 1, &u, &tmp) && u >= 0 && u <= 3)
      unit = has ? u : 1;
    break;
  }
done:
  return unit;
}
