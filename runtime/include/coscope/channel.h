// Channel<T>: Go's channel, for tasks on any worker and for plain threads.
//
//   co::Channel<int> ch(8);              // buffered: holds up to 8 values
//   go [&]{ for (int i = 0; i < 100; ++i) ch << i; ch.close(); };
//   go [&]{ while (auto v = ch.recv()) use(*v); };   // ends when closed+drained
//
// Capacity 0 (the default) makes an unbuffered channel: a send completes only
// when a receiver takes the value (a rendezvous).
//
// Design
// ------
// One SpinLock guards everything: a ring buffer of `capacity_` slots holding
// `size_` values, the `closed_` flag, and two FIFO lists of waiters (nodes on
// the waiting task's stack, see detail/wait_list.h). Invariants, whenever
// the lock is free:
//   - receivers_ non-empty  =>  size_ == 0            (nothing to take)
//   - senders_ non-empty    =>  size_ == capacity_    (no room to put)
//   - closed_               =>  senders_ and receivers_ are empty
//
// send(v):  closed -> false. A receiver waits -> hand v straight into its slot
//           and wake it. Room in the buffer -> append. Else park on senders_
//           until a receiver takes v (true) or close() (false).
// recv():   a buffered value -> take the oldest, then move the first waiting
//           sender's value into the freed slot (FIFO order is kept). A sender
//           waits (unbuffered) -> take its value directly. Closed -> nullopt.
//           Else park on receivers_ until a sender hands a value over.
// close():  sets closed_, wakes every waiter: senders return false (they keep
//           nothing: the value is dropped), receivers return nullopt. Values
//           already buffered stay and are drained by later recv()s.
//
// Why a value is handed directly to a parked receiver instead of being put in
// the buffer and the receiver woken to fetch it: an unbuffered channel has no
// buffer; and with a buffer, a third task could take the value between the
// wake-up and the fetch, so the woken receiver would find nothing and have to
// park again (a lost wake-up in the worst case, wasted switches at best).
// The waker learns from wake() whether the receiver is still waiting (its
// timer may have fired), so a value is never handed to a receiver that
// timed out: that waiter is skipped and the next one tried.
//
// Timed operations (send_for, recv_until, ...) arm the task's timer; when
// the timer and a waker race, wake() picks exactly one winner.
//
// Outside a coroutine (detail::current_task() == nullptr) every blocking
// operation blocks the calling thread on a condition variable instead of
// parking; tasks and threads can talk over the same channel.
//
// Requirements on T: move-constructible, and its move constructor should not
// throw (values are moved while the lock is held; a throwing move ends in
// std::terminate). A Channel is neither copyable nor movable: share it by
// reference or pointer. Destroying a channel that tasks or threads still
// wait on would leave them parked for ever: it prints the waiters and aborts,
// in every build type.
//
// If a task is unwound (ForcedUnwind: its Scheduler is destroyed) while it
// waits, its waiter node leaves the channel; a value already handed to it is
// destroyed with its stack.
//
// A parked task records TaskState::sys_block with WaitReason::channel_send
// or channel_recv and this channel's address as its wait object.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "coscope/detail/misuse.h"
#include "coscope/detail/park.h"
#include "coscope/detail/wait_list.h"
#include "coscope/task_state.h"

namespace co {
namespace detail {

/// A task or thread waiting on a Channel<T>; lives on the waiter's stack.
template <class T>
struct ChannelWaiter : Waiter {
  T* send_value = nullptr;                ///< sender: its value, moved from when taken
  std::optional<T>* recv_slot = nullptr;  ///< receiver: where a sender puts the value
  bool closed = false;                    ///< woken by close(): nothing was transferred
};

}  // namespace detail

template <class T>
class Channel {
 public:
  /// A channel buffering up to `capacity` values; 0: unbuffered.
  explicit Channel(std::size_t capacity = 0)
      : capacity_(capacity), buffer_(capacity ? std::allocator<T>().allocate(capacity) : nullptr) {}

  /// Destroys the buffered values. Aborts, naming them, if a task or thread
  /// still waits on the channel.
  ~Channel() {
    lock_.lock();
    if (!senders_.empty() || !receivers_.empty()) {
      detail::fatal_destroyed_with_waiters("co::Channel", this, &receivers_, &senders_);
    }
    lock_.unlock();
    while (size_ > 0) pop_front_slot();
    if (buffer_) std::allocator<T>().deallocate(buffer_, capacity_);
  }

  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // ---- sending ---------------------------------------------------------------

