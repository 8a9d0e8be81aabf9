/*
 * backend/answer.c - the backend side of a call: td_answer_* and the checks
 * that enforce the contract on every answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arrow/array.h"
#include "arrow/dict.h"
#include "backend/request.h"
#include "service/service.h"
#include "util/alloc.h"
#include "util/error.h"


/* Finds the live call for `req` and takes a reference, or reports why not. */
static int acquire(td_request req, const char *what, td_call **out, td_error *err) {
  *out = NULL;
  td_service *s = req.service;
  if (!s) return td_err(err, TD_EINVAL, "%s: the request handle is empty", what);
  char msg[TD_ERROR_MESSAGE_SIZE];
  pthread_mutex_lock(&s->req_lock);
  td_call *c = td__call_find(s, req.id);
  if (c && c->state != TD_CALL_DONE && c->state != TD_CALL_FAILED) {
    c->refs++;
    pthread_mutex_unlock(&s->req_lock);
    *out = c;
    return TD_OK;
  }
  if (c)
    snprintf(msg, sizeof msg, "%s ignored: %s was already %s", what, c->desc,
             c->state == TD_CALL_DONE ? "answered (a request is answered exactly once)" : "failed");
  else {
    const char *d = td__call_retired_desc(s, req.id);
    if (d)
      snprintf(msg, sizeof msg, "%s ignored: %s is no longer pending (answered, timed out or unsubscribed)",
               what, d);
    else
      snprintf(msg, sizeof msg, "%s ignored: request #%llu is not pending", what,
               (unsigned long long)req.id);
  }
  pthread_mutex_unlock(&s->req_lock);
  td_service_report(s, TD_ESTATE, msg);
  return td_err(err, TD_ESTATE, "%s", msg);
}

/* Under req_lock: a subscription leaves PENDING; what it delivered so far
 * are its initial answers. */
static void mark_ready(td_call *c) {
  c->ready_locs = c->n_locs;
  c->ready_size = c->size;
  c->ready_n_sizes = c->n_sizes;
}

/* Under req_lock: fails the call with a message, waking its waiter. */
static void fail_locked(td_call *c, int code, const char *msg) {
  if (c->state == TD_CALL_DONE || c->state == TD_CALL_FAILED) return;
  if (c->state == TD_CALL_PENDING) mark_ready(c);
  c->failed_late = c->n_answers > 0;
  c->state = TD_CALL_FAILED;
  c->err_code = code;
  snprintf(c->err_msg, sizeof c->err_msg, "%s", msg);
  pthread_cond_broadcast(&c->cond);
  if (c->notify) c->notify(c->notify_ctx);
}

/* Fails the call with a contract violation and returns the code. */
static int violate(td_service *s, td_call *c, int code, td_error *err, const char *fmt, ...)
    TD_PRINTF(5, 6);
