// Reactor: where an idle Processer waits for I/O readiness, timers and new work.
//
// Contract of a backend (one backend per file; epoll today, reactor_epoll.cpp):
//  - Wait(timeout) blocks the calling processer thread until an fd event, an
//    Interrupt(), or the timeout (ns; -1 = forever, 0 = just look). It wakes
//    the tasks whose events arrived, through wake(), before returning.
//  - Interrupt() makes a concurrent or the next Wait() return promptly; it is
//    async with respect to Wait and cheap when called repeatedly.
//  - At most one thread is inside Wait() at a time (the scheduler's poller
//    role guarantees it), so a backend needs no locking of its own for Wait.
// fd interest registration (add_into_reactor) comes with the hook layer.
#pragma once

#include <cstdint>
#include <memory>

namespace co {
namespace detail {

class Reactor {
 public:
  virtual ~Reactor() = default;
  virtual void Wait(std::int64_t timeout_ns) = 0;
  virtual void Interrupt() noexcept = 0;
  virtual const char* Name() const noexcept = 0;
};

/// The epoll backend. Throws std::system_error if epoll or eventfd fail.
std::unique_ptr<Reactor> make_epoll_reactor();

}  // namespace detail
}  // namespace co
