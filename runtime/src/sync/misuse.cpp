// The fatal misuse reports of coscope/detail/misuse.h and of Mutex::unlock.
#include "coscope/detail/misuse.h"

#include <cstdio>
#include <cstdlib>

#include "sync/misuse_report.h"
#include "task.h"

namespace co {
namespace detail {
namespace {

// `task #id "name" (created at ...)`, or what the caller is when not a task.
const char* describe_party(const Task* tk, char* buf, std::size_t size) noexcept {
  if (tk == nullptr) {
    std::snprintf(buf, size, "a plain thread (not a task)");
    return buf;
  }
  char task[480];
  std::snprintf(buf, size, "task %s", describe_task(tk, task, sizeof task));
  return buf;
}

void print_waiters(const WaitList* list) noexcept {
  if (list == nullptr) return;
  for (const Waiter* w = list->head; w != nullptr; w = w->next) {
    char buf[512];
    std::fprintf(stderr, "coscope:   still waiting: %s\n",
                 describe_party(w->ticket.task, buf, sizeof buf));
  }
}

}  // namespace

void fatal_destroyed_with_waiters(const char* kind, const void* object, const WaitList* first,
                                  const WaitList* second) noexcept {
  const std::size_t count =
      (first != nullptr ? first->count : 0) + (second != nullptr ? second->count : 0);
  char buf[512];
  std::fprintf(stderr, "coscope: %s %p destroyed by %s while %zu task(s) or thread(s) wait on it\n",
               kind, object, describe_party(current_task(), buf, sizeof buf), count);
  print_waiters(first);
  print_waiters(second);
  std::fflush(stderr);
  std::abort();
}

void fatal_unlock_by_non_holder(const void* mutex, const Task* holder, bool held_by_thread,
                                bool locked) noexcept {
  char caller[512];
  describe_party(current_task(), caller, sizeof caller);
  if (!locked) {
    std::fprintf(stderr, "coscope: co::Mutex %p unlocked by %s, but nobody holds it\n", mutex,
                 caller);
  } else {
    char owner[512];
    if (holder != nullptr || !held_by_thread) {
      describe_party(holder, owner, sizeof owner);
    } else {
      std::snprintf(owner, sizeof owner, "another plain thread");
    }
    std::fprintf(stderr, "coscope: co::Mutex %p unlocked by %s, but %s holds it\n", mutex, caller,
                 owner);
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail
}  // namespace co
