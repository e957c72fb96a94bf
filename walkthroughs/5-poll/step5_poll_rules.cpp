// Step 5, man poll's rules, each run twice: by a plain thread, where poll()
// passes straight to the kernel, and by a coroutine, where the hook waits
// through io_poll (the role of libgo's libgo_poll). The two results are
// printed side by side: return value, every revents, errno, time waited.
//
//   $ build/walkthroughs/5-poll/step5_poll_rules
//
// Each rule gets fresh pipes, so both runs see the same situation.
#include <coscope/coscope.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWriterDelayMs = 200;  // rule 4: when the pipe becomes readable

// What one poll() call gave.
struct Outcome {
  int ret = 0;
  int error = 0;  // errno, when ret is -1
  std::vector<short> revents;
  long long waited_ms = 0;
};

// One rule of man poll: what the fds are, and the call.
struct Rule {
  const char* title;  // the rule, as man poll states it
  const char* fds;    // the pollfd array, in words
  int timeout_ms;
  Outcome (*run)(int timeout_ms, bool in_coroutine);
};

// Calls poll() and records what it gave.
Outcome timed_poll(pollfd* fds, nfds_t nfds, int timeout_ms) {
  Outcome out;
  const auto start = Clock::now();
  out.ret = ::poll(fds, nfds, timeout_ms);
  out.error = out.ret < 0 ? errno : 0;
  out.waited_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  for (nfds_t i = 0; fds != nullptr && out.ret >= 0 && i < nfds; ++i) {
    out.revents.push_back(fds[i].revents);
  }
  return out;
}

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (::pipe(fds) != 0) {
      std::perror("pipe");
      std::exit(1);
    }
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (read_end >= 0) ::close(read_end);
    read_end = -1;
  }
  void close_write() {
    if (write_end >= 0) ::close(write_end);
    write_end = -1;
  }
  void put_byte() const {
    if (::write(write_end, "x", 1) != 1) std::perror("write");
  }
};

// 1. A negative fd is ignored: revents 0, whatever its events.
Outcome negative_fd_beside_ready_pipe(int timeout_ms, bool) {
  Pipe p;
  p.put_byte();
  pollfd fds[] = {{-1, POLLIN, 0}, {p.read_end, POLLIN, 0}};
  return timed_poll(fds, 2, timeout_ms);
}

// 2. Only negative fds: nothing to wait for but the timeout.
Outcome only_negative_fds(int timeout_ms, bool) {
  pollfd fds[] = {{-1, POLLIN, 0}, {-7, POLLOUT, 0}};
  return timed_poll(fds, 2, timeout_ms);
}

// 3. Timeout 0: return at once, ready or not.
Outcome timeout_zero(int timeout_ms, bool) {
  Pipe p;
  pollfd fds[] = {{p.read_end, POLLIN, 0}};
  return timed_poll(fds, 1, timeout_ms);
}

// 4. Timeout -1: wait until an fd is ready, however long. Another thread (in
// the thread run) or another coroutine (in the coroutine run) writes later.
Outcome timeout_forever(int timeout_ms, bool in_coroutine) {
  Pipe p;
  pollfd fds[] = {{p.read_end, POLLIN, 0}};
  if (!in_coroutine) {
    std::thread writer([&p] {
      std::this_thread::sleep_for(std::chrono::milliseconds(kWriterDelayMs));
      p.put_byte();
    });
    Outcome out = timed_poll(fds, 1, timeout_ms);
    writer.join();
    return out;
  }
  const auto poller_thread = std::this_thread::get_id();
  co::WaitGroup done;
  done.add(1);
  co::spawn(
      [&p, &done, poller_thread] {
        co::co_sleep(kWriterDelayMs);
        std::printf(
            "  (rule 4: the writer coroutine runs while the poller waits in poll, on %s; "
            "it writes the pipe now)\n",
            std::this_thread::get_id() == poller_thread ? "the same thread" : "another thread");
        std::fflush(stdout);
        p.put_byte();
        done.done();
      },
      {.name = "writer"});
  Outcome out = timed_poll(fds, 1, timeout_ms);
  done.wait();  // the pipe outlives the writer
  return out;
}

// 5. POLLHUP: the read end of a pipe whose write end is closed.
Outcome pollhup(int timeout_ms, bool) {
  Pipe p;
  p.close_write();
  pollfd fds[] = {{p.read_end, POLLIN, 0}, {p.read_end, 0, 0}};
  return timed_poll(fds, 2, timeout_ms);
}

// 6. POLLERR: the write end of a pipe whose read end is closed.
Outcome pollerr(int timeout_ms, bool) {
  Pipe p;
  p.close_read();
  pollfd fds[] = {{p.write_end, POLLOUT, 0}, {p.write_end, 0, 0}};
  return timed_poll(fds, 2, timeout_ms);
}

