// Raw system calls for the runtime's own needs.
//
// The runtime never calls a name that the hooks interpose (read, write,
// epoll_wait, ...): it goes to the kernel directly, so its internals never
// re-enter a hook and never depend on the hooks' originals table.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

// glibc exports sigaction also as __sigaction (GLIBC_2.2.5), undeclared.
extern "C" int __sigaction(int, const struct sigaction*, struct sigaction*);

namespace co {
namespace detail {
namespace sys {

inline long read(int fd, void* buf, std::size_t n) noexcept {
  return ::syscall(SYS_read, fd, buf, n);
}
inline long write(int fd, const void* buf, std::size_t n) noexcept {
  return ::syscall(SYS_write, fd, buf, n);
}
inline int close(int fd) noexcept {
  return static_cast<int>(::syscall(SYS_close, fd));
}
inline int poll(pollfd* fds, nfds_t nfds, int timeout_ms) noexcept {
  return static_cast<int>(::syscall(SYS_poll, fds, nfds, timeout_ms));
}
inline int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) noexcept {
  return static_cast<int>(::syscall(SYS_epoll_pwait, epfd, events, max, timeout_ms, nullptr, 8));
}
/// epoll_pwait2 (Linux 5.11): the timeout in nanoseconds, where epoll_wait
/// rounds it up to whole milliseconds. Fails with ENOSYS on older kernels.
inline int epoll_pwait2(int epfd, epoll_event* events, int max, const timespec* timeout) noexcept {
#if defined(SYS_epoll_pwait2)
  return static_cast<int>(::syscall(SYS_epoll_pwait2, epfd, events, max, timeout, nullptr, 8));
#else
  (void)epfd, (void)events, (void)max, (void)timeout;
  errno = ENOSYS;
  return -1;
#endif
}

/// glibc's sigaction under its other public name, which the hooks leave
/// alone: the runtime's own handler (stack overflow) is installed as is, not
/// wrapped as a program's handler is (signal_hooks.cpp).
inline int set_action(int signo, const struct sigaction* act, struct sigaction* old) noexcept {
  return ::__sigaction(signo, act, old);
}
/// Puts the default action back for `signo` (signal(signo, SIG_DFL)).
inline void restore_default_action(int signo) noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  set_action(signo, &dfl, nullptr);
}

}  // namespace sys
}  // namespace detail
}  // namespace co
