# Step 3 in gdb, the notes' way: from Processer::Run into the sleep hook.
# Run by `walkthroughs/walk 3` (walklib/gdb_driver.py explains the #== and #>
# lines).

#== In Processer::Run, before the task runs
#> The notes break at libgo's processer.cpp:42, in Processer::Run just before
#> tk->SwapIn(). Run here calls SwapIn(tk) too. libcoscope is built at -O2,
#> where a function's entry is a safer place to stop than a line number, so
#> breakpoint 1 is on SwapIn (pending until the program loads libcoscope).
break co::detail::Processer::SwapIn
run
#> Frame #1 is the notes' line: Run, calling SwapIn(tk), in its loop over
#> the tasks the scheduling policy hands it.
bt
frame 1
list
#> Run's own tk is gone at -O2: it lived in a register that the call reused.
#> SwapIn's parameter is the same pointer:
print tk
frame 0
print tk
print *tk
print tk->state
#> The first task submitted with `go` (step3_sleep.cpp:26), not run yet:
#> runnable.

#== Following SwapIn: the step that misses
#> SwapIn switches into the task in one call, context_resume
#> (runtime/src/context.cpp, the one file that uses Boost.Context).
#> Breakpoint 2 is on its line that jumps (found by what it says, as the
#> line moves when the file changes); there we `step` at the jump:
break context.cpp:@line{runtime/src/context.cpp|= bctx::jump_fcontext(task->context, task);}@
continue
step
#> The task's first line came out: all of its run, up to its sleep(1),
#> happened inside that one `step`. jump_fcontext has no line information,
#> so gdb stepped over it as over a call, and the "call" came back only when
#> the task switched out. Back in SwapIn, the task's state:
finish
print tk->state
print *tk
#> sleep, waiting for `sleep`: the notes' "SwapIn函数返回之后 ... 状态变成了
#> co::TaskState::sleep".

#== Again, into boost.context
#> "然后我们又重来一遍": the program again, with a breakpoint on Boost.Context's
#> own jump_fcontext.
delete
break jump_fcontext
run
bt
#> The whole switch, in Boost's assembly: keep the callee-saved registers on
#> this stack, load the stack pointer from the first argument (the task's
#> context: a pointer into the task's own stack), restore the task's
#> registers from there and jump to the address saved with them. A jump,
#> not a call: nothing returns to context_resume until the task jumps back.
disassemble
#> The task's stack, as context_resume's task records it:
frame 1
print task->stack
frame 0
#> walk-stepi-to runs stepi until the next instruction matches a pattern:
#> here the one that loads %rsp from another register, wherever this
#> Boost's jump_fcontext has it. Then one stepi runs it:
walk-stepi-to mov %\w+,%rsp$
print $sp
stepi
print $sp
#> The stack pointer left the thread's stack for the task's (between base
#> and base + size). On to the jump, and through it:
walk-stepi-to jmp \*%\w+$
stepi
#> A task that never ran lands in make_fcontext's trampoline, which jumps to
#> the function its context was made with (the notes: "fn封装到ctx_里"):
walk-stepi-to jmp \*%\w+$
stepi
next
bt
#> One frame: the bottom of the task's own stack. Run and SwapIn are on the
#> thread's stack, not below it. From here the task calls task_main, then the
#> go lambda.

#== The notes' trick: a breakpoint on the hook
#> "所以我们用一个奇招": break sleep. Two functions are called sleep in this
#> process, glibc's and coscope's hook; gdb puts the breakpoint on both.
delete
break sleep
info breakpoints
continue
bt
#> "你别说，还真行！": the second location, the hook in hooks/sleep_hooks.cpp,
#> called from step3_sleep.cpp:28. The whole stack is the task's, from
#> task_main up.

#== Before it stops: what the hook does
#> "它在停下来之前有没有做点别的什么？" From the hook's entry to the moment the
#> task stops: catch every system call, and stop at the three functions of
#> the runtime that a park goes through.
catch syscall
break co::detail::prepare_park
break co::detail::arm_timer
break co::detail::park
continue
bt 5
#> One system call: poll with no fds and a timeout of 0, which only lets the
#> kernel check the arguments (the sleep is the hooked poll's core with no
#> fds, io_poll_until). It returns at once:
continue
continue
bt 3
#> prepare_park opens a new wait (a WaitTicket: the task and the epoch of
#> this park). (The line gdb names is the thread-local t_processer, the
#> first thing it reads: at -O2, its first instruction belongs to that
#> inlined read.) Then the deadline goes on the scheduler's timer queue:
continue
#> And the park itself, in state sleep for the reason sleep:
continue
bt
#> The timer is armed, due in about a second. The task's state is still
#> runnable: park sets it next, then switches out (SwapOut).
info co-timers

#== The way back
#> Where the switch out lands: breakpoint on jump_fcontext again.
delete
break jump_fcontext
continue
bt 4
walk-stepi-to jmp \*%\w+$
stepi
bt 3
print $sp
#> The jump that began on the task's stack, in context_suspend, ends on the
#> thread's, in context_resume: SwapIn's call to it "returns", and SwapIn
#> finds the task in state sleep, as in stop 2.
delete
continue
#> Coroutine 2 ran while coroutine 1 slept; a second later the timer woke
#> coroutine 1.
