// Differential tests of the fd and socket hooks: the program's own
// non-blocking mode (O_NONBLOCK, SOCK_NONBLOCK, FIONBIO) and what F_GETFL
// shows of it, the dup family, SO_RCVTIMEO / SO_SNDTIMEO, and connect's
// timeouts - each run natively and in a coroutine (differential_harness.h).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

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
using coscope_test::RunBothConcurrently;

constexpr Channel kChannels[] = {Channel::pipe, Channel::socketpair, Channel::tcp};

Outcome ReadSome(int fd) {
  char buf[64];
  return Result(read(fd, buf, sizeof buf), buf);
}

// In a coroutine the runtime switches a managed fd to O_NONBLOCK at its first
// wait; this makes that happen (natively it is just a read of ready data).
void UseOnce(FdPair p) {
  char c;
  write(p.wr, "u", 1);
  read(p.rd, &c, 1);
}

// ---- the program's own non-blocking mode -----------------------------------

TEST(HooksDifferentialFd, UserNonblockingFdsFailWithEagainAtOnce) {
  for (Channel ch : kChannels) {
    SCOPED_TRACE(to_string(ch));
    // O_NONBLOCK through fcntl, before and after the runtime used the fd.
    for (bool used_before : {false, true}) {
      auto o = RunBoth([&](Env&) {
        FdPair p = coscope_test::Open(ch);
        if (used_before) UseOnce(p);
        coscope_test::SetNonblocking(p.rd, true);
        Outcome r = ReadSome(p.rd);
        Close(p);
        return r;
      });
      EXPECT_BOTH(o, Gives(-1, EAGAIN));
    }
    // FIONBIO through ioctl.
    auto o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(ch);
      int on = 1;
      ioctl(p.rd, FIONBIO, &on);
      Outcome r = ReadSome(p.rd);
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, EAGAIN));
  }
  // Non-blocking from creation: pipe2(O_NONBLOCK), socketpair/socket(SOCK_NONBLOCK).
  auto o = RunBoth([](Env&) {
    int p[2];
    pipe2(p, O_NONBLOCK);
    Outcome r = ReadSome(p[0]);
    close(p[0]);
    close(p[1]);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EAGAIN));
  o = RunBoth([](Env&) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    Outcome r = ReadSome(sv[0]);
    close(sv[0]);
    close(sv[1]);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EAGAIN));
  o = RunBoth([](Env&) {
    int listener = coscope_test::BindLoopback(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    Outcome r = Result(accept(listener, nullptr, nullptr));
    close(listener);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EAGAIN));
  // A SOCK_NONBLOCK client's connect is in progress rather than waited for.
  o = RunBoth([](Env&) {
    int listener = coscope_test::BindLoopback(AF_INET, SOCK_STREAM);
    coscope_test::LoopbackAddr a = coscope_test::BoundAddr(listener);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    Outcome r = Result(connect(fd, a.get(), a.len));
    close(fd);
    close(listener);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINPROGRESS));
}

// F_GETFL after each step of: use, set O_NONBLOCK, clear it, FIONBIO on, off.
std::string FlagsThroughNonblockingChanges(int fd, FdPair p) {
  std::string seen;
  auto record = [&] { seen += std::to_string(fcntl(fd, F_GETFL)) + " "; };
  record();
  UseOnce(p);
  record();
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  record();
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  record();
  int on = 1, off = 0;
  ioctl(fd, FIONBIO, &on);
  record();
  ioctl(fd, FIONBIO, &off);
  record();
  return seen;
}

TEST(HooksDifferentialFd, FGetflShowsExactlyWhatTheProgramSet) {
  for (Channel ch : kChannels) {
    SCOPED_TRACE(to_string(ch));
    auto o = RunBoth([&](Env& env) {
      FdPair p = coscope_test::Open(ch);
      const int base = fcntl(p.rd, F_GETFL);
      Outcome r = Gives(base, 0, FlagsThroughNonblockingChanges(p.rd, p));
      // Blocking again: a read waits for data that comes later.
      env.After(20ms, [&] { write(p.wr, "back", 4); });
      r.data += std::to_string(ReadSome(p.rd).ret);
      env.JoinHelpers();
      Close(p);
      return r;
    });
    const int base = static_cast<int>(o.native.ret);
    const int nb = base | O_NONBLOCK;
    EXPECT_EQ(base & O_NONBLOCK, 0);
    const std::string b = std::to_string(base) + " ", n = std::to_string(nb) + " ";
    EXPECT_BOTH(o, Gives(base, 0, b + b + n + b + n + b + "4"));
  }
}

