// Step 4: a connect that has to wait - the one connect_wait.gdb watches.
//
// A TCP listener on 127.0.0.1 with the smallest backlog, listen(fd, 0): its
// accept queue holds one connection. main connects first and fills it (a
// blocking connect outside any coroutine: the hook passes it through). Then
// two tasks run on this thread:
//
//   connector  a plain, blocking connect() to the listener. The kernel drops
//              its SYN while the queue is full, so the hook's non-blocking try
//              (connect_f) returns EINPROGRESS and the task parks, in
//              io_block, until the socket is writable. SO_SNDTIMEO bounds
//              the wait, as it bounds the kernel's blocking connect; at 5
//              minutes it is longer than TCP's own patience (131 s of SYN
//              retries with the default sysctls, then ETIMEDOUT; walk 4 shows
//              this machine's), so the reactor, not the timer, ends the wait.
//   acceptor   sleeps 200 ms, accepts main's connection - the queue has room
//              again - then accepts the connector's.
//
// TCP sends the dropped SYN again about a second after the first; it now
// finds room, the handshake completes, epoll reports the socket writable, and
// the reactor wakes the connector. Its connect returns 0.
//
//   $ build/walkthroughs/4-connect/step4_connect_wait
//
// Every line starts with the milliseconds since the program started.
#include <coscope/coscope.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "stamped_print.h"

using walkthrough::tprintf;

namespace {

sockaddr_in g_address{};  // the listener's: 127.0.0.1 and the kernel's port

const sockaddr* address() {
  return reinterpret_cast<const sockaddr*>(&g_address);
}

void connect_and_wait() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval send_timeout{300, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  tprintf("connector: connect(fd %d) to 127.0.0.1:%d, whose accept queue is full\n", fd,
          ntohs(g_address.sin_port));
  const int r = connect(fd, address(), sizeof g_address);
  if (r == 0) {
    tprintf("connector: connect returned 0\n");
  } else {
    tprintf("connector: connect returned -1, %s\n", strerrorname_np(errno));
  }
  close(fd);
}

void accept_two(int listener) {
  usleep(200'000);
  for (const char* whose : {"main's", "the connector's"}) {
    const int conn = accept(listener, nullptr, nullptr);
    tprintf("acceptor: accepted %s connection (fd %d)\n", whose, conn);
    close(conn);
  }
}

}  // namespace

int main() {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  g_address.sin_family = AF_INET;
  g_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listener, address(), sizeof g_address);
  socklen_t length = sizeof g_address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&g_address), &length);
  listen(listener, 0);

  const int first = socket(AF_INET, SOCK_STREAM, 0);
  const int r = connect(first, address(), sizeof g_address);
  tprintf("main: listening on 127.0.0.1:%d (backlog 0); main's own connect returned %d\n",
          ntohs(g_address.sin_port), r);

  co::spawn(connect_and_wait, {.name = "connector"});
  co::spawn([listener] { accept_two(listener); }, {.name = "acceptor"});
  co_sched.RunUntilNoTask();
  tprintf("main: no task left\n");
  close(first);
  close(listener);
  return 0;
}
