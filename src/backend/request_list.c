/*
 * backend/request_list.c - growable lists of subscription handles.
 */
#include "backend/request_list.h"

#include <string.h>

#include "util/alloc.h"

int td_request_list_add(td_request_list *l, td_request r) {
  if (l->n == l->cap) {
    int64_t cap = l->cap ? l->cap * 2 : 4;
    td_request *v = td_realloc(l->reqs, (size_t)cap * sizeof *v);
    if (!v) return TD_ENOMEM;
    l->reqs = v;
    l->cap = cap;
  }
  l->reqs[l->n++] = r;
  return TD_OK;
}

bool td_request_list_remove(td_request_list *l, td_request r) {
  for (int64_t i = 0; i < l->n; i++) {
    if (l->reqs[i].id == r.id && l->reqs[i].service == r.service) {
      l->reqs[i] = l->reqs[--l->n];
      return true;
    }
  }
  return false;
}

void td_request_list_reset(td_request_list *l) {
  td_free(l->reqs);
  memset(l, 0, sizeof *l);
}
