// libgo's co_defer, co_defer_scope and co_last_defer().
//
//   co_defer [&]{ close(fd); };      // runs when the enclosing scope ends
//   co_defer_scope { puts("bye"); };  // the same, capturing by reference
//   co_last_defer().dismiss();        // cancels the newest one still pending
//
// co_last_defer() is per task: it names the newest co_defer of the calling
// task (or thread) that is still in scope and not yet replaced by a newer
// one; when there is none it names a placeholder whose dismiss() is false.
#pragma once

#include <type_traits>
#include <utility>

#include "coscope/detail/task_locals.h"

namespace co {

/// What co_last_defer() returns.
class Dismissable {
 public:
  /// Keeps the deferred code from running: true if it had not been dismissed.
  virtual bool dismiss() = 0;

 protected:
  ~Dismissable() = default;
};

namespace detail {

/// The calling task's newest pending co_defer, or nullptr.
inline Dismissable*& last_defer() {
  static const char key = 0;
  return current_task_locals().get_or_create<Dismissable*>(&key, nullptr);
}

template <class F>
class Deferred final : public Dismissable {
 public:
  explicit Deferred(F&& fn) : fn_(std::forward<F>(fn)) { last_defer() = this; }
  // Guaranteed copy elision builds it in place; it is never copied or moved.
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;
  ~Deferred() {
    Dismissable*& last = last_defer();
    if (last == this) last = nullptr;
    if (!dismissed_) fn_();
  }
  bool dismiss() override {
    bool was_pending = !dismissed_;
    dismissed_ = true;
    return was_pending;
  }

 private:
  F fn_;
  bool dismissed_ = false;
};

/// What co_defer expands to: `DeferOp{} - callable`.
struct DeferOp {
  template <class F>
  Deferred<std::decay_t<F>> operator-(F&& fn) const {
    return Deferred<std::decay_t<F>>(std::decay_t<F>(std::forward<F>(fn)));
  }
};

/// co_last_defer() when nothing is pending.
class NothingDeferred final : public Dismissable {
 public:
  bool dismiss() override { return false; }
};

}  // namespace detail

/// The calling task's newest pending co_defer (see above).
inline Dismissable& last_defer() {
  static detail::NothingDeferred nothing;
  Dismissable* last = detail::last_defer();
  return last != nullptr ? *last : nothing;
}

}  // namespace co
