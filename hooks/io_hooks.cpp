// The read/write family: read, readv, recv, recvfrom, recvmsg, recvmmsg,
// write, writev, send, sendto, sendmsg, sendmmsg. Each is hooked_read /
// hooked_write (hook_support.h) around the original; POSIX semantics come
// from the kernel.
// Two per-call flags change the waiting: MSG_DONTWAIT (the caller wants
// EAGAIN at once, so the call goes straight to the kernel) and MSG_WAITALL
// (the caller wants the whole request, see hooked_read_all). Each hook fires
// its entry and exit probes (hook_probes.h).
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "hook_families.h"
#include "hook_probes.h"
#include "hook_support.h"

namespace {

using co::hooks::ensure_init;
using co::hooks::hooked_read;
using co::hooks::hooked_read_all;
using co::hooks::hooked_write;
using co::hooks::kept_errno;

std::size_t iov_total(const struct iovec* iov, int count) {
  std::size_t total = 0;
  if (iov == nullptr || count <= 0 || count > IOV_MAX) return 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  return total;
}

// The iovecs that remain after the first `done` bytes (copied, the caller's
// array is const).
std::vector<struct iovec> iov_after(const struct iovec* iov, int count, std::size_t done) {
  std::vector<struct iovec> rest;
  for (int i = 0; i < count; ++i) {
    if (done >= iov[i].iov_len) {
      done -= iov[i].iov_len;
      continue;
    }
    rest.push_back({static_cast<char*>(iov[i].iov_base) + done, iov[i].iov_len - done});
    done = 0;
  }
  return rest;
}

// The logic of the hooks with several ways out; each exported hook below
// wraps its logic in its entry and exit probes (hook_probes.h).

ssize_t recv_body(int fd, void* buf, size_t len, int flags) {
  ensure_init();
  if (flags & MSG_DONTWAIT) return recv_f(fd, buf, len, flags);
  if (flags & MSG_WAITALL && !(flags & MSG_PEEK)) {
    return hooked_read_all(fd, len, [&](std::size_t done) {
      return recv_f(fd, static_cast<char*>(buf) + done, len - done, flags);
    });
  }
  return hooked_read(fd, flags == 0 ? len : 0, [&] { return recv_f(fd, buf, len, flags); });
}

ssize_t recvfrom_body(int fd, void* buf, size_t len, int flags, struct sockaddr* addr,
                      socklen_t* addrlen) {
  ensure_init();
  if (flags & MSG_DONTWAIT) return recvfrom_f(fd, buf, len, flags, addr, addrlen);
  if (flags & MSG_WAITALL && !(flags & MSG_PEEK)) {
    return hooked_read_all(fd, len, [&](std::size_t done) {
      return recvfrom_f(fd, static_cast<char*>(buf) + done, len - done, flags, addr, addrlen);
    });
  }
  return hooked_read(fd, [&] { return recvfrom_f(fd, buf, len, flags, addr, addrlen); });
}

ssize_t recvmsg_body(int fd, struct msghdr* msg, int flags) {
  ensure_init();
  if (flags & MSG_DONTWAIT) return recvmsg_f(fd, msg, flags);
  if (flags & MSG_WAITALL && !(flags & MSG_PEEK) && msg != nullptr) {
    const std::size_t total = iov_total(msg->msg_iov, static_cast<int>(msg->msg_iovlen));
    return hooked_read_all(fd, total, [&](std::size_t done) {
      if (done == 0) return recvmsg_f(fd, msg, flags);
      // Later parts go to the iovecs that remain; the caller's msghdr keeps
      // what the first part reported (name, control data, flags).
      std::vector<struct iovec> rest =
          iov_after(msg->msg_iov, static_cast<int>(msg->msg_iovlen), done);
      struct msghdr tail {};
      tail.msg_iov = rest.data();
      tail.msg_iovlen = rest.size();
      return recvmsg_f(fd, &tail, flags);
    });
  }
  return hooked_read(fd, [&] { return recvmsg_f(fd, msg, flags); });
}

ssize_t send_body(int fd, const void* buf, size_t len, int flags) {
  ensure_init();
  if (flags & MSG_DONTWAIT) return send_f(fd, buf, len, flags);
  return hooked_write(fd, len, [&](std::size_t done) {
    return send_f(fd, static_cast<const char*>(buf) + done, len - done, flags);
  });
}

ssize_t sendto_body(int fd, const void* buf, size_t len, int flags, const struct sockaddr* addr,
                    socklen_t addrlen) {
  ensure_init();
  if (flags & MSG_DONTWAIT) return sendto_f(fd, buf, len, flags, addr, addrlen);
  return hooked_write(fd, len, [&](std::size_t done) {
    return sendto_f(fd, static_cast<const char*>(buf) + done, len - done, flags, addr, addrlen);
  });
}

ssize_t sendmsg_body(int fd, const struct msghdr* msg, int flags) {
  ensure_init();
  if (flags & MSG_DONTWAIT) return sendmsg_f(fd, msg, flags);
  std::size_t total =
      msg != nullptr ? iov_total(msg->msg_iov, static_cast<int>(msg->msg_iovlen)) : 0;
  return hooked_write(fd, total, [&](std::size_t done) {
    if (done == 0) return sendmsg_f(fd, msg, flags);
    // Ancillary data went with the first part; the rest is plain bytes.
    std::vector<struct iovec> rest =
        iov_after(msg->msg_iov, static_cast<int>(msg->msg_iovlen), done);
    struct msghdr tail = *msg;
    tail.msg_iov = rest.data();
    tail.msg_iovlen = rest.size();
    tail.msg_control = nullptr;
    tail.msg_controllen = 0;
    return sendmsg_f(fd, &tail, flags);
  });
}

// recvmmsg on a blocking socket is the kernel's loop of blocking recvmsg
// calls: it returns when all `vlen` messages came, when `timeout` (checked
// only after each message: it never ends a wait) has passed, or, with
// MSG_WAITFORONE, when no more is there after the first; an error after some
// messages returns their count. The non-blocking socket underneath gives
// what is there: the hook waits for more until then.
int recvmmsg_body(int fd, struct mmsghdr* vec, unsigned int vlen, int flags,
                  struct timespec* timeout) {
  ensure_init();
  if (flags & MSG_DONTWAIT) return recvmmsg_f(fd, vec, vlen, flags, timeout);
  co::detail::FdCtx* ctx = nullptr;
  if (co::hooks::choose_path(fd, &ctx) != co::hooks::Path::try_then_wait || vlen == 0) {
    return hooked_read(fd, [&] { return recvmmsg_f(fd, vec, vlen, flags, timeout); });
  }
  std::int64_t end = 0;  // the timeout's end (now_ns() time); 0: none
  if (timeout != nullptr) {
    // The kernel's answer to a bad timeout (EINVAL, EFAULT) comes at once.
    if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000) {
      return recvmmsg_f(fd, vec, vlen, flags, timeout);
    }
    end = co::detail::now_ns() + static_cast<std::int64_t>(timeout->tv_sec) * 1'000'000'000 +
          timeout->tv_nsec;
  }
  // SO_RCVTIMEO bounds each wait for a message, as it bounds each recvmsg.
  std::int64_t deadline = co::hooks::deadline_from(ctx->recv_timeout_ns);
  const int entry_errno = errno;  // before any wait: this thread's, read directly
  unsigned int done = 0;
  for (;;) {
    const int more = (flags & MSG_WAITFORONE) && done > 0 ? MSG_DONTWAIT : 0;
    const int n = recvmmsg_f(fd, vec + done, vlen - done, flags | more, nullptr);
    if (n > 0) {
      done += static_cast<unsigned int>(n);
      deadline = co::hooks::deadline_from(ctx->recv_timeout_ns);
      const bool expired = end != 0 && co::detail::now_ns() >= end;
      if (done == vlen || expired) break;
      continue;
    }
    if (n == 0) break;
    const int err = co::detail::thread_errno();
    if (done > 0 && (more != 0 || (err != EAGAIN && err != EWOULDBLOCK))) break;
    if (err != EAGAIN && err != EWOULDBLOCK) return -1;
    const int r = co::hooks::wait_ready(fd, POLLIN, deadline);
    if (r <= 0) {
      if (done > 0) break;
      if (r == 0) co::detail::thread_errno() = EAGAIN;  // SO_RCVTIMEO passed
      return -1;
    }
  }
  if (timeout != nullptr) {  // the kernel writes back the time left
    const std::int64_t left = std::max<std::int64_t>(end - co::detail::now_ns(), 0);
    timeout->tv_sec = static_cast<time_t>(left / 1'000'000'000);
    timeout->tv_nsec = static_cast<long>(left % 1'000'000'000);
  }
  return kept_errno(static_cast<int>(done), entry_errno);
}

std::size_t msg_total(const struct msghdr& msg) {
  return iov_total(msg.msg_iov, static_cast<int>(msg.msg_iovlen));
}

// sendmmsg on a blocking socket is the kernel's loop of blocking sendmsg
// calls: every message is sent whole; an error after some messages returns
// their count. On the non-blocking socket underneath, the hook waits when
// the buffer is full and, on a stream, finishes a message sent in part.
int sendmmsg_body(int fd, struct mmsghdr* vec, unsigned int vlen, int flags) {
  ensure_init();
  if (flags & MSG_DONTWAIT) return sendmmsg_f(fd, vec, vlen, flags);
  co::detail::FdCtx* ctx = nullptr;
  const co::hooks::Path path = co::hooks::choose_path(fd, &ctx);
  if (path == co::hooks::Path::pass_through || vlen == 0) return sendmmsg_f(fd, vec, vlen, flags);
  if (path == co::hooks::Path::wait_then_call) {
    return static_cast<int>(hooked_write(fd, 0, [&](std::size_t) {
      return static_cast<ssize_t>(sendmmsg_f(fd, vec, vlen, flags));
    }));
  }
  const std::int64_t deadline = co::hooks::deadline_from(ctx->send_timeout_ns);
  const int entry_errno = errno;  // before any wait: this thread's, read directly
  unsigned int done = 0;
  while (done < vlen) {
    const int n = sendmmsg_f(fd, vec + done, vlen - done, flags);
    if (n > 0) {
      done += static_cast<unsigned int>(n);
      struct mmsghdr& last = vec[done - 1];
      if (ctx->stream && last.msg_len < msg_total(last.msg_hdr)) {
        // The rest of a message sent in part: its plain bytes, as sendmsg's.
        std::vector<struct iovec> rest = iov_after(
            last.msg_hdr.msg_iov, static_cast<int>(last.msg_hdr.msg_iovlen), last.msg_len);
        struct msghdr tail {};
        tail.msg_iov = rest.data();
        tail.msg_iovlen = rest.size();
        const ssize_t more = sendmsg_body(fd, &tail, flags);
        if (more > 0) last.msg_len += static_cast<unsigned int>(more);
        if (more < 0 || last.msg_len < msg_total(last.msg_hdr)) break;
      }
      continue;
    }
    const int err = co::detail::thread_errno();
    if (err != EAGAIN && err != EWOULDBLOCK) {
      if (done > 0) break;
      return -1;
    }
    const int r = co::hooks::wait_ready(fd, POLLOUT, deadline);
    if (r <= 0) {
      if (done > 0) break;
      if (r == 0) co::detail::thread_errno() = EAGAIN;  // SO_SNDTIMEO passed
      return -1;
    }
  }
  return kept_errno(static_cast<int>(done), entry_errno);
}

}  // namespace

extern "C" {

ssize_t read(int fd, void* buf, size_t count) {
  COSCOPE_HOOK(read, fd, hooked_read(fd, count, [&] { return read_f(fd, buf, count); }));
}

ssize_t readv(int fd, const struct iovec* iov, int iovcnt) {
  COSCOPE_HOOK(readv, fd,
               hooked_read(fd, iov_total(iov, iovcnt), [&] { return readv_f(fd, iov, iovcnt); }));
}

ssize_t recv(int fd, void* buf, size_t len, int flags) {
  COSCOPE_HOOK(recv, fd, recv_body(fd, buf, len, flags));
}

ssize_t recvfrom(int fd, void* buf, size_t len, int flags, struct sockaddr* addr,
                 socklen_t* addrlen) {
  COSCOPE_HOOK(recvfrom, fd, recvfrom_body(fd, buf, len, flags, addr, addrlen));
}

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  COSCOPE_HOOK(recvmsg, fd, recvmsg_body(fd, msg, flags));
}

ssize_t write(int fd, const void* buf, size_t count) {
  COSCOPE_HOOK(write, fd, hooked_write(fd, count, [&](std::size_t done) {
                 return write_f(fd, static_cast<const char*>(buf) + done, count - done);
               }));
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  COSCOPE_HOOK(writev, fd, hooked_write(fd, iov_total(iov, iovcnt), [&](std::size_t done) {
                 if (done == 0) return writev_f(fd, iov, iovcnt);
                 std::vector<struct iovec> rest = iov_after(iov, iovcnt, done);
                 return writev_f(fd, rest.data(), static_cast<int>(rest.size()));
               }));
}

ssize_t send(int fd, const void* buf, size_t len, int flags) {
  COSCOPE_HOOK(send, fd, send_body(fd, buf, len, flags));
}

ssize_t sendto(int fd, const void* buf, size_t len, int flags, const struct sockaddr* addr,
               socklen_t addrlen) {
  COSCOPE_HOOK(sendto, fd, sendto_body(fd, buf, len, flags, addr, addrlen));
}

ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  COSCOPE_HOOK(sendmsg, fd, sendmsg_body(fd, msg, flags));
}

int recvmmsg(int fd, struct mmsghdr* vec, unsigned int vlen, int flags, struct timespec* timeout) {
  COSCOPE_HOOK(recvmmsg, fd, recvmmsg_body(fd, vec, vlen, flags, timeout));
}

int sendmmsg(int fd, struct mmsghdr* vec, unsigned int vlen, int flags) {
  COSCOPE_HOOK(sendmmsg, fd, sendmmsg_body(fd, vec, vlen, flags));
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(io);  // see hook_families.h
