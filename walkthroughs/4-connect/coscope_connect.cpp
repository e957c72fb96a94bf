// Step 4: a coscope program built both ways, as weak_connect.c is: linked
// dynamically (coscope_connect_dynamic) and fully static
// (coscope_connect_static, -static). Each says how coroutine_hook_init found
// the originals and what connect_f is, then connects from a coroutine to a
// listener whose accept queue is full (as step4_connect_wait does): the
// connect parks until TCP's second SYN finds room, while an acceptor
// coroutine on the same thread looks at it in the task registry and makes
// the room.
//
//   $ build/walkthroughs/4-connect/coscope_connect_dynamic
//   $ build/walkthroughs/4-connect/coscope_connect_static
#include <coscope/coscope.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "stamped_print.h"

using walkthrough::tprintf;

// The originals table and how it was filled (hooks/originals.h).
extern "C" {
extern int (*connect_f)(int, const sockaddr*, socklen_t);
const char* coscope_hook_resolution(void);
int __libc_connect(int, const sockaddr*, socklen_t) __attribute__((weak));
}

namespace {

// connect_f, and which symbol of which file it is where dladdr can tell (a
// dynamic program; a static one has no dynamic symbol table to ask).
void show_connect_f() {
  const auto* address = reinterpret_cast<void*>(connect_f);
  Dl_info info{};
  if (dladdr(address, &info) != 0 && info.dli_sname != nullptr) {
    tprintf("main: connect_f %p = %s, in %s\n", address, info.dli_sname, info.dli_fname);
  } else {
    tprintf("main: connect_f %p; the weak __libc_connect is %p\n", address,
            reinterpret_cast<void*>(__libc_connect));
  }
}

// The connector's state, as gdb's info co would show it.
void show_connector(co::TaskId connector) {
  for (const co::TaskInfo& task : co::snapshot_tasks()) {
    if (task.id == connector) {
      tprintf("acceptor: the connector is %s, waiting for: %s\n", co::to_string(task.state),
              co::to_string(task.wait_reason));
    }
  }
}

}  // namespace

int main() {
#ifdef LINKED_STATICALLY
  tprintf("main: linked with -static; originals found by %s\n", coscope_hook_resolution());
#else
  tprintf("main: linked dynamically; originals found by %s\n", coscope_hook_resolution());
#endif
  show_connect_f();

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto* addr = reinterpret_cast<const sockaddr*>(&address);
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  socklen_t length = sizeof address;
  bind(listener, addr, sizeof address);
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  listen(listener, 0);
  const int first = socket(AF_INET, SOCK_STREAM, 0);
  connect(first, addr, sizeof address);  // fills the accept queue (no coroutine: passed through)

  const co::TaskId connector = co::spawn(
      [addr] {
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        tprintf("connector: connect(fd %d) to a listener whose accept queue is full\n", fd);
        const int r = connect(fd, addr, sizeof(sockaddr_in));
        tprintf("connector: connect returned %d\n", r);
        close(fd);
      },
      {"connector"});
  co::spawn(
      [listener, connector] {
        usleep(200'000);
        show_connector(connector);
        for (const char* whose : {"main's", "the connector's"}) {
          const int conn = accept(listener, nullptr, nullptr);
          tprintf("acceptor: accepted %s connection\n", whose);
          close(conn);
        }
      },
      {"acceptor"});
  co_sched.RunUntilNoTask();
  close(first);
  close(listener);
  return 0;
}
