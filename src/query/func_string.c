/*
 * query/func_string.c - string functions of the registry: lower, upper,
 * length, substr, trim/ltrim/rtrim, replace, starts_with, ends_with,
 * contains, strpos, left, right, reverse, and regexp_matches/_replace/_extract (PCRE2; the
 * pattern is compiled once per bound node when it is a constant).
 * Positions and lengths count UTF-8 characters.  Case mapping is per code
 * point, glibc's towupper_l / towlower_l in a C.UTF-8 locale object (simple
 * one-to-one mappings, as DuckDB's; like DuckDB, upper('ß') is 'ẞ', U+1E9E,
 * where glibc keeps 'ß'); bytes that are not valid UTF-8 pass unchanged, and
 * without that locale only ASCII letters map.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <locale.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "query/func.h"
#include "query/vec.h"
#include "util/alloc.h"
#include "util/error.h"

static int bind_str_to_str(td_expr *e, td_error *err) {
  e->type = TD_TYPE_UTF8;
  for (int64_t i = 0; i < e->n_args; i++) {
    int rc = td__func_want_str(e, i, err);
    if (rc) return rc;
  }
  return TD_OK;
}

static int bind_str_to_bool(td_expr *e, td_error *err) {
  int rc = bind_str_to_str(e, err);
  e->type = TD_TYPE_BOOL;
  return rc;
}

static int bind_str_to_int(td_expr *e, td_error *err) {
  int rc = bind_str_to_str(e, err);
  e->type = TD_TYPE_INT64;
  return rc;
}

/* string, then integer arguments */
static int bind_str_ints(td_expr *e, td_error *err) {
  int rc = td__func_want_str(e, 0, err);
  for (int64_t i = 1; !rc && i < e->n_args; i++)
    if (!td_type_is_integer(e->args[i]->type) && e->args[i]->type != TD_TYPE_NONE)
      rc = td__func_arg_error(e, i, "an integer", err);
  e->type = TD_TYPE_UTF8;
  return rc;
}

