/*
 * util/dynlib.c - dlopen of an optional client library, once per process,
 * with its functions bound by the backend that needs them (see dynlib.h).
 */
#include "util/dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

int td_dynlib_sym(void *handle, const char *name, void *slot) {
  void *p = dlsym(handle, name);
  /* POSIX: an object pointer from dlsym holds a function's address */
  if (p) memcpy(slot, &p, sizeof p);
  return p != NULL;
}

int td_dynlib_load(td_dynlib *lib, td_error *err) {
  pthread_mutex_lock(&lib->lock);
  if (lib->state == 0) {
    /* RTLD_LOCAL: the library's symbols stay out of the global scope, as a
     * linked library's would not; RTLD_NOW: a missing symbol fails here. */
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    if (!h) {
      const char *why = dlerror();
      snprintf(lib->why, sizeof lib->why, "%s", why ? why : "not found");
    } else if ((missing = lib->bind(h)) != NULL) {
      snprintf(lib->why, sizeof lib->why, "it has no function %s (too old a version?)", missing);
      dlclose(h);
      h = NULL;
    }
    lib->state = h ? 1 : -1; /* a loaded library stays loaded: its functions are in use */
  }
  int ok = lib->state == 1;
  pthread_mutex_unlock(&lib->lock);
  if (ok) return TD_OK;
  return td_err(err, TD_EUNSUPPORTED, "%s need %s (Debian package %s), which cannot be loaded: %s", lib->purpose,
                lib->soname, lib->package, lib->why);
}
