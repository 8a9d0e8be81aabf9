/*
 * query/func_format.c - printf / format, which lay values out by a format
 * string as DuckDB's (fmt library's) printf and format do, and typeof, the
 * DuckDB name of an argument's type.
 *
 * Both format syntaxes parse into one directive (fmt_spec) that one renderer
 * (put_arg) lays out: an argument is an integer (signed or unsigned), a
 * double (FLOAT, DOUBLE and DECIMAL, which DuckDB formats as doubles), a
 * boolean or text (VARCHAR, and any other type as CAST(x AS VARCHAR) prints
 * it).  The format is read again for each row: it is short, and a constant
 * one costs a few comparisons per directive.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "query/func.h"
#include "query/inset.h"
#include "query/scalar.h"
#include "tabledata/keys.h"
#include "util/alloc.h"
#include "util/decimal.h"
#include "util/error.h"

/* Widths and precisions above this are refused (DuckDB would build the
 * string: a billion-character width is a mistake, not a layout). */
#define FMT_MAX_WIDTH 100000

typedef struct fmt_spec {
  int64_t arg;  /* argument index, 1-based among the arguments after the format */
  char fill;    /* padding byte */
  char align;   /* '<', '>', '^' or 0 (the default of the value's kind) */
  char sign;    /* '+', ' ' or 0 */
  bool alt;     /* '#' */
  bool zero;    /* '0': pad numbers with zeros after the sign, whatever the alignment (as DuckDB's fmt) */
  char group;   /* ',' or '_' (format) or 0 */
  int64_t width, prec; /* -1: none */
  char type;    /* conversion letter, 0 for none (format's "{}") */
} fmt_spec;

/* The state of one call: the node (for messages), the format text and which
 * syntax. */
typedef struct fmt_ctx {
  const td_expr *e;
  const char *f;
  size_t n;
  bool is_printf;
  const td_value *args; /* args[0] is the format, args[k] argument k after it */
  int64_t n_args; /* arguments after the format */
  int64_t auto_next; /* the automatic arguments taken */
  size_t at;      /* where the directive being read starts */
  int indexing;   /* 0 unknown, 1 automatic, 2 manual */
} fmt_ctx;

static int fmt_error(const fmt_ctx *c, size_t at, const char *what, td_error *err) {
  return td_err_at(err, TD_ETYPE, c->e->pos, "%s: %s (at byte %zu of the format) at offset %lld", c->e->fn->name, what,
                   at, (long long)c->e->pos);
}

/* Reads a decimal number at f[*i] (at least one digit there); refuses more
 * than FMT_MAX_WIDTH. */
static int read_num(const fmt_ctx *c, size_t *i, int64_t *out, const char *what, td_error *err) {
  int64_t x = 0;
  size_t at = *i;
  while (*i < c->n && c->f[*i] >= '0' && c->f[*i] <= '9') {
    if (x <= FMT_MAX_WIDTH) x = x * 10 + (c->f[*i] - '0');
    (*i)++;
  }
  if (x > FMT_MAX_WIDTH) {
    char msg[96];
    snprintf(msg, sizeof msg, "a %s of more than %d is not supported", what, FMT_MAX_WIDTH);
    return fmt_error(c, at, msg, err);
  }
  *out = x;
  return TD_OK;
}

/* Picks the argument of a directive: `manual` >= 1 names it, 0 takes the
 * next one. */
static int pick_arg(fmt_ctx *c, int64_t manual, size_t at, int64_t *arg, td_error *err) {
  int mode = manual ? 2 : 1;
  if (c->indexing && c->indexing != mode)
    return fmt_error(c, at, manual ? "cannot switch from automatic to manual argument indexing"
                                   : "cannot switch from manual to automatic argument indexing", err);
  c->indexing = mode;
  *arg = manual ? manual : ++c->auto_next;
  if (*arg > c->n_args) {
    char msg[128];
    snprintf(msg, sizeof msg, "the format wants argument %lld after the format, found %lld", (long long)*arg,
             (long long)c->n_args);
    return fmt_error(c, at, msg, err);
  }
  return TD_OK;
}

