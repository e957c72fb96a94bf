// What a thread of this process is doing right now, as the kernel tells it
// in /proc/self/task/TID/syscall: the system call it is blocked in (number
// and six arguments, then its stack and instruction pointers), "running" when
// it is on a CPU, or -1 when it is off CPU outside any system call.
//
// The stall watchdog (stall_watchdog.h) reads it for a worker thread whose
// task has run too long, to say what the thread is blocked in and, for a
// call coscope hooks, why the hook did not park the task.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace co {
namespace detail {

struct ThreadSyscall {
  enum class Kind {
    unknown,     ///< the file could not be read (thread gone, no kernel support)
    running,     ///< on a CPU, or off it in user code: no system call
    in_syscall,  ///< blocked (or about to return) in system call `number`
  };
  Kind kind = Kind::unknown;
  long number = -1;            ///< the system call number (x86-64 SYS_*)
  std::uint64_t args[6] = {};  ///< its arguments as the kernel saw them
  std::uintptr_t pc = 0;       ///< where the thread entered the kernel
};

/// Reads /proc/self/task/`tid`/syscall with raw system calls (no hooked name).
ThreadSyscall read_thread_syscall(long tid) noexcept;

/// The name of system call `number` for the ones coscope knows ("read",
/// "futex", ...), or nullptr.
const char* syscall_name(long number) noexcept;

/// `read(fd 0)`, `futex(0x7f.., FUTEX_WAIT_PRIVATE)`, `poll(nfds 1, 500 ms)`,
/// or "running (no system call)"; "unknown (...)" when unreadable.
std::string describe_thread_syscall(const ThreadSyscall& call);

/// For a call the hooks would have parked on: why the thread is blocked in
/// it anyway (the call did not pass through the hook: glibc's own calls, as
/// stdio's reads are, or a raw system call). For a call no hook covers
/// (futex: a pthread mutex), what that means. Empty when there is nothing to
/// say (a CPU-bound task).
std::string explain_thread_syscall(const ThreadSyscall& call);

}  // namespace detail
}  // namespace co