// 7. POLLNVAL: an fd number that is not open.
Outcome pollnval(int timeout_ms, bool) {
  int closed;
  {
    Pipe p;
    closed = p.read_end;
  }  // both ends closed here
  pollfd fds[] = {{closed, POLLIN, 0}, {closed, 0, 0}};
  return timed_poll(fds, 2, timeout_ms);
}

// 8. events 0 on an open, idle pipe: only the three can come; none does.
Outcome events_zero_idle(int timeout_ms, bool) {
  Pipe p;
  pollfd fds[] = {{p.read_end, 0, 0}};
  return timed_poll(fds, 1, timeout_ms);
}

// 9. An array the kernel cannot read: -1 and errno, before any wait.
Outcome unreadable_array(int timeout_ms, bool) {
  auto* nowhere = reinterpret_cast<pollfd*>(std::uintptr_t{8});
  return timed_poll(nowhere, 1, timeout_ms);
}

const Rule kRules[] = {
    {"a negative fd is ignored: revents 0", "{-1, POLLIN}, {pipe with data, POLLIN}", -1,
     negative_fd_beside_ready_pipe},
    {"only negative fds: it waits out the timeout", "{-1, POLLIN}, {-7, POLLOUT}", 200,
     only_negative_fds},
    {"timeout 0 returns at once", "{empty pipe, POLLIN}", 0, timeout_zero},
    {"timeout -1 waits until an fd is ready: the pipe is written 200 ms later",
     "{empty pipe, POLLIN}", -1, timeout_forever},
    {"POLLHUP: the write end is closed", "{pipe read end, POLLIN}, {same, events 0}", -1, pollhup},
    {"POLLERR: the read end is closed", "{pipe write end, POLLOUT}, {same, events 0}", -1, pollerr},
    {"POLLNVAL: the fd is not open", "{closed fd, POLLIN}, {same, events 0}", -1, pollnval},
    {"events 0: only POLLHUP, POLLERR, POLLNVAL can come", "{idle pipe, events 0}", 200,
     events_zero_idle},
    {"an array poll cannot read: an error, no wait", "fds = (pollfd*)8", -1, unreadable_array},
};
constexpr std::size_t kRuleCount = sizeof kRules / sizeof kRules[0];

std::string event_names(short bits) {
  if (bits == 0) return "0";
  static const struct {
    short bit;
    const char* name;
  } kNames[] = {{POLLIN, "POLLIN"},   {POLLPRI, "POLLPRI"}, {POLLOUT, "POLLOUT"},
                {POLLERR, "POLLERR"}, {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"}};
  std::string out;
  for (const auto& n : kNames) {
    if (bits & n.bit) out += (out.empty() ? "" : "|") + std::string(n.name);
  }
  return out.empty() ? std::to_string(bits) : out;
}

std::string describe(const Outcome& o) {
  char head[64];
  std::snprintf(head, sizeof head, "poll = %-3d", o.ret);
  std::string out = head;
  if (o.ret < 0) {
    out += std::string("errno ") + strerrorname_np(o.error);
  } else {
    out += "revents [";
    for (std::size_t i = 0; i < o.revents.size(); ++i) {
      out += (i ? ", " : "") + event_names(o.revents[i]);
    }
    out += "]";
  }
  char tail[48];
  std::snprintf(tail, sizeof tail, "  after %lld ms", o.waited_ms);
  return out + tail;
}

}  // namespace

int main() {
  Outcome by_thread[kRuleCount];
  Outcome by_coroutine[kRuleCount];

  std::printf("main, a plain thread: the rules with the kernel's poll ...\n");
  std::fflush(stdout);
  for (std::size_t i = 0; i < kRuleCount; ++i) {
    by_thread[i] = kRules[i].run(kRules[i].timeout_ms, false);
  }

  std::printf("a coroutine on this same thread: the rules with the hooked poll ...\n");
  std::fflush(stdout);
  co::spawn(
      [&by_coroutine] {
        for (std::size_t i = 0; i < kRuleCount; ++i) {
          by_coroutine[i] = kRules[i].run(kRules[i].timeout_ms, true);
        }
      },
      {.name = "rules"});
  co_sched.RunUntilNoTask();

  std::printf("\n");
  for (std::size_t i = 0; i < kRuleCount; ++i) {
    std::printf("%zu. %s\n", i + 1, kRules[i].title);
    std::printf("   poll(%s, timeout %d)\n", kRules[i].fds, kRules[i].timeout_ms);
    std::printf("   thread     %s\n", describe(by_thread[i]).c_str());
    std::printf("   coroutine  %s\n", describe(by_coroutine[i]).c_str());
  }
  return 0;
}
