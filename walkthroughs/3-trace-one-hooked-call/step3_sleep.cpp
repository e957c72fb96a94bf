// Step 3: the program the notes trace in gdb - the good example of step 1.
//
// Two coroutines, submitted with `go`, run on the calling thread
// (co_sched.RunUntilNoTask()). The first calls plain sleep(1): the hook parks
// it for a second and the thread runs the second one meanwhile. sleep.gdb
// follows the first coroutine from Processer::Run into the hook and back.
//
//   $ build/walkthroughs/3-trace-one-hooked-call/step3_sleep
#include <coscope/coscope.h>

#include <cstdio>

#include <unistd.h>

namespace {

// One line, out at once (stdout may be a pipe).
void say(const char* line) {
  std::puts(line);
  std::fflush(stdout);
}

}  // namespace

int main() {
  go[] {
    say("coroutine 1: going to sleep(1)");
    ::sleep(1);
    say("coroutine 1: woke up");
  };
  go[] {
    say("coroutine 2: Hello, coscope!");
  };

  co_sched.RunUntilNoTask();
  say("main: no task left");
  return 0;
}
