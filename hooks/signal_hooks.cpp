// sigaction, signal, bsd_signal, sysv_signal, siginterrupt: a caught signal
// interrupts the hooked waits as it interrupts blocked system calls (the
// protocol, and its one deviation from the kernel - every task in a hooked
// wait is interrupted, not one thread: io/signal_interrupt.h).
//
// A handler is installed wrapped in a trampoline. The kernel sees the
// trampoline; the program never does:
//   - sigaction(sig, act, old) with a handler in `act` installs
//     trampoline<kind> with act's mask and flags (plus SA_SIGINFO) and keeps
//     the handler in g_user_handler[sig][kind]. `kind` is the handler's own
//     SA_SIGINFO and SA_RESTART, so a trampoline knows how to call its
//     handler and whether the kernel restarts what it interrupted from the
//     very action the kernel delivered - never from a second table that a
//     concurrent sigaction may be changing;
//   - SIG_DFL, SIG_IGN and invalid signal numbers reach the kernel as given;
//   - an `old` result is turned back into the program's view (its handler,
//     its flags), so sigaction round trips;
//   - SA_RESETHAND stays the kernel's business: it resets the action to
//     SIG_DFL on delivery, as it would the unwrapped handler.
// The flags reach the kernel as given, so outside coroutines nothing
// changes: the kernel interrupts or restarts a blocked thread itself.
//
// The trampoline calls the handler, then note_caught_signal(): both are
// async-signal-safe. A signal raised by a fault (SIGSEGV from an access,
// SIGFPE, ...) is taken by the thread that faulted, which was running, not
// waiting: it interrupts nothing. A handler that never returns (siglongjmp)
// interrupts nothing either.
//
// Not hooked: sigset() and raw rt_sigaction system calls. Handlers installed
// that way run as usual but do not interrupt tasks' waits.
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "coscope/detail/park.h"
#include "hook_families.h"
#include "hook_probes.h"
#include "hook_support.h"
#include "io/signal_interrupt.h"

extern "C" int __sigaction(int, const struct sigaction*, struct sigaction*) __attribute__((weak));

