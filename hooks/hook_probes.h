// Probe points at the entry and the exit of the hooks: those that can park a
// task, and those that never do but change what the runtime knows of an fd
// or a signal (socket, pipe, dup, fcntl, setsockopt, sigaction, ...). USDT
// probes, provider "coscope"; the mechanism is described in
// runtime/src/debug/probes.h:
//
//   coscope:NAME_enter(subject)            as the hook starts
//   coscope:NAME_exit(subject, result)     just before it returns
//
// NAME is the hooked function (read, connect, poll, usleep, ...). `subject`
// is the argument that says what the call is about: the fd for the fd calls,
// nfds for poll / ppoll / select / pselect, the epoll fd for epoll_wait /
// epoll_pwait / epoll_pwait2, the duration for sleep (seconds) and usleep
// (microseconds), the clock for clock_nanosleep, the domain for socket and
// socketpair, the old fd for the dup calls, the signal for sigaction, signal,
// sysv_signal and siginterrupt (signal and sysv_signal's result is the old
// handler, SIG_ERR on failure). nanosleep, pipe, pipe2 and the resolver calls
// have none: their probes are NAME_enter() and NAME_exit(result).
// bsd_signal and __sysv_signal fire signal's and sysv_signal's probes; the
// hooks' own calls of sigaction do not fire its probes.
// errno is not an argument (reading it costs a call); a debugger reads the
// thread's errno at the exit probe, where the hook has just set it.
//
// Why probes and not breakpoints on the hooked functions themselves: a task
// can park inside a hook and resume on another worker thread. The exit probe
// fires on the thread the task returns on, with the result in hand, whereas
// a breakpoint at the caller's return address (gdb's `finish`) is tied to
// the thread and the stack frame the call started on. The entry probe also
// needs no care about which `read` is meant (the program's hook, or libc's,
// which the hook calls through read_f).
//
// The gdb toolkit's list of these probes, with each subject's name, is
// gdb/coscope/hook_probes.py (its test checks the two agree).
#pragma once

#include <signal.h>

#include <cstdint>

#include "debug/probes.h"
#include "debug/trace_log.h"

/// Every hook's body, its probes around its work:
///
///   ssize_t read(int fd, void* buf, size_t count) {
///     COSCOPE_HOOK(read, fd, hooked_read(fd, [&] { return read_f(fd, buf, count); }));
///   }
///
/// fires read_enter(fd), evaluates the expression (the hook's work, often a
/// NAME_body function of the hook's file), fires read_exit(fd, result) and
/// returns the result. COSCOPE_HOOK_NO_SUBJECT(NAME, EXPRESSION) is the same
/// for a hook without a subject.
#define COSCOPE_HOOK(hook, subject, ...)                                           \
  COSCOPE_HOOK_ENTER(hook, subject);                                               \
  const auto coscope_hook_result = (__VA_ARGS__);                                  \
  COSCOPE_HOOK_EXIT(hook, subject, ::co::hooks::probe_value(coscope_hook_result)); \
  return coscope_hook_result
#define COSCOPE_HOOK_NO_SUBJECT(hook, ...)                                           \
  COSCOPE_HOOK_ENTER_NO_SUBJECT(hook);                                               \
  const auto coscope_hook_result = (__VA_ARGS__);                                    \
  COSCOPE_HOOK_EXIT_NO_SUBJECT(hook, ::co::hooks::probe_value(coscope_hook_result)); \
  return coscope_hook_result

namespace co {
namespace hooks {

/// A hook's result as its exit probe's argument: as it is, but a signal
/// handler (what signal and sysv_signal return) as its address.
template <class T>
T probe_value(T result) noexcept {
  return result;
}
inline std::intptr_t probe_value(__sighandler_t result) noexcept {
  return reinterpret_cast<std::intptr_t>(result);
}

}  // namespace hooks
}  // namespace co

// The two halves, for COSCOPE_HOOK and COSCOPE_HOOK_NO_SUBJECT.

// Each probe also feeds the trace's hooked-call slices (COSCOPE_TRACE=FILE.json):
// one predicted branch when tracing is off.

/// A hook with a subject: COSCOPE_HOOK_ENTER(read, fd) ... COSCOPE_HOOK_EXIT(read, fd, n).
#define COSCOPE_HOOK_ENTER(hook, subject)                                        \
  do {                                                                           \
    COSCOPE_PROBE1(hook##_enter, subject);                                       \
    if (::co::detail::trace_on())                                                \
      ::co::detail::trace_hook_enter(#hook, ::co::detail::trace_value(subject)); \
  } while (0)
#define COSCOPE_HOOK_EXIT(hook, subject, result)                               \
  do {                                                                         \
    if (::co::detail::trace_on())                                              \
      ::co::detail::trace_hook_exit(#hook, ::co::detail::trace_value(result)); \
    COSCOPE_PROBE2(hook##_exit, subject, result);                              \
  } while (0)

/// A hook without one (nanosleep, the resolver calls).
#define COSCOPE_HOOK_ENTER_NO_SUBJECT(hook)                                                        \
  do {                                                                                             \
    COSCOPE_PROBE0(hook##_enter);                                                                  \
    if (::co::detail::trace_on()) ::co::detail::trace_hook_enter(#hook, ::co::detail::kNoSubject); \
  } while (0)
#define COSCOPE_HOOK_EXIT_NO_SUBJECT(hook, result)                             \
  do {                                                                         \
    if (::co::detail::trace_on())                                              \
      ::co::detail::trace_hook_exit(#hook, ::co::detail::trace_value(result)); \
    COSCOPE_PROBE1(hook##_exit, result);                                       \
  } while (0)
