#include "stack_overflow.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "debug/task_registry.h"
#include "debug/trace_log.h"
#include "processer.h"
#include "raw_syscall.h"

namespace co {
namespace detail {
namespace {

struct sigaction g_previous_segv;
std::once_flag g_install_once;

// Per-thread alternate signal stack: the overflowing stack cannot run the handler.
constexpr std::size_t kAltStackSize = 64 * 1024;
thread_local void* t_alt_stack = nullptr;

// How far below a stack's guard page a fault still counts as its overflow:
// a frame of up to this size may skip the page and fault below it.
constexpr std::uintptr_t kFaultWindow = 64 * 1024;
// How far below its stack a task's stack pointer may be when the task counts
// as overflowing: past any sensible frame, short of making any stack pointer
// in the address space below a task's stack look like its overflow.
constexpr std::uintptr_t kStackPointerWindow = std::uintptr_t{256} << 20;

struct AddressRange {
  std::uintptr_t lo = 0, hi = 0;
  bool holds(std::uintptr_t a) const noexcept { return a >= lo && a < hi; }
};
// Stacks a processer thread runs on besides its tasks': its own (the
// processer's code) and its signal stack. A stack pointer there is no task's.
thread_local AddressRange t_thread_stack;
thread_local AddressRange t_signal_stack;

std::uintptr_t address(const void* p) noexcept {
  return reinterpret_cast<std::uintptr_t>(p);
}

std::uintptr_t below(std::uintptr_t a, std::uintptr_t window) noexcept {
  return a > window ? a - window : 0;
}

std::uintptr_t interrupted_stack_pointer(const void* uctx) noexcept {
  [[maybe_unused]] const auto* uc = static_cast<const ucontext_t*>(uctx);
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.sp);
#else
  return 0;  // only fault addresses are looked at
#endif
}

void write_stderr(const char* s) noexcept {
  sys::write(2, s, std::strlen(s));
}

// ---- which task overflowed --------------------------------------------------

// The interrupted code runs on `tk`'s stack, or below it after an overflow.
bool runs_on_or_below(const Task& tk, std::uintptr_t sp) noexcept {
  if (tk.stack.base == nullptr || t_thread_stack.holds(sp) || t_signal_stack.holds(sp))
    return false;
  const std::uintptr_t base = address(tk.stack.base);
  return sp >= below(base, kStackPointerWindow) && sp < base + tk.stack.size;
}

// A fault at `fault` with stack pointer `sp`, running on `tk`'s stack (or
// below it), is an overflow of `tk`.
bool is_overflow_of(const Task& tk, std::uintptr_t fault, std::uintptr_t sp) noexcept {
  if (tk.stack.base == nullptr) return false;
  const std::uintptr_t base = address(tk.stack.base);
  const bool in_guard_window =
      fault >= below(base - stack_guard_size(tk.stack), kFaultWindow) && fault < base;
  const bool sp_below_stack = sp < base && runs_on_or_below(tk, sp);
  return in_guard_window || sp_below_stack;
}

// The task the faulting code runs on. Usually `current`; in a yield's last
// instructions, on the yielder's stack, `current` already names the next task,
// so the registry is searched for the stack holding `sp` (or its guard window).
const Task* running_task(const Processer& p, std::uintptr_t sp) noexcept {
  if (p.current != nullptr && runs_on_or_below(*p.current, sp)) return p.current;
  const Task* found = nullptr;
  task_registry().ForEachTryLocked([&](const Task& t) {
    if (t.stack.base == nullptr) return;
    const std::uintptr_t lo =
        below(address(t.stack.base) - stack_guard_size(t.stack), kFaultWindow);
    if (sp >= lo && sp < address(t.stack.base) + t.stack.size) found = &t;
  });
  return found != nullptr ? found : p.current;
}

// ---- reports (async-signal-safe) --------------------------------------------

void report_overflow_from_handler(const Task* tk) noexcept {
  char buf[512];
  write_stderr("coscope: stack overflow in task ");
  write_stderr(describe_task(tk, buf, sizeof buf));
  write_stderr("\n");
}

// An overflow that ran into a neighbour's stack makes the neighbour crash
// later, anywhere; the overflowing task's broken canary names the culprit.
void report_broken_canaries(const Task* faulting) noexcept {
  char here[512];
  if (faulting != nullptr) describe_task(faulting, here, sizeof here);
  task_registry().ForEachTryLocked([&](const Task& t) {
    if (stack_canary_intact(t.stack)) return;
    char buf[512];
    write_stderr("coscope: stack overflow in task ");
    write_stderr(describe_task(&t, buf, sizeof buf));
    write_stderr(" (canary overwritten), found at a fault ");
    write_stderr(faulting != nullptr ? "in task " : "outside any task");
    if (faulting != nullptr) write_stderr(here);
    write_stderr("\n");
  });
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  if (const Processer* p = Processer::Current()) {
    const std::uintptr_t sp = interrupted_stack_pointer(uctx);
    const Task* tk = running_task(*p, sp);
    if (tk != nullptr && is_overflow_of(*tk, address(info->si_addr), sp)) {
      report_overflow_from_handler(tk);
      // Not async-signal-safe (it formats and allocates), but the fault is
      // in the task's own code, not in malloc: the trace still ends whole.
      trace_finish("stack overflow");
      sys::restore_default_action(SIGSEGV);  // return: the fault repeats and kills us with a core
      return;
    }
    if (unguarded_stack_count() > 0) report_broken_canaries(tk);
  }
  // Not ours: hand over to whoever was installed before.
  if (g_previous_segv.sa_flags & SA_SIGINFO) {
    if (g_previous_segv.sa_sigaction != nullptr) {
      g_previous_segv.sa_sigaction(sig, info, uctx);
      return;
    }
  } else if (g_previous_segv.sa_handler != SIG_DFL && g_previous_segv.sa_handler != SIG_IGN) {
    g_previous_segv.sa_handler(sig);
    return;
  }
  sys::restore_default_action(SIGSEGV);
}

void record_thread_stack() noexcept {
  if (t_thread_stack.hi != 0) return;  // once per thread
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* addr = nullptr;
  std::size_t size = 0;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
    t_thread_stack = {address(addr), address(addr) + size};
  }
  pthread_attr_destroy(&attr);
}

}  // namespace

