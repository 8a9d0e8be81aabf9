/*
 * tabledata/api.h - symbol visibility for the public API.
 * The shared library is built with hidden visibility; TD_API marks what it
 * exports.
 */
#ifndef TABLEDATA_API_H
#define TABLEDATA_API_H

#if defined(__GNUC__) || defined(__clang__)
#define TD_API __attribute__((visibility("default")))
#else
#define TD_API
#endif

#endif
