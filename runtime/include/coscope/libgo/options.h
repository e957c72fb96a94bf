// libgo's co_opt: the process-wide coroutine options.
//
// Only stack_size acts in coscope: it reads and sets co::default_stack_size()
// (tasks spawned afterwards get it). The other fields are there so that
// libgo programs that set them compile; coscope keeps their values and
// ignores them, because it has no such knob: see docs/libgo-compat.md.
#pragma once

#include <cstdint>
#include <cstdio>

#include "coscope/spawn.h"

namespace co {

class LibgoOptions {
 public:
  /// co_opt.stack_size: the default stack size of new tasks, in bytes.
  class StackSize {
   public:
    StackSize& operator=(std::uint32_t bytes) {
      set_default_stack_size(bytes);
      return *this;
    }
    operator std::uint32_t() const { return static_cast<std::uint32_t>(default_stack_size()); }
  };

  StackSize stack_size;

  // Accepted and ignored (no coscope equivalent).
  std::uint64_t debug = 0;
  std::FILE* debug_output = stdout;
  std::uint32_t epoll_event_size = 10240;
  bool enable_coro_stat = false;
  std::uint32_t cycle_timeout_us = 100 * 1000;
  std::uint32_t dispatcher_thread_cycle_us = 1000;
  float load_balance_rate = 0.01f;
  int protect_stack_page = 0;

  /// co_opt.
  static LibgoOptions& Instance() {
    static LibgoOptions options;
    return options;
  }
};

}  // namespace co
