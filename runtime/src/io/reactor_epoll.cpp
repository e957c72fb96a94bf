// The epoll Reactor backend (see reactor.h for the contract).
//
// Each fd is added once, edge-triggered, for all readiness events, with the
// FdCtx slot as its epoll data (slots are never freed, see fd_ctx.h). An
// event wakes every waiter of the fd whose requested events occurred; each
// waiter then asks the kernel (poll with timeout 0) for the real answer, so
// a stale or spurious event costs a re-check, never a wrong result.
#include <poll.h>
#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "io/fd_ctx.h"
#include "io/io_sentry.h"
#include "raw_syscall.h"
#include "reactor.h"

namespace co {
namespace detail {
namespace {

std::atomic<std::size_t> g_io_waiters{0};

short to_poll_events(std::uint32_t ev) noexcept {
  short out = 0;
  if (ev & EPOLLIN) out |= POLLIN;
  if (ev & EPOLLPRI) out |= POLLPRI;
  if (ev & EPOLLOUT) out |= POLLOUT;
  if (ev & EPOLLERR) out |= POLLERR;
  if (ev & EPOLLHUP) out |= POLLHUP;
  if (ev & EPOLLRDHUP) out |= POLLRDHUP | POLLIN;
  return out;
}

class EpollReactor final : public Reactor {
 public:
  EpollReactor() { Create(); }

  bool Add(FdCtx* ctx) noexcept override {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = ctx;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ctx->fd, &ev) == 0) return true;
    // Registered through another fd sharing the description (dup): refresh.
    if (errno == EEXIST) return ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, ctx->fd, &ev) == 0;
    return false;
  }

  void Remove(int fd) noexcept override {
    epoll_event ev{};
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &ev);
  }

  std::size_t Harvest() noexcept override {
    std::size_t woken = 0;
    for (;;) {
      epoll_event events[kMaxEvents];
      int n = sys::epoll_wait(epoll_fd_, events, kMaxEvents, 0);
      if (n <= 0) break;
      for (int i = 0; i < n; ++i) {
        woken += Dispatch(static_cast<FdCtx*>(events[i].data.ptr), events[i].events);
      }
      if (n < kMaxEvents) break;
    }
    return woken;
  }

  int ReadinessFd() const noexcept override { return epoll_fd_; }
  const char* Name() const noexcept override { return "epoll"; }

  // The inherited epoll fd names the parent's instance: closing the child's
  // copy leaves the parent's registrations alone (EPOLL_CTL_DEL would not).
  void ResetInChild() noexcept override {
    sys::close(epoll_fd_);
    Create();
  }

 private:
  void Create() noexcept {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
      std::perror("coscope: cannot create the reactor's epoll instance");
      std::abort();
    }
  }

  static std::size_t Dispatch(FdCtx* ctx, std::uint32_t ev) noexcept {
    const short happened = to_poll_events(ev);
    std::size_t woken = 0;
    ctx->lock.lock();
    // Counted before the waiters are woken, under the lock a waiter links
    // under: a try that failed before this edge sees the count moved.
    constexpr short kErrors = POLLERR | POLLHUP | POLLNVAL;
    if (happened & (POLLPRI | POLLRDHUP | kErrors)) {
      ctx->read_hazard.store(true, std::memory_order_relaxed);  // published by the bump below
    }
    if (happened & (POLLIN | POLLPRI | POLLRDHUP | kErrors)) {
      ctx->read_edges.fetch_add(1, std::memory_order_release);
    }
    if (happened & (POLLOUT | kErrors)) ctx->write_edges.fetch_add(1, std::memory_order_release);
    for (IoWaiter* w = ctx->waiters_head; w != nullptr; w = w->next) {
      short relevant = happened & (w->events | POLLERR | POLLHUP | POLLNVAL);
      if (relevant == 0) continue;
      w->revents |= relevant;
      if (wake(w->sentry->ticket, Waker::reactor)) ++woken;
    }
    ctx->lock.unlock();
    return woken;
  }

  static constexpr int kMaxEvents = 256;
  int epoll_fd_ = -1;
};

}  // namespace

Reactor& reactor() {
  static Reactor* instance = [] {
    install_fork_handlers();  // the child of a fork gets a reactor of its own
    return new EpollReactor();
  }();
  return *instance;
}

bool add_into_reactor(FdCtx* ctx) noexcept {
  if (ctx->registered) return true;
  if (!reactor().Add(ctx)) return false;
  ctx->registered = true;
  return true;
}

void reactor_remove_fd(int fd) noexcept {
  reactor().Remove(fd);
}

std::size_t io_waiter_count() noexcept {
  return g_io_waiters.load(std::memory_order_relaxed);
}
void io_waiters_added(std::size_t n) noexcept {
  g_io_waiters.fetch_add(n, std::memory_order_relaxed);
}
void io_waiters_removed(std::size_t n) noexcept {
  g_io_waiters.fetch_sub(n, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace co