namespace {

using co::hooks::ensure_init;

// A sanitizer's runtime installs its own signal handlers while it starts,
// through this hook, before the originals table is filled and before any
// instrumented code may run. So this file is built without ThreadSanitizer
// instrumentation (runtime/CMakeLists.txt), and until the table is filled
// sigaction goes straight to libc's, found here without calling anything of
// ours.
int early_sigaction(int signo, const struct sigaction* act, struct sigaction* old) {
  static sigaction_t libc_sigaction = nullptr;
  if (libc_sigaction == nullptr) {
    libc_sigaction = reinterpret_cast<sigaction_t>(dlsym(RTLD_NEXT, "sigaction"));
    if (libc_sigaction == nullptr) libc_sigaction = __sigaction;  // a static program
  }
  if (libc_sigaction == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return libc_sigaction(signo, act, old);
}
using SiginfoHandler = void (*)(int, siginfo_t*, void*);
using PlainHandler = void (*)(int);

// Trampoline kinds: the wrapped handler's SA_SIGINFO and SA_RESTART.
constexpr int kSiginfo = 1;
constexpr int kRestart = 2;
constexpr int kKinds = 4;
constexpr int kNotOurs = -1;

int kind_for(int sa_flags) noexcept {
  return ((sa_flags & SA_SIGINFO) ? kSiginfo : 0) | ((sa_flags & SA_RESTART) ? kRestart : 0);
}

// The program's handlers (the bits of sa_sigaction / sa_handler), read by
// the trampolines: lock-free words only.
std::atomic<std::uintptr_t> g_user_handler[NSIG][kKinds];
// The kind last installed through sigaction, plus one (0: something else),
// to undo our SA_SIGINFO once SA_RESETHAND has reset the action to SIG_DFL.
std::atomic<int> g_installed_kind_plus_one[NSIG];

int installed_kind(int signo) noexcept {
  return g_installed_kind_plus_one[signo].load(std::memory_order_relaxed) - 1;
}
void set_installed_kind(int signo, int kind) noexcept {
  g_installed_kind_plus_one[signo].store(kind + 1, std::memory_order_relaxed);
}
// Signals siginterrupt(sig, 1) asked signal() to install without SA_RESTART.
std::atomic<std::uint64_t> g_signal_interrupts{0};

// Serialises sigaction calls so the kernel's action and the table agree.
// Taken with every signal blocked in this thread: a handler that calls
// sigaction can only wait for another thread, which finishes.
co::detail::SpinLock g_install_lock;

class InstallGuard {
 public:
  InstallGuard() noexcept {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_mask_);
    g_install_lock.lock();
  }
  ~InstallGuard() {
    g_install_lock.unlock();
    pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
  }
  InstallGuard(const InstallGuard&) = delete;
  InstallGuard& operator=(const InstallGuard&) = delete;

 private:
  sigset_t saved_mask_;
};

// A fault is taken by the thread that raised it, never by a blocked call.
bool raised_by_fault(int signo, const siginfo_t* info) noexcept {
  switch (signo) {
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
    case SIGSYS:
      return info != nullptr && info->si_code > 0;  // > 0: sent by the kernel
    default:
      return false;
  }
}

template <int kKind>
void trampoline(int signo, siginfo_t* info, void* context) {
  const std::uintptr_t handler = g_user_handler[signo][kKind].load(std::memory_order_acquire);
  if constexpr ((kKind & kSiginfo) != 0) {
    reinterpret_cast<SiginfoHandler>(handler)(signo, info, context);
  } else {
    reinterpret_cast<PlainHandler>(handler)(signo);
  }
  if (!raised_by_fault(signo, info)) co::detail::note_caught_signal((kKind & kRestart) != 0);
}

constexpr SiginfoHandler kTrampolines[kKinds] = {trampoline<0>, trampoline<1>, trampoline<2>,
                                                 trampoline<3>};

int trampoline_kind(SiginfoHandler fn) noexcept {
  for (int kind = 0; kind < kKinds; ++kind) {
    if (kTrampolines[kind] == fn) return kind;
  }
  return kNotOurs;
}

std::uintptr_t handler_bits(const struct sigaction* act) noexcept {
  return reinterpret_cast<std::uintptr_t>(act->sa_sigaction);  // a union with sa_handler
}

bool wants_wrapping(const struct sigaction* act) noexcept {
  if (act == nullptr || act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN) return false;
  // Handed back one of ours (read through an unhooked path): keep it as is.
  return trampoline_kind(act->sa_sigaction) == kNotOurs;
}

// What the kernel holds -> what the program installed. `replaced_kind` and
// `replaced_handler`: the table entry this very call overwrote, if any (the
// table already holds the new handler there); `kind_before`: the kind
// installed before this call.
void to_program_view(int signo, struct sigaction* old, int replaced_kind,
                     std::uintptr_t replaced_handler, int kind_before) noexcept {
  if (old->sa_flags & SA_SIGINFO) {
    const int kind = trampoline_kind(old->sa_sigaction);
    if (kind != kNotOurs) {
      const std::uintptr_t handler =
          kind == replaced_kind ? replaced_handler
                                : g_user_handler[signo][kind].load(std::memory_order_relaxed);
      if (kind & kSiginfo) {
        old->sa_sigaction = reinterpret_cast<SiginfoHandler>(handler);
      } else {
        old->sa_handler = reinterpret_cast<PlainHandler>(handler);
        old->sa_flags &= ~SA_SIGINFO;
      }
      return;
    }
  }
  // SA_RESETHAND reset our trampoline to SIG_DFL; the flags stay as
  // installed, including the SA_SIGINFO the program did not ask for.
  if (old->sa_handler == SIG_DFL && (old->sa_flags & SA_RESETHAND) && kind_before != kNotOurs &&
      (kind_before & kSiginfo) == 0) {
    old->sa_flags &= ~SA_SIGINFO;
  }
}

std::uint64_t signal_bit(int signo) noexcept {
  return std::uint64_t{1} << (signo - 1);
}

int sigaction_body(int signo, const struct sigaction* act, struct sigaction* old) {
  // Before coscope's start-up (a constructor of priority 101) the handler
  // is installed unwrapped: it runs, but interrupts no task.
  if (sigaction_f == nullptr) return early_sigaction(signo, act, old);
  ensure_init();
  if (signo < 1 || signo >= NSIG) return sigaction_f(signo, act, old);  // the kernel's EINVAL
  InstallGuard guard;
  const int kind_before = installed_kind(signo);
  int replaced_kind = kNotOurs;
  std::uintptr_t replaced_handler = 0;
  int r;
  if (!wants_wrapping(act)) {
    r = sigaction_f(signo, act, old);
    if (r == 0 && act != nullptr) set_installed_kind(signo, kNotOurs);
  } else {
    co::detail::enable_signal_interruption();
    const int kind = kind_for(act->sa_flags);
    struct sigaction wrapped = *act;
    wrapped.sa_sigaction = kTrampolines[kind];
    wrapped.sa_flags |= SA_SIGINFO;
    // Store before the kernel can deliver to trampoline<kind>.
    replaced_handler = g_user_handler[signo][kind].exchange(handler_bits(act));
    replaced_kind = kind;
    r = sigaction_f(signo, &wrapped, old);
    if (r == 0) {
      set_installed_kind(signo, kind);
    } else {
      g_user_handler[signo][kind].store(replaced_handler);  // e.g. SIGKILL: nothing changed
    }
  }
  if (r == 0 && old != nullptr) {
    to_program_view(signo, old, replaced_kind, replaced_handler, kind_before);
  }
  return r;
}

// signal() and its relatives: sigaction with fixed flags, as glibc does.
__sighandler_t install_simple(int signo, __sighandler_t handler, int flags, bool mask_self) {
  if (handler == SIG_ERR || signo < 1 || signo >= NSIG) {
    errno = EINVAL;
    return SIG_ERR;
  }
  struct sigaction act {};
  struct sigaction old {};
  act.sa_handler = handler;
  sigemptyset(&act.sa_mask);
  if (mask_self) sigaddset(&act.sa_mask, signo);
  act.sa_flags = flags;
  if (sigaction_body(signo, &act, &old) < 0) return SIG_ERR;
  return old.sa_handler;
}

int bsd_flags(int signo) noexcept {
  return (g_signal_interrupts.load(std::memory_order_relaxed) & signal_bit(signo)) ? 0 : SA_RESTART;
}

// siginterrupt(sig, 1): signal() installs sig's handlers without SA_RESTART
// from now on, and the current handler loses it; 0 gives it back.
int siginterrupt_body(int signo, int interrupt) {
  struct sigaction act {};
  if (sigaction_body(signo, nullptr, &act) < 0) return -1;
  if (interrupt) {
    g_signal_interrupts.fetch_or(signal_bit(signo), std::memory_order_relaxed);
    act.sa_flags &= ~SA_RESTART;
  } else {
    g_signal_interrupts.fetch_and(~signal_bit(signo), std::memory_order_relaxed);
    act.sa_flags |= SA_RESTART;
  }
  return sigaction_body(signo, &act, nullptr) < 0 ? -1 : 0;
}

}  // namespace

