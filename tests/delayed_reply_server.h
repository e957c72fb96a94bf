// DelayedReplyServer: a loopback TCP server on a plain thread (epoll, no
// coroutines) that answers each request only after a fixed delay, so a
// client that blocks its thread for the wait is easy to tell from one that
// yields. It is the slow remote service the hooks tests talk to.
//
//   DelayedReplyServer server(200ms, [](const std::string& received)
//                                        -> std::optional<std::string> {
//     if (!received.ends_with("\n")) return std::nullopt;  // request incomplete
//     return "reply\n";
//   });
//   connect to 127.0.0.1:server.port() ...
//
// Each connection carries one request: once `reply_for` returns a reply for
// what has arrived, the server waits `delay`, sends the reply and closes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace coscope_test {

/// A fresh TCP socket listening on 127.0.0.1 at a free port; aborts on failure.
inline int ListenOnLoopback(int backlog, std::uint16_t* port, int extra_type_flags = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | extra_type_flags, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel picks a free port
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("ListenOnLoopback");
    std::abort();
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

/// 127.0.0.1:port as a sockaddr_in.
inline sockaddr_in LoopbackAddress(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

class DelayedReplyServer {
 public:
  using ReplyFor = std::function<std::optional<std::string>(const std::string& received)>;

  DelayedReplyServer(std::chrono::milliseconds delay, ReplyFor reply_for)
      : delay_(delay), reply_for_(std::move(reply_for)) {
    listen_fd_ = ListenOnLoopback(1024, &port_, SOCK_NONBLOCK);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || stop_fd_ < 0) {
      std::perror("DelayedReplyServer");
      std::abort();
    }
    Watch(listen_fd_, EPOLLIN);
    Watch(stop_fd_, EPOLLIN);
    thread_ = std::thread([this] { Serve(); });
  }

  ~DelayedReplyServer() {
    std::uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof one) != sizeof one) std::abort();
    thread_.join();
    for (auto& [fd, conn] : conns_) ::close(fd);
    ::close(listen_fd_);
    ::close(stop_fd_);
    ::close(epoll_fd_);
  }

  DelayedReplyServer(const DelayedReplyServer&) = delete;
  DelayedReplyServer& operator=(const DelayedReplyServer&) = delete;

  std::uint16_t port() const { return port_; }
  /// Replies sent in full so far.
  int replies_sent() const { return replies_sent_.load(); }

 private:
  using Clock = std::chrono::steady_clock;

  struct Conn {
    std::string received;
    std::string reply;                     // empty until the request is complete
    std::optional<Clock::time_point> due;  // when the reply may go out
    std::size_t sent = 0;
  };

  void Watch(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      std::perror("epoll_ctl");
      std::abort();
    }
  }

  void Drop(int fd) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns_.erase(fd);
  }

  // Milliseconds until the earliest pending reply is due (-1: none). A due
  // reply that did not fit in the socket buffer is retried every 10 ms.
  int NextTimeoutMs() const {
    std::optional<Clock::time_point> next;
    for (const auto& [fd, conn] : conns_) {
      if (conn.due && (!next || *conn.due < *next)) next = conn.due;
    }
    if (!next) return -1;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
    return ms <= 0 ? 10 : static_cast<int>(ms);
  }

  void AcceptAll() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN: nothing more pending
      conns_[fd] = Conn{};
      Watch(fd, EPOLLIN);
    }
  }

  void ReadFrom(int fd) {
    Conn& conn = conns_[fd];
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        conn.received.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      Drop(fd);  // EOF or error before the reply went out
      return;
    }
    if (conn.due) return;
    if (std::optional<std::string> reply = reply_for_(conn.received)) {
      conn.reply = std::move(*reply);
      conn.due = Clock::now() + delay_;
    }
  }

  // Sends what it can of every due reply; a fully sent reply closes its connection.
  void SendDue() {
    const auto now = Clock::now();
    std::vector<int> done;
    for (auto& [fd, conn] : conns_) {
      if (!conn.due || *conn.due > now) continue;
      while (conn.sent < conn.reply.size()) {
        ssize_t n =
            ::send(fd, conn.reply.data() + conn.sent, conn.reply.size() - conn.sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        conn.sent += static_cast<std::size_t>(n);
      }
      if (conn.sent == conn.reply.size()) done.push_back(fd);
    }
    for (int fd : done) {
      // Counted before the close that lets the client see the end of the
      // reply: a test that checks the count once its clients are done
      // finds every reply in it.
      replies_sent_.fetch_add(1);
      Drop(fd);
    }
  }

  void Serve() {
    epoll_event events[64];
    for (;;) {
      int n = ::epoll_wait(epoll_fd_, events, 64, NextTimeoutMs());
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == stop_fd_) return;
        if (fd == listen_fd_) {
          AcceptAll();
        } else if (conns_.count(fd) != 0) {
          ReadFrom(fd);
        }
      }
      SendDue();
    }
  }

  const std::chrono::milliseconds delay_;
  const ReplyFor reply_for_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::map<int, Conn> conns_;  // owned by the server thread
  std::atomic<int> replies_sent_{0};
  std::thread thread_;  // last: starts once the fields above exist
};

}  // namespace coscope_test
