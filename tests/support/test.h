/*
 * tests/support/test.h - shared helpers for the cmocka test programs.
 *
 * TD_ASSERT_OK(rc, err) fails the test with the error message when rc != 0.
 * td_test_testdata(rel) returns the absolute path of a file under
 * tests/data (third-party files vendored with their licence).
 * td_test_scratch_* give a test program a scratch directory under /tmp.
 */
#ifndef TD_TEST_SUPPORT_H
#define TD_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "tabledata/error.h"

#define TD_ASSERT_OK(rc, err)                                                  \
  do {                                                                         \
    int td_rc_ = (rc);                                                         \
    if (td_rc_ != 0) {                                                         \
      fail_msg("%s failed: %s: %s", #rc, td_status_name(td_rc_),              \
               td_test_message(err));                                         \
    }                                                                          \
  } while (0)

/* Asserts that `haystack` contains `needle`, printing both otherwise. */
#define TD_ASSERT_CONTAINS(haystack, needle)                                   \
  do {                                                                         \
    const char *td_h_ = (haystack), *td_n_ = (needle);                        \
    if (!td_h_ || !strstr(td_h_, td_n_))                                       \
      fail_msg("expected \"%s\" to contain \"%s\"", td_h_ ? td_h_ : "(null)", \
               td_n_);                                                         \
  } while (0)

static inline const char *td_test_message(const td_error *err) {
  return err ? err->message : "";
}

/* Path of a file in the vendored test data (tests/data) (static buffer, not reentrant). */
const char *td_test_testdata(const char *relative);

/* A scratch directory for a group of tests: td_test_scratch_setup (a cmocka
 * group setup) makes a new directory /tmp/td_test.XXXXXX,
 * td_test_scratch_path(name) names a file in it (static buffer, not
 * reentrant), td_test_scratch_teardown removes it with what it holds. */
int td_test_scratch_setup(void **state);
int td_test_scratch_teardown(void **state);
const char *td_test_scratch_path(const char *name);

/* Runs the shell command `cmd` and puts what it writes (its first size - 1
 * bytes) in `out`, NUL-terminated; fails the test when it cannot start. */
void td_test_run(const char *cmd, char *out, size_t size);

/* Removes `path` and everything below it (symbolic links are not followed).
 * Returns 0, or -1 when something could not be removed. */
int td_test_rmtree(const char *path);

#endif
