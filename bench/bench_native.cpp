// The exact Ridge Rider search (fixed step rule, every other option at its default) on the
// benchmark formulas of bench/compare_reference.py, in process:
//   native       AutoDiffObjective of the formula (Eigen AutoDiff, the built-in problems' path)
//   torchscript  the same formula as TorchScript source (MakeTorchScriptFromSource), i.e. what
//                `ridgerider run --objective-source` evaluates, without the process start
// plus the cost of single objective calls (value+gradient, dense Hessian) on both.
//
//   bench_native                 Google Benchmark (all benchmark flags work)
//   bench_native --cases         the cases as JSON: name, dim, x0, TorchScript source, builtin
//   bench_native --solutions [N] JSON: per case and path, the solutions, counts and the median
//                                search time of N runs (default 5)
//   bench_native --calls [N]     JSON: per case and path, microseconds per value+gradient and
//                                per dense Hessian (median of N batches of 200 calls)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ridgerider/autodiff.hpp"
#include "ridgerider/problems/landscapes.hpp"
#include "ridgerider/problems/registry.hpp"
#include "ridgerider/tree.hpp"
#include "torch/torchscript_objective.hpp"

namespace rr = ridgerider;
using json = nlohmann::json;

namespace {

struct Case {
  std::string name;
  int dim;
  rr::Vector x0;
  std::string source;   // TorchScript (also valid Python: the reference execs it)
  std::string builtin;  // `ridgerider run --problem` with the same formula, or ""
  std::function<std::unique_ptr<rr::Objective>()> native;
};

std::unique_ptr<rr::Objective> Builtin(const std::string& name) {
  return std::move(rr::MakeProblem(name)->objective);
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = [] {
    const char* wells = "def f(x: Tensor) -> Tensor: return ((x**2 - 1)**2).sum() + 0.3*(x[:-1]*x[1:]).sum()";
    std::vector<Case> c;
    c.push_back({"toy2d", 2, rr::Vector::Zero(2),
                 "def f(x: Tensor) -> Tensor: return (x[0]**2 - 1)**2 + (x[1]**2 - 1)**2 + "
                 "0.5*x[0]*x[1] + 0.3*x[0]**2*x[1]",
                 "toy2d", [] { return Builtin("toy2d"); }});
    c.push_back({"himmelblau", 2, rr::MakeProblem("himmelblau")->saddle,
                 "def f(x: Tensor) -> Tensor: return (x[0]**2 + x[1] - 11)**2 + (x[0] + x[1]**2 - 7)**2",
                 "himmelblau", [] { return Builtin("himmelblau"); }});
    c.push_back({"wells3d", 3, rr::Vector::Zero(3), wells, "wells3d",
                 [] { return Builtin("wells3d"); }});
    c.push_back({"wells5d", 5, rr::Vector::Zero(5), wells, "", [] {
                   return std::make_unique<rr::AutoDiffObjective<rr::problems::WellsFormula>>(
                       5, "wells5d", rr::problems::WellsFormula{});
                 }});
    return c;
  }();
  return cases;
}

std::unique_ptr<rr::Objective> MakeObjective(const Case& c, bool torchscript) {
  if (torchscript) return rr::MakeTorchScriptFromSource(c.source, c.dim, "");
  return c.native();
}

// The paper's algorithm as bench/reference_rr.py has it: fixed steps, branching where a ride
// ends. (A "settle" option -- branch at the stationary point next to the end -- is switched off
// where the core has it.)
template <class O>
void NoSettle(O& ride) {
  if constexpr (requires { ride.settle; }) ride.settle = false;
}

rr::ExploreOptions FixedStep() {
  rr::ExploreOptions o;
  o.ride.step_rule = rr::StepRule::kFixed;
  NoSettle(o.ride);
  return o;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::vector<double> ToStd(const rr::Vector& v) { return {v.data(), v.data() + v.size()}; }

json Solutions(int repeats) {
  json out = json::array();
  for (const Case& c : Cases()) {
    for (bool ts : {false, true}) {
      std::vector<double> times;
      rr::ExploreResult last;
      for (int r = 0; r < repeats; ++r) {
        auto obj = MakeObjective(c, ts);  // a fresh objective: counts and caches start empty
        last = rr::Explore(*obj, c.x0, FixedStep());
        times.push_back(last.summary.wall_time_s);
      }
      json sols = json::array();
      for (const rr::Solution& s : last.state.solutions)
        sols.push_back({{"x", ToStd(s.x)}, {"loss", s.loss}, {"is_minimum", s.is_minimum}});
      out.push_back({{"case", c.name},
                     {"path", ts ? "torchscript" : "native"},
                     {"rides", last.summary.rides},
                     {"gradients", last.summary.counts.gradients},
                     {"hessians", last.summary.counts.hessians},
                     {"solutions", sols},
                     {"search_time_s", Median(times)},
                     {"search_times_s", times}});
    }
  }
  return out;
}

// Microseconds per call at a generic point (x0 + 0.1*(1, 2, ..)): distinct points every call,
// so the TorchScript objective's one-point cache never hits.
json Calls(int repeats) {
  json out = json::array();
  const int batch = 200;
  for (const Case& c : Cases()) {
    for (bool ts : {false, true}) {
      auto obj = MakeObjective(c, ts);
      rr::Vector base = c.x0;
      for (int i = 0; i < c.dim; ++i) base[i] += 0.1 * (i + 1);
      std::vector<double> grad_us, hess_us, pair_us;
      double f = 0;
      rr::Vector g;
      rr::Matrix h;
      for (int r = 0; r < repeats; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < batch; ++k) {
          rr::Vector x = base;
          x[0] += 1e-7 * k;
          obj->ValueAndGradient(x, &f, &g);
        }
        grad_us.push_back(1e6 * Seconds(t0) / batch);
        t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < batch; ++k) {
          rr::Vector x = base;
          x[0] += 1e-7 * k;
          obj->Hessian(x, &h);
        }
        hess_us.push_back(1e6 * Seconds(t0) / batch);
        // What a ride step does: value+gradient, then the Hessian at the same point.
        t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < batch; ++k) {
          rr::Vector x = base;
          x[0] += 1e-7 * k;
          obj->ValueAndGradient(x, &f, &g);
          obj->Hessian(x, &h);
        }
        pair_us.push_back(1e6 * Seconds(t0) / batch);
      }
      out.push_back({{"case", c.name},
                     {"path", ts ? "torchscript" : "native"},
                     {"grad_us", Median(grad_us)},
                     {"hessian_us", Median(hess_us)},
                     {"grad_then_hessian_us", Median(pair_us)}});
    }
  }
  return out;
}

