// go co_stack(N) gives the task a stack of N bytes; go co_scheduler(s) spawns
// on s, a scheduler from co::Scheduler::Create(); co_sched.Start(n) runs n
// workers and blocks until co_sched.Stop().
#include <coscope/libgo.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "check.h"

namespace {

// Writes `bytes` of this task's stack, which a smaller stack cannot hold.
__attribute__((noinline)) int use_stack(std::size_t bytes) {
  auto* block = static_cast<volatile char*>(__builtin_alloca(bytes));
  for (std::size_t i = 0; i < bytes; i += 4096) block[i] = static_cast<char>(i);
  return block[bytes / 2];
}

// The scheduler the calling task belongs to.
const co::Scheduler* scheduler_of_this_task() {
  for (const co::TaskInfo& task : co::snapshot_tasks()) {
    if (task.id == co::this_task::id()) return task.scheduler;
  }
  return nullptr;
}

}  // namespace

int main() {
  // 1 MiB of stack use needs far more than the default stack.
  CHECK(co::default_stack_size() < (1u << 20));
  std::atomic<bool> deep_ran{false};
  go co_stack(4 << 20)[&] {
    use_stack(1 << 20);
    deep_ran = true;
  };
  std::atomic<bool> short_hand_ran{false};
  go_stack(4 << 20)[&] {
    use_stack(1 << 20);
    short_hand_ran = true;
  };

  // A second scheduler, run on a thread of its own as libgo programs do:
  // its Start() returns only after its Stop().
  auto* other = co::Scheduler::Create();
  std::atomic<const co::Scheduler*> ran_on{nullptr};
  std::atomic<const co::Scheduler*> default_ran_on{nullptr};
  go co_scheduler(other)[&] {
    ran_on = scheduler_of_this_task();
  };
  go co_scheduler(co_sched)[&] {
    default_ran_on = scheduler_of_this_task();
  };
  CHECK(other->TaskCount() == 1 && co_sched.TaskCount() == 3);
  std::atomic<bool> other_start_returned{false};
  std::thread other_thread([&] {
    other->Start(1);
    other_start_returned = true;
  });

  std::atomic<std::size_t> workers_seen{0};
  std::atomic<bool> stop_called{false};
  go[&] {
    // The other tasks are done (each spawned before this one, but two workers
    // may run them in any order).
    while (!deep_ran || !short_hand_ran || ran_on.load() == nullptr ||
           default_ran_on.load() == nullptr) {
      co_sleep(1);
    }
    workers_seen = co::Scheduler::Default().WorkerCount();
    stop_called = true;
    co_sched.Stop();
  };
  co_sched.Start(2);
  CHECK(stop_called);  // Start() did not return before Stop()
  CHECK(!other_start_returned);
  other->Stop();
  other_thread.join();
  CHECK(other->IsStop() && other->IsEmpty());

  CHECK(deep_ran && short_hand_ran);
  CHECK(ran_on.load() == &other->scheduler());
  CHECK(default_ran_on.load() == &co::Scheduler::Default());
  CHECK(workers_seen == 2);
  std::printf("co_stack, co_scheduler, Create and Start(2) behave as in libgo\n");
  return 0;
}
