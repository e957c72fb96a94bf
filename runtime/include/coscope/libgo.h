// libgo's user-facing vocabulary on coscope: a libgo program builds with its
// `#include <libgo/coroutine.h>` (or <libgo/libgo.h>) replaced by
// `#include <coscope/libgo.h>`. docs/libgo-compat.md lists every name with
// its coscope meaning and how it differs from libgo's.
//
//   go co_stack(64 * 1024) []{ co_sleep(10); };
//   co_chan<int> ch(1);  go [=]{ ch << 42; };
//   co_sched.Start(2);   // runs until co_sched.Stop()
//
// Like libgo's, the names are macros and global declarations: include this
// header in programs written for libgo, not in libraries.
#pragma once

#include "coscope/coscope.h"
#include "coscope/libgo/channel.h"
#include "coscope/libgo/defer.h"
#include "coscope/libgo/local_storage.h"
#include "coscope/libgo/mutex.h"
#include "coscope/libgo/options.h"
#include "coscope/libgo/scheduler.h"
#include "coscope/libgo/timer.h"

// ---- spawning: `go` comes from coscope/spawn.h ------------------------------

/// `go co_stack(bytes) fn`: the new task's stack size.
#define co_stack(bytes) ::co::detail::GoStackSize{static_cast<std::size_t>(bytes)} -
/// `go co_scheduler(s) fn`: spawns on s (a co::Scheduler* or &, or co_sched).
#define co_scheduler(scheduler) ::co::detail::go_scheduler(scheduler) -
/// libgo's shorthand for `go co_stack(bytes)`.
#define go_stack(bytes) go co_stack(bytes)

/// The default scheduler, with libgo's blocking Start() (libgo/scheduler.h).
#undef co_sched
#define co_sched (::co::LibgoScheduler::Default())

// ---- the calling task -------------------------------------------------------

using ::co::co_sleep;

/// `co_yield;` gives other ready tasks a turn. C++20 made co_yield a keyword,
/// which a macro may not redefine: there, write co::this_task::yield().
#if __cplusplus < 202002L
#define co_yield ::co::this_task::yield()
#endif

// ---- synchronisation ----------------------------------------------------------

using ::co::co_chan;
using ::co::co_mutex;
using ::co::co_rmutex;
using ::co::co_rwmutex;
using ::co::co_wmutex;

using ::co::co_timer;
using ::co::co_timer_id;

// ---- coroutine-local storage and defer ----------------------------------------

/// A coroutine-local `type` made from the arguments (libgo/local_storage.h):
/// one variable per place in the source where co_cls appears.
#define co_cls(type, ...)                                  \
  ::co::LibgoLocal<type>(                                  \
      [] {                                                 \
        static const char coscope_cls_key = 0;             \
        return static_cast<const void*>(&coscope_cls_key); \
      }(),                                                 \
      ##__VA_ARGS__)
/// The type of a variable initialised by co_cls(type, ...).
#define co_cls_ref(type) ::co::LibgoLocal<type>

#define COSCOPE_LIBGO_CAT2(a, b) a##b
#define COSCOPE_LIBGO_CAT(a, b) COSCOPE_LIBGO_CAT2(a, b)
/// `co_defer callable;` runs the callable when the enclosing scope ends.
#define co_defer auto COSCOPE_LIBGO_CAT(coscope_defer_, __COUNTER__) = ::co::detail::DeferOp{} -
/// The calling task's newest pending co_defer: co_last_defer().dismiss().
#define co_last_defer() ::co::last_defer()
/// `co_defer_scope { ... };`: a co_defer capturing by reference.
#define co_defer_scope co_defer[&]

// ---- options --------------------------------------------------------------------

#define co_opt (::co::LibgoOptions::Instance())
