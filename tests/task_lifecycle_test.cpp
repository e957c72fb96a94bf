// A task's life: the spawn forms, ids, names and creation sites, closures
// (copied, moved, destroyed once), stack sizes, fatal reports (uncaught
// exception, stack overflow), unwinding when a scheduler is destroyed, and
// the trace log.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <coscope/coscope.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "debug/task_registry.h"  // the stack of a task (runtime/src)
#include "park_word.h"            // the Processer's side of parking (runtime/src)
#include "stack_pool.h"           // set_guard_budget_for_testing (runtime/src)
#include "test_util.h"
#include "test_watchdog.h"
#include "worker_fixture.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using coscope_test::Eventually;
using coscope_test::MsSince;
using coscope_test::NoCoreDumps;
using coscope_test::TraceEnvSet;

std::optional<co::TaskInfo> FindTask(co::TaskId id) {
  for (co::TaskInfo& t : co::snapshot_tasks()) {
    if (t.id == id) return std::move(t);
  }
  return std::nullopt;
}

std::size_t CountTasksOf(const co::Scheduler* s) {
  std::size_t n = 0;
  for (const co::TaskInfo& t : co::snapshot_tasks()) n += t.scheduler == s;
  return n;
}

/// Counts its own destruction exactly once: a moved-from Counted counts nothing.
class Counted {
 public:
  Counted(std::atomic<int>* created, std::atomic<int>* destroyed) : destroyed_(destroyed) {
    created->fetch_add(1);
  }
  Counted(Counted&& other) noexcept : destroyed_(std::exchange(other.destroyed_, nullptr)) {}
  Counted& operator=(Counted&&) = delete;
  ~Counted() {
    if (destroyed_ != nullptr) destroyed_->fetch_add(1);
  }

 private:
  std::atomic<int>* destroyed_;
};

// ---- spawn forms, ids, this_task::id ----------------------------------------

int g_free_runs = 0;
co::TaskId g_free_seen = 0;
void FreeFunction() {
  ++g_free_runs;
  g_free_seen = co::this_task::id();
}

struct Functor {
  int* runs;
  co::TaskId* seen;
  std::shared_ptr<int> payload;
  void operator()() const {
    ++*runs;
    *seen = co::this_task::id();
  }
};

TEST(Spawn, EveryGoFormRunsOnceAndSeesItsOwnId) {
  EXPECT_EQ(co::this_task::id(), 0u);
  ASSERT_EQ(co_sched.LiveTaskCount(), 0u);
  g_free_runs = 0;

  int lambda_runs = 0, temp_runs = 0, named_runs = 0, spawn_runs = 0;
  co::TaskId lambda_seen = 0, temp_seen = 0, named_seen = 0, spawn_seen = 0;
  auto payload = std::make_shared<int>(7);
  Functor named{&named_runs, &named_seen, payload};

  const co::TaskId a = go[&] {
    ++lambda_runs;
    lambda_seen = co::this_task::id();
  };
  const co::TaskId b = go FreeFunction;
  const co::TaskId c = go Functor{&temp_runs, &temp_seen, nullptr};
  const co::TaskId d = go named;  // copied: `named` stays usable
  const co::TaskId e = co::spawn(
      [&] {
        ++spawn_runs;
        spawn_seen = co::this_task::id();
      },
      {.name = "with-options", .stack_size = 256 * 1024, .scheduler = &co_sched});

  EXPECT_GT(a, 0u);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_LT(d, e);
  EXPECT_EQ(co_sched.LiveTaskCount(), 5u);
  EXPECT_EQ(payload.use_count(), 3) << "the spawned copy of `named` holds the payload";
  EXPECT_EQ(named.payload, payload);
  EXPECT_EQ(lambda_runs + g_free_runs + temp_runs + named_runs + spawn_runs, 0)
      << "tasks ran before the scheduler did";

  co_sched.RunUntilNoTask();

  EXPECT_EQ(lambda_runs, 1);
  EXPECT_EQ(g_free_runs, 1);
  EXPECT_EQ(temp_runs, 1);
  EXPECT_EQ(named_runs, 1);
  EXPECT_EQ(spawn_runs, 1);
  EXPECT_EQ(lambda_seen, a);
  EXPECT_EQ(g_free_seen, b);
  EXPECT_EQ(temp_seen, c);
  EXPECT_EQ(named_seen, d);
  EXPECT_EQ(spawn_seen, e);
  EXPECT_EQ(payload.use_count(), 2) << "the finished task's closure was not destroyed";
  EXPECT_EQ(co_sched.LiveTaskCount(), 0u);
  EXPECT_EQ(co::this_task::id(), 0u);
}

TEST(Spawn, IdsIncreaseAcrossSchedulersAndThreads) {
  co::Scheduler s;
  std::vector<co::TaskId> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(co::spawn([] {}, {.scheduler = &s}));
  co::TaskId from_thread = 0;
  std::thread([&] { from_thread = co::spawn([] {}, {.scheduler = &s}); }).join();
  ids.push_back(from_thread);
  ids.push_back(go[]{});
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());

  // Nested: ids handed out inside tasks keep increasing, and a task sees its own.
  std::vector<std::pair<co::TaskId, co::TaskId>> returned_vs_seen;
  co::spawn(
      [&] {
        for (int i = 0; i < 3; ++i) {
          auto slot = returned_vs_seen.size();
          returned_vs_seen.emplace_back(0, 0);
          returned_vs_seen[slot].first =
              co::spawn([&, slot] { returned_vs_seen[slot].second = co::this_task::id(); },
                        {.scheduler = &s});
        }
      },
      {.scheduler = &s});
  s.RunUntilNoTask();
  co_sched.RunUntilNoTask();
  ASSERT_EQ(returned_vs_seen.size(), 3u);
  for (const auto& [returned, seen] : returned_vs_seen) {
    EXPECT_GT(returned, ids.back());
    EXPECT_EQ(returned, seen);
  }
}