/* A width or precision taken from an argument (printf's '*', format's
 * "{:{}}"): an integer of at most FMT_MAX_WIDTH in magnitude. */
static int dyn_arg(fmt_ctx *c, int64_t manual, size_t at, const char *what, int64_t *out, td_error *err) {
  int64_t k = 0;
  int rc = pick_arg(c, manual, at, &k, err);
  if (rc) return rc;
  const td_value *v = &c->args[k];
  char msg[128];
  if (!td_type_is_integer(v->type)) {
    snprintf(msg, sizeof msg, "the %s from argument %lld must be an integer, found %s", what, (long long)k + 1,
             td_type_name(v->type));
    return fmt_error(c, at, msg, err);
  }
  int64_t x = v->type == TD_TYPE_UINT64 && v->v.u > INT64_MAX ? INT64_MAX : v->v.i;
  if (x > FMT_MAX_WIDTH || x < -FMT_MAX_WIDTH) {
    snprintf(msg, sizeof msg, "a %s of more than %d is not supported", what, FMT_MAX_WIDTH);
    return fmt_error(c, at, msg, err);
  }
  *out = x;
  return TD_OK;
}

/* format's nested "{}" or "{N}" at f[*i] (on the '{'): its argument's value. */
static int nested_arg(fmt_ctx *c, size_t *i, const char *what, int64_t *out, td_error *err) {
  size_t at = (*i)++;
  int64_t manual = 0;
  if (*i < c->n && c->f[*i] >= '0' && c->f[*i] <= '9') {
    int rc = read_num(c, i, &manual, "argument index", err);
    if (rc) return rc;
    manual++;
  }
  if (*i >= c->n || c->f[*i] != '}') return fmt_error(c, *i, "missing '}' in format string", err);
  (*i)++;
  int rc = dyn_arg(c, manual, at, what, out, err);
  if (!rc && *out < 0) {
    char msg[64];
    snprintf(msg, sizeof msg, "a negative %s (%lld)", what, (long long)*out);
    return fmt_error(c, at, msg, err);
  }
  return rc;
}

/* A printf directive at f[*i] (just past '%'). */
static int parse_printf(fmt_ctx *c, size_t *i, fmt_spec *s, td_error *err) {
  size_t at = *i - 1, j = *i;
  int64_t manual = 0;
  while (j < c->n && c->f[j] >= '0' && c->f[j] <= '9') j++;
  if (j > *i && j < c->n && c->f[j] == '$') { /* %2$s */
    int rc = read_num(c, i, &manual, "argument index", err);
    if (rc) return rc;
    if (manual == 0) return fmt_error(c, at, "argument index 0 is out of range (they start at 1)", err);
    (*i)++;
  }
  for (; *i < c->n; (*i)++) {
    char f = c->f[*i];
    if (f == '-') s->align = '<';
    else if (f == '+') s->sign = '+';
    else if (f == ' ') s->sign = s->sign ? s->sign : ' ';
    else if (f == '#') s->alt = true;
    else if (f == '0') s->zero = true;
    else break;
  }
  if (*i < c->n && c->f[*i] == '*') { /* the width from the next argument; negative: left-aligned */
    int rc = dyn_arg(c, 0, (*i)++, "width", &s->width, err);
    if (rc) return rc;
    if (s->width < 0) s->align = '<', s->width = -s->width;
  } else if (*i < c->n && c->f[*i] >= '1' && c->f[*i] <= '9') {
    int rc = read_num(c, i, &s->width, "width", err);
    if (rc) return rc;
  }
  if (*i < c->n && c->f[*i] == '.') {
    (*i)++;
    int rc = *i < c->n && c->f[*i] == '*' ? dyn_arg(c, 0, (*i)++, "precision", &s->prec, err)
                                          : read_num(c, i, &s->prec, "precision", err);
    if (rc) return rc;
    if (s->prec < 0) s->prec = 0; /* as DuckDB's fmt (C would drop the precision) */
  }
  while (*i < c->n && strchr("hlLjzt", c->f[*i])) (*i)++; /* length modifiers: every integer is 64-bit here */
  if (*i >= c->n) return fmt_error(c, at, "a '%' ends the format without a conversion (write '%%' for a percent sign)", err);
  char t = c->f[(*i)++];
  if (!strchr("diuxXocsfFeEgGaA", t)) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected a conversion (one of diuxXocsfFeEgGaA), found '%c'", t);
    return fmt_error(c, *i - 1, msg, err);
  }
  s->type = t == 'i' ? 'd' : t;
  return pick_arg(c, manual, at, &s->arg, err);
}

