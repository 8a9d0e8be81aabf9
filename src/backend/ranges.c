/*
 * backend/ranges.c - the set of vtables whose column ranges are exact
 * (see ranges.h): a few slots filled once, read without a lock.
 */
#include "backend/ranges.h"

#include <stdatomic.h>
#include <stddef.h>

#define EXACT_SLOTS 8

static _Atomic(const td_backend_vtable *) g_exact[EXACT_SLOTS];

void td_backend_declare_exact_ranges(const td_backend_vtable *vt) {
  for (int i = 0; vt && i < EXACT_SLOTS; i++) {
    const td_backend_vtable *expected = NULL;
    if (atomic_compare_exchange_strong(&g_exact[i], &expected, vt) || expected == vt) return;
  }
}

bool td_backend_exact_ranges(const td_backend_vtable *vt) {
  for (int i = 0; vt && i < EXACT_SLOTS; i++) {
    const td_backend_vtable *s = atomic_load(&g_exact[i]);
    if (!s) return false;
    if (s == vt) return true;
  }
  return false;
}
