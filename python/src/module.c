/*
 * python/src/module.c - the _tabledata module: error classes, Arrow capsules,
 * answers, the backend bridge and the Service type.
 *
 * The bridge is a td_backend whose methods call a Python object (the
 * package's _Bridge, which calls the user's backend with the seed's
 * callbacks).  Those callbacks answer through the answer_* functions here,
 * which take the request id and the service's SvcRef.
 */
#include "ext.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tabledata/keys.h"
#include "tabledata/memory_backend.h"

/* ---- errors ---- */

#define TDPY_N_CODES 15
static PyObject *error_base;
static PyObject *error_by_code[TDPY_N_CODES];
/* The package's dict: failure text of a backend method that raised -> that
 * exception (bounded by the package); an error whose message contains a
 * text gets the exception as __cause__. */
static PyObject *causes;

static PyObject *set_causes(PyObject *m, PyObject *dict) {
  if (!PyDict_Check(dict)) {
    PyErr_SetString(PyExc_TypeError, "_set_causes takes a dict");
    return NULL;
  }
  Py_XSETREF(causes, Py_NewRef(dict));
  Py_RETURN_NONE;
}

/* Sets the __cause__ of `exc` from `causes` when its message names one. */
static void attach_cause(PyObject *exc, const char *msg) {
  PyObject *text, *cause;
  Py_ssize_t pos = 0;
  while (causes && PyDict_Next(causes, &pos, &text, &cause)) {
    const char *t = PyUnicode_Check(text) ? PyUnicode_AsUTF8(text) : NULL;
    if (!t) {
      PyErr_Clear();
      continue;
    }
    if (strstr(msg, t) && PyExceptionInstance_Check(cause)) {
      PyException_SetCause(exc, Py_NewRef(cause));
      return;
    }
  }
}

PyObject *tdpy_raise(int rc, const td_error *err) {
  if (rc == TD_ENOMEM) return PyErr_NoMemory();
  PyObject *cls = rc > 0 && rc < TDPY_N_CODES && error_by_code[rc] ? error_by_code[rc] : error_base;
  const char *msg = err && err->message[0] ? err->message : td_status_text(rc);
  PyObject *exc = PyObject_CallFunction(cls, "s", msg);
  if (!exc) return NULL;
  attach_cause(exc, msg);
  PyObject *code = PyUnicode_FromString(td_status_name(rc));
  PyObject *pos = PyLong_FromLongLong(err ? (long long)err->position : -1);
  if (code && pos) {
    PyObject_SetAttrString(exc, "code", code);
    PyObject_SetAttrString(exc, "position", pos);
  }
  Py_XDECREF(code);
  Py_XDECREF(pos);
  PyErr_SetObject(cls, exc);
  Py_DECREF(exc);
  return NULL;
}

/* Set by _shutdown(), which the package registers with atexit: from then on
 * engine threads no longer call into Python (once finalization starts, a
 * thread that takes the GIL is ended on the spot, whatever it holds). */
static _Atomic int shutting_down;

int tdpy_alive(void) {
  if (shutting_down) return 0;
#if PY_VERSION_HEX >= 0x030D0000
  return !Py_IsFinalizing();
#else
  return !_Py_IsFinalizing();
#endif
}

static PyObject *shutdown(PyObject *m, PyObject *unused) {
  shutting_down = 1;
  Py_RETURN_NONE;
}

