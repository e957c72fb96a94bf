// co_mutex excludes tasks on different workers; co_rwmutex lets readers share
// it and writers have it alone, through its co_rmutex / co_wmutex views, and
// a waiting writer goes before new readers.
#include <coscope/libgo.h>

#include <atomic>
#include <mutex>

#include "check.h"

int main() {
  constexpr int kTasks = 8;
  constexpr int kRounds = 1000;
  std::atomic<int> finished{0};
  auto finish = [&finished] {
    if (++finished == kTasks + 4) co_sched.Stop();
  };

  // co_mutex: a non-atomic read-modify-write with a yield inside loses no
  // increment when the mutex is held around it.
  co_mutex mutex;
  long counter = 0;
  for (int t = 0; t < kTasks; ++t) {
    go[&] {
      for (int i = 0; i < kRounds; ++i) {
        std::lock_guard<co_mutex> lock(mutex);
        long seen = counter;
        if (i % 100 == 0) co_yield;
        counter = seen + 1;
      }
      finish();
    };
  }

  // co_rwmutex: two readers hold it at once; a writer waits for both.
  co_rwmutex rw;
  co_rmutex& reader = rw.Reader();
  co_wmutex& writer = rw.Writer();
  std::atomic<int> readers_inside{0};
  std::atomic<int> most_readers_inside{0};
  std::atomic<bool> writer_saw_reader{false};
  std::atomic<bool> try_read_while_writing{true};
  for (int r = 0; r < 2; ++r) {
    go[&] {
      std::lock_guard<co_rmutex> lock(reader);
      int inside = ++readers_inside;
      if (inside > most_readers_inside) most_readers_inside = inside;
      co_sleep(50);  // the other reader gets in meanwhile
      --readers_inside;
      finish();
    };
  }
  std::atomic<bool> reader_got_past_waiting_writer{true};
  go[&] {
    while (readers_inside < 2) co_sleep(1);  // both readers are in
    // Writers are preferred: once this one waits, a new reader must wait too.
    go[&] {
      co_sleep(10);  // the writer below is waiting by now
      reader_got_past_waiting_writer = rw.RTryLock();
      if (reader_got_past_waiting_writer) rw.RUnlock();
      finish();
    };
    {
      std::lock_guard<co_wmutex> lock(writer);
      writer_saw_reader = readers_inside != 0;
      try_read_while_writing = reader.try_lock();
      CHECK(rw.IsLock());
    }
    CHECK(!rw.IsLock());
    finish();
  };

  co_sched.Start(2);

  CHECK(counter == kTasks * kRounds);
  CHECK(most_readers_inside == 2);
  CHECK(!writer_saw_reader);
  CHECK(!try_read_while_writing);
  CHECK(!reader_got_past_waiting_writer);
  std::printf("co_mutex: %ld increments; co_rwmutex: 2 readers together, writer alone\n", counter);
  return 0;
}
