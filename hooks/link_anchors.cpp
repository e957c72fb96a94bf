// What keeps the whole library in a program linked against the static
// archive (libcoscope.a, or the objects of a fully static link).
//
// A linker takes from an archive only the members that resolve something the
// program still needs, and a program's own code names few of the library's
// parts: its HTTP client library calls connect, not the program, and nothing
// at all names the gdb toolkit's auto-load entry. So this unit refers to
// every hook family (hook_families.h) and to that entry
// (runtime/src/debug/gdb_autoload.cpp), and the runtime refers to this unit
// where a program starts its first task (coscope_link_anchors, spawn.cpp):
// whoever starts a task gets all of them. In the shared library everything
// is linked anyway.
#include "hook_families.h"

// What spawn.cpp refers to.
extern "C" __attribute__((visibility("hidden"))) const char coscope_link_anchors = 0;

// The gdb toolkit's auto-load entry.
extern "C" const char coscope_gdb_autoload;

namespace {
COSCOPE_KEEP_HOOK_FAMILIES();
__attribute__((used)) const void* const coscope_keep_gdb_autoload = &coscope_gdb_autoload;
}  // namespace
