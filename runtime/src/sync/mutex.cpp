// co::Mutex: FIFO hand-off lock; see mutex.h for the policy and why.
//
// States (guarded by guard_):
//   free:      locked_ == false, waiters_ empty
//   held:      locked_ == true,  waiters_ maybe non-empty
// Transitions: lock() on free -> held (owner_ = caller). lock() on held ->
// enlist and park. unlock() with waiters -> held by the oldest waiter that
// wake() still reaches (owner_ = that task); the waiter finds w.woken set
// and returns owning the lock. unlock() without waiters -> free.
#include "coscope/mutex.h"

namespace co {

void Mutex::lock() {
  lock_until_ns(detail::kNoDeadline);
}

bool Mutex::lock_until_ns(std::int64_t deadline_ns) {
  guard_.lock();
  if (!locked_) {
    locked_ = true;
    owner_ = detail::current_task();
    guard_.unlock();
    return true;
  }
  if (detail::expired(deadline_ns)) {
    guard_.unlock();
    return false;
  }
  detail::Waiter w;
  detail::enlist(waiters_, w);
  bool woken;
  try {
    woken = detail::block(guard_, waiters_, w, WaitReason::mutex, this, deadline_ns);
  } catch (...) {
    // ForcedUnwind. If unlock() had already handed us the lock, pass it on,
    // or every other waiter would hang.
    if (w.woken) unlock();
    throw;
  }
  // A winner of the hand-off owns the lock now (owner_ set by unlock()).
  guard_.unlock();
  return woken;
}

bool Mutex::try_lock() noexcept {
  guard_.lock();
  bool got = !locked_;
  if (got) {
    locked_ = true;
    owner_ = detail::current_task();
  }
  guard_.unlock();
  return got;
}

void Mutex::unlock() noexcept {
  guard_.lock();
  if (detail::Waiter* w = detail::wake_front(waiters_)) {
    owner_ = w->ticket.task;  // still locked_: ownership moves to w
  } else {
    locked_ = false;
    owner_ = nullptr;
  }
  guard_.unlock();
}

bool Mutex::is_locked() const noexcept {
  guard_.lock();
  bool held = locked_;
  guard_.unlock();
  return held;
}

}  // namespace co