/* The classes, by status: (code, Python name, extra builtin base or NULL). */
static int make_errors(PyObject *m) {
  error_base = PyErr_NewExceptionWithDoc("tabledata.TableDataError",
                                         "Base of every error the tabledata engine reports; "
                                         "`code` is the C status name.",
                                         PyExc_RuntimeError, NULL);
  if (!error_base || PyModule_AddObjectRef(m, "TableDataError", error_base) < 0) return -1;
  static const struct {
    int code;
    const char *name;
  } names[] = {
      {TD_EINVAL, "InvalidArgumentError"}, {TD_ENOTFOUND, "NotFoundError"},
      {TD_EBACKEND, "BackendError"},       {TD_ECONTRACT, "ContractError"},
      {TD_ETIMEOUT, "RequestTimeoutError"}, {TD_EUNSUPPORTED, "UnsupportedError"},
      {TD_ERANGE, "OutOfRangeError"},      {TD_EIO, "DataIOError"},
      {TD_EFORMAT, "FormatError"},         {TD_EFAILED, "TableFailedError"},
      {TD_EPARSE, "QueryError"},           {TD_ESTATE, "StateError"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char full[80];
    snprintf(full, sizeof full, "tabledata.%s", names[i].name);
    PyObject *bases;
    if (names[i].code == TD_EINVAL || names[i].code == TD_ERANGE)
      bases = PyTuple_Pack(2, error_base, PyExc_ValueError);
    else if (names[i].code == TD_ETIMEOUT)
      bases = PyTuple_Pack(2, error_base, PyExc_TimeoutError);
    else if (names[i].code == TD_EIO)
      bases = PyTuple_Pack(2, error_base, PyExc_OSError);
    else
      bases = PyTuple_Pack(1, error_base);
    if (!bases) return -1;
    PyObject *cls = PyErr_NewException(full, bases, NULL);
    Py_DECREF(bases);
    if (!cls || PyModule_AddObjectRef(m, names[i].name, cls) < 0) return -1;
    error_by_code[names[i].code] = cls;
  }
  error_by_code[TD_ETYPE] = error_by_code[TD_EPARSE]; /* both are query errors */
  Py_INCREF(error_by_code[TD_ETYPE]);
  return 0;
}

/* ---- Arrow capsules ---- */

static void schema_capsule_free(PyObject *cap) {
  struct ArrowSchema *s = PyCapsule_GetPointer(cap, "arrow_schema");
  if (s && s->release) s->release(s);
  free(s);
}

static void array_capsule_free(PyObject *cap) {
  struct ArrowArray *a = PyCapsule_GetPointer(cap, "arrow_array");
  if (a && a->release) a->release(a);
  free(a);
}

PyObject *tdpy_schema_capsule(struct ArrowSchema *schema) {
  struct ArrowSchema *s = malloc(sizeof *s);
  if (!s) {
    if (schema->release) schema->release(schema);
    return PyErr_NoMemory();
  }
  *s = *schema;
  schema->release = NULL;
  PyObject *cap = PyCapsule_New(s, "arrow_schema", schema_capsule_free);
  if (!cap) {
    if (s->release) s->release(s);
    free(s);
  }
  return cap;
}

PyObject *tdpy_array_capsule(struct ArrowArray *array) {
  struct ArrowArray *a = malloc(sizeof *a);
  if (!a) {
    if (array->release) array->release(array);
    return PyErr_NoMemory();
  }
  *a = *array;
  array->release = NULL;
  PyObject *cap = PyCapsule_New(a, "arrow_array", array_capsule_free);
  if (!cap) {
    if (a->release) a->release(a);
    free(a);
  }
  return cap;
}

PyObject *tdpy_capsule_pair(struct ArrowSchema *schema, struct ArrowArray *array) {
  PyObject *sc = tdpy_schema_capsule(schema);
  PyObject *ac = sc ? tdpy_array_capsule(array) : NULL;
  if (!sc && array->release) array->release(array);
  if (!ac) {
    Py_XDECREF(sc);
    return NULL;
  }
  return Py_BuildValue("(NN)", sc, ac);
}

/* Moves the struct out of a capsule (the capsule is left released).  A None
 * capsule gives a released struct when `optional`. */
static int take_schema(PyObject *cap, struct ArrowSchema *out, int optional) {
  out->release = NULL;
  if (optional && cap == Py_None) return 0;
  struct ArrowSchema *s = PyCapsule_GetPointer(cap, "arrow_schema");
  if (!s) return -1;
  if (!s->release) {
    PyErr_SetString(PyExc_ValueError, "the arrow_schema capsule was consumed already");
    return -1;
  }
  *out = *s;
  s->release = NULL;
  return 0;
}

static int take_array(PyObject *cap, struct ArrowArray *out, int optional) {
  out->release = NULL;
  if (optional && cap == Py_None) return 0;
  struct ArrowArray *a = PyCapsule_GetPointer(cap, "arrow_array");
  if (!a) return -1;
  if (!a->release) {
    PyErr_SetString(PyExc_ValueError, "the arrow_array capsule was consumed already");
    return -1;
  }
  *out = *a;
  a->release = NULL;
  return 0;
}

/* ---- SvcRef: the answering side of a service ---- */

static void svcref_dealloc(SvcRef *r) {
  pthread_mutex_destroy(&r->mu);
  pthread_mutex_destroy(&r->err_mu);
  for (int i = 0; i < TDPY_ERRORS_KEPT; i++) free(r->err_msgs[i]);
  Py_TYPE(r)->tp_free((PyObject *)r);
}

static SvcRef *svcref_new(void) {
  SvcRef *r = PyObject_New(SvcRef, &SvcRef_Type);
  if (!r) return NULL;
  pthread_mutex_init(&r->mu, NULL);
  pthread_mutex_init(&r->err_mu, NULL);
  r->svc = NULL;
  r->n_errors = 0;
  memset(r->err_codes, 0, sizeof r->err_codes);
  memset(r->err_msgs, 0, sizeof r->err_msgs);
  return r;
}

/* The service's on_error hook: keeps the last messages (any thread, GIL or
 * not; touches no Python object). */
static void svcref_on_error(void *ctx, int code, const char *message) {
  SvcRef *r = ctx;
  char *copy = strdup(message ? message : "");
  pthread_mutex_lock(&r->err_mu);
  int slot = (int)(r->n_errors++ % TDPY_ERRORS_KEPT);
  free(r->err_msgs[slot]);
  r->err_msgs[slot] = copy;
  r->err_codes[slot] = code;
  pthread_mutex_unlock(&r->err_mu);
}

/* errors() -> list of (code name, message), oldest first, and forgets them. */
static PyObject *svcref_errors(SvcRef *r, PyObject *unused) {
  PyObject *out = PyList_New(0);
  if (!out) return NULL;
  pthread_mutex_lock(&r->err_mu);
  int64_t n = r->n_errors < TDPY_ERRORS_KEPT ? r->n_errors : TDPY_ERRORS_KEPT;
  for (int64_t i = r->n_errors - n; i < r->n_errors; i++) {
    int slot = (int)(i % TDPY_ERRORS_KEPT);
    PyObject *item = Py_BuildValue("(ss)", td_status_name(r->err_codes[slot]),
                                   r->err_msgs[slot] ? r->err_msgs[slot] : "");
    if (!item || PyList_Append(out, item) < 0) {
      Py_XDECREF(item);
      Py_CLEAR(out);
      break;
    }
    Py_DECREF(item);
  }
  if (out) r->n_errors = 0;
  pthread_mutex_unlock(&r->err_mu);
  return out;
}

static PyMethodDef svcref_methods[] = {
    {"errors", (PyCFunction)svcref_errors, METH_NOARGS, "Errors reported with no caller to return to."},
    {NULL, NULL, 0, NULL}};

PyTypeObject SvcRef_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tabledata._tabledata.SvcRef",
    .tp_basicsize = sizeof(SvcRef),
    .tp_dealloc = (destructor)svcref_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = svcref_methods,
};

