// Step 1, the good example: a blocking call that yields.
//
// Two coroutines on one thread. The first sleeps for one second before it
// prints; while it sleeps, the thread is free, and the second coroutine runs
// and prints at once (and a few more times while the first still sleeps).
// Compare with step1_cin, where the blocked coroutine held the thread.
//
//   $ build/walkthroughs/1-a-good-example/step1_sleep
//
// Every line starts with the milliseconds since the program started.
#include <coscope/coscope.h>

#include <cstdio>

#include <unistd.h>

#include "stamped_print.h"

using walkthrough::tprintf;

int main() {
  go[] {
    tprintf("coroutine 1: going to sleep for 1000 ms\n");
    // Plain sleep(1), as in the notes: the hook parks the coroutine on the
    // scheduler's timer queue instead of blocking the thread.
    ::sleep(1);
    tprintf("coroutine 1: woke up, i = %d\n", 3);
  };

  go[] {
    tprintf("Hello, coscope!\n");
    for (int n = 1; n <= 3; ++n) {
      ::usleep(250'000);
      tprintf("coroutine 2: still running while coroutine 1 sleeps (%d)\n", n);
    }
  };

  tprintf("main: two coroutines spawned, running them on this thread\n");
  co_sched.RunUntilNoTask();
  tprintf("main: no task left\n");
  return 0;
}
