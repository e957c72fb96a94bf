// Differential tests of the read/write family: every call, on pipes,
// socketpairs and loopback TCP, returns in a coroutine exactly what it
// returns natively (value, errno, data), and that is what the kernel
// documents. See differential_harness.h for how both runs are made.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "differential_harness.h"
#include "loopback_fds.h"

namespace {

using namespace std::chrono_literals;
using coscope_test::Channel;
using coscope_test::Env;
using coscope_test::FdPair;
using coscope_test::Gives;
using coscope_test::Outcome;
using coscope_test::Result;
using coscope_test::RunBoth;

// EPIPE must come back as an error, not kill the test.
const bool kSigpipeIgnored = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

enum class ReadCall { read, readv, recv, recvfrom, recvmsg };
enum class WriteCall { write, writev, send, sendto, sendmsg };

const char* to_string(ReadCall c) {
  static const char* names[] = {"read", "readv", "recv", "recvfrom", "recvmsg"};
  return names[static_cast<int>(c)];
}
const char* to_string(WriteCall c) {
  static const char* names[] = {"write", "writev", "send", "sendto", "sendmsg"};
  return names[static_cast<int>(c)];
}

constexpr ReadCall kReadCalls[] = {ReadCall::read, ReadCall::readv, ReadCall::recv,
                                   ReadCall::recvfrom, ReadCall::recvmsg};
constexpr WriteCall kWriteCalls[] = {WriteCall::write, WriteCall::writev, WriteCall::send,
                                     WriteCall::sendto, WriteCall::sendmsg};
constexpr Channel kChannels[] = {Channel::pipe, Channel::socketpair, Channel::tcp};

bool is_socket_call(ReadCall c) {
  return c != ReadCall::read && c != ReadCall::readv;
}
bool is_socket_call(WriteCall c) {
  return c != WriteCall::write && c != WriteCall::writev;
}

// The vector calls split the buffer in two, so both iovecs are exercised.
ssize_t DoRead(ReadCall c, int fd, void* buf, std::size_t n, int flags = 0) {
  char* p = static_cast<char*>(buf);
  iovec iov[2] = {{p, n / 2}, {p + n / 2, n - n / 2}};
  switch (c) {
    case ReadCall::read:
      return read(fd, buf, n);
    case ReadCall::readv:
      return readv(fd, iov, 2);
    case ReadCall::recv:
      return recv(fd, buf, n, flags);
    case ReadCall::recvfrom: {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      return recvfrom(fd, buf, n, flags, reinterpret_cast<sockaddr*>(&from), &len);
    }
    case ReadCall::recvmsg: {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = 2;
      return recvmsg(fd, &msg, flags);
    }
  }
  return -2;
}

ssize_t DoWrite(WriteCall c, int fd, const void* buf, std::size_t n, int flags = 0) {
  char* p = static_cast<char*>(const_cast<void*>(buf));
  iovec iov[2] = {{p, n / 2}, {p + n / 2, n - n / 2}};
  switch (c) {
    case WriteCall::write:
      return write(fd, buf, n);
    case WriteCall::writev:
      return writev(fd, iov, 2);
    case WriteCall::send:
      return send(fd, buf, n, flags);
    case WriteCall::sendto:
      return sendto(fd, buf, n, flags, nullptr, 0);
    case WriteCall::sendmsg: {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = 2;
      return sendmsg(fd, &msg, flags);
    }
  }
  return -2;
}

// Reads up to 64 bytes with `call`; the data read is the outcome's data.
Outcome ReadSome(ReadCall call, int fd, int flags = 0) {
  char buf[64];
  return Result(DoRead(call, fd, buf, sizeof buf, flags), buf);
}

// ---- ready data and would-block -------------------------------------------

TEST(HooksDifferential, ReadCallsReturnReadyData) {
  for (Channel ch : kChannels) {
    for (ReadCall call : kReadCalls) {
      if (ch == Channel::pipe && is_socket_call(call)) continue;
      SCOPED_TRACE(std::string(to_string(ch)) + " " + to_string(call));
      auto o = RunBoth([&](Env&) {
        FdPair p = coscope_test::Open(ch);
        write(p.wr, "hello", 5);
        Outcome r = ReadSome(call, p.rd);
        Close(p);
        return r;
      });
      EXPECT_BOTH(o, Gives(5, 0, "hello"));
    }
  }
}

TEST(HooksDifferential, ReadCallsWaitForDataThatArrivesLater) {
  for (Channel ch : kChannels) {
    for (ReadCall call : kReadCalls) {
      if (ch == Channel::pipe && is_socket_call(call)) continue;
      SCOPED_TRACE(std::string(to_string(ch)) + " " + to_string(call));
      auto o = RunBoth([&](Env& env) {
        FdPair p = coscope_test::Open(ch);
        // Timed from before the writer starts: on a loaded machine the read
        // itself may begin late, but never before the writer's 20 ms begin.
        Outcome r = coscope_test::Timed([&] {
          env.After(20ms, [&] { write(p.wr, "later", 5); });
          return ReadSome(call, p.rd);
        });
        env.JoinHelpers();
        Close(p);
        return r;
      });
      EXPECT_BOTH(o, Gives(5, 0, "later"));
      // It did wait for the writer (a lower bound only: the writer sleeps 20 ms).
      EXPECT_GE(o.native.seconds, 0.010);
      EXPECT_GE(o.coroutine.seconds, 0.010);
    }
  }
}

TEST(HooksDifferential, WriteCallsDeliverTheirBytes) {
  for (Channel ch : kChannels) {
    for (WriteCall call : kWriteCalls) {
      if (ch == Channel::pipe && is_socket_call(call)) continue;
      SCOPED_TRACE(std::string(to_string(ch)) + " " + to_string(call));
      auto o = RunBoth([&](Env&) {
        FdPair p = coscope_test::Open(ch);
        Outcome r = Result(DoWrite(call, p.wr, "abcdef", 6));
        char buf[16];
        ssize_t n = read(p.rd, buf, sizeof buf);
        if (n > 0) r.data.assign(buf, static_cast<std::size_t>(n));
        Close(p);
        return r;
      });
      EXPECT_BOTH(o, Gives(6, 0, "abcdef"));
    }
  }
}

TEST(HooksDifferential, UdpRecvfromWaitsAndReportsTheSender) {
  auto o = RunBoth([](Env& env) {
    int rx = coscope_test::BindLoopback(AF_INET, SOCK_DGRAM);
    int tx = coscope_test::BindLoopback(AF_INET, SOCK_DGRAM);
    coscope_test::LoopbackAddr to = coscope_test::BoundAddr(rx);
    coscope_test::LoopbackAddr tx_addr = coscope_test::BoundAddr(tx);
    env.After(20ms, [&] { sendto(tx, "dgram", 5, 0, to.get(), to.len); });
    char buf[64];
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    Outcome r = Result(
        recvfrom(rx, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len), buf);
    // The sender's address must be filled in as the kernel does.
    r.data += from_len == tx_addr.len && std::memcmp(&from, &tx_addr.storage, from_len) == 0
                  ? " from-sender"
                  : " from-other";
    env.JoinHelpers();
    close(rx);
    close(tx);
    return r;
  });
  EXPECT_BOTH(o, Gives(5, 0, "dgram from-sender"));
}

// ---- bad descriptors and arguments ------------------------------------------

TEST(HooksDifferential, CallsOnABadFdFailWithEbadf) {
  for (ReadCall call : kReadCalls) {
    SCOPED_TRACE(to_string(call));
    auto o = RunBoth([&](Env&) { return ReadSome(call, -1); });
    EXPECT_BOTH(o, Gives(-1, EBADF));
    o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(Channel::socketpair);
      Close(p);
      return ReadSome(call, p.rd);
    });
    EXPECT_BOTH(o, Gives(-1, EBADF));
  }
  for (WriteCall call : kWriteCalls) {
    SCOPED_TRACE(to_string(call));
    auto o = RunBoth([&](Env&) { return Result(DoWrite(call, -1, "x", 1)); });
    EXPECT_BOTH(o, Gives(-1, EBADF));
    o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(Channel::socketpair);
      Close(p);
      return Result(DoWrite(call, p.wr, "x", 1));
    });
    EXPECT_BOTH(o, Gives(-1, EBADF));
  }
}

