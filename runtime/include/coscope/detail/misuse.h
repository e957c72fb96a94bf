// Fatal reports for misuse of the synchronisation objects.
//
// Public only because Channel<T> is a template; not a stable API.
//
// Each of these would otherwise hang a task for ever or let two holders into
// a critical section, far from the mistake. They print one line naming the
// object and the tasks involved, then abort, in every build type (an assert
// would vanish from exactly the builds where the hang is hardest to find).
#pragma once

#include "coscope/detail/wait_list.h"

namespace co {
namespace detail {

/// `kind` ("co::Channel", ...) at `object` is being destroyed while the tasks
/// or threads in `first` and `second` (either may be nullptr) still wait on it.
[[noreturn]] void fatal_destroyed_with_waiters(const char* kind, const void* object,
                                               const WaitList* first,
                                               const WaitList* second) noexcept;

}  // namespace detail
}  // namespace co