/* ---- answers: answer_*(ref, request_id, ...) ----
 * Each runs the td_answer_* call with the GIL released and the SvcRef's lock
 * held (so the service cannot be destroyed meanwhile).  Raises the C error
 * (StateError for an answer that is not expected any more). */

enum answer_kind { A_SCHEMA, A_LOCATION, A_LOCATION_REMOVED, A_SIZE, A_VALUES, A_SUCCESS, A_FAILURE };

typedef struct {
  enum answer_kind kind;
  struct ArrowSchema s1, s2;
  struct ArrowArray a1;
  td_location_key *key;
  int64_t size;
  const char *text;
  int mode; /* A_SCHEMA: td_update_mode */
} answer_args;

/* Arguments of one kind with every Arrow struct released (empty). */
static answer_args args_of(enum answer_kind kind) {
  answer_args a;
  memset(&a, 0, sizeof a);
  a.kind = kind;
  return a;
}

static PyObject *answer(SvcRef *r, unsigned long long id, answer_args *a) {
  td_error err;
  td_error_clear(&err);
  int rc;
  Py_BEGIN_ALLOW_THREADS
  pthread_mutex_lock(&r->mu);
  if (!r->svc) {
    rc = TD_ESTATE;
    snprintf(err.message, sizeof err.message, "the service of request %llu has been released", id);
  } else {
    td_request req = {r->svc, id};
    switch (a->kind) {
      case A_SCHEMA:
        rc = td_answer_schema_mode(req, &a->s1, a->s2.release ? &a->s2 : NULL, (td_update_mode)a->mode, &err);
        break;
      case A_LOCATION: rc = td_answer_location(req, a->key, &err); break;
      case A_LOCATION_REMOVED: rc = td_answer_location_removed(req, a->key, &err); break;
      case A_SIZE: rc = td_answer_size(req, a->size, &err); break;
      case A_VALUES: rc = td_answer_values(req, &a->s1, &a->a1, &err); break;
      case A_SUCCESS: rc = td_answer_success(req, &err); break;
      default: rc = td_answer_failure(req, a->text, &err); break;
    }
  }
  pthread_mutex_unlock(&r->mu);
  Py_END_ALLOW_THREADS
  /* Whatever was not taken (service gone) is released here. */
  if (a->s1.release) a->s1.release(&a->s1);
  if (a->s2.release) a->s2.release(&a->s2);
  if (a->a1.release) a->a1.release(&a->a1);
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  Py_RETURN_NONE;
}

static PyObject *answer_schema(PyObject *m, PyObject *args) {
  SvcRef *r;
  unsigned long long id;
  PyObject *c1, *c2;
  int mode = TD_UPDATE_ADD_ONLY;
  if (!PyArg_ParseTuple(args, "O!KOO|i", &SvcRef_Type, &r, &id, &c1, &c2, &mode)) return NULL;
  answer_args a = args_of(A_SCHEMA);
  a.mode = mode;
  if (take_schema(c1, &a.s1, 0) < 0) return NULL;
  if (take_schema(c2, &a.s2, 1) < 0) {
    a.s1.release(&a.s1);
    return NULL;
  }
  return answer(r, id, &a);
}

/* answer_location(ref, id, identity, schema capsule | None, array capsule | None),
 * and (removed) answer_location_removed with the same arguments. */
