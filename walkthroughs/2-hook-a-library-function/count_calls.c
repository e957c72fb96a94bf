/* count_calls.c: a preloaded library that announces every write(), open()
 * and malloc() that reaches it, with the real write(2) (never through stdio,
 * which would allocate and write itself). internal_calls.c shows which of
 * glibc's own calls get here. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef int (*open_fn)(const char*, int, ...);
typedef void* (*malloc_fn)(size_t);

static write_fn real_write;

static void announce(const char* format, ...) {
  char line[128];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (!real_write) real_write = (write_fn)dlsym(RTLD_NEXT, "write");
  if (real_write(STDOUT_FILENO, line, n) < 0) { /* nothing to do: this is only a trace */
  }
}

ssize_t write(int fd, const void* buf, size_t count) {
  announce("    [hook] write(%d, ..., %zu)\n", fd, count);
  return real_write(fd, buf, count);
}

int open(const char* path, int flags, ...) {
  static open_fn real_open;
  if (!real_open) real_open = (open_fn)dlsym(RTLD_NEXT, "open");
  mode_t mode = 0;
  if (flags & O_CREAT) {
    va_list args;
    va_start(args, flags);
    mode = va_arg(args, int);
    va_end(args);
  }
  announce("    [hook] open(\"%s\")\n", path);
  return real_open(path, flags, mode);
}

void* malloc(size_t size) {
  static malloc_fn real_malloc;
  if (!real_malloc) real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
  announce("    [hook] malloc(%zu)\n", size);
  return real_malloc(size);
}
