/*
 * query/func_time.c - date and time functions of the registry: date_trunc,
 * date_part (EXTRACT) and year()..second(), strftime, epoch_ns, epoch_ms,
 * epoch, date_diff, make_date, make_timestamp, last_day, now(); date_part,
 * the named parts and epoch of durations (spans); the binder's unit change
 * "@rescale"; strptime and try_strptime (one table of format specifiers
 * with strftime), to_timestamp and epoch_ms of a count.  Timestamps of any unit are worked on as nanoseconds since
 * the epoch, in UTC (a column's time zone is kept on the result but not
 * applied: fields are those of the UTC time).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "query/func.h"
#include "query/vec.h"
#include "tabledata/keys.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sys.h"

#define NS_PER_DAY (86400 * 1000000000LL)

static int64_t fdiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* Nanoseconds per unit of a temporal or duration type. */
static int64_t unit_of(td_type_id t) { return td_type_is_duration(t) ? td_duration_unit_ns(t) : td_type_unit_ns(t); }

/* A temporal value as ns since the epoch (a duration: its length in ns);
 * false on overflow. */
static bool to_ns(const td_value *v, int64_t *ns) {
  return !__builtin_mul_overflow(v->v.i, unit_of(v->type), ns);
}

static int want_time(td_expr *e, int64_t i, td_error *err) {
  td_type_id t = e->args[i]->type;
  bool ok = t == TD_TYPE_NONE || td_type_is_timestamp(t) || t == TD_TYPE_DATE32 || t == TD_TYPE_DATE64;
  return ok ? TD_OK : td__func_arg_error(e, i, "a timestamp or date", err);
}

/* want_time, or a duration (date_part, the named parts, epoch). */
static int want_time_or_span(td_expr *e, int64_t i, td_error *err) {
  if (td__is_interval(e->args[i]) && !td_type_is_duration(e->args[i]->type)) { /* epoch(INTERVAL 3 DAY) */
    int rc = td__interval_as_span(e->args[i], err);
    if (rc) return rc;
  }
  return td_type_is_duration(e->args[i]->type) ? TD_OK : want_time(e, i, err);
}

static int range_error(const td_expr *e, td_error *err) {
  return td_err_at(err, TD_ERANGE, e->pos, "timestamp out of range at offset %lld", (long long)e->pos);
}

/* ---- date_trunc ---- */

/* The parts of date_trunc and date_diff; the first six are fixed lengths (unit_step). */
static const char *const trunc_units[] = {"microsecond", "millisecond", "second",  "minute",
                                          "hour",        "day",         "week",    "month",
                                          "quarter",     "year",        "decade",  "century",
                                          "millennium"};
static const int64_t unit_step[] = {1000, 1000000, 1000000000, 60000000000LL, 3600000000000LL, NS_PER_DAY};

static int unit_index(const td_value *u, const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t k = strlen(names[i]);
    if (u->v.s.len == k && strncasecmp(u->v.s.ptr, names[i], k) == 0) return (int)i;
    if (u->v.s.len == k + 1 && strncasecmp(u->v.s.ptr, names[i], k) == 0 &&
        (u->v.s.ptr[k] == 's' || u->v.s.ptr[k] == 'S'))
      return (int)i;
  }
  return -1;
}

static int check_unit_literal(td_expr *e, const char *const *names, size_t n, td_error *err) {
  const td_expr *u = e->args[0];
  int rc = td__func_want_str(e, 0, err);
  if (rc || u->kind != TD_EXPR_LITERAL || u->lit.is_null || u->type != TD_TYPE_UTF8) return rc;
  if (unit_index(&u->lit, names, n) >= 0) return TD_OK;
  return td_err_at(err, TD_ETYPE, u->pos, "%s: unknown part '%.*s' at offset %lld", e->fn->name,
                   (int)(u->lit.v.s.len > 40 ? 40 : u->lit.v.s.len), u->lit.v.s.ptr, (long long)u->pos);
}

static int bind_trunc(td_expr *e, td_error *err) {
  int rc = check_unit_literal(e, trunc_units, sizeof trunc_units / sizeof *trunc_units, err);
  if (!rc) rc = want_time(e, 1, err);
  td_type_id t = e->args[1]->type;
  e->type = td_type_is_timestamp(t) ? t : TD_TYPE_TIMESTAMP;
  if (!rc && e->args[1]->tz && !(e->tz = td_strdup(e->args[1]->tz))) rc = td_err_nomem(err, "binding");
  return rc;
}

static int bad_part(const td_expr *e, const td_value *u, td_error *err) {
  return td_err_at(err, TD_ETYPE, e->pos, "%s: unknown part '%.*s' at offset %lld", e->fn->name,
                   (int)(u->v.s.len > 40 ? 40 : u->v.s.len), u->v.s.ptr, (long long)e->pos);
}

/* The first day of the calendar unit u (trunc_units index 6 and up) holding `days`. */
static int64_t trunc_days(int u, int64_t days) {
  int64_t y;
  int m, d;
  td__civil_from_days(days, &y, &m, &d);
  if (u == 6) return days - ((days + 3) % 7 + 7) % 7; /* back to Monday */
  if (u == 7) return td__days_from_civil(y, m, 1);
  if (u == 8) return td__days_from_civil(y, (m - 1) / 3 * 3 + 1, 1);
  if (u == 9) return td__days_from_civil(y, 1, 1);
  return td__days_from_civil(y - y % (u == 10 ? 10 : u == 11 ? 100 : 1000), 1, 1); /* as DuckDB: 2000, not 2001 */
}

static int row_trunc(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                     td_error *err) {
  int u = unit_index(&a[0], trunc_units, sizeof trunc_units / sizeof *trunc_units);
  if (u < 0) return bad_part(e, &a[0], err);
  int64_t ns, r;
  if (!to_ns(&a[1], &ns)) return range_error(e, err);
  if (u <= 5) {
    if (__builtin_sub_overflow(ns, td__floor_mod(ns, unit_step[u]), &r)) return range_error(e, err);
  } else {
    int64_t days = trunc_days(u, fdiv(ns, NS_PER_DAY));
    /* in the result's unit: the year 1000 has no nanoseconds timestamp */
    if (__builtin_mul_overflow(days, NS_PER_DAY / td_type_unit_ns(e->type), &r)) return range_error(e, err);
    *out = td_value_int(e->type, r);
    return TD_OK;
  }
  *out = td_value_int(e->type, fdiv(r, td_type_unit_ns(e->type)));
  return TD_OK;
}

/* ---- date_part ---- */

enum { P_YEAR, P_MONTH, P_DAY, P_HOUR, P_MINUTE, P_SECOND, P_MS, P_US, P_NS, P_DOW, P_ISODOW,
       P_DOY, P_WEEK, P_QUARTER, P_ISOYEAR, P_YEARWEEK, P_DECADE, P_CENTURY, P_MILLENNIUM, P_EPOCH,
       P_N, P_ALIASES = P_N + 7 };
/* The parts, then DuckDB's other names of some (the part each stands for in part_alias). */
static const char *const parts[P_ALIASES] = {
    "year",    "month",      "day",        "hour",       "minute",    "second",  "millisecond",
    "microsecond", "nanosecond", "dow",     "isodow",     "doy",       "week",    "quarter",
    "isoyear", "yearweek",   "decade",     "century",    "millennium", "epoch",
    "dayofmonth", "dayofweek", "weekday",  "dayofyear",  "weekofyear", "ms",     "us"};
static const int part_alias[P_ALIASES - P_N] = {P_DAY, P_DOW, P_DOW, P_DOY, P_WEEK, P_MS, P_US};

/* The part named by u, or -1. */
static int part_index(const td_value *u) {
  int p = unit_index(u, parts, P_ALIASES);
  return p >= P_N ? part_alias[p - P_N] : p;
}

static int bind_part(td_expr *e, td_error *err) {
  int rc = check_unit_literal(e, parts, P_ALIASES, err);
  if (!rc) rc = want_time_or_span(e, 1, err);
  const td_expr *u = e->args[0];
  bool epoch = u->kind == TD_EXPR_LITERAL && !u->lit.is_null && u->type == TD_TYPE_UTF8 &&
               part_index(&u->lit) == P_EPOCH;
  e->type = epoch ? TD_TYPE_FLOAT64 : TD_TYPE_INT64;
  return rc;
}

