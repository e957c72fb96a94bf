#include "coscope/this_task.h"

#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "processer.h"
#include "task.h"
#include "yield_body.h"

namespace co {
namespace detail {

const void* yield_body(const void* return_address) {
  Processer* p = Processer::Current();
  Task* tk = p != nullptr ? p->current : nullptr;
  if (tk == nullptr) {
    ::sched_yield();
    return nullptr;
  }
  if (tk->unwind_requested) throw_forced_unwind(tk);
  p->Yield(tk, return_address);
  if (tk->unwind_requested) throw_forced_unwind(tk);
  return tk->processer->yielder_return;
}

}  // namespace detail

namespace this_task {

TaskId id() noexcept {
  detail::Task* tk = detail::current_task();
  return tk != nullptr ? tk->id : 0;
}

// On x86-64 yield() is yield_entry.S, which chooses how to return.
#if !defined(__x86_64__)
void yield() {
  detail::yield_body(__builtin_return_address(0));
}
#endif

void sleep_until_ns(std::int64_t deadline_ns) {
  detail::Task* tk = detail::current_task();
  if (tk == nullptr) {
    // Outside a coroutine: block the thread (a raw call, so no hook sees it).
    timespec ts{static_cast<time_t>(deadline_ns / 1'000'000'000),
                static_cast<long>(deadline_ns % 1'000'000'000)};
    while (::syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != 0 &&
           errno == EINTR) {
    }
    return;
  }
  detail::WaitTicket ticket = detail::prepare_park();
  detail::arm_timer(ticket, deadline_ns);
  detail::park(TaskState::sleep, WaitReason::sleep, nullptr, deadline_ns, nullptr);
}

}  // namespace this_task
}  // namespace co
