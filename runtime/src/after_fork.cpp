// After fork: the child gets a reactor, idle waiters, timers and an fd table
// of its own.
//
// fork() copies the process's memory, with the forking thread only, and
// shares every open file description with the parent: the reactor's epoll
// instance and each scheduler's idle-waiter epoll and eventfd among them.
// Left as they are, the child would work on the parent's kernel objects:
// its close() of an inherited fd runs EPOLL_CTL_DEL on the epoll instance
// both processes use, and the parent's task waiting on that fd is never
// woken; its idle waiter would drain the parent's interrupts. So the child
// handler (pthread_atfork) closes the child's copies of those fds and opens
// new ones, forgets every registration and waiter of the fd table (the
// waiters are the parent's tasks, which do not run in the child) and every
// scheduler's timers (the same tasks'), and frees the locks a parent thread
// may have held at the fork. What is known of each fd (socket, O_NONBLOCK,
// timeouts) stays: the child inherited the fds.
//
// The prepare handler takes the scheduler registry's lock so the child finds
// the list of schedulers whole; parent and child release it.
//
// Not reset: the copies of the parent's other tasks stay in the child's
// memory, parked (or queued) and never run unless the child runs their
// scheduler; the child should exec, exit, or use schedulers of its own.
//
// Rejected: checking getpid() on every hooked call (a system call, or a
// cached pid that a raw clone() bypasses) to rebuild lazily; the handler
// runs once, where the change happens.
#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "debug/scheduler_registry.h"
#include "debug/trace_log.h"
#include "io/fd_ctx.h"
#include "io/reactor.h"
#include "scheduler_core.h"

namespace co {
namespace detail {
namespace {

void prepare() noexcept {
  scheduler_registry().lock.lock();
}

void in_parent() noexcept {
  scheduler_registry().lock.unlock();
}

void in_child() noexcept {
  SchedulerRegistry& registry = scheduler_registry();
  registry.lock.unlock();
  reactor().ResetInChild();
  fd_table_reset_in_child();
  trace_forget_in_child();  // the trace file is the parent's
  for (SchedulerCore* core = registry.head; core != nullptr; core = core->registry_next) {
    core->ResetInChild();
  }
}

}  // namespace

void install_fork_handlers() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pthread_atfork(&prepare, &in_parent, &in_child) != 0) {
      std::fputs("coscope: pthread_atfork failed: a child of fork would share the reactor\n",
                 stderr);
    }
  });
}

}  // namespace detail
}  // namespace co