TEST(HooksDifferential, SocketCallsOnAPipeFailWithEnotsock) {
  for (ReadCall call : kReadCalls) {
    if (!is_socket_call(call)) continue;
    SCOPED_TRACE(to_string(call));
    auto o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(Channel::pipe);
      Outcome r = ReadSome(call, p.rd);  // empty pipe: must not wait
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, ENOTSOCK));
  }
  for (WriteCall call : kWriteCalls) {
    if (!is_socket_call(call)) continue;
    SCOPED_TRACE(to_string(call));
    auto o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(Channel::pipe);
      Outcome r = Result(DoWrite(call, p.wr, "x", 1));
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, ENOTSOCK));
  }
}

TEST(HooksDifferential, InvalidArgumentsFailAsTheKernelSays) {
  char byte = 0;
  iovec one{&byte, 1};
  // readv / writev: a negative count (EINVAL), more than IOV_MAX (EINVAL).
  for (int count : {-1, IOV_MAX + 1}) {
    SCOPED_TRACE(count);
    std::vector<iovec> iov(count > 0 ? count : 1, one);
    auto o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(Channel::socketpair);
      Outcome r = Result(readv(p.rd, iov.data(), count));
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, EINVAL));
    o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(Channel::pipe);
      Outcome r = Result(writev(p.wr, iov.data(), count));
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, EINVAL));
  }
  // recvmsg / sendmsg with more than IOV_MAX iovecs: EMSGSIZE.
  std::vector<iovec> many(IOV_MAX + 1, one);
  auto o = RunBoth([&](Env&) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    msghdr msg{};
    msg.msg_iov = many.data();
    msg.msg_iovlen = many.size();
    Outcome r = Result(recvmsg(p.rd, &msg, 0));
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EMSGSIZE));
  o = RunBoth([&](Env&) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    msghdr msg{};
    msg.msg_iov = many.data();
    msg.msg_iovlen = many.size();
    Outcome r = Result(sendmsg(p.wr, &msg, 0));
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EMSGSIZE));
  // TCP urgent data that was never sent: EINVAL at once (tcp(7)), no wait.
  o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(Channel::tcp);
    Outcome r = ReadSome(ReadCall::recv, p.rd, MSG_OOB);
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINVAL));
  // sendto on UDP with an address length too short for the family.
  o = RunBoth([](Env&) {
    int fd = coscope_test::BindLoopback(AF_INET, SOCK_DGRAM);
    coscope_test::LoopbackAddr to = coscope_test::BoundAddr(fd);
    Outcome r = Result(sendto(fd, "x", 1, 0, to.get(), 3));
    close(fd);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINVAL));
  // Reading from a listening TCP socket: ENOTCONN, not a wait.
  o = RunBoth([](Env&) {
    int fd = coscope_test::BindLoopback(AF_INET, SOCK_STREAM);
    Outcome r = ReadSome(ReadCall::read, fd);
    close(fd);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, ENOTCONN));
}

