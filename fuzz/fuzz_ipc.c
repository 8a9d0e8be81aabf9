/*
 * fuzz/fuzz_ipc.c - libFuzzer target for the Arrow IPC reader: the input
 * goes into a memfd opened through /proc/self/fd, every readable column is
 * read fully (in chunks), then the reader is refreshed.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "formats/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz_ipc", 0);
  if (fd < 0) return 0;
  if (size && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  td_file_reader *r = NULL;
  td_error err;
  if (td_ipc_open(path, &r, &err) == TD_OK) {
    for (int64_t c = 0; c < r->schema.n_fields; c++) {
      for (int64_t off = 0; off < r->num_rows; off += 4096) {
        int64_t n = r->num_rows - off < 4096 ? r->num_rows - off : 4096;
        struct ArrowArray a;
        if (td_reader_read(r, c, off, n, &a, &err) != TD_OK) break;
        a.release(&a);
      }
    }
    r->vt->refresh(r, &err);
    td_reader_close(r);
  }
  close(fd);
  return 0;
}
