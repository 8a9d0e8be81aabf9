/*
 * formats/parquet/codec.h - page decompression for Parquet's codecs.
 */
#ifndef TD_PARQUET_CODEC_H
#define TD_PARQUET_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tabledata/error.h"

/* Decompresses src[0..n) into exactly dst_len bytes of dst.  A codec that
 * yields a different length is TD_EFORMAT; LZO and unknown codecs are
 * TD_EUNSUPPORTED. */
int pq_decompress(int codec, const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len,
                  td_error *err);
const char *pq_codec_name(int codec);
/* The first bytes of a snappy stream's output without decompressing it:
 * copies up to `want` bytes into out when the stream opens with a literal
 * holding them, and returns how many it copied (0: a malformed header, or
 * no literal at the start). */
int64_t pq_snappy_head(const uint8_t *src, int64_t n, uint8_t *out, int64_t want);
/* For tests: the project's snappy decoder alone (pq_decompress falls back
 * to libsnappy when it says false).  Decodes a stream of exactly dst_len
 * bytes into dst, writing nothing outside dst[0..dst_len); false on
 * malformed input. */
bool pq__snappy_fast(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len);

#endif
