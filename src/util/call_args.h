/*
 * util/call_args.h - internal: the arguments of a table-function source as
 * the SQL parser writes it, name('a', 'b', opt => 'v', ...) (strings in
 * single quotes with '' doubled), for the backends that take such sources
 * (postgres(...), kafka(...)).
 */
#ifndef TD_UTIL_CALL_ARGS_H
#define TD_UTIL_CALL_ARGS_H

#include "tabledata/error.h"

/* Splits `call` into its arguments: the `n_positional` quoted strings first,
 * as they are, then every named one as "opt=v".  *args is one block (array
 * and strings; td_free it), *n their count.  Errors: TD_EINVAL when the text
 * is malformed (text after the closing parenthesis too), or does not have exactly n_positional positional arguments
 * before the named ones, with the message "<usage>, found <call>"; TD_ENOMEM. */
int td_call_args_split(const char *call, int n_positional, const char *usage, char ***args, int *n, td_error *err);

#endif
