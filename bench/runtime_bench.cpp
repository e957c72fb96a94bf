// runtime_bench: what a switch, a yield, a spawn and a channel hand-off cost,
// measured against a raw Boost.Context switch in the same run.
//
//   build-bench/bench/runtime_bench --benchmark_repetitions=5
//                                   --benchmark_report_aggregates_only=true
//
// After the usual Google Benchmark table the program prints a "coscope
// summary" section: ns per operation (median of the repetitions when there
// are any) and the ratios the design targets (docs/performance.md):
//   yield round trip   <= 3x a raw fiber switch round trip
//   spawn + run + exit <  150 ns
//   unbuffered channel hand-off < 100 ns
//
// Running `for (auto _ : state)` inside a coroutine is fine: the tasks of a
// scheduler driven by RunUntilNoTask() run on the calling thread (the
// benchmark thread), and Google Benchmark 1.7.1 keeps no thread-local state
// in its State loop; it only needs the loop to run on the thread that called
// the benchmark function, which it does. The 2-worker benchmarks run their
// tasks on worker threads, so they time themselves (UseManualTime).
//
// Unit of every benchmark ("one iteration"):
//   BM_RawFiberSwitch            one round trip A -> B -> A (two jump_fcontext)
//   BM_RawFiberSwitch_fiber      the same with boost::context::fiber::resume()
//   BM_YieldRoundTrip            A yields to B, B yields back to A
//   BM_YieldRoundTrip_OnePlace   (per batch) the same, both tasks yielding from
//                                one place in one function; see ops_per_iter
//   BM_SpawnRunExit/batch:N      one task spawned by a driver task, run, ended;
//                                the driver yields after every N spawns
//   BM_SpawnRunExit_FromMain     (per batch) 1000 `go`s from the main thread,
//                                then RunUntilNoTask(); see ops_per_iter
//   BM_ChannelHandoff            one int through an unbuffered Channel<int>
//   BM_ChannelHandoff_Buffered   one int through a Channel<int>(64)
//   BM_*_2Workers                (per batch) cross-thread variants, informational
//   BM_YieldRoundTrip_Traced/traced:0|1
//                                BM_YieldRoundTrip (work_stealing) with the
//                                JSON trace off / on (co::set_tracing); the
//                                trace goes to /dev/null through a temporary
//                                run.json link unless COSCOPE_TRACE names a file
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fiber.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#include "coscope/coscope.h"
#include "summary_reporter.h"

