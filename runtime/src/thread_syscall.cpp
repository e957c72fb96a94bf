#include "thread_syscall.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "raw_syscall.h"

namespace co {
namespace detail {
namespace {

/// What coscope does with a system call when a task makes it through the
/// exported libc function.
enum class Coverage {
  none,   ///< not hooked: it blocks the worker thread
  fd_io,  ///< a hooked read/write/accept/connect: parks on a pollable fd
  poll,   ///< a hooked poll/select/epoll wait: parks
  sleep,  ///< a hooked sleep: parks on the timer queue
};

struct Entry {
  long number;
  const char* name;
  Coverage coverage;
};

constexpr Entry kCalls[] = {
    {SYS_read, "read", Coverage::fd_io},
    {SYS_write, "write", Coverage::fd_io},
    {SYS_readv, "readv", Coverage::fd_io},
    {SYS_writev, "writev", Coverage::fd_io},
    {SYS_recvfrom, "recvfrom", Coverage::fd_io},
    {SYS_sendto, "sendto", Coverage::fd_io},
    {SYS_recvmsg, "recvmsg", Coverage::fd_io},
    {SYS_sendmsg, "sendmsg", Coverage::fd_io},
    {SYS_recvmmsg, "recvmmsg", Coverage::fd_io},
    {SYS_sendmmsg, "sendmmsg", Coverage::fd_io},
    {SYS_connect, "connect", Coverage::fd_io},
    {SYS_accept, "accept", Coverage::fd_io},
    {SYS_accept4, "accept4", Coverage::fd_io},
    {SYS_poll, "poll", Coverage::poll},
    {SYS_ppoll, "ppoll", Coverage::poll},
    {SYS_select, "select", Coverage::poll},
    {SYS_pselect6, "pselect6", Coverage::poll},
    {SYS_epoll_wait, "epoll_wait", Coverage::poll},
    {SYS_epoll_pwait, "epoll_pwait", Coverage::poll},
#ifdef SYS_epoll_pwait2
    {SYS_epoll_pwait2, "epoll_pwait2", Coverage::poll},
#endif
    {SYS_nanosleep, "nanosleep", Coverage::sleep},
    {SYS_clock_nanosleep, "clock_nanosleep", Coverage::sleep},
    {SYS_futex, "futex", Coverage::none},
    {SYS_wait4, "wait4", Coverage::none},
    {SYS_waitid, "waitid", Coverage::none},
    {SYS_flock, "flock", Coverage::none},
    {SYS_fcntl, "fcntl", Coverage::none},
    {SYS_ioctl, "ioctl", Coverage::none},
    {SYS_pread64, "pread64", Coverage::none},
    {SYS_pwrite64, "pwrite64", Coverage::none},
    {SYS_preadv, "preadv", Coverage::none},
    {SYS_pwritev, "pwritev", Coverage::none},
    {SYS_sendfile, "sendfile", Coverage::none},
    {SYS_splice, "splice", Coverage::none},
    {SYS_openat, "openat", Coverage::none},
    {SYS_fsync, "fsync", Coverage::none},
    {SYS_fdatasync, "fdatasync", Coverage::none},
    {SYS_pause, "pause", Coverage::none},
    {SYS_rt_sigsuspend, "rt_sigsuspend", Coverage::none},
    {SYS_rt_sigtimedwait, "rt_sigtimedwait", Coverage::none},
    {SYS_msgrcv, "msgrcv", Coverage::none},
    {SYS_semop, "semop", Coverage::none},
    {SYS_semtimedop, "semtimedop", Coverage::none},
    {SYS_io_getevents, "io_getevents", Coverage::none},
#ifdef SYS_io_uring_enter
    {SYS_io_uring_enter, "io_uring_enter", Coverage::none},
#endif
};

const Entry* find(long number) noexcept {
  for (const Entry& e : kCalls) {
    if (e.number == number) return &e;
  }
  return nullptr;
}

/// Parses one decimal or 0x-hex field; advances `p`.
bool parse_field(const char*& p, long long* out) noexcept {
  while (*p == ' ') ++p;
  if (*p == '\0' || *p == '\n') return false;
  char* end = nullptr;
  *out = static_cast<long long>(std::strtoull(p, &end, 0));
  if (end == p) {
    // A negative decimal (-1: off CPU, outside any system call).
    *out = std::strtoll(p, &end, 10);
    if (end == p) return false;
  }
  p = end;
  return true;
}

const char* futex_op_name(std::uint64_t op) noexcept {
  const bool priv = (op & FUTEX_PRIVATE_FLAG) != 0;
  switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT:
      return priv ? "FUTEX_WAIT_PRIVATE" : "FUTEX_WAIT";
    case FUTEX_WAIT_BITSET:
      return priv ? "FUTEX_WAIT_BITSET_PRIVATE" : "FUTEX_WAIT_BITSET";
    case FUTEX_LOCK_PI:
      return priv ? "FUTEX_LOCK_PI_PRIVATE" : "FUTEX_LOCK_PI";
    case FUTEX_WAIT_REQUEUE_PI:
      return priv ? "FUTEX_WAIT_REQUEUE_PI_PRIVATE" : "FUTEX_WAIT_REQUEUE_PI";
    default:
      return nullptr;
  }
}

/// "fd 0 is a pipe": what kind of file an fd is, by fstat (raw).
const char* fd_kind(int fd) noexcept {
  struct stat st {};
  if (::syscall(SYS_fstat, fd, &st) != 0) return nullptr;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      return "regular file";
    case S_IFBLK:
      return "block device";
    case S_IFIFO:
      return "pipe";
    case S_IFSOCK:
      return "socket";
    case S_IFCHR:
      return "character device";
    default:
      return "file";
  }
}

/// The file name of the object that holds `pc` ("libc.so.6"), or nullptr.
const char* object_of(std::uintptr_t pc) noexcept {
  Dl_info info{};
  if (pc == 0 || ::dladdr(reinterpret_cast<void*>(pc), &info) == 0 || info.dli_fname == nullptr) {
    return nullptr;
  }
  const char* slash = std::strrchr(info.dli_fname, '/');
  return slash != nullptr ? slash + 1 : info.dli_fname;
}

bool is_libc(const char* object) noexcept {
  return object != nullptr && std::strncmp(object, "libc.so", 7) == 0;
}

}  // namespace