static PyObject *location_answer(PyObject *args, bool removed) {
  SvcRef *r;
  unsigned long long id;
  const char *identity;
  PyObject *c1, *c2;
  if (!PyArg_ParseTuple(args, "O!KsOO", &SvcRef_Type, &r, &id, &identity, &c1, &c2)) return NULL;
  struct ArrowSchema s;
  struct ArrowArray arr;
  if (take_schema(c1, &s, 1) < 0) return NULL;
  if (take_array(c2, &arr, 1) < 0) {
    if (s.release) s.release(&s);
    return NULL;
  }
  if (!s.release != !arr.release) {
    if (s.release) s.release(&s);
    if (arr.release) arr.release(&arr);
    PyErr_SetString(PyExc_ValueError, "partition values need both a schema and an array");
    return NULL;
  }
  td_error err;
  td_location_key *key;
  int rc = td_location_key_from_arrow(identity, s.release ? &s : NULL, arr.release ? &arr : NULL, &key, &err);
  if (rc != TD_OK) {
    /* Bad partition values break the contract: fail the request too. */
    if (removed) return tdpy_raise(rc, &err);
    answer_args f = args_of(A_FAILURE);
    f.text = err.message;
    PyObject *ignored = answer(r, id, &f);
    Py_XDECREF(ignored);
    PyErr_Clear();
    return tdpy_raise(TD_ECONTRACT, &err);
  }
  answer_args a = args_of(removed ? A_LOCATION_REMOVED : A_LOCATION);
  a.key = key;
  PyObject *res = answer(r, id, &a);
  td_location_key_release(key);
  return res;
}

static PyObject *answer_location(PyObject *m, PyObject *args) {
  (void)m;
  return location_answer(args, false);
}

static PyObject *answer_location_removed(PyObject *m, PyObject *args) {
  (void)m;
  return location_answer(args, true);
}

static PyObject *answer_size(PyObject *m, PyObject *args) {
  SvcRef *r;
  unsigned long long id;
  long long size;
  if (!PyArg_ParseTuple(args, "O!KL", &SvcRef_Type, &r, &id, &size)) return NULL;
  answer_args a = args_of(A_SIZE);
  a.size = size;
  return answer(r, id, &a);
}

static PyObject *answer_values(PyObject *m, PyObject *args) {
  SvcRef *r;
  unsigned long long id;
  PyObject *c1, *c2;
  if (!PyArg_ParseTuple(args, "O!KOO", &SvcRef_Type, &r, &id, &c1, &c2)) return NULL;
  answer_args a = args_of(A_VALUES);
  if (take_schema(c1, &a.s1, 0) < 0) return NULL;
  if (take_array(c2, &a.a1, 0) < 0) {
    a.s1.release(&a.s1);
    return NULL;
  }
  return answer(r, id, &a);
}

static PyObject *answer_success(PyObject *m, PyObject *args) {
  SvcRef *r;
  unsigned long long id;
  if (!PyArg_ParseTuple(args, "O!K", &SvcRef_Type, &r, &id)) return NULL;
  answer_args a = args_of(A_SUCCESS);
  return answer(r, id, &a);
}

static PyObject *answer_failure(PyObject *m, PyObject *args) {
  SvcRef *r;
  unsigned long long id;
  const char *text;
  if (!PyArg_ParseTuple(args, "O!Ks", &SvcRef_Type, &r, &id, &text)) return NULL;
  answer_args a = args_of(A_FAILURE);
  a.text = text;
  return answer(r, id, &a);
}

/* ---- the bridge: a td_backend calling a Python object ---- */

typedef struct {
  PyObject *target; /* the package's _Bridge */
  SvcRef *ref;
} bridge;

/* Describes the pending Python exception as "Type: message" and clears it. */
static void exception_text(char *buf, size_t size) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  const char *tname = type ? ((PyTypeObject *)type)->tp_name : "error";
  PyObject *s = value ? PyObject_Str(value) : NULL;
  const char *text = s ? PyUnicode_AsUTF8(s) : NULL;
  snprintf(buf, size, "%s: %s", tname, text ? text : "(no message)");
  Py_XDECREF(s);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  PyErr_Clear();
}

/* Calls target.<method>(request id, ...).  The _Bridge answers itself, and
 * turns exceptions of the user's backend into failure answers; if the call
 * still raises, the request fails here naming the method. */
static void bridge_call(bridge *b, td_request req, const char *method, const char *fmt, ...) {
  char msg[512];
  if (!tdpy_alive()) {
    td_answer_failure(req, "the Python interpreter is shutting down", NULL);
    return;
  }
  PyGILState_STATE g = PyGILState_Ensure();
  va_list ap;
  va_start(ap, fmt);
  PyObject *args = Py_VaBuildValue(fmt, ap);
  va_end(ap);
  PyObject *fn = args ? PyObject_GetAttrString(b->target, method) : NULL;
  PyObject *res = fn ? PyObject_Call(fn, args, NULL) : NULL;
  Py_XDECREF(fn);
  Py_XDECREF(args);
  if (res) {
    Py_DECREF(res);
    PyGILState_Release(g);
    return;
  }
  char text[400];
  exception_text(text, sizeof text);
  snprintf(msg, sizeof msg, "%s raised %s", method, text);
  Py_BEGIN_ALLOW_THREADS
  td_answer_failure(req, msg, NULL);
  Py_END_ALLOW_THREADS
  PyGILState_Release(g);
}

