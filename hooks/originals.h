// The originals table: pointers to the libc functions our hooks replace.
//
// Names follow libgo (connect_f, read_f, poll_f, ...). coroutine_hook_init()
// fills the table once, before main() and again on demand (it is idempotent):
//   1. dlsym(RTLD_NEXT, name) - the next definition after ours in a
//      dynamically linked program (normally glibc's);
//   2. in a fully static program, where dlsym has nothing to search, glibc's
//      internal aliases (__libc_read, __read, __connect, ...), referenced
//      weakly so a dynamic link never needs them;
//   3. for plain system calls glibc exposes no alias for in a static
//      archive, or whose alias the static link did not pull in (a weak
//      reference takes no archive member: __libc_connect is there only if
//      something else needed glibc's connect), a direct system call wrapper.
// A function none of these resolve is a start-up error that names it.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

extern "C" {

using socket_t = int (*)(int, int, int);
using socketpair_t = int (*)(int, int, int, int*);
using connect_t = int (*)(int, const struct sockaddr*, socklen_t);
using accept_t = int (*)(int, struct sockaddr*, socklen_t*);
using accept4_t = int (*)(int, struct sockaddr*, socklen_t*, int);
using pipe_t = int (*)(int*);
using pipe2_t = int (*)(int*, int);
using close_t = int (*)(int);
using dup_t = int (*)(int);
using dup2_t = int (*)(int, int);
using dup3_t = int (*)(int, int, int);
using fcntl_t = int (*)(int, int, ...);
using ioctl_t = int (*)(int, unsigned long, ...);
using setsockopt_t = int (*)(int, int, int, const void*, socklen_t);
using getsockopt_t = int (*)(int, int, int, void*, socklen_t*);

using read_t = ssize_t (*)(int, void*, size_t);
using readv_t = ssize_t (*)(int, const struct iovec*, int);
using recv_t = ssize_t (*)(int, void*, size_t, int);
using recvfrom_t = ssize_t (*)(int, void*, size_t, int, struct sockaddr*, socklen_t*);
using recvmsg_t = ssize_t (*)(int, struct msghdr*, int);
using write_t = ssize_t (*)(int, const void*, size_t);
using writev_t = ssize_t (*)(int, const struct iovec*, int);
using send_t = ssize_t (*)(int, const void*, size_t, int);
using sendto_t = ssize_t (*)(int, const void*, size_t, int, const struct sockaddr*, socklen_t);
using sendmsg_t = ssize_t (*)(int, const struct msghdr*, int);
using recvmmsg_t = int (*)(int, struct mmsghdr*, unsigned int, int, struct timespec*);
using sendmmsg_t = int (*)(int, struct mmsghdr*, unsigned int, int);

using poll_t = int (*)(struct pollfd*, nfds_t, int);
using ppoll_t = int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*);
using select_t = int (*)(int, fd_set*, fd_set*, fd_set*, struct timeval*);
using pselect_t = int (*)(int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*);
using epoll_wait_t = int (*)(int, struct epoll_event*, int, int);
using epoll_pwait_t = int (*)(int, struct epoll_event*, int, int, const sigset_t*);
using epoll_pwait2_t = int (*)(int, struct epoll_event*, int, const struct timespec*,
                               const sigset_t*);

using sleep_t = unsigned int (*)(unsigned int);
using usleep_t = int (*)(useconds_t);
using nanosleep_t = int (*)(const struct timespec*, struct timespec*);
using clock_nanosleep_t = int (*)(clockid_t, int, const struct timespec*, struct timespec*);

using gethostbyname_t = struct hostent* (*)(const char*);
using gethostbyname_r_t = int (*)(const char*, struct hostent*, char*, size_t, struct hostent**,
                                  int*);
using gethostbyname2_r_t = int (*)(const char*, int, struct hostent*, char*, size_t,
                                   struct hostent**, int*);
using gethostbyaddr_t = struct hostent* (*)(const void*, socklen_t, int);
using gethostbyaddr_r_t = int (*)(const void*, socklen_t, int, struct hostent*, char*, size_t,
                                  struct hostent**, int*);
using getaddrinfo_t = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);

using fdopen_t = FILE* (*)(int, const char*);
using fclose_t = int (*)(FILE*);

using sigaction_t = int (*)(int, const struct sigaction*, struct sigaction*);

extern socket_t socket_f;
extern socketpair_t socketpair_f;
extern connect_t connect_f;
extern accept_t accept_f;
extern accept4_t accept4_f;
extern pipe_t pipe_f;
extern pipe2_t pipe2_f;
extern close_t close_f;
extern dup_t dup_f;
extern dup2_t dup2_f;
extern dup3_t dup3_f;
extern fcntl_t fcntl_f;
extern ioctl_t ioctl_f;
extern setsockopt_t setsockopt_f;
extern getsockopt_t getsockopt_f;
extern read_t read_f;
extern readv_t readv_f;
extern recv_t recv_f;
extern recvfrom_t recvfrom_f;
extern recvmsg_t recvmsg_f;
extern write_t write_f;
extern writev_t writev_f;
extern send_t send_f;
extern sendto_t sendto_f;
extern sendmsg_t sendmsg_f;
extern recvmmsg_t recvmmsg_f;
extern sendmmsg_t sendmmsg_f;
extern poll_t poll_f;
extern ppoll_t ppoll_f;
extern select_t select_f;
extern pselect_t pselect_f;
extern epoll_wait_t epoll_wait_f;
extern epoll_pwait_t epoll_pwait_f;
extern epoll_pwait2_t epoll_pwait2_f;
extern sleep_t sleep_f;
extern usleep_t usleep_f;
extern nanosleep_t nanosleep_f;
extern clock_nanosleep_t clock_nanosleep_f;
extern gethostbyname_t gethostbyname_f;
extern gethostbyname_r_t gethostbyname_r_f;
extern gethostbyname2_r_t gethostbyname2_r_f;
extern gethostbyaddr_t gethostbyaddr_f;
extern gethostbyaddr_r_t gethostbyaddr_r_f;
extern getaddrinfo_t getaddrinfo_f;
extern fdopen_t fdopen_f;
extern fclose_t fclose_f;
extern sigaction_t sigaction_f;

/// Resolves every original once; exits with a message naming any that is
/// missing. Runs before main(); calling it again does nothing.
void coroutine_hook_init(void);

/// How the originals were found: "dlsym(RTLD_NEXT)" or "static aliases".
const char* coscope_hook_resolution(void);
}