TEST(HooksDifferential, BadBuffersFailWithEfault) {
  void* const bad = reinterpret_cast<void*>(1);
  for (Channel ch : kChannels) {
    SCOPED_TRACE(to_string(ch));
    auto o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(ch);
      write(p.wr, "ready", 5);
      Outcome r = Result(read(p.rd, bad, 5));
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, EFAULT));
    o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(ch);
      Outcome r = Result(write(p.wr, bad, 5));
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, EFAULT));
  }
  auto o = RunBoth([&](Env&) {
    FdPair p = coscope_test::Open(Channel::tcp);
    send(p.wr, "ready", 5, 0);
    char c;
    read(p.rd, &c, 1);  // the data has surely arrived
    Outcome r = Result(recv(p.rd, bad, 4, 0));
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EFAULT));
}

// ---- end of stream and connection errors -----------------------------------

TEST(HooksDifferential, ReadAfterThePeerClosedReturnsZero) {
  for (Channel ch : kChannels) {
    SCOPED_TRACE(to_string(ch));
    auto o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(ch);
      close(p.wr);
      p.wr = -1;
      Outcome r = ReadSome(ReadCall::read, p.rd);
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(0));
    // The peer closes while the reader waits.
    o = RunBoth([&](Env& env) {
      FdPair p = coscope_test::Open(ch);
      env.After(20ms, [&] { close(p.wr); });
      Outcome r = ReadSome(ReadCall::read, p.rd);
      env.JoinHelpers();
      close(p.rd);
      return r;
    });
    EXPECT_BOTH(o, Gives(0));
  }
}

