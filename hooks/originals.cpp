// Filling the originals table (see originals.h for the three ways).
#include "originals.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

// glibc's internal aliases, present in its static archive. Weak: a dynamic
// link does not need them. None may be one that libc.so exports under
// GLIBC_PRIVATE (__libc_fcntl64, __recv, __socket, ...): even a weak reference
// records that version in libcoscope.so, a dependency on glibc's internals
// that a later glibc may drop (as 2.34 dropped __libc_dlsym). Such originals
// are found by dlsym at run time, or are a direct system call when static.
extern "C" {
ssize_t __libc_read(int, void*, size_t) __attribute__((weak));
ssize_t __libc_write(int, const void*, size_t) __attribute__((weak));
ssize_t __libc_recv(int, void*, size_t, int) __attribute__((weak));
ssize_t __libc_recvfrom(int, void*, size_t, int, struct sockaddr*, socklen_t*)
    __attribute__((weak));
ssize_t __libc_recvmsg(int, struct msghdr*, int) __attribute__((weak));
ssize_t __libc_send(int, const void*, size_t, int) __attribute__((weak));
ssize_t __libc_sendto(int, const void*, size_t, int, const struct sockaddr*, socklen_t)
    __attribute__((weak));
ssize_t __libc_sendmsg(int, const struct msghdr*, int) __attribute__((weak));
int __libc_connect(int, const struct sockaddr*, socklen_t) __attribute__((weak));
int __libc_accept(int, struct sockaddr*, socklen_t*) __attribute__((weak));
int __libc_close(int) __attribute__((weak));
int __libc_poll(struct pollfd*, nfds_t, int) __attribute__((weak));
int __libc_select(int, fd_set*, fd_set*, fd_set*, struct timeval*) __attribute__((weak));
ssize_t __readv(int, const struct iovec*, int) __attribute__((weak));
ssize_t __writev(int, const struct iovec*, int) __attribute__((weak));
int __nanosleep(const struct timespec*, struct timespec*) __attribute__((weak));
int __pipe(int*) __attribute__((weak));
int __dup2(int, int) __attribute__((weak));
int __sigaction(int, const struct sigaction*, struct sigaction*) __attribute__((weak));
FILE* _IO_new_fdopen(int, const char*) __attribute__((weak));
int _IO_new_fclose(FILE*) __attribute__((weak));
}

