/*
 * formats/parquet/thrift.c - Thrift compact protocol decoding (bounds-checked,
 * depth-limited), used by the Parquet metadata parser.
 */
#include "formats/parquet/thrift.h"

#include <string.h>

void tc_fail(tc_reader *r, const char *why) {
  if (!r->bad) r->bad = why;
  r->p = r->end;
}

uint64_t tc_varint(tc_reader *r) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (r->p >= r->end) {
      tc_fail(r, "truncated varint");
      return 0;
    }
    uint8_t b = *r->p++;
    if (shift == 63 && (b & 0x7e)) break;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  tc_fail(r, "varint longer than 64 bits");
  return 0;
}

int64_t tc_zigzag(tc_reader *r) {
  uint64_t u = tc_varint(r);
  return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

bool tc_field(tc_reader *r, int16_t *last, int16_t *id, int *type) {
  if (r->bad) return false;
  if (r->p >= r->end) {
    tc_fail(r, "truncated struct (no stop field)");
    return false;
  }
  uint8_t b = *r->p++;
  *type = b & 0x0f;
  if (*type == TC_STOP) return false;
  int delta = b >> 4;
  if (delta) {
    *id = (int16_t)(*last + delta);
  } else {
    int64_t v = tc_zigzag(r);
    if (v < INT16_MIN || v > INT16_MAX) {
      tc_fail(r, "field id out of range");
      return false;
    }
    *id = (int16_t)v;
  }
  if (*type > TC_STRUCT) {
    tc_fail(r, "unknown field type");
    return false;
  }
  *last = *id;
  return !r->bad;
}

int64_t tc_int(tc_reader *r, int type) {
  switch (type) {
    case TC_BYTE:
      if (r->p >= r->end) {
        tc_fail(r, "truncated byte");
        return 0;
      }
      return (int8_t)*r->p++;
    case TC_I16:
    case TC_I32:
    case TC_I64: return tc_zigzag(r);
    default: tc_fail(r, "expected an integer field"); return 0;
  }
}

bool tc_bool(tc_reader *r, int type) {
  if (type == TC_TRUE) return true;
  if (type == TC_FALSE) return false;
  tc_fail(r, "expected a boolean field");
  return false;
}

const uint8_t *tc_binary(tc_reader *r, int type, int32_t *len) {
  *len = 0;
  if (type != TC_BINARY) {
    tc_fail(r, "expected a binary field");
    return NULL;
  }
  uint64_t n = tc_varint(r);
  if (r->bad) return NULL;
  if (n > (uint64_t)(r->end - r->p)) {
    tc_fail(r, "binary length exceeds the metadata");
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  *len = (int32_t)n;
  return p;
}

int64_t tc_list(tc_reader *r, int type, int *elem_type) { return tc_list_min(r, type, elem_type, 1); }

int64_t tc_list_min(tc_reader *r, int type, int *elem_type, int64_t min_bytes) {
  *elem_type = 0;
  if (type != TC_LIST && type != TC_SET) {
    tc_fail(r, "expected a list field");
    return 0;
  }
  if (r->p >= r->end) {
    tc_fail(r, "truncated list header");
    return 0;
  }
  uint8_t b = *r->p++;
  uint64_t n = b >> 4;
  *elem_type = b & 0x0f;
  if (n == 15) n = tc_varint(r);
  if (r->bad) return 0;
  /* Every element takes at least min_bytes (one for any value, bools too):
   * a count the bytes left cannot hold is refused before anyone allocates. */
  if (n > (uint64_t)(r->end - r->p) / (uint64_t)min_bytes) {
    tc_fail(r, "list length exceeds the metadata");
    return 0;
  }
  /* (An empty list's element type says nothing: hyparquet-writer writes 0.) */
  if (n > 0 && (*elem_type == TC_STOP || *elem_type > TC_STRUCT)) {
    tc_fail(r, "unknown list element type");
    return 0;
  }
  return (int64_t)n;
}

bool tc_enter(tc_reader *r) {
  if (++r->depth > TC_MAX_DEPTH) {
    tc_fail(r, "metadata nested too deeply");
    return false;
  }
  return !r->bad;
}

static void skip_bytes(tc_reader *r, int64_t n) {
  if (n > r->end - r->p) tc_fail(r, "truncated value");
  else r->p += n;
}

void tc_skip(tc_reader *r, int type) {
  if (r->bad) return;
  switch (type) {
    case TC_TRUE:
    case TC_FALSE: return;
    case TC_BYTE: skip_bytes(r, 1); return;
    case TC_I16:
    case TC_I32:
    case TC_I64: tc_varint(r); return;
    case TC_DOUBLE: skip_bytes(r, 8); return;
    case TC_BINARY: {
      int32_t len;
      tc_binary(r, type, &len);
      return;
    }
    case TC_LIST:
    case TC_SET: {
      int et;
      int64_t n = tc_list(r, type, &et);
      if (!tc_enter(r)) return;
      for (int64_t i = 0; i < n && !r->bad; i++) {
        if (et == TC_TRUE || et == TC_FALSE) skip_bytes(r, 1); /* bools: one byte each */
        else tc_skip(r, et);
      }
      tc_leave(r);
      return;
    }
    case TC_MAP: {
      uint64_t n = tc_varint(r);
      if (r->bad || n == 0) return;
      if (n > (uint64_t)(r->end - r->p)) {
        tc_fail(r, "map size exceeds the metadata");
        return;
      }
      if (r->p >= r->end) {
        tc_fail(r, "truncated map header");
        return;
      }
      uint8_t kv = *r->p++;
      int kt = kv >> 4, vt = kv & 0x0f;
      if (kt == 0 || kt > TC_STRUCT || vt == 0 || vt > TC_STRUCT) {
        tc_fail(r, "unknown map element type");
        return;
      }
      if (!tc_enter(r)) return;
      for (uint64_t i = 0; i < n && !r->bad; i++) {
        if (kt <= TC_FALSE) skip_bytes(r, 1);
        else tc_skip(r, kt);
        if (vt <= TC_FALSE) skip_bytes(r, 1);
        else tc_skip(r, vt);
      }
      tc_leave(r);
      return;
    }
    case TC_STRUCT: {
      if (!tc_enter(r)) return;
      int16_t last = 0, id;
      int t;
      while (tc_field(r, &last, &id, &t)) tc_skip(r, t);
      tc_leave(r);
      return;
    }
    default: tc_fail(r, "unknown value type"); return;
  }
}
