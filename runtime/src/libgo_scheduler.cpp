// co::Scheduler::Create(), libgo's way of making one more scheduler: a new
// co::Scheduler behind libgo's interface (coscope/libgo/scheduler.h).
#include <mutex>
#include <vector>

#include "coscope/libgo/scheduler.h"

namespace co {
namespace {

// Every scheduler Create() made. Never destroyed, either of them: tasks may
// stay parked on one while the process exits, as with Scheduler::Default().
// Held here, a leak checker sees them kept rather than lost when the
// program drops the pointer.
std::mutex g_created_mutex;
std::vector<LibgoScheduler*>* g_created = new std::vector<LibgoScheduler*>();

}  // namespace

LibgoScheduler* Scheduler::Create(const SchedulerOptions& options) {
  auto* created = new LibgoScheduler(*new Scheduler(options));
  std::lock_guard<std::mutex> lock(g_created_mutex);
  g_created->push_back(created);
  return created;
}

}  // namespace co
