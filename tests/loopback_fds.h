// Fd pairs for the hook tests: pipes, socketpairs and loopback TCP/UDP, made
// through the ordinary (hooked) calls so they are what a program would get.
// Loopback addresses only.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace coscope_test {

/// A byte channel: what is written to `wr` is read from `rd`.
enum class Channel { pipe, socketpair, tcp };

inline const char* to_string(Channel c) {
  switch (c) {
    case Channel::pipe:
      return "pipe";
    case Channel::socketpair:
      return "socketpair";
    case Channel::tcp:
      return "tcp";
  }
  return "?";
}

struct FdPair {
  int rd = -1;
  int wr = -1;
};

/// A loopback address of `family` (AF_INET: 127.0.0.1, AF_INET6: ::1) and port.
struct LoopbackAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

inline LoopbackAddr Loopback(int family, unsigned short port) {
  LoopbackAddr a;
  if (family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    in6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
  }
  return a;
}

/// The address `fd` is bound to.
inline LoopbackAddr BoundAddr(int fd) {
  LoopbackAddr a;
  a.len = sizeof a.storage;
  getsockname(fd, a.get(), &a.len);
  return a;
}

/// A socket of `type` bound to an ephemeral loopback port; listening with
/// `backlog` if it is a stream socket. -1 on failure.
inline int BindLoopback(int family, int type, int backlog = 16) {
  int fd = socket(family, type, 0);
  if (fd < 0) return -1;
  LoopbackAddr a = Loopback(family, 0);
  if (bind(fd, a.get(), a.len) != 0 || ((type & 0xf) == SOCK_STREAM && listen(fd, backlog) != 0)) {
    close(fd);
    return -1;
  }
  return fd;
}

/// A loopback port nobody listens on (bound once, then closed).
inline LoopbackAddr ClosedPort(int family) {
  int fd = BindLoopback(family, SOCK_STREAM, 1);
  LoopbackAddr a = BoundAddr(fd);
  close(fd);
  return a;
}

/// A connected loopback TCP pair: rd is the accepted side, wr the client.
inline FdPair TcpPair(int family = AF_INET) {
  FdPair p;
  int listener = BindLoopback(family, SOCK_STREAM);
  if (listener < 0) return p;
  LoopbackAddr a = BoundAddr(listener);
  p.wr = socket(family, SOCK_STREAM, 0);
  if (connect(p.wr, a.get(), a.len) == 0) p.rd = accept(listener, nullptr, nullptr);
  close(listener);
  return p;
}

inline FdPair Open(Channel c) {
  FdPair p;
  int fds[2] = {-1, -1};
  switch (c) {
    case Channel::pipe:
      if (pipe(fds) == 0) p = {fds[0], fds[1]};
      break;
    case Channel::socketpair:
      if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) p = {fds[0], fds[1]};
      break;
    case Channel::tcp:
      p = TcpPair();
      break;
  }
  return p;
}

inline void Close(FdPair p) {
  if (p.rd >= 0) close(p.rd);
  if (p.wr >= 0) close(p.wr);
}

/// Toggles O_NONBLOCK the way a program does.
inline void SetNonblocking(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

/// Writes into `fd` until the kernel takes no more (its buffer, and the
/// peer's, are full). Returns the number of bytes written. Leaves fd blocking.
inline long long FillUp(int fd) {
  SetNonblocking(fd, true);
  const std::string chunk(65536, 'f');
  long long total = 0;
  for (std::size_t size : {chunk.size(), std::size_t{1}}) {
    for (;;) {
      ssize_t n = write(fd, chunk.data(), size);
      if (n <= 0) break;
      total += n;
    }
  }
  SetNonblocking(fd, false);
  return total;
}

/// Reads from `fd` until `want` bytes came or EOF/error; returns the count.
inline long long Drain(int fd, long long want) {
  std::string sink(65536, '\0');
  long long got = 0;
  while (got < want) {
    ssize_t n = read(fd, sink.data(), sink.size());
    if (n <= 0) break;
    got += n;
  }
  return got;
}

}  // namespace coscope_test
