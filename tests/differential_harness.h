// Differential harness for the hooks: runs one scenario natively (a plain
// std::thread, where every hook is a pass-through to the kernel) and again
// inside a coroutine (a fresh co::Scheduler, one worker, RunUntilNoTask), and
// hands back both outcomes so a test can assert that they are equal and that
// they are what the kernel documents.
//
//   Outcomes o = RunBoth([](Env& env) {
//     int p[2]; pipe(p);
//     env.After(20ms, [&] { write(p[1], "x", 1); });   // a thread or a coroutine
//     char c; Outcome r = Result(read(p[0], &c, 1), &c, 1);
//     env.JoinHelpers(); close(p[0]); close(p[1]);
//     return r;
//   });
//   ExpectBoth(o, Outcome{1, 0, "x"});
#pragma once

#include <gtest/gtest.h>

#include <coscope/coscope.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_util.h"
#include "test_watchdog.h"

namespace coscope_test {

/// What one call gave: its return value, errno when it failed, and whatever
/// data the scenario wants compared (bytes read, revents, flags).
struct Outcome {
  long long ret = 0;
  int err = 0;         ///< errno if ret < 0, else 0
  std::string data;    ///< compared byte for byte
  double seconds = 0;  ///< how long the call took (not compared)

  bool operator==(const Outcome& o) const { return ret == o.ret && err == o.err && data == o.data; }
};

inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{ret=" << o.ret << ", errno=" << o.err;
  if (o.err != 0) os << " (" << std::strerror(o.err) << ")";
  os << ", data=\"";
  for (char c : o.data) {
    if (c >= 0x20 && c < 0x7f) {
      os << c;
    } else {
      os << "\\x"
         << "0123456789abcdef"[(c >> 4) & 0xf] << "0123456789abcdef"[c & 0xf];
    }
  }
  return os << "\", " << o.seconds << " s}";
}

/// The outcome a test expects (what the kernel documents).
inline Outcome Gives(long long ret, int err = 0, std::string data = {}) {
  return Outcome{ret, err, std::move(data), 0};
}

/// An Outcome from a call's return value; reads errno first thing, so write
/// Result(call(...)) with nothing in between.
inline Outcome Result(long long ret) {
  const int err = errno;
  return Outcome{ret, ret < 0 ? err : 0, {}, 0};
}

/// As Result(ret), plus the first max(ret, 0) bytes of `buf` as data.
inline Outcome Result(long long ret, const void* buf) {
  Outcome o = Result(ret);
  if (ret > 0) o.data.assign(static_cast<const char*>(buf), static_cast<std::size_t>(ret));
  return o;
}

/// Times `call` (a lambda returning Outcome).
template <class Call>
Outcome Timed(Call&& call) {
  const auto start = Clock::now();
  Outcome o = call();
  o.seconds = SecondsSince(start);
  return o;
}

/// Where a scenario runs, and its helpers: in native mode they are threads,
/// in coroutine mode coroutines on the same scheduler.
class Env {
 public:
  explicit Env(co::Scheduler* sched) : sched_(sched) {}
  ~Env() { JoinHelpers(); }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  bool in_coroutine() const { return sched_ != nullptr; }

  /// Runs `fn` after `delay`, concurrently with the scenario.
  template <class F>
  void After(std::chrono::milliseconds delay, F&& fn) {
    auto body = [delay, fn = std::forward<F>(fn)]() mutable {
      co::this_task::sleep_for(delay);  // a thread sleep outside a coroutine
      fn();
    };
    if (sched_ == nullptr) {
      threads_.emplace_back(std::move(body));
      return;
    }
    helpers_.add();
    co::spawn(
        [this, body = std::move(body)]() mutable {
          body();
          helpers_.done();
        },
        co::SpawnOptions{"helper", 0, sched_});
  }

  /// Waits until every helper started by After() has finished.
  void JoinHelpers() {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    if (sched_ != nullptr) helpers_.wait();
  }

 private:
  co::Scheduler* sched_;
  std::vector<std::thread> threads_;
  co::WaitGroup helpers_;
};

struct Outcomes {
  Outcome native;
  Outcome coroutine;
};

/// Runs `scenario(Env&) -> Outcome` on a plain thread.
template <class Scenario>
Outcome RunNative(Scenario& scenario) {
  Outcome out;
  std::thread([&] {
    Env env(nullptr);
    out = scenario(env);
  }).join();
  return out;
}

/// Runs `scenario(Env&) -> Outcome` in a coroutine of a fresh scheduler.
template <class Scenario>
Outcome RunInCoroutine(Scenario& scenario) {
  Outcome out;
  auto sched = std::make_unique<co::Scheduler>();
  co::spawn(
      [&] {
        Env env(sched.get());
        out = scenario(env);
      },
      co::SpawnOptions{"scenario", 0, sched.get()});
  sched->RunUntilNoTask();
  return out;
}

/// Both runs, one after the other, under a watchdog.
template <class Scenario>
Outcomes RunBoth(Scenario&& scenario, std::chrono::seconds limit = std::chrono::seconds(10)) {
  Watchdog wd("differential scenario", limit);
  Outcomes o;
  o.native = RunNative(scenario);
  o.coroutine = RunInCoroutine(scenario);
  return o;
}

/// Both runs at the same time (for scenarios that mostly wait on the
/// kernel's clock, such as a connect timeout), under a watchdog.
template <class Scenario>
Outcomes RunBothConcurrently(Scenario&& scenario,
                             std::chrono::seconds limit = std::chrono::seconds(10)) {
  Watchdog wd("differential scenario", limit);
  Outcomes o;
  std::thread native([&] { o.native = RunNative(scenario); });
  o.coroutine = RunInCoroutine(scenario);
  native.join();
  return o;
}

}  // namespace coscope_test

/// The native run gave `expected` (what the kernel documents) and the
/// coroutine run gave the same.
#define EXPECT_BOTH(outcomes, expected)                                    \
  do {                                                                     \
    const ::coscope_test::Outcomes& both_ = (outcomes);                    \
    const ::coscope_test::Outcome expected_ = (expected);                  \
    EXPECT_EQ(both_.native, expected_) << "native run";                    \
    EXPECT_EQ(both_.coroutine, both_.native) << "coroutine vs native run"; \
  } while (0)
