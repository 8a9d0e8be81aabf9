/*
 * tabledata/error.h - status codes and the caller-owned error struct.
 *
 * Every fallible tabledata function returns an int status (TD_OK == 0) and
 * takes an optional `td_error *` as its last argument.  Passing NULL is always
 * allowed.  A NULL handle, string or out pointer gives TD_EINVAL (never a
 * crash); accessors that return no status give their neutral answer for a
 * NULL handle (0, -1, NULL, false or TD_TYPE_NONE).  On failure the struct receives the same code and a message that
 * says what was expected and what was found; on success it is left untouched.
 * The status names and their one-line descriptions come from one list
 * (TD_STATUS_LIST) so they cannot drift apart.
 *
 * Where each code can occur (each function's comment lists its own):
 *
 *   code             raised by                           meaning there
 *   TD_EINVAL        any function                        a NULL or malformed argument: missing
 *                                                        vtable methods or bad options
 *                                                        (td_service_new), bad column index
 *                                                        (td_table_read), bad key names, n < 1
 *   TD_ENOMEM        any function that allocates         out of memory; nothing was kept
 *   TD_ENOTFOUND     td_table_remove_listener,           unknown listener id / table / location;
 *                    memory backend, source resolvers    an unknown SQL source (by convention)
 *   TD_EBACKEND      td_make_table, reads, streams,      the backend answered td_answer_failure;
 *                    constituents, merges, queries       the message is the backend's, prefixed
 *                                                        with method, table and location
 *   TD_ECONTRACT     the same, and td_answer_*           the backend's answer broke the contract
 *                                                        (wrong type, row count, key, schema...)
 *   TD_ETIMEOUT      the same; td_service_flush,         no backend answer within the service's
 *                    td_table_wait                       request timeout; no cycle / not reached
 *                                                        within the timeout given
 *   TD_EUNSUPPORTED  td_make_table (a refreshing table   the backend lacks subscribe/unsubscribe;
 *                    needs subscriptions), schemas,      a column type tabledata does not carry;
 *                    file backend, td_write_ipc_stream   a file feature it does not read
 *   TD_ERANGE        td_make_table (2^20 locations,      a value out of range: too many
 *                    2^43 rows), td_table_read, arrays,  locations or rows, rows past the end,
 *                    constituents                        no such row
 *   TD_EIO           file backend, td_write_ipc_stream   a file or descriptor failed (errno text)
 *   TD_EFORMAT       file backend and format readers     a malformed file (names the file)
 *   TD_EFAILED       reads, streams, listeners, derived  the refreshing table has failed (a
 *                    tables, td_table_status,            failed subscription, a shrinking size,
 *                    td_table_wait                       a bad location); the message is the cause
 *   TD_EPARSE        td_query, td_table_where and the    a syntax error; err->position is the
 *                    other operations taking expressions byte offset of the offending token
 *   TD_ETYPE         the same; td_builder_append_*       an unknown column or a type mismatch
 *                                                        (err->position as above); a value of the
 *                                                        wrong kind for a builder
 *   TD_ESTATE        td_answer_* (request not pending),  the call is not valid now: a second or
 *                    td_table_add_listener (static),     late answer; listeners on a static
 *                    td_service_flush / td_table_wait    table; waiting from a listener (the
 *                    (from a listener; static table)     update thread), for a static table
 *
 * Arrow stream callbacks (get_next of td_table_stream, td_query_stream)
 * return errno values instead, as the Arrow C Stream Interface requires
 * (ENOMEM, or EIO for any other failure), with the message from
 * get_last_error.
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
