/*
 * util/dynlib.h - optional client libraries loaded on first use.
 *
 * librdkafka and libpq (with OpenSSL, Kerberos, LDAP and GnuTLS behind them)
 * cost every process that links them ~4 ms of loading and relocation, so the
 * Kafka and PostgreSQL backends open them with dlopen when a backend of
 * theirs is first made.  A backend's header lists the functions it calls
 * (an X-macro); its bind function looks each one up with td_dynlib_sym.
 * Loading happens once per process; a failure is remembered and reported to
 * every later call with the same message.
 */
#ifndef TD_UTIL_DYNLIB_H
#define TD_UTIL_DYNLIB_H

#include <pthread.h>

#include "tabledata/error.h"

typedef struct td_dynlib {
  const char *soname;  /* "librdkafka.so.1" */
  const char *purpose; /* "Kafka sources", for the error */
  const char *package; /* the Debian package that provides it */
  /* Looks up every function in `handle` (td_dynlib_sym); returns the name of
   * the first one missing, or NULL. */
  const char *(*bind)(void *handle);
  /* state, under lock */
  pthread_mutex_t lock;
  int state; /* 0 not tried, 1 loaded, -1 failed */
  char why[200];
} td_dynlib;

#define TD_DYNLIB_INIT(soname, purpose, package, bind) {soname, purpose, package, bind, PTHREAD_MUTEX_INITIALIZER, 0, ""}

/* Loads the library and binds its functions (once per process).  Errors:
 * TD_EUNSUPPORTED naming the library, what needs it, the package that
 * provides it and dlopen's reason (or the function it lacks). */
int td_dynlib_load(td_dynlib *lib, td_error *err);

/* Stores the address of `name` in `handle` into *slot (a function pointer);
 * returns whether it was found. */
int td_dynlib_sym(void *handle, const char *name, void *slot);

/* For a backend's table of functions: X(f) in its list makes the member
 * td_<f>, a pointer of f's type; bind with TD_DYNLIB_BIND(table, handle, f). */
#define TD_DYNLIB_SLOT(f) __typeof__(f) *td_##f;
#define TD_DYNLIB_BIND(table, handle, f) \
  if (!td_dynlib_sym(handle, #f, &(table).td_##f)) return #f;

/* Defines `table` (of type table##_api, its members listed by FUNCS) and
 * table##_load(err), which loads `soname` once and binds every member with
 * BIND(f), a macro the file defines as TD_DYNLIB_BIND(table, h, f).  In the
 * one file that defines them (it defines TD_DYNLIB_BINDING before it
 * includes the backend's header, so the names are the library's own). */
#define TD_DYNLIB_DEFINE(table, FUNCS, BIND, soname, purpose, package)                   \
  table##_api table;                                                                    \
  static const char *table##_bind(void *h) {                                            \
    FUNCS(BIND)                                                                         \
    return NULL;                                                                        \
  }                                                                                     \
  static td_dynlib table##_lib = TD_DYNLIB_INIT(soname, purpose, package, table##_bind); \
  int table##_load(td_error *err) { return td_dynlib_load(&table##_lib, err); }

#endif