/* A format replacement field at f[*i] (just past '{'). */
static int parse_format(fmt_ctx *c, size_t *i, fmt_spec *s, td_error *err) {
  size_t at = *i - 1;
  int64_t manual = 0;
  if (*i < c->n && c->f[*i] >= '0' && c->f[*i] <= '9') {
    int rc = read_num(c, i, &manual, "argument index", err);
    if (rc) return rc;
    manual++; /* {0} is the first */
  }
  if (*i < c->n && c->f[*i] != ':' && c->f[*i] != '}')
    return fmt_error(c, *i, "named arguments and conversions ({name}, {!r}) are not supported", err);
  int rc = pick_arg(c, manual, at, &s->arg, err);
  if (rc) return rc;
  if (*i < c->n && c->f[*i] == ':') {
    (*i)++;
    const char *f = c->f;
    size_t n = c->n;
    /* DuckDB's thousands separator: ',' or '_' first in the spec ("{:,.2f}"; ",>" is a fill) */
    if (*i + 1 < n && (f[*i] == ',' || f[*i] == '_') && !strchr("<>^", f[*i + 1])) s->group = f[(*i)++];
    if (*i + 1 < n && strchr("<>^", f[*i + 1]) && f[*i] != '{' && f[*i] != '}') { /* fill and align */
      if ((unsigned char)f[*i] >= 0x80) return fmt_error(c, *i, "a fill character must be ASCII", err);
      s->fill = f[*i];
      s->align = f[*i + 1];
      *i += 2;
    } else if (*i < n && strchr("<>^", f[*i])) {
      s->align = f[(*i)++];
    }
    if (*i < n && (f[*i] == '+' || f[*i] == '-' || f[*i] == ' ')) s->sign = f[(*i)++] == '-' ? 0 : f[*i - 1];
    if (*i < n && f[*i] == '#') s->alt = true, (*i)++;
    if (*i < n && f[*i] == '0') s->zero = true, (*i)++;
    if (*i < n && f[*i] == '{' && (rc = nested_arg(c, i, "width", &s->width, err))) return rc;
    if (*i < n && f[*i] >= '1' && f[*i] <= '9' && (rc = read_num(c, i, &s->width, "width", err))) return rc;
    if (*i < n && f[*i] == '.') {
      (*i)++;
      if (*i < n && f[*i] == '{') rc = nested_arg(c, i, "precision", &s->prec, err);
      else if (!(*i < n && f[*i] >= '0' && f[*i] <= '9')) return fmt_error(c, *i, "expected digits after '.'", err);
      else rc = read_num(c, i, &s->prec, "precision", err);
      if (rc) return rc;
    }
    if (*i < n && f[*i] == 'L') (*i)++; /* locale: DuckDB's is "C" */
    if (*i < n && strchr("dxXobBcsfFeEgGaA", f[*i])) s->type = f[(*i)++];
  }
  if (*i >= c->n || c->f[*i] != '}') return fmt_error(c, *i, "missing '}' in format string", err);
  (*i)++;
  return TD_OK;
}

/* ---- rendering ---- */

static size_t utf8_count(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
  return k;
}