TEST(Spawn, NameAndCreationSiteVisibleInSnapshot) {
  co::Scheduler s;
  // clang-format off
  const int go_line = __LINE__; const co::TaskId a = go[] {};
  const int spawn_line = __LINE__; const co::TaskId b = co::spawn([] {}, {.name = "reader", .scheduler = &s});
  // clang-format on

  auto ta = FindTask(a);
  auto tb = FindTask(b);
  ASSERT_TRUE(ta.has_value());
  ASSERT_TRUE(tb.has_value());

  EXPECT_EQ(ta->name, "");
  ASSERT_NE(ta->created_file, nullptr);
  EXPECT_STREQ(ta->created_file, __FILE__);
  EXPECT_EQ(ta->created_line, go_line);
  EXPECT_EQ(ta->scheduler, &co_sched);
  EXPECT_EQ(ta->state, co::TaskState::runnable);
  EXPECT_EQ(ta->wait_reason, co::WaitReason::none);

  EXPECT_EQ(tb->name, "reader");
  ASSERT_NE(tb->created_file, nullptr);
  EXPECT_STREQ(tb->created_file, __FILE__);
  EXPECT_EQ(tb->created_line, spawn_line);
  EXPECT_EQ(tb->scheduler, &s);

  // Seen from inside the task too.
  std::optional<co::TaskInfo> inside;
  co::spawn([&] { inside = FindTask(co::this_task::id()); }, {.name = "self", .scheduler = &s});
  s.RunUntilNoTask();
  co_sched.RunUntilNoTask();
  ASSERT_TRUE(inside.has_value());
  EXPECT_EQ(inside->name, "self");
  EXPECT_EQ(inside->state, co::TaskState::runnable);
  EXPECT_EQ(inside->scheduler, &s);

  EXPECT_FALSE(FindTask(a).has_value()) << "finished tasks leave the registry";
  EXPECT_FALSE(FindTask(b).has_value());
}

TEST(Spawn, LongNamesAreTruncatedTo31Bytes) {
  co::Scheduler s;
  const std::string long_name(40, 'x');
  const co::TaskId id = co::spawn([] {}, {.name = long_name, .scheduler = &s});
  auto t = FindTask(id);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->name, std::string(31, 'x'));
  s.RunUntilNoTask();
}

// ---- closures ---------------------------------------------------------------

TEST(Closure, MoveOnlyCaptureIsDestroyedExactlyOnceAfterTheTaskRan) {
  co::Scheduler s;
  std::atomic<int> created{0}, destroyed{0};
  int destroyed_while_running = -1;
  co::spawn([c = Counted(&created, &destroyed), &destroyed,
             &destroyed_while_running] { destroyed_while_running = destroyed.load(); },
            {.scheduler = &s});
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(destroyed.load(), 0);
  s.RunUntilNoTask();
  EXPECT_EQ(destroyed_while_running, 0);
  EXPECT_EQ(destroyed.load(), 1);
}

TEST(Closure, LargeAndOverAlignedClosures) {
  co::Scheduler s;
  struct alignas(128) Aligned {
    unsigned char bytes[300];
  };
  Aligned big{};
  for (std::size_t i = 0; i < sizeof big.bytes; ++i) big.bytes[i] = static_cast<unsigned char>(i);
  bool content_ok = false;
  std::uintptr_t address = 1;
  co::spawn(
      [big, &content_ok, &address] {
        address = reinterpret_cast<std::uintptr_t>(&big);
        content_ok = true;
        for (std::size_t i = 0; i < sizeof big.bytes; ++i) {
          content_ok = content_ok && big.bytes[i] == static_cast<unsigned char>(i);
        }
      },
      {.scheduler = &s});
  s.RunUntilNoTask();
  EXPECT_TRUE(content_ok);
  EXPECT_EQ(address % 128, 0u) << "captured object misaligned";
}

// A callable whose copy throws: spawn() rethrows and leaves nothing behind.
TEST(Closure, ThrowingCopyLeavesNoTask) {
  struct Bomb {
    bool* armed;
    explicit Bomb(bool* a) : armed(a) {}
    Bomb(const Bomb& other) : armed(other.armed) {
      if (*armed) throw std::runtime_error("copy refused");
    }
  };
  co::Scheduler s;
  bool armed = false;
  bool ran = false;
  auto fn = [bomb = Bomb(&armed), &ran] { ran = true; };
  armed = true;
  const std::size_t before = co::live_task_count();
  EXPECT_THROW(co::spawn(fn, {.scheduler = &s}), std::runtime_error);
  EXPECT_EQ(co::live_task_count(), before);
  EXPECT_EQ(s.LiveTaskCount(), 0u);
  armed = false;
  const co::TaskId next = co::spawn(fn, {.scheduler = &s});
  EXPECT_GT(next, 0u);
  s.RunUntilNoTask();
  EXPECT_TRUE(ran);
}

// ---- fatal reports ------------------------------------------------------------

class DeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(DeathTest, UncaughtExceptionIsReportedWithTaskIdentity) {
  EXPECT_DEATH(
      {
        NoCoreDumps();
        co::Scheduler s;
        co::spawn([] { throw std::runtime_error("boom"); }, {.name = "thrower", .scheduler = &s});
        s.RunUntilNoTask();
      },
      "uncaught exception in task #[0-9]+ \"thrower\".*boom");
}

// Outside the death-test macro, so the spawn line is this file's line, not
// the macro invocation's.
// clang-format off
const int kKaputtLine = __LINE__; void SpawnKaputt(co::Scheduler* s) { co::spawn([] { throw std::logic_error("kaputt"); }, {.name = "t2", .scheduler = s}); }
// clang-format on

TEST_F(DeathTest, UncaughtExceptionNamesTheCreationSite) {
  EXPECT_DEATH(
      {
        NoCoreDumps();
        co::Scheduler s;
        SpawnKaputt(&s);
        s.Start(2);
        s.WaitUntilNoTask();
      },
      "uncaught exception in task #[0-9]+ \"t2\" \\(created at [^)]*task_lifecycle_test\\.cpp:" +
          std::to_string(kKaputtLine) + "[,)].*kaputt");
}

TEST_F(DeathTest, NonStandardExceptionIsReportedToo) {
  EXPECT_DEATH(
      {
        NoCoreDumps();
        co::Scheduler s;
        co::spawn([] { throw 42; }, {.name = "odd", .scheduler = &s});
        s.RunUntilNoTask();
      },
      "uncaught exception in task #[0-9]+ \"odd\".*not a std::exception");
}

volatile int g_depth_limit = 1 << 30;  // volatile: the recursion cannot be proven endless

// Recursion the compiler cannot flatten: each frame holds a 1 KiB volatile
// array written from its top down, and uses the callee's result.
__attribute__((noinline)) int Recurse(int depth) {
  volatile char pad[1024];
  for (int i = static_cast<int>(sizeof pad) - 1; i >= 0; i -= 64) pad[i] = static_cast<char>(depth);
  int below = depth < g_depth_limit ? Recurse(depth + 1) : 0;
  return below + pad[depth % static_cast<int>(sizeof pad)];
}

// Uses about `bytes` of stack in 2 KiB frames, touched from the top down so an
// overflow first hits the guard page below the stack.
__attribute__((noinline)) int UseStack(std::size_t bytes) {
  volatile char pad[2048];
  for (int i = static_cast<int>(sizeof pad) - 1; i >= 0; i -= 64) pad[i] = 1;
  pad[0] = 1;  // the loop's stride does not reach it
  int below = bytes > sizeof pad ? UseStack(bytes - sizeof pad) : 0;
  return below + pad[0];
}

