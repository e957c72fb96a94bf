// The FILE life cycle where it touches the fd table: fdopen and fclose.
//
// A FILE reads, writes and closes its fd through glibc's internal calls
// (__read, __write, __close), which no hook sees. So:
//   - fclose closes the fd without the close hook: the fd's FdCtx would
//     outlive it, and the next fd to get that number (an eventfd, a file)
//     would be taken for the runtime's non-blocking socket. The hook closes
//     through fd_ctx_close, which resets the context and wakes every task
//     waiting on the fd, as close does;
//   - fdopen hands the fd to stdio, whose internal reads and writes must
//     block as the program asked, not fail with EAGAIN on the runtime's
//     O_NONBLOCK: the hook gives the fd back its blocking mode and the
//     runtime stops managing it (hooked calls on it then take the "wait,
//     then call" path of an fd the runtime did not create).
#include <fcntl.h>
#include <stdio.h>

#include <cerrno>

#include "hook_families.h"
#include "hook_support.h"

namespace {

using co::detail::FdCtx;
using co::hooks::ensure_init;

// The FILE the calling thread's fclose is closing: fd_ctx_close calls its
// close function with the fd only, on this thread, under the fd's lock.
thread_local FILE* t_closing = nullptr;

int close_the_file(int) {
  return fclose_f(t_closing);
}

}  // namespace

extern "C" {

FILE* fdopen(int fd, const char* mode) {
  ensure_init();
  FILE* file = fdopen_f(fd, mode);
  FdCtx* ctx = file != nullptr ? co::detail::fd_ctx_find(fd) : nullptr;
  if (ctx != nullptr && ctx->managed) {
    if (ctx->sys_nonblocking && !ctx->user_nonblocking) {
      const int flags = fcntl_f(fd, F_GETFL);
      if (flags >= 0) fcntl_f(fd, F_SETFL, flags & ~O_NONBLOCK);
    }
    co::detail::fd_ctx_set_unmanaged(ctx);
  }
  return file;
}

int fclose(FILE* file) {
  ensure_init();
  const int entry_errno = errno;
  const int fd = file != nullptr ? fileno(file) : -1;  // -1 (EBADF) for fmemopen's
  errno = entry_errno;
  if (fd < 0 || co::detail::fd_ctx_find(fd) == nullptr) return fclose_f(file);
  t_closing = file;
  return co::detail::fd_ctx_close(fd, close_the_file);
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(stdio);  // see hook_families.h