namespace {

// The kernel's sigset_t is 64 bits on Linux (glibc's is larger).
constexpr unsigned long kKernelSigsetSize = 8;

// Direct system calls, for what a static archive offers no alias for, or
// offers one the static link did not pull in: a weak reference does not make
// the linker take an archive member, so __libc_connect is filled only if
// something else in the program needed glibc's connect.o. The program's own
// calls name connect, which the hook defines, so often nothing does.
ssize_t sys_read(int fd, void* buf, size_t n) {
  return syscall(SYS_read, fd, buf, n);
}
ssize_t sys_write(int fd, const void* buf, size_t n) {
  return syscall(SYS_write, fd, buf, n);
}
int sys_close(int fd) {
  return static_cast<int>(syscall(SYS_close, fd));
}
int sys_connect(int fd, const struct sockaddr* a, socklen_t l) {
  return static_cast<int>(syscall(SYS_connect, fd, a, l));
}
int sys_accept(int fd, struct sockaddr* a, socklen_t* l) {
  return static_cast<int>(syscall(SYS_accept4, fd, a, l, 0));
}
int sys_pipe(int* fds) {
  return static_cast<int>(syscall(SYS_pipe2, fds, 0));
}
// dup2 onto itself returns the fd if it is open (dup3 would fail).
int sys_dup2(int from, int to) {
  if (from == to) return syscall(SYS_fcntl, from, F_GETFD) < 0 ? -1 : to;
  return static_cast<int>(syscall(SYS_dup3, from, to, 0));
}
ssize_t sys_readv(int fd, const struct iovec* v, int n) {
  return syscall(SYS_readv, fd, v, n);
}
ssize_t sys_writev(int fd, const struct iovec* v, int n) {
  return syscall(SYS_writev, fd, v, n);
}
ssize_t sys_recvfrom(int fd, void* b, size_t n, int f, struct sockaddr* a, socklen_t* l) {
  return syscall(SYS_recvfrom, fd, b, n, f, a, l);
}
ssize_t sys_recv(int fd, void* b, size_t n, int f) {
  return sys_recvfrom(fd, b, n, f, nullptr, nullptr);
}
ssize_t sys_recvmsg(int fd, struct msghdr* m, int f) {
  return syscall(SYS_recvmsg, fd, m, f);
}
ssize_t sys_sendto(int fd, const void* b, size_t n, int f, const struct sockaddr* a, socklen_t l) {
  return syscall(SYS_sendto, fd, b, n, f, a, l);
}
ssize_t sys_send(int fd, const void* b, size_t n, int f) {
  return sys_sendto(fd, b, n, f, nullptr, 0);
}
ssize_t sys_sendmsg(int fd, const struct msghdr* m, int f) {
  return syscall(SYS_sendmsg, fd, m, f);
}
int sys_socket(int d, int t, int p) {
  return static_cast<int>(syscall(SYS_socket, d, t, p));
}
int sys_socketpair(int d, int t, int p, int* sv) {
  return static_cast<int>(syscall(SYS_socketpair, d, t, p, sv));
}
int sys_accept4(int fd, struct sockaddr* a, socklen_t* l, int f) {
  return static_cast<int>(syscall(SYS_accept4, fd, a, l, f));
}
int sys_pipe2(int* fds, int flags) {
  return static_cast<int>(syscall(SYS_pipe2, fds, flags));
}
int sys_dup(int fd) {
  return static_cast<int>(syscall(SYS_dup, fd));
}
int sys_dup3(int a, int b, int f) {
  return static_cast<int>(syscall(SYS_dup3, a, b, f));
}
// glibc's fcntl64 on x86-64, less the cancellation point of F_SETLKW: F_GETOWN
// goes through F_GETOWN_EX, since an owner that is a process group comes
// back negative, which a plain F_GETOWN cannot tell from an error.
int sys_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (cmd == F_GETOWN) {
    struct f_owner_ex owner {};
    if (syscall(SYS_fcntl, fd, F_GETOWN_EX, &owner) < 0) return -1;
    return owner.type == F_OWNER_PGRP ? -owner.pid : owner.pid;
  }
  return static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
}
int sys_ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return static_cast<int>(syscall(SYS_ioctl, fd, req, arg));
}
int sys_setsockopt(int fd, int l, int n, const void* v, socklen_t len) {
  return static_cast<int>(syscall(SYS_setsockopt, fd, l, n, v, len));
}
int sys_getsockopt(int fd, int l, int n, void* v, socklen_t* len) {
  return static_cast<int>(syscall(SYS_getsockopt, fd, l, n, v, len));
}
int sys_ppoll(struct pollfd* f, nfds_t n, const struct timespec* t, const sigset_t* s) {
  return static_cast<int>(syscall(SYS_ppoll, f, n, t, s, kKernelSigsetSize));
}
int sys_epoll_wait(int e, struct epoll_event* ev, int m, int t) {
  return static_cast<int>(syscall(SYS_epoll_pwait, e, ev, m, t, nullptr, kKernelSigsetSize));
}
int sys_recvmmsg(int fd, struct mmsghdr* v, unsigned int n, int f, struct timespec* t) {
  return static_cast<int>(syscall(SYS_recvmmsg, fd, v, n, f, t));
}
int sys_sendmmsg(int fd, struct mmsghdr* v, unsigned int n, int f) {
  return static_cast<int>(syscall(SYS_sendmmsg, fd, v, n, f));
}
int sys_epoll_pwait(int e, struct epoll_event* ev, int m, int t, const sigset_t* s) {
  return static_cast<int>(syscall(SYS_epoll_pwait, e, ev, m, t, s, kKernelSigsetSize));
}
int sys_epoll_pwait2(int e, struct epoll_event* ev, int m, const struct timespec* t,
                     const sigset_t* s) {
  return static_cast<int>(syscall(SYS_epoll_pwait2, e, ev, m, t, s, kKernelSigsetSize));
}
int sys_poll(struct pollfd* f, nfds_t n, int timeout_ms) {
  struct timespec timeout {
    timeout_ms / 1000, (timeout_ms % 1000) * 1000000L
  };
  return static_cast<int>(
      syscall(SYS_ppoll, f, n, timeout_ms < 0 ? nullptr : &timeout, nullptr, kKernelSigsetSize));
}
// select(2) on Linux writes the time left into its timeout, as this does.
int sys_select(int n, fd_set* r, fd_set* w, fd_set* e, struct timeval* t) {
  struct timespec left {};
  if (t != nullptr) left = {t->tv_sec, t->tv_usec * 1000L};
  const int ready =
      static_cast<int>(syscall(SYS_pselect6, n, r, w, e, t != nullptr ? &left : nullptr, nullptr));
  if (t != nullptr) *t = {left.tv_sec, left.tv_nsec / 1000};
  return ready;
}
// The kernel's pselect6 writes the time left into its timeout and takes the
// mask with its size; pselect(3) does neither to the caller.
int sys_pselect(int n, fd_set* r, fd_set* w, fd_set* e, const struct timespec* t,
                const sigset_t* s) {
  struct timespec left {};
  if (t != nullptr) left = *t;
  struct {
    const sigset_t* set;
    unsigned long size;
  } mask{s, kKernelSigsetSize};
  return static_cast<int>(syscall(SYS_pselect6, n, r, w, e, t != nullptr ? &left : nullptr, &mask));
}
// clock_nanosleep(3) returns the error number and leaves errno alone.
int sys_clock_nanosleep(clockid_t c, int flags, const struct timespec* req, struct timespec* rem) {
  const int saved_errno = errno;
  const int err = syscall(SYS_clock_nanosleep, c, flags, req, rem) < 0 ? errno : 0;
  errno = saved_errno;
  return err;
}
int sys_nanosleep(const struct timespec* req, struct timespec* rem) {
  return static_cast<int>(syscall(SYS_nanosleep, req, rem));
}
unsigned int sys_sleep(unsigned int seconds) {
  struct timespec req {
    static_cast<time_t>(seconds), 0
  }, rem{0, 0};
  if (sys_nanosleep(&req, &rem) == 0) return 0;
  return static_cast<unsigned int>(rem.tv_sec + (rem.tv_nsec > 0 ? 1 : 0));
}
int sys_usleep(useconds_t usec) {
  struct timespec req {
    static_cast<time_t>(usec / 1000000), static_cast<long>(usec % 1000000) * 1000
  };
  return sys_nanosleep(&req, nullptr);
}