static_assert(NSIG - 1 <= 64, "g_signal_interrupts has one bit per signal");

extern "C" {

int sigaction(int signo, const struct sigaction* act, struct sigaction* old) {
  COSCOPE_HOOK(sigaction, signo, sigaction_body(signo, act, old));
}

__sighandler_t signal(int signo, __sighandler_t handler) {
  COSCOPE_HOOK(
      signal, signo,
      install_simple(signo, handler, signo >= 1 && signo < NSIG ? bsd_flags(signo) : 0, true));
}

__sighandler_t bsd_signal(int signo, __sighandler_t handler) {
  return signal(signo, handler);
}

// System V semantics: one-shot, not blocked while it runs, never restarting.
__sighandler_t sysv_signal(int signo, __sighandler_t handler) {
  COSCOPE_HOOK(sysv_signal, signo,
               install_simple(signo, handler, SA_RESETHAND | SA_NODEFER, false));
}

// What <signal.h> calls `signal` in strict ISO C mode.
__sighandler_t __sysv_signal(int signo, __sighandler_t handler) {
  return sysv_signal(signo, handler);
}

int siginterrupt(int signo, int interrupt) {
  COSCOPE_HOOK(siginterrupt, signo, siginterrupt_body(signo, interrupt));
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(signal);  // see hook_families.h