void BM_Explore(benchmark::State& state, const Case* c, bool ts) {
  auto obj = MakeObjective(*c, ts);
  long solutions = 0, rides = 0;
  for (auto _ : state) {
    obj->ResetCounts();
    rr::ExploreResult r = rr::Explore(*obj, c->x0, FixedStep());
    solutions = r.summary.solutions;
    rides = r.summary.rides;
    benchmark::DoNotOptimize(r);
  }
  state.counters["rides"] = static_cast<double>(rides);
  state.counters["solutions"] = static_cast<double>(solutions);
}

}  // namespace

int main(int argc, char** argv) {
  rr::SetTorchThreads(1);  // as the CLI's default --threads 1
  if (argc >= 2 && std::strcmp(argv[1], "--cases") == 0) {
    json out = json::array();
    for (const Case& c : Cases())
      out.push_back({{"name", c.name}, {"dim", c.dim}, {"x0", ToStd(c.x0)},
                     {"source", c.source}, {"builtin", c.builtin}});
    std::cout << out.dump(1) << "\n";
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--solutions") == 0) {
    std::cout << Solutions(argc >= 3 ? std::atoi(argv[2]) : 5).dump(1) << "\n";
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--calls") == 0) {
    std::cout << Calls(argc >= 3 ? std::atoi(argv[2]) : 5).dump(1) << "\n";
    return 0;
  }
  for (const Case& c : Cases()) {
    benchmark::RegisterBenchmark(("Explore/native/" + c.name).c_str(), BM_Explore, &c, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Explore/torchscript/" + c.name).c_str(), BM_Explore, &c, true)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
