/*
 * query/sql_window.h - internal: SQL window functions (fn(...) OVER (...)),
 * QUALIFY and DISTINCT ON.
 *
 * The parser turns `fn(args) OVER (PARTITION BY p ORDER BY o frame)` into a
 * CALL node named "over":
 *   args[0]  the function call
 *   args[1]  int literal: the number of PARTITION BY expressions (np)
 *   args[2]  int literal: the frame kind (TD_WFRAME_*, bits 0-3), TD_WF_START_IV
 *            / TD_WF_END_IV when the start's / end's offset is an interval
 *            in nanoseconds, the start's bound (TD_WB_*) << 8 and the end's << 12
 *   args[3]  int literal: the frame start: -1 UNBOUNDED PRECEDING, else n
 *            (n PRECEDING, or n FOLLOWING when the start's bound says so;
 *            CURRENT ROW is 0)
 *   args[4]  int literal: the end's offset n (n PRECEDING / FOLLOWING)
 *   args[5 .. 5+np)  the PARTITION BY expressions
 *   then per ORDER BY item: the expression and an int literal of flags
 *            (1: DESC, 2: NULLS FIRST)
 * so that cloning, equality, hashing and freeing need nothing special.
 * The planner (td__window_extract) replaces every such node by a column
 * __w<j> and computes those columns with one window operator
 * (td__window_build): a derived table that computes appended rows of a live
 * source from per-partition state when every window allows it, else
 * recomputes every window from the whole source (docs/DESIGN.md).
 */
#ifndef TD_QUERY_SQL_WINDOW_H
#define TD_QUERY_SQL_WINDOW_H

#include "query/lex.h"
#include "query/sql.h"
#include "query/strbuf.h"
#include "table/table.h"

enum { TD_WFRAME_DEFAULT = 0, TD_WFRAME_ROWS = 1, TD_WFRAME_RANGE = 2 };
enum { TD_WF_START_IV = 16, TD_WF_END_IV = 32, TD_WF_NAMED = 1 << 20 /* OVER name, args[5] the name */,
       TD_WF_COPY = 1 << 21 /* ... written OVER (name) */ };
/* A bound: DEFAULT is args[3]'s PRECEDING form for the start, CURRENT ROW
 * for the end. */
enum { TD_WB_DEFAULT = 0, TD_WB_FOLLOWING = 1, TD_WB_UNBOUNDED = 2, TD_WB_PRECEDING = 3 };

/* At the OVER keyword after the call `e` (parse.c): parses the window and
 * turns e into the "over" node above.  "X is not supported" errors
 * (FOLLOWING, GROUPS, EXCLUDE, named windows) at their token. */
int td__parse_over(td_parser *p, td_expr *e);

/* The WINDOW clause (`WINDOW name AS (spec) {, ...}`, the current token
 * WINDOW): its definitions into *defs (made when NULL; the caller frees it
 * with td__win_defs_free, also on failure). */
typedef struct td_win_defs td_win_defs;
int td__parse_window_clause(td_parser *p, td_win_defs **defs);
void td__win_defs_free(td_win_defs *defs);
/* Replaces every `OVER name` in s's clauses by its definition in defs
 * (NULL: none); an undefined name is an error at it. */
int td__resolve_windows(td_select *s, const td_win_defs *defs, td_error *err);

/* Prints an "over" node as SQL (expr.c's printer). */
void td__print_over(td_strbuf *b, const td_expr *e);

/* The first window call (fn(...) OVER (...)) in the parsed tree e, or NULL. */
const td_expr *td__find_over(const td_expr *e);

/* The windows of one query (owned by the plan). */
typedef struct td_win_set td_win_set;

/* Replaces the window calls of the select items, ORDER BY and QUALIFY by
 * columns __w<j> (equal windows share one), adds row_number() over DISTINCT
 * ON's keys (kept where it is 1); QUALIFY may name items by alias (`def`:
 * the source's columns, which win).  *out is NULL when the query has no
 * window, QUALIFY or DISTINCT ON.  `aggregate`: the query groups, which
 * windows do not support (TD_EPARSE at the window). */
int td__window_extract(td_select *q, const td_schema *def, td_expr **items, int64_t n_items, bool aggregate,
                       td_win_set **out, td_error *err);
void td__window_set_free(td_win_set *w);
/* The number of windows (0 for NULL) and window j's "over" node (EXPLAIN). */
int64_t td__window_count(const td_win_set *w);
const td_expr *td__window_at(const td_win_set *w, int64_t j);

/* The source with the WHERE filter (bound, taken) applied, cut to the
 * columns that the select items `sel` (after td__window_extract), ORDER BY
 * and QUALIFY read, and the window columns added; *qualify the bound QUALIFY
 * predicate over it (or NULL). */
int td__window_build(td_win_set *w, const td_select *q, td_expr *const *sel, int64_t n_sel, td_table *src,
                     td_expr *filter, td_table **out, td_expr **qualify, td_error *err);

/* plan.c: a select op computing bound items (takes items and filter). */
int td__sql_project(td_table *src, td_expr *filter, td_expr **items, int64_t n, char **names, td_table **out,
                    td_error *err);
/* ops.c: every column of a snapshot in contiguous arrays, exported to
 * arrs and viewed by views (the caller resets cols and releases arrs). */
int td__read_all(td_table *src, td_snapshot *snap, td_array *cols, struct ArrowArray *arrs, td_colview *views,
                 td_error *err);
/* The same for rows [begin, end) of the snapshot, and only the source
 * columns which[0..n_which) (in that order: cols[i] is which[i]; which
 * NULL: every column). */
int td__read_range(td_table *src, td_snapshot *snap, const int64_t *which, int64_t n_which, int64_t begin,
                   int64_t end, td_array *cols, struct ArrowArray *arrs, td_colview *views, td_error *err);

/* Tests: how many cycles the window operator under t (t or one of its
 * sources) computed incrementally, and (*recomputed) from every row (the
 * initial fill included); -1 when t has no window operator. */
int64_t td__window_stats(const td_table *t, int64_t *recomputed);
/* Tests: how many columns the window operator under t reads straight from
 * the source (a static source, no WHERE, plain columns: the projection is
 * never materialized), 0 when it reads a projection; -1 when t has no
 * window operator (the first-row operators included). */
int64_t td__window_reads_source(const td_table *t);

#endif
