// co::WaitGroup; see wait_group.h.
#include "coscope/wait_group.h"

#include <stdexcept>

namespace co {

void WaitGroup::add(std::int64_t delta) {
  guard_.lock();
  if (count_ + delta < 0) {
    guard_.unlock();
    throw std::logic_error("co::WaitGroup: negative counter");
  }
  count_ += delta;
  if (count_ == 0) {
    while (detail::wake_front(waiters_)) {
    }
  }
  guard_.unlock();  // the last access: a woken waiter may destroy *this next
}

void WaitGroup::wait() {
  wait_until_ns(detail::kNoDeadline);
}

bool WaitGroup::wait_until_ns(std::int64_t deadline_ns) {
  guard_.lock();
  if (count_ == 0) {
    guard_.unlock();
    return true;
  }
  if (detail::expired(deadline_ns)) {
    guard_.unlock();
    return false;
  }
  detail::Waiter w;
  detail::enlist(waiters_, w);
  bool woken = detail::block(guard_, waiters_, w, WaitReason::wait_group, this, deadline_ns);
  guard_.unlock();
  return woken;
}

std::int64_t WaitGroup::count() const noexcept {
  guard_.lock();
  std::int64_t n = count_;
  guard_.unlock();
  return n;
}

}  // namespace co
