/*
 * backend/request_list.h - a list of subscription handles, for backends.
 *
 * Built-in backends keep, per table and per location, the subscriptions to
 * notify.  Not thread-safe: the backend's own lock guards it.
 */
#ifndef TD_BACKEND_REQUEST_LIST_H
#define TD_BACKEND_REQUEST_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include "tabledata/backend.h"

typedef struct td_request_list {
  td_request *reqs;
  int64_t n, cap;
} td_request_list;

/* TD_OK or TD_ENOMEM (the list is unchanged then). */
int td_request_list_add(td_request_list *l, td_request r);
/* Removes `r`; false when it is not in the list. */
bool td_request_list_remove(td_request_list *l, td_request r);
void td_request_list_reset(td_request_list *l);

#endif