static int violate(td_service *s, td_call *c, int code, td_error *err, const char *fmt, ...) {
  char detail[TD_ERROR_MESSAGE_SIZE / 2], msg[TD_ERROR_MESSAGE_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  snprintf(msg, sizeof msg, "%s: %s", c->desc, detail);
  pthread_mutex_lock(&s->req_lock);
  bool was_live = c->state != TD_CALL_DONE && c->state != TD_CALL_FAILED;
  fail_locked(c, code, msg);
  td__call_unref(c);
  pthread_mutex_unlock(&s->req_lock);
  if (was_live && code == TD_ECONTRACT) atomic_fetch_add(&s->rejected, 1);
  return td_err(err, code, "%s", msg);
}

/* Under req_lock: a second result for a one-shot call that raced with the
 * first (both passed acquire()). */
static int raced(td_service *s, td_call *c, const char *what, td_error *err) {
  char msg[TD_ERROR_MESSAGE_SIZE];
  snprintf(msg, sizeof msg, "%s ignored: %s was already answered (a request is answered exactly once)",
           what, c->desc);
  td__call_unref(c);
  pthread_mutex_unlock(&s->req_lock);
  td_service_report(s, TD_ESTATE, msg);
  return td_err(err, TD_ESTATE, "%s", msg);
}

static bool is_live(const td_call *c) { return c->state == TD_CALL_PENDING || c->state == TD_CALL_ACTIVE; }

/* The code of a schema the backend answered that cannot be imported: a
 * type the engine does not carry or no memory as they are, anything else
 * (no format, missing children or names...) breaks the contract. */
static int schema_violation(int rc) { return rc == TD_EUNSUPPORTED || rc == TD_ENOMEM ? rc : TD_ECONTRACT; }

static int answer_schema(td_request req, struct ArrowSchema *data_schema,
                     struct ArrowSchema *partition_schema, int mode, td_error *err) {
  td_call *c;
  int rc = acquire(req, "schema answer", &c, err);
  if (rc) {
    td_arrow_schema_release(data_schema);
    td_arrow_schema_release(partition_schema);
    return rc;
  }
  td_service *s = req.service;
  if (c->method != TD_METHOD_TABLE_SCHEMA) {
    td_arrow_schema_release(data_schema);
    td_arrow_schema_release(partition_schema);
    return violate(s, c, TD_ECONTRACT, err, "expected %s's answer, got a schema",
                   td_method_name(c->method));
  }
  if (mode < TD_UPDATE_ADD_ONLY || mode > TD_UPDATE_ADD_REMOVE) {
    td_arrow_schema_release(data_schema);
    td_arrow_schema_release(partition_schema);
    return violate(s, c, TD_ECONTRACT, err, "expected an update mode (td_update_mode 0..3), got %d", mode);
  }
  td_schema ds, ps;
  td_schema_init(&ps);
  td_error e;
  td_error_clear(&e);
  rc = td_schema_import(data_schema, &ds, &e);
  if (rc) {
    td_arrow_schema_release(data_schema);
    td_arrow_schema_release(partition_schema);
    return violate(s, c, schema_violation(rc), err, "data schema: %s", e.message);
  }
  bool has_ps = partition_schema && partition_schema->release;
  if (has_ps && (rc = td_schema_import(partition_schema, &ps, &e)) != TD_OK) {
    td_schema_reset(&ds);
    td_arrow_schema_release(data_schema);
    td_arrow_schema_release(partition_schema);
    return violate(s, c, schema_violation(rc), err, "partition schema: %s", e.message);
  }
  td_arrow_schema_release(data_schema);
  td_arrow_schema_release(partition_schema);
  pthread_mutex_lock(&s->req_lock);
  if (!is_live(c)) {
    td_schema_reset(&ds);
    td_schema_reset(&ps);
    return raced(s, c, "schema answer", err);
  }
  c->data_schema = ds;
  c->partition_schema = ps;
  c->has_partition_schema = has_ps;
  c->update_mode = mode;
  c->state = TD_CALL_DONE;
  pthread_cond_broadcast(&c->cond);
  td__call_unref(c);
  pthread_mutex_unlock(&s->req_lock);
  return TD_OK;
}

/* Under req_lock: makes room for one more location entry (and, when
 * `removal` or removals are held, its flag). */
static bool grow_locs(td_call *c, bool removal) {
  if (c->n_locs == c->cap_locs) {
    int64_t cap = c->cap_locs ? c->cap_locs * 2 : 16;
    td_location_key **l = td_realloc(c->locs, (size_t)cap * sizeof *l);
    if (!l) return false;
    c->locs = l;
    if (c->loc_removed) {
      bool *r = td_realloc(c->loc_removed, (size_t)cap * sizeof *r);
      if (!r) return false;
      c->loc_removed = r;
    }
    c->cap_locs = cap;
  }
  if (removal && !c->loc_removed) {
    c->loc_removed = td_calloc((size_t)c->cap_locs, sizeof *c->loc_removed);
    if (!c->loc_removed) return false;
  }
  return true;
}

static int answer_location(td_request req, const td_location_key *key, bool removal, td_error *err) {
  const char *what = removal ? "location removal answer" : "location answer";
  td_call *c;
  int rc = acquire(req, what, &c, err);
  if (rc) return rc;
  td_service *s = req.service;
  if (removal && c->method != TD_METHOD_SUBSCRIBE_LOCATIONS)
    return violate(s, c, TD_ECONTRACT, err, "expected %s's answer, got a location removal (only a location "
                   "subscription removes locations)", td_method_name(c->method));
  if (c->method != TD_METHOD_TABLE_LOCATIONS && c->method != TD_METHOD_SUBSCRIBE_LOCATIONS)
    return violate(s, c, TD_ECONTRACT, err, "expected %s's answer, got a location",
                   td_method_name(c->method));
  if (!key) return violate(s, c, TD_ECONTRACT, err, "a %s needs a location key, got NULL", what);
  if (removal && !c->allow_removal) {
    char name[256];
    td_location_key_format(key, name, sizeof name);
    return violate(s, c, TD_ECONTRACT, err,
                   "location '%s' removed, but the table is add-only (declare TD_UPDATE_ADD_REMOVE in its "
                   "schema answer to remove locations)", name);
  }
  pthread_mutex_lock(&s->req_lock);
  if (!is_live(c)) return raced(s, c, what, err);
  if (!grow_locs(c, removal)) {
    fail_locked(c, TD_ENOMEM, "out of memory while receiving locations");
    td__call_unref(c);
    pthread_mutex_unlock(&s->req_lock);
    return td_err_nomem(err, "receiving locations");
  }
  if (c->loc_removed) c->loc_removed[c->n_locs] = removal;
  c->locs[c->n_locs++] = td_location_key_retain((td_location_key *)key);
  c->n_answers++;
  if (c->notify) c->notify(c->notify_ctx);
  td__call_unref(c);
  pthread_mutex_unlock(&s->req_lock);
  return TD_OK;
}

static int answer_size(td_request req, int64_t size, td_error *err) {
  td_call *c;
  int rc = acquire(req, "size answer", &c, err);
  if (rc) return rc;
  td_service *s = req.service;
  if (c->method != TD_METHOD_TABLE_LOCATION_SIZE && c->method != TD_METHOD_SUBSCRIBE_SIZE)
    return violate(s, c, TD_ECONTRACT, err, "expected %s's answer, got a size", td_method_name(c->method));
  if (size < 0) return violate(s, c, TD_ECONTRACT, err, "expected a size >= 0, got %lld", (long long)size);
  pthread_mutex_lock(&s->req_lock);
  if (!is_live(c)) return raced(s, c, "size answer", err);
  if (c->method == TD_METHOD_SUBSCRIBE_SIZE) {
    /* A shrink breaks the contract whenever it arrives, even when a later
     * answer grows past it before the update cycle looks. */
    int64_t floor = c->n_sizes > 0 ? c->size : c->size_floor;
    if (size < floor) {
      pthread_mutex_unlock(&s->req_lock);
      return violate(s, c, TD_ECONTRACT, err, "size shrank from %lld to %lld (sizes only grow)", (long long)floor,
                     (long long)size);
    }
  }
  c->size = size;
  c->n_sizes++;
  c->n_answers++;
  if (c->method == TD_METHOD_TABLE_LOCATION_SIZE) {
    c->state = TD_CALL_DONE;
    pthread_cond_broadcast(&c->cond);
  } else if (c->notify) {
    c->notify(c->notify_ctx);
  }
  td__call_unref(c);
  pthread_mutex_unlock(&s->req_lock);
  return TD_OK;
}

static int64_t array_bytes(td_type_id type, const struct ArrowArray *a) {
  int64_t n = a->length + a->offset;
  if (a->dictionary) return td_array_extent_bytes(type, a) + td_array_extent_bytes(type, a->dictionary);
  int64_t bytes = a->buffers[0] ? (n + 7) / 8 : 0;
  if (td_type_is_varlen(type)) {
    const int32_t *o = a->buffers[1];
    bytes += (n + 1) * 4 + (n > 0 ? o[n] : 0);
  } else {
    int w = td_type_width(type);
    bytes += w ? n * w : (n + 7) / 8;
  }
  return bytes;
}

static int answer_values(td_request req, struct ArrowSchema *schema, struct ArrowArray *array,
                     td_error *err) {
  td_call *c;
  int rc = acquire(req, "column values answer", &c, err);
  struct ArrowSchema sch = {0};
  struct ArrowArray arr = {0};
  if (schema && schema->release) td_arrow_schema_move(schema, &sch);
  if (array && array->release) td_arrow_array_move(array, &arr);
  if (rc) goto out;
  td_service *s = req.service;
  if (c->method != TD_METHOD_COLUMN_VALUES) {
    rc = violate(s, c, TD_ECONTRACT, err, "expected %s's answer, got column values",
                 td_method_name(c->method));
    goto out;
  }
  if (!sch.release || !arr.release) {
    rc = violate(s, c, TD_ECONTRACT, err, "column values need both a schema and an array");
    goto out;
  }
  /* Unwrap a one-column struct (a one-column table), which may be a slice
   * of a longer struct (its offset and length select the child's rows). */
  const struct ArrowSchema *field = &sch;
  const struct ArrowArray *col = &arr;
  td_error e;
  td_error_clear(&e);
  struct ArrowArray keep;
  if (sch.dictionary && arr.dictionary && c->expect.type == TD_TYPE_UTF8) {
    /* A utf8 column answered dictionary-encoded (int32 indices): kept as
     * codes and a dictionary (arrow/dict.h). */
    const char *df = sch.dictionary->format;
    if (!sch.format || strcmp(sch.format, "i") != 0 || !df || strcmp(df, "u") != 0) {
      rc = violate(s, c, TD_ECONTRACT, err, "expected a utf8 column or a dictionary of int32 indices into utf8, "
                   "got indices '%s' into '%s'", sch.format ? sch.format : "?", df ? df : "?");
      goto out;
    }
    if (!sch.name || strcmp(sch.name, c->expect.name) != 0) {
      rc = violate(s, c, TD_ECONTRACT, err, "expected column '%s', got column '%s'", c->expect.name,
                   sch.name ? sch.name : "");
      goto out;
    }
    if ((rc = td_dict_array_validate(&arr, &e)) != TD_OK) {
      rc = violate(s, c, TD_ECONTRACT, err, "invalid array: %s", e.message);
      goto out;
    }
    if (arr.length < c->min_rows || arr.length > c->max_rows) {
      rc = violate(s, c, TD_ECONTRACT, err, "expected between %lld and %lld rows, got %lld",
                   (long long)c->min_rows, (long long)c->max_rows, (long long)arr.length);
      goto out;
    }
    td_arrow_array_move(&arr, &keep);
    col = &keep;
    goto deliver;
  }
  if (sch.format && strcmp(sch.format, "+s") == 0) {
    if (sch.n_children != 1 || arr.n_children != 1) {
      rc = violate(s, c, TD_ECONTRACT, err, "expected exactly one column '%s', got %lld columns", c->expect.name,
                   (long long)sch.n_children);
      goto out;
    }
    if ((rc = td_struct_validate(&arr, &e)) != TD_OK) {
      rc = violate(s, c, TD_ECONTRACT, err, "invalid struct array: %s", e.message);
      goto out;
    }
    field = sch.children[0];
    col = arr.children[0];
  }
  td_field f;
  if ((rc = td_field_import(field, &f, &e)) != TD_OK) {
    rc = violate(s, c, rc == TD_ENOMEM ? TD_ENOMEM : TD_ECONTRACT, err, "%s", e.message);
    goto out;
  }
  char want[96], got[96];
  /* A large_utf8 / large_binary column may be answered with 32-bit offsets
   * ("u" / "z"): the engine's pages have that layout anyway. */
  bool small = td_type_is_large(c->expect.type) && f.type == td_type_small(c->expect.type);
  bool large = td_type_is_large(f.type);
  bool same_type = small || td_field_same_type(&f, &c->expect);
  bool same_name = strcmp(f.name, c->expect.name) == 0;
  td_field_type_text(&c->expect, want, sizeof want);
  td_field_type_text(&f, got, sizeof got);
  char got_name[128];
  snprintf(got_name, sizeof got_name, "%s", f.name);
  td_field_reset(&f);
  if (!same_name) {
    rc = violate(s, c, TD_ECONTRACT, err, "expected column '%s', got column '%s'", c->expect.name, got_name);
    goto out;
  }
  if (!same_type) {
    rc = violate(s, c, TD_ECONTRACT, err, "expected type %s, got %s", want, got);
    goto out;
  }
  if ((rc = td_array_validate(small ? td_type_small(c->expect.type) : c->expect.type, col, &e)) != TD_OK) {
    rc = violate(s, c, TD_ECONTRACT, err, "invalid array: %s", e.message);
    goto out;
  }
  if (large) { /* 64-bit offsets: copied into the engine's layout in place */
    if ((rc = td_array_narrow_in_place(c->expect.type, (struct ArrowArray *)col, &e)) != TD_OK) {
      rc = violate(s, c, rc, err, "column '%s': %s", c->expect.name, e.message);
      goto out;
    }
  }
  int64_t got_rows = col != &arr ? arr.length : col->length;
  if (got_rows < c->min_rows || got_rows > c->max_rows) {
    rc = violate(s, c, TD_ECONTRACT, err, "expected between %lld and %lld rows, got %lld",
                 (long long)c->min_rows, (long long)c->max_rows, (long long)got_rows);
    goto out;
  }
  /* Keep just the column's rows; a wrapping struct stays alive behind a
   * view (or, when it has nulls of its own, the rows are copied). */
  if (col != &arr) {
    td_shared_array *owner;
    if ((rc = td_shared_array_new(&arr, &owner, &e)) != TD_OK) {
      rc = violate(s, c, rc, err, "%s", e.message);
      goto out;
    }
    owner->bytes = td_array_extent_bytes(c->expect.type, owner->array.children[0]);
    rc = td_struct_child_export(&owner->array, 0, c->expect.type, owner, &keep, &e);
    td_shared_array_release(owner); /* `keep` holds it, or is a copy */
    if (rc) {
      rc = violate(s, c, rc, err, "%s", e.message);
      goto out;
    }
    col = &keep;
  } else {
    td_arrow_array_move(&arr, &keep);
    col = &keep;
  }
deliver:;
  int64_t rows = col->length, bytes = array_bytes(c->expect.type, col);
  pthread_mutex_lock(&s->req_lock);
  if (!is_live(c)) {
    td_arrow_array_release(&keep);
    rc = raced(s, c, "column values answer", err);
    goto out;
  }
  c->values = keep;
  c->state = TD_CALL_DONE;
  pthread_cond_broadcast(&c->cond);
  td__call_unref(c);
  pthread_mutex_unlock(&s->req_lock);
  atomic_fetch_add(&s->rows_received, rows);
  atomic_fetch_add(&s->bytes_received, bytes);
  rc = TD_OK;
out:
  td_arrow_schema_release(&sch);
  td_arrow_array_release(&arr);
  return rc;
}

static int answer_success(td_request req, td_error *err) {
  td_call *c;
  int rc = acquire(req, "success answer", &c, err);
  if (rc) return rc;
  td_service *s = req.service;
  if (c->method != TD_METHOD_TABLE_LOCATIONS && c->method != TD_METHOD_SUBSCRIBE_LOCATIONS &&
      c->method != TD_METHOD_SUBSCRIBE_SIZE)
    return violate(s, c, TD_ECONTRACT, err, "expected %s's answer, got success", td_method_name(c->method));
  pthread_mutex_lock(&s->req_lock);
  if (c->state != TD_CALL_PENDING) {
    if (c->state == TD_CALL_ACTIVE) {
      /* A second success on a subscription: harmless, but a contract slip. */
      char msg[TD_ERROR_MESSAGE_SIZE];
      snprintf(msg, sizeof msg, "second success answer to %s ignored", c->desc);
      td__call_unref(c);
      pthread_mutex_unlock(&s->req_lock);
      td_service_report(s, TD_ESTATE, msg);
      return td_err(err, TD_ESTATE, "%s", msg);
    }
    return raced(s, c, "success answer", err);
  }
  if (c->method == TD_METHOD_SUBSCRIBE_SIZE && c->n_sizes == 0) {
    pthread_mutex_unlock(&s->req_lock);
    return violate(s, c, TD_ECONTRACT, err, "success arrived before the current size");
  }
  mark_ready(c);
  c->n_answers++;
  c->state = c->method == TD_METHOD_TABLE_LOCATIONS ? TD_CALL_DONE : TD_CALL_ACTIVE;
  pthread_cond_broadcast(&c->cond);
  if (c->notify) c->notify(c->notify_ctx);
  td__call_unref(c);
  pthread_mutex_unlock(&s->req_lock);
  return TD_OK;
}

static int answer_failure(td_request req, const char *message, td_error *err) {
  td_call *c;
  int rc = acquire(req, "failure answer", &c, err);
  if (rc) return rc;
  td_service *s = req.service;
  char msg[TD_ERROR_MESSAGE_SIZE];
  snprintf(msg, sizeof msg, "%s failed: %s", c->desc, message ? message : "(no message)");
  pthread_mutex_lock(&s->req_lock);
  if (!is_live(c)) return raced(s, c, "failure answer", err);
  fail_locked(c, TD_EBACKEND, msg);
  td__call_unref(c);
  pthread_mutex_unlock(&s->req_lock);
  return TD_OK;
}

/* ---- the public answers: each pins the request's service first ---- */

/* The answer to a request whose service is gone (or NULL): dropped. */
static int dropped(td_request req, const char *what, td_error *err) {
  if (!req.service) return td_err(err, TD_EINVAL, "%s: the request handle is empty", what);
  return td_err(err, TD_ESTATE, "%s ignored: request #%llu belongs to a service that has been freed", what,
                (unsigned long long)req.id);
}

int td_answer_schema(td_request req, struct ArrowSchema *data_schema, struct ArrowSchema *partition_schema,
                     td_error *err) {
  if (!req.service || !td_service_pin(req.service)) {
    td_arrow_schema_release(data_schema);
    td_arrow_schema_release(partition_schema);
    return dropped(req, "schema answer", err);
  }
  int rc = answer_schema(req, data_schema, partition_schema, TD_UPDATE_ADD_ONLY, err);
  td_service_unpin(req.service);
  return rc;
}

int td_answer_schema_mode(td_request req, struct ArrowSchema *data_schema, struct ArrowSchema *partition_schema,
                          td_update_mode mode, td_error *err) {
  if (!req.service || !td_service_pin(req.service)) {
    td_arrow_schema_release(data_schema);
    td_arrow_schema_release(partition_schema);
    return dropped(req, "schema answer", err);
  }
  int rc = answer_schema(req, data_schema, partition_schema, (int)mode, err);
  td_service_unpin(req.service);
  return rc;
}

int td_answer_location(td_request req, td_location_key *key, td_error *err) {
  if (!req.service || !td_service_pin(req.service)) return dropped(req, "location answer", err);
  int rc = answer_location(req, key, false, err);
  td_service_unpin(req.service);
  return rc;
}

int td_answer_location_removed(td_request req, const td_location_key *key, td_error *err) {
  if (!req.service || !td_service_pin(req.service)) return dropped(req, "location removal answer", err);
  int rc = answer_location(req, key, true, err);
  td_service_unpin(req.service);
  return rc;
}

int td_answer_size(td_request req, int64_t size, td_error *err) {
  if (!req.service || !td_service_pin(req.service)) return dropped(req, "size answer", err);
  int rc = answer_size(req, size, err);
  td_service_unpin(req.service);
  return rc;
}

int td_answer_values(td_request req, struct ArrowSchema *schema, struct ArrowArray *array, td_error *err) {
  if (!req.service || !td_service_pin(req.service)) {
    td_arrow_schema_release(schema);
    td_arrow_array_release(array);
    return dropped(req, "column values answer", err);
  }
  int rc = answer_values(req, schema, array, err);
  td_service_unpin(req.service);
  return rc;
}

int td_answer_success(td_request req, td_error *err) {
  if (!req.service || !td_service_pin(req.service)) return dropped(req, "success answer", err);
  int rc = answer_success(req, err);
  td_service_unpin(req.service);
  return rc;
}

int td_answer_failure(td_request req, const char *message, td_error *err) {
  if (!req.service || !td_service_pin(req.service)) return dropped(req, "failure answer", err);
  int rc = answer_failure(req, message, err);
  td_service_unpin(req.service);
  return rc;
}
