// libgo's co_chan<T>: a copyable handle to a shared co::Channel<T>.
//
// libgo programs capture channels by value (`go [=]{ ch << 1; };`), so every
// copy of a co_chan names the same channel, which lives as long as its last
// handle. `<<` and `>>` throw std::runtime_error when the channel is closed,
// as libgo's do by default; the named operations return false instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "coscope/channel.h"

namespace co {

template <class T>
class LibgoChannel {
 public:
  /// A channel buffering up to `capacity` values; 0: unbuffered.
  explicit LibgoChannel(std::size_t capacity = 0)
      : channel_(std::make_shared<Channel<T>>(capacity)) {}

  /// Sends `value`, waiting for room or a receiver. Throws if closed.
  const LibgoChannel& operator<<(const T& value) const {
    if (!channel_->send(value)) throw std::runtime_error("co_chan: << on a closed channel");
    return *this;
  }
  /// Receives into `out`, waiting for a value. Throws if closed and drained.
  const LibgoChannel& operator>>(T& out) const {
    if (!channel_->recv(out)) throw std::runtime_error("co_chan: >> on a closed channel");
    return *this;
  }
  /// Receives a value and drops it (`ch >> nullptr`).
  const LibgoChannel& operator>>(std::nullptr_t) const {
    if (!channel_->recv()) throw std::runtime_error("co_chan: >> on a closed channel");
    return *this;
  }

  bool push(const T& value) const { return channel_->send(value); }
  bool pop(T& out) const { return channel_->recv(out); }
  bool TryPush(const T& value) const { return channel_->try_send(value); }
  bool TryPop(T& out) const { return take(channel_->try_recv(), out); }
  bool TryPop(std::nullptr_t) const { return channel_->try_recv().has_value(); }

  /// Sends, giving up after `timeout` (false).
  template <class Rep, class Period>
  bool TimedPush(const T& value, std::chrono::duration<Rep, Period> timeout) const {
    return channel_->send_for(value, timeout);
  }
  template <class Clock, class Duration>
  bool TimedPush(const T& value, std::chrono::time_point<Clock, Duration> deadline) const {
    return channel_->send_until(value, deadline);
  }
  /// Receives, giving up after `timeout` (false).
  template <class Rep, class Period>
  bool TimedPop(T& out, std::chrono::duration<Rep, Period> timeout) const {
    return take(channel_->recv_for(timeout), out);
  }
  template <class Clock, class Duration>
  bool TimedPop(T& out, std::chrono::time_point<Clock, Duration> deadline) const {
    return take(channel_->recv_until(deadline), out);
  }
  template <class Rep, class Period>
  bool TimedPop(std::nullptr_t, std::chrono::duration<Rep, Period> timeout) const {
    return channel_->recv_for(timeout).has_value();
  }

  /// Wakes every waiter; values already buffered can still be received.
  void Close() const { channel_->close(); }
  void close() const { channel_->close(); }
  bool closed() const { return channel_->closed(); }
  /// True when this is the channel's only handle.
  bool Unique() const { return channel_.use_count() == 1; }
  bool unique() const { return Unique(); }
  bool empty() const { return channel_->empty(); }
  std::size_t size() const { return channel_->size(); }
  std::size_t capacity() const { return channel_->capacity(); }

  /// The shared co::Channel, for coscope's own operations.
  Channel<T>& channel() const { return *channel_; }

 private:
  static bool take(std::optional<T>&& received, T& out) {
    if (!received) return false;
    out = std::move(*received);
    return true;
  }

  std::shared_ptr<Channel<T>> channel_;
};

/// libgo's co_chan<void>: a channel of signals, sent as nullptr.
template <>
class LibgoChannel<void> : public LibgoChannel<std::nullptr_t> {
 public:
  explicit LibgoChannel(std::size_t capacity = 0) : LibgoChannel<std::nullptr_t>(capacity) {}
};

template <class T>
using co_chan = LibgoChannel<T>;

}  // namespace co