ThreadSyscall read_thread_syscall(long tid) noexcept {
  ThreadSyscall call;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
  const int fd = static_cast<int>(::syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC));
  if (fd < 0) return call;
  char text[256];
  const long n = sys::read(fd, text, sizeof text - 1);
  sys::close(fd);
  if (n <= 0) return call;
  text[n] = '\0';
  if (std::strncmp(text, "running", 7) == 0) {
    call.kind = ThreadSyscall::Kind::running;
    return call;
  }
  const char* p = text;
  long long field = 0;
  if (!parse_field(p, &field)) return call;
  if (field < 0) {
    call.kind = ThreadSyscall::Kind::running;  // off CPU in user code
    return call;
  }
  call.kind = ThreadSyscall::Kind::in_syscall;
  call.number = static_cast<long>(field);
  for (std::uint64_t& arg : call.args) {
    if (!parse_field(p, &field)) return call;
    arg = static_cast<std::uint64_t>(field);
  }
  // The stack pointer, then the pc: the same call twice, on purpose.
  // NOLINTNEXTLINE(misc-redundant-expression)
  if (parse_field(p, &field) && parse_field(p, &field)) {
    call.pc = static_cast<std::uintptr_t>(field);
  }
  return call;
}

const char* syscall_name(long number) noexcept {
  const Entry* e = find(number);
  return e != nullptr ? e->name : nullptr;
}