static const char *loc_ident(const td_location_key *k) { return td_location_key_identity(k); }

static void b_table_schema(void *self, const td_table_key *t, td_request req) {
  bridge_call(self, req, "table_schema", "(Ks)", (unsigned long long)req.id, td_table_key_name(t));
}
static void b_table_locations(void *self, const td_table_key *t, td_request req) {
  bridge_call(self, req, "table_locations", "(Ks)", (unsigned long long)req.id, td_table_key_name(t));
}
static void b_table_location_size(void *self, const td_table_key *t, const td_location_key *l, td_request req) {
  bridge_call(self, req, "table_location_size", "(Kss)", (unsigned long long)req.id, td_table_key_name(t),
              loc_ident(l));
}
static void b_column_values(void *self, const td_table_key *t, const td_location_key *l, const char *column,
                            int64_t offset, int64_t min_rows, int64_t max_rows, td_request req) {
  bridge_call(self, req, "column_values", "(KsssLLL)", (unsigned long long)req.id, td_table_key_name(t),
              loc_ident(l), column, (long long)offset, (long long)min_rows, (long long)max_rows);
}
static void b_subscribe_locations(void *self, const td_table_key *t, td_request sub) {
  bridge_call(self, sub, "subscribe_to_table_locations", "(Ks)", (unsigned long long)sub.id,
              td_table_key_name(t));
}
static void b_subscribe_size(void *self, const td_table_key *t, const td_location_key *l, td_request sub) {
  bridge_call(self, sub, "subscribe_to_table_location_size", "(Kss)", (unsigned long long)sub.id,
              td_table_key_name(t), loc_ident(l));
}
static void b_unsubscribe(void *self, td_request sub) {
  bridge *b = self;
  if (!tdpy_alive()) return;
  PyGILState_STATE g = PyGILState_Ensure();
  PyObject *res = PyObject_CallMethod(b->target, "unsubscribe", "(K)", (unsigned long long)sub.id);
  if (!res) PyErr_WriteUnraisable(b->target);
  Py_XDECREF(res);
  PyGILState_Release(g);
}
static void b_release(void *self) {
  bridge *b = self;
  pthread_mutex_lock(&b->ref->mu);
  b->ref->svc = NULL;
  pthread_mutex_unlock(&b->ref->mu);
  if (tdpy_alive()) {
    PyGILState_STATE g = PyGILState_Ensure();
    Py_DECREF(b->target);
    Py_DECREF(b->ref);
    PyGILState_Release(g);
  }
  free(b);
}

static const td_backend_vtable bridge_vtable = {
    .table_schema = b_table_schema,
    .table_locations = b_table_locations,
    .table_location_size = b_table_location_size,
    .column_values = b_column_values,
    .subscribe_to_table_locations = b_subscribe_locations,
    .subscribe_to_table_location_size = b_subscribe_size,
    .unsubscribe = b_unsubscribe,
    .release = b_release,
};

/* ---- Service ---- */

static int parse_options(PyObject *kw_page, PyObject *kw_cache, PyObject *kw_timeout, PyObject *kw_period,
                         td_service_options *o) {
  td_service_options_init(o);
  if (kw_page != Py_None && (o->page_size = PyLong_AsLongLong(kw_page)) == -1 && PyErr_Occurred()) return -1;
  if (kw_cache != Py_None && (o->cache_bytes = PyLong_AsLongLong(kw_cache)) == -1 && PyErr_Occurred()) return -1;
  if (kw_timeout != Py_None && (o->request_timeout_ms = PyLong_AsLongLong(kw_timeout)) == -1 && PyErr_Occurred())
    return -1;
  if (kw_period != Py_None && (o->update_period_ms = PyLong_AsLongLong(kw_period)) == -1 && PyErr_Occurred())
    return -1;
  return 0;
}

static Service *service_alloc(void) {
  Service *s = PyObject_New(Service, &Service_Type);
  if (!s) return NULL;
  s->svc = NULL;
  s->fb = NULL;
  s->ref = svcref_new();
  if (!s->ref) {
    Py_DECREF(s);
    return NULL;
  }
  return s;
}

/* Service(target, page_size, cache_bytes, timeout_ms, period_ms): a service
 * whose backend is the Python object `target` (the package's _Bridge). */