/* ISO-8601 week number of a day, and its ISO year in *iso_year. */
static int64_t iso_week(int64_t days, int64_t *iso_year) {
  int64_t wd = ((days + 3) % 7 + 7) % 7; /* 0 = Monday */
  int64_t thursday = days - wd + 3, y;
  int m, d;
  td__civil_from_days(thursday, &y, &m, &d);
  *iso_year = y;
  return (thursday - td__days_from_civil(y, 1, 1)) / 7 + 1;
}

/* Seconds since the epoch as DuckDB computes them: microseconds / 1e6
 * (one rounding) when the value is whole microseconds. */
static double epoch_seconds(int64_t ns) {
  if (ns % 1000 == 0) return (double)(ns / 1000) / 1e6;
  return (double)fdiv(ns, 1000000000) + (double)td__floor_mod(ns, 1000000000) / 1e9;
}

/* Whether part p depends on the time of day only (else on the day, or the epoch). */
static bool clock_part(int p) { return p >= P_HOUR && p <= P_NS; }

/* Part p of the time `in_day` ns after midnight (a clock part). */
static inline int64_t clock_value(int p, int64_t in_day) {
  int64_t sec_ns = in_day % 60000000000LL;
  switch (p) {
    case P_HOUR: return in_day / 3600000000000LL;
    case P_MINUTE: return in_day / 60000000000LL % 60;
    case P_SECOND: return sec_ns / 1000000000;
    case P_MS: return sec_ns / 1000000;
    case P_US: return sec_ns / 1000;
    default: return sec_ns;
  }
}

/* Part p of the day `days` since the epoch (neither a clock part nor the epoch). */
static int64_t day_value(int p, int64_t days) {
  int64_t y, v, iy;
  int m, d;
  td__civil_from_days(days, &y, &m, &d);
  switch (p) {
    case P_YEAR: v = y; break;
    case P_MONTH: v = m; break;
    case P_DAY: v = d; break;
    case P_DOW: v = ((days + 4) % 7 + 7) % 7; break; /* 0 = Sunday */
    case P_ISODOW: v = ((days + 3) % 7 + 7) % 7 + 1; break;
    case P_DOY: v = days - td__days_from_civil(y, 1, 1) + 1; break;
    case P_WEEK: v = iso_week(days, &iy); break;
    case P_QUARTER: v = (m - 1) / 3 + 1; break;
    case P_ISOYEAR: iso_week(days, &v); break;
    case P_YEARWEEK: v = iso_week(days, &iy), v += iy * 100; break;
    case P_DECADE: v = y / 10; break; /* years of timestamps are positive */
    case P_CENTURY: v = (y - 1) / 100 + 1; break;
    default: v = (y - 1) / 1000 + 1; break; /* P_MILLENNIUM */
  }
  return v;
}

/* Part p of a span of ns nanoseconds, as DuckDB takes it from an INTERVAL
 * of days and time: whole days, then the parts of the rest (both truncated
 * toward zero, so they carry the span's sign); calendar parts are 0 (a span
 * has no months).  Parts of a day of the week or year are not supported. */
static int span_part(const td_expr *e, int p, int64_t ns, td_value *out, td_error *err) {
  int64_t rem = ns % NS_PER_DAY, v;
  switch (p) {
    case P_EPOCH: *out = td_value_double(TD_TYPE_FLOAT64, epoch_seconds(ns)); return TD_OK;
    case P_DAY: v = ns / NS_PER_DAY; break;
    case P_HOUR: v = rem / 3600000000000LL; break;
    case P_MINUTE: v = rem % 3600000000000LL / 60000000000LL; break;
    case P_SECOND: v = rem % 60000000000LL / 1000000000; break;
    case P_MS: v = rem % 60000000000LL / 1000000; break;
    case P_US: v = rem % 60000000000LL / 1000; break;
    case P_NS: v = rem % 60000000000LL; break;
    case P_YEAR: case P_MONTH: case P_QUARTER: case P_DECADE: case P_CENTURY: case P_MILLENNIUM: v = 0; break;
    default:
      return td_err_at(err, TD_EUNSUPPORTED, e->pos, "date_part '%s' of a duration is not supported at offset %lld",
                       parts[p], (long long)e->pos);
  }
  *out = td_value_int(TD_TYPE_INT64, v);
  return TD_OK;
}

static int part_value(const td_expr *e, int p, int64_t ns, td_value *out, td_error *err) {
  const td_expr *x = e->args[e->n_args - 1];
  if (td_type_is_duration(x->type)) return span_part(e, p, ns, out, err);
  if (p == P_EPOCH) *out = td_value_double(TD_TYPE_FLOAT64, epoch_seconds(ns));
  else if (clock_part(p)) *out = td_value_int(TD_TYPE_INT64, clock_value(p, td__floor_mod(ns, NS_PER_DAY)));
  else *out = td_value_int(TD_TYPE_INT64, day_value(p, fdiv(ns, NS_PER_DAY)));
  return TD_OK;
}

static int row_part(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                    td_error *err) {
  int p = part_index(&a[0]);
  if (p < 0) return bad_part(e, &a[0], err);
  if ((p == P_EPOCH) != (e->type == TD_TYPE_FLOAT64))
    return td_err_at(err, TD_ETYPE, e->pos, "date_part: the part must be a constant at offset %lld",
                     (long long)e->pos);
  int64_t ns;
  if (!to_ns(&a[1], &ns)) return range_error(e, err);
  return part_value(e, p, ns, out, err);
}

/* year(ts), month(ts), ...: date_part with a fixed part */
static int bind_named_part(td_expr *e, td_error *err) {
  e->type = TD_TYPE_INT64;
  return want_time_or_span(e, 0, err);
}

static int row_named_part(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                          td_error *err) {
  int64_t ns;
  if (!to_ns(&a[0], &ns)) return range_error(e, err);
  td_value name = {.type = TD_TYPE_UTF8, .v.s = {.ptr = e->fn->name, .len = strlen(e->fn->name)}};
  return part_value(e, part_index(&name), ns, out, err); /* the function is named as its part */
}

/* ---- epoch_ns, epoch_ms, epoch ---- */

static int bind_epoch(td_expr *e, td_error *err) {
  e->type = strcmp(e->fn->name, "epoch") == 0 ? TD_TYPE_FLOAT64 : TD_TYPE_INT64;
  if (strcmp(e->fn->name, "epoch_ms") == 0 && td_type_is_integer(e->args[0]->type) && !td__is_interval(e->args[0])) {
    /* milliseconds -> TIMESTAMP (DuckDB) */
    e->type = TD_TYPE_TIMESTAMP_US;
    return TD_OK;
  }
  return want_time_or_span(e, 0, err);
}

static int row_epoch(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                     td_error *err) {
  int64_t ns;
  if (td_type_is_integer(a[0].type)) { /* epoch_ms(milliseconds) */
    if (__builtin_mul_overflow(a[0].v.i, 1000, &ns)) return range_error(e, err);
    *out = td_value_int(e->type, ns);
    return TD_OK;
  }
  if (!to_ns(&a[0], &ns)) return range_error(e, err);
  const char *n = e->fn->name;
  bool span = td_type_is_duration(a[0].type); /* a span's whole units: toward zero (DuckDB) */
  if (strcmp(n, "epoch") == 0) *out = td_value_double(TD_TYPE_FLOAT64, epoch_seconds(ns));
  else if (strcmp(n, "epoch_ms") == 0) *out = td_value_int(TD_TYPE_INT64, span ? ns / 1000000 : fdiv(ns, 1000000));
  else if (strcmp(n, "epoch_us") == 0) *out = td_value_int(TD_TYPE_INT64, span ? ns / 1000 : fdiv(ns, 1000));
  else *out = td_value_int(TD_TYPE_INT64, ns);
  return TD_OK;
}

/* ---- strftime ---- */

