/*
 * python/src/table.c - Table and PartitionedTable for Python: reads, Arrow
 * stream export (PyCapsule), listeners, the query operations and SQL.
 *
 * Exported streams are wrapped so that their callbacks run with the GIL
 * released whatever thread a consumer calls them from: a consumer holding the
 * GIL (pyarrow, Polars) must not block a Python backend that answers from
 * another thread.
 */
#include "ext.h"

#include <stdlib.h>
#include <string.h>

/* ---- the GIL around callbacks of exported streams ---- */

static PyThreadState *gil_drop(void) {
  if (tdpy_alive() && PyGILState_Check()) return PyEval_SaveThread();
  return NULL;
}

static void gil_take(PyThreadState *ts) {
  if (ts) PyEval_RestoreThread(ts);
}

static int w_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  struct ArrowArrayStream *in = s->private_data;
  PyThreadState *ts = gil_drop();
  int rc = in->get_schema(in, out);
  gil_take(ts);
  return rc;
}

static int w_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  struct ArrowArrayStream *in = s->private_data;
  PyThreadState *ts = gil_drop();
  int rc = in->get_next(in, out);
  gil_take(ts);
  return rc;
}

static const char *w_get_last_error(struct ArrowArrayStream *s) {
  struct ArrowArrayStream *in = s->private_data;
  return in->get_last_error(in);
}

static void w_release(struct ArrowArrayStream *s) {
  struct ArrowArrayStream *in = s->private_data;
  PyThreadState *ts = gil_drop();
  if (in->release) in->release(in);
  gil_take(ts);
  free(in);
  s->release = NULL;
}

static void stream_capsule_free(PyObject *cap) {
  struct ArrowArrayStream *s = PyCapsule_GetPointer(cap, "arrow_array_stream");
  if (s && s->release) s->release(s);
  free(s);
}

/* Wraps `inner` (moved) into an "arrow_array_stream" capsule. */
static PyObject *stream_capsule(struct ArrowArrayStream *inner) {
  struct ArrowArrayStream *in = malloc(sizeof *in), *out = malloc(sizeof *out);
  if (!in || !out) {
    free(in);
    free(out);
    inner->release(inner);
    return PyErr_NoMemory();
  }
  *in = *inner;
  inner->release = NULL;
  out->get_schema = w_get_schema;
  out->get_next = w_get_next;
  out->get_last_error = w_get_last_error;
  out->release = w_release;
  out->private_data = in;
  PyObject *cap = PyCapsule_New(out, "arrow_array_stream", stream_capsule_free);
  if (!cap) {
    w_release(out);
    free(out);
  }
  return cap;
}

/* ---- helpers ---- */

/* Column names (a sequence of str) as a C array borrowed from `*keep`. */
static int str_array(PyObject *seq, PyObject **keep, const char ***out, Py_ssize_t *n) {
  *keep = PySequence_Fast(seq, "expected a sequence of str");
  if (!*keep) return -1;
  *n = PySequence_Fast_GET_SIZE(*keep);
  *out = PyMem_Calloc((size_t)(*n ? *n : 1), sizeof **out);
  if (!*out) {
    Py_CLEAR(*keep);
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < *n; i++) {
    (*out)[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(*keep, i));
    if (!(*out)[i]) {
      PyMem_Free(*out);
      Py_CLEAR(*keep);
      return -1;
    }
  }
  return 0;
}

/* Column indices of `table` from None (all) or a sequence of names. */
static int column_indices(td_table *t, PyObject *cols, int64_t **out, int64_t *n) {
  *out = NULL;
  *n = 0;
  if (cols == Py_None) return 0;
  PyObject *keep;
  const char **names;
  Py_ssize_t k;
  if (str_array(cols, &keep, &names, &k) < 0) return -1;
  *out = PyMem_Calloc((size_t)(k ? k : 1), sizeof **out);
  int rc = *out ? 0 : -1;
  if (!*out) PyErr_NoMemory();
  for (Py_ssize_t i = 0; rc == 0 && i < k; i++) {
    (*out)[i] = td_table_column_index(t, names[i]);
    if ((*out)[i] < 0) {
      PyErr_Format(PyExc_KeyError, "no column named '%s'", names[i]);
      rc = -1;
    }
  }
  *n = k;
  PyMem_Free(names);
  Py_DECREF(keep);
  if (rc < 0) {
    PyMem_Free(*out);
    *out = NULL;
  }
  return rc;
}

