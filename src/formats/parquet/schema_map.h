/*
 * formats/parquet/schema_map.h - Parquet column types -> engine types.
 */
#ifndef TD_PARQUET_SCHEMA_MAP_H
#define TD_PARQUET_SCHEMA_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "formats/parquet/encoding.h"
#include "formats/parquet/metadata.h"

/* Maps a primitive element; on failure writes the reason ("DECIMAL(9,2) is
 * not supported") into why.  *tz is "UTC" or NULL for timestamps. */
bool pq_map_type(const pq_schema_elem *e, pq_colinfo *ci, const char **tz, char *why, size_t n);
/* "nested type list<int32> is not supported" for the subtree at s[i]. */
void pq_describe_nested(const pq_schema_elem *s, int32_t n, int32_t i, char *buf, size_t size);

#endif
