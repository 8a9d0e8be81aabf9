/*
 * query/func.h - internal: the registry of scalar functions and of the
 * special forms that evaluate like them (CASE, CAST, LIKE, IS DISTINCT FROM,
 * ||, %, timestamp +- INTERVAL).
 *
 * A function is found by name when a CALL node is bound (td__func_find);
 * the binder stores the entry in e->fn and the function's bind hook types
 * the node.  Evaluation is one row at a time through the `row` hook, for
 * both evaluators: td_expr_eval_row() calls it directly, the vectorized
 * evaluator evaluates the arguments as vectors and calls it per row
 * (td__func_eval_vec).  String results are written into a caller-owned
 * td_fbuf.  Each family lives in its own file (func_core.c, func_string.c,
 * func_math.c, func_time.c) and exports one table.
 */
#ifndef TD_QUERY_FUNC_H
#define TD_QUERY_FUNC_H

#include "query/expr.h"

/* A growable byte buffer for string results. */
typedef struct td_fbuf {
  char *p;
  size_t len, cap;
} td_fbuf;

/* Appends n bytes; TD_ENOMEM through err. */
int td__fbuf_put(td_fbuf *b, const char *s, size_t n, td_error *err);
/* Text to binary bytes as CAST(text AS BLOB) reads them: \xHH escapes
 * become one byte, other bytes are kept.  Writes at most n bytes to `out`
 * (which may be `s` itself) and their count to *out_len.  Errors: TD_ETYPE
 * for a backslash that does not start an escape (pointing at `pos`). */
int td__text_to_binary(const char *s, size_t n, char *out, size_t *out_len, int64_t pos, td_error *err);
/* Makes *out the utf8 value of b's bytes from `from` to the end. */
void td__fbuf_value(const td_fbuf *b, size_t from, td_value *out);

typedef struct td_func td_func;
struct td_vec;
/* Types node e (its arguments are bound): sets e->type (and e->tz) or
 * reports TD_ETYPE at the offending argument. */
typedef int (*td_func_bind)(td_expr *e, td_error *err);
/* Computes one row: args[i] is argument i (typed as e->args[i]->type, or a
 * constant of a compatible type).  Strings go to `buf`. */
typedef int (*td_func_row)(const td_expr *e, const td_value *args, td_value *out, td_fbuf *buf,
                           td_error *err);

struct td_func {
  const char *name;   /* lower case */
  int min_args, max_args; /* max -1: any number */
  td_func_bind bind;
  td_func_row row;
  bool null_in_null_out; /* a null argument gives null without calling row */
  bool is_volatile;      /* never folded (now()) */
  /* Optional: state made once per bound node (a compiled regular
   * expression) into e->fn_state, after bind and on td_expr_clone; freed
   * with `release` by td_expr_free.  Read-only while evaluating. */
  int (*prepare)(td_expr *e, td_error *err);
  void (*release)(void *state);
  /* Optional: the whole batch at once from the evaluated arguments (n
   * rows), when the arguments allow it: sets *done and fills `out` with
   * buffers of its own (td__vec_own) or moves an argument's vector into
   * `out` (td__vec_move: the caller owns `args` and frees what is left);
   * else leaves both and the rows are computed one by one. */
  int (*vec)(const td_expr *e, const struct td_vec *args, int64_t n, struct td_vec *out, bool *done,
             td_error *err);
};

/* A table entry without prepared state. */
#define TD_FN(name, lo, hi, bind, row, nn, vol) {name, lo, hi, bind, row, nn, vol, NULL, NULL, NULL}
/* The same with a whole-batch hook. */
#define TD_FN_VEC(name, lo, hi, bind, row, nn, vol, vec) {name, lo, hi, bind, row, nn, vol, NULL, NULL, vec}

/* The whole-batch hook of string functions that do not fail on a row and
 * give null for a null argument (func_string.c; `||` too): the first
 * argument a string vector, the others constants that are not null; each
 * row through e->fn->row (or a faster loop with the same answers). */
int td__vec_string(const td_expr *e, const struct td_vec *a, int64_t n, struct td_vec *out, bool *done,
                   td_error *err);

/* The whole-batch hook of a pattern match (LIKE, GLOB) of a string vector
 * (args[0]) against a constant pattern (args[1]), two arguments: a pattern
 * of one literal between leading and trailing runs of `any` and none of
 * `specials` compares bytes (memcmp, memmem); any other calls match(s, n,
 * p, m) per row.  e->negated inverts the answers; null rows stay null.
 * Leaves *done false (the row path runs) for any other arguments. */
int td__vec_pattern(const struct td_expr *e, const struct td_vec *args, int64_t n, struct td_vec *out, bool *done,
                    char any, const char *specials, bool (*match)(const char *, size_t, const char *, size_t),
                    td_error *err);

/* DuckDB's name of type t with type parameter `param` (td_field.tz):
 * "BIGINT", "TIMESTAMP WITH TIME ZONE" for a timestamp with a zone,
 * "DECIMAL(p,s)" (built in tmp, `size` bytes; "DECIMAL" when tmp is NULL),
 * "INTERVAL" for durations, "\"NULL\"" for TD_TYPE_NONE (func_format.c). */