/* ---- listeners (shared by Table and PartitionedTable) ----
 * ctx is a 1-tuple (fn,) kept in the owner's `listeners` dict; the callback
 * holds its own reference while it runs, so removing a listener from inside
 * its own call is safe. */

static PyObject *update_dict(td_table *t, const td_table_update *u) {
  PyObject *added = PyList_New(u->n_added), *newlocs = PyList_New(u->n_new_locations);
  PyObject *changed = PyList_New(u->n_changed), *removed = PyList_New(u->n_removed);
  if (!added || !newlocs || !changed || !removed) goto fail;
  for (int64_t i = 0; i < u->n_removed; i++) {
    const td_added_rows *a = &u->removed[i];
    PyObject *item = Py_BuildValue("(LzLLL)", (long long)a->region,
                                   a->location ? td_location_key_identity(a->location) : NULL,
                                   (long long)a->first_row, (long long)a->end_row, (long long)u->removed_begin[i]);
    if (!item) goto fail;
    PyList_SET_ITEM(removed, i, item);
  }
  for (int64_t i = 0; i < u->n_added; i++) {
    const td_added_rows *a = &u->added[i];
    int64_t pos = a->first_row;
    if (a->region >= 0) pos += td_table_region_start(t, a->region);
    PyObject *item = Py_BuildValue("(LzLLL)", (long long)a->region,
                                   a->location ? td_location_key_identity(a->location) : NULL,
                                   (long long)a->first_row, (long long)a->end_row, (long long)pos);
    if (!item) goto fail;
    PyList_SET_ITEM(added, i, item);
  }
  for (int64_t i = 0; i < u->n_new_locations; i++) {
    PyObject *s = PyUnicode_FromString(td_location_key_identity(u->new_locations[i]));
    if (!s) goto fail;
    PyList_SET_ITEM(newlocs, i, s);
  }
  for (int64_t i = 0; i < u->n_changed; i++) {
    PyObject *v = PyLong_FromLongLong(u->changed[i]);
    if (!v) goto fail;
    PyList_SET_ITEM(changed, i, v);
  }
  return Py_BuildValue("{s:L,s:L,s:L,s:N,s:N,s:O,s:N,s:N}", "version", (long long)u->version, "size_before",
                       (long long)u->size_before, "size_after", (long long)u->size_after, "added", added,
                       "new_locations", newlocs, "replaced", u->replaced ? Py_True : Py_False, "changed",
                       changed, "removed", removed);
fail:
  Py_XDECREF(removed);
  Py_XDECREF(added);
  Py_XDECREF(newlocs);
  Py_XDECREF(changed);
  return NULL;
}

static void listener_cb(void *ctx, td_table *t, const td_table_update *u, const td_error *e) {
  if (!tdpy_alive()) return;
  PyGILState_STATE g = PyGILState_Ensure();
  PyObject *holder = Py_NewRef((PyObject *)ctx);
  PyObject *fn = PyTuple_GET_ITEM(holder, 0);
  PyObject *arg = u ? update_dict(t, u) : Py_NewRef(Py_None);
  PyObject *error = e ? Py_BuildValue("(ss)", td_status_name(e->code), e->message) : Py_NewRef(Py_None);
  PyObject *res = arg && error ? PyObject_CallFunctionObjArgs(fn, arg, error, NULL) : NULL;
  if (!res) PyErr_WriteUnraisable(fn);
  Py_XDECREF(res);
  Py_XDECREF(arg);
  Py_XDECREF(error);
  Py_DECREF(holder);
  PyGILState_Release(g);
}

typedef int (*add_fn)(void *owner, td_table_listener fn, void *ctx, int64_t *id, td_error *err);
typedef int (*remove_fn)(void *owner, int64_t id);

static int add_table_listener(void *o, td_table_listener fn, void *ctx, int64_t *id, td_error *err) {
  return td_table_add_listener(o, fn, ctx, id, err);
}
static int remove_table_listener(void *o, int64_t id) { return td_table_remove_listener(o, id); }
static int add_pt_listener(void *o, td_table_listener fn, void *ctx, int64_t *id, td_error *err) {
  return td_partitioned_table_add_listener(o, fn, ctx, id, err);
}
static int remove_pt_listener(void *o, int64_t id) { return td_partitioned_table_remove_listener(o, id); }