TEST(HooksDifferential, ConnectToAClosedLoopbackPortIsRefused) {
  for (int family : {AF_INET, AF_INET6}) {
    SCOPED_TRACE(family == AF_INET ? "127.0.0.1" : "::1");
    auto o = RunBoth([&](Env&) {
      coscope_test::LoopbackAddr a = coscope_test::ClosedPort(family);
      int fd = socket(family, SOCK_STREAM, 0);
      Outcome r = Result(connect(fd, a.get(), a.len));
      close(fd);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, ECONNREFUSED));
  }
}

// Closing a TCP socket with SO_LINGER {on, 0} sends a reset.
void CloseWithReset(int fd) {
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

TEST(HooksDifferential, ResetByThePeerGivesEconnreset) {
  // The server closes with the client's bytes unread: the kernel resets the
  // connection (RFC 2525 2.17), and the client's next read reports it.
  auto o = RunBoth([](Env&) {
    FdPair p = coscope_test::Open(Channel::tcp);
    send(p.wr, "unread", 6, 0);
    pollfd ready{p.rd, POLLIN, 0};
    poll(&ready, 1, 5000);  // the bytes reached the server
    CloseWithReset(p.rd);
    p.rd = -1;
    pollfd reset{p.wr, POLLIN, 0};
    poll(&reset, 1, 5000);  // the reset reached the client
    Outcome r = ReadSome(ReadCall::recv, p.wr);
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, ECONNRESET));
  // The reset while the reader waits.
  o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(Channel::tcp);
    env.After(20ms, [&] { CloseWithReset(p.wr); });
    Outcome r = ReadSome(ReadCall::read, p.rd);
    env.JoinHelpers();
    close(p.rd);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, ECONNRESET));
}

TEST(HooksDifferential, WriteToAClosedPeerFailsWithEpipe) {
  for (Channel ch : {Channel::pipe, Channel::socketpair}) {
    for (WriteCall call : kWriteCalls) {
      if (ch == Channel::pipe && is_socket_call(call)) continue;
      SCOPED_TRACE(std::string(to_string(ch)) + " " + to_string(call));
      auto o = RunBoth([&](Env&) {
        FdPair p = coscope_test::Open(ch);
        close(p.rd);
        p.rd = -1;
        Outcome r = Result(DoWrite(call, p.wr, "x", 1, MSG_NOSIGNAL));
        Close(p);
        return r;
      });
      EXPECT_BOTH(o, Gives(-1, EPIPE));
    }
  }
}

// ---- flags that change the waiting -----------------------------------------