// ---- the dup family ----------------------------------------------------------

enum class DupKind { dup, dup2, dup3_cloexec, f_dupfd, f_dupfd_cloexec };

int Duplicate(DupKind kind, int fd) {
  switch (kind) {
    case DupKind::dup:
      return dup(fd);
    case DupKind::dup2:
      return dup2(fd, 200);
    case DupKind::dup3_cloexec:
      return dup3(fd, 201, O_CLOEXEC);
    case DupKind::f_dupfd:
      return fcntl(fd, F_DUPFD, 100);
    case DupKind::f_dupfd_cloexec:
      return fcntl(fd, F_DUPFD_CLOEXEC, 100);
  }
  return -1;
}

TEST(HooksDifferentialFd, DuplicatesKeepWorkingAfterTheOriginalCloses) {
  for (DupKind kind : {DupKind::dup, DupKind::dup2, DupKind::dup3_cloexec, DupKind::f_dupfd,
                       DupKind::f_dupfd_cloexec}) {
    for (Channel ch : kChannels) {
      SCOPED_TRACE(std::string(to_string(ch)) + " dup kind " +
                   std::to_string(static_cast<int>(kind)));
      auto o = RunBoth([&](Env& env) {
        FdPair p = coscope_test::Open(ch);
        UseOnce(p);
        const int copy = Duplicate(kind, p.rd);
        Outcome r = Result(copy >= 0 ? 0 : -1);
        close(p.rd);
        p.rd = copy;
        // The copy shows the same (blocking) status flags, its own FD_CLOEXEC,
        // and waits for data like the original did.
        r.data = std::to_string(fcntl(copy, F_GETFL) & O_NONBLOCK) + " " +
                 std::to_string(fcntl(copy, F_GETFD)) + " ";
        env.After(20ms, [&] { write(p.wr, "dup", 3); });
        r.data += ReadSome(copy).data;
        env.JoinHelpers();
        Close(p);
        return r;
      });
      const bool cloexec = kind == DupKind::dup3_cloexec || kind == DupKind::f_dupfd_cloexec;
      EXPECT_BOTH(o, Gives(0, 0, std::string("0 ") + (cloexec ? "1" : "0") + " dup"));
    }
  }
}

// O_NONBLOCK is a flag of the open file description, which a dup shares.
TEST(HooksDifferentialFd, NonblockingSetThroughOneFdShowsThroughItsDuplicate) {
  for (Channel ch : kChannels) {
    SCOPED_TRACE(to_string(ch));
    auto o = RunBoth([&](Env&) {
      FdPair p = coscope_test::Open(ch);
      UseOnce(p);
      const int copy = dup(p.rd);
      coscope_test::SetNonblocking(p.rd, true);
      Outcome r = ReadSome(copy);
      r.data = std::to_string(fcntl(copy, F_GETFL) & O_NONBLOCK);
      close(copy);
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, EAGAIN, std::to_string(O_NONBLOCK)));
  }
}

