// epoll_echo: the hand-written baseline echo server of bench/peers/.
//
//   epoll_echo [--port P]        (0 or absent: an ephemeral port)
//
// Design: one thread, one epoll set, level-triggered, non-blocking sockets,
// listening on 127.0.0.1 only. A readable connection is read once (up to
// 16 KiB) and what was read is written straight back; whatever the socket
// does not take at once waits in the connection's buffer with EPOLLOUT
// registered, and the connection is not read again until it has drained
// (so a client that stops reading cannot make the server buffer without
// bound). Level-triggered means one read per wake-up is enough: data left
// in the socket reports the fd again on the next epoll_wait. This is the
// straightforward server a C programmer writes; coscope's and Go's echo
// servers are measured against it.
//
// On start it prints "listening on 127.0.0.1:PORT" on stdout (flushed), so
// bench/peers/run learns an ephemeral port. It runs until killed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBuffer = 16384 };

// One client connection; the listener has none (its data.ptr is NULL).
struct conn {
  int fd;
  size_t pending_off;  // first byte of buf not yet written back
  size_t pending_len;  // bytes of buf still to write back
  char buf[kBuffer];
};

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void close_conn(int ep, struct conn* c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c);
}

static void watch(int ep, struct conn* c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(ep, op, c->fd, &ev) != 0) die("epoll_ctl");
}

// Writes the pending bytes. Returns 0 when all are written, 1 when the
// socket is full (EPOLLOUT now registered), -1 when the connection is gone.
static int flush(int ep, struct conn* c) {
  while (c->pending_len > 0) {
    ssize_t w = write(c->fd, c->buf + c->pending_off, c->pending_len);
    if (w > 0) {
      c->pending_off += (size_t)w;
      c->pending_len -= (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && errno == EAGAIN) {
      watch(ep, c, EPOLLOUT, EPOLL_CTL_MOD);
      return 1;
    } else {
      return -1;
    }
  }
  return 0;
}

static void accept_all(int ep, int listener) {
  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
      die("accept4");
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn* c = malloc(sizeof *c);
    if (!c) die("malloc");
    c->fd = fd;
    c->pending_off = c->pending_len = 0;
    watch(ep, c, EPOLLIN, EPOLL_CTL_ADD);
  }
}

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s [--port P]\nSingle-threaded epoll echo server on 127.0.0.1.\n",
              argv[0]);
      return strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) die("socket");
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0) die("bind");
  if (listen(listener, 4096) != 0) die("listen");
  socklen_t len = sizeof addr;
  if (getsockname(listener, (struct sockaddr*)&addr, &len) != 0) die("getsockname");
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev) != 0) die("epoll_ctl");

  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int k = 0; k < n; ++k) {
      struct conn* c = events[k].data.ptr;
      if (c == NULL) {
        accept_all(ep, listener);
        continue;
      }
      if (c->pending_len > 0) {  // waiting for room to write back
        int r = flush(ep, c);
        if (r < 0) close_conn(ep, c);
        if (r == 0) watch(ep, c, EPOLLIN, EPOLL_CTL_MOD);
        continue;
      }
      ssize_t r = read(c->fd, c->buf, sizeof c->buf);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        close_conn(ep, c);
        continue;
      }
      c->pending_off = 0;
      c->pending_len = (size_t)r;
      if (flush(ep, c) < 0) close_conn(ep, c);
    }
  }
}