TEST(HooksDifferential, MsgDontwaitReturnsEagainAtOnce) {
  for (Channel ch : {Channel::socketpair, Channel::tcp}) {
    SCOPED_TRACE(to_string(ch));
    for (ReadCall call : {ReadCall::recv, ReadCall::recvfrom, ReadCall::recvmsg}) {
      SCOPED_TRACE(to_string(call));
      auto o = RunBoth([&](Env&) {
        FdPair p = coscope_test::Open(ch);
        Outcome r = ReadSome(call, p.rd, MSG_DONTWAIT);
        Close(p);
        return r;
      });
      EXPECT_BOTH(o, Gives(-1, EAGAIN));
    }
    for (WriteCall call : {WriteCall::send, WriteCall::sendto, WriteCall::sendmsg}) {
      SCOPED_TRACE(to_string(call));
      auto o = RunBoth([&](Env&) {
        FdPair p = coscope_test::Open(ch);
        coscope_test::FillUp(p.wr);
        Outcome r = Result(DoWrite(call, p.wr, "x", 1, MSG_DONTWAIT));
        Close(p);
        return r;
      });
      EXPECT_BOTH(o, Gives(-1, EAGAIN));
    }
  }
}

TEST(HooksDifferential, MsgWaitallWaitsForTheWholeRequest) {
  for (Channel ch : {Channel::socketpair, Channel::tcp}) {
    SCOPED_TRACE(to_string(ch));
    auto o = RunBoth([&](Env& env) {
      FdPair p = coscope_test::Open(ch);
      write(p.wr, "first", 5);
      env.After(20ms, [&] { write(p.wr, "-then", 5); });
      char buf[10];
      Outcome r = Result(recv(p.rd, buf, sizeof buf, MSG_WAITALL), buf);
      env.JoinHelpers();
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(10, 0, "first-then"));
  }
}

// ---- partial writes on a full buffer ----------------------------------------

TEST(HooksDifferential, NonblockingWriteToAFullBufferIsShortThenEagain) {
  for (Channel ch : kChannels) {
    SCOPED_TRACE(to_string(ch));
    auto o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(ch);
      coscope_test::SetNonblocking(p.wr, true);
      const std::string big(4 << 20, 'b');
      Outcome first = Result(write(p.wr, big.data(), big.size()));
      // Then the buffer fills up; a write into a full buffer fails at once.
      Outcome r;
      do {
        r = Result(write(p.wr, big.data(), 4096));
      } while (r.ret > 0);
      r.data = first.ret > 0 && first.ret < static_cast<long long>(big.size()) ? "short" : "?";
      if (ch == Channel::pipe) r.data += " " + std::to_string(first.ret);
      Close(p);
      return r;
    });
    // A pipe holds 16 pages by default (pipe(7)); sockets a tunable amount.
    EXPECT_BOTH(o, Gives(-1, EAGAIN, ch == Channel::pipe ? "short 65536" : "short"));
  }
}

TEST(HooksDifferential, BlockingWriteCompletesOnceTheReaderDrains) {
  for (Channel ch : kChannels) {
    for (WriteCall call : kWriteCalls) {
      if (ch == Channel::pipe && is_socket_call(call)) continue;
      SCOPED_TRACE(std::string(to_string(ch)) + " " + to_string(call));
      const long long size = 4 << 20;
      auto o = RunBoth([&](Env& env) {
        FdPair p = coscope_test::Open(ch);
        long long drained = 0;
        env.After(20ms, [&] { drained = coscope_test::Drain(p.rd, size); });
        const std::string big(size, 'w');
        Outcome r = Result(DoWrite(call, p.wr, big.data(), big.size()));
        env.JoinHelpers();
        r.data = "drained " + std::to_string(drained);
        Close(p);
        return r;
      });
      EXPECT_BOTH(o, Gives(size, 0, "drained " + std::to_string(size)));
    }
  }
}

}  // namespace