namespace {

namespace bctx = boost::context::detail;

co::SpawnOptions on(co::Scheduler& s) {
  co::SpawnOptions o;
  o.scheduler = &s;
  return o;
}

// ---- 1. raw Boost.Context switch (the baseline) ------------------------------

// The runtime switches with Boost.Context's fcontext layer (runtime/src/
// context.cpp: make_fcontext / jump_fcontext), so the fair baseline is the
// same two calls with nothing around them: the benchmark thread (A) jumps to
// fiber B, B jumps straight back.
void raw_fiber_entry(bctx::transfer_t t) {
  for (;;) t = bctx::jump_fcontext(t.fctx, nullptr);
}

void BM_RawFiberSwitch(benchmark::State& state) {
  constexpr std::size_t kStack = 64 * 1024;
  std::unique_ptr<char[]> stack(new char[kStack]);
  bctx::fcontext_t b = bctx::make_fcontext(stack.get() + kStack, kStack, &raw_fiber_entry);
  b = bctx::jump_fcontext(b, nullptr).fctx;  // start B; it comes straight back
  for (auto _ : state) {
    b = bctx::jump_fcontext(b, nullptr).fctx;  // A -> B -> A
  }
  // B stays suspended in its loop; nothing on its stack needs destroying.
}
BENCHMARK(BM_RawFiberSwitch);

// For reference: the public boost::context::fiber API (what most users of
// Boost.Context write), which adds a record and an ontop call per resume.
void BM_RawFiberSwitch_fiber(benchmark::State& state) {
  namespace ctx = boost::context;
  bool stop = false;
  ctx::fiber b{[&stop](ctx::fiber&& a) {
    while (!stop) a = std::move(a).resume();
    return std::move(a);
  }};
  for (auto _ : state) {
    b = std::move(b).resume();  // A -> B -> A
  }
  stop = true;
  b = std::move(b).resume();  // let B return, so its stack is freed
}
BENCHMARK(BM_RawFiberSwitch_fiber);

// ---- 2. yield round trip on one worker ---------------------------------------

/// Tasks A and B yield to each other on `s`, one worker, A timing each round
/// trip; A traces its loop when `traced`. B runs first, so it has run once
/// (stack taken) before A starts the clock.
void RunYieldPair(benchmark::State& state, co::Scheduler& s, bool traced) {
  bool done = false;
  co::spawn(
      [&] {
        while (!done) co::this_task::yield();
      },
      on(s));
  co::spawn(
      [&] {
        if (traced) co::set_tracing(true);
        for (auto _ : state) co::this_task::yield();  // A -> B -> A
        if (traced) co::set_tracing(false);
        done = true;
      },
      on(s));
  s.RunUntilNoTask();
}

void BM_YieldRoundTrip(benchmark::State& state) {
  co::SchedulerOptions opts;
  opts.policy = static_cast<co::SchedulingPolicyKind>(state.range(0));
  co::Scheduler s(opts);
  RunYieldPair(state, s, false);
}
BENCHMARK(BM_YieldRoundTrip)
    ->ArgName("policy")
    ->Arg(static_cast<int>(co::SchedulingPolicyKind::work_stealing))
    ->Arg(static_cast<int>(co::SchedulingPolicyKind::round_robin));

/// Yields until `left` yields have been made, by this task and the others
/// running this loop: every yield() here returns to the same place.
__attribute__((noinline)) void yield_while_left(long* left) {
  while (--*left >= 0) co::this_task::yield();
}

// In BM_YieldRoundTrip A's loop and B's are different code, so each yield()
// returns somewhere else than the one before it; here both tasks yield from
// one place, as tasks running the same function do (docs/performance.md:
// the CPU's return-address predictor). One iteration = kRounds round trips.
void BM_YieldRoundTrip_OnePlace(benchmark::State& state) {
  constexpr long kRounds = 10000;
  co::Scheduler s;
  long left = 0;
  for (auto _ : state) {
    left = 2 * kRounds;
    co::spawn([&left] { yield_while_left(&left); }, on(s));
    co::spawn([&left] { yield_while_left(&left); }, on(s));
    s.RunUntilNoTask();
  }
  state.counters["ops_per_iter"] = kRounds;
}
BENCHMARK(BM_YieldRoundTrip_OnePlace);

// ---- 3. spawn + run + exit ---------------------------------------------------

// A driver task spawns trivial tasks on its own processer (the common case:
// tasks spawn tasks) and yields after every `batch` spawns so they run and end.
// batch:1 pays a full driver yield round trip per task; larger batches show
// the cost of a task's own life (allocation, registry, first switch, stack
// from the pool, finish) with the driver's yield amortised.
void BM_SpawnRunExit(benchmark::State& state) {
  const auto batch = static_cast<std::int64_t>(state.range(0));
  co::Scheduler s;
  std::int64_t ran = 0;
  co::spawn(
      [&] {
        co::SpawnOptions o = on(s);
        auto tiny = [&ran] { ++ran; };
        // Warm the stack pool outside the timed loop.
        co::spawn(tiny, o);
        co::this_task::yield();
        std::int64_t queued = 0;
        for (auto _ : state) {
          co::spawn(tiny, o);
          if (++queued == batch) {
            co::this_task::yield();  // every queued task runs and ends first
            queued = 0;
          }
        }
        co::this_task::yield();
      },
      on(s));
  s.RunUntilNoTask();
  if (ran != state.iterations() + 1) state.SkipWithError("not every task ran");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpawnRunExit)->ArgName("batch")->Arg(1)->Arg(64)->Arg(1024);

// `go` from the main thread into a stopped scheduler (it queues them), then
// RunUntilNoTask(): the libgo idiom. One iteration = a batch of 1000 tasks.
void BM_SpawnRunExit_FromMain(benchmark::State& state) {
  constexpr int kBatch = 1000;
  co::Scheduler s;
  std::int64_t ran = 0;
  co::SpawnOptions o = on(s);
  auto tiny = [&ran] { ++ran; };
  co::spawn(tiny, o);  // warm the stack pool
  s.RunUntilNoTask();
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) co::spawn(tiny, o);
    s.RunUntilNoTask();
  }
  if (ran != state.iterations() * kBatch + 1) state.SkipWithError("not every task ran");
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["ops_per_iter"] = kBatch;
}
BENCHMARK(BM_SpawnRunExit_FromMain);

