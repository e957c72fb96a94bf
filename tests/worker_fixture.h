// A fixture that runs every scheduling test at 1, 2 and 4 workers.
//
// With one worker the tasks run through Scheduler::RunUntilNoTask() on the
// test's thread (deterministic, as in the notes); with more, through
// Start(n) + WaitUntilNoTask() + Stop(). Each test gets its own Scheduler.
#pragma once

#include <gtest/gtest.h>

#include <coscope/coscope.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

namespace coscope_test {

class WorkersTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  std::size_t workers() const { return GetParam(); }
  co::Scheduler& sched() { return *sched_; }

  /// Spawns `fn` on this test's scheduler.
  template <class F>
  co::TaskId Spawn(F&& fn, std::string_view name = {}) {
    return co::spawn(std::forward<F>(fn), co::SpawnOptions{name, 0, sched_.get()});
  }

  /// Runs `root` and everything it spawns until no task is left.
  template <class F>
  void RunAll(F&& root) {
    Spawn(std::forward<F>(root), "root");
    RunUntilDone();
  }

  /// Runs the tasks spawned so far (and what they spawn) to completion.
  void RunUntilDone() {
    if (workers() == 1) {
      sched_->RunUntilNoTask();
    } else {
      sched_->Start(workers());
      sched_->WaitUntilNoTask();
      sched_->Stop();
    }
  }

 private:
  std::unique_ptr<co::Scheduler> sched_ = std::make_unique<co::Scheduler>();
};

inline std::string WorkerCountName(const ::testing::TestParamInfo<std::size_t>& info) {
  return std::to_string(info.param) + "_workers";
}

}  // namespace coscope_test

#define COSCOPE_INSTANTIATE_WORKER_COUNTS(Suite)                                              \
  INSTANTIATE_TEST_SUITE_P(Workers, Suite,                                                    \
                           ::testing::Values(std::size_t{1}, std::size_t{2}, std::size_t{4}), \
                           ::coscope_test::WorkerCountName)
