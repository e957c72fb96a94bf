// Signal interruption (see signal_interrupt.h for the protocol).
#include "io/signal_interrupt.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>

#include "raw_syscall.h"
#include "reactor.h"

namespace co {
namespace detail {
namespace {

// Touched from signal handlers: lock-free atomics only.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<int>::is_always_lock_free);

std::atomic<int> g_wake_fd{-1};
std::atomic<std::uint64_t> g_caught{0};
std::atomic<std::uint64_t> g_caught_no_restart{0};

}  // namespace

void enable_signal_interruption() noexcept {
  if (g_wake_fd.load(std::memory_order_acquire) >= 0) return;
  const int saved_errno = errno;
  int fd = static_cast<int>(::syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK));
  int none = -1;
  if (fd >= 0 && !g_wake_fd.compare_exchange_strong(none, fd, std::memory_order_acq_rel)) {
    sys::close(fd);  // another thread won
  }
  errno = saved_errno;
}

void note_caught_signal(bool handler_has_restart) noexcept {
  const int saved_errno = errno;
  if (!handler_has_restart) g_caught_no_restart.fetch_add(1, std::memory_order_seq_cst);
  g_caught.fetch_add(1, std::memory_order_seq_cst);
  // The reactor is edge-triggered: every write is a new event, so the
  // counter is never drained.
  int fd = g_wake_fd.load(std::memory_order_acquire);
  if (fd >= 0) {
    std::uint64_t one = 1;
    sys::write(fd, &one, sizeof one);
  }
  errno = saved_errno;
}

SignalMark signal_mark() noexcept {
  SignalMark m;
  m.caught = g_caught.load(std::memory_order_seq_cst);
  m.caught_no_restart = g_caught_no_restart.load(std::memory_order_seq_cst);
  return m;
}

SignalsSince signals_since(const SignalMark& mark) noexcept {
  if (g_caught_no_restart.load(std::memory_order_seq_cst) != mark.caught_no_restart) {
    return SignalsSince::interrupting;
  }
  if (g_caught.load(std::memory_order_seq_cst) != mark.caught) return SignalsSince::restart_only;
  return SignalsSince::none;
}

SignalWakeLink::SignalWakeLink(IoSentry* sentry) noexcept {
  const int fd = g_wake_fd.load(std::memory_order_acquire);
  if (fd < 0) return;  // no handler was installed through the hooks
  FdCtx* ctx = fd_ctx_get_or_create(fd);
  if (ctx == nullptr) return;
  waiter_.fd = fd;
  waiter_.events = POLLIN;
  waiter_.sentry = sentry;
  ctx->lock.lock();
  add_into_reactor(ctx);  // the first wait registers it; later ones find it registered
  ctx->Link(&waiter_);
  ctx->lock.unlock();
  io_waiters_added(1);
}

SignalWakeLink::~SignalWakeLink() {
  if (waiter_.fd < 0) return;
  FdCtx* ctx = fd_ctx_find(waiter_.fd);
  if (ctx == nullptr) return;
  std::size_t removed = 0;
  ctx->lock.lock();
  if (waiter_.linked) {
    ctx->Unlink(&waiter_);
    removed = 1;
  }
  ctx->lock.unlock();
  io_waiters_removed(removed);
}

}  // namespace detail
}  // namespace co