static PyObject *listen(void *owner, PyObject *dict, add_fn add, remove_fn remove, PyObject *fn) {
  if (!dict) {
    PyErr_SetString(PyExc_ValueError, "the table is being released");
    return NULL;
  }
  if (!PyCallable_Check(fn)) {
    PyErr_SetString(PyExc_TypeError, "a listener must be callable");
    return NULL;
  }
  PyObject *holder = PyTuple_Pack(1, fn);
  if (!holder) return NULL;
  td_error err;
  int64_t id = 0;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = add(owner, listener_cb, holder, &id, &err);
  Py_END_ALLOW_THREADS
  if (rc != TD_OK) {
    Py_DECREF(holder);
    return tdpy_raise(rc, &err);
  }
  PyObject *key = PyLong_FromLongLong(id);
  if (!key || PyDict_SetItem(dict, key, holder) < 0) {
    /* Cannot keep it: take it back off. */
    Py_BEGIN_ALLOW_THREADS
    remove(owner, id);
    Py_END_ALLOW_THREADS
    Py_XDECREF(key);
    Py_DECREF(holder);
    return NULL;
  }
  Py_DECREF(holder);
  return key;
}

static PyObject *unlisten(void *owner, PyObject *dict, remove_fn remove, PyObject *key) {
  long long id = PyLong_AsLongLong(key);
  if (id == -1 && PyErr_Occurred()) return NULL;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = remove(owner, id);
  Py_END_ALLOW_THREADS
  if (rc != TD_OK) {
    PyErr_Format(PyExc_KeyError, "no listener %lld", id);
    return NULL;
  }
  /* Not running now unless this is its own call, which holds a reference. */
  if (dict && PyDict_DelItem(dict, key) < 0) PyErr_Clear();
  Py_RETURN_NONE;
}

/* Removes every listener still registered through `dict` (dealloc). */
static void unlisten_all(void *owner, PyObject *dict, remove_fn remove) {
  if (!dict) return;
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(dict, &pos, &key, &value)) {
    long long id = PyLong_AsLongLong(key);
    Py_BEGIN_ALLOW_THREADS
    remove(owner, id);
    Py_END_ALLOW_THREADS
  }
  Py_CLEAR(dict);
}

/* ---- Table ---- */

PyObject *tdpy_table_new(Service *service, td_table *t, const char *key_name) {
  Table *o = PyObject_GC_New(Table, &Table_Type);
  if (o) {
    o->t = t;
    o->service = (Service *)Py_NewRef(service);
    o->key_name = key_name ? strdup(key_name) : NULL;
    o->listeners = PyDict_New();
    PyObject_GC_Track(o);
    if (!o->listeners || (key_name && !o->key_name)) Py_CLEAR(o);
    return (PyObject *)o;
  }
  Py_BEGIN_ALLOW_THREADS
  td_table_release(t);
  Py_END_ALLOW_THREADS
  return NULL;
}

/* Tables and partitioned tables take part in garbage collection through
 * their listeners: a listener whose closure refers to its own table (a
 * common pattern) makes a cycle through the listeners dict, which the
 * collector can only see and break (tp_clear: the listeners leave the engine
 * first, then the dict) when the type traverses it. */
static int table_traverse(Table *o, visitproc visit, void *arg) {
  Py_VISIT(o->listeners);
  return 0;
}

static int table_clear(Table *o) {
  PyObject *dict = o->listeners;
  o->listeners = NULL;
  if (o->t) unlisten_all(o->t, dict, remove_table_listener);
  else Py_XDECREF(dict);
  return 0;
}

static void table_dealloc(Table *o) {
  PyObject_GC_UnTrack(o);
  table_clear(o);
  td_table *t = o->t;
  Py_BEGIN_ALLOW_THREADS
  td_table_release(t);
  Py_END_ALLOW_THREADS
  free(o->key_name);
  Py_XDECREF(o->service);
  Py_TYPE(o)->tp_free((PyObject *)o);
}

static PyObject *table_size(Table *o, PyObject *unused) {
  int64_t n;
  Py_BEGIN_ALLOW_THREADS
  n = td_table_size(o->t);
  Py_END_ALLOW_THREADS
  return PyLong_FromLongLong(n);
}

static PyObject *table_version(Table *o, PyObject *unused) {
  int64_t v;
  Py_BEGIN_ALLOW_THREADS
  v = td_table_version(o->t);
  Py_END_ALLOW_THREADS
  return PyLong_FromLongLong(v);
}