static int put_fill(td_fbuf *buf, char fill, int64_t k, td_error *err) {
  char run[64];
  memset(run, fill, sizeof run);
  for (; k > 0; k -= (int64_t)sizeof run) {
    int rc = td__fbuf_put(buf, run, k < (int64_t)sizeof run ? (size_t)k : sizeof run, err);
    if (rc) return rc;
  }
  return TD_OK;
}

/* How the '0' flag pads: not at all (text), with zeros between the prefix
 * and the body (finite numbers), or with zeros after the body (infinities
 * and NaN: "inf00", as DuckDB's fmt does). */
enum { ZERO_NONE, ZERO_INSIDE, ZERO_AFTER };

/* Lays out prefix + body (the body `chars` characters wide) in the spec's
 * width: zeros for the '0' flag as `zmode` says, else the fill by alignment
 * (`right` when the spec names none). */
static int put_padded(const fmt_spec *s, const char *pre, const char *body, size_t len, size_t chars, bool right,
                      int zmode, td_fbuf *buf, td_error *err) {
  size_t pl = strlen(pre);
  int64_t pad = s->width > (int64_t)(pl + chars) ? s->width - (int64_t)(pl + chars) : 0;
  char align = s->align ? s->align : right ? '>' : '<', fill = s->fill;
  if (s->zero && zmode == ZERO_INSIDE) align = '=';
  if (s->zero && zmode == ZERO_AFTER) align = '<', fill = '0';
  int64_t left = align == '>' ? pad : align == '^' ? pad / 2 : 0;
  int rc = align == '=' ? TD_OK : put_fill(buf, fill, left, err);
  if (!rc) rc = td__fbuf_put(buf, pre, pl, err);
  if (!rc && align == '=') rc = put_fill(buf, '0', pad, err);
  if (!rc) rc = td__fbuf_put(buf, body, len, err);
  if (!rc && align != '=') rc = put_fill(buf, fill, pad - left, err);
  return rc;
}

/* Digits d (n of them) with a separator every three from the right. */
static size_t group_digits(const char *d, size_t n, char sep, char *out) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0) out[k++] = sep;
    out[k++] = d[i];
  }
  return k;
}

static int type_error(const fmt_ctx *c, const fmt_spec *s, const char *kind, td_error *err) {
  const td_expr *a = c->e->args[s->arg];
  char t[2] = {s->type, 0};
  return td_err_at(err, TD_ETYPE, c->e->pos,
                   "%s: invalid type specifier \"%s\" for formatting argument %lld, found %s (%s) at offset %lld",
                   c->e->fn->name, t, (long long)s->arg + 1, td_type_name(a->type), kind, (long long)c->e->pos);
}

