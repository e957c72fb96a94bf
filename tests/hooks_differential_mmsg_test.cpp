// Differential tests of recvmmsg and sendmmsg: on a blocking socket they are
// the kernel's loop of blocking recvmsg / sendmsg calls, and in a coroutine
// they return exactly what they return natively (count, errno, each
// message's length and data). See differential_harness.h.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "differential_harness.h"
#include "loopback_fds.h"

namespace {

using namespace std::chrono_literals;
using coscope_test::Env;
using coscope_test::FdPair;
using coscope_test::Gives;
using coscope_test::Outcome;
using coscope_test::Result;
using coscope_test::RunBoth;
using coscope_test::Timed;

// A UDP receiver bound to loopback, and a sender connected to it.
FdPair UdpPair() {
  FdPair p;
  p.rd = coscope_test::BindLoopback(AF_INET, SOCK_DGRAM);
  p.wr = socket(AF_INET, SOCK_DGRAM, 0);
  const coscope_test::LoopbackAddr a = coscope_test::BoundAddr(p.rd);
  connect(p.wr, a.get(), a.len);
  return p;
}

// Receives up to `vlen` datagrams of up to 16 bytes; the data is each
// message's bytes, separated by '|'.
Outcome RecvMany(int fd, unsigned int vlen, int flags = 0, timespec* timeout = nullptr) {
  std::vector<std::string> bufs(vlen, std::string(16, '\0'));
  std::vector<iovec> iovs(vlen);
  std::vector<mmsghdr> msgs(vlen);
  for (unsigned int i = 0; i < vlen; ++i) {
    iovs[i] = {bufs[i].data(), bufs[i].size()};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  Outcome r = Result(recvmmsg(fd, msgs.data(), vlen, flags, timeout));
  for (long long i = 0; i < r.ret; ++i) r.data += bufs[i].substr(0, msgs[i].msg_len) + "|";
  return r;
}

TEST(Recvmmsg, WaitsForEveryMessageAsked) {
  auto o = RunBoth([](Env& env) {
    FdPair p = UdpPair();
    env.After(30ms, [&] { (void)!send(p.wr, "one", 3, 0); });
    env.After(60ms, [&] { (void)!send(p.wr, "two", 3, 0); });
    Outcome r = RecvMany(p.rd, 2);
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(2, 0, "one|two|"));
}

TEST(Recvmmsg, WaitforoneReturnsWhatCameAfterTheFirst) {
  auto o = RunBoth([](Env& env) {
    FdPair p = UdpPair();
    env.After(30ms, [&] { (void)!send(p.wr, "one", 3, 0); });
    Outcome r = RecvMany(p.rd, 3, MSG_WAITFORONE);
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, "one|"));
}

// The timeout is checked after each message only: the wait for the second
// message is not cut short, and after it the call returns.
TEST(Recvmmsg, TheTimeoutEndsTheCallOnlyAfterAMessage) {
  auto o = RunBoth([](Env& env) {
    FdPair p = UdpPair();
    // Wide margins: had the first message been taken only after the timeout
    // (a call begun late on a loaded machine), the kernel would return 1.
    env.After(10ms, [&] { (void)!send(p.wr, "one", 3, 0); });
    env.After(400ms, [&] { (void)!send(p.wr, "two", 3, 0); });
    timespec timeout{0, 200'000'000};
    Outcome r = RecvMany(p.rd, 3, 0, &timeout);
    r.data += " left " + std::to_string(timeout.tv_sec) + "." + std::to_string(timeout.tv_nsec);
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(2, 0, "one|two| left 0.0"));
}

// SO_RCVTIMEO bounds each wait: after one message, the wait for the next
// times out and the call returns what it has.
TEST(Recvmmsg, RcvtimeoEndsTheWaitForTheNextMessage) {
  auto o = RunBoth([](Env& env) {
    FdPair p = UdpPair();
    const timeval rcvtimeo{0, 100'000};
    setsockopt(p.rd, SOL_SOCKET, SO_RCVTIMEO, &rcvtimeo, sizeof rcvtimeo);
    env.After(30ms, [&] { (void)!send(p.wr, "one", 3, 0); });
    Outcome r = Timed([&] { return RecvMany(p.rd, 2); });
    env.JoinHelpers();
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(1, 0, "one|"));
  EXPECT_GE(o.coroutine.seconds, 0.12);
}

TEST(Recvmmsg, RejectsWhatTheKernelRejects) {
  auto o = RunBoth([](Env&) {
    FdPair p = UdpPair();
    timespec bad{0, 1'000'000'000};
    Outcome r = RecvMany(p.rd, 1, 0, &bad);
    const int closed = p.rd;
    coscope_test::Close(p);
    r.data = std::to_string(RecvMany(closed, 1).err);
    return r;
  });
  EXPECT_BOTH(o, Gives(-1, EINVAL, std::to_string(EBADF)));
}

// Sends each of `sizes` as one message of that many 'm's; the data is the
// lengths sent.
Outcome SendMany(int fd, const std::vector<std::size_t>& sizes) {
  std::vector<std::string> bufs;
  for (std::size_t n : sizes) bufs.emplace_back(n, 'm');
  std::vector<iovec> iovs(sizes.size());
  std::vector<mmsghdr> msgs(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    iovs[i] = {bufs[i].data(), bufs[i].size()};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  Outcome r = Result(sendmmsg(fd, msgs.data(), static_cast<unsigned>(msgs.size()), 0));
  for (long long i = 0; i < r.ret; ++i) r.data += std::to_string(msgs[i].msg_len) + ";";
  return r;
}

TEST(Sendmmsg, SendsEveryDatagram) {
  auto o = RunBoth([](Env&) {
    FdPair p = UdpPair();
    Outcome r = SendMany(p.wr, {3, 5});
    r.data += RecvMany(p.rd, 2).data;
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(2, 0, "3;5;mmm|mmmmm|"));
}

// On a full stream socket every message is sent whole, as by the kernel's
// blocking sendmsg, once the reader makes room.
TEST(Sendmmsg, WaitsForRoomAndSendsEachMessageWhole) {
  auto o = RunBoth([](Env& env) {
    FdPair p = coscope_test::Open(coscope_test::Channel::socketpair);
    const long long filled = coscope_test::FillUp(p.wr);
    long long drained = 0;
    env.After(30ms, [&] { drained = coscope_test::Drain(p.rd, filled + 300'000); });
    Outcome r = SendMany(p.wr, {100'000, 200'000});
    env.JoinHelpers();
    r.data += " drained " + std::to_string(drained - filled);
    coscope_test::Close(p);
    return r;
  });
  EXPECT_BOTH(o, Gives(2, 0, "100000;200000; drained 300000"));
}

TEST(Sendmmsg, RejectsWhatTheKernelRejects) {
  auto o = RunBoth([](Env&) {
    FdPair p = UdpPair();
    const int closed = p.wr;
    coscope_test::Close(p);
    return SendMany(closed, {1});
  });
  EXPECT_BOTH(o, Gives(-1, EBADF));
}

}  // namespace