static bool is_cont(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

/* Number of UTF-8 characters. */
static int64_t n_chars(const char *s, size_t n) {
  int64_t k = 0;
  for (size_t i = 0; i < n; i++) k += !is_cont(s[i]);
  return k;
}

/* Byte offset of character c (0-based; clamped to n). */
static size_t char_at(const char *s, size_t n, int64_t c) {
  size_t i = 0;
  for (; i < n && c > 0; c--) {
    i++;
    while (i < n && is_cont(s[i])) i++;
  }
  return i;
}

/* The C.UTF-8 locale object of case mapping ((locale_t)0 when the C library
 * has none: ASCII only then), made once and kept for the process. */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static void utf8_locale_init(void) { utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

/* The code point at s[0..n) into *cp; its bytes, or 0 when s does not start
 * with a valid (shortest-form, non-surrogate) UTF-8 sequence. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || len > n) return 0;
  uint32_t c = len == 1 ? s[0] : len == 2 ? s[0] & 0x1Fu : len == 3 ? s[0] & 0x0Fu : s[0] & 0x07u;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = c << 6 | (s[i] & 0x3Fu);
  }
  static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < least[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return len;
}

static size_t utf8_encode(uint32_t c, char *o) {
  if (c < 0x80) {
    o[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    o[0] = (char)(0xC0 | c >> 6);
    o[1] = (char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    o[0] = (char)(0xE0 | c >> 12);
    o[1] = (char)(0x80 | (c >> 6 & 0x3F));
    o[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | c >> 18);
  o[1] = (char)(0x80 | (c >> 12 & 0x3F));
  o[2] = (char)(0x80 | (c >> 6 & 0x3F));
  o[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

/* Appends s with each character's case mapped (see func.h). */
int td__utf8_case_map(const char *str, size_t n, bool up, td_fbuf *buf, td_error *err) {
  const unsigned char *s = (const unsigned char *)str;
  size_t ascii = 0, at = buf->len;
  while (ascii < n && s[ascii] < 0x80) ascii++;
  if (ascii < n) pthread_once(&utf8_once, utf8_locale_init);
  if (ascii == n || !utf8_locale) { /* ASCII letters in place */
    int rc = td__fbuf_put(buf, str, n, err);
    if (rc) return rc;
    char *p = buf->p + at;
    for (size_t i = 0; i < n; i++) {
      if (up && p[i] >= 'a' && p[i] <= 'z') p[i] = (char)(p[i] - 'a' + 'A');
      if (!up && p[i] >= 'A' && p[i] <= 'Z') p[i] = (char)(p[i] - 'A' + 'a');
    }
    return TD_OK;
  }
  /* a mapped character takes at most 4 bytes where it took 2 or more */
  char stack[256], *o = 2 * n + 4 <= sizeof stack ? stack : td_malloc(2 * n + 4);
  if (!o) return td_err_nomem(err, "mapping the case of a string");
  size_t len = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c;
    size_t k = utf8_decode(s + i, n - i, &c);
    if (k == 0) { /* not UTF-8: the byte as it is */
      o[len++] = (char)s[i++];
      continue;
    }
    wint_t m = up && c == 0xDF ? 0x1E9E /* DuckDB's capital sharp s */
               : up           ? towupper_l((wint_t)c, utf8_locale)
                              : towlower_l((wint_t)c, utf8_locale);
    len += utf8_encode(m <= 0x10FFFF && !(m >= 0xD800 && m <= 0xDFFF) ? (uint32_t)m : c, o + len);
    i += k;
  }
  int rc = td__fbuf_put(buf, o, len, err);
  if (o != stack) td_free(o);
  return rc;
}

/* upper(s) / lower(s). */
static int row_case_map(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                        td_error *err) {
  size_t from = buf->len;
  int rc = td__utf8_case_map(a[0].v.s.ptr, a[0].v.s.len, e->fn->name[0] == 'u', buf, err);
  if (!rc) td__fbuf_value(buf, from, out);
  return rc;
}

/* length(s): characters of a string, bytes of a binary value. */
static int bind_length(td_expr *e, td_error *err) {
  if (td_type_is_binary(e->args[0]->type)) {
    e->type = TD_TYPE_INT64;
    return TD_OK;
  }
  return bind_str_to_int(e, err);
}

static int row_length(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                      td_error *err) {
  if (td_type_is_binary(a[0].type)) {
    *out = td_value_int(TD_TYPE_INT64, (int64_t)a[0].v.s.len);
    return TD_OK;
  }
  *out = td_value_int(TD_TYPE_INT64, n_chars(a[0].v.s.ptr, a[0].v.s.len));
  return TD_OK;
}

/* substr(s, start [, len]): 1-based; a negative start counts from the end. */
static int row_substr(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                      td_error *err) {
  const char *s = a[0].v.s.ptr;
  size_t n = a[0].v.s.len;
  int64_t total = n_chars(s, n), start = a[1].v.i;
  if (start < 0) start = total + start + 1;
  int64_t lo = start, hi = total + 1; /* characters [lo, hi) */
  if (e->n_args > 2 && a[2].v.i < 0) { /* a negative length: the characters before start (DuckDB) */
    hi = start;
    if (__builtin_add_overflow(start, a[2].v.i, &lo)) lo = INT64_MIN;
  } else if (e->n_args > 2 && __builtin_add_overflow(start, a[2].v.i, &hi)) {
    hi = INT64_MAX;
  }
  if (lo < 1) lo = 1;
  if (hi > total + 1) hi = total + 1;
  if (hi < lo) hi = lo;
  size_t b0 = char_at(s, n, lo - 1), b1 = char_at(s, n, hi - 1);
  *out = a[0];
  out->v.s.ptr = s + b0;
  out->v.s.len = b1 - b0;
  return TD_OK;
}

static int row_left_right(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                          td_error *err) {
  const char *s = a[0].v.s.ptr;
  size_t n = a[0].v.s.len;
  int64_t total = n_chars(s, n), k = a[1].v.i;
  if (k < 0) k = total + k > 0 ? total + k : 0;
  if (k > total) k = total;
  size_t b0 = e->fn->name[0] == 'l' ? 0 : char_at(s, n, total - k);
  size_t b1 = e->fn->name[0] == 'l' ? char_at(s, n, k) : n;
  *out = a[0];
  out->v.s.ptr = s + b0;
  out->v.s.len = b1 - b0;
  return TD_OK;
}

static bool in_set(char c, const td_value *chars) {
  return chars ? memchr(chars->v.s.ptr, c, chars->v.s.len) != NULL : c == ' ';
}

static int row_trim(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  const char *s = a[0].v.s.ptr;
  size_t lo = 0, hi = a[0].v.s.len;
  const td_value *chars = e->n_args > 1 ? &a[1] : NULL;
  char which = e->fn->name[0]; /* t, l, r */
  if (which != 'r')
    while (lo < hi && in_set(s[lo], chars)) lo++;
  if (which != 'l')
    while (hi > lo && in_set(s[hi - 1], chars)) hi--;
  *out = a[0];
  out->v.s.ptr = s + lo;
  out->v.s.len = hi - lo;
  return TD_OK;
}

static const char *find(const char *s, size_t n, const char *t, size_t m) {
  if (m == 0) return s;
  if (m > n) return NULL;
  for (size_t i = 0; i + m <= n; i++)
    if (s[i] == t[0] && memcmp(s + i, t, m) == 0) return s + i;
  return NULL;
}

static int row_replace(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                       td_error *err) {
  const char *s = a[0].v.s.ptr, *f = a[1].v.s.ptr;
  size_t n = a[0].v.s.len, m = a[1].v.s.len, from = buf->len;
  if (m == 0) {
    *out = a[0];
    return TD_OK;
  }
  int rc = TD_OK;
  for (size_t i = 0; !rc && i < n;) {
    const char *hit = find(s + i, n - i, f, m);
    size_t upto = hit ? (size_t)(hit - s) : n;
    rc = td__fbuf_put(buf, s + i, upto - i, err);
    if (!rc && hit) rc = td__fbuf_put(buf, a[2].v.s.ptr, a[2].v.s.len, err);
    i = hit ? upto + m : n;
  }
  if (!rc) td__fbuf_value(buf, from, out);
  return rc;
}

static int row_affix(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                     td_error *err) {
  const char *s = a[0].v.s.ptr, *t = a[1].v.s.ptr;
  size_t n = a[0].v.s.len, m = a[1].v.s.len;
  bool r;
  if (e->fn->name[0] == 's') r = m <= n && memcmp(s, t, m) == 0;
  else if (e->fn->name[0] == 'e') r = m <= n && memcmp(s + n - m, t, m) == 0;
  else r = find(s, n, t, m) != NULL;
  *out = td_value_bool(r);
  return TD_OK;
}

static int row_strpos(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                      td_error *err) {
  const char *hit = find(a[0].v.s.ptr, a[0].v.s.len, a[1].v.s.ptr, a[1].v.s.len);
  *out = td_value_int(TD_TYPE_INT64, hit ? n_chars(a[0].v.s.ptr, (size_t)(hit - a[0].v.s.ptr)) + 1 : 0);
  return TD_OK;
}

/* Results of lpad, rpad and repeat are capped (a typo of a count should not
 * take the memory). */
#define PAD_MAX ((size_t)1 << 28)

static int too_long(const td_expr *e, td_error *err) {
  return td_err_at(err, TD_ERANGE, e->pos, "%s: the result would exceed %zu bytes at offset %lld", e->fn->name,
                   PAD_MAX, (long long)e->pos);
}

/* Appends k characters of fill (f, m bytes, nf characters) repeated. */
static int put_fill(td_fbuf *buf, const char *f, size_t m, int64_t nf, int64_t k, td_error *err) {
  int rc = TD_OK;
  for (; !rc && k >= nf; k -= nf) rc = td__fbuf_put(buf, f, m, err);
  if (!rc && k > 0) rc = td__fbuf_put(buf, f, char_at(f, m, k), err);
  return rc;
}

/* lpad(s, n, fill) / rpad(s, n, fill): s padded to n characters, or its
 * first n (DuckDB); an empty fill that is needed is an error, as DuckDB. */
static int bind_pad(td_expr *e, td_error *err) {
  int rc = td__func_want_str(e, 0, err);
  if (!rc && !td_type_is_integer(e->args[1]->type) && e->args[1]->type != TD_TYPE_NONE)
    rc = td__func_arg_error(e, 1, "an integer", err);
  if (!rc) rc = td__func_want_str(e, 2, err);
  e->type = TD_TYPE_UTF8;
  return rc;
}

static int row_pad(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  const char *s = a[0].v.s.ptr, *f = a[2].v.s.ptr;
  size_t n = a[0].v.s.len, m = a[2].v.s.len, from = buf->len;
  int64_t want = a[1].v.i < 0 ? 0 : a[1].v.i, have = n_chars(s, n), nf = n_chars(f, m);
  *out = a[0];
  if (want <= have) {
    out->v.s.len = char_at(s, n, want);
    return TD_OK;
  }
  if (nf == 0)
    return td_err_at(err, TD_ETYPE, e->args[2]->pos, "%s: the fill is empty, cannot pad to %lld characters at offset %lld",
                     e->fn->name, (long long)want, (long long)e->args[2]->pos);
  if ((uint64_t)(want - have) / (uint64_t)nf + 1 > PAD_MAX / (m ? m : 1)) return too_long(e, err);
  bool left = e->fn->name[0] == 'l';
  int rc = left ? put_fill(buf, f, m, nf, want - have, err) : td__fbuf_put(buf, s, n, err);
  if (!rc) rc = left ? td__fbuf_put(buf, s, n, err) : put_fill(buf, f, m, nf, want - have, err);
  if (!rc) td__fbuf_value(buf, from, out);
  return rc;
}

/* repeat(s, n): s n times ('' for n <= 0). */
static int row_repeat(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  size_t n = a[0].v.s.len, from = buf->len;
  int64_t k = a[1].v.i < 0 ? 0 : a[1].v.i;
  if (n && (uint64_t)k > PAD_MAX / n) return too_long(e, err);
  int rc = TD_OK;
  for (int64_t i = 0; !rc && i < k; i++) rc = td__fbuf_put(buf, a[0].v.s.ptr, n, err);
  if (!rc) td__fbuf_value(buf, from, out);
  return rc;
}

/* split_part(s, sep, i): the i-th part (1-based; negative from the end)
 * of s split at sep, '' when there is none; an empty sep splits into
 * characters (DuckDB). */
static int bind_split_part(td_expr *e, td_error *err) {
  int rc = td__func_want_str(e, 0, err);
  if (!rc) rc = td__func_want_str(e, 1, err);
  if (!rc && !td_type_is_integer(e->args[2]->type) && e->args[2]->type != TD_TYPE_NONE)
    rc = td__func_arg_error(e, 2, "an integer", err);
  e->type = TD_TYPE_UTF8;
  return rc;
}

/* The bytes [*lo, *hi) of part k (0-based) of s; false when there is none. */
static bool part_at(const char *s, size_t n, const char *t, size_t m, int64_t k, size_t *lo, size_t *hi) {
  size_t at = 0;
  for (int64_t i = 0;; i++) {
    size_t end;
    if (m == 0) {
      if (at >= n) return false;
      end = char_at(s + at, n - at, 1) + at;
    } else {
      const char *hit = find(s + at, n - at, t, m);
      end = hit ? (size_t)(hit - s) : n;
    }
    if (i == k) {
      *lo = at, *hi = end;
      return true;
    }
    if (end >= n) return false;
    at = m ? end + m : end;
  }
}

static int row_split_part(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  const char *s = a[0].v.s.ptr, *t = a[1].v.s.ptr;
  size_t n = a[0].v.s.len, m = a[1].v.s.len, lo = 0, hi = 0;
  int64_t k = a[2].v.i;
  if (k < 0) { /* from the end: count the parts */
    int64_t parts = 0;
    size_t x, y;
    while (part_at(s, n, t, m, parts, &x, &y)) parts++;
    k += parts + 1;
  }
  *out = a[0];
  if (k < 1 || !part_at(s, n, t, m, k - 1, &lo, &hi)) lo = hi = 0;
  out->v.s.ptr = s + lo;
  out->v.s.len = hi - lo;
  return TD_OK;
}

static int row_reverse(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                       td_error *err) {
  const char *s = a[0].v.s.ptr;
  size_t n = a[0].v.s.len, from = buf->len;
  int rc = TD_OK;
  for (size_t end = n; !rc && end > 0;) {
    size_t b = end - 1;
    while (b > 0 && is_cont(s[b])) b--;
    rc = td__fbuf_put(buf, s + b, end - b, err);
    end = b;
  }
  if (!rc) td__fbuf_value(buf, from, out);
  return rc;
}


/* ---- whole batches (func.h's vec hook) ----
 * The first argument a string vector and every other one a constant that
 * is not null: the rows are computed in one loop over the offsets, each
 * through the function's own row hook (the same answer as row by row)
 * without boxing the arguments, and the common cases without calling it at
 * all: length of ASCII text is its byte count, upper/lower of ASCII text
 * one pass over the bytes.  None of these functions fails on a row. */

/* Whether bytes s[0..n) are all ASCII. */
static bool all_ascii(const char *s, int64_t n) {
  unsigned char acc = 0;
  for (int64_t i = 0; i < n; i++) acc |= (unsigned char)s[i];
  return acc < 0x80;
}

/* out := a copy of in's validity (or none), n rows; TD_ENOMEM. */
static int copy_valid(const td_vec *in, int64_t n, td_vec *out, td_error *err) {
  if (!in->valid) return TD_OK;
  uint8_t *v = td_malloc((size_t)(n ? n : 1));
  if (!v) return td_err_nomem(err, "evaluating a string function");
  if (n) memcpy(v, in->valid, (size_t)n);
  td__vec_own(out, v);
  out->valid = v;
  return TD_OK;
}

/* length of a whole vector: characters (bytes of a binary value). */
static int length_rows(const td_expr *e, const td_vec *a, int64_t n, int64_t *d) {
  const int32_t *o = a->offs;
  bool bytes = td_type_is_binary(e->args[0]->type) || all_ascii(a->strs + o[0], (int64_t)o[n] - o[0]);
  for (int64_t i = 0; i < n; i++)
    d[i] = bytes ? o[i + 1] - o[i] : n_chars(a->strs + o[i], (size_t)(o[i + 1] - o[i]));
  return TD_OK;
}

/* upper/lower of a whole vector of ASCII text: the bytes mapped. */
static void case_ascii(bool up, const char *s, int64_t n, char *d) {
  const char lo = up ? 'a' : 'A', hi = up ? 'z' : 'Z';
  for (int64_t i = 0; i < n; i++) {
    char c = s[i];
    d[i] = (char)(c ^ ((c >= lo && c <= hi) ? 0x20 : 0));
  }
}

int td__vec_string(const td_expr *e, const td_vec *a, int64_t n, td_vec *out, bool *done, td_error *err) {
  if (a[0].is_const || a[0].ph != TD_PHYS_STR || e->n_args > 3) return TD_OK;
  td_value vals[3];
  for (int64_t i = 1; i < e->n_args; i++) {
    if (!a[i].is_const || a[i].c.is_null) return TD_OK;
    vals[i] = td__vec_value(&a[i], 0, e->args[i]->type);
  }
  memset(out, 0, sizeof *out);
  const td_phys ph = td__phys_of(e->type);
  out->ph = ph;
  out->n = n;
  const int32_t *o = a[0].offs;
  const char *strs = a[0].strs;
  int rc = copy_valid(&a[0], n, out, err);
  if (!rc && ph == TD_PHYS_STR) {
    int32_t *offs = td_malloc((size_t)(n + 1) * sizeof *offs);
    td__vec_own(out, offs);
    if (!offs) rc = td_err_nomem(err, "evaluating a string function");
    const int64_t base = o[0], bytes = (int64_t)o[n] - base;
    const bool map = !rc && e->fn->row == row_case_map && all_ascii(strs + base, bytes);
    td_fbuf res = {0}, scratch = {0};
    if (map) { /* the same offsets, the bytes mapped */
      if (!(res.p = td_malloc((size_t)(bytes ? bytes : 1)))) rc = td_err_nomem(err, "evaluating a string function");
      if (!rc) case_ascii(e->fn->name[0] == 'u', strs + base, bytes, res.p);
      for (int64_t i = 0; !rc && i <= n; i++) offs[i] = o[i] - (int32_t)base;
    } else if (!rc) {
      offs[0] = 0;
      vals[0].type = e->args[0]->type; /* utf8, or binary for length and || */
      vals[0].is_null = false;
      for (int64_t i = 0; !rc && i < n; i++) {
        if (!a[0].valid || a[0].valid[i]) {
          td_value r;
          vals[0].v.s.ptr = strs + o[i];
          vals[0].v.s.len = (size_t)(o[i + 1] - o[i]);
          scratch.len = 0;
          rc = e->fn->row(e, vals, &r, &scratch, err);
          if (!rc && !r.is_null) rc = td__fbuf_put(&res, r.v.s.ptr, r.v.s.len, err);
          if (!rc && res.len > INT32_MAX) rc = td_err(err, TD_ERANGE, "a string result exceeds 2 GiB in one batch");
        }
        offs[i + 1] = (int32_t)res.len;
      }
      if (!rc && !res.p && !(res.p = td_malloc(1))) rc = td_err_nomem(err, "evaluating a string function");
    }
    td_free(scratch.p);
    if (rc) td_free(res.p);
    else {
      td__vec_own(out, res.p);
      out->offs = offs;
      out->strs = res.p;
    }
  } else if (!rc) {
    void *d = td_malloc((size_t)(n ? n : 1) * (ph == TD_PHYS_BOOL ? 1 : 8));
    td__vec_own(out, d);
    if (!d) rc = td_err_nomem(err, "evaluating a string function");
    else if (e->fn->row == row_length) rc = length_rows(e, &a[0], n, d);
    else {
      vals[0].type = e->args[0]->type; /* utf8, or binary for length and || */
      vals[0].is_null = false;
      for (int64_t i = 0; !rc && i < n; i++) {
        td_value r = td_value_int(TD_TYPE_INT64, 0);
        if (!a[0].valid || a[0].valid[i]) {
          vals[0].v.s.ptr = strs + o[i];
          vals[0].v.s.len = (size_t)(o[i + 1] - o[i]);
          rc = e->fn->row(e, vals, &r, NULL, err);
        }
        if (ph == TD_PHYS_BOOL) ((uint8_t *)d)[i] = !r.is_null && r.v.b;
        else ((int64_t *)d)[i] = r.is_null ? 0 : r.v.i;
      }
    }
    if (ph == TD_PHYS_BOOL) out->b8 = d;
    else out->i64 = d;
  }
  if (rc) td__vec_free(out);
  else *done = true;
  return rc;
}

/* ---- regexp_matches, regexp_replace, regexp_extract (PCRE2) ----
 * As DuckDB (RE2): an optional constant options string ('i' case-
 * insensitive, 'c' case-sensitive, 'l' the pattern is literal text, 'g'
 * every match, for regexp_replace only); "\1".."\9" in a replacement name a
 * group, "\0" the whole match, "\\" a backslash; regexp_extract gives group
 * 0-9 of the first match, or '' when nothing matches. */

/* The argument holding the options, -1 if the function has none. */
static int64_t options_arg(const td_expr *e) {
  if (strcmp(e->fn->name, "regexp_replace") == 0) return e->n_args > 3 ? 3 : -1;
  if (strcmp(e->fn->name, "regexp_matches") == 0 || strcmp(e->fn->name, "regexp_full_match") == 0)
    return e->n_args > 2 ? 2 : -1;
  return -1;
}

/* The options' compile flags (and 'g'); TD_ETYPE on an unknown letter. */
static int regexp_options(const td_expr *e, uint32_t *flags, bool *global, td_error *err) {
  *flags = PCRE2_UTF;
  if (strcmp(e->fn->name, "regexp_full_match") == 0) *flags |= PCRE2_ANCHORED | PCRE2_ENDANCHORED; /* SIMILAR TO */
  *global = false;
  int64_t i = options_arg(e);
  if (i < 0) return TD_OK;
  const td_expr *o = e->args[i];
  bool replace = strcmp(e->fn->name, "regexp_replace") == 0;
  for (size_t k = 0; k < o->lit.v.s.len; k++) {
    char c = o->lit.v.s.ptr[k];
    if (c == 'i') *flags |= PCRE2_CASELESS;
    else if (c == 'c') *flags &= ~(uint32_t)PCRE2_CASELESS;
    else if (c == 'l') *flags |= PCRE2_LITERAL;
    else if (c == 'g' && replace) *global = true;
    else
      return td_err_at(err, TD_ETYPE, o->pos,
                       "%s: unknown option '%c' at offset %lld (expected a string of i, c, l%s)", e->fn->name, c,
                       (long long)o->pos, replace ? ", g" : "");
  }
  return TD_OK;
}

static int compile(const td_expr *e, const char *p, size_t n, pcre2_code **out, td_error *err) {
  int code;
  PCRE2_SIZE off;
  uint32_t flags;
  bool global;
  int rc = regexp_options(e, &flags, &global, err);
  if (rc) return rc;
  *out = pcre2_compile((PCRE2_SPTR)p, n, flags, &code, &off, NULL);
  if (*out) return TD_OK;
  PCRE2_UCHAR msg[160];
  pcre2_get_error_message(code, msg, sizeof msg);
  const td_expr *at = e->args[1];
  return td_err_at(err, TD_ETYPE, at->pos, "bad regular expression at offset %lld: %s (at character %zu of the pattern)",
                   (long long)at->pos, (const char *)msg, (size_t)off);
}

/* The pattern is compiled once when it is a constant. */
static int prepare_regexp(td_expr *e, td_error *err) {
  const td_expr *p = e->args[1];
  if (p->kind != TD_EXPR_LITERAL || p->lit.is_null || p->lit.type != TD_TYPE_UTF8) return TD_OK;
  pcre2_code *c;
  int rc = compile(e, p->lit.v.s.ptr, p->lit.v.s.len, &c, err);
  if (rc) return rc;
  /* machine code for the matcher where PCRE2 has it (else, or when this
   * fails, pcre2_match interprets the pattern); TD_REGEX_JIT=0 leaves it
   * out (valgrind takes the JIT's reads past a match for uninitialized) */
  const char *jit = getenv("TD_REGEX_JIT");
  if (!jit || strcmp(jit, "0") != 0) (void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
  e->fn_state = c;
  return rc;
}

static void release_regexp(void *state) { pcre2_code_free(state); }

/* (string, pattern[, options]) or (string, pattern, replacement[, options]) or
 * (string, pattern[, group]): strings, with the options (and the group) a
 * constant, checked here. */
static int bind_regexp(td_expr *e, td_error *err) {
  bool extract = strcmp(e->fn->name, "regexp_extract") == 0;
  int64_t opt = options_arg(e);
  e->type = strcmp(e->fn->name, "regexp_matches") == 0 || strcmp(e->fn->name, "regexp_full_match") == 0
                ? TD_TYPE_BOOL
                : TD_TYPE_UTF8;
  int rc = TD_OK;
  for (int64_t i = 0; !rc && i < e->n_args; i++) {
    const td_expr *a = e->args[i];
    bool constant = i == opt || (extract && i == 2);
    if (extract && i == 2) {
      if (!td_type_is_integer(a->type) && a->type != TD_TYPE_NONE) rc = td__func_arg_error(e, i, "an integer", err);
    } else {
      rc = td__func_want_str(e, i, err);
    }
    if (!rc && constant && (a->kind != TD_EXPR_LITERAL || a->lit.is_null))
      rc = td_err_at(err, TD_ETYPE, a->pos, "%s: the %s at offset %lld must be a constant", e->fn->name,
                     i == opt ? "options" : "group", (long long)a->pos);
    if (!rc && extract && i == 2 && (a->lit.v.i < 0 || a->lit.v.i > 9))
      rc = td_err_at(err, TD_ETYPE, a->pos, "regexp_extract: group %lld at offset %lld is out of range (expected 0 to 9)",
                     (long long)a->lit.v.i, (long long)a->pos);
  }
  if (!rc && opt >= 0) { /* an unknown option fails at binding, not per row */
    uint32_t flags;
    bool global;
    rc = regexp_options(e, &flags, &global, err);
  }
  return rc;
}

/* Runs the compiled (or per-row) pattern of e over a[0] from `start`; the
 * match count (PCRE2_ERROR_NOMATCH: none) into *m. */
static int regexp_run(const td_expr *e, pcre2_code *c, const td_value *s, size_t start, uint32_t opts,
                      pcre2_match_data *md, int *m, td_error *err) {
  *m = pcre2_match(c, (PCRE2_SPTR)s->v.s.ptr, s->v.s.len, start, opts, md, NULL);
  if (*m == PCRE2_ERROR_JIT_STACKLIMIT) /* deeper than the JIT's stack: the interpreter */
    *m = pcre2_match(c, (PCRE2_SPTR)s->v.s.ptr, s->v.s.len, start, opts | PCRE2_NO_JIT, md, NULL);
  if (*m >= 0 || *m == PCRE2_ERROR_NOMATCH) return TD_OK;
  return td_err_at(err, TD_EINVAL, e->pos, "regular expression failed at offset %lld (PCRE2 error %d)",
                   (long long)e->pos, *m);
}

/* Appends the replacement r for the match in md (groups \0-\9). */
static int put_replacement(const td_expr *e, const td_value *r, const td_value *s, pcre2_match_data *md, int m,
                           td_fbuf *buf, td_error *err) {
  const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
  uint32_t groups = pcre2_get_ovector_count(md);
  const char *p = r->v.s.ptr;
  size_t n = r->v.s.len;
  int rc = TD_OK;
  for (size_t k = 0; !rc && k < n; k++) {
    if (p[k] != '\\') {
      size_t run = k;
      while (run < n && p[run] != '\\') run++;
      rc = td__fbuf_put(buf, p + k, run - k, err);
      k = run - 1;
      continue;
    }
    if (++k == n)
      return td_err_at(err, TD_EINVAL, e->args[2]->pos,
                       "regexp_replace: the replacement at offset %lld ends in a lone '\\' (expected \\0-\\9 or \\\\)",
                       (long long)e->args[2]->pos);
    if (p[k] == '\\') {
      rc = td__fbuf_put(buf, "\\", 1, err);
    } else if (p[k] >= '0' && p[k] <= '9') {
      uint32_t g = (uint32_t)(p[k] - '0');
      if (g >= groups)
        return td_err_at(err, TD_EINVAL, e->args[2]->pos,
                         "regexp_replace: the replacement at offset %lld names group %u, but the pattern has %u",
                         (long long)e->args[2]->pos, g, groups - 1);
      if ((int)g < m && ov[2 * g] != PCRE2_UNSET) rc = td__fbuf_put(buf, s->v.s.ptr + ov[2 * g], ov[2 * g + 1] - ov[2 * g], err);
    } else {
      return td_err_at(err, TD_EINVAL, e->args[2]->pos,
                       "regexp_replace: '\\%c' in the replacement at offset %lld (expected \\0-\\9 or \\\\)", p[k],
                       (long long)e->args[2]->pos);
    }
  }
  return rc;
}

/* The bytes of the UTF-8 character at s[i] (1 past the end). */
static size_t char_len(const char *s, size_t n, size_t i) {
  size_t k = i + 1;
  while (k < n && is_cont(s[k])) k++;
  return k - i;
}

/* One row of a regexp function, with the pattern compiled and match data for it. */
typedef int (*regexp_row_fn)(const td_expr *e, pcre2_code *c, const td_value *a, td_value *out, td_fbuf *buf,
                             pcre2_match_data *md, td_error *err);

static int matches_row(const td_expr *e, pcre2_code *c, const td_value *a, td_value *out, td_fbuf *buf,
                       pcre2_match_data *md, td_error *err) {
  (void)buf;
  int m, rc = regexp_run(e, c, &a[0], 0, 0, md, &m, err);
  if (!rc) *out = td_value_bool(m >= 0);
  return rc;
}

static int extract_row(const td_expr *e, pcre2_code *c, const td_value *a, td_value *out, td_fbuf *buf,
                       pcre2_match_data *md, td_error *err) {
  int m, rc = regexp_run(e, c, &a[0], 0, 0, md, &m, err);
  const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
  uint32_t g = e->n_args > 2 ? (uint32_t)e->args[2]->lit.v.i : 0;
  size_t from = buf->len;
  if (!rc && m >= 0 && (int)g < m && ov[2 * g] != PCRE2_UNSET)
    rc = td__fbuf_put(buf, a[0].v.s.ptr + ov[2 * g], ov[2 * g + 1] - ov[2 * g], err);
  if (!rc) td__fbuf_value(buf, from, out);
  return rc;
}

static int replace_row(const td_expr *e, pcre2_code *c, const td_value *a, td_value *out, td_fbuf *buf,
                       pcre2_match_data *md, td_error *err) {
  uint32_t flags;
  bool global;
  int m = PCRE2_ERROR_NOMATCH, rc = regexp_options(e, &flags, &global, err);
  if (!rc) rc = regexp_run(e, c, &a[0], 0, 0, md, &m, err);
  const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
  const char *s = a[0].v.s.ptr;
  size_t n = a[0].v.s.len, done = 0, from = buf->len;
  while (!rc && m >= 0) {
    size_t b = ov[0], end = ov[1];
    rc = td__fbuf_put(buf, s + done, b - done, err);
    if (!rc) rc = put_replacement(e, &a[2], &a[0], md, m, buf, err);
    done = end;
    if (rc || !global) break;
    if (end == b) { /* an empty match: the next character is kept, and matching goes on after it */
      if (end >= n) break;
      size_t k = char_len(s, n, end);
      rc = td__fbuf_put(buf, s + end, k, err);
      done = end + k;
    }
    if (!rc) rc = regexp_run(e, c, &a[0], done, 0, md, &m, err);
    if (!rc && m >= 0 && ov[1] == ov[0] && ov[0] == end && end > b) /* empty right after a match: skip it */
      rc = regexp_run(e, c, &a[0], done, PCRE2_NOTEMPTY_ATSTART, md, &m, err);
  }
  if (!rc) rc = td__fbuf_put(buf, s + done, n - done, err);
  if (!rc) td__fbuf_value(buf, from, out);
  return rc;
}

/* The match data of a batch of rows of one compiled pattern (vec_regexp),
 * which with_regexp takes instead of making its own for each row. */
static _Thread_local struct {
  const pcre2_code *c;
  pcre2_match_data *md;
} batch_md;

/* Runs fn with e's compiled pattern (or a[1] compiled for this row). */
static int with_regexp(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err,
                       regexp_row_fn fn) {
  pcre2_code *c = e->fn_state;
  int rc = c ? TD_OK : compile(e, a[1].v.s.ptr, a[1].v.s.len, &c, err);
  if (rc) return rc;
  pcre2_match_data *md = c == batch_md.c ? batch_md.md : pcre2_match_data_create_from_pattern(c, NULL);
  rc = md ? fn(e, c, a, out, buf, md, err) : td_err_nomem(err, "matching a regular expression");
  if (md != batch_md.md) pcre2_match_data_free(md);
  if (c != e->fn_state) pcre2_code_free(c);
  return rc;
}

/* A batch of rows of a constant pattern: td__vec_string's loop over the
 * rows, with one match data for all of them (a malloc and free a row
 * otherwise, which threads sharing one malloc arena wait on).  A row that
 * fails leaves the batch to the row path, which reports it as it does
 * (and skips rows outside the selection). */
static int vec_regexp(const td_expr *e, const td_vec *a, int64_t n, td_vec *out, bool *done, td_error *err) {
  pcre2_code *c = e->fn_state;
  if (!c || a[0].is_const || a[0].ph != TD_PHYS_STR) return TD_OK;
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
  if (!md) return td_err_nomem(err, "matching a regular expression");
  batch_md.c = c;
  batch_md.md = md;
  td_error row_err; /* (the row path's own error stands) */
  if (td__vec_string(e, a, n, out, done, &row_err) != TD_OK) *done = false; /* (out freed) */
  batch_md.c = NULL;
  batch_md.md = NULL;
  pcre2_match_data_free(md);
  return TD_OK;
}

static int row_regexp_matches(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  return with_regexp(e, a, out, buf, err, matches_row);
}

static int row_regexp_extract(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  return with_regexp(e, a, out, buf, err, extract_row);
}

static int row_regexp_replace(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  return with_regexp(e, a, out, buf, err, replace_row);
}

/* ---- GLOB ----
 * x GLOB pattern, as DuckDB: '*' any characters, '?' one character (a
 * whole UTF-8 sequence), '[abc]', '[a-z]' and '[!abc]' (or '[^abc]') one
 * character of a set, '\' makes the next character literal; the whole
 * string must match. */

/* The code point of the l-byte UTF-8 sequence at s (its lead byte's bits
 * and the continuation bytes', unchecked: sets compare code points). */
static uint32_t utf8_code(const char *s, size_t l) {
  if (l > 4) return (unsigned char)s[0]; /* not UTF-8 (a run of continuation bytes): its first byte */
  uint32_t c = (unsigned char)s[0] & (0x7Fu >> l);
  for (size_t k = 1; k < l; k++) c = c << 6 | ((unsigned char)s[k] & 0x3Fu);
  return c;
}

/* The set at p[*j] (after '['), against character c (code point of the
 * subject): whether it matches; *j moves past the ']'.  False (and *j = m)
 * for an unterminated set, which matches nothing. */
static bool glob_set(const char *p, size_t m, size_t *j, uint32_t c) {
  size_t k = *j;
  bool neg = k < m && (p[k] == '!' || p[k] == '^');
  if (neg) k++;
  bool hit = false, first = true;
  while (k < m && (p[k] != ']' || first)) {
    first = false;
    uint32_t lo = (unsigned char)p[k];
    size_t l = char_len(p, m, k);
    if (l > 1) lo = utf8_code(p + k, l);
    k += l;
    uint32_t hi = lo;
    if (k + 1 < m && p[k] == '-' && p[k + 1] != ']') {
      k++;
      hi = (unsigned char)p[k];
      l = char_len(p, m, k);
      if (l > 1) hi = utf8_code(p + k, l);
      k += l;
    }
    hit |= c >= lo && c <= hi;
  }
  if (k >= m) {
    *j = m;
    return false;
  }
  *j = k + 1;
  return hit != neg;
}

static bool glob_match(const char *s, size_t n, const char *p, size_t m) {
  size_t i = 0, j = 0, star_i = 0, star_j = SIZE_MAX;
  while (i < n) {
    if (j < m && p[j] == '*') {
      star_j = ++j;
      star_i = i;
      continue;
    }
    size_t cl = char_len(s, n, i);
    if (j < m) {
      size_t jj = j;
      bool ok;
      if (p[j] == '?') {
        ok = true;
        jj++;
      } else if (p[j] == '[') {
        jj++;
        uint32_t c = cl > 1 ? utf8_code(s + i, cl) : (unsigned char)s[i];
        ok = glob_set(p, m, &jj, c);
      } else {
        if (p[j] == '\\' && j + 1 < m) j++, jj++;
        size_t pl = char_len(p, m, j);
        ok = pl == cl && memcmp(p + j, s + i, cl) == 0;
        jj = j + pl;
      }
      if (ok) {
        i += cl;
        j = jj;
        continue;
      }
    }
    if (star_j == SIZE_MAX) return false;
    star_i += char_len(s, n, star_i);
    i = star_i;
    j = star_j;
  }
  while (j < m && p[j] == '*') j++;
  return j == m;
}

static int row_glob(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)e, (void)buf, (void)err;
  *out = td_value_bool(glob_match(a[0].v.s.ptr, a[0].v.s.len, a[1].v.s.ptr, a[1].v.s.len));
  return TD_OK;
}

/* GLOB of a string batch with a constant pattern: 'abc*' and the like
 * compare bytes, other patterns run glob_match per row (td__vec_pattern). */
static int vec_glob(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  return td__vec_pattern(e, args, n, out, done, '*', "?[\\", glob_match, err);
}

const td_func td__funcs_string[] = {
    TD_FN_VEC("lower", 1, 1, bind_str_to_str, row_case_map, true, false, td__vec_string),
    TD_FN_VEC("upper", 1, 1, bind_str_to_str, row_case_map, true, false, td__vec_string),
    TD_FN_VEC("length", 1, 1, bind_length, row_length, true, false, td__vec_string),
    TD_FN_VEC("char_length", 1, 1, bind_str_to_int, row_length, true, false, td__vec_string),
    TD_FN_VEC("substr", 2, 3, bind_str_ints, row_substr, true, false, td__vec_string),
    TD_FN_VEC("substring", 2, 3, bind_str_ints, row_substr, true, false, td__vec_string),
    TD_FN_VEC("left", 2, 2, bind_str_ints, row_left_right, true, false, td__vec_string),
    TD_FN_VEC("right", 2, 2, bind_str_ints, row_left_right, true, false, td__vec_string),
    TD_FN_VEC("trim", 1, 2, bind_str_to_str, row_trim, true, false, td__vec_string),
    TD_FN_VEC("ltrim", 1, 2, bind_str_to_str, row_trim, true, false, td__vec_string),
    TD_FN_VEC("rtrim", 1, 2, bind_str_to_str, row_trim, true, false, td__vec_string),
    TD_FN_VEC("replace", 3, 3, bind_str_to_str, row_replace, true, false, td__vec_string),
    TD_FN_VEC("reverse", 1, 1, bind_str_to_str, row_reverse, true, false, td__vec_string),
    TD_FN_VEC("starts_with", 2, 2, bind_str_to_bool, row_affix, true, false, td__vec_string),
    TD_FN_VEC("ends_with", 2, 2, bind_str_to_bool, row_affix, true, false, td__vec_string),
    TD_FN_VEC("contains", 2, 2, bind_str_to_bool, row_affix, true, false, td__vec_string),
    TD_FN_VEC("strpos", 2, 2, bind_str_to_int, row_strpos, true, false, td__vec_string),
    TD_FN_VEC("instr", 2, 2, bind_str_to_int, row_strpos, true, false, td__vec_string),
    TD_FN("lpad", 3, 3, bind_pad, row_pad, true, false),
    TD_FN("rpad", 3, 3, bind_pad, row_pad, true, false),
    TD_FN("repeat", 2, 2, bind_str_ints, row_repeat, true, false),
    TD_FN("split_part", 3, 3, bind_split_part, row_split_part, true, false),
    {"regexp_matches", 2, 3, bind_regexp, row_regexp_matches, true, false, prepare_regexp, release_regexp, vec_regexp},
    {"regexp_full_match", 2, 3, bind_regexp, row_regexp_matches, true, false, prepare_regexp, release_regexp, vec_regexp},
    TD_FN_VEC("glob", 2, 2, bind_str_to_bool, row_glob, true, false, vec_glob),
    {"regexp_replace", 3, 4, bind_regexp, row_regexp_replace, true, false, prepare_regexp, release_regexp, vec_regexp},
    {"regexp_extract", 2, 3, bind_regexp, row_regexp_extract, true, false, prepare_regexp, release_regexp, vec_regexp},
    {NULL, 0, 0, NULL, NULL, false, false, NULL, NULL, NULL}};
