// poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2: all of
// them wait through io_poll (the role of libgo's libgo_poll), so a task parks
// instead of its thread.
//
// The signal masks of ppoll, pselect and epoll_pwait(2) cannot be swapped
// atomically around a task's wait (the thread runs other tasks meanwhile):
// in a coroutine the wait runs under the thread's own mask, as poll's does;
// ppoll's and epoll_pwait(2)'s masks go only to the first, non-waiting call
// that lets the kernel validate the arguments (see docs/hooks.md).
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "hook_families.h"
#include "hook_probes.h"
#include "hook_support.h"

namespace {

using co::hooks::ensure_init;
using co::hooks::in_coroutine;

int timespec_to_ms(const struct timespec* ts) {
  if (ts == nullptr) return -1;
  long long ms = static_cast<long long>(ts->tv_sec) * 1000 + (ts->tv_nsec + 999'999) / 1'000'000;
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

// Bit `fd` of an fd_set that may be larger than FD_SETSIZE (select's nfds
// may exceed it), so not through FD_ISSET, whose fortified form aborts there.
constexpr int kBitsPerWord = 8 * sizeof(__fd_mask);

bool fd_bit(const fd_set* set, int fd) {
  return set != nullptr && ((__FDS_BITS(set)[fd / kBitsPerWord] >> (fd % kBitsPerWord)) & 1) != 0;
}

void clear_fd_bit(fd_set* set, int fd) {
  if (set != nullptr) __FDS_BITS(set)[fd / kBitsPerWord] &= ~(__fd_mask{1} << (fd % kBitsPerWord));
}

// The size of the process's fd table (the kernel's fdt->max_fds, which
// /proc/self/status shows as FDSize), or INT_MAX if it cannot be read.
// select(2) looks at no fd at or above it. Raw system calls: no hook runs.
int fd_table_size() {
  const int fd =
      static_cast<int>(::syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC));
  if (fd < 0) return INT_MAX;
  char buf[4096];
  const long n = ::syscall(SYS_read, fd, buf, sizeof buf - 1);
  ::syscall(SYS_close, fd);
  if (n <= 0) return INT_MAX;
  buf[n] = '\0';
  const char* line = std::strstr(buf, "\nFDSize:");
  if (line == nullptr) return INT_MAX;
  const long size = std::strtol(line + 8, nullptr, 10);
  return size > 0 && size < INT_MAX ? static_cast<int>(size) : INT_MAX;
}

// The hooks' logic; each exported hook below wraps it in its entry and exit
// probes (hook_probes.h).

int poll_body(struct pollfd* fds, nfds_t nfds, int timeout) {
  ensure_init();
  if (!in_coroutine() || timeout == 0) return poll_f(fds, nfds, timeout);
  // The kernel first: it rejects an array it cannot read (EFAULT) or too
  // long (EINVAL) before io_poll walks it, and answers what is ready now.
  int n = poll_f(fds, nfds, 0);
  if (n != 0) return n;
  return co::detail::io_poll(fds, nfds, timeout, /*nonblocking_check=*/false);
}

bool valid_timespec(const struct timespec* ts) {
  return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1'000'000'000;
}

// The signal mask cannot be swapped atomically around a task's wait; inside
// a coroutine ppoll waits like poll (see docs/hooks.md).

int ppoll_body(struct pollfd* fds, nfds_t nfds, const struct timespec* tmo,
               const sigset_t* sigmask) {
  ensure_init();
  if (!in_coroutine()) return ppoll_f(fds, nfds, tmo, sigmask);
  if (tmo != nullptr && !valid_timespec(tmo)) {
    errno = EINVAL;
    return -1;
  }
  int timeout = timespec_to_ms(tmo);
  if (timeout == 0) return ppoll_f(fds, nfds, tmo, sigmask);
  const struct timespec zero {};
  int n = ppoll_f(fds, nfds, &zero, sigmask);  // validates, as in poll above
  if (n != 0) return n;
  return co::detail::io_poll(fds, nfds, timeout, false);
}

// select's wait in a coroutine, once its arguments are known to be valid and
// its timeout not zero. Writes the time not slept back to `timeout`.
int select_wait(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                struct timeval* timeout) {
  // As the kernel, examine no fd beyond the fd table (nor read or write the
  // sets there): only worth a look at the table when nfds exceeds the
  // common set size, which a table of that many fds is rare to reach.
  if (nfds > FD_SETSIZE) nfds = std::min(nfds, fd_table_size());
  int timeout_ms = -1;
  if (timeout != nullptr) {
    long long ms = static_cast<long long>(timeout->tv_sec) * 1000 + (timeout->tv_usec + 999) / 1000;
    timeout_ms = ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
  }
  std::vector<struct pollfd> pfds;
  for (int fd = 0; fd < nfds; ++fd) {
    short events = 0;
    if (fd_bit(readfds, fd)) events |= POLLIN;
    if (fd_bit(writefds, fd)) events |= POLLOUT;
    if (fd_bit(exceptfds, fd)) events |= POLLPRI;
    if (events != 0) pfds.push_back({fd, events, 0});
  }
  const std::int64_t start = co::detail::now_ns();
  // Linux writes back the time not slept, on success and on EINTR alike.
  auto write_back_time_left = [&] {
    if (timeout == nullptr) return;
    long long left_us =
        static_cast<long long>(timeout_ms) * 1000 - (co::detail::now_ns() - start) / 1000;
    if (left_us < 0) left_us = 0;
    timeout->tv_sec = left_us / 1'000'000;
    timeout->tv_usec = left_us % 1'000'000;
  };
  int n = co::detail::io_poll(pfds.data(), pfds.size(), timeout_ms, true);
  if (n < 0) {
    const int saved = co::detail::thread_errno();
    if (saved == EINTR) write_back_time_left();
    co::detail::thread_errno() = saved;
    return -1;
  }
  for (const struct pollfd& p : pfds) {
    if (p.revents & POLLNVAL) {
      co::detail::thread_errno() = EBADF;  // select reports a closed fd in any set as EBADF
      return -1;
    }
  }
  // The kernel writes back whole words: bits from nfds to the end of the
  // last word come back cleared too.
  const int examined = (nfds + kBitsPerWord - 1) / kBitsPerWord * kBitsPerWord;
  for (int fd = nfds; fd < examined; ++fd) {
    for (fd_set* set : {readfds, writefds, exceptfds}) clear_fd_bit(set, fd);
  }
  int count = 0;
  for (const struct pollfd& p : pfds) {
    const bool want_r = fd_bit(readfds, p.fd);
    const bool want_w = fd_bit(writefds, p.fd);
    const bool want_e = fd_bit(exceptfds, p.fd);
    const bool r = want_r && (p.revents & (POLLIN | POLLHUP | POLLERR));
    const bool w = want_w && (p.revents & (POLLOUT | POLLERR));
    const bool e = want_e && (p.revents & POLLPRI);
    if (want_r && !r) clear_fd_bit(readfds, p.fd);
    if (want_w && !w) clear_fd_bit(writefds, p.fd);
    if (want_e && !e) clear_fd_bit(exceptfds, p.fd);
    count += r + w + e;
  }
  write_back_time_left();
  return count;
}

int select_body(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                struct timeval* timeout) {
  ensure_init();
  if (!in_coroutine()) return select_f(nfds, readfds, writefds, exceptfds, timeout);
  // nfds above FD_SETSIZE is no error for the kernel (it stops at the fds
  // that can be open); the caller then passes larger sets.
  if (nfds < 0 || (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_usec < 0))) {
    errno = EINVAL;
    return -1;
  }
  if (timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_usec == 0) {
    return select_f(nfds, readfds, writefds, exceptfds, timeout);
  }
  return select_wait(nfds, readfds, writefds, exceptfds, timeout);
}

// pselect: select with a timespec it leaves alone, and a signal mask.
int pselect_body(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                 const struct timespec* timeout, const sigset_t* sigmask) {
  ensure_init();
  if (!in_coroutine()) return pselect_f(nfds, readfds, writefds, exceptfds, timeout, sigmask);
  if (nfds < 0 || (timeout != nullptr && !valid_timespec(timeout))) {
    errno = EINVAL;
    return -1;
  }
  if (timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_nsec == 0) {
    return pselect_f(nfds, readfds, writefds, exceptfds, timeout, sigmask);
  }
  // To microseconds, rounded up: a wait is never shorter than asked.
  struct timeval tv {};
  if (timeout != nullptr) {
    const long usec = (timeout->tv_nsec + 999) / 1000;
    tv.tv_sec = timeout->tv_sec + usec / 1'000'000;
    tv.tv_usec = usec % 1'000'000;
  }
  return select_wait(nfds, readfds, writefds, exceptfds, timeout != nullptr ? &tv : nullptr);
}

// Waits in a coroutine until the epoll instance has events or the deadline
// (-1: none) passes; then collects them with `collect` (a zero-timeout
// epoll_wait). The first call, made by the caller, validated the arguments.
template <class Collect>
int epoll_wait_until(int epfd, std::int64_t deadline, Collect&& collect) {
  for (;;) {
    // An epoll instance is itself pollable: readable when events are pending.
    struct pollfd pfd {
      epfd, POLLIN, 0
    };
    int r = co::detail::io_poll_until(&pfd, 1, deadline, false);
    if (r < 0) return -1;
    if (r == 0) return 0;
    const int n = collect();
    if (n != 0) return n;
    if (deadline >= 0 && co::detail::now_ns() >= deadline) return 0;
  }
}

std::int64_t deadline_after_ms(int timeout) {
  return timeout < 0 ? -1 : co::detail::now_ns() + static_cast<std::int64_t>(timeout) * 1'000'000;
}

int epoll_wait_body(int epfd, struct epoll_event* events, int maxevents, int timeout) {
  ensure_init();
  if (!in_coroutine() || timeout == 0) return epoll_wait_f(epfd, events, maxevents, timeout);
  // Let the kernel validate (EBADF, EINVAL, EFAULT) and report what is ready.
  const int n = epoll_wait_f(epfd, events, maxevents, 0);
  if (n != 0) return n;
  return epoll_wait_until(epfd, deadline_after_ms(timeout),
                          [&] { return epoll_wait_f(epfd, events, maxevents, 0); });
}

int epoll_pwait_body(int epfd, struct epoll_event* events, int maxevents, int timeout,
                     const sigset_t* sigmask) {
  ensure_init();
  if (!in_coroutine() || timeout == 0) {
    return epoll_pwait_f(epfd, events, maxevents, timeout, sigmask);
  }
  const int n = epoll_pwait_f(epfd, events, maxevents, 0, sigmask);
  if (n != 0) return n;
  return epoll_wait_until(epfd, deadline_after_ms(timeout),
                          [&] { return epoll_wait_f(epfd, events, maxevents, 0); });
}

int epoll_pwait2_body(int epfd, struct epoll_event* events, int maxevents,
                      const struct timespec* timeout, const sigset_t* sigmask) {
  ensure_init();
  const struct timespec zero {};
  if (!in_coroutine() || (timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_nsec == 0)) {
    return epoll_pwait2_f(epfd, events, maxevents, timeout, sigmask);
  }
  // The kernel validates the timeout too (EINVAL), with everything else.
  if (timeout != nullptr && !valid_timespec(timeout)) {
    return epoll_pwait2_f(epfd, events, maxevents, timeout, sigmask);
  }
  const int n = epoll_pwait2_f(epfd, events, maxevents, &zero, sigmask);
  if (n != 0) return n;
  std::int64_t deadline = -1;
  if (timeout != nullptr) {
    const std::int64_t now = co::detail::now_ns();
    const std::int64_t max_sec = (INT64_MAX - now) / 1'000'000'000 - 1;
    deadline =
        timeout->tv_sec >= max_sec
            ? -1
            : now + static_cast<std::int64_t>(timeout->tv_sec) * 1'000'000'000 + timeout->tv_nsec;
  }
  return epoll_wait_until(epfd, deadline, [&] { return epoll_wait_f(epfd, events, maxevents, 0); });
}

}  // namespace

