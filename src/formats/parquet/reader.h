/*
 * formats/parquet/reader.h - internals of the Parquet td_file_reader shared
 * by its source files (open/metadata in reader.c, page decoding in pages.c).
 */
#ifndef TD_PARQUET_READER_H
#define TD_PARQUET_READER_H

#include <pthread.h>
#include <stdatomic.h>

#include "formats/cache.h"
#include "formats/parquet/encoding.h"
#include "formats/parquet/metadata.h"
#include "formats/reader.h"

/* Limits that keep a hostile file from exhausting memory. */
#define PQ_MAX_PAGE_BYTES ((int64_t)256 << 20)    /* one page, compressed or not */
#define PQ_MAX_PAGE_ROWS ((int64_t)1 << 25)       /* values in one page */
#define PQ_MAX_SEGMENT_BYTES ((int64_t)1 << 30)   /* one decoded run of pages */
#define PQ_MAX_FOOTER_BYTES ((int64_t)256 << 20)
#define PQ_MAX_INDEX_BYTES ((int64_t)64 << 20)
#define PQ_CACHE_SLOTS 16                  /* decoded segments, all readers */
#define PQ_CACHE_BYTES ((int64_t)256 << 20) /* their budget (the newest is kept) */
#define PQ_VIEW_BYTES ((int64_t)1 << 20) /* segments read zero-copy whatever their size */
#define PQ_MAX_HEADER_BYTES ((int64_t)16 << 20) /* one page header */
/* Without an offset index a chunk's pages are found by walking their
 * headers; a page start is remembered when this many rows or bytes passed
 * since the last one remembered (so the list stays small). */
#define PQ_MARK_ROWS 4096
#define PQ_MARK_BYTES ((int64_t)256 << 10)

typedef struct pq_column {
  int32_t leaf; /* index of its column chunk in every row group */
  int max_def;  /* 0 (REQUIRED) or 1 (OPTIONAL) */
  pq_colinfo ci;
  td_chunk_stats *stats; /* one per row group, or NULL */
  int64_t n_stats;
  /* Finer statistics from the page index (ColumnIndex + OffsetIndex): one
   * per page where a row group has them, else its row group's; loaded on
   * first use (page_tried, under the reader's lock).  Their string bounds
   * point into index_bufs. */
  bool page_tried;
  td_chunk_stats *page_stats;
  int64_t n_page_stats;
  uint8_t **index_bufs;
  int64_t n_index_bufs;
  /* Where the last read of the column ended (plus one; 0: none yet): a read
   * of a few rows elsewhere is a narrow one (reader.c, PQ_NARROW). */
  _Atomic int64_t read_end;
  /* Row groups [0, hinted) whose chunk of the column was hinted to the
   * kernel (pq_hint_ahead). */
  _Atomic int32_t hinted;
} pq_column;

/* Decoded rows [first, first + arr.length) of one column chunk, or a
 * chunk's dictionary (is_dict), shared through the cache by reference. */
typedef struct pq_reader pq_reader;

typedef struct pq_seg {
  td_fcache_entry ce; /* first: in the shared cache, owned by the reader */
  bool is_dict;
  bool dict_utf8; /* a text dictionary whose entries are all valid UTF-8 */
  int64_t col, rg, first;
  int64_t file_first;      /* file row of the view's first row: a data segment
                              may go on into the next row groups (pages.c) */
  int64_t pad;             /* rows of arr before the first decoded row (see v1_direct) */
  td_array arr;            /* while decoding; dictionaries keep it */
  td_shared_array *shared; /* decoded data segments: the array, shared with
                              the zero-copy views read_column hands out */
  td_colview view;         /* of `shared` */
  /* Text dictionaries whose entries are valid UTF-8: identity indices (the
   * "dictionary" that decodes a page into its codes) and the entries as a
   * shared td_dict (arrow/dict.h).  A data segment whose pages are all
   * dictionary-encoded is decoded to codes (an int32 dictionary array). */
  td_array ident;
  struct td_dict *td;
} pq_seg;

