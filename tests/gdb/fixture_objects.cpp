// A program for the gdb transcript tests of the runtime objects around the
// tasks (suite_objects.py). When everything below is in place, main (a
// plain thread) calls fixture_ready(), where gdb breaks:
//
//   scheduler 1, co_sched   started with 1 worker, running two tasks:
//     timed-reader          read() on a socket with SO_RCVTIMEO of an hour
//     sender                send(8) on g_full, a Channel<int>(1) holding 7
//   scheduler 2             created, never started, no task
//   scheduler 3             started with 1 worker, no task: it idles
//   g_words                 Channel<std::string>(4), full, its ring wrapped
//                           round: "two", "three", "four", "five"
//   g_closed                Channel<int>(2), closed, still holding 3
//   g_thread_side           Channel<int>(0) a plain thread waits to receive on
//   the socket's other end  SO_SNDTIMEO of 1.5 s, nobody waits on it
//   a pipe                  made non-blocking by the program (pipe2 O_NONBLOCK)
//
// Without a debugger the program exits right after fixture_ready().
#include <coscope/coscope.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

namespace {

co::Channel<int> g_full(1);
co::Channel<std::string> g_words(4);
co::Channel<int> g_closed(2);
co::Channel<int> g_thread_side;

__attribute__((noinline)) void read_with_timeout(int fd) {
  char byte = 0;
  ssize_t n = ::read(fd, &byte, 1);
  __asm__ volatile("" : : "r"(n) : "memory");
}

bool task_in_state(const char* name, co::TaskState state) {
  for (const co::TaskInfo& t : co::snapshot_tasks()) {
    if (t.name == name && t.state == state) return true;
  }
  return false;
}

bool wait_until(bool (*done)(), const char* what) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) {
      std::fprintf(stderr, "fixture_objects: timed out waiting until %s\n", what);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

/// True when every thread but the calling one is blocked in a system call
/// (/proc/self/task/TID/syscall does not say "running"): the workers have
/// gone idle, scheduler 3's included, which runs no task to wait for.
bool other_threads_blocked() {
  const long self = ::syscall(SYS_gettid);
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return false;
  bool blocked = true;
  while (const dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.' || std::atol(entry->d_name) == self) continue;
    const std::string path = std::string("/proc/self/task/") + entry->d_name + "/syscall";
    std::FILE* f = std::fopen(path.c_str(), "re");
    char word[16] = {};
    const bool read = f != nullptr && std::fscanf(f, "%15s", word) == 1;
    if (f != nullptr) std::fclose(f);
    if (read && std::string(word) == "running") blocked = false;
  }
  ::closedir(tasks);
  return blocked;
}

bool all_in_place() {
  return task_in_state("timed-reader", co::TaskState::io_block) &&
         task_in_state("sender", co::TaskState::sys_block) &&
         g_thread_side.waiting_receivers() == 1 && other_threads_blocked();
}

}  // namespace

/// gdb breaks here: everything is in place.
extern "C" __attribute__((noinline)) void fixture_ready() {
  __asm__ volatile("" ::: "memory");
}

int main() {
  co_sched.Start(1);
  static co::Scheduler never_started;
  static co::Scheduler started_idle;
  started_idle.Start(1);

  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sockets) != 0) return 1;
  timeval hour{3600, 0}, one_and_a_half{1, 500'000};
  if (::setsockopt(sockets[0], SOL_SOCKET, SO_RCVTIMEO, &hour, sizeof hour) != 0) return 1;
  if (::setsockopt(sockets[1], SOL_SOCKET, SO_SNDTIMEO, &one_and_a_half, sizeof one_and_a_half) !=
      0) {
    return 1;
  }
  // Made before any task runs: a task's first run may open a file for a
  // moment (the stack pool reads vm.max_map_count), which would shift the
  // numbers the pages quote.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_NONBLOCK) != 0) return 1;
  int reader_fd = sockets[0];
  co::spawn([reader_fd] { read_with_timeout(reader_fd); }, {.name = "timed-reader"});

  g_full.send(7);
  co::spawn([] { g_full.send(8); }, {.name = "sender"});

  // Three in, two out, three more: the ring's oldest value is in slot 2.
  for (const char* word : {"zero", "one", "two"}) g_words.send(word);
  g_words.recv();
  g_words.recv();
  for (const char* word : {"three", "four", "five"}) g_words.send(word);

  g_closed.send(3);
  g_closed.close();

  std::thread([] { g_thread_side.recv(); }).detach();

  if (!wait_until(all_in_place, "every task and thread waits")) return 1;
  fixture_ready();
  std::_Exit(0);
}
