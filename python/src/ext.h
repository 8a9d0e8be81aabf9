/*
 * python/src/ext.h - shared declarations of the tabledata CPython extension.
 *
 * The extension is a thin layer over the public C API (include/tabledata):
 * module.c holds errors, Arrow capsules, the backend bridge (the C vtable
 * that calls a Python object) and the Service type; table.c holds the Table
 * and PartitionedTable types, Arrow stream export, listeners and SQL.
 *
 * GIL rule (docs/PYTHON.md): every call into the library that may take a lock
 * or wait runs with the GIL released; every call from the library into Python
 * (backend methods, listeners, releases) takes it with PyGILState_Ensure.
 * So no thread ever waits for an engine lock while holding the GIL.
 */
#ifndef TD_PY_EXT_H
#define TD_PY_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>

#include "tabledata/backend.h"
#include "tabledata/file_backend.h"
#ifdef TD_HAVE_POSTGRES
#include "tabledata/postgres_backend.h"
#endif
#ifdef TD_HAVE_KAFKA
#include "tabledata/kafka_backend.h"
#endif
#include "tabledata/join.h"
#include "tabledata/query.h"
#include "tabledata/service.h"
#include "tabledata/table.h"
#include "tabledata/update_by.h"

/* What answers need to reach a service: the service pointer, cleared (under
 * `mu`) when the service is destroyed, so a late answer from a callback kept
 * by a backend is refused instead of touching freed memory. */
#define TDPY_ERRORS_KEPT 64
typedef struct {
  PyObject_HEAD
  pthread_mutex_t mu;      /* held while answering; leaf lock */
  td_service *svc;         /* borrowed; NULL once the service is gone */
  pthread_mutex_t err_mu;  /* the on_error ring below */
  int64_t n_errors;
  int err_codes[TDPY_ERRORS_KEPT];
  char *err_msgs[TDPY_ERRORS_KEPT];
} SvcRef;

typedef struct {
  PyObject_HEAD
  td_service *svc;     /* one reference */
  SvcRef *ref;
  td_file_backend *fb; /* file services only (one reference) */
} Service;

typedef struct {
  PyObject_HEAD
  td_table *t;          /* one reference */
  Service *service;     /* strong */
  char *key_name;       /* source tables made by make_table: the key (for sql) */
  PyObject *listeners;  /* dict: listener id -> ctx object */
} Table;

typedef struct {
  PyObject_HEAD
  td_partitioned_table *pt;
  Service *service;
  PyObject *listeners;
} PTable;

extern PyTypeObject SvcRef_Type, Service_Type, Table_Type, PTable_Type;

/* Sets a Python exception of the class for `rc`, carrying err's message.
 * Returns NULL. */
PyObject *tdpy_raise(int rc, const td_error *err);
/* True while the interpreter can still run Python code from other threads. */
int tdpy_alive(void);
/* New Table wrapping `t` (reference taken over); NULL with an exception. */
PyObject *tdpy_table_new(Service *service, td_table *t, const char *key_name);
/* Capsules owning Arrow structs (moved in); NULL with an exception. */
PyObject *tdpy_schema_capsule(struct ArrowSchema *schema);
PyObject *tdpy_array_capsule(struct ArrowArray *array);
/* (schema capsule, array capsule), both moved in (released on failure). */
PyObject *tdpy_capsule_pair(struct ArrowSchema *schema, struct ArrowArray *array);
int tdpy_table_types_ready(PyObject *module);

#endif
