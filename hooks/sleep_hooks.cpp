// The sleep family: sleep, usleep, nanosleep. In a coroutine the task parks
// in TaskState::sleep on the scheduler's timer queue - the "centralised
// controller" the notes see in libgo's sleep - and the thread runs others.
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "hook_families.h"
#include "hook_support.h"

namespace {

using co::hooks::ensure_init;
using co::hooks::in_coroutine;

// Parks the task for `ns`. Not unwindable: a C function cannot let
// ForcedUnwind through, so a scheduler being destroyed just ends the sleep.
//
// errno is per thread, not per task: other tasks run on this thread (or this
// task resumes on another) meanwhile, so a full sleep puts the task's errno
// back, as the kernel's successful sleep leaves it.
void task_sleep_ns(long long ns) {
  if (ns <= 0) return;
  const int saved_errno = errno;
  const std::int64_t deadline = co::detail::now_ns() + ns;
  co::detail::WaitTicket ticket = co::detail::prepare_park();
  co::detail::arm_timer(ticket, deadline);
  co::detail::park(co::TaskState::sleep, co::WaitReason::sleep, nullptr, deadline, nullptr,
                   /*unwindable=*/false);
  errno = saved_errno;
}

}  // namespace

extern "C" {

unsigned int sleep(unsigned int seconds) {
  ensure_init();
  if (!in_coroutine()) return sleep_f(seconds);
  task_sleep_ns(static_cast<long long>(seconds) * 1'000'000'000);
  return 0;
}

int usleep(useconds_t usec) {
  ensure_init();
  if (!in_coroutine()) return usleep_f(usec);
  task_sleep_ns(static_cast<long long>(usec) * 1000);
  return 0;
}

int nanosleep(const struct timespec* req, struct timespec* rem) {
  ensure_init();
  if (!in_coroutine()) return nanosleep_f(req, rem);
  if (req == nullptr) {
    errno = EFAULT;
    return -1;
  }
  if (req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= 1'000'000'000) {
    errno = EINVAL;
    return -1;
  }
  task_sleep_ns(static_cast<long long>(req->tv_sec) * 1'000'000'000 + req->tv_nsec);
  return 0;
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(sleep);  // see hook_families.h
