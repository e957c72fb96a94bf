// fd life cycle and sockets: socket, socketpair, pipe, pipe2, accept,
// accept4, connect, close, dup, dup2, dup3, fcntl, fcntl64, ioctl(FIONBIO),
// setsockopt / getsockopt (SO_RCVTIMEO, SO_SNDTIMEO).
//
// Creating hooks record an FdCtx for the new fd (is it a socket, did the
// user ask for O_NONBLOCK); close wakes every task waiting on the fd. The
// runtime's own O_NONBLOCK (set on a managed fd at its first use in a
// coroutine) is invisible: F_GETFL hides it, F_SETFL and FIONBIO keep it.
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>

#include "hook_families.h"
#include "hook_probes.h"
#include "hook_support.h"

namespace {

using co::detail::FdCtx;
using co::hooks::ensure_init;

bool is_stream_type(int type) {
  return (type & 0xf) == SOCK_STREAM;
}

bool is_tcp(int domain, int type, int protocol) {
  return (domain == AF_INET || domain == AF_INET6) && is_stream_type(type) &&
         (protocol == 0 || protocol == IPPROTO_TCP);
}

int socket_type_of(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  return getsockopt_f(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ? type : 0;
}

std::int64_t timeval_ns(const void* value, socklen_t len) {
  if (value == nullptr || len < sizeof(struct timeval)) return 0;
  const auto* tv = static_cast<const struct timeval*>(value);
  // Negative: Linux makes it a zero timeout (EAGAIN at once), kept negative
  // here for deadline_from(); too large for int64 ns: no timeout at all.
  if (tv->tv_sec < 0) return -1;
  if (tv->tv_sec >= INT64_MAX / 1'000'000'000 - 1) return 0;
  return static_cast<std::int64_t>(tv->tv_sec) * 1'000'000'000 +
         static_cast<std::int64_t>(tv->tv_usec) * 1000;
}

int accept_common(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  ensure_init();
  int conn = co::hooks::hooked_read(fd, [&] { return accept4_f(fd, addr, len, flags); });
  if (conn >= 0) {
    const co::detail::FdCtx* listener = co::detail::fd_ctx_find(fd);
    co::detail::fd_ctx_on_open(conn, {.is_socket = true,
                                      .stream = is_stream_type(socket_type_of(conn)),
                                      .tcp = listener != nullptr && listener->tcp,
                                      .user_nonblocking = (flags & SOCK_NONBLOCK) != 0});
  }
  return conn;
}

// True unless reading an int at `p` would fault (then the kernel's ioctl
// gives EFAULT itself). FUTEX_WAIT reads the word and, with a zero timeout,
// returns at once whatever it holds; errno is left as it was.
bool readable_int(const void* p) {
  const int saved_errno = errno;
  const struct timespec zero {};
  const bool fault =
      ::syscall(SYS_futex, p, FUTEX_WAIT_PRIVATE, 0u, &zero, nullptr, 0) < 0 && errno == EFAULT;
  errno = saved_errno;
  return !fault;
}

// Waits, without holding the thread, until `until` (now_ns() time) or a
// caught signal: 0 when the time passed, -1/EINTR for a signal.
int pause_until(std::int64_t until) {
  if (co::hooks::in_coroutine()) return co::detail::io_poll_until(nullptr, 0, until, false);
  std::int64_t left = until - co::detail::now_ns();
  return left > 0 ? poll_f(nullptr, 0, static_cast<int>((left + 999'999) / 1'000'000)) : 0;
}

// AF_UNIX: a non-blocking connect to a listener whose backlog is full fails
// with EAGAIN at once; a blocking one waits for room, up to SO_SNDTIMEO (then
// EAGAIN), unix(7). Nothing on the fd says when the listener accepts, so the
// hook tries again after growing pauses (1 ms doubling to 32 ms), parked in
// between. A signal ends the wait with EINTR, unless every handler that ran
// has SA_RESTART and no SO_SNDTIMEO bounds the wait (signal(7)).
int connect_when_backlog_has_room(int fd, const struct sockaddr* addr, socklen_t len,
                                  std::int64_t deadline_ns) {
  std::int64_t pause_ns = 1'000'000;
  co::detail::SignalMark signals = co::detail::signal_mark();
  for (;;) {
    const std::int64_t now = co::detail::now_ns();
    if (deadline_ns != 0 && now >= deadline_ns) {
      co::detail::thread_errno() = EAGAIN;
      return -1;
    }
    std::int64_t until = now + pause_ns;
    if (deadline_ns != 0 && until > deadline_ns) until = deadline_ns;
    if (pause_until(until) < 0) {
      if (co::detail::thread_errno() != EINTR ||
          co::detail::signal_interrupts(signals, deadline_ns == 0))
        return -1;
      signals = co::detail::signal_mark();  // restarted, as the kernel would
    }
    int r = connect_f(fd, addr, len);
    if (r == 0 || co::detail::thread_errno() != EAGAIN) return r;
    if (pause_ns < 32'000'000) pause_ns *= 2;
  }
}

// The notes' walk through libgo's connect, step by step:
//   not a managed blocking socket     -> the original, as is;
//   connect_f on the non-blocking fd  -> done at once (success or failure),
//                                        or EINPROGRESS;
//   EINPROGRESS                       -> wait for POLLOUT (the task parks in
//                                        io_poll; SO_SNDTIMEO bounds it, as
//                                        in the kernel: EINPROGRESS on expiry);
//   writable                          -> SO_ERROR says how it ended;
//   EAGAIN on AF_UNIX (backlog full)  -> try again until there is room.
int connect_body(int fd, const struct sockaddr* addr, socklen_t len) {
  ensure_init();
  FdCtx* ctx = nullptr;
  co::hooks::Path path = co::hooks::choose_path(fd, &ctx);
  if (path != co::hooks::Path::try_then_wait) return connect_f(fd, addr, len);
  const int entry_errno = errno;
  int r = connect_f(fd, addr, len);
  // After a failure learnt through SO_ERROR the socket still says
  // "connecting" and the next try reports ECONNABORTED while resetting it;
  // the kernel's blocking connect would have reset it at once: try again.
  if (r != 0 && errno == ECONNABORTED) r = connect_f(fd, addr, len);
  if (r != 0 && errno == EAGAIN && addr->sa_family == AF_UNIX) {
    return connect_when_backlog_has_room(fd, addr, len,
                                         co::hooks::deadline_from(ctx->send_timeout_ns));
  }
  if (r == 0 || errno != EINPROGRESS) return r;
  int ready = co::hooks::wait_ready(fd, POLLOUT, co::hooks::deadline_from(ctx->send_timeout_ns));
  if (ready < 0) return -1;
  if (ready == 0) {
    co::detail::thread_errno() = EINPROGRESS;
    return -1;
  }
  int err = 0;
  socklen_t err_len = sizeof err;
  if (getsockopt_f(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) return -1;
  if (err != 0) {
    co::detail::thread_errno() = err;
    return -1;
  }
  co::detail::thread_errno() = entry_errno;  // a successful connect leaves errno alone
  return 0;
}

// fcntl and fcntl64: F_GETFL hides the runtime's O_NONBLOCK, F_SETFL records
// the program's choice and keeps ours, F_DUPFD* records the new fd.
int fcntl_body(int fd, int cmd, void* arg) {
  ensure_init();
  const auto int_arg = static_cast<int>(reinterpret_cast<std::intptr_t>(arg));
  FdCtx* ctx = co::detail::fd_ctx_find(fd);
  switch (cmd) {
    case F_GETFL: {
      int flags = fcntl_f(fd, F_GETFL);
      if (flags >= 0 && ctx != nullptr && ctx->sys_nonblocking && !ctx->user_nonblocking) {
        flags &= ~O_NONBLOCK;
      }
      return flags;
    }
    case F_SETFL: {
      int flags = int_arg;
      if (ctx != nullptr && ctx->sys_nonblocking) flags |= O_NONBLOCK;
      int r = fcntl_f(fd, F_SETFL, flags);
      // O_NONBLOCK is a flag of the open file description: dups see it too.
      if (r == 0 && ctx != nullptr) {
        co::detail::fd_ctx_set_user_nonblocking(ctx, (int_arg & O_NONBLOCK) != 0);
      }
      return r;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      int nfd = fcntl_f(fd, cmd, int_arg);
      if (nfd >= 0) co::detail::fd_ctx_on_dup(fd, nfd);
      return nfd;
    }
    default:
      return fcntl_f(fd, cmd, arg);
  }
}

int dup2_body(int oldfd, int newfd) {
  ensure_init();
  if (oldfd == newfd) return dup2_f(oldfd, newfd);
  // newfd, if open, is closed by the kernel: its waiters must hear of it.
  if (fcntl_f(oldfd, F_GETFD) >= 0) co::detail::fd_ctx_close(newfd, [](int) { return 0; });
  int fd = dup2_f(oldfd, newfd);
  if (fd >= 0) co::detail::fd_ctx_on_dup(oldfd, fd);
  return fd;
}

int dup3_body(int oldfd, int newfd, int flags) {
  ensure_init();
  // EINVAL from the kernel, which then leaves newfd open: so must we.
  if (oldfd == newfd || (flags & ~O_CLOEXEC) != 0) return dup3_f(oldfd, newfd, flags);
  if (fcntl_f(oldfd, F_GETFD) >= 0) co::detail::fd_ctx_close(newfd, [](int) { return 0; });
  int fd = dup3_f(oldfd, newfd, flags);
  if (fd >= 0) co::detail::fd_ctx_on_dup(oldfd, fd);
  return fd;
}

// ioctl: FIONBIO records the program's choice and keeps the runtime's
// O_NONBLOCK; every other request goes to the original.
int ioctl_body(int fd, unsigned long request, void* arg) {
  ensure_init();
  if (request == FIONBIO && arg != nullptr && readable_int(arg)) {
    FdCtx* ctx = co::detail::fd_ctx_find(fd);
    if (ctx != nullptr && ctx->sys_nonblocking) {
      int on = 1;  // the runtime keeps the fd non-blocking underneath
      int r = ioctl_f(fd, FIONBIO, &on);
      if (r == 0) co::detail::fd_ctx_set_user_nonblocking(ctx, *static_cast<int*>(arg) != 0);
      return r;
    }
    int r = ioctl_f(fd, FIONBIO, arg);
    if (r == 0 && ctx != nullptr) {
      co::detail::fd_ctx_set_user_nonblocking(ctx, *static_cast<int*>(arg) != 0);
    }
    return r;
  }
  return ioctl_f(fd, request, arg);
}

// The fd-creating and option hooks' work; each exported hook below wraps
// its body in its entry and exit probes (COSCOPE_HOOK, hook_probes.h).

int socket_body(int domain, int type, int protocol) {
  ensure_init();
  int fd = socket_f(domain, type, protocol);
  if (fd >= 0) {
    co::detail::fd_ctx_on_open(fd, {.is_socket = true,
                                    .stream = is_stream_type(type),
                                    .tcp = is_tcp(domain, type, protocol),
                                    .user_nonblocking = (type & SOCK_NONBLOCK) != 0});
  }
  return fd;
}

int socketpair_body(int domain, int type, int protocol, int sv[2]) {
  ensure_init();
  int r = socketpair_f(domain, type, protocol, sv);
  if (r == 0) {
    for (int i = 0; i < 2; ++i) {
      co::detail::fd_ctx_on_open(sv[i], {.is_socket = true,
                                         .stream = is_stream_type(type),
                                         .user_nonblocking = (type & SOCK_NONBLOCK) != 0});
    }
  }
  return r;
}

int pipe2_body(int fds[2], int flags) {
  ensure_init();
  int r = pipe2_f(fds, flags);
  if (r == 0) {
    for (int i = 0; i < 2; ++i) {
      co::detail::fd_ctx_on_open(fds[i],
                                 {.stream = true, .user_nonblocking = (flags & O_NONBLOCK) != 0});
    }
  }
  return r;
}

int pipe_body(int fds[2]) {
  ensure_init();
  int r = pipe_f(fds);
  if (r == 0) {
    for (int i = 0; i < 2; ++i) co::detail::fd_ctx_on_open(fds[i], {.stream = true});
  }
  return r;
}

int close_body(int fd) {
  ensure_init();
  return co::detail::fd_ctx_close(fd, close_f);
}

int dup_body(int oldfd) {
  ensure_init();
  int fd = dup_f(oldfd);
  if (fd >= 0) co::detail::fd_ctx_on_dup(oldfd, fd);
  return fd;
}

int setsockopt_body(int fd, int level, int name, const void* value, socklen_t len) {
  ensure_init();
  int r = setsockopt_f(fd, level, name, value, len);
  if (r == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
    FdCtx* ctx = co::detail::fd_ctx_get_or_create(fd);
    if (ctx != nullptr) {
      if (name == SO_RCVTIMEO) {
        ctx->recv_timeout_ns = timeval_ns(value, len);
      } else {
        ctx->send_timeout_ns = timeval_ns(value, len);
      }
    }
  }
  return r;
}

int getsockopt_body(int fd, int level, int name, void* value, socklen_t* len) {
  ensure_init();
  return getsockopt_f(fd, level, name, value, len);
}

}  // namespace

extern "C" {

int socket(int domain, int type, int protocol) {
  COSCOPE_HOOK(socket, domain, socket_body(domain, type, protocol));
}

int socketpair(int domain, int type, int protocol, int sv[2]) {
  COSCOPE_HOOK(socketpair, domain, socketpair_body(domain, type, protocol, sv));
}

int pipe2(int fds[2], int flags) {
  COSCOPE_HOOK_NO_SUBJECT(pipe2, pipe2_body(fds, flags));
}

int pipe(int fds[2]) {
  COSCOPE_HOOK_NO_SUBJECT(pipe, pipe_body(fds));
}

int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  COSCOPE_HOOK(accept, fd, accept_common(fd, addr, len, 0));
}

int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  COSCOPE_HOOK(accept4, fd, accept_common(fd, addr, len, flags));
}

int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  COSCOPE_HOOK(connect, fd, connect_body(fd, addr, len));
}

int close(int fd) {
  COSCOPE_HOOK(close, fd, close_body(fd));
}

int dup(int oldfd) {
  COSCOPE_HOOK(dup, oldfd, dup_body(oldfd));
}

int dup2(int oldfd, int newfd) {
  COSCOPE_HOOK(dup2, oldfd, dup2_body(oldfd, newfd));
}

int dup3(int oldfd, int newfd, int flags) {
  COSCOPE_HOOK(dup3, oldfd, dup3_body(oldfd, newfd, flags));
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  COSCOPE_HOOK(fcntl, fd, fcntl_body(fd, cmd, arg));
}

// What fcntl becomes in a program built with -D_FILE_OFFSET_BITS=64 (glibc
// 2.28 and later). On a 64-bit target the two are one function in glibc: the
// same body, the same original.
int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  COSCOPE_HOOK(fcntl64, fd, fcntl_body(fd, cmd, arg));
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  COSCOPE_HOOK(ioctl, fd, ioctl_body(fd, request, arg));
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  COSCOPE_HOOK(setsockopt, fd, setsockopt_body(fd, level, name, value, len));
}

int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  COSCOPE_HOOK(getsockopt, fd, getsockopt_body(fd, level, name, value, len));
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(fd);  // see hook_families.h
