// TaskMemory: where Task objects live.
//
// A burst of spawns followed by their exits would otherwise make glibc's
// malloc grow the heap, then trim it when the tasks are freed, then grow it
// again (page faults every round). Each thread keeps up to kCachedTasks freed
// Task blocks and reuses them; beyond that, blocks go back to malloc. A block
// freed on another thread than the one that allocated it simply joins that
// thread's cache.
#pragma once

namespace co {
namespace detail {

/// Raw memory for one Task (sizeof(Task), suitably aligned). Throws
/// std::bad_alloc when out of memory.
void* take_task_memory();
/// Returns memory from take_task_memory() (the Task already destroyed).
void give_task_memory(void* block) noexcept;

}  // namespace detail
}  // namespace co
