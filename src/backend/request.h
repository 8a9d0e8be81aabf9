/*
 * backend/request.h - requests in flight between the engine and a backend.
 *
 * Every backend call is a td_call registered in its service's request table
 * under a fresh id; the backend gets the value handle td_request{service, id}
 * and answers through td_answer_* (backend/answer.c).  The engine side:
 *
 *   td_call_begin()  register, then call the backend method with the handle
 *   td_call_wait()   block until answered, failed, or the timeout passed
 *   td_call_end()    unregister; later answers are rejected and reported
 *
 * State machine of a call (all transitions under service->req_lock):
 *
 *   PENDING --answer/success--> DONE        (one-shot calls)
 *   PENDING --success---------> ACTIVE      (subscriptions; keep receiving)
 *   PENDING|ACTIVE --failure or contract violation--> FAILED
 *   any --td_call_end / timeout / unsubscribe--> removed from the table
 *
 * Answers are validated outside the lock (they only read the call's
 * immutable expectations); storing the result and waking the waiter happen
 * under it.  Answers never call into the backend or take other engine locks,
 * so a backend may answer from inside a method, from any thread, while
 * holding its own locks.
 */
#ifndef TD_BACKEND_REQUEST_H
#define TD_BACKEND_REQUEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arrow/schema.h"
#include "tabledata/backend.h"
#include "tabledata/service.h"

typedef enum td_call_state { TD_CALL_PENDING, TD_CALL_ACTIVE, TD_CALL_DONE, TD_CALL_FAILED } td_call_state;

typedef struct td_call td_call;

/* Called (under req_lock) when a subscription receives something; it must
 * only wake someone up, never block or call into the service. */
typedef void (*td_call_notify_fn)(void *ctx);

struct td_call {
  uint64_t id;
  td_method method;
  int64_t refs; /* under req_lock: the engine's, plus one per answer in progress */
  bool registered;
  td_call_state state;
  char *desc; /* "column_values(table 'x', location 'y', column 'z', offset 0, ...)" */
  /* expectations (immutable) */
  td_field expect; /* VALUES: the column's name and type */
  int64_t min_rows, max_rows;
  /* results */
  int err_code;
  char err_msg[TD_ERROR_MESSAGE_SIZE]; /* no allocation on failure paths */
  td_schema data_schema, partition_schema;
  bool has_partition_schema;
  int update_mode; /* SCHEMA: the declared td_update_mode */
  td_location_key **locs; /* LOCATIONS / SUB_LOCATIONS: received, not yet taken */
  bool *loc_removed;      /* SUB_LOCATIONS: locs[i] is a removal (NULL: none yet) */
  int64_t n_locs, cap_locs;
  bool allow_removal;     /* SUB_LOCATIONS (immutable): the table is ADD_REMOVE */
  /* Subscriptions: what they delivered before they left PENDING (their
   * initial answers), and whether a failure came after any answer. */
  int64_t n_answers;      /* location, size and success answers taken */
  int64_t ready_locs;     /* location answers received before leaving PENDING */
  int64_t ready_size, ready_n_sizes;
  bool failed_late;       /* FAILED after at least one answer */
  int64_t size; /* SIZE / SUB_SIZE: latest */
  int64_t n_sizes; /* number of size answers received */
  int64_t size_floor; /* SUB_SIZE: the size known when it was made; answers
                         below it, or below the previous answer, break the
                         contract (sizes only grow) */
  struct ArrowArray values;
  pthread_cond_t cond;
  td_call_notify_fn notify;
  void *notify_ctx;
  td_call *next; /* hash chain */
};

/* Registers a call of `method` described by `desc` (copied).  *out holds the
 * engine's reference. */
int td_call_begin(td_service *s, td_method method, const char *desc, td_call **out, td_error *err);
static inline td_request td_call_request(td_service *s, const td_call *c) {
  td_request r = {s, c->id};
  return r;
}
/* Waits for the call to leave PENDING.  Returns TD_OK for DONE or ACTIVE, the
 * stored error for FAILED, TD_ETIMEOUT after the service's timeout (the call
 * is then unregistered and a late answer is reported). */
int td_call_wait(td_service *s, td_call *c, td_error *err);
/* Unregisters (if still registered) and drops the engine's reference. */
void td_call_end(td_service *s, td_call *c);
/* Unregisters a subscription without waiting; true if it was still live
 * (neither failed nor unregistered), i.e. the backend must be told. */
bool td_call_close(td_service *s, td_call *c);

/* Subscriptions: takes the locations received so far (caller releases the
 * keys and frees both arrays), or reports the failure that ended the call
 * (returns its code, message in `msg`).  *removed (NULL when none is) tells
 * which entries are removals, in arrival order with the additions.  With
 * `initial`, takes only the locations that arrived before the call left
 * PENDING (its initial answers), never reports a failure, and leaves the
 * rest for later. */
int td_call_take_locations(td_service *s, td_call *c, bool initial, td_location_key ***keys, bool **removed,
                           int64_t *n, char *msg, size_t msg_size);
/* Location subscriptions: true when a removal of `key` has arrived and not
 * been taken yet (a location whose size subscription failed because the
 * backend removed it meanwhile). */
bool td_call_has_removal(td_service *s, td_call *c, const td_location_key *key);
/* Subscriptions: the failure that ended the call (its code, message in
 * `msg`), or TD_OK while it is live.  *late (may be NULL) tells whether
 * any answer came before the failure. */
int td_call_failure(td_service *s, td_call *c, bool *late, char *msg, size_t msg_size);
/* Subscriptions: the latest size and how many sizes arrived, or the failure.
 * With `initial`: the size and count when the call left PENDING, and no
 * failure. */
int td_call_peek_size(td_service *s, td_call *c, bool initial, int64_t *size, int64_t *n_sizes, char *msg,
                      size_t msg_size);

/* Internal to backend/ and service/ (all under req_lock). */
td_call *td__call_find(td_service *s, uint64_t id);
const char *td__call_retired_desc(td_service *s, uint64_t id);
void td__call_unref(td_call *c);

#endif
