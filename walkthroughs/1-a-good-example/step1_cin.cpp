// Step 1, the counter-example: a blocking call that is NOT hooked.
//
// Two coroutines on one thread. The first reads a number with std::cin; the
// second only prints a greeting. std::cin reads standard input through
// glibc's stdio, whose read is an internal call inside libc
// (_IO_file_underflow -> __libc_read): it never reaches coscope's read hook,
// so the whole thread blocks in the kernel. However long you wait before
// typing 3, "Hello, coscope!" is printed only after "i = 3". Step 1 of the
// walkthroughs shows it in gdb (walkthroughs/walk 1).
//
//   $ build/walkthroughs/1-a-good-example/step1_cin    # type a number, press Enter
//   $ (sleep 1; echo 3) | build/walkthroughs/1-a-good-example/step1_cin
//
// Every line starts with the milliseconds since the program started.
#include <coscope/coscope.h>

#include <cstdio>
#include <iostream>

#include "stamped_print.h"

using walkthrough::tprintf;

int main() {
  go[] {
    tprintf("coroutine 1: waiting for a number on stdin (std::cin >> i)\n");
    int i = 0;
    if (std::cin >> i) {
      tprintf("i = %d\n", i);
    } else {
      tprintf("coroutine 1: no number on stdin\n");
    }
  };

  go[] {
    tprintf("Hello, coscope!\n");
  };

  tprintf("main: two coroutines spawned, running them on this thread\n");
  co_sched.RunUntilNoTask();
  tprintf("main: no task left\n");
  return 0;
}
