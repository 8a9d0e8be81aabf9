/*
 * fuzz/fuzz_csv.c - libFuzzer target for the CSV reader: the input becomes a
 * memfd, opened by path with td_csv_open; every column is read in full
 * (and again as a late slice), then the file is refreshed.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arrow/array.h"
#include "formats/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(td_file_reader *r) {
  for (int64_t c = 0; c < r->schema.n_fields; c++) {
    struct ArrowArray a;
    if (td_reader_read(r, c, 0, r->num_rows, &a, NULL) == TD_OK) td_arrow_array_release(&a);
    if (r->num_rows > 1 &&
        td_reader_read(r, c, r->num_rows / 2, r->num_rows - r->num_rows / 2, &a, NULL) == TD_OK)
      td_arrow_array_release(&a);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz_csv", 0);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) break;
    done += (size_t)w;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  td_file_reader *r = NULL;
  td_csv_options opts = {.sample_rows = 3};
  if (td_csv_open(path, (size & 1) ? &opts : NULL, &r, NULL) == TD_OK) {
    read_all(r);
    if (r->vt->refresh(r, NULL) == TD_OK) read_all(r);
    td_reader_close(r);
  }
  close(fd);
  return 0;
}
