/*
 * tests/support/test.c - test helpers: locating tests/data, running a
 * command, scratch directories.
 */
#include "test.h"

#include <ftw.h>
#include <stdio.h>
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

void td_test_run(const char *cmd, char *out, size_t size) {
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  size_t n = fread(out, 1, size - 1, f);
  out[n] = 0;
  pclose(f);
}

static char scratch_root[64];

int td_test_scratch_setup(void **state) {
  (void)state;
  snprintf(scratch_root, sizeof scratch_root, "/tmp/td_test.XXXXXX");
  return mkdtemp(scratch_root) ? 0 : -1;
}

int td_test_scratch_teardown(void **state) {
  (void)state;
  return td_test_rmtree(scratch_root);
}

const char *td_test_scratch_path(const char *name) {
  static char p[256];
  snprintf(p, sizeof p, "%s/%s", scratch_root, name);
  return p;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

int td_test_rmtree(const char *path) { return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1; }
