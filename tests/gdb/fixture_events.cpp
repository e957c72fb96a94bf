// A short program whose coroutines go through a known sequence of events,
// for the breakpoint-script tests (suite_breakpoints.py). One worker thread
// runs three tasks (ids in spawn order):
//
//   1 sleeper  receives the reader's sum on an unbuffered channel (it runs
//              first, so it parks there), then sleeps 50 ms (co_sleep)
//   2 reader   read()s a pipe until end of file (parks until the writer
//              writes), sums the bytes, hands the sum to the sleeper
//   3 writer   usleep()s 10 ms, write()s "hello" into the pipe, closes it,
//              and write()s once more to the closed fd (EBADF)
//
// Each task's own sequence of states and calls is fixed by these hand-offs,
// whatever the timing: a debugger that slows the program down changes
// nothing in it.
//
// main, a plain thread, starts the worker and calls fixture_ready() (where
// gdb breaks) before it spawns anything; after the tasks it read()s a pipe of
// its own, outside any coroutine. Then it prints what the tasks saw, in an
// order their hand-offs fix (writer, reader, sleeper) - the same with or
// without a debugger, whatever the timing.
#include <coscope/coscope.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace {

co::Channel<int> g_sum_channel;
int g_pipe[2];
std::string g_events;  // appended by the tasks (one worker: one at a time)

void note(const char* line) {
  g_events += line;
  g_events += '\n';
}

void sleeper() {
  int sum = 0;
  g_sum_channel >> sum;
  co::co_sleep(50);
  char line[64];
  std::snprintf(line, sizeof line, "sleeper: received %d, slept 50 ms", sum);
  note(line);
}

void reader() {
  int sum = 0, bytes = 0, calls = 0;
  char buf[16];
  for (;;) {
    ssize_t n = ::read(g_pipe[0], buf, sizeof buf);
    ++calls;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) sum += static_cast<unsigned char>(buf[i]);
    bytes += static_cast<int>(n);
  }
  ::close(g_pipe[0]);
  char line[96];
  std::snprintf(line, sizeof line, "reader: read %d bytes in %d calls, sum %d", bytes, calls, sum);
  note(line);
  g_sum_channel << sum;
}

void writer() {
  ::usleep(10'000);
  ssize_t n = ::write(g_pipe[1], "hello", 5);
  ::close(g_pipe[1]);
  ssize_t after_close = ::write(g_pipe[1], "!", 1);
  const int error = errno;
  char line[96];
  std::snprintf(line, sizeof line, "writer: wrote %zd bytes; after close: %zd, %s", n, after_close,
                error == EBADF ? "EBADF" : "not EBADF");
  note(line);
}

// A read() outside any coroutine: a hook breakpoint must not stop here.
int read_outside_coroutines() {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  char buf[2];
  ssize_t n = ::write(fds[1], "ok", 2) == 2 ? ::read(fds[0], buf, sizeof buf) : -1;
  ::close(fds[0]);
  ::close(fds[1]);
  return static_cast<int>(n);
}

}  // namespace

/// gdb breaks here: the worker thread runs, no task exists yet.
extern "C" __attribute__((noinline)) void fixture_ready() {
  __asm__ volatile("" ::: "memory");
}

int main() {
  if (::pipe(g_pipe) != 0) return 1;
  co_sched.Start(1);
  fixture_ready();

  co::spawn(sleeper, {.name = "sleeper"});
  co::spawn(reader, {.name = "reader"});
  co::spawn(writer, {.name = "writer"});
  co_sched.WaitUntilNoTask();
  co_sched.Stop();

  const int outside = read_outside_coroutines();
  std::fputs(g_events.c_str(), stdout);
  std::printf("main: read %d bytes outside a coroutine\n", outside);
  return 0;
}
