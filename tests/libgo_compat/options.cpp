// co_opt.stack_size sets the stack of the tasks spawned afterwards.
#include <coscope/libgo.h>

#include <atomic>

#include "check.h"

namespace {

__attribute__((noinline)) int use_stack(std::size_t bytes) {
  auto* block = static_cast<volatile char*>(__builtin_alloca(bytes));
  for (std::size_t i = 0; i < bytes; i += 4096) block[i] = static_cast<char>(i);
  return block[bytes / 2];
}

}  // namespace

int main() {
  std::uint32_t before = co_opt.stack_size;
  CHECK(before == co::default_stack_size());
  CHECK(before < (1u << 20));

  co_opt.stack_size = 4 << 20;
  CHECK(co::default_stack_size() == (4u << 20));
  CHECK(static_cast<std::uint32_t>(co_opt.stack_size) == (4u << 20));

  std::atomic<bool> deep_ran{false};
  go[&] {
    use_stack(1 << 20);  // fits only in the larger default stack
    deep_ran = true;
    co_sched.Stop();
  };
  co_opt.debug = 0;  // accepted (libgo's debug flags), without effect here
  co_sched.Start(1);
  CHECK(deep_ran);
  std::printf("co_opt.stack_size: %u -> %u bytes\n", before,
              static_cast<std::uint32_t>(co_opt.stack_size));
  return 0;
}