static int bind_strftime(td_expr *e, td_error *err) {
  e->type = TD_TYPE_UTF8;
  int rc = want_time(e, 0, err);
  return rc ? rc : td__func_want_str(e, 1, err);
}

/* v (0 <= v < 10^w) as w digits at p; w. */
static size_t put_digits(char *p, int64_t v, int w) {
  for (int i = w - 1; i >= 0; i--, v /= 10) p[i] = (char)('0' + v % 10);
  return (size_t)w;
}

static int row_strftime(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf,
                        td_error *err) {
  /* days and the time of day in the value's own unit: years 1..9999 of a
   * microseconds timestamp are out of the range of nanoseconds */
  int64_t unit = unit_of(a[0].type), per_day = NS_PER_DAY / unit;
  int64_t days = fdiv(a[0].v.i, per_day), in_day = td__floor_mod(a[0].v.i, per_day) * unit, y;
  int m, d;
  td__civil_from_days(days, &y, &m, &d);
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = (int)(y - 1900);
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  tm.tm_hour = (int)(in_day / 3600000000000LL);
  tm.tm_min = (int)(in_day / 60000000000LL % 60);
  tm.tm_sec = (int)(in_day / 1000000000 % 60);
  tm.tm_wday = (int)(((days + 4) % 7 + 7) % 7);
  tm.tm_yday = (int)(days - td__days_from_civil(y, 1, 1));
  const char *f = a[1].v.s.ptr;
  size_t n = a[1].v.s.len, from = buf->len;
  int rc = TD_OK;
  for (size_t i = 0; !rc && i < n; i++) {
    char tmp[64], spec[4] = {'%', 0, 0, 0};
    size_t k;
    if (f[i] != '%' || i + 1 == n) { /* a run of literal text */
      size_t j = i + 1;
      while (j < n && f[j] != '%') j++;
      rc = td__fbuf_put(buf, f + i, j - i, err);
      i = j - 1;
      continue;
    }
    char c = f[++i];
    /* the numeric fields without libc (whose strftime reads the time zone each call) */
    if (c == 'Y' && y >= 0 && y <= 9999) k = put_digits(tmp, y, 4); /* 0001, as DuckDB */
    else if (c == 'm') k = put_digits(tmp, m, 2);
    else if (c == 'd') k = put_digits(tmp, d, 2);
    else if (c == 'H') k = put_digits(tmp, tm.tm_hour, 2);
    else if (c == 'M') k = put_digits(tmp, tm.tm_min, 2);
    else if (c == 'S') k = put_digits(tmp, tm.tm_sec, 2);
    else if (c == 'j') k = put_digits(tmp, tm.tm_yday + 1, 3);
    else if (c == 'f') k = put_digits(tmp, in_day / 1000 % 1000000, 6);
    else if (c == 'g') k = put_digits(tmp, in_day / 1000000 % 1000, 3);
    else if (c == 'n') k = put_digits(tmp, in_day % 1000000000, 9);
    else {
      spec[1] = c;
      k = strftime(tmp, sizeof tmp, spec, &tm);
    }
    rc = td__fbuf_put(buf, tmp, k, err);
  }
  if (!rc) td__fbuf_value(buf, from, out);
  return rc;
}

/* ---- date_diff, make_date, make_timestamp, last_day ---- */

static int bind_diff(td_expr *e, td_error *err) {
  int rc = check_unit_literal(e, trunc_units, sizeof trunc_units / sizeof *trunc_units, err);
  if (!rc) rc = want_time(e, 1, err);
  if (!rc) rc = want_time(e, 2, err);
  e->type = TD_TYPE_INT64;
  return rc;
}

/* The part boundaries crossed from a[1] to a[2], as DuckDB's date_diff:
 * the difference of both truncated to the part (weeks: whole 7-day spans
 * of the day difference). */
static int row_diff(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  int u = unit_index(&a[0], trunc_units, sizeof trunc_units / sizeof *trunc_units);
  if (u < 0) return bad_part(e, &a[0], err);
  int64_t ns[2], r;
  if (!to_ns(&a[1], &ns[0]) || !to_ns(&a[2], &ns[1])) return range_error(e, err);
  if (u <= 5) {
    r = fdiv(ns[1], unit_step[u]) - fdiv(ns[0], unit_step[u]);
  } else if (u == 6) {
    r = (fdiv(ns[1], NS_PER_DAY) - fdiv(ns[0], NS_PER_DAY)) / 7;
  } else {
    int64_t y[2], k[2];
    int m, d;
    for (int i = 0; i < 2; i++) {
      td__civil_from_days(fdiv(ns[i], NS_PER_DAY), &y[i], &m, &d);
      k[i] = u == 7   ? y[i] * 12 + m - 1
             : u == 8 ? y[i] * 4 + (m - 1) / 3
                      : fdiv(y[i], u == 9 ? 1 : u == 10 ? 10 : u == 11 ? 100 : 1000);
    }
    r = k[1] - k[0];
  }
  *out = td_value_int(TD_TYPE_INT64, r);
  return TD_OK;
}

static int want_numbers(td_expr *e, td_error *err) {
  for (int64_t i = 0; i < e->n_args; i++) {
    td_type_id t = e->args[i]->type;
    bool ok = t == TD_TYPE_NONE || td_type_is_integer(t) || (i == 5 && td_type_is_float(t));
    if (!ok) return td__func_arg_error(e, i, i == 5 ? "a number" : "an integer", err);
  }
  return TD_OK;
}

static int bind_make_date(td_expr *e, td_error *err) {
  e->type = TD_TYPE_DATE32;
  return want_numbers(e, err);
}

/* Days since the epoch of y-m-d; false when that is not a date (or not in
 * the range of a DATE). */
static bool civil_days(int64_t y, int64_t m, int64_t d, int64_t *days) {
  if (m < 1 || m > 12 || d < 1 || y < -5000000 || y > 5000000) return false;
  int64_t next = m == 12 ? td__days_from_civil(y + 1, 1, 1) : td__days_from_civil(y, (int)m + 1, 1);
  *days = td__days_from_civil(y, (int)m, 1) + d - 1;
  return *days < next;
}

static int bad_date(const td_expr *e, const char *what, const td_value *a, int n, td_error *err) {
  char text[160];
  int k = 0;
  for (int i = 0; i < n && k < (int)sizeof text - 24; i++)
    k += snprintf(text + k, sizeof text - (size_t)k, i ? (i < 3 ? "-%lld" : i == 3 ? " %lld" : ":%lld") : "%lld",
                  (long long)a[i].v.i);
  return td_err_at(err, TD_ERANGE, e->pos, "%s: %s at offset %lld is not a valid %s", e->fn->name, text,
                   (long long)e->pos, what);
}

static int row_make_date(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  int64_t days;
  if (!civil_days(a[0].v.i, a[1].v.i, a[2].v.i, &days)) return bad_date(e, "date", a, 3, err);
  *out = td_value_int(TD_TYPE_DATE32, days);
  return TD_OK;
}

static int bind_make_ts(td_expr *e, td_error *err) {
  e->type = TD_TYPE_TIMESTAMP;
  if (e->n_args != 1 && e->n_args != 6)
    return td_err_at(err, TD_ETYPE, e->pos,
                     "make_timestamp expects 1 argument (microseconds) or 6 (year, month, day, hour, minute, "
                     "seconds) at offset %lld, found %lld",
                     (long long)e->pos, (long long)e->n_args);
  return want_numbers(e, err);
}

static int row_make_ts(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  int64_t ns, days;
  if (e->n_args == 1) {
    if (__builtin_mul_overflow(a[0].v.i, 1000, &ns)) return range_error(e, err);
    *out = td_value_int(TD_TYPE_TIMESTAMP, ns);
    return TD_OK;
  }
  double sec = td_type_is_float(a[5].type) ? a[5].v.f : (double)a[5].v.i;
  if (!civil_days(a[0].v.i, a[1].v.i, a[2].v.i, &days) || a[3].v.i < 0 || a[3].v.i > 23 || a[4].v.i < 0 ||
      a[4].v.i > 59 || !(sec >= 0 && sec < 60))
    return bad_date(e, "timestamp", a, 5, err);
  int64_t in_day = (a[3].v.i * 3600 + a[4].v.i * 60) * 1000000000 + (int64_t)(sec * 1e6 + 0.5) * 1000;
  if (__builtin_mul_overflow(days, NS_PER_DAY, &ns) || __builtin_add_overflow(ns, in_day, &ns))
    return range_error(e, err);
  *out = td_value_int(TD_TYPE_TIMESTAMP, ns);
  return TD_OK;
}