static PyObject *table_is_refreshing(Table *o, PyObject *unused) {
  return PyBool_FromLong(td_table_is_refreshing(o->t));
}

static PyObject *table_columns(Table *o, PyObject *unused) {
  int64_t n = td_table_num_columns(o->t);
  PyObject *out = PyList_New(n);
  for (int64_t i = 0; out && i < n; i++) {
    PyObject *item = Py_BuildValue("(sO)", td_table_column_name(o->t, i),
                                   td_table_column_is_partition(o->t, i) ? Py_True : Py_False);
    if (!item) Py_CLEAR(out);
    else PyList_SET_ITEM(out, i, item);
  }
  return out;
}

static PyObject *table_schema(Table *o, PyObject *unused) {
  struct ArrowSchema s;
  td_error err;
  int rc = td_table_schema(o->t, &s, &err);
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  return tdpy_schema_capsule(&s);
}

static PyObject *table_status(Table *o, PyObject *unused) {
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_table_status(o->t, &err);
  Py_END_ALLOW_THREADS
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  Py_RETURN_NONE;
}

/* stream(columns=None) -> "arrow_array_stream" capsule */
static PyObject *table_stream(Table *o, PyObject *args) {
  PyObject *cols = Py_None;
  if (!PyArg_ParseTuple(args, "|O", &cols)) return NULL;
  int64_t *idx, n;
  if (column_indices(o->t, cols, &idx, &n) < 0) return NULL;
  struct ArrowArrayStream s;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_table_stream(o->t, idx, cols == Py_None ? 0 : n, &s, &err);
  Py_END_ALLOW_THREADS
  PyMem_Free(idx);
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  return stream_capsule(&s);
}

/* read(columns or None, begin, end) -> (schema capsule, array capsule) */
static PyObject *table_read(Table *o, PyObject *args) {
  PyObject *cols;
  long long begin, end;
  if (!PyArg_ParseTuple(args, "OLL", &cols, &begin, &end)) return NULL;
  int64_t *idx, n;
  if (column_indices(o->t, cols, &idx, &n) < 0) return NULL;
  struct ArrowArrayStream s;
  struct ArrowSchema schema;
  struct ArrowArray arr;
  schema.release = NULL;
  arr.release = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  /* The schema of those columns, from a stream that reads nothing. */
  rc = td_table_stream(o->t, idx, cols == Py_None ? 0 : n, &s, &err);
  if (rc == TD_OK) {
    if (s.get_schema(&s, &schema) != 0) {
      rc = TD_EINVAL;
      snprintf(err.message, sizeof err.message, "%s", s.get_last_error(&s));
    }
    s.release(&s);
  }
  if (rc == TD_OK) rc = td_table_read(o->t, idx, cols == Py_None ? 0 : n, begin, end, &arr, &err);
  Py_END_ALLOW_THREADS
  PyMem_Free(idx);
  if (rc != TD_OK) {
    if (schema.release) schema.release(&schema);
    return tdpy_raise(rc, &err);
  }
  return tdpy_capsule_pair(&schema, &arr);
}

static PyObject *table_add_listener(Table *o, PyObject *fn) { return listen(o->t, o->listeners, add_table_listener, remove_table_listener, fn); }
static PyObject *table_remove_listener(Table *o, PyObject *id) {
  return unlisten(o->t, o->listeners, remove_table_listener, id);
}

/* locations() -> identities of the included locations, in region order;
 * region_starts() -> the first position of each. */
static PyObject *table_locations(Table *o, PyObject *unused) {
  PyObject *out = PyList_New(0);
  int64_t n = td_table_location_count(o->t);
  for (int64_t i = 0; out && i < n; i++) {
    const td_location_key *k = td_table_location(o->t, i);
    PyObject *item = Py_BuildValue("(sL)", k ? td_location_key_identity(k) : "", (long long)td_table_region_start(o->t, i));
    if (!item || PyList_Append(out, item) < 0) Py_CLEAR(out);
    Py_XDECREF(item);
  }
  return out;
}

static PyObject *derived(Table *o, int rc, td_table *out, td_error *err) {
  if (rc != TD_OK) return tdpy_raise(rc, err);
  return tdpy_table_new(o->service, out, NULL);
}

