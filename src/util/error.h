/*
 * util/error.h - filling td_error structs.
 *
 * td_err(err, code, fmt, ...) formats a message into `err` (when non-NULL)
 * and returns `code`, so error paths read `return td_err(err, TD_EINVAL, ...)`.
 * td_err_prefix() prepends context ("table 'x', location 'y': ") to a message
 * that a lower layer already wrote.
 */
#ifndef TD_UTIL_ERROR_H
#define TD_UTIL_ERROR_H

#include "tabledata/error.h"

#if defined(__GNUC__)
#define TD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TD_PRINTF(a, b)
#endif

int td_err(td_error *err, int code, const char *fmt, ...) TD_PRINTF(3, 4);
int td_err_at(td_error *err, int code, int64_t position, const char *fmt, ...)
    TD_PRINTF(4, 5);
/* Prepends formatted text to err->message; returns err->code (or code if err
 * is NULL). */
int td_err_prefix(td_error *err, int code, const char *fmt, ...) TD_PRINTF(3, 4);
int td_err_nomem(td_error *err, const char *what);

#endif
