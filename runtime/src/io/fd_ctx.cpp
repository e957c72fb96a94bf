#include "fd_ctx.h"

#include <new>

#include "io_sentry.h"
#include "reactor.h"

namespace co {
namespace detail {
namespace {

// Two levels: kChunks chunks of kChunkSize slots, allocated on first use and
// never freed (the reactor's epoll data points at slots).
constexpr int kChunkBits = 10;
constexpr int kChunkSize = 1 << kChunkBits;
constexpr int kChunks = kMaxTrackedFd / kChunkSize;

std::atomic<FdCtx*> g_chunks[kChunks];

FdCtx* slot(int fd, bool create) noexcept {
  if (fd < 0 || fd >= kMaxTrackedFd) return nullptr;
  std::atomic<FdCtx*>& chunk_ref = g_chunks[fd >> kChunkBits];
  FdCtx* chunk = chunk_ref.load(std::memory_order_acquire);
  if (chunk == nullptr) {
    if (!create) return nullptr;
    FdCtx* fresh = new (std::nothrow) FdCtx[kChunkSize];
    if (fresh == nullptr) return nullptr;
    if (!chunk_ref.compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) {
      delete[] fresh;  // another thread won; `chunk` holds its array
    } else {
      chunk = fresh;
    }
  }
  return &chunk[fd & (kChunkSize - 1)];
}

}  // namespace

void FdCtx::Link(IoWaiter* w) noexcept {
  w->prev = waiters_tail;
  w->next = nullptr;
  if (waiters_tail != nullptr) {
    waiters_tail->next = w;
  } else {
    waiters_head = w;
  }
  waiters_tail = w;
  w->linked = true;
  ++waiter_count;
}

void FdCtx::Unlink(IoWaiter* w) noexcept {
  if (!w->linked) return;
  if (w->prev != nullptr) {
    w->prev->next = w->next;
  } else {
    waiters_head = w->next;
  }
  if (w->next != nullptr) {
    w->next->prev = w->prev;
  } else {
    waiters_tail = w->prev;
  }
  w->prev = w->next = nullptr;
  w->linked = false;
  --waiter_count;
}

FdCtx* fd_ctx_find(int fd) noexcept {
  FdCtx* ctx = slot(fd, false);
  if (ctx == nullptr) return nullptr;
  return __atomic_load_n(&ctx->fd, __ATOMIC_ACQUIRE) == fd ? ctx : nullptr;
}

FdCtx* fd_ctx_get_or_create(int fd) noexcept {
  FdCtx* ctx = slot(fd, true);
  if (ctx == nullptr) return nullptr;
  if (__atomic_load_n(&ctx->fd, __ATOMIC_ACQUIRE) == fd) return ctx;
  ctx->lock.lock();
  if (ctx->fd != fd) {
    ctx->is_socket = false;
    ctx->user_nonblocking = false;
    ctx->sys_nonblocking = false;
    ctx->registered = false;
    ctx->recv_timeout_ns = ctx->send_timeout_ns = 0;
    __atomic_store_n(&ctx->fd, fd, __ATOMIC_RELEASE);
  }
  ctx->lock.unlock();
  return ctx;
}

FdCtx* fd_ctx_on_open(int fd, bool is_socket, bool user_nonblocking) noexcept {
  FdCtx* ctx = slot(fd, true);
  if (ctx == nullptr) return nullptr;
  ctx->lock.lock();
  ctx->is_socket = is_socket;
  ctx->user_nonblocking = user_nonblocking;
  ctx->sys_nonblocking = false;
  ctx->registered = false;
  ctx->recv_timeout_ns = ctx->send_timeout_ns = 0;
  __atomic_store_n(&ctx->fd, fd, __ATOMIC_RELEASE);
  ctx->lock.unlock();
  return ctx;
}

void fd_ctx_on_close(int fd) noexcept {
  FdCtx* ctx = slot(fd, false);
  if (ctx == nullptr) return;
  ctx->lock.lock();
  if (ctx->fd != fd) {
    ctx->lock.unlock();
    return;
  }
  if (ctx->registered) reactor_remove_fd(fd);
  ctx->registered = false;
  ++ctx->generation;
  __atomic_store_n(&ctx->fd, -1, __ATOMIC_RELEASE);
  // Every waiter learns of the close: its poll sees POLLNVAL, its read EBADF.
  std::size_t removed = 0;
  while (IoWaiter* w = ctx->waiters_head) {
    ctx->Unlink(w);
    ++removed;
    w->revents |= POLLNVAL;
    wake(w->sentry->ticket);
  }
  io_waiters_removed(removed);
  ctx->lock.unlock();
}

}  // namespace detail
}  // namespace co
