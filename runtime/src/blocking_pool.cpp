#include "blocking_pool.h"

#include <sched.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "coscope/detail/park.h"

namespace co {
namespace detail {
namespace {

struct Job {
  void (*fn)(void*);
  void* arg;
  WaitTicket ticket;
  std::atomic<bool> done{false};  ///< set by the pool thread after fn returns
};

class BlockingPool {
 public:
  void Submit(Job* job) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(job);
    if (idle_ == 0 && started_ < kBlockingPoolThreads) {
      ++started_;
      std::thread([this] { Work(); }).detach();
    }
    cv_.notify_one();
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      ++idle_;
      cv_.wait(lock, [this] { return !queue_.empty(); });
      --idle_;
      Job* job = queue_.front();
      queue_.pop_front();
      lock.unlock();
      job->fn(job->arg);
      WaitTicket ticket = job->ticket;
      job->done.store(true, std::memory_order_release);
      // From here on `job` (on the task's stack) may be gone.
      wake(ticket, Waker::blocking_pool);
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  int started_ = 0;
  int idle_ = 0;
};

BlockingPool& pool() {
  static BlockingPool* instance = new BlockingPool();  // threads outlive statics
  return *instance;
}

}  // namespace

void run_blocking(void (*fn)(void*), void* arg) noexcept {
  if (current_task() == nullptr) {
    fn(arg);
    return;
  }
  Job job;
  job.fn = fn;
  job.arg = arg;
  job.ticket = prepare_park();
  pool().Submit(&job);
  // Only the pool thread wakes this park. park() returns early only when the
  // scheduler is being destroyed; the pool thread still writes into `job`
  // then, so wait for it without parking.
  park(TaskState::sys_block, WaitReason::blocking_call, &job, 0, nullptr, /*unwindable=*/false);
  while (!job.done.load(std::memory_order_acquire)) sched_yield();
}

}  // namespace detail
}  // namespace co
