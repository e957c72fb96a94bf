// The Chrome trace-event file: COSCOPE_TRACE=FILE.json.
//
// Perfetto (ui.perfetto.dev) and chrome://tracing open it; so does
// scripts/coscope-timeline, which draws it as an SVG. What is in it:
//
//   process 1 "processers"
//     a thread per processer: one slice per task run, named "task ID NAME",
//       args.stop saying why the run ended (yield, sleep, io_block,
//       sys_block, done) and its colour following from that;
//     a thread per kind of waker that is not a task (timer, reactor, close,
//       blocking pool, scheduler shutdown, threads): a 1 us slice per wake;
//     the counters "runnable tasks" and "parked tasks".
//   process 1000+ID "task ID NAME", one per task
//     thread "state": its states as slices (runnable, running, sleep,
//       fd 7 readable, channel recv, ...);
//     thread "hooked calls": a slice per hooked call (hooks/hook_probes.h).
//   a flow arrow per wake (ph "s" -> "f", named after the waker): from the
//   waker's slice (the waking task's running slice, or a waker lane's slice)
//   to the start of the woken task's runnable slice.
//
// Each task's track is a state machine driven by the runtime's events:
//
//       created           swap in              swap out (parked)
//     ---------> runnable ---------> running -------------------> parked
//                 ^   ^                |   |                        |
//                 |   +----------------+   | swap out (done)        | wake
//                 |    swap out (yield)    v                        |
//                 |                     (track dropped)             |
//                 +-------------------------------------------------+
//
// A wake can be traced while its task is still running: it was woken
// between its park and its switch out (park.cpp). The flow is then kept
// pending and that swap out ends the park at once.
//
// A slice is written when it ends (ph "X": begin and duration), so no event
// is ever half written. Events are appended to a buffer under one lock and
// go to the file with write(2) when it fills and at the end. The end closes
// every open slice and the JSON document; it runs at exit() (atexit), from
// the terminate handler (an uncaught exception) and from the runtime's fatal
// reports (stack overflow, ...), so the file parses however the program
// ended, short of a kill the runtime does not see.
#include "trace_json.h"

#include <fcntl.h>
#include <sched.h>
#include <spdlog/fmt/fmt.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "processer.h"
#include "raw_syscall.h"
#include "scheduler_core.h"
#include "task.h"
#include "trace_log.h"

namespace co {
namespace detail {
namespace {
struct Micros;
}  // namespace
}  // namespace detail
}  // namespace co

template <>
struct fmt::formatter<co::detail::Micros> {
  constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }
  // The return type is spelled out: fmt asks for it before the definition
  // below, and clang cannot deduce it there.
  template <class Context>
  auto format(const co::detail::Micros& t, Context& ctx) const -> decltype(ctx.out());
};

