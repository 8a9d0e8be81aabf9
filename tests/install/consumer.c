/* A downstream program built against an installed tabledata. */
#include <stdio.h>
#include <tabledata.h>

int main(void) {
  td_memory_backend *mb;
  td_error err;
  if (td_memory_backend_new(&mb, &err) != TD_OK) return 1;
  td_service *svc;
  if (td_service_new(td_memory_backend_backend(mb), NULL, &svc, &err) != TD_OK) return 1;
  printf("tabledata %s ok\n", TD_VERSION_STRING);
  td_service_free(svc);
  td_memory_backend_release(mb);
  return 0;
}