static int bind_last_day(td_expr *e, td_error *err) {
  e->type = TD_TYPE_DATE32;
  return want_time(e, 0, err);
}

static int row_last_day(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  int64_t ns, y;
  int m, d;
  if (!to_ns(&a[0], &ns)) return range_error(e, err);
  td__civil_from_days(fdiv(ns, NS_PER_DAY), &y, &m, &d);
  *out = td_value_int(TD_TYPE_DATE32, (m == 12 ? td__days_from_civil(y + 1, 1, 1) : td__days_from_civil(y, m + 1, 1)) - 1);
  return TD_OK;
}

/* ---- now() ---- */

static int bind_now(td_expr *e, td_error *err) {
  e->type = TD_TYPE_TIMESTAMP;
  if (!(e->tz = td_strdup("UTC"))) return td_err_nomem(err, "binding now()");
  return TD_OK;
}

static int row_now(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  *out = td_value_int(TD_TYPE_TIMESTAMP, td_timespec_ns(ts));
  return TD_OK;
}

/* ---- strptime, try_strptime ----
 * The format specifiers strftime and strptime share: one table.  `by_day`
 * marks fields no finer than a day (strftime's batch reuses one text per
 * day for a format of such fields only); `kind` is how strptime reads the
 * field (S_NONE: strftime only), `width` the most digits it takes. */
enum { S_NONE, S_YEAR, S_YEAR2, S_MONTH, S_DAY, S_HOUR, S_HOUR12, S_MIN, S_SEC, S_US, S_MS, S_NS, S_YDAY,
       S_WDAY, S_AMPM, S_MON_ABBR, S_MON_FULL, S_DAY_ABBR, S_DAY_FULL, S_TZ_OFF, S_TZ_NAME, S_PERCENT };
static const struct time_spec {
  char c;
  unsigned char kind, width;
  bool by_day;
  short lo, hi;      /* the range of a number (hi 0: any) */
  const char *what;  /* its name in the error */
} time_specs[] = {{'Y', S_YEAR, 4, true, 0, 0, NULL},
                  {'y', S_YEAR2, 2, true, 0, 0, NULL},
                  {'m', S_MONTH, 2, true, 1, 12, "month"},
                  {'d', S_DAY, 2, true, 1, 31, "day"},
                  {'H', S_HOUR, 2, false, 0, 23, "hour"},
                  {'I', S_HOUR12, 2, false, 1, 12, "hour12"},
                  {'M', S_MIN, 2, false, 0, 59, "minutes"},
                  {'S', S_SEC, 2, false, 0, 59, "seconds"},
                  {'f', S_US, 6, false, 0, 0, NULL},
                  {'g', S_MS, 3, false, 0, 0, NULL},
                  {'n', S_NS, 9, false, 0, 0, NULL},
                  {'j', S_YDAY, 3, true, 1, 366, "year day"},
                  {'w', S_WDAY, 1, true, 0, 6, "weekday"},
                  {'u', S_WDAY, 1, true, 1, 7, "weekday"},
                  {'p', S_AMPM, 0, false, 0, 0, NULL},
                  {'b', S_MON_ABBR, 0, true, 0, 0, NULL},  {'h', S_MON_ABBR, 0, true, 0, 0, NULL},  {'B', S_MON_FULL, 0, true, 0, 0, NULL},
                  {'a', S_DAY_ABBR, 0, true, 0, 0, NULL},  {'A', S_DAY_FULL, 0, true, 0, 0, NULL},  {'z', S_TZ_OFF, 0, false, 0, 0, NULL},
                  {'Z', S_TZ_NAME, 0, false, 0, 0, NULL},  {'%', S_PERCENT, 0, true, 0, 0, NULL},   {'C', S_NONE, 0, true, 0, 0, NULL},
                  {'G', S_NONE, 0, true, 0, 0, NULL},      {'U', S_NONE, 0, true, 0, 0, NULL},      {'W', S_NONE, 0, true, 0, 0, NULL},
                  {'V', S_NONE, 0, true, 0, 0, NULL},      {'e', S_NONE, 0, true, 0, 0, NULL},      {'D', S_NONE, 0, true, 0, 0, NULL},
                  {'F', S_NONE, 0, true, 0, 0, NULL},      {'x', S_NONE, 0, true, 0, 0, NULL}};

/* The entry of specifier c, or NULL. */
static const struct time_spec *time_spec_of(char c) {
  for (size_t i = 0; i < sizeof time_specs / sizeof *time_specs; i++)
    if (time_specs[i].c == c) return &time_specs[i];
  return NULL;
}

static const char *const month_names[12] = {"January", "February", "March",     "April",   "May",      "June",
                                            "July",    "August",   "September", "October", "November", "December"};
static const char *const day_names[7] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

/* What a strptime format holds: a time zone field (%z %Z: the result is
 * TIMESTAMP WITH TIME ZONE, in UTC) or nanoseconds (%n: TIMESTAMP_NS).
 * False with *bad at the specifier strptime cannot read (or at the end of
 * an empty format: bad = -1). */
typedef struct {
  bool tz, ns;
} strp_info;

static bool strp_check(const char *f, size_t n, strp_info *info, int64_t *bad) {
  memset(info, 0, sizeof *info);
  *bad = -1;
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++) {
    if (f[i] != '%') continue;
    size_t at = i;
    if (i + 1 < n && f[i + 1] == '-') i++; /* %-d: no padding, read as %d */
    const struct time_spec *s = i + 1 < n ? time_spec_of(f[++i]) : NULL;
    if (!s || s->kind == S_NONE || (f[i - 1] == '-' && s->width == 0) || (f[i - 1] == '-' && s->kind == S_WDAY)) {
      *bad = (int64_t)at;
      return false;
    }
    info->tz |= s->kind == S_TZ_OFF || s->kind == S_TZ_NAME;
    info->ns |= s->kind == S_NS;
  }
  return true;
}

/* A failure of strptime on one text: where and why (why_arg: a literal). */
typedef struct {
  size_t pos;
  const char *why;
  bool range; /* the fields read but are no date ("Date out of range") */
  char lit;   /* the literal expected, or 0 */
  char buf[80]; /* why, when made */
} strp_fail;

static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Matches one of `names` (or their first three letters: abbr) at s[*p]
 * case-insensitively; its index or -1. */
static int match_name(const char *s, size_t n, size_t *p, const char *const *names, int count, bool abbr) {
  for (int i = 0; i < count; i++) {
    size_t k = abbr ? 3 : strlen(names[i]);
    if (n - *p >= k && strncasecmp(s + *p, names[i], k) == 0) {
      *p += k;
      return i;
    }
  }
  return -1;
}

/* Parses text s by format f (checked by strp_check) as DuckDB's strptime:
 * leading and trailing white space is skipped, a run of spaces in the
 * format matches a run of white space, numbers take at most the field's
 * digits, missing fields are 1900-01-01 00:00:00.  Sets *us (microseconds,
 * or nanoseconds when ns) since the epoch in UTC; false with *fail. */
