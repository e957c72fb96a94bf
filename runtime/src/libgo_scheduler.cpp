// co::Scheduler::Create(), libgo's way of making one more scheduler: a new
// co::Scheduler behind libgo's interface (coscope/libgo/scheduler.h).
#include "coscope/libgo/scheduler.h"

namespace co {

LibgoScheduler* Scheduler::Create(const SchedulerOptions& options) {
  // Never destroyed, either of them: tasks may stay parked on the scheduler
  // while the process exits, as with Scheduler::Default().
  return new LibgoScheduler(*new Scheduler(options));
}

}  // namespace co