  /// Sends `v`, waiting while the buffer is full (unbuffered: until a receiver
  /// takes it). Returns false, dropping `v`, if the channel is or gets closed.
  bool send(T v) { return send_impl(v, detail::kNoDeadline) == Status::ok; }

  /// Sends without waiting. False if it would wait or the channel is closed;
  /// then `v` is left untouched (an rvalue is moved from only on success).
  bool try_send(T&& v) { return send_impl(v, 0) == Status::ok; }
  bool try_send(const T& v) {
    T copy(v);
    return send_impl(copy, 0) == Status::ok;
  }

  /// As send(), but gives up after `timeout`; on false (timeout or closed)
  /// `v` is left untouched. A timeout <= 0 behaves as try_send().
  template <class Rep, class Period>
  bool send_for(T&& v, const std::chrono::duration<Rep, Period>& timeout) {
    return send_impl(v, detail::deadline_after(timeout)) == Status::ok;
  }
  template <class Rep, class Period>
  bool send_for(const T& v, const std::chrono::duration<Rep, Period>& timeout) {
    T copy(v);
    return send_impl(copy, detail::deadline_after(timeout)) == Status::ok;
  }
  template <class Clock, class Duration>
  bool send_until(T&& v, const std::chrono::time_point<Clock, Duration>& deadline) {
    return send_impl(v, detail::deadline_at(deadline)) == Status::ok;
  }
  template <class Clock, class Duration>
  bool send_until(const T& v, const std::chrono::time_point<Clock, Duration>& deadline) {
    T copy(v);
    return send_impl(copy, detail::deadline_at(deadline)) == Status::ok;
  }

  /// libgo's `ch << v`: send(v).
  bool operator<<(T v) { return send_impl(v, detail::kNoDeadline) == Status::ok; }

  // ---- receiving -------------------------------------------------------------

  /// Receives the oldest value, waiting while there is none. nullopt once the
  /// channel is closed and drained.
  std::optional<T> recv() {
    std::optional<T> out;
    recv_impl(out, detail::kNoDeadline);
    return out;
  }

  /// As recv(), into `out`; false (out untouched) once closed and drained.
  bool recv(T& out) {
    std::optional<T> v;
    if (recv_impl(v, detail::kNoDeadline) != Status::ok) return false;
    out = std::move(*v);
    return true;
  }

  /// Receives without waiting: nullopt if no value is available now.
  std::optional<T> try_recv() {
    std::optional<T> out;
    recv_impl(out, 0);
    return out;
  }

  /// As recv(), but gives up after `timeout`: nullopt on timeout, or when
  /// closed and drained (tell them apart with closed()).
  template <class Rep, class Period>
  std::optional<T> recv_for(const std::chrono::duration<Rep, Period>& timeout) {
    std::optional<T> out;
    recv_impl(out, detail::deadline_after(timeout));
    return out;
  }
  template <class Clock, class Duration>
  std::optional<T> recv_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    std::optional<T> out;
    recv_impl(out, detail::deadline_at(deadline));
    return out;
  }

  /// libgo's `ch >> v`: recv(v).
  bool operator>>(T& out) { return recv(out); }

  // ---- state -----------------------------------------------------------------

  /// Closes the channel and wakes every waiter (see the top comment). Returns
  /// false if it was already closed.
  bool close() noexcept {
    lock_.lock();
    if (closed_) {
      lock_.unlock();
      return false;
    }
    closed_ = true;
    while (detail::Waiter* w = detail::wake_front(receivers_)) as_waiter(w)->closed = true;
    while (detail::Waiter* w = detail::wake_front(senders_)) as_waiter(w)->closed = true;
    lock_.unlock();
    return true;
  }

