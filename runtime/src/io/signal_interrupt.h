// Signal interruption: a caught signal ends a hooked wait with EINTR, as the
// kernel ends a blocked system call.
//
// Natively (signal(7), "Interruption of system calls and library functions
// by signal handlers") a thread blocked in a system call that takes a caught
// signal runs the handler, then the call fails with EINTR - or, for the
// calls the kernel restarts (read, write, accept, recv, send, connect, ...
// on a socket without SO_RCVTIMEO / SO_SNDTIMEO) under a handler installed
// with SA_RESTART, it goes on waiting. poll, select, epoll_wait and the
// sleeps always fail with EINTR. A task parked in a hooked call is not in the
// kernel, so the runtime does the same by hand:
//
//   1. the hooked sigaction (hooks/signal_hooks.cpp) installs each handler
//      wrapped in a trampoline; after the handler returns, the trampoline
//      calls note_caught_signal();
//   2. note_caught_signal() counts the signal - and, separately, whether its
//      handler lacks SA_RESTART - then writes the wake eventfd;
//   3. the wake eventfd is registered with the reactor like any fd, and every
//      hooked wait links one extra IoWaiter on it (SignalWakeLink), so that
//      write wakes every such wait through its WaitTicket;
//   4. a wait takes a SignalMark when it starts and, once linked and after
//      every wake, asks signal_interrupts(mark, restartable): any caught
//      signal ends a wait that is never restarted; only one whose handler
//      lacks SA_RESTART ends a restartable one (the others wake it for
//      nothing, and it waits again).
// The handler has finished before the counters move, so a task that sees
// EINTR also sees what the handler did, as natively.
//
// The one deviation from the kernel: natively only the thread that takes the
// signal is interrupted. Tasks do not own threads - the thread that takes it
// may be running another task, or be no worker at all - so a caught signal
// interrupts every task that is in a hooked wait at that moment. Programs
// must handle EINTR from these calls anyway.
//
// Nothing happens for a program that installs no handler through the hooks:
// no eventfd exists and waits link nothing.
#pragma once

#include <cstdint>

#include "fd_ctx.h"

namespace co {
namespace detail {

struct IoSentry;

/// The caught-signal counters when a wait started.
struct SignalMark {
  std::uint64_t caught = 0;             ///< all caught signals
  std::uint64_t caught_no_restart = 0;  ///< those whose handler lacks SA_RESTART
};

/// What was caught since a mark.
enum class SignalsSince {
  none,          ///< nothing
  restart_only,  ///< only signals whose handlers have SA_RESTART
  interrupting,  ///< at least one whose handler lacks SA_RESTART
};

/// Creates the wake eventfd (once). Async-signal-safe; errno is preserved.
/// Without it (eventfd failed) handlers still run, but a parked task only
/// notices signals caught before it parked.
void enable_signal_interruption() noexcept;

/// Called once a caught signal's handler has returned: counts it and wakes
/// every task in a hooked wait. Async-signal-safe; errno is preserved.
void note_caught_signal(bool handler_has_restart) noexcept;

SignalMark signal_mark() noexcept;
SignalsSince signals_since(const SignalMark& mark) noexcept;

/// True if a signal caught since `mark` ends a wait: any signal, or for a
/// `restartable` call only one whose handler lacks SA_RESTART.
inline bool signal_interrupts(const SignalMark& mark, bool restartable) noexcept {
  SignalsSince s = signals_since(mark);
  return s == SignalsSince::interrupting || (s == SignalsSince::restart_only && !restartable);
}

/// While alive, a caught signal wakes `sentry`'s task (through an IoWaiter on
/// the wake eventfd). Link after arming the park (prepare_park), then check
/// signal_interrupts() before parking: a signal caught in between is seen by
/// one or the other.
class SignalWakeLink {
 public:
  explicit SignalWakeLink(IoSentry* sentry) noexcept;
  ~SignalWakeLink();
  SignalWakeLink(const SignalWakeLink&) = delete;
  SignalWakeLink& operator=(const SignalWakeLink&) = delete;

 private:
  IoWaiter waiter_;
};

}  // namespace detail
}  // namespace co