// The runtime's own O_NONBLOCK, set through one fd, stays hidden through a
// duplicate made before, and the duplicate still blocks.
TEST(HooksDifferentialFd, RuntimeNonblockingStaysHiddenThroughAnEarlierDuplicate) {
  for (Channel ch : kChannels) {
    SCOPED_TRACE(to_string(ch));
    auto o = RunBoth([&](Env& env) {
      FdPair p = coscope_test::Open(ch);
      const int copy = dup(p.rd);
      UseOnce(p);
      Outcome r = Gives(fcntl(copy, F_GETFL) & O_NONBLOCK);
      env.After(20ms, [&] { write(p.wr, "late", 4); });
      r.data = ReadSome(copy).data;
      env.JoinHelpers();
      close(copy);
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(0, 0, "late"));
  }
}

TEST(HooksDifferentialFd, FailedDup3LeavesTheTargetFdAlone) {
  auto o = RunBoth([](Env& env) {
    FdPair a = coscope_test::Open(Channel::pipe);
    FdPair b = coscope_test::Open(Channel::pipe);
    UseOnce(b);
    Outcome r = Result(dup3(a.rd, b.rd, 0x4000 /* not a dup3 flag */));
    r.data = std::to_string(fcntl(b.rd, F_GETFL) & O_NONBLOCK) + " ";
    env.After(20ms, [&] { write(b.wr, "still", 5); });
    r.data += ReadSome(b.rd).data;
    env.JoinHelpers();
    Close(a);
    Close(b);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINVAL, "0 still"));
}

// ---- SO_RCVTIMEO / SO_SNDTIMEO -------------------------------------------------

constexpr timeval kTimeout{0, 200'000};
constexpr double kTimeoutSeconds = 0.2;

std::string TimeoutOption(int fd, int name) {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, name, &tv, &len) != 0) return "getsockopt failed";
  return std::to_string(tv.tv_sec) + "." + std::to_string(tv.tv_usec);
}

void ExpectAboutTheTimeout(const coscope_test::Outcomes& o) {
  for (const Outcome* r : {&o.native, &o.coroutine}) {
    EXPECT_GE(r->seconds, 0.8 * kTimeoutSeconds) << *r;
    EXPECT_LT(r->seconds, 5 * kTimeoutSeconds) << *r;
  }
}

TEST(HooksDifferentialFd, ReceiveTimeoutGivesEagainAfterItsTime) {
  for (Channel ch : {Channel::socketpair, Channel::tcp}) {
    SCOPED_TRACE(to_string(ch));
    auto o = RunBothConcurrently([&](Env&) {
      FdPair p = coscope_test::Open(ch);
      setsockopt(p.rd, SOL_SOCKET, SO_RCVTIMEO, &kTimeout, sizeof kTimeout);
      Outcome r = coscope_test::Timed([&] { return ReadSome(p.rd); });
      r.data = TimeoutOption(p.rd, SO_RCVTIMEO);
      Close(p);
      return r;
    });
    EXPECT_BOTH(o, Gives(-1, EAGAIN, "0.200000"));
    ExpectAboutTheTimeout(o);
  }
  // accept waits within the listener's SO_RCVTIMEO too (socket(7)).
  auto o = RunBothConcurrently([](Env&) {
    int listener = coscope_test::BindLoopback(AF_INET, SOCK_STREAM);
    setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &kTimeout, sizeof kTimeout);
    Outcome r = coscope_test::Timed([&] { return Result(accept(listener, nullptr, nullptr)); });
    close(listener);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EAGAIN));
  ExpectAboutTheTimeout(o);
}

TEST(HooksDifferentialFd, SendTimeoutOnAFullBufferGivesEagainAfterItsTime) {
  auto o = RunBothConcurrently([](Env&) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    coscope_test::FillUp(p.wr);
    setsockopt(p.wr, SOL_SOCKET, SO_SNDTIMEO, &kTimeout, sizeof kTimeout);
    Outcome r = coscope_test::Timed([&] { return Result(write(p.wr, "x", 1)); });
    r.data = TimeoutOption(p.wr, SO_SNDTIMEO);
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EAGAIN, "0.200000"));
  ExpectAboutTheTimeout(o);
  // A large write into an empty buffer nobody drains: the part that fits,
  // once the timeout passes (socket(7): a partial count, not an error).
  o = RunBothConcurrently([](Env&) {
    FdPair p = coscope_test::Open(Channel::socketpair);
    setsockopt(p.wr, SOL_SOCKET, SO_SNDTIMEO, &kTimeout, sizeof kTimeout);
    const std::string big(8 << 20, 's');
    Outcome r = coscope_test::Timed([&] { return Result(write(p.wr, big.data(), big.size())); });
    r.data = r.ret > 0 && r.ret < static_cast<long long>(big.size()) ? "partial" : "?";
    r.ret = r.ret > 0 ? 1 : r.ret;  // the exact amount depends on buffer tuning
    Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, "partial"));
  ExpectAboutTheTimeout(o);
}

// ---- connect timeouts -------------------------------------------------------------

