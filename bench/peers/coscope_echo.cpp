// coscope_echo: coscope's echo server for the side-by-side rows of
// bench/peers/run, written the way the runtime means servers to be written.
//
//   coscope_echo [--workers N] [--port P]     (defaults: 1 worker, ephemeral port)
//
// Design: plain blocking-style code in tasks. One acceptor task calls
// accept() in a loop and spawns one task per connection, which read()s up
// to 16 KiB and write()s it all back until the peer closes. Every one of
// those calls is the hooked libc function: a task that would block parks
// and its worker runs another task. N workers run the tasks (co_sched with
// Start(N), work stealing). Nothing here is non-blocking or event-driven:
// that is the point of the comparison with bench/peers/epoll_echo.c.
//
// Listens on 127.0.0.1 only; prints "listening on 127.0.0.1:PORT" on stdout
// (flushed) once the socket listens. Runs until killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "coscope/coscope.h"

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// Echoes everything the peer sends until it closes the connection.
void serve(int fd) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(fd, buf + off, static_cast<std::size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ::close(fd);
        return;
      }
      off += w;
    }
  }
  ::close(fd);
}

void accept_loop(int port) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) die("socket");
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  if (::listen(listener, 4096) != 0) die("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) die("getsockname");
  std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  for (;;) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      die("accept");
    }
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    go[fd] {
      serve(fd);
    };
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  long workers = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
      workers = std::atol(argv[++i]);
    } else {
      bool help = std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0;
      std::fprintf(help ? stdout : stderr,
                   "usage: %s [--workers N] [--port P]\n"
                   "Echo server on 127.0.0.1: a coscope task per connection, N workers.\n",
                   argv[0]);
      return help ? 0 : 2;
    }
  }
  if (workers < 1) {
    std::fprintf(stderr, "coscope_echo: --workers must be at least 1\n");
    return 2;
  }
  go[port] {
    accept_loop(port);
  };
  co_sched.Start(static_cast<std::size_t>(workers));
  co_sched.WaitUntilNoTask();  // the acceptor never ends: runs until killed
  return 0;
}
