// Derivative costs of model objectives (src/torch/model_objective.hpp), each a ratio measured in
// one run, and peak memory at network scale:
//
//   1. MLP 784-128-10 (tanh), Fashion-MNIST, a batch of 256, float32: gradient vs HVP by a fresh
//      double backward vs HVP through the gradient's kept graph (median of --reps calls each).
//   2. MLP 784-512-512-10 (d = 669,706), float32, the same batch size: peak resident memory of a
//      gradient plus 3 HVPs (--memory-hvp, default reused-graph) beyond what the process held
//      with the data loaded, against the target of 50 d doubles.
//
//   bench_model [--threads N] [--reps N] [--batch N] [--memory-hvp M]   a table and one JSON line
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "ridgerider/rng.hpp"
#include "torch/model_objective.hpp"
#include "torch/torchscript_objective.hpp"
#include "proc_memory.hpp"

namespace rr = ridgerider;
using json = nlohmann::json;

namespace {

using bench::ResetPeak;
using bench::StatusBytes;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

rr::ModelSpec Spec(const std::string& arch, rr::HvpMethod hvp, long batch) {
  rr::ModelSpec s;
  s.model = arch;
  s.dtype = rr::ModelDtype::kFloat32;
  s.hvp = hvp;
  s.batch.batch = batch;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, reps = 40;
  long batch = 256;
  rr::HvpMethod memory_method = rr::HvpMethod::kReusedGraph;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--batch") batch = std::atol(argv[i + 1]);
    else if (a == "--memory-hvp" && rr::HvpMethodFromString(argv[i + 1])) memory_method = *rr::HvpMethodFromString(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_model [--threads N] [--reps N] [--batch N] [--memory-hvp reused-graph|fresh-graph]\n");
      return 2;
    }
  }
  rr::SetTorchThreads(threads);
  const long rss_start = StatusBytes("VmRSS");
  auto data = std::make_shared<const rr::data::Dataset>(rr::data::LoadDataSpec("fashion-mnist"));
  const long data_bytes = static_cast<long>(data->inputs.size() * sizeof(float) + data->labels.size() * 8);

  // ---- 1. gradient vs HVP, 784-128-10 ----
  auto fresh = rr::MakeModelObjective(Spec("mlp:784-128-10", rr::HvpMethod::kFreshGraph, batch), data);
  auto reused = rr::MakeModelObjective(Spec("mlp:784-128-10", rr::HvpMethod::kReusedGraph, batch), data);
  const int d = fresh->dim();
  rr::KeyedRng rng(1, 2);
  const rr::Vector x0 = fresh->InitialParameters();
  std::vector<rr::Vector> xs, vs;
  for (int i = 0; i < reps; ++i) {
    xs.push_back(x0 + 1e-3 * rng.NormalVector(d));  // a new point per gradient: no cache hits
    vs.push_back(rng.NormalVector(d));
  }
  double f = 0;
  rr::Vector g, hv;
  for (int i = 0; i < 3; ++i) fresh->ValueAndGradient(xs[i], &f, &g);  // warm-up
  // The four operations take turns in every repetition, so a change in the machine's load
  // affects all of them alike; the ratios use the median and the fastest (least disturbed) call.
  std::vector<double> t_grad, t_graph, t_fresh, t_reused;
  const auto time_ms = [](auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int i = 0; i < reps; ++i) {
    t_grad.push_back(time_ms([&] { fresh->ValueAndGradient(xs[i], &f, &g); }));
    t_graph.push_back(time_ms([&] { reused->ValueAndGradient(xs[i], &f, &g); }));
    t_reused.push_back(time_ms([&] { reused->Hvp(xs[i], vs[i], &hv); }));  // the graph just built
    fresh->ValueAndGradient(x0, &f, &g);
    t_fresh.push_back(time_ms([&] { fresh->Hvp(x0, vs[i], &hv); }));
  }
  const double grad_ms = Median(t_grad), grad_graph_ms = Median(t_graph), fresh_ms = Median(t_fresh),
               reused_ms = Median(t_reused);
  const auto min = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  const double grad_min = min(t_grad), graph_min = min(t_graph), fresh_min = min(t_fresh), reused_min = min(t_reused);