// ---- 4. channel hand-off on one worker ---------------------------------------

void channel_pair(benchmark::State& state, std::size_t capacity) {
  co::Scheduler s;
  co::Channel<int> ch(capacity);
  std::int64_t received = 0;
  // The receiver first: it parks in recv() before the clock starts.
  co::spawn(
      [&] {
        int v;
        while (ch.recv(v)) {
          benchmark::DoNotOptimize(v);
          ++received;
        }
      },
      on(s));
  co::spawn(
      [&] {
        int i = 0;
        for (auto _ : state) ch.send(i++);
        ch.close();
      },
      on(s));
  s.RunUntilNoTask();
  if (received != state.iterations()) state.SkipWithError("lost values");
  state.SetItemsProcessed(state.iterations());
}

void BM_ChannelHandoff(benchmark::State& state) {
  channel_pair(state, 0);
}
BENCHMARK(BM_ChannelHandoff);

void BM_ChannelHandoff_Buffered(benchmark::State& state) {
  channel_pair(state, static_cast<std::size_t>(state.range(0)));
}
BENCHMARK(BM_ChannelHandoff_Buffered)->ArgName("capacity")->Arg(64);

// ---- 5. two workers (informational) ------------------------------------------

// One scheduler with two worker threads, kept across iterations. Each
// iteration spawns a fresh set of tasks, round-robin places them on the two
// workers, and the benchmark thread times the batch up to WaitUntilNoTask().

// Two tasks per worker, each yielding kOps times: both workers do kOps yield
// round trips in parallel (no cross-thread traffic; shows whether a worker's
// yield slows down when the other core is busy too).
void BM_YieldRoundTrip_2Workers(benchmark::State& state) {
  constexpr int kOps = 100'000;
  co::Scheduler s({.policy = co::SchedulingPolicyKind::round_robin});
  s.Start(2);
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < 4; ++t) {
      co::spawn(
          [] {
            for (int i = 0; i < kOps; ++i) co::this_task::yield();
          },
          on(s));
    }
    s.WaitUntilNoTask();
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    state.SetIterationTime(dt.count());
  }
  s.Stop();
  state.SetItemsProcessed(state.iterations() * kOps);
  state.counters["ops_per_iter"] = kOps;
}
BENCHMARK(BM_YieldRoundTrip_2Workers)->UseManualTime();

// Sender on one worker, receiver on the other: every hand-off crosses threads
// (a wake is an inbox push plus, when the peer went idle, a futex wake).
void BM_ChannelHandoff_2Workers(benchmark::State& state) {
  const auto capacity = static_cast<std::size_t>(state.range(0));
  // Unbuffered hand-offs across threads cost microseconds (far more on a
  // loaded machine): a smaller batch keeps the run short.
  const int kOps = capacity == 0 ? 2'000 : 20'000;
  co::Scheduler s({.policy = co::SchedulingPolicyKind::round_robin});
  s.Start(2);
  std::int64_t received = 0;
  for (auto _ : state) {
    co::Channel<int> ch(capacity);
    auto t0 = std::chrono::steady_clock::now();
    co::spawn(
        [&] {
          for (int i = 0; i < kOps; ++i) ch.send(i);
          ch.close();
        },
        on(s));
    co::spawn(
        [&] {
          int v;
          while (ch.recv(v)) ++received;
        },
        on(s));
    s.WaitUntilNoTask();
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    state.SetIterationTime(dt.count());
  }
  s.Stop();
  if (received != state.iterations() * kOps) state.SkipWithError("lost values");
  state.SetItemsProcessed(state.iterations() * kOps);
  state.counters["ops_per_iter"] = kOps;
}
BENCHMARK(BM_ChannelHandoff_2Workers)->ArgName("capacity")->Arg(0)->Arg(64)->UseManualTime();