extern "C" {

int poll(struct pollfd* fds, nfds_t nfds, int timeout) {
  COSCOPE_HOOK(poll, nfds, poll_body(fds, nfds, timeout));
}

int ppoll(struct pollfd* fds, nfds_t nfds, const struct timespec* tmo, const sigset_t* sigmask) {
  COSCOPE_HOOK(ppoll, nfds, ppoll_body(fds, nfds, tmo, sigmask));
}

int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
           struct timeval* timeout) {
  COSCOPE_HOOK(select, nfds, select_body(nfds, readfds, writefds, exceptfds, timeout));
}

int pselect(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
            const struct timespec* timeout, const sigset_t* sigmask) {
  COSCOPE_HOOK(pselect, nfds, pselect_body(nfds, readfds, writefds, exceptfds, timeout, sigmask));
}

int epoll_wait(int epfd, struct epoll_event* events, int maxevents, int timeout) {
  COSCOPE_HOOK(epoll_wait, epfd, epoll_wait_body(epfd, events, maxevents, timeout));
}

int epoll_pwait(int epfd, struct epoll_event* events, int maxevents, int timeout,
                const sigset_t* sigmask) {
  COSCOPE_HOOK(epoll_pwait, epfd, epoll_pwait_body(epfd, events, maxevents, timeout, sigmask));
}

int epoll_pwait2(int epfd, struct epoll_event* events, int maxevents,
                 const struct timespec* timeout, const sigset_t* sigmask) {
  COSCOPE_HOOK(epoll_pwait2, epfd, epoll_pwait2_body(epfd, events, maxevents, timeout, sigmask));
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(poll);  // see hook_families.h
