// co_chan<T>: copies share one channel; << and >> wait; capacity, TryPush /
// TryPop, timed operations and Close behave as libgo's.
#include <coscope/libgo.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "check.h"

using std::chrono::milliseconds;
using std::chrono::steady_clock;

int main() {
  std::atomic<int> finished{0};  // tasks done; the last one stops co_sched
  auto finish = [&finished] {
    if (++finished == 5) co_sched.Stop();
  };

  // Unbuffered, captured by value: a rendezvous between two tasks.
  co_chan<int> numbers;
  std::vector<int> received;
  go[=] {
    for (int i = 1; i <= 3; ++i) numbers << i;
    numbers.Close();
  };
  go[=, &received, &finish] {
    int value = 0;
    try {
      for (;;) {
        numbers >> value;
        received.push_back(value);
      }
    } catch (const std::runtime_error&) {
      received.push_back(-1);  // >> on a closed, drained channel throws
    }
    finish();
  };

  // Capacity: two values fit, a third does not; TryPop drains in order.
  co_chan<int> buffered(2);
  bool third_fitted = true;
  int first = 0, second = 0;
  bool popped_from_empty = true;
  go[=, &third_fitted, &first, &second, &popped_from_empty, &finish] {
    CHECK(buffered.capacity() == 2);
    CHECK(buffered.TryPush(10) && buffered.TryPush(20));
    third_fitted = buffered.TryPush(30);
    CHECK(buffered.size() == 2);
    CHECK(buffered.TryPop(first) && buffered.TryPop(second));
    int ignored = 0;
    popped_from_empty = buffered.TryPop(ignored);
    finish();
  };

  // Timeouts: nothing arrives, so TimedPop gives up after its duration;
  // a full channel makes TimedPush give up.
  co_chan<int> silent(1);
  bool timed_pop = true, timed_push = true;
  steady_clock::duration pop_waited{};
  go[=, &timed_pop, &timed_push, &pop_waited, &finish] {
    int value = 0;
    auto began = steady_clock::now();
    timed_pop = silent.TimedPop(value, milliseconds(30));
    pop_waited = steady_clock::now() - began;
    silent << 1;
    timed_push = silent.TimedPush(2, milliseconds(10));
    finish();
  };

  // Close keeps buffered values for the receivers; then pop returns false.
  co_chan<int> closing(4);
  int drained = 0;
  bool pop_after_drain = true, push_after_close = true;
  go[=, &drained, &pop_after_drain, &push_after_close, &finish] {
    closing << 7;
    closing.Close();
    push_after_close = closing.push(8);
    CHECK(closing.pop(drained));
    int more = 0;
    pop_after_drain = closing.pop(more);
    finish();
  };

  // co_chan<void>: signals, sent and received as nullptr.
  co_chan<void> done(1);
  bool signalled = false;
  go[=, &signalled, &finish] {
    done << nullptr;
    done >> nullptr;
    signalled = true;
    finish();
  };

  // The copies all name one channel: only the last handle is Unique().
  co_chan<int> shared;
  CHECK(shared.Unique());
  {
    co_chan<int> copy = shared;
    CHECK(!shared.Unique());
  }
  CHECK(shared.Unique());

  co_sched.Start(2);  // until the last task calls Stop()

  CHECK((received == std::vector<int>{1, 2, 3, -1}));
  CHECK(!third_fitted && first == 10 && second == 20 && !popped_from_empty);
  CHECK(!timed_pop && pop_waited >= milliseconds(30) && !timed_push);
  CHECK(drained == 7 && !pop_after_drain && !push_after_close);
  CHECK(signalled);
  std::printf("co_chan: rendezvous, capacity, Try*, Timed*, Close and copies checked\n");
  return 0;
}
