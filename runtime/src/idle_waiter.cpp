#include "idle_waiter.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "io/reactor.h"
#include "raw_syscall.h"

namespace co {
namespace detail {
namespace {

// epoll data tags: which of our two fds an event is for.
constexpr std::uint64_t kInterruptTag = 1;
constexpr std::uint64_t kReactorTag = 2;

void add_or_throw(int epfd, int fd, std::uint32_t events, std::uint64_t tag, const char* what) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), what);
  }
}

}  // namespace

// A kernel without epoll_pwait2 (before 5.11, or a seccomp filter that does
// not know it) answers ENOSYS once; from then on epoll_wait is used.
std::atomic<bool> IdleWaiter::no_pwait2_{false};

int IdleWaiter::WaitForEvents(epoll_event* events, int max, std::int64_t timeout_ns) {
  if (!no_pwait2_.load(std::memory_order_relaxed)) {
    // Nanoseconds: a timer due in 0.3 ms is waited for 0.3 ms, not 1 ms.
    timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                static_cast<long>(timeout_ns % 1'000'000'000)};
    int n = sys::epoll_pwait2(epoll_fd_, events, max, timeout_ns >= 0 ? &ts : nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    no_pwait2_.store(true, std::memory_order_relaxed);
  }
  int timeout_ms = -1;
  if (timeout_ns >= 0) {
    // Round up: waking a little late is harmless, waking early spins.
    std::int64_t ms = (timeout_ns + 999'999) / 1'000'000;
    timeout_ms = ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
  }
  return sys::epoll_wait(epoll_fd_, events, max, timeout_ms);
}

IdleWaiter::IdleWaiter() {
  Create();
}

void IdleWaiter::Create() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  try {
    if (event_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    add_or_throw(epoll_fd_, event_fd_, EPOLLIN | EPOLLET, kInterruptTag, "epoll_ctl(eventfd)");
    add_or_throw(epoll_fd_, reactor().ReadinessFd(), EPOLLIN, kReactorTag, "epoll_ctl(reactor)");
  } catch (...) {
    if (event_fd_ >= 0) sys::close(event_fd_);
    sys::close(epoll_fd_);
    throw;
  }
}

void IdleWaiter::ResetInChild() noexcept {
  sys::close(event_fd_);
  sys::close(epoll_fd_);
  interrupt_pending_.store(false, std::memory_order_relaxed);
  try {
    Create();
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "coscope: after fork: %s\n", e.what());
    std::abort();
  }
}

IdleWaiter::~IdleWaiter() {
  sys::close(event_fd_);
  sys::close(epoll_fd_);
}

void IdleWaiter::Wait(std::int64_t timeout_ns) {
  epoll_event events[2];
  const int n = WaitForEvents(events, 2, timeout_ns);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == kInterruptTag) {
      // Drain first, then re-arm: clearing the flag first would let an
      // Interrupt() between the two write a count we then drain, leaving the
      // flag set with nothing pending, and every later Interrupt() a no-op.
      // An Interrupt() after the drain but before the store is lost, which is
      // harmless: this thread is returning and re-checks for work.
      std::uint64_t drained;
      while (sys::read(event_fd_, &drained, sizeof drained) > 0) {
      }
      interrupt_pending_.store(false, std::memory_order_seq_cst);
    } else {
      reactor().Harvest();
    }
  }
}

void IdleWaiter::Interrupt() noexcept {
  if (interrupt_pending_.exchange(true, std::memory_order_seq_cst)) return;
  std::uint64_t one = 1;
  sys::write(event_fd_, &one, sizeof one);
}

}  // namespace detail
}  // namespace co
