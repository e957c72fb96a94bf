// The stall watchdog (see stall_watchdog.h for what it reports).
//
// One thread for the process, started by the first processer that runs
// (unless COSCOPE_STALL_MS=0). Every threshold/4 it samples, for every
// processer of every scheduler, the fields the processer writes anyway:
// `switch_count` (bumped at every switch into a task), `current` and
// `thread_id`. It keeps its own record per processer (a Watch):
//
//   watching ---- same task, counter still, for >= threshold ----> stalled
//      ^          (warning written, report published; see below)      |
//      |                                                              |
//      +---------- counter moved, no task, or processer gone ---------+
//
// "watching" remembers the counter and the task with the time of the first
// sample that saw them; run times are counted from there, so they err short
// by up to one sample period. A pass that comes a whole threshold later
// than its period means the whole process was stopped (a debugger at a
// breakpoint, SIGSTOP): the gap is not counted as anyone's run time.
// Nothing is written on the switch path for the watchdog: the stores to
// `current` and `switch_count` are relaxed atomic stores, the same
// instructions as before.
//
// When every processer is idle (or none runs) the watchdog sleeps on a futex
// with no timeout; a processer that starts running or leaves Idle() wakes it
// (Processer::Run, SchedulerCore::Idle: one load of g_stall_watchdog_sleeping
// after their seq_cst store of idle_mode, a Dekker pair with the watchdog's
// store of the flag and its loads of idle_mode).
//
// The report. Processer::watch_word holds the switch_count of the reported
// run and the state of the `local` queue (LendState):
//
//            CAS 0 -> report|deciding       owner in the task: queue moved
//   0 ------------------------------> deciding -------------------> report|lent
//   |  (with one worker or               |  owner at a mark:          |
//   |   round_robin: report|owned)       v  report|owned              |
//   |                                 report|owned                    |
//   +<---- owner back in Run: exchange(0), writes "stall over" -------+
//
// The owner touches `local` in three places: in Run (while `current` is
// null), in the yield shortcut (which bumps `switch_count` first) and when
// a running task wakes or spawns a task (announced in `queue_busy`). Each
// first stores its mark (current = null, the count, or queue_busy = true),
// then loads watch_word, with only a compiler barrier between; the watchdog stores the word, then
// runs membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which makes every thread of the process pass a
// full barrier, then loads the marks. So either the owner sees the word (waits while `deciding`,
// and back in Run takes the report: it writes the "stall over" line on its own thread, right after
// the task's last output, with the task it just ran), or the watchdog sees
// the mark (then it moves nothing; if the run is over it takes the report
// back with a CAS and writes the end itself: exactly one of them does).
// The warning is written before the report is published, so the end never
// comes first.
//
// Lending the queue: a processer's `local` queue is its own thread's alone,
// so tasks queued there would wait for the stalled task. With the
// work-stealing policy and two or more workers the watchdog moves them to
// the processer's inbox, which idle workers steal from, and wakes one.
// While `lent`, the stalled task's wakes and spawns go to the inbox. The
// owner's cost is a load after each switch back and in the yield shortcut. Without membarrier (old
// kernels, some sandboxes) or under ThreadSanitizer (which knows nothing of it) nothing is lent.
//
// Rejected alternatives: a timestamp per switch (a clock read on the switch
// path, for a value needed only when something is wrong); the watchdog
// writing the end of every stall (it would come up to a sample period late,
// after whatever the program printed meanwhile, or never, if the program
// exits first); a signal to the stalled thread to find out where it is (it
// would end the blocked call with EINTR, changing the program's
// behaviour); a lock on `local` (an atomic operation on every switch);
// stealing from `local` with a Chase-Lev deque (a fence on every pop, see
// policy_work_stealing.cpp).
#include "stall_watchdog.h"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "debug/scheduler_registry.h"
#include "debug/task_registry.h"
#include "debug/trace_log.h"
#include "processer.h"
#include "scheduler_core.h"
#include "thread_syscall.h"

#if defined(__SANITIZE_THREAD__)
#define COSCOPE_STALL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COSCOPE_STALL_TSAN 1
#endif
#endif

