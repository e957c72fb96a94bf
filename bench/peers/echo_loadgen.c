// echo_loadgen: the one load generator every echo server in bench/peers/ is
// measured with (coscope, Go, the hand-written epoll server).
//
//   echo_loadgen --port P [--conns 100] [--warmup 1] [--seconds 5]
//                [--server-pid PID] [--cpu N] [--size 64]
//
// Design: one thread, one epoll set, level-triggered, non-blocking sockets.
// It opens --conns connections to 127.0.0.1:P (loopback only; the address is
// not an option), and keeps exactly one --size-byte message in flight on
// each: write it, read the echo back in full, write the next. A warm-up of
// --warmup seconds is run and discarded; then a timed window of --seconds
// counts completed round trips and records each one's latency. Around the
// window it reads the server's utime+stime from /proc/PID/stat, so the
// server's CPU time per request is (delta ticks / CLK_TCK) / requests.
//
// Output: one line of key=value pairs, for bench/peers/run to parse:
//   qps=... p50_us=... p99_us=... requests=... server_cpu_ns_per_req=...
//   client_cpu_pct=...
// (server_cpu_ns_per_req is -1 without --server-pid; client_cpu_pct is this
// process's own CPU use over the window: near 100, the client is what
// limits the QPS, not the server). Exit status 1 with a
// message on stderr when a connection fails or the server echoes wrong bytes.
//
// One client thread against one server thread: with many connections the
// client costs about as much CPU as the server, so pin the two to different
// CPUs (--cpu here, taskset for the server) or both are measured together.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxMessage = 4096 };

// One connection: the message in flight and how far it has got.
struct conn {
  int fd;
  size_t sent;       // bytes of the current message written so far
  size_t received;   // bytes of its echo read so far
  int64_t start_ns;  // when the current message's first byte was written
  int want_out;      // EPOLLOUT registered (a write was short)
};

// Latencies of the timed window, in ns; grows by doubling.
struct samples {
  int64_t* v;
  size_t n, cap;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void push(struct samples* s, int64_t x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 1 << 16;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (!s->v) die("realloc");
  }
  s->v[s->n++] = x;
}

static int cmp_i64(const void* a, const void* b) {
  int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
  return (x > y) - (x < y);
}

// utime+stime of process `pid` in clock ticks, or -1.
static long long cpu_ticks(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  // The command name (field 2) may hold spaces: fields are counted from
  // the last ')'. utime and stime are fields 14 and 15.
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long utime = 0, stime = 0;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return -1;
  return (long long)(utime + stime);
}

// This process's user+system CPU time, in ns.
static int64_t own_cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
         ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

// Adds or removes EPOLLOUT; EPOLLIN stays registered.
static void set_interest(int ep, struct conn* c, int want_out) {
  if (c->want_out == want_out) return;
  struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl");
  c->want_out = want_out;
}

// Writes what is left of the current message; registers EPOLLOUT if short.
static void send_rest(int ep, struct conn* c, const char* msg, size_t size) {
  while (c->sent < size) {
    ssize_t w = write(c->fd, msg + c->sent, size - c->sent);
    if (w > 0) {
      c->sent += (size_t)w;
    } else if (w < 0 && errno == EAGAIN) {
      set_interest(ep, c, 1);
      return;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      die("write");
    }
  }
  set_interest(ep, c, 0);
}

static void start_message(int ep, struct conn* c, const char* msg, size_t size) {
  c->sent = 0;
  c->received = 0;
  c->start_ns = now_ns();
  send_rest(ep, c, msg, size);
}

static void usage(const char* argv0) {
  fprintf(stderr,
          "usage: %s --port P [--conns N] [--warmup S] [--seconds S] [--server-pid PID]\n"
          "          [--cpu N] [--size BYTES]\n"
          "Loopback echo load: N connections, one message in flight on each.\n",
          argv0);
}