static PyObject *service_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  PyObject *target, *p, *c, *t, *u;
  if (!PyArg_ParseTuple(args, "OOOOO", &target, &p, &c, &t, &u)) return NULL;
  td_service_options o;
  if (parse_options(p, c, t, u, &o) < 0) return NULL;
  Service *s = service_alloc();
  if (!s) return NULL;
  bridge *b = malloc(sizeof *b);
  if (!b) {
    Py_DECREF(s);
    return PyErr_NoMemory();
  }
  b->target = Py_NewRef(target);
  b->ref = (SvcRef *)Py_NewRef(s->ref);
  o.on_error = svcref_on_error;
  o.on_error_ctx = s->ref;
  td_error err;
  int rc;
  td_backend be = {&bridge_vtable, b};
  /* On failure td_service_new releases the bridge (b_release needs the GIL,
   * which this thread holds: PyGILState_Ensure nests). */
  rc = td_service_new(be, &o, &s->svc, &err);
  if (rc != TD_OK) {
    Py_DECREF(s);
    return tdpy_raise(rc, &err);
  }
  s->ref->svc = s->svc;
  return (PyObject *)s;
}

/* A database or stream source: 'postgresql://host/db/table' or
 * postgres('conninfo', 'table', ...), 'kafka://host:port/topic' or
 * kafka('host:port', 'topic', ...).  *matched says whether `path` is one;
 * then *b is its backend handle (a new reference, for td_service_new) and
 * `name` its table's name. */
static int open_remote(const char *path, td_backend *b, char *name, size_t n, bool *matched, td_error *err) {
  *matched = false;
  (void)path, (void)b, (void)name, (void)n, (void)err;
#ifdef TD_HAVE_POSTGRES
  if (td_postgres_is_source(path)) {
    td_postgres_backend *pb = NULL;
    *matched = true;
    int rc = td_postgres_backend_open_source(path, &pb, err);
    if (rc == TD_OK) snprintf(name, n, "%s", td_postgres_backend_table_name(pb)), *b = td_postgres_backend_backend(pb);
    td_postgres_backend_release(pb);
    return rc;
  }
#endif
#ifdef TD_HAVE_KAFKA
  if (td_kafka_is_source(path)) {
    td_kafka_backend *kb = NULL;
    *matched = true;
    int rc = td_kafka_backend_open_source(path, &kb, err);
    if (rc == TD_OK) snprintf(name, n, "%s", td_kafka_backend_table_name(kb)), *b = td_kafka_backend_backend(kb);
    td_kafka_backend_release(kb);
    return rc;
  }
#endif
  return TD_OK;
}

/* open_files(path, page_size, cache_bytes, timeout_ms, period_ms)
 *   -> (Service, table name): a service over the file backend. */
static PyObject *open_files(PyObject *m, PyObject *args) {
  const char *path;
  PyObject *p, *c, *t, *u;
  if (!PyArg_ParseTuple(args, "sOOOO", &path, &p, &c, &t, &u)) return NULL;
  td_service_options o;
  if (parse_options(p, c, t, u, &o) < 0) return NULL;
  Service *s = service_alloc();
  if (!s) return NULL;
  /* No on_error hook: a stream may keep this service alive after its
   * Service object (and so the SvcRef) is gone.  (Python backends' services
   * keep theirs through the bridge.) */
  td_error err;
  int rc;
  /* A PostgreSQL table or a Kafka topic (open_remote). */
  td_backend rb = {NULL, NULL};
  char name[512] = "";
  bool remote = false;
  Py_BEGIN_ALLOW_THREADS
  rc = open_remote(path, &rb, name, sizeof name, &remote, &err);
  if (remote && rc == TD_OK) rc = td_service_new(rb, &o, &s->svc, &err);
  Py_END_ALLOW_THREADS
  if (remote) {
    if (rc != TD_OK) {
      Py_DECREF(s);
      return tdpy_raise(rc, &err);
    }
    s->ref->svc = s->svc;
    return Py_BuildValue("(Ns)", (PyObject *)s, name);
  }
  td_file_options fo;
  td_file_options_init(&fo);
  Py_BEGIN_ALLOW_THREADS
  rc = td_file_backend_new(path, &fo, &s->fb, &err);
  if (rc == TD_OK) rc = td_service_new(td_file_backend_backend(s->fb), &o, &s->svc, &err);
  Py_END_ALLOW_THREADS
  if (rc != TD_OK) {
    Py_DECREF(s);
    return tdpy_raise(rc, &err);
  }
  s->ref->svc = s->svc;
  return Py_BuildValue("(Ns)", (PyObject *)s, td_file_backend_table_name(s->fb));
}

/* memory_service(table name, data schema, partition schema | None,
 *   [(identity, values schema | None, values array | None, data schema, data array)],
 *   page_size, cache_bytes, timeout_ms, period_ms) -> Service
 * A service over the C in-memory backend holding the given locations (the
 * data struct arrays are moved in): the same data served by C, for
 * comparisons with a Python backend. */
