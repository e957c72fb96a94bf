// The hooks under concurrency: plain blocking POSIX calls (connect, read,
// write, sleep, the resolver) made by many coroutines on one worker thread
// overlap, because each call parks its coroutine instead of the thread.
// Also the notes' step-1 pair: std::cin blocks the thread, sleep() yields.
//
// Timing bounds are generous: a test fails only if the calls ran one after
// another (seconds instead of a fraction of one).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <coscope/coscope.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "delayed_reply_server.h"
#include "test_util.h"
#include "test_watchdog.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using coscope_test::DelayedReplyServer;
using coscope_test::LoopbackAddress;
using coscope_test::SecondsSince;
using coscope_test::SpawnOn;
using coscope_test::TicksDuring;
using coscope_test::Watchdog;

/// Open file descriptors of this process (entries of /proc/self/fd; the
/// directory's own fd is counted every time, so it cancels out).
int OpenFdCount() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

/// write() until all of `len` is written; false on error.
bool WriteAll(int fd, const void* data, std::size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

/// read() exactly `len` bytes; false on error or EOF first.
bool ReadExactly(int fd, void* data, std::size_t len) {
  char* p = static_cast<char*>(data);
  while (len > 0) {
    ssize_t n = ::read(fd, p, len);
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

/// A blocking TCP connection to 127.0.0.1:port, or -1.
int ConnectToLoopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = LoopbackAddress(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::uint64_t Fnv1a(const unsigned char* data, std::size_t len,
                    std::uint64_t hash = 14695981039346656037ull) {
  for (std::size_t i = 0; i < len; ++i) hash = (hash ^ data[i]) * 1099511628211ull;
  return hash;
}

// ---- blocking connect/write/read against a slow server -----------------------

// 200 coroutines on one worker each send a request to a server that answers
// after 200 ms. One after another that is 40 s; overlapped, a fraction of one.
TEST(HooksConcurrency, TwoHundredSlowRequestsOverlapOnOneWorker) {
  constexpr int kClients = 200;
  DelayedReplyServer server(200ms, [](const std::string& got) -> std::optional<std::string> {
    if (got.empty() || got.back() != '\n') return std::nullopt;
    return "reply to " + got;
  });
  co::Scheduler sched;
  std::atomic<int> correct{0};
  std::vector<std::string> failures(kClients);
  for (int i = 0; i < kClients; ++i) {
    SpawnOn(sched, [&, i] {
      int fd = ConnectToLoopback(server.port());
      if (fd < 0) {
        failures[i] = std::string("connect: ") + std::strerror(errno);
        return;
      }
      const std::string request = "request " + std::to_string(i) + "\n";
      std::string reply;
      if (WriteAll(fd, request.data(), request.size())) {
        char buf[256];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, n);  // until EOF
        if (n < 0) failures[i] = std::string("read: ") + std::strerror(errno);
      } else {
        failures[i] = std::string("write: ") + std::strerror(errno);
      }
      ::close(fd);
      if (reply == "reply to " + request) correct.fetch_add(1);
    });
  }
  const auto start = Clock::now();
  {
    Watchdog wd("200 slow requests", 60s);
    sched.RunUntilNoTask();
  }
  const double seconds = SecondsSince(start);
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(failures[i], "") << "client " << i;
  EXPECT_EQ(correct.load(), kClients);
  EXPECT_EQ(server.replies_sent(), kClients);
  std::printf("200 requests with a 200 ms reply delay on one worker: %.3f s\n", seconds);
  EXPECT_LT(seconds, 1.0 * coscope_test::kTimeScale) << "the requests did not overlap";
}

// ---- the sleep family ------------------------------------------------------

// 300 coroutines on one worker sleep one second each through sleep, usleep
// and nanosleep: together they take about one second, not 300.
TEST(HooksConcurrency, ThreeHundredSleepersOnOneWorkerTakeAboutOneSecond) {
  constexpr int kPerCall = 100;
  co::Scheduler sched;
  std::atomic<int> sleep_ok{0}, usleep_ok{0}, nanosleep_ok{0}, errno_kept{0};
  for (int i = 0; i < kPerCall; ++i) {
    // errno is untouched by a successful sleep (glibc's sleep even restores
    // it); each sleeper sets its own value while 299 others run in between.
    SpawnOn(sched, [&, i] {
      errno = 1000 + i;
      if (::sleep(1) == 0) sleep_ok.fetch_add(1);
      if (errno == 1000 + i) errno_kept.fetch_add(1);
    });
    SpawnOn(sched, [&, i] {
      errno = 2000 + i;
      if (::usleep(1'000'000) == 0) usleep_ok.fetch_add(1);
      if (errno == 2000 + i) errno_kept.fetch_add(1);
    });
    SpawnOn(sched, [&, i] {
      errno = 3000 + i;
      const timespec one_second{1, 0};
      if (::nanosleep(&one_second, nullptr) == 0) nanosleep_ok.fetch_add(1);
      if (errno == 3000 + i) errno_kept.fetch_add(1);
    });
  }
  const auto start = Clock::now();
  {
    Watchdog wd("300 sleepers", 60s);
    sched.RunUntilNoTask();
  }
  const double seconds = SecondsSince(start);
  EXPECT_EQ(sleep_ok.load(), kPerCall);
  EXPECT_EQ(usleep_ok.load(), kPerCall);
  EXPECT_EQ(nanosleep_ok.load(), kPerCall);
  EXPECT_EQ(errno_kept.load(), 3 * kPerCall);
  std::printf("300 one-second sleepers on one worker: %.3f s\n", seconds);
  EXPECT_GE(seconds, 0.95) << "a sleeper woke early";
  EXPECT_LT(seconds, 2.0 * coscope_test::kTimeScale) << "the sleeps did not overlap";
}

// What a sleep call returns, with errno, for one input.
struct SleepOutcome {
  long result;
  int err;
  bool operator==(const SleepOutcome&) const = default;
};

// Invalid input fails in a coroutine exactly as on a plain thread.
TEST(HooksConcurrency, SleepFamilyRejectsBadInputLikeTheKernel) {
  const timespec negative_sec{-1, 0};
  const timespec nsec_too_big{0, 1'000'000'000};
  const timespec negative_nsec{0, -1};
  auto run_all = [&] {
    std::vector<SleepOutcome> out;
    auto record = [&](long r) { out.push_back({r, r == 0 ? 0 : errno}); };
    errno = 0;
    record(::nanosleep(&negative_sec, nullptr));
    errno = 0;
    record(::nanosleep(&nsec_too_big, nullptr));
    errno = 0;
    record(::nanosleep(&negative_nsec, nullptr));
    errno = 0;
    record(::nanosleep(nullptr, nullptr));
    errno = 0;
    record(::sleep(0));
    errno = 0;
    record(::usleep(0));
    return out;
  };
  std::vector<SleepOutcome> native;
  std::thread([&] { native = run_all(); }).join();
  std::vector<SleepOutcome> hooked;
  co::Scheduler sched;
  SpawnOn(sched, [&] { hooked = run_all(); });
  sched.RunUntilNoTask();
  ASSERT_EQ(native.size(), hooked.size());
  for (std::size_t i = 0; i < native.size(); ++i) {
    EXPECT_EQ(hooked[i].result, native[i].result) << "call " << i;
    EXPECT_EQ(hooked[i].err, native[i].err) << "call " << i;
  }
  EXPECT_EQ(native[0], (SleepOutcome{-1, EINVAL}));
  EXPECT_EQ(native[3], (SleepOutcome{-1, EFAULT}));
}

// ---- echo server, a coroutine per connection, two workers --------------------

// 200 clients exchange random data with an echo server (a coroutine per
// connection), all on a two-worker scheduler: every byte comes back intact,
// and every fd the test opened is closed at the end.
TEST(HooksConcurrency, EchoServerWithCoroutinePerConnectionLosesNothing) {
  constexpr int kClients = 200;
  constexpr int kRoundTrips = 4;
  co::Scheduler sched;

  // The reactor and the workers' wake-up fds are made once and kept: warm
  // them up (one full echo run) before counting this process's fds.
  auto run_echo = [&](int clients, std::atomic<std::uint64_t>* server_sum,
                      std::atomic<std::uint64_t>* client_sum, std::atomic<int>* verified,
                      std::atomic<std::uint64_t>* bytes) {
    std::uint16_t port = 0;
    int listen_fd = coscope_test::ListenOnLoopback(1024, &port);
    SpawnOn(
        sched,
        [&, listen_fd, clients] {
          for (int accepted = 0; accepted < clients; ++accepted) {
            int conn = ::accept(listen_fd, nullptr, nullptr);
            if (conn < 0) {
              ADD_FAILURE() << "accept: " << std::strerror(errno);
              break;
            }
            SpawnOn(
                sched,
                [&, conn] {
                  std::uint64_t hash = Fnv1a(nullptr, 0);
                  char buf[4096];
                  ssize_t n;
                  while ((n = ::read(conn, buf, sizeof buf)) > 0) {
                    hash = Fnv1a(reinterpret_cast<unsigned char*>(buf), n, hash);
                    if (!WriteAll(conn, buf, static_cast<std::size_t>(n))) break;
                  }
                  if (n < 0) ADD_FAILURE() << "server read: " << std::strerror(errno);
                  server_sum->fetch_add(hash);
                  ::close(conn);
                },
                "echo");
          }
          ::close(listen_fd);
        },
        "acceptor");
    for (int c = 0; c < clients; ++c) {
      SpawnOn(
          sched,
          [&, port, c] {
            std::mt19937_64 rng(c);
            int fd = ConnectToLoopback(port);
            if (fd < 0) {
              ADD_FAILURE() << "connect: " << std::strerror(errno);
              return;
            }
            std::uint64_t hash = Fnv1a(nullptr, 0);
            bool ok = true;
            for (int round = 0; round < kRoundTrips && ok; ++round) {
              std::vector<unsigned char> sent(2048 + rng() % 6144);
              for (auto& b : sent) b = static_cast<unsigned char>(rng());
              std::vector<unsigned char> back(sent.size());
              ok = WriteAll(fd, sent.data(), sent.size()) &&
                   ReadExactly(fd, back.data(), back.size()) &&
                   Fnv1a(back.data(), back.size()) == Fnv1a(sent.data(), sent.size()) &&
                   back == sent;
              hash = Fnv1a(sent.data(), sent.size(), hash);
              bytes->fetch_add(sent.size());
            }
            if (ok) verified->fetch_add(1);
            client_sum->fetch_add(hash);
            ::close(fd);
          },
          "client");
    }
    Watchdog wd("echo run", 60s);
    sched.Start(2);
    sched.WaitUntilNoTask();
    sched.Stop();
  };

  std::atomic<std::uint64_t> warm_server{0}, warm_client{0}, warm_bytes{0};
  std::atomic<int> warm_verified{0};
  run_echo(1, &warm_server, &warm_client, &warm_verified, &warm_bytes);
  ASSERT_EQ(warm_verified.load(), 1);

  const int fds_before = OpenFdCount();
  std::atomic<std::uint64_t> server_sum{0}, client_sum{0}, bytes{0};
  std::atomic<int> verified{0};
  const auto start = Clock::now();
  run_echo(kClients, &server_sum, &client_sum, &verified, &bytes);
  const double seconds = SecondsSince(start);
  const int fds_after = OpenFdCount();

  EXPECT_EQ(verified.load(), kClients) << "some echoes came back wrong or short";
  // Each side hashed each connection's byte stream; the sums match only if
  // every stream arrived whole and in order.
  EXPECT_EQ(server_sum.load(), client_sum.load());
  EXPECT_GT(fds_before, 0);
  EXPECT_EQ(fds_after, fds_before) << "fds leaked";
  std::printf("echo: %d clients x %d round trips, %llu bytes each way, 2 workers: %.3f s\n",
              kClients, kRoundTrips, static_cast<unsigned long long>(bytes.load()), seconds);
}

// ---- the notes' step 1: std::cin blocks the thread, sleep() yields --------------

// Replaces stdin by a pipe for the test; once Arm() is called, a plain thread
// writes `text` to it after `delay`. Restores stdin on destruction.
class DelayedStdin {
 public:
  DelayedStdin(std::string text, std::chrono::milliseconds delay) {
    int fds[2];
    if (::pipe(fds) != 0) std::abort();
    saved_stdin_ = ::dup(STDIN_FILENO);
    ::dup2(fds[0], STDIN_FILENO);
    ::close(fds[0]);
    writer_ = std::thread([this, fd = fds[1], text = std::move(text), delay] {
      armed_.acquire();
      std::this_thread::sleep_for(delay);
      if (!WriteAll(fd, text.data(), text.size())) std::abort();
      ::close(fd);
    });
  }
  ~DelayedStdin() {
    armed_.release();  // harmless if Arm() ran: the writer took its one count
    writer_.join();
    std::cin.clear();
    ::dup2(saved_stdin_, STDIN_FILENO);
    ::close(saved_stdin_);
  }

  /// Starts the delay; call it right before reading.
  void Arm() { armed_.release(); }

 private:
  int saved_stdin_ = -1;
  std::binary_semaphore armed_{0};
  std::thread writer_;
};

// A hooked read or write that got EAGAIN parks without asking the kernel
// again: it trusts the reactor's edge count, read before the try, to tell an
// edge that came in between. Two tasks on two workers bounce one byte back
// and forth (a socket pair one way, a pipe the other), so that the other side's
// write lands again and again just after a try failed; a lost edge leaves
// both parked for ever (the watchdog fails the test).
TEST(HooksConcurrency, PingPongOnTwoWorkersLosesNoWakeup) {
  constexpr int kRounds = 20'000;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int to_a[2];
  ASSERT_EQ(::pipe(to_a), 0);
  co::Scheduler sched;
  std::atomic<int> a_rounds{0}, b_rounds{0};
  std::atomic<bool> failed{false};
  // Each round: A sends on the socket, B answers on the pipe, and back.
  SpawnOn(
      sched,
      [&] {
        char c = 'a';
        for (int i = 0; i < kRounds && !failed; ++i) {
          if (::write(sv[0], &c, 1) != 1 || ::read(to_a[0], &c, 1) != 1) failed = true;
          ++a_rounds;
        }
      },
      "A");
  SpawnOn(
      sched,
      [&] {
        char c = 0;
        for (int i = 0; i < kRounds && !failed; ++i) {
          if (::read(sv[1], &c, 1) != 1 || ::write(to_a[1], &c, 1) != 1) failed = true;
          ++b_rounds;
        }
      },
      "B");
  {
    Watchdog wd("20,000 round trips on two workers", 60s);
    sched.Start(2);
    sched.WaitUntilNoTask();
    sched.Stop();
  }
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(a_rounds.load(), kRounds);
  EXPECT_EQ(b_rounds.load(), kRounds);
  for (int fd : {sv[0], sv[1], to_a[0], to_a[1]}) ::close(fd);
}

TEST(HooksConcurrency, CinInACoroutineBlocksTheWholeThread) {
  DelayedStdin input("3\n", 300ms);
  int i = 0;
  double seconds = 0;
  // The runtime's stall watchdog reports the blocked worker on stderr (the
  // stall suite checks the report): kept out of the test's output, and
  // checked to name the call.
  const char* trace = std::getenv("COSCOPE_TRACE");
  const char* stall_ms = std::getenv("COSCOPE_STALL_MS");
  const bool default_log =
      (trace == nullptr || *trace == '\0') && (stall_ms == nullptr || *stall_ms == '\0');
  ::testing::internal::CaptureStderr();
  const int ticks = TicksDuring([&] {
    const auto start = Clock::now();
    input.Arm();
    // std::cin reads through glibc's stdio, which calls read() on fd 0 by an
    // internal name no interposed symbol can see: the hooks never run, the
    // kernel's read blocks the worker thread, and no other coroutine runs.
    std::cin >> i;
    seconds = SecondsSince(start);
  });
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(i, 3);
  EXPECT_GE(seconds, 0.25) << "cin returned before the data was written";
  EXPECT_EQ(ticks, 0) << "another coroutine ran while cin blocked";
  if (default_log) {
    EXPECT_NE(log.find("its thread is in read(fd 0): read is hooked, but this call did not pass"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("stall over: task #"), std::string::npos) << log;
  }
}

TEST(HooksConcurrency, SleepInACoroutineLetsOthersRun) {
  unsigned int result = 99;
  const int ticks = TicksDuring([&] { result = ::sleep(1); });
  EXPECT_EQ(result, 0u);
  EXPECT_GE(ticks, 3) << "the other coroutine did not run while sleep() waited";
}

// The waits with a clock or a signal mask park too: each waits 300 ms for
// nothing while the other task ticks.
TEST(HooksConcurrency, ClockNanosleepLetsOthersRun) {
  for (clockid_t clock : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME}) {
    for (int flags : {0, TIMER_ABSTIME}) {
      SCOPED_TRACE("clock " + std::to_string(clock) + ", flags " + std::to_string(flags));
      int result = -1;
      const int ticks = TicksDuring([&] {
        timespec req{0, 300'000'000};
        if (flags == TIMER_ABSTIME) {
          timespec now{};
          clock_gettime(clock, &now);
          req.tv_sec = now.tv_sec + (now.tv_nsec + req.tv_nsec) / 1'000'000'000;
          req.tv_nsec = (now.tv_nsec + req.tv_nsec) % 1'000'000'000;
        }
        result = clock_nanosleep(clock, flags, &req, nullptr);
      });
      EXPECT_EQ(result, 0);
      EXPECT_GE(ticks, 10) << "the other coroutine did not run while clock_nanosleep waited";
    }
  }
}

TEST(HooksConcurrency, PselectLetsOthersRun) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int result = -1;
  const int ticks = TicksDuring([&] {
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(p[0], &readable);
    const timespec timeout{0, 300'000'000};
    sigset_t mask;
    sigemptyset(&mask);
    result = pselect(p[0] + 1, &readable, nullptr, nullptr, &timeout, &mask);
  });
  close(p[0]);
  close(p[1]);
  EXPECT_EQ(result, 0);
  EXPECT_GE(ticks, 10) << "the other coroutine did not run while pselect waited";
}

TEST(HooksConcurrency, EpollPwaitAndPwait2LetOthersRun) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
  sigset_t mask;
  sigemptyset(&mask);
  epoll_event out[1];
  int result = -1;
  int ticks = TicksDuring([&] { result = epoll_pwait(ep, out, 1, 300, &mask); });
  EXPECT_EQ(result, 0);
  EXPECT_GE(ticks, 10) << "the other coroutine did not run while epoll_pwait waited";
  result = -1;
  ticks = TicksDuring([&] {
    const timespec timeout{0, 300'000'000};
    result = epoll_pwait2(ep, out, 1, &timeout, &mask);
  });
  EXPECT_EQ(result, 0);
  EXPECT_GE(ticks, 10) << "the other coroutine did not run while epoll_pwait2 waited";
  close(ep);
  close(p[0]);
  close(p[1]);
}

// recvmmsg and sendmmsg park too: a datagram comes, or a full socket is
// drained, from a thread 300 ms later.
TEST(HooksConcurrency, RecvmmsgAndSendmmsgLetOthersRun) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  char buf[8];
  iovec iov{buf, sizeof buf};
  mmsghdr msg{};
  msg.msg_hdr.msg_iov = &iov;
  msg.msg_hdr.msg_iovlen = 1;
  std::thread sender;
  int result = -1;
  int ticks = TicksDuring([&] {
    sender = std::thread([&] {
      std::this_thread::sleep_for(300ms);
      (void)!::send(sv[1], "d", 1, 0);
    });
    result = recvmmsg(sv[0], &msg, 1, 0, nullptr);
  });
  sender.join();
  EXPECT_EQ(result, 1);
  EXPECT_GE(ticks, 10) << "the other coroutine did not run while recvmmsg waited";
  close(sv[0]);
  close(sv[1]);

  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  // Fill the socket (non-blocking, so the filling never waits), then block.
  ::fcntl(sv[1], F_SETFL, O_NONBLOCK);
  static char chunk[65536];
  long long filled = 0;
  for (ssize_t n; (n = ::write(sv[1], chunk, sizeof chunk)) > 0;) filled += n;
  ::fcntl(sv[1], F_SETFL, 0);
  std::string big(100'000, 'b');
  iovec big_iov{big.data(), big.size()};
  msg.msg_hdr.msg_iov = &big_iov;
  std::thread drainer;
  result = -1;
  ticks = TicksDuring([&] {
    drainer = std::thread([&] {
      std::this_thread::sleep_for(300ms);
      for (long long left = filled + static_cast<long long>(big.size()); left > 0;) {
        const ssize_t n = ::read(sv[0], chunk, sizeof chunk);
        if (n <= 0) break;
        left -= n;
      }
    });
    result = sendmmsg(sv[1], &msg, 1, 0);
  });
  drainer.join();
  EXPECT_EQ(result, 1);
  EXPECT_EQ(msg.msg_len, big.size());
  EXPECT_GE(ticks, 10) << "the other coroutine did not run while sendmmsg waited";
  close(sv[0]);
  close(sv[1]);
}

// ---- the resolver family ------------------------------------------------------------
//
// Only lookups answered locally: "localhost" from /etc/hosts, numeric
// addresses, and errors glibc reports before any lookup (a bad flag, a
// non-numeric name with AI_NUMERICHOST, a too-small buffer). Nothing here
// may reach a DNS server.

// A hostent flattened for comparison.
std::string Describe(const hostent* h) {
  if (h == nullptr) return "null";
  std::string s = std::string("name=") + h->h_name + " type=" + std::to_string(h->h_addrtype) +
                  " len=" + std::to_string(h->h_length) + " aliases=";
  for (char** a = h->h_aliases; *a != nullptr; ++a) s += std::string(*a) + ",";
  s += " addrs=";
  for (char** a = h->h_addr_list; *a != nullptr; ++a) {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(h->h_addrtype, *a, text, sizeof text);
    s += std::string(text) + ",";
  }
  return s;
}

// An addrinfo list flattened for comparison (frees it).
std::string Describe(addrinfo* list) {
  std::string s;
  for (addrinfo* p = list; p != nullptr; p = p->ai_next) {
    char host[NI_MAXHOST] = {};
    char serv[NI_MAXSERV] = {};
    ::getnameinfo(p->ai_addr, p->ai_addrlen, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV);
    s += "[" + std::to_string(p->ai_family) + " " + std::to_string(p->ai_socktype) + " " +
         std::to_string(p->ai_protocol) + " " + host + ":" + serv + " " +
         (p->ai_canonname != nullptr ? p->ai_canonname : "-") + "]";
  }
  if (list != nullptr) ::freeaddrinfo(list);
  return s;
}

// Every resolver call once, each outcome flattened to one line.
std::vector<std::string> ResolveAll() {
  std::vector<std::string> out;
  auto add = [&](const std::string& what, const std::string& result) {
    out.push_back(what + " -> " + result);
  };
  in_addr loopback{};
  ::inet_pton(AF_INET, "127.0.0.1", &loopback);

  // A successful call leaves h_errno alone: preset a value nobody else uses.
  h_errno = 4242;
  const hostent* h = ::gethostbyname("localhost");
  add("gethostbyname(localhost)", Describe(h) + " h_errno=" + std::to_string(h_errno));
  h = ::gethostbyname("127.0.0.1");
  add("gethostbyname(127.0.0.1)", Describe(h));

  hostent he{};
  hostent* result = nullptr;
  char buf[4096];
  int herr = 0;
  int r = ::gethostbyname_r("localhost", &he, buf, sizeof buf, &result, &herr);
  add("gethostbyname_r(localhost)", std::to_string(r) + " " + Describe(result));
  errno = 0;
  char tiny[8];
  r = ::gethostbyname_r("localhost", &he, tiny, sizeof tiny, &result, &herr);
  add("gethostbyname_r(localhost, 8-byte buffer)",
      std::to_string(r) + " herr=" + std::to_string(herr) + " errno=" + std::to_string(errno) +
          " " + Describe(result));

  r = ::gethostbyname2_r("localhost", AF_INET, &he, buf, sizeof buf, &result, &herr);
  add("gethostbyname2_r(localhost, AF_INET)", std::to_string(r) + " " + Describe(result));
  r = ::gethostbyname2_r("::1", AF_INET6, &he, buf, sizeof buf, &result, &herr);
  add("gethostbyname2_r(::1, AF_INET6)", std::to_string(r) + " " + Describe(result));
  errno = 0;
  r = ::gethostbyname2_r("localhost", 12345, &he, buf, sizeof buf, &result, &herr);
  add("gethostbyname2_r(localhost, bad family)",
      std::to_string(r) + " herr=" + std::to_string(herr) + " errno=" + std::to_string(errno) +
          " " + Describe(result));

  errno = 0;
  h_errno = 0;
  h = ::gethostbyaddr(&loopback, 3, AF_INET);
  add("gethostbyaddr(3-byte address)",
      Describe(h) + " h_errno=" + std::to_string(h_errno) + " errno=" + std::to_string(errno));

  h_errno = 4343;
  h = ::gethostbyaddr(&loopback, sizeof loopback, AF_INET);
  add("gethostbyaddr(127.0.0.1)", Describe(h) + " h_errno=" + std::to_string(h_errno));

  r = ::gethostbyaddr_r(&loopback, sizeof loopback, AF_INET, &he, buf, sizeof buf, &result, &herr);
  add("gethostbyaddr_r(127.0.0.1)", std::to_string(r) + " " + Describe(result));

  addrinfo hints{};
  addrinfo* list = nullptr;
  hints.ai_flags = AI_CANONNAME;
  r = ::getaddrinfo("localhost", "80", &hints, &list);
  add("getaddrinfo(localhost, 80)", std::to_string(r) + " " + Describe(r == 0 ? list : nullptr));
  hints.ai_flags = AI_NUMERICHOST;
  list = nullptr;
  r = ::getaddrinfo("localhost", nullptr, &hints, &list);
  add("getaddrinfo(localhost, AI_NUMERICHOST)", std::to_string(r));
  hints.ai_flags = AI_NUMERICSERV;
  r = ::getaddrinfo("127.0.0.1", "http", &hints, &list);
  add("getaddrinfo(127.0.0.1, http, AI_NUMERICSERV)", std::to_string(r));
  hints.ai_flags = 0;
  hints.ai_family = 12345;
  r = ::getaddrinfo("localhost", nullptr, &hints, &list);
  add("getaddrinfo(localhost, bad family)", std::to_string(r));
  return out;
}

TEST(HooksConcurrency, ResolverCallsInACoroutineAnswerAsGlibcDoes) {
  std::vector<std::string> native;
  std::thread([&] { native = ResolveAll(); }).join();
  // Sanity: the native answers are the ones this test means to compare.
  ASSERT_GE(native.size(), 12u);
  EXPECT_NE(native[0].find("addrs=127.0.0.1,"), std::string::npos) << native[0];
  EXPECT_EQ(native[11], "getaddrinfo(localhost, AI_NUMERICHOST) -> " + std::to_string(EAI_NONAME));

  std::vector<std::string> hooked;
  co::Scheduler sched;
  SpawnOn(sched, [&] { hooked = ResolveAll(); });
  {
    Watchdog wd("resolver calls", 30s);
    sched.RunUntilNoTask();
  }
  ASSERT_EQ(hooked.size(), native.size());
  for (std::size_t i = 0; i < native.size(); ++i) EXPECT_EQ(hooked[i], native[i]);
}

// A resolver call parks its coroutine: a ticker that only yields gets the
// worker during each call.
TEST(HooksConcurrency, OtherCoroutinesRunWhileResolverCallsWait) {
  constexpr int kResolvers = 20;
  constexpr int kCallsEach = 10;
  co::Scheduler sched;
  std::atomic<long> ticks{0};
  std::atomic<int> resolvers_left{kResolvers};
  std::atomic<int> calls_with_ticks{0};
  std::atomic<int> good_answers{0};
  SpawnOn(sched, [&] {
    while (resolvers_left.load() > 0) {
      ticks.fetch_add(1);
      co::this_task::yield();
    }
  });
  for (int r = 0; r < kResolvers; ++r) {
    SpawnOn(sched, [&, r] {
      for (int c = 0; c < kCallsEach; ++c) {
        const long before = ticks.load();
        bool good = false;
        if ((r + c) % 2 == 0) {
          addrinfo hints{};
          hints.ai_family = AF_INET;
          hints.ai_socktype = SOCK_STREAM;
          addrinfo* list = nullptr;
          good = ::getaddrinfo("localhost", "80", &hints, &list) == 0 &&
                 Describe(list) == "[2 1 6 127.0.0.1:80 -]";
        } else {
          hostent he{};
          hostent* result = nullptr;
          char buf[1024];
          int herr = 0;
          good = ::gethostbyname_r("localhost", &he, buf, sizeof buf, &result, &herr) == 0 &&
                 result != nullptr && std::string(result->h_name) == "localhost";
        }
        if (good) good_answers.fetch_add(1);
        if (ticks.load() > before) calls_with_ticks.fetch_add(1);
      }
      resolvers_left.fetch_sub(1);
    });
  }
  {
    Watchdog wd("resolvers and ticker", 30s);
    sched.RunUntilNoTask();
  }
  EXPECT_EQ(good_answers.load(), kResolvers * kCallsEach);
  // The ticker is always ready, so whenever a resolver parks it runs.
  EXPECT_EQ(calls_with_ticks.load(), kResolvers * kCallsEach);
}

}  // namespace
