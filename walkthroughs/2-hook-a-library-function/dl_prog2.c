/* dl_prog2.c, the notes' first try at hooking dlsym() itself:
 *
 *   LD_PRELOAD=$PWD/libdl_prog2.so ./dl_prog1 $PWD/libfile.so  ->  Segmentation fault
 *
 * Inside this dlsym, the name dlsym means this very function again (the
 * preloaded library comes first in the lookup order), so the call meant for
 * libc's dlsym recurses until the stack overflows. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

void* dlsym(void* handle, const char* name) {
  void* (*dlsym_fn)(void*, const char*) = NULL;
  printf("inside shared object::before dlsym()...\n");
  dlsym_fn = dlsym(RTLD_NEXT, "dlsym"); /* this will call itself again and again */
  printf("inside shared object::after dlsym()...\n");
  return (*dlsym_fn)(handle, name);
}
