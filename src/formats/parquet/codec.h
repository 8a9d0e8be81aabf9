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
/* pq_decompress when only dst[0..want) is needed (a read of a page's first
 * rows): snappy stops decoding at its first tag boundary at or past
 * dst[want] (bytes after it may be written, up to dst_len, or not); the
 * other codecs decompress the whole of it.  A fault in the part of the
 * stream not decoded is not reported.  dst has room for dst_len bytes. */
int pq_decompress_prefix(int codec, const uint8_t *src, int64_t n, uint8_t *dst, int64_t dst_len, int64_t want,
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
/* The same, decoding only up to the first tag boundary at or past
 * dst[stop] (stop >= dst_len: the whole stream, as pq__snappy_fast). */
bool pq__snappy_fast_prefix(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, size_t stop);

#endif
