// Raw system calls for the runtime's own needs.
//
// The runtime never calls a name that the hooks interpose (read, write,
// epoll_wait, ...): it goes to the kernel directly, so its internals never
// re-enter a hook and never depend on the hooks' originals table.
#pragma once

#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

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

}  // namespace sys
}  // namespace detail
}  // namespace co
