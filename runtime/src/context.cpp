// The one private wrapper around Boost.Context (its fcontext layer: the
// cheapest switch it offers, and it leaves stack management to us).
//
// Each switch hands over the other side's fcontext: the processer keeps the
// task's in Task::context, the task keeps the processer's in
// Processer::return_context. A jump's data is the task that jumped (or, from
// the processer, the task it resumes), so the side that lands stores the
// handle in the right place (landed()). Sanitizers are told about every stack
// change.
#include "context.h"

#include <cxxabi.h>

#include <boost/context/detail/fcontext.hpp>

#include "processer.h"
#include "task.h"

#if defined(COSCOPE_WITH_ASAN)
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#endif
#if defined(COSCOPE_WITH_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace co {
namespace detail {
namespace {

namespace bctx = boost::context::detail;

// --- sanitizer bookkeeping -------------------------------------------------
#if defined(COSCOPE_WITH_ASAN)
// The thread stack of the processer (context_bind_thread): where a task
// switching back to its processer lands.
thread_local const void* t_thread_stack_bottom = nullptr;
thread_local std::size_t t_thread_stack_size = 0;
#endif

inline void before_switch_to_task([[maybe_unused]] Task* task, [[maybe_unused]] void** fake) {
#if defined(COSCOPE_WITH_ASAN)
  __sanitizer_start_switch_fiber(fake, task->stack.base, task->stack.size);
#endif
#if defined(COSCOPE_WITH_TSAN)
  __tsan_switch_to_fiber(task->tsan_fiber, 0);
#endif
}

inline void after_switch_back_to_thread([[maybe_unused]] void* fake) {
#if defined(COSCOPE_WITH_ASAN)
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

inline void before_switch_to_thread([[maybe_unused]] void** fake,
                                    [[maybe_unused]] Processer* processer) {
#if defined(COSCOPE_WITH_ASAN)
  __sanitizer_start_switch_fiber(fake, t_thread_stack_bottom, t_thread_stack_size);
#endif
#if defined(COSCOPE_WITH_TSAN)
  __tsan_switch_to_fiber(processer->tsan_fiber, 0);
#endif
}

inline void after_switch_to_task([[maybe_unused]] void* fake) {
#if defined(COSCOPE_WITH_ASAN)
  const void* bottom;
  std::size_t size;
  __sanitizer_finish_switch_fiber(fake, &bottom, &size);
#endif
}

// --- exception state ----------------------------------------------------------
// libstdc++ keeps the exceptions being handled and the uncaught count per
// thread (__cxa_eh_globals, <cxxabi.h> __cxa_get_globals()). Each side of a
// switch owns a copy: a task its Task::exceptions, the processer's thread its
// thread_exceptions. The side that jumps saves the live state into its own
// copy and installs the other side's, on the thread it runs on, before the
// jump. The thread's globals are found once per Run (context_bind_thread)
// and kept in the Processer, which never changes threads while it runs: no
// lookup on the switch path (it would cost a call into libstdc++ and a
// __tls_get_addr), and none whose result a compiler could carry across a
// switch to another thread (__cxa_get_globals() is declared const).
struct EhGlobals {  // libsupc++'s __cxa_eh_globals (unwind-cxx.h), x86-64 / AArch64
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

inline void swap_exception_state(Processer* processer, ExceptionState* save,
                                 const ExceptionState& install) noexcept {
  auto* g = static_cast<EhGlobals*>(processer->eh_globals);
  save->caught_exceptions = g->caught_exceptions;
  save->uncaught_exceptions = g->uncaught_exceptions;
  g->caught_exceptions = install.caught_exceptions;
  g->uncaught_exceptions = install.uncaught_exceptions;
}

// Records where the task stops, for debuggers (see SavedRegisters).
__attribute__((always_inline)) inline void save_registers(Task* task) {
#if defined(__x86_64__)
  __asm__ volatile(
      "leaq 1f(%%rip), %%rax\n\t"
      "movq %%rax, 0(%0)\n\t"
      "movq %%rsp, 8(%0)\n\t"
      "movq %%rbp, 16(%0)\n\t"
      "movq %%rbx, 24(%0)\n\t"
      "movq %%r12, 32(%0)\n\t"
      "movq %%r13, 40(%0)\n\t"
      "movq %%r14, 48(%0)\n\t"
      "movq %%r15, 56(%0)\n\t"
      "1:\n\t"
      :
      : "r"(&task->saved)
      : "rax", "memory");
#else
  (void)task;
#endif
}

// jump_fcontext ends with `jmp *%r8` to the address its caller pushed: the
// `call` that entered it left an entry on the CPU's return-address predictor
// that no `ret` consumes, so after every switch each `ret` on the way back up
// was predicted one frame off and mispredicted. Entering it with `push` +
// `jmp` instead pushes nothing on the predictor: the returns after a switch
// between tasks that yield from the same code find the predictor right.
// Everything but the callee-saved registers jump_fcontext keeps is clobbered,
// as by a call. The push needs the red zone off (CMake: -mno-red-zone here).
__attribute__((always_inline)) inline bctx::transfer_t jump(bctx::fcontext_t to, void* data) {
#if defined(__x86_64__)
  register void* rdi __asm__("rdi") = to;
  register void* rsi __asm__("rsi") = data;
  register void* rax __asm__("rax");
  register void* rdx __asm__("rdx");
  __asm__ volatile(
      "leaq 1f(%%rip), %%rcx\n\t"
      "pushq %%rcx\n\t"
      "jmp *jump_fcontext@GOTPCREL(%%rip)\n\t"
      "1:\n\t"
      : "=r"(rax), "=r"(rdx), "+r"(rdi), "+r"(rsi)
      :
      : "rcx", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
        "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
        "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
  return bctx::transfer_t{static_cast<bctx::fcontext_t>(rax), rdx};
#else
  return bctx::jump_fcontext(to, data);
#endif
}

// A task lands after a jump: from its processer (data is the task itself) or
// from a task that handed off to it (data is that task, now suspended).
inline void landed(Task* self, bctx::transfer_t from) {
  Task* jumper = static_cast<Task*>(from.data);
  if (jumper == self) {
    self->processer->return_context = from.fctx;
  } else {
    jumper->context = from.fctx;
  }
  self->saved.pc = 0;
}

void task_trampoline(bctx::transfer_t from) {
  // The first frame on a task's stack: tell unwinders (gdb, libgcc) that
  // nothing calls it, as glibc's thread start does. Without this, gdb goes on
  // into make_fcontext's exit stub and ends with a frame at address 0.
  __asm__ volatile(".cfi_undefined rip");
  Task* task = static_cast<Task*>(from.data);
  after_switch_to_task(nullptr);
  task->processer->return_context = from.fctx;
  task_main(task);
}

}  // namespace

void context_start(Task* task) noexcept {
  char* top = static_cast<char*>(task->stack.base) + task->stack.size;
  task->context = bctx::make_fcontext(top, task->stack.size, &task_trampoline);
#if defined(COSCOPE_WITH_TSAN)
  task->tsan_fiber = __tsan_create_fiber(0);
#endif
}

void context_bind_thread(Processer* processer) noexcept {
  processer->eh_globals = abi::__cxa_get_globals();
#if defined(COSCOPE_WITH_ASAN)
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      t_thread_stack_bottom = addr;
      t_thread_stack_size = size;
    }
    pthread_attr_destroy(&attr);
  }
#endif
#if defined(COSCOPE_WITH_TSAN)
  processer->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void context_destroy([[maybe_unused]] Task* task) noexcept {
#if defined(COSCOPE_WITH_TSAN)
  if (task->tsan_fiber != nullptr) __tsan_destroy_fiber(task->tsan_fiber);
  task->tsan_fiber = nullptr;
#endif
}

Task* context_resume(Task* task) noexcept {
  [[maybe_unused]] void* fake = nullptr;
  swap_exception_state(task->processer, &task->processer->thread_exceptions, task->exceptions);
  before_switch_to_task(task, &fake);
  bctx::transfer_t back = bctx::jump_fcontext(task->context, task);
  after_switch_back_to_thread(fake);
  Task* returned = static_cast<Task*>(back.data);
  returned->context = back.fctx;  // a finished task's is never resumed
  return returned;
}

__attribute__((noinline)) void context_suspend(Task* task) noexcept {
  Processer* processer = task->processer;
  [[maybe_unused]] void* fake = nullptr;
  swap_exception_state(processer, &task->exceptions, processer->thread_exceptions);
  save_registers(task);
  before_switch_to_thread(&fake, processer);
  bctx::transfer_t from = bctx::jump_fcontext(processer->return_context, task);
  after_switch_to_task(fake);
  landed(task, from);  // possibly on another processer (and thread)
}

void context_handoff(Processer* processer, Task* from_task, Task* to) noexcept {
  [[maybe_unused]] void* fake = nullptr;
  swap_exception_state(processer, &from_task->exceptions, to->exceptions);
  save_registers(from_task);
  before_switch_to_task(to, &fake);
  bctx::transfer_t from = jump(to->context, from_task);
  after_switch_to_task(fake);
  landed(from_task, from);
}

void context_finish(Task* task) noexcept {
  Processer* processer = task->processer;
  swap_exception_state(processer, &task->exceptions, processer->thread_exceptions);
#if defined(COSCOPE_WITH_ASAN)
  before_switch_to_thread(nullptr, processer);  // nullptr: this stack dies
#elif defined(COSCOPE_WITH_TSAN)
  before_switch_to_thread(nullptr, processer);
#endif
  bctx::jump_fcontext(processer->return_context, task);
  __builtin_unreachable();
}

}  // namespace detail
}  // namespace co
