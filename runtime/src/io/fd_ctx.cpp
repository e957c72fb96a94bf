#include "fd_ctx.h"

#include <poll.h>

#include <cerrno>
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
    ctx->managed = false;
    ctx->stream = false;
    ctx->user_nonblocking = false;
    ctx->sys_nonblocking = false;
    ctx->registered = false;
    ctx->recv_timeout_ns = ctx->send_timeout_ns = 0;
    __atomic_store_n(&ctx->fd, fd, __ATOMIC_RELEASE);
  }
  ctx->lock.unlock();
  return ctx;
}

FdCtx* fd_ctx_on_open(int fd, bool is_socket, bool stream, bool user_nonblocking) noexcept {
  FdCtx* ctx = slot(fd, true);
  if (ctx == nullptr) return nullptr;
  ctx->lock.lock();
  ctx->is_socket = is_socket;
  ctx->managed = true;
  ctx->stream = stream;
  ctx->user_nonblocking = user_nonblocking;
  ctx->sys_nonblocking = false;
  ctx->registered = false;
  ctx->recv_timeout_ns = ctx->send_timeout_ns = 0;
  __atomic_store_n(&ctx->fd, fd, __ATOMIC_RELEASE);
  ctx->lock.unlock();
  return ctx;
}

int fd_ctx_close(int fd, int (*do_close)(int)) noexcept {
  FdCtx* ctx = slot(fd, false);
  if (ctx == nullptr) return do_close(fd);
  ctx->lock.lock();
  if (ctx->fd != fd) {
    ctx->lock.unlock();
    return do_close(fd);
  }
  if (ctx->registered) reactor_remove_fd(fd);
  const int result = do_close(fd);
  const int saved_errno = errno;
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
  errno = saved_errno;
  return result;
}

void fd_ctx_on_dup(int from, int to) noexcept {
  FdCtx* src = fd_ctx_find(from);
  if (src == nullptr) return;
  src->lock.lock();
  const bool is_socket = src->is_socket, stream = src->stream;
  const bool user_nb = src->user_nonblocking, sys_nb = src->sys_nonblocking;
  const std::int64_t rcv = src->recv_timeout_ns, snd = src->send_timeout_ns;
  src->lock.unlock();
  FdCtx* dst = fd_ctx_on_open(to, is_socket, stream, user_nb);
  if (dst == nullptr) return;
  dst->lock.lock();
  // O_NONBLOCK belongs to the open file description, which dup shares.
  dst->sys_nonblocking = sys_nb;
  dst->recv_timeout_ns = rcv;
  dst->send_timeout_ns = snd;
  dst->lock.unlock();
}

}  // namespace detail
}  // namespace co
