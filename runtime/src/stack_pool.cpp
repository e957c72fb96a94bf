#include "stack_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <new>
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

// ---- slabs: where unguarded stacks come from --------------------------------
//
// An unguarded stack in a mapping of its own costs two pages once its task
// has run: the top page (the first frames) and the bottom one (the canary).
// A slab is one mapping holding `slots` stacks of one size, each shifted
// down by the canary's size, so that a stack's canary lies in the last
// kCanaryBytes of the page that holds the top of the stack below it:
//
//   slab:     | page 0      | stack 0 ...      page | stack 1 ...  ...
//   stack i:  [slab + page - kCanaryBytes + i * size, ... + size)
//             ^ canary i: the top page of stack i-1 (page 0 for stack 0)
//
// Slots are carved from the top down. A parked task costs one page, and a
// slab one mapping and its page 0: up to kSlabMaxStacks stacks share that
// page (4 bytes each at 1024), as many as fit in kSlabTargetBytes of address
// space. A stack given back to the kernel (the pool is full) returns its
// pages but the top one, which holds its neighbour's canary and, while the
// slot is free, the link to the slab's next free slot; its slot is carved
// again later. The slab is unmapped when none of its stacks is in use.
constexpr std::size_t kCanaryBytes = kCanaryWords * sizeof(unsigned long long);
constexpr std::size_t kSlabMaxStacks = 1024;
constexpr std::size_t kSlabTargetBytes = std::size_t{128} << 20;

}  // namespace

struct StackSlab {
  char* mapping = nullptr;
  std::size_t mapping_size = 0;
  std::size_t stack_size = 0;
  std::size_t slots = 0;      ///< stacks it holds (1 .. kSlabMaxStacks)
  std::size_t carved = 0;     ///< slots handed out at least once (0 .. slots)
  std::size_t in_use = 0;     ///< slots not given back to the slab
  char* free_slot = nullptr;  ///< base of a given-back slot, or nullptr
};

namespace {

std::mutex g_slab_mutex;
// Slabs with a slot to give (free or never carved), guarded by g_slab_mutex.
std::vector<StackSlab*>* g_open_slabs = new std::vector<StackSlab*>();  // never freed

char* slot_base(const StackSlab& slab, std::size_t slot) noexcept {
  return slab.mapping + page_size() - kCanaryBytes + slot * slab.stack_size;
}

// A free slot's link to the next one: the last word below its top, on the
// page the slot keeps resident.
char** free_link(char* base, std::size_t stack_size) noexcept {
  return reinterpret_cast<char**>(base + stack_size) - 1;
}

bool slab_full(const StackSlab& slab) noexcept {
  return slab.free_slot == nullptr && slab.carved == slab.slots;
}

bool carve_from_slab(std::size_t size, TaskStack* out) noexcept {
  std::lock_guard<std::mutex> lock(g_slab_mutex);
  StackSlab* slab = nullptr;
  std::vector<StackSlab*>& open = *g_open_slabs;
  for (std::size_t i = open.size(); i-- > 0;) {
    if (open[i]->stack_size == size) {
      slab = open[i];
      break;
    }
  }
  if (slab == nullptr) {
    auto* fresh = new (std::nothrow) StackSlab;
    if (fresh == nullptr) return false;
    const std::size_t slots = std::clamp<std::size_t>(kSlabTargetBytes / size, 1, kSlabMaxStacks);
    const std::size_t bytes = page_size() + slots * size;
    void* mapping = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) {
      delete fresh;
      return false;
    }
    fresh->mapping = static_cast<char*>(mapping);
    fresh->mapping_size = bytes;
    fresh->stack_size = size;
    fresh->slots = slots;
    try {
      open.push_back(fresh);
    } catch (...) {
      ::munmap(mapping, bytes);
      delete fresh;
      errno = ENOMEM;
      return false;
    }
    slab = fresh;
  }
  char* base;
  if (slab->free_slot != nullptr) {
    base = slab->free_slot;
    slab->free_slot = *free_link(base, size);
  } else {
    // Top down, as the kernel places mappings: what lies below a new stack
    // is slots not yet carved, so an overflow runs into unused memory first.
    base = slot_base(*slab, slab->slots - 1 - slab->carved++);
  }
  ++slab->in_use;
  if (slab_full(*slab)) open.erase(std::find(open.begin(), open.end(), slab));
  *out = TaskStack{base, size, slab, false};
  return true;
}

// A slab stack the pool cannot keep: its pages go back to the kernel but the
// top one (its neighbour's canary); when it was the slab's last, the slab.
void give_back_to_slab(const TaskStack& stack) noexcept {
  StackSlab* slab = stack.slab;
  char* base = static_cast<char*>(stack.base);
  std::lock_guard<std::mutex> lock(g_slab_mutex);
  std::vector<StackSlab*>& open = *g_open_slabs;
  if (--slab->in_use == 0) {
    auto it = std::find(open.begin(), open.end(), slab);
    if (it != open.end()) open.erase(it);
    ::munmap(slab->mapping, slab->mapping_size);
    delete slab;
    return;
  }
  // [first whole page above the canary, the page holding the top): the
  // stack's own pages. Dropped, they read as zeros when touched again.
  const std::size_t page = page_size();
  char* own_from = base + kCanaryBytes;  // page-aligned by construction
  char* top_page = base + stack.size - (page - kCanaryBytes);
  if (top_page > own_from)
    ::madvise(own_from, static_cast<std::size_t>(top_page - own_from), MADV_DONTNEED);
  const bool was_full = slab_full(*slab);
  *free_link(base, stack.size) = slab->free_slot;
  slab->free_slot = base;
  if (was_full) {
    try {
      open.push_back(slab);
    } catch (...) {  // out of memory: the slot waits for the slab's next stack
    }
  }
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
  if (s->slab != nullptr) {
    give_back_to_slab(*s);
  } else {
    const std::size_t guard = page_size();
    ::munmap(static_cast<char*>(s->base) - guard, s->size + guard);
  }
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

  const bool guarded = g_guarded.fetch_add(1, std::memory_order_relaxed) < guard_budget();
  if (!guarded) {
    g_guarded.fetch_sub(1, std::memory_order_relaxed);
    TaskStack stack{};
    if (!carve_from_slab(size, &stack)) return false;
    write_canary(stack.base);
    g_unguarded.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);  // as below
    *out = stack;
    return true;
  }
  const std::size_t guard = page;
  void* mapping = ::mmap(nullptr, size + guard, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mapping == MAP_FAILED) {
    g_guarded.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  if (::mprotect(mapping, guard, PROT_NONE) != 0) {
    int saved = errno;
    ::munmap(mapping, size + guard);
    g_guarded.fetch_sub(1, std::memory_order_relaxed);
    errno = saved;
    return false;
  }
  TaskStack stack{static_cast<char*>(mapping) + guard, size, nullptr, true};
  // The SIGSEGV handler may read the task's stack from another thread: the
  // canary is in place before the stack is published (mmap dwarfs the fence).
  std::atomic_thread_fence(std::memory_order_release);
  *out = stack;
  return true;
}

void release_stack(TaskStack* stack) noexcept {
  if (stack->base == nullptr) return;
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

std::size_t stack_guard_size(const TaskStack& stack) noexcept {
  return stack.guarded ? page_size() : 0;
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
