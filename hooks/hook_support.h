// What every hook family shares: "am I in a coroutine", the FdCtx lookup,
// and the two waiting strategies.
//
// A hooked call on fd in a coroutine takes one of three paths:
//   pass through   - the user made fd non-blocking (EAGAIN must come back at
//                    once), or fd is a regular file (never blocks), or the
//                    call is not in a coroutine and fd is in blocking mode;
//   try, then wait - fd was created by a hooked call (socket, pipe, accept,
//                    dup): the runtime keeps it O_NONBLOCK, tries the call,
//                    and on EAGAIN parks the task until the reactor says
//                    ready (or SO_RCVTIMEO / SO_SNDTIMEO pass: EAGAIN);
//   wait, then call - any other fd (stdin, an eventfd the program made):
//                    its flags are not ours to change, so the task parks
//                    until the kernel says ready and then makes the call.
// Outside a coroutine, an fd the runtime switched to O_NONBLOCK still blocks
// the caller as the program asked: the hook waits with the kernel's poll.
#pragma once

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "coscope/detail/park.h"
#include "io/fd_ctx.h"
#include "io/io_sentry.h"
#include "io/signal_interrupt.h"
#include "originals.h"

namespace co {
namespace hooks {

using detail::FdCtx;

inline bool in_coroutine() noexcept {
  return detail::current_task() != nullptr;
}

inline void ensure_init() noexcept {
  if (__builtin_expect(read_f == nullptr, 0)) coroutine_hook_init();
}

/// Switches a managed fd to O_NONBLOCK (once) so the runtime can try calls.
/// Returns false if the kernel refused (the fd is then used as is).
inline bool make_sys_nonblocking(FdCtx* ctx) noexcept {
  if (ctx->sys_nonblocking || ctx->user_nonblocking) return true;
  int flags = fcntl_f(ctx->fd, F_GETFL);
  if (flags < 0) return false;
  if (!(flags & O_NONBLOCK) && fcntl_f(ctx->fd, F_SETFL, flags | O_NONBLOCK) != 0) return false;
  detail::fd_ctx_set_sys_nonblocking(ctx);  // and on its dups: they share the flag
  return true;
}

/// Deadline for a wait given a SO_*TIMEO value (0: none; negative: a zero
/// timeout, as Linux makes of a negative one: the deadline is now).
inline std::int64_t deadline_from(std::int64_t timeout_ns) noexcept {
  if (timeout_ns < 0) return detail::now_ns();
  return timeout_ns > 0 ? detail::now_ns() + timeout_ns : 0;
}

/// Waits until fd is ready for `events` or the deadline (0: none) passes.
/// In a coroutine the task parks; outside, the thread blocks in poll.
/// Returns 1 ready, 0 timed out, -1 with errno.
/// A caught signal gives EINTR as the kernel's read or write would: under
/// SA_RESTART the wait goes on, unless SO_RCVTIMEO / SO_SNDTIMEO bound it
/// (signal(7)). The kernel's poll knows nothing of SA_RESTART, so outside a
/// coroutine the signal counters tell.
inline int wait_ready(int fd, short events, std::int64_t deadline_ns) {
  const bool restartable = deadline_ns == 0;
  if (in_coroutine()) return detail::io_wait_fd(fd, events, deadline_ns, restartable);
  for (;;) {
    const detail::SignalMark signals = detail::signal_mark();
    int timeout_ms = -1;
    if (deadline_ns != 0) {
      std::int64_t left = deadline_ns - detail::now_ns();
      if (left <= 0) return 0;
      timeout_ms = static_cast<int>((left + 999'999) / 1'000'000);
    }
    pollfd pfd{fd, events, 0};
    int n = poll_f(&pfd, 1, timeout_ms);
    if (n < 0 && detail::thread_errno() == EINTR) {
      if (restartable && detail::signals_since(signals) == detail::SignalsSince::restart_only) {
        continue;
      }
      return -1;
    }
    if (n > 0 && (pfd.revents & POLLNVAL)) {
      detail::thread_errno() = EBADF;
      return -1;
    }
    if (n != 0 || deadline_ns == 0 || detail::now_ns() >= deadline_ns) return n;
  }
}

/// wait_ready after a try on the runtime's non-blocking fd failed with
/// EAGAIN, `edges` being ctx->EdgeCount(events) read before that try: in a
/// coroutine the reactor's edges stand in for asking the kernel again
/// (io_wait_fd_after_try); the caller's next try is the check.
inline int wait_ready_after_try(int fd, short events, std::int64_t deadline_ns,
                                std::uint32_t edges) {
  if (!in_coroutine()) return wait_ready(fd, events, deadline_ns);
  return detail::io_wait_fd_after_try(fd, events, deadline_ns, deadline_ns == 0, edges);
}

/// How a hooked call on `fd` proceeds (see the top of this file).
enum class Path { pass_through, try_then_wait, wait_then_call };

inline Path choose_path(int fd, FdCtx** out_ctx) noexcept {
  FdCtx* ctx = detail::fd_ctx_find(fd);
  *out_ctx = ctx;
  if (ctx != nullptr && ctx->managed) {
    if (ctx->user_nonblocking) return Path::pass_through;
    if (in_coroutine()) {
      return make_sys_nonblocking(ctx) ? Path::try_then_wait : Path::pass_through;
    }
    // Outside a coroutine the fd may already be O_NONBLOCK on our account.
    return ctx->sys_nonblocking ? Path::try_then_wait : Path::pass_through;
  }
  if (!in_coroutine()) return Path::pass_through;
  int flags = fcntl_f(fd, F_GETFL);
  if (flags < 0 || (flags & O_NONBLOCK)) return Path::pass_through;  // EBADF / user's choice
  return Path::wait_then_call;
}

/// A call that succeeds leaves errno as the caller had it, as the kernel's
/// does, even when the hook's tries and waits set errno on the way (EAGAIN
/// from a try on the runtime's non-blocking fd): `n` >= 0 after a wait puts
/// `entry_errno` back, on the thread the task returns on.
template <class T>
T kept_errno(T n, int entry_errno) noexcept {
  if (n >= 0) detail::thread_errno() = entry_errno;
  return n;
}

/// The wait-then-call path (see the top of this file): waits until fd is
/// ready for `events` or the deadline passes, then makes the call once. A
/// timeout gives -1/EAGAIN, as SO_RCVTIMEO / SO_SNDTIMEO do in the kernel.
template <class Op>
auto wait_then_call(int fd, short events, std::int64_t deadline_ns, int entry_errno, Op&& op)
    -> decltype(op()) {
  int r = wait_ready(fd, events, deadline_ns);
  if (r < 0) return -1;
  if (r == 0) {
    detail::thread_errno() = EAGAIN;
    return -1;
  }
  return kept_errno(op(), entry_errno);
}

/// Read-side core: runs `op` until it does not report EAGAIN, waiting for
/// POLLIN in between, within SO_RCVTIMEO. `asked`: the bytes a plain read
/// (read, readv, recv without flags) asks for, else 0. After such a read
/// came back short from a TCP socket, and while no readiness edge came
/// since, the next one waits for the edge without the try that would fail
/// with EAGAIN (FdCtx::drained_at).
template <class Op>
auto hooked_read(int fd, std::size_t asked, Op&& op) -> decltype(op()) {
  ensure_init();
  FdCtx* ctx = nullptr;
  Path path = choose_path(fd, &ctx);
  if (path == Path::pass_through) return op();
  const std::int64_t deadline = deadline_from(ctx != nullptr ? ctx->recv_timeout_ns : 0);
  const int entry_errno = errno;  // before any wait: this thread's, read directly
  if (path == Path::wait_then_call) return wait_then_call(fd, POLLIN, deadline, entry_errno, op);
  for (bool waited = false;; waited = true) {
    const std::uint32_t edges = ctx->EdgeCount(POLLIN);
    if (waited || asked == 0 || !ctx->KnownEmpty(edges) || !in_coroutine()) {
      auto n = op();
      if (n >= 0) {
        if (asked != 0) ctx->NoteRead(asked, static_cast<std::size_t>(n), edges);
        return waited ? kept_errno(n, entry_errno) : n;
      }
      if (detail::thread_errno() != EAGAIN && detail::thread_errno() != EWOULDBLOCK) return n;
    }
    int r = wait_ready_after_try(fd, POLLIN, deadline, edges);
    if (r < 0) return -1;
    if (r == 0) {
      detail::thread_errno() = EAGAIN;  // SO_RCVTIMEO passed, as the kernel reports it
      return -1;
    }
  }
}

/// hooked_read for every other read-side call (the try is always made).
template <class Op>
auto hooked_read(int fd, Op&& op) -> decltype(op()) {
  return hooked_read(fd, 0, std::forward<Op>(op));
}

/// recv* with MSG_WAITALL: on a blocking stream socket the kernel waits
/// until all `total` bytes came (or end of stream, an error, SO_RCVTIMEO),
/// but a try on the runtime's non-blocking fd returns what is there. So
/// `op(done)`, which reads into the part from byte `done` on, is repeated
/// until then; what was read before an error or timeout is returned.
template <class Op>
ssize_t hooked_read_all(int fd, std::size_t total, Op&& op) {
  ensure_init();
  FdCtx* ctx = nullptr;
  Path path = choose_path(fd, &ctx);
  if (path != Path::try_then_wait || !ctx->stream) {
    return hooked_read(fd, [&] { return op(std::size_t{0}); });
  }
  const std::int64_t deadline = deadline_from(ctx->recv_timeout_ns);
  const int entry_errno = errno;  // before any wait: this thread's, read directly
  std::size_t done = 0;
  for (;;) {
    const std::uint32_t edges = ctx->EdgeCount(POLLIN);
    ssize_t n = op(done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      if (done >= total) return kept_errno(static_cast<ssize_t>(done), entry_errno);
      continue;
    }
    if (n == 0) return kept_errno(static_cast<ssize_t>(done), entry_errno);  // end of stream
    if (detail::thread_errno() != EAGAIN && detail::thread_errno() != EWOULDBLOCK) {
      return done > 0 ? kept_errno(static_cast<ssize_t>(done), entry_errno) : -1;
    }
    int r = wait_ready_after_try(fd, POLLIN, deadline, edges);
    if (r <= 0) {
      if (done > 0) return kept_errno(static_cast<ssize_t>(done), entry_errno);
      if (r == 0) detail::thread_errno() = EAGAIN;
      return -1;
    }
  }
}

/// Write-side core for a call that sends `total` bytes: `op(done)` sends the
/// part from byte `done` on. On a blocking stream fd (socket, pipe) it loops
/// until everything is written, as the kernel's blocking write does; a
/// timeout (SO_SNDTIMEO) or an error after some bytes returns the count so
/// far, before any byte it returns -1 with errno (EAGAIN on timeout).
template <class Op>
ssize_t hooked_write(int fd, std::size_t total, Op&& op) {
  ensure_init();
  FdCtx* ctx = nullptr;
  Path path = choose_path(fd, &ctx);
  if (path == Path::pass_through) return op(std::size_t{0});
  const std::int64_t deadline = deadline_from(ctx != nullptr ? ctx->send_timeout_ns : 0);
  const int entry_errno = errno;  // before any wait: this thread's, read directly
  if (path == Path::wait_then_call) {
    return wait_then_call(fd, POLLOUT, deadline, entry_errno, [&] { return op(std::size_t{0}); });
  }
  const bool loop = ctx->stream;
  std::size_t done = 0;
  for (;;) {
    const std::uint32_t edges = ctx->EdgeCount(POLLOUT);
    ssize_t n = op(done);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      if (!loop || done >= total) return kept_errno(static_cast<ssize_t>(done), entry_errno);
      continue;
    }
    if (detail::thread_errno() != EAGAIN && detail::thread_errno() != EWOULDBLOCK) {
      return done > 0 ? kept_errno(static_cast<ssize_t>(done), entry_errno) : -1;
    }
    int r = wait_ready_after_try(fd, POLLOUT, deadline, edges);
    if (r <= 0) {
      if (done > 0) return kept_errno(static_cast<ssize_t>(done), entry_errno);
      if (r == 0) detail::thread_errno() = EAGAIN;
      return -1;
    }
  }
}

}  // namespace hooks
}  // namespace co
