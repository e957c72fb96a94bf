// The epoll Reactor backend (see reactor.h for the contract).
//
// An eventfd registered edge-triggered carries Interrupt(): writing it makes a
// sleeping epoll_wait return. `interrupt_pending_` collapses a burst of
// Interrupt() calls into one write.
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <system_error>

#include "raw_syscall.h"
#include "reactor.h"

namespace co {
namespace detail {
namespace {

class EpollReactor final : public Reactor {
 public:
  EpollReactor() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) {
      int err = errno;
      sys::close(epoll_fd_);
      throw std::system_error(err, std::generic_category(), "eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = nullptr;  // nullptr marks the interrupt eventfd
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0) {
      int err = errno;
      sys::close(event_fd_);
      sys::close(epoll_fd_);
      throw std::system_error(err, std::generic_category(), "epoll_ctl(eventfd)");
    }
  }
  ~EpollReactor() override {
    sys::close(event_fd_);
    sys::close(epoll_fd_);
  }

  void Wait(std::int64_t timeout_ns) override {
    int timeout_ms = -1;
    if (timeout_ns >= 0) {
      // Round up: waking a little late is harmless, waking early spins.
      std::int64_t ms = (timeout_ns + 999'999) / 1'000'000;
      timeout_ms = ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
    }
    epoll_event events[kMaxEvents];
    int n = sys::epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        interrupt_pending_.store(false, std::memory_order_seq_cst);
        std::uint64_t drained;
        while (sys::read(event_fd_, &drained, sizeof drained) > 0) {
        }
      }
    }
  }

  void Interrupt() noexcept override {
    if (interrupt_pending_.exchange(true, std::memory_order_seq_cst)) return;
    std::uint64_t one = 1;
    sys::write(event_fd_, &one, sizeof one);
  }

  const char* Name() const noexcept override { return "epoll"; }

 private:
  static constexpr int kMaxEvents = 128;
  int epoll_fd_ = -1;  ///< the epoll instance
  int event_fd_ = -1;  ///< Interrupt() writes here
  std::atomic<bool> interrupt_pending_{false};
};

}  // namespace

std::unique_ptr<Reactor> make_epoll_reactor() {
  return std::make_unique<EpollReactor>();
}

}  // namespace detail
}  // namespace co