static PyObject *table_where(Table *o, PyObject *args) {
  const char *filter;
  if (!PyArg_ParseTuple(args, "s", &filter)) return NULL;
  td_table *out = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_table_where(o->t, filter, &out, &err);
  Py_END_ALLOW_THREADS
  return derived(o, rc, out, &err);
}

static PyObject *table_head_tail(Table *o, PyObject *args, int tail) {
  long long n;
  if (!PyArg_ParseTuple(args, "L", &n)) return NULL;
  td_table *out = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = tail ? td_table_tail(o->t, n, &out, &err) : td_table_head(o->t, n, &out, &err);
  Py_END_ALLOW_THREADS
  return derived(o, rc, out, &err);
}
static PyObject *table_head(Table *o, PyObject *args) { return table_head_tail(o, args, 0); }
static PyObject *table_tail(Table *o, PyObject *args) { return table_head_tail(o, args, 1); }

static PyObject *table_view(Table *o, PyObject *args) {
  PyObject *cols, *keep;
  if (!PyArg_ParseTuple(args, "O", &cols)) return NULL;
  const char **names;
  Py_ssize_t n;
  if (str_array(cols, &keep, &names, &n) < 0) return NULL;
  td_table *out = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_table_view(o->t, names, n, &out, &err);
  Py_END_ALLOW_THREADS
  PyMem_Free(names);
  Py_DECREF(keep);
  return derived(o, rc, out, &err);
}

/* sort(columns, descending flags) */
static PyObject *table_sort(Table *o, PyObject *args) {
  PyObject *cols, *desc, *keep;
  if (!PyArg_ParseTuple(args, "OO", &cols, &desc)) return NULL;
  const char **names;
  Py_ssize_t n;
  if (str_array(cols, &keep, &names, &n) < 0) return NULL;
  bool *d = PyMem_Calloc((size_t)(n ? n : 1), sizeof *d);
  PyObject *dseq = d ? PySequence_Fast(desc, "descending must be a sequence of bool") : NULL;
  int ok = dseq && PySequence_Fast_GET_SIZE(dseq) == n;
  if (dseq && !ok) PyErr_SetString(PyExc_ValueError, "one descending flag per sort column");
  for (Py_ssize_t i = 0; ok && i < n; i++) {
    int t = PyObject_IsTrue(PySequence_Fast_GET_ITEM(dseq, i));
    if (t < 0) ok = 0;
    d[i] = t > 0;
  }
  Py_XDECREF(dseq);
  if (!ok) {
    if (!d) PyErr_NoMemory();
    PyMem_Free(d);
    PyMem_Free(names);
    Py_DECREF(keep);
    return NULL;
  }
  td_table *out = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_table_sort(o->t, names, d, n, &out, &err);
  Py_END_ALLOW_THREADS
  PyMem_Free(d);
  PyMem_Free(names);
  Py_DECREF(keep);
  return derived(o, rc, out, &err);
}

/* agg_by(aggs, by) */
static PyObject *table_agg_by(Table *o, PyObject *args) {
  PyObject *aggs, *by, *k1, *k2;
  if (!PyArg_ParseTuple(args, "OO", &aggs, &by)) return NULL;
  const char **a, **b;
  Py_ssize_t na, nb;
  if (str_array(aggs, &k1, &a, &na) < 0) return NULL;
  if (str_array(by, &k2, &b, &nb) < 0) {
    PyMem_Free(a);
    Py_DECREF(k1);
    return NULL;
  }
  td_table *out = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_table_agg_by(o->t, a, na, b, nb, &out, &err);
  Py_END_ALLOW_THREADS
  PyMem_Free(a);
  PyMem_Free(b);
  Py_DECREF(k1);
  Py_DECREF(k2);
  return derived(o, rc, out, &err);
}

static PyObject *table_get_service(Table *o, void *unused) { return Py_NewRef((PyObject *)o->service); }
static PyObject *table_get_key(Table *o, void *unused) {
  if (!o->key_name) Py_RETURN_NONE;
  return PyUnicode_FromString(o->key_name);
}


/* join(right, type, keys): type 0 inner, 1 left, 2 full, 3 semi, 4 anti,
 * 5 natural, 6 aj, 7 raj (on: the as-of column spec). */
