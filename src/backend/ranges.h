/*
 * backend/ranges.h - which backends promise exact column ranges.
 *
 * The public contract of column_range (tabledata/backend.h) asks for bounds
 * only: enough to skip pages a filter rejects.  A built-in backend whose
 * ranges are the exact smallest and largest non-null values (the file
 * backend: Parquet statistics of integer and temporal columns) declares its
 * vtable here, and the query layer may then answer a global min/max from
 * column_range alone.  Not public: a user's backend never needs it, and a
 * backend written against the public header keeps reading its data.
 */
#ifndef TD_BACKEND_RANGES_H
#define TD_BACKEND_RANGES_H

#include <stdbool.h>

#include "tabledata/backend.h"

/* Declares that `vt`'s column_range answers exact values for signed
 * integer, date, time and timestamp columns.  Thread-safe; idempotent. */
void td_backend_declare_exact_ranges(const td_backend_vtable *vt);

/* Whether `vt` was declared so.  Thread-safe. */
bool td_backend_exact_ranges(const td_backend_vtable *vt);

#endif
