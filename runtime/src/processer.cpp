// Processer::Run and the task state machine.
//
//                 spawn
//                   |
//                   v         SwapIn                    (task body returns)
//   +---------> runnable ------------> [running] ------------------------> done
//   |               ^                   |  |  |
//   |  yield()      |                   |  |  +-- park(sleep) ------> sleep
//   +---------------+-------------------+  +-- park(sys_block) ---> sys_block
//                   |                      +-- park(io_block) ----> io_block
//                   |   wake() / timer / reactor                        |
//                   +---------------------------------------------------+
//
// "running" is not a state of its own: a running task is `runnable` and is
// its processer's `current`. A task changes state only on its own stack
// (park sets the parked state before SwapOut) or while exclusively owned by
// whoever makes it ready again; see park.cpp for how a wake that races with
// the switch-out is handed over.
//
// After SwapIn returns, Run looks at the task's state:
//   done      -> the scheduler releases it (stack back to the pool);
//   runnable  -> it yielded: back into a run queue;
//   parked    -> it stays with whoever will wake it, unless it was woken
//                while still switching out, in which case Run requeues it.
//
// One shortcut: yield() switches straight to the next local task
// (Processer::Yield, context_handoff) when Run would do nothing but requeue
// the yielder and pick that task; it halves the switches of a yield and still
// traces swap out/in. Every park, wake, finish and first run goes through
// Run, SwapIn and SwapOut.
//
// Every change of state, and each swap in, fires the coscope:task_state probe
// (probes.h): one nop unless a debugger listens.
//
// Rejected alternative: a dispatcher thread that moves tasks between
// processers on a tick (adds latency to every wake).
#include "processer.h"

#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "context.h"
#include "debug/probes.h"
#include "debug/trace_log.h"
#include "park_word.h"
#include "scheduler_core.h"
#include "stack_overflow.h"
#include "stack_pool.h"
#include "stall_watchdog.h"

