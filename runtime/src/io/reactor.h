// Reactor: the process-wide readiness source for fds (the netpoller).
//
// Contract of a backend (one backend per file; epoll today, reactor_epoll.cpp):
//  - Add(ctx) registers ctx->fd for every readiness event, once per open fd
//    (edge-triggered: the backend reports changes, the waiters re-check with
//    the kernel). It does not block. False with errno when the kernel
//    refuses (EPERM: regular files, which are always ready).
//  - Remove(fd) forgets fd before it is closed.
//  - Harvest() collects pending events without blocking and, for each fd,
//    wakes the io_sentries whose requested events (or POLLERR / POLLHUP)
//    occurred. Safe from several threads at once.
//  - ReadinessFd() is readable whenever Harvest() would find something, so
//    each scheduler's IdleWaiter can block on it together with its own fds.
// Tasks of any scheduler may wait on any fd: waking goes through the task's
// WaitTicket, which queues it on its own scheduler.
#pragma once

#include <cstddef>

namespace co {
namespace detail {

struct FdCtx;

class Reactor {
 public:
  virtual ~Reactor() = default;
  virtual bool Add(FdCtx* ctx) noexcept = 0;
  virtual void Remove(int fd) noexcept = 0;
  virtual std::size_t Harvest() noexcept = 0;
  virtual int ReadinessFd() const noexcept = 0;
  virtual const char* Name() const noexcept = 0;
  /// In the child of fork (only the forking thread is left): drop the
  /// parent's kernel object without touching it and start an empty one.
  virtual void ResetInChild() noexcept = 0;
};

/// The process's reactor, created on first use and never destroyed.
Reactor& reactor();

/// libgo's add_into_reactor: registers ctx->fd unless already registered.
/// Call with ctx->lock held. False (errno set) if the kernel refused.
bool add_into_reactor(FdCtx* ctx) noexcept;

/// Called by fd_ctx_close with the context's lock held.
void reactor_remove_fd(int fd) noexcept;

/// Registers the pthread_atfork handlers of after_fork.cpp (once).
void install_fork_handlers() noexcept;

/// Number of IoWaiters linked right now (hooks skip harvesting when zero).
std::size_t io_waiter_count() noexcept;
void io_waiters_added(std::size_t n) noexcept;
void io_waiters_removed(std::size_t n) noexcept;

}  // namespace detail
}  // namespace co