// A loopback listener whose accept queue is full: with backlog 0 the queue
// holds one connection, so after one client is connected the kernel drops
// further SYNs (tcp_abort_on_overflow is 0 by default) and a new client
// keeps retransmitting its SYN.
struct FullListener {
  int listener = -1;
  int filler = -1;
  coscope_test::LoopbackAddr addr;

  FullListener() {
    listener = coscope_test::BindLoopback(AF_INET, SOCK_STREAM, /*backlog=*/0);
    addr = coscope_test::BoundAddr(listener);
    filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(filler, addr.get(), addr.len);
    pollfd done{filler, POLLOUT, 0};
    poll(&done, 1, 5000);  // connected: it sits in the accept queue
  }
  ~FullListener() {
    close(filler);
    close(listener);
  }
};

TEST(HooksDifferentialFd, ConnectThatGetsNoAnswerTimesOutWithEtimedout) {
  // TCP_SYNCNT=1 caps the SYN retransmissions (about 3 s); TCP_USER_TIMEOUT
  // ends the attempt at the first retransmission timer (about 1 s): tcp(7).
  auto o = RunBothConcurrently([](Env&) {
    FullListener full;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int syncnt = 1;
    unsigned user_timeout_ms = 200;
    setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
    Outcome r =
        coscope_test::Timed([&] { return Result(connect(fd, full.addr.get(), full.addr.len)); });
    close(fd);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, ETIMEDOUT));
  EXPECT_LT(o.native.seconds, 10);
  EXPECT_LT(o.coroutine.seconds, 10);
}

TEST(HooksDifferentialFd, ConnectWithinSendTimeoutGivesEinprogress) {
  // socket(7): a connect that SO_SNDTIMEO cuts short fails with EINPROGRESS.
  auto o = RunBothConcurrently([](Env&) {
    FullListener full;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kTimeout, sizeof kTimeout);
    Outcome r =
        coscope_test::Timed([&] { return Result(connect(fd, full.addr.get(), full.addr.len)); });
    close(fd);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINPROGRESS));
  ExpectAboutTheTimeout(o);
}

// An AF_UNIX listener (abstract name) whose backlog is full: with backlog 0
// it queues one connection, and a further connect finds no room (unix(7):
// EAGAIN at once when non-blocking; a blocking one waits for room).
struct FullUnixListener {
  int listener = -1;
  int filler = -1;
  sockaddr_un addr{};
  socklen_t len = 0;

  explicit FullUnixListener(const char* name) {
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "coscope-test-%s-%d", name,
                  static_cast<int>(getpid()));
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 +
                                 std::strlen(addr.sun_path + 1));
    listener = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(listener, get(), len);
    listen(listener, 0);
    filler = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(filler, get(), len);
  }
  ~FullUnixListener() {
    close(filler);
    close(listener);
  }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

TEST(HooksDifferentialFd, UnixConnectToAFullBacklogGivesEagainAfterTheSendTimeout) {
  auto o = RunBothConcurrently([](Env& env) {
    FullUnixListener full(env.in_coroutine() ? "timeout-co" : "timeout");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kTimeout, sizeof kTimeout);
    Outcome r = coscope_test::Timed([&] { return Result(connect(fd, full.get(), full.len)); });
    close(fd);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EAGAIN));
  ExpectAboutTheTimeout(o);
}

TEST(HooksDifferentialFd, UnixConnectToAFullBacklogWaitsForRoom) {
  // The listener accepts its queued connection after 100 ms: the blocking
  // connect then gets the freed place and succeeds.
  auto o = RunBothConcurrently([](Env& env) {
    FullUnixListener full(env.in_coroutine() ? "room-co" : "room");
    int accepted = -1;
    env.After(100ms, [&] { accepted = accept(full.listener, nullptr, nullptr); });
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    Outcome r = coscope_test::Timed([&] { return Result(connect(fd, full.get(), full.len)); });
    env.JoinHelpers();
    r.data = accepted >= 0 ? "accepted first" : "?";
    close(accepted);
    close(fd);
    return r;
  });
  EXPECT_BOTH(o, Gives(0, 0, "accepted first"));
  EXPECT_GE(o.native.seconds, 0.09);
  EXPECT_GE(o.coroutine.seconds, 0.09);
}

}  // namespace