namespace co {
namespace detail {

std::atomic<bool> g_stall_watchdog_sleeping{false};

#ifdef COSCOPE_STALL_TSAN
constexpr bool kUnderTsan = true;
#else
constexpr bool kUnderTsan = false;
#endif

namespace {

constexpr std::int64_t kDefaultThresholdMs = 100;
constexpr std::int64_t kMs = 1'000'000;

std::int64_t parse_threshold() noexcept {
  const char* env = std::getenv("COSCOPE_STALL_MS");
  if (env == nullptr || *env == '\0') return kDefaultThresholdMs * kMs;
  char* end = nullptr;
  const long long ms = std::strtoll(env, &end, 10);
  if (*end != '\0' || ms < 0 || ms > 86'400'000) {
    std::fprintf(stderr,
                 "coscope: COSCOPE_STALL_MS=%s is not a number of milliseconds (0 to 86400000); "
                 "using %lld\n",
                 env, static_cast<long long>(kDefaultThresholdMs));
    return kDefaultThresholdMs * kMs;
  }
  return ms * kMs;
}

/// What the report says about a task, copied while the task is certainly alive.
struct TaskInfo {
  TaskId id = 0;
  char name[kTaskNameMax + 1] = {};
  const char* file = nullptr;
  int line = 0;
};

/// The watchdog's record of one processer.
struct Watch {
  const Processer* processer;
  std::uint64_t serial;  ///< Processer::serial: a new processer at the same address differs
  std::uint64_t core_id;
  std::size_t index;
  long tid;
  std::uint64_t switches;  ///< switch_count when `since_ns` was taken
  const Task* task;        ///< current then
  std::int64_t since_ns;   ///< first sample that saw (switches, task)
  bool stalled;            ///< reported, not over
  bool seen;               ///< found in this sample
  TaskInfo info;           ///< the stalled task, for the "over" line
};

std::string task_text(const TaskInfo& info) {
  std::string s = "task #" + std::to_string(info.id);
  if (info.name[0] != '\0') s += std::string(" \"") + info.name + "\"";
  s += std::string(" (created at ") + (info.file != nullptr ? info.file : "?") + ":" +
       std::to_string(info.line) + ")";
  return s;
}

std::string where_text(const Watch& w) {
  return "processer " + std::to_string(w.index) + " (scheduler " + std::to_string(w.core_id) +
         ", LWP " + std::to_string(w.tid) + ")";
}

long long ms_between(std::int64_t from, std::int64_t to) {
  return static_cast<long long>((to - from) / kMs);
}

/// Copies what the report needs from `task` if it is still registered
/// (never dereferencing it otherwise: it may have finished and been freed).
bool copy_task_info(const Task* task, TaskInfo* out) {
  bool found = false;
  task_registry().ForEach([&](const Task& t) {
    if (&t != task) return;
    out->id = t.id;
    std::strncpy(out->name, task_name(t), sizeof out->name - 1);
    out->name[sizeof out->name - 1] = '\0';
    out->file = t.created_file;
    out->line = t.created_line;
    found = true;
  });
  return found;
}

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                const timespec* timeout) noexcept {
  ::syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout, nullptr, 0);
}

/// Held by the watchdog for each pass over the processers (and its log
/// lines), and by fork() from its prepare handler to its end.
std::mutex g_pass_mutex;

class Watchdog {
 public:
  explicit Watchdog(std::int64_t threshold_ns)
      : threshold_ns_(threshold_ns),
        period_ns_(threshold_ns / 4 > kMs ? threshold_ns / 4 : kMs),
        barrier_ok_(register_membarrier()),
        lending_(barrier_ok_ && !kUnderTsan) {}

