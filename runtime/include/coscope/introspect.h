// A program's own view of its tasks: the same registry gdb walks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "coscope/spawn.h"
#include "coscope/task_state.h"

namespace co {

/// One live task, copied out of the registry.
struct TaskInfo {
  TaskId id = 0;
  std::string name;
  TaskState state = TaskState::runnable;
  WaitReason wait_reason = WaitReason::none;
  const char* created_file = nullptr;  ///< file of the `go` / spawn() call
  int created_line = 0;
  const Scheduler* scheduler = nullptr;
};

/// Every live task of every scheduler (spawned and not yet finished).
std::vector<TaskInfo> snapshot_tasks();
/// How many tasks the registry holds right now.
std::size_t live_task_count() noexcept;

}  // namespace co