/* An integer: magnitude m, negative when neg. */
static int put_int(const fmt_ctx *c, const fmt_spec *s, bool neg, uint64_t m, td_fbuf *buf, td_error *err) {
  char t = s->type ? s->type : 'd';
  if (!strchr("duxXobBc", t)) return type_error(c, s, "an integer", err);
  if (!c->is_printf && s->prec >= 0) return fmt_error(c, c->at, "precision not allowed for an integer argument", err);
  if (t == 'c') {
    if (!c->is_printf) return type_error(c, s, "an integer", err);
    char ch = (char)(neg ? (uint64_t)0 - m : m); /* %c writes one byte, as DuckDB */
    if ((unsigned char)ch >= 0x80)
      return td_err_at(err, TD_ETYPE, c->e->pos,
                       "printf: %%c writes one byte and %lld is not an ASCII character (use chr() for a code point) at "
                       "offset %lld", (long long)(neg ? -(int64_t)(m - 1) - 1 : (int64_t)m), (long long)c->e->pos);
    return put_padded(s, "", &ch, 1, 1, true, ZERO_INSIDE, buf, err);
  }
  if (c->is_printf && t != 'd' && neg) { /* printf's %u %x %o read the bits as unsigned */
    m = (uint64_t)0 - m;
    neg = false;
  }
  if (t == 'u') t = 'd';
  char digits[72], body[128];
  const char *set = t == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  unsigned base = t == 'd' ? 10 : t == 'x' || t == 'X' ? 16 : t == 'o' ? 8 : 2;
  size_t n = 0;
  do digits[sizeof digits - ++n] = set[m % base], m /= base;
  while (m);
  const char *d = digits + sizeof digits - n;
  char pre[8];
  size_t pl = 0;
  if (neg) pre[pl++] = '-';
  else if (s->sign) pre[pl++] = s->sign;
  if (s->alt && t != 'd' && !(n == 1 && d[0] == '0')) {
    pre[pl++] = '0';
    if (t != 'o') pre[pl++] = t;
  }
  pre[pl] = 0;
  if (s->group) {
    if (t != 'd') return fmt_error(c, c->at, "a thousands separator with a non-decimal integer is not supported", err);
    n = group_digits(d, n, s->group, body);
    d = body;
  }
  if (s->prec <= (int64_t)n) return put_padded(s, pre, d, n, n, true, ZERO_INSIDE, buf, err);
  /* printf's precision: at least that many digits */
  char *z = td_malloc((size_t)s->prec);
  if (!z) return td_err_nomem(err, "formatting a number");
  memset(z, '0', (size_t)(s->prec - (int64_t)n));
  memcpy(z + (s->prec - (int64_t)n), d, n);
  int rc = put_padded(s, pre, z, (size_t)s->prec, (size_t)s->prec, true, ZERO_INSIDE, buf, err);
  td_free(z);
  return rc;
}

/* %.{prec}f of m (finite, >= 0) without snprintf when m * 10^prec < 2^52
 * and prec <= 15: m * 10^prec rounded to the nearest integer, a tie to
 * even, as glibc rounds the exact binary value.  The product's rounding
 * error comes exact from fma, so the comparison with one half is exact.
 * False when out of that range (the caller uses snprintf). */
static bool fixed_text(double m, int prec, bool alt, char *out, size_t *len) {
  static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  if (prec > 15 || !(m * p10[prec] < 0x1p52)) return false;
  double y = m * p10[prec], e = fma(m, p10[prec], -y), f = floor(y);
  double t = (y - f - 0.5) + e; /* the sign of (exact product - f - 1/2) */
  uint64_t n = (uint64_t)f, q = 1;
  n += t > 0 || (t == 0 && (n & 1));
  for (int i = 0; i < prec; i++) q *= 10;
  uint64_t ip = n / q, fp = n % q;
  char d[24];
  size_t k = 0, l = 0;
  do d[k++] = (char)('0' + ip % 10), ip /= 10;
  while (ip);
  while (k) out[l++] = d[--k];
  if (prec || alt) out[l++] = '.';
  for (int i = prec - 1; i >= 0; i--, fp /= 10) out[l + (size_t)i] = (char)('0' + fp % 10);
  *len = l + (size_t)prec;
  return true;
}

/* A double: its text laid out in txt (room for 3x its length, so that
 * separators fit after it), then padded. */
