// `ridgerider reproduce NAME --out DIR [--quick] [--seed S] [--threads N]` and
// `ridgerider reproduce list`: the paper's experiments (src/experiments/).
#pragma once

#include <cstdint>
#include <string>

namespace ridgerider::app {

struct ReproduceArgs {
  std::string name;
  std::string out;
  bool quick = false;
  std::uint64_t seed = 0;
  int threads = 1;
  bool plot = true;
};

// The experiments, one per line, for `reproduce list` and the help text.
std::string ExperimentList();
// Validates the arguments (bad input: InputError, before anything is written) and runs.
int ReproduceCommand(const ReproduceArgs& args);

}  // namespace ridgerider::app
