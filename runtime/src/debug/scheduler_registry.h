// The scheduler registry: every SchedulerCore of the process, in one place.
//
// Tasks point at their scheduler (Task::scheduler), but a scheduler without
// a task - started and idle, or stopped - must be found too. A debugger
// starts at the global `coscope_scheduler_registry` and walks the list
// through SchedulerCore::registry_next, reading memory only. A scheduler is
// linked when it is constructed and unlinked when it is destroyed; nothing
// on the scheduling path touches the registry.
#pragma once

#include <cstddef>
#include <cstdint>

#include "coscope/detail/park.h"

namespace co {
namespace detail {

class SchedulerCore;

struct SchedulerRegistry {
  std::uint32_t version;  ///< layout version for debuggers (bumped on change)
  SpinLock lock;          ///< guards head, count, next_id and the links
  SchedulerCore* head;    ///< most recently created scheduler, nullptr if none
  std::size_t count;      ///< schedulers linked
  std::uint64_t next_id;  ///< the id the next scheduler gets (ids start at 1)

  /// Links `core` and gives it its id (SchedulerCore::id).
  void Add(SchedulerCore* core) noexcept;
  void Remove(SchedulerCore* core) noexcept;
};

SchedulerRegistry& scheduler_registry() noexcept;

}  // namespace detail
}  // namespace co

/// The registry, under a C name a debugger can find without knowing C++ mangling.
extern "C" co::detail::SchedulerRegistry coscope_scheduler_registry;