static PyObject *table_join(Table *o, PyObject *args) {
  PyObject *right, *keys, *k1;
  int type;
  const char *on = NULL;
  if (!PyArg_ParseTuple(args, "O!iO|z", &Table_Type, &right, &type, &keys, &on)) return NULL;
  const char **k;
  Py_ssize_t nk;
  if (str_array(keys, &k1, &k, &nk) < 0) return NULL;
  td_table *out = NULL, *r = ((Table *)right)->t;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  if (type == 6) rc = td_table_aj(o->t, r, k, nk, on, &out, &err);
  else if (type == 7) rc = td_table_raj(o->t, r, k, nk, on, &out, &err);
  else rc = td_table_join(o->t, r, (td_join_type)type, k, nk, &out, &err);
  Py_END_ALLOW_THREADS
  PyMem_Free(k);
  Py_DECREF(k1);
  return derived(o, rc, out, &err);
}

/* by_row(keys, last): last_by (True) or first_by. */
static PyObject *table_by_row(Table *o, PyObject *args) {
  PyObject *keys, *k1;
  int last;
  if (!PyArg_ParseTuple(args, "Op", &keys, &last)) return NULL;
  const char **k;
  Py_ssize_t nk;
  if (str_array(keys, &k1, &k, &nk) < 0) return NULL;
  td_table *out = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = last ? td_table_last_by(o->t, k, nk, &out, &err) : td_table_first_by(o->t, k, nk, &out, &err);
  Py_END_ALLOW_THREADS
  PyMem_Free(k);
  Py_DECREF(k1);
  return derived(o, rc, out, &err);
}

/* update_by([(kind, column, name, ticks, ts, window_ns)], keys). */
static PyObject *table_update_by(Table *o, PyObject *args) {
  PyObject *ops, *keys, *k1;
  if (!PyArg_ParseTuple(args, "O!O", &PyList_Type, &ops, &keys)) return NULL;
  Py_ssize_t n = PyList_GET_SIZE(ops);
  if (n < 1 || n > 64) {
    PyErr_SetString(PyExc_ValueError, "update_by takes 1 to 64 operations");
    return NULL;
  }
  td_rolling r[64];
  for (Py_ssize_t i = 0; i < n; i++) {
    long long ticks, window;
    int kind;
    if (!PyArg_ParseTuple(PyList_GET_ITEM(ops, i), "izsLzL", &kind, &r[i].column, &r[i].name, &ticks, &r[i].ts,
                          &window))
      return NULL;
    r[i].kind = (td_roll_kind)kind;
    r[i].ticks = ticks;
    r[i].window_ns = window;
  }
  const char **k;
  Py_ssize_t nk;
  if (str_array(keys, &k1, &k, &nk) < 0) return NULL;
  td_table *out = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_table_update_by(o->t, r, n, k, nk, &out, &err);
  Py_END_ALLOW_THREADS
  PyMem_Free(k);
  Py_DECREF(k1);
  return derived(o, rc, out, &err);
}

