// Step 4: what connect returns - from the kernel, and from the hook.
//
// The notes: "非阻塞connect有三种基本的情况" - a non-blocking connect
// finishes at once and succeeds, finishes at once and fails, or returns -1
// EINPROGRESS and the caller waits for the fd to become writable, then reads
// SO_ERROR. Four loopback targets show all three:
//
//   AF_UNIX, a listening socket          -> 0 at once
//   AF_UNIX, a name nobody listens on    -> -1 ECONNREFUSED at once
//   TCP 127.0.0.1, a listening port      -> -1 EINPROGRESS, then SO_ERROR 0
//   TCP 127.0.0.1, a port nobody listens -> -1 EINPROGRESS, then SO_ERROR ECONNREFUSED
//
// Each target is connected to five ways, and the program prints what each
// returned:
//
//   kernel, non-blocking   syscall(SYS_connect) on an O_NONBLOCK socket: no
//                          hook, no glibc; EINPROGRESS is followed by a poll
//                          for POLLOUT and SO_ERROR
//   kernel, blocking       the same system call on a blocking socket
//   hook, outside          connect() in main, not in a coroutine: the hook
//                          passes the call through (connect_f, blocking)
//   hook, in a coroutine   connect() in a task, blocking socket: the hook
//                          tries connect_f on the socket it made non-blocking
//                          and, on EINPROGRESS, parks the task until writable
//   hook, O_NONBLOCK       connect() in a task on a socket the program made
//                          non-blocking: passed through, EINPROGRESS and all
//
// The hook must return what the kernel would: the three blocking lines agree,
// and so do the two non-blocking ones. Two bad fds (-1, and a pipe's) check
// the same for errors. Loopback only: abstract AF_UNIX names (with the pid
// in them) and 127.0.0.1.
//
//   $ build/walkthroughs/4-connect/step4_outcomes
#include <coscope/coscope.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// One place to connect to: its address, and how the program describes it.
struct Target {
  std::string title;
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_UNSPEC;
};

// An abstract AF_UNIX name (a leading NUL: no file is made).
Target unix_target(const std::string& title, const std::string& name) {
  Target t;
  t.title = title + " (@" + name + ")";
  t.family = AF_UNIX;
  auto* un = reinterpret_cast<sockaddr_un*>(&t.address);
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path + 1, name.data(), name.size());
  t.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return t;
}

// 127.0.0.1 and the port the kernel gave `bound`.
Target tcp_target(const std::string& title, int bound) {
  Target t;
  t.family = AF_INET;
  t.length = sizeof(sockaddr_in);
  getsockname(bound, reinterpret_cast<sockaddr*>(&t.address), &t.length);
  const auto* in = reinterpret_cast<const sockaddr_in*>(&t.address);
  t.title = title + " (127.0.0.1:" + std::to_string(ntohs(in->sin_port)) + ")";
  return t;
}

int listening_unix(const Target& t) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(fd, reinterpret_cast<const sockaddr*>(&t.address), t.length);
  listen(fd, 16);  // room for every connect below: none is ever accepted
  return fd;
}

// A TCP socket bound to 127.0.0.1 on a port of the kernel's choice; it
// listens or not. Bound but not listening, the port refuses connections and
// no other program can take it meanwhile.
int bound_tcp(bool listening) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<const sockaddr*>(&in), sizeof in);
  if (listening) listen(fd, 16);
  return fd;
}

std::string failed(int err) {
  return std::string("-1 ") + strerrorname_np(err);
}

std::string revents_names(short revents) {
  std::string out;
  for (auto [bit, name] : {std::pair<short, const char*>{POLLIN, "POLLIN"},
                           {POLLOUT, "POLLOUT"},
                           {POLLERR, "POLLERR"},
                           {POLLHUP, "POLLHUP"},
                           {POLLNVAL, "POLLNVAL"}}) {
    if (revents & bit) out += (out.empty() ? "" : "|") + std::string(name);
  }
  return out.empty() ? "0" : out;
}

// ---- the kernel, with no hook and no glibc in between ----------------------

int sys_socket(int family, int type) {
  return static_cast<int>(syscall(SYS_socket, family, type, 0));
}