TEST_F(DeathTest, StackOverflowIsReportedWithTaskIdentity) {
  EXPECT_EXIT(
      {
        NoCoreDumps();
        co::Scheduler s;
        co::spawn([] { Recurse(0); },
                  {.name = "overflower", .stack_size = 64 * 1024, .scheduler = &s});
        s.RunUntilNoTask();
      },
      ::testing::KilledBySignal(SIGSEGV), "stack overflow in task #[0-9]+ \"overflower\"");
}

TEST_F(DeathTest, StackOverflowOnAWorkerThread) {
  EXPECT_EXIT(
      {
        NoCoreDumps();
        co::Scheduler s;
        co::spawn([] { Recurse(0); }, {.name = "deep", .stack_size = 64 * 1024, .scheduler = &s});
        s.Start(2);
        s.WaitUntilNoTask();
      },
      ::testing::KilledBySignal(SIGSEGV), "stack overflow in task #[0-9]+ \"deep\"");
}

// ---- overflows of stacks without a guard page ----------------------------------
//
// Past the guard-page budget (a quarter of vm.max_map_count, two mappings per
// stack) stacks have no guard page, only a canary; set_guard_budget_for_testing
// gets there without thousands of live tasks. Each test sets it in the death
// test's child, so that the stacks it maps are unguarded and no other test's.
//
// What lies below a stack is up to the kernel: often another task's stack,
// sometimes a thread's or nothing. A test whose overflow must land in writable
// memory first maps some just below the task's stack (LandingZoneBelowOwnStack);
// such a task has a 1 MiB stack, larger than the holes between the libraries'
// mappings where a small one may be put with no room below it.
constexpr std::size_t kRoomyStack = 1024 * 1024;

/// Starts `workers` threads on `s` and returns once each has run a task, so
/// that what a worker maps as it starts (its signal stack, its malloc arena)
/// is mapped before the test's own stacks, never just below one of them.
void StartWarm(co::Scheduler& s, int workers) {
  s.Start(workers);
  std::mutex mutex;
  std::set<std::thread::id> threads;
  for (int round = 0; round < 1000 && threads.size() < static_cast<std::size_t>(workers); ++round) {
    for (int i = 0; i < workers; ++i) {
      co::spawn(
          [&] {
            co::this_task::sleep_for(1ms);
            std::lock_guard<std::mutex> lock(mutex);
            threads.insert(std::this_thread::get_id());
          },
          {.stack_size = 16 * 1024, .scheduler = &s});
    }
    s.WaitUntilNoTask();
  }
}

/// Spawns the tasks (spawn_tasks()) and runs them on `workers` threads of
/// `s` until none is left.
template <class SpawnTasks>
void RunOn(co::Scheduler& s, int workers, SpawnTasks spawn_tasks) {
  if (workers == 1) {
    spawn_tasks();
    s.RunUntilNoTask();
    return;
  }
  StartWarm(s, workers);
  spawn_tasks();
  s.WaitUntilNoTask();
}

/// True when the process died of SIGSEGV. Under AddressSanitizer a fault
/// that coscope hands on goes to ASan's own handler, which exits with 1.
bool DiedOfSegv(int status) {
#if defined(COSCOPE_WITH_ASAN)
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) return true;
#endif
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

/// These tests write past a stack into memory that is not the task's on
/// purpose. Under AddressSanitizer that memory is ASan's own (it maps its
/// allocator's regions right below the stacks) or another task's poisoned
/// frames, and ASan reports the write itself, before coscope can.
#if defined(COSCOPE_WITH_ASAN)
#define SKIP_UNDER_ASAN() GTEST_SKIP() << "ASan reports the stray write itself"
#else
#define SKIP_UNDER_ASAN() (void)0
#endif

/// The same for the tests whose fault ThreadSanitizer's own SIGSEGV handler
/// takes first (it exits 66 with handle_segv=1, its default), or whose
/// landing zone below the stack TSan's mappings can leave no room for.
#if defined(COSCOPE_WITH_TSAN)
#define SKIP_UNDER_TSAN() \
  GTEST_SKIP() << "ThreadSanitizer takes the fault first and may leave no room below the stack"
#else
#define SKIP_UNDER_TSAN() (void)0
#endif

