/*
 * query/expr.h - the expression language: AST, parser, binder, evaluators.
 *
 * Life of an expression:
 *   1. td_expr_parse() (or the SQL parser) builds an unbound AST.  Every node
 *      keeps the byte offset of its token in the query text (`pos`).
 *   2. td_expr_bind() makes a bound COPY against a td_schema: column names are
 *      resolved to field indices, every node gets a result type, constant
 *      subtrees are folded, BETWEEN is rewritten to comparisons and NOT is
 *      pushed down.  The unbound input is left unchanged (print it for
 *      output column names).
 *   3. A bound expression is evaluated over batches of column views:
 *      td_expr_eval() into an array, td_expr_select() into a selection vector
 *      (the fast path for filters), td_expr_eval_row() over one row of scalars.
 *
 * Ownership: every td_expr returned by this module is owned by the caller and
 * freed with td_expr_free(), which frees its whole subtree.  Errors follow
 * tabledata/error.h; parse and type errors carry err->position.
 */
#ifndef TD_QUERY_EXPR_H
#define TD_QUERY_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrow/array.h"
#include "arrow/schema.h"
#include "tabledata/error.h"
#include "tabledata/types.h"

/* Maximum height of an expression tree; deeper input is a TD_EPARSE error. */
#define TD_EXPR_MAX_DEPTH 256

typedef enum td_expr_kind {
  TD_EXPR_COLUMN,   /* name; after binding: column = field index */
  TD_EXPR_LITERAL,  /* lit (strings owned by the node) */
  TD_EXPR_UNARY,    /* op NEG or NOT; args[0] */
  TD_EXPR_BINARY,   /* arithmetic, comparison, AND, OR; args[0], args[1] */
  TD_EXPR_IN,       /* args[0] IN (args[1..n-1]); negated for NOT IN */
  TD_EXPR_BETWEEN,  /* args[0] BETWEEN args[1] AND args[2]; negated */
  TD_EXPR_IS_NULL,  /* args[0] IS NULL; negated for IS NOT NULL */
  TD_EXPR_CALL,     /* name(args); lower-cased name; star for count(*).  Special
                     * forms are calls too: "case" (args when1, then1, ...,
                     * [else]: an odd count has an ELSE), "cast" (x, 'TYPE'),
                     * "like"/"ilike" (x, pattern; negated for NOT LIKE),
                     * "distinct_from" (IS [NOT] DISTINCT FROM; negated for
                     * NOT), "interval" (n, 'unit') */
} td_expr_kind;

typedef enum td_op {
  TD_OP_NONE,
  TD_OP_ADD, TD_OP_SUB, TD_OP_MUL, TD_OP_DIV,
  TD_OP_EQ, TD_OP_NE, TD_OP_LT, TD_OP_LE, TD_OP_GT, TD_OP_GE,
  TD_OP_AND, TD_OP_OR,
  TD_OP_NOT, TD_OP_NEG,
  TD_OP_MOD, TD_OP_CONCAT, /* % and ||: evaluated through the function registry */
  TD_OP_IDIV /* //: integer division, through the registry too */
} td_op;

