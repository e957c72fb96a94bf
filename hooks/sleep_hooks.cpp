// The sleep family: sleep, usleep, nanosleep, clock_nanosleep. In a
// coroutine the task parks in TaskState::sleep on the scheduler's timer
// queue - the "centralised controller" the notes see in libgo's sleep - and
// the thread runs others.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <limits>

#include "hook_families.h"
#include "hook_probes.h"
#include "hook_support.h"

namespace {

using co::hooks::ensure_init;
using co::hooks::in_coroutine;

// The latest deadline now_ns() can express: a sleep that long never ends.
constexpr long long kForever = std::numeric_limits<std::int64_t>::max();

// Parks the task for `ns` - in io_poll with no fds, the classic
// poll(NULL, 0, t) sleep, so a caught signal ends it early as it ends the
// kernel's sleeps (see io/signal_interrupt.h). Returns false then, with the
// time that was left in `*left_ns`. A scheduler being destroyed unwinds the
// task from here (ForcedUnwind passes through the hooks, C++ functions that
// glibc declares without noexcept, as for thread cancellation).
//
// errno is per thread, not per task: other tasks run on this thread (or this
// task resumes on another) meanwhile, so a full sleep puts the task's errno
// back, as the kernel's successful sleep leaves it.
bool task_sleep_ns(long long ns, long long* left_ns) {
  if (ns <= 0) return true;
  const int saved_errno = co::detail::thread_errno();
  const std::int64_t now = co::detail::now_ns();
  // Beyond the clock's range: for ever, never a deadline wrapped into the past.
  const std::int64_t deadline = ns >= kForever - now ? kForever : now + ns;
  // 0: slept; -1: EINTR, or ECANCELED from a destructor while the task is
  // unwound (a scheduler being destroyed unwinds a sleeping task: io_sentry.h)
  if (co::detail::io_poll_until(nullptr, 0, deadline, false) == 0) {
    co::detail::thread_errno() = saved_errno;
    return true;
  }
  const int err = co::detail::thread_errno();
  const std::int64_t left = deadline - co::detail::now_ns();
  *left_ns = left > 0 ? left : 0;
  co::detail::thread_errno() = err;
  return false;
}

// Lets the kernel validate `req` as nanosleep(2) would, without sleeping:
// FUTEX_WAIT reads and checks its timeout first (EFAULT: not readable,
// EINVAL: tv_sec < 0 or tv_nsec out of range), then fails with EAGAIN at
// once on a word that does not hold the value it waits for. True (errno
// set) if rejected; otherwise errno is left as it was.
bool kernel_rejects_timespec(const struct timespec* req) {
  if (req == nullptr) {  // FUTEX_WAIT takes a null timeout as "none"
    errno = EFAULT;
    return true;
  }
  static const std::uint32_t never_one = 0;
  const int saved_errno = errno;
  if (::syscall(SYS_futex, &never_one, FUTEX_WAIT_PRIVATE, 1u, req, nullptr, 0) < 0 &&
      (errno == EFAULT || errno == EINVAL)) {
    return true;
  }
  errno = saved_errno;
  return false;
}

// The hooks' logic; each exported hook below wraps it in its entry and exit
// probes (hook_probes.h).

unsigned int sleep_body(unsigned int seconds) {
  ensure_init();
  if (!in_coroutine()) return sleep_f(seconds);
  long long left_ns = 0;
  if (!task_sleep_ns(static_cast<long long>(seconds) * 1'000'000'000, &left_ns)) {
    return static_cast<unsigned int>(left_ns / 1'000'000'000);  // whole seconds, as glibc's sleep
  }
  return 0;
}

int usleep_body(useconds_t usec) {
  ensure_init();
  if (!in_coroutine()) return usleep_f(usec);
  long long left_ns = 0;
  return task_sleep_ns(static_cast<long long>(usec) * 1000, &left_ns) ? 0 : -1;
}

int nanosleep_body(const struct timespec* req, struct timespec* rem) {
  ensure_init();
  if (!in_coroutine()) return nanosleep_f(req, rem);
  if (kernel_rejects_timespec(req)) return -1;
  long long left_ns = 0;
  const long long ns = req->tv_sec >= kForever / 1'000'000'000
                           ? kForever
                           : static_cast<long long>(req->tv_sec) * 1'000'000'000 + req->tv_nsec;
  if (!task_sleep_ns(ns, &left_ns)) {
    if (rem != nullptr) {
      rem->tv_sec = static_cast<time_t>(left_ns / 1'000'000'000);
      rem->tv_nsec = static_cast<long>(left_ns % 1'000'000'000);
    }
    return -1;
  }
  return 0;
}

// The clocks a task can sleep on: the timer queue keeps CLOCK_MONOTONIC time
// (now_ns()), and a REALTIME or BOOTTIME deadline is turned into it. Others
// (the CPU-time clocks, the _ALARM clocks, invalid ids) are the original's
// business: it sleeps or gives the kernel's error.
bool task_can_sleep_on(clockid_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME;
}

// clock_nanosleep returns the error number and leaves errno as it was.
int clock_nanosleep_body(clockid_t clock, int flags, const struct timespec* req,
                         struct timespec* rem) {
  ensure_init();
  if (!in_coroutine() || !task_can_sleep_on(clock)) {
    return clock_nanosleep_f(clock, flags, req, rem);
  }
  const int entry_errno = errno;  // before any wait: this thread's, read directly
  if (kernel_rejects_timespec(req)) {
    const int err = errno;
    errno = entry_errno;
    return err;
  }
  long long ns = 0;
  if (flags & TIMER_ABSTIME) {
    // Measured once against `clock`: a later clock_settime (or a suspend,
    // on CLOCK_BOOTTIME) does not move the wake-up, as it would the
    // kernel's (see docs/hooks.md).
    struct timespec now {};
    clock_gettime(clock, &now);
    const long long sec = static_cast<long long>(req->tv_sec) - now.tv_sec;
    ns = sec >= kForever / 1'000'000'000 ? kForever
                                         : sec * 1'000'000'000 + (req->tv_nsec - now.tv_nsec);
  } else {
    ns = req->tv_sec >= kForever / 1'000'000'000
             ? kForever
             : static_cast<long long>(req->tv_sec) * 1'000'000'000 + req->tv_nsec;
  }
  long long left_ns = 0;
  if (task_sleep_ns(ns, &left_ns)) return 0;  // errno put back by task_sleep_ns
  const int err = co::detail::thread_errno();
  // Only a relative sleep reports the time left, as the kernel's.
  if (err == EINTR && !(flags & TIMER_ABSTIME) && rem != nullptr) {
    rem->tv_sec = static_cast<time_t>(left_ns / 1'000'000'000);
    rem->tv_nsec = static_cast<long>(left_ns % 1'000'000'000);
  }
  co::detail::thread_errno() = entry_errno;
  return err;
}

}  // namespace

extern "C" {

unsigned int sleep(unsigned int seconds) {
  COSCOPE_HOOK(sleep, seconds, sleep_body(seconds));
}

int usleep(useconds_t usec) {
  COSCOPE_HOOK(usleep, usec, usleep_body(usec));
}

int nanosleep(const struct timespec* req, struct timespec* rem) {
  COSCOPE_HOOK_NO_SUBJECT(nanosleep, nanosleep_body(req, rem));
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec* req, struct timespec* rem) {
  COSCOPE_HOOK(clock_nanosleep, clock, clock_nanosleep_body(clock, flags, req, rem));
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(sleep);  // see hook_families.h
