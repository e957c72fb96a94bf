#include "stack_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <vector>

#if defined(COSCOPE_WITH_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace co {
namespace detail {
namespace {

std::size_t page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

constexpr std::size_t kNoBudgetOverride = ~std::size_t{0};
std::atomic<std::size_t> g_budget_override{kNoBudgetOverride};  // set_guard_budget_for_testing

// Guarded stacks allowed at once: a quarter of vm.max_map_count, leaving the
// rest to the program (malloc arenas, shared libraries, its own mmaps).
std::size_t guard_budget() noexcept {
  const std::size_t override = g_budget_override.load(std::memory_order_relaxed);
  if (override != kNoBudgetOverride) return override;
  static const std::size_t budget = [] {
    long max_maps = 65530;
    if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "re")) {
      if (std::fscanf(f, "%ld", &max_maps) != 1) max_maps = 65530;
      std::fclose(f);
    }
    return static_cast<std::size_t>(max_maps > 0 ? max_maps : 65530) / 4 / 2;
  }();
  return budget;
}

std::atomic<std::size_t> g_guarded{0};
std::atomic<std::size_t> g_unguarded{0};

void write_canary(void* base) noexcept {
  auto* words = static_cast<unsigned long long*>(base);
  for (std::size_t i = 0; i < kCanaryWords; ++i) words[i] = kStackCanary;
}

// Free stacks, per usable size. A small per-thread cache in front of a
// mutex-guarded list keeps the common spawn/exit path lock-free.
constexpr std::size_t kThreadCacheSize = 16;
constexpr std::size_t kGlobalPoolSize = 256;

struct ThreadCache {
  TaskStack stacks[kThreadCacheSize];
  std::size_t count = 0;
  ~ThreadCache();
};

std::mutex g_pool_mutex;
std::vector<TaskStack>* g_pool = new std::vector<TaskStack>();  // never freed: used at exit

void unmap(TaskStack* s) noexcept {
  ::munmap(s->mapping, s->mapping_size);
  (s->guarded ? g_guarded : g_unguarded).fetch_sub(1, std::memory_order_relaxed);
  *s = TaskStack{};
}

ThreadCache::~ThreadCache() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  for (std::size_t i = 0; i < count; ++i) {
    if (g_pool->size() < kGlobalPoolSize) {
      g_pool->push_back(stacks[i]);
    } else {
      unmap(&stacks[i]);
    }
  }
  count = 0;
}

thread_local ThreadCache t_cache;

bool take_pooled(std::size_t size, TaskStack* out) noexcept {
  ThreadCache& cache = t_cache;
  for (std::size_t i = cache.count; i-- > 0;) {
    if (cache.stacks[i].size == size) {
      *out = cache.stacks[i];
      cache.stacks[i] = cache.stacks[--cache.count];
      return true;
    }
  }
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  for (std::size_t i = g_pool->size(); i-- > 0;) {
    if ((*g_pool)[i].size == size) {
      *out = (*g_pool)[i];
      (*g_pool)[i] = g_pool->back();
      g_pool->pop_back();
      return true;
    }
  }
  return false;
}

}  // namespace

bool allocate_stack(std::size_t size, TaskStack* out) noexcept {
  const std::size_t page = page_size();
  if (size > kMaxStackSize) {  // spawn refuses these; rounding would wrap
    errno = ENOMEM;
    return false;
  }
  size = (size + page - 1) / page * page;
  if (take_pooled(size, out)) return true;

  bool guarded = g_guarded.fetch_add(1, std::memory_order_relaxed) < guard_budget();
  if (!guarded) g_guarded.fetch_sub(1, std::memory_order_relaxed);
  const std::size_t guard = guarded ? page : 0;
  void* mapping = ::mmap(nullptr, size + guard, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mapping == MAP_FAILED) {
    if (guarded) g_guarded.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  if (guarded && ::mprotect(mapping, guard, PROT_NONE) != 0) {
    int saved = errno;
    ::munmap(mapping, size + guard);
    g_guarded.fetch_sub(1, std::memory_order_relaxed);
    errno = saved;
    return false;
  }
  TaskStack stack{static_cast<char*>(mapping) + guard, size, mapping, size + guard, guarded};
  if (!guarded) {
    write_canary(stack.base);
    g_unguarded.fetch_add(1, std::memory_order_relaxed);
  }
  // The SIGSEGV handler may read the task's stack from another thread: the
  // canary is in place before the stack is published (mmap dwarfs the fence).
  std::atomic_thread_fence(std::memory_order_release);
  *out = stack;
  return true;
}

void release_stack(TaskStack* stack) noexcept {
  if (stack->mapping == nullptr) return;
#if defined(COSCOPE_WITH_ASAN)
  // A finished task leaves its frames poisoned; the next task starts clean.
  ASAN_UNPOISON_MEMORY_REGION(stack->base, stack->size);
#endif
  if (!stack->guarded) write_canary(stack->base);
  ThreadCache& cache = t_cache;
  if (cache.count < kThreadCacheSize) {
    cache.stacks[cache.count++] = *stack;
    *stack = TaskStack{};
    return;
  }
  {
    std::lock_guard<std::mutex> lock(g_pool_mutex);
    if (g_pool->size() < kGlobalPoolSize) {
      g_pool->push_back(*stack);
      *stack = TaskStack{};
      return;
    }
  }
  unmap(stack);
}

std::size_t guarded_stack_count() noexcept {
  return g_guarded.load(std::memory_order_relaxed);
}

std::size_t unguarded_stack_count() noexcept {
  return g_unguarded.load(std::memory_order_relaxed);
}

void set_guard_budget_for_testing(std::size_t stacks) noexcept {
  g_budget_override.store(stacks, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace co
