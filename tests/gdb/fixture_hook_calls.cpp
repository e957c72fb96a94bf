// A program whose one coroutine calls each hook that never parks, once and
// in a fixed order, for the tests of their probes (suite_hook_calls.py):
//
//   socket(AF_INET, SOCK_STREAM)  setsockopt(SO_RCVTIMEO)  getsockopt(SO_TYPE)
//   fcntl(F_GETFL)  ioctl(FIONBIO)  dup  dup2  dup3  pipe  pipe2(O_CLOEXEC)
//   socketpair(AF_UNIX)  sigaction(SIGUSR1)  signal(SIGUSR2)
//   sysv_signal(SIGUSR2)  siginterrupt(SIGUSR1, 1)  and a signal() that
//   fails (SIGKILL: SIG_ERR, EINVAL)
//
// then closes what it opened. main, a plain thread, calls pipe() itself
// before and after (outside any coroutine: no co-break stop there), and
// calls fixture_ready() (where gdb breaks) before it spawns the task.
#include <coscope/coscope.h>

#include <csignal>
#include <cstdio>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

void on_signal(int) {}

// siginterrupt is obsolescent, but programs still call it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
int call_siginterrupt(int signo, int interrupt) {
  return ::siginterrupt(signo, interrupt);
}
#pragma GCC diagnostic pop

void call_each_hook() {
  int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  struct timeval timeout {
    2, 0
  };
  ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  int type = 0;
  socklen_t len = sizeof type;
  ::getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len);
  ::fcntl(sock, F_GETFL);
  int on = 1;
  ::ioctl(sock, FIONBIO, &on);
  int copy = ::dup(sock);
  ::dup2(sock, copy);
  ::dup3(sock, copy, O_CLOEXEC);
  int fds[2], more[2], pair[2];
  ::pipe(fds);
  ::pipe2(more, O_CLOEXEC);
  ::socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
  struct sigaction action {};
  action.sa_handler = on_signal;
  ::sigaction(SIGUSR1, &action, nullptr);
  ::signal(SIGUSR2, on_signal);
  ::sysv_signal(SIGUSR2, SIG_DFL);
  call_siginterrupt(SIGUSR1, 1);
  ::signal(SIGKILL, on_signal);  // fails: SIG_ERR, EINVAL
  for (int fd : {sock, copy, fds[0], fds[1], more[0], more[1], pair[0], pair[1]}) ::close(fd);
}

int pipe_outside_coroutines() {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  ::close(fds[0]);
  ::close(fds[1]);
  return 0;
}

}  // namespace

/// gdb breaks here: the worker thread runs, no task exists yet.
extern "C" __attribute__((noinline)) void fixture_ready() {
  __asm__ volatile("" ::: "memory");
}

int main() {
  if (pipe_outside_coroutines() != 0) return 1;
  co_sched.Start(1);
  fixture_ready();
  co::spawn(call_each_hook, {.name = "setup"});
  co_sched.WaitUntilNoTask();
  co_sched.Stop();
  if (pipe_outside_coroutines() != 0) return 1;
  std::puts("main: done");
  return 0;
}
