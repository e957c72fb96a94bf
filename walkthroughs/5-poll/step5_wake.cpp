// Step 5, the two ways a coroutine parked in poll() is woken.
//
// One thread (co_sched.RunUntilNoTask()), two coroutines:
//   poller  poll()s pipes A and B, with no timeout: it parks in io_block.
//           The writer writes B; the reactor's epoll event wakes the poller.
//           Then it polls A alone for 500 ms: nobody writes A, so the
//           scheduler's timer wakes it, and poll returns 0.
//   writer  runs while the poller waits (on the same thread: poll did not
//           block it) and writes one byte into B.
// wake.gdb stops at each moment and shows the io_sentry and each waker.
//
//   $ build/walkthroughs/5-poll/step5_wake
#include <coscope/coscope.h>

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "stamped_print.h"

using walkthrough::tprintf;

namespace {

constexpr int kTimeoutMs = 500;  // the second poll: nobody writes A

int g_pipe_a[2];
int g_pipe_b[2];

const char* readable(short revents) {
  return (revents & POLLIN) ? "POLLIN" : "0";
}

void poller() {
  pollfd both[2] = {{g_pipe_a[0], POLLIN, 0}, {g_pipe_b[0], POLLIN, 0}};
  tprintf("poller: poll({A (fd %d), POLLIN}, {B (fd %d), POLLIN}, timeout -1)\n", g_pipe_a[0],
          g_pipe_b[0]);
  int n = ::poll(both, 2, -1);
  tprintf("poller: poll returned %d: A revents %s, B revents %s\n", n, readable(both[0].revents),
          readable(both[1].revents));
  char byte;
  if (::read(g_pipe_b[0], &byte, 1) != 1) std::perror("read");

  pollfd a_only = {g_pipe_a[0], POLLIN, 0};
  tprintf("poller: poll({A (fd %d), POLLIN}, timeout %d): nobody writes A\n", g_pipe_a[0],
          kTimeoutMs);
  const auto start = std::chrono::steady_clock::now();
  n = ::poll(&a_only, 1, kTimeoutMs);
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  tprintf("poller: poll returned %d after %lld ms: A revents %s\n", n,
          static_cast<long long>(waited), readable(a_only.revents));
}

void writer() {
  tprintf("writer: running while the poller waits; writing one byte into B (fd %d)\n", g_pipe_b[1]);
  if (::write(g_pipe_b[1], "b", 1) != 1) std::perror("write");
  tprintf("writer: done\n");
}

}  // namespace

int main() {
  if (::pipe(g_pipe_a) != 0 || ::pipe(g_pipe_b) != 0) {
    std::perror("pipe");
    return 1;
  }
  co::spawn(poller, {.name = "poller"});
  co::spawn(writer, {.name = "writer"});
  co_sched.RunUntilNoTask();
  tprintf("main: no task left\n");
  return 0;
}
