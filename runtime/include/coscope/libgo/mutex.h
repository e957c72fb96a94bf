// libgo's co_mutex and co_rwmutex (with its co_rmutex / co_wmutex views).
//
// co_mutex is co::Mutex under libgo's extra name for is_locked().
// co_rwmutex is a read-write lock built from a co::Mutex and two
// co::ConditionVariables, so waiting readers and writers park their task.
// Writers are preferred: once a writer waits, new readers wait behind it, so
// a steady stream of readers cannot starve writers. (libgo's constructor
// takes a writePriority flag and ignores it; so does this one.)
#pragma once

#include <cstddef>
#include <mutex>

#include "coscope/condition_variable.h"
#include "coscope/mutex.h"

namespace co {

class LibgoMutex : public Mutex {
 public:
  bool is_lock() const noexcept { return is_locked(); }
};

class LibgoRWMutex {
 public:
  /// Locks `rw` for reading: a BasicLockable for std::lock_guard.
  class ReadView {
   public:
    explicit ReadView(LibgoRWMutex& rw) : rw_(rw) {}
    ReadView(const ReadView&) = delete;
    ReadView& operator=(const ReadView&) = delete;
    void lock() { rw_.RLock(); }
    bool try_lock() { return rw_.RTryLock(); }
    void unlock() { rw_.RUnlock(); }
    bool is_lock() { return rw_.IsLock(); }

   private:
    LibgoRWMutex& rw_;
  };
  /// Locks `rw` for writing: a BasicLockable for std::lock_guard.
  class WriteView {
   public:
    explicit WriteView(LibgoRWMutex& rw) : rw_(rw) {}
    WriteView(const WriteView&) = delete;
    WriteView& operator=(const WriteView&) = delete;
    void lock() { rw_.WLock(); }
    bool try_lock() { return rw_.WTryLock(); }
    void unlock() { rw_.WUnlock(); }
    bool is_lock() { return rw_.IsLock(); }

   private:
    LibgoRWMutex& rw_;
  };

  explicit LibgoRWMutex(bool write_priority = true) { (void)write_priority; }
  LibgoRWMutex(const LibgoRWMutex&) = delete;
  LibgoRWMutex& operator=(const LibgoRWMutex&) = delete;

  void RLock() {
    std::unique_lock<Mutex> lock(mutex_);
    readers_may_enter_.wait(lock, [this] { return !writing_ && waiting_writers_ == 0; });
    ++readers_;
  }
  bool RTryLock() {
    std::lock_guard<Mutex> lock(mutex_);
    if (writing_ || waiting_writers_ > 0) return false;
    ++readers_;
    return true;
  }
  void RUnlock() {
    std::lock_guard<Mutex> lock(mutex_);
    if (--readers_ == 0) writer_may_enter_.notify_one();
  }
  void WLock() {
    std::unique_lock<Mutex> lock(mutex_);
    ++waiting_writers_;
    writer_may_enter_.wait(lock, [this] { return !writing_ && readers_ == 0; });
    --waiting_writers_;
    writing_ = true;
  }
  bool WTryLock() {
    std::lock_guard<Mutex> lock(mutex_);
    if (writing_ || readers_ > 0) return false;
    writing_ = true;
    return true;
  }
  void WUnlock() {
    std::lock_guard<Mutex> lock(mutex_);
    writing_ = false;
    if (waiting_writers_ > 0) {
      writer_may_enter_.notify_one();
    } else {
      readers_may_enter_.notify_all();
    }
  }
  /// True while anyone holds it, for reading or writing.
  bool IsLock() {
    std::lock_guard<Mutex> lock(mutex_);
    return writing_ || readers_ > 0;
  }

  ReadView& Reader() { return reader_; }
  WriteView& Writer() { return writer_; }
  ReadView& reader() { return reader_; }
  WriteView& writer() { return writer_; }

 private:
  Mutex mutex_;                          ///< guards the fields below
  ConditionVariable readers_may_enter_;  ///< no writer holds or waits
  ConditionVariable writer_may_enter_;   ///< nobody holds it
  std::size_t readers_ = 0;              ///< holding it for reading
  std::size_t waiting_writers_ = 0;      ///< parked in WLock()
  bool writing_ = false;                 ///< a writer holds it
  ReadView reader_{*this};
  WriteView writer_{*this};
};

using co_mutex = LibgoMutex;
using co_rwmutex = LibgoRWMutex;
using co_rmutex = LibgoRWMutex::ReadView;
using co_wmutex = LibgoRWMutex::WriteView;

}  // namespace co
