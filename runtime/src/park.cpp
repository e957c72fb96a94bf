// Parking and waking (coscope/detail/park.h), with the wait_word protocol.
//
// Task::wait_word = (epoch << 2) | phase. Each park gets a new epoch.
//
//   phase 1 "parking"  set by prepare_park(), on the task's stack; the task
//                      may still be running towards its SwapOut.
//   phase 2 "parked"   set by the Processer after SwapOut returned.
//   phase 0 "woken"    a waker claimed the park (CAS from 1 or 2).
//   phase 3 "timed out" the task's timer claimed it.
//
// Exactly one claim succeeds per epoch. A claim from phase 2 makes the waker
// the task's owner: it marks it runnable and queues it. A claim from phase 1
// only flips the word: the Processer's CAS 1 -> 2 then fails and it queues
// the task itself once the task is off its stack, so no task is ever resumed
// by two threads. Stale tickets (earlier epochs) never match.
#include "coscope/detail/park.h"

#include <time.h>

#include <cerrno>

#include "debug/probes.h"
#include "debug/trace_log.h"
#include "park_word.h"
#include "processer.h"
#include "scheduler_core.h"
#include "stack_overflow.h"
#include "task.h"

namespace co {
namespace detail {
namespace {

constexpr std::uint64_t kPhaseMask = 3;
constexpr std::uint64_t kParking = 1;
constexpr std::uint64_t kParked = 2;
constexpr std::uint64_t kWoken = 0;
constexpr std::uint64_t kTimedOut = 3;
constexpr unsigned kEpochShift = 2;

constexpr std::uint64_t word(std::uint64_t epoch, std::uint64_t phase) noexcept {
  return (epoch << kEpochShift) | phase;
}
constexpr std::uint64_t epoch_of(std::uint64_t w) noexcept {
  return w >> kEpochShift;
}
constexpr std::uint64_t phase_of(std::uint64_t w) noexcept {
  return w & kPhaseMask;
}

// Claims the park; true for the single winner. `by` is kWoken or kTimedOut;
// `waker` is only for the trace.
bool claim(WaitTicket ticket, std::uint64_t by, Waker waker) noexcept {
  Task* tk = ticket.task;
  std::uint64_t w = tk->wait_word.load(std::memory_order_acquire);
  for (;;) {
    if (epoch_of(w) != ticket.epoch) return false;
    std::uint64_t phase = phase_of(w);
    if (phase != kParking && phase != kParked) return false;
    if (tk->wait_word.compare_exchange_weak(w, word(ticket.epoch, by), std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
      // Traced before MakeReady: the wake precedes the run it causes.
      if (trace_on()) trace_wake(tk, waker);
      if (phase == kParked) {
        // Off CPU and now ours: make it runnable.
        const TaskState parked_state = tk->state;
        tk->state = TaskState::runnable;
        COSCOPE_PROBE_TASK_STATE(tk, parked_state, TaskState::runnable);
        tk->scheduler->MakeReady(tk, by == kTimedOut ? ReadyReason::timed_out : ReadyReason::woken);
      }
      return true;
    }
  }
}

}  // namespace

// Out of line and opaque to the optimiser, so no caller can fold two calls
// into one (see park.h).
__attribute__((noinline, noipa)) int& thread_errno() noexcept {
  return errno;
}

std::int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Task* current_task() noexcept {
  Processer* p = Processer::Current();
  return p != nullptr ? p->current : nullptr;
}

namespace {
// For the calls that are only made from a task (documented in park.h).
Task* running_task() noexcept {
  return Processer::Current()->current;
}
}  // namespace

WaitTicket prepare_park() noexcept {
  Task* tk = running_task();
  std::uint64_t epoch = epoch_of(tk->wait_word.load(std::memory_order_relaxed)) + 1;
  tk->wait_word.store(word(epoch, kParking), std::memory_order_release);
  tk->wait_deadline_ns = 0;
  return WaitTicket{tk, epoch};
}

void arm_timer(WaitTicket ticket, std::int64_t deadline_ns) noexcept {
  Task* tk = ticket.task;
  tk->wait_deadline_ns = deadline_ns;
  tk->scheduler->ArmTimer(tk, deadline_ns, ticket.epoch);
}

void throw_forced_unwind(Task* tk) {
  // A second throw means the first was caught and not rethrown: the stack
  // was not unwound and the scheduler's destruction cannot finish.
  if (tk->unwind_thrown) report_swallowed_unwind(tk);
  tk->unwind_thrown = true;
  throw ForcedUnwind{};
}

void report_swallowed_unwind(const Task* tk) noexcept {
  report_fatal_for_task(tk,
                        "a task caught the ForcedUnwind that unwinds it (its scheduler is being "
                        "destroyed) and carried on; catch (...) must rethrow");
}

bool unwinding() noexcept {
  Task* tk = current_task();
  return tk != nullptr && tk->unwind_requested;
}

bool park(TaskState state, WaitReason reason, const void* object, std::int64_t arg,
          SpinLock* unlock, bool unwindable) {
  Task* tk = running_task();
  if (tk->unwind_requested) {
    // The scheduler is being destroyed: do not wait, unwind.
    tk->wait_word.store(word(epoch_of(tk->wait_word.load(std::memory_order_relaxed)), kWoken),
                        std::memory_order_release);  // no longer claimable
    if (unlock != nullptr) unlock->unlock();
    if (tk->wait_deadline_ns != 0) tk->scheduler->DisarmTimer(tk);
    tk->wait_deadline_ns = 0;
    if (!unwindable) return false;
    throw_forced_unwind(tk);
  }
  tk->state = state;
  tk->wait_reason = reason;
  tk->wait_object = object;
  tk->wait_arg = arg;
  tk->unlock_after_switch = unlock;
  COSCOPE_PROBE_TASK_STATE(tk, probe_moment::running, state);

  Processer::SwapOut(tk);  // ---- parked; resumed after a wake or the timer ----

  tk->wait_reason = WaitReason::none;
  tk->wait_object = nullptr;
  tk->wait_arg = 0;
  if (tk->wait_deadline_ns != 0) {
    tk->scheduler->DisarmTimer(tk);
    tk->wait_deadline_ns = 0;
  }
  const bool timed_out = phase_of(tk->wait_word.load(std::memory_order_acquire)) == kTimedOut;
  if (tk->unwind_requested) {
    if (!unwindable) return false;
    throw_forced_unwind(tk);
  }
  return !timed_out;
}

bool mark_parked(Task* tk) noexcept {
  // Publishes "off CPU" before a waker can find the task (the Processer
  // releases the task's unlock_after_switch after this).
  std::uint64_t w = tk->wait_word.load(std::memory_order_relaxed);
  return phase_of(w) == kParking && tk->wait_word.compare_exchange_strong(
                                        w, word(epoch_of(w), kParked), std::memory_order_acq_rel);
}

WaitTicket latest_ticket(Task* tk) noexcept {
  return WaitTicket{tk, epoch_of(tk->wait_word.load(std::memory_order_acquire))};
}

bool wake(WaitTicket ticket) noexcept {
  return claim(ticket, kWoken, Waker::caller);
}

bool wake(WaitTicket ticket, Waker by) noexcept {
  return claim(ticket, kWoken, by);
}

bool wake_by_timer(WaitTicket ticket) noexcept {
  return claim(ticket, kTimedOut, Waker::timer);
}

}  // namespace detail
}  // namespace co
