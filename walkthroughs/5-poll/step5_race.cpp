// Step 5, readiness that comes while poll() is arming its wait.
//
// One coroutine, "poller", polls the read end of a FIFO (a named pipe, given
// as the argument) three times, with no timeout (-1):
//   1. a byte is already in the FIFO (main wrote it): poll returns at once;
//   2. the FIFO is empty: race.gdb writes a byte into it from outside (a
//      shell, through the FIFO's name) just after the hook linked the poller
//      into the fd's FdCtx and before it asks the kernel again;
//   3. the same, just after that check, before the poller parks.
// Each poll reports what it returned and how long it took. Run alone, polls
// 2 and 3 wait for a byte from another shell: `printf x > work/race.fifo`.
//
//   $ build/walkthroughs/5-poll/step5_race work/race.fifo
#include <coscope/coscope.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

namespace {

int g_fifo_read = -1;
int g_fifo_write = -1;  // held open, so the reader never sees POLLHUP

void poll_once(int round, const char* situation) {
  std::printf("poller: poll %d: %s\n", round, situation);
  std::fflush(stdout);
  pollfd pfd = {g_fifo_read, POLLIN, 0};
  const auto start = std::chrono::steady_clock::now();
  int n = ::poll(&pfd, 1, -1);
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  std::printf("poller: poll %d returned %d after %lld ms, revents %s\n", round, n,
              static_cast<long long>(waited), (pfd.revents & POLLIN) ? "POLLIN" : "0");
  std::fflush(stdout);
  char byte;
  if (n > 0 && ::read(g_fifo_read, &byte, 1) != 1) std::perror("read");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FIFO-PATH\n", argv[0]);
    return 2;
  }
  const char* path = argv[1];
  if (::mkfifo(path, 0600) != 0 && errno != EEXIST) {
    std::perror("mkfifo");
    return 1;
  }
  // Reader first (non-blocking, or open would wait for a writer), then our
  // own writer, which finds the reader there.
  g_fifo_read = ::open(path, O_RDONLY | O_NONBLOCK);
  g_fifo_write = ::open(path, O_WRONLY);
  if (g_fifo_read < 0 || g_fifo_write < 0) {
    std::perror("open");
    return 1;
  }
  std::printf("main: FIFO %s, read end fd %d; main writes one byte into it\n", path, g_fifo_read);
  if (::write(g_fifo_write, "1", 1) != 1) std::perror("write");

  co::spawn(
      [] {
        poll_once(1, "a byte is already in the FIFO");
        poll_once(2, "the FIFO is empty");
        poll_once(3, "the FIFO is empty");
      },
      {.name = "poller"});
  co_sched.RunUntilNoTask();
  ::unlink(path);
  return 0;
}
