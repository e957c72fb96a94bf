// tprintf: printf with the milliseconds since the program started, as
// "[  123 ms] ", flushed at once. The walkthroughs' programs print through it:
// their output reaches walk through a pipe or a pseudo-terminal, and its
// timing is what a step shows.
#pragma once

#include <chrono>
#include <cstdarg>
#include <cstdio>

namespace walkthrough {

inline const std::chrono::steady_clock::time_point program_start = std::chrono::steady_clock::now();

__attribute__((format(printf, 1, 2))) inline void tprintf(const char* fmt, ...) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  program_start)
                .count();
  std::printf("[%5lld ms] ", static_cast<long long>(ms));
  va_list ap;
  va_start(ap, fmt);
  std::vprintf(fmt, ap);
  va_end(ap);
  std::fflush(stdout);
}

}  // namespace walkthrough