int main(int argc, char** argv) {
  int port = 0, conns = 100, server_pid = 0, cpu = -1;
  double warmup = 1, seconds = 5;
  size_t size = 64;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(argv[0]);
      return 0;
    }
    if (!v) {
      usage(argv[0]);
      return 2;
    }
    if (strcmp(a, "--port") == 0)
      port = atoi(v);
    else if (strcmp(a, "--conns") == 0)
      conns = atoi(v);
    else if (strcmp(a, "--warmup") == 0)
      warmup = atof(v);
    else if (strcmp(a, "--seconds") == 0)
      seconds = atof(v);
    else if (strcmp(a, "--server-pid") == 0)
      server_pid = atoi(v);
    else if (strcmp(a, "--cpu") == 0)
      cpu = atoi(v);
    else if (strcmp(a, "--size") == 0)
      size = (size_t)atol(v);
    else {
      usage(argv[0]);
      return 2;
    }
    ++i;
  }
  if (port <= 0 || port > 65535 || conns <= 0 || size == 0 || size > kMaxMessage || seconds <= 0) {
    usage(argv[0]);
    return 2;
  }
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
  }

  char msg[kMaxMessage], buf[kMaxMessage];
  for (size_t i = 0; i < size; ++i) msg[i] = (char)('a' + i % 26);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct conn* cs = calloc((size_t)conns, sizeof *cs);
  if (!cs) die("calloc");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < conns; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    // Blocking connect: on loopback it completes as soon as the kernel has
    // queued the connection for accept(); the server need not keep up.
    if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) die("fcntl");
    cs[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  }
  for (int i = 0; i < conns; ++i) start_message(ep, &cs[i], msg, size);

  // Phases: warm-up (nothing recorded), then the timed window.
  struct samples lat = {0};
  int64_t t0 = now_ns();
  int64_t window_start = t0 + (int64_t)(warmup * 1e9);
  int64_t window_end = window_start + (int64_t)(seconds * 1e9);
  int in_window = 0;
  long long ticks_start = -1, ticks_end = -1;
  uint64_t requests = 0;
  int64_t measured_ns = 0, client_cpu_ns = 0;
  struct epoll_event events[256];
  for (;;) {
    int64_t now = now_ns();
    if (!in_window && now >= window_start) {
      in_window = 1;
      window_start = now;
      window_end = now + (int64_t)(seconds * 1e9);
      if (server_pid > 0) ticks_start = cpu_ticks(server_pid);
      client_cpu_ns = -own_cpu_ns();
    }
    if (in_window && now >= window_end) {
      if (server_pid > 0) ticks_end = cpu_ticks(server_pid);
      measured_ns = now - window_start;
      client_cpu_ns += own_cpu_ns();
      break;
    }
    int n = epoll_wait(ep, events, 256, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int k = 0; k < n; ++k) {
      struct conn* c = events[k].data.ptr;
      if (events[k].events & EPOLLOUT) send_rest(ep, c, msg, size);
      if (!(events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
      ssize_t r = read(c->fd, buf, size - c->received);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        fprintf(stderr, "echo_loadgen: the server closed a connection (%s)\n",
                r == 0 ? "EOF" : strerror(errno));
        return 1;
      }
      if (memcmp(buf, msg + c->received, (size_t)r) != 0) {
        fprintf(stderr, "echo_loadgen: the server echoed different bytes\n");
        return 1;
      }
      c->received += (size_t)r;
      if (c->received < size) continue;
      if (in_window) {
        ++requests;
        push(&lat, now_ns() - c->start_ns);
      }
      start_message(ep, c, msg, size);
    }
  }

  double p50 = 0, p99 = 0;
  if (lat.n > 0) {
    qsort(lat.v, lat.n, sizeof *lat.v, cmp_i64);
    p50 = (double)lat.v[lat.n / 2] / 1e3;
    p99 = (double)lat.v[(size_t)((double)(lat.n - 1) * 0.99)] / 1e3;
  }
  double cpu_ns_per_req = -1;
  if (ticks_start >= 0 && ticks_end >= 0 && requests > 0)
    cpu_ns_per_req =
        (double)(ticks_end - ticks_start) * 1e9 / (double)sysconf(_SC_CLK_TCK) / (double)requests;
  printf(
      "qps=%.0f p50_us=%.1f p99_us=%.1f requests=%llu server_cpu_ns_per_req=%.0f "
      "client_cpu_pct=%.0f\n",
      (double)requests * 1e9 / (double)measured_ns, p50, p99, (unsigned long long)requests,
      cpu_ns_per_req, 100.0 * (double)client_cpu_ns / (double)measured_ns);
  for (int i = 0; i < conns; ++i) close(cs[i].fd);
  free(cs);
  free(lat.v);
  return 0;
}