static int put_double(const fmt_ctx *c, const fmt_spec *s, double x, td_fbuf *buf, td_error *err) {
  char t = s->type;
  if (t ? !strchr("fFeEgGaA", t) : c->is_printf) return type_error(c, s, "a floating-point number", err);
  bool neg = signbit(x) && !isnan(x);
  double m = fabs(x);
  char stack[384], *txt = stack;
  size_t len = 0;
  int rc = TD_OK, prec = s->prec >= 0 ? (int)s->prec : 6;
  if (!t && s->prec < 0) { /* the shortest text, as CAST(x AS VARCHAR): at most 25 bytes */
    size_t mark = buf->len;
    td_value v = td_value_double(TD_TYPE_FLOAT64, m), out;
    rc = td__cast_value(&v, TD_TYPE_UTF8, &out, buf, c->e->pos, err);
    if (rc) return rc;
    len = buf->len - mark;
    memcpy(txt, buf->p + mark, len);
    buf->len = mark;
  } else if (!((t == 'f' || t == 'F') && isfinite(m) && fixed_text(m, prec, s->alt, txt, &len))) {
    char f[16];
    int fl = 0;
    f[fl++] = '%';
    if (s->alt || !t) f[fl++] = '#'; /* fmt's "{:.3}" keeps trailing zeros */
    bool hex = (t == 'a' || t == 'A') && s->prec < 0; /* %a: all the digits it needs */
    if (!hex) f[fl++] = '.', f[fl++] = '*';
    f[fl++] = t ? t : 'g';
    f[fl] = 0;
    for (int pass = 0; pass < 2; pass++) {
      size_t room = pass ? len + 1 : sizeof stack / 3;
      int want = hex ? snprintf(txt, room, f, m) : snprintf(txt, room, f, prec, m);
      if (want < 0) return td_err(err, TD_EINVAL, "cannot format %g", m);
      len = (size_t)want;
      if (len < room) break;
      if (!(txt = td_malloc(3 * len + 3))) return td_err_nomem(err, "formatting a number");
    }
    if (!t && !s->alt && len && txt[len - 1] == '.') len--;
  }
  const char *body = txt;
  size_t blen = len;
  if (s->group) { /* separators in the integer digits, written after the text */
    size_t k = 0;
    while (k < len && txt[k] >= '0' && txt[k] <= '9') k++;
    char *g = txt + len;
    size_t gl = group_digits(txt, k, s->group, g);
    memcpy(g + gl, txt + k, len - k);
    body = g;
    blen = gl + len - k;
  }
  char pre[2] = {neg ? '-' : s->sign, 0};
  rc = put_padded(s, pre, body, blen, blen, true, isfinite(x) ? ZERO_INSIDE : ZERO_AFTER, buf, err);
  if (txt != stack) td_free(txt);
  return rc;
}

/* Text (s, n bytes). */
static int put_text(const fmt_ctx *c, const fmt_spec *s, const char *p, size_t n, td_fbuf *buf, td_error *err) {
  if (s->type && s->type != 's') return type_error(c, s, "a string", err);
  if ((s->zero || s->sign || s->alt) && !c->is_printf) /* printf ignores them */
    return fmt_error(c, c->at, "a '0', '+', ' ' or '#' flag requires a numeric argument", err);
  size_t chars = utf8_count(p, n);
  if (s->prec >= 0 && (int64_t)chars > s->prec) { /* the first prec characters */
    size_t k = 0, seen = 0;
    for (; k < n; k++) {
      if (((unsigned char)p[k] & 0xC0) != 0x80 && seen++ == (size_t)s->prec) break;
    }
    n = k;
    chars = (size_t)s->prec;
  }
  return put_padded(s, "", p, n, chars, c->is_printf, ZERO_NONE, buf, err);
}

