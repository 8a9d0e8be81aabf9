/*
 * fuzz/fuzz_parquet.c - libFuzzer target for the Parquet reader: the input
 * becomes a memfd file that is opened and read completely, column by column,
 * then a few single rows of each column (narrow reads).
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arrow/array.h"
#include "formats/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int write_all(int fd, const uint8_t *data, size_t size) {
  while (size) {
    ssize_t n = write(fd, data, size);
    if (n <= 0) return -1;
    data += n;
    size -= (size_t)n;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz_parquet", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write_all(fd, data, size) != 0) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  td_file_reader *r = NULL;
  if (td_parquet_open(path, &r, NULL) == TD_OK) {
    for (int64_t c = 0; c < r->schema.n_fields; c++) {
      for (int64_t off = 0; off < r->num_rows; off += 65536) {
        int64_t n = r->num_rows - off < 65536 ? r->num_rows - off : 65536;
        struct ArrowArray a;
        if (td_reader_read(r, c, off, n, &a, NULL) != TD_OK) break;
        if (td_array_validate(r->schema.fields[c].type, &a, NULL) != TD_OK) __builtin_trap();
        a.release(&a);
      }
      /* then a few single rows, backwards (narrow reads: pages decoded only up to them) */
      for (int k = 1; k <= 3 && r->num_rows > 0; k++) {
        struct ArrowArray a;
        if (td_reader_read(r, c, (r->num_rows - 1) / k, 1, &a, NULL) != TD_OK) break;
        if (td_array_validate(r->schema.fields[c].type, &a, NULL) != TD_OK) __builtin_trap();
        a.release(&a);
      }
      int64_t ns;
      if (r->vt->column_stats) r->vt->column_stats(r, c, &ns);
    }
    td_reader_close(r);
  }
  close(fd);
  return 0;
}