namespace co {
namespace detail {
namespace {

constexpr int kProcessersPid = 1;
constexpr std::uint64_t kTaskPidBase = 1000;
constexpr int kStateTid = 1;
constexpr int kHookTid = 2;
constexpr int kWakerTidBase = 1;  // 1 + Waker: the lanes of the wakers that are not tasks
constexpr std::int64_t kWakerSortBase = std::int64_t{1} << 40;  // below every processer
constexpr std::size_t kFlushAt = 256 * 1024;

enum class Phase { runnable, running, parked };

// A time since the trace's start, or a duration, kept in nanoseconds and
// written as the format's microseconds with three decimals (integer
// formatting: floating point would cost more than the rest of an event).
struct Micros {
  std::int64_t ns;
};
inline Micros operator-(Micros a, Micros b) noexcept {
  return Micros{a.ns - b.ns};
}

struct OpenHook {
  const char* name;
  std::int64_t subject;
  Micros since;
};

struct TaskTrack {
  std::string label;  // "task 3 worker"
  Phase phase = Phase::runnable;
  Micros since{};                  // start of the current state slice
  std::string state;               // name of the current state slice
  std::int64_t lane = -1;          // its processer's lane while it runs (processer_lane)
  std::uint64_t pending_flow = 0;  // a wake traced while the task still ran
  std::vector<OpenHook> hooks;
};

// The lane and the arrow's name for each Waker that is not a task.
const char* waker_name(Waker by) noexcept {
  switch (by) {
    case Waker::caller:
      return "threads";
    case Waker::timer:
      return "timer";
    case Waker::reactor:
      return "reactor";
    case Waker::close:
      return "close";
    case Waker::blocking_pool:
      return "blocking pool";
    case Waker::unwind:
      return "scheduler shutdown";
  }
  return "?";
}

// Why a run ended, and chrome://tracing's reserved colour name for it.
const char* stop_name(TaskState state) noexcept {
  return state == TaskState::runnable ? "yield" : to_string(state);
}
const char* stop_colour(TaskState state) noexcept {
  switch (state) {
    case TaskState::runnable:
      return "thread_state_runnable";
    case TaskState::sleep:
      return "thread_state_sleeping";
    case TaskState::io_block:
      return "thread_state_iowait";
    case TaskState::sys_block:
      return "thread_state_uninterruptible";
    case TaskState::done:
      return "good";
  }
  return "grey";
}

// A processer's lane in process "processers": one per scheduler and index
// (a scheduler's processers are made anew at each Start), sorted by
// scheduler, then index. -1: no processer.
std::int64_t processer_lane(const Processer* p) noexcept {
  return p == nullptr
             ? -1
             : (static_cast<std::int64_t>(p->core->id) << 16) + static_cast<std::int64_t>(p->index);
}
std::int64_t lane_index(std::int64_t lane) noexcept {
  return lane < 0 ? -1 : lane & 0xffff;
}
std::int64_t lane_scheduler(std::int64_t lane) noexcept {
  return lane < 0 ? 0 : lane >> 16;
}

// "sleep", "fd 7 readable", "poll 2 fds", "channel recv", ...
std::string wait_text(const Task* tk) {
  switch (tk->wait_reason) {
    case WaitReason::fd_readable:
      return fmt::format("fd {} readable", tk->wait_arg);
    case WaitReason::fd_writable:
      return fmt::format("fd {} writable", tk->wait_arg);
    case WaitReason::poll:
      return fmt::format("poll {} fd{}", tk->wait_arg, tk->wait_arg == 1 ? "" : "s");
    case WaitReason::none:
      return to_string(tk->state);
    default:
      return to_string(tk->wait_reason);
  }
}

void append_escaped(std::string& out, const char* s) {
  for (; *s != '\0'; ++s) {
    const unsigned char c = static_cast<unsigned char>(*s);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  append_escaped(out, s.c_str());
  out += '"';
  return out;
}

class JsonTrace {
 public:
  // Every entry point: nothing after the end, nothing in a child of fork.
  bool Live() const noexcept { return !forgotten_.load(std::memory_order_relaxed); }
  void Forget() noexcept { forgotten_.store(true, std::memory_order_relaxed); }

  void Created(const Task* tk) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Open()) return;
    const Micros t = Now();
    NewTrack(tk, t);
    Count(&runnable_, +1, t);
  }

  void SwapIn(const Task* tk) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Open()) return;
    const Micros t = Now();
    TaskTrack& track = Track(tk, t, Phase::runnable);
    EndState(tk, track, t, nullptr);
    track.pending_flow = 0;
    track.phase = Phase::running;
    track.since = t;
    track.state = "running";
    track.lane = processer_lane(tk->processer);
    NameProcesser(track.lane);
  }

