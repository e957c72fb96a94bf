/* prog2_fixed.c, the malloc hook that works.
 *
 *   LD_PRELOAD=$PWD/libprog2_fixed.so ./prog1
 *
 * The rule it follows: a malloc hook must not call anything that allocates,
 * and stdio allocates (each stream's buffer, on first use). So the line is
 * formatted into a buffer on the stack and written with write(2) itself. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
void* malloc(size_t size) {
  static void* (*real_malloc)(size_t);
  if (!real_malloc) real_malloc = (void* (*)(size_t))dlsym(RTLD_NEXT, "malloc");
  void* p = real_malloc(size);
  char line[64];
  int n = snprintf(line, sizeof line, "malloc(%zu) = %p\n", size, p);
  if (write(STDOUT_FILENO, line, n) < 0) { /* nothing to do: this is only a trace */
  }
  return p;
}
