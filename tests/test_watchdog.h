// Watchdog: turns a hang (a lost wake-up, a deadlock) into a prompt, loud
// failure instead of a ctest timeout minutes later.
//
//   {
//     coscope_test::Watchdog wd("RunUntilNoTask");
//     sched.RunUntilNoTask();
//   }   // dismissed here
//
// If not dismissed within the limit, it prints what it guards and every live
// task (id, name, state, wait reason, creation site) to stderr and aborts.
#pragma once

#include <coscope/introspect.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace coscope_test {

class Watchdog {
 public:
  explicit Watchdog(std::string what, std::chrono::seconds limit = std::chrono::seconds(30))
      : what_(std::move(what)), limit_(limit), thread_([this] { Watch(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      dismissed_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void Watch() {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, limit_, [this] { return dismissed_; })) return;
    std::fprintf(stderr,
                 "WATCHDOG: %s did not finish within %lld s: hung (a lost wake-up? a Stop() that "
                 "never returns?). Live tasks:\n",
                 what_.c_str(), static_cast<long long>(limit_.count()));
    for (const co::TaskInfo& t : co::snapshot_tasks()) {
      std::fprintf(stderr, "  #%llu \"%s\" %s (%s) created at %s:%d\n",
                   static_cast<unsigned long long>(t.id), t.name.c_str(), co::to_string(t.state),
                   co::to_string(t.wait_reason), t.created_file ? t.created_file : "?",
                   t.created_line);
    }
    std::fflush(stderr);
    std::abort();
  }

  std::string what_;
  std::chrono::seconds limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dismissed_ = false;
  std::thread thread_;  // last: starts once the fields above exist
};

}  // namespace coscope_test