static PyMethodDef table_methods[] = {
    {"size", (PyCFunction)table_size, METH_NOARGS, NULL},
    {"version", (PyCFunction)table_version, METH_NOARGS, NULL},
    {"is_refreshing", (PyCFunction)table_is_refreshing, METH_NOARGS, NULL},
    {"columns", (PyCFunction)table_columns, METH_NOARGS, "[(name, is_partition)]"},
    {"schema", (PyCFunction)table_schema, METH_NOARGS, "arrow_schema capsule"},
    {"status", (PyCFunction)table_status, METH_NOARGS, "raises the error that failed the table"},
    {"stream", (PyCFunction)table_stream, METH_VARARGS, "stream(columns=None) -> arrow_array_stream capsule"},
    {"read", (PyCFunction)table_read, METH_VARARGS, "read(columns, begin, end) -> (schema, array) capsules"},
    {"add_listener", (PyCFunction)table_add_listener, METH_O, "add_listener(fn(update, error)) -> id"},
    {"remove_listener", (PyCFunction)table_remove_listener, METH_O, NULL},
    {"locations", (PyCFunction)table_locations, METH_NOARGS, "[(identity, first position)]"},
    {"where", (PyCFunction)table_where, METH_VARARGS, NULL},
    {"head", (PyCFunction)table_head, METH_VARARGS, NULL},
    {"tail", (PyCFunction)table_tail, METH_VARARGS, NULL},
    {"view", (PyCFunction)table_view, METH_VARARGS, NULL},
    {"sort", (PyCFunction)table_sort, METH_VARARGS, NULL},
    {"agg_by", (PyCFunction)table_agg_by, METH_VARARGS, NULL},
    {"join", (PyCFunction)table_join, METH_VARARGS, "join(right, type, keys, on=None)"},
    {"by_row", (PyCFunction)table_by_row, METH_VARARGS, "by_row(keys, last)"},
    {"update_by", (PyCFunction)table_update_by, METH_VARARGS, "update_by(ops, keys)"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef table_getset[] = {{"service", (getter)table_get_service, NULL, NULL, NULL},
                                     {"key_name", (getter)table_get_key, NULL, NULL, NULL},
                                     {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject Table_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tabledata._tabledata.Table",
    .tp_basicsize = sizeof(Table),
    .tp_dealloc = (destructor)table_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)table_traverse,
    .tp_clear = (inquiry)table_clear,
    .tp_methods = table_methods,
    .tp_getset = table_getset,
};

/* ---- PartitionedTable ---- */

static int ptable_traverse(PTable *o, visitproc visit, void *arg) {
  Py_VISIT(o->listeners);
  return 0;
}

static int ptable_clear(PTable *o) {
  PyObject *dict = o->listeners;
  o->listeners = NULL;
  if (o->pt) unlisten_all(o->pt, dict, remove_pt_listener);
  else Py_XDECREF(dict);
  return 0;
}

static void ptable_dealloc(PTable *o) {
  PyObject_GC_UnTrack(o);
  ptable_clear(o);
  td_partitioned_table *pt = o->pt;
  Py_BEGIN_ALLOW_THREADS
  td_partitioned_table_release(pt);
  Py_END_ALLOW_THREADS
  Py_XDECREF(o->service);
  Py_TYPE(o)->tp_free((PyObject *)o);
}

static PyObject *ptable_size(PTable *o, PyObject *unused) {
  int64_t n;
  Py_BEGIN_ALLOW_THREADS
  n = td_partitioned_table_size(o->pt);
  Py_END_ALLOW_THREADS
  return PyLong_FromLongLong(n);
}

static PyObject *ptable_keys(PTable *o, PyObject *unused) {
  int64_t n;
  Py_BEGIN_ALLOW_THREADS
  n = td_partitioned_table_size(o->pt);
  Py_END_ALLOW_THREADS
  PyObject *out = PyList_New(n);
  for (int64_t i = 0; out && i < n; i++) {
    const td_location_key *k = td_partitioned_table_key(o->pt, i);
    PyObject *s = PyUnicode_FromString(k ? td_location_key_identity(k) : "");
    if (!s) Py_CLEAR(out);
    else PyList_SET_ITEM(out, i, s);
  }
  return out;
}

static PyObject *ptable_read(PTable *o, PyObject *unused) {
  struct ArrowSchema s;
  struct ArrowArray a;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_partitioned_table_read(o->pt, &s, &a, &err);
  Py_END_ALLOW_THREADS
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  return tdpy_capsule_pair(&s, &a);
}

static PyObject *ptable_constituent(PTable *o, PyObject *arg) {
  long long i = PyLong_AsLongLong(arg);
  if (i == -1 && PyErr_Occurred()) return NULL;
  td_table *t = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_partitioned_table_constituent(o->pt, i, &t, &err);
  Py_END_ALLOW_THREADS
  if (rc != TD_OK) return tdpy_raise(rc, &err);
  return tdpy_table_new(o->service, t, NULL);
}

static PyObject *ptable_add_listener(PTable *o, PyObject *fn) { return listen(o->pt, o->listeners, add_pt_listener, remove_pt_listener, fn); }
static PyObject *ptable_remove_listener(PTable *o, PyObject *id) {
  return unlisten(o->pt, o->listeners, remove_pt_listener, id);
}

static PyMethodDef ptable_methods[] = {
    {"size", (PyCFunction)ptable_size, METH_NOARGS, NULL},
    {"keys", (PyCFunction)ptable_keys, METH_NOARGS, "location identities, in row order"},
    {"read", (PyCFunction)ptable_read, METH_NOARGS, "(schema, array) capsules"},
    {"constituent", (PyCFunction)ptable_constituent, METH_O, NULL},
    {"add_listener", (PyCFunction)ptable_add_listener, METH_O, NULL},
    {"remove_listener", (PyCFunction)ptable_remove_listener, METH_O, NULL},
    {NULL, NULL, 0, NULL}};

PyTypeObject PTable_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tabledata._tabledata.PartitionedTable",
    .tp_basicsize = sizeof(PTable),
    .tp_dealloc = (destructor)ptable_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)ptable_traverse,
    .tp_clear = (inquiry)ptable_clear,
    .tp_methods = ptable_methods,
};