/* Argument a laid out by directive s. */
static int put_arg(const fmt_ctx *c, const fmt_spec *s, const td_value *a, td_fbuf *buf, td_error *err) {
  td_type_id t = a->type;
  if (t == TD_TYPE_BOOL) {
    if (!s->type && !c->is_printf && s->prec >= 0) return fmt_error(c, c->at, "precision not allowed for a boolean", err);
    if (!s->type && !c->is_printf) return put_text(c, s, a->v.b ? "true" : "false", a->v.b ? 4 : 5, buf, err);
    if (s->type == 's' && c->is_printf) return put_text(c, s, a->v.b ? "true" : "false", a->v.b ? 4 : 5, buf, err);
    return put_int(c, s, false, a->v.b, buf, err);
  }
  if (t == TD_TYPE_UINT64) return put_int(c, s, false, a->v.u, buf, err);
  if (td_type_is_integer(t)) return put_int(c, s, a->v.i < 0, a->v.i < 0 ? (uint64_t)0 - (uint64_t)a->v.i : (uint64_t)a->v.i, buf, err);
  if (t == TD_TYPE_DECIMAL128) { /* a column's values carry no scale: the node's "p,s" has it */
    td_value v = *a;
    int p, sc;
    if (!v.scale && td_dec_params(c->e->args[s->arg]->tz, &p, &sc)) v.scale = (uint8_t)sc;
    return put_double(c, s, td__value_double(&v), buf, err);
  }
  if (td_type_is_float(t)) return put_double(c, s, td__value_double(a), buf, err);
  if (td_type_is_text(t)) return put_text(c, s, a->v.s.ptr, a->v.s.len, buf, err);
  /* other types: as they print (a BLOB as \xHH escapes, as DuckDB) */
  td_fbuf tmp = {0};
  int rc;
  if (td_type_is_binary(t)) {
    size_t want = td_binary_format(a->v.s.ptr, a->v.s.len, NULL, 0);
    tmp.p = td_malloc(want + 1);
    rc = tmp.p ? TD_OK : td_err_nomem(err, "formatting a blob");
    if (!rc) tmp.cap = want + 1, tmp.len = td_binary_format(a->v.s.ptr, a->v.s.len, tmp.p, want + 1);
  } else {
    td_value out;
    rc = td__cast_value(a, TD_TYPE_UTF8, &out, &tmp, c->e->pos, err);
    if (!rc && td_type_is_timestamp(t) && c->e->args[s->arg]->tz) rc = td__fbuf_put(&tmp, "+00", 3, err); /* UTC */
  }
  if (!rc) rc = put_text(c, s, tmp.p ? tmp.p : "", tmp.len, buf, err);
  td_free(tmp.p);
  return rc;
}

static int row_format(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  fmt_ctx c = {.e = e, .f = a[0].v.s.ptr, .n = a[0].v.s.len, .is_printf = e->fn->name[0] != 'f', .args = a,
               .n_args = e->n_args - 1};
  size_t from = buf->len, lit = 0;
  char open = c.is_printf ? '%' : '{';
  for (size_t i = 0; i < c.n;) {
    char ch = c.f[i];
    if (ch != open && (c.is_printf || ch != '}')) {
      i++;
      continue;
    }
    int rc = td__fbuf_put(buf, c.f + lit, i - lit, err);
    if (rc) return rc;
    if (i + 1 < c.n && c.f[i + 1] == ch) { /* %% {{ }} */
      rc = td__fbuf_put(buf, &ch, 1, err);
      i += 2;
    } else if (ch == '}') {
      return fmt_error(&c, i, "unmatched '}' in format string (write '}}' for a brace)", err);
    } else {
      fmt_spec s = {.fill = ' ', .width = -1, .prec = -1};
      c.at = i++;
      rc = c.is_printf ? parse_printf(&c, &i, &s, err) : parse_format(&c, &i, &s, err);
      if (!rc) rc = put_arg(&c, &s, &a[s.arg], buf, err);
    }
    if (rc) return rc;
    lit = i;
  }
  int rc = td__fbuf_put(buf, c.f + lit, c.n - lit, err);
  if (rc) return rc;
  td__fbuf_value(buf, from, out);
  return TD_OK;
}

static int bind_format(td_expr *e, td_error *err) {
  int rc = td__func_want_str(e, 0, err);
  for (int64_t i = 1; !rc && i < e->n_args; i++) /* an INTERVAL prints as one ("3 days") */
    if (td__is_interval(e->args[i]) && !td_type_is_duration(e->args[i]->type)) rc = td__interval_as_span(e->args[i], err);
  if (rc) return rc;
  e->type = TD_TYPE_UTF8;
  return TD_OK;
}

/* ---- typeof ---- */

