# Step 3 in gdb, with the toolkit's breakpoint scripts: the task entering
# sleep, in one command. Run by `walkthroughs/walk 3`.

#== One command
#> co-break state sleep stops when a coroutine enters TaskState::sleep and
#> prints the task; co-trace logs every change of state and every hooked call
#> of a coroutine without stopping. Their probes are in libcoscope, so the
#> program must be started first: start stops at main.
start
co-trace states on
co-trace hooks on
co-break state sleep
continue
#> The stop is in park, just after it set the state and just before SwapOut.
#> Before it, the trace shows the task's whole life: created, swapped in,
#> its call to sleep, and nothing else until it entered sleep. The path in
#> between is the backtrace:
bt
info co-timers

#== To the end
delete
continue
#> Coroutine 2 ran and finished while coroutine 1 slept; then the timer made
#> coroutine 1 runnable, it ran again, and its sleep returned 0.