  void SwapOut(const Task* tk) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Open()) return;
    const Micros t = Now();
    TaskTrack& track = Track(tk, t, Phase::running);
    const std::string wait = tk->state == TaskState::runnable || tk->state == TaskState::done
                                 ? std::string()
                                 : wait_text(tk);
    EndRun(tk->id, track, t, stop_name(tk->state), stop_colour(tk->state), wait);
    switch (tk->state) {
      case TaskState::done:
        tracks_.erase(tk->id);
        return;
      case TaskState::runnable:
        BeginRunnable(track, t, "runnable");
        return;
      default:
        track.phase = Phase::parked;
        track.since = t;
        track.state = wait;
        Count(&parked_, +1, t);
        if (track.pending_flow != 0) {
          // Woken while it still ran: the park ends where it began.
          EndState(tk, track, t, nullptr);
          BeginRunnable(track, t, "runnable");
          FlowEnd(tk->id, track.pending_flow, t);
          track.pending_flow = 0;
        }
        return;
    }
  }

  void Wake(const Task* tk, Waker by) {
    const Task* waker = current_task();
    if (waker == tk) return;  // a task cancelling its own park before it parks
    std::lock_guard<std::mutex> lock(mu_);
    if (!Open()) return;
    const Micros t = Now();
    const std::uint64_t flow = ++last_flow_;
    const bool from_task = waker != nullptr && (by == Waker::caller || by == Waker::close);
    const char* kind = from_task ? (by == Waker::close ? "close" : "task") : waker_name(by);
    if (from_task) {
      Event(R"("ph":"s","id":{},"name":"{}","cat":"wake","pid":{},"tid":{},"ts":{})", flow, kind,
            kTaskPidBase + waker->id, kStateTid, t);
    } else {
      const int lane = kWakerTidBase + static_cast<int>(by);
      NameWaker(by, lane);
      Event(
          R"("ph":"X","name":"wake task {}","cat":"waker","pid":{},"tid":{},"ts":{},"dur":1,"args":{{"task":{}}})",
          tk->id, kProcessersPid, lane, t, tk->id);
      Event(R"("ph":"s","id":{},"name":"{}","cat":"wake","pid":{},"tid":{},"ts":{})", flow, kind,
            kProcessersPid, lane, t);
    }
    TaskTrack& track = Track(tk, t, Phase::parked);
    if (track.phase == Phase::running) {
      track.pending_flow = flow;
      return;
    }
    if (track.phase == Phase::parked) {
      EndState(tk, track, t, kind);
      BeginRunnable(track, t, "runnable");
    }
    FlowEnd(tk->id, flow, t);
  }

  void HookEnter(const char* name, std::int64_t subject) {
    const Task* tk = current_task();
    if (tk == nullptr) return;  // a plain thread's call: nothing of the runtime's
    std::lock_guard<std::mutex> lock(mu_);
    if (!Open()) return;
    const Micros t = Now();
    Track(tk, t, Phase::running).hooks.push_back(OpenHook{name, subject, t});
  }

  void HookExit(const char* name, std::int64_t result) {
    const Task* tk = current_task();
    if (tk == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!Open()) return;
    const Micros t = Now();
    TaskTrack& track = Track(tk, t, Phase::running);
    if (track.hooks.empty() || std::strcmp(track.hooks.back().name, name) != 0) return;
    EndHook(tk->id, track.hooks.back(), t, fmt::format(R"("result":{})", result));
    track.hooks.pop_back();
  }

  void Warning(const char* message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Open()) return;
    std::string text;
    append_escaped(text, message);
    Event(R"("ph":"i","s":"g","name":"warning","pid":{},"tid":0,"ts":{},"args":{{"message":"{}"}})",
          kProcessersPid, Now(), text);
  }

  // Closes every open slice and the document. The lock is waited for a
  // while only: `why` may be a fatal report on a thread that holds it.
  void Finish(const char* why) noexcept {
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    for (int i = 0; i < 1000 && !lock.try_lock(); ++i) ::sched_yield();
    if (!lock.owns_lock() || fd_ < 0 || !Live()) return;
    try {
      const Micros t = Now();
      for (auto& [id, track] : tracks_) {
        for (const OpenHook& hook : track.hooks) EndHook(id, hook, t, R"("unfinished":true)");
        if (track.phase == Phase::running) {
          EndRun(id, track, t, "end of trace", "grey", std::string());
        } else {
          EndStateOf(id, track, t, "end of trace");
        }
      }
      std::string why_text;
      append_escaped(why_text, why);
      fmt::format_to(std::back_inserter(buffer_),
                     "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{{\"end\":\"{}\"}}}}\n",
                     why_text);
    } catch (...) {
      Append("\n]}\n");
    }
    Flush();
    sys::close(fd_);
    fd_ = -1;
    Forget();
  }

 private:
  // Opens the file at the first event; false when it cannot be written.
  bool Open() {
    if (fd_ >= 0) return Live();
    if (failed_ || !Live()) return false;
    const char* path = std::getenv("COSCOPE_TRACE");
    fd_ = static_cast<int>(
        ::syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd_ < 0) {
      failed_ = true;
      std::fprintf(stderr, "coscope: cannot open COSCOPE_TRACE file %s: %s; no trace\n", path,
                   std::strerror(errno));
      return false;
    }
    start_ns_ = now_ns();
    buffer_.clear();
    Append("{\"traceEvents\":[\n");
    first_ = true;
    Event(R"("ph":"M","name":"process_name","pid":{},"args":{{"name":"processers"}})",
          kProcessersPid);
    Event(R"("ph":"M","name":"process_sort_index","pid":{},"args":{{"sort_index":0}})",
          kProcessersPid);
    std::atexit(&AtExit);
    previous_terminate_ = std::set_terminate(&OnTerminate);
    return true;
  }

  static void AtExit();
  [[noreturn]] static void OnTerminate();

  Micros Now() const noexcept { return Micros{now_ns() - start_ns_}; }

  void Append(std::string_view text) { buffer_.append(text.data(), text.data() + text.size()); }

  // Formats one event's fields straight into the buffer, in braces.
  template <class... Args>
  void Event(fmt::format_string<Args...> fields, Args&&... args) {
    Append(first_ ? "{" : ",\n{");
    first_ = false;
    fmt::format_to(std::back_inserter(buffer_), fields, std::forward<Args>(args)...);
    Append("}");
    if (buffer_.size() >= kFlushAt) Flush();
  }

  void Flush() noexcept {
    const char* p = buffer_.data();
    std::size_t left = buffer_.size();
    while (left > 0) {
      const long n = sys::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    buffer_.clear();
  }

  TaskTrack& NewTrack(const Task* tk, Micros t) {
    TaskTrack& track = tracks_[tk->id];
    track.label = tk->name != nullptr ? fmt::format("task {} {}", tk->id, tk->name)
                                      : fmt::format("task {}", tk->id);
    track.phase = Phase::runnable;
    track.since = t;
    track.state = "runnable";
    const std::uint64_t pid = kTaskPidBase + tk->id;
    Event(R"("ph":"M","name":"process_name","pid":{},"args":{{"name":{}}})", pid,
          quoted(track.label));
    Event(R"("ph":"M","name":"process_sort_index","pid":{},"args":{{"sort_index":{}}})", pid, pid);
    Event(R"("ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":"state"}})", pid,
          kStateTid);
    Event(R"("ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":"hooked calls"}})",
          pid, kHookTid);
    return track;
  }

  // The task's track. A task that existed before tracing was switched on
  // gets one at its first event, in the phase that event implies (`now`),
  // starting then.
  TaskTrack& Track(const Task* tk, Micros t, Phase now) {
    auto it = tracks_.find(tk->id);
    if (it != tracks_.end()) return it->second;
    TaskTrack& track = NewTrack(tk, t);
    track.phase = now;
    switch (now) {
      case Phase::runnable:
        Count(&runnable_, +1, t);
        break;
      case Phase::running:
        track.state = "running";
        track.lane = processer_lane(tk->processer);
        NameProcesser(track.lane);
        break;
      case Phase::parked:
        track.state = wait_text(tk);
        Count(&parked_, +1, t);
        break;
    }
    return track;
  }

  void NameProcesser(std::int64_t lane) {
    if (lane < 0 || !named_processers_.insert(lane).second) return;
    Event(
        R"json("ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":"processer {} (scheduler {})"}})json",
        kProcessersPid, lane, lane_index(lane), lane_scheduler(lane));
    Event(R"("ph":"M","name":"thread_sort_index","pid":{},"tid":{},"args":{{"sort_index":{}}})",
          kProcessersPid, lane, lane);
  }

  void NameWaker(Waker by, int lane) {
    const unsigned bit = 1u << static_cast<unsigned>(by);
    if ((named_wakers_ & bit) != 0) return;
    named_wakers_ |= bit;
    Event(R"("ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":"{}"}})",
          kProcessersPid, lane, waker_name(by));
    Event(R"("ph":"M","name":"thread_sort_index","pid":{},"tid":{},"args":{{"sort_index":{}}})",
          kProcessersPid, lane, kWakerSortBase + lane);
  }

  // Counters change only here, and are written only when they change.
  void Count(long* counter, long delta, Micros t) {
    *counter += delta;
    Event(R"("ph":"C","name":"{}","pid":{},"ts":{},"args":{{"tasks":{}}})",
          counter == &runnable_ ? "runnable tasks" : "parked tasks", kProcessersPid, t, *counter);
  }

  void BeginRunnable(TaskTrack& track, Micros t, const char* name) {
    track.phase = Phase::runnable;
    track.since = t;
    track.state = name;
    Count(&runnable_, +1, t);
  }

  // Writes the current (runnable or parked) state slice, ended at t.
  void EndState(const Task* tk, TaskTrack& track, Micros t, const char* woken_by) {
    if (track.phase == Phase::running) return;
    EndStateOf(tk->id, track, t, woken_by);
    if (track.phase == Phase::parked) {
      Count(&parked_, -1, t);
    } else {
      Count(&runnable_, -1, t);
    }
  }

  void EndStateOf(std::uint64_t id, const TaskTrack& track, Micros t, const char* ended_by) {
    std::string args;
    if (ended_by != nullptr) args = fmt::format(R"(,"args":{{"ended by":"{}"}})", ended_by);
    Event(R"("ph":"X","name":{},"cat":"state","pid":{},"tid":{},"ts":{},"dur":{}{})",
          quoted(track.state), kTaskPidBase + id, kStateTid, track.since, t - track.since, args);
  }

  // Writes the run that ends at t: the task's "running" slice and the
  // processer's slice named after the task.
  void EndRun(std::uint64_t id, const TaskTrack& track, Micros t, const char* stop,
              const char* colour, const std::string& wait) {
    Event(
        R"("ph":"X","name":"running","cat":"state","pid":{},"tid":{},"ts":{},"dur":{},"args":{{"processer":{},"scheduler":{}}})",
        kTaskPidBase + id, kStateTid, track.since, t - track.since, lane_index(track.lane),
        lane_scheduler(track.lane));
    if (track.lane < 0) return;
    std::string wait_arg;
    if (!wait.empty()) wait_arg = fmt::format(R"(,"wait":{})", quoted(wait));
    Event(
        R"("ph":"X","name":{},"cat":"run","cname":"{}","pid":{},"tid":{},"ts":{},"dur":{},"args":{{"task":{},"stop":"{}"{}}})",
        quoted(track.label), colour, kProcessersPid, track.lane, track.since, t - track.since, id,
        stop, wait_arg);
  }

  void EndHook(std::uint64_t id, const OpenHook& hook, Micros t, const std::string& how) {
    const std::string name = hook.subject != kNoSubject
                                 ? fmt::format("{}({})", hook.name, hook.subject)
                                 : fmt::format("{}()", hook.name);
    std::string subject;
    if (hook.subject != kNoSubject) subject = fmt::format(R"("subject":{},)", hook.subject);
    Event(R"("ph":"X","name":"{}","cat":"hook","pid":{},"tid":{},"ts":{},"dur":{},"args":{{{}{}}})",
          name, kTaskPidBase + id, kHookTid, hook.since, t - hook.since, subject, how);
  }

  void FlowEnd(std::uint64_t id, std::uint64_t flow, Micros t) {
    Event(R"("ph":"f","bp":"e","id":{},"name":"wake","cat":"wake","pid":{},"tid":{},"ts":{})", flow,
          kTaskPidBase + id, kStateTid, t);
  }

  std::mutex mu_;
  std::atomic<bool> forgotten_{false};
  int fd_ = -1;
  bool failed_ = false;
  bool first_ = true;
  std::int64_t start_ns_ = 0;
  fmt::memory_buffer buffer_;  // appended to in place (a std::string through an iterator is slower)
  std::unordered_map<std::uint64_t, TaskTrack> tracks_;
  std::unordered_set<std::int64_t> named_processers_;
  unsigned named_wakers_ = 0;
  long runnable_ = 0;
  long parked_ = 0;
  std::uint64_t last_flow_ = 0;
  std::terminate_handler previous_terminate_ = nullptr;
};

