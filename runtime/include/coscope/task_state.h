// TaskState and WaitReason: what a task is doing, and what it waits for.
//
// Every Task is in exactly one TaskState. Whenever a task parks (leaves the
// CPU without being runnable) it also records a WaitReason, so a debugger can
// say not only "sys_block" but "sys_block: channel recv on 0x55...".
#pragma once

#include <cstdint>

namespace co {

/// The life cycle of a Task. The names follow libgo's `co::TaskState`.
enum class TaskState : std::uint8_t {
  runnable = 0,   ///< queued or running on a Processer
  io_block = 1,   ///< parked until an fd becomes ready (or its timeout)
  sleep = 2,      ///< parked until a deadline (sleep_for, co_sleep, sleep())
  sys_block = 3,  ///< parked on a synchronisation object (channel, mutex, ...)
  done = 4,       ///< finished; about to be released
};

/// Why a parked task waits. Recorded on every park, cleared on wake.
enum class WaitReason : std::uint8_t {
  none = 0,
  sleep,               ///< wait_deadline_ns holds the wake-up time
  fd_readable,         ///< wait_arg holds the fd
  fd_writable,         ///< wait_arg holds the fd
  poll,                ///< wait_object is the io_sentry, wait_arg the nfds
  channel_send,        ///< wait_object is the channel
  channel_recv,        ///< wait_object is the channel
  mutex,               ///< wait_object is the mutex
  condition_variable,  ///< wait_object is the condition variable
  wait_group,          ///< wait_object is the wait group
  blocking_call,       ///< handed to a blocking-thread pool (resolver calls)
};

/// "runnable", "io_block", ... (never null).
const char* to_string(TaskState state) noexcept;
/// "sleep", "channel recv", ... (never null).
const char* to_string(WaitReason reason) noexcept;

}  // namespace co