  // ---- 2. peak memory, 784-512-512-10 ----
  const long rss_data = StatusBytes("VmRSS");
  json mem = json::object();
  long big_d = 0;
  {  // one method per process: memory freed by an earlier measurement would hide the next one's peak
    const rr::HvpMethod m = memory_method;
    const bool reset = ResetPeak();
    const long before = StatusBytes("VmRSS");
    long peak = 0;
    {
      auto big = rr::MakeModelObjective(Spec("mlp:784-512-512-10", m, batch), data);
      big_d = big->dim();
      const rr::Vector x = big->InitialParameters();
      rr::Vector bg, bh;
      big->ValueAndGradient(x, &f, &bg);
      for (int k = 0; k < 3; ++k) big->Hvp(x, rng.NormalVector(big_d), &bh);
      peak = StatusBytes("VmHWM");
    }
    mem[rr::ToString(m)] = {{"peak_above_start_bytes", reset ? peak - before : -1},
                            {"bound_bytes", 50L * big_d * 8}};
  }

  json out = {{"threads", threads},
              {"reps", reps},
              {"batch", batch},
              {"mlp_784_128_10",
               {{"dim", d},
                {"gradient_ms", grad_ms},
                {"gradient_with_graph_ms", grad_graph_ms},
                {"hvp_fresh_ms", fresh_ms},
                {"hvp_reused_ms", reused_ms},
                {"hvp_fresh_over_gradient", fresh_ms / grad_ms},
                {"hvp_reused_over_gradient", reused_ms / grad_ms},
                {"gradient_with_graph_over_gradient", grad_graph_ms / grad_ms},
                {"fastest_ms", {{"gradient", grad_min}, {"gradient_with_graph", graph_min},
                                {"hvp_fresh", fresh_min}, {"hvp_reused", reused_min}}}}},
              {"mlp_784_512_512_10",
               {{"dim", big_d},
                {"data_bytes", data_bytes},
                {"rss_start_bytes", rss_start},
                {"rss_with_data_bytes", rss_data},
                {"memory", mem}}}};
  std::printf("MLP 784-128-10 (d = %d), Fashion-MNIST batch %ld, float32, %d torch thread(s), median of %d\n", d,
              batch, threads, reps);
  std::printf("                               median            fastest\n");
  std::printf("  gradient                     %7.3f ms  1.00x    %7.3f ms  1.00x\n", grad_ms, grad_min);
  std::printf("  gradient keeping its graph   %7.3f ms  %.2fx    %7.3f ms  %.2fx\n", grad_graph_ms,
              grad_graph_ms / grad_ms, graph_min, graph_min / grad_min);
  std::printf("  HVP, fresh double backward   %7.3f ms  %.2fx    %7.3f ms  %.2fx\n", fresh_ms, fresh_ms / grad_ms,
              fresh_min, fresh_min / grad_min);
  std::printf("  HVP, reused graph            %7.3f ms  %.2fx    %7.3f ms  %.2fx\n", reused_ms,
              reused_ms / grad_ms, reused_min, reused_min / grad_min);
  std::printf("MLP 784-512-512-10 (d = %ld): peak memory of a gradient + 3 HVPs above the process with data\n", big_d);
  for (const auto& [k, v] : mem.items()) {
    const double peak = v["peak_above_start_bytes"].get<double>(), bound = v["bound_bytes"].get<double>();
    std::printf("  %-18s %7.1f MB = %5.1f d doubles (target <= 50: %.1f MB)\n", k.c_str(), peak / 1e6,
                peak / (8.0 * big_d), bound / 1e6);
  }
  std::printf("  data: %.1f MB; process RSS at start %.1f MB, with data %.1f MB\n", data_bytes / 1e6,
              rss_start / 1e6, rss_data / 1e6);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
