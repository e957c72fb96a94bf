// SummaryReporter: Google Benchmark's usual table, then a short "coscope
// summary" of ns per operation and ratios against the design's targets.
//
// It wraps the display reporter Google Benchmark would have used (so
// --benchmark_format and --benchmark_color keep working), remembers ns/op per
// benchmark (median of the repetitions when there are any; a counter named
// ops_per_iter divides an iteration into operations), and once every
// benchmark has run calls the program's `rows` function to print its lines:
// on stdout after the console table, on stderr for the other formats (so
// JSON/CSV output stays parseable).
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace coscope_bench {

class SummaryReporter : public benchmark::BenchmarkReporter {
 public:
  struct Times {
    double real = -1;  ///< ns per operation, wall clock (or manual time)
    double cpu = -1;   ///< ns per operation, the benchmark thread's CPU time
  };
  using Rows = std::function<void(const SummaryReporter&, std::FILE*)>;

  SummaryReporter(const char* note, Rows rows)
      : inner_(benchmark::CreateDefaultDisplayReporter()), note_(note), rows_(std::move(rows)) {}

  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }

  void ReportRuns(const std::vector<Run>& runs) override {
    inner_->ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      Entry& e = entries_[r.run_name.str()];
      double scale = time_unit_to_ns(r.time_unit);
      auto it = r.counters.find("ops_per_iter");
      if (it != r.counters.end() && it->second.value > 0) scale /= it->second.value;
      Times t{r.GetAdjustedRealTime() * scale, r.GetAdjustedCPUTime() * scale};
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") e.median = t;
        if (r.aggregate_name == "mean") e.mean = t;
      } else {
        e.samples.push_back(t);
      }
    }
  }

  void Finalize() override {
    inner_->Finalize();
    std::FILE* out =
        dynamic_cast<benchmark::ConsoleReporter*>(inner_.get()) != nullptr ? stdout : stderr;
    std::fflush(stdout);
    std::fprintf(out, "\n---- coscope summary: time per operation, %s ----\n%s",
                 has_medians() ? "median of the repetitions" : "single run each", note_);
    rows_(*this, out);
    std::fflush(out);
  }

  // ns/op: the median aggregate, else the median of the plain runs; -1 if absent.
  Times get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) return Times{};
    const Entry& e = it->second;
    if (e.median.real >= 0) return e.median;
    if (e.mean.real >= 0) return e.mean;
    if (e.samples.empty()) return Times{};
    std::vector<Times> v = e.samples;
    std::sort(v.begin(), v.end(), [](const Times& a, const Times& b) { return a.cpu < b.cpu; });
    return v[v.size() / 2];
  }

  void row(std::FILE* out, const char* label, const char* name) const {
    Times t = get(name);
    if (t.real < 0) return;  // filtered out or failed
    print_value(out, label, t);
    std::fprintf(out, "\n");
  }

  /// CPU time of `name` against `raw` (ns): within `target` times?
  void ratio_row(std::FILE* out, const char* label, const char* name, double raw,
                 double target) const {
    Times t = get(name);
    if (t.real < 0) return;
    print_value(out, label, t);
    if (raw > 0) {
      double r = t.cpu / raw;
      std::fprintf(out, "  = %.2fx raw switch (target <= %.0fx: %s)", r, target,
                   r <= target ? "met" : "MISSED");
    }
    std::fprintf(out, "\n");
  }

  void target_row(std::FILE* out, const char* label, const char* name, double target_ns) const {
    Times t = get(name);
    if (t.real < 0) return;
    print_value(out, label, t);
    if (target_ns > 0) {
      std::fprintf(out, "  (target < %.0f ns: %s)\n", target_ns,
                   t.cpu < target_ns ? "met" : "MISSED");
    } else {
      std::fprintf(out, "  (informational)\n");
    }
  }

  // Wall-clock rows (multi-threaded benchmarks): the real or manual time is the figure.
  void wall_row(std::FILE* out, const char* label, const char* name) const {
    Times t = get(name);
    if (t.real < 0) return;
    std::fprintf(out, "%-36s %9.1f ns  (wall clock, informational)\n", label, t.real);
  }

  /// Speed of `name` relative to `baseline` (baseline time / name time, by
  /// wall clock): `min_speedup` is the target ("at least").
  void speedup_row(std::FILE* out, const char* label, const char* name, const char* baseline,
                   double min_speedup) const {
    Times t = get(name);
    Times b = get(baseline);
    if (t.real <= 0 || b.real <= 0) return;
    double r = b.real / t.real;
    std::fprintf(out, "%-36s %9.1f ns  = %.2fx the baseline's speed (target >= %.2fx: %s)\n", label,
                 t.real, r, min_speedup, r >= min_speedup ? "met" : "MISSED");
  }

 private:
  struct Entry {
    Times median;
    Times mean;
    std::vector<Times> samples;
  };

  static double time_unit_to_ns(benchmark::TimeUnit u) {
    switch (u) {
      case benchmark::kSecond:
        return 1e9;
      case benchmark::kMillisecond:
        return 1e6;
      case benchmark::kMicrosecond:
        return 1e3;
      case benchmark::kNanosecond:
        break;
    }
    return 1;
  }

  bool has_medians() const {
    for (const auto& [name, e] : entries_) {
      if (e.median.real >= 0) return true;
    }
    return false;
  }

  static void print_value(std::FILE* out, const char* label, Times t) {
    std::fprintf(out, "%-36s %9.1f ns  [real %9.1f ns]", label, t.cpu, t.real);
  }

  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  const char* note_;
  Rows rows_;
  std::map<std::string, Entry> entries_;
};

/// Runs the benchmarks selected on the command line with a SummaryReporter.
inline int run_with_summary(int argc, char** argv, const char* note, SummaryReporter::Rows rows) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  SummaryReporter reporter(note, std::move(rows));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace coscope_bench