/* Where the pages of one column chunk are: its offset index (state 1), or
 * (state 2: no usable index) page starts found so far by walking the page
 * headers, continued on demand from next_off under walk_lock, so that
 * consecutive reads go on where the last stopped and any row range decodes
 * only the pages that cover it. */
typedef struct pq_oindex {
  int state; /* 0 not loaded, 1 offset index, 2 walked */
  pq_page_location *locs; /* pages (state 1) or remembered page starts (2) */
  int64_t n, cap;
  int64_t next_off, next_row; /* state 2: the next page header not seen yet */
  int64_t data_start;         /* state 2: the first data page (-1: not seen) */
  bool done;                  /* state 2: every row's page was seen */
} pq_oindex;

struct pq_reader {
  td_file_reader base;
  int64_t file_size;
  uint8_t *footer;
  pq_file_meta meta;
  pq_column *cols; /* base.schema.n_fields */
  pthread_mutex_t lock;      /* oindex states */
  pthread_mutex_t walk_lock; /* walking page headers (state 2) */
  /* segments being decoded now (pq_get_segment), under seg_lock; seg_done
   * wakes the readers waiting for one */
  pthread_mutex_t seg_lock;
  pthread_cond_t seg_done;
  struct pq_inflight *inflight;
  pq_oindex *oindex; /* n_row_groups * n_fields, lazily filled */
  /* parquet-cpp before 3.0 wrote is_compressed = false on compressed v2 pages */
  bool v2_always_compressed;
  /* DuckDB (1.5.6 and 2.0.1 checked) writes a float column's min/max only
   * when the row group holds no NaN: its bounds prove there is none */
  bool float_bounds_no_nan;
};

/* Decoded rows covering [lo, hi) of column col in row group rg (pages.c):
 * a cached segment holding them (found by file rows, whatever row group it
 * began in) or a new one.  `ahead` (a file row, 0 for none) says the caller
 * will soon read up to there: when that is past the row group's end, a
 * new segment that is not dictionary codes goes on with the next row
 * group's pages covering those rows (so that a read across the boundary is
 * a view, not a copy).  ahead == PQ_NARROW: a narrow read (a few rows,
 * not where the last read of the column ended): a new segment may end at
 * row hi, the page holding it decompressed and decoded only up to there
 * when it is snappy PLAIN fixed-width values (the other pages are decoded
 * whole).  Row `lo` of rg is view row first_row(rg) + lo - file_first. */
#define PQ_NARROW ((int64_t)-1)
/* Two threads wanting rows of the same column chunk at once: the one that
 * finds no segment in the cache decodes one, and the others wait for it
 * (and take it when it holds their rows) rather than decode it too. */
int pq_get_segment(pq_reader *r, int64_t col, int32_t rg, int64_t lo, int64_t hi, int64_t ahead, pq_seg **out,
                   td_error *err);
void pq_seg_release(pq_reader *r, pq_seg *s);
/* Tests: called by each thread about to decode a new data segment; the
 * number of times a thread waited for another's decode so far. */
extern void (*pq__segment_hook)(void);
int64_t pq__inflight_waits(void);
/* pq_seg_release after reading a data segment up to file row `end`: one
 * read to its last row also takes it out of the cache (reads go forward,
 * so a scan needs it no more; its views keep it alive while held). */
void pq_seg_release_read(pq_reader *r, pq_seg *s, int64_t end);
/* The page locations of column col in row group rg (loaded on first use). */
pq_oindex *pq_get_oindex(pq_reader *r, int64_t col, int32_t rg);
/* Reads bytes [off, off + len) of the file into a new buffer (td_malloc). */
int pq_read_range(pq_reader *r, int64_t off, int64_t len, uint8_t **out, td_error *err);
void pq_cache_clear(pq_reader *r);
/* Prefetch for a scan of column col that reads in row group g: hints
 * (td_io_willneed) the column's chunks from row group g on, up to
 * PQ_HINT_BYTES past g's chunk, each chunk once, so that a file that is not
 * in the file cache streams in while pages are decoded. */
void pq_hint_ahead(pq_reader *r, int64_t col, int32_t g);

#endif
