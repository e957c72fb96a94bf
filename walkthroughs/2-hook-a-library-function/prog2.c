/* prog2.c, the article's malloc hook (the notes' hook.c), as the notes ran it;
 * only %d became %zu for the size_t argument.
 *
 *   LD_PRELOAD=$PWD/libprog2.so ./prog1      ->  Segmentation fault
 *
 * It crashes before printing anything: prog1's first printf asks malloc for
 * stdout's buffer, which lands here; here printf("inside shared object...")
 * needs that same buffer, still missing, so it calls malloc again, which
 * lands here again... until the stack runs out. Step 2 shows the recursion
 * in gdb; prog2_fixed.c is the hook that works. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
void* malloc(size_t size) {
  static void* (*my_malloc)(size_t) = NULL;
  printf("inside shared object...\n");
  if (!my_malloc)
    my_malloc = dlsym(RTLD_NEXT, "malloc"); /* returns the object reference for malloc */
  void* p = my_malloc(size);                /* call malloc() using function pointer my_malloc */
  printf("malloc(%zu) = %p\n", size, p);
  printf("returning from shared object...\n");
  return p;
}
