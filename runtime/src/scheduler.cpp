// SchedulerCore (see scheduler_core.h for the run modes and idling) and the
// public co::Scheduler that fronts it.
#include "scheduler_core.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "context.h"
#include "debug/scheduler_registry.h"
#include "debug/task_registry.h"
#include "debug/trace_log.h"
#include "io/reactor.h"
#include "park_word.h"
#include "stack_pool.h"
#include "stall_watchdog.h"

namespace co {
namespace detail {
namespace {

constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

std::unique_ptr<SchedulingPolicy> make_policy(SchedulingPolicyKind kind) {
  switch (kind) {
    case SchedulingPolicyKind::round_robin:
      return make_round_robin_policy();
    case SchedulingPolicyKind::work_stealing:
      break;
  }
  return make_work_stealing_policy();
}

bool inside_task_of(const SchedulerCore* core) noexcept {
  Processer* p = Processer::Current();
  return p != nullptr && p->core == core;
}

}  // namespace

SchedulerCore::SchedulerCore(Scheduler* owner, const SchedulerOptions& options)
    : owner(owner),
      policy(make_policy(options.policy)),
      idle_waiter(std::make_unique<IdleWaiter>()) {
  scheduler_registry().Add(this);
}

SchedulerCore::~SchedulerCore() {
  Stop();
  if (live_tasks.load() > 0) UnwindAllTasks();
  scheduler_registry().Remove(this);
}

// ---- task life --------------------------------------------------------------

void SchedulerCore::Submit(Task* task) {
  live_tasks.fetch_add(1, std::memory_order_relaxed);
  MakeReady(task, ReadyReason::spawned);
}

void SchedulerCore::MakeReady(Task* task, ReadyReason why) {
  Processer* self = Processer::Current();
  if (self != nullptr && self->core == this && !processer_list_.empty()) {
    // A running task (waking or spawning one) touches its processer's queue,
    // which the stall watchdog may have lent to the other workers.
    const bool in_task = self->current != nullptr;
    if (in_task && self->BeginQueueOpInTask()) {
      self->PushInbox(task);
      self->EndQueueOpInTask();
      NotifyIdle(nullptr);
      return;
    }
    // The poller harvesting I/O counts itself as idle: only the others count.
    const bool self_idle = self->idle_mode.load(std::memory_order_relaxed) != IdleMode::running;
    const bool others_idle = idle_processers.load(std::memory_order_seq_cst) > (self_idle ? 1 : 0);
    Processer* target = policy->Enqueue(task, why, self, processer_list_, others_idle);
    if (in_task) self->EndQueueOpInTask();
    if (target != self) NotifyIdle(target);
    return;
  }
  // Another thread: the processer set may be changing under us (Start/Stop),
  // so announce ourselves; Stop waits for us before collecting queues.
  for (;;) {
    foreign_enqueues_.fetch_add(1, std::memory_order_seq_cst);
    if (mode.load(std::memory_order_seq_cst) != RunMode::stopped) {
      Processer* target = policy->Enqueue(task, why, nullptr, processer_list_,
                                          idle_processers.load(std::memory_order_seq_cst) > 0);
      NotifyIdle(target);
      foreign_enqueues_.fetch_sub(1, std::memory_order_seq_cst);
      return;
    }
    foreign_enqueues_.fetch_sub(1, std::memory_order_seq_cst);
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (mode.load(std::memory_order_seq_cst) == RunMode::stopped) {
      pending_.PushBack(task);
      return;
    }
  }
}

void SchedulerCore::NotifyIdle(Processer* target) noexcept {
  if (idle_processers.load(std::memory_order_seq_cst) == 0) return;
  if (target != nullptr) {
    target->Notify();
    return;
  }
  // A spinning processer finds the work by itself: after each store of its
  // idle mode it looks for work again, before it blocks.
  for (Processer* p : processer_list_) {
    if (p->idle_mode.load(std::memory_order_seq_cst) == IdleMode::spinning) return;
  }
  for (Processer* p : processer_list_) {
    if (p->idle_mode.load(std::memory_order_seq_cst) == IdleMode::sleeping) {
      p->Notify();
      return;
    }
  }
  for (Processer* p : processer_list_) {
    if (p->idle_mode.load(std::memory_order_seq_cst) == IdleMode::polling) {
      p->Notify();
      return;
    }
  }
}

void SchedulerCore::Finish(Task* task) noexcept {
  if (trace_on()) trace_done(task);
  task_registry().Remove(task);
  destroy_task(task);
  if (live_tasks.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
      no_task_waiters_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    no_task_cv_.notify_all();
  }
}

// ---- timers -----------------------------------------------------------------

void SchedulerCore::ArmTimer(Task* task, std::int64_t due_ns, std::uint64_t epoch) {
  timer_lock.lock();
  task->timer.due_ns = due_ns;
  task->timer.epoch = epoch;
  timers.Push(task);
  timer_count.store(timers.size(), std::memory_order_relaxed);
  timer_lock.unlock();
  // The poller sleeps until its deadline: if this timer is earlier, wake it.
  if (due_ns < poller_deadline_ns.load(std::memory_order_seq_cst)) idle_waiter->Interrupt();
}

void SchedulerCore::DisarmTimer(Task* task) noexcept {
  timer_lock.lock();
  timers.Remove(task);
  task->timer.due_ns = 0;
  timer_count.store(timers.size(), std::memory_order_relaxed);
  timer_lock.unlock();
}

void SchedulerCore::ResetInChild() noexcept {
  new (&timer_lock) SpinLock();  // a parent thread may have held it at the fork
  for (Task* t : timers.entries()) {
    t->timer.heap_index = TimerQueue::npos;
    t->timer.due_ns = 0;
  }
  timers = TimerQueue{};
  timer_count.store(0);
  idle_waiter->ResetInChild();
}

std::size_t SchedulerCore::FireTimers(std::int64_t now) {
  if (timer_count.load(std::memory_order_relaxed) == 0) return 0;
  std::size_t fired = 0;
  // Claim under the lock: a task woken otherwise must pass DisarmTimer (which
  // takes this lock) before it can finish, so no popped task is freed here.
  timer_lock.lock();
  last_timer_pass_ns = now;
  while (Task* tk = timers.PopDue(now)) {
    tk->timer.due_ns = 0;
    if (wake_by_timer(WaitTicket{tk, tk->timer.epoch})) ++fired;
  }
  timer_count.store(timers.size(), std::memory_order_relaxed);
  timer_lock.unlock();
  return fired;
}

// ---- idling -----------------------------------------------------------------

bool SchedulerCore::ShouldStop(Processer* /*p*/) const noexcept {
  switch (mode.load(std::memory_order_seq_cst)) {
    case RunMode::run_until_no_task:
      return live_tasks.load(std::memory_order_acquire) == 0;
    case RunMode::started:
      return stop_requested.load(std::memory_order_seq_cst);
    case RunMode::stopped:
      break;
  }
  return true;
}

bool SchedulerCore::SpinForWork(Processer* p, std::span<Processer* const> all) {
  // Only while another processer runs tasks: with every processer idle, work
  // comes from I/O, timers or other threads, which the poller waits for.
  auto others_running = [&] {
    return static_cast<std::size_t>(idle_processers.load(std::memory_order_seq_cst)) < all.size();
  };
  if (all.size() < 2 || !others_running()) return false;
  // And only while a hand-off is going on (some processer holds a runnext,
  // processer.h): elsewhere (tasks woken by the reactor, spawned, yielding)
  // the spin would only take CPU time from the running ones.
  if (!AnyRunnext(all)) return false;
  p->idle_mode.store(IdleMode::spinning, std::memory_order_seq_cst);
  const std::int64_t give_up_ns = now_ns() + kSpinNs;
  bool found = false;
  for (;;) {
    if (policy->HasWorkToTake(p, all) || ShouldStop(p)) {
      found = true;
      break;
    }
    // Not while it waits to take a task (policy_work_stealing.cpp): it would
    // sleep through the end of the wait.
    if ((p->steal_watch == nullptr && now_ns() > give_up_ns) || !others_running()) break;
    // Looked at now and then: each look reads cache lines that the running
    // processers write at every switch.
    for (int i = 0; i < 128; ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
  p->idle_mode.store(IdleMode::running, std::memory_order_seq_cst);
  return found;
}

bool SchedulerCore::AnyRunnext(std::span<Processer* const> all) noexcept {
  for (const Processer* other : all) {
    // seq_cst: read after this processer's store of its idle mode, as the
    // waker reads idle modes after its store of runnext (NotifyIdle).
    if (other->runnext.load(std::memory_order_seq_cst) != nullptr) return true;
  }
  return false;
}

void SchedulerCore::Idle(Processer* p) {
  const auto all = processers();
  idle_processers.fetch_add(1, std::memory_order_seq_cst);
  if (SpinForWork(p, all)) {
    idle_processers.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  if (!poller_busy.exchange(true, std::memory_order_acq_rel)) {
    // The poller: wait in the idle waiter until I/O, the next timer, or new work.
    p->idle_mode.store(IdleMode::polling, std::memory_order_seq_cst);
    // A runnext of another processer is work too: without it, a waker that
    // saw this processer still running (no wake) would leave it blocked.
    if (!policy->HasWork(p, all) && !AnyRunnext(all) && !ShouldStop(p) &&
        FireTimers(now_ns()) == 0) {
      timer_lock.lock();
      std::int64_t next = timers.NextDue();
      poller_deadline_ns.store(next, std::memory_order_seq_cst);
      timer_lock.unlock();
      std::int64_t timeout = -1;
      if (next != kNoDeadline) {
        timeout = next - now_ns();
        if (timeout < 0) timeout = 0;
      }
      idle_waiter->Wait(timeout);
      poller_deadline_ns.store(std::numeric_limits<std::int64_t>::min(), std::memory_order_seq_cst);
      FireTimers(now_ns());
    }
    p->idle_mode.store(IdleMode::running, std::memory_order_seq_cst);
    stall_watchdog_wake_if_sleeping();
    poller_busy.store(false, std::memory_order_release);
    idle_processers.fetch_sub(1, std::memory_order_seq_cst);
    // Hand the poller role on: a sleeping processer becomes the next poller,
    // so timers stay watched while we run tasks.
    if (timer_count.load(std::memory_order_relaxed) > 0) {
      for (Processer* other : all) {
        if (other != p && other->idle_mode.load(std::memory_order_seq_cst) == IdleMode::sleeping) {
          other->Notify();
          break;
        }
      }
    }
    return;
  }
  // Someone else polls: sleep until notified.
  p->wake_signal.store(0, std::memory_order_seq_cst);
  p->idle_mode.store(IdleMode::sleeping, std::memory_order_seq_cst);
  if (!policy->HasWork(p, all) && !AnyRunnext(all) && !ShouldStop(p) &&
      poller_busy.load(std::memory_order_seq_cst)) {
    futex_wait(&p->wake_signal, 0);
  }
  p->idle_mode.store(IdleMode::running, std::memory_order_seq_cst);
  stall_watchdog_wake_if_sleeping();
  idle_processers.fetch_sub(1, std::memory_order_seq_cst);
}

void SchedulerCore::PollWhileBusy(Processer* /*p*/) {
  const bool io = io_waiter_count() > 0;
  if (timer_count.load(std::memory_order_relaxed) == 0 && !io) return;
  if (poller_busy.exchange(true, std::memory_order_acq_rel)) return;
  if (io) reactor().Harvest();
  FireTimers(now_ns());
  poller_busy.store(false, std::memory_order_release);
}

// ---- run modes --------------------------------------------------------------

void SchedulerCore::InstallProcessers(std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    processers_.push_back(std::make_unique<Processer>(this, i));
    processer_list_.push_back(processers_.back().get());
  }
  processer_table = processer_list_.data();
  processer_count = processer_list_.size();
  // Tasks that became ready while stopped: deal them out.
  while (Task* t = pending_.PopFront()) {
    policy->Enqueue(t, ReadyReason::spawned, nullptr, processer_list_, false);
  }
}

void SchedulerCore::RemoveProcessers() {
  while (foreign_enqueues_.load(std::memory_order_seq_cst) != 0) {
    std::this_thread::yield();
  }
  for (Processer* p : processer_list_) {
    if (Task* next = p->runnext.exchange(nullptr, std::memory_order_acq_rel)) {
      pending_.PushBack(next);
    }
    pending_.Append(p->local);
    p->DrainInbox(pending_);
  }
  processer_count = 0;
  processer_table = nullptr;
  processer_list_.clear();
  processers_.clear();
}

void SchedulerCore::RunUntilNoTask() {
  if (Processer::Current() != nullptr) {
    throw std::logic_error("coscope: RunUntilNoTask() called from inside a task");
  }
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (mode.load() != RunMode::stopped) {
      throw std::logic_error("coscope: RunUntilNoTask() on a scheduler that is already running");
    }
    InstallProcessers(1);
    mode.store(RunMode::run_until_no_task, std::memory_order_seq_cst);
  }
  processer_list_[0]->Run();
  std::lock_guard<std::mutex> lock(state_mutex_);
  mode.store(RunMode::stopped, std::memory_order_seq_cst);
  RemoveProcessers();
}

void SchedulerCore::Start(std::size_t workers) {
  if (workers == 0 || workers > Scheduler::kMaxWorkers) {
    throw std::invalid_argument("coscope: Scheduler::Start(" + std::to_string(workers) +
                                "): the number of workers must be 1 to " +
                                std::to_string(Scheduler::kMaxWorkers));
  }
  std::lock_guard<std::mutex> lock(state_mutex_);
  if (mode.load() != RunMode::stopped) {
    throw std::logic_error("coscope: Scheduler::Start on a scheduler that is already running");
  }
  InstallProcessers(workers);
  stop_requested.store(false, std::memory_order_seq_cst);
  mode.store(RunMode::started, std::memory_order_seq_cst);
  stall_watchdog_start();
  for (Processer* p : processer_list_) {
    threads_.emplace_back([p] { p->Run(); });
  }
}

void SchedulerCore::Stop() {
  if (inside_task_of(this)) {
    throw std::logic_error("coscope: Scheduler::Stop called from one of its own tasks");
  }
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (mode.load() != RunMode::started) return;
    stop_requested.store(true, std::memory_order_seq_cst);
    threads.swap(threads_);
  }
  for (Processer* p : processer_list_) p->Notify();
  for (std::thread& t : threads) t.join();
  std::lock_guard<std::mutex> lock(state_mutex_);
  mode.store(RunMode::stopped, std::memory_order_seq_cst);
  RemoveProcessers();
}

void SchedulerCore::WaitUntilNoTask() {
  if (Processer::Current() != nullptr) {
    throw std::logic_error("coscope: WaitUntilNoTask() called from inside a task");
  }
  no_task_waiters_.fetch_add(1, std::memory_order_seq_cst);
  std::unique_lock<std::mutex> lock(state_mutex_);
  if (mode.load() != RunMode::started && live_tasks.load() != 0) {
    no_task_waiters_.fetch_sub(1, std::memory_order_seq_cst);
    throw std::logic_error("coscope: WaitUntilNoTask() on a scheduler that is not started");
  }
  no_task_cv_.wait(lock, [this] { return live_tasks.load(std::memory_order_acquire) == 0; });
  no_task_waiters_.fetch_sub(1, std::memory_order_seq_cst);
}

// ---- destruction ------------------------------------------------------------

void SchedulerCore::UnwindAllTasks() {
  // No timer may fire any more: the tasks below are woken by us instead.
  timer_lock.lock();
  for (Task* t : timers.entries()) t->timer.heap_index = TimerQueue::npos;
  timers = TimerQueue{};
  timer_count.store(0);
  timer_lock.unlock();

  for (int round = 0; round < 3 && live_tasks.load() > 0; ++round) {
    // Wake every parked task with an unwind request; they end up in pending_.
    std::vector<Task*> parked;
    task_registry().ForEach([&](Task& t) {
      if (t.scheduler != this) return;
      t.unwind_requested = true;
      if (t.state != TaskState::runnable && t.state != TaskState::done) parked.push_back(&t);
    });
    for (Task* t : parked) {
      wake(latest_ticket(t), Waker::unwind);
    }
    // Tasks that never ran are freed without running; the rest unwind.
    TaskQueue to_unwind;
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      while (Task* t = pending_.PopFront()) {
        if (t->context == nullptr) {
          t->closure_ops->destroy(t->closure);
          Finish(t);
        } else {
          to_unwind.PushBack(t);
        }
      }
      pending_.Append(to_unwind);
      InstallProcessers(1);
      processer_list_[0]->draining = true;
      mode.store(RunMode::run_until_no_task, std::memory_order_seq_cst);
    }
    processer_list_[0]->Run();
    std::lock_guard<std::mutex> lock(state_mutex_);
    mode.store(RunMode::stopped, std::memory_order_seq_cst);
    RemoveProcessers();
  }
  // Whatever is left refused to unwind: report it, reclaim what we can.
  std::vector<Task*> stuck;
  task_registry().ForEach([&](Task& t) {
    if (t.scheduler == this) stuck.push_back(&t);
  });
  for (Task* t : stuck) {
    char buf[512];
    std::fprintf(stderr,
                 "coscope: task %s did not unwind when its scheduler was destroyed; its stack "
                 "is freed without running destructors\n",
                 describe_task(t, buf, sizeof buf));
    task_registry().Remove(t);
    destroy_task(t);
    live_tasks.fetch_sub(1);
  }
  std::lock_guard<std::mutex> lock(state_mutex_);
  pending_ = TaskQueue{};
}

SchedulerCore* default_scheduler_core() {
  return Scheduler::Default().core();
}

}  // namespace detail

// ---- co::Scheduler ----------------------------------------------------------

Scheduler::Scheduler(const SchedulerOptions& options)
    : core_(std::make_unique<detail::SchedulerCore>(this, options)) {}

Scheduler::~Scheduler() = default;

Scheduler& Scheduler::Default() {
  // Never destroyed: tasks may still be parked on it while the process exits.
  static Scheduler* instance = new Scheduler();
  return *instance;
}

void Scheduler::RunUntilNoTask() {
  core_->RunUntilNoTask();
}
void Scheduler::Start(std::size_t workers) {
  core_->Start(workers);
}
void Scheduler::Stop() {
  core_->Stop();
}
void Scheduler::WaitUntilNoTask() {
  core_->WaitUntilNoTask();
}

bool Scheduler::IsRunning() const noexcept {
  return core_->mode.load() != detail::RunMode::stopped;
}

std::size_t Scheduler::LiveTaskCount() const noexcept {
  return core_->live_tasks.load();
}

std::size_t Scheduler::WorkerCount() const noexcept {
  return core_->processers().size();
}

}  // namespace co