namespace co {
namespace detail {
constinit thread_local Processer* t_processer = nullptr;

namespace {

// Stores to the fields the stall watchdog samples from its own thread:
// relaxed atomic stores, the same plain `mov` as before on x86-64.
inline void set_current(Processer* p, Task* tk) noexcept {
  std::atomic_ref<Task*>(p->current).store(tk, std::memory_order_relaxed);
}
inline void count_switch(Processer* p) noexcept {
  std::atomic_ref<std::uint64_t>(p->switch_count)
      .store(p->switch_count + 1, std::memory_order_relaxed);
}

}  // namespace

std::uint64_t Processer::NextSerial() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Processer::WaitNotDeciding() noexcept {
  std::uint64_t w = watch_word.load(std::memory_order_acquire);
  while ((w & kLendMask) == static_cast<std::uint64_t>(LendState::deciding)) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    w = watch_word.load(std::memory_order_acquire);
  }
  return w;
}

void Processer::AfterWatched(const Task* tk) noexcept {
  // The watchdog is done with `local` (or never took it); the report, if
  // any, is ours to close: exactly one of us and the watchdog takes it.
  WaitNotDeciding();
  const std::uint64_t old = watch_word.exchange(0, std::memory_order_acq_rel);
  const std::uint64_t reported = old >> kReportShift;
  if (reported != 0) {
    stall_over_by_owner(this, reported == switch_count ? tk : nullptr,
                        stall_task_id.load(std::memory_order_relaxed),
                        stall_since_ns.load(std::memory_order_relaxed));
  }
}

void Processer::PushInbox(Task* t) noexcept {
  inbox_lock.lock();
  inbox.PushBack(t);
  inbox_size.store(inbox.size, std::memory_order_seq_cst);
  inbox_lock.unlock();
}

void Processer::DrainInbox(TaskQueue& out) noexcept {
  inbox_lock.lock();
  out.Append(inbox);
  inbox_size.store(0, std::memory_order_relaxed);
  inbox_lock.unlock();
}

std::size_t Processer::StealInbox(TaskQueue& out) noexcept {
  if (!inbox_lock.try_lock()) return 0;
  std::size_t take = (inbox.size + 1) / 2;
  for (std::size_t i = 0; i < take; ++i) out.PushBack(inbox.PopFront());
  inbox_size.store(inbox.size, std::memory_order_relaxed);
  inbox_lock.unlock();
  return take;
}

void Processer::Notify() noexcept {
  const IdleMode m = idle_mode.load(std::memory_order_seq_cst);
  if (m == IdleMode::sleeping) {
    wake_signal.store(1, std::memory_order_seq_cst);
    ::syscall(SYS_futex, &wake_signal, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  } else if (m == IdleMode::polling) {
    core->idle_waiter->Interrupt();
  }
}

void Processer::Run() {
  Processer* saved = t_processer;
  t_processer = this;
  std::atomic_ref<long>(thread_id).store(static_cast<long>(::syscall(SYS_gettid)),
                                         std::memory_order_relaxed);
  stall_watchdog_note_running();
  install_overflow_handler_for_thread();
  context_bind_thread(this);
  // The kernel lets a sleeping thread's timer fire up to its timer slack late
  // (50 us by default): the idle wait is for the next task timer, so it asks
  // for none while this thread runs the scheduler, and gives the old back.
  const int saved_slack = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  ::prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
  SchedulingPolicy& policy = *core->policy;
  const auto all = core->processers();
  for (;;) {
    Task* tk = policy.Dequeue(this, all);
    if (tk != nullptr) {
      SwapIn(tk);
      if (++tick % SchedulerCore::kPollInterval == 0) core->PollWhileBusy(this);
      // Stop() takes effect between tasks, even while ready tasks remain
      // (a draining processer runs to the end instead).
      if (!draining && core->stop_requested.load(std::memory_order_relaxed)) break;
      continue;
    }
    if (draining || core->ShouldStop(this)) break;
    core->Idle(this);
  }
  if (saved_slack > 0) ::prctl(PR_SET_TIMERSLACK, saved_slack, 0, 0, 0);
  remove_overflow_handler_for_thread();
  std::atomic_ref<long>(thread_id).store(0, std::memory_order_relaxed);
  t_processer = saved;
}

void Processer::SwapIn(Task* tk) {
  if (tk->context == nullptr) {
    if (!allocate_stack(tk->stack.size, &tk->stack)) {
      report_stack_allocation_failure(tk, errno);
    }
    context_start(tk);
  }
  tk->processer = this;
  set_current(this, tk);
  count_switch(this);
  ++tk->switch_count;
  yielder_return = nullptr;  // no return from yield() is predicted (yield_entry.S)
  if (trace_on()) trace_swap_in(tk);
  COSCOPE_PROBE_TASK_STATE(tk, TaskState::runnable, probe_moment::running);

  // ---- the task runs until it (or a task it handed off to) comes back ----
  tk = context_resume(tk);

  set_current(this, nullptr);
  // The stall watchdog may have reported the run or lent `local` meanwhile:
  // it saw a non-null `current` after its membarrier, so this load sees it.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (__builtin_expect(watch_word.load(std::memory_order_relaxed) != 0, 0)) AfterWatched(tk);
  check_stack_at_switch_out(tk, tk->context);  // the context is saved on its stack
  if (trace_on()) trace_swap_out(tk);
  switch (tk->state) {
    case TaskState::done:
      core->Finish(tk);
      return;
    case TaskState::runnable:
      core->MakeReady(tk, ReadyReason::yielded);
      return;
    default: {
      const TaskState parked_state = tk->state;
      SpinLock* unlock = tk->unlock_after_switch;
      tk->unlock_after_switch = nullptr;
      // Publish "off CPU" before a waker can find the task through `unlock`.
      const bool parked = mark_parked(tk);
      if (unlock != nullptr) unlock->unlock();
      if (!parked) {
        // Woken before it was off its stack: the waker left the requeue to us.
        tk->state = TaskState::runnable;
        COSCOPE_PROBE_TASK_STATE(tk, parked_state, TaskState::runnable);
        core->MakeReady(tk, ReadyReason::woken);
      }
      return;
    }
  }
}

void Processer::SwapOut(Task* tk) {
  context_suspend(tk);
}

// Yield's hand-off once it is decided: `local` rotates (next leaves the
// front, tk joins the back) and next becomes current. Owner-only queue:
// nobody can resume tk before it is off its stack.
inline void Processer::RotateTo(Task* tk, Task* next, const void* return_address) noexcept {
  local.RotateFrontToBack(tk);
  yielder_return = return_address;
  next->processer = this;
  set_current(this, next);
  ++next->switch_count;
}

// The hand-off with tracing on: out of line, so that the common path makes
// no call it would have to keep registers across.
__attribute__((noinline, cold)) void Processer::HandOffTraced(Task* tk, Task* next,
                                                              const void* return_address) {
  trace_swap_out(tk);
  RotateTo(tk, next, return_address);
  trace_swap_in(next);
  COSCOPE_PROBE_TASK_STATE(next, TaskState::runnable, probe_moment::running);
  context_handoff(this, tk, next);
}

void Processer::Yield(Task* tk, const void* return_address) {
  // The fast path applies only where Run would pick the local queue's head
  // anyway and have nothing else to do between the two tasks: nobody idle to
  // share work with, no stop pending, not a round where Run polls timers and
  // I/O or the policy looks at the inbox, and a head that has a stack already.
  //
  // It touches `local` while tk is `current`. The switch count, bumped
  // before that (and put back if Run takes over), tells the stall watchdog
  // that tk's run is over, so it keeps off the queue; and a watchdog that
  // has a say already (watch_word) sends the yield through Run.
  COSCOPE_PROBE_TASK_STATE(tk, probe_moment::running, TaskState::runnable);
  const std::uint64_t switches = switch_count;
  std::atomic_ref<std::uint64_t>(switch_count).store(switches + 1, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the watchdog's membarrier pairs with it
  Task* next = watch_word.load(std::memory_order_relaxed) == 0 ? local.head : nullptr;
  if (next == nullptr || next->context == nullptr || (tick + 1) % kInboxRound == 0 ||
      runnext.load(std::memory_order_relaxed) != nullptr ||
      core->idle_processers.load(std::memory_order_relaxed) != 0 ||
      core->stop_requested.load(std::memory_order_relaxed)) [[unlikely]] {
    // Until Run (where `current` is null) the queue is not touched.
    std::atomic_ref<std::uint64_t>(switch_count).store(switches, std::memory_order_relaxed);
    SwapOut(tk);  // state stays runnable: Run requeues it
    return;
  }
  ++tick;
  check_stack_at_switch_out(tk, current_stack_pointer());  // still on tk's stack
  if (trace_on()) [[unlikely]] {
    HandOffTraced(tk, next, return_address);
    return;
  }
  RotateTo(tk, next, return_address);
  COSCOPE_PROBE_TASK_STATE(next, TaskState::runnable, probe_moment::running);
  context_handoff(this, tk, next);
}

}  // namespace detail
}  // namespace co
