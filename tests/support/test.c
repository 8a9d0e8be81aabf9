/*
 * tests/support/test.c - test helpers: locating tests/data.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

const char *td_test_testdata(const char *relative) {
  static char buf[4096];
  const char *root = getenv("TD_TESTDATA");
#ifdef TD_TESTDATA_DIR
  if (!root) root = TD_TESTDATA_DIR;
#endif
  if (!root) root = "tests/data";
  snprintf(buf, sizeof buf, "%s/%s", root, relative);
  return buf;
}
