/* dl_prog1.c, the notes' dlopen()/dlsym() program. The notes open
 * libfile.so by an absolute path written into the source; here the path is
 * the first argument.
 *
 *   ./dl_prog1 $PWD/libfile.so      ->  The value of x is 100 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

void file1(int* i);
void file2(int* i);
int main(int argc, char** argv) {
  void* handler;
  int (*fn)(int*);
  int x;
  char* error;
  handler = dlopen(argc > 1 ? argv[1] : "libfile.so", RTLD_LAZY);
  if (!handler) {
    fprintf(stderr, "%s\n", dlerror());
    exit(1);
  }
  fn = dlsym(handler, "file1");      /* getting the handle of file1 through dlsym() */
  if ((error = dlerror()) != NULL) { /* checking error through dlerror() */
    fprintf(stderr, "%s\n", error);
    exit(1);
  }
  (*fn)(&x); /* Calling file1() to resolve x */
  printf("The value of x is %d\n", x);
  dlclose(handler); /* closing the file handle */
  return 0;
}