static bool strp_parse(const char *s, size_t n, const char *f, size_t fn, bool ns, int64_t *out, strp_fail *fail) {
  int64_t year = 1900, frac = 0, tz_sec = 0; /* frac: nanoseconds */
  int month = 1, day = 1, hour = 0, minute = 0, sec = 0, yday = 0, ampm = 0; /* ampm: 1 AM, 2 PM */
  size_t p = 0;
  while (p < n && is_space(s[p])) p++;
#define FAIL(at, msg) return (fail->pos = (at), fail->why = (msg), fail->range = false, false)
  for (size_t i = 0; i < fn; i++) {
    if (f[i] != '%') {
      if (is_space(f[i])) { /* a run of spaces: a run of white space */
        if (p >= n || !is_space(s[p])) FAIL(p, "expected white space");
        while (p < n && is_space(s[p])) p++;
        while (i + 1 < fn && is_space(f[i + 1])) i++;
      } else if (p >= n || s[p] != f[i]) {
        fail->lit = f[i];
        FAIL(p, "expected the format's literal");
      } else {
        p++;
      }
      continue;
    }
    if (f[++i] == '-') i++;
    const struct time_spec *sp = time_spec_of(f[i]);
    size_t start = p;
    int64_t v = 0;
    if (sp->width) { /* a number of at most width digits, in the field's range */
      while (p < n && p - start < sp->width && s[p] >= '0' && s[p] <= '9') v = v * 10 + (s[p++] - '0');
      if (p == start) FAIL(start, "expected a number");
      if (sp->hi && (v < sp->lo || v > sp->hi)) {
        snprintf(fail->buf, sizeof fail->buf, "%s out of range, expected a value between %d and %d", sp->what, sp->lo,
                 sp->hi);
        FAIL(start, fail->buf);
      }
    }
    switch (sp->kind) {
      case S_YEAR: year = v; break;
      case S_YEAR2: year = v + (v >= 69 ? 1900 : 2000); break;
      case S_MONTH: month = (int)v; break;
      case S_DAY: day = (int)v; break;
      case S_HOUR: case S_HOUR12: hour = (int)v; break;
      case S_MIN: minute = (int)v; break;
      case S_SEC: sec = (int)v; break;
      case S_YDAY: yday = (int)v; break;
      case S_WDAY: break; /* read, not checked against the date (as DuckDB) */
      case S_US: case S_MS: case S_NS: /* fewer digits are a fraction: .1 is 100 ms */
        for (size_t k = p - start; k < sp->width; k++) v *= 10;
        frac = v * (sp->kind == S_US ? 1000 : sp->kind == S_MS ? 1000000 : 1);
        break;
      case S_AMPM:
        if (n - p >= 2 && (s[p] == 'A' || s[p] == 'a' || s[p] == 'P' || s[p] == 'p') && (s[p + 1] == 'M' || s[p + 1] == 'm')) {
          ampm = s[p] == 'A' || s[p] == 'a' ? 1 : 2;
          p += 2;
        } else {
          FAIL(p, "expected AM or PM");
        }
        break;
      case S_MON_ABBR: case S_MON_FULL: {
        int m = match_name(s, n, &p, month_names, 12, sp->kind == S_MON_ABBR);
        if (m < 0) FAIL(p, sp->kind == S_MON_ABBR ? "expected an abbreviated month name (Jan, Feb, ...)"
                                                  : "expected a full month name (January, February, ...)");
        month = m + 1;
        break;
      }
      case S_DAY_ABBR: case S_DAY_FULL:
        if (match_name(s, n, &p, day_names, 7, sp->kind == S_DAY_ABBR) < 0)
          FAIL(p, sp->kind == S_DAY_ABBR ? "expected an abbreviated day name (Mon, Tue, ...)"
                                         : "expected a full day name (Monday, Tuesday, ...)");
        break;
      case S_TZ_OFF: { /* +HH, +HHMM, +HH:MM, +HH:MM:SS */
        int64_t part[3] = {0, 0, 0};
        int sign = p < n && s[p] == '-' ? -1 : 1;
        if (p >= n || (s[p] != '+' && s[p] != '-')) FAIL(p, "expected a UTC offset +HH[MM] or -HH[:MM[:SS]]");
        size_t q = p + 1;
        for (int k = 0; k < 3; k++) {
          if (k && q < n && s[q] == ':') q++;
          if (n - q < 2 || s[q] < '0' || s[q] > '9' || s[q + 1] < '0' || s[q + 1] > '9') {
            if (k == 0) FAIL(p, "expected a UTC offset +HH[MM] or -HH[:MM[:SS]]");
            if (s[q - 1] == ':') q--;
            break;
          }
          part[k] = (s[q] - '0') * 10 + (s[q + 1] - '0');
          q += 2;
        }
        tz_sec = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
        p = q;
        break;
      }
      case S_TZ_NAME: { /* a name up to white space: only UTC (and its aliases) */
        size_t q = p;
        while (q < n && !is_space(s[q])) q++;
        if (!((q - p == 3 && (strncasecmp(s + p, "UTC", 3) == 0 || strncasecmp(s + p, "GMT", 3) == 0)) ||
              (q - p == 1 && (s[p] == 'Z' || s[p] == 'z'))))
          FAIL(p, "time zone names other than UTC are not supported");
        p = q;
        break;
      }
      default: /* %% */
        fail->lit = '%';
        if (p >= n || s[p] != '%') FAIL(p, "expected the format's literal");
        p++;
    }
  }
  while (p < n && is_space(s[p])) p++;
  if (p < n) FAIL(p, "trailing characters after the format");
  if (ampm) {
    if (hour > 12) FAIL(0, "hour out of range for AM/PM, expected a value between 0 and 12");
    if (ampm == 2 && hour != 12) hour += 12;
    else if (ampm == 1 && hour == 12) hour = 0;
  }
  int64_t days;
  if (yday) {
    days = td__days_from_civil(year, 1, 1) + yday - 1;
    if (yday == 366 && days >= td__days_from_civil(year + 1, 1, 1)) FAIL(0, "year day out of range for the year");
  } else if (!civil_days(year, month, day, &days)) {
    return (fail->pos = 0, fail->why = "date out of range", fail->range = true, false);
  }
#undef FAIL
  int64_t in_day = ((int64_t)hour * 3600 + minute * 60 + sec - tz_sec) * 1000000000 + frac;
  int64_t r;
  if (ns) { /* 1677-09-21 .. 2262-04-11 */
    if (__builtin_mul_overflow(days, NS_PER_DAY, &r) || __builtin_add_overflow(r, in_day, &r))
      return (fail->pos = 0, fail->why = "timestamp out of the range of TIMESTAMP_NS", fail->range = true, false);
  } else {
    r = days * 86400000000LL + fdiv(in_day, 1000); /* years 0..9999: no overflow */
  }
  *out = r;
  return true;
}

static int bad_format(const td_expr *e, const char *f, size_t n, int64_t at, td_error *err) {
  const td_expr *fa = e->args[1];
  if (at < 0)
    return td_err_at(err, TD_ETYPE, fa->pos, "%s: expected a format at offset %lld, found an empty string", e->fn->name,
                     (long long)fa->pos);
  int k = (size_t)at + 2 < n && f[at + 1] == '-' ? 3 : (size_t)at + 1 < n ? 2 : 1;
  return td_err_at(err, TD_ETYPE, fa->pos,
                   "%s: the format specifier '%.*s' in \"%.*s\" at offset %lld is not supported (%%Y %%y %%m %%d %%H %%I "
                   "%%p %%M %%S %%f %%g %%n %%j %%w %%u %%b %%h %%B %%a %%A %%z %%Z %%%% are)",
                   e->fn->name, k, f + at, (int)(n > 80 ? 80 : n), f, (long long)fa->pos);
}

/* try_strptime's name starts with "try_". */
static bool is_try(const td_expr *e) { return e->fn->name[0] == 't'; }

/* strptime(text, format): TIMESTAMP (microseconds; TIMESTAMP_NS with %n;
 * in UTC with a time zone when the format has %z or %Z).  A constant
 * format is checked here; a list of formats does not parse (no list
 * literals). */
static int bind_strptime(td_expr *e, td_error *err) {
  int rc = td__func_want_str(e, 0, err);
  if (!rc) rc = td__func_want_str(e, 1, err);
  if (rc) return rc;
  strp_info info = {0};
  const td_expr *f = e->args[1];
  int64_t bad;
  if (f->kind == TD_EXPR_LITERAL && !f->lit.is_null && td_type_is_text(f->type) &&
      !strp_check(f->lit.v.s.ptr, f->lit.v.s.len, &info, &bad))
    return bad_format(e, f->lit.v.s.ptr, f->lit.v.s.len, bad, err);
  e->type = info.ns ? TD_TYPE_TIMESTAMP : TD_TYPE_TIMESTAMP_US;
  if (info.tz && !(e->tz = td_strdup("UTC"))) return td_err_nomem(err, "binding strptime");
  return TD_OK;
}

