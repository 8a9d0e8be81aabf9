/*
 * util/error.c - status names and td_error formatting.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void td_error_clear(td_error *err) {
  if (!err) return;
  err->code = TD_OK;
  err->position = -1;
  err->message[0] = '\0';
}

const char *td_status_name(int status) {
  switch (status) {
#define TD_STATUS_NAME_(name, value, text) \
  case value: return #name;
    TD_STATUS_LIST(TD_STATUS_NAME_)
#undef TD_STATUS_NAME_
  }
  return "TD_UNKNOWN";
}

const char *td_status_text(int status) {
  switch (status) {
#define TD_STATUS_TEXT_(name, value, text) \
  case value: return text;
    TD_STATUS_LIST(TD_STATUS_TEXT_)
#undef TD_STATUS_TEXT_
  }
  return "unknown status";
}

static int vset(td_error *err, int code, int64_t pos, const char *fmt, va_list ap) {
  if (!err) return code;
  err->code = code;
  err->position = pos;
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  return code;
}

int td_err(td_error *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vset(err, code, -1, fmt, ap);
  va_end(ap);
  return code;
}

int td_err_at(td_error *err, int code, int64_t position, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vset(err, code, position, fmt, ap);
  va_end(ap);
  return code;
}

int td_err_prefix(td_error *err, int code, const char *fmt, ...) {
  if (!err) return code;
  char prefix[TD_ERROR_MESSAGE_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  size_t plen = strlen(prefix), mlen = strlen(err->message);
  if (plen >= sizeof err->message) plen = sizeof err->message - 1;
  if (plen + mlen >= sizeof err->message) mlen = sizeof err->message - 1 - plen;
  memmove(err->message + plen, err->message, mlen);
  memcpy(err->message, prefix, plen);
  err->message[plen + mlen] = '\0';
  if (err->code == TD_OK) err->code = code;
  return err->code;
}

int td_err_nomem(td_error *err, const char *what) {
  return td_err(err, TD_ENOMEM, "out of memory while %s", what);
}
