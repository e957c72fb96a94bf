/* dl_prog3_today.c: interposing dlsym() on today's glibc.
 *
 *   LD_PRELOAD=$PWD/libdl_prog3_today.so ./dl_prog1 $PWD/libfile.so
 *
 * The real dlsym is found with dlvsym(), a different function, which this
 * library does not replace: no recursion. dlvsym asks for a symbol of a given
 * version; glibc 2.34 moved dlsym into libc as dlsym@@GLIBC_2.34 (older
 * glibc has only dlsym@GLIBC_2.2.5, in libdl), so both are tried. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

typedef void* (*dlsym_fn)(void*, const char*);

void* dlsym(void* handle, const char* symbol) {
  static dlsym_fn real_dlsym;
  if (!real_dlsym) {
    real_dlsym = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (!real_dlsym) real_dlsym = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
  }
  printf("Ha Ha...dlsym() Hooked (looking up \"%s\")\n", symbol);
  return real_dlsym(handle, symbol);
}