static PyObject *memory_service(PyObject *m, PyObject *args) {
  const char *name;
  PyObject *dsc, *psc, *locs, *p, *c, *t, *u;
  if (!PyArg_ParseTuple(args, "sOOO!OOOO", &name, &dsc, &psc, &PyList_Type, &locs, &p, &c, &t, &u)) return NULL;
  td_service_options o;
  if (parse_options(p, c, t, u, &o) < 0) return NULL;
  struct ArrowSchema ds, ps;
  if (take_schema(dsc, &ds, 0) < 0) return NULL;
  if (take_schema(psc, &ps, 1) < 0) {
    ds.release(&ds);
    return NULL;
  }
  td_error err;
  td_memory_backend *mb = NULL;
  int rc = td_memory_backend_new(&mb, &err);
  if (rc == TD_OK) rc = td_memory_backend_add_table(mb, name, &ds, ps.release ? &ps : NULL, &err);
  ds.release(&ds);
  if (ps.release) ps.release(&ps);
  for (Py_ssize_t i = 0; rc == TD_OK && i < PyList_GET_SIZE(locs); i++) {
    const char *ident;
    PyObject *vs, *va, *xs, *xa;
    if (!PyArg_ParseTuple(PyList_GET_ITEM(locs, i), "sOOOO", &ident, &vs, &va, &xs, &xa)) goto fail;
    struct ArrowSchema vsch, xsch;
    struct ArrowArray varr, xarr;
    if (take_schema(vs, &vsch, 1) < 0) goto fail;
    if (take_array(va, &varr, 1) < 0 || take_schema(xs, &xsch, 0) < 0) {
      if (vsch.release) vsch.release(&vsch);
      if (varr.release) varr.release(&varr);
      goto fail;
    }
    xsch.release(&xsch);
    if (take_array(xa, &xarr, 0) < 0) {
      if (vsch.release) vsch.release(&vsch);
      if (varr.release) varr.release(&varr);
      goto fail;
    }
    td_location_key *key;
    rc = td_location_key_from_arrow(ident, vsch.release ? &vsch : NULL, varr.release ? &varr : NULL, &key, &err);
    if (rc == TD_OK) {
      rc = td_memory_backend_add_location(mb, name, key, &xarr, &err);
      td_location_key_release(key);
    } else if (xarr.release) {
      xarr.release(&xarr);
    }
  }
  Service *s = rc == TD_OK ? service_alloc() : NULL;
  if (rc == TD_OK && !s) goto fail;
  if (rc == TD_OK) rc = td_service_new(td_memory_backend_backend(mb), &o, &s->svc, &err); /* no hook, as files */
  td_memory_backend_release(mb);
  if (rc != TD_OK) {
    Py_XDECREF(s);
    return tdpy_raise(rc, &err);
  }
  s->ref->svc = s->svc;
  return (PyObject *)s;
fail:
  td_memory_backend_release(mb);
  return NULL;
}

static void service_dealloc(Service *s) {
  td_service *svc = s->svc;
  td_file_backend *fb = s->fb;
  Py_BEGIN_ALLOW_THREADS
  td_service_free(svc);
  td_file_backend_release(fb);
  Py_END_ALLOW_THREADS
  Py_XDECREF(s->ref);
  Py_TYPE(s)->tp_free((PyObject *)s);
}

/* make_table(key name, refreshing, filter or None) -> Table */
static PyObject *service_make_table(Service *s, PyObject *args) {
  const char *name, *filter = NULL;
  int refreshing;
  if (!PyArg_ParseTuple(args, "sp|z", &name, &refreshing, &filter)) return NULL;
  td_error err;
  td_table_key *key;
  int rc = td_table_key_new(name, &key, &err);
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  td_table_options o = {.refreshing = refreshing != 0};
  td_table *t = NULL;
  Py_BEGIN_ALLOW_THREADS
  rc = filter && *filter ? td_make_table_where(s->svc, key, filter, &o, &t, &err)
                         : td_make_table(s->svc, key, &o, &t, &err);
  Py_END_ALLOW_THREADS
  td_table_key_release(key);
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  return tdpy_table_new(s, t, filter && *filter ? NULL : name);
}

/* make_partitioned_table(key name, refreshing) -> PartitionedTable */
static PyObject *service_make_partitioned(Service *s, PyObject *args) {
  const char *name;
  int refreshing;
  if (!PyArg_ParseTuple(args, "sp", &name, &refreshing)) return NULL;
  td_error err;
  td_table_key *key;
  int rc = td_table_key_new(name, &key, &err);
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  td_table_options o = {.refreshing = refreshing != 0};
  td_partitioned_table *pt = NULL;
  Py_BEGIN_ALLOW_THREADS
  rc = td_make_partitioned_table(s->svc, key, &o, &pt, &err);
  Py_END_ALLOW_THREADS
  td_table_key_release(key);
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  PTable *p = PyObject_GC_New(PTable, &PTable_Type);
  if (!p) {
    Py_BEGIN_ALLOW_THREADS
    td_partitioned_table_release(pt);
    Py_END_ALLOW_THREADS
    return NULL;
  }
  p->pt = pt;
  p->service = (Service *)Py_NewRef(s);
  p->listeners = PyDict_New();
  PyObject_GC_Track(p);
  if (!p->listeners) {
    Py_DECREF(p);
    return NULL;
  }
  return (PyObject *)p;
}

