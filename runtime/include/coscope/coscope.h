// coscope: stackful coroutines whose blocking calls yield.
// Include this one header to get everything.
#pragma once

#include "coscope/channel.h"
#include "coscope/condition_variable.h"
#include "coscope/introspect.h"
#include "coscope/mutex.h"
#include "coscope/scheduler.h"
#include "coscope/spawn.h"
#include "coscope/task_state.h"
#include "coscope/this_task.h"
#include "coscope/trace.h"
#include "coscope/wait_group.h"
