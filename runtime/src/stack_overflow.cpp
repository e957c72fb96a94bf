#include "stack_overflow.h"

#include <signal.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

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

void write_stderr(const char* s) noexcept {
  sys::write(2, s, std::strlen(s));
}

bool in_guard_page(const Task* tk, const void* addr) noexcept {
  if (tk == nullptr || !tk->stack.guarded) return false;
  auto a = reinterpret_cast<std::uintptr_t>(addr);
  auto lo = reinterpret_cast<std::uintptr_t>(tk->stack.mapping);
  auto hi = reinterpret_cast<std::uintptr_t>(tk->stack.base);
  // A fault just below the guard page is the same overflow, skipped past it.
  return a >= lo - 64 * 1024 && a < hi;
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  Processer* p = Processer::Current();
  const Task* tk = p != nullptr ? p->current : nullptr;
  if (in_guard_page(tk, info->si_addr)) {
    char buf[512];
    write_stderr("coscope: stack overflow in task ");
    write_stderr(describe_task(tk, buf, sizeof buf));
    write_stderr("\n");
    sys::restore_default_action(SIGSEGV);  // return: the fault repeats and kills us with a core
    return;
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

}  // namespace

void install_overflow_handler_for_thread() noexcept {
  std::call_once(g_install_once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sys::set_action(SIGSEGV, &sa, &g_previous_segv);
  });
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
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
}

void remove_overflow_handler_for_thread() noexcept {
  if (t_alt_stack == nullptr) return;
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, nullptr);
  ::munmap(t_alt_stack, kAltStackSize);
  t_alt_stack = nullptr;
}

void report_stack_overflow(const Task* tk) noexcept {
  char buf[512];
  write_stderr("coscope: stack overflow in task ");
  write_stderr(describe_task(tk, buf, sizeof buf));
  write_stderr(" (canary overwritten; stack without guard page)\n");
  std::abort();
}

void report_fatal_for_task(const Task* tk, const char* what) noexcept {
  char buf[512];
  write_stderr("coscope: ");
  write_stderr(what);
  write_stderr(": task ");
  write_stderr(describe_task(tk, buf, sizeof buf));
  write_stderr("\n");
  std::abort();
}

void report_stack_allocation_failure(const Task* tk, int err) noexcept {
  char what[128];
  std::snprintf(what, sizeof what, "cannot allocate a stack for the task (%s)", std::strerror(err));
  report_fatal_for_task(tk, what);  // describe_task shows the size asked for
}

}  // namespace detail
}  // namespace co
