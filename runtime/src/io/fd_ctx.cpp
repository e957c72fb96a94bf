#include "fd_ctx.h"

#include <poll.h>

#include <cerrno>
#include <new>

#include "io_sentry.h"
#include "reactor.h"

co::detail::FdTable coscope_fd_table{1, co::detail::kFdChunkSize, co::detail::kFdChunks, {}};

namespace co {
namespace detail {
namespace {

// Identities of open file descriptions (FdCtx::file_id); 0 is "none".
std::atomic<std::uint64_t> g_next_file_id{1};

// The first fd of a chunk's range: allocates the chunk (out of line, so that
// slot(), on every hooked call's path, stays a few instructions).
__attribute__((noinline, cold)) FdCtx* new_chunk(std::atomic<FdCtx*>& chunk_ref) noexcept {
  FdCtx* fresh = new (std::nothrow) FdCtx[kFdChunkSize];
  if (fresh == nullptr) return nullptr;
  FdCtx* chunk = nullptr;
  if (!chunk_ref.compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) {
    delete[] fresh;  // another thread won; `chunk` holds its array
    return chunk;
  }
  return fresh;
}

inline FdCtx* slot(int fd, bool create) noexcept {
  if (fd < 0 || fd >= kMaxTrackedFd) return nullptr;
  std::atomic<FdCtx*>& chunk_ref = coscope_fd_table.chunks[fd >> kFdChunkBits];
  FdCtx* chunk = chunk_ref.load(std::memory_order_acquire);
  if (chunk == nullptr) [[unlikely]] {
    if (!create) return nullptr;
    chunk = new_chunk(chunk_ref);
    if (chunk == nullptr) return nullptr;
  }
  return &chunk[fd & (kFdChunkSize - 1)];
}

// Gives the slot (its lock held) to `fd`, a new open file description:
// nothing of an earlier fd of that number is kept. Storing fd comes last, so
// a lock-free fd_ctx_find of fd sees the rest.
void reset_slot(FdCtx* ctx, int fd, bool managed, FdOpened opened) noexcept {
  ctx->is_socket = opened.is_socket;
  ctx->managed = managed;
  ctx->stream = opened.stream;
  ctx->tcp = opened.tcp;
  ctx->read_hazard.store(false, std::memory_order_relaxed);
  ctx->drained_at.store(0, std::memory_order_relaxed);
  ctx->user_nonblocking = opened.user_nonblocking;
  ctx->sys_nonblocking = false;
  ctx->registered = false;
  ctx->file_shared = false;
  ctx->file_id = g_next_file_id.fetch_add(1, std::memory_order_relaxed);
  ctx->recv_timeout_ns = ctx->send_timeout_ns = 0;
  __atomic_store_n(&ctx->fd, fd, __ATOMIC_RELEASE);
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

FdCtx* fd_ctx_slot(int fd) noexcept {
  return slot(fd, false);
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
  if (ctx->fd != fd) reset_slot(ctx, fd, /*managed=*/false, FdOpened{});
  ctx->lock.unlock();
  return ctx;
}

FdCtx* fd_ctx_on_open(int fd, FdOpened opened) noexcept {
  FdCtx* ctx = slot(fd, true);
  if (ctx == nullptr) return nullptr;
  ctx->lock.lock();
  reset_slot(ctx, fd, /*managed=*/true, opened);
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
    wake(w->sentry->ticket, Waker::close);
  }
  io_waiters_removed(removed);
  ctx->lock.unlock();
  errno = saved_errno;
  return result;
}

void fd_table_reset_in_child() noexcept {
  for (std::atomic<FdCtx*>& chunk_ref : coscope_fd_table.chunks) {
    FdCtx* chunk = chunk_ref.load(std::memory_order_relaxed);
    if (chunk == nullptr) continue;
    for (int i = 0; i < kFdChunkSize; ++i) {
      FdCtx& ctx = chunk[i];
      new (&ctx.lock) SpinLock();  // a parent thread may have held it at the fork
      ctx.registered = false;
      ctx.drained_at.store(0, std::memory_order_relaxed);  // the child's reactor counts anew
      ctx.waiters_head = ctx.waiters_tail = nullptr;
      ctx.waiter_count = 0;
    }
  }
  io_waiters_removed(io_waiter_count());
}

void fd_ctx_on_dup(int from, int to) noexcept {
  FdCtx* src = fd_ctx_find(from);
  if (src == nullptr) return;
  src->lock.lock();
  const FdOpened opened{.is_socket = src->is_socket,
                        .stream = src->stream,
                        .tcp = src->tcp,
                        .user_nonblocking = src->user_nonblocking};
  const bool sys_nb = src->sys_nonblocking;
  const std::int64_t rcv = src->recv_timeout_ns, snd = src->send_timeout_ns;
  const std::uint64_t file_id = src->file_id;
  src->file_shared = true;
  src->lock.unlock();
  FdCtx* dst = fd_ctx_on_open(to, opened);
  if (dst == nullptr) return;
  dst->lock.lock();
  // O_NONBLOCK belongs to the open file description, which dup shares.
  dst->sys_nonblocking = sys_nb;
  dst->file_id = file_id;
  dst->file_shared = true;
  dst->recv_timeout_ns = rcv;
  dst->send_timeout_ns = snd;
  dst->lock.unlock();
}

namespace {

// Applies `update` to ctx and, if its open file description is shared by
// dups, to every live context of that description. Dups are rare, so a scan
// of the table (only there) is cheaper than a shared, refcounted record.
template <class Update>
void update_file(FdCtx* ctx, Update update) noexcept {
  ctx->lock.lock();
  update(ctx);
  const bool shared = ctx->file_shared;
  const std::uint64_t file_id = ctx->file_id;
  ctx->lock.unlock();
  if (!shared) return;
  for (std::atomic<FdCtx*>& chunk_ref : coscope_fd_table.chunks) {
    FdCtx* chunk = chunk_ref.load(std::memory_order_acquire);
    if (chunk == nullptr) continue;
    for (int i = 0; i < kFdChunkSize; ++i) {
      FdCtx* other = &chunk[i];
      if (other == ctx || __atomic_load_n(&other->fd, __ATOMIC_ACQUIRE) < 0) continue;
      other->lock.lock();
      if (other->fd >= 0 && other->file_id == file_id) update(other);
      other->lock.unlock();
    }
  }
}

}  // namespace

void fd_ctx_set_user_nonblocking(FdCtx* ctx, bool on) noexcept {
  update_file(ctx, [on](FdCtx* c) { c->user_nonblocking = on; });
}

void fd_ctx_set_sys_nonblocking(FdCtx* ctx) noexcept {
  update_file(ctx, [](FdCtx* c) { c->sys_nonblocking = true; });
}

void fd_ctx_set_unmanaged(FdCtx* ctx) noexcept {
  update_file(ctx, [](FdCtx* c) {
    c->managed = false;
    c->sys_nonblocking = false;
  });
}

}  // namespace detail
}  // namespace co