typedef enum td_agg_kind {
  TD_AGG_NONE = 0, /* not an aggregate */
  TD_AGG_COUNT_STAR,
  TD_AGG_COUNT,
  TD_AGG_SUM,
  TD_AGG_MIN,
  TD_AGG_MAX,
  TD_AGG_AVG,
  TD_AGG_FIRST,
  TD_AGG_LAST,
  /* query/agg_more.h: count/sum/avg(DISTINCT), approx_count_distinct,
   * median/quantile_cont (CONT), quantile_disc, string_agg and
   * string_agg(DISTINCT) */
  TD_AGG_COUNT_DISTINCT,
  TD_AGG_SUM_DISTINCT,
  TD_AGG_AVG_DISTINCT,
  TD_AGG_APPROX_DISTINCT,
  TD_AGG_QUANTILE_CONT,
  TD_AGG_QUANTILE_DISC,
  TD_AGG_STRING_AGG,
  TD_AGG_STRING_AGG_DISTINCT, /* string_agg(DISTINCT x): the distinct values, sorted */
  /* query/agg.c, one value per group: any_value (first non-null in row
   * order), arg_max/arg_min (two inputs, see td_agg_set_arg_value; rows
   * whose arg is null skipped, as DuckDB) and arg_max_null/arg_min_null
   * (such rows kept), product, bit_and/bit_or/bit_xor */
  TD_AGG_ANY_VALUE,
  TD_AGG_ARG_MAX,
  TD_AGG_ARG_MIN,
  TD_AGG_ARG_MAX_NULL,
  TD_AGG_ARG_MIN_NULL,
  TD_AGG_PRODUCT,
  TD_AGG_BIT_AND,
  TD_AGG_BIT_OR,
  TD_AGG_BIT_XOR,
  /* query/agg.c, two float64 inputs (y, x), DuckDB's Welford-style state */
  TD_AGG_COVAR_POP,
  TD_AGG_COVAR_SAMP,
  TD_AGG_CORR,
  TD_AGG_REGR_SLOPE,
  TD_AGG_REGR_INTERCEPT,
  TD_AGG_REGR_R2,
  TD_AGG_REGR_SXX,
  TD_AGG_REGR_SYY,
  TD_AGG_REGR_SXY,
  /* query/agg.c, one float64 input, DuckDB's power sums */
  TD_AGG_SKEWNESS,
  TD_AGG_KURTOSIS,
  /* query/agg_more.h, a (value -> count) map per group: mode (the most
   * frequent value, the first seen on ties) and entropy (log base 2) */
  TD_AGG_MODE,
  TD_AGG_ENTROPY
} td_agg_kind;

/* The aggregates of two inputs: arg_max & co. and the pair statistics. */
static inline bool td_agg_two_inputs(td_agg_kind k) {
  return (k >= TD_AGG_ARG_MAX && k <= TD_AGG_ARG_MIN_NULL) || (k >= TD_AGG_COVAR_POP && k <= TD_AGG_REGR_SXY);
}
/* The pair statistics (inputs bound as float64). */
/* string_agg, plain or DISTINCT: text input (others cast to VARCHAR), a
 * separator parameter, each group's joined text kept in the state. */
static inline bool td_agg_joins_text(td_agg_kind k) { return k == TD_AGG_STRING_AGG || k == TD_AGG_STRING_AGG_DISTINCT; }
static inline bool td_agg_is_pair_stat(td_agg_kind k) { return k >= TD_AGG_COVAR_POP && k <= TD_AGG_REGR_SXY; }
/* The moment statistics: the pair ones, skewness and kurtosis (inputs bound
 * as float64, state of query/agg.c's mom arrays). */
static inline bool td_agg_is_moment(td_agg_kind k) { return k >= TD_AGG_COVAR_POP && k <= TD_AGG_KURTOSIS; }

typedef struct td_expr {
  td_expr_kind kind;
  td_op op;          /* UNARY / BINARY */
  int64_t pos;       /* byte offset of the node's token in the query text */
  bool negated;      /* IN, BETWEEN, IS_NULL */
  bool star;         /* CALL: count(*) */
  char *name;        /* COLUMN: name as written; CALL: lower-cased name */
  td_value lit;      /* LITERAL; utf8 bytes owned by the node */
  int64_t n_args;
  struct td_expr **args;
  /* Filled by td_expr_bind(); zero / NONE / -1 in unbound trees. */
  td_type_id type;   /* result type; TIMESTAMP nodes may carry tz */
  char *tz;          /* owned time zone name of a timestamp result, the "p,s"
                        of a decimal128 result, or NULL */
  int64_t column;    /* COLUMN: field index, else -1 */
  td_agg_kind agg;   /* CALL: which aggregate */
  int height;        /* height of this subtree (1 for a leaf) */
  struct td_in_set *in_set; /* IN over literals: owned hash set (query/inset.h) */
  /* A scalar function (query/func.h) set by the binder: the node (a CALL, or
   * a BINARY % || or timestamp +- INTERVAL) evaluates through it. */
  const struct td_func *fn;
  /* Owned scratch (a td_fbuf) for string results of td_expr_eval_row on a
   * node with fn: such a result stays valid until the node is evaluated
   * again, so row evaluation of one tree is not thread-safe. */
  void *scratch;
  void *fn_state; /* owned: fn->prepare's state, or NULL */
} td_expr;

/* ---- parsing ---- */