std::string describe_thread_syscall(const ThreadSyscall& call) {
  char buf[160];
  switch (call.kind) {
    case ThreadSyscall::Kind::unknown:
      return "unknown (its /proc/self/task/TID/syscall cannot be read)";
    case ThreadSyscall::Kind::running:
      return "running (no system call)";
    case ThreadSyscall::Kind::in_syscall:
      break;
  }
  const Entry* e = find(call.number);
  if (e == nullptr) {
    std::snprintf(buf, sizeof buf, "system call %ld(%#llx, %#llx, %#llx)", call.number,
                  static_cast<unsigned long long>(call.args[0]),
                  static_cast<unsigned long long>(call.args[1]),
                  static_cast<unsigned long long>(call.args[2]));
    return buf;
  }
  const long long a0 = static_cast<long long>(call.args[0]);
  const int timeout_ms = static_cast<int>(call.args[2]);
  if (e->coverage == Coverage::fd_io) {
    std::snprintf(buf, sizeof buf, "%s(fd %d)", e->name, static_cast<int>(a0));
  } else if (e->number == SYS_poll) {
    if (timeout_ms < 0) {
      std::snprintf(buf, sizeof buf, "poll(nfds %llu, no timeout)",
                    static_cast<unsigned long long>(call.args[1]));
    } else {
      std::snprintf(buf, sizeof buf, "poll(nfds %llu, %d ms)",
                    static_cast<unsigned long long>(call.args[1]), timeout_ms);
    }
  } else if (e->number == SYS_ppoll) {
    std::snprintf(buf, sizeof buf, "ppoll(nfds %llu)",
                  static_cast<unsigned long long>(call.args[1]));
  } else if (e->number == SYS_select || e->number == SYS_pselect6) {
    std::snprintf(buf, sizeof buf, "%s(nfds %d)", e->name, static_cast<int>(a0));
  } else if (e->coverage == Coverage::poll) {
    std::snprintf(buf, sizeof buf, "%s(epfd %d)", e->name, static_cast<int>(a0));
  } else if (e->number == SYS_futex && futex_op_name(call.args[1]) != nullptr) {
    std::snprintf(buf, sizeof buf, "futex(%#llx, %s)", static_cast<unsigned long long>(a0),
                  futex_op_name(call.args[1]));
  } else {
    std::snprintf(buf, sizeof buf, "%s(%#llx, %#llx, %#llx)", e->name,
                  static_cast<unsigned long long>(call.args[0]),
                  static_cast<unsigned long long>(call.args[1]),
                  static_cast<unsigned long long>(call.args[2]));
  }
  return buf;
}

std::string explain_thread_syscall(const ThreadSyscall& call) {
  if (call.kind != ThreadSyscall::Kind::in_syscall) return {};
  const Entry* e = find(call.number);
  if (e == nullptr) return "coscope hooks no such call: it blocks the worker thread";
  if (e->coverage == Coverage::none) {
    if (e->number == SYS_futex) {
      return "futex is not hooked: the thread waits for a lock or condition of plain threads "
             "(a pthread mutex, condition variable, semaphore or join), which blocks the worker "
             "thread";
    }
    return std::string(e->name) + " is not hooked: it blocks the worker thread";
  }
  std::string why;
  if (e->coverage == Coverage::fd_io) {
    const char* kind = fd_kind(static_cast<int>(call.args[0]));
    if (kind != nullptr &&
        (std::strcmp(kind, "regular file") == 0 || std::strcmp(kind, "block device") == 0)) {
      return std::string(e->name) + " on a " + kind +
             " is not hooked (epoll cannot wait for one): it runs on the worker thread";
    }
    why = std::string(e->name) + " is hooked, but this call did not pass through the hook (a " +
          "hooked " + e->name + " in a task parks it instead of blocking the thread";
    if (kind != nullptr)
      why += std::string("; fd ") + std::to_string(call.args[0]) + " is a " + kind;
    why += ")";
  } else {
    why = std::string(e->name) + " is hooked, but this call did not pass through the hook (a " +
          "hooked one in a task parks it instead of blocking the thread)";
  }
  const char* object = object_of(call.pc);
  if (is_libc(object)) {
    why += std::string(": it was made inside ") + object;
    if (e->number == SYS_read || e->number == SYS_write) {
      why += std::string(
                 ", as stdio's are (std::cin, fgets, scanf, printf reach glibc's "
                 "internal ") +
             e->name + ", which no hook sees)";
    } else {
      why += " (glibc's internal calls reach no hook)";
    }
  } else if (object != nullptr) {
    why += std::string(": ") + object + " made it as a raw system call";
  } else {
    why += ": it was made inside the C library or as a raw system call";
  }
  return why;
}

}  // namespace detail
}  // namespace co
