// The resolver family: gethostbyname, gethostbyname_r, gethostbyname2_r,
// gethostbyaddr, gethostbyaddr_r, getaddrinfo.
//
// glibc's resolver reaches its sockets through internal calls that no hook
// sees, so in a coroutine each call runs on the blocking pool while the task
// parks (blocking_pool.h); errno and h_errno are carried back to the thread
// the task resumes on. Outside a coroutine they are plain pass-throughs.
#include <netdb.h>

#include <cerrno>
#include <type_traits>

#include "blocking_pool.h"
#include "hook_families.h"
#include "hook_probes.h"
#include "hook_support.h"

namespace {

using co::hooks::ensure_init;
using co::hooks::in_coroutine;

// h_errno of the thread the task is on now (its address, like errno's, must
// not be kept across the park: see co::detail::thread_errno).
__attribute__((noinline, noipa)) int& thread_h_errno() noexcept {
  return h_errno;
}

// Runs `call` on the blocking pool; returns its result with errno and h_errno.
// The caller's errno and h_errno travel to the pool thread first: a call
// that succeeds leaves them as they were, so they must come back unchanged,
// not as whatever the pool thread last held.
template <class Call>
std::invoke_result_t<Call&> on_blocking_pool(Call&& call) {
  using Result = std::invoke_result_t<Call&>;
  using Fn = std::remove_reference_t<Call>;
  struct Frame {
    Fn* call;
    Result result;
    int err;
    int herr;
  } frame{&call, Result{}, errno, h_errno};
  co::detail::run_blocking(
      [](void* p) {
        auto* f = static_cast<Frame*>(p);
        errno = f->err;
        h_errno = f->herr;
        f->result = (*f->call)();
        f->err = errno;
        f->herr = h_errno;
      },
      &frame);
  co::detail::thread_errno() = frame.err;
  thread_h_errno() = frame.herr;
  return frame.result;
}

// A resolver call: on the blocking pool in a coroutine, in place outside.
template <class Call>
std::invoke_result_t<Call&> resolve(Call call) {
  ensure_init();
  return in_coroutine() ? on_blocking_pool(call) : call();
}

}  // namespace

extern "C" {

struct hostent* gethostbyname(const char* name) {
  COSCOPE_HOOK_NO_SUBJECT(gethostbyname, resolve([&] { return gethostbyname_f(name); }));
}

int gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t buflen,
                    struct hostent** result, int* h_errnop) {
  COSCOPE_HOOK_NO_SUBJECT(gethostbyname_r, resolve([&] {
                            return gethostbyname_r_f(name, ret, buf, buflen, result, h_errnop);
                          }));
}

int gethostbyname2_r(const char* name, int af, struct hostent* ret, char* buf, size_t buflen,
                     struct hostent** result, int* h_errnop) {
  COSCOPE_HOOK_NO_SUBJECT(gethostbyname2_r, resolve([&] {
                            return gethostbyname2_r_f(name, af, ret, buf, buflen, result, h_errnop);
                          }));
}

struct hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
  COSCOPE_HOOK_NO_SUBJECT(gethostbyaddr, resolve([&] { return gethostbyaddr_f(addr, len, type); }));
}

int gethostbyaddr_r(const void* addr, socklen_t len, int type, struct hostent* ret, char* buf,
                    size_t buflen, struct hostent** result, int* h_errnop) {
  COSCOPE_HOOK_NO_SUBJECT(gethostbyaddr_r, resolve([&] {
                            return gethostbyaddr_r_f(addr, len, type, ret, buf, buflen, result,
                                                     h_errnop);
                          }));
}

int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                struct addrinfo** res) {
  COSCOPE_HOOK_NO_SUBJECT(getaddrinfo,
                          resolve([&] { return getaddrinfo_f(node, service, hints, res); }));
}

}  // extern "C"

COSCOPE_HOOK_FAMILY(dns);  // see hook_families.h
