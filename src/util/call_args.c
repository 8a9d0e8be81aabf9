/*
 * util/call_args.c - splitting the canonical text of a table-function
 * source into its arguments (see call_args.h).
 */
#include "util/call_args.h"

#include <stdbool.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

int td_call_args_split(const char *call, int n_positional, const char *usage, char ***args, int *n, td_error *err) {
  *args = NULL;
  *n = 0;
  size_t len = strlen(call);
  char **a = td_malloc(sizeof(char *) * (len / 2 + 2) + len + 1);
  if (!a) return td_err_nomem(err, "arguments");
  char *w = (char *)(a + len / 2 + 2);
  int k = 0, positional = 0;
  bool ok = true;
  const char *p = strchr(call, '(');
  p = p ? p + 1 : call + len;
  while (ok && *p && *p != ')') {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')' || !*p) break;
    a[k++] = w;
    if (*p == '\'') { /* positional: only before the named ones */
      ok = positional++ == k - 1;
    } else { /* name => 'v' becomes "name=v" */
      while (*p && *p != ' ' && *p != '=') *w++ = *p++;
      *w++ = '=';
      while (*p == ' ' || *p == '=' || *p == '>') p++;
      ok = *p == '\'';
    }
    if (!ok) break;
    for (p++; *p && !(*p == '\'' && p[1] != '\''); p++) {
      if (*p == '\'') p++; /* '' is one quote */
      *w++ = *p;
    }
    *w++ = 0;
    ok = *p == '\'';
    if (ok) p++;
  }
  if (!ok || *p != ')' || p[1] || positional != n_positional) {
    td_free(a);
    return td_err(err, TD_EINVAL, "%s, found %s", usage, call);
  }
  *args = a;
  *n = k;
  return TD_OK;
}
