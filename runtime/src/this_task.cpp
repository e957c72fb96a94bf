#include "coscope/this_task.h"

#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "processer.h"
#include "task.h"

namespace co {
namespace this_task {

TaskId id() noexcept {
  detail::Task* tk = detail::current_task();
  return tk != nullptr ? tk->id : 0;
}

void yield() {
  detail::Processer* p = detail::Processer::Current();
  detail::Task* tk = p != nullptr ? p->current : nullptr;
  if (tk == nullptr) {
    ::sched_yield();
    return;
  }
  if (tk->unwind_requested) detail::throw_forced_unwind(tk);
  p->Yield(tk);
  if (tk->unwind_requested) detail::throw_forced_unwind(tk);
}

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
