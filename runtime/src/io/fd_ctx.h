// FdCtx (libgo's FileDescriptorCtx): what the runtime knows about one fd.
//
// The hooks consult it on every call: is this fd a socket, did the *user* ask
// for O_NONBLOCK (then EAGAIN must come back at once), which SO_RCVTIMEO /
// SO_SNDTIMEO apply, and which tasks wait on it. Contexts live in a two-level
// table indexed by fd (no fixed-size array): a slot, once created, is never
// freed, so the epoll registration can point at it and a late event for a
// closed fd finds a reset slot instead of freed memory.
//
// Life: created when a hooked call creates the fd (socket, accept, pipe,
// dup, ...) or first waits on it; reset by close(), which wakes every waiter.
//
// A debugger finds the table through `coscope_fd_table` (C linkage, below):
// it reads memory only, so the layout is plain and versioned.
#pragma once

#include <poll.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "coscope/detail/park.h"

namespace co {
namespace detail {

struct IoSentry;

/// One fd of one io_sentry, linked into that fd's waiter list.
struct IoWaiter {
  IoWaiter* prev = nullptr;      ///< towards the list head
  IoWaiter* next = nullptr;      ///< towards the list tail
  IoSentry* sentry = nullptr;    ///< the poll-style wait this belongs to
  int fd = -1;                   ///< the fd waited on
  short events = 0;              ///< requested (POLLIN, POLLOUT, ...)
  short revents = 0;             ///< what the reactor reported (a hint; the hook asks the kernel)
  bool linked = false;           ///< in the fd's list now (guarded by FdCtx::lock)
  bool closed = false;           ///< the fd was closed during the wait (see unlink)
  std::uint64_t generation = 0;  ///< FdCtx::generation when linked: a close bumps it
};

struct FdCtx {
  int fd = -1;                       ///< the fd, or -1 while the slot is unused
  bool is_socket = false;            ///< created by socket/accept/socketpair
  bool managed = false;              ///< created by a hooked call (socket, pipe, accept, dup):
                                     ///< the runtime may set O_NONBLOCK on it
  bool stream = false;               ///< byte stream (SOCK_STREAM, pipe): blocking writes loop
  bool tcp = false;                  ///< a TCP socket (see drained_at)
  bool user_nonblocking = false;     ///< the program asked for O_NONBLOCK / FIONBIO
  bool sys_nonblocking = false;      ///< we set O_NONBLOCK so hooks never block the thread
  bool registered = false;           ///< added to the reactor (add_into_reactor)
  bool file_shared = false;          ///< another fd was dup'd from or to this one
  std::uint64_t file_id = 0;         ///< the open file description: same for an fd and its
                                     ///< dups, whose O_NONBLOCK is one flag (fcntl(2))
  std::int64_t recv_timeout_ns = 0;  ///< SO_RCVTIMEO, 0: none
  std::int64_t send_timeout_ns = 0;  ///< SO_SNDTIMEO, 0: none
  std::uint64_t generation = 0;      ///< bumped by every close of this fd number
  SpinLock lock;                     ///< guards every field here
  IoWaiter* waiters_head = nullptr;  ///< waiting io_sentries, oldest first
  IoWaiter* waiters_tail = nullptr;
  std::size_t waiter_count = 0;
  /// Readiness edges the reactor dispatched for this fd, per side (bumped
  /// under `lock`, read without it). A hook reads the count before a try;
  /// when the try fails with EAGAIN and the count has not moved by the time
  /// its waiter is linked, no edge came in between, and the reactor will
  /// wake the waiter for the next one: no need to ask the kernel again
  /// (io_wait_fd_after_try).
  std::atomic<std::uint32_t> read_edges{0};   ///< POLLIN, POLLPRI, POLLRDHUP, errors
  std::atomic<std::uint32_t> write_edges{0};  ///< POLLOUT, errors
  /// Set before read_edges is bumped for an edge with urgent data, a hang-up
  /// or an error (POLLPRI, POLLRDHUP, POLLHUP, POLLERR), until the fd is
  /// closed: from then on a short read no longer proves the socket empty.
  std::atomic<bool> read_hazard{false};
  /// kDrainedMark | the read_edges count read before the last read that
  /// returned less than it asked for (0: none). On a TCP socket such a read
  /// took everything queued (tcp_recvmsg stops short only at an urgent mark,
  /// which read_hazard rules out), so while read_edges still shows that
  /// count, nothing came since: the next read's try would fail with EAGAIN
  /// and the hook waits for the edge instead (hooked_read).
  std::atomic<std::uint64_t> drained_at{0};
  static constexpr std::uint64_t kDrainedMark = std::uint64_t{1} << 32;

  /// The edge count of the side `events` waits for (POLLOUT: write side).
  std::uint32_t EdgeCount(short events) const noexcept {
    return ((events & POLLOUT) ? write_edges : read_edges).load(std::memory_order_acquire);
  }

