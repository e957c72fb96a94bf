#include "task_memory.h"

#include <cstddef>
#include <cstdlib>
#include <new>

#include "task.h"

namespace co {
namespace detail {
namespace {

constexpr std::size_t kCachedTasks = 1024;

// Set once this thread's cache is destroyed: tasks freed later (by static
// destructors at exit) go straight back to malloc.
thread_local bool t_cache_gone = false;

struct TaskMemoryCache {
  void* blocks[kCachedTasks];
  std::size_t count = 0;
  ~TaskMemoryCache() {
    while (count > 0) std::free(blocks[--count]);
    t_cache_gone = true;
  }
};

thread_local TaskMemoryCache t_task_memory;

}  // namespace

void* take_task_memory() {
  if (!t_cache_gone) {
    TaskMemoryCache& cache = t_task_memory;
    if (cache.count > 0) return cache.blocks[--cache.count];
  }
  void* block = std::malloc(sizeof(Task));
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void give_task_memory(void* block) noexcept {
  if (!t_cache_gone) {
    TaskMemoryCache& cache = t_task_memory;
    if (cache.count < kCachedTasks) {
      cache.blocks[cache.count++] = block;
      return;
    }
  }
  std::free(block);
}

}  // namespace detail
}  // namespace co
