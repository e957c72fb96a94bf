// Step 4: a connect in a coroutine on a socket the program made non-blocking
// itself - the one user_nonblock.gdb watches.
//
// A TCP listener on 127.0.0.1. One coroutine, "connector", makes a socket,
// sets O_NONBLOCK on it with fcntl (the hooked fcntl records the program's
// choice in the socket's FdCtx: user_nonblocking), and connects. The hook
// then passes the call straight to glibc's connect: the program asked for a
// non-blocking connect, so it gets one - -1 EINPROGRESS at once, no park.
// The program then waits for the connection itself, as non-blocking code
// does: poll for POLLOUT, then SO_ERROR.
//
//   $ build/walkthroughs/4-connect/step4_user_nonblock
//
// Every line starts with the milliseconds since the program started.
#include <coscope/coscope.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "stamped_print.h"

using walkthrough::tprintf;

namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in g_address{};  // the listener's: 127.0.0.1 and the kernel's port

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

void connect_nonblocking() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  tprintf(
      "connector: fd %d made non-blocking by the program (fcntl O_NONBLOCK); connect to "
      "127.0.0.1:%d\n",
      fd, ntohs(g_address.sin_port));
  const auto start = Clock::now();
  const int r = connect(fd, reinterpret_cast<const sockaddr*>(&g_address), sizeof g_address);
  const int error = errno;
  tprintf("connector: connect returned %d%s%s after %lld ms\n", r, r == 0 ? "" : " ",
          r == 0 ? "" : strerrorname_np(error), ms_since(start));
  pollfd pfd = {fd, POLLOUT, 0};
  const int n = poll(&pfd, 1, 1000);
  int err = -1;
  socklen_t length = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length);
  tprintf("connector: poll(POLLOUT) returned %d; SO_ERROR %d: %s\n", n, err,
          err == 0 ? "connected" : strerrorname_np(err));
  close(fd);
}

}  // namespace

int main() {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  g_address.sin_family = AF_INET;
  g_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listener, reinterpret_cast<const sockaddr*>(&g_address), sizeof g_address);
  socklen_t length = sizeof g_address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&g_address), &length);
  listen(listener, 8);
  tprintf("main: listening on 127.0.0.1:%d\n", ntohs(g_address.sin_port));

  co::spawn(connect_nonblocking, {.name = "connector"});
  co_sched.RunUntilNoTask();
  tprintf("main: no task left\n");
  close(listener);
  return 0;
}
