// poll, ppoll, select, epoll_wait: all of them wait through io_poll (the
// role of libgo's libgo_poll), so a task parks instead of its thread.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <cerrno>
#include <vector>

#include "hook_families.h"
#include "hook_support.h"

namespace {

using co::hooks::ensure_init;
using co::hooks::in_coroutine;

int timespec_to_ms(const struct timespec* ts) {
  if (ts == nullptr) return -1;
  long long ms = static_cast<long long>(ts->tv_sec) * 1000 + (ts->tv_nsec + 999'999) / 1'000'000;
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

}  // namespace

extern "C" {

int poll(struct pollfd* fds, nfds_t nfds, int timeout) {
  ensure_init();
  if (!in_coroutine() || timeout == 0) return poll_f(fds, nfds, timeout);
  return co::detail::io_poll(fds, nfds, timeout, /*nonblocking_check=*/true);
}

// The signal mask cannot be swapped atomically around a task's wait; inside
// a coroutine ppoll waits like poll (see docs/hooks.md).
int ppoll(struct pollfd* fds, nfds_t nfds, const struct timespec* tmo, const sigset_t* sigmask) {
  ensure_init();
  if (!in_coroutine()) return ppoll_f(fds, nfds, tmo, sigmask);
  if (tmo != nullptr && (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || tmo->tv_nsec >= 1'000'000'000)) {
    errno = EINVAL;
    return -1;
  }
  int timeout = timespec_to_ms(tmo);
  if (timeout == 0) return ppoll_f(fds, nfds, tmo, sigmask);
  return co::detail::io_poll(fds, nfds, timeout, true);
}

int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
           struct timeval* timeout) {
  ensure_init();
  if (!in_coroutine()) return select_f(nfds, readfds, writefds, exceptfds, timeout);
  if (nfds < 0 || nfds > FD_SETSIZE ||
      (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_usec < 0))) {
    errno = EINVAL;
    return -1;
  }
  int timeout_ms = -1;
  if (timeout != nullptr) {
    long long ms = static_cast<long long>(timeout->tv_sec) * 1000 + (timeout->tv_usec + 999) / 1000;
    timeout_ms = ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
  }
  if (timeout_ms == 0) return select_f(nfds, readfds, writefds, exceptfds, timeout);
  std::vector<struct pollfd> pfds;
  for (int fd = 0; fd < nfds; ++fd) {
    short events = 0;
    if (readfds != nullptr && FD_ISSET(fd, readfds)) events |= POLLIN;
    if (writefds != nullptr && FD_ISSET(fd, writefds)) events |= POLLOUT;
    if (exceptfds != nullptr && FD_ISSET(fd, exceptfds)) events |= POLLPRI;
    if (events != 0) pfds.push_back({fd, events, 0});
  }
  const std::int64_t start = co::detail::now_ns();
  int n = co::detail::io_poll(pfds.data(), pfds.size(), timeout_ms, true);
  if (n < 0) return -1;
  for (const struct pollfd& p : pfds) {
    if (p.revents & POLLNVAL) {
      errno = EBADF;  // select reports a closed fd in any set as EBADF
      return -1;
    }
  }
  int count = 0;
  for (const struct pollfd& p : pfds) {
    const bool want_r = readfds != nullptr && FD_ISSET(p.fd, readfds);
    const bool want_w = writefds != nullptr && FD_ISSET(p.fd, writefds);
    const bool want_e = exceptfds != nullptr && FD_ISSET(p.fd, exceptfds);
    const bool r = want_r && (p.revents & (POLLIN | POLLHUP | POLLERR));
    const bool w = want_w && (p.revents & (POLLOUT | POLLERR));
    const bool e = want_e && (p.revents & POLLPRI);
    if (want_r && !r) FD_CLR(p.fd, readfds);
    if (want_w && !w) FD_CLR(p.fd, writefds);
    if (want_e && !e) FD_CLR(p.fd, exceptfds);
    count += r + w + e;
  }
  if (timeout != nullptr) {
    // Linux writes back the time not slept.
    long long left_us =
        static_cast<long long>(timeout_ms) * 1000 - (co::detail::now_ns() - start) / 1000;
    if (left_us < 0) left_us = 0;
    timeout->tv_sec = left_us / 1'000'000;
    timeout->tv_usec = left_us % 1'000'000;
  }
  return count;
}

int epoll_wait(int epfd, struct epoll_event* events, int maxevents, int timeout) {
  ensure_init();
  if (!in_coroutine() || timeout == 0) return epoll_wait_f(epfd, events, maxevents, timeout);
  // Let the kernel validate (EBADF, EINVAL, EFAULT) and report what is ready.
  int n = epoll_wait_f(epfd, events, maxevents, 0);
  if (n != 0) return n;
  const std::int64_t deadline =
      timeout < 0 ? -1 : co::detail::now_ns() + static_cast<std::int64_t>(timeout) * 1'000'000;
  for (;;) {
    // An epoll instance is itself pollable: readable when events are pending.
    struct pollfd pfd {
      epfd, POLLIN, 0
    };
    int r = co::detail::io_poll_until(&pfd, 1, deadline, false);
    if (r < 0) return -1;
    if (r == 0) return 0;
    n = epoll_wait_f(epfd, events, maxevents, 0);
    if (n != 0) return n;
    if (deadline >= 0 && co::detail::now_ns() >= deadline) return 0;
  }
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(poll);  // see hook_families.h