/* Parses `len` bytes of `text` as one expression.  On success *out is a new
 * unbound tree.  Syntax errors: TD_EPARSE with err->position at the offending
 * token and a message "expected X at offset N, found 'Y'"; nesting deeper
 * than TD_EXPR_MAX_DEPTH is TD_EPARSE too.  TD_ENOMEM on allocation failure.
 * Nothing is allocated on failure. */
int td_expr_parse(const char *text, size_t len, td_expr **out, td_error *err);

/* Frees a tree (NULL allowed). */
void td_expr_free(td_expr *e);

/* Deep copy (bound fields included).  TD_ENOMEM on failure. */
int td_expr_clone(const td_expr *e, td_expr **out, td_error *err);

/* ---- inspection (bound or unbound trees) ---- */

/* Canonical text of an expression: keywords upper case, function names lower
 * case, identifiers quoted only when needed, minimal parentheses, single
 * spaces around binary operators: "sum(Price * Size)", "a IN (1, 2)".  Parsing
 * the text gives an equal tree.  *out is a NUL-terminated string allocated
 * with td_malloc (free with td_free).  TD_ENOMEM on failure. */
int td_expr_print(const td_expr *e, char **out, td_error *err);

/* Structural equality ignoring positions: same kinds, operators, column
 * names (case-sensitive), function names and literal values.  Use it to
 * match "ORDER BY sum(x)" with a select item "SUM(x)". */
bool td_expr_equal(const td_expr *a, const td_expr *b);

/* A hash of the tree consistent with td_expr_equal (equal trees hash the
 * same), for indexes of expressions. */
uint64_t td_expr_hash(const td_expr *e);

/* Whether the tree contains an aggregate call (count, sum, min, max, avg,
 * first, last).  Works on unbound trees (by name). */
bool td_expr_has_agg(const td_expr *e);

/* Whether `name` (any case) is an aggregate function name. */
td_agg_kind td_agg_kind_from_name(const char *name);

/* The comparison with its operands swapped: a < b is b > a (=, != stay). */
td_op td_op_mirror(td_op op);

/* Splits a predicate into its top-level AND conjuncts: fills up to `cap`
 * pointers into `out` (borrowed, pointing into `e`) and returns how many
 * there are (which may exceed cap: call again with a larger array). */
int64_t td_expr_conjuncts(const td_expr *e, const td_expr **out, int64_t cap);

/* ---- binding ---- */

enum {
  TD_BIND_ALLOW_AGG = 1 /* aggregate calls are allowed (select lists) */
};

/* Binds a copy of `e` against `schema`: resolves columns, types every node,
 * checks types (TD_ETYPE at the offending operator or literal, e.g. "cannot
 * compare utf8 with int64 at offset 12"), parses string literals compared
 * with timestamps as ISO-8601, folds constants, rewrites BETWEEN and pushes
 * NOT down.  Every binding error is TD_ETYPE with err->position: unknown
 * columns ("unknown column 'Prcie' at offset 7"), unknown functions, bad
 * argument counts, unparseable timestamp literals.  Aggregates without
 * TD_BIND_ALLOW_AGG, or nested aggregates: TD_ETYPE.  A root whose type would
 * be NONE (a bare NULL) is typed bool.  *out is new; `e` is not modified. */
int td_expr_bind(const td_expr *e, const td_schema *schema, int flags, td_expr **out,
                 td_error *err);

/* The error of an aggregate other than count given `*` (sum(*)): TD_ETYPE
 * at the call. */
int td__agg_star_error(const td_expr *e, td_error *err);

/* The result type of an aggregate over an input of type `in`:
 * count -> int64; sum of integers -> int64, of floats -> float64; avg ->
 * float64; min, max, first, last -> `in`.  TD_TYPE_NONE when not allowed
 * (sum/avg of non-numeric types). */
td_type_id td_agg_result_type(td_agg_kind kind, td_type_id in);
/* The type parameter (td_field.tz) of that result: a timestamp's time zone,
 * "38,s" for the sum of a decimal128 of scale s (exact), the input's "p,s"
 * for its min, max, first, last; NULL for others.  avg of decimal128 is
 * float64 (as DuckDB's).  May return buf (size >= 16) or in_param. */
const char *td_agg_result_param(td_agg_kind kind, td_type_id in, const char *in_param, char *buf, size_t size);

