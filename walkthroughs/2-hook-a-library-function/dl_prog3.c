/* dl_prog3.c, the article's dlsym hook through glibc's __libc_dlsym, as the
 * notes give it. It compiles, and links as a shared library (undefined
 * symbols are allowed there), but glibc 2.34 and later no longer export
 * __libc_dlsym to programs:
 *
 *   LD_PRELOAD=$PWD/libdl_prog3.so ./dl_prog1 $PWD/libfile.so
 *   ./dl_prog1: symbol lookup error: .../libdl_prog3.so: undefined symbol: __libc_dlsym
 *
 * dl_prog3_today.c is a way that works now. */
#define __USE_GNU
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

extern void* __libc_dlsym(void*, const char*);
void* dlsym(void* handle, const char* symbol) {
  printf("Ha Ha...dlsym() Hooked\n");
  void* result = __libc_dlsym(handle, symbol); /* now, this will call dlsym() library function */
  return result;
}