static int row_strptime(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  const char *s = a[0].v.s.ptr, *f = a[1].v.s.ptr;
  size_t n = a[0].v.s.len, fn = a[1].v.s.len;
  strp_info info;
  int64_t bad, r;
  strp_fail fail = {0};
  if (!strp_check(f, fn, &info, &bad)) return bad_format(e, f, fn, bad, err);
  if (info.ns != (e->type == TD_TYPE_TIMESTAMP) || info.tz != (e->tz != NULL))
    return td_err_at(err, TD_ETYPE, e->args[1]->pos,
                     "%s: expected a format without %%n, %%z or %%Z (the format is not a constant) at offset %lld, "
                     "found \"%.*s\"",
                     e->fn->name, (long long)e->args[1]->pos, (int)(fn > 80 ? 80 : fn), f);
  if (strp_parse(s, n, f, fn, info.ns, &r, &fail)) {
    *out = td_value_int(e->type, r);
    return TD_OK;
  }
  if (is_try(e)) {
    *out = td_value_null(e->type);
    return TD_OK;
  }
  char why[40], found[32] = "the end of the text";
  if (fail.pos < n) snprintf(found, sizeof found, "'%c'", s[fail.pos]);
  if (fail.lit) snprintf(why, sizeof why, "expected '%c'", fail.lit);
  if (fail.range)
    return td_err_at(err, TD_ERANGE, e->pos, "%s: \"%.*s\" read with format \"%.*s\" at offset %lld: %s", e->fn->name,
                     (int)(n > 80 ? 80 : n), s, (int)(fn > 80 ? 80 : fn), f, (long long)e->pos, fail.why);
  return td_err_at(err, TD_ETYPE, e->pos,
                   "%s: could not parse \"%.*s\" with format \"%.*s\" at offset %lld: at character %zu %s, found %s",
                   e->fn->name, (int)(n > 80 ? 80 : n), s, (int)(fn > 80 ? 80 : fn), f, (long long)e->pos, fail.pos,
                   fail.lit ? why : fail.why, found);
}

/* ---- to_timestamp(seconds), epoch_ms(milliseconds): a count since the epoch as a timestamp ---- */

/* to_timestamp(double): TIMESTAMP WITH TIME ZONE (microseconds, in UTC), as DuckDB. */
static int bind_to_timestamp(td_expr *e, td_error *err) {
  e->type = TD_TYPE_TIMESTAMP_US;
  int rc = td__func_want_num(e, 0, err);
  if (!rc && !(e->tz = td_strdup("UTC"))) rc = td_err_nomem(err, "binding to_timestamp");
  return rc;
}

static int row_to_timestamp(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  double d = (td_type_is_float(a[0].type) ? a[0].v.f : (double)a[0].v.i) * 1e6;
  if (!(d > -9.2233720368547e18 && d < 9.2233720368547e18)) /* NaN too */
    return td_err_at(err, TD_ERANGE, e->pos, "to_timestamp: epoch seconds at offset %lld are out of the range of a timestamp",
                     (long long)e->pos);
  *out = td_value_int(e->type, (int64_t)(d < 0 ? d - 0.5 : d + 0.5)); /* half away from zero, as DuckDB */
  return TD_OK;
}

/* ---- whole batches ----
 * date_trunc, date_part (EXTRACT) with a constant part, the named parts and
 * epoch* over a timestamp or date column batch at a time, with the row
 * functions' results: a part of the day (year, week, ...) is computed once
 * per run of rows on the same day, a fixed-length truncation is a floor to
 * a multiple of the unit in the column's own unit.  A batch with a valid
 * row whose nanoseconds (or truncated nanoseconds) leave int64 is left to
 * the row path, which reports "timestamp out of range" for the rows that
 * matter. */

/* epoch_ns, epoch_us, epoch_ms as pseudo-parts of the batch kernel. */
enum { E_EPOCH_NS = P_ALIASES, E_EPOCH_US, E_EPOCH_MS };

/* Argument i as a non-constant int64 vec of a temporal type, or NULL. */
static const td_vec *time_vec(const td_expr *e, const td_vec *args, int i) {
  const td_vec *x = &args[i];
  return x->is_const || x->ph != TD_PHYS_I64 || !unit_of(e->args[i]->type) ? NULL : x;
}

/* A constant, non-null text argument's value, or NULL. */
static const td_value *const_text(const td_vec *a) {
  return a->is_const && !a->c.is_null && td_type_is_text(a->c.type) ? &a->c : NULL;
}

/* Row i's nanoseconds into *ns; true when they overflow in a valid row. */
static inline bool ns_at(const td_vec *x, int64_t i, int64_t unit, int64_t *ns) {
  return __builtin_mul_overflow(x->i64[i], unit, ns) & (!x->valid || x->valid[i]);
}

/* Part p (P_*, or E_EPOCH_*) of every row of x (unit ns per value) into out. */
static int part_batch(int p, const td_vec *x, int64_t unit, int64_t n, td_vec *out, bool *done, td_error *err) {
  void *buf;
  int rc = td__vec_make(out, p == P_EPOCH ? TD_PHYS_F64 : TD_PHYS_I64, n, x, &buf, err);
  if (rc) return rc;
  bool bad = false;
  int64_t ns, *r = buf;
  if (p == P_EPOCH) {
    double *f = buf;
    for (int64_t i = 0; i < n; i++) {
      bad |= ns_at(x, i, unit, &ns);
      f[i] = epoch_seconds(ns);
    }
  } else if (p >= E_EPOCH_NS) {
    int64_t d = p == E_EPOCH_NS ? 1 : p == E_EPOCH_US ? 1000 : 1000000;
    for (int64_t i = 0; i < n; i++) bad |= ns_at(x, i, unit, &r[i]);
    if (d == 1000)
      for (int64_t i = 0; i < n; i++) r[i] = fdiv(r[i], 1000);
    else if (d == 1000000)
      for (int64_t i = 0; i < n; i++) r[i] = fdiv(r[i], 1000000);
  } else if (clock_part(p)) {
    for (int64_t i = 0; i < n; i++) {
      bad |= ns_at(x, i, unit, &ns);
      r[i] = clock_value(p, td__floor_mod(ns, NS_PER_DAY));
    }
  } else { /* a part of the day: once per run of rows on one day */
    int64_t last = INT64_MIN, v = 0;
    for (int64_t i = 0; i < n; i++) {
      bad |= ns_at(x, i, unit, &ns);
      int64_t days = fdiv(ns, NS_PER_DAY);
      if (days != last) v = day_value(p, last = days);
      r[i] = v;
    }
  }
  return td__vec_done(out, bad, done);
}

static int vec_part(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  const td_value *u = const_text(&args[0]);
  const td_vec *x = time_vec(e, args, 1);
  int p = u ? part_index(u) : -1;
  if (!x || p < 0 || (p == P_EPOCH) != (e->type == TD_TYPE_FLOAT64)) return TD_OK; /* the row path's errors */
  if (td_type_is_duration(e->args[1]->type) && p != P_EPOCH) return TD_OK; /* a span's parts: row by row */
  return part_batch(p, x, unit_of(e->args[1]->type), n, out, done, err);
}

static int vec_named_part(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  const td_vec *x = time_vec(e, args, 0);
  td_value name = {.type = TD_TYPE_UTF8, .v.s = {.ptr = e->fn->name, .len = strlen(e->fn->name)}};
  if (td_type_is_duration(e->args[0]->type)) return TD_OK; /* a span's parts: row by row */
  return x ? part_batch(part_index(&name), x, td_type_unit_ns(e->args[0]->type), n, out, done, err) : TD_OK;
}

static int vec_epoch(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  const td_vec *x = time_vec(e, args, 0);
  const char *f = e->fn->name;
  int p = strcmp(f, "epoch") == 0      ? P_EPOCH
          : strcmp(f, "epoch_ms") == 0 ? E_EPOCH_MS
          : strcmp(f, "epoch_us") == 0 ? E_EPOCH_US
                                       : E_EPOCH_NS;
  if (td_type_is_duration(e->args[0]->type) && p != P_EPOCH && p != E_EPOCH_NS) return TD_OK; /* toward zero: rows */
  return x ? part_batch(p, x, unit_of(e->args[0]->type), n, out, done, err) : TD_OK;
}

