// Probe points for debuggers: USDT (SystemTap SDT) probes of provider
// "coscope", from <sys/sdt.h> (Debian: systemtap-sdt-dev, header only).
//
// A probe is a single `nop` in the code plus an ELF note (.note.stapsdt)
// that names it and says where each argument lives at that instruction (a
// register, a stack slot, a constant). Nothing runs unless a debugger puts a
// breakpoint on the nop, so a program nobody debugs pays one nop per probe:
// no call, no load, no branch. gdb places breakpoints on them with
// `break -probe-stap coscope:NAME` and reads the arguments as $_probe_arg0..;
// the toolkit's co-break and co-trace commands are built on them
// (gdb/coscope/transitions.py, hook_probes.py). SystemTap and bpftrace read
// the same notes. They survive -O2 and the static archive (the note is in the
// object file that holds the probe).
//
// No semaphores (the SDT variant that lets code skip argument set-up when no
// tracer is attached): the arguments here are values the code holds in
// registers anyway, so there is nothing to skip.
//
// The compiler barrier in front of each probe emits no instruction; it makes
// every store before the probe reach memory by the nop, so a debugger that
// reads a Task there sees what the code wrote (an asm statement without it
// lets the compiler sink those stores past the probe).
//
// Probes of the runtime:
//
//   coscope:task_state(task, from, to)
//       A task changed state. `task` is the co::detail::Task*, `from` and `to`
//       are co::TaskState values or one of the two moments below that are not
//       states of their own. Fired once per change, on the thread making it,
//       after the Task's fields say the new state:
//         created  -> runnable    spawn.cpp     submit_task
//         runnable -> running     processer.cpp SwapIn, Yield's handoff
//         running  -> runnable    processer.cpp Yield (either path)
//         running  -> sleep | io_block | sys_block
//                                 park.cpp      park (wait_reason, wait_arg set)
//         sleep | io_block | sys_block -> runnable
//                                 park.cpp      claim (wake, timer, reactor), or
//                                 processer.cpp SwapIn (woken while switching out)
//         running  -> done        spawn.cpp     task_main
//
// The hooks' probes (NAME_enter / NAME_exit) are described in hooks/hook_probes.h.
#pragma once

#include <sys/sdt.h>

#include "coscope/task_state.h"

namespace co {
namespace detail {

/// The task_state probe's `from` / `to` beyond TaskState's own values
/// (mirrored in gdb/coscope/transitions.py).
namespace probe_moment {
constexpr int running = 5;  ///< swapped in by a processer (its state stays runnable)
constexpr int created = 6;  ///< spawned, before it was first queued
}  // namespace probe_moment
static_assert(static_cast<int>(TaskState::done) + 1 == probe_moment::running,
              "a new TaskState: move probe_moment past it (and gdb/coscope/transitions.py)");

}  // namespace detail
}  // namespace co

#define COSCOPE_PROBE_BARRIER() __asm__ __volatile__("" ::: "memory")

#define COSCOPE_PROBE0(name)   \
  do {                         \
    COSCOPE_PROBE_BARRIER();   \
    STAP_PROBE(coscope, name); \
  } while (0)
#define COSCOPE_PROBE1(name, a)    \
  do {                             \
    COSCOPE_PROBE_BARRIER();       \
    STAP_PROBE1(coscope, name, a); \
  } while (0)
#define COSCOPE_PROBE2(name, a, b)    \
  do {                                \
    COSCOPE_PROBE_BARRIER();          \
    STAP_PROBE2(coscope, name, a, b); \
  } while (0)
#define COSCOPE_PROBE3(name, a, b, c)    \
  do {                                   \
    COSCOPE_PROBE_BARRIER();             \
    STAP_PROBE3(coscope, name, a, b, c); \
  } while (0)

/// coscope:task_state (see above). `from` / `to`: a TaskState or a probe_moment.
#define COSCOPE_PROBE_TASK_STATE(task, from, to) \
  COSCOPE_PROBE3(task_state, task, static_cast<int>(from), static_cast<int>(to))