/* Sorted, distinct field indices referenced by a bound tree, written to
 * `out` (up to cap); returns the count.  When the result exceeds cap it is an
 * upper bound: call again with that many slots. */
int64_t td_expr_columns(const td_expr *e, int64_t *out, int64_t cap);

/* Whether every column a bound tree references is in `set` (a bool per
 * field index, n_set entries).  True for constant expressions. */
bool td_expr_only_columns(const td_expr *e, const bool *set, int64_t n_set);

/* Parses an ISO-8601 timestamp ("2024-01-02", "2024-01-02T10:30:00", space
 * instead of T, up to 9 fractional digits, "Z" or "+HH:MM"/"-HH:MM"; no
 * offset means UTC) into nanoseconds since the epoch.  False if malformed
 * or outside what int64 nanoseconds hold (1677-09-21 to 2262-04-11). */
bool td_parse_timestamp(const char *s, size_t len, int64_t *out_ns);

/* Internal: days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t td__days_from_civil(int64_t y, int m, int d);
void td__civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Internal: a mod b in [0, b) for b > 0; a - floor(a / b) * b without that
 * product, which overflows for a near INT64_MIN (the day of INT64_MIN ns
 * starts before INT64_MIN). */
static inline int64_t td__floor_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return r < 0 ? r + b : r;
}

/* ---- evaluation ---- */

/*
 * A batch of rows.  cols[i] views schema column i (only columns the
 * expression references need be filled; each must have at least `length`
 * rows).  When consts != NULL and consts[i].type != TD_TYPE_NONE, column i is
 * the constant consts[i] (possibly null) for the whole batch and cols[i] is
 * not read.  Strings in consts are borrowed for the call.
 */
typedef struct td_batch {
  int64_t length;
  const td_colview *cols;
  const td_value *consts;
  /* Optional: when sel != NULL only these n_sel rows (increasing) matter;
   * an integer overflow in another row (one a filter dropped) is not an
   * error.  Results are still computed for every row. */
  const uint32_t *sel;
  int64_t n_sel;
} td_batch;

/* Evaluates a bound expression over every row of `b` into `out`, which this
 * function initializes (type e->type, length b->length); the caller resets
 * it.  Integer + - * whose result leaves int64 in a row that matters (valid,
 * in b->sel) fail with TD_ERANGE naming the expression ("integer overflow in
 * 'a * b' at offset 7 ..."); division is float64 and x / 0 is NULL.
 * Aggregate calls cannot be evaluated: TD_EINVAL.
 * On failure `out` is left reset. */
int td_expr_eval(const td_expr *e, const td_batch *b, td_array *out, td_error *err);

/* Evaluates a bound bool predicate and writes the indices of the rows where it
 * is TRUE (not FALSE, not NULL) to `out_sel`, in increasing order, and their
 * count to *out_n.  If `in_sel` is non-NULL only its `in_n` rows (increasing
 * indices < b->length) are considered, otherwise all b->length rows.
 * `out_sel` must have room for in_n (or b->length) entries and may be the same
 * buffer as in_sel.  Batches are limited to UINT32_MAX rows. */
/* The filter fast path for a predicate that reads one column, when that
 * column arrives as dictionary codes: the predicate is evaluated once per
 * dictionary entry and once for a null, then each row of `in` (or rows
 * 0..n-1) is one lookup.  *done is false (nothing written) when it does not
 * apply (query/dict_eval.c). */
int td__dict_select(const td_expr *e, const td_batch *b, const uint32_t *in, int64_t n, uint32_t *out,
                    int64_t *n_out, bool *done, td_error *err);
/* Tests: chunks filtered through td__dict_select since the process started,
 * and (*groups) chunks grouped on dictionary codes (td__dict_note_group,
 * called by query/agg.c). */
int64_t td__dict_stats(int64_t *groups);
void td__dict_note_group(void);
int td_expr_select(const td_expr *e, const td_batch *b, const uint32_t *in_sel, int64_t in_n,
                   uint32_t *out_sel, int64_t *out_n, td_error *err);

/* Row-at-a-time evaluation over one row of scalars (row[i] is field i; only
 * referenced entries are read).  Result strings borrow from `row` or from the
 * expression.  The reference semantics that the vectorized code must match;
 * also used to test partition predicates against location keys. */
int td_expr_eval_row(const td_expr *e, const td_value *row, td_value *out, td_error *err);

#endif