/* A fixed-length truncation in the column's unit: v - (v mod K), K a multiple
 * of that unit; the nanoseconds of v and of the result must not overflow. */
#define TRUNC_LOOP(K)                                                                          \
  for (int64_t i = 0; i < n; i++) {                                                            \
    int64_t v = x->i64[i], t, ns;                                                              \
    bool o1 = __builtin_mul_overflow(v, unit, &ns);                                            \
    bool o2 = __builtin_sub_overflow(v, td__floor_mod(v, K), &t);                              \
    bool o3 = __builtin_mul_overflow(t, unit, &ns);                                            \
    bad |= (o1 | o2 | o3) & (!x->valid || x->valid[i]);                                        \
    r[i] = t;                                                                                  \
  }                                                                                            \
  break

static int vec_trunc(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  const td_value *uv = const_text(&args[0]);
  const td_vec *x = time_vec(e, args, 1);
  int u = uv ? unit_index(uv, trunc_units, sizeof trunc_units / sizeof *trunc_units) : -1;
  if (!x || u < 0) return TD_OK;
  int64_t unit = td_type_unit_ns(e->args[1]->type), to = td_type_unit_ns(e->type), *r;
  void *buf;
  int rc = td__vec_make(out, TD_PHYS_I64, n, x, &buf, err);
  if (rc) return rc;
  r = buf;
  bool bad = false;
  if (u <= 5 && unit == to && unit_step[u] % unit == 0) {
    switch (unit_step[u] / unit) { /* constant divisors for the usual unit pairs */
      case 1: TRUNC_LOOP(1);
      case 60: TRUNC_LOOP(60);
      case 1000: TRUNC_LOOP(1000);
      case 3600: TRUNC_LOOP(3600);
      case 60000: TRUNC_LOOP(60000);
      case 86400: TRUNC_LOOP(86400);
      case 1000000: TRUNC_LOOP(1000000);
      case 3600000: TRUNC_LOOP(3600000);
      case 60000000: TRUNC_LOOP(60000000);
      case 86400000: TRUNC_LOOP(86400000);
      case 1000000000: TRUNC_LOOP(1000000000);
      case 3600000000LL: TRUNC_LOOP(3600000000LL);
      case 60000000000LL: TRUNC_LOOP(60000000000LL);
      case 86400000000LL: TRUNC_LOOP(86400000000LL);
      case 3600000000000LL: TRUNC_LOOP(3600000000000LL);
      case NS_PER_DAY: TRUNC_LOOP(NS_PER_DAY);
      default: TRUNC_LOOP(unit_step[u] / unit);
    }
  } else if (u <= 5) { /* as row_trunc */
    for (int64_t i = 0; i < n; i++) {
      int64_t ns, t;
      bool o = ns_at(x, i, unit, &ns);
      o |= __builtin_sub_overflow(ns, td__floor_mod(ns, unit_step[u]), &t) & (!x->valid || x->valid[i]);
      bad |= o;
      r[i] = fdiv(t, to);
    }
  } else { /* calendar units: once per run of rows on one day */
    int64_t last = INT64_MIN, v = 0, per = NS_PER_DAY / to;
    bool vbad = false;
    for (int64_t i = 0; i < n; i++) {
      int64_t ns;
      bad |= ns_at(x, i, unit, &ns);
      int64_t days = fdiv(ns, NS_PER_DAY);
      if (days != last) vbad = __builtin_mul_overflow(trunc_days(u, last = days), per, &v);
      bad |= vbad & (!x->valid || x->valid[i]);
      r[i] = v;
    }
  }
  return td__vec_done(out, bad, done);
}

/* strftime over a batch: each row as row_strftime formats it, except that a
 * format of date fields only is formatted once per run of rows on one day. */
static int vec_strftime(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  const td_vec *x = time_vec(e, args, 0);
  const td_value *f = const_text(&args[1]);
  if (!x || !f) return TD_OK;
  bool by_day = true; /* no field finer than a day (unknown ones count as finer) */
  for (size_t i = 0; i + 1 < f->v.s.len; i++)
    if (f->v.s.ptr[i] == '%') {
      const struct time_spec *sp = time_spec_of(f->v.s.ptr[++i]);
      by_day &= sp && sp->by_day;
    }
  int64_t unit = td_type_unit_ns(e->args[0]->type), last = INT64_MIN; /* the day of the last text made */
  int32_t last_at = 0, last_len = 0;
  int32_t *offs = td_malloc((size_t)(n + 1) * sizeof *offs);
  uint8_t *valid = x->valid ? td_malloc((size_t)(n ? n : 1)) : NULL;
  td_fbuf strs = {0};
  int rc = offs && (!x->valid || valid) ? TD_OK : td_err_nomem(err, "evaluating strftime");
  bool bad = false;
  if (offs) offs[0] = 0;
  for (int64_t i = 0; !rc && !bad && i < n; i++) {
    int64_t ns;
    size_t from = strs.len;
    if (x->valid && !x->valid[i]) {
      offs[i + 1] = (int32_t)from;
      continue;
    }
    bad = ns_at(x, i, unit, &ns);
    int64_t days = fdiv(ns, NS_PER_DAY);
    if (by_day && days == last) { /* the previous row's text again (copied: put may move the buffer) */
      char tmp[128];
      if (last_len <= (int32_t)sizeof tmp) {
        memcpy(tmp, strs.p + last_at, (size_t)last_len);
        rc = td__fbuf_put(&strs, tmp, (size_t)last_len, err);
        offs[i + 1] = (int32_t)strs.len;
        continue;
      }
    }
    td_value a[2] = {td_value_int(e->args[0]->type, x->i64[i]), *f}, r;
    if (!bad) rc = row_strftime(e, a, &r, &strs, err);
    bad |= strs.len > INT32_MAX; /* the row path reports it */
    offs[i + 1] = (int32_t)strs.len;
    last = days, last_at = (int32_t)from, last_len = (int32_t)(strs.len - from);
  }
  if (rc || bad || (!strs.p && !(strs.p = td_malloc(1)))) {
    td_free(offs);
    td_free(valid);
    td_free(strs.p);
    return rc ? rc : bad ? TD_OK : td_err_nomem(err, "evaluating strftime");
  }
  memset(out, 0, sizeof *out);
  out->ph = TD_PHYS_STR;
  out->n = n;
  out->offs = offs;
  out->strs = strs.p;
  if (valid) memcpy(valid, x->valid, (size_t)n);
  out->valid = valid;
  td__vec_own(out, offs);
  td__vec_own(out, strs.p);
  if (valid) td__vec_own(out, valid);
  *done = true;
  return TD_OK;
}

/* strptime over a batch of a string column with a constant format: each
 * row parsed straight from the column's bytes into the int64 result.  A
 * valid row that fails leaves the batch to the row path, which reports it
 * for the rows that matter (try_strptime: a null). */
static int vec_strptime(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  const td_vec *x = &args[0];
  const td_value *f = const_text(&args[1]);
  strp_info info;
  int64_t bad_at, *r;
  if (x->is_const || x->ph != TD_PHYS_STR || !f || !strp_check(f->v.s.ptr, f->v.s.len, &info, &bad_at) ||
      info.ns != (e->type == TD_TYPE_TIMESTAMP) || info.tz != (e->tz != NULL))
    return TD_OK;
  int rc = td__vec_make(out, TD_PHYS_I64, n, x, (void **)&r, err);
  if (rc) return rc;
  /* out's validity is a copy td__vec_make owns (or none yet): try_strptime's nulls go there */
  uint8_t *valid = (uint8_t *)out->valid;
  bool bad = false, try_ = is_try(e);
  for (int64_t i = 0; i < n && !bad; i++) {
    strp_fail fail = {0};
    r[i] = 0;
    if (x->valid && !x->valid[i]) continue;
    if (strp_parse(x->strs + x->offs[i], (size_t)(x->offs[i + 1] - x->offs[i]), f->v.s.ptr, f->v.s.len, info.ns, &r[i],
                   &fail))
      continue;
    if (!try_) {
      bad = true;
      break;
    }
    if (!valid) {
      if (!(valid = td_malloc((size_t)n))) {
        td__vec_free(out);
        return td_err_nomem(err, "evaluating try_strptime");
      }
      memset(valid, 1, (size_t)n);
      out->valid = valid;
      td__vec_own(out, valid);
    }
    valid[i] = 0;
  }
  return td__vec_done(out, bad, done);
}

