// hooks_bench: what the hooks cost on the I/O path, against plain system
// calls and a plain epoll server in the same run.
//
//   build-bench/bench/hooks_bench --benchmark_repetitions=5
//                                 --benchmark_report_aggregates_only=true
//
// Unit of every benchmark ("one iteration"):
//   BM_PipeReadWrite_Raw         write 64 bytes into a pipe and read them back,
//                                with syscall(2): no library code at all
//   BM_PipeReadWrite_Hooked      the same through the hooked write/read, in a
//                                coroutine (the fd is ready: the hook's try
//                                succeeds at once)
//   BM_PipeReadWrite_PassThrough the hooked calls outside any coroutine
//   BM_Echo/<server>             (per batch) kClients client threads each
//                                send kRoundTrips 64-byte messages one at a
//                                time to a loopback echo server and read each
//                                reply; ops_per_iter counts the round trips.
//                                Servers: a plain single-threaded epoll loop
//                                (raw syscalls, level-triggered) and coscope
//                                with a coroutine per connection on 1 and 2
//                                workers. Same client code for all three.
// Targets (docs/performance.md): hooked read+write within 5% of raw; echo on
// one worker at least 0.9x the epoll server's speed, and ahead of it on two.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "coscope/coscope.h"
#include "summary_reporter.h"