/* ---- SQL ---- */

typedef struct {
  Py_ssize_t n;
  const char **names;
  td_service **services;
  const char **keys;
} sql_sources;

static int resolve(void *ctx, const char *source, bool is_path, td_service **service, td_table_key **key,
                   td_error *err) {
  sql_sources *s = ctx;
  if (is_path || td_file_is_source(source)) {
    td_file_backend *fb;
    int rc = is_path ? td_file_backend_new(source, NULL, &fb, err) : td_file_backend_open_source(source, NULL, &fb, err);
    if (rc != TD_OK) return rc;
    rc = td_service_new(td_file_backend_backend(fb), NULL, service, err);
    if (rc == TD_OK) {
      rc = td_table_key_new(td_file_backend_table_name(fb), key, err);
      if (rc != TD_OK) td_service_free(*service);
    }
    td_file_backend_release(fb);
    return rc;
  }
  for (Py_ssize_t i = 0; i < s->n; i++) {
    if (strcmp(s->names[i], source) == 0) {
      int rc = td_table_key_new(s->keys[i], key, err);
      if (rc == TD_OK) *service = td_service_retain(s->services[i]);
      return rc;
    }
  }
  err->code = TD_ENOTFOUND;
  err->position = -1;
  snprintf(err->message, sizeof err->message,
           "no table named '%s' was given to sql() (pass it as a keyword argument: %s=table)", source, source);
  return TD_ENOTFOUND;
}

/* sql(query, {name: Table}, refreshing) -> Table */
static PyObject *sql(PyObject *m, PyObject *args) {
  const char *query;
  PyObject *dict;
  int refreshing;
  if (!PyArg_ParseTuple(args, "sO!p", &query, &PyDict_Type, &dict, &refreshing)) return NULL;
  Py_ssize_t n = PyDict_Size(dict);
  sql_sources s = {n, PyMem_Calloc((size_t)n + 1, sizeof(char *)), PyMem_Calloc((size_t)n + 1, sizeof(td_service *)),
                   PyMem_Calloc((size_t)n + 1, sizeof(char *))};
  PyObject *result = NULL;
  Service *owner = NULL;
  if (!s.names || !s.services || !s.keys) {
    PyErr_NoMemory();
    goto done;
  }
  PyObject *k, *v;
  Py_ssize_t pos = 0, i = 0;
  while (PyDict_Next(dict, &pos, &k, &v)) {
    if (!PyObject_TypeCheck(v, &Table_Type) || !((Table *)v)->key_name) {
      PyErr_Format(PyExc_TypeError,
                   "sql() source '%S' must be a table made by make_table or read (not a derived table)", k);
      goto done;
    }
    if (!(s.names[i] = PyUnicode_AsUTF8(k))) goto done;
    s.services[i] = ((Table *)v)->service->svc;
    s.keys[i] = ((Table *)v)->key_name;
    if (!owner) owner = ((Table *)v)->service;
    i++;
  }
  if (!owner) {
    PyErr_SetString(PyExc_ValueError, "sql() needs at least one table");
    goto done;
  }
  td_query_options o = {.resolver = resolve, .resolver_ctx = &s, .refreshing = refreshing != 0};
  td_table *out = NULL;
  td_error err;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = td_query(query, &o, &out, &err);
  Py_END_ALLOW_THREADS
  result = rc == TD_OK ? tdpy_table_new(owner, out, NULL) : tdpy_raise(rc, &err);
done:
  PyMem_Free(s.names);
  PyMem_Free(s.services);
  PyMem_Free(s.keys);
  return result;
}

static PyMethodDef table_module_methods[] = {{"sql", sql, METH_VARARGS, "sql(query, {name: Table}, refreshing)"},
                                            {NULL, NULL, 0, NULL}};

int tdpy_table_types_ready(PyObject *m) {
  if (PyType_Ready(&Table_Type) < 0 || PyType_Ready(&PTable_Type) < 0) return -1;
  if (PyModule_AddObjectRef(m, "Table", (PyObject *)&Table_Type) < 0 ||
      PyModule_AddObjectRef(m, "PartitionedTable", (PyObject *)&PTable_Type) < 0)
    return -1;
  return PyModule_AddFunctions(m, table_module_methods);
}