static PyObject *service_counters(Service *s, PyObject *unused) {
  td_counters c;
  td_service_counters(s->svc, &c);
  PyObject *calls = PyDict_New();
  if (!calls) return NULL;
  for (int i = 0; i < TD_METHOD_COUNT; i++) {
    PyObject *v = PyLong_FromLongLong(c.calls[i]);
    if (!v || PyDict_SetItemString(calls, td_method_name((td_method)i), v) < 0) {
      Py_XDECREF(v);
      Py_DECREF(calls);
      return NULL;
    }
    Py_DECREF(v);
  }
  return Py_BuildValue(
      "{s:N,s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:L}", "calls", calls, "rows_received",
      (long long)c.rows_received, "bytes_received", (long long)c.bytes_received, "cache_hits",
      (long long)c.cache_hits, "cache_misses", (long long)c.cache_misses, "cache_evictions",
      (long long)c.cache_evictions, "cache_bytes", (long long)c.cache_bytes, "cache_pages",
      (long long)c.cache_pages, "timeouts", (long long)c.timeouts, "rejected_answers",
      (long long)c.rejected_answers, "rows_scanned", (long long)c.rows_scanned, "rows_skipped",
      (long long)c.rows_skipped, "update_cycles", (long long)c.update_cycles, "update_cpu_ns",
      (long long)c.update_cpu_ns);
}

static PyObject *service_flush(Service *s, PyObject *args) {
  long long timeout_ms = 30000;
  if (!PyArg_ParseTuple(args, "|L", &timeout_ms)) return NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_service_flush(s->svc, timeout_ms, &err);
  Py_END_ALLOW_THREADS
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  Py_RETURN_NONE;
}

static PyObject *service_get_ref(Service *s, void *unused) { return Py_NewRef((PyObject *)s->ref); }

static PyObject *service_bytes_read(Service *s, PyObject *unused) {
  return PyLong_FromLongLong(s->fb ? (long long)td_file_backend_bytes_read(s->fb) : 0);
}

static PyMethodDef service_methods[] = {
    {"make_table", (PyCFunction)service_make_table, METH_VARARGS, "make_table(name, refreshing, filter=None)"},
    {"make_partitioned_table", (PyCFunction)service_make_partitioned, METH_VARARGS,
     "make_partitioned_table(name, refreshing)"},
    {"counters", (PyCFunction)service_counters, METH_NOARGS, "The service's counters as a dict."},
    {"flush", (PyCFunction)service_flush, METH_VARARGS, "flush(timeout_ms=30000): run an update cycle now."},
    {"bytes_read", (PyCFunction)service_bytes_read, METH_NOARGS, "File services: bytes read from files."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef service_getset[] = {{"ref", (getter)service_get_ref, NULL, "The answering handle.", NULL},
                                       {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject Service_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tabledata._tabledata.Service",
    .tp_basicsize = sizeof(Service),
    .tp_dealloc = (destructor)service_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = service_methods,
    .tp_getset = service_getset,
    .tp_new = service_new,
};

/* ---- module ---- */

static PyMethodDef module_methods[] = {
    {"answer_schema", answer_schema, METH_VARARGS, "answer_schema(ref, id, data schema capsule, partition | None)"},
    {"answer_location", answer_location, METH_VARARGS, "answer_location(ref, id, identity, schema, array)"},
    {"answer_location_removed", answer_location_removed, METH_VARARGS,
     "answer_location_removed(ref, id, identity, schema, array)"},
    {"answer_size", answer_size, METH_VARARGS, "answer_size(ref, id, size)"},
    {"answer_values", answer_values, METH_VARARGS, "answer_values(ref, id, schema capsule, array capsule)"},
    {"answer_success", answer_success, METH_VARARGS, "answer_success(ref, id)"},
    {"answer_failure", answer_failure, METH_VARARGS, "answer_failure(ref, id, message)"},
    {"memory_service", memory_service, METH_VARARGS, "A service over the C in-memory backend (benchmarks)."},
    {"_shutdown", shutdown, METH_NOARGS, "Stops engine threads from calling Python (atexit)."},
    {"_set_causes", set_causes, METH_O, "The dict of backend exceptions by failure text (__cause__ of errors)."},
    {"open_files", open_files, METH_VARARGS, "open_files(path, page_size, cache_bytes, timeout_ms, period_ms)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_tabledata",
                                        "The tabledata engine (C) for Python.", -1, module_methods};

PyMODINIT_FUNC PyInit__tabledata(void) {
  PyObject *m = PyModule_Create(&module_def);
  if (!m) return NULL;
  if (PyType_Ready(&SvcRef_Type) < 0 || PyType_Ready(&Service_Type) < 0 || make_errors(m) < 0 ||
      PyModule_AddObjectRef(m, "Service", (PyObject *)&Service_Type) < 0 || tdpy_table_types_ready(m) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