// The cost of the JSON trace (docs/trace.md): off, one predicted branch per
// event; on, a lock, the formatting and the buffer's writes.
void BM_YieldRoundTrip_Traced(benchmark::State& state) {
  co::Scheduler s;
  RunYieldPair(state, s, state.range(0) != 0);
}
BENCHMARK(BM_YieldRoundTrip_Traced)->ArgName("traced")->Arg(0)->Arg(1);

// COSCOPE_TRACE for the traced rows: a run.json that is /dev/null, so the
// row measures the runtime's side, not the disk. Removed at exit.
std::string g_trace_dir;
void point_trace_at_dev_null() {
  if (std::getenv("COSCOPE_TRACE") != nullptr) return;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/coscope-bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return;
  const std::string link = dir + "/run.json";
  if (::symlink("/dev/null", link.c_str()) != 0) return;
  ::setenv("COSCOPE_TRACE", link.c_str(), 1);
  g_trace_dir = dir;
  std::atexit([] {
    ::unlink((g_trace_dir + "/run.json").c_str());
    ::rmdir(g_trace_dir.c_str());
  });
}

}  // namespace

int main(int argc, char** argv) {
  point_trace_at_dev_null();
  return coscope_bench::run_with_summary(
      argc, argv,
      "(one worker: CPU time of the benchmark thread, which all its tasks share,\n"
      " so other processes on the machine do not count; real time in brackets.\n"
      " Two workers: wall-clock time of the batch / operations.)\n",
      [](const coscope_bench::SummaryReporter& s, std::FILE* out) {
        const double raw = s.get("BM_RawFiberSwitch").cpu;
        s.row(out, "raw fcontext switch round trip", "BM_RawFiberSwitch");
        s.row(out, "raw fiber::resume round trip", "BM_RawFiberSwitch_fiber");
        s.ratio_row(out, "yield round trip (work_stealing)", "BM_YieldRoundTrip/policy:1", raw,
                    3.0);
        s.ratio_row(out, "yield round trip (round_robin)", "BM_YieldRoundTrip/policy:0", raw, 3.0);
        s.row(out, "yield round trip, from one place", "BM_YieldRoundTrip_OnePlace");
        s.target_row(out, "spawn+run+exit, driver batch 1", "BM_SpawnRunExit/batch:1", 0);
        s.target_row(out, "spawn+run+exit, driver batch 64", "BM_SpawnRunExit/batch:64", 150);
        s.target_row(out, "spawn+run+exit, driver batch 1024", "BM_SpawnRunExit/batch:1024", 150);
        s.target_row(out, "spawn+run+exit, go from main", "BM_SpawnRunExit_FromMain", 0);
        s.target_row(out, "channel hand-off, unbuffered", "BM_ChannelHandoff", 100);
        s.target_row(out, "channel hand-off, capacity 64", "BM_ChannelHandoff_Buffered/capacity:64",
                     0);
        s.row(out, "yield round trip, trace off", "BM_YieldRoundTrip_Traced/traced:0");
        s.row(out, "yield round trip, JSON trace on", "BM_YieldRoundTrip_Traced/traced:1");
        s.wall_row(out, "yield round trip, 2 workers", "BM_YieldRoundTrip_2Workers/manual_time");
        s.wall_row(out, "channel unbuffered, 2 workers",
                   "BM_ChannelHandoff_2Workers/capacity:0/manual_time");
        s.wall_row(out, "channel capacity 64, 2 workers",
                   "BM_ChannelHandoff_2Workers/capacity:64/manual_time");
      });
}