namespace {

constexpr std::size_t kMessage = 64;
constexpr int kClients = 8;
constexpr int kRoundTrips = 2000;

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

long raw_read(int fd, void* buf, std::size_t n) {
  return ::syscall(SYS_read, fd, buf, n);
}
long raw_write(int fd, const void* buf, std::size_t n) {
  return ::syscall(SYS_write, fd, buf, n);
}

// ---- 1. read/write on a ready fd ------------------------------------------------

void BM_PipeReadWrite_Raw(benchmark::State& state) {
  int fds[2];
  if (::syscall(SYS_pipe2, fds, 0) != 0) die("pipe2");
  char buf[kMessage] = {};
  for (auto _ : state) {
    if (raw_write(fds[1], buf, sizeof buf) != kMessage) die("write");
    if (raw_read(fds[0], buf, sizeof buf) != kMessage) die("read");
  }
  ::syscall(SYS_close, fds[0]);
  ::syscall(SYS_close, fds[1]);
}
BENCHMARK(BM_PipeReadWrite_Raw);

// The loop of the two hooked variants: pipe() is hooked, so the runtime
// manages both ends (inside a coroutine it keeps them O_NONBLOCK underneath).
void hooked_pipe_round_trips(benchmark::State& state) {
  int fds[2];
  if (::pipe(fds) != 0) die("pipe");
  char buf[kMessage] = {};
  for (auto _ : state) {
    if (::write(fds[1], buf, sizeof buf) != kMessage) die("write");
    if (::read(fds[0], buf, sizeof buf) != kMessage) die("read");
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

void BM_PipeReadWrite_Hooked(benchmark::State& state) {
  co::Scheduler s;
  co::spawn([&] { hooked_pipe_round_trips(state); }, {.scheduler = &s});
  s.RunUntilNoTask();
}
BENCHMARK(BM_PipeReadWrite_Hooked);

void BM_PipeReadWrite_PassThrough(benchmark::State& state) {
  hooked_pipe_round_trips(state);
}
BENCHMARK(BM_PipeReadWrite_PassThrough);

// ---- 2. echo ping-pong ----------------------------------------------------------

int listen_loopback(sockaddr_in* addr) {
  int fd = static_cast<int>(::syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd < 0) die("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
  if (::listen(fd, 256) != 0) die("listen");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *addr = a;
  return fd;
}

// The client, the same for every server: kClients threads, blocking sockets
// driven by raw system calls, one message in flight per connection.
void run_clients(const sockaddr_in& server) {
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&server] {
      int fd = static_cast<int>(::syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (fd < 0) die("client socket");
      if (::syscall(SYS_connect, fd, &server, sizeof server) != 0) die("client connect");
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      char msg[kMessage];
      std::memset(msg, 'x', sizeof msg);
      char reply[kMessage];
      for (int i = 0; i < kRoundTrips; ++i) {
        if (raw_write(fd, msg, sizeof msg) != kMessage) die("client write");
        std::size_t got = 0;
        while (got < kMessage) {
          long n = raw_read(fd, reply + got, kMessage - got);
          if (n <= 0) die("client read");
          got += static_cast<std::size_t>(n);
        }
      }
      ::syscall(SYS_close, fd);
    });
  }
  for (auto& t : clients) t.join();
}

// A plain epoll echo server on one thread: the baseline.
class EpollEchoServer {
 public:
  EpollEchoServer() {
    listen_fd_ = listen_loopback(&addr_);
    epfd_ = static_cast<int>(::syscall(SYS_epoll_create1, EPOLL_CLOEXEC));
    stop_fd_ = static_cast<int>(::syscall(SYS_eventfd2, 0, 0));
    add(listen_fd_);
    add(stop_fd_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~EpollEchoServer() {
    std::uint64_t one = 1;
    raw_write(stop_fd_, &one, sizeof one);
    thread_.join();
    ::syscall(SYS_close, epfd_);
    ::syscall(SYS_close, stop_fd_);
    ::syscall(SYS_close, listen_fd_);
  }
  const sockaddr_in& addr() const { return addr_; }

 private:
  void add(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::syscall(SYS_epoll_ctl, epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  }
  void Loop() {
    epoll_event events[64];
    char buf[4096];
    for (;;) {
      long n = ::syscall(SYS_epoll_wait, epfd_, events, 64, -1);
      if (n < 0 && errno == EINTR) continue;
      for (long i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == stop_fd_) return;
        if (fd == listen_fd_) {
          int c =
              static_cast<int>(::syscall(SYS_accept4, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC));
          if (c < 0) continue;
          int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          add(c);
          continue;
        }
        long r = raw_read(fd, buf, sizeof buf);
        if (r <= 0) {
          ::syscall(SYS_close, fd);  // also leaves the epoll set
          continue;
        }
        if (raw_write(fd, buf, static_cast<std::size_t>(r)) != r) die("server write");
      }
    }
  }

  sockaddr_in addr_{};
  int listen_fd_ = -1;
  int epfd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

// The same service with coscope: blocking-style code, a coroutine per
// connection, the hooks doing the waiting.
class CoscopeEchoServer {
 public:
  explicit CoscopeEchoServer(std::size_t workers) {
    listen_fd_ = listen_loopback(&addr_);
    co::spawn([this] { AcceptLoop(); }, {.name = "acceptor", .scheduler = &sched_});
    sched_.Start(workers);
  }
  ~CoscopeEchoServer() {
    stopping_.store(true);
    // Wake the acceptor with one last connection.
    int fd = static_cast<int>(::syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ::syscall(SYS_connect, fd, &addr_, sizeof addr_);
    ::syscall(SYS_close, fd);
    sched_.WaitUntilNoTask();
    sched_.Stop();
  }
  const sockaddr_in& addr() const { return addr_; }

 private:
  void AcceptLoop() {
    while (!stopping_.load()) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      co::spawn([c] { Serve(c); }, {.name = "echo", .scheduler = &sched_});
    }
    ::close(listen_fd_);
  }
  static void Serve(int fd) {
    char buf[4096];
    for (;;) {
      ssize_t r = ::read(fd, buf, sizeof buf);
      if (r <= 0) break;
      if (::write(fd, buf, static_cast<std::size_t>(r)) != r) break;
    }
    ::close(fd);
  }

  co::Scheduler sched_;
  sockaddr_in addr_{};
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
};

template <class Server, class... Args>
void echo_benchmark(benchmark::State& state, Args... args) {
  Server server(args...);
  for (auto _ : state) run_clients(server.addr());
  state.counters["ops_per_iter"] = kClients * kRoundTrips;
  state.SetItemsProcessed(state.iterations() * kClients * kRoundTrips);
}

void BM_Echo_Epoll(benchmark::State& state) {
  echo_benchmark<EpollEchoServer>(state);
}
BENCHMARK(BM_Echo_Epoll)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Echo_Coscope(benchmark::State& state) {
  echo_benchmark<CoscopeEchoServer>(state, static_cast<std::size_t>(state.range(0)));
}
BENCHMARK(BM_Echo_Coscope)
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return coscope_bench::run_with_summary(
      argc, argv,
      "(read/write: CPU time of the benchmark thread, real time in brackets.\n"
      " echo: wall-clock time per round trip over all clients.)\n",
      [](const coscope_bench::SummaryReporter& s, std::FILE* out) {
        s.row(out, "pipe write+read, raw syscall", "BM_PipeReadWrite_Raw");
        s.row(out, "pipe write+read, hooked, coroutine", "BM_PipeReadWrite_Hooked");
        s.row(out, "pipe write+read, hooked, thread", "BM_PipeReadWrite_PassThrough");
        const double raw = s.get("BM_PipeReadWrite_Raw").cpu;
        const double hooked = s.get("BM_PipeReadWrite_Hooked").cpu;
        if (raw > 0 && hooked > 0) {
          double over = (hooked / raw - 1) * 100;
          std::fprintf(out, "%-36s %+8.1f %%   (target within 5%%: %s)\n",
                       "hooked vs raw, coroutine", over, over <= 5 ? "met" : "MISSED");
        }
        s.wall_row(out, "echo round trip, epoll server", "BM_Echo_Epoll/real_time");
        s.speedup_row(out, "echo round trip, coscope 1 worker",
                      "BM_Echo_Coscope/workers:1/real_time", "BM_Echo_Epoll/real_time", 0.9);
        s.speedup_row(out, "echo round trip, coscope 2 workers",
                      "BM_Echo_Coscope/workers:2/real_time", "BM_Echo_Epoll/real_time", 1.0);
      });
}
