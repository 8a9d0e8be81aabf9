/*
 * tabledata/error.h - status codes and the caller-owned error struct.
 *
 * Every fallible tabledata function returns an int status (TD_OK == 0) and
 * takes an optional `td_error *` as its last argument.  Passing NULL is always
 * allowed.  On failure the struct receives the same code and a message that
 * says what was expected and what was found; on success it is left untouched.
 * The status names and their one-line descriptions come from one list
 * (TD_STATUS_LIST) so they cannot drift apart.
 */
#ifndef TABLEDATA_ERROR_H
#define TABLEDATA_ERROR_H

#include <stdint.h>

#include "tabledata/api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, description) */
#define TD_STATUS_LIST(X)                                                      \
  X(TD_OK, 0, "success")                                                       \
  X(TD_EINVAL, 1, "invalid argument")                                          \
  X(TD_ENOMEM, 2, "out of memory")                                             \
  X(TD_ENOTFOUND, 3, "not found")                                              \
  X(TD_EBACKEND, 4, "the backend answered with a failure")                    \
  X(TD_ECONTRACT, 5, "the backend broke its contract")                        \
  X(TD_ETIMEOUT, 6, "no answer within the timeout")                           \
  X(TD_EUNSUPPORTED, 7, "unsupported type or feature")                        \
  X(TD_ERANGE, 8, "value out of range")                                        \
  X(TD_EIO, 9, "input/output error")                                           \
  X(TD_EFORMAT, 10, "malformed data")                                          \
  X(TD_EFAILED, 11, "the table has failed")                                   \
  X(TD_EPARSE, 12, "syntax error")                                             \
  X(TD_ETYPE, 13, "type error")                                                \
  X(TD_ESTATE, 14, "operation not valid in this state")

typedef enum td_status {
#define TD_STATUS_ENUM_(name, value, text) name = value,
  TD_STATUS_LIST(TD_STATUS_ENUM_)
#undef TD_STATUS_ENUM_
} td_status;

#define TD_ERROR_MESSAGE_SIZE 1024

/* Caller-owned error detail.  `position` is the byte offset in query text
 * that an error points at (TD_EPARSE, TD_ETYPE), else -1. */
typedef struct td_error {
  int code;
  int64_t position;
  char message[TD_ERROR_MESSAGE_SIZE];
} td_error;

/* Resets `err` to success with an empty message.  NULL is allowed. */
TD_API void td_error_clear(td_error *err);

/* The symbolic name of a status ("TD_ETIMEOUT"), or "TD_UNKNOWN". Static. */
TD_API const char *td_status_name(int status);

/* A one-line description of a status.  Static storage. */
TD_API const char *td_status_text(int status);

#ifdef __cplusplus
}
#endif

#endif /* TABLEDATA_ERROR_H */
