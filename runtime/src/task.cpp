#include "task.h"

#include <cstdlib>
#include <cstring>

#include "context.h"
#include "coscope/detail/task_locals.h"
#include "stack_pool.h"
#include "task_memory.h"

namespace co {

const char* to_string(TaskState state) noexcept {
  switch (state) {
    case TaskState::runnable:
      return "runnable";
    case TaskState::io_block:
      return "io_block";
    case TaskState::sleep:
      return "sleep";
    case TaskState::sys_block:
      return "sys_block";
    case TaskState::done:
      return "done";
  }
  return "invalid";
}

const char* to_string(WaitReason reason) noexcept {
  switch (reason) {
    case WaitReason::none:
      return "none";
    case WaitReason::sleep:
      return "sleep";
    case WaitReason::fd_readable:
      return "fd readable";
    case WaitReason::fd_writable:
      return "fd writable";
    case WaitReason::poll:
      return "poll";
    case WaitReason::channel_send:
      return "channel send";
    case WaitReason::channel_recv:
      return "channel recv";
    case WaitReason::mutex:
      return "mutex";
    case WaitReason::condition_variable:
      return "condition variable";
    case WaitReason::wait_group:
      return "wait group";
    case WaitReason::blocking_call:
      return "blocking call";
  }
  return "invalid";
}

namespace detail {
namespace {

// Async-signal-safe appenders (used from the SIGSEGV handler).
void append(char*& out, char* end, const char* s) noexcept {
  while (*s != '\0' && out + 1 < end) *out++ = *s++;
}

void append_number(char*& out, char* end, unsigned long long v) noexcept {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0 && out + 1 < end) *out++ = digits[--n];
}

}  // namespace

const char* describe_task(const Task* task, char* buf, std::size_t size) noexcept {
  char* out = buf;
  char* end = buf + size;
  append(out, end, "#");
  append_number(out, end, task->id);
  if (task->name != nullptr) {
    append(out, end, " \"");
    append(out, end, task->name);
    append(out, end, "\"");
  }
  append(out, end, " (created at ");
  append(out, end, task->created_file != nullptr ? task->created_file : "?");
  append(out, end, ":");
  append_number(out, end, static_cast<unsigned long long>(task->created_line));
  // Until the stack is mapped, the size asked for (its failure is reported too).
  append(out, end, ", stack ");
  append_number(out, end, task->stack.size);
  append(out, end, " bytes)");
  *out = '\0';
  return buf;
}

bool set_task_name(Task* task, const char* name, std::size_t length) noexcept {
  if (length == 0) return true;  // unnamed: nullptr, nothing allocated
  if (length > kTaskNameMax) length = kTaskNameMax;
  auto* copy = static_cast<char*>(std::malloc(length + 1));
  if (copy == nullptr) return false;
  std::memcpy(copy, name, length);
  copy[length] = '\0';
  task->name = copy;
  return true;
}

void destroy_task(Task* task) noexcept {
  delete task->locals;
  context_destroy(task);
  release_stack(&task->stack);
  if (task->closure != nullptr && task->closure != task->inline_closure) std::free(task->closure);
  std::free(const_cast<char*>(task->name));
  task->~Task();
  give_task_memory(task);
}

}  // namespace detail
}  // namespace co