  [[noreturn]] void Loop() {
    std::vector<std::string> lines;
    for (;;) {
      bool active;
      {
        // fork() waits for a pass to end (see fork_prepare): a child never
        // inherits a lock the pass held.
        std::lock_guard<std::mutex> pass(g_pass_mutex);
        lines.clear();
        active = Sample(now_ns(), lines);
        for (const std::string& line : lines) log_warning(line);
      }
      if (!active) {
        wake_word_.store(0, std::memory_order_seq_cst);
        g_stall_watchdog_sleeping.store(true, std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        bool any;
        {
          std::lock_guard<std::mutex> pass(g_pass_mutex);
          any = AnyActive();
        }
        if (!any) futex_wait(&wake_word_, 0, nullptr);
        last_pass_ns_ = 0;  // asleep on purpose: not a pause
        g_stall_watchdog_sleeping.store(false, std::memory_order_seq_cst);
        continue;
      }
      timespec ts{static_cast<time_t>(period_ns_ / 1'000'000'000),
                  static_cast<long>(period_ns_ % 1'000'000'000)};
      ::syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, nullptr);
    }
  }

  void Wake() noexcept {
    wake_word_.store(1, std::memory_order_seq_cst);
    ::syscall(SYS_futex, &wake_word_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

 private:
  static bool register_membarrier() noexcept {
    return ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  }

  /// Calls fn(core, processer, index) for every installed processer. Holds
  /// the scheduler registry's lock (no scheduler is destroyed meanwhile) and
  /// each scheduler's state lock in turn (its processers stay installed);
  /// a scheduler being started or stopped is skipped and reported in `busy`.
  template <class Fn>
  void ForEachProcesser(Fn&& fn, std::vector<std::uint64_t>* busy) {
    SchedulerRegistry& registry = scheduler_registry();
    if (!registry.lock.try_lock()) {  // held by fork's prepare handler (after_fork.cpp)
      if (busy != nullptr) busy->push_back(0);
      return;
    }
    for (SchedulerCore* core = registry.head; core != nullptr; core = core->registry_next) {
      if (!core->TryLockProcessers()) {
        if (busy != nullptr) busy->push_back(core->id);
        continue;
      }
      for (std::size_t i = 0; i < core->processer_count; ++i) {
        fn(core, core->processer_table[i], i);
      }
      core->UnlockProcessers();
    }
    registry.lock.unlock();
  }

  static bool Active(const Processer* p) noexcept {
    return p->ThreadIdForWatchdog() != 0 &&
           p->idle_mode.load(std::memory_order_seq_cst) == IdleMode::running;
  }

  bool AnyActive() {
    bool active = false;
    std::vector<std::uint64_t> busy;
    ForEachProcesser([&](SchedulerCore*, Processer* p, std::size_t) { active |= Active(p); },
                     &busy);
    return active || !busy.empty();
  }

  Watch& Find(SchedulerCore* core, const Processer* p, std::size_t index) {
    for (Watch& w : watches_) {
      if (w.processer == p && w.serial == p->serial) return w;
    }
    watches_.push_back(Watch{p, p->serial, core->id, index, 0, 0, nullptr, 0, false, false, {}});
    Watch& w = watches_.back();
    w.switches = p->SwitchCountForWatchdog() + 1;  // differs: starts watching below
    return w;
  }

  /// One pass over every processer; returns whether any is running.
  bool Sample(std::int64_t now, std::vector<std::string>& lines) {
    // A pass far later than asked for means the whole process was stopped
    // (a debugger's breakpoint, SIGSTOP) or starved: that time is nobody's
    // run time.
    if (last_pass_ns_ != 0 && now - last_pass_ns_ > period_ns_ + threshold_ns_) {
      const std::int64_t paused = now - last_pass_ns_ - period_ns_;
      for (Watch& w : watches_) w.since_ns += paused;
    }
    last_pass_ns_ = now;
    for (Watch& w : watches_) w.seen = false;
    bool active = false;
    std::vector<std::uint64_t> busy;
    ForEachProcesser(
        [&](SchedulerCore* core, Processer* p, std::size_t index) {
          active |= Active(p);
          Look(core, p, Find(core, p, index), now, lines);
        },
        &busy);
    // Forget processers that are gone (a scheduler stopped or destroyed).
    // A stall ends before its processer leaves its loop, which writes its end.
    for (std::size_t i = 0; i < watches_.size();) {
      bool skipped = false;
      for (std::uint64_t id : busy) skipped |= (id == watches_[i].core_id || id == 0);
      if (watches_[i].seen || skipped) {
        ++i;
      } else {
        watches_[i] = watches_.back();
        watches_.pop_back();
      }
    }
    return active || !busy.empty();
  }

  void Look(SchedulerCore* core, Processer* p, Watch& w, std::int64_t now,
            std::vector<std::string>& lines) {
    w.seen = true;
    const long tid = p->ThreadIdForWatchdog();
    Task* const cur = p->CurrentForWatchdog();
    const std::uint64_t count = p->SwitchCountForWatchdog();
    p->watch_sample_ns = now;
    p->watch_since_ns = w.since_ns;
    if (tid == 0 || cur == nullptr || count != w.switches || cur != w.task) {
      w.tid = tid;
      w.switches = count;
      w.task = cur;
      w.since_ns = now;
      w.stalled = false;
      p->watch_since_ns = now;
      p->watch_switch_count = count;
      return;
    }
    const bool lending = lending_ && core->processer_count > 1 && core->policy->SharesInboxes();
    if (!w.stalled && now - w.since_ns >= threshold_ns_) {
      TaskInfo info;
      if (!copy_task_info(cur, &info) || p->SwitchCountForWatchdog() != count ||
          p->CurrentForWatchdog() != cur) {
        return;  // it switched out meanwhile: the next sample sees it
      }
      w.stalled = true;
      w.info = info;
      // The warning goes out before the report is published, so that the
      // end, which the owner may write as soon as it sees the report, never
      // comes first.
      const ThreadSyscall call = read_thread_syscall(tid);
      std::string line = "stall: " + task_text(info) + " has run for " +
                         std::to_string(ms_between(w.since_ns, now)) + " ms on " + where_text(w) +
                         " without switching out; its thread is in " +
                         describe_thread_syscall(call);
      const std::string why = explain_thread_syscall(call);
      if (!why.empty()) line += ": " + why;
      log_warning(line);
      if (!Publish(p, w, cur, count, lending)) {
        lines.push_back(OverLine(task_text(info), w, now));
      }
    } else if (w.stalled && lending &&
               (p->watch_word.load(std::memory_order_acquire) & kLendMask) ==
                   static_cast<std::uint64_t>(LendState::lent) &&
               !p->InboxEmpty()) {
      core->NotifyIdleProcesser();  // the stalled task queued more
    }
  }

  /// Publishes the report of a stall of `cur` (run `count`) in the
  /// processer's watch_word, and lends its `local` queue if `lending` (see
  /// the protocol at the top of this file). Returns false if the run ended
  /// before the owner could see the report: then the watchdog writes the
  /// end itself.
  bool Publish(Processer* p, const Watch& w, const Task* cur, std::uint64_t count, bool lending) {
    std::uint64_t expected = 0;  // the previous report was taken, the queue is owned
    const std::uint64_t report = count << kReportShift;
    p->stall_task_id.store(w.info.id, std::memory_order_relaxed);
    p->stall_since_ns.store(w.since_ns, std::memory_order_relaxed);
    const std::uint64_t state =
        static_cast<std::uint64_t>(lending ? LendState::deciding : LendState::owned);
    if (!p->watch_word.compare_exchange_strong(expected, report | state,
                                               std::memory_order_seq_cst)) {
      return false;  // an earlier report is still there: rare, the run is over
    }
    bool inside = false;
    if (barrier_ok_) {
      inside = ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
      inside = true;  // without membarrier: best effort, nothing is lent
    }
    inside = inside && p->CurrentForWatchdog() == cur && p->SwitchCountForWatchdog() == count;
    if (lending) {
      // The owner waits while `deciding`: only we write the word now.
      const bool lend = inside && !p->queue_busy.load(std::memory_order_acquire);
      if (lend) {
        p->inbox_lock.lock();
        if (Task* next = p->runnext.exchange(nullptr, std::memory_order_acq_rel)) {
          p->inbox.PushBack(next);
        }
        p->inbox.Append(p->local);
        p->inbox_size.store(p->inbox.size, std::memory_order_seq_cst);
        p->inbox_lock.unlock();
      }
      if (!inside) {
        p->watch_word.store(0, std::memory_order_release);
        return false;
      }
      p->watch_word.store(
          report | static_cast<std::uint64_t>(lend ? LendState::lent : LendState::owned),
          std::memory_order_release);
      if (lend && !p->InboxEmpty()) p->core->NotifyIdleProcesser();
      return true;
    }
    if (inside) return true;
    // Take the report back unless the owner took it (then it writes the end).
    std::uint64_t mine = report;
    return !p->watch_word.compare_exchange_strong(mine, 0, std::memory_order_acq_rel);
  }

  static std::string OverLine(const std::string& task, const Watch& w, std::int64_t now) {
    return "stall over: " + task + " ran for " + std::to_string(ms_between(w.since_ns, now)) +
           " ms on " + where_text(w) + " before it switched out";
  }

  const std::int64_t threshold_ns_;
  const std::int64_t period_ns_;
  const bool barrier_ok_;  ///< membarrier works here
  const bool lending_;     ///< and the queue may be lent (not under ThreadSanitizer)
  std::atomic<std::uint32_t> wake_word_{0};
  std::vector<Watch> watches_;
  std::int64_t last_pass_ns_ = 0;  ///< now_ns() of the previous pass (0: none since waking)
};

enum : int { kNotStarted = 0, kStarted = 1, kOff = 2 };
std::atomic<int> g_state{kNotStarted};
std::atomic<std::int64_t> g_threshold_ns{-1};
std::atomic<Watchdog*> g_watchdog{nullptr};  ///< never destroyed: the thread runs until exit

void fork_prepare() noexcept {
  g_pass_mutex.lock();
}
void fork_parent() noexcept {
  g_pass_mutex.unlock();
}

void in_child_after_fork() noexcept {
  g_pass_mutex.unlock();
  // The child has no watchdog thread: its first processer starts one.
  g_watchdog.store(nullptr, std::memory_order_relaxed);  // the parent's is left behind
  g_stall_watchdog_sleeping.store(false, std::memory_order_relaxed);
  g_state.store(kNotStarted, std::memory_order_relaxed);
}

void start() noexcept {
  int expected = kNotStarted;
  if (!g_state.compare_exchange_strong(expected, kStarted, std::memory_order_acq_rel)) return;
  const std::int64_t threshold = stall_threshold_ns();
  if (threshold == 0) {
    g_state.store(kOff, std::memory_order_release);
    return;
  }
  static bool fork_handler =
      (::pthread_atfork(&fork_prepare, &fork_parent, &in_child_after_fork), true);
  (void)fork_handler;
  Watchdog* dog = new Watchdog(threshold);
  // The thread takes no signal of the program's: they go to its own threads.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    std::thread([dog] { dog->Loop(); }).detach();
    g_watchdog.store(dog, std::memory_order_release);
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "coscope: cannot start the stall watchdog thread: %s\n", e.what());
    delete dog;
    g_state.store(kOff, std::memory_order_release);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

void stall_over_by_owner(const Processer* p, const Task* tk, std::uint64_t task_id,
                         std::int64_t since_ns) noexcept {
  try {
    std::string task;
    if (tk != nullptr) {
      TaskInfo info;
      info.id = tk->id;
      std::strncpy(info.name, task_name(*tk), sizeof info.name - 1);
      info.file = tk->created_file;
      info.line = tk->created_line;
      task = task_text(info);
    } else {
      task = "task #" + std::to_string(task_id);
    }
    log_warning("stall over: " + task + " ran for " +
                std::to_string(ms_between(since_ns, now_ns())) + " ms on processer " +
                std::to_string(p->index) + " (scheduler " + std::to_string(p->core->id) + ", LWP " +
                std::to_string(p->thread_id) + ") before it switched out");
  } catch (...) {
  }
}

std::int64_t stall_threshold_ns() noexcept {
  std::int64_t t = g_threshold_ns.load(std::memory_order_relaxed);
  if (t < 0) {
    t = parse_threshold();
    g_threshold_ns.store(t, std::memory_order_relaxed);
  }
  return t;
}

void stall_watchdog_start() noexcept {
  if (g_state.load(std::memory_order_acquire) == kNotStarted) start();
}

void stall_watchdog_note_running() noexcept {
  if (g_state.load(std::memory_order_acquire) == kNotStarted) start();
  std::atomic_thread_fence(std::memory_order_seq_cst);  // thread_id before the flag
  stall_watchdog_wake_if_sleeping();
}

void stall_watchdog_wake() noexcept {
  if (Watchdog* dog = g_watchdog.load(std::memory_order_acquire)) dog->Wake();
}

}  // namespace detail
}  // namespace co
