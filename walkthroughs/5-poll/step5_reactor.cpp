// Step 5, what the hooked poll does with the epoll reactor, and select's way
// in. reactor.gdb stops it at each of these moments.
//
// main, a plain thread, polls a regular file twice (the kernel's poll): for
// POLLIN|POLLOUT, which a regular file always is, and for POLLPRI alone,
// which it never is, with a 300 ms timeout. Then one thread runs two
// coroutines:
//   poller  1. and 2. the same two polls of the regular file, through the
//              hook. epoll refuses a regular file (epoll_ctl: EPERM), so the
//              second one cannot put its fd in the reactor: "all adds failed".
//           3. poll(pipe A, POLLIN, 5000 ms): the first wait on A registers
//              it with epoll (EPOLL_CTL_ADD) and arms a 5 s timer; the writer
//              writes A, the reactor wakes the poller, and the timer goes.
//           4. the same poll again: A is registered already, no epoll_ctl.
//           5. select() on A, with a byte already in A: select's way into
//              io_poll asks the kernel first (nonblocking_check).
//   writer  writes one byte into A each time the poller, about to poll A,
//           tells it to (a channel), so the byte comes while the poller waits.
// At the end, the regular-file rows of the thread and of the coroutine side
// by side.
//
//   $ build/walkthroughs/5-poll/step5_reactor
#include <coscope/coscope.h>

#include <poll.h>
#include <sys/select.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "stamped_print.h"

using walkthrough::tprintf;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kFileTimeoutMs = 300;   // the POLLPRI poll of the regular file
constexpr int kPipeTimeoutMs = 5000;  // the polls of A: the writer comes first

int g_file = -1;  // a regular file (tmpfile)
int g_pipe_a[2];
co::Channel<int> g_go(1);  // poller -> writer: "write A now"

std::string revents_text(short revents) {
  if (revents == 0) return "0";
  std::string text;
  for (auto [bit, name] : {std::pair<short, const char*>{POLLIN, "POLLIN"},
                           {POLLPRI, "POLLPRI"},
                           {POLLOUT, "POLLOUT"},
                           {POLLERR, "POLLERR"},
                           {POLLHUP, "POLLHUP"},
                           {POLLNVAL, "POLLNVAL"}}) {
    if (revents & bit) text += (text.empty() ? "" : "|") + std::string(name);
  }
  return text;
}

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// One poll of the regular file; its result as a table row.
std::string poll_file(short events, int timeout_ms) {
  pollfd pfd = {g_file, events, 0};
  const auto start = Clock::now();
  int n = ::poll(&pfd, 1, timeout_ms);
  char row[96];
  std::snprintf(row, sizeof row, "poll = %d  revents [%s]  after %lld ms", n,
                revents_text(pfd.revents).c_str(), ms_since(start));
  return row;
}

std::string g_rows[2][2];  // [thread, coroutine][poll 1, poll 2]

void file_polls(int who, const char* prefix) {
  tprintf("%s: poll 1: {regular file (fd %d), POLLIN|POLLOUT}, timeout -1\n", prefix, g_file);
  g_rows[who][0] = poll_file(POLLIN | POLLOUT, -1);
  tprintf("%s: poll 1: %s\n", prefix, g_rows[who][0].c_str());
  tprintf("%s: poll 2: {regular file (fd %d), POLLPRI}, timeout %d\n", prefix, g_file,
          kFileTimeoutMs);
  g_rows[who][1] = poll_file(POLLPRI, kFileTimeoutMs);
  tprintf("%s: poll 2: %s\n", prefix, g_rows[who][1].c_str());
}

void poll_pipe(int number) {
  g_go.send(1);  // the writer runs once this coroutine waits
  pollfd pfd = {g_pipe_a[0], POLLIN, 0};
  tprintf("poller: poll %d: {A (fd %d), POLLIN}, timeout %d\n", number, g_pipe_a[0],
          kPipeTimeoutMs);
  const auto start = Clock::now();
  int n = ::poll(&pfd, 1, kPipeTimeoutMs);
  tprintf("poller: poll %d returned %d after %lld ms, revents %s\n", number, n, ms_since(start),
          revents_text(pfd.revents).c_str());
  char byte;
  if (n > 0 && ::read(g_pipe_a[0], &byte, 1) != 1) std::perror("read");
}

void select_ready() {
  if (::write(g_pipe_a[1], "s", 1) != 1) std::perror("write");
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(g_pipe_a[0], &readable);
  timeval timeout = {kPipeTimeoutMs / 1000, 0};
  tprintf("poller: select 5: A (fd %d) readable?, timeout %d s; a byte is already in A\n",
          g_pipe_a[0], kPipeTimeoutMs / 1000);
  const auto start = Clock::now();
  int n = ::select(g_pipe_a[0] + 1, &readable, nullptr, nullptr, &timeout);
  tprintf("poller: select 5 returned %d after %lld ms, A %s\n", n, ms_since(start),
          FD_ISSET(g_pipe_a[0], &readable) ? "readable" : "not readable");
  char byte;
  if (n > 0 && ::read(g_pipe_a[0], &byte, 1) != 1) std::perror("read");
}

void poller() {
  file_polls(1, "poller");
  poll_pipe(3);
  poll_pipe(4);
  select_ready();
  g_go.close();
}

void writer() {
  while (g_go.recv()) {
    tprintf("writer: writing one byte into A (fd %d)\n", g_pipe_a[1]);
    if (::write(g_pipe_a[1], "a", 1) != 1) std::perror("write");
  }
}

}  // namespace

int main() {
  std::FILE* file = std::tmpfile();
  if (file == nullptr || ::pipe(g_pipe_a) != 0) {
    std::perror("tmpfile/pipe");
    return 1;
  }
  g_file = fileno(file);
  file_polls(0, "main");
  co::spawn(poller, {.name = "poller"});
  co::spawn(writer, {.name = "writer"});
  co_sched.RunUntilNoTask();

  std::printf("\nthe regular file, polled by a thread and by a coroutine:\n");
  for (int i = 0; i < 2; ++i) {
    if (i == 0) std::printf("1. POLLIN|POLLOUT, timeout -1\n");
    if (i == 1) std::printf("2. POLLPRI, timeout %d\n", kFileTimeoutMs);
    std::printf("   thread     %s\n", g_rows[0][i].c_str());
    std::printf("   coroutine  %s\n", g_rows[1][i].c_str());
  }
  return 0;
}
