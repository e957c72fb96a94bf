// co::ConditionVariable; see condition_variable.h.
//
// Lock order: guard_ -> the Mutex's own guard (wait() releases the Mutex
// while holding guard_, so the enlistment and the release are one step as
// seen by notifiers). notify_* never touch the Mutex, so no cycle exists.
#include "coscope/condition_variable.h"

#include "coscope/detail/misuse.h"

namespace co {

ConditionVariable::~ConditionVariable() {
  guard_.lock();
  if (!waiters_.empty()) {
    detail::fatal_destroyed_with_waiters("co::ConditionVariable", this, &waiters_, nullptr);
  }
  guard_.unlock();
}

std::cv_status ConditionVariable::wait_until_ns(std::unique_lock<Mutex>& lk,
                                                std::int64_t deadline_ns) {
  if (detail::expired(deadline_ns)) return std::cv_status::timeout;  // lk kept, as std allows
  detail::Waiter w;
  guard_.lock();
  detail::enlist(waiters_, w);
  lk.unlock();  // never parks: at most hands the Mutex to its next waiter
  bool woken = detail::block(guard_, waiters_, w, WaitReason::condition_variable, this,
                             deadline_ns);  // ForcedUnwind leaves lk unlocked
  guard_.unlock();
  lk.lock();
  return woken ? std::cv_status::no_timeout : std::cv_status::timeout;
}

void ConditionVariable::notify_one() noexcept {
  guard_.lock();
  detail::wake_front(waiters_);
  guard_.unlock();
}

void ConditionVariable::notify_all() noexcept {
  guard_.lock();
  while (detail::wake_front(waiters_)) {
  }
  guard_.unlock();
}

}  // namespace co
