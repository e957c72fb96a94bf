// The Processer's side of the park protocol (park.cpp describes it): the
// phase changes it makes on a task's wait_word, named, so that the protocol
// is written in one place.
#pragma once

#include "coscope/detail/park.h"

namespace co {
namespace detail {

struct Task;

/// After tk switched out to park: moves its park from "parking" to "parked"
/// (off CPU). True if it did: a waker now owns the requeue. False if a waker
/// or the timer claimed the park first (or it is not armed): the caller
/// queues the task itself.
bool mark_parked(Task* tk) noexcept;

/// The ticket of tk's latest park, as prepare_park gave it: for waking a
/// parked task without holding its ticket (the scheduler's unwind).
WaitTicket latest_ticket(Task* tk) noexcept;

}  // namespace detail
}  // namespace co
