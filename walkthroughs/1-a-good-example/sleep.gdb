# Step 1 in gdb: a sleeping coroutine gives its thread back.
# Run by `walkthroughs/walk 1` (walklib/gdb_driver.py explains the #== and #>
# lines).

#== The hook's sleep
#> Breakpoint 1 on coscope's sleep() (hooks/sleep_hooks.cpp, pending until
#> the program loads libcoscope), breakpoint 2 on the line where coroutine 2
#> greets.
break sleep_hooks.cpp:sleep
break step1_sleep.cpp:31
run
#> Coroutine 1 called sleep(1): the name sleep found the hook.
bt 3
#> Coroutine 1 is running, about to park; coroutine 2 waits its turn:
info coroutines

#== Coroutine 2 runs while coroutine 1 sleeps
continue
#> The same thread now runs coroutine 2, while coroutine 1 is parked in state
#> `sleep`, waiting for its timer:
info coroutines
#> Its stack, kept while it waits: from step1_sleep.cpp's sleep(1), through
#> the hook, to park() and the switch back to the processer (SwapOut):
coroutine 1 bt

#== To the end
delete
continue
#> Coroutine 2 printed every 250 ms while coroutine 1 slept; coroutine 1 woke
#> after its second. One thread ran both.
