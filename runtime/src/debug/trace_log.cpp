#include "trace_log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "coscope/trace.h"
#include "processer.h"
#include "trace_json.h"

namespace co {
namespace detail {
namespace {

// COSCOPE_TRACE=FILE.json: events go to the Chrome trace (trace_json.cpp).
// Read at the first event, so a program may set COSCOPE_TRACE in main()
// before it calls set_tracing(true) (the benchmarks do).
bool json_sink() {
  static const bool json = json_trace_wanted();
  return json;
}

// The text log; with a JSON trace only the warnings come here, on stderr.
std::shared_ptr<spdlog::logger> make_logger() {
  const char* env = std::getenv("COSCOPE_TRACE");
  std::shared_ptr<spdlog::logger> logger;
  if (!json_sink() && env != nullptr && *env != '\0' && std::strcmp(env, "1") != 0 &&
      std::strcmp(env, "0") != 0) {
    try {
      logger = spdlog::basic_logger_mt("coscope-trace", env);
    } catch (const spdlog::spdlog_ex& e) {
      std::fprintf(stderr, "coscope: cannot open COSCOPE_TRACE file %s: %s; tracing to stderr\n",
                   env, e.what());
    }
  }
  if (!logger) logger = spdlog::stderr_logger_mt("coscope-trace");
  logger->set_pattern("[%H:%M:%S.%f] [coscope] [T%t] %v");
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  return logger;
}

spdlog::logger& logger() {
  // Never destroyed: the stall watchdog may log while the process exits.
  static std::shared_ptr<spdlog::logger>* instance = new std::shared_ptr(make_logger());
  return **instance;
}

bool env_wants_trace() {
  const char* env = std::getenv("COSCOPE_TRACE");
  return env != nullptr && *env != '\0' && std::strcmp(env, "0") != 0;
}

int processer_index(const Task* tk) {
  return tk->processer != nullptr ? static_cast<int>(tk->processer->index) : -1;
}

}  // namespace

std::atomic<bool> g_trace_on{env_wants_trace()};

void trace_created(const Task* tk) noexcept {
  if (json_sink()) return json_created(tk);
  try {
    logger().info("task {} \"{}\" created at {}:{}", tk->id, tk->name, tk->created_file,
                  tk->created_line);
  } catch (...) {
  }
}

void trace_swap_in(const Task* tk) noexcept {
  if (json_sink()) return json_swap_in(tk);
  try {
    logger().info("task {} swap in on processer {}", tk->id, processer_index(tk));
  } catch (...) {
  }
}

void trace_swap_out(const Task* tk) noexcept {
  if (json_sink()) return json_swap_out(tk);
  try {
    if (tk->state == TaskState::runnable || tk->state == TaskState::done) {
      logger().info("task {} swap out: {}", tk->id, to_string(tk->state));
      return;
    }
    std::string detail = to_string(tk->wait_reason);
    if (tk->wait_object != nullptr) detail += fmt::format(" on {}", tk->wait_object);
    if (tk->wait_reason == WaitReason::fd_readable || tk->wait_reason == WaitReason::fd_writable) {
      detail += fmt::format(" fd={}", tk->wait_arg);
    }
    if (tk->wait_deadline_ns != 0) {
      detail += fmt::format(" until +{:.3f} ms", (tk->wait_deadline_ns - now_ns()) / 1e6);
    }
    logger().info("task {} swap out: {} ({})", tk->id, to_string(tk->state), detail);
  } catch (...) {
  }
}

void log_warning(const std::string& message) noexcept {
  if (json_sink()) json_warning(message.c_str());
  try {
    logger().warn("{}", message);
  } catch (...) {
  }
}

void trace_done(const Task* tk) noexcept {
  if (json_sink()) return;  // the swap out to `done` ended its track
  try {
    logger().info("task {} done after {} switches", tk->id, tk->switch_count);
  } catch (...) {
  }
}

void trace_wake(const Task* tk, Waker by) noexcept {
  if (json_sink()) json_wake(tk, by);
}

void trace_hook_enter(const char* name, std::int64_t subject) noexcept {
  if (json_sink()) json_hook_enter(name, subject);
}

void trace_hook_exit(const char* name, std::int64_t result) noexcept {
  if (json_sink()) json_hook_exit(name, result);
}

void trace_finish(const char* why) noexcept {
  if (json_sink()) json_finish(why);
}

void trace_forget_in_child() noexcept {
  if (json_sink()) json_forget_in_child();
}

}  // namespace detail

void set_tracing(bool on) {
  detail::g_trace_on.store(on, std::memory_order_relaxed);
}
bool tracing() noexcept {
  return detail::g_trace_on.load(std::memory_order_relaxed);
}

}  // namespace co