void install_overflow_handler_for_thread() noexcept {
  std::call_once(g_install_once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sys::set_action(SIGSEGV, &sa, &g_previous_segv);
  });
  record_thread_stack();
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) {
    t_signal_stack = {address(current.ss_sp), address(current.ss_sp) + current.ss_size};
    return;
  }
  void* mem =
      ::mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;  // overflow then dies without the report
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kAltStackSize;
  if (sigaltstack(&ss, nullptr) != 0) {
    ::munmap(mem, kAltStackSize);
    return;
  }
  t_alt_stack = mem;
  t_signal_stack = {address(mem), address(mem) + kAltStackSize};
}

void remove_overflow_handler_for_thread() noexcept {
  t_signal_stack = {};
  if (t_alt_stack == nullptr) return;
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, nullptr);
  ::munmap(t_alt_stack, kAltStackSize);
  t_alt_stack = nullptr;
}

void report_stack_overflow(const Task* tk, const char* how) noexcept {
  char buf[512];
  write_stderr("coscope: stack overflow in task ");
  write_stderr(describe_task(tk, buf, sizeof buf));
  write_stderr(" (");
  write_stderr(how);
  write_stderr(")\n");
  trace_finish("stack overflow");
  std::abort();
}

void report_fatal_for_task(const Task* tk, const char* what) noexcept {
  char buf[512];
  write_stderr("coscope: ");
  write_stderr(what);
  write_stderr(": task ");
  write_stderr(describe_task(tk, buf, sizeof buf));
  write_stderr("\n");
  trace_finish(what);
  std::abort();
}

void report_stack_allocation_failure(const Task* tk, int err) noexcept {
  char what[128];
  std::snprintf(what, sizeof what, "cannot allocate a stack for the task (%s)", std::strerror(err));
  report_fatal_for_task(tk, what);  // describe_task shows the size asked for
}

}  // namespace detail
}  // namespace co
