/* dlsym_calls_dlsym.c: the article's first limitation, "beware of functions
 * that themselves call dlsym()". This dlsym hook finds the real dlsym the
 * right way (dlvsym), but it logs through a helper that looks up an optional
 * log sink with dlsym - which is this hook again:
 *
 *   LD_PRELOAD=$PWD/libdlsym_calls_dlsym.so ./dl_prog1 $PWD/libfile.so  ->  Segmentation fault */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

typedef void* (*dlsym_fn)(void*, const char*);
typedef void (*log_sink_fn)(const char*);

/* A program may define hook_log_sink() to receive the log; else stdout. */
static void log_lookup(const char* symbol) {
  log_sink_fn sink = (log_sink_fn)dlsym(RTLD_DEFAULT, "hook_log_sink"); /* re-enters the hook */
  if (sink)
    sink(symbol);
  else
    printf("dlsym(\"%s\") hooked\n", symbol);
}

void* dlsym(void* handle, const char* symbol) {
  static dlsym_fn real_dlsym;
  if (!real_dlsym) real_dlsym = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
  log_lookup(symbol);
  return real_dlsym(handle, symbol);
}