  /// After a read that asked for `asked` bytes and got `got`, with read_edges
  /// at `edges` before it: notes a drained TCP socket.
  void NoteRead(std::size_t asked, std::size_t got, std::uint32_t edges) noexcept {
    if (tcp && got > 0 && got < asked) {
      drained_at.store(kDrainedMark | edges, std::memory_order_relaxed);
    }
  }
  /// Whether a read now, with read_edges at `edges`, would find the socket
  /// empty (see drained_at).
  bool KnownEmpty(std::uint32_t edges) const noexcept {
    return drained_at.load(std::memory_order_relaxed) == (kDrainedMark | edges) &&
           !read_hazard.load(std::memory_order_relaxed) && tcp;
  }

  void Link(IoWaiter* w) noexcept;
  void Unlink(IoWaiter* w) noexcept;
};

/// Largest fd the table can describe (1 << 20); beyond it hooks pass through.
constexpr int kMaxTrackedFd = 1 << 20;
/// The table's two levels: fd N is slot N % kFdChunkSize of chunk N / kFdChunkSize.
constexpr int kFdChunkBits = 10;
constexpr int kFdChunkSize = 1 << kFdChunkBits;
constexpr int kFdChunks = kMaxTrackedFd / kFdChunkSize;

/// The fd table. A chunk is an array of kFdChunkSize contexts, allocated on
/// the first use of one of its fds and never freed (the reactor's epoll data
/// points at slots); a null chunk has no fd in use. A slot is in use while
/// its `fd` is >= 0.
struct FdTable {
  std::uint32_t version;                  ///< layout version for debuggers (bumped on change)
  std::uint32_t chunk_size;               ///< kFdChunkSize, for debuggers
  std::uint32_t chunk_count;              ///< kFdChunks, for debuggers
  std::atomic<FdCtx*> chunks[kFdChunks];  ///< a plain pointer in memory; null: not allocated
};

/// The table slot of fd number `fd` whatever it holds now (a slot outlives
/// every fd that uses it), or nullptr if never allocated or out of range.
FdCtx* fd_ctx_slot(int fd) noexcept;
/// The context of `fd`, or nullptr if none was created (or fd is out of range).
FdCtx* fd_ctx_find(int fd) noexcept;
/// The context of `fd`, created (slot reset) if the fd is not known yet.
/// nullptr only for a negative or absurdly large fd.
FdCtx* fd_ctx_get_or_create(int fd) noexcept;
/// What a hooked call that created an fd tells of it (the FdCtx fields of
/// the same names).
struct FdOpened {
  bool is_socket = false;
  bool stream = false;
  bool tcp = false;
  bool user_nonblocking = false;
};
/// A fresh context for an fd that a hooked call just created.
FdCtx* fd_ctx_on_open(int fd, FdOpened opened) noexcept;
/// Closes `fd` through `do_close` (the original close) and wakes every task
/// waiting on it (they then see the kernel's answer for a closed fd:
/// POLLNVAL, EBADF). Holding the context's lock across the close keeps a
/// concurrent open of the same fd number from mixing with the old waiters.
/// Returns do_close's result with its errno.
int fd_ctx_close(int fd, int (*do_close)(int)) noexcept;

/// In the child of fork (only the forking thread is left): no fd is in the
/// reactor any more (the child has a new one), no task waits on any fd (the
/// waiters are the parent's tasks), every lock is free. What is known of
/// each fd (socket, O_NONBLOCK, timeouts) stays: the child inherited the fds.
void fd_table_reset_in_child() noexcept;

/// Copies what is known of `from` to `to` (dup, dup2, F_DUPFD).
void fd_ctx_on_dup(int from, int to) noexcept;

/// Records the program's O_NONBLOCK choice on ctx and on every fd that
/// shares its open file description (a dup sees the flag change too).
void fd_ctx_set_user_nonblocking(FdCtx* ctx, bool on) noexcept;
/// Records that the runtime set O_NONBLOCK on ctx's open file description,
/// on ctx and on every fd that shares it (so all of them hide it).
void fd_ctx_set_sys_nonblocking(FdCtx* ctx) noexcept;
/// Gives ctx's open file description back to the program (fdopen: stdio
/// reads and writes it through glibc's internal calls, which must block as
/// the program asked): on ctx and every fd that shares it, the runtime no
/// longer sets O_NONBLOCK (managed = false) and no longer has it set
/// (sys_nonblocking = false); the caller clears the flag in the kernel.
void fd_ctx_set_unmanaged(FdCtx* ctx) noexcept;

}  // namespace detail
}  // namespace co

/// The fd table, under a C name a debugger can find without knowing C++ mangling.
extern "C" co::detail::FdTable coscope_fd_table;
