// Rides per second on more cores: the same search at 1 and 2 ride threads (in process), and
// under mpirun at 1 and 3 ranks (rank 0 + 2 workers; the CLI, timed by its own search time,
// summary.wall_time_s, so process start-up is left out). The problem is tanh-net with the
// fixed step rule: 4 independent rides of ~60 ms each, long enough that the serial merge is
// negligible. Prints the speed-ups of one run at the end (docs/benchmarks.md).
//
//   bench_scaling                      all benchmarks (Google Benchmark flags work)
//   bench_scaling --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                                      ratios of medians, the configurations interleaved
//                                      (what docs/benchmarks.md reports: a shared machine's load
//                                      then hits both sides alike)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unistd.h>

#include "ridgerider/problems/registry.hpp"
#include "ridgerider/tree.hpp"

namespace rr = ridgerider;

namespace {

rr::ExploreOptions TanhNetOptions(int threads) {
  rr::ExploreOptions o;
  o.ride.step_rule = rr::StepRule::kFixed;
  o.ride.step_size = 0.002;
  o.tree.threads = threads;
  return o;
}

void BM_Threads(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  long rides = 0;
  for (auto _ : state) {
    rr::Problem p = *rr::MakeProblem("tanh-net");
    rr::ExploreResult r = rr::Explore(*p.objective, p.saddle, TanhNetOptions(threads));
    rides += r.summary.rides;
    benchmark::DoNotOptimize(r.state.solutions.data());
  }
  state.counters["rides_per_s"] = benchmark::Counter(static_cast<double>(rides), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Threads)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

#if defined(RIDGERIDER_BIN) && defined(RIDGERIDER_MPIEXEC)
void BM_MpiRanks(benchmark::State& state) {
  const int ranks = static_cast<int>(state.range(0));
  const std::string out = "/tmp/ridgerider_bench_mpi_" + std::to_string(ranks) + "_" + std::to_string(getpid());
  const std::string cmd = std::string(RIDGERIDER_MPIEXEC) + " --allow-run-as-root --oversubscribe -np " +
                          std::to_string(ranks) + " " + RIDGERIDER_BIN +
                          " run --problem tanh-net --step-rule fixed --step-size 0.002 --no-progress --overwrite"
                          " --out " + out + " > /dev/null";
  long rides = 0;
  for (auto _ : state) {
    if (std::system(cmd.c_str()) != 0) {
      state.SkipWithError("mpirun failed");
      return;
    }
    std::ifstream f(out + "/result.json");
    const nlohmann::json r = nlohmann::json::parse(f);
    state.SetIterationTime(r["summary"]["wall_time_s"].get<double>());
    rides += r["summary"]["rides"].get<long>();
  }
  std::system(("rm -rf " + out).c_str());
  state.counters["rides_per_s"] = benchmark::Counter(static_cast<double>(rides), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MpiRanks)->ArgName("ranks")->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(3);
#endif

// Keeps each benchmark's time per iteration (the median of its repetitions, when repeated) to
// print the speed-ups of this run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (median || (r.run_type == Run::RT_Iteration && !medians_.count(r.run_name.str())))
        seconds[r.run_name.str()] = r.GetAdjustedRealTime();
      if (median) medians_.insert(r.run_name.str());
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> seconds;

 private:
  std::set<std::string> medians_;
};

// Speed-up of the benchmark named `many` over `one` (name prefixes up to the argument).
void PrintRatio(const RatioReporter& rep, const std::string& one, const std::string& many, const char* what) {
  const auto find = [&](const std::string& prefix) {
    for (const auto& [name, t] : rep.seconds)
      if (name.rfind(prefix + "/", 0) == 0 || name == prefix) return t;
    return 0.0;
  };
  const double a = find(one), b = find(many);
  if (a > 0 && b > 0) std::printf("speed-up %s: %.2fx\n", what, a / b);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintRatio(reporter, "BM_Threads/threads:1", "BM_Threads/threads:2", "2 threads / 1 thread");
  PrintRatio(reporter, "BM_MpiRanks/ranks:1", "BM_MpiRanks/ranks:3", "3 ranks (2 workers) / 1 rank");
  benchmark::Shutdown();
  return 0;
}