const char *td__sql_type_name(td_type_id t, const char *param, char *tmp, size_t size);

/* The entry for `name` (lower case), or NULL. */
const td_func *td__func_find(const char *name);
/* Binds CALL node e (children bound) whose name is a registered function:
 * checks the argument count and calls the entry's bind hook. */
int td__func_bind(const td_func *f, td_expr *e, td_error *err);
/* Row evaluation of a node with e->fn (eval_row.c calls it). */
int td__func_eval_row(const td_expr *e, const td_value *row, td_value *out, td_error *err);

/* The families' tables, each ending with a {NULL} entry. */
extern const td_func td__funcs_core[];
extern const td_func td__funcs_string[];
extern const td_func td__funcs_math[];
extern const td_func td__funcs_time[];
/* printf, format, typeof (func_format.c). */
extern const td_func td__funcs_format[];
/* The readers of live subqueries' slots (query/subq_live.c). */
extern const td_func td__funcs_subq[];

/* Replaces in *slot every call of var_samp, var_pop, variance, stddev,
 * stddev_samp, stddev_pop by its expression over count and sum, and of
 * count_if, bool_and, bool_or by one over sum, min and max, and of the
 * moment statistics (corr, covar_pop/samp, regr_*, skewness, kurtosis) by
 * ones over count, sum, min and max (agg_rewrite.c); TD_ETYPE for a wrong
 * argument count. */
int td__rewrite_stat_aggs(td_expr **slot, td_error *err);
/* Whether `name` (lower case) is one of the aggregates rewritten above. */
bool td__is_stat_agg(const char *name);

/* ---- helpers shared by the families ---- */
/* Whether e is an INTERVAL form (a CALL "interval"). */
bool td__is_interval(const td_expr *e);
/* Types a bound INTERVAL node of a fixed-length unit as duration_ns (its
 * value is nanoseconds), for arithmetic and comparisons with durations;
 * TD_EUNSUPPORTED for months, quarters and years. */
int td__interval_as_span(td_expr *e, td_error *err);
/* SQL LIKE of s against pattern p: % any run, _ one UTF-8 character, the
 * byte esc (-1: none) makes the next pattern character literal.  Bytewise
 * (ILIKE maps both sides with td__utf8_case_map first). */
bool td__like_match(const char *s, size_t n, const char *p, size_t m, int esc);
/* Appends s to buf with each UTF-8 character mapped to upper (up) or lower
 * case as upper()/lower() do (bytes that are not UTF-8 unchanged).
 * TD_ENOMEM through err. */
int td__utf8_case_map(const char *s, size_t n, bool up, td_fbuf *buf, td_error *err);
bool td__type_numeric(td_type_id t);
/* The common type of values of types a and b (NONE is a null): equal types
 * stay, integers widen to int64, integer and float give float64, a utf8
 * literal meets a timestamp as a timestamp; TD_TYPE_NONE when none. */
td_type_id td__type_common(td_type_id a, td_type_id b);
/* Error "<fn> expects <what> as argument N, found <type> at offset P". */
int td__func_arg_error(const td_expr *e, int64_t i, const char *what, td_error *err);
/* Checks that argument i is utf8 (or a null). */
int td__func_want_str(const td_expr *e, int64_t i, td_error *err);
/* Checks that argument i is numeric (or a null). */
int td__func_want_num(const td_expr *e, int64_t i, td_error *err);
/* Converts a value to type t (CAST): strings are parsed, numbers converted
 * (float to integer rounds half to even, as DuckDB), anything prints as utf8
 * into buf.  TD_ETYPE (at pos) when a string does not parse or a value is
 * out of t's range. */
int td__cast_value(const td_value *v, td_type_id t, td_value *out, td_fbuf *buf, int64_t pos,
                   td_error *err);
/* Converts a value to DECIMAL(p, s) as DuckDB: integers and bools scaled,
 * doubles multiplied by 10^s and rounded half away from zero, decimals of
 * another scale and decimal text ("1.235", "1e2") rounded half away from
 * zero.  TD_ETYPE (at pos) for text that is no number, NaN, infinities,
 * temporal values and results of more than p digits. */
int td__cast_decimal(const td_value *v, int p, int s, td_value *out, int64_t pos, td_error *err);
/* The least magnitude a double rounds up from to a float infinity: FLT_MAX plus half its ulp
 * (2^128 - 2^103; the tie rounds to even, away from FLT_MAX's odd significand).  CAST to
 * FLOAT fails for a finite double of at least this magnitude. */
#define TD_FLOAT32_OVER 0x1.ffffffp127
/* Timestamp (ns) text "YYYY-MM-DD HH:MM:SS[.fraction]" as DuckDB prints it. */
int td__format_ts(int64_t ns, td_fbuf *buf, td_error *err);
/* Appends v's text as CAST(v AS VARCHAR) gives it (func.c).  Errors:
 * TD_ENOMEM. */
int td__to_text(const td_value *v, td_fbuf *buf, td_error *err);

#endif
