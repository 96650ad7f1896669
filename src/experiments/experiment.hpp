// The paper's experiments behind `ridgerider reproduce NAME --out DIR`. Each experiment is one
// file (src/experiments/<name>.cpp) exposing an Experiment record, and one line in
// registry.cpp. An experiment writes DIR/results.json (its numbers), DIR/results.md (a markdown
// table with the paper's numbers beside ours) and then its plots; the writing order means a
// failed plot never loses a result.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ridgerider::experiments {

struct ExperimentArgs {
  std::filesystem::path out;  // created by the caller, empty
  bool quick = false;         // the CI preset: minutes on 2 cores, same qualitative result
  std::uint64_t seed = 0;     // every random draw is keyed by this seed
  int threads = 1;            // worker threads for independent trees / runs
  bool plot = true;           // call the Python plotter after the results are written
};

struct Experiment {
  std::string name;         // the NAME of `reproduce NAME`
  std::string description;  // one line for `reproduce list`
  std::string details;      // what full and --quick run, for `reproduce NAME --help`
  // Runs the experiment, writes results.json and results.md into args.out, then plots;
  // returns the process exit status (0 on success).
  std::function<int(const ExperimentArgs&)> run;
};

// Every registered experiment, in registry order.
const std::vector<Experiment>& Experiments();
// The experiment called `name`, or nullptr.
const Experiment* FindExperiment(const std::string& name);

// Shared writers: results.json then results.md (each written atomically), then the plots
// (python -m ridgerider.experiment_plots DIR); a plotting failure is a warning only.
void WriteResults(const std::filesystem::path& out, const nlohmann::json& results, const std::string& markdown);
void PlotResults(const std::filesystem::path& out);

// A fraction as a percentage with one decimal, "81.8%", for the results.md tables.
std::string Percent(double fraction);

// Runs fn(i) for i in [0, n) on `threads` threads; results must be written to slot i only, so
// the outcome does not depend on the thread count. If fn throws, no further index starts and
// the exception (the lowest index's, if several) is rethrown on the calling thread.
void ParallelFor(int n, int threads, const std::function<void(int)>& fn);

}  // namespace ridgerider::experiments
