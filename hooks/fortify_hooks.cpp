// The fortified entry points: __read_chk, __recv_chk, __recvfrom_chk,
// __poll_chk, __ppoll_chk.
//
// A program built with -D_FORTIFY_SOURCE (every distribution's package
// flags, Ubuntu's gcc by default) calls these instead of read, recv,
// recvfrom, poll and ppoll wherever the compiler knows the buffer's size but
// not that the call stays within it. glibc's versions check the size, then
// call its own read (not the exported symbol), so without these a fortified
// program's calls would block the worker thread.
//
// Each does what glibc's does: the same check, failing through __chk_fail
// ("*** buffer overflow detected ***", abort), then the hooked call itself,
// whose probes fire as for a direct call.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>

#include "hook_families.h"

// glibc's public failure path of the fortified functions (GLIBC_2.3.4).
extern "C" [[noreturn]] void __chk_fail(void);

extern "C" {

ssize_t __read_chk(int fd, void* buf, size_t nbytes, size_t buflen) {
  if (nbytes > buflen) __chk_fail();
  return read(fd, buf, nbytes);
}

ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags) {
  if (len > buflen) __chk_fail();
  return recv(fd, buf, len, flags);
}

ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags,
                       struct sockaddr* addr, socklen_t* addrlen) {
  if (len > buflen) __chk_fail();
  return recvfrom(fd, buf, len, flags, addr, addrlen);
}

int __poll_chk(struct pollfd* fds, nfds_t nfds, int timeout, size_t fdslen) {
  if (fdslen / sizeof(*fds) < nfds) __chk_fail();
  return poll(fds, nfds, timeout);
}

int __ppoll_chk(struct pollfd* fds, nfds_t nfds, const struct timespec* timeout,
                const sigset_t* sigmask, size_t fdslen) {
  if (fdslen / sizeof(*fds) < nfds) __chk_fail();
  return ppoll(fds, nfds, timeout, sigmask);
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(fortify);  // see hook_families.h