bool g_initialised = false;
const char* g_resolution = "unresolved";
const char* g_missing[64];
int g_missing_count = 0;

template <class F>
void resolve(F& slot, const char* name, F static_alias, F syscall_fallback) {
  if (slot != nullptr) return;
  slot = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
  if (slot == nullptr) slot = static_alias;
  if (slot == nullptr) slot = syscall_fallback;
  if (slot == nullptr && g_missing_count < 64) g_missing[g_missing_count++] = name;
}

#if defined(COSCOPE_WITH_TSAN)
// A program built with -fsanitize=thread finds libtsan's read, poll,
// nanosleep, ... before these hooks (the compiler links libtsan first). Its
// interceptors then call the hooks inside what ThreadSanitizer takes for a
// blocking system call, where it ignores every atomic operation and lock: each
// lock the runtime takes in a hooked call would be reported as a data race
// that is not there. With the library preloaded (or linked statically) the
// hooks come first and call TSan's interceptors as their originals.
void warn_if_sanitizer_intercepts_first() {
  void* first = dlsym(RTLD_DEFAULT, "read");
  if (first == nullptr || first == reinterpret_cast<void*>(&read)) return;
  std::fprintf(stderr,
               "coscope: ThreadSanitizer's interceptors come before coscope's hooks: TSan will "
               "not see the runtime's locks inside hooked calls and will report races that are "
               "not there. Preload the library (LD_PRELOAD=libcoscope.so) or link it "
               "statically.\n");
}
#endif

}  // namespace