/* ---- to_weeks .. to_microseconds: a count as a duration (DuckDB's INTERVAL) ---- */

static const struct {
  const char *name;
  int64_t us; /* microseconds per unit */
  bool frac;  /* takes a double (DuckDB: seconds, milliseconds, microseconds) */
} to_units[] = {{"to_weeks", 7 * 86400000000LL, false}, {"to_days", 86400000000LL, false},
                {"to_hours", 3600000000LL, false},      {"to_minutes", 60000000LL, false},
                {"to_seconds", 1000000, true},          {"to_milliseconds", 1000, true},
                {"to_microseconds", 1, true}};

static int to_unit_index(const td_expr *e) {
  for (size_t i = 0; i < sizeof to_units / sizeof *to_units; i++)
    if (strcmp(e->fn->name, to_units[i].name) == 0) return (int)i;
  return 0;
}

/* The result is a duration_us, DuckDB's unit (its INTERVAL holds microseconds). */
static int bind_to_span(td_expr *e, td_error *err) {
  td_type_id t = e->args[0]->type;
  e->type = TD_TYPE_DURATION_US;
  bool ok = t == TD_TYPE_NONE || td_type_is_integer(t) || (to_units[to_unit_index(e)].frac && td_type_is_float(t));
  return ok ? TD_OK : td__func_arg_error(e, 0, to_units[to_unit_index(e)].frac ? "a number" : "an integer", err);
}

static int row_to_span(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  int64_t per = to_units[to_unit_index(e)].us, v;
  bool bad;
  if (td_type_is_float(a[0].type)) { /* rounded half away from zero, as DuckDB */
    double d = a[0].v.f * (double)per;
    bad = !(d > -9.2e18 && d < 9.2e18); /* NaN too */
    v = bad ? 0 : (int64_t)(d < 0 ? d - 0.5 : d + 0.5);
  } else {
    bad = __builtin_mul_overflow(a[0].v.i, per, &v);
  }
  if (bad)
    return td_err_at(err, TD_ERANGE, e->pos, "%s: the interval is out of range at offset %lld", e->fn->name,
                     (long long)e->pos);
  *out = td_value_int(TD_TYPE_DURATION_US, v);
  return TD_OK;
}

/* ---- @rescale: the binder's change of unit ---- */

/* @rescale(x, type id): x (a timestamp, date or duration) in the unit of
 * the type whose id is the integer literal; made by the binder so that both
 * operands of span arithmetic and comparisons share one unit (bind.c).  To
 * a finer unit it multiplies (an overflow is an error); to date32 (days,
 * from a date64) it rounds down. */
static int bind_rescale(td_expr *e, td_error *err) {
  (void)err;
  e->type = (td_type_id)e->args[1]->lit.v.i;
  return TD_OK;
}

static int64_t rescale_factor(const td_expr *e) { return unit_of(e->args[0]->type) / unit_of(e->type); }

static int rescale_error(const td_expr *e, const td_value *v, td_error *err) {
  char text[96];
  td_value_format(v, text, sizeof text);
  return td_err_at(err, TD_ERANGE, e->pos, "%s %s is out of the range of %s at offset %lld",
                   td_type_name(v->type), text, td_type_name(e->type), (long long)e->pos);
}

static int row_rescale(const td_expr *e, const td_value *a, td_value *out, td_fbuf *buf, td_error *err) {
  (void)buf;
  int64_t f = rescale_factor(e), v;
  if (f == 0) v = fdiv(a[0].v.i, unit_of(e->type) / unit_of(a[0].type)); /* date64 -> date32 */
  else if (__builtin_mul_overflow(a[0].v.i, f, &v)) return rescale_error(e, &a[0], err);
  *out = td_value_int(e->type, v);
  return TD_OK;
}

static int vec_rescale(const td_expr *e, const td_vec *args, int64_t n, td_vec *out, bool *done, td_error *err) {
  const td_vec *x = &args[0];
  int64_t f = rescale_factor(e), *r;
  if (x->is_const || x->ph != TD_PHYS_I64 || f == 0) return TD_OK;
  int rc = td__vec_make(out, TD_PHYS_I64, n, x, (void **)&r, err);
  if (rc) return rc;
  unsigned bad = 0;
  for (int64_t i = 0; i < n; i++) bad |= __builtin_mul_overflow(x->i64[i], f, &r[i]) & (!x->valid || x->valid[i]);
  return td__vec_done(out, bad != 0, done); /* an overflow: the row path reports it */
}

const td_func td__funcs_time[] = {
    TD_FN_VEC("date_trunc", 2, 2, bind_trunc, row_trunc, true, false, vec_trunc),
    TD_FN_VEC("date_part", 2, 2, bind_part, row_part, true, false, vec_part),
    TD_FN_VEC("datepart", 2, 2, bind_part, row_part, true, false, vec_part),
    TD_FN_VEC("year", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("month", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("day", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("hour", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("minute", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("second", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("quarter", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("dayofweek", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("dayofmonth", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("dayofyear", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("weekday", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("week", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("weekofyear", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("isodow", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("isoyear", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("yearweek", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("decade", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("century", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("millennium", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("millisecond", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("microsecond", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("nanosecond", 1, 1, bind_named_part, row_named_part, true, false, vec_named_part),
    TD_FN_VEC("epoch_ns", 1, 1, bind_epoch, row_epoch, true, false, vec_epoch),
    TD_FN_VEC("epoch_us", 1, 1, bind_epoch, row_epoch, true, false, vec_epoch),
    TD_FN_VEC("epoch_ms", 1, 1, bind_epoch, row_epoch, true, false, vec_epoch),
    TD_FN_VEC("epoch", 1, 1, bind_epoch, row_epoch, true, false, vec_epoch),
    TD_FN_VEC("strftime", 2, 2, bind_strftime, row_strftime, true, false, vec_strftime),
    TD_FN("date_diff", 3, 3, bind_diff, row_diff, true, false),
    TD_FN("datediff", 3, 3, bind_diff, row_diff, true, false),
    TD_FN("make_date", 3, 3, bind_make_date, row_make_date, true, false),
    TD_FN("make_timestamp", 1, 6, bind_make_ts, row_make_ts, true, false),
    TD_FN("last_day", 1, 1, bind_last_day, row_last_day, true, false),
    TD_FN("now", 0, 0, bind_now, row_now, false, true),
    TD_FN_VEC("@rescale", 2, 2, bind_rescale, row_rescale, true, false, vec_rescale),
    TD_FN("to_weeks", 1, 1, bind_to_span, row_to_span, true, false),
    TD_FN("to_days", 1, 1, bind_to_span, row_to_span, true, false),
    TD_FN("to_hours", 1, 1, bind_to_span, row_to_span, true, false),
    TD_FN("to_minutes", 1, 1, bind_to_span, row_to_span, true, false),
    TD_FN("to_seconds", 1, 1, bind_to_span, row_to_span, true, false),
    TD_FN("to_milliseconds", 1, 1, bind_to_span, row_to_span, true, false),
    TD_FN("to_microseconds", 1, 1, bind_to_span, row_to_span, true, false),
    TD_FN("current_timestamp", 0, 0, bind_now, row_now, false, true),
    TD_FN_VEC("strptime", 2, 2, bind_strptime, row_strptime, true, false, vec_strptime),
    TD_FN_VEC("try_strptime", 2, 2, bind_strptime, row_strptime, true, false, vec_strptime),
    TD_FN("to_timestamp", 1, 1, bind_to_timestamp, row_to_timestamp, true, false),
    {NULL, 0, 0, NULL, NULL, false, false, NULL, NULL, NULL}};
