// The list of experiments `ridgerider reproduce` knows. Adding one: write
// src/experiments/<name>.cpp defining `Experiment Make<Name>Experiment()`, declare it here and
// add one line to the list.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

#include "experiments/experiment.hpp"
#include "io/output.hpp"

namespace ridgerider::experiments {

Experiment MakeTreeMdpExperiment();
Experiment MakeLeverGameExperiment();
Experiment MakeFashionMnistExperiment();
Experiment MakeColoredFashionMnistExperiment();

const std::vector<Experiment>& Experiments() {
  static const std::vector<Experiment> all = {
      MakeTreeMdpExperiment(),
      MakeLeverGameExperiment(),
      MakeFashionMnistExperiment(),
      MakeColoredFashionMnistExperiment(),
  };
  return all;
}

const Experiment* FindExperiment(const std::string& name) {
  for (const Experiment& e : Experiments())
    if (e.name == name) return &e;
  return nullptr;
}

void WriteResults(const std::filesystem::path& out, const nlohmann::json& results, const std::string& markdown) {
  io::WriteFileAtomically(out / "results.json", results.dump(2) + "\n");
  io::WriteFileAtomically(out / "results.md", markdown);
}

void PlotResults(const std::filesystem::path& out) {
  const std::string cmd = std::string("PYTHONPATH='") + RIDGERIDER_PYTHON_DIR + "' '" + RIDGERIDER_PYTHON +
                          "' -m ridgerider.experiment_plots '" + out.string() + "'";
  if (std::system(cmd.c_str()) != 0)
    std::fprintf(stderr, "ridgerider: warning: plotting failed (%s); results.json and results.md are complete\n",
                 cmd.c_str());
}

std::string Percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

void ParallelFor(int n, int threads, const std::function<void(int)>& fn) {
  // An exception must not leave a worker thread (std::terminate): each index keeps its own, no
  // new index starts after one, and the lowest index's is rethrown here once all have stopped.
  std::vector<std::exception_ptr> failed(static_cast<size_t>(std::max(n, 0)));
  std::atomic<bool> stop{false};
  std::atomic<int> next{0};
  const auto worker = [&] {
    for (int i = next++; i < n && !stop; i = next++) {
      try {
        fn(i);
      } catch (...) {
        failed[static_cast<size_t>(i)] = std::current_exception();
        stop = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min(threads, n); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (const std::exception_ptr& e : failed)
    if (e) std::rethrow_exception(e);
}

}  // namespace ridgerider::experiments