extern "C" {

socket_t socket_f;
socketpair_t socketpair_f;
connect_t connect_f;
accept_t accept_f;
accept4_t accept4_f;
pipe_t pipe_f;
pipe2_t pipe2_f;
close_t close_f;
dup_t dup_f;
dup2_t dup2_f;
dup3_t dup3_f;
fcntl_t fcntl_f;
ioctl_t ioctl_f;
setsockopt_t setsockopt_f;
getsockopt_t getsockopt_f;
read_t read_f;
readv_t readv_f;
recv_t recv_f;
recvfrom_t recvfrom_f;
recvmsg_t recvmsg_f;
write_t write_f;
writev_t writev_f;
send_t send_f;
sendto_t sendto_f;
sendmsg_t sendmsg_f;
recvmmsg_t recvmmsg_f;
sendmmsg_t sendmmsg_f;
poll_t poll_f;
ppoll_t ppoll_f;
select_t select_f;
pselect_t pselect_f;
epoll_wait_t epoll_wait_f;
epoll_pwait_t epoll_pwait_f;
epoll_pwait2_t epoll_pwait2_f;
sleep_t sleep_f;
usleep_t usleep_f;
nanosleep_t nanosleep_f;
clock_nanosleep_t clock_nanosleep_f;
gethostbyname_t gethostbyname_f;
gethostbyname_r_t gethostbyname_r_f;
gethostbyname2_r_t gethostbyname2_r_f;
gethostbyaddr_t gethostbyaddr_f;
gethostbyaddr_r_t gethostbyaddr_r_f;
getaddrinfo_t getaddrinfo_f;
fdopen_t fdopen_f;
fclose_t fclose_f;
sigaction_t sigaction_f;

void coroutine_hook_init(void) {
  if (g_initialised) return;
  const bool dynamic = dlsym(RTLD_NEXT, "read") != nullptr;
  g_resolution = dynamic ? "dlsym(RTLD_NEXT)" : "static aliases";

  resolve<socket_t>(socket_f, "socket", nullptr, sys_socket);
  resolve<socketpair_t>(socketpair_f, "socketpair", nullptr, sys_socketpair);
  resolve<connect_t>(connect_f, "connect", __libc_connect, sys_connect);
  resolve<accept_t>(accept_f, "accept", __libc_accept, sys_accept);
  resolve<accept4_t>(accept4_f, "accept4", nullptr, sys_accept4);
  resolve<pipe_t>(pipe_f, "pipe", __pipe, sys_pipe);
  resolve<pipe2_t>(pipe2_f, "pipe2", nullptr, sys_pipe2);
  resolve<close_t>(close_f, "close", __libc_close, sys_close);
  resolve<dup_t>(dup_f, "dup", nullptr, sys_dup);
  resolve<dup2_t>(dup2_f, "dup2", __dup2, sys_dup2);
  resolve<dup3_t>(dup3_f, "dup3", nullptr, sys_dup3);
  resolve<fcntl_t>(fcntl_f, "fcntl", nullptr, sys_fcntl);
  resolve<ioctl_t>(ioctl_f, "ioctl", nullptr, sys_ioctl);
  resolve<setsockopt_t>(setsockopt_f, "setsockopt", nullptr, sys_setsockopt);
  resolve<getsockopt_t>(getsockopt_f, "getsockopt", nullptr, sys_getsockopt);
  resolve<read_t>(read_f, "read", __libc_read, sys_read);
  resolve<readv_t>(readv_f, "readv", __readv, sys_readv);
  resolve<recv_t>(recv_f, "recv", __libc_recv, sys_recv);
  resolve<recvfrom_t>(recvfrom_f, "recvfrom", __libc_recvfrom, sys_recvfrom);
  resolve<recvmsg_t>(recvmsg_f, "recvmsg", __libc_recvmsg, sys_recvmsg);
  resolve<write_t>(write_f, "write", __libc_write, sys_write);
  resolve<writev_t>(writev_f, "writev", __writev, sys_writev);
  resolve<send_t>(send_f, "send", __libc_send, sys_send);
  resolve<sendto_t>(sendto_f, "sendto", __libc_sendto, sys_sendto);
  resolve<sendmsg_t>(sendmsg_f, "sendmsg", __libc_sendmsg, sys_sendmsg);
  resolve<recvmmsg_t>(recvmmsg_f, "recvmmsg", nullptr, sys_recvmmsg);
  resolve<sendmmsg_t>(sendmmsg_f, "sendmmsg", nullptr, sys_sendmmsg);
  resolve<poll_t>(poll_f, "poll", __libc_poll, sys_poll);
  resolve<ppoll_t>(ppoll_f, "ppoll", nullptr, sys_ppoll);
  resolve<select_t>(select_f, "select", __libc_select, sys_select);
  resolve<pselect_t>(pselect_f, "pselect", nullptr, sys_pselect);
  resolve<epoll_wait_t>(epoll_wait_f, "epoll_wait", nullptr, sys_epoll_wait);
  resolve<epoll_pwait_t>(epoll_pwait_f, "epoll_pwait", nullptr, sys_epoll_pwait);
  // glibc before 2.35 has no epoll_pwait2: the system call, if the kernel has it.
  resolve<epoll_pwait2_t>(epoll_pwait2_f, "epoll_pwait2", nullptr, sys_epoll_pwait2);
  resolve<sleep_t>(sleep_f, "sleep", nullptr, sys_sleep);
  resolve<usleep_t>(usleep_f, "usleep", nullptr, sys_usleep);
  resolve<nanosleep_t>(nanosleep_f, "nanosleep", __nanosleep, sys_nanosleep);
  resolve<clock_nanosleep_t>(clock_nanosleep_f, "clock_nanosleep", nullptr, sys_clock_nanosleep);
  resolve<fdopen_t>(fdopen_f, "fdopen", _IO_new_fdopen, nullptr);
  resolve<fclose_t>(fclose_f, "fclose", _IO_new_fclose, nullptr);
  resolve<sigaction_t>(sigaction_f, "sigaction", __sigaction, nullptr);
  if (dynamic) {
    // The resolver has no static equivalent: glibc's static resolver loads
    // NSS modules dynamically anyway (see docs/hooks.md).
    resolve<gethostbyname_t>(gethostbyname_f, "gethostbyname", nullptr, nullptr);
    resolve<gethostbyname_r_t>(gethostbyname_r_f, "gethostbyname_r", nullptr, nullptr);
    resolve<gethostbyname2_r_t>(gethostbyname2_r_f, "gethostbyname2_r", nullptr, nullptr);
    resolve<gethostbyaddr_t>(gethostbyaddr_f, "gethostbyaddr", nullptr, nullptr);
    resolve<gethostbyaddr_r_t>(gethostbyaddr_r_f, "gethostbyaddr_r", nullptr, nullptr);
    resolve<getaddrinfo_t>(getaddrinfo_f, "getaddrinfo", nullptr, nullptr);
  }
  if (g_missing_count > 0) {
    std::fprintf(stderr, "coscope: coroutine_hook_init: no original found for:");
    for (int i = 0; i < g_missing_count; ++i) std::fprintf(stderr, " %s", g_missing[i]);
    std::fprintf(stderr, "\n");
    std::_Exit(127);
  }
#if defined(COSCOPE_WITH_TSAN)
  if (dynamic) warn_if_sanitizer_intercepts_first();
#endif
  g_initialised = true;
}

const char* coscope_hook_resolution(void) {
  return g_resolution;
}

}  // extern "C"

namespace {
// Resolve before main(): hooks may run in static constructors, too (each
// hook also calls coroutine_hook_init() if it finds its slot empty).
__attribute__((constructor(101))) void init_hooks_early() {
  coroutine_hook_init();
}
}  // namespace
