// The event log of task life cycles and state transitions.
//
// Off by default. Switched on by the environment (COSCOPE_TRACE=1 logs to
// stderr, COSCOPE_TRACE=FILE appends to FILE) or by set_tracing(). Events:
// created, swap in, swap out (with the state and wait reason), done. When off
// each event costs one predictable branch.
//
// COSCOPE_TRACE=FILE.json (a name ending in ".json") writes FILE as a Chrome
// trace-event file instead (Perfetto, chrome://tracing), which also holds
// every wake with its waker and every hooked call; scripts/coscope-timeline
// draws it (docs/trace.md).
#pragma once

namespace co {

/// Switches the event log on or off (logs to stderr unless COSCOPE_TRACE
/// named a file).
void set_tracing(bool on);
bool tracing() noexcept;

}  // namespace co