/// True if [from, to) lies in one readable and writable mapping
/// (/proc/self/maps).
bool WritableMapping(const char* from, const char* to) {
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return false;
  bool found = false;
  unsigned long lo = 0, hi = 0;
  char perms[8] = {};
  char line[512];
  while (!found && std::fgets(line, sizeof line, maps) != nullptr) {
    if (std::sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
    found = lo <= reinterpret_cast<std::uintptr_t>(from) &&
            reinterpret_cast<std::uintptr_t>(to) <= hi && perms[0] == 'r' && perms[1] == 'w';
  }
  std::fclose(maps);
  return found;
}

/// Makes sure `bytes` of writable memory lie just below the calling task's
/// stack, so that an overflow of up to that much writes there instead of
/// into whatever the kernel put below: an unguarded stack carved from a slab
/// has the slab's unused slots below it; otherwise a mapping is made there.
/// Exits the (death test's) process if the place is taken.
void LandingZoneBelowOwnStack(std::size_t bytes) {
  char* base = nullptr;
  const co::TaskId me = co::this_task::id();
  co::detail::task_registry().ForEach([&](const co::detail::Task& t) {
    if (t.id == me) base = static_cast<char*>(t.stack.base);
  });
  if (base != nullptr && WritableMapping(base - bytes, base)) return;
  void* zone = mmap(base - bytes, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (base == nullptr || zone != base - bytes) {
    std::fprintf(stderr, "test setup: no room below the task's stack\n");
    std::_Exit(3);
  }
}

std::atomic<int> g_phase{0};
int* volatile g_nowhere = nullptr;  // volatile: the crash below cannot be optimised away

/// Spins on `g_phase` (no switch-out) until it reaches `phase`.
void SpinUntilPhase(int phase) {
  while (g_phase.load() < phase) {
  }
}

// Uses about `bytes` of stack in 2 KiB frames, writing every byte of them (as
// an overflow that writes all it passes through), then calls at_bottom().
__attribute__((noinline)) int FillStack(std::size_t bytes, void (*at_bottom)()) {
  volatile char pad[2048];
  for (std::size_t i = sizeof pad; i-- > 0;) pad[i] = static_cast<char>(i);
  int below = 0;
  if (bytes > sizeof pad) {
    below = FillStack(bytes - sizeof pad, at_bottom);
  } else {
    at_bottom();
  }
  return below + pad[bytes % sizeof pad];
}

// A frame larger than the whole (1 MiB) stack, whose only write is at its
// top: it skips the canary, and the task switches out with its stack pointer
// below its stack.
__attribute__((noinline)) int YieldInAHugeFrame() {
  volatile char big[kRoomyStack + 32 * 1024];
  big[sizeof big - 1] = 1;
  co::this_task::yield();
  return big[sizeof big - 1];
}

// Nothing is mapped for it below: the fault comes with the stack pointer below
// the stack (where the old handler, looking for a guard page, said nothing).
TEST_F(DeathTest, OverflowOfAnUnguardedStackIsReportedWithTaskIdentity) {
  for (int workers : {1, 2}) {
    EXPECT_EXIT(
        {
          NoCoreDumps();
          co::detail::set_guard_budget_for_testing(0);
          co::Scheduler s;
          RunOn(s, workers, [&] {
            co::spawn([] { Recurse(0); },
                      {.name = "overflower", .stack_size = 64 * 1024, .scheduler = &s});
          });
        },
        ::testing::KilledBySignal(SIGSEGV), "stack overflow in task #[0-9]+ \"overflower\"")
        << workers << " workers";
  }
}

// The overflowing task's stack is unguarded, the neighbour's mapped after it
// (usually just below) is guarded: an overflow that runs through the
// neighbour's stack into its guard page is reported as the overflowing task's,
// never as the neighbour's.
TEST_F(DeathTest, OverflowIntoANeighboursGuardPageNamesTheOverflowingTask) {
  SKIP_UNDER_ASAN();
  for (int workers : {1, 2}) {
    EXPECT_EXIT(
        {
          NoCoreDumps();
          co::detail::set_guard_budget_for_testing(0);
          co::Scheduler s;
          RunOn(s, workers, [&] {
            co::spawn(
                [&s] {
                  co::detail::set_guard_budget_for_testing(~std::size_t{0});  // the real one
                  co::spawn(
                      [] {
                        g_phase = 1;
                        co::this_task::sleep_for(60s);
                      },
                      {.name = "neighbour", .stack_size = 64 * 1024, .scheduler = &s});
                  while (g_phase.load() < 1) co::this_task::yield();
                  Recurse(0);
                },
                {.name = "overflower", .stack_size = 64 * 1024, .scheduler = &s});
          });
        },
        ::testing::KilledBySignal(SIGSEGV),
        "stack overflow in task #[0-9]+ \"overflower\" \\(created at [^)]*\\)\n")
        << workers << " workers";
  }
}

// The issue's case: an overflow writes into memory that is not its own, and
// another task crashes (at pc 0, or anywhere) before the overflowing one
// switches out. The two run on workers of their own (two schedulers, one
// worker each); the report at the other task's fault names the task whose
// canary is broken.
TEST_F(DeathTest, FaultInAnotherTaskReportsTheOverflowNotYetSwitchedOut) {
  SKIP_UNDER_ASAN();
  SKIP_UNDER_TSAN();
  EXPECT_EXIT(
      {
        NoCoreDumps();
        co::detail::set_guard_budget_for_testing(0);
        co::Scheduler a;
        co::Scheduler b;
        StartWarm(a, 1);
        StartWarm(b, 1);
        co::spawn(
            [] {
              LandingZoneBelowOwnStack(64 * 1024);
              FillStack(kRoomyStack + 16 * 1024, [] {
                g_phase = 1;
                SpinUntilPhase(2);  // never: it stays 16 KiB below its stack
              });
            },
            {.name = "overflower", .stack_size = kRoomyStack, .scheduler = &a});
        // The victim's stack is mapped only once the landing zone is there,
        // so the kernel cannot put it in that place first.
        while (g_phase.load() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        co::spawn([] { *g_nowhere = 1; },
                  {.name = "victim", .stack_size = 64 * 1024, .scheduler = &b});
        b.WaitUntilNoTask();
      },
      DiedOfSegv,
      "stack overflow in task #[0-9]+ \"overflower\" \\(created at [^)]*\\) \\(canary "
      "overwritten\\), found at a fault in task #[0-9]+ \"victim\"");
}

// An overflow that comes back before its task switches out is caught at the
// switch-out by the canary: a whole cache line, at 1 and 2 workers.
TEST_F(DeathTest, OverflowOfAnUnguardedStackIsCaughtAtTheSwitchOut) {
  SKIP_UNDER_ASAN();
  SKIP_UNDER_TSAN();
  for (int workers : {1, 2}) {
    EXPECT_EXIT(
        {
          NoCoreDumps();
          co::detail::set_guard_budget_for_testing(0);
          co::Scheduler s;
          RunOn(s, workers, [&] {
            co::spawn(
                [] {
                  LandingZoneBelowOwnStack(64 * 1024);
                  FillStack(kRoomyStack + 16 * 1024, [] {});
                  co::this_task::yield();
                },
                {.name = "overflower", .stack_size = kRoomyStack, .scheduler = &s});
          });
        },
        ::testing::KilledBySignal(SIGABRT),
        "stack overflow in task #[0-9]+ \"overflower\" \\(created at [^)]*\\) \\(canary "
        "overwritten; stack without guard page\\)")
        << workers << " workers";
  }
}

// A frame larger than the stack skips the canary (and would skip a guard
// page) when it writes nothing at the bottom; a task that switches out inside
// it has its stack pointer below its stack. On one worker it switches by
// Processer::Yield's direct hand-off to the next started task; on two,
// through Run (another processer is idle).
TEST_F(DeathTest, SwitchingOutInsideAnOverflowingFrameIsReported) {
  SKIP_UNDER_ASAN();
  SKIP_UNDER_TSAN();
  for (int workers : {1, 2}) {
    EXPECT_EXIT(
        {
          NoCoreDumps();
          co::detail::set_guard_budget_for_testing(0);
          co::Scheduler s;
          RunOn(s, workers, [&] {
            co::spawn(
                [&s, workers] {
                  LandingZoneBelowOwnStack(64 * 1024);
                  if (workers == 1) {  // a started task to hand off to
                    co::spawn(
                        [] {
                          while (g_phase.load() == 0) co::this_task::yield();
                        },
                        {.name = "other", .stack_size = 64 * 1024, .scheduler = &s});
                    co::this_task::yield();
                  }
                  YieldInAHugeFrame();
                  g_phase = 1;
                },
                {.name = "parker", .stack_size = kRoomyStack, .scheduler = &s});
          });
        },
        ::testing::KilledBySignal(SIGABRT),
        "stack overflow in task #[0-9]+ \"parker\" \\(created at [^)]*\\) \\(switched out with "
        "its stack pointer outside its stack\\)")
        << workers << " workers";
  }
}

// ---- stack clash ----------------------------------------------------------------
//
// A frame larger than the guard page used to skip it: a 300 KiB array on a
// 128 KiB stack wrote into the stacks mapped below, other tasks', silently.
// Built against coscope::coscope, this file gets -fstack-clash-protection:
// each page of the frame is touched as it is allocated, from the top down, so
// the first one past the stack faults in its guard page.

// The frame: a 300 KiB array, written at its lowest element only.
__attribute__((noinline)) int ClashingFrame() {
  volatile char big[300 * 1024];
  big[0] = 1;
  return big[0];
}

TEST_F(DeathTest, FrameLargerThanTheStackIsReportedAsItsOverflow) {
#if !COSCOPE_TEST_COMPILER_HAS_STACK_CLASH_PROTECTION
  GTEST_SKIP() << "the compiler has no -fstack-clash-protection";
#else
  ASSERT_TRUE(COSCOPE_TEST_GETS_STACK_CLASH_PROTECTION)
      << "coscope::coscope did not give this test -fstack-clash-protection";
  for (int workers : {1, 2}) {
    EXPECT_EXIT(
        {
          NoCoreDumps();
          co::Scheduler s;
          RunOn(s, workers, [&] {
            co::spawn(
                [&s] {
                  // Two parked neighbours, their stacks mapped after (below)
                  // ours; the array's lowest element lies in the second.
                  for (const char* name : {"neighbour1", "neighbour2"}) {
                    co::spawn(
                        [] {
                          g_phase.fetch_add(1);
                          co::this_task::sleep_for(200ms);
                        },
                        {.name = name, .stack_size = 128 * 1024, .scheduler = &s});
                  }
                  while (g_phase.load() < 2) co::this_task::yield();
                  ClashingFrame();
                },
                {.name = "clasher", .stack_size = 128 * 1024, .scheduler = &s});
          });
        },
        ::testing::KilledBySignal(SIGSEGV),
        "stack overflow in task #[0-9]+ \"clasher\" \\(created at [^)]*\\)\n")
        << workers << " workers";
  }
#endif
}

// ---- stack sizes --------------------------------------------------------------

TEST(StackSize, SpawnOptionStackSizeAllowsALargeFrame) {
  co::Scheduler s;
  long sum = -1;
  co::spawn(
      [&] {
        volatile char big[200 * 1024];
        for (std::size_t i = sizeof big; i-- > 0;) big[i] = static_cast<char>(i & 0x7f);
        long total = 0;
        for (std::size_t i = 0; i < sizeof big; i += 4096) total += big[i];
        sum = total;
      },
      {.name = "big-frame", .stack_size = 1024 * 1024, .scheduler = &s});
  s.RunUntilNoTask();
  EXPECT_GE(sum, 0);
}

TEST(StackSize, SpawnOptionStackSizeAllowsDeepRecursion) {
  co::Scheduler s;
  int r = -1;
  co::spawn([&] { r = UseStack(200 * 1024); }, {.stack_size = 1024 * 1024, .scheduler = &s});
  s.RunUntilNoTask();
  EXPECT_GT(r, 0);
}

TEST_F(DeathTest, DefaultStackIsTooSmallForThatRecursion) {
  ASSERT_EQ(co::default_stack_size(), 128u * 1024);
  EXPECT_EXIT(
      {
        NoCoreDumps();
        co::Scheduler s;
        co::spawn([] { UseStack(200 * 1024); }, {.name = "small", .scheduler = &s});
        s.RunUntilNoTask();
      },
      ::testing::KilledBySignal(SIGSEGV), "stack overflow in task #[0-9]+ \"small\"");
}

TEST(StackSize, SetDefaultStackSizeAppliesToLaterTasks) {
  const std::size_t saved = co::default_stack_size();
  EXPECT_EQ(saved, 128u * 1024) << "the documented initial default";
  co::set_default_stack_size(1024 * 1024);
  EXPECT_EQ(co::default_stack_size(), 1024u * 1024);
  co::Scheduler s;
  int r = -1;
  co::spawn([&] { r = UseStack(200 * 1024); }, {.scheduler = &s});
  go[&] {
    r += UseStack(200 * 1024);
  };
  s.RunUntilNoTask();
  co_sched.RunUntilNoTask();
  co::set_default_stack_size(1);  // clamped to the minimum
  EXPECT_EQ(co::default_stack_size(), 16u * 1024);
  co::set_default_stack_size(saved);
  EXPECT_EQ(co::default_stack_size(), saved);
  EXPECT_GT(r, 0);
}

/// What spawn() with `stack_size` throws, or "no exception".
std::string SpawnError(co::Scheduler* s, std::size_t stack_size, std::atomic<int>* created,
                       std::atomic<int>* destroyed, std::atomic<int>* ran) {
  try {
    co::spawn([c = Counted(created, destroyed), ran] { ran->fetch_add(1); },
              {.name = "huge", .stack_size = stack_size, .scheduler = s});
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no exception";
}

// SIZE_MAX used to wrap to 0 in page rounding and crash with no message.
TEST(StackSize, AbsurdStackSizesAreRefusedAtSpawn) {
  static_assert(co::kMaxStackSize == std::size_t{1} << 40, "the documented limit: 1 TiB");
  co::Scheduler s;
  std::atomic<int> created{0}, destroyed{0}, ran{0};
  for (std::size_t size :
       {SIZE_MAX, SIZE_MAX - 4095, std::size_t{1} << 48, co::kMaxStackSize + 1}) {
    EXPECT_EQ(SpawnError(&s, size, &created, &destroyed, &ran),
              "coscope: stack_size of " + std::to_string(size) +
                  " bytes is larger than the maximum, 1099511627776 bytes (1 TiB)");
  }
  // Nothing of the refused tasks remains: no task, each closure destroyed once.
  EXPECT_EQ(s.LiveTaskCount(), 0u);
  EXPECT_EQ(created.load(), 4);
  EXPECT_EQ(destroyed.load(), 4);
  EXPECT_EQ(SpawnError(&s, 256 * 1024, &created, &destroyed, &ran), "no exception");
  s.RunUntilNoTask();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(destroyed.load(), 5);
}

TEST(StackSize, SetDefaultStackSizeRefusesAbsurdSizes) {
  const std::size_t saved = co::default_stack_size();
  for (std::size_t size : {SIZE_MAX, std::size_t{1} << 48, co::kMaxStackSize + 1}) {
    std::string what = "no exception";
    try {
      co::set_default_stack_size(size);
    } catch (const std::invalid_argument& e) {
      what = e.what();
    }
    EXPECT_EQ(what, "coscope: default stack size of " + std::to_string(size) +
                        " bytes is larger than the maximum, 1099511627776 bytes (1 TiB)");
    EXPECT_EQ(co::default_stack_size(), saved);
  }
  co::set_default_stack_size(co::kMaxStackSize);  // the limit itself is allowed
  EXPECT_EQ(co::default_stack_size(), co::kMaxStackSize);
  co::set_default_stack_size(saved);
}

/// Leaves the process 1 GiB of address space beyond what it has mapped now,
/// so that a much larger stack cannot be mapped.
void LimitAddressSpace() {
  unsigned long long vm_kib = 0;
  if (FILE* f = std::fopen("/proc/self/status", "re")) {
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      if (std::sscanf(line, "VmSize: %llu kB", &vm_kib) == 1) break;
    }
    std::fclose(f);
  }
  const rlim_t limit = (vm_kib << 10) + (rlim_t{1} << 30);
  rlimit as{limit, limit};
  setrlimit(RLIMIT_AS, &as);
}

// A stack the kernel refuses is reported with the size asked for (it used to
// say "stack 0 bytes"), on the thread of RunUntilNoTask and on a worker.
TEST_F(DeathTest, StackTheKernelRefusesIsReportedWithTheSizeAsked) {
  const std::string expected =
      "cannot allocate a stack for the task \\(Cannot allocate memory\\): task #[0-9]+ "
      "\"huge\" \\(created at [^,]*task_lifecycle_test\\.cpp:[0-9]+, stack 68719476736 bytes\\)";
  EXPECT_EXIT(
      {
        NoCoreDumps();
        LimitAddressSpace();
        co::Scheduler s;
        co::spawn([] {}, {.name = "huge", .stack_size = std::size_t{64} << 30, .scheduler = &s});
        s.RunUntilNoTask();
      },
      ::testing::KilledBySignal(SIGABRT), expected);
  EXPECT_EXIT(
      {
        NoCoreDumps();
        LimitAddressSpace();
        co::Scheduler s;
        co::spawn([] {}, {.name = "huge", .stack_size = std::size_t{64} << 30, .scheduler = &s});
        s.Start(2);
        s.WaitUntilNoTask();
      },
      ::testing::KilledBySignal(SIGABRT), expected);
}

// ---- destroying a scheduler -------------------------------------------------

// Tasks parked in every way, plus tasks that never ran: destroying the
// scheduler runs each destructor exactly once (stack locals and captures),
// never resumes the task body, and does not wait for the 10 s timeouts.
TEST(SchedulerDestruction, UnwindsParkedTasksAndFreesUnstartedOnes) {
  coscope_test::Watchdog watchdog("SchedulerDestruction.UnwindsParkedTasksAndFreesUnstartedOnes");
  std::atomic<int> created{0}, destroyed{0}, parked{0}, resumed{0}, never_ran_ran{0};
  const std::size_t base = co::live_task_count();
  co::Channel<int> ch;    // outlives the scheduler
  co::WaitGroup forever;  // ditto
  forever.add(1);
  auto s = std::make_unique<co::Scheduler>();
  const co::Scheduler* addr = s.get();
  auto spawn_parked = [&](const char* name, auto wait) {
    co::spawn(
        [c = Counted(&created, &destroyed), &created, &destroyed, &parked, &resumed, wait] {
          Counted on_stack(&created, &destroyed);
          parked++;
          wait();
          resumed++;
        },
        {.name = name, .scheduler = s.get()});
  };
  for (int i = 0; i < 4; ++i) {
    spawn_parked("sleeper", [] { co::this_task::sleep_for(10s); });
    spawn_parked("receiver", [&ch] { ch.recv(); });
    spawn_parked("timed-receiver", [&ch] { ch.recv_for(10s); });
    spawn_parked("group-waiter", [&forever] { forever.wait(); });
    spawn_parked("yielder", [] {
      for (;;) co::this_task::yield();
    });
  }
  constexpr int kParked = 20;
  s->Start(2);
  EXPECT_TRUE(Eventually([&] { return parked.load() == kParked; }));
  EXPECT_TRUE(Eventually([&] { return ch.waiting_receivers() == 8; }));
  s->Stop();

  for (int i = 0; i < 5; ++i) {
    co::spawn([c = Counted(&created, &destroyed), &never_ran_ran] { never_ran_ran++; },
              {.name = "never-ran", .scheduler = s.get()});
  }
  EXPECT_EQ(s->LiveTaskCount(), kParked + 5u);
  EXPECT_EQ(created.load(), 2 * kParked + 5);
  EXPECT_EQ(destroyed.load(), 0);

  const auto t0 = Clock::now();
  s.reset();
  const auto ms = MsSince(t0);

  EXPECT_LT(ms, 2000) << "destruction waited for the tasks' timeouts";
  EXPECT_EQ(resumed.load(), 0) << "a task body continued after its wait";
  EXPECT_EQ(never_ran_ran.load(), 0);
  EXPECT_EQ(destroyed.load(), created.load());
  EXPECT_EQ(CountTasksOf(addr), 0u);
  EXPECT_EQ(co::live_task_count(), base);
  EXPECT_EQ(ch.waiting_receivers(), 0u);
  forever.done();
}

// Destroyed while still started (no Stop() first), right after spawning.
TEST(SchedulerDestruction, WhileStartedWithSleepersAndFreshTasks) {
  coscope_test::Watchdog watchdog("SchedulerDestruction.WhileStartedWithSleepersAndFreshTasks");
  std::atomic<int> created{0}, destroyed{0}, parked{0};
  const std::size_t base = co::live_task_count();
  auto s =
      std::make_unique<co::Scheduler>(co::SchedulerOptions{co::SchedulingPolicyKind::round_robin});
  s->Start(3);
  for (int i = 0; i < 30; ++i) {
    co::spawn(
        [c = Counted(&created, &destroyed), &created, &destroyed, &parked] {
          Counted local(&created, &destroyed);
          parked++;
          co::co_sleep(10'000);
        },
        {.name = "late", .scheduler = s.get()});
  }
  EXPECT_TRUE(Eventually([&] { return parked.load() == 30; }));
  for (int i = 0; i < 30; ++i) {
    co::spawn([c = Counted(&created, &destroyed)] { co::co_sleep(10'000); },
              {.name = "maybe-ran", .scheduler = s.get()});
  }
  const auto t0 = Clock::now();
  s.reset();
  EXPECT_LT(MsSince(t0), 2000);
  EXPECT_EQ(destroyed.load(), created.load());
  EXPECT_GE(created.load(), 90);
  EXPECT_EQ(co::live_task_count(), base);
}

// A scheduler that never ran: its queued tasks are freed, never run.
TEST(SchedulerDestruction, NeverStartedSchedulerFreesItsTasks) {
  coscope_test::Watchdog watchdog("SchedulerDestruction.NeverStartedSchedulerFreesItsTasks");
  std::atomic<int> created{0}, destroyed{0}, ran{0};
  const std::size_t base = co::live_task_count();
  {
    co::Scheduler s;
    for (int i = 0; i < 100; ++i) {
      co::spawn([c = Counted(&created, &destroyed), &ran] { ran++; }, {.scheduler = &s});
    }
    EXPECT_EQ(co::live_task_count(), base + 100);
  }
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(created.load(), 100);
  EXPECT_EQ(destroyed.load(), 100);
  EXPECT_EQ(co::live_task_count(), base);
}

// ---- tracing -------------------------------------------------------------------

TEST(Tracing, OffByDefaultPrintsNothing) {
  if (TraceEnvSet()) GTEST_SKIP() << "COSCOPE_TRACE is set in the environment";
  EXPECT_FALSE(co::tracing());
  co::Scheduler s;
  ::testing::internal::CaptureStderr();
  co::spawn(
      [] {
        co::this_task::yield();
        co::this_task::sleep_for(1ms);
      },
      {.name = "quiet", .scheduler = &s});
  s.RunUntilNoTask();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "");
}

TEST(Tracing, LogsCreatedSwapInSwapOutAndDone) {
  if (TraceEnvSet()) GTEST_SKIP() << "COSCOPE_TRACE is set in the environment";
  co::Scheduler s;
  ::testing::internal::CaptureStderr();
  co::set_tracing(true);
  EXPECT_TRUE(co::tracing());
  const co::TaskId id = co::spawn(
      [] {
        co::this_task::yield();
        co::this_task::sleep_for(1ms);
      },
      {.name = "tracee", .scheduler = &s});
  s.RunUntilNoTask();
  co::set_tracing(false);
  const std::string err = ::testing::internal::GetCapturedStderr();
  const std::string task = "task " + std::to_string(id);
  auto lines_with = [&](const std::string& what) {
    int n = 0;
    std::size_t pos = 0;
    while (pos < err.size()) {
      std::size_t end = err.find('\n', pos);
      if (end == std::string::npos) end = err.size();
      std::string line = err.substr(pos, end - pos);
      if (line.find(task + " ") != std::string::npos && line.find(what) != std::string::npos) ++n;
      pos = end + 1;
    }
    return n;
  };
  EXPECT_EQ(lines_with("created"), 1) << err;
  EXPECT_EQ(lines_with("\"tracee\""), 1) << err;
  EXPECT_EQ(lines_with("swap in"), 3) << err;  // start, after the yield, after the sleep
  EXPECT_EQ(lines_with("swap out"), 3) << err;
  EXPECT_EQ(lines_with("swap out: runnable"), 1) << err;
  EXPECT_EQ(lines_with("swap out: sleep"), 1) << err;
  EXPECT_EQ(lines_with("swap out: done"), 1) << err;
  EXPECT_EQ(lines_with(task + " done"), 1) << err;  // the life cycle's end
  // Order: created < first swap in < done.
  EXPECT_LT(err.find(task + " \"tracee\" created"), err.find(task + " swap in")) << err;
  EXPECT_LT(err.find(task + " swap in"), err.rfind(task + " done")) << err;

  // Off again: silent.
  ::testing::internal::CaptureStderr();
  co::spawn([] {}, {.scheduler = &s});
  s.RunUntilNoTask();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// ---- names of states ---------------------------------------------------------

TEST(TaskState, NamesForDebuggersAndLogs) {
  EXPECT_STREQ(co::to_string(co::TaskState::runnable), "runnable");
  EXPECT_STREQ(co::to_string(co::TaskState::io_block), "io_block");
  EXPECT_STREQ(co::to_string(co::TaskState::sleep), "sleep");
  EXPECT_STREQ(co::to_string(co::TaskState::sys_block), "sys_block");
  EXPECT_STREQ(co::to_string(co::TaskState::done), "done");
  EXPECT_STREQ(co::to_string(co::WaitReason::sleep), "sleep");
  EXPECT_STREQ(co::to_string(co::WaitReason::channel_recv), "channel recv");
  EXPECT_STREQ(co::to_string(static_cast<co::TaskState>(99)), "invalid");
}

}  // namespace

// ---- exception state belongs to the task ---------------------------------------
//
// The C++ runtime keeps the exceptions being handled (what `throw;` and
// std::current_exception() see) and std::uncaught_exceptions() per thread.
// Tasks share threads, and a task may resume on another one, so the runtime
// saves and restores that state at every switch: each task sees its own.

namespace {

class TaskExceptionState : public coscope_test::WorkersTest {};

// Each task throws its own exception, yields (and sleeps) inside the catch
// block while the others do the same, then rethrows with `throw;`.
TEST_P(TaskExceptionState, RethrowInsideACatchBlockAfterYieldingRethrowsTheTasksOwnException) {
  coscope_test::Watchdog wd("rethrow after yield", std::chrono::seconds(60));
  constexpr int kTasks = 200;
  std::vector<std::string> rethrown(kTasks), current(kTasks);
  RunAll([&] {
    for (int i = 0; i < kTasks; ++i) {
      Spawn([&, i] {
        const std::string mine = "task " + std::to_string(i);
        try {
          try {
            throw std::runtime_error(mine);
          } catch (const std::runtime_error&) {
            co::this_task::yield();
            co::this_task::sleep_for(std::chrono::milliseconds(i % 3));
            co::this_task::yield();
            try {
              std::rethrow_exception(std::current_exception());
            } catch (const std::runtime_error& e) {
              current[i] = e.what();
            }
            throw;
          }
        } catch (const std::runtime_error& e) {
          rethrown[i] = e.what();
        }
      });
    }
  });
  int wrong = 0;
  for (int i = 0; i < kTasks; ++i) {
    const std::string mine = "task " + std::to_string(i);
    wrong += rethrown[i] != mine || current[i] != mine;
  }
  EXPECT_EQ(wrong, 0) << "tasks whose `throw;` or current_exception() gave another task's "
                         "exception";
}

// A task parked in a destructor that runs during unwinding
// (uncaught_exceptions() == 1) or parked inside a catch block
// (current_exception() set) leaks neither into the tasks that run meanwhile.
TEST_P(TaskExceptionState, UncaughtExceptionsAndCurrentExceptionDoNotLeakBetweenTasks) {
  coscope_test::Watchdog wd("exception state leak", std::chrono::seconds(60));
  constexpr int kTasks = 50;
  std::atomic<int> leaks{0}, own_wrong{0};
  struct ParksWhileUnwinding {
    std::atomic<int>* wrong;
    ~ParksWhileUnwinding() {
      for (int k = 0; k < 5; ++k) {
        co::this_task::yield();
        if (std::uncaught_exceptions() != 1) ++*wrong;
      }
    }
  };
  RunAll([&] {
    for (int i = 0; i < kTasks; ++i) {
      Spawn([&, i] {
        if (i % 3 == 0) {
          try {
            ParksWhileUnwinding p{&own_wrong};
            throw std::runtime_error("unwinding");
          } catch (const std::runtime_error&) {
          }
        } else if (i % 3 == 1) {
          try {
            throw i;
          } catch (int) {
            for (int k = 0; k < 5; ++k) co::this_task::yield();
            if (std::current_exception() == nullptr) ++own_wrong;
          }
        } else {
          for (int k = 0; k < 10; ++k) {
            co::this_task::yield();
            if (std::uncaught_exceptions() != 0 || std::current_exception() != nullptr) ++leaks;
          }
        }
        if (std::uncaught_exceptions() != 0 || std::current_exception() != nullptr) ++leaks;
      });
    }
  });
  EXPECT_EQ(leaks.load(), 0) << "checks that saw another task's exception state";
  EXPECT_EQ(own_wrong.load(), 0) << "checks where a task lost its own exception state";
}

// The thread that runs the scheduler keeps its own state: RunUntilNoTask()
// called inside a catch block still sees that block's exception afterwards.
TEST(TaskExceptionStateThread, TheCallingThreadsExceptionStateSurvivesRunningTasks) {
  co::Scheduler sched;
  try {
    throw std::runtime_error("the thread's own");
  } catch (const std::runtime_error&) {
    co::spawn(
        [] {
          try {
            throw std::logic_error("a task's");
          } catch (const std::logic_error&) {
            co::this_task::yield();
          }
        },
        co::SpawnOptions{"task", 0, &sched});
    sched.RunUntilNoTask();
    try {
      throw;
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "the thread's own");
    } catch (...) {
      ADD_FAILURE() << "`throw;` rethrew something else";
    }
  }
}

COSCOPE_INSTANTIATE_WORKER_COUNTS(TaskExceptionState);

// ---- stack memory -----------------------------------------------------------

// An unguarded stack's canary shares a page with the top of the stack below
// it (stack_pool.cpp, slabs): the lowest page of a parked task's stack is not
// resident. In a mapping of its own the canary, written there at the
// stack's birth, cost that page: one more page per parked task.
TEST(StackMemory, AnUnguardedStacksCanaryCostsNoPageOfItsOwn) {
  co::detail::set_guard_budget_for_testing(0);
  constexpr int kTasks = 64;
  constexpr std::size_t kStack = 64 * 1024;
  const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  co::Scheduler s;
  co::Channel<int> release(0);
  for (int i = 0; i < kTasks; ++i) {
    co::spawn([&] { release.recv(); }, {.name = "parked", .stack_size = kStack, .scheduler = &s});
  }
  std::vector<co::TaskId> resident;  // tasks whose stack's lowest page is resident
  int measured = 0;
  co::spawn(
      [&] {
        co::detail::task_registry().ForEach([&](const co::detail::Task& t) {
          if (std::string_view(co::detail::task_name(t)) != "parked" || t.context == nullptr)
            return;
          ++measured;
          // The first page wholly inside the stack (its base is not
          // page-aligned when the canary sits on the page below).
          const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(t.stack.base);
          const std::uintptr_t lowest = (base + page - 1) / page * page;
          unsigned char in_core = 0;
          ASSERT_EQ(::mincore(reinterpret_cast<void*>(lowest), page, &in_core), 0);
          if (in_core & 1) resident.push_back(t.id);
        });
        release.close();
      },
      {.name = "measurer", .scheduler = &s});
  s.RunUntilNoTask();
  co::detail::set_guard_budget_for_testing(~std::size_t{0});  // the real one
  EXPECT_EQ(measured, kTasks);
  EXPECT_TRUE(resident.empty()) << resident.size() << " of " << kTasks
                                << " parked tasks have their stack's lowest page resident";
}

// Stacks the pools cannot keep go back to their slab, which lists the free
// slots in the slots themselves; the next tasks get those slots again rather
// than carving new ones (a lost link would carve fresh slots: new addresses).
TEST(StackMemory, SlotsGivenBackToTheirSlabAreCarvedAgain) {
  co::detail::set_guard_budget_for_testing(0);
  constexpr int kTasks = 600;                // more than the pools keep (16 + 256)
  constexpr std::size_t kStack = 72 * 1024;  // a size no other test uses
  auto wave = [&] {
    co::Scheduler s;
    co::Channel<int> release(0);
    for (int i = 0; i < kTasks; ++i) {
      co::spawn([&] { release.recv(); }, {.name = "wave", .stack_size = kStack, .scheduler = &s});
    }
    std::set<const void*> bases;
    co::spawn(
        [&] {
          co::detail::task_registry().ForEach([&](const co::detail::Task& t) {
            if (std::string_view(co::detail::task_name(t)) == "wave" && t.context != nullptr) {
              EXPECT_FALSE(t.stack.guarded);
              bases.insert(t.stack.base);
            }
          });
          release.close();
        },
        {.name = "measurer", .scheduler = &s});
    s.RunUntilNoTask();
    return bases;
  };
  const std::set<const void*> first = wave();
  const std::set<const void*> second = wave();
  co::detail::set_guard_budget_for_testing(~std::size_t{0});  // the real one
  ASSERT_EQ(first.size(), static_cast<std::size_t>(kTasks));
  ASSERT_EQ(second.size(), static_cast<std::size_t>(kTasks));
  std::size_t fresh = 0;
  for (const void* base : second) fresh += first.count(base) == 0 ? 1 : 0;
  EXPECT_EQ(fresh, 0u) << fresh << " of the second wave's stacks are slots never used before";
}

// The Processer's step of the park protocol (park_word.h), driven by hand on
// the running task: only an armed park that no waker claimed becomes
// "parked", once; a claim leaves the requeue to the Processer.
TEST(Park, OnlyAnUnclaimedArmedParkIsMarkedParked) {
  bool ran = false;
  go[&] {
    using namespace co::detail;
    Task* tk = current_task();
    const WaitTicket first = prepare_park();
    EXPECT_EQ(latest_ticket(tk).task, tk);
    EXPECT_EQ(latest_ticket(tk).epoch, first.epoch);
    EXPECT_TRUE(wake(first)) << "a park being armed can be claimed";
    EXPECT_FALSE(mark_parked(tk)) << "a claimed park is not the Processer's to mark";

    const WaitTicket second = prepare_park();
    EXPECT_EQ(second.epoch, first.epoch + 1);
    EXPECT_EQ(latest_ticket(tk).epoch, second.epoch);
    EXPECT_TRUE(mark_parked(tk));
    EXPECT_FALSE(mark_parked(tk)) << "marked twice";
    EXPECT_FALSE(wake(first)) << "a stale ticket claimed the park";

    // Leave no claimable park behind: a new one, claimed while armed.
    EXPECT_TRUE(wake(prepare_park()));
    EXPECT_FALSE(mark_parked(tk));
    ran = true;
  };
  co_sched.RunUntilNoTask();
  EXPECT_TRUE(ran);
}

}  // namespace