std::string kernel_connect(const Target& t, bool nonblocking) {
  int fd = sys_socket(t.family, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0));
  std::string result;
  if (syscall(SYS_connect, fd, &t.address, t.length) == 0) {
    result = "0";
  } else {
    const int err = errno;
    result = failed(err);
    if (err == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      syscall(SYS_poll, &pfd, 1, 5000);
      int so_error = 0;
      socklen_t len = sizeof so_error;
      syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      result += "; poll: " + revents_names(pfd.revents) + "; SO_ERROR " +
                (so_error == 0 ? "0" : strerrorname_np(so_error));
    }
  }
  syscall(SYS_close, fd);
  return result;
}

// ---- the hooked calls: plain connect(), poll(), getsockopt() ----------------

std::string hooked_connect(const Target& t, bool nonblocking) {
  int fd = socket(t.family, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  std::string result;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&t.address), t.length) == 0) {
    result = "0";
  } else {
    const int err = errno;
    result = failed(err);
    if (err == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      poll(&pfd, 1, 5000);
      int so_error = 0;
      socklen_t len = sizeof so_error;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      result += "; poll: " + revents_names(pfd.revents) + "; SO_ERROR " +
                (so_error == 0 ? "0" : strerrorname_np(so_error));
    }
  }
  close(fd);
  return result;
}

std::string kernel_connect_fd(int fd, const Target& t) {
  return syscall(SYS_connect, fd, &t.address, t.length) == 0 ? "0" : failed(errno);
}

std::string hooked_connect_fd(int fd, const Target& t) {
  return connect(fd, reinterpret_cast<const sockaddr*>(&t.address), t.length) == 0 ? "0"
                                                                                   : failed(errno);
}

void show(const char* way, const std::string& result) {
  std::printf("  %-38s %s\n", way, result.c_str());
}

}  // namespace

int main() {
  const std::string prefix = "coscope-step4-" + std::to_string(getpid());
  Target unix_listening = unix_target("AF_UNIX, a listening socket", prefix + "-listening");
  Target unix_nobody = unix_target("AF_UNIX, a name nobody listens on", prefix + "-nobody");
  const int unix_listener = listening_unix(unix_listening);
  const int tcp_listener = bound_tcp(true);
  const int tcp_closed = bound_tcp(false);
  const std::vector<Target> targets = {unix_listening, unix_nobody,
                                       tcp_target("TCP, a listening port", tcp_listener),
                                       tcp_target("TCP, a port nobody listens on", tcp_closed)};

  // Outside any coroutine: the kernel, and the hook passing through.
  std::vector<std::string> kernel_nb, kernel_b, hook_outside, hook_task, hook_task_nb;
  for (const Target& t : targets) {
    kernel_nb.push_back(kernel_connect(t, true));
    kernel_b.push_back(kernel_connect(t, false));
    hook_outside.push_back(hooked_connect(t, false));
  }
  // In a coroutine: the hook's own path.
  int pipe_fds[2];
  pipe(pipe_fds);
  std::string kernel_bad_fd, kernel_pipe, hook_bad_fd, hook_pipe;
  kernel_bad_fd = kernel_connect_fd(-1, targets[2]);
  kernel_pipe = kernel_connect_fd(pipe_fds[0], targets[2]);
  co::spawn(
      [&] {
        for (const Target& t : targets) {
          hook_task.push_back(hooked_connect(t, false));
          hook_task_nb.push_back(hooked_connect(t, true));
        }
        hook_bad_fd = hooked_connect_fd(-1, targets[2]);
        hook_pipe = hooked_connect_fd(pipe_fds[0], targets[2]);
      },
      {.name = "connector"});
  co_sched.RunUntilNoTask();

  for (std::size_t i = 0; i < targets.size(); ++i) {
    std::printf("%s\n", targets[i].title.c_str());
    show("kernel, non-blocking socket:", kernel_nb[i]);
    show("connect() in a coroutine, O_NONBLOCK:", hook_task_nb[i]);
    show("kernel, blocking socket:", kernel_b[i]);
    show("connect() outside a coroutine:", hook_outside[i]);
    show("connect() in a coroutine:", hook_task[i]);
  }
  std::printf("fd -1\n");
  show("kernel:", kernel_bad_fd);
  show("connect() in a coroutine:", hook_bad_fd);
  std::printf("a pipe's fd\n");
  show("kernel:", kernel_pipe);
  show("connect() in a coroutine:", hook_pipe);
  std::fflush(stdout);

  close(unix_listener);
  close(tcp_listener);
  close(tcp_closed);
  return 0;
}
