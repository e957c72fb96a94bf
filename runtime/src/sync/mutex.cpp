// co::Mutex: bounded barging; see mutex.h for the policy and why.
//
// States (all guarded by guard_):
//   free:       locked_ == false
//   held:       locked_ == true; waiters_ may be non-empty
//   waking_:    one waiter has been woken to retry and has not yet looked;
//               while set, unlock() wakes nobody else (no thundering herd)
// Transitions:
//   lock() on free           -> held by the caller
//   lock() on held           -> enlist at the back (MutexWaiter.since_ns = now) and park
//   unlock(), no waiters or
//     waking_ set            -> free
//   unlock(), oldest waiter
//     waited < 1 ms          -> free, oldest waiter woken to retry (waking_ = true);
//                               on retry it takes the lock if still free, else
//                               re-enlists at the FRONT, keeping since_ns
//   unlock(), oldest waiter
//     waited >= 1 ms         -> held by that waiter (handoff = true), never free
// A waiter whose timer already fired is skipped by wake_front() either way.
#include "coscope/mutex.h"

#include <pthread.h>

#include "coscope/detail/misuse.h"
#include "sync/misuse_report.h"

namespace co {
namespace detail {

/// A task or thread in Mutex::lock(); lives on its stack.
struct MutexWaiter : Waiter {
  std::int64_t since_ns = 0;  ///< when it first queued (kept across re-queues)
  bool handoff = false;       ///< unlock() gave it the lock directly
  unsigned long thread = 0;   ///< pthread_self() of a waiting plain thread, else 0
};

}  // namespace detail

Mutex::~Mutex() {
  guard_.lock();
  if (!waiters_.empty()) {
    detail::fatal_destroyed_with_waiters("co::Mutex", this, &waiters_, nullptr);
  }
  guard_.unlock();
}

void Mutex::take_locked() noexcept {
  locked_ = true;
  owner_ = detail::current_task();
  owner_thread_ = owner_ == nullptr ? static_cast<unsigned long>(::pthread_self()) : 0;
}

void Mutex::lock() {
  lock_until_ns(detail::kNoDeadline);
}

bool Mutex::lock_until_ns(std::int64_t deadline_ns) {
  guard_.lock();
  if (!locked_) {
    take_locked();
    guard_.unlock();
    return true;
  }
  if (detail::expired(deadline_ns)) {
    guard_.unlock();
    return false;
  }
  detail::MutexWaiter w;
  w.since_ns = detail::now_ns();
  if (detail::current_task() == nullptr) w.thread = static_cast<unsigned long>(::pthread_self());
  bool requeue = false;
  for (;;) {
    w.handoff = false;
    detail::enlist(waiters_, w, requeue);
    bool woken;
    try {
      woken = detail::block(guard_, waiters_, w, WaitReason::mutex, this, deadline_ns);
    } catch (...) {
      // ForcedUnwind. Whatever unlock() gave us (the lock, or the retry
      // turn) must be passed on, or the other waiters hang.
      if (w.woken) {
        guard_.lock();
        if (w.handoff) {
          release_locked();
        } else {
          waking_ = false;
          if (!locked_ && detail::wake_front(waiters_)) waking_ = true;
        }
        guard_.unlock();
      }
      throw;
    }
    if (!woken) {  // timed out; never woken, so waking_ is not ours
      guard_.unlock();
      return false;
    }
    if (w.handoff) {  // owner_ and owner_thread_ already set by unlock()
      guard_.unlock();
      return true;
    }
    waking_ = false;
    if (!locked_) {
      take_locked();
      guard_.unlock();
      return true;
    }
    // A running task barged in first: wait again, at the front.
    if (detail::expired(deadline_ns)) {
      guard_.unlock();
      return false;
    }
    requeue = true;
  }
}

bool Mutex::try_lock() noexcept {
  guard_.lock();
  bool got = !locked_;
  if (got) take_locked();
  guard_.unlock();
  return got;
}

void Mutex::unlock() noexcept {
  guard_.lock();
  const detail::Task* caller = detail::current_task();
  const bool holds =
      locked_ && owner_ == caller &&
      (caller != nullptr || owner_thread_ == static_cast<unsigned long>(::pthread_self()));
  if (!holds) detail::fatal_unlock_by_non_holder(this, owner_, owner_thread_ != 0, locked_);
  release_locked();
  guard_.unlock();
}

void Mutex::release_locked() noexcept {
  if (!waiters_.empty() && !waking_) {
    auto* oldest = static_cast<detail::MutexWaiter*>(waiters_.head);
    if (detail::now_ns() - oldest->since_ns >= kHandoffAfterNs) {
      if (detail::Waiter* w = detail::wake_front(waiters_)) {
        auto* next = static_cast<detail::MutexWaiter*>(w);
        next->handoff = true;
        owner_ = w->ticket.task;  // stays locked_: ownership moves to w
        owner_thread_ = next->thread;
        return;
      }
    } else {
      locked_ = false;
      owner_ = nullptr;
      owner_thread_ = 0;
      if (detail::wake_front(waiters_)) waking_ = true;
      return;
    }
  }
  locked_ = false;
  owner_ = nullptr;
  owner_thread_ = 0;
}

bool Mutex::is_locked() const noexcept {
  guard_.lock();
  bool held = locked_;
  guard_.unlock();
  return held;
}

}  // namespace co