JsonTrace& json_trace() {
  // Never destroyed: tasks may still run while the process exits.
  static JsonTrace* instance = new JsonTrace;
  return *instance;
}

void JsonTrace::AtExit() {
  json_trace().Finish("exit");
}

void JsonTrace::OnTerminate() {
  JsonTrace& trace = json_trace();
  trace.Finish("uncaught exception");
  if (trace.previous_terminate_ != nullptr) trace.previous_terminate_();
  std::abort();
}

}  // namespace

bool json_trace_wanted() noexcept {
  const char* env = std::getenv("COSCOPE_TRACE");
  if (env == nullptr) return false;
  const std::size_t n = std::strlen(env);
  return n > 5 && std::strcmp(env + n - 5, ".json") == 0;
}

// Each entry point: formatting can throw (bad_alloc); a trace never does,
// and leaves errno as it was (a hook's exit traces after setting it).
#define COSCOPE_JSON_CALL(call)        \
  do {                                 \
    const int saved_errno = errno;     \
    try {                              \
      if (json_trace().Live()) (call); \
    } catch (...) {                    \
    }                                  \
    errno = saved_errno;               \
  } while (0)

void json_created(const Task* tk) noexcept {
  COSCOPE_JSON_CALL(json_trace().Created(tk));
}
void json_swap_in(const Task* tk) noexcept {
  COSCOPE_JSON_CALL(json_trace().SwapIn(tk));
}
void json_swap_out(const Task* tk) noexcept {
  COSCOPE_JSON_CALL(json_trace().SwapOut(tk));
}
void json_wake(const Task* tk, Waker by) noexcept {
  COSCOPE_JSON_CALL(json_trace().Wake(tk, by));
}
void json_hook_enter(const char* name, std::int64_t subject) noexcept {
  COSCOPE_JSON_CALL(json_trace().HookEnter(name, subject));
}
void json_hook_exit(const char* name, std::int64_t result) noexcept {
  COSCOPE_JSON_CALL(json_trace().HookExit(name, result));
}
void json_warning(const char* message) noexcept {
  COSCOPE_JSON_CALL(json_trace().Warning(message));
}
void json_finish(const char* why) noexcept {
  json_trace().Finish(why);
}
void json_forget_in_child() noexcept {
  json_trace().Forget();
}

}  // namespace detail
}  // namespace co

template <class Context>
auto fmt::formatter<co::detail::Micros>::format(const co::detail::Micros& t, Context& ctx) const
    -> decltype(ctx.out()) {
  const std::int64_t ns = t.ns < 0 ? 0 : t.ns;  // a clock never runs back; be safe
  return fmt::format_to(ctx.out(), "{}.{:03}", ns / 1000, ns % 1000);
}