  bool closed() const noexcept {
    lock_.lock();
    bool c = closed_;
    lock_.unlock();
    return c;
  }
  /// Values buffered now (always 0 when unbuffered).
  std::size_t size() const noexcept {
    lock_.lock();
    std::size_t n = size_;
    lock_.unlock();
    return n;
  }
  bool empty() const noexcept { return size() == 0; }
  std::size_t capacity() const noexcept { return capacity_; }
  /// Tasks and threads blocked in a send / a receive now.
  std::size_t waiting_senders() const noexcept { return locked_count(senders_); }
  std::size_t waiting_receivers() const noexcept { return locked_count(receivers_); }

 private:
  enum class Status { ok, closed, timeout };
  using Waiter = detail::ChannelWaiter<T>;

  std::size_t locked_count(const detail::WaitList& list) const noexcept {
    lock_.lock();
    std::size_t n = list.count;
    lock_.unlock();
    return n;
  }

  static Waiter* as_waiter(detail::Waiter* w) noexcept { return static_cast<Waiter*>(w); }

  // Lock held, size_ < capacity_.
  void push_back_slot(T&& v) noexcept {
    std::size_t i = head_ + size_;
    if (i >= capacity_) i -= capacity_;
    ::new (static_cast<void*>(buffer_ + i)) T(std::move(v));
    ++size_;
  }

  // Lock held, size_ > 0.
  T pop_front_slot() noexcept {
    T* p = buffer_ + head_;
    T v(std::move(*p));
    p->~T();
    if (++head_ == capacity_) head_ = 0;
    --size_;
    return v;
  }

  // Moves `v` away only on Status::ok.
  Status send_impl(T& v, std::int64_t deadline_ns) {
    lock_.lock();
    if (closed_) {
      lock_.unlock();
      return Status::closed;
    }
    if (detail::Waiter* r = detail::wake_front(receivers_)) {
      hand_to(*as_waiter(r)->recv_slot, v);
      lock_.unlock();
      return Status::ok;
    }
    if (size_ < capacity_) {
      push_back_slot(std::move(v));
      lock_.unlock();
      return Status::ok;
    }
    if (detail::expired(deadline_ns)) {
      lock_.unlock();
      return Status::timeout;
    }
    Waiter w;
    w.send_value = &v;
    detail::enlist(senders_, w);
    bool woken = detail::block(lock_, senders_, w, WaitReason::channel_send, this, deadline_ns);
    lock_.unlock();
    if (!woken) return Status::timeout;
    return w.closed ? Status::closed : Status::ok;
  }

  Status recv_impl(std::optional<T>& out, std::int64_t deadline_ns) {
    lock_.lock();
    if (size_ > 0) {
      out.emplace(pop_front_slot());
      if (detail::Waiter* s = detail::wake_front(senders_)) {
        push_back_slot(std::move(*as_waiter(s)->send_value));
      }
      lock_.unlock();
      return Status::ok;
    }
    if (detail::Waiter* s = detail::wake_front(senders_)) {  // unbuffered rendezvous
      hand_to(out, *as_waiter(s)->send_value);
      lock_.unlock();
      return Status::ok;
    }
    if (closed_) {
      lock_.unlock();
      return Status::closed;
    }
    if (detail::expired(deadline_ns)) {
      lock_.unlock();
      return Status::timeout;
    }
    Waiter w;
    w.recv_slot = &out;
    detail::enlist(receivers_, w);
    bool woken = detail::block(lock_, receivers_, w, WaitReason::channel_recv, this, deadline_ns);
    lock_.unlock();
    if (!woken) return Status::timeout;
    return w.closed ? Status::closed : Status::ok;
  }

  static void hand_to(std::optional<T>& slot, T& v) noexcept { slot.emplace(std::move(v)); }

  // Plain fields, read by the gdb pretty-printer.
  mutable detail::SpinLock lock_;  ///< guards every field below except capacity_
  const std::size_t capacity_;     ///< slots in buffer_; 0: unbuffered
  std::size_t size_ = 0;           ///< values buffered now, <= capacity_
  std::size_t head_ = 0;           ///< slot of the oldest value; next is (head_+1)%capacity_
  T* buffer_;                      ///< capacity_ slots (raw storage), nullptr if unbuffered
  bool closed_ = false;            ///< close() was called; never reset
  detail::WaitList senders_;       ///< ChannelWaiter<T>s blocked in send, oldest first
  detail::WaitList receivers_;     ///< ChannelWaiter<T>s blocked in recv, oldest first
};

}  // namespace co
