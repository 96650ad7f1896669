#include "reproduce_command.hpp"

#include <cstdio>
#include <filesystem>

#include "experiments/experiment.hpp"
#include "io/run_config.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::app {

namespace fs = std::filesystem;
namespace ex = ridgerider::experiments;

std::string ExperimentList() {
  std::string text;
  for (const ex::Experiment& e : ex::Experiments()) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "  %-12s %s\n", e.name.c_str(), e.description.c_str());
    text += buf;
    // The details, indented under the name.
    std::string line;
    for (char ch : e.details + "\n") {
      if (ch != '\n') { line += ch; continue; }
      if (!line.empty()) text += std::string(15, ' ') + line + "\n";
      line.clear();
    }
  }
  return text;
}

int ReproduceCommand(const ReproduceArgs& a) {
  if (a.name == "list") {
    std::printf("%s", ExperimentList().c_str());
    return 0;
  }
  const ex::Experiment* e = ex::FindExperiment(a.name);
  if (!e) {
    std::vector<std::string> names;
    for (const ex::Experiment& x : ex::Experiments()) names.push_back(x.name);
    throw InputError("unknown experiment '" + a.name + "' (did you mean '" + io::NearestName(a.name, names) +
                     "'? `ridgerider reproduce list` shows them all)");
  }
  if (a.out.empty()) throw InputError("reproduce " + a.name + " needs --out DIR");
  if (a.threads < 1) throw InputError("--threads must be >= 1");
  const fs::path out = a.out;
  if (fs::exists(out) && !(fs::is_directory(out) && fs::is_empty(out)))
    throw InputError("--out " + a.out + " already exists and is not empty; results are never written over");
  fs::create_directories(out);
  std::printf("reproduce %s%s: seed %llu, %d thread%s -> %s\n", e->name.c_str(), a.quick ? " --quick" : "",
              static_cast<unsigned long long>(a.seed), a.threads, a.threads == 1 ? "" : "s", out.c_str());
  std::fflush(stdout);
  return e->run(ex::ExperimentArgs{out, a.quick, a.seed, a.threads, a.plot});
}

}  // namespace ridgerider::app