const char *td__sql_type_name(td_type_id t, const char *param, char *tmp, size_t size) {
  switch (t) {
    case TD_TYPE_NONE: return "\"NULL\""; /* quoted, as DuckDB (1.5.6 and 2.0.1) names it */
    case TD_TYPE_BOOL: return "BOOLEAN";
    case TD_TYPE_INT8: return "TINYINT";
    case TD_TYPE_INT16: return "SMALLINT";
    case TD_TYPE_INT32: return "INTEGER";
    case TD_TYPE_INT64: return "BIGINT";
    case TD_TYPE_UINT8: return "UTINYINT";
    case TD_TYPE_UINT16: return "USMALLINT";
    case TD_TYPE_UINT32: return "UINTEGER";
    case TD_TYPE_UINT64: return "UBIGINT";
    case TD_TYPE_FLOAT32: return "FLOAT";
    case TD_TYPE_FLOAT64: return "DOUBLE";
    case TD_TYPE_UTF8:
    case TD_TYPE_LARGE_UTF8: return "VARCHAR";
    case TD_TYPE_BINARY:
    case TD_TYPE_LARGE_BINARY: return "BLOB";
    case TD_TYPE_DATE32:
    case TD_TYPE_DATE64: return "DATE";
    case TD_TYPE_TIMESTAMP:
    case TD_TYPE_TIMESTAMP_US: return param ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP";
    case TD_TYPE_TIMESTAMP_S: return param ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP_S";
    case TD_TYPE_TIMESTAMP_MS: return param ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP_MS";
    case TD_TYPE_TIME32_S:
    case TD_TYPE_TIME32_MS:
    case TD_TYPE_TIME64_US:
    case TD_TYPE_TIME64_NS: return "TIME";
    case TD_TYPE_DURATION_S:
    case TD_TYPE_DURATION_MS:
    case TD_TYPE_DURATION_US:
    case TD_TYPE_DURATION_NS: return "INTERVAL";
    case TD_TYPE_DECIMAL128:
      if (!tmp) return "DECIMAL";
      snprintf(tmp, size, "DECIMAL(%s)", param ? param : "38,0");
      return tmp;
  }
  return "UNKNOWN";
}

static bool has_aggregate(const td_expr *e) {
  if (e->kind == TD_EXPR_CALL && td_agg_kind_from_name(e->name) != TD_AGG_NONE) return true;
  for (int64_t i = 0; i < e->n_args; i++)
    if (has_aggregate(e->args[i])) return true;
  return false;
}

/* The argument becomes a typed null literal (its type and type parameter
 * kept), so the binder folds typeof(x) into a constant: no per-row work and
 * no read of x's column.  An argument holding an aggregate stays (the
 * planner computes it). */
static int bind_typeof(td_expr *e, td_error *err) {
  (void)err;
  e->type = TD_TYPE_UTF8;
  td_expr *a = e->args[0];
  if (td__is_interval(a)) a->type = TD_TYPE_DURATION_NS; /* named INTERVAL, whatever its unit */
  if (a->kind == TD_EXPR_LITERAL || has_aggregate(a)) return TD_OK;
  for (int64_t i = 0; i < a->n_args; i++) td_expr_free(a->args[i]);
  a->n_args = 0;
  if (a->fn_state && a->fn && a->fn->release) a->fn->release(a->fn_state);
  a->fn_state = NULL;
  a->fn = NULL;
  td__in_set_free(a->in_set);
  a->in_set = NULL;
  a->kind = TD_EXPR_LITERAL;
  a->op = TD_OP_NONE;
  a->column = -1;
  a->lit = td_value_null(a->type);
  a->height = 1;
  e->height = 2;
  return TD_OK;
}

static int row_typeof(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)a;
  char tmp[48];
  const char *name = td__sql_type_name(e->args[0]->type, e->args[0]->tz, tmp, sizeof tmp);
  size_t from = buf->len;
  int rc = td__fbuf_put(buf, name, strlen(name), err);
  if (!rc) td__fbuf_value(buf, from, out);
  return rc;
}

const td_func td__funcs_format[] = {
    TD_FN("printf", 1, -1, bind_format, row_format, true, false),
    TD_FN("sprintf", 1, -1, bind_format, row_format, true, false),
    TD_FN("format", 1, -1, bind_format, row_format, true, false),
    TD_FN("typeof", 1, 1, bind_typeof, row_typeof, false, false),
    {NULL, 0, 0, NULL, NULL, false, false, NULL, NULL, NULL}};
